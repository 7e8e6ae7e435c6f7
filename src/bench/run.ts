import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { BackendKind } from '../types.js';
import { InputError } from '../errors.js';
import { checkOutDir, packagePath, PACKAGE_ROOT, sweepStale } from '../io/paths.js';
import { removeOnInterrupt } from '../io/signals.js';
import { fmtCount, limit, LIMIT_DEFS } from '../io/limits.js';
import { estimateCase } from '../scenario/validate.js';
import { loadScenario, scenarioFiles, type ScenarioCase } from '../scenario/load.js';
import type { ReferenceSpec } from '../scenario/schema.js';
import type { CaseOutput } from './case.js';
import { runCases } from './parallel.js';
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

/** The package's scenarios (found from the package, not the current directory). */
export const SCENARIO_DIR = packagePath('scenarios');

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
  /** Lift the work and case limits (src/io/limits.ts) for this run. */
  force?: boolean;
  /** Directories --out may not be (the baseline a --ci run compares with). */
  forbiddenOut?: string[];
  /** Called after every input is checked and before the first case runs (e.g. to check a baseline). */
  beforeRun?: () => void;
  /** Cost-model coefficients by backend kind and name, overriding the defaults (`--calibration FILE`). */
  calibration?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /**
   * Cases run at once, each on its own thread (default 1: one after the other). On the 2-core machine this was
   * measured on, two threads gave no gain: two simulations at once each ran about half as fast (memory-bound).
   */
  threads?: number;
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
    const files = args.map((a) => {
      if (a.trim() === '') throw new InputError('scenario', 'empty scenario argument');
      if (fs.existsSync(a)) return a;
      const byName = path.join(SCENARIO_DIR, `${a}.yaml`);
      if (/^[a-z0-9][a-z0-9-]*$/.test(a) && fs.existsSync(byName)) return byName;
      throw new InputError(a, `no such scenario file or scenario name (names are those of ${SCENARIO_DIR})`);
    });
    const seen = new Map<string, string>();
    for (const [i, f] of files.entries()) {
      const k = path.resolve(f);
      if (seen.has(k)) throw new InputError(args[i]!, `given twice (also ${seen.get(k)})`);
      seen.set(k, args[i]!);
    }
    return files;
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

