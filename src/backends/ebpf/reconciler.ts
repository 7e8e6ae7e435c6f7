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
 *
 * Kept compactly (a million backends at 100,000 services): one record per frontend holds its master and its slots'
 * backend IDs (the service and rev-NAT maps are views of those records), the backend map is columns indexed by
 * backend ID, and backends and frontends are keyed by numbers, not strings.
 */
import type { EndpointInfo, ProxyNodeConfig, ProxySnapshot, ServicePortInfo } from '../../types.js';
import { desiredFrontends, frontendKey, type DesiredBackend, type DesiredFrontend } from './frontends.js';
import {
  BACKEND_STATE_FLAG,
  type BackendState,
  type BackendValue,
  type RevNatValue,
  type ServiceKey,
  type ServiceValue,
  serviceKeyId,
} from './lbmaps.js';
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

/**
 * A programmed frontend: its master entry (slot 0) and its backend slots, which are all the service-map entries
 * of its address, port, protocol and scope (every slot is rewritten with the master's rev-NAT ID and flags).
 */
export class Frontend {
  constructor(
    /** frontendKey(address, port, proto, scope). */
    readonly num: number,
    /** Service ID = rev-NAT ID. */
    readonly id: number,
    readonly address: number,
    readonly port: number,
    readonly proto: number,
    readonly scope: number,
    readonly serviceKey: string,
    readonly flags: number,
    readonly count: number,
    readonly qcount: number,
    /** Backends in the active state: the first `active` slots (backends are ordered by state). */
    readonly active: number,
    readonly affinityTimeout: number,
    /** Backend IDs in slot order (slot i + 1). */
    readonly slots: readonly number[],
  ) {}

  /** The service-map key of one of its slots. */
  key(slot: number): ServiceKey {
    return { address: this.address, port: this.port, proto: this.proto, scope: this.scope, slot };
  }

  /** The service-map value of a slot (0: the master). */
  value(slot: number): ServiceValue {
    if (slot === 0)
      return { backendId: this.affinityTimeout & 0xffffff, count: this.count, qcount: this.qcount, revNat: this.id, flags: this.flags };
    return { backendId: this.slots[slot - 1]!, count: 0, qcount: 0, revNat: this.id, flags: this.flags };
  }
}

/** Per service port: its frontends, and its backends with their states (for counting endpoint changes). */
interface PortState {
  readonly frontends: readonly number[];
  /** backend key * 4 + state flag, sorted. */
  readonly backends: readonly number[];
}

/** What a service port asks for. Never changed once made (shared by nodes, see CiliumLb.desiredOf). */
interface DesiredPort {
  info: ServicePortInfo | null;
  desired: readonly DesiredFrontend[];
  port: PortState;
}

const NO_FRONTENDS: DesiredPort = { info: null, desired: [], port: { frontends: [], backends: [] } };
/** Desired ports shared by the nodes of the process, by endpoint list. */
const sharedPorts = new WeakMap<readonly EndpointInfo[], Map<string, DesiredPort>>();
/** The last frontend record written for a shared desired frontend. */
const sharedFrontends = new WeakMap<DesiredFrontend, Frontend>();

const STATE_NAMES: readonly BackendState[] = ['active', 'terminating', 'quarantined', 'maintenance'];

/**
 * IDs handed out as Cilium's IDAllocator does: counting up from `first`, skipping IDs in use, wrapping at `max`
 * (so a released ID is reused only after a wrap); in-use IDs kept as a byte per ID.
 */
class IdSpace {
  private next: number;
  private used = new Uint8Array(1024);
  count = 0;
  constructor(
    private readonly first: number,
    private readonly max: number,
  ) {
    this.next = first;
  }
  has(id: number): boolean {
    return id < this.used.length && this.used[id] === 1;
  }
  /** A new ID; null when every ID is taken. */
  acquire(): number | null {
    if (this.count >= this.max - this.first) return null;
    const start = this.next;
    let rolled = false;
    for (;;) {
      if (this.next === start && rolled) return null;
      if (this.next === this.max) {
        this.next = this.first;
        rolled = true;
      }
      if (!this.has(this.next)) {
        const id = this.next++;
        if (id >= this.used.length) {
          const grown = new Uint8Array(Math.max(id + 1, this.used.length * 2));
          grown.set(this.used);
          this.used = grown;
        }
        this.used[id] = 1;
        this.count++;
        return id;
      }
      this.next++;
    }
  }
  release(id: number): void {
    if (!this.has(id)) return;
    this.used[id] = 0;
    this.count--;
  }
}

