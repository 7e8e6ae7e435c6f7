/**
 * The fixed iptables rules of kube-proxy's IPVS mode (pkg/proxy/ipvs/proxier.go: createAndLinkKubeChain,
 * writeIptablesRules, acceptIPVSTraffic), as rule objects from which come
 * - the exact iptables-restore input kube-proxy writes every sync (`iptables-restore --noflush --counters`),
 * - the `iptables-save` text of the resulting tables (formatting measured with iptables v1.8.9),
 * - a rule walker that classifies a packet, counting rules evaluated and ipset membership tests.
 *
 * The number of rules does not depend on the number of services, except one KUBE-IPVS-OUT-FILTER rule per
 * LoadBalancer IP whose loadBalancerSourceRanges do not contain the node IP.
 */
import type { ProxyNodeConfig, Protocol } from '../../types.js';
import { RuleBuilder, type Chain, type Rule, type TableName } from '../../netfilter/rule.js';
import { chainLine } from '../../netfilter/save.js';
import { Table } from '../../netfilter/table.js';
import type { IpsetMatcher, PacketWalker } from '../../netfilter/walk.js';
import { SET, type IpsetStore } from './ipset.js';

/** Chains kube-proxy declares in the restore input (iptablesChains), in order. */
export const KUBE_CHAINS: readonly { table: TableName; chain: string }[] = [
  { table: 'nat', chain: 'KUBE-SERVICES' },
  { table: 'nat', chain: 'KUBE-POSTROUTING' },
  { table: 'nat', chain: 'KUBE-NODE-PORT' },
  { table: 'nat', chain: 'KUBE-LOAD-BALANCER' },
  { table: 'nat', chain: 'KUBE-MARK-MASQ' },
  { table: 'filter', chain: 'KUBE-FORWARD' },
  { table: 'filter', chain: 'KUBE-NODE-PORT' },
  { table: 'filter', chain: 'KUBE-PROXY-FIREWALL' },
  { table: 'filter', chain: 'KUBE-SOURCE-RANGES-FIREWALL' },
  { table: 'filter', chain: 'KUBE-IPVS-FILTER' },
  { table: 'filter', chain: 'KUBE-IPVS-OUT-FILTER' },
];

/**
 * iptablesJumpChain: jumps from the built-in chains, each ensured with `iptables -I <from> ...` (so the last one
 * inserted is first). They are not part of the restore input.
 */
