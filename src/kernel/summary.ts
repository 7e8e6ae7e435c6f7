/**
 * The kernel run's summary: per scenario and data plane, counted, modelled and kernel figures side by side with
 * their ratio (model / kernel), the first-packet slopes, and the agreement of model and kernel (the largest
 * deviation per data plane and quantity, against the 20% the calibration promises).
 */
import type { MetricRow, ScalingRow } from '../types.js';

/** Model/kernel pairs compared for agreement: [label, modelled metric, statistic, kernel metric]. */
export const PAIRS: Array<[string, string, string, string]> = [
  ['full sync', 'initial_sync_time', 'value', 'kernel_sync_time'],
  ['partial sync', 'partial_sync_time', 'mean', 'kernel_partial_sync_time'],
  ['first packet', 'first_packet_time', 'mean', 'kernel_first_packet_time'],
];

export const AGREEMENT_LIMIT = 0.2;

export interface AgreementPoint {
  scenario: string;
  backend: string;
  services: number;
  quantity: string;
  kernel: number;
  model: number;
  /** model / kernel. */
  ratio: number;
}

/** Model vs kernel (p50) at every point where both exist. */
export function agreementPoints(rows: readonly MetricRow[]): AgreementPoint[] {
  const get = new Map<string, number>();
  for (const r of rows) get.set(`${r.scenario}\u0000${r.backend}\u0000${r.services}\u0000${r.metric}\u0000${r.statistic}`, r.value);
  const points = new Set(rows.map((r) => `${r.scenario}\u0000${r.backend}\u0000${r.services}`));
  const out: AgreementPoint[] = [];
  for (const p of points) {
    const [scenario, backend, services] = p.split('\u0000') as [string, string, string];
    for (const [quantity, mm, ms, km] of PAIRS) {
      const model = get.get(`${p}\u0000${mm}\u0000${ms}`);
      const kernel = get.get(`${p}\u0000${km}\u0000p50`);
      if (model === undefined || kernel === undefined || !(kernel > 0)) continue;
      out.push({ scenario, backend, services: Number(services), quantity, kernel, model, ratio: model / kernel });
    }
  }
  return out.sort(
    (a, b) =>
      (a.scenario < b.scenario ? -1 : a.scenario > b.scenario ? 1 : 0) ||
      (a.backend < b.backend ? -1 : a.backend > b.backend ? 1 : 0) ||
      a.quantity.localeCompare(b.quantity) ||
      a.services - b.services,
  );
}

