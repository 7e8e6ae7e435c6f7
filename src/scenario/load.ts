import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { InputError } from '../errors.js';
import { readInputText } from '../io/read.js';
import { parseYaml } from '../io/yaml.js';
import { fmtCount, limit, LIMIT_DEFS } from '../io/limits.js';
import { loadManifests } from '../cluster/manifests.js';
import { ScenarioFile } from './schema.js';
import { manifestPath, validateCase, validateScenario } from './validate.js';

/** One runnable case: a scenario with its sweep point applied. */
export interface ScenarioCase {
  /** Scenario name plus the sweep point, except the number of services (that is its own CSV column). */
  id: string;
  scenario: ScenarioFile;
  /** The sweep values of this case, by field path. */
  point: Record<string, unknown>;
  file: string;
}

export interface LoadedScenario {
  file: string;
  scenario: ScenarioFile;
  cases: ScenarioCase[];
}

/** Formats a zod issue path as a field path: cluster.ports[0].port */
export function fieldPath(p: readonly PropertyKey[]): string {
  let s = '';
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : s === '' ? String(k) : `.${String(k)}`;
  return s;
}

function firstIssue(file: string, err: z.ZodError, prefix = ''): InputError {
  const issue = err.issues[0]!;
  let at = fieldPath(issue.path);
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    at = fieldPath([...issue.path, keys[0] ?? '']);
    msg = 'unknown field';
  }
  return new InputError(`${file}: ${prefix}${at || '(top level)'}`, msg);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Deep merge of plain objects; arrays and scalars of `over` replace those of `base`. Prototype keys are refused. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (FORBIDDEN_KEYS.has(k)) throw new InputError(k, 'not a field name');
    out[k] = Object.hasOwn(base, k) ? deepMerge(base[k], v) : v;
  }
  return out;
}

