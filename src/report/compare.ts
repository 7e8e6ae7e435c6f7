/**
 * Comparison of two runs (a baseline and a current run), row by row, for regression tracking in CI.
 *
 * Every row identity (scenario, backend, services, endpoints_per_service, metric, statistic) found in either
 * run gets a verdict:
 *
 * - regressed  the row got worse beyond what is allowed: the only verdict that fails CI (exit code 1).
 * - improved   the row got better beyond what is allowed.
 * - changed    the value moved beyond what is allowed but the move is not gated: a metric whose direction is
 *              'none' in the catalogue (it describes the workload, e.g. IPVS real servers), a `samples`
 *              count, a unit that changed, or a measured row that is informational (see below).
 * - unchanged  within tolerance (or, for a gated measured row, not statistically significant).
 * - new        only in the current run.   missing   only in the baseline (fails only with failOnMissing).
 *
 * Counted and modelled metrics (deterministic for a seed) are compared exactly by default: any change in
 * the worse direction is a regression. A relative tolerance can be allowed globally (countedTolerance) or
 * per metric (tolerances). "Worse" follows the catalogue's `better`: for 'lower' an increase, for 'higher'
 * a decrease.
 *
 * Measured metrics (wall_*, noisy) are gated on one row per point: the p50 row, or the mean row when the
 * run has no p50. That row regresses only when its change exceeds the threshold (default 10%, or the metric's
 * tolerance) AND the retained samples of both runs differ significantly (Mann–Whitney U, two-sided,
 * p < alpha, default 0.01; see stats.ts). Without samples in both runs the row is reported ('changed' beyond
 * the threshold) but never fails. Other statistics of measured metrics (p90, p99, rme, ...) are informational:
 * 'changed' or 'unchanged', never failing.
 *
 * The rank test sees the noise between samples of one run, not the noise between runs (machine load, CPU
 * frequency, JIT and GC state shift every sample of a run together), so the threshold is what guards against
 * the latter. Measured rows are therefore not gated at all when the runs' meta.json show different machines
 * (CPU model or count) or Node versions, or with `measured: 'report'`: they are reported, never failing.
 */
import { requireComparable } from './gate.js';
import { findMetricDef } from '../metrics/catalogue.js';
import { packagePath } from '../io/paths.js';
import path from 'node:path';
import fs from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import { InputError } from '../errors.js';
import { metricDef, type MetricKind } from '../metrics/catalogue.js';
import {
  compareMetricRows,
  pointKey,
  readRun,
  rowKey,
  RUN_FILES,
  type MetricRow,
  type RunData,
  type SampleSet,
  type Statistic,
} from './csvio.js';
import { mannWhitneyU } from '../metrics/stats.js';
import { median } from 'simple-statistics';

/** Where the committed baseline lives, relative to the working directory. */
export const BASELINE_DIR = 'results/baseline';

export type Verdict = 'regressed' | 'improved' | 'changed' | 'unchanged' | 'new' | 'missing';

/** The order verdicts are listed in (regressions first). */
export const VERDICT_ORDER: readonly Verdict[] = ['regressed', 'missing', 'new', 'changed', 'improved', 'unchanged'];

export interface CompareOptions {
  /** Measured metrics: a change must exceed this many percent to count (default 10). */
  threshold?: number;
  /** Counted and modelled metrics: relative change allowed, in percent (default 0: exact). */
  countedTolerance?: number;
  /** Per-metric allowance in percent, overriding threshold (measured) or countedTolerance (counted, modelled). */
  tolerances?: Readonly<Record<string, number>>;
  /** Significance level of the Mann–Whitney test for measured metrics (default 0.01). */
  alpha?: number;
  /** Rows missing from the current run fail the comparison too (default false). */
  failOnMissing?: boolean;
  /** 'gate' (default): measured p50/mean rows can regress; 'report': they are reported, never failing. */
  measured?: 'gate' | 'report';
}

export interface ResolvedCompareOptions {
  threshold: number;
  countedTolerance: number;
  tolerances: Record<string, number>;
  alpha: number;
  failOnMissing: boolean;
  measured: 'gate' | 'report';
}

