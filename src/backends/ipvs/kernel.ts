/**
 * A model of the kernel's IPVS state (net/netfilter/ipvs): the virtual-service hash table, each service's
 * destination list and scheduler, connection counters, persistence templates, and `ipvsadm -S -n` output.
 *
 * Service table. Kernels up to and including the 7.0 series keep the services in a fixed table of 256 buckets
 * (IP_VS_SVC_TAB_BITS 8 in include/net/ip_vs.h), hashed by ip_vs_svc_hashkey():
 *     (proto ^ ntohl(addr) ^ (port >> 8) ^ port) & 255      (the netns pointer XOR only permutes buckets)
 * and ip_vs_svc_hash() inserts at the bucket HEAD (hlist_add_head_rcu). ip_vs_service_find() walks the bucket
 * comparing af/addr/port/protocol, so a lookup compares as many entries as the service's position in its chain:
 * with S services, about S/256 on average. Julian Anastasov's "resizable hash table for services" (2026, bit range
 * 4..20, load kept near 1/8, jhash) removes that: `svcTable: 'resizable'` models it as one probe per lookup.
 */
import type { Protocol } from '../../types.js';
import type { IpvsScheduler } from './options.js';
import { ipv4ToUint } from '../../net/ipv4.js';
import { ipv6Words } from '../../net/ip.js';

/**
 * An address as the IPVS model keys it: an IPv4 address as its unsigned value; an IPv6 address (the IPv6
 * proxier's virtual and real servers) as the fold ip_vs_svc_hashkey hashes (the XOR of its four words). The fold
 * only places a service in its hash bucket: the IPv6 model is rendered, and its identity is the address text.
 */
export function addrInt(ip: string): number {
  if (!ip.includes(':')) return ipv4ToUint(ip);
  const w = ipv6Words(ip)!.words;
  return (w[0]! ^ w[1]! ^ w[2]! ^ w[3]!) >>> 0;
}

/** ipvsadm's address order (libipvs ipvs_cmp_services / ipvs_cmp_dests): each word as ntohl(a) - ntohl(b), an int. */
function compareAddr(a: string, ai: number, b: string, bi: number): number {
  if (!a.includes(':') && !b.includes(':')) return signed32(ai - bi);
  const wa = ipv6Words(a)?.words;
  const wb = ipv6Words(b)?.words;
  if (wa === undefined || wb === undefined) return a.includes(':') ? 1 : -1;
  for (let i = 0; i < 4; i++) {
    const d = signed32((wa[i]! >>> 0) - (wb[i]! >>> 0));
    if (d !== 0) return d;
  }
  return 0;
}

/** ipvsadm's "IP:port" (an IPv6 address in brackets). */
function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
import { createScheduler, type SchedulerState } from './schedulers.js';

export const PROTO_NUM: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

/** IP_VS_SVC_F_PERSISTENT */
export const FLAG_PERSISTENT = 0x1;

export type SvcTableMode = 'fixed256' | 'resizable';

/** A real server (ip_vs_dest). */
export interface RealServer {
  readonly ip: string;
  readonly ipInt: number;
  readonly port: number;
  weight: number;
  activeConns: number;
  inactiveConns: number;
  /** Expiry times of inactive (closed, in FIN_WAIT/TIME_WAIT, or UDP) connections, oldest first. */
  inactiveExpiry: number[];
  /** Inactive connections that are still open (UDP connections are never counted active by IPVS). */
  inactiveOpen: number;
}

interface Template {
  dest: RealServer;
  expires: number;
}

/** A virtual service (ip_vs_service). */
export interface VirtualService {
  readonly key: string;
  readonly protocol: Protocol;
  readonly protoNum: number;
  readonly ip: string;
  readonly ipInt: number;
  readonly port: number;
  scheduler: IpvsScheduler;
  flags: number;
  /** Persistence timeout in seconds (0 when not persistent). */
  timeout: number;
  /** svc->destinations, head first. */
  dests: RealServer[];
  /** The same destinations by destId, once there are more than a few (see findDest). */
  destById: Map<number | string, RealServer> | null;
  sched: SchedulerState<RealServer>;
  /** Persistence templates by client address (netmask 255.255.255.255); null until the first one. */
  templates: Map<number, Template> | null;
  /** Bucket in the fixed 256-bucket table. */
  readonly bucket: number;
  /**
   * A template shared by the kernels of identical simulated nodes (IpvsKernel.template): never changed; a kernel
   * takes its own copy (IpvsKernel.own) before anything in it changes.
   */
  readonly shared: boolean;
}