/** cilium_lb4_backends_v3 with the agent's bookkeeping, one column per field, indexed by backend ID. */
/**
 * Backend keys (address, port, protocol) interned to dense indexes. Node-independent: the tables of the simulated
 * nodes of one process share one (ProxyNodeConfig.shared), so each node keeps only its IDs and states.
 */
class BackendKeys {
  readonly index = new Map<number, number>();
  address = new Uint32Array(1024);
  port = new Uint16Array(1024);
  proto = new Uint8Array(1024);

  /** The key's index, interned on first use (indexes count from 1). */
  intern(b: DesiredBackend): number {
    const have = this.index.get(b.key);
    if (have !== undefined) return have;
    const k = this.index.size + 1;
    if (k >= this.address.length) {
      const n = this.address.length * 2;
      this.address = grown(this.address, new Uint32Array(n));
      this.port = grown(this.port, new Uint16Array(n));
      this.proto = grown(this.proto, new Uint8Array(n));
    }
    this.index.set(b.key, k);
    this.address[k] = b.address;
    this.port[k] = b.port;
    this.proto[k] = b.proto;
    return k;
  }
}

function grown<T extends Uint8Array | Uint16Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** The keys shared by the nodes of a process while any of them is alive. */
let sharedKeys: WeakRef<BackendKeys> | null = null;
function sharedBackendKeys(): BackendKeys {
  let k = sharedKeys?.deref();
  if (k === undefined) sharedKeys = new WeakRef((k = new BackendKeys()));
  return k;
}

/** cilium_lb4_backends_v3 with the agent's bookkeeping, one column per field, indexed by backend ID. */
class BackendTable {
  readonly ids = new IdSpace(1, 0xffffffff);
  size = 0;
  /** Backend ID by key index (0: none). */
  private idOf = new Uint32Array(1024);
  /** Key index by backend ID. */
  private keyOf = new Uint32Array(1024);
  /** BACKEND_STATE_FLAG + 1; 0 before the first write. */
  state = new Uint8Array(1024);
  local = new Uint8Array(1024);
  refs = new Uint32Array(1024);

  constructor(readonly keys: BackendKeys) {}

  /** The ID of a backend in the map, 0 if none. */
  idOfKey(key: number): number {
    const k = this.keys.index.get(key);
    return k === undefined || k >= this.idOf.length ? 0 : this.idOf[k]!;
  }

  address(id: number): number {
    return this.keys.address[this.keyOf[id]!]!;
  }
  port(id: number): number {
    return this.keys.port[this.keyOf[id]!]!;
  }
  proto(id: number): number {
    return this.keys.proto[this.keyOf[id]!]!;
  }

  /** A new backend's ID (its entry is written when its state is set). */
  add(b: DesiredBackend): number {
    const id = this.ids.acquire();
    if (id === null) throw new RangeError('no backend ID available (2^32 - 1 backends)');
    const k = this.keys.intern(b);
    if (k >= this.idOf.length) this.idOf = grown(this.idOf, new Uint32Array(Math.max(k + 1, this.idOf.length * 2)));
    if (id >= this.keyOf.length) {
      const n = Math.max(id + 1, this.keyOf.length * 2);
      this.keyOf = grown(this.keyOf, new Uint32Array(n));
      this.state = grown(this.state, new Uint8Array(n));
      this.local = grown(this.local, new Uint8Array(n));
      this.refs = grown(this.refs, new Uint32Array(n));
    }
    this.idOf[k] = id;
    this.keyOf[id] = k;
    this.state[id] = 0;
    this.local[id] = b.isLocal ? 1 : 0;
    this.refs[id] = 0;
    this.size++;
    return id;
  }

  delete(id: number): void {
    this.idOf[this.keyOf[id]!] = 0;
    this.ids.release(id);
    this.state[id] = 0;
    this.local[id] = 0;
    this.size--;
  }

  /** The entry as the map holds it; undefined for an ID not in the map. */
  value(id: number): BackendValue | undefined {
    if (!this.ids.has(id) || this.state[id] === 0) return undefined;
    return {
      address: this.address(id),
      port: this.port(id),
      proto: this.proto(id),
      state: STATE_NAMES[this.state[id]! - 1]!,
      clusterId: 0,
      zone: 0,
    };
  }

  *entries(): IterableIterator<[number, BackendValue]> {
    for (let id = 1; id < this.state.length; id++) {
      const v = this.value(id);
      if (v !== undefined) yield [id, v];
    }
  }
}

