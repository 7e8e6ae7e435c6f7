/**
 * Runs a suite's cases, on several cores when asked: the calling thread and `threads - 1` worker threads
 * (worker.mjs) take the next case from one shared counter (Atomics on a SharedArrayBuffer) until none is left, so
 * a thread busy with a long case never holds up the others, and the calling thread, which has the code loaded
 * already, works too (with one thread, it runs the cases one after the other in `order`).
 * A case is independent of every other (its own scheduler, cluster and seeded random streams), so it gives the
 * same rows on any thread; the caller gets the outputs in job order, as a serial run gives them.
 *
 * Cases are taken in `order` (largest first keeps the last case from running alone at the end).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { BackendKind } from '../types.js';
import type { ScenarioCase } from '../scenario/load.js';
import { InputError } from '../errors.js';
import { runCase, type CaseOptions, type CaseOutput } from './case.js';

export interface CaseJob {
  c: ScenarioCase;
  b: BackendKind;
}

type CaseSettings = Pick<CaseOptions, 'bench' | 'calibration'>;

interface WorkerInit {
  jobs: CaseJob[];
  order: number[];
  /** Int32Array[1] over a SharedArrayBuffer: the position in `order` of the next case to take. */
  next: SharedArrayBuffer;
  settings: CaseSettings;
  /** This module's URL, for worker.mjs to load: the compiled .js of the CLI's build, or the .ts under tsx. */
  entry: string;
}

/** What a worker thread posts: a case it starts, a case's output, a case's error, or that no case is left. */
type WorkerMessage =
  | { type: 'start'; index: number }
  | { type: 'done'; index: number; out: CaseOutput }
  | { type: 'error'; index: number; error: { name: string; message: string; stack?: string; where?: string; reason?: string } }
  | { type: 'idle' };

/** Hooks of the caller: as a case starts and ends (on whichever thread it ran). */
export interface ParallelHooks {
  onStart(index: number): void;
  onEnd(index: number, out: CaseOutput, seconds: number): void;
}

function takeNext(next: Int32Array, order: readonly number[]): number | undefined {
  const k = Atomics.add(next, 0, 1);
  return k < order.length ? order[k] : undefined;
}

/** An error as it crossed from a worker: an InputError stays one (exit code 2), anything else keeps its stack. */
function revive(e: Extract<WorkerMessage, { type: 'error' }>['error']): Error {
  if (e.name === 'InputError' && e.where !== undefined && e.reason !== undefined) return new InputError(e.where, e.reason);
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

/**
 * Runs every job on `threads` threads (this one included); resolves with the outputs in job order, or rejects with
 * the error of the lowest-numbered job that failed (no case is started after a failure).
 */
export async function runCases(
  jobs: readonly CaseJob[],
  order: readonly number[],
  threads: number,
  settings: CaseSettings,
  hooks: ParallelHooks,
): Promise<CaseOutput[]> {
  const shared = new SharedArrayBuffer(4);
  const next = new Int32Array(shared);
  const outs: Array<CaseOutput | undefined> = new Array(jobs.length);
  // errors by job (a worker thread's own failure, not a case's, under -1)
  const errors = new Map<number, Error>();
  const started = new Map<number, number>();
  const fail = (index: number, e: Error): void => {
    errors.set(index, e);
    Atomics.store(next, 0, order.length); // no case starts after a failure
  };

  const init: WorkerInit = { jobs: [...jobs], order: [...order], next: shared, settings, entry: import.meta.url };
  const workers: Worker[] = [];
  const finished: Array<Promise<void>> = [];
  for (let t = 1; t < threads; t++) {
    // no inherited execArgv: worker.mjs loads this module, through the TypeScript loader when it is the .ts itself
    const w = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: init, execArgv: [] });
    workers.push(w);
    finished.push(
      new Promise<void>((resolve) => {
        let idle = false;
        w.on('message', (m: WorkerMessage) => {
          if (m.type === 'start') {
            started.set(m.index, Date.now());
            hooks.onStart(m.index);
          } else if (m.type === 'done') {
            outs[m.index] = m.out;
            try {
              hooks.onEnd(m.index, m.out, (Date.now() - (started.get(m.index) ?? Date.now())) / 1000);
            } catch (e) {
              fail(m.index, e as Error);
            }
          } else if (m.type === 'error') fail(m.index, revive(m.error));
          else idle = true;
        });
        w.on('error', (e) => fail(-1, e));
        w.on('exit', (code) => {
          if (!idle && code !== 0 && errors.size === 0) fail(-1, new Error(`a worker thread of the suite exited with code ${code}`));
          resolve();
        });
      }),
    );
  }
  try {
    for (let i = takeNext(next, order); i !== undefined; i = takeNext(next, order)) {
      // a turn of the event loop between cases: a SIGINT/SIGTERM is handled here, workers' messages are read
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (errors.size > 0) break;
      const t0 = Date.now();
      hooks.onStart(i);
      try {
        const out = await runCase(jobs[i]!.c, jobs[i]!.b, settings);
        outs[i] = out;
        hooks.onEnd(i, out, (Date.now() - t0) / 1000);
      } catch (e) {
        fail(i, e as Error);
      }
    }
    await Promise.all(finished);
  } finally {
    for (const w of workers) void w.terminate();
  }
  if (errors.size > 0) {
    const cases = [...errors.keys()].filter((k) => k >= 0);
    throw errors.get(cases.length > 0 ? Math.min(...cases) : -1)!;
  }
  return outs.map((o, i) => {
    if (o === undefined) throw new Error(`case ${i} of the suite was not run`);
    return o;
  });
}

/** The worker thread's side (called by worker.mjs): takes cases until none is left. */
export async function serveCases(): Promise<void> {
  if (isMainThread || parentPort === null) throw new Error('serveCases runs in a worker thread');
  const port = parentPort;
  const { jobs, order, next: shared, settings } = workerData as WorkerInit;
  const next = new Int32Array(shared);
  for (let i = takeNext(next, order); i !== undefined; i = takeNext(next, order)) {
    port.postMessage({ type: 'start', index: i } satisfies WorkerMessage);
    try {
      const out = await runCase(jobs[i]!.c, jobs[i]!.b, settings);
      port.postMessage({ type: 'done', index: i, out } satisfies WorkerMessage);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const ie = err instanceof InputError ? { where: err.where, reason: err.reason } : {};
      port.postMessage({
        type: 'error',
        index: i,
        error: { name: err.name, message: err.message, stack: err.stack, ...ie },
      } satisfies WorkerMessage);
      return;
    }
  }
  port.postMessage({ type: 'idle' } satisfies WorkerMessage);
}
