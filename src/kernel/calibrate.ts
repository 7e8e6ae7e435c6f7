/**
 * `kpbench calibrate`: fits each variant's cost-model coefficients from a kernel run's rows (fit.ts), and reads and
 * writes the calibration file (`kpbench run --calibration FILE` passes its coefficients to the backends' models).
 *
 * Observations per variant and size: the full load (initial_sync_<count> → kernel_sync_time p50), the partial sync
 * (sync_<count> → kernel_partial_sync_time p50) and each probed position (first_packet_<count>_<position>
 * → kernel_first_packet_time_<position> p50). Features come from the backend's own model (model.ts), so the fit
 * sets exactly the coefficients the model uses; a coefficient no observation exercises keeps its default.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { MetricRow } from '../types.js';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../report/csvio.js';
import { fitCoefficients, type Observation } from './fit.js';
import { kernelVariants } from './dataplanes.js';
import {
  coefficientNames,
  lookupFeatures,
  syncFeatures,
  variantModel,
  type Calibration,
  type Coefficients,
  type FitSummary,
  type Variant,
} from './model.js';
import { toolVersions } from './tools.js';
import type { AgreementPoint } from './summary.js';

const POSITIONS = ['first', 'median', 'last'];

/** The observations of one variant, from its rows. */
export function observations(rows: readonly MetricRow[], v: Variant): { sync: Observation[]; firstPacket: Observation[] } {
  const pts = new Map<string, MetricRow[]>();
  for (const r of rows) {
    if (r.backend !== v.name) continue;
    const k = `${r.scenario}\u0000${r.services}\u0000${r.endpoints_per_service}`;
    pts.set(k, [...(pts.get(k) ?? []), r]);
  }
  const sync: Observation[] = [];
  const firstPacket: Observation[] = [];
  for (const g of pts.values()) {
    const val = (metric: string, stat: string): number | undefined => g.find((r) => r.metric === metric && r.statistic === stat)?.value;
    const counts = (prefix: string, suffix = ''): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const r of g) {
        if (!r.metric.startsWith(prefix) || !r.metric.endsWith(suffix) || r.metric.endsWith('_time')) continue;
        if (r.statistic !== 'value' && r.statistic !== 'mean') continue;
        out[r.metric.slice(prefix.length, r.metric.length - suffix.length)] = r.value;
      }
      return out;
    };
    const kf = val('kernel_sync_time', 'p50');
    if (kf !== undefined) sync.push({ x: syncFeatures(v, counts('initial_sync_'), 'full'), y: kf });
    const kp = val('kernel_partial_sync_time', 'p50');
    if (kp !== undefined) sync.push({ x: syncFeatures(v, counts('sync_'), 'partial'), y: kp });
    for (const pos of POSITIONS) {
      const kt = val(`kernel_first_packet_time_${pos}`, 'p50');
      const c = counts('first_packet_', `_${pos}`);
      if (kt !== undefined && Object.keys(c).length > 0) firstPacket.push({ x: lookupFeatures(v, c), y: kt });
    }
  }
  return { sync, firstPacket };
}

/** Coefficients some observation exercises (a non-zero feature). */
function exercised(obs: readonly Observation[], names: readonly string[]): string[] {
  return names.filter((n) => obs.some((o) => (o.x[n] ?? 0) !== 0));
}

/**
 * Features whose values on these observations are a multiple of an earlier feature's (in the model's order): the
 * observations cannot tell the two apart (nftables' rules walked and lookups are the same at every position, as the
 * fixed part is), so the earlier one takes their whole cost and they are set to 0, rather than split at random or
 * left at a default the rows contradict.
 */
function proportional(obs: readonly Observation[], feats: readonly string[]): Set<string> {
  const out = new Set<string>();
  const col = (f: string): number[] => obs.map((o) => o.x[f] ?? 0);
  for (let j = 0; j < feats.length; j++) {
    const b = col(feats[j]!);
    for (let i = 0; i < j; i++) {
      if (out.has(feats[i]!)) continue;
      const a = col(feats[i]!);
      const k = a.findIndex((v) => v !== 0);
      if (k < 0) continue;
      const ratio = b[k]! / a[k]!;
      if (a.every((v, r) => Math.abs(b[r]! - ratio * v) <= 1e-9 * Math.max(Math.abs(b[r]!), Math.abs(ratio * v)))) {
        out.add(feats[j]!);
        break;
      }
    }
  }
  return out;
}

