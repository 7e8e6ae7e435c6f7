import type { CoefficientSet } from '../types.js';

/**
 * The cost-model plumbing every backend shares. Each data plane declares its coefficients (value, unit and
 * source) in its definition and turns its own counts into seconds; this module only resolves the values in force:
 * the defaults, overridden by name from a calibration (`kpbench run --calibration FILE`).
 */

/** The values of a coefficient set, with a calibration's values (by name) taking precedence. */
export function coefficientValues(set: CoefficientSet, calibration?: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, c] of Object.entries(set)) out[name] = c.value;
  if (calibration !== undefined) {
    for (const [name, v] of Object.entries(calibration)) {
      if (!(name in out)) continue;
      if (!Number.isFinite(v) || v < 0) throw new Error(`calibration coefficient ${name}: ${v} is not a non-negative number`);
      out[name] = v;
    }
  }
  return out;
}

/** A count by name, 0 when the result does not carry it. */
export function count(counts: Readonly<Record<string, number>>, name: string): number {
  return counts[name] ?? 0;
}
