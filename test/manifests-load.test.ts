import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { effectiveSlices, formatPath, loadManifests, loadObjects, parseManifests } from '../src/cluster/manifests.js';
import { InputError } from '../src/errors.js';
import { buildSnapshot } from '../src/proxy/snapshot.js';

const FIX = 'test/fixtures/manifests';

function parse(text: string, file = 'x.yaml') {
  return parseManifests([{ file, text }]);
}

/** The one-line message of the InputError `fn` throws. */
function inputError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `message is one line: ${e.message}`);
    return e.message;
  }
  assert.fail('expected an InputError');
}

test('a ClusterIP service with two named ports and its slice, with API defaults', () => {
  const m = loadManifests([`${FIX}/clusterip-multiport.yaml`]);
  assert.equal(m.services.length, 1);
  const svc = m.services[0]!;
  assert.deepEqual(
    { ns: svc.namespace, name: svc.name, type: svc.type, ip: svc.clusterIP, sel: svc.selector, labels: svc.labels },
    { ns: 'shop', name: 'web', type: 'ClusterIP', ip: '10.96.10.1', sel: { app: 'web' }, labels: { app: 'web' } },
  );
  assert.deepEqual(svc.ports, [
    { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 0 },
    { name: 'https', protocol: 'TCP', port: 443, targetPort: 'https-port', nodePort: 0 },
  ]);
  assert.equal(svc.externalTrafficPolicy, 'Cluster');
  assert.equal(svc.internalTrafficPolicy, 'Cluster');
  assert.equal(svc.sessionAffinity, 'None');
  assert.equal(svc.sessionAffinityTimeoutSeconds, 10800);
  const slice = m.slices[0]!;
  assert.equal(slice.serviceName, 'web');
  assert.equal(slice.addressType, 'IPv4');
  assert.deepEqual(slice.ports, [
    { name: 'http', protocol: 'TCP', port: 8080 },
    { name: 'https', protocol: 'TCP', port: 8443 },
  ]);
  assert.deepEqual(
    slice.endpoints.map((e) => [e.addresses[0], e.conditions, e.nodeName, e.zone, e.podName]),
    [
      ['10.244.1.11', { ready: true, serving: true, terminating: false }, 'node1', 'zone-a', 'web-0'],
      ['10.244.2.12', { ready: true, serving: true, terminating: false }, 'node2', '', 'web-1'],
      ['10.244.3.13', { ready: true, serving: true, terminating: false }, 'node3', '', 'web-2'],
    ],
  );
  const snap = buildSnapshot(m.services, m.slices, 'node1');
  assert.deepEqual([...snap.services.keys()], ['shop/web:http', 'shop/web:https']);
  assert.deepEqual(
    snap.endpoints.get('shop/web:https')!.map((e) => `${e.ip}:${e.port}:${e.isLocal}`),
    ['10.244.1.11:8443:true', '10.244.2.12:8443:false', '10.244.3.13:8443:false'],
  );
});

test('endpoint conditions default as the API says: ready true, serving = ready, terminating false', () => {
  const m = parse(`
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s-1, labels: {kubernetes.io/service-name: s}}
addressType: IPv4
ports: [{port: 80}, {name: x, protocol: UDP, port: 53}, {name: all-ports}]
endpoints:
  - addresses: [10.0.0.1]
  - addresses: [10.0.0.2]
    conditions: {ready: false}
  - addresses: [10.0.0.3]
    conditions: {ready: false, terminating: true}
  - addresses: [10.0.0.4]
    conditions: {ready: null, serving: false, terminating: null}
`);
  const s = m.slices[0]!;
  assert.equal(s.namespace, 'default');
  assert.deepEqual(s.ports, [
    { name: '', protocol: 'TCP', port: 80 },
    { name: 'x', protocol: 'UDP', port: 53 },
  ]);
  assert.deepEqual(
    s.endpoints.map((e) => e.conditions),
    [
      { ready: true, serving: true, terminating: false },
      { ready: false, serving: false, terminating: false },
      { ready: false, serving: false, terminating: true },
      { ready: true, serving: false, terminating: false },
    ],
  );
});

test('NodePort: fixed node ports kept, missing ones allocated from 30000 avoiding used ones', () => {
  const m = loadManifests([`${FIX}/nodeport.yaml`]);
  assert.deepEqual(
    m.services[0]!.ports.map((p) => [p.name, p.protocol, p.nodePort]),
    [
      ['dns-tcp', 'TCP', 30053],
      ['dns-udp', 'UDP', 30000],
    ],
  );
  const m2 = parse(`
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {type: NodePort, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {type: NodePort, ports: [{port: 80, nodePort: 30000}]}
`);
  // the fixed 30000 is claimed before anything is allocated
  assert.deepEqual(
    m2.services.map((s) => s.ports[0]!.nodePort),
    [30001, 30000],
  );
  // cluster IPs allocated from 10.96.0.0/12 like the Cluster model does (offset 11 on)
  assert.deepEqual(
    m2.services.map((s) => s.clusterIP),
    ['10.96.0.11', '10.96.0.12'],
  );
});

