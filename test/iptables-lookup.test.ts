import { test } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import type { EndpointInfo, LookupResult, Packet, Protocol, ProxySnapshot, Rng, ServicePortInfo } from '../src/types.js';
import { createIptablesBackend, RECENT_LIST_MAX, type IptablesBackend } from '../src/backends/iptables/index.js';
import { ep, overallServices, REAL_NODE, scripted, snapshot, svc, upstreamBackend } from './fixtures/iptables.js';

const NEVER: Rng = { next: () => 0.9999999 };

function pkt(srcIP: string, dstIP: string, dstPort: number, o: { protocol?: Protocol; local?: boolean } = {}): Packet {
  return { srcIP, srcPort: 40000, dstIP, dstPort, protocol: o.protocol ?? 'TCP', local: o.local ?? false };
}

function synced(node: typeof REAL_NODE, s: ProxySnapshot): IptablesBackend {
  const b = createIptablesBackend({ node });
  b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
  return b;
}

const pad = (i: number): string => String(i).padStart(4, '0');

/** N ClusterIP services, svc-0000 ... (KUBE-SERVICES order: sorted by key), each with `e` endpoints. */
function clusterIPs(n: number, e: number): { snap: ProxySnapshot; infos: ServicePortInfo[] } {
  const entries: Array<[ServicePortInfo, EndpointInfo[]]> = [];
  for (let i = 0; i < n; i++) {
    const s = svc({ namespace: 'bench', name: `svc-${pad(i)}`, portName: 'http', clusterIP: `10.96.${i >> 8}.${i & 255}`, port: 80 });
    entries.push([s, Array.from({ length: e }, (_, j) => ep(`10.${244 + (i >> 8)}.${i & 255}.${j + 1}`, 8080))]);
  }
  return { snap: snapshot(entries), infos: entries.map(([s]) => s) };
}

test('the walk reaches the endpoint and counts every rule on the way: first and last of 50 services', () => {
  const { snap, infos } = clusterIPs(50, 1);
  const b = synced(REAL_NODE, snap);
  assert.equal(b.serviceOrder()[0], infos[0]!.key);
  assert.equal(b.serviceOrder()[49], infos[49]!.key);
  // k-th KUBE-SERVICES rule (1-based) from a pod: nat PREROUTING 1 + KUBE-SERVICES k + KUBE-SVC 2 (masquerade
  // check, endpoint) + KUBE-SEP 2 (hairpin check, DNAT); filter FORWARD 4 jumps + KUBE-FORWARD 3; nat POSTROUTING
  // 1 + KUBE-POSTROUTING 1 (RETURN, not marked) = k + 14
  for (const [k, info] of [
    [1, infos[0]!],
    [50, infos[49]!],
  ] as const) {
    const r = b.lookup(pkt('10.244.200.9', info.clusterIP, 80), NEVER, 1);
    assert.deepEqual(r, {
      verdict: 'DNAT',
      endpoint: { ip: `10.244.${k - 1}.1`, port: 8080 },
      serviceKey: info.key,
      masquerade: false,
      counts: { rules_evaluated: k + 14 },
    } satisfies LookupResult);
  }
  // not a service address: PREROUTING 1 + all 51 KUBE-SERVICES rules, filter 7, POSTROUTING 2
  const miss = b.lookup(pkt('10.244.200.9', '10.97.0.1', 80), NEVER, 1);
  assert.deepEqual([miss.verdict, miss.endpoint, miss.serviceKey, miss.counts.rules_evaluated], ['PASS', null, '', 1 + 51 + 7 + 2]);
  // same address and port, other protocol: no match either
  assert.equal(b.lookup(pkt('10.244.200.9', infos[0]!.clusterIP, 80, { protocol: 'UDP' }), NEVER, 1).verdict, 'PASS');
});

test('statistic rules: endpoint i of n is taken with 1/(n-i), one draw per rule evaluated', () => {
  const { snap, infos } = clusterIPs(1, 4);
  const b = synced(REAL_NODE, snap);
  const ip = infos[0]!.clusterIP;
  // draws are compared with 0.25, 0.3333333333, 0.5 (as u32/2^31, like xt_statistic)
  const pick = (draws: number[]): LookupResult => b.lookup(pkt('10.244.200.9', ip, 80), scripted(draws), 1);
  assert.deepEqual([pick([0.2]).endpoint, pick([0.2]).counts.rules_evaluated], [{ ip: '10.244.0.1', port: 8080 }, 1 + 1 + 1 + 1 + 2 + 9]);
  assert.deepEqual(
    [pick([0.3, 0.3]).endpoint, pick([0.3, 0.3]).counts.rules_evaluated],
    [{ ip: '10.244.0.2', port: 8080 }, 1 + 1 + 1 + 2 + 2 + 9],
  );
  assert.deepEqual(
    [pick([0.3, 0.4, 0.49]).endpoint, pick([0.3, 0.4, 0.49]).counts.rules_evaluated],
    [{ ip: '10.244.0.3', port: 8080 }, 1 + 1 + 1 + 3 + 2 + 9],
  );
  // the last endpoint's rule has no statistic match and takes what is left
  assert.deepEqual(
    [pick([0.3, 0.4, 0.5]).endpoint, pick([0.3, 0.4, 0.5]).counts.rules_evaluated],
    [{ ip: '10.244.0.4', port: 8080 }, 1 + 1 + 1 + 4 + 2 + 9],
  );
});

