/**
 * Numbers of xt_statistic (`-m statistic --mode random --probability P`) as the kernel holds them and as
 * iptables-save prints them (iptables extensions/libxt_statistic.c), and the exact decimal formatting both need.
 */

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Exact value of a finite non-negative double as m / 2^e with BigInt m (e >= 0). */
function exactBinary(x: number): { m: bigint; e: bigint } {
  F64[0] = x;
  const hi = U32[LITTLE ? 1 : 0]!;
  const lo = U32[LITTLE ? 0 : 1]!;
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (expBits === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = expBits - 1075;
  }
  // x = mant * 2^exp
  if (exp >= 0) return { m: mant << BigInt(exp), e: 0n };
  return { m: mant, e: BigInt(-exp) };
}

/**
 * `x` printed with `digits` decimals, correctly rounded with ties to even, as Go's fmt ("%0.10f") and glibc's
 * printf ("%.11f") do. (JavaScript's toFixed breaks ties upwards, which differs for e.g. 1/2048 at 10 decimals.)
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x) || x < 0) throw new RangeError(`formatFixed: unsupported value ${x}`);
  const { m, e } = exactBinary(x);
  const scale = 10n ** BigInt(digits);
  const num = m * scale;
  const den = 1n << e;
  let q = num / den;
  const r = num - q * den;
  const twice = r * 2n;
  if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  const s = q.toString().padStart(digits + 1, '0');
  return digits === 0 ? s : `${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}`;
}

/**
 * The probability as the kernel holds it: libxt_statistic stores lround(0x80000000 * p) and xt_statistic matches
 * when (random_u32 & 0x7fffffff) < that value.
 */
export function kernelProbability(p: string | number): number {
  return Math.round(0x80000000 * Number(p));
}

/** How iptables-save prints a statistic probability: "%.11f" of the kernel value / 2^31. */
export function saveProbability(kernelValue: number): string {
  return formatFixed(kernelValue / 0x80000000, 11);
}
