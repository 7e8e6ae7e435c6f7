/**
 * Reading and writing the files of a run directory: the tidy `metrics.csv`, `scaling.csv`, the retained
 * samples (`samples.json`) and the run's `meta.json`.
 *
 * - Every reader validates what it reads and throws an InputError naming the file, the line (CSV) or the
 *   JSON path, the field and the reason: bad input is exit code 2 with one line, never a stack trace.
 * - Every writer is atomic: the data goes to `<file>.tmp-<pid>`, which is then renamed over the file, so an
 *   interrupted run never leaves half a CSV behind.
 * - `sortMetricRows` is the one canonical row order; the run command and `kpbench merge` both write in it,
 *   so the same seed gives byte-identical counted and modelled rows however the run was split.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { metricKind, rowKind, sweepColumn, sweepColumns, sweepPoint, type KindedRow } from './columns.js';
import { readInputText } from '../io/read.js';

// ---------------------------------------------------------------------------------------------
// Files of a run directory
// ---------------------------------------------------------------------------------------------

/** The files a run directory holds (all but metrics.csv are optional for the readers here). */
export const RUN_FILES = {
  metrics: 'metrics.csv',
  scaling: 'scaling.csv',
  samples: 'samples.json',
  meta: 'meta.json',
  summary: 'summary.md',
  /** github-action-benchmark input, derived from metrics.csv and meta.json (see export.ts). */
  benchmark: 'benchmark.json',
  /** The self-contained HTML report (report.ts). */
  report: 'report.html',
  /** One SVG file per chart (a directory). */
  charts: 'charts',
} as const;

export const METRICS_HEADER = ['scenario', 'backend', 'services', 'endpoints_per_service', 'metric', 'statistic', 'value', 'unit'] as const;
export const SCALING_HEADER = ['scenario', 'backend', 'metric', 'exponent', 'r2'] as const;

export { STATISTICS } from '../types.js';
export type { Statistic, MetricRow, ScalingRow, SampleSet } from '../types.js';
import type { MetricRow, SampleSet, ScalingRow, Statistic } from '../types.js';
import { STATISTICS } from '../types.js';

