/**
 * The first packet of a connection through netfilter chains, as ipt_do_table (linux net/ipv4/netfilter/ip_tables.c)
 * runs them: rules in order, each rule's matches until one fails, targets that jump, return or end the walk.
 * Every rule reached counts as evaluated; every `-m set` reached counts as one ipset test.
 *
 * One walker per backend, reused for every packet: the per-rule loop allocates nothing. Matches are checked in a
 * fixed order that agrees with how kube-proxy orders them in its rules (the IP header part first, then the ipset
 * test, then the other modules), so the counts equal the kernel's.
 */
import type { Rng, Seconds } from '../types.js';
import * as R from './rule.js';
import type { Chain, Rule } from './rule.js';
import { words6Match, type Words6 } from '../net/ip.js';

// Local copies: imported bindings may be compiled to getter calls, which the per-rule walk cannot afford.
const F_SRC = R.F_SRC;
const F_SRC_NEG = R.F_SRC_NEG;
const F_DST = R.F_DST;
const F_DST_NEG = R.F_DST_NEG;
const F_PROTO = R.F_PROTO;
const F_DPORT = R.F_DPORT;
const F_SRC_LOCAL = R.F_SRC_LOCAL;
const F_SRC_LOCAL_NEG = R.F_SRC_LOCAL_NEG;
const F_DST_LOCAL = R.F_DST_LOCAL;
const F_DST_LOCAL_NEG = R.F_DST_LOCAL_NEG;
const F_MARK = R.F_MARK;
const F_MARK_NEG = R.F_MARK_NEG;
const F_CTSTATE = R.F_CTSTATE;
const F_CTSTATE_NEG = R.F_CTSTATE_NEG;
const F_STATISTIC = R.F_STATISTIC;
const F_RECENT = R.F_RECENT;
const F_SET = R.F_SET;
const F_IPVS = R.F_IPVS;
const F_V6 = R.F_V6;
const T_JUMP = R.T_JUMP;
const T_GOTO = R.T_GOTO;
const T_RETURN = R.T_RETURN;
const T_ACCEPT = R.T_ACCEPT;
const T_DROP = R.T_DROP;
const T_REJECT = R.T_REJECT;
const T_MARK = R.T_MARK;
const T_MASQUERADE = R.T_MASQUERADE;
const T_DNAT = R.T_DNAT;
const F_SERVICE_RULE = R.F_DST | R.F_PROTO | R.F_DPORT;

/** Verdicts of walk(): the chain fell off its end or RETURNed, or a terminal target. */
export const V_CONTINUE = 0;
export const V_ACCEPT = 1;
export const V_DROP = 2;
export const V_REJECT = 3;

/** xt_recent's ip_list_tot module parameter default: addresses remembered per list (LRU beyond that). */
export const RECENT_LIST_MAX = 200;

/** Answers `-m set --match-set NAME FLAGS` for the walker's current packet. */
export interface IpsetMatcher {
  matchSet(name: string, flags: string, p: PacketWalker): boolean;
}

const NO_RNG: Rng = { next: () => 0 };

export class PacketWalker {
  // the packet as the current hook sees it
  src = 0;
  dst = 0;
  proto = 0;
  dport = 0;
  /** The skb mark (KUBE-MARK-MASQ sets the masquerade bit). */
  mark = 0;
  /** conntrack state bits (R.CT_*): a first packet is NEW, plus DNAT once a DNAT rule matched. */
  ct = R.CT_NEW;
  /** Set by IPVS on packets it transmits (the ipvs match): the virtual service (address as int32). */
  ipvs = false;
  ipvsAddr = 0;
  ipvsProto = 0;
  ipvsPort = 0;
  // what the walk found
  /** A MASQUERADE target ran. */
  masq = false;
  /** The DNAT rule that ended a nat walk, null when none. */
  dnat: Rule | null = null;
  /** Owner (service-port key) of the first rule with an owner whose target ran, '' when none. */
  owner = '';
  /**
   * An IPv6 packet (begin6): src6 / dst6 hold its addresses as four words and the int32 src / dst are unused;
   * rules with IPv6 addresses (F_V6) are compared word by word, addrtype asks isLocal6.
   */
  v6 = false;
  src6: Words6 = new Int32Array(4);
  dst6: Words6 = new Int32Array(4);
  /** Rules evaluated and ipset tests made since begin(). */
  rules = 0;
  setTests = 0;
  private rng: Rng = NO_RNG;
  private now: Seconds = 0;
  /** xt_recent lists: name → (source address → last seen), in LRU order (an IPv6 source keyed by its text of words). */
  readonly recent = new Map<string, Map<number | string, number>>();

