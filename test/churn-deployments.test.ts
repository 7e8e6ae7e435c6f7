import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/cluster/cluster.js';
import { EndpointsController } from '../src/cluster/endpoints.js';
import { Scheduler } from '../src/sim/scheduler.js';
import { RngStreams } from '../src/sim/rng.js';
import {
  Deployments,
  type DeploymentsOptions,
  resolveFenceposts,
  scaledValue,
  fnv32a,
  safeEncodeString,
} from '../src/workload/deployments.js';

const LIFECYCLE: DeploymentsOptions = { startupSeconds: 2, readinessDelaySeconds: 3, terminationGraceSeconds: 5 };
const NAME_RE = /^web-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5}$/;

function setup(nodes = 3, seed = 1, opts: Partial<DeploymentsOptions> = {}) {
  const sched = new Scheduler();
  const cluster = new Cluster({ clock: () => sched.now });
  for (let i = 0; i < nodes; i++) cluster.addNode(`node-${i}`);
  const rng = new RngStreams(seed);
  const deployments = new Deployments(cluster, sched, rng.stream('deployments'), { ...LIFECYCLE, ...opts });
  return { sched, cluster, deployments };
}

test('fenceposts: surge rounds up, unavailable rounds down, both zero → unavailable 1', () => {
  assert.deepEqual(resolveFenceposts({ maxSurge: '25%', maxUnavailable: '25%' }, 4), [1, 1]);
  assert.deepEqual(resolveFenceposts({ maxSurge: '25%', maxUnavailable: '25%' }, 10), [3, 2]);
  assert.deepEqual(resolveFenceposts({ maxSurge: '25%', maxUnavailable: '25%' }, 1), [1, 0]);
  assert.deepEqual(resolveFenceposts({ maxSurge: '10%', maxUnavailable: '10%' }, 3), [1, 0]);
  assert.deepEqual(resolveFenceposts({ maxSurge: 0, maxUnavailable: '10%' }, 3), [0, 1]);
  assert.deepEqual(resolveFenceposts({ maxSurge: 2, maxUnavailable: 0 }, 3), [2, 0]);
  assert.equal(scaledValue('33%', 10, true), 4);
  assert.equal(scaledValue('33%', 10, false), 3);
  assert.throws(() => scaledValue('12.5%', 10, true), RangeError);
  assert.throws(() => scaledValue('5', 10, true), RangeError);
  assert.throws(() => scaledValue(-1, 10, true), RangeError);
  const { deployments } = setup();
  assert.throws(
    () => deployments.create({ namespace: 'd', name: 'x', replicas: 1, labels: { app: 'x' }, maxSurge: 0, maxUnavailable: '0%' }),
    RangeError,
  );
});

test('pod-template-hash: FNV-32a in SafeEncodeString alphabet', () => {
  assert.equal(fnv32a(''), 0x811c9dc5);
  assert.equal(fnv32a('a'), 0xe40c292c);
  assert.equal(safeEncodeString('0123'), '4567'); // '0' is byte 48, 48 % 27 = 21
});

test('pod lifecycle: Pending on spread nodes → Running (not ready) after startup → Ready after the readiness delay', () => {
  const { sched, cluster, deployments } = setup(3);
  const h = deployments.create({
    namespace: 'shop',
    name: 'web',
    replicas: 3,
    labels: { app: 'web' },
    containerPorts: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
  });
  let pods = h.pods();
  assert.equal(pods.length, 3);
  assert.deepEqual(
    pods.map((p) => [p.phase, p.ready]),
    [
      ['Pending', false],
      ['Pending', false],
      ['Pending', false],
    ],
  );
  assert.deepEqual(new Set(pods.map((p) => p.nodeName)).size, 3, 'one pod per node');
  for (const p of pods) {
    assert.match(p.name, NAME_RE);
    assert.equal(p.labels.app, 'web');
    assert.equal(p.labels['pod-template-hash'], h.status().templateHash);
    assert.ok(p.name.startsWith(`web-${h.status().templateHash}-`));
    assert.notEqual(p.ip, '');
  }
  sched.runUntil(1.999);
  assert.ok(h.pods().every((p) => p.phase === 'Pending'));
  sched.runUntil(2);
  pods = h.pods();
  assert.deepEqual(
    pods.map((p) => [p.phase, p.ready]),
    [
      ['Running', false],
      ['Running', false],
      ['Running', false],
    ],
  );
  sched.runUntil(4.999);
  assert.equal(h.status().readyReplicas, 0);
  sched.runUntil(5);
  assert.equal(h.status().readyReplicas, 3);
  assert.ok(h.status().complete);
  assert.ok(cluster.pods.size === 3);
});

