/**
 * The first packet of a connection through the modelled `ip kube-proxy` table, as netfilter runs it: the base
 * chains of each hook in priority order (prerouting: filter-prerouting-pre-dnat -110, nat-prerouting -100; then
 * input or forward at 0 after the routing decision on the possibly DNATed destination; postrouting nat 100;
 * locally sent packets: output -110, -100, 0, then postrouting). Inside a chain, rules run in order; `vmap` is one
 * hash lookup; `numgen random mod N` draws from the caller's stream; jump/goto/return behave as in nftables.
 *
 * Counted: rules whose matches were evaluated, set/map lookups (named sets and maps, anonymous sets, the numgen
 * map), chains entered (base chains included). Nothing here walks per-service lists, so every count is flat in the
 * number of services.
 */
import type { Packet, Rng, Seconds } from '../../types.js';
import { parseIPv4, cidrContains } from '../../net/ipv4.js';
import { ipv6Value } from './rules.js';
import type { NftTable, ChainState } from './table.js';
import type { Match } from './rules.js';

export interface NftLookup {
  verdict: 'DNAT' | 'REJECT' | 'DROP' | 'PASS';
  endpoint: { ip: string; port: number } | null;
  /** The service-ips / service-nodeports element's target chain (per-service chain name), '' when none. */
  serviceChain: string;
  masquerade: boolean;
  rulesEvaluated: number;
  lookups: number;
  chainsEntered: number;
}

interface PacketState {
  src: string;
  srcN: number;
  dst: string;
  dstN: number;
  /** An IPv6 packet's addresses (null for IPv4): the ip6 table's address matches compare these. */
  src6: bigint | null;
  dst6: bigint | null;
  dport: number;
  proto: string;
  mark: number;
  dnat: { ip: string; port: number } | null;
  masq: boolean;
  serviceChain: string;
}

type Outcome = 'continue' | 'accept' | 'drop' | 'reject';

const HOOK_ORDER: Record<string, string[]> = {
  forwarded: ['prerouting', 'ROUTE', 'postrouting'],
  local: ['output', 'postrouting'],
};

export class NftWalker {
  /** Base chains per hook, sorted by priority. */
  private hooks = new Map<string, ChainState[]>();
  private hooksVersion = -1;
  rules = 0;
  lookups = 0;
  chains = 0;

  constructor(
    private readonly table: NftTable,
    /** Addresses `fib ... type local` treats as the node's own (the node IPs). */
    private readonly localIPs: ReadonlySet<number>,
    /** The IPv6 node IPs, for the ip6 table. */
    private readonly localIPs6: ReadonlySet<bigint> = new Set(),
  ) {}

  private baseChains(hook: string, version: number): ChainState[] {
    if (version !== this.hooksVersion) {
      this.hooks.clear();
      for (const c of this.table.chains.values()) {
        if (c.base === undefined) continue;
        const list = this.hooks.get(c.base.hook) ?? [];
        list.push(c);
        this.hooks.set(c.base.hook, list);
      }
      for (const l of this.hooks.values()) l.sort((a, b) => a.base!.priority - b.base!.priority);
      this.hooksVersion = version;
    }
    return this.hooks.get(hook) ?? [];
  }

  private isLocal(n: number): boolean {
    return n >>> 24 === 127 || this.localIPs.has(n);
  }

  /** fib ... type local for the packet's source or destination, IPv4 or IPv6 (::1 is local). */
  private localAddr(p: PacketState, f: 'saddr' | 'daddr'): boolean {
    const v6 = f === 'saddr' ? p.src6 : p.dst6;
    if (v6 !== null) return v6 === 1n || this.localIPs6.has(v6);
    return this.isLocal(f === 'saddr' ? p.srcN : p.dstN);
  }

  private match(m: Match, p: PacketState, now: Seconds): boolean {
    switch (m.t) {
      case 'ctnew':
        return true;
      case 'addr': {
        if (m.anon) this.lookups++;
        let hit = false;
        const v6 = m.f === 'saddr' ? p.src6 : p.dst6;
        if (m.nets6 !== undefined) {
          if (v6 !== null) for (const c of m.nets6) if (v6 >= c.start && v6 <= c.end) hit = true;
          return hit !== m.neg;
        }
        if (v6 !== null) return m.neg;
        const v = m.f === 'saddr' ? p.srcN : p.dstN;
        for (const c of m.nets) if (cidrContains(c, v)) hit = true;
        return hit !== m.neg;
      }
      case 'inset': {
        this.lookups++;
        const set = this.table.sets.get(m.set);
        if (set === undefined) return false;
        const k = m.f === 'saddr' ? p.src : p.dst;
        if (set.elements.has(k)) return true;
        const exp = set.dynamic.get(k);
        return exp !== undefined && exp > now;
      }
      case 'fiblocal':
        return this.localAddr(p, m.f);
      case 'dport':
        return p.proto === m.p.toLowerCase() && p.dport === m.port;
      case 'markzero':
        return (p.mark & m.mark) === 0;
    }
  }

