/**
 * Exports of a run for other tools, and the run's meta.json sidecar.
 *
 * benchmark.json is the input of github-action-benchmark with `tool: 'customSmallerIsBetter'`: a JSON array
 * of `{ name, unit, value, range?, extra? }` (range and extra are free text shown in the chart tooltip).
 * Only rows that are smaller-is-better go in: metrics whose catalogue direction is 'lower', statistics other
 * than rme and samples (an rme becomes the `range` of its metric's p50/mean entry, a samples count goes into
 * `extra`). Metrics with direction 'none' (workload descriptors) or 'higher' are left out, since the action
 * would raise alerts on them in the wrong direction.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metricDef } from '../metrics/catalogue.js';
import { pointKey, readMeta, readMetricsCsv, RUN_FILES, sortMetricRows, writeFileAtomic, type MetricRow, type RunMeta } from './csvio.js';

/** One entry of github-action-benchmark's custom JSON format. */
export interface BenchmarkEntry {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
}

/** The entry name of a row: "scenario/backend/services=S/eps=E/metric/statistic" (unique per row identity). */
export function benchmarkName(
  r: Pick<MetricRow, 'scenario' | 'backend' | 'services' | 'endpoints_per_service' | 'metric' | 'statistic'>,
): string {
  return `${r.scenario}/${r.backend}/services=${r.services}/eps=${r.endpoints_per_service}/${r.metric}/${r.statistic}`;
}

/** Rows → customSmallerIsBetter entries, in the canonical row order. `meta` adds seed and commit to `extra`. */
export function exportBenchmarkJson(metricsRows: readonly MetricRow[], meta: RunMeta | null): BenchmarkEntry[] {
  const rme = new Map<string, number>();
  const samples = new Map<string, number>();
  for (const r of metricsRows) {
    if (r.statistic === 'rme') rme.set(pointKey(r), r.value);
    if (r.statistic === 'samples') samples.set(pointKey(r), r.value);
  }
  const out: BenchmarkEntry[] = [];
  for (const r of sortMetricRows(metricsRows)) {
    const def = metricDef(r.metric);
    if (def.better !== 'lower' || r.statistic === 'rme' || r.statistic === 'samples') continue;
    const e: BenchmarkEntry = { name: benchmarkName(r), unit: r.unit, value: r.value };
    const pk = pointKey(r);
    const m = rme.get(pk);
    if (m !== undefined && (r.statistic === 'p50' || r.statistic === 'mean')) e.range = `± ${Number(m.toFixed(2))}%`;
    const extra = [`kind: ${def.kind}`];
    const n = samples.get(pk);
    if (n !== undefined) extra.push(`samples: ${n}`);
    if (meta !== null) {
      extra.push(`seed: ${String(meta.seed)}`);
      if (meta.gitCommit !== null) extra.push(`commit: ${meta.gitCommit}`);
      if (def.kind === 'measured') extra.push(`node: ${meta.node}`, `cpu: ${meta.cpu}`);
    }
    e.extra = extra.join('\n');
    out.push(e);
  }
  return out;
}

export function formatBenchmarkJson(entries: readonly BenchmarkEntry[]): string {
  return `${JSON.stringify(entries, null, 2)}\n`;
}

/**
 * Writes `benchmark.json` into run directory `runDir` from its metrics.csv and meta.json (if any); returns
 * the path written. An InputError when the directory has no readable metrics.csv.
 */
export function writeExports(runDir: string): string {
  const rows = readMetricsCsv(path.join(runDir, RUN_FILES.metrics));
  const metaFile = path.join(runDir, RUN_FILES.meta);
  const meta = fs.existsSync(metaFile) ? readMeta(metaFile) : null;
  const file = path.join(runDir, RUN_FILES.benchmark);
  writeFileAtomic(file, formatBenchmarkJson(exportBenchmarkJson(rows, meta)));
  return file;
}

/** The commit checked out in `cwd` (GITHUB_SHA when git is unavailable), or null. */
export function gitCommit(cwd = process.cwd()): string | null {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim();
    if (/^[0-9a-f]{7,64}$/.test(out)) return out;
  } catch {
    // not a git checkout, or no git
  }
  return process.env.GITHUB_SHA ?? null;
}

/** A meta.json for a run being made now, on this machine. */
export function buildMeta(opts: {
  seed: number | string | null;
  quick: boolean;
  scenarios: readonly string[];
  shard?: { k: number; n: number } | null;
  argv?: readonly string[];
  date?: Date;
}): RunMeta {
  const cpus = os.cpus();
  return {
    seed: opts.seed,
    gitCommit: gitCommit(),
    node: process.version,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    platform: `${process.platform}-${process.arch}`,
    date: (opts.date ?? new Date()).toISOString(),
    argv: [...(opts.argv ?? process.argv.slice(2))],
    quick: opts.quick,
    shard: opts.shard ? `${opts.shard.k}/${opts.shard.n}` : null,
    scenarios: [...opts.scenarios],
  };
}

/** Writes `meta.json` into run directory `runDir`, atomically. */
export function writeMeta(runDir: string, meta: RunMeta): void {
  writeFileAtomic(path.join(runDir, RUN_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
}
