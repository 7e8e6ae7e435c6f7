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
  /** The Deployment the set belongs to. */
  dep: Dep;
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
  /** Pods shutting down (bound, within their grace period); null while there are none (most deployments, most of the time). */
  terminating: Set<PodState> | null;
  handle: DeploymentHandle;
}

/**
 * A copy of labels, plus one label when given. Built key by key from an empty object: copies of the same keys
 * share one hidden class (a spread copy can get a hidden class of its own, about 170 bytes per Deployment).
 */
export function copyLabels(labels: Labels, key?: string, value?: string): Labels {
  const out: Labels = {};
  for (const k in labels) out[k] = labels[k]!;
  if (key !== undefined) out[key] = value!;
  return out;
}

// PodState's booleans and small enums, packed in one integer (a million pods: one field instead of nine)
const BOUND = 1;
const PROBE_FAILING = 2;
const TERMINATING = 4;
const READY = 8;
const PUB_READY = 16;
const PUB_TERMINATING = 32;
const RUNNING = 64;
const CONTAINER_SHIFT = 7; // 2 bits: CONTAINER_STATES
const PUB_PHASE_SHIFT = 9; // 2 bits: POD_PHASES
const CONTAINER_STATES = ['waiting', 'starting', 'up', 'backoff'] as const;
const POD_PHASES: readonly Pod['phase'][] = ['Pending', 'Running', 'Succeeded', 'Failed'];

/** What only a pod whose container crashed or crash-loops needs (most pods never get one). */
interface CrashState {
  restarts: number;
  crashStreak: number;
  /** Crash loop: seconds a restarted container runs before crashing again; null when not looping. */
  loopRun: number | null;
  crashTimer: EventHandle | null;
}

/**
 * One pod as the controllers and the kubelet track it. A million of them are kept at a large cluster's size, so
 * the flags are packed in one integer and the crash state is allocated on the first crash; the accessors read
 * like plain fields.
 */
export class PodState {
  seq: number;
  node = '';
  readySince = -1;
  lastStart = -1;
  lifeTimer: EventHandle | null = null;
  private bits = 0; // Pending, container waiting, pubPhase Pending, every flag false
  private crash: CrashState | null = null;

  constructor(
    /** "namespace/name", the string the pods maps hold. */
    readonly key: string,
    readonly name: string,
    readonly rs: RS,
    seq: number,
  ) {
    this.seq = seq;
  }

  get dep(): Dep {
    return this.rs.dep;
  }
  get ns(): string {
    return this.rs.dep.ns;
  }

  private flag(bit: number): boolean {
    return (this.bits & bit) !== 0;
  }
  private setFlag(bit: number, v: boolean): void {
    this.bits = v ? this.bits | bit : this.bits & ~bit;
  }

  /** Added to the cluster. */
  get bound(): boolean {
    return this.flag(BOUND);
  }
  set bound(v: boolean) {
    this.setFlag(BOUND, v);
  }
  get probeFailing(): boolean {
    return this.flag(PROBE_FAILING);
  }
  set probeFailing(v: boolean) {
    this.setFlag(PROBE_FAILING, v);
  }
  get terminating(): boolean {
    return this.flag(TERMINATING);
  }
  set terminating(v: boolean) {
    this.setFlag(TERMINATING, v);
  }
  get ready(): boolean {
    return this.flag(READY);
  }
  set ready(v: boolean) {
    this.setFlag(READY, v);
  }
  get phase(): 'Pending' | 'Running' {
    return this.flag(RUNNING) ? 'Running' : 'Pending';
  }
  set phase(v: 'Pending' | 'Running') {
    this.setFlag(RUNNING, v === 'Running');
  }
  get container(): (typeof CONTAINER_STATES)[number] {
    return CONTAINER_STATES[(this.bits >> CONTAINER_SHIFT) & 3]!;
  }
  set container(v: (typeof CONTAINER_STATES)[number]) {
    this.bits = (this.bits & ~(3 << CONTAINER_SHIFT)) | (CONTAINER_STATES.indexOf(v) << CONTAINER_SHIFT);
  }

  /** What the cluster object says. */
  get pubPhase(): Pod['phase'] {
    return POD_PHASES[(this.bits >> PUB_PHASE_SHIFT) & 3]!;
  }
  set pubPhase(v: Pod['phase']) {
    this.bits = (this.bits & ~(3 << PUB_PHASE_SHIFT)) | (POD_PHASES.indexOf(v) << PUB_PHASE_SHIFT);
  }
  get pubReady(): boolean {
    return this.flag(PUB_READY);
  }
  set pubReady(v: boolean) {
    this.setFlag(PUB_READY, v);
  }
  get pubTerminating(): boolean {
    return this.flag(PUB_TERMINATING);
  }
  set pubTerminating(v: boolean) {
    this.setFlag(PUB_TERMINATING, v);
  }

  private crashState(): CrashState {
    return (this.crash ??= { restarts: 0, crashStreak: 0, loopRun: null, crashTimer: null });
  }
  get restarts(): number {
    return this.crash?.restarts ?? 0;
  }
  set restarts(v: number) {
    this.crashState().restarts = v;
  }
  get crashStreak(): number {
    return this.crash?.crashStreak ?? 0;
  }
  set crashStreak(v: number) {
    this.crashState().crashStreak = v;
  }
  /** Crash loop: seconds a restarted container runs before crashing again; null when not looping. */
  get loopRun(): number | null {
    return this.crash?.loopRun ?? null;
  }
  set loopRun(v: number | null) {
    if (v !== null || this.crash !== null) this.crashState().loopRun = v;
  }
  get crashTimer(): EventHandle | null {
    return this.crash?.crashTimer ?? null;
  }
  set crashTimer(v: EventHandle | null) {
    if (v !== null || this.crash !== null) this.crashState().crashTimer = v;
  }
}

export class DeploymentsState {
  readonly deps = new Map<string, Dep>();
  /** Every pod the controller keeps (terminating ones included), by "ns/name". */
  readonly pods = new Map<string, PodState>();
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
