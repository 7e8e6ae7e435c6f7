/**
 * The words and tables of a run's report, as data first (tables of strings, verdict sentences, notes) and then
 * as Markdown (summary.md) or plain text (the terminal); html.ts renders the same data as HTML.
 *
 * Words match the numbers:
 * - a verdict gives the values at the smallest and largest size and their max/min ratio besides the fitted
 *   exponent, and calls a metric flat only when both say so (a metric can have a small exponent and still grow
 *   several-fold over a wide sweep: IPVS's modelled sync time, 35 ms to 335 ms over 100 to 20,000 services);
 * - the published-figures table puts the published value and this run's in one unit, with their ratio;
 * - rows a reader would stop at (most requests failing at 1 service) are explained where they appear, from the
 *   run's own counters.
 */
import type { MetricRow } from '../metrics/stats.js';
import type { ScalingRow } from '../metrics/scaling.js';
import type { ReferenceSpec } from '../scenario/schema.js';
import { fittedStatistic } from '../metrics/scaling.js';
import { BACKEND_DEFINITIONS } from '../backends/registry.js';
import { COUNT_PREFIX } from '../metrics/catalogue.js';
import { formatPairInOneUnit, formatRatio, formatSeconds, formatValue, unitFactor } from './charts/units.js';

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

/** What a report says of a scenario besides its rows (recorded in meta.json as `scenarioReports`). */
export interface ScenarioReport {
  id: string;
  name: string;
  description: string;
  references: ReferenceSpec[];
  /** The data-plane variant of each backend the scenario ran (e.g. iptables-legacy, ipvs), when known. */
  variants?: string[];
}

/** A chart as the Markdown summary links it. */
export interface ChartLink {
  /** The scenario id it belongs under. */
  scenario: string;
  /** Path relative to the run directory, e.g. charts/scaling--sync_time.svg. */
  file: string;
  title: string;
}

