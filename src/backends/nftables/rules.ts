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
  /** knftables Rule.Rule: what follows "add rule FAMILY TABLE CHAIN " (comment excluded); '' when texts are not kept. */
  readonly text: string;
  readonly comment: string | null;
  /** The rule as `nft list` prints it, comment included; '' when texts are not kept. */
  readonly listed: string;
  /** UTF-8 bytes of the rule's part of its transaction line: the text and ` comment "C"` (kept either way). */
  readonly bytes: number;
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
  if (c.text === s) c.text = s; // the caller's string (an endpoint's IP), not a copy
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

const NO_MATCHES: readonly Match[] = Object.freeze([]);
const CT_NEW: Match = { t: 'ctnew' };
/** Statements without per-service data, shared by every rule that ends in them (jumps go to kube-proxy's fixed chains). */
const SHARED_STMTS = new Map<string, Stmt>();

function sharedStmt(key: string, make: () => Stmt): Stmt {
  let s = SHARED_STMTS.get(key);
  if (s === undefined) {
    s = make();
    if (SHARED_STMTS.size < 64) SHARED_STMTS.set(key, s);
  }
  return s;
}

export class RuleBuilder {
  /** The words of the two texts (null when they are not kept). */
  private readonly t: string[] | null;
  private readonly l: string[] | null;
  private m: Match[] | null = null;
  /** Bytes of the words so far, separators included (when texts are not kept). */
  private n = -1;
  private stmt: Stmt | null = null;
  private upd: string | null = null;
  private anon = 0;
  /** The calls made, with their arguments, when the rule is to be kept as a TapeRule (texts not kept). */
  private readonly tape: unknown[] | null;

  constructor(
    private readonly family: Family = 'ip',
    /**
     * Whether the rule keeps its two texts. Without them it keeps only their byte length and the builder calls
     * that made it (a TapeRule): the walk and every count are the same, but neither the transaction nor `nft list`
     * can be printed.
     */
    private readonly keepText = true,
    record = !keepText,
  ) {
    this.tape = record ? [family] : null;
    this.t = keepText ? [] : null;
    this.l = keepText ? [] : null;
  }

  private both(text: string, listed = text): this {
    if (this.t !== null && this.l !== null) {
      this.t.push(text);
      this.l.push(listed);
    } else this.n += Buffer.byteLength(text) + 1;
    return this;
  }

  private match(m: Match): void {
    (this.m ??= []).push(m);
  }

  ctNew(): this {
    this.tape?.push('ctNew');
    this.match(CT_NEW);
    return this.both('ct state new');
  }

  /** ip saddr/daddr ADDR, or != ADDR */
  addr(f: 'saddr' | 'daddr', a: string, neg = false): this {
    this.tape?.push('addr', f, a, neg);
    const op = neg ? '!= ' : '';
    if (this.family === 'ip6') {
      const n = net6Of(a);
      this.match({ t: 'addr', f, neg, nets: [], nets6: [n], anon: false });
      return this.both(`ip6 ${f} ${op}${a}`, `ip6 ${f} ${op}${listInterval6(n.start, n.end)}`);
    }
    const c = cidrOf(a);
    this.match({ t: 'addr', f, neg, nets: [c], anon: false });
    return this.both(`${this.family} ${f} ${op}${a}`, `${this.family} ${f} ${op}${listAddr(c)}`);
  }

  /** ip daddr { a,b } (ServiceCIDRs: one comma-joined word, as kube-proxy's serviceCIDRs string). */
  daddrAnonJoined(joined: string): this {
    this.tape?.push('daddrAnonJoined', joined);
    if (this.family === 'ip6') {
      const nets6 = joined.split(',').map(net6Of);
      this.match({ t: 'addr', f: 'daddr', neg: false, nets: [], nets6, anon: true });
      if (mergedIntervals6(nets6).length > 1) this.anon++;
      return this.both(`ip6 daddr { ${joined} }`, `ip6 daddr ${listAnonSet6(nets6)}`);
    }
    const nets = joined.split(',').map(cidrOf);
    this.match({ t: 'addr', f: 'daddr', neg: false, nets, anon: true });
    if (mergedIntervals(nets).length > 1) this.anon++;
    return this.both(`${this.family} daddr { ${joined} }`, `${this.family} daddr ${listAnonSet(nets)}`);
  }