export function vsKey(protocol: Protocol, ip: string, port: number): string {
  // joined: one flat string (kept per virtual server and hashed as a map key)
  return [protocol, ip, port].join('|');
}

export function destKey(ip: string, port: number): string {
  return `${ip}:${port}`;
}

/**
 * A destination's identity within its service: addrPortKey for an IPv4 address (exact), "IP:port" for an IPv6
 * one (whose addrInt is only a hash fold).
 */
export function destId(ip: string, ipInt: number, port: number): number | string {
  return ip.includes(':') ? destKey(ip, port) : addrPortKey(ipInt, port);
}

/** An exact numeric key for (IPv4 address, port): addr * 65536 + port < 2^48. */
export function addrPortKey(ipInt: number, port: number): number {
  return ipInt * 65536 + port;
}

const PROTO_INDEX: Readonly<Record<Protocol, number>> = { TCP: 0, UDP: 1, SCTP: 2 };

/** ip_vs_svc_hashkey() for IPv4, netns term dropped. */
export function svcHashKey(protoNum: number, ipInt: number, port: number): number {
  return (protoNum ^ ipInt ^ (port >>> 8) ^ port) & 0xff;
}

export interface ServiceLookup {
  vs: VirtualService | null;
  /** Service-table entries read: the chain position of a hit, the chain length of a miss; at least 1. */
  probes: number;
}

export interface Timeouts {
  /** Seconds a closed TCP/SCTP connection stays (inactive) in the table: FIN_WAIT / TIME_WAIT, 2 min by default. */
  tcpClosed: number;
  /** Seconds a UDP connection stays after its last packet: 5 min by default. */
  udp: number;
}

/** Default IPVS protocol timeouts: ip_vs_proto_tcp.c (TIME_WAIT 2*60 s), ip_vs_proto_udp.c (NORMAL 5*60 s). */
export const DEFAULT_TIMEOUTS: Timeouts = { tcpClosed: 120, udp: 300 };

/** Destinations a service finds by walking its list; beyond that many, by a map. */
const DEST_SCAN = 16;

/** The inactive-connection queue of a real server that never had one (shared; pushInactive gives it its own). */
const NO_EXPIRY: number[] = [];

export class IpvsKernel {
  readonly services = new Map<string, VirtualService>();
  /** Per protocol: addrPortKey -> service (the resizable table's one-probe lookup). */
  private readonly byNum: Map<number, VirtualService>[] = [new Map(), new Map(), new Map()];
  /** The fixed table: bucket -> chain, TAIL first (the head is the last element; only kept in 'fixed256' mode). */
  private readonly buckets: VirtualService[][] = [];
  realServerCount = 0;

  constructor(
    readonly svcTable: SvcTableMode = 'fixed256',
    readonly timeouts: Timeouts = DEFAULT_TIMEOUTS,
  ) {
    for (let i = 0; i < 256; i++) this.buckets.push([]);
  }

  addService(
    protocol: Protocol,
    ip: string,
    port: number,
    scheduler: IpvsScheduler,
    flags: number,
    timeout: number,
    key = vsKey(protocol, ip, port),
  ): VirtualService {
    if (this.services.has(key)) throw new Error(`IPVS service ${key} exists`);
    const protoNum = PROTO_NUM[protocol];
    const ipInt = addrInt(ip);
    const dests: RealServer[] = [];
    const vs: VirtualService = {
      key,
      protocol,
      protoNum,
      ip,
      ipInt,
      port,
      scheduler,
      flags,
      timeout,
      dests,
      destById: null,
      sched: createScheduler<RealServer>(scheduler, dests),
      templates: null,
      bucket: svcHashKey(protoNum, ipInt, port),
      shared: false,
    };
    this.insert(vs);
    return vs;
  }

