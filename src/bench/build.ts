import type { ContainerPort, Service, ServiceType } from '../types.js';
import type { Deployments } from '../workload/deployments.js';
import { type Cluster } from '../cluster/cluster.js';
import { IpAllocator } from '../cluster/ip.js';
import type { RngStreams, Stream } from '../sim/rng.js';
import type { ClusterSpec, Distribution } from '../scenario/schema.js';
import { ZipfSampler } from '../workload/popularity.js';
import type { LoadedManifests } from '../cluster/manifests.js';

/** A synthetic service and the Deployment behind it. */
export interface SyntheticService {
  namespace: string;
  name: string;
  kind: ServiceType | 'headless';
  /** Name of its Deployment (same namespace), null for ExternalName. */
  deployment: string | null;
}

export function drawCount(d: Distribution, rng: Stream): number {
  if (typeof d === 'number') return d;
  if ('uniform' in d) return d.uniform[0] + rng.int(d.uniform[1] - d.uniform[0] + 1);
  if ('choice' in d) return rng.pick(d.choice);
  return 1 + new ZipfSampler(d.zipf.max, d.zipf.s).draw(rng);
}

/** Mean of a distribution, for the endpoints_per_service column. */
export function distributionMean(d: Distribution): number {
  if (typeof d === 'number') return d;
  if ('uniform' in d) return (d.uniform[0] + d.uniform[1]) / 2;
  if ('choice' in d) return d.choice.reduce((a, b) => a + b, 0) / d.choice.length;
  const z = new ZipfSampler(d.zipf.max, d.zipf.s);
  let m = 0;
  for (let k = 0; k < d.zipf.max; k++) m += (k + 1) * z.p(k);
  return Math.round(m * 100) / 100;
}

const TYPE_ORDER = ['ClusterIP', 'NodePort', 'LoadBalancer', 'headless', 'ExternalName'] as const;

/**
 * Builds the synthetic cluster: namespaces, services of the configured types and, for each, a Deployment whose
 * pods are Running and Ready at t = 0 (placed by the Deployments controller, least-loaded node first). Pods are
 * created before their service so the endpoints controller computes each service's slices once.
 */
export function buildSyntheticCluster(cluster: Cluster, spec: ClusterSpec, rng: RngStreams, deployments: Deployments): SyntheticService[] {
  const typeRng = rng.stream('cluster.types');
  const epRng = rng.stream('cluster.endpoints');
  const affinityRng = rng.stream('cluster.affinity');
  // dual-stack clusters only: each service's spec.ipFamilyPolicy and whether it asks for the secondary family first
  const dual = spec.ipFamilies.length === 2;
  const familyRng = dual ? rng.stream('cluster.families') : null;
  const lbIPs = new IpAllocator('100.64.0.0/10', 1);
  const out: SyntheticService[] = [];
  // every Deployment's pods have the same container ports: one frozen list for all (read, never changed)
  const containerPorts: ContainerPort[] = Object.freeze(
    spec.ports.map((p) => Object.freeze({ name: p.name, containerPort: p.targetPort, protocol: p.protocol })),
  ) as ContainerPort[];
  for (let i = 0; i < spec.services; i++) {
    const ns = `ns-${(i % spec.namespaces) + 1}`;
    const name = `svc-${i}`;
    let u = typeRng.next();
    let kind: SyntheticService['kind'] = 'ClusterIP';
    for (const t of TYPE_ORDER) {
      const f = spec.serviceTypes[t];
      if (u < f) {
        kind = t;
        break;
      }
      u -= f;
    }
    const eps = kind === 'ExternalName' ? 0 : drawCount(spec.endpointsPerService, epRng);
    const labels = { app: name };
    if (kind !== 'ExternalName') {
      deployments.bulkCreate({
        namespace: ns,
        name,
        replicas: eps,
        labels,
        containerPorts,
      });
    }
    const affinity = affinityRng.next() < spec.sessionAffinityFraction;
    let families: Pick<Service, 'ipFamilyPolicy' | 'ipFamilies'> = {};
    if (familyRng !== null) {
      let v = familyRng.next();
      let policy: NonNullable<Service['ipFamilyPolicy']> = 'SingleStack';
      for (const pName of ['SingleStack', 'PreferDualStack', 'RequireDualStack'] as const) {
        if (v < spec.ipFamilyPolicy[pName]) {
          policy = pName;
          break;
        }
        v -= spec.ipFamilyPolicy[pName];
      }
      const secondFirst = familyRng.next() < spec.secondaryFamilyFraction;
      families = { ipFamilyPolicy: policy, ...(secondFirst ? { ipFamilies: [spec.ipFamilies[1]!] } : {}) };
    }
    const svc: Partial<Service> & Pick<Service, 'namespace' | 'name'> = {
      namespace: ns,
      name,
      labels,
      selector: kind === 'ExternalName' ? null : labels,
      type: kind === 'headless' ? 'ClusterIP' : kind,
      clusterIP: kind === 'headless' ? 'None' : '',
      externalName: kind === 'ExternalName' ? `${name}.example.com` : '',
      ports: spec.ports.map((p) => ({
        name: spec.ports.length > 1 ? p.name || `p${p.port}` : p.name,
        protocol: p.protocol,
        port: p.port,
        targetPort: p.targetPort,
        nodePort: 0,
      })),
      ...(kind === 'LoadBalancer' ? { loadBalancerIngressIPs: [lbIPs.allocate()] } : {}),
      sessionAffinity: affinity ? 'ClientIP' : 'None',
      ...(kind === 'ExternalName' ? {} : families),
    };
    cluster.addService(svc);
    out.push({ namespace: ns, name, kind, deployment: kind === 'ExternalName' ? null : name });
  }
  return out;
}

/**
 * Loads Kubernetes objects into the cluster as its starting state. A service whose EndpointSlices are in the
 * manifests keeps exactly those slices (they are authoritative, as in a dump of a real cluster); a service with
 * a selector and no slices gets them from the manifests' pods through the endpoints controller.
 * Returns the keys ("namespace/name") of the services loaded.
 */
export function loadManifestCluster(cluster: Cluster, m: LoadedManifests): string[] {
  for (const n of m.nodes) if (!cluster.nodes.has(n.name)) cluster.addNode(n.name, n.ips[0], n.podCIDR || undefined);
  for (const p of m.pods) if (p.nodeName !== '' && !cluster.nodes.has(p.nodeName)) cluster.addNode(p.nodeName);
  const withSlices = new Set(m.slices.map((s) => `${s.namespace}/${s.serviceName}`));
  for (const p of m.pods) cluster.addPod({ ...p });
  const keys: string[] = [];
  for (const s of m.services) {
    const key = `${s.namespace}/${s.name}`;
    cluster.addService({ ...s, selector: withSlices.has(key) ? null : s.selector });
    keys.push(key);
  }
  for (const sl of m.slices) cluster.upsertExternalSlice(sl);
  for (const ing of m.ingresses) cluster.upsertIngress(ing);
  return keys;
}
