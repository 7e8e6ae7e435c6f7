/**
 * `kpbench baseline update [--from DIR]`: makes a run the committed baseline (results/baseline) that
 * `kpbench run --ci` and `kpbench compare` check against. Without --from it runs the CI suite (--quick) first.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { BASELINE_DIR } from '../report/compare.js';
import { installRunDir, readRun, RUN_FILES } from '../report/csvio.js';
import { InputError } from '../errors.js';

/** The suite runner another module provides (src/bench/run.ts); imported lazily, only when needed. */
type RunSuite = (opts: { scenarios?: string[]; quick: boolean; seed?: number; outDir: string; shard?: { k: number; n: number } }) => Promise<void>;

async function loadRunSuite(): Promise<RunSuite> {
  const spec = '../bench/run.js';
  let mod: { runSuite?: unknown };
  try {
    mod = (await import(spec)) as { runSuite?: unknown };
  } catch (e) {
    throw new InputError('baseline update', `cannot run the CI suite (${(e as Error).message.split('\n')[0]}); use --from DIR`);
  }
  if (typeof mod.runSuite !== 'function') throw new InputError('baseline update', 'the CI suite runner is not available; use --from DIR');
  return mod.runSuite as RunSuite;
}

/**
 * Installs run directory `from` as the baseline directory `to` (BASELINE_DIR by default) after checking it is
 * a whole, readable run. Returns the files copied.
 */
export function updateBaseline(from: string, to: string = BASELINE_DIR): string[] {
  if (!fs.existsSync(from) || !fs.statSync(from).isDirectory()) throw new InputError(from, 'no such run directory');
  const run = readRun(from);
  if (run.meta?.shard != null) {
    throw new InputError(`${from}: meta.json`, `the run is shard ${run.meta.shard} only; merge the shards first (kpbench merge)`);
  }
  if (path.resolve(from) === path.resolve(to)) throw new InputError(from, 'is the baseline directory already');
  return installRunDir(from, to);
}

function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new InputError('--seed', `must be an integer, got "${text}"`);
  return n;
}

export function register(program: Command): void {
  const baseline = program.command('baseline').summary('manage the committed baseline (results/baseline)');
  baseline
    .command('update')
    .summary('make a run the baseline')
    .description(
      [
        `Copies a run directory's ${[RUN_FILES.metrics, RUN_FILES.scaling, RUN_FILES.samples, RUN_FILES.meta, RUN_FILES.summary].join(', ')}`,
        `into ${BASELINE_DIR}/ as one step (the old baseline's run files are replaced, other files kept).`,
        'Without --from, runs the CI suite (kpbench run --quick) first and makes that run the baseline.',
      ].join('\n'),
    )
    .option('--from <dir>', 'run directory to use (default: run the CI suite now)')
    .option('--dir <dir>', 'baseline directory', BASELINE_DIR)
    .option('--seed <n>', 'seed for the CI suite run (without --from)')
    .action(async (flags: { from?: string; dir: string; seed?: string }) => {
      let from = flags.from;
      let tmpRun: string | null = null;
      if (from === undefined) {
        const seed = parseSeed(flags.seed);
        const runSuite = await loadRunSuite();
        tmpRun = `${flags.dir}.run-${process.pid}`;
        fs.rmSync(tmpRun, { recursive: true, force: true });
        await runSuite({ quick: true, outDir: tmpRun, ...(seed === undefined ? {} : { seed }) });
        from = tmpRun;
      } else if (flags.seed !== undefined) {
        throw new InputError('--seed', 'only applies when the CI suite is run (without --from)');
      }
      try {
        const copied = updateBaseline(from, flags.dir);
        const skipped = [RUN_FILES.metrics, RUN_FILES.scaling, RUN_FILES.samples, RUN_FILES.meta, RUN_FILES.summary].filter((f) => !copied.includes(f));
        if (skipped.length > 0) {
          process.stderr.write(`kpbench: warning: ${from} has no ${skipped.join(', ')}` +
            (skipped.includes(RUN_FILES.samples) ? ' (measured metrics will be reported but not gated)' : '') + '\n');
        }
        process.stdout.write(`baseline ${flags.dir} updated from ${tmpRun === null ? from : 'a fresh CI suite run'}: ${copied.join(', ')}\n`);
      } finally {
        if (tmpRun !== null) fs.rmSync(tmpRun, { recursive: true, force: true });
      }
    });
}
