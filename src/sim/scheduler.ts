import type { Seconds } from '../types.js';

/** A scheduled event; keep it to cancel the event. */
export interface EventHandle {
  readonly time: Seconds;
  readonly seq: number;
  readonly label: string;
  readonly cancelled: boolean;
}

/** The handle of one event: also holds what runs (the heap itself holds only keys and slot numbers). */
class Handle implements EventHandle {
  cancelled = false;
  constructor(
    readonly time: Seconds,
    readonly seq: number,
    readonly label: string,
    public fn: (() => void) | null,
  ) {}
}

/** What the heap holds per event: a handle (cancellable), a bare callback (`post`) or null (empty slot). */
type Entry = Handle | (() => void) | null;

/** Events per bucket a rung aims for when it is built: the near heap stays small enough to live in L1 cache. */
const BUCKET_TARGET = 16;

/**
 * Discrete-event scheduler: a virtual clock and an event set ordered by (time, insertion order). Events at equal
 * times run in the order they were scheduled.
 *
 * The event set is a two-level ladder queue (after Tang, Goh and Thng 2005): events far ahead are appended,
 * unsorted, to a `far` list; when everything nearer has run, the far list is spread over one rung of equal-width
 * time buckets of about BUCKET_TARGET events each (one pass, by index = floor((time - start) / width), which is
 * monotone in time, so a lower bucket holds only earlier events and equal times share a bucket); the buckets are
 * then loaded one at a time into a small 4-ary min-heap on (time, sequence number), which is the only place events
 * are compared. An event scheduled into the current bucket or before goes to the heap, into a later bucket of the
 * rung is appended to it, beyond the rung to the far list. Each event is thus appended twice and sifted in a heap
 * of a few dozen entries: the cost per event is about constant in the number pending, where a heap over all of
 * them pays log(pending) cache-missing levels. Events with many equal times end up in one bucket and the heap
 * grows to hold them: it is then an ordinary heap, never wrong, only slower.
 *
 * Layout: events live in a pool of parallel typed arrays (time, sequence number, next-in-list) indexed by a slot
 * reused through a free list; buckets and the far list are singly linked lists through `next`; the heap holds
 * copies of the keys and the slot, so sifting compares numbers in contiguous memory. Cancelling is lazy: the
 * handle is marked and the event is dropped when it reaches the top.
 */
export class Scheduler {
  // event pool
  private evTime = new Float64Array(1024);
  private evSeq = new Float64Array(1024);
  private evNext = new Int32Array(1024);
  private evEntry: Entry[] = new Array<Entry>(1024).fill(null);
  private free = new Int32Array(1024);
  private freeTop = 0;
  private poolUsed = 0;
  // near heap (4-ary, keys copied in)
  private hTime = new Float64Array(256);
  private hSeq = new Float64Array(256);
  private hSlot = new Int32Array(256);
  private hSize = 0;
  // the rung: buckets [cur + 1, nb) hold events with bucket index in that range; cur is loaded into the heap
  private heads = new Int32Array(64).fill(-1);
  private nb = 0;
  private cur = 0;
  private start = 0;
  private width = 1;
  // the far list
  private farHead = -1;
  private farCount = 0;
  private farMin = Infinity;
  private farMax = -Infinity;

  private size = 0;
  private seq = 0;
  private clock: Seconds = 0;
  private executed = 0;

  /** Current virtual time in seconds. */
  get now(): Seconds {
    return this.clock;
  }

  /** Events run so far. */
  get eventsRun(): number {
    return this.executed;
  }

  /** Events waiting (cancelled ones included until they reach the top). */
  get pending(): number {
    return this.size;
  }

  /** Schedules `fn` at absolute time `time` (not before now). */
  at(time: Seconds, fn: () => void, label = ''): EventHandle {
    if (!Number.isFinite(time)) throw new RangeError(`event time must be finite, got ${time}`);
    if (time < this.clock) throw new RangeError(`cannot schedule in the past: ${time} < now ${this.clock}`);
    const seq = this.seq++;
    const h = new Handle(time, seq, label, fn);
    this.insert(time, seq, h);
    return h;
  }

