/**
 * Issue 11: a run is all or nothing under signals. Real runs (spawned) are interrupted with SIGINT, SIGTERM and
 * SIGKILL at seeded random moments; each time the run directory must be the previous run or the complete new
 * one, with no `*.staging-*`, `*.tmp-*` or `*.old-*` sibling after SIGINT/SIGTERM, and after a SIGKILL none once
 * the next run is done. SIGINT exits 130 and SIGTERM 143, with one line saying so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import YAML from 'yaml';
import { mkTmp } from './fixtures/tmp.js';
import { RngStreams } from '../src/sim/rng.js';
import { PACKAGE_ROOT, TRANSIENT } from '../src/io/paths.js';
import { BASE_SCENARIO } from './fixtures/bad-inputs.js';
import { CLI } from './fixtures/cli.js';

const RUN_FILES = ['benchmark.json', 'charts', 'meta.json', 'metrics.csv', 'report.html', 'samples.json', 'scaling.csv', 'summary.md'];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
  /** ms from the end of the first case to the exit. */
  afterFirstCase: number;
}

/**
 * Runs the scenario; with `after` set, sends `signal` that many ms after the first case has finished (the program
 * is loaded and running then), or, with `fromStart`, that many ms after the start.
 */
function runAndMaybeSignal(dir: string, after: number | null, signal: NodeJS.Signals, fromStart = false): Promise<Exit> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [...CLI, 'run', path.join(dir, 's.yaml'), '--quick', '--no-wall', '--out', path.join(dir, 'out')],
      {
        cwd: PACKAGE_ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    let firstCase = 0;
    let timer: NodeJS.Timeout | null = after !== null && fromStart ? setTimeout(() => child.kill(signal), after) : null;
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (firstCase === 0 && stderr.includes('kpbench: [1/')) firstCase = Date.now();
      if (after !== null && !fromStart && timer === null && stderr.includes('kpbench: [1/'))
        timer = setTimeout(() => child.kill(signal), after);
    });
    child.on('close', (code, sig) => {
      if (timer !== null) clearTimeout(timer);
      resolve({ code, signal: sig, stderr, ms: Date.now() - started, afterFirstCase: firstCase === 0 ? 0 : Date.now() - firstCase });
    });
  });
}

/** The run directory: the previous run (same meta.json date) or a complete new one; returns its date. */
function checkRunDir(dir: string, previousDate: string | null): string {
  const out = path.join(dir, 'out');
  assert.deepEqual(fs.readdirSync(out).sort(), RUN_FILES, 'a whole run directory');
  const date = (JSON.parse(fs.readFileSync(path.join(out, 'meta.json'), 'utf8')) as { date: string }).date;
  if (previousDate !== null && date !== previousDate) {
    // a new run: its benchmark.json and metrics.csv belong to it
    assert.ok(fs.readFileSync(path.join(out, 'benchmark.json'), 'utf8').length > 2);
    assert.ok(fs.readFileSync(path.join(out, 'metrics.csv'), 'utf8').split('\n').length > 2);
  }
  return date;
}

function transients(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => TRANSIENT.test(n));
}

test('SIGINT, SIGTERM and SIGKILL at random moments leave the previous run or the complete new one', { timeout: 600_000 }, async () => {
  const dir = mkTmp(path.join(os.tmpdir(), 'kpb-sig-'));
  const scenario = { ...BASE_SCENARIO, name: 'signals', sweep: { 'cluster.services': [5, 10, 20, 50, 100] } };
  fs.writeFileSync(path.join(dir, 's.yaml'), YAML.stringify(scenario));

  // the previous run
  const first = await runAndMaybeSignal(dir, null, 'SIGINT');
  assert.equal(first.code, 0, first.stderr);
  let date = checkRunDir(dir, null);
  const rng = new RngStreams(11).stream('signal-test');
  // after the first case: anywhere in the rest of the run, the writing of the run directory included
  const span = first.afterFirstCase * 1.1;
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  let interrupted = 0;
  for (const sig of signals) {
    const at = Math.floor(rng.next() * span);
    const r = await runAndMaybeSignal(dir, at, sig);
    if (r.code === 0) {
      date = checkRunDir(dir, date); // finished before the signal
    } else if (r.code === null && r.signal === sig) {
      // the signal came before the program had loaded (and installed its handlers): nothing had begun
      assert.equal(r.stderr, '');
      date = checkRunDir(dir, date);
    } else {
      interrupted++;
      assert.equal(r.code, sig === 'SIGINT' ? 130 : 143, `${sig} at ${at} ms: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.match(lines[lines.length - 1]!, new RegExp(`^kpbench: ${sig}: interrupted`));
      assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
      date = checkRunDir(dir, date);
    }
    assert.deepEqual(transients(dir), [], `${sig} at ${at} ms`);
  }
  if (interrupted === 0) {
    // every seeded moment fell after the end of its run (a loaded machine makes the runs' lengths vary): one more,
    // right after the first of five cases, when the run is certainly under way
    const r = await runAndMaybeSignal(dir, 0, 'SIGINT');
    if (r.code !== 0) {
      interrupted++;
      assert.equal(r.code, 130, r.stderr);
    }
    date = checkRunDir(dir, date);
    assert.deepEqual(transients(dir), []);
  }
  assert.ok(interrupted > 0, 'at least one run was interrupted');

  // SIGKILL: no handler runs; the directory is still whole, and the next run sweeps what was left
  const at = Math.floor(rng.next() * first.ms);
  const killed = await runAndMaybeSignal(dir, at, 'SIGKILL', true);
  if (killed.signal === 'SIGKILL') date = checkRunDir(dir, date);
  const rerun = await runAndMaybeSignal(dir, null, 'SIGINT');
  assert.equal(rerun.code, 0, rerun.stderr);
  checkRunDir(dir, date);
  assert.deepEqual(transients(dir), []);
});
