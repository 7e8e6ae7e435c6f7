/**
 * Units on charts and in the report's tables: time units converted to one another (a published figure in
 * minutes beside a modelled one in seconds), numbers printed short enough for an axis tick.
 */

/** Seconds per unit, for the time units rows and published figures use. */
const TIME_UNITS: Record<string, number> = { s: 1, ms: 1e-3, µs: 1e-6, us: 1e-6, ns: 1e-9, min: 60, h: 3600 };

/** The factor turning a value in `from` into `to`, or null when the units are not the same quantity. */
export function unitFactor(from: string, to: string): number | null {
  if (from === to) return 1;
  const a = TIME_UNITS[from];
  const b = TIME_UNITS[to];
  if (a !== undefined && b !== undefined) return a / b;
  return null;
}

/** Whether a unit is seconds (values printed as ns/µs/ms/s). */
export function isSeconds(unit: string): boolean {
  return unit === 's';
}

function sig(v: number, digits = 3): string {
  return String(Number(v.toPrecision(digits)));
}

/** Seconds in a readable unit: 12 ns, 3.4 µs, 117 ms, 2.31 s, 11 min, 5 h. */
export function formatSeconds(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1e-6) return `${sig(v * 1e9)} ns`;
  if (a < 1e-3) return `${sig(v * 1e6)} µs`;
  if (a < 1) return `${sig(v * 1e3)} ms`;
  if (a < 120) return `${sig(v)} s`;
  if (a < 7200) return `${sig(v / 60)} min`;
  return `${sig(v / 3600)} h`;
}

/** A count or other number, short: 140, 1,040, 20k, 1.5M, 0.35. */
export function formatCount(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e7) return `${sig(v / 1e6)}M`;
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  return sig(v);
}

/** A value with its unit, for tables and labels: "117 ms", "1,040 rules", "0.35 cores". */
export function formatValue(v: number, unit: string): string {
  if (isSeconds(unit)) return formatSeconds(v);
  const u = unit === '' || unit === '1' ? '' : ` ${unit}`;
  return `${formatCount(v)}${u}`;
}

/** An axis tick: seconds as formatSeconds below a second and "1,000 s" above (ticks stay powers of ten), anything else as formatCount. */
export function formatTick(v: number, unit: string): string {
  if (isSeconds(unit)) return Math.abs(v) >= 1 ? `${formatCount(v)} s` : formatSeconds(v);
  return formatCount(v);
}

/** A ratio: ×9.6, ×1.0, ×0.004. */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return '—';
  return `×${r >= 10 ? Math.round(r).toLocaleString('en-US') : r >= 1 ? r.toFixed(1) : sig(r, 2)}`;
}

/**
 * Two values of one unit printed in the same scale, so they can be read against each other: seconds in the
 * scale of the larger value (ns, µs, ms or s; never minutes), anything else as formatValue.
 */
export function formatPairInOneUnit(a: number, b: number, unit: string): [string, string] {
  if (!isSeconds(unit)) return [formatValue(a, unit), formatValue(b, unit)];
  const m = Math.max(Math.abs(a), Math.abs(b));
  const [scale, suffix] = m >= 1 ? [1, 's'] : m >= 1e-3 ? [1e3, 'ms'] : m >= 1e-6 ? [1e6, 'µs'] : [1e9, 'ns'];
  const f = (v: number): string => (v === 0 ? `0 ${suffix}` : `${formatCount(v * scale)} ${suffix}`);
  return [f(a), f(b)];
}
