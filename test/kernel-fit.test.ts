/**
 * The calibration fit: kernel rows made from known coefficients through the backends' own cost models are fitted
 * back to exactly those coefficients (non-negative least squares, relative weights); and the fit's building blocks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricRow } from '../src/types.js';
import { fitCoefficients, nnls } from '../src/kernel/fit.js';
import { calibrate, agreementWithCalibration, readCalibration, writeCalibration } from '../src/kernel/calibrate.js';
import { kernelVariants } from '../src/kernel/dataplanes.js';
import { variantModel } from '../src/kernel/model.js';
import { agreementVerdicts } from '../src/kernel/summary.js';
import { atSizes } from '../src/kernel/run.js';
import { roundsMedian } from '../src/kernel/rows.js';
import { loadScenario } from '../src/scenario/load.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(Math.abs(expected), 1e-12), `${what}: ${actual} != ${expected}`);
}

test('nnls solves an exact non-negative system and clamps a negative solution to 0', () => {
  const A = [
    [1, 0],
    [0, 1],
    [1, 1],
  ];
  const c = nnls(A, [2, 3, 5]);
  close(c[0]!, 2, 'c0');
  close(c[1]!, 3, 'c1');
  // unconstrained least squares would give c1 < 0
  const d = nnls(
    [
      [1, 1],
      [1, 0],
      [0, 1],
    ],
    [1, 2, -1],
  );
  assert.equal(d[1], 0);
  close(d[0]!, 1.5, 'd0');
});

test('fitCoefficients recovers known coefficients from exact data, with zero relative error', () => {
  const truth = { fixed: 1e-3, a: 3.5e-6, b: 4e-6, q: 2e-4 };
  const obs = [];
  for (const n of [3209, 32009, 96009, 310000]) {
    for (const w of [n, n / 30]) {
      const x = { fixed: 1, a: w, b: n, q: (w / 1000) ** 2 };
      obs.push({ x, y: truth.fixed + truth.a * x.a + truth.b * x.b + truth.q * x.q });
    }
  }
  const f = fitCoefficients(obs, ['fixed', 'a', 'b', 'q']);
  for (const [k, v] of Object.entries(truth)) close(f.coefficients[k]!, v, k);
  assert.ok(f.maxRelError < 1e-9);
  assert.equal(f.n, 8);
});

const legacy = kernelVariants().find((v) => v.name === 'iptables-legacy')!;
const nft = kernelVariants().find((v) => v.name === 'iptables-nft')!;

/** Kernel-run rows for a variant whose kernel times are exactly `coefficients`' model of the counts. */
function syntheticRows(variant: typeof legacy, coefficients: Record<string, number>): MetricRow[] {
  const model = variantModel(variant, coefficients);
  const rows: MetricRow[] = [];
  for (const s of [100, 300, 1000, 3000, 10000]) {
    const key = { scenario: 'scaling', backend: variant.name, services: s, endpoints_per_service: 10 };
    const add = (metric: string, statistic: MetricRow['statistic'], value: number): void =>
      void rows.push({ ...key, metric, statistic, value, unit: '' });
    const full = { rules_written: 32 * s + 9, chains_written: 11 * s + 10, bytes_written: 3240 * s, rules_in_kernel: 32 * s + 23 };
    const partial = { rules_written: s + 40, chains_written: 21, bytes_written: 140 * s, rules_in_kernel: 32 * s + 25 };
    for (const [k, v] of Object.entries(full)) add(`initial_sync_${k}`, 'value', v);
    for (const [k, v] of Object.entries(partial)) add(`sync_${k}`, 'mean', v);
    add('kernel_sync_time', 'p50', model.syncSeconds(full, 'full'));
    add('kernel_partial_sync_time', 'p50', model.syncSeconds(partial, 'partial'));
    const walked: Record<string, number> = { first: 14, median: Math.round(s / 2) + 14, last: s + 14 };
    for (const [pos, w] of Object.entries(walked)) {
      add(`first_packet_rules_evaluated_${pos}`, 'value', w);
      add(`kernel_first_packet_time_${pos}`, 'p50', model.lookupSeconds({ rules_evaluated: w }));
    }
    add('kernel_first_packet_time', 'p50', model.lookupSeconds({ rules_evaluated: walked.median! }));
  }
  return rows;
}

