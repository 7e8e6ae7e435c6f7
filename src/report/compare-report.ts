/**
 * The report of a comparison (`kpbench compare BASELINE CURRENT --report DIR`): the same kind of report as a
 * run's, for two runs side by side, so a CI job can attach it as an artifact.
 *
 * DIR gets `report.html` (self-contained), `summary.md` and `charts/*.svg`: per scenario and headline metric a
 * chart with the baseline dashed and the current run solid (one colour per backend, exponents in the legend,
 * regressed points ringed in red), per metric a table of both values, their change and verdict, and first of
 * all the rows that regressed, went missing or changed. The directory is written whole and then put in place
 * in one step.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { MetricRow } from '../types.js';
import { computeScaling } from '../metrics/scaling.js';
import { fittedStatistic } from '../metrics/scaling.js';
import { readRun, writeFileAtomic, type RunData, type RunMeta } from './csvio.js';
import { compareChart, HEADLINE_METRICS, type ScalingChartSpec } from './charts/specs.js';
import { backendColors } from './charts/palette.js';
import { renderChartSvg } from './charts/echarts.js';
import { formatChange, formatCounts, formatValue, type CompareResult, type CompareRow } from './compare.js';
import { esc, htmlFigure, htmlPage, htmlTable } from './html.js';
import { renderTable, type TextTable } from './summary.js';
import { CHARTS_DIR } from './report.js';

export interface CompareReportInput {
  result: CompareResult;
  baseline: RunData;
  current: RunData;
  /** Names of the two runs in legends and headings. */
  labels?: { baseline: string; current: string };
}