  /** ip saddr != { a , b } (loadBalancerSourceRanges: knftables.Concat of the words and "," separators). */
  saddrNotAnon(items: readonly string[]): this {
    this.tape?.push('saddrNotAnon', items);
    if (this.family === 'ip6') {
      const nets6 = items.map(net6Of);
      this.match({ t: 'addr', f: 'saddr', neg: true, nets: [], nets6, anon: true });
      if (mergedIntervals6(nets6).length > 1) this.anon++;
      return this.both(`ip6 saddr != { ${items.join(' , ')} }`, `ip6 saddr != ${listAnonSet6(nets6)}`);
    }
    const nets = items.map(cidrOf);
    this.match({ t: 'addr', f: 'saddr', neg: true, nets, anon: true });
    if (mergedIntervals(nets).length > 1) this.anon++;
    return this.both(`${this.family} saddr != { ${items.join(' , ')} }`, `${this.family} saddr != ${listAnonSet(nets)}`);
  }

  inSet(f: 'saddr' | 'daddr', set: string): this {
    this.tape?.push('inSet', f, set);
    this.match({ t: 'inset', f, set });
    return this.both(`${this.family} ${f} @${set}`);
  }

  fibLocal(f: 'saddr' | 'daddr'): this {
    this.tape?.push('fibLocal', f);
    this.match({ t: 'fiblocal', f });
    return this.both(`fib ${f} type local`);
  }

  dport(p: Protocol, port: number): this {
    this.tape?.push('dport', p, port);
    this.match({ t: 'dport', p, port });
    return this.both(`${p.toLowerCase()} dport ${port}`);
  }

  /** mark and M == 0 (M as kube-proxy formats it; nft lists %#010x). */
  markZero(mark: string): this {
    this.tape?.push('markZero', mark);
    const v = Number(mark);
    this.match({ t: 'markzero', mark: v });
    return this.both(`mark and ${mark} == 0`, `meta mark & ${listMark(v)} == ${listMark(0)}`);
  }

  // ---- statements -------------------------------------------------------------------------

  private end(s: Stmt, text: string, listed = text): this {
    this.stmt = s;
    return this.both(text, listed);
  }

  vmap3(map: string): this {
    this.tape?.push('vmap3', map);
    return this.end({ t: 'vmap', key: 'dst3', map }, `${this.family} daddr . meta l4proto . th dport vmap @${map}`);
  }

  vmap2(map: string): this {
    this.tape?.push('vmap2', map);
    return this.end({ t: 'vmap', key: 'dst2', map }, `meta l4proto . th dport vmap @${map}`);
  }

  numgen(targets: readonly string[]): this {
    this.tape?.push('numgen', targets);
    this.anon++;
    const s: Stmt = { t: 'numgen', targets: [...targets] };
    const head = `numgen random mod ${targets.length} vmap { `;
    if (!this.keepText) {
      // the text below, counted: "I : goto CHAIN" per target, " , " between them, " }" after
      let n = head.length + 2 + 3 * (targets.length - 1);
      for (let i = 0; i < targets.length; i++) n += String(i).length + 8 + Buffer.byteLength(targets[i]!);
      this.stmt = s;
      this.n += n + 1;
      return this;
    }
    const text = `${head}${targets.map((c, i) => `${i} : goto ${c}`).join(' , ')} }`;
    const listed = `${head}${targets.map((c, i) => `${i} : goto ${c}`).join(', ')} }`;
    return this.end(s, text, listed);
  }

  jump(chain: string): this {
    this.tape?.push('jump', chain);
    return this.end(
      sharedStmt(`jump ${chain}`, () => ({ t: 'jump', chain })),
      `jump ${chain}`,
    );
  }

  goto(chain: string): this {
    this.tape?.push('goto', chain);
    return this.end({ t: 'goto', chain }, `goto ${chain}`);
  }

  verdict(v: 'return' | 'drop' | 'reject'): this {
    this.tape?.push('verdict', v);
    return this.end(
      sharedStmt(v, () => ({ t: v })),
      v,
    );
  }

  markSet(op: 'or' | 'xor', mark: string): this {
    this.tape?.push('markSet', op, mark);
    const v = Number(mark);
    return this.end(
      { t: op === 'or' ? 'markor' : 'markxor', mark: v },
      `mark set mark ${op} ${mark}`,
      `meta mark set meta mark ${op === 'or' ? '|' : '^'} ${listMark(v)}`,
    );
  }

  masqueradeFullyRandom(): this {
    this.tape?.push('masqueradeFullyRandom');
    return this.end({ t: 'masquerade' }, 'masquerade fully-random');
  }

