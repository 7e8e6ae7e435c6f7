/**
 * First packets through the modelled nftables table, checked against kube-proxy's own packet-flow expectations
 * (pkg/proxy/nftables/proxier_test.go: TestNoEndpointsReject, TestClusterIPGeneral and the traffic-policy /
 * masquerading matrix, where "output" lists every endpoint a connection may reach and "masq" whether it is SNATed),
 * and the counts: rules evaluated, lookups and chains entered do not grow with the number of services.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet, Protocol, ProxySnapshot } from '../src/types.js';
import { ep, scripted, snapshot, svc } from './fixtures/iptables.js';
import { upstreamNft, UPSTREAM_NODE } from './fixtures/nftables/support.js';
import type { NftablesBackend } from '../src/backends/nftables/backend.js';
import { createNftablesBackend } from '../src/backends/nftables/backend.js';
import { SYNTHETIC_NODE, syntheticSnapshot } from '../src/backends/nftables/synthetic.js';

interface Flow {
  name: string;
  src: string;
  dst: string;
  port: number;
  proto?: Protocol;
  /** "REJECT", "DROP", or the endpoints "ip:port, ip:port" a connection may reach. */
  output: string;
  masq?: boolean;
}

/** The test's node IPs: a packet from one of them is sent by the node (OUTPUT hook). */
const NODE_IPS = new Set(UPSTREAM_NODE.nodeIPs);

function runFlows(b: NftablesBackend, flows: Flow[]): void {
  for (const f of flows) {
    const seen = new Set<string>();
    let masq: boolean | null = null;
    let verdict = '';
    // every endpoint the numgen map can pick: draw from each slot
    for (const draw of [0, 0.26, 0.51, 0.76, 0.99]) {
      const pkt: Packet = {
        srcIP: f.src,
        srcPort: 40000,
        dstIP: f.dst,
        dstPort: f.port,
        protocol: f.proto ?? 'TCP',
        local: NODE_IPS.has(f.src),
      };
      const r = b.lookup(pkt, scripted([draw]), 0);
      verdict = r.verdict;
      if (r.verdict === 'DNAT') {
        seen.add(`${r.endpoint!.ip}:${r.endpoint!.port}`);
        masq = r.masquerade;
      }
    }
    const got = verdict === 'DNAT' ? [...seen].sort().join(', ') : verdict;
    assert.equal(got, f.output, `${f.name}: output`);
    if (f.masq !== undefined) assert.equal(masq, f.masq, `${f.name}: masq`);
  }
}

test('TestNoEndpointsReject: every address of a service without endpoints rejects', () => {
  const b = upstreamNft();
  b.syncCounts(
    snapshot([
      [
        svc({
          namespace: 'ns1',
          name: 'svc1',
          portName: 'p80',
          clusterIP: '172.30.0.41',
          port: 80,
          type: 'LoadBalancer',
          nodePort: 3001,
          externalIPs: ['192.168.99.11'],
          loadBalancerIPs: ['1.2.3.4'],
        }),
        [],
      ],
    ]),
    new Set(),
    0,
  );
  runFlows(b, [
    { name: 'pod to cluster IP with no endpoints', src: '10.0.0.2', dst: '172.30.0.41', port: 80, output: 'REJECT' },
    { name: 'external to external IP with no endpoints', src: '203.0.113.2', dst: '192.168.99.11', port: 80, output: 'REJECT' },
    { name: 'pod to NodePort with no endpoints', src: '10.0.0.2', dst: '192.168.0.2', port: 3001, output: 'REJECT' },
    { name: 'external to NodePort with no endpoints', src: '203.0.113.2', dst: '192.168.0.2', port: 3001, output: 'REJECT' },
    { name: 'pod to LoadBalancer IP with no endpoints', src: '10.0.0.2', dst: '1.2.3.4', port: 80, output: 'REJECT' },
    { name: 'external to LoadBalancer IP with no endpoints', src: '203.0.113.2', dst: '1.2.3.4', port: 80, output: 'REJECT' },
  ]);
});

