/**
 * Chart specifications of a run: what each chart shows, as plain data (series, points, axes, labels), built from
 * a run's rows (metrics.csv), fits (scaling.csv) and the scenarios' published figures. Rendering is elsewhere
 * (echarts.ts), so the specs can be unit-tested without drawing anything.
 *
 * Per scenario (one sweep point of a scenario file) and per headline metric, a **scaling chart**: log-log axes,
 * value against the number of services,
 * - one line per backend the run holds (never a fixed list), its fitted exponent from scaling.csv in the legend;
 *   the plotted statistic is the one the fit uses (src/metrics/scaling.ts `fittedStatistic`), so line and
 *   exponent agree; error bars from the min (where there is one) to the p99 (else the max) where the metric has
 *   a spread;
 * - kernel-measured points (rows whose metric starts with `kernel_`, or whose kind is `kernel`) as a separate
 *   series per backend, on the chart of the metric they measure (`kernel_sync_time` on `sync_time`'s), or on a
 *   chart of their own when no such chart exists;
 * - the scenario's published figures (`reference` in scenarios/*.yaml) that name a metric, a size and a value,
 *   as labelled markers (in the metric's unit).
 * Values of 0 cannot sit on a log axis: a chart with a 0 uses a linear value axis, and says so.
 *
 * Per scenario file whose sweep has fields besides the number of services (minSyncPeriod, requestsPerConnection),
 * a **grouped chart** per headline metric: bars per number of services, one bar per backend and sweep point.
 */
import { fittedStatistic } from '../../metrics/scaling.js';
import { metricDef } from '../../metrics/catalogue.js';
import type { MetricRow, ScalingRow } from '../../types.js';
import { isKernelRow, scenarioFamily, sweepPoint, type KindedRow } from '../columns.js';
import { backendColors, REFERENCE_COLOR, tint } from './palette.js';
import { formatValue, unitFactor } from './units.js';

/** A published figure as scenarios record it (scenario schema `reference`). */
export interface ReferenceFigure {
  source: string;
  label: string;
  backend?: string;
  services?: number;
  metric?: string;
  value?: number;
  unit: string;
}

/** What the charts need to know of a scenario besides its rows: its id and published figures. */
export interface ChartScenario {
  id: string;
  references: readonly ReferenceFigure[];
}

/** A metric every run is charted on, with the words the chart uses. */
export interface HeadlineMetric {
  metric: string;
  title: string;
  /** Axis name, without the unit. */
  axis: string;
}

/** The headline metrics, in the order the report shows them. */
export const HEADLINE_METRICS: readonly HeadlineMetric[] = [
  { metric: 'sync_rules_written', title: 'Rules written per sync', axis: 'rules written per sync' },
  { metric: 'sync_time', title: 'Sync time (modelled)', axis: 'sync time' },
  { metric: 'first_packet_rules_evaluated', title: 'Rules evaluated per first packet', axis: 'rules evaluated per first packet' },
  { metric: 'first_packet_time', title: 'First-packet time (modelled)', axis: 'first-packet time' },
  { metric: 'network_programming_latency', title: 'Network programming latency (modelled)', axis: 'network programming latency' },
  { metric: 'failed_requests', title: 'Failed requests', axis: 'failed requests' },
  { metric: 'sync_cpu_seconds_per_node_hour', title: 'Sync CPU per node-hour (modelled)', axis: 'CPU-seconds per node-hour' },
];

/** Title words of a metric that is not a headline one (charted for a published figure or a kernel measurement). */
export function metricTitle(metric: string): HeadlineMetric {
  const h = HEADLINE_METRICS.find((m) => m.metric === metric);
  if (h !== undefined) return h;
  const words = metric.replace(/^kernel_/, '').replace(/_/g, ' ');
  const kernel = metric.startsWith('kernel_') ? ' (real kernel)' : '';
  const title = `${words.charAt(0).toUpperCase()}${words.slice(1)}${kernel}`;
  return { metric, title, axis: words };
}

export interface ChartPoint {
  x: number;
  y: number;
  /** Error bar ends, when the metric has a spread at this point. */
  low?: number;
  high?: number;
  /** A marker's label. */
  label?: string;
}

