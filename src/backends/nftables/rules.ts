/**
 * One nftables rule of kube-proxy's table, kept three ways: the text kube-proxy hands to knftables (what `nft -f`
 * receives), the text `nft list` prints back (nft 1.0.6 normal form), and a compiled form the packet walk
 * evaluates. Built only through `RuleBuilder`, whose methods are the handful of expressions kube-proxy's
 * nftables proxier writes (pkg/proxy/nftables/proxier.go), so the three can never drift apart.
 */
import { formatIPv4, parseAddrOrCidr, type Cidr4 } from '../../net/ipv4.js';
import { formatIPv6Bytes, parseCIDRSloppy, parseIPSloppy } from '../../net/ip.js';
import type { Protocol } from '../../types.js';

export type Family = 'ip' | 'ip6';

/** A match: every one must hold for the rule's statement to run. */
export type Match =
  | { t: 'ctnew' }
  /** ip saddr/daddr [!=] ADDR or an anonymous set { A, B } (anon: counts as a set lookup). */
  | { t: 'addr'; f: 'saddr' | 'daddr'; neg: boolean; nets: Cidr4[]; anon: boolean; nets6?: Net6[] }
  /** ip saddr/daddr @SET (a named set; affinity sets hold timed entries). */
  | { t: 'inset'; f: 'saddr' | 'daddr'; set: string }
  /** fib saddr/daddr type local */
  | { t: 'fiblocal'; f: 'saddr' | 'daddr' }
  /** PROTO dport PORT (kube-proxy's --masquerade-all rule) */
  | { t: 'dport'; p: Protocol; port: number }
  /** mark and M == 0 */
  | { t: 'markzero'; mark: number };

/** The statement ending a rule (kube-proxy's rules have exactly one that matters for the walk). */
export type Stmt =
  /** ip daddr . meta l4proto . th dport vmap @MAP (dst3) / meta l4proto . th dport vmap @MAP (dst2) */
  | { t: 'vmap'; key: 'dst3' | 'dst2'; map: string }
  | { t: 'numgen'; targets: string[] }
  | { t: 'jump' | 'goto'; chain: string }
  | { t: 'return' | 'drop' | 'reject' }
  | { t: 'markor' | 'markxor'; mark: number }
  | { t: 'masquerade' }
  | { t: 'dnat'; ip: string; port: number }
  | { t: 'update'; set: string };

export interface NftRule {
  /** knftables Rule.Rule: what follows "add rule FAMILY TABLE CHAIN " (comment excluded). */
  readonly text: string;
  readonly comment: string | null;
  /** The rule as `nft list` prints it, comment included. */
  readonly listed: string;
  readonly m: readonly Match[];
  readonly s: Stmt;
  /** Sets and maps the rule names (an `update` makes nft give a dynamic set its default size). */
  readonly updates: string | null;
  /**
   * Anonymous sets the kernel creates for the rule: a `numgen ... vmap { }` map, or an address set that still
   * holds more than one interval after nft merged it (one prefix alone becomes a plain comparison).
   */
  readonly anonSets: number;
}

/** How nft prints an address or prefix: a /32 (or /128) is a plain address. */
export function listAddr(c: Cidr4): string {
  return c.prefix === 32 ? c.text.replace(/\/32$/, '') : c.text;
}

function cidrOf(s: string): Cidr4 {
  const c = parseAddrOrCidr(s);
  if (c === null) throw new RangeError(`nftables: not an IPv4 address or prefix: ${JSON.stringify(s)}`);
  return c;
}

/** An IPv6 address or prefix of the ip6 table: its first and last address (128-bit) and prefix length. */
export interface Net6 {
  start: bigint;
  end: bigint;
  prefix: number;
}

function bigOf(bytes: readonly number[]): bigint {
  return bytes.reduce((a, b) => (a << 8n) | BigInt(b), 0n);
}

function bytesOf(n: bigint): number[] {
  const out: number[] = [];
  for (let i = 15; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 255n));
  return out;
}

/** An IPv6 address as a 128-bit value (null when `s` is not IPv6). */
export function ipv6Value(s: string): bigint | null {
  const p = parseIPSloppy(s.trim());
  return p === null || p.family !== 'IPv6' ? null : bigOf(p.bytes);
}

function net6Of(s: string): Net6 {
  const t = s.trim();
  const c = t.includes('/') ? parseCIDRSloppy(t) : null;
  const prefix = c === null ? 128 : c.prefix;
  const start = ipv6Value(c === null ? t : c.text.slice(0, c.text.indexOf('/')));
  if (start === null) throw new RangeError(`nftables: not an IPv6 address or prefix: ${JSON.stringify(s)}`);
  return { start, end: start + (1n << BigInt(128 - prefix)) - 1n, prefix };
}