test('endpoint selection over many draws is uniform (seeded)', () => {
  const { snap, infos } = clusterIPs(1, 5);
  const b = synced(REAL_NODE, snap);
  const rng = seedrandom('iptables-uniformity');
  const n = 50000;
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = b.lookup(pkt('10.244.200.9', infos[0]!.clusterIP, 80), { next: () => rng() }, 1);
    counts.set(r.endpoint!.ip, (counts.get(r.endpoint!.ip) ?? 0) + 1);
  }
  assert.equal(counts.size, 5);
  for (const [ip, c] of counts) assert.ok(Math.abs(c / n - 0.2) < 0.01, `${ip}: ${c / n}`);
});

test('ClientIP affinity: the recent match sticks a client to its endpoint until the timeout', () => {
  const s = svc({ namespace: 'shop', name: 'cart', portName: 'http', clusterIP: '10.96.10.1', port: 80, stickyMaxAgeSeconds: 10800 });
  const b = synced(REAL_NODE, snapshot([[s, [ep('10.244.1.40', 8080), ep('10.244.2.40', 8080), ep('10.244.3.40', 8080)]]]));
  const from = (client: string, draws: number[], now: number): LookupResult =>
    b.lookup(pkt(client, '10.96.10.1', 80), scripted(draws), now);
  // first connection: no recent entry, 3 rcheck rules fail, then the statistic rules pick the second endpoint
  const first = from('10.244.7.7', [0.9, 0.1], 0);
  assert.deepEqual(first.endpoint, { ip: '10.244.2.40', port: 8080 });
  // nat: PREROUTING 1 + KUBE-SERVICES 1 + KUBE-SVC (masq 1 + rcheck 3 + statistic 2) + KUBE-SEP 2; filter 7; POSTROUTING 2
  assert.equal(first.counts.rules_evaluated, 1 + 1 + 1 + 3 + 2 + 2 + 7 + 2);
  // later connections go to the same endpoint whatever the draws: the second rcheck rule matches
  for (let t = 1; t <= 20; t++) {
    const r = from('10.244.7.7', [0.0, 0.0], t * 100);
    assert.deepEqual(r.endpoint, { ip: '10.244.2.40', port: 8080 });
    assert.equal(r.counts.rules_evaluated, 1 + 1 + 1 + 2 + 2 + 7 + 2);
  }
  // another client is balanced independently
  assert.deepEqual(from('10.244.8.8', [0.0], 2000).endpoint, { ip: '10.244.1.40', port: 8080 });
  // every DNAT through the SEP chain refreshed the entry (--set); 10800 s after the last one it has expired
  assert.deepEqual(from('10.244.7.7', [0.0], 2000 + 10800).endpoint, { ip: '10.244.2.40', port: 8080 });
  assert.deepEqual(from('10.244.7.7', [0.0], 2000 + 10800 + 10801).endpoint, { ip: '10.244.1.40', port: 8080 });
});

test(`xt_recent remembers at most ${RECENT_LIST_MAX} sources per list (least recently seen goes first)`, () => {
  const s = svc({ namespace: 'shop', name: 'one', clusterIP: '10.96.10.2', port: 80, stickyMaxAgeSeconds: 10800 });
  const b = synced(REAL_NODE, snapshot([[s, [ep('10.244.1.41', 8080)]]]));
  const cost = (client: string, now: number): number => b.lookup(pkt(client, '10.96.10.2', 80), NEVER, now).counts.rules_evaluated;
  const fresh = cost('10.244.9.0', 0); // rcheck fails, then the endpoint rule
  assert.equal(cost('10.244.9.0', 1), fresh - 1, 'remembered: the rcheck rule jumps straight to the endpoint');
  for (let i = 1; i <= RECENT_LIST_MAX; i++) cost(`10.244.10.${i}`, 2);
  assert.equal(cost('10.244.9.0', 3), fresh, 'pushed out by 200 newer sources');
});

