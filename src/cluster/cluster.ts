import type { EndpointSlice, IPFamily, Ingress, NodeInfo, Pod, Seconds, Service } from '../types.js';
import { Ip6Allocator, IpAllocator, parseCidr, subnet6 } from './ip.js';
import { formatIPv4 } from '../net/ipv4.js';
import { isObjectKey, objectKey } from './selector.js';
import { type PodSpec, type ServiceSpec, podWithDefaults, serviceWithDefaults } from './defaults.js';

export interface ClusterOptions {
  /** --service-cluster-ip-range [10.96.0.0/12] */
  serviceCIDR: string;
  /** --cluster-cidr [10.244.0.0/16]; each node gets a /24 of it. */
  clusterCIDR: string;
  /** Node addresses are taken from this range. */
  nodeCIDR: string;
  /** --service-node-port-range [30000-32767] */
  nodePortRange: [number, number];
  /**
   * The cluster's IP families, primary first [IPv4]: [IPv4, IPv6] or [IPv6, IPv4] is a dual-stack cluster (two
   * service CIDRs and pod CIDRs, nodes and pods with an address of each family).
   */
  ipFamilies: IPFamily[];
  /** The IPv6 service range (the second --service-cluster-ip-range). */
  serviceCIDRv6: string;
  /** The IPv6 pod network (the second --cluster-cidr); each node gets a /64 of it. */
  clusterCIDRv6: string;
  /** IPv6 node addresses are taken from this range. */
  nodeCIDRv6: string;
  /** The virtual clock, for event times. */
  clock: () => Seconds;
}

export const DEFAULT_CLUSTER: Omit<ClusterOptions, 'clock'> = {
  serviceCIDR: '10.96.0.0/12',
  clusterCIDR: '10.244.0.0/16',
  nodeCIDR: '192.168.0.0/16',
  nodePortRange: [30000, 32767],
  ipFamilies: ['IPv4'],
  serviceCIDRv6: 'fd00:10:96::/108',
  clusterCIDRv6: 'fd00:10:244::/48',
  nodeCIDRv6: 'fd00:192:168::/64',
};

/** A request for a Service's families (spec.ipFamilyPolicy, spec.ipFamilies as the user wrote them). */
export interface FamilyRequest {
  ipFamilyPolicy?: Service['ipFamilyPolicy'];
  ipFamilies?: IPFamily[];
}

/**
 * The families the API server gives a Service (pkg/registry/core/service/storage, initIPFamilyFields, as the
 * Service API documents them): SingleStack [default] takes the first family requested, else the cluster's
 * primary; PreferDualStack takes both families on a dual-stack cluster (the requested one first, else the
 * primary) and one on a single-stack cluster; RequireDualStack takes both and fails on a single-stack cluster; a
 * requested family the cluster does not have fails. ExternalName services get none.
 */
export function serviceFamilies(
  cluster: readonly IPFamily[],
  req: FamilyRequest,
): { policy: NonNullable<Service['ipFamilyPolicy']>; families: IPFamily[] } {
  const policy = req.ipFamilyPolicy ?? (req.ipFamilies !== undefined && req.ipFamilies.length > 1 ? 'RequireDualStack' : 'SingleStack');
  const asked = req.ipFamilies ?? [];
  for (const f of asked) if (!cluster.includes(f)) throw new RangeError(`ipFamilies: ${f} is not configured on this cluster`);
  if (asked.length > 1 && policy === 'SingleStack') throw new RangeError('ipFamilies: two families need a dual-stack ipFamilyPolicy');
  const first = asked[0] ?? cluster[0]!;
  if (policy === 'SingleStack' || cluster.length === 1) {
    if (policy === 'RequireDualStack') throw new RangeError('ipFamilyPolicy: RequireDualStack on a single-stack cluster');
    return { policy, families: [first] };
  }
  return { policy, families: [first, first === 'IPv4' ? 'IPv6' : 'IPv4'] };
}

export type ClusterEvent =
  | { kind: 'service'; op: 'add' | 'update' | 'delete'; service: Service; time: Seconds }
  /** `key` is the pod's "namespace/name", the one string the cluster's maps hold (listeners reuse it, not a copy). */
  | { kind: 'pod'; op: 'add' | 'update' | 'delete'; pod: Pod; prev: Pod | null; time: Seconds; key: string }
  | { kind: 'node'; op: 'add' | 'delete'; node: NodeInfo; time: Seconds }
  | { kind: 'ingress'; op: 'add' | 'update' | 'delete'; ingress: Ingress; time: Seconds }
  /** Slices supplied from outside (manifests, or a selectorless service's hand-made slices). */
  | { kind: 'endpointslice'; op: 'add' | 'update' | 'delete'; slice: EndpointSlice; time: Seconds };

