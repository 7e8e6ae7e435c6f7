/**
 * What kube-proxy's iptables proxier (pkg/proxy/iptables/proxier.go, syncProxyRules) writes for one service port,
 * and its fixed chains. This follows the upstream logic step by step (same conditions, same rule order, same
 * argument order and comments); the code is our own.
 */
import { externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../../proxy/serviceport.js';
import { categorizeEndpoints } from '../../proxy/topology.js';
import type { EndpointInfo, ServicePortInfo } from '../../types.js';
import { cidrContains, formatIPv4, parseCidr4, parseIPv4, type Cidr4 } from '../../net/ipv4.js';
import { cidrContainsIP, joinHostPort, parseCIDRSloppy, parseIPSloppy, type IPFamily } from '../../net/ip.js';
import { computeProbability, endpointChainName, EXT_PREFIX, FW_PREFIX, portProtoHash, SVC_PREFIX, SVL_PREFIX } from './names.js';
import { Chain, type Rule, RuleBuilder, T_DNAT } from '../../netfilter/rule.js';
import { chainLine } from '../../netfilter/save.js';
import { profileFacts, type KubeProxyProfile } from './profiles.js';

/** Upstream's largeClusterEndpointsThreshold: above this many endpoints, per-endpoint comments are dropped. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

export const NFACCT_CT_INVALID = 'ct_state_invalid_dropped_pkts';
export const NFACCT_LOCALHOST_NODEPORTS = 'localhost_nps_accepted_pkts';

const NODEPORTS_LAST_COMMENT = 'kubernetes service nodeports; NOTE: this must be the last rule in this chain';

/** Node-level settings that shape the rules (kube-proxy flags). */
export interface ProxierConfig {
  /** Primary node IPv4 (for loadBalancerSourceRanges "allow from node"), null when none. */
  nodeIP: number | null;
  /**
   * The IP family this proxier writes for [IPv4]: kube-proxy runs one proxier per family; the IPv6 one writes
   * the ip6tables ruleset (IPv6 addresses only, no localhost NodePorts, `! -d ::1/128` on the NodePorts jump).
   */
  family?: IPFamily;
  /** Primary node IP of the family, as text (the IPv6 proxier's "allow from node" check). */
  nodeIPText?: string | null;
  /** The local-traffic detector's CIDR (`! -s CIDR` / `-s CIDR`), null for the no-op detector. */
  localCIDR: string | null;
  masqueradeAll: boolean;
  /** The masquerade mark as kube-proxy formats it (fmt "%#08x": "0x00004000"). */
  mark: string;
  localhostNodePorts: boolean;
  /** nfacct counters available (kube-proxy then adds the two accounting matches). */
  nfacct: boolean;
  randomFully: boolean;
  conntrackTCPLiberal: boolean;
  /** --nodeport-addresses unset: one "addrtype LOCAL" jump to KUBE-NODEPORTS; else one jump per node IP. */
  nodePortMatchAll: boolean;
  nodePortIPs: string[];
  /** The kube-proxy release whose rule layout is written (profiles.ts) ['current']. */
  profile: KubeProxyProfile;
}

/** kube-proxy's fixed chains, one object each for the life of the backend (their rules are replaced on sync). */
export class FixedChains {
  /** The release whose fixed chains these are: older ones had fewer (no canaries, no firewall chains). */
  constructor(readonly profile: KubeProxyProfile = 'current') {}

  readonly natPrerouting = new Chain('PREROUTING', 'nat', true);
  readonly natInput = new Chain('INPUT', 'nat', true);
  readonly natOutput = new Chain('OUTPUT', 'nat', true);
  readonly natPostrouting = new Chain('POSTROUTING', 'nat', true);
  readonly natServices = new Chain('KUBE-SERVICES', 'nat', false);
  readonly natNodePorts = new Chain('KUBE-NODEPORTS', 'nat', false);
  readonly natKubePostrouting = new Chain('KUBE-POSTROUTING', 'nat', false);
  readonly markMasq = new Chain('KUBE-MARK-MASQ', 'nat', false);
  /** kubelet's mark-for-drop chain, which the v1.6 / v1.14 proxiers jumped to without declaring it. */
  readonly natMarkDrop = new Chain('KUBE-MARK-DROP', 'nat', false);
  /**
   * Old profiles: kubelet's KUBE-MARK-DROP (nat) and KUBE-FIREWALL (filter, dropping marked packets) are in the
   * modelled kernel. The backend sets this while some kube-proxy rule jumps to KUBE-MARK-DROP; otherwise kubelet's
   * chains are left out of the model, as before.
   */
  kubeletDrop = false;
  readonly natCanary = new Chain('KUBE-PROXY-CANARY', 'nat', false);

  readonly filterInput = new Chain('INPUT', 'filter', true);
  readonly filterForward = new Chain('FORWARD', 'filter', true);
  readonly filterOutput = new Chain('OUTPUT', 'filter', true);
  readonly filterServices = new Chain('KUBE-SERVICES', 'filter', false);
  readonly filterExternal = new Chain('KUBE-EXTERNAL-SERVICES', 'filter', false);
  readonly filterForwardKube = new Chain('KUBE-FORWARD', 'filter', false);
  readonly filterNodePorts = new Chain('KUBE-NODEPORTS', 'filter', false);
  readonly filterProxyFirewall = new Chain('KUBE-PROXY-FIREWALL', 'filter', false);
  readonly filterFirewall = new Chain('KUBE-FIREWALL', 'filter', false);
  readonly filterCanary = new Chain('KUBE-PROXY-CANARY', 'filter', false);

  filterChain(name: string): Chain {
    switch (name) {
      case 'KUBE-SERVICES':
        return this.filterServices;
      case 'KUBE-EXTERNAL-SERVICES':
        return this.filterExternal;
      case 'KUBE-NODEPORTS':
        return this.filterNodePorts;
      case 'KUBE-PROXY-FIREWALL':
        return this.filterProxyFirewall;
      default:
        throw new RangeError(`not a per-service filter chain: ${name}`);
    }
  }

  /** Built-in and canary chains first, then kube-proxy's own, per table. */
  natChains(): Chain[] {
    const out = [
      this.natPrerouting,
      this.natInput,
      this.natOutput,
      this.natPostrouting,
      this.natServices,
      this.natNodePorts,
      this.natKubePostrouting,
      this.markMasq,
    ];
    if (this.profile === 'current') out.push(this.natCanary);
    else if (this.kubeletDrop) out.push(this.natMarkDrop);
    return out;
  }
  filterChains(): Chain[] {
    const out = [this.filterInput, this.filterForward, this.filterOutput, this.filterServices];
    if (this.profile !== 'v1.6') out.push(this.filterExternal, this.filterForwardKube);
    if (this.profile === 'current') out.push(this.filterNodePorts, this.filterProxyFirewall, this.filterFirewall, this.filterCanary);
    else if (this.kubeletDrop) out.push(this.filterFirewall);
    return out;
  }

  /**
   * The jump rules kube-proxy ensures with `iptables -I` on every full sync (iptablesJumpChains and
   * iptablesKubeletJumpChains, each prepended). They live in the kernel but are not part of the restore input.
   * KUBE-FIREWALL's jumps come last because kubelet created them first on a real node.
   */
  installJumps(): void {
    const nat = (chain: Chain, comment: string, to: Chain): Rule => new RuleBuilder(chain.name).comment(comment).jump(to);
    this.natPrerouting.rules = [nat(this.natPrerouting, 'kubernetes service portals', this.natServices)];
    this.natOutput.rules = [nat(this.natOutput, 'kubernetes service portals', this.natServices)];
    this.natPostrouting.rules = [nat(this.natPostrouting, 'kubernetes postrouting rules', this.natKubePostrouting)];
    this.natInput.rules = [];
    const jNew = (chain: Chain, comment: string, to: Chain): Rule => new RuleBuilder(chain.name).ctstate('NEW').comment(comment).jump(to);
    const j = (chain: Chain, comment: string, to: Chain): Rule => new RuleBuilder(chain.name).comment(comment).jump(to);
    // kubelet's KUBE-FIREWALL jumps (old profiles, while kube-proxy's rules use KUBE-MARK-DROP): kubelet created
    // them before kube-proxy prepended its own, so they come last
    const kubeletJump = (chain: Chain): Rule[] => (this.kubeletDrop ? [new RuleBuilder(chain.name).jump(this.filterFirewall)] : []);
    if (this.profile === 'v1.6') {
      // v1.6: filter OUTPUT -> KUBE-SERVICES only
      this.filterInput.rules = kubeletJump(this.filterInput);
      this.filterForward.rules = [];
      this.filterOutput.rules = [
        j(this.filterOutput, 'kubernetes service portals', this.filterServices),
        ...kubeletJump(this.filterOutput),
      ];
      return;
    }
    if (this.profile === 'v1.14') {
      this.filterInput.rules = [
        jNew(this.filterInput, 'kubernetes externally-visible service portals', this.filterExternal),
        ...kubeletJump(this.filterInput),
      ];
      this.filterForward.rules = [j(this.filterForward, 'kubernetes forwarding rules', this.filterForwardKube)];
      this.filterOutput.rules = [
        jNew(this.filterOutput, 'kubernetes service portals', this.filterServices),
        ...kubeletJump(this.filterOutput),
      ];
      return;
    }
    const fw = (chain: Chain): Rule => new RuleBuilder(chain.name).jump(this.filterFirewall);
    const lbfw = 'kubernetes load balancer firewall';
    const ext = 'kubernetes externally-visible service portals';
    const portals = 'kubernetes service portals';
    this.filterInput.rules = [
      jNew(this.filterInput, lbfw, this.filterProxyFirewall),
      j(this.filterInput, 'kubernetes health check service ports', this.filterNodePorts),
      jNew(this.filterInput, ext, this.filterExternal),
      fw(this.filterInput),
    ];
    this.filterForward.rules = [
      jNew(this.filterForward, lbfw, this.filterProxyFirewall),
      j(this.filterForward, 'kubernetes forwarding rules', this.filterForwardKube),
      jNew(this.filterForward, portals, this.filterServices),
      jNew(this.filterForward, ext, this.filterExternal),
    ];
    this.filterOutput.rules = [
      jNew(this.filterOutput, lbfw, this.filterProxyFirewall),
      jNew(this.filterOutput, portals, this.filterServices),
      fw(this.filterOutput),
    ];
  }
}

/** The rules of kube-proxy's fixed chains that every restore writes (they do not depend on services). */
export interface FixedRules {
  /** KUBE-FIREWALL's anti-martian rule (only with localhost NodePorts), written first in *filter. */
  filterHead: Rule[];
  /** KUBE-FORWARD, written last in *filter. */
  filterTail: Rule[];
  /** KUBE-POSTROUTING and KUBE-MARK-MASQ, written first in *nat. */
  natHead: Rule[];
  /** The KUBE-SERVICES → KUBE-NODEPORTS jump(s), written last in *nat. */
  natTail: Rule[];
  /** Whether the restore declares KUBE-FIREWALL. */
  declaresFirewall: boolean;
  /** filter and nat chains the restore input declares, in order (KUBE-FIREWALL aside). */
  filterDeclared: readonly string[];
  natDeclared: readonly string[];
}

export function buildFixedRules(cfg: ProxierConfig, fx: FixedChains): FixedRules {
  if (cfg.profile !== 'current') return buildEraFixedRules(cfg, fx);
  const m = cfg.mark;
  const natHead = [
    new RuleBuilder('KUBE-POSTROUTING').mark(m, true).verdict('RETURN'),
    new RuleBuilder('KUBE-POSTROUTING').markTarget('xor', m),
    new RuleBuilder('KUBE-POSTROUTING').comment('kubernetes service traffic requiring SNAT').masquerade(cfg.randomFully),
    new RuleBuilder('KUBE-MARK-MASQ').markTarget('or', m),
  ];
  const filterHead: Rule[] = [];
  if (cfg.localhostNodePorts) {
    filterHead.push(
      new RuleBuilder('KUBE-FIREWALL')
        .comment('block incoming localnet connections')
        .dst('127.0.0.0/8')
        .src('127.0.0.0/8', true)
        .ctstate('RELATED,ESTABLISHED,DNAT', true)
        .verdict('DROP'),
    );
  }
  const natTail: Rule[] = [];
  if (cfg.nodePortMatchAll) {
    const b = new RuleBuilder('KUBE-SERVICES').comment(NODEPORTS_LAST_COMMENT).addrtype('dst');
    // localhost NodePorts never work on IPv6; on IPv4 only with route_localnet (--iptables-localhost-nodeports)
    if (cfg.family === 'IPv6') b.dst('::1/128', true);
    else if (!cfg.localhostNodePorts) b.dst('127.0.0.0/8', true);
    natTail.push(b.jump(fx.natNodePorts));
  } else {
    for (const ip of cfg.nodePortIPs) {
      natTail.push(new RuleBuilder('KUBE-SERVICES').comment(NODEPORTS_LAST_COMMENT).dst(ip).jump(fx.natNodePorts));
    }
  }
  const filterTail: Rule[] = [];
  if (!cfg.conntrackTCPLiberal) {
    const b = new RuleBuilder('KUBE-FORWARD').ctstate('INVALID');
    if (cfg.nfacct) b.nfacct(NFACCT_CT_INVALID);
    filterTail.push(b.verdict('DROP'));
  }
  filterTail.push(new RuleBuilder('KUBE-FORWARD').comment('kubernetes forwarding rules').mark(m).verdict('ACCEPT'));
  filterTail.push(
    new RuleBuilder('KUBE-FORWARD').comment('kubernetes forwarding conntrack rule').ctstate('RELATED,ESTABLISHED').verdict('ACCEPT'),
  );
  const facts = profileFacts(cfg.profile);
  return {
    filterHead,
    filterTail,
    natHead,
    natTail,
    declaresFirewall: cfg.localhostNodePorts,
    filterDeclared: facts.filterDeclared,
    natDeclared: facts.natDeclared,
  };
}

/**
 * The fixed rules of the v1.6 and v1.14 proxiers: one MASQUERADE rule in KUBE-POSTROUTING (the mark test in the
 * rule itself), KUBE-MARK-MASQ, the KUBE-NODEPORTS jump last in KUBE-SERVICES and, from v1.9 on, KUBE-FORWARD's
 * accept rules (no INVALID drop before v1.15). KUBE-MARK-MASQ is written `--or-mark M` here where those releases
 * wrote `--set-xmark M/M`: the same kernel rule, which iptables-save prints as `--set-xmark 0x4000/0x4000` either way.
 */
function buildEraFixedRules(cfg: ProxierConfig, fx: FixedChains): FixedRules {
  const m = cfg.mark;
  const facts = profileFacts(cfg.profile);
  const natHead = [
    new RuleBuilder('KUBE-POSTROUTING').comment('kubernetes service traffic requiring SNAT').mark(m).masquerade(false),
    new RuleBuilder('KUBE-MARK-MASQ').markTarget('or', m),
  ];
  const natTail: Rule[] = [];
  if (cfg.nodePortMatchAll) {
    natTail.push(new RuleBuilder('KUBE-SERVICES').comment(NODEPORTS_LAST_COMMENT).addrtype('dst').jump(fx.natNodePorts));
  } else {
    for (const ip of cfg.nodePortIPs)
      natTail.push(new RuleBuilder('KUBE-SERVICES').comment(NODEPORTS_LAST_COMMENT).dst(`${ip}/32`).jump(fx.natNodePorts));
  }
  const filterTail: Rule[] = [];
  if (facts.filterDeclared.includes('KUBE-FORWARD')) {
    filterTail.push(new RuleBuilder('KUBE-FORWARD').comment('kubernetes forwarding rules').mark(m).verdict('ACCEPT'));
    if (cfg.localCIDR !== null) {
      filterTail.push(
        new RuleBuilder('KUBE-FORWARD')
          .src(cfg.localCIDR)
          .comment('kubernetes forwarding conntrack pod source rule')
          .ctstate('RELATED,ESTABLISHED')
          .verdict('ACCEPT'),
      );
      filterTail.push(
        new RuleBuilder('KUBE-FORWARD')
          .comment('kubernetes forwarding conntrack pod destination rule')
          .dst(cfg.localCIDR)
          .ctstate('RELATED,ESTABLISHED')
          .verdict('ACCEPT'),
      );
    }
  }
  return {
    filterHead: [],
    filterTail,
    natHead,
    natTail,
    declaresFirewall: false,
    filterDeclared: facts.filterDeclared,
    natDeclared: facts.natDeclared,
  };
}

/** Everything one service port contributes, cached between syncs (immutable once built). */
export interface ServiceEntry {
  readonly key: string;
  /** "namespace/name": kube-proxy decides what to rewrite per Service, not per port. */
  readonly nsName: string;
  readonly info: ServicePortInfo;
  readonly eps: readonly EndpointInfo[];
  readonly protocol: string;
  /** portProtoHash of key + protocol. */
  readonly hash: string;
  /** Built in large-cluster mode (per-endpoint comments left out). */
  readonly large: boolean;
  /** Endpoints of the service port in kube-proxy's endpoints map (all conditions), for large-cluster mode. */
  readonly endpointCount: number;
  /** Rules of nat KUBE-SERVICES and KUBE-NODEPORTS, in write order. */
  readonly natTop: Rule[];
  /** Rules of filter KUBE-SERVICES / KUBE-EXTERNAL-SERVICES / KUBE-PROXY-FIREWALL / KUBE-NODEPORTS, in write order. */
  readonly filterTop: Rule[];
  /** The service's own nat chains in the order kube-proxy declares them (EXT, FW, SVC, SVL, SEP...). */
  readonly chains: Chain[];
  /** The chain whose first rule is the cluster-IP masquerade rule, which kube-proxy writes before the others. */
  readonly masqChain: Chain | null;
  /** Rules in the own chains. */
  readonly chainRuleCount: number;
  readonly natTopBytes: number;
  readonly filterTopBytes: number;
  /** Bytes of the own chains' ":CHAIN" lines plus their rule lines (newlines included). */
  readonly chainBytes: number;
  /** Some rule jumps to kubelet's KUBE-MARK-DROP (the v1.6 / v1.14 KUBE-FW- and KUBE-XLB- chains). */
  readonly usesMarkDrop?: boolean;
}

/** a + b as one flat string (a plain + of long strings makes a rope node). */
function flat(a: string, b: string): string {
  return [a, b].join('');
}

const EMPTY_RULES: Rule[] = Object.freeze([]) as unknown as Rule[];
const T_DNAT_ = T_DNAT;

/** The own-chain rules of an entry in the order kube-proxy writes them to the restore input. */
export function* writeOrder(e: ServiceEntry): Generator<Rule> {
  const m = e.masqChain;
  if (m !== null) yield m.rules[0]!;
  for (const c of e.chains) {
    const rules = c.rules;
    for (let i = c === m ? 1 : 0; i < rules.length; i++) yield rules[i]!;
  }
}

function lineBytes(rules: readonly Rule[]): number {
  let n = 0;
  for (const r of rules) n += r.bytes + 1;
  return n;
}

/** kube-proxy's probability strings, computed once per n as it does. */
const probabilityCache: string[] = [];
function probability(n: number): string {
  let p = probabilityCache[n];
  if (p === undefined) probabilityCache[n] = p = computeProbability(n);
  return p;
}

function ipList(ips: readonly string[], family: IPFamily): string[] {
  if (family === 'IPv4') return ipv4List(ips);
  const out: string[] = [];
  for (const s of ips) {
    const p = parseIPSloppy(s.trim());
    if (p !== null && p.family === family) out.push(p.text);
  }
  return out;
}

function ipv4List(ips: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of ips) {
    const n = parseIPv4(s.trim());
    if (n !== null) out.push(formatIPv4(n));
  }
  return out;
}

