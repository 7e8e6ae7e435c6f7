/**
 * The nftables data plane: kube-proxy's nftables proxier (proxier.ts) over a modelled `ip kube-proxy` table
 * (table.ts), a netfilter-like walk of that table for first packets (lookup.ts), and the texts of the real tools:
 * `nft list table ip kube-proxy` and the transaction kube-proxy feeds to `nft -f`.
 */
import type {
  Backend,
  LookupResult,
  Packet,
  ProxyNodeConfig,
  ProxySnapshot,
  RenderedRuleset,
  Rng,
  Seconds,
  SyncRequest,
  SyncResult,
} from '../../types.js';
import { cidrContains, parseCidr4, parseIPv4 } from '../../net/ipv4.js';
import { cidrContainsIP, parseCIDRSloppy, parseIPSloppy } from '../../net/ip.js';
import { ipv6Value } from './rules.js';
import { masqueradeMarkText } from './names.js';
import { NftProxier, type NftProxierConfig, type NftSyncCounts } from './proxier.js';
import { NftWalker, type NftLookup } from './lookup.js';
import type { NftablesLookupCounts, NftablesSizeCounts, NftablesSyncCounts } from './metrics.js';

/** Options of the nftables backend (kube-proxy flags and cluster facts; defaults in brackets). */
export interface NftablesBackendOptions {
  node: ProxyNodeConfig;
  /** ServiceCIDRs of the cluster (kube-proxy watches ServiceCIDR objects) [10.96.0.0/12]. */
  serviceCIDRs?: readonly string[];
  /**
   * --nodeport-addresses when the node config lists none: 'primary' (the nftables mode default: the primary node
   * IP only, through the nodeport-ips set) or 'all' (every local address: `fib daddr type local`) ['primary'].
   */
  nodePortAddresses?: 'primary' | 'all';
  /** The mark text; kube-proxy formats 1<<masqueradeBit with "%#08x" ["0x00004000"]; its unit tests use "0x4000". */
  masqueradeMark?: string;
  /** Forced full resync period (proxyutil.FullSyncPeriod) [3600 s]. */
  fullSyncPeriod?: Seconds;
}

export function proxierConfig(o: NftablesBackendOptions): NftProxierConfig {
  const n = o.node;
  if (n.ipFamily === 'IPv6') return proxierConfig6(o);
  const local = n.localDetector === 'ClusterCIDR' ? n.clusterCIDR : n.localDetector === 'NodeCIDR' ? n.podCIDR : '';
  let nodePortIPs: readonly string[] | 'all';
  if (n.nodePortAddresses.length > 0) {
    const cidrs = n.nodePortAddresses.map((s) => parseCidr4(s)).filter((c) => c !== null);
    nodePortIPs = n.nodeIPs.filter((ip) => {
      const v = parseIPv4(ip);
      return v !== null && cidrs.some((c) => cidrContains(c, v));
    });
  } else nodePortIPs = (o.nodePortAddresses ?? 'primary') === 'all' ? 'all' : n.nodeIPs.slice(0, 1);
  return {
    family: 'ip',
    nodeIP: n.nodeIPs[0] ?? '',
    masqueradeAll: n.masqueradeAll,
    masqueradeMark: o.masqueradeMark ?? masqueradeMarkText(n.masqueradeBit),
    localCIDR: local === '' ? null : local,
    serviceCIDRs: (o.serviceCIDRs ?? ['10.96.0.0/12']).filter((x) => !x.includes(':')).join(','),
    nodePortIPs,
    fullSyncPeriod: o.fullSyncPeriod ?? 3600,
    keepText: n.renderable ?? true,
  };
}

/** The IPv6 ServiceCIDRs of the list, canonical, comma-joined; the harness's IPv6 service range when it has none. */
function serviceCIDRs6(all: readonly string[]): string {
  const v6 = all.flatMap((x) => {
    const c = parseCIDRSloppy(x.trim());
    return c !== null && c.family === 'IPv6' ? [c.text] : [];
  });
  return (v6.length > 0 ? v6 : ['fd00:10:96::/108']).join(',');
}

/**
 * The IPv6 proxier's configuration (table `ip6 kube-proxy`): the IPv6 node IPs, local-traffic CIDR and
 * --nodeport-addresses entries only (kube-proxy filters each by the proxier's family), the IPv6 service CIDR.
 */
function proxierConfig6(o: NftablesBackendOptions): NftProxierConfig {
  const n = o.node;
  const v6 = (s: string): string | null => {
    const p = parseIPSloppy(s.trim());
    return p !== null && p.family === 'IPv6' ? p.text : null;
  };
  const nodeIPs = n.nodeIPs.map(v6).filter((x): x is string => x !== null);
  const pick = n.localDetector === 'ClusterCIDR' ? n.clusterCIDR : n.localDetector === 'NodeCIDR' ? n.podCIDR : '';
  const c = parseCIDRSloppy(pick.trim());
  const localCIDR = c !== null && c.family === 'IPv6' ? c.text : null;
  let nodePortIPs: readonly string[] | 'all';
  const cidrs = n.nodePortAddresses.filter((s) => parseCIDRSloppy(s.trim())?.family === 'IPv6');
  if (cidrs.length > 0) nodePortIPs = nodeIPs.filter((ip) => cidrs.some((x) => cidrContainsIP(x, ip)));
  else nodePortIPs = (o.nodePortAddresses ?? 'primary') === 'all' ? 'all' : nodeIPs.slice(0, 1);
  return {
    family: 'ip6',
    nodeIP: nodeIPs[0] ?? '',
    masqueradeAll: n.masqueradeAll,
    masqueradeMark: o.masqueradeMark ?? masqueradeMarkText(n.masqueradeBit),
    localCIDR,
    serviceCIDRs: serviceCIDRs6(o.serviceCIDRs ?? []),
    nodePortIPs,
    fullSyncPeriod: o.fullSyncPeriod ?? 3600,
    keepText: n.renderable ?? true,
  };
}

