/**
 * What kube-proxy's iptables proxier of the v1.6 (2017) and v1.14 (2019) releases wrote for one service port
 * (syncProxyRules' per-service loop of those releases, pkg/proxy/iptables/proxier.go). The code is our own; the
 * layout, argument order and comments follow those releases as described in README.md ("kube-proxy era
 * profiles"), which names the sources checked and the parts that are approximated.
 *
 * Per service port, nat KUBE-SERVICES gets two rules with the same matches: the KUBE-MARK-MASQ rule for sources
 * outside the cluster CIDR (or for all with --masquerade-all) and the jump to KUBE-SVC-<hash>. KUBE-SVC- holds the
 * probability rules (session-affinity `recent` checks first), each KUBE-SEP- a hairpin masquerade rule and the
 * DNAT rule. Load-balancer IPs go through KUBE-FW-<hash> (ending in a jump to kubelet's KUBE-MARK-DROP), and
 * services with externalTrafficPolicy Local (NodePort / LoadBalancer) through KUBE-XLB-<hash>, which balances over
 * the node's own endpoints only. Comments are always written (no large-cluster mode yet).
 */
import type { EndpointInfo, ServicePortInfo } from '../../types.js';
import { formatIPv4, parseCidr4, parseIPv4 } from '../../net/ipv4.js';
import { endpointChainName, formatFixed, FW_PREFIX, portProtoHash, SVC_PREFIX } from './names.js';
import { Chain, RuleBuilder, T_DNAT, type Rule } from '../../netfilter/rule.js';
import { chainLine } from '../../netfilter/save.js';
import { profileFacts } from './profiles.js';
import type { FixedChains, ProxierConfig, ServiceEntry } from './proxier.js';

/** The probability string of endpoint i of n as the release printed it ("%0.5f" in v1.6 and v1.14). */
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

/** The KUBE-XLB- chain of a service port ("KUBE-XLB-" + portProtoHash, as the KUBE-SVC-/KUBE-FW- chains). */
export const XLB_PREFIX = 'KUBE-XLB-';

