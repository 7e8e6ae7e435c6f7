/**
 * Addresses as kube-proxy reads them (k8s.io/utils/net ParseIPSloppy / ParseCIDRSloppy: Go's pre-1.17 parser,
 * leading zeros allowed and decimal) and the canonical text it writes. Upstream's TestBadIPs
 * (pkg/proxy/iptables/proxier_test.go) checks that "bad" IPs and CIDRs in Services and EndpointSlices come out
 * "good" in the restore input; here the whole TestOverallIPTablesRules cluster is written as manifests with every
 * address in a legacy spelling and must render upstream's expected dump byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadObjects } from '../src/cluster/manifests.js';
import { renderDetailed } from '../src/proxy/render.js';
import { InputError } from '../src/errors.js';
import { formatIPv6Bytes, parseCIDRSloppy, parseIPSloppy } from '../src/net/ip.js';
import type { IptablesBackend } from '../src/backends/iptables/index.js';
import { sortIPTablesRules, UPSTREAM_NODE } from './fixtures/iptables.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/iptables/${name}`, import.meta.url), 'utf8');

test('ParseIPSloppy: leading zeros are decimal; the canonical text is Go net.IP String()', () => {
  const cases: Array<[string, string | null]> = [
    ['172.30.0.041', '172.30.0.41'],
    ['010.180.000.001', '10.180.0.1'],
    ['1.2.3.004', '1.2.3.4'],
    ['0001.2.3.4', '1.2.3.4'], // Go 1.16 dtoi takes any number of digits
    ['1.2.3.256', null],
    ['1.2.3', null],
    ['1.2.3.4.5', null],
    ['1.2.3.-4', null],
    ['1.2.3.4 ', null],
    ['', null],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['fd00:0:0:0:0:0:0:0', 'fd00::'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8::0001', '2001:db8::1'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'], // a single zero group is not shortened
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::ffff:1.2.3.004', '1.2.3.4'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['1::2::3', null],
    ['12345::1', null],
    ['1:2:3:4:5:6:7:8:9', null],
    ['fe80::1%eth0', null],
  ];
  for (const [input, want] of cases) assert.equal(parseIPSloppy(input)?.text ?? null, want, input);
  assert.equal(formatIPv6Bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), '::1');
});

test('ParseCIDRSloppy: the masked network, leading zeros allowed', () => {
  const cases: Array<[string, string | null]> = [
    ['203.0.113.000/025', '203.0.113.0/25'],
    ['203.0.113.5/25', '203.0.113.0/25'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['10.0.0.0/33', null],
    ['10.0.0.0/', null],
    ['10.0.0.0', null],
    ['2001:db8::1/64', '2001:db8::/64'],
    ['2001:DB8:1::/48', '2001:db8:1::/48'],
    ['::/0', '::/0'],
    ['2001:db8::/129', null],
  ];
  for (const [input, want] of cases) assert.equal(parseCIDRSloppy(input)?.text ?? null, want, input);
});

/** TestOverallIPTablesRules' objects as manifests, every address spelled with leading zeros. */
function overallManifests(): unknown[] {
  const svc = (ns: string, name: string, spec: Record<string, unknown>, lb: string[] = []) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: ns, name },
    spec,
    ...(lb.length > 0 ? { status: { loadBalancer: { ingress: lb.map((ip) => ({ ip })) } } } : {}),
  });
  const slice = (ns: string, name: string, endpoints: Array<{ addresses: string[]; nodeName?: string }>) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    endpoints,
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
  });
  const p80 = (nodePort?: number) => [{ name: 'p80', port: 80, protocol: 'TCP', ...(nodePort !== undefined ? { nodePort } : {}) }];
  return [
    svc('ns1', 'svc1', { clusterIP: '172.30.0.041', ports: p80() }),
    svc(
      'ns2',
      'svc2',
      {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        clusterIP: '172.030.000.042',
        ports: p80(30001),
        externalIPs: ['192.168.099.022'],
        healthCheckNodePort: 30000,
      },
      ['001.002.003.004'],
    ),
    svc('ns3', 'svc3', { type: 'NodePort', clusterIP: '172.30.0.043', ports: p80(30003) }),
    // a NodePort service without nodePort: kube-proxy sees port 0 there (the fake proxier does no allocation)
    svc('ns4', 'svc4', {
      type: 'NodePort',
      clusterIP: '172.30.0.044',
      externalIPs: ['192.168.99.033'],
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }],
    }),
    svc(
      'ns5',
      'svc5',
      {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Cluster',
        clusterIP: '172.30.0.045',
        ports: p80(30002),
        healthCheckNodePort: 30000,
        loadBalancerSourceRanges: [' 203.0.113.000/025'],
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      },
      ['5.6.7.008'],
    ),
    svc('ns6', 'svc6', {
      type: 'ClusterIP',
      clusterIP: '172.30.0.046',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }],
    }),
    slice('ns1', 'svc1', [{ addresses: ['10.180.0.001'] }]),
    slice('ns2', 'svc2', [{ addresses: ['10.180.000.002'] }]),
    slice('ns3', 'svc3', [{ addresses: ['010.180.0.3'] }]),
    slice('ns4', 'svc4', [{ addresses: ['10.180.0.04'] }, { addresses: ['10.180.0.005'], nodeName: 'test-node' }]),
    slice('ns5', 'svc5', [{ addresses: ['10.180.0.3'] }]),
  ];
}