test('LoadBalancer: source ranges trimmed, ingress IP from status, ETP Local, health check node port', () => {
  const m = loadManifests([`${FIX}/loadbalancer-local.yaml`]);
  const svc = m.services[0]!;
  assert.equal(svc.type, 'LoadBalancer');
  assert.deepEqual(svc.loadBalancerSourceRanges, ['203.0.113.0/24', '198.51.100.0/25']);
  assert.deepEqual(svc.loadBalancerIngressIPs, ['198.18.0.10']);
  assert.equal(svc.externalTrafficPolicy, 'Local');
  assert.equal(svc.healthCheckNodePort, 32100);
  assert.equal(svc.ports[0]!.nodePort, 31443);
  const m2 = parse(`
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  allocateLoadBalancerNodePorts: false
  ports: [{port: 443}]
`);
  assert.equal(m2.services[0]!.ports[0]!.nodePort, 0, 'allocateLoadBalancerNodePorts: false');
  assert.equal(m2.services[0]!.healthCheckNodePort, 30000, 'allocated for ETP Local');
});

test('ClientIP affinity timeout; unnamed single port', () => {
  const m = loadManifests([`${FIX}/affinity.yaml`]);
  const svc = m.services[0]!;
  assert.equal(svc.sessionAffinity, 'ClientIP');
  assert.equal(svc.sessionAffinityTimeoutSeconds, 600);
  assert.deepEqual(svc.ports, [{ name: '', protocol: 'TCP', port: 8080, targetPort: 8080, nodePort: 0 }]);
  const d = parse('apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {sessionAffinity: ClientIP, ports: [{port: 1}]}');
  assert.equal(d.services[0]!.sessionAffinityTimeoutSeconds, 10800);
});

test('headless and ExternalName services load but produce no service ports', () => {
  const m = loadManifests([`${FIX}/headless-externalname.yaml`]);
  assert.deepEqual(
    m.services.map((s) => [s.name, s.type, s.clusterIP, s.externalName]),
    [
      ['db', 'ClusterIP', 'None', ''],
      ['search', 'ExternalName', '', 'search.example.com'],
    ],
  );
  assert.deepEqual(
    m.slices[0]!.endpoints.map((e) => e.hostname),
    ['db-0', 'db-1'],
  );
  assert.equal(buildSnapshot(m.services, m.slices, 'node1').services.size, 0);
});

test('kind: List as kubectl get -o json prints it; unknown kinds are skipped and listed', () => {
  const m = loadManifests([`${FIX}/list.json`]);
  assert.equal(m.services.length, 1);
  assert.equal(m.slices.length, 1);
  assert.deepEqual(
    m.services[0]!.ports.map((p) => p.targetPort),
    [9090, 'push'],
  );
  assert.deepEqual(m.skipped, [
    {
      file: `${FIX}/list.json`,
      where: 'document 1 items[2]',
      kind: 'ConfigMap',
      name: 'monitoring/metrics-config',
      reason: 'kind not modelled',
    },
  ]);
  // the not-ready endpoint stays in the slice (kube-proxy decides what to do with it)
  assert.deepEqual(
    m.slices[0]!.endpoints.map((e) => e.conditions.ready),
    [true, false],
  );
});

test('typed lists (ServiceList) whose items carry no kind', () => {
  const m = loadObjects([{ apiVersion: 'v1', kind: 'ServiceList', items: [{ metadata: { name: 'a' }, spec: { ports: [{ port: 80 }] } }] }]);
  assert.deepEqual(
    m.services.map((s) => s.name),
    ['a'],
  );
});