/**
 * Builds the rules of one service port in the layout of an older release (cfg.profile is 'v1.6' or 'v1.14'), as
 * syncProxyRules of those releases did:
 * - v1.6 (like v1.5 and v1.8): a service port without endpoints keeps its KUBE-SVC- chain (empty), KUBE-XLB- and
 *   KUBE-FW- chains and all its nat rules; filter REJECTs are added. v1.14 writes only the REJECTs.
 * - externalTrafficPolicy Local ("OnlyLocal" for NodePort / LoadBalancer services): KUBE-NODEPORTS jumps to
 *   KUBE-XLB- without masquerading, KUBE-FW- jumps to KUBE-XLB- without masquerading, and KUBE-XLB- sends pod
 *   sources (the cluster CIDR) to KUBE-SVC-, then balances over the local endpoints ("Balancing rule i for ..."),
 *   or marks for drop when there are none. Internal traffic policy and topology did not exist.
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
  // apiservice.RequestsOnlyLocalTraffic: NodePort and LoadBalancer services with the Local policy
  const onlyLocal = info.externalPolicyLocal && (info.type === 'NodePort' || info.type === 'LoadBalancer');
  // which chains and nat rules exist: with endpoints, or always (v1.6)
  const natRules = hasEndpoints || facts.chainsWithoutEndpoints;

  const svcChain = natRules ? new Chain(SVC_PREFIX + hash, 'nat', false, [], key) : null;
  // KUBE-XLB- is declared for every Local-policy port, with endpoints or not (its rules only with endpoints)
  const xlbChain = onlyLocal ? new Chain(XLB_PREFIX + hash, 'nat', false, [], key) : null;
  const fwChain = natRules && lbIPs.length > 0 ? new Chain(FW_PREFIX + hash, 'nat', false, [], key) : null;
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
  let usesMarkDrop = false;

  const rejectClusterIP = (): Rule =>
    rb('KUBE-SERVICES').comment(noEndpoints).proto(protocol).dst(cidr(clusterIP)).dport(port).verdict('REJECT');
  // Capture the clusterIP: the masquerade rule and the jump, with the same matches (v1.14: or the REJECT).
  if (!hasEndpoints && !facts.chainsWithoutEndpoints) filterTop.push(rejectClusterIP());
  if (svcChain !== null) {
    if (masqueraded) natTop.push(masqTo(rb('KUBE-SERVICES').comment(`${key} cluster IP`).proto(protocol).dst(cidr(clusterIP)).dport(port)));
    natTop.push(rb('KUBE-SERVICES').comment(`${key} cluster IP`).proto(protocol).dst(cidr(clusterIP)).dport(port).jump(svcChain));
  }
  // Capture externalIPs: masquerade; the jump for traffic from off the node (not bridged in, not from a local
  // address) and the jump for external IPs that are local addresses of the node.
  for (const ip of externalIPs) {
    if (svcChain !== null) {
      const ext = (): RuleBuilder => rb('KUBE-SERVICES').comment(`${key} external IP`).proto(protocol).dst(cidr(ip)).dport(port);
      natTop.push(ext().jump(fx.markMasq));
      natTop.push(ext().physdevNotIn().addrtype('src', true).jump(svcChain));
      natTop.push(ext().addrtype('dst').jump(svcChain));
    }
    if (!hasEndpoints) {
      filterTop.push(rb(externalReject).comment(noEndpoints).proto(protocol).dst(cidr(ip)).dport(port).verdict('REJECT'));
    }
  }
  // Capture load-balancer ingress: the jump to KUBE-FW- (its rules below, once per ingress IP as the release wrote
  // them into the one chain). No REJECT for load-balancer IPs without endpoints in either release ("FIXME: do we
  // need REJECT rules for load-balancer ingress if !hasEndpoints?" in v1.14).
  if (fwChain !== null) {
    for (const ip of lbIPs) {
      natTop.push(rb('KUBE-SERVICES').comment(`${key} loadbalancer IP`).proto(protocol).dst(cidr(ip)).dport(port).jump(fwChain));
    }
  }
  // Capture nodeports: masquerade, then the service chain; with the Local policy, the KUBE-XLB- chain only.
  if (nodePort !== 0) {
    if (svcChain !== null) {
      if (xlbChain === null) {
        natTop.push(rb('KUBE-NODEPORTS').comment(key).proto(protocol).dport(nodePort).jump(fx.markMasq));
        natTop.push(rb('KUBE-NODEPORTS').comment(key).proto(protocol).dport(nodePort).jump(svcChain));
      } else {
        // v1.14: masquerade node-port traffic from localhost first (the "martian source" fix)
        if (facts.localPolicyExtras) {
          natTop.push(rb('KUBE-NODEPORTS').comment(key).proto(protocol).dport(nodePort).src('127.0.0.0/8').jump(fx.markMasq));
        }
        natTop.push(rb('KUBE-NODEPORTS').comment(key).proto(protocol).dport(nodePort).jump(xlbChain));
      }
    }
    if (!hasEndpoints) {
      filterTop.push(rb(externalReject).comment(noEndpoints).addrtype('dst').proto(protocol).dport(nodePort).verdict('REJECT'));
    }
  }
  // v1.6: the cluster IP's REJECT came last, after the external ones.
  if (!hasEndpoints && facts.chainsWithoutEndpoints) filterTop.push(rejectClusterIP());

  let chainRuleCount = 0;
  let chainBytes = 0;
  const add = (chain: Chain, r: Rule): void => {
    chain.rules.push(r);
    chainBytes += r.bytes + 1;
    chainRuleCount++;
  };

  if (fwChain !== null) {
    const ranges = info.loadBalancerSourceRanges.map((r) => parseCidr4(r)).filter((c) => c !== null);
    // Cluster policy: masquerade (the traffic may cross nodes) and go to KUBE-SVC-; Local: keep the source, KUBE-XLB-
    const chosen = xlbChain ?? svcChain!;
    const fw = (): RuleBuilder => rb(fwChain.name).comment(`${key} loadbalancer IP`);
    for (const ip of lbIPs) {
      if (xlbChain === null) add(fwChain, fw().jump(fx.markMasq));
      if (ranges.length === 0) {
        add(fwChain, fw().jump(chosen));
      } else {
        let allowFromNode = false;
        for (const c of ranges) {
          add(fwChain, fw().src(c.text).jump(chosen));
          if (cfg.nodeIP !== null && (cfg.nodeIP & c.mask) === c.addr) allowFromNode = true;
        }
        // a node in the allowed ranges reaches the load balancer's IP directly (it loops back): allow it
        if (allowFromNode) add(fwChain, fw().src(cidr(ip)).jump(chosen));
      }
      // what reaches the end of the chain was not let through: mark it for kubelet's drop
      add(fwChain, fw().jump(fx.natMarkDrop));
      usesMarkDrop = true;
    }
  }

  // KUBE-SVC- and KUBE-SEP- rules: with the service comment in v1.6, without in v1.14 (see ProfileFacts)
  const ec = (chain: string): RuleBuilder => (facts.endpointComments ? rb(chain).comment(key) : rb(chain));
  if (svcChain !== null && hasEndpoints) {
    const n = sepChains.length;
    if (info.stickyMaxAgeSeconds > 0) {
      for (const sep of sepChains) add(svcChain, ec(svcChain.name).recentCheck(sep.name, info.stickyMaxAgeSeconds).jump(sep));
    }
    for (let i = 0; i < n; i++) {
      const b = ec(svcChain.name);
      if (i < n - 1) b.statistic(probability(n - i, facts.probabilityDecimals));
      add(svcChain, b.jump(sepChains[i]!));
    }
  }
  for (let i = 0; i < eps.length; i++) {
    const e = eps[i]!;
    const sep = sepChains[i]!;
    const r1 = ec(sep.name).src(cidr(e.ip)).jump(fx.markMasq);
    const dnat = ec(sep.name);
    if (info.stickyMaxAgeSeconds > 0) dnat.recentSet(sep.name);
    const r2 = dnat.proto(protocol).dnatTo(e.ip, e.port);
    sep.rules = [r1, r2];
    chainBytes += r1.bytes + r2.bytes + 2;
    chainRuleCount += 2;
  }
  // KUBE-XLB-: written only when there are endpoints (the release's loop ended earlier for a port without any)
  if (xlbChain !== null && hasEndpoints) {
    if (cfg.localCIDR !== null) {
      add(
        xlbChain,
        rb(xlbChain.name)
          .comment('Redirect pods trying to reach external loadbalancer VIP to clusterIP')
          .src(cfg.localCIDR)
          .jump(svcChain!),
      );
    }
    const local: Chain[] = [];
    for (let i = 0; i < eps.length; i++) if (eps[i]!.isLocal) local.push(sepChains[i]!);
    if (local.length === 0) {
      add(xlbChain, rb(xlbChain.name).comment(`${key} has no local endpoints`).jump(fx.natMarkDrop));
      usesMarkDrop = true;
    } else {
      // v1.14: session affinity over the local endpoints first (these rules kept their comment)
      if (facts.localPolicyExtras && info.stickyMaxAgeSeconds > 0) {
        for (const sep of local) add(xlbChain, rb(xlbChain.name).comment(key).recentCheck(sep.name, info.stickyMaxAgeSeconds).jump(sep));
      }
      for (let i = 0; i < local.length; i++) {
        const b = rb(xlbChain.name).comment(`Balancing rule ${i} for ${key}`);
        if (i < local.length - 1) b.statistic(probability(local.length - i, facts.probabilityDecimals));
        add(xlbChain, b.jump(local[i]!));
      }
    }
  }

  const chains: Chain[] = [];
  if (svcChain !== null) chains.push(svcChain);
  if (xlbChain !== null) chains.push(xlbChain);
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
    usesMarkDrop,
  };
}
