/**
 * Every metric the harness writes, with its kind (how CI may gate it), unit, better direction and meaning.
 *
 * - counted:  exact work counts, deterministic for a seed (rules written, rules walked, operations).
 * - modelled: virtual time from the cost model, deterministic for a seed.
 * - measured: wall-clock time of the harness's own code (tinybench), noisy; metric names start with "wall_".
 * - kernel:   real time measured in the kernel (`kpbench kernel`), noisy; metric names start with "kernel_".
 * - input:    what the workload did (churn events), deterministic for a seed; never a regression.
 *
 * Two sources: the harness's own metrics below (`METRICS`), and each data plane's counts, which the backend
 * declares in its definition (`BackendCatalogue`: size, sync and lookup sections) and which become rows named
 * `ruleset_<name>`, `initial_sync_<name>`, `sync_<name>` and `first_packet_<name>` (src/metrics/registry.ts
 * assembles the two and answers `metricDef`). A row whose metric neither defines fails the run.
 */
import type { SummaryStatistic } from './stats.js';
import { BACKEND_DEFINITIONS } from '../backends/registry.js';

export type MetricKind = 'counted' | 'modelled' | 'measured' | 'kernel' | 'input';

export interface MetricDef {
  kind: MetricKind;
  unit: string;
  better: 'lower' | 'higher' | 'none';
  description: string;
  /** false: compared and reported, never a regression (a raw wall-clock metric whose _rel form is gated). */
  gate?: boolean;
}

/** One count a backend reports: counted work, always deterministic for a seed. */
export interface CountDef {
  unit: string;
  better: 'lower' | 'higher' | 'none';
  description: string;
  /** The statistics written for the distribution over syncs (sync section) or first packets (lookup section). */
  stats?: readonly SummaryStatistic[];
  /** sync section: also written for the initial (full) sync as `initial_sync_<name>` [true]. */
  initial?: boolean;
  /** A short label: the count is a column of the summary table and part of its verdicts (e.g. 'rules written'). */
  headline?: string;
}

/** A data plane's own counts: what size(), sync() and lookup() return, by name. */
export interface BackendCatalogue {
  /** The programmed ruleset after the initial sync: rows `ruleset_<name>` (statistic value). */
  size: Readonly<Record<string, CountDef>>;
  /** Work per sync: rows `initial_sync_<name>` (value) and `sync_<name>` (the entry's stats, default mean and max). */
  sync: Readonly<Record<string, CountDef>>;
  /** Work per first packet: rows `first_packet_<name>` (the entry's stats, default mean and max). */
  lookup: Readonly<Record<string, CountDef>>;
}

/** The row-name prefix of each catalogue section. */
export const COUNT_PREFIX = { size: 'ruleset_', initialSync: 'initial_sync_', sync: 'sync_', lookup: 'first_packet_' } as const;

/** The statistics of a distribution when a count does not name its own. */
export const DEFAULT_COUNT_STATS: readonly SummaryStatistic[] = ['mean', 'max'];

/** The metrics.csv rows a backend catalogue defines, by row name. */
export function catalogueMetrics(c: BackendCatalogue): Record<string, MetricDef> {
  const out: Record<string, MetricDef> = {};
  const def = (d: CountDef, what: string): MetricDef => ({
    kind: 'counted',
    unit: d.unit,
    better: d.better,
    description: `${d.description}${what}`,
  });
  for (const [n, d] of Object.entries(c.size)) out[COUNT_PREFIX.size + n] = def(d, ' (after the initial sync)');
  for (const [n, d] of Object.entries(c.sync)) {
    if (d.initial !== false) out[COUNT_PREFIX.initialSync + n] = def(d, ', first (full) sync');
    out[COUNT_PREFIX.sync + n] = def(d, ', per sync after the initial one');
  }
  for (const [n, d] of Object.entries(c.lookup)) out[COUNT_PREFIX.lookup + n] = def(d, ', per first packet');
  return out;
}

