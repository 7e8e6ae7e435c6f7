import type { MetricRow } from '../metrics/stats.js';
import type { ScalingRow } from '../metrics/scaling.js';
import type { ReferenceSpec } from '../scenario/schema.js';
import { BACKEND_DEFINITIONS } from '../backends/registry.js';
import { COUNT_PREFIX } from '../metrics/catalogue.js';

/** An expectation on a scaling exponent and whether the run met it. */
export interface CheckResult {
  scenario: string;
  backend: string;
  metric: string;
  exponent: number | null;
  min?: number;
  max?: number;
  ok: boolean;
}

export interface ScenarioReport {
  id: string;
  name: string;
  description: string;
  references: ReferenceSpec[];
}

type Column = [metric: string, statistic: string, header: string, fmt: (v: number) => string];

/**
 * The backends' headline counts (CountDef.headline), in registry order, each once: size first, then sync, then
 * lookup. Their row names come from the catalogue prefixes; the summary knows no count by name.
 */
function headlineCounts(section: 'size' | 'sync' | 'lookup'): Array<[metric: string, label: string]> {
  const prefix = section === 'size' ? COUNT_PREFIX.size : section === 'sync' ? COUNT_PREFIX.sync : COUNT_PREFIX.lookup;
  const seen = new Map<string, string>();
  for (const d of BACKEND_DEFINITIONS) {
    for (const [name, c] of Object.entries(d.metrics[section])) if (c.headline !== undefined && !seen.has(prefix + name)) seen.set(prefix + name, c.headline);
  }
  return [...seen];
}

/** Columns of the short per-size table: metric, statistic, header, formatter. */
function tableColumns(): Column[] {
  return [
    ...headlineCounts('size').map(([m, l]): Column => [m, 'value', l, int]),
    ...headlineCounts('sync').map(([m, l]): Column => [m, 'mean', `${l}/sync`, num]),
    ['sync_time', 'mean', 'sync (model)', secs],
    ...headlineCounts('lookup').map(([m, l]): Column => [m, 'mean', `${l}/1st pkt`, num]),
    ['first_packet_time', 'mean', '1st pkt (model)', secs],
    ['network_programming_latency', 'p99', 'prog. latency p99', secs],
    ['failed_requests', 'total', 'failed req', int],
    ['wall_lookup_time', 'p50', 'lookup (wall p50)', secs],
    ['wall_sync_time', 'p50', 'sync (wall p50)', secs],
  ];
}

export function int(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}
export function num(v: number): string {
  return Math.abs(v) >= 100 ? int(v) : String(Number(v.toPrecision(3)));
}
/** Seconds in a readable unit. */
export function secs(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1e-6) return `${Number((v * 1e9).toPrecision(3))} ns`;
  if (a < 1e-3) return `${Number((v * 1e6).toPrecision(3))} µs`;
  if (a < 1) return `${Number((v * 1e3).toPrecision(3))} ms`;
  return `${Number(v.toPrecision(3))} s`;
}

function lookup(rows: readonly MetricRow[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) m.set(`${r.scenario}|${r.backend}|${r.services}|${r.metric}|${r.statistic}`, r.value);
  return m;
}

/** A markdown (or plain) table of rows × columns. */
function table(header: string[], body: string[][], markdown: boolean): string {
  if (markdown) {
    return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  }
  const w = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(header), ...body.map(line)].join('\n');
}

/** The per-size table of one scenario. */
export function scenarioTable(id: string, rows: readonly MetricRow[], markdown: boolean): string {
  const mine = rows.filter((r) => r.scenario === id);
  const m = lookup(mine);
  const cols = tableColumns().filter(([metric, stat]) => mine.some((r) => r.metric === metric && r.statistic === stat));
  const points = [...new Set(mine.map((r) => `${r.backend}|${r.services}`))]
    .map((k) => k.split('|') as [string, string])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : Number(a[1]) - Number(b[1])));
  const body = points.map(([b, s]) => [
    b,
    int(Number(s)),
    ...cols.map(([metric, stat, , fmt]) => {
      const v = m.get(`${id}|${b}|${s}|${metric}|${stat}`);
      return v === undefined ? '' : fmt(v);
    }),
  ]);
  return table(['backend', 'services', ...cols.map((c) => c[2])], body, markdown);
}

/** The metrics a verdict speaks of: the backends' headline counts and the modelled and measured times. */
function verdictMetrics(): Array<[string, string]> {
  return [
    ...headlineCounts('sync').map(([m, l]): [string, string] => [m, `${l} per sync`]),
    ...headlineCounts('lookup').map(([m, l]): [string, string] => [m, `${l} per first packet`]),
    ['sync_time', 'modelled sync time'],
    ['first_packet_time', 'modelled first-packet time'],
    ['wall_lookup_time', 'measured lookup time'],
  ];
}

/** One sentence per backend: how its costs grow with the number of services. */
export function verdictLines(id: string, scaling: readonly ScalingRow[]): string[] {
  const out: string[] = [];
  const backends = [...new Set(scaling.filter((s) => s.scenario === id).map((s) => s.backend))].sort();
  for (const b of backends) {
    const parts: string[] = [];
    for (const [metric, label] of verdictMetrics()) {
      const s = scaling.find((x) => x.scenario === id && x.backend === b && x.metric === metric);
      if (s === undefined) continue;
      const shape = s.exponent >= 0.7 ? 'grows ~linearly' : s.exponent <= 0.2 ? 'stays flat' : 'grows sub-linearly';
      parts.push(`${label} ${shape} (exponent ${s.exponent.toFixed(2)}, r² ${s.r2.toFixed(2)})`);
    }
    if (parts.length > 0) out.push(`${b}: ${parts.join('; ')}.`);
  }
  return out;
}

