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
 */
import type { ContainerPort, Labels, Pod, Seconds } from '../types.js';
import type { Cluster, ClusterEvent } from '../cluster/cluster.js';
import { objectKey } from '../cluster/selector.js';
import type { EventHandle, Scheduler } from '../sim/scheduler.js';
import type { Stream } from '../sim/rng.js';

/** An integer, or an integer percentage string such as '25%'. */
export type IntOrPercent = number | string;

export interface RollingUpdateStrategy {
  maxSurge: IntOrPercent;
  maxUnavailable: IntOrPercent;
}

export interface DeploymentsOptions {
  /** Pending → Running (image pull, container start). */
  startupSeconds: number;
  /** Running (or restarted) → Ready. */
  readinessDelaySeconds: number;
  /** Terminating → deleted. */
  terminationGraceSeconds: number;
  /** CrashLoopBackOff initial back-off [10]. */
  crashBackoffInitialSeconds?: number;
  /** CrashLoopBackOff cap [300]. */
  crashBackoffMaxSeconds?: number;
  /** The back-off resets once a container ran this long [600]. */
  crashBackoffResetSeconds?: number;
  /** How long a crash-looping container runs before it crashes again [5]. */
  crashLoopRunSeconds?: number;
}

export interface DeploymentSpec {
  namespace: string;
  name: string;
  replicas: number;
  /** The pods' labels (the deployment's selector); pods also get pod-template-hash. */
  labels: Labels;
  containerPorts?: ContainerPort[];
  /** Restrict placement to these nodes. */
  nodes?: string[];
  /** Rolling update strategy ['25%' / '25%']. */
  maxSurge?: IntOrPercent;
  maxUnavailable?: IntOrPercent;
}

export interface DeploymentStatus {
  /** spec.replicas */
  replicas: number;
  /** Pods not terminating, every revision (status.replicas), unscheduled ones included. */
  pods: number;
  /** Pods of the current template, not terminating. */
  updatedReplicas: number;
  readyReplicas: number;
  /** Ready pods (minReadySeconds 0). */
  availableReplicas: number;
  /** max(replicas - available, 0) */
  unavailableReplicas: number;
  terminatingPods: number;
  /** Template revision, 1 for the first. */
  revision: number;
  /** pod-template-hash of the current template. */
  templateHash: string;
  /** The rollout is done: every pod is updated and available, no extra pods. */
  complete: boolean;
}

/** What the controller knows about one of its pods. */
export interface ManagedPod {
  namespace: string;
  name: string;
  deployment: string;
  templateHash: string;
  /** '' while unscheduled. */
  node: string;
  phase: 'Pending' | 'Running';
  ready: boolean;
  terminating: boolean;
  /** The container runs (false while pending and during a crash back-off). */
  containerRunning: boolean;
  crashLooping: boolean;
  restarts: number;
}

export interface DeploymentHandle {
  readonly namespace: string;
  readonly name: string;
  /** "namespace/name" */
  readonly key: string;
  /** The labels every pod of the deployment carries (use as a Service selector). */
  readonly selector: Labels;
  status(): DeploymentStatus;
  /** The deployment's pods as the cluster holds them (terminating ones included). */
  pods(): Pod[];
}

export type PodLifecycleKind =
  | 'created'
  | 'scheduled'
  | 'running'
  | 'ready'
  | 'unready'
  | 'crashed'
  | 'restarted'
  | 'terminating'
  | 'deleted';

export interface PodLifecycleEvent {
  time: Seconds;
  kind: PodLifecycleKind;
  /** "namespace/name" of the pod. */
  pod: string;
  /** "namespace/name" of the deployment. */
  deployment: string;
  node: string;
}

/** SafeEncodeString's alphabet (k8s.io/apimachinery/pkg/util/rand): no vowels, no look-alikes. */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** FNV-1a, 32 bits. */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(s, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** rand.SafeEncodeString: every byte mapped into the alphabet. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += ALPHANUMS[s.charCodeAt(i) % ALPHANUMS.length];
  return out;
}

/**
 * intstr.GetScaledValueFromIntOrPercent: an integer as is, a percentage of `total` rounded up or down.
 * Throws RangeError for anything else (negative numbers, non-integer percentages, strings without '%').
 */
export function scaledValue(v: IntOrPercent, total: number, roundUp: boolean): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`invalid value ${v}: a non-negative integer or a percentage`);
    return v;
  }
  const m = /^(\d+)%$/.exec(v.trim());
  if (!m) throw new RangeError(`invalid value '${v}': a non-negative integer or an integer percentage such as '25%'`);
  const pct = Number(m[1]);
  return roundUp ? Math.ceil((pct * total) / 100) : Math.floor((pct * total) / 100);
}

