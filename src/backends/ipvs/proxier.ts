/**
 * kube-proxy's IPVS proxier (pkg/proxy/ipvs/proxier.go, graceful_termination.go) driving the kernel model.
 *
 * A sync computes the desired state of each changed service port (all of them on the first sync), diffs it against
 * what was programmed for that service port, and applies only the difference: IPVS virtual/real server adds,
 * updates and deletes (one netlink request each), ipset entry adds and deletes (one `ipset` command each),
 * kube-ipvs0 address adds and deletes (one netlink request each). The fixed iptables rules are restored on every
 * sync, as kube-proxy does. Real kube-proxy walks every service on every sync, but for an unchanged service it only
 * reads (GetVirtualServer/GetRealServers) and writes nothing, so diffing the changed keys gives the same writes.
 */
import { createHash } from 'node:crypto';
import type {
  Backend,
  EndpointInfo,
  ProxyNodeConfig,
  LookupResult,
  Packet,
  Protocol,
  ProxySnapshot,
  RenderedRuleset,
  ServicePortInfo,
  Rng,
  Seconds,
  SyncRequest,
  SyncResult,
} from '../../types.js';
import {
  DEFAULT_TIMEOUTS,
  destId,
  destKey,
  IpvsKernel,
  type RealServer,
  type SvcTableMode,
  type Timeouts,
  type VirtualService,
} from './kernel.js';
import { IpsetStore, SET, type IpsetType } from './ipset.js';
import { PROTO_NUM } from '../../netfilter/rule.js';
import { PacketWalker, V_DROP, V_REJECT } from '../../netfilter/walk.js';
import type { Table } from '../../netfilter/table.js';
import { buildRules, ipsetMatcher, KUBE_CHAINS, type IpvsRules } from './iptables.js';
import type { IpvsLookupCounts, IpvsSizeCounts, IpvsSyncCounts } from './metrics.js';
import type { IpvsScheduler } from './options.js';
import { shouldSkipService } from '../../proxy/serviceport.js';
import { desiredService, nodePortIPs, type DesiredContext, type DesiredService, type DesiredVirtualServer } from './desired.js';
import { ipv4ToUint } from '../../net/ipv4.js';
import { addrInt } from './kernel.js';

export interface IpvsBackendOptions {
  node: ProxyNodeConfig;
  /** --ipvs-scheduler [rr]. */
  scheduler?: IpvsScheduler;
  /**
   * The kernel's virtual-service table: 'fixed256' (default: every released kernel through 7.0, 256 buckets, a
   * lookup walks its bucket chain) or 'resizable' (the 2026 resizable table: one probe per lookup).
   */
  svcTable?: SvcTableMode;
  /** IPVS protocol timeouts that keep closed connections counted as inactive. */
  timeouts?: Partial<Timeouts>;
  /** Interface index printed by `ip addr show kube-ipvs0` [3: lo, the node NIC, then kube-ipvs0]. */
  ifindex?: number;
}

/** The counted work of a sync in detail. Every field is a count (or bytes). */
export interface IpvsSyncDetail {
  virtualServersAdded: number;
  virtualServersUpdated: number;
  virtualServersDeleted: number;
  realServersAdded: number;
  realServersUpdated: number;
  realServersDeleted: number;
  ipsetEntriesAdded: number;
  ipsetEntriesDeleted: number;
  addressesAdded: number;
  addressesDeleted: number;
  /** Bytes of the iptables-restore input. */
  restoreBytes: number;
  /** Estimated bytes of the IPVS and rtnetlink requests (see `netlinkBytes`). */
  netlinkBytes: number;
  /** Estimated bytes of the ipset (nfnetlink) requests. */
  ipsetBytes: number;
  /** Rules kube-proxy inserted into built-in chains with `iptables -I` (first sync only). */
  jumpRulesInserted: number;
  /**
   * Netlink reads kube-proxy makes although nothing changed: GetVirtualServer twice and GetRealServers once for
   * every virtual server, plus the service dump and two address dumps. O(services) on every sync.
   */
  netlinkReads: number;
  /** `ipset list` calls (one per set, every sync) and the entries they return. */
  ipsetListCalls: number;
  ipsetEntriesListed: number;
  /** ipset entry adds the kernel refused in this sync (set full, "Hash is full"), retries included. */
  ipsetAddErrors: number;
  /** Real servers waiting in the graceful-termination list after the sync. */
  gracefulPending: number;
}

export type IpvsSyncResult = SyncResult & { counts: IpvsSyncCounts; detail: IpvsSyncDetail };

