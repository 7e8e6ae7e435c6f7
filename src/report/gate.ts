/**
 * What a run must be before a gate may pass on it: `compare`, `run --ci` and `baseline update` refuse (exit 2)
 * a run that could make "no regressions" true by accident — no rows, duplicate rows, no meta.json (a shard or an
 * interrupted run cannot be told apart), a shard, or a --quick run against a full one (or the reverse).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { readRun, rowKey, RUN_FILES, type RunData } from './csvio.js';

/** Checks `run` (read from `arg`, a run directory or a metrics.csv file) is a whole run with rows. */
export function requireWholeRun(arg: string, run: RunData): void {
  if (run.rows.length === 0) throw new InputError(run.metricsFile, 'no rows: an empty run cannot pass or fail a comparison');
  const seen = new Set<string>();
  for (const r of run.rows) {
    const k = rowKey(r);
    if (seen.has(k))
      throw new InputError(
        run.metricsFile,
        `duplicate row ${[r.scenario, r.backend, r.services, r.endpoints_per_service, r.metric, r.statistic].join(',')}`,
      );
    seen.add(k);
  }
  let isDir = false;
  try {
    isDir = fs.statSync(arg).isDirectory();
  } catch {
    isDir = false;
  }
  if (isDir && run.meta === null)
    throw new InputError(`${arg}: ${RUN_FILES.meta}`, 'missing: not a whole run (a shard, or a run that was cut off?)');
  if (!isDir && path.basename(arg) === RUN_FILES.metrics && run.meta === null) {
    throw new InputError(
      `${path.dirname(arg)}: ${RUN_FILES.meta}`,
      `missing beside ${arg}: not a whole run (a shard, or a run that was cut off?); another file name compares the CSV alone`,
    );
  }
  if (run.meta !== null && run.meta.shard !== null && run.meta.shard !== undefined) {
    throw new InputError(
      `${path.dirname(run.metricsFile)}: ${RUN_FILES.meta}`,
      `the run is shard ${run.meta.shard} only; merge the shards first (kpbench merge)`,
    );
  }
}

/** Checks two runs may be compared: both whole, and both --quick or both not. */
export function requireComparable(baselineArg: string, b: RunData, currentArg: string, c: RunData): void {
  requireWholeRun(baselineArg, b);
  requireWholeRun(currentArg, c);
  if (b.meta !== null && c.meta !== null && b.meta.quick !== c.meta.quick) {
    throw new InputError(
      `${path.dirname(c.metricsFile)}: ${RUN_FILES.meta}: quick`,
      `the current run is ${c.meta.quick ? '' : 'not '}--quick but the baseline ${path.dirname(b.metricsFile)} is ${b.meta.quick ? '' : 'not '}--quick: their rows are not comparable`,
    );
  }
}

/** Reads and checks a baseline before a `run --ci` starts: a whole run, made with the same --quick. */
export function checkBaselineBeforeRun(dir: string, quick: boolean): void {
  const metrics = path.join(dir, RUN_FILES.metrics);
  if (!fs.existsSync(dir)) throw new InputError(dir, 'no baseline: create one with `kpbench baseline update`');
  if (!fs.existsSync(metrics)) throw new InputError(metrics, 'no baseline: create one with `kpbench baseline update`');
  const run = readRun(dir);
  requireWholeRun(dir, run);
  if (run.meta !== null && run.meta.quick !== quick) {
    throw new InputError(
      `${dir}: ${RUN_FILES.meta}: quick`,
      `the baseline is ${run.meta.quick ? '' : 'not '}--quick but this run is ${quick ? '' : 'not '}--quick: their rows are not comparable`,
    );
  }
}