  /**
   * Schedules `fn` at absolute time `time` without a handle (it cannot be cancelled): no object is allocated per
   * event, for the harness's high-volume events (arrivals, request checks, watch deliveries). Same order as `at`.
   */
  post(time: Seconds, fn: () => void): void {
    if (!Number.isFinite(time)) throw new RangeError(`event time must be finite, got ${time}`);
    if (time < this.clock) throw new RangeError(`cannot schedule in the past: ${time} < now ${this.clock}`);
    this.insert(time, this.seq++, fn);
  }

  /** Schedules `fn` after `delay` seconds. */
  after(delay: Seconds, fn: () => void, label = ''): EventHandle {
    if (delay < 0) throw new RangeError(`negative delay ${delay}`);
    return this.at(this.clock + delay, fn, label);
  }

  cancel(h: EventHandle): void {
    const e = h as Handle;
    e.cancelled = true;
    e.fn = null;
  }

  /** Runs events with time <= `until`, then sets the clock to `until`. */
  runUntil(until: Seconds): void {
    // the loop body is written out here rather than calling a step method: V8 then keeps the whole dispatch in
    // one optimized function
    for (;;) {
      if (this.hSize === 0 && !this.refill()) break;
      const time = this.hTime[0]!;
      if (time > until) break;
      const slot = this.hSlot[0]!;
      this.popTop();
      const e = this.evEntry[slot]!;
      this.evEntry[slot] = null;
      this.free[this.freeTop++] = slot;
      this.size--;
      let fn: (() => void) | null;
      if (typeof e === 'function') fn = e;
      else {
        fn = e.fn;
        if (e.cancelled || fn === null) continue;
        e.fn = null;
      }
      this.clock = time;
      this.executed++;
      fn();
    }
    if (until > this.clock) this.clock = until;
  }

  /** Runs until no event is left (or `maxEvents` have run, to guard against self-perpetuating timers). */
  runAll(maxEvents = Number.POSITIVE_INFINITY): void {
    let n = 0;
    while (n < maxEvents) {
      if (this.hSize === 0 && !this.refill()) break;
      const time = this.hTime[0]!;
      const slot = this.hSlot[0]!;
      this.popTop();
      const e = this.evEntry[slot]!;
      this.evEntry[slot] = null;
      this.free[this.freeTop++] = slot;
      this.size--;
      let fn: (() => void) | null;
      if (typeof e === 'function') fn = e;
      else {
        fn = e.fn;
        if (e.cancelled || fn === null) continue;
        e.fn = null;
      }
      this.clock = time;
      this.executed++;
      n++;
      fn();
    }
  }

  /** A pool slot for a new event. */
  private alloc(): number {
    if (this.freeTop > 0) return this.free[--this.freeTop]!;
    if (this.poolUsed === this.evTime.length) {
      const cap = this.poolUsed * 2;
      this.evTime = grow(this.evTime, cap);
      this.evSeq = grow(this.evSeq, cap);
      this.evNext = grow(this.evNext, cap);
      this.free = grow(this.free, cap);
      const es = new Array<Entry>(cap).fill(null);
      for (let i = 0; i < this.poolUsed; i++) es[i] = this.evEntry[i]!;
      this.evEntry = es;
    }
    return this.poolUsed++;
  }

  private insert(time: number, seq: number, entry: Entry): void {
    this.size++;
    const slot = this.alloc();
    this.evEntry[slot] = entry;
    const b = Math.floor((time - this.start) / this.width);
    if (b <= this.cur) {
      this.heapPush(time, seq, slot);
      return;
    }
    this.evTime[slot] = time;
    this.evSeq[slot] = seq;
    if (b < this.nb) {
      this.evNext[slot] = this.heads[b]!;
      this.heads[b] = slot;
      return;
    }
    this.evNext[slot] = this.farHead;
    this.farHead = slot;
    this.farCount++;
    if (time < this.farMin) this.farMin = time;
    if (time > this.farMax) this.farMax = time;
  }