test('masquerade: off-cluster sources, node-originated traffic and hairpin connections are SNATed', () => {
  const { snap, infos } = clusterIPs(3, 1);
  const b = synced(REAL_NODE, snap);
  const ip = infos[1]!.clusterIP;
  const viaPod = b.lookup(pkt('10.244.200.9', ip, 80), NEVER, 1);
  const offCluster = b.lookup(pkt('203.0.113.2', ip, 80), NEVER, 1);
  const fromNode = b.lookup(pkt('192.168.0.2', ip, 80, { local: true }), NEVER, 1);
  const hairpin = b.lookup(pkt('10.244.1.1', ip, 80), NEVER, 1);
  assert.deepEqual([viaPod.masquerade, offCluster.masquerade, fromNode.masquerade, hairpin.masquerade], [false, true, true, true]);
  assert.ok([viaPod, offCluster, fromNode, hairpin].every((r) => r.verdict === 'DNAT' && r.endpoint?.ip === '10.244.1.1'));
  // marked traffic: KUBE-MARK-MASQ 1 more in nat; KUBE-FORWARD accepts the marked packet at its second rule (filter 4);
  // KUBE-POSTROUTING walks to MASQUERADE (1 + 3)
  assert.equal(offCluster.counts.rules_evaluated, 1 + 2 + 1 + 1 + 1 + 2 + 4 + 4);
  assert.equal(viaPod.counts.rules_evaluated, 1 + 2 + 2 + 2 + 7 + 2);
});

test('upstream TestTracePacket flows on the TestOverallIPTablesRules services', () => {
  const b = upstreamBackend();
  // TestTracePacket's services: TestOverallIPTablesRules' svc1, svc2, svc4 and svc6
  const s = snapshot(overallServices().filter(([p]) => ['ns1', 'ns2', 'ns4', 'ns6'].includes(p.namespace)));
  b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
  const rng = seedrandom('trace');
  const flow = (src: string, dst: string, port: number): LookupResult => b.lookup(pkt(src, dst, port), { next: () => rng() }, 1);
  assert.deepEqual(flow('10.0.0.2', '10.0.0.3', 80).verdict, 'PASS'); // "no match"
  assert.deepEqual(flow('10.0.0.2', '172.30.0.41', 80).endpoint, { ip: '10.180.0.1', port: 80 }); // "single endpoint"
  const multiple = new Set<string>();
  for (let i = 0; i < 50; i++) multiple.add(flow('10.0.0.2', '172.30.0.44', 80).endpoint!.ip); // "multiple endpoints"
  assert.deepEqual([...multiple].sort(), ['10.180.0.4', '10.180.0.5']);
  const local = flow('192.168.0.2', '192.168.99.22', 80); // "LOCAL, KUBE-MARK-MASQ"
  assert.deepEqual([local.endpoint, local.masquerade], [{ ip: '10.180.0.2', port: 80 }, true]);
  const dropped = flow('203.0.113.2', '192.168.99.22', 80); // "DROP": eTP:Local without a local endpoint
  assert.deepEqual([dropped.verdict, dropped.serviceKey], ['DROP', 'ns2/svc2:p80']);
  const hc = flow('192.168.0.2', '192.168.0.2', 30000); // "ACCEPT (NodePortHealthCheck)": accepted, not NATed
  assert.deepEqual([hc.verdict, hc.serviceKey], ['PASS', 'ns2/svc2:p80']);
  const rejected = flow('10.0.0.2', '172.30.0.46', 80); // "REJECT"
  assert.deepEqual([rejected.verdict, rejected.endpoint, rejected.serviceKey], ['REJECT', null, 'ns6/svc6:p80']);
  // pod to the NodePort of eTP:Local svc2 is short-circuited to all endpoints, unmasqueraded
  const podNodePort = flow('10.0.0.2', '192.168.0.2', 3001);
  assert.deepEqual([podNodePort.endpoint, podNodePort.masquerade], [{ ip: '10.180.0.2', port: 80 }, false]);
});

