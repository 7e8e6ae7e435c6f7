/**
 * kube-proxy's nftables proxier, syncProxyRules and setupNFTables (kubernetes/kubernetes pkg/proxy/nftables/
 * proxier.go, the version whose proxier_test.go has the "filter-prerouting-pre-dnat" / "filter-output-pre-dnat" base
 * chains and the cluster-ips set; see README.md), producing the knftables transaction it would run and applying it
 * to the modelled table. Endpoint selection is pkg/proxy/topology.go's CategorizeEndpoints (src/proxy/topology.ts).
 *
 * Differences from upstream where upstream has no defined order: service ports are visited in key order (upstream
 * iterates a Go map), leftover map elements and stale chains are handled in insertion order (Go sets).
 */
import type { EndpointInfo, Protocol, ProxySnapshot, ServicePortInfo, Seconds } from '../../types.js';
import { categorizeEndpoints } from '../../proxy/topology.js';
import { usesClusterEndpoints, usesLocalEndpoints } from '../../proxy/serviceport.js';
import { formatIPv4, parseCidr4, parseIPv4 } from '../../net/ipv4.js';
import { cidrContainsIP, parseCIDRSloppy, parseIPSloppy } from '../../net/ip.js';
import {
  AFFINITY_PREFIX,
  ENDPOINT_PREFIX,
  endpointChainNameBase,
  EXTERNAL_PREFIX,
  FIREWALL_PREFIX,
  isAffinitySetName,
  isServiceChainName,
  LOCAL_PREFIX,
  SERVICE_PREFIX,
  servicePortChainNameBase,
} from './names.js';
import { RuleBuilder, type Family, type NftRule } from './rules.js';
import {
  NftTable,
  opBytes,
  transactionText,
  type BaseChainSpec,
  type ChainState,
  type ChainSpec,
  type ElementSpec,
  type Op,
  SourcedChain,
  type SetSpec,
} from './table.js';

export const KUBE_PROXY_TABLE = 'kube-proxy';

// base chains
export const FILTER_PREROUTING_PRE_DNAT = 'filter-prerouting-pre-dnat';
export const FILTER_OUTPUT_PRE_DNAT = 'filter-output-pre-dnat';
export const FILTER_INPUT = 'filter-input';
export const FILTER_FORWARD = 'filter-forward';
export const FILTER_OUTPUT = 'filter-output';
export const NAT_PREROUTING = 'nat-prerouting';
export const NAT_OUTPUT = 'nat-output';
export const NAT_POSTROUTING = 'nat-postrouting';
// service dispatch
export const SERVICES_CHAIN = 'services';
export const SERVICE_IPS_MAP = 'service-ips';
export const SERVICE_NODEPORTS_MAP = 'service-nodeports';
export const NODEPORT_IPS_SET = 'nodeport-ips';
export const CLUSTER_IPS_SET = 'cluster-ips';
// no endpoints
export const SERVICE_ENDPOINTS_CHECK = 'service-endpoints-check';
export const NODEPORT_ENDPOINTS_CHECK = 'nodeport-endpoints-check';
export const NO_ENDPOINT_SERVICES_MAP = 'no-endpoint-services';
export const NO_ENDPOINT_NODEPORTS_MAP = 'no-endpoint-nodeports';
export const REJECT_CHAIN = 'reject-chain';
export const CLUSTER_IPS_CHECK = 'cluster-ips-check';
export const FIREWALL_IPS_MAP = 'firewall-ips';
export const FIREWALL_CHECK = 'firewall-check';
export const MARK_MASQ_CHAIN = 'mark-for-masquerade';
export const MASQUERADING_CHAIN = 'masquerading';

// knftables priorities: DNATPriority "dstnat" = -100, SNATPriority "srcnat" = 100, FilterPriority "filter" = 0
const DSTNAT = -100;
const SRCNAT = 100;
const FILTER = 0;

/** nftablesBaseChains, in upstream's order. */
export const BASE_CHAINS: ReadonlyArray<{ name: string } & BaseChainSpec> = [
  { name: FILTER_PREROUTING_PRE_DNAT, type: 'filter', hook: 'prerouting', priority: DSTNAT - 10 },
  { name: FILTER_OUTPUT_PRE_DNAT, type: 'filter', hook: 'output', priority: DSTNAT - 10 },
  { name: FILTER_INPUT, type: 'filter', hook: 'input', priority: FILTER },
  { name: FILTER_FORWARD, type: 'filter', hook: 'forward', priority: FILTER },
  { name: FILTER_OUTPUT, type: 'filter', hook: 'output', priority: FILTER },
  { name: NAT_PREROUTING, type: 'nat', hook: 'prerouting', priority: DSTNAT },
  { name: NAT_OUTPUT, type: 'nat', hook: 'output', priority: DSTNAT },
  { name: NAT_POSTROUTING, type: 'nat', hook: 'postrouting', priority: SRCNAT },
];

/** nftablesJumpChains (dst, src, extra match), in upstream's order. */
export const JUMP_CHAINS: ReadonlyArray<{ dst: string; src: string; ctNew: boolean }> = [
  { dst: NODEPORT_ENDPOINTS_CHECK, src: FILTER_INPUT, ctNew: true },
  { dst: SERVICE_ENDPOINTS_CHECK, src: FILTER_INPUT, ctNew: true },
  { dst: SERVICE_ENDPOINTS_CHECK, src: FILTER_FORWARD, ctNew: true },
  { dst: SERVICE_ENDPOINTS_CHECK, src: FILTER_OUTPUT, ctNew: true },
  { dst: FIREWALL_CHECK, src: FILTER_PREROUTING_PRE_DNAT, ctNew: true },
  { dst: FIREWALL_CHECK, src: FILTER_OUTPUT_PRE_DNAT, ctNew: true },
  { dst: SERVICES_CHAIN, src: NAT_OUTPUT, ctNew: false },
  { dst: SERVICES_CHAIN, src: NAT_PREROUTING, ctNew: false },
  { dst: MASQUERADING_CHAIN, src: NAT_POSTROUTING, ctNew: false },
  { dst: CLUSTER_IPS_CHECK, src: FILTER_FORWARD, ctNew: true },
  { dst: CLUSTER_IPS_CHECK, src: FILTER_OUTPUT, ctNew: true },
];