/** A scenario file as meta.json lists it: relative to the package when it is one of its scenarios. */
function scenarioLabel(f: string): string {
  const abs = path.resolve(f);
  const rel = path.relative(PACKAGE_ROOT, abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? path.relative(process.cwd(), abs) : rel;
}

/**
 * Refuses a run too large for the machine before it starts (unless forced): more cases than the case limit, a
 * case with more simulated events than the event limit, or more estimated work than the work limit.
 */
export function checkRunSize(cases: readonly ScenarioCase[], force: boolean): void {
  if (force) return;
  const maxCases = limit('cases');
  if (cases.length > maxCases) {
    const file = cases[0]!.file;
    throw new InputError(
      `${file}: sweep`,
      `the run has ${fmtCount(cases.length)} cases (sweep points x backends), beyond the limit of ${fmtCount(maxCases)}; use --force or ${LIMIT_DEFS.cases.env}`,
    );
  }
  const maxEvents = limit('caseEvents');
  const maxWork = limit('workUnits');
  let work = 0;
  for (const c of cases) {
    const e = estimateCase(c.scenario);
    if (e.events > maxEvents) {
      const s = c.scenario;
      const burst = (s.churn.endpointBurst?.changes ?? 0) * 2;
      const field =
        burst > e.events / 2
          ? 'churn.endpointBurst.changes'
          : s.duration * s.load.connectionsPerSecond * s.load.requestsPerConnection > e.events / 2
            ? 'duration x load.connectionsPerSecond x load.requestsPerConnection'
            : 'duration x churn rates';
      const at = Object.keys(c.point).length === 0 ? '' : ` (sweep point ${JSON.stringify(c.point)})`;
      throw new InputError(
        `${c.file}: ${field}`,
        `about ${fmtCount(e.events)} simulated events in one case${at}, beyond the limit of ${fmtCount(maxEvents)}; use --force or ${LIMIT_DEFS.caseEvents.env}`,
      );
    }
    const maxState = limit('stateUnits');
    if (e.state > maxState) {
      const at = Object.keys(c.point).length === 0 ? '' : ` (sweep point ${JSON.stringify(c.point)})`;
      throw new InputError(
        `${c.file}: cluster.proxyNodes x cluster.services x cluster.ports x cluster.endpointsPerService`,
        `${fmtCount(e.state)} objects (services x ports x endpoints) held over all simulated kube-proxies in one case${at}, beyond the limit of ${fmtCount(maxState)}; use --force or ${LIMIT_DEFS.stateUnits.env}`,
      );
    }
    work += e.work;
  }
  if (work > maxWork) {
    throw new InputError(
      `${cases[0]!.file}: (run size)`,
      `estimated ${fmtCount(work)} work units (cases x services x endpoints x syncs x proxies + first packets x rules), beyond the limit of ${fmtCount(maxWork)}; use --force or ${LIMIT_DEFS.workUnits.env}`,
    );
  }
}

function gitCommit(): string | null {
  try {
    return (
      execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim() || null
    );
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
  // everything is checked before the first case runs: the output directory, every scenario, the size of the run
  checkOutDir('--out', opts.outDir, { inputs: files, forbidden: opts.forbiddenOut });
  const loaded = files.map((f) => loadScenario(f, { quick: opts.quick, seed: opts.seed }));
  const byName = new Map<string, string>();
  for (const l of loaded) {
    const other = byName.get(l.scenario.name);
    if (other !== undefined)
      throw new InputError(`${l.file}: name`, `'${l.scenario.name}' is also the name of ${other}: their rows would mix`);
    byName.set(l.scenario.name, l.file);
  }
  const cases = loaded.flatMap((l) => l.cases);
  if (opts.backends !== undefined) {
    const run = new Set(cases.flatMap((c) => c.scenario.backends));
    for (const b of opts.backends)
      if (!run.has(b)) throw new InputError('--backend', `${b} is not a backend of the scenarios run (${[...run].join(', ')})`);
  }
  let jobs = cases.flatMap((c) =>
    c.scenario.backends.filter((b) => opts.backends === undefined || opts.backends.includes(b)).map((b) => ({ c, b })),
  );
  if (opts.shard !== undefined) jobs = shardOf(jobs, opts.shard.k, opts.shard.n);
  checkRunSize(
    jobs.map((j) => j.c),
    opts.force === true,
  );
  opts.beforeRun?.();
  sweepStale(opts.outDir);

  const rows: MetricRow[] = [];
  const samples: SampleSet[] = [];
  const emit = onEvent ?? ((): void => {});
  const weights = jobs.map(({ c }) => caseWeight(c.scenario.cluster.services, opts.noWall !== true));
  emit({ type: 'start', jobs: jobs.length, work: weights.reduce((a, b) => a + b, 0) });
  const settings = { bench: opts.noWall !== true, calibration: opts.calibration };
  const threads = Math.max(1, Math.min(opts.threads ?? 1, jobs.length));
  const label = (i: number): string => `${jobs[i]!.c.id} ${jobs[i]!.b} ${jobs[i]!.c.scenario.cluster.services} services`;
  let done = 0;
  let work = 0;
  const onStart = (i: number): void => emit({ type: 'case-start', index: done, jobs: jobs.length, label: label(i) });
  const onEnd = (i: number, out: CaseOutput, seconds: number): void => {
    for (const r of out.rows) requireMetricDef(r.metric); // a row no catalogue defines is a bug: fail loudly
    work += weights[i]!;
    emit({ type: 'case-end', index: done++, jobs: jobs.length, label: label(i), seconds, work });
  };
  // several threads: the largest cases first, so that the last one to finish is a small one
  const order = jobs.map((_, i) => i);
  if (threads > 1) order.sort((a, b) => weights[b]! - weights[a]! || a - b);
  const outs = await runCases(jobs, order, threads, settings, { onStart, onEnd });
  // rows and samples in job order, whichever thread ran a case
  for (const out of outs) {
    for (const r of out.rows) rows.push(r);
    for (const x of out.samples) samples.push(x);
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
    scenarios: files.map((f) => scenarioLabel(f)),
    // what the report needs of the scenario files (descriptions, published figures, expectations), so a report
    // can be rebuilt from the run directory alone (kpbench report, kpbench merge)
    scenarioReports: infos,
  };
  const reports: ScenarioReport[] = infos;

  await new Promise<void>((resolve) => setImmediate(resolve));
  // write everything into a fresh directory (benchmark.json included), then put it in place in one step
  // (synchronously: a signal handler cannot run in the middle, see src/io/signals.ts)
  onEvent?.({ type: 'writing', outDir: opts.outDir });
  const staging = `${path.resolve(opts.outDir)}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const forget = removeOnInterrupt(staging);
  try {
    writeMetricsCsv(path.join(staging, 'metrics.csv'), rows as CsvMetricRow[]);
    writeScalingCsv(path.join(staging, 'scaling.csv'), scaling);
    writeSamplesJson(path.join(staging, 'samples.json'), samples);
    writeFileAtomic(path.join(staging, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    writeReport(staging, buildRunReport({ rows, scaling, meta, scenarios: infos, checks }));
    writeFileAtomic(
      path.join(staging, 'benchmark.json'),
      formatBenchmarkJson(exportBenchmarkJson(sortMetricRows(rows as CsvMetricRow[]), meta)),
    );
    installRunDir(staging, opts.outDir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
    forget();
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
