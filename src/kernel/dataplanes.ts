/**
 * The load plans of the data planes kpbench models, from the backends' own output:
 * - iptables (both flavours, one ruleset): the full load is the whole rendered ruleset (`iptables-save` form,
 *   jump rules included) in one flush-mode restore, nfacct counters created first as kube-proxy does over netlink;
 *   partial syncs: kube-proxy's exact `iptables-restore --noflush --counters` input (`lastRestoreInput()`) after
 *   one endpoint of one service is replaced, and after it is put back.
 * - IPVS mode: `ipset restore` of its sets (full); one `ipset add`/`ipset del` process per changed entry
 *   (kube-proxy's ipset util runs one per entry). `ipvsadm -R` only where the kernel has IPVS.
 * nftables gives its transaction texts through `transactionPlan` (the nft backend lives on its own branch).
 */
import type { EndpointInfo, Packet, ProxyNodeConfig, ProxySnapshot, Rng } from '../types.js';
import { createIptablesBackend, type IptablesBackend } from '../backends/iptables/index.js';
import { createIpvsBackend } from '../backends/ipvs/index.js';
import type { CaseCluster } from './cluster.js';
import { numericCounts, type Counts, type DataPlanePlan, type LoadStep, type PartialSync, type ProbeTarget } from './plan.js';

/** The address a replaced endpoint gets (TEST-NET-2 style benchmarking range, never a real pod's). */
export const REPLACEMENT_IP = '198.19.255.254';

/** The client's address in the client namespace (outside the cluster CIDR, so it is masqueraded as outside traffic). */
export const CLIENT_IP = '198.18.0.2';

const ZERO_RNG: Rng = { next: () => 0 };