  private insert(vs: VirtualService): void {
    this.services.set(vs.key, vs);
    this.byNum[PROTO_INDEX[vs.protocol]]!.set(addrPortKey(vs.ipInt, vs.port), vs);
    if (this.svcTable === 'fixed256') this.buckets[vs.bucket]!.push(vs);
    this.realServerCount += vs.dests.length;
  }

  /**
   * A virtual service (made by `add`) with its real servers added in order (weight 1), as a new service's first
   * sync leaves it, to be shared by the kernels of identical nodes (adopt); null for the schedulers whose state
   * names destinations (sh, dh).
   */
  static template(add: (k: IpvsKernel) => VirtualService, dests: readonly { ip: string; port: number }[]): VirtualService | null {
    const k = new IpvsKernel('resizable');
    const vs = add(k);
    if (vs.scheduler === 'sh' || vs.scheduler === 'dh') return null;
    for (const d of dests) k.addDest(vs, d.ip, d.port, 1);
    return { ...vs, shared: true };
  }

  /** IPVS_CMD_NEW_SERVICE and a NEW_DEST per real server, leaving the service as `template` is. */
  adopt(template: VirtualService): VirtualService {
    if (this.services.has(template.key)) throw new Error(`IPVS service ${template.key} exists`);
    this.insert(template);
    return template;
  }

  /** The service itself, or (a shared template) this kernel's own copy of it in its place. */
  own(vs: VirtualService): VirtualService {
    if (!vs.shared) return vs;
    const byOld = new Map<RealServer, RealServer>();
    const dests = vs.dests.map((d) => {
      const c: RealServer = { ...d, inactiveExpiry: d.inactiveExpiry === NO_EXPIRY ? NO_EXPIRY : [...d.inactiveExpiry] };
      byOld.set(d, c);
      return c;
    });
    const sched = Object.assign(Object.create(Object.getPrototypeOf(vs.sched) as object) as SchedulerState<RealServer>, vs.sched);
    const templates =
      vs.templates === null
        ? null
        : new Map([...vs.templates].map(([src, t]) => [src, { dest: byOld.get(t.dest) ?? t.dest, expires: t.expires }]));
    const destById = vs.destById === null ? null : new Map(dests.map((x) => [destId(x.ip, x.ipInt, x.port), x]));
    const mine: VirtualService = { ...vs, dests, destById, sched, templates, shared: false };
    this.services.set(mine.key, mine);
    this.byNum[PROTO_INDEX[mine.protocol]]!.set(addrPortKey(mine.ipInt, mine.port), mine);
    if (this.svcTable === 'fixed256') {
      const chain = this.buckets[mine.bucket]!;
      chain[chain.indexOf(vs)] = mine;
    }
    return mine;
  }

  /** IPVS_CMD_SET_SERVICE: scheduler, flags, timeout. A new scheduler starts from fresh state (ip_vs_edit_service). */
  updateService(vs: VirtualService, scheduler: IpvsScheduler, flags: number, timeout: number): void {
    if (vs.scheduler !== scheduler) {
      vs.scheduler = scheduler;
      vs.sched = createScheduler<RealServer>(scheduler, vs.dests);
    }
    if ((vs.flags & FLAG_PERSISTENT) !== 0 && (flags & FLAG_PERSISTENT) === 0) vs.templates = null;
    vs.flags = flags;
    vs.timeout = timeout;
  }

  /** IPVS_CMD_DEL_SERVICE: the service and every destination in it go. */
  deleteService(vs: VirtualService): void {
    if (!this.services.delete(vs.key)) return;
    this.byNum[PROTO_INDEX[vs.protocol]]!.delete(addrPortKey(vs.ipInt, vs.port));
    this.realServerCount -= vs.dests.length;
    if (this.svcTable === 'fixed256') {
      const chain = this.buckets[vs.bucket]!;
      const i = chain.indexOf(vs);
      if (i >= 0) chain.splice(i, 1);
    }
  }

