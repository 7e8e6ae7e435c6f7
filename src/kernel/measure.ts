/**
 * One data plane of one case in the real kernel: a node namespace and a client namespace (both removed
 * afterwards, whatever happens), the first-packet baseline with no rules, timed full loads and partial syncs, then
 * first packets through the loaded ruleset. Returns the raw samples; rows.ts turns them into metric rows.
 */
import type { ChildProcess } from 'node:child_process';
import * as ss from 'simple-statistics';
import type { Packet } from '../types.js';
import type { Namespaces } from './netns.js';
import { CLIENT_IP } from './helpers.js';
import { cpuSecondsSoFar } from './exec.js';
import { setUp, timeLoads, type LoadTimings } from './load.js';
import type { Counts, DataPlanePlan } from './plan.js';
import { runProber, startResponder, stopAndWait, stopProcess, wire, type ProberInput, type ProbeResult } from './probe.js';

export interface MeasureOptions {
  reps: number;
  minReps: number;
  budgetSeconds: number;
  /** Repetitions stop early once the median's confidence interval is this narrow (load.ts LoadOptions). */
  tolerance?: number;
  /** Connections per probed service, in this many rounds. */
  samples: number;
  rounds: number;
  probeBudgetMs: number;
  /** The cluster CIDR (made local in the node namespace: endpoints answer there). */
  localCIDR: string;
  onStep?: (what: string) => void;
  /** Child processes in flight (so a signal handler can stop them). */
  children?: Set<ChildProcess>;
}

export interface PositionSamples {
  position: string;
  index: number;
  /** connect() seconds through the loaded rules (SYN out, SYN-ACK back). */
  connect: number[];
  /** How many of `connect` each round took, in order. */
  rounds: number[];
  failed: number;
  /** The backend's counted work for this packet. */
  counts: Counts;
}

export interface Measurement {
  plan: DataPlanePlan;
  loads: LoadTimings;
  /** connect() seconds straight to an endpoint with no rules loaded. */
  baseline: number[];
  positions: PositionSamples[];
  /** Wall-clock and CPU seconds (kpbench and the tools it waited for) of each part of the measurement, in order. */
  parts: PartTimes;
}

export type PartTimes = Array<{ part: string; wall: number; cpu: number }>;

/** Records the wall-clock and CPU seconds of each part of a measurement (the same part name adds up). */
export function partTimer(): {
  parts: PartTimes;
  time<T>(part: string, fn: () => T): T;
  timeAsync<T>(part: string, fn: () => Promise<T>): Promise<T>;
} {
  const parts: PartTimes = [];
  const add = (part: string, w0: number, c0: number): void => {
    const wall = (Date.now() - w0) / 1000;
    const cpu = cpuSecondsSoFar() - c0;
    const p = parts.find((x) => x.part === part);
    if (p === undefined) parts.push({ part, wall, cpu });
    else {
      p.wall += wall;
      p.cpu += cpu;
    }
  };
  return {
    parts,
    time(part, fn) {
      const w0 = Date.now();
      const c0 = cpuSecondsSoFar();
      try {
        return fn();
      } finally {
        add(part, w0, c0);
      }
    },
    async timeAsync(part, fn) {
      const w0 = Date.now();
      const c0 = cpuSecondsSoFar();
      try {
        return await fn();
      } finally {
        add(part, w0, c0);
      }
    },
  };
}

/** `netns 0.3/0.1 s, ...`: each part's wall-clock / CPU seconds. */
export function formatParts(parts: PartTimes): string {
  return parts.map((p) => `${p.part} ${p.wall.toFixed(1)}/${p.cpu.toFixed(1)}`).join(', ');
}

const FIRST_PORT = 20000;
/**
 * Warm-up connections per target, then the samples in rounds 50 ms apart (prober.py; rounds from MeasureOptions;
 * the first packets with no rules loaded, which only the kernel_connect_time_norules row reports, in half as many).
 */
const WARMUP = 20;
const PAUSE_MS = 50;
/** A responder older than this is replaced before a probe (it ends itself after 10 minutes: agent.mjs). */
const RESPONDER_FRESH_MS = 5 * 60_000;

