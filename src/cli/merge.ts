/** `kpbench merge DIR... --out DIR`: joins the run directories of shards into one run directory. */
import type { Command } from 'commander';
import { mergeRuns } from '../report/merge.js';

export function register(program: Command): void {
  program
    .command('merge')
    .summary('join shard run directories into one run directory')
    .description(
      [
        'Joins the run directories of `kpbench run --shard K/N` jobs into one run directory: metrics.csv rows in',
        'the canonical order (the same row in two shards must have the same value), samples.json joined,',
        'scaling.csv recomputed from the merged rows, meta.json merged (shard null, the shard metas listed).',
        '',
        'Exit codes: 0 merged, 2 bad input (a missing file, a bad header, shards that overlap or disagree).',
      ].join('\n'),
    )
    .argument('<dirs...>', 'run directories to merge')
    .requiredOption('--out <dir>', 'directory to write the merged run to')
    .action((dirs: string[], flags: { out: string }) => {
      const result = mergeRuns(dirs, flags.out);
      for (const w of result.warnings) process.stderr.write(`kpbench: warning: ${w}\n`);
      process.stdout.write(
        `merged ${result.inputs.length} run director${result.inputs.length === 1 ? 'y' : 'ies'} into ${flags.out}: ` +
          `${result.rows.length} rows, ${result.scaling.length} scaling fits\n`,
      );
    });
}
