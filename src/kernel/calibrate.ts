/**
 * `kpbench calibrate`: fits the cost model's coefficients per data plane from a kernel run's rows (fit.ts), and
 * reads/writes the calibration file.
 *
 * Observations per flavour and size: the full load (initial_sync_<count> → kernel_sync_time p50), the partial
 * sync (partial_sync_<count> → kernel_partial_sync_time p50), and each probed position
 * (first_packet_<count>_<position> → kernel_first_packet_time_<position> p50).
 */
import fs from 'node:fs';
import os from 'node:os';
import type { MetricRow } from '../types.js';
import { InputError } from '../cli/errors.js';
import { writeFileAtomic } from '../report/csvio.js';
import { fitCoefficients, type Observation } from './fit.js';
import { LOOKUP_FEATURES, SYNC_FEATURES, lookupFeatures, syncFeatures, type Calibration } from './model.js';
import { toolVersions } from './tools.js';

const MODEL_OF: Record<string, string> = { 'iptables-legacy': 'iptables', 'iptables-nft': 'iptables', nftables: 'nftables', ipvs: 'ipvs' };
const POSITIONS = ['first', 'median', 'last'];

/** The observations of one flavour, from its rows. */
export function observations(rows: readonly MetricRow[], flavour: string): { sync: Observation[]; firstPacket: Observation[] } {
  const pts = new Map<string, MetricRow[]>();
  for (const r of rows) {
    if (r.backend !== flavour) continue;
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
    if (kf !== undefined) sync.push({ x: syncFeatures(counts('initial_sync_')), y: kf });
    const kp = val('kernel_partial_sync_time', 'p50');
    if (kp !== undefined) sync.push({ x: syncFeatures(counts('partial_sync_')), y: kp });
    for (const pos of POSITIONS) {
      const kt = val(`kernel_first_packet_time_${pos}`, 'p50');
      const c = counts('first_packet_', `_${pos}`);
      if (kt !== undefined && Object.keys(c).length > 0) firstPacket.push({ x: lookupFeatures(c), y: kt });
    }
  }
  return { sync, firstPacket };
}

/** Fits every flavour found in the rows. */
export function calibrate(rows: readonly MetricRow[], source: string, date = new Date()): Calibration {
  const flavours = [...new Set(rows.filter((r) => r.metric === 'kernel_sync_time').map((r) => r.backend))].sort();
  if (flavours.length === 0) throw new InputError(source, 'no kernel_sync_time rows: not a `kpbench kernel` run');
  const cal: Calibration = {
    kind: 'kpbench-calibration',
    version: 1,
    date: date.toISOString(),
    machine: { cpu: os.cpus()[0]?.model.trim() ?? 'unknown', cores: os.cpus().length },
    kernel: os.release(),
    tools: toolVersions(),
    source,
    dataplanes: {},
  };
  for (const f of flavours) {
    const model = MODEL_OF[f] ?? f;
    const obs = observations(rows, f);
    const s = fitCoefficients(obs.sync, SYNC_FEATURES[model] ?? ['fixed']);
    // a first packet's fixed part (conntrack entry, NAT set-up) can be slightly negative after the no-rules
    // baseline is taken off; the fit keeps it at 0 then
    const fp = obs.firstPacket.filter((o) => o.y > 0);
    const l = fp.length > 0 ? fitCoefficients(fp, LOOKUP_FEATURES[model] ?? ['fixed']) : null;
    cal.dataplanes[f] = {
      model,
      sync: s.coefficients,
      firstPacket: l?.coefficients ?? {},
      fit: {
        sync: { n: s.n, maxRelError: s.maxRelError, rmsRelError: s.rmsRelError },
        firstPacket: l === null ? null : { n: l.n, maxRelError: l.maxRelError, rmsRelError: l.rmsRelError },
      },
    };
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
  if (typeof c.dataplanes !== 'object' || c.dataplanes === null) throw new InputError(`${file}: dataplanes`, 'must be an object');
  for (const [f, d] of Object.entries(c.dataplanes)) {
    for (const part of ['sync', 'firstPacket'] as const) {
      const co = (d as unknown as Record<string, unknown>)[part];
      if (typeof co !== 'object' || co === null) throw new InputError(`${file}: dataplanes.${f}.${part}`, 'must be an object of coefficients');
      for (const [k, v] of Object.entries(co)) if (typeof v !== 'number' || !(v >= 0)) throw new InputError(`${file}: dataplanes.${f}.${part}.${k}`, 'must be a non-negative number');
    }
  }
  return c as Calibration;
}