test('TestClusterIPGeneral: ports, protocols, hairpin masquerade, invalid ports rejected, unallocated cluster IPs dropped', () => {
  const b = upstreamNft();
  const local = { nodeName: 'test-node', isLocal: true };
  const remote = { nodeName: 'node2' };
  b.syncCounts(
    snapshot([
      [svc({ namespace: 'ns1', name: 'svc1', portName: 'http', clusterIP: '172.30.0.41', port: 80 }), [ep('10.180.0.1', 80, local)]],
      [
        svc({ namespace: 'ns2', name: 'svc2', portName: 'http', clusterIP: '172.30.0.42', port: 80 }),
        [ep('10.180.0.1', 80, local), ep('10.180.2.1', 80, remote)],
      ],
      [
        svc({ namespace: 'ns2', name: 'svc2', portName: 'https', clusterIP: '172.30.0.42', port: 443 }),
        [ep('10.180.0.1', 8443, local), ep('10.180.2.1', 8443, remote)],
      ],
      [
        svc({ namespace: 'ns2', name: 'svc2', portName: 'dns-udp', protocol: 'UDP', clusterIP: '172.30.0.42', port: 53 }),
        [ep('10.180.0.1', 53, local), ep('10.180.2.1', 53, remote)],
      ],
      [
        svc({ namespace: 'ns2', name: 'svc2', portName: 'dns-tcp', clusterIP: '172.30.0.42', port: 53 }),
        [ep('10.180.0.1', 5353, local), ep('10.180.2.1', 5353, remote)],
      ],
      [
        svc({ namespace: 'ns2', name: 'svc2', portName: 'dns-sctp', protocol: 'SCTP', clusterIP: '172.30.0.42', port: 53 }),
        [ep('10.180.0.1', 53, local), ep('10.180.2.1', 53, remote)],
      ],
    ]),
    new Set(),
    0,
  );
  runFlows(b, [
    { name: 'simple clusterIP', src: '10.180.0.2', dst: '172.30.0.41', port: 80, output: '10.180.0.1:80', masq: false },
    { name: 'hairpin to cluster IP', src: '10.180.0.1', dst: '172.30.0.41', port: 80, output: '10.180.0.1:80', masq: true },
    {
      name: 'clusterIP with multiple endpoints',
      src: '10.180.0.2',
      dst: '172.30.0.42',
      port: 80,
      output: '10.180.0.1:80, 10.180.2.1:80',
      masq: false,
    },
    {
      name: 'clusterIP with TargetPort',
      src: '10.180.0.2',
      dst: '172.30.0.42',
      port: 443,
      output: '10.180.0.1:8443, 10.180.2.1:8443',
      masq: false,
    },
    {
      name: 'TCP on a shared port',
      src: '10.180.0.2',
      dst: '172.30.0.42',
      port: 53,
      proto: 'TCP',
      output: '10.180.0.1:5353, 10.180.2.1:5353',
      masq: false,
    },
    {
      name: 'UDP on a shared port',
      src: '10.180.0.2',
      dst: '172.30.0.42',
      port: 53,
      proto: 'UDP',
      output: '10.180.0.1:53, 10.180.2.1:53',
      masq: false,
    },
    {
      name: 'SCTP on a shared port',
      src: '10.180.0.2',
      dst: '172.30.0.42',
      port: 53,
      proto: 'SCTP',
      output: '10.180.0.1:53, 10.180.2.1:53',
      masq: false,
    },
    { name: 'TCP-only port does not match UDP traffic', src: '10.180.0.2', dst: '172.30.0.42', port: 80, proto: 'UDP', output: 'REJECT' },
    { name: "svc1 does not accept svc2's ports", src: '10.180.0.2', dst: '172.30.0.41', port: 443, output: 'REJECT' },
    { name: 'packet to unallocated cluster ip', src: '10.180.0.2', dst: '172.30.0.50', port: 80, output: 'DROP' },
  ]);
});

