/**
 * What kube-proxy's IPVS proxier wants programmed for ONE service port (the body of the per-service loop in
 * syncProxyRules, pkg/proxy/ipvs/proxier.go), computed independently of every other service so that a sync can
 * diff only the service ports that changed.
 */
import { usesClusterEndpoints, usesLocalEndpoints } from '../../proxy/serviceport.js';
import { categorizeEndpoints } from '../../proxy/topology.js';
import { cidrContains, parseCidr4, parseIPv4, type Cidr4 } from '../../net/ipv4.js';
import { cidrContainsIP, parseCIDRSloppy } from '../../net/ip.js';
import type { EndpointInfo, ProxyNodeConfig, Protocol, ServicePortInfo } from '../../types.js';
import type { IpvsScheduler } from './options.js';
import { addrInt, destId, FLAG_PERSISTENT, vsKey } from './kernel.js';
import { SET } from './ipset.js';

export interface DesiredVirtualServer {
  key: string;
  protocol: Protocol;
  ip: string;
  port: number;
  /** The address goes on kube-ipvs0 (cluster IPs always; external and LB IPs unless they are node addresses). */
  bind: boolean;
  /** Real servers in snapshot order, one per IP and port. */
  dests: readonly EndpointInfo[];
}

export interface DesiredService {
  key: string;
  scheduler: IpvsScheduler;
  flags: number;
  timeout: number;
  /** In kube-proxy's order: cluster IP, external IPs, load-balancer IPs, node ports (one per node IP). */
  virtualServers: DesiredVirtualServer[];
  /** [set name, entry] pairs (may repeat: each occurrence holds a reference). */
  entries: [string, string][];
  /** LoadBalancer IPs the node may not reach (sourceRanges not containing the node IP): KUBE-IPVS-OUT-FILTER rules. */
  lbNoNodeAccess: { ip: string; protocol: Protocol; port: number }[];
}

const cidrCache = new Map<string, Cidr4 | null>();

