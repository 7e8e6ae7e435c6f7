/**
 * Loading a plan into a namespace and timing it. Every loop is bounded in count and in time: repetitions stop at
 * `reps` or when `budgetSeconds` has passed (at least `minReps` each), and every process has a timeout. With a
 * `tolerance`, they also stop (after `minReps`) once the confidence interval of the median is that narrow.
 *
 * A group of repeated loads runs in one process inside the namespace (loader.py): it starts each tool and takes
 * the CPU seconds (user + system) the tool used from getrusage(2): the time the load takes with a core to itself,
 * without the cost of entering the namespace or of an interpreter per load. Their wall-clock time is kept too, but
 * on a shared machine it follows the machine's load (2-4x the CPU time at a load of 8 on 2 cores here), which no
 * cost model can predict.
 */
import { fileURLToPath } from 'node:url';
import { firstLines, inNamespace, mustRunIn, run } from './exec.js';
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
  /**
   * Stop repeating (after `minReps`, at least 3 and TOLERANCE_AFTER seconds) once the distribution-free confidence
   * interval of the median CPU seconds (CONFIDENCE) is narrower than this fraction of the median. Undefined: `reps`
   * repetitions (within the budget).
   */
  tolerance?: number;
  /** Called before each step group (progress). */
  onStep?: (what: string) => void;
  /** Runs each group of loads (full loads, partial syncs) as a named part (measure.ts times them). */
  time?: <T>(part: string, fn: () => T) => T;
}

/** The coverage of the median's confidence interval the tolerance applies to. */
export const CONFIDENCE = 0.8;
/**
 * The early stop applies once a group has run this many seconds: cheap repetitions (small tables) all run, as
 * their cost is small and a burst of other work can spoil three in a row.
 */
export const TOLERANCE_AFTER = 1;

const LOADER = fileURLToPath(new URL('./loader.py', import.meta.url));

interface LoaderGroup {
  untimed?: readonly LoadStep[];
  cycle: ReadonlyArray<readonly LoadStep[]>;
  finish?: boolean;
  min: number;
  max: number;
  budget: number;
  tolerance?: number;
}

/** Runs a group of repeated loads in `ns` (loader.py); CPU and wall-clock seconds of each repetition. */
function runGroup(ns: string, g: LoaderGroup): { cpu: number[]; wall: number[]; which: number[] } {
  const steps: LoadStep[] = [];
  const index = (st: LoadStep): number => {
    let i = steps.indexOf(st);
    if (i < 0) i = steps.push(st) - 1;
    return i;
  };
  const input = {
    untimed: (g.untimed ?? []).map(index),
    cycle: g.cycle.map((c) => c.map(index)),
    finish: g.finish === true,
    min: g.min,
    max: g.max,
    budget: g.budget,
    tolerance: g.tolerance ?? null,
    confidence: CONFIDENCE,
    toleranceAfter: TOLERANCE_AFTER,
    steps: steps.map((st) => ({ argv: [st.tool, ...st.args], stdin: st.stdin ?? '' })),
  };
  // no repetition starts past the budget; the last may take as long as the budget again, then up to 10 minutes
  const r = run(inNamespace(ns, ['python3', '-S', '-E', LOADER]), JSON.stringify(input), (2 * g.budget + 600) * 1000);
  if (r.code !== 0) throw new Error(`loading in ${ns} failed (exit ${r.code}): ${firstLines(r.stderr)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { cpu: number[]; wall: number[]; which: number[] };
}

function runSteps(ns: string, steps: readonly LoadStep[]): void {
  for (const st of steps) mustRunIn(ns, [st.tool, ...st.args], st.stdin);
}

/** Runs the plan's one-time setup in `ns`. */
export function setUp(ns: string, plan: DataPlanePlan): void {
  runSteps(ns, plan.setup);
}

/** Empties the data plane and prepares it (untimed), then loads the full ruleset (timed). */
export function loadFull(ns: string, plan: DataPlanePlan): { cpu: number; wall: number } {
  const r = runGroup(ns, { untimed: [...plan.reset, ...plan.prepare], cycle: [plan.full], min: 1, max: 1, budget: 0 });
  return { cpu: r.cpu[0]!, wall: r.wall[0]! };
}

/**
 * Times full loads (each into an emptied data plane), then partial syncs against the last one: four per full load
 * at most (each input of the cycle twice), at least two per full load; the cycle is completed untimed, so the full
 * ruleset is in place afterwards.
 */
export function timeLoads(ns: string, plan: DataPlanePlan, o: LoadOptions): LoadTimings {
  const time = o.time ?? (<T>(_part: string, fn: () => T): T => fn());
  const limits = { budget: o.budgetSeconds, tolerance: o.tolerance };
  o.onStep?.('full loads');
  const f = time('full loads', () =>
    runGroup(ns, { untimed: [...plan.reset, ...plan.prepare], cycle: [plan.full], min: o.minReps, max: o.reps, ...limits }),
  );
  const out: LoadTimings = { full: f.cpu, fullWall: f.wall, partial: [] };
  if (plan.partials.length > 0) {
    o.onStep?.('partial syncs');
    const cycle = plan.partials.map((p) => p.steps);
    const p = time('partial syncs', () => runGroup(ns, { cycle, finish: true, min: o.minReps * 2, max: o.reps * 4, ...limits }));
    out.partial = p.cpu.map((seconds, i) => ({ seconds, wall: p.wall[i]!, which: p.which[i]! }));
  }
  return out;
}
