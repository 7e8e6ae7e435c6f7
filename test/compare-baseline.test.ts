import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kpbench } from './fixtures/compare/cli.js';
import { BASELINE_DIR, compareWithBaseline } from '../src/report/compare.js';
import { InputError } from '../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kpbench-baseline-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return dir;
}

const HEADER = 'scenario,backend,services,endpoints_per_service,metric,statistic,value,unit\n';
const META = (shard: string | null) =>
  JSON.stringify({
    seed: 1,
    gitCommit: null,
    node: 'v20',
    cpu: 'x',
    cpus: 1,
    platform: 'p',
    date: 'd',
    argv: [],
    quick: true,
    shard,
    scenarios: [],
  });

test('BASELINE_DIR is results/baseline', () => {
  assert.equal(BASELINE_DIR, 'results/baseline');
});

test('baseline update --from installs a run, replacing the old run files only', async () => {
  const base = path.join(tmp, 'baseline');
  const first = run('first', {
    'metrics.csv': `${HEADER}s,ipvs,10,1,syncs,total,3,syncs\n`,
    'samples.json': '[]\n',
    'meta.json': META(null),
    'summary.md': '# first\n',
    'scaling.csv': 'scenario,backend,metric,exponent,r2\n',
  });
  let r = await kpbench('baseline', 'update', '--from', first, '--dir', base);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, `baseline ${base} updated from ${first}: metrics.csv, scaling.csv, samples.json, meta.json, summary.md\n`);
  fs.writeFileSync(path.join(base, 'README.md'), 'kept\n');

  // a second run without samples.json: the stale samples.json goes, the README stays, a warning says why it matters
  const second = run('second', { 'metrics.csv': `${HEADER}s,ipvs,10,1,syncs,total,4,syncs\n`, 'meta.json': META(null) });
  r = await kpbench('baseline', 'update', '--from', second, '--dir', base);
  assert.equal(r.code, 0);
  assert.equal(
    r.stderr,
    `kpbench: warning: ${second} has no scaling.csv, samples.json, summary.md (measured metrics will be reported but not gated)\n`,
  );
  assert.deepEqual(fs.readdirSync(base).sort(), ['README.md', 'meta.json', 'metrics.csv']);
  assert.equal(fs.readFileSync(path.join(base, 'metrics.csv'), 'utf8'), `${HEADER}s,ipvs,10,1,syncs,total,4,syncs\n`);
  // nothing left beside it
  assert.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.startsWith('baseline')),
    ['baseline'],
  );

  // compareWithBaseline against it: 3 syncs instead of 4 is an improvement, 5 a regression
  const better = compareWithBaseline(first, { baselineDir: base });
  assert.equal(better.failed, false);
  assert.equal(better.rows[0]!.verdict, 'improved');
  const worse = run('worse', { 'metrics.csv': `${HEADER}s,ipvs,10,1,syncs,total,5,syncs\n`, 'meta.json': META(null) });
  assert.equal(compareWithBaseline(worse, { baselineDir: base }).failed, true);
  assert.equal((await kpbench('compare', base, worse)).code, 1);
});

test('baseline update refuses bad runs (exit 2)', async () => {
  const base = path.join(tmp, 'baseline2');
  const shard = run('shard', { 'metrics.csv': `${HEADER}s,ipvs,10,1,syncs,total,3,syncs\n`, 'meta.json': META('1/2') });
  let r = await kpbench('baseline', 'update', '--from', shard, '--dir', base);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `kpbench: ${shard}: meta.json: the run is shard 1/2 only; merge the shards first (kpbench merge)\n`);
  assert.equal(fs.existsSync(base), false);

  const bad = run('bad', { 'metrics.csv': 'scenario,backend\n' });
  r = await kpbench('baseline', 'update', '--from', bad, '--dir', base);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^kpbench: .*bad\/metrics\.csv: line 1: header must start with/);

  r = await kpbench('baseline', 'update', '--from', path.join(tmp, 'nope'), '--dir', base);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `kpbench: ${path.join(tmp, 'nope')}: no such run directory\n`);

  r = await kpbench('baseline', 'update', '--from', shard, '--seed', '3', '--dir', base);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'kpbench: --seed: only applies when the CI suite is run (without --from)\n');
});

test('compareWithBaseline without a baseline: InputError saying how to make one', () => {
  assert.throws(
    () => compareWithBaseline(tmp, { baselineDir: path.join(tmp, 'none') }),
    (e: unknown) =>
      e instanceof InputError &&
      e.message === `${path.join(tmp, 'none', 'metrics.csv')}: no baseline: create one with \`kpbench baseline update\``,
  );
});
