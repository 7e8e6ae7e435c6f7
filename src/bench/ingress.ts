import type { Cluster } from '../cluster/cluster.js';
import { IngressRouter } from '../cluster/ingress.js';
import type { IngressSpec } from '../scenario/schema.js';
import type { SyntheticService } from './build.js';

export interface IngressSetup {
  router: IngressRouter;
  /** "namespace/name" of the controller's NodePort service. */
  serviceKey: string;
  nodePort: number;
}

export const INGRESS_NAMESPACE = 'ingress-nginx';

/**
 * An ingress-fronted application: an ingress controller Deployment (its pods on the simulated nodes) exposed by a
 * NodePort service, and one Ingress per application namespace, written in that namespace, routing
 * host `<namespace>.example.com`, path `/<service>` (Prefix) to each ClusterIP service on its first port.
 * The one controller serves the rules of every namespace.
 */
export function setUpIngress(
  cluster: Cluster,
  services: readonly SyntheticService[],
  spec: IngressSpec,
  nodes: readonly string[],
): IngressSetup {
  const labels = { 'app.kubernetes.io/name': 'ingress-nginx' };
  for (let i = 0; i < spec.replicas; i++) {
    cluster.addPod({
      namespace: INGRESS_NAMESPACE,
      name: `ingress-nginx-controller-${i}`,
      labels,
      nodeName: nodes[i % nodes.length]!,
      containerPorts: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
    });
  }
  const svc = cluster.addService({
    namespace: INGRESS_NAMESPACE,
    name: 'ingress-nginx-controller',
    type: 'NodePort',
    selector: labels,
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 0 }],
  });
  const byNs = new Map<string, SyntheticService[]>();
  for (const s of services) {
    if (s.kind === 'headless' || s.kind === 'ExternalName') continue;
    let l = byNs.get(s.namespace);
    if (l === undefined) byNs.set(s.namespace, (l = []));
    l.push(s);
  }
  for (const [ns, list] of byNs) {
    const svcPort = (s: SyntheticService): number => cluster.services.get(`${s.namespace}/${s.name}`)!.ports[0]!.port;
    cluster.upsertIngress({
      namespace: ns,
      name: `${ns}-routes`,
      ingressClassName: 'nginx',
      rules: [
        {
          host: `${ns}.example.com`,
          paths: list.map((s) => ({ path: `/${s.name}`, pathType: 'Prefix', serviceName: s.name, servicePort: svcPort(s) })),
        },
      ],
    });
  }
  return {
    router: new IngressRouter(cluster, { ingressClassName: 'nginx' }),
    serviceKey: `${INGRESS_NAMESPACE}/${svc.name}`,
    nodePort: svc.ports[0]!.nodePort,
  };
}