test('endpoints follow the lifecycle: a pod is an endpoint only once Ready', () => {
  const { sched, cluster, deployments } = setup(2);
  const eps = new EndpointsController(cluster);
  deployments.create({ namespace: 'shop', name: 'web', replicas: 2, labels: { app: 'web' } });
  cluster.addService({
    namespace: 'shop',
    name: 'web',
    selector: { app: 'web' },
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 0 }],
  });
  const count = () => eps.slicesOf('shop/web').reduce((n, s) => n + s.endpoints.filter((e) => e.conditions.ready).length, 0);
  sched.runUntil(4);
  assert.equal(count(), 0);
  sched.runUntil(5);
  assert.equal(count(), 2);
});

test('rolling update, replicas 4, 25%/25%: never fewer than 3 ready nor more than 5 pods, ends with 4 new pods', () => {
  const { sched, cluster, deployments } = setup(3);
  const h = deployments.create({ namespace: 'shop', name: 'web', replicas: 4, labels: { app: 'web' } });
  sched.runUntil(10);
  assert.equal(h.status().readyReplicas, 4);
  const oldHash = h.status().templateHash;

  let checks = 0;
  let maxPods = 0;
  let minReady = Number.POSITIVE_INFINITY;
  cluster.subscribe((ev) => {
    if (ev.kind !== 'pod') return;
    const mine = [...cluster.pods.values()].filter((p) => p.namespace === 'shop' && p.labels.app === 'web');
    const active = mine.filter((p) => !p.terminating);
    const ready = active.filter((p) => p.ready && p.phase === 'Running');
    maxPods = Math.max(maxPods, active.length);
    minReady = Math.min(minReady, ready.length);
    assert.ok(active.length <= 5, `${active.length} pods at t=${sched.now}`);
    assert.ok(ready.length >= 3, `${ready.length} ready at t=${sched.now}`);
    checks++;
  });
  deployments.rollingUpdate('shop', 'web', { maxSurge: '25%', maxUnavailable: '25%' });
  const newHash = h.status().templateHash;
  assert.notEqual(newHash, oldHash);
  sched.runUntil(200);
  assert.equal(checks, 4 * 3 + 4 * 2); // new pods: add, running, ready; old pods: terminating, deleted
  assert.equal(maxPods, 5);
  assert.equal(minReady, 3);
  const final = h.pods();
  assert.equal(final.length, 4);
  assert.ok(final.every((p) => p.labels['pod-template-hash'] === newHash && p.ready && !p.terminating));
  assert.deepEqual(
    { ...h.status() },
    {
      replicas: 4,
      pods: 4,
      updatedReplicas: 4,
      readyReplicas: 4,
      availableReplicas: 4,
      unavailableReplicas: 0,
      terminatingPods: 0,
      revision: 2,
      templateHash: newHash,
      complete: true,
    },
  );
});

test('rolling update with maxSurge 0: deletes first, never more than replicas pods', () => {
  const { sched, cluster, deployments } = setup(3);
  const h = deployments.create({ namespace: 'shop', name: 'web', replicas: 4, labels: { app: 'web' } });
  sched.runUntil(10);
  cluster.subscribe((ev) => {
    if (ev.kind !== 'pod') return;
    const active = [...cluster.pods.values()].filter((p) => p.labels.app === 'web' && !p.terminating);
    assert.ok(active.length <= 4);
    assert.ok(active.filter((p) => p.ready).length >= 3);
  });
  deployments.rollingUpdate('shop', 'web', { maxSurge: 0, maxUnavailable: 1 });
  sched.runUntil(200);
  assert.ok(h.status().complete);
  assert.equal(h.status().revision, 2);
});