// ---------------------------------------------------------------------------------------------
// Request size estimates
// ---------------------------------------------------------------------------------------------

const NLMSG_HDR = 16;
const GENL_HDR = 4;
const align4 = (n: number): number => (n + 3) & ~3;
/** One netlink attribute with a payload of `len` bytes. */
const attr = (len: number): number => align4(4 + len);

/**
 * IPVS_CMD_ATTR_SERVICE as moby/ipvs (used by kube-proxy) fills it: af(u16), protocol(u16), addr(4), port(2),
 * sched name (NUL-terminated), flags(8), timeout(u32), netmask(u32): 72 bytes for "rr".
 */
export function serviceAttrBytes(scheduler: IpvsScheduler): number {
  return 4 + attr(2) + attr(2) + attr(4) + attr(2) + attr(scheduler.length + 1) + attr(8) + attr(4) + attr(4);
}

/** IPVS_CMD_ATTR_DEST: addr(4), port(2), forwarding method(u32), weight(u32), upper and lower threshold(u32): 52 bytes. */
export const DEST_ATTR_BYTES = 4 + attr(4) + attr(2) + attr(4) + attr(4) + attr(4) + attr(4);

/** NEW/SET/DEL_SERVICE: 92 bytes for "rr". */
export function serviceMsgBytes(scheduler: IpvsScheduler): number {
  return NLMSG_HDR + GENL_HDR + serviceAttrBytes(scheduler);
}

/** NEW/SET/DEL_DEST carry the service attribute and the destination attribute: 144 bytes for "rr". */
export function destMsgBytes(scheduler: IpvsScheduler): number {
  return NLMSG_HDR + GENL_HDR + serviceAttrBytes(scheduler) + DEST_ATTR_BYTES;
}

/** RTM_NEWADDR / RTM_DELADDR of a /32: nlmsghdr, ifaddrmsg (8), IFA_LOCAL and IFA_ADDRESS: 40 bytes. */
export const ADDRESS_MSG_BYTES = NLMSG_HDR + 8 + attr(4) + attr(4);

/**
 * IPSET_CMD_ADD / IPSET_CMD_DEL as the ipset tool sends it: nlmsghdr, nfgenmsg (4), protocol (u8), set name,
 * and the data nest (nested IPv4 addresses of 12 bytes, port 8, protocol 8, cidr 8).
 */
export function ipsetMsgBytes(setName: string, type: IpsetType): number {
  const ip = 4 + attr(4);
  let data = 4;
  switch (type) {
    case 'hash:ip':
      data += ip;
      break;
    case 'hash:ip,port':
      data += ip + attr(2) + attr(1);
      break;
    case 'hash:ip,port,ip':
      data += ip + attr(2) + attr(1) + ip;
      break;
    case 'hash:ip,port,net':
      data += ip + attr(2) + attr(1) + ip + attr(1);
      break;
    case 'bitmap:port':
      data += attr(2);
      break;
  }
  return NLMSG_HDR + 4 + attr(1) + attr(setName.length + 1) + data;
}

// ---------------------------------------------------------------------------------------------

function lookupResult(
  verdict: LookupResult['verdict'],
  serviceKey: string,
  endpoint: LookupResult['endpoint'],
  masquerade: boolean,
  w: PacketWalker,
  probes: number,
): LookupResult & { counts: IpvsLookupCounts } {
  return {
    verdict,
    endpoint,
    serviceKey,
    masquerade,
    counts: { rules_evaluated: w.rules, hash_probes: probes, set_lookups: w.setTests } satisfies IpvsLookupCounts,
  };
}

interface OpenConn {
  vs: VirtualService;
  dest: RealServer;
}

function emptyDetail(): IpvsSyncDetail {
  return {
    virtualServersAdded: 0,
    virtualServersUpdated: 0,
    virtualServersDeleted: 0,
    realServersAdded: 0,
    realServersUpdated: 0,
    realServersDeleted: 0,
    ipsetEntriesAdded: 0,
    ipsetEntriesDeleted: 0,
    addressesAdded: 0,
    addressesDeleted: 0,
    restoreBytes: 0,
    netlinkBytes: 0,
    ipsetBytes: 0,
    jumpRulesInserted: 0,
    netlinkReads: 0,
    ipsetListCalls: 0,
    ipsetEntriesListed: 0,
    ipsetAddErrors: 0,
    gracefulPending: 0,
  };
}

/**
 * The counts of a sync (restored: the fixed iptables rules were restored, `rulesWritten` of them) or of a
 * housekeeping pass (not restored).
 */
