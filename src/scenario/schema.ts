import { z } from 'zod';
import { BACKEND_DEFINITIONS, BACKEND_KINDS } from '../backends/registry.js';

/**
 * The scenario language. A scenario file (YAML) is one experiment; `sweep` turns it into a grid of cases.
 * The JSON Schema published at scenarios/scenario.schema.json is generated from this (npm run schema).
 * All times are virtual seconds unless a field name says otherwise.
 */

const positive = z.number().positive();
const nonneg = z.number().nonnegative();
const count = z.number().int().nonnegative();
const fraction = z.number().min(0).max(1);

/** A number, or a distribution to draw one from per service. */
export const Distribution = z.union([
  count,
  z.strictObject({ uniform: z.tuple([count, count]).describe('inclusive [min, max]') }),
  z.strictObject({ choice: z.array(count).min(1).describe('equally likely values') }),
  z.strictObject({ zipf: z.strictObject({ max: z.number().int().min(1), s: nonneg }) }).describe('1..max, P(k) ∝ k^-s'),
]);
export type Distribution = z.infer<typeof Distribution>;

const PortSpec = z.strictObject({
  name: z.string().default(''),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
  port: z.number().int().min(1).max(65535),
  targetPort: z.number().int().min(1).max(65535),
});

export const ClusterSpec = z.strictObject({
  nodes: z.number().int().min(1).default(1).describe('nodes in the cluster; pods are spread over them'),
  proxyNodes: z.number().int().min(1).optional().describe('how many of the nodes run a simulated kube-proxy (default: all)'),
  namespaces: z.number().int().min(1).default(1),
  services: count.default(100).describe('synthetic services (besides any from manifests)'),
  endpointsPerService: Distribution.default(10),
  ports: z
    .array(PortSpec)
    .min(1)
    .default([{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }]),
  serviceTypes: z
    .strictObject({
      ClusterIP: fraction.default(0),
      NodePort: fraction.default(0),
      LoadBalancer: fraction.default(0),
      headless: fraction.default(0),
      ExternalName: fraction.default(0),
    })
    .default({ ClusterIP: 1, NodePort: 0, LoadBalancer: 0, headless: 0, ExternalName: 0 })
    .describe('fractions of the synthetic services by type; they must sum to 1'),
  sessionAffinityFraction: fraction.default(0).describe('fraction of services with sessionAffinity ClientIP'),
  ipFamilies: z
    .array(z.enum(['IPv4', 'IPv6']))
    .min(1)
    .max(2)
    .default(['IPv4'])
    .describe(
      "the cluster's IP families, primary first: [IPv4] (single-stack), [IPv4, IPv6] or [IPv6, IPv4] (dual-stack: nodes and pods get an address of each family, every node runs one kube-proxy proxier per family)",
    ),
  ipFamilyPolicy: z
    .strictObject({
      SingleStack: fraction.default(0),
      PreferDualStack: fraction.default(0),
      RequireDualStack: fraction.default(0),
    })
    .default({ SingleStack: 1, PreferDualStack: 0, RequireDualStack: 0 })
    .describe('fractions of the synthetic services by spec.ipFamilyPolicy (dual-stack clusters); they must sum to 1'),
  secondaryFamilyFraction: fraction
    .default(0)
    .describe(
      "fraction of the synthetic services whose spec.ipFamilies names the cluster's secondary family first (a single-stack service of that family, or a dual-stack one with it as primary)",
    ),
  manifests: z
    .array(z.string())
    .default([])
    .describe('Kubernetes YAML/JSON files loaded as the starting cluster (paths relative to the scenario file)'),
});

/** A registered data plane's name (the enum comes from the backend registry). */
export const BackendName = z.enum(BACKEND_KINDS as [string, ...string[]]);

/** Each data plane's own options, nested under its name: `proxy.<kind>.*` (from the backend registry). */
const backendOptions = Object.fromEntries(
  BACKEND_DEFINITIONS.map((d) => [d.kind, d.optionsSchema.prefault({}).describe(`options of the ${d.title} backend`)]),
);

export const ProxySpec = z.strictObject({
  minSyncPeriod: nonneg.default(1),
  syncPeriod: positive.default(30),
  burstSyncs: z.number().int().min(1).default(2),
  ...backendOptions,
  masqueradeAll: z.boolean().default(false),
  clusterCIDR: z.string().default('10.128.0.0/9').describe('the pod network (--cluster-cidr); each node gets a /24 of it'),
  clusterCIDRv6: z
    .string()
    .default('fd00:10:128::/48')
    .describe("the IPv6 pod network of a dual-stack cluster (the IPv6 proxier's --cluster-cidr); each node gets a /64 of it"),
  watchDelaySeconds: nonneg
    .default(0.05)
    .describe('mean delay (exponential, per node, order kept) before a kube-proxy sees a Service or EndpointSlice change'),
  detectLocalMode: z.enum(['ClusterCIDR', 'NodeCIDR', 'None']).default('ClusterCIDR'),
});

