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
import { SET, type IpsetStore } from './ipset.js';
import { ipv4ToInt } from './kernel.js';

export type Table = 'nat' | 'filter';

export type Match =
  | { kind: 'comment'; text: string }
  | { kind: 'set'; name: string; flags: string }
  | { kind: 'addrtype'; dir: 'src' | 'dst'; invert: boolean }
  | { kind: 'physdev-not-in' }
  | { kind: 'mark'; invert: boolean; value: number }
  | { kind: 'conntrack'; states: string; matchesNew: boolean }
  | { kind: 'ipvs'; vaddr: string; vproto: Protocol; vport: number };

export type Target =
  | { kind: 'jump'; chain: string }
  | { kind: 'RETURN' | 'ACCEPT' | 'DROP' | 'REJECT' }
  | { kind: 'MARK-or'; value: number }
  | { kind: 'MARK-xor'; value: number }
  | { kind: 'MASQUERADE'; randomFully: boolean };

export interface Rule {
  table: Table;
  chain: string;
  /** `-s` (with `!` when inverted); host addresses are written without a prefix length. */
  src?: { cidr: string; invert: boolean };
  proto?: 'tcp' | 'udp' | 'sctp';
  matches: Match[];
  target: Target;
  /** The line as kube-proxy writes it into the restore input. */
  restore: string;
}

