import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/cluster/cluster.js';
import { EndpointsController } from '../src/cluster/endpoints.js';
import { ClusterDns } from '../src/cluster/dns.js';

/** The user's notes: namespace svc-test with a normal service (config-manager) and a headless one (common-etcd). */
function notesCluster() {
  const cluster = new Cluster();
  const eps = new EndpointsController(cluster);
  for (const n of ['host1', 'host2', 'host3']) cluster.addNode(n);
  cluster.addService({
    namespace: 'svc-test',
    name: 'config-manager',
    clusterIP: '10.103.164.93',
    selector: { app: 'config-manager' },
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 8085, nodePort: 0 }],
  });
  cluster.addService({
    namespace: 'svc-test',
    name: 'common-etcd',
    clusterIP: 'None',
    selector: { app: 'common-etcd' },
    ports: [
      { name: 'peer', protocol: 'TCP', port: 2380, targetPort: 2380, nodePort: 0 },
      { name: 'client', protocol: 'TCP', port: 2379, targetPort: 2379, nodePort: 0 },
    ],
  });
  cluster.addPod({
    namespace: 'svc-test',
    name: 'config-manager-7d9c-abcde',
    labels: { app: 'config-manager' },
    nodeName: 'host1',
    ip: '172.30.2.183',
  });
  cluster.addPod({
    namespace: 'svc-test',
    name: 'config-manager-7d9c-fghij',
    labels: { app: 'config-manager' },
    nodeName: 'host2',
    ip: '172.30.2.47',
  });
  // a StatefulSet's pods: hostname = pod name, subdomain = the governing headless service
  const etcd: Array<[string, string, string]> = [
    ['common-etcd-0', 'host1', '172.30.2.213'],
    ['common-etcd-1', 'host2', '172.30.0.73'],
    ['common-etcd-2', 'host3', '172.30.1.216'],
  ];
  for (const [name, node, ip] of etcd) {
    cluster.addPod({
      namespace: 'svc-test',
      name,
      labels: { app: 'common-etcd' },
      nodeName: node,
      ip,
      hostname: name,
      subdomain: 'common-etcd',
    });
  }
  return { cluster, eps, dns: new ClusterDns(cluster, eps) };
}

test('normal service: the FQDN answers the VIP only (notes: config-manager → 10.103.164.93)', () => {
  const { dns } = notesCluster();
  assert.deepEqual(dns.resolve('config-manager.svc-test.svc.cluster.local'), {
    rcode: 'NOERROR',
    answers: [{ type: 'A', name: 'config-manager.svc-test.svc.cluster.local', ip: '10.103.164.93' }],
  });
  // trailing dot and case do not matter
  assert.deepEqual(
    dns.resolve('Config-Manager.SVC-TEST.svc.cluster.local.').answers.map((a) => a.type === 'A' && a.ip),
    ['10.103.164.93'],
  );
});

test('headless service: one A per ready pod, sorted (notes: common-etcd → 3 pod IPs)', () => {
  const { dns } = notesCluster();
  const name = 'common-etcd.svc-test.svc.cluster.local';
  assert.deepEqual(dns.resolve(name), {
    rcode: 'NOERROR',
    answers: [
      { type: 'A', name, ip: '172.30.0.73' },
      { type: 'A', name, ip: '172.30.1.216' },
      { type: 'A', name, ip: '172.30.2.213' },
    ],
  });
});

test('headless service: <hostname>.<svc>.<ns>.svc.<zone> answers one pod (notes: common-etcd-0)', () => {
  const { dns } = notesCluster();
  const name = 'common-etcd-0.common-etcd.svc-test.svc.cluster.local';
  assert.deepEqual(dns.resolve(name), { rcode: 'NOERROR', answers: [{ type: 'A', name, ip: '172.30.2.213' }] });
  assert.equal(dns.resolve('common-etcd-9.common-etcd.svc-test.svc.cluster.local').rcode, 'NXDOMAIN');
  // a normal service has no per-endpoint records
  assert.equal(dns.resolve('config-manager-7d9c-abcde.config-manager.svc-test.svc.cluster.local').rcode, 'NXDOMAIN');
});

