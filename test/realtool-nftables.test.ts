/**
 * The real `nft` checks the nftables backend's two texts, in private network namespaces:
 * - the transaction kube-proxy sends (`nft -f`), and the rendering, are accepted by `nft -c -f`; the transaction,
 *   loaded, gives back with
 *   `nft list table ip kube-proxy` exactly the backend's rendering (normal formatting: trailing blanks aside);
 * - a run of partial syncs (service added, endpoint changed, service deleted, stale chains deleted, endpoints
 *   emptied and restored), each transaction applied in turn to the same namespace, stays equal to the rendering.
 * Cases: upstream's TestOverallNFTablesRules services on a real node, the manifest fixtures, and a generated
 * 1,000 services x 10 endpoints cluster.
 *
 * Needs root, `ip netns` and nft (scripts/ci-netfilter.sh installs nftables). Skips otherwise, unless
 * KPBENCH_REQUIRE_NETFILTER=1, when a missing prerequisite fails. Never touches the machine's own namespace: every
 * command runs under `ip netns exec kpbench-nft-<pid>-<n>`, and each namespace is deleted afterwards.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { ProxySnapshot } from '../src/types.js';
import { loadManifests } from '../src/cluster/manifests.js';
import { effectiveSlices } from '../src/cluster/manifests.js';
import { buildSnapshot } from '../src/proxy/snapshot.js';
import { resolveNodeConfig } from '../src/proxy/render.js';
import { createNftablesBackend, type NftablesBackend } from '../src/backends/nftables/backend.js';
import { SYNTHETIC_NODE, syntheticSnapshot } from '../src/backends/nftables/synthetic.js';
import { overallNftSnapshot, UPSTREAM_NODE } from './fixtures/nftables/support.js';
import { REQUIRE_NETFILTER as REQUIRE, mustInNs, run, withNamespace as withNs } from './fixtures/netns.js';

const withNamespace = <T>(fn: (ns: string) => T): T => withNs('kpbench-nft', fn);

/** Why the real-tool checks cannot run here, or null when they can. */
function missing(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (run(['sh', '-c', 'command -v nft']).code !== 0) return 'nft (nftables) is not installed';
  if (run(['sh', '-c', 'command -v ip']).code !== 0) return 'ip (iproute2) is not installed';
  const probe = `kpbench-nft-probe-${process.pid}`;
  const r = run(['ip', 'netns', 'add', probe]);
  if (r.code !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`;
  run(['ip', 'netns', 'del', probe]);
  return null;
}

const why = missing();

function skipOrFail(t: TestContext): boolean {
  if (why === null) return false;
  if (REQUIRE) assert.fail(`KPBENCH_REQUIRE_NETFILTER=1 but ${why}`);
  t.skip(`real nftables unavailable: ${why}`);
  return true;
}

/** Normal formatting: no trailing blanks, one final newline. */
function normal(s: string): string {
  return s
    .split('\n')
    .map((l) => l.replace(/[ \t]+$/, ''))
    .join('\n')
    .trimEnd();
}

function listTable(ns: string): string {
  return mustInNs(ns, ['nft', 'list', 'table', 'ip', 'kube-proxy']).stdout;
}

function checkFullLoad(b: NftablesBackend, what: string): void {
  const tx = b.fullTransaction();
  withNamespace((ns) => mustInNs(ns, ['nft', '-c', '-f', '-'], tx));
  // the `nft list` form is valid nft input too (kpbench render's default output)
  withNamespace((ns) => mustInNs(ns, ['nft', '-c', '-f', '-'], b.listRuleset()));
  withNamespace((ns) => {
    mustInNs(ns, ['nft', '-f', '-'], tx);
    assert.equal(normal(listTable(ns)), normal(b.listRuleset()), `${what}: nft list table ip kube-proxy`);
  });
}

function manifestCases(): Array<{ name: string; snap: ProxySnapshot; node: ReturnType<typeof resolveNodeConfig> }> {
  const dir = new URL('./fixtures/manifests/', import.meta.url);
  const out = [];
  for (const f of readdirSync(dir)
    .filter((x) => /\.(ya?ml|json)$/.test(x))
    .sort()) {
    const m = loadManifests([new URL(f, dir).pathname]);
    const node = resolveNodeConfig({ clusterCIDR: '10.244.0.0/16' }, m.nodes);
    const slices = effectiveSlices({ services: [...m.services], slices: [...m.slices], pods: [...m.pods], nodes: [...m.nodes] });
    out.push({ name: f, snap: buildSnapshot(m.services, slices, node.nodeName), node });
  }
  return out;
}

test('upstream TestOverallNFTablesRules services: nft -c accepts the transaction, nft list gives back the rendering', (t) => {
  if (skipOrFail(t)) return;
  for (const mark of ['0x4000', undefined]) {
    const b = createNftablesBackend({ node: UPSTREAM_NODE, masqueradeMark: mark, serviceCIDRs: ['172.30.0.0/16'] });
    b.syncCounts(overallNftSnapshot(), new Set(), 0);
    checkFullLoad(b, `overall (mark ${mark ?? 'default'})`);
  }
  const all = createNftablesBackend({
    node: { ...UPSTREAM_NODE, nodePortAddresses: [], masqueradeAll: true },
    nodePortAddresses: 'all',
    serviceCIDRs: ['172.30.0.0/16', '10.96.0.0/12'],
  });
  all.syncCounts(overallNftSnapshot(), new Set(), 0);
  checkFullLoad(all, 'overall, all node addresses, --masquerade-all');
});

test('manifest fixtures: loaded with nft -f, listed back unchanged', (t) => {
  if (skipOrFail(t)) return;
  for (const c of manifestCases()) {
    const b = createNftablesBackend({ node: c.node });
    b.syncCounts(c.snap, new Set(), 0);
    checkFullLoad(b, c.name);
  }
});

test('generated 1,000 services x 10 endpoints: loaded with nft -f, listed back unchanged', (t) => {
  if (skipOrFail(t)) return;
  const b = createNftablesBackend({ node: SYNTHETIC_NODE });
  b.syncCounts(syntheticSnapshot(1000, 10), new Set(), 0);
  checkFullLoad(b, '1000x10');
});

test('partial syncs applied in turn to the real table stay equal to the rendering', (t) => {
  if (skipOrFail(t)) return;
  const base = syntheticSnapshot(60, 3);
  const services = new Map(base.services);
  const endpoints = new Map(base.endpoints);
  const b = createNftablesBackend({ node: SYNTHETIC_NODE });
  withNamespace((ns) => {
    let now = 10;
    const step = (what: string, changed: string[]) => {
      b.syncCounts({ services: new Map(services), endpoints: new Map(endpoints) }, new Set(changed), now);
      const stale = b.proxier.lastStaleTransaction();
      if (stale !== '') mustInNs(ns, ['nft', '-f', '-'], stale);
      const tx = b.lastTransaction();
      if (tx !== '') mustInNs(ns, ['nft', '-f', '-'], tx);
      assert.equal(normal(listTable(ns)), normal(b.listRuleset()), what);
    };
    step('full sync', []);
    const keys = [...services.keys()];
    // every kind of service (the synthetic cluster cycles through 20 shapes) gets an endpoint change
    for (const k of keys.slice(0, 20)) {
      const eps = endpoints.get(k)!;
      endpoints.set(
        k,
        eps.length > 0 ? [...eps.slice(1), { ...eps[0]!, ip: eps[0]!.ip.replace(/\.(\d+)$/, (_, d) => `.${Number(d) + 100}`) }] : eps,
      );
    }
    now += 0.5;
    step('an endpoint replaced in 20 services', keys.slice(0, 20));
    for (const k of keys.slice(20, 30)) {
      services.delete(k);
      endpoints.delete(k);
    }
    now += 0.2;
    step('10 services deleted (chains flushed)', keys.slice(20, 30));
    now += 2;
    step('stale chains deleted', []);
    for (const k of keys.slice(30, 40)) endpoints.set(k, []);
    now += 0.3;
    step('10 services emptied', keys.slice(30, 40));
    for (const k of keys.slice(30, 40)) endpoints.set(k, base.endpoints.get(k)!);
    now += 0.3;
    step('10 services restored', keys.slice(30, 40));
    for (const k of keys.slice(40, 50)) {
      const s = services.get(k)!;
      services.set(k, { ...s, stickyMaxAgeSeconds: s.stickyMaxAgeSeconds > 0 ? 0 : 600 });
    }
    now += 5;
    step('affinity toggled on 10 services', keys.slice(40, 50));
  });
});