/** Ratios of modelled to published values outside this band need a stated reason. */
export const REFERENCE_RATIO_BAND = [0.33, 3] as const;

/** One published figure beside this run's value at the same size. */
export interface ReferenceComparison {
  ref: ReferenceSpec;
  /** The row compared (null when the run has no such row). */
  row: MetricRow | null;
  statistic: string | null;
  /** modelled / published, null without both. */
  ratio: number | null;
  /** The stated reason when the ratio is outside REFERENCE_RATIO_BAND, '' inside it. */
  reason: string;
}

/** Published figures matched to this run's rows: the statistic the reference names, else the first present. */
export function compareReferences(id: string, refs: readonly ReferenceSpec[], rows: readonly MetricRow[]): ReferenceComparison[] {
  return refs.map((r) => {
    let row: MetricRow | null = null;
    let statistic: string | null = null;
    if (r.metric !== undefined && r.backend !== undefined && r.services !== undefined) {
      const stats = r.statistic !== undefined ? [r.statistic] : ['mean', 'value', 'p50', 'total'];
      for (const s of stats) {
        const found = rows.find((x) => x.scenario === id && x.backend === r.backend && x.services === r.services && x.metric === r.metric && x.statistic === s);
        if (found !== undefined) {
          row = found;
          statistic = s;
          break;
        }
      }
    }
    const ratio = row !== null && r.value !== undefined && r.value !== 0 ? row.value / r.value : null;
    const outside = ratio !== null && (ratio < REFERENCE_RATIO_BAND[0] || ratio > REFERENCE_RATIO_BAND[1]);
    const reason = outside ? (r.note ?? 'no reason stated (add a note to the reference)') : '';
    return { ref: r, row, statistic, ratio, reason };
  });
}

function ratioText(v: number): string {
  return v >= 10 || v < 0.1 ? `${Number(v.toPrecision(2))}` : v.toFixed(2);
}

/**
 * Published figures next to this run's numbers at the same size: published, modelled, their ratio, and where the
 * ratio is outside 0.33-3 the reference's one-line reason.
 */
function referenceTable(id: string, refs: readonly ReferenceSpec[], rows: readonly MetricRow[]): string {
  if (refs.length === 0) return '';
  const body = compareReferences(id, refs, rows).map(({ ref: r, row, statistic, ratio, reason }) => {
    const ours = row === null ? '—' : `${row.unit === 's' ? secs(row.value) : `${num(row.value)} ${row.unit}`} (${r.metric} ${statistic})`;
    const theirs = r.value === undefined ? '' : r.unit === 's' ? secs(r.value) : `${num(r.value)} ${r.unit}`;
    return [r.source, r.label, theirs, ours, ratio === null ? '' : `×${ratioText(ratio)}`, reason];
  });
  return table(['source', 'published', 'value', 'this run', 'ratio', 'why outside 0.33–3'], body, true);
}

/** summary.md: per scenario the verdict, the table and the published figures side by side; then the checks. */
export function summaryMarkdown(
  scenarios: readonly ScenarioReport[],
  rows: readonly MetricRow[],
  scaling: readonly ScalingRow[],
  checks: readonly CheckResult[],
  meta: { seed: number | string; date: string; quick: boolean; gitCommit: string | null },
): string {
  const parts: string[] = ['# kube-proxy-bench run', ''];
  parts.push(`Seed ${meta.seed}${meta.quick ? ', quick suite' : ''}, ${meta.date}${meta.gitCommit ? `, commit ${meta.gitCommit.slice(0, 12)}` : ''}.`);
  parts.push('Counted and modelled figures are deterministic for the seed; "wall" figures are measured and noisy.', '');
  for (const s of scenarios) {
    if (!rows.some((r) => r.scenario === s.id)) continue;
    parts.push(`## ${s.id}`, '');
    if (s.description) parts.push(s.description.trim(), '');
    const v = verdictLines(s.id, scaling);
    if (v.length > 0) parts.push(...v.map((l) => `- ${l}`), '');
    parts.push(scenarioTable(s.id, rows, true), '');
    const ref = referenceTable(s.id, s.references, rows);
    if (ref) parts.push('Published figures beside this run:', '', ref, '');
  }
  if (checks.length > 0) {
    parts.push('## Checks', '');
    for (const c of checks) {
      const range = `${c.min ?? '-∞'} ≤ exponent ≤ ${c.max ?? '∞'}`;
      parts.push(`- ${c.ok ? 'PASS' : 'FAIL'} ${c.scenario} ${c.backend} ${c.metric}: exponent ${c.exponent === null ? 'n/a' : c.exponent.toFixed(3)} (${range})`);
    }
    parts.push('');
  }
  return parts.join('\n');
}

/** The terminal version: the table and verdict of each scenario, and failed checks. */
export function terminalSummary(scenarios: readonly ScenarioReport[], rows: readonly MetricRow[], scaling: readonly ScalingRow[], checks: readonly CheckResult[]): string {
  const parts: string[] = [];
  for (const s of scenarios) {
    if (!rows.some((r) => r.scenario === s.id)) continue;
    parts.push(`== ${s.id}`, scenarioTable(s.id, rows, false), ...verdictLines(s.id, scaling), '');
  }
  const failed = checks.filter((c) => !c.ok);
  if (checks.length > 0) parts.push(failed.length === 0 ? `All ${checks.length} scaling checks passed.` : `${failed.length} of ${checks.length} scaling checks FAILED:`);
  for (const c of failed) parts.push(`  ${c.scenario} ${c.backend} ${c.metric}: exponent ${c.exponent === null ? 'n/a' : c.exponent.toFixed(3)}, expected ${c.min ?? '-∞'}..${c.max ?? '∞'}`);
  return parts.join('\n');
}
