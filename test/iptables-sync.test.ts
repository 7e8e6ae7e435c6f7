import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointInfo, ServicePortInfo, SyncResult } from '../src/types.js';
import { createIptablesBackend, serviceChainName, type IptablesBackend } from '../src/backends/iptables/index.js';
import { ep, REAL_NODE, snapshot, svc } from './fixtures/iptables.js';

function restoreCounts(b: IptablesBackend): { rules: number; chains: number; bytes: number; deletes: number } {
  const t = b.lastRestoreInput();
  const lines = t.split('\n');
  return {
    rules: lines.filter((l) => l.startsWith('-A ')).length,
    chains: lines.filter((l) => l.startsWith(':')).length,
    bytes: Buffer.byteLength(t),
    deletes: lines.filter((l) => l.startsWith('-X ')).length,
  };
}

function assertConsistent(b: IptablesBackend, r: SyncResult): void {
  const c = restoreCounts(b);
  assert.equal(r.counts.rules_written, c.rules);
  assert.equal(r.counts.chains_written, c.chains);
  assert.equal(r.counts.bytes_written, c.bytes);
  // kernel total equals what iptables-save would list
  const save = b.render()['iptables-save']!;
  assert.equal(r.counts.rules_in_kernel, save.split('\n').filter((l) => l.startsWith('-A ')).length);
  assert.equal(b.size().iptables_chains, save.split('\n').filter((l) => l.startsWith(':')).length);
}

const two = (third: string): EndpointInfo[] => [ep(`10.244.${third}.1`, 8080), ep(`10.244.${third}.2`, 8080)];
const A = svc({ namespace: 'app', name: 'a', portName: 'http', clusterIP: '10.96.0.11', port: 80 });
const B = svc({ namespace: 'app', name: 'b', portName: 'http', clusterIP: '10.96.0.12', port: 80 });
const C = svc({ namespace: 'app', name: 'c', portName: 'http', clusterIP: '10.96.0.13', port: 80 });
const before = snapshot([
  [A, two('1')],
  [B, two('2')],
  [C, two('3')],
]);
// one endpoint of app/b replaced
const after = snapshot([
  [A, two('1')],
  [B, [ep('10.244.2.1', 8080), ep('10.244.2.9', 8080)]],
  [C, two('3')],
]);

test('minimized restore: one changed service writes KUBE-SERVICES whole plus only its own chains', () => {
  const b = createIptablesBackend({ node: REAL_NODE });
  const r1 = b.sync({ snapshot: before, changed: new Set(before.services.keys()), now: 0 });
  assertConsistent(b, r1);
  // filter: KUBE-FIREWALL 1 + KUBE-FORWARD 3; nat: KUBE-POSTROUTING 3 + KUBE-MARK-MASQ 1 + KUBE-SERVICES 3 + 1
  // + 3 services × (KUBE-SVC 1 + 2, 2 × KUBE-SEP 2); chains: filter 6, nat 4 + 3 × 3
  assert.deepEqual(
    {
      mode: r1.mode,
      rules: r1.counts.rules_written,
      chains: r1.counts.chains_written,
      bytes: r1.counts.bytes_written,
      kernel: r1.counts.rules_in_kernel,
    },
    { mode: 'full', rules: 33, chains: 19, bytes: 4476, kernel: 47 },
  );
  const r2 = b.sync({ snapshot: after, changed: new Set([B.key]), now: 10 });
  assertConsistent(b, r2);
  // 4 filter + 8 nat fixed/KUBE-SERVICES + 7 for app/b; chains 6 + 4 + 3 written + 1 deleted (the old endpoint's)
  assert.deepEqual(
    {
      mode: r2.mode,
      rules: r2.counts.rules_written,
      chains: r2.counts.chains_written,
      bytes: r2.counts.bytes_written,
      kernel: r2.counts.rules_in_kernel,
    },
    { mode: 'partial', rules: 19, chains: 14, bytes: 2642, kernel: 47 },
  );
  assert.equal(restoreCounts(b).deletes, 1);
  const text = b.lastRestoreInput();
  assert.ok(text.includes('-A KUBE-SERVICES -m comment --comment "app/a:http cluster IP"'), 'KUBE-SERVICES is written whole');
  assert.ok(!text.includes('-A KUBE-SVC-7S3BRJOI2QH7TE3Q'), "an unchanged service's chains are not written");
  assert.ok(
    text.endsWith(
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\nCOMMIT\n',
    ),
  );
  // nothing changed: only the fixed parts and KUBE-SERVICES
  const r3 = b.sync({ snapshot: after, changed: new Set(), now: 20 });
  assertConsistent(b, r3);
  assert.deepEqual([r3.mode, r3.counts.rules_written, r3.counts.chains_written], ['partial', 12, 10]);
});

