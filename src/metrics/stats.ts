import * as ss from 'simple-statistics';

export type { MetricRow } from '../types.js';

/** The statistics summarize() computes (a subset of the metrics.csv statistics). */
export type Statistic = Extract<import('../types.js').Statistic, 'mean' | 'p50' | 'p90' | 'p99' | 'max' | 'min' | 'total'>;

/** Summary statistics of a sample (quantiles as simple-statistics computes them); empty samples give no rows. */
export function summarize(values: readonly number[], stats: readonly Statistic[]): Array<[Statistic, number]> {
  if (values.length === 0) return [];
  const sorted = [...values].sort((a, b) => a - b);
  return stats.map((s): [Statistic, number] => {
    switch (s) {
      case 'mean':
        return [s, ss.mean(sorted)];
      case 'p50':
        return [s, ss.quantileSorted(sorted, 0.5)];
      case 'p90':
        return [s, ss.quantileSorted(sorted, 0.9)];
      case 'p99':
        return [s, ss.quantileSorted(sorted, 0.99)];
      case 'max':
        return [s, sorted[sorted.length - 1]!];
      case 'min':
        return [s, sorted[0]!];
      case 'total':
        return [s, ss.sum(sorted)];
    }
  });
}

/** Rounds to 12 significant digits so that floating-point noise never reaches the CSV. */
export function canonical(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  return Number(v.toPrecision(12));
}