test('proportional scaling of a stuck rollout (kubernetes.io example: 10 replicas, surge 3, unavailable 2, scaled to 15)', () => {
  const { sched, deployments } = setup(5);
  const h = deployments.create({
    namespace: 'default',
    name: 'nginx',
    replicas: 10,
    labels: { app: 'nginx' },
    maxSurge: 3,
    maxUnavailable: 2,
  });
  sched.runUntil(10);
  // the new template's pods never become ready (a bad image)
  const firstHash = h.status().templateHash;
  deployments.onPod((e) => {
    const p = deployments.pod('default', e.pod.split('/')[1]!);
    if (e.kind === 'created' && p !== undefined && p.templateHash !== firstHash) deployments.setReady('default', p.name, false);
  });
  deployments.rollingUpdate('default', 'nginx');
  sched.runUntil(60);
  const sizes = () => {
    const m = new Map<string, number>();
    for (const p of deployments.podsOf('default', 'nginx')) m.set(p.templateHash, (m.get(p.templateHash) ?? 0) + 1);
    return [m.get(firstHash) ?? 0, m.get(h.status().templateHash) ?? 0];
  };
  assert.deepEqual(sizes(), [8, 5]);
  deployments.scale('default', 'nginx', 15);
  sched.runUntil(120);
  assert.deepEqual(sizes(), [11, 7]);
});

test('scale up and down; scale-down removes not-ready pods first', () => {
  const { sched, deployments } = setup(4);
  const h = deployments.create({ namespace: 'shop', name: 'web', replicas: 2, labels: { app: 'web' } });
  sched.runUntil(10);
  deployments.scale('shop', 'web', 6);
  assert.equal(h.status().pods, 6);
  assert.equal(h.status().readyReplicas, 2);
  sched.runUntil(20);
  assert.equal(h.status().readyReplicas, 6);
  // 4 nodes, 6 pods: loads 2,2,1,1 in some order
  assert.deepEqual([0, 1, 2, 3].map((i) => deployments.nodeLoad(`node-${i}`)).sort(), [1, 1, 2, 2]);

  const notReady = deployments.podsOf('shop', 'web')[0]!.name;
  deployments.setReady('shop', notReady, false);
  deployments.scale('shop', 'web', 5);
  assert.equal(deployments.pod('shop', notReady)?.terminating, true);
  deployments.scale('shop', 'web', 1);
  assert.equal(h.status().pods, 1);
  assert.equal(h.status().terminatingPods, 5);
  sched.runUntil(24.999);
  assert.equal(h.pods().length, 6);
  sched.runUntil(25);
  assert.equal(h.status().terminatingPods, 0);
  assert.equal(h.pods().length, 1);
  deployments.scale('shop', 'web', 0);
  sched.runUntil(40);
  assert.equal(h.pods().length, 0);
  deployments.scale('shop', 'web', 3);
  sched.runUntil(50);
  assert.equal(h.status().readyReplicas, 3);
});

test('deletePod: terminating and not ready at once, gone after the grace period, replaced at once', () => {
  const { sched, cluster, deployments } = setup(2);
  const h = deployments.create({ namespace: 'shop', name: 'web', replicas: 2, labels: { app: 'web' } });
  sched.runUntil(10);
  const victim = h.pods()[0]!.name;
  assert.equal(deployments.deletePod('shop', victim), true);
  const p = cluster.pods.get(`shop/${victim}`)!;
  assert.equal(p.terminating, true);
  assert.equal(p.ready, false);
  assert.equal(h.status().pods, 2); // the replacement exists already
  assert.equal(deployments.deletePod('shop', victim), false);
  sched.runUntil(14.9);
  assert.ok(cluster.pods.has(`shop/${victim}`));
  sched.runUntil(15);
  assert.ok(!cluster.pods.has(`shop/${victim}`));
  assert.equal(h.status().readyReplicas, 2);
});

