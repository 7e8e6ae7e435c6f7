/**
 * Real tools check the renderings of both backends, for the manifest fixtures and a generated 1,000 x 10 cluster.
 * Each rendering is loaded into a private network namespace with the real tools and read back:
 * - iptables mode: iptables-restore (legacy, and nft when present) then iptables-save must give back exactly the
 *   rendered `iptables-save` text (comment lines and counters aside); kube-proxy's own restore input
 *   (--noflush, after the jump rules kube-proxy installs with `iptables -I`) must give the same kernel ruleset.
 * - IPVS mode: `ipset restore` / `ipset save` (same sets, same create lines, same members: a hash set lists its
 *   members in the kernel's hash order, so members are compared as sets), its iptables rules as above, the
 *   kube-ipvs0 addresses with `ip addr`, and `ipvsadm -R` / `ipvsadm -S -n` where the kernel has IPVS.
 *
 * Needs root, `ip netns`, Debian's iptables, ipset and nfacct (scripts/ci-netfilter.sh installs them). Skips
 * otherwise, unless KPBENCH_REQUIRE_NETFILTER=1, when a missing prerequisite fails the test (a kernel without IPVS
 * only fails with KPBENCH_REQUIRE_IPVS=1). Never touches the machine's own namespace: every command runs under
 * `ip netns exec kpbench-test-<pid>-<n>`, and each namespace is deleted afterwards (ipsets live in it too).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadManifests, loadObjects } from '../src/cluster/manifests.js';
import { renderDetailed, type RenderOptions } from '../src/proxy/render.js';
import { REQUIRE_NETFILTER as REQUIRE, has, inNs, mustInNs, run, withNamespace as withNs } from './fixtures/netns.js';

// ---------------------------------------------------------------------------------------------
// Namespaces and tools
// ---------------------------------------------------------------------------------------------

const withNamespace = <T>(fn: (ns: string) => T): T => withNs('kpbench-test', fn);

/** Why the real tools cannot run here, or null. */
function whyUnavailable(): string | null {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  for (const tool of ['ip', 'iptables-legacy-restore', 'iptables-legacy-save', 'nfacct', 'ipset']) {
    if (!has(tool)) return `${tool} is not installed (scripts/ci-netfilter.sh installs it)`;
  }
  try {
    withNamespace((ns) => {
      mustInNs(ns, ['iptables-legacy-save']);
      mustInNs(ns, ['nfacct', 'list']);
      mustInNs(ns, ['ipset', 'list']);
    });
  } catch (e) {
    return `network namespaces or netfilter unusable: ${e instanceof Error ? e.message : String(e)}`;
  }
  return null;
}

const UNAVAILABLE = whyUnavailable();
const HAS_NFT = UNAVAILABLE === null && has('iptables-nft-restore') && has('iptables-nft-save');

/** Why IPVS cannot be loaded here (this project's machines have no IPVS in the kernel), or null. */
function whyNoIpvs(): string | null {
  if (UNAVAILABLE !== null) return UNAVAILABLE;
  if (!has('ipvsadm')) return 'ipvsadm is not installed (scripts/ci-netfilter.sh installs it)';
  return withNamespace((ns) => {
    const r = inNs(ns, ['ipvsadm', '-L', '-n']);
    return r.code === 0 ? null : `the kernel has no IPVS (${r.stderr.trim().split('\n')[0]})`;
  });
}
const NO_IPVS = whyNoIpvs();
/** iptables' `-m ipvs` match needs IPVS in the kernel too. */
const HAS_XT_IPVS =
  UNAVAILABLE === null &&
  withNamespace(
    (ns) => inNs(ns, ['iptables-legacy-restore'], '*filter\n:X - [0:0]\n-A X -m ipvs --vproto 6 -j RETURN\nCOMMIT\n').code === 0,
  );

