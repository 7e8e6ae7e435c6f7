/**
 * The scheduler and kubelet side of the Deployments model: binding pods to nodes (or queueing them unscheduled),
 * the pod lifecycle in virtual time (Pending → Running → Ready, CrashLoopBackOff restarts, graceful termination),
 * publishing each change to the Cluster, and reacting to node and pod events from the cluster.
 */
import type { Pod } from '../../types.js';
import type { ClusterEvent } from '../../cluster/cluster.js';
import { objectKey } from '../../cluster/selector.js';
import type { Dep, DeploymentsState, PodState } from './state.js';

export class Kubelet {
  /** Runs the controllers for a deployment (set by the controllers, which the kubelet's changes trigger). */
  resync: (d: Dep) => void = () => {};

  constructor(private readonly s: DeploymentsState) {}

  pickNode(d: Dep): string | null {
    return d.nodes === null ? this.s.placement.pickLeast(this.s.rng) : this.s.placement.pickAmong(d.nodes, this.s.rng);
  }

  /** Adds the pod to the cluster on p.node. */
  bind(p: PodState, state: { phase: Pod['phase']; ready: boolean }): void {
    p.bound = true;
    p.pubPhase = state.phase;
    p.pubReady = state.ready;
    this.s.placement.change(p.node, +1);
    this.s.cluster.addPod(
      {
        namespace: p.ns,
        name: p.name,
        labels: p.rs.labels, // shared with the ReplicaSet (labels are replaced, never changed in place): one object per RS, not per pod
        nodeName: p.node,
        phase: state.phase,
        ready: state.ready,
        containerPorts: p.dep.containerPorts,
      },
      p.key,
    );
    this.s.emit('scheduled', p);
  }

  schedulePod(p: PodState): boolean {
    const node = this.pickNode(p.dep);
    if (node === null) {
      this.s.unscheduled.push(p);
      return false;
    }
    p.node = node;
    this.bind(p, { phase: 'Pending', ready: false });
    p.lifeTimer = this.s.sched.after(this.s.opts.startupSeconds, () => this.onStarted(p), 'deploy.pod-running');
    return true;
  }

  retryUnscheduled(): void {
    if (this.s.unscheduled.length === 0) return;
    const queue = this.s.unscheduled.splice(0);
    for (const p of queue) {
      if (p.terminating || !this.s.pods.has(p.key) || p.bound) continue;
      this.schedulePod(p);
    }
  }

  onStarted(p: PodState): void {
    p.lifeTimer = null;
    p.phase = 'Running';
    this.containerStarted(p);
    this.s.emit('running', p);
    this.refresh(p);
  }

