/** `kpbench report DIR...`: (re)writes the charts, report.html and summary.md of existing run directories. */
import type { Command } from 'commander';
import path from 'node:path';
import { reportRunDir } from '../report/report.js';

export function register(program: Command): void {
  program
    .command('report')
    .summary('write the charts and report.html of existing run directories')
    .description(
      [
        'Writes charts/*.svg (one per chart), report.html (self-contained) and summary.md (linking the charts) into',
        'each run directory given, from the files it holds: metrics.csv, scaling.csv (recomputed when absent) and',
        "meta.json (the scenarios' descriptions, published figures and expectations; runs made before meta.json",
        'recorded them fall back to the scenario files it names). Works on merged shard runs too. Each directory',
        'is replaced in one step, so it never holds a report of other numbers than its metrics.csv.',
        '',
        'Exit codes: 0 written, 2 bad input (no run directory, a malformed file).',
      ].join('\n'),
    )
    .argument('<dirs...>', 'run directories')
    .action((dirs: string[]) => {
      for (const d of dirs) {
        const r = reportRunDir(d);
        process.stdout.write(
          `${path.join(d, 'report.html')}: ${r.charts.length} chart${r.charts.length === 1 ? '' : 's'} in ${path.join(d, 'charts')}/\n`,
        );
      }
    });
}
