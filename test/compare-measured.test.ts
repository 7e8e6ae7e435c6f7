import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import seedrandom from 'seedrandom';
import { kpbench } from './fixtures/compare/cli.js';
import { compareRows, compareRuns } from '../src/report/compare.js';
import { formatMetricsCsv, formatSamplesJson, type MetricRow, type SampleSet } from '../src/report/csvio.js';
import { median } from 'simple-statistics';
import { mannWhitneyU } from '../src/metrics/stats.js';

// ---------------------------------------------------------------------------------------------
// The test itself, pinned against scipy.stats.mannwhitneyu(a, b, method="asymptotic", use_continuity=True)
// ---------------------------------------------------------------------------------------------

test('Mann-Whitney U: statistic exact, p-value as scipy computes it', () => {
  const close = (got: number, want: number) => assert.ok(Math.abs(got - want) < 1e-8, `${got} vs ${want}`);
  // complete separation: U = 0, scipy p = 0.012185780355344813
  let r = mannWhitneyU([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
  assert.equal(r.u, 0);
  close(r.pValue, 0.012185780355344813);
  assert.ok(r.z < 0);
  // ties within and across samples: U = 8.5, scipy p = 0.043051432728945134
  r = mannWhitneyU([1, 2, 2, 3, 3, 3, 4], [2, 3, 4, 4, 5, 5, 6]);
  assert.equal(r.u, 8.5);
  close(r.pValue, 0.043051432728945134);
  // U = 35.5, scipy p = 0.7180679342556091
  r = mannWhitneyU([3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8, 2, 8]);
  assert.equal(r.u, 35.5);
  close(r.pValue, 0.7180679342556091);
  // the same sample, and everything tied: p = 1
  assert.deepEqual(mannWhitneyU([1.1, 2.2, 3.3], [1.1, 2.2, 3.3]), { u: 4.5, z: 0, pValue: 1 });
  assert.deepEqual(mannWhitneyU([5, 5, 5], [5, 5]), { u: 3, z: 0, pValue: 1 });
  // symmetric: swapping the samples gives n1*n2 - U and the same p
  const a = [0.3, 0.1, 0.7, 0.2];
  const b = [0.9, 0.4, 0.8];
  assert.equal(mannWhitneyU(a, b).u + mannWhitneyU(b, a).u, 12);
  assert.equal(mannWhitneyU(a, b).pValue, mannWhitneyU(b, a).pValue);
  assert.throws(() => mannWhitneyU([], [1]), RangeError);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

// ---------------------------------------------------------------------------------------------
// Synthetic measured runs: log-normal timing noise from seeded streams
// ---------------------------------------------------------------------------------------------

/** n log-normal draws with median `med` and log-sd `sigma` (Box-Muller on a seeded stream). */
function lognormal(seed: string, n: number, med: number, sigma: number): number[] {
  const rng = seedrandom(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u1 = 1 - rng();
    const u2 = rng();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    out.push(med * Math.exp(sigma * z));
  }
  return out;
}

const POINT = { scenario: 'scaling', backend: 'iptables', services: 1000, endpoints_per_service: 10 };

/** A run's rows (p50, p99, rme, samples) and sample set for wall_lookup_time_rel from `samples`. */
function measuredRun(samples: number[]): { rows: MetricRow[]; sets: SampleSet[] } {
  const sorted = [...samples].sort((x, y) => x - y);
  const rows: MetricRow[] = [
    { ...POINT, metric: 'wall_lookup_time_rel', statistic: 'p50', value: median(samples), unit: 's' },
    { ...POINT, metric: 'wall_lookup_time_rel', statistic: 'p99', value: sorted[Math.floor(0.99 * (sorted.length - 1))]!, unit: 's' },
    { ...POINT, metric: 'wall_lookup_time_rel', statistic: 'rme', value: 1.5, unit: '%' },
    { ...POINT, metric: 'wall_lookup_time_rel', statistic: 'samples', value: samples.length, unit: 'samples' },
    // a counted row alongside, identical in both runs
    { ...POINT, metric: 'first_packet_rules_evaluated', statistic: 'mean', value: 3012, unit: 'rules' },
  ];
  return { rows, sets: [{ ...POINT, metric: 'wall_lookup_time_rel', unit: 's', samples }] };
}

function writeRun(dir: string, run: { rows: MetricRow[]; sets: SampleSet[] }, withSamples = true): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'metrics.csv'), formatMetricsCsv(run.rows));
  // a whole run has its meta.json (compare refuses a directory without one)
  fs.writeFileSync(
    path.join(dir, 'meta.json'),
    JSON.stringify({
      seed: 1,
      gitCommit: null,
      node: 'v20.0.0',
      cpu: 'CPU A',
      cpus: 4,
      platform: 'linux-x64',
      date: 'd',
      argv: [],
      quick: true,
      shard: null,
      scenarios: [],
    }),
  );
  if (withSamples) fs.writeFileSync(path.join(dir, 'samples.json'), formatSamplesJson(run.sets));
  return dir;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kpbench-measured-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const BASE = lognormal('baseline', 200, 2e-6, 0.25);
const SLOW = lognormal('current', 200, 4e-6, 0.25); // 2x slower
const baseRun = writeRun(path.join(tmp, 'base'), measuredRun(BASE));
const slowRun = writeRun(path.join(tmp, 'slow'), measuredRun(SLOW));

/** Draws from the same distribution as BASE (another stream), scaled so its median is exactly `factor` times BASE's. */
function sameDistribution(factor: number): number[] {
  const draws = lognormal('same-distribution', 200, 2e-6, 0.25);
  const k = (factor * median(BASE)) / median(draws);
  return draws.map((v) => v * k);
}

test('a measured metric 2x slower, with samples in both runs: regressed (exit 1), p50 only gated', async () => {
  const res = compareRuns(baseRun, slowRun);
  const p50 = res.rows.find((r) => r.metric === 'wall_lookup_time_rel' && r.statistic === 'p50')!;
  assert.equal(p50.verdict, 'regressed');
  assert.equal(p50.gated, true);
  assert.deepEqual(p50.sampleCounts, [200, 200]);
  assert.ok(p50.pValue !== null && p50.pValue < 1e-20, String(p50.pValue));
  assert.ok(p50.ratio !== null && p50.ratio > 1.8 && p50.ratio < 2.2, String(p50.ratio));
  // p99 moved too, but is informational; rme did not move; the samples count is the same
  const p99 = res.rows.find((r) => r.statistic === 'p99')!;
  assert.equal(p99.verdict, 'changed');
  assert.equal(p99.gated, false);
  assert.equal(p99.note, 'informational (p50 is gated)');
  assert.equal(res.rows.find((r) => r.statistic === 'rme')!.verdict, 'unchanged');
  assert.equal(res.failures, 1);

  const cli = await kpbench('compare', baseRun, slowRun);
  assert.equal(cli.code, 1);
  assert.match(cli.stdout, /^REGRESSED\s+scaling\s+iptables\s+1000\s+10\s+wall_lookup_time_rel\s+p50\s.*p=\d/m);
  // and the other way round it is an improvement
  assert.equal(compareRuns(slowRun, baseRun).rows.find((r) => r.statistic === 'p50')!.verdict, 'improved');
});

test('the same distribution with a 3% median difference: unchanged', () => {
  const cur = sameDistribution(1.03);
  const res = compareRows(measuredRun(BASE).rows, measuredRun(cur).rows, measuredRun(BASE).sets, measuredRun(cur).sets);
  const p50 = res.rows.find((r) => r.statistic === 'p50')!;
  assert.ok(Math.abs(p50.change! - 0.03) < 1e-12, String(p50.change));
  assert.equal(p50.verdict, 'unchanged');
  assert.equal(res.failed, false);
  // beyond a 1% threshold the change must also be significant, which 3% on this noise is not
  const strict = compareRows(measuredRun(BASE).rows, measuredRun(cur).rows, measuredRun(BASE).sets, measuredRun(cur).sets, {
    threshold: 1,
  });
  const s50 = strict.rows.find((r) => r.statistic === 'p50')!;
  assert.equal(s50.verdict, 'unchanged');
  assert.ok(s50.pValue! > 0.01, String(s50.pValue));
  assert.match(s50.note, /^not significant \(p=0\.\d{4} >= 0\.01\)$/);
});

test('a per-metric tolerance overrides the measured threshold', () => {
  const res = compareRuns(baseRun, slowRun, { tolerances: { wall_lookup_time_rel: 150 } });
  assert.equal(res.rows.find((r) => r.statistic === 'p50')!.verdict, 'unchanged');
});

test('measured rows without samples are reported but never fail', async () => {
  const noSamples = writeRun(path.join(tmp, 'slow-no-samples'), measuredRun(SLOW), false);
  const res = compareRuns(baseRun, noSamples);
  const p50 = res.rows.find((r) => r.statistic === 'p50')!;
  assert.equal(p50.verdict, 'changed');
  assert.equal(p50.gated, false);
  assert.equal(p50.note, 'no samples in current: not gated');
  const cli = await kpbench('compare', baseRun, noSamples);
  assert.equal(cli.code, 0);
  // metrics.csv files not named metrics.csv are read alone, without samples
  const bare = path.join(tmp, 'bare.csv');
  fs.copyFileSync(path.join(baseRun, 'metrics.csv'), bare);
  assert.equal(compareRuns(bare, slowRun).rows.find((r) => r.statistic === 'p50')!.note, 'no samples in baseline: not gated');
});

test('a measured metric with a mean row and no p50 is gated on the mean', () => {
  const rows = (v: number): MetricRow[] => [{ ...POINT, metric: 'wall_sync_time_rel', statistic: 'mean', value: v, unit: 's' }];
  const sets = (xs: number[]): SampleSet[] => [{ ...POINT, metric: 'wall_sync_time_rel', unit: 's', samples: xs }];
  const res = compareRows(rows(1), rows(2), sets([1, 1.1, 0.9, 1, 1.05, 0.95, 1, 1.02]), sets([2, 2.1, 1.9, 2, 2.05, 1.95, 2, 2.02]));
  const r = res.rows[0]!;
  assert.equal(r.gated, true);
  assert.equal(r.verdict, 'regressed');
  assert.equal(r.pValue, mannWhitneyU([1, 1.1, 0.9, 1, 1.05, 0.95, 1, 1.02], [2, 2.1, 1.9, 2, 2.05, 1.95, 2, 2.02]).pValue);
});

test('measured rows are not gated across machines, nor with measured: report', async () => {
  const meta = (cpu: string) =>
    JSON.stringify({
      seed: 1,
      gitCommit: null,
      node: 'v20.0.0',
      cpu,
      cpus: 4,
      platform: 'linux-x64',
      date: 'd',
      argv: [],
      quick: true,
      shard: null,
      scenarios: [],
    });
  const a = writeRun(path.join(tmp, 'machine-a'), measuredRun(BASE));
  const b = writeRun(path.join(tmp, 'machine-b'), measuredRun(SLOW));
  fs.writeFileSync(path.join(a, 'meta.json'), meta('CPU A'));
  fs.writeFileSync(path.join(b, 'meta.json'), meta('CPU B'));
  const res = compareRuns(a, b);
  const p50 = res.rows.find((r) => r.statistic === 'p50')!;
  assert.equal(p50.verdict, 'changed');
  assert.equal(p50.gated, false);
  assert.equal(p50.note, 'runs on different machines: not gated');
  assert.deepEqual(res.warnings, ['runs were made on different machines (CPU CPU A vs CPU B): measured rows are reported, not gated']);
  assert.equal((await kpbench('compare', a, b)).code, 0);
  // the same machine: gated again
  fs.writeFileSync(path.join(b, 'meta.json'), meta('CPU A'));
  assert.equal((await kpbench('compare', a, b)).code, 1);
  // --measured report: never gated
  const rep = await kpbench('compare', a, b, '--measured', 'report');
  assert.equal(rep.code, 0);
  assert.match(
    rep.stdout,
    /^changed\s+scaling\s+iptables\s+1000\s+10\s+wall_lookup_time_rel\s+p50\s.*measured rows not gated \(--measured report\)$/m,
  );
  assert.ok(rep.stdout.includes('measured not gated)'));
});
