/**
 * Maglev lookup tables exactly as Cilium computes them (cilium/cilium `pkg/maglev/maglev.go`, the BackendInfo /
 * hashString version used by the load-balancer reconciler in `pkg/loadbalancer/reconciler/bpf_reconciler.go`):
 *
 * - the cluster-wide seed (`--bpf-lb-maglev-hash-seed`, default "JLfvgnHc2kaSUFaI") is base64 of 12 bytes; the
 *   first 4 bytes, big-endian, are the murmur3 seed (the other 8 seed the datapath's jhash);
 * - each backend is hashed by its string "[<ip>:<port>/<PROTO>[/i],State:active]" (`setHashString`: the
 *   string is fixed forever so every node builds the same table; the state text is always "active");
 * - backends are sorted by that string (byte order), so the table does not depend on input order or on the
 *   node-local backend IDs;
 * - offset = h1 % M and skip = h2 % (M - 1) + 1 from MurmurHash3_x64_128(string, seed); backend i's
 *   permutation is offset, offset + skip, ... (mod M);
 * - the table is filled in turns (turn n goes to backend n % N); with weights (only when sum(weights) / N > 1,
 *   integer division) a backend whose (n + 1) * weight is below its counter passes its turn to the next one, and
 *   a backend that takes a slot adds sum(weights) to its counter (counters start at weight / N, compared after
 *   truncation to an integer) — the Envoy-inspired scheme in GetLookupTable;
 * - each entry holds the backend's ID.
 *
 * With equal weights the weighted rule never passes a turn, so the table equals the unweighted Maglev table.
 */
import { murmur3Hash128 } from './murmur3.js';

/** Cilium's DefaultHashSeed (pkg/maglev). */
export const DEFAULT_MAGLEV_SEED = 'JLfvgnHc2kaSUFaI';
/** Cilium's DefaultTableSize (pkg/maglev): M, a prime. */
export const DEFAULT_MAGLEV_TABLE_SIZE = 16381;
/** The table sizes `--bpf-lb-maglev-table-size` accepts (maglevSupportedTableSizes). */
export const CILIUM_MAGLEV_TABLE_SIZES: readonly number[] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];
/** Cilium's DefaultBackendWeight (pkg/loadbalancer): the weight Kubernetes backends get. */
export const DEFAULT_BACKEND_WEIGHT = 100;

export interface MaglevSeeds {
  murmur: number;
  jhash0: number;
  jhash1: number;
}

/** Decodes a Cilium Maglev hash seed (base64 of exactly 12 bytes); throws a RangeError naming the problem. */
export function parseMaglevSeed(seed: string): MaglevSeeds {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(seed) || seed.length % 4 !== 0) {
    throw new RangeError(`cannot decode base64 Maglev hash seed "${seed}"`);
  }
  const d = Buffer.from(seed, 'base64');
  if (d.length !== 12) throw new RangeError(`decoded hash seed is ${d.length} bytes (not 12 bytes)`);
  return { murmur: d.readUInt32BE(0), jhash0: d.readUInt32BE(4), jhash1: d.readUInt32BE(8) };
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** A backend as the Maglev computation sees it. */
export interface MaglevBackend {
  /** The backend ID written into the table. */
  id: number;
  /** The hashed (and sorting) string; see `backendHashString`. */
  hashString: string;
  /** Backend weight; default 100 (Cilium's DefaultBackendWeight). 0 is allowed (never wins a turn when weights are used). */
  weight?: number;
}

/**
 * Cilium's BackendInfo.setHashString for an IPv4 or IPv6 backend: "[10.244.1.1:80/TCP,State:active]",
 * "[[fd00::1]:80/UDP,State:active]", with "/i" after the protocol for an internal-scope address.
 */
export function backendHashString(ip: string, port: number, protocol: string, internalScope = false): string {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return `[${host}:${port}/${protocol}${internalScope ? '/i' : ''},State:active]`;
}

function offsetAndSkip(bytes: Uint8Array, m: number, seed: number): [number, number] {
  const [h1, h2] = murmur3Hash128(bytes, seed);
  const bm = BigInt(m);
  return [Number(h1 % bm), Number(h2 % (bm - 1n)) + 1];
}

const SENTINEL = 0xffffffff;

