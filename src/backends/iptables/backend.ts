/**
 * The iptables data plane: kube-proxy's iptables proxier (syncProxyRules with MinimizeIPTablesRestore) over a
 * modelled kernel ruleset (nat + filter), and a netfilter-like walk of that ruleset for first packets.
 */
import type {
  Backend,
  LookupResult,
  Packet,
  ProxyNodeConfig,
  ProxySnapshot,
  RenderedRuleset,
  ServicePortInfo,
  EndpointInfo,
  Rng,
  Seconds,
  SyncRequest,
  SyncResult,
} from '../../types.js';
import { formatIPv4, parseCidr4, parseIPv4 } from '../../net/ipv4.js';
import { cidrContainsIP, ipv6Words, parseCIDRSloppy, parseIPSloppy, words6Match, type IPFamily, type Words6 } from '../../net/ip.js';
import { shouldSkipService } from '../../proxy/serviceport.js';
import type { IptablesLookupCounts, IptablesSizeCounts, IptablesSyncCounts } from './metrics.js';
import { goHex08 } from './names.js';
import {
  buildFixedRules,
  buildServiceEntry,
  FixedChains,
  LARGE_CLUSTER_ENDPOINTS_THRESHOLD,
  writeOrder,
  type FixedRules,
  type ProxierConfig,
  type ServiceEntry,
} from './proxier.js';
import { buildEraServiceEntry } from './eras.js';
import { profileFacts, type KubeProxyProfile, type ProfileFacts } from './profiles.js';
import { type Chain, CT_DNAT, PROTO_NUM, type Rule, RuleBuilder, type TableName } from '../../netfilter/rule.js';
import { chainLine, saveTable } from '../../netfilter/save.js';
import { saveOrder } from '../../netfilter/table.js';
import { PacketWalker, RECENT_LIST_MAX, V_DROP, V_REJECT } from '../../netfilter/walk.js';

export { RECENT_LIST_MAX };

/** kube-proxy's proxyutil.FullSyncPeriod: a partial-restore proxier still rewrites everything this often. */
export const FULL_SYNC_PERIOD: Seconds = 3600;

/** Options of the iptables backend (kube-proxy flags and host facts; defaults in brackets). */
export interface IptablesBackendOptions {
  node: ProxyNodeConfig;
  /**
   * How the rules reach the kernel [restore-minimized]: 'restore-minimized' (MinimizeIPTablesRestore, v1.28+: only
   * changed services' chains), 'restore-full' (every sync rewrites everything, before v1.26), or 'cli-per-rule'
   * (one `iptables` process per chain or rule change, each reading the whole table and writing it back with legacy
   * iptables; the kernel ends the same as with restore-full, and the work is counted as `cli_processes` and
   * `cli_table_rules`).
   */
  writeMethod?: WriteMethod;
  /** The kube-proxy release whose rule layout is written ['current']; older ones never restore partially. */
  profile?: KubeProxyProfile;
  /** --iptables-localhost-nodeports [true]; forced off when --nodeport-addresses excludes 127.0.0.1. */
  localhostNodePorts?: boolean;
  /** The host has nfacct (kube-proxy then counts INVALID drops and localhost NodePorts) [true]. */
  nfacct?: boolean;
  /** iptables supports MASQUERADE --random-fully (any iptables >= 1.6.2) [true]. */
  randomFully?: boolean;
  /** net.netfilter.nf_conntrack_tcp_be_liberal is set (no INVALID drop rule) [false]. */
  conntrackTCPLiberal?: boolean;
  /** --iptables-sync-period [30 s]: in large-cluster mode stale chains are deleted at most this often. */
  syncPeriod?: Seconds;
  /**
   * The masquerade mark text. kube-proxy formats 1<<masqueradeBit with Go's "%#08x" ("0x00004000"); its unit
   * tests' fake proxier uses "0x4000".
   */
  masqueradeMark?: string;
}

export type WriteMethod = 'restore-minimized' | 'restore-full' | 'cli-per-rule';

interface RestorePlan {
  full: boolean;
  fixed: FixedRules;
  order: ServiceEntry[];
  written: Set<ServiceEntry>;
  deleted: string[];
}

function chainLineBytes(name: string): number {
  return Buffer.byteLength(chainLine(name)) + 1;
}

function rulesBytes(rules: readonly Rule[]): number {
  let n = 0;
  for (const r of rules) n += r.bytes + 1;
  return n;
}

function nsNameOfKey(key: string): string {
  const i = key.indexOf(':');
  return i < 0 ? key : key.slice(0, i);
}