export type ClusterListener = (ev: ClusterEvent) => void;

/**
 * The cluster's API objects: nodes, namespaces, services, pods, ingresses. It allocates cluster IPs, node ports
 * and pod IPs, and tells listeners (the endpoints controller, DNS, kube-proxies) of every change with its time.
 */
export class Cluster {
  readonly nodes = new Map<string, NodeInfo>();
  readonly namespaces = new Set<string>(['default', 'kube-system']);
  readonly services = new Map<string, Service>();
  readonly pods = new Map<string, Pod>();
  readonly ingresses = new Map<string, Ingress>();
  /** Slices not managed by the endpoints controller (selectorless services, loaded manifests). */
  readonly externalSlices = new Map<string, EndpointSlice>();
  /** Pod key by pod IP. */
  readonly podByIP = new Map<string, string>();
  readonly opts: ClusterOptions;

  private readonly listeners: ClusterListener[] = [];
  private readonly serviceIPs: IpAllocator;
  private readonly nodeIPs: IpAllocator;
  private readonly podIPs = new Map<string, IpAllocator>();
  private readonly serviceIPs6: Ip6Allocator | null = null;
  private readonly nodeIPs6: Ip6Allocator | null = null;
  private readonly podIPs6 = new Map<string, Ip6Allocator>();
  private nodeCount = 0;
  private nextNodePort: number;
  private readonly usedNodePorts = new Set<number>();

  constructor(opts: Partial<ClusterOptions> = {}) {
    this.opts = { ...DEFAULT_CLUSTER, clock: () => 0, ...opts };
    // offset 1 is the kubernetes service, 10 is DNS by convention: allocation starts at 11
    this.serviceIPs = new IpAllocator(this.opts.serviceCIDR, 11);
    this.nodeIPs = new IpAllocator(this.opts.nodeCIDR, 10);
    this.nextNodePort = this.opts.nodePortRange[0];
    const fams = this.opts.ipFamilies;
    if (fams.length === 0 || fams.length > 2 || new Set(fams).size !== fams.length || !fams.includes('IPv4'))
      throw new RangeError(`ipFamilies: [${fams.join(', ')}] is not IPv4, IPv4 and IPv6, or IPv6 and IPv4`);
    if (this.dualStack) {
      this.serviceIPs6 = new Ip6Allocator(this.opts.serviceCIDRv6, 11);
      this.nodeIPs6 = new Ip6Allocator(this.opts.nodeCIDRv6, 10);
    }
  }

  /** Whether the cluster is dual-stack (nodes, pods and dual-stack services have an IPv6 address). */
  get dualStack(): boolean {
    return this.opts.ipFamilies.length === 2;
  }

  get now(): Seconds {
    return this.opts.clock();
  }

  subscribe(fn: ClusterListener): void {
    this.listeners.push(fn);
  }

  private emit(ev: ClusterEvent): void {
    for (const l of this.listeners) l(ev);
  }

  addNamespace(ns: string): void {
    this.namespaces.add(ns);
  }

  /** Adds a node with the next /24 of the cluster CIDR (or the pod CIDR given) and the next node address (or the one given). */
  addNode(name: string, ip?: string, givenPodCIDR?: string): NodeInfo {
    if (this.nodes.has(name)) throw new Error(`node ${name} exists`);
    const idx = this.nodeCount++;
    const cc = parseCidr(this.opts.clusterCIDR);
    if (givenPodCIDR === undefined && idx >= cc.size / 256)
      throw new RangeError(`cluster CIDR ${this.opts.clusterCIDR} has no /24 left for node ${name}`);
    const podCIDR = givenPodCIDR ?? `${formatIPv4(cc.base + idx * 256)}/24`;
    if (ip !== undefined) this.nodeIPs.claim(ip);
    const node: NodeInfo = { name, ips: [ip ?? this.nodeIPs.allocate()], podCIDR, zone: '' };
    if (this.nodeIPs6 !== null) {
      node.ipsV6 = [this.nodeIPs6.allocate()];
      node.podCIDRV6 = subnet6(this.opts.clusterCIDRv6, 64, idx);
      this.podIPs6.set(name, new Ip6Allocator(node.podCIDRV6, 2));
    }
    this.nodes.set(name, node);
    this.podIPs.set(name, new IpAllocator(podCIDR, 2));
    this.emit({ kind: 'node', op: 'add', node, time: this.now });
    return node;
  }

