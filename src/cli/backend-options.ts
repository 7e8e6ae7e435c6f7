import type { BackendDefinition } from '../types.js';
import { InputError } from '../errors.js';

/**
 * `--set key=value` flags for a backend's options, validated by the backend's own schema: numbers and booleans are
 * read as such, anything else as a string. Throws an InputError naming the flag, the key and the reason.
 */
export function parseBackendOptions(def: BackendDefinition, sets: readonly string[], flag = '--set'): Record<string, unknown> {
  const raw: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const s of sets) {
    const i = s.indexOf('=');
    if (i <= 0) throw new InputError(flag, `expected key=value, got '${s}'`);
    const key = s.slice(0, i);
    const text = s.slice(i + 1);
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw new InputError(flag, `'${key}' is not an option name`);
    raw[key] = text === 'true' ? true : text === 'false' ? false : text !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
  }
  const known = Object.keys(def.optionsSchema.parse({}) as Record<string, unknown>);
  for (const key of Object.keys(raw)) {
    if (!known.includes(key))
      throw new InputError(flag, `the ${def.kind} backend has no option '${key}' (its options: ${known.join(', ') || 'none'})`);
  }
  const r = def.optionsSchema.safeParse({ ...raw });
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InputError(`${flag} ${issue.path.join('.')}`.trim(), `${issue.message} (an option of the ${def.kind} backend)`);
  }
  return r.data as Record<string, unknown>;
}
