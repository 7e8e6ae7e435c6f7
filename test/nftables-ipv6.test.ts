/**
 * kube-proxy's nftables mode for the IPv6 family: the table `ip6 kube-proxy` (sets of ipv6_addr, `ip6 daddr`,
 * `ip6 saddr`, `dnat to [addr]:port`, IPv6 endpoint chain names with dots for colons), the packet walk through it,
 * and the real `nft -f` round trip in a private network namespace (full load, then partial syncs applied in turn).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadManifests } from '../src/cluster/manifests.js';
import { renderDetailed } from '../src/proxy/render.js';
import { createNftablesBackend, type NftablesBackend } from '../src/backends/nftables/backend.js';
import { NODE6, smallCluster6, uniformCluster6 } from './fixtures/ipvs/cluster.js';
import { REQUIRE_NETFILTER as REQUIRE, mustInNs, run, withNamespace as withNs } from './fixtures/netns.js';
import type { Rng } from '../src/types.js';

const FIX = 'test/fixtures/family/dual-stack.yaml';

test('render, nftables IPv6: the ip6 kube-proxy table', () => {
  const r = renderDetailed({
    backend: 'nftables',
    objects: loadManifests([FIX]),
    nodeName: 'test-node',
    clusterCIDR: 'fd00:10::/48',
    ipFamily: 'IPv6',
  });
  const text = r.ruleset['nft list ruleset']!;
  const lines = text.split('\n').map((l) => l.trim());
  assert.equal(lines[0], 'table ip6 kube-proxy {');
  for (const l of [
    'type ipv6_addr . inet_proto . inet_service : verdict',
    'ip6 daddr . meta l4proto . th dport vmap @service-ips',
    'ip6 daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports',
    'ip6 daddr fd00:10:96::/108 drop comment "Drop traffic to unallocated ClusterIPs"',
    'ip6 daddr fd00:172:30::41 ip6 saddr != fd00:10::/48 jump mark-for-masquerade',
    'chain endpoint-CBMY6MJS-ns1/web/tcp/http__fd00.10.0.1..5/8080 {',
    'ip6 saddr fd00:10:0:1::5 jump mark-for-masquerade',
    'meta l4proto tcp dnat to [fd00:10:0:1::5]:8080',
    'elements = { 2001:db8::1 }',
  ])
    assert.ok(lines.includes(l), l);
  assert.ok(!/\bip (s|d)addr\b/.test(text) && !text.includes('ipv4_addr'), 'no IPv4 expression in the ip6 table');
  // the IPv4 family of the same objects: table ip, no IPv6 address
  const v4 = renderDetailed({ backend: 'nftables', objects: loadManifests([FIX]), nodeName: 'test-node', clusterCIDR: '10.0.0.0/16' });
  assert.ok(v4.ruleset['nft list ruleset']!.startsWith('table ip kube-proxy {') && !v4.ruleset['nft list ruleset']!.includes('fd00'));
});

test('the IPv6 packet walk through the ip6 table', () => {
  const b = createNftablesBackend({ node: NODE6 });
  b.syncCounts(smallCluster6().snapshot(), new Set(), 0);
  let i = 0;
  const draws = [0.1, 0.7];
  const rng: Rng = { next: () => draws[i++ % 2]! };
  const send = (src: string, dst: string, port: number, protocol: 'TCP' | 'UDP' = 'TCP') =>
    b.lookup({ srcIP: src, srcPort: 1234, dstIP: dst, dstPort: port, protocol, local: false }, rng, 0);
  // a pod of the node to web's cluster IP: prerouting (firewall-check, services: service-ips vmap, the service
  // chain's masquerade check not taken, numgen to the first of three endpoints, its hairpin check, DNAT), then
  // forward (service-endpoints-check, cluster-ips-check) and postrouting (masquerading: no mark, return)
  assert.deepEqual(send('fd00:10:244:1::20', 'fd00:10:96::a:14', 80), {
    verdict: 'DNAT',
    endpoint: { ip: 'fd00:10:244:1::5', port: 8080 },
    serviceKey: 'shop/web:http',
    masquerade: false,
    counts: { rules_evaluated: 15, lookups: 6, chains_entered: 11 },
  });
  // from outside the cluster CIDR: masqueraded
  const out = send('2001:db8:99::1', 'fd00:10:96::a:14', 80);
  assert.deepEqual([out.verdict, out.masquerade], ['DNAT', true]);
  // the external IP, the NodePort on the node's IPv6 address, the LB IP from an allowed source and from another
  assert.equal(send('2001:db8:99::1', '2001:db8:7::7', 80).verdict, 'DNAT');
  assert.equal(send('2001:db8:99::1', '2001:db8::10', 30080).verdict, 'DNAT');
  assert.equal(send('2001:db8:7::42', '2001:db8:5::5', 443).verdict, 'DNAT');
  assert.equal(send('2001:db8:99::1', '2001:db8:5::5', 443).verdict, 'DROP');
  // an unallocated address of the service CIDR is dropped, a cluster IP on a port it does not serve rejected
  assert.equal(send('fd00:10:244:1::20', 'fd00:10:96::99', 80).verdict, 'DROP');
  assert.equal(send('fd00:10:244:1::20', 'fd00:10:96::a:14', 81).verdict, 'REJECT');
  // an IPv4 packet meets nothing in the ip6 table
  assert.equal(send('10.244.1.20', '10.96.0.10', 53, 'UDP').verdict, 'PASS');
});

// ---------------------------------------------------------------------------------------------
// nft -f in a private network namespace
// ---------------------------------------------------------------------------------------------

function missing(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (run(['sh', '-c', 'command -v nft']).code !== 0) return 'nft (nftables) is not installed';
  if (run(['sh', '-c', 'command -v ip']).code !== 0) return 'ip (iproute2) is not installed';
  return null;
}

function skipOrFail(t: TestContext): boolean {
  const why = missing();
  if (why === null) return false;
  if (REQUIRE) assert.fail(`KPBENCH_REQUIRE_NETFILTER=1 but ${why}`);
  t.skip(`real nftables unavailable: ${why}`);
  return true;
}

const normal = (s: string): string =>
  s
    .split('\n')
    .map((l) => l.replace(/[ \t]+$/, ''))
    .join('\n')
    .trimEnd();

const listTable = (ns: string): string => mustInNs(ns, ['nft', 'list', 'table', 'ip6', 'kube-proxy']).stdout;

function checkFullLoad(b: NftablesBackend, what: string): void {
  withNs('kpbench-nft6', (ns) => mustInNs(ns, ['nft', '-c', '-f', '-'], b.listRuleset()));
  withNs('kpbench-nft6', (ns) => {
    mustInNs(ns, ['nft', '-f', '-'], b.fullTransaction());
    assert.equal(normal(listTable(ns)), normal(b.listRuleset()), `${what}: nft list table ip6 kube-proxy`);
  });
}

test('real nft: the IPv6 reference cluster and 1,000 IPv6 services load with nft -f and list back unchanged', (t) => {
  if (skipOrFail(t)) return;
  for (const [what, c] of [
    ['reference', smallCluster6()],
    ['1000x3', uniformCluster6(1000, 3)],
  ] as const) {
    const b = createNftablesBackend({ node: NODE6 });
    b.syncCounts(c.snapshot(), new Set(), 0);
    checkFullLoad(b, what);
  }
});

test('real nft: IPv6 partial syncs applied in turn stay equal to the rendering', (t) => {
  if (skipOrFail(t)) return;
  const c = smallCluster6();
  const b = createNftablesBackend({ node: NODE6 });
  withNs('kpbench-nft6', (ns) => {
    const step = (what: string, changed: string[], now: number): void => {
      b.syncCounts(c.snapshot(), new Set(changed), now);
      const stale = b.proxier.lastStaleTransaction();
      if (stale !== '') mustInNs(ns, ['nft', '-f', '-'], stale);
      const tx = b.lastTransaction();
      if (tx !== '') mustInNs(ns, ['nft', '-f', '-'], tx);
      assert.equal(normal(listTable(ns)), normal(b.listRuleset()), what);
    };
    step('full sync', [], 0);
    const web = c.endpoints.get('shop/web:http')!;
    c.setEndpoints('shop/web:http', [...web.slice(1), { ...web[0]!, ip: 'fd00:10:244:1::55' }]);
    step('an endpoint replaced', ['shop/web'], 1);
    c.delete('ops/grafana:http');
    step('a service deleted', ['ops/grafana'], 2);
    step('stale chains deleted', [], 5);
  });
});