/** The two rules of an endpoint's KUBE-SEP- chain: hairpin masquerade, then DNAT (with the affinity mark). */
function sepRules(
  name: string,
  key: string,
  e: EndpointInfo,
  protocol: string,
  sticky: number,
  large: boolean,
  markMasq: Chain,
): [Rule, Rule] {
  const hairpin = RuleBuilder.start(name, key);
  if (!large) hairpin.comment(key);
  const r1 = hairpin.src(e.ip).jump(markMasq);
  const dnat = RuleBuilder.start(name, key);
  if (!large) dnat.comment(key);
  if (sticky > 0) dnat.recentSet(name);
  const r2 = dnat.proto(protocol).dnatTo(e.ip, e.port);
  return [r1, r2];
}

/**
 * The rules of a KUBE-SVC- / KUBE-SVL- chain that pick an endpoint (after its masquerade rule, if any): with
 * session affinity first a recent-check jump per endpoint, then one jump per endpoint, each but the last with
 * probability 1/(endpoints left). `seps[i]` is the chain of `endpoints[i]`.
 */
function endpointJumpRules(
  chain: string,
  key: string,
  endpoints: readonly EndpointInfo[],
  seps: readonly Chain[],
  sticky: number,
  large: boolean,
  v6: boolean,
  out: Rule[],
): void {
  const epText = (e: EndpointInfo): string => (v6 ? joinHostPort(e.ip, e.port) : `${e.ip}:${e.port}`);
  if (sticky > 0) {
    for (let i = 0; i < endpoints.length; i++) {
      const sep = seps[i]!;
      const b = RuleBuilder.start(chain, key);
      if (!large) b.comment(`${key} -> ${epText(endpoints[i]!)}`);
      out.push(b.recentCheck(sep.name, sticky).jump(sep));
    }
  }
  const n = endpoints.length;
  for (let i = 0; i < n; i++) {
    const b = RuleBuilder.start(chain, key);
    if (!large) b.comment(`${key} -> ${epText(endpoints[i]!)}`);
    if (i < n - 1) b.statistic(probability(n - i));
    out.push(b.jump(seps[i]!));
  }
}

