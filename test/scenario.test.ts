import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../src/scenario/load.js';
import { InputError } from '../src/errors.js';
import { main } from '../src/cli/main.js';

const F = 'test/fixtures/scenarios';

function loadError(file: string): string {
  try {
    loadScenario(file, { quick: false });
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    return e.message;
  }
  assert.fail('no error');
}

test('unknown keys are refused with the file and the field path', () => {
  assert.equal(loadError(`${F}/unknown-key.yaml`), `${F}/unknown-key.yaml: cluster.endpointsPerServce: unknown field`);
});

test('bad values name the field and the reason', () => {
  assert.match(loadError(`${F}/bad-value.yaml`), /^test\/fixtures\/scenarios\/bad-value\.yaml: cluster\.services: .*>=0/);
});

test('YAML syntax errors name the file and line', () => {
  assert.match(loadError(`${F}/bad-yaml.yaml`), /^test\/fixtures\/scenarios\/bad-yaml\.yaml: YAML syntax error at line \d+, column \d+: /);
});

test('a sweep over a field that does not exist is refused', () => {
  assert.match(loadError(`${F}/bad-sweep.yaml`), /bad-sweep\.yaml: sweep\.cluster\.servces: no such field/);
});

test('a missing file', () => {
  assert.equal(loadError(`${F}/nope.yaml`), `${F}/nope.yaml: no such file`);
});

test('sweeps expand to the cartesian product; quick overrides apply', () => {
  const l = loadScenario(`${F}/tiny.yaml`, { quick: true, seed: 9 });
  assert.deepEqual(
    l.cases.map((c) => [c.id, c.scenario.cluster.services]),
    [
      ['tiny@minSyncPeriod=0', 20],
      ['tiny@minSyncPeriod=1', 20],
      ['tiny@minSyncPeriod=0', 40],
      ['tiny@minSyncPeriod=1', 40],
    ],
  );
  assert.equal(l.cases[0]!.scenario.duration, 3);
  assert.equal(l.cases[0]!.scenario.seed, 9);
  assert.equal(l.cases[1]!.scenario.proxy.minSyncPeriod, 1);
});

async function exitOf(args: string[]): Promise<{ code: number; err: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let err = '';
  process.stderr.write = ((s: string | Uint8Array) => {
    err += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, err };
  } finally {
    process.stderr.write = write;
  }
}

test('CLI: a broken scenario exits 2 with one line; an unknown flag too', async () => {
  const r = await exitOf(['run', `${F}/unknown-key.yaml`, '--out', 'scratch/never']);
  assert.equal(r.code, 2);
  assert.equal(r.err, `kpbench: ${F}/unknown-key.yaml: cluster.endpointsPerServce: unknown field\n`);
  const u = await exitOf(['run', '--frobnicate']);
  assert.equal(u.code, 2);
  assert.equal(u.err.trim().split('\n').length, 1);
  const s = await exitOf(['run', `${F}/tiny.yaml`, '--seed', 'abc']);
  assert.equal(s.code, 2);
});

test('the published JSON Schema is up to date (npm run schema)', async () => {
  const { readFileSync } = await import('node:fs');
  const { scenarioJsonSchema } = await import('../src/scenario/jsonschema.js');
  assert.equal(readFileSync('scenarios/scenario.schema.json', 'utf8'), scenarioJsonSchema());
});