/** What the proxier needs to know about its node and flags. */
export interface NftProxierConfig {
  family: Family;
  /** Primary node IP (loadBalancerSourceRanges "allow from node"); '' when none. */
  nodeIP: string;
  masqueradeAll: boolean;
  /** The mark text as kube-proxy passes it to nft ("0x00004000"; its unit tests' fake proxier uses "0x4000"). */
  masqueradeMark: string;
  /** The local-traffic detector's prefix (pod or cluster CIDR), null when not implemented (--detect-local-mode=None). */
  localCIDR: string | null;
  /** ServiceCIDRs of this family, comma-joined as kube-proxy keeps them ('' when none known). */
  serviceCIDRs: string;
  /** The addresses NodePorts accept (the nodeport-ips set), or 'all' (--nodeport-addresses unset: MatchAll). */
  nodePortIPs: readonly string[] | 'all';
  /** Seconds between forced full syncs (proxyutil.FullSyncPeriod, 1 h); Infinity disables. */
  fullSyncPeriod: Seconds;
  /**
   * Harness setting: keep the texts (each rule's, the last transactions) so the table and the transactions can be
   * printed [true]. Without them every count and the walk are the same (ProxyNodeConfig.renderable).
   */
  keepText?: boolean;
}

/** Counted work of one sync (both nft invocations: the stale-chain deletion and the main transaction). */
export interface NftSyncCounts {
  full: boolean;
  /** Operations in the main transaction (knftables NumOperations). */
  operations: number;
  elementsAdded: number;
  elementsDeleted: number;
  rulesWritten: number;
  chainsAdded: number;
  chainsFlushed: number;
  /** Chains deleted (stale chains, in the separate transaction, plus the first sync's base-chain recreation). */
  chainsDeleted: number;
  setsWritten: number;
  setsDeleted: number;
  /** Bytes of `nft -f` input across both transactions. */
  bytes: number;
  /** nft -f invocations (0 to 2). */
  transactions: number;
  /** Chains and sets in the table when kube-proxy lists them (`nft -j list chains` / `list sets`) this sync. */
  chainsListed: number;
  setsListed: number;
  /** Anonymous sets the main transaction creates (one per `numgen` vmap rule, multi-range address sets). */
  anonSetsAdded: number;
  /** Sets (named and anonymous) in the kernel's table when the main transaction starts. */
  kernelSetsBefore: number;
  /** Rules in the table when the main transaction starts. */
  rulesBefore: number;
}

interface ElementStorage {
  readonly name: string;
  readonly map: boolean;
  readonly elements: Map<string, string>;
  /** Keys not ensured yet in this sync (a full-scan sync only; an incremental one tracks owners instead). */
  leftover: Set<string>;
  /** How many ensure calls of the recorded service ports (Replay.elems) name each key. */
  readonly owners: Map<string, number>;
}

function storage(name: string, map: boolean): ElementStorage {
  return { name, map, elements: new Map(), leftover: new Set(), owners: new Map() };
}

/** An element write of an incremental sync, undone if the sync falls back to the full scan. */
type JournalEntry = [s: ElementStorage, key: string, previous: string | undefined];

/** Thrown inside an incremental sync when two service ports share a chain or an element's value differs. */
class SharedState extends Error {}

/**
 * An endpoint's chain name (and its affinity set's, made only when a sticky service asks: most are never used), and
 * the rules of its chain, which are a function of the endpoint: the table of a proxier that keeps no texts keeps
 * this as the chain (a SourcedChain) and builds the rules again when a packet reaches it.
 */
class EndpointNames extends SourcedChain {
  constructor(
    readonly ip: string,
    readonly port: number,
    readonly chain: string,
    readonly protocol: Protocol,
    readonly family: Family,
    readonly sticky: boolean,
  ) {
    super();
  }

  get name(): string {
    return this.chain;
  }

  /** Cache key: "IP:port", unique within the service port the names belong to. */
  get key(): string {
    return `${this.ip}:${this.port}`;
  }

  get affinity(): string {
    return AFFINITY_PREFIX + this.chain.slice(ENDPOINT_PREFIX.length);
  }

  /** How many rules the endpoint chain holds. */
  get ruleCount(): number {
    return this.sticky ? 3 : 2;
  }

  /** The endpoint chain's rule i, built with `rb` (a builder that keeps no texts unless one is given). */
  ruleAt(i: number, rb = new RuleBuilder(this.family, false, false)): NftRule {
    if (i === 0) return rb.addr('saddr', this.ip).jump(MARK_MASQ_CHAIN).build();
    if (i === 1 && this.sticky) return rb.update(this.affinity).build();
    return rb.dnat(this.protocol, this.ip, this.port).build();
  }
}

type ElementCall = [s: ElementStorage, key: string, value: string, comment: string | null];

/**
 * What one service port contributed to the last sync it was computed in: replayed as is (chains marked active,
 * elements ensured) while neither its ServicePortInfo nor its endpoint list changed, which keeps an unchanged
 * service's share of a partial sync to a few set operations, as kube-proxy's skipServiceUpdate intends.
 */
interface Replay {
  info: ServicePortInfo;
  eps: readonly EndpointInfo[] | undefined;
  /** namespace/name (what changedServices holds) */
  nsName: string;
  chains: string[];
  affinity: string[];
  names: EndpointNames[];
  elems: ElementCall[];
}

