import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { mkTmp } from './fixtures/tmp.js';
import { CLI } from './fixtures/cli.js';
import { scenarioFiles, loadScenario } from '../src/scenario/load.js';

const TINY = 'test/fixtures/scenarios/tiny.yaml';
const tmp = mkTmp(path.join(os.tmpdir(), 'kpbench-e2e-'));

/** Runs the CLI in a child process (the test reporter owns this process's stdout); returns the exit code. */
function quiet(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { maxBuffer: 64 << 20 }, (err, _out, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 99;
      if (code > 2) process.stderr.write(stderr);
      resolve(code);
    });
  });
}

/** Runs the thunks two at a time (the machine's two cores; each is a CLI process); results in order. */
async function twoAtATime<T>(thunks: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array<T>(thunks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < thunks.length) {
      const i = next++;
      out[i] = await thunks[i]!();
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

/** Counted and modelled rows of a run: everything but the measured wall_* metrics. */
function deterministicRows(dir: string): string {
  return fs
    .readFileSync(path.join(dir, 'metrics.csv'), 'utf8')
    .split('\n')
    .filter((l) => !l.split(',')[4]?.startsWith('wall_'))
    .join('\n');
}

test('the same seed gives byte-identical counted and modelled rows, with or without the wall-clock benchmarks, on two threads or one', async () => {
  const codes = await twoAtATime([
    () => quiet(['run', TINY, '--seed', '7', '--threads', '2', '--out', path.join(tmp, 'a')]),
    () => quiet(['run', TINY, '--seed', '7', '--no-wall', '--threads', '1', '--out', path.join(tmp, 'b')]),
  ]);
  assert.deepEqual(codes, [0, 0]);
  const a = deterministicRows(path.join(tmp, 'a'));
  assert.ok(a.split('\n').length > 100);
  assert.equal(a, deterministicRows(path.join(tmp, 'b')));
  const metrics = new Set(a.split('\n').map((l) => l.split(',')[4]));
  for (const m of ['sync_rules_written', 'first_packet_rules_evaluated', 'network_programming_latency', 'sync_time', 'first_packet_time'])
    assert.ok(metrics.has(m), m);
  // measured metrics are there too, with their statistics
  const all = fs.readFileSync(path.join(tmp, 'a', 'metrics.csv'), 'utf8');
  assert.match(all, /,wall_lookup_time,p50,/);
  assert.match(all, /,wall_lookup_time_rel,p50,/);
  assert.match(all, /,wall_sync_time,rme,/);
});

test('a different seed changes random choices', async () => {
  assert.equal(await quiet(['run', TINY, '--seed', '8', '--no-wall', '--out', path.join(tmp, 'c')]), 0);
  assert.notEqual(deterministicRows(path.join(tmp, 'a')), deterministicRows(path.join(tmp, 'c')));
});

test('sharded runs merged equal an unsharded run in every counted and modelled row', async () => {
  // the unsharded run: the first test's `b` (seed 7, --no-wall)
  const codes = await twoAtATime([
    () => quiet(['run', TINY, '--seed', '7', '--no-wall', '--shard', '1/3', '--out', path.join(tmp, 's1')]),
    () => quiet(['run', TINY, '--seed', '7', '--no-wall', '--shard', '2/3', '--out', path.join(tmp, 's2')]),
    () => quiet(['run', TINY, '--seed', '7', '--no-wall', '--shard', '3/3', '--out', path.join(tmp, 's3')]),
  ]);
  assert.deepEqual(codes, [0, 0, 0]);
  assert.equal(
    await quiet(['merge', path.join(tmp, 's1'), path.join(tmp, 's2'), path.join(tmp, 's3'), '--out', path.join(tmp, 'merged')]),
    0,
  );
  assert.equal(deterministicRows(path.join(tmp, 'merged')), deterministicRows(path.join(tmp, 'b')));
  assert.equal(
    fs.readFileSync(path.join(tmp, 'merged', 'scaling.csv'), 'utf8'),
    fs.readFileSync(path.join(tmp, 'b', 'scaling.csv'), 'utf8'),
  );
  // the merged run's charts are the unsharded run's (the headline metrics are counted and modelled)
  const svgs = (d: string): string[] => fs.readdirSync(path.join(tmp, d, 'charts')).sort();
  assert.deepEqual(svgs('merged'), svgs('b'));
  // kpbench report rewrites a run directory's report from its files alone
  fs.rmSync(path.join(tmp, 'merged', 'charts'), { recursive: true });
  fs.rmSync(path.join(tmp, 'merged', 'report.html'));
  assert.equal(await quiet(['report', path.join(tmp, 'merged')]), 0);
  assert.deepEqual(svgs('merged'), svgs('b'));
  assert.ok(fs.existsSync(path.join(tmp, 'merged', 'report.html')));
  assert.equal(await quiet(['report', path.join(tmp, 'nonexistent')]), 2);
});

test('a run directory is complete: metrics, scaling, samples, meta, summary, benchmark.json, report.html, charts', () => {
  const dir = path.join(tmp, 'a');
  for (const f of ['metrics.csv', 'scaling.csv', 'samples.json', 'meta.json', 'summary.md', 'benchmark.json', 'report.html', 'charts'])
    assert.ok(fs.existsSync(path.join(dir, f)), f);
  // the contract's columns first, then kind and the swept field (tiny.yaml sweeps proxy.minSyncPeriod)
  assert.equal(
    fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').split('\n')[0],
    'scenario,backend,services,endpoints_per_service,metric,statistic,value,unit,kind,minSyncPeriod',
  );
  // one chart per scenario id and headline metric, and a grouped chart per headline metric over minSyncPeriod
  const charts = fs.readdirSync(path.join(dir, 'charts')).sort();
  for (const id of ['tiny_minSyncPeriod_0', 'tiny_minSyncPeriod_1']) {
    for (const m of [
      'sync_rules_written',
      'sync_time',
      'first_packet_rules_evaluated',
      'first_packet_time',
      'network_programming_latency',
      'failed_requests',
      'sync_cpu_seconds_per_node_hour',
    ]) {
      assert.ok(charts.includes(`${id}--${m}.svg`), `${id}--${m}.svg`);
    }
  }
  assert.ok(charts.includes('tiny--by-minSyncPeriod--sync_time.svg'));
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  assert.equal((html.match(/<figure class="chart"/g) ?? []).length, charts.length);
  assert.doesNotMatch(html, /<script|<link|(?:src|href)="https?:|@import|url\(["']?https?:/);
  const summary = fs.readFileSync(path.join(dir, 'summary.md'), 'utf8');
  assert.match(summary, /!\[tiny@minSyncPeriod=0: Sync time \(modelled\)\]\(charts\/tiny_minSyncPeriod_0--sync_time\.svg\)/);
  // meta.json records what the report needs of the scenario files
  assert.deepEqual(
    JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')).scenarioReports.map((r: { id: string }) => r.id),
    ['tiny@minSyncPeriod=0', 'tiny@minSyncPeriod=1'],
  );
  assert.equal(fs.readFileSync(path.join(dir, 'scaling.csv'), 'utf8').split('\n')[0], 'scenario,backend,metric,exponent,r2');
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  assert.equal(meta.seed, 7);
  // no staging directories are left behind
  assert.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.includes('staging')),
    [],
  );
});

test('every scenario in scenarios/ validates, full and quick', () => {
  const files = scenarioFiles('scenarios');
  assert.ok(files.length >= 6);
  for (const f of files) {
    for (const quick of [false, true]) assert.ok(loadScenario(f, { quick }).cases.length >= 1, f);
  }
});

test('every scenario in scenarios/ runs (quick variant, no wall-clock benchmarks)', { timeout: 600_000 }, async () => {
  // the longest first (services x backends x simulated seconds over the quick cases), so both workers end together
  const work = (f: string): number =>
    loadScenario(f, { quick: true }).cases.reduce(
      (w, c) => w + c.scenario.cluster.services * c.scenario.backends.length * c.scenario.duration,
      0,
    );
  const names = scenarioFiles('scenarios')
    .map((f) => ({ name: path.basename(f, '.yaml'), work: work(f) }))
    .sort((x, y) => y.work - x.work)
    .map((x) => x.name);
  const codes = await twoAtATime(
    names.map((name) => () => quiet(['run', name, '--quick', '--no-wall', '--out', path.join(tmp, `lib-${name}`)])),
  );
  for (const [i, name] of names.entries()) {
    assert.equal(codes[i], 0, `${name} exited ${codes[i]}`);
    assert.ok(fs.statSync(path.join(tmp, `lib-${name}`, 'metrics.csv')).size > 1000);
  }
});
