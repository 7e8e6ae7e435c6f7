import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { mkTmp } from './fixtures/tmp.js';
import { scenarioFiles, loadScenario } from '../src/scenario/load.js';

const TINY = 'test/fixtures/scenarios/tiny.yaml';
const tmp = mkTmp(path.join(os.tmpdir(), 'kpbench-e2e-'));

/** Runs the CLI in a child process (the test reporter owns this process's stdout); returns the exit code. */
function quiet(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { maxBuffer: 64 << 20 }, (err, _out, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 99;
      if (code > 2) process.stderr.write(stderr);
      resolve(code);
    });
  });
}

/** Counted and modelled rows of a run: everything but the measured wall_* metrics. */
function deterministicRows(dir: string): string {
  return fs
    .readFileSync(path.join(dir, 'metrics.csv'), 'utf8')
    .split('\n')
    .filter((l) => !l.split(',')[4]?.startsWith('wall_'))
    .join('\n');
}

test('the same seed gives byte-identical counted and modelled rows', async () => {
  assert.equal(await quiet(['run', TINY, '--seed', '7', '--out', path.join(tmp, 'a')]), 0);
  assert.equal(await quiet(['run', TINY, '--seed', '7', '--out', path.join(tmp, 'b')]), 0);
  const a = deterministicRows(path.join(tmp, 'a'));
  assert.ok(a.split('\n').length > 100);
  assert.equal(a, deterministicRows(path.join(tmp, 'b')));
  const metrics = new Set(a.split('\n').map((l) => l.split(',')[4]));
  for (const m of ['sync_rules_written', 'first_packet_rules_evaluated', 'network_programming_latency', 'sync_time', 'first_packet_time']) assert.ok(metrics.has(m), m);
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
  assert.equal(await quiet(['run', TINY, '--seed', '7', '--no-wall', '--out', path.join(tmp, 'whole')]), 0);
  assert.equal(await quiet(['run', TINY, '--seed', '7', '--no-wall', '--shard', '1/3', '--out', path.join(tmp, 's1')]), 0);
  assert.equal(await quiet(['run', TINY, '--seed', '7', '--no-wall', '--shard', '2/3', '--out', path.join(tmp, 's2')]), 0);
  assert.equal(await quiet(['run', TINY, '--seed', '7', '--no-wall', '--shard', '3/3', '--out', path.join(tmp, 's3')]), 0);
  assert.equal(await quiet(['merge', path.join(tmp, 's1'), path.join(tmp, 's2'), path.join(tmp, 's3'), '--out', path.join(tmp, 'merged')]), 0);
  assert.equal(deterministicRows(path.join(tmp, 'merged')), deterministicRows(path.join(tmp, 'whole')));
  assert.equal(fs.readFileSync(path.join(tmp, 'merged', 'scaling.csv'), 'utf8'), fs.readFileSync(path.join(tmp, 'whole', 'scaling.csv'), 'utf8'));
});

test('a run directory is complete: metrics, scaling, samples, meta, summary, benchmark.json', () => {
  const dir = path.join(tmp, 'a');
  for (const f of ['metrics.csv', 'scaling.csv', 'samples.json', 'meta.json', 'summary.md', 'benchmark.json']) assert.ok(fs.existsSync(path.join(dir, f)), f);
  assert.equal(fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').split('\n')[0], 'scenario,backend,services,endpoints_per_service,metric,statistic,value,unit');
  assert.equal(fs.readFileSync(path.join(dir, 'scaling.csv'), 'utf8').split('\n')[0], 'scenario,backend,metric,exponent,r2');
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  assert.equal(meta.seed, 7);
  // no staging directories are left behind
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.includes('staging')), []);
});

test('every scenario in scenarios/ validates, full and quick', () => {
  const files = scenarioFiles('scenarios');
  assert.ok(files.length >= 6);
  for (const f of files) {
    for (const quick of [false, true]) assert.ok(loadScenario(f, { quick }).cases.length >= 1, f);
  }
});

test('every scenario in scenarios/ runs (quick variant, no wall-clock benchmarks)', { timeout: 600_000 }, async () => {
  for (const f of scenarioFiles('scenarios')) {
    const name = path.basename(f, '.yaml');
    const code = await quiet(['run', name, '--quick', '--no-wall', '--out', path.join(tmp, `lib-${name}`)]);
    assert.equal(code, 0, `${name} exited ${code}`);
    assert.ok(fs.statSync(path.join(tmp, `lib-${name}`, 'metrics.csv')).size > 1000);
  }
});
