/**
 * kube-proxy's own test expectations (pkg/proxy/iptables/proxier_test.go and number_generated_rules_test.go),
 * reproduced on the iptables backend. Upstream compares its restore input after sortIPTablesRules; so do we.
 * The fake proxier's host is modelled by `upstreamBackend()`: mark "0x4000", no --random-fully, nfacct present,
 * localhost NodePorts on, pod CIDR 10.0.0.0/8.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { EndpointInfo, ProxySnapshot, ServicePortInfo, SyncResult } from '../src/types.js';
import type { IptablesBackend } from '../src/backends/iptables/index.js';
import { ep, overallServices, snapshot, sortIPTablesRules, svc, upstreamBackend, UPSTREAM_NODE } from './fixtures/iptables.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/iptables/${name}`, import.meta.url), 'utf8');

/** The SyncResult counts must be exactly what the restore input holds. */
function assertCountsMatchRestore(b: IptablesBackend, r: SyncResult): void {
  const text = b.lastRestoreInput();
  const lines = text.split('\n');
  assert.equal(r.counts.rules_written, lines.filter((l) => l.startsWith('-A ')).length, 'rulesWritten = -A lines');
  assert.equal(r.counts.chains_written, lines.filter((l) => l.startsWith(':')).length, 'chainsWritten = :CHAIN lines');
  assert.equal(r.counts.bytes_written, Buffer.byteLength(text), 'bytesWritten = bytes of the restore input');
  assert.deepEqual(Object.keys(r.counts).sort(), ['bytes_written', 'chains_written', 'rules_in_kernel', 'rules_written']);
}

function natRulesInKernel(b: IptablesBackend): number {
  // kube-proxy's IPTablesRulesTotal{table="nat"}: rules of its own nat chains (the jump rules it adds with
  // `iptables -I` to PREROUTING/OUTPUT/POSTROUTING are not counted there)
  return b
    .tableChains('nat')
    .filter((c) => !c.builtin)
    .reduce((n, c) => n + c.rules.length, 0);
}

function overallSnapshot(): ProxySnapshot {
  return snapshot(overallServices());
}

test('upstream TestOverallIPTablesRules: the whole restore input, byte for byte after sortIPTablesRules', () => {
  const b = upstreamBackend();
  const s = overallSnapshot();
  const r = b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
  assert.equal(sortIPTablesRules(b.lastRestoreInput()), fixture('upstream-TestOverallIPTablesRules.sorted.txt'));
  assertCountsMatchRestore(b, r);
  assert.deepEqual(
    {
      mode: r.mode,
      rulesWritten: r.counts.rules_written,
      chainsWritten: r.counts.chains_written,
      bytesWritten: r.counts.bytes_written,
      rulesInKernel: r.counts.rules_in_kernel,
    },
    // 10 filter + 55 nat rules; 6 filter + 20 nat chain lines; kernel: 65 + 3 nat and 11 filter jump rules
    { mode: 'full', rulesWritten: 65, chainsWritten: 26, bytesWritten: 8866, rulesInKernel: 79 },
  );
});