export const METRICS = {
  // the initial (full) sync
  initial_sync_time: { kind: 'modelled', unit: 's', better: 'lower', description: 'modelled duration of the first, full sync' },
  // syncs after a change
  sync_time: { kind: 'modelled', unit: 's', better: 'lower', description: 'modelled duration of a sync after the initial one' },
  syncs: { kind: 'counted', unit: 'syncs', better: 'lower', description: 'syncs run' },
  // first packets
  first_packet_time: { kind: 'modelled', unit: 's', better: 'lower', description: 'modelled classification time of a first packet' },
  connections: { kind: 'counted', unit: 'connections', better: 'none', description: 'new connections classified' },
  // control loop outcomes
  network_programming_latency: {
    kind: 'modelled',
    unit: 's',
    better: 'lower',
    description: 'time from an endpoint change to its rules being in place',
  },
  node_network_programming_latency_p99: {
    kind: 'modelled',
    unit: 's',
    better: 'lower',
    description: 'p99 network programming latency of one node (min: the best node, max: the worst)',
  },
  failed_requests: {
    kind: 'counted',
    unit: 'requests',
    better: 'lower',
    description: 'requests sent to an endpoint that was no longer a ready pod',
  },
  partial_sync_time: {
    kind: 'modelled',
    unit: 's',
    better: 'lower',
    description: 'modelled duration of a partial (minimized or incremental) sync',
  },
  full_sync_time: { kind: 'modelled', unit: 's', better: 'lower', description: 'modelled duration of a full sync after the initial one' },
  pending_changes: {
    kind: 'counted',
    unit: 'service ports',
    better: 'none',
    description: 'service ports changed since the previous sync, per sync',
  },
  syncs_per_minute: { kind: 'modelled', unit: 'syncs/min', better: 'none', description: 'syncs per minute per node' },
  sync_cpu_seconds_per_node_hour: {
    kind: 'modelled',
    unit: 's/h',
    better: 'lower',
    description: 'modelled CPU-seconds of sync work per node-hour',
  },
  sync_cpu_seconds_per_hour: {
    kind: 'modelled',
    unit: 's/h',
    better: 'lower',
    description: 'modelled CPU-seconds of sync work per hour, all simulated nodes',
  },
  request_classification_time: {
    kind: 'modelled',
    unit: 's',
    better: 'lower',
    description: 'modelled rule-walk time per request (first-packet time over requests per connection)',
  },
  first_packet_cpu_fraction: {
    kind: 'modelled',
    unit: 'cores',
    better: 'lower',
    description: 'modelled CPU spent classifying first packets, per simulated node, as a fraction of one core',
  },
  ingress_connections: {
    kind: 'counted',
    unit: 'connections',
    better: 'none',
    description: 'connections that entered through the ingress (two proxy hops each)',
  },
  ingress_unrouted: { kind: 'counted', unit: 'connections', better: 'lower', description: 'ingress connections no rule routed' },
  // ingress traffic per hop (src/bench/hops.ts): client -> NodePort on a node, then ingress pod -> service ClusterIP
  ingress_nodeport_hop_time: {
    kind: 'modelled',
    unit: 's',
    better: 'lower',
    description: 'modelled first-packet classification time at the NodePort hop (client to ingress pod)',
  },
  ingress_nodeport_hop_connections: {
    kind: 'counted',
    unit: 'connections',
    better: 'none',
    description: 'connections classified at the NodePort hop',
  },
  ingress_nodeport_hop_dnat: {
    kind: 'counted',
    unit: 'connections',
    better: 'none',
    description: 'NodePort-hop connections sent to an ingress pod (DNAT)',
  },
  ingress_nodeport_hop_refused: {
    kind: 'counted',
    unit: 'connections',
    better: 'lower',
    description: 'NodePort-hop connections refused by the rules (REJECT or DROP)',
  },
  ingress_nodeport_hop_stale: {
    kind: 'counted',
    unit: 'connections',
    better: 'lower',
    description: 'NodePort-hop connections decided by rules being replaced',
  },
  ingress_service_hop_time: {
    kind: 'modelled',
    unit: 's',
    better: 'lower',
    description: 'modelled first-packet classification time at the service hop (ingress pod to application pod)',
  },
  ingress_service_hop_connections: {
    kind: 'counted',
    unit: 'connections',
    better: 'none',
    description: 'connections classified at the service hop',
  },
  ingress_service_hop_dnat: {
    kind: 'counted',
    unit: 'connections',
    better: 'none',
    description: 'service-hop connections sent to an application pod (DNAT)',
  },
  ingress_service_hop_refused: {
    kind: 'counted',
    unit: 'connections',
    better: 'lower',
    description: 'service-hop connections refused by the rules (REJECT or DROP)',
  },
  ingress_service_hop_stale: {
    kind: 'counted',
    unit: 'connections',
    better: 'lower',
    description: 'service-hop connections decided by rules being replaced',
  },
  stale_connections: { kind: 'counted', unit: 'connections', better: 'lower', description: 'connections decided by rules being replaced' },
  rejected_connections: {
    kind: 'counted',
    unit: 'connections',
    better: 'lower',
    description: 'connections with no endpoint (REJECT/DROP)',
  },
  requests: { kind: 'counted', unit: 'requests', better: 'none', description: 'requests sent' },
  failed_request_ratio: { kind: 'counted', unit: 'ratio', better: 'lower', description: 'failed requests over requests' },
  lb_chi2_per_dof: {
    kind: 'counted',
    unit: '1',
    better: 'none',
    description: 'chi-square of connections per endpoint against uniform, per degree of freedom (about 1 when uniform)',
  },
  lb_spread: {
    kind: 'counted',
    unit: 'ratio',
    better: 'lower',
    description: '(max - min) connections per endpoint over the expected count, averaged over services',
  },
  conntrack_entries: { kind: 'counted', unit: 'entries', better: 'none', description: 'peak conntrack entries on a node' },
  // the workload's churn events: inputs of the case, reported and compared, never a regression
  churn_rolling_updates: { kind: 'input', unit: 'events', better: 'none', description: 'rolling updates started (workload input)' },
  churn_scale_events: {
    kind: 'input',
    unit: 'events',
    better: 'none',
    description: 'Deployment scale-ups and scale-downs (workload input)',
  },
  churn_crashes: { kind: 'input', unit: 'events', better: 'none', description: 'container crashes (workload input)' },
  churn_flaps: { kind: 'input', unit: 'events', better: 'none', description: 'readiness flaps (workload input)' },
  churn_drains: { kind: 'input', unit: 'events', better: 'none', description: 'node drains (workload input)' },
  churn_services_created: { kind: 'input', unit: 'events', better: 'none', description: 'Services created (workload input)' },
  churn_services_deleted: { kind: 'input', unit: 'events', better: 'none', description: 'Services deleted (workload input)' },
  // measured wall clock of the harness's own code
  wall_lookup_time: {
    kind: 'measured',
    unit: 's',
    better: 'lower',
    gate: false,
    description: 'wall-clock time of one backend lookup (tinybench); reported, its _rel form is gated',
  },
  wall_sync_time: {
    kind: 'measured',
    unit: 's',
    better: 'lower',
    gate: false,
    description: 'wall-clock time of one backend sync after a one-endpoint change (tinybench); reported, its _rel form is gated',
  },
  wall_lookup_time_rel: {
    kind: 'measured',
    unit: 'calibrations',
    better: 'lower',
    description: "wall_lookup_time over the calibration task's time in the same round (median over rounds)",
  },
  wall_sync_time_rel: {
    kind: 'measured',
    unit: 'calibrations',
    better: 'lower',
    description: "wall_sync_time over the calibration task's time in the same round (median over rounds)",
  },
  // the real kernel (kpbench kernel): backend column names the flavour (iptables-legacy, iptables-nft, nftables, ipvs)
  kernel_sync_time: {
    kind: 'kernel',
    unit: 's',
    better: 'lower',
    gate: false,
    description:
      'real tool loading the full ruleset of the initial sync into an empty data plane: CPU seconds (user + system) of its processes (p50/p99 over repetitions)',
  },
  kernel_sync_wall_time: {
    kind: 'kernel',
    unit: 's',
    better: 'lower',
    gate: false,
    description: 'as kernel_sync_time, wall-clock seconds (follows whatever else the machine runs)',
  },
  kernel_partial_sync_time: {
    kind: 'kernel',
    unit: 's',
    better: 'lower',
    gate: false,
    description:
      "real tool applying kube-proxy's exact input for one endpoint change: CPU seconds (user + system) of its processes (p50/p99 over repetitions)",
  },
  kernel_partial_sync_wall_time: {
    kind: 'kernel',
    unit: 's',
    better: 'lower',
    gate: false,
    description: 'as kernel_partial_sync_time, wall-clock seconds (follows whatever else the machine runs)',
  },
  kernel_first_packet_time: {
    kind: 'kernel',
    unit: 's',
    better: 'lower',
    gate: false,
    description:
      "round trip of a new TCP connection's first packet (the blocking connect() call: SYN through the rules and DNAT, SYN-ACK back) to the median service in rule order; p50: the median of the rounds' medians",
  },
  kernel_first_packet_time_first: {
    kind: 'kernel',
    unit: 's',
    better: 'lower',
    gate: false,
    description: 'as kernel_first_packet_time, first service in rule order',
  },
  kernel_first_packet_time_median: {
    kind: 'kernel',
    unit: 's',
    better: 'lower',
    gate: false,
    description: 'as kernel_first_packet_time, median service in rule order',
  },
  kernel_first_packet_time_last: {
    kind: 'kernel',
    unit: 's',
    better: 'lower',
    gate: false,
    description: 'as kernel_first_packet_time, last service in rule order',
  },
  kernel_connect_time_norules: {
    kind: 'kernel',
    unit: 's',
    better: 'none',
    gate: false,
    description: 'TCP connect() straight to an endpoint before any rule is loaded (the baseline)',
  },
  kernel_first_packet_slope: {
    kind: 'kernel',
    unit: 'ns/rule',
    better: 'lower',
    gate: false,
    description:
      'least-squares slope of first-packet time over rules walked (first, median, last service; statistic mean at services 0: pooled over the sweep)',
  },
  kernel_first_packet_slope_per_service: {
    kind: 'kernel',
    unit: 'ns/service',
    better: 'lower',
    gate: false,
    description: 'least-squares slope of first-packet time over the service position in rule order (first, median, last)',
  },
  first_packet_rules_evaluated_first: {
    kind: 'counted',
    unit: 'rules',
    better: 'lower',
    description: 'rules evaluated by the first packet to the first service in rule order',
  },
  first_packet_rules_evaluated_median: {
    kind: 'counted',
    unit: 'rules',
    better: 'lower',
    description: 'rules evaluated by the first packet to the median service in rule order',
  },
  first_packet_rules_evaluated_last: {
    kind: 'counted',
    unit: 'rules',
    better: 'lower',
    description: 'rules evaluated by the first packet to the last service in rule order',
  },
} as const satisfies Record<string, MetricDef>;

