import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/cluster/cluster.js';
import { EndpointsController } from '../src/cluster/endpoints.js';
import { Scheduler } from '../src/sim/scheduler.js';
import { RngStreams } from '../src/sim/rng.js';
import { Deployments } from '../src/workload/deployments.js';
import { type ChurnConfig, type ChurnEvent, startChurn } from '../src/workload/churn.js';

const ALL_ON: ChurnConfig = {
  rollingUpdatesPerMinute: 2,
  scaleEventsPerMinute: 3,
  scaleStep: 2,
  crashesPerMinute: 2,
  crashLoop: true,
  readinessFlapsPerMinute: 4,
  flapSeconds: 15,
  nodeDrainsPerHour: 12,
  drainDowntimeSeconds: 300,
  serviceCreatesPerMinute: 1,
  serviceDeletesPerMinute: 0.5,
  endpointsPerService: 3,
  maxSurge: '25%',
  maxUnavailable: 0,
};

/** Builds a small cluster, runs churn for `minutes`, and records everything that happened. */
function run(seed: number, cfg: ChurnConfig, minutes = 30) {
  const sched = new Scheduler();
  const cluster = new Cluster({ clock: () => sched.now });
  const eps = new EndpointsController(cluster);
  const rng = new RngStreams(seed);
  for (let i = 0; i < 6; i++) cluster.addNode(`node-${i}`);
  const deployments = new Deployments(cluster, sched, rng.stream('deployments'), {
    startupSeconds: 2,
    readinessDelaySeconds: 5,
    terminationGraceSeconds: 30,
  });
  const services = [];
  for (let i = 0; i < 8; i++) {
    const name = `app-${i}`;
    deployments.bulkCreate({
      namespace: 'prod',
      name,
      replicas: 4,
      labels: { app: name },
      containerPorts: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    });
    cluster.addService({
      namespace: 'prod',
      name,
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 0 }],
    });
    services.push({ namespace: 'prod', name, deployment: name });
  }
  const churn: ChurnEvent[] = [];
  const clusterLog: string[] = [];
  cluster.subscribe((ev) => {
    if (ev.kind === 'pod')
      clusterLog.push(
        `${ev.time} pod ${ev.op} ${ev.pod.namespace}/${ev.pod.name} ${ev.pod.nodeName} ${ev.pod.ip} ${ev.pod.phase} ${ev.pod.ready} ${ev.pod.terminating}`,
      );
    else if (ev.kind === 'service')
      clusterLog.push(`${ev.time} service ${ev.op} ${ev.service.namespace}/${ev.service.name} ${ev.service.clusterIP}`);
  });
  let slicesChanges = 0;
  eps.subscribe(() => slicesChanges++);
  const counters = startChurn({ cluster, sched, deployments, rng, services, onEvent: (e) => churn.push(e) }, cfg, minutes * 60);
  sched.runUntil(minutes * 60 + 3600);
  return { counters, churn, clusterLog, slicesChanges, cluster, deployments, sched };
}

test('same seed → identical churn and cluster event sequences', () => {
  const a = run(42, ALL_ON);
  const b = run(42, ALL_ON);
  assert.ok(a.churn.length > 50, `${a.churn.length} churn events`);
  assert.deepEqual(a.churn, b.churn);
  assert.deepEqual(a.clusterLog, b.clusterLog);
  assert.deepEqual(a.counters, b.counters);
  assert.equal(a.slicesChanges, b.slicesChanges);
});

test('a different seed → a different sequence', () => {
  const a = run(42, ALL_ON);
  const c = run(43, ALL_ON);
  assert.notDeepEqual(a.churn, c.churn);
  assert.notDeepEqual(a.clusterLog, c.clusterLog);
});

test('counters match what the log says happened, and every kind of churn happened', () => {
  const { counters, churn } = run(7, ALL_ON);
  const n = (k: ChurnEvent['kind']) => churn.filter((e) => e.kind === k).length;
  assert.deepEqual(counters, {
    rollingUpdates: n('rolling-update'),
    scaleEvents: n('scale'),
    crashes: n('crash'),
    flaps: n('flap'),
    drains: n('drain'),
    servicesCreated: n('service-create'),
    servicesDeleted: n('service-delete'),
  });
  for (const [k, v] of Object.entries(counters)) assert.ok(v > 0, `${k} = ${v}`);
  // events are in time order and stop at `until`
  for (let i = 1; i < churn.length; i++) assert.ok(churn[i]!.time >= churn[i - 1]!.time);
  const starts = churn.filter((e) => e.kind !== 'flap-end' && e.kind !== 'uncordon');
  assert.ok(starts.every((e) => e.time <= 30 * 60));
});

