import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IpvsProxier,
  destMsgBytes,
  ipsetMsgBytes,
  serviceMsgBytes,
  ADDRESS_MSG_BYTES,
  type IpvsSyncResult,
} from '../src/backends/ipvs/index.js';
import type { SyncResult } from '../src/types.js';
import { Cluster, NODE, ep, svc, uniformCluster, smallCluster } from './fixtures/ipvs/cluster.js';

const RNG = { next: () => 0.5 };

function counts(r: SyncResult): Record<string, string | number | boolean | undefined> {
  return {
    mode: r.mode,
    ipvsOps: r.counts.ipvs_operations,
    ipsetOps: r.counts.ipset_operations,
    addressOps: r.counts.address_operations,
    rulesWritten: r.counts.rules_written,
    chainsWritten: r.counts.chains_written,
    rulesInKernel: r.counts.rules_in_kernel,
    iptablesRestored: r.counts.restores === 1,
  };
}

/** The SyncResult fields only (what the harness sees), without the backend's own detail. */
function plain(r: IpvsSyncResult): SyncResult {
  const { detail: _d, ...rest } = r;
  return rest;
}

// With only ClusterIP TCP services the restore input holds 19 rules (9 nat, 10 filter) in 11 chains; the
// kernel tables also hold the 9 jump rules kube-proxy inserts into built-in chains.
const BASE = { rulesWritten: 19, chainsWritten: 11, rulesInKernel: 28, iptablesRestored: true };

test('first sync of S services x E endpoints: S+S*E IPVS ops, 2S ipset entries, S addresses', () => {
  for (const [S, E] of [
    [3, 4],
    [50, 10],
  ] as const) {
    const c = uniformCluster(S, E);
    const b = new IpvsProxier({ node: NODE });
    const r = b.sync(c.request(0));
    assert.deepEqual(counts(r), { mode: 'full', ipvsOps: S + S * E, ipsetOps: 2 * S, addressOps: S, ...BASE });
    assert.equal(r.detail.virtualServersAdded, S);
    assert.equal(r.detail.realServersAdded, S * E);
    assert.deepEqual(b.size(), {
      iptables_rules: 28,
      iptables_chains: 11,
      ipvs_virtual_servers: S,
      ipvs_real_servers: S * E,
      ipset_entries: 2 * S,
    });
    // bytes: the restore input plus the per-request estimates
    assert.equal(r.detail.restoreBytes, Buffer.byteLength(b.lastRestoreInput()));
    assert.equal(r.detail.netlinkBytes, S * serviceMsgBytes('rr') + S * E * destMsgBytes('rr') + S * ADDRESS_MSG_BYTES);
    assert.equal(r.detail.ipsetBytes, S * ipsetMsgBytes('KUBE-CLUSTER-IP', 'hash:ip,port') + S * ipsetMsgBytes('KUBE-IPVS-IPS', 'hash:ip'));
    assert.equal(r.counts.bytes_written, r.detail.restoreBytes + r.detail.netlinkBytes + r.detail.ipsetBytes);
  }
  // the per-request estimates themselves
  assert.deepEqual(
    [
      serviceMsgBytes('rr'),
      destMsgBytes('rr'),
      ADDRESS_MSG_BYTES,
      ipsetMsgBytes('KUBE-CLUSTER-IP', 'hash:ip,port'),
      ipsetMsgBytes('KUBE-IPVS-IPS', 'hash:ip'),
    ],
    [92, 144, 40, 80, 64],
  );
});

test('a sync with nothing changed writes only the iptables-restore input', () => {
  const c = uniformCluster(5, 3);
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  const r = b.sync(c.request(1));
  assert.deepEqual(counts(r), { mode: 'partial', ipvsOps: 0, ipsetOps: 0, addressOps: 0, ...BASE });
  assert.equal(r.counts.bytes_written, Buffer.byteLength(b.lastRestoreInput()));
  // kube-proxy still reads every virtual server back (GetVirtualServer x2, GetRealServers) and lists every set
  assert.equal(r.detail.netlinkReads, 3 * 5 + 3);
  assert.equal(r.detail.ipsetListCalls, 17);
});

