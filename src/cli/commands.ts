import type { Command } from 'commander';

/** Every command module exports `register(program)`; this is the one list of them. */
export function registerCommands(program: Command): void {
  void program;
}
