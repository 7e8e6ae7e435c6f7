/**
 * Service-port semantics shared by every data plane, one name per predicate, as kube-proxy defines them:
 * - on a Service (what the service change tracker decides): ShouldSkipService (pkg/proxy/util/utils.go) with the
 *   IPv4 tracker's family filter (GetClusterIPByFamily), ExternalPolicyLocal / InternalPolicyLocal /
 *   NeedsHealthCheck (pkg/api/v1/service/util.go);
 * - on a service port (pkg/proxy/serviceport.go, BaseServicePortInfo): ExternallyAccessible,
 *   UsesClusterEndpoints, UsesLocalEndpoints.
 * The functions take the fields they read, so they apply to a Service, a ServicePortInfo, or a backend's own
 * family-filtered view of one.
 */
import { parseIPv4 } from '../net/ipv4.js';
import { parseIPSloppy } from '../net/ip.js';
import type { Service, ServicePortInfo } from '../types.js';

/**
 * ShouldSkipService: kube-proxy programs nothing for a headless service (cluster IP "None" or empty) or an
 * ExternalName service. This harness runs the IPv4 proxier, whose change tracker also drops a service without an
 * IPv4 cluster IP (GetClusterIPByFamily returns ""), so that is skipped too.
 */
export function shouldSkipService(s: Pick<Service, 'type' | 'clusterIP'>, family: 'IPv4' | 'IPv6' = 'IPv4'): boolean {
  if (s.clusterIP === 'None' || s.clusterIP === '') return true;
  if (s.type === 'ExternalName') return true;
  // the IPv6 proxier's tracker keeps the service's IPv6 cluster IP (snapshot.ts serviceForFamily gives that view)
  if (family === 'IPv6') return parseIPSloppy(s.clusterIP)?.family !== 'IPv6';
  return parseIPv4(s.clusterIP) === null;
}

/** The Service-level ExternallyAccessible of pkg/api/v1/service: LoadBalancer, NodePort, or ClusterIP with external IPs. */
function serviceExternallyAccessible(svc: Pick<Service, 'type' | 'externalIPs'>): boolean {
  return svc.type === 'LoadBalancer' || svc.type === 'NodePort' || (svc.type === 'ClusterIP' && svc.externalIPs.length > 0);
}

/** ExternalPolicyLocal: externally accessible and externalTrafficPolicy Local. */
export function externalPolicyLocal(svc: Pick<Service, 'type' | 'externalIPs' | 'externalTrafficPolicy'>): boolean {
  return serviceExternallyAccessible(svc) && svc.externalTrafficPolicy === 'Local';
}

/** InternalPolicyLocal: internalTrafficPolicy Local. */
export function internalPolicyLocal(svc: Pick<Service, 'internalTrafficPolicy'>): boolean {
  return svc.internalTrafficPolicy === 'Local';
}

/** NeedsHealthCheck: a LoadBalancer with externalTrafficPolicy Local (it then has a health-check node port). */
export function needsHealthCheck(svc: Pick<Service, 'type' | 'externalIPs' | 'externalTrafficPolicy'>): boolean {
  return svc.type === 'LoadBalancer' && externalPolicyLocal(svc);
}

/** The fields of a service port that decide where its traffic may come from. */
export interface PortReach {
  nodePort: number;
  loadBalancerIPs: readonly unknown[];
  externalIPs: readonly unknown[];
}

/** ExternallyAccessible: the port is reachable by something other than its cluster IP (node port, LB or external IPs). */
export function externallyAccessible(s: PortReach): boolean {
  return s.nodePort !== 0 || s.loadBalancerIPs.length > 0 || s.externalIPs.length > 0;
}

/**
 * UsesClusterEndpoints: internal policy Cluster, or any external traffic at all (even with externalTrafficPolicy
 * Local, cluster endpoints are needed to short-circuit traffic from inside the cluster).
 */
export function usesClusterEndpoints(s: PortReach & Pick<ServicePortInfo, 'internalPolicyLocal'>): boolean {
  return !s.internalPolicyLocal || externallyAccessible(s);
}

/** UsesLocalEndpoints: internal policy Local, or external policy Local on an externally accessible port. */
export function usesLocalEndpoints(s: PortReach & Pick<ServicePortInfo, 'internalPolicyLocal' | 'externalPolicyLocal'>): boolean {
  return s.internalPolicyLocal || (s.externalPolicyLocal && externallyAccessible(s));
}
