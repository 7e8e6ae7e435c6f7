/**
 * The comparison report (`kpbench compare BASE CUR --report DIR`): two runs from the fixed run of
 * test/fixtures/report, the current one with iptables' modelled sync time 1.8x higher at 10,000 services.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { CLI } from './fixtures/cli.js';
import { mkTmp } from './fixtures/tmp.js';
import { formatMetricsCsv, readMetricsCsv, type MetricRow } from '../src/report/csvio.js';
import { compareRuns } from '../src/report/compare.js';
import { buildCompareReport } from '../src/report/compare-report.js';
import { readRun } from '../src/report/csvio.js';
import { PALETTE } from '../src/report/charts/palette.js';

const tmp = mkTmp(path.join(os.tmpdir(), 'kpbench-cmp-report-'));
const base = path.join(tmp, 'base');
const cur = path.join(tmp, 'cur');
const rows = readMetricsCsv('test/fixtures/report/metrics.csv');
const worse = (r: MetricRow): MetricRow =>
  r.backend === 'iptables' && r.services === 10000 && r.metric === 'sync_time' && r.statistic === 'mean' ? { ...r, value: 2.304 } : r;
for (const [dir, rs] of [
  [base, rows],
  [cur, rows.map(worse)],
] as const) {
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'metrics.csv'), formatMetricsCsv(rs));
  fs.copyFileSync('test/fixtures/report/meta.json', path.join(dir, 'meta.json'));
}

test('comparison chart: baseline dashed, current solid, one colour per backend, the regressed point ringed', () => {
  const result = compareRuns(base, cur);
  assert.equal(result.counts.regressed, 1);
  const report = buildCompareReport({ result, baseline: readRun(base), current: readRun(cur) });
  const sync = report.charts.find((c) => c.spec.id === 'scaling--sync_time')!.spec;
  assert.equal(sync.title, 'scaling: Sync time (modelled), baseline vs current');
  assert.deepEqual(
    sync.series.map((s) => [s.name, s.role, s.dashed ?? false, s.color]),
    [
      ['iptables (baseline, exponent 1.00)', 'backend', true, PALETTE[0]],
      ['iptables (current, exponent 1.13)', 'backend', false, PALETTE[0]],
      ['ipvs (baseline, exponent 0.00)', 'backend', true, PALETTE[1]],
      ['ipvs (current, exponent 0.00)', 'backend', false, PALETTE[1]],
      ['nftables (baseline, exponent 0.05)', 'backend', true, PALETTE[2]],
      ['nftables (current, exponent 0.05)', 'backend', false, PALETTE[2]],
      ['regressed', 'regression', false, '#b3261e'],
    ],
  );
  assert.deepEqual(sync.series.at(-1)!.points, [{ x: 10000, y: 2.304, label: 'regressed' }]);
  assert.equal(sync.x.log, true);
  assert.equal(sync.y.log, true);
  // the per-metric table and the moved rows show the regression, highlighted
  assert.match(
    report.html,
    /<tr class="regressed"><td>iptables<\/td><td class="num">10,000<\/td><td class="num">1\.28 s<\/td><td class="num">2\.304 s<\/td><td class="num">\+80\.00%<\/td><td>REGRESSED<\/td><\/tr>/,
  );
  assert.match(report.html, /<div class="banner bad">1 row fail the comparison \(1 regressed\)\.<\/div>/);
  assert.match(report.summary, /\| REGRESSED \| scaling \| iptables \| 10000 \| sync_time \| mean \| 1\.28 s \| 2\.304 s \| \+80\.00% \|/);
  assert.match(report.summary, /!\[scaling: Sync time \(modelled\), baseline vs current\]\(charts\/scaling--sync_time\.svg\)/);
});

test('kpbench compare --report DIR writes the report and still exits 1 on the regression', async () => {
  const out = path.join(tmp, 'cmp');
  const code = await new Promise<number>((resolve) => {
    execFile(process.execPath, [...CLI, 'compare', base, cur, '--report', out], (err) =>
      resolve(err === null ? 0 : typeof err.code === 'number' ? err.code : 99),
    );
  });
  assert.equal(code, 1);
  assert.deepEqual(fs.readdirSync(out).sort(), ['charts', 'report.html', 'summary.md']);
  assert.ok(fs.readdirSync(path.join(out, 'charts')).includes('scaling--sync_time.svg'));
  assert.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.includes('.tmp-') || f.includes('.old-')),
    [],
  );
});
