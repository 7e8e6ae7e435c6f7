/**
 * The cluster of one scenario case, built as `kpbench run` builds it (src/bench/case.ts: same nodes, same seeded
 * streams, buildSyntheticCluster / loadManifestCluster / setUpIngress from src/bench), up to the initial sync:
 * the ProxySnapshot node-1's kube-proxy programs first, and that node's kube-proxy settings.
 */
import type { ProxyNodeConfig, ProxySnapshot, EndpointSlice } from '../types.js';
import { Scheduler } from '../sim/scheduler.js';
import { RngStreams } from '../sim/rng.js';
import { Cluster } from '../cluster/cluster.js';
import { EndpointsController } from '../cluster/endpoints.js';
import { loadManifests } from '../cluster/manifests.js';
import { Deployments } from '../workload/deployments.js';
import { buildSyntheticCluster, distributionMean, loadManifestCluster } from '../bench/build.js';
import { setUpIngress } from '../bench/ingress.js';
import { buildSnapshot } from '../proxy/snapshot.js';
import type { ScenarioCase } from '../scenario/load.js';

export interface CaseCluster {
  snapshot: ProxySnapshot;
  node: ProxyNodeConfig;
  services: number;
  endpointsPerService: number;
}

export function buildCaseCluster(c: ScenarioCase): CaseCluster {
  const sc = c.scenario;
  const sched = new Scheduler();
  const rng = new RngStreams(sc.seed);
  const cluster = new Cluster({ clock: () => sched.now, clusterCIDR: sc.proxy.clusterCIDR });
  const endpoints = new EndpointsController(cluster);
  for (let i = 0; i < sc.cluster.nodes; i++) cluster.addNode(`node-${i + 1}`);
  const proxyCount = Math.min(sc.cluster.proxyNodes ?? sc.cluster.nodes, sc.cluster.nodes);
  const proxyNames = [...cluster.nodes.keys()].slice(0, proxyCount);
  const deployments = new Deployments(cluster, sched, rng.stream('workload.placement'), {
    startupSeconds: sc.churn.startupSeconds,
    readinessDelaySeconds: sc.churn.readinessDelaySeconds,
    terminationGraceSeconds: sc.churn.terminationGraceSeconds,
  });
  const synthetic = buildSyntheticCluster(cluster, sc.cluster, rng, deployments);
  if (sc.cluster.manifests.length > 0) loadManifestCluster(cluster, loadManifests(sc.cluster.manifests));
  if (sc.ingress.enabled) setUpIngress(cluster, synthetic, sc.ingress, proxyNames);
  sched.runUntil(0);
  const first = cluster.nodes.get(proxyNames[0]!)!;
  const node: ProxyNodeConfig = {
    nodeName: first.name,
    nodeIPs: first.ips,
    clusterCIDR: sc.proxy.clusterCIDR,
    podCIDR: first.podCIDR,
    localDetector: sc.proxy.detectLocalMode,
    masqueradeAll: sc.proxy.masqueradeAll,
    masqueradeBit: 14,
    nodePortAddresses: [],
  };
  const slices: EndpointSlice[] = [];
  for (const key of cluster.services.keys()) slices.push(...endpoints.slicesOf(key));
  const snapshot = buildSnapshot([...cluster.services.values()], slices, first.name);
  return { snapshot, node, services: sc.cluster.services, endpointsPerService: distributionMean(sc.cluster.endpointsPerService) };
}
