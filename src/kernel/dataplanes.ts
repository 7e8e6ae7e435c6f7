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
import type { Backend, EndpointInfo, Packet, ProxySnapshot, Rng } from '../types.js';
import { createBackend, isBackendKind } from '../backends/registry.js';
import type { CaseCluster } from './cluster.js';
import { variantOptions, type Variant } from './model.js';
import type { Counts, DataPlanePlan, LoadStep, PartialSync, ProbeTarget } from './plan.js';

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

/** The non-interface extras of the iptables backend kernel mode uses. */
interface IptablesExtras extends Backend {
  lastRestoreInput(): string;
  serviceOrder(): readonly string[];
}

/** Every service port of the snapshot, as changed (the initial sync). */
function allKeys(s: ProxySnapshot): Set<string> {
  return new Set(s.services.keys());
}

/** The iptables plan of one flavour: the ruleset the iptables backend writes for the case, and its partial syncs. */
export function iptablesPlan(cc: CaseCluster, v: Variant, scenarioOptions: unknown): DataPlanePlan {
  const options = variantOptions(v, scenarioOptions) as { flavor: 'legacy' | 'nft' };
  const backend = createBackend('iptables', cc.node, options) as IptablesExtras;
  const r0 = backend.sync({ snapshot: cc.snapshot, changed: allKeys(cc.snapshot), now: 0 });
  const rendered = backend.render()['iptables-save']!;
  const order = backend.serviceOrder();
  const probes = probeTargets(cc.snapshot, order);
  const restore = `iptables-${options.flavor}-restore`;
  const step = (stdin: string, noflush = true): LoadStep => ({ tool: restore, args: noflush ? ['--noflush', '--counters'] : [], stdin });
  const partials: PartialSync[] = [];
  const key = changedServiceKey(cc.snapshot, order);
  if (key !== null) {
    const r1 = backend.sync({ snapshot: replaceOneEndpoint(cc.snapshot, key), changed: new Set([key]), now: 1 });
    partials.push({ steps: [step(backend.lastRestoreInput())], counts: { ...r1.counts }, mode: r1.mode });
    const r2 = backend.sync({ snapshot: cc.snapshot, changed: new Set([key]), now: 2 });
    partials.push({ steps: [step(backend.lastRestoreInput())], counts: { ...r2.counts }, mode: r2.mode });
  }
  return {
    flavour: v.name,
    variant: v,
    tools: [restore, 'nfacct'],
    setup: nfacctNames(rendered).map((n) => ({ tool: 'nfacct', args: ['add', n] })),
    reset: [step(EMPTY_TABLES, false)],
    prepare: [],
    // the whole ruleset in one flush-mode restore: with --noflush, iptables-nft 1.8.9 checks every declared chain
    // against the kernel one by one (10 s for 11,000 new chains here, against 0.6 s flushed), which would make the
    // full load of the nft flavour a measure of that path alone
    full: [step(rendered, false)],
    fullCounts: { ...r0.counts },
    partials,
    probes,
    lookup: (pkt: Packet): Counts => ({ ...backend.lookup(pkt, ZERO_RNG, 3).counts }),
  };
}

/** `ipset save` text → its `add` lines. */
function ipsetAdds(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('add '));
}

/**
 * IPVS mode's ipsets: `ipset restore` of every set, and per-entry `ipset add`/`del` for one endpoint change.
 * Informational (`calibrates: false`): without IPVS in the kernel this is not what the IPVS model times.
 */