export type SeriesRole = 'backend' | 'kernel' | 'reference' | 'regression';

export interface SeriesSpec {
  /** The legend text: "iptables (exponent 0.94)", "iptables (kernel)", "published figures". */
  name: string;
  role: SeriesRole;
  /** The backend a line or kernel series belongs to. */
  backend?: string;
  color: string;
  points: ChartPoint[];
  /** The fitted exponent of a backend line (scaling.csv), when there is one. */
  exponent?: number;
  r2?: number;
  /** Drawn dashed with hollow symbols (the baseline of a comparison). */
  dashed?: boolean;
}

export interface ScalingChartSpec {
  type: 'scaling';
  /** File name stem of the chart (charts/<id>.svg). */
  id: string;
  scenario: string;
  metric: string;
  title: string;
  subtitle: string;
  unit: string;
  x: { name: string; log: true };
  y: { name: string; log: boolean };
  /** The statistic the lines plot (mean, p50, value, total). */
  statistic: string;
  /** What the error bars span, when any series has them ("min to p99"). */
  bars: string | null;
  series: SeriesSpec[];
  /** Published figures of this metric that could not be placed (no size or value, or another unit). */
  unplaced: ReferenceFigure[];
}

export interface GroupedSeriesSpec {
  name: string;
  backend: string;
  /** The sweep point other than services: "minSyncPeriod=10". */
  variant: string;
  color: string;
  /** One value per category (null: no row). */
  values: Array<number | null>;
}

export interface GroupedChartSpec {
  type: 'grouped';
  id: string;
  /** The scenario file's name (the ids' part before '@'). */
  scenario: string;
  metric: string;
  /** The swept fields besides services. */
  fields: string[];
  title: string;
  subtitle: string;
  unit: string;
  /** Number of services, one category each. */
  categories: number[];
  y: { name: string; log: boolean };
  statistic: string;
  series: GroupedSeriesSpec[];
}

export type ChartSpec = ScalingChartSpec | GroupedChartSpec;

/**
 * The value axis is logarithmic when every value is positive and they span at least this factor; a narrower
 * range would show one or two powers of ten and no readable ticks, so it gets a linear axis from 0 (which
 * shows a flat metric as flat).
 */
export const MIN_LOG_SPREAD = 4;

/** A file name stem from any text: letters, digits, '.', '-' and '_' kept, the rest '_'. */
export function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The metric a kernel row measures: `kernel_sync_time` -> `sync_time`; a `kind: kernel` row's own metric. */
export function kernelTarget(metric: string): string {
  return metric.startsWith('kernel_') ? metric.slice('kernel_'.length) : metric;
}

/** The plotted statistic of a kernel point: its p50, else its mean, value or total. */
function kernelStatistic(available: ReadonlySet<string>): string | null {
  for (const s of ['p50', 'mean', 'value', 'total']) if (available.has(s)) return s;
  return null;
}

function statsAt(rows: readonly MetricRow[]): Map<number, Map<string, MetricRow>> {
  const m = new Map<number, Map<string, MetricRow>>();
  for (const r of rows) {
    let s = m.get(r.services);
    if (s === undefined) m.set(r.services, (s = new Map()));
    s.set(r.statistic, r);
  }
  return m;
}

/** The error-bar statistics of a metric: low = min, high = p99 (else max), when present and not the centre. */
function barStats(center: string, available: ReadonlySet<string>): { low: string | null; high: string | null } {
  const low = available.has('min') && center !== 'min' ? 'min' : null;
  const high = available.has('p99') && center !== 'p99' ? 'p99' : available.has('max') && center !== 'max' ? 'max' : null;
  return { low, high };
}

/** Everything the chart builders need, indexed once. */
export interface ChartContext {
  rows: readonly KindedRow[];
  scaling: readonly ScalingRow[];
  scenarios: readonly ChartScenario[];
  colors: Map<string, string>;
}

export function chartContext(
  rows: readonly MetricRow[],
  scaling: readonly ScalingRow[],
  scenarios: readonly ChartScenario[],
): ChartContext {
  return { rows, scaling, scenarios, colors: backendColors(rows.map((r) => r.backend)) };
}

