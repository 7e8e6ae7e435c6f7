/**
 * The kernel side: one nftables table (`ip kube-proxy`) as a model that applies transactions the way `nft -f` does,
 * plus the two texts the real tools deal in:
 * - a transaction printed as knftables writes it for `nft -f` (sigs.k8s.io/knftables objects.go writeOperation:
 *   "add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }", numeric priorities,
 *   "add element ... { KEY comment "C" : VALUE }");
 * - the table as `nft list table ip kube-proxy` prints it (nft 1.0.6, checked in a private namespace on this
 *   machine): sets and maps first, then chains, each in creation order; named priorities; set elements sorted as
 *   nft sorts them (see `elementOrder`), two addresses per line in an ipv4_addr set, one element per line in a map.
 */
import { parseIPSloppy } from '../../net/ip.js';
import { BuiltMemo, type Family, type NftRule } from './rules.js';

export interface BaseChainSpec {
  type: 'filter' | 'nat';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  priority: number;
}

export interface ChainSpec {
  name: string;
  base?: BaseChainSpec;
  comment?: string;
}

export interface SetSpec {
  name: string;
  map: boolean;
  /** Type text, e.g. "ipv4_addr" or "ipv4_addr . inet_proto . inet_service : verdict". */
  type: string;
  flags?: string[];
  /** Seconds. */
  timeout?: number;
  comment?: string;
}

export interface ElementSpec {
  set: string;
  map: boolean;
  /** Key words joined by " . " (kube-proxy's joinNFTSlice). */
  key: string;
  /** Map value ("goto CHAIN", "drop"), '' for a set element. */
  value: string;
  comment: string | null;
}

/** One operation of a transaction (knftables verbs add / flush / delete on one object). */
export type Op =
  | { verb: 'add'; obj: 'table'; comment: string }
  | { verb: 'add' | 'flush' | 'delete'; obj: 'chain'; chain: ChainSpec }
  | { verb: 'add'; obj: 'rule'; chain: string; rule: NftRule; from?: SourcedChain }
  | { verb: 'add' | 'flush' | 'delete'; obj: 'set'; set: SetSpec }
  | { verb: 'add' | 'delete'; obj: 'element'; el: ElementSpec };

// ---------------------------------------------------------------------------------------------
// Transaction text (knftables)
// ---------------------------------------------------------------------------------------------

function q(s: string): string {
  return JSON.stringify(s);
}

export function opText(op: Op, family: Family, table: string): string {
  const ft = `${family} ${table}`;
  switch (op.obj) {
    case 'table':
      return `add table ${ft} { comment ${q(op.comment)} ; }`;
    case 'chain': {
      const c = op.chain;
      let s = `${op.verb} chain ${ft} ${c.name}`;
      if (op.verb === 'add' && (c.base !== undefined || c.comment !== undefined)) {
        s += ' {';
        if (c.base !== undefined) s += ` type ${c.base.type} hook ${c.base.hook} priority ${c.base.priority} ;`;
        if (c.comment !== undefined) s += ` comment ${q(c.comment)} ;`;
        s += ' }';
      }
      return s;
    }
    case 'rule':
      return `add rule ${ft} ${op.chain} ${op.rule.text}${op.rule.comment === null ? '' : ` comment ${q(op.rule.comment)}`}`;
    case 'set': {
      const st = op.set;
      let s = `${op.verb} ${st.map ? 'map' : 'set'} ${ft} ${st.name}`;
      if (op.verb === 'add') {
        s += ` { type ${st.type} ;`;
        if (st.flags !== undefined && st.flags.length > 0) s += ` flags ${st.flags.join(',')} ;`;
        if (st.timeout !== undefined) s += ` timeout ${st.timeout}s ;`;
        if (st.comment !== undefined) s += ` comment ${q(st.comment)} ;`;
        s += ' }';
      }
      return s;
    }
    case 'element': {
      const e = op.el;
      let s = `${op.verb} element ${ft} ${e.set} { ${e.key}`;
      if (op.verb === 'add') {
        if (e.comment !== null) s += ` comment ${q(e.comment)}`;
        if (e.value !== '') s += ` : ${e.value}`;
      }
      return `${s} }`;
    }
  }
}

/** UTF-8 bytes of `opText(op)` and its newline, without building the text of the frequent operations (rules, chains). */
export function opBytes(op: Op, family: Family, table: string): number {
  const ft = family.length + 1 + Buffer.byteLength(table);
  if (op.obj === 'rule') return 'add rule '.length + ft + 1 + Buffer.byteLength(op.chain) + 1 + op.rule.bytes + 1;
  if (op.obj === 'chain' && (op.verb !== 'add' || (op.chain.base === undefined && op.chain.comment === undefined)))
    return op.verb.length + ' chain '.length + ft + 1 + Buffer.byteLength(op.chain.name) + 1;
  return Buffer.byteLength(opText(op, family, table)) + 1;
}