/** Skips (or, with KPBENCH_REQUIRE_NETFILTER=1, fails) when the tools cannot run; true when the test may go on. */
function ready(t: TestContext, extra: string | null = null): boolean {
  const why = UNAVAILABLE ?? extra;
  if (why === null) return true;
  if (REQUIRE) assert.fail(`KPBENCH_REQUIRE_NETFILTER=1 but ${why}`);
  t.skip(why);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Comparing iptables-save texts
// ---------------------------------------------------------------------------------------------

/**
 * Spellings iptables-save itself varies between versions, applied to both sides: iptables 1.8.9's libxt_nfacct
 * prints "--nfacct-name  NAME" (two spaces: its own, then xtables_save_string's).
 */
function versionQuirks(line: string): string {
  return line.replace(/--nfacct-name {2,}/g, '--nfacct-name ');
}

/** Table name -> its lines (no comments, counters zeroed, no COMMIT), for texts in iptables-save form. */
function tables(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#') || line === 'COMMIT') continue;
    if (line.startsWith('*')) {
      cur = [];
      out.set(line.slice(1), cur);
      continue;
    }
    if (cur === null) assert.fail(`line outside a table: ${line}`);
    cur.push(versionQuirks(line.replace(/ \[\d+:\d+\]$/, ' [0:0]')));
  }
  return out;
}

/** How `saved` differs from `rendered`, table by table, in a few lines; '' when they are the same. */
function difference(saved: string, rendered: string): string {
  const a = tables(saved);
  const b = tables(rendered);
  const problems: string[] = [];
  for (const [name, want] of b) {
    const got = a.get(name);
    if (got === undefined) {
      problems.push(`table ${name}: missing from iptables-save`);
      continue;
    }
    if (got.join('\n') === want.join('\n')) continue;
    let i = 0;
    while (i < got.length && i < want.length && got[i] === want[i]) i++;
    problems.push(
      `table ${name}: ${got.length} lines saved vs ${want.length} rendered; first difference at line ${i + 1}:\n` +
        `  saved:    ${got[i] ?? '(end)'}\n  rendered: ${want[i] ?? '(end)'}`,
    );
  }
  for (const [name, got] of a) {
    if (!b.has(name) && got.some((l) => l.startsWith('-A '))) problems.push(`table ${name}: rules saved but none rendered`);
  }
  return problems.join('\n');
}

function ruleCount(text: string): number {
  return text.split('\n').filter((l) => l.startsWith('-A ')).length;
}

/** The nfacct counters a ruleset matches on; kube-proxy creates them (over netlink) before restoring. */
function nfacctNames(text: string): string[] {
  return [...new Set([...text.matchAll(/--nfacct-name +(\S+)/g)].map((m) => m[1]!))];
}

function createNfacct(ns: string, text: string): void {
  for (const n of nfacctNames(text)) mustInNs(ns, ['nfacct', 'add', n]);
}

/**
 * What kube-proxy sets up outside iptables-restore (EnsureChain / EnsureRule with `iptables -I`): its chains and
 * the jump rules in the built-in chains. As a --noflush restore text, from the rendered ruleset.
 */
