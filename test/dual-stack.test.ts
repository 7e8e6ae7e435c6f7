/**
 * Dual-stack objects in, per-family rulesets out: the manifests keep a service's IPv6 family, IPv6-only services,
 * IPv6 EndpointSlices and a Node's IPv6 addresses; `render` for the IPv6 family writes what kube-proxy's IPv6
 * proxier gives ip6tables-restore (test/realtool-iptables.test.ts loads it into the real ip6tables), while the
 * IPv4 family's ruleset holds no IPv6 address. Chain names are checked against kube-proxy's hash computed here
 * independently, with the endpoint written as net.JoinHostPort does ("[fd00::1]:80").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash16 } from './fixtures/iptables.js';
import { loadManifests } from '../src/cluster/manifests.js';
import { renderChange, renderDetailed } from '../src/proxy/render.js';
import { InputError } from '../src/errors.js';
import type { IptablesBackend } from '../src/backends/iptables/index.js';

const FIX = 'test/fixtures/family/dual-stack.yaml';

function rules(text: string, table: string, chain: string): string[] {
  const body = text.split(/^\*/m).find((t) => t.startsWith(`${table}\n`)) ?? '';
  return body.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
}

test('the loader keeps the IPv6 family beside the IPv4 model, in canonical form', () => {
  const m = loadManifests([FIX]);
  const web = m.services.find((s) => s.name === 'web')!;
  assert.equal(web.clusterIP, '172.30.0.41');
  assert.deepEqual(web.ipv6, { clusterIP: 'fd00:172:30::41', externalIPs: [], loadBalancerIngressIPs: [], loadBalancerSourceRanges: [] });
  assert.deepEqual(
    m.services.map((s) => s.name),
    ['web'],
  );
  assert.deepEqual(
    m.ipv6OnlyServices.map((s) => [s.name, s.clusterIP, s.ipv6?.clusterIP]),
    [['only6', '', 'fd00:172:30::42']],
  );
  assert.deepEqual(
    m.skipped.map((s) => [s.kind, s.name, s.reason.split(' (')[0]]),
    [['Service', 'ns1/only6', 'IPv6-only service']],
  );
  assert.deepEqual(
    m.slices.find((s) => s.name === 'web-v6')!.endpoints.map((e) => e.addresses[0]),
    ['fd00:10:0:1::5', 'fd00:10:0:2::7'],
  );
  assert.deepEqual(m.nodes, [
    { name: 'test-node', ips: ['192.168.0.2'], podCIDR: '10.0.1.0/24', zone: '', ipsV6: ['2001:db8::1'], podCIDRV6: 'fd00:10:0:1::/64' },
  ]);
});

test('render, IPv4 family: the dual-stack service with its IPv4 endpoints, no IPv6 address anywhere', () => {
  const r = renderDetailed({ backend: 'iptables', objects: loadManifests([FIX]), nodeName: 'test-node', clusterCIDR: '10.0.0.0/16' });
  assert.equal(r.node.ipFamily, undefined);
  assert.deepEqual(r.node.nodeIPs, ['192.168.0.2']);
  const text = r.ruleset['iptables-save']!;
  assert.ok(
    !/ -[sd] [0-9a-f]*:/.test(text) && !/\[[0-9a-f:]+\]:/.test(text) && !text.includes('fd00'),
    'no IPv6 address in the IPv4 ruleset',
  );
  assert.deepEqual([...r.snapshot.services.keys()], ['ns1/web:http']);
  assert.deepEqual(
    r.snapshot.endpoints.get('ns1/web:http')!.map((e) => e.ip),
    ['10.0.1.5', '10.0.2.7'],
  );
});