/** setupTest of upstream's masquerade test: svc1 (Cluster), svc2 (eTP:Local), svc3 (iTP:Local), each with a local and a remote endpoint. */
function policySnapshot(): ProxySnapshot {
  const local = { nodeName: 'test-node', isLocal: true };
  const remote = { nodeName: 'node2' };
  const lb = (n: number, lbIP: string, o: object) =>
    svc({
      namespace: 'ns' + n,
      name: 'svc' + n,
      portName: 'p80',
      clusterIP: `172.30.0.4${n}`,
      port: 80,
      type: 'LoadBalancer',
      nodePort: 3000 + n,
      loadBalancerIPs: [lbIP],
      ...o,
    });
  return snapshot([
    [lb(1, '1.2.3.4', {}), [ep('10.180.0.1', 80, local), ep('10.180.1.1', 80, remote)]],
    [lb(2, '5.6.7.8', { externalPolicyLocal: true }), [ep('10.180.0.2', 80, local), ep('10.180.1.2', 80, remote)]],
    [lb(3, '9.10.11.12', { internalPolicyLocal: true }), [ep('10.180.0.3', 80, local), ep('10.180.1.3', 80, remote)]],
  ]);
}

const POLICY_FLOWS: Flow[] = [
  { name: 'pod to ClusterIP', src: '10.0.0.2', dst: '172.30.0.41', port: 80, output: '10.180.0.1:80, 10.180.1.1:80', masq: false },
  { name: 'pod to NodePort', src: '10.0.0.2', dst: '192.168.0.2', port: 3001, output: '10.180.0.1:80, 10.180.1.1:80', masq: true },
  { name: 'pod to LB', src: '10.0.0.2', dst: '1.2.3.4', port: 80, output: '10.180.0.1:80, 10.180.1.1:80', masq: true },
  { name: 'node to ClusterIP', src: '192.168.0.2', dst: '172.30.0.41', port: 80, output: '10.180.0.1:80, 10.180.1.1:80', masq: true },
  { name: 'node to NodePort', src: '192.168.0.2', dst: '192.168.0.2', port: 3001, output: '10.180.0.1:80, 10.180.1.1:80', masq: true },
  { name: 'node to LB', src: '192.168.0.2', dst: '1.2.3.4', port: 80, output: '10.180.0.1:80, 10.180.1.1:80', masq: true },
  { name: 'external to ClusterIP', src: '203.0.113.2', dst: '172.30.0.41', port: 80, output: '10.180.0.1:80, 10.180.1.1:80', masq: true },
  { name: 'external to NodePort', src: '203.0.113.2', dst: '192.168.0.2', port: 3001, output: '10.180.0.1:80, 10.180.1.1:80', masq: true },
  { name: 'external to LB', src: '203.0.113.2', dst: '1.2.3.4', port: 80, output: '10.180.0.1:80, 10.180.1.1:80', masq: true },
  {
    name: 'pod to ClusterIP with eTP:Local',
    src: '10.0.0.2',
    dst: '172.30.0.42',
    port: 80,
    output: '10.180.0.2:80, 10.180.1.2:80',
    masq: false,
  },
  {
    name: 'pod to NodePort with eTP:Local',
    src: '10.0.0.2',
    dst: '192.168.0.2',
    port: 3002,
    output: '10.180.0.2:80, 10.180.1.2:80',
    masq: false,
  },
  { name: 'pod to LB with eTP:Local', src: '10.0.0.2', dst: '5.6.7.8', port: 80, output: '10.180.0.2:80, 10.180.1.2:80', masq: false },
  {
    name: 'node to ClusterIP with eTP:Local',
    src: '192.168.0.2',
    dst: '172.30.0.42',
    port: 80,
    output: '10.180.0.2:80, 10.180.1.2:80',
    masq: true,
  },
  { name: 'node to LB with eTP:Local', src: '192.168.0.2', dst: '5.6.7.8', port: 80, output: '10.180.0.2:80, 10.180.1.2:80', masq: true },
  {
    name: 'external to ClusterIP with eTP:Local',
    src: '203.0.113.2',
    dst: '172.30.0.42',
    port: 80,
    output: '10.180.0.2:80, 10.180.1.2:80',
    masq: true,
  },
  { name: 'external to NodePort with eTP:Local', src: '203.0.113.2', dst: '192.168.0.2', port: 3002, output: '10.180.0.2:80', masq: false },
  { name: 'external to LB with eTP:Local', src: '203.0.113.2', dst: '5.6.7.8', port: 80, output: '10.180.0.2:80', masq: false },
  { name: 'pod to ClusterIP with iTP:Local', src: '10.0.0.2', dst: '172.30.0.43', port: 80, output: '10.180.0.3:80', masq: false },
  {
    name: 'pod to NodePort with iTP:Local',
    src: '10.0.0.2',
    dst: '192.168.0.2',
    port: 3003,
    output: '10.180.0.3:80, 10.180.1.3:80',
    masq: true,
  },
  { name: 'pod to LB with iTP:Local', src: '10.0.0.2', dst: '9.10.11.12', port: 80, output: '10.180.0.3:80, 10.180.1.3:80', masq: true },
  { name: 'node to ClusterIP with iTP:Local', src: '192.168.0.2', dst: '172.30.0.43', port: 80, output: '10.180.0.3:80', masq: true },
  {
    name: 'node to NodePort with iTP:Local',
    src: '192.168.0.2',
    dst: '192.168.0.2',
    port: 3003,
    output: '10.180.0.3:80, 10.180.1.3:80',
    masq: true,
  },
  { name: 'external to ClusterIP with iTP:Local', src: '203.0.113.2', dst: '172.30.0.43', port: 80, output: '10.180.0.3:80', masq: true },
  {
    name: 'external to NodePort with iTP:Local',
    src: '203.0.113.2',
    dst: '192.168.0.2',
    port: 3003,
    output: '10.180.0.3:80, 10.180.1.3:80',
    masq: true,
  },
  {
    name: 'external to LB with iTP:Local',
    src: '203.0.113.2',
    dst: '9.10.11.12',
    port: 80,
    output: '10.180.0.3:80, 10.180.1.3:80',
    masq: true,
  },
];

