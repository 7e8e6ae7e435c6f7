/**
 * What a kernel run loads, per data plane: a generic description, so each data plane only says which tool gets
 * which input. A data plane gives:
 * - `setup`: once per namespace, untimed (objects the ruleset refers to: nfacct counters);
 * - `reset` then `prepare`: untimed, before each full load (empty the data plane; what kube-proxy sets up outside
 *   the restore: its chains and the jump rules in the built-in chains);
 * - `full`: timed, the whole ruleset of the initial sync, as the tool gets it from kube-proxy;
 * - `partials`: timed, the exact input of a sync after one endpoint change, applied in turn after a full load
 *   (the list is a cycle: each input applies to the state the previous one left, so they can repeat);
 * - the counted work of those syncs (the backend's own counts, the features the calibration fits on);
 * - `lookup`: the backend's counted first-packet work for a packet the prober sends.
 * Each backend declares its kernel support in its definition (`kernel`: KernelSupport below, in its folder's
 * kernel-mode.ts); transaction-loaded data planes (nftables' `nft -f -`) can use `transactionSupport`.
 */
import type { Packet } from '../types.js';
import type { Variant } from './model.js';
import type { CaseCluster } from './cluster.js';

/** One process: `tool args...` with `stdin` as its input. */
export interface LoadStep {
  tool: string;
  args: string[];
  stdin?: string;
}

export type Counts = Record<string, number>;

export interface PartialSync {
  steps: LoadStep[];
  counts: Counts;
  mode: 'full' | 'partial';
}

/** A service the prober connects to: its VIP and port, and its endpoints (the responder listens on them). */
export interface ProbeTarget {
  /** 'first' | 'median' | 'last' in the data plane's service order. */
  position: string;
  /** 0-based index in that order. */
  index: number;
  key: string;
  vip: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  endpoints: Array<{ ip: string; port: number }>;
}

export interface DataPlanePlan {
  /** The backend column of the kernel rows: the variant's name (iptables-legacy, iptables-nft, ...). */
  flavour: string;
  /** The registered backend and options the rows model. */
  variant: Variant;
  /** false: what is loaded is not what the model times (IPVS without IPVS in the kernel): no fit, no model rows. */
  calibrates?: boolean;
  /** Tools the plan runs. */
  tools: string[];
  setup: LoadStep[];
  reset: LoadStep[];
  prepare: LoadStep[];
  full: LoadStep[];
  fullCounts: Counts;
  partials: PartialSync[];
  /** Services to probe (none: the data plane does not forward here, e.g. ipsets alone). */
  probes: ProbeTarget[];
  /** Counted first-packet work of a packet, from the backend's own walk. */
  lookup?: (pkt: Packet) => Counts;
  /** A line saying why part of this data plane does not run here (printed, then the run goes on). */
  note?: string;
}

/** What a backend's plan builder returns: the plan without the variant, which the runner adds. */
export type PlanParts = Omit<DataPlanePlan, 'flavour' | 'variant'>;

/** One variant kernel mode runs: its name (backend column, calibration key) and the options that select it. */
export interface KernelVariantSpec<O> {
  name: string;
  options: Partial<O>;
  /** Tools it runs → the Debian package that ships each (checked before anything is touched). */
  tools: Record<string, string>;
  /** false: what can be loaded is not what the model times here (no fit, no modelled rows). */
  calibrates?: boolean;
}

/** How `kpbench kernel` loads a data plane into the real kernel (BackendDefinition.kernel). */
export interface KernelSupport<O> {
  variants: ReadonlyArray<KernelVariantSpec<O>>;
  /** Optional kernel features: a command each, run in a scratch namespace (exit 0: present). */
  features?: Readonly<Record<string, readonly string[]>>;
  /** A line per missing feature that limits what runs (printed once, then the run goes on). */
  featureNotes?(features: Readonly<Record<string, boolean>>): string[];
  /** The plan of one case for these options (the variant's options applied). */
  plan(cc: CaseCluster, options: O, features: Readonly<Record<string, boolean>>): PlanParts;
}