test('one endpoint added: one real server add', () => {
  const c = uniformCluster(4, 3);
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  const k = 'ns2/svc2:http';
  c.setEndpoints(k, [...c.endpoints.get(k)!, ep('10.244.9.9', 8080)]);
  const r = b.sync(c.request(5));
  assert.deepEqual(counts(r), { mode: 'partial', ipvsOps: 1, ipsetOps: 0, addressOps: 0, ...BASE });
  assert.equal(r.counts.bytes_written, r.detail.restoreBytes + destMsgBytes('rr'));
  assert.equal(b.size().ipvs_real_servers, 13);
});

test('one endpoint removed with no connections: deleted at once', () => {
  const c = uniformCluster(4, 3);
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  const k = 'ns1/svc1:http';
  c.setEndpoints(k, c.endpoints.get(k)!.slice(1));
  const r = b.sync(c.request(5));
  assert.deepEqual(counts(r), { mode: 'partial', ipvsOps: 1, ipsetOps: 0, addressOps: 0, ...BASE });
  assert.equal(r.detail.realServersDeleted, 1);
  assert.equal(b.size().ipvs_real_servers, 11);
  assert.equal(b.housekeeping(65), null);
});

test('graceful termination: weight 0 while connections last, deleted by housekeeping after the last closes', () => {
  const c = new Cluster().set(svc({ key: 'a/web:http', clusterIP: '10.96.0.20', port: 80 }), [
    ep('10.244.2.1', 8080),
    ep('10.244.2.2', 8080),
  ]);
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  const pkt = { srcIP: '10.244.5.5', srcPort: 40000, dstIP: '10.96.0.20', dstPort: 80, protocol: 'TCP' as const, local: false };
  // rr from the list head: the last added (10.244.2.2) first
  const l1 = b.lookup(pkt, RNG, 1);
  assert.deepEqual(l1.endpoint, { ip: '10.244.2.2', port: 8080 });

  c.setEndpoints('a/web:http', [ep('10.244.2.1', 8080)]);
  const r = b.sync(c.request(10));
  assert.deepEqual(counts(r), { mode: 'partial', ipvsOps: 1, ipsetOps: 0, addressOps: 0, ...BASE });
  assert.equal(r.detail.realServersUpdated, 1, 'weight set to 0, not deleted');
  assert.equal(r.detail.gracefulPending, 1);
  assert.match(b.render()['ipvsadm -S -n']!, /-a -t 10\.96\.0\.20:80 -r 10\.244\.2\.2:8080 -m -w 0\n/);
  assert.equal(b.size().ipvs_real_servers, 2);
  // a quiesced server gets no new connection
  for (let i = 0; i < 4; i++)
    assert.deepEqual(b.lookup({ ...pkt, srcPort: 40001 + i }, RNG, 11).endpoint, { ip: '10.244.2.1', port: 8080 });

  assert.equal(b.housekeeping(60), null, 'still one active connection');
  b.connectionClosed({ ip: '10.244.2.2', port: 8080 }, 'a/web:http', 'TCP');
  // the closed connection stays in FIN_WAIT/TIME_WAIT (inactive) for 120 s
  assert.equal(b.housekeeping(120), null);
  const h = b.housekeeping(181);
  assert.ok(h !== null);
  assert.deepEqual(counts(h), {
    mode: 'partial',
    ipvsOps: 1,
    ipsetOps: 0,
    addressOps: 0,
    rulesWritten: 0,
    chainsWritten: 0,
    rulesInKernel: 28,
    iptablesRestored: false,
  });
  assert.equal(h.counts.bytes_written, destMsgBytes('rr'));
  assert.equal(b.size().ipvs_real_servers, 1);
  assert.doesNotMatch(b.render()['ipvsadm -S -n']!, /10\.244\.2\.2/);
});

