/**
 * The nftables data plane: kube-proxy's nftables proxier (proxier.ts) over a modelled `ip kube-proxy` table
 * (table.ts), a netfilter-like walk of that table for first packets (lookup.ts), and the texts of the real tools:
 * `nft list table ip kube-proxy` and the transaction kube-proxy feeds to `nft -f`.
 */
import type { Packet, ProxyNodeConfig, ProxySnapshot, Rng, Seconds } from '../../types.js';
import { cidrContains, parseCidr4, parseIPv4 } from '../../net/ipv4.js';
import { masqueradeMarkText } from './names.js';
import { NftProxier, type NftProxierConfig, type NftSyncCounts } from './proxier.js';
import { NftWalker, type NftLookup } from './lookup.js';

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

/** Counted size of the table after a sync. */
export interface NftSize {
  chains: number;
  rules: number;
  sets: number;
  elements: number;
}

export function proxierConfig(o: NftablesBackendOptions): NftProxierConfig {
  const n = o.node;
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
    serviceCIDRs: (o.serviceCIDRs ?? ['10.96.0.0/12']).join(','),
    nodePortIPs,
    fullSyncPeriod: o.fullSyncPeriod ?? 3600,
  };
}

export class NftablesBackend {
  readonly kind = 'nftables' as const;
  readonly proxier: NftProxier;
  private readonly walker: NftWalker;
  private version = 0;

  constructor(readonly options: NftablesBackendOptions) {
    this.proxier = new NftProxier(proxierConfig(options));
    const local = new Set<number>();
    for (const ip of options.node.nodeIPs) {
      const v = parseIPv4(ip);
      if (v !== null) local.add(v);
    }
    this.walker = new NftWalker(this.proxier.table, local);
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

  lookupCounts(pkt: Packet, rng: Rng, now: Seconds): NftLookup {
    return this.walker.walk(pkt, rng, now, this.version);
  }

  /** `nft list table ip kube-proxy` (what `nft list ruleset` prints on a node with only kube-proxy's table). */
  listRuleset(): string {
    return this.proxier.table.list();
  }

  /** The transaction of the last sync, as kube-proxy hands it to `nft -f`. */
  lastTransaction(): string {
    return this.proxier.lastTransaction();
  }

  /** The last full sync's transaction: loads the whole table into a fresh namespace. */
  fullTransaction(): string {
    return this.proxier.lastFullTransaction();
  }

  sizeCounts(): NftSize {
    const t = this.proxier.table;
    return { chains: t.chains.size, rules: t.ruleCount(), sets: t.sets.size, elements: t.elementCount() };
  }
}

export function createNftablesBackend(o: NftablesBackendOptions): NftablesBackend {
  return new NftablesBackend(o);
}