export const ChurnSpec = z.strictObject({
  endpointBurst: z
    .strictObject({
      at: nonneg.default(1).describe('seconds after the measured phase starts'),
      changes: count.default(50).describe('pods replaced (each a removed and an added endpoint)'),
      spreadSeconds: nonneg.default(0),
    })
    .optional(),
  perServices: count.default(0).describe('0: rates are cluster-wide; N: every rate is per N services (scales with the cluster)'),
  rollingUpdatesPerMinute: nonneg.default(0),
  maxSurge: z.union([count, z.string().regex(/^\d+%$/)]).default('25%'),
  maxUnavailable: z.union([count, z.string().regex(/^\d+%$/)]).default('25%'),
  scaleEventsPerMinute: nonneg.default(0),
  scaleStep: z.number().int().min(1).default(1),
  crashesPerMinute: nonneg.default(0),
  crashLoop: z.boolean().default(false),
  readinessFlapsPerMinute: nonneg.default(0),
  flapSeconds: positive.default(10),
  nodeDrainsPerHour: nonneg.default(0),
  serviceCreatesPerMinute: nonneg.default(0),
  serviceDeletesPerMinute: nonneg.default(0),
  startupSeconds: nonneg.default(2),
  readinessDelaySeconds: nonneg.default(5),
  terminationGraceSeconds: nonneg.default(30),
});

export const LoadSpec = z.strictObject({
  connectionsPerSecond: nonneg.default(100).describe('new connections per second, cluster-wide (Poisson)'),
  perServices: count
    .default(0)
    .describe('0: connectionsPerSecond is cluster-wide; N: it is per N services (traffic grows with the cluster)'),
  requestsPerConnection: z.number().int().min(1).default(1).describe('keep-alive: requests carried by one connection'),
  requestIntervalSeconds: nonneg.default(0.05),
  zipf: nonneg.default(0).describe('service popularity skew: 0 uniform, 1 classic Zipf'),
  protocol: z.enum(['TCP', 'UDP']).default('TCP'),
  ingressFraction: fraction.default(0).describe('fraction of connections that enter through the ingress (needs ingress)'),
});

export const IngressSpec = z.strictObject({
  enabled: z.boolean().default(false),
  replicas: z.number().int().min(1).default(2),
  hostsPerNamespace: z.number().int().min(1).default(1),
});

export const BenchSpec = z.strictObject({
  lookup: z.boolean().default(true),
  sync: z.boolean().default(true),
  timeMs: z.number().int().min(10).default(250).describe('time budget per measured task over all rounds, warm-up included (ms)'),
  lookupBatch: z.number().int().min(1).default(64).describe('lookups per timed call (per-lookup time = call / batch)'),
  rounds: z.number().int().min(2).default(12).describe('interleaved rounds of the tasks with the calibration task'),
});

export const Reference = z.strictObject({
  source: z.string(),
  label: z.string(),
  backend: BackendName.optional(),
  services: count.optional(),
  metric: z.string().optional(),
  value: z.number().optional(),
  unit: z.string().default(''),
  statistic: z
    .string()
    .optional()
    .describe('the statistic of the metric the published value corresponds to (default: the first of mean, value, p50, total present)'),
  variant: z
    .string()
    .optional()
    .describe('only for the sweep case(s) whose point includes these key=value pairs (comma-separated, e.g. "writeMethod=restore-full")'),
  note: z
    .string()
    .optional()
    .describe('why the modelled value differs from the published one; the summary prints it when the ratio is outside 0.33-3'),
});

export const Expectation = z.strictObject({
  backend: BackendName,
  metric: z.string(),
  exponent: z.strictObject({ min: z.number().optional(), max: z.number().optional() }),
});

const Body = {
  description: z.string().default(''),
  seed: count.default(1),
  backends: z
    .array(BackendName)
    .min(1)
    .default([...BACKEND_KINDS])
    .describe('data planes to run (default: every registered one)'),
  duration: positive.default(30).describe('virtual seconds of the measured phase'),
  cluster: ClusterSpec.default(ClusterSpec.parse({})),
  proxy: ProxySpec.default(ProxySpec.parse({})),
  churn: ChurnSpec.default(ChurnSpec.parse({})),
  load: LoadSpec.default(LoadSpec.parse({})),
  ingress: IngressSpec.default(IngressSpec.parse({})),
  bench: BenchSpec.default(BenchSpec.parse({})),
  sweep: z
    .record(z.string(), z.array(z.union([z.number(), z.string(), z.boolean()])).min(1))
    .default({})
    .describe('dotted field path -> values; cases are the cartesian product'),
};

export const ScenarioFile = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  suite: z
    .array(z.enum(['default', 'quick', 'library']))
    .default(['library'])
    .describe('suites this scenario belongs to'),
  ...Body,
  quick: z.record(z.string(), z.unknown()).optional().describe('overrides (same shape as the file) applied with --quick'),
  reference: z.array(Reference).default([]),
  expect: z.array(Expectation).default([]),
});

export type ScenarioFile = z.infer<typeof ScenarioFile>;
export type ClusterSpec = z.infer<typeof ClusterSpec>;
export type ProxySpec = z.infer<typeof ProxySpec>;
export type ChurnSpec = z.infer<typeof ChurnSpec>;
export type LoadSpec = z.infer<typeof LoadSpec>;
export type BenchSpec = z.infer<typeof BenchSpec>;
export type IngressSpec = z.infer<typeof IngressSpec>;
export type ReferenceSpec = z.infer<typeof Reference>;
