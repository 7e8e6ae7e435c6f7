import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { BackendKind } from '../types.js';
import { InputError } from '../errors.js';
import { backendDefinition } from '../backends/registry.js';
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
import type { CheckResult, ScenarioReport } from '../report/summary.js';
import { checkExpectations, scenarioInfos } from '../report/scenarios.js';
import { buildRunReport, writeReport } from '../report/report.js';
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
  | { type: 'start'; jobs: number; work: number }
  | { type: 'case-start'; index: number; jobs: number; label: string }
  /** `work`: estimated work done so far, out of the start event's (caseWeight: a case's cost grows with its services). */
  | { type: 'case-end'; index: number; jobs: number; label: string; seconds: number; work: number }
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

/** Relative cost of a case for the progress estimate: proportional to services, plus the micro-benchmarks' fixed time. */
export function caseWeight(services: number, wall: boolean): number {
  return services + (wall ? 2000 : 200);
}

/**
 * Runs scenarios: every case of every scenario on every backend (or one shard of that list), then writes the run
 * directory (metrics.csv, scaling.csv, samples.json, meta.json, benchmark.json, and the report: summary.md,
 * report.html, charts/*.svg) in one atomic step.
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
  const weights = jobs.map(({ c }) => caseWeight(c.scenario.cluster.services, opts.noWall !== true));
  emit({ type: 'start', jobs: jobs.length, work: weights.reduce((a, b) => a + b, 0) });
  let index = 0;
  let work = 0;
  for (const { c, b } of jobs) {
    const label = `${c.id} ${b} ${c.scenario.cluster.services} services`;
    emit({ type: 'case-start', index, jobs: jobs.length, label });
    const started = Date.now();
    const out = await runCase(c, b, { bench: opts.noWall !== true, calibration: opts.calibration });
    for (const r of out.rows) requireMetricDef(r.metric); // a row no catalogue defines is a bug: fail loudly
    rows.push(...out.rows);
    samples.push(...out.samples);
    work += weights[index]!;
    emit({ type: 'case-end', index, jobs: jobs.length, label, seconds: (Date.now() - started) / 1000, work });
    index++;
  }

  const scaling = computeScaling(rows);
  // each scenario id keeps the published figures of its sweep point (a figure's `variant`)
  const infos = scenarioInfos(loaded).map((i) => ({ ...i, references: referencesFor(i.id, i.references) }));
  const checks = opts.shard === undefined ? checkExpectations(infos, scaling) : [];
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
    // what the report needs of the scenario files (descriptions, published figures, expectations), so a report
    // can be rebuilt from the run directory alone (kpbench report, kpbench merge)
    scenarioReports: infos,
  };
  const reports: ScenarioReport[] = infos;

  // write everything into a fresh directory (benchmark.json included), then put it in place in one step
  onEvent?.({ type: 'writing', outDir: opts.outDir });
  const staging = `${opts.outDir.replace(/[\\/]+$/, '')}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    writeMetricsCsv(path.join(staging, 'metrics.csv'), rows as CsvMetricRow[]);
    writeScalingCsv(path.join(staging, 'scaling.csv'), scaling);
    writeSamplesJson(path.join(staging, 'samples.json'), samples);
    writeFileAtomic(path.join(staging, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    writeReport(staging, buildRunReport({ rows, scaling, meta, scenarios: infos, checks }));
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
