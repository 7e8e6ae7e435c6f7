/**
 * One netfilter model for every data plane that programs iptables (kube-proxy's iptables mode, and the fixed rules
 * of its IPVS mode): tables → chains → rules. Each rule keeps the exact text kube-proxy feeds to iptables-restore
 * (`text`, kube-proxy's argument order) and its matches and target precompiled to numbers for the packet walk
 * (./walk.ts); ./save.ts turns the restore text into what `iptables-save` prints for the same kernel rule.
 * Matches follow the kernel's extensions: xt_mark ((mark & mask) == value), xt_conntrack, xt_addrtype,
 * xt_statistic, xt_recent, xt_set, xt_physdev, xt_ipvs (linux net/netfilter/).
 */
import { parseAddrOrCidr, parseIPv4, type Cidr4 } from '../net/ipv4.js';
import { ipv6Words, parseCIDRSloppy, parseIPSloppy, type Words6 } from '../net/ip.js';
import { kernelProbability } from './statistic.js';

export type TableName = 'filter' | 'nat';

// Match flags (Rule.flags)
export const F_SRC = 1;
export const F_SRC_NEG = 2;
export const F_DST = 4;
export const F_DST_NEG = 8;
export const F_PROTO = 16;
export const F_DPORT = 32;
export const F_SRC_LOCAL = 64;
export const F_DST_LOCAL = 128;
export const F_MARK = 256;
export const F_MARK_NEG = 512;
export const F_CTSTATE = 1024;
export const F_CTSTATE_NEG = 2048;
export const F_STATISTIC = 4096;
export const F_RECENT = 8192;
export const F_SRC_LOCAL_NEG = 16384;
export const F_DST_LOCAL_NEG = 32768;
export const F_SET = 65536;
export const F_IPVS = 131072;
/** The rule's -s / -d addresses are IPv6 (RareMatches.src6 / dst6): the IPv6 walk compares four words. */
export const F_V6 = 262144;

// Targets (Rule.target)
export const T_NONE = 0;
export const T_JUMP = 1;
export const T_GOTO = 2;
export const T_RETURN = 3;
export const T_ACCEPT = 4;
export const T_DROP = 5;
export const T_REJECT = 6;
export const T_MARK = 7;
export const T_MASQUERADE = 8;
export const T_DNAT = 9;

// conntrack states (xt_conntrack state bits, in iptables' print order)
export const CT_INVALID = 1;
export const CT_NEW = 2;
export const CT_RELATED = 4;
export const CT_ESTABLISHED = 8;
export const CT_UNTRACKED = 16;
export const CT_SNAT = 32;
export const CT_DNAT = 64;
export const CT_NAMES: ReadonlyArray<[string, number]> = [
  ['INVALID', CT_INVALID],
  ['NEW', CT_NEW],
  ['RELATED', CT_RELATED],
  ['ESTABLISHED', CT_ESTABLISHED],
  ['UNTRACKED', CT_UNTRACKED],
  ['SNAT', CT_SNAT],
  ['DNAT', CT_DNAT],
];

/** IP protocol numbers by iptables' lower-case name. */
export const PROTO_NUM: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

/** `-m recent` as kube-proxy uses it: --rcheck --seconds N --reap (session affinity check) or --set. */
export interface RecentMatch {
  name: string;
  set: boolean;
  seconds: number;
  reap: boolean;
}

export class Chain {
  protected list: Rule[];
  constructor(
    readonly name: string,
    readonly table: TableName,
    /** Built-in chains have a policy (ACCEPT); user chains print "-". */
    readonly builtin: boolean,
    rules: Rule[] = [],
    /** Service-port key of the service that owns the chain, '' for kube-proxy's fixed chains. */
    readonly owner = '',
  ) {
    this.list = rules;
  }
  /** The chain's rules in order (a subclass may build them on first use). */
  get rules(): Rule[] {
    return this.list;
  }
  set rules(v: Rule[]) {
    this.list = v;
  }
}

/** The matches kube-proxy uses only in a few fixed or affinity rules, kept out of the common rule object. */
export class RareMatches {
  markValue = 0;
  markMask = 0;
  ctMask = 0;
  recent: RecentMatch | null = null;
  /** `-m set --match-set NAME FLAGS` (FLAGS: the comma-separated src/dst directions). */
  setName = '';
  setFlags = '';
  /** `-m ipvs --vaddr A --vproto P --vport N`: the packet was transmitted by IPVS for that virtual service. */
  ipvsAddr = 0;
  ipvsProto = 0;
  ipvsPort = 0;
  /** IPv6 -s / -d (with F_V6): network and mask words; null when the rule has none. */
  src6: Words6 | null = null;
  src6Mask: Words6 | null = null;
  dst6: Words6 | null = null;
  dst6Mask: Words6 | null = null;
  /** IPv6 DNAT: the endpoint address (canonical text) and its words. */
  dnat6 = '';
  dnat6Words: Words6 | null = null;
}

