import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CiliumLb, type AgentOptions } from '../src/backends/ebpf/reconciler.js';
import { lookupPacket, maglevTupleHash, type AffinityTable, type DatapathOptions } from '../src/backends/ebpf/datapath.js';
import { DEFAULT_MAGLEV_SEED, parseMaglevSeed } from '../src/backends/ebpf/maglev.js';
import type { Packet, ProxyNodeConfig, ServicePortInfo, EndpointInfo } from '../src/types.js';
import { endpoint, servicePort } from './fixtures/proxy.js';
import { scripted, snapshot } from './fixtures/iptables.js';
import { parseIPv4 } from '../src/net/ipv4.js';

const NODE: ProxyNodeConfig = {
  nodeName: 'node-1',
  nodeIPs: ['192.168.0.2'],
  clusterCIDR: '10.244.0.0/16',
  podCIDR: '10.244.1.0/24',
  localDetector: 'ClusterCIDR',
  masqueradeAll: false,
  masqueradeBit: 14,
  nodePortAddresses: [],
};
const AGENT: AgentOptions = { algorithm: 'random', maglevTableSize: 16381, maglevSeed: DEFAULT_MAGLEV_SEED, externalClusterIP: false };
const DP: DatapathOptions = { socketLB: true, mode: 'tc', jhashSeed: parseMaglevSeed(DEFAULT_MAGLEV_SEED).jhash0 };

function build(n: number, eps: number, agent: AgentOptions = AGENT, o: Partial<ServicePortInfo> = {}): CiliumLb {
  const lb = new CiliumLb(NODE, agent);
  const entries: [ServicePortInfo, EndpointInfo[]][] = Array.from({ length: n }, (_, i) => [
    servicePort({
      namespace: 'ns',
      name: `s${i}`,
      clusterIP: `10.96.${i >> 8}.${i & 255}`,
      port: 80,
      type: 'NodePort',
      nodePort: 30000 + i,
      ...o,
    }),
    Array.from({ length: eps }, (_, j) => endpoint(`10.245.${i & 255}.${j + 1}`, 8080)),
  ]);
  lb.sync(snapshot(entries), null);
  return lb;
}

const pod: Packet = { srcIP: '10.244.1.7', srcPort: 40000, dstIP: '10.96.0.0', dstPort: 80, protocol: 'TCP', local: false };
const outside: Packet = { srcIP: '198.51.100.9', srcPort: 50000, dstIP: '192.168.0.2', dstPort: 30000, protocol: 'TCP', local: false };

test('socket LB: an in-node client is translated at connect() with 3 map lookups (service, slot, backend), no conntrack', () => {
  const lb = build(3, 3);
  const r = lookupPacket(lb, NODE, DP, new Map(), pod, scripted([0.5]), 0);
  assert.equal(r.path, 'socket');
  assert.equal(r.verdict, 'DNAT');
  // slot = floor(0.5 * 2^32) % 3 + 1 = 2147483648 % 3 + 1 = 3: the third backend in address order
  assert.deepEqual(r.endpoint, { ip: '10.245.0.3', port: 8080 });
  assert.deepEqual(r.counts, {
    map_lookups: 3,
    svc_lookups: 1,
    ct_lookups: 0,
    slot_lookups: 1,
    maglev_lookups: 0,
    backend_lookups: 1,
    affinity_lookups: 0,
    map_updates: 0,
    socket_translations: 1,
  });
  assert.equal(r.masquerade, false);
  assert.equal(r.serviceKey, 'ns/s0');
});

test('tc path from outside: service, conntrack, slot and backend lookups (4); Maglev: outer + inner instead of the slot (5)', () => {
  const r = lookupPacket(build(3, 3), NODE, DP, new Map(), outside, scripted([0.1]), 0);
  assert.equal(r.path, 'tc');
  assert.equal(r.verdict, 'DNAT');
  assert.equal(r.counts.map_lookups, 4);
  assert.equal(r.counts.ct_lookups, 1);
  assert.equal(r.counts.map_updates, 1); // the conntrack entry
  assert.equal(r.masquerade, true); // externalTrafficPolicy Cluster, remote backend: SNAT
  const m = lookupPacket(build(3, 3, { ...AGENT, algorithm: 'maglev' }), NODE, { ...DP, mode: 'xdp' }, new Map(), outside, scripted([]), 0);
  assert.equal(m.path, 'xdp');
  assert.equal(m.counts.map_lookups, 5);
  assert.equal(m.counts.maglev_lookups, 2);
  assert.equal(m.counts.slot_lookups, 0);
});

test('first-packet map lookups are flat in the number of services and endpoints', () => {
  for (const algorithm of ['random', 'maglev'] as const) {
    const seen = new Set<string>();
    for (const [n, e] of [
      [2, 2],
      [50, 2],
      [200, 30],
    ] as const) {
      const lb = build(n, e, { ...AGENT, algorithm, maglevTableSize: 1021 });
      const a = lookupPacket(lb, NODE, DP, new Map(), pod, scripted([0.3]), 0).counts.map_lookups;
      const b = lookupPacket(lb, NODE, DP, new Map(), outside, scripted([0.3]), 0).counts.map_lookups;
      seen.add(`${a}/${b}`);
    }
    assert.equal(seen.size, 1, `${algorithm}: ${[...seen]}`);
  }
});