export interface CompareRow {
  scenario: string;
  backend: string;
  services: number;
  endpoints_per_service: number;
  metric: string;
  statistic: Statistic;
  unit: string;
  kind: MetricKind;
  /** null for a new row. */
  baseline: number | null;
  /** null for a missing row. */
  current: number | null;
  /** current / baseline; null when either is absent or the baseline is 0 and the current is not. */
  ratio: number | null;
  /** Relative change (current - baseline) / |baseline|: 0.05 is 5% more; null as for ratio. */
  change: number | null;
  /** The relative change allowed for this row (a fraction: 0.1 is 10%). */
  allowed: number;
  verdict: Verdict;
  /** Whether this row can fail the comparison (can be 'regressed'). */
  gated: boolean;
  /** Mann–Whitney two-sided p-value over the retained samples (gated measured rows with samples), else null. */
  pValue: number | null;
  /** Sample counts (baseline, current) used for the test; null when not tested. */
  sampleCounts: [number, number] | null;
  /** Why the verdict is what it is, when that is not obvious ('' otherwise). */
  note: string;
}

export interface CompareResult {
  /** The metrics.csv files compared. */
  baseline: string;
  current: string;
  options: ResolvedCompareOptions;
  /** Every row identity of either run, in VERDICT_ORDER then the canonical row order. */
  rows: CompareRow[];
  counts: Record<Verdict, number>;
  /** Rows that fail the comparison (regressed, plus missing with failOnMissing). */
  failures: number;
  /** Whether the comparison fails (exit code 1). */
  failed: boolean;
  /** Things a reader should know (different seeds, different machines, unused tolerances). */
  warnings: string[];
}

/** Defaults filled in; percentages validated (an InputError names the option). */
export function resolveCompareOptions(opts: CompareOptions = {}): ResolvedCompareOptions {
  const pct = (name: string, v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isFinite(v) || v < 0) throw new InputError(name, `must be a non-negative percentage, got ${v}`);
    return v;
  };
  const tolerances: Record<string, number> = {};
  for (const [m, v] of Object.entries(opts.tolerances ?? {})) tolerances[m] = pct(`--tolerance ${m}`, v, 0);
  const alpha = opts.alpha ?? 0.01;
  if (!(alpha > 0 && alpha < 1)) throw new InputError('--alpha', `must be between 0 and 1, got ${alpha}`);
  return {
    threshold: pct('--threshold', opts.threshold, 10),
    countedTolerance: pct('--counted-tolerance', opts.countedTolerance, 0),
    tolerances,
    alpha,
    failOnMissing: opts.failOnMissing ?? false,
    measured: opts.measured ?? 'gate',
  };
}

/** Parses "PCT" or "PCT%" (e.g. "10", "2.5%") for option `name`. */
export function parsePercent(name: string, text: string): number {
  const s = text.trim().replace(/%$/, '');
  const v = s === '' ? Number.NaN : Number(s);
  if (!Number.isFinite(v) || v < 0) throw new InputError(name, `must be a non-negative percentage, got "${text}"`);
  return v;
}

/** Parses "METRIC=PCT" tolerance specs into a map (later specs for the same metric win). */
export function parseTolerances(specs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const metric = eq < 0 ? '' : spec.slice(0, eq).trim();
    if (metric === '') throw new InputError('--tolerance', `expected METRIC=PCT, got "${spec}"`);
    out[metric] = parsePercent(`--tolerance ${metric}`, spec.slice(eq + 1));
  }
  return out;
}

/** Statistics gated for measured metrics, in order of preference: the first one a point has is gated. */
const MEASURED_GATED: readonly Statistic[] = ['p50', 'mean'];

/** Rounding slack when comparing a relative change with an allowance (both doubles). */
const EPS = 1e-12;

/**
 * Compares two sets of rows (and their retained samples, null when the run has none). The pure core of
 * compareRuns; `names` only label the result; `context.measuredNotGated`, when set, is why measured rows
 * are not gated (compareRuns sets it when the runs were made on different machines).
 */