/** The record with exact-size lists (it is kept until the service port changes; a pushed-to array reserves room). */
function exact(rec: Replay): Replay {
  rec.chains = rec.chains.slice();
  rec.elems = rec.elems.slice();
  return rec;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether a service port's new record names the same chains, endpoints and elements as its previous one: the
 * previous one is then kept (a full resync of an unchanged service port keeps nothing new).
 */
function sameRecord(prev: Replay, rec: Replay): boolean {
  if (prev.nsName !== rec.nsName || !sameList(prev.chains, rec.chains) || !sameList(prev.affinity, rec.affinity)) return false;
  if (!sameList(prev.names, rec.names) || prev.elems.length !== rec.elems.length) return false;
  for (let i = 0; i < rec.elems.length; i++) {
    const p = prev.elems[i]!;
    const r = rec.elems[i]!;
    if (p[0] !== r[0] || p[1] !== r[1] || p[2] !== r[2] || p[3] !== r[3]) return false;
  }
  return true;
}

/** The per-service-port facts syncProxyRules derives (servicePortInfo's cached names included). */
interface PortFacts {
  info: ServicePortInfo;
  nsName: string;
  protocol: string;
  clusterPolicyChain: string;
  localPolicyChain: string;
  externalChain: string;
  firewallChain: string;
}

/** A ServicePort the nftables proxier programs: a valid ClusterIP of the proxier's family, TCP/UDP/SCTP. */
export function isProxiable(info: ServicePortInfo, family: Family = 'ip'): boolean {
  if (info.type === 'ExternalName') return false;
  if (info.clusterIP === '' || info.clusterIP === 'None') return false;
  if (!(info.protocol === 'TCP' || info.protocol === 'UDP' || info.protocol === 'SCTP')) return false;
  return family === 'ip6' ? parseIPSloppy(info.clusterIP)?.family === 'IPv6' : parseIPv4(info.clusterIP) !== null;
}

/** The addresses of the proxier's family, canonical (Go's net.IP String()). */
function familyList(xs: readonly string[], family: Family): string[] {
  const out: string[] = [];
  for (const x of xs) {
    if (family === 'ip6') {
      const p = parseIPSloppy(x.trim());
      if (p !== null && p.family === 'IPv6') out.push(p.text);
      continue;
    }
    const n = parseIPv4(x.trim());
    if (n !== null) out.push(formatIPv4(n));
  }
  return out;
}

/** A loadBalancerSourceRanges entry of the proxier's family: its canonical text. */
function familyCidr(r: string, family: Family): { text: string } | null {
  if (family === 'ip') return parseCidr4(r);
  const c = parseCIDRSloppy(r.trim());
  return c !== null && c.family === 'IPv6' ? { text: c.text } : null;
}

export class NftProxier {
  readonly table: NftTable;
  needFullSync = true;
  private flushed = false;
  private lastFullSync = -Infinity;
  /** staleChains: chain -> virtual time it became stale. */
  readonly staleChains = new Map<string, Seconds>();
  private readonly clusterIPs = storage(CLUSTER_IPS_SET, false);
  private readonly serviceIPs = storage(SERVICE_IPS_MAP, true);
  private readonly firewallIPs = storage(FIREWALL_IPS_MAP, true);
  private readonly noEndpointServices = storage(NO_ENDPOINT_SERVICES_MAP, true);
  private readonly noEndpointNodePorts = storage(NO_ENDPOINT_NODEPORTS_MAP, true);
  private readonly serviceNodePorts = storage(SERVICE_NODEPORTS_MAP, true);
  private readonly facts = new Map<string, PortFacts>();
  /** Per-service chain name base (after service-, local-, external-) -> service-port key, for lookups. */
  private readonly chainKeys = new Map<string, string>();
  private replays = new Map<string, Replay>();
  /** The last transactions' operations (null when texts are not kept). */
  private lastOps: Op[] | null = [];
  private lastStaleOps: Op[] | null = [];
  private lastFullOps: Op[] | null = [];
  private readonly keepText: boolean;
  /** The recorded service port (Replay) each active per-service chain belongs to (see recordOwners). */
  private readonly chainOwner = new Map<string, Replay>();
  /** Affinity sets of the recorded service ports, with the number of them naming each. */
  private readonly affinityOwners = new Map<string, number>();
  /** Whether a partial sync may visit only the changed service ports (see recordOwners). */
  private incremental = false;

  constructor(readonly cfg: NftProxierConfig) {
    this.table = new NftTable(cfg.family, KUBE_PROXY_TABLE);
    this.keepText = cfg.keepText ?? true;
  }

  private rb(): RuleBuilder {
    return new RuleBuilder(this.cfg.family, this.keepText);
  }

  private kept(ops: Op[] | null): Op[] {
    if (ops === null) throw new Error('nftables proxier: built with renderable: false, it keeps no transaction text');
    return ops;
  }

  private get addrType(): string {
    return this.cfg.family === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
  }

  /** The main transaction of the last sync, as `nft -f` reads it. */
  lastTransaction(): string {
    return transactionText(this.kept(this.lastOps), this.cfg.family, KUBE_PROXY_TABLE);
  }

  /** The stale-chain deletion transaction run before the last sync's main one ('' when none). */
  lastStaleTransaction(): string {
    return transactionText(this.kept(this.lastStaleOps), this.cfg.family, KUBE_PROXY_TABLE);
  }

  /** The last full sync's transaction (what `nft -f` needs to build the whole table from nothing on a fresh node). */
  lastFullTransaction(): string {
    return transactionText(this.kept(this.lastFullOps), this.cfg.family, KUBE_PROXY_TABLE);
  }

  lastOperations(): readonly Op[] {
    return this.kept(this.lastOps);
  }

  // ---------------------------------------------------------------------------------------------
  // setupNFTables
  // ---------------------------------------------------------------------------------------------

  private ensureChain(ops: OpSink, created: Set<string>, chain: ChainSpec, skipCreation: boolean): void {
    if (created.has(chain.name)) return;
    created.add(chain.name);
    if (skipCreation) return;
    ops.push(
      { verb: 'add', obj: 'chain', chain },
      { verb: 'flush', obj: 'chain', chain: chain.base === undefined && chain.comment === undefined ? chain : { name: chain.name } },
    );
  }

  private reset(ops: OpSink, s: ElementStorage): void {
    s.elements.clear();
    ops.push({ verb: 'flush', obj: 'set', set: { name: s.name, map: s.map, type: '' } });
    s.leftover = new Set();
  }

  private setup(ops: OpSink): void {
    const c = this.cfg;
    const addr = this.addrType;
    const noLocalhost = c.family === 'ip6' ? '::1' : '127.0.0.0/8';
    ops.push({ verb: 'add', obj: 'table', comment: 'rules for kube-proxy' });
    if (!this.flushed) {
      for (const bc of BASE_CHAINS) {
        ops.push({ verb: 'add', obj: 'chain', chain: { name: bc.name } }, { verb: 'delete', obj: 'chain', chain: { name: bc.name } });
      }
      this.flushed = true;
    }
    for (const bc of BASE_CHAINS) {
      const spec: ChainSpec = { name: bc.name, base: { type: bc.type, hook: bc.hook, priority: bc.priority } };
      ops.push({ verb: 'add', obj: 'chain', chain: spec }, { verb: 'flush', obj: 'chain', chain: { name: bc.name } });
    }
    const created = new Set<string>();
    for (const j of JUMP_CHAINS) {
      this.ensureChain(ops, created, { name: j.dst }, false);
      const r = this.rb();
      if (j.ctNew) r.ctNew();
      this.rule(ops, j.src, r.jump(j.dst).build());
    }
    for (const ch of [SERVICES_CHAIN, CLUSTER_IPS_CHECK, MASQUERADING_CHAIN, MARK_MASQ_CHAIN])
      this.ensureChain(ops, created, { name: ch }, false);

    this.rule(ops, MARK_MASQ_CHAIN, this.rb().markSet('or', c.masqueradeMark).build());
    this.rule(ops, MASQUERADING_CHAIN, this.rb().markZero(c.masqueradeMark).verdict('return').build());
    this.rule(ops, MASQUERADING_CHAIN, this.rb().markSet('xor', c.masqueradeMark).build());
    this.rule(ops, MASQUERADING_CHAIN, this.rb().masqueradeFullyRandom().build());

    ops.push({ verb: 'add', obj: 'set', set: { name: CLUSTER_IPS_SET, map: false, type: addr, comment: 'Active ClusterIPs' } });
    this.rule(
      ops,
      CLUSTER_IPS_CHECK,
      this.rb().inSet('daddr', CLUSTER_IPS_SET).verdict('reject').build('Reject traffic to invalid ports of ClusterIPs'),
    );
    if (c.serviceCIDRs !== '') {
      this.rule(
        ops,
        CLUSTER_IPS_CHECK,
        this.rb().daddrAnonJoined(c.serviceCIDRs).verdict('drop').build('Drop traffic to unallocated ClusterIPs'),
      );
    }

    const npSet: SetSpec = { name: NODEPORT_IPS_SET, map: false, type: addr, comment: 'IPs that accept NodePort traffic' };
    ops.push({ verb: 'add', obj: 'set', set: npSet });
    if (c.nodePortIPs === 'all') ops.push({ verb: 'delete', obj: 'set', set: { name: NODEPORT_IPS_SET, map: false, type: '' } });
    else {
      ops.push({ verb: 'flush', obj: 'set', set: { name: NODEPORT_IPS_SET, map: false, type: '' } });
      for (const ip of c.nodePortIPs) {
        if (ip.startsWith('127.') || ip === '::1') continue; // localhost NodePorts are not supported
        ops.push({ verb: 'add', obj: 'element', el: { set: NODEPORT_IPS_SET, map: false, key: ip, value: '', comment: null } });
      }
    }

    ops.push({
      verb: 'add',
      obj: 'set',
      set: {
        name: NO_ENDPOINT_SERVICES_MAP,
        map: true,
        type: `${addr} . inet_proto . inet_service : verdict`,
        comment: 'vmap to drop or reject packets to services with no endpoints',
      },
    });
    ops.push({
      verb: 'add',
      obj: 'set',
      set: {
        name: NO_ENDPOINT_NODEPORTS_MAP,
        map: true,
        type: 'inet_proto . inet_service : verdict',
        comment: 'vmap to drop or reject packets to service nodeports with no endpoints',
      },
    });
    ops.push(
      { verb: 'add', obj: 'chain', chain: { name: REJECT_CHAIN, comment: 'helper for @no-endpoint-services / @no-endpoint-nodeports' } },
      { verb: 'flush', obj: 'chain', chain: { name: REJECT_CHAIN } },
    );
    this.rule(ops, REJECT_CHAIN, this.rb().verdict('reject').build());
    this.rule(ops, SERVICE_ENDPOINTS_CHECK, this.rb().vmap3(NO_ENDPOINT_SERVICES_MAP).build());
    if (c.nodePortIPs === 'all')
      this.rule(ops, NODEPORT_ENDPOINTS_CHECK, this.rb().addr('daddr', noLocalhost, true).vmap2(NO_ENDPOINT_NODEPORTS_MAP).build());
    else this.rule(ops, NODEPORT_ENDPOINTS_CHECK, this.rb().inSet('daddr', NODEPORT_IPS_SET).vmap2(NO_ENDPOINT_NODEPORTS_MAP).build());

    ops.push({
      verb: 'add',
      obj: 'set',
      set: {
        name: FIREWALL_IPS_MAP,
        map: true,
        type: `${addr} . inet_proto . inet_service : verdict`,
        comment: 'destinations that are subject to LoadBalancerSourceRanges',
      },
    });
    this.ensureChain(ops, created, { name: FIREWALL_CHECK }, false);
    this.rule(ops, FIREWALL_CHECK, this.rb().vmap3(FIREWALL_IPS_MAP).build());

    ops.push({
      verb: 'add',
      obj: 'set',
      set: {
        name: SERVICE_IPS_MAP,
        map: true,
        type: `${addr} . inet_proto . inet_service : verdict`,
        comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic',
      },
    });
    ops.push({
      verb: 'add',
      obj: 'set',
      set: { name: SERVICE_NODEPORTS_MAP, map: true, type: 'inet_proto . inet_service : verdict', comment: 'NodePort traffic' },
    });
    this.rule(ops, SERVICES_CHAIN, this.rb().vmap3(SERVICE_IPS_MAP).build());
    if (c.nodePortIPs === 'all') {
      this.rule(ops, SERVICES_CHAIN, this.rb().fibLocal('daddr').addr('daddr', noLocalhost, true).vmap2(SERVICE_NODEPORTS_MAP).build());
    } else {
      this.rule(ops, SERVICES_CHAIN, this.rb().inSet('daddr', NODEPORT_IPS_SET).vmap2(SERVICE_NODEPORTS_MAP).build());
    }

    for (const s of [
      this.clusterIPs,
      this.serviceIPs,
      this.firewallIPs,
      this.noEndpointServices,
      this.noEndpointNodePorts,
      this.serviceNodePorts,
    ]) {
      this.reset(ops, s);
    }
  }

  private rule(ops: OpSink, chain: string, rule: NftRule): void {
    ops.push({ verb: 'add', obj: 'rule', chain, rule });
  }

  /**
   * nftElementStorage.ensureElem. With a journal (an incremental sync), writes are recorded to be undone, and a key
   * another service port owns with another value ends the incremental sync (SharedState).
   */
  private ensureElem(
    ops: OpSink,
    s: ElementStorage,
    key: string,
    value: string,
    comment: string | null,
    journal: JournalEntry[] | null,
  ): void {
    const cur = s.elements.get(key);
    if (cur === value) {
      s.leftover.delete(key);
      return;
    }
    if (journal !== null) {
      if (cur !== undefined && s.owners.has(key)) throw new SharedState();
      journal.push([s, key, cur]);
    }
    const el: ElementSpec = { set: s.name, map: s.map, key, value, comment };
    if (cur !== undefined) {
      ops.push({ verb: 'delete', obj: 'element', el }, { verb: 'add', obj: 'element', el });
      s.elements.set(key, value);
      s.leftover.delete(key);
    } else {
      ops.push({ verb: 'add', obj: 'element', el });
      s.elements.set(key, value);
    }
  }

  /** nftElementStorage.cleanupLeftoverKeys */
  private cleanupLeftovers(ops: OpSink, s: ElementStorage): void {
    for (const key of s.leftover) {
      ops.push({ verb: 'delete', obj: 'element', el: { set: s.name, map: s.map, key, value: '', comment: null } });
      s.elements.delete(key);
    }
    s.leftover = new Set();
  }

  private portFacts(info: ServicePortInfo): PortFacts {
    const prev = this.facts.get(info.key);
    if (prev !== undefined && prev.info.protocol === info.protocol) {
      prev.info = info;
      return prev;
    }
    const protocol = info.protocol.toLowerCase();
    const base = servicePortChainNameBase(info.namespace, info.name, protocol, info.portName);
    const f: PortFacts = {
      info,
      nsName: `${info.namespace}/${info.name}`,
      protocol,
      clusterPolicyChain: SERVICE_PREFIX + base,
      localPolicyChain: LOCAL_PREFIX + base,
      externalChain: EXTERNAL_PREFIX + base,
      firewallChain: FIREWALL_PREFIX + base,
    };
    this.facts.set(info.key, f);
    this.chainKeys.set(base, info.key);
    return f;
  }

  /** The service-port key whose service-/local-/external- chain this is, '' when none. */
  serviceKeyOfChain(chain: string): string {
    for (const prefix of [SERVICE_PREFIX, LOCAL_PREFIX, EXTERNAL_PREFIX])
      if (chain.startsWith(prefix)) return this.chainKeys.get(chain.slice(prefix.length)) ?? '';
    return '';
  }

  /** An endpoint's names, from `cache` (the service port's, seeded with the names of its previous sync) or hashed. */
  private epNames(f: PortFacts, e: EndpointInfo, cache: Map<string, EndpointNames>): EndpointNames {
    const k = `${e.ip}:${e.port}`;
    let n = cache.get(k);
    if (n === undefined) {
      const base = endpointChainNameBase(f.info.namespace, f.info.name, f.protocol, f.info.portName, e.ip, e.port);
      n = new EndpointNames(e.ip, e.port, ENDPOINT_PREFIX + base, f.info.protocol, this.cfg.family, f.info.stickyMaxAgeSeconds > 0);
      cache.set(k, n);
    }
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // syncProxyRules
  // ---------------------------------------------------------------------------------------------

  /**
   * One syncProxyRules run at virtual time `now`. `changedServices` holds the namespace/name of every service whose
   * Service or EndpointSlices changed since the previous sync (kube-proxy's UpdatedServices).
   */
  /**
   * What syncProxyRules does for one service port it does not skip: its chains (created unless `partial` and the
   * service is unchanged), map and set elements, and rules. `created` holds the chains already ensured in this
   * sync, `prev` is the service port's record of its previous sync (its endpoint names are reused); element writes
   * go to `journal` when one is given.
   */
  private servicePort(
    ops: OpSink,
    info: ServicePortInfo,
    rawEps: readonly EndpointInfo[] | undefined,
    tryPartialSync: boolean,
    changedServices: ReadonlySet<string>,
    created: Set<string>,
    prev: Replay | undefined,
    journal: JournalEntry[] | null,
  ): Replay {
    const c = this.cfg;
    const f = this.portFacts(info);
    const names = new Map<string, EndpointNames>();
    const sticky = info.stickyMaxAgeSeconds > 0;
    if (prev !== undefined && prev.info.protocol === info.protocol && prev.info.stickyMaxAgeSeconds > 0 === sticky)
      for (const n of prev.names) names.set(n.key, n);
    const rec: Replay = { info, eps: rawEps, nsName: f.nsName, chains: [], affinity: [], names: [], elems: [] };
    const protocol = f.protocol;
    const port = String(info.port);
    const fam = this.cfg.family;
    const clusterIP = familyList([info.clusterIP], fam)[0]!;
    const externalIPs = familyList(info.externalIPs, fam);
    const lbIPs = familyList(info.loadBalancerIPs, fam);
    const eps = (rawEps ?? []).filter((e) => (fam === 'ip6' ? parseIPSloppy(e.ip)?.family === 'IPv6' : parseIPv4(e.ip) !== null));
    const usesCluster = usesClusterEndpoints(info);
    const usesLocal = usesLocalEndpoints(info);
    const { cluster, local, all, hasAny: hasEndpoints } = categorizeEndpoints(eps, usesCluster, usesLocal);
    const skip = tryPartialSync && !changedServices.has(f.nsName);
    const chain = (name: string): void => {
      this.ensureChain(ops, created, { name }, skip);
      rec.chains.push(name);
    };
    const elem = (st: ElementStorage, k: string, v: string, cm: string | null): void => {
      this.ensureElem(ops, st, k, v, cm, journal);
      rec.elems.push([st, k, v, cm]);
    };
    const externallyAccessible = info.nodePort !== 0 || lbIPs.length > 0 || externalIPs.length > 0;

    const allNames = all.map((e) => this.epNames(f, e, names));
    rec.names = allNames;
    for (const n of allNames) {
      chain(n.chain);
      if (sticky) rec.affinity.push(n.affinity);
    }
    const clusterPolicyChain = f.clusterPolicyChain;
    const usesClusterPolicyChain = cluster.length > 0 && usesCluster;
    if (usesClusterPolicyChain) chain(clusterPolicyChain);
    const localPolicyChain = f.localPolicyChain;
    const usesLocalPolicyChain = local.length > 0 && usesLocal;
    if (usesLocalPolicyChain) chain(localPolicyChain);

    let internalPolicyChain = clusterPolicyChain;
    let hasInternalEndpoints = hasEndpoints;
    if (info.internalPolicyLocal) {
      internalPolicyChain = localPolicyChain;
      if (local.length === 0) hasInternalEndpoints = false;
    }
    const internalTrafficChain = internalPolicyChain;
    let externalPolicyChain = clusterPolicyChain;
    let hasExternalEndpoints = hasEndpoints;
    if (info.externalPolicyLocal) {
      externalPolicyChain = localPolicyChain;
      if (local.length === 0) hasExternalEndpoints = false;
    }
    const externalTrafficChain = f.externalChain;
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible;
    if (usesExternalTrafficChain) chain(externalTrafficChain);

    let internalVerdict = '';
    let externalVerdict = '';
    if (!hasEndpoints) {
      internalVerdict = `goto ${REJECT_CHAIN}`;
      externalVerdict = `goto ${REJECT_CHAIN}`;
    } else {
      if (!hasInternalEndpoints) internalVerdict = 'drop';
      if (!hasExternalEndpoints) externalVerdict = 'drop';
    }

    elem(this.clusterIPs, clusterIP, '', null);
    if (hasInternalEndpoints) elem(this.serviceIPs, `${clusterIP} . ${protocol} . ${port}`, `goto ${internalTrafficChain}`, null);
    else elem(this.noEndpointServices, `${clusterIP} . ${protocol} . ${port}`, internalVerdict, info.key);

    for (const ip of externalIPs) {
      if (hasEndpoints) elem(this.serviceIPs, `${ip} . ${protocol} . ${port}`, `goto ${externalTrafficChain}`, null);
      if (!hasExternalEndpoints) elem(this.noEndpointServices, `${ip} . ${protocol} . ${port}`, externalVerdict, info.key);
    }

    const sourceRanges = info.loadBalancerSourceRanges.map((r) => familyCidr(r, fam)).filter((x) => x !== null);
    const usesFWChain = lbIPs.length > 0 && sourceRanges.length > 0;
    const fwChain = f.firewallChain;
    if (usesFWChain) chain(fwChain);

    for (const ip of lbIPs) {
      if (hasEndpoints) elem(this.serviceIPs, `${ip} . ${protocol} . ${port}`, `goto ${externalTrafficChain}`, null);
      if (usesFWChain) elem(this.firewallIPs, `${ip} . ${protocol} . ${port}`, `goto ${fwChain}`, null);
    }
    if (!hasExternalEndpoints) {
      for (const ip of lbIPs) elem(this.noEndpointServices, `${ip} . ${protocol} . ${port}`, externalVerdict, info.key);
    }

    if (info.nodePort !== 0) {
      const np = `${protocol} . ${info.nodePort}`;
      if (hasEndpoints) elem(this.serviceNodePorts, np, `goto ${externalTrafficChain}`, null);
      if (!hasExternalEndpoints) elem(this.noEndpointNodePorts, np, externalVerdict, info.key);
    }

    if (skip) return exact(rec);

    if (hasInternalEndpoints) {
      if (c.masqueradeAll) {
        this.rule(
          ops,
          internalTrafficChain,
          this.rb().addr('daddr', clusterIP).dport(info.protocol, info.port).jump(MARK_MASQ_CHAIN).build(),
        );
      } else if (c.localCIDR !== null) {
        this.rule(
          ops,
          internalTrafficChain,
          this.rb().addr('daddr', clusterIP).addr('saddr', c.localCIDR, true).jump(MARK_MASQ_CHAIN).build(),
        );
      }
    }

    if (usesExternalTrafficChain) {
      if (!info.externalPolicyLocal) {
        this.rule(ops, externalTrafficChain, this.rb().jump(MARK_MASQ_CHAIN).build());
      } else {
        if (c.localCIDR !== null) {
          this.rule(
            ops,
            externalTrafficChain,
            this.rb().addr('saddr', c.localCIDR).goto(clusterPolicyChain).build('short-circuit pod traffic'),
          );
        }
        this.rule(ops, externalTrafficChain, this.rb().fibLocal('saddr').jump(MARK_MASQ_CHAIN).build('masquerade local traffic'));
        this.rule(ops, externalTrafficChain, this.rb().fibLocal('saddr').goto(clusterPolicyChain).build('short-circuit local traffic'));
      }
      if (hasExternalEndpoints) this.rule(ops, externalTrafficChain, this.rb().goto(externalPolicyChain).build());
    }

    if (usesFWChain) {
      const sources = sourceRanges.map((r) => r.text);
      const allowFromNode = c.nodeIP !== '' && sourceRanges.some((r) => cidrContainsIP(r.text, c.nodeIP));
      if (allowFromNode) sources.push(...lbIPs);
      this.rule(ops, fwChain, this.rb().saddrNotAnon(sources).verdict('drop').build());
    }

    if (sticky) {
      for (const n of allNames) {
        ops.push({
          verb: 'add',
          obj: 'set',
          set: { name: n.affinity, map: false, type: this.addrType, flags: ['dynamic', 'timeout'], timeout: info.stickyMaxAgeSeconds },
        });
      }
    }

    if (usesClusterPolicyChain) this.writeServiceToEndpointRules(ops, f, clusterPolicyChain, cluster, names);
    if (usesLocalPolicyChain) this.writeServiceToEndpointRules(ops, f, localPolicyChain, local, names);

    // without texts, the table keeps an endpoint chain as its EndpointNames (the rules' source) and a rule count
    for (const n of allNames) {
      for (let i = 0; i < n.ruleCount; i++) {
        if (this.keepText) this.rule(ops, n.chain, n.ruleAt(i, this.rb()));
        else ops.push({ verb: 'add', obj: 'rule', chain: n.chain, rule: n.ruleAt(i), from: n });
      }
    }
    return exact(rec);
  }

  sync(snapshot: ProxySnapshot, changedServices: ReadonlySet<string>, now: Seconds): NftSyncCounts {
    const c = this.cfg;
    const full = this.needFullSync || now - this.lastFullSync > c.fullSyncPeriod;

    // Stale chains old enough are deleted first, in a transaction of their own.
    const staleOps: Op[] = [];
    for (const [chain, t] of this.staleChains) {
      if (t < now - 1) {
        staleOps.push({ verb: 'delete', obj: 'chain', chain: { name: chain } });
        this.staleChains.delete(chain);
      }
    }
    if (staleOps.length > 0) {
      try {
        this.table.applyAll(staleOps);
      } catch {
        // as upstream: the chains will be found stale again and retried
      }
    }

    // the table as kube-proxy lists it before the transaction
    const kernelSetsBefore = this.table.kernelSets();
    const rulesBefore = this.table.ruleCount();
    const chainsListed = this.table.chains.size;
    const setsListed = this.table.sets.size;

    // the main transaction, applied and counted as it is written (a full sync's runs to millions of operations)
    const tx = new Transaction(this.table, c.family, this.keepText);
    const changed = !full && this.incremental ? this.syncChanged(snapshot, changedServices, now, staleOps) : null;
    if (changed !== null) for (const op of changed) tx.add(op);
    else this.syncAll(tx, snapshot, changedServices, now, full);

    this.needFullSync = false;
    if (full) {
      this.lastFullSync = now;
      this.lastFullOps = tx.ops;
    }
    this.lastOps = tx.ops;
    this.lastStaleOps = this.keepText ? staleOps : null;
    // the stale-chain deletion: a transaction of its own
    let staleBytes = 0;
    for (const op of staleOps) staleBytes += opBytes(op, c.family, KUBE_PROXY_TABLE);
    return {
      full,
      operations: tx.operations,
      anonSetsAdded: tx.anonSetsAdded,
      elementsAdded: tx.elementsAdded,
      elementsDeleted: tx.elementsDeleted,
      rulesWritten: tx.rulesWritten,
      chainsAdded: tx.chainsAdded,
      chainsFlushed: tx.chainsFlushed,
      chainsDeleted: tx.chainsDeleted + staleOps.length,
      setsWritten: tx.setsWritten,
      setsDeleted: tx.setsDeleted,
      bytes: tx.bytes + staleBytes,
      transactions: (tx.operations > 0 ? 1 : 0) + (staleOps.length > 0 ? 1 : 0),
      chainsListed,
      setsListed,
      kernelSetsBefore,
      rulesBefore,
    };
  }

  private storages(): ElementStorage[] {
    return [this.clusterIPs, this.serviceIPs, this.firewallIPs, this.noEndpointServices, this.noEndpointNodePorts, this.serviceNodePorts];
  }

  /** syncProxyRules as upstream runs it: every service port in key order, then every chain and set of the table. */
  private syncAll(ops: OpSink, snapshot: ProxySnapshot, changedServices: ReadonlySet<string>, now: Seconds, full: boolean): void {
    const tryPartialSync = !full;
    if (full) this.setup(ops);
    else for (const s of this.storages()) s.leftover = new Set(s.elements.keys());
    const activeChains = new Set<string>();
    const activeAffinitySets = new Set<string>();

    const keys = [...snapshot.services.keys()].sort();
    const replays = new Map<string, Replay>();
    for (const key of keys) {
      const info = snapshot.services.get(key)!;
      if (!isProxiable(info, this.cfg.family)) continue;
      const rawEps = snapshot.endpoints.get(key);
      const prev = this.replays.get(key);
      if (tryPartialSync && prev !== undefined && prev.info === info && prev.eps === rawEps && !changedServices.has(prev.nsName)) {
        for (const ch of prev.chains) activeChains.add(ch);
        for (const a of prev.affinity) activeAffinitySets.add(a);
        for (const [st, k, v, cm] of prev.elems) this.ensureElem(ops, st, k, v, cm, null);
        replays.set(key, prev);
        continue;
      }
      const rec = this.servicePort(ops, info, rawEps, tryPartialSync, changedServices, activeChains, prev, null);
      for (const a of rec.affinity) activeAffinitySets.add(a);
      replays.set(key, prev !== undefined && sameRecord(prev, rec) ? Object.assign(prev, { info: rec.info, eps: rec.eps }) : rec);
    }

    // Stale service chains: flushed now (a map element may still point at them), deleted a second later.
    for (const name of this.table.chains.keys()) {
      if (!isServiceChainName(name)) continue;
      if (!activeChains.has(name)) {
        ops.push({ verb: 'flush', obj: 'chain', chain: { name } });
        this.staleChains.set(name, now);
      } else this.staleChains.delete(name);
    }
    for (const name of this.table.sets.keys()) {
      if (isAffinitySetName(name) && !activeAffinitySets.has(name))
        ops.push({ verb: 'delete', obj: 'set', set: { name, map: false, type: '' } });
    }
    for (const s of this.storages()) this.cleanupLeftovers(ops, s);

    this.replays = replays;
    this.recordOwners();
  }

  /**
   * Who owns what after a full scan: each active per-service chain's service port, and per element key the number
   * of ensure calls naming it. The incremental sync is exact only while no chain is shared by two service ports and
   * every ensure of a key writes the value the key holds (multi-port services share their ClusterIP element with one
   * value); otherwise the order of service ports decides the operations and every sync scans them all.
   */
  private recordOwners(): void {
    let exact = true;
    // chainOwner is updated in place, not rebuilt: a record's chains never change (a changed service port gets a
    // new record), so an owner that is not a current record is a stale entry, dropped below
    const live = new Set(this.replays.values());
    this.affinityOwners.clear();
    for (const s of this.storages()) s.owners.clear();
    for (const rec of this.replays.values()) {
      for (const ch of rec.chains) {
        const o = this.chainOwner.get(ch);
        if (o !== undefined && o !== rec && live.has(o)) exact = false;
        this.chainOwner.set(ch, rec);
      }
      for (const a of rec.affinity) this.affinityOwners.set(a, (this.affinityOwners.get(a) ?? 0) + 1);
      for (const [st, k, v] of rec.elems) {
        st.owners.set(k, (st.owners.get(k) ?? 0) + 1);
        if (st.elements.get(k) !== v) exact = false;
      }
    }
    for (const [ch, o] of this.chainOwner) if (!live.has(o)) this.chainOwner.delete(ch);
    this.incremental = exact;
  }

  private own(rec: Replay): void {
    for (const ch of rec.chains) this.chainOwner.set(ch, rec);
    for (const a of rec.affinity) this.affinityOwners.set(a, (this.affinityOwners.get(a) ?? 0) + 1);
    for (const [st, k] of rec.elems) st.owners.set(k, (st.owners.get(k) ?? 0) + 1);
  }

  private disown(rec: Replay): void {
    for (const ch of rec.chains) if (this.chainOwner.get(ch) === rec) this.chainOwner.delete(ch);
    for (const a of rec.affinity) {
      const n = this.affinityOwners.get(a)! - 1;
      if (n === 0) this.affinityOwners.delete(a);
      else this.affinityOwners.set(a, n);
    }
    for (const [st, k] of rec.elems) {
      const n = st.owners.get(k)! - 1;
      if (n === 0) st.owners.delete(k);
      else st.owners.set(k, n);
    }
  }

  /**
   * The same partial sync computed from the changed service ports only: an unchanged service port's share of a
   * partial sync is to mark its chains active and ensure its elements, which (while nothing is shared, see
   * recordOwners) writes nothing, so only the changed and removed service ports are visited, in key order, and
   * only their old chains and elements are candidates for flushing and deletion, in the table's order. Returns
   * null, with every change undone, when a changed service port turns out to share a chain or an element value
   * with another: the full scan then decides (and its order matters).
   */
  private syncChanged(snapshot: ProxySnapshot, changedServices: ReadonlySet<string>, now: Seconds, staleOps: readonly Op[]): Op[] | null {
    const recompute: string[] = [];
    const removed: string[] = [];
    let seen = 0;
    for (const [key, info] of snapshot.services) {
      const prev = this.replays.get(key);
      if (prev !== undefined) {
        seen++;
        if (prev.info === info && prev.eps === snapshot.endpoints.get(key) && !changedServices.has(prev.nsName)) continue;
        if (isProxiable(info, this.cfg.family)) recompute.push(key);
        else removed.push(key);
      } else if (isProxiable(info, this.cfg.family)) recompute.push(key);
    }
    if (seen < this.replays.size) for (const key of this.replays.keys()) if (!snapshot.services.has(key)) removed.push(key);
    recompute.sort();

    const old: Replay[] = [];
    for (const key of removed) old.push(this.replays.get(key)!);
    for (const key of recompute) {
      const prev = this.replays.get(key);
      if (prev !== undefined) old.push(prev);
    }
    for (const rec of old) this.disown(rec);

    const ops: Op[] = [];
    const journal: JournalEntry[] = [];
    const made: Array<[string, Replay]> = [];
    try {
      for (const key of recompute) {
        const created = new Set<string>();
        const rec = this.servicePort(
          ops,
          snapshot.services.get(key)!,
          snapshot.endpoints.get(key),
          true,
          changedServices,
          created,
          this.replays.get(key),
          journal,
        );
        for (const ch of rec.chains) {
          const o = this.chainOwner.get(ch);
          if (o !== undefined && o !== rec) throw new SharedState();
        }
        for (const [st, k, v] of rec.elems) if (st.elements.get(k) !== v) throw new SharedState();
        this.own(rec);
        made.push([key, rec]);
      }
    } catch (e) {
      if (!(e instanceof SharedState)) throw e;
      for (let i = journal.length - 1; i >= 0; i--) {
        const [st, k, prev] = journal[i]!;
        if (prev === undefined) st.elements.delete(k);
        else st.elements.set(k, prev);
      }
      for (const [, rec] of made) this.disown(rec);
      for (const rec of old) this.own(rec);
      return null;
    }

    // chains: the changed service ports' old chains no longer owned, plus the stale ones, in the table's order
    const candidates = new Set<string>();
    for (const rec of old) for (const ch of rec.chains) candidates.add(ch);
    for (const op of staleOps) if (op.obj === 'chain') candidates.add(op.chain.name);
    for (const ch of this.staleChains.keys()) candidates.add(ch);
    const stale: ChainState[] = [];
    for (const name of candidates) {
      const ch = this.table.chains.get(name);
      if (ch === undefined || !isServiceChainName(name)) continue;
      if (this.chainOwner.has(name)) this.staleChains.delete(name);
      else stale.push(ch);
    }
    stale.sort((a, b) => a.order - b.order);
    for (const ch of stale) {
      ops.push({ verb: 'flush', obj: 'chain', chain: { name: ch.name } });
      this.staleChains.set(ch.name, now);
    }
    for (const name of this.table.sets.keys()) {
      if (isAffinitySetName(name) && !this.affinityOwners.has(name))
        ops.push({ verb: 'delete', obj: 'set', set: { name, map: false, type: '' } });
    }
    // elements: the old ones nobody ensured, in each set's order
    for (const s of this.storages()) {
      const gone = new Set<string>();
      for (const rec of old) for (const [st, k] of rec.elems) if (st === s && !s.owners.has(k) && s.elements.has(k)) gone.add(k);
      if (gone.size === 0) continue;
      const ordered = gone.size === 1 ? [...gone] : [...s.elements.keys()].filter((k) => gone.has(k));
      for (const key of ordered) {
        ops.push({ verb: 'delete', obj: 'element', el: { set: s.name, map: s.map, key, value: '', comment: null } });
        s.elements.delete(key);
      }
    }

    for (const key of removed) this.replays.delete(key);
    for (const [key, rec] of made) this.replays.set(key, rec);
    return ops;
  }

  private writeServiceToEndpointRules(
    ops: OpSink,
    f: PortFacts,
    svcChain: string,
    eps: readonly EndpointInfo[],
    cache: Map<string, EndpointNames>,
  ): void {
    const targets: string[] = [];
    if (f.info.stickyMaxAgeSeconds > 0) {
      for (const e of eps) {
        const n = this.epNames(f, e, cache);
        this.rule(ops, svcChain, this.rb().inSet('saddr', n.affinity).goto(n.chain).build());
      }
    }
    for (const e of eps) targets.push(this.epNames(f, e, cache).chain);
    this.rule(ops, svcChain, this.rb().numgen(targets).build());
  }
}

/** Where a sync writes its operations: an array (an incremental sync's, applied once it holds) or the Transaction. */
interface OpSink {
  push(...ops: Op[]): unknown;
}

/**
 * A sync's main transaction: each operation is applied to the table and counted as the proxier writes it, so no
 * list of millions of operations is built; the operations are kept only for printing (`keep`).
 */
class Transaction implements OpSink {
  readonly ops: Op[] | null;
  operations = 0;
  anonSetsAdded = 0;
  elementsAdded = 0;
  elementsDeleted = 0;
  rulesWritten = 0;
  chainsAdded = 0;
  chainsFlushed = 0;
  chainsDeleted = 0;
  setsWritten = 0;
  setsDeleted = 0;
  /** Bytes of the transaction's text (one operation a line). */
  bytes = 0;

  constructor(
    private readonly table: NftTable,
    private readonly family: Family,
    keep: boolean,
  ) {
    this.ops = keep ? [] : null;
  }

  push(...ops: Op[]): void {
    for (const op of ops) this.add(op);
  }

  add(op: Op): void {
    this.table.apply(op);
    this.ops?.push(op);
    this.operations++;
    this.bytes += opBytes(op, this.family, KUBE_PROXY_TABLE);
    switch (op.obj) {
      case 'element':
        if (op.verb === 'add') this.elementsAdded++;
        else this.elementsDeleted++;
        break;
      case 'rule':
        this.rulesWritten++;
        this.anonSetsAdded += op.rule.anonSets;
        break;
      case 'chain':
        if (op.verb === 'add') this.chainsAdded++;
        else if (op.verb === 'flush') this.chainsFlushed++;
        else this.chainsDeleted++;
        break;
      case 'set':
        if (op.verb === 'add') this.setsWritten++;
        else if (op.verb === 'delete') this.setsDeleted++;
        break;
      case 'table':
        break;
    }
  }
}
