/**
 * report.html: one self-contained page per run (or per comparison of two runs) that opens with no network:
 * the charts as inline SVG, CSS in a <style> element, no script, no web font, no external image. It carries
 * the charts, the verdicts, the tables (with their notes) and the run's metadata, and links the chart files
 * beside it (charts/*.svg) for slides.
 */
import type { RunMeta } from './csvio.js';
import type { TextTable } from './summary.js';
import { noteMark } from './summary.js';

/** Text for HTML element content and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** An SVG document made fit to inline: no XML declaration, ids prefixed so several charts on a page do not collide. */
export function inlineSvg(svg: string, prefix: string): string {
  const body = svg.replace(/^<\?xml[^>]*\?>\s*/, '');
  const p = prefix.replace(/[^A-Za-z0-9_-]/g, '_');
  return body.replace(/(\bid="|url\(#|href="#)/g, `$1${p}-`).replace(/^<svg /, '<svg role="img" ');
}

export const CSS = `
:root { --fg: #1d1d1f; --muted: #5a5a5f; --line: #d9d9de; --bg: #ffffff; --band: #f5f6f8; --bad: #b3261e; --good: #1a7f37; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 16px/1.5 "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; }
main { max-width: 1500px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 30px; margin: 8px 0 4px; }
h2 { font-size: 24px; margin: 40px 0 8px; padding-top: 12px; border-top: 2px solid var(--line); }
h3 { font-size: 18px; margin: 24px 0 8px; }
p.lead, p.muted, .muted { color: var(--muted); }
nav ul { columns: 2; padding-left: 20px; }
ul.verdicts li { margin: 4px 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(620px, 1fr)); gap: 20px; margin: 16px 0; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff; }
figure.chart svg { display: block; width: 100%; height: auto; }
figure.chart figcaption { font-size: 13px; color: var(--muted); padding: 4px 8px; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.regressed td { background: #fdecea; }
tr.improved td { background: #e9f6ec; }
td.verdict-regressed, span.regressed { color: var(--bad); font-weight: 700; }
td.verdict-improved, span.improved { color: var(--good); font-weight: 700; }
td.verdict-missing, td.verdict-new, td.verdict-changed { color: var(--warn); font-weight: 600; }
.notes { font-size: 13.5px; color: var(--muted); margin: 4px 0 16px; padding-left: 0; list-style: none; }
.pass { color: var(--good); font-weight: 700; }
.fail { color: var(--bad); font-weight: 700; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 14px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 13px; word-break: break-all; }
.banner { padding: 10px 14px; border-radius: 6px; margin: 12px 0; font-weight: 600; }
.banner.bad { background: #fdecea; color: var(--bad); }
.banner.good { background: #e9f6ec; color: var(--good); }
code { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 0.92em; }
`;

/** A table (with its notes) as HTML. */
export function htmlTable(t: TextTable, rowClass?: (row: string[], i: number) => string): string {
  const th = t.header.map((h, i) => `<th${t.numeric[i] ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const body = t.body
    .map((r, i) => {
      const cls = rowClass?.(r, i) ?? '';
      return `<tr${cls ? ` class="${esc(cls)}"` : ''}>${r.map((c, j) => `<td${t.numeric[j] ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  const items = [...t.notes.map((n, i) => `<li>${noteMark(i)} ${esc(n)}</li>`), ...(t.remarks ?? []).map((r) => `<li>${esc(r)}</li>`)];
  const notes = items.length === 0 ? '' : `<ul class="notes">${items.join('')}</ul>`;
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>${notes}`;
}

/** A chart figure: the SVG inline, a caption linking the file. */
export function htmlFigure(chart: { id: string; file: string; title: string; svg: string; series: string[] }): string {
  return `<figure class="chart" id="chart-${esc(chart.id)}" data-chart="${esc(chart.id)}" data-series="${esc(JSON.stringify(chart.series))}">
${inlineSvg(chart.svg, chart.id)}
<figcaption>${esc(chart.title)} · <a href="${esc(chart.file)}">${esc(chart.file)}</a></figcaption>
</figure>`;
}

/** The run's metadata as a definition list. */
export function htmlMeta(meta: RunMeta | null, extra: Array<[string, string]> = []): string {
  if (meta === null) return '<p class="muted">This run has no meta.json.</p>';
  const items: Array<[string, string]> = [
    ['seed', String(meta.seed)],
    ['suite', meta.quick ? 'quick' : 'full'],
    ['date', meta.date],
    ['git commit', meta.gitCommit ?? 'unknown'],
    ['Node.js', meta.node],
    ['CPU', `${meta.cpu} × ${meta.cpus}`],
    ['platform', meta.platform],
    ['arguments', meta.argv.join(' ') || '(none)'],
    ['scenarios', meta.scenarios.join(', ')],
  ];
  if (meta.shard !== null) items.push(['shard', meta.shard]);
  if (meta.shards !== undefined)
    items.push(['merged from', `${meta.shards.length} shard runs (${meta.shards.map((s) => s.shard ?? 'whole').join(', ')})`]);
  items.push(...extra);
  return `<dl class="meta">${items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
}

/** A whole page around `body`. */
export function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
