/**
 * A Deployment / ReplicaSet controller, a scheduler and a kubelet, just detailed enough to give the cluster the pod
 * churn real workloads give it, in virtual time.
 *
 * Pod lifecycle (delays from the options):
 *   created: Pending on a node (not ready) ─startupSeconds→ Running, not ready ─readinessDelaySeconds→ Ready
 *   graceful delete (scale down, rollout, eviction, deletePod): terminating, not ready ─terminationGraceSeconds→ gone
 *   container crash: not ready at once; restarted after the CrashLoopBackOff back-off; Ready readinessDelaySeconds
 *   after the restart. Back-off (kubelet; kubernetes.io "How Pods handle problems with containers"): the first
 *   crash restarts at once, then 10 s, doubling, capped at 300 s; reset once the container ran 10 minutes.
 *
 * Placement: least-loaded schedulable node first (load = pods this controller keeps on the node, terminating ones
 * excluded), ties broken by the rng stream; cordoned nodes take no pods; a pod with no node to go to waits,
 * unscheduled (and outside the cluster's objects, since a Pod's node cannot be changed once added), until one is
 * added or uncordoned.
 *
 * Deployments follow the upstream controller (pkg/controller/deployment, rolling.go and sync.go):
 * - maxSurge / maxUnavailable: an integer or an integer percentage of replicas; surge rounded up, unavailable
 *   rounded down; both zero → unavailable 1 (ResolveFenceposts). Defaults 25% / 25%.
 * - The new ReplicaSet is scaled up while all ReplicaSets' replicas < replicas + maxSurge; old ReplicaSets are
 *   scaled down (their unhealthy pods first) while available pods stay >= replicas - maxUnavailable, counting the
 *   new ReplicaSet's unavailable pods. Terminating pods count toward neither (ReplicaSets ignore them).
 * - A scale while several ReplicaSets are active is spread proportionally (getReplicaSetFraction, leftovers to
 *   the largest); otherwise the active (or newest) ReplicaSet takes the new size at once.
 * - ReplicaSets delete pods in the controller's order: unscheduled, pending, not ready, more pods of the set on the
 *   same node, ready for a shorter time, more restarts, newer.
 * - Controllers react at the instant of the change (no watch or queue latency); availability is readiness
 *   (minReadySeconds 0).
 * The pod-template-hash label is FNV-32a of the template (labels, ports, revision) in SafeEncodeString's alphabet,
 * and pod names are `<deployment>-<hash>-<5 characters drawn from the rng in the same alphabet>`, as upstream.
 *
 * Parts (src/workload/deployments/): api.ts (public types, hash and intstr helpers), state.ts (shared state),
 * placement.ts (the scheduler's node choice), kubelet.ts (binding and pod lifecycle), controllers.ts (Deployment
 * and ReplicaSet controllers). This file is the public API.
 */
import type { Labels, Pod } from '../types.js';
import type { Cluster } from '../cluster/cluster.js';
import { objectKey } from '../cluster/selector.js';
import type { Scheduler } from '../sim/scheduler.js';
import type { Stream } from '../sim/rng.js';
import {
  checkStrategy,
  resolveFenceposts,
  type DeploymentHandle,
  type DeploymentSpec,
  type DeploymentStatus,
  type DeploymentsOptions,
  type ManagedPod,
  type PodLifecycleEvent,
  type RollingUpdateStrategy,
} from './deployments/api.js';
import { Controllers } from './deployments/controllers.js';
import { Kubelet } from './deployments/kubelet.js';
import { DeploymentsState, copyLabels, type Dep, type PodState } from './deployments/state.js';

export {
  fnv32a,
  resolveFenceposts,
  safeEncodeString,
  scaledValue,
  type DeploymentHandle,
  type DeploymentSpec,
  type DeploymentStatus,
  type DeploymentsOptions,
  type IntOrPercent,
  type ManagedPod,
  type PodLifecycleEvent,
  type PodLifecycleKind,
  type RollingUpdateStrategy,
} from './deployments/api.js';

/** maxSurge and maxUnavailable 25%: one object for every Deployment that does not set them (replaced, never changed). */
const DEFAULT_STRATEGY: RollingUpdateStrategy = Object.freeze({ maxSurge: '25%', maxUnavailable: '25%' });

/** Deployments, their ReplicaSets and pods, driven through the Cluster in virtual time. */
export class Deployments {
  private readonly s: DeploymentsState;
  private readonly kubelet: Kubelet;
  private readonly controllers: Controllers;