/** The published figures that apply to scenario id `id` (those of its scenario file). */
function referencesOf(ctx: ChartContext, id: string): readonly ReferenceFigure[] {
  const exact = ctx.scenarios.find((s) => s.id === id);
  if (exact !== undefined) return exact.references;
  const fam = ctx.scenarios.find((s) => scenarioFamily(s.id) === scenarioFamily(id));
  return fam?.references ?? [];
}

/**
 * The scaling chart of `metric` in scenario `id`, or null when the scenario has no row of it (kernel or not)
 * and no placeable published figure.
 */
export function scalingChart(ctx: ChartContext, id: string, metric: string): ScalingChartSpec | null {
  const mine = ctx.rows.filter((r) => r.scenario === id);
  const own = mine.filter((r) => r.metric === metric && !isKernelRow(r));
  const kernel = mine.filter((r) => isKernelRow(r) && (kernelTarget(r.metric) === metric || r.metric === metric));
  const refs = referencesOf(ctx, id).filter((r) => r.metric === metric);
  if (own.length === 0 && kernel.length === 0 && refs.length === 0) return null;
  const unit = own[0]?.unit ?? kernel[0]?.unit ?? metricDef(metric).unit;
  const words = metricTitle(metric);

  const series: SeriesSpec[] = [];
  const backends = [...new Set(own.map((r) => r.backend))].sort(cmp);
  const center = fittedStatistic(metric, new Set(own.map((r) => r.statistic))) ?? 'value';
  const { low, high } = barStats(center, new Set(own.map((r) => r.statistic)));
  let anyBars = false;
  for (const b of backends) {
    const byServices = statsAt(own.filter((r) => r.backend === b));
    const points: ChartPoint[] = [];
    for (const [x, stats] of [...byServices.entries()].sort((p, q) => p[0] - q[0])) {
      const c = stats.get(center);
      if (c === undefined) continue;
      const p: ChartPoint = { x, y: c.value };
      const lo = low === null ? undefined : stats.get(low)?.value;
      const hi = high === null ? undefined : stats.get(high)?.value;
      if ((lo !== undefined && lo < c.value) || (hi !== undefined && hi > c.value)) {
        p.low = lo ?? c.value;
        p.high = hi ?? c.value;
        anyBars = true;
      }
      points.push(p);
    }
    const fit = ctx.scaling.find((s) => s.scenario === id && s.backend === b && s.metric === metric);
    const s: SeriesSpec = { name: b, role: 'backend', backend: b, color: ctx.colors.get(b) ?? REFERENCE_COLOR, points };
    if (fit !== undefined && Number.isFinite(fit.exponent)) {
      s.exponent = fit.exponent;
      s.r2 = fit.r2;
      s.name = `${b} (exponent ${fit.exponent.toFixed(2)})`;
    }
    series.push(s);
  }

  const kernelBackends = [...new Set(kernel.map((r) => r.backend))].sort(cmp);
  for (const b of kernelBackends) {
    const mineK = kernel.filter((r) => r.backend === b);
    const stat = kernelStatistic(new Set(mineK.map((r) => r.statistic)));
    const points: ChartPoint[] = [];
    for (const [x, stats] of [...statsAt(mineK).entries()].sort((p, q) => p[0] - q[0])) {
      const c = stat === null ? undefined : stats.get(stat);
      if (c === undefined) continue;
      const f = unitFactor(c.unit, unit) ?? 1;
      const p: ChartPoint = { x, y: c.value * f };
      const lo = stats.get('min')?.value;
      const hi = (stats.get('p99') ?? stats.get('max'))?.value;
      if ((lo !== undefined && lo * f < p.y) || (hi !== undefined && hi * f > p.y)) {
        p.low = (lo ?? c.value) * f;
        p.high = (hi ?? c.value) * f;
      }
      points.push(p);
    }
    series.push({ name: `${b} (kernel)`, role: 'kernel', backend: b, color: ctx.colors.get(b) ?? REFERENCE_COLOR, points });
  }

  const unplaced: ReferenceFigure[] = [];
  const refPoints: ChartPoint[] = [];
  for (const r of refs) {
    const f = r.value === undefined ? null : unitFactor(r.unit, unit);
    if (r.services === undefined || r.value === undefined || f === null || !(r.services > 0)) {
      unplaced.push(r);
      continue;
    }
    refPoints.push({
      x: r.services,
      y: r.value * f,
      label: `${r.source}: ${formatValue(r.value * f, unit)}${r.backend === undefined ? '' : ` (${r.backend})`}`,
    });
  }
  if (refPoints.length > 0) series.push({ name: 'published figures', role: 'reference', color: REFERENCE_COLOR, points: refPoints });

  const values = series.flatMap((s) =>
    s.points.flatMap((p) => [p.y, ...(p.low === undefined ? [] : [p.low]), ...(p.high === undefined ? [] : [p.high])]),
  );
  const positive = values.length > 0 && values.every((v) => v > 0);
  const spread = positive ? Math.max(...values) / Math.min(...values) : 0;
  const yLog = positive && spread >= MIN_LOG_SPREAD;
  const notes: string[] = [];
  notes.push(`${rowKindWord(metric)}; lines: ${center}${anyBars ? `, bars: ${low ?? center} to ${high ?? center}` : ''}`);
  if (!yLog)
    notes.push(
      values.every((v) => v === 0)
        ? 'every value is 0'
        : positive
          ? `linear value axis: values within ×${MIN_LOG_SPREAD}`
          : 'linear value axis: some values are 0',
    );
  const unitText = unit === '' || unit === '1' || unit === 's' ? '' : ` (${unit})`;
  return {
    type: 'scaling',
    id: slug(`${id}--${metric}`),
    scenario: id,
    metric,
    title: `${id}: ${words.title}`,
    subtitle: notes.join(' · '),
    unit,
    x: { name: 'services (log scale)', log: true },
    y: { name: `${words.axis}${unitText}${yLog ? ', log scale' : ''}`, log: yLog },
    statistic: center,
    bars: anyBars ? `${low ?? center} to ${high ?? center}` : null,
    series,
    unplaced,
  };
}

