#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT, InputError } from '../errors.js';
import { registerCommands } from './commands.js';
import { installSignalHandlers } from '../io/signals.js';

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

/** A message as one line of bounded length: control characters escaped, at most 1,000 characters. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this escapes
  const flat = s.replace(/\r?\n/g, ' ').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return flat.length > 1000 ? `${flat.slice(0, 1000)}...` : flat;
}

/** Commander's errors in the `<where>: <reason>` form: the option or argument named first. */
function commanderLine(e: CommanderError): string {
  const msg = oneLine(e.message.replace(/^error: /, ''));
  const opt = /(?:option|argument) '([^']+)'/.exec(msg) ?? /'(-{1,2}[^' ]+)'/.exec(msg);
  if (opt !== null) {
    const flag =
      opt[1]!
        .split(/[ ,<]/)
        .filter((x) => x.startsWith('-'))
        .pop() ?? opt[1]!.split(' ')[0]!;
    return `${flag}: ${msg}`;
  }
  const cmd = /unknown command '([^']+)'/.exec(msg);
  if (cmd !== null) return `${cmd[1]}: ${msg}`;
  return `arguments: ${msg}`;
}

/** Runs the CLI; returns the exit code (commands set process.exitCode for 1). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof InputError) {
      process.stderr.write(`kpbench: ${oneLine(e.message)}\n`);
      return EXIT.badInput;
    }
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      process.stderr.write(`kpbench: ${commanderLine(e)}\n`);
      return EXIT.badInput;
    }
    // a bug: one line unless KPBENCH_DEBUG asks for the stack
    const debug = process.env.KPBENCH_DEBUG !== undefined && process.env.KPBENCH_DEBUG !== '' && process.env.KPBENCH_DEBUG !== '0';
    const text =
      e instanceof Error
        ? debug
          ? (e.stack ?? e.message)
          : `${e.name}: ${oneLine(e.message)} (KPBENCH_DEBUG=1 shows the stack)`
        : oneLine(String(e));
    process.stderr.write(`kpbench: internal error: ${text}\n`);
    return EXIT.internal;
  }
}

const isEntry = process.argv[1] !== undefined && /(?:^|[\\/])main\.[tj]s$/.test(process.argv[1]);
if (isEntry) {
  installSignalHandlers();
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
