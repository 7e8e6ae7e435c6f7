/**
 * Joining the run directories of shards (`kpbench run --shard K/N`) into one run directory, as if the suite
 * had run in one job:
 * - metrics.csv: rows concatenated, in the canonical order (sortMetricRows); the same row identity in two
 *   shards is accepted only with the same value and unit, otherwise it is an InputError (exit 2);
 * - samples.json: sample sets joined under the same rule;
 * - scaling.csv: recomputed from the merged rows (a fit needs the sizes of every shard);
 * - meta.json: the first shard's meta with shard null, the scenarios of all shards and `shards` listing the
 *   shard metas; seeds, --quick and commits must agree;
 * - summary.md: the run summary of the merged rows (summary.ts), with an account of the merge;
 * - benchmark.json: regenerated from the merged rows (export.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { computeScaling } from '../metrics/scaling.js';
import { checkOutDir, sweepStale } from '../io/paths.js';
import { removeOnInterrupt } from '../io/signals.js';
import {
  installRunDir,
  pointKey,
  readRun,
  rowKey,
  RUN_FILES,
  sortMetricRows,
  sortSampleSets,
  writeMetricsCsv,
  writeSamplesJson,
  writeScalingCsv,
  type MetricRow,
  type RunMeta,
  type SampleSet,
  type ScalingRow,
} from './csvio.js';
import { writeExports, writeMeta } from './export.js';
import { parseShard, unshard } from './shard.js';
import { buildRunReport, writeReport, type ReportInput } from './report.js';
import { checkExpectations, resolveScenarioInfos } from './scenarios.js';

/** One run to merge: where it came from (for messages) and what it holds. */
export interface MergeInput {
  name: string;
  rows: readonly MetricRow[];
  samples: readonly SampleSet[] | null;
  meta: RunMeta | null;
}

export interface MergeOptions {
  /** The scaling fit; computeScaling from src/metrics/scaling.ts unless given (tests may pass their own). */
  computeScaling?: (rows: readonly MetricRow[]) => ScalingRow[];
}

export interface MergeResult {
  rows: MetricRow[];
  scaling: ScalingRow[];
  /** null when no input had a samples.json. */
  samples: SampleSet[] | null;
  /** null when no input had a meta.json. */
  meta: RunMeta | null;
  /** The inputs in the order merged (shard order when every input is a shard). */
  inputs: string[];
  warnings: string[];
}

function describe(
  r: Pick<MetricRow, 'scenario' | 'backend' | 'services' | 'endpoints_per_service' | 'metric'> & { statistic?: string },
): string {
  return [r.scenario, r.backend, r.services, r.endpoints_per_service, r.metric, r.statistic].filter((x) => x !== undefined).join(',');
}

/** Rows of several runs as one list in the canonical order; conflicting duplicates are an InputError. */
export function mergeMetricRows(inputs: ReadonlyArray<Pick<MergeInput, 'name' | 'rows'>>): MetricRow[] {
  const seen = new Map<string, { row: MetricRow; from: string }>();
  for (const input of inputs) {
    for (const row of input.rows) {
      const k = rowKey(row);
      const prev = seen.get(k);
      if (prev === undefined) {
        seen.set(k, { row, from: input.name });
      } else if (prev.row.value !== row.value || prev.row.unit !== row.unit) {
        throw new InputError(
          input.name,
          `row ${describe(row)} is also in ${prev.from} with a different value (${prev.row.value} ${prev.row.unit} vs ${row.value} ${row.unit}): shards overlap`,
        );
      }
    }
  }
  return sortMetricRows([...seen.values()].map((e) => e.row));
}