/** Sets a dotted path ("proxy.minSyncPeriod") in a plain-object tree, creating objects on the way. */
export function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  for (const p of parts) if (FORBIDDEN_KEYS.has(p) || p === '') throw new InputError(dotted, 'not a field path');
  let cur: Record<string, unknown> = obj;
  for (const p of parts.slice(0, -1)) {
    const next = Object.hasOwn(cur, p) ? cur[p] : undefined;
    if (!isPlainObject(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** A sweep key: a dotted path of field names (letters and digits), not one of the fields a sweep cannot vary. */
function checkSweepKey(file: string, k: string): void {
  const parts = k.split('.');
  if (k === '' || parts.some((p) => !/^[A-Za-z][A-Za-z0-9]*$/.test(p) || FORBIDDEN_KEYS.has(p))) {
    throw new InputError(`${file}: sweep.${k}`, 'not a field path (dotted field names such as cluster.services)');
  }
  if (['sweep', 'quick', 'name', 'suite', 'expect', 'reference', '$schema'].includes(parts[0]!))
    throw new InputError(`${file}: sweep.${k}`, 'cannot sweep this field');
}

/** Reads a scenario file: one YAML mapping, within the input limits. */
export function readScenarioFile(file: string): Record<string, unknown> {
  const docs = parseYaml(readInputText(file), file);
  const raw = docs[0];
  if (!isPlainObject(raw))
    throw new InputError(
      file,
      `a scenario must be a YAML mapping, got ${raw === null || raw === undefined ? 'an empty document' : Array.isArray(raw) ? 'a list' : typeof raw}`,
    );
  return raw;
}

/** Expands one variant (plain or --quick) of a scenario into its cases, each validated. */
function expand(file: string, effective: Record<string, unknown>, prefix: string): { base: ScenarioFile; cases: ScenarioCase[] } {
  const parsed = ScenarioFile.safeParse(effective);
  if (!parsed.success) throw firstIssue(file, parsed.error, prefix);
  const base = parsed.data;
  validateScenario(file, base);

  // cases: the cartesian product of the sweep (counted before it is built)
  const keys = Object.keys(base.sweep);
  for (const k of keys) checkSweepKey(file, k);
  let total = 1;
  for (const k of keys) total *= base.sweep[k]!.length;
  const maxPoints = limit('sweepPoints');
  if (total > maxPoints) {
    throw new InputError(
      `${file}: sweep`,
      `${fmtCount(total)} cases (${keys.map((k) => base.sweep[k]!.length).join(' x ')}), beyond the limit of ${fmtCount(maxPoints)} (${LIMIT_DEFS.sweepPoints.env})`,
    );
  }
  let points: Array<Record<string, unknown>> = [{}];
  for (const k of keys) {
    const next: Array<Record<string, unknown>> = [];
    for (const p of points) for (const v of base.sweep[k]!) next.push({ ...p, [k]: v });
    points = next;
  }
  const cases: ScenarioCase[] = points.map((point) => {
    const tree = structuredClone(effective);
    delete tree.sweep;
    for (const [k, v] of Object.entries(point)) setPath(tree, k, v);
    const r = ScenarioFile.safeParse(tree);
    if (!r.success) {
      const bad = r.error.issues[0]!;
      const at = fieldPath(bad.path);
      const key = keys.find((k) => at === k || at.startsWith(`${k}.`) || k.startsWith(at)) ?? at;
      throw new InputError(
        `${file}: ${prefix}sweep.${key}`,
        `${bad.code === 'unrecognized_keys' ? 'no such field' : bad.message} (value ${JSON.stringify(point[key])})`,
      );
    }
    const variant = Object.entries(point)
      .filter(([k]) => k !== 'cluster.services')
      .map(([k, v]) => `${k.split('.').pop()}=${String(v)}`)
      .join(',');
    return { id: variant === '' ? base.name : `${base.name}@${variant}`, scenario: r.data, point, file };
  });
  const manifestLists = new Set<string>();
  for (const c of cases) {
    validateCase(file, c.scenario, c.point);
    c.scenario.cluster.manifests = c.scenario.cluster.manifests.map((m) => manifestPath(file, m));
    if (c.scenario.cluster.manifests.length > 0) manifestLists.add(JSON.stringify(c.scenario.cluster.manifests));
  }
  // manifests are read and checked now, not when the case runs
  for (const l of manifestLists) {
    const m = loadManifests(JSON.parse(l) as string[]);
    const objects = m.services.length + m.pods.length + m.slices.reduce((n, sl) => n + sl.endpoints.length, 0);
    const max = limit('endpoints');
    if (objects > max)
      throw new InputError(
        `${file}: cluster.manifests`,
        `${fmtCount(objects)} services, pods and endpoints, beyond the limit of ${fmtCount(max)} (${LIMIT_DEFS.endpoints.env})`,
      );
  }
  return { base, cases };
}

/** Reads, validates and expands a scenario file; bad input throws InputError naming the file and field. */
export function loadScenario(file: string, opts: { quick: boolean; seed?: number }): LoadedScenario {
  const raw = readScenarioFile(file);
  // validate the file as written first, so errors point at what the user wrote
  const parsed = ScenarioFile.safeParse(raw);
  if (!parsed.success) throw firstIssue(file, parsed.error);
  const quick = parsed.data.quick;
  if (quick !== undefined) {
    for (const k of ['quick', 'name', '$schema'])
      if (Object.hasOwn(quick, k)) throw new InputError(`${file}: quick.${k}`, 'cannot be overridden by quick');
  }
  const withSeed = (t: Record<string, unknown>): Record<string, unknown> => (opts.seed === undefined ? t : { ...t, seed: opts.seed });
  let merged: Record<string, unknown>;
  try {
    merged = quick === undefined ? raw : (deepMerge(raw, quick) as Record<string, unknown>);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${file}: quick.${e.where}`, e.reason);
    throw e;
  }
  // both variants are checked, whichever runs: a broken quick section is found without --quick too
  const plain = expand(file, withSeed(raw), '');
  const fast = quick === undefined ? plain : expand(file, withSeed(merged), 'quick: ');
  const chosen = opts.quick ? fast : plain;
  return { file, scenario: chosen.base, cases: chosen.cases };
}

/** Scenario files of a directory (*.yaml, *.yml), sorted. */
export function scenarioFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}