/** The text `nft -f` reads: one operation a line. */
export function transactionText(ops: readonly Op[], family: Family, table: string): string {
  let s = '';
  for (const op of ops) s += opText(op, family, table) + '\n';
  return s;
}

// ---------------------------------------------------------------------------------------------
// The table model
// ---------------------------------------------------------------------------------------------

export interface ChainState {
  readonly name: string;
  readonly base: BaseChainSpec | undefined;
  readonly comment: string | undefined;
  readonly rules: readonly NftRule[];
  /** Creation order in the table (the order `chains` iterates in): sorts a few chains without a scan of all. */
  readonly order: number;
}

/**
 * A regular chain of a table that is never printed whose rules can be built again on demand: rule i is always the
 * same rule (an endpoint chain's, a function of the endpoint). A rule operation naming such a chain as its source
 * (`from`, with the chain's name) lets the table keep the source itself as the chain, with the number of its rules
 * the chain holds (the first `n`), instead of the rules.
 */
export abstract class SourcedChain implements ChainState {
  /** Rules held (the first n of the source), the anonymous sets they made, creation order: set by the table. */
  n = 0;
  anon = 0;
  order = 0;

  abstract readonly name: string;

  abstract ruleAt(i: number): NftRule;

  get base(): undefined {
    return undefined;
  }

  get comment(): undefined {
    return undefined;
  }

  get rules(): NftRule[] {
    const done = sourcedRules.get(this);
    if (done !== undefined && done.length === this.n) return done;
    const out: NftRule[] = [];
    for (let i = 0; i < this.n; i++) out.push(this.ruleAt(i));
    return sourcedRules.set(this, out);
  }
}

/** Sourced chains' rules as last built for a walk. */
const sourcedRules = new BuiltMemo<SourcedChain, NftRule[]>(8192);

interface ListedChain extends ChainState {
  rules: NftRule[];
}

type Chain = ListedChain | SourcedChain;

export interface SetState {
  readonly spec: SetSpec;
  /** nft gives a dynamic set referenced by an `update` statement its default size (65535). */
  sized: boolean;
  /** key -> { value, comment } in insertion order. */
  readonly elements: Map<string, { value: string; comment: string | null }>;
  /** Entries added from the packet path (affinity sets): key -> expiry time (virtual seconds). */
  readonly dynamic: Map<string, number>;
}

export class NftTable {
  exists = false;
  comment = '';
  readonly sets = new Map<string, SetState>();
  readonly chains: ReadonlyMap<string, ChainState> = new Map<string, Chain>();
  private get chainMap(): Map<string, Chain> {
    return this.chains as Map<string, Chain>;
  }
  /** Rules in all chains, and the anonymous sets they hold (kept up to date by apply()). */
  private rules = 0;
  private anon = 0;
  private chainsCreated = 0;

  constructor(
    readonly family: Family,
    readonly name: string,
  ) {}

  /** Applies one operation as the kernel would (throws where nft would fail the transaction). */
  apply(op: Op): void {
    switch (op.obj) {
      case 'table':
        this.exists = true;
        this.comment = op.comment;
        return;
      case 'chain': {
        const c = op.chain;
        const cur = this.chainMap.get(c.name);
        if (op.verb === 'add') {
          if (cur === undefined)
            this.chainMap.set(c.name, { name: c.name, base: c.base, comment: c.comment, rules: [], order: this.chainsCreated++ });
        } else if (cur === undefined) throw new Error(`nft: ${op.verb} chain ${c.name}: no such chain`);
        else {
          if (cur instanceof SourcedChain) {
            this.rules -= cur.n;
            this.anon -= cur.anon;
            cur.n = 0;
            cur.anon = 0;
          } else {
            for (const r of cur.rules) {
              this.rules--;
              this.anon -= r.anonSets;
            }
            cur.rules = [];
          }
          if (op.verb === 'delete') this.chainMap.delete(c.name);
        }
        return;
      }
      case 'rule': {
        const ch = this.chainMap.get(op.chain);
        if (ch === undefined) throw new Error(`nft: add rule: no such chain ${op.chain}`);
        this.addRule(ch, op.rule, op.from);
        this.rules++;
        this.anon += op.rule.anonSets;
        if (op.rule.updates !== null) {
          const st = this.sets.get(op.rule.updates);
          if (st !== undefined) st.sized = true;
        }
        return;
      }
      case 'set': {
        const s = op.set;
        const cur = this.sets.get(s.name);
        if (op.verb === 'add') {
          if (cur === undefined) this.sets.set(s.name, { spec: s, sized: false, elements: new Map(), dynamic: new Map() });
        } else if (cur === undefined) throw new Error(`nft: ${op.verb} set ${s.name}: no such set`);
        else if (op.verb === 'flush') {
          cur.elements.clear();
          cur.dynamic.clear();
        } else this.sets.delete(s.name);
        return;
      }
      case 'element': {
        const e = op.el;
        const st = this.sets.get(e.set);
        if (st === undefined) throw new Error(`nft: ${op.verb} element: no such set ${e.set}`);
        if (op.verb === 'add') {
          const cur = st.elements.get(e.key);
          if (cur !== undefined && cur.value !== e.value) throw new Error(`nft: add element ${e.set} { ${e.key} }: File exists`);
          if (cur === undefined) st.elements.set(e.key, { value: e.value, comment: e.comment });
        } else if (!st.elements.delete(e.key)) throw new Error(`nft: delete element ${e.set} { ${e.key} }: No such file or directory`);
        return;
      }
    }
  }

