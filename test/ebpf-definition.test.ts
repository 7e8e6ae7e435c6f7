import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendDefinition, createBackend } from '../src/backends/registry.js';
import { ebpfDefinition } from '../src/backends/ebpf/definition.js';
import type { ProxyNodeConfig } from '../src/types.js';
import { endpoint, servicePort } from './fixtures/proxy.js';
import { snapshot } from './fixtures/iptables.js';

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

test('options: Cilium defaults; the table size must be a prime and the seed base64 of 12 bytes', () => {
  assert.deepEqual(ebpfDefinition.optionsSchema.parse({}), {
    algorithm: 'random',
    maglevTableSize: 16381,
    maglevSeed: 'JLfvgnHc2kaSUFaI',
    socketLB: true,
    mode: 'tc',
    externalClusterIP: false,
  });
  assert.equal(ebpfDefinition.optionsSchema.safeParse({ maglevTableSize: 16384 }).success, false);
  assert.equal(ebpfDefinition.optionsSchema.safeParse({ maglevSeed: 'AAAA' }).success, false);
  assert.equal(ebpfDefinition.optionsSchema.safeParse({ algorithm: 'roundrobin' }).success, false);
  assert.equal(ebpfDefinition.optionsSchema.safeParse({ maglevTableSize: 251, algorithm: 'maglev', mode: 'xdp' }).success, true);
});

test('the registry builds it; sync, first-packet and size counts are all catalogued; render outputs print', () => {
  assert.equal(backendDefinition('ebpf'), ebpfDefinition);
  const b = createBackend('ebpf', NODE, { algorithm: 'maglev', maglevTableSize: 251 });
  const s = servicePort({
    namespace: 'ns',
    name: 'web',
    clusterIP: '10.96.0.20',
    port: 80,
    type: 'LoadBalancer',
    nodePort: 30080,
    loadBalancerIPs: ['203.0.113.1'],
  });
  const first = b.sync({ snapshot: snapshot([[s, [endpoint('10.244.2.1', 8080)]]]), changed: new Set([s.key]), now: 0 });
  assert.equal(first.mode, 'full');
  const again = b.sync({
    snapshot: snapshot([[s, [endpoint('10.244.2.1', 8080), endpoint('10.244.2.2', 8080)]]]),
    changed: new Set([s.key]),
    now: 1,
  });
  assert.equal(again.mode, 'partial');
  for (const k of Object.keys(again.counts)) assert.ok(k in ebpfDefinition.metrics.sync, k);
  for (const k of Object.keys(b.size())) assert.ok(k in ebpfDefinition.metrics.size, k);
  // 4 frontends x (2 slots + master + rev-NAT) + 1 backend + 2 Maglev outer entries; 2 x 251 Maglev entries
  assert.equal(again.counts['elements_written'], 4 * 4 + 1 + 2);
  assert.equal(again.counts['maglev_entries_written'], 2 * 251);
  assert.equal(again.counts['elements_per_endpoint_change'], 19);
  const l = b.lookup(
    { srcIP: '198.51.100.1', srcPort: 40000, dstIP: '203.0.113.1', dstPort: 80, protocol: 'TCP', local: false },
    { next: () => 0.5 },
    2,
  );
  for (const k of Object.keys(l.counts)) assert.ok(k in ebpfDefinition.metrics.lookup, k);
  assert.equal(l.counts['map_lookups'], 5);
  assert.equal(l.counts['tc_path'], 1);
  const list = ebpfDefinition.renderOutputs['cilium-lb-list']!.render(b);
  assert.match(list, /^# cilium-dbg bpf lb list\nSERVICE ADDRESS +BACKEND ADDRESS \(REVNAT_ID\) \(SLOT\)/);
  assert.match(list, /203\.0\.113\.1:80\/TCP \(0\) +0\.0\.0\.0:0 \(\d+\) \(0\) \[LoadBalancer\]/);
  assert.match(
    ebpfDefinition.renderOutputs['raw']!.render(b),
    /# bpftool map dump pinned \/sys\/fs\/bpf\/tc\/globals\/cilium_lb4_maglev\nkey: 00 \d\d {2}inner_map_id: 1000\n/,
  );
});

test('cost model: element writes and Maglev entries by their coefficients; first packets by lookups and hook', () => {
  const cost = ebpfDefinition.cost(ebpfDefinition.optionsSchema.parse({}));
  const c = cost.coefficients;
  const sync = cost.syncSeconds({
    mode: 'partial',
    counts: { element_updates: 10, element_deletes: 2, maglev_tables_written: 1, maglev_entries_written: 16381 },
  });
  assert.equal(sync, 10 * c['perElementUpdate']! + 2 * c['perElementDelete']! + c['maglevTableFixed']! + 16381 * c['perMaglevEntry']!);
  const pkt = cost.lookupSeconds({
    verdict: 'DNAT',
    endpoint: null,
    serviceKey: '',
    masquerade: false,
    counts: { map_lookups: 4, map_updates: 1, tc_path: 1 },
  });
  assert.equal(pkt, c['hookTc']! + 4 * c['perMapLookup']! + c['perDatapathUpdate']!);
  const calibrated = ebpfDefinition.cost(ebpfDefinition.optionsSchema.parse({}), { perMapLookup: 1e-6 });
  assert.equal(calibrated.coefficients['perMapLookup'], 1e-6);
  for (const [name, k] of Object.entries(ebpfDefinition.coefficients(ebpfDefinition.optionsSchema.parse({})))) {
    assert.match(k.source, /^(measured|assumed)/, name);
  }
});
