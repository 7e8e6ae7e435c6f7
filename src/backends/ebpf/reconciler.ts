/**
 * The agent side: Cilium's BPF reconciler (cilium/cilium pkg/loadbalancer/reconciler/bpf_reconciler.go, BPFOps)
 * writing frontends into the maps of lbmaps.ts, with every map element update and delete it issues counted.
 *
 * Per changed frontend (`updateFrontend`), in Cilium's order:
 *   1. acquire the frontend's service ID (= rev-NAT ID; IDs count up from 1 and are reused only after wrapping
 *      at 0xFFFF);
 *   2. delete orphaned backends (no longer referenced by any frontend) from the backend map;
 *   3. for each backend in slot order: acquire a backend ID (from 1, up to 2^32-1), upsert the backend entry if it
 *      is new or changed, and upsert its service slot — every slot is rewritten on every update;
 *   4. Maglev frontends: recompute and write the frontend's table (one inner-map element of M backend IDs; M
 *      entries counted on their own), or delete it when no backend is selectable;
 *   5. upsert the rev-NAT entry, 6. upsert the master slot 0 (count, qcount, flags, algorithm/affinity),
 *   7. delete slots beyond the new backend count.
 * `deleteFrontend`: Maglev entry, orphaned backends, every slot 0..N, the rev-NAT entry.
 * A frontend whose desired content did not change is not reconciled (the reconciler only sees changed objects).
 */
import type { EndpointInfo, ProxyNodeConfig, ProxySnapshot, ServicePortInfo } from '../../types.js';
import { desiredFrontends, type DesiredBackend, type DesiredFrontend } from './frontends.js';
import { type BackendValue, type RevNatValue, type ServiceKey, type ServiceValue, serviceKeyId } from './lbmaps.js';
import { backendHashString, DEFAULT_BACKEND_WEIGHT, maglevTable, type MaglevBackend } from './maglev.js';

export type LbAlgorithm = 'random' | 'maglev';

export interface AgentOptions {
  algorithm: LbAlgorithm;
  maglevTableSize: number;
  /** Base64 seed (--bpf-lb-maglev-hash-seed). */
  maglevSeed: string;
  externalClusterIP: boolean;
}

/** Counted work of one sync: map element operations by map, and the Maglev entries written. */
export interface AgentSyncCounts {
  svc_updates: number;
  svc_deletes: number;
  backend_updates: number;
  backend_deletes: number;
  revnat_updates: number;
  revnat_deletes: number;
  /** Maglev tables written (an outer-map update pointing at a freshly written inner map). */
  maglev_table_writes: number;
  maglev_deletes: number;
  /** Backend IDs written into Maglev tables: M per table write. */
  maglev_entries_written: number;
  /** All element updates and deletes above except the Maglev entries. */
  elements_written: number;
  frontends_reconciled: number;
  /** Backends added to, removed from or changing state in a service port (summed over the changed ports). */
  endpoint_changes: number;
  /**
   * Frontends left unprogrammed because no service ID was free: Cilium's service (rev-NAT) IDs are 16-bit
   * (MaxSetOfServiceID 0xFFFF), so a node holds at most 65,535 frontends; the agent reports the error and retries.
   */
  service_id_errors: number;
}

export function emptyCounts(): AgentSyncCounts {
  return {
    svc_updates: 0,
    svc_deletes: 0,
    backend_updates: 0,
    backend_deletes: 0,
    revnat_updates: 0,
    revnat_deletes: 0,
    maglev_table_writes: 0,
    maglev_deletes: 0,
    maglev_entries_written: 0,
    elements_written: 0,
    frontends_reconciled: 0,
    endpoint_changes: 0,
    service_id_errors: 0,
  };
}

export interface ServiceEntry {
  key: ServiceKey;
  value: ServiceValue;
}

export interface MaglevEntry {
  backends: MaglevBackend[];
  /** Computed on first use by the datapath (the agent writes it at sync; its M entries are counted then). */
  table: Uint32Array | null;
}

interface FrontendState {
  fe: DesiredFrontend;
  id: number;
  signature: string;
  /** Backend keys in slot order. */
  slots: string[];
}

interface BackendRecord {
  id: number;
  refCount: number;
  state: string | null;
  value: BackendValue;
}

class IdAllocator {
  private next: number;
  private readonly byKey = new Map<string, number>();
  private readonly used = new Set<number>();
  constructor(
    private readonly first: number,
    private readonly max: number,
  ) {
    this.next = first;
  }
  lookup(key: string): number | undefined {
    return this.byKey.get(key);
  }
  /** The key's ID, or a new one; null when every ID is taken. */
  acquire(key: string): number | null {
    const have = this.byKey.get(key);
    if (have !== undefined) return have;
    if (this.used.size >= this.max - this.first) return null;
    const start = this.next;
    let rolled = false;
    for (;;) {
      if (this.next === start && rolled) return null;
      if (this.next === this.max) {
        this.next = this.first;
        rolled = true;
      }
      if (!this.used.has(this.next)) {
        const id = this.next++;
        this.used.add(id);
        this.byKey.set(key, id);
        return id;
      }
      this.next++;
    }
  }
  release(key: string): void {
    const id = this.byKey.get(key);
    if (id === undefined) return;
    this.byKey.delete(key);
    this.used.delete(id);
  }
}

