/**
 * kube-proxy's own expectations for its nftables proxier (pkg/proxy/nftables/proxier_test.go), reproduced on the
 * nftables backend: TestOverallNFTablesRules and every step of TestSyncProxyRulesRepeated, including its counts of
 * transaction operations and its stale-chain bookkeeping. Upstream compares knftables' Fake.Dump() after
 * sortNFTablesTransaction; so do we (NftTable.dump() prints the same "add ..." lines).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointInfo, ProxySnapshot, ServicePortInfo } from '../src/types.js';
import { ep, svc } from './fixtures/iptables.js';
import { fixture, overallNftSnapshot, sortNFTablesTransaction, upstreamNft } from './fixtures/nftables/support.js';
import type { NftablesBackend } from '../src/backends/nftables/backend.js';

function assertDump(b: NftablesBackend, expected: string, what: string): void {
  assert.equal(sortNFTablesTransaction(b.proxier.table.dump()), sortNFTablesTransaction(expected), what);
}

test('TestOverallNFTablesRules: the whole table, byte for byte after upstream sorting', () => {
  const b = upstreamNft();
  const snap = overallNftSnapshot();
  const r = b.syncCounts(snap, new Set(), 0);
  assert.equal(r.full, true);
  assertDump(b, fixture('base-rules.nft') + fixture('overall.nft'), 'TestOverallNFTablesRules');
});

// ---------------------------------------------------------------------------------------------
// TestSyncProxyRulesRepeated
// ---------------------------------------------------------------------------------------------

class Cluster {
  services = new Map<string, ServicePortInfo>();
  endpoints = new Map<string, EndpointInfo[]>();
  changed = new Set<string>();
  set(s: ServicePortInfo, eps?: EndpointInfo[]): void {
    this.services.set(s.key, s);
    if (eps !== undefined) this.endpoints.set(s.key, eps);
    this.changed.add(s.key);
  }
  setEndpoints(key: string, eps: EndpointInfo[]): void {
    this.endpoints.set(key, eps);
    this.changed.add(key);
  }
  delete(key: string): void {
    this.services.delete(key);
    this.endpoints.delete(key);
    this.changed.add(key);
  }
  snap(): ProxySnapshot {
    return { services: new Map(this.services), endpoints: new Map(this.endpoints) };
  }
}

test('TestSyncProxyRulesRepeated: partial syncs write only what changed; stale chains are flushed, then deleted a second later', () => {
  const b = upstreamNft();
  const c = new Cluster();
  const now = 100;
  const sync = () => {
    const r = b.syncCounts(c.snap(), c.changed, now);
    c.changed.clear();
    return r;
  };
  // ageStaleChains(): make every stale chain look 2 s older
  const age = () => {
    for (const [k, t] of b.proxier.staleChains) b.proxier.staleChains.set(k, t - 2);
  };
  const base = fixture('base-rules.nft');
  const s1 = svc({ namespace: 'ns1', name: 'svc1', portName: 'p80', clusterIP: '172.30.0.41', port: 80 });
  const s2 = svc({ namespace: 'ns2', name: 'svc2', portName: 'p8080', clusterIP: '172.30.0.42', port: 8080 });
  c.set(s1, [ep('10.0.1.1', 80)]);
  c.set(s2, [ep('10.0.2.1', 8080)]);
  let r = sync();
  assert.equal(r.full, true);
  assertDump(b, base + fixture('repeated-1.nft'), 'initial state');

  // Add a new service and its endpoints
  const s3 = svc({ namespace: 'ns3', name: 'svc3', portName: 'p80', clusterIP: '172.30.0.43', port: 80 });
  c.set(s3, [ep('10.0.3.1', 80)]);
  r = sync();
  assert.equal(r.full, false);
  assertDump(b, base + fixture('repeated-2.nft'), 'add svc3');
  assert.equal(r.operations, 10, '2 elements + add/flush 2 chains + 2 rules each');
  assert.deepEqual([r.elementsAdded, r.elementsDeleted, r.chainsAdded, r.chainsFlushed, r.rulesWritten], [2, 0, 2, 2, 4]);

  // Delete a service; its chains are flushed, not deleted
  c.delete(s2.key);
  r = sync();
  assertDump(b, base + fixture('repeated-3.nft'), 'delete svc2');
  assert.equal(r.operations, 4, '2 element deletes + 2 chain flushes');

  // A second later the stale chains are deleted, in a transaction of their own
  age();
  r = sync();
  assertDump(b, base + fixture('repeated-4.nft'), 'stale chains deleted');
  assert.equal(r.operations, 0, 'nothing else changed');
  assert.equal(r.chainsDeleted, 2);
  // (upstream iterates a Go map; we delete in the order the chains went stale, which is the table's chain order)
  assert.equal(
    b.proxier.lastStaleTransaction(),
    'delete chain ip kube-proxy endpoint-7RVP4LUQ-ns2/svc2/tcp/p8080__10.0.2.1/8080\ndelete chain ip kube-proxy service-MHHHYRWA-ns2/svc2/tcp/p8080\n',
  );

  // Add a service, sync, then add its endpoints
  const s4 = svc({ namespace: 'ns4', name: 'svc4', portName: 'p80', clusterIP: '172.30.0.44', port: 80 });
  c.set(s4, []);
  r = sync();
  assertDump(b, base + fixture('repeated-5.nft'), 'svc4 without endpoints');
  assert.equal(r.operations, 2, 'cluster-ips + no-endpoint-services elements');
  c.setEndpoints(s4.key, [ep('10.0.4.1', 80)]);
  r = sync();
  assertDump(b, base + fixture('repeated-6.nft'), 'svc4 endpoints');
  assert.equal(r.operations, 10, 'service-ips add + no-endpoint-services delete + 2 chains');

  // Change an endpoint of an existing service: the old endpoint chain is flushed, not deleted yet
  c.setEndpoints(s3.key, [ep('10.0.3.2', 80)]);
  r = sync();
  assertDump(b, base + fixture('repeated-7.nft'), 'svc3 endpoint changed');
  assert.equal(r.operations, 9);
  age();

  // Add an endpoint to a service (the old chain is deleted first)
  c.setEndpoints(s3.key, [ep('10.0.3.2', 80), ep('10.0.3.3', 80)]);
  r = sync();
  assertDump(b, base + fixture('repeated-8.nft'), 'svc3 second endpoint');
  assert.equal(r.operations, 12);

  // Empty a service's endpoints: its chains are flushed, not deleted
  c.setEndpoints(s3.key, []);
  r = sync();
  assertDump(b, base + fixture('repeated-9.nft'), 'svc3 emptied');
  assert.equal(r.operations, 5);
  assert.deepEqual([...b.proxier.staleChains.keys()].sort(), [
    'endpoint-SWWHDC7X-ns3/svc3/tcp/p80__10.0.3.2/80',
    'endpoint-TQ2QKHCZ-ns3/svc3/tcp/p80__10.0.3.3/80',
    'service-4AT6LBPK-ns3/svc3/tcp/p80',
  ]);

  // Restore immediately: the chains come back and leave staleChains
  c.setEndpoints(s3.key, [ep('10.0.3.2', 80), ep('10.0.3.3', 80)]);
  r = sync();
  assertDump(b, base + fixture('repeated-10.nft'), 'svc3 restored');
  assert.equal(r.operations, 14);
  assert.equal(b.proxier.staleChains.size, 0);

  // Empty and restore after the stale chains aged: deleted first, then recreated
  c.setEndpoints(s3.key, []);
  sync();
  age();
  c.setEndpoints(s3.key, [ep('10.0.3.2', 80), ep('10.0.3.3', 80)]);
  sync();
  assertDump(b, base + fixture('repeated-10.nft'), 'emptied and restored');

  // No changes: nothing written
  r = sync();
  assertDump(b, base + fixture('repeated-10.nft'), 'no change');
  assert.equal(r.operations, 0);
  assert.equal(r.transactions, 0);
});
