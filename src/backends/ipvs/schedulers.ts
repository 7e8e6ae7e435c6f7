/**
 * The IPVS schedulers kube-proxy can configure (--ipvs-scheduler), with the kernel's semantics
 * (net/netfilter/ipvs/ip_vs_{rr,wrr,lc,wlc,sh,dh,sed,nq}.c).
 *
 * Every scheduler walks the service's destination list in the kernel's order: ip_vs_ctl.c adds a new destination
 * with list_add_rcu(&dest->n_list, &svc->destinations), i.e. at the HEAD, so the list runs from the most recently
 * added real server to the oldest. `dests[0]` is the head here.
 *
 * A destination with weight 0 (quiesced: kube-proxy's graceful termination) never receives a new connection.
 * No scheduler here draws random numbers: all of them are deterministic functions of the service state and packet.
 */
import type { IpvsScheduler } from './options.js';

/** The per-destination state a scheduler reads. */
export interface SchedDest {
  readonly ipInt: number;
  weight: number;
  activeConns: number;
  inactiveConns: number;
}

/** The packet fields a scheduler may hash. */
export interface SchedPacket {
  srcIpInt: number;
  dstIpInt: number;
}

export interface SchedulerState<D extends SchedDest> {
  readonly name: IpvsScheduler;
  /** A destination was added at the head of the list (kernel add_dest). */
  added(dests: readonly D[]): void;
  /** The destination at index `idx` was unlinked; `dests` no longer holds it (kernel del_dest). */
  removed(dests: readonly D[], idx: number): void;
  /** A destination's weight changed (kernel upd_dest). */
  updated(dests: readonly D[]): void;
  /** Picks a destination or returns null ("no destination available"). */
  schedule(dests: readonly D[], pkt: SchedPacket): D | null;
}

/**
 * ip_vs_dest_conn_overhead() (include/net/ip_vs.h): active connections weigh 256 times an inactive one.
 */
export function connOverhead(d: SchedDest): number {
  return d.activeConns * 256 + d.inactiveConns;
}

