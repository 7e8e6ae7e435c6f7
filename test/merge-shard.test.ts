import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kpbench } from './fixtures/compare/cli.js';
import { InputError } from '../src/errors.js';
import { computeScaling } from '../src/metrics/scaling.js';
import {
  formatMetricsCsv,
  formatSamplesJson,
  formatScalingCsv,
  readMeta,
  readMetricsCsv,
  readSamplesJson,
  sortMetricRows,
  type MetricRow,
  type RunMeta,
  type SampleSet,
} from '../src/report/csvio.js';
import { mergeMetricRows, mergeRunData } from '../src/report/merge.js';
import { parseShard, shardOf, unshard } from '../src/report/shard.js';

test('shardOf: round robin, every item in exactly one shard, order kept', () => {
  const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  assert.deepEqual(shardOf(items, 1, 3), ['a', 'd', 'g']);
  assert.deepEqual(shardOf(items, 2, 3), ['b', 'e']);
  assert.deepEqual(shardOf(items, 3, 3), ['c', 'f']);
  assert.deepEqual(shardOf(items, 1, 1), items);
  assert.deepEqual(shardOf(['x'], 4, 4), []);
  for (let n = 1; n <= 9; n++) {
    const xs = Array.from({ length: 23 }, (_, i) => i);
    const shards = Array.from({ length: n }, (_, k) => shardOf(xs, k + 1, n));
    const all = shards.flat().sort((x, y) => x - y);
    assert.deepEqual(all, xs, `n=${n}`);
    for (const sh of shards)
      assert.deepEqual(
        sh,
        [...sh].sort((x, y) => x - y),
        'order kept',
      );
    assert.deepEqual(unshard(shards), xs, `unshard n=${n}`);
  }
  assert.throws(() => shardOf(items, 0, 3), RangeError);
  assert.throws(() => shardOf(items, 4, 3), RangeError);
});

test('parseShard: K/N, InputError otherwise', () => {
  assert.deepEqual(parseShard('2/4'), { k: 2, n: 4 });
  assert.deepEqual(parseShard(' 1 / 1 '), { k: 1, n: 1 });
  for (const bad of ['', '2', '2/', '/4', '0/4', '5/4', '1/0', 'a/b', '-1/4', '1.5/4']) {
    assert.throws(
      () => parseShard(bad),
      (e: unknown) => e instanceof InputError && e.message.startsWith('--shard: '),
      bad,
    );
  }
  assert.equal(
    (() => {
      try {
        parseShard('5/4');
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })(),
    '--shard: the shard number K must be in 1..4, got "5/4"',
  );
});

// ---------------------------------------------------------------------------------------------
// A suite of five scenarios, run whole and in three shards
// ---------------------------------------------------------------------------------------------

const SCENARIOS = ['scaling', 'churn', 'affinity', 'local-policy', 'nodeport'];
const SIZES = [10, 100, 1000, 5000];

function suiteRows(scenarios: readonly string[]): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const scenario of scenarios) {
    const si = Math.max(0, SCENARIOS.indexOf(scenario));
    for (const backend of ['iptables', 'ipvs']) {
      for (const services of SIZES) {
        const base = { scenario, backend, services, endpoints_per_service: 10 };
        const linear = backend === 'iptables';
        rows.push({
          ...base,
          metric: 'first_packet_rules_evaluated',
          statistic: 'mean',
          value: linear ? services * 3 + si : 2 + si,
          unit: 'rules',
        });
        rows.push({ ...base, metric: 'sync_time', statistic: 'p50', value: (linear ? services * 1e-5 : 1e-4) * (si + 1), unit: 's' });
        rows.push({ ...base, metric: 'sync_time', statistic: 'samples', value: 12, unit: 'syncs' });
        rows.push({ ...base, metric: 'wall_lookup_time', statistic: 'p50', value: (linear ? services : 1) * 1e-8, unit: 's' });
        rows.push({ ...base, metric: 'wall_lookup_time', statistic: 'rme', value: 0.5 + si / 10, unit: '%' });
      }
    }
  }
  return rows;
}

