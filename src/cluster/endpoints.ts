import type { Endpoint, EndpointPort, EndpointSlice, Pod, Seconds, Service } from '../types.js';
import type { Cluster, ClusterEvent } from './cluster.js';
import { objectKey, selectorMatches } from './selector.js';

/** Most endpoints one EndpointSlice holds (the controller's --max-endpoints-per-slice default). */
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** Endpoint conditions, shared by every endpoint in that state (frozen: one object each, not one per endpoint). */
const READY = Object.freeze({ ready: true, serving: true, terminating: false });
const TERMINATING_SERVING = Object.freeze({ ready: false, serving: true, terminating: true });
const TERMINATING = Object.freeze({ ready: false, serving: false, terminating: true });

/**
 * Equality of two JSON-like values exactly as their JSON.stringify forms compare (keys in order, keys with
 * undefined values skipped), without building the strings.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || !jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** The slices of one service changed (empty list: the service has no slices any more). */
export interface SlicesChange {
  /** "namespace/name" of the service. */
  serviceKey: string;
  slices: EndpointSlice[];
  /** The time of the pod or service change that caused this (the last-change-trigger-time annotation). */
  triggerTime: Seconds;
}

export type SlicesListener = (c: SlicesChange) => void;

/**
 * The EndpointSlice controller: keeps, for every service with a selector, slices of at most 100 endpoints holding
 * the Running pods matched by the selector that are Ready (conditions ready/serving true) or terminating (ready
 * false, serving as the pod's readiness, terminating true, as the controller publishes them since v1.26).
 * Pods that are neither (pending, failed, or running but not ready) are left out. A service with
 * publishNotReadyAddresses publishes every running pod as ready.
 * Slices of selectorless services come from the cluster's external slices and are passed through.
 */
export class EndpointsController {
  private readonly listeners: SlicesListener[] = [];
  /** ns -> "k=v" -> pod keys, for the label keys some selector has used (indexedKeys) */
  private readonly podIndex = new Map<string, Map<string, Set<string>>>();
  /**
   * Label keys pods are indexed by: those of the selectors seen so far. A pod's other labels (pod-template-hash)
   * would cost an index entry per pod for nothing; a selector with a new key indexes the existing pods once.
   */
  private readonly indexedKeys = new Set<string>();
  /** ns -> "k=v" -> service keys */
  private readonly svcIndex = new Map<string, Map<string, Set<string>>>();
  /** service key -> the "k=v" index keys it was indexed under (so unindexing touches only those, not the namespace) */
  private readonly svcIndexKeys = new Map<string, string[]>();
  /** service key -> its published slices (compared by value with jsonEqual: no kept signature strings) */
  private readonly current = new Map<string, EndpointSlice[]>();
  private readonly external = new Map<string, Map<string, EndpointSlice>>();

  constructor(private readonly cluster: Cluster) {
    cluster.subscribe((ev) => this.onEvent(ev));
  }

  subscribe(fn: SlicesListener): void {
    this.listeners.push(fn);
  }

  /** The current slices of a service ("namespace/name"). */
  slicesOf(serviceKey: string): EndpointSlice[] {
    return this.current.get(serviceKey) ?? [];
  }

  private onEvent(ev: ClusterEvent): void {
    switch (ev.kind) {
      case 'pod': {
        if (ev.prev !== null) this.unindexPod(ev.prev, ev.key);
        if (ev.op !== 'delete') this.indexPod(ev.pod, ev.key);
        // (no set is allocated for a pod no service selects, as every pod while the cluster is built)
        let affected = this.servicesSelecting(ev.pod, null);
        if (ev.prev !== null) affected = this.servicesSelecting(ev.prev, affected);
        if (affected !== null) for (const k of affected) this.reconcile(k, ev.time);
        return;
      }
      case 'service': {
        const svc = ev.service;
        const key = objectKey(svc.namespace, svc.name);
        this.unindexService(key, svc.namespace);
        if (ev.op !== 'delete' && svc.selector !== null) this.indexService(key, svc);
        this.reconcile(key, ev.time);
        return;
      }
      case 'endpointslice': {
        const s = ev.slice;
        const svcKey = objectKey(s.namespace, s.serviceName);
        let m = this.external.get(svcKey);
        if (m === undefined) this.external.set(svcKey, (m = new Map()));
        if (ev.op === 'delete') m.delete(s.name);
        else m.set(s.name, s);
        this.reconcile(svcKey, ev.time);
        return;
      }
      default:
        return;
    }
  }

