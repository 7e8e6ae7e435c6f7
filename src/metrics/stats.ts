import type { Statistic } from '../types.js';
import * as ss from 'simple-statistics';
import { errorFunction } from 'simple-statistics';

export type { MetricRow } from '../types.js';

/** The statistics summarize() computes (a subset of the metrics.csv statistics). */
export type SummaryStatistic = Extract<Statistic, 'mean' | 'p50' | 'p90' | 'p99' | 'max' | 'min' | 'total'>;

/** Summary statistics of a sample (quantiles as simple-statistics computes them); empty samples give no rows. */
export function summarize(values: readonly number[], stats: readonly SummaryStatistic[]): Array<[SummaryStatistic, number]> {
  if (values.length === 0) return [];
  const sorted = [...values].sort((a, b) => a - b);
  return stats.map((s): [SummaryStatistic, number] => {
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

/**
 * Statistics for comparing noisy wall-clock samples between two runs.
 *
 * The significance test is the Mann–Whitney U test (Wilcoxon rank-sum), with the normal approximation,
 * the tie correction of the variance and a continuity correction (as scipy.stats.mannwhitneyu with
 * method="asymptotic", use_continuity=True). Why this test rather than a bootstrap of the median ratio:
 * - timing samples are skewed with long right tails (GC pauses, scheduling); a rank test assumes no
 *   distribution and is not moved by a handful of outliers;
 * - timer resolution quantizes samples, so ties are common: the tie correction handles them exactly;
 * - it is deterministic (no random resampling, nothing to seed) and costs O(n log n), which matters for
 *   tinybench's thousands of samples a task; a bootstrap costs that times the number of resamples.
 * Being a test of "one sample tends to be larger than the other" rather than of a median difference, it is
 * paired in compare.ts with a practical threshold on the ratio of medians: a change must be both larger than
 * the threshold and significant.
 */

export interface MannWhitneyResult {
  /** U of the first sample: the number of pairs (x from a, y from b) with x > y, ties counting one half. */
  u: number;
  /** The standardized statistic (continuity-corrected); positive when `a` tends to be larger than `b`. */
  z: number;
  /** Two-sided p-value from the normal approximation; 1 when every value is tied. */
  pValue: number;
}

/** Upper tail of the standard normal: P(Z > z). Accurate to about 1e-10 in absolute terms. */
export function normalSf(z: number): number {
  return 0.5 * (1 - errorFunction(z / Math.SQRT2));
}

/**
 * Mann–Whitney U test of samples `a` and `b` (two-sided, normal approximation with tie and continuity
 * corrections). Throws a RangeError when a sample is empty.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitneyResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('Mann-Whitney U needs two non-empty samples');
  const n = n1 + n2;
  const all: Array<{ v: number; first: boolean }> = [];
  for (const v of a) all.push({ v, first: true });
  for (const v of b) all.push({ v, first: false });
  all.sort((x, y) => x.v - y.v);

  // Average ranks over runs of ties; accumulate the rank sum of `a` and the tie term sum(t^3 - t).
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && all[j]!.v === all[i]!.v) j++;
    const t = j - i;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]!.first) rankSumA += avgRank;
    if (t > 1) tieTerm += t * t * t - t;
    i = j;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mu = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(variance > 0)) return { u, z: 0, pValue: 1 };
  const sigma = Math.sqrt(variance);
  const d = u - mu;
  const z = (Math.sign(d) * Math.max(0, Math.abs(d) - 0.5)) / sigma;
  const pValue = Math.min(1, 2 * normalSf(Math.abs(z)));
  return { u, z, pValue };
}
