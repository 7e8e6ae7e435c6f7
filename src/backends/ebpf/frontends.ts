/**
 * The frontends Cilium's load-balancer control plane derives from one Kubernetes service port, and the backends
 * each frontend gets, as cilium/cilium does it (pkg/loadbalancer: the Kubernetes reflector, `NewSvcFlag`;
 * pkg/loadbalancer/reconciler/bpf_reconciler.go: `Update` expands a NodePort frontend per node address,
 * `sortedBackends`; testdata trafficpolicy.txtar, nodeport*.txtar, graceful-termination.txtar for the outcome):
 *
 * - ClusterIP VIP:port, type ClusterIP, not routable from outside; backends: all, or only local ones with
 *   internalTrafficPolicy Local.
 * - NodePort: a surrogate 0.0.0.0:nodePort (non-routable, used by the socket hook's wildcard lookup) plus one
 *   frontend per node address (routable).
 * - LoadBalancer ingress IPs (type LoadBalancer) and externalIPs (type ExternalIPs), routable.
 * - On the externally reachable frontends, externalTrafficPolicy Local keeps only the node's backends. When the
 *   external and internal policies differ ("two-scopes"), the external-scope entry follows externalTrafficPolicy
 *   and a second, internal-scope entry (printed with "/i") follows internalTrafficPolicy: in-cluster clients are
 *   switched to it.
 * - Backends: ready endpoints are active; not ready but serving and terminating ones are kept as terminating
 *   (KEP-1669); others are not backends. Order: state (active first), then address, then port. New connections
 *   choose among the active ones only, unless there are none, then among the terminating ones.
 */
import type { EndpointInfo, ProxyNodeConfig, ServicePortInfo } from '../../types.js';
import { cidrContains, parseCidr4, parseIPv4 } from '../../net/ipv4.js';
import { type BackendState, PROTO_NUMBER, SCOPE_EXTERNAL, SCOPE_INTERNAL, svcFlags, type SvcType } from './lbmaps.js';

export interface DesiredBackend {
  ip: string;
  address: number;
  port: number;
  proto: number;
  state: BackendState;
  isLocal: boolean;
  /** The backend's identity (Cilium's L3n4Addr, scope external) as a number: see backendKey. */
  key: number;
}

const PROTO_INDEX: Record<number, number> = { 0: 0, 6: 1, 17: 2, 132: 3 };

/** address:port/proto as one exact number (< 2^50): the unsigned address, a 2-bit protocol index, the port. */
export function backendKey(address: number, port: number, proto: number): number {
  return (address >>> 0) * 262144 + PROTO_INDEX[proto]! * 65536 + port;
}

/** address:port/proto and scope of a frontend as one exact number (< 2^51). */
export function frontendKey(address: number, port: number, proto: number, scope: number): number {
  return (address >>> 0) * 524288 + port * 8 + PROTO_INDEX[proto]! * 2 + scope;
}

export interface DesiredFrontend {
  serviceKey: string;
  type: SvcType;
  ip: string;
  address: number;
  port: number;
  proto: number;
  scope: number;
  /** "ip:port/PROTO" or "ip:port/PROTO/i": the frontend's identity, as Cilium prints it. */
  key: string;
  /** The same identity as a number (frontendKey): the agent's key for the frontend and its service ID. */
  num: number;
  flags: number;
  /** Ordered as Cilium orders the slots: active first, then terminating; by address and port. */
  backends: DesiredBackend[];
  /** Master count: selectable backends (active, or terminating when none is active). */
  count: number;
  /** Master qcount: the other backends (kept for existing connections). */
  qcount: number;
  /** Session affinity timeout in seconds, 0 without affinity. */
  affinityTimeout: number;
  /** The surrogate 0.0.0.0 NodePort entry. */
  surrogate: boolean;
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.');
}

/** Node addresses that get NodePort frontends (--nodeport-addresses semantics: CIDRs or 'primary'; none = all). */
export function nodePortAddresses(node: ProxyNodeConfig): string[] {
  const ips = node.nodeIPs.filter((ip) => !isLoopback(ip) && parseIPv4(ip) !== null);
  if (node.nodePortAddresses.length === 0) return ips;
  return ips.filter((ip) =>
    node.nodePortAddresses.some((a) => {
      if (a === 'primary') return ip === node.nodeIPs[0];
      const c = parseCidr4(a);
      return c !== null && cidrContains(c, parseIPv4(ip)!);
    }),
  );
}

function backendState(e: EndpointInfo): BackendState | null {
  if (e.ready) return 'active';
  if (e.serving && e.terminating) return 'terminating';
  return null;
}

const STATE_ORDER: Record<BackendState, number> = { active: 0, terminating: 1, quarantined: 2, maintenance: 3 };

