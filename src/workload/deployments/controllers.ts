/**
 * The Deployment and ReplicaSet controllers of the Deployments model (pkg/controller/deployment rolling.go and
 * sync.go, pkg/controller/replicaset): scaling events, rolling updates within maxSurge / maxUnavailable, and pod
 * creation and deletion in the ReplicaSet controller's order.
 */
import { objectKey } from '../../cluster/selector.js';
import { ALPHANUMS, fnv32a, resolveFenceposts, safeEncodeString } from './api.js';
import type { Kubelet } from './kubelet.js';
import { PodState, copyLabels, type Dep, type DeploymentsState, type RS } from './state.js';

const MAX_SYNC_STEPS = 10_000;

export class Controllers {
  private syncing = false;
  private readonly syncQueue = new Set<Dep>();

  constructor(
    private readonly s: DeploymentsState,
    private readonly kubelet: Kubelet,
  ) {
    kubelet.resync = (d) => this.sync(d);
  }

  newRS(d: Dep): RS {
    const template = JSON.stringify([d.ns, d.name, d.selector, d.containerPorts, d.revision]);
    let hash = '';
    for (let collision = 0; ; collision++) {
      hash = safeEncodeString(String(fnv32a(collision === 0 ? template : `${template}#${collision}`)));
      if (!d.rss.some((r) => r.hash === hash)) break;
    }
    return {
      hash,
      revision: d.revision,
      labels: copyLabels(d.selector, 'pod-template-hash', hash),
      spec: 0,
      pods: new Set(),
      readyCount: 0,
      seq: this.s.seq++,
      dep: d,
    };
  }

  newPod(d: Dep, rs: RS): PodState {
    let name = '';
    let key = '';
    for (;;) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += ALPHANUMS[this.s.rng.int(ALPHANUMS.length)];
      name = [d.name, '-', rs.hash, '-', suffix].join(''); // one flat string, not a rope (a million pods keep it)
      key = objectKey(d.ns, name);
      if (!this.s.pods.has(key) && !this.s.cluster.pods.has(key)) break;
    }
    const p = new PodState(key, name, rs, this.s.seq++);
    this.s.pods.set(p.key, p);
    rs.pods.add(p);
    this.s.emit('created', p);
    return p;
  }

  /** Schedules a new pod of the set (or queues it when no node takes it). */
  startPod(d: Dep, rs: RS): void {
    const p = this.newPod(d, rs);
    this.kubelet.schedulePod(p);
  }

  /** Runs the controllers for a deployment until they settle; a trigger during a run is queued behind it. */
  sync(d: Dep): void {
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

  syncOne(d: Dep): void {
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
  deploymentStep(d: Dep): boolean {
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

  maxSurge(d: Dep): number {
    return resolveFenceposts(d.strategy, d.replicas)[0];
  }

  maxUnavailable(d: Dep): number {
    if (d.replicas === 0) return 0;
    const u = resolveFenceposts(d.strategy, d.replicas)[1];
    return Math.min(u, d.replicas);
  }

  setSpec(d: Dep, rs: RS, n: number): void {
    rs.spec = Math.max(0, n);
    d.annotatedReplicas = d.replicas;
    d.annotatedMax = d.replicas + this.maxSurge(d);
  }

  /** sync.go scale(): a scaling event. */
  scaleEvent(d: Dep, newRS: RS, olds: RS[], active: RS[]): void {
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
    const sorted = [...active].sort((a, b) => (b.spec !== a.spec ? b.spec - a.spec : toAdd > 0 ? b.seq - a.seq : a.seq - b.seq));
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
  reconcileNew(d: Dep, newRS: RS): boolean {
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
  reconcileOld(d: Dep, newRS: RS, olds: RS[]): boolean {
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
  reconcileRS(d: Dep, rs: RS): void {
    const diff = rs.spec - rs.pods.size;
    if (diff > 0) {
      for (let i = 0; i < diff; i++) this.startPod(d, rs);
    } else if (diff < 0) {
      for (const p of this.deletionOrder(rs).slice(0, -diff)) this.kubelet.terminate(p);
    }
  }

  /** controller.ActivePodsWithRanks order: the pods a ReplicaSet deletes first come first. */
  deletionOrder(rs: RS): PodState[] {
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
