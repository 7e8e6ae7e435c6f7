/**
 * The ruleset as real objects: tables → chains → rules. Each rule keeps the exact text kube-proxy feeds to
 * iptables-restore (`text`, kube-proxy's argument order) and its matches and target precompiled to numbers for the
 * packet walk. `saveLine()` turns the restore text into what `iptables-save` prints for the same kernel rule.
 */
import { formatIPv4, parseAddrOrCidr, parseIPv4, type Cidr4 } from '../../net/ipv4.js';
import { parseCIDRSloppy, parseIPSloppy } from '../../net/ip.js';
import { kernelProbability, saveProbability } from './names.js';

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
const CT_NAMES: ReadonlyArray<[string, number]> = [
  ['INVALID', CT_INVALID],
  ['NEW', CT_NEW],
  ['RELATED', CT_RELATED],
  ['ESTABLISHED', CT_ESTABLISHED],
  ['UNTRACKED', CT_UNTRACKED],
  ['SNAT', CT_SNAT],
  ['DNAT', CT_DNAT],
];

export const PROTO_NUM: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

/** `-m recent` as kube-proxy uses it: --rcheck --seconds N --reap (session affinity check) or --set. */
export interface RecentMatch {
  name: string;
  set: boolean;
  seconds: number;
  reap: boolean;
}

export class Chain {
  constructor(
    readonly name: string,
    readonly table: TableName,
    /** Built-in chains have a policy (ACCEPT); user chains print "-". */
    readonly builtin: boolean,
    public rules: Rule[] = [],
    /** Service-port key of the service that owns the chain, '' for kube-proxy's fixed chains. */
    readonly owner = '',
  ) {}
}

/** The matches kube-proxy uses only in a few fixed or affinity rules, kept out of the common rule object. */
export class RareMatches {
  markValue = 0;
  markMask = 0;
  ctMask = 0;
  recent: RecentMatch | null = null;
}

export class Rule {
  /** The line kube-proxy writes to iptables-restore: "-A CHAIN args...". */
  text = '';
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
}

/** kube-proxy quotes exactly the comments that contain a space (its format strings carry the quotes). */
export function restoreComment(c: string): string {
  return c.includes(' ') ? `"${c}"` : c;
}

/**
 * An address or CIDR compiled for the packet walk. The walk is IPv4 (int32); an IPv6 address or CIDR (the IPv6
 * ruleset, which is rendered but not walked) compiles to a match no IPv4 packet meets (address 1, mask 0).
 */
function compiledAddr(addr: string): Cidr4 | null {
  const c = parseAddrOrCidr(addr);
  if (c !== null) return c;
  const t = addr.trim();
  const v6 = t.includes('/') ? parseCIDRSloppy(t) : parseIPSloppy(t);
  if (v6 === null || v6.family !== 'IPv6') return null;
  return { addr: 1, mask: 0, prefix: 128, text: v6.text };
}

/** Scratch argument list shared by builders (a rule is always finished before the next one starts). */
const scratch: string[] = [];
let scratchOwner: RuleBuilder | null = null;

/**
 * Builds one rule: appends kube-proxy's arguments in order while filling in the compiled matches. The arguments
 * go to a shared scratch list and are joined once, so a rule costs one flat string and no ropes.
 */
export class RuleBuilder {
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
  addrtype(which: 'src' | 'dst'): this {
    this.r.flags |= which === 'src' ? F_SRC_LOCAL : F_DST_LOCAL;
    scratch.push('-m', 'addrtype', which === 'src' ? '--src-type' : '--dst-type', 'LOCAL');
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
      // IPv6 (rendered, not walked): "[fd00::1]:80", as kube-proxy's net.JoinHostPort writes it
      const v6 = parseIPSloppy(ip);
      if (v6 === null || v6.family !== 'IPv6') throw new RangeError(`bad DNAT address ${ip}`);
      this.r.target = T_DNAT;
      this.r.arg2 = port;
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
    r.text = scratch.join(' ');
    scratch.length = 0;
    scratchOwner = null;
    return r;
  }
}

// ---------------------------------------------------------------------------------------------
// iptables-save form
// ---------------------------------------------------------------------------------------------

