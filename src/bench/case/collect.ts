/**
 * Step 4 of a case: after the measured phase, the recorder's rows (per node), the churn counters as `churn_*`
 * input rows, and (when asked) the wall-clock micro-benchmarks on the first node's backend.
 */
import type { Seconds } from '../../types.js';
import type { MetricRow } from '../../metrics/stats.js';
import type { ChurnCounters } from '../../workload/churn.js';
import { distributionMean } from '../build.js';
import { microBenchmarks, type SampleSet } from '../micro.js';
import type { Target } from '../target.js';
import type { CaseOptions, CaseWorld } from './build.js';

export interface CaseOutput {
  rows: MetricRow[];
  samples: SampleSet[];
}

/** The case's rows and samples; runs the micro-benchmarks when `opts.bench`. */
export async function collectCase(
  w: CaseWorld,
  counters: ChurnCounters,
  targets: readonly Target[],
  opts: Pick<CaseOptions, 'bench' | 'onPhase'>,
): Promise<CaseOutput> {
  const { sc, rec } = w;
  for (const p of w.proxies) rec.node(w.proxiersOf.get(p.name) ?? [p], sc.duration);
  const epsMean = distributionMean(sc.cluster.endpointsPerService);
  const key = { scenario: w.c.id, backend: w.kind, services: sc.cluster.services, endpoints_per_service: epsMean };
  const rows = rec.rows(key, { requestsPerConnection: sc.load.requestsPerConnection, duration: sc.duration as Seconds });
  rows.push(...w.hops.rows(key));
  for (const [name, v] of Object.entries(counters))
    rows.push({
      ...key,
      metric: `churn_${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
      statistic: 'total',
      value: v,
      unit: 'events',
    });
  let samples: SampleSet[] = [];
  if (opts.bench) {
    opts.onPhase?.('wall');
    // the first node's IPv4 proxier (its only one on a single-stack cluster), timed on the IPv4 targets
    const first = w.proxiersOf.get(w.proxies[0]!.name)!.find((x) => x.family === 'IPv4')!;
    const v4 = targets.filter((t) => !t.ip.includes(':'));
    const micro = await microBenchmarks(first, v4, sc.bench, w.rng, w.sched.now);
    rows.push(...micro.rows.map((r) => ({ ...key, ...r })));
    samples = micro.samples.map((s) => ({ ...key, ...s }));
  }
  return { rows, samples };
}