/** Round robin (ip_vs_rr.c). `cursor` is svc->sched_data: an index into the list, -1 for the list head. */
class RoundRobin<D extends SchedDest> implements SchedulerState<D> {
  readonly name = 'rr' as const;
  cursor = -1;
  added(): void {
    // list_add_rcu at the head shifts every existing entry one place down; the cursor keeps its entry.
    if (this.cursor >= 0) this.cursor++;
  }
  removed(_dests: readonly D[], idx: number): void {
    // ip_vs_rr_del_dest: if sched_data pointed at the removed entry, it moves to the previous entry (or the head).
    if (this.cursor === idx) this.cursor = idx - 1;
    else if (this.cursor > idx) this.cursor--;
  }
  updated(): void {}
  schedule(dests: readonly D[]): D | null {
    const last = this.cursor;
    const n = dests.length;
    if (last === -1) {
      // started at the head: one pass is enough
      for (let i = 0; i < n; i++) {
        if (dests[i]!.weight > 0) {
          this.cursor = i;
          return dests[i]!;
        }
      }
      return null;
    }
    for (let i = last + 1; i < n; i++) {
      if (dests[i]!.weight > 0) {
        this.cursor = i;
        return dests[i]!;
      }
    }
    // second pass from the head up to and including `last`
    for (let i = 0; i <= last && i < n; i++) {
      if (dests[i]!.weight > 0) {
        this.cursor = i;
        return dests[i]!;
      }
    }
    return null;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Weighted round robin (ip_vs_wrr.c), including the (di - 1) correction of mw and the last-pass logic. */
class WeightedRoundRobin<D extends SchedDest> implements SchedulerState<D> {
  readonly name = 'wrr' as const;
  /** mark->cl: index of the current dest, -1 for the head. */
  cl = -1;
  cw = 0;
  mw = 0;
  di = 1;
  constructor(dests: readonly D[]) {
    // ip_vs_wrr_init_svc
    this.di = WeightedRoundRobin.gcdWeight(dests);
    this.mw = WeightedRoundRobin.maxWeight(dests) - (this.di - 1);
    this.cw = this.mw;
  }
  static gcdWeight(dests: readonly SchedDest[]): number {
    let g = 0;
    for (const d of dests) {
      if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
    }
    return g !== 0 ? g : 1;
  }
  static maxWeight(dests: readonly SchedDest[]): number {
    let w = 0;
    for (const d of dests) if (d.weight > w) w = d.weight;
    return w;
  }
  private changed(dests: readonly D[]): void {
    // ip_vs_wrr_dest_changed (add, del and upd alike)
    this.cl = -1;
    this.di = WeightedRoundRobin.gcdWeight(dests);
    this.mw = WeightedRoundRobin.maxWeight(dests) - (this.di - 1);
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.trunc(this.cw / this.di) * this.di + 1;
  }
  added(dests: readonly D[]): void {
    this.changed(dests);
  }
  removed(dests: readonly D[]): void {
    this.changed(dests);
  }
  updated(dests: readonly D[]): void {
    this.changed(dests);
  }
  schedule(dests: readonly D[]): D | null {
    let dest = this.cl;
    if (this.mw === 0) return null; // err_noavail (cl = dest, unchanged)
    const last = dest;
    let stop = -2; // none
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (let i = dest + 1; i < dests.length; i++) {
        const d = dests[i]!;
        if (d.weight >= this.cw) {
          this.cl = i;
          return d;
        }
        if (i === stop) {
          this.cl = i;
          return null; // err_over
        }
      }
      dest = -1; // the walk reached the list head
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        if (lastPass || last === -1) {
          this.cl = dest;
          return null; // err_over
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }
}

/** Least connection (ip_vs_lc.c): least activeconns*256+inactconns, first in list order wins ties. */
class LeastConnection<D extends SchedDest> implements SchedulerState<D> {
  readonly name = 'lc' as const;
  added(): void {}
  removed(): void {}
  updated(): void {}
  schedule(dests: readonly D[]): D | null {
    let least: D | null = null;
    let loh = 0;
    for (const d of dests) {
      if (d.weight === 0) continue;
      const doh = connOverhead(d);
      if (least === null || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

/**
 * The "weighted" family: wlc (overhead = active*256 + inactive), sed (overhead = active + 1). The first usable
 * dest in list order starts; a later one replaces it only when loh * w(dest) > doh * w(least) (strictly).
 */
class WeightedLeast<D extends SchedDest> implements SchedulerState<D> {
  constructor(
    readonly name: 'wlc' | 'sed',
    private readonly overhead: (d: SchedDest) => number,
  ) {}
  added(): void {}
  removed(): void {}
  updated(): void {}
  schedule(dests: readonly D[]): D | null {
    let i = 0;
    let least: D | null = null;
    for (; i < dests.length; i++) {
      if (dests[i]!.weight > 0) {
        least = dests[i]!;
        break;
      }
    }
    if (least === null) return null;
    let loh = this.overhead(least);
    for (i++; i < dests.length; i++) {
      const d = dests[i]!;
      const doh = this.overhead(d);
      if (loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

/** Never queue (ip_vs_nq.c): an idle server (no active connections) is taken at once, else shortest expected delay. */
class NeverQueue<D extends SchedDest> implements SchedulerState<D> {
  readonly name = 'nq' as const;
  added(): void {}
  removed(): void {}
  updated(): void {}
  schedule(dests: readonly D[]): D | null {
    let least: D | null = null;
    let loh = 0;
    for (const d of dests) {
      if (d.weight === 0) continue;
      const doh = d.activeConns + 1;
      if (d.activeConns === 0) return d;
      if (least === null || loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

/** IP_VS_SH_TAB_BITS / IP_VS_DH_TAB_BITS: both hashing schedulers use a 256-bucket table. */
export const HASH_TAB_SIZE = 256;

/** hash_32(val, 8) (include/linux/hash.h): (val * GOLDEN_RATIO_32) >> (32 - 8). */
export function shHashKey(srcIpInt: number, port = 0): number {
  return Math.imul((port + srcIpInt) >>> 0, 0x61c88647) >>> 24;
}

/** ip_vs_dh_hashkey: (ntohl(addr) * 2654435761UL) & 255. */
export function dhHashKey(dstIpInt: number): number {
  return Math.imul(dstIpInt >>> 0, 0x9e3779b1) & 0xff;
}

/**
 * Source hashing (ip_vs_sh.c) and destination hashing (ip_vs_dh.c): a 256-bucket table filled by walking the
 * destination list from the head; sh gives each dest `weight` consecutive buckets (at least one, also for weight 0),
 * dh one bucket each. The table is refilled on every add/del (and, for sh, weight update). A packet whose bucket
 * holds an unavailable dest (weight 0) gets no destination: kube-proxy does not set the sh-fallback flag.
 */
class HashScheduler<D extends SchedDest> implements SchedulerState<D> {
  table: (D | null)[] = new Array<D | null>(HASH_TAB_SIZE).fill(null);
  constructor(
    readonly name: 'sh' | 'dh',
    dests: readonly D[],
  ) {
    this.reassign(dests);
  }
  reassign(dests: readonly D[]): void {
    const n = dests.length;
    if (n === 0) {
      this.table.fill(null);
      return;
    }
    let p = 0;
    let dCount = 0;
    for (let i = 0; i < HASH_TAB_SIZE; i++) {
      if (p >= n) p = 0;
      const d = dests[p]!;
      this.table[i] = d;
      if (this.name === 'sh') {
        if (++dCount >= d.weight) {
          p++;
          dCount = 0;
        }
      } else {
        p++;
      }
    }
  }
  added(dests: readonly D[]): void {
    this.reassign(dests);
  }
  removed(dests: readonly D[]): void {
    this.reassign(dests);
  }
  updated(dests: readonly D[]): void {
    // ip_vs_sh has upd_dest; ip_vs_dh registers only add_dest and del_dest
    if (this.name === 'sh') this.reassign(dests);
  }
  schedule(_dests: readonly D[], pkt: SchedPacket): D | null {
    const key = this.name === 'sh' ? shHashKey(pkt.srcIpInt) : dhHashKey(pkt.dstIpInt);
    const d = this.table[key] ?? null;
    if (d === null || d.weight <= 0) return null;
    return d;
  }
}

export function createScheduler<D extends SchedDest>(name: IpvsScheduler, dests: readonly D[]): SchedulerState<D> {
  switch (name) {
    case 'rr':
      return new RoundRobin<D>();
    case 'wrr':
      return new WeightedRoundRobin<D>(dests);
    case 'lc':
      return new LeastConnection<D>();
    case 'wlc':
      return new WeightedLeast<D>('wlc', connOverhead);
    case 'sed':
      return new WeightedLeast<D>('sed', (d) => d.activeConns + 1);
    case 'nq':
      return new NeverQueue<D>();
    case 'sh':
    case 'dh':
      return new HashScheduler<D>(name, dests);
  }
}