/** A read-only Map over state kept in another form. */
class MapView<K, V> implements ReadonlyMap<K, V> {
  constructor(
    private readonly sizeOf: () => number,
    private readonly getter: (k: K) => V | undefined,
    private readonly iterate: () => IterableIterator<[K, V]>,
  ) {}
  get size(): number {
    return this.sizeOf();
  }
  get(k: K): V | undefined {
    return this.getter(k);
  }
  has(k: K): boolean {
    return this.getter(k) !== undefined;
  }
  entries(): MapIterator<[K, V]> {
    return this.iterate() as MapIterator<[K, V]>;
  }
  *keys(): MapIterator<K> {
    for (const [k] of this.iterate()) yield k;
  }
  *values(): MapIterator<V> {
    for (const [, v] of this.iterate()) yield v;
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
  forEach(fn: (v: V, k: K, m: ReadonlyMap<K, V>) => void): void {
    for (const [k, v] of this.iterate()) fn(v, k, this);
  }
}

function sameBackends(fe: DesiredFrontend, st: Frontend, table: BackendTable): boolean {
  if (fe.flags !== st.flags || fe.count !== st.count || fe.qcount !== st.qcount || fe.affinityTimeout !== st.affinityTimeout) return false;
  const bes = fe.backends;
  if (bes.length !== st.slots.length) return false;
  let active = 0;
  for (let i = 0; i < bes.length; i++) {
    const b = bes[i]!;
    const id = st.slots[i]!;
    if (b.address !== table.address(id) || b.port !== table.port(id) || b.proto !== table.proto(id)) return false;
    if (b.state === 'active') active++;
  }
  return active === st.active;
}

/** Cilium's LB maps on one node and the agent state that writes them. */
export class CiliumLb {
  private readonly table: BackendTable;
  /** Programmed frontends by frontendKey. */
  private readonly frontends = new Map<number, Frontend>();
  private readonly byRevNat = new Map<number, Frontend>();
  private readonly svcIds = new IdSpace(1, 0xffff);
  private readonly ports = new Map<string, PortState>();
  private svcEntries = 0;

  /** cilium_lb4_services_v2, keyed by serviceKeyId. */
  readonly services: ReadonlyMap<string, ServiceEntry> = new MapView(
    () => this.svcEntries,
    (k) => {
      const [address, port, proto, scope, slot] = k.split(':').map(Number);
      return this.serviceEntry(address!, port!, proto!, scope!, slot!);
    },
    () => this.serviceEntries(),
  );
  /** cilium_lb4_backends_v3. */
  readonly backends: ReadonlyMap<number, BackendValue> = new MapView(
    () => this.table.size,
    (id) => this.table.value(id),
    () => this.table.entries(),
  );
  /** cilium_lb4_reverse_nat: one entry per frontend. */
  readonly revNat: ReadonlyMap<number, RevNatValue> = new MapView(
    () => this.byRevNat.size,
    (id) => {
      const f = this.byRevNat.get(id);
      return f === undefined ? undefined : { address: f.address, port: f.port };
    },
    () => this.revNatEntries(),
  );
  /** cilium_lb4_maglev (outer key: rev-NAT ID). */
  readonly maglev = new Map<number, MaglevEntry>();

  constructor(
    readonly node: ProxyNodeConfig,
    readonly opts: AgentOptions,
  ) {
    this.table = new BackendTable(node.shared === true ? sharedBackendKeys() : new BackendKeys());
  }

  /** Reconciles the changed service ports (every port when `changed` is null). */
  sync(snapshot: ProxySnapshot, changed: ReadonlySet<string> | null): AgentSyncCounts {
    const c = emptyCounts();
    const keys = changed === null ? new Set([...snapshot.services.keys(), ...this.ports.keys()]) : new Set(changed);
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
    const { desired, port } = svc === undefined ? NO_FRONTENDS : this.desiredOf(svc, eps);
    const prev = this.ports.get(key);

    // endpoint changes: backends added, removed or changing state (over the port's frontends)
    c.endpoint_changes += changedBackends(prev?.backends ?? [], port.backends);

    if (prev !== undefined && prev.frontends.length > 0) {
      const wanted = new Set(desired.map((f) => f.num));
      for (const num of prev.frontends) if (!wanted.has(num)) this.deleteFrontend(num, c);
    }
    for (const fe of desired) {
      const st = this.frontends.get(fe.num);
      if (st !== undefined && sameBackends(fe, st, this.table)) continue;
      this.updateFrontend(fe, c);
    }
    if (desired.length > 0 || port.backends.length > 0) this.ports.set(key, port);
    else this.ports.delete(key);
  }