test('upstream TestBadIPs: legacy-spelled addresses render TestOverallIPTablesRules byte for byte', () => {
  const objects = loadObjects(overallManifests());
  // the loader keeps the canonical forms
  assert.equal(objects.services.find((s) => s.name === 'svc1')!.clusterIP, '172.30.0.41');
  assert.deepEqual(objects.services.find((s) => s.name === 'svc2')!.externalIPs, ['192.168.99.22']);
  assert.deepEqual(objects.services.find((s) => s.name === 'svc2')!.loadBalancerIngressIPs, ['1.2.3.4']);
  assert.deepEqual(objects.services.find((s) => s.name === 'svc5')!.loadBalancerSourceRanges, ['203.0.113.0/25']);
  assert.deepEqual(
    objects.slices.find((s) => s.serviceName === 'svc4')!.endpoints.map((e) => e.addresses[0]),
    ['10.180.0.4', '10.180.0.5'],
  );
  // svc4 is a NodePort service: the manifest path allocates it a node port, which upstream's fixture does not
  // have; give it none so the objects are exactly the fake proxier's
  for (const s of objects.services) if (s.name === 'svc4') s.ports = s.ports.map((p) => ({ ...p, nodePort: 0 }));
  // the fake proxier's node ports (3001-3003) are outside the API's default range, which the loader enforces:
  // the manifests give 30001-30003, set back here
  for (const s of objects.services)
    s.ports = s.ports.map((p) => (p.nodePort > 30000 && p.nodePort < 30004 ? { ...p, nodePort: p.nodePort - 27000 } : p));
  const r = renderDetailed({
    backend: 'iptables',
    objects,
    nodeName: UPSTREAM_NODE.nodeName,
    nodeIPs: [...UPSTREAM_NODE.nodeIPs],
    clusterCIDR: UPSTREAM_NODE.clusterCIDR,
    backendOptions: { randomFully: false, nfacct: true, localhostNodePorts: true },
  });
  const b = r.backend as IptablesBackend;
  const restore = b.lastRestoreInput().replaceAll('0x00004000', '0x4000');
  assert.equal(sortIPTablesRules(restore), fixture('upstream-TestOverallIPTablesRules.sorted.txt'));
});

test("upstream TestBadIPs' own case: one LoadBalancer with every address in a legacy spelling, its whole dump", () => {
  const objects = loadObjects([
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: 'ns1', name: 'svc1' },
      spec: {
        type: 'LoadBalancer',
        clusterIP: '172.30.0.041',
        ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 30001 }],
        externalIPs: ['192.168.099.022'],
        loadBalancerSourceRanges: ['203.0.113.000/025'],
      },
      status: { loadBalancer: { ingress: [{ ip: '1.2.3.004' }] } },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: 'ns1', name: 'svc1-1', labels: { 'kubernetes.io/service-name': 'svc1' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.180.00.001'] }],
      ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
    },
  ]);
  // the fake proxier's node port 3001 is outside the API's range the loader enforces: 30001 in the manifest
  for (const s of objects.services) s.ports = s.ports.map((p) => ({ ...p, nodePort: p.nodePort - 27000 }));
  const r = renderDetailed({
    backend: 'iptables',
    objects,
    nodeName: UPSTREAM_NODE.nodeName,
    nodeIPs: [...UPSTREAM_NODE.nodeIPs],
    clusterCIDR: UPSTREAM_NODE.clusterCIDR,
    backendOptions: { randomFully: false, nfacct: true, localhostNodePorts: true },
  });
  const restore = (r.backend as IptablesBackend).lastRestoreInput().replaceAll('0x00004000', '0x4000');
  assert.equal(sortIPTablesRules(restore), sortIPTablesRules(fixture('upstream-TestBadIPs.txt')));
});

test('truly bad addresses stay one-line input errors', () => {
  const bad: Array<[unknown, RegExp]> = [
    [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { clusterIP: '172.30.0.256', ports: [{ port: 80 }] } },
      /spec\.clusterIP.*must be an IP address/,
    ],
    [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { externalIPs: ['1.2.3'], ports: [{ port: 80 }] } },
      /spec\.externalIPs\[0\].*must be an IP address/,
    ],
    [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's' },
        spec: { loadBalancerSourceRanges: ['10.0.0.0/33'], ports: [{ port: 80 }] },
      },
      /loadBalancerSourceRanges\[0\].*CIDR/,
    ],
    [
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'e', labels: { 'kubernetes.io/service-name': 's' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.0.0.0300'] }],
      },
      /endpoints\[0\]\.addresses\[0\].*IPv4 address/,
    ],
  ];
  for (const [obj, re] of bad) {
    assert.throws(
      () => loadObjects([obj], 'x.yaml'),
      (e: unknown) => e instanceof InputError && re.test(e.message) && !e.message.includes('\n'),
    );
  }
});