  /**
   * ip_vs_service_find(): in the fixed table, walks the bucket chain from the head comparing each entry; in the
   * resizable table, one probe.
   */
  findService(protocol: Protocol, ipInt: number, port: number): ServiceLookup {
    if (this.svcTable === 'resizable') return { vs: this.byNum[PROTO_INDEX[protocol]]!.get(addrPortKey(ipInt, port)) ?? null, probes: 1 };
    const protoNum = PROTO_NUM[protocol];
    const chain = this.buckets[svcHashKey(protoNum, ipInt, port)]!;
    for (let i = chain.length - 1; i >= 0; i--) {
      const vs = chain[i]!;
      if (vs.ipInt === ipInt && vs.port === port && vs.protoNum === protoNum) return { vs, probes: chain.length - i };
    }
    return { vs: null, probes: Math.max(1, chain.length) };
  }

  /** Position (1 = head) of a service in its bucket chain, for tests and reports. */
  chainPosition(vs: VirtualService): number {
    if (this.svcTable === 'resizable') return 1;
    const chain = this.buckets[vs.bucket]!;
    return chain.length - chain.indexOf(vs);
  }

  /** IPVS_CMD_NEW_DEST: added at the head of the destination list. */
  addDest(vs: VirtualService, ip: string, port: number, weight: number, reuse?: RealServer): RealServer {
    const ipInt = reuse?.ipInt ?? addrInt(ip);
    const id = destId(ip, ipInt, port);
    if (this.findDest(vs, id) !== undefined) throw new Error(`IPVS dest ${destKey(ip, port)} exists in ${vs.key}`);
    // A destination deleted while it still had connections waits in the kernel's dest trash and is taken back,
    // counters included, when the same destination is added again (ip_vs_trash_get_dest).
    const d: RealServer = reuse ?? {
      ip,
      ipInt,
      port,
      weight,
      activeConns: 0,
      inactiveConns: 0,
      inactiveExpiry: NO_EXPIRY,
      inactiveOpen: 0,
    };
    d.weight = weight;
    vs.dests.unshift(d);
    if (vs.destById !== null) vs.destById.set(id, d);
    else if (vs.dests.length > DEST_SCAN) vs.destById = new Map(vs.dests.map((x) => [destId(x.ip, x.ipInt, x.port), x]));
    vs.sched.added(vs.dests);
    this.realServerCount++;
    return d;
  }

  /** The destination of a service with that destId. */
  findDest(vs: VirtualService, id: number | string): RealServer | undefined {
    if (vs.destById !== null) return vs.destById.get(id);
    for (const d of vs.dests) if (destId(d.ip, d.ipInt, d.port) === id) return d;
    return undefined;
  }

  /** IPVS_CMD_SET_DEST */
  updateDest(vs: VirtualService, d: RealServer, weight: number): void {
    d.weight = weight;
    vs.sched.updated(vs.dests);
  }

  /** IPVS_CMD_DEL_DEST */
  deleteDest(vs: VirtualService, d: RealServer): void {
    const idx = vs.dests.indexOf(d);
    if (idx < 0) return;
    vs.dests.splice(idx, 1);
    vs.destById?.delete(destId(d.ip, d.ipInt, d.port));
    vs.sched.removed(vs.dests, idx);
    this.realServerCount--;
  }

  /** Drops inactive connections whose timer ran out. */
  expire(d: RealServer, now: number): void {
    const q = d.inactiveExpiry;
    let k = 0;
    while (k < q.length && q[k]! <= now) k++;
    if (k > 0) {
      q.splice(0, k);
      d.inactiveConns -= k;
    }
  }