test("writeMethod 'restore-full' (before MinimizeIPTablesRestore) writes everything on every sync", () => {
  const b = createIptablesBackend({ node: REAL_NODE, writeMethod: 'restore-full' });
  b.sync({ snapshot: before, changed: new Set(before.services.keys()), now: 0 });
  const r = b.sync({ snapshot: after, changed: new Set([B.key]), now: 10 });
  assertConsistent(b, r);
  assert.deepEqual(
    {
      mode: r.mode,
      rules: r.counts.rules_written,
      chains: r.counts.chains_written,
      bytes: r.counts.bytes_written,
      kernel: r.counts.rules_in_kernel,
    },
    { mode: 'full', rules: 33, chains: 20, bytes: 4540, kernel: 47 },
  );
});

test('the first sync is full, and a full sync is forced once FullSyncPeriod (1 h) has passed', () => {
  const b = createIptablesBackend({ node: REAL_NODE });
  assert.equal(b.sync({ snapshot: before, changed: new Set(), now: 100 }).mode, 'full');
  assert.equal(b.sync({ snapshot: before, changed: new Set(), now: 3700 }).mode, 'partial');
  const r = b.sync({ snapshot: before, changed: new Set(), now: 3700.5 });
  assert.equal(r.mode, 'full', 'more than 3600 s after the last full sync');
  assert.equal(r.counts.rules_written, 33);
  assert.equal(b.sync({ snapshot: before, changed: new Set(), now: 4000 }).mode, 'partial');
  b.requestFullSync();
  assert.equal(b.sync({ snapshot: before, changed: new Set(), now: 4001 }).mode, 'full');
});

test('a change to one port rewrites every port of the Service (kube-proxy tracks changes per Service)', () => {
  const http = svc({ namespace: 'app', name: 'multi', portName: 'http', clusterIP: '10.96.1.1', port: 80 });
  const grpc = svc({ namespace: 'app', name: 'multi', portName: 'grpc', clusterIP: '10.96.1.1', port: 9090 });
  const b = createIptablesBackend({ node: REAL_NODE });
  const s1 = snapshot([
    [http, [ep('10.244.1.1', 8080)]],
    [grpc, [ep('10.244.1.1', 9090)]],
    [A, two('1')],
  ]);
  b.sync({ snapshot: s1, changed: new Set(s1.services.keys()), now: 0 });
  const s2 = snapshot([
    [http, [ep('10.244.1.2', 8080)]],
    [grpc, [ep('10.244.1.1', 9090)]],
    [A, two('1')],
  ]);
  const r = b.sync({ snapshot: s2, changed: new Set([http.key]), now: 1 });
  assertConsistent(b, r);
  const text = b.lastRestoreInput();
  assert.ok(text.includes(`-A ${'KUBE-SVC-'}`) && text.includes('"app/multi:grpc -> 10.244.1.1:9090"'), 'the grpc port is rewritten too');
  assert.ok(!text.includes('"app/a:http -> '), 'another Service is not');
  // 4 filter + 4 + 3 KUBE-SERVICES + 1; http: SVC 2 + SEP 2; grpc: SVC 2 + SEP 2
  assert.equal(r.counts.rules_written, 4 + 8 + 8);
});