  /** The container (re)starts: ready after the readiness delay; a crash-looping one crashes after its run time. */
  containerStarted(p: PodState): void {
    p.container = 'starting';
    p.lastStart = this.s.sched.now;
    p.lifeTimer = this.s.sched.after(
      this.s.opts.readinessDelaySeconds,
      () => {
        p.lifeTimer = null;
        p.container = 'up';
        this.refresh(p);
      },
      'deploy.pod-ready',
    );
    if (p.loopRun !== null) {
      p.crashTimer = this.s.sched.after(
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
    return Math.min(this.s.opts.crashBackoffInitialSeconds * 2 ** (n - 2), this.s.opts.crashBackoffMaxSeconds);
  }

  doCrash(p: PodState): void {
    const now = this.s.sched.now;
    if (p.lifeTimer !== null) this.s.sched.cancel(p.lifeTimer);
    if (p.crashTimer !== null) this.s.sched.cancel(p.crashTimer);
    p.lifeTimer = p.crashTimer = null;
    if (p.lastStart >= 0 && now - p.lastStart >= this.s.opts.crashBackoffResetSeconds) p.crashStreak = 0;
    p.crashStreak++;
    p.restarts++;
    p.container = 'backoff';
    this.s.emit('crashed', p);
    this.refresh(p);
    p.lifeTimer = this.s.sched.after(
      this.backoffSeconds(p.crashStreak),
      () => {
        p.lifeTimer = null;
        if (p.terminating) return;
        this.containerStarted(p);
        this.s.emit('restarted', p);
      },
      'deploy.pod-restart',
    );
  }

  /** Recomputes readiness and publishes any change to the cluster; a readiness change re-syncs the deployment. */
  refresh(p: PodState): void {
    const ready = !p.terminating && p.phase === 'Running' && p.container === 'up' && !p.probeFailing;
    const changed = ready !== p.ready;
    if (changed) {
      p.ready = ready;
      if (!p.terminating) p.rs.readyCount += ready ? 1 : -1;
      if (ready) p.readySince = this.s.sched.now;
    }
    this.publish(p);
    if (changed) {
      this.s.emit(ready ? 'ready' : 'unready', p);
      if (!p.dep.deleted) this.resync(p.dep);
    }
  }

  publish(p: PodState): void {
    if (!p.bound) return;
    const patch: Partial<Pick<Pod, 'phase' | 'ready' | 'terminating'>> = {};
    if (p.pubPhase !== p.phase) patch.phase = p.pubPhase = p.phase;
    if (p.pubReady !== p.ready) patch.ready = p.pubReady = p.ready;
    if (p.pubTerminating !== p.terminating) patch.terminating = p.pubTerminating = p.terminating;
    if (Object.keys(patch).length > 0 && this.s.cluster.pods.has(p.key)) this.s.cluster.updatePod(p.ns, p.name, patch);
  }

  /** Graceful deletion: terminating (not ready) now, gone after the grace period. Does not sync. */
  terminate(p: PodState): void {
    if (p.terminating) return;
    if (p.lifeTimer !== null) this.s.sched.cancel(p.lifeTimer);
    if (p.crashTimer !== null) this.s.sched.cancel(p.crashTimer);
    p.lifeTimer = p.crashTimer = null;
    p.loopRun = null;
    if (p.ready) p.rs.readyCount--;
    p.ready = false;
    p.terminating = true;
    p.rs.pods.delete(p);
    if (!p.bound) {
      this.s.pods.delete(p.key);
      return;
    }
    this.s.placement.change(p.node, -1);
    (p.dep.terminating ??= new Set()).add(p);
    this.publish(p);
    this.s.emit('terminating', p);
    this.s.sched.after(
      this.s.opts.terminationGraceSeconds,
      () => {
        if (this.s.pods.get(p.key) !== p) return;
        this.s.pods.delete(p.key);
        p.dep.terminating?.delete(p);
        this.s.cluster.deletePod(p.ns, p.name);
        this.s.emit('deleted', p);
      },
      'deploy.pod-deleted',
    );
  }

  onClusterEvent(ev: ClusterEvent): void {
    if (ev.kind === 'node') {
      if (ev.op === 'add') {
        this.s.placement.addNode(ev.node.name);
        if (this.s.cordoned.has(ev.node.name)) this.s.placement.disable(ev.node.name);
        this.retryUnscheduled();
      } else this.s.placement.removeNode(ev.node.name);
      return;
    }
    if (ev.kind !== 'pod' || ev.op !== 'delete') return;
    // a pod of ours deleted by someone else: forget it, and let its ReplicaSet replace it (after this event)
    const key = objectKey(ev.pod.namespace, ev.pod.name);
    const p = this.s.pods.get(key);
    if (p === undefined || !p.bound) return;
    if (p.lifeTimer !== null) this.s.sched.cancel(p.lifeTimer);
    if (p.crashTimer !== null) this.s.sched.cancel(p.crashTimer);
    p.lifeTimer = p.crashTimer = null;
    this.s.pods.delete(key);
    p.dep.terminating?.delete(p);
    if (!p.terminating) {
      if (p.ready) p.rs.readyCount--;
      p.ready = false;
      p.terminating = true;
      p.rs.pods.delete(p);
      this.s.placement.change(p.node, -1);
    }
    this.s.emit('deleted', p);
    const d = p.dep;
    if (!d.deleted) this.s.sched.after(0, () => this.resync(d), 'deploy.resync');
  }
}
