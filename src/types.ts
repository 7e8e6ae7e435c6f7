/**
 * Every public type shared between the harness's layers lives here.
 *
 * Data flows one way:  sim -> cluster -> proxy (change tracking, sync runner) -> backends -> metrics -> report.
 * A backend never reaches back into the cluster: it sees only the ProxySnapshot kube-proxy would see.
 */

import type { ZodType } from 'zod';
import type { BackendCatalogue } from './metrics/catalogue.js';
import type { KernelSupport } from './kernel/plan.js';

// ---------------------------------------------------------------------------------------------
// Randomness and time
// ---------------------------------------------------------------------------------------------

/** Virtual time, in seconds since the start of a simulation. */
export type Seconds = number;

/** A seeded stream of uniform numbers in [0, 1). Every random choice in the harness draws from one. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes objects, as the harness models them (a faithful subset of the v1 API)
// ---------------------------------------------------------------------------------------------

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
export type TrafficPolicy = 'Cluster' | 'Local';
export type Labels = Record<string, string>;

export interface ServicePort {
  /** Port name; '' when the service has a single unnamed port. */
  name: string;
  protocol: Protocol;
  port: number;
  /** A number, or the name of a container port. */
  targetPort: number | string;
  /** 0 when the service has no node port. */
  nodePort: number;
}

export interface Service {
  namespace: string;
  name: string;
  labels: Labels;
  type: ServiceType;
  /** The VIP; 'None' for a headless service; '' for ExternalName. */
  clusterIP: string;
  ports: ServicePort[];
  /** null: the service has no selector (its EndpointSlices are managed by someone else). */
  selector: Labels | null;
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip */
  loadBalancerIngressIPs: string[];
  loadBalancerSourceRanges: string[];
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  sessionAffinity: 'None' | 'ClientIP';
  /** spec.sessionAffinityConfig.clientIP.timeoutSeconds, default 10800. */
  sessionAffinityTimeoutSeconds: number;
  /** 0 when none (only LoadBalancer/NodePort with externalTrafficPolicy Local have one). */
  healthCheckNodePort: number;
  /** Only for ExternalName services. */
  externalName: string;
  publishNotReadyAddresses: boolean;
  /**
   * The service's IPv6 family (a dual-stack or IPv6-only service), as kube-proxy's IPv6 proxier sees it; absent
   * for a single-stack IPv4 service. The fields above are the IPv4 family's.
   */
  ipv6?: ServiceFamilyAddresses;
  /**
   * spec.ipFamilyPolicy and spec.ipFamilies as the API server fills them on a dual-stack cluster (primary family
   * first); absent on a single-stack IPv4 cluster. ExternalName services have none.
   */
  ipFamilyPolicy?: IPFamilyPolicy;
  ipFamilies?: IPFamily[];
}

export type IPFamily = 'IPv4' | 'IPv6';
export type IPFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