test('a single crash: not ready at once, restarted at once (first restart), ready after the readiness delay', () => {
  const { sched, cluster, deployments } = setup(1);
  const h = deployments.create({ namespace: 'shop', name: 'web', replicas: 1, labels: { app: 'web' } });
  sched.runUntil(100);
  const name = h.pods()[0]!.name;
  assert.equal(deployments.crash('shop', name), true);
  assert.equal(cluster.pods.get(`shop/${name}`)!.ready, false);
  assert.equal(cluster.pods.get(`shop/${name}`)!.phase, 'Running');
  sched.runUntil(102.999);
  assert.equal(cluster.pods.get(`shop/${name}`)!.ready, false);
  sched.runUntil(103);
  assert.equal(cluster.pods.get(`shop/${name}`)!.ready, true);
  assert.equal(deployments.pod('shop', name)?.restarts, 1);
  // the crash did not replace the pod
  assert.equal(h.pods().length, 1);
});

test('CrashLoopBackOff: restarts at 0, 10, 20, 40, 80, 160, 300, 300 s after each crash; reset after 10 minutes up', () => {
  const { sched, deployments } = setup(1, 1, { readinessDelaySeconds: 10 });
  const h = deployments.create({ namespace: 'shop', name: 'web', replicas: 1, labels: { app: 'web' } });
  sched.runUntil(100);
  const name = h.pods()[0]!.name;
  const log: Array<[string, number]> = [];
  deployments.onPod((e) => {
    if (e.kind === 'crashed' || e.kind === 'restarted' || e.kind === 'ready') log.push([e.kind, e.time]);
  });
  deployments.crash('shop', name, { loop: true, runSeconds: 5 });
  sched.runUntil(2000);
  const crashes = log.filter(([k]) => k === 'crashed').map(([, t]) => t);
  const restarts = log.filter(([k]) => k === 'restarted').map(([, t]) => t);
  assert.deepEqual(crashes.slice(0, 8), [100, 105, 120, 145, 190, 275, 440, 745]);
  assert.deepEqual(
    restarts.slice(0, 8).map((t, i) => t - crashes[i]!),
    [0, 10, 20, 40, 80, 160, 300, 300],
  );
  assert.equal(log.filter(([k]) => k === 'ready').length, 0, 'never ready: it crashes 5 s after each start');
  assert.equal(deployments.pod('shop', name)?.crashLooping, true);

  // stop the loop: the next restart stays up and becomes ready
  deployments.stopCrashLoop('shop', name);
  const lastRestart = Math.max(...restarts);
  sched.runUntil(lastRestart + 400);
  assert.equal(deployments.pod('shop', name)?.ready, true);
  // ten minutes later, a crash restarts at once again
  sched.runUntil(sched.now + 600);
  log.length = 0;
  deployments.crash('shop', name);
  sched.runUntil(sched.now + 1);
  assert.deepEqual(
    log.slice(0, 2).map(([k, t]) => [k, t - log[0]![1]]),
    [
      ['crashed', 0],
      ['restarted', 0],
    ],
  );
  assert.equal(deployments.backoffSeconds(1), 0);
  assert.equal(deployments.backoffSeconds(2), 10);
  assert.equal(deployments.backoffSeconds(7), 300);
});

test('readiness flap: setReady(false) then true', () => {
  const { sched, cluster, deployments } = setup(1);
  const h = deployments.create({ namespace: 'shop', name: 'web', replicas: 1, labels: { app: 'web' } });
  sched.runUntil(10);
  const name = h.pods()[0]!.name;
  deployments.setReady('shop', name, false);
  assert.equal(cluster.pods.get(`shop/${name}`)!.ready, false);
  assert.equal(h.pods().length, 1, 'a not-ready pod is not replaced');
  deployments.setReady('shop', name, true);
  assert.equal(cluster.pods.get(`shop/${name}`)!.ready, true);
});