  constructor(
    /** addrtype LOCAL: whether an address is local to the node. */
    readonly isLocal: (addr: number) => boolean,
    private readonly sets: IpsetMatcher | null = null,
    /** addrtype LOCAL for an IPv6 address (four words). */
    readonly isLocal6: (addr: Words6) => boolean = () => false,
  ) {}

  /** Starts a new IPv6 first packet: addresses as four words each. */
  begin6(src: Words6, dst: Words6, proto: number, dport: number, rng: Rng, now: Seconds): void {
    this.begin(0, 0, proto, dport, rng, now);
    this.v6 = true;
    this.src6.set(src);
    this.dst6.set(dst);
  }

  /** Starts a new first packet. */
  begin(src: number, dst: number, proto: number, dport: number, rng: Rng, now: Seconds): void {
    this.src = src;
    this.dst = dst;
    this.proto = proto;
    this.dport = dport;
    this.v6 = false;
    this.mark = 0;
    this.ct = R.CT_NEW;
    this.ipvs = false;
    this.masq = false;
    this.dnat = null;
    this.owner = '';
    this.rules = 0;
    this.setTests = 0;
    this.rng = rng;
    this.now = now;
  }

  /** Runs a chain like ipt_do_table: returns V_CONTINUE when the chain falls off its end or RETURNs. */
  walk(chain: Chain): number {
    const rules = chain.rules;
    const n = rules.length;
    // a walk never changes the destination (DNAT ends the nat walk), so it can be read once
    const dst = this.dst;
    const proto = this.proto;
    const dport = this.dport;
    let i = 0;
    let v = V_CONTINUE;
    for (; i < n; i++) {
      const r = rules[i]!;
      const f = r.flags;
      if (f === F_SERVICE_RULE) {
        // KUBE-SERVICES' cluster IP / external IP / load-balancer rules: -d, -p, --dport only
        if ((dst & r.dstMask) !== r.dst || r.proto !== proto || r.dport !== dport) continue;
      } else if (f !== 0 && !this.matches(r, f)) continue;
      const t = r.target;
      if (t === 0) continue;
      if (this.owner === '' && r.owner !== '') this.owner = r.owner;
      if (t === T_JUMP) {
        const sub = this.walk(r.jumpTo!);
        if (sub !== V_CONTINUE) {
          v = sub;
          break;
        }
        continue;
      }
      if (t === T_MARK) {
        this.mark = (this.mark & ~r.arg2) ^ r.arg1;
        continue;
      }
      if (t === T_GOTO) {
        v = this.walk(r.jumpTo!);
        break;
      }
      if (t === T_RETURN) v = V_CONTINUE;
      else if (t === T_ACCEPT) v = V_ACCEPT;
      else if (t === T_DROP) v = V_DROP;
      else if (t === T_REJECT) v = V_REJECT;
      else if (t === T_MASQUERADE) {
        this.masq = true;
        v = V_ACCEPT;
      } else if (t === T_DNAT) {
        this.dnat = r;
        v = V_ACCEPT;
      }
      break;
    }
    // rules evaluated in this chain: all of them, or up to and including the one that ended the walk
    this.rules += i < n ? i + 1 : n;
    return v;
  }

  private matches(r: Rule, f: number): boolean {
    if (this.v6 || (f & F_V6) !== 0) return this.matches6(r, f);
    if ((f & F_DST) !== 0 && ((this.dst & r.dstMask) === r.dst) === ((f & F_DST_NEG) !== 0)) return false;
    if ((f & F_PROTO) !== 0 && r.proto !== this.proto) return false;
    if ((f & F_DPORT) !== 0 && r.dport !== this.dport) return false;
    if ((f & F_SRC) !== 0 && ((this.src & r.srcMask) === r.src) === ((f & F_SRC_NEG) !== 0)) return false;
    if ((f & F_SET) !== 0 && !this.setMatch(r)) return false;
    if ((f & F_SRC_LOCAL) !== 0 && this.isLocal(this.src) === ((f & F_SRC_LOCAL_NEG) !== 0)) return false;
    if ((f & F_DST_LOCAL) !== 0 && this.isLocal(this.dst) === ((f & F_DST_LOCAL_NEG) !== 0)) return false;
    if ((f & F_MARK) !== 0 && ((this.mark & r.rare!.markMask) === r.rare!.markValue) === ((f & F_MARK_NEG) !== 0)) return false;
    if ((f & F_CTSTATE) !== 0 && ((this.ct & r.rare!.ctMask) !== 0) === ((f & F_CTSTATE_NEG) !== 0)) return false;
    if ((f & F_STATISTIC) !== 0 && !(this.rng.next() * 0x80000000 < r.prob)) return false;
    if ((f & F_RECENT) !== 0 && !this.recentMatch(r)) return false;
    if ((f & F_IPVS) !== 0 && !this.ipvsMatch(r)) return false;
    return true;
  }