  constructor(cluster: Cluster, sched: Scheduler, rng: Stream, opts: DeploymentsOptions) {
    for (const k of ['startupSeconds', 'readinessDelaySeconds', 'terminationGraceSeconds'] as const) {
      if (!(opts[k] >= 0)) throw new RangeError(`${k} must be >= 0, got ${opts[k]}`);
    }
    this.s = new DeploymentsState(cluster, sched, rng, {
      crashBackoffInitialSeconds: 10,
      crashBackoffMaxSeconds: 300,
      crashBackoffResetSeconds: 600,
      crashLoopRunSeconds: 5,
      ...opts,
    });
    this.kubelet = new Kubelet(this.s);
    this.controllers = new Controllers(this.s, this.kubelet);
    for (const n of cluster.nodes.keys()) this.s.placement.addNode(n);
    cluster.subscribe((ev) => this.kubelet.onClusterEvent(ev));
  }

  /** The CrashLoopBackOff delay before restarting after the n-th consecutive crash (n >= 1). */
  backoffSeconds(n: number): number {
    return this.kubelet.backoffSeconds(n);
  }

  /** Listens to pod lifecycle steps (including the ones that change nothing in the cluster, such as restarts). */
  onPod(fn: (e: PodLifecycleEvent) => void): void {
    this.s.listeners.push(fn);
  }

  // -------------------------------------------------------------------------------------------
  // Deployments
  // -------------------------------------------------------------------------------------------

  /** Creates a Deployment; its pods go through the whole lifecycle from now. */
  create(spec: DeploymentSpec): DeploymentHandle {
    const d = this.newDep(spec);
    this.controllers.sync(d);
    return d.handle;
  }

  /**
   * Creates a Deployment whose pods are Running and Ready at once (one cluster event per pod, no timers): the
   * fast path to build large clusters. Create the Services after their pods, so the endpoints controller builds
   * each service's slices once instead of once per pod.
   */
  bulkCreate(spec: DeploymentSpec): DeploymentHandle {
    const d = this.newDep(spec);
    const rs = d.rss[0]!;
    rs.spec = d.replicas;
    const now = this.s.sched.now;
    for (let i = 0; i < d.replicas; i++) {
      const p = this.controllers.newPod(d, rs);
      const node = this.kubelet.pickNode(d);
      if (node === null) {
        this.s.unscheduled.push(p);
        continue;
      }
      p.node = node;
      p.phase = 'Running';
      p.container = 'up';
      p.ready = true;
      p.readySince = now;
      p.lastStart = now;
      rs.readyCount++;
      this.kubelet.bind(p, { phase: 'Running', ready: true });
    }
    return d.handle;
  }

  get(namespace: string, name: string): DeploymentHandle | undefined {
    return this.s.deps.get(objectKey(namespace, name))?.handle;
  }

  list(): DeploymentHandle[] {
    return [...this.s.deps.values()].map((d) => d.handle);
  }

  /** Sets spec.replicas. */
  scale(namespace: string, name: string, replicas: number): void {
    if (!Number.isInteger(replicas) || replicas < 0) throw new RangeError(`replicas must be a non-negative integer, got ${replicas}`);
    const d = this.dep(namespace, name);
    d.replicas = replicas;
    this.controllers.sync(d);
  }

  /** Changes the pod template (a new pod-template-hash) and rolls it out with this strategy (kept for later rollouts). */
  rollingUpdate(namespace: string, name: string, strategy?: Partial<RollingUpdateStrategy>): void {
    const d = this.dep(namespace, name);
    const s: RollingUpdateStrategy = { ...d.strategy, ...strategy };
    resolveFenceposts(s, d.replicas);
    checkStrategy(s);
    d.strategy = s;
    d.revision++;
    d.rss.push(this.controllers.newRS(d));
    this.controllers.sync(d);
  }

  /** Deletes the Deployment: every pod terminates gracefully. */
  delete(namespace: string, name: string): void {
    const d = this.s.deps.get(objectKey(namespace, name));
    if (d === undefined) return;
    d.deleted = true;
    this.s.deps.delete(d.key);
    for (const rs of d.rss) {
      rs.spec = 0;
      this.controllers.reconcileRS(d, rs);
    }
    d.rss = [];
  }

  // -------------------------------------------------------------------------------------------
  // Pods
  // -------------------------------------------------------------------------------------------

  /** Graceful delete of one pod (its ReplicaSet replaces it at once). false when unknown or already terminating. */
  deletePod(namespace: string, podName: string): boolean {
    const p = this.s.pods.get(objectKey(namespace, podName));
    if (p === undefined || p.terminating) return false;
    this.kubelet.terminate(p);
    this.controllers.sync(p.dep);
    return true;
  }

