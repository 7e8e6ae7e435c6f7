/**
 * Splitting a suite across CI jobs: shard K of N takes items K-1, K-1+N, K-1+2N, ... (round robin), so
 * shards get a similar mix of small and large scenarios and the split depends only on the item order.
 */
import { InputError } from '../errors.js';

export interface Shard {
  /** 1-based shard number. */
  k: number;
  /** Number of shards. */
  n: number;
}

/** The items of shard `k` of `n` (k 1-based): item i goes to shard (i % n) + 1; order is kept. */
export function shardOf<T>(items: readonly T[], k: number, n: number): T[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`shard count must be an integer >= 1, got ${n}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`shard must be an integer in 1..${n}, got ${k}`);
  return items.filter((_, i) => i % n === k - 1);
}

/**
 * The inverse of shardOf: given the items of shards 1..N (shards[k-1] = shardOf(items, k, N)), the items in
 * their original order.
 */
export function unshard<T>(shards: readonly (readonly T[])[]): T[] {
  const n = shards.length;
  const total = shards.reduce((s, sh) => s + sh.length, 0);
  const out: T[] = [];
  for (let i = 0; i < total; i++) {
    const sh = shards[i % n]!;
    const item = sh[Math.floor(i / n)];
    if (item === undefined) throw new RangeError('shards are not a round-robin split of one list');
    out.push(item);
  }
  return out;
}

/** Parses "K/N" (e.g. "2/4"); an InputError for anything else, or K outside 1..N. */
export function parseShard(text: string, where = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (m === null) throw new InputError(where, `expected K/N (e.g. 2/4), got "${text}"`);
  const k = Number(m[1]);
  const n = Number(m[2]);
  if (n < 1 || !Number.isSafeInteger(n) || n > 100_000)
    throw new InputError(where, `the shard count N must be from 1 to 100000, got "${text.length > 40 ? `${text.slice(0, 40)}...` : text}"`);
  if (k < 1 || k > n) throw new InputError(where, `the shard number K must be in 1..${n}, got "${text}"`);
  return { k, n };
}

export function formatShard(s: Shard): string {
  return `${s.k}/${s.n}`;
}
