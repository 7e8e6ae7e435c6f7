/**
 * The ruleset as real objects: tables → chains → rules. Each rule keeps the exact text kube-proxy feeds to
 * iptables-restore (`text`, kube-proxy's argument order) and its matches and target precompiled to numbers for the
 * packet walk. `saveLine()` turns the restore text into what `iptables-save` prints for the same kernel rule.
 */
import { formatIPv4, parseAddrOrCidr, parseIPv4 } from './ipv4.js';
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
    const c = parseAddrOrCidr(addr);
    if (c === null) throw new RangeError(`bad address ${addr}`);
    this.r.flags |= F_DST | (neg ? F_DST_NEG : 0);
    this.r.dst = c.addr;
    this.r.dstMask = c.mask;
    if (neg) scratch.push('!');
    scratch.push('-d', addr);
    return this;
  }
  src(addr: string, neg = false): this {
    const c = parseAddrOrCidr(addr);
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
    if (a === null) throw new RangeError(`bad DNAT address ${ip}`);
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
  let cur = '';
  let inQuote = false;
  let have = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inQuote) {
      if (c === '\\' && i + 1 < line.length && (line[i + 1] === '"' || line[i + 1] === '\\')) {
        cur += line[++i];
      } else if (c === '"') inQuote = false;
      else cur += c;
    } else if (c === '"') {
      inQuote = true;
      have = true;
    } else if (c === ' ' || c === '\t') {
      if (have) out.push(cur);
      cur = '';
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have) out.push(cur);
  return out;
}

/** xtables_save_string: bare when only [_-0-9A-Za-z], otherwise double-quoted with \" \\ \' escaped. */
export function xtSaveString(v: string): string {
  if (v.length > 0 && /^[_\-0-9A-Za-z]+$/.test(v)) return v;
  return `"${v.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

function saveAddr(v: string): string {
  const c = parseAddrOrCidr(v);
  if (c === null) return v;
  return `${formatIPv4(c.addr)}/${c.prefix}`;
}

function hexMark(v: string): string {
  return `0x${(Number(v) >>> 0).toString(16)}`;
}

interface Module {
  name: string;
  /** Option tokens in order; '!' precedes the option it inverts. */
  opts: string[];
}

/** Groups option tokens: an option ("--x") takes the following tokens that are not options themselves. */
function optionMap(opts: string[]): Map<string, { neg: boolean; values: string[] }> {
  const m = new Map<string, { neg: boolean; values: string[] }>();
  let neg = false;
  for (let i = 0; i < opts.length; i++) {
    const t = opts[i]!;
    if (t === '!') {
      neg = true;
      continue;
    }
    const values: string[] = [];
    if (t === '--comment') values.push(opts[++i] ?? '');
    else while (i + 1 < opts.length && !opts[i + 1]!.startsWith('-') && opts[i + 1] !== '!') values.push(opts[++i]!);
    m.set(t, { neg, values });
    neg = false;
  }
  return m;
}

function saveModule(mod: Module): string {
  const o = optionMap(mod.opts);
  const neg = (k: string): string => (o.get(k)?.neg ? ' !' : '');
  const val = (k: string): string => o.get(k)?.values[0] ?? '';
  switch (mod.name) {
    case 'comment':
      return ` --comment ${xtSaveString(val('--comment'))}`;
    case 'tcp':
    case 'udp':
    case 'sctp': {
      let s = '';
      if (o.has('--sport')) s += `${neg('--sport')} --sport ${val('--sport')}`;
      if (o.has('--dport')) s += `${neg('--dport')} --dport ${val('--dport')}`;
      return s;
    }
    case 'statistic':
      return ` --mode random${neg('--probability')} --probability ${saveProbability(kernelProbability(val('--probability')))}`;
    case 'recent': {
      let s = '';
      if (o.has('--set')) s += ' --set';
      if (o.has('--rcheck')) s += ' --rcheck';
      if (o.has('--seconds')) s += ` --seconds ${val('--seconds')}`;
      if (o.has('--reap')) s += ' --reap';
      return `${s} --name ${val('--name')} --mask 255.255.255.255 --rsource`;
    }
    case 'mark': {
      const [v, m] = val('--mark').split('/');
      const mask = m === undefined ? 0xffffffff : Number(m) >>> 0;
      const text = mask === 0xffffffff ? hexMark(v!) : `${hexMark(v!)}/${hexMark(m!)}`;
      return `${neg('--mark')} --mark ${text}`;
    }
    case 'conntrack': {
      let mask = 0;
      for (const st of val('--ctstate').split(',')) mask |= CT_NAMES.find(([n]) => n === st)?.[1] ?? 0;
      const names = CT_NAMES.filter(([, b]) => (mask & b) !== 0).map(([n]) => n);
      return `${neg('--ctstate')} --ctstate ${names.join(',')}`;
    }
    case 'addrtype': {
      let s = '';
      if (o.has('--src-type')) s += `${neg('--src-type')} --src-type ${val('--src-type')}`;
      if (o.has('--dst-type')) s += `${neg('--dst-type')} --dst-type ${val('--dst-type')}`;
      return s;
    }
    case 'nfacct':
      // libxt_nfacct prints " --nfacct-name " and then xtables_save_string's own leading space
      return ` --nfacct-name  ${xtSaveString(val('--nfacct-name'))}`;
    default:
      return mod.opts.map((t) => ` ${t}`).join('');
  }
}

function saveTarget(name: string, opts: string[]): string {
  const o = optionMap(opts);
  const val = (k: string): string => o.get(k)?.values[0] ?? '';
  switch (name) {
    case 'MARK': {
      if (o.has('--or-mark')) {
        const v = hexMark(val('--or-mark'));
        return ` --set-xmark ${v}/${v}`;
      }
      if (o.has('--xor-mark')) return ` --set-xmark ${hexMark(val('--xor-mark'))}/0x0`;
      return opts.map((t) => ` ${t}`).join('');
    }
    case 'MASQUERADE':
      return o.has('--random-fully') ? ' --random-fully' : '';
    case 'REJECT':
      return ` --reject-with ${o.has('--reject-with') ? val('--reject-with') : 'icmp-port-unreachable'}`;
    case 'DNAT':
      return ` --to-destination ${val('--to-destination')}`;
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
export function saveLine(restoreLine: string): string {
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

