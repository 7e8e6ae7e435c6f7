import type { Pod, Service } from '../types.js';

/** What a caller gives to create a Service: name and namespace, the rest defaulted as the API server does. */
export type ServiceSpec = Partial<Service> & Pick<Service, 'namespace' | 'name'>;
export type PodSpec = Partial<Pod> & Pick<Pod, 'namespace' | 'name'>;

/**
 * One empty list for every object that has none of something (a service's external IPs, most of the time): lists
 * of API objects are replaced, never changed in place, so they can be shared; frozen, so a change would throw.
 */
export const NONE: string[] = Object.freeze([]) as unknown as string[];

/** Fills in a Service with the API server's defaults (allocation of IPs and node ports is the Cluster's job). */
export function serviceWithDefaults(s: ServiceSpec): Service {
  return {
    // namespace and name first: every field is in the literal (in the object, no separate property array)
    namespace: s.namespace,
    name: s.name,
    labels: {},
    type: 'ClusterIP',
    clusterIP: '',
    ports: [],
    selector: null,
    externalIPs: NONE,
    loadBalancerIngressIPs: NONE,
    loadBalancerSourceRanges: NONE,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    sessionAffinity: 'None',
    sessionAffinityTimeoutSeconds: 10800,
    healthCheckNodePort: 0,
    externalName: '',
    publishNotReadyAddresses: false,
    ...(s as Partial<Service>), // as given (namespace and name above are only reassigned)
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