export class Rule {
  /**
   * The line kube-proxy writes to iptables-restore ("-A CHAIN args..."), or, for a rule built while
   * RuleBuilder.keepText is off (the benchmark's large clusters), only that line's length in bytes.
   */
  private line: string | number = '';
  flags = 0;
  src = 0;
  srcMask = 0;
  dst = 0;
  dstMask = 0;
  proto = 0;
  dport = 0;
  /** statistic: kernel probability (xt_statistic's u32, out of 2^31). */
  prob = 0;
  /** mark, conntrack and recent matches (null when the rule has none). */
  rare: RareMatches | null = null;
  target = T_NONE;
  jumpTo: Chain | null = null;
  /** MARK: value / mask (new = (old & ~mask) ^ value). DNAT: address (int32) / port. */
  arg1 = 0;
  arg2 = 0;
  constructor(
    readonly chain: string,
    /** Service-port key of the service this rule belongs to, '' for kube-proxy's fixed rules. */
    readonly owner: string,
  ) {}
  /** The iptables-restore line; throws for a rule built without its text (RuleBuilder.keepText off). */
  get text(): string {
    if (typeof this.line === 'number')
      throw new Error(`rule of chain ${this.chain}: built without its restore text (RuleBuilder.keepText off)`);
    return this.line;
  }
  /** Whether the restore line is kept. */
  get hasText(): boolean {
    return typeof this.line === 'string';
  }
  /** Bytes of the restore line (without the newline). */
  get bytes(): number {
    return typeof this.line === 'number' ? this.line : Buffer.byteLength(this.line);
  }
  /** @internal set by RuleBuilder */
  setLine(line: string | number): void {
    this.line = line;
  }
}

