import type { Seconds } from '../types.js';

/** A scheduled event; keep it to cancel the event. */
export interface EventHandle {
  readonly time: Seconds;
  readonly seq: number;
  readonly label: string;
  cancelled: boolean;
}

interface Entry extends EventHandle {
  fn: () => void;
}

/**
 * Discrete-event scheduler: a virtual clock and a binary min-heap of events ordered by (time, insertion order).
 * Events at equal times run in the order they were scheduled.
 */
export class Scheduler {
  private heap: Entry[] = [];
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
    return this.heap.length;
  }

  /** Schedules `fn` at absolute time `time` (not before now). */
  at(time: Seconds, fn: () => void, label = ''): EventHandle {
    if (!Number.isFinite(time)) throw new RangeError(`event time must be finite, got ${time}`);
    if (time < this.clock) throw new RangeError(`cannot schedule in the past: ${time} < now ${this.clock}`);
    const e: Entry = { time, seq: this.seq++, label, cancelled: false, fn };
    this.push(e);
    return e;
  }

  /** Schedules `fn` after `delay` seconds. */
  after(delay: Seconds, fn: () => void, label = ''): EventHandle {
    if (delay < 0) throw new RangeError(`negative delay ${delay}`);
    return this.at(this.clock + delay, fn, label);
  }

  cancel(h: EventHandle): void {
    h.cancelled = true;
  }

  /** Runs events with time <= `until`, then sets the clock to `until`. */
  runUntil(until: Seconds): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.time > until) break;
      this.step();
    }
    if (until > this.clock) this.clock = until;
  }

  /** Runs until no event is left (or `maxEvents` have run, to guard against self-perpetuating timers). */
  runAll(maxEvents = Number.POSITIVE_INFINITY): void {
    let n = 0;
    while (this.heap.length > 0 && n < maxEvents) {
      if (this.step()) n++;
    }
  }

  /** Runs the next event; returns false when it was cancelled (nothing ran). */
  private step(): boolean {
    const e = this.pop();
    if (e.cancelled) return false;
    this.clock = e.time;
    this.executed++;
    e.fn();
    return true;
  }

  private less(a: Entry, b: Entry): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.less(e, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
        if (!this.less(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