/** The service port's backends (deduplicated by address), in Cilium's slot order. */
export function serviceBackends(svc: ServicePortInfo, eps: readonly EndpointInfo[]): DesiredBackend[] {
  const proto = PROTO_NUMBER[svc.protocol]!;
  const seen = new Set<number>();
  const out: DesiredBackend[] = [];
  for (const e of eps) {
    const state = backendState(e);
    const address = parseIPv4(e.ip);
    if (state === null || address === null || e.port === 0) continue;
    const key = backendKey(address, e.port, proto);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ip: e.ip, address: address >>> 0, port: e.port, proto, state, isLocal: e.isLocal, key });
  }
  return sortBackends(out);
}

export function sortBackends(bes: DesiredBackend[]): DesiredBackend[] {
  return bes.sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || a.address - b.address || a.port - b.port);
}

/** count / qcount as upsertMaster sets them. */
export function masterCounts(bes: readonly DesiredBackend[]): { count: number; qcount: number } {
  let active = 0;
  let terminating = 0;
  let inactive = 0;
  for (const b of bes) {
    if (b.state === 'active') active++;
    else if (b.state === 'terminating') terminating++;
    else inactive++;
  }
  if (active === 0) return { count: terminating, qcount: inactive };
  return { count: active, qcount: inactive + terminating };
}

export interface FrontendOptions {
  /** --bpf-lb-external-clusterip [false]: ClusterIPs routable from outside (and given Maglev tables). */
  externalClusterIP: boolean;
}

/** Every frontend of one service port on this node, in address order (the order Cilium's reconciler meets them). */
export function desiredFrontends(
  svc: ServicePortInfo,
  eps: readonly EndpointInfo[],
  node: ProxyNodeConfig,
  opts: FrontendOptions,
): DesiredFrontend[] {
  if (svc.type === 'ExternalName') return [];
  const proto = PROTO_NUMBER[svc.protocol]!;
  const all = serviceBackends(svc, eps);
  const local = all.filter((b) => b.isLocal);
  const affinity = svc.stickyMaxAgeSeconds;
  const out: DesiredFrontend[] = [];
  const add = (type: SvcType, ip: string, port: number, scope: number, bes: DesiredBackend[], extLocal: boolean, surrogate: boolean) => {
    const address = parseIPv4(ip);
    if (address === null) return;
    const routable = !surrogate && (type !== 'ClusterIP' || opts.externalClusterIP);
    const flags = svcFlags({
      type,
      extLocal,
      intLocal: svc.internalPolicyLocal,
      sessionAffinity: affinity > 0,
      routable,
      checkSourceRange: type === 'LoadBalancer' && svc.loadBalancerSourceRanges.length > 0,
    });
    const key = [ip, ':', port, '/', svc.protocol, scope === SCOPE_INTERNAL ? '/i' : ''].join('');
    out.push({
      serviceKey: svc.key,
      type,
      ip,
      address: address >>> 0,
      port,
      proto,
      scope,
      key,
      num: frontendKey(address, port, proto, scope),
      flags,
      backends: bes,
      ...masterCounts(bes),
      affinityTimeout: affinity,
      surrogate,
    });
  };

  if (svc.clusterIP !== '' && svc.clusterIP !== 'None') {
    add('ClusterIP', svc.clusterIP, svc.port, SCOPE_EXTERNAL, svc.internalPolicyLocal ? local : all, svc.externalPolicyLocal, false);
  }
  // Externally reachable frontends: external scope by externalTrafficPolicy, internal scope when the policies differ.
  const external = (type: SvcType, ip: string, port: number, surrogate: boolean) => {
    const etpLocal = svc.externalPolicyLocal;
    const itpLocal = svc.internalPolicyLocal;
    add(type, ip, port, SCOPE_EXTERNAL, etpLocal ? local : all, etpLocal, surrogate);
    if (etpLocal !== itpLocal) add(type, ip, port, SCOPE_INTERNAL, itpLocal ? local : all, etpLocal, surrogate);
  };
  if (svc.nodePort !== 0 && (svc.type === 'NodePort' || svc.type === 'LoadBalancer')) {
    external('NodePort', '0.0.0.0', svc.nodePort, true);
    for (const ip of nodePortAddresses(node)) external('NodePort', ip, svc.nodePort, false);
  }
  if (svc.type === 'LoadBalancer') for (const ip of svc.loadBalancerIPs) external('LoadBalancer', ip, svc.port, false);
  for (const ip of svc.externalIPs) external('ExternalIPs', ip, svc.port, false);

  // Address order (netip.Addr compare), then port, protocol, scope.
  return out.sort((a, b) => a.address - b.address || a.port - b.port || a.proto - b.proto || a.scope - b.scope);
}
