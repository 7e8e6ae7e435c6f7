import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../src/scenario/load.js';
import { runCases, type CaseJob } from '../src/bench/parallel.js';
import type { BackendKind } from '../src/types.js';

const TINY = 'test/fixtures/scenarios/tiny.yaml';
const cases = loadScenario(TINY, { quick: true }).cases;
const jobs: CaseJob[] = cases.flatMap((c) => (['iptables', 'ipvs'] as const).map((b) => ({ c, b })));
const settings = { bench: false };
const none = { onStart: (): void => {}, onEnd: (): void => {} };

test('cases on two threads give the outputs of one thread, in job order, whatever order they are taken in', async () => {
  const order = jobs.map((_, i) => i);
  const one = await runCases(jobs, order, 1, settings, none);
  const started: number[] = [];
  const ended: number[] = [];
  const two = await runCases(jobs, [...order].reverse(), 2, settings, {
    onStart: (i) => started.push(i),
    onEnd: (i) => ended.push(i),
  });
  assert.equal(one.length, jobs.length);
  assert.deepEqual(two, one);
  assert.deepEqual(
    [...started].sort((a, b) => a - b),
    order,
  );
  assert.deepEqual(
    [...ended].sort((a, b) => a - b),
    order,
  );
});

test("a case's error on a worker thread is the run's error, as on one thread", async () => {
  const bad = [...jobs.slice(0, 3), { c: jobs[0]!.c, b: 'bogus' as BackendKind }];
  const order = bad.map((_, i) => i);
  const expected = /no backend 'bogus' is registered/;
  await assert.rejects(runCases(bad, order, 1, settings, none), expected);
  // taken first by the calling thread, or by the worker thread
  await assert.rejects(runCases(bad, [3, 0, 1, 2], 2, settings, none), expected);
  await assert.rejects(runCases(bad, [0, 3, 1, 2], 2, settings, none), expected);
});
