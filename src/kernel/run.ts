/**
 * `kpbench kernel`: every case of the scenarios' sweeps, each data plane in the real kernel, written as a run
 * directory (metrics.csv, scaling.csv, samples.json, meta.json, summary.md, staged and installed in one step as
 * `kpbench run` does). Prerequisites are checked first; namespaces are always removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { SingleBar, Presets } from 'cli-progress';
import { resolveScenarios } from '../bench/run.js';
import { loadScenario, type ScenarioCase } from '../scenario/load.js';
import { validateCase } from '../scenario/validate.js';
import { computeScaling } from '../metrics/scaling.js';
import type { MetricRow, SampleSet } from '../types.js';
import { installRunDir, writeFileAtomic, writeMetricsCsv, writeSamplesJson, writeScalingCsv, readMetricsCsv } from '../report/csvio.js';
import { buildMeta } from '../report/export.js';
import { InputError } from '../errors.js';
import { buildCaseCluster } from './cluster.js';
import { kernelVariants, type KernelVariant } from './dataplanes.js';
import { backendDefinition } from '../backends/registry.js';
import { cpuSecondsSoFar, hasTool, run } from './exec.js';
import { formatParts, measurePlan, type Measurement } from './measure.js';
import { Namespaces, installSignalHandlers, sweepStaleNamespaces } from './netns.js';
import type { DataPlanePlan } from './plan.js';
import { measurementRows, pooledSlopeRows } from './rows.js';
import { BASE_TOOLS, checkPrerequisites, toolVersions } from './tools.js';
import { variantModel, variantOptions, type Calibration } from './model.js';
import { kernelSummary } from './summary.js';

/** Seconds of repetitions per case before they stop at their minimum (timeLoads). */
const QUICK_BUDGET = 8;
const BUDGET = 120;
/**
 * Repetitions of a load stop early once the 80% confidence interval of their median CPU seconds is narrower than
 * this fraction of it (±5%: a quarter of the 20% the calibration aims at).
 */
const TOLERANCE = 0.1;

/** The variants (backend column) kernel mode can run in this build. */
export function flavours(): string[] {
  return kernelVariants().map((v) => v.name);
}

export interface KernelOptions {
  scenarios?: string[];
  quick: boolean;
  outDir: string;
  /** Only these variants (iptables-legacy, iptables-nft, nftables, ipvs). */
  flavours?: string[];
  seed?: number;
  /** Repetitions of each full load at most (default 5 with quick, else 3; at least 2 when a case's time budget runs out, 3 or more when they stop once their median is known within TOLERANCE); partial syncs 4× as many. */
  reps?: number;
  /** Connections per probed service (default 300 in 10 rounds with quick, else 3,000 in 30). */
  samples?: number;
  calibration?: Calibration;
  /** Run each scenario at these service counts instead of its sweep's (e.g. sizes a calibration did not see). */
  services?: number[];
  print?: boolean;
}

/** The scenario's cases at other service counts: one per distinct point of its other sweep fields, per size. */
export function atSizes(cases: readonly ScenarioCase[], sizes: readonly number[]): ScenarioCase[] {
  const seen = new Set<string>();
  const out: ScenarioCase[] = [];
  for (const c of cases) {
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    for (const s of sizes) {
      const sc: ScenarioCase = {
        ...c,
        scenario: { ...c.scenario, cluster: { ...c.scenario.cluster, services: s } },
        point: { ...c.point, 'cluster.services': s },
      };
      validateCase(c.file, sc.scenario, sc.point);
      out.push(sc);
    }
  }
  return out;
}

export interface KernelResult {
  rows: MetricRow[];
  outDir: string;
  notes: string[];
}

/** Each optional kernel feature the selected data planes ask about: its command run in a scratch namespace. */
function probeFeatures(nss: Namespaces, commands: ReadonlyMap<string, readonly string[]>): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  if (commands.size === 0) return out;
  const ns = nss.create();
  try {
    for (const [name, cmd] of commands) out[name] = hasTool(cmd[0]!) && run(['nsenter', `--net=/run/netns/${ns}`, '--', ...cmd]).code === 0;
  } finally {
    nss.remove(ns);
  }
  return out;
}

/** Variants of a scenario's backends (a backend may run as several, e.g. both iptables flavours). */
function variantsOf(backends: readonly string[]): KernelVariant[] {
  return kernelVariants().filter((v) => backends.includes(v.kind));
}

/**
 * Rough seconds a case takes, for the estimate printed before a run: the CPU seconds of a full load and of a
 * partial sync as `kpbench calibrate` measured them on this project's 2-core machine (quick runs, 100-3,000
 * services: the squares are nftables' set scans and iptables-nft's full load), repeated as timeLoads repeats them
 * within its time budget (at most: they stop earlier once their median is known within the tolerance), plus 2 s
 * for the namespaces, the probes and their pauses (1.6 s at 100 services on this machine at load 16). A loaded
 * machine takes longer (2-4x at load 8-16).
 */
