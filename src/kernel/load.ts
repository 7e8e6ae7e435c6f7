/**
 * Loading a plan into a namespace and timing it. Every loop is bounded in count and in time: repetitions stop at
 * `reps` or when `budgetSeconds` has passed (at least `minReps` each), and every process has a timeout.
 *
 * A timed load's time is the CPU seconds (user + system) its tool processes used (exec.ts `mustRunTimedIn`): the
 * time the load takes with a core to itself. Their wall-clock time is kept too, but on a shared machine it follows
 * the machine's load (2-4x the CPU time at a load of 8 on 2 cores here), which no cost model can predict.
 */
import { mustRunIn, mustRunTimedIn } from './exec.js';
import type { DataPlanePlan, LoadStep } from './plan.js';

export interface LoadTimings {
  /** CPU seconds of each timed full load (all its steps). */
  full: number[];
  /** Wall-clock seconds of the same loads. */
  fullWall: number[];
  /** CPU seconds of each timed partial sync (and its wall-clock seconds), with the index of the partial it applied. */
  partial: Array<{ seconds: number; wall: number; which: number }>;
}

export interface LoadOptions {
  reps: number;
  minReps: number;
  /** Stop repeating once this much time went into this plan's loads. */
  budgetSeconds: number;
  /** Called before each step group (progress). */
  onStep?: (what: string) => void;
}

function runSteps(ns: string, steps: readonly LoadStep[]): number {
  let s = 0;
  for (const st of steps) s += mustRunIn(ns, [st.tool, ...st.args], st.stdin).seconds;
  return s;
}

/** Runs the steps, timed: CPU and wall-clock seconds, summed over the steps. */
function timeSteps(ns: string, steps: readonly LoadStep[]): { cpu: number; wall: number } {
  let cpu = 0;
  let wall = 0;
  for (const st of steps) {
    const r = mustRunTimedIn(ns, [st.tool, ...st.args], st.stdin);
    cpu += r.cpuSeconds!;
    wall += r.seconds;
  }
  return { cpu, wall };
}

/** Runs the plan's one-time setup in `ns`. */
export function setUp(ns: string, plan: DataPlanePlan): void {
  runSteps(ns, plan.setup);
}

/** Empties the data plane and prepares it (untimed), then loads the full ruleset (timed). */
export function loadFull(ns: string, plan: DataPlanePlan): { cpu: number; wall: number } {
  runSteps(ns, plan.reset);
  runSteps(ns, plan.prepare);
  return timeSteps(ns, plan.full);
}

/** Times full loads, then partial syncs (which leave the full ruleset in place, changed then changed back). */
export function timeLoads(ns: string, plan: DataPlanePlan, o: LoadOptions): LoadTimings {
  const out: LoadTimings = { full: [], fullWall: [], partial: [] };
  const t0 = Date.now();
  const over = (n: number): boolean => n >= o.reps || (n >= o.minReps && (Date.now() - t0) / 1000 > o.budgetSeconds);
  while (!over(out.full.length)) {
    o.onStep?.(`full load ${out.full.length + 1}`);
    const t = loadFull(ns, plan);
    out.full.push(t.cpu);
    out.fullWall.push(t.wall);
  }
  if (plan.partials.length > 0) {
    const t1 = Date.now();
    // partial syncs are short: four per full load (each input of the cycle twice), within the same time budget
    const overP = (n: number): boolean => n >= o.reps * 4 || (n >= o.minReps * 2 && (Date.now() - t1) / 1000 > o.budgetSeconds);
    let i = 0;
    while (!overP(out.partial.length)) {
      const which = i % plan.partials.length;
      o.onStep?.(`partial sync ${out.partial.length + 1}`);
      const t = timeSteps(ns, plan.partials[which]!.steps);
      out.partial.push({ seconds: t.cpu, wall: t.wall, which });
      i++;
    }
    // leave the initial ruleset in place (a cycle ends where it started)
    while (i % plan.partials.length !== 0) runSteps(ns, plan.partials[i++ % plan.partials.length]!.steps);
  }
  return out;
}
