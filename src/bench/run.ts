import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { SingleBar, Presets } from 'cli-progress';
import type { BackendKind } from '../types.js';
import { InputError } from '../cli/errors.js';
import { loadScenario, scenarioFiles } from '../scenario/load.js';
import { runCase } from './case.js';
import type { MetricRow } from '../metrics/stats.js';
import { computeScaling, type ScalingRow } from '../metrics/scaling.js';
import type { SampleSet } from './micro.js';
import { shardOf } from '../report/shard.js';
import {
  installRunDir,
  writeMetricsCsv,
  writeScalingCsv,
  writeSamplesJson,
  writeFileAtomic,
  type RunMeta,
  type MetricRow as CsvMetricRow,
} from '../report/csvio.js';
import { terminalSummary, type CheckResult } from '../report/summary.js';
import { checkExpectations, scenarioInfos } from '../report/scenarios.js';
import { buildRunReport, writeReport } from '../report/report.js';
import { writeExports } from '../report/export.js';

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
  /** Print the summary to stdout [true]. */
  print?: boolean;
}

export interface SuiteResult {
  rows: MetricRow[];
  scaling: ScalingRow[];
  checks: CheckResult[];
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

/** A duration in seconds for the ETA: "45s", "3m 20s", "1h 05m". */
export function formatEta(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Runs scenarios: every case of every scenario on every backend (or one shard of that list), then writes the run
 * directory (metrics.csv, scaling.csv, samples.json, meta.json, summary.md) in one atomic step.
 */
export async function runSuite(opts: SuiteOptions): Promise<SuiteResult> {
  const files = resolveScenarios(opts.scenarios, opts.quick);
  const loaded = files.map((f) => loadScenario(f, { quick: opts.quick, seed: opts.seed }));
  const cases = loaded.flatMap((l) => l.cases);
  let jobs = cases.flatMap((c) =>
    c.scenario.backends.filter((b) => opts.backends === undefined || opts.backends.includes(b)).map((b) => ({ c, b })),
  );
  if (opts.shard !== undefined) jobs = shardOf(jobs, opts.shard.k, opts.shard.n);

  const rows: MetricRow[] = [];
  const samples: SampleSet[] = [];
  const tty = process.stderr.isTTY === true && process.env.CI !== 'true';
  // progress: the bar advances by estimated work (a case's cost grows with its number of services), so its ETA
  // means something when a sweep's large cases come last
  const weights = jobs.map(({ c }) => caseWeight(c.scenario.cluster.services, opts.noWall !== true));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const bar = tty
    ? new SingleBar({ format: 'kpbench {bar} {percentage}% | {done}/{cases} cases | ETA {eta_text} | {job}', hideCursor: true, etaBuffer: 1e6 }, Presets.shades_classic)
    : null;
  const t0 = Date.now();
  let doneWeight = 0;
  const eta = (): string => (doneWeight === 0 ? 'estimating' : formatEta(((Date.now() - t0) / doneWeight) * (totalWeight - doneWeight)));
  bar?.start(totalWeight, 0, { job: '', done: 0, cases: jobs.length, eta_text: 'estimating' });
  let done = 0;
  for (const [i, { c, b }] of jobs.entries()) {
    const label = `${c.id} ${b} ${c.scenario.cluster.services} services`;
    bar?.update(doneWeight, { job: label, done, eta_text: eta() });
    const started = Date.now();
    const out = await runCase(c, b, { bench: opts.noWall !== true });
    rows.push(...out.rows);
    samples.push(...out.samples);
    done++;
    doneWeight += weights[i]!;
    if (bar === null) process.stderr.write(`kpbench: [${done}/${jobs.length}] ${label} (${((Date.now() - started) / 1000).toFixed(1)} s${done < jobs.length ? `, ETA ${eta()}` : ''})\n`);
  }
  bar?.update(doneWeight, { job: 'writing the report', done, eta_text: '0s' });
  bar?.stop();

  const scaling = computeScaling(rows);
  const infos = scenarioInfos(loaded);
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

  // write everything into a fresh directory, then put it in place in one step
  const staging = `${opts.outDir.replace(/[\\/]+$/, '')}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    writeMetricsCsv(path.join(staging, 'metrics.csv'), rows as CsvMetricRow[]);
    writeScalingCsv(path.join(staging, 'scaling.csv'), scaling);
    writeSamplesJson(path.join(staging, 'samples.json'), samples);
    writeFileAtomic(path.join(staging, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    writeReport(staging, buildRunReport({ rows, scaling, meta, scenarios: infos, checks }));
    writeExports(staging);
    installRunDir(staging, opts.outDir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  if (opts.print !== false) {
    process.stdout.write(
      `${terminalSummary(infos, rows, scaling, checks)}\nRun written to ${opts.outDir}/\nReport: ${path.join(opts.outDir, 'report.html')} (charts in ${path.join(opts.outDir, 'charts')}/, summary in ${path.join(opts.outDir, 'summary.md')})\n`,
    );
  }
  return { rows, scaling, checks, outDir: opts.outDir };
}