/** A table of text cells with the notes that explain some of them (cells carry a note's marker). */
export interface TextTable {
  header: string[];
  body: string[][];
  /** Columns aligned right in plain text and HTML (numbers). */
  numeric: boolean[];
  /** Numbered notes; a cell refers to note i with noteMark(i). */
  notes: string[];
  /** Unnumbered remarks on the whole table. */
  remarks?: string[];
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
    for (const [name, c] of Object.entries(d.metrics[section]))
      if (c.headline !== undefined && !seen.has(prefix + name)) seen.set(prefix + name, c.headline);
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
  return formatSeconds(v);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lookup(rows: readonly MetricRow[]): Map<string, MetricRow> {
  const m = new Map<string, MetricRow>();
  for (const r of rows) m.set(`${r.scenario}|${r.backend}|${r.services}|${r.metric}|${r.statistic}`, r);
  return m;
}

/** A table as Markdown or aligned plain text; notes follow as numbered lines. */
export function renderTable(t: TextTable, markdown: boolean): string {
  const out: string[] = [];
  if (markdown) {
    const esc = (c: string): string => c.replace(/\|/g, '\\|');
    out.push(
      `| ${t.header.map(esc).join(' | ')} |`,
      `|${t.header.map((_, i) => (t.numeric[i] ? '---:' : '---')).join('|')}|`,
      ...t.body.map((r) => `| ${r.map(esc).join(' | ')} |`),
    );
  } else {
    const w = t.header.map((h, i) => Math.max(h.length, ...t.body.map((r) => (r[i] ?? '').length)));
    const line = (r: string[]): string =>
      r
        .map((c, i) => (t.numeric[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!)))
        .join('  ')
        .trimEnd();
    out.push(line(t.header), ...t.body.map(line));
  }
  if (t.notes.length > 0 || (t.remarks ?? []).length > 0) out.push('');
  t.notes.forEach((n, i) => out.push(`${markdown ? '' : '  '}${noteMark(i)} ${n}${markdown ? '  ' : ''}`));
  for (const r of t.remarks ?? []) out.push(`${markdown ? '' : '  '}${r}${markdown ? '  ' : ''}`);
  return out.join('\n');
}

/** The marker of note i: ¹ ² ³ ... */
export function noteMark(i: number): string {
  const sup = ['¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
  return sup[i] ?? `[${i + 1}]`;
}

// ---------------------------------------------------------------------------------------------
// Surprising rows, explained from the run's own counters
// ---------------------------------------------------------------------------------------------

/** Failed requests at a point where a large share of the requests failed: why, from the point's counters. */
export function failedRequestsNote(rows: readonly MetricRow[], id: string, backend: string, services: number): string | null {
  const at = (metric: string, stat: string): number | undefined =>
    rows.find((r) => r.scenario === id && r.backend === backend && r.services === services && r.metric === metric && r.statistic === stat)
      ?.value;
  const failed = at('failed_requests', 'total');
  const requests = at('requests', 'total');
  if (failed === undefined || requests === undefined || requests === 0 || failed / requests < 0.05) return null;
  const eps = rows.find((r) => r.scenario === id && r.backend === backend && r.services === services)?.endpoints_per_service ?? 0;
  const rejected = at('rejected_connections', 'total') ?? 0;
  const stale = at('stale_connections', 'total') ?? 0;
  const pct = `${Math.round((failed / requests) * 100)}%`;
  const parts = [
    `${backend} at ${int(services)} service${services === 1 ? '' : 's'}: ${int(failed)} of ${int(requests)} requests failed (${pct}).`,
  ];
  if (rejected > 0) {
    parts.push(
      `${int(rejected)} connection${rejected === 1 ? ' was' : 's were'} rejected: the service had no ready endpoint${eps <= 1 ? ' while its only pod was replaced (a new pod is not ready at once)' : ''}.`,
    );
  }
  if (stale > 0) parts.push(`${int(stale)} connection${stale === 1 ? ' was' : 's were'} sent by rules that were being replaced (stale).`);
  if (services <= 10) {
    parts.push(
      `With ${services === 1 ? 'one service' : `${int(services)} services`}, ${services === 1 ? 'every request goes to the service' : 'much of the traffic goes to a service'} whose endpoints change; in a larger cluster the same change touches a small share of the traffic.`,
    );
  }
  return parts.join(' ');
}

// ---------------------------------------------------------------------------------------------
// The per-size table
// ---------------------------------------------------------------------------------------------

/** The per-size table of one scenario, with notes on surprising cells. */
export function scenarioTableData(id: string, rows: readonly MetricRow[]): TextTable {
  const mine = rows.filter((r) => r.scenario === id);
  const m = lookup(mine);
  const cols = tableColumns().filter(([metric, stat]) => mine.some((r) => r.metric === metric && r.statistic === stat));
  const points = [...new Set(mine.map((r) => `${r.backend}|${r.services}`))]
    .map((k) => k.split('|') as [string, string])
    .sort((a, b) => cmp(a[0], b[0]) || Number(a[1]) - Number(b[1]));
  const notes: string[] = [];
  const body = points.map(([b, s]) => [
    b,
    int(Number(s)),
    ...cols.map(([metric, stat, , fmt]) => {
      const r = m.get(`${id}|${b}|${s}|${metric}|${stat}`);
      if (r === undefined) return '';
      let cell = fmt(r.value);
      if (metric === 'failed_requests') {
        const note = failedRequestsNote(mine, id, b, Number(s));
        if (note !== null) {
          cell = `${cell} ${noteMark(notes.length)}`;
          notes.push(note);
        }
      }
      return cell;
    }),
  ]);
  return { header: ['backend', 'services', ...cols.map((c) => c[2])], body, numeric: [false, true, ...cols.map(() => true)], notes };
}

/** The per-size table of one scenario as Markdown or plain text. */
export function scenarioTable(id: string, rows: readonly MetricRow[], markdown: boolean): string {
  return renderTable(scenarioTableData(id, rows), markdown);
}

/** The ingress hops a run may hold rows of (src/bench/hops.ts), with the words the table uses. */
const HOPS: Array<[hop: string, words: string]> = [
  ['nodeport', 'client → NodePort (picks an ingress pod)'],
  ['service', 'ingress pod → service (picks an application pod)'],
];

/**
 * Per ingress hop, how each first packet was classified by the backend of the node it passed: connections,
 * sent to a pod (DNAT), refused (REJECT/DROP), decided by rules being replaced, and the modelled time. Null
 * when the scenario has no ingress rows.
 */
export function hopTableData(id: string, rows: readonly MetricRow[]): TextTable | null {
  const mine = rows.filter((r) => r.scenario === id && r.metric.startsWith('ingress_') && r.metric.includes('_hop_'));
  if (mine.length === 0) return null;
  const m = lookup(mine);
  const points = [...new Set(mine.map((r) => `${r.backend}|${r.services}`))]
    .map((k) => k.split('|') as [string, string])
    .sort((a, b) => cmp(a[0], b[0]) || Number(a[1]) - Number(b[1]));
  const body: string[][] = [];
  for (const [b, s] of points) {
    for (const [hop, words] of HOPS) {
      const v = (name: string, stat: string): MetricRow | undefined => m.get(`${id}|${b}|${s}|ingress_${hop}_hop_${name}|${stat}`);
      const conns = v('connections', 'total');
      if (conns === undefined) continue;
      const cell = (name: string): string => {
        const r = v(name, 'total');
        return r === undefined
          ? ''
          : conns.value > 0 && r.value > 0
            ? `${int(r.value)} (${Number(((r.value / conns.value) * 100).toPrecision(2))}%)`
            : int(r.value);
      };
      const t = (stat: string): string => {
        const r = v('time', stat);
        return r === undefined ? '' : secs(r.value);
      };
      body.push([b, int(Number(s)), words, int(conns.value), cell('dnat'), cell('refused'), cell('stale'), t('mean'), t('p99')]);
    }
  }
  return {
    header: ['backend', 'services', 'hop', 'connections', 'sent to a pod', 'refused', 'stale rules', '1st pkt (model)', '1st pkt p99'],
    body,
    numeric: [false, true, false, true, true, true, true, true, true],
    notes: [],
    remarks: [
      'Each hop is classified by the kube-proxy rules of the node it passes: the NodePort hop on the node the client reached, the service hop on the node the ingress pod runs on.',
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------------

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

/** Below this max/min ratio over the sweep (and with a small exponent), a metric is called flat. */
export const FLAT_RATIO = 1.3;

/**
 * The shape of a metric over the sweep, from its fitted exponent and its max/min ratio:
 * "stays flat" needs |exponent| <= 0.1 and a ratio below FLAT_RATIO; a small exponent with a larger ratio
 * "grows slowly"; 0.7 and above "grows ~linearly".
 */
export function shapeWords(exponent: number, ratio: number): string {
  if (exponent >= 1.3) return 'grows faster than linearly';
  if (exponent >= 0.7) return 'grows ~linearly';
  if (exponent <= -0.2) return 'shrinks';
  if (ratio < FLAT_RATIO && Math.abs(exponent) <= 0.1) return 'stays flat';
  if (ratio < FLAT_RATIO) return 'stays nearly flat';
  if (exponent < 0.2) return 'grows slowly';
  return 'grows sub-linearly';
}

/** The fitted statistic's value at each size, ascending by services (as computeScaling fits it). */
export function sweepValues(id: string, backend: string, metric: string, rows: readonly MetricRow[]): Array<[number, number]> {
  const g = rows.filter((r) => r.scenario === id && r.backend === backend && r.metric === metric);
  const stat = fittedStatistic(metric, new Set(g.map((r) => r.statistic)));
  if (stat === null) return [];
  const by = new Map<number, number>();
  for (const r of g) if (r.statistic === stat && r.services > 0) by.set(r.services, r.value);
  return [...by.entries()].sort((a, b) => a[0] - b[0]);
}

/** One sentence per backend: how its costs grow with the number of services, in values and exponents. */
export function verdictLines(id: string, scaling: readonly ScalingRow[], rows: readonly MetricRow[] = []): string[] {
  return verdicts(id, scaling, rows).map((v) => `${v.backend}: ${v.parts.join('; ')}.`);
}

/** Per backend, one clause per verdict metric: how it grows with the number of services. */
export function verdicts(
  id: string,
  scaling: readonly ScalingRow[],
  rows: readonly MetricRow[] = [],
): Array<{ backend: string; parts: string[] }> {
  const out: Array<{ backend: string; parts: string[] }> = [];
  const backends = [...new Set(scaling.filter((s) => s.scenario === id).map((s) => s.backend))].sort(cmp);
  for (const b of backends) {
    const parts: string[] = [];
    for (const [metric, label] of verdictMetrics()) {
      const s = scaling.find((x) => x.scenario === id && x.backend === b && x.metric === metric);
      if (s === undefined || !Number.isFinite(s.exponent)) continue;
      const pts = sweepValues(id, b, metric, rows);
      const unit = rows.find((r) => r.scenario === id && r.backend === b && r.metric === metric)?.unit ?? '';
      const fit = `exponent ${s.exponent.toFixed(2)}, r² ${Number.isFinite(s.r2) ? s.r2.toFixed(2) : 'n/a'}`;
      if (pts.length < 2) {
        parts.push(`${label}: ${fit}`);
        continue;
      }
      const vals = pts.map(([, v]) => v);
      const lo = Math.min(...vals);
      const hi = Math.max(...vals);
      if (hi === 0) {
        parts.push(`${label} is 0 at every size`);
        continue;
      }
      const ratio = lo > 0 ? hi / lo : Number.POSITIVE_INFINITY;
      const [s0, v0] = pts[0]!;
      const [s1, v1] = pts[pts.length - 1]!;
      const range = `${formatValue(v0, unit)} at ${int(s0)} → ${formatValue(v1, unit)} at ${int(s1)} services`;
      parts.push(`${label} ${shapeWords(s.exponent, ratio)}: ${range} (max/min ${formatRatio(ratio)}, ${fit})`);
    }
    if (parts.length > 0) out.push({ backend: b, parts });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Published figures
// ---------------------------------------------------------------------------------------------

/** Ratios of modelled to published values outside this band need a stated reason. */
export const REFERENCE_RATIO_BAND = [0.33, 3] as const;

/** One published figure beside this run's value at the same size. */
export interface ReferenceComparison {
  ref: ReferenceSpec;
  /** The row compared (null when the run has no such row). */
  row: MetricRow | null;
  statistic: string | null;
  /** this run / published, both in the row's unit; null without both (or when the units are not convertible). */
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
        const found = rows.find(
          (x) => x.scenario === id && x.backend === r.backend && x.services === r.services && x.metric === r.metric && x.statistic === s,
        );
        if (found !== undefined) {
          row = found;
          statistic = s;
          break;
        }
      }
    }
    const f = row === null ? null : unitFactor(r.unit || row.unit, row.unit);
    const ratio = row !== null && f !== null && r.value !== undefined && r.value !== 0 ? row.value / (r.value * f) : null;
    const outside = ratio !== null && (ratio < REFERENCE_RATIO_BAND[0] || ratio > REFERENCE_RATIO_BAND[1]);
    const reason = outside ? (r.note ?? 'no reason stated (add a note to the reference)') : '';
    return { ref: r, row, statistic, ratio, reason };
  });
}

/**
 * Published figures beside this run's value at the same size, both in one unit (the run's) and one scale, with
 * their ratio (this run / published) and, where the ratio is outside 0.33-3, the reference's one-line reason;
 * figures that name no metric or a size this run did not reach say so.
 */
export function referenceTableData(id: string, refs: readonly ReferenceSpec[], rows: readonly MetricRow[]): TextTable | null {
  if (refs.length === 0) return null;
  const body = compareReferences(id, refs, rows).map(({ ref: r, row, statistic, ratio, reason }) => {
    const published = r.value === undefined ? '— (qualitative)' : formatValue(r.value, r.unit);
    if (r.metric === undefined || r.services === undefined) return [r.source, r.label, published, 'no matching metric', '', reason];
    if (row === null) {
      const sizes = [...new Set(rows.filter((x) => x.scenario === id && x.metric === r.metric).map((x) => x.services))].sort(
        (a, b) => a - b,
      );
      const ours =
        sizes.length === 0
          ? 'not measured in this run'
          : sizes.includes(r.services)
            ? `no ${r.statistic ?? 'matching'} statistic of ${r.metric}`
            : `not run at ${int(r.services)} services (sizes ${sizes.map(int).join(', ')})`;
      return [r.source, r.label, published, ours, '', reason];
    }
    const f = r.value === undefined ? null : unitFactor(r.unit || row.unit, row.unit);
    if (r.value === undefined || f === null) {
      return [
        r.source,
        r.label,
        published,
        `${formatValue(row.value, row.unit)} (${row.metric} ${statistic})`,
        r.value === undefined ? '' : `units differ (${r.unit} vs ${row.unit})`,
        reason,
      ];
    }
    const [p, o] = formatPairInOneUnit(r.value * f, row.value, row.unit);
    return [
      r.source,
      r.label,
      `${p}${(r.unit || row.unit) !== row.unit ? ` (${published})` : ''}`,
      `${o} (${row.metric} ${statistic})`,
      ratio === null ? '' : formatRatio(ratio),
      reason,
    ];
  });
  const remarks = [
    'ratio: this run ÷ published, both in the unit shown. Published figures come from other machines, kernels and versions; the ratio shows how far this run is from them, not an error.',
  ];
  return {
    header: ['source', 'published', 'value', 'this run', 'ratio', 'why outside 0.33–3'],
    body,
    numeric: [false, false, true, true, true, false],
    notes: [],
    remarks,
  };
}

// ---------------------------------------------------------------------------------------------
// summary.md and the terminal
// ---------------------------------------------------------------------------------------------

export interface SummaryMeta {
  seed: number | string;
  date: string;
  quick: boolean;
  gitCommit: string | null;
}

function checkLine(c: CheckResult): string {
  const range = `${c.min ?? '-∞'} ≤ exponent ≤ ${c.max ?? '∞'}`;
  return `${c.ok ? 'PASS' : 'FAIL'} ${c.scenario} ${c.backend} ${c.metric}: exponent ${c.exponent === null ? 'n/a' : c.exponent.toFixed(3)} (${range})`;
}

/**
 * summary.md: per scenario the verdict, the charts (SVG files beside it, linked relatively so the run directory
 * reads on GitHub), the table and the published figures side by side; then the checks.
 */
export function summaryMarkdown(
  scenarios: readonly ScenarioReport[],
  rows: readonly MetricRow[],
  scaling: readonly ScalingRow[],
  checks: readonly CheckResult[],
  meta: SummaryMeta,
  charts: readonly ChartLink[] = [],
): string {
  const parts: string[] = ['# kube-proxy-bench run', ''];
  parts.push(
    `Seed ${meta.seed}${meta.quick ? ', quick suite' : ''}, ${meta.date}${meta.gitCommit ? `, commit ${meta.gitCommit.slice(0, 12)}` : ''}.`,
  );
  parts.push(
    'Counted and modelled figures are deterministic for the seed; "wall" figures are measured and noisy. `report.html` has the same report in one file.',
    '',
  );
  for (const s of scenarios) {
    if (!rows.some((r) => r.scenario === s.id)) continue;
    parts.push(`## ${s.id}`, '');
    if (s.description) parts.push(s.description.trim(), '');
    if (s.variants !== undefined && s.variants.length > 0) parts.push(`Data planes: ${s.variants.join(', ')}.`, '');
    const v = verdictLines(s.id, scaling, rows);
    if (v.length > 0) parts.push(...v.map((l) => `- ${l}`), '');
    const mine = charts.filter((c) => c.scenario === s.id);
    if (mine.length > 0) parts.push(...mine.map((c) => `![${c.title}](${c.file.split('/').map(encodeURIComponent).join('/')})`), '');
    parts.push(scenarioTable(s.id, rows, true), '');
    const hops = hopTableData(s.id, rows);
    if (hops !== null) parts.push('Per ingress hop:', '', renderTable(hops, true), '');
    const ref = referenceTableData(s.id, s.references, rows);
    if (ref !== null) parts.push('Published figures beside this run:', '', renderTable(ref, true), '');
  }
  if (checks.length > 0) {
    parts.push('## Checks', '');
    for (const c of checks) parts.push(`- ${checkLine(c)}`);
    parts.push('');
  }
  return parts.join('\n');
}

/** The terminal version: the table and verdict of each scenario, and failed checks. */
export function terminalSummary(
  scenarios: readonly ScenarioReport[],
  rows: readonly MetricRow[],
  scaling: readonly ScalingRow[],
  checks: readonly CheckResult[],
): string {
  const parts: string[] = [];
  for (const s of scenarios) {
    if (!rows.some((r) => r.scenario === s.id)) continue;
    parts.push(`== ${s.id}`, scenarioTable(s.id, rows, false));
    const hops = hopTableData(s.id, rows);
    if (hops !== null) parts.push('', renderTable(hops, false));
    parts.push(...verdictLines(s.id, scaling, rows), '');
  }
  const failed = checks.filter((c) => !c.ok);
  if (checks.length > 0)
    parts.push(
      failed.length === 0 ? `All ${checks.length} scaling checks passed.` : `${failed.length} of ${checks.length} scaling checks FAILED:`,
    );
  for (const c of failed)
    parts.push(
      `  ${c.scenario} ${c.backend} ${c.metric}: exponent ${c.exponent === null ? 'n/a' : c.exponent.toFixed(3)}, expected ${c.min ?? '-∞'}..${c.max ?? '∞'}`,
    );
  return parts.join('\n');
}