test('upstream TestSyncProxyRulesRepeated: what each partial restore writes, and the kernel totals', () => {
  const b = upstreamBackend();
  const services = new Map<string, ServicePortInfo>();
  const endpoints = new Map<string, EndpointInfo[]>();
  const put = (s: ServicePortInfo, eps: EndpointInfo[]): string => {
    services.set(s.key, s);
    endpoints.set(s.key, eps);
    return s.key;
  };
  const drop = (key: string): string => {
    services.delete(key);
    endpoints.delete(key);
    return key;
  };
  let now = 0;
  const step = (n: number, changed: string[], natTotal: number, kernel: number, mode: 'full' | 'partial'): void => {
    const r = b.sync({ snapshot: { services, endpoints }, changed: new Set(changed), now: now++ });
    assert.equal(sortIPTablesRules(b.lastRestoreInput()), fixture(`upstream-TestSyncProxyRulesRepeated-${n}.sorted.txt`), `step ${n}`);
    assertCountsMatchRestore(b, r);
    assert.equal(r.mode, mode, `step ${n} mode`);
    assert.equal(natRulesInKernel(b), natTotal, `step ${n}: nat rules total (upstream IPTablesRulesTotal)`);
    assert.equal(r.counts.rules_in_kernel, kernel, `step ${n}: rules in kernel`);
    assert.equal(b.size().iptables_rules, kernel);
  };

  const svc1 = put(svc({ namespace: 'ns1', name: 'svc1', portName: 'p80', clusterIP: '172.30.0.41', port: 80 }), [ep('10.0.1.1', 80)]);
  const svc2 = put(svc({ namespace: 'ns2', name: 'svc2', portName: 'p8080', clusterIP: '172.30.0.42', port: 8080 }), [
    ep('10.0.2.1', 8080),
  ]);
  // kernel = nat + 3 nat jump rules + filter (11 jump rules, KUBE-FIREWALL 1, KUBE-FORWARD 3)
  step(1, [svc1, svc2], 15, 15 + 3 + 15, 'full');

  const svc3info = svc({ namespace: 'ns3', name: 'svc3', portName: 'p80', clusterIP: '172.30.0.43', port: 80 });
  const svc3 = put(svc3info, [ep('10.0.3.1', 80)]);
  step(2, [svc3], 20, 20 + 18, 'partial'); // +1 KUBE-SERVICES, +2 KUBE-SVC, +2 KUBE-SEP

  step(3, [drop(svc2)], 15, 15 + 18, 'partial');

  const svc4 = put(svc({ namespace: 'ns4', name: 'svc4', portName: 'p80', clusterIP: '172.30.0.44', port: 80 }), []);
  step(4, [svc4], 15, 15 + 18 + 1, 'partial'); // the REJECT rule is in filter

  endpoints.set(svc4, [ep('10.0.4.1', 80)]);
  step(5, [svc4], 20, 20 + 18, 'partial');

  endpoints.set(svc3, [ep('10.0.3.2', 80)]);
  step(6, [svc3], 20, 20 + 18, 'partial');

  endpoints.set(svc3, [ep('10.0.3.2', 80), ep('10.0.3.3', 80)]);
  step(7, [svc3], 23, 23 + 18, 'partial');

  step(8, [], 23, 23 + 18, 'partial');
});