export function compareRows(
  baselineRows: readonly MetricRow[],
  currentRows: readonly MetricRow[],
  baselineSamples: readonly SampleSet[] | null,
  currentSamples: readonly SampleSet[] | null,
  opts: CompareOptions = {},
  names: { baseline: string; current: string } = { baseline: 'baseline', current: 'current' },
  context: { measuredNotGated?: string } = {},
): CompareResult {
  const o = resolveCompareOptions(opts);
  const measuredNotGated = o.measured === 'report' ? 'measured rows not gated (--measured report)' : context.measuredNotGated;
  const base = indexRows(baselineRows, names.baseline);
  const cur = indexRows(currentRows, names.current);
  const baseSamples = indexSamples(baselineSamples);
  const curSamples = indexSamples(currentSamples);

  // The gated statistic of each measured point: the first of MEASURED_GATED present in either run.
  const gatedStat = new Map<string, Statistic>();
  for (const r of [...base.values(), ...cur.values()]) {
    if (metricDef(r.metric).kind !== 'measured') continue;
    const pk = pointKey(r);
    const i = MEASURED_GATED.indexOf(r.statistic);
    if (i < 0) continue;
    const have = gatedStat.get(pk);
    if (have === undefined || i < MEASURED_GATED.indexOf(have)) gatedStat.set(pk, r.statistic);
  }

  const keys = new Set<string>([...base.keys(), ...cur.keys()]);
  const rows: CompareRow[] = [];
  for (const key of keys) {
    const b = base.get(key);
    const c = cur.get(key);
    const id = (c ?? b)!;
    const def = metricDef(id.metric);
    const pk = pointKey(id);
    const measured = def.kind === 'measured';
    const directional = def.better !== 'none' && def.gate !== false && id.statistic !== 'samples' && id.statistic !== 'rme';
    const gated = measured ? gatedStat.get(pk) === id.statistic && directional : directional;
    const allowedPct = o.tolerances[id.metric] ?? (measured ? o.threshold : o.countedTolerance);
    const row: CompareRow = {
      scenario: id.scenario,
      backend: id.backend,
      services: id.services,
      endpoints_per_service: id.endpoints_per_service,
      metric: id.metric,
      statistic: id.statistic,
      unit: c?.unit ?? b?.unit ?? '',
      kind: def.kind,
      baseline: b?.value ?? null,
      current: c?.value ?? null,
      ratio: null,
      change: null,
      allowed: allowedPct / 100,
      verdict: 'unchanged',
      gated,
      pValue: null,
      sampleCounts: null,
      note: '',
    };
    rows.push(row);
    if (b === undefined) {
      row.verdict = 'new';
      continue;
    }
    if (c === undefined) {
      row.verdict = 'missing';
      row.gated = gated && o.failOnMissing;
      continue;
    }
    if (b.value === c.value) {
      row.ratio = 1;
      row.change = 0;
    } else if (b.value !== 0) {
      row.ratio = c.value / b.value;
      row.change = (c.value - b.value) / Math.abs(b.value);
    }
    if (b.unit !== c.unit) {
      row.verdict = 'changed';
      row.gated = false;
      row.note = `unit changed: ${b.unit || '(none)'} -> ${c.unit || '(none)'}; not compared`;
      continue;
    }
    if (b.value === c.value) continue;
    // |change| beyond the allowance? (an infinite change when the baseline is 0)
    const beyond = row.change === null || Math.abs(row.change) > row.allowed + EPS;
    if (!beyond) continue;
    const increased = c.value > b.value;
    const worse = def.better === 'higher' ? !increased : increased;
    if (!directional) {
      row.verdict = 'changed';
      row.note =
        def.better === 'none'
          ? 'metric has no better direction'
          : def.gate === false
            ? 'reported only (its _rel form is gated)'
            : `${id.statistic} is informational`;
      continue;
    }
    if (!measured) {
      row.verdict = worse ? 'regressed' : 'improved';
      continue;
    }
    if (!gated) {
      row.verdict = 'changed';
      row.note = `informational (${gatedStat.get(pk) ?? 'p50'} is gated)`;
      continue;
    }
    if (measuredNotGated !== undefined) {
      row.verdict = 'changed';
      row.gated = false;
      row.note = measuredNotGated;
      continue;
    }
    const bs = baseSamples.get(pk);
    const cs = curSamples.get(pk);
    if (bs === undefined || cs === undefined || bs.length < 2 || cs.length < 2) {
      row.verdict = 'changed';
      row.gated = false;
      row.note = `no samples in ${bs === undefined || bs.length < 2 ? (cs === undefined || cs.length < 2 ? 'either run' : 'baseline') : 'current'}: not gated`;
      continue;
    }
    const t = mannWhitneyU(bs, cs);
    row.pValue = t.pValue;
    row.sampleCounts = [bs.length, cs.length];
    if (t.pValue < o.alpha) {
      row.verdict = worse ? 'regressed' : 'improved';
    } else {
      row.note = `not significant (p=${formatP(t.pValue)} >= ${o.alpha})`;
    }
  }

  confirmAcrossSweep(rows);
  rows.sort((x, y) => VERDICT_ORDER.indexOf(x.verdict) - VERDICT_ORDER.indexOf(y.verdict) || compareMetricRows(x, y));
  const counts = Object.fromEntries(VERDICT_ORDER.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const r of rows) counts[r.verdict]++;
  const failures = rows.filter((r) => r.verdict === 'regressed' || (r.verdict === 'missing' && r.gated)).length;
  const warnings: string[] = [];
  const metricsSeen = new Set(rows.map((r) => r.metric));
  for (const m of Object.keys(o.tolerances)) {
    if (!metricsSeen.has(m)) warnings.push(`--tolerance ${m}: no row has metric "${m}"`);
  }
  return { baseline: names.baseline, current: names.current, options: o, rows, counts, failures, failed: failures > 0, warnings };
}

