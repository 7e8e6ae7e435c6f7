/**
 * Cluster DNS, as the Kubernetes DNS-Based Service Discovery specification (schema 1.0.1, kubernetes/dns
 * docs/specification.md) describes it, and as CoreDNS's kubernetes plugin answers it:
 *
 * - `<svc>.<ns>.svc.<zone>`: A with the cluster IP (a service with a ClusterIP, whatever its type: ClusterIP,
 *   NodePort, LoadBalancer); for a headless service one A per *ready* endpoint (none ready: NXDOMAIN); for an
 *   ExternalName service a CNAME to the external name (followed when the target is itself a cluster name).
 * - `<hostname>.<svc>.<ns>.svc.<zone>` (headless services only): the A record of each ready endpoint with that
 *   hostname. An endpoint's hostname is its `hostname` field (the EndpointSlice controller sets it from
 *   pod.spec.hostname when pod.spec.subdomain is the service's name) or, when it has none, the system-assigned
 *   identifier CoreDNS uses: the address with dots replaced by dashes (`10-244-1-5`).
 * - `<a-b-c-d>.<ns>.pod.<zone>`: A `a.b.c.d` (spec §2.6, deprecated but required). Mode `insecure` (the spec, and
 *   kubeadm's CoreDNS default `pods insecure`) answers any valid address; `verified` only the address of an
 *   existing pod in that namespace; `disabled` answers NXDOMAIN.
 * - `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV, through `resolveSrv` (named ports only).
 *
 * "Ready" endpoints are the ones the EndpointSlice controller publishes with conditions.ready true; a service with
 * publishNotReadyAddresses has every running pod published ready (the controller does that), so its headless answer
 * includes not-ready pods. Comparisons are case-insensitive. Answer names are fully qualified, lower case and
 * without the trailing dot. A records are sorted by address (numerically), so answers are deterministic.
 *
 * Short names follow a pod's resolv.conf (`search <ns>.svc.<zone> svc.<zone> <zone>`, `options ndots:5`): a name
 * with fewer than ndots dots is tried with each search domain first, then as is; a name with ndots or more dots
 * is tried as is first; a name ending in '.' is absolute.
 *
 * Not modelled: PTR and the dns-version TXT record, TTLs, names outside the cluster domain (NXDOMAIN: there is
 * no upstream resolver), NODATA for empty non-terminals (answered NXDOMAIN).
 */
import type { Endpoint, EndpointSlice, Protocol, Service } from '../types.js';
import type { Cluster, ClusterEvent } from './cluster.js';
import type { EndpointsController } from './endpoints.js';
import { isIPv4 } from './ip.js';
import { formatIPv4, ipv4ToUint } from '../net/ipv4.js';
import { objectKey } from './selector.js';

export type DnsRecord = { type: 'A'; name: string; ip: string } | { type: 'CNAME'; name: string; target: string };

export interface DnsAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: DnsRecord[];
}

export interface SrvRecord {
  type: 'SRV';
  name: string;
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface SrvAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: SrvRecord[];
}

export interface ClusterDnsOptions {
  /** The cluster domain (kubelet --cluster-domain) ['cluster.local']. */
  domain?: string;
  /** Pod A records `<a-b-c-d>.<ns>.pod.<zone>` ['insecure', as the spec and kubeadm's CoreDNS config]. */
  pods?: 'insecure' | 'verified' | 'disabled';
  /** resolv.conf `options ndots` of pods ['5', the kubelet's value]. */
  ndots?: number;
}

function nx(): DnsAnswer {
  return { rcode: 'NXDOMAIN', answers: [] };
}

/** The spec's system-assigned hostname of an endpoint without one (CoreDNS: the address, '.' → '-'). */
export function endpointHostname(ep: Endpoint, address: string): string {
  return ep.hostname !== '' ? ep.hostname.toLowerCase() : address.replace(/[.:]/g, '-');
}