test('headless endpoint without a hostname is named by its dashed address', () => {
  const { cluster, dns } = notesCluster();
  cluster.addPod({ namespace: 'svc-test', name: 'etcd-extra', labels: { app: 'common-etcd' }, nodeName: 'host1', ip: '172.30.2.9' });
  const name = '172-30-2-9.common-etcd.svc-test.svc.cluster.local';
  assert.deepEqual(dns.resolve(name), { rcode: 'NOERROR', answers: [{ type: 'A', name, ip: '172.30.2.9' }] });
});

test('not-ready and terminating pods leave the headless answer; publishNotReadyAddresses keeps them', () => {
  const { cluster, dns } = notesCluster();
  cluster.updatePod('svc-test', 'common-etcd-1', { ready: false });
  cluster.updatePod('svc-test', 'common-etcd-2', { terminating: true });
  const ips = () => dns.resolve('common-etcd.svc-test.svc.cluster.local').answers.map((a) => (a.type === 'A' ? a.ip : ''));
  assert.deepEqual(ips(), ['172.30.2.213']);
  assert.equal(dns.resolve('common-etcd-1.common-etcd.svc-test.svc.cluster.local').rcode, 'NXDOMAIN');

  cluster.updateService('svc-test', 'common-etcd', { publishNotReadyAddresses: true });
  assert.deepEqual(ips(), ['172.30.0.73', '172.30.1.216', '172.30.2.213']);
  assert.equal(dns.resolve('common-etcd-1.common-etcd.svc-test.svc.cluster.local').rcode, 'NOERROR');
});

test('headless service with no ready endpoint answers NXDOMAIN (spec §2.4.1)', () => {
  const { cluster, dns } = notesCluster();
  for (const n of ['common-etcd-0', 'common-etcd-1', 'common-etcd-2']) cluster.updatePod('svc-test', n, { ready: false });
  assert.deepEqual(dns.resolve('common-etcd.svc-test.svc.cluster.local'), { rcode: 'NXDOMAIN', answers: [] });
});

test('ExternalName: a CNAME to the external name; an in-cluster target is followed', () => {
  const { cluster, dns } = notesCluster();
  cluster.addService({ namespace: 'svc-test', name: 'db', type: 'ExternalName', externalName: 'db.example.com' });
  assert.deepEqual(dns.resolve('db.svc-test.svc.cluster.local'), {
    rcode: 'NOERROR',
    answers: [{ type: 'CNAME', name: 'db.svc-test.svc.cluster.local', target: 'db.example.com' }],
  });
  cluster.addService({ namespace: 'other', name: 'cfg', type: 'ExternalName', externalName: 'config-manager.svc-test.svc.cluster.local' });
  assert.deepEqual(dns.resolve('cfg.other.svc.cluster.local').answers, [
    { type: 'CNAME', name: 'cfg.other.svc.cluster.local', target: 'config-manager.svc-test.svc.cluster.local' },
    { type: 'A', name: 'config-manager.svc-test.svc.cluster.local', ip: '10.103.164.93' },
  ]);
});

test('unknown names answer NXDOMAIN', () => {
  const { dns } = notesCluster();
  for (const q of [
    'nope.svc-test.svc.cluster.local',
    'config-manager.other-ns.svc.cluster.local',
    'svc-test.svc.cluster.local',
    'config-manager.svc-test.svc.example.org',
    'www.example.com',
    'a.b.config-manager.svc-test.svc.cluster.local',
    '',
  ]) {
    assert.deepEqual(dns.resolve(q), { rcode: 'NXDOMAIN', answers: [] }, q);
  }
});

test('pod A records <a-b-c-d>.<ns>.pod.<zone> (spec §2.6): insecure answers any address, verified checks the pod', () => {
  const { cluster, eps, dns } = notesCluster();
  const q = '172-30-2-213.svc-test.pod.cluster.local';
  assert.deepEqual(dns.resolve(q), { rcode: 'NOERROR', answers: [{ type: 'A', name: q, ip: '172.30.2.213' }] });
  assert.equal(dns.resolve('1-2-3-4.anything.pod.cluster.local').rcode, 'NOERROR');
  assert.equal(dns.resolve('1-2-3-999.anything.pod.cluster.local').rcode, 'NXDOMAIN');

  const verified = new ClusterDns(cluster, eps, { pods: 'verified' });
  assert.equal(verified.resolve(q).rcode, 'NOERROR');
  assert.equal(verified.resolve('172-30-2-213.default.pod.cluster.local').rcode, 'NXDOMAIN');
  assert.equal(verified.resolve('1-2-3-4.svc-test.pod.cluster.local').rcode, 'NXDOMAIN');
  cluster.deletePod('svc-test', 'common-etcd-0');
  assert.equal(verified.resolve(q).rcode, 'NXDOMAIN');

  const off = new ClusterDns(cluster, eps, { pods: 'disabled' });
  assert.equal(off.resolve('172-30-2-183.svc-test.pod.cluster.local').rcode, 'NXDOMAIN');
});