test('deleted services: chain lines and -X in the restore, counted as chains but not as rules', () => {
  const b = createIptablesBackend({ node: REAL_NODE });
  b.sync({ snapshot: before, changed: new Set(before.services.keys()), now: 0 });
  const s = snapshot([
    [A, two('1')],
    [B, two('2')],
  ]);
  const r = b.sync({ snapshot: s, changed: new Set([C.key]), now: 1 });
  assertConsistent(b, r);
  const c = restoreCounts(b);
  assert.equal(c.deletes, 3, 'KUBE-SVC and two KUBE-SEP chains');
  // 4 filter + 4 + 2 + 1 nat; chains: 6 + 4 + 3 deleted
  assert.deepEqual([r.counts.rules_written, r.counts.chains_written, r.counts.rules_in_kernel], [11, 13, 47 - 8]);
});

test('services kube-proxy does not program leave no rules: headless, ExternalName, IPv6 cluster IPs', () => {
  const b = createIptablesBackend({ node: REAL_NODE });
  const odd: Array<[ServicePortInfo, EndpointInfo[]]> = [
    [svc({ namespace: 'x', name: 'headless', clusterIP: 'None', port: 80 }), [ep('10.244.1.1', 80)]],
    [svc({ namespace: 'x', name: 'ext', clusterIP: '', port: 80, type: 'ExternalName' }), []],
    [svc({ namespace: 'x', name: 'v6', clusterIP: 'fd00::1', port: 80 }), [ep('fd00:10::1', 80)]],
  ];
  const s = snapshot(odd);
  const r = b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
  assertConsistent(b, r);
  assert.equal(r.counts.rules_written, 4 + 5, 'only the fixed rules');
  assert.deepEqual(b.serviceOrder(), []);
});

test('large-cluster mode starts above 1000 endpoints (all conditions counted) and drops per-endpoint comments', () => {
  const mk = (n: number): EndpointInfo[] =>
    Array.from({ length: n }, (_, i) => ep(`10.245.${i >> 8}.${i & 255}`, 80, { ready: i % 2 === 0 }));
  const big = svc({ namespace: 'big', name: 'svc', clusterIP: '10.96.2.1', port: 80 });
  const b = createIptablesBackend({ node: REAL_NODE });
  let s = snapshot([[big, mk(1000)]]);
  b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
  assert.equal(b.isLargeClusterMode(), false);
  assert.ok(b.lastRestoreInput().includes('-A KUBE-SVC-'), 'comments still present at exactly 1000');
  s = snapshot([[big, mk(1001)]]);
  b.sync({ snapshot: s, changed: new Set([big.key]), now: 1 });
  assert.equal(b.isLargeClusterMode(), true);
  const sepLines = b
    .lastRestoreInput()
    .split('\n')
    .filter((l) => l.startsWith('-A KUBE-SEP-'));
  // only ready endpoints get chains: 501 of 1001
  assert.equal(sepLines.length, 2 * 501);
  assert.ok(sepLines.every((l) => !l.includes('--comment')));
  const svcLines = b
    .lastRestoreInput()
    .split('\n')
    .filter((l) => l.startsWith('-A KUBE-SVC-'));
  // the masquerade rule keeps its comment; the endpoint rules lose theirs
  assert.equal(svcLines.filter((l) => l.includes('--comment')).length, 1);
});