test("calibrate recovers the iptables flavours' coefficients exactly from synthetic kernel rows", () => {
  const truthLegacy = {
    restoreFixed: 5e-3,
    perRuleWritten: 4e-6,
    perRuleInKernel: 3e-6,
    perKiloRuleWrittenSquared: 1.5e-4,
    perKiloRuleInKernelSquared: 2e-5,
    firstPacketFixed: 60e-6,
    perRuleEvaluated: 3e-9,
  };
  const truthNft = {
    restoreFixed: 20e-3,
    perRuleWritten: 40e-6,
    perRuleInKernel: 1e-6,
    perKiloRuleWrittenSquared: 4e-4,
    perKiloRuleInKernelSquared: 0,
    firstPacketFixed: 70e-6,
    perRuleEvaluated: 12e-9,
  };
  const rows = [...syntheticRows(legacy, truthLegacy), ...syntheticRows(nft, truthNft)];
  const cal = calibrate(rows, 'synthetic', new Date('2026-01-01T00:00:00Z'));
  assert.deepEqual(Object.keys(cal.coefficients).sort(), ['iptables-legacy', 'iptables-nft']);
  for (const [name, truth] of [
    ['iptables-legacy', truthLegacy],
    ['iptables-nft', truthNft],
  ] as const) {
    for (const [k, v] of Object.entries(truth)) close(cal.coefficients[name]![k]!, v, `${name} ${k}`);
    assert.ok(cal.fits[name]!.sync!.maxRelError < 1e-9);
    assert.ok(cal.fits[name]!.firstPacket!.maxRelError < 1e-9);
  }
  assert.deepEqual(cal.fits['iptables-legacy']!.firstPacket!.fitted, ['firstPacketFixed', 'perRuleEvaluated']);
  // the calibrated model reproduces the rows: agreement 0 at every size
  const verdicts = agreementVerdicts(agreementWithCalibration(rows, cal));
  assert.equal(verdicts.length, 6);
  for (const v of verdicts) assert.ok(v.ok && v.worst < 1e-9, `${v.backend} ${v.quantity}: ${v.worst}`);
  // round trip through the file
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpb-cal-'));
  try {
    const file = path.join(dir, 'calibration.json');
    writeCalibration(file, cal);
    assert.deepEqual(readCalibration(file).coefficients, cal.coefficients);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readCalibration refuses a bad file with the field at fault', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpb-cal-'));
  try {
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ kind: 'kpbench-calibration', version: 1, coefficients: { 'iptables-legacy': { perRuleWritten: -1 } } }),
    );
    assert.throws(() => readCalibration(file), /coefficients\.iptables-legacy\.perRuleWritten: must be a non-negative number/);
    fs.writeFileSync(file, '{"kind":"other"}');
    assert.throws(() => readCalibration(file), /bad\.json: kind/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the iptables flavours have their own default cost models; legacy keeps the committed linear one', () => {
  const counts = { rules_written: 32009, rules_in_kernel: 32023 };
  const l = variantModel(legacy);
  close(l.syncSeconds(counts), 1e-3 + 32009 * 3.5e-6 + 32023 * 3.5e-6, 'legacy full sync');
  close(l.lookupSeconds({ rules_evaluated: 1000 }), 3e-6, 'legacy lookup');
  const n = variantModel(nft);
  assert.notEqual(n.syncSeconds(counts), l.syncSeconds(counts));
  close(n.lookupSeconds({ rules_evaluated: 1000 }), 12e-6, 'nft lookup');
});

test('the minimax refinement never raises the largest relative error, and keeps exact data exact', () => {
  // a line through noisy points: least squares leaves one point far off, minimax spreads the error
  const obs = [
    { x: { fixed: 1, n: 100 }, y: 1.0 },
    { x: { fixed: 1, n: 200 }, y: 2.6 },
    { x: { fixed: 1, n: 400 }, y: 3.8 },
    { x: { fixed: 1, n: 800 }, y: 8.5 },
    { x: { fixed: 1, n: 1600 }, y: 15.2 },
  ];
  const ls = fitCoefficients(obs, ['fixed', 'n']);
  const mm = fitCoefficients(obs, ['fixed', 'n'], { minimax: true });
  assert.ok(mm.maxRelError <= ls.maxRelError, `${mm.maxRelError} > ${ls.maxRelError}`);
  const exact = [1, 2, 3].map((k) => ({ x: { fixed: 1, n: k * 100 }, y: 0.5 + 0.01 * k * 100 }));
  const e = fitCoefficients(exact, ['fixed', 'n'], { minimax: true });
  close(e.coefficients.fixed!, 0.5, 'fixed');
  close(e.coefficients.n!, 0.01, 'n');
});

test('kernel --services: the scenario at those sizes instead of its sweep, each case validated', () => {
  const loaded = loadScenario('scenarios/scaling.yaml', { quick: true });
  const cases = atSizes(loaded.cases, [200, 1500, 4000]);
  assert.deepEqual(
    cases.map((c) => c.scenario.cluster.services),
    [200, 1500, 4000],
  );
  assert.deepEqual(
    cases.map((c) => c.point['cluster.services']),
    [200, 1500, 4000],
  );
  // everything else is the quick variant's
  for (const c of cases) assert.equal(c.scenario.cluster.nodes, loaded.cases[0]!.scenario.cluster.nodes);
  assert.throws(() => atSizes(loaded.cases, [10_000_000]), /cluster/);
});

