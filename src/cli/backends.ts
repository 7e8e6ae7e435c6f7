import type { Command } from 'commander';
import { backendsTable } from '../report/backends.js';

export function register(program: Command): void {
  program
    .command('backends')
    .description('List the data planes: what each models, its scenario options and its render outputs')
    .option('--markdown', "print the markdown table (the README's)", true)
    .action(() => {
      process.stdout.write(backendsTable());
    });
}
