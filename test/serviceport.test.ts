/** Service-port semantics (src/proxy/serviceport.ts) against kube-proxy's definitions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  externallyAccessible,
  externalPolicyLocal,
  internalPolicyLocal,
  needsHealthCheck,
  shouldSkipService,
  usesClusterEndpoints,
  usesLocalEndpoints,
} from '../src/proxy/serviceport.js';

test('ShouldSkipService: headless, ExternalName and (IPv4 proxier) non-IPv4 cluster IPs are skipped', () => {
  assert.equal(shouldSkipService({ type: 'ClusterIP', clusterIP: '10.96.0.10' }), false);
  assert.equal(shouldSkipService({ type: 'ClusterIP', clusterIP: 'None' }), true);
  assert.equal(shouldSkipService({ type: 'ClusterIP', clusterIP: '' }), true);
  assert.equal(shouldSkipService({ type: 'ExternalName', clusterIP: '10.96.0.10' }), true);
  assert.equal(shouldSkipService({ type: 'ClusterIP', clusterIP: 'fd00::10' }), true);
});

test('ExternalPolicyLocal / InternalPolicyLocal / NeedsHealthCheck on a Service', () => {
  const local = { externalTrafficPolicy: 'Local', externalIPs: [] as string[] } as const;
  assert.equal(externalPolicyLocal({ ...local, type: 'ClusterIP' }), false, 'not externally accessible');
  assert.equal(externalPolicyLocal({ ...local, type: 'ClusterIP', externalIPs: ['192.0.2.1'] }), true);
  assert.equal(externalPolicyLocal({ ...local, type: 'NodePort' }), true);
  assert.equal(needsHealthCheck({ ...local, type: 'NodePort' }), false);
  assert.equal(needsHealthCheck({ ...local, type: 'LoadBalancer' }), true);
  assert.equal(needsHealthCheck({ ...local, type: 'LoadBalancer', externalTrafficPolicy: 'Cluster' }), false);
  assert.equal(internalPolicyLocal({ internalTrafficPolicy: 'Local' }), true);
  assert.equal(internalPolicyLocal({ internalTrafficPolicy: 'Cluster' }), false);
});

test('ExternallyAccessible, UsesClusterEndpoints, UsesLocalEndpoints on a service port', () => {
  const internal = { nodePort: 0, loadBalancerIPs: [], externalIPs: [] };
  const nodePort = { nodePort: 30080, loadBalancerIPs: [], externalIPs: [] };
  assert.equal(externallyAccessible(internal), false);
  assert.equal(externallyAccessible(nodePort), true);
  assert.equal(externallyAccessible({ ...internal, loadBalancerIPs: ['203.0.113.1'] }), true);
  // [internalPolicyLocal, externalPolicyLocal, reach] -> [usesCluster, usesLocal]
  const rows: [boolean, boolean, typeof internal, boolean, boolean][] = [
    [false, false, internal, true, false],
    [true, false, internal, false, true],
    [false, true, nodePort, true, true],
    [true, false, nodePort, true, true],
    [false, true, internal, true, false],
  ];
  for (const [itp, etp, reach, cluster, local] of rows) {
    const p = { ...reach, internalPolicyLocal: itp, externalPolicyLocal: etp };
    assert.equal(usesClusterEndpoints(p), cluster, JSON.stringify(p));
    assert.equal(usesLocalEndpoints(p), local, JSON.stringify(p));
  }
});