const LOAD_SECONDS: Record<string, (services: number, eps: number) => [full: number, partial: number]> = {
  'iptables-legacy': (s, eps) => {
    const rules = s * (3 + 3 * eps);
    return [0.007 + 3.8e-6 * rules + 3.5e-5 * (rules / 1000) ** 2, 0.02 + 4.5e-6 * rules];
  },
  'iptables-nft': (s, eps) => {
    const rules = s * (3 + 3 * eps);
    return [0.005 + 17e-6 * rules + 8.8e-5 * (rules / 1000) ** 2, 0.01 + 2.2e-6 * rules];
  },
  nftables: (s, eps) => {
    const objects = s * (4 + 3 * eps);
    return [0.03 + 11.4e-6 * (2 + 2 * eps) * s + 1.13e-6 * ((s * s) / 2), 0.03 + 4.4e-6 * objects + 4.5e-11 * objects * objects];
  },
};

function estimateSeconds(services: number, eps: number, flavour: string, reps: number, budget: number): number {
  const [full, partial] = LOAD_SECONDS[flavour]?.(services, eps) ?? [2e-6 * services * (3 + 3 * eps), 0.01];
  const repeated = (each: number, n: number, min: number): number => Math.max(min * each, Math.min(n * each, budget + each));
  return 2 + repeated(full, reps, 2) + repeated(partial, 4 * reps, 4);
}

