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

export function iptablesPlan<O extends Opts>(cc: CaseCluster, options: O): PlanParts {
  const backend = new IptablesBackend({ node: cc.node, ...options });
  const r0 = backend.sync({ snapshot: cc.snapshot, changed: allKeys(cc.snapshot), now: 0 });
  const rendered = backend.render()['iptables-save']!;
  const order = backend.serviceOrder();
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
    tools: [restore, 'nfacct'],
    setup: nfacctNames(rendered).map((n) => ({ tool: 'nfacct', args: ['add', n] })),
    reset: [step(EMPTY_TABLES, false)],
    prepare: [],
    full: [step(rendered, false)],
    fullCounts: { ...r0.counts },
    partials,
    probes: probeTargets(cc.snapshot, order),
    lookup: (pkt: Packet) => ({ ...backend.lookup(pkt, ZERO_RNG, 3).counts }),
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
