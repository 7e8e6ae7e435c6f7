#!/usr/bin/env node
// Test runner for `npm test`: unit test files in parallel (one node --test process per file, as many at once as
// the machine has cores), then the end-to-end and timing files one at a time (they run whole suites, spawn the
// CLI, or time code, and must not compete with each other). Output is node's spec reporter, streamed; at the end
// the two runs' summaries are added into one closing summary in the same format (ℹ tests / pass / fail ...),
// which CI reads. Arguments: test files to run instead of test/*.test.ts (each still goes to its group).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Files that run alone: whole-suite runs, CLI processes, wall-clock timing, real netfilter in namespaces. */
const SERIAL = new Set([
  'test/bench-e2e.test.ts',
  'test/micro-gate.test.ts',
  'test/realtool-iptables.test.ts',
  'test/ipvs-realtool.test.ts',
  'test/iptables-eras.test.ts',
]);

const all = process.argv.length > 2 ? process.argv.slice(2) : readdirSync('test').filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/${f}`);
const unit = all.filter((f) => !SERIAL.has(f));
const serial = all.filter((f) => SERIAL.has(f));

const KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];

/** Runs node --test on `files`; streams its output except the closing summary, which it returns. */
function run(files, concurrency) {
  return new Promise((resolve) => {
    if (files.length === 0) return resolve({ code: 0, summary: {} });
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const summary = {};
    let buf = '';
    const line = (l) => {
      const m = /^ℹ (\w+) ([\d.]+)$/.exec(l);
      if (m !== null && KEYS.includes(m[1])) summary[m[1]] = Number(m[2]);
      else process.stdout.write(`${l}\n`);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        line(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    child.on('close', (code) => {
      if (buf !== '') line(buf);
      resolve({ code: code ?? 1, summary });
    });
  });
}

const start = Date.now();
const a = await run(unit, Math.max(2, availableParallelism()));
const b = await run(serial, 1);
for (const k of KEYS) {
  const v = k === 'duration_ms' ? Date.now() - start : (a.summary[k] ?? 0) + (b.summary[k] ?? 0);
  process.stdout.write(`ℹ ${k} ${v}\n`);
}
process.exitCode = a.code !== 0 || b.code !== 0 ? 1 : 0;