/** A service's addresses of one IP family (canonical texts). */
export interface ServiceFamilyAddresses {
  /** '' when the family has none. */
  clusterIP: string;
  externalIPs: string[];
  loadBalancerIngressIPs: string[];
  loadBalancerSourceRanges: string[];
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface ContainerPort {
  name: string;
  containerPort: number;
  protocol: Protocol;
}

export interface Pod {
  namespace: string;
  name: string;
  labels: Labels;
  /** '' until the pod is scheduled and has an address. */
  ip: string;
  /** The pod's IPv6 address on a dual-stack cluster (status.podIPs' IPv6 entry); absent on a single-stack one. */
  ipv6?: string;
  nodeName: string;
  phase: PodPhase;
  /** The Ready condition (readiness probe passing). */
  ready: boolean;
  /** deletionTimestamp is set: the pod is shutting down. */
  terminating: boolean;
  /** spec.hostname / spec.subdomain, for DNS of headless services. */
  hostname: string;
  subdomain: string;
  containerPorts: ContainerPort[];
}

export interface EndpointConditions {
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions: EndpointConditions;
  nodeName: string;
  zone: string;
  hostname: string;
  /** Name of the pod behind the endpoint, '' when unknown. */
  podName: string;
}

export interface EndpointPort {
  name: string;
  protocol: Protocol;
  port: number;
}

export interface EndpointSlice {
  namespace: string;
  name: string;
  /** The kubernetes.io/service-name label. */
  serviceName: string;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Endpoint[];
  ports: EndpointPort[];
}

export interface IngressPath {
  /** '' or '/' matches everything. */
  path: string;
  pathType: 'Prefix' | 'Exact' | 'ImplementationSpecific';
  serviceName: string;
  servicePort: number | string;
}

export interface IngressRule {
  /** '' matches any host. */
  host: string;
  paths: IngressPath[];
}

export interface Ingress {
  namespace: string;
  name: string;
  ingressClassName: string;
  rules: IngressRule[];
}

export interface NodeInfo {
  name: string;
  /** Primary node IP first. */
  ips: string[];
  /** spec.podCIDR */
  podCIDR: string;
  zone: string;
  /** IPv6 InternalIPs (ExternalIPs when none), primary first (a dual-stack or IPv6 node). */
  ipsV6?: string[];
  /** The IPv6 entry of spec.podCIDRs. */
  podCIDRV6?: string;
}

// ---------------------------------------------------------------------------------------------
// What kube-proxy sees: one entry per service port (kube-proxy's ServicePort / Endpoint)
// ---------------------------------------------------------------------------------------------

export interface ServicePortInfo {
  /** kube-proxy's ServicePortName.String(): "namespace/name:portName" ("namespace/name" when the port has no name). */
  key: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  type: ServiceType;
  clusterIP: string;
  port: number;
  /** 0 when none. */
  nodePort: number;
  targetPort: number | string;
  externalIPs: string[];
  loadBalancerIPs: string[];
  loadBalancerSourceRanges: string[];
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** ClientIP affinity timeout in seconds; 0 means no session affinity. */
  stickyMaxAgeSeconds: number;
  /** 0 when none. */
  healthCheckNodePort: number;
}

export interface EndpointInfo {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName: string;
  zone: string;
  /** The endpoint is on the node this kube-proxy runs on. */
  isLocal: boolean;
}

/**
 * The state kube-proxy programs from, keyed by ServicePortInfo.key. Endpoint lists are sorted as
 * kube-proxy's EndpointSliceCache sorts them (by "IP:port" string).
 */
export interface ProxySnapshot {
  services: ReadonlyMap<string, ServicePortInfo>;
  endpoints: ReadonlyMap<string, readonly EndpointInfo[]>;
}

/** Node-level kube-proxy settings that change the generated rules (kube-proxy's defaults in brackets). */
export interface ProxyNodeConfig {
  nodeName: string;
  /** Node IPs; the first is the primary. */
  nodeIPs: string[];
  /** --cluster-cidr; '' when unset. */
  clusterCIDR: string;
  /** The node's pod CIDR (for --detect-local-mode=NodeCIDR). */
  podCIDR: string;
  /** --detect-local-mode [ClusterCIDR]. */
  localDetector: 'ClusterCIDR' | 'NodeCIDR' | 'None';
  /** --masquerade-all [false]. */
  masqueradeAll: boolean;
  /** --iptables-masquerade-bit [14] → mark 0x4000. */
  masqueradeBit: number;
  /** --nodeport-addresses; empty means all node IPs (kube-proxy's "primary" default renders as addrtype LOCAL). */
  nodePortAddresses: string[];
  /**
   * The IP family of this proxier [IPv4]. kube-proxy runs one proxier per family of a dual-stack node; an IPv6
   * proxier takes only the IPv6 entries of the addresses above and of the snapshot.
   */
  ipFamily?: 'IPv4' | 'IPv6';
  /**
   * Harness setting, not a kube-proxy flag: whether the backend keeps what it needs to print its ruleset
   * (render()) [true]. The benchmark's cases turn it off: every count is the same, render() is refused, and
   * large rulesets take less memory (the iptables backend keeps each rule's byte length instead of its text).
   */
  renderable?: boolean;
  /**
   * Harness setting: the backend may share built state that does not depend on its node with the other backends
   * of the process built with the same options (many simulated nodes) [false]. Counts stay per node.
   */
  shared?: boolean;
}

// ---------------------------------------------------------------------------------------------
// The Backend interface: one data plane
// ---------------------------------------------------------------------------------------------

export interface SyncRequest {
  /** The node's state at the sync; valid during the call only (a backend keeps values, never the maps). */
  snapshot: ProxySnapshot;
  /** Service-port keys whose service or endpoints changed since the previous sync (added, updated or deleted). */
  changed: ReadonlySet<string>;
  /** Virtual time at which the sync starts. */
  now: Seconds;
}

/**
 * Counted work, keyed by metric names that the backend declares in its own catalogue (its definition's `metrics`).
 * The harness never reads a count by name: the recorder, the cost model and the summary loop over them.
 */
export type Counts = Record<string, number>;

/** Counted work of one sync; modelled time is computed from these counts by the backend's cost model. */
export interface SyncResult {
  /** 'full' when the whole ruleset was written, 'partial' when only a delta. */
  mode: 'full' | 'partial';
  /** Keys: the names in the backend catalogue's `sync` section. */
  counts: Counts;
}

/** The first packet of a new connection, as the node's netfilter hooks see it. */
export interface Packet {
  srcIP: string;
  srcPort: number;
  dstIP: string;
  dstPort: number;
  protocol: Protocol;
  /** true: sent by a process on the node (OUTPUT hook); false: arriving from a pod or the network (PREROUTING). */
  local: boolean;
}

export interface LookupResult {
  /** DNAT: sent to `endpoint`; REJECT/DROP: refused by kube-proxy rules; PASS: not a service address. */
  verdict: 'DNAT' | 'REJECT' | 'DROP' | 'PASS';
  endpoint: { ip: string; port: number } | null;
  /** Service-port key of the service matched, '' when none. */
  serviceKey: string;
  /** Whether the packet will be SNATed (masqueraded). */
  masquerade: boolean;
  /** Work done classifying the packet; keys: the names in the backend catalogue's `lookup` section. */
  counts: Counts;
}

/** The ruleset as the real tools print it, keyed by the command that prints it (e.g. "iptables-save", "ipvsadm -S -n", "ipset save"). */
export type RenderedRuleset = Record<string, string>;

/**
 * A data plane's name, as the backend registry (src/backends/registry.ts) declares it. Only the registry and the
 * backends' own folders name one.
 */
export type BackendKind = string;

export interface Backend {
  readonly kind: BackendKind;
  /** Programs the data plane from the snapshot; returns the counted work. */
  sync(req: SyncRequest): SyncResult;
  /** Classifies the first packet of a connection, drawing any random choice from `rng`. */
  lookup(pkt: Packet, rng: Rng, now: Seconds): LookupResult;
  /** The ruleset as the real tools print it. */
  render(): RenderedRuleset;
  /** The size of the programmed ruleset; keys: the names in the backend catalogue's `size` section. */
  size(): Counts;
  /** A connection classified by this backend ended (IPVS graceful termination needs this). */
  connectionClosed?(endpoint: { ip: string; port: number }, serviceKey: string, protocol: Protocol): void;
  /**
   * Periodic housekeeping outside syncs (IPVS: delete weight-0 real servers with no connections, every minute).
   * Returns counted work, or null when nothing was done.
   */
  housekeeping?(now: Seconds): SyncResult | null;
}

// ---------------------------------------------------------------------------------------------
// Results: the rows of a run directory
// ---------------------------------------------------------------------------------------------

/**
 * The statistics a metrics.csv row may carry, in their canonical order (the order rows are sorted in).
 * rme is the relative margin of error in percent (measured metrics); samples is a count of observations.
 */
export const STATISTICS = ['value', 'mean', 'p50', 'p90', 'p99', 'min', 'max', 'total', 'rme', 'samples'] as const;
export type Statistic = (typeof STATISTICS)[number];

/** One row of metrics.csv: one measurement. Its identity is everything but value and unit (see rowKey). */
export interface MetricRow {
  scenario: string;
  backend: string;
  services: number;
  endpoints_per_service: number;
  metric: string;
  statistic: Statistic;
  value: number;
  unit: string;
}

/** One row of scaling.csv: the log-log slope of a metric against the number of services. */
export interface ScalingRow {
  scenario: string;
  backend: string;
  metric: string;
  /** Slope of log(metric) against log(services): 1 is linear growth, 0 flat. */
  exponent: number;
  /** Coefficient of determination of that fit. */
  r2: number;
}

/** The retained samples of one measured metric at one point (samples.json holds an array of these). */
export interface SampleSet {
  scenario: string;
  backend: string;
  services: number;
  endpoints_per_service: number;
  metric: string;
  unit: string;
  /** Sample values, in the unit (seconds, or calibrations for *_rel metrics). */
  samples: number[];
}

// ---------------------------------------------------------------------------------------------
// The backend registry's contract: one data plane = one folder + one registry line
// ---------------------------------------------------------------------------------------------

/** One coefficient of a cost model: seconds per unit of a count (or fixed seconds), and where it comes from. */
export interface Coefficient {
  value: number;
  /** What one unit is, e.g. 's/rule'. */
  unit: string;
  /** How the value was obtained (measured where and how, or assumed). */
  source: string;
}

/** A cost model's coefficients by name. */
export type CoefficientSet = Readonly<Record<string, Coefficient>>;

/** Turns a backend's counted work into modelled time. */
export interface CostModel {
  /** The coefficient values in force (defaults, overridden by a calibration). */
  readonly coefficients: Readonly<Record<string, number>>;
  syncSeconds(r: SyncResult): Seconds;
  lookupSeconds(l: LookupResult): Seconds;
}

/** One way to print a backend's programmed state, e.g. `iptables-save` or `nft list ruleset`. */
export interface RenderOutput {
  description: string;
  /** Prints the state of a backend that was created by the same definition and synced. */
  render(backend: Backend): string;
}

/**
 * Everything the harness knows about one data plane. The scenario schema, the CLI's choices, the metric
 * catalogue, the cost model and the README's table of backends are all derived from these.
 */
export interface BackendDefinition<O = unknown> {
  readonly kind: BackendKind;
  /** A short name for tables, e.g. 'iptables (kube-proxy iptables mode)'. */
  readonly title: string;
  /** One sentence for the README's table of backends. */
  readonly description: string;
  /** The options under `proxy.<kind>` in a scenario (zod; every field has a default, so `{}` parses). */
  readonly optionsSchema: ZodType<O>;
  create(node: ProxyNodeConfig, options: O): Backend;
  /** The counts sync(), lookup() and size() return, with units, directions and the statistics to write. */
  readonly metrics: BackendCatalogue;
  /** The default coefficients of the cost model (for these options), with their sources. */
  coefficients(options: O): CoefficientSet;
  /** The cost model for these options; `calibration` overrides coefficient values by name. */
  cost(options: O, calibration?: Readonly<Record<string, number>>): CostModel;
  /**
   * The name of the data-plane variant these options select, when the kernel behaves differently between them
   * (iptables: 'iptables-legacy' / 'iptables-nft'); default: the kind. Calibrations are keyed by it, and kernel
   * mode (`kpbench kernel`) writes it in the backend column.
   */
  variant?(options: O): string;
  /** How `kpbench kernel` loads this data plane into the real kernel (src/kernel/plan.ts), when it can. */
  readonly kernel?: KernelSupport<O>;
  /** Named printouts; the first is the default of `kpbench render`. */
  readonly renderOutputs: Readonly<Record<string, RenderOutput>>;
  /** The IP families the backend can write a ruleset for (ProxyNodeConfig.ipFamily) [IPv4 only]. */
  readonly ipFamilies?: readonly ('IPv4' | 'IPv6')[];
  /**
   * The IP families the backend can run in the simulator: sync, and first packets through lookup() [IPv4 only]. A
   * dual-stack scenario needs both.
   */
  readonly simulatedIPFamilies?: readonly ('IPv4' | 'IPv6')[];
}