test("traffic policies and masquerading, as upstream's masquerade test expects (base case)", () => {
  const b = upstreamNft();
  b.syncCounts(policySnapshot(), new Set(), 0);
  runFlows(b, POLICY_FLOWS);
});

test('without a local-traffic detector ClusterIP traffic is not masqueraded and pods get only local endpoints of eTP:Local services', () => {
  const b = upstreamNft({ node: { ...UPSTREAM_NODE, localDetector: 'None' } });
  b.syncCounts(policySnapshot(), new Set(), 0);
  const over: Record<string, Partial<Flow>> = {
    'node to ClusterIP': { masq: false },
    'node to ClusterIP with eTP:Local': { masq: false },
    'node to ClusterIP with iTP:Local': { masq: false },
    'external to ClusterIP': { masq: false },
    'external to ClusterIP with eTP:Local': { masq: false },
    'external to ClusterIP with iTP:Local': { masq: false },
    'pod to NodePort with eTP:Local': { output: '10.180.0.2:80' },
    'pod to LB with eTP:Local': { output: '10.180.0.2:80' },
  };
  runFlows(
    b,
    POLICY_FLOWS.map((f) => ({ ...f, ...over[f.name] })),
  );
});

test('--masquerade-all masquerades pod traffic to ClusterIPs too', () => {
  const b = upstreamNft({ node: { ...UPSTREAM_NODE, masqueradeAll: true } });
  b.syncCounts(policySnapshot(), new Set(), 0);
  const over: Record<string, Partial<Flow>> = {
    'pod to ClusterIP': { masq: true },
    'pod to ClusterIP with eTP:Local': { masq: true },
    'pod to ClusterIP with iTP:Local': { masq: true },
  };
  runFlows(
    b,
    POLICY_FLOWS.map((f) => ({ ...f, ...over[f.name] })),
  );
});

