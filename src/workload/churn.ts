/**
 * Synthetic cluster churn: independent Poisson processes (exponential inter-arrival times) of rolling updates,
 * scale events, container crashes, readiness flaps, node drains and service creation/deletion, driven through
 * the Deployments controller and the Cluster in virtual time.
 *
 * Randomness: each process draws its arrival times from its own named stream (`churn.rolling`, `churn.scale`,
 * `churn.crash`, `churn.flap`, `churn.drain`, `churn.service-create`, `churn.service-delete`) and its choices
 * (target deployment, pod, node, direction) from a second stream named `<that name>.pick`. So the arrival times of
 * a process depend on the seed and its rate only: turning another process on, or changing the cluster's size, does
 * not move them. Targets are chosen uniformly.
 */
import type { Seconds } from '../types.js';
import type { Cluster } from '../cluster/cluster.js';
import { objectKey } from '../cluster/selector.js';
import type { Scheduler } from '../sim/scheduler.js';
import type { RngStreams, Stream } from '../sim/rng.js';
import type { Deployments, IntOrPercent } from './deployments.js';

/** Churn rates and their knobs; every field is optional, and a rate of 0 (or absent) turns its process off. */
export interface ChurnConfig {
  /** Rolling updates (a new pod template) of a random deployment, per minute. */
  rollingUpdatesPerMinute?: number;
  /** Strategy of those rollouts; absent: each deployment's own (25% / 25% by default). */
  maxSurge?: IntOrPercent;
  maxUnavailable?: IntOrPercent;
  /** Scale events of a random deployment, per minute: up or down (even odds) by `scaleStep`. */
  scaleEventsPerMinute?: number;
  /** Pods added or removed by one scale event [1]. */
  scaleStep?: number;
  /** Scale-down floor [1]. */
  minReplicas?: number;
  /** Scale-up ceiling [0: none]. */
  maxReplicas?: number;
  /** Container crashes of a random running pod (of a random deployment), per minute. */
  crashesPerMinute?: number;
  /** Crashed pods keep crashing (CrashLoopBackOff: restarts after 0, 10, 20, … 300 s) until deleted. */
  crashLoop?: boolean;
  /** In a crash loop, how long a restarted container runs before crashing again [the Deployments' default, 5]. */
  crashLoopRunSeconds?: number;
  /** A random ready pod fails its readiness probe for `flapSeconds`, per minute. */
  readinessFlapsPerMinute?: number;
  /** Length of a readiness flap [10]. */
  flapSeconds?: number;
  /** Drains of a random schedulable node, per hour (never the last schedulable one). */
  nodeDrainsPerHour?: number;
  /** A drained node is uncordoned after this long [600; 0: never]. */
  drainDowntimeSeconds?: number;
  /** New service + deployment of `endpointsPerService` pods, per minute. */
  serviceCreatesPerMinute?: number;
  /** Deletion of a random service (and its deployment, when no other service uses it), per minute. */
  serviceDeletesPerMinute?: number;
  /** Pods of a service created by churn [10]. */
  endpointsPerService?: number;
}

/** A Service whose pods come from a Deployment of the same namespace. */
export interface ChurnService {
  namespace: string;
  name: string;
  /** Name of the Deployment (in the service's namespace). */
  deployment: string;
}

export interface ChurnContext {
  cluster: Cluster;
  sched: Scheduler;
  deployments: Deployments;
  rng: RngStreams;
  /** The services (and their deployments) churn may act on; churn keeps its own copy up to date. */
  services: ChurnService[];
  /** Namespace of the services churn creates ['churn']. */
  namespace?: string;
  /** Told of everything churn does, in order. */
  onEvent?: (e: ChurnEvent) => void;
}

export type ChurnEventKind =
  'rolling-update' | 'scale' | 'crash' | 'flap' | 'flap-end' | 'drain' | 'uncordon' | 'service-create' | 'service-delete';

export interface ChurnEvent {
  time: Seconds;
  kind: ChurnEventKind;
  /** "namespace/name" of the deployment, pod or service; the node's name for drains. */
  target: string;
  /** e.g. "4->5" for a scale event, the number of pods evicted for a drain. */
  detail: string;
}

