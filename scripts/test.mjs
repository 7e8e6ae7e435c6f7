#!/usr/bin/env node
// Test runner for `npm test`: every test file in a node --test process of its own, as many at once as the machine
// has cores (at least 2), the longest files first. The end-to-end and timing files (whole-suite runs that keep both
// cores busy themselves, wall-clock micro-benchmarks) run alone: no other file runs beside them. The real-tool
// files each work in network namespaces of their own and run beside the unit files. A file's output (node's spec
// reporter) is printed whole when it ends, under a `▶ <file> (<seconds> s)` line; at the end the files' summaries
// are added into one closing summary in node's format (ℹ tests / pass / fail ...), which CI reads. Arguments: test
// files to run instead of test/*.test.ts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { buildMirror, ROOT } from '../bin/build.mjs';

/**
 * The tests run compiled: every .ts file of src/ and test/ is transpiled once (bin/build.mjs, the same build the
 * CLI uses) into a mirror of the package under node_modules/.cache/kpbench-test/<pid>, where every other file and
 * directory is a symbolic link to the original (scenarios/, fixtures, package.json, ...). A test process then loads
 * plain JavaScript instead of paying for tsx's loader hooks on every module (about 1.4 s of CPU per process that
 * loads the whole tree, in each of ~70 test files and the CLI processes they start). Source maps are written beside
 * the files but read only with KPBENCH_TEST_SOURCE_MAPS=1 (stack traces at .ts lines; reading them costs ~0.25 s of
 * CPU per process); a run that fails keeps its mirror, so its stack traces can be looked up. Returns the mirror's
 * root.
 */
async function compile() {
  const base = path.join(ROOT, 'node_modules', '.cache', 'kpbench-test');
  fs.mkdirSync(base, { recursive: true });
  for (const pid of fs.readdirSync(base)) {
    // a mirror left by a run that was killed
    try {
      process.kill(Number(pid), 0);
    } catch {
      fs.rmSync(path.join(base, pid), { recursive: true, force: true });
    }
  }
  const out = path.join(base, String(process.pid));
  process.on('exit', (code) => {
    if (code === 0) fs.rmSync(out, { recursive: true, force: true });
  });
  await buildMirror(out, ['src', 'test'], true);
  return out;
}

/** Files that run alone: whole-suite runs (each already runs two CLI processes at a time) and wall-clock timing. */
const ALONE = new Set(['test/bench-e2e.test.ts', 'test/micro-gate.test.ts']);

/**
 * The files that run alone first (they wait for no other file), then the longest, longest first (wall seconds of
 * each in a whole run on the 2-core machine), then the rest in name order: starting the long ones first keeps both
 * cores busy to the end.
 */
const LONGEST = [
  'test/bench-e2e.test.ts',
  'test/micro-gate.test.ts',
  'test/reliability.test.ts',
  'test/kernel-realtool.test.ts',
  'test/realtool-iptables.test.ts',
  'test/signals.test.ts',
  'test/report-browser.test.ts',
  'test/report-compare.test.ts',
  'test/bad-inputs.test.ts',
  'test/render-cli.test.ts',
  'test/realtool-nftables.test.ts',
  'test/iptables-eras.test.ts',
  'test/ipvs-ipv6.test.ts',
];

const files = (
  process.argv.length > 2
    ? process.argv.slice(2)
    : fs
        .readdirSync('test')
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => `test/${f}`)
).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
function rank(f) {
  const i = LONGEST.indexOf(f);
  return i < 0 ? LONGEST.length : i;
}

const KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];

/** Runs node --test on one file; returns its exit code, its output without the closing summary, and the summary. */
function runFile(build, file) {
  return new Promise((resolve) => {
    const compiled = path.join(build, path.relative(ROOT, path.resolve(file)).replace(/\.ts$/, '.js'));
    const maps = process.env['KPBENCH_TEST_SOURCE_MAPS'] === '1' ? ['--enable-source-maps'] : [];
    const child = spawn(process.execPath, [...maps, '--test', '--test-reporter=spec', compiled], { stdio: ['ignore', 'pipe', 'inherit'] });
    const summary = {};
    const out = [];
    let buf = '';
    const line = (l) => {
      const m = /^ℹ (\w+) ([\d.]+)$/.exec(l);
      if (m !== null && KEYS.includes(m[1])) summary[m[1]] = Number(m[2]);
      else out.push(l);
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
      resolve({ code: code ?? 1, out, summary });
    });
  });
}

const start = Date.now();
const build = await compile();
const slots = Math.max(2, availableParallelism());
const total = Object.fromEntries(KEYS.map((k) => [k, 0]));
let failed = false;
let used = 0;
const waiting = [...files];
await new Promise((done) => {
  const next = () => {
    if (waiting.length === 0 && used === 0) return done();
    while (waiting.length > 0) {
      const need = ALONE.has(waiting[0]) ? slots : 1;
      if (used + need > slots) return;
      const file = waiting.shift();
      used += need;
      const t0 = Date.now();
      void runFile(build, file).then((r) => {
        used -= need;
        process.stdout.write(`▶ ${file} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n${r.out.map((l) => `${l}\n`).join('')}`);
        for (const k of KEYS) total[k] += r.summary[k] ?? 0;
        if (r.code !== 0) failed = true;
        next();
      });
    }
  };
  next();
});
total.duration_ms = Date.now() - start;
for (const k of KEYS) process.stdout.write(`ℹ ${k} ${total[k]}\n`);
if (failed && process.env['KPBENCH_TEST_SOURCE_MAPS'] !== '1')
  process.stderr.write(`stack traces point into the compiled tests, kept in ${build}; KPBENCH_TEST_SOURCE_MAPS=1 shows .ts lines\n`);
process.exitCode = failed ? 1 : 0;