  private indexPod(pod: Pod, key: string, only?: string): void {
    let byLabel = this.podIndex.get(pod.namespace);
    if (byLabel === undefined) this.podIndex.set(pod.namespace, (byLabel = new Map()));
    for (const k in pod.labels) {
      if (only !== undefined ? k !== only : !this.indexedKeys.has(k)) continue;
      const lk = `${k}=${pod.labels[k]}`;
      let set = byLabel.get(lk);
      if (set === undefined) byLabel.set(lk, (set = new Set()));
      set.add(key);
    }
  }

  private unindexPod(pod: Pod, key: string): void {
    const byLabel = this.podIndex.get(pod.namespace);
    if (byLabel === undefined) return;
    for (const k in pod.labels) if (this.indexedKeys.has(k)) byLabel.get(`${k}=${pod.labels[k]}`)?.delete(key);
  }

  /** Starts indexing pods by label key `k` (a selector uses it): indexes the pods that exist. */
  private indexKey(k: string): void {
    if (this.indexedKeys.has(k)) return;
    this.indexedKeys.add(k);
    for (const [key, pod] of this.cluster.pods) if (Object.hasOwn(pod.labels, k)) this.indexPod(pod, key, k);
  }

  private indexService(key: string, svc: Service): void {
    let byLabel = this.svcIndex.get(svc.namespace);
    if (byLabel === undefined) this.svcIndex.set(svc.namespace, (byLabel = new Map()));
    const keys: string[] = [];
    for (const [k, v] of Object.entries(svc.selector ?? {})) {
      this.indexKey(k);
      const lk = `${k}=${v}`;
      let set = byLabel.get(lk);
      if (set === undefined) byLabel.set(lk, (set = new Set()));
      set.add(key);
      keys.push(lk);
    }
    this.svcIndexKeys.set(key, keys);
  }

  /** Removes a service from the label index: only the keys it was indexed under (linear in its selector). */
  private unindexService(key: string, ns: string): void {
    const keys = this.svcIndexKeys.get(key);
    if (keys === undefined) return;
    this.svcIndexKeys.delete(key);
    const byLabel = this.svcIndex.get(ns);
    if (byLabel === undefined) return;
    for (const lk of keys) {
      const set = byLabel.get(lk);
      if (set === undefined) continue;
      set.delete(key);
      if (set.size === 0) byLabel.delete(lk);
    }
  }

  /** Adds the keys of the services selecting `pod` to `out` (a new set if null and there is one); returns it. */
  private servicesSelecting(pod: Pod, out: Set<string> | null): Set<string> | null {
    const byLabel = this.svcIndex.get(pod.namespace);
    if (byLabel === undefined) return out;
    for (const k in pod.labels) {
      const set = byLabel.get(`${k}=${pod.labels[k]}`);
      if (set === undefined) continue;
      for (const svcKey of set) {
        const svc = this.cluster.services.get(svcKey);
        if (svc?.selector && selectorMatches(svc.selector, pod.labels)) (out ??= new Set()).add(svcKey);
      }
    }
    return out;
  }

  private podsSelectedBy(svc: Service): Pod[] {
    const sel = svc.selector;
    if (sel === null) return [];
    const byLabel = this.podIndex.get(svc.namespace);
    const entries = Object.entries(sel);
    if (byLabel === undefined || entries.length === 0) return []; // an empty selector selects nothing for endpoints
    let smallest: Set<string> | undefined;
    for (const [k, v] of entries) {
      const set = byLabel.get(`${k}=${v}`);
      if (set === undefined) return [];
      if (smallest === undefined || set.size < smallest.size) smallest = set;
    }
    const out: Pod[] = [];
    for (const pk of smallest ?? []) {
      const pod = this.cluster.pods.get(pk);
      if (pod !== undefined && selectorMatches(sel, pod.labels)) out.push(pod);
    }
    return out;
  }