function signature(fe: DesiredFrontend): string {
  return `${fe.flags}|${fe.count}|${fe.qcount}|${fe.affinityTimeout}|${fe.backends.map((b) => `${b.key}=${b.state}`).join(',')}`;
}

/** Cilium's LB maps on one node and the agent state that writes them. */
export class CiliumLb {
  /** cilium_lb4_services_v2, keyed by serviceKeyId. */
  readonly services = new Map<string, ServiceEntry>();
  /** cilium_lb4_backends_v3. */
  readonly backends = new Map<number, BackendValue>();
  /** cilium_lb4_reverse_nat. */
  readonly revNat = new Map<number, RevNatValue>();
  /** cilium_lb4_maglev (outer key: rev-NAT ID). */
  readonly maglev = new Map<number, MaglevEntry>();

  private readonly svcIds = new IdAllocator(1, 0xffff);
  private readonly beIds = new IdAllocator(1, 0xffffffff);
  private readonly frontends = new Map<string, FrontendState>();
  private readonly byRevNat = new Map<number, FrontendState>();
  private readonly localBackendIds = new Set<number>();
  private readonly byService = new Map<string, string[]>();
  private readonly backendRecs = new Map<string, BackendRecord>();
  /** Backend key -> state, per service port: for counting endpoint changes. */
  private readonly lastBackends = new Map<string, Map<string, string>>();

  constructor(
    readonly node: ProxyNodeConfig,
    readonly opts: AgentOptions,
  ) {}

  /** Reconciles the changed service ports (every port when `changed` is null). */
  sync(snapshot: ProxySnapshot, changed: ReadonlySet<string> | null): AgentSyncCounts {
    const c = emptyCounts();
    const keys = changed === null ? new Set([...snapshot.services.keys(), ...this.byService.keys()]) : new Set(changed);
    for (const key of [...keys].sort()) {
      const svc = snapshot.services.get(key);
      const eps = snapshot.endpoints.get(key) ?? [];
      this.syncServicePort(key, svc, eps, c);
    }
    c.elements_written =
      c.svc_updates +
      c.svc_deletes +
      c.backend_updates +
      c.backend_deletes +
      c.revnat_updates +
      c.revnat_deletes +
      c.maglev_table_writes +
      c.maglev_deletes;
    return c;
  }

  private syncServicePort(key: string, svc: ServicePortInfo | undefined, eps: readonly EndpointInfo[], c: AgentSyncCounts): void {
    const desired = svc === undefined ? [] : desiredFrontends(svc, eps, this.node, { externalClusterIP: this.opts.externalClusterIP });

    // endpoint changes: backends added, removed or changing state
    const now = new Map<string, string>();
    for (const fe of desired) for (const b of fe.backends) now.set(b.key, b.state);
    const before = this.lastBackends.get(key) ?? new Map<string, string>();
    for (const [k, s] of now) if (before.get(k) !== s) c.endpoint_changes++;
    for (const k of before.keys()) if (!now.has(k)) c.endpoint_changes++;
    if (now.size > 0) this.lastBackends.set(key, now);
    else this.lastBackends.delete(key);

    const wanted = new Set(desired.map((f) => f.key));
    for (const feKey of this.byService.get(key) ?? []) {
      if (!wanted.has(feKey)) this.deleteFrontend(feKey, c);
    }
    for (const fe of desired) {
      const prev = this.frontends.get(fe.key);
      if (prev !== undefined && prev.signature === signature(fe)) continue;
      this.updateFrontend(fe, c);
    }
    if (desired.length > 0)
      this.byService.set(
        key,
        desired.map((f) => f.key),
      );
    else this.byService.delete(key);
  }

  private useMaglev(fe: DesiredFrontend): boolean {
    if (this.opts.algorithm !== 'maglev' || fe.surrogate) return false;
    return fe.type !== 'ClusterIP' || this.opts.externalClusterIP;
  }

  private keyOf(fe: DesiredFrontend): Omit<ServiceKey, 'slot'> {
    return { address: fe.address, port: fe.port, proto: fe.proto, scope: fe.scope };
  }