/**
 * An IPv4 KUBE-SVC- / KUBE-SVL- chain built without restore text: its first rules (the masquerade rule) are
 * kept, the endpoint jumps (endpointJumpRules) are built when the chain is first read, which only the packet walk
 * of a connection to the service does. Counts and bytes are taken when the entry is built.
 */
export class LazyJumpChain extends Chain {
  private tail: { endpoints: readonly EndpointInfo[]; seps: readonly Chain[]; sticky: number; large: boolean } | null = null;
  constructor(name: string, key: string) {
    super(name, 'nat', false, [], key);
  }
  setTail(endpoints: readonly EndpointInfo[], seps: readonly Chain[], sticky: number, large: boolean): void {
    this.tail = { endpoints, seps, sticky, large };
  }
  override get rules(): Rule[] {
    const t = this.tail;
    if (t !== null) {
      this.tail = null;
      const out = this.list.slice();
      const keep = RuleBuilder.keepText;
      RuleBuilder.keepText = false;
      try {
        endpointJumpRules(this.name, this.owner, t.endpoints, t.seps, t.sticky, t.large, false, out);
      } finally {
        RuleBuilder.keepText = keep;
      }
      this.list = out;
    }
    return this.list;
  }
  override set rules(v: Rule[]) {
    this.list = v;
    this.tail = null;
  }
}