function prelude(rendered: string): string {
  const out: string[] = [];
  for (const [name, lines] of tables(rendered)) {
    const builtin = new Set(lines.filter((l) => l.startsWith(':') && !l.includes(' - ')).map((l) => l.slice(1).split(' ')[0]!));
    out.push(`*${name}`);
    for (const l of lines) if (l.startsWith(':') && l.includes(' - ')) out.push(l);
    for (const l of lines) if (l.startsWith('-A ') && builtin.has(l.split(' ')[1]!)) out.push(l);
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// The clusters
// ---------------------------------------------------------------------------------------------

const FIX = 'test/fixtures/manifests';
const FIXTURES = [
  'clusterip-multiport.yaml',
  'nodeport.yaml',
  'loadbalancer-local.yaml',
  'affinity.yaml',
  'headless-externalname.yaml',
  'list.json',
  'multidoc.yaml',
];

interface Cluster {
  name: string;
  render: () => Omit<RenderOptions, 'backend'>;
}

const renders = new Map<string, ReturnType<typeof renderDetailed> & { seconds: number }>();
/** One rendering per cluster and backend, shared by the tests that load it. */
function rendered(c: Cluster, backend: 'iptables' | 'ipvs') {
  const key = `${backend} ${c.name}`;
  let r = renders.get(key);
  if (r === undefined) {
    const t0 = process.hrtime.bigint();
    const res = renderDetailed({ backend, ...c.render() });
    renders.set(key, (r = { ...res, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }));
  }
  return r;
}

/** A generated cluster: `services` Services of mixed types with `endpoints` endpoints each, as manifest objects. */
export function generatedObjects(services: number, endpoints: number): unknown[] {
  const objs: unknown[] = [];
  for (let i = 0; i < services; i++) {
    const ns = `ns-${i % 10}`;
    const name = `svc-${i}`;
    const type = i % 50 === 7 ? 'LoadBalancer' : i % 10 === 3 ? 'NodePort' : 'ClusterIP';
    const udp = i % 25 === 11;
    const spec: Record<string, unknown> = {
      type,
      clusterIP: `10.96.${Math.floor(i / 250)}.${(i % 250) + 2}`,
      selector: { app: name },
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        ...(udp ? [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }] : []),
      ],
    };
    if (i % 20 === 5) Object.assign(spec, { sessionAffinity: 'ClientIP' });
    if (type === 'LoadBalancer') Object.assign(spec, { externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['203.0.113.0/24'] });
    if (i % 100 === 42) Object.assign(spec, { externalIPs: [`198.51.100.${i % 250}`] });
    const svc: Record<string, unknown> = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec };
    if (type === 'LoadBalancer') svc['status'] = { loadBalancer: { ingress: [{ ip: `198.18.${Math.floor(i / 250)}.${i % 250}` }] } };
    objs.push(svc);
    const eps = [];
    for (let e = 0; e < endpoints; e++) {
      const n = i * endpoints + e;
      eps.push({
        addresses: [`10.${244 + Math.floor(n / 65536)}.${Math.floor(n / 256) % 256}.${(n % 256) + (n % 256 === 0 ? 1 : 0)}`],
        conditions: { ready: true },
        nodeName: `node${(n % 5) + 1}`,
      });
    }
    objs.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: eps,
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, ...(udp ? [{ name: 'dns', port: 5353, protocol: 'UDP' }] : [])],
    });
  }
  return objs;
}

const CLUSTERS: Cluster[] = [
  ...FIXTURES.map((f) => ({ name: f, render: () => ({ objects: loadManifests([`${FIX}/${f}`]) }) })),
  { name: 'all fixtures, --cluster-cidr', render: () => ({ objects: loadManifests([FIX]), clusterCIDR: '10.244.0.0/16' }) },
  {
    name: 'all fixtures, NodeCIDR, --masquerade-all, bit 15, two node IPs',
    render: () => ({
      objects: loadManifests([FIX]),
      detectLocalMode: 'NodeCIDR',
      podCIDR: '10.244.1.0/24',
      masqueradeAll: true,
      masqueradeBit: 15,
      nodeIPs: ['192.168.0.2', '192.168.1.2'],
    }),
  },
  {
    name: 'all fixtures, --nodeport-addresses 192.168.0.0/24',
    render: () => ({ objects: loadManifests([FIX]), clusterCIDR: '10.244.0.0/16', nodePortAddresses: ['192.168.0.0/24'] }),
  },
  {
    name: 'generated 1,000 services x 10 endpoints',
    render: () => ({ objects: loadObjects(generatedObjects(1000, 10), '<generated>'), clusterCIDR: '10.244.0.0/16' }),
  },
];

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