  /**
   * matches() for the IPv6 walk, in the same order: addresses word by word (an IPv4 packet never meets an IPv6
   * address match, nor an IPv6 packet an IPv4 one), addrtype through isLocal6.
   */
  private matches6(r: Rule, f: number): boolean {
    const x = r.rare;
    if ((f & F_DST) !== 0) {
      const hit = this.v6 && x !== null && x.dst6 !== null && words6Match(this.dst6, x.dst6, x.dst6Mask!);
      if (hit === ((f & F_DST_NEG) !== 0)) return false;
    }
    if ((f & F_PROTO) !== 0 && r.proto !== this.proto) return false;
    if ((f & F_DPORT) !== 0 && r.dport !== this.dport) return false;
    if ((f & F_SRC) !== 0) {
      const hit = this.v6 && x !== null && x.src6 !== null && words6Match(this.src6, x.src6, x.src6Mask!);
      if (hit === ((f & F_SRC_NEG) !== 0)) return false;
    }
    if ((f & F_SET) !== 0 && !this.setMatch(r)) return false;
    if ((f & F_SRC_LOCAL) !== 0 && this.local(false) === ((f & F_SRC_LOCAL_NEG) !== 0)) return false;
    if ((f & F_DST_LOCAL) !== 0 && this.local(true) === ((f & F_DST_LOCAL_NEG) !== 0)) return false;
    if ((f & F_MARK) !== 0 && ((this.mark & x!.markMask) === x!.markValue) === ((f & F_MARK_NEG) !== 0)) return false;
    if ((f & F_CTSTATE) !== 0 && ((this.ct & x!.ctMask) !== 0) === ((f & F_CTSTATE_NEG) !== 0)) return false;
    if ((f & F_STATISTIC) !== 0 && !(this.rng.next() * 0x80000000 < r.prob)) return false;
    if ((f & F_RECENT) !== 0 && !this.recentMatch(r)) return false;
    if ((f & F_IPVS) !== 0 && !this.ipvsMatch(r)) return false;
    return true;
  }

  private local(dst: boolean): boolean {
    if (this.v6) return this.isLocal6(dst ? this.dst6 : this.src6);
    return this.isLocal(dst ? this.dst : this.src);
  }

  /** The recent lists' key of the packet's source. */
  private srcKey(): number | string {
    return this.v6 ? this.src6.join(',') : this.src;
  }

  private setMatch(r: Rule): boolean {
    this.setTests++;
    const x = r.rare!;
    if (this.sets === null) throw new Error(`rule of chain ${r.chain}: the walker has no ipsets`);
    return this.sets.matchSet(x.setName, x.setFlags, this);
  }

  private ipvsMatch(r: Rule): boolean {
    const x = r.rare!;
    return this.ipvs && this.ipvsAddr === x.ipvsAddr && this.ipvsPort === x.ipvsPort && this.ipvsProto === x.ipvsProto;
  }

  private recentMatch(r: Rule): boolean {
    const rc = r.rare!.recent!;
    let list = this.recent.get(rc.name);
    const src = this.srcKey();
    if (rc.set) {
      if (list === undefined) this.recent.set(rc.name, (list = new Map()));
      list.delete(src);
      list.set(src, this.now);
      if (list.size > RECENT_LIST_MAX) list.delete(list.keys().next().value!);
      return true;
    }
    const seen = list?.get(src);
    if (seen === undefined) return false;
    if (this.now - seen > rc.seconds) {
      if (rc.reap) list!.delete(src);
      return false;
    }
    return true;
  }
}