test('multi-document YAML with Node, Pods, Ingress and skipped kinds; slices derived from pods', () => {
  const m = loadManifests([`${FIX}/multidoc.yaml`]);
  assert.deepEqual(m.nodes, [{ name: 'node1', ips: ['192.168.0.2'], podCIDR: '10.244.1.0/24', zone: 'zone-a' }]);
  assert.deepEqual(
    m.pods.map((p) => [p.namespace, p.name, p.ip, p.nodeName, p.phase, p.ready, p.terminating, p.containerPorts]),
    [
      ['default', 'frontend-a', '10.244.1.71', 'node1', 'Running', true, false, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]],
      ['default', 'frontend-b', '10.244.2.72', 'node2', 'Running', false, false, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]],
    ],
  );
  assert.deepEqual(m.ingresses, [
    {
      namespace: 'default',
      name: 'frontend',
      ingressClassName: 'nginx',
      rules: [{ host: 'shop.example.com', paths: [{ path: '/', pathType: 'Prefix', serviceName: 'frontend', servicePort: 'http' }] }],
    },
  ]);
  assert.deepEqual(
    m.skipped.map((s) => [s.where, s.kind, s.name]),
    [
      ['document 6', 'Deployment', 'frontend'],
      ['document 8', 'ServiceAccount', 'frontend'],
    ],
  );
  assert.equal(m.slices.length, 0);
  // the EndpointSlice controller's view: only the ready pod, its named port resolved to 8080
  const slices = effectiveSlices(m);
  assert.equal(slices.length, 1);
  assert.deepEqual(slices[0]!.ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
  assert.deepEqual(
    slices[0]!.endpoints.map((e) => [e.addresses[0], e.nodeName, e.zone, e.podName]),
    [['10.244.1.71', 'node1', 'zone-a', 'frontend-a']],
  );
});

test('a pod written by hand (no status) is Running and Ready; deletionTimestamp means terminating', () => {
  const m = parse(`
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns, labels: {a: b}}
spec: {containers: [{name: c, ports: [{containerPort: 80, protocol: UDP}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: q, deletionTimestamp: "2025-01-01T00:00:00Z"}
status:
  phase: Running
  podIPs: [{ip: "fd00::1"}, {ip: 10.1.2.3}]
  conditions: [{type: Ready, status: "True"}]
`);
  assert.deepEqual(
    m.pods.map((p) => [p.name, p.phase, p.ready, p.ip, p.terminating, p.labels, p.containerPorts]),
    [
      ['p', 'Running', true, '', false, { a: 'b' }, [{ name: '', containerPort: 80, protocol: 'UDP' }]],
      ['q', 'Running', true, '10.1.2.3', true, {}, []],
    ],
  );
});

test('dual stack: the IPv4 cluster IP is taken; IPv6-only services are skipped', () => {
  const m = parse(`
apiVersion: v1
kind: Service
metadata: {name: ds}
spec: {clusterIP: "fd00::10", clusterIPs: ["fd00::10", 10.96.0.77], externalIPs: ["fd00::1", 1.2.3.4], ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: v6}
spec: {clusterIPs: ["fd00::11"], ports: [{port: 80}]}
`);
  assert.deepEqual(
    m.services.map((s) => [s.name, s.clusterIP, s.externalIPs]),
    [['ds', '10.96.0.77', ['1.2.3.4']]],
  );
  assert.deepEqual(
    m.skipped.map((s) => [s.kind, s.name, s.reason.split(' (')[0]]),
    [['Service', 'default/v6', 'IPv6-only service']],
  );
});

test('Ingress defaultBackend and the class annotation', () => {
  const m = parse(`
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i, namespace: n, annotations: {kubernetes.io/ingress.class: traefik}}
spec:
  defaultBackend: {service: {name: fallback, port: {number: 8080}}}
  rules:
    - http:
        paths:
          - {path: /api, pathType: Exact, backend: {service: {name: api, port: {number: 80}}}}
          - {path: /static, pathType: Prefix, backend: {resource: {apiGroup: k8s.example.com, kind: Bucket, name: b}}}
`);
  assert.deepEqual(m.ingresses[0], {
    namespace: 'n',
    name: 'i',
    ingressClassName: 'traefik',
    rules: [
      { host: '', paths: [{ path: '/api', pathType: 'Exact', serviceName: 'api', servicePort: 80 }] },
      { host: '', paths: [{ path: '', pathType: 'ImplementationSpecific', serviceName: 'fallback', servicePort: 8080 }] },
    ],
  });
});

test('a directory loads its manifest files in name order', () => {
  const m = loadManifests([FIX]);
  assert.deepEqual(m.services.map((s) => `${s.namespace}/${s.name}`).sort(), [
    'data/db',
    'data/search',
    'default/frontend',
    'infra/dns-cache',
    'monitoring/metrics',
    'prod/api',
    'shop/cart',
    'shop/web',
  ]);
});

// ------------------------------------------------------------------------------------------
// Errors: one line naming the file, the object, the field and the reason
// ------------------------------------------------------------------------------------------