function syncCounts(d: IpvsSyncDetail, rulesWritten: number, rulesInKernel: number, restored: boolean): IpvsSyncCounts {
  const ipvsOps =
    d.virtualServersAdded +
    d.virtualServersUpdated +
    d.virtualServersDeleted +
    d.realServersAdded +
    d.realServersUpdated +
    d.realServersDeleted;
  const ipsetOps = d.ipsetEntriesAdded + d.ipsetEntriesDeleted;
  const addressOps = d.addressesAdded + d.addressesDeleted;
  return {
    rules_written: rulesWritten,
    bytes_written: (restored ? d.restoreBytes : 0) + d.netlinkBytes + d.ipsetBytes,
    chains_written: restored ? KUBE_CHAINS.length : 0,
    rules_in_kernel: rulesInKernel,
    restores: restored ? 1 : 0,
    operations: ipvsOps + ipsetOps + addressOps,
    ipvs_operations: ipvsOps,
    ipset_operations: ipsetOps,
    address_operations: addressOps,
    virtual_servers_added: d.virtualServersAdded,
    virtual_servers_updated: d.virtualServersUpdated,
    virtual_servers_deleted: d.virtualServersDeleted,
    real_servers_added: d.realServersAdded,
    real_servers_updated: d.realServersUpdated,
    real_servers_deleted: d.realServersDeleted,
    ipset_entries_added: d.ipsetEntriesAdded,
    ipset_entries_deleted: d.ipsetEntriesDeleted,
    addresses_added: d.addressesAdded,
    addresses_deleted: d.addressesDeleted,
    restore_bytes: d.restoreBytes,
    netlink_bytes: d.netlinkBytes,
    ipset_bytes: d.ipsetBytes,
    jump_rules_inserted: d.jumpRulesInserted,
    netlink_reads: d.netlinkReads,
    ipset_list_calls: d.ipsetListCalls,
    ipset_add_errors: d.ipsetAddErrors,
    ipset_entries_listed: d.ipsetEntriesListed,
    graceful_pending: d.gracefulPending,
  };
}

/** Desired states shared by the proxiers of the process, by endpoint list (see desiredOf). */
const sharedDesired = new WeakMap<readonly EndpointInfo[], Map<string, { info: ServicePortInfo; desired: DesiredService }>>();

/** The shared desired states, and the templates of their new virtual servers (see IpvsKernel.template). */
const sharedDesiredStates = new WeakSet<DesiredService>();
const sharedTemplates = new WeakMap<DesiredVirtualServer, VirtualService | null>();

export class IpvsProxier implements Backend {
  readonly kind = 'ipvs' as const;
  readonly kernel: IpvsKernel;
  readonly sets: IpsetStore;
  readonly scheduler: IpvsScheduler;
  /** kube-ipvs0 addresses (insertion order = kernel order) with the number of virtual servers binding each. */
  private readonly addrs = new Map<string, number>();
  private readonly addrInts = new Set<number>();
  private readonly desired = new Map<string, DesiredService>();
  /** Service ports that program each virtual server. */
  private readonly vsOwners = new Map<string, string[]>();
  /** GracefulTerminationManager's list: "vsKey/IP:port" -> real server waiting for its connections to end. */
  private readonly graceful = new Map<string, OpenConn>();
  private readonly lbNoNodeAccess = new Map<string, DesiredService['lbNoNodeAccess']>();
  private readonly ctx: DesiredContext;
  /** With ProxyNodeConfig.shared: what a shared desired state depends on besides the service port and endpoints. */
  private readonly sharedKey: string | null;
  private readonly nodeIPSet: ReadonlySet<string>;
  private readonly nodeIPInts: ReadonlySet<number>;
  private ruleSet: IpvsRules;
  private restoreText = '';
  private clock: Seconds = 0;
  private synced = false;
  private readonly ifindex: number;
  /** The IPv6 proxier (ProxyNodeConfig.ipFamily): inet6 sets, IPv6 virtual servers; rendered, not walked. */
  private readonly v6: boolean;

