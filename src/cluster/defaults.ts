import type { Pod, Service } from '../types.js';

/** What a caller gives to create a Service: name and namespace, the rest defaulted as the API server does. */
export type ServiceSpec = Partial<Service> & Pick<Service, 'namespace' | 'name'>;
export type PodSpec = Partial<Pod> & Pick<Pod, 'namespace' | 'name'>;

/** Fills in a Service with the API server's defaults (allocation of IPs and node ports is the Cluster's job). */
export function serviceWithDefaults(s: ServiceSpec): Service {
  return {
    labels: {},
    type: 'ClusterIP',
    clusterIP: '',
    ports: [],
    selector: null,
    externalIPs: [],
    loadBalancerIngressIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    sessionAffinity: 'None',
    sessionAffinityTimeoutSeconds: 10800,
    healthCheckNodePort: 0,
    externalName: '',
    publishNotReadyAddresses: false,
    ...s,
  };
}

export function podWithDefaults(p: PodSpec): Pod {
  // every field in the literal first (one shape, all fields in the object: a million pods cost no property
  // arrays), defaults without allocating objects that the spec's own values replace
  return {
    namespace: p.namespace,
    name: p.name,
    labels: p.labels ?? {},
    ip: p.ip ?? '',
    nodeName: p.nodeName ?? '',
    phase: p.phase ?? 'Running',
    ready: p.ready ?? true,
    terminating: p.terminating ?? false,
    hostname: p.hostname ?? '',
    subdomain: p.subdomain ?? '',
    containerPorts: p.containerPorts ?? [],
    ...(p as Partial<Pod>), // as given (fields set above are only reassigned; a field added to Pod later is kept)
  };
}