  dnat(p: Protocol, ip: string, port: number): this {
    this.tape?.push('dnat', p, ip, port);
    // net.JoinHostPort: an IPv6 endpoint in brackets
    const hp = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    return this.end({ t: 'dnat', ip, port }, `meta l4proto ${p.toLowerCase()} dnat to ${hp}`);
  }

  update(set: string): this {
    this.tape?.push('update', set);
    this.upd = set;
    return this.end({ t: 'update', set }, `update @${set} { ${this.family} saddr }`);
  }

  build(comment: string | null = null): NftRule {
    if (this.stmt === null) throw new Error('nftables rule without a statement');
    const quoted = comment === null ? '' : ` comment ${JSON.stringify(comment)}`;
    if (this.t === null || this.l === null) {
      const bytes = this.n + Buffer.byteLength(quoted);
      // exact-size copies below: an array pushed to reserves room for 17
      if (this.tape !== null) return new TapeRule(this.tape.slice(), comment, bytes, this.anon, this.upd);
      const m = this.m === null ? NO_MATCHES : this.m.slice();
      return { text: '', comment, listed: '', bytes, m, s: this.stmt, updates: this.upd, anonSets: this.anon };
    }
    const text = this.t.join(' ');
    let listed = this.l.join(' ') + quoted;
    // most rules list as they are written: keep one string, not two equal ones
    if (listed === text) listed = text;
    const bytes = Buffer.byteLength(text) + Buffer.byteLength(quoted);
    const m = this.m === null ? NO_MATCHES : this.m.slice();
    return { text, comment, listed, bytes, m, s: this.stmt, updates: this.upd, anonSets: this.anon };
  }
}

/** How many arguments each builder call takes (its entry on a tape is the name, then them). */
const ARITY: Record<string, number> = {
  ctNew: 0,
  addr: 3,
  daddrAnonJoined: 1,
  saddrNotAnon: 1,
  inSet: 2,
  fibLocal: 1,
  dport: 2,
  markZero: 1,
  vmap3: 1,
  vmap2: 1,
  numgen: 1,
  jump: 1,
  goto: 1,
  verdict: 1,
  markSet: 2,
  masqueradeFullyRandom: 0,
  dnat: 3,
  update: 1,
};

/**
 * A bounded memo of what a table that keeps no texts builds again when a packet walks into it (a TapeRule's rule, a
 * sourced chain's rules): the walks of a lookup benchmark or a measured phase mostly revisit the same few thousand
 * chains, so they find them built, while memory stays bounded (the oldest entry goes first). Built rules are equal
 * to the ones they stand for: counts and walks are the same with or without it.
 */
export class BuiltMemo<K extends object, V> {
  private readonly m = new Map<K, V>();
  constructor(private readonly limit: number) {}

  get(k: K): V | undefined {
    return this.m.get(k);
  }

  set(k: K, v: V): V {
    if (this.m.size >= this.limit) this.m.delete(this.m.keys().next().value as K);
    this.m.set(k, v);
    return v;
  }
}

/** Rules replayed from their tapes. */
const replayed = new BuiltMemo<TapeRule, NftRule>(8192);

/**
 * A rule of a table that is never printed: its counts (bytes, anonymous sets, updated set) and the builder calls
 * that made it, which are replayed through a RuleBuilder when the walk reads its matches or statement. A few
 * words instead of the match and statement objects: kube-proxy writes two such rules per endpoint.
 */
class TapeRule implements NftRule {
  constructor(
    private readonly tape: readonly unknown[],
    readonly comment: string | null,
    readonly bytes: number,
    readonly anonSets: number,
    readonly updates: string | null,
  ) {}

  get text(): string {
    return '';
  }

  get listed(): string {
    return '';
  }

  get m(): readonly Match[] {
    return this.replay().m;
  }

  get s(): Stmt {
    return this.replay().s;
  }

  private replay(): NftRule {
    const done = replayed.get(this);
    if (done !== undefined) return done;
    const t = this.tape;
    const b = new RuleBuilder(t[0] as Family, false, false);
    for (let i = 1; i < t.length;) {
      const name = t[i] as string;
      const k = ARITY[name]!;
      (b[name as keyof RuleBuilder] as (...a: unknown[]) => unknown)(...t.slice(i + 1, i + 1 + k));
      i += 1 + k;
    }
    return replayed.set(this, b.build(this.comment));
  }
}
