/**
 * The state the Deployments model's parts share: the API objects (deployments, their ReplicaSets and pods as the
 * controllers track them), the placement, and the clock, rng and cluster they act on.
 */
import type { ContainerPort, Labels, Pod } from '../../types.js';
import type { Cluster } from '../../cluster/cluster.js';
import type { EventHandle, Scheduler } from '../../sim/scheduler.js';
import type { Stream } from '../../sim/rng.js';
import type { DeploymentHandle, DeploymentsOptions, PodLifecycleEvent, PodLifecycleKind, RollingUpdateStrategy } from './api.js';
import { Placement } from './placement.js';

export interface RS {
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

export interface Dep {
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

export interface PodState {
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

export class DeploymentsState {
  readonly deps = new Map<string, Dep>();
  /** Every pod the controller keeps (terminating ones included), by "ns/name". */
  readonly pods = new Map<string, PodState>();
  /** Bound, not terminating pods by node. */
  readonly byNode = new Map<string, Set<PodState>>();
  readonly placement = new Placement();
  readonly cordoned = new Set<string>();
  readonly unscheduled: PodState[] = [];
  readonly listeners: Array<(e: PodLifecycleEvent) => void> = [];
  /** Creation order of ReplicaSets and pods. */
  seq = 0;

  constructor(
    readonly cluster: Cluster,
    readonly sched: Scheduler,
    readonly rng: Stream,
    readonly opts: Required<DeploymentsOptions>,
  ) {}

  emit(kind: PodLifecycleKind, p: PodState): void {
    if (this.listeners.length === 0) return;
    const e: PodLifecycleEvent = { time: this.sched.now, kind, pod: p.key, deployment: p.dep.key, node: p.node };
    for (const l of this.listeners) l(e);
  }
}