/** Fewest points of a sweep for the family rule of confirmAcrossSweep to apply. */
export const FAMILY_MIN_POINTS = 3;

/**
 * A measured regression must show across the sweep. Wall-clock times of JIT-compiled code move between processes
 * at single points (by up to ~1.8x at sub-microsecond lookups on this 2-core machine, calibration or not), while a
 * real slowdown of the code moves every point. So, for a family of gated measured rows (one scenario, backend,
 * metric and statistic at FAMILY_MIN_POINTS or more numbers of services), a row stays regressed (improved) only
 * when the median ratio of the family is beyond the threshold in the same direction; otherwise it is reported as
 * changed. Families with fewer points keep the verdicts of their rows.
 */
function confirmAcrossSweep(rows: CompareRow[]): void {
  const families = new Map<string, CompareRow[]>();
  for (const r of rows) {
    if (r.kind !== 'measured' || !r.gated || r.ratio === null) continue;
    const k = JSON.stringify([r.scenario, r.backend, r.endpoints_per_service, r.metric, r.statistic]);
    let f = families.get(k);
    if (f === undefined) families.set(k, (f = []));
    f.push(r);
  }
  for (const f of families.values()) {
    if (f.length < FAMILY_MIN_POINTS) continue;
    const mid = median(f.map((r) => r.ratio!));
    for (const r of f) {
      if (r.verdict !== 'regressed' && r.verdict !== 'improved') continue;
      const up = r.ratio! > 1;
      const familyAgrees = up ? mid - 1 > r.allowed + EPS : 1 - mid > r.allowed + EPS;
      if (familyAgrees) continue;
      r.note = `${r.verdict} here only: the median ratio over the ${f.length} sizes is ${mid.toFixed(3)}, within the threshold (p=${formatP(r.pValue ?? 1)})`;
      r.verdict = 'changed';
    }
  }
}

function indexRows(rows: readonly MetricRow[], name: string): Map<string, MetricRow> {
  const m = new Map<string, MetricRow>();
  for (const r of rows) {
    const k = rowKey(r);
    const prev = m.get(k);
    if (prev !== undefined && prev.value !== r.value) {
      throw new InputError(
        name,
        `duplicate row ${r.scenario},${r.backend},${r.services},${r.endpoints_per_service},${r.metric},${r.statistic} with values ${prev.value} and ${r.value}`,
      );
    }
    m.set(k, r);
  }
  return m;
}

function indexSamples(sets: readonly SampleSet[] | null): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const s of sets ?? []) m.set(pointKey(s), s.samples);
  return m;
}

