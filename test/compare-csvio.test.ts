import { test } from 'node:test';
import { mkTmp } from './fixtures/tmp.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../src/errors.js';
import {
  formatMetricsCsv,
  formatScalingCsv,
  installRunDir,
  parseMeta,
  parseMetricsCsv,
  parseSamplesJson,
  parseScalingCsv,
  readRun,
  sortMetricRows,
  writeFileAtomic,
  writeMetricsCsv,
  type MetricRow,
} from '../src/report/csvio.js';

const HEADER = 'scenario,backend,services,endpoints_per_service,metric,statistic,value,unit';

function row(
  scenario: string,
  backend: string,
  services: number,
  eps: number,
  metric: string,
  statistic: MetricRow['statistic'],
  value = 1,
): MetricRow {
  return { scenario, backend, services, endpoints_per_service: eps, metric, statistic, value, unit: 'u' };
}

test('sortMetricRows: scenario, backend, services and eps numerically, metric, statistic in STATISTICS order', () => {
  const rows = [
    row('b', 'iptables', 10, 1, 'm', 'value'),
    row('a', 'ipvs', 10, 1, 'm', 'value'),
    row('a', 'iptables', 1000, 1, 'm', 'value'),
    row('a', 'iptables', 200, 1, 'm', 'value'),
    row('a', 'iptables', 200, 10, 'm', 'value'),
    row('a', 'iptables', 200, 2, 'm', 'value'),
    row('a', 'iptables', 200, 2, 'l', 'samples'),
    row('a', 'iptables', 200, 2, 'l', 'p99'),
    row('a', 'iptables', 200, 2, 'l', 'mean'),
    row('a', 'iptables', 200, 2, 'l', 'p50'),
    row('a', 'iptables', 200, 2, 'l', 'rme'),
  ];
  const sorted = sortMetricRows(rows);
  assert.deepEqual(
    sorted.map((r) => `${r.scenario} ${r.backend} ${r.services} ${r.endpoints_per_service} ${r.metric} ${r.statistic}`),
    [
      'a iptables 200 1 m value',
      'a iptables 200 2 l mean',
      'a iptables 200 2 l p50',
      'a iptables 200 2 l p99',
      'a iptables 200 2 l rme',
      'a iptables 200 2 l samples',
      'a iptables 200 2 m value',
      'a iptables 200 10 m value',
      'a iptables 1000 1 m value',
      'a ipvs 10 1 m value',
      'b iptables 10 1 m value',
    ],
  );
  assert.notEqual(sorted, rows);
  assert.equal(rows[0]!.scenario, 'b', 'input untouched');
});

test('metrics.csv round trip: numbers exactly, canonical order on write', () => {
  const rows = [
    row('s', 'ipvs', 10, 1, 'sync_time', 'mean', 0.1 + 0.2),
    row('s', 'ipvs', 10, 1, 'sync_time', 'p50', 1e-7),
    row('s', 'iptables', 10, 1, 'x', 'value', -0),
  ];
  const text = formatMetricsCsv(rows);
  assert.equal(
    text,
    `${HEADER},kind\ns,iptables,10,1,x,value,0,u,counted\ns,ipvs,10,1,sync_time,mean,0.30000000000000004,u,modelled\ns,ipvs,10,1,sync_time,p50,1e-7,u,modelled\n`,
  );
  assert.deepEqual(
    parseMetricsCsv(text, 'f'),
    sortMetricRows(rows).map((r) => ({ ...r, value: Object.is(r.value, -0) ? 0 : r.value })),
  );
  // quoted fields, CRLF and a BOM are read too
  assert.deepEqual(parseMetricsCsv(`\uFEFF${HEADER}\r\n"s,1",ipvs,10,1,m,value,2,"a unit"\r\n`, 'f'), [
    { scenario: 's,1', backend: 'ipvs', services: 10, endpoints_per_service: 1, metric: 'm', statistic: 'value', value: 2, unit: 'a unit' },
  ]);
});

test('metrics.csv: kind and swept-field columns after the contract columns; old 8-column files still read', () => {
  const rows: MetricRow[] = [
    { ...row('tigera-2019@requestsPerConnection=1', 'iptables', 100, 10, 'sync_time', 'mean', 0.5), unit: 's' },
    { ...row('rolling@minSyncPeriod=10,requestsPerConnection=2', 'ipvs', 100, 6, 'wall_lookup_time', 'p50', 2e-6), unit: 's' },
    { ...row('plain', 'ipvs', 1, 1, 'kernel_restore_time', 'p50', 0.25), unit: 's' },
    { ...row('plain', 'ipvs', 1, 1, 'lb_chi2_per_dof', 'value', 1.1), unit: '' },
    { ...row('plain', 'ipvs', 1, 1, 'sync_time', 'p50', 0.3), unit: 's', kind: 'kernel' } as MetricRow,
  ];
  const text = formatMetricsCsv(rows, false);
  assert.equal(
    text,
    [
      `${HEADER},kind,requestsPerConnection,minSyncPeriod`,
      'tigera-2019@requestsPerConnection=1,iptables,100,10,sync_time,mean,0.5,s,modelled,1,',
      '"rolling@minSyncPeriod=10,requestsPerConnection=2",ipvs,100,6,wall_lookup_time,p50,0.000002,s,measured,2,10',
      'plain,ipvs,1,1,kernel_restore_time,p50,0.25,s,kernel,,',
      'plain,ipvs,1,1,lb_chi2_per_dof,value,1.1,1,counted,,',
      'plain,ipvs,1,1,sync_time,p50,0.3,s,kernel,,',
      '',
    ].join('\n'),
  );
  const back = parseMetricsCsv(text, 'f');
  assert.equal(back.length, 5);
  assert.equal((back[0] as MetricRow & { kind?: string }).kind, undefined, 'kind kept only where the metric name does not give it');
  assert.equal((back[4] as MetricRow & { kind?: string }).kind, 'kernel');
  assert.equal(back[3]!.unit, '1');
  // an old file (the contract's eight columns) reads the same rows
  const old = `${HEADER}\ntigera-2019@requestsPerConnection=1,iptables,100,10,sync_time,mean,0.5,s\n`;
  assert.deepEqual(parseMetricsCsv(old, 'f'), [back[0]]);
  assert.throws(
    () => parseMetricsCsv(`${HEADER},extra\n`, 'm.csv'),
    /m\.csv: line 1: header must start with ".*", got ".*,extra": the ninth column must be "kind", got "extra"/,
  );
  assert.throws(() => parseMetricsCsv(`${HEADER},kind\ns,ipvs,1,1,m,value,1,u\n`, 'm.csv'), /m\.csv: line 2: expected 9 fields/);
});

