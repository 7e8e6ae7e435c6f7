/**
 * Manifests in, rendered rulesets out, end to end: what the manifests decide (which chains exist, their names as
 * kube-proxy hashes "namespace/name:port" + protocol, rule counts, endpoints, probabilities, affinity, node ports,
 * firewall and local-traffic chains, IPVS virtual servers and ipsets). The backends' own tests pin whole rulesets;
 * these pin the manifest path. test/realtool-iptables.test.ts loads the same renderings into the real tools.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash16 } from './fixtures/iptables.js';
import { loadManifests, loadObjects } from '../src/cluster/manifests.js';
import {
  DEFAULT_NODE_IP,
  describeSkipped,
  renderDetailed,
  renderManifests,
  resolveNodeConfig,
  selectOutput,
  type RenderOptions,
} from '../src/proxy/render.js';
import { InputError } from '../src/errors.js';
import type { IptablesBackend } from '../src/backends/iptables/index.js';

const FIX = 'test/fixtures/manifests';

function render(file: string, o: Omit<RenderOptions, 'objects' | 'backend'> & { backend?: 'iptables' | 'ipvs' } = {}) {
  return renderManifests({ backend: 'iptables', ...o, objects: loadManifests([`${FIX}/${file}`]) });
}

const svcChain = (prefix: string, key: string, proto: string) => `${prefix}-${hash16(key + proto)}`;
const sepChain = (key: string, proto: string, ep: string) => `KUBE-SEP-${hash16(key + proto + ep)}`;

/** Rules of a chain in a table of iptables-save text. */
function rules(text: string, table: string, chain: string): string[] {
  const body = text.split(/^\*/m).find((t) => t.startsWith(`${table}\n`)) ?? '';
  return body.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
}

/** Declared chains of a table with a prefix. */
function chains(text: string, table: string, prefix: string): string[] {
  const body = text.split(/^\*/m).find((t) => t.startsWith(`${table}\n`)) ?? '';
  return body
    .split('\n')
    .filter((l) => l.startsWith(`:${prefix}`))
    .map((l) => l.slice(1).split(' ')[0]!);
}

test('ClusterIP, two named ports, three endpoints: chains named by namespace/name:port, 1/3 then 1/2 probabilities', () => {
  const ipt = render('clusterip-multiport.yaml')['iptables-save']!;
  const http = svcChain('KUBE-SVC', 'shop/web:http', 'tcp');
  const https = svcChain('KUBE-SVC', 'shop/web:https', 'tcp');
  assert.deepEqual(http, 'KUBE-SVC-67NZLRHBNDSAWJRO');
  assert.deepEqual(chains(ipt, 'nat', 'KUBE-SVC-').sort(), [http, https].sort());
  assert.equal(chains(ipt, 'nat', 'KUBE-SEP-').length, 6);
  assert.deepEqual(rules(ipt, 'nat', 'KUBE-SERVICES'), [
    `-A KUBE-SERVICES -d 10.96.10.1/32 -p tcp -m comment --comment "shop/web:http cluster IP" -m tcp --dport 80 -j ${http}`,
    `-A KUBE-SERVICES -d 10.96.10.1/32 -p tcp -m comment --comment "shop/web:https cluster IP" -m tcp --dport 443 -j ${https}`,
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  ]);
  // no local-traffic detector (no --cluster-cidr): no masquerade rule, just the three endpoints
  assert.deepEqual(rules(ipt, 'nat', https), [
    `-A ${https} -m comment --comment "shop/web:https -> 10.244.1.11:8443" -m statistic --mode random --probability 0.33333333349 -j ${sepChain('shop/web:https', 'tcp', '10.244.1.11:8443')}`,
    `-A ${https} -m comment --comment "shop/web:https -> 10.244.2.12:8443" -m statistic --mode random --probability 0.50000000000 -j ${sepChain('shop/web:https', 'tcp', '10.244.2.12:8443')}`,
    `-A ${https} -m comment --comment "shop/web:https -> 10.244.3.13:8443" -j ${sepChain('shop/web:https', 'tcp', '10.244.3.13:8443')}`,
  ]);
  // the named targetPort "https-port" took the slice's port 8443
  assert.deepEqual(
    rules(ipt, 'nat', sepChain('shop/web:https', 'tcp', '10.244.1.11:8443'))
      .at(-1)
      ?.split(' -j ')[1],
    'DNAT --to-destination 10.244.1.11:8443',
  );

  // with --cluster-cidr, traffic from outside the pod range is masqueraded first
  const withCidr = render('clusterip-multiport.yaml', { clusterCIDR: '10.244.0.0/16' })['iptables-save']!;
  assert.equal(
    rules(withCidr, 'nat', http)[0],
    `-A ${http} ! -s 10.244.0.0/16 -d 10.96.10.1/32 -p tcp -m comment --comment "shop/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`,
  );
  assert.equal(rules(withCidr, 'nat', http).length, 4);
  // --masquerade-all masquerades everything sent to the cluster IP
  const all = render('clusterip-multiport.yaml', { masqueradeAll: true })['iptables-save']!;
  assert.match(rules(all, 'nat', http)[0]!, /^-A \S+ -d 10\.96\.10\.1\/32 -p tcp .* -j KUBE-MARK-MASQ$/);
});

