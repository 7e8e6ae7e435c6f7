/**
 * Upstream's packet-flow cases of pkg/proxy/iptables/proxier_test.go that the other tests do not pin:
 * TestClusterIPGeneral (ports, target ports, TCP/UDP/SCTP on one port, hairpin masquerade) and
 * TestNoEndpointsReject (a LoadBalancer without endpoints rejects on every address), TestHealthCheckNodePort,
 * TestExternalTrafficPolicyLocal / Cluster, TestTerminatingEndpointsTrafficPolicyCluster and TestInternalExternalMasquerade
 * (its 30 flows under its four configurations), TestInternalTrafficPolicy and
 * TestTerminatingEndpointsTrafficPolicyLocal, each checked twice: with
 * upstream's packet tracer over the rendered iptables-save (test/fixtures/iptables-trace.ts, upstream's notion of
 * "output": every endpoint a probabilistic rule may reach), and through the backend's own first-packet walk
 * (every endpoint the walk picks over a range of random draws).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Protocol } from '../src/types.js';
import type { IptablesBackend } from '../src/backends/iptables/index.js';
import { ep, snapshot, svc, upstreamBackend, scripted, UPSTREAM_NODE } from './fixtures/iptables.js';
import { tracePacket } from './fixtures/iptables-trace.js';

const testNodeIP = '192.168.0.2';
const testExternalClient = '203.0.113.2';
const testNodeIPs = [testNodeIP, '192.168.1.2', '192.168.99.11', '2001:db8::1', '2001:db8:1::2'];

interface Flow {
  name: string;
  sourceIP: string;
  protocol?: Protocol;
  destIP: string;
  destPort: number;
  output: string;
  masq?: boolean;
}

function run(b: IptablesBackend, flows: readonly Flow[]): void {
  const save = b.render()['iptables-save']!;
  for (const f of flows) {
    const proto = f.protocol ?? 'TCP';
    // upstream's tracer
    const r = tracePacket(save, f.sourceIP, proto.toLowerCase(), f.destIP, f.destPort, testNodeIPs);
    assert.deepEqual({ output: r.output, masq: r.masq }, { output: f.output, masq: f.masq ?? false }, `${f.name}\n${r.matches.join('\n')}`);
    // the backend's walk: the endpoints it reaches over draws spread across [0, 1), or its verdict (an ACCEPT is no
    // verdict of a first packet's lookup, it passes either way: the tracer's check stands alone there)
    if (f.output === 'ACCEPT') continue;
    const seen = new Set<string>();
    let verdict = '';
    let masq = false;
    // (the same value for every statistic rule of a walk: d reaches the first endpoint i with d < 1 / (n - i))
    for (const d of [0.01, 0.26, 0.4, 0.49, 0.51, 0.74, 0.99]) {
      const l = b.lookup(
        { srcIP: f.sourceIP, srcPort: 40000, dstIP: f.destIP, dstPort: f.destPort, protocol: proto, local: false },
        scripted(new Array<number>(16).fill(d)),
        1,
      );
      verdict = l.verdict;
      masq = l.masquerade;
      if (l.endpoint !== null) seen.add(`${l.endpoint.ip}:${l.endpoint.port}`);
    }
    const walked = seen.size > 0 ? [...seen].sort().join(', ') : verdict === 'PASS' ? '' : verdict;
    assert.equal(walked, f.output, `${f.name} (walk)`);
    if (seen.size > 0) assert.equal(masq, f.masq ?? false, `${f.name} (walk masquerade)`);
  }
}

test('upstream TestClusterIPGeneral flows', () => {
  const b = upstreamBackend();
  const s = snapshot([
    [
      svc({ namespace: 'ns1', name: 'svc1', portName: 'http', clusterIP: '172.30.0.41', port: 80 }),
      [ep('10.180.0.1', 80, { nodeName: 'test-node', isLocal: true })],
    ],
    ...(
      [
        ['http', 'TCP', 80, 80],
        ['https', 'TCP', 443, 8443],
        ['dns-udp', 'UDP', 53, 53],
        ['dns-tcp', 'TCP', 53, 5353],
        ['dns-sctp', 'SCTP', 53, 53],
      ] as const
    ).map(
      ([portName, protocol, port, target]) =>
        [
          svc({ namespace: 'ns2', name: 'svc2', portName, protocol, clusterIP: '172.30.0.42', port, targetPort: target }),
          [ep('10.180.0.1', target, { nodeName: 'test-node', isLocal: true }), ep('10.180.2.1', target, { nodeName: 'node2' })],
        ] as const,
    ),
  ] as never);
  b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
  run(b, [
    { name: 'simple clusterIP', sourceIP: '10.180.0.2', destIP: '172.30.0.41', destPort: 80, output: '10.180.0.1:80' },
    { name: 'hairpin to cluster IP', sourceIP: '10.180.0.1', destIP: '172.30.0.41', destPort: 80, output: '10.180.0.1:80', masq: true },
    {
      name: 'clusterIP with multiple endpoints',
      sourceIP: '10.180.0.2',
      destIP: '172.30.0.42',
      destPort: 80,
      output: '10.180.0.1:80, 10.180.2.1:80',
    },
    {
      name: 'clusterIP with TargetPort',
      sourceIP: '10.180.0.2',
      destIP: '172.30.0.42',
      destPort: 443,
      output: '10.180.0.1:8443, 10.180.2.1:8443',
    },
    {
      name: 'clusterIP with TCP, UDP, and SCTP on same port (TCP)',
      sourceIP: '10.180.0.2',
      protocol: 'TCP',
      destIP: '172.30.0.42',
      destPort: 53,
      output: '10.180.0.1:5353, 10.180.2.1:5353',
    },
    {
      name: 'clusterIP with TCP, UDP, and SCTP on same port (UDP)',
      sourceIP: '10.180.0.2',
      protocol: 'UDP',
      destIP: '172.30.0.42',
      destPort: 53,
      output: '10.180.0.1:53, 10.180.2.1:53',
    },
    {
      name: 'clusterIP with TCP, UDP, and SCTP on same port (SCTP)',
      sourceIP: '10.180.0.2',
      protocol: 'SCTP',
      destIP: '172.30.0.42',
      destPort: 53,
      output: '10.180.0.1:53, 10.180.2.1:53',
    },
    {
      name: 'TCP-only port does not match UDP traffic',
      sourceIP: '10.180.0.2',
      protocol: 'UDP',
      destIP: '172.30.0.42',
      destPort: 80,
      output: '',
    },
    { name: "svc1 does not accept svc2's ports", sourceIP: '10.180.0.2', destIP: '172.30.0.41', destPort: 443, output: '' },
  ]);
});

test('upstream TestNoEndpointsReject flows', () => {
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
        externalIPs: ['192.168.99.11'],
        loadBalancerIPs: ['1.2.3.4'],
      }),
      [],
    ],
  ]);
  b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
  run(b, [
    { name: 'pod to cluster IP with no endpoints', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: 'REJECT' },
    {
      name: 'external to external IP with no endpoints',
      sourceIP: testExternalClient,
      destIP: '192.168.99.11',
      destPort: 80,
      output: 'REJECT',
    },
    { name: 'pod to NodePort with no endpoints', sourceIP: '10.0.0.2', destIP: testNodeIP, destPort: 3001, output: 'REJECT' },
    { name: 'external to NodePort with no endpoints', sourceIP: testExternalClient, destIP: testNodeIP, destPort: 3001, output: 'REJECT' },
    { name: 'pod to LoadBalancer IP with no endpoints', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: 'REJECT' },
    {
      name: 'external to LoadBalancer IP with no endpoints',
      sourceIP: testExternalClient,
      destIP: '1.2.3.4',
      destPort: 80,
      output: 'REJECT',
    },
  ]);
});

test('upstream TestHealthCheckNodePort flows: accepted while the service exists, no rule after it is deleted', () => {
  // --nodeport-addresses 127.0.0.0/8
  const b = upstreamBackend({ node: { ...UPSTREAM_NODE, nodePortAddresses: ['127.0.0.0/8'] } });
  const lb = svc({
    namespace: 'ns1',
    name: 'svc1',
    portName: 'p80',
    clusterIP: '172.30.0.42',
    port: 80,
    type: 'LoadBalancer',
    nodePort: 3001,
    externalPolicyLocal: true,
    healthCheckNodePort: 30000,
  });
  const s = snapshot([[lb, []]]);
  b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
  const flow = { name: 'firewall accepts HealthCheckNodePort', sourceIP: '1.2.3.4', destIP: testNodeIP, destPort: 30000 };
  run(b, [{ ...flow, output: 'ACCEPT' }]);
  const none = snapshot([]);
  b.sync({ snapshot: none, changed: new Set([lb.key]), now: 1 });
  run(b, [{ ...flow, name: 'HealthCheckNodePort no longer has any rule', output: '' }]);
});

for (const local of [true, false]) {
  test(`upstream TestExternalTrafficPolicy${local ? 'Local' : 'Cluster'} flows`, () => {
    const b = upstreamBackend();
    const s = snapshot([
      [
        svc({
          namespace: 'ns1',
          name: 'svc1',
          portName: 'p80',
          clusterIP: '172.30.0.41',
          port: 80,
          targetPort: 80,
          type: 'LoadBalancer',
          nodePort: 3001,
          externalIPs: ['192.168.99.11'],
          loadBalancerIPs: ['1.2.3.4'],
          externalPolicyLocal: local,
          healthCheckNodePort: local ? 30000 : 0,
        }),
        [ep('10.180.0.1', 80), ep('10.180.2.1', 80, { nodeName: 'test-node', isLocal: true })],
      ],
    ]);
    b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
    const both = '10.180.0.1:80, 10.180.2.1:80';
    // eTP:Local: outside clients reach only the local endpoint and keep their source; pods reach both, unmasqueraded
    const ext = local ? '10.180.2.1:80' : both;
    run(b, [
      {
        name: 'pod to cluster IP hits both endpoints, unmasqueraded',
        sourceIP: '10.0.0.2',
        destIP: '172.30.0.41',
        destPort: 80,
        output: both,
      },
      {
        name: 'pod to external IP hits both endpoints',
        sourceIP: '10.0.0.2',
        destIP: '192.168.99.11',
        destPort: 80,
        output: both,
        masq: !local,
      },
      { name: 'external to external IP', sourceIP: testExternalClient, destIP: '192.168.99.11', destPort: 80, output: ext, masq: !local },
      { name: 'pod to LB IP hits both endpoints', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: both, masq: !local },
      { name: 'external to LB IP', sourceIP: testExternalClient, destIP: '1.2.3.4', destPort: 80, output: ext, masq: !local },
      { name: 'pod to NodePort hits both endpoints', sourceIP: '10.0.0.2', destIP: testNodeIP, destPort: 3001, output: both, masq: !local },
      { name: 'external to NodePort', sourceIP: testExternalClient, destIP: testNodeIP, destPort: 3001, output: ext, masq: !local },
    ]);
  });
}

test('upstream TestTerminatingEndpointsTrafficPolicyCluster flows: ready endpoints first, else serving terminating ones', () => {
  const lb = svc({
    namespace: 'ns1',
    name: 'svc1',
    portName: '',
    clusterIP: '172.30.1.1',
    port: 80,
    targetPort: 80,
    type: 'LoadBalancer',
    loadBalancerIPs: ['1.2.3.4'],
  });
  const here = { nodeName: 'test-node', isLocal: true };
  const ready = { ready: true, serving: true, terminating: false };
  const servingTerminating = { ready: false, serving: true, terminating: true };
  const gone = { ready: false, serving: false, terminating: true };
  const cases: Array<[string, ReturnType<typeof ep>[], string]> = [
    [
      'ready endpoints exist',
      [
        ep('10.0.1.1', 80, { ...here, ...ready }),
        ep('10.0.1.2', 80, { ...here, ...ready }),
        ep('10.0.1.3', 80, { nodeName: 'another-node', ...servingTerminating }),
        ep('10.0.1.4', 80, { nodeName: 'another-node', ...gone }),
        ep('10.0.1.5', 80, { nodeName: 'another-node', ...ready }),
      ],
      '10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80',
    ],
    [
      'only terminating endpoints exist',
      [
        ep('10.0.1.2', 80, { ...here, ...servingTerminating }),
        ep('10.0.1.3', 80, { ...here, ...servingTerminating }),
        ep('10.0.1.4', 80, { nodeName: 'another-node', ...gone }),
        ep('10.0.1.5', 80, { nodeName: 'another-node', ...servingTerminating }),
      ],
      '10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80',
    ],
    ['terminating endpoints on remote node', [ep('10.0.1.5', 80, { nodeName: 'node-1', ...servingTerminating })], '10.0.1.5:80'],
    // upstream lists 10.0.1.5 twice (here and on node-1), neither serving; the endpoint cache keeps one
    ['no usable endpoints on any node', [ep('10.0.1.5', 80, { ...here, ...gone })], 'REJECT'],
  ];
  for (const [name, eps, output] of cases) {
    const b = upstreamBackend();
    const s = snapshot([[lb, eps]]);
    b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
    const usable = output !== 'REJECT';
    run(b, [
      { name: `${name}: pod to clusterIP`, sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output },
      { name: `${name}: external to LB`, sourceIP: testExternalClient, destIP: '1.2.3.4', destPort: 80, output, masq: usable },
    ]);
    const none = snapshot([[lb, []]]);
    b.sync({ snapshot: none, changed: new Set([lb.key]), now: 1 });
    run(b, [
      {
        name: `${name}: pod to clusterIP after endpoints deleted`,
        sourceIP: '10.0.0.2',
        destIP: '172.30.1.1',
        destPort: 80,
        output: 'REJECT',
      },
      {
        name: `${name}: external to LB after endpoints deleted`,
        sourceIP: testExternalClient,
        destIP: '1.2.3.4',
        destPort: 80,
        output: 'REJECT',
      },
    ]);
  }
});

test('upstream TestInternalExternalMasquerade flows: base, no LocalTrafficDetector, masqueradeAll, both', () => {
  const lb = (n: number, lbIP: string, o: Partial<Parameters<typeof svc>[0]> = {}) =>
    svc({
      namespace: `ns${n}`,
      name: `svc${n}`,
      portName: 'p80',
      clusterIP: `172.30.0.4${n}`,
      port: 80,
      type: 'LoadBalancer',
      nodePort: 3000 + n,
      loadBalancerIPs: [lbIP],
      ...o,
    });
  const eps = (n: number) => [
    ep(`10.180.0.${n}`, 80, { nodeName: 'test-node', isLocal: true }),
    ep(`10.180.1.${n}`, 80, { nodeName: 'remote' }),
  ];
  const s = snapshot([
    [lb(1, '1.2.3.4'), eps(1)],
    [lb(2, '5.6.7.8', { externalPolicyLocal: true, healthCheckNodePort: 30002 }), eps(2)],
    [lb(3, '9.10.11.12', { internalPolicyLocal: true }), eps(3)],
  ]);
  const all = (n: number): string => `10.180.0.${n}:80, 10.180.1.${n}:80`;
  const pod = '10.0.0.2';
  const ext = testExternalClient;
  // [name, source, destination, port, output, masq]: the normal case (working local detector, no --masquerade-all)
  const base: Array<[string, string, string, number, string, boolean]> = [
    ['pod to ClusterIP', pod, '172.30.0.41', 80, all(1), false],
    ['pod to NodePort', pod, testNodeIP, 3001, all(1), true],
    ['pod to LB', pod, '1.2.3.4', 80, all(1), true],
    ['node to ClusterIP', testNodeIP, '172.30.0.41', 80, all(1), true],
    ['node to NodePort', testNodeIP, testNodeIP, 3001, all(1), true],
    ['localhost to NodePort', '127.0.0.1', '127.0.0.1', 3001, all(1), true],
    ['node to LB', testNodeIP, '1.2.3.4', 80, all(1), true],
    ['external to ClusterIP', ext, '172.30.0.41', 80, all(1), true],
    ['external to NodePort', ext, testNodeIP, 3001, all(1), true],
    ['external to LB', ext, '1.2.3.4', 80, all(1), true],
    ['pod to ClusterIP with eTP:Local', pod, '172.30.0.42', 80, all(2), false],
    ['pod to NodePort with eTP:Local', pod, testNodeIP, 3002, all(2), false],
    ['pod to LB with eTP:Local', pod, '5.6.7.8', 80, all(2), false],
    ['node to ClusterIP with eTP:Local', testNodeIP, '172.30.0.42', 80, all(2), true],
    ['node to NodePort with eTP:Local', testNodeIP, testNodeIP, 3001, all(1), true],
    ['localhost to NodePort with eTP:Local', '127.0.0.1', '127.0.0.1', 3002, all(2), true],
    ['node to LB with eTP:Local', testNodeIP, '5.6.7.8', 80, all(2), true],
    ['external to ClusterIP with eTP:Local', ext, '172.30.0.42', 80, all(2), true],
    ['external to NodePort with eTP:Local', ext, testNodeIP, 3002, '10.180.0.2:80', false],
    ['external to LB with eTP:Local', ext, '5.6.7.8', 80, '10.180.0.2:80', false],
    ['pod to ClusterIP with iTP:Local', pod, '172.30.0.43', 80, '10.180.0.3:80', false],
    ['pod to NodePort with iTP:Local', pod, testNodeIP, 3003, all(3), true],
    ['pod to LB with iTP:Local', pod, '9.10.11.12', 80, all(3), true],
    ['node to ClusterIP with iTP:Local', testNodeIP, '172.30.0.43', 80, '10.180.0.3:80', true],
    ['node to NodePort with iTP:Local', testNodeIP, testNodeIP, 3003, all(3), true],
    ['localhost to NodePort with iTP:Local', '127.0.0.1', '127.0.0.1', 3003, all(3), true],
    ['node to LB with iTP:Local', testNodeIP, '9.10.11.12', 80, all(3), true],
    ['external to ClusterIP with iTP:Local', ext, '172.30.0.43', 80, '10.180.0.3:80', true],
    ['external to NodePort with iTP:Local', ext, testNodeIP, 3003, all(3), true],
    ['external to LB with iTP:Local', ext, '9.10.11.12', 80, all(3), true],
  ];
  type Override = { output?: string; masq?: boolean };
  const noDetector: Record<string, Override> = {
    'node to ClusterIP': { masq: false },
    'node to ClusterIP with eTP:Local': { masq: false },
    'node to ClusterIP with iTP:Local': { masq: false },
    'external to ClusterIP': { masq: false },
    'external to ClusterIP with eTP:Local': { masq: false },
    'external to ClusterIP with iTP:Local': { masq: false },
    'pod to NodePort with eTP:Local': { output: '10.180.0.2:80' },
    'pod to LB with eTP:Local': { output: '10.180.0.2:80' },
  };
  const masqAll: Record<string, Override> = {
    'pod to ClusterIP': { masq: true },
    'pod to ClusterIP with eTP:Local': { masq: true },
    'pod to ClusterIP with iTP:Local': { masq: true },
  };
  const cases: Array<[string, boolean, boolean, Record<string, Override>]> = [
    ['base', false, true, {}],
    ['no LocalTrafficDetector', false, false, noDetector],
    ['masqueradeAll', true, true, masqAll],
    [
      'masqueradeAll, no LocalTrafficDetector',
      true,
      false,
      {
        ...masqAll,
        'pod to NodePort with eTP:Local': noDetector['pod to NodePort with eTP:Local']!,
        'pod to LB with eTP:Local': noDetector['pod to LB with eTP:Local']!,
      },
    ],
  ];
  for (const [name, masqueradeAll, detector, overrides] of cases) {
    const b = upstreamBackend({ node: { ...UPSTREAM_NODE, masqueradeAll, localDetector: detector ? 'ClusterCIDR' : 'None' } });
    b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
    assert.ok(
      Object.keys(overrides).every((k) => base.some(([n]) => n === k)),
      `${name}: every override names a flow`,
    );
    run(
      b,
      base.map(([n, sourceIP, destIP, destPort, output, masq]) => ({
        name: `${name}: ${n}`,
        sourceIP,
        destIP,
        destPort,
        output: overrides[n]?.output ?? output,
        masq: overrides[n]?.masq ?? masq,
      })),
    );
  }
});

test('upstream TestInternalTrafficPolicy flows', () => {
  const cases: Array<[string, boolean, Array<[string, string]>, string]> = [
    [
      'internalTrafficPolicy is cluster',
      false,
      [
        ['10.0.1.1', 'test-node'],
        ['10.0.1.2', 'node1'],
        ['10.0.1.3', 'node2'],
      ],
      '10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80',
    ],
    [
      'local, one local endpoint',
      true,
      [
        ['10.0.1.1', 'test-node'],
        ['10.0.1.2', 'node1'],
        ['10.0.1.3', 'node2'],
      ],
      '10.0.1.1:80',
    ],
    [
      'local, multiple local endpoints',
      true,
      [
        ['10.0.1.1', 'test-node'],
        ['10.0.1.2', 'test-node'],
        ['10.0.1.3', 'node2'],
      ],
      '10.0.1.1:80, 10.0.1.2:80',
    ],
    [
      'local, no local endpoints',
      true,
      [
        ['10.0.1.1', 'node0'],
        ['10.0.1.2', 'node1'],
        ['10.0.1.3', 'node2'],
      ],
      'DROP',
    ],
  ];
  for (const [name, local, endpoints, output] of cases) {
    const s1 = svc({ namespace: 'ns1', name: 'svc1', portName: '', clusterIP: '172.30.1.1', port: 80, internalPolicyLocal: local });
    const b = upstreamBackend();
    const s = snapshot([[s1, endpoints.map(([ip, node]) => ep(ip, 80, { nodeName: node, isLocal: node === 'test-node' }))]]);
    b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
    run(b, [{ name: `${name}: pod to ClusterIP`, sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output }]);
    b.sync({ snapshot: snapshot([[s1, []]]), changed: new Set([s1.key]), now: 1 });
    run(b, [{ name: `${name}: endpoints deleted`, sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: 'REJECT' }]);
  }
});

test('upstream TestTerminatingEndpointsTrafficPolicyLocal flows: local ready endpoints first, else local serving terminating ones', () => {
  const lb = svc({
    namespace: 'ns1',
    name: 'svc1',
    portName: '',
    clusterIP: '172.30.1.1',
    port: 80,
    targetPort: 80,
    type: 'LoadBalancer',
    loadBalancerIPs: ['1.2.3.4'],
    externalPolicyLocal: true,
    healthCheckNodePort: 30000,
  });
  const here = { nodeName: 'test-node', isLocal: true };
  const ready = { ready: true, serving: true, terminating: false };
  const servingTerminating = { ready: false, serving: true, terminating: true };
  const gone = { ready: false, serving: false, terminating: true };
  const cases: Array<[string, ReturnType<typeof ep>[], string, string]> = [
    [
      'ready endpoints exist',
      [
        ep('10.0.1.1', 80, { ...here, ...ready }),
        ep('10.0.1.2', 80, { ...here, ...ready }),
        ep('10.0.1.3', 80, { ...here, ...servingTerminating }),
        ep('10.0.1.4', 80, { ...here, ...gone }),
        ep('10.0.1.5', 80, { nodeName: 'node-1', ...ready }),
      ],
      '10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80',
      '10.0.1.1:80, 10.0.1.2:80',
    ],
    [
      'only terminating endpoints exist',
      [
        ep('10.0.1.2', 80, { ...here, ...servingTerminating }),
        ep('10.0.1.3', 80, { ...here, ...servingTerminating }),
        ep('10.0.1.4', 80, { ...here, ...gone }),
        ep('10.0.1.5', 80, { nodeName: 'node-1', ...ready }),
      ],
      '10.0.1.5:80',
      '10.0.1.2:80, 10.0.1.3:80',
    ],
    ['terminating endpoints on remote node', [ep('10.0.1.5', 80, { nodeName: 'node-1', ...servingTerminating })], '10.0.1.5:80', 'DROP'],
    ['no usable endpoints on any node', [ep('10.0.1.5', 80, { ...here, ...gone })], 'REJECT', 'REJECT'],
  ];
  for (const [name, eps, internal, external] of cases) {
    const b = upstreamBackend();
    const s = snapshot([[lb, eps]]);
    b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
    run(b, [
      { name: `${name}: pod to clusterIP`, sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: internal },
      { name: `${name}: external to LB`, sourceIP: testExternalClient, destIP: '1.2.3.4', destPort: 80, output: external },
    ]);
    b.sync({ snapshot: snapshot([[lb, []]]), changed: new Set([lb.key]), now: 1 });
    run(b, [
      {
        name: `${name}: pod to clusterIP after endpoints deleted`,
        sourceIP: '10.0.0.2',
        destIP: '172.30.1.1',
        destPort: 80,
        output: 'REJECT',
      },
      {
        name: `${name}: external to LB after endpoints deleted`,
        sourceIP: testExternalClient,
        destIP: '1.2.3.4',
        destPort: 80,
        output: 'REJECT',
      },
    ]);
  }
});