  constructor(readonly opts: IpvsBackendOptions) {
    this.scheduler = opts.scheduler ?? 'rr';
    this.kernel = new IpvsKernel(opts.svcTable ?? 'fixed256', { ...DEFAULT_TIMEOUTS, ...opts.timeouts });
    this.nodeIPSet = new Set(opts.node.nodeIPs);
    this.v6 = opts.node.ipFamily === 'IPv6';
    this.sets = new IpsetStore(this.v6 ? 'inet6' : 'inet');
    this.walker = new PacketWalker(this.isLocal, ipsetMatcher(this.sets));
    this.nodeIPInts = new Set(opts.node.nodeIPs.map(addrInt));
    this.ctx = {
      node: opts.node,
      scheduler: this.scheduler,
      nodePortIPs: nodePortIPs(opts.node),
      nodeAddresses: this.nodeIPSet,
    };
    this.ifindex = opts.ifindex ?? 3;
    this.sharedKey = opts.node.shared === true ? `${this.scheduler}|${this.v6 ? 'IPv6' : 'IPv4'}` : null;
    this.ruleSet = this.rebuildRules();
  }

  private rebuildRules(): IpvsRules {
    const lb: DesiredService['lbNoNodeAccess'] = [];
    for (const k of [...this.lbNoNodeAccess.keys()].sort()) for (const e of this.lbNoNodeAccess.get(k)!) lb.push(e);
    this.ruleSet = buildRules(this.opts.node, { sets: this.sets, lbNoNodeAccess: lb });
    this.restoreText = this.ruleSet.restoreInput();
    return this.ruleSet;
  }

  // ---- sync ----

  sync(req: SyncRequest): IpvsSyncResult {
    if (req.now > this.clock) this.clock = req.now;
    const d = emptyDetail();
    const full = !this.synced;
    let keys: string[];
    if (full) {
      const all = new Set<string>(req.snapshot.services.keys());
      for (const k of this.desired.keys()) all.add(k);
      keys = [...all].sort();
      d.jumpRulesInserted = 9;
    } else {
      keys = [...req.changed].sort();
    }
    const errorsBefore = this.sets.addErrors();
    // entries a full set refused in an earlier sync are tried again first, as kube-proxy's syncIPSetEntries does
    d.ipsetEntriesAdded += this.sets.retryMissing();
    for (const k of keys) this.syncKey(k, req.snapshot, d);
    d.ipsetAddErrors = this.sets.addErrors() - errorsBefore;
    this.synced = true;

    this.rebuildRules();
    d.restoreBytes = Buffer.byteLength(this.restoreText);
    d.netlinkReads = 3 * this.kernel.services.size + 3;
    d.ipsetListCalls = this.sets.sets.size;
    d.ipsetEntriesListed = this.sets.totalEntries();
    d.gracefulPending = this.graceful.size;
    return { mode: full ? 'full' : 'partial', counts: syncCounts(d, this.ruleSet.rules.length, this.ruleSet.ruleCount, true), detail: d };
  }

  private syncKey(key: string, snap: ProxySnapshot, d: IpvsSyncDetail): void {
    const old = this.desired.get(key);
    const svc = snap.services.get(key);
    const neu =
      svc !== undefined && !shouldSkipService(svc, this.v6 ? 'IPv6' : 'IPv4')
        ? this.desiredOf(svc, snap.endpoints.get(key) ?? [])
        : undefined;

    // ipset entries: take the new references before dropping the old ones, so an entry wanted before and after
    // costs nothing
    if (neu) {
      for (const [name, e] of neu.entries) {
        const set = this.sets.get(name);
        if (set.ref(e)) {
          d.ipsetEntriesAdded++;
          d.ipsetBytes += ipsetMsgBytes(name, set.info.type);
        }
      }
    }
    if (old) {
      for (const [name, e] of old.entries) {
        const set = this.sets.get(name);
        if (set.unref(e)) {
          d.ipsetEntriesDeleted++;
          d.ipsetBytes += ipsetMsgBytes(name, set.info.type);
        }
      }
    }

    // virtual servers, addresses, real servers
    const oldKeys = old === undefined ? null : new Set(old.virtualServers.map((v) => v.key));
    const newKeys = old === undefined ? null : new Set<string>();
    if (neu) {
      for (const v of neu.virtualServers) {
        newKeys?.add(v.key);
        if (oldKeys === null || !oldKeys.has(v.key)) {
          const owners = this.vsOwners.get(v.key);
          if (owners === undefined) this.vsOwners.set(v.key, [key]);
          else if (!owners.includes(key)) owners.push(key);
        }
        let kv = this.kernel.services.get(v.key);
        const tpl = kv === undefined ? this.templateOf(v, neu) : null;
        if (tpl !== null) {
          // a new service as every identical node programs it: the shared template's copy, the same requests
          kv = this.kernel.adopt(tpl);
          d.virtualServersAdded++;
          d.netlinkBytes += serviceMsgBytes(neu.scheduler);
          d.realServersAdded += tpl.dests.length;
          d.netlinkBytes += tpl.dests.length * destMsgBytes(tpl.scheduler);
          if (v.bind) this.addrRef(v.ip, d);
          continue;
        }
        if (kv === undefined) {
          kv = this.kernel.addService(v.protocol, v.ip, v.port, neu.scheduler, neu.flags, neu.timeout, v.key);
          d.virtualServersAdded++;
          d.netlinkBytes += serviceMsgBytes(neu.scheduler);
        } else if (kv.scheduler !== neu.scheduler || kv.flags !== neu.flags || kv.timeout !== neu.timeout) {
          kv = this.kernel.own(kv);
          this.kernel.updateService(kv, neu.scheduler, neu.flags, neu.timeout);
          d.virtualServersUpdated++;
          d.netlinkBytes += serviceMsgBytes(neu.scheduler);
        }
        if (v.bind) this.addrRef(v.ip, d);
        this.syncDests(kv, v.dests, d);
      }
    }
    if (old) {
      for (const v of old.virtualServers) {
        if (v.bind) this.addrUnref(v.ip, d);
        if (newKeys!.has(v.key)) continue;
        const owners = this.vsOwners.get(v.key);
        if (owners !== undefined) {
          const i = owners.indexOf(key);
          if (i >= 0) owners.splice(i, 1);
          if (owners.length > 0) continue;
          this.vsOwners.delete(v.key);
        }
        const kv = this.kernel.services.get(v.key);
        if (kv === undefined) continue;
        // cleanLegacyService: the service goes, with every real server in it
        this.kernel.deleteService(kv);
        d.virtualServersDeleted++;
        d.netlinkBytes += serviceMsgBytes(kv.scheduler);
        for (const dest of kv.dests) this.graceful.delete(`${kv.key}/${destKey(dest.ip, dest.port)}`);
      }
    }

    if (neu) this.desired.set(key, neu);
    else this.desired.delete(key);
    if (neu && neu.lbNoNodeAccess.length > 0) this.lbNoNodeAccess.set(key, neu.lbNoNodeAccess);
    else this.lbNoNodeAccess.delete(key);
  }

