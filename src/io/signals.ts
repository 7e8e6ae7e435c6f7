/**
 * SIGINT and SIGTERM: kpbench stops with one line and exit code 130 (SIGINT) or 143 (SIGTERM), after removing
 * the transient directories registered here (a staging run directory, a temporary CI run).
 *
 * All or nothing: every write of a run directory (staging, then the swap in installRunDir) is synchronous, and a
 * JavaScript signal handler only runs between two turns of the event loop, so a signal never lands inside a swap:
 * the output directory is the previous one or the complete new one. A SIGKILL leaves transient siblings, which
 * the next run removes (sweepStale in paths.ts).
 */
import fs from 'node:fs';

const transient = new Set<string>();

/** Registers a path removed if the process is interrupted; returns a function that unregisters it. */
export function removeOnInterrupt(p: string): () => void {
  transient.add(p);
  return () => void transient.delete(p);
}

const CODES = { SIGINT: 130, SIGTERM: 143 } as const;
let installed = false;

/** Installs the handlers (the CLI entry points do; in-process callers such as tests do not). */
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      for (const p of transient) fs.rmSync(p, { recursive: true, force: true });
      process.stderr.write(`kpbench: ${sig}: interrupted; the output directory holds the previous run or the complete new one\n`);
      process.exit(CODES[sig]);
    });
  }
}