/**
 * An IPv4 KUBE-SEP- chain of a service port built without restore text: it keeps the endpoint and builds its two
 * rules (the same as sepRules) when first read, which only the packet walk of a connection to that endpoint
 * does. A million endpoints then cost a small object each instead of a chain, an array and two rules.
 */
export class LazySepChain extends Chain {
  constructor(
    name: string,
    key: string,
    readonly ep: EndpointInfo,
    private readonly protocol: string,
    private readonly sticky: number,
    private readonly large: boolean,
    private readonly markMasq: Chain,
  ) {
    super(name, 'nat', false, EMPTY_RULES, key);
  }
  override get rules(): Rule[] {
    if (this.list === EMPTY_RULES) {
      const keep = RuleBuilder.keepText;
      RuleBuilder.keepText = false;
      try {
        this.list = sepRules(this.name, this.owner, this.ep, this.protocol, this.sticky, this.large, this.markMasq);
      } finally {
        RuleBuilder.keepText = keep;
      }
    }
    return this.list;
  }
  override set rules(v: Rule[]) {
    this.list = v;
  }
}

/**
 * Builds the rules of one service port, following syncProxyRules' per-service loop.
 * `prev` (the entry of the previous sync, if any) only serves to reuse already-computed chain-name hashes.
 */