function listInterval6(start: bigint, end: bigint): string {
  const f = (n: bigint): string => formatIPv6Bytes(bytesOf(n));
  if (start === end) return f(start);
  const size = end - start + 1n;
  const bits = size.toString(2).length - 1;
  if (1n << BigInt(bits) === size && start % size === 0n) return `${f(start)}/${128 - bits}`;
  return `${f(start)}-${f(end)}`;
}

function mergedIntervals6(nets: readonly Net6[]): Array<[bigint, bigint]> {
  const iv = nets
    .map((c) => [c.start, c.end] as [bigint, bigint])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1));
  const merged: Array<[bigint, bigint]> = [];
  for (const [a, z] of iv) {
    const last = merged[merged.length - 1];
    if (last !== undefined && a <= last[1] + 1n) last[1] = last[1] > z ? last[1] : z;
    else merged.push([a, z]);
  }
  return merged;
}

function listAnonSet6(nets: readonly Net6[]): string {
  const merged = mergedIntervals6(nets);
  if (merged.length === 1) return listInterval6(merged[0]![0], merged[0]![1]);
  return `{ ${merged.map(([a, z]) => listInterval6(a, z)).join(', ')} }`;
}

/** An interval [start, end] of unsigned addresses as nft prints it: an address, a prefix, or "a-b". */
function listInterval(start: number, end: number): string {
  if (start === end) return formatIPv4(start);
  const size = end - start + 1;
  const bits = Math.log2(size);
  if (Number.isInteger(bits) && start % size === 0) return `${formatIPv4(start)}/${32 - bits}`;
  return `${formatIPv4(start)}-${formatIPv4(end)}`;
}

/**
 * How nft lists an anonymous set of prefixes: an interval set, so overlapping and adjacent prefixes are merged
 * (an LB IP inside an allowed source range disappears into it), printed sorted; one interval alone has no braces.
 */