test('graceful termination: a UDP real server is deleted at once, an SCTP one waits like TCP', () => {
  const c = new Cluster()
    .set(svc({ key: 'a/dns:dns', clusterIP: '10.96.0.10', port: 53, protocol: 'UDP' }), [ep('10.244.2.1', 53), ep('10.244.2.2', 53)])
    .set(svc({ key: 'a/sig:sctp', clusterIP: '10.96.0.11', port: 3868, protocol: 'SCTP' }), [
      ep('10.244.2.1', 3868),
      ep('10.244.2.2', 3868),
    ]);
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  for (let i = 0; i < 4; i++) {
    b.lookup({ srcIP: '10.244.5.5', srcPort: 5000 + i, dstIP: '10.96.0.10', dstPort: 53, protocol: 'UDP', local: false }, RNG, 1);
    b.lookup({ srcIP: '10.244.5.5', srcPort: 6000 + i, dstIP: '10.96.0.11', dstPort: 3868, protocol: 'SCTP', local: false }, RNG, 1);
  }
  c.setEndpoints('a/dns:dns', [ep('10.244.2.1', 53)]);
  c.setEndpoints('a/sig:sctp', [ep('10.244.2.1', 3868)]);
  const r = b.sync(c.request(10));
  assert.equal(r.counts.ipvs_operations, 2);
  assert.equal(r.detail.realServersDeleted, 1, 'UDP: deleted although connections exist');
  assert.equal(r.detail.realServersUpdated, 1, 'SCTP: weight 0');
  assert.equal(b.size().ipvs_real_servers, 3);
});

test('an endpoint that comes back while terminating is deleted and added again with weight 1', () => {
  const c = new Cluster().set(svc({ key: 'a/web:http', clusterIP: '10.96.0.20', port: 80 }), [
    ep('10.244.2.1', 8080),
    ep('10.244.2.2', 8080),
  ]);
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  b.lookup({ srcIP: '10.244.5.5', srcPort: 40000, dstIP: '10.96.0.20', dstPort: 80, protocol: 'TCP', local: false }, RNG, 1);
  c.setEndpoints('a/web:http', [ep('10.244.2.1', 8080)]);
  assert.equal(b.sync(c.request(10)).counts.ipvs_operations, 1);
  c.setEndpoints('a/web:http', [ep('10.244.2.1', 8080), ep('10.244.2.2', 8080)]);
  const r = b.sync(c.request(20));
  assert.deepEqual(
    [r.counts.ipvs_operations, r.detail.realServersDeleted, r.detail.realServersAdded, r.detail.gracefulPending],
    [2, 1, 1, 0],
  );
  assert.match(b.render()['ipvsadm -S -n']!, /-r 10\.244\.2\.2:8080 -m -w 1\n/);
  // the kernel took the destination back from its trash: its connection still counts
  assert.equal(b.kernel.services.get('TCP|10.96.0.20|80')!.dests.find((x) => x.ip === '10.244.2.2' && x.port === 8080)!.activeConns, 1);
});

test('a service deleted: its virtual server (and with it every real server), 2 ipset entries, 1 address', () => {
  const c = uniformCluster(4, 3);
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  c.delete('ns3/svc3:http');
  const r = b.sync(c.request(5));
  assert.deepEqual(counts(r), { mode: 'partial', ipvsOps: 1, ipsetOps: 2, addressOps: 1, ...BASE });
  assert.deepEqual(b.size(), { iptables_rules: 28, iptables_chains: 11, ipvs_virtual_servers: 3, ipvs_real_servers: 9, ipset_entries: 6 });
  assert.equal(b.addresses().length, 3);
});

test('a service added: 1 + E IPVS ops, 2 ipset entries, 1 address', () => {
  const c = uniformCluster(4, 3);
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  c.set(svc({ key: 'new/svc:http', clusterIP: '10.96.200.1', port: 80 }), [
    ep('10.244.8.1', 8080),
    ep('10.244.8.2', 8080),
    ep('10.244.8.3', 8080),
    ep('10.244.8.4', 8080),
    ep('10.244.8.5', 8080),
  ]);
  const r = b.sync(c.request(5));
  assert.deepEqual(counts(r), { mode: 'partial', ipvsOps: 6, ipsetOps: 2, addressOps: 1, ...BASE });
});

