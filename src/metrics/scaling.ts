import * as ss from 'simple-statistics';
import type { MetricRow, ScalingRow } from '../types.js';
import { metricDef } from './catalogue.js';

export type { ScalingRow } from '../types.js';

/** The statistic a metric is fitted on: p50 for measured metrics, else mean, else the single value. */
export function fittedStatistic(metric: string, available: ReadonlySet<string>): string | null {
  const order = metricDef(metric).kind === 'measured' ? ['p50', 'mean'] : ['mean', 'value', 'p50', 'total'];
  for (const s of order) if (available.has(s)) return s;
  return null;
}

/**
 * Fits log(value) = a + exponent·log(services) by least squares (simple-statistics) for every (scenario, backend,
 * metric) with at least 3 distinct service counts. Points with a value of 0 cannot be logged; a metric that is
 * 0 at every size is flat (exponent 0, r² 1); one that is 0 at some sizes only is left out.
 */
export function computeScaling(rows: readonly MetricRow[]): ScalingRow[] {
  const groups = new Map<string, MetricRow[]>();
  for (const r of rows) {
    const k = JSON.stringify([r.scenario, r.backend, r.metric]);
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = []));
    g.push(r);
  }
  const out: ScalingRow[] = [];
  for (const [k, g] of groups) {
    const [scenario, backend, metric] = JSON.parse(k) as [string, string, string];
    const stat = fittedStatistic(metric, new Set(g.map((r) => r.statistic)));
    if (stat === null) continue;
    const byServices = new Map<number, number>();
    for (const r of g) if (r.statistic === stat && r.services > 0) byServices.set(r.services, r.value);
    if (byServices.size < 3) continue;
    const pts = [...byServices.entries()].sort((a, b) => a[0] - b[0]);
    if (pts.every(([, v]) => v === 0)) {
      out.push({ scenario, backend, metric, exponent: 0, r2: 1 });
      continue;
    }
    if (pts.some(([, v]) => !(v > 0))) continue;
    const xy = pts.map(([s, v]) => [Math.log(s), Math.log(v)]);
    const line = ss.linearRegression(xy);
    const f = ss.linearRegressionLine(line);
    const r2 = ss.rSquared(xy, f);
    out.push({ scenario, backend, metric, exponent: round(line.m), r2: round(Number.isFinite(r2) ? r2 : 1) });
  }
  return out.sort((a, b) => cmp(a.scenario, b.scenario) || cmp(a.backend, b.backend) || cmp(a.metric, b.metric));
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
