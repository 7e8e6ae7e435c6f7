import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { BackendKind } from '../types.js';
import { InputError } from '../errors.js';
import { loadScenario, scenarioFiles, type LoadedScenario, type ScenarioCase } from '../scenario/load.js';
import type { ReferenceSpec } from '../scenario/schema.js';
import { runCase } from './case.js';
import type { MetricRow } from '../metrics/stats.js';
import { computeScaling, type ScalingRow } from '../metrics/scaling.js';
import { requireMetricDef } from '../metrics/catalogue.js';
import type { SampleSet } from './micro.js';
import { shardOf } from '../report/shard.js';
import {
  installRunDir,
  writeMetricsCsv,
  writeScalingCsv,
  writeSamplesJson,
  writeFileAtomic,
  sortMetricRows,
  type RunMeta,
  type MetricRow as CsvMetricRow,
} from '../report/csvio.js';
import { summaryMarkdown, type CheckResult, type ScenarioReport } from '../report/summary.js';
import { exportBenchmarkJson, formatBenchmarkJson } from '../report/export.js';

export const SCENARIO_DIR = 'scenarios';

export interface SuiteOptions {
  /** Scenario files or names (scenarios/<name>.yaml); empty: the default suite. */
  scenarios?: string[];
  quick: boolean;
  seed?: number;
  outDir: string;
  shard?: { k: number; n: number };
  /** Skip the tinybench micro-benchmarks. */
  noWall?: boolean;
  /** Only these backends. */
  backends?: BackendKind[];
  /** Cost-model coefficients by backend kind and name, overriding the defaults (`--calibration FILE`). */
  calibration?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** What the suite runner reports while it works; the caller decides how to show it (the CLI draws a bar). */
export type SuiteEvent =
  | { type: 'start'; jobs: number }
  | { type: 'case-start'; index: number; jobs: number; label: string }
  | { type: 'case-end'; index: number; jobs: number; label: string; seconds: number }
  | { type: 'writing'; outDir: string }
  | { type: 'done'; outDir: string };

export interface SuiteResult {
  rows: MetricRow[];
  scaling: ScalingRow[];
  checks: CheckResult[];
  reports: ScenarioReport[];
  outDir: string;
}

/** Resolves scenario arguments: a path, or a name in scenarios/. */
export function resolveScenarios(args: readonly string[] | undefined, quick: boolean): string[] {
  if (args !== undefined && args.length > 0) {
    return args.map((a) => {
      if (fs.existsSync(a)) return a;
      const byName = path.join(SCENARIO_DIR, `${a}.yaml`);
      if (fs.existsSync(byName)) return byName;
      throw new InputError(a, 'no such scenario file or scenario name');
    });
  }
  const files = scenarioFiles(SCENARIO_DIR).filter((f) => {
    try {
      return loadScenario(f, { quick }).scenario.suite.includes(quick ? 'quick' : 'default');
    } catch {
      return true; // a broken file in the suite is reported when it is loaded below
    }
  });
  if (files.length === 0) throw new InputError(SCENARIO_DIR, 'no scenario of the default suite found');
  return files;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}

/** Checks the scenarios' expectations on scaling exponents. */
function checkExpectations(loaded: readonly LoadedScenario[], cases: readonly ScenarioCase[], scaling: readonly ScalingRow[]): CheckResult[] {
  const out: CheckResult[] = [];
  for (const l of loaded) {
    const ids = [...new Set(cases.filter((c) => c.file === l.file).map((c) => c.id))];
    for (const id of ids) {
      for (const e of l.scenario.expect) {
        if (!l.scenario.backends.includes(e.backend)) continue;
        const s = scaling.find((x) => x.scenario === id && x.backend === e.backend && x.metric === e.metric);
        const exponent = s === undefined || !Number.isFinite(s.exponent) ? null : s.exponent;
        const ok = exponent !== null && (e.exponent.min === undefined || exponent >= e.exponent.min) && (e.exponent.max === undefined || exponent <= e.exponent.max);
        out.push({ scenario: id, backend: e.backend, metric: e.metric, exponent, min: e.exponent.min, max: e.exponent.max, ok });
      }
    }
  }
  return out;
}

/**
 * Runs scenarios: every case of every scenario on every backend (or one shard of that list), then writes the run
 * directory (metrics.csv, scaling.csv, samples.json, meta.json, summary.md) in one atomic step.
 */
export async function runSuite(opts: SuiteOptions, onEvent?: (e: SuiteEvent) => void): Promise<SuiteResult> {
  const files = resolveScenarios(opts.scenarios, opts.quick);
  const loaded = files.map((f) => loadScenario(f, { quick: opts.quick, seed: opts.seed }));
  const cases = loaded.flatMap((l) => l.cases);
  let jobs = cases.flatMap((c) =>
    c.scenario.backends.filter((b) => opts.backends === undefined || opts.backends.includes(b)).map((b) => ({ c, b })),
  );
  if (opts.shard !== undefined) jobs = shardOf(jobs, opts.shard.k, opts.shard.n);

  const rows: MetricRow[] = [];
  const samples: SampleSet[] = [];
  const emit = onEvent ?? ((): void => {});
  emit({ type: 'start', jobs: jobs.length });
  let index = 0;
  for (const { c, b } of jobs) {
    const label = `${c.id} ${b} ${c.scenario.cluster.services} services`;
    emit({ type: 'case-start', index, jobs: jobs.length, label });
    const started = Date.now();
    const out = await runCase(c, b, { bench: opts.noWall !== true, calibration: opts.calibration });
    for (const r of out.rows) requireMetricDef(r.metric); // a row no catalogue defines is a bug: fail loudly
    rows.push(...out.rows);
    samples.push(...out.samples);
    emit({ type: 'case-end', index, jobs: jobs.length, label, seconds: (Date.now() - started) / 1000 });
    index++;
  }

  const scaling = computeScaling(rows);
  const checks = opts.shard === undefined ? checkExpectations(loaded, cases, scaling) : [];
  const seed = opts.seed ?? loaded[0]?.scenario.seed ?? 1;
  const meta: RunMeta = {
    seed,
    gitCommit: gitCommit(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
    argv: process.argv.slice(2),
    quick: opts.quick,
    shard: opts.shard === undefined ? null : `${opts.shard.k}/${opts.shard.n}`,
    scenarios: files.map((f) => path.relative(process.cwd(), f)),
  };
  const reports: ScenarioReport[] = [];
  for (const l of loaded) {
    for (const id of new Set(cases.filter((c) => c.file === l.file).map((c) => c.id))) {
      reports.push({ id, name: l.scenario.name, description: l.scenario.description, references: referencesFor(id, l.scenario.reference) });
    }
  }

  // write everything into a fresh directory (benchmark.json included), then put it in place in one step
  onEvent?.({ type: 'writing', outDir: opts.outDir });
  const staging = `${opts.outDir.replace(/[\\/]+$/, '')}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    writeMetricsCsv(path.join(staging, 'metrics.csv'), rows as CsvMetricRow[]);
    writeScalingCsv(path.join(staging, 'scaling.csv'), scaling);
    writeSamplesJson(path.join(staging, 'samples.json'), samples);
    writeFileAtomic(path.join(staging, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    writeFileAtomic(path.join(staging, 'summary.md'), summaryMarkdown(reports, rows, scaling, checks, { seed, date: meta.date, quick: opts.quick, gitCommit: meta.gitCommit }));
    writeFileAtomic(path.join(staging, 'benchmark.json'), formatBenchmarkJson(exportBenchmarkJson(sortMetricRows(rows as CsvMetricRow[]), meta)));
    installRunDir(staging, opts.outDir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  onEvent?.({ type: 'done', outDir: opts.outDir });
  return { rows, scaling, checks, reports, outDir: opts.outDir };
}

/** The references that apply to one case: those without a variant, and those whose variant pairs the case's id has. */
export function referencesFor(id: string, refs: readonly ReferenceSpec[]): ReferenceSpec[] {
  const at = id.indexOf('@');
  const pairs = new Set(at < 0 ? [] : id.slice(at + 1).split(','));
  return refs.filter((r) => r.variant === undefined || r.variant.split(',').every((p) => pairs.has(p.trim())));
}