test('NodePort: TCP and UDP ports, the fixed and the allocated node port, KUBE-EXT chains', () => {
  const ipt = render('nodeport.yaml')['iptables-save']!;
  const tcpKey = 'infra/dns-cache:dns-tcp';
  const udpKey = 'infra/dns-cache:dns-udp';
  assert.deepEqual(
    chains(ipt, 'nat', 'KUBE-EXT-').sort(),
    [svcChain('KUBE-EXT', tcpKey, 'tcp'), svcChain('KUBE-EXT', udpKey, 'udp')].sort(),
  );
  const np = rules(ipt, 'nat', 'KUBE-NODEPORTS');
  assert.equal(np.length, 4, 'a localhost rule and a rule per node port');
  assert.ok(np.some((r) => r.includes('-p tcp') && r.includes('--dport 30053') && r.endsWith(`-j ${svcChain('KUBE-EXT', tcpKey, 'tcp')}`)));
  assert.ok(
    np.some((r) => r.includes('-p udp') && r.includes('-m udp --dport 30000') && r.endsWith(`-j ${svcChain('KUBE-EXT', udpKey, 'udp')}`)),
  );
  assert.ok(rules(ipt, 'nat', 'KUBE-SERVICES').some((r) => r.includes('-d 10.96.20.2/32 -p udp') && r.includes('--dport 53')));
});