/** deploymentutil.ResolveFenceposts: [maxSurge, maxUnavailable] for `replicas`. */
export function resolveFenceposts(s: RollingUpdateStrategy, replicas: number): [number, number] {
  const surge = scaledValue(s.maxSurge, replicas, true);
  let unavailable = scaledValue(s.maxUnavailable, replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

// ---------------------------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------------------------

interface RS {
  hash: string;
  revision: number;
  labels: Labels;
  /** spec.replicas */
  spec: number;
  /** Pods not terminating (scheduled or not). */
  pods: Set<PodState>;
  /** Of `pods`, the ready ones. */
  readyCount: number;
  seq: number;
}

interface Dep {
  key: string;
  ns: string;
  name: string;
  selector: Labels;
  replicas: number;
  containerPorts: ContainerPort[];
  nodes: string[] | null;
  strategy: RollingUpdateStrategy;
  revision: number;
  /** Oldest first; the last is the current template's. */
  rss: RS[];
  /** The deployment.kubernetes.io/desired-replicas and max-replicas annotations of the active sets. */
  annotatedReplicas: number;
  annotatedMax: number;
  deleted: boolean;
  /** Pods shutting down (bound, within their grace period). */
  terminating: Set<PodState>;
  handle: DeploymentHandle;
}

interface PodState {
  key: string;
  ns: string;
  name: string;
  dep: Dep;
  rs: RS;
  seq: number;
  node: string;
  /** Added to the cluster. */
  bound: boolean;
  phase: 'Pending' | 'Running';
  container: 'waiting' | 'starting' | 'up' | 'backoff';
  probeFailing: boolean;
  terminating: boolean;
  ready: boolean;
  readySince: number;
  restarts: number;
  crashStreak: number;
  lastStart: number;
  /** Crash loop: seconds a restarted container runs before crashing again; null when not looping. */
  loopRun: number | null;
  lifeTimer: EventHandle | null;
  crashTimer: EventHandle | null;
  /** What the cluster object says. */
  pubPhase: Pod['phase'];
  pubReady: boolean;
  pubTerminating: boolean;
}

/** Nodes by load, for O(1) least-loaded placement with random tie-breaks. */
class Placement {
  readonly load = new Map<string, number>();
  private readonly buckets: string[][] = [];
  private readonly pos = new Map<string, number>();
  readonly schedulable = new Set<string>();
  private minHint = 0;

  has(node: string): boolean {
    return this.load.has(node);
  }

  addNode(node: string): void {
    if (!this.load.has(node)) this.load.set(node, 0);
    this.enable(node);
  }

  removeNode(node: string): void {
    this.disable(node);
    this.load.delete(node);
  }

  enable(node: string): void {
    if (!this.load.has(node) || this.schedulable.has(node)) return;
    this.schedulable.add(node);
    this.insert(node, this.load.get(node)!);
  }

  disable(node: string): void {
    if (!this.schedulable.has(node)) return;
    this.schedulable.delete(node);
    this.remove(node, this.load.get(node)!);
  }

  change(node: string, delta: number): void {
    const l = this.load.get(node);
    if (l === undefined) return;
    const nl = Math.max(0, l + delta);
    if (this.schedulable.has(node)) {
      this.remove(node, l);
      this.insert(node, nl);
    }
    this.load.set(node, nl);
  }

  /** A least-loaded schedulable node (ties by rng), or null. */
  pickLeast(rng: Stream): string | null {
    if (this.schedulable.size === 0) return null;
    for (let l = this.minHint; l < this.buckets.length; l++) {
      const b = this.buckets[l];
      if (b !== undefined && b.length > 0) {
        this.minHint = l;
        return b.length === 1 ? b[0]! : b[rng.int(b.length)]!;
      }
    }
    return null;
  }

  /** A least-loaded schedulable node among `nodes` (ties by rng, in the list's order), or null. */
  pickAmong(nodes: readonly string[], rng: Stream): string | null {
    let best = Number.POSITIVE_INFINITY;
    let ties: string[] = [];
    for (const n of nodes) {
      if (!this.schedulable.has(n)) continue;
      const l = this.load.get(n)!;
      if (l < best) {
        best = l;
        ties = [n];
      } else if (l === best && !ties.includes(n)) ties.push(n);
    }
    if (ties.length === 0) return null;
    return ties.length === 1 ? ties[0]! : ties[rng.int(ties.length)]!;
  }

  private insert(node: string, l: number): void {
    while (this.buckets.length <= l) this.buckets.push([]);
    const b = this.buckets[l]!;
    this.pos.set(node, b.length);
    b.push(node);
    if (l < this.minHint) this.minHint = l;
  }

  private remove(node: string, l: number): void {
    const b = this.buckets[l];
    const i = this.pos.get(node);
    if (b === undefined || i === undefined) return;
    const last = b.pop()!;
    if (last !== node) {
      b[i] = last;
      this.pos.set(last, i);
    }
    this.pos.delete(node);
  }
}

const MAX_SYNC_STEPS = 10_000;

/** Deployments, their ReplicaSets and pods, driven through the Cluster in virtual time. */
export class Deployments {
  private readonly deps = new Map<string, Dep>();
  /** Every pod the controller keeps (terminating ones included), by "ns/name". */
  private readonly pods = new Map<string, PodState>();
  /** Bound, not terminating pods by node. */
  private readonly byNode = new Map<string, Set<PodState>>();
  private readonly placement = new Placement();
  private readonly cordoned = new Set<string>();
  private readonly unscheduled: PodState[] = [];
  private readonly listeners: Array<(e: PodLifecycleEvent) => void> = [];
  private readonly opts: Required<DeploymentsOptions>;
  private seq = 0;
  private syncing = false;
  private readonly syncQueue = new Set<Dep>();

  constructor(
    private readonly cluster: Cluster,
    private readonly sched: Scheduler,
    private readonly rng: Stream,
    opts: DeploymentsOptions,
  ) {
    for (const k of ['startupSeconds', 'readinessDelaySeconds', 'terminationGraceSeconds'] as const) {
      if (!(opts[k] >= 0)) throw new RangeError(`${k} must be >= 0, got ${opts[k]}`);
    }
    this.opts = {
      crashBackoffInitialSeconds: 10,
      crashBackoffMaxSeconds: 300,
      crashBackoffResetSeconds: 600,
      crashLoopRunSeconds: 5,
      ...opts,
    };
    for (const n of cluster.nodes.keys()) this.placement.addNode(n);
    cluster.subscribe((ev) => this.onClusterEvent(ev));
  }

  /** Listens to pod lifecycle steps (including the ones that change nothing in the cluster, such as restarts). */
  onPod(fn: (e: PodLifecycleEvent) => void): void {
    this.listeners.push(fn);
  }

  // -------------------------------------------------------------------------------------------
  // Deployments
  // -------------------------------------------------------------------------------------------

  /** Creates a Deployment; its pods go through the whole lifecycle from now. */
  create(spec: DeploymentSpec): DeploymentHandle {
    const d = this.newDep(spec);
    this.sync(d);
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
    const now = this.sched.now;
    for (let i = 0; i < d.replicas; i++) {
      const p = this.newPod(d, rs);
      const node = this.pickNode(d);
      if (node === null) {
        this.unscheduled.push(p);
        continue;
      }
      p.node = node;
      p.phase = 'Running';
      p.container = 'up';
      p.ready = true;
      p.readySince = now;
      p.lastStart = now;
      rs.readyCount++;
      this.bind(p, { phase: 'Running', ready: true });
    }
    return d.handle;
  }

  get(namespace: string, name: string): DeploymentHandle | undefined {
    return this.deps.get(objectKey(namespace, name))?.handle;
  }

  list(): DeploymentHandle[] {
    return [...this.deps.values()].map((d) => d.handle);
  }

  /** Sets spec.replicas. */
  scale(namespace: string, name: string, replicas: number): void {
    if (!Number.isInteger(replicas) || replicas < 0) throw new RangeError(`replicas must be a non-negative integer, got ${replicas}`);
    const d = this.dep(namespace, name);
    d.replicas = replicas;
    this.sync(d);
  }

  /** Changes the pod template (a new pod-template-hash) and rolls it out with this strategy (kept for later rollouts). */
  rollingUpdate(namespace: string, name: string, strategy?: Partial<RollingUpdateStrategy>): void {
    const d = this.dep(namespace, name);
    const s: RollingUpdateStrategy = { ...d.strategy, ...strategy };
    resolveFenceposts(s, d.replicas);
    checkStrategy(s);
    d.strategy = s;
    d.revision++;
    d.rss.push(this.newRS(d));
    this.sync(d);
  }

  /** Deletes the Deployment: every pod terminates gracefully. */
  delete(namespace: string, name: string): void {
    const d = this.deps.get(objectKey(namespace, name));
    if (d === undefined) return;
    d.deleted = true;
    this.deps.delete(d.key);
    for (const rs of d.rss) {
      rs.spec = 0;
      this.reconcileRS(d, rs);
    }
    d.rss = [];
  }

  // -------------------------------------------------------------------------------------------
  // Pods
  // -------------------------------------------------------------------------------------------

  /** Graceful delete of one pod (its ReplicaSet replaces it at once). false when unknown or already terminating. */
  deletePod(namespace: string, podName: string): boolean {
    const p = this.pods.get(objectKey(namespace, podName));
    if (p === undefined || p.terminating) return false;
    this.terminate(p);
    this.sync(p.dep);
    return true;
  }

  /**
   * The pod's container crashes: not ready at once, restarted after the back-off, ready again readinessDelaySeconds
   * later. With `loop`, every restarted container crashes again after `runSeconds` (default crashLoopRunSeconds),
   * until `stopCrashLoop` or the pod is deleted. false when the container is not running (pending, already
   * crashed, terminating) or the pod is unknown.
   */
  crash(namespace: string, podName: string, opts: { loop?: boolean; runSeconds?: number } = {}): boolean {
    const p = this.pods.get(objectKey(namespace, podName));
    if (p === undefined || p.terminating || p.phase !== 'Running' || p.container === 'backoff' || p.container === 'waiting') return false;
    if (opts.loop === true) p.loopRun = Math.max(0, opts.runSeconds ?? this.opts.crashLoopRunSeconds);
    this.doCrash(p);
    return true;
  }

  /** Ends a crash loop: the next restart stays up. */
  stopCrashLoop(namespace: string, podName: string): void {
    const p = this.pods.get(objectKey(namespace, podName));
    if (p === undefined) return;
    p.loopRun = null;
    if (p.crashTimer !== null) this.sched.cancel(p.crashTimer);
    p.crashTimer = null;
  }

  /**
   * The readiness probe starts failing (false) or passing again (true). A pod whose container is not up yet (or
   * crashed) becomes ready only once it is. false when the pod is unknown or terminating.
   */
  setReady(namespace: string, podName: string, ready: boolean): boolean {
    const p = this.pods.get(objectKey(namespace, podName));
    if (p === undefined || p.terminating) return false;
    p.probeFailing = !ready;
    this.refresh(p);
    return true;
  }

  /** The controller's view of a deployment's pods, in creation order (terminating ones only when asked). */
  podsOf(namespace: string, name: string, includeTerminating = false): ManagedPod[] {
    const d = this.deps.get(objectKey(namespace, name));
    if (d === undefined) return [];
    const out: PodState[] = [];
    for (const rs of d.rss) for (const p of rs.pods) out.push(p);
    if (includeTerminating) for (const p of d.terminating) out.push(p);
    out.sort((a, b) => a.seq - b.seq);
    return out.map((p) => this.view(p));
  }

  /** One pod as the controller sees it. */
  pod(namespace: string, podName: string): ManagedPod | undefined {
    const p = this.pods.get(objectKey(namespace, podName));
    return p === undefined ? undefined : this.view(p);
  }

  // -------------------------------------------------------------------------------------------
  // Nodes
  // -------------------------------------------------------------------------------------------

  cordon(node: string): void {
    this.cordoned.add(node);
    this.placement.disable(node);
  }

  uncordon(node: string): void {
    this.cordoned.delete(node);
    if (this.cluster.nodes.has(node)) this.placement.enable(node);
    this.retryUnscheduled();
  }

  isCordoned(node: string): boolean {
    return this.cordoned.has(node);
  }

  /** Nodes taking new pods. */
  schedulableNodes(): string[] {
    return [...this.cluster.nodes.keys()].filter((n) => this.placement.schedulable.has(n));
  }

  /** Pods this controller keeps on the node (not terminating). */
  nodeLoad(node: string): number {
    return this.byNode.get(node)?.size ?? 0;
  }

  /**
   * kubectl drain: cordons the node and evicts (gracefully deletes) the controller's pods on it; their ReplicaSets
   * create replacements on other nodes. With `force`, pods not managed here are deleted gracefully too (kubectl
   * drain refuses them without --force). Returns the number of pods evicted.
   */
  drainNode(node: string, opts: { force?: boolean } = {}): number {
    this.cordon(node);
    const mine = [...(this.byNode.get(node) ?? [])].sort((a, b) => a.seq - b.seq);
    const affected = new Set<Dep>();
    for (const p of mine) {
      this.terminate(p);
      affected.add(p.dep);
    }
    let n = mine.length;
    if (opts.force === true) {
      const others = [...this.cluster.pods.values()].filter(
        (p) => p.nodeName === node && !p.terminating && !this.pods.has(objectKey(p.namespace, p.name)),
      );
      for (const pod of others) {
        this.cluster.updatePod(pod.namespace, pod.name, { terminating: true, ready: false });
        this.sched.after(
          this.opts.terminationGraceSeconds,
          () => this.cluster.deletePod(pod.namespace, pod.name),
          'deploy.evict-unmanaged',
        );
        n++;
      }
    }
    for (const d of affected) if (!d.deleted) this.sync(d);
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Internals: objects
  // -------------------------------------------------------------------------------------------

  private dep(namespace: string, name: string): Dep {
    const d = this.deps.get(objectKey(namespace, name));
    if (d === undefined) throw new Error(`no deployment ${namespace}/${name}`);
    return d;
  }

  private newDep(spec: DeploymentSpec): Dep {
    const key = objectKey(spec.namespace, spec.name);
    if (this.deps.has(key)) throw new Error(`deployment ${key} exists`);
    if (!Number.isInteger(spec.replicas) || spec.replicas < 0) throw new RangeError(`replicas must be a non-negative integer, got ${spec.replicas}`);
    const strategy: RollingUpdateStrategy = { maxSurge: spec.maxSurge ?? '25%', maxUnavailable: spec.maxUnavailable ?? '25%' };
    resolveFenceposts(strategy, spec.replicas);
    checkStrategy(strategy);
    const self = this;
    const d: Dep = {
      key,
      ns: spec.namespace,
      name: spec.name,
      selector: { ...spec.labels },
      replicas: spec.replicas,
      containerPorts: spec.containerPorts ?? [],
      nodes: spec.nodes ?? null,
      strategy,
      revision: 1,
      rss: [],
      annotatedReplicas: spec.replicas,
      annotatedMax: spec.replicas + resolveFenceposts(strategy, spec.replicas)[0],
      deleted: false,
      terminating: new Set(),
      handle: {
        namespace: spec.namespace,
        name: spec.name,
        key,
        selector: { ...spec.labels },
        status: () => self.status(d),
        pods: () => self.clusterPods(d),
      },
    };
    d.rss.push(this.newRS(d));
    this.cluster.addNamespace(spec.namespace);
    this.deps.set(key, d);
    return d;
  }

  private newRS(d: Dep): RS {
    const template = JSON.stringify([d.ns, d.name, d.selector, d.containerPorts, d.revision]);
    let hash = '';
    for (let collision = 0; ; collision++) {
      hash = safeEncodeString(String(fnv32a(collision === 0 ? template : `${template}#${collision}`)));
      if (!d.rss.some((r) => r.hash === hash)) break;
    }
    return {
      hash,
      revision: d.revision,
      labels: { ...d.selector, 'pod-template-hash': hash },
      spec: 0,
      pods: new Set(),
      readyCount: 0,
      seq: this.seq++,
    };
  }

  private newPod(d: Dep, rs: RS): PodState {
    let name = '';
    for (;;) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += ALPHANUMS[this.rng.int(ALPHANUMS.length)];
      name = `${d.name}-${rs.hash}-${suffix}`;
      const key = objectKey(d.ns, name);
      if (!this.pods.has(key) && !this.cluster.pods.has(key)) break;
    }
    const p: PodState = {
      key: objectKey(d.ns, name),
      ns: d.ns,
      name,
      dep: d,
      rs,
      seq: this.seq++,
      node: '',
      bound: false,
      phase: 'Pending',
      container: 'waiting',
      probeFailing: false,
      terminating: false,
      ready: false,
      readySince: -1,
      restarts: 0,
      crashStreak: 0,
      lastStart: -1,
      loopRun: null,
      lifeTimer: null,
      crashTimer: null,
      pubPhase: 'Pending',
      pubReady: false,
      pubTerminating: false,
    };
    this.pods.set(p.key, p);
    rs.pods.add(p);
    this.emit('created', p);
    return p;
  }

  private pickNode(d: Dep): string | null {
    return d.nodes === null ? this.placement.pickLeast(this.rng) : this.placement.pickAmong(d.nodes, this.rng);
  }

  /** Adds the pod to the cluster on p.node. */
  private bind(p: PodState, state: { phase: Pod['phase']; ready: boolean }): void {
    p.bound = true;
    p.pubPhase = state.phase;
    p.pubReady = state.ready;
    this.placement.change(p.node, +1);
    let set = this.byNode.get(p.node);
    if (set === undefined) this.byNode.set(p.node, (set = new Set()));
    set.add(p);
    this.cluster.addPod({
      namespace: p.ns,
      name: p.name,
      labels: p.rs.labels, // shared with the ReplicaSet (labels are replaced, never changed in place): one object per RS, not per pod
      nodeName: p.node,
      phase: state.phase,
      ready: state.ready,
      containerPorts: p.dep.containerPorts,
    });
    this.emit('scheduled', p);
  }

  private emit(kind: PodLifecycleKind, p: PodState): void {
    if (this.listeners.length === 0) return;
    const e: PodLifecycleEvent = { time: this.sched.now, kind, pod: p.key, deployment: p.dep.key, node: p.node };
    for (const l of this.listeners) l(e);
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

  private status(d: Dep): DeploymentStatus {
    let pods = 0;
    let ready = 0;
    for (const rs of d.rss) {
      pods += rs.pods.size;
      ready += rs.readyCount;
    }
    const terminating = d.terminating.size;
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

  private clusterPods(d: Dep): Pod[] {
    const out: Pod[] = [];
    const states: PodState[] = [];
    for (const rs of d.rss) for (const p of rs.pods) if (p.bound) states.push(p);
    for (const p of d.terminating) states.push(p);
    states.sort((a, b) => a.seq - b.seq);
    for (const p of states) {
      const pod = this.cluster.pods.get(p.key);
      if (pod !== undefined) out.push(pod);
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Internals: pod lifecycle
  // -------------------------------------------------------------------------------------------

  /** Schedules a new pod of the set (or queues it when no node takes it). */
  private startPod(d: Dep, rs: RS): void {
    const p = this.newPod(d, rs);
    this.schedulePod(p);
  }

  private schedulePod(p: PodState): boolean {
    const node = this.pickNode(p.dep);
    if (node === null) {
      this.unscheduled.push(p);
      return false;
    }
    p.node = node;
    this.bind(p, { phase: 'Pending', ready: false });
    p.lifeTimer = this.sched.after(this.opts.startupSeconds, () => this.onStarted(p), 'deploy.pod-running');
    return true;
  }

  private retryUnscheduled(): void {
    if (this.unscheduled.length === 0) return;
    const queue = this.unscheduled.splice(0);
    for (const p of queue) {
      if (p.terminating || !this.pods.has(p.key) || p.bound) continue;
      this.schedulePod(p);
    }
  }

  private onStarted(p: PodState): void {
    p.lifeTimer = null;
    p.phase = 'Running';
    this.containerStarted(p);
    this.emit('running', p);
    this.refresh(p);
  }

  /** The container (re)starts: ready after the readiness delay; a crash-looping one crashes after its run time. */
  private containerStarted(p: PodState): void {
    p.container = 'starting';
    p.lastStart = this.sched.now;
    p.lifeTimer = this.sched.after(
      this.opts.readinessDelaySeconds,
      () => {
        p.lifeTimer = null;
        p.container = 'up';
        this.refresh(p);
      },
      'deploy.pod-ready',
    );
    if (p.loopRun !== null) {
      p.crashTimer = this.sched.after(
        p.loopRun,
        () => {
          p.crashTimer = null;
          if (p.loopRun !== null && !p.terminating) this.doCrash(p);
        },
        'deploy.crash-loop',
      );
    }
  }

  /** The CrashLoopBackOff delay before restarting after the n-th consecutive crash (n >= 1). */
  backoffSeconds(n: number): number {
    if (n <= 1) return 0;
    return Math.min(this.opts.crashBackoffInitialSeconds * 2 ** (n - 2), this.opts.crashBackoffMaxSeconds);
  }

  private doCrash(p: PodState): void {
    const now = this.sched.now;
    if (p.lifeTimer !== null) this.sched.cancel(p.lifeTimer);
    if (p.crashTimer !== null) this.sched.cancel(p.crashTimer);
    p.lifeTimer = p.crashTimer = null;
    if (p.lastStart >= 0 && now - p.lastStart >= this.opts.crashBackoffResetSeconds) p.crashStreak = 0;
    p.crashStreak++;
    p.restarts++;
    p.container = 'backoff';
    this.emit('crashed', p);
    this.refresh(p);
    p.lifeTimer = this.sched.after(
      this.backoffSeconds(p.crashStreak),
      () => {
        p.lifeTimer = null;
        if (p.terminating) return;
        this.containerStarted(p);
        this.emit('restarted', p);
      },
      'deploy.pod-restart',
    );
  }

  /** Recomputes readiness and publishes any change to the cluster; a readiness change re-syncs the deployment. */
  private refresh(p: PodState): void {
    const ready = !p.terminating && p.phase === 'Running' && p.container === 'up' && !p.probeFailing;
    const changed = ready !== p.ready;
    if (changed) {
      p.ready = ready;
      if (!p.terminating) p.rs.readyCount += ready ? 1 : -1;
      if (ready) p.readySince = this.sched.now;
    }
    this.publish(p);
    if (changed) {
      this.emit(ready ? 'ready' : 'unready', p);
      if (!p.dep.deleted) this.sync(p.dep);
    }
  }

  private publish(p: PodState): void {
    if (!p.bound) return;
    const patch: Partial<Pick<Pod, 'phase' | 'ready' | 'terminating'>> = {};
    if (p.pubPhase !== p.phase) patch.phase = p.pubPhase = p.phase;
    if (p.pubReady !== p.ready) patch.ready = p.pubReady = p.ready;
    if (p.pubTerminating !== p.terminating) patch.terminating = p.pubTerminating = p.terminating;
    if (Object.keys(patch).length > 0 && this.cluster.pods.has(p.key)) this.cluster.updatePod(p.ns, p.name, patch);
  }

  /** Graceful deletion: terminating (not ready) now, gone after the grace period. Does not sync. */
  private terminate(p: PodState): void {
    if (p.terminating) return;
    if (p.lifeTimer !== null) this.sched.cancel(p.lifeTimer);
    if (p.crashTimer !== null) this.sched.cancel(p.crashTimer);
    p.lifeTimer = p.crashTimer = null;
    p.loopRun = null;
    if (p.ready) p.rs.readyCount--;
    p.ready = false;
    p.terminating = true;
    p.rs.pods.delete(p);
    if (!p.bound) {
      this.pods.delete(p.key);
      return;
    }
    this.byNode.get(p.node)?.delete(p);
    this.placement.change(p.node, -1);
    p.dep.terminating.add(p);
    this.publish(p);
    this.emit('terminating', p);
    this.sched.after(
      this.opts.terminationGraceSeconds,
      () => {
        if (this.pods.get(p.key) !== p) return;
        this.pods.delete(p.key);
        p.dep.terminating.delete(p);
        this.cluster.deletePod(p.ns, p.name);
        this.emit('deleted', p);
      },
      'deploy.pod-deleted',
    );
  }

  private onClusterEvent(ev: ClusterEvent): void {
    if (ev.kind === 'node') {
      if (ev.op === 'add') {
        this.placement.addNode(ev.node.name);
        if (this.cordoned.has(ev.node.name)) this.placement.disable(ev.node.name);
        this.retryUnscheduled();
      } else this.placement.removeNode(ev.node.name);
      return;
    }
    if (ev.kind !== 'pod' || ev.op !== 'delete') return;
    // a pod of ours deleted by someone else: forget it, and let its ReplicaSet replace it (after this event)
    const key = objectKey(ev.pod.namespace, ev.pod.name);
    const p = this.pods.get(key);
    if (p === undefined || !p.bound) return;
    if (p.lifeTimer !== null) this.sched.cancel(p.lifeTimer);
    if (p.crashTimer !== null) this.sched.cancel(p.crashTimer);
    p.lifeTimer = p.crashTimer = null;
    this.pods.delete(key);
    p.dep.terminating.delete(p);
    if (!p.terminating) {
      if (p.ready) p.rs.readyCount--;
      p.ready = false;
      p.terminating = true;
      p.rs.pods.delete(p);
      this.byNode.get(p.node)?.delete(p);
      this.placement.change(p.node, -1);
    }
    this.emit('deleted', p);
    const d = p.dep;
    if (!d.deleted) this.sched.after(0, () => this.sync(d), 'deploy.resync');
  }

  // -------------------------------------------------------------------------------------------
  // Internals: the deployment and replica set controllers
  // -------------------------------------------------------------------------------------------

  /** Runs the controllers for a deployment until they settle; a trigger during a run is queued behind it. */
  private sync(d: Dep): void {
    if (d.deleted) return;
    this.syncQueue.add(d);
    if (this.syncing) return;
    this.syncing = true;
    try {
      for (const next of this.syncQueue) {
        this.syncQueue.delete(next);
        if (!next.deleted) this.syncOne(next);
      }
    } finally {
      this.syncing = false;
      this.syncQueue.clear();
    }
  }

  private syncOne(d: Dep): void {
    for (let i = 0; i < MAX_SYNC_STEPS; i++) {
      const changed = this.deploymentStep(d);
      for (const rs of d.rss) this.reconcileRS(d, rs);
      if (!changed) break;
    }
    // old sets with no replicas and no pods left are done with
    const cur = d.rss[d.rss.length - 1]!;
    d.rss = d.rss.filter((rs) => rs === cur || rs.spec > 0 || rs.pods.size > 0);
  }

  /** One pass of the deployment controller; true when it changed some ReplicaSet's replicas. */
  private deploymentStep(d: Dep): boolean {
    const newRS = d.rss[d.rss.length - 1]!;
    const olds = d.rss.slice(0, -1);
    const active = d.rss.filter((rs) => rs.spec > 0);
    if (active.length > 0 && d.annotatedReplicas !== d.replicas) {
      this.scaleEvent(d, newRS, olds, active);
      return true;
    }
    // rolloutRolling: reconcileNewReplicaSet, then reconcileOldReplicaSets
    if (this.reconcileNew(d, newRS)) return true;
    return this.reconcileOld(d, newRS, olds);
  }

  private maxSurge(d: Dep): number {
    return resolveFenceposts(d.strategy, d.replicas)[0];
  }

  private maxUnavailable(d: Dep): number {
    if (d.replicas === 0) return 0;
    const u = resolveFenceposts(d.strategy, d.replicas)[1];
    return Math.min(u, d.replicas);
  }

  private setSpec(d: Dep, rs: RS, n: number): void {
    rs.spec = Math.max(0, n);
    d.annotatedReplicas = d.replicas;
    d.annotatedMax = d.replicas + this.maxSurge(d);
  }

  /** sync.go scale(): a scaling event. */
  private scaleEvent(d: Dep, newRS: RS, olds: RS[], active: RS[]): void {
    if (active.length === 1) {
      this.setSpec(d, active[0]!, d.replicas);
      return;
    }
    // the new set is saturated: old sets go to zero
    if (newRS.spec === d.replicas && newRS.readyCount === d.replicas) {
      for (const rs of olds) this.setSpec(d, rs, 0);
      return;
    }
    const allowed = d.replicas > 0 ? d.replicas + this.maxSurge(d) : 0;
    const total = active.reduce((s, rs) => s + rs.spec, 0);
    const toAdd = allowed - total;
    const sorted = [...active].sort((a, b) =>
      b.spec !== a.spec ? b.spec - a.spec : toAdd > 0 ? b.seq - a.seq : a.seq - b.seq,
    );
    const sizes = new Map<RS, number>();
    let added = 0;
    for (const rs of sorted) {
      let proportion = 0;
      if (toAdd !== 0 && toAdd !== added && rs.spec > 0) {
        let fraction: number;
        if (d.replicas === 0) fraction = -rs.spec;
        else {
          const annotated = d.annotatedMax > 0 ? d.annotatedMax : total;
          fraction = Math.round((rs.spec * allowed) / annotated) - rs.spec;
        }
        const left = toAdd - added;
        proportion = toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
      }
      sizes.set(rs, rs.spec + proportion);
      added += proportion;
    }
    const first = sorted[0]!;
    if (toAdd !== 0) sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
    for (const [rs, n] of sizes) this.setSpec(d, rs, n);
    d.annotatedReplicas = d.replicas;
    d.annotatedMax = allowed;
  }

  /** rolling.go reconcileNewReplicaSet + NewRSNewReplicas. */
  private reconcileNew(d: Dep, newRS: RS): boolean {
    if (newRS.spec === d.replicas) return false;
    if (newRS.spec > d.replicas) {
      this.setSpec(d, newRS, d.replicas);
      return true;
    }
    const current = d.rss.reduce((s, rs) => s + rs.spec, 0);
    const maxTotal = d.replicas + this.maxSurge(d);
    if (current >= maxTotal) return false;
    const up = Math.min(maxTotal - current, d.replicas - newRS.spec);
    if (up <= 0) return false;
    this.setSpec(d, newRS, newRS.spec + up);
    return true;
  }

  /** rolling.go reconcileOldReplicaSets, cleanupUnhealthyReplicas, scaleDownOldReplicaSetsForRollingUpdate. */
  private reconcileOld(d: Dep, newRS: RS, olds: RS[]): boolean {
    const oldCount = olds.reduce((s, rs) => s + rs.spec, 0);
    if (oldCount === 0) return false;
    const all = oldCount + newRS.spec;
    const minAvailable = d.replicas - this.maxUnavailable(d);
    const newUnavailable = newRS.spec - newRS.readyCount;
    const maxScaledDown = all - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    // oldest first (olds are kept in creation order)
    let cleaned = 0;
    for (const rs of olds) {
      if (cleaned >= maxScaledDown) break;
      if (rs.spec === 0 || rs.spec === rs.readyCount) continue;
      const n = Math.min(maxScaledDown - cleaned, rs.spec - rs.readyCount);
      this.setSpec(d, rs, rs.spec - n);
      cleaned += n;
    }
    let available = newRS.readyCount;
    for (const rs of olds) available += Math.min(rs.readyCount, rs.spec);
    let scaled = 0;
    if (available > minAvailable) {
      const total = available - minAvailable;
      for (const rs of olds) {
        if (scaled >= total) break;
        if (rs.spec === 0) continue;
        const n = Math.min(rs.spec, total - scaled);
        this.setSpec(d, rs, rs.spec - n);
        scaled += n;
      }
    }
    return cleaned + scaled > 0;
  }

  /** The ReplicaSet controller: creates or gracefully deletes pods to match spec.replicas. */
  private reconcileRS(d: Dep, rs: RS): void {
    const diff = rs.spec - rs.pods.size;
    if (diff > 0) {
      for (let i = 0; i < diff; i++) this.startPod(d, rs);
    } else if (diff < 0) {
      for (const p of this.deletionOrder(rs).slice(0, -diff)) this.terminate(p);
    }
  }

  /** controller.ActivePodsWithRanks order: the pods a ReplicaSet deletes first come first. */
  private deletionOrder(rs: RS): PodState[] {
    const pods = [...rs.pods];
    const colocated = new Map<string, number>();
    for (const p of pods) if (p.node !== '') colocated.set(p.node, (colocated.get(p.node) ?? 0) + 1);
    const phaseRank = (p: PodState) => (p.phase === 'Pending' ? 0 : 1);
    return pods.sort((a, b) => {
      if ((a.node === '') !== (b.node === '')) return a.node === '' ? -1 : 1;
      if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b);
      if (a.ready !== b.ready) return a.ready ? 1 : -1;
      const ca = colocated.get(a.node) ?? 0;
      const cb = colocated.get(b.node) ?? 0;
      if (ca !== cb) return cb - ca;
      if (a.ready && b.ready && a.readySince !== b.readySince) return b.readySince - a.readySince;
      if (a.restarts !== b.restarts) return b.restarts - a.restarts;
      return b.seq - a.seq;
    });
  }
}

function checkStrategy(s: RollingUpdateStrategy): void {
  const zero = (v: IntOrPercent) => (typeof v === 'number' ? v === 0 : /^0+%$/.test(v.trim()));
  if (zero(s.maxSurge) && zero(s.maxUnavailable)) throw new RangeError('maxSurge and maxUnavailable may not both be 0');
  if (typeof s.maxUnavailable === 'string' && scaledValue(s.maxUnavailable, 100, false) > 100) {
    throw new RangeError(`maxUnavailable ${s.maxUnavailable} exceeds 100%`);
  }
}