/** Fits every calibratable variant found in the rows. */
export function calibrate(rows: readonly MetricRow[], source: string, date = new Date()): Calibration {
  const present = new Set(rows.filter((r) => r.metric === 'kernel_sync_time').map((r) => r.backend));
  const variants = kernelVariants().filter((v) => present.has(v.name) && v.calibrates);
  if (variants.length === 0)
    throw new InputError(source, 'no kernel_sync_time rows of a calibratable data plane: not a `kpbench kernel` run');
  const cal: Calibration = {
    kind: 'kpbench-calibration',
    version: 1,
    date: date.toISOString(),
    machine: { cpu: os.cpus()[0]?.model.trim() ?? 'unknown', cores: os.cpus().length },
    kernel: os.release(),
    tools: toolVersions(),
    source,
    coefficients: {},
    fits: {},
  };
  for (const v of variants) {
    const names = coefficientNames(v);
    const obs = observations(rows, v);
    const defaults = variantModel(v).coefficients;
    const coefficients: Coefficients = { ...defaults };
    const summary = (o: Observation[], skip: ReadonlySet<string>): FitSummary | null => {
      const candidates = exercised(o, names).filter((n) => !skip.has(n));
      const same = proportional(o, candidates);
      const feats = candidates.filter((n) => !same.has(n));
      for (const n of same) coefficients[n] = 0;
      if (o.length === 0 || feats.length === 0) return null;
      const f = fitCoefficients(o, feats, { minimax: true });
      for (const n of feats) coefficients[n] = f.coefficients[n]!;
      return { n: f.n, maxRelError: f.maxRelError, rmsRelError: f.rmsRelError, fitted: feats };
    };
    const s = summary(obs.sync, new Set());
    const l = summary(obs.firstPacket, new Set(s?.fitted ?? []));
    cal.coefficients[v.name] = coefficients;
    cal.fits[v.name] = { sync: s, firstPacket: l };
  }
  return cal;
}

export function writeCalibration(file: string, cal: Calibration): void {
  writeFileAtomic(file, `${JSON.stringify(cal, null, 2)}\n`);
}

/** Reads a calibration file; an InputError naming the file and field when it is not one. */
export function readCalibration(file: string): Calibration {
  if (!fs.existsSync(file)) throw new InputError(file, 'no such calibration file');
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, `not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const c = j as Partial<Calibration>;
  if (c.kind !== 'kpbench-calibration') throw new InputError(`${file}: kind`, "must be 'kpbench-calibration'");
  if (c.version !== 1) throw new InputError(`${file}: version`, 'must be 1');
  if (typeof c.coefficients !== 'object' || c.coefficients === null) throw new InputError(`${file}: coefficients`, 'must be an object');
  for (const [v, co] of Object.entries(c.coefficients)) {
    if (typeof co !== 'object' || co === null) throw new InputError(`${file}: coefficients.${v}`, 'must be an object of coefficients');
    for (const [k, x] of Object.entries(co))
      if (typeof x !== 'number' || !(x >= 0)) throw new InputError(`${file}: coefficients.${v}.${k}`, 'must be a non-negative number');
  }
  return c as Calibration;
}

/**
 * The calibrated model against the kernel rows it should reproduce: for each calibrated variant and size, the
 * model's full sync, partial sync and first packet (median service) on the very counts of the kernel run, next to
 * the kernel's p50.
 */
export function agreementWithCalibration(rows: readonly MetricRow[], cal: Calibration): AgreementPoint[] {
  const out: AgreementPoint[] = [];
  for (const v of kernelVariants()) {
    const co = cal.coefficients[v.name];
    if (co === undefined) continue;
    const model = variantModel(v, co);
    const pts = new Map<string, MetricRow[]>();
    for (const r of rows) {
      if (r.backend !== v.name) continue;
      const k = `${r.scenario}\u0000${r.services}`;
      pts.set(k, [...(pts.get(k) ?? []), r]);
    }
    for (const g of pts.values()) {
      const { scenario, services } = g[0]!;
      const val = (metric: string, stat: string): number | undefined => g.find((r) => r.metric === metric && r.statistic === stat)?.value;
      const counts = (prefix: string, suffix = ''): Record<string, number> => {
        const c: Record<string, number> = {};
        for (const r of g) {
          if (!r.metric.startsWith(prefix) || !r.metric.endsWith(suffix) || r.metric.endsWith('_time')) continue;
          if (r.statistic === 'value' || r.statistic === 'mean')
            c[r.metric.slice(prefix.length, r.metric.length - suffix.length)] = r.value;
        }
        return c;
      };
      const push = (quantity: string, kernel: number | undefined, m: number): void => {
        if (kernel !== undefined && kernel > 0)
          out.push({ scenario, backend: v.name, services, quantity, kernel, model: m, ratio: m / kernel });
      };
      push('full sync', val('kernel_sync_time', 'p50'), model.syncSeconds(counts('initial_sync_'), 'full'));
      push('partial sync', val('kernel_partial_sync_time', 'p50'), model.syncSeconds(counts('sync_'), 'partial'));
      const fp = counts('first_packet_', '_median');
      if (Object.keys(fp).length > 0) push('first packet', val('kernel_first_packet_time', 'p50'), model.lookupSeconds(fp));
    }
  }
  return out;
}