export async function runKernel(opts: KernelOptions): Promise<KernelResult> {
  const files = resolveScenarios(opts.scenarios, opts.quick);
  const loaded = files.map((f) => loadScenario(f, { quick: opts.quick, seed: opts.seed }));
  const swept: ScenarioCase[] = loaded.flatMap((l) => l.cases);
  const cases = opts.services === undefined ? swept : atSizes(swept, opts.services);
  const wanted = (v: KernelVariant): boolean => opts.flavours === undefined || opts.flavours.includes(v.name);
  const notes: string[] = [];
  const say = (line: string): void => {
    notes.push(line);
    process.stderr.write(`kpbench kernel: ${line}\n`);
  };
  const known = flavours();
  for (const f of opts.flavours ?? [])
    if (!known.includes(f)) say(`${f}: no such data plane in this build (known: ${known.join(', ')}): skipped`);
  const jobs = cases.flatMap((c) =>
    variantsOf(c.scenario.backends)
      .filter(wanted)
      .map((v) => ({ c, f: v })),
  );
  if (jobs.length === 0) throw new InputError('--backend', 'no data plane of the scenarios selected');

  const tools: Record<string, string> = { ...BASE_TOOLS };
  for (const j of jobs) Object.assign(tools, j.f.tools);
  checkPrerequisites(tools);

  const nss = new Namespaces();
  const children = new Set<ChildProcess>();
  const uninstall = installSignalHandlers(nss, () => {
    for (const c of children) c.kill('SIGTERM');
  });
  const rows: MetricRow[] = [];
  const samples: SampleSet[] = [];
  const reps = opts.reps ?? (opts.quick ? 5 : 3);
  const perProbe = opts.samples ?? (opts.quick ? 300 : 3000);
  try {
    const stale = sweepStaleNamespaces();
    if (stale.length > 0) say(`removed ${stale.length} namespace(s) left by a killed run: ${stale.join(' ')}`);
    const kinds = [...new Set(jobs.map((j) => j.f.kind))];
    const featureCommands = new Map<string, readonly string[]>();
    for (const k of kinds) for (const [n, cmd] of Object.entries(backendDefinition(k).kernel?.features ?? {})) featureCommands.set(n, cmd);
    const features = probeFeatures(nss, featureCommands);
    for (const k of kinds) for (const line of backendDefinition(k).kernel?.featureNotes?.(features) ?? []) say(line);
    const expected = jobs.reduce(
      (s, j) =>
        s +
        estimateSeconds(
          j.c.scenario.cluster.services,
          Number(j.c.scenario.cluster.endpointsPerService) || 10,
          j.f.name,
          reps,
          opts.quick ? QUICK_BUDGET : BUDGET,
        ),
      0,
    );
    process.stderr.write(
      `kpbench kernel: ${jobs.length} data-plane cases, expected about ${expected < 90 ? `${Math.ceil(expected)} s` : `${Math.ceil(expected / 60)} min`} on a 2-core machine\n`,
    );

    const tty = process.stderr.isTTY === true && process.env.CI !== 'true';
    const bar = tty
      ? new SingleBar({ format: 'kernel {bar} {value}/{total} {job} | {step}', hideCursor: true }, Presets.shades_classic)
      : null;
    bar?.start(jobs.length, 0, { job: '', step: '' });
    // one cluster build per case, shared by its flavours
    const byCase = new Map<ScenarioCase, KernelVariant[]>();
    for (const j of jobs) byCase.set(j.c, [...(byCase.get(j.c) ?? []), j.f]);
    let done = 0;
    for (const [c, flavours] of byCase) {
      const label = `${c.id} ${c.scenario.cluster.services} services`;
      bar?.update(done, { job: label, step: 'building the cluster' });
      const cc = buildCaseCluster(c);
      const proxy = c.scenario.proxy as Record<string, unknown>;
      for (const v of flavours) {
        bar?.update(done, { job: `${label} ${v.name}`, step: 'rendering' });
        const scenarioOptions = proxy[v.kind] ?? {};
        const def = backendDefinition(v.kind);
        const w0 = Date.now();
        const c0 = cpuSecondsSoFar();
        const plan: DataPlanePlan = { ...def.kernel!.plan(cc, variantOptions(v, scenarioOptions), features), flavour: v.name, variant: v };
        const planned = { part: 'plan', wall: (Date.now() - w0) / 1000, cpu: cpuSecondsSoFar() - c0 };
        const budget = opts.quick ? QUICK_BUDGET : BUDGET;
        const m: Measurement = await measurePlan(nss, plan, {
          reps,
          minReps: 2,
          budgetSeconds: budget,
          tolerance: TOLERANCE,
          samples: perProbe,
          rounds: opts.quick ? 10 : 30,
          probeBudgetMs: opts.quick ? 15_000 : 60_000,
          localCIDR: c.scenario.proxy.clusterCIDR,
          children,
          onStep: (step) => bar?.update(done, { job: `${label} ${plan.flavour}`, step }),
        });
        const key = { scenario: c.id, backend: plan.flavour, services: cc.services, endpoints_per_service: cc.endpointsPerService };
        const model = plan.calibrates === false ? null : variantModel(v, opts.calibration?.coefficients[v.name], scenarioOptions);
        rows.push(...measurementRows(key, m, model));
        samples.push({ ...key, metric: 'kernel_sync_time', unit: 's', samples: m.loads.full });
        if (m.loads.partial.length > 0)
          samples.push({ ...key, metric: 'kernel_partial_sync_time', unit: 's', samples: m.loads.partial.map((p) => p.seconds) });
        for (const p of m.positions)
          samples.push({ ...key, metric: `kernel_first_packet_time_${p.position}`, unit: 's', samples: p.connect });
        if (m.baseline.length > 0) samples.push({ ...key, metric: 'kernel_connect_time_norules', unit: 's', samples: m.baseline });
        const failed = m.positions.reduce((a, p) => a + p.failed, 0);
        if (failed > 0) say(`${label} ${plan.flavour}: ${failed} connection(s) got no answer`);
        done++;
        if (bar === null)
          process.stderr.write(
            `kpbench kernel: [${done}/${jobs.length}] ${label} ${plan.flavour} (${((Date.now() - w0) / 1000).toFixed(1)} s; wall/CPU s: ${formatParts([planned, ...m.parts])})\n`,
          );
      }
    }
    bar?.update(done, { job: 'done', step: '' });
    bar?.stop();
  } finally {
    nss.removeAll();
    uninstall();
  }

  rows.push(...pooledSlopeRows(rows));
  const scaling = computeScaling(rows);
  const meta = {
    ...buildMeta({
      seed: opts.seed ?? loaded[0]?.scenario.seed ?? 1,
      quick: opts.quick,
      scenarios: files.map((f) => path.relative(process.cwd(), f)),
    }),
    mode: 'kernel',
    kernel: os.release(),
    tools: toolVersions(),
    calibration: opts.calibration === undefined ? null : opts.calibration.date,
    notes,
  };
  const summary = kernelSummary(rows, scaling, {
    date: meta.date,
    quick: opts.quick,
    notes,
    machine: `${meta.cpu} (${meta.cpus} cores), Linux ${meta.kernel}`,
    model:
      opts.calibration === undefined
        ? 'the committed coefficients (calibrate with `kpbench calibrate`)'
        : `calibration of ${opts.calibration.date} (${opts.calibration.machine.cpu}, Linux ${opts.calibration.kernel}, from ${opts.calibration.source})`,
  });
  const staging = `${opts.outDir.replace(/[\\/]+$/, '')}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    writeMetricsCsv(path.join(staging, 'metrics.csv'), rows);
    writeScalingCsv(path.join(staging, 'scaling.csv'), scaling);
    writeSamplesJson(path.join(staging, 'samples.json'), samples);
    writeFileAtomic(path.join(staging, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    writeFileAtomic(path.join(staging, 'summary.md'), summary);
    installRunDir(staging, opts.outDir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  if (opts.print !== false) process.stdout.write(`${summary}\nRun written to ${opts.outDir}/\n`);
  return { rows, outDir: opts.outDir, notes };
}

/** Rows of a kernel run directory. */
export function readKernelRows(dir: string): MetricRow[] {
  const file = path.join(dir, 'metrics.csv');
  if (!fs.existsSync(file)) throw new InputError(file, 'no such file (run `kpbench kernel --out DIR` first)');
  return readMetricsCsv(file);
}
