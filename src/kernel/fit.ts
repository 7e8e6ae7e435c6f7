/**
 * Least-squares fit of cost-model coefficients: y ≈ Σ_j c_j · x_j, with every c_j ≥ 0.
 *
 * - Relative errors are what the agreement check judges ("within 20% at every size"), so each observation is
 *   weighted by 1/y: the fit minimises Σ ((ŷ − y) / y)². Without that, the largest sizes decide everything and the
 *   small sizes can be off by a factor.
 * - Non-negativity (a cost cannot be negative) by Lawson and Hanson's active-set NNLS ("Solving Least Squares
 *   Problems", 1974, ch. 23), on the normal equations (a handful of features, so their conditioning is fine after
 *   each column is scaled to unit norm).
 * - Exact data is recovered exactly (up to rounding): the tests fit synthetic rows made from known coefficients.
 */

export interface Observation {
  /** Feature values by name (counts, or derived terms such as rules·log2(rules)). */
  x: Record<string, number>;
  /** Measured value (seconds). */
  y: number;
}

export interface FitResult {
  /** Coefficient per feature (0 for a feature the fit left out). */
  coefficients: Record<string, number>;
  /** Largest |ŷ/y − 1| over the observations. */
  maxRelError: number;
  /** Root mean square of the relative errors. */
  rmsRelError: number;
  n: number;
}

/** Solves the small dense system A·x = b (Gaussian elimination with partial pivoting); null when singular. */
function solve(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    if (Math.abs(M[p]![c]!) < 1e-12) return null;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      if (f === 0) continue;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}

/** Unconstrained least squares on the columns in `set` (A: rows × features, already weighted). */
function lsq(A: number[][], y: number[], set: number[]): number[] | null {
  const G = set.map((i) => set.map((j) => A.reduce((s, row) => s + row[i]! * row[j]!, 0)));
  const h = set.map((i) => A.reduce((s, row, r) => s + row[i]! * y[r]!, 0));
  return solve(G, h);
}

/** Non-negative least squares min ||A·c − y||, c ≥ 0 (Lawson–Hanson). */
export function nnls(A: number[][], y: number[], maxIter = 100): number[] {
  const n = A[0]?.length ?? 0;
  const c = new Array<number>(n).fill(0);
  const passive = new Set<number>();
  for (let iter = 0; iter < maxIter; iter++) {
    // gradient w = Aᵀ(y − A·c)
    const resid = A.map((row, r) => y[r]! - row.reduce((s, v, j) => s + v * c[j]!, 0));
    const w = Array.from({ length: n }, (_, j) => A.reduce((s, row, r) => s + row[j]! * resid[r]!, 0));
    let best = -1;
    for (let j = 0; j < n; j++) if (!passive.has(j) && w[j]! > 1e-12 && (best < 0 || w[j]! > w[best]!)) best = j;
    if (best < 0) break;
    passive.add(best);
    for (let inner = 0; inner < maxIter; inner++) {
      const set = [...passive].sort((a, b) => a - b);
      const z = lsq(A, y, set);
      if (z === null) {
        passive.delete(best);
        break;
      }
      if (z.every((v) => v > 0)) {
        c.fill(0);
        set.forEach((j, k) => (c[j] = z[k]!));
        break;
      }
      // step back towards the feasible region until a coefficient reaches 0, and drop it
      let alpha = 1;
      set.forEach((j, k) => {
        if (z[k]! <= 0) alpha = Math.min(alpha, c[j]! / (c[j]! - z[k]!));
      });
      set.forEach((j, k) => (c[j] = c[j]! + alpha * (z[k]! - c[j]!)));
      for (const j of set)
        if (c[j]! <= 1e-15) {
          c[j] = 0;
          passive.delete(j);
        }
    }
  }
  return c;
}

/**
 * Fits non-negative coefficients for `features` on `obs`, weighting each observation by 1/y. With `minimax`, then
 * lowers the largest relative error (what "within 20% at every size" judges) by Lawson's iteratively reweighted
 * least squares (C. L. Lawson, 1961: weights multiplied by each residual's size converge to the Chebyshev fit),
 * keeping the iterate with the smallest largest error; exact data stops at the first fit.
 */
export function fitCoefficients(
  obs: readonly Observation[],
  features: readonly string[],
  o: { minimax?: boolean; iterations?: number } = {},
): FitResult {
  let best = weightedFit(obs, features, null);
  if (o.minimax !== true) return best;
  const usable = obs.filter((x) => x.y > 0 && Number.isFinite(x.y));
  let w = usable.map(() => 1 / usable.length);
  for (let it = 0; it < (o.iterations ?? 200) && best.maxRelError > 1e-12; it++) {
    const cur = it === 0 ? best : weightedFit(usable, features, w);
    if (cur.maxRelError < best.maxRelError) best = cur;
    const r = usable.map((x) => Math.abs(predict(cur.coefficients, x.x) / x.y - 1));
    const next = w.map((wi, i) => wi * r[i]!);
    const sum = next.reduce((a, b) => a + b, 0);
    if (!(sum > 0)) break;
    w = next.map((v) => v / sum);
  }
  return best;
}

/** Non-negative least squares on relative errors, each observation weighted by `weights[i]` (null: equally). */
function weightedFit(obs: readonly Observation[], features: readonly string[], weights: readonly number[] | null): FitResult {
  const usable = obs.filter((o) => o.y > 0 && Number.isFinite(o.y));
  const sw = usable.map((_, i) => Math.sqrt(weights?.[i] ?? 1));
  const A = usable.map((o, i) => features.map((f) => ((o.x[f] ?? 0) / o.y) * sw[i]!));
  const y = usable.map((_, i) => sw[i]!);
  // scale columns to unit norm for conditioning
  const norms = features.map((_, j) => Math.sqrt(A.reduce((s, row) => s + row[j]! * row[j]!, 0)) || 1);
  const As = A.map((row) => row.map((v, j) => v / norms[j]!));
  const cs = usable.length === 0 ? features.map(() => 0) : nnls(As, y);
  const coefficients: Record<string, number> = {};
  features.forEach((f, j) => (coefficients[f] = cs[j]! / norms[j]!));
  const rel = usable.map((o) => predict(coefficients, o.x) / o.y - 1);
  return {
    coefficients,
    maxRelError: rel.reduce((m, e) => Math.max(m, Math.abs(e)), 0),
    rmsRelError: rel.length === 0 ? 0 : Math.sqrt(rel.reduce((s, e) => s + e * e, 0) / rel.length),
    n: usable.length,
  };
}

/** Σ c_f · x_f. */
export function predict(coefficients: Record<string, number>, x: Record<string, number>): number {
  let s = 0;
  for (const [f, c] of Object.entries(coefficients)) s += c * (x[f] ?? 0);
  return s;
}
