/**
 * The per-packet path of Cilium's kube-proxy replacement for the first packet of a connection, with every BPF map
 * lookup counted (cilium/cilium bpf/bpf_sock.c `__sock4_xlate_fwd`; bpf/lib/lb.h `lb4_lookup_service`,
 * `lb4_local`, `lb4_select_backend_id`; bpf/lib/hash.h `hash_from_tuple_v4`):
 *
 * - Socket-level LB (clients on this node: host processes and the node's pods, when enabled): at connect() the
 *   cgroup hook looks up the service (external scope; the internal-scope entry too for two-scopes services;
 *   the 0.0.0.0 NodePort surrogate when the address is one of the node's own and has no entry), picks slot
 *   (random % count) + 1, looks the slot and then the backend up, and rewrites the socket's destination. No
 *   conntrack entry and no per-packet work afterwards: later packets go straight to the backend.
 * - tc (or XDP) for everything else: service lookup, conntrack lookup (a miss for a new connection), backend
 *   selection — random: one slot lookup; Maglev: the outer map then the inner table, index
 *   jhash_3words(saddr, dport << 16 | sport, proto, seed) % M — then the backend lookup; a conntrack entry is
 *   created (an update, not a lookup).
 * - No selectable backend: REJECT (Cilium's --service-no-backend-response default "reject").
 * Lookup counts depend only on the path and the service's flags: never on the number of services or backends.
 */
import type { Packet, ProxyNodeConfig, Rng } from '../../types.js';
import { type Cidr4, cidrContains, parseCidr4, parseIPv4 } from '../../net/ipv4.js';
import { PROTO_NUMBER, SCOPE_EXTERNAL, SCOPE_INTERNAL, SVC_FLAG } from './lbmaps.js';
import type { CiliumLb, Frontend } from './reconciler.js';
import { bswap32, jhash3words } from '../../net/jhash.js';

export type DatapathPath = 'socket' | 'tc' | 'xdp';

export interface DatapathOptions {
  /** Socket-level LB for in-node clients (--bpf-lb-sock) [true]. */
  socketLB: boolean;
  /** Where traffic from outside the node is balanced: tc on the device, or XDP (--bpf-lb-acceleration=native). */
  mode: 'tc' | 'xdp';
  /** The decoded jhash seed of the datapath's Maglev hash (HASH_INIT4_SEED). */
  jhashSeed: number;
}

export interface DatapathCounts {
  /** Every BPF map lookup on the first packet's path (the sum of the lookups below). */
  map_lookups: number;
  svc_lookups: number;
  ct_lookups: number;
  slot_lookups: number;
  maglev_lookups: number;
  backend_lookups: number;
  affinity_lookups: number;
  /** Map element writes by the datapath: conntrack entry, socket rev-NAT (UDP), affinity. */
  map_updates: number;
  /** 1 when the connection was translated once at connect() (socket LB). */
  socket_translations: number;
}

export interface DatapathResult {
  verdict: 'DNAT' | 'REJECT' | 'DROP' | 'PASS';
  endpoint: { ip: string; port: number } | null;
  serviceKey: string;
  masquerade: boolean;
  path: DatapathPath;
  counts: DatapathCounts;
}

function emptyCounts(): DatapathCounts {
  return {
    map_lookups: 0,
    svc_lookups: 0,
    ct_lookups: 0,
    slot_lookups: 0,
    maglev_lookups: 0,
    backend_lookups: 0,
    affinity_lookups: 0,
    map_updates: 0,
    socket_translations: 0,
  };
}

function bswap16(x: number): number {
  return ((x & 255) << 8) | ((x >>> 8) & 255);
}

/**
 * hash_from_tuple_v4 on a little-endian host: the tuple's network-order fields read as host words.
 * (The conntrack tuple of a service lookup keeps the client's source port in `sport`.)
 */
export function maglevTupleHash(srcIP: number, srcPort: number, dstPort: number, proto: number, seed: number): number {
  return jhash3words(bswap32(srcIP >>> 0), ((bswap16(dstPort) << 16) | bswap16(srcPort)) >>> 0, proto, seed);
}

const cidrCache = new Map<string, Cidr4 | null>();
function inCidr(cidr: string, ip: number): boolean {
  if (cidr === '') return false;
  let c = cidrCache.get(cidr);
  if (c === undefined) cidrCache.set(cidr, (c = parseCidr4(cidr)));
  return c !== null && cidrContains(c, ip);
}

/** Session affinity state (cilium_lb4_affinity): client -> backend ID and last use. */
export type AffinityTable = Map<string, { backendId: number; lastUsed: number }>;