test('LoadBalancer, source ranges, externalTrafficPolicy Local: FW, EXT and SVL chains; local endpoints decide', () => {
  const key = 'prod/api:https';
  const fw = svcChain('KUBE-FW', key, 'tcp');
  const svl = svcChain('KUBE-SVL', key, 'tcp');
  const ipt = render('loadbalancer-local.yaml')['iptables-save']!;
  assert.deepEqual(rules(ipt, 'nat', fw), [
    `-A ${fw} -s 203.0.113.0/24 -m comment --comment "${key} loadbalancer IP" -j ${svcChain('KUBE-EXT', key, 'tcp')}`,
    `-A ${fw} -s 198.51.100.0/25 -m comment --comment "${key} loadbalancer IP" -j ${svcChain('KUBE-EXT', key, 'tcp')}`,
    `-A ${fw} -m comment --comment "other traffic to ${key} will be dropped by KUBE-PROXY-FIREWALL"`,
  ]);
  assert.ok(rules(ipt, 'nat', 'KUBE-SERVICES').some((r) => r.startsWith('-A KUBE-SERVICES -d 198.18.0.10/32 ') && r.endsWith(`-j ${fw}`)));
  assert.deepEqual(rules(ipt, 'filter', 'KUBE-NODEPORTS'), [
    `-A KUBE-NODEPORTS -p tcp -m comment --comment "${key} health check node port" -m tcp --dport 32100 -j ACCEPT`,
  ]);
  assert.equal(rules(ipt, 'filter', 'KUBE-PROXY-FIREWALL').length, 1);
  // node1 has a ready endpoint (and a terminating one, not used while a ready one exists)
  assert.deepEqual(rules(ipt, 'nat', svl), [
    `-A ${svl} -m comment --comment "${key} -> 10.244.1.31:8443" -j ${sepChain(key, 'tcp', '10.244.1.31:8443')}`,
  ]);
  // the cluster-wide chain has only the two ready endpoints
  assert.equal(rules(ipt, 'nat', svcChain('KUBE-SVC', key, 'tcp')).length, 2);
  // on node2 the local endpoint is 10.244.2.32
  const n2 = render('loadbalancer-local.yaml', { nodeName: 'node2' })['iptables-save']!;
  assert.deepEqual(rules(n2, 'nat', svl), [
    `-A ${svl} -m comment --comment "${key} -> 10.244.2.32:8443" -j ${sepChain(key, 'tcp', '10.244.2.32:8443')}`,
  ]);
  // on a node without endpoints, external traffic is dropped
  const n3 = render('loadbalancer-local.yaml', { nodeName: 'node3' })['iptables-save']!;
  assert.equal(
    rules(n3, 'filter', 'KUBE-EXTERNAL-SERVICES').filter((r) => r.includes('has no local endpoints') && r.endsWith('-j DROP')).length,
    2,
  );
});

test("ClientIP affinity: recent-module rules with the manifest's 600 s timeout", () => {
  const ipt = render('affinity.yaml')['iptables-save']!;
  const svc = svcChain('KUBE-SVC', 'shop/cart', 'tcp');
  const r = rules(ipt, 'nat', svc);
  assert.equal(r.length, 4);
  assert.equal(r.filter((l) => l.includes('-m recent --rcheck --seconds 600 --reap')).length, 2);
  for (const ep of ['10.244.1.41:8080', '10.244.2.42:8080']) {
    assert.ok(
      rules(ipt, 'nat', sepChain('shop/cart', 'tcp', ep)).some((l) =>
        l.includes(`-m recent --set --name ${sepChain('shop/cart', 'tcp', ep)}`),
      ),
    );
  }
});

test('headless and ExternalName services produce no rules at all', () => {
  const empty = renderManifests({ backend: 'iptables', objects: { services: [], slices: [] } });
  assert.deepEqual(render('headless-externalname.yaml'), empty);
  assert.deepEqual(
    render('headless-externalname.yaml', { backend: 'ipvs' }),
    renderManifests({ backend: 'ipvs', objects: { services: [], slices: [] } }),
  );
});

