import type { EndpointInfo, EndpointSlice, ProxySnapshot, Service, ServicePortInfo } from '../types.js';
import { NONE } from '../cluster/defaults.js';
import { externalPolicyLocal, internalPolicyLocal, needsHealthCheck, shouldSkipService } from './serviceport.js';

/**
 * Conversion of Services and EndpointSlices into what kube-proxy programs from, with kube-proxy's semantics
 * (pkg/proxy/serviceport.go, servicechangetracker.go, endpointslicecache.go):
 * - services kube-proxy skips (./serviceport.ts shouldSkipService: headless, ExternalName, no IPv4 cluster IP)
 *   produce no service ports;
 * - one ServicePortInfo per service port, keyed "namespace/name:portName" ("namespace/name" for an unnamed port);
 * - endpoints are taken from every slice of the service for the port with the same name and protocol,
 *   de-duplicated by "IP:port" and sorted by that string; unset conditions default as the API says
 *   (ready: true, serving: ready, terminating: false).
 */

export function servicePortKey(namespace: string, name: string, portName: string): string {
  // joined: one flat string (a concatenation is a rope of several objects; every service port keeps its key)
  return portName === '' ? [namespace, '/', name].join('') : [namespace, '/', name, ':', portName].join('');
}

/** The service ports kube-proxy would program for one Service (empty for headless / ExternalName). */
export function servicePortInfos(svc: Service, family: 'IPv4' | 'IPv6' = 'IPv4'): ServicePortInfo[] {
  if (shouldSkipService(svc, family)) return [];
  const etpLocal = externalPolicyLocal(svc);
  const hc = needsHealthCheck(svc);
  return svc.ports.map((p) => ({
    key: servicePortKey(svc.namespace, svc.name, p.name),
    namespace: svc.namespace,
    name: svc.name,
    portName: p.name,
    protocol: p.protocol,
    type: svc.type,
    clusterIP: svc.clusterIP,
    port: p.port,
    nodePort: svc.type === 'NodePort' || svc.type === 'LoadBalancer' ? p.nodePort : 0,
    targetPort: p.targetPort,
    externalIPs: copy(svc.externalIPs),
    loadBalancerIPs: svc.type === 'LoadBalancer' ? copy(svc.loadBalancerIngressIPs) : NONE,
    loadBalancerSourceRanges:
      svc.type === 'LoadBalancer' && svc.loadBalancerSourceRanges.length > 0 ? svc.loadBalancerSourceRanges.map((r) => r.trim()) : NONE,
    externalPolicyLocal: etpLocal,
    internalPolicyLocal: internalPolicyLocal(svc),
    stickyMaxAgeSeconds: svc.sessionAffinity === 'ClientIP' ? svc.sessionAffinityTimeoutSeconds : 0,
    healthCheckNodePort: hc ? svc.healthCheckNodePort : 0,
  }));
}

/** A copy of a list, or the shared empty one (most services have no external or load-balancer addresses). */
function copy(l: readonly string[]): string[] {
  return l.length === 0 ? NONE : [...l];
}

/** Endpoints of one service port, from the service's slices, as kube-proxy's EndpointSliceCache merges them. */
export function endpointsForPort(
  port: Pick<ServicePortInfo, 'portName' | 'protocol'>,
  slices: readonly EndpointSlice[],
  nodeName: string,
  family: 'IPv4' | 'IPv6' = 'IPv4',
): EndpointInfo[] {
  const byAddr = new Map<string, EndpointInfo>();
  for (const slice of slices) {
    if (slice.addressType !== family) continue;
    for (const sp of slice.ports) {
      if (sp.name !== port.portName || sp.protocol !== port.protocol) continue;
      for (const ep of slice.endpoints) {
        const ip = ep.addresses[0];
        if (ip === undefined) continue;
        // kube-proxy's endpoint string (net.JoinHostPort): "[fd00::1]:80" for IPv6
        const id = family === 'IPv6' ? `[${ip}]:${sp.port}` : `${ip}:${sp.port}`;
        if (byAddr.has(id)) continue;
        byAddr.set(id, {
          ip,
          port: sp.port,
          ready: ep.conditions.ready,
          serving: ep.conditions.serving,
          terminating: ep.conditions.terminating,
          nodeName: ep.nodeName,
          zone: ep.zone,
          isLocal: ep.nodeName !== '' && ep.nodeName === nodeName,
        });
      }
    }
  }
  return [...byAddr.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, e]) => e);
}

/**
 * A service as kube-proxy's proxier of one family sees it: for IPv6, its IPv6 cluster IP and addresses (null when
 * the service has no IPv6 family), as pkg/proxy/serviceport.go filters a dual-stack service per family.
 */
export function serviceForFamily(svc: Service, family: 'IPv4' | 'IPv6'): Service | null {
  if (family === 'IPv4') return svc;
  if (svc.type === 'ExternalName' || svc.clusterIP === 'None') return svc;
  if (svc.ipv6 === undefined) return null;
  return {
    ...svc,
    clusterIP: svc.ipv6.clusterIP,
    externalIPs: [...svc.ipv6.externalIPs],
    loadBalancerIngressIPs: [...svc.ipv6.loadBalancerIngressIPs],
    loadBalancerSourceRanges: [...svc.ipv6.loadBalancerSourceRanges],
  };
}

/** A whole snapshot from lists of objects (slices are matched to services by their service-name label). */
export function buildSnapshot(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  nodeName: string,
  family: 'IPv4' | 'IPv6' = 'IPv4',
): ProxySnapshot {
  const slicesBySvc = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const k = `${s.namespace}/${s.serviceName}`;
    let l = slicesBySvc.get(k);
    if (l === undefined) slicesBySvc.set(k, (l = []));
    l.push(s);
  }
  const svcMap = new Map<string, ServicePortInfo>();
  const epMap = new Map<string, EndpointInfo[]>();
  for (const svcAny of services) {
    const svc = serviceForFamily(svcAny, family);
    if (svc === null) continue;
    const mine = slicesBySvc.get(`${svc.namespace}/${svc.name}`) ?? [];
    for (const info of servicePortInfos(svc, family)) {
      svcMap.set(info.key, info);
      epMap.set(info.key, endpointsForPort(info, mine, nodeName, family));
    }
  }
  return { services: svcMap, endpoints: epMap };
}
