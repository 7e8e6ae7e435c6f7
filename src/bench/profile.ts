/**
 * The harness's own cost: runs one case and records, per phase (build the cluster, initial sync, measured phase,
 * collect rows, wall-clock micro-benchmarks), the wall time, the CPU time of the process and the V8 heap in use
 * when the phase ends, plus the process's peak RSS. `kpbench profile` prints it; scripts/bench-harness.ts sweeps
 * it over cluster sizes to give the cost exponent per phase.
 *
 * Heap figures are `process.memoryUsage().heapUsed` at phase ends, with no forced collection (a forced one
 * would add seconds on a multi-GB heap and change what is measured); the peak RSS is the kernel's maxrss.
 */
import { runCase, CASE_PHASES, type CasePhase } from './case.js';
import type { ScenarioCase } from '../scenario/load.js';
import type { BackendKind } from '../types.js';

export interface PhaseCost {
  phase: Exclude<CasePhase, 'done'>;
  /** wall seconds */
  seconds: number;
  /** CPU seconds of this process (user + system): less sensitive to other load than wall time */
  cpuSeconds: number;
  /** V8 heap in use when the phase ended, bytes */
  heapUsedBytes: number;
}

export interface CaseProfile {
  scenario: string;
  backend: BackendKind;
  services: number;
  phases: PhaseCost[];
  totalSeconds: number;
  totalCpuSeconds: number;
  /** the process's peak resident set size so far, bytes */
  peakRssBytes: number;
  /** rows the case produced */
  rows: number;
}

/** Runs one case and measures each phase. */
export async function profileCase(c: ScenarioCase, backend: BackendKind, opts: { bench: boolean }): Promise<CaseProfile> {
  const phases: PhaseCost[] = [];
  let current: CasePhase | null = null;
  let wall0 = 0n;
  let cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const close = (): void => {
    if (current === null || current === 'done') return;
    const cpu = process.cpuUsage(cpu0);
    phases.push({
      phase: current,
      seconds: Number(process.hrtime.bigint() - wall0) / 1e9,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      heapUsedBytes: process.memoryUsage().heapUsed,
    });
  };
  const out = await runCase(c, backend, {
    bench: opts.bench,
    onPhase: (p) => {
      close();
      current = p;
      wall0 = process.hrtime.bigint();
      cpu0 = process.cpuUsage();
    },
  });
  const cpu = process.cpuUsage(cpuStart);
  return {
    scenario: c.id,
    backend,
    services: c.scenario.cluster.services,
    phases,
    totalSeconds: Number(process.hrtime.bigint() - start) / 1e9,
    totalCpuSeconds: (cpu.user + cpu.system) / 1e6,
    // resourceUsage().maxRSS is in kilobytes
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rows: out.rows.length,
  };
}

/** Phases in case order, for tables. */
export const PROFILE_PHASES = CASE_PHASES.filter((p): p is Exclude<CasePhase, 'done'> => p !== 'done');

function mib(b: number): string {
  return `${(b / 2 ** 20).toFixed(0)} MiB`;
}

/** A plain-text table of one case's profile. */
export function formatProfile(p: CaseProfile): string {
  const lines = [
    `${p.scenario} ${p.backend} ${p.services} services: ${p.totalSeconds.toFixed(2)} s wall, ${p.totalCpuSeconds.toFixed(2)} s CPU, peak RSS ${mib(p.peakRssBytes)}, ${p.rows} rows`,
  ];
  lines.push(`${'phase'.padEnd(14)}${'wall s'.padStart(10)}${'CPU s'.padStart(10)}${'heap at end'.padStart(14)}`);
  for (const ph of p.phases) {
    lines.push(
      `${ph.phase.padEnd(14)}${ph.seconds.toFixed(3).padStart(10)}${ph.cpuSeconds.toFixed(3).padStart(10)}${mib(ph.heapUsedBytes).padStart(14)}`,
    );
  }
  return lines.join('\n');
}