/** Per (backend, quantity): the largest |ratio − 1| and whether it is within the limit. */
export function agreementVerdicts(
  points: readonly AgreementPoint[],
  limit = AGREEMENT_LIMIT,
): Array<{ backend: string; quantity: string; worst: number; ok: boolean; n: number }> {
  const groups = new Map<string, AgreementPoint[]>();
  for (const p of points) {
    const k = `${p.backend}\u0000${p.quantity}`;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  return [...groups.entries()].map(([k, g]) => {
    const [backend, quantity] = k.split('\u0000') as [string, string];
    const worst = Math.max(...g.map((p) => Math.abs(p.ratio - 1)));
    return { backend, quantity, worst, ok: worst <= limit, n: g.length };
  });
}

function fmtTime(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '–';
  const a = Math.abs(s);
  if (a >= 1) return `${s.toFixed(2)} s`;
  if (a >= 1e-3) return `${(s * 1e3).toFixed(a >= 0.1 ? 0 : 1)} ms`;
  if (a >= 1e-6) return `${(s * 1e6).toFixed(1)} µs`;
  return `${(s * 1e9).toFixed(0)} ns`;
}

function fmtNum(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : Math.round(v).toLocaleString('en-US');
}

function fmtRatio(m: number | undefined, k: number | undefined): string {
  return m === undefined || k === undefined || !(k > 0) ? '–' : `${(m / k).toFixed(2)}×`;
}

export function kernelSummary(
  rows: readonly MetricRow[],
  scaling: readonly ScalingRow[],
  meta: { date: string; quick: boolean; notes: readonly string[]; machine: string; model: string },
): string {
  const out: string[] = [`# kpbench kernel${meta.quick ? ' (quick)' : ''}`, '', `${meta.date} · ${meta.machine}`, ''];
  out.push(
    'Kernel figures are measured on the real tools and kernel in a private network namespace (p50 over repetitions).',
    'Sync: CPU seconds (user + system) of the tool processes, what a load costs with a core to itself (their wall-clock',
    "time is in metrics.csv as kernel_*sync_wall_time: on a shared machine it follows the machine's load). First packet:",
    "the round trip of a new TCP connection's SYN through the rules (the blocking connect() call, at real-time priority;",
    "p50: the median of the rounds' medians). Modelled figures are the cost model for the very same syncs and packets",
    '(counted work × coefficients).',
    `Model: ${meta.model}.`,
    '',
  );
  for (const n of meta.notes) out.push(`- ${n}`);
  if (meta.notes.length > 0) out.push('');
  const get = new Map<string, number>();
  for (const r of rows) get.set(`${r.scenario}\u0000${r.backend}\u0000${r.services}\u0000${r.metric}\u0000${r.statistic}`, r.value);
  const scenarios = [...new Set(rows.map((r) => r.scenario))].sort();
  for (const sc of scenarios) {
    out.push(`## ${sc}`, '');
    const backends = [...new Set(rows.filter((r) => r.scenario === sc).map((r) => r.backend))].sort();
    for (const b of backends) {
      out.push(`### ${b}`, '');
      out.push(
        '| services | rules written (full / partial) | full sync: kernel | model | ratio | partial sync: kernel | model | ratio | rules walked (median svc) | first packet: kernel | model | ratio | slope |',
      );
      out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
      const sizes = [...new Set(rows.filter((r) => r.scenario === sc && r.backend === b && r.services > 0).map((r) => r.services))].sort(
        (x, y) => x - y,
      );
      for (const s of sizes) {
        const v = (m: string, st: string): number | undefined => get.get(`${sc}\u0000${b}\u0000${s}\u0000${m}\u0000${st}`);
        const kf = v('kernel_sync_time', 'p50');
        const mf = v('initial_sync_time', 'value');
        const kp = v('kernel_partial_sync_time', 'p50');
        const mp = v('partial_sync_time', 'mean');
        const kfp = v('kernel_first_packet_time', 'p50');
        const mfp = v('first_packet_time', 'mean');
        const slope = v('kernel_first_packet_slope', 'value');
        const slopeSvc = v('kernel_first_packet_slope_per_service', 'value');
        out.push(
          `| ${fmtNum(s)} | ${fmtNum(v('initial_sync_rules_written', 'value'))} / ${fmtNum(v('sync_rules_written', 'mean'))} | ${fmtTime(kf)} | ${fmtTime(mf)} | ${fmtRatio(mf, kf)} | ${fmtTime(kp)} | ${fmtTime(mp)} | ${fmtRatio(mp, kp)} | ${fmtNum(v('first_packet_rules_evaluated_median', 'value'))} | ${fmtTime(kfp)} | ${fmtTime(mfp)} | ${fmtRatio(mfp, kfp)} | ${slope !== undefined ? `${slope.toFixed(1)} ns/rule` : slopeSvc !== undefined ? `${slopeSvc.toFixed(2)} ns/svc` : '–'} |`,
        );
      }
      const exps = scaling.filter(
        (x) => x.scenario === sc && x.backend === b && x.metric.startsWith('kernel_') && /sync_time$|first_packet_time$/.test(x.metric),
      );
      if (exps.length > 0)
        out.push('', `Log-log slopes against services: ${exps.map((x) => `${x.metric} ${x.exponent.toFixed(2)}`).join(', ')}.`);
      const pooled = get.get(`${sc}\u0000${b}\u00000\u0000kernel_first_packet_slope\u0000mean`);
      if (pooled !== undefined) out.push('', `First-packet slope pooled over the sweep: ${pooled.toFixed(1)} ns per rule walked.`);
      out.push('');
    }
  }
  const verdicts = agreementVerdicts(agreementPoints(rows));
  if (verdicts.length > 0) {
    out.push('## Model against kernel', '');
    out.push(
      `Largest deviation of the model from the kernel (p50) over the sizes, per data plane; the calibration aims at ${AGREEMENT_LIMIT * 100}%.`,
      '',
    );
    out.push('| data plane | quantity | sizes | worst |model/kernel − 1| | within 20% |', '|---|---|---|---|---|');
    for (const v of verdicts)
      out.push(`| ${v.backend} | ${v.quantity} | ${v.n} | ${(v.worst * 100).toFixed(0)}% | ${v.ok ? 'yes' : 'no'} |`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