test('metrics.csv errors name file, line and field', () => {
  const msg = (text: string): string => {
    try {
      parseMetricsCsv(text, 'run/metrics.csv');
    } catch (e) {
      assert.ok(e instanceof InputError);
      return e.message;
    }
    return 'no error';
  };
  assert.equal(msg(''), `run/metrics.csv: empty file, expected the header "${HEADER}"`);
  assert.equal(
    msg(`${HEADER}\ns,ipvs,10,1,m,value,1\n`),
    'run/metrics.csv: line 2: expected 8 fields (scenario,backend,services,endpoints_per_service,metric,statistic,value,unit), got 7',
  );
  assert.equal(msg(`${HEADER}\n\ns,ipvs,ten,1,m,value,1,u\n`), 'run/metrics.csv: line 3, field services: unreadable number "ten"');
  assert.equal(
    msg(`${HEADER}\ns,ipvs,10,-1,m,value,1,u\n`),
    'run/metrics.csv: line 2, field endpoints_per_service: must be >= 0, got "-1"',
  );
  assert.equal(
    msg(`${HEADER}\ns,ipvs,10,1,m,median,1,u\n`),
    'run/metrics.csv: line 2, field statistic: unknown statistic "median" (expected one of value, mean, p50, p90, p99, min, max, total, rme, samples)',
  );
  assert.equal(msg(`${HEADER}\ns,ipvs,10,1,m,value,NaN,u\n`), 'run/metrics.csv: line 2, field value: unreadable number "NaN"');
  assert.equal(msg(`${HEADER}\ns,ipvs,10,1,m,value,,u\n`), 'run/metrics.csv: line 2, field value: unreadable number ""');
  assert.equal(msg(`${HEADER}\n,ipvs,10,1,m,value,1,u\n`), 'run/metrics.csv: line 2, field scenario: must not be empty');
  assert.match(msg(`${HEADER}\ns,"ipvs,10,1,m,value,1,u\n`), /^run\/metrics\.csv: line \d+: not valid CSV: /);
});

test('scaling.csv: NaN allowed for an undefined fit', () => {
  const rows = parseScalingCsv('scenario,backend,metric,exponent,r2\ns,ipvs,m,NaN,\ns,iptables,m,1.02,0.99\n', 'scaling.csv');
  assert.ok(Number.isNaN(rows[0]!.exponent) && Number.isNaN(rows[0]!.r2));
  assert.equal(formatScalingCsv(rows), 'scenario,backend,metric,exponent,r2\ns,iptables,m,1.02,0.99\ns,ipvs,m,NaN,NaN\n');
  assert.throws(
    () => parseScalingCsv('scenario,backend,metric,exponent,r2\ns,ipvs,m,x,1\n', 'scaling.csv'),
    /scaling\.csv: line 2, field exponent: unreadable number "x"/,
  );
});

test('samples.json and meta.json errors name the file and the JSON path', () => {
  assert.throws(
    () =>
      parseSamplesJson(
        [{ scenario: 's', backend: 'b', services: 1, endpoints_per_service: 1, metric: 'm', unit: 's', samples: [1, 'x'] }],
        'samples.json',
      ),
    (e: unknown) => e instanceof InputError && e.message.startsWith('samples.json: [0].samples[1]: '),
  );
  assert.throws(
    () => parseSamplesJson({}, 'samples.json'),
    (e: unknown) => e instanceof InputError && e.message.startsWith('samples.json: '),
  );
  assert.throws(
    () => parseMeta({ seed: 1 }, 'meta.json'),
    (e: unknown) => e instanceof InputError && e.message.startsWith('meta.json: gitCommit: '),
  );
  const dir = mkTmp(path.join(os.tmpdir(), 'kpbench-csvio-'));
  fs.writeFileSync(path.join(dir, 'metrics.csv'), `${HEADER}\n`);
  fs.writeFileSync(path.join(dir, 'samples.json'), '[{');
  assert.throws(
    () => readRun(dir),
    (e: unknown) => e instanceof InputError && e.message.startsWith(`${path.join(dir, 'samples.json')}: not valid JSON: `),
  );
});

test('atomic writes leave no temp files; installRunDir swaps run files in one step', () => {
  const dir = mkTmp(path.join(os.tmpdir(), 'kpbench-csvio-'));
  writeFileAtomic(path.join(dir, 'sub', 'a.txt'), 'x');
  writeMetricsCsv(path.join(dir, 'sub', 'metrics.csv'), [row('s', 'b', 1, 1, 'm', 'value')]);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'sub')).sort(), ['a.txt', 'metrics.csv']);
  const to = path.join(dir, 'to');
  assert.deepEqual(installRunDir(path.join(dir, 'sub'), to), ['metrics.csv']);
  assert.deepEqual(fs.readdirSync(to), ['metrics.csv']);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['sub', 'to']);
});
