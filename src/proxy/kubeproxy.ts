import type {
  Backend,
  CostModel,
  EndpointInfo,
  IPFamily,
  LookupResult,
  Packet,
  Seconds,
  Service,
  SyncResult,
  EndpointSlice,
} from '../types.js';
import type { Scheduler } from '../sim/scheduler.js';
import type { Stream } from '../sim/rng.js';
import { ChangeTracker } from './tracker.js';
import { SyncRunner, type RunnerConfig } from './runner.js';
import { Conntrack } from './conntrack.js';

/** One sync as it happened on a node. */
export interface SyncRecord {
  node: string;
  /** The family of the proxier that synced (a dual-stack node runs one per family). */
  family: IPFamily;
  start: Seconds;
  duration: Seconds;
  result: SyncResult;
  /** Service ports changed since the previous sync. */
  changed: number;
  /** Network programming latency of every change folded into this sync: end of the sync minus trigger time. */
  latencies: Seconds[];
}

/** A first packet as it was classified on a node. */
export interface ConnectionRecord {
  lookup: LookupResult;
  endpoint: { ip: string; port: number } | null;
  /** Modelled classification time. */
  modelled: Seconds;
  /** The rules that classified it were being replaced (the decision came from the rules of the previous sync). */
  stale: boolean;
}

export interface KubeProxyOptions {
  nodeName: string;
  /**
   * The IP family of this proxier [IPv4]. A dual-stack node runs one KubeProxyNode per family (kube-proxy's
   * meta-proxier: two proxiers with their own trackers and sync loops); its backend is created for that family.
   */
  family?: IPFamily;
  backend: Backend;
  sched: Scheduler;
  cost: CostModel;
  runner: RunnerConfig;
  /** Random choices of the data plane on this node (iptables statistic matches). */
  rng: Stream;
  /** How often the backend's housekeeping runs (IPVS graceful termination) [60 s]. */
  housekeepingPeriod?: Seconds;
  onSync?: (r: SyncRecord) => void;
  /**
   * Share unchanged derived state with the other kube-proxies of the process (many simulated nodes): service
   * ports and endpoint lists with no endpoint on this node are one object for all nodes [false].
   */
  shared?: boolean;
}

/**
 * kube-proxy on one node: a change tracker fed by Service and EndpointSlice events, a bounded-frequency sync
 * runner, the backend it programs, and the node's conntrack table.
 *
 * A sync's rules take effect when its modelled duration has passed (iptables-restore swaps the table at the end,
 * IPVS changes land as the run proceeds): until then, new connections to a service whose rules are being
 * replaced are decided by the endpoints of the previous sync.
 */
export class KubeProxyNode {
  readonly tracker: ChangeTracker;
  readonly runner: SyncRunner;
  readonly conntrack = new Conntrack();
  readonly backend: Backend;
  readonly name: string;
  readonly family: IPFamily;
  /** Time the first sync finished: the node has rules from then on. */
  readyAt = Number.POSITIVE_INFINITY;
  syncs = 0;
  cpuSeconds = 0;

  private programmed = new Map<string, readonly EndpointInfo[]>();
  private inflightOld = new Map<string, readonly EndpointInfo[]>();
  private inflightUntil: Seconds = 0;

  constructor(private readonly o: KubeProxyOptions) {
    this.name = o.nodeName;
    this.family = o.family ?? 'IPv4';
    this.backend = o.backend;
    this.tracker = new ChangeTracker(o.nodeName, this.family, o.shared ?? false);
    this.runner = new SyncRunner(o.sched, o.runner, () => this.sync());
  }

  start(): void {
    this.runner.start();
    const period = this.o.housekeepingPeriod ?? 60;
    if (this.backend.housekeeping !== undefined) {
      const tick = (): void => {
        const r = this.backend.housekeeping?.(this.o.sched.now) ?? null;
        if (r !== null) this.cpuSeconds += this.o.cost.syncSeconds(r);
        this.o.sched.after(period, tick, 'housekeeping');
      };
      this.o.sched.after(period, tick, 'housekeeping');
    }
  }

  /** As kube-proxy's OnService*: a sync is requested when the tracker holds changes. */
  onService(svc: Service, op: 'add' | 'update' | 'delete'): void {
    this.tracker.onService(svc, op);
    if (this.tracker.pendingCount > 0) this.runner.request();
  }

  onSlices(serviceKey: string, slices: readonly EndpointSlice[], triggerTime: Seconds): void {
    this.tracker.onSlices(serviceKey, slices, triggerTime);
    if (this.tracker.pendingCount > 0) this.runner.request();
  }

  /** One run of the sync loop; returns its modelled duration. */
  private sync(): Seconds {
    const now = this.o.sched.now;
    const taken = this.tracker.take();
    // the live maps, not a copy: the tracker does not change during the sync and no backend keeps the maps
    // (copying them cost O(services) per sync)
    const snapshot = this.tracker.live();
    const result = this.backend.sync({ snapshot, changed: taken.changed, now });
    const duration = this.o.cost.syncSeconds(result);
    const end = now + duration;
    // rules being replaced: remember what the previous sync programmed for the changed services
    this.inflightOld = new Map();
    for (const k of taken.changed) {
      this.inflightOld.set(k, this.programmed.get(k) ?? []);
      const eps = snapshot.endpoints.get(k);
      if (eps === undefined) this.programmed.delete(k);
      else this.programmed.set(k, eps);
    }
    this.inflightUntil = end;
    if (this.syncs === 0) this.readyAt = end;
    this.syncs++;
    this.cpuSeconds += duration;
    const rec: SyncRecord = {
      node: this.name,
      family: this.family,
      start: now,
      duration,
      result,
      changed: taken.changed.size,
      latencies: taken.triggerTimes.map((t) => end - t),
    };
    this.o.onSync?.(rec);
    return duration;
  }

  /**
   * The first packet of a new connection from this node: classified by the backend (or, while the rules of its
   * service are being replaced, by the previous sync's endpoints), then tracked in conntrack.
   */
  connect(pkt: Packet): ConnectionRecord {
    const now = this.o.sched.now;
    const lookup = this.backend.lookup(pkt, this.o.rng, now);
    let endpoint = lookup.endpoint;
    let stale = false;
    if (now < this.inflightUntil && lookup.serviceKey !== '') {
      const old = this.inflightOld.get(lookup.serviceKey);
      if (old !== undefined) {
        stale = true;
        const usable = old.filter((e) => e.ready);
        endpoint = usable.length === 0 ? null : pickEndpoint(usable, this.o.rng);
      }
    }
    const modelled = this.o.cost.lookupSeconds(lookup);
    this.cpuSeconds += modelled;
    this.conntrack.add(pkt, { endpoint, serviceKey: lookup.serviceKey, protocol: pkt.protocol, expires: Number.POSITIVE_INFINITY });
    return { lookup, endpoint, modelled, stale };
  }

  /** A later packet of a connection: a conntrack hit, no rule walked. Returns the tracked endpoint. */
  packet(pkt: Packet): { ip: string; port: number } | null {
    return this.conntrack.get(pkt, this.o.sched.now)?.endpoint ?? null;
  }

  close(pkt: Packet): void {
    const e = this.conntrack.delete(pkt);
    if (e?.endpoint && this.backend.connectionClosed) this.backend.connectionClosed(e.endpoint, e.serviceKey, e.protocol);
  }
}

function pickEndpoint(eps: readonly EndpointInfo[], rng: Stream): { ip: string; port: number } {
  const e = eps[rng.int(eps.length)]!;
  return { ip: e.ip, port: e.port };
}