test('bad manifests: one line with file, object, field path and reason', () => {
  const bad = `${FIX}/bad`;
  assert.equal(
    inputError(() => loadManifests([`${bad}/port-out-of-range.yaml`])),
    `${bad}/port-out-of-range.yaml: Service shop/broken: spec.ports[1].port: must be an integer from 1 to 65535 (got 70000)`,
  );
  assert.equal(
    inputError(() => loadManifests([`${bad}/port-not-numeric.yaml`])),
    `${bad}/port-not-numeric.yaml: Service default/broken: spec.ports[0].port: must be an integer from 1 to 65535 (got "eighty")`,
  );
  assert.equal(
    inputError(() => loadManifests([`${bad}/no-name.yaml`])),
    `${bad}/no-name.yaml: document 2 (Service): metadata.name: required`,
  );
  assert.equal(
    inputError(() => loadManifests([`${bad}/slice-no-service-label.yaml`])),
    `${bad}/slice-no-service-label.yaml: EndpointSlice shop/orphan-1: metadata.labels["kubernetes.io/service-name"]: required: the label naming the slice's Service`,
  );
  assert.match(
    inputError(() => loadManifests([`${bad}/syntax.yaml`])),
    /^test\/fixtures\/manifests\/bad\/syntax\.yaml: document 1: YAML syntax error at line \d+, column \d+: /,
  );
  assert.equal(
    inputError(() => loadManifests([`${bad}/syntax.json`])),
    `${bad}/syntax.json: JSON syntax error at line 2, column 33: Expected double-quoted property name`,
  );
  assert.equal(
    inputError(() => loadManifests(['no/such/file.yaml'])),
    'no/such/file.yaml: no such file',
  );
});