function rowKindWord(metric: string): string {
  const k = metric.startsWith('kernel_') ? 'kernel' : metricDef(metric).kind;
  switch (k) {
    case 'counted':
      return 'counted (exact for the seed)';
    case 'modelled':
      return 'modelled (cost model, exact for the seed)';
    case 'measured':
      return 'measured wall clock (noisy)';
    case 'kernel':
      return 'real kernel (noisy)';
    default:
      return `${k} (exact for the seed)`;
  }
}

/**
 * The grouped chart of `metric` over the scenario ids of one scenario file (`family`) whose sweep points differ
 * in fields other than services; null when there is no such sweep or no row of the metric.
 */
export function groupedChart(ctx: ChartContext, family: string, metric: string): GroupedChartSpec | null {
  const rows = ctx.rows.filter((r) => scenarioFamily(r.scenario) === family && r.metric === metric && !isKernelRow(r));
  const ids = [...new Set(rows.map((r) => r.scenario))];
  const variants = ids.filter((id) => sweepPoint(id).length > 0);
  if (variants.length < 2) return null;
  const fields = [...new Set(variants.flatMap((id) => sweepPoint(id).map(([f]) => f)))];
  const stat = fittedStatistic(metric, new Set(rows.map((r) => r.statistic))) ?? 'value';
  const categories = [...new Set(rows.map((r) => r.services))].sort((a, b) => a - b);
  const backends = [...new Set(rows.map((r) => r.backend))].sort(cmp);
  const variantText = (id: string): string =>
    sweepPoint(id)
      .map(([f, v]) => `${f}=${v}`)
      .join(', ');
  const orderedVariants = [...variants].sort((a, b) => {
    const pa = sweepPoint(a);
    const pb = sweepPoint(b);
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const na = Number(pa[i]![1]);
      const nb = Number(pb[i]![1]);
      const c = Number.isFinite(na) && Number.isFinite(nb) ? na - nb : cmp(pa[i]![1], pb[i]![1]);
      if (c !== 0) return c;
    }
    return pa.length - pb.length;
  });
  const series: GroupedSeriesSpec[] = [];
  for (const b of backends) {
    orderedVariants.forEach((id, i) => {
      const values = categories.map(
        (s) => rows.find((r) => r.scenario === id && r.backend === b && r.services === s && r.statistic === stat)?.value ?? null,
      );
      if (values.every((v) => v === null)) return;
      const v = variantText(id);
      series.push({
        name: `${b}, ${v}`,
        backend: b,
        variant: v,
        color: tint(ctx.colors.get(b) ?? REFERENCE_COLOR, (i / Math.max(orderedVariants.length, 2)) * 0.9),
        values,
      });
    });
  }
  if (series.length === 0) return null;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const positive = all.length > 0 && all.every((v) => v > 0);
  const yLog = positive && Math.max(...all) / Math.min(...all) >= 30;
  const unit = rows[0]?.unit ?? metricDef(metric).unit;
  const words = metricTitle(metric);
  const unitText = unit === '' || unit === '1' || unit === 's' ? '' : ` (${unit})`;
  return {
    type: 'grouped',
    id: slug(`${family}--by-${fields.join('-')}--${metric}`),
    scenario: family,
    metric,
    fields,
    title: `${family}: ${words.title} by ${fields.join(' and ')}`,
    subtitle: `${rowKindWord(metric)}; bars: ${stat}; one bar per backend and ${fields.join(', ')}`,
    unit,
    categories,
    y: { name: `${words.axis}${unitText}${yLog ? ', log scale' : ''}`, log: yLog },
    statistic: stat,
    series,
  };
}