  /** Recomputes a service's slices; tells listeners only when they changed. */
  private reconcile(svcKey: string, time: Seconds): void {
    const svc = this.cluster.services.get(svcKey);
    let slices: EndpointSlice[];
    if (svc === undefined) slices = [];
    else if (svc.selector === null) slices = [...(this.external.get(svcKey)?.values() ?? [])];
    else slices = this.computeSlices(svc);
    const prev = this.current.get(svcKey);
    if (prev !== undefined && jsonEqual(prev, slices)) return;
    if (slices.length === 0 && prev === undefined) return;
    if (slices.length === 0) this.current.delete(svcKey);
    else this.current.set(svcKey, slices);
    const change: SlicesChange = { serviceKey: svcKey, slices, triggerTime: time };
    for (const l of this.listeners) l(change);
  }

  private computeSlices(svc: Service): EndpointSlice[] {
    if (svc.type === 'ExternalName') return [];
    const pods = this.podsSelectedBy(svc).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // one set of slices per family of the service (the controller's addressType per family; IPv4 only on a
    // single-stack cluster), the IPv4 ones first
    const families = svc.ipFamilies === undefined ? ['IPv4' as const] : [...svc.ipFamilies].sort();
    // numeric target ports resolve the same for every pod: one group, its ports built once
    const fixed: EndpointPort[] | null = svc.ports.every((sp) => typeof sp.targetPort === 'number')
      ? svc.ports.map((sp) => ({ name: sp.name, protocol: sp.protocol, port: sp.targetPort as number }))
      : null;
    const slices: EndpointSlice[] = [];
    let n = 0;
    for (const family of families) {
      // group endpoints by their resolved ports: pods resolving a named targetPort differently go to different slices
      const groups = new Map<string, { ports: EndpointPort[]; eps: Endpoint[] }>();
      for (const pod of pods) {
        const ip = family === 'IPv4' ? pod.ip : (pod.ipv6 ?? '');
        if (pod.phase !== 'Running' || ip === '') continue;
        let conditions;
        if (svc.publishNotReadyAddresses) conditions = READY;
        else if (pod.terminating) conditions = pod.ready ? TERMINATING_SERVING : TERMINATING;
        else if (pod.ready) conditions = READY;
        else continue;
        let ports: EndpointPort[] = [];
        let resolvable = true;
        if (fixed !== null) ports = fixed;
        else
          for (const sp of svc.ports) {
            let port: number | undefined;
            if (typeof sp.targetPort === 'number') port = sp.targetPort;
            else port = pod.containerPorts.find((c) => c.name === sp.targetPort && c.protocol === sp.protocol)?.containerPort;
            if (port === undefined) {
              resolvable = false;
              break;
            }
            ports.push({ name: sp.name, protocol: sp.protocol, port });
          }
        if (!resolvable) continue;
        const gk = fixed !== null ? '' : JSON.stringify(ports);
        let g = groups.get(gk);
        if (g === undefined) groups.set(gk, (g = { ports, eps: [] }));
        g.eps.push({
          addresses: [ip],
          conditions,
          nodeName: pod.nodeName,
          zone: this.cluster.nodes.get(pod.nodeName)?.zone ?? '',
          hostname: pod.subdomain === svc.name && pod.hostname !== '' ? pod.hostname : '',
          podName: pod.name,
        });
      }
      for (const g of groups.values()) {
        for (let i = 0; i < g.eps.length; i += MAX_ENDPOINTS_PER_SLICE) {
          slices.push({
            namespace: svc.namespace,
            name: [svc.name, '-', (n++).toString(36).padStart(5, '0')].join(''), // a flat string, not a rope
            serviceName: svc.name,
            addressType: family,
            endpoints: g.eps.slice(i, i + MAX_ENDPOINTS_PER_SLICE),
            ports: g.ports,
          });
        }
      }
    }
    return slices;
  }
}