function binarySearch(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Service-port entries shared by backends of the same configuration, by endpoint list (see buildShared). */
const sharedEntries = new WeakMap<readonly EndpointInfo[], Map<string, ServiceEntry>>();

export class IptablesBackend implements Backend {
  readonly kind = 'iptables' as const;
  config: ProxierConfig;
  /** The family this proxier writes (ProxyNodeConfig.ipFamily) [IPv4]. */
  readonly family: IPFamily;
  private readonly fx: FixedChains;
  private readonly fixed: FixedRules;
  private readonly restoreMode: 'full' | 'minimized';
  private readonly writeMethod: WriteMethod;
  private readonly facts: ProfileFacts;
  private readonly syncPeriod: Seconds;
  private readonly localIPs = new Set<number>();
  /** The IPv6 proxier's local addresses (node IPs, ::1) as words, for addrtype LOCAL. */
  private localIPs6: Words6[] = [];
  /** Whether the service rules keep their restore text (ProxyNodeConfig.renderable). */
  private readonly keepText: boolean;
  /** With ProxyNodeConfig.shared: what a service port's entry depends on besides its info and endpoints. */
  private sharedKey: string | null = null;

  private entries = new Map<string, ServiceEntry>();
  /** Service-port keys in KUBE-SERVICES order: sorted by key (code-unit order). */
  private orderKeys: string[] = [];
  private order: ServiceEntry[] = [];
  /** Chains no longer used but still in the kernel (large-cluster mode deletes them at most once per syncPeriod). */
  private readonly stale = new Map<string, Chain>();
  private synced = false;
  private needFullSync = true;
  private lastFullSync = Number.NEGATIVE_INFINITY;
  private lastCleanup = Number.NEGATIVE_INFINITY;
  private largeMode = false;
  private plan: RestorePlan | null = null;
  private kernelRules = 0;
  private kernelChains = 0;
  /**
   * kubelet's rules the old proxiers relied on (--iptables-drop-bit 15): nat KUBE-MARK-DROP sets the drop mark,
   * filter KUBE-FIREWALL drops marked packets, with kubelet's own comment (its kubelet_network.go of that time).
   */
  private readonly kubeletDropRules = {
    nat: [new RuleBuilder('KUBE-MARK-DROP').markTarget('or', goHex08(1 << 15))],
    filter: [
      new RuleBuilder('KUBE-FIREWALL')
        .comment('kubernetes firewall for dropping marked packets')
        .mark(goHex08(1 << 15))
        .verdict('DROP'),
    ],
  };
  /** The first-packet walk over this backend's chains (also holds the xt_recent lists). */
  private readonly walker = new PacketWalker(
    (addr) => this.isLocal(addr),
    null,
    (addr) => this.isLocal6(addr),
  );

  constructor(opts: IptablesBackendOptions) {
    const node = opts.node;
    this.family = node.ipFamily ?? 'IPv4';
    const profile = opts.profile ?? 'current';
    if (this.family === 'IPv6' && profile !== 'current')
      throw new RangeError(`the IPv6 ruleset is modelled for the current kube-proxy only (profile ${profile})`);
    this.facts = profileFacts(profile);
    this.fx = new FixedChains(profile);
    this.writeMethod = opts.writeMethod ?? 'restore-minimized';
    // only MinimizeIPTablesRestore restores partially; a per-rule writer changes what changed, counted separately
    this.restoreMode = this.writeMethod === 'restore-minimized' && this.facts.partialRestores ? 'minimized' : 'full';
    this.syncPeriod = opts.syncPeriod ?? 30;
    this.keepText = node.renderable ?? true;
    const nodeIPv4 = node.nodeIPs.map((s) => parseIPv4(s)).filter((n): n is number => n !== null);
    for (const n of nodeIPv4) this.localIPs.add(n);
    let localCIDR: string | null = null;
    if (node.localDetector === 'ClusterCIDR' && node.clusterCIDR.trim() !== '') localCIDR = node.clusterCIDR.trim();
    if (node.localDetector === 'NodeCIDR' && node.podCIDR.trim() !== '') localCIDR = node.podCIDR.trim();
    if (localCIDR !== null && parseCidr4(localCIDR) === null) localCIDR = null;
    // --nodeport-addresses: empty → every local address ("addrtype LOCAL"); "primary" → the primary node IP.
    const npa = node.nodePortAddresses.map((s) => s.trim()).filter((s) => s !== '');
    const matchAll = npa.length === 0;
    const cidrs = npa.flatMap((s) => {
      if (s === 'primary') return nodeIPv4.length > 0 ? [parseCidr4(`${formatIPv4(nodeIPv4[0]!)}/32`)!] : [];
      const c = parseCidr4(s);
      return c === null ? [] : [c];
    });
    const loopback = parseIPv4('127.0.0.1')!;
    const containsLoopback = matchAll || cidrs.some((c) => (loopback & c.mask) === c.addr);
    const localhostNodePorts = (opts.localhostNodePorts ?? true) && containsLoopback;
    const nodePortIPs: string[] = [];
    if (!matchAll) {
      for (const n of [...nodeIPv4, ...(localhostNodePorts ? [loopback] : [])]) {
        if (cidrs.some((c) => (n & c.mask) === c.addr) && !nodePortIPs.includes(formatIPv4(n))) nodePortIPs.push(formatIPv4(n));
      }
    }
    this.config = {
      nodeIP: nodeIPv4[0] ?? null,
      localCIDR,
      masqueradeAll: node.masqueradeAll,
      mark: opts.masqueradeMark ?? goHex08(1 << node.masqueradeBit),
      localhostNodePorts,
      nfacct: opts.nfacct ?? true,
      randomFully: opts.randomFully ?? true,
      conntrackTCPLiberal: opts.conntrackTCPLiberal ?? false,
      nodePortMatchAll: matchAll,
      nodePortIPs,
      profile,
    };
    if (this.family === 'IPv6') this.configureIPv6(node, opts);
    this.fixed = buildFixedRules(this.config, this.fx);
    // the node IP only matters to a service's rules through loadBalancerSourceRanges (those are never shared)
    if (node.shared === true) this.sharedKey = JSON.stringify({ ...this.config, nodeIP: null, keepText: this.keepText });
  }

  /**
   * A service port's entry, shared with the other backends of the process whose configuration is the same: the
   * entry depends only on the service port, its endpoint list (one object for every node with no endpoint of
   * the service, src/proxy/tracker.ts), that configuration and large-cluster mode. Its rules jump to
   * KUBE-MARK-MASQ of the backend that built it, a chain every such backend has with the same rules.
   */
  private buildShared(info: ServicePortInfo, eps: readonly EndpointInfo[], large: boolean, prev: ServiceEntry | undefined): ServiceEntry {
    if (this.sharedKey === null || info.loadBalancerSourceRanges.length > 0)
      return buildServiceEntry(info, eps, this.config, this.fx, large, prev);
    let byKey = sharedEntries.get(eps);
    if (byKey === undefined) sharedEntries.set(eps, (byKey = new Map()));
    const k = `${large ? 1 : 0}${info.key}\n${this.sharedKey}`;
    const have = byKey.get(k);
    if (have !== undefined && have.info === info) return have;
    const e = buildServiceEntry(info, eps, this.config, this.fx, large, prev);
    byKey.set(k, e);
    return e;
  }

  /**
   * The IPv6 proxier (kube-proxy runs one per family; this one writes what ip6tables-restore gets): IPv6 node
   * IPs, local-traffic CIDR and --nodeport-addresses entries only, and never localhost NodePorts (NewProxier
   * turns them off for IPv6: there is no route_localnet for ::1).
   */
  private configureIPv6(node: ProxyNodeConfig, opts: IptablesBackendOptions): void {
    const v6 = (s: string): string | null => {
      const p = parseIPSloppy(s.trim());
      return p !== null && p.family === 'IPv6' ? p.text : null;
    };
    const nodeIPs = node.nodeIPs.map(v6).filter((x): x is string => x !== null);
    let localCIDR: string | null = null;
    const pick = node.localDetector === 'ClusterCIDR' ? node.clusterCIDR : node.localDetector === 'NodeCIDR' ? node.podCIDR : '';
    const c = parseCIDRSloppy(pick.trim());
    if (c !== null && c.family === 'IPv6') localCIDR = c.text;
    const npa = node.nodePortAddresses.map((x) => x.trim()).filter((x) => x !== '');
    const cidrs = npa.flatMap((x) => {
      if (x === 'primary') return nodeIPs.length > 0 ? [`${nodeIPs[0]}/128`] : [];
      const p = parseCIDRSloppy(x);
      return p !== null && p.family === 'IPv6' ? [p.text] : [];
    });
    // kube-proxy's NodePortAddresses for one family: entries of the other family are ignored; if none is left,
    // it matches all local addresses
    const matchAll = cidrs.length === 0;
    const nodePortIPs: string[] = [];
    if (!matchAll)
      for (const ip of nodeIPs) if (cidrs.some((x) => cidrContainsIP(x, ip)) && !nodePortIPs.includes(ip)) nodePortIPs.push(ip);
    this.config = {
      ...this.config,
      family: 'IPv6',
      nodeIP: null,
      nodeIPText: nodeIPs[0] ?? null,
      localCIDR,
      localhostNodePorts: false,
      nfacct: opts.nfacct ?? true,
      nodePortMatchAll: matchAll,
      nodePortIPs,
    };
    this.localIPs.clear();
    this.localIPs6 = ['::1', ...nodeIPs].map((ip) => ipv6Words(ip)!.words);
  }

  // -------------------------------------------------------------------------------------------
  // sync
  // -------------------------------------------------------------------------------------------

  sync(req: SyncRequest): SyncResult & { counts: IptablesSyncCounts } {
    const keep = RuleBuilder.keepText;
    RuleBuilder.keepText = this.keepText;
    try {
      return this.syncRules(req);
    } finally {
      RuleBuilder.keepText = keep;
    }
  }

  private syncRules(req: SyncRequest): SyncResult & { counts: IptablesSyncCounts } {
    const now = req.now;
    const snap: ProxySnapshot = req.snapshot;
    const doFull = this.restoreMode === 'full' || this.needFullSync || now - this.lastFullSync > FULL_SYNC_PERIOD;

    // Proxied service ports (IPv4 cluster IP, not headless / ExternalName), and the endpoint total that decides
    // large-cluster mode: all endpoints (any condition) of all proxied service ports.
    const present: Array<[string, ServicePortInfo]> = [];
    let totalEndpoints = 0;
    for (const kv of snap.services) {
      const info = kv[1];
      const prev = this.entries.get(kv[0]);
      // an unchanged entry was already checked
      if ((prev !== undefined && prev.info === info) || !shouldSkipService(info, this.family)) {
        present.push(kv);
        totalEndpoints += snap.endpoints.get(kv[0])?.length ?? 0;
      }
    }
    const large = this.facts.largeClusterMode && totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
    this.largeMode = large;

    // kube-proxy rewrites the chains of every port of a Service whose Service or endpoints changed
    const changedNs = new Set<string>();
    for (const k of req.changed) {
      const info = snap.services.get(k);
      changedNs.add(info !== undefined ? `${info.namespace}/${info.name}` : (this.entries.get(k)?.nsName ?? nsNameOfKey(k)));
    }

    const next = new Map<string, ServiceEntry>();
    const written = new Set<ServiceEntry>();
    /** (previous, new) entries of the service ports rebuilt, added (previous null) or removed (new null). */
    const cliChanged: Array<[ServiceEntry | null, ServiceEntry | null]> = [];
    const added: string[] = [];
    for (const [k, info] of present) {
      const prev = this.entries.get(k);
      let rebuild: boolean;
      if (prev === undefined) rebuild = true;
      else if (changedNs.size > 0 && changedNs.has(prev.info === info ? prev.nsName : `${info.namespace}/${info.name}`)) rebuild = true;
      else rebuild = doFull && prev.large !== large;
      let e: ServiceEntry;
      if (rebuild) {
        const eps = snap.endpoints.get(k) ?? [];
        e =
          this.config.profile === 'current'
            ? this.buildShared(info, eps, large, prev)
            : buildEraServiceEntry(info, eps, this.config, this.fx, prev);
        if (prev !== undefined) cliChanged.push([prev, e]);
        else cliChanged.push([null, e]);
        written.add(e);
        if (prev === undefined) added.push(k);
        else this.retire(prev, e);
        if (this.stale.size > 0) for (const c of e.chains) this.stale.delete(c.name);
      } else {
        e = prev!;
        if (doFull) written.add(e);
      }
      next.set(k, e);
    }
    const removed: string[] = [];
    if (next.size !== this.entries.size || added.length > 0) {
      for (const [k, prev] of this.entries) {
        if (!next.has(k)) {
          removed.push(k);
          cliChanged.push([prev, null]);
          this.retire(prev, null);
        }
      }
    }
    this.entries = next;

    // KUBE-SERVICES order
    if (added.length + removed.length > 64) {
      this.orderKeys = [...next.keys()].sort();
    } else {
      for (const k of removed) {
        const i = binarySearch(this.orderKeys, k);
        if (this.orderKeys[i] === k) this.orderKeys.splice(i, 1);
      }
      for (const k of added) this.orderKeys.splice(binarySearch(this.orderKeys, k), 0, k);
    }
    this.order = this.orderKeys.map((k) => next.get(k)!);

    // stale chains: deleted on every sync, but in large-cluster mode at most once per syncPeriod
    let deleted: string[] = [];
    if (!large || now - this.lastCleanup > this.syncPeriod) {
      deleted = [...this.stale.keys()].sort();
      for (const name of deleted) this.walker.recent.delete(name);
      this.stale.clear();
      this.lastCleanup = now;
    }

    const rulesBefore = this.synced ? this.kernelRules : 0;
    const firstSync = !this.synced;
    if (this.config.profile !== 'current') {
      let drop = false;
      for (const e of this.order) if (e.usesMarkDrop === true) drop = true;
      this.fx.kubeletDrop = drop;
    }
    this.assembleFixedChains();
    if (!this.synced || doFull) this.fx.installJumps();
    this.synced = true;

    // What the iptables-restore --noflush input holds.
    const fixed = this.fixed;
    let rules = fixed.filterHead.length + fixed.filterTail.length + fixed.natHead.length + fixed.natTail.length;
    let chains = fixed.natDeclared.length + fixed.filterDeclared.length + (fixed.declaresFirewall ? 1 : 0) + deleted.length;
    let bytes =
      '*filter\n'.length +
      'COMMIT\n'.length * 2 +
      '*nat\n'.length +
      rulesBytes(fixed.filterHead) +
      rulesBytes(fixed.filterTail) +
      rulesBytes(fixed.natHead) +
      rulesBytes(fixed.natTail);
    for (const name of fixed.filterDeclared) bytes += chainLineBytes(name);
    if (fixed.declaresFirewall) bytes += chainLineBytes('KUBE-FIREWALL');
    for (const name of fixed.natDeclared) bytes += chainLineBytes(name);
    for (const name of deleted) bytes += chainLineBytes(name) + Buffer.byteLength(`-X ${name}\n`);
    let kernelServiceRules = 0;
    let kernelServiceChains = 0;
    for (const e of this.order) {
      rules += e.natTop.length + e.filterTop.length;
      bytes += e.natTopBytes + e.filterTopBytes;
      kernelServiceRules += e.chainRuleCount;
      kernelServiceChains += e.chains.length;
      if (written.has(e)) {
        rules += e.chainRuleCount;
        chains += e.chains.length;
        bytes += e.chainBytes;
      }
    }
    for (const c of this.stale.values()) {
      kernelServiceRules += c.rules.length;
      kernelServiceChains++;
    }

    let fixedRules = 0;
    const fixedChains = [...this.fx.natChains(), ...this.fx.filterChains()];
    for (const c of fixedChains) fixedRules += c.rules.length;
    this.kernelRules = fixedRules + kernelServiceRules;
    this.kernelChains = fixedChains.length + kernelServiceChains;

    this.plan = { full: doFull, fixed, order: this.order, written, deleted };
    this.needFullSync = false;
    if (doFull) this.lastFullSync = now;

    const counts: IptablesSyncCounts = {
      rules_written: rules,
      chains_written: chains,
      bytes_written: bytes,
      rules_in_kernel: this.kernelRules,
    };
    if (this.writeMethod === 'cli-per-rule') {
      const cli = firstSync ? cliFirstSync(fixedChains, this.order, fixed) : cliChanges(rulesBefore, cliChanged);
      counts.cli_processes = cli.processes;
      counts.cli_table_rules = cli.tableRules;
      counts.cli_table_rules_squared = cli.tableRulesSquared;
    }
    return { mode: doFull ? 'full' : 'partial', counts };
  }

  /** The chains of `prev` that `next` no longer has stay in the kernel until the stale-chain cleanup. */
  private retire(prev: ServiceEntry, next: ServiceEntry | null): void {
    if (next === null) {
      for (const c of prev.chains) this.stale.set(c.name, c);
      return;
    }
    const keep = new Set(next.chains.map((c) => c.name));
    for (const c of prev.chains) if (!keep.has(c.name)) this.stale.set(c.name, c);
  }

  private assembleFixedChains(): void {
    const fx = this.fx;
    const ks: Rule[] = [];
    const knp: Rule[] = [];
    const fks: Rule[] = [];
    const fext: Rule[] = [];
    const fnp: Rule[] = [];
    const ffw: Rule[] = [];
    for (const e of this.order) {
      for (const r of e.natTop) (r.chain === 'KUBE-SERVICES' ? ks : knp).push(r);
      for (const r of e.filterTop) {
        switch (r.chain) {
          case 'KUBE-SERVICES':
            fks.push(r);
            break;
          case 'KUBE-EXTERNAL-SERVICES':
            fext.push(r);
            break;
          case 'KUBE-NODEPORTS':
            fnp.push(r);
            break;
          default:
            ffw.push(r);
        }
      }
    }
    for (const r of this.fixed.natTail) ks.push(r);
    fx.natServices.rules = ks;
    fx.natNodePorts.rules = knp;
    fx.natKubePostrouting.rules = this.fixed.natHead.filter((r) => r.chain === 'KUBE-POSTROUTING');
    fx.markMasq.rules = this.fixed.natHead.filter((r) => r.chain === 'KUBE-MARK-MASQ');
    fx.filterServices.rules = fks;
    fx.filterExternal.rules = fext;
    fx.filterNodePorts.rules = fnp;
    fx.filterProxyFirewall.rules = ffw;
    fx.filterFirewall.rules = fx.kubeletDrop ? this.kubeletDropRules.filter : this.fixed.filterHead;
    fx.natMarkDrop.rules = fx.kubeletDrop ? this.kubeletDropRules.nat : [];
    fx.filterForwardKube.rules = this.fixed.filterTail;
  }

  /** The exact iptables-restore input of the last sync ('' before the first). */
  lastRestoreInput(): string {
    if (!this.keepText) throw new Error('iptables backend: built with renderable: false, its rules keep no restore text');
    const p = this.plan;
    if (p === null) return '';
    const out: string[] = ['*filter'];
    for (const name of p.fixed.filterDeclared) out.push(chainLine(name));
    if (p.fixed.declaresFirewall) out.push(chainLine('KUBE-FIREWALL'));
    for (const r of p.fixed.filterHead) out.push(r.text);
    for (const e of p.order) for (const r of e.filterTop) out.push(r.text);
    for (const r of p.fixed.filterTail) out.push(r.text);
    out.push('COMMIT', '*nat');
    for (const name of p.fixed.natDeclared) out.push(chainLine(name));
    for (const e of p.order) if (p.written.has(e)) for (const c of e.chains) out.push(chainLine(c.name));
    for (const name of p.deleted) out.push(chainLine(name));
    for (const r of p.fixed.natHead) out.push(r.text);
    for (const e of p.order) {
      for (const r of e.natTop) out.push(r.text);
      if (p.written.has(e)) for (const r of writeOrder(e)) out.push(r.text);
    }
    for (const name of p.deleted) out.push(`-X ${name}`);
    for (const r of p.fixed.natTail) out.push(r.text);
    out.push('COMMIT', '');
    return out.join('\n');
  }

  // -------------------------------------------------------------------------------------------
  // the kernel's view
  // -------------------------------------------------------------------------------------------

  /** Chains of a table as iptables-save lists them: built-in chains in hook order, then user chains by name. */
  tableChains(table: TableName): Chain[] {
    const fixed = table === 'nat' ? this.fx.natChains() : this.fx.filterChains();
    const builtin = fixed.filter((c) => c.builtin);
    if (!this.synced) return builtin;
    if (table === 'nat') {
      for (const e of this.order) for (const c of e.chains) fixed.push(c);
      for (const c of this.stale.values()) fixed.push(c);
    }
    return saveOrder(fixed);
  }

  /** The ruleset as `iptables-save` prints it (filter, then nat; without the "# Generated by" comment lines). */
  render(): RenderedRuleset {
    if (!this.keepText) throw new Error('iptables backend: built with renderable: false, its rules keep no restore text');
    const out: string[] = [];
    for (const table of ['filter', 'nat'] as const) saveTable(table, this.tableChains(table), out, this.family);
    out.push('');
    // the IPv6 proxier's tables are what ip6tables-save prints; the output keeps one name for both families
    return { 'iptables-save': out.join('\n') };
  }

  size(): IptablesSizeCounts {
    return {
      iptables_rules: this.synced ? this.kernelRules : 0,
      iptables_chains: this.synced ? this.kernelChains : this.tableChains('nat').length + this.tableChains('filter').length,
    };
  }

  /**
   * Makes the next sync a full one, as kube-proxy's forceSyncProxyRules does (iptables canary chain flushed,
   * node labels changed, or a failed partial restore).
   */
  requestFullSync(): void {
    this.needFullSync = true;
  }

  /** Whether the last sync ran in large-cluster mode (more than 1000 endpoints: no per-endpoint comments). */
  isLargeClusterMode(): boolean {
    return this.largeMode;
  }

  /** Service-port keys in KUBE-SERVICES order. */
  serviceOrder(): readonly string[] {
    return this.orderKeys;
  }

  // -------------------------------------------------------------------------------------------
  // first-packet walk
  // -------------------------------------------------------------------------------------------

  lookup(pkt: Packet, rng: Rng, now: Seconds): LookupResult & { counts: IptablesLookupCounts } {
    if (this.family === 'IPv6') return this.lookup6(pkt, rng, now);
    const src = parseIPv4(pkt.srcIP);
    const dst = parseIPv4(pkt.dstIP);
    const proto = PROTO_NUM[pkt.protocol.toLowerCase()] ?? 0;
    if (!this.synced || src === null || dst === null) {
      return {
        verdict: 'PASS',
        endpoint: null,
        serviceKey: '',
        masquerade: false,
        counts: { rules_evaluated: 0 } satisfies IptablesLookupCounts,
      };
    }
    const w = this.walker;
    w.begin(src, dst, proto, pkt.dstPort, rng, now);
    const fx = this.fx;

    // nat: PREROUTING (from a pod or the network) or OUTPUT (from a process on the node)
    w.walk(pkt.local ? fx.natOutput : fx.natPrerouting);
    const dnat = w.dnat;
    if (dnat !== null) {
      w.dst = dnat.arg1;
      w.dport = dnat.arg2;
      w.ct |= CT_DNAT;
    }
    // filter: OUTPUT, or after routing INPUT (to a local address) or FORWARD
    const toLocal = !pkt.local && this.isLocal(w.dst);
    const v = w.walk(pkt.local ? fx.filterOutput : toLocal ? fx.filterInput : fx.filterForward);
    if (v === V_DROP || v === V_REJECT) {
      return {
        verdict: v === V_DROP ? 'DROP' : 'REJECT',
        endpoint: null,
        serviceKey: w.owner,
        masquerade: false,
        counts: { rules_evaluated: w.rules } satisfies IptablesLookupCounts,
      };
    }
    // nat: POSTROUTING for forwarded and locally generated packets (INPUT has no kube-proxy nat rules)
    w.walk(toLocal ? fx.natInput : fx.natPostrouting);
    return {
      verdict: dnat !== null ? 'DNAT' : 'PASS',
      endpoint: dnat !== null ? { ip: formatIPv4(dnat.arg1), port: dnat.arg2 } : null,
      serviceKey: w.owner,
      masquerade: w.masq,
      counts: { rules_evaluated: w.rules } satisfies IptablesLookupCounts,
    };
  }

  private isLocal(addr: number): boolean {
    return addr >>> 24 === 127 || this.localIPs.has(addr);
  }

  private isLocal6(addr: Words6): boolean {
    return this.localIPs6.some((l) => words6Match(addr, l, ALL_ONES6));
  }

  /** lookup() of the IPv6 proxier: the same hooks through the ip6tables chains, addresses as four words. */
  private lookup6(pkt: Packet, rng: Rng, now: Seconds): LookupResult & { counts: IptablesLookupCounts } {
    const src = ipv6Words(pkt.srcIP);
    const dst = ipv6Words(pkt.dstIP);
    const proto = PROTO_NUM[pkt.protocol.toLowerCase()] ?? 0;
    const none = (verdict: LookupResult['verdict'], key: string, rules: number): LookupResult & { counts: IptablesLookupCounts } => ({
      verdict,
      endpoint: null,
      serviceKey: key,
      masquerade: false,
      counts: { rules_evaluated: rules } satisfies IptablesLookupCounts,
    });
    if (!this.synced || src === null || dst === null || src.prefix !== 128 || dst.prefix !== 128) return none('PASS', '', 0);
    const w = this.walker;
    w.begin6(src.words, dst.words, proto, pkt.dstPort, rng, now);
    const fx = this.fx;
    w.walk(pkt.local ? fx.natOutput : fx.natPrerouting);
    const dnat = w.dnat;
    if (dnat !== null) {
      w.dst6.set(dnat.rare!.dnat6Words!);
      w.dport = dnat.arg2;
      w.ct |= CT_DNAT;
    }
    const toLocal = !pkt.local && this.isLocal6(w.dst6);
    const v = w.walk(pkt.local ? fx.filterOutput : toLocal ? fx.filterInput : fx.filterForward);
    if (v === V_DROP || v === V_REJECT) return none(v === V_DROP ? 'DROP' : 'REJECT', w.owner, w.rules);
    w.walk(toLocal ? fx.natInput : fx.natPostrouting);
    return {
      verdict: dnat !== null ? 'DNAT' : 'PASS',
      endpoint: dnat !== null ? { ip: dnat.rare!.dnat6, port: dnat.arg2 } : null,
      serviceKey: w.owner,
      masquerade: w.masq,
      counts: { rules_evaluated: w.rules } satisfies IptablesLookupCounts,
    };
  }
}

const ALL_ONES6: Words6 = new Int32Array([-1, -1, -1, -1]);

/**
 * The work of writing a whole ruleset into empty tables one `iptables` process at a time (legacy iptables: each
 * process reads the whole table from the kernel, changes it and writes it back). kube-proxy's own chains are
 * created first (`-N`), its jump rules and fixed rules added (`-A`), then service by service: its chains
 * created, the rules of its own chains added, then its KUBE-SERVICES / KUBE-NODEPORTS / filter rules. Each
 * process sees the rules added before it: the sum over processes grows with the square of the rules.
 */
function cliFirstSync(fixedChains: readonly Chain[], order: readonly ServiceEntry[], fixed: FixedRules): CliWork {
  const w = new CliTally(0);
  w.createChains(fixedChains.filter((c) => !c.builtin).length);
  let jumps = 0;
  for (const c of fixedChains) if (c.builtin) jumps += c.rules.length;
  w.addRules(jumps + fixed.filterHead.length + fixed.filterTail.length + fixed.natHead.length + fixed.natTail.length);
  for (const e of order) {
    w.createChains(e.chains.length);
    w.addRules(e.chainRuleCount);
    w.addRules(e.natTop.length + e.filterTop.length);
  }
  return w;
}

/** What a run of cli-per-rule processes did: the processes, and the rules in the table each saw, summed and squared. */
interface CliWork {
  processes: number;
  tableRules: number;
  tableRulesSquared: number;
}

/** Sum of i^2 for i = 0 .. n-1. */
function sumSquaresBelow(n: number): number {
  return ((n - 1) * n * (2 * n - 1)) / 6;
}

/**
 * Tallies cli-per-rule processes as the table grows and shrinks: each process reads and writes back the table as
 * it is when it runs, so it adds the table's rule count (and its square, for the per-process cost's quadratic term).
 */
class CliTally implements CliWork {
  processes = 0;
  tableRules = 0;
  tableRulesSquared = 0;
  constructor(private inTable: number) {}

  /** n appends: the processes see inTable, inTable + 1, ..., inTable + n - 1 rules. */
  addRules(n: number): void {
    const t = this.inTable;
    this.processes += n;
    this.tableRules += n * t + (n * (n - 1)) / 2;
    this.tableRulesSquared += n * t * t + t * n * (n - 1) + sumSquaresBelow(n);
    this.inTable += n;
  }

  /** n deletions: the processes see inTable, inTable - 1, ..., inTable - n + 1 rules. */
  deleteRules(n: number): void {
    const t = this.inTable;
    this.processes += n;
    this.tableRules += n * t - (n * (n - 1)) / 2;
    this.tableRulesSquared += n * t * t - t * n * (n - 1) + sumSquaresBelow(n);
    this.inTable -= n;
  }

  /** n chain creations or deletions (`-N` / `-X`): each process sees the table's current rules. */
  createChains(n: number): void {
    this.processes += n;
    this.tableRules += n * this.inTable;
    this.tableRulesSquared += n * this.inTable * this.inTable;
  }
}

/**
 * The per-rule work of a later sync: for each service port rebuilt or removed, its old rules deleted one `-D`
 * each and its chains deleted (`-X`), then for each rebuilt or added one, its chains created and rules added, one
 * process each. Unchanged services cost nothing (a per-rule writer keeps them).
 */
function cliChanges(rulesBefore: number, changed: ReadonlyArray<[ServiceEntry | null, ServiceEntry | null]>): CliWork {
  const w = new CliTally(rulesBefore);
  for (const [prev, next] of changed) {
    if (prev !== null) {
      w.deleteRules(prev.chainRuleCount + prev.natTop.length + prev.filterTop.length);
      w.createChains(prev.chains.length);
    }
    if (next !== null) {
      w.createChains(next.chains.length);
      w.addRules(next.chainRuleCount + next.natTop.length + next.filterTop.length);
    }
  }
  return w;
}

export function createIptablesBackend(opts: IptablesBackendOptions): IptablesBackend {
  return new IptablesBackend(opts);
}
