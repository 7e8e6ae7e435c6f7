/**
 * The harness's own speed (`npm run bench:harness`): how the cost of building the cluster, the initial sync and
 * the measured phase grows with the number of services, and how fast the event scheduler is.
 *
 * For each size and backend, one case of scenarios/scaling.yaml (services set to the size, no wall-clock
 * metrics) runs in its own process through `kpbench profile --json`, so each case's peak RSS is its own. Then:
 * - per phase, the cost exponent: the log-log slope of CPU seconds against services (1.0 is linear; printed,
 *   not judged), with the time and heap at each size;
 * - the hold model (src/bench/hold.ts): the Scheduler and a plain binary heap, in this process, same run.
 * CPU seconds are used because on a shared machine wall time mostly measures the other processes.
 *
 * Writes the figures as github-action-benchmark JSON (customSmallerIsBetter, as src/report/export.ts writes
 * for runs) to --out (default results/harness/benchmark.json), so CI can chart the harness's own speed.
 *
 * Options: --sizes 2000,4000,8000  --backend iptables,ipvs  --out FILE  --events N (hold model, default 2e6)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import * as ss from 'simple-statistics';
import type { CaseProfile } from '../src/bench/profile.js';
import { PROFILE_PHASES } from '../src/bench/profile.js';
import { compareHold } from '../src/bench/hold.js';
import type { BenchmarkEntry } from '../src/report/export.js';
import { BACKEND_KINDS } from '../src/backends/registry.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const sizes = arg('sizes', '2000,4000,8000').split(',').map(Number);
const backends = arg('backend', BACKEND_KINDS.join(',')).split(',');
const out = arg('out', 'results/harness/benchmark.json');
const events = Number(arg('events', '2000000'));

const base = YAML.parse(fs.readFileSync('scenarios/scaling.yaml', 'utf8')) as Record<string, unknown>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kpbench-harness-'));
const profiles: CaseProfile[] = [];
try {
  for (const services of sizes) {
    const sc = structuredClone(base);
    delete sc.sweep;
    delete sc.quick;
    delete sc.expect;
    delete sc.reference;
    (sc.cluster as Record<string, unknown>).services = services;
    // keep about 100 pods per node, as the scaling scenario does at its largest size
    (sc.cluster as Record<string, unknown>).nodes = Math.max(100, Math.ceil(services / 10));
    sc.name = `harness-${services}`;
    const file = path.join(tmp, `harness-${services}.yaml`);
    fs.writeFileSync(file, YAML.stringify(sc));
    for (const b of backends) {
      const r = spawnSync(process.execPath, ['bin/kpbench.js', 'profile', file, '--json', '--backend', b], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      if (r.status !== 0) throw new Error(`profile ${b} ${services}: exit ${r.status}\n${r.stderr}`);
      const p = JSON.parse(r.stdout.trim().split('\n').pop()!) as CaseProfile;
      profiles.push(p);
      process.stderr.write(
        `bench:harness ${b} ${services} services: ${p.totalCpuSeconds.toFixed(2)} s CPU, ${(p.peakRssBytes / 2 ** 20).toFixed(0)} MiB peak RSS\n`,
      );
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

const entries: BenchmarkEntry[] = [];
const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
const lines: string[] = [];
lines.push(`Harness cost per phase (CPU seconds; heap in use at the end of the phase), sizes ${sizes.join(', ')} services`);
for (const b of backends) {
  const mine = profiles.filter((p) => p.backend === b).sort((x, y) => x.services - y.services);
  lines.push(`\n${b}`);
  lines.push(`${'phase'.padEnd(14)}${'exponent'.padStart(10)}${mine.map((p) => `${p.services} svc`.padStart(22)).join('')}`);
  for (const ph of PROFILE_PHASES) {
    const pts = mine.map((p) => [p.services, p.phases.find((x) => x.phase === ph)] as const).filter(([, x]) => x !== undefined);
    if (pts.length === 0) continue;
    const xy = pts.filter(([, x]) => x!.cpuSeconds > 0).map(([s, x]) => [Math.log(s), Math.log(x!.cpuSeconds)]);
    const exponent = xy.length >= 2 ? ss.linearRegression(xy).m : NaN;
    lines.push(
      `${ph.padEnd(14)}${(Number.isFinite(exponent) ? exponent.toFixed(2) : '-').padStart(10)}${pts.map(([, x]) => `${x!.cpuSeconds.toFixed(2)} s ${mib(x!.heapUsedBytes).toFixed(0)} MiB`.padStart(22)).join('')}`,
    );
    if (Number.isFinite(exponent))
      entries.push({
        name: `harness/${b}/${ph}/exponent`,
        unit: 'exponent',
        value: Math.round(exponent * 1000) / 1000,
        extra: `log-log slope of CPU seconds against services (${sizes.join(', ')})`,
      });
    for (const [s, x] of pts) {
      entries.push({ name: `harness/${b}/services=${s}/${ph}/cpu_time`, unit: 's', value: Math.round(x!.cpuSeconds * 1000) / 1000 });
      entries.push({ name: `harness/${b}/services=${s}/${ph}/heap_used`, unit: 'MiB', value: mib(x!.heapUsedBytes) });
    }
  }
  lines.push(
    `${'total'.padEnd(14)}${''.padStart(10)}${mine.map((p) => `${p.totalCpuSeconds.toFixed(2)} s ${mib(p.peakRssBytes).toFixed(0)} MiB RSS`.padStart(22)).join('')}`,
  );
  for (const p of mine) {
    entries.push({
      name: `harness/${b}/services=${p.services}/total/cpu_time`,
      unit: 's',
      value: Math.round(p.totalCpuSeconds * 1000) / 1000,
    });
    entries.push({ name: `harness/${b}/services=${p.services}/peak_rss`, unit: 'MiB', value: mib(p.peakRssBytes) });
  }
}

lines.push('\nEvent scheduler, hold model (best of 3 rounds each, CPU time, same process and run)');
for (const pending of [1000, 100_000]) {
  const h = compareHold(pending, events);
  lines.push(
    `${String(pending).padStart(7)} pending: Scheduler ${(h.scheduler.eventsPerSecond / 1e6).toFixed(2)} M events/s, plain binary heap ${(h.plain.eventsPerSecond / 1e6).toFixed(2)} M events/s, time ratio ${h.ratio.toFixed(2)} (below 1: faster)`,
  );
  entries.push({
    name: `harness/scheduler/hold/pending=${pending}/ns_per_event`,
    unit: 'ns',
    value: Math.round(1e9 / h.scheduler.eventsPerSecond),
    extra: `plain binary heap: ${Math.round(1e9 / h.plain.eventsPerSecond)} ns`,
  });
  entries.push({
    name: `harness/scheduler/hold/pending=${pending}/ratio_to_plain_heap`,
    unit: 'ratio',
    value: Math.round(h.ratio * 1000) / 1000,
  });
}

process.stdout.write(`${lines.join('\n')}\n`);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, `${JSON.stringify(entries, null, 2)}\n`);
process.stdout.write(`\nbenchmark JSON (customSmallerIsBetter) written to ${out}\n`);