/** Sample sets of several runs as one list; the same point in two runs must have the same samples. */
export function mergeSampleSets(inputs: ReadonlyArray<Pick<MergeInput, 'name' | 'samples'>>): SampleSet[] | null {
  if (inputs.every((i) => i.samples === null)) return null;
  const seen = new Map<string, { set: SampleSet; from: string }>();
  for (const input of inputs) {
    for (const set of input.samples ?? []) {
      const k = pointKey(set);
      const prev = seen.get(k);
      if (prev === undefined) {
        seen.set(k, { set, from: input.name });
      } else if (
        prev.set.unit !== set.unit ||
        prev.set.samples.length !== set.samples.length ||
        prev.set.samples.some((v, i) => v !== set.samples[i])
      ) {
        throw new InputError(input.name, `samples of ${describe(set)} are also in ${prev.from}, different: shards overlap`);
      }
    }
  }
  return sortSampleSets([...seen.values()].map((e) => e.set));
}

/** Drops "--shard K/N" and "--shard=K/N" from an argv. */
function withoutShardArg(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--shard') {
      i++;
      continue;
    }
    if (a.startsWith('--shard=')) continue;
    out.push(a);
  }
  return out;
}

/**
 * Orders the inputs by shard number when every one is a shard, checks that they belong to one run, and
 * merges their metas. Returns the inputs in merge order, the merged meta and warnings.
 */
export function mergeMetas<T extends Pick<MergeInput, 'name' | 'meta'>>(
  inputs: readonly T[],
): { ordered: T[]; meta: RunMeta | null; warnings: string[] } {
  const warnings: string[] = [];
  const withMeta = inputs.filter((i): i is T & { meta: RunMeta } => i.meta !== null);
  if (withMeta.length === 0) return { ordered: [...inputs], meta: null, warnings };
  if (withMeta.length < inputs.length) {
    // a run directory without meta.json cannot be told from a cut-off run or a stray shard: refuse it
    const missing = inputs.find((i) => i.meta === null)!;
    throw new InputError(`${missing.name}: meta.json`, 'missing: cannot tell which run or shard this is');
  }
  const first = withMeta[0]!;
  for (const i of withMeta.slice(1)) {
    for (const field of ['seed', 'quick', 'gitCommit'] as const) {
      if (String(i.meta[field]) !== String(first.meta[field])) {
        throw new InputError(
          `${i.name}: meta.json`,
          `${field} ${String(i.meta[field])} differs from ${String(first.meta[field])} in ${first.name}: not shards of one run`,
        );
      }
    }
  }

  let ordered = [...inputs];
  let complete = false;
  if (withMeta.length === inputs.length && inputs.every((i) => i.meta!.shard !== null)) {
    const shards = inputs.map((i) => ({ input: i, s: parseShard(i.meta!.shard!, `${i.name}: meta.json: shard`) }));
    const n = shards[0]!.s.n;
    for (const { input, s } of shards) {
      if (s.n !== n)
        throw new InputError(
          `${input.name}: meta.json: shard`,
          `shard ${s.k}/${s.n} is not one of ${n} shards like ${shards[0]!.input.name}`,
        );
    }
    const byK = new Map<number, T>();
    for (const { input, s } of shards) {
      const dup = byK.get(s.k);
      if (dup !== undefined) throw new InputError(`${input.name}: meta.json: shard`, `shard ${s.k}/${n} is also ${dup.name}`);
      byK.set(s.k, input);
    }
    ordered = shards.sort((a, b) => a.s.k - b.s.k).map((x) => x.input);
    const absent = Array.from({ length: n }, (_, i) => i + 1).filter((k) => !byK.has(k));
    if (absent.length > 0)
      warnings.push(`shard${absent.length > 1 ? 's' : ''} ${absent.map((k) => `${k}/${n}`).join(', ')} not merged: the run is incomplete`);
    complete = absent.length === 0;
  }

  const metas = ordered.filter((i) => i.meta !== null).map((i) => i.meta!);
  const lists = metas.map((m) => m.scenarios);
  let scenarios: string[];
  if (lists.every((l) => l.length === lists[0]!.length && l.every((s, j) => s === lists[0]![j]))) {
    scenarios = [...lists[0]!];
  } else {
    scenarios = [];
    if (complete) {
      try {
        scenarios = unshard(lists);
      } catch {
        scenarios = [];
      }
    }
    if (scenarios.length === 0) scenarios = lists.flat();
    scenarios = [...new Set(scenarios)];
  }
  const base = metas[0]!;
  const meta: RunMeta = {
    ...base,
    date: metas.map((m) => m.date).reduce((a, b) => (b > a ? b : a)),
    argv: withoutShardArg(base.argv),
    shard: null,
    scenarios,
    shards: metas,
  };
  return { ordered, meta, warnings };
}