  /**
   * The pod's container crashes: not ready at once, restarted after the back-off, ready again readinessDelaySeconds
   * later. With `loop`, every restarted container crashes again after `runSeconds` (default crashLoopRunSeconds),
   * until `stopCrashLoop` or the pod is deleted. false when the container is not running (pending, already
   * crashed, terminating) or the pod is unknown.
   */
  crash(namespace: string, podName: string, opts: { loop?: boolean; runSeconds?: number } = {}): boolean {
    const p = this.s.pods.get(objectKey(namespace, podName));
    if (p === undefined || p.terminating || p.phase !== 'Running' || p.container === 'backoff' || p.container === 'waiting') return false;
    if (opts.loop === true) p.loopRun = Math.max(0, opts.runSeconds ?? this.s.opts.crashLoopRunSeconds);
    this.kubelet.doCrash(p);
    return true;
  }

  /** Ends a crash loop: the next restart stays up. */
  stopCrashLoop(namespace: string, podName: string): void {
    const p = this.s.pods.get(objectKey(namespace, podName));
    if (p === undefined) return;
    p.loopRun = null;
    if (p.crashTimer !== null) this.s.sched.cancel(p.crashTimer);
    p.crashTimer = null;
  }

  /**
   * The readiness probe starts failing (false) or passing again (true). A pod whose container is not up yet (or
   * crashed) becomes ready only once it is. false when the pod is unknown or terminating.
   */
  setReady(namespace: string, podName: string, ready: boolean): boolean {
    const p = this.s.pods.get(objectKey(namespace, podName));
    if (p === undefined || p.terminating) return false;
    p.probeFailing = !ready;
    this.kubelet.refresh(p);
    return true;
  }

  /** The controller's view of a deployment's pods, in creation order (terminating ones only when asked). */
  podsOf(namespace: string, name: string, includeTerminating = false): ManagedPod[] {
    const d = this.s.deps.get(objectKey(namespace, name));
    if (d === undefined) return [];
    const out: PodState[] = [];
    for (const rs of d.rss) for (const p of rs.pods) out.push(p);
    if (includeTerminating) for (const p of d.terminating ?? []) out.push(p);
    out.sort((a, b) => a.seq - b.seq);
    return out.map((p) => this.view(p));
  }

  /** One pod as the controller sees it. */
  pod(namespace: string, podName: string): ManagedPod | undefined {
    const p = this.s.pods.get(objectKey(namespace, podName));
    return p === undefined ? undefined : this.view(p);
  }

  // -------------------------------------------------------------------------------------------
  // Nodes
  // -------------------------------------------------------------------------------------------

  cordon(node: string): void {
    this.s.cordoned.add(node);
    this.s.placement.disable(node);
  }

  uncordon(node: string): void {
    this.s.cordoned.delete(node);
    if (this.s.cluster.nodes.has(node)) this.s.placement.enable(node);
    this.kubelet.retryUnscheduled();
  }

  isCordoned(node: string): boolean {
    return this.s.cordoned.has(node);
  }

  /** Nodes taking new pods. */
  schedulableNodes(): string[] {
    return [...this.s.cluster.nodes.keys()].filter((n) => this.s.placement.schedulable.has(n));
  }

  /** Pods this controller keeps on the node (not terminating). */
  nodeLoad(node: string): number {
    return this.s.placement.load.get(node) ?? 0;
  }

