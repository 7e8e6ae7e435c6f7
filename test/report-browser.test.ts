/**
 * report.html as a person sees it: opened in a real headless Chromium (Debian's `chromium`), screenshotted, and
 * checked that every chart rendered (an SVG with a real size, drawn paths, and the legend text of every series)
 * with no console error and no network request. The report is built from the fixed run in test/fixtures/report.
 *
 * The checks run inside the browser: a small page beside the report loads it in an iframe (file: access between
 * the two allowed with --allow-file-access-from-files) and writes what it measured into its own DOM, which
 * `--dump-dom` prints. The report itself has no script.
 *
 * Skips with a message where Chromium is missing (or KPBENCH_CHROMIUM names none), but fails then when
 * KPBENCH_REQUIRE_CHROMIUM=1 (CI sets it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkTmp } from './fixtures/tmp.js';
import { reportRunDir } from '../src/report/report.js';

const CHROMIUM = process.env['KPBENCH_CHROMIUM'] ?? '/usr/bin/chromium';
const REQUIRE = process.env['KPBENCH_REQUIRE_CHROMIUM'] === '1';
const tmp = mkTmp(path.join(os.tmpdir(), 'kpbench-browser-'));

function chromium(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const profile = fs.mkdtempSync(path.join(tmp, 'profile-'));
  const r = spawnSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      '--enable-logging=stderr',
      '--v=0',
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 },
  );
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Console messages Chromium logged for our pages (stderr lines "...:CONSOLE(line)] "text", source: file://..."). */
function consoleMessages(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /CONSOLE/.test(l) && /file:\/\//.test(l));
}

const PROBE = `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<iframe id="f" src="report.html" style="width:1400px;height:6000px;border:0"></iframe>
<pre id="out">not run</pre>
<script>
const f = document.getElementById('f');
f.addEventListener('load', () => {
  const d = f.contentDocument;
  const figures = [...d.querySelectorAll('figure.chart')].map((fig) => {
    const svg = fig.querySelector('svg');
    if (svg === null) return { id: fig.dataset.chart, svg: false };
    const box = svg.getBoundingClientRect();
    const bbox = svg.getBBox();
    return {
      id: fig.dataset.chart,
      svg: true,
      series: JSON.parse(fig.dataset.series),
      width: box.width,
      height: box.height,
      drawnWidth: bbox.width,
      drawnHeight: bbox.height,
      paths: svg.querySelectorAll('path').length,
      texts: [...svg.querySelectorAll('text')].map((t) => t.textContent),
    };
  });
  const resources = performance.getEntriesByType('resource').map((e) => e.name).concat(f.contentWindow.performance.getEntriesByType('resource').map((e) => e.name));
  document.getElementById('out').textContent = JSON.stringify({ title: d.title, tables: d.querySelectorAll('table').length, figures, resources });
});
</script></body></html>`;

interface Probe {
  title: string;
  tables: number;
  resources: string[];
  figures: Array<{
    id: string;
    svg: boolean;
    series: string[];
    width: number;
    height: number;
    drawnWidth: number;
    drawnHeight: number;
    paths: number;
    texts: string[];
  }>;
}

test('report.html in headless Chromium: every chart rendered with its series, no console error, a screenshot', (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    const why = `no Chromium at ${CHROMIUM} (install Debian's chromium, or set KPBENCH_CHROMIUM)`;
    if (REQUIRE) assert.fail(`KPBENCH_REQUIRE_CHROMIUM=1 but ${why}`);
    t.skip(why);
    return;
  }
  // a run directory from the fixed run, with its report written as kpbench report writes it
  const run = path.join(tmp, 'run');
  fs.mkdirSync(run);
  for (const f of ['metrics.csv', 'scaling.csv', 'meta.json']) fs.copyFileSync(path.join('test/fixtures/report', f), path.join(run, f));
  const report = reportRunDir(run);
  assert.ok(report.charts.length >= 10);
  fs.writeFileSync(path.join(run, 'probe.html'), PROBE);

  const dump = chromium([
    '--allow-file-access-from-files',
    '--virtual-time-budget=10000',
    '--dump-dom',
    `file://${path.join(run, 'probe.html')}`,
  ]);
  assert.equal(dump.status, 0, dump.stderr.slice(-2000));
  const m = /<pre id="out">([\s\S]*?)<\/pre>/.exec(dump.stdout);
  assert.ok(m !== null, 'the probe page was dumped');
  const text = m[1]!
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  assert.notEqual(text, 'not run', 'the probe ran after the report loaded');
  const probe = JSON.parse(text) as Probe;
  assert.equal(probe.title, 'kube-proxy-bench run');
  assert.ok(probe.tables >= 3);
  assert.deepEqual(
    probe.resources.filter((r) => r !== `file://${path.join(run, 'report.html')}`),
    [],
    'the report loads nothing else',
  );
  assert.deepEqual(
    probe.figures.map((f) => f.id),
    report.charts.map((c) => c.spec.id),
  );
  for (const f of probe.figures) {
    assert.ok(f.svg, `${f.id}: an SVG`);
    assert.ok(f.width > 300 && f.height > 150, `${f.id}: laid out at ${f.width}x${f.height}`);
    assert.ok(f.drawnWidth > 300 && f.drawnHeight > 150, `${f.id}: drawn ${f.drawnWidth}x${f.drawnHeight}`);
    assert.ok(f.paths >= 5, `${f.id}: ${f.paths} paths`);
    for (const s of f.series) assert.ok(f.texts.includes(s), `${f.id}: legend entry "${s}"`);
  }
  // the published marker and the kernel series of the sync-time chart are there for a person to see
  const sync = probe.figures.find((f) => f.id === 'scaling--sync_time')!;
  assert.deepEqual(sync.series, [
    'iptables (exponent 1.00)',
    'ipvs (exponent 0.00)',
    'nftables (exponent 0.05)',
    'iptables (kernel)',
    'published figures',
  ]);
  assert.ok(sync.texts.includes('Huawei, KubeCon EU 2017: 11 min (iptables)'));
  assert.deepEqual(consoleMessages(dump.stderr), []);

  // the screenshot a person looks at
  const png = path.join(process.env['KPBENCH_SCREENSHOT_DIR'] ?? tmp, 'report.png');
  const shot = chromium(['--window-size=1400,5000', `--screenshot=${png}`, `file://${path.join(run, 'report.html')}`]);
  assert.equal(shot.status, 0, shot.stderr.slice(-2000));
  const buf = fs.readFileSync(png);
  assert.equal(buf.subarray(1, 4).toString('latin1'), 'PNG');
  assert.equal(buf.readUInt32BE(16), 1400);
  assert.ok(buf.length > 100_000, `a screenshot with content (${buf.length} bytes)`);
  assert.deepEqual(consoleMessages(shot.stderr), []);
  t.diagnostic(`screenshot: ${png}`);
});