export type MetricName = keyof typeof METRICS;

/** The counts object a catalogue section defines: one number per name (for `satisfies` in the backends). */
export type CountsOf<T extends Readonly<Record<string, CountDef>>> = { [K in keyof T]: number };

let assembled: Map<string, MetricDef> | null = null;

/**
 * Every catalogued metric: the harness's own and every registered backend's counts. Two backends may define the
 * same row name (rules written per sync) only with the same unit and direction.
 */
export function allMetrics(): ReadonlyMap<string, MetricDef> {
  if (assembled !== null) return assembled;
  const m = new Map<string, MetricDef>(Object.entries(METRICS as Record<string, MetricDef>));
  for (const d of BACKEND_DEFINITIONS) {
    for (const [name, def] of Object.entries(catalogueMetrics(d.metrics))) {
      const have = m.get(name);
      if (have === undefined) m.set(name, def);
      else if (have.kind !== def.kind || have.unit !== def.unit || have.better !== def.better) {
        throw new Error(
          `metric ${name}: backend ${d.kind} defines it as ${def.kind}/${def.unit}/${def.better}, already ${have.kind}/${have.unit}/${have.better}`,
        );
      }
    }
  }
  assembled = m;
  return m;
}

/** The definition of a catalogued metric, or undefined. */
export function findMetricDef(name: string): MetricDef | undefined {
  return allMetrics().get(name);
}

/** The definition of a metric a run writes; a name no catalogue defines is a bug and throws. */
export function requireMetricDef(name: string): MetricDef {
  const d = findMetricDef(name);
  if (d === undefined) throw new Error(`metric '${name}' is not in any catalogue (src/metrics/catalogue.ts or a backend's metrics)`);
  return d;
}

/**
 * The definition of a metric read from a run directory. Rows of other versions may name metrics this one does
 * not define: those are classified by name (wall_*: measured, kernel_*: kernel, else counted) with no better
 * direction, so they are compared and reported but never gated.
 */
export function metricDef(name: string): MetricDef {
  const d = findMetricDef(name);
  if (d !== undefined) return d;
  const kind: MetricKind = name.startsWith('wall_') ? 'measured' : name.startsWith('kernel_') ? 'kernel' : 'counted';
  return { kind, unit: '', better: 'none', description: "(not in this version's catalogue)" };
}