  /**
   * A service port's desired state. With ProxyNodeConfig.shared, a ClusterIP-only port's (no node port, external
   * or load-balancer IP: nothing that depends on the node's addresses) is shared with the other proxiers of the
   * process with the same scheduler and family: it depends only on the port and its endpoint list (one object
   * for every node with no endpoint of the service, src/proxy/tracker.ts).
   */
  private desiredOf(svc: ServicePortInfo, eps: readonly EndpointInfo[]): DesiredService {
    if (this.sharedKey === null || svc.nodePort !== 0 || svc.externalIPs.length > 0 || svc.loadBalancerIPs.length > 0)
      return desiredService(this.ctx, svc, eps);
    let byKey = sharedDesired.get(eps);
    if (byKey === undefined) sharedDesired.set(eps, (byKey = new Map()));
    const k = `${svc.key}\n${this.sharedKey}`;
    const have = byKey.get(k);
    if (have !== undefined && have.info === svc) return have.desired;
    const desired = desiredService(this.ctx, svc, eps);
    byKey.set(k, { info: svc, desired });
    sharedDesiredStates.add(desired);
    return desired;
  }

  /** The shared template of a new virtual server of a shared desired state (see desiredOf), or null. */
  private templateOf(v: DesiredVirtualServer, neu: DesiredService): VirtualService | null {
    if (!sharedDesiredStates.has(neu)) return null;
    let tpl = sharedTemplates.get(v);
    if (tpl === undefined) {
      tpl = IpvsKernel.template((k) => k.addService(v.protocol, v.ip, v.port, neu.scheduler, neu.flags, neu.timeout, v.key), v.dests);
      sharedTemplates.set(v, tpl);
    }
    return tpl;
  }

  private addrRef(ip: string, d: IpvsSyncDetail): void {
    const n = this.addrs.get(ip) ?? 0;
    this.addrs.set(ip, n + 1);
    if (n === 0) {
      this.addrInts.add(addrInt(ip));
      d.addressesAdded++;
      d.netlinkBytes += ADDRESS_MSG_BYTES;
    }
  }

  private addrUnref(ip: string, d: IpvsSyncDetail): void {
    const n = this.addrs.get(ip);
    if (n === undefined) return;
    if (n > 1) {
      this.addrs.set(ip, n - 1);
      return;
    }
    this.addrs.delete(ip);
    this.addrInts.delete(addrInt(ip));
    d.addressesDeleted++;
    d.netlinkBytes += ADDRESS_MSG_BYTES;
  }

