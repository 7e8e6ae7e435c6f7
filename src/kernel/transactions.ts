/**
 * Kernel support for a data plane loaded by transactions (nftables mode: `nft -f -`): the backend's first
 * transaction (the whole table), then those of one endpoint change and of its reversal, exactly as the backend
 * wrote them; first packets to the first, median and last service (by key: a verdict map has no order that matters).
 * A backend declares it with `kernel: transactionSupport({...})` in its definition.
 */
import type { Backend, Packet } from '../types.js';
import type { CaseCluster } from './cluster.js';
import { allKeys, changedServiceKey, probeTargets, replaceOneEndpoint, ZERO_RNG } from './helpers.js';
import type { KernelSupport, LoadStep, PartialSync } from './plan.js';

export interface TransactionSupportSpec<O> {
  /** The variant name (backend column). */
  name: string;
  /** The tool that applies a transaction from stdin (e.g. nft with -f -) and the Debian package that ships it. */
  tool: string;
  args: string[];
  pkg: string;
  /** A transaction that empties the data plane. */
  reset: string;
  create(cc: CaseCluster, options: O): Backend;
  /** The transaction the backend wrote in its last sync. */
  transaction(b: Backend): string;
  /**
   * What the proxier reads from the data plane on every sync before it writes (nftables mode lists the table's
   * chains and sets): run and timed with each sync, the full load's too (the initial sync lists an empty table),
   * so the kernel rows measure what the model charges.
   */
  readsPerSync?: string[][];
}

export function transactionSupport<O>(spec: TransactionSupportSpec<O>): KernelSupport<O> {
  return {
    variants: [{ name: spec.name, options: {}, tools: { [spec.tool]: spec.pkg } }],
    plan: (cc, options) => {
      const backend = spec.create(cc, options);
      const step = (stdin: string): LoadStep => ({ tool: spec.tool, args: spec.args, stdin });
      const r0 = backend.sync({ snapshot: cc.snapshot, changed: allKeys(cc.snapshot), now: 0 });
      const full = spec.transaction(backend);
      const order = [...cc.snapshot.services.keys()].sort();
      const partials: PartialSync[] = [];
      const key = changedServiceKey(cc.snapshot, order);
      const reads: LoadStep[] = (spec.readsPerSync ?? []).map((args) => ({ tool: spec.tool, args }));
      if (key !== null) {
        const r1 = backend.sync({ snapshot: replaceOneEndpoint(cc.snapshot, key), changed: new Set([key]), now: 1 });
        partials.push({ steps: [...reads, step(spec.transaction(backend))], counts: { ...r1.counts }, mode: r1.mode });
        const r2 = backend.sync({ snapshot: cc.snapshot, changed: new Set([key]), now: 2 });
        partials.push({ steps: [...reads, step(spec.transaction(backend))], counts: { ...r2.counts }, mode: r2.mode });
      }
      return {
        tools: [spec.tool],
        setup: [],
        reset: [step(spec.reset)],
        prepare: [],
        full: [...reads, step(full)],
        fullCounts: { ...r0.counts },
        partials,
        probes: probeTargets(cc.snapshot, order),
        lookup: (pkt: Packet) => ({ ...backend.lookup(pkt, ZERO_RNG, 3).counts }),
      };
    },
  };
}
