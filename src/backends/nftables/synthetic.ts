/**
 * A synthetic kube-proxy snapshot of S services x E endpoints with every shape kube-proxy's nftables proxier writes
 * (ClusterIP, NodePort, LoadBalancer with and without source ranges and eTP:Local, externalIPs, ClientIP affinity,
 * iTP:Local, services without endpoints), deterministic in its arguments. Used by the real-tool test and by
 * scripts/measure-nftables.ts to load rulesets of a chosen size into a private namespace.
 */
import type { EndpointInfo, ProxyNodeConfig, ProxySnapshot, ServicePortInfo } from '../../types.js';
import { formatIPv4 } from '../../net/ipv4.js';

export const SYNTHETIC_NODE: ProxyNodeConfig = {
  nodeName: 'node-1',
  nodeIPs: ['192.168.0.2'],
  clusterCIDR: '10.64.0.0/10',
  podCIDR: '10.64.1.0/24',
  localDetector: 'ClusterCIDR',
  masqueradeAll: false,
  masqueradeBit: 14,
  nodePortAddresses: [],
};

export interface SyntheticOptions {
  /** Service i is of a varied type (NodePort, LoadBalancer, ...) when true [true]; all ClusterIP when false. */
  mixed?: boolean;
}

/**
 * Service i: ClusterIP 10.96.0.1 + i, LB IP 198.18.0.0 + i, external IP 172.16.0.0 + i, unique node ports;
 * endpoints in 10.64.0.0/10, every address unique.
 */
export function syntheticSnapshot(services: number, endpoints: number, o: SyntheticOptions = {}): ProxySnapshot {
  const mixed = o.mixed ?? true;
  const svcs = new Map<string, ServicePortInfo>();
  const eps = new Map<string, EndpointInfo[]>();
  const base = (10 << 24) | (96 << 16);
  const epBase = (10 << 24) | (64 << 16);
  const stride = Math.max(16, endpoints + 1);
  for (let i = 0; i < services; i++) {
    const ns = `ns${i % 50}`;
    const name = `svc${i}`;
    const kind = mixed ? i % 20 : 0;
    const s: ServicePortInfo = {
      key: `${ns}/${name}:http`,
      namespace: ns,
      name,
      portName: 'http',
      protocol: kind === 7 ? 'UDP' : 'TCP',
      type: kind === 1 || kind === 2 ? 'NodePort' : kind === 3 || kind === 4 || kind === 5 ? 'LoadBalancer' : 'ClusterIP',
      clusterIP: formatIPv4(base + 1 + i),
      port: 80 + (i % 7),
      nodePort: kind >= 1 && kind <= 5 ? 30000 + Math.floor(i / 20) * 5 + (kind - 1) : 0,
      targetPort: 8080,
      externalIPs: kind === 6 ? [formatIPv4(((172 << 24) | (16 << 16)) + i)] : [],
      loadBalancerIPs: kind >= 3 && kind <= 5 ? [formatIPv4(((198 << 24) | (18 << 16)) + i)] : [],
      loadBalancerSourceRanges: kind === 4 ? ['203.0.113.0/25', '192.168.0.0/24'] : [],
      externalPolicyLocal: kind === 5 || kind === 2,
      internalPolicyLocal: kind === 8,
      stickyMaxAgeSeconds: kind === 9 ? 10800 : 0,
      healthCheckNodePort: kind === 5 || kind === 2 ? 32000 + (i % 700) : 0,
    };
    svcs.set(s.key, s);
    const n = mixed && kind === 10 ? 0 : endpoints;
    const list: EndpointInfo[] = [];
    for (let j = 0; j < n; j++) {
      const local = j === 0 && i % 3 === 0;
      list.push({
        ip: formatIPv4(epBase + i * stride + j + 1),
        port: 8080,
        ready: true,
        serving: true,
        terminating: false,
        nodeName: local ? SYNTHETIC_NODE.nodeName : `node-${2 + (j % 5)}`,
        zone: '',
        isLocal: local,
      });
    }
    list.sort((a, b) => {
      const x = `${a.ip}:${a.port}`;
      const y = `${b.ip}:${b.port}`;
      return x < y ? -1 : x > y ? 1 : 0;
    });
    eps.set(s.key, list);
  }
  return { services: svcs, endpoints: eps };
}