export interface BuiltCompareReport {
  charts: Array<{ spec: ScalingChartSpec; file: string; svg: string }>;
  html: string;
  summary: string;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const ROW_HEADER = ['verdict', 'scenario', 'backend', 'services', 'metric', 'statistic', 'baseline', 'current', 'change', 'note'];
const ROW_NUMERIC = [false, false, false, true, false, false, true, true, true, false];

function rowCells(r: CompareRow): string[] {
  return [
    r.verdict === 'regressed' ? 'REGRESSED' : r.verdict,
    r.scenario,
    r.backend,
    String(r.services),
    r.metric,
    r.statistic,
    formatValue(r.baseline, r.unit),
    formatValue(r.current, r.unit),
    formatChange(r),
    r.note,
  ];
}

/** The rows that are not unchanged, regressions first (at most `limit`). */
export function movedRowsTable(result: CompareResult, limit = 400): TextTable {
  const moved = result.rows.filter((r) => r.verdict !== 'unchanged');
  const notes = moved.length > limit ? [`${moved.length - limit} more rows not shown: see \`kpbench compare --format csv\`.`] : [];
  return { header: ROW_HEADER, body: moved.slice(0, limit).map(rowCells), numeric: ROW_NUMERIC, notes };
}

/** Per scenario and metric: both runs' plotted statistic side by side at every backend and size. */
export function metricTable(result: CompareResult, id: string, metric: string, statistic: string): TextTable | null {
  const rows = result.rows.filter((r) => r.scenario === id && r.metric === metric && r.statistic === statistic);
  if (rows.length === 0) return null;
  const sorted = [...rows].sort((a, b) => cmp(a.backend, b.backend) || a.services - b.services);
  return {
    header: ['backend', 'services', 'baseline', 'current', 'change', 'verdict'],
    body: sorted.map((r) => [
      r.backend,
      r.services.toLocaleString('en-US'),
      formatValue(r.baseline, r.unit),
      formatValue(r.current, r.unit),
      formatChange(r),
      r.verdict === 'regressed' ? 'REGRESSED' : r.verdict,
    ]),
    numeric: [false, true, true, true, true, false],
    notes: [],
  };
}

function metaPairs(b: RunMeta | null, c: RunMeta | null): TextTable {
  const f = (m: RunMeta | null, k: (m: RunMeta) => string): string => (m === null ? '—' : k(m));
  const fields: Array<[string, (m: RunMeta) => string]> = [
    ['seed', (m) => String(m.seed)],
    ['suite', (m) => (m.quick ? 'quick' : 'full')],
    ['date', (m) => m.date],
    ['git commit', (m) => m.gitCommit ?? 'unknown'],
    ['Node.js', (m) => m.node],
    ['CPU', (m) => `${m.cpu} × ${m.cpus}`],
    ['platform', (m) => m.platform],
    ['shard', (m) => m.shard ?? (m.shards === undefined ? 'whole run' : `merged from ${m.shards.length}`)],
  ];
  return {
    header: ['', 'baseline', 'current'],
    body: fields.map(([k, fn]) => [k, f(b, fn), f(c, fn)]),
    numeric: [false, false, false],
    notes: [],
  };
}

/** Builds the comparison report in memory. */
export function buildCompareReport(input: CompareReportInput): BuiltCompareReport {
  const { result, baseline, current } = input;
  const labels = input.labels ?? { baseline: 'baseline', current: 'current' };
  const colors = backendColors([...baseline.rows, ...current.rows].map((r) => r.backend));
  const ids = [...new Set([...baseline.rows, ...current.rows].map((r) => r.scenario))].sort(cmp);
  const regressedAt = (id: string, metric: string, stat: string): Set<string> =>
    new Set(
      result.rows
        .filter((r) => r.scenario === id && r.metric === metric && r.statistic === stat && r.verdict === 'regressed')
        .map((r) => `${r.backend}|${r.services}`),
    );
  const side = (
    run: RunData,
    label: string,
  ): { label: string; rows: readonly MetricRow[]; scaling: ReturnType<typeof computeScaling> } => ({
    label,
    rows: run.rows,
    scaling: computeScaling(run.rows),
  });
  const b = side(baseline, labels.baseline);
  const c = side(current, labels.current);

  const charts: BuiltCompareReport['charts'] = [];
  const sections: Array<{ id: string; charts: typeof charts; tables: Array<[string, TextTable]> }> = [];
  for (const id of ids) {
    const mine: typeof charts = [];
    const tables: Array<[string, TextTable]> = [];
    for (const h of HEADLINE_METRICS) {
      const stat = fittedStatistic(
        h.metric,
        new Set([...baseline.rows, ...current.rows].filter((r) => r.scenario === id && r.metric === h.metric).map((r) => r.statistic)),
      );
      if (stat === null) continue;
      const spec = compareChart(id, h.metric, b, c, regressedAt(id, h.metric, stat), colors);
      if (spec !== null) {
        const chart = { spec, file: `${CHARTS_DIR}/${spec.id}.svg`, svg: renderChartSvg(spec) };
        mine.push(chart);
        charts.push(chart);
      }
      const t = metricTable(result, id, h.metric, stat);
      if (t !== null) tables.push([`${h.title} (${stat})`, t]);
    }
    sections.push({ id, charts: mine, tables });
  }

  const regressed = result.counts.regressed;
  const headline = result.failed
    ? `${result.failures} row${result.failures === 1 ? '' : 's'} fail the comparison (${regressed} regressed).`
    : 'No regression.';
  const moved = movedRowsTable(result);

  // HTML
  const h: string[] = [];
  h.push(`<h1>kube-proxy-bench comparison: ${esc(labels.baseline)} vs ${esc(labels.current)}</h1>`);
  h.push(`<p class="lead">${esc(`${result.baseline} → ${result.current}`)}</p>`);
  h.push(`<div class="banner ${result.failed ? 'bad' : 'good'}">${esc(headline)}</div>`);
  h.push(`<p>${esc(formatCounts(result))}.</p>`);
  if (result.warnings.length > 0) h.push(`<ul class="notes">${result.warnings.map((w) => `<li>Warning: ${esc(w)}</li>`).join('')}</ul>`);
  h.push(
    `<p class="muted">Counted and modelled rows are compared exactly (or within the tolerances given); measured (wall_*) rows regress only beyond the threshold (${result.options.threshold}%) with a significant Mann–Whitney test. Charts: ${esc(labels.baseline)} dashed, ${esc(labels.current)} solid, regressed points ringed in red.</p>`,
  );
  h.push(
    `<nav><h3>Scenarios</h3><ul>${sections.map((s) => `<li><a href="#s-${esc(s.id)}">${esc(s.id)}</a></li>`).join('')}<li><a href="#moved">Rows that moved</a></li><li><a href="#meta">Runs</a></li></ul></nav>`,
  );
  for (const s of sections) {
    h.push(`<section id="s-${esc(s.id)}"><h2>${esc(s.id)}</h2>`);
    if (s.charts.length > 0)
      h.push(
        `<div class="charts">${s.charts.map((ch) => htmlFigure({ id: ch.spec.id, file: ch.file, title: ch.spec.title, svg: ch.svg, series: ch.spec.series.map((x) => x.name) })).join('\n')}</div>`,
      );
    for (const [title, t] of s.tables) {
      h.push(
        `<h3>${esc(title)}</h3>`,
        htmlTable(t, (row) => (row[5] === 'REGRESSED' ? 'regressed' : row[5] === 'improved' ? 'improved' : '')),
      );
    }
    h.push('</section>');
  }
  h.push('<section id="moved"><h2>Rows that moved</h2>');
  h.push(
    moved.body.length === 0
      ? '<p>Every row is unchanged.</p>'
      : htmlTable(moved, (row) => (row[0] === 'REGRESSED' ? 'regressed' : row[0] === 'improved' ? 'improved' : '')),
  );
  h.push('</section>');
  h.push('<section id="meta"><h2>Runs</h2>', htmlTable(metaPairs(baseline.meta, current.meta)), '</section>');
  const html = htmlPage(`kube-proxy-bench comparison: ${labels.baseline} vs ${labels.current}`, h.join('\n'));

  // Markdown
  const md: string[] = [
    `# kube-proxy-bench comparison: ${labels.baseline} vs ${labels.current}`,
    '',
    `\`${result.baseline}\` → \`${result.current}\``,
    '',
    `**${headline}** ${formatCounts(result)}.`,
    '',
  ];
  for (const w of result.warnings) md.push(`- Warning: ${w}`);
  if (result.warnings.length > 0) md.push('');
  if (moved.body.length > 0) md.push('## Rows that moved', '', renderTable(moved, true), '');
  for (const s of sections) {
    md.push(`## ${s.id}`, '');
    if (s.charts.length > 0)
      md.push(...s.charts.map((ch) => `![${ch.spec.title}](${ch.file.split('/').map(encodeURIComponent).join('/')})`), '');
    for (const [title, t] of s.tables) md.push(`### ${title}`, '', renderTable(t, true), '');
  }
  md.push('## Runs', '', renderTable(metaPairs(baseline.meta, current.meta), true), '');
  return { charts, html, summary: md.join('\n') };
}

/** Reads both runs, builds the report of `result` and writes it as directory `dir` (replaced in one step). */
export function writeCompareReport(dir: string, result: CompareResult, baselinePath: string, currentPath: string): BuiltCompareReport {
  const report = buildCompareReport({ result, baseline: readRun(baselinePath), current: readRun(currentPath) });
  const abs = path.resolve(dir);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}`;
  const old = `${abs}.old-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    fs.mkdirSync(path.join(tmp, CHARTS_DIR), { recursive: true });
    for (const c of report.charts) writeFileAtomic(path.join(tmp, c.file), c.svg);
    writeFileAtomic(path.join(tmp, 'report.html'), report.html);
    writeFileAtomic(path.join(tmp, 'summary.md'), report.summary);
    if (fs.existsSync(abs)) fs.renameSync(abs, old);
    fs.renameSync(tmp, abs);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(abs) && fs.existsSync(old)) fs.renameSync(old, abs);
    throw e;
  }
  fs.rmSync(old, { recursive: true, force: true });
  return report;
}