/** Chains kube-proxy declares in the restore input (iptablesChains), in order. */
export const KUBE_CHAINS: readonly { table: Table; chain: string }[] = [
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
export const JUMPS: readonly { table: Table; from: string; to: string; comment: string }[] = [
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

const NO_RULES: readonly Rule[] = [];

const BUILTIN: Record<Table, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** The built-in chains with kube-proxy's jump rules, in kernel order (each `-I` puts its rule first). */
function jumpRules(): Rule[] {
  const byChain = new Map<string, Rule[]>();
  for (const j of JUMPS) {
    const k = `${j.table}|${j.from}`;
    const r: Rule = {
      table: j.table,
      chain: j.from,
      matches: [{ kind: 'comment', text: j.comment }],
      target: { kind: 'jump', chain: j.to },
      restore: '',
    };
    const l = byChain.get(k) ?? [];
    l.unshift(r);
    byChain.set(k, l);
  }
  return [...byChain.values()].flat();
}

/** ipsetWithIptablesChain of proxier.go, in order. */
const SET_CHAIN_RULES: readonly { set: string; table: Table; from: string; to: string; match: string; proto?: 'tcp' | 'udp' | 'sctp' }[] = [
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

function q(s: string): string {
  return `"${s}"`;
}

function targetOf(to: string): Target {
  if (to === 'RETURN' || to === 'ACCEPT' || to === 'DROP' || to === 'REJECT') return { kind: to };
  if (to === 'MASQUERADE') return { kind: 'MASQUERADE', randomFully: false };
  return { kind: 'jump', chain: to };
}

/** What the rules depend on besides the node configuration. */
export interface RuleInputs {
  sets: IpsetStore;
  /** LoadBalancer ingress IP:port/protocol that the node itself may not reach (sourceRanges without the node IP). */
  lbNoNodeAccess: readonly { ip: string; protocol: Protocol; port: number }[];
}

/** The rules kube-proxy writes into the restore input, in the order it writes them (nat first, then filter). */
export function buildRules(node: ProxyNodeConfig, inp: RuleInputs): Rule[] {
  const nat: Rule[] = [];
  const filter: Rule[] = [];
  const mark = 1 << node.masqueradeBit;
  const markS = goHex08(mark);
  const set = (n: string) => inp.sets.get(n);
  const push = (r: Rule) => (r.table === 'nat' ? nat : filter).push(r);

  push({ table: 'nat', chain: 'KUBE-SERVICES', src: { cidr: '127.0.0.0/8', invert: false }, matches: [], target: { kind: 'RETURN' }, restore: '-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN' });

  for (const s of SET_CHAIN_RULES) {
    const ipset = set(s.set);
    if (ipset.isEmpty()) continue;
    const comment = ipset.info.comment;
    const parts = ['-A', s.from];
    if (s.proto) parts.push('-p', s.proto);
    parts.push('-m', 'comment', '--comment', q(comment), '-m', 'set', '--match-set', s.set, s.match, '-j', s.to);
    const r: Rule = {
      table: s.table,
      chain: s.from,
      matches: [{ kind: 'comment', text: comment }, { kind: 'set', name: s.set, flags: s.match }],
      target: targetOf(s.to),
      restore: parts.join(' '),
    };
    if (s.proto) r.proto = s.proto;
    push(r);
  }

  const clusterIP = set(SET.clusterIP);
  if (!clusterIP.isEmpty()) {
    const head = `-A KUBE-SERVICES -m comment --comment ${q(clusterIP.info.comment)} -m set --match-set ${SET.clusterIP}`;
    const cm: Match = { kind: 'comment', text: clusterIP.info.comment };
    const local = localDetectorCidr(node);
    if (node.masqueradeAll) {
      push({ table: 'nat', chain: 'KUBE-SERVICES', matches: [cm, { kind: 'set', name: SET.clusterIP, flags: 'dst,dst' }], target: { kind: 'jump', chain: 'KUBE-MARK-MASQ' }, restore: `${head} dst,dst -j KUBE-MARK-MASQ` });
    } else if (local !== null) {
      push({ table: 'nat', chain: 'KUBE-SERVICES', src: { cidr: local, invert: true }, matches: [cm, { kind: 'set', name: SET.clusterIP, flags: 'dst,dst' }], target: { kind: 'jump', chain: 'KUBE-MARK-MASQ' }, restore: `${head} dst,dst ! -s ${local} -j KUBE-MARK-MASQ` });
    } else {
      push({ table: 'nat', chain: 'KUBE-SERVICES', matches: [cm, { kind: 'set', name: SET.clusterIP, flags: 'src,dst' }], target: { kind: 'jump', chain: 'KUBE-MARK-MASQ' }, restore: `${head} src,dst -j KUBE-MARK-MASQ` });
    }
  }

  const externalIPRules = (name: string) => {
    const c = set(name).info.comment;
    const head = `-A KUBE-SERVICES -m comment --comment ${q(c)} -m set --match-set ${name} dst,dst`;
    const base: Match[] = [{ kind: 'comment', text: c }, { kind: 'set', name, flags: 'dst,dst' }];
    push({ table: 'nat', chain: 'KUBE-SERVICES', matches: [...base, { kind: 'physdev-not-in' }, { kind: 'addrtype', dir: 'src', invert: true }], target: { kind: 'ACCEPT' }, restore: `${head} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT` });
    push({ table: 'nat', chain: 'KUBE-SERVICES', matches: [...base, { kind: 'addrtype', dir: 'dst', invert: false }], target: { kind: 'ACCEPT' }, restore: `${head} -m addrtype --dst-type LOCAL -j ACCEPT` });
  };
  const ext = set(SET.externalIP);
  if (!ext.isEmpty()) {
    push({ table: 'nat', chain: 'KUBE-SERVICES', matches: [{ kind: 'comment', text: ext.info.comment }, { kind: 'set', name: SET.externalIP, flags: 'dst,dst' }], target: { kind: 'jump', chain: 'KUBE-MARK-MASQ' }, restore: `-A KUBE-SERVICES -m comment --comment ${q(ext.info.comment)} -m set --match-set ${SET.externalIP} dst,dst -j KUBE-MARK-MASQ` });
    externalIPRules(SET.externalIP);
  }
  if (!set(SET.externalIPLocal).isEmpty()) externalIPRules(SET.externalIPLocal);

  push({ table: 'nat', chain: 'KUBE-SERVICES', matches: [{ kind: 'addrtype', dir: 'dst', invert: false }], target: { kind: 'jump', chain: 'KUBE-NODE-PORT' }, restore: '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT' });
  push({ table: 'nat', chain: 'KUBE-LOAD-BALANCER', matches: [], target: { kind: 'jump', chain: 'KUBE-MARK-MASQ' }, restore: '-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ' });
  push({ table: 'filter', chain: 'KUBE-SOURCE-RANGES-FIREWALL', matches: [], target: { kind: 'DROP' }, restore: '-A KUBE-SOURCE-RANGES-FIREWALL -j DROP' });

  for (const e of inp.lbNoNodeAccess) {
    const p = e.protocol.toLowerCase();
    push({
      table: 'filter',
      chain: 'KUBE-IPVS-OUT-FILTER',
      src: { cidr: e.ip, invert: false },
      matches: [{ kind: 'ipvs', vaddr: e.ip, vproto: e.protocol, vport: e.port }],
      target: { kind: 'DROP' },
      restore: `-A KUBE-IPVS-OUT-FILTER -s ${e.ip} -m ipvs --vaddr ${e.ip} --vproto ${p} --vport ${e.port} -j DROP`,
    });
  }

  // acceptIPVSTraffic: must be the end of KUBE-SERVICES
  for (const name of [SET.clusterIP, SET.loadBalancer]) {
    if (set(name).isEmpty()) continue;
    push({ table: 'nat', chain: 'KUBE-SERVICES', matches: [{ kind: 'set', name, flags: 'dst,dst' }], target: { kind: 'ACCEPT' }, restore: `-A KUBE-SERVICES -m set --match-set ${name} dst,dst -j ACCEPT` });
  }

  push({ table: 'filter', chain: 'KUBE-FORWARD', matches: [{ kind: 'comment', text: 'kubernetes forwarding rules' }, { kind: 'mark', invert: false, value: mark }], target: { kind: 'ACCEPT' }, restore: `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${markS}/${markS} -j ACCEPT` });
  push({ table: 'filter', chain: 'KUBE-FORWARD', matches: [{ kind: 'comment', text: 'kubernetes forwarding conntrack rule' }, { kind: 'conntrack', states: 'RELATED,ESTABLISHED', matchesNew: false }], target: { kind: 'ACCEPT' }, restore: '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT' });
  const hc = set(SET.healthCheckNodePort);
  push({ table: 'filter', chain: 'KUBE-NODE-PORT', matches: [{ kind: 'comment', text: hc.info.comment }, { kind: 'set', name: SET.healthCheckNodePort, flags: 'dst' }], target: { kind: 'ACCEPT' }, restore: `-A KUBE-NODE-PORT -m comment --comment ${q(hc.info.comment)} -m set --match-set ${SET.healthCheckNodePort} dst -j ACCEPT` });

  for (const [name, flags] of [
    [SET.loadBalancer, 'dst,dst'],
    [SET.clusterIP, 'dst,dst'],
    [SET.externalIP, 'dst,dst'],
    [SET.externalIPLocal, 'dst,dst'],
    [SET.healthCheckNodePort, 'dst'],
  ] as const) {
    push({ table: 'filter', chain: 'KUBE-IPVS-FILTER', matches: [{ kind: 'set', name, flags }], target: { kind: 'RETURN' }, restore: `-A KUBE-IPVS-FILTER -m set --match-set ${name} ${flags} -j RETURN` });
  }
  push({ table: 'filter', chain: 'KUBE-IPVS-FILTER', matches: [{ kind: 'conntrack', states: 'NEW', matchesNew: true }, { kind: 'set', name: SET.ipvsIPs, flags: 'dst' }], target: { kind: 'REJECT' }, restore: `-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set ${SET.ipvsIPs} dst -j REJECT` });

  push({ table: 'nat', chain: 'KUBE-POSTROUTING', matches: [{ kind: 'mark', invert: true, value: mark }], target: { kind: 'RETURN' }, restore: `-A KUBE-POSTROUTING -m mark ! --mark ${markS}/${markS} -j RETURN` });
  push({ table: 'nat', chain: 'KUBE-POSTROUTING', matches: [], target: { kind: 'MARK-xor', value: mark }, restore: `-A KUBE-POSTROUTING -j MARK --xor-mark ${markS}` });
  // iptables >= 1.6.2 has --random-fully (HasRandomFully)
  push({ table: 'nat', chain: 'KUBE-POSTROUTING', matches: [{ kind: 'comment', text: 'kubernetes service traffic requiring SNAT' }], target: { kind: 'MASQUERADE', randomFully: true }, restore: '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully' });
  push({ table: 'nat', chain: 'KUBE-MARK-MASQ', matches: [], target: { kind: 'MARK-or', value: mark }, restore: `-A KUBE-MARK-MASQ -j MARK --or-mark ${markS}` });

  return [...nat, ...filter];
}

/** The local-traffic detector's CIDR (`! -s CIDR`), or null when it is not implemented (LocalDetector no-op). */
export function localDetectorCidr(node: ProxyNodeConfig): string | null {
  if (node.localDetector === 'ClusterCIDR' && node.clusterCIDR !== '') return node.clusterCIDR;
  if (node.localDetector === 'NodeCIDR' && node.podCIDR !== '') return node.podCIDR;
  return null;
}

/** The iptables-restore input: nat chains and rules, then filter chains and rules (proxier.iptablesData). */
export function restoreInput(rules: readonly Rule[]): string {
  const lines: string[] = ['*nat'];
  for (const c of KUBE_CHAINS) if (c.table === 'nat') lines.push(`:${c.chain} - [0:0]`);
  for (const r of rules) if (r.table === 'nat') lines.push(r.restore);
  lines.push('COMMIT', '*filter');
  for (const c of KUBE_CHAINS) if (c.table === 'filter') lines.push(`:${c.chain} - [0:0]`);
  for (const r of rules) if (r.table === 'filter') lines.push(r.restore);
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

/** Rules per (table, chain) in kernel order: the built-in jumps, then the restored chains. */
export class RuleSet {
  private readonly tables: Record<Table, Map<string, Rule[]>> = { nat: new Map(), filter: new Map() };
  readonly ruleCount: number;
  constructor(readonly rules: readonly Rule[]) {
    for (const r of jumpRules()) this.add(r);
    for (const c of KUBE_CHAINS) if (!this.tables[c.table].has(c.chain)) this.tables[c.table].set(c.chain, []);
    for (const r of rules) this.add(r);
    let n = 0;
    for (const t of Object.values(this.tables)) for (const l of t.values()) n += l.length;
    this.ruleCount = n;
  }
  private add(r: Rule): void {
    const t = this.tables[r.table];
    let l = t.get(r.chain);
    if (l === undefined) t.set(r.chain, (l = []));
    l.push(r);
  }
  chain(table: Table, chain: string): readonly Rule[] {
    return this.tables[table].get(chain) ?? NO_RULES;
  }

  /** `iptables-save` of the filter and nat tables (without the time-stamped "# Generated by" / "# Completed on" lines). */
  save(): string {
    const out: string[] = [];
    for (const table of ['filter', 'nat'] as const) {
      out.push(`*${table}`);
      for (const b of BUILTIN[table]) out.push(`:${b} ACCEPT [0:0]`);
      const user = KUBE_CHAINS.filter((c) => c.table === table).map((c) => c.chain).sort();
      for (const c of user) out.push(`:${c} - [0:0]`);
      for (const c of [...BUILTIN[table], ...user]) for (const r of this.chain(table, c)) out.push(saveRule(r));
      out.push('COMMIT');
    }
    return out.join('\n') + '\n';
  }
}

function saveAddr(cidr: string): string {
  return cidr.includes('/') ? cidr : `${cidr}/32`;
}

/** xtables_save_string(): bare when only [_-0-9A-Za-z], else double-quoted with `"`, `\` and `'` backslash-escaped. */
function saveString(s: string): string {
  return /^[-_0-9A-Za-z]+$/.test(s) ? s : `"${s.replace(/["'\\]/g, (c) => `\\${c}`)}"`;
}

const PROTO_NUMBER: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };

/** One rule as iptables-save prints it. */
export function saveRule(r: Rule): string {
  let s = `-A ${r.chain}`;
  if (r.src) s += `${r.src.invert ? ' !' : ''} -s ${saveAddr(r.src.cidr)}`;
  if (r.proto) s += ` -p ${r.proto}`;
  for (const m of r.matches) {
    switch (m.kind) {
      case 'comment':
        s += ` -m comment --comment ${saveString(m.text)}`;
        break;
      case 'set':
        s += ` -m set --match-set ${m.name} ${m.flags}`;
        break;
      case 'addrtype':
        s += ` -m addrtype${m.invert ? ' !' : ''} --${m.dir}-type LOCAL`;
        break;
      case 'physdev-not-in':
        s += ' -m physdev ! --physdev-is-in';
        break;
      case 'mark':
        s += ` -m mark${m.invert ? ' !' : ''} --mark 0x${m.value.toString(16)}/0x${m.value.toString(16)}`;
        break;
      case 'conntrack':
        s += ` -m conntrack --ctstate ${m.states}`;
        break;
      case 'ipvs':
        s += ` -m ipvs --vproto ${PROTO_NUMBER[m.vproto]} --vaddr ${m.vaddr} --vport ${m.vport}`;
        break;
    }
  }
  const t = r.target;
  switch (t.kind) {
    case 'jump':
      s += ` -j ${t.chain}`;
      break;
    case 'REJECT':
      s += ' -j REJECT --reject-with icmp-port-unreachable';
      break;
    case 'MARK-or':
      s += ` -j MARK --set-xmark 0x${t.value.toString(16)}/0x${t.value.toString(16)}`;
      break;
    case 'MARK-xor':
      s += ` -j MARK --set-xmark 0x${t.value.toString(16)}/0x0`;
      break;
    case 'MASQUERADE':
      s += ` -j MASQUERADE${t.randomFully ? ' --random-fully' : ''}`;
      break;
    default:
      s += ` -j ${t.kind}`;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Walking the rules
// ---------------------------------------------------------------------------------------------

/** The packet as the rules see it at one hook. */
export interface WalkPacket {
  src: number;
  dst: number;
  proto: Protocol;
  dport: number;
  /** The skb mark (KUBE-MARK-MASQ sets the masquerade bit). */
  mark: number;
  /** Set by IPVS on packets it transmits (the ipvs match); vaddr/vport are the virtual service's. */
  ipvs: { vaddr: number; vport: number; vproto: Protocol } | null;
}

export interface WalkEnv {
  sets: IpsetStore;
  /** addrtype LOCAL: a node address, a kube-ipvs0 address or loopback. */
  isLocal(ipInt: number): boolean;
}

export interface WalkCounts {
  rules: number;
  sets: number;
  /** Hash-table probes (IPVS); the walker does not touch it. */
  probes: number;
}

export type WalkVerdict = 'ACCEPT' | 'DROP' | 'REJECT' | 'MASQUERADE' | 'CONTINUE';

/** `-s` operands parsed once: [network, mask]. */
const srcCache = new Map<string, [number, number]>();

function parseSrc(cidr: string): [number, number] {
  let c = srcCache.get(cidr);
  if (c === undefined) {
    const [a, b] = cidr.split('/');
    const bits = b === undefined ? 32 : Number(b);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    c = [(ipv4ToInt(a!) & mask) >>> 0, mask];
    srcCache.set(cidr, c);
  }
  return c;
}

function ipMatch(r: Rule, p: WalkPacket): boolean {
  if (r.src) {
    const [net, mask] = parseSrc(r.src.cidr);
    const inside = ((p.src & mask) >>> 0) === net;
    if (inside === r.src.invert) return false;
  }
  if (r.proto && r.proto !== LC[p.proto]) return false;
  return true;
}

const LC: Record<Protocol, 'tcp' | 'udp' | 'sctp'> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

function setMatch(m: Extract<Match, { kind: 'set' }>, p: WalkPacket, env: WalkEnv): boolean {
  const s = env.sets.get(m.name);
  switch (s.info.type) {
    case 'bitmap:port':
      return s.testPort(p.dport);
    case 'hash:ip':
      return s.testIp(m.flags.startsWith('src') ? p.src : p.dst);
    case 'hash:ip,port':
      return s.testIpPort(m.flags.startsWith('src') ? p.src : p.dst, p.proto, p.dport);
    case 'hash:ip,port,ip':
      return s.testIpPortIp(p.dst, p.proto, p.dport, p.src);
    case 'hash:ip,port,net':
      return s.testIpPortNet(p.dst, p.proto, p.dport, p.src);
  }
}

/**
 * Walks one chain the way ipt_do_table does: the IP header part of a rule first (-s, -p), then its matches in
 * order until one fails; every rule reached counts as evaluated, every set match reached as one ipset test.
 * This is the first packet of a connection, so its conntrack state is NEW.
 */
export function walkChain(rs: RuleSet, table: Table, chain: string, p: WalkPacket, env: WalkEnv, n: WalkCounts): WalkVerdict {
  for (const r of rs.chain(table, chain)) {
    n.rules++;
    if (!ipMatch(r, p)) continue;
    let ok = true;
    for (const m of r.matches) {
      switch (m.kind) {
        case 'comment':
          break;
        case 'set':
          n.sets++;
          ok = setMatch(m, p, env);
          break;
        case 'addrtype': {
          const local = env.isLocal(m.dir === 'src' ? p.src : p.dst);
          ok = local !== m.invert;
          break;
        }
        case 'physdev-not-in':
          // packets of the model do not arrive through a bridge port
          ok = true;
          break;
        case 'mark':
          ok = ((p.mark & m.value) === m.value) !== m.invert;
          break;
        case 'conntrack':
          ok = m.matchesNew;
          break;
        case 'ipvs':
          ok = p.ipvs !== null && p.ipvs.vaddr === parseSrc(m.vaddr)[0] && p.ipvs.vport === m.vport && p.ipvs.vproto === m.vproto;
          break;
      }
      if (!ok) break;
    }
    if (!ok) continue;
    const t = r.target;
    switch (t.kind) {
      case 'jump': {
        const v = walkChain(rs, table, t.chain, p, env, n);
        if (v !== 'CONTINUE') return v;
        break;
      }
      case 'RETURN':
        return 'CONTINUE';
      case 'ACCEPT':
      case 'DROP':
      case 'REJECT':
      case 'MASQUERADE':
        return t.kind;
      case 'MARK-or':
        p.mark |= t.value;
        break;
      case 'MARK-xor':
        p.mark ^= t.value;
        break;
    }
  }
  return 'CONTINUE';
}