/** Classifies a first packet; `now` in seconds for session affinity. */
export function lookupPacket(
  lb: CiliumLb,
  node: ProxyNodeConfig,
  opts: DatapathOptions,
  affinity: AffinityTable,
  pkt: Packet,
  rng: Rng,
  now: number,
): DatapathResult {
  const counts = emptyCounts();
  const src = parseIPv4(pkt.srcIP);
  const dst = parseIPv4(pkt.dstIP);
  const proto = PROTO_NUMBER[pkt.protocol] ?? 0;
  const srcU = src === null ? 0 : src >>> 0;
  const inNode = pkt.local || (src !== null && inCidr(node.podCIDR, src)) || node.nodeIPs.includes(pkt.srcIP);
  const inCluster = inNode || (src !== null && inCidr(node.clusterCIDR, src));
  const path: DatapathPath = opts.socketLB && inNode ? 'socket' : inCluster ? 'tc' : opts.mode;
  const res = (
    verdict: DatapathResult['verdict'],
    serviceKey = '',
    endpoint: DatapathResult['endpoint'] = null,
    masquerade = false,
  ): DatapathResult => {
    counts.map_lookups =
      counts.svc_lookups +
      counts.ct_lookups +
      counts.slot_lookups +
      counts.maglev_lookups +
      counts.backend_lookups +
      counts.affinity_lookups;
    return { verdict, endpoint, serviceKey, masquerade, path, counts };
  };
  if (dst === null) return res('PASS');

  // Service lookup: external scope, slot 0.
  const address = dst >>> 0;
  counts.svc_lookups++;
  let svc: Frontend | undefined = lb.frontendAt(address, pkt.dstPort, proto, SCOPE_EXTERNAL);
  if (svc === undefined && path === 'socket' && (pkt.dstIP.startsWith('127.') || node.nodeIPs.includes(pkt.dstIP))) {
    // sock4_wildcard_lookup: the 0.0.0.0 NodePort surrogate
    counts.svc_lookups++;
    svc = lb.frontendAt(0, pkt.dstPort, proto, SCOPE_EXTERNAL);
  }
  if (svc === undefined) return res('PASS');
  if (inCluster && svc.flags & SVC_FLAG.twoScopes) {
    counts.svc_lookups++;
    svc = lb.frontendAt(svc.address, svc.port, svc.proto, SCOPE_INTERNAL);
    if (svc === undefined) return res('PASS');
  }
  // A frontend that is not routable (ClusterIP, surrogate) is not served to traffic from outside the cluster.
  if (!inCluster && !(svc.flags & SVC_FLAG.routable)) return res('PASS');
  const master = svc;
  const revNat = master.id;
  const serviceKey = lb.serviceKeyOfRevNat(revNat);
  if (master.count === 0) return res('REJECT', serviceKey);

  if (path !== 'socket') counts.ct_lookups++; // a new connection: conntrack miss

  let backendId = 0;
  const affKey = `${srcU}|${revNat}`;
  if (master.flags & SVC_FLAG.sessionAffinity) {
    counts.affinity_lookups++;
    const a = affinity.get(affKey);
    const timeout = master.affinityTimeout & 0xffffff;
    if (a !== undefined && a.lastUsed + timeout > now) {
      counts.backend_lookups++;
      if (lb.backend(a.backendId) !== undefined) backendId = a.backendId;
    }
  }

  if (backendId === 0) {
    const tableOf = path === 'socket' ? null : lb.maglevTableOf(revNat);
    if (tableOf !== null && tableOf.length > 0) {
      counts.maglev_lookups += 2; // outer map, then the inner array's single element
      const h = maglevTupleHash(srcU, pkt.srcPort, pkt.dstPort, proto, opts.jhashSeed);
      backendId = tableOf[h % tableOf.length]!;
    } else {
      const slot = (Math.floor(rng.next() * 0x100000000) % master.count) + 1;
      counts.slot_lookups++;
      if (slot > master.slots.length) return res('DROP', serviceKey);
      backendId = master.slots[slot - 1]!;
    }
  }
  counts.backend_lookups++;
  const backend = lb.backend(backendId);
  if (backend === undefined) return res('DROP', serviceKey);

  if (master.flags & SVC_FLAG.sessionAffinity) {
    affinity.set(affKey, { backendId, lastUsed: now });
    counts.map_updates++;
  }
  if (path === 'socket') {
    counts.socket_translations = 1;
    if (proto === 17) counts.map_updates++; // cilium_lb4_reverse_sk for UDP
  } else counts.map_updates++; // conntrack entry created

  const ip = `${backend.address >>> 24}.${(backend.address >>> 16) & 255}.${(backend.address >>> 8) & 255}.${backend.address & 255}`;
  const hairpin = srcU === backend.address >>> 0;
  const masquerade =
    path !== 'socket' && (hairpin || (!inCluster && !(master.flags & SVC_FLAG.extLocalScope) && !lb.backendIsLocal(backendId)));
  return res('DNAT', serviceKey, { ip, port: backend.port }, masquerade);
}

export { jhash3words };