  /**
   * Fills the empty heap with the next non-empty bucket of the rung, building a new rung from the far list when the
   * rung is used up. False when no event is left.
   */
  private refill(): boolean {
    for (;;) {
      while (++this.cur < this.nb) {
        let slot = this.heads[this.cur]!;
        if (slot < 0) continue;
        this.heads[this.cur] = -1;
        while (slot >= 0) {
          const next = this.evNext[slot]!;
          this.heapPush(this.evTime[slot]!, this.evSeq[slot]!, slot);
          slot = next;
        }
        return true;
      }
      if (this.farCount === 0) {
        // nothing pending: every later event goes to the far list (index +Infinity) and builds a rung of its own
        this.nb = 0;
        this.cur = -1;
        this.start = -Infinity;
        return false;
      }
      this.buildRung();
    }
  }

  /** Spreads the far list over a new rung of buckets of about BUCKET_TARGET events; cur is left before bucket 0. */
  private buildRung(): void {
    const n = this.farCount;
    const lo = this.farMin;
    const hi = this.farMax;
    let width = (hi - lo) / Math.max(1, Math.ceil(n / BUCKET_TARGET));
    if (!(width > 0) || !Number.isFinite(width)) width = 1;
    this.start = lo;
    this.width = width;
    // the highest index is that of the latest event (monotone), so every far event has a bucket
    const nb = Math.floor((hi - lo) / width) + 1;
    if (this.heads.length < nb) this.heads = new Int32Array(Math.max(nb, this.heads.length * 2));
    this.heads.fill(-1, 0, nb);
    this.nb = nb;
    this.cur = -1;
    let slot = this.farHead;
    while (slot >= 0) {
      const next = this.evNext[slot]!;
      const b = Math.floor((this.evTime[slot]! - lo) / width);
      this.evNext[slot] = this.heads[b]!;
      this.heads[b] = slot;
      slot = next;
    }
    this.farHead = -1;
    this.farCount = 0;
    this.farMin = Infinity;
    this.farMax = -Infinity;
  }

  private heapPush(time: number, seq: number, slot: number): void {
    if (this.hSize === this.hTime.length) {
      const cap = this.hSize * 2;
      this.hTime = grow(this.hTime, cap);
      this.hSeq = grow(this.hSeq, cap);
      this.hSlot = grow(this.hSlot, cap);
    }
    const t = this.hTime;
    const s = this.hSeq;
    const sl = this.hSlot;
    let i = this.hSize++;
    // sift up: move the hole towards the root while the parent is later
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pt = t[p]!;
      if (pt < time || (pt === time && s[p]! < seq)) break;
      t[i] = pt;
      s[i] = s[p]!;
      sl[i] = sl[p]!;
      i = p;
    }
    t[i] = time;
    s[i] = seq;
    sl[i] = slot;
  }

  /** Removes the heap's root: the last entry moves down from the root into the hole. */
  private popTop(): void {
    const n = --this.hSize;
    if (n === 0) return;
    const t = this.hTime;
    const s = this.hSeq;
    const sl = this.hSlot;
    const time = t[n]!;
    const seq = s[n]!;
    const slot = sl[n]!;
    let i = 0;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      // the earliest of up to four children
      let c = first;
      let ct = t[first]!;
      let cs = s[first]!;
      const last = first + 3 < n ? first + 3 : n - 1;
      for (let j = first + 1; j <= last; j++) {
        const jt = t[j]!;
        if (jt < ct || (jt === ct && s[j]! < cs)) {
          c = j;
          ct = jt;
          cs = s[j]!;
        }
      }
      if (time < ct || (time === ct && seq < cs)) break;
      t[i] = ct;
      s[i] = cs;
      sl[i] = sl[c]!;
      i = c;
    }
    t[i] = time;
    s[i] = seq;
    sl[i] = slot;
  }
}

function grow<T extends Float64Array | Int32Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}