  /**
   * A service port's frontends and its port state. With ProxyNodeConfig.shared, a ClusterIP-only port's (no node
   * port, external or load-balancer IP: nothing that depends on the node's addresses) are shared with the other
   * nodes of the process with the same options: they depend only on the port and its endpoint list (one object
   * for every node with no endpoint of the service, src/proxy/tracker.ts).
   */
  private desiredOf(svc: ServicePortInfo, eps: readonly EndpointInfo[]): DesiredPort {
    const make = (): DesiredPort => {
      const desired = desiredFrontends(svc, eps, this.node, { externalClusterIP: this.opts.externalClusterIP });
      return { info: svc, desired, port: { frontends: desired.map((f) => f.num), backends: portBackends(desired) } };
    };
    if (this.node.shared !== true || svc.nodePort !== 0 || svc.externalIPs.length > 0 || svc.loadBalancerIPs.length > 0) return make();
    let byKey = sharedPorts.get(eps);
    if (byKey === undefined) sharedPorts.set(eps, (byKey = new Map()));
    const k = `${svc.key}\n${this.opts.externalClusterIP}`;
    const have = byKey.get(k);
    if (have !== undefined && have.info === svc) return have;
    const d = make();
    byKey.set(k, d);
    return d;
  }

  /** The frontend record, shared with the nodes that wrote the same frontend with the same IDs (ProxyNodeConfig.shared). */
  private frontendRecord(fe: DesiredFrontend, id: number, active: number, slots: number[]): Frontend {
    const have = this.node.shared === true ? sharedFrontends.get(fe) : undefined;
    if (have !== undefined && have.id === id && have.slots.length === slots.length && have.slots.every((x, i) => x === slots[i]))
      return have;
    const st = new Frontend(
      fe.num,
      id,
      fe.address,
      fe.port,
      fe.proto,
      fe.scope,
      fe.serviceKey,
      fe.flags,
      fe.count,
      fe.qcount,
      active,
      fe.affinityTimeout,
      slots,
    );
    if (this.node.shared === true) sharedFrontends.set(fe, st);
    return st;
  }

  private useMaglev(fe: DesiredFrontend): boolean {
    if (this.opts.algorithm !== 'maglev' || fe.surrogate) return false;
    return fe.type !== 'ClusterIP' || this.opts.externalClusterIP;
  }

  /** A backend no longer in one of a frontend's slots: deleted with its last reference. */
  private unref(id: number, c: AgentSyncCounts): void {
    const t = this.table;
    if (t.refs[id]! <= 1) {
      t.delete(id);
      c.backend_deletes++;
    } else t.refs[id]!--;
  }

  private updateFrontend(fe: DesiredFrontend, c: AgentSyncCounts): void {
    const prev = this.frontends.get(fe.num);
    const id = prev?.id ?? this.svcIds.acquire();
    if (id === null) {
      // no service ID left: the frontend is not written (its packets find no service), retried on a later sync
      c.service_id_errors++;
      return;
    }
    c.frontends_reconciled++;
    const t = this.table;
    const prevSlots = prev?.slots ?? NO_SLOTS;
    const slots: number[] = new Array<number>(fe.backends.length);
    let active = 0;
    for (let i = 0; i < fe.backends.length; i++) {
      const b = fe.backends[i]!;
      slots[i] = t.idOfKey(b.key);
      if (b.state === 'active') active++;
    }
    const prevIds = new Set(prevSlots);
    if (prevSlots.length > 0) {
      // orphaned backends
      const keep = new Set(slots);
      for (const bid of prevSlots) if (!keep.has(bid)) this.unref(bid, c);
    }

    for (let i = 0; i < fe.backends.length; i++) {
      const b = fe.backends[i]!;
      let bid = slots[i]!;
      if (bid === 0) {
        slots[i] = bid = t.add(b);
        t.refs[bid]!++;
      } else if (!prevIds.has(bid)) t.refs[bid]!++;
      const state = BACKEND_STATE_FLAG[b.state] + 1;
      if (t.state[bid] !== state) {
        t.state[bid] = state;
        c.backend_updates++;
      }
      c.svc_updates++;
    }

    if (this.useMaglev(fe)) {
      if (fe.count === 0) {
        if (this.maglev.delete(id)) c.maglev_deletes++;
      } else {
        const bes: MaglevBackend[] = fe.backends.slice(0, fe.count).map((b, i) => ({
          id: slots[i]!,
          weight: DEFAULT_BACKEND_WEIGHT,
          hashString: backendHashString(b.ip, b.port, protoText(b.proto)),
        }));
        this.maglev.set(id, { backends: bes, table: null });
        c.maglev_table_writes++;
        c.maglev_entries_written += this.opts.maglevTableSize;
      }
    }

    c.revnat_updates++;
    c.svc_updates++;
    c.svc_deletes += Math.max(0, prevSlots.length - slots.length);
    this.svcEntries += slots.length + 1 - (prev === undefined ? 0 : prevSlots.length + 1);
    const st = this.frontendRecord(fe, id, active, slots);
    this.frontends.set(fe.num, st);
    this.byRevNat.set(id, st);
  }

