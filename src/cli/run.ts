import { type Command, Option } from 'commander';
import type { BackendKind } from '../types.js';
import { BACKEND_KINDS } from '../backends/registry.js';
import { InputError } from '../errors.js';
import { parseShard } from '../report/shard.js';
import { compareWithBaseline, parsePercent, printComparison } from '../report/compare.js';
import { SingleBar, Presets } from 'cli-progress';
import { terminalSummary } from '../report/summary.js';
import type { SuiteEvent } from '../bench/run.js';

function parseSeed(v: string): number {
  if (!/^\d+$/.test(v)) throw new InputError('--seed', `must be a non-negative integer, got '${v}'`);
  return Number(v);
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run scenarios (default: the default suite) and write a run directory')
    .argument('[scenario...]', 'scenario files or names in scenarios/ (default: every scenario of the default suite)')
    .option('--quick', 'the small suite (each scenario with its quick overrides), used in CI', false)
    .option('--out <dir>', 'run directory to write', 'results/latest')
    .option('--seed <n>', 'seed for every random choice (default: the scenario\'s)', parseSeed)
    .option('--shard <K/N>', 'run only shard K of N of the case list (merge shards with `kpbench merge`)')
    .option('--ci', 'compare with the committed baseline (results/baseline) and exit 1 on a regression', false)
    .option('--threshold <pct>', 'with --ci: a measured metric regresses only beyond this change (and significant)', '50')
    .option('--no-wall', 'skip the measured (tinybench) wall-clock metrics')
    .addOption(new Option('--backend <name...>', 'only these backends').choices([...BACKEND_KINDS]))
    .action(async (scenarios: string[], o: { quick: boolean; out: string; seed?: number; shard?: string; ci: boolean; threshold: string; wall: boolean; backend?: BackendKind[] }) => {
      const shard = o.shard === undefined ? undefined : parseShard(o.shard);
      const { runSuite } = await import('../bench/run.js');
      const res = await runSuite({ scenarios, quick: o.quick, seed: o.seed, outDir: o.out, shard, noWall: !o.wall, backends: o.backend }, progress());
      process.stdout.write(`${terminalSummary(res.reports, res.rows, res.scaling, res.checks)}\nRun written to ${res.outDir}/\n`);
      if (res.checks.some((c) => !c.ok)) process.exitCode = 1;
      if (o.ci) {
        const cmp = compareWithBaseline(res.outDir, { threshold: parsePercent('--threshold', o.threshold) });
        printComparison(cmp, 'table');
      }
    });
}

/** Draws the suite's progress: a bar on a terminal, one line per case otherwise (CI logs). */
function progress(): (e: SuiteEvent) => void {
  const tty = process.stderr.isTTY === true && process.env.CI !== 'true';
  const bar = tty ? new SingleBar({ format: 'kpbench {bar} {value}/{total} {job}', hideCursor: true }, Presets.shades_classic) : null;
  return (e) => {
    switch (e.type) {
      case 'start':
        bar?.start(e.jobs, 0, { job: '' });
        break;
      case 'case-start':
        bar?.update(e.index, { job: e.label });
        break;
      case 'case-end':
        if (bar === null) process.stderr.write(`kpbench: [${e.index + 1}/${e.jobs}] ${e.label} (${e.seconds.toFixed(1)} s)\n`);
        else bar.update(e.index + 1, { job: e.label });
        break;
      case 'writing':
        bar?.update({ job: 'writing' });
        bar?.stop();
        break;
      case 'done':
        break;
    }
  };
}