function suiteSamples(scenarios: readonly string[]): SampleSet[] {
  return suiteRows(scenarios)
    .filter((r) => r.metric === 'wall_lookup_time' && r.statistic === 'p50')
    .map((r) => ({
      scenario: r.scenario,
      backend: r.backend,
      services: r.services,
      endpoints_per_service: 10,
      metric: r.metric,
      unit: 's',
      samples: [r.value, r.value * 1.1, r.value * 0.9],
    }));
}

function meta(scenarios: string[], shard: string | null, seed = 7): RunMeta {
  return {
    seed,
    gitCommit: '0123456789abcdef0123456789abcdef01234567',
    node: 'v20.0.0',
    cpu: 'Test CPU',
    cpus: 4,
    platform: 'linux-x64',
    date: `2026-01-0${shard === null ? 1 : shard[0]}T00:00:00.000Z`,
    argv: shard === null ? ['run', '--quick'] : ['run', '--quick', '--shard', shard],
    quick: true,
    shard,
    scenarios,
  };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kpbench-merge-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes shard k/n of the suite as a run directory, rows deliberately out of order. */
function writeShard(k: number, n: number, seed = 7): string {
  const dir = path.join(tmp, `shard-${k}-of-${n}-seed-${seed}`);
  fs.mkdirSync(dir, { recursive: true });
  const scenarios = shardOf(SCENARIOS, k, n);
  const rows = suiteRows(scenarios).reverse();
  fs.writeFileSync(path.join(dir, 'metrics.csv'), formatMetricsCsv(rows, false));
  fs.writeFileSync(path.join(dir, 'samples.json'), formatSamplesJson(suiteSamples(scenarios)));
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta(scenarios, `${k}/${n}`, seed)));
  fs.writeFileSync(path.join(dir, 'scaling.csv'), 'scenario,backend,metric,exponent,r2\n');
  return dir;
}

test('merge of three shards equals the unsharded run', async () => {
  const shards = [1, 2, 3].map((k) => writeShard(k, 3));
  const out = path.join(tmp, 'merged');
  // given out of order: the merge orders by shard number
  const r = await kpbench('merge', shards[2]!, shards[0]!, shards[1]!, '--out', out);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    `merged 3 run directories into ${out}: ${suiteRows(SCENARIOS).length} rows, ${computeScaling(suiteRows(SCENARIOS)).length} scaling fits\n`,
  );

  const whole = suiteRows(SCENARIOS);
  assert.equal(fs.readFileSync(path.join(out, 'metrics.csv'), 'utf8'), formatMetricsCsv(whole));
  assert.deepEqual(readMetricsCsv(path.join(out, 'metrics.csv')), sortMetricRows(whole));
  // scaling recomputed over all sizes of all shards
  const scaling = fs.readFileSync(path.join(out, 'scaling.csv'), 'utf8');
  assert.equal(scaling, formatScalingCsv(computeScaling(whole)));
  assert.ok(scaling.includes('scaling,iptables,first_packet_rules_evaluated,'));
  assert.deepEqual(readSamplesJson(path.join(out, 'samples.json')), readSamplesJsonText(formatSamplesJson(suiteSamples(SCENARIOS))));
  const m = readMeta(path.join(out, 'meta.json'));
  assert.equal(m.shard, null);
  assert.deepEqual(m.scenarios, SCENARIOS); // original order, restored from the round-robin split
  assert.deepEqual(m.argv, ['run', '--quick']);
  assert.equal(m.date, '2026-01-03T00:00:00.000Z');
  assert.deepEqual(
    m.shards?.map((s) => s.shard),
    ['1/3', '2/3', '3/3'],
  );
  assert.ok(fs.existsSync(path.join(out, 'summary.md')));
  assert.ok(fs.existsSync(path.join(out, 'benchmark.json')));
  // no temp files left behind
  assert.deepEqual(fs.readdirSync(out).sort(), [
    'benchmark.json',
    'charts',
    'meta.json',
    'metrics.csv',
    'report.html',
    'samples.json',
    'scaling.csv',
    'summary.md',
  ]);
  // and the merged run compares clean against the whole run
  const wholeDir = path.join(tmp, 'whole');
  fs.mkdirSync(wholeDir);
  fs.writeFileSync(path.join(wholeDir, 'metrics.csv'), formatMetricsCsv(whole));
  fs.copyFileSync(path.join(out, 'meta.json'), path.join(wholeDir, 'meta.json'));
  assert.equal((await kpbench('compare', wholeDir, out)).code, 0);
});

