/** Words that match the numbers: verdicts, the published-figures table, notes on surprising rows, per-hop table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricRow } from '../src/types.js';
import {
  failedRequestsNote,
  hopTableData,
  referenceTableData,
  renderTable,
  scenarioTableData,
  shapeWords,
  verdictLines,
} from '../src/report/summary.js';
import { formatPairInOneUnit } from '../src/report/charts/units.js';

function row(
  backend: string,
  services: number,
  metric: string,
  statistic: MetricRow['statistic'],
  value: number,
  unit: string,
  scenario = 's',
): MetricRow {
  return { scenario, backend, services, endpoints_per_service: 1, metric, statistic, value, unit };
}

test('shape words: flat only when the exponent is small and the values stay within x1.3', () => {
  assert.equal(shapeWords(0.0, 1.0), 'stays flat');
  assert.equal(shapeWords(0.05, 1.2), 'stays flat');
  // huawei-2017's IPVS sync time over 1 to 20,000 services: a small exponent, a several-fold growth
  assert.equal(shapeWords(0.19, 9.6), 'grows slowly');
  assert.equal(shapeWords(0.15, 1.25), 'stays nearly flat');
  assert.equal(shapeWords(0.45, 20), 'grows sub-linearly');
  assert.equal(shapeWords(0.94, 140), 'grows ~linearly');
  assert.equal(shapeWords(1.6, 1e4), 'grows faster than linearly');
  assert.equal(shapeWords(-0.5, 3), 'shrinks');
});

test('verdict: values at both ends and their max/min ratio beside the exponent', () => {
  const rows = [
    row('ipvs', 100, 'sync_time', 'mean', 0.035, 's'),
    row('ipvs', 5000, 'sync_time', 'mean', 0.12, 's'),
    row('ipvs', 20000, 'sync_time', 'mean', 0.335, 's'),
  ];
  const scaling = [{ scenario: 's', backend: 'ipvs', metric: 'sync_time', exponent: 0.19, r2: 0.93 }];
  assert.deepEqual(verdictLines('s', scaling, rows), [
    'ipvs: modelled sync time grows slowly: 35 ms at 100 → 335 ms at 20,000 services (max/min ×9.6, exponent 0.19, r² 0.93).',
  ]);
});

test('published figures: both values in one unit, with their ratio; unplaceable figures say why', () => {
  const rows = [
    row('iptables', 5000, 'sync_time', 'mean', 1.2, 's'),
    row('iptables', 10000, 'first_packet_rules_evaluated', 'mean', 5055, 'rules'),
  ];
  const t = referenceTableData(
    's',
    [
      {
        source: 'Huawei',
        label: 'add one rule, 5,000 services',
        backend: 'iptables',
        services: 5000,
        metric: 'sync_time',
        value: 11,
        unit: 'min',
      },
      {
        source: 'Tigera',
        label: 'rules walked',
        backend: 'iptables',
        services: 10000,
        metric: 'first_packet_rules_evaluated',
        value: 20000,
        unit: 'rules',
      },
      { source: 'Huawei', label: 'at 20,000', backend: 'iptables', services: 20000, metric: 'sync_time', value: 5, unit: 'h' },
      { source: 'here', label: 'no metric', value: 0.72, unit: 's' },
    ],
    rows,
  )!;
  assert.deepEqual(t.header, ['source', 'published', 'value', 'this run', 'ratio', 'why outside 0.33–3']);
  assert.deepEqual(t.body, [
    [
      'Huawei',
      'add one rule, 5,000 services',
      '660 s (11 min)',
      '1.2 s (sync_time mean)',
      '×0.0018',
      'no reason stated (add a note to the reference)',
    ],
    [
      'Tigera',
      'rules walked',
      '20,000 rules',
      '5,055 rules (first_packet_rules_evaluated mean)',
      '×0.25',
      'no reason stated (add a note to the reference)',
    ],
    ['Huawei', 'at 20,000', '5 h', 'not run at 20,000 services (sizes 5,000)', '', ''],
    ['here', 'no metric', '720 ms', 'no matching metric', '', ''],
  ]);
  assert.deepEqual(formatPairInOneUnit(0.0128, 2e-4, 's'), ['12.8 ms', '0.2 ms']);
});

test('failed requests at 1 service: the note explains them from the run counters, and the cell points at it', () => {
  const rows = [
    row('iptables', 1, 'failed_requests', 'total', 146, 'requests'),
    row('iptables', 1, 'requests', 'total', 207, 'requests'),
    row('iptables', 1, 'rejected_connections', 'total', 146, 'connections'),
    row('iptables', 1, 'stale_connections', 'total', 0, 'connections'),
    row('iptables', 500, 'failed_requests', 'total', 0, 'requests'),
    row('iptables', 500, 'requests', 'total', 207, 'requests'),
  ];
  assert.equal(
    failedRequestsNote(rows, 's', 'iptables', 1),
    'iptables at 1 service: 146 of 207 requests failed (71%). 146 connections were rejected: the service had no ready endpoint while its only pod was replaced (a new pod is not ready at once). With one service, every request goes to the service whose endpoints change; in a larger cluster the same change touches a small share of the traffic.',
  );
  assert.equal(failedRequestsNote(rows, 's', 'iptables', 500), null);
  const t = scenarioTableData('s', rows);
  const col = t.header.indexOf('failed req');
  assert.deepEqual(
    t.body.map((r) => r[col]),
    ['146 ¹', '0'],
  );
  assert.match(renderTable(t, true), /\n\n¹ iptables at 1 service: 146 of 207 requests failed \(71%\)\./);
});

test('ingress per-hop table: one row per hop, classified by the node it passes', () => {
  const rows: MetricRow[] = [];
  for (const [hop, t] of [
    ['nodeport', 3e-7],
    ['service', 2e-7],
  ] as const) {
    rows.push(row('ipvs', 40, `ingress_${hop}_hop_connections`, 'total', 100, 'connections'));
    rows.push(row('ipvs', 40, `ingress_${hop}_hop_dnat`, 'total', 98, 'connections'));
    rows.push(row('ipvs', 40, `ingress_${hop}_hop_refused`, 'total', 2, 'connections'));
    rows.push(row('ipvs', 40, `ingress_${hop}_hop_stale`, 'total', 0, 'connections'));
    rows.push(row('ipvs', 40, `ingress_${hop}_hop_time`, 'mean', t, 's'));
    rows.push(row('ipvs', 40, `ingress_${hop}_hop_time`, 'p99', t, 's'));
  }
  const t = hopTableData('s', rows)!;
  assert.deepEqual(t.body, [
    ['ipvs', '40', 'client → NodePort (picks an ingress pod)', '100', '98 (98%)', '2 (2%)', '0', '300 ns', '300 ns'],
    ['ipvs', '40', 'ingress pod → service (picks an application pod)', '100', '98 (98%)', '2 (2%)', '0', '200 ns', '200 ns'],
  ]);
  assert.equal(hopTableData('other', rows), null);
});
