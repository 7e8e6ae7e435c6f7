import { type Command, Option } from 'commander';
import type { BackendKind } from '../types.js';
import { InputError } from './errors.js';
import { parseShard } from '../report/shard.js';
import { BASELINE_DIR, compareWithBaseline, parsePercent, printComparison } from '../report/compare.js';
import { writeCompareReport } from '../report/compare-report.js';

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
    .option('--compare-report <dir>', 'with --ci: also write a report of the comparison with the baseline into this directory')
    .option('--no-wall', 'skip the measured (tinybench) wall-clock metrics')
    .addOption(new Option('--backend <name...>', 'only these backends').choices(['iptables', 'ipvs']))
    .action(async (scenarios: string[], o: { quick: boolean; out: string; seed?: number; shard?: string; ci: boolean; threshold: string; wall: boolean; backend?: BackendKind[]; compareReport?: string }) => {
      const shard = o.shard === undefined ? undefined : parseShard(o.shard);
      const { runSuite } = await import('../bench/run.js');
      const res = await runSuite({ scenarios, quick: o.quick, seed: o.seed, outDir: o.out, shard, noWall: !o.wall, backends: o.backend });
      if (res.checks.some((c) => !c.ok)) process.exitCode = 1;
      if (o.ci) {
        const cmp = compareWithBaseline(res.outDir, { threshold: parsePercent('--threshold', o.threshold) });
        if (o.compareReport !== undefined) {
          writeCompareReport(o.compareReport, cmp, BASELINE_DIR, res.outDir);
          process.stderr.write(`kpbench: comparison report: ${o.compareReport}/report.html\n`);
        }
        printComparison(cmp, 'table');
      }
    });
}
