/**
 * Dual-stack clusters in the simulator: the API server's family allocation (spec.ipFamilyPolicy / ipFamilies as
 * the Service API documents them), IPv6 node, pod and service addresses, EndpointSlices per address family,
 * one kube-proxy proxier per family on every node (kube-proxy's meta-proxier) and the IPv6 packet walk through
 * the ip6tables ruleset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { Cluster, serviceFamilies } from '../src/cluster/cluster.js';
import { EndpointsController } from '../src/cluster/endpoints.js';
import { loadManifests } from '../src/cluster/manifests.js';
import { renderDetailed } from '../src/proxy/render.js';
import { loadScenario } from '../src/scenario/load.js';
import { buildCase } from '../src/bench/case/build.js';
import { runCase } from '../src/bench/case.js';
import { loadTargets, startLoad } from '../src/bench/case/load.js';
import { startCaseChurn } from '../src/bench/case/churn.js';
import { InputError } from '../src/errors.js';
import type { EndpointSlice, Rng } from '../src/types.js';

test('serviceFamilies: the families the API server gives a Service', () => {
  const dual = ['IPv4', 'IPv6'] as const;
  const dual6 = ['IPv6', 'IPv4'] as const;
  const single = ['IPv4'] as const;
  const cases: Array<[readonly ('IPv4' | 'IPv6')[], Parameters<typeof serviceFamilies>[1], string, string[]]> = [
    [dual, {}, 'SingleStack', ['IPv4']],
    [dual6, {}, 'SingleStack', ['IPv6']],
    [dual, { ipFamilies: ['IPv6'] }, 'SingleStack', ['IPv6']],
    [dual, { ipFamilyPolicy: 'PreferDualStack' }, 'PreferDualStack', ['IPv4', 'IPv6']],
    [dual6, { ipFamilyPolicy: 'PreferDualStack' }, 'PreferDualStack', ['IPv6', 'IPv4']],
    [dual, { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6'] }, 'RequireDualStack', ['IPv6', 'IPv4']],
    // two families and no policy: RequireDualStack
    [dual, { ipFamilies: ['IPv6', 'IPv4'] }, 'RequireDualStack', ['IPv6', 'IPv4']],
    // PreferDualStack on a single-stack cluster falls back to one family
    [single, { ipFamilyPolicy: 'PreferDualStack' }, 'PreferDualStack', ['IPv4']],
  ];
  for (const [cluster, req, policy, families] of cases)
    assert.deepEqual(serviceFamilies(cluster, req), { policy, families }, JSON.stringify([cluster, req]));
  assert.throws(() => serviceFamilies(single, { ipFamilyPolicy: 'RequireDualStack' }), /RequireDualStack on a single-stack cluster/);
  assert.throws(() => serviceFamilies(single, { ipFamilies: ['IPv6'] }), /IPv6 is not configured/);
  assert.throws(() => serviceFamilies(dual, { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4', 'IPv6'] }), /dual-stack ipFamilyPolicy/);
});

test('a dual-stack cluster: IPv6 node, pod and service addresses; slices per address family', () => {
  const c = new Cluster({ ipFamilies: ['IPv4', 'IPv6'] });
  const ep = new EndpointsController(c);
  const n1 = c.addNode('node-1');
  const n2 = c.addNode('node-2');
  assert.deepEqual(
    [n1.ips, n1.podCIDR, n1.ipsV6, n1.podCIDRV6],
    [['192.168.0.10'], '10.244.0.0/24', ['fd00:192:168::a'], 'fd00:10:244::/64'],
  );
  assert.deepEqual([n2.ipsV6, n2.podCIDRV6], [['fd00:192:168::b'], 'fd00:10:244:1::/64']);
  const p1 = c.addPod({ namespace: 'default', name: 'a', nodeName: 'node-1', labels: { app: 'x' } });
  const p2 = c.addPod({ namespace: 'default', name: 'b', nodeName: 'node-2', labels: { app: 'x' } });
  assert.deepEqual([p1.ip, p1.ipv6, p2.ip, p2.ipv6], ['10.244.0.2', 'fd00:10:244::2', '10.244.1.2', 'fd00:10:244:1::2']);
  assert.equal(c.podWithIP('fd00:10:244:1::2')?.name, 'b');
  const ports = [{ name: 'http', protocol: 'TCP' as const, port: 80, targetPort: 8080, nodePort: 0 }];
  const ds = c.addService({ namespace: 'default', name: 'ds', selector: { app: 'x' }, ports, ipFamilyPolicy: 'PreferDualStack' });
  const v4 = c.addService({ namespace: 'default', name: 'v4', selector: { app: 'x' }, ports });
  const v6 = c.addService({ namespace: 'default', name: 'v6', selector: { app: 'x' }, ports, ipFamilies: ['IPv6'] });
  assert.deepEqual(
    [ds.clusterIP, ds.ipv6?.clusterIP, ds.ipFamilyPolicy, ds.ipFamilies],
    ['10.96.0.11', 'fd00:10:96::b', 'PreferDualStack', ['IPv4', 'IPv6']],
  );
  assert.deepEqual([v4.clusterIP, v4.ipv6, v4.ipFamilyPolicy, v4.ipFamilies], ['10.96.0.12', undefined, 'SingleStack', ['IPv4']]);
  assert.deepEqual([v6.clusterIP, v6.ipv6?.clusterIP, v6.ipFamilies], ['', 'fd00:10:96::c', ['IPv6']]);
  const view = (s: EndpointSlice): [string, string[]] => [s.addressType, s.endpoints.map((e) => e.addresses[0]!)];
  assert.deepEqual(ep.slicesOf('default/ds').map(view), [
    ['IPv4', ['10.244.0.2', '10.244.1.2']],
    ['IPv6', ['fd00:10:244::2', 'fd00:10:244:1::2']],
  ]);
  assert.deepEqual(ep.slicesOf('default/v4').map(view), [['IPv4', ['10.244.0.2', '10.244.1.2']]]);
  assert.deepEqual(ep.slicesOf('default/v6').map(view), [['IPv6', ['fd00:10:244::2', 'fd00:10:244:1::2']]]);
  // addresses given (loaded manifests) are kept and claimed, not reallocated
  const kept = c.addService({ namespace: 'default', name: 'kept', ports, clusterIP: '10.96.0.200' });
  assert.deepEqual([kept.clusterIP, kept.ipv6, kept.ipFamilies], ['10.96.0.200', undefined, ['IPv4']]);
  const kept6 = c.addService({
    namespace: 'default',
    name: 'kept6',
    ports,
    clusterIP: '',
    ipv6: { clusterIP: 'fd00:10:96::d', externalIPs: [], loadBalancerIngressIPs: [], loadBalancerSourceRanges: [] },
  });
  assert.deepEqual([kept6.clusterIP, kept6.ipv6?.clusterIP, kept6.ipFamilies], ['', 'fd00:10:96::d', ['IPv6']]);
  // a deleted service gives its IPv6 cluster IP back
  c.deleteService('default', 'ds');
  // (fd00:10:96::d is claimed by kept6: the next fresh one, then the released fd00:10:96::b only when the range is used up)
  assert.equal(c.addService({ namespace: 'default', name: 'again', ports, ipFamilies: ['IPv6'] }).ipv6?.clusterIP, 'fd00:10:96::e');
});

test('the IPv6 walk: first packets through the ip6tables ruleset, rule by rule', () => {
  const r = renderDetailed({
    backend: 'iptables',
    objects: loadManifests(['test/fixtures/family/dual-stack.yaml']),
    nodeName: 'test-node',
    clusterCIDR: 'fd00:10::/48',
    ipFamily: 'IPv6',
  });
  let i = 0;
  const draws = [0.1, 0.7];
  const rng: Rng = { next: () => draws[i++ % 2]! };
  const send = (src: string, dst: string, port: number, protocol: 'TCP' | 'UDP' = 'TCP') =>
    r.backend.lookup({ srcIP: src, srcPort: 1234, dstIP: dst, dstPort: port, protocol, local: false }, rng, 0);
  // nat PREROUTING (1) -> KUBE-SERVICES: only6's rule, web's rule (2) -> KUBE-SVC: the masquerade check (! -s the
  // cluster CIDR, not taken from a pod), the first endpoint (draw 0.1 < 0.5) (2) -> KUBE-SEP: hairpin check, DNAT
  // (2) = 7; filter FORWARD: its 4 jumps walking KUBE-PROXY-FIREWALL (0), KUBE-FORWARD (3, the ACCEPT of
  // RELATED/ESTABLISHED is not reached: the packet is NEW, no mark), KUBE-SERVICES (0), KUBE-EXTERNAL-SERVICES (0)
  // = 7; nat POSTROUTING (1) -> KUBE-POSTROUTING (1, no mark: RETURN) = 2. Total 16.
  const fromPod = send('fd00:10:0:1::9', 'fd00:172:30::41', 80);
  assert.deepEqual(fromPod, {
    verdict: 'DNAT',
    endpoint: { ip: 'fd00:10:0:1::5', port: 8080 },
    serviceKey: 'ns1/web:http',
    masquerade: false,
    counts: { rules_evaluated: 16 },
  });
  // from outside the cluster CIDR: KUBE-MARK-MASQ (one rule more in nat), the second endpoint (draw 0.7), the mark
  // is accepted in KUBE-FORWARD and masqueraded in KUBE-POSTROUTING
  const fromOutside = send('2001:db8:5::1', 'fd00:172:30::41', 80);
  assert.deepEqual(
    [fromOutside.verdict, fromOutside.endpoint, fromOutside.masquerade, fromOutside.counts],
    ['DNAT', { ip: 'fd00:10:0:2::7', port: 8080 }, true, { rules_evaluated: 17 }],
  );
  // the IPv6-only service (UDP 53) and an address no service has
  assert.deepEqual(send('fd00:10:0:1::9', 'fd00:172:30::42', 53, 'UDP').endpoint, { ip: 'fd00:10:0:1::9', port: 53 });
  assert.equal(send('fd00:10:0:1::9', 'fd00:172:30::99', 80).verdict, 'PASS');
  // the NodePort on the node's IPv6 address (addrtype LOCAL through the node's IPv6 addresses)
  const np = send('2001:db8:5::1', '2001:db8::1', 30080);
  assert.equal(np.verdict, 'DNAT');
  assert.equal(np.serviceKey, 'ns1/web:http');
  // an IPv4 packet never matches the IPv6 ruleset
  assert.equal(send('10.0.1.9', '172.30.0.41', 80).verdict, 'PASS');
});

function scenarioFile(body: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpbench-dual-'));
  const f = path.join(dir, 's.yaml');
  fs.writeFileSync(f, body);
  return f;
}

const SCENARIO = `name: ds
backends: [iptables]
duration: 5
cluster:
  nodes: 4
  proxyNodes: 2
  services: 40
  endpointsPerService: 3
  ipFamilies: [IPv4, IPv6]
  ipFamilyPolicy: { SingleStack: 0.5, PreferDualStack: 0.25, RequireDualStack: 0.25 }
  secondaryFamilyFraction: 0.25
churn:
  endpointBurst: { at: 1, changes: 4, spreadSeconds: 3 }
  startupSeconds: 0
  readinessDelaySeconds: 0
  terminationGraceSeconds: 0
load:
  connectionsPerSecond: 100
bench: { lookup: false, sync: false }
`;

test('a dual-stack case: two proxiers a node, each with the services and endpoints of its family', () => {
  const sc = loadScenario(scenarioFile(SCENARIO), { quick: false });
  const w = buildCase(sc.cases[0]!, 'iptables', { renderable: true });
  assert.equal(w.proxies.length, 2);
  for (const p of w.proxies) {
    const [a, b] = w.proxiersOf.get(p.name)!;
    assert.deepEqual([a!.family, b!.family], ['IPv4', 'IPv6']);
    const svcs = [...w.cluster.services.values()];
    const v4 = svcs.filter((s) => s.clusterIP !== '' && s.clusterIP !== 'None').map((s) => `${s.namespace}/${s.name}:http`);
    const v6 = svcs.filter((s) => s.ipv6 !== undefined && s.ipv6.clusterIP !== 'None').map((s) => `${s.namespace}/${s.name}:http`);
    // the proxiers program exactly the services of their family, with the endpoints of that family
    assert.deepEqual([...a!.tracker.live().services.keys()].sort(), v4.sort());
    assert.deepEqual([...b!.tracker.live().services.keys()].sort(), v6.sort());
    assert.ok(v4.length > 0 && v6.length > 0 && v6.length < v4.length + v6.length);
    for (const eps of b!.tracker.live().endpoints.values()) for (const e of eps) assert.ok(e.ip.startsWith('fd00:10:128:'), e.ip);
    for (const eps of a!.tracker.live().endpoints.values()) for (const e of eps) assert.ok(e.ip.startsWith('10.'), e.ip);
    // the IPv6 proxier wrote the ip6tables ruleset: its cluster IPs and its node's /64 local detection
    const text = b!.backend.render()['iptables-save']!;
    assert.ok(text.includes('! -s fd00:10:128::/48 -d fd00:10:96::'), 'IPv6 cluster IPs and cluster CIDR');
  }
});

test('a dual-stack case runs: both families carry connections, sizes and initial syncs are the two families summed', async () => {
  const sc = loadScenario(scenarioFile(SCENARIO), { quick: false });
  const w = buildCase(sc.cases[0]!, 'iptables', {});
  const [a, b] = w.proxiersOf.get(w.proxies[0]!.name)!;
  const sa = a!.backend.size();
  const sb = b!.backend.size();
  const out = await runCase(sc.cases[0]!, 'iptables', { bench: false });
  const row = (metric: string, statistic: string): number => out.rows.find((r) => r.metric === metric && r.statistic === statistic)!.value;
  for (const k of Object.keys(sa)) assert.equal(row(`ruleset_${k}`, 'value'), sa[k]! + sb[k]!, k);
  assert.ok(sb.iptables_rules! > 0 && sa.iptables_rules! > sb.iptables_rules!);
  // the initial sync of the node is both proxiers' first full syncs: the rules in the kernel after it are both rulesets
  assert.equal(row('initial_sync_rules_in_kernel', 'value'), sa.iptables_rules! + sb.iptables_rules!);
  assert.equal(row('rejected_connections', 'total'), 0);
  assert.ok(row('connections', 'total') > 300);
  // the measured phase by hand: connections to IPv6 cluster IPs went through the IPv6 proxiers
  const w2 = buildCase(sc.cases[0]!, 'iptables', {});
  w2.measuring = true;
  const targets = loadTargets(w2);
  startCaseChurn(w2);
  startLoad(w2, targets);
  w2.sched.runUntil(w2.end);
  const peaks = w2.proxies.map((p) => w2.proxiersOf.get(p.name)!.map((x) => x.conntrack.peak));
  assert.ok(
    peaks.every(([p4, p6]) => p4! > 0 && p6! > 0),
    JSON.stringify(peaks),
  );
  assert.equal(row('conntrack_entries', 'max'), Math.max(...peaks.map(([p4, p6]) => p4! + p6!)));
  // the same seed gives the same rows
  const again = await runCase(sc.cases[0]!, 'iptables', { bench: false });
  assert.deepEqual(again.rows, out.rows);
});

test('dual-stack scenarios: data planes without an IPv6 proxier and single-stack misuse are refused', () => {
  const bad = (body: string): string => {
    try {
      loadScenario(scenarioFile(body), { quick: false });
    } catch (e) {
      assert.ok(e instanceof InputError);
      return e.message;
    }
    throw new Error('accepted');
  };
  assert.match(
    bad(SCENARIO.replace('backends: [iptables]', 'backends: [iptables, ipvs]')),
    /backends\[1\].*ipvs renders its IPv6 proxier \(kpbench render\) but does not walk IPv6 first packets/,
  );
  assert.match(bad(SCENARIO.replace('backends: [iptables]', 'backends: [iptables, ebpf]')), /backends\[1\].*ebpf has no IPv6 proxier/);
  assert.match(bad(SCENARIO.replace('ipFamilies: [IPv4, IPv6]', 'ipFamilies: [IPv4]')), /RequireDualStack.*single-stack cluster/);
  assert.match(bad(SCENARIO.replace('ipFamilies: [IPv4, IPv6]', 'ipFamilies: [IPv6]')), /cluster.ipFamilies.*IPv6 single-stack/);
  assert.match(
    bad(SCENARIO.replace('RequireDualStack: 0.25 }', 'RequireDualStack: 0.5 }')),
    /cluster.ipFamilyPolicy.*must sum to 1, got 1.25/,
  );
});