export function ipvsPlan(cc: CaseCluster, v: Variant, scenarioOptions: unknown, hasIpvs: boolean): DataPlanePlan {
  const backend = createBackend('ipvs', cc.node, variantOptions(v, scenarioOptions));
  const r0 = backend.sync({ snapshot: cc.snapshot, changed: allKeys(cc.snapshot), now: 0 });
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
      partials.push({ steps, counts: { ...res.counts, ipset_processes: steps.length }, mode: res.mode });
      prev = cur;
    }
  }
  const full: LoadStep[] = [{ tool: 'ipset', args: ['restore'], stdin: sets0 }];
  if (hasIpvs && r['ipvsadm -S -n'] !== undefined) full.push({ tool: 'ipvsadm', args: ['-R'], stdin: r['ipvsadm -S -n'] });
  return {
    flavour: v.name,
    variant: v,
    calibrates: false,
    tools: hasIpvs ? ['ipset', 'ipvsadm'] : ['ipset'],
    setup: [],
    reset: [...(hasIpvs ? [{ tool: 'ipvsadm', args: ['-C'] }] : []), { tool: 'ipset', args: ['destroy'] }],
    prepare: [],
    full,
    fullCounts: { ...r0.counts, ipset_entries: ipsetAdds(sets0).length },
    // an endpoint on another node is in no set (KUBE-LOOP-BACK holds this node's endpoints): nothing to time then
    partials: partials.some((p) => p.steps.length > 0) ? partials : [],
    probes: [],
  };
}

/** The non-interface extra of the nftables backend kernel mode uses. */
interface NftablesExtras extends Backend {
  lastTransaction(): string;
}

/**
 * nftables mode: the transactions kube-proxy gives `nft -f` — the initial one (the whole table) and those of one
 * endpoint change and its reversal — against the nftables backend's own output.
 */
export function nftablesPlan(cc: CaseCluster, v: Variant, scenarioOptions: unknown): DataPlanePlan {
  const backend = createBackend(v.kind, cc.node, variantOptions(v, scenarioOptions)) as NftablesExtras;
  if (typeof backend.lastTransaction !== 'function') throw new Error(`backend ${v.kind} has no lastTransaction()`);
  const r0 = backend.sync({ snapshot: cc.snapshot, changed: allKeys(cc.snapshot), now: 0 });
  const full = backend.lastTransaction();
  // service order: nftables has none that matters (one verdict-map lookup); the probes use the key order
  const order = [...cc.snapshot.services.keys()].sort();
  const nft = (stdin: string): LoadStep => ({ tool: 'nft', args: ['-f', '-'], stdin });
  const partials: PartialSync[] = [];
  const key = changedServiceKey(cc.snapshot, order);
  if (key !== null) {
    const r1 = backend.sync({ snapshot: replaceOneEndpoint(cc.snapshot, key), changed: new Set([key]), now: 1 });
    partials.push({ steps: [nft(backend.lastTransaction())], counts: { ...r1.counts }, mode: r1.mode });
    const r2 = backend.sync({ snapshot: cc.snapshot, changed: new Set([key]), now: 2 });
    partials.push({ steps: [nft(backend.lastTransaction())], counts: { ...r2.counts }, mode: r2.mode });
  }
  return {
    flavour: v.name,
    variant: v,
    tools: ['nft'],
    setup: [],
    reset: [nft('flush ruleset\n')],
    prepare: [],
    full: [nft(full)],
    fullCounts: { ...r0.counts },
    partials,
    probes: probeTargets(cc.snapshot, order),
    lookup: (pkt: Packet): Counts => ({ ...backend.lookup(pkt, ZERO_RNG, 3).counts }),
  };
}

/** The variants kernel mode knows, with their loaders (only those whose backend is registered in this build). */
export interface KernelVariant extends Variant {
  tools: string[];
  build: 'iptables' | 'nftables' | 'ipvs';
}

const ALL_VARIANTS: KernelVariant[] = [
  { name: 'iptables-legacy', kind: 'iptables', options: { flavor: 'legacy' }, tools: ['iptables-legacy-restore', 'nfacct'], build: 'iptables' },
  { name: 'iptables-nft', kind: 'iptables', options: { flavor: 'nft' }, tools: ['iptables-nft-restore', 'nfacct'], build: 'iptables' },
  { name: 'nftables', kind: 'nftables', options: {}, tools: ['nft'], build: 'nftables' },
  { name: 'ipvs', kind: 'ipvs', options: {}, tools: ['ipset'], build: 'ipvs' },
];
export const KERNEL_VARIANTS: readonly KernelVariant[] = ALL_VARIANTS.filter((v) => isBackendKind(v.kind));
