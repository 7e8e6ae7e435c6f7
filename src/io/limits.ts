/**
 * The limits that keep every run bounded: input sizes, cluster sizes, case counts and the estimated work of a
 * scenario. Each has a default documented in the README ("Limits") and an environment variable that overrides
 * it (a positive number; `kpbench run --force` lifts the work and case limits for one run).
 *
 * Cluster defaults follow the Kubernetes scalability thresholds (sig-scalability, thresholds.md: 5,000 nodes,
 * 10,000 services, 150,000 pods); the work limit is a few times the largest scenario shipped in scenarios/.
 */
import { InputError } from '../errors.js';

export interface LimitDef {
  /** Environment variable that overrides the default. */
  env: string;
  default: number;
  description: string;
}

export const LIMIT_DEFS = {
  inputBytes: {
    env: 'KPBENCH_MAX_INPUT_BYTES',
    default: 16 * 1024 * 1024,
    description: 'bytes of one input file (scenario, manifest, CSV, JSON)',
  },
  yamlDepth: { env: 'KPBENCH_MAX_YAML_DEPTH', default: 64, description: 'nesting depth of a YAML or JSON document' },
  nodes: { env: 'KPBENCH_MAX_NODES', default: 5000, description: 'cluster.nodes of one case' },
  services: { env: 'KPBENCH_MAX_SERVICES', default: 250_000, description: 'cluster.services of one case' },
  endpoints: {
    env: 'KPBENCH_MAX_ENDPOINTS',
    default: 2_500_000,
    description: 'endpoints (services x endpointsPerService, upper bound) of one case',
  },
  namespaces: { env: 'KPBENCH_MAX_NAMESPACES', default: 10_000, description: 'cluster.namespaces of one case' },
  cases: { env: 'KPBENCH_MAX_CASES', default: 500, description: 'cases (sweep points x backends) of one run, without --force' },
  sweepPoints: { env: 'KPBENCH_MAX_SWEEP_POINTS', default: 100_000, description: 'sweep points of one scenario, even with --force' },
  workUnits: { env: 'KPBENCH_MAX_WORK', default: 2e11, description: 'estimated work units of one run (see README), without --force' },
  stateUnits: {
    env: 'KPBENCH_MAX_STATE',
    default: 1e7,
    description: 'simulated proxies x objects (services and endpoints) of one case: memory, without --force',
  },
  caseEvents: {
    env: 'KPBENCH_MAX_CASE_EVENTS',
    default: 2e7,
    description: 'estimated simulated events (connections, requests, churn) of one case, without --force',
  },
  benchMs: { env: 'KPBENCH_MAX_BENCH_MS', default: 60_000, description: 'bench.timeMs x bench.rounds of one case' },
} as const satisfies Record<string, LimitDef>;

export type LimitName = keyof typeof LIMIT_DEFS;

/** The value of a limit: its environment variable when set (a positive number), else the default. */
export function limit(name: LimitName): number {
  const def = LIMIT_DEFS[name];
  const text = process.env[def.env];
  if (text === undefined || text.trim() === '') return def.default;
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new InputError(def.env, `must be a positive number, got '${text}'`);
  return v;
}

/** "12,345" / "1.2e+12": numbers in messages. */
export function fmtCount(n: number): string {
  return n < 1e9 ? Math.round(n).toLocaleString('en-US') : n.toExponential(2);
}