  private deleteFrontend(num: number, c: AgentSyncCounts): void {
    const st = this.frontends.get(num);
    if (st === undefined) return;
    c.frontends_reconciled++;
    if (this.maglev.delete(st.id)) c.maglev_deletes++;
    for (const bid of st.slots) this.unref(bid, c);
    c.svc_deletes += st.slots.length + 1;
    this.svcEntries -= st.slots.length + 1;
    c.revnat_deletes++;
    this.frontends.delete(num);
    this.byRevNat.delete(st.id);
    this.svcIds.release(st.id);
  }

  /** The service-map entry of a frontend's slot (0: the master), as the datapath looks it up. */
  serviceEntry(address: number, port: number, proto: number, scope: number, slot: number): ServiceEntry | undefined {
    const f = this.frontendAt(address, port, proto, scope);
    if (f === undefined || slot > f.slots.length) return undefined;
    return { key: f.key(slot), value: f.value(slot) };
  }

  /** The frontend programmed at an address, port, protocol and scope. */
  frontendAt(address: number, port: number, proto: number, scope: number): Frontend | undefined {
    if (!(proto in PROTO_NUMBER_SET)) return undefined;
    return this.frontends.get(frontendKey(address, port, proto, scope));
  }

  private *serviceEntries(): IterableIterator<[string, ServiceEntry]> {
    for (const f of this.frontends.values())
      for (let s = 0; s <= f.slots.length; s++) {
        const key = f.key(s);
        yield [serviceKeyId(key, s), { key, value: f.value(s) }];
      }
  }

  private *revNatEntries(): IterableIterator<[number, RevNatValue]> {
    for (const [id, f] of this.byRevNat) yield [id, { address: f.address, port: f.port }];
  }

  /** The backend map's entry of an ID, as the datapath looks it up. */
  backend(id: number): BackendValue | undefined {
    return this.table.value(id);
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
    return this.table.ids.has(id) && this.table.local[id] === 1;
  }

  /** Service-port key owning a frontend rev-NAT ID. */
  serviceKeyOfRevNat(id: number): string {
    return this.byRevNat.get(id)?.serviceKey ?? '';
  }

  /** Number of frontends (master entries) programmed. */
  frontendCount(): number {
    return this.frontends.size;
  }
}

const PROTO_NUMBER_SET: Record<number, true> = { 0: true, 6: true, 17: true, 132: true };
const NO_SLOTS: readonly number[] = [];

/** The backends of a service port's frontends (each a subset of the port's backends) as sorted backend key * 4 + state. */
function portBackends(desired: readonly DesiredFrontend[]): number[] {
  const now: number[] = [];
  if (desired.length === 0) return now;
  let lists: Iterable<readonly DesiredBackend[]> = [desired[0]!.backends];
  let seen: Set<number> | null = null;
  if (desired.some((f) => f.backends !== desired[0]!.backends)) {
    lists = new Set(desired.map((f) => f.backends));
    seen = new Set();
  }
  for (const l of lists)
    for (const b of l) {
      if (seen !== null) {
        if (seen.has(b.key)) continue;
        seen.add(b.key);
      }
      now.push(b.key * 4 + BACKEND_STATE_FLAG[b.state]);
    }
  return now.sort((a, b) => a - b);
}

/** Backends added, removed or changing state between two sorted lists of backend key * 4 + state. */
function changedBackends(before: readonly number[], now: readonly number[]): number {
  let n = 0;
  let i = 0;
  let j = 0;
  while (i < before.length || j < now.length) {
    const a = i < before.length ? Math.floor(before[i]! / 4) : Infinity;
    const b = j < now.length ? Math.floor(now[j]! / 4) : Infinity;
    if (a === b) {
      if (before[i] !== now[j]) n++;
      i++;
      j++;
    } else if (a < b) {
      n++;
      i++;
    } else {
      n++;
      j++;
    }
  }
  return n;
}

function protoText(p: number): string {
  return p === 17 ? 'UDP' : p === 132 ? 'SCTP' : 'TCP';
}