export interface ChurnCounters {
  rollingUpdates: number;
  scaleEvents: number;
  crashes: number;
  flaps: number;
  drains: number;
  servicesCreated: number;
  servicesDeleted: number;
}

/** The stream names of the processes (arrival times); choices use `<name>.pick`. */
export const CHURN_STREAMS = {
  rolling: 'churn.rolling',
  scale: 'churn.scale',
  crash: 'churn.crash',
  flap: 'churn.flap',
  drain: 'churn.drain',
  serviceCreate: 'churn.service-create',
  serviceDelete: 'churn.service-delete',
} as const;

/**
 * Schedules the churn processes from now until `until` (virtual seconds). Returns the counters, updated as the
 * events run (an event counts when it changed something: a scale at its bound, a crash with no running pod, … are
 * skipped).
 */
export function startChurn(ctx: ChurnContext, cfg: ChurnConfig, until: Seconds): ChurnCounters {
  const { cluster, sched, deployments } = ctx;
  const counters: ChurnCounters = {
    rollingUpdates: 0,
    scaleEvents: 0,
    crashes: 0,
    flaps: 0,
    drains: 0,
    servicesCreated: 0,
    servicesDeleted: 0,
  };
  const namespace = ctx.namespace ?? 'churn';
  const services: ChurnService[] = ctx.services.map((s) => ({ ...s }));
  /** Deployment key → number of services using it, in first-seen order. */
  const depRefs = new Map<string, number>();
  for (const s of services) depRefs.set(objectKey(s.namespace, s.deployment), (depRefs.get(objectKey(s.namespace, s.deployment)) ?? 0) + 1);
  let created = 0;

  const log = (kind: ChurnEventKind, target: string, detail = '') => ctx.onEvent?.({ time: sched.now, kind, target, detail });
  const split = (key: string): [string, string] => {
    const i = key.indexOf('/');
    return [key.slice(0, i), key.slice(i + 1)];
  };
  /** A uniformly chosen deployment that still exists. */
  const pickDeployment = (pick: Stream): [string, string] | null => {
    const live = [...depRefs.keys()].filter((k) => {
      const [ns, name] = split(k);
      return deployments.get(ns, name) !== undefined;
    });
    return live.length === 0 ? null : split(pick.pick(live));
  };

  const poisson = (name: string, ratePerSecond: number | undefined, action: (pick: Stream) => void) => {
    if (ratePerSecond === undefined || !(ratePerSecond > 0)) return;
    const arrivals = ctx.rng.stream(name);
    const pick = ctx.rng.stream(`${name}.pick`);
    const next = () => {
      const t = sched.now + arrivals.exponential(ratePerSecond);
      if (t > until) return;
      sched.at(
        t,
        () => {
          action(pick);
          next();
        },
        name,
      );
    };
    next();
  };
  const perMinute = (r: number | undefined) => (r === undefined ? undefined : r / 60);

  poisson(CHURN_STREAMS.rolling, perMinute(cfg.rollingUpdatesPerMinute), (pick) => {
    const d = pickDeployment(pick);
    if (d === null) return;
    const strategy: { maxSurge?: IntOrPercent; maxUnavailable?: IntOrPercent } = {};
    if (cfg.maxSurge !== undefined) strategy.maxSurge = cfg.maxSurge;
    if (cfg.maxUnavailable !== undefined) strategy.maxUnavailable = cfg.maxUnavailable;
    deployments.rollingUpdate(d[0], d[1], strategy);
    counters.rollingUpdates++;
    log('rolling-update', objectKey(d[0], d[1]), `revision ${deployments.get(d[0], d[1])!.status().revision}`);
  });

  poisson(CHURN_STREAMS.scale, perMinute(cfg.scaleEventsPerMinute), (pick) => {
    const d = pickDeployment(pick);
    const up = pick.bernoulli(0.5);
    if (d === null) return;
    const cur = deployments.get(d[0], d[1])!.status().replicas;
    const step = cfg.scaleStep ?? 1;
    const min = cfg.minReplicas ?? 1;
    const max = cfg.maxReplicas !== undefined && cfg.maxReplicas > 0 ? cfg.maxReplicas : Number.POSITIVE_INFINITY;
    const target = up ? Math.min(cur + step, max) : Math.max(cur - step, min);
    if (target === cur || target < 0) return;
    deployments.scale(d[0], d[1], target);
    counters.scaleEvents++;
    log('scale', objectKey(d[0], d[1]), `${cur}->${target}`);
  });

  poisson(CHURN_STREAMS.crash, perMinute(cfg.crashesPerMinute), (pick) => {
    const d = pickDeployment(pick);
    if (d === null) return;
    const running = deployments.podsOf(d[0], d[1]).filter((p) => p.containerRunning && !p.terminating);
    if (running.length === 0) return;
    const p = pick.pick(running);
    const opts: { loop?: boolean; runSeconds?: number } = { loop: cfg.crashLoop === true };
    if (cfg.crashLoopRunSeconds !== undefined) opts.runSeconds = cfg.crashLoopRunSeconds;
    if (!deployments.crash(p.namespace, p.name, opts)) return;
    counters.crashes++;
    log('crash', objectKey(p.namespace, p.name), cfg.crashLoop === true ? 'loop' : 'once');
  });

  poisson(CHURN_STREAMS.flap, perMinute(cfg.readinessFlapsPerMinute), (pick) => {
    const d = pickDeployment(pick);
    if (d === null) return;
    const ready = deployments.podsOf(d[0], d[1]).filter((p) => p.ready);
    if (ready.length === 0) return;
    const p = pick.pick(ready);
    if (!deployments.setReady(p.namespace, p.name, false)) return;
    counters.flaps++;
    const key = objectKey(p.namespace, p.name);
    log('flap', key);
    sched.after(
      cfg.flapSeconds ?? 10,
      () => {
        if (deployments.setReady(p.namespace, p.name, true)) log('flap-end', key);
      },
      'churn.flap-end',
    );
  });

  poisson(CHURN_STREAMS.drain, cfg.nodeDrainsPerHour === undefined ? undefined : cfg.nodeDrainsPerHour / 3600, (pick) => {
    const nodes = deployments.schedulableNodes();
    if (nodes.length < 2) return; // keep somewhere to put the evicted pods
    const node = pick.pick(nodes);
    const evicted = deployments.drainNode(node);
    counters.drains++;
    log('drain', node, String(evicted));
    const downtime = cfg.drainDowntimeSeconds ?? 600;
    if (downtime > 0) {
      sched.after(
        downtime,
        () => {
          if (!deployments.isCordoned(node)) return;
          deployments.uncordon(node);
          log('uncordon', node);
        },
        'churn.uncordon',
      );
    }
  });

  poisson(CHURN_STREAMS.serviceCreate, perMinute(cfg.serviceCreatesPerMinute), () => {
    let name = '';
    do name = `churn-${++created}`;
    while (cluster.services.has(objectKey(namespace, name)) || deployments.get(namespace, name) !== undefined);
    deployments.create({
      namespace,
      name,
      replicas: cfg.endpointsPerService ?? 10,
      labels: { app: name },
      containerPorts: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    });
    cluster.addService({
      namespace,
      name,
      labels: { app: name },
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 0 }],
    });
    services.push({ namespace, name, deployment: name });
    const key = objectKey(namespace, name);
    depRefs.set(key, (depRefs.get(key) ?? 0) + 1);
    counters.servicesCreated++;
    log('service-create', key);
  });

  poisson(CHURN_STREAMS.serviceDelete, perMinute(cfg.serviceDeletesPerMinute), (pick) => {
    if (services.length === 0) return;
    const i = pick.int(services.length);
    const s = services[i]!;
    services.splice(i, 1);
    cluster.deleteService(s.namespace, s.name);
    const dk = objectKey(s.namespace, s.deployment);
    const refs = (depRefs.get(dk) ?? 1) - 1;
    if (refs <= 0) {
      depRefs.delete(dk);
      deployments.delete(s.namespace, s.deployment);
    } else depRefs.set(dk, refs);
    counters.servicesDeleted++;
    log('service-delete', objectKey(s.namespace, s.name));
  });

  return counters;
}
