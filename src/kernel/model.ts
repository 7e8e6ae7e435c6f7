/**
 * The cost model's terms as the kernel rows see them: which counted features each data plane's sync and first
 * packet cost are fitted on, the committed default coefficients in those terms, and the calibration file.
 *
 * Features are named after the counts (SyncResult / LookupResult fields) plus derived terms:
 * - `fixed`: 1 per restore / per first packet (process start and table read; conntrack entry and NAT set-up);
 * - `rules_written_sq`, `rules_in_kernel_sq`: the count squared / 10^6 — full loads grow faster than linearly
 *   (legacy: ~10 µs per rule at 31,000 rules, 14 µs at 310,000, which a linear term plus a quadratic one fits and
 *   rules · log(rules) does not; iptables-nft's full load more so); the coefficient is seconds per (10^3 rules)²;
 * - IPVS mode's ipsets: `ipset_entries` entries loaded by one `ipset restore`, `ipset_processes` one-entry processes.
 */
import type { Counts } from './plan.js';
import { DEFAULT_COSTS } from '../proxy/cost.js';

export type Coefficients = Record<string, number>;

export interface FlavourModel {
  sync: Coefficients;
  firstPacket: Coefficients;
}

export const SYNC_FEATURES: Record<string, string[]> = {
  iptables: ['fixed', 'rules_written', 'rules_in_kernel', 'rules_written_sq', 'rules_in_kernel_sq'],
  ipvs: ['fixed', 'ipset_entries', 'ipset_processes'],
  nftables: ['fixed', 'rules_written', 'chains_written', 'elements_written', 'bytes_written'],
};
export const LOOKUP_FEATURES: Record<string, string[]> = {
  iptables: ['fixed', 'rules_evaluated'],
  ipvs: ['fixed', 'hash_probes', 'set_lookups'],
  nftables: ['fixed', 'rules_evaluated', 'hash_probes'],
};

/** Sync features of a sync's counts. */
export function syncFeatures(counts: Counts): Counts {
  const k = counts.rules_in_kernel ?? 0;
  const w = counts.rules_written ?? 0;
  return { ...counts, fixed: counts.fixed ?? 1, rules_written_sq: (w * w) / 1e6, rules_in_kernel_sq: (k * k) / 1e6 };
}

/** First-packet features of a lookup's counts. */
export function lookupFeatures(counts: Counts): Counts {
  return { ...counts, fixed: 1 };
}

/** The committed defaults (src/proxy/cost.ts) in these terms, per model kind. */
export function defaultModel(model: string): FlavourModel {
  const c = DEFAULT_COSTS;
  if (model === 'iptables') {
    return { sync: { fixed: c.restoreFixed, rules_written: c.perRuleWritten, rules_in_kernel: c.perRuleInKernel }, firstPacket: { rules_evaluated: c.perRuleEvaluated } };
  }
  if (model === 'ipvs') return { sync: { ipset_processes: c.perIpsetOp }, firstPacket: { hash_probes: c.perHashProbe, set_lookups: c.perSetLookup } };
  return { sync: {}, firstPacket: {} };
}

/** A calibration file (`kpbench calibrate`). */
export interface Calibration {
  kind: 'kpbench-calibration';
  version: 1;
  date: string;
  machine: { cpu: string; cores: number };
  kernel: string;
  tools: Record<string, string>;
  /** The kernel run it was fitted from. */
  source: string;
  /** Coefficients per flavour (backend column of the kernel rows: iptables-legacy, iptables-nft, nftables, ipvs). */
  dataplanes: Record<string, FlavourModel & { model: string; fit: { sync: FitSummary; firstPacket: FitSummary | null } }>;
}

export interface FitSummary {
  n: number;
  maxRelError: number;
  rmsRelError: number;
}

/** Σ coefficient · feature. */
export function evaluate(c: Coefficients, x: Counts): number {
  let s = 0;
  for (const [k, v] of Object.entries(c)) s += v * (x[k] ?? 0);
  return s;
}