export function buildServiceEntry(
  info: ServicePortInfo,
  epsIn: readonly EndpointInfo[],
  cfg: ProxierConfig,
  fx: FixedChains,
  large: boolean,
  prev: ServiceEntry | undefined,
): ServiceEntry {
  const key = info.key;
  const protocol = info.protocol.toLowerCase();
  const hash = prev !== undefined && prev.protocol === protocol ? prev.hash : portProtoHash(key, protocol);
  const family = cfg.family ?? 'IPv4';
  const v6 = family === 'IPv6';
  const clusterIP = v6 ? parseIPSloppy(info.clusterIP)!.text : formatIPv4(parseIPv4(info.clusterIP)!);
  const port = info.port;
  const externalIPs = ipList(info.externalIPs, family);
  const lbIPs = ipList(info.loadBalancerIPs, family);
  const sourceRanges: Cidr4[] = [];
  for (const r of info.loadBalancerSourceRanges) {
    if (v6) {
      const c6 = parseCIDRSloppy(r.trim());
      // text only: the IPv6 ruleset is rendered, not walked
      if (c6 !== null && c6.family === 'IPv6') sourceRanges.push({ addr: 1, mask: 0, prefix: c6.prefix, text: c6.text });
      continue;
    }
    const c = parseCidr4(r);
    if (c !== null) sourceRanges.push(c);
  }
  const nodePort = info.nodePort;
  // the service port as the IPv4 proxier sees it: external and load-balancer IPs of its family only
  const port4 = {
    nodePort,
    loadBalancerIPs: lbIPs,
    externalIPs,
    internalPolicyLocal: info.internalPolicyLocal,
    externalPolicyLocal: info.externalPolicyLocal,
  };
  const reachable = externallyAccessible(port4);
  const itpLocal = info.internalPolicyLocal;
  const etpLocal = info.externalPolicyLocal;
  const usesCluster = usesClusterEndpoints(port4);
  const usesLocal = usesLocalEndpoints(port4);
  const eps = v6 ? epsIn.filter((e) => parseIPSloppy(e.ip)?.family === 'IPv6') : epsIn.filter((e) => parseIPv4(e.ip) !== null);
  const { cluster, local, all, hasAny: hasEndpoints } = categorizeEndpoints(eps, usesCluster, usesLocal);

  const usesClusterPolicyChain = cluster.length > 0 && usesCluster;
  const usesLocalPolicyChain = local.length > 0 && usesLocal;
  let hasInternalEndpoints = hasEndpoints;
  if (itpLocal && local.length === 0) hasInternalEndpoints = false;
  let hasExternalEndpoints = hasEndpoints;
  if (etpLocal && local.length === 0) hasExternalEndpoints = false;
  const usesExternalTrafficChain = hasEndpoints && reachable;
  const usesFWChain = hasEndpoints && lbIPs.length > 0 && sourceRanges.length > 0;

  // Chain objects first, so that rules can point at them.
  // without restore text (a benchmark case) the IPv4 policy chains build their endpoint jumps when first walked
  const lazy = !v6 && !RuleBuilder.keepText;
  const policyChain = (name: string): Chain => (lazy ? new LazyJumpChain(name, key) : new Chain(name, 'nat', false, [], key));
  const svcChain = usesClusterPolicyChain ? policyChain(flat(SVC_PREFIX, hash)) : null;
  const svlChain = usesLocalPolicyChain ? policyChain(flat(SVL_PREFIX, hash)) : null;
  const extChain = usesExternalTrafficChain ? new Chain(flat(EXT_PREFIX, hash), 'nat', false, [], key) : null;
  const fwChain = usesFWChain ? new Chain(flat(FW_PREFIX, hash), 'nat', false, [], key) : null;
  // endpoint chain names of the previous build, to avoid hashing again (the DNAT rule says which endpoint)
  const prevSep = new Map<string, string>();
  if (prev !== undefined && prev.protocol === protocol) {
    for (const c of prev.chains) {
      if (c instanceof LazySepChain) {
        prevSep.set(`${c.ep.ip}:${c.ep.port}`, c.name);
        continue;
      }
      if (c instanceof LazyJumpChain) continue; // ends in a jump, never in a DNAT rule

      const d = c.rules[c.rules.length - 1];
      // (an IPv6 rule says its endpoint only in its text; without the text the name is hashed again)
      if (d !== undefined && d.target === T_DNAT_ && (!v6 || d.hasText))
        prevSep.set(v6 ? d.text.slice(d.text.lastIndexOf(' ') + 1) : `${formatIPv4(d.arg1)}:${d.arg2}`, c.name);
    }
  }
  const sepChains: Chain[] = [];
  const sepByEp = new Map<string, Chain>();
  // likewise an IPv4 endpoint chain builds its two rules only when walked
  for (const e of all) {
    const ep = v6 ? joinHostPort(e.ip, e.port) : `${e.ip}:${e.port}`;
    const name = prevSep.get(ep) ?? endpointChainName(key, protocol, ep);
    const c = lazy
      ? new LazySepChain(name, key, e, protocol, info.stickyMaxAgeSeconds, large, fx.markMasq)
      : new Chain(name, 'nat', false, EMPTY_RULES, key);
    sepChains.push(c);
    sepByEp.set(ep, c);
  }
  const clusterPolicyChain = svcChain;
  const localPolicyChain = svlChain;
  const internalTrafficChain = itpLocal ? localPolicyChain : clusterPolicyChain;
  const externalPolicyChain = etpLocal ? localPolicyChain : clusterPolicyChain;
  const loadBalancerTrafficChain = usesFWChain ? fwChain : extChain;

  let internalFilterTarget: 'REJECT' | 'DROP' = 'REJECT';
  let internalFilterComment = '';
  let externalFilterTarget: 'REJECT' | 'DROP' = 'REJECT';
  let externalFilterComment = '';
  if (!hasEndpoints) {
    internalFilterComment = externalFilterComment = `${key} has no endpoints`;
  } else {
    if (!hasInternalEndpoints) {
      internalFilterTarget = 'DROP';
      internalFilterComment = `${key} has no local endpoints`;
    }
    if (!hasExternalEndpoints) {
      externalFilterTarget = 'DROP';
      externalFilterComment = `${key} has no local endpoints`;
    }
  }

  const natTop: Rule[] = [];
  const filterTop: Rule[] = [];
  const rb = (chain: string): RuleBuilder => RuleBuilder.start(chain, key);

  // Capture the clusterIP.
  if (hasInternalEndpoints) {
    natTop.push(rb('KUBE-SERVICES').comment(`${key} cluster IP`).proto(protocol).dst(clusterIP).dport(port).jump(internalTrafficChain!));
  } else {
    filterTop.push(
      rb('KUBE-SERVICES').comment(internalFilterComment).proto(protocol).dst(clusterIP).dport(port).verdict(internalFilterTarget),
    );
  }
  // Capture externalIPs.
  for (const ip of externalIPs) {
    if (hasEndpoints) natTop.push(rb('KUBE-SERVICES').comment(`${key} external IP`).proto(protocol).dst(ip).dport(port).jump(extChain!));
    if (!hasExternalEndpoints) {
      filterTop.push(
        rb('KUBE-EXTERNAL-SERVICES').comment(externalFilterComment).proto(protocol).dst(ip).dport(port).verdict(externalFilterTarget),
      );
    }
  }
  // Capture load-balancer ingress.
  for (const ip of lbIPs) {
    if (hasEndpoints) {
      natTop.push(
        rb('KUBE-SERVICES').comment(`${key} loadbalancer IP`).proto(protocol).dst(ip).dport(port).jump(loadBalancerTrafficChain!),
      );
    }
    if (usesFWChain) {
      filterTop.push(
        rb('KUBE-PROXY-FIREWALL')
          .comment(`${key} traffic not accepted by ${fwChain!.name}`)
          .proto(protocol)
          .dst(ip)
          .dport(port)
          .verdict('DROP'),
      );
    }
  }
  if (!hasExternalEndpoints) {
    for (const ip of lbIPs) {
      filterTop.push(
        rb('KUBE-EXTERNAL-SERVICES').comment(externalFilterComment).proto(protocol).dst(ip).dport(port).verdict(externalFilterTarget),
      );
    }
  }
  // Capture nodeports.
  if (nodePort !== 0) {
    if (hasEndpoints) {
      if (cfg.localhostNodePorts && cfg.nfacct) {
        natTop.push(
          rb('KUBE-NODEPORTS')
            .comment(key)
            .proto(protocol)
            .dst('127.0.0.0/8')
            .dport(nodePort)
            .nfacct(NFACCT_LOCALHOST_NODEPORTS)
            .jump(extChain!),
        );
      }
      natTop.push(rb('KUBE-NODEPORTS').comment(key).proto(protocol).dport(nodePort).jump(extChain!));
    }
    if (!hasExternalEndpoints) {
      filterTop.push(
        rb('KUBE-EXTERNAL-SERVICES')
          .comment(externalFilterComment)
          .addrtype('dst')
          .proto(protocol)
          .dport(nodePort)
          .verdict(externalFilterTarget),
      );
    }
  }
  // Capture healthCheckNodePorts.
  if (info.healthCheckNodePort !== 0) {
    filterTop.push(
      rb('KUBE-NODEPORTS').comment(`${key} health check node port`).proto('tcp').dport(info.healthCheckNodePort).verdict('ACCEPT'),
    );
  }

  let chainBytes = 0;
  let chainRuleCount = 0;
  const add = (chain: Chain, r: Rule): void => {
    chain.rules.push(r);
    chainBytes += r.bytes + 1;
    chainRuleCount++;
  };

  // Internal traffic handling: masquerade off-cluster traffic to the cluster IP.
  let masqChain: Chain | null = null;
  if (hasInternalEndpoints && (cfg.masqueradeAll || cfg.localCIDR !== null)) masqChain = internalTrafficChain;
  if (hasInternalEndpoints) {
    const ch = internalTrafficChain!;
    if (cfg.masqueradeAll) {
      add(ch, rb(ch.name).comment(`${key} cluster IP`).proto(protocol).dst(clusterIP).dport(port).jump(fx.markMasq));
    } else if (cfg.localCIDR !== null) {
      add(
        ch,
        rb(ch.name).comment(`${key} cluster IP`).proto(protocol).dst(clusterIP).dport(port).src(cfg.localCIDR, true).jump(fx.markMasq),
      );
    }
  }

  // External traffic handling.
  if (extChain !== null) {
    const n = extChain.name;
    if (!etpLocal) {
      add(extChain, rb(n).comment(`masquerade traffic for ${key} external destinations`).jump(fx.markMasq));
    } else {
      if (cfg.localCIDR !== null) {
        add(extChain, rb(n).comment(`pod traffic for ${key} external destinations`).src(cfg.localCIDR).jump(clusterPolicyChain!));
      }
      add(extChain, rb(n).comment(`masquerade LOCAL traffic for ${key} external destinations`).addrtype('src').jump(fx.markMasq));
      add(extChain, rb(n).comment(`route LOCAL traffic for ${key} external destinations`).addrtype('src').jump(clusterPolicyChain!));
    }
    if (hasExternalEndpoints) add(extChain, rb(n).jump(externalPolicyChain!));
  }

  // Firewall chain (loadBalancerSourceRanges).
  if (fwChain !== null) {
    const n = fwChain.name;
    let allowFromNode = false;
    for (const c of sourceRanges) {
      add(fwChain, rb(n).comment(`${key} loadbalancer IP`).src(c.text).jump(extChain!));
      if (v6 ? cfg.nodeIPText != null && cidrContainsIP(c.text, cfg.nodeIPText) : cfg.nodeIP !== null && cidrContains(c, cfg.nodeIP))
        allowFromNode = true;
    }
    if (allowFromNode) {
      for (const ip of lbIPs) add(fwChain, rb(n).comment(`${key} loadbalancer IP`).src(ip).jump(extChain!));
    }
    add(fwChain, rb(n).comment(`other traffic to ${key} will be dropped by KUBE-PROXY-FIREWALL`).noTarget());
  }

  const writeServiceToEndpointRules = (ch: Chain, endpoints: readonly EndpointInfo[]): void => {
    const seps =
      endpoints.length === all.length && endpoints.every((e, i) => e === all[i])
        ? sepChains
        : endpoints.map((e) => sepByEp.get(v6 ? joinHostPort(e.ip, e.port) : `${e.ip}:${e.port}`)!);
    const rules: Rule[] = [];
    endpointJumpRules(ch.name, key, endpoints, seps, info.stickyMaxAgeSeconds, large, v6, rules);
    if (ch instanceof LazyJumpChain) {
      // counted now, kept as the endpoints and their chains
      for (const r of rules) chainBytes += r.bytes + 1;
      chainRuleCount += rules.length;
      ch.setTail(endpoints, seps, info.stickyMaxAgeSeconds, large);
    } else for (const r of rules) add(ch, r);
  };
  if (svcChain !== null) writeServiceToEndpointRules(svcChain, cluster);
  if (svlChain !== null) writeServiceToEndpointRules(svlChain, local);

  // Per-endpoint chains (a lazy one's rules are built here for their bytes, then again when first walked).
  for (let i = 0; i < all.length; i++) {
    const e = all[i]!;
    const sep = sepChains[i]!;
    const [r1, r2] = sepRules(sep.name, key, e, protocol, info.stickyMaxAgeSeconds, large, fx.markMasq);
    if (!(sep instanceof LazySepChain)) sep.rules = [r1, r2];
    chainBytes += r1.bytes + r2.bytes + 2;
    chainRuleCount += 2;
  }

  // right-size the rule arrays that grew by push (they live as long as the service is unchanged)
  for (const c of [extChain, fwChain, svcChain, svlChain]) if (c !== null && !(c instanceof LazyJumpChain)) c.rules = c.rules.slice();
  const chains: Chain[] = [];
  if (extChain !== null) chains.push(extChain);
  if (fwChain !== null) chains.push(fwChain);
  if (svcChain !== null) chains.push(svcChain);
  if (svlChain !== null) chains.push(svlChain);
  for (const c of sepChains) chains.push(c);

  for (const c of chains) chainBytes += Buffer.byteLength(chainLine(c.name)) + 1;

  return {
    key,
    nsName: `${info.namespace}/${info.name}`,
    info,
    eps: epsIn,
    protocol,
    hash,
    large,
    endpointCount: epsIn.length,
    natTop: natTop.length === 0 ? EMPTY_RULES : natTop.slice(),
    filterTop: filterTop.length === 0 ? EMPTY_RULES : filterTop.slice(),
    chains,
    masqChain,
    chainRuleCount,
    natTopBytes: lineBytes(natTop),
    filterTopBytes: lineBytes(filterTop),
    chainBytes,
  };
}