test('ports sharing a cluster IP share its kube-ipvs0 address and KUBE-IPVS-IPS entry', () => {
  const c = smallCluster();
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  c.delete('kube-system/kube-dns:dns-tcp');
  const r = b.sync(c.request(5));
  // the TCP virtual server and its two real servers go; the address stays bound for the UDP port
  assert.deepEqual(
    [r.counts.ipvs_operations, r.detail.virtualServersDeleted, r.counts.ipset_operations, r.counts.address_operations],
    [1, 1, 2, 0],
  );
  assert.ok(b.addresses().includes('10.96.0.10'));
  // KUBE-CLUSTER-IP loses 10.96.0.10,tcp:53 and KUBE-LOOP-BACK loses 10.244.1.2,tcp:53,10.244.1.2
  assert.doesNotMatch(b.render()['ipset save']!, /tcp:53/);
  assert.match(b.render()['ipset save']!, /add KUBE-IPVS-IPS 10\.96\.0\.10\n/);
});

test('the writes of a one-endpoint change do not depend on the number of services (10 vs 1,000); the reads do', () => {
  const results: SyncResult[] = [];
  const reads: Array<[number | undefined, number | undefined]> = [];
  for (const S of [10, 1000]) {
    const c = uniformCluster(S, 5);
    const b = new IpvsProxier({ node: NODE });
    b.sync(c.request(0));
    const k = 'ns7/svc7:http';
    const eps = c.endpoints.get(k)!;
    c.setEndpoints(k, [...eps.slice(1), ep('10.250.0.1', 8080)]);
    const r = plain(b.sync(c.request(5)));
    const { netlink_reads: netlinkReads, ipset_list_calls: ipsetLists, ipset_entries_listed: _l, ...writes } = r.counts;
    results.push({ mode: r.mode, counts: writes });
    reads.push([netlinkReads!, ipsetLists!]);
  }
  assert.deepEqual(results[0], results[1]);
  // kube-proxy reads every virtual server back each sync (3 messages each, plus 3), and lists each of its 17 sets
  assert.deepEqual(reads, [
    [33, 17],
    [3003, 17],
  ]);
  assert.deepEqual(counts(results[0]!), { mode: 'partial', ipvsOps: 2, ipsetOps: 0, addressOps: 0, ...BASE });
});

test('a service port that changes its session affinity updates its virtual server in place', () => {
  const c = uniformCluster(2, 2);
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  const s = c.services.get('ns0/svc0:http')!;
  c.set({ ...s, stickyMaxAgeSeconds: 10800 }, c.endpoints.get('ns0/svc0:http')!);
  const r = b.sync(c.request(5));
  assert.deepEqual(
    [r.counts.ipvs_operations, r.detail.virtualServersUpdated, r.counts.ipset_operations, r.counts.address_operations],
    [1, 1, 0, 0],
  );
  assert.match(b.render()['ipvsadm -S -n']!, /-A -t 10\.96\.0\.1:80 -s rr -p 10800\n/);
});

test('externalTrafficPolicy Local: external virtual servers use the local endpoints only', () => {
  const c = smallCluster();
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  const save = b.render()['ipvsadm -S -n']!;
  const block = (vs: string) =>
    save
      .split('\n')
      .filter((l) => l.includes(` ${vs} `))
      .join('\n');
  // cluster IP: every ready endpoint (the terminating one is left out)
  assert.equal(block('-t 10.96.10.30:443').split('\n').length, 3);
  // load-balancer IP and node port: only the local endpoint
  assert.match(block('-t 198.51.100.5:443'), /-r 10\.244\.1\.8:8443 -m -w 1$/);
  assert.equal(block('-t 198.51.100.5:443').split('\n').length, 2);
  assert.equal(block('-t 192.168.0.10:31443').split('\n').length, 2);
});