/** Splits an iptables-restore line into arguments, honouring double quotes as iptables-restore does. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
    if (i >= n) break;
    if (line.charCodeAt(i) === 34) {
      // quoted: up to the closing quote, with \" and \\ escapes
      let j = i + 1;
      let tok = '';
      let from = j;
      while (j < n && line.charCodeAt(j) !== 34) {
        if (line.charCodeAt(j) === 92 && j + 1 < n && (line.charCodeAt(j + 1) === 34 || line.charCodeAt(j + 1) === 92)) {
          tok += line.slice(from, j);
          from = j + 1;
          j += 2;
          continue;
        }
        j++;
      }
      out.push(tok + line.slice(from, j));
      i = j + 1;
    } else {
      let j = i;
      while (j < n && line.charCodeAt(j) !== 32 && line.charCodeAt(j) !== 9) j++;
      out.push(line.slice(i, j));
      i = j;
    }
  }
  return out;
}

/** xtables_save_string: bare when only [_-0-9A-Za-z], otherwise double-quoted with \" \\ \' escaped. */
export function xtSaveString(v: string): string {
  if (v.length > 0 && /^[_\-0-9A-Za-z]+$/.test(v)) return v;
  return `"${v.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

function saveAddr(v: string): string {
  const c = parseAddrOrCidr(v);
  if (c === null) {
    // ip6tables-save: the canonical network and its prefix ("fd00::1/128", "::1/128", "fd00:10::/64")
    const t = v.trim();
    const v6 = t.includes('/') ? parseCIDRSloppy(t) : parseIPSloppy(t);
    if (v6 === null || v6.family !== 'IPv6') return v;
    return 'prefix' in v6 ? v6.text : `${v6.text}/128`;
  }
  return `${formatIPv4(c.addr)}/${c.prefix}`;
}

/** The family saveLine prints for: ip6tables-save differs in the recent match's mask and REJECT's default. */
let saveFamily: 'IPv4' | 'IPv6' = 'IPv4';
const V6_FULL_MASK = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';

function hexMark(v: string): string {
  return `0x${(Number(v) >>> 0).toString(16)}`;
}

interface Module {
  name: string;
  /** Option tokens in order; '!' precedes the option it inverts. */
  opts: string[];
}

/** One parsed option: "--name [value]", possibly inverted. */
interface Opt {
  key: string;
  neg: boolean;
  value: string;
}

/** Groups option tokens: an option ("--x") takes the following token unless that is an option or "!". */
function parseOpts(opts: readonly string[]): Opt[] {
  const out: Opt[] = [];
  let neg = false;
  for (let i = 0; i < opts.length; i++) {
    const t = opts[i]!;
    if (t === '!') {
      neg = true;
      continue;
    }
    let value = '';
    if (t === '--comment') value = opts[++i] ?? '';
    else if (i + 1 < opts.length && !opts[i + 1]!.startsWith('-') && opts[i + 1] !== '!') value = opts[++i]!;
    out.push({ key: t, neg, value });
    neg = false;
  }
  return out;
}

function findOpt(o: readonly Opt[], key: string): Opt | undefined {
  for (const x of o) if (x.key === key) return x;
  return undefined;
}

function negOf(o: readonly Opt[], key: string): string {
  return findOpt(o, key)?.neg === true ? ' !' : '';
}

function valOf(o: readonly Opt[], key: string): string {
  return findOpt(o, key)?.value ?? '';
}

function ctStateText(states: string): string {
  let mask = 0;
  for (const st of states.split(',')) {
    for (const [n, b] of CT_NAMES) if (n === st) mask |= b;
  }
  let s = '';
  for (const [n, b] of CT_NAMES) if ((mask & b) !== 0) s += s === '' ? n : `,${n}`;
  return s;
}

function saveModule(mod: Module): string {
  const o = parseOpts(mod.opts);
  switch (mod.name) {
    case 'comment':
      return ` --comment ${xtSaveString(valOf(o, '--comment'))}`;
    case 'tcp':
    case 'udp':
    case 'sctp': {
      let s = '';
      if (findOpt(o, '--sport') !== undefined) s += `${negOf(o, '--sport')} --sport ${valOf(o, '--sport')}`;
      if (findOpt(o, '--dport') !== undefined) s += `${negOf(o, '--dport')} --dport ${valOf(o, '--dport')}`;
      return s;
    }
    case 'statistic':
      return ` --mode random${negOf(o, '--probability')} --probability ${saveProbability(kernelProbability(valOf(o, '--probability')))}`;
    case 'recent': {
      let s = '';
      if (findOpt(o, '--set') !== undefined) s += ' --set';
      if (findOpt(o, '--rcheck') !== undefined) s += ' --rcheck';
      if (findOpt(o, '--seconds') !== undefined) s += ` --seconds ${valOf(o, '--seconds')}`;
      if (findOpt(o, '--reap') !== undefined) s += ' --reap';
      return `${s} --name ${valOf(o, '--name')} --mask ${saveFamily === 'IPv6' ? V6_FULL_MASK : '255.255.255.255'} --rsource`;
    }
    case 'mark': {
      const [v, m] = valOf(o, '--mark').split('/');
      const mask = m === undefined ? 0xffffffff : Number(m) >>> 0;
      const text = mask === 0xffffffff ? hexMark(v!) : `${hexMark(v!)}/${hexMark(m!)}`;
      return `${negOf(o, '--mark')} --mark ${text}`;
    }
    case 'conntrack':
      return `${negOf(o, '--ctstate')} --ctstate ${ctStateText(valOf(o, '--ctstate'))}`;
    case 'addrtype': {
      let s = '';
      if (findOpt(o, '--src-type') !== undefined) s += `${negOf(o, '--src-type')} --src-type ${valOf(o, '--src-type')}`;
      if (findOpt(o, '--dst-type') !== undefined) s += `${negOf(o, '--dst-type')} --dst-type ${valOf(o, '--dst-type')}`;
      return s;
    }
    case 'nfacct':
      // libxt_nfacct prints " --nfacct-name " and then xtables_save_string's own leading space
      return ` --nfacct-name  ${xtSaveString(valOf(o, '--nfacct-name'))}`;
    default:
      return mod.opts.map((t) => ` ${t}`).join('');
  }
}

function saveTarget(name: string, opts: string[]): string {
  const o = parseOpts(opts);
  switch (name) {
    case 'MARK': {
      if (findOpt(o, '--or-mark') !== undefined) {
        const v = hexMark(valOf(o, '--or-mark'));
        return ` --set-xmark ${v}/${v}`;
      }
      if (findOpt(o, '--xor-mark') !== undefined) return ` --set-xmark ${hexMark(valOf(o, '--xor-mark'))}/0x0`;
      return opts.map((t) => ` ${t}`).join('');
    }
    case 'MASQUERADE':
      return findOpt(o, '--random-fully') !== undefined ? ' --random-fully' : '';
    case 'REJECT':
      return ` --reject-with ${findOpt(o, '--reject-with') !== undefined ? valOf(o, '--reject-with') : saveFamily === 'IPv6' ? 'icmp6-port-unreachable' : 'icmp-port-unreachable'}`;
    case 'DNAT':
      return ` --to-destination ${valOf(o, '--to-destination')}`;
    default:
      return opts.map((t) => ` ${t}`).join('');
  }
}

/**
 * What iptables-save prints for the rule that `restoreLine` creates: the IP header matches first
 * (`[!] -s a/m`, `[!] -d a/m`, `-p proto`), then each `-m` module with its options in iptables' own order and
 * formats (comments quoted unless plain, `--set-xmark` for MARK, probabilities with 11 decimals, ...), then the
 * target with its printed options.
 */
export function saveLine(restoreLine: string, family: 'IPv4' | 'IPv6' = 'IPv4'): string {
  saveFamily = family;
  const a = splitArgs(restoreLine);
  if (a[0] !== '-A' || a.length < 2) throw new RangeError(`not a rule: ${restoreLine}`);
  const chain = a[1]!;
  let src = '';
  let dst = '';
  let proto = '';
  const modules: Module[] = [];
  let cur: Module | null = null;
  let target = '';
  let targetFlag = '-j';
  let targetOpts: string[] = [];
  let neg = false;
  for (let i = 2; i < a.length; i++) {
    const t = a[i]!;
    if (t === '!') {
      neg = true;
      continue;
    }
    if (t === '-s' || t === '--source') {
      src = `${neg ? ' !' : ''} -s ${saveAddr(a[++i]!)}`;
    } else if (t === '-d' || t === '--destination') {
      dst = `${neg ? ' !' : ''} -d ${saveAddr(a[++i]!)}`;
    } else if (t === '-p' || t === '--protocol') {
      proto = `${neg ? ' !' : ''} -p ${a[++i]!}`;
    } else if (t === '-m' || t === '--match') {
      cur = { name: a[++i]!, opts: [] };
      modules.push(cur);
    } else if (t === '-j' || t === '-g' || t === '--jump' || t === '--goto') {
      targetFlag = t === '-g' || t === '--goto' ? '-g' : '-j';
      target = a[++i]!;
      targetOpts = a.slice(i + 1);
      break;
    } else if (cur !== null) {
      if (neg) cur.opts.push('!');
      cur.opts.push(t);
    }
    neg = false;
  }
  let s = `-A ${chain}${src}${dst}${proto}`;
  for (const m of modules) s += ` -m ${m.name}${saveModule(m)}`;
  if (target !== '') s += ` ${targetFlag} ${target}${saveTarget(target, targetOpts)}`;
  return s;
}

/** ":CHAIN - [0:0]" (user chain) or ":INPUT ACCEPT [0:0]" (built-in chain). */
export function chainLine(name: string, builtin = false): string {
  return builtin ? `:${name} ACCEPT [0:0]` : `:${name} - [0:0]`;
}

