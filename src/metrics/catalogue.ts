/**
 * Every metric the harness writes, with its kind (how CI may gate it), unit and meaning.
 *
 * - counted:  exact work counts, deterministic for a seed (rules written, rules walked, operations).
 * - modelled: virtual time from the cost model, deterministic for a seed.
 * - measured: wall-clock time of the harness's own code (tinybench), noisy; metric names start with "wall_".
 *
 * All metrics are "smaller is better" unless `better` says otherwise.
 */
export type MetricKind = 'counted' | 'modelled' | 'measured';

export interface MetricDef {
  kind: MetricKind;
  unit: string;
  better: 'lower' | 'higher' | 'none';
  description: string;
  /** false: compared and reported, never a regression (a raw wall-clock metric whose _rel form is gated). */
  gate?: boolean;
}

export const METRICS = {
  // ruleset size after the initial sync
  ruleset_iptables_rules: { kind: 'counted', unit: 'rules', better: 'lower', description: 'iptables rules in the nat and filter tables' },
  ruleset_iptables_chains: { kind: 'counted', unit: 'chains', better: 'lower', description: 'iptables chains in the nat and filter tables' },
  ruleset_ipvs_virtual_servers: { kind: 'counted', unit: 'servers', better: 'none', description: 'IPVS virtual servers' },
  ruleset_ipvs_real_servers: { kind: 'counted', unit: 'servers', better: 'none', description: 'IPVS real servers' },
  ruleset_ipset_entries: { kind: 'counted', unit: 'entries', better: 'none', description: 'ipset entries' },
  // the initial (full) sync
  initial_sync_rules_written: { kind: 'counted', unit: 'rules', better: 'lower', description: 'iptables rules written by the first, full sync' },
  initial_sync_bytes_written: { kind: 'counted', unit: 'bytes', better: 'lower', description: 'bytes written by the first, full sync' },
  initial_sync_time: { kind: 'modelled', unit: 's', better: 'lower', description: 'modelled duration of the first, full sync' },
  // syncs after a change
  sync_rules_written: { kind: 'counted', unit: 'rules', better: 'lower', description: 'iptables rules written per sync after the initial one' },
  sync_bytes_written: { kind: 'counted', unit: 'bytes', better: 'lower', description: 'bytes written per sync after the initial one' },
  sync_operations: { kind: 'counted', unit: 'ops', better: 'lower', description: 'IPVS, ipset and address operations per sync after the initial one' },
  sync_time: { kind: 'modelled', unit: 's', better: 'lower', description: 'modelled duration of a sync after the initial one' },
  syncs: { kind: 'counted', unit: 'syncs', better: 'lower', description: 'syncs run' },
  // first packets
  first_packet_rules_evaluated: { kind: 'counted', unit: 'rules', better: 'lower', description: 'iptables rules evaluated per first packet' },
  first_packet_hash_probes: { kind: 'counted', unit: 'probes', better: 'lower', description: 'hash-table probes per first packet' },
  first_packet_set_lookups: { kind: 'counted', unit: 'lookups', better: 'lower', description: 'ipset membership tests per first packet' },
  first_packet_time: { kind: 'modelled', unit: 's', better: 'lower', description: 'modelled classification time of a first packet' },
  connections: { kind: 'counted', unit: 'connections', better: 'none', description: 'new connections classified' },
  // control loop outcomes
  network_programming_latency: { kind: 'modelled', unit: 's', better: 'lower', description: 'time from an endpoint change to its rules being in place' },
  node_network_programming_latency_p99: { kind: 'modelled', unit: 's', better: 'lower', description: 'p99 network programming latency of one node (min: the best node, max: the worst)' },
  failed_requests: { kind: 'counted', unit: 'requests', better: 'lower', description: 'requests sent to an endpoint that was no longer a ready pod' },
  partial_sync_time: { kind: 'modelled', unit: 's', better: 'lower', description: 'modelled duration of a partial (minimized or incremental) sync' },
  full_sync_time: { kind: 'modelled', unit: 's', better: 'lower', description: 'modelled duration of a full sync after the initial one' },
  pending_changes: { kind: 'counted', unit: 'service ports', better: 'none', description: 'service ports changed since the previous sync, per sync' },
  syncs_per_minute: { kind: 'modelled', unit: 'syncs/min', better: 'none', description: 'syncs per minute per node' },
  sync_cpu_seconds_per_node_hour: { kind: 'modelled', unit: 's/h', better: 'lower', description: 'modelled CPU-seconds of sync work per node-hour' },
  sync_cpu_seconds_per_hour: { kind: 'modelled', unit: 's/h', better: 'lower', description: 'modelled CPU-seconds of sync work per hour, all simulated nodes' },
  request_classification_time: { kind: 'modelled', unit: 's', better: 'lower', description: 'modelled rule-walk time per request (first-packet time over requests per connection)' },
  first_packet_cpu_fraction: { kind: 'modelled', unit: 'cores', better: 'lower', description: 'modelled CPU spent classifying first packets, per simulated node, as a fraction of one core' },
  ingress_connections: { kind: 'counted', unit: 'connections', better: 'none', description: 'connections that entered through the ingress (two proxy hops each)' },
  ingress_unrouted: { kind: 'counted', unit: 'connections', better: 'lower', description: 'ingress connections no rule routed' },
  stale_connections: { kind: 'counted', unit: 'connections', better: 'lower', description: 'connections decided by rules being replaced' },
  rejected_connections: { kind: 'counted', unit: 'connections', better: 'lower', description: 'connections with no endpoint (REJECT/DROP)' },
  requests: { kind: 'counted', unit: 'requests', better: 'none', description: 'requests sent' },
  failed_request_ratio: { kind: 'counted', unit: 'ratio', better: 'lower', description: 'failed requests over requests' },
  lb_chi2_per_dof: { kind: 'counted', unit: '1', better: 'none', description: 'chi-square of connections per endpoint against uniform, per degree of freedom (about 1 when uniform)' },
  lb_spread: { kind: 'counted', unit: 'ratio', better: 'lower', description: '(max - min) connections per endpoint over the expected count, averaged over services' },
  conntrack_entries: { kind: 'counted', unit: 'entries', better: 'none', description: 'peak conntrack entries on a node' },
  // measured wall clock of the harness's own code
  wall_lookup_time: { kind: 'measured', unit: 's', better: 'lower', gate: false, description: 'wall-clock time of one backend lookup (tinybench); reported, its _rel form is gated' },
  wall_sync_time: { kind: 'measured', unit: 's', better: 'lower', gate: false, description: 'wall-clock time of one backend sync after a one-endpoint change (tinybench); reported, its _rel form is gated' },
  wall_lookup_time_rel: { kind: 'measured', unit: 'calibrations', better: 'lower', description: 'wall_lookup_time over the calibration task\'s time in the same round (median over rounds)' },
  wall_sync_time_rel: { kind: 'measured', unit: 'calibrations', better: 'lower', description: 'wall_sync_time over the calibration task\'s time in the same round (median over rounds)' },
} as const satisfies Record<string, MetricDef>;

export type MetricName = keyof typeof METRICS;

/** The definition of a metric; metrics not in the catalogue are classified by name (wall_* measured, else counted). */
export function metricDef(name: string): MetricDef {
  const d = (METRICS as Record<string, MetricDef>)[name];
  if (d !== undefined) return d;
  if (name.startsWith('wall_')) return { kind: 'measured', unit: '', better: 'lower', description: '' };
  return { kind: 'counted', unit: '', better: 'lower', description: '' };
}
