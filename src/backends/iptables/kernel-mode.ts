/**
 * Kernel mode (`kpbench kernel`) for kube-proxy's iptables mode, both flavours (the same ruleset, another tool):
 * - full load: the whole rendered ruleset (`iptables-save` form, jump rules included) in one flush-mode restore,
 *   nfacct counters created first as kube-proxy does over netlink. With --noflush, iptables-nft 1.8.9 checks every
 *   declared chain against the kernel one by one (10 s for 11,000 new chains here, against 0.6 s flushed), which
 *   would make the nft flavour's full load a measure of that path alone.
 * - partial syncs: kube-proxy's exact `iptables-restore --noflush --counters` input (`lastRestoreInput()`) after one
 *   endpoint of one service is replaced, and after it is put back.
 * - first packets to the first, median and last service of KUBE-SERVICES; counted by the backend's own walk.
 */
import type { Packet } from '../../types.js';
import type { KernelSupport, LoadStep, PartialSync, PlanParts } from '../../kernel/plan.js';
import { allKeys, changedServiceKey, probeTargets, replaceOneEndpoint, ZERO_RNG } from '../../kernel/helpers.js';
import type { CaseCluster } from '../../kernel/cluster.js';
import { IptablesBackend } from './backend.js';

/** The nfacct counters a ruleset matches on. */
export function nfacctNames(text: string): string[] {
  return [...new Set([...text.matchAll(/--nfacct-name +(\S+)/g)].map((m) => m[1]!))];
}

const EMPTY_TABLES = '*filter\nCOMMIT\n*nat\nCOMMIT\n';

interface Opts {
  flavor: 'legacy' | 'nft';
}

/** What both flavours load: the same ruleset and partial inputs (another tool), so built once per case and options. */
interface Rendered {
  rendered: string;
  fullCounts: Record<string, number>;
  partials: Array<{ input: string; counts: Record<string, number>; mode: PartialSync['mode'] }>;
  probes: PlanParts['probes'];
  lookup: NonNullable<PlanParts['lookup']>;
}

const renderedByCase = new WeakMap<CaseCluster, Map<string, Rendered>>();

function renderOnce<O extends Opts>(cc: CaseCluster, options: O): Rendered {
  const key = JSON.stringify({ ...options, flavor: undefined });
  let byOptions = renderedByCase.get(cc);
  if (byOptions === undefined) renderedByCase.set(cc, (byOptions = new Map()));
  const hit = byOptions.get(key);
  if (hit !== undefined) return hit;
  const backend = new IptablesBackend({ node: cc.node, ...options });
  const r0 = backend.sync({ snapshot: cc.snapshot, changed: allKeys(cc.snapshot), now: 0 });
  const order = backend.serviceOrder();
  const out: Rendered = {
    rendered: backend.render()['iptables-save']!,
    fullCounts: { ...r0.counts },
    partials: [],
    probes: probeTargets(cc.snapshot, order),
    lookup: (pkt: Packet) => ({ ...backend.lookup(pkt, ZERO_RNG, 3).counts }),
  };
  const key1 = changedServiceKey(cc.snapshot, order);
  if (key1 !== null) {
    const r1 = backend.sync({ snapshot: replaceOneEndpoint(cc.snapshot, key1), changed: new Set([key1]), now: 1 });
    out.partials.push({ input: backend.lastRestoreInput(), counts: { ...r1.counts }, mode: r1.mode });
    const r2 = backend.sync({ snapshot: cc.snapshot, changed: new Set([key1]), now: 2 });
    out.partials.push({ input: backend.lastRestoreInput(), counts: { ...r2.counts }, mode: r2.mode });
  }
  byOptions.set(key, out);
  return out;
}

export function iptablesPlan<O extends Opts>(cc: CaseCluster, options: O): PlanParts {
  const r = renderOnce(cc, options);
  const restore = `iptables-${options.flavor}-restore`;
  const step = (stdin: string, noflush = true): LoadStep => ({ tool: restore, args: noflush ? ['--noflush', '--counters'] : [], stdin });
  return {
    tools: [restore, 'nfacct'],
    setup: nfacctNames(r.rendered).map((n) => ({ tool: 'nfacct', args: ['add', n] })),
    reset: [step(EMPTY_TABLES, false)],
    prepare: [],
    full: [step(r.rendered, false)],
    fullCounts: { ...r.fullCounts },
    partials: r.partials.map((p) => ({ steps: [step(p.input)], counts: { ...p.counts }, mode: p.mode })),
    probes: r.probes,
    lookup: r.lookup,
  };
}

export function iptablesKernelSupport<O extends Opts>(): KernelSupport<O> {
  return {
    variants: [
      {
        name: 'iptables-legacy',
        options: { flavor: 'legacy' } as Partial<O>,
        tools: { 'iptables-legacy-restore': 'iptables', nfacct: 'nfacct' },
      },
      { name: 'iptables-nft', options: { flavor: 'nft' } as Partial<O>, tools: { 'iptables-nft-restore': 'iptables', nfacct: 'nfacct' } },
    ],
    plan: (cc, options) => iptablesPlan(cc, options),
  };
}
