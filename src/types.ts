/**
 * Every public type shared between the harness's layers lives here.
 *
 * Data flows one way:  sim -> cluster -> proxy (change tracking, sync runner) -> backends -> metrics -> report.
 * A backend never reaches back into the cluster: it sees only the ProxySnapshot kube-proxy would see.
 */

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
}

// ---------------------------------------------------------------------------------------------
// The Backend interface: one data plane
// ---------------------------------------------------------------------------------------------

export interface SyncRequest {
  snapshot: ProxySnapshot;
  /** Service-port keys whose service or endpoints changed since the previous sync (added, updated or deleted). */
  changed: ReadonlySet<string>;
  /** Virtual time at which the sync starts. */
  now: Seconds;
}

/** Counted work of one sync. Every field is a count; modelled time is computed from these by the cost model. */
export interface SyncResult {
  /** 'full' when the whole ruleset was written, 'partial' when only a delta. */
  mode: 'full' | 'partial';
  /** iptables rules in the iptables-restore input (all tables). */
  rulesWritten: number;
  /** Chains declared in the restore input (":CHAIN - [0:0]" lines). */
  chainsWritten: number;
  /** Bytes of restore input / ipset restore input / netlink messages (estimated per message for netlink). */
  bytesWritten: number;
  /** Rules in the kernel's tables after the sync (what legacy iptables copies on any table change). */
  rulesInKernel: number;
  /** Whether any iptables table was replaced in this sync. */
  iptablesRestored: boolean;
  /** IPVS virtual + real server adds, updates and deletes. */
  ipvsOps: number;
  /** ipset entry adds and deletes. */
  ipsetOps: number;
  /** Address adds and deletes on kube-ipvs0. */
  addressOps: number;
  /** Netlink messages read back from the kernel (IPVS mode re-reads every virtual server each sync); 0 when absent. */
  netlinkReads?: number;
  /** `ipset list` commands run (IPVS mode lists each of its sets every sync); 0 when absent. */
  ipsetLists?: number;
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
  /** iptables rules whose matches were evaluated (all tables and chains walked). */
  rulesEvaluated: number;
  /** Hash-table probes (IPVS service/connection tables, conntrack excluded). */
  hashProbes: number;
  /** ipset membership tests. */
  setLookups: number;
}

/** The ruleset as the real tools print it, keyed by the command that prints it (e.g. "iptables-save", "ipvsadm -S -n", "ipset save"). */
export type RenderedRuleset = Record<string, string>;

export interface RulesetSize {
  /** iptables rules across the nat and filter tables. */
  iptablesRules: number;
  iptablesChains: number;
  ipvsVirtualServers: number;
  ipvsRealServers: number;
  ipsetEntries: number;
}

export type BackendKind = 'iptables' | 'ipvs';

export interface Backend {
  readonly kind: BackendKind;
  /** Programs the data plane from the snapshot; returns the counted work. */
  sync(req: SyncRequest): SyncResult;
  /** Classifies the first packet of a connection, drawing any random choice from `rng`. */
  lookup(pkt: Packet, rng: Rng, now: Seconds): LookupResult;
  /** The ruleset as the real tools print it. */
  render(): RenderedRuleset;
  size(): RulesetSize;
  /** A connection classified by this backend ended (IPVS graceful termination needs this). */
  connectionClosed?(endpoint: { ip: string; port: number }, serviceKey: string, protocol: Protocol): void;
  /**
   * Periodic housekeeping outside syncs (IPVS: delete weight-0 real servers with no connections, every minute).
   * Returns counted work, or null when nothing was done.
   */
  housekeeping?(now: Seconds): SyncResult | null;
}

/** Options every backend factory takes. */
export interface BackendOptions {
  node: ProxyNodeConfig;
  /** iptables only: 'minimized' (MinimizeIPTablesRestore, today's default) or 'full' (before v1.26). */
  restoreMode?: 'full' | 'minimized';
  /** ipvs only: the scheduler, default 'rr'. */
  ipvsScheduler?: IpvsScheduler;
  /**
   * ipvs only: the kernel's virtual-service table: 'fixed256' (every released kernel: 256 chained buckets, probes
   * grow as services / 512) or 'resizable' (newer kernels: one probe). Default 'fixed256'.
   */
  ipvsServiceTable?: 'fixed256' | 'resizable';
}

export type IpvsScheduler = 'rr' | 'wrr' | 'lc' | 'wlc' | 'sh' | 'dh' | 'sed' | 'nq';

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