/** The snapshot with endpoint 0 of service port `key` at another address (a pod replaced by its Deployment). */
export function replaceOneEndpoint(s: ProxySnapshot, key: string, ip = REPLACEMENT_IP): ProxySnapshot {
  const eps = s.endpoints.get(key) ?? [];
  if (eps.length === 0) throw new Error(`service port ${key} has no endpoint to replace`);
  const next: EndpointInfo[] = [{ ...eps[0]!, ip }, ...eps.slice(1)];
  next.sort((a, b) => {
    const x = `${a.ip}:${a.port}`;
    const y = `${b.ip}:${b.port}`;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const endpoints = new Map(s.endpoints);
  endpoints.set(key, next);
  return { services: s.services, endpoints };
}

/** First, median and last of the service ports (in `order`) that have a cluster IP and endpoints. */
export function probeTargets(s: ProxySnapshot, order: readonly string[]): ProbeTarget[] {
  const usable = order.filter((k) => {
    const svc = s.services.get(k);
    const eps = s.endpoints.get(k) ?? [];
    return svc !== undefined && svc.clusterIP !== '' && svc.clusterIP !== 'None' && svc.protocol !== 'SCTP' && eps.some((e) => e.ready);
  });
  if (usable.length === 0) return [];
  const picks: Array<[string, number]> = [
    ['first', 0],
    ['median', Math.floor((usable.length - 1) / 2)],
    ['last', usable.length - 1],
  ];
  return picks.map(([position, i]) => {
    const key = usable[i]!;
    const svc = s.services.get(key)!;
    return {
      position,
      index: order.indexOf(key),
      key,
      vip: svc.clusterIP,
      port: svc.port,
      protocol: svc.protocol as 'TCP' | 'UDP',
      endpoints: (s.endpoints.get(key) ?? []).filter((e) => e.ready).map((e) => ({ ip: e.ip, port: e.port })),
    };
  });
}

/** The service port whose endpoint the partial syncs replace: just before the median, so no probed service changes. */
export function changedServiceKey(s: ProxySnapshot, order: readonly string[]): string | null {
  const withEps = order.filter((k) => (s.endpoints.get(k) ?? []).length > 0);
  if (withEps.length === 0) return null;
  const mid = Math.floor((withEps.length - 1) / 2);
  return withEps[Math.max(0, mid - 1)]!;
}

/** The nfacct counters a ruleset matches on. */
export function nfacctNames(text: string): string[] {
  return [...new Set([...text.matchAll(/--nfacct-name +(\S+)/g)].map((m) => m[1]!))];
}

const EMPTY_TABLES = '*filter\nCOMMIT\n*nat\nCOMMIT\n';

export interface IptablesPlanOptions {
  restoreMode?: 'full' | 'minimized';
}

/** The synced iptables backend of a case, with its initial-sync and partial-sync inputs and counts. */
interface IptablesSyncs {
  backend: IptablesBackend;
  rendered: string;
  fullCounts: Counts;
  partials: Array<{ input: string; counts: Counts }>;
  probes: ProbeTarget[];
}

function iptablesSyncs(cc: CaseCluster, o: IptablesPlanOptions): IptablesSyncs {
  const backend = createIptablesBackend({ node: cc.node, restoreMode: o.restoreMode ?? 'minimized' });
  const all = new Set(cc.snapshot.services.keys());
  const r0 = backend.sync({ snapshot: cc.snapshot, changed: all, now: 0 });
  const rendered = backend.render()['iptables-save']!;
  const order = backend.serviceOrder();
  const probes = probeTargets(cc.snapshot, order);
  const partials: Array<{ input: string; counts: Counts }> = [];
  const key = changedServiceKey(cc.snapshot, order);
  if (key !== null) {
    const changed = replaceOneEndpoint(cc.snapshot, key);
    const r1 = backend.sync({ snapshot: changed, changed: new Set([key]), now: 1 });
    partials.push({ input: backend.lastRestoreInput(), counts: numericCounts(r1) });
    const r2 = backend.sync({ snapshot: cc.snapshot, changed: new Set([key]), now: 2 });
    partials.push({ input: backend.lastRestoreInput(), counts: numericCounts(r2) });
  }
  return { backend, rendered, fullCounts: numericCounts(r0), partials, probes };
}

/** The two iptables flavours' plans (the same ruleset; only the tool differs). */
export function iptablesPlans(cc: CaseCluster, o: IptablesPlanOptions = {}): DataPlanePlan[] {
  const s = iptablesSyncs(cc, o);
  const lookup = (pkt: Packet): Counts => numericCounts(s.backend.lookup(pkt, ZERO_RNG, 3));
  return (['legacy', 'nft'] as const).map((flavor) => {
    const restore = `iptables-${flavor}-restore`;
    const step = (stdin: string, noflush = true): LoadStep => ({ tool: restore, args: noflush ? ['--noflush', '--counters'] : [], stdin });
    return {
      flavour: `iptables-${flavor}`,
      model: 'iptables',
      tools: [restore, 'nfacct'],
      setup: nfacctNames(s.rendered).map((n) => ({ tool: 'nfacct', args: ['add', n] })),
      reset: [step(EMPTY_TABLES, false)],
      prepare: [],
      // the whole ruleset in one flush-mode restore: with --noflush, iptables-nft 1.8.9 checks every declared chain
      // against the kernel one by one (10 s for 11,000 new chains here, against 0.6 s flushed), which would make the
      // full load of the nft flavour a measure of that path alone
      full: [step(s.rendered, false)],
      fullCounts: s.fullCounts,
      partials: s.partials.map((p): PartialSync => ({ steps: [step(p.input)], counts: p.counts })),
      probes: s.probes,
      lookup,
    };
  });
}

/** `ipset save` text → its `add` lines. */
function ipsetAdds(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('add '));
}

/** IPVS mode's ipsets: `ipset restore` of every set, and per-entry `ipset add`/`del` for one endpoint change. */
export function ipvsPlan(cc: CaseCluster, hasIpvs: boolean): DataPlanePlan {
  const backend = createIpvsBackend({ node: cc.node });
  const all = new Set(cc.snapshot.services.keys());
  const r0 = backend.sync({ snapshot: cc.snapshot, changed: all, now: 0 });
  const r = backend.render();
  const sets0 = r['ipset save'] ?? '';
  const order = [...cc.snapshot.services.keys()].sort();
  const partials: PartialSync[] = [];
  const key = changedServiceKey(cc.snapshot, order);
  if (key !== null) {
    let prev = new Set(ipsetAdds(sets0));
    for (const [snap, now] of [[replaceOneEndpoint(cc.snapshot, key), 1], [cc.snapshot, 2]] as const) {
      const res = backend.sync({ snapshot: snap, changed: new Set([key]), now });
      const cur = new Set(ipsetAdds(backend.render()['ipset save'] ?? ''));
      const steps: LoadStep[] = [];
      for (const l of prev) if (!cur.has(l)) steps.push({ tool: 'ipset', args: ['del', ...l.split(' ').slice(1, 3)] });
      for (const l of cur) if (!prev.has(l)) steps.push({ tool: 'ipset', args: l.split(' ') });
      partials.push({ steps, counts: { ...numericCounts(res), fixed: 0, ipset_entries: 0, ipset_processes: steps.length } });
      prev = cur;
    }
  }
  const full: LoadStep[] = [{ tool: 'ipset', args: ['restore'], stdin: sets0 }];
  if (hasIpvs && r['ipvsadm -S -n'] !== undefined) full.push({ tool: 'ipvsadm', args: ['-R'], stdin: r['ipvsadm -S -n'] });
  return {
    flavour: 'ipvs',
    model: 'ipvs',
    tools: hasIpvs ? ['ipset', 'ipvsadm'] : ['ipset'],
    setup: [],
    reset: [...(hasIpvs ? [{ tool: 'ipvsadm', args: ['-C'] }] : []), { tool: 'ipset', args: ['destroy'] }],
    prepare: [],
    full,
    fullCounts: { ...numericCounts(r0), fixed: 1, ipset_entries: ipsetAdds(sets0).length, ipset_processes: 0 },
    // an endpoint on another node is in no set (KUBE-LOOP-BACK holds this node's endpoints): nothing to time then
    partials: partials.some((p) => p.steps.length > 0) ? partials : [],
    probes: [],
    note: hasIpvs ? undefined : 'ipvs: this kernel has no IPVS (ip_vs): only its ipsets are loaded (ipset restore), no ipvsadm -R and no first packets',
    // membership in the sets is what a packet costs in IPVS mode's iptables rules; no forwarding without IPVS
  } satisfies DataPlanePlan & { note?: string };
}

/**
 * A data plane that loads by transactions (nftables: `nft -f -`): a full transaction and the partial ones of a
 * one-endpoint change and its reversal, with their counts.
 */
export function transactionPlan(p: {
  flavour: string;
  model: string;
  reset: string;
  full: string;
  fullCounts: Counts;
  partials: Array<{ text: string; counts: Counts }>;
  probes: ProbeTarget[];
  lookup?: (pkt: Packet) => Counts;
}): DataPlanePlan {
  const nft = (stdin: string): LoadStep => ({ tool: 'nft', args: ['-f', '-'], stdin });
  return {
    flavour: p.flavour,
    model: p.model,
    tools: ['nft'],
    setup: [],
    reset: [nft(p.reset)],
    prepare: [],
    full: [nft(p.full)],
    fullCounts: p.fullCounts,
    partials: p.partials.map((x) => ({ steps: [nft(x.text)], counts: x.counts })),
    probes: p.probes,
    lookup: p.lookup,
  };
}

export type { ProxyNodeConfig };
