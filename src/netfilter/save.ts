/**
 * The `iptables-save` form of netfilter rules, computed from the iptables-restore line that created them:
 * iptables' own print order and formats per extension (iptables extensions/libxt_*.c save functions, formats
 * checked against iptables v1.8.9).
 */
import { formatIPv4, parseAddrOrCidr } from '../net/ipv4.js';
import { parseCIDRSloppy, parseIPSloppy } from '../net/ip.js';
import type { Chain, TableName } from './rule.js';
import { CT_NAMES, PROTO_NUM } from './rule.js';
import { kernelProbability, saveProbability } from './statistic.js';

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

/** The family saveLine prints for: ip6tables-save differs in the recent match's mask and REJECT's default. */
let saveFamily: 'IPv4' | 'IPv6' = 'IPv4';
const V6_FULL_MASK = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';

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
    else if (t === '--match-set') value = `${opts[++i] ?? ''} ${opts[++i] ?? ''}`;
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
    default: {
      const save = MODULE_SAVERS[mod.name];
      return save !== undefined ? save(o) : mod.opts.map((t) => ` ${t}`).join('');
    }
  }
}

/** The matches only IPVS mode's fixed rules use (libxt_set, libxt_physdev, libxt_ipvs). */
const MODULE_SAVERS: Readonly<Record<string, (o: readonly Opt[]) => string>> = {
  set: (o) => `${negOf(o, '--match-set')} --match-set ${valOf(o, '--match-set')}`,
  physdev: (o) => `${negOf(o, '--physdev-is-in')} --physdev-is-in`,
  // libxt_ipvs prints the protocol number first
  ipvs: (o) =>
    ` --vproto ${PROTO_NUM[valOf(o, '--vproto')] ?? valOf(o, '--vproto')} --vaddr ${valOf(o, '--vaddr')} --vport ${valOf(o, '--vport')}`,
};

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

/** One table as iptables-save prints it: `*table`, the chain lines, every chain's rules in the given order, COMMIT. */
export function saveTable(table: TableName, chains: readonly Chain[], out: string[], family: 'IPv4' | 'IPv6' = 'IPv4'): void {
  out.push(`*${table}`);
  for (const c of chains) out.push(chainLine(c.name, c.builtin));
  for (const c of chains) for (const r of c.rules) out.push(saveLine(r.text, family));
  out.push('COMMIT');
}
