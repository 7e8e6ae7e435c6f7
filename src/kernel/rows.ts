/**
 * Kernel measurements → metric rows, next to the counted and modelled rows of the very same syncs and packets:
 * - kernel:   kernel_sync_time, kernel_partial_sync_time (p50/p99/min: CPU seconds of the tools, user + system),
 *             kernel_sync_wall_time, kernel_partial_sync_wall_time (p50/p99: their wall-clock seconds), kernel_first_packet_time[_<position>]
 *             (p50/p99 of a new TCP connection's connect() through the rules: SYN out, DNAT, SYN-ACK back — a
 *             first-packet round trip, as the published figures are), kernel_connect_time_norules (the same straight
 *             to an endpoint before any rule is loaded), kernel_first_packet_slope (ns per rule walked, least squares over the positions) and
 *             kernel_first_packet_slope_per_service (ns per service position: also defined where rules walked do not
 *             change with the position, as with nftables' verdict map);
 * - counted:  every count of the syncs and packets (the fit's features): initial_sync_<count> (the full load),
 *             sync_<count> (mean of the partial inputs, as kpbench run names a sync after the initial one), first_packet_<count>_<position>;
 * - modelled: initial_sync_time, partial_sync_time, first_packet_time (median position) from the cost model's
 *             coefficients (the committed defaults or a calibration).
 * The backend column is the flavour (iptables-legacy, iptables-nft, nftables, ipvs).
 */
import * as ss from 'simple-statistics';
import type { MetricRow, Statistic } from '../types.js';
import { canonical, summarize } from '../metrics/stats.js';
import { metricDef } from '../metrics/catalogue.js';
import type { Measurement } from './measure.js';
import type { VariantModel } from './model.js';

type RowKey = Pick<MetricRow, 'scenario' | 'backend' | 'services' | 'endpoints_per_service'>;

function median(v: readonly number[]): number {
  return v.length === 0 ? NaN : ss.median([...v]);
}

/** The median of the rounds' medians (`rounds`: how many of `samples` each round took, in order). */
export function roundsMedian(samples: readonly number[], rounds: readonly number[]): number {
  const meds: number[] = [];
  let at = 0;
  for (const n of rounds) {
    if (n > 0) meds.push(median(samples.slice(at, at + n)));
    at += n;
  }
  return median(meds.length > 0 ? meds : samples);
}

