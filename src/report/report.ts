/**
 * The report of a run: `charts/*.svg` (one file per chart, each readable alone), `report.html` (self-contained:
 * charts inline, verdicts, tables, metadata) and `summary.md` (the same words, the SVGs linked relatively so
 * the run directory reads on GitHub). Built from what a run directory holds (rows, fits, meta.json with the
 * scenarios' published figures and expectations), so `kpbench run`, `kpbench merge` and `kpbench report` make
 * the same report from the same data.
 *
 * Writing: into a directory being staged by the caller (kpbench run), or, for an existing run directory
 * (`reportRunDir`), into a staged copy that then replaces the directory in one step (csvio.installRunDir), so
 * a run directory never holds a report of other numbers than its metrics.csv.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { MetricRow, ScalingRow } from '../types.js';
import { installRunDir, readRun, readScalingCsv, RUN_FILES, writeFileAtomic, type RunMeta } from './csvio.js';
import { computeScaling } from '../metrics/scaling.js';
import { runCharts, type ChartSpec } from './charts/specs.js';
import { renderChartSvg } from './charts/echarts.js';
import { scenarioFamily } from './columns.js';
import { esc, htmlFigure, htmlMeta, htmlPage, htmlTable } from './html.js';
import { checkExpectations, resolveScenarioInfos, type ScenarioInfo } from './scenarios.js';
import {
  hopTableData,
  referenceTableData,
  scenarioTableData,
  summaryMarkdown,
  verdicts,
  type ChartLink,
  type CheckResult,
} from './summary.js';

/** Everything a run's report is made from. */
export interface ReportInput {
  rows: readonly MetricRow[];
  scaling: readonly ScalingRow[];
  meta: RunMeta | null;
  scenarios: readonly ScenarioInfo[];
  checks: readonly CheckResult[];
  /** Paragraphs (Markdown-free text) shown under the title, e.g. how a merged run was merged. */
  notes?: readonly string[];
}

/** A rendered chart. */
export interface RenderedChart {
  spec: ChartSpec;
  /** Path relative to the run directory: charts/<id>.svg. */
  file: string;
  svg: string;
  /** The scenario id whose section shows it (a grouped chart: the last id of its scenario file). */
  section: string;
}

export interface BuiltReport {
  charts: RenderedChart[];
  html: string;
  summary: string;
}

export const CHARTS_DIR = 'charts';

/** The legend names of a chart's series. */
export function seriesNames(spec: ChartSpec): string[] {
  return spec.series.map((s) => s.name);
}

/** The scenario ids of a report in order: the scenarios' order, then any other id of the rows. */
export function reportIds(input: Pick<ReportInput, 'rows' | 'scenarios'>): string[] {
  const withRows = new Set(input.rows.map((r) => r.scenario));
  const ids = input.scenarios.map((s) => s.id).filter((id) => withRows.has(id));
  for (const id of [...withRows].sort()) if (!ids.includes(id)) ids.push(id);
  return ids;
}

/** Renders every chart of a run. */
export function renderCharts(input: Pick<ReportInput, 'rows' | 'scaling' | 'scenarios'>): RenderedChart[] {
  const ids = reportIds(input);
  const specs = runCharts(
    input.rows,
    input.scaling,
    input.scenarios.filter((s) => ids.includes(s.id)),
  );
  return specs.map((spec) => {
    const section =
      spec.type === 'scaling' ? spec.scenario : ([...ids].reverse().find((id) => scenarioFamily(id) === spec.scenario) ?? spec.scenario);
    return { spec, file: `${CHARTS_DIR}/${spec.id}.svg`, svg: renderChartSvg(spec), section };
  });
}