export const JUMPS: readonly { table: TableName; from: string; to: string; comment: string }[] = [
  { table: 'nat', from: 'OUTPUT', to: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  { table: 'nat', from: 'PREROUTING', to: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  { table: 'nat', from: 'POSTROUTING', to: 'KUBE-POSTROUTING', comment: 'kubernetes postrouting rules' },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-FORWARD', comment: 'kubernetes forwarding rules' },
  { table: 'filter', from: 'INPUT', to: 'KUBE-NODE-PORT', comment: 'kubernetes health check rules' },
  { table: 'filter', from: 'INPUT', to: 'KUBE-PROXY-FIREWALL', comment: 'kube-proxy firewall rules' },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-PROXY-FIREWALL', comment: 'kube-proxy firewall rules' },
  { table: 'filter', from: 'INPUT', to: 'KUBE-IPVS-FILTER', comment: 'kubernetes ipvs access filter' },
  { table: 'filter', from: 'OUTPUT', to: 'KUBE-IPVS-OUT-FILTER', comment: 'kubernetes ipvs access filter' },
];

/** ipsetWithIptablesChain of proxier.go, in order. */
const SET_CHAIN_RULES: readonly {
  set: string;
  table: TableName;
  from: string;
  to: string;
  match: string;
  proto?: 'tcp' | 'udp' | 'sctp';
}[] = [
  { set: SET.loopBack, table: 'nat', from: 'KUBE-POSTROUTING', to: 'MASQUERADE', match: 'dst,dst,src' },
  { set: SET.loadBalancer, table: 'nat', from: 'KUBE-SERVICES', to: 'KUBE-LOAD-BALANCER', match: 'dst,dst' },
  { set: SET.loadBalancerLocal, table: 'nat', from: 'KUBE-LOAD-BALANCER', to: 'RETURN', match: 'dst,dst' },
  { set: SET.nodePortLocalTCP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', proto: 'tcp' },
  { set: SET.nodePortTCP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', proto: 'tcp' },
  { set: SET.nodePortLocalUDP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', proto: 'udp' },
  { set: SET.nodePortUDP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', proto: 'udp' },
  { set: SET.nodePortLocalSCTP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst,dst', proto: 'sctp' },
  { set: SET.nodePortSCTP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst,dst', proto: 'sctp' },
  { set: SET.loadBalancerFW, table: 'filter', from: 'KUBE-PROXY-FIREWALL', to: 'KUBE-SOURCE-RANGES-FIREWALL', match: 'dst,dst' },
  { set: SET.loadBalancerSourceCIDR, table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', match: 'dst,dst,src' },
  { set: SET.loadBalancerSourceIP, table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', match: 'dst,dst,src' },
];

/** Go's fmt.Sprintf("%#08x", v): eight hex digits after the 0x. */
function goHex08(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

/** What the rules depend on besides the node configuration. */
export interface RuleInputs {
  sets: IpsetStore;
  /** LoadBalancer ingress IP:port/protocol that the node itself may not reach (sourceRanges without the node IP). */
  lbNoNodeAccess: readonly { ip: string; protocol: Protocol; port: number }[];
}

/** The nat and filter tables as kube-proxy leaves them, and the rules of its restore input in write order. */
export class IpvsRules {
  readonly nat = new Table('nat');
  readonly filter = new Table('filter');
  /** The rules of the restore input per table, in the order kube-proxy writes them. */
  readonly written: Record<TableName, Rule[]> = { nat: [], filter: [] };
  /** The rules of the restore input, nat first, then filter. */
  readonly rules: Rule[] = [];
  /** Rules in the kernel: the restored ones and the jumps from the built-in chains. */
  ruleCount = 0;

  constructor(readonly family: 'IPv4' | 'IPv6' = 'IPv4') {
    for (const c of KUBE_CHAINS) this.table(c.table).ensure(c.chain);
    // iptablesJumpChain: each jump ensured with `iptables -I` (so the last one inserted is first)
    for (const j of JUMPS) {
      const t = this.table(j.table);
      const from = t.chain(j.from);
      from.rules.unshift(new RuleBuilder(j.from).comment(j.comment).jump(t.chain(j.to)));
    }
  }

  table(name: TableName): Table {
    return name === 'nat' ? this.nat : this.filter;
  }

  /** The iptables-restore input: nat chains and rules, then filter chains and rules (proxier.iptablesData). */
  restoreInput(): string {
    const lines: string[] = [];
    for (const table of ['nat', 'filter'] as const) {
      lines.push(`*${table}`);
      for (const c of KUBE_CHAINS) if (c.table === table) lines.push(chainLine(c.chain));
      for (const r of this.written[table]) lines.push(r.text);
      lines.push('COMMIT');
    }
    return lines.join('\n') + '\n';
  }

  /** `iptables-save` of the filter and nat tables (without the time-stamped "# Generated by" / "# Completed on" lines). */
  save(): string {
    const out: string[] = [];
    this.filter.save(out, this.family);
    this.nat.save(out, this.family);
    return out.join('\n') + '\n';
  }
}

/** The rules kube-proxy writes into the restore input, in the order it writes them (nat first, then filter). */
export function buildRules(node: ProxyNodeConfig, inp: RuleInputs): IpvsRules {
  const out = new IpvsRules(node.ipFamily ?? 'IPv4');
  const mark = 1 << node.masqueradeBit;
  const markS = goHex08(mark);
  const set = (n: string) => inp.sets.get(n);
  /** A set's kernel name (the IPv6 proxier's sets are KUBE-6-...). */
  const kn = (n: string): string => inp.sets.nameOf(n);
  const v6 = node.ipFamily === 'IPv6';
  const natRule = (chain: string) => new RuleBuilder(chain);
  const natChain = (name: string): Chain => out.nat.chain(name);
  const add = (table: TableName, r: Rule): void => {
    out.table(table).chain(r.chain).rules.push(r);
    out.written[table].push(r);
  };
  /** A jump to a chain of the table, or a built-in target. */
  const finish = (table: TableName, b: RuleBuilder, to: string): Rule => {
    if (to === 'RETURN' || to === 'ACCEPT' || to === 'DROP' || to === 'REJECT') return b.verdict(to);
    if (to === 'MASQUERADE') return b.masquerade(false);
    return b.jump(out.table(table).chain(to));
  };

  // "Dismiss connects to localhost early in the service chain"
  add(
    'nat',
    natRule('KUBE-SERVICES')
      .src(v6 ? '::1/128' : '127.0.0.0/8')
      .verdict('RETURN'),
  );

  for (const s of SET_CHAIN_RULES) {
    const ipset = set(s.set);
    if (ipset.isEmpty()) continue;
    const b = new RuleBuilder(s.from);
    if (s.proto) b.protocol(s.proto);
    b.comment(ipset.info.comment).matchSet(kn(s.set), s.match);
    add(s.table, finish(s.table, b, s.to));
  }

  const clusterIP = set(SET.clusterIP);
  if (!clusterIP.isEmpty()) {
    const b = natRule('KUBE-SERVICES').comment(clusterIP.info.comment);
    const local = localDetectorCidr(node);
    if (node.masqueradeAll) b.matchSet(kn(SET.clusterIP), 'dst,dst');
    else if (local !== null) b.matchSet(kn(SET.clusterIP), 'dst,dst').src(local, true);
    else b.matchSet(kn(SET.clusterIP), 'src,dst');
    add('nat', b.jump(natChain('KUBE-MARK-MASQ')));
  }

  const externalIPRules = (name: string) => {
    const c = set(name).info.comment;
    add('nat', natRule('KUBE-SERVICES').comment(c).matchSet(kn(name), 'dst,dst').physdevNotIn().addrtype('src', true).verdict('ACCEPT'));
    add('nat', natRule('KUBE-SERVICES').comment(c).matchSet(kn(name), 'dst,dst').addrtype('dst').verdict('ACCEPT'));
  };
  const ext = set(SET.externalIP);
  if (!ext.isEmpty()) {
    add('nat', natRule('KUBE-SERVICES').comment(ext.info.comment).matchSet(kn(SET.externalIP), 'dst,dst').jump(natChain('KUBE-MARK-MASQ')));
    externalIPRules(SET.externalIP);
  }
  if (!set(SET.externalIPLocal).isEmpty()) externalIPRules(SET.externalIPLocal);

  add('nat', natRule('KUBE-SERVICES').addrtype('dst').jump(natChain('KUBE-NODE-PORT')));
  add('nat', natRule('KUBE-LOAD-BALANCER').jump(natChain('KUBE-MARK-MASQ')));
  add('filter', new RuleBuilder('KUBE-SOURCE-RANGES-FIREWALL').verdict('DROP'));

  for (const e of inp.lbNoNodeAccess) {
    add('filter', new RuleBuilder('KUBE-IPVS-OUT-FILTER').src(e.ip).ipvs(e.ip, e.protocol.toLowerCase(), e.port).verdict('DROP'));
  }

  // acceptIPVSTraffic: must be the end of KUBE-SERVICES
  for (const name of [SET.clusterIP, SET.loadBalancer]) {
    if (set(name).isEmpty()) continue;
    add('nat', natRule('KUBE-SERVICES').matchSet(kn(name), 'dst,dst').verdict('ACCEPT'));
  }

  add('filter', new RuleBuilder('KUBE-FORWARD').comment('kubernetes forwarding rules').mark(markS).verdict('ACCEPT'));
  add(
    'filter',
    new RuleBuilder('KUBE-FORWARD').comment('kubernetes forwarding conntrack rule').ctstate('RELATED,ESTABLISHED').verdict('ACCEPT'),
  );
  const hc = set(SET.healthCheckNodePort);
  add('filter', new RuleBuilder('KUBE-NODE-PORT').comment(hc.info.comment).matchSet(kn(SET.healthCheckNodePort), 'dst').verdict('ACCEPT'));

  for (const [name, flags] of [
    [SET.loadBalancer, 'dst,dst'],
    [SET.clusterIP, 'dst,dst'],
    [SET.externalIP, 'dst,dst'],
    [SET.externalIPLocal, 'dst,dst'],
    [SET.healthCheckNodePort, 'dst'],
  ] as const) {
    add('filter', new RuleBuilder('KUBE-IPVS-FILTER').matchSet(kn(name), flags).verdict('RETURN'));
  }
  add('filter', new RuleBuilder('KUBE-IPVS-FILTER').ctstate('NEW').matchSet(kn(SET.ipvsIPs), 'dst').verdict('REJECT'));

  add('nat', natRule('KUBE-POSTROUTING').mark(markS, true).verdict('RETURN'));
  add('nat', natRule('KUBE-POSTROUTING').markTarget('xor', markS));
  // iptables >= 1.6.2 has --random-fully (HasRandomFully)
  add('nat', natRule('KUBE-POSTROUTING').comment('kubernetes service traffic requiring SNAT').masquerade(true));
  add('nat', natRule('KUBE-MARK-MASQ').markTarget('or', markS));

  out.rules.push(...out.written.nat, ...out.written.filter);
  out.ruleCount = out.nat.ruleCount() + out.filter.ruleCount();
  return out;
}

const PROTOCOL_OF: Readonly<Record<number, Protocol>> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };

/** `-m set --match-set NAME FLAGS` over the backend's ipsets: the set type decides which packet fields are tested. */
export function ipsetMatcher(sets: IpsetStore): IpsetMatcher {
  return {
    matchSet(name: string, flags: string, p: PacketWalker): boolean {
      const s = sets.get(name);
      const proto = PROTOCOL_OF[p.proto] ?? 'TCP';
      switch (s.info.type) {
        case 'bitmap:port':
          return s.testPort(p.dport);
        case 'hash:ip':
          return s.testIp(flags.startsWith('src') ? p.src : p.dst);
        case 'hash:ip,port':
          return s.testIpPort(flags.startsWith('src') ? p.src : p.dst, proto, p.dport);
        case 'hash:ip,port,ip':
          return s.testIpPortIp(p.dst, proto, p.dport, p.src);
        case 'hash:ip,port,net':
          return s.testIpPortNet(p.dst, proto, p.dport, p.src);
      }
    },
  };
}

/** The local-traffic detector's CIDR (`! -s CIDR`), or null when it is not implemented (LocalDetector no-op). */
export function localDetectorCidr(node: ProxyNodeConfig): string | null {
  if (node.localDetector === 'ClusterCIDR' && node.clusterCIDR !== '') return node.clusterCIDR;
  if (node.localDetector === 'NodeCIDR' && node.podCIDR !== '') return node.podCIDR;
  return null;
}
