/**
 * What kube-proxy's iptables proxier of the v1.6 (2017) and v1.14 (2019) releases wrote for one service port
 * (syncProxyRules' per-service loop of those releases, pkg/proxy/iptables/proxier.go). The code is our own; the
 * layout, argument order and comments follow those releases as described in README.md ("kube-proxy era
 * profiles"), where the parts that are approximated are listed.
 *
 * Per service port with endpoints, nat KUBE-SERVICES gets two rules with the same matches: the KUBE-MARK-MASQ rule
 * for sources outside the cluster CIDR (or for all with --masquerade-all) and the jump to KUBE-SVC-<hash>.
 * KUBE-SVC- holds the probability rules (session-affinity `recent` checks first), each KUBE-SEP- a hairpin
 * masquerade rule and the DNAT rule. Comments are always written (no large-cluster mode yet).
 */
import type { EndpointInfo, ServicePortInfo } from '../../types.js';
import { formatIPv4, parseCidr4, parseIPv4 } from '../../net/ipv4.js';
import { endpointChainName, formatFixed, FW_PREFIX, portProtoHash, SVC_PREFIX } from './names.js';
import { Chain, RuleBuilder, T_DNAT, type Rule } from '../../netfilter/rule.js';
import { chainLine } from '../../netfilter/save.js';
import { profileFacts } from './profiles.js';
import type { FixedChains, ProxierConfig, ServiceEntry } from './proxier.js';

/** The probability string of endpoint i of n as the release printed it ("%0.5f" in v1.6, "%0.10f" in v1.14). */
export function eraProbability(n: number, decimals: 5 | 10): string {
  return formatFixed(1 / n, decimals);
}

const probabilityCache = new Map<string, string>();
function probability(n: number, decimals: 5 | 10): string {
  const k = `${decimals}/${n}`;
  let p = probabilityCache.get(k);
  if (p === undefined) probabilityCache.set(k, (p = eraProbability(n, decimals)));
  return p;
}

function lineBytes(rules: readonly Rule[]): number {
  let n = 0;
  for (const r of rules) n += r.bytes + 1;
  return n;
}

function ipv4List(ips: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of ips) {
    const n = parseIPv4(s.trim());
    if (n !== null) out.push(formatIPv4(n));
  }
  return out;
}

const EMPTY_RULES: Rule[] = Object.freeze([]) as unknown as Rule[];

/**
 * Builds the rules of one service port in the layout of an older release (cfg.profile is 'v1.6' or 'v1.14').
 * Only Cluster traffic policies existed in the form modelled here: externalTrafficPolicy Local, internal traffic
 * policy and topology are read as Cluster (see README.md).
 */
