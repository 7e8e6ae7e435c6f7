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
import { checkOutDir, packagePath, sweepStale } from '../io/paths.js';
import { removeOnInterrupt } from '../io/signals.js';
import { requireWholeRun } from '../report/gate.js';

/** The suite runner another module provides (src/bench/run.ts); imported lazily, only when needed. */
type RunSuite = (opts: {
  scenarios?: string[];
  quick: boolean;
  seed?: number;
  outDir: string;
  shard?: { k: number; n: number };
}) => Promise<void>;

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
export function updateBaseline(
  from: string,
  to: string = packagePath(BASELINE_DIR),
  opts: { force?: boolean; flag?: string } = {},
): string[] {
  if (!fs.existsSync(from) || !fs.statSync(from).isDirectory()) throw new InputError(from, 'no such run directory');
  if (path.resolve(from) === path.resolve(to)) throw new InputError(from, 'is the baseline directory already');
  checkOutDir(opts.flag ?? '--dir', to, { inputs: [from] });
  const run = readRun(from);
  // the baseline gates CI: it must be a whole run of the CI suite (kpbench run --quick), with rows
  requireWholeRun(from, run);
  if (run.meta === null) throw new InputError(`${from}: ${RUN_FILES.meta}`, 'missing: cannot tell which suite the run is');
  if (run.meta.quick !== true && opts.force !== true) {
    throw new InputError(
      `${from}: ${RUN_FILES.meta}: quick`,
      'the run is not of the CI suite (kpbench run --quick), which is what run --ci compares with; use --force to make it the baseline anyway',
    );
  }
  sweepStale(to);
  return installRunDir(from, to);
}

function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new InputError('--seed', `must be an integer from 0 to 2^53 - 1, got "${text.length > 40 ? `${text.slice(0, 40)}...` : text}"`);
  return Number(text);
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
    .option('--dir <dir>', `baseline directory (default: the package's ${BASELINE_DIR})`)
    .option('--seed <n>', 'seed for the CI suite run (without --from)')
    .option('--force', 'accept a run that is not of the CI suite (not --quick)', false)
    .action(async (flags: { from?: string; dir?: string; seed?: string; force: boolean }) => {
      const dir = flags.dir ?? packagePath(BASELINE_DIR);
      let from = flags.from;
      let tmpRun: string | null = null;
      let forget = (): void => {};
      if (from === undefined) {
        const seed = parseSeed(flags.seed);
        checkOutDir('--dir', dir);
        const runSuite = await loadRunSuite();
        tmpRun = `${path.resolve(dir)}.run-${process.pid}`;
        sweepStale(dir);
        fs.rmSync(tmpRun, { recursive: true, force: true });
        forget = removeOnInterrupt(tmpRun);
        try {
          await runSuite({ quick: true, outDir: tmpRun, ...(seed === undefined ? {} : { seed }) });
        } catch (e) {
          fs.rmSync(tmpRun, { recursive: true, force: true });
          forget();
          throw e;
        }
        from = tmpRun;
      } else if (flags.seed !== undefined) {
        throw new InputError('--seed', 'only applies when the CI suite is run (without --from)');
      }
      try {
        const copied = updateBaseline(from, dir, { force: flags.force });
        const skipped = [RUN_FILES.metrics, RUN_FILES.scaling, RUN_FILES.samples, RUN_FILES.meta, RUN_FILES.summary].filter(
          (f) => !copied.includes(f),
        );
        if (skipped.length > 0) {
          process.stderr.write(
            `kpbench: warning: ${from} has no ${skipped.join(', ')}` +
              (skipped.includes(RUN_FILES.samples) ? ' (measured metrics will be reported but not gated)' : '') +
              '\n',
          );
        }
        process.stdout.write(`baseline ${dir} updated from ${tmpRun === null ? from : 'a fresh CI suite run'}: ${copied.join(', ')}\n`);
      } finally {
        if (tmpRun !== null) fs.rmSync(tmpRun, { recursive: true, force: true });
        forget();
      }
    });
}