  private updateFrontend(fe: DesiredFrontend, c: AgentSyncCounts): void {
    const id = this.svcIds.acquire(fe.key);
    if (id === null) {
      // no service ID left: the frontend is not written (its packets find no service), retried on a later sync
      c.service_id_errors++;
      return;
    }
    c.frontends_reconciled++;
    const prev = this.frontends.get(fe.key);
    const prevSlots = prev?.slots ?? [];
    const newKeys = new Set(fe.backends.map((b) => b.key));

    // orphaned backends
    for (const bk of prevSlots) {
      if (newKeys.has(bk)) continue;
      const rec = this.backendRecs.get(bk);
      if (rec === undefined) continue;
      if (rec.refCount <= 1) {
        this.backends.delete(rec.id);
        c.backend_deletes++;
        this.backendRecs.delete(bk);
        this.beIds.release(bk);
        this.localBackendIds.delete(rec.id);
      } else rec.refCount--;
    }

    const k = this.keyOf(fe);
    const prevSet = new Set(prevSlots);
    fe.backends.forEach((b, i) => {
      let rec = this.backendRecs.get(b.key);
      if (rec === undefined) {
        const beId = this.beIds.acquire(b.key);
        if (beId === null) throw new RangeError('no backend ID available (2^32 - 1 backends)');
        rec = { id: beId, refCount: 0, state: null, value: backendValue(b) };
        this.backendRecs.set(b.key, rec);
        if (b.isLocal) this.localBackendIds.add(rec.id);
      }
      if (!prevSet.has(b.key)) rec.refCount++;
      if (rec.state !== b.state) {
        rec.state = b.state;
        rec.value = backendValue(b);
        this.backends.set(rec.id, rec.value);
        c.backend_updates++;
      }
      const slotKey: ServiceKey = { ...k, slot: i + 1 };
      this.services.set(serviceKeyId(k, i + 1), {
        key: slotKey,
        value: { backendId: rec.id, count: 0, qcount: 0, revNat: id, flags: fe.flags },
      });
      c.svc_updates++;
    });

    if (this.useMaglev(fe)) {
      if (fe.count === 0) {
        if (this.maglev.delete(id)) c.maglev_deletes++;
      } else {
        const bes: MaglevBackend[] = fe.backends.slice(0, fe.count).map((b) => ({
          id: this.backendRecs.get(b.key)!.id,
          weight: DEFAULT_BACKEND_WEIGHT,
          hashString: backendHashString(b.ip, b.port, protoText(b.proto)),
        }));
        this.maglev.set(id, { backends: bes, table: null });
        c.maglev_table_writes++;
        c.maglev_entries_written += this.opts.maglevTableSize;
      }
    }

    this.revNat.set(id, { address: fe.address, port: fe.port });
    c.revnat_updates++;
    this.services.set(serviceKeyId(k, 0), {
      key: { ...k, slot: 0 },
      value: { backendId: fe.affinityTimeout & 0xffffff, count: fe.count, qcount: fe.qcount, revNat: id, flags: fe.flags },
    });
    c.svc_updates++;

    for (let s = fe.backends.length + 1; s <= prevSlots.length; s++) {
      this.services.delete(serviceKeyId(k, s));
      c.svc_deletes++;
    }
    const st: FrontendState = { fe, id, signature: signature(fe), slots: fe.backends.map((b) => b.key) };
    this.frontends.set(fe.key, st);
    this.byRevNat.set(id, st);
  }

  private deleteFrontend(feKey: string, c: AgentSyncCounts): void {
    const st = this.frontends.get(feKey);
    if (st === undefined) return;
    c.frontends_reconciled++;
    if (this.maglev.delete(st.id)) c.maglev_deletes++;
    for (const bk of st.slots) {
      const rec = this.backendRecs.get(bk);
      if (rec === undefined) continue;
      if (rec.refCount <= 1) {
        this.backends.delete(rec.id);
        c.backend_deletes++;
        this.backendRecs.delete(bk);
        this.beIds.release(bk);
        this.localBackendIds.delete(rec.id);
      } else rec.refCount--;
    }
    const k = this.keyOf(st.fe);
    for (let s = 0; s <= st.slots.length; s++) {
      this.services.delete(serviceKeyId(k, s));
      c.svc_deletes++;
    }
    this.revNat.delete(st.id);
    c.revnat_deletes++;
    this.frontends.delete(feKey);
    this.byRevNat.delete(st.id);
    this.svcIds.release(feKey);
  }

  /** The Maglev table of a rev-NAT ID, computed on first use. */
  maglevTableOf(revNat: number): Uint32Array | null {
    const e = this.maglev.get(revNat);
    if (e === undefined) return null;
    if (e.table === null) e.table = maglevTable(e.backends, this.opts.maglevTableSize, this.opts.maglevSeed);
    return e.table;
  }

  /** Whether a backend ID belongs to a pod on this node (for SNAT decisions). */
  backendIsLocal(id: number): boolean {
    return this.localBackendIds.has(id);
  }

  /** Service-port key owning a frontend rev-NAT ID. */
  serviceKeyOfRevNat(id: number): string {
    return this.byRevNat.get(id)?.fe.serviceKey ?? '';
  }

  /** Number of frontends (master entries) programmed. */
  frontendCount(): number {
    return this.frontends.size;
  }
}

function protoText(p: number): string {
  return p === 17 ? 'UDP' : p === 132 ? 'SCTP' : 'TCP';
}

function backendValue(b: DesiredBackend): BackendValue {
  return { address: b.address, port: b.port, proto: b.proto, state: b.state, clusterId: 0, zone: 0 };
}