function mergedIntervals(nets: readonly Cidr4[]): Array<[number, number]> {
  const iv = nets
    .map((c) => [c.addr >>> 0, (c.addr >>> 0) + 2 ** (32 - c.prefix) - 1] as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: Array<[number, number]> = [];
  for (const [a, z] of iv) {
    const last = merged[merged.length - 1];
    if (last !== undefined && a <= last[1] + 1) last[1] = Math.max(last[1], z);
    else merged.push([a, z]);
  }
  return merged;
}

function listAnonSet(nets: readonly Cidr4[]): string {
  const merged = mergedIntervals(nets);
  if (merged.length === 1) return listInterval(merged[0]![0], merged[0]![1]);
  return `{ ${merged.map(([a, z]) => listInterval(a, z)).join(', ')} }`;
}

/** nft's normal form of a mark value: %#010x. */
export function listMark(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

export class RuleBuilder {
  private readonly t: string[] = [];
  private readonly l: string[] = [];
  private readonly m: Match[] = [];
  private stmt: Stmt | null = null;
  private upd: string | null = null;
  private anon = 0;

  constructor(private readonly family: Family = 'ip') {}

  private both(text: string, listed = text): this {
    this.t.push(text);
    this.l.push(listed);
    return this;
  }

  ctNew(): this {
    this.m.push({ t: 'ctnew' });
    return this.both('ct state new');
  }

  /** ip saddr/daddr ADDR, or != ADDR */
  addr(f: 'saddr' | 'daddr', a: string, neg = false): this {
    const op = neg ? '!= ' : '';
    if (this.family === 'ip6') {
      const n = net6Of(a);
      this.m.push({ t: 'addr', f, neg, nets: [], nets6: [n], anon: false });
      return this.both(`ip6 ${f} ${op}${a}`, `ip6 ${f} ${op}${listInterval6(n.start, n.end)}`);
    }
    const c = cidrOf(a);
    this.m.push({ t: 'addr', f, neg, nets: [c], anon: false });
    return this.both(`${this.family} ${f} ${op}${a}`, `${this.family} ${f} ${op}${listAddr(c)}`);
  }

  /** ip daddr { a,b } (ServiceCIDRs: one comma-joined word, as kube-proxy's serviceCIDRs string). */
  daddrAnonJoined(joined: string): this {
    if (this.family === 'ip6') {
      const nets6 = joined.split(',').map(net6Of);
      this.m.push({ t: 'addr', f: 'daddr', neg: false, nets: [], nets6, anon: true });
      if (mergedIntervals6(nets6).length > 1) this.anon++;
      return this.both(`ip6 daddr { ${joined} }`, `ip6 daddr ${listAnonSet6(nets6)}`);
    }
    const nets = joined.split(',').map(cidrOf);
    this.m.push({ t: 'addr', f: 'daddr', neg: false, nets, anon: true });
    if (mergedIntervals(nets).length > 1) this.anon++;
    return this.both(`${this.family} daddr { ${joined} }`, `${this.family} daddr ${listAnonSet(nets)}`);
  }

  /** ip saddr != { a , b } (loadBalancerSourceRanges: knftables.Concat of the words and "," separators). */
  saddrNotAnon(items: readonly string[]): this {
    if (this.family === 'ip6') {
      const nets6 = items.map(net6Of);
      this.m.push({ t: 'addr', f: 'saddr', neg: true, nets: [], nets6, anon: true });
      if (mergedIntervals6(nets6).length > 1) this.anon++;
      return this.both(`ip6 saddr != { ${items.join(' , ')} }`, `ip6 saddr != ${listAnonSet6(nets6)}`);
    }
    const nets = items.map(cidrOf);
    this.m.push({ t: 'addr', f: 'saddr', neg: true, nets, anon: true });
    if (mergedIntervals(nets).length > 1) this.anon++;
    return this.both(`${this.family} saddr != { ${items.join(' , ')} }`, `${this.family} saddr != ${listAnonSet(nets)}`);
  }

  inSet(f: 'saddr' | 'daddr', set: string): this {
    this.m.push({ t: 'inset', f, set });
    return this.both(`${this.family} ${f} @${set}`);
  }

  fibLocal(f: 'saddr' | 'daddr'): this {
    this.m.push({ t: 'fiblocal', f });
    return this.both(`fib ${f} type local`);
  }

  dport(p: Protocol, port: number): this {
    this.m.push({ t: 'dport', p, port });
    return this.both(`${p.toLowerCase()} dport ${port}`);
  }

  /** mark and M == 0 (M as kube-proxy formats it; nft lists %#010x). */
  markZero(mark: string): this {
    const v = Number(mark);
    this.m.push({ t: 'markzero', mark: v });
    return this.both(`mark and ${mark} == 0`, `meta mark & ${listMark(v)} == ${listMark(0)}`);
  }

  // ---- statements -------------------------------------------------------------------------

  private end(s: Stmt, text: string, listed = text): this {
    this.stmt = s;
    return this.both(text, listed);
  }

  vmap3(map: string): this {
    return this.end({ t: 'vmap', key: 'dst3', map }, `${this.family} daddr . meta l4proto . th dport vmap @${map}`);
  }

  vmap2(map: string): this {
    return this.end({ t: 'vmap', key: 'dst2', map }, `meta l4proto . th dport vmap @${map}`);
  }

  numgen(targets: readonly string[]): this {
    const text = `numgen random mod ${targets.length} vmap { ${targets.map((c, i) => `${i} : goto ${c}`).join(' , ')} }`;
    const listed = `numgen random mod ${targets.length} vmap { ${targets.map((c, i) => `${i} : goto ${c}`).join(', ')} }`;
    this.anon++;
    return this.end({ t: 'numgen', targets: [...targets] }, text, listed);
  }

  jump(chain: string): this {
    return this.end({ t: 'jump', chain }, `jump ${chain}`);
  }

  goto(chain: string): this {
    return this.end({ t: 'goto', chain }, `goto ${chain}`);
  }

  verdict(v: 'return' | 'drop' | 'reject'): this {
    return this.end({ t: v }, v);
  }

  markSet(op: 'or' | 'xor', mark: string): this {
    const v = Number(mark);
    return this.end(
      { t: op === 'or' ? 'markor' : 'markxor', mark: v },
      `mark set mark ${op} ${mark}`,
      `meta mark set meta mark ${op === 'or' ? '|' : '^'} ${listMark(v)}`,
    );
  }

  masqueradeFullyRandom(): this {
    return this.end({ t: 'masquerade' }, 'masquerade fully-random');
  }

  dnat(p: Protocol, ip: string, port: number): this {
    // net.JoinHostPort: an IPv6 endpoint in brackets
    const hp = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    return this.end({ t: 'dnat', ip, port }, `meta l4proto ${p.toLowerCase()} dnat to ${hp}`);
  }

  update(set: string): this {
    this.upd = set;
    return this.end({ t: 'update', set }, `update @${set} { ${this.family} saddr }`);
  }

  build(comment: string | null = null): NftRule {
    if (this.stmt === null) throw new Error('nftables rule without a statement');
    const text = this.t.join(' ');
    let listed = this.l.join(' ') + (comment === null ? '' : ` comment ${JSON.stringify(comment)}`);
    // most rules list as they are written: keep one string, not two equal ones
    if (listed === text) listed = text;
    return { text, comment, listed, m: this.m, s: this.stmt, updates: this.upd, anonSets: this.anon };
  }
}
