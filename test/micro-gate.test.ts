import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/sim/scheduler.js';
import { RngStreams } from '../src/sim/rng.js';
import { Cluster } from '../src/cluster/cluster.js';
import { EndpointsController } from '../src/cluster/endpoints.js';
import { Deployments } from '../src/workload/deployments.js';
import { buildSyntheticCluster } from '../src/bench/build.js';
import { KubeProxyNode } from '../src/proxy/kubeproxy.js';
import { CostModel } from '../src/proxy/cost.js';
import { createBackend } from '../src/backends/index.js';
import { microBenchmarks } from '../src/bench/micro.js';
import { ClusterSpec, BenchSpec } from '../src/scenario/schema.js';
import { compareRows } from '../src/report/compare.js';
import type { Backend, MetricRow, SampleSet } from '../src/types.js';

/** One node's iptables kube-proxy over 300 services × 5 endpoints, synced. */
function node(): { kp: KubeProxyNode; targets: Array<{ key: string; ip: string; port: number; protocol: 'TCP' }> } {
  const sched = new Scheduler();
  const rng = new RngStreams(1);
  const cluster = new Cluster({ clock: () => sched.now, clusterCIDR: '10.128.0.0/9' });
  const ec = new EndpointsController(cluster);
  for (let i = 0; i < 10; i++) cluster.addNode(`node-${i + 1}`);
  const n1 = cluster.nodes.get('node-1')!;
  const backend = createBackend('iptables', {
    node: { nodeName: n1.name, nodeIPs: n1.ips, clusterCIDR: '10.128.0.0/9', podCIDR: n1.podCIDR, localDetector: 'ClusterCIDR', masqueradeAll: false, masqueradeBit: 14, nodePortAddresses: [] },
  });
  const kp = new KubeProxyNode({ nodeName: n1.name, backend, sched, cost: new CostModel(), runner: { minSyncPeriod: 1, syncPeriod: 30, burst: 2 }, rng: rng.stream('dp') });
  cluster.subscribe((ev) => ev.kind === 'service' && kp.onService(ev.service, ev.op, ev.time));
  ec.subscribe((ch) => kp.onSlices(ch.serviceKey, ch.slices, ch.triggerTime));
  const deployments = new Deployments(cluster, sched, rng.stream('p'), { startupSeconds: 1, readinessDelaySeconds: 1, terminationGraceSeconds: 1 });
  const svcs = buildSyntheticCluster(cluster, ClusterSpec.parse({ nodes: 10, services: 300, endpointsPerService: 5 }), rng, deployments);
  kp.start();
  sched.runUntil(0);
  const targets = svcs.map((s) => {
    const svc = cluster.services.get(`${s.namespace}/${s.name}`)!;
    return { key: `${s.namespace}/${s.name}`, ip: svc.clusterIP, port: svc.ports[0]!.port, protocol: 'TCP' as const };
  });
  return { kp, targets };
}

/** The same backend, but every lookup does the work twice: a lookup made 2x slower on purpose. */
function twiceAsSlow(b: Backend): Backend {
  return {
    kind: b.kind,
    sync: (r) => b.sync(r),
    lookup: (p, rng, now) => {
      b.lookup(p, rng, now);
      return b.lookup(p, rng, now);
    },
    render: () => b.render(),
    size: () => b.size(),
  };
}

const KEY = { scenario: 'gate', backend: 'iptables', services: 300, endpoints_per_service: 5 };

async function measure(kp: KubeProxyNode, targets: ReturnType<typeof node>['targets']): Promise<{ rows: MetricRow[]; samples: SampleSet[] }> {
  const spec = BenchSpec.parse({ timeMs: 300, rounds: 12, sync: false });
  const m = await microBenchmarks(kp, targets, spec, new RngStreams(1), 0);
  return { rows: m.rows.map((r) => ({ ...KEY, ...r })), samples: m.samples.map((s) => ({ ...KEY, ...s })) };
}

test('measured gate: two runs of the same code pass; a lookup made 2x slower is flagged', async () => {
  const { kp, targets } = node();
  const a = await measure(kp, targets);
  const b = await measure(kp, targets);
  const same = compareRows(a.rows, b.rows, a.samples, b.samples, { threshold: 50 });
  assert.equal(same.failed, false, JSON.stringify(same.rows.filter((r) => r.verdict === 'regressed')));

  const slowNode = { backend: twiceAsSlow(kp.backend), tracker: kp.tracker } as unknown as KubeProxyNode;
  const c = await measure(slowNode, targets);
  const slow = compareRows(a.rows, c.rows, a.samples, c.samples, { threshold: 50 });
  const rel = slow.rows.find((r) => r.metric === 'wall_lookup_time_rel' && r.statistic === 'p50')!;
  assert.equal(rel.verdict, 'regressed', `ratio ${rel.ratio} p ${rel.pValue}`);
  assert.ok(rel.ratio! > 1.5, `ratio ${rel.ratio}`);
  // the raw wall time moved too, but it is reported, not gated
  const raw = slow.rows.find((r) => r.metric === 'wall_lookup_time' && r.statistic === 'p50')!;
  assert.notEqual(raw.verdict, 'regressed');
});