/** Compares two runs, each a run directory or a metrics.csv file (see readRun for where samples come from). */
export function compareRuns(baseline: string, current: string, opts: CompareOptions = {}): CompareResult {
  const b = readRun(baseline);
  const c = readRun(current);
  // a gate must not pass by accident: empty runs, duplicate rows, shards, missing meta.json, --quick vs full
  requireComparable(baseline, b, current, c);
  for (const m of Object.keys(opts.tolerances ?? {})) {
    if (findMetricDef(m) === undefined && !b.rows.some((r) => r.metric === m) && !c.rows.some((r) => r.metric === m)) {
      throw new InputError(`--tolerance ${m}`, 'unknown metric: not in the catalogue and in no row of either run');
    }
  }
  const machine = differentMachines(b, c);
  const result = compareRows(
    b.rows,
    c.rows,
    b.samples,
    c.samples,
    opts,
    { baseline: b.metricsFile, current: c.metricsFile },
    machine === null ? {} : { measuredNotGated: 'runs on different machines: not gated' },
  );
  result.warnings.unshift(...metaWarnings(b, c));
  if (machine !== null) result.warnings.push(`${machine}: measured rows are reported, not gated`);
  return result;
}

/** How the machines of two runs differ (CPU model, CPU count, Node version), or null when they do not or are unknown. */
export function differentMachines(b: Pick<RunData, 'meta'>, c: Pick<RunData, 'meta'>): string | null {
  if (b.meta === null || c.meta === null) return null;
  const diffs: string[] = [];
  if (b.meta.cpu !== c.meta.cpu) diffs.push(`CPU ${b.meta.cpu} vs ${c.meta.cpu}`);
  if (b.meta.cpus !== c.meta.cpus) diffs.push(`${b.meta.cpus} vs ${c.meta.cpus} CPUs`);
  if (b.meta.node !== c.meta.node) diffs.push(`Node ${b.meta.node} vs ${c.meta.node}`);
  return diffs.length === 0 ? null : `runs were made on different machines (${diffs.join(', ')})`;
}

function metaWarnings(b: RunData, c: RunData): string[] {
  const w: string[] = [];
  if (b.meta === null || c.meta === null) return w;
  if (String(b.meta.seed) !== String(c.meta.seed)) {
    w.push(`runs used different seeds (${String(b.meta.seed)} vs ${String(c.meta.seed)}): counted and modelled rows are not comparable`);
  }
  if (b.meta.quick !== c.meta.quick) w.push(`one run is --quick and the other is not (${b.meta.quick} vs ${c.meta.quick})`);
  if (c.meta.shard !== null) w.push(`the current run is shard ${c.meta.shard}: rows of other shards show as missing`);
  return w;
}

/**
 * Compares a run directory with the committed baseline (BASELINE_DIR unless opts.baselineDir); what
 * `kpbench run --ci` calls. An InputError (exit 2) when there is no baseline.
 */
