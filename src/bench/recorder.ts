import type { Counts, Seconds } from '../types.js';
import type { ConnectionRecord, KubeProxyNode, SyncRecord } from '../proxy/kubeproxy.js';
import { COUNT_PREFIX, DEFAULT_COUNT_STATS, requireMetricDef, type BackendCatalogue, type MetricName } from '../metrics/catalogue.js';
import { canonical, summarize } from '../metrics/stats.js';
import type { MetricRow, Statistic } from '../types.js';
import type { SummaryStatistic as Summary } from '../metrics/stats.js';

type RowKey = Pick<MetricRow, 'scenario' | 'backend' | 'services' | 'endpoints_per_service'>;

/**
 * Collects what happens during a case and turns it into tidy metric rows. The backend's counts are written by
 * looping over its catalogue: the recorder knows no count by name.
 */
export class Recorder {
  private size: Counts | null = null;
  /** The first sync of each family's proxier (one on a single-stack cluster). */
  private readonly initialSyncs = new Map<string, SyncRecord>();
  private readonly syncs: SyncRecord[] = [];
  /** lookup count name -> one value per first packet */
  private readonly lookups = new Map<string, number[]>();
  private connectionsTotal = 0;
  private readonly firstPacket: number[] = [];
  private readonly latencies: number[] = [];
  private staleConnections = 0;
  private rejected = 0;
  private requestsTotal = 0;
  private ingressRequests = 0;
  private ingressUnrouted = 0;
  private requestsFailed = 0;
  /** service key -> endpoint "ip:port" -> connections */
  private readonly hits = new Map<string, Map<string, number>>();
  private readonly perNode: Array<{ syncsPerMinute: number; cpuPerHour: number; conntrackPeak: number; latencyP99: number | null }> = [];

  constructor(private readonly catalogue: BackendCatalogue) {
    for (const name of Object.keys(catalogue.lookup)) this.lookups.set(name, []);
  }

  /** The ruleset size after the initial sync; a dual-stack node's two rulesets (one per family) are summed. */
  initial(...sizes: Counts[]): void {
    const size: Counts = {};
    for (const one of sizes) {
      checkCounts(one, this.catalogue.size, 'size');
      for (const [k, v] of Object.entries(one)) size[k] = (size[k] ?? 0) + v;
    }
    this.size = size;
  }

  sync(r: SyncRecord, measuring: boolean): void {
    checkCounts(r.result.counts, this.catalogue.sync, 'sync');
    if (!this.initialSyncs.has(r.family)) {
      this.initialSyncs.set(r.family, r);
      return;
    }
    if (!measuring) return;
    this.syncs.push(r);
    for (const l of r.latencies) this.latencies.push(l);
  }

  connection(c: ConnectionRecord, serviceKey: string): void {
    const counts = c.lookup.counts;
    checkCounts(counts, this.catalogue.lookup, 'lookup');
    for (const [name, values] of this.lookups) values.push(counts[name] ?? 0);
    this.connectionsTotal++;
    this.firstPacket.push(c.modelled);
    if (c.stale) this.staleConnections++;
    if (c.endpoint === null) {
      this.rejected++;
      return;
    }
    let m = this.hits.get(serviceKey);
    if (m === undefined) this.hits.set(serviceKey, (m = new Map()));
    const id = `${c.endpoint.ip}:${c.endpoint.port}`;
    m.set(id, (m.get(id) ?? 0) + 1);
  }

  ingress(routed: boolean): void {
    this.ingressRequests++;
    if (!routed) this.ingressUnrouted++;
  }

  requests(n: number, ok: boolean): void {
    this.requestsTotal += n;
    if (!ok) this.requestsFailed += n;
  }

  /** One node's figures: its proxiers (one per family on a dual-stack node) together. */
  node(ps: KubeProxyNode | readonly KubeProxyNode[], duration: Seconds): void {
    const all = Array.isArray(ps) ? (ps as readonly KubeProxyNode[]) : [ps as KubeProxyNode];
    const p = all[0]!;
    const mine = this.syncs.filter((s) => s.node === p.name);
    const cpu = mine.reduce((a, s) => a + s.duration, 0);
    const lat = summarize(
      mine.flatMap((s) => s.latencies),
      ['p99'],
    )[0];
    this.perNode.push({
      syncsPerMinute: (mine.length * 60) / duration,
      cpuPerHour: (cpu * 3600) / duration,
      conntrackPeak: all.reduce((a, x) => a + x.conntrack.peak, 0),
      latencyP99: lat === undefined ? null : lat[1],
    });
  }

  /** Load balance: chi-square of connections per endpoint against uniform, over services with >= 5 expected hits per endpoint. */
  private balance(): { chi2PerDof: number; spread: number } | null {
    let chi2 = 0;
    let dof = 0;
    let spread = 0;
    let spreadN = 0;
    for (const m of this.hits.values()) {
      const counts = [...m.values()];
      if (counts.length < 2) continue;
      const total = counts.reduce((a, b) => a + b, 0);
      const expected = total / counts.length;
      if (expected < 5) continue;
      for (const o of counts) chi2 += ((o - expected) * (o - expected)) / expected;
      dof += counts.length - 1;
      spread += (counts.reduce((a, b) => (b > a ? b : a), -Infinity) - counts.reduce((a, b) => (b < a ? b : a), Infinity)) / expected;
      spreadN++;
    }
    if (dof === 0) return null;
    return { chi2PerDof: chi2 / dof, spread: spread / spreadN };
  }