/** `model`: the variant's cost model (null: no modelled rows, e.g. IPVS without IPVS in the kernel). */
export function measurementRows(key: RowKey, m: Measurement, model: VariantModel | null): MetricRow[] {
  const out: MetricRow[] = [];
  const add = (metric: string, statistic: Statistic, value: number, unit?: string): void => {
    if (!Number.isFinite(value)) return;
    out.push({ ...key, metric, statistic, value: canonical(value), unit: unit ?? metricDef(metric).unit });
  };
  const dist = (metric: string, values: readonly number[], stats: Array<'p50' | 'p99' | 'min' | 'mean'>): void => {
    for (const [s, v] of summarize(values, stats)) add(metric, s, v);
  };
  const { plan, loads } = m;
  // sync
  dist('kernel_sync_time', loads.full, ['p50', 'p99', 'min']);
  dist('kernel_sync_wall_time', loads.fullWall, ['p50', 'p99']);
  dist(
    'kernel_partial_sync_time',
    loads.partial.map((p) => p.seconds),
    ['p50', 'p99', 'min'],
  );
  dist(
    'kernel_partial_sync_wall_time',
    loads.partial.map((p) => p.wall),
    ['p50', 'p99'],
  );
  const fc = plan.fullCounts;
  for (const [name, v] of Object.entries(fc)) add(`initial_sync_${name}`, 'value', v);
  if (model !== null) add('initial_sync_time', 'value', model.syncSeconds(fc, 'full'));
  if (plan.partials.length > 0) {
    const pc = plan.partials.map((p) => p.counts);
    for (const name of Object.keys(pc[0]!)) add(`sync_${name}`, 'mean', pc.reduce((a, c) => a + (c[name] ?? 0), 0) / pc.length);
    if (model !== null)
      add('partial_sync_time', 'mean', plan.partials.reduce((a, p) => a + model.syncSeconds(p.counts, p.mode), 0) / pc.length);
  }
  // first packets: connect() round trips through the rules, as the published first-packet figures are; p50 is the
  // median of the rounds' medians (a burst of other work on a shared machine spoils a round, not the figure)
  if (m.positions.length > 0) {
    dist('kernel_connect_time_norules', m.baseline, ['p50', 'p99']);
    const pts: Array<[number, number]> = [];
    const byIndex: Array<[number, number]> = [];
    for (const p of m.positions) {
      const p50 = roundsMedian(p.connect, p.rounds);
      const metrics = [`kernel_first_packet_time_${p.position}`, ...(p.position === 'median' ? ['kernel_first_packet_time'] : [])];
      for (const metric of metrics) {
        add(metric, 'p50', p50);
        dist(metric, p.connect, ['p99']);
      }
      if (p.position === 'median' && model !== null) add('first_packet_time', 'mean', model.lookupSeconds(p.counts));
      for (const [name, v] of Object.entries(p.counts)) add(`first_packet_${name}_${p.position}`, 'value', v);
      if (p.connect.length === 0) continue;
      byIndex.push([p.index, p50]);
      const walked = p.counts.rules_evaluated;
      if (walked !== undefined) pts.push([walked, p50]);
    }
    if (new Set(pts.map((p) => p[0])).size >= 2) add('kernel_first_packet_slope', 'value', ss.linearRegression(pts).m * 1e9);
    if (new Set(byIndex.map((p) => p[0])).size >= 2)
      add('kernel_first_packet_slope_per_service', 'value', ss.linearRegression(byIndex).m * 1e9);
  }
  return out;
}

/**
 * The first-packet slope pooled over a sweep: least squares of every position's p50 against its rules walked, with
 * an intercept per size (a within-size fit: the round trip's fixed part grows with the table too, which a single
 * intercept would credit to the rules walked), per scenario and variant. At one size the three positions of a
 * small cluster differ by less than the noise of a round trip; pooled, the sizes add up. Written at services = 0,
 * the sweep's row (scaling fits skip it).
 */
export function pooledSlopeRows(rows: readonly MetricRow[]): MetricRow[] {
  const groups = new Map<string, { key: RowKey; sizes: Array<Array<[number, number]>> }>();
  const byPoint = new Map<string, MetricRow[]>();
  for (const r of rows) {
    const k = `${r.scenario}\u0000${r.backend}\u0000${r.services}`;
    byPoint.set(k, [...(byPoint.get(k) ?? []), r]);
  }
  for (const g of byPoint.values()) {
    const { scenario, backend, endpoints_per_service } = g[0]!;
    const gk = `${scenario}\u0000${backend}`;
    let grp = groups.get(gk);
    if (grp === undefined) groups.set(gk, (grp = { key: { scenario, backend, services: 0, endpoints_per_service }, sizes: [] }));
    const pts: Array<[number, number]> = [];
    for (const pos of ['first', 'median', 'last']) {
      const w = g.find((r) => r.metric === `first_packet_rules_evaluated_${pos}`)?.value;
      const t = g.find((r) => r.metric === `kernel_first_packet_time_${pos}` && r.statistic === 'p50')?.value;
      if (w !== undefined && t !== undefined) pts.push([w, t]);
    }
    if (pts.length >= 2) grp.sizes.push(pts);
  }
  const out: MetricRow[] = [];
  for (const { key, sizes } of groups.values()) {
    let sxy = 0;
    let sxx = 0;
    for (const pts of sizes) {
      const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
      const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
      for (const [x, y] of pts) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
      }
    }
    if (sxx > 0)
      out.push({ ...key, metric: 'kernel_first_packet_slope', statistic: 'mean', value: canonical((sxy / sxx) * 1e9), unit: 'ns/rule' });
  }
  return out;
}
