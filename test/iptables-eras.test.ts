/**
 * kube-proxy era profiles (v1.6, v1.14) and the cli-per-rule write method of the iptables backend, and the
 * published figures they reproduce (issue 13):
 * - the v1.6 / v1.14 layouts, rule by rule, as those releases wrote them (README.md, "kube-proxy era profiles");
 * - cli-per-rule counts exactly (processes, rules in the table at each process);
 * - Huawei 2017: the time to add the rules of 5,000 and 20,000 services one at a time, against 660 s and 18,000 s;
 * - Tigera 2019: rules walked per new connection at 10,000 services x 10 pods with the v1.14 layout, against
 *   ~20,000.
 * The full-size points run through the backend directly (no scenario run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { EndpointInfo, ProxySnapshot, ServicePortInfo } from '../src/types.js';
import { createIptablesBackend, iptablesDefinition, IptablesOptions, type IptablesBackend } from '../src/backends/iptables/index.js';
import { eraProbability } from '../src/backends/iptables/eras.js';
import { ep, REAL_NODE, snapshot, svc, UPSTREAM_NODE } from './fixtures/iptables.js';

const SVC1 = svc({ namespace: 'ns1', name: 'svc1', portName: 'p80', clusterIP: '172.30.0.41', port: 80 });
const TWO = [ep('10.180.0.1', 80), ep('10.180.0.2', 80)];

function natLines(b: IptablesBackend): string[] {
  const t = b.lastRestoreInput();
  return t.slice(t.indexOf('*nat')).split('\n');
}

test('v1.14 layout: two KUBE-SERVICES rules per service port (masquerade, then the jump), /32 addresses, no KUBE-SVC/KUBE-SEP comments', () => {
  const b = createIptablesBackend({ node: UPSTREAM_NODE, profile: 'v1.14', masqueradeMark: '0x4000' });
  b.sync({ snapshot: snapshot([[SVC1, TWO]]), changed: new Set([SVC1.key]), now: 0 });
  assert.deepEqual(natLines(b), [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    ':KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]',
    ':KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]',
    ':KUBE-SEP-LXVODXWDISEETFEF - [0:0]',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -m mark --mark 0x4000/0x4000 -j MASQUERADE',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41/32 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
    '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41/32 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O',
    // v1.12-v1.22 lost the KUBE-SVC/KUBE-SEP comment (appendServiceCommentLocked appended to a copy) and v1.14
    // still printed "%0.5f" (a v1.14-line proxier.go: mateuszmatejczyk/kubernetes, README.md)
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m statistic --mode random --probability 0.50000 -j KUBE-SEP-SXIVWICOYRO3J4NJ',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -j KUBE-SEP-LXVODXWDISEETFEF',
    '-A KUBE-SEP-SXIVWICOYRO3J4NJ -s 10.180.0.1/32 -j KUBE-MARK-MASQ',
    '-A KUBE-SEP-SXIVWICOYRO3J4NJ -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80',
    '-A KUBE-SEP-LXVODXWDISEETFEF -s 10.180.0.2/32 -j KUBE-MARK-MASQ',
    '-A KUBE-SEP-LXVODXWDISEETFEF -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80',
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    'COMMIT',
    '',
  ]);
  // iptables-save's form of the masquerade rule, as public dumps of clusters of that time show it
  const saved = b.render()['iptables-save']!;
  assert.ok(
    saved.includes(
      '-A KUBE-SERVICES ! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
    ),
  );
  // filter: v1.14 declares KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-FORWARD (no INVALID drop before v1.15)
  const filter = b.lastRestoreInput().split('*nat')[0]!;
  assert.equal(
    filter,
    [
      '*filter',
      ':KUBE-SERVICES - [0:0]',
      ':KUBE-EXTERNAL-SERVICES - [0:0]',
      ':KUBE-FORWARD - [0:0]',
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
      '-A KUBE-FORWARD -s 10.0.0.0/8 -m comment --comment "kubernetes forwarding conntrack pod source rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack pod destination rule" -d 10.0.0.0/8 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      'COMMIT',
      '',
    ].join('\n'),
  );
});

test('v1.6 layout: probabilities with 5 decimals, filter KUBE-SERVICES only, no-endpoint REJECT there', () => {
  assert.equal(eraProbability(3, 5), '0.33333');
  assert.equal(eraProbability(2, 5), '0.50000');
  const three = [...TWO, ep('10.180.0.3', 80)];
  const empty = svc({ namespace: 'ns2', name: 'svc2', portName: 'p80', clusterIP: '172.30.0.42', port: 80 });
  const b = createIptablesBackend({ node: UPSTREAM_NODE, profile: 'v1.6', masqueradeMark: '0x4000' });
  b.sync({
    snapshot: snapshot([
      [SVC1, three],
      [empty, []],
    ]),
    changed: new Set([SVC1.key, empty.key]),
    now: 0,
  });
  const t = b.lastRestoreInput();
  assert.ok(
    t.startsWith(
      '*filter\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.42/32 --dport 80 -j REJECT\nCOMMIT\n',
    ),
  );
  const probs = t
    .split('\n')
    .filter((l) => l.includes('--probability'))
    .map((l) => l.split('--probability ')[1]!.split(' ')[0]);
  assert.deepEqual(probs, ['0.33333', '0.50000']);
  // kernel: 2 + 3E nat rules per service port as in the current layout, but KUBE-SERVICES holds 2 per port
  const save = b.render()['iptables-save']!;
  assert.equal(save.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES') && l.includes('ns1/svc1:p80 cluster IP')).length, 2);
  // jump rules of v1.6: nat PREROUTING, OUTPUT, POSTROUTING and filter OUTPUT only
  assert.deepEqual(
    save.split('\n').filter((l) => /^-A (PREROUTING|INPUT|OUTPUT|POSTROUTING|FORWARD) /.test(l)),
    [
      '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ],
  );
});

test('old profiles never restore partially; v1.6 keeps endpoint comments above 1,000 endpoints, v1.14 never writes them', () => {
  const many: Array<[ServicePortInfo, EndpointInfo[]]> = [];
  for (let i = 0; i < 60; i++) {
    const s = svc({ namespace: 'ns', name: `s${i}`, portName: 'p', clusterIP: `172.30.1.${i + 1}`, port: 80 });
    many.push([s, Array.from({ length: 20 }, (_, j) => ep(`10.1.${i}.${j + 1}`, 80))]);
  }
  const snap = snapshot(many);
  const b = createIptablesBackend({ node: REAL_NODE, profile: 'v1.14', writeMethod: 'restore-minimized' });
  b.sync({ snapshot: snap, changed: new Set(snap.services.keys()), now: 0 });
  const r = b.sync({ snapshot: snap, changed: new Set([many[0]![0].key]), now: 5 });
  assert.equal(r.mode, 'full');
  assert.equal(b.isLargeClusterMode(), false);
  assert.ok(b.lastRestoreInput().includes('-A KUBE-SEP-'), 'every service chain is rewritten');
  assert.ok(/^-A KUBE-SEP-\S+ -s 10\.1\.0\.1\/32 -j KUBE-MARK-MASQ$/m.test(b.lastRestoreInput()), 'v1.14: no endpoint comments');
  const b6 = createIptablesBackend({ node: REAL_NODE, profile: 'v1.6' });
  b6.sync({ snapshot: snap, changed: new Set(snap.services.keys()), now: 0 });
  assert.ok(/-A KUBE-SEP-\S+ -m comment --comment ns\/s0:p /.test(b6.lastRestoreInput()), 'v1.6: endpoint rules keep their comments');
});

test('cli-per-rule counts every iptables process and the rules each one reads and writes back', () => {
  const b = createIptablesBackend({ node: REAL_NODE, profile: 'v1.6', writeMethod: 'cli-per-rule' });
  const snap = snapshot([[SVC1, TWO]]);
  const r = b.sync({ snapshot: snap, changed: new Set([SVC1.key]), now: 0 });
  // chains -N: nat KUBE-SERVICES, KUBE-NODEPORTS, KUBE-POSTROUTING, KUBE-MARK-MASQ, filter KUBE-SERVICES (5);
  // rules -A: jumps nat 3 + filter 1, KUBE-POSTROUTING 1, KUBE-MARK-MASQ 1, KUBE-SERVICES -> KUBE-NODEPORTS 1 (7);
  // the service: 3 chains, 6 rules in them, 2 in KUBE-SERVICES.
  // rules in the table: 5 x 0, 0..6 (21), 3 x 7 (21), 7..12 (57), 13 + 14 (27); their squares: 0, 91, 147, 559, 365
  assert.deepEqual(
    {
      processes: r.counts.cli_processes,
      table: r.counts.cli_table_rules,
      squared: r.counts.cli_table_rules_squared,
      kernel: r.counts.rules_in_kernel,
    },
    { processes: 23, table: 126, squared: 1162, kernel: 15 },
  );
  // one endpoint replaced: the service's 8 rules deleted (15 .. 8 in the table), its 3 chains deleted (7),
  // then 3 chains created (7) and 8 rules added (7 .. 14)
  const snap2 = snapshot([[SVC1, [ep('10.180.0.1', 80), ep('10.180.0.9', 80)]]]);
  const r2 = b.sync({ snapshot: snap2, changed: new Set([SVC1.key]), now: 10 });
  assert.deepEqual(
    { processes: r2.counts.cli_processes, table: r2.counts.cli_table_rules, squared: r2.counts.cli_table_rules_squared },
    { processes: 22, table: 92 + 21 + 21 + 84, squared: 1100 + 147 + 147 + 924 },
  );
  // the restore methods do not report them (their rows stay as they were)
  const plain = createIptablesBackend({ node: REAL_NODE });
  const r3 = plain.sync({ snapshot: snap, changed: new Set([SVC1.key]), now: 0 });
  assert.equal('cli_processes' in r3.counts, false);
});

/** N ClusterIP services with E endpoints each, in KUBE-SERVICES order (keys sort as s00000, s00001, ...). */
function cluster(n: number, e: number): ProxySnapshot {
  const entries: Array<[ServicePortInfo, EndpointInfo[]]> = [];
  for (let i = 0; i < n; i++) {
    const s = svc({
      namespace: 'bench',
      name: `s${String(i).padStart(5, '0')}`,
      portName: 'http',
      clusterIP: `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
      port: 80,
    });
    const eps: EndpointInfo[] = [];
    for (let j = 0; j < e; j++) {
      const k = i * e + j;
      eps.push(ep(`10.${128 + (k >> 16)}.${(k >> 8) & 255}.${(k & 255) + 0}`, 8080));
    }
    entries.push([s, eps]);
  }
  return snapshot(entries);
}

const o5 = IptablesOptions.parse({ writeMethod: 'cli-per-rule', profile: 'v1.6' });

function huaweiSeconds(services: number): { seconds: number; processes: number; table: number; squared: number; rules: number } {
  const o = o5;
  const b = iptablesDefinition.create(REAL_NODE, o);
  const snap = cluster(services, 2);
  const r = b.sync({ snapshot: snap, changed: new Set(snap.services.keys()), now: 0 });
  const cost = iptablesDefinition.cost(o);
  return {
    seconds: cost.syncSeconds(r),
    processes: r.counts.cli_processes!,
    table: r.counts.cli_table_rules!,
    squared: r.counts.cli_table_rules_squared!,
    rules: r.counts.rules_in_kernel!,
  };
}

test('Huawei 2017: adding the rules of 5,000 and 20,000 services one at a time (v1.6, cli-per-rule)', () => {
  const p5 = huaweiSeconds(5000);
  const p20 = huaweiSeconds(20000);
  // 8 rules per service (2 endpoints) plus the 7 fixed ones; 3 chains per service plus 5
  assert.deepEqual([p5.rules, p20.rules], [40007, 160007]);
  assert.deepEqual([p5.processes, p20.processes], [55012, 220012]);
  // rules in the table summed over the processes: 21 for the fixed rules, then service k (table 7 + 8k) costs
  // 3 chain creations and 8 rule additions: 11 (7 + 8k) + 28; in all 21 + 44 S^2 + 61 S (126 for S = 1, above)
  assert.deepEqual([p5.table, p20.table], [21 + 44 * 5000 ** 2 + 61 * 5000, 21 + 44 * 20000 ** 2 + 61 * 20000]);
  // the time is the counts times the measured coefficients, nothing else
  const c = iptablesDefinition.cost(o5).coefficients;
  assert.equal(p5.seconds, p5.processes * c.cliProcessFixed! + p5.table * c.cliPerRuleInTable! + p5.squared * c.cliPerRuleInTableSquared!);
  // The published table implies ~0.45-1 us per rule in the table; this machine's measured ~5 us (CPU time, quiet
  // machine) puts the model at ~8x and ~5x the published times, which the scenario's references state.
  // Checked here: the same order of magnitude (within 20x), not the 5x, which these coefficients miss at
  // 5,000 services.
  const ratio5 = p5.seconds / 660;
  const ratio20 = p20.seconds / 18000;
  process.stdout.write(
    `# huawei-2017 modelled: 5,000 services ${p5.seconds.toFixed(0)} s (x${ratio5.toFixed(1)} of 660 s), 20,000 services ${p20.seconds.toFixed(0)} s (x${ratio20.toFixed(1)} of 18,000 s)\n`,
  );
  for (const r of [ratio5, ratio20]) assert.ok(r > 1 / 20 && r < 20, `ratio ${r}`);
  // quadratic in the services: x4 services gives x16 rules-in-table work, less the linear per-process part; the
  // squared term (the per-rule cost rising with the table) makes the time grow at least with the square
  assert.ok(p20.table / p5.table >= 4 ** 1.99, `table work x${(p20.table / p5.table).toFixed(2)}`);
  assert.ok(p20.squared / p5.squared >= 4 ** 2.99, `squared work x${(p20.squared / p5.squared).toFixed(2)}`);
  assert.ok(p20.seconds / p5.seconds >= 4 ** 2, `time x${(p20.seconds / p5.seconds).toFixed(2)}`);
});

test('Tigera 2019: rules walked per new connection at 10,000 services x 10 pods with the v1.14 layout', () => {
  const b = createIptablesBackend({ node: REAL_NODE, profile: 'v1.14' });
  const snap = cluster(10000, 10);
  b.sync({ snapshot: snap, changed: new Set(snap.services.keys()), now: 0 });
  const keys = [...snap.services.keys()].sort();
  const walk = (key: string): number => {
    const s = snap.services.get(key)!;
    const r = b.lookup(
      { srcIP: '10.244.1.5', srcPort: 40000, dstIP: s.clusterIP, dstPort: 80, protocol: 'TCP', local: false },
      { next: () => 0.99 },
      0,
    );
    assert.equal(r.verdict, 'DNAT');
    return r.counts.rules_evaluated!;
  };
  const last = walk(keys[keys.length - 1]!);
  // KUBE-SERVICES: 2 rules per service, all walked for the last one, then KUBE-SVC (10 rules at draw 0.99),
  // KUBE-SEP (2), the jump rules and KUBE-FORWARD / KUBE-POSTROUTING
  assert.ok(Math.abs(last - 20000) / 20000 <= 0.2, `last service: ${last} rules`);
  let sum = 0;
  for (let i = 0; i < keys.length; i += 100) sum += walk(keys[i]!);
  const mean = sum / Math.ceil(keys.length / 100);
  assert.ok(mean > 9000 && mean < 11000, `mean over services: ${mean}`);
  // the current layout has one KUBE-SERVICES rule per service: half the walk
  const cur = createIptablesBackend({ node: REAL_NODE });
  cur.sync({ snapshot: snap, changed: new Set(snap.services.keys()), now: 0 });
  const s = snap.services.get(keys[keys.length - 1]!)!;
  const rc = cur.lookup(
    { srcIP: '10.244.1.5', srcPort: 40000, dstIP: s.clusterIP, dstPort: 80, protocol: 'TCP', local: false },
    { next: () => 0.99 },
    0,
  );
  assert.ok(rc.counts.rules_evaluated! < last * 0.55, `current layout: ${rc.counts.rules_evaluated}`);
});

// ---------------------------------------------------------------------------------------------
// The old layouts load into the real iptables-legacy and read back as rendered
// ---------------------------------------------------------------------------------------------

const REQUIRE = process.env['KPBENCH_REQUIRE_NETFILTER'] === '1';

function run(cmd: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: { ...process.env, XTABLES_LOCKFILE: LOCKFILE },
  });
  return { code: r.status ?? 127, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

// our namespaces are private: a lock file of our own (the default /run/xtables.lock is shared by the machine)
const LOCKFILE = `/tmp/kpbench-eras-${process.pid}.lock`;
const live = new Set<string>();
function deleteNs(ns: string): void {
  spawnSync('ip', ['netns', 'del', ns]);
  live.delete(ns);
}
process.on('exit', () => {
  for (const ns of [...live]) deleteNs(ns);
  rmSync(LOCKFILE, { force: true });
});

function unavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const tool of ['ip', 'iptables-legacy-restore', 'iptables-legacy-save']) {
    if (run(['sh', '-c', `command -v ${tool}`]).code !== 0) return `${tool} not found (Debian package iptables / iproute2)`;
  }
  return null;
}