  private addRule(ch: Chain, rule: NftRule, from: SourcedChain | undefined): void {
    const empty = ch instanceof SourcedChain ? ch.n === 0 : ch.rules.length === 0 && ch.base === undefined && ch.comment === undefined;
    if (from !== undefined && from.name === ch.name && (from === ch || empty)) {
      if (from !== ch) {
        // the source becomes the chain, in the chain's place
        from.order = ch.order;
        from.n = 0;
        from.anon = 0;
        this.chainMap.set(ch.name, from);
      }
      from.n++;
      from.anon += rule.anonSets;
      return;
    }
    if (ch instanceof SourcedChain) {
      // another source: the chain keeps its rules from now on
      const listed: ListedChain = { name: ch.name, base: undefined, comment: undefined, rules: ch.rules.concat([rule]), order: ch.order };
      this.chainMap.set(ch.name, listed);
      return;
    }
    // exact-size arrays for the short chains (most of them): an array pushed to reserves room for 17
    if (ch.rules.length < 16) ch.rules = ch.rules.concat([rule]);
    else ch.rules.push(rule);
  }

  applyAll(ops: readonly Op[]): void {
    for (const op of ops) this.apply(op);
  }

  /** Sets the kernel holds for this table: named sets and maps plus the anonymous ones rules created. */
  kernelSets(): number {
    return this.sets.size + this.anon;
  }

  ruleCount(): number {
    return this.rules;
  }

  elementCount(): number {
    let n = 0;
    for (const s of this.sets.values()) n += s.elements.size;
    return n;
  }

  /**
   * The table as "add" commands, one object a line (what knftables' Fake.Dump prints: table, chains, sets and
   * maps, rules, elements), for comparison with kube-proxy's unit-test expectations.
   */
  dump(): string {
    if (!this.exists) return '';
    const f = this.family;
    const t = this.name;
    const out: string[] = [opText({ verb: 'add', obj: 'table', comment: this.comment }, f, t)];
    for (const c of this.chains.values())
      out.push(opText({ verb: 'add', obj: 'chain', chain: { name: c.name, base: c.base, comment: c.comment } }, f, t));
    for (const s of this.sets.values()) out.push(opText({ verb: 'add', obj: 'set', set: s.spec }, f, t));
    for (const c of this.chains.values())
      for (const rule of c.rules) out.push(opText({ verb: 'add', obj: 'rule', chain: c.name, rule }, f, t));
    for (const s of this.sets.values()) {
      for (const [key, v] of s.elements)
        out.push(
          opText({ verb: 'add', obj: 'element', el: { set: s.spec.name, map: s.spec.map, key, value: v.value, comment: v.comment } }, f, t),
        );
    }
    return out.join('\n') + '\n';
  }

  /** `nft list table FAMILY NAME` (also what `nft list ruleset` prints when this is the only table). */
  list(): string {
    if (!this.exists) return '';
    const blocks: string[] = [];
    for (const s of this.sets.values()) blocks.push(listSet(s));
    for (const c of this.chains.values()) blocks.push(listChain(c, this.family));
    const head = `table ${this.family} ${this.name} {\n` + (this.comment === '' ? '' : `\tcomment ${q(this.comment)}\n`);
    return head + blocks.join('\n') + '}\n';
  }
}

// ---------------------------------------------------------------------------------------------
// nft list formatting
// ---------------------------------------------------------------------------------------------

const PROTO_NUM: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