  /**
   * kubectl drain: cordons the node and evicts (gracefully deletes) the controller's pods on it; their ReplicaSets
   * create replacements on other nodes. With `force`, pods not managed here are deleted gracefully too (kubectl
   * drain refuses them without --force). Returns the number of pods evicted.
   */
  drainNode(node: string, opts: { force?: boolean } = {}): number {
    this.cordon(node);
    // the controller's pods on the node, bound and not terminating (a scan: drains are rare, and a set per node
    // would cost every pod an entry)
    const mine: PodState[] = [];
    for (const p of this.s.pods.values()) if (p.node === node && p.bound && !p.terminating) mine.push(p);
    mine.sort((a, b) => a.seq - b.seq);
    const affected = new Set<Dep>();
    for (const p of mine) {
      this.kubelet.terminate(p);
      affected.add(p.dep);
    }
    let n = mine.length;
    if (opts.force === true) {
      const others = [...this.s.cluster.pods.values()].filter(
        (p) => p.nodeName === node && !p.terminating && !this.s.pods.has(objectKey(p.namespace, p.name)),
      );
      for (const pod of others) {
        this.s.cluster.updatePod(pod.namespace, pod.name, { terminating: true, ready: false });
        this.s.sched.after(
          this.s.opts.terminationGraceSeconds,
          () => this.s.cluster.deletePod(pod.namespace, pod.name),
          'deploy.evict-unmanaged',
        );
        n++;
      }
    }
    for (const d of affected) if (!d.deleted) this.controllers.sync(d);
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Internals: objects and views
  // -------------------------------------------------------------------------------------------

  private dep(namespace: string, name: string): Dep {
    const d = this.s.deps.get(objectKey(namespace, name));
    if (d === undefined) throw new Error(`no deployment ${namespace}/${name}`);
    return d;
  }

  private newDep(spec: DeploymentSpec): Dep {
    const key = objectKey(spec.namespace, spec.name);
    if (this.s.deps.has(key)) throw new Error(`deployment ${key} exists`);
    if (!Number.isInteger(spec.replicas) || spec.replicas < 0)
      throw new RangeError(`replicas must be a non-negative integer, got ${spec.replicas}`);
    const strategy: RollingUpdateStrategy =
      spec.maxSurge === undefined && spec.maxUnavailable === undefined
        ? DEFAULT_STRATEGY
        : { maxSurge: spec.maxSurge ?? '25%', maxUnavailable: spec.maxUnavailable ?? '25%' };
    resolveFenceposts(strategy, spec.replicas);
    checkStrategy(strategy);
    const d: Dep = {
      key,
      ns: spec.namespace,
      name: spec.name,
      selector: copyLabels(spec.labels), // the handle's too (read, never changed)
      replicas: spec.replicas,
      containerPorts: spec.containerPorts ?? [],
      nodes: spec.nodes ?? null,
      strategy,
      revision: 1,
      rss: [],
      annotatedReplicas: spec.replicas,
      annotatedMax: spec.replicas + resolveFenceposts(strategy, spec.replicas)[0],
      deleted: false,
      terminating: null,
      handle: null!, // set below: the handle refers to the record
    };
    d.handle = new Handle(this, d);
    d.rss.push(this.controllers.newRS(d));
    this.s.cluster.addNamespace(spec.namespace);
    this.s.deps.set(key, d);
    return d;
  }

  private view(p: PodState): ManagedPod {
    return {
      namespace: p.ns,
      name: p.name,
      deployment: p.dep.key,
      templateHash: p.rs.hash,
      node: p.node,
      phase: p.phase,
      ready: p.ready,
      terminating: p.terminating,
      containerRunning: p.container === 'starting' || p.container === 'up',
      crashLooping: p.loopRun !== null,
      restarts: p.restarts,
    };
  }

  /** @internal the handle's status() */
  status(d: Dep): DeploymentStatus {
    let pods = 0;
    let ready = 0;
    for (const rs of d.rss) {
      pods += rs.pods.size;
      ready += rs.readyCount;
    }
    const terminating = d.terminating?.size ?? 0;
    const cur = d.rss[d.rss.length - 1];
    const updated = cur?.pods.size ?? 0;
    return {
      replicas: d.deleted ? 0 : d.replicas,
      pods,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max((d.deleted ? 0 : d.replicas) - ready, 0),
      terminatingPods: terminating,
      revision: d.revision,
      templateHash: cur?.hash ?? '',
      complete: !d.deleted && updated === d.replicas && pods === d.replicas && (cur?.readyCount ?? 0) === d.replicas,
    };
  }

  /** @internal the handle's pods() */
  clusterPods(d: Dep): Pod[] {
    const out: Pod[] = [];
    const states: PodState[] = [];
    for (const rs of d.rss) for (const p of rs.pods) if (p.bound) states.push(p);
    for (const p of d.terminating ?? []) states.push(p);
    states.sort((a, b) => a.seq - b.seq);
    for (const p of states) {
      const pod = this.s.cluster.pods.get(p.key);
      if (pod !== undefined) out.push(pod);
    }
    return out;
  }
}

/** A Deployment as callers hold it (a class, not a literal with closures: one small object per Deployment). */
class Handle implements DeploymentHandle {
  constructor(
    private readonly model: Deployments,
    private readonly d: Dep,
  ) {}

  get namespace(): string {
    return this.d.ns;
  }
  get name(): string {
    return this.d.name;
  }
  get key(): string {
    return this.d.key;
  }
  get selector(): Labels {
    return this.d.selector;
  }

  status(): DeploymentStatus {
    return this.model.status(this.d);
  }

  pods(): Pod[] {
    return this.model.clusterPods(this.d);
  }
}