function readSamplesJsonText(text: string): SampleSet[] {
  return JSON.parse(text) as SampleSet[];
}

test('mergeMetricRows: identical duplicates collapse, conflicting ones are an InputError naming both', () => {
  const row: MetricRow = {
    scenario: 's',
    backend: 'ipvs',
    services: 10,
    endpoints_per_service: 1,
    metric: 'syncs',
    statistic: 'total',
    value: 3,
    unit: 'syncs',
  };
  assert.deepEqual(
    mergeMetricRows([
      { name: 'a', rows: [row] },
      { name: 'b', rows: [row] },
    ]),
    [row],
  );
  assert.throws(
    () =>
      mergeMetricRows([
        { name: 'a', rows: [row] },
        { name: 'b', rows: [{ ...row, value: 4 }] },
      ]),
    (e: unknown) =>
      e instanceof InputError &&
      e.message === 'b: row s,ipvs,10,1,syncs,total is also in a with a different value (3 syncs vs 4 syncs): shards overlap',
  );
});

test('merge: overlapping shards, different seeds, duplicate shard numbers are bad input (exit 2)', async () => {
  const a = writeShard(1, 2);
  const overlap = path.join(tmp, 'overlap');
  fs.cpSync(a, overlap, { recursive: true });
  const csv = fs
    .readFileSync(path.join(overlap, 'metrics.csv'), 'utf8')
    .replace(/,first_packet_rules_evaluated,mean,(\d+),/, (_, v: string) => `,first_packet_rules_evaluated,mean,${Number(v) + 1},`);
  fs.writeFileSync(path.join(overlap, 'metrics.csv'), csv);
  fs.writeFileSync(path.join(overlap, 'meta.json'), JSON.stringify(meta(shardOf(SCENARIOS, 2, 2), '2/2')));
  let r = await kpbench('merge', a, overlap, '--out', path.join(tmp, 'x'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^kpbench: .*overlap: row .* is also in .*shard-1-of-2-seed-7 with a different value .*: shards overlap\n$/);

  r = await kpbench('merge', a, writeShard(2, 2, 8), '--out', path.join(tmp, 'y'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^kpbench: .*shard-2-of-2-seed-8: meta\.json: seed 8 differs from 7 in .*: not shards of one run\n$/);

  const dup = path.join(tmp, 'dup');
  fs.cpSync(a, dup, { recursive: true });
  fs.writeFileSync(path.join(dup, 'metrics.csv'), 'scenario,backend,services,endpoints_per_service,metric,statistic,value,unit\n');
  r = await kpbench('merge', a, dup, '--out', path.join(tmp, 'z'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /shard 1\/2 is also .*shard-1-of-2-seed-7\n$/);

  r = await kpbench('merge', a, '--out', a);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^kpbench: --out: .* is one of the runs merged; choose another directory\n$/);

  r = await kpbench('merge', a, path.join(tmp, 'nope'), '--out', path.join(tmp, 'w'));
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `kpbench: ${path.join(tmp, 'nope')}: no such run directory\n`);

  r = await kpbench('merge', a);
  assert.equal(r.code, 2);
});

test('merge of an incomplete set of shards warns', async () => {
  const r = await kpbench('merge', writeShard(1, 3), writeShard(3, 3), '--out', path.join(tmp, 'partial'));
  assert.equal(r.code, 0);
  assert.equal(r.stderr, 'kpbench: warning: shard 2/3 not merged: the run is incomplete\n');
});

test('mergeRunData takes the scaling fit as an option', () => {
  const res = mergeRunData([{ name: 'a', rows: suiteRows(['s']), samples: null, meta: null }], {
    computeScaling: () => [{ scenario: 's', backend: 'b', metric: 'm', exponent: 1, r2: 1 }],
  });
  assert.deepEqual(res.scaling, [{ scenario: 's', backend: 'b', metric: 'm', exponent: 1, r2: 1 }]);
  assert.equal(res.meta, null);
  assert.equal(res.samples, null);
});