test('calibrate gives a cost that observations cannot tell from an earlier one to the earlier one, and 0 to it', () => {
  const nftables = kernelVariants().find((v) => v.name === 'nftables')!;
  const truth = variantModel(nftables).coefficients;
  const rows: MetricRow[] = [];
  // nftables' first packets: the same rules walked and lookups at every position and size
  for (const s of [100, 1000, 3000]) {
    const key = { scenario: 'scaling', backend: 'nftables', services: s, endpoints_per_service: 10 };
    const add = (metric: string, statistic: MetricRow['statistic'], value: number): void =>
      void rows.push({ ...key, metric, statistic, value, unit: '' });
    add('initial_sync_transaction_operations', 'value', 22 * s);
    add('initial_sync_transactions', 'value', 1);
    add('kernel_sync_time', 'p50', 0.01 + 22 * s * 2e-6);
    for (const pos of ['first', 'median', 'last']) {
      add(`first_packet_rules_evaluated_${pos}`, 'value', 18);
      add(`first_packet_lookups_${pos}`, 'value', 3);
      add(`kernel_first_packet_time_${pos}`, 'p50', 80e-6);
    }
  }
  const cal = calibrate(rows, 'synthetic');
  const co = cal.coefficients.nftables!;
  assert.deepEqual(cal.fits.nftables!.firstPacket!.fitted, ['firstPacketFixed']);
  close(co.firstPacketFixed!, 80e-6, 'firstPacketFixed');
  assert.equal(co.perRuleEvaluated, 0);
  assert.equal(co.perLookup, 0);
  assert.ok(truth.perLookup! > 0);
});

test("calibrate recovers nftables' coefficients from synthetic kernel rows, the per-object listing cost included", () => {
  const nftables = kernelVariants().find((v) => v.name === 'nftables')!;
  const truth = {
    nftProcess: 6e-3,
    perOperation: 14e-6,
    perOperationSquared: 0,
    perSetScan: 1.6e-6,
    perObjectSquaredRead: 3e-11,
    perObjectListed: 6e-6,
    perObjectSquaredListed: 0,
    firstPacketFixed: 85e-6,
    perRuleEvaluated: 0,
    perLookup: 0,
  };
  const model = variantModel(nftables, truth);
  const rows: MetricRow[] = [];
  for (const s of [100, 300, 1000, 3000, 10000]) {
    const key = { scenario: 'scaling', backend: 'nftables', services: s, endpoints_per_service: 10 };
    const add = (metric: string, statistic: MetricRow['statistic'], value: number): void =>
      void rows.push({ ...key, metric, statistic, value, unit: '' });
    // shaped like the backend's counts: the initial sync writes everything into an empty table (one anonymous set
    // per service's numgen vmap), a partial sync a few operations against the whole table
    const full = {
      transaction_operations: 22 * s + 23,
      transactions: 1,
      anonymous_sets_created: s,
      sets_written: 4,
      kernel_sets: 0,
      table_objects: 0,
    };
    const partial = {
      transaction_operations: 22 + (s % 7),
      transactions: 1,
      anonymous_sets_created: 1,
      sets_written: 0,
      kernel_sets: s + 4,
      table_objects: 34 * s + 40,
    };
    for (const [k, v] of Object.entries(full)) add(`initial_sync_${k}`, 'value', v);
    for (const [k, v] of Object.entries(partial)) add(`sync_${k}`, 'mean', v);
    add('kernel_sync_time', 'p50', model.syncSeconds(full, 'full'));
    add('kernel_partial_sync_time', 'p50', model.syncSeconds(partial, 'partial'));
    for (const pos of ['first', 'median', 'last']) {
      add(`first_packet_rules_evaluated_${pos}`, 'value', 18);
      add(`first_packet_lookups_${pos}`, 'value', 3);
      add(`kernel_first_packet_time_${pos}`, 'p50', model.lookupSeconds({ rules_evaluated: 18, lookups: 3 }));
    }
  }
  const cal = calibrate(rows, 'synthetic');
  const co = cal.coefficients.nftables!;
  for (const [k, v] of Object.entries(truth)) assert.ok(Math.abs(co[k]! - v) <= 1e-6 * Math.max(v, 1e-9), `${k}: ${co[k]} != ${v}`);
  assert.ok(cal.fits.nftables!.sync!.maxRelError < 1e-6);
  // the listing's two object² terms cannot be told apart (every partial sync lists and writes): one takes the cost
  assert.ok(!cal.fits.nftables!.sync!.fitted.includes('perObjectSquaredListed'));
});

test("a first-packet p50 is the median of the rounds' medians: one spoilt round does not move it", () => {
  const calm = [10, 11, 9, 10, 10];
  const spoilt = [40, 45, 50, 42, 41];
  const samples = [...calm, ...calm, ...spoilt, ...calm, ...calm];
  assert.equal(roundsMedian(samples, [5, 5, 5, 5, 5]), 10);
  // rounds of unequal size (a failed connection), and a round with none
  assert.equal(roundsMedian([1, 2, 3, 7, 8, 9, 20], [3, 0, 3, 1]), 8);
  // no rounds recorded: the median of all samples
  assert.equal(roundsMedian([3, 1, 2], []), 2);
});