export async function measurePlan(nss: Namespaces, plan: DataPlanePlan, o: MeasureOptions): Promise<Measurement> {
  const t = partTimer();
  const node = t.time('namespaces', () => nss.create());
  let client: string | null = null;
  let responder = null as ChildProcess | null;
  try {
    t.time('setup', () => setUp(node, plan));
    const probing = plan.probes.length > 0;
    let baseline: number[] = [];
    const positions: PositionSamples[] = [];
    const ports = [...new Set(plan.probes.map((p) => p.endpoints[0]!.port))];
    // one responder for both probes, replaced when it has ended or is older than RESPONDER_FRESH_MS (it bounds its
    // own life to 10 minutes, which a large case's loads can outlast on a loaded machine)
    let started = 0;
    const probe = async (step: string, input: ProberInput): Promise<ProbeResult> => {
      o.onStep?.(step);
      const ended = responder !== null && (responder.exitCode !== null || responder.signalCode !== null);
      if (responder !== null && (ended || Date.now() - started > RESPONDER_FRESH_MS)) {
        const old = responder;
        await t.timeAsync('responder', () => stopAndWait(old));
        o.children?.delete(old);
        responder = null;
      }
      if (responder === null) {
        started = Date.now();
        responder = await t.timeAsync('responder', () => startResponder(node, ports));
        o.children?.add(responder);
      }
      return t.time(step, () => runProber(client!, input));
    };
    if (probing) {
      client = t.time('namespaces', () => nss.create());
      t.time('namespaces', () => wire(client!, node, o.localCIDR));
      const direct = plan.probes.map((p) => ({ label: p.position, ip: p.endpoints[0]!.ip, port: p.endpoints[0]!.port }));
      const b = await probe('first packets, no rules', {
        targets: direct,
        samples: Math.ceil(o.samples / 2),
        rounds: Math.ceil(o.rounds / 2),
        localAddress: CLIENT_IP,
        firstPort: FIRST_PORT,
        budgetMs: o.probeBudgetMs,
        timeoutMs: 2000,
        warmup: WARMUP,
        pauseMs: PAUSE_MS,
      });
      baseline = Object.values(b.samples).flat();
    }
    const loads = timeLoads(node, plan, {
      reps: o.reps,
      minReps: o.minReps,
      budgetSeconds: o.budgetSeconds,
      tolerance: o.tolerance,
      onStep: o.onStep,
      time: t.time,
    });
    if (probing) {
      // the kernel frees what the loads replaced in deferred work (tables, sets, rule blobs): let it finish first
      // (as long as the last loads took: the partial syncs', else the full loads', 0.2-3 s), or it competes with the
      // round trips, the more the larger the table
      o.onStep?.('settling');
      const last = loads.partial.length > 0 ? loads.partial.map((p) => p.wall) : loads.fullWall;
      const settle = Math.min(3000, Math.max(200, 1000 * (last.length > 0 ? ss.median(last) : 0)));
      await t.timeAsync('settling', () => new Promise((res) => setTimeout(res, settle)));
      const targets = plan.probes.map((p) => ({ label: p.position, ip: p.vip, port: p.port }));
      const r = await probe('first packets', {
        targets,
        samples: o.samples,
        localAddress: CLIENT_IP,
        firstPort: FIRST_PORT + 3 * (o.samples + WARMUP) + 100,
        budgetMs: o.probeBudgetMs,
        timeoutMs: 2000,
        warmup: WARMUP,
        rounds: o.rounds,
        pauseMs: PAUSE_MS,
      });
      for (const p of plan.probes) {
        const pkt: Packet = { srcIP: CLIENT_IP, srcPort: 40000, dstIP: p.vip, dstPort: p.port, protocol: p.protocol, local: false };
        positions.push({
          position: p.position,
          index: p.index,
          connect: r.samples[p.position] ?? [],
          rounds: r.rounds?.[p.position] ?? [(r.samples[p.position] ?? []).length],
          failed: r.failed[p.position] ?? 0,
          counts: plan.lookup?.(pkt) ?? {},
        });
      }
    }
    return { plan, loads, baseline, positions, parts: t.parts };
  } finally {
    if (responder !== null) {
      stopProcess(responder);
      o.children?.delete(responder);
    }
    t.time('namespaces', () => {
      if (client !== null) nss.remove(client);
      nss.remove(node);
    });
  }
}
