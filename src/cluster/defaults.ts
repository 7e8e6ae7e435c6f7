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
  return {
    labels: {},
    ip: '',
    nodeName: '',
    phase: 'Running',
    ready: true,
    terminating: false,
    hostname: '',
    subdomain: '',
    containerPorts: [],
    ...p,
  };
}