function checksHtml(checks: readonly CheckResult[]): string {
  if (checks.length === 0) return '';
  return `<ul class="checks">${checks
    .map((c) => {
      const range = `${c.min ?? '-∞'} ≤ exponent ≤ ${c.max ?? '∞'}`;
      return `<li><span class="${c.ok ? 'pass' : 'fail'}">${c.ok ? 'PASS' : 'FAIL'}</span> ${esc(`${c.backend} ${c.metric}: exponent ${c.exponent === null ? 'n/a' : c.exponent.toFixed(3)} (${range})`)}</li>`;
    })
    .join('')}</ul>`;
}

const KINDS_HTML = `<p class="muted">Four kinds of number, never mixed: <b>counted</b> work (rules written, rules walked, operations; exact for
the seed), <b>modelled</b> time (counted work through the cost model each backend declares, <code>src/backends/*/definition.ts</code>; exact for the seed),
<b>measured</b> wall-clock time of the harness's own code (<code>wall_*</code>; noisy) and <b>kernel</b> measurements on a real
kernel where a run has them (noisy). Charts plot value against the number of services on log-log axes: a slope of 1
is linear growth, 0 is flat; the legend gives each backend's fitted exponent (<code>scaling.csv</code>).</p>`;

/** report.html of a run. */
export function runReportHtml(input: ReportInput, charts: readonly RenderedChart[]): string {
  const ids = reportIds(input);
  const failed = input.checks.filter((c) => !c.ok);
  const parts: string[] = [];
  parts.push('<h1>kube-proxy-bench run</h1>');
  const m = input.meta;
  parts.push(
    `<p class="lead">${esc(m === null ? 'A run without meta.json.' : `Seed ${String(m.seed)}${m.quick ? ', quick suite' : ''}, ${m.date}${m.gitCommit ? `, commit ${m.gitCommit.slice(0, 12)}` : ''}.`)}</p>`,
  );
  for (const n of input.notes ?? []) parts.push(`<p class="muted">${esc(n)}</p>`);
  if (input.checks.length > 0) {
    parts.push(
      failed.length === 0
        ? `<div class="banner good">All ${input.checks.length} scaling checks passed.</div>`
        : `<div class="banner bad">${failed.length} of ${input.checks.length} scaling checks failed.</div>`,
    );
  }
  parts.push(KINDS_HTML);
  parts.push(
    `<nav><h3>Scenarios</h3><ul>${ids.map((id) => `<li><a href="#s-${esc(id)}">${esc(id)}</a></li>`).join('')}<li><a href="#meta">Run metadata</a></li></ul></nav>`,
  );
  for (const id of ids) {
    const info = input.scenarios.find((s) => s.id === id);
    parts.push(`<section id="s-${esc(id)}"><h2>${esc(id)}</h2>`);
    if (info?.description) parts.push(`<p>${esc(info.description.trim())}</p>`);
    const mine = charts.filter((c) => c.section === id);
    if (mine.length > 0)
      parts.push(
        `<div class="charts">${mine.map((c) => htmlFigure({ id: c.spec.id, file: c.file, title: c.spec.title, svg: c.svg, series: seriesNames(c.spec) })).join('\n')}</div>`,
      );
    const v = verdicts(id, input.scaling, input.rows);
    if (v.length > 0)
      parts.push(
        `<h3>Verdicts</h3><ul class="verdicts">${v.map((x) => `<li><b>${esc(x.backend)}</b><ul>${x.parts.map((p) => `<li>${esc(p)}</li>`).join('')}</ul></li>`).join('')}</ul>`,
      );
    parts.push('<h3>Per size</h3>', htmlTable(scenarioTableData(id, input.rows)));
    const hops = hopTableData(id, input.rows);
    if (hops !== null) parts.push('<h3>Per ingress hop</h3>', htmlTable(hops));
    const ref = info === undefined ? null : referenceTableData(id, info.references, input.rows);
    if (ref !== null) parts.push('<h3>Published figures beside this run</h3>', htmlTable(ref));
    const checks = input.checks.filter((c) => c.scenario === id);
    if (checks.length > 0) parts.push('<h3>Scaling checks</h3>', checksHtml(checks));
    parts.push('</section>');
  }
  parts.push('<section id="meta"><h2>Run metadata</h2>', htmlMeta(input.meta), '</section>');
  parts.push(
    `<p class="muted">Files of this run: <code>metrics.csv</code> (one measurement a row), <code>scaling.csv</code> (fitted exponents), <code>summary.md</code>, <code>samples.json</code>, <code>meta.json</code>, <code>benchmark.json</code>, <code>${CHARTS_DIR}/*.svg</code>.</p>`,
  );
  return htmlPage('kube-proxy-bench run', parts.join('\n'));
}

