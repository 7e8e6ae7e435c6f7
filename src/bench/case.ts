/**
 * One case for one backend, in four steps (src/bench/case/): build the cluster and kube-proxies and let the
 * initial sync finish; schedule churn and load through the measured phase; run it; collect counted, modelled
 * and (when asked) measured metrics.
 */
import type { BackendKind } from '../types.js';
import type { ScenarioCase } from '../scenario/load.js';
import { buildCase, type CaseOptions } from './case/build.js';
import { startCaseChurn } from './case/churn.js';
import { loadTargets, startLoad } from './case/load.js';
import { collectCase, type CaseOutput } from './case/collect.js';

export type { CaseOptions, CasePhase } from './case/build.js';
export { CASE_PHASES } from './case/build.js';
export type { CaseOutput } from './case/collect.js';

export async function runCase(c: ScenarioCase, kind: BackendKind, opts: CaseOptions): Promise<CaseOutput> {
  const w = buildCase(c, kind, opts);
  w.measuring = true;
  opts.onPhase?.('measured');
  // the order matters: seeded streams are named, but events scheduled at the same time run in scheduling order
  const targets = loadTargets(w);
  const counters = startCaseChurn(w);
  startLoad(w, targets);
  w.sched.runUntil(w.end);
  w.measuring = false;
  opts.onPhase?.('collect');
  const out = await collectCase(w, counters, targets, opts);
  opts.onPhase?.('done');
  return out;
}