test('upstream TestSyncProxyRulesLargeClusterMode: comments go above 1000 endpoints, stale chains wait for syncPeriod', () => {
  const b = upstreamBackend({ node: { ...UPSTREAM_NODE, masqueradeAll: true }, syncPeriod: 30 });
  const services = new Map<string, ServicePortInfo>();
  const endpoints = new Map<string, EndpointInfo[]>();
  const put = (s: ServicePortInfo, eps: EndpointInfo[]): string => {
    services.set(s.key, s);
    endpoints.set(
      s.key,
      [...eps].sort((x, y) => (`${x.ip}:${x.port}` < `${y.ip}:${y.port}` ? -1 : 1)),
    );
    return s.key;
  };
  const many = (second: number, port: number): EndpointInfo[] =>
    Array.from({ length: 1000 / 2 - 1 }, (_, i) => ep(`10.${second}.${i % 256}.${Math.floor(i / 256)}`, port));
  const svc1 = put(svc({ namespace: 'ns1', name: 'svc1', portName: 'p80', clusterIP: '172.30.0.41', port: 80 }), many(0, 80));
  const svc2 = put(svc({ namespace: 'ns2', name: 'svc2', portName: 'p8080', clusterIP: '172.30.0.42', port: 8080 }), many(1, 8080));
  const svc3 = put(svc({ namespace: 'ns3', name: 'svc3', portName: 'p8081', clusterIP: '172.30.0.43', port: 8081 }), []);

  const dnatLines = (match: string): { line: string; n: number; comments: number } => {
    let line = '';
    let n = 0;
    let comments = 0;
    for (const l of b.lastRestoreInput().split('\n')) {
      if (l.startsWith('-A KUBE-SEP-') && l.includes('-j DNAT')) {
        n++;
        if (l.includes('--comment')) comments++;
        if (l.includes(match)) line = l;
      }
    }
    return { line, n, comments };
  };

  b.sync({ snapshot: { services, endpoints }, changed: new Set([svc1, svc2, svc3]), now: 0 });
  let d = dnatLines('10.0.0.0');
  assert.equal(d.line, '-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80');
  assert.equal(d.n, 998);
  assert.equal(d.comments, 998);
  assert.equal(b.isLargeClusterMode(), false);

  put(services.get(svc3)!, [ep('203.0.113.4', 8081), ep('203.0.113.8', 8081), ep('203.0.113.12', 8081)]);
  b.sync({ snapshot: { services, endpoints }, changed: new Set([svc3]), now: 1 });
  d = dnatLines('203.0.113.4');
  assert.equal(d.line, '-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081');
  // only svc3 was written; the partial sync does not rewrite the others without comments
  assert.equal(d.n, 3);
  assert.equal(d.comments, 0);
  assert.equal(b.isLargeClusterMode(), true);

  b.requestFullSync();
  b.sync({ snapshot: { services, endpoints }, changed: new Set(), now: 2 });
  d = dnatLines('10.0.0.0');
  assert.equal(d.line, '-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80');
  assert.equal(d.n, 1001);
  assert.equal(d.comments, 0);

  const svc4 = put(svc({ namespace: 'ns4', name: 'svc4', portName: 'p8082', clusterIP: '172.30.0.44', port: 8082 }), [
    ep('10.4.0.1', 8082),
  ]);
  b.sync({ snapshot: { services, endpoints }, changed: new Set([svc4]), now: 3 });
  d = dnatLines('10.4.0.1');
  assert.equal(d.line, '-A KUBE-SEP-SU5STNODRYEWJAUF -m tcp -p tcp -j DNAT --to-destination 10.4.0.1:8082');
  assert.equal(d.n, 1);

  // deleted in large-cluster mode less than syncPeriod after the last cleanup (at t=0): chains stay for now
  services.delete(svc4);
  endpoints.delete(svc4);
  b.sync({ snapshot: { services, endpoints }, changed: new Set([svc4]), now: 4 });
  d = dnatLines('10.4.0.1');
  assert.equal(d.line, '');
  assert.equal(d.n, 0);
  assert.ok(!b.lastRestoreInput().includes('-X '), 'no chain deletions yet');
  assert.ok(
    b.tableChains('nat').some((c) => c.name === 'KUBE-SVC-EBDQOQU5SJFXRIL3'),
    'the stale chain is still in the kernel',
  );

  // more than syncPeriod later the stale chains are flushed and deleted
  b.sync({ snapshot: { services, endpoints }, changed: new Set(), now: 31 });
  assert.ok(b.lastRestoreInput().includes('-X KUBE-SVC-EBDQOQU5SJFXRIL3\n'));
  assert.ok(b.lastRestoreInput().includes('-X KUBE-SEP-SU5STNODRYEWJAUF\n'));
  assert.ok(!b.tableChains('nat').some((c) => c.name === 'KUBE-SVC-EBDQOQU5SJFXRIL3'));

  b.requestFullSync();
  b.sync({ snapshot: { services, endpoints }, changed: new Set(), now: 32 });
  assert.equal(dnatLines('10.0.0.0').n, 1001);
});

/** number_generated_rules_test.go's generateServiceEndpoints. */
function generated(nServices: number, nEndpoints: number, lb: boolean): ProxySnapshot {
  const entries: Array<[ServicePortInfo, EndpointInfo[]]> = [];
  for (let i = 0; i < nServices; i++) {
    const s = svc({
      namespace: 'namespace',
      name: `svc${i}`,
      portName: '8080',
      clusterIP: `10.0.0.${1 + i}`,
      port: 80 + i,
      targetPort: 8080,
      ...(lb
        ? {
            type: 'LoadBalancer' as const,
            nodePort: 30000 + i,
            externalIPs: ['1.2.3.4'],
            loadBalancerIPs: ['1.2.3.4'],
            loadBalancerSourceRanges: [' 1.2.3.4/28'],
          }
        : {}),
    });
    entries.push([s, Array.from({ length: nEndpoints }, (_, j) => ep(`172.16.0.${1 + j}`, 8080))]);
  }
  return snapshot(entries);
}