/**
 * Metrics a grouped chart shows besides the headline ones (and those a published figure names), when the swept
 * field changes them: what keep-alive does per request, what minSyncPeriod does to the sync rate.
 */
export const GROUPED_EXTRA: readonly string[] = ['request_classification_time', 'syncs_per_minute'];

/** Whether a grouped chart's bars differ between sweep points at some size and backend. */
function variesByVariant(g: GroupedChartSpec): boolean {
  for (const b of new Set(g.series.map((s) => s.backend))) {
    const mine = g.series.filter((s) => s.backend === b);
    for (let i = 0; i < g.categories.length; i++) {
      const vals = mine.map((s) => s.values[i]).filter((v): v is number => v !== null && v !== undefined);
      if (vals.length > 1 && Math.max(...vals) !== Math.min(...vals)) return true;
    }
  }
  return false;
}

/**
 * Every chart of a run: per scenario id, the scaling chart of each headline metric it has, of each metric a
 * published figure names, and of each kernel-measured metric no other chart carries; then the grouped charts of
 * scenario files swept over more than services. Scenario order: `scenarios` first, then any other id in the rows.
 */
export function runCharts(rows: readonly MetricRow[], scaling: readonly ScalingRow[], scenarios: readonly ChartScenario[]): ChartSpec[] {
  const ctx = chartContext(rows, scaling, scenarios);
  const ids = [
    ...new Set([
      ...scenarios.map((s) => s.id).filter((id) => rows.some((r) => r.scenario === id)),
      ...[...new Set(rows.map((r) => r.scenario))].sort(cmp),
    ]),
  ];
  const out: ChartSpec[] = [];
  for (const id of ids) {
    const mine = rows.filter((r) => r.scenario === id) as KindedRow[];
    const metrics: string[] = HEADLINE_METRICS.map((h) => h.metric).filter((m) => mine.some((r) => r.metric === m));
    for (const ref of referencesOf(ctx, id)) {
      if (
        ref.metric !== undefined &&
        ref.services !== undefined &&
        ref.value !== undefined &&
        !metrics.includes(ref.metric) &&
        mine.some((r) => r.metric === ref.metric)
      )
        metrics.push(ref.metric);
    }
    for (const r of mine) {
      if (!isKernelRow(r)) continue;
      const target = kernelTarget(r.metric);
      const chartMetric = mine.some((x) => x.metric === target && !isKernelRow(x)) ? target : r.metric;
      if (!metrics.includes(chartMetric)) metrics.push(chartMetric);
    }
    for (const m of metrics) {
      const c = scalingChart(ctx, id, m);
      if (c !== null) out.push(c);
    }
  }
  const families = [...new Set(ids.map(scenarioFamily))];
  for (const fam of families) {
    const famIds = ids.filter((id) => scenarioFamily(id) === fam);
    const referenced = famIds.flatMap((id) => referencesOf(ctx, id).flatMap((r) => (r.metric === undefined ? [] : [r.metric])));
    const extra = [...referenced, ...GROUPED_EXTRA].filter(
      (m, i, a) => a.indexOf(m) === i && !HEADLINE_METRICS.some((h) => h.metric === m),
    );
    for (const metric of [...HEADLINE_METRICS.map((h) => h.metric), ...extra]) {
      const g = groupedChart(ctx, fam, metric);
      if (g === null) continue;
      // a non-headline metric is worth a grouped chart only where the swept field changes it
      if (!HEADLINE_METRICS.some((h) => h.metric === metric) && !variesByVariant(g)) continue;
      out.push(g);
    }
  }
  return out;
}