test('short names use the search path of a pod in the namespace', () => {
  const { cluster, dns } = notesCluster();
  assert.deepEqual(dns.searchPath('svc-test'), ['svc-test.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
  const fq = 'config-manager.svc-test.svc.cluster.local';
  for (const q of ['config-manager', 'config-manager.svc-test', 'config-manager.svc-test.svc']) {
    assert.deepEqual(dns.resolve(q, 'svc-test'), { rcode: 'NOERROR', answers: [{ type: 'A', name: fq, ip: '10.103.164.93' }] }, q);
  }
  // from another namespace, the bare name is not found but <svc>.<ns> is
  cluster.addNamespace('web');
  assert.equal(dns.resolve('config-manager', 'web').rcode, 'NXDOMAIN');
  assert.equal(dns.resolve('config-manager.svc-test', 'web').rcode, 'NOERROR');
  // without a search namespace a short name is absolute
  assert.equal(dns.resolve('config-manager.svc-test').rcode, 'NXDOMAIN');
  // a bare name in the pod's own namespace wins over the same name elsewhere
  cluster.addService({ namespace: 'web', name: 'config-manager', clusterIP: '10.96.0.50', selector: { app: 'x' } });
  assert.deepEqual(dns.resolve('config-manager', 'web').answers, [
    { type: 'A', name: 'config-manager.web.svc.cluster.local', ip: '10.96.0.50' },
  ]);
  // a name ending in '.' is never searched
  assert.equal(dns.resolve('config-manager.svc-test.', 'web').rcode, 'NXDOMAIN');
  // ndots: 5 → a name with fewer dots tries the search domains first
  assert.deepEqual(dns.candidates('a.b', 'ns1'), ['a.b.ns1.svc.cluster.local', 'a.b.svc.cluster.local', 'a.b.cluster.local', 'a.b']);
  assert.deepEqual(dns.candidates('a.b.c.d.e.f', 'ns1')[0], 'a.b.c.d.e.f');
  // hostname records through the search path
  assert.deepEqual(dns.resolve('common-etcd-0.common-etcd', 'svc-test').answers, [
    { type: 'A', name: 'common-etcd-0.common-etcd.svc-test.svc.cluster.local', ip: '172.30.2.213' },
  ]);
});

test('a custom cluster domain', () => {
  const cluster = new Cluster();
  const eps = new EndpointsController(cluster);
  cluster.addService({ namespace: 'default', name: 'web', clusterIP: '10.96.0.20', selector: { app: 'web' } });
  const dns = new ClusterDns(cluster, eps, { domain: 'corp.internal' });
  assert.equal(dns.resolve('web.default.svc.corp.internal').rcode, 'NOERROR');
  assert.equal(dns.resolve('web.default.svc.cluster.local').rcode, 'NXDOMAIN');
  assert.equal(dns.resolve('web', 'default').answers[0]?.name, 'web.default.svc.corp.internal');
});

test('SRV: _<port>._<proto> of a normal service points at the service; of a headless one at each ready endpoint', () => {
  const { dns } = notesCluster();
  assert.deepEqual(
    dns.resolveSrv('_client._tcp.common-etcd.svc-test.svc.cluster.local').answers.map((r) => `${r.port} ${r.target}`),
    [
      '2379 common-etcd-0.common-etcd.svc-test.svc.cluster.local',
      '2379 common-etcd-1.common-etcd.svc-test.svc.cluster.local',
      '2379 common-etcd-2.common-etcd.svc-test.svc.cluster.local',
    ],
  );
  // unnamed ports have no SRV record
  assert.equal(dns.resolveSrv('_._tcp.config-manager.svc-test.svc.cluster.local').rcode, 'NXDOMAIN');
  assert.equal(dns.resolveSrv('_peer._udp.common-etcd.svc-test.svc.cluster.local').rcode, 'NXDOMAIN');
  assert.deepEqual(dns.resolveSrv('_peer._tcp.common-etcd', 'svc-test').answers.length, 3);
});