function countRules(b: IptablesBackend): { filter: number; nat: number } {
  const text = b.lastRestoreInput();
  const [filter, nat] = text.split('*nat\n') as [string, string];
  const n = (t: string): number => t.split('\n').filter((l) => l.startsWith('-A ')).length;
  return { filter: n(filter), nat: n(nat) };
}

test('upstream TestNumberIptablesRules (ClusterIP rows): nat = 5 + S(2 + 3E), filter = 3 + S when E = 0', () => {
  // That table predates the KUBE-FIREWALL rule in the restore input and nfacct, so: no localhost NodePorts, no nfacct.
  const rows: Array<[number, number, number, number]> = [
    // services, endpoints per service, filter rules, nat rules (upstream's expected values)
    [0, 0, 3, 5],
    [1, 0, 4, 5],
    [1, 1, 3, 10],
    [1, 2, 3, 13],
    [1, 10, 3, 37],
    [10, 0, 13, 5],
    [10, 1, 3, 55],
    [10, 2, 3, 85],
    [10, 10, 3, 325],
  ];
  for (const [s, e, filter, nat] of rows) {
    const b = upstreamBackend({ localhostNodePorts: false, nfacct: false });
    const snap = generated(s, e, false);
    b.sync({ snapshot: snap, changed: new Set(snap.services.keys()), now: 0 });
    assert.deepEqual(countRules(b), { filter, nat }, `${s} services × ${e} endpoints`);
    if (e > 0) assert.equal(nat, 5 + s * (2 + 3 * e));
  }
});

test('TestNumberIptablesRules LoadBalancer rows, as the current proxier writes them', () => {
  // Upstream's stored table (the revision we could read) has one nat rule less per LoadBalancer service with
  // endpoints (16, 19, 43, 115, 145, 385): the current proxier.go ends every KUBE-FW chain with the comment-only
  // "other traffic to ... will be dropped by KUBE-PROXY-FIREWALL" rule, which accounts for exactly that rule.
  // Per LB service with E endpoints: KUBE-SERVICES 3 (cluster, external, LB IP), KUBE-NODEPORTS 1, KUBE-SVC 1 + E,
  // KUBE-EXT 2, KUBE-FW 2, KUBE-SEP 2E = 9 + 3E.
  const rows: Array<[number, number, number, number]> = [
    [0, 0, 3, 5],
    [1, 0, 7, 5],
    [1, 1, 4, 17],
    [1, 2, 4, 20],
    [1, 10, 4, 44],
    [10, 0, 43, 5],
    [10, 1, 13, 125],
    [10, 2, 13, 155],
    [10, 10, 13, 395],
  ];
  for (const [s, e, filter, nat] of rows) {
    const b = upstreamBackend({ localhostNodePorts: false, nfacct: false });
    const snap = generated(s, e, true);
    b.sync({ snapshot: snap, changed: new Set(snap.services.keys()), now: 0 });
    assert.deepEqual(countRules(b), { filter, nat }, `${s} LB services × ${e} endpoints`);
    if (e > 0) assert.equal(nat, 5 + s * (9 + 3 * e));
  }
});

test('upstream TestDropInvalidRule and TestMasqueradeRule: KUBE-FORWARD and KUBE-POSTROUTING variants', () => {
  const forward = (o: Parameters<typeof upstreamBackend>[0]): string[] => {
    const b = upstreamBackend(o);
    b.sync({ snapshot: { services: new Map(), endpoints: new Map() }, changed: new Set(), now: 0 });
    return b
      .lastRestoreInput()
      .split('\n')
      .filter((l) => l.startsWith('-A KUBE-FORWARD') || l.startsWith('-A KUBE-POSTROUTING'));
  };
  const tail = [
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  ];
  const post = (masq: string): string[] => [
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j ${masq}`,
  ];
  // (the filter table comes first in the restore input)
  assert.deepEqual(forward({ nfacct: false }), ['-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP', ...tail, ...post('MASQUERADE')]);
  assert.deepEqual(forward({ nfacct: true }), [
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP',
    ...tail,
    ...post('MASQUERADE'),
  ]);
  assert.deepEqual(forward({ conntrackTCPLiberal: true }), [...tail, ...post('MASQUERADE')]);
  assert.deepEqual(forward({ randomFully: true }).slice(3), post('MASQUERADE --random-fully'));
});
