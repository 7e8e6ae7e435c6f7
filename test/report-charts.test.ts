/**
 * Chart specs from a small fixed run (test/fixtures/report: three backends, one of them a name the harness does
 * not know, kernel rows of both kinds, published figures in meta.json, a second scenario swept over
 * requestsPerConnection), and the ECharts options and SVG drawn from them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readMeta, readMetricsCsv, readScalingCsv } from '../src/report/csvio.js';
import { runCharts, type GroupedChartSpec, type ScalingChartSpec } from '../src/report/charts/specs.js';
import { chartOption, renderChartSvg } from '../src/report/charts/echarts.js';
import { backendColors, PALETTE } from '../src/report/charts/palette.js';
import { metaScenarioInfos } from '../src/report/scenarios.js';
import { formatSeconds, formatTick, unitFactor } from '../src/report/charts/units.js';

const FIX = 'test/fixtures/report';
const rows = readMetricsCsv(`${FIX}/metrics.csv`);
const scaling = readScalingCsv(`${FIX}/scaling.csv`);
const infos = metaScenarioInfos(readMeta(`${FIX}/meta.json`))!;
const charts = runCharts(rows, scaling, infos);
const chart = (id: string): ScalingChartSpec => {
  const c = charts.find((x) => x.id === id);
  assert.ok(c !== undefined && c.type === 'scaling', id);
  return c as ScalingChartSpec;
};

test('one chart per scenario and headline metric, published and kernel metrics added, grouped charts for the swept field', () => {
  assert.deepEqual(
    charts.map((c) => c.id),
    [
      'scaling--sync_rules_written',
      'scaling--sync_time',
      'scaling--first_packet_rules_evaluated',
      'scaling--first_packet_time',
      'scaling--network_programming_latency',
      'scaling--failed_requests',
      'scaling--sync_cpu_seconds_per_node_hour',
      'scaling--kernel_ruleset_load_time',
      'tigera-2019_requestsPerConnection_1--first_packet_rules_evaluated',
      'tigera-2019_requestsPerConnection_1--failed_requests',
      'tigera-2019_requestsPerConnection_1--first_packet_cpu_fraction',
      'tigera-2019_requestsPerConnection_100--first_packet_rules_evaluated',
      'tigera-2019_requestsPerConnection_100--failed_requests',
      'tigera-2019_requestsPerConnection_100--first_packet_cpu_fraction',
      'tigera-2019--by-requestsPerConnection--first_packet_rules_evaluated',
      'tigera-2019--by-requestsPerConnection--failed_requests',
      'tigera-2019--by-requestsPerConnection--request_classification_time',
    ],
  );
});

test('scaling chart: log-log, one line per backend with its exponent, kernel points, published markers in the metric unit', () => {
  const c = chart('scaling--sync_time');
  assert.equal(c.x.log, true);
  assert.equal(c.y.log, true);
  assert.equal(c.title, 'scaling: Sync time (modelled)');
  assert.equal(c.x.name, 'services (log scale)');
  assert.equal(c.statistic, 'mean');
  assert.equal(c.bars, 'mean to p99');
  assert.deepEqual(
    c.series.map((s) => [s.name, s.role, s.color]),
    [
      ['iptables (exponent 1.00)', 'backend', PALETTE[0]],
      ['ipvs (exponent 0.00)', 'backend', PALETTE[1]],
      ['nftables (exponent 0.05)', 'backend', PALETTE[2]],
      ['iptables (kernel)', 'kernel', PALETTE[0]],
      ['published figures', 'reference', '#333333'],
    ],
  );
  assert.deepEqual(c.series[0]!.points, [
    { x: 100, y: 0.0128, low: 0.0128, high: 0.02 },
    { x: 1000, y: 0.128, low: 0.128, high: 0.2 },
    { x: 10000, y: 1.28, low: 1.28, high: 2 },
  ]);
  assert.equal(c.series[0]!.exponent, 1);
  // kernel_sync_time: p50 with min/max bars
  assert.deepEqual(c.series[3]!.points, [
    { x: 1000, y: 0.07, low: 0.06, high: 0.09 },
    { x: 10000, y: 0.72, low: 0.65, high: 0.8 },
  ]);
  // Huawei's 11 minutes at 5,000 services, in seconds; a figure without a size is not placed
  assert.deepEqual(c.series[4]!.points, [{ x: 5000, y: 660, label: 'Huawei, KubeCon EU 2017: 11 min (iptables)' }]);
  assert.deepEqual(
    c.unplaced.map((r) => r.source),
    ['nowhere'],
  );
});

test('kernel rows: a kind=kernel row joins its metric chart; a kernel_ metric with no modelled twin gets its own chart', () => {
  const fp = chart('scaling--first_packet_time');
  assert.deepEqual(
    fp.series.map((s) => s.name),
    ['iptables (exponent 1.00)', 'ipvs (exponent 0.00)', 'nftables (exponent 0.05)', 'nftables (kernel)'],
  );
  assert.deepEqual(fp.series[3]!.points, [{ x: 1000, y: 0.000049 }]);
  const own = chart('scaling--kernel_ruleset_load_time');
  assert.deepEqual(
    own.series.map((s) => [s.name, s.role]),
    [['nftables (kernel)', 'kernel']],
  );
  assert.equal(own.title, 'scaling: Ruleset load time (real kernel)');
});

test('published marker for a counted metric; zeros make the value axis linear; a metric that is 0 at some sizes has no exponent', () => {
  const fpr = chart('scaling--first_packet_rules_evaluated');
  assert.deepEqual(fpr.series.at(-1)!.points, [{ x: 10000, y: 20000, label: 'Tigera 2019: 20,000 rules (iptables)' }]);
  const failed = chart('scaling--failed_requests');
  assert.equal(failed.y.log, false);
  assert.match(failed.subtitle, /linear value axis: some values are 0/);
  assert.deepEqual(
    failed.series.map((s) => s.name),
    ['iptables', 'ipvs (exponent 0.00)', 'nftables (exponent 0.00)'],
  );
  // network programming latency: p50 line, bars to p99; lines and bars span 0.3 s to 1.44 s (x4.8): log axis
  const npl = chart('scaling--network_programming_latency');
  assert.equal(npl.statistic, 'p50');
  assert.equal(npl.bars, 'p50 to p99');
  assert.equal(npl.y.log, true);
  // values within x4: a linear axis from 0 (ticks a reader can read; a flat metric looks flat)
  const narrow = runCharts(
    rows.filter((r) => r.metric === 'sync_rules_written' && r.backend !== 'iptables'),
    scaling,
    infos,
  );
  assert.equal(narrow.length, 1);
  assert.equal((narrow[0] as ScalingChartSpec).y.log, false);
  assert.match((narrow[0] as ScalingChartSpec).subtitle, /linear value axis: values within ×4/);
});

test('grouped chart: bars per size, one per backend and sweep point; tints of the backend colour', () => {
  const g = charts.find((c) => c.id === 'tigera-2019--by-requestsPerConnection--request_classification_time') as GroupedChartSpec;
  assert.equal(g.type, 'grouped');
  assert.deepEqual(g.fields, ['requestsPerConnection']);
  assert.deepEqual(g.categories, [100, 1000]);
  assert.deepEqual(
    g.series.map((s) => [s.name, s.values]),
    [
      ['iptables, requestsPerConnection=1', [2.07e-7, 2.07e-6]],
      ['iptables, requestsPerConnection=100', [2.07e-9, 2.07e-8]],
      ['ipvs, requestsPerConnection=1', [2.07e-7, 2.07e-7]],
      ['ipvs, requestsPerConnection=100', [2.07e-9, 2.07e-9]],
    ],
  );
  assert.equal(g.y.log, true);
  assert.equal(g.series[0]!.color, PALETTE[0]!.toLowerCase());
  assert.notEqual(g.series[1]!.color, g.series[0]!.color);
  // first_packet_cpu_fraction does not change with keep-alive here: no grouped chart of it
  assert.ok(!charts.some((c) => c.id === 'tigera-2019--by-requestsPerConnection--first_packet_cpu_fraction'));
});

test('colours: by backend name from the ordered palette, whatever the backends are called', () => {
  const m = backendColors(['zz-new', 'ebpf', 'iptables', 'ebpf']);
  assert.deepEqual(
    [...m.entries()],
    [
      ['ebpf', PALETTE[0]],
      ['iptables', PALETTE[1]],
      ['zz-new', PALETTE[2]],
    ],
  );
});

test('ECharts option: log axes, legend = series names, error bars as a custom series, markers labelled', () => {
  const o = chartOption(chart('scaling--sync_time')) as {
    xAxis: { type: string; logBase: number };
    yAxis: { type: string };
    legend: { data: string[] };
    series: Array<{ type: string; name: string; data: unknown[] }>;
  };
  assert.equal(o.xAxis.type, 'log');
  assert.equal(o.xAxis.logBase, 10);
  assert.equal(o.yAxis.type, 'log');
  assert.deepEqual(o.legend.data, [
    'iptables (exponent 1.00)',
    'ipvs (exponent 0.00)',
    'nftables (exponent 0.05)',
    'iptables (kernel)',
    'published figures',
  ]);
  assert.deepEqual(
    o.series.map((s) => `${s.type}:${s.name}`),
    [
      'line:iptables (exponent 1.00)',
      'custom:iptables (exponent 1.00)',
      'line:ipvs (exponent 0.00)',
      'custom:ipvs (exponent 0.00)',
      'line:nftables (exponent 0.05)',
      'custom:nftables (exponent 0.05)',
      'scatter:iptables (kernel)',
      'custom:iptables (kernel)',
      'scatter:published figures',
    ],
  );
  assert.deepEqual(o.series.at(-1)!.data, [{ value: [5000, 660], name: 'Huawei, KubeCon EU 2017: 11 min (iptables)' }]);
});

test('SVG: a standalone document with the title, axis names and every legend entry', () => {
  const svg = renderChartSvg(chart('scaling--sync_time'));
  assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg /);
  for (const text of [
    'scaling: Sync time (modelled)',
    'services (log scale)',
    'sync time, log scale',
    'iptables (exponent 1.00)',
    'ipvs (exponent 0.00)',
    'nftables (exponent 0.05)',
    'iptables (kernel)',
    'published figures',
    'Huawei, KubeCon EU 2017: 11 min (iptables)',
  ]) {
    assert.ok(svg.includes(`>${text}</text>`), text);
  }
  assert.ok(svg.includes('>1 s</text>') && svg.includes('>100 ms</text>'), 'time ticks in readable units');
});

test('units: time conversions and ticks', () => {
  assert.equal(unitFactor('min', 's'), 60);
  assert.equal(unitFactor('s', 'ms'), 1000);
  assert.equal(unitFactor('rules', 's'), null);
  assert.equal(formatSeconds(660), '11 min');
  assert.equal(formatSeconds(18000), '5 h');
  assert.equal(formatSeconds(2.07e-7), '207 ns');
  assert.equal(formatTick(1000, 's'), '1,000 s');
  assert.equal(formatTick(0.01, 's'), '10 ms');
  assert.equal(formatTick(20000, 'rules'), '20,000');
});