  /** syncEndpoint: add the wanted real servers, gracefully delete the others. */
  private syncDests(kv: VirtualService, dests: readonly EndpointInfo[], d: IpvsSyncDetail): void {
    if (kv.shared) {
      // (a shared service's destinations all have weight 1: nothing changes when they are the wanted ones)
      if (
        kv.dests.length === dests.length &&
        dests.every((ep) => this.kernel.findDest(kv, destId(ep.ip, addrInt(ep.ip), ep.port)) !== undefined)
      )
        return;
      kv = this.kernel.own(kv);
    }
    const msg = destMsgBytes(kv.scheduler);
    for (const ep of dests) {
      const ipInt = addrInt(ep.ip);
      const cur = this.kernel.findDest(kv, destId(ep.ip, ipInt, ep.port));
      if (cur !== undefined) {
        // (only a destination in the graceful-termination list has weight 0)
        if (cur.weight !== 0) continue;
        const gk = `${kv.key}/${destKey(ep.ip, ep.port)}`;
        if (!this.graceful.has(gk)) continue;
        // back while still terminating: MoveRSOutofGracefulDeleteList deletes it, then it is added again with
        // weight 1 (the kernel takes the same destination, counters and all, out of its trash)
        this.graceful.delete(gk);
        this.kernel.deleteDest(kv, cur);
        d.realServersDeleted++;
        this.kernel.addDest(kv, cur.ip, cur.port, 1, cur);
        d.realServersAdded++;
        d.netlinkBytes += 2 * msg;
        continue;
      }
      this.kernel.addDest(kv, ep.ip, ep.port, 1);
      d.realServersAdded++;
      d.netlinkBytes += msg;
    }
    // every wanted destination is there now; nothing else is when the counts agree
    if (kv.dests.length === dests.length) return;
    const want = new Set(dests.map((e) => destId(e.ip, addrInt(e.ip), e.port)));
    const gone = kv.dests
      .filter((x) => !want.has(destId(x.ip, x.ipInt, x.port)))
      .sort((a, b) => (destKey(a.ip, a.port) < destKey(b.ip, b.port) ? -1 : 1));
    for (const dest of gone) {
      const gk = `${kv.key}/${destKey(dest.ip, dest.port)}`;
      if (this.graceful.has(gk)) continue;
      // GracefulDeleteRS: delete at once when nothing is connected (or the service is UDP), else weight 0 and wait
      this.kernel.expire(dest, this.clock);
      if (kv.protocol === 'UDP' || dest.activeConns + dest.inactiveConns === 0) {
        this.kernel.deleteDest(kv, dest);
        d.realServersDeleted++;
      } else {
        this.kernel.updateDest(kv, dest, 0);
        d.realServersUpdated++;
        this.graceful.set(gk, { vs: kv, dest });
      }
      d.netlinkBytes += msg;
    }
  }

  /** The graceful-termination manager's periodic pass (kube-proxy: every minute). */
  housekeeping(now: Seconds): IpvsSyncResult | null {
    if (now > this.clock) this.clock = now;
    if (this.graceful.size === 0) return null;
    const d = emptyDetail();
    for (const [gk, { vs, dest }] of [...this.graceful]) {
      if (this.kernel.services.get(vs.key) !== vs || this.kernel.findDest(vs, destId(dest.ip, dest.ipInt, dest.port)) !== dest) {
        this.graceful.delete(gk);
        continue;
      }
      d.netlinkReads++;
      this.kernel.expire(dest, this.clock);
      if (vs.protocol === 'UDP' || dest.activeConns + dest.inactiveConns === 0) {
        this.kernel.deleteDest(vs, dest);
        this.graceful.delete(gk);
        d.realServersDeleted++;
        d.netlinkBytes += destMsgBytes(vs.scheduler);
      }
    }
    d.gracefulPending = this.graceful.size;
    if (d.realServersDeleted === 0) return null;
    return { mode: 'partial', counts: syncCounts(d, 0, this.ruleSet.ruleCount, false), detail: d };
  }

  /** Real servers waiting in the graceful-termination list. */
  gracefulPending(): number {
    return this.graceful.size;
  }

  // ---- connections ----