test("render, IPv6 family (chosen by the IPv6 --node-ip): the ip6tables rules of kube-proxy's IPv6 proxier", () => {
  const r = renderDetailed({
    backend: 'iptables',
    objects: loadManifests([FIX]),
    nodeName: 'test-node',
    nodeIPs: ['2001:db8::1'],
    clusterCIDR: 'fd00:10::/56',
  });
  assert.equal(r.node.ipFamily, 'IPv6');
  const text = r.ruleset['iptables-save']!;
  const svc = `KUBE-SVC-${hash16('ns1/web:httptcp')}`;
  const ext = `KUBE-EXT-${hash16('ns1/web:httptcp')}`;
  const sep = (ep: string) => `KUBE-SEP-${hash16(`ns1/web:httptcp${ep}`)}`;
  const svc6 = `KUBE-SVC-${hash16('ns1/only6:dnsudp')}`;
  const sep6 = `KUBE-SEP-${hash16('ns1/only6:dnsudp[fd00:10:0:1::9]:53')}`;
  assert.deepEqual(rules(text, 'nat', 'KUBE-SERVICES'), [
    `-A KUBE-SERVICES -d fd00:172:30::42/128 -p udp -m comment --comment "ns1/only6:dns cluster IP" -m udp --dport 53 -j ${svc6}`,
    `-A KUBE-SERVICES -d fd00:172:30::41/128 -p tcp -m comment --comment "ns1/web:http cluster IP" -m tcp --dport 80 -j ${svc}`,
    // no localhost NodePorts on IPv6
    '-A KUBE-SERVICES ! -d ::1/128 -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  ]);
  assert.deepEqual(rules(text, 'nat', svc), [
    `-A ${svc} ! -s fd00:10::/56 -d fd00:172:30::41/128 -p tcp -m comment --comment "ns1/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`,
    `-A ${svc} -m comment --comment "ns1/web:http -> [fd00:10:0:1::5]:8080" -m statistic --mode random --probability 0.50000000000 -j ${sep('[fd00:10:0:1::5]:8080')}`,
    `-A ${svc} -m comment --comment "ns1/web:http -> [fd00:10:0:2::7]:8080" -j ${sep('[fd00:10:0:2::7]:8080')}`,
  ]);
  assert.deepEqual(rules(text, 'nat', sep('[fd00:10:0:1::5]:8080')), [
    `-A ${sep('[fd00:10:0:1::5]:8080')} -s fd00:10:0:1::5/128 -m comment --comment "ns1/web:http" -j KUBE-MARK-MASQ`,
    `-A ${sep('[fd00:10:0:1::5]:8080')} -p tcp -m comment --comment "ns1/web:http" -m tcp -j DNAT --to-destination [fd00:10:0:1::5]:8080`,
  ]);
  assert.deepEqual(rules(text, 'nat', 'KUBE-NODEPORTS'), [
    `-A KUBE-NODEPORTS -p tcp -m comment --comment "ns1/web:http" -m tcp --dport 30080 -j ${ext}`,
  ]);
  assert.deepEqual(rules(text, 'nat', sep6), [
    `-A ${sep6} -s fd00:10:0:1::9/128 -m comment --comment "ns1/only6:dns" -j KUBE-MARK-MASQ`,
    `-A ${sep6} -p udp -m comment --comment "ns1/only6:dns" -m udp -j DNAT --to-destination [fd00:10:0:1::9]:53`,
  ]);
  // no KUBE-FIREWALL rule and no localhost NodePort counter: localhost NodePorts are IPv4 only
  assert.deepEqual(rules(text, 'filter', 'KUBE-FIREWALL'), []);
  assert.ok(!text.includes('localhost_nps_accepted_pkts'));
  assert.ok(!text.includes('127.0.0.'));
  // kube-proxy's restore input names endpoints and writes addresses the same way
  const input = (r.backend as IptablesBackend).lastRestoreInput();
  assert.ok(
    input.includes(
      `-A ${sep('[fd00:10:0:1::5]:8080')} -m comment --comment ns1/web:http -m tcp -p tcp -j DNAT --to-destination [fd00:10:0:1::5]:8080\n`,
    ),
  );
  assert.ok(input.includes('-m addrtype --dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS\n'));
});

test("render, IPv6 family: REJECT for no endpoints is icmp6-port-unreachable in ip6tables-save; --ip-family picks the Node's IPv6 addresses", () => {
  const m = loadManifests([FIX]);
  // the web service without endpoints
  const objects = { ...m, slices: m.slices.filter((s) => s.serviceName !== 'web') };
  const r = renderDetailed({ backend: 'iptables', objects, nodeName: 'test-node', ipFamily: 'IPv6' });
  assert.deepEqual(r.node.nodeIPs, ['2001:db8::1']);
  assert.equal(r.node.podCIDR, 'fd00:10:0:1::/64');
  assert.deepEqual(rules(r.ruleset['iptables-save']!, 'filter', 'KUBE-SERVICES'), [
    '-A KUBE-SERVICES -d fd00:172:30::41/128 -p tcp -m comment --comment "ns1/web:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp6-port-unreachable',
  ]);
  assert.deepEqual(rules(r.ruleset['iptables-save']!, 'filter', 'KUBE-EXTERNAL-SERVICES'), [
    '-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "ns1/web:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j REJECT --reject-with icmp6-port-unreachable',
  ]);
});

test('render: a backend without the IPv6 family is refused with one line', () => {
  const other = 'ebpf';
  assert.throws(
    () => renderDetailed({ backend: other as 'iptables', objects: loadManifests([FIX]), ipFamily: 'IPv6' }),
    (e: unknown) => e instanceof InputError && e.message === '--ip-family: the ebpf backend renders IPv4 only, not IPv6',
  );
});

test('render --after, IPv6 family: the partial sync leaves the kernel as a full sync of the new state would', () => {
  const m = loadManifests([FIX]);
  const opts = { backend: 'iptables' as const, nodeName: 'test-node', nodeIPs: ['2001:db8::1'], clusterCIDR: 'fd00:10::/56' };
  // after: web loses its remote IPv6 endpoint and gains another local one
  const after = {
    ...m,
    slices: m.slices.map((s) =>
      s.name !== 'web-v6' ? s : { ...s, endpoints: [s.endpoints[0]!, { ...s.endpoints[0]!, addresses: ['fd00:10:0:1::6'] }] },
    ),
  };
  const changed = renderChange({ ...opts, objects: m }, after);
  assert.deepEqual(changed.changed, ['ns1/web:http']);
  const fresh = renderDetailed({ ...opts, objects: after });
  assert.equal(changed.ruleset['iptables-save'], fresh.ruleset['iptables-save']);
  const input = (changed.backend as IptablesBackend).lastRestoreInput();
  // the partial restore rewrites web's chains only (and KUBE-SERVICES, always), and deletes the chain of the
  // endpoint that left
  assert.ok(!input.includes(`:KUBE-SVC-${hash16('ns1/only6:dnsudp')} `));
  assert.ok(input.includes(`:KUBE-SVC-${hash16('ns1/web:httptcp')} `));
  assert.ok(input.includes(`-X KUBE-SEP-${hash16('ns1/web:httptcp[fd00:10:0:2::7]:8080')}\n`));
});