test('loadBalancerSourceRanges: allowed sources reach the service, others are dropped; NodePorts bypass the ranges', () => {
  const b = upstreamNft();
  b.syncCounts(
    snapshot([
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
    ]),
    new Set(),
    0,
  );
  runFlows(b, [
    { name: 'pod to cluster IP', src: '10.0.0.2', dst: '172.30.0.41', port: 80, output: '10.180.0.1:80', masq: false },
    { name: 'external to nodePort', src: '203.0.113.2', dst: '192.168.0.2', port: 3001, output: '10.180.0.1:80', masq: true },
    {
      name: 'nodePort bypasses LoadBalancerSourceRanges',
      src: '203.0.113.130',
      dst: '192.168.0.2',
      port: 3001,
      output: '10.180.0.1:80',
      masq: true,
    },
    { name: 'accepted external to LB1', src: '203.0.113.2', dst: '1.2.3.4', port: 80, output: '10.180.0.1:80', masq: true },
    { name: 'accepted external to LB2', src: '203.0.113.2', dst: '5.6.7.8', port: 80, output: '10.180.0.1:80', masq: true },
    { name: 'blocked external to LB1', src: '203.0.113.130', dst: '1.2.3.4', port: 80, output: 'DROP' },
    { name: 'blocked external to LB2', src: '203.0.113.130', dst: '5.6.7.8', port: 80, output: 'DROP' },
    {
      name: 'accepted node to LB1 (node IP in a range)',
      src: '192.168.0.2',
      dst: '1.2.3.4',
      port: 80,
      output: '10.180.0.1:80',
      masq: true,
    },
  ]);
});

test('session affinity: the first packet picks by numgen, later connections from the client stick until the timeout', () => {
  const b = upstreamNft();
  b.syncCounts(
    snapshot([
      [
        svc({ namespace: 'ns1', name: 'svc1', portName: 'p80', clusterIP: '172.30.0.41', port: 80, stickyMaxAgeSeconds: 100 }),
        [ep('10.180.0.1', 80), ep('10.180.0.2', 80), ep('10.180.0.3', 80)],
      ],
    ]),
    new Set(),
    0,
  );
  const pkt: Packet = { srcIP: '10.0.0.9', srcPort: 1, dstIP: '172.30.0.41', dstPort: 80, protocol: 'TCP', local: false };
  const first = b.lookup(pkt, scripted([0.5]), 10);
  assert.equal(first.endpoint?.ip, '10.180.0.2');
  assert.equal(first.serviceKey, 'ns1/svc1:p80');
  const again = b.lookup(pkt, scripted([0.0]), 50);
  assert.equal(again.endpoint?.ip, '10.180.0.2', 'affinity set hit');
  const expired = b.lookup(pkt, scripted([0.0]), 200);
  assert.equal(expired.endpoint?.ip, '10.180.0.1', 'entry expired: numgen again');
});

test('first-packet counts are the same at 100 and at 3,000 services (flat), and exact for a ClusterIP', () => {
  const counts = (S: number) => {
    const b = createNftablesBackend({ node: SYNTHETIC_NODE });
    const snap = syntheticSnapshot(S, 10);
    b.syncCounts(snap, new Set(), 0);
    // service 0 (ClusterIP) and the last ClusterIP service, from a pod
    const keys = [...snap.services.values()].filter(
      (s) => s.type === 'ClusterIP' && s.stickyMaxAgeSeconds === 0 && !s.internalPolicyLocal && s.externalIPs.length === 0,
    );
    return [keys[0]!, keys[keys.length - 1]!].map((s) => {
      const r = b.lookup(
        { srcIP: '10.64.200.1', srcPort: 1, dstIP: s.clusterIP, dstPort: s.port, protocol: s.protocol, local: false },
        scripted([0.3]),
        0,
      );
      assert.equal(r.verdict, 'DNAT');
      return r.counts;
    });
  };
  const small = counts(100);
  const big = counts(3000);
  assert.deepEqual(small[0], small[1]);
  assert.deepEqual(big[0], small[0]);
  // filter-prerouting-pre-dnat (1 rule) -> firewall-check (1 vmap miss); nat-prerouting (1) -> services (1 vmap hit)
  // -> service chain (masq rule, numgen) -> endpoint chain (hairpin rule, dnat); filter-forward (2 jumps) ->
  // service-endpoints-check (1 vmap miss), cluster-ips-check (2 rules); nat-postrouting (1) -> masquerading (1)
  assert.deepEqual(small[0], { rules_evaluated: 15, lookups: 6, chains_entered: 11 });
});
