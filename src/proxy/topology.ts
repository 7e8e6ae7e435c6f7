import type { EndpointInfo } from '../types.js';

/**
 * Endpoint selection shared by every data plane, as kube-proxy's pkg/proxy/topology.go does it (topology hints
 * are not modelled); which endpoint sets a service port uses comes from ./serviceport.ts.
 */

/** CategorizeEndpoints (pkg/proxy/topology.go) without topology hints, which the harness does not model. */
export function categorizeEndpoints(
  eps: readonly EndpointInfo[],
  usesCluster: boolean,
  usesLocal: boolean,
): { cluster: EndpointInfo[]; local: EndpointInfo[]; all: EndpointInfo[]; hasAny: boolean } {
  let cluster: EndpointInfo[] = [];
  let local: EndpointInfo[] = [];
  let hasAny = false;
  let useServingTerminating = false;
  if (usesCluster) {
    cluster = eps.filter((e) => e.ready);
    // no ready endpoint anywhere: fall back to serving-and-terminating ones
    if (cluster.length === 0) cluster = eps.filter((e) => e.serving && e.terminating);
    if (cluster.length > 0) hasAny = true;
  }
  if (!usesLocal) return { cluster, local, all: cluster, hasAny };
  let localReady = false;
  let localServingTerminating = false;
  for (const e of eps) {
    if (e.ready) {
      hasAny = true;
      if (e.isLocal) localReady = true;
    } else if (e.serving && e.terminating) {
      hasAny = true;
      if (e.isLocal) localServingTerminating = true;
    }
  }
  if (localReady) local = eps.filter((e) => e.isLocal && e.ready);
  else if (localServingTerminating) {
    useServingTerminating = true;
    local = eps.filter((e) => e.isLocal && e.serving && e.terminating);
  }
  if (!usesCluster) return { cluster, local, all: local, hasAny };
  if (!useServingTerminating) return { cluster, local, all: cluster, hasAny };
  // Upstream merges the two lists through a map (random order); we keep the endpoint-string order.
  const byKey = new Map<string, EndpointInfo>();
  for (const e of cluster) byKey.set(`${e.ip}:${e.port}`, e);
  for (const e of local) byKey.set(`${e.ip}:${e.port}`, e);
  const all = [...byKey.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, e]) => e);
  return { cluster, local, all, hasAny };
}
