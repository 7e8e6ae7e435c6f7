import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/sim/scheduler.js';
import { RngStreams } from '../src/sim/rng.js';
import { ZipfSampler } from '../src/workload/popularity.js';

test('scheduler runs events in time order, equal times in insertion order', () => {
  const s = new Scheduler();
  const log: string[] = [];
  s.at(2, () => log.push('c'));
  s.at(1, () => log.push('a1'));
  s.at(1, () => log.push('a2'));
  s.at(1, () => log.push('a3'));
  s.at(0.5, () => log.push('first'));
  s.runAll();
  assert.deepEqual(log, ['first', 'a1', 'a2', 'a3', 'c']);
  assert.equal(s.now, 2);
});

test('events scheduled during an event at the same time run after those already queued', () => {
  const s = new Scheduler();
  const log: string[] = [];
  s.at(1, () => {
    log.push('x');
    s.at(1, () => log.push('z'));
  });
  s.at(1, () => log.push('y'));
  s.runAll();
  assert.deepEqual(log, ['x', 'y', 'z']);
});

test('cancel, runUntil and the clock', () => {
  const s = new Scheduler();
  const log: number[] = [];
  const h = s.at(3, () => log.push(3));
  s.at(1, () => log.push(1));
  s.at(5, () => log.push(5));
  s.cancel(h);
  s.runUntil(4);
  assert.deepEqual(log, [1]);
  assert.equal(s.now, 4);
  assert.throws(() => s.at(2, () => {}), /past/);
  s.runUntil(10);
  assert.deepEqual(log, [1, 5]);
  assert.equal(s.eventsRun, 2);
});

test('heap order holds for many random events', () => {
  const s = new Scheduler();
  const r = new RngStreams(7).stream('t');
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = r.int(100);
    s.at(t, () => times.push(s.now));
  }
  s.runAll();
  assert.equal(times.length, 2000);
  for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! <= times[i]!);
});

test('named streams: same seed same numbers; a new consumer does not shift another stream', () => {
  const a = new RngStreams(42);
  const b = new RngStreams(42);
  const xs = [a.stream('load').next(), a.stream('load').next()];
  b.stream('churn').next(); // an extra consumer, drawn first
  b.stream('other').int(10);
  const ys = [b.stream('load').next(), b.stream('load').next()];
  assert.deepEqual(xs, ys);
  assert.notEqual(new RngStreams(43).stream('load').next(), xs[0]);
});

test('exponential draws have the right mean (seeded)', () => {
  const r = new RngStreams(1).stream('e');
  let sum = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) sum += r.exponential(4);
  assert.ok(Math.abs(sum / n - 0.25) < 0.01, `mean ${sum / n}`);
});

test('Zipf sampler: probabilities and uniform s = 0', () => {
  const z = new ZipfSampler(3, 1);
  // 1 : 1/2 : 1/3 normalised by 11/6
  assert.equal(z.p(0).toFixed(10), (6 / 11).toFixed(10));
  assert.equal(z.p(2).toFixed(10), (2 / 11).toFixed(10));
  const u = new ZipfSampler(4, 0);
  assert.equal(u.p(3), 0.25);
  const r = new RngStreams(3).stream('z');
  const counts = [0, 0, 0];
  for (let i = 0; i < 30000; i++) counts[z.draw(r)]!++;
  assert.ok(Math.abs(counts[0]! / 30000 - 6 / 11) < 0.01);
});
