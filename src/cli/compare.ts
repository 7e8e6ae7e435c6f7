/** `kpbench compare BASELINE CURRENT`: row-by-row verdicts between two runs; exit 1 on a regression. */
import { Option, type Command } from 'commander';
import { compareRuns, parsePercent, parseTolerances, printComparison, type CompareFormat } from '../report/compare.js';
import path from 'node:path';
import { InputError } from '../errors.js';
import { writeCompareReport } from '../report/compare-report.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface CompareFlags {
  threshold: string;
  tolerance: string[];
  countedTolerance: string;
  alpha: string;
  format: CompareFormat;
  all?: boolean;
  failOnMissing?: boolean;
  measured: 'gate' | 'report';
  report?: string;
}

export function register(program: Command): void {
  program
    .command('compare')
    .summary('compare a run with a baseline, row by row; exit 1 on a regression')
    .description(
      [
        'Compares two runs (each a run directory or a metrics.csv file) row by row and gives every row a verdict:',
        'regressed, improved, changed (moved but not gated), unchanged, new or missing.',
        '',
        'Counted and modelled metrics are compared exactly unless a tolerance is given; "worse" follows the',
        "metric's direction in the catalogue. Measured (wall_*) metrics are gated on their p50 (else mean) row",
        'only: a regression needs a change beyond --threshold AND a significant Mann-Whitney U test (p < --alpha)',
        "over both runs' samples.json; without samples, with --measured report, or when the runs' meta.json show",
        'different machines or Node versions, they are reported but never fail.',
        '',
        'Exit codes: 0 no regression, 1 a regression, 2 bad input.',
      ].join('\n'),
    )
    .argument('<baseline>', 'baseline run directory or metrics.csv')
    .argument('<current>', 'current run directory or metrics.csv')
    .option('--threshold <pct>', 'measured metrics: change needed to count, in percent', '10')
    .option('--tolerance <metric=pct>', 'allowance for one metric, in percent (repeatable)', collect, [] as string[])
    .option('--counted-tolerance <pct>', 'counted and modelled metrics: relative change allowed, in percent', '0')
    .option('--alpha <p>', 'measured metrics: significance level of the Mann-Whitney test', '0.01')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    .option('--all', 'table: list unchanged rows too')
    .option('--fail-on-missing', 'rows missing from the current run fail the comparison too')
    .addOption(
      new Option('--measured <mode>', 'measured (wall_*) rows: gate (can regress) or report (never fail)')
        .choices(['gate', 'report'])
        .default('gate'),
    )
    .option('--report <dir>', 'also write a report of the comparison into this directory (report.html, summary.md, charts/*.svg)')
    .action((baseline: string, current: string, flags: CompareFlags) => {
      const alpha = Number(flags.alpha);
      if (!(alpha > 0 && alpha < 1)) throw new InputError('--alpha', `must be a number between 0 and 1, got "${flags.alpha}"`);
      const result = compareRuns(baseline, current, {
        threshold: parsePercent('--threshold', flags.threshold),
        countedTolerance: parsePercent('--counted-tolerance', flags.countedTolerance),
        tolerances: parseTolerances(flags.tolerance),
        alpha,
        failOnMissing: flags.failOnMissing === true,
        measured: flags.measured,
      });
      if (flags.report !== undefined) {
        const r = writeCompareReport(flags.report, result, baseline, current);
        process.stderr.write(`kpbench: comparison report: ${path.join(flags.report, 'report.html')} (${r.charts.length} charts)\n`);
      }
      printComparison(result, flags.format, { all: flags.all === true });
    });
}
