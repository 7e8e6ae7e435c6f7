#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT, InputError } from '../errors.js';
import { registerCommands } from './commands.js';

/** Builds the kpbench program; every command lives in its own module and registers itself in commands.ts. */
export function buildProgram(): Command {
  const program = new Command('kpbench')
    .description('Discrete-event benchmark of the kube-proxy data planes (kpbench backends lists them)')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  registerCommands(program);
  return program;
}

/** Runs the CLI; returns the exit code (commands set process.exitCode for 1). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof InputError) {
      process.stderr.write(`kpbench: ${e.message}\n`);
      return EXIT.badInput;
    }
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      process.stderr.write(`kpbench: ${e.message.replace(/^error: /, '')}\n`);
      return EXIT.badInput;
    }
    process.stderr.write(`kpbench: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT.internal;
  }
}

const isEntry = process.argv[1] !== undefined && /(?:^|[\\/])main\.[tj]s$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`kpbench: internal error: ${String(e)}\n`);
      process.exitCode = EXIT.internal;
    },
  );
}