test('a kubectl List: the not-ready endpoint gets no rule; a multi-document file: endpoints from pods', () => {
  const list = render('list.json')['iptables-save']!;
  for (const port of ['web', 'push']) {
    const chain = svcChain('KUBE-SVC', `monitoring/metrics:${port}`, 'tcp');
    assert.equal(rules(list, 'nat', chain).length, 1, `${chain}: only 10.244.1.61`);
    assert.match(rules(list, 'nat', chain)[0]!, /-> 10\.244\.1\.61:909[01]"/);
  }
  const multi = render('multidoc.yaml')['iptables-save']!;
  const chain = svcChain('KUBE-SVC', 'default/frontend:http', 'tcp');
  assert.deepEqual(rules(multi, 'nat', chain), [
    `-A ${chain} -m comment --comment "default/frontend:http -> 10.244.1.71:8080" -j ${sepChain('default/frontend:http', 'tcp', '10.244.1.71:8080')}`,
  ]);
});

test('IPVS: one virtual server per VIP:port (node ports on each node IP), the scheduler, ipsets, kube-ipvs0', () => {
  const r = render('nodeport.yaml', { backend: 'ipvs', backendOptions: { scheduler: 'wrr' }, nodeIPs: ['192.168.0.2', '192.168.1.2'] });
  const vs = r['ipvsadm -S -n']!.split('\n').filter((l) => l.startsWith('-A '));
  assert.deepEqual(vs.sort(), [
    '-A -t 10.96.20.2:53 -s wrr',
    '-A -t 192.168.0.2:30053 -s wrr',
    '-A -t 192.168.1.2:30053 -s wrr',
    '-A -u 10.96.20.2:53 -s wrr',
    '-A -u 192.168.0.2:30000 -s wrr',
    '-A -u 192.168.1.2:30000 -s wrr',
  ]);
  assert.equal(r['ipvsadm -S -n']!.split('\n').filter((l) => l.startsWith('-a ')).length, 12, 'two real servers each');
  const members = (set: string) =>
    r['ipset save']!.split('\n')
      .filter((l) => l.startsWith(`add ${set} `))
      .sort();
  assert.deepEqual(members('KUBE-CLUSTER-IP'), ['add KUBE-CLUSTER-IP 10.96.20.2,tcp:53', 'add KUBE-CLUSTER-IP 10.96.20.2,udp:53']);
  assert.deepEqual(members('KUBE-NODE-PORT-TCP'), ['add KUBE-NODE-PORT-TCP 30053']);
  assert.deepEqual(members('KUBE-NODE-PORT-UDP'), ['add KUBE-NODE-PORT-UDP 30000']);
  assert.deepEqual(
    [...r['ip addr show kube-ipvs0']!.matchAll(/inet (\S+)/g)].map((m) => m[1]),
    ['10.96.20.2/32'],
  );

  const lb = render('loadbalancer-local.yaml', { backend: 'ipvs' });
  assert.deepEqual(
    lb['ipset save']!.split('\n')
      .filter((l) => l.startsWith('add KUBE-LOAD-BALANCER-SOURCE-CIDR '))
      .sort(),
    [
      'add KUBE-LOAD-BALANCER-SOURCE-CIDR 198.18.0.10,tcp:443,198.51.100.0/25',
      'add KUBE-LOAD-BALANCER-SOURCE-CIDR 198.18.0.10,tcp:443,203.0.113.0/24',
    ],
  );
  // externalTrafficPolicy Local: the LB and node-port virtual servers get only the local endpoint
  const lbReal = lb['ipvsadm -S -n']!.split('\n').filter((l) => l.startsWith('-a -t 198.18.0.10:443 '));
  assert.deepEqual(lbReal, ['-a -t 198.18.0.10:443 -r 10.244.1.31:8443 -m -w 1']);
});

test('node config: kube-proxy defaults, detect-local fallbacks, a Node object supplies IPs and pod CIDR', () => {
  assert.deepEqual(resolveNodeConfig({}), {
    nodeName: 'node1',
    nodeIPs: [DEFAULT_NODE_IP],
    clusterCIDR: '',
    podCIDR: '',
    localDetector: 'None',
    masqueradeAll: false,
    masqueradeBit: 14,
    nodePortAddresses: [],
  });
  assert.equal(resolveNodeConfig({ clusterCIDR: '10.244.0.0/16' }).localDetector, 'ClusterCIDR');
  assert.equal(resolveNodeConfig({ detectLocalMode: 'ClusterCIDR' }).localDetector, 'None', 'ClusterCIDR without a CIDR detects nothing');
  assert.equal(resolveNodeConfig({ detectLocalMode: 'NodeCIDR' }).localDetector, 'None', 'NodeCIDR without a pod CIDR detects nothing');
  assert.equal(resolveNodeConfig({ detectLocalMode: 'None', clusterCIDR: '10.244.0.0/16' }).localDetector, 'None');
  const nodes = loadManifests([`${FIX}/multidoc.yaml`]).nodes;
  const fromNode = resolveNodeConfig({ detectLocalMode: 'NodeCIDR' }, nodes);
  assert.deepEqual([fromNode.nodeIPs, fromNode.podCIDR, fromNode.localDetector], [['192.168.0.2'], '10.244.1.0/24', 'NodeCIDR']);
  assert.deepEqual(resolveNodeConfig({ nodeIPs: ['10.0.0.9'], podCIDR: '10.9.0.0/24' }, nodes).nodeIPs, ['10.0.0.9']);
  assert.deepEqual(resolveNodeConfig({ nodeName: 'other' }, nodes).nodeIPs, [DEFAULT_NODE_IP]);
});

test('a Node object in the manifests moves IPVS node ports to its InternalIP', () => {
  const objects = loadObjects([
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' }, status: { addresses: [{ type: 'InternalIP', address: '172.16.5.5' }] } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'np' },
      spec: { type: 'NodePort', clusterIP: '10.96.0.50', ports: [{ port: 80, nodePort: 31000 }] },
    },
  ]);
  const r = renderManifests({ backend: 'ipvs', objects });
  assert.ok(r['ipvsadm -S -n']!.includes('-A -t 172.16.5.5:31000 -s rr'), r['ipvsadm -S -n']);
});