test('node settings: --nodeport-addresses, --masquerade-all, no local detector', () => {
  const np = svc({ namespace: 'app', name: 'np', clusterIP: '10.96.3.1', port: 80, type: 'NodePort', nodePort: 30080 });
  const run = (node: Partial<typeof REAL_NODE>): string => {
    const b = createIptablesBackend({ node: { ...REAL_NODE, ...node } });
    const s = snapshot([[np, [ep('10.244.1.1', 8080)]]]);
    b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
    return b.lastRestoreInput();
  };
  const restricted = run({ nodePortAddresses: ['192.168.0.0/24'] });
  assert.ok(
    restricted.includes(
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.0.2 -j KUBE-NODEPORTS',
    ),
  );
  // 127.0.0.1 is not among the NodePort addresses: no localhost NodePorts, so no KUBE-FIREWALL rule and no nfacct rule
  assert.ok(!restricted.includes(':KUBE-FIREWALL'));
  assert.ok(!restricted.includes('localhost_nps_accepted_pkts'));
  const all = run({ masqueradeAll: true });
  assert.ok(
    all.includes(
      `-A ${serviceChainName('app/np', 'tcp')} -m comment --comment "app/np cluster IP" -m tcp -p tcp -d 10.96.3.1 --dport 80 -j KUBE-MARK-MASQ\n`,
    ),
  );
  const none = run({ localDetector: 'None' });
  assert.ok(
    !none.includes('"app/np cluster IP" -m tcp -p tcp -d 10.96.3.1 --dport 80 ! -s'),
    'no masquerade rule without a local detector',
  );
  const nodeCidr = run({ localDetector: 'NodeCIDR' });
  assert.ok(nodeCidr.includes('! -s 10.244.1.0/24 -j KUBE-MARK-MASQ'));
});

test('renderable: false (a benchmark case) keeps every count and first-packet walk, builds endpoint chains when walked, and refuses render()', async () => {
  const { scripted } = await import('./fixtures/iptables.js');
  const { LARGE_CLUSTER_ENDPOINTS_THRESHOLD } = await import('../src/backends/iptables/index.js');
  // above the large-cluster threshold (no per-endpoint comments) and below it, with session affinity on one service
  for (const n of [3, LARGE_CLUSTER_ENDPOINTS_THRESHOLD / 2 + 1]) {
    const entries: Array<[ServicePortInfo, EndpointInfo[]]> = [];
    for (let i = 0; i < n; i++) {
      const s = svc({ namespace: 'ns', name: `s${i}`, portName: 'p', clusterIP: `10.96.${i >> 8}.${i & 255}`, port: 80 });
      if (i === 0) s.stickyMaxAgeSeconds = 10800;
      entries.push([s, [ep(`10.244.${i >> 8}.${i & 255}`, 8080), ep(`10.245.${i >> 8}.${i & 255}`, 8080)]]);
    }
    const full = createIptablesBackend({ node: REAL_NODE });
    const compact = createIptablesBackend({ node: { ...REAL_NODE, renderable: false } });
    const s1 = snapshot(entries);
    const r1 = full.sync({ snapshot: s1, changed: new Set(s1.services.keys()), now: 0 });
    const c1 = compact.sync({ snapshot: s1, changed: new Set(s1.services.keys()), now: 0 });
    assert.deepEqual(c1, r1);
    assert.deepEqual(compact.size(), full.size());
    const changed = [...entries];
    changed[1] = [entries[1]![0], [ep('10.244.0.1', 8080), ep('10.244.9.9', 8080)]];
    const s2 = snapshot(changed);
    const key = entries[1]![0].key;
    assert.deepEqual(
      compact.sync({ snapshot: s2, changed: new Set([key]), now: 1 }),
      full.sync({ snapshot: s2, changed: new Set([key]), now: 1 }),
    );
    for (const i of [0, 1, n - 1]) {
      const pkt = {
        srcIP: '10.244.7.7',
        srcPort: 40000,
        dstIP: `10.96.${i >> 8}.${i & 255}`,
        dstPort: 80,
        protocol: 'TCP' as const,
        local: false,
      };
      assert.deepEqual(compact.lookup(pkt, scripted([0.7]), 2), full.lookup(pkt, scripted([0.7]), 2));
    }
    assert.throws(() => compact.render(), /renderable: false/);
    assert.throws(() => compact.lastRestoreInput(), /renderable: false/);
  }
});