for (const c of CLUSTERS) {
  test(`iptables-legacy: ${c.name}: iptables-save gives back exactly the rendering`, (t) => {
    if (!ready(t)) return;
    const r = rendered(c, 'iptables');
    const text = r.ruleset['iptables-save']!;
    withNamespace((ns) => {
      createNfacct(ns, text);
      const restore = mustInNs(ns, ['iptables-legacy-restore'], text);
      const save = mustInNs(ns, ['iptables-legacy-save']);
      const diff = difference(save.stdout, text);
      assert.equal(diff, '', `rendered ruleset did not round-trip through iptables-legacy:\n${diff}`);
      assert.equal(ruleCount(save.stdout), ruleCount(text));
      if (/--nfacct-name {2}/.test(save.stdout) && !/--nfacct-name {2}/.test(text)) {
        t.diagnostic(
          'iptables-save printed "--nfacct-name  NAME" with two spaces (libxt_nfacct of this iptables version); the rendering has one',
        );
      }
      t.diagnostic(
        `${ruleCount(text)} rules; render ${r.seconds.toFixed(3)} s, iptables-legacy-restore ${restore.seconds.toFixed(3)} s, iptables-legacy-save ${save.seconds.toFixed(3)} s`,
      );
    });
  });

  test(`iptables-legacy: ${c.name}: kube-proxy's restore input (--noflush) gives the rendered kernel ruleset`, (t) => {
    if (!ready(t)) return;
    const r = rendered(c, 'iptables');
    const text = r.ruleset['iptables-save']!;
    const be = r.backend as unknown as { lastRestoreInput?: () => string };
    if (typeof be.lastRestoreInput !== 'function') {
      t.skip('the iptables backend does not expose lastRestoreInput()');
      return;
    }
    const input = be.lastRestoreInput();
    withNamespace((ns) => {
      createNfacct(ns, text);
      mustInNs(ns, ['iptables-legacy-restore', '--noflush'], prelude(text));
      mustInNs(ns, ['iptables-legacy-restore', '--noflush'], input);
      const save = mustInNs(ns, ['iptables-legacy-save']);
      const diff = difference(save.stdout, text);
      assert.equal(diff, '', `kube-proxy's restore input and the rendering disagree on the kernel ruleset:\n${diff}`);
    });
  });

  test(`iptables-nft: ${c.name}: iptables-save gives back exactly the rendering`, (t) => {
    if (!ready(t, HAS_NFT ? null : 'iptables-nft-restore / iptables-nft-save are not installed')) return;
    const text = rendered(c, 'iptables').ruleset['iptables-save']!;
    withNamespace((ns) => {
      createNfacct(ns, text);
      const restore = inNs(ns, ['iptables-nft-restore'], text);
      if (
        restore.code !== 0 &&
        /Protocol not supported|Could not fetch rule set generation id|Operation not supported/.test(restore.stderr)
      ) {
        if (REQUIRE) assert.fail(`nf_tables unusable here: ${restore.stderr.trim()}`);
        t.skip(`nf_tables unusable here: ${restore.stderr.trim().split('\n')[0]}`);
        return;
      }
      assert.equal(restore.code, 0, `iptables-nft-restore failed: ${restore.stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
      const save = mustInNs(ns, ['iptables-nft-save']);
      const diff = difference(save.stdout, text);
      assert.equal(diff, '', `rendered ruleset did not round-trip through iptables-nft:\n${diff}`);
      t.diagnostic(`iptables-nft-restore ${restore.seconds.toFixed(3)} s, iptables-nft-save ${save.seconds.toFixed(3)} s`);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// IPVS mode
// ---------------------------------------------------------------------------------------------

/** `ipset save` text as sets in order, each with its create line and its members sorted. */
function ipsets(text: string): { create: string; members: string[] }[] {
  const out: { create: string; members: string[] }[] = [];
  const byName = new Map<string, { create: string; members: string[] }>();
  for (const line of text.split('\n')) {
    if (line.startsWith('create ')) {
      const s = { create: line, members: [] as string[] };
      out.push(s);
      byName.set(line.split(' ')[1]!, s);
    } else if (line.startsWith('add ')) {
      const set = byName.get(line.split(' ')[1]!);
      assert.ok(set !== undefined, `member of an unknown set: ${line}`);
      set.members.push(line);
    } else if (line.trim() !== '') {
      assert.fail(`unexpected ipset save line: ${line}`);
    }
  }
  for (const s of out) s.members.sort();
  return out;
}

/** The IPVS mode's iptables rules this kernel can load: without `-m ipvs` rules when it has no IPVS. */
function loadableIptables(text: string): string {
  return HAS_XT_IPVS
    ? text
    : text
        .split('\n')
        .filter((l) => !/ -m ipvs /.test(l))
        .join('\n');
}

/** `ip addr show kube-ipvs0` without what differs between machines: interface index, MAC address, queue length. */
function addrShape(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) =>
      l
        .replace(/^\d+: /, 'N: ')
        .replace(/link\/ether \S+/, 'link/ether MAC')
        .replace(/ qlen \d+/, ' qlen Q'),
    )
    .join('\n');
}

const IPVS_CLUSTERS = CLUSTERS.filter((c) => !c.name.includes('--nodeport-addresses'));

for (const c of IPVS_CLUSTERS) {
  test(`ipvs: ${c.name}: ipset restore then ipset save gives back the rendered sets`, (t) => {
    if (!ready(t)) return;
    const text = rendered(c, 'ipvs').ruleset['ipset save']!;
    withNamespace((ns) => {
      const restore = mustInNs(ns, ['ipset', 'restore'], text);
      const save = mustInNs(ns, ['ipset', 'save']);
      const got = ipsets(save.stdout);
      const want = ipsets(text);
      assert.deepEqual(
        got.map((s) => s.create),
        want.map((s) => s.create),
        'sets and their create lines',
      );
      for (let i = 0; i < want.length; i++) assert.deepEqual(got[i]!.members, want[i]!.members, `members of ${want[i]!.create}`);
      const entries = want.reduce((n, s) => n + s.members.length, 0);
      t.diagnostic(
        `${want.length} sets, ${entries} entries; ipset restore ${restore.seconds.toFixed(3)} s, ipset save ${save.seconds.toFixed(3)} s`,
      );
    });
  });

  for (const flavour of ['legacy', 'nft'] as const) {
    test(`ipvs: ${c.name}: iptables-${flavour} gives back exactly the rendered iptables rules`, (t) => {
      if (!ready(t, flavour === 'nft' && !HAS_NFT ? 'iptables-nft-restore / iptables-nft-save are not installed' : null)) return;
      const r = rendered(c, 'ipvs').ruleset;
      const text = loadableIptables(r['iptables-save']!);
      if (!HAS_XT_IPVS && text !== r['iptables-save']) t.diagnostic('the kernel has no IPVS: rules matching -m ipvs left out');
      withNamespace((ns) => {
        mustInNs(ns, ['ipset', 'restore'], r['ipset save']!); // -m set needs its sets
        createNfacct(ns, text);
        const restore = inNs(ns, [`iptables-${flavour}-restore`], text);
        assert.equal(restore.code, 0, `iptables-${flavour}-restore failed: ${restore.stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
        const save = mustInNs(ns, [`iptables-${flavour}-save`]);
        const diff = difference(save.stdout, text);
        assert.equal(diff, '', `IPVS mode's iptables rules did not round-trip through iptables-${flavour}:\n${diff}`);
      });
    });
  }

  test(`ipvs: ${c.name}: kube-ipvs0 holds the rendered addresses`, (t) => {
    if (!ready(t)) return;
    const text = rendered(c, 'ipvs').ruleset['ip addr show kube-ipvs0']!;
    const addrs = [...text.matchAll(/^ {4}inet (\S+) /gm)].map((m) => m[1]!);
    withNamespace((ns) => {
      // kube-proxy's kube-ipvs0 is a dummy interface; a kernel without the dummy driver gets an ifb one, whose
      // flags (BROADCAST,NOARP) and ip addr lines are the same
      let kind = 'dummy';
      if (inNs(ns, ['ip', 'link', 'add', 'kube-ipvs0', 'type', 'dummy']).code !== 0) {
        kind = 'ifb';
        mustInNs(ns, ['ip', 'link', 'add', 'kube-ipvs0', 'type', 'ifb']);
      }
      const t0 = process.hrtime.bigint();
      if (addrs.length > 0) mustInNs(ns, ['ip', '-batch', '-'], addrs.map((a) => `addr add ${a} dev kube-ipvs0`).join('\n') + '\n');
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const show = mustInNs(ns, ['ip', 'addr', 'show', 'kube-ipvs0']);
      assert.equal(addrShape(show.stdout), addrShape(text));
      t.diagnostic(`${addrs.length} addresses on a ${kind} kube-ipvs0 in ${seconds.toFixed(3)} s`);
    });
  });

  test(`ipvs: ${c.name}: ipvsadm -R then ipvsadm -S -n gives back the rendered virtual servers`, (t) => {
    if (NO_IPVS !== null) {
      if (process.env['KPBENCH_REQUIRE_IPVS'] === '1') assert.fail(`KPBENCH_REQUIRE_IPVS=1 but ${NO_IPVS}`);
      t.skip(NO_IPVS);
      return;
    }
    const text = rendered(c, 'ipvs').ruleset['ipvsadm -S -n']!;
    withNamespace((ns) => {
      mustInNs(ns, ['ipvsadm', '-R'], text);
      const save = mustInNs(ns, ['ipvsadm', '-S', '-n']);
      assert.equal(save.stdout.trimEnd(), text.trimEnd());
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The IPv6 family: kube-proxy's IPv6 proxier writes with ip6tables-restore
// ---------------------------------------------------------------------------------------------

/** A generated IPv6 cluster: mixed service types, affinity, source ranges, external IPs, UDP ports. */
function generatedIPv6Objects(services: number, endpoints: number): unknown[] {
  const hex = (n: number): string => n.toString(16);
  const objs: unknown[] = [];
  for (let i = 0; i < services; i++) {
    const ns = `ns-${i % 5}`;
    const name = `svc-${i}`;
    const type = i % 20 === 7 ? 'LoadBalancer' : i % 10 === 3 ? 'NodePort' : 'ClusterIP';
    const udp = i % 25 === 11;
    const spec: Record<string, unknown> = {
      type,
      ipFamilies: ['IPv6'],
      clusterIPs: [`fd00:10:96::${hex(i + 10)}`],
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }, ...(udp ? [{ name: 'dns', port: 53, protocol: 'UDP' }] : [])],
    };
    if (i % 20 === 5) Object.assign(spec, { sessionAffinity: 'ClientIP' });
    if (type === 'LoadBalancer')
      Object.assign(spec, {
        externalTrafficPolicy: i % 40 === 7 ? 'Local' : 'Cluster',
        loadBalancerSourceRanges: ['2001:db8::/64', '2600:5200::/40'],
      });
    if (i % 50 === 42) Object.assign(spec, { externalIPs: [`2001:db8:99::${hex(i)}`] });
    const svc: Record<string, unknown> = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec };
    if (type === 'LoadBalancer') svc['status'] = { loadBalancer: { ingress: [{ ip: `2001:db8:1b::${hex(i)}` }] } };
    objs.push(svc);
    const eps = [];
    for (let e = 0; e < endpoints; e++) eps.push({ addresses: [`fd00:10:244:${hex(i)}::${hex(e + 1)}`], nodeName: `node${(e % 3) + 1}` });
    objs.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv6',
      endpoints: i % 30 === 17 ? [] : eps,
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, ...(udp ? [{ name: 'dns', port: 53, protocol: 'UDP' }] : [])],
    });
  }
  return objs;
}