  private allocateNodePort(): number {
    const [lo, hi] = this.opts.nodePortRange;
    for (let tries = 0; tries <= hi - lo; tries++) {
      const p = this.nextNodePort;
      this.nextNodePort = p >= hi ? lo : p + 1;
      if (!this.usedNodePorts.has(p)) {
        this.usedNodePorts.add(p);
        return p;
      }
    }
    throw new RangeError(`node port range ${lo}-${hi} is exhausted`);
  }

  /**
   * Creates a Service with API defaults; allocates a cluster IP (one per family on a dual-stack cluster, as
   * serviceFamilies decides) and node ports where the type needs them.
   */
  addService(spec: ServiceSpec): Service {
    const svc = serviceWithDefaults(spec);
    const key = objectKey(svc.namespace, svc.name);
    if (this.services.has(key)) throw new Error(`service ${key} exists`);
    this.namespaces.add(svc.namespace);
    // a dual-stack cluster allocates a new service's families; given addresses (loaded manifests) are kept
    const given = svc.ipv6 !== undefined || (svc.clusterIP !== '' && svc.clusterIP !== 'None');
    if (this.dualStack && svc.type !== 'ExternalName' && !given) this.allocateFamilies(svc);
    else if (svc.type === 'ExternalName') svc.clusterIP = '';
    else if (svc.clusterIP === '') {
      // (an IPv6-only service, ipv6 given, has no IPv4 cluster IP)
      if (svc.ipv6 === undefined) svc.clusterIP = this.serviceIPs.allocate();
    } else if (svc.clusterIP !== 'None') this.serviceIPs.claim(svc.clusterIP);
    const v6 = svc.ipv6?.clusterIP ?? '';
    if (v6 !== '' && v6 !== 'None') this.serviceIPs6?.claim(v6);
    // given addresses on a dual-stack cluster: the families they are of (the endpoints controller's slices follow them)
    if (this.dualStack && given && svc.type !== 'ExternalName' && svc.ipFamilies === undefined) {
      const fams: Service['ipFamilies'] = [];
      if (svc.clusterIP !== '') fams.push('IPv4');
      if (svc.ipv6 !== undefined) fams.push('IPv6');
      svc.ipFamilies = fams;
    }
    if (svc.type === 'NodePort' || svc.type === 'LoadBalancer') {
      svc.ports = svc.ports.map((p) => {
        if (p.nodePort !== 0) {
          this.usedNodePorts.add(p.nodePort);
          return p;
        }
        return { ...p, nodePort: this.allocateNodePort() };
      });
      if (svc.type === 'LoadBalancer' && svc.externalTrafficPolicy === 'Local' && svc.healthCheckNodePort === 0) {
        svc.healthCheckNodePort = this.allocateNodePort();
      }
    }
    this.services.set(key, svc);
    this.emit({ kind: 'service', op: 'add', service: svc, time: this.now });
    return svc;
  }

  /** A dual-stack cluster's service: its families, the IPv4 cluster IP in clusterIP, the IPv6 one in ipv6. */
  private allocateFamilies(svc: Service): void {
    const { policy, families } = serviceFamilies(this.opts.ipFamilies, svc);
    svc.ipFamilyPolicy = policy;
    svc.ipFamilies = families;
    const headless = svc.clusterIP === 'None';
    if (!headless) svc.clusterIP = families.includes('IPv4') ? this.serviceIPs.allocate() : '';
    if (families.includes('IPv6')) {
      svc.ipv6 = {
        clusterIP: headless ? 'None' : this.serviceIPs6!.allocate(),
        externalIPs: [],
        loadBalancerIngressIPs: [],
        loadBalancerSourceRanges: [],
      };
    }
  }

  updateService(namespace: string, name: string, patch: Partial<Omit<Service, 'namespace' | 'name' | 'clusterIP'>>): Service {
    const key = objectKey(namespace, name);
    const old = this.services.get(key);
    if (old === undefined) throw new Error(`no service ${key}`);
    const svc: Service = { ...old, ...patch };
    this.services.set(key, svc);
    this.emit({ kind: 'service', op: 'update', service: svc, time: this.now });
    return svc;
  }

  deleteService(namespace: string, name: string): void {
    const key = objectKey(namespace, name);
    const svc = this.services.get(key);
    if (svc === undefined) return;
    this.services.delete(key);
    if (svc.clusterIP !== '' && svc.clusterIP !== 'None') this.serviceIPs.release(svc.clusterIP);
    if (svc.ipv6 !== undefined && svc.ipv6.clusterIP !== '' && svc.ipv6.clusterIP !== 'None') this.serviceIPs6?.release(svc.ipv6.clusterIP);
    for (const p of svc.ports) if (p.nodePort !== 0) this.usedNodePorts.delete(p.nodePort);
    if (svc.healthCheckNodePort !== 0) this.usedNodePorts.delete(svc.healthCheckNodePort);
    this.emit({ kind: 'service', op: 'delete', service: svc, time: this.now });
  }

