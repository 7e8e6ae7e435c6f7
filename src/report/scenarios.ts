/**
 * What a report needs to know of the scenarios of a run besides its rows: descriptions, published figures
 * (`reference`) and scaling expectations (`expect`). A run records them in meta.json (`scenarioReports`), so a
 * report can be rebuilt from the run directory alone (`kpbench report`, `kpbench merge`), after the scenario
 * files have changed or on another machine. Runs made before that field existed fall back to the scenario files
 * named in meta.json, when they can still be read, and else to the bare scenario ids.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { backendDefinition } from '../backends/registry.js';
import { InputError } from '../errors.js';
import type { ScalingRow } from '../types.js';
import { loadScenario, type LoadedScenario } from '../scenario/load.js';
import type { RunMeta } from './csvio.js';
import { scenarioFamily } from './columns.js';
import type { CheckResult, ScenarioReport } from './summary.js';

export interface ExpectationInfo {
  backend: string;
  metric: string;
  exponent: { min?: number; max?: number };
}

/** A scenario id of a run with its words, published figures, backends and expectations. */
export interface ScenarioInfo extends ScenarioReport {
  backends: string[];
  expect: ExpectationInfo[];
}

const referenceSchema = z.looseObject({
  source: z.string(),
  label: z.string(),
  backend: z.string().optional(),
  services: z.number().optional(),
  metric: z.string().optional(),
  value: z.number().optional(),
  unit: z.string().default(''),
});

const infoSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  description: z.string().default(''),
  references: z.array(referenceSchema).default([]),
  backends: z.array(z.string()).default([]),
  /** The data-plane variant of each backend (e.g. iptables-legacy), when known. */
  variants: z.array(z.string()).optional(),
  expect: z
    .array(
      z.looseObject({
        backend: z.string(),
        metric: z.string(),
        exponent: z.looseObject({ min: z.number().optional(), max: z.number().optional() }),
      }),
    )
    .default([]),
});

/** The infos of every case of the loaded scenario files (one per scenario id, in file then case order). */
export function scenarioInfos(loaded: readonly LoadedScenario[]): ScenarioInfo[] {
  const out: ScenarioInfo[] = [];
  for (const l of loaded) {
    for (const id of new Set(l.cases.map((c) => c.id))) {
      out.push({
        id,
        name: l.scenario.name,
        description: l.scenario.description,
        references: l.scenario.reference.map((r) => ({ ...r })),
        backends: [...l.scenario.backends],
        variants: l.scenario.backends.map((b) => {
          const d = backendDefinition(b);
          return d.variant?.(d.optionsSchema.parse((l.scenario.proxy as Record<string, unknown>)[b] ?? {})) ?? b;
        }),
        expect: l.scenario.expect.map((e) => ({ backend: e.backend, metric: e.metric, exponent: { ...e.exponent } })),
      });
    }
  }
  return out;
}

/** meta.json's `scenarioReports`, validated (an InputError names the field), or null when absent. */
export function metaScenarioInfos(meta: RunMeta | null, file = 'meta.json'): ScenarioInfo[] | null {
  const raw = meta?.scenarioReports;
  if (raw === undefined) return null;
  const r = z.array(infoSchema).safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InputError(
      `${file}: scenarioReports${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`,
      issue.message,
    );
  }
  return r.data as ScenarioInfo[];
}

/**
 * The scenario infos for a run's ids: from meta.json, else from the scenario files meta.json names (when they
 * exist and load), else bare (no description, figures or expectations). Ids with rows but no info get a bare one.
 */
export function resolveScenarioInfos(meta: RunMeta | null, ids: readonly string[], file = 'meta.json'): ScenarioInfo[] {
  let infos = metaScenarioInfos(meta, file);
  if (infos === null && meta !== null) {
    const loaded: LoadedScenario[] = [];
    for (const f of meta.scenarios) {
      if (!fs.existsSync(f)) continue;
      try {
        loaded.push(loadScenario(f, { quick: meta.quick, seed: typeof meta.seed === 'number' ? meta.seed : undefined }));
      } catch {
        // a scenario file that no longer loads: its ids get bare infos below
      }
    }
    infos = scenarioInfos(loaded);
  }
  const known = (infos ?? []).filter((i) => ids.includes(i.id));
  for (const id of ids) {
    if (known.some((i) => i.id === id)) continue;
    known.push({ id, name: scenarioFamily(id), description: '', references: [], backends: [], expect: [] });
  }
  return known;
}

/** The scenarios' expectations on scaling exponents, checked against a run's fits. */
export function checkExpectations(infos: readonly ScenarioInfo[], scaling: readonly ScalingRow[]): CheckResult[] {
  const out: CheckResult[] = [];
  for (const info of infos) {
    for (const e of info.expect) {
      if (info.backends.length > 0 && !info.backends.includes(e.backend)) continue;
      const s = scaling.find((x) => x.scenario === info.id && x.backend === e.backend && x.metric === e.metric);
      const exponent = s === undefined || !Number.isFinite(s.exponent) ? null : s.exponent;
      const ok =
        exponent !== null &&
        (e.exponent.min === undefined || exponent >= e.exponent.min) &&
        (e.exponent.max === undefined || exponent <= e.exponent.max);
      const c: CheckResult = { scenario: info.id, backend: e.backend, metric: e.metric, exponent, ok };
      if (e.exponent.min !== undefined) c.min = e.exponent.min;
      if (e.exponent.max !== undefined) c.max = e.exponent.max;
      out.push(c);
    }
  }
  return out;
}
