/**
 * Kernel mode (`kpbench kernel`) for kube-proxy's IPVS mode: `ipset restore` of its sets (the full load) and one
 * `ipset add`/`ipset del` process per changed entry for one endpoint change (kube-proxy's ipset util runs one per
 * entry); `ipvsadm -R` of its virtual servers only where the kernel has IPVS. Informational (`calibrates: false`):
 * without IPVS in the kernel this is not what the IPVS model times, and no packet is forwarded.
 */
import type { Backend } from '../../types.js';
import type { KernelSupport, LoadStep, PartialSync, PlanParts } from '../../kernel/plan.js';
import { allKeys, changedServiceKey, replaceOneEndpoint } from '../../kernel/helpers.js';
import type { CaseCluster } from '../../kernel/cluster.js';

/** `ipset save` text → its `add` lines. */
function ipsetAdds(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('add '));
}

export function ipvsPlan(backend: Backend, cc: CaseCluster, hasIpvs: boolean): PlanParts {
  const r0 = backend.sync({ snapshot: cc.snapshot, changed: allKeys(cc.snapshot), now: 0 });
  const r = backend.render();
  const sets0 = r['ipset save'] ?? '';
  const order = [...cc.snapshot.services.keys()].sort();
  const partials: PartialSync[] = [];
  const key = changedServiceKey(cc.snapshot, order);
  if (key !== null) {
    let prev = new Set(ipsetAdds(sets0));
    for (const [snap, now] of [
      [replaceOneEndpoint(cc.snapshot, key), 1],
      [cc.snapshot, 2],
    ] as const) {
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

export function ipvsKernelSupport<O>(create: (cc: CaseCluster, o: O) => Backend): KernelSupport<O> {
  return {
    variants: [{ name: 'ipvs', options: {}, tools: { ipset: 'ipset' }, calibrates: false }],
    features: { ipvs: ['ipvsadm', '-L', '-n'] },
    featureNotes: (f) =>
      f.ipvs ? [] : ['ipvs: this kernel has no IPVS (ip_vs): only its ipsets are loaded (ipset restore), no ipvsadm -R, no first packets'],
    plan: (cc, o, f) => ipvsPlan(create(cc, o), cc, f.ipvs === true),
  };
}
