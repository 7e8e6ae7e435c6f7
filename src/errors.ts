/** Bad input from the user (a scenario, a manifest, a flag, a missing file): one line, exit code 2. */
export class InputError extends Error {
  override readonly name = 'InputError';
  /** @param where the file (and object or field) at fault, e.g. "scenarios/x.yaml: sizes[2]" */
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {
    super(where ? `${where}: ${reason}` : reason);
  }
}

/** Exit codes every command keeps to. */
export const EXIT = {
  ok: 0,
  /** A regression or a failed check. */
  regression: 1,
  /** Bad input. */
  badInput: 2,
  /** An internal error (a bug). */
  internal: 3,
} as const;
