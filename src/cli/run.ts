import { type Command, Option } from 'commander';
import type { BackendKind } from '../types.js';
import { BACKEND_KINDS } from '../backends/registry.js';
import { InputError } from '../errors.js';
import { parseShard } from '../report/shard.js';
import path from 'node:path';
import { BASELINE_DIR, compareWithBaseline, parsePercent, printComparison } from '../report/compare.js';
import { writeCompareReport } from '../report/compare-report.js';
import { checkBaselineBeforeRun } from '../report/gate.js';
import { packagePath } from '../io/paths.js';
import { SingleBar, Presets } from 'cli-progress';
import { terminalSummary } from '../report/summary.js';
import type { SuiteEvent } from '../bench/run.js';

/** A seed: a non-negative integer of at most 2^53 - 1 (every seed a double holds exactly). */
export function parseSeed(v: string, flag = '--seed'): number {
  const shown = v.length > 40 ? `${v.slice(0, 40)}... (${v.length} characters)` : v;
  if (!/^\d+$/.test(v)) throw new InputError(flag, `must be a non-negative integer, got '${shown}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new InputError(flag, `must be at most ${Number.MAX_SAFE_INTEGER} (2^53 - 1), got '${shown}'`);
  return n;
}

/** A parser for a flag's positive integer. */
export function positiveInt(flag: string) {
  return (v: string): number => {
    if (!/^[1-9]\d*$/.test(v)) throw new InputError(flag, `must be a positive integer, got '${v}'`);
    return Number(v);
  };
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run scenarios (default: the default suite) and write a run directory')
    .argument('[scenario...]', 'scenario files or names in scenarios/ (default: every scenario of the default suite)')
    .option('--quick', 'the small suite (each scenario with its quick overrides), used in CI', false)
    .option('--out <dir>', 'run directory to write', 'results/latest')
    .option('--seed <n>', "seed for every random choice (default: the scenario's)", (v: string) => parseSeed(v))
    .option('--shard <K/N>', 'run only shard K of N of the case list (merge shards with `kpbench merge`)')
    .option('--ci', 'compare with the committed baseline (results/baseline) and exit 1 on a regression', false)
    .option('--threshold <pct>', 'with --ci: a measured metric regresses only beyond this change (and significant)', '50')
    .option('--compare-report <dir>', 'with --ci: also write a report of the comparison with the baseline into this directory')
    .option('--baseline <dir>', `with --ci: the baseline run directory (default: the package's ${BASELINE_DIR})`)
    .option('--force', 'run even beyond the work and case limits (see the README, Limits)', false)
    .option('--no-wall', 'skip the measured (tinybench) wall-clock metrics')
    .option('--threads <n>', 'cases run at once, one per thread (default 1: one after the other)', positiveInt('--threads'))
    .option('--calibration <file>', 'cost-model coefficients from `kpbench calibrate` (default: the committed ones)')
    .addOption(new Option('--backend <name...>', 'only these backends').choices([...BACKEND_KINDS]))
    .action(
      async (
        scenarios: string[],
        o: {
          quick: boolean;
          out: string;
          seed?: number;
          shard?: string;
          ci: boolean;
          threshold: string;
          baseline?: string;
          force: boolean;
          wall: boolean;
          backend?: BackendKind[];
          calibration?: string;
          compareReport?: string;
          threads?: number;
        },
      ) => {
        // every flag is checked before the run, the baseline of --ci too
        const shard = o.shard === undefined ? undefined : parseShard(o.shard);
        const threshold = parsePercent('--threshold', o.threshold);
        if (o.baseline !== undefined && !o.ci) throw new InputError('--baseline', 'only applies with --ci');
        if (o.ci && shard !== undefined)
          throw new InputError(
            '--shard',
            'cannot be combined with --ci: a shard has only part of the rows; merge the shards, then compare',
          );
        const baselineDir = o.baseline ?? packagePath(BASELINE_DIR);
        const { runSuite } = await import('../bench/run.js');
        const { readCalibration } = await import('../kernel/calibrate.js');
        const calibration = o.calibration === undefined ? undefined : readCalibration(o.calibration).coefficients;
        if (o.compareReport !== undefined && !o.ci) throw new InputError('--compare-report', 'only applies with --ci');
        const res = await runSuite(
          {
            scenarios,
            quick: o.quick,
            seed: o.seed,
            outDir: o.out,
            shard,
            noWall: !o.wall,
            backends: o.backend,
            calibration,
            threads: o.threads,
            force: o.force,
            forbiddenOut: o.ci ? [baselineDir] : [],
            beforeRun: o.ci ? () => checkBaselineBeforeRun(baselineDir, o.quick) : undefined,
          },
          progress(),
        );
        process.stdout.write(
          `${terminalSummary(res.reports, res.rows, res.scaling, res.checks)}\nRun written to ${res.outDir}/\n` +
            `Report: ${path.join(res.outDir, 'report.html')} (charts in ${path.join(res.outDir, 'charts')}/, summary in ${path.join(res.outDir, 'summary.md')})\n`,
        );
        if (res.checks.some((c) => !c.ok)) process.exitCode = 1;
        if (o.ci) {
          const cmp = compareWithBaseline(res.outDir, { threshold, baselineDir });
          if (o.compareReport !== undefined) {
            writeCompareReport(o.compareReport, cmp, baselineDir, res.outDir);
            process.stderr.write(`kpbench: comparison report: ${path.join(o.compareReport, 'report.html')}\n`);
          }
          printComparison(cmp, 'table');
        }
      },
    );
}

/** A duration for the ETA: "45s", "3m 20s", "1h 05m". */
export function formatEta(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Draws the suite's progress: a bar with an ETA on a terminal, one line per case with the ETA otherwise (CI logs).
 * The ETA extrapolates the time per unit of estimated work done so far (the suite weighs a case by its number of
 * services), so a sweep whose large cases come last is not promised an early end.
 */
function progress(): (e: SuiteEvent) => void {
  const tty = process.stderr.isTTY === true && process.env.CI !== 'true';
  const bar = tty
    ? new SingleBar(
        { format: 'kpbench {bar} {done}/{total_cases} cases | ETA {eta_text} | {job}', hideCursor: true },
        Presets.shades_classic,
      )
    : null;
  let t0 = Date.now();
  let total = 0;
  let work = 0;
  const eta = (): string => (work === 0 ? 'estimating' : formatEta(((Date.now() - t0) / work) * (total - work)));
  return (e) => {
    switch (e.type) {
      case 'start':
        t0 = Date.now();
        total = e.work;
        if (e.jobs >= 100) process.stderr.write(`kpbench: ${e.jobs} cases to run\n`);
        bar?.start(e.work, 0, { job: '', done: 0, total_cases: e.jobs, eta_text: 'estimating' });
        break;
      case 'case-start':
        bar?.update(work, { job: e.label, done: e.index, eta_text: eta() });
        break;
      case 'case-end':
        work = e.work;
        if (bar === null)
          process.stderr.write(
            `kpbench: [${e.index + 1}/${e.jobs}] ${e.label} (${e.seconds.toFixed(1)} s${e.index + 1 < e.jobs ? `, ETA ${eta()}` : ''})\n`,
          );
        else bar.update(work, { job: e.label, done: e.index + 1, eta_text: eta() });
        break;
      case 'writing':
        bar?.update({ job: 'writing the run directory and its report', eta_text: '0s' });
        bar?.stop();
        break;
      case 'done':
        break;
    }
  };
}