function ipBytes(s: string): number[] {
  if (s.includes(':')) return parseIPSloppy(s)?.bytes ?? [];
  return s.split('.').map(Number);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * The order nft 1.0.6 lists set elements in (it sorts them in userspace, mergesort.c): a single address by value;
 * a concatenation by its key buffer (each field padded to 4 bytes, addresses and ports in network byte order) read
 * as one host-endian (little-endian here) integer, so the last bytes weigh most: port (low byte, then high byte),
 * then protocol, then the address from its last octet. Returns a string that sorts the same way.
 */
export function elementOrder(type: string, key: string): string {
  const parts = key.split(' . ');
  const keyType = type.split(' : ')[0]!;
  if (keyType === 'ipv4_addr' || keyType === 'ipv6_addr') return ipBytes(parts[0]!).map(hex2).join('');
  const bytes: number[] = [];
  const fields = keyType.split(' . ');
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const v = parts[i]!;
    if (f === 'ipv4_addr' || f === 'ipv6_addr') bytes.push(...ipBytes(v));
    else if (f === 'inet_proto') bytes.push(PROTO_NUM[v] ?? Number(v), 0, 0, 0);
    else if (f === 'inet_service') {
      const p = Number(v);
      bytes.push((p >>> 8) & 255, p & 255, 0, 0);
    } else bytes.push(...Buffer.from(v));
  }
  return bytes.reverse().map(hex2).join('');
}

/** nft's time format: 3h, 1m40s, 1d2h (zero parts omitted). */
export function nftTime(seconds: number): string {
  let s = seconds;
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  let out = '';
  if (d > 0) out += `${d}d`;
  if (h > 0) out += `${h}h`;
  if (m > 0) out += `${m}m`;
  if (s > 0 || out === '') out += `${s}s`;
  return out;
}

function listSet(s: SetState): string {
  const sp = s.spec;
  let out = `\t${sp.map ? 'map' : 'set'} ${sp.name} {\n\t\ttype ${sp.type}\n`;
  if (s.sized) out += '\t\tsize 65535\n';
  if (sp.flags !== undefined && sp.flags.length > 0) out += `\t\tflags ${sp.flags.join(',')}\n`;
  if (sp.timeout !== undefined) out += `\t\ttimeout ${nftTime(sp.timeout)}\n`;
  if (sp.comment !== undefined) out += `\t\tcomment ${q(sp.comment)}\n`;
  if (s.elements.size > 0) {
    const items = [...s.elements.entries()].map(([k, v]) => ({
      o: elementOrder(sp.type, k),
      text: k + (v.comment === null ? '' : ` comment ${q(v.comment)}`) + (v.value === '' ? '' : ` : ${v.value}`),
    }));
    items.sort((a, b) => (a.o < b.o ? -1 : a.o > b.o ? 1 : 0));
    // calculate_delim: addresses two to a line, map elements (concatenations) one to a line
    const perLine = sp.type === 'ipv4_addr' ? 2 : 1;
    let body = '';
    items.forEach((it, i) => {
      if (i > 0) body += i % perLine === 0 ? ',\n\t\t\t     ' : ', ';
      body += it.text;
    });
    out += `\t\telements = { ${body} }\n`;
  }
  return out + '\t}\n';
}

/** Named priorities as nft prints them for ip/ip6 (an offset within 10 of a standard priority is "name +/- n"). */
const STD_PRIOS: Array<{ name: string; prio: number; hooks: string[] | null }> = [
  { name: 'raw', prio: -300, hooks: null },
  { name: 'mangle', prio: -150, hooks: null },
  { name: 'dstnat', prio: -100, hooks: ['prerouting'] },
  { name: 'filter', prio: 0, hooks: null },
  { name: 'security', prio: 50, hooks: null },
  { name: 'srcnat', prio: 100, hooks: ['postrouting'] },
];

export function priorityText(hook: string, prio: number): string {
  for (const p of STD_PRIOS) {
    if (p.hooks !== null && !p.hooks.includes(hook)) continue;
    const off = prio - p.prio;
    if (off === 0) return p.name;
    if (Math.abs(off) <= 10) return `${p.name} ${off < 0 ? '-' : '+'} ${Math.abs(off)}`;
  }
  return String(prio);
}

function listChain(c: ChainState, _family: Family): string {
  let out = `\tchain ${c.name} {\n`;
  if (c.comment !== undefined) out += `\t\tcomment ${q(c.comment)}\n`;
  if (c.base !== undefined)
    out += `\t\ttype ${c.base.type} hook ${c.base.hook} priority ${priorityText(c.base.hook, c.base.priority)}; policy accept;\n`;
  for (const r of c.rules) out += `\t\t${r.listed}\n`;
  return out + '\t}\n';
}