  /**
   * Creates a pod on a node; it gets an address from the node's pod CIDR unless one is given. `key`, when the
   * caller already holds the pod's "namespace/name" string, is kept instead of a new copy (a million pods hold
   * their key in several maps).
   */
  addPod(spec: PodSpec, key?: string): Pod {
    const pod = podWithDefaults(spec);
    if (key === undefined || !isObjectKey(key, pod.namespace, pod.name)) key = objectKey(pod.namespace, pod.name);
    if (this.pods.has(key)) throw new Error(`pod ${key} exists`);
    this.namespaces.add(pod.namespace);
    if (pod.nodeName !== '') {
      const alloc = this.podIPs.get(pod.nodeName);
      if (alloc === undefined) throw new Error(`pod ${key}: no node ${pod.nodeName}`);
      if (pod.ip === '') pod.ip = alloc.allocate();
      else alloc.claim(pod.ip);
      const alloc6 = this.podIPs6.get(pod.nodeName);
      if (alloc6 !== undefined) {
        if (pod.ipv6 === undefined) pod.ipv6 = alloc6.allocate();
        else alloc6.claim(pod.ipv6);
      }
    }
    this.pods.set(key, pod);
    if (pod.ip !== '') this.podByIP.set(pod.ip, key);
    if (pod.ipv6 !== undefined) this.podByIP.set(pod.ipv6, key);
    this.emit({ kind: 'pod', op: 'add', pod, prev: null, time: this.now, key });
    return pod;
  }

  updatePod(namespace: string, name: string, patch: Partial<Pick<Pod, 'phase' | 'ready' | 'terminating' | 'labels'>>): Pod {
    const k = objectKey(namespace, name);
    const prev = this.pods.get(k);
    if (prev === undefined) throw new Error(`no pod ${k}`);
    const pod: Pod = { ...prev, ...patch };
    this.pods.set(k, pod); // an existing entry: the map keeps its key string
    this.emit({ kind: 'pod', op: 'update', pod, prev, time: this.now, key: k });
    return pod;
  }

  deletePod(namespace: string, name: string): void {
    const key = objectKey(namespace, name);
    const pod = this.pods.get(key);
    if (pod === undefined) return;
    this.pods.delete(key);
    if (pod.ip !== '') {
      this.podIPs.get(pod.nodeName)?.release(pod.ip);
      if (this.podByIP.get(pod.ip) === key) this.podByIP.delete(pod.ip);
    }
    if (pod.ipv6 !== undefined) {
      this.podIPs6.get(pod.nodeName)?.release(pod.ipv6);
      if (this.podByIP.get(pod.ipv6) === key) this.podByIP.delete(pod.ipv6);
    }
    this.emit({ kind: 'pod', op: 'delete', pod, prev: pod, time: this.now, key });
  }

  /** The pod holding an IP, if any. */
  podWithIP(ip: string): Pod | undefined {
    const k = this.podByIP.get(ip);
    return k === undefined ? undefined : this.pods.get(k);
  }

  upsertIngress(ing: Ingress): void {
    const key = objectKey(ing.namespace, ing.name);
    const op = this.ingresses.has(key) ? 'update' : 'add';
    this.namespaces.add(ing.namespace);
    this.ingresses.set(key, ing);
    this.emit({ kind: 'ingress', op, ingress: ing, time: this.now });
  }

  deleteIngress(namespace: string, name: string): void {
    const key = objectKey(namespace, name);
    const ing = this.ingresses.get(key);
    if (ing === undefined) return;
    this.ingresses.delete(key);
    this.emit({ kind: 'ingress', op: 'delete', ingress: ing, time: this.now });
  }

  /** Adds or replaces an EndpointSlice managed outside the endpoints controller (selectorless services, manifests). */
  upsertExternalSlice(slice: EndpointSlice): void {
    const key = objectKey(slice.namespace, slice.name);
    const op = this.externalSlices.has(key) ? 'update' : 'add';
    this.externalSlices.set(key, slice);
    this.emit({ kind: 'endpointslice', op, slice, time: this.now });
  }

  deleteExternalSlice(namespace: string, name: string): void {
    const key = objectKey(namespace, name);
    const slice = this.externalSlices.get(key);
    if (slice === undefined) return;
    this.externalSlices.delete(key);
    this.emit({ kind: 'endpointslice', op: 'delete', slice, time: this.now });
  }
}