/** The rules and chains of each table, without comments and counters ("# ..." lines, "[n:m]"). */
function byTable(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let cur = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    if (line.startsWith('*')) cur = line.slice(1);
    out.set(cur, `${out.get(cur) ?? ''}${line.replace(/\[\d+:\d+\]$/, '[0:0]')}\n`);
  }
  return out;
}

test('v1.6 and v1.14 renderings load into iptables-legacy and iptables-save prints them back', (t) => {
  const why = unavailable();
  if (why !== null) {
    if (REQUIRE) assert.fail(`KPBENCH_REQUIRE_NETFILTER=1 but ${why}`);
    t.skip(why);
    return;
  }
  const np = svc({
    namespace: 'ns2',
    name: 'np',
    portName: 'p',
    clusterIP: '172.30.0.43',
    port: 8080,
    type: 'NodePort',
    nodePort: 30080,
    protocol: 'UDP',
  });
  const lb = svc({
    namespace: 'ns3',
    name: 'lb',
    portName: 'p',
    clusterIP: '172.30.0.44',
    port: 443,
    type: 'LoadBalancer',
    nodePort: 30443,
    loadBalancerIPs: ['203.0.113.7'],
    loadBalancerSourceRanges: ['198.51.100.0/24'],
    externalIPs: ['192.0.2.10'],
  });
  const sticky = svc({ namespace: 'ns4', name: 'sticky', portName: 'p', clusterIP: '172.30.0.45', port: 80, stickyMaxAgeSeconds: 10800 });
  const none = svc({
    namespace: 'ns5',
    name: 'none',
    portName: 'p',
    clusterIP: '172.30.0.46',
    port: 80,
    type: 'NodePort',
    nodePort: 30001,
    externalIPs: ['192.0.2.11'],
  });
  const three = [...TWO, ep('10.180.0.3', 80)];
  const snap = snapshot([
    [SVC1, three],
    [np, TWO],
    [lb, TWO],
    [sticky, TWO],
    [none, []],
  ]);
  for (const profile of ['v1.6', 'v1.14'] as const) {
    const b = createIptablesBackend({ node: REAL_NODE, profile });
    b.sync({ snapshot: snap, changed: new Set(snap.services.keys()), now: 0 });
    const rendered = b.render()['iptables-save']!;
    const ns = `kpb-${randomBytes(4).toString('hex')}`;
    assert.equal(run(['ip', 'netns', 'add', ns]).code, 0);
    live.add(ns);
    try {
      const r = run(['ip', 'netns', 'exec', ns, 'iptables-legacy-restore', '-w'], rendered);
      assert.equal(r.code, 0, `${profile}: iptables-legacy-restore: ${r.stderr}`);
      const saved = run(['ip', 'netns', 'exec', ns, 'iptables-legacy-save']);
      assert.equal(saved.code, 0, saved.stderr);
      const want = byTable(rendered);
      const got = byTable(saved.stdout);
      for (const table of ['filter', 'nat']) assert.equal(got.get(table), want.get(table), `${profile} ${table}`);
    } finally {
      deleteNs(ns);
    }
  }
});
