import seedrandom from 'seedrandom';
import type { Rng } from '../types.js';

/** A seeded uniform stream with the draws the harness needs. */
export class Stream implements Rng {
  private readonly prng: seedrandom.PRNG;
  constructor(
    readonly name: string,
    seed: string,
  ) {
    this.prng = seedrandom(seed);
  }
  next(): number {
    return this.prng();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.prng() * n);
  }
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.prng();
  }
  /** Exponential with the given rate (mean 1/rate): inter-arrival time of a Poisson process. */
  exponential(rate: number): number {
    if (!(rate > 0)) throw new RangeError(`rate must be > 0, got ${rate}`);
    // 1 - u is in (0, 1], so the log is finite.
    return -Math.log(1 - this.prng()) / rate;
  }
  bernoulli(p: number): boolean {
    return this.prng() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)]!;
  }
  /** Fisher–Yates shuffle, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}

/**
 * Named seeded streams. Each stream's seed is derived from the run seed and the stream's name only, so a new
 * consumer of randomness in one place never shifts the numbers drawn in another.
 */
export class RngStreams {
  private readonly streams = new Map<string, Stream>();
  constructor(readonly seed: number | string) {}

  stream(name: string): Stream {
    let s = this.streams.get(name);
    if (s === undefined) {
      s = new Stream(name, `kpbench:${this.seed}:${name}`);
      this.streams.set(name, s);
    }
    return s;
  }
}