test('absent or zero rates turn processes off', () => {
  const off = run(1, {}, 10);
  assert.deepEqual(off.counters, {
    rollingUpdates: 0,
    scaleEvents: 0,
    crashes: 0,
    flaps: 0,
    drains: 0,
    servicesCreated: 0,
    servicesDeleted: 0,
  });
  assert.equal(off.churn.length, 0);
  const zero = run(1, { rollingUpdatesPerMinute: 0, crashesPerMinute: 0 }, 10);
  assert.equal(zero.churn.length, 0);
  const only = run(1, { rollingUpdatesPerMinute: 6 }, 10);
  assert.ok(only.churn.length > 0);
  assert.ok(only.churn.every((e) => e.kind === 'rolling-update'));
});

test('each process has its own streams: turning another on does not move its arrivals or targets', () => {
  const alone = run(5, { rollingUpdatesPerMinute: 3 }, 20).churn.filter((e) => e.kind === 'rolling-update');
  const mixed = run(5, { rollingUpdatesPerMinute: 3, readinessFlapsPerMinute: 10, crashesPerMinute: 5 }, 20).churn.filter(
    (e) => e.kind === 'rolling-update',
  );
  assert.deepEqual(
    mixed.map((e) => [e.time, e.target]),
    alone.map((e) => [e.time, e.target]),
  );
});

test('Poisson arrivals: the count over a long run is near rate × time', () => {
  const { counters } = run(11, { readinessFlapsPerMinute: 10, flapSeconds: 1 }, 120);
  // 1200 expected; a Poisson count has sd ≈ 35, so ±150 is > 4 sd
  assert.ok(Math.abs(counters.flaps - 1200) < 150, `${counters.flaps}`);
});

test('crash loops: crashed pods keep crashing (CrashLoopBackOff) for as long as they exist', () => {
  const { churn, deployments } = run(3, { crashesPerMinute: 4, crashLoop: true, crashLoopRunSeconds: 2 }, 10);
  const crashed = churn.filter((e) => e.kind === 'crash').map((e) => e.target);
  assert.ok(crashed.length > 10);
  const looping = crashed.map((k) => deployments.pod('prod', k.split('/')[1]!)).filter((p) => p !== undefined);
  assert.ok(looping.length > 0);
  assert.ok(looping.every((p) => p.crashLooping && p.restarts >= 2 && !p.ready));
});

test('service creation and deletion change the cluster; drains cordon and uncordon nodes', () => {
  const r = run(
    9,
    { serviceCreatesPerMinute: 2, serviceDeletesPerMinute: 1, endpointsPerService: 2, nodeDrainsPerHour: 30, drainDowntimeSeconds: 120 },
    20,
  );
  const creates = r.churn.filter((e) => e.kind === 'service-create').map((e) => e.target);
  const deletes = r.churn.filter((e) => e.kind === 'service-delete').map((e) => e.target);
  const live = new Set([
    'prod/app-0',
    'prod/app-1',
    'prod/app-2',
    'prod/app-3',
    'prod/app-4',
    'prod/app-5',
    'prod/app-6',
    'prod/app-7',
    ...creates,
  ]);
  for (const d of deletes) live.delete(d);
  assert.deepEqual(new Set(r.cluster.services.keys()), live);
  // a created service got its pods (ready, behind the service's selector) unless deleted since
  const survivor = creates.find((c) => live.has(c));
  if (survivor !== undefined) {
    const [ns, name] = survivor.split('/') as [string, string];
    assert.equal(r.deployments.get(ns, name)?.status().readyReplicas, 2);
  }
  // deleted services' deployments are gone with their pods
  for (const d of deletes) {
    const [ns, name] = d.split('/') as [string, string];
    assert.equal(r.deployments.get(ns, name), undefined);
    assert.ok(![...r.cluster.pods.values()].some((p) => p.namespace === ns && p.labels.app === name));
  }
  const drains = r.churn.filter((e) => e.kind === 'drain');
  const uncordons = r.churn.filter((e) => e.kind === 'uncordon');
  assert.ok(drains.length > 0);
  assert.equal(uncordons.length, drains.length); // all back after the run's tail hour
  assert.equal(r.deployments.schedulableNodes().length, 6);
});