test('Maglev picks table[jhash(tuple) % M]: the same client tuple always reaches the same backend', () => {
  const lb = build(1, 5, { ...AGENT, algorithm: 'maglev', maglevTableSize: 1021 });
  const revNat = [...lb.maglev.keys()][0]!;
  const table = lb.maglevTableOf(revNat)!;
  const h = maglevTupleHash(parseIPv4(outside.srcIP)! >>> 0, outside.srcPort, outside.dstPort, 6, DP.jhashSeed);
  const want = lb.backends.get(table[h % 1021]!)!;
  for (let i = 0; i < 3; i++) {
    const r = lookupPacket(lb, NODE, DP, new Map(), outside, scripted([Math.random()]), 0);
    assert.equal(r.endpoint!.port, want.port);
    assert.equal(parseIPv4(r.endpoint!.ip)! >>> 0, want.address);
  }
});

test('two-scopes services switch in-cluster clients to the internal-scope entry (one more service lookup)', () => {
  const lb = new CiliumLb(NODE, AGENT);
  const s = servicePort({
    namespace: 'ns',
    name: 'web',
    clusterIP: '10.96.9.9',
    port: 80,
    type: 'LoadBalancer',
    nodePort: 31111,
    loadBalancerIPs: ['203.0.113.5'],
    externalPolicyLocal: true,
  });
  lb.sync(snapshot([[s, [endpoint('10.244.1.20', 8080, { isLocal: true }), endpoint('10.244.2.20', 8080)]]]), null);
  const inside = lookupPacket(lb, NODE, DP, new Map(), { ...pod, dstIP: '203.0.113.5' }, scripted([0.99]), 0);
  assert.equal(inside.counts.svc_lookups, 2);
  assert.equal(inside.endpoint!.ip, '10.244.2.20'); // the internal scope has both backends
  const fromOutside = lookupPacket(lb, NODE, DP, new Map(), { ...outside, dstIP: '203.0.113.5', dstPort: 80 }, scripted([0.99]), 0);
  assert.equal(fromOutside.counts.svc_lookups, 1);
  assert.equal(fromOutside.endpoint!.ip, '10.244.1.20'); // externalTrafficPolicy Local: only this node's backend
  assert.equal(fromOutside.masquerade, false);
});

test('no backends: REJECT; a ClusterIP from outside the cluster: not a service (PASS); socket LB off: the tc path', () => {
  const lb = new CiliumLb(NODE, AGENT);
  const s = servicePort({ namespace: 'ns', name: 'empty', clusterIP: '10.96.0.1', port: 80 });
  const t = servicePort({ namespace: 'ns', name: 'full', clusterIP: '10.96.0.2', port: 80 });
  lb.sync(
    snapshot([
      [s, []],
      [t, [endpoint('10.244.2.2', 80)]],
    ]),
    null,
  );
  assert.equal(lookupPacket(lb, NODE, DP, new Map(), { ...pod, dstIP: '10.96.0.1' }, scripted([0]), 0).verdict, 'REJECT');
  assert.equal(lookupPacket(lb, NODE, DP, new Map(), { ...outside, dstIP: '10.96.0.2', dstPort: 80 }, scripted([0]), 0).verdict, 'PASS');
  assert.equal(lookupPacket(lb, NODE, DP, new Map(), { ...pod, dstIP: '10.99.0.1' }, scripted([0]), 0).verdict, 'PASS');
  const off = lookupPacket(lb, NODE, { ...DP, socketLB: false }, new Map(), { ...pod, dstIP: '10.96.0.2' }, scripted([0]), 0);
  assert.equal(off.path, 'tc');
  assert.equal(off.counts.ct_lookups, 1);
  assert.equal(off.verdict, 'DNAT');
});

test('terminating backends keep their slot but are never picked for new connections while an active one exists', () => {
  const lb = new CiliumLb(NODE, AGENT);
  const s = servicePort({ namespace: 'ns', name: 'g', clusterIP: '10.96.0.3', port: 80 });
  lb.sync(
    snapshot([[s, [endpoint('10.244.2.1', 80, { ready: false, serving: true, terminating: true }), endpoint('10.244.2.2', 80)]]]),
    null,
  );
  for (const u of [0, 0.25, 0.5, 0.75, 0.9999]) {
    assert.equal(lookupPacket(lb, NODE, DP, new Map(), { ...pod, dstIP: '10.96.0.3' }, scripted([u]), 0).endpoint!.ip, '10.244.2.2');
  }
});

test('session affinity: the second connection of a client reuses the backend, until the timeout', () => {
  const lb = new CiliumLb(NODE, AGENT);
  const s = servicePort({ namespace: 'ns', name: 'a', clusterIP: '10.96.0.4', port: 80, stickyMaxAgeSeconds: 100 });
  lb.sync(snapshot([[s, [endpoint('10.244.2.1', 80), endpoint('10.244.2.2', 80)]]]), null);
  const aff: AffinityTable = new Map();
  const p = { ...pod, dstIP: '10.96.0.4' };
  const first = lookupPacket(lb, NODE, DP, aff, p, scripted([0]), 0);
  const again = lookupPacket(lb, NODE, DP, aff, p, scripted([0.99]), 50);
  assert.equal(again.endpoint!.ip, first.endpoint!.ip);
  assert.equal(again.counts.slot_lookups, 0);
  const later = lookupPacket(lb, NODE, DP, aff, p, scripted([0.99]), 200);
  assert.equal(later.counts.slot_lookups, 1);
});

test("jhash_3words equals the kernel's jhash2 over the same three words (the IPVS backend's tested jhash2)", async () => {
  const { jhash3words } = await import('../src/backends/ebpf/datapath.js');
  const { jhash2 } = await import('../src/backends/ipvs/index.js');
  for (const [a, b, c, iv] of [
    [0, 0, 0, 0],
    [1, 2, 3, 4],
    [0xc0a80002, 0x1f9c0050, 6, 0x9c8e0f0a],
    [0xffffffff, 0x80000000, 17, 0xdeadbeef],
  ]) {
    assert.equal(jhash3words(a!, b!, c!, iv!), jhash2([a!, b!, c!], iv!) >>> 0);
  }
});