/** Builds a run's report in memory. */
export function buildRunReport(input: ReportInput): BuiltReport {
  const charts = renderCharts(input);
  const links: ChartLink[] = charts.map((c) => ({ scenario: c.section, file: c.file, title: c.spec.title }));
  const m = input.meta;
  let summary = summaryMarkdown(
    input.scenarios,
    input.rows,
    input.scaling,
    input.checks,
    { seed: m?.seed ?? 'unknown', date: m?.date ?? 'unknown date', quick: m?.quick ?? false, gitCommit: m?.gitCommit ?? null },
    links,
  );
  if (input.notes !== undefined && input.notes.length > 0) {
    const nl = summary.indexOf('\n\n');
    const account = `${input.notes.join('\n\n')}\n`;
    summary = nl < 0 ? `${summary}\n\n${account}` : `${summary.slice(0, nl + 2)}${account}\n${summary.slice(nl + 2)}`;
  }
  return { charts, html: runReportHtml(input, charts), summary };
}

/** Writes a built report into directory `dir`: charts/ (replaced whole), report.html, summary.md. */
export function writeReport(dir: string, report: BuiltReport): void {
  const chartsDir = path.join(dir, CHARTS_DIR);
  fs.rmSync(chartsDir, { recursive: true, force: true });
  fs.mkdirSync(chartsDir, { recursive: true });
  for (const c of report.charts) writeFileAtomic(path.join(dir, c.file), c.svg);
  writeFileAtomic(path.join(dir, RUN_FILES.summary), report.summary);
  writeFileAtomic(path.join(dir, RUN_FILES.report), report.html);
}

/** The report input of an existing run directory (a merged one too): rows, fits (recomputed when absent), meta, scenarios, checks. */
export function reportInputOf(dir: string): ReportInput {
  const run = readRun(dir);
  const scalingFile = path.join(dir, RUN_FILES.scaling);
  const scaling = fs.existsSync(scalingFile) ? readScalingCsv(scalingFile) : computeScaling(run.rows);
  const ids = [...new Set(run.rows.map((r) => r.scenario))];
  const scenarios = resolveScenarioInfos(run.meta, ids, path.join(dir, RUN_FILES.meta));
  const shards = run.meta?.shards;
  const notes: string[] = [];
  if (shards !== undefined)
    notes.push(
      `Merged by kpbench merge from ${shards.length} shard run${shards.length === 1 ? '' : 's'} (${shards.map((s) => s.shard ?? 'whole').join(', ')}).`,
    );
  return { rows: run.rows, scaling, meta: run.meta, scenarios, checks: checkExpectations(scenarios, scaling), notes };
}

/**
 * (Re)writes the report of an existing run directory: the run's files are copied into a staging directory, the
 * report written there, and the staged directory installed in place of `dir` in one step. Returns the report.
 */
export function reportRunDir(dir: string): BuiltReport {
  const input = reportInputOf(dir);
  const report = buildRunReport(input);
  const staging = fs.mkdtempSync(path.join(path.dirname(path.resolve(dir)), `.${path.basename(path.resolve(dir))}.report-`));
  try {
    for (const name of Object.values(RUN_FILES)) {
      const src = path.join(dir, name);
      if (fs.existsSync(src) && fs.statSync(src).isFile()) fs.copyFileSync(src, path.join(staging, name));
    }
    writeReport(staging, report);
    installRunDir(staging, dir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return report;
}