  rows(key: RowKey, ctx: { requestsPerConnection: number; duration: Seconds }): MetricRow[] {
    const out: MetricRow[] = [];
    // harness metrics are typed (MetricName); backend counts are checked against the backend's catalogue
    const addRow = (metric: string, statistic: Statistic, value: number): void => {
      out.push({ ...key, metric, statistic, value: canonical(value), unit: requireMetricDef(metric).unit });
    };
    const add = (metric: MetricName, statistic: Statistic, value: number): void => addRow(metric, statistic, value);
    const dist = (metric: MetricName, values: number[], stats: readonly Summary[]): void => {
      for (const [s, v] of summarize(values, stats)) add(metric, s, v);
    };
    const countDist = (metric: string, values: number[], stats: readonly Summary[] | undefined): void => {
      for (const [s, v] of summarize(values, stats ?? DEFAULT_COUNT_STATS)) addRow(metric, s, v);
    };
    const cat = this.catalogue;
    if (this.size !== null) for (const name of Object.keys(cat.size)) addRow(COUNT_PREFIX.size + name, 'value', this.size[name] ?? 0);
    if (this.initialSyncs.size > 0) {
      // a dual-stack node's initial sync is both proxiers' first syncs: counts and modelled times summed
      const firsts = [...this.initialSyncs.values()];
      for (const [name, d] of Object.entries(cat.sync)) {
        if (d.initial !== false)
          addRow(
            COUNT_PREFIX.initialSync + name,
            'value',
            firsts.reduce((a, r) => a + (r.result.counts[name] ?? 0), 0),
          );
      }
      add(
        'initial_sync_time',
        'value',
        firsts.reduce((a, r) => a + r.duration, 0),
      );
    }
    add('syncs', 'total', this.syncs.length);
    for (const [name, d] of Object.entries(cat.sync))
      countDist(
        COUNT_PREFIX.sync + name,
        this.syncs.map((s) => s.result.counts[name] ?? 0),
        d.stats,
      );
    dist(
      'sync_time',
      this.syncs.map((s) => s.duration),
      ['mean', 'p50', 'p99', 'max'],
    );
    dist(
      'partial_sync_time',
      this.syncs.filter((s) => s.result.mode === 'partial').map((s) => s.duration),
      ['mean', 'p50', 'p99'],
    );
    dist(
      'full_sync_time',
      this.syncs.filter((s) => s.result.mode === 'full').map((s) => s.duration),
      ['mean', 'max'],
    );
    dist(
      'pending_changes',
      this.syncs.map((s) => s.changed),
      ['mean', 'max'],
    );
    dist('network_programming_latency', this.latencies, ['p50', 'p90', 'p99', 'max']);
    // per node: the p99 of each node's own latencies, best and worst node
    dist(
      'node_network_programming_latency_p99',
      this.perNode.flatMap((n) => (n.latencyP99 === null ? [] : [n.latencyP99])),
      ['min', 'max'],
    );
    add('connections', 'total', this.connectionsTotal);
    for (const [name, d] of Object.entries(cat.lookup)) countDist(COUNT_PREFIX.lookup + name, this.lookups.get(name)!, d.stats);
    dist('first_packet_time', this.firstPacket, ['mean', 'p50', 'p99']);
    const fpTotal = this.firstPacket.reduce((a, b) => a + b, 0);
    if (this.firstPacket.length > 0)
      add('request_classification_time', 'mean', fpTotal / this.firstPacket.length / ctx.requestsPerConnection);
    if (this.perNode.length > 0) add('first_packet_cpu_fraction', 'mean', fpTotal / ctx.duration / this.perNode.length);
    if (this.ingressRequests > 0) {
      add('ingress_connections', 'total', this.ingressRequests);
      add('ingress_unrouted', 'total', this.ingressUnrouted);
    }
    add('stale_connections', 'total', this.staleConnections);
    add('rejected_connections', 'total', this.rejected);
    add('requests', 'total', this.requestsTotal);
    add('failed_requests', 'total', this.requestsFailed);
    if (this.requestsTotal > 0) add('failed_request_ratio', 'value', this.requestsFailed / this.requestsTotal);
    const b = this.balance();
    if (b !== null) {
      add('lb_chi2_per_dof', 'value', b.chi2PerDof);
      add('lb_spread', 'mean', b.spread);
    }
    dist(
      'syncs_per_minute',
      this.perNode.map((n) => n.syncsPerMinute),
      ['mean', 'max'],
    );
    dist(
      'sync_cpu_seconds_per_node_hour',
      this.perNode.map((n) => n.cpuPerHour),
      ['mean', 'max'],
    );
    add(
      'sync_cpu_seconds_per_hour',
      'total',
      this.perNode.reduce((a, n) => a + n.cpuPerHour, 0),
    );
    dist(
      'conntrack_entries',
      this.perNode.map((n) => n.conntrackPeak),
      ['max'],
    );
    return out;
  }
}

/** A count the backend's catalogue does not define is a bug in the backend: fail the run loudly. */
function checkCounts(counts: Counts, section: Readonly<Record<string, unknown>>, what: string): void {
  for (const name in counts) {
    if (!Object.hasOwn(section, name)) throw new Error(`backend ${what} count '${name}' is not in its catalogue's ${what} section`);
  }
}