/** Whether `ip` is in `cidr` (Go's net.ParseCIDR semantics; a malformed CIDR contains nothing). */
export function cidrContainsIp(cidr: string, ip: string): boolean {
  let c = cidrCache.get(cidr);
  if (c === undefined) {
    c = parseCidr4(cidr);
    if (cidrCache.size > 4096) cidrCache.clear();
    cidrCache.set(cidr, c);
  }
  const n = parseIPv4(ip);
  if (c === null && n === null) return cidrContainsIP(cidr, ip); // IPv6 (the IPv6 proxier)
  return c !== null && n !== null && cidrContains(c, n);
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/** The node IPs that get NodePort virtual servers (--nodeport-addresses; loopback never). */
export function nodePortIPs(node: ProxyNodeConfig): string[] {
  const ips = node.nodeIPs.filter((ip) => !isLoopback(ip));
  if (node.nodePortAddresses.length === 0) return ips;
  return ips.filter((ip) => node.nodePortAddresses.some((a) => (a === 'primary' ? ip === node.nodeIPs[0] : cidrContainsIp(a, ip))));
}

function destList(eps: readonly EndpointInfo[]): readonly EndpointInfo[] {
  const seen = new Set<number | string>();
  const out: EndpointInfo[] = [];
  for (const e of eps) {
    if (e.ip === '' || e.port === 0) continue;
    const k = destId(e.ip, addrInt(e.ip), e.port);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(e);
  }
  return out.length === eps.length ? eps : out;
}

export interface DesiredContext {
  node: ProxyNodeConfig;
  scheduler: IpvsScheduler;
  /** Node IPs used for NodePort virtual servers. */
  nodePortIPs: readonly string[];
  /** Every node address (external/LB IPs that are node addresses are not bound to kube-ipvs0). */
  nodeAddresses: ReadonlySet<string>;
}

export function desiredService(ctx: DesiredContext, s: ServicePortInfo, eps: readonly EndpointInfo[]): DesiredService {
  const proto = s.protocol;
  const p = proto.toLowerCase();
  const flags = s.stickyMaxAgeSeconds > 0 ? FLAG_PERSISTENT : 0;
  const timeout = s.stickyMaxAgeSeconds > 0 ? s.stickyMaxAgeSeconds : 0;
  const entries: [string, string][] = [];
  const vss: DesiredVirtualServer[] = [];
  const lbNoNodeAccess: DesiredService['lbNoNodeAccess'] = [];

  // hairpin: every local endpoint (ready or not) of the service port
  for (const e of eps) {
    if (!e.isLocal || e.ip === '' || e.port === 0) continue;
    entries.push([SET.loopBack, `${e.ip},${p}:${e.port},${e.ip}`]);
  }

  const { cluster, local } = categorizeEndpoints(eps, usesClusterEndpoints(s), usesLocalEndpoints(s));
  const pick = (onlyLocal: boolean): readonly EndpointInfo[] => destList(onlyLocal ? (local.length > 0 ? local : cluster) : cluster);
  const internalDests = pick(s.internalPolicyLocal);
  const externalDests = pick(s.externalPolicyLocal);

  // joined: one flat string (kept as a set entry and hashed as a map key)
  entries.push([SET.clusterIP, [s.clusterIP, ',', p, ':', s.port].join('')]);
  vss.push({ key: vsKey(proto, s.clusterIP, s.port), protocol: proto, ip: s.clusterIP, port: s.port, bind: true, dests: internalDests });

  for (const ip of s.externalIPs) {
    entries.push([s.externalPolicyLocal ? SET.externalIPLocal : SET.externalIP, `${ip},${p}:${s.port}`]);
    vss.push({ key: vsKey(proto, ip, s.port), protocol: proto, ip, port: s.port, bind: !ctx.nodeAddresses.has(ip), dests: externalDests });
  }

  const nodeIP = ctx.node.nodeIPs[0] ?? '';
  for (const ip of s.loadBalancerIPs) {
    const entry = `${ip},${p}:${s.port}`;
    entries.push([SET.loadBalancer, entry]);
    if (s.externalPolicyLocal) entries.push([SET.loadBalancerLocal, entry]);
    const ranges = s.loadBalancerSourceRanges.flatMap((r) => {
      const c4 = parseCidr4(r);
      if (c4 !== null) return [c4.text];
      const c6 = parseCIDRSloppy(r.trim());
      return c6 !== null && c6.family === 'IPv6' ? [c6.text] : [];
    });
    if (ranges.length > 0) {
      entries.push([SET.loadBalancerFW, entry]);
      let allowFromNode = false;
      for (const c of ranges) {
        entries.push([SET.loadBalancerSourceCIDR, `${ip},${p}:${s.port},${c}`]);
        if (nodeIP !== '' && cidrContainsIp(c, nodeIP)) allowFromNode = true;
      }
      if (allowFromNode) entries.push([SET.loadBalancerSourceIP, `${ip},${p}:${s.port},${ip}`]);
      else lbNoNodeAccess.push({ ip, protocol: proto, port: s.port });
    }
    vss.push({ key: vsKey(proto, ip, s.port), protocol: proto, ip, port: s.port, bind: !ctx.nodeAddresses.has(ip), dests: externalDests });
  }

  if (s.nodePort !== 0 && ctx.nodePortIPs.length > 0) {
    if (proto === 'SCTP') {
      for (const ip of ctx.nodePortIPs) {
        entries.push([SET.nodePortSCTP, `${ip},sctp:${s.nodePort}`]);
        if (s.externalPolicyLocal) entries.push([SET.nodePortLocalSCTP, `${ip},sctp:${s.nodePort}`]);
      }
    } else {
      const port = String(s.nodePort);
      entries.push([proto === 'TCP' ? SET.nodePortTCP : SET.nodePortUDP, port]);
      if (s.externalPolicyLocal) entries.push([proto === 'TCP' ? SET.nodePortLocalTCP : SET.nodePortLocalUDP, port]);
    }
    for (const ip of ctx.nodePortIPs) {
      vss.push({ key: vsKey(proto, ip, s.nodePort), protocol: proto, ip, port: s.nodePort, bind: false, dests: externalDests });
    }
  }

  // (kube-proxy `continue`s past the health check when a node port has no node IP to go on)
  const skippedNodePort = s.nodePort !== 0 && ctx.nodePortIPs.length === 0;
  if (s.healthCheckNodePort !== 0 && !skippedNodePort) entries.push([SET.healthCheckNodePort, String(s.healthCheckNodePort)]);

  // KUBE-IPVS-IPS holds exactly the addresses bound to kube-ipvs0
  for (const vs of vss) if (vs.bind) entries.push([SET.ipvsIPs, vs.ip]);

  return { key: s.key, scheduler: ctx.scheduler, flags, timeout, virtualServers: vss, entries, lbNoNodeAccess };
}
