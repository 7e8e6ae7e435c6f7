import type { Stream } from '../sim/rng.js';

/**
 * Draws indexes 0..n-1 with P(k) ∝ (k+1)^-s (Zipf); s = 0 is uniform. Inverse-CDF over a precomputed table:
 * O(log n) per draw, one uniform number per draw.
 */
export class ZipfSampler {
  private readonly cdf: Float64Array;
  constructor(
    readonly n: number,
    readonly s: number,
  ) {
    if (n < 1) throw new RangeError('Zipf over an empty set');
    this.cdf = new Float64Array(n);
    let acc = 0;
    for (let k = 0; k < n; k++) {
      acc += s === 0 ? 1 : Math.pow(k + 1, -s);
      this.cdf[k] = acc;
    }
    for (let k = 0; k < n; k++) this.cdf[k]! /= acc;
  }
  /** Probability of index k. */
  p(k: number): number {
    return this.cdf[k]! - (k === 0 ? 0 : this.cdf[k - 1]!);
  }
  draw(rng: Stream): number {
    const u = rng.next();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