/** The points of one run, for a comparison chart. */
export interface CompareRunInput {
  label: string;
  rows: readonly MetricRow[];
  scaling: readonly ScalingRow[];
}

/**
 * A comparison chart of `metric` in scenario `id`: for every backend a dashed line for the baseline and a solid
 * one for the current run (same colour, exponents in the legend), and the points that regressed ringed in red.
 * `regressed` holds "backend|services" of the points whose plotted statistic regressed. Null when neither run
 * has the metric there.
 */
export function compareChart(
  id: string,
  metric: string,
  baseline: CompareRunInput,
  current: CompareRunInput,
  regressed: ReadonlySet<string>,
  colors: Map<string, string>,
): ScalingChartSpec | null {
  const sides = [
    { run: baseline, dashed: true },
    { run: current, dashed: false },
  ];
  const specs = sides.map(({ run }) => scalingChart(chartContext(run.rows, run.scaling, []), id, metric));
  if (specs.every((s) => s === null)) return null;
  const first = (specs[1] ?? specs[0])!;
  const series: SeriesSpec[] = [];
  const backends = [
    ...new Set(specs.flatMap((s) => (s === null ? [] : s.series.filter((x) => x.role === 'backend').map((x) => x.backend!)))),
  ].sort(cmp);
  for (const b of backends) {
    sides.forEach(({ run, dashed }, i) => {
      const line = specs[i]?.series.find((x) => x.role === 'backend' && x.backend === b);
      if (line === undefined) return;
      const exp = line.exponent === undefined ? '' : `, exponent ${line.exponent.toFixed(2)}`;
      series.push({ ...line, name: `${b} (${run.label}${exp})`, color: colors.get(b) ?? REFERENCE_COLOR, dashed });
    });
  }
  const cur = specs[1];
  const ringed: ChartPoint[] = [];
  for (const line of cur?.series.filter((x) => x.role === 'backend') ?? []) {
    for (const p of line.points) if (regressed.has(`${line.backend}|${p.x}`)) ringed.push({ x: p.x, y: p.y, label: 'regressed' });
  }
  if (ringed.length > 0) series.push({ name: 'regressed', role: 'regression', color: '#b3261e', points: ringed });
  const words = metricTitle(metric);
  const yValues = series.flatMap((s) =>
    s.points.flatMap((p) => [p.y, ...(p.low === undefined ? [] : [p.low]), ...(p.high === undefined ? [] : [p.high])]),
  );
  const positive = yValues.length > 0 && yValues.every((v) => v > 0);
  const yLog = positive && Math.max(...yValues) / Math.min(...yValues) >= MIN_LOG_SPREAD;
  return {
    ...first,
    id: slug(`${id}--${metric}`),
    title: `${id}: ${words.title}, ${baseline.label} vs ${current.label}`,
    subtitle: `dashed: ${baseline.label}; solid: ${current.label}; lines: ${first.statistic}${first.bars === null ? '' : `, bars: ${first.bars}`}${yLog ? '' : ' · linear value axis'}`,
    y: { name: first.y.name.replace(/, log scale$/, '') + (yLog ? ', log scale' : ''), log: yLog },
    series,
    unplaced: [],
  };
}
