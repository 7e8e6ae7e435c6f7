import { Bench } from 'tinybench';
import type { EndpointInfo, Packet, ProxySnapshot, SampleSet, Seconds } from '../types.js';
import type { KubeProxyNode } from '../proxy/kubeproxy.js';
import type { RngStreams } from '../sim/rng.js';
import type { BenchSpec } from '../scenario/schema.js';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as ss from 'simple-statistics';
import { canonical, type MetricRow } from '../metrics/stats.js';
import type { Target } from './target.js';

export type { SampleSet } from '../types.js';

type Partial2<T> = Omit<T, 'scenario' | 'backend' | 'services' | 'endpoints_per_service'>;

/**
 * Measures the wall-clock time of the backend's real code with tinybench, on the state the simulation left:
 * - wall_lookup_time: one first-packet classification (a timed call classifies `lookupBatch` packets to
 *   services drawn uniformly; the sample is the call's time over the batch);
 * - wall_sync_time: one sync after a one-endpoint change (alternately removing and restoring an endpoint of a
 *   service drawn once).
 * Tasks run in `spec.rounds` interleaved rounds within `spec.timeMs` per task (warm-up included), after one full
 * collection per case. Reported per metric: p50, p99 and the
 * relative margin of error (percent) of the mean over all samples, and `<metric>_rel`, the median over rounds of
 * the task's time in calibrations, measured per round in alternation with the calibration (pairedRatio: machine
 * noise between runs and within a run mostly cancels);
 * samples of both are retained for the statistical comparison of runs.
 */
export async function microBenchmarks(
  node: KubeProxyNode,
  /** Services to send first packets to (only their address matters here). */
  targets: ReadonlyArray<Pick<Target, 'key' | 'ip' | 'port' | 'protocol'>>,
  spec: BenchSpec,
  rng: RngStreams,
  now: Seconds,
): Promise<{ rows: Array<Partial2<MetricRow>>; samples: Array<Partial2<SampleSet>> }> {
  const backend = node.backend;
  const tasks = new Map<string, () => void>();
  const batch = spec.lookupBatch;
  const brng = rng.stream('bench.packets');
  const lookupRng = rng.stream('bench.lookup');
  const plan: Array<{ name: string; metric: string; per: number }> = [];

  if (spec.lookup && targets.length > 0) {
    const packets: Packet[] = [];
    for (let i = 0; i < 512; i++) {
      const t = targets[brng.int(targets.length)]!;
      packets.push({ srcIP: '10.128.0.250', srcPort: 40000 + i, dstIP: t.ip, dstPort: t.port, protocol: t.protocol, local: false });
    }
    let i = 0;
    tasks.set('lookup', () => {
      for (let k = 0; k < batch; k++) {
        backend.lookup(packets[i]!, lookupRng, now);
        i = (i + 1) % packets.length;
      }
    });
    plan.push({ name: 'lookup', metric: 'wall_lookup_time', per: batch });
  }

  if (spec.sync) {
    const base = node.tracker.snapshot();
    const candidates = [...base.endpoints.entries()].filter(([, eps]) => eps.length >= 2);
    if (candidates.length > 0) {
      const [key, eps] = candidates[brng.int(candidates.length)]!;
      const without: readonly EndpointInfo[] = eps.slice(0, -1);
      const states: ProxySnapshot[] = [withEndpoints(base, key, without), withEndpoints(base, key, eps)];
      const changed = new Set([key]);
      let flip = 0;
      tasks.set('sync', () => {
        backend.sync({ snapshot: states[flip]!, changed, now });
        flip ^= 1;
      });
      plan.push({ name: 'sync', metric: 'wall_sync_time', per: 1 });
    }
  }

  // The plan runs in interleaved rounds, each task's time set against a calibration task (a fixed CPU-bound loop)
  // measured in alternation with it: within a pair the machine's state (load, frequency, caches) is about the same
  // for both, so the ratio cancels most of what differs between two runs of the same code.
  const calibration = makeCalibration();
  const rounds = spec.rounds;
  const pooled = new Map<string, number[]>();
  const ratios = new Map<string, number[]>();
  // One full collection per case, before the rounds (not one per round: on a multi-GB heap each takes seconds),
  // so garbage left by the simulation is not collected in the middle of the measurements.
  collectGarbage();
  // Budget: each task gets spec.timeMs in all, warm-up included: a tenth to warm up, then per round half of its
  // share to tinybench's samples and half to the paired ratio. tinybench runs a task until both its time and its
  // iteration minimum are reached, so the minimum is one sample per round: a task slower than its share (a 250 ms
  // sync at 100,000 services) yields one sample and one pair per round, and the case's cost stays near
  // tasks x timeMs plus one sample and one pair per task and round. The gated rows (`_rel`, one ratio per round)
  // keep one sample per round: at the default 12 rounds, enough for the Mann-Whitney test at p < 0.01 (two fully
  // separated groups of 12 give p of about 1e-5; see src/report/compare.ts).
  const share = Math.max(1, (0.9 * spec.timeMs) / rounds);
  const warmMs = Math.max(1, spec.timeMs / 10);
  // time per call from the warm-up: decides which tasks get an untimed call before their samples each round
  const perCall = new Map<string, number>();
  for (const p of plan) perCall.set(p.name, runFor(tasks.get(p.name)!, warmMs));
  const calibMs = timePerCall(calibration, Math.max(1, warmMs / 2));
  for (let round = 0; round < rounds; round++) {
    for (const p of plan) {
      const task = tasks.get(p.name)!;
      // Each task is measured on its own: one untimed call first when it is short next to its share, since the
      // task before it may have left work for its first call (a sync changes the table a lookup's caches follow;
      // with a few samples a round, that one call would be the median). A task slower than that (a sync at
      // 100,000 services) gets no extra call, so the budget holds.
      if (perCall.get(p.name)! < share / 8) task();
      const b = new Bench({ time: share / 2, iterations: 1, warmup: false, retainSamples: true });
      b.add(p.name, task);
      await b.run();
      const r = b.getTask(p.name)?.result;
      if (r === undefined || !('latency' in r)) continue;
      const list = pooled.get(p.metric) ?? [];
      for (const v of r.latency.samples ?? []) list.push(v / 1000 / p.per);
      pooled.set(p.metric, list);
      if (calibMs > 0) {
        const rl = ratios.get(p.metric) ?? [];
        rl.push(pairedRatio(task, calibration, r.latency.p50, calibMs, share / 2) / p.per);
        ratios.set(p.metric, rl);
      }
    }
  }
  const rows: Array<Partial2<MetricRow>> = [];
  const samples: Array<Partial2<SampleSet>> = [];
  for (const p of plan) {
    const xs = pooled.get(p.metric);
    if (xs === undefined || xs.length === 0) continue;
    const sorted = [...xs].sort((x, y) => x - y);
    const mean = ss.mean(sorted);
    // relative margin of error of the mean, 95%, in percent (as tinybench reports it)
    const rme = sorted.length > 1 ? (100 * 1.96 * ss.sampleStandardDeviation(sorted)) / Math.sqrt(sorted.length) / mean : 0;
    rows.push({ metric: p.metric, statistic: 'p50', value: canonical(ss.quantileSorted(sorted, 0.5)), unit: 's' });
    rows.push({ metric: p.metric, statistic: 'p99', value: canonical(ss.quantileSorted(sorted, 0.99)), unit: 's' });
    rows.push({ metric: p.metric, statistic: 'rme', value: canonical(rme), unit: '%' });
    rows.push({ metric: p.metric, statistic: 'samples', value: sorted.length, unit: 'samples' });
    samples.push({ metric: p.metric, unit: 's', samples: xs.map(canonical) });
    const rel = ratios.get(p.metric);
    if (rel !== undefined && rel.length > 0) {
      const relName = `${p.metric}_rel`;
      rows.push({ metric: relName, statistic: 'p50', value: canonical(ss.median(rel)), unit: 'calibrations' });
      rows.push({ metric: relName, statistic: 'samples', value: rel.length, unit: 'samples' });
      samples.push({ metric: relName, unit: 'calibrations', samples: rel.map(canonical) });
    }
  }
  return { rows, samples };
}

