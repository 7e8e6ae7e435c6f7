import { Scheduler } from '../sim/scheduler.js';
import { RngStreams } from '../sim/rng.js';
import v8 from 'node:v8';
import vm from 'node:vm';

/** A full collection before each timed run, so no run starts with the previous run's marking in progress. */
const collectGarbage: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  return typeof gc === 'function' ? gc : () => {};
})();

/**
 * The hold model (Jones 1986, "An empirical comparison of priority-queue and event-set implementations"): a queue
 * is filled with `pending` events, then each step removes the earliest event and schedules one new event a random
 * exponential increment later, so the queue size stays constant (the events' callbacks are eight distinct
 * functions in turn, as the harness's events are many). It measures the event set alone. The same
 * workload runs against the harness's Scheduler and against PlainHeap, a textbook binary heap of event objects
 * written here only for comparison, in the same process and run, so their ratio is meaningful on a loaded
 * machine where the absolute rates are not.
 */

/** A textbook binary min-heap of {time, seq, fn} objects ordered by (time, seq), with the Scheduler's API subset. */
export class PlainHeap {
  private heap: Array<{ time: number; seq: number; fn: () => void }> = [];
  private seq = 0;
  now = 0;

  get pending(): number {
    return this.heap.length;
  }

  at(time: number, fn: () => void): void {
    const h = this.heap;
    const e = { time, seq: this.seq++, fn };
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = h[p]!;
      if (q.time < e.time || (q.time === e.time && q.seq < e.seq)) break;
      h[i] = q;
      i = p;
    }
    h[i] = e;
  }

  runUntil(until: number): void {
    const h = this.heap;
    while (h.length > 0 && h[0]!.time <= until) {
      const top = h[0]!;
      const last = h.pop()!;
      const n = h.length;
      if (n > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= n) break;
          const r = l + 1;
          let c = l;
          if (r < n) {
            const a = h[r]!;
            const b = h[l]!;
            if (a.time < b.time || (a.time === b.time && a.seq < b.seq)) c = r;
          }
          const x = h[c]!;
          if (last.time < x.time || (last.time === x.time && last.seq < x.seq)) break;
          h[i] = x;
          i = c;
        }
        h[i] = last;
      }
      this.now = top.time;
      top.fn();
    }
    if (until > this.now) this.now = until;
  }
}

export interface HoldResult {
  name: string;
  pending: number;
  events: number;
  /** CPU seconds of the timed loop (process.cpuUsage: less sensitive to other processes than wall time) */
  seconds: number;
  eventsPerSecond: number;
}

/** Exponential increments (mean 1) drawn up front, so the timed loop measures the queue, not the generator. */
function increments(seed: number): Float64Array {
  const rng = new RngStreams(seed).stream('hold');
  const incs = new Float64Array(65536);
  for (let i = 0; i < incs.length; i++) incs[i] = rng.exponential(1);
  return incs;
}

function result(name: string, pending: number, done: number, start: NodeJS.CpuUsage): HoldResult {
  const used = process.cpuUsage(start);
  const seconds = (used.user + used.system) / 1e6;
  return { name, pending, events: done, seconds, eventsPerSecond: done / seconds };
}

/**
 * Eight callbacks of distinct functions, scheduled in turn, each doing `step`: the harness's run loop calls many
 * different callbacks, so V8 never inlines one into it. With a single callback it sometimes does, for one queue in
 * one round and not in the next (measured: 2.8-2.9 or 5.8-6.0 M events/s for the same Scheduler at 100,000
 * pending), and the rates then compare the inlining, not the queues.
 */
function callbacks(step: () => void): Array<() => void> {
  return [() => step(), () => step(), () => step(), () => step(), () => step(), () => step(), () => step(), () => step()];
}

// The two loops below are the same code on purpose: one call site per queue type keeps each monomorphic (a shared
// loop over both types would measure V8's polymorphic dispatch, not the queues).

/** The hold model on the harness's Scheduler (`post`, the no-handle form its high-volume events use): `pending` events queued, then at least `events` hold operations. */
export function holdScheduler(pending: number, events: number, seed = 1): HoldResult {
  const incs = increments(seed);
  const q = new Scheduler();
  let k = 0;
  let done = 0;
  const holds = callbacks(() => {
    done++;
    q.post(q.now + incs[k++ & 65535]!, holds[done & 7]!);
  });
  for (let i = 0; i < pending; i++) q.post(incs[k++ & 65535]!, holds[i & 7]!);
  collectGarbage();
  const start = process.cpuUsage();
  let t = q.now;
  // about `pending` events per unit of virtual time (mean increment 1): slices of about 1,000 events, as the
  // harness runs the scheduler (many runUntil calls), not one call that only on-stack replacement could optimize
  const slice = 1000 / pending;
  while (done < events) {
    t += slice;
    q.runUntil(t);
  }
  return result('scheduler', pending, done, start);
}

/** The hold model on PlainHeap (see holdScheduler). */
export function holdPlain(pending: number, events: number, seed = 1): HoldResult {
  const incs = increments(seed);
  const q = new PlainHeap();
  let k = 0;
  let done = 0;
  const holds = callbacks(() => {
    done++;
    q.at(q.now + incs[k++ & 65535]!, holds[done & 7]!);
  });
  for (let i = 0; i < pending; i++) q.at(incs[k++ & 65535]!, holds[i & 7]!);
  collectGarbage();
  const start = process.cpuUsage();
  let t = q.now;
  const slice = 1000 / pending;
  while (done < events) {
    t += slice;
    q.runUntil(t);
  }
  return result('plain binary heap', pending, done, start);
}

export interface HoldComparison {
  scheduler: HoldResult;
  plain: HoldResult;
  /** scheduler time / plain heap time (below 1: the scheduler is faster) */
  ratio: number;
}

/**
 * The Scheduler against the plain binary heap in the same run: each measured `rounds` times alternately, after a
 * warm-up; the best round of each is reported (the least disturbed by other load on the machine).
 */
export function compareHold(pending: number, events: number, rounds = 3): HoldComparison {
  holdScheduler(Math.min(pending, 10_000), 200_000);
  holdPlain(Math.min(pending, 10_000), 200_000);
  let best: HoldResult | null = null;
  let bestPlain: HoldResult | null = null;
  for (let r = 0; r < rounds; r++) {
    const a = holdScheduler(pending, events, r + 1);
    const b = holdPlain(pending, events, r + 1);
    if (best === null || a.seconds < best.seconds) best = a;
    if (bestPlain === null || b.seconds < bestPlain.seconds) bestPlain = b;
  }
  return { scheduler: best!, plain: bestPlain!, ratio: best!.seconds / bestPlain!.seconds };
}