export function compareWithBaseline(currentDir: string, opts: CompareOptions & { baselineDir?: string } = {}): CompareResult {
  const dir = opts.baselineDir ?? packagePath(BASELINE_DIR);
  if (!fs.existsSync(path.join(dir, RUN_FILES.metrics))) {
    throw new InputError(path.join(dir, RUN_FILES.metrics), 'no baseline: create one with `kpbench baseline update`');
  }
  return compareRuns(dir, currentDir, opts);
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

export type CompareFormat = 'table' | 'csv' | 'json';

export function formatP(p: number): string {
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

/** A value for people: seconds with an SI prefix, integers as is, other numbers to 6 significant digits. */
export function formatValue(v: number | null, unit: string): string {
  if (v === null) return '-';
  if (unit === 's' && v !== 0) {
    const a = Math.abs(v);
    const [scale, suffix] = a >= 1 ? [1, 's'] : a >= 1e-3 ? [1e3, 'ms'] : a >= 1e-6 ? [1e6, 'µs'] : [1e9, 'ns'];
    return `${trimNum((v * scale).toPrecision(6))} ${suffix}`;
  }
  const num = Number.isInteger(v) ? String(v) : trimNum(v.toPrecision(6));
  return unit && unit !== 's' ? `${num} ${unit}` : num;
}

function trimNum(s: string): string {
  return s.includes('e') ? s : s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** The relative change of a row for people: +12.50%, -3.00%, 0%, 'from 0'. */
export function formatChange(r: CompareRow): string {
  if (r.baseline === null || r.current === null) return '';
  if (r.change === null) return r.current === 0 ? '0' : 'from 0';
  const pct = r.change * 100;
  if (pct === 0) return '0%';
  const sign = pct > 0 ? '+' : '';
  return Math.abs(pct) < 0.01 ? `${sign}${pct.toExponential(1)}%` : `${sign}${pct.toFixed(2)}%`;
}

/** One line: "1 regressed, 0 missing, ... unchanged". */
export function formatCounts(result: CompareResult): string {
  return VERDICT_ORDER.map((v) => `${result.counts[v]} ${v}`).join(', ');
}

/**
 * A readable aligned table: regressions first, then missing, new, changed, improved (and unchanged rows when
 * `all`), then the count line, the verdict line and any warnings.
 */
export function formatCompareTable(result: CompareResult, opts: { all?: boolean } = {}): string {
  const shown = result.rows.filter((r) => opts.all === true || r.verdict !== 'unchanged');
  const header = ['verdict', 'scenario', 'backend', 'services', 'eps', 'metric', 'statistic', 'baseline', 'current', 'change', 'note'];
  const body = shown.map((r) => [
    r.verdict === 'regressed' ? 'REGRESSED' : r.verdict,
    r.scenario,
    r.backend,
    String(r.services),
    String(r.endpoints_per_service),
    r.metric,
    r.statistic,
    formatValue(r.baseline, r.unit),
    formatValue(r.current, r.unit),
    formatChange(r),
    [r.pValue !== null && r.note === '' ? `p=${formatP(r.pValue)}` : '', r.note].filter((s) => s !== '').join('; '),
  ]);
  const numeric = new Set([3, 4, 7, 8, 9]);
  const lines: string[] = [`baseline: ${result.baseline}`, `current:  ${result.current}`];
  if (body.length > 0) {
    const widths = header.map((h, i) => body.reduce((w, row) => Math.max(w, row[i]!.length), h.length));
    const fmt = (cells: string[]): string =>
      cells
        .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd();
    lines.push('', fmt(header), fmt(widths.map((w) => '-'.repeat(w))));
    for (const row of body) lines.push(fmt(row));
  } else {
    lines.push('', 'no differences');
  }
  lines.push('', formatCounts(result));
  const o = result.options;
  const gate = `counted/modelled tolerance ${o.countedTolerance}%, measured threshold ${o.threshold}% at p < ${o.alpha}${o.measured === 'report' ? ', measured not gated' : ''}`;
  lines.push(
    result.failed
      ? `FAIL: ${result.failures} row${result.failures === 1 ? '' : 's'} regressed` +
          (o.failOnMissing && result.counts.missing > 0 ? ' or missing' : '') +
          ` (${gate})`
      : `OK: no regressions (${gate})`,
  );
  for (const w of result.warnings) lines.push(`warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

export const COMPARE_CSV_HEADER = [
  'scenario',
  'backend',
  'services',
  'endpoints_per_service',
  'metric',
  'statistic',
  'unit',
  'kind',
  'baseline',
  'current',
  'ratio',
  'change_pct',
  'verdict',
  'gated',
  'p_value',
  'note',
] as const;

/** Every row (unchanged included) as CSV; empty cells for absent values. */
export function formatCompareCsv(result: CompareResult): string {
  const n = (v: number | null): string => (v === null ? '' : String(v));
  return stringify(
    result.rows.map((r) => [
      r.scenario,
      r.backend,
      r.services,
      r.endpoints_per_service,
      r.metric,
      r.statistic,
      r.unit,
      r.kind,
      n(r.baseline),
      n(r.current),
      n(r.ratio),
      r.change === null ? '' : String(r.change * 100),
      r.verdict,
      r.gated,
      n(r.pValue),
      r.note,
    ]),
    { header: true, columns: [...COMPARE_CSV_HEADER], cast: { boolean: (b) => (b ? 'true' : 'false') } },
  );
}

/** The whole result as JSON. */
export function formatCompareJson(result: CompareResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

export function formatComparison(result: CompareResult, format: CompareFormat = 'table', opts: { all?: boolean } = {}): string {
  return format === 'json' ? formatCompareJson(result) : format === 'csv' ? formatCompareCsv(result) : formatCompareTable(result, opts);
}

/**
 * Prints a comparison to stdout and sets process.exitCode = 1 when it failed: what `kpbench compare` does
 * with its result, and what `kpbench run --ci` can call after compareWithBaseline.
 */
export function printComparison(result: CompareResult, format: CompareFormat = 'table', opts: { all?: boolean } = {}): void {
  process.stdout.write(formatComparison(result, format, opts));
  if (result.failed) process.exitCode = 1;
}
