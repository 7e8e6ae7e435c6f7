/**
 * The public types of the Deployments model and the upstream helpers they follow: pod-template-hash
 * (hashutil FNV-32a + rand.SafeEncodeString), intstr scaling and the rolling-update fenceposts
 * (pkg/controller/deployment/util: ResolveFenceposts).
 */
import type { ContainerPort, Labels, Pod, Seconds } from '../../types.js';

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
  'created' | 'scheduled' | 'running' | 'ready' | 'unready' | 'crashed' | 'restarted' | 'terminating' | 'deleted';

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
export const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

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

/** The strategy validation of the Deployment API: not both zero, maxUnavailable at most 100%. */
export function checkStrategy(s: RollingUpdateStrategy): void {
  const zero = (v: IntOrPercent) => (typeof v === 'number' ? v === 0 : /^0+%$/.test(v.trim()));
  if (zero(s.maxSurge) && zero(s.maxUnavailable)) throw new RangeError('maxSurge and maxUnavailable may not both be 0');
  if (typeof s.maxUnavailable === 'string' && scaledValue(s.maxUnavailable, 100, false) > 100) {
    throw new RangeError(`maxUnavailable ${s.maxUnavailable} exceeds 100%`);
  }
}
