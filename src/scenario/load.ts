import { readFileSync, existsSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { InputError } from '../errors.js';
import { ScenarioFile } from './schema.js';

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

/** Deep merge of plain objects; arrays and scalars of `over` replace those of `base`. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

/** Sets a dotted path ("proxy.minSyncPeriod") in a plain-object tree, creating objects on the way. */
export function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur: Record<string, unknown> = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (!isPlainObject(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** Reads, validates and expands a scenario file; bad input throws InputError naming the file and field. */
export function loadScenario(file: string, opts: { quick: boolean; seed?: number }): LoadedScenario {
  if (!existsSync(file) || !statSync(file).isFile()) throw new InputError(file, 'no such scenario file');
  let raw: unknown;
  try {
    const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const line = e.linePos?.[0]?.line;
      throw new InputError(`${file}${line !== undefined ? `:${line}` : ''}`, `YAML syntax: ${e.message.split('\n')[0]}`);
    }
    raw = doc.toJS();
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(file, `cannot read: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!isPlainObject(raw)) throw new InputError(file, 'a scenario must be a YAML mapping');
  // validate the file as written first, so errors point at what the user wrote
  const parsed = ScenarioFile.safeParse(raw);
  if (!parsed.success) throw firstIssue(file, parsed.error);
  let effective: Record<string, unknown> = raw;
  if (opts.quick && parsed.data.quick !== undefined) {
    effective = deepMerge(raw, parsed.data.quick) as Record<string, unknown>;
    const q = ScenarioFile.safeParse(effective);
    if (!q.success) throw firstIssue(file, q.error, 'quick: ');
  }
  if (opts.seed !== undefined) effective = { ...effective, seed: opts.seed };
  const base = ScenarioFile.parse(effective);

  // cases: the cartesian product of the sweep
  const keys = Object.keys(base.sweep);
  let points: Array<Record<string, unknown>> = [{}];
  for (const k of keys) {
    const next: Array<Record<string, unknown>> = [];
    for (const p of points) for (const v of base.sweep[k]!) next.push({ ...p, [k]: v });
    points = next;
  }
  const cases: ScenarioCase[] = points.map((point) => {
    const tree = structuredClone(effective);
    delete tree.sweep;
    for (const [k, v] of Object.entries(point)) {
      if (k === 'sweep' || k === 'quick' || k === 'name' || k.startsWith('sweep.')) throw new InputError(`${file}: sweep.${k}`, 'cannot sweep this field');
      setPath(tree, k, v);
    }
    const r = ScenarioFile.safeParse(tree);
    if (!r.success) {
      const bad = r.error.issues[0]!;
      const at = fieldPath(bad.path);
      const key = keys.find((k) => at === k || at.startsWith(`${k}.`) || k.startsWith(at)) ?? at;
      throw new InputError(`${file}: sweep.${key}`, `${bad.code === 'unrecognized_keys' ? 'no such field' : bad.message} (value ${JSON.stringify(point[key])})`);
    }
    const variant = Object.entries(point)
      .filter(([k]) => k !== 'cluster.services')
      .map(([k, v]) => `${k.split('.').pop()}=${String(v)}`)
      .join(',');
    return { id: variant === '' ? base.name : `${base.name}@${variant}`, scenario: r.data, point, file };
  });
  for (const c of cases) {
    const cl = c.scenario.cluster;
    const d = cl.endpointsPerService;
    const maxEps = typeof d === 'number' ? d : 'uniform' in d ? d.uniform[1] : 'choice' in d ? Math.max(...d.choice) : d.zipf.max;
    const capacity = cl.nodes * 253; // every node gets a /24 of the pod network
    if (cl.services * maxEps > capacity) {
      const where = 'cluster.nodes' in c.point || 'cluster.services' in c.point ? `sweep point ${JSON.stringify(c.point)}: cluster.nodes` : 'cluster.nodes';
      throw new InputError(`${file}: ${where}`, `${cl.nodes} nodes hold at most ${capacity} pods (a /24 each), but ${cl.services} services may need ${cl.services * maxEps}`);
    }
    const t = c.scenario.cluster.serviceTypes;
    const sum = t.ClusterIP + t.NodePort + t.LoadBalancer + t.headless + t.ExternalName;
    if (Math.abs(sum - 1) > 1e-9) throw new InputError(`${file}: cluster.serviceTypes`, `fractions must sum to 1, got ${sum}`);
    c.scenario.cluster.manifests = c.scenario.cluster.manifests.map((m) => path.resolve(path.dirname(file), m));
  }
  return { file, scenario: base, cases };
}

/** Scenario files of a directory (*.yaml, *.yml), sorted. */
export function scenarioFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}