export function buildEraServiceEntry(
  info: ServicePortInfo,
  epsIn: readonly EndpointInfo[],
  cfg: ProxierConfig,
  fx: FixedChains,
  prev: ServiceEntry | undefined,
): ServiceEntry {
  const facts = profileFacts(cfg.profile);
  const key = info.key;
  const protocol = info.protocol.toLowerCase();
  const hash = prev !== undefined && prev.protocol === protocol ? prev.hash : portProtoHash(key, protocol);
  const cidr = (ip: string): string => (facts.slash32 ? `${ip}/32` : ip);
  const clusterIP = formatIPv4(parseIPv4(info.clusterIP)!);
  const port = info.port;
  const externalIPs = ipv4List(info.externalIPs);
  const lbIPs = ipv4List(info.loadBalancerIPs);
  const nodePort = info.nodePort;
  // endpoints: every endpoint with an IPv4 address that is ready (the old proxier knew no serving/terminating)
  const eps = epsIn.filter((e) => parseIPv4(e.ip) !== null && e.ready);
  const hasEndpoints = eps.length > 0;

  const svcChain = hasEndpoints ? new Chain(SVC_PREFIX + hash, 'nat', false, [], key) : null;
  const fwChain = hasEndpoints && lbIPs.length > 0 ? new Chain(FW_PREFIX + hash, 'nat', false, [], key) : null;
  const prevSep = new Map<string, string>();
  if (prev !== undefined && prev.protocol === protocol) {
    for (const c of prev.chains) {
      const d = c.rules[c.rules.length - 1];
      if (d !== undefined && d.target === T_DNAT) prevSep.set(`${formatIPv4(d.arg1)}:${d.arg2}`, c.name);
    }
  }
  const sepChains: Chain[] = [];
  for (const e of eps) {
    const ep = `${e.ip}:${e.port}`;
    sepChains.push(new Chain(prevSep.get(ep) ?? endpointChainName(key, protocol, ep), 'nat', false, EMPTY_RULES, key));
  }

  const natTop: Rule[] = [];
  const filterTop: Rule[] = [];
  const rb = (chain: string): RuleBuilder => RuleBuilder.start(chain, key);
  const masqTo = (b: RuleBuilder): Rule => {
    if (cfg.masqueradeAll) return b.jump(fx.markMasq);
    return b.src(cfg.localCIDR!, true).jump(fx.markMasq);
  };
  const masqueraded = cfg.masqueradeAll || cfg.localCIDR !== null;
  // v1.6 had no KUBE-EXTERNAL-SERVICES: its no-endpoint REJECTs for external addresses sat in KUBE-SERVICES
  const externalReject = facts.filterDeclared.includes('KUBE-EXTERNAL-SERVICES') ? 'KUBE-EXTERNAL-SERVICES' : 'KUBE-SERVICES';
  const noEndpoints = `${key} has no endpoints`;

  // Capture the clusterIP: the masquerade rule and the jump, with the same matches.
  if (hasEndpoints) {
    if (masqueraded) natTop.push(masqTo(rb('KUBE-SERVICES').comment(`${key} cluster IP`).proto(protocol).dst(cidr(clusterIP)).dport(port)));
    natTop.push(rb('KUBE-SERVICES').comment(`${key} cluster IP`).proto(protocol).dst(cidr(clusterIP)).dport(port).jump(svcChain!));
  } else {
    filterTop.push(rb('KUBE-SERVICES').comment(noEndpoints).proto(protocol).dst(cidr(clusterIP)).dport(port).verdict('REJECT'));
  }
  // Capture externalIPs (the release also split the jump by physdev/addrtype: modelled as one jump).
  for (const ip of externalIPs) {
    if (hasEndpoints) {
      natTop.push(rb('KUBE-SERVICES').comment(`${key} external IP`).proto(protocol).dst(cidr(ip)).dport(port).jump(fx.markMasq));
      natTop.push(rb('KUBE-SERVICES').comment(`${key} external IP`).proto(protocol).dst(cidr(ip)).dport(port).jump(svcChain!));
    } else {
      filterTop.push(rb(externalReject).comment(noEndpoints).proto(protocol).dst(cidr(ip)).dport(port).verdict('REJECT'));
    }
  }
  // Capture load-balancer ingress: a KUBE-FW- chain that masquerades and jumps to the service chain.
  for (const ip of lbIPs) {
    if (hasEndpoints) {
      natTop.push(rb('KUBE-SERVICES').comment(`${key} loadbalancer IP`).proto(protocol).dst(cidr(ip)).dport(port).jump(fwChain!));
    } else {
      filterTop.push(rb(externalReject).comment(noEndpoints).proto(protocol).dst(cidr(ip)).dport(port).verdict('REJECT'));
    }
  }
  // Capture nodeports: masquerade, then the service chain.
  if (nodePort !== 0) {
    if (hasEndpoints) {
      natTop.push(rb('KUBE-NODEPORTS').comment(key).proto(protocol).dport(nodePort).jump(fx.markMasq));
      natTop.push(rb('KUBE-NODEPORTS').comment(key).proto(protocol).dport(nodePort).jump(svcChain!));
    } else {
      filterTop.push(rb(externalReject).comment(noEndpoints).addrtype('dst').proto(protocol).dport(nodePort).verdict('REJECT'));
    }
  }

  let chainRuleCount = 0;
  let chainBytes = 0;
  const add = (chain: Chain, r: Rule): void => {
    chain.rules.push(r);
    chainBytes += r.bytes + 1;
    chainRuleCount++;
  };

  if (fwChain !== null) {
    const ranges = info.loadBalancerSourceRanges.map((r) => parseCidr4(r)).filter((c) => c !== null);
    add(fwChain, rb(fwChain.name).comment(`${key} loadbalancer IP`).jump(fx.markMasq));
    if (ranges.length === 0) {
      add(fwChain, rb(fwChain.name).comment(`${key} loadbalancer IP`).jump(svcChain!));
    } else {
      for (const c of ranges) add(fwChain, rb(fwChain.name).comment(`${key} loadbalancer IP`).src(c.text).jump(svcChain!));
    }
  }

  if (svcChain !== null) {
    const n = sepChains.length;
    if (info.stickyMaxAgeSeconds > 0) {
      for (const sep of sepChains) add(svcChain, rb(svcChain.name).comment(key).recentCheck(sep.name, info.stickyMaxAgeSeconds).jump(sep));
    }
    for (let i = 0; i < n; i++) {
      const b = rb(svcChain.name).comment(key);
      if (i < n - 1) b.statistic(probability(n - i, facts.probabilityDecimals));
      add(svcChain, b.jump(sepChains[i]!));
    }
  }
  for (let i = 0; i < eps.length; i++) {
    const e = eps[i]!;
    const sep = sepChains[i]!;
    const r1 = rb(sep.name).comment(key).src(cidr(e.ip)).jump(fx.markMasq);
    const dnat = rb(sep.name).comment(key);
    if (info.stickyMaxAgeSeconds > 0) dnat.recentSet(sep.name);
    const r2 = dnat.proto(protocol).dnatTo(e.ip, e.port);
    sep.rules = [r1, r2];
    chainBytes += r1.bytes + r2.bytes + 2;
    chainRuleCount += 2;
  }

  const chains: Chain[] = [];
  if (svcChain !== null) chains.push(svcChain);
  if (fwChain !== null) chains.push(fwChain);
  for (const c of sepChains) chains.push(c);
  for (const c of chains) chainBytes += Buffer.byteLength(chainLine(c.name)) + 1;

  return {
    key,
    nsName: `${info.namespace}/${info.name}`,
    info,
    eps: epsIn,
    protocol,
    hash,
    large: false,
    endpointCount: epsIn.length,
    natTop: natTop.length === 0 ? EMPTY_RULES : natTop,
    filterTop: filterTop.length === 0 ? EMPTY_RULES : filterTop,
    chains,
    masqChain: null,
    chainRuleCount,
    natTopBytes: lineBytes(natTop),
    filterTopBytes: lineBytes(filterTop),
    chainBytes,
  };
}