/** Bytes of the restore line of `args` joined by spaces. */
function joinedBytes(args: readonly string[]): number {
  let n = args.length - 1;
  for (const a of args) {
    let ascii = true;
    for (let i = 0; i < a.length; i++) {
      if (a.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    n += ascii ? a.length : Buffer.byteLength(a);
  }
  return n;
}

/** kube-proxy quotes exactly the comments that contain a space (its format strings carry the quotes). */
export function restoreComment(c: string): string {
  return c.includes(' ') ? `"${c}"` : c;
}

/** Scratch argument list shared by builders (a rule is always finished before the next one starts). */
const scratch: string[] = [];
let scratchOwner: RuleBuilder | null = null;

/**
 * An address or CIDR compiled for the packet walk. The IPv4 walk compares int32 words; an IPv6 address or CIDR
 * (kube-proxy's IPv6 ruleset) compiles to a match no IPv4 packet meets (address 1, mask 0) and, beside it, to four
 * words the IPv6 walk compares (RuleBuilder sets F_V6 and RareMatches.src6 / dst6).
 */
function compiledAddr(addr: string): Cidr4 | null {
  const c = parseAddrOrCidr(addr);
  if (c !== null) return c;
  const t = addr.trim();
  const v6 = t.includes('/') ? parseCIDRSloppy(t) : parseIPSloppy(t);
  if (v6 === null || v6.family !== 'IPv6') return null;
  return { addr: 1, mask: 0, prefix: 128, text: v6.text };
}

/**
 * Builds one rule: appends kube-proxy's arguments in order while filling in the compiled matches. The arguments
 * go to a shared scratch list and are joined once, so a rule costs one flat string and no ropes.
 */
export class RuleBuilder {
  /**
   * Whether rules keep their restore line (the default). Off, a rule keeps only the line's byte length: every
   * count, byte total and packet walk is the same, but the rule cannot be rendered (`text` throws). The
   * benchmark's cases turn it off around their syncs (nothing renders there), which saves about 130 bytes per
   * rule at millions of rules.
   */
  static keepText = true;
  private r: Rule;
  constructor(chain: string, owner = '') {
    this.r = new Rule(chain, owner);
    this.begin(chain);
  }
  private static shared: RuleBuilder | null = null;
  /** A builder for the next rule, reusing one object (for the per-service hot path). */
  static start(chain: string, owner: string): RuleBuilder {
    const b = RuleBuilder.shared;
    if (b === null) return (RuleBuilder.shared = new RuleBuilder(chain, owner));
    b.r = new Rule(chain, owner);
    b.begin(chain);
    return b;
  }
  private begin(chain: string): void {
    if (scratchOwner !== null) throw new Error('RuleBuilder: a rule was started before the previous one was finished');
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the shared scratch buffer records its one owner
    scratchOwner = this;
    scratch.length = 0;
    scratch.push('-A', chain);
  }
  private rare(): RareMatches {
    if (this.r.rare === null) this.r.rare = new RareMatches();
    return this.r.rare;
  }
  comment(c: string): this {
    scratch.push('-m', 'comment', '--comment', restoreComment(c));
    return this;
  }
  /** `-m tcp -p tcp` (kube-proxy always loads the protocol match explicitly). */
  proto(p: string): this {
    const n = PROTO_NUM[p];
    if (n === undefined) throw new RangeError(`unsupported protocol ${p}`);
    this.r.flags |= F_PROTO;
    this.r.proto = n;
    scratch.push('-m', p, '-p', p);
    return this;
  }
  dst(addr: string, neg = false): this {
    const c = compiledAddr(addr);
    if (c === null) throw new RangeError(`bad address ${addr}`);
    this.r.flags |= F_DST | (neg ? F_DST_NEG : 0);
    this.r.dst = c.addr;
    this.r.dstMask = c.mask;
    if (c.mask === 0 && c.addr === 1) {
      const w = ipv6Words(addr)!;
      this.r.flags |= F_V6;
      this.rare().dst6 = w.words;
      this.rare().dst6Mask = w.mask;
    }
    if (neg) scratch.push('!');
    scratch.push('-d', addr);
    return this;
  }
  src(addr: string, neg = false): this {
    const c = compiledAddr(addr);
    if (c === null) throw new RangeError(`bad address ${addr}`);
    this.r.flags |= F_SRC | (neg ? F_SRC_NEG : 0);
    this.r.src = c.addr;
    this.r.srcMask = c.mask;
    if (c.mask === 0 && c.addr === 1) {
      const w = ipv6Words(addr)!;
      this.r.flags |= F_V6;
      this.rare().src6 = w.words;
      this.rare().src6Mask = w.mask;
    }
    if (neg) scratch.push('!');
    scratch.push('-s', addr);
    return this;
  }
  dport(port: number): this {
    this.r.flags |= F_DPORT;
    this.r.dport = port;
    scratch.push('--dport', String(port));
    return this;
  }
  /** `-p tcp` alone (IPVS mode writes no `-m tcp`); proto() writes kube-proxy's `-m tcp -p tcp`. */
  protocol(p: string): this {
    const n = PROTO_NUM[p];
    if (n === undefined) throw new RangeError(`unsupported protocol ${p}`);
    this.r.flags |= F_PROTO;
    this.r.proto = n;
    scratch.push('-p', p);
    return this;
  }
  addrtype(which: 'src' | 'dst', neg = false): this {
    this.r.flags |= which === 'src' ? F_SRC_LOCAL | (neg ? F_SRC_LOCAL_NEG : 0) : F_DST_LOCAL | (neg ? F_DST_LOCAL_NEG : 0);
    scratch.push('-m', 'addrtype');
    if (neg) scratch.push('!');
    scratch.push(which === 'src' ? '--src-type' : '--dst-type', 'LOCAL');
    return this;
  }
  /** `-m set --match-set NAME FLAGS`: an ipset membership test (the walker asks its IpsetMatcher). */
  matchSet(name: string, flags: string): this {
    this.r.flags |= F_SET;
    const x = this.rare();
    x.setName = name;
    x.setFlags = flags;
    scratch.push('-m', 'set', '--match-set', name, flags);
    return this;
  }
  /** `-m physdev ! --physdev-is-in`: packets of the model never arrive through a bridge port, so it always matches. */
  physdevNotIn(): this {
    scratch.push('-m', 'physdev', '!', '--physdev-is-in');
    return this;
  }
  /** `-m ipvs --vaddr A --vproto P --vport N`. */
  ipvs(vaddr: string, vproto: string, vport: number): this {
    // an IPv6 virtual address (the IPv6 proxier's rule) is written, not matched by the IPv4 walk (address 0)
    const a = parseIPv4(vaddr) ?? (parseIPSloppy(vaddr)?.family === 'IPv6' ? 0 : null);
    const p = PROTO_NUM[vproto];
    if (a === null || p === undefined) throw new RangeError(`bad ipvs match ${vaddr} ${vproto}`);
    this.r.flags |= F_IPVS;
    const x = this.rare();
    x.ipvsAddr = a;
    x.ipvsProto = p;
    x.ipvsPort = vport;
    scratch.push(`-m ipvs --vaddr ${vaddr} --vproto ${vproto} --vport ${vport}`);
    return this;
  }
  mark(markStr: string, neg = false): this {
    const v = Number(markStr) | 0;
    this.r.flags |= F_MARK | (neg ? F_MARK_NEG : 0);
    this.rare().markValue = v;
    this.rare().markMask = v;
    scratch.push('-m', 'mark');
    if (neg) scratch.push('!');
    scratch.push('--mark', `${markStr}/${markStr}`);
    return this;
  }
  ctstate(states: string, neg = false): this {
    let m = 0;
    for (const st of states.split(',')) {
      const e = CT_NAMES.find(([n]) => n === st);
      if (e === undefined) throw new RangeError(`bad ctstate ${st}`);
      m |= e[1];
    }
    this.r.flags |= F_CTSTATE | (neg ? F_CTSTATE_NEG : 0);
    this.rare().ctMask = m;
    scratch.push('-m', 'conntrack');
    if (neg) scratch.push('!');
    scratch.push('--ctstate', states);
    return this;
  }
  statistic(probability: string): this {
    this.r.flags |= F_STATISTIC;
    this.r.prob = kernelProbability(probability);
    scratch.push('-m', 'statistic', '--mode', 'random', '--probability', probability);
    return this;
  }
  recentCheck(name: string, seconds: number): this {
    this.r.flags |= F_RECENT;
    this.rare().recent = { name, set: false, seconds, reap: true };
    scratch.push('-m', 'recent', '--name', name, '--rcheck', '--seconds', String(seconds), '--reap');
    return this;
  }
  recentSet(name: string): this {
    this.r.flags |= F_RECENT;
    this.rare().recent = { name, set: true, seconds: 0, reap: false };
    scratch.push('-m', 'recent', '--name', name, '--set');
    return this;
  }
  nfacct(name: string): this {
    // accounting only: always matches
    scratch.push('-m', 'nfacct', '--nfacct-name', name);
    return this;
  }
  jump(chain: Chain): Rule {
    this.r.target = T_JUMP;
    this.r.jumpTo = chain;
    scratch.push('-j', chain.name);
    return this.done();
  }
  verdict(t: 'ACCEPT' | 'DROP' | 'REJECT' | 'RETURN'): Rule {
    this.r.target = t === 'ACCEPT' ? T_ACCEPT : t === 'DROP' ? T_DROP : t === 'REJECT' ? T_REJECT : T_RETURN;
    scratch.push('-j', t);
    return this.done();
  }
  /** `-j MARK --or-mark M` / `--xor-mark M`. */
  markTarget(op: 'or' | 'xor', markStr: string): Rule {
    const v = Number(markStr) | 0;
    this.r.target = T_MARK;
    this.r.arg1 = v;
    this.r.arg2 = op === 'or' ? v : 0;
    scratch.push('-j', 'MARK', op === 'or' ? '--or-mark' : '--xor-mark', markStr);
    return this.done();
  }
  masquerade(randomFully: boolean): Rule {
    this.r.target = T_MASQUERADE;
    scratch.push('-j', 'MASQUERADE');
    if (randomFully) scratch.push('--random-fully');
    return this.done();
  }
  dnatTo(ip: string, port: number): Rule {
    const a = parseIPv4(ip);
    if (a === null) {
      // IPv6: "[fd00::1]:80", as kube-proxy's net.JoinHostPort writes it (the IPv6 walk reads rare.dnat6)
      const v6 = parseIPSloppy(ip);
      if (v6 === null || v6.family !== 'IPv6') throw new RangeError(`bad DNAT address ${ip}`);
      this.r.target = T_DNAT;
      this.r.arg2 = port;
      this.rare().dnat6 = v6.text;
      this.rare().dnat6Words = ipv6Words(v6.text)!.words;
      scratch.push('-j', 'DNAT', '--to-destination', `[${v6.text}]:${port}`);
      return this.done();
    }
    this.r.target = T_DNAT;
    this.r.arg1 = a;
    this.r.arg2 = port;
    scratch.push('-j', 'DNAT', '--to-destination', `${ip}:${port}`);
    return this.done();
  }
  /** A rule with no target (kube-proxy's trailing KUBE-FW comment rule): only counts packets. */
  noTarget(): Rule {
    return this.done();
  }
  private done(): Rule {
    const r = this.r;
    r.setLine(RuleBuilder.keepText ? scratch.join(' ') : joinedBytes(scratch));
    scratch.length = 0;
    scratchOwner = null;
    return r;
  }
}
