/**
 * Issue 11: every bad input of the corpus (test/fixtures/bad-inputs.ts: scenarios, manifests, flags, run
 * directories) gives exit 2 with one stderr line `kpbench: <where>: <reason>` naming the file and field, no
 * stack trace, and writes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from './fixtures/bad-inputs.js';
import { runInProcess } from './fixtures/bad-run.js';

const cases = corpus();

test('the corpus holds every example of the issue and then some', () => {
  assert.ok(cases.length >= 250, `${cases.length} cases`);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
});

for (const c of cases) {
  test(`bad input: ${c.name}`, async () => {
    const v = await runInProcess(c);
    assert.equal(v.problem, null, v.problem ?? '');
  });
}