function sortedUnique(ips: Iterable<string>): string[] {
  const out = [...new Set(ips)];
  out.sort((a, b) => {
    if (isIPv4(a) && isIPv4(b)) return ipv4ToUint(a) - ipv4ToUint(b);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return out;
}

/** Serves the cluster's DNS names from the live cluster objects and endpoint slices (no caching, no TTLs). */
export class ClusterDns {
  readonly domain: string;
  readonly podsMode: 'insecure' | 'verified' | 'disabled';
  readonly ndots: number;
  /** For `pods verified`: address -> pod keys ("ns/name"). */
  private readonly podsByIP = new Map<string, Set<string>>();

  constructor(
    private readonly cluster: Cluster,
    private readonly endpoints: EndpointsController,
    opts: ClusterDnsOptions = {},
  ) {
    this.domain = (opts.domain ?? 'cluster.local').toLowerCase().replace(/\.$/, '');
    this.podsMode = opts.pods ?? 'insecure';
    this.ndots = opts.ndots ?? 5;
    if (this.podsMode === 'verified') {
      for (const p of cluster.pods.values()) this.indexPod(p.namespace, p.name, p.ip, true);
      cluster.subscribe((ev) => this.onEvent(ev));
    }
  }

  /** The search list of a pod in `namespace`, as the kubelet writes it into resolv.conf. */
  searchPath(namespace: string): string[] {
    const ns = namespace.toLowerCase();
    return [`${ns}.svc.${this.domain}`, `svc.${this.domain}`, this.domain];
  }

  /**
   * Resolves an A query. With `searchNamespace`, the name is resolved as a pod in that namespace would resolve
   * it (search path and ndots); without, the name is taken as fully qualified.
   */
  resolve(name: string, searchNamespace?: string): DnsAnswer {
    for (const fqdn of this.candidates(name, searchNamespace)) {
      const a = this.resolveFqdn(fqdn, 0);
      if (a.rcode === 'NOERROR') return a;
    }
    return nx();
  }

  /** Resolves an SRV query `_<port>._<proto>.<svc>.<ns>.svc.<zone>` (same search rules as `resolve`). */
  resolveSrv(name: string, searchNamespace?: string): SrvAnswer {
    for (const fqdn of this.candidates(name, searchNamespace)) {
      const a = this.srvFqdn(fqdn);
      if (a.rcode === 'NOERROR') return a;
    }
    return { rcode: 'NXDOMAIN', answers: [] };
  }

  /** The fully qualified names a resolver tries, in order. */
  candidates(name: string, searchNamespace?: string): string[] {
    const n = name.trim().toLowerCase();
    if (n === '' || n === '.') return [];
    if (n.endsWith('.')) return [n.slice(0, -1)];
    if (searchNamespace === undefined) return [n];
    const dots = n.split('.').length - 1;
    const searched = this.searchPath(searchNamespace).map((d) => `${n}.${d}`);
    return dots >= this.ndots ? [n, ...searched] : [...searched, n];
  }

  // -------------------------------------------------------------------------------------------

  private resolveFqdn(fqdn: string, depth: number): DnsAnswer {
    const rel = this.relative(fqdn);
    if (rel === null) return nx();
    const labels = rel.split('.');
    const n = labels.length;
    // <a-b-c-d>.<ns>.pod
    if (n === 3 && labels[2] === 'pod') return this.podRecord(fqdn, labels[0]!, labels[1]!);
    if (n < 3 || labels[n - 1] !== 'svc') return nx();
    const ns = labels[n - 2]!;
    const svcName = labels[n - 3]!;
    const svc = this.cluster.services.get(objectKey(ns, svcName));
    if (svc === undefined) return nx();
    if (n === 3) return this.serviceRecords(fqdn, svc, depth);
    if (n === 4) return this.endpointRecords(fqdn, svc, labels[0]!);
    return nx();
  }

  /** The name relative to the zone, or null when outside it. */
  private relative(fqdn: string): string | null {
    const suffix = `.${this.domain}`;
    if (!fqdn.endsWith(suffix)) return null;
    const rel = fqdn.slice(0, -suffix.length);
    if (rel === '' || rel.split('.').some((l) => l === '')) return null;
    return rel;
  }

  private isHeadless(svc: Service): boolean {
    return svc.type !== 'ExternalName' && svc.clusterIP === 'None';
  }

  private serviceRecords(fqdn: string, svc: Service, depth: number): DnsAnswer {
    if (svc.type === 'ExternalName') {
      const target = svc.externalName.toLowerCase().replace(/\.$/, '');
      if (target === '') return nx();
      const answers: DnsRecord[] = [{ type: 'CNAME', name: fqdn, target }];
      // follow a target inside the cluster domain, as CoreDNS does (bounded, against CNAME loops)
      if (depth < 8 && this.relative(target) !== null) {
        const more = this.resolveFqdn(target, depth + 1);
        if (more.rcode === 'NOERROR') for (const a of more.answers) answers.push(a);
      }
      return { rcode: 'NOERROR', answers };
    }
    if (!this.isHeadless(svc)) {
      if (svc.clusterIP === '') return nx();
      return { rcode: 'NOERROR', answers: [{ type: 'A', name: fqdn, ip: svc.clusterIP }] };
    }
    const ips: string[] = [];
    for (const { address } of this.readyEndpoints(svc)) ips.push(address);
    if (ips.length === 0) return nx(); // spec §2.4.1: no ready endpoints → NXDOMAIN
    return { rcode: 'NOERROR', answers: sortedUnique(ips).map((ip) => ({ type: 'A', name: fqdn, ip })) };
  }

  private endpointRecords(fqdn: string, svc: Service, hostname: string): DnsAnswer {
    if (!this.isHeadless(svc)) return nx();
    const ips: string[] = [];
    for (const { ep, address } of this.readyEndpoints(svc)) {
      if (endpointHostname(ep, address) === hostname) ips.push(address);
    }
    if (ips.length === 0) return nx();
    return { rcode: 'NOERROR', answers: sortedUnique(ips).map((ip) => ({ type: 'A', name: fqdn, ip })) };
  }

  private podRecord(fqdn: string, dashed: string, ns: string): DnsAnswer {
    if (this.podsMode === 'disabled') return nx();
    const ip = dashed.replace(/-/g, '.');
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || !isIPv4(ip)) return nx();
    const canonical = formatIPv4(ipv4ToUint(ip));
    if (this.podsMode === 'verified') {
      const keys = this.podsByIP.get(canonical);
      let found = false;
      for (const k of keys ?? []) if (k.startsWith(`${ns}/`)) found = true;
      if (!found) return nx();
    }
    return { rcode: 'NOERROR', answers: [{ type: 'A', name: fqdn, ip: canonical }] };
  }

  private *readyEndpoints(svc: Service): Generator<{ ep: Endpoint; address: string; slice: EndpointSlice }> {
    for (const slice of this.endpoints.slicesOf(objectKey(svc.namespace, svc.name))) {
      if (slice.addressType === 'FQDN') continue;
      for (const ep of slice.endpoints) {
        if (!ep.conditions.ready) continue;
        for (const address of ep.addresses) yield { ep, address, slice };
      }
    }
  }

  private srvFqdn(fqdn: string): SrvAnswer {
    const none: SrvAnswer = { rcode: 'NXDOMAIN', answers: [] };
    const rel = this.relative(fqdn);
    if (rel === null) return none;
    const labels = rel.split('.');
    if (labels.length !== 5 || labels[4] !== 'svc') return none;
    const [portLabel, protoLabel, svcName, ns] = labels as [string, string, string, string];
    if (!portLabel.startsWith('_') || !protoLabel.startsWith('_')) return none;
    const portName = portLabel.slice(1);
    const proto = protoLabel.slice(1).toUpperCase() as Protocol;
    const svc = this.cluster.services.get(objectKey(ns, svcName));
    if (svc === undefined || svc.type === 'ExternalName') return none;
    const sp = svc.ports.find((p) => p.name !== '' && p.name.toLowerCase() === portName && p.protocol === proto);
    if (sp === undefined) return none;
    const svcFqdn = `${svcName}.${ns}.svc.${this.domain}`;
    if (!this.isHeadless(svc)) {
      return { rcode: 'NOERROR', answers: [{ type: 'SRV', name: fqdn, priority: 0, weight: 100, port: sp.port, target: svcFqdn }] };
    }
    const recs = new Map<string, SrvRecord>();
    for (const { ep, address, slice } of this.readyEndpoints(svc)) {
      const epPort = slice.ports.find((p) => p.name === sp.name && p.protocol === sp.protocol);
      if (epPort === undefined) continue;
      const target = `${endpointHostname(ep, address)}.${svcFqdn}`;
      recs.set(`${target}:${epPort.port}`, { type: 'SRV', name: fqdn, priority: 0, weight: 100, port: epPort.port, target });
    }
    if (recs.size === 0) return none;
    const answers = [...recs.values()].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : a.port - b.port));
    const w = Math.floor(100 / answers.length);
    for (const r of answers) r.weight = w;
    return { rcode: 'NOERROR', answers };
  }

  private onEvent(ev: ClusterEvent): void {
    if (ev.kind !== 'pod') return;
    if (ev.prev !== null) this.indexPod(ev.prev.namespace, ev.prev.name, ev.prev.ip, false);
    if (ev.op !== 'delete') this.indexPod(ev.pod.namespace, ev.pod.name, ev.pod.ip, true);
  }

  private indexPod(ns: string, name: string, ip: string, add: boolean): void {
    if (ip === '') return;
    const key = `${ns.toLowerCase()}/${name}`;
    let set = this.podsByIP.get(ip);
    if (add) {
      if (set === undefined) this.podsByIP.set(ip, (set = new Set()));
      set.add(key);
    } else if (set !== undefined) {
      set.delete(key);
      if (set.size === 0) this.podsByIP.delete(ip);
    }
  }
}
