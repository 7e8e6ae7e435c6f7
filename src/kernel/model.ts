/**
 * The cost model as kernel mode uses it: each data plane's own model from the backend registry
 * (`definition.cost(options, calibration)`), for the variant a kernel row measures (iptables-legacy, ...).
 *
 * The fit needs the model as a sum of coefficient × feature. Every registered cost model is linear in its
 * coefficients, so the feature of coefficient k for a sync (or a first packet) is the model's time with k = 1 and
 * every other coefficient 0: no data plane's terms are restated here.
 */
import type { BackendKind, LookupResult, SyncResult } from '../types.js';
import { backendDefinition } from '../backends/registry.js';
import type { Counts } from './plan.js';

/** A data plane as kernel mode runs it: a registered kind with the options that select one variant. */
export interface Variant {
  /** The backend column of the kernel rows and the calibration key. */
  name: string;
  kind: BackendKind;
  options: Record<string, unknown>;
}

export type Coefficients = Record<string, number>;

/** The parsed options of a variant, on top of the scenario's `proxy.<kind>` options. */
export function variantOptions(v: Variant, scenarioOptions: unknown = {}): unknown {
  return backendDefinition(v.kind).optionsSchema.parse({ ...(scenarioOptions as object), ...v.options });
}

/** The variant's model: seconds of a sync (its counts) and of a first packet (its counts). */
export interface VariantModel {
  coefficients: Coefficients;
  syncSeconds(counts: Counts, mode?: 'full' | 'partial'): number;
  lookupSeconds(counts: Counts): number;
}

function lookupOf(counts: Counts): LookupResult {
  return { verdict: 'DNAT', endpoint: null, serviceKey: '', masquerade: false, counts };
}

export function variantModel(v: Variant, calibration?: Coefficients, scenarioOptions?: unknown): VariantModel {
  const def = backendDefinition(v.kind);
  const cm = def.cost(variantOptions(v, scenarioOptions), calibration);
  return {
    coefficients: { ...cm.coefficients },
    syncSeconds: (counts, mode = 'full') => cm.syncSeconds({ mode, counts } as SyncResult),
    lookupSeconds: (counts) => cm.lookupSeconds(lookupOf(counts)),
  };
}

/** Coefficient names of the variant's model. */
export function coefficientNames(v: Variant): string[] {
  return Object.keys(backendDefinition(v.kind).coefficients(variantOptions(v)));
}

/** The feature of each coefficient for a sync's counts (the model's time with that coefficient alone at 1). */
export function syncFeatures(v: Variant, counts: Counts, mode: 'full' | 'partial' = 'full'): Counts {
  const names = coefficientNames(v);
  const out: Counts = {};
  for (const k of names) out[k] = variantModel(v, unit(names, k)).syncSeconds(counts, mode);
  return out;
}

export function lookupFeatures(v: Variant, counts: Counts): Counts {
  const names = coefficientNames(v);
  const out: Counts = {};
  for (const k of names) out[k] = variantModel(v, unit(names, k)).lookupSeconds(counts);
  return out;
}

function unit(names: readonly string[], k: string): Coefficients {
  const c: Coefficients = {};
  for (const n of names) c[n] = n === k ? 1 : 0;
  return c;
}

/** A calibration file (`kpbench calibrate`): coefficients per variant, with where and how they were measured. */
export interface Calibration {
  kind: 'kpbench-calibration';
  version: 1;
  date: string;
  machine: { cpu: string; cores: number };
  kernel: string;
  tools: Record<string, string>;
  /** The kernel run it was fitted from. */
  source: string;
  /** Coefficient values by variant (iptables-legacy, iptables-nft, nftables) and name. */
  coefficients: Record<string, Coefficients>;
  /** How well each variant's fit matches its kernel rows. */
  fits: Record<string, { sync: FitSummary | null; firstPacket: FitSummary | null }>;
}

export interface FitSummary {
  n: number;
  maxRelError: number;
  rmsRelError: number;
  /** The coefficients this fit set (the others keep their defaults). */
  fitted: string[];
}