  /** Runs one chain (and what it jumps to); returns the verdict that ends the base chain, or 'continue'. */
  private run(chain: ChainState, p: PacketState, rng: Rng, now: Seconds, depth: number): Outcome | 'return' {
    if (depth > 64) throw new Error('nftables walk: chain recursion too deep');
    this.chains++;
    for (const r of chain.rules) {
      this.rules++;
      let ok = true;
      for (const m of r.m) {
        if (!this.match(m, p, now)) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      const s = r.s;
      let target: string | null = null;
      let isGoto = false;
      switch (s.t) {
        case 'vmap': {
          this.lookups++;
          const map = this.table.sets.get(s.map);
          const key = s.key === 'dst3' ? `${p.dst} . ${p.proto} . ${p.dport}` : `${p.proto} . ${p.dport}`;
          const el = map?.elements.get(key);
          if (el === undefined) continue;
          const v = el.value;
          if (v === 'drop') return 'drop';
          if (v === 'accept') return 'accept';
          if (v === 'return') return 'return';
          const sp = v.indexOf(' ');
          isGoto = v.slice(0, sp) === 'goto';
          target = v.slice(sp + 1);
          if (s.map === 'service-ips' || s.map === 'service-nodeports') p.serviceChain = target;
          break;
        }
        case 'numgen': {
          this.lookups++;
          const i = Math.min(s.targets.length - 1, Math.floor(rng.next() * s.targets.length));
          target = s.targets[i]!;
          isGoto = true;
          break;
        }
        case 'jump':
          target = s.chain;
          break;
        case 'goto':
          target = s.chain;
          isGoto = true;
          break;
        case 'return':
          return 'return';
        case 'drop':
          return 'drop';
        case 'reject':
          return 'reject';
        case 'markor':
          p.mark |= s.mark;
          continue;
        case 'markxor':
          p.mark ^= s.mark;
          continue;
        case 'masquerade':
          p.masq = true;
          return 'accept';
        case 'dnat':
          p.dnat = { ip: s.ip, port: s.port };
          p.dst = s.ip;
          p.dstN = parseIPv4(s.ip) ?? 0;
          p.dst6 = ipv6Value(s.ip);
          p.dport = s.port;
          return 'accept';
        case 'update': {
          const set = this.table.sets.get(s.set);
          const to = set?.spec.timeout;
          if (set !== undefined && to !== undefined) set.dynamic.set(p.src, now + to);
          continue;
        }
      }
      const next = this.table.chains.get(target!);
      if (next === undefined) throw new Error(`nftables walk: no chain ${target}`);
      const out = this.run(next, p, rng, now, depth + 1);
      if (out === 'return') {
        if (isGoto) return 'return';
        continue;
      }
      if (out !== 'continue') return out;
      // a regular chain that ran to its end returns to the caller
      if (isGoto) return 'return';
    }
    return depth === 0 ? 'continue' : 'return';
  }

  private runHook(hook: string, p: PacketState, rng: Rng, now: Seconds, version: number): Outcome {
    for (const bc of this.baseChains(hook, version)) {
      const out = this.run(bc, p, rng, now, 0);
      if (out === 'drop' || out === 'reject') return out;
      // accept (or falling off the end, policy accept) ends this base chain only
    }
    return 'continue';
  }

  /** Classifies one first packet; `version` changes whenever the table's chains changed (hook cache). */
  walk(pkt: Packet, rng: Rng, now: Seconds, version: number): NftLookup {
    this.rules = 0;
    this.lookups = 0;
    this.chains = 0;
    const p: PacketState = {
      src: pkt.srcIP,
      srcN: parseIPv4(pkt.srcIP) ?? 0,
      dst: pkt.dstIP,
      dstN: parseIPv4(pkt.dstIP) ?? 0,
      src6: pkt.srcIP.includes(':') ? ipv6Value(pkt.srcIP) : null,
      dst6: pkt.dstIP.includes(':') ? ipv6Value(pkt.dstIP) : null,
      dport: pkt.dstPort,
      proto: pkt.protocol.toLowerCase(),
      mark: 0,
      dnat: null,
      masq: false,
      serviceChain: '',
    };
    let result: Outcome = 'continue';
    for (const hook of pkt.local ? HOOK_ORDER['local']! : HOOK_ORDER['forwarded']!) {
      const h = hook === 'ROUTE' ? (this.localAddr(p, 'daddr') ? 'input' : 'forward') : hook;
      result = this.runHook(h, p, rng, now, version);
      if (result === 'drop' || result === 'reject') break;
      if (h === 'input') break; // delivered locally: no postrouting
    }
    const verdict = result === 'drop' ? 'DROP' : result === 'reject' ? 'REJECT' : p.dnat !== null ? 'DNAT' : 'PASS';
    return {
      verdict,
      endpoint: verdict === 'DNAT' ? p.dnat : null,
      serviceChain: p.serviceChain,
      masquerade: verdict === 'DNAT' && p.masq,
      rulesEvaluated: this.rules,
      lookups: this.lookups,
      chainsEntered: this.chains,
    };
  }
}