const CLUSTERS_V6: Cluster[] = [
  {
    name: 'dual-stack fixture, IPv6 family, --cluster-cidr fd00:10::/56',
    render: () => ({
      objects: loadManifests(['test/fixtures/family/dual-stack.yaml']),
      nodeName: 'test-node',
      nodeIPs: ['2001:db8::1'],
      clusterCIDR: 'fd00:10::/56',
    }),
  },
  {
    name: 'generated 300 IPv6 services x 4 endpoints, --nodeport-addresses 2001:db8::/64',
    render: () => ({
      objects: loadObjects(generatedIPv6Objects(300, 4), '<generated>'),
      nodeName: 'node1',
      nodeIPs: ['2001:db8::1', '2001:db8:1::2'],
      clusterCIDR: 'fd00:10:244::/48',
      nodePortAddresses: ['2001:db8::/64', '192.168.0.0/24'],
    }),
  },
  {
    name: 'generated 300 IPv6 services x 4 endpoints, no local detector',
    render: () => ({
      objects: loadObjects(generatedIPv6Objects(300, 4), '<generated>'),
      nodeName: 'node1',
      ipFamily: 'IPv6',
      nodeIPs: ['2001:db8::1'],
    }),
  },
];

for (const c of CLUSTERS_V6) {
  for (const flavour of ['legacy', 'nft'] as const) {
    test(`ip6tables-${flavour}: ${c.name}: ip6tables-save gives back exactly the rendering`, (t) => {
      if (!ready(t, flavour === 'nft' && !HAS_NFT ? 'ip6tables-nft-restore / ip6tables-nft-save are not installed' : null)) return;
      const r = rendered(c, 'iptables');
      const text = r.ruleset['iptables-save']!;
      assert.equal(r.node.ipFamily, 'IPv6');
      assert.ok(/ -d fd00:/.test(text), 'an IPv6 ruleset');
      withNamespace((ns) => {
        createNfacct(ns, text);
        const restore = inNs(ns, [`ip6tables-${flavour}-restore`], text);
        if (
          flavour === 'nft' &&
          restore.code !== 0 &&
          /Protocol not supported|Could not fetch rule set generation id|Operation not supported/.test(restore.stderr)
        ) {
          if (REQUIRE) assert.fail(`nf_tables unusable here: ${restore.stderr.trim()}`);
          t.skip(`nf_tables unusable here: ${restore.stderr.trim().split('\n')[0]}`);
          return;
        }
        assert.equal(restore.code, 0, `ip6tables-${flavour}-restore failed: ${restore.stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
        const save = mustInNs(ns, [`ip6tables-${flavour}-save`]);
        const diff = difference(save.stdout, text);
        assert.equal(diff, '', `rendered IPv6 ruleset did not round-trip through ip6tables-${flavour}:\n${diff}`);
        assert.equal(ruleCount(save.stdout), ruleCount(text));
        t.diagnostic(
          `${ruleCount(text)} rules; ip6tables-${flavour}-restore ${restore.seconds.toFixed(3)} s, ip6tables-${flavour}-save ${save.seconds.toFixed(3)} s`,
        );
      });
    });
  }

  test(`ip6tables-legacy: ${c.name}: kube-proxy's IPv6 restore input (--noflush) gives the rendered kernel ruleset`, (t) => {
    if (!ready(t)) return;
    const r = rendered(c, 'iptables');
    const text = r.ruleset['iptables-save']!;
    const input = (r.backend as unknown as { lastRestoreInput: () => string }).lastRestoreInput();
    withNamespace((ns) => {
      createNfacct(ns, text);
      mustInNs(ns, ['ip6tables-legacy-restore', '--noflush'], prelude(text));
      mustInNs(ns, ['ip6tables-legacy-restore', '--noflush'], input);
      const save = mustInNs(ns, ['ip6tables-legacy-save']);
      const diff = difference(save.stdout, text);
      assert.equal(diff, '', `kube-proxy's IPv6 restore input and the rendering disagree on the kernel ruleset:\n${diff}`);
    });
  });
}

test('the namespaces are gone', (t) => {
  if (!ready(t)) return;
  const list = run(['ip', 'netns', 'list']).stdout;
  assert.ok(!list.includes(`kpbench-test-${process.pid}-`), list);
});