test('more validation: names, types, enums, IPs, CIDRs, duplicates, required fields', () => {
  const svc = (spec: string, meta = '{name: s}') => `apiVersion: v1\nkind: Service\nmetadata: ${meta}\nspec: ${spec}\n`;
  const cases: [string, string][] = [
    [svc('{ports: [{port: 80.5}]}'), 'x.yaml: Service default/s: spec.ports[0].port: must be an integer from 1 to 65535 (got 80.5)'],
    [svc('{ports: [{port: "80"}]}'), 'x.yaml: Service default/s: spec.ports[0].port: must be an integer from 1 to 65535 (got "80")'],
    [
      svc('{ports: [{port: 80, protocol: tcp}]}'),
      'x.yaml: Service default/s: spec.ports[0].protocol: must be one of TCP, UDP, SCTP (got "tcp")',
    ],
    [
      svc('{ports: [{port: 80, nodePort: 70000}]}'),
      'x.yaml: Service default/s: spec.ports[0].nodePort: must be an integer from 0 to 65535 (got 70000)',
    ],
    [
      svc('{ports: [{port: 80}, {port: 81}]}'),
      'x.yaml: Service default/s: spec.ports[0].name: required when a service has more than one port',
    ],
    [
      svc('{ports: [{name: a, port: 80}, {name: a, port: 81}]}'),
      'x.yaml: Service default/s: spec.ports[1].name: duplicate port name "a" (also spec.ports[0])',
    ],
    [
      svc('{ports: [{name: a, port: 80}, {name: b, port: 80}]}'),
      'x.yaml: Service default/s: spec.ports[1]: duplicate port 80/TCP (also spec.ports[0])',
    ],
    [svc('{}'), 'x.yaml: Service default/s: spec.ports: required: a service needs at least one port'],
    [svc('{type: ExternalName}'), 'x.yaml: Service default/s: spec.externalName: required for a service of type ExternalName'],
    [
      svc('{clusterIP: 10.96.0.300, ports: [{port: 1}]}'),
      'x.yaml: Service default/s: spec.clusterIP: must be an IP address, "None" or "" (got "10.96.0.300")',
    ],
    [
      svc('{externalIPs: [nope], ports: [{port: 1}]}'),
      'x.yaml: Service default/s: spec.externalIPs[0]: must be an IP address (got "nope")',
    ],
    [
      svc('{loadBalancerSourceRanges: [10.0.0.0/33], ports: [{port: 1}]}'),
      'x.yaml: Service default/s: spec.loadBalancerSourceRanges[0]: must be a CIDR such as 203.0.113.0/24 (got "10.0.0.0/33")',
    ],
    [
      svc('{externalTrafficPolicy: Global, ports: [{port: 1}]}'),
      'x.yaml: Service default/s: spec.externalTrafficPolicy: must be one of Cluster, Local (got "Global")',
    ],
    [
      svc('{sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}, ports: [{port: 1}]}'),
      'x.yaml: Service default/s: spec.sessionAffinityConfig.clientIP.timeoutSeconds: must be an integer from 1 to 86400 (got 0)',
    ],
    [
      svc('{ports: [{port: 1}]}', '{name: s, labels: {enabled: true}}'),
      'x.yaml: Service default/s: metadata.labels.enabled: must be a string (got true; quote it in YAML)',
    ],
    [
      svc('{ports: [{port: 1}]}', '{name: S}'),
      `x.yaml: Service default/S: metadata.name: "S" is not a valid Service name (a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, at most 63)`,
    ],
    [
      svc('{ports: [{port: 1}]}', '{name: s, namespace: Bad_NS}'),
      'x.yaml: Service Bad_NS/s: metadata.namespace: "Bad_NS" is not a valid namespace (a DNS-1123 label)',
    ],
    [svc('[1]'), 'x.yaml: Service default/s: spec: must be a mapping (got [1])'],
    ['kind: Service\nmetadata: {name: s}\n', 'x.yaml: Service default/s: apiVersion: required (v1 for a Service)'],
    [
      'apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: i}\n',
      'x.yaml: Ingress default/i: apiVersion: "networking.k8s.io/v1beta1" is not supported for a Ingress; expected networking.k8s.io/v1',
    ],
    ['apiVersion: v1\nmetadata: {name: s}\n', 'x.yaml: document 1: kind: required (not a Kubernetes object)'],
    ['just a string\n', 'x.yaml: document 1: not a Kubernetes object (expected a mapping with apiVersion and kind, got "just a string")'],
    [
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, labels: {kubernetes.io/service-name: s}}\naddressType: IPv4\nendpoints: [{addresses: ["fd00::1"]}]\n',
      'x.yaml: EndpointSlice default/e: endpoints[0].addresses[0]: must be an IPv4 address for addressType IPv4 (got "fd00::1")',
    ],
    [
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, labels: {kubernetes.io/service-name: s}}\nendpoints: []\n',
      'x.yaml: EndpointSlice default/e: addressType: must be one of IPv4, IPv6, FQDN (got nothing)',
    ],
    [
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, labels: {kubernetes.io/service-name: s}}\naddressType: IPv4\nendpoints: [{addresses: []}]\n',
      'x.yaml: EndpointSlice default/e: endpoints[0].addresses: must hold at least one address',
    ],
    [
      'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {rules: [{http: {paths: [{path: /, backend: {service: {name: a, port: {}}}}]}}]}\n',
      'x.yaml: Ingress default/i: spec.rules[0].http.paths[0].backend.service.port: must have exactly one of number and name',
    ],
    [
      svc('{ports: [{port: 1}]}') + '---\n' + svc('{ports: [{port: 2}]}'),
      'x.yaml: Service default/s: defined twice (first in x.yaml: document 1)',
    ],
    [
      svc('{clusterIP: 10.96.0.5, ports: [{port: 1}]}') + '---\n' + svc('{clusterIP: 10.96.0.5, ports: [{port: 2}]}', '{name: t}'),
      'x.yaml: Service default/t: spec.clusterIP: 10.96.0.5 is already the cluster IP of Service default/s',
    ],
    [
      'a: [1, 2\n',
      'x.yaml: document 1: YAML syntax error at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
    ['a: 1\na: 2\n', 'x.yaml: document 1: a: duplicate key (line 2)'],
  ];
  for (const [text, want] of cases)
    assert.equal(
      inputError(() => parse(text)),
      want,
      text,
    );
});

test('several problems in one object: the first is named, the rest counted', () => {
  const msg = inputError(() => parse('apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: Foo, ports: [{port: 0}]}\n'));
  assert.equal(
    msg,
    'x.yaml: Service default/s: spec.type: must be one of ClusterIP, NodePort, LoadBalancer, ExternalName (got "Foo") (and 1 more problem)',
  );
});

test('standard input and directories: a directory without manifests is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpbench-manifests-'));
  try {
    assert.equal(
      inputError(() => loadManifests([dir])),
      `${dir}: directory holds no *.yaml, *.yml or *.json file`,
    );
    writeFileSync(join(dir, 'b.yml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: [{port: 1}]}\n');
    writeFileSync(
      join(dir, 'a.json'),
      '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"ports": [{"port": 1}]}}',
    );
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    assert.deepEqual(
      loadManifests([dir]).services.map((s) => s.name),
      ['a', 'b'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('formatPath', () => {
  assert.equal(formatPath(['spec', 'ports', 0, 'port']), 'spec.ports[0].port');
  assert.equal(formatPath(['metadata', 'labels', 'app.kubernetes.io/name']), 'metadata.labels["app.kubernetes.io/name"]');
  assert.equal(formatPath([]), '');
});
