import { Bench } from 'tinybench';
import type { EndpointInfo, Packet, ProxySnapshot, Seconds } from '../types.js';
import type { KubeProxyNode } from '../proxy/kubeproxy.js';
import type { RngStreams } from '../sim/rng.js';
import type { BenchSpec } from '../scenario/schema.js';
import { canonical, type MetricRow } from '../metrics/stats.js';

/** Retained samples of one measured metric, in seconds per operation. */
export interface SampleSet {
  scenario: string;
  backend: string;
  services: number;
  endpoints_per_service: number;
  metric: string;
  unit: string;
  samples: number[];
}

type Partial2<T> = Omit<T, 'scenario' | 'backend' | 'services' | 'endpoints_per_service'>;

interface Target {
  key: string;
  ip: string;
  port: number;
  protocol: 'TCP' | 'UDP';
}

/**
 * Measures the wall-clock time of the backend's real code with tinybench, on the state the simulation left:
 * - wall_lookup_time: one first-packet classification (a timed call classifies `lookupBatch` packets to
 *   services drawn uniformly; the sample is the call's time over the batch);
 * - wall_sync_time: one sync after a one-endpoint change (alternately removing and restoring an endpoint of a
 *   service drawn once).
 * Reported: p50, p99 and the relative margin of error (percent) of the mean; samples are retained for the
 * statistical comparison of runs.
 */
export async function microBenchmarks(
  node: KubeProxyNode,
  targets: readonly Target[],
  spec: BenchSpec,
  rng: RngStreams,
  now: Seconds,
): Promise<{ rows: Array<Partial2<MetricRow>>; samples: Array<Partial2<SampleSet>> }> {
  const backend = node.backend;
  const bench = new Bench({ time: spec.timeMs, iterations: 16, warmupTime: Math.min(100, spec.timeMs), warmupIterations: 4, retainSamples: true });
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
    bench.add('lookup', () => {
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
      bench.add('sync', () => {
        backend.sync({ snapshot: states[flip]!, changed, now });
        flip ^= 1;
      });
      plan.push({ name: 'sync', metric: 'wall_sync_time', per: 1 });
    }
  }

  await bench.run();
  const rows: Array<Partial2<MetricRow>> = [];
  const samples: Array<Partial2<SampleSet>> = [];
  for (const p of plan) {
    const task = bench.getTask(p.name);
    const r = task?.result;
    if (r === undefined || !('latency' in r)) continue;
    const lat = r.latency;
    const toSec = (ms: number): number => canonical(ms / 1000 / p.per);
    rows.push({ metric: p.metric, statistic: 'p50', value: toSec(lat.p50), unit: 's' });
    rows.push({ metric: p.metric, statistic: 'p99', value: toSec(lat.p99), unit: 's' });
    rows.push({ metric: p.metric, statistic: 'rme', value: canonical(lat.rme), unit: '%' });
    rows.push({ metric: p.metric, statistic: 'samples', value: lat.samplesCount, unit: 'samples' });
    samples.push({ metric: p.metric, unit: 's', samples: (lat.samples ?? []).map(toSec) });
  }
  return { rows, samples };
}

function withEndpoints(base: ProxySnapshot, key: string, eps: readonly EndpointInfo[]): ProxySnapshot {
  const endpoints = new Map(base.endpoints);
  endpoints.set(key, eps);
  return { services: base.services, endpoints };
}