/** meta.json: where and how a run was made. Unknown fields are kept. */
export interface RunMeta {
  seed: number | string | null;
  gitCommit: string | null;
  node: string;
  cpu: string;
  cpus: number;
  platform: string;
  /** ISO 8601. */
  date: string;
  argv: string[];
  quick: boolean;
  /** "K/N" for one shard of a run, null for a whole run. */
  shard: string | null;
  scenarios: string[];
  /** Set by `kpbench merge`: the metas of the shards merged, in shard order. */
  shards?: RunMeta[];
  [extra: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// Row identity and the canonical order
// ---------------------------------------------------------------------------------------------

/** The identity of a row as one string: (scenario, backend, services, endpoints_per_service, metric, statistic). */
export function rowKey(r: Pick<MetricRow, 'scenario' | 'backend' | 'services' | 'endpoints_per_service' | 'metric' | 'statistic'>): string {
  return `${r.scenario}\u0000${r.backend}\u0000${r.services}\u0000${r.endpoints_per_service}\u0000${r.metric}\u0000${r.statistic}`;
}

/** The identity of a measurement point and metric (a row's identity without the statistic): keys samples.json. */
export function pointKey(r: Pick<MetricRow, 'scenario' | 'backend' | 'services' | 'endpoints_per_service' | 'metric'>): string {
  return `${r.scenario}\u0000${r.backend}\u0000${r.services}\u0000${r.endpoints_per_service}\u0000${r.metric}`;
}

/** Code-unit order: independent of the locale, so the order is the same on every machine. */
function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function statRank(s: string): number {
  const i = (STATISTICS as readonly string[]).indexOf(s);
  return i < 0 ? STATISTICS.length : i;
}

/**
 * The canonical row order: scenario, backend (strings), services, endpoints_per_service (numbers), metric
 * (string), statistic (in STATISTICS order: value, mean, p50, p90, p99, min, max, total, rme, samples).
 */
export function compareMetricRows(
  a: Pick<MetricRow, 'scenario' | 'backend' | 'services' | 'endpoints_per_service' | 'metric' | 'statistic'>,
  b: Pick<MetricRow, 'scenario' | 'backend' | 'services' | 'endpoints_per_service' | 'metric' | 'statistic'>,
): number {
  return (
    cmpStr(a.scenario, b.scenario) ||
    cmpStr(a.backend, b.backend) ||
    a.services - b.services ||
    a.endpoints_per_service - b.endpoints_per_service ||
    cmpStr(a.metric, b.metric) ||
    statRank(a.statistic) - statRank(b.statistic) ||
    cmpStr(a.statistic, b.statistic)
  );
}

/** A sorted copy of `rows` in the canonical order (the input is not modified; the sort is stable). */
export function sortMetricRows<
  T extends Pick<MetricRow, 'scenario' | 'backend' | 'services' | 'endpoints_per_service' | 'metric' | 'statistic'>,
>(rows: readonly T[]): T[] {
  return [...rows].sort(compareMetricRows);
}

/** scaling.csv order: scenario, backend, metric. */
export function sortScalingRows(rows: readonly ScalingRow[]): ScalingRow[] {
  return [...rows].sort((a, b) => cmpStr(a.scenario, b.scenario) || cmpStr(a.backend, b.backend) || cmpStr(a.metric, b.metric));
}

/** samples.json order: the canonical order of (scenario, backend, services, endpoints_per_service, metric). */
export function sortSampleSets(sets: readonly SampleSet[]): SampleSet[] {
  return [...sets].sort((a, b) => compareMetricRows({ ...a, statistic: 'value' }, { ...b, statistic: 'value' }));
}

// ---------------------------------------------------------------------------------------------
// Atomic writes
// ---------------------------------------------------------------------------------------------

/** Writes `data` to `file` atomically (temp file `<file>.tmp-<pid>` in the same directory, then rename). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Installs the run files of run directory `from` as directory `to` (e.g. the committed baseline), replacing
 * the run files `to` held before as one step: the files are copied into `<to>.tmp-<pid>`, which then takes
 * `to`'s place by rename. Files of `to` that are not run files (a README, say) are carried over. A run file
 * missing from `from` is missing from `to` afterwards (a stale samples.json never outlives its metrics.csv).
 * Returns the run files copied.
 */
export function installRunDir(from: string, to: string): string[] {
  const runNames = new Set<string>(Object.values(RUN_FILES));
  const tmp = `${to}.tmp-${process.pid}`;
  const old = `${to}.old-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const copied: string[] = [];
  try {
    for (const name of Object.values(RUN_FILES)) {
      const src = path.join(from, name);
      if (!fs.existsSync(src)) continue;
      if (fs.statSync(src).isDirectory()) fs.cpSync(src, path.join(tmp, name), { recursive: true });
      else fs.copyFileSync(src, path.join(tmp, name));
      copied.push(name);
    }
    if (fs.existsSync(to)) {
      for (const ent of fs.readdirSync(to, { withFileTypes: true })) {
        if (runNames.has(ent.name)) continue;
        fs.cpSync(path.join(to, ent.name), path.join(tmp, ent.name), { recursive: true });
      }
      fs.renameSync(to, old);
    }
    fs.renameSync(tmp, to);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(to) && fs.existsSync(old)) fs.renameSync(old, to);
    throw e;
  }
  fs.rmSync(old, { recursive: true, force: true });
  return copied;
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

interface CsvRecord {
  record: string[];
  /** Line of the file the record ends on (1-based). */
  line: number;
}

function readText(file: string): string {
  // stat first, then a capped read: a FIFO, a device or a huge file is refused, not read whole (src/io/read.ts)
  return readInputText(file);
}

/**
 * Parses CSV text into records with their line numbers; checks the header is exactly `header`, or, with
 * `extra`, starts with `header` and continues with columns `extra` accepts (records then have the header's
 * length). Returns the records and the header read.
 */
function parseCsvWithHeader(
  text: string,
  file: string,
  header: readonly string[],
  extra?: (cols: readonly string[]) => string | null,
): { records: CsvRecord[]; header: string[] } {
  let parsed: Array<{ record: string[]; info: { lines: number } }>;
  try {
    parsed = parse(text, { info: true, skip_empty_lines: true, bom: true, relax_column_count: true }) as unknown as Array<{
      record: string[];
      info: { lines: number };
    }>;
  } catch (e) {
    const lines = (e as { lines?: unknown }).lines;
    const where = typeof lines === 'number' ? `${file}: line ${lines}` : file;
    throw new InputError(where, `not valid CSV: ${(e as Error).message.replace(/\s+/g, ' ')}`);
  }
  const first = parsed[0];
  if (first === undefined) throw new InputError(file, `empty file, expected the header "${header.join(',')}"`);
  const got = first.record.map((h) => h.trim());
  const prefixOk = got.length >= header.length && header.every((h, i) => got[i] === h);
  const extraProblem =
    prefixOk && got.length > header.length ? (extra === undefined ? 'unexpected columns' : extra(got.slice(header.length))) : null;
  if (!prefixOk || extraProblem !== null) {
    const expected = extra === undefined ? `be "${header.join(',')}"` : `start with "${header.join(',')}"`;
    throw new InputError(
      `${file}: line ${first.info.lines}`,
      `header must ${expected}, got "${got.join(',')}"${extraProblem !== null && extra !== undefined ? `: ${extraProblem}` : ''}`,
    );
  }
  const out: CsvRecord[] = [];
  for (const { record, info } of parsed.slice(1)) {
    if (record.length !== got.length) {
      throw new InputError(`${file}: line ${info.lines}`, `expected ${got.length} fields (${got.join(',')}), got ${record.length}`);
    }
    out.push({ record, line: info.lines });
  }
  return { records: out, header: got };
}

/** parseCsvWithHeader for a file whose header is exactly `header`. */
function parseCsv(text: string, file: string, header: readonly string[]): CsvRecord[] {
  return parseCsvWithHeader(text, file, header).records;
}

function fieldError(file: string, line: number, field: string, reason: string): InputError {
  return new InputError(`${file}: line ${line}, field ${field}`, reason);
}

function parseNumber(raw: string, file: string, line: number, field: string, allowNaN = false): number {
  const s = raw.trim();
  if (allowNaN && (s === '' || s === 'NaN')) return Number.NaN;
  const n = s === '' ? Number.NaN : Number(s);
  if (!Number.isFinite(n)) throw fieldError(file, line, field, `unreadable number "${raw}"`);
  return n;
}

function parseCount(raw: string, file: string, line: number, field: string): number {
  const n = parseNumber(raw, file, line, field);
  if (n < 0) throw fieldError(file, line, field, `must be >= 0, got "${raw}"`);
  return n;
}

function requireText(raw: string, file: string, line: number, field: string): string {
  const s = raw.trim();
  if (s === '') throw fieldError(file, line, field, 'must not be empty');
  return s;
}

/** Columns after the contract's: `kind`, then swept fields (any names). Null when acceptable. */
function metricsExtraColumns(cols: readonly string[]): string | null {
  if (cols[0] !== 'kind') return `the ninth column must be "kind", got "${cols[0] ?? ''}"`;
  const seen = new Set<string>();
  for (const c of cols.slice(1)) {
    if (c === '' || seen.has(c) || (METRICS_HEADER as readonly string[]).includes(c)) return `bad swept-field column "${c}"`;
    seen.add(c);
  }
  return null;
}

/**
 * Parses metrics.csv text; `file` names the source in error messages. Reads the contract's eight columns and,
 * in files that have them, the derived ones (columns.ts): `kind` is kept on a row only where it differs from the
 * kind its metric name gives (a `kernel` row of a catalogue metric, say); the swept-field columns are derived
 * from the scenario id and not read.
 */
export function parseMetricsCsv(text: string, file: string): MetricRow[] {
  const { records, header } = parseCsvWithHeader(text, file, METRICS_HEADER, metricsExtraColumns);
  const hasKind = header.length > METRICS_HEADER.length;
  return records.map(({ record, line }) => {
    const [scenario, backend, services, eps, metric, statistic, value, unit] = record as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const stat = statistic.trim();
    if (!(STATISTICS as readonly string[]).includes(stat)) {
      throw fieldError(file, line, 'statistic', `unknown statistic "${statistic}" (expected one of ${STATISTICS.join(', ')})`);
    }
    const row: KindedRow = {
      scenario: requireText(scenario, file, line, 'scenario'),
      backend: requireText(backend, file, line, 'backend'),
      services: parseCount(services, file, line, 'services'),
      endpoints_per_service: parseCount(eps, file, line, 'endpoints_per_service'),
      metric: requireText(metric, file, line, 'metric'),
      statistic: stat as Statistic,
      value: parseNumber(value, file, line, 'value'),
      unit: unit.trim(),
    };
    if (hasKind) {
      const kind = (record[METRICS_HEADER.length] ?? '').trim();
      if (kind !== '' && kind !== metricKind(row.metric)) row.kind = kind;
    }
    return row;
  });
}

/** Reads and validates a metrics.csv file. */
export function readMetricsCsv(file: string): MetricRow[] {
  return parseMetricsCsv(readText(file), file);
}

/**
 * metrics.csv text for `rows`, in the canonical order unless `sort` is false: the contract's eight columns, then
 * `kind` and one column per swept field (columns.ts). A row without a unit gets '1' (a dimensionless number).
 */
export function formatMetricsCsv(rows: readonly MetricRow[], sort = true): string {
  const ordered = sort ? sortMetricRows(rows) : rows;
  const sweep = sweepColumns(ordered);
  return stringify(
    ordered.map((r) => {
      const point = new Map(sweepPoint(r.scenario).map(([f, v]) => [sweepColumn(f), v]));
      return [
        r.scenario,
        r.backend,
        r.services,
        r.endpoints_per_service,
        r.metric,
        r.statistic,
        r.value,
        r.unit === '' ? '1' : r.unit,
        rowKind(r as KindedRow),
        ...sweep.map((c) => point.get(c) ?? ''),
      ];
    }),
    { header: true, columns: [...METRICS_HEADER, 'kind', ...sweep], cast: { number: formatNumber } },
  );
}

/** Writes metrics.csv atomically, in the canonical order unless `sort` is false. */
export function writeMetricsCsv(file: string, rows: readonly MetricRow[], sort = true): void {
  writeFileAtomic(file, formatMetricsCsv(rows, sort));
}

/** Parses scaling.csv text; exponent and r2 may be empty or "NaN" (an undefined fit). */
export function parseScalingCsv(text: string, file: string): ScalingRow[] {
  return parseCsv(text, file, SCALING_HEADER).map(({ record, line }) => {
    const [scenario, backend, metric, exponent, r2] = record as [string, string, string, string, string];
    return {
      scenario: requireText(scenario, file, line, 'scenario'),
      backend: requireText(backend, file, line, 'backend'),
      metric: requireText(metric, file, line, 'metric'),
      exponent: parseNumber(exponent, file, line, 'exponent', true),
      r2: parseNumber(r2, file, line, 'r2', true),
    };
  });
}

export function readScalingCsv(file: string): ScalingRow[] {
  return parseScalingCsv(readText(file), file);
}

export function formatScalingCsv(rows: readonly ScalingRow[], sort = true): string {
  const ordered = sort ? sortScalingRows(rows) : rows;
  return stringify(
    ordered.map((r) => [r.scenario, r.backend, r.metric, r.exponent, r.r2]),
    { header: true, columns: [...SCALING_HEADER], cast: { number: formatNumber } },
  );
}

export function writeScalingCsv(file: string, rows: readonly ScalingRow[], sort = true): void {
  writeFileAtomic(file, formatScalingCsv(rows, sort));
}

/** Numbers as CSV text: the shortest text that reads back to the same double ("NaN" for NaN, "0" for -0). */
export function formatNumber(n: number): string {
  if (Object.is(n, -0)) return '0';
  return String(n);
}

// ---------------------------------------------------------------------------------------------
// JSON files
// ---------------------------------------------------------------------------------------------

function readJson(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(file, `not valid JSON: ${(e as Error).message}`);
  }
}

function zodError(file: string, err: z.ZodError): InputError {
  const issue = err.issues[0];
  if (issue === undefined) return new InputError(file, 'invalid');
  const where = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  return new InputError(where ? `${file}: ${where}` : file, issue.message);
}

const finite = z.number().refine(Number.isFinite, 'expected a finite number');

const sampleSetSchema = z.object({
  scenario: z.string().min(1),
  backend: z.string().min(1),
  services: finite.refine((n) => n >= 0, 'must be >= 0'),
  endpoints_per_service: finite.refine((n) => n >= 0, 'must be >= 0'),
  metric: z.string().min(1),
  unit: z.string(),
  samples: z.array(finite),
});

/** Validates the content of a samples.json file. */
export function parseSamplesJson(data: unknown, file: string): SampleSet[] {
  const r = z.array(sampleSetSchema).safeParse(data);
  if (!r.success) throw zodError(file, r.error);
  return r.data;
}

export function readSamplesJson(file: string): SampleSet[] {
  return parseSamplesJson(readJson(file), file);
}

/** samples.json text: one sample set a line, so diffs of it stay readable. */
export function formatSamplesJson(sets: readonly SampleSet[], sort = true): string {
  const ordered = sort ? sortSampleSets(sets) : sets;
  if (ordered.length === 0) return '[]\n';
  return `[\n${ordered
    .map((s) =>
      JSON.stringify({
        scenario: s.scenario,
        backend: s.backend,
        services: s.services,
        endpoints_per_service: s.endpoints_per_service,
        metric: s.metric,
        unit: s.unit,
        samples: s.samples,
      }),
    )
    .join(',\n')}\n]\n`;
}

export function writeSamplesJson(file: string, sets: readonly SampleSet[], sort = true): void {
  writeFileAtomic(file, formatSamplesJson(sets, sort));
}

const metaSchema: z.ZodType<RunMeta> = z.lazy(() =>
  z.looseObject({
    seed: z.union([z.number(), z.string(), z.null()]),
    gitCommit: z.string().nullable(),
    node: z.string(),
    cpu: z.string(),
    cpus: z.number(),
    platform: z.string(),
    date: z.string(),
    argv: z.array(z.string()),
    quick: z.boolean(),
    shard: z.string().nullable(),
    scenarios: z.array(z.string()),
    shards: z.array(metaSchema).optional(),
  }),
) as z.ZodType<RunMeta>;

/** Validates the content of a meta.json file. */
export function parseMeta(data: unknown, file: string): RunMeta {
  const r = metaSchema.safeParse(data);
  if (!r.success) throw zodError(file, r.error);
  return r.data;
}

export function readMeta(file: string): RunMeta {
  return parseMeta(readJson(file), file);
}

// ---------------------------------------------------------------------------------------------
// A run directory as a whole
// ---------------------------------------------------------------------------------------------

/** What the readers found for a run: its metrics, and the optional files when present. */
export interface RunData {
  /** The metrics.csv read. */
  metricsFile: string;
  rows: MetricRow[];
  /** null when the run has no samples.json. */
  samples: SampleSet[] | null;
  /** null when the run has no meta.json. */
  meta: RunMeta | null;
}

/**
 * Reads a run given as a run directory or as a metrics.csv file. For a file named metrics.csv, the
 * samples.json and meta.json beside it belong to the same run; any other CSV file is read alone.
 */
export function readRun(dirOrFile: string): RunData {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dirOrFile);
  } catch {
    throw new InputError(dirOrFile, 'no such run directory or metrics.csv file');
  }
  const dir = stat.isDirectory() ? dirOrFile : path.basename(dirOrFile) === RUN_FILES.metrics ? path.dirname(dirOrFile) : null;
  const metricsFile = stat.isDirectory() ? path.join(dirOrFile, RUN_FILES.metrics) : dirOrFile;
  const rows = readMetricsCsv(metricsFile);
  const samplesFile = dir === null ? null : path.join(dir, RUN_FILES.samples);
  const metaFile = dir === null ? null : path.join(dir, RUN_FILES.meta);
  return {
    metricsFile,
    rows,
    samples: samplesFile !== null && fs.existsSync(samplesFile) ? readSamplesJson(samplesFile) : null,
    meta: metaFile !== null && fs.existsSync(metaFile) ? readMeta(metaFile) : null,
  };
}