test('upstream TestLoadBalancer flows: loadBalancerSourceRanges in KUBE-FW and KUBE-PROXY-FIREWALL', () => {
  const b = upstreamBackend();
  const s = snapshot([
    [
      svc({
        namespace: 'ns1',
        name: 'svc1',
        portName: 'p80',
        clusterIP: '172.30.0.41',
        port: 80,
        type: 'LoadBalancer',
        nodePort: 3001,
        loadBalancerIPs: ['1.2.3.4', '5.6.7.8'],
        loadBalancerSourceRanges: ['192.168.0.0/24', ' 203.0.113.0/25'],
      }),
      [ep('10.180.0.1', 80)],
    ],
  ]);
  b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
  const flow = (src: string, dst: string, port: number): [string, string | null, boolean] => {
    const r = b.lookup(pkt(src, dst, port), NEVER, 1);
    return [r.verdict, r.endpoint === null ? null : `${r.endpoint.ip}:${r.endpoint.port}`, r.masquerade];
  };
  const ok: [string, string, boolean] = ['DNAT', '10.180.0.1:80', true];
  assert.deepEqual(flow('10.0.0.2', '172.30.0.41', 80), ['DNAT', '10.180.0.1:80', false]); // pod to cluster IP
  assert.deepEqual(flow('203.0.113.2', '192.168.0.2', 3001), ok); // external to nodePort
  assert.deepEqual(flow('203.0.113.130', '192.168.0.2', 3001), ok); // nodePort bypasses the source ranges
  assert.deepEqual(flow('203.0.113.2', '1.2.3.4', 80), ok); // accepted external to LB1
  assert.deepEqual(flow('203.0.113.2', '5.6.7.8', 80), ok); // accepted external to LB2
  assert.deepEqual(flow('203.0.113.130', '1.2.3.4', 80), ['DROP', null, false]); // blocked external to LB1
  assert.deepEqual(flow('10.0.0.2', '5.6.7.8', 80), ['DROP', null, false]); // pod to LB2, blocked by the ranges
  assert.deepEqual(flow('192.168.0.2', '1.2.3.4', 80), ok); // node to LB1, allowed by the ranges
  assert.deepEqual(flow('1.2.3.4', '1.2.3.4', 80), ok); // same node to LB1, SNATed to LB1 (implicitly allowed)
});

test('no endpoints REJECT, iTP:Local without local endpoints DROP, eTP:Local keeps the source for outside clients', () => {
  const node = { ...REAL_NODE };
  const lb = svc({
    namespace: 'ns1',
    name: 'lb',
    clusterIP: '10.96.20.1',
    port: 80,
    type: 'LoadBalancer',
    nodePort: 30020,
    loadBalancerIPs: ['203.0.113.20'],
    externalIPs: ['192.168.100.5'],
  });
  const itp = svc({ namespace: 'ns1', name: 'itp', clusterIP: '10.96.20.2', port: 80, internalPolicyLocal: true });
  const etp = svc({
    namespace: 'ns1',
    name: 'etp',
    clusterIP: '10.96.20.3',
    port: 80,
    type: 'NodePort',
    nodePort: 30021,
    externalPolicyLocal: true,
  });
  const b = synced(
    node,
    snapshot([
      [lb, []],
      [itp, [ep('10.244.2.1', 8080)]],
      [etp, [ep('10.244.1.3', 8080, { nodeName: 'node-1', isLocal: true }), ep('10.244.2.3', 8080)]],
    ]),
  );
  const v = (src: string, dst: string, port: number, local = false): LookupResult => b.lookup(pkt(src, dst, port, { local }), NEVER, 1);
  for (const [src, dst, port] of [
    ['10.244.7.7', '10.96.20.1', 80],
    ['203.0.113.2', '192.168.100.5', 80],
    ['203.0.113.2', '192.168.0.2', 30020],
    ['10.244.7.7', '203.0.113.20', 80],
  ] as const) {
    const r = v(src, dst, port);
    assert.deepEqual([r.verdict, r.serviceKey], ['REJECT', 'ns1/lb'], `${src} -> ${dst}:${port}`);
  }
  assert.equal(v('192.168.0.2', '10.96.20.1', 80, true).verdict, 'REJECT', 'from the node itself (filter OUTPUT)');
  assert.deepEqual([v('10.244.7.7', '10.96.20.2', 80).verdict, v('10.244.7.7', '10.96.20.2', 80).serviceKey], ['DROP', 'ns1/itp']);
  // eTP:Local: an outside client reaches only the local endpoint, unmasqueraded
  const outside = v('203.0.113.2', '192.168.0.2', 30021);
  assert.deepEqual([outside.endpoint, outside.masquerade], [{ ip: '10.244.1.3', port: 8080 }, false]);
  // localhost NodePort from the node: masqueraded, to any endpoint
  const loop = v('127.0.0.1', '127.0.0.1', 30021, true);
  assert.deepEqual([loop.verdict, loop.masquerade], ['DNAT', true]);
});

test('a last-service lookup on 2,000 services walks every KUBE-SERVICES rule (counted work only)', () => {
  const { snap, infos } = clusterIPs(2000, 2);
  const b = synced(REAL_NODE, snap);
  const last = infos[1999]!;
  const r = b.lookup(pkt('10.244.250.1', last.clusterIP, 80), NEVER, 1);
  // draws of 0.9999999 skip the first endpoint: KUBE-SVC masq + 2 endpoint rules
  assert.deepEqual([r.verdict, r.serviceKey, r.counts.rules_evaluated], ['DNAT', last.key, 1 + 2000 + 3 + 2 + 7 + 2]);
});
