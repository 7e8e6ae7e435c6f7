/**
 * loader.py, which runs and times each group of repeated loads inside a namespace: its bounds (at least `min`
 * repetitions, at most `max`, none started past the budget, and a stop once the median is known within the
 * tolerance, never before 3), the cycle of partial inputs completed untimed, and a failing tool. Run here outside any
 * namespace with harmless commands (no root needed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LOADER = fileURLToPath(new URL('../src/kernel/loader.py', import.meta.url));
const hasPython = spawnSync('python3', ['--version']).status === 0;

interface Out {
  cpu: number[];
  wall: number[];
  which: number[];
}

function load(input: object): { code: number | null; out: Out | null; stderr: string } {
  const r = spawnSync('python3', ['-S', '-E', LOADER], { input: JSON.stringify(input), encoding: 'utf8' });
  return { code: r.status, out: r.status === 0 ? (JSON.parse(r.stdout) as Out) : null, stderr: r.stderr };
}

const TRUE = { argv: ['true'] };

test('loader.py: max repetitions without a tolerance; with one met at once, it stops at min or 3, whichever is more', (t) => {
  if (!hasPython) return t.skip('python3 not installed');
  const base = { steps: [TRUE], cycle: [[0]], budget: 600, confidence: 0.8 };
  assert.equal(load({ ...base, min: 2, max: 5, tolerance: null }).out!.cpu.length, 5);
  assert.equal(load({ ...base, min: 2, max: 5, tolerance: 1e9 }).out!.cpu.length, 3);
  assert.equal(load({ ...base, min: 4, max: 5, tolerance: 1e9 }).out!.cpu.length, 4);
  assert.equal(load({ ...base, min: 2, max: 2, tolerance: 1e9 }).out!.cpu.length, 2);
  // before toleranceAfter seconds, no early stop
  assert.equal(load({ ...base, min: 2, max: 5, tolerance: 1e9, toleranceAfter: 600 }).out!.cpu.length, 5);
  // a tolerance no spread meets: up to max
  assert.equal(load({ ...base, min: 2, max: 6, tolerance: -1 }).out!.cpu.length, 6);
  // the budget spent: min repetitions
  assert.equal(load({ ...base, min: 2, max: 6, budget: 0, tolerance: null }).out!.cpu.length, 2);
  const r = load({ ...base, min: 3, max: 3, tolerance: null }).out!;
  for (const [i, cpu] of r.cpu.entries()) assert.ok(cpu >= 0 && cpu <= r.wall[i]!, `cpu ${cpu} wall ${r.wall[i]}`);
});

test('loader.py: untimed steps before each repetition, the cycle completed untimed at the end', (t) => {
  if (!hasPython) return t.skip('python3 not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpb-loader-'));
  try {
    const log = path.join(dir, 'log');
    const say = (word: string) => ({ argv: ['sh', '-c', `cat >> ${log}`], stdin: `${word}\n` });
    const r = load({
      steps: [say('reset'), say('a'), say('b')],
      untimed: [0],
      cycle: [[1], [2]],
      finish: true,
      min: 3,
      max: 3,
      budget: 600,
    });
    assert.deepEqual(r.out!.which, [0, 1, 0]);
    assert.deepEqual(fs.readFileSync(log, 'utf8').trim().split('\n'), ['reset', 'a', 'reset', 'b', 'reset', 'a', 'b']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('loader.py: a failing tool stops the group with exit 1 and its first error lines', (t) => {
  if (!hasPython) return t.skip('python3 not installed');
  const r = load({ steps: [{ argv: ['sh', '-c', 'echo no such table >&2; exit 4'] }], cycle: [[0]], min: 1, max: 3, budget: 600 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /FAILED sh -c .* \(exit 4\): no such table/);
});