  /**
   * Picks the destination of a new connection, honouring persistence (ip_vs_sched_persist): a valid template for the
   * client sends it to the same destination; a template whose destination has weight 0 is invalid because kube-proxy
   * sets net.ipv4.vs.expire_quiescent_template=1. Returns the template probes made (0 or 1).
   */
  schedule(vs: VirtualService, srcIpInt: number, dstIpInt: number, now: number): { dest: RealServer | null; templateProbes: number } {
    for (const d of vs.dests) if (d.inactiveExpiry.length > 0 && d.inactiveExpiry[0]! <= now) this.expire(d, now);
    if ((vs.flags & FLAG_PERSISTENT) === 0) {
      return { dest: vs.sched.schedule(vs.dests, { srcIpInt, dstIpInt }), templateProbes: 0 };
    }
    const t = vs.templates?.get(srcIpInt);
    if (
      t !== undefined &&
      t.expires > now &&
      t.dest.weight > 0 &&
      this.findDest(vs, destId(t.dest.ip, t.dest.ipInt, t.dest.port)) === t.dest
    ) {
      t.expires = now + vs.timeout;
      return { dest: t.dest, templateProbes: 1 };
    }
    const dest = vs.sched.schedule(vs.dests, { srcIpInt, dstIpInt });
    if (dest === null) {
      if (t !== undefined) vs.templates!.delete(srcIpInt);
      return { dest: null, templateProbes: 1 };
    }
    (vs.templates ??= new Map()).set(srcIpInt, { dest, expires: now + vs.timeout });
    return { dest, templateProbes: 1 };
  }

  /** A new connection bound to `d`: TCP/SCTP counted active (handshake assumed done), UDP inactive (as IPVS does). */
  connOpened(vs: VirtualService, d: RealServer): void {
    if (vs.protocol === 'UDP') {
      d.inactiveConns++;
      d.inactiveOpen++;
    } else {
      d.activeConns++;
    }
  }

  /** The connection ended at `now`: it stays counted inactive until its protocol timeout runs out. */
  connClosed(vs: VirtualService, d: RealServer, now: number): void {
    if (vs.protocol === 'UDP') {
      if (d.inactiveOpen <= 0) return;
      d.inactiveOpen--;
      this.pushInactive(d, now + this.timeouts.udp, false);
    } else {
      if (d.activeConns <= 0) return;
      d.activeConns--;
      this.pushInactive(d, now + this.timeouts.tcpClosed, true);
    }
  }

  private pushInactive(d: RealServer, expires: number, countNew: boolean): void {
    let q = d.inactiveExpiry;
    if (q === NO_EXPIRY) d.inactiveExpiry = q = [];
    // keep the queue sorted (times are normally non-decreasing)
    if (q.length === 0 || q[q.length - 1]! <= expires) q.push(expires);
    else {
      let i = q.length;
      while (i > 0 && q[i - 1]! > expires) i--;
      q.splice(i, 0, expires);
    }
    if (countNew) d.inactiveConns++;
  }

  /** `ipvsadm -S -n`: services sorted by <protocol, address, port>, destinations by <address, port> (ipvsadm --sort, the default). */
  renderSave(): string {
    const svcs = [...this.services.values()].sort(
      (a, b) => a.protoNum - b.protoNum || compareAddr(a.ip, a.ipInt, b.ip, b.ipInt) || a.port - b.port,
    );
    const out: string[] = [];
    for (const vs of svcs) {
      const svcName = `${protoSwitch(vs.protocol)} ${hostPort(vs.ip, vs.port)}`;
      let line = `-A ${svcName} -s ${vs.scheduler}`;
      if ((vs.flags & FLAG_PERSISTENT) !== 0) line += ` -p ${vs.timeout}`;
      out.push(line);
      const dests = [...vs.dests].sort((a, b) => compareAddr(a.ip, a.ipInt, b.ip, b.ipInt) || a.port - b.port);
      for (const d of dests) out.push(`-a ${svcName} -r ${hostPort(d.ip, d.port)} -m -w ${d.weight}`);
    }
    return out.length === 0 ? '' : out.join('\n') + '\n';
  }
}

/** ipvsadm compares addresses as `ntohl(a) - ntohl(b)` in an int. */
function signed32(x: number): number {
  return x | 0;
}

/** ipvsadm's service switch in save format. */
function protoSwitch(p: Protocol): string {
  return p === 'TCP' ? '-t' : p === 'UDP' ? '-u' : '--sctp-service';
}
