import { test } from 'node:test';
import { mkTmp } from './fixtures/tmp.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildMeta, exportBenchmarkJson, writeExports, writeMeta, type BenchmarkEntry } from '../src/report/export.js';
import { formatMetricsCsv, readMeta, type MetricRow, type RunMeta } from '../src/report/csvio.js';

const P = { scenario: 'scaling', backend: 'iptables', services: 1000, endpoints_per_service: 10 };
const ROWS: MetricRow[] = [
  { ...P, metric: 'wall_lookup_time', statistic: 'rme', value: 2.5, unit: '%' },
  { ...P, metric: 'wall_lookup_time', statistic: 'p50', value: 1.25e-7, unit: 's' },
  { ...P, metric: 'wall_lookup_time', statistic: 'samples', value: 812, unit: 'samples' },
  { ...P, metric: 'sync_rules_written', statistic: 'mean', value: 4012, unit: 'rules' },
  { ...P, metric: 'ruleset_ipvs_real_servers', statistic: 'value', value: 0, unit: 'servers' },
  { ...P, backend: 'ipvs', metric: 'sync_operations', statistic: 'p99', value: 6, unit: 'ops' },
];

const META: RunMeta = {
  seed: 42,
  gitCommit: 'abc123',
  node: 'v20.11.0',
  cpu: 'Test CPU @ 3.0GHz',
  cpus: 8,
  platform: 'linux-x64',
  date: '2026-01-01T00:00:00.000Z',
  argv: ['run', '--quick'],
  quick: true,
  shard: null,
  scenarios: ['scenarios/scaling.yaml'],
};

/** github-action-benchmark customSmallerIsBetter: [{ name, unit, value, range?, extra? }] */
const EXPECTED: BenchmarkEntry[] = [
  {
    name: 'scaling/iptables/services=1000/eps=10/sync_rules_written/mean',
    unit: 'rules',
    value: 4012,
    extra: 'kind: counted\nseed: 42\ncommit: abc123',
  },
  {
    name: 'scaling/iptables/services=1000/eps=10/wall_lookup_time/p50',
    unit: 's',
    value: 1.25e-7,
    range: '± 2.5%',
    extra: 'kind: measured\nsamples: 812\nseed: 42\ncommit: abc123\nnode: v20.11.0\ncpu: Test CPU @ 3.0GHz',
  },
  {
    name: 'scaling/ipvs/services=1000/eps=10/sync_operations/p99',
    unit: 'ops',
    value: 6,
    extra: 'kind: counted\nseed: 42\ncommit: abc123',
  },
];

test('benchmark.json: customSmallerIsBetter entries, pinned', () => {
  assert.deepEqual(exportBenchmarkJson(ROWS, META), EXPECTED);
  // without a meta.json, only what the rows say
  assert.deepEqual(
    exportBenchmarkJson(ROWS, null).map((e) => e.extra),
    ['kind: counted', 'kind: measured\nsamples: 812', 'kind: counted'],
  );
  // every entry has exactly the keys the action reads, with the types it expects
  for (const e of exportBenchmarkJson(ROWS, META)) {
    for (const k of Object.keys(e)) assert.ok(['name', 'unit', 'value', 'range', 'extra'].includes(k), k);
    assert.equal(typeof e.name, 'string');
    assert.equal(typeof e.unit, 'string');
    assert.equal(typeof e.value, 'number');
  }
});

test('writeExports writes benchmark.json from a run directory; writeMeta and buildMeta', () => {
  const dir = mkTmp(path.join(os.tmpdir(), 'kpbench-export-'));
  fs.writeFileSync(path.join(dir, 'metrics.csv'), formatMetricsCsv(ROWS));
  writeMeta(dir, META);
  assert.deepEqual(readMeta(path.join(dir, 'meta.json')), META);
  const file = writeExports(dir);
  assert.equal(file, path.join(dir, 'benchmark.json'));
  assert.equal(fs.readFileSync(file, 'utf8'), `${JSON.stringify(EXPECTED, null, 2)}\n`);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['benchmark.json', 'meta.json', 'metrics.csv']);

  const m = buildMeta({ seed: 3, quick: false, scenarios: ['a'], shard: { k: 2, n: 4 }, argv: ['run'], date: new Date(0) });
  assert.equal(m.shard, '2/4');
  assert.equal(m.date, '1970-01-01T00:00:00.000Z');
  assert.equal(m.node, process.version);
  assert.deepEqual(m.argv, ['run']);
  assert.equal(buildMeta({ seed: 3, quick: true, scenarios: [] }).shard, null);
});