test('drainNode: cordons the node, evicts its pods, replacements land on other nodes', () => {
  const { sched, cluster, deployments } = setup(3);
  const h = deployments.create({ namespace: 'shop', name: 'web', replicas: 6, labels: { app: 'web' } });
  sched.runUntil(10);
  assert.equal(deployments.nodeLoad('node-1'), 2);
  const evicted = deployments.drainNode('node-1');
  assert.equal(evicted, 2);
  assert.equal(deployments.isCordoned('node-1'), true);
  assert.deepEqual(deployments.schedulableNodes(), ['node-0', 'node-2']);
  assert.equal(h.status().pods, 6);
  sched.runUntil(30);
  const pods = h.pods();
  assert.equal(pods.length, 6);
  assert.ok(pods.every((p) => p.nodeName !== 'node-1' && p.ready));
  assert.equal(deployments.nodeLoad('node-0'), 3);
  assert.equal(deployments.nodeLoad('node-2'), 3);
  assert.ok(![...cluster.pods.values()].some((p) => p.nodeName === 'node-1'));
  // uncordon: new pods may go there again (it is the least loaded)
  deployments.uncordon('node-1');
  deployments.scale('shop', 'web', 7);
  assert.equal(deployments.nodeLoad('node-1'), 1);
});

test('no schedulable node: pods wait unscheduled, then start when a node appears', () => {
  const { sched, cluster, deployments } = setup(1);
  deployments.cordon('node-0');
  const h = deployments.create({ namespace: 'shop', name: 'web', replicas: 2, labels: { app: 'web' } });
  assert.equal(h.status().pods, 2);
  assert.equal(h.pods().length, 0);
  sched.runUntil(5);
  cluster.addNode('node-1');
  assert.equal(h.pods().length, 2);
  assert.ok(h.pods().every((p) => p.nodeName === 'node-1'));
  sched.runUntil(10);
  assert.equal(h.status().readyReplicas, 2);
});

test('a pod deleted behind the controller is replaced', () => {
  const { sched, cluster, deployments } = setup(2);
  const h = deployments.create({ namespace: 'shop', name: 'web', replicas: 2, labels: { app: 'web' } });
  sched.runUntil(10);
  const victim = h.pods()[0]!.name;
  cluster.deletePod('shop', victim);
  sched.runUntil(10);
  assert.equal(h.status().pods, 2);
  assert.ok(!h.pods().some((p) => p.name === victim));
});

test('deleting a deployment terminates every pod', () => {
  const { sched, cluster, deployments } = setup(2);
  deployments.create({ namespace: 'shop', name: 'web', replicas: 3, labels: { app: 'web' } });
  sched.runUntil(10);
  deployments.delete('shop', 'web');
  assert.equal(deployments.get('shop', 'web'), undefined);
  assert.ok([...cluster.pods.values()].every((p) => p.terminating && !p.ready));
  sched.runUntil(20);
  assert.equal(cluster.pods.size, 0);
});

test('bulkCreate: Running and Ready at once, spread evenly, one cluster event per pod', () => {
  const { sched, cluster, deployments } = setup(100);
  let events = 0;
  cluster.subscribe((ev) => {
    if (ev.kind === 'pod') events++;
  });
  for (let i = 0; i < 200; i++) {
    deployments.bulkCreate({ namespace: `ns-${i % 10}`, name: `svc-${i}`, replicas: 100, labels: { app: `svc-${i}` } });
  }
  assert.equal(cluster.pods.size, 20_000);
  assert.equal(events, 20_000);
  assert.ok([...cluster.pods.values()].every((p) => p.phase === 'Running' && p.ready));
  const loads = [...cluster.nodes.keys()].map((n) => deployments.nodeLoad(n));
  assert.equal(Math.min(...loads), 200);
  assert.equal(Math.max(...loads), 200);
  assert.equal(sched.pending, 0, 'no lifecycle timers');
  const h = deployments.get('ns-3', 'svc-13')!;
  assert.equal(h.status().readyReplicas, 100);
  assert.ok(h.status().complete);
  // and they take part in later operations
  deployments.rollingUpdate('ns-3', 'svc-13', { maxSurge: '25%', maxUnavailable: 0 });
  sched.runUntil(600);
  assert.ok(h.status().complete);
  assert.equal(h.status().revision, 2);
});

test('same seed → same pod names and nodes; another seed → different', () => {
  const run = (seed: number) => {
    const { sched, deployments } = setup(5, seed);
    deployments.create({ namespace: 'shop', name: 'web', replicas: 7, labels: { app: 'web' } });
    sched.runUntil(10);
    deployments.rollingUpdate('shop', 'web');
    sched.runUntil(100);
    return deployments.podsOf('shop', 'web').map((p) => `${p.name}@${p.node}`);
  };
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7), run(8));
});