/**
 * The task's time in calibrations, measured in alternation: a batch of calibration calls about as long as one
 * task call, then one task call, repeated (within about `budgetMs`), and the median of the pairs' ratios. The
 * two halves of a pair are microseconds to milliseconds apart, so load on the machine (other processes, CPU
 * frequency) hits both alike and cancels in the ratio far better than between two tasks measured one after
 * the other for a whole round.
 */
function pairedRatio(task: () => void, calibration: () => void, taskMs: number, calibMs: number, budgetMs: number): number {
  const m = Math.max(1, Math.min(1_000_000, Math.round(taskMs / calibMs)));
  const pairs = Math.max(1, Math.min(25, Math.floor(budgetMs / (2 * taskMs))));
  const out: number[] = [];
  for (let j = 0; j < pairs; j++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < m; i++) calibration();
    const t1 = process.hrtime.bigint();
    task();
    const t2 = process.hrtime.bigint();
    const c = Number(t1 - t0) / m;
    if (c > 0) out.push(Number(t2 - t1) / c);
  }
  return out.length > 0 ? ss.median(out) : taskMs / calibMs;
}

/** Calls `fn` until `ms` milliseconds have passed (at least once); returns the milliseconds per call. */
function runFor(fn: () => void, ms: number): number {
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(ms * 1e6));
  let n = 0;
  let now: bigint;
  do {
    fn();
    n++;
    now = process.hrtime.bigint();
  } while (now < end);
  return Number(now - start) / 1e6 / n;
}

/** Milliseconds per call of `fn`: the median of batches of calls, within about `ms` milliseconds. */
function timePerCall(fn: () => void, ms: number): number {
  let n = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (dt >= ms / 8 || n >= 1 << 20) break;
    n *= 2;
  }
  const per: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    per.push(Number(process.hrtime.bigint() - t0) / 1e6 / n);
  }
  return ss.median(per);
}

/** A full garbage collection, through V8's gc() exposed at run time. */
const collectGarbage: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  return typeof gc === 'function' ? gc : () => {};
})();

/** A fixed, allocation-free CPU-bound task (about a microsecond): the yardstick measured times are divided by. */
function makeCalibration(): () => void {
  const data = new Float64Array(1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) % 1000;
  let sink = 0;
  return () => {
    let acc = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v > 500) acc += v;
      else acc -= v * 0.5;
    }
    sink = (sink + acc) % 1e9;
    if (sink === -1) throw new Error('unreachable');
  };
}

function withEndpoints(base: ProxySnapshot, key: string, eps: readonly EndpointInfo[]): ProxySnapshot {
  const endpoints = new Map(base.endpoints);
  endpoints.set(key, eps);
  return { services: base.services, endpoints };
}
