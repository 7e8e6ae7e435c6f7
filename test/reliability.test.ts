/**
 * Issue 11, beyond the corpus of test/bad-inputs.test.ts: inputs that were slow or crashed (200,000 keys,
 * 150,000 rows), scenarios found from any directory, and what a killed run leaves being cleaned up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { kpbench } from './fixtures/compare/cli.js';
import { mkTmp } from './fixtures/tmp.js';
import { writeRunDir } from './fixtures/bad-inputs.js';
import { PACKAGE_ROOT, sweepStale, checkOutDir } from '../src/io/paths.js';
import { resolveScenarios, SCENARIO_DIR } from '../src/bench/run.js';
import { installRunDir } from '../src/report/csvio.js';
import { InputError } from '../src/errors.js';
import { limit, LIMIT_DEFS } from '../src/io/limits.js';

const tmp = (): string => mkTmp(path.join(os.tmpdir(), 'kpb-rel-'));

test('a mapping with 200,000 unknown keys is refused with one line (parsed in linear time)', async () => {
  const d = tmp();
  const lines = ['name: keys', 'cluster:'];
  for (let i = 0; i < 200_000; i++) lines.push(`  k${i}: 1`);
  const file = path.join(d, 's.yaml');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const r = await kpbench('run', file, '--no-wall', '--out', path.join(d, 'out'));
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `kpbench: ${file}: cluster.k0: unknown field\n`);
  assert.equal(fs.existsSync(path.join(d, 'out')), false);
});

test('a duplicate key among 50,000 is found, with its line', async () => {
  const d = tmp();
  const lines = ['name: keys', 'quick:'];
  for (let i = 0; i < 50_000; i++) lines.push(`  k${i}: 1`);
  lines.push('  k7: 2');
  const file = path.join(d, 's.yaml');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const r = await kpbench('run', file, '--no-wall', '--out', path.join(d, 'out'));
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `kpbench: ${file}: quick.k7: duplicate key (line 50003)\n`);
});

test('compare handles 150,000 rows (no spread of a large array into Math.max)', async () => {
  const d = tmp();
  const rows: string[] = [];
  for (let i = 0; i < 150_000; i++) rows.push(`s${i % 50},b1,${i},10,sync_rules_written,mean,${i % 97},rules`);
  writeRunDir(path.join(d, 'a'), { rows });
  writeRunDir(path.join(d, 'b'), { rows });
  const r = await kpbench('compare', path.join(d, 'a'), path.join(d, 'b'), '--all');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes('0 regressed, 0 missing, 0 new, 0 changed, 0 improved, 150000 unchanged'));
});

test('scenarios and the baseline are found from the package, not the current directory', () => {
  const d = tmp();
  const cwd = process.cwd();
  try {
    process.chdir(d);
    assert.equal(SCENARIO_DIR, path.join(PACKAGE_ROOT, 'scenarios'));
    const files = resolveScenarios(['scaling'], true);
    assert.deepEqual(files, [path.join(PACKAGE_ROOT, 'scenarios', 'scaling.yaml')]);
    assert.ok(resolveScenarios(undefined, true).length > 0);
  } finally {
    process.chdir(cwd);
  }
  assert.ok(fs.existsSync(path.join(PACKAGE_ROOT, 'package.json')));
});

test('the kpbench binary runs a package scenario from another directory', () => {
  const d = tmp();
  const r = spawnSync(
    process.execPath,
    [path.join(PACKAGE_ROOT, 'bin', 'kpbench.js'), 'run', 'scaling', '--quick', '--no-wall', '--shard', '1/8', '--out', 'out'],
    {
      cwd: d,
      encoding: 'utf8',
      timeout: 300_000,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(d, 'out', 'benchmark.json')));
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(d, 'out', 'meta.json'), 'utf8')).scenarios, ['scenarios/scaling.yaml']);
});

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('a rerun cleans up what a killed run left, and puts back a run directory cut off mid-swap', () => {
  const d = tmp();
  const out = path.join(d, 'out');
  const pid = deadPid();
  // killed between the two renames of a swap: no out, the previous run in out.old-<pid>
  writeRunDir(`${out}.old-${pid}`);
  fs.mkdirSync(`${out}.staging-${pid}`);
  fs.mkdirSync(`${out}.tmp-${pid}`);
  fs.mkdirSync(`${out}.run-${pid}`);
  fs.mkdirSync(`${out}.staging-${process.pid}`); // a live process's: kept
  fs.mkdirSync(`${out}-other.staging-${pid}`); // another directory's: kept
  const done = sweepStale(out);
  assert.equal(done.length, 4);
  assert.deepEqual(fs.readdirSync(d).sort(), ['out', `out-other.staging-${pid}`, `out.staging-${process.pid}`]);
  assert.ok(fs.existsSync(path.join(out, 'metrics.csv')));
});

test('installRunDir leaves no transient sibling and keeps files that are not run files', () => {
  const d = tmp();
  const out = path.join(d, 'out');
  writeRunDir(out);
  fs.writeFileSync(path.join(out, 'README.md'), 'kept\n');
  const next = path.join(d, 'next');
  writeRunDir(next, { rows: ['scaling,b1,300,10,sync_rules_written,mean,1300,rules'] });
  installRunDir(next, out);
  assert.deepEqual(fs.readdirSync(d).sort(), ['next', 'out']);
  assert.ok(fs.readFileSync(path.join(out, 'metrics.csv'), 'utf8').includes(',300,'));
  assert.equal(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), 'kept\n');
});

test('output paths are checked before any work', () => {
  const d = tmp();
  fs.writeFileSync(path.join(d, 'f'), 'x');
  const bad: Array<[string, RegExp]> = [
    ['', /must not be empty/],
    ['.', /current directory/],
    ['/', /root directory/],
    ['/dev/null', /not a directory|pseudo filesystem/],
    ['/proc/kpb-x', /pseudo filesystem/],
    ['/sys/kpb-x', /pseudo filesystem/],
    [path.join(d, 'f'), /not a directory/],
    [path.join(d, 'f', 'x'), /not a directory|under a file/],
    [PACKAGE_ROOT, /package directory|current directory/],
  ];
  for (const [p, reason] of bad) {
    assert.throws(
      () => checkOutDir('--out', p),
      (e: unknown) => e instanceof InputError && e.where === '--out' && reason.test(e.reason),
      p,
    );
  }
  assert.equal(checkOutDir('--out', path.join(d, 'new', 'deeper')), path.join(d, 'new', 'deeper'));
});

test('every limit has a documented default and an environment override', () => {
  const readme = fs.readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
  for (const [name, def] of Object.entries(LIMIT_DEFS)) {
    assert.ok(readme.includes(def.env), `README documents ${def.env}`);
    assert.equal(limit(name as keyof typeof LIMIT_DEFS), def.default);
  }
  process.env.KPBENCH_MAX_NODES = '7';
  try {
    assert.equal(limit('nodes'), 7);
    process.env.KPBENCH_MAX_NODES = 'lots';
    assert.throws(() => limit('nodes'), InputError);
  } finally {
    delete process.env.KPBENCH_MAX_NODES;
  }
});