test('--masquerade-bit changes the mark in both backends', () => {
  for (const backend of ['iptables', 'ipvs'] as const) {
    const ipt = render('affinity.yaml', { backend, masqueradeBit: 15 })['iptables-save']!;
    assert.ok(ipt.includes('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x8000/0x8000'), backend);
    assert.ok(!ipt.includes('0x4000'), backend);
  }
});

test('renderDetailed exposes the node config and snapshot it rendered from', () => {
  const d = renderDetailed({ backend: 'iptables', objects: loadManifests([FIX]), clusterCIDR: '10.244.0.0/16' });
  assert.equal(d.node.localDetector, 'ClusterCIDR');
  assert.deepEqual([...d.snapshot.services.keys()].sort(), [
    'default/frontend:http',
    'infra/dns-cache:dns-tcp',
    'infra/dns-cache:dns-udp',
    'monitoring/metrics:push',
    'monitoring/metrics:web',
    'prod/api:https',
    'shop/cart',
    'shop/web:http',
    'shop/web:https',
  ]);
  assert.equal(d.backend.kind, 'iptables');
});

test('selectOutput: one printout as is, all of them with headers, a missing one is bad input', () => {
  const d = renderDetailed({ backend: 'ipvs', objects: loadManifests([`${FIX}/affinity.yaml`]) });
  const ipvs = d.ruleset;
  assert.equal(selectOutput(ipvs, 'ipset', d.backend), ipvs['ipset save']);
  assert.equal(selectOutput(ipvs, 'ipvsadm', d.backend), ipvs['ipvsadm -S -n']);
  assert.equal(selectOutput(ipvs, 'ip-addr', d.backend), ipvs['ip addr show kube-ipvs0']);
  const all = selectOutput(ipvs, 'all', d.backend);
  assert.deepEqual(
    all
      .split('\n')
      .filter((l) => l.startsWith('==> '))
      .sort(),
    ['==> ip addr show kube-ipvs0 <==', '==> ipset save <==', '==> iptables-save <==', '==> ipvsadm -S -n <=='],
  );
  const t = renderDetailed({ backend: 'iptables', objects: loadManifests([`${FIX}/affinity.yaml`]) });
  assert.equal(selectOutput(t.ruleset, 'all', t.backend), t.ruleset['iptables-save']);
  assert.equal(selectOutput(t.ruleset, 'iptables-save', t.backend), t.ruleset['iptables-save']);
  assert.equal(selectOutput(t.ruleset, 'iptables-restore', t.backend), (t.backend as IptablesBackend).lastRestoreInput());
  assert.throws(
    () => selectOutput(t.ruleset, 'ipvsadm', t.backend),
    (e: unknown) =>
      e instanceof InputError &&
      e.message === '--output: the iptables backend prints no ipvsadm output (it prints: iptables-save, iptables-restore, all)',
  );
});

test('describeSkipped', () => {
  const m = loadManifests([FIX]);
  assert.equal(describeSkipped(m.skipped), 'skipped 3 objects: ConfigMap x1, Deployment x1, ServiceAccount x1');
});