/** Merges runs already read (the pure core of mergeRuns). */
export function mergeRunData(inputs: readonly MergeInput[], opts: MergeOptions = {}): MergeResult {
  if (inputs.length === 0) throw new InputError('merge', 'nothing to merge: give at least one run directory');
  const { ordered, meta, warnings } = mergeMetas(inputs);
  const rows = mergeMetricRows(ordered);
  const samples = mergeSampleSets(ordered);
  const scaling = (opts.computeScaling ?? computeScaling)(rows);
  return { rows, scaling, samples, meta, inputs: ordered.map((i) => i.name), warnings };
}

/** Reads the run directories `dirs`, merges them and writes the merged run directory `outDir`. */
export function mergeRuns(dirs: readonly string[], outDir: string, opts: MergeOptions = {}): MergeResult {
  const out = path.resolve(outDir);
  for (const d of dirs) {
    if (path.resolve(d) === out) throw new InputError('--out', `${outDir} is one of the runs merged; choose another directory`);
  }
  checkOutDir('--out', outDir, { inputs: dirs });
  const seen = new Map<string, string>();
  for (const d of dirs) {
    if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) throw new InputError(d, 'no such run directory');
    const k = path.resolve(d);
    if (seen.has(k)) throw new InputError(d, `given twice (also ${seen.get(k)})`);
    seen.set(k, d);
  }
  const inputs: MergeInput[] = dirs.map((d) => {
    const run = readRun(d);
    return { name: d, rows: run.rows, samples: run.samples, meta: run.meta };
  });
  const result = mergeRunData(inputs, opts);
  if (result.rows.length === 0) throw new InputError(dirs.join(', '), 'no rows in any of the runs merged');
  sweepStale(outDir);
  writeMergedRun(outDir, result);
  return result;
}

/**
 * Writes a merged run as one step: every file into `<out>.staging-<pid>`, which then replaces `out`
 * (installRunDir), so `out` is the previous run or the complete merged one, whatever interrupts the merge.
 */
export function writeMergedRun(outDir: string, result: MergeResult): void {
  const staging = `${path.resolve(outDir)}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const forget = removeOnInterrupt(staging);
  try {
    fs.mkdirSync(staging, { recursive: true });
    writeScalingCsv(path.join(staging, RUN_FILES.scaling), result.scaling);
    if (result.samples !== null) writeSamplesJson(path.join(staging, RUN_FILES.samples), result.samples);
    if (result.meta !== null) writeMeta(staging, result.meta);
    writeReport(staging, buildRunReport(mergedReportInput(result)));
    writeMetricsCsv(path.join(staging, RUN_FILES.metrics), result.rows);
    writeExports(staging);
    installRunDir(staging, outDir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
    forget();
  }
}

/**
 * The report input of a merged run: the scenarios' words, published figures and expectations come from the shards'
 * meta.json (every shard records all of them), so the merged report has what an unsharded run's has, checks
 * included; the merge itself is accounted for in the notes.
 */
export function mergedReportInput(result: MergeResult): ReportInput {
  const ids = [...new Set(result.rows.map((r) => r.scenario))];
  const scenarios = resolveScenarioInfos(result.meta, ids);
  const n = result.inputs.length;
  const notes = [
    `Merged by kpbench merge from ${n} run director${n === 1 ? 'y' : 'ies'}: ${result.inputs.join(', ')}.`,
    ...result.warnings.map((w) => `Warning: ${w}.`),
  ];
  return {
    rows: result.rows,
    scaling: result.scaling,
    meta: result.meta,
    scenarios,
    checks: checkExpectations(scenarios, result.scaling),
    notes,
  };
}
