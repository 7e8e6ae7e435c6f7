import type { EndpointInfo, EndpointSlice, IPFamily, ProxySnapshot, Seconds, Service, ServicePortInfo } from '../types.js';
import { objectKey } from '../cluster/selector.js';
import { endpointsForPort, serviceForFamily, servicePortInfos } from './snapshot.js';

/** What a sync takes from the tracker: the changed service ports and the trigger times of the changes. */
export interface TakenChanges {
  changed: Set<string>;
  /** Trigger time of every endpoint change folded into this sync (network programming latency is measured from each). */
  triggerTimes: Seconds[];
}

/**
 * One node's view of Services and EndpointSlices, kept as kube-proxy's ServiceChangeTracker and
 * EndpointsChangeTracker keep it: changes accumulate (coalescing repeated changes of one service) until a sync
 * takes them. The snapshot maps are updated in place with fresh values (never mutated values), so a shallow copy
 * of the maps is a consistent point-in-time view.
 * A tracker serves one IP family's proxier (kube-proxy's trackers are per family): it sees each Service's
 * addresses of that family and the EndpointSlices of that addressType only.
 */
export class ChangeTracker {
  private readonly services = new Map<string, ServicePortInfo>();
  private readonly endpoints = new Map<string, readonly EndpointInfo[]>();
  private readonly portsOf = new Map<string, string[]>();
  private readonly svcObjects = new Map<string, Service>();
  private readonly slicesOf = new Map<string, readonly EndpointSlice[]>();
  private pending = new Set<string>();
  private triggers: Seconds[] = [];

  constructor(
    readonly nodeName: string,
    readonly family: IPFamily = 'IPv4',
    /** Share service ports and node-independent endpoint lists with other trackers (see sharedEndpoints). */
    private readonly shared = false,
  ) {}

  /** A Service was added, updated or deleted (service changes carry no trigger time: latency is measured from endpoints). */
  onService(svc: Service, op: 'add' | 'update' | 'delete'): void {
    const key = objectKey(svc.namespace, svc.name);
    if (op === 'delete') this.svcObjects.delete(key);
    else this.svcObjects.set(key, svc);
    this.recompute(key);
  }

  /** The slices of a service changed. */
  onSlices(serviceKey: string, slices: readonly EndpointSlice[], triggerTime: Seconds): void {
    if (slices.length === 0) this.slicesOf.delete(serviceKey);
    else this.slicesOf.set(serviceKey, slices);
    if (this.recompute(serviceKey)) this.triggers.push(triggerTime);
  }

  /** Recomputes the service ports of one service; returns true when anything kube-proxy programs changed. */
  private recompute(serviceKey: string): boolean {
    const svc = this.svcObjects.get(serviceKey);
    const slices = this.slicesOf.get(serviceKey) ?? NO_SLICES;
    const infos = svc === undefined ? [] : this.shared ? sharedPortInfos(svc, this.family) : familyPortInfos(svc, this.family);
    const oldKeys = this.portsOf.get(serviceKey) ?? [];
    const newKeys = infos.map((i) => i.key);
    let changed = false;
    for (const k of oldKeys) {
      if (!newKeys.includes(k)) {
        this.services.delete(k);
        this.endpoints.delete(k);
        this.pending.add(k);
        changed = true;
      }
    }
    for (const info of infos) {
      const eps = this.shared
        ? sharedEndpoints(info, slices, this.nodeName, this.family)
        : endpointsForPort(info, slices, this.nodeName, this.family);
      const prevInfo = this.services.get(info.key);
      const prevEps = this.endpoints.get(info.key);
      if (prevInfo === undefined || !sameJSON(prevInfo, info)) {
        this.services.set(info.key, info);
        this.pending.add(info.key);
        changed = true;
      }
      if (prevEps === undefined || !sameJSON(prevEps, eps)) {
        this.endpoints.set(info.key, eps);
        this.pending.add(info.key);
        changed = true;
      }
    }
    if (newKeys.length === 0) this.portsOf.delete(serviceKey);
    else this.portsOf.set(serviceKey, newKeys);
    return changed;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Takes the accumulated changes (kube-proxy's Update of the service and endpoints maps at the start of a sync). */
  take(): TakenChanges {
    const out = { changed: this.pending, triggerTimes: this.triggers };
    this.pending = new Set();
    this.triggers = [];
    return out;
  }

  /** A point-in-time copy of the state (shallow: values are never mutated). */
  snapshot(): ProxySnapshot {
    return { services: new Map(this.services), endpoints: new Map(this.endpoints) };
  }

  /** The live state (for reads between syncs; do not keep it across events). */
  live(): ProxySnapshot {
    return { services: this.services, endpoints: this.endpoints };
  }
}

function sameJSON(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

const NO_SLICES: readonly EndpointSlice[] = Object.freeze([]);

/**
 * State shared by the trackers of many simulated nodes. Services and slice lists are never mutated once
 * published (a change is a new object), so derived values can be cached by identity.
 */
const portInfosOf = new WeakMap<Service, Partial<Record<IPFamily, ServicePortInfo[]>>>();
const endpointsOf = new WeakMap<readonly EndpointSlice[], Map<string, EndpointInfo[]>>();

/** The service ports of a Service as one family's proxier sees them (none when it has no address of that family). */
function familyPortInfos(svc: Service, family: IPFamily): ServicePortInfo[] {
  const view = serviceForFamily(svc, family);
  return view === null ? [] : servicePortInfos(view, family);
}

function sharedPortInfos(svc: Service, family: IPFamily): ServicePortInfo[] {
  let byFamily = portInfosOf.get(svc);
  if (byFamily === undefined) portInfosOf.set(svc, (byFamily = {}));
  return (byFamily[family] ??= familyPortInfos(svc, family));
}

/**
 * The endpoints of a service port as `nodeName` sees them: one list for every node with no endpoint of the
 * slices (isLocal is false throughout), a list of its own for a node that has one.
 */
function sharedEndpoints(info: ServicePortInfo, slices: readonly EndpointSlice[], nodeName: string, family: IPFamily): EndpointInfo[] {
  for (const s of slices)
    for (const ep of s.endpoints) if (ep.nodeName === nodeName) return endpointsForPort(info, slices, nodeName, family);
  let byPort = endpointsOf.get(slices);
  if (byPort === undefined) endpointsOf.set(slices, (byPort = new Map()));
  const k = `${family}/${info.portName}/${info.protocol}`;
  let eps = byPort.get(k);
  if (eps === undefined) byPort.set(k, (eps = endpointsForPort(info, slices, '', family)));
  return eps;
}
