/**
 * The nftables backend's texts, pinned to what the real tools print (nft 1.0.6 output observed in a private
 * namespace; knftables' transaction format) and to kube-proxy's name scheme; and the sync counts, which must be
 * exactly what the transaction text holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { elementOrder, nftTime, priorityText } from '../src/backends/nftables/table.js';
import { endpointChainNameBase, hashAndTruncate, masqueradeMarkText, servicePortChainNameBase } from '../src/backends/nftables/names.js';
import { createNftablesBackend, syncCountsOf } from '../src/backends/nftables/backend.js';
import { SYNTHETIC_NODE, syntheticSnapshot } from '../src/backends/nftables/synthetic.js';
import { backendDefinition, createBackend } from '../src/backends/registry.js';
import { scripted } from './fixtures/iptables.js';

test('chain names: kube-proxy hashAndTruncate', () => {
  assert.equal(servicePortChainNameBase('ns1', 'svc1', 'tcp', 'p80'), 'ULMVA6XW-ns1/svc1/tcp/p80');
  assert.equal(endpointChainNameBase('ns1', 'svc1', 'tcp', 'p80', '10.180.0.1', 80), '5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
  assert.equal(endpointChainNameBase('ns2', 'svc2', 'tcp', 'p8080', '10.0.2.1', 8080), '7RVP4LUQ-ns2/svc2/tcp/p8080__10.0.2.1/8080');
  // IPv6 endpoints: colons become dots
  assert.match(endpointChainNameBase('ns1', 'svc1', 'tcp', 'p80', 'fd00::1', 80), /^[A-Z2-7]{8}-ns1\/svc1\/tcp\/p80__fd00\.\.1\/80$/);
  // longer than 240 characters: cut, ending in "..."
  const long = hashAndTruncate('x'.repeat(300));
  assert.equal(long.length, 240);
  assert.ok(long.endsWith('...'));
  assert.equal(masqueradeMarkText(14), '0x00004000');
});

test('nft list formatting: named priorities, times, element order (as nft 1.0.6 printed them here)', () => {
  assert.equal(priorityText('prerouting', -110), 'dstnat - 10');
  assert.equal(priorityText('output', -110), '-110');
  assert.equal(priorityText('output', -100), '-100');
  assert.equal(priorityText('prerouting', -100), 'dstnat');
  assert.equal(priorityText('postrouting', 100), 'srcnat');
  assert.equal(priorityText('input', 0), 'filter');
  assert.equal(nftTime(10800), '3h');
  assert.equal(nftTime(100), '1m40s');
  const t = 'inet_proto . inet_service : verdict';
  const sorted = ['tcp . 30308', 'tcp . 30049', 'tcp . 30056'].sort((a, b) => (elementOrder(t, a) < elementOrder(t, b) ? -1 : 1));
  assert.deepEqual(sorted, ['tcp . 30049', 'tcp . 30308', 'tcp . 30056']);
  const t3 = 'ipv4_addr . inet_proto . inet_service : verdict';
  const s3 = ['10.0.0.1 . tcp . 999', '10.0.0.200 . udp . 800', '10.0.0.200 . tcp . 800'].sort((a, b) =>
    elementOrder(t3, a) < elementOrder(t3, b) ? -1 : 1,
  );
  assert.deepEqual(s3, ['10.0.0.200 . tcp . 800', '10.0.0.200 . udp . 800', '10.0.0.1 . tcp . 999']);
});

test('sync counts are exactly what the transaction text holds, full and partial', () => {
  const b = createNftablesBackend({ node: SYNTHETIC_NODE });
  const snap = syntheticSnapshot(40, 3);
  const check = (c: ReturnType<typeof b.syncCounts>) => {
    const text = b.lastTransaction();
    const lines = text.split('\n').filter((l) => l !== '');
    const n = syncCountsOf(c);
    assert.equal(n.transaction_operations, lines.length);
    assert.equal(n.rules_written, lines.filter((l) => l.startsWith('add rule ')).length);
    assert.equal(n.elements_written, lines.filter((l) => / element /.test(l)).length);
    assert.equal(n.chains_written, lines.filter((l) => l.startsWith('add chain ')).length);
    assert.equal(n.chains_flushed, lines.filter((l) => l.startsWith('flush chain ')).length);
    assert.equal(n.bytes_written, Buffer.byteLength(text) + Buffer.byteLength(b.proxier.lastStaleTransaction()));
    assert.equal(
      n.anonymous_sets_created,
      lines.filter((l) => l.includes(' numgen random mod ')).length +
        lines.filter((l) => /saddr != \{ \S+ , /.test(l) || /daddr \{ \S+,/.test(l)).length,
    );
  };
  check(b.syncCounts(snap, new Set(), 0));
  const key = [...snap.services.keys()][0]!; // a ClusterIP service with 3 endpoints
  const eps = new Map(snap.endpoints);
  eps.set(key, eps.get(key)!.slice(1));
  const r = b.syncCounts({ services: snap.services, endpoints: eps }, new Set([key]), 5);
  assert.equal(r.full, false);
  check(r);
  assert.equal(syncCountsOf(r).elements_written, 0, 'an endpoint removed changes chains only');
  // the service chain (masquerade rule, numgen) and the 2 kept endpoint chains (hairpin, dnat) are rewritten; the
  // removed endpoint's chain is flushed and left for deletion a second later
  assert.equal(syncCountsOf(r).rules_written, 6);
  assert.equal(syncCountsOf(r).chains_written, 3);
  assert.equal(syncCountsOf(r).chains_flushed, 4);
});

test('a backend built with renderable: false counts and walks exactly as a renderable one, and refuses to print', () => {
  const kept = createNftablesBackend({ node: SYNTHETIC_NODE });
  const lean = createNftablesBackend({ node: { ...SYNTHETIC_NODE, renderable: false } });
  const snap = syntheticSnapshot(40, 3); // every service shape: affinity, source ranges, eTP/iTP Local, no endpoints
  const key = [...snap.services.keys()][5]!;
  const eps = new Map(snap.endpoints);
  eps.set(key, eps.get(key)!.slice(1));
  // a service turning sticky and back (its endpoint chains gain and lose the affinity rule), and full resyncs
  const sticky = new Map(snap.services);
  const svc = sticky.get(key)!;
  sticky.set(key, { ...svc, stickyMaxAgeSeconds: svc.stickyMaxAgeSeconds > 0 ? 0 : 10800 });
  const steps: Array<[typeof snap, Set<string>, number]> = [
    [snap, new Set(), 0],
    [{ services: snap.services, endpoints: eps }, new Set([key]), 5],
    [snap, new Set([key]), 10],
    [{ services: sticky, endpoints: snap.endpoints }, new Set([key]), 20],
    [{ services: sticky, endpoints: snap.endpoints }, new Set(), 4000],
    [snap, new Set([key]), 4010],
    [snap, new Set(), 8000],
  ];
  for (const [s, changed, now] of steps) {
    assert.deepEqual(syncCountsOf(lean.syncCounts(s, changed, now)), syncCountsOf(kept.syncCounts(s, changed, now)));
    assert.deepEqual(lean.size(), kept.size());
    for (const info of s.services.values()) {
      for (const [dstIP, dstPort] of [
        [info.clusterIP, info.port],
        ...info.loadBalancerIPs.map((ip) => [ip, info.port] as const),
      ] as const) {
        for (const [srcIP, local] of [
          ['10.64.1.9', false],
          ['203.0.113.7', false],
          ['192.168.0.2', true],
        ] as const) {
          const pkt = { srcIP, srcPort: 40000, dstIP, dstPort, protocol: info.protocol, local };
          for (const draw of [0, 0.5, 0.99])
            assert.deepEqual(lean.lookup(pkt, scripted([draw]), now), kept.lookup(pkt, scripted([draw]), now));
        }
      }
    }
  }
  assert.throws(() => lean.render(), /renderable: false/);
  assert.throws(() => lean.lastTransaction(), /renderable: false/);
});

test('the registry creates the nftables backend with its defaults and renders both outputs', () => {
  const d = backendDefinition('nftables');
  const b = createBackend('nftables', SYNTHETIC_NODE, {});
  b.sync({ snapshot: syntheticSnapshot(3, 2, { mixed: false }), changed: new Set(), now: 0 });
  const listed = d.renderOutputs['nft']!.render(b);
  assert.ok(listed.startsWith('table ip kube-proxy {\n\tcomment "rules for kube-proxy"\n'));
  assert.ok(listed.includes('\t\tip daddr 10.96.0.0/12 drop comment "Drop traffic to unallocated ClusterIPs"\n'));
  const tx = d.renderOutputs['nft-transaction']!.render(b);
  assert.ok(tx.startsWith('add table ip kube-proxy { comment "rules for kube-proxy" ; }\n'));
  assert.deepEqual(b.size(), { nft_chains: 25, nft_rules: 41, nft_sets: 7, nft_elements: 7, nft_anonymous_sets: 3 });
  const cost = d.cost(d.optionsSchema.parse({}));
  const s = cost.syncSeconds(b.sync({ snapshot: syntheticSnapshot(3, 2, { mixed: false }), changed: new Set(), now: 1 }));
  assert.ok(s > 0);
});