  /**
   * A connection the harness opened through lookup() ended. The conntrack entry names the service port and the
   * endpoint, not the virtual server, so the first virtual server of the service port (cluster IP, external IPs,
   * load-balancer IPs, node ports) whose real server for that endpoint still has a connection of that kind open
   * is credited. The kernel then keeps the connection as inactive until its protocol timeout (TCP/SCTP
   * FIN_WAIT/TIME_WAIT 120 s, UDP 300 s).
   */
  connectionClosed(endpoint: { ip: string; port: number }, serviceKey: string, protocol: Protocol): void {
    const want = this.desired.get(serviceKey);
    if (want === undefined) return;
    const ek = destId(endpoint.ip, addrInt(endpoint.ip), endpoint.port);
    for (const v of want.virtualServers) {
      if (v.protocol !== protocol) continue;
      const kv = this.kernel.services.get(v.key);
      const d = kv === undefined ? undefined : this.kernel.findDest(kv, ek);
      if (kv === undefined || d === undefined) continue;
      if (protocol === 'UDP' ? d.inactiveOpen > 0 : d.activeConns > 0) {
        const mine = this.kernel.own(kv);
        this.kernel.connClosed(mine, this.kernel.findDest(mine, ek)!, this.clock);
        return;
      }
    }
  }

  // ---- lookup ----

  private isLocal = (ipInt: number): boolean => this.nodeIPInts.has(ipInt) || this.addrInts.has(ipInt) || ipInt >>> 24 === 127;

  private readonly walker: PacketWalker;

  /** Walks one built-in chain; returns 'DROP' / 'REJECT' when the packet ends there, '' otherwise. */
  private hook(t: Table, chain: string): '' | 'DROP' | 'REJECT' {
    const v = this.walker.walk(t.chain(chain));
    return v === V_DROP ? 'DROP' : v === V_REJECT ? 'REJECT' : '';
  }

  /** Walks nat POSTROUTING; true when KUBE-POSTROUTING masqueraded the packet. */
  private masquerades(nat: Table): boolean {
    this.walker.walk(nat.chain('POSTROUTING'));
    return this.walker.masq;
  }

  /**
   * The first packet of a connection, through the netfilter hooks in order:
   * - from a pod or the network: nat PREROUTING; if the destination is local (a node IP or a kube-ipvs0 address)
   *   filter INPUT, then IPVS at LOCAL_IN (ip_vs_out_hook: one connection-table probe; ip_vs_in_hook: one
   *   connection-table probe, the service-table lookup, a persistence-template probe for ClientIP affinity);
   *   otherwise IPVS's FORWARD hook (one probe) and filter FORWARD;
   * - from a local process: nat OUTPUT, IPVS at LOCAL_OUT (same probes);
   * - a packet IPVS NATs leaves through filter OUTPUT (KUBE-IPVS-OUT-FILTER) and nat POSTROUTING (masquerade).
   * Verdicts: DNAT to the scheduled real server; REJECT when the virtual server has no usable real server (IPVS
   * ip_vs_leave() answers ICMP port unreachable and drops) or when KUBE-IPVS-FILTER rejects a kube-ipvs0 address on
   * a port that is no service; DROP from KUBE-SOURCE-RANGES-FIREWALL / KUBE-IPVS-OUT-FILTER; PASS otherwise.
   */
  lookup(pkt: Packet, rng: Rng, now: Seconds): LookupResult & { counts: IpvsLookupCounts } {
    // the IPv6 proxier's ipsets have no membership tests and its service table keys addresses by their hash fold
    if (this.v6) throw new Error('first packets through the IPv6 IPVS proxier are not modelled (it renders only)');
    if (now > this.clock) this.clock = now;
    const { nat, filter } = this.ruleSet;
    const w = this.walker;
    let probes = 0;
    // A local process connecting to an address on kube-ipvs0 gets that address as its source: the local route
    // (`local VIP dev kube-ipvs0 ... src VIP`) selects it. This is why kube-proxy masquerades "src,dst" traffic
    // without a local detector, and why KUBE-IPVS-OUT-FILTER matches `-s LB-IP`.
    const dstInt = ipv4ToUint(pkt.dstIP);
    const srcInt = pkt.local && this.addrInts.has(dstInt) ? dstInt : ipv4ToUint(pkt.srcIP);
    w.begin(srcInt, dstInt, PROTO_NUM[pkt.protocol.toLowerCase()] ?? 0, pkt.dstPort, rng, now);

    if (!pkt.local) {
      this.hook(nat, 'PREROUTING');
      if (!this.isLocal(dstInt)) {
        probes += 1; // ip_vs_out_hook at FORWARD
        const fv = this.hook(filter, 'FORWARD');
        if (fv === 'DROP' || fv === 'REJECT') return lookupResult(fv, '', null, false, w, probes);
        return lookupResult('PASS', '', null, this.masquerades(nat), w, probes);
      }
      const iv = this.hook(filter, 'INPUT');
      if (iv === 'DROP' || iv === 'REJECT') return lookupResult(iv, '', null, false, w, probes);
    } else {
      this.hook(nat, 'OUTPUT');
    }

    probes += 2; // ip_vs_out_hook and ip_vs_in_hook look the connection up (a miss for a first packet)
    const found = this.kernel.findService(pkt.protocol, dstInt, pkt.dstPort);
    probes += found.probes;
    // (scheduling changes the service: this kernel's own copy of a shared one)
    const vs = found.vs === null ? null : this.kernel.own(found.vs);
    if (vs === null) {
      if (!pkt.local) return lookupResult('PASS', '', null, false, w, probes);
      const ov = this.hook(filter, 'OUTPUT');
      if (ov === 'DROP' || ov === 'REJECT') return lookupResult(ov, '', null, false, w, probes);
      const masq = this.masquerades(nat);
      if (this.isLocal(dstInt)) {
        // delivered over lo: filter INPUT sees it
        const iv = this.hook(filter, 'INPUT');
        if (iv === 'DROP' || iv === 'REJECT') return lookupResult(iv, '', null, false, w, probes);
      }
      return lookupResult('PASS', '', null, masq, w, probes);
    }
    const serviceKey = this.vsOwners.get(vs.key)?.[0] ?? '';
    const sch = this.kernel.schedule(vs, srcInt, vs.ipInt, this.clock);
    probes += sch.templateProbes;
    const dest = sch.dest;
    if (dest === null) return lookupResult('REJECT', serviceKey, null, false, w, probes);

    w.dst = dest.ipInt;
    w.dport = dest.port;
    w.ipvs = true;
    w.ipvsAddr = vs.ipInt | 0; // int32, as the netfilter model holds addresses
    w.ipvsPort = vs.port;
    w.ipvsProto = PROTO_NUM[vs.protocol.toLowerCase()] ?? 0;
    const ov = this.hook(filter, 'OUTPUT');
    if (ov === 'DROP' || ov === 'REJECT') return lookupResult(ov, serviceKey, null, false, w, probes);
    const masq = this.masquerades(nat);
    this.kernel.connOpened(vs, dest);
    return lookupResult('DNAT', serviceKey, { ip: dest.ip, port: dest.port }, masq, w, probes);
  }

