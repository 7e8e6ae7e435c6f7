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
import { setUp, timeLoads, type LoadTimings } from './load.js';
import type { Counts, DataPlanePlan } from './plan.js';
import { runProber, startResponder, stopAndWait, stopProcess, wire, type ProberInput, type ProbeResult } from './probe.js';

export interface MeasureOptions {
  reps: number;
  minReps: number;
  budgetSeconds: number;
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
}

const FIRST_PORT = 20000;
/** Warm-up connections per target, then the samples in rounds 0.1 s apart (prober.py; rounds from MeasureOptions). */
const WARMUP = 20;
const PAUSE_MS = 100;

export async function measurePlan(nss: Namespaces, plan: DataPlanePlan, o: MeasureOptions): Promise<Measurement> {
  const node = nss.create();
  let client: string | null = null;
  let responder = null as ChildProcess | null;
  try {
    setUp(node, plan);
    const probing = plan.probes.length > 0;
    let baseline: number[] = [];
    const positions: PositionSamples[] = [];
    const ports = [...new Set(plan.probes.map((p) => p.endpoints[0]!.port))];
    // the responder runs only while probing (a large case's loads can take many minutes on a loaded machine)
    const probe = async (step: string, input: ProberInput): Promise<ProbeResult> => {
      o.onStep?.(step);
      responder = await startResponder(node, ports);
      o.children?.add(responder);
      const r = responder;
      try {
        return runProber(client!, input);
      } finally {
        await stopAndWait(r);
        o.children?.delete(r);
        responder = null;
      }
    };
    if (probing) {
      client = nss.create();
      wire(client, node, o.localCIDR);
      const direct = plan.probes.map((p) => ({ label: p.position, ip: p.endpoints[0]!.ip, port: p.endpoints[0]!.port }));
      const b = await probe('first packets, no rules', {
        targets: direct,
        samples: Math.ceil(o.samples / 2),
        localAddress: CLIENT_IP,
        firstPort: FIRST_PORT,
        budgetMs: o.probeBudgetMs,
        timeoutMs: 2000,
        warmup: WARMUP,
        rounds: o.rounds,
        pauseMs: PAUSE_MS,
      });
      baseline = Object.values(b.samples).flat();
    }
    const loads = timeLoads(node, plan, { reps: o.reps, minReps: o.minReps, budgetSeconds: o.budgetSeconds, onStep: o.onStep });
    if (probing) {
      // the kernel frees what the loads replaced in deferred work (tables, sets, rule blobs): let it finish first
      // (as long as a full load took, 0.2-3 s), or it competes with the round trips, the more the larger the table
      o.onStep?.('settling');
      const settle = Math.min(3000, Math.max(200, 1000 * (ss.median(loads.fullWall.length > 0 ? loads.fullWall : [0]) ?? 0)));
      await new Promise((res) => setTimeout(res, settle));
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
    return { plan, loads, baseline, positions };
  } finally {
    if (responder !== null) {
      stopProcess(responder);
      o.children?.delete(responder);
    }
    if (client !== null) nss.remove(client);
    nss.remove(node);
  }
}