/**
 * The Maglev lookup table of size `m` for `backends` (any order), as Cilium's GetLookupTable returns it: entry j
 * is the ID of the backend that owns hash bucket j. Returns an empty array when there are no backends.
 * `m` must be a prime (Cilium only accepts CILIUM_MAGLEV_TABLE_SIZES; any prime >= 3 works here).
 * `seed` is the base64 seed string or the decoded murmur seed.
 */
export function maglevTable(backends: readonly MaglevBackend[], m: number, seed: string | number = DEFAULT_MAGLEV_SEED): Uint32Array {
  if (!isPrime(m) || m < 3) throw new RangeError(`Maglev table size must be a prime >= 3, got ${m}`);
  const murmurSeed = typeof seed === 'number' ? seed >>> 0 : parseMaglevSeed(seed).murmur;
  const l = backends.length;
  const entry = new Uint32Array(m);
  if (l === 0) return new Uint32Array(0);
  entry.fill(SENTINEL);

  // Sort by hash string as Go compares strings: by their UTF-8 bytes.
  const enc = new TextEncoder();
  const keyed = backends.map((b) => ({ b, bytes: enc.encode(b.hashString) }));
  keyed.sort((x, y) => Buffer.compare(x.bytes, y.bytes));
  const bes = keyed.map((k) => k.b);
  const offset = new Float64Array(l);
  const skip = new Float64Array(l);
  for (let i = 0; i < l; i++) [offset[i], skip[i]] = offsetAndSkip(keyed[i]!.bytes, m, murmurSeed);
  // next[i]: how far backend i has walked its permutation; pos[i]: the permutation's current element.
  const next = new Float64Array(l);
  const pos = new Float64Array(l);
  for (let i = 0; i < l; i++) pos[i] = offset[i]!;

  const weight = bes.map((b) => b.weight ?? DEFAULT_BACKEND_WEIGHT);
  let weightSum = 0;
  for (const w of weight) weightSum += w;
  const weightCntr = weight.map((w) => w / l);
  const weightsUsed = Math.floor(weightSum / l) > 1;

  for (let n = 0; n < m; n++) {
    let i = n % l;
    for (;;) {
      if (weightsUsed) {
        if ((n + 1) * weight[i]! < Math.trunc(weightCntr[i]!)) {
          i = (i + 1) % l;
          continue;
        }
        weightCntr[i]! += weightSum;
      }
      let c = pos[i]!;
      while (entry[c] !== SENTINEL) {
        next[i]!++;
        c = (c + skip[i]!) % m;
      }
      entry[c] = bes[i]!.id;
      next[i]!++;
      pos[i] = (c + skip[i]!) % m;
      break;
    }
  }
  return entry;
}

/**
 * The table for backends given by name: each name is hashed and sorted exactly as given (for current Cilium agents a
 * backend's name is its hash string, `backendHashString`; older agents hashed whatever name they were handed).
 * `ids[i]` is what the table holds for `names[i]` (default: i, the name's position); `weights[i]` default 100.
 */
export function maglevTableFromNames(
  names: readonly string[],
  m: number,
  seed: string | number = DEFAULT_MAGLEV_SEED,
  ids?: readonly number[],
  weights?: readonly number[],
): Uint32Array {
  return maglevTable(
    names.map((n, i) => ({ hashString: n, id: ids?.[i] ?? i, weight: weights?.[i] ?? DEFAULT_BACKEND_WEIGHT })),
    m,
    seed,
  );
}

/** The table for Kubernetes-style backends by address: hash strings built as Cilium builds them. */
export function maglevTableForAddresses(
  backends: readonly { ip: string; port: number; protocol?: string; id: number; weight?: number; internalScope?: boolean }[],
  m: number,
  seed: string | number = DEFAULT_MAGLEV_SEED,
): Uint32Array {
  return maglevTable(
    backends.map((b) => ({
      id: b.id,
      weight: b.weight,
      hashString: backendHashString(b.ip, b.port, b.protocol ?? 'TCP', b.internalScope ?? false),
    })),
    m,
    seed,
  );
}

/** Run-length encoding "<id>(<count>),..." as Cilium's maglev_test.go prints tables. */
export function runLengthEncode(table: ArrayLike<number>): string {
  if (table.length === 0) return '';
  const runs: string[] = [];
  let cur = table[0]!;
  let count = 1;
  for (let i = 1; i < table.length; i++) {
    if (table[i] === cur) count++;
    else {
      runs.push(`${cur}(${count})`);
      cur = table[i]!;
      count = 1;
    }
  }
  runs.push(`${cur}(${count})`);
  return runs.join(',');
}