  // ---- inspection ----

  render(): RenderedRuleset {
    return {
      'ipvsadm -S -n': this.kernel.renderSave(),
      'ipset save': this.sets.save(),
      'iptables-save': this.ruleSet.save(),
      'ip addr show kube-ipvs0': this.renderInterface(),
    };
  }

  /** The iptables-restore input of the last sync (what kube-proxy pipes to `iptables-restore --noflush --counters`). */
  lastRestoreInput(): string {
    return this.restoreText;
  }

  /** kube-ipvs0, a dummy device that is never brought up, as iproute2 prints it. */
  private renderInterface(): string {
    const h = createHash('sha256').update(`kube-ipvs0/${this.opts.node.nodeName}`).digest();
    const mac = [(h[0]! & 0xfe) | 0x02, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!].map((b) => b.toString(16).padStart(2, '0')).join(':');
    const lines = [
      `${this.ifindex}: kube-ipvs0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default qlen 1000`,
      `    link/ether ${mac} brd ff:ff:ff:ff:ff:ff`,
    ];
    // iproute2 lists IPv4 addresses in the order they were added; an IPv6 address is linked at the head of the
    // device's list (ipv6_link_dev_addr, equal scope), so IPv6 addresses print newest first
    const addrs = [...this.addrs.keys()];
    for (const ip of addrs.filter((a) => !a.includes(':')))
      lines.push(`    inet ${ip}/32 scope global kube-ipvs0`, '       valid_lft forever preferred_lft forever');
    for (const ip of addrs.filter((a) => a.includes(':')).reverse())
      lines.push(`    inet6 ${ip}/128 scope global `, '       valid_lft forever preferred_lft forever');
    return lines.join('\n') + '\n';
  }

  /** Addresses on kube-ipvs0, in kernel order. */
  addresses(): string[] {
    return [...this.addrs.keys()];
  }

  size(): IpvsSizeCounts {
    return {
      iptables_rules: this.ruleSet.ruleCount,
      iptables_chains: KUBE_CHAINS.length,
      ipvs_virtual_servers: this.kernel.services.size,
      ipvs_real_servers: this.kernel.realServerCount,
      ipset_entries: this.sets.totalEntries(),
    };
  }
}

export { SET };