/** The catalogue's sync counts from the proxier's. */
export function syncCountsOf(c: NftSyncCounts): NftablesSyncCounts {
  return {
    transaction_operations: c.operations,
    elements_written: c.elementsAdded + c.elementsDeleted,
    rules_written: c.rulesWritten,
    chains_written: c.chainsAdded,
    chains_flushed: c.chainsFlushed,
    chains_deleted: c.chainsDeleted,
    sets_written: c.setsWritten,
    bytes_written: c.bytes,
    transactions: c.transactions,
    anonymous_sets_created: c.anonSetsAdded,
    kernel_sets: c.kernelSetsBefore,
    table_objects: c.chainsListed + c.rulesBefore + c.kernelSetsBefore,
  };
}

export class NftablesBackend implements Backend {
  readonly kind = 'nftables';
  readonly proxier: NftProxier;
  private readonly walker: NftWalker;
  private version = 0;

  constructor(readonly options: NftablesBackendOptions) {
    this.proxier = new NftProxier(proxierConfig(options));
    const local = new Set<number>();
    const local6 = new Set<bigint>();
    for (const ip of options.node.nodeIPs) {
      const v = parseIPv4(ip);
      if (v !== null) local.add(v);
      const w = ipv6Value(ip);
      if (w !== null) local6.add(w);
    }
    this.walker = new NftWalker(this.proxier.table, local, local6);
  }

  /** One syncProxyRules run; `changed` are service-port keys ("ns/name:port"), reduced to services as kube-proxy does. */
  syncCounts(snapshot: ProxySnapshot, changed: ReadonlySet<string>, now: Seconds): NftSyncCounts {
    const services = new Set<string>();
    for (const k of changed) {
      const i = k.indexOf(':');
      services.add(i < 0 ? k : k.slice(0, i));
    }
    const r = this.proxier.sync(snapshot, services, now);
    this.version++;
    return r;
  }

  sync(req: SyncRequest): SyncResult {
    const c = this.syncCounts(req.snapshot, req.changed, req.now);
    return { mode: c.full ? 'full' : 'partial', counts: syncCountsOf(c) };
  }

  lookupCounts(pkt: Packet, rng: Rng, now: Seconds): NftLookup {
    return this.walker.walk(pkt, rng, now, this.version);
  }

  lookup(pkt: Packet, rng: Rng, now: Seconds): LookupResult {
    const l = this.lookupCounts(pkt, rng, now);
    const counts: NftablesLookupCounts = { rules_evaluated: l.rulesEvaluated, lookups: l.lookups, chains_entered: l.chainsEntered };
    return {
      verdict: l.verdict,
      endpoint: l.endpoint,
      serviceKey: l.serviceChain === '' ? '' : this.proxier.serviceKeyOfChain(l.serviceChain),
      masquerade: l.masquerade,
      counts,
    };
  }

  /** `nft list table ip kube-proxy` (what `nft list ruleset` prints on a node with only kube-proxy's table). */
  listRuleset(): string {
    if (this.options.node.renderable === false) throw new Error('nftables backend: built with renderable: false, its rules keep no text');
    return this.proxier.table.list();
  }

  /** The transaction of the last sync, as kube-proxy hands it to `nft -f` ('' when nothing changed). */
  lastTransaction(): string {
    return this.proxier.lastTransaction();
  }

  /** The last full sync's transaction: loads the whole table into a fresh namespace. */
  fullTransaction(): string {
    return this.proxier.lastFullTransaction();
  }

  render(): RenderedRuleset {
    return { 'nft list ruleset': this.listRuleset() };
  }

  size(): NftablesSizeCounts {
    const t = this.proxier.table;
    const sets = t.sets.size;
    return {
      nft_chains: t.chains.size,
      nft_rules: t.ruleCount(),
      nft_sets: sets,
      nft_elements: t.elementCount(),
      nft_anonymous_sets: t.kernelSets() - sets,
    };
  }

  /** Table size as plain numbers (chains, rules, named sets, elements). */
  sizeCounts(): { chains: number; rules: number; sets: number; elements: number } {
    const s = this.size();
    return { chains: s.nft_chains, rules: s.nft_rules, sets: s.nft_sets, elements: s.nft_elements };
  }
}

export function createNftablesBackend(o: NftablesBackendOptions): NftablesBackend {
  return new NftablesBackend(o);
}
