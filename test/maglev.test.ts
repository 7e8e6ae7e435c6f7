import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backendHashString,
  DEFAULT_MAGLEV_TABLE_SIZE,
  maglevTable,
  maglevTableForAddresses,
  maglevTableFromNames,
  parseMaglevSeed,
  runLengthEncode,
  type MaglevBackend,
} from '../src/backends/ebpf/maglev.js';
import { murmur3Hash128 } from '../src/backends/ebpf/murmur3.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** Cilium's maglev_test.go mkAddr(i): IPv4 address i (big-endian), port i % 65535, TCP, external scope. */
function mk(i: number, weight: number, id: number): MaglevBackend {
  const ip = `${(i >>> 24) & 255}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
  return { id, weight, hashString: backendHashString(ip, i % 65535, 'TCP') };
}

function counts(table: ArrayLike<number>): Map<number, number> {
  const c = new Map<number, number>();
  for (let j = 0; j < table.length; j++) c.set(table[j]!, (c.get(table[j]!) ?? 0) + 1);
  return c;
}

test('murmur3 x64_128 matches the reference implementation (smhasher vectors)', () => {
  assert.deepEqual(murmur3Hash128(enc(''), 0), [0n, 0n]);
  assert.deepEqual(murmur3Hash128(enc('hello'), 0), [0xcbd8a7b341bd9b02n, 0x5b1e906a48ae1d19n]);
  assert.deepEqual(murmur3Hash128(enc('The quick brown fox jumps over the lazy dog'), 0), [0xe34bbc7bbc071b6cn, 0x7a433ca9c49a9347n]);
});

test('the default seed decodes as Cilium decodes it (first 4 bytes big-endian seed murmur3)', () => {
  const s = parseMaglevSeed('JLfvgnHc2kaSUFaI');
  assert.equal(s.murmur, 0x24b7ef82);
  assert.throws(() => parseMaglevSeed('abc'), /base64/);
  assert.throws(() => parseMaglevSeed('AAAA'), /3 bytes \(not 12 bytes\)/);
});

test('backend hash strings reproduce Cilium setHashString', () => {
  assert.equal(backendHashString('10.244.1.1', 80, 'TCP'), '[10.244.1.1:80/TCP,State:active]');
  assert.equal(backendHashString('10.244.1.1', 53, 'UDP', true), '[10.244.1.1:53/UDP/i,State:active]');
  assert.equal(backendHashString('fd00::1', 80, 'TCP'), '[[fd00::1]:80/TCP,State:active]');
});

test("Cilium's TestReproducible vector (M=251, weights 2/13/111/10, default seed), entry for entry", () => {
  const expected =
    '2(5),3(1),2(3),1(1),2(2),0(1),2(1),3(1),2(1),3(1),2(1),1(1),2(7),1(1),2(14),3(1),2(1),' +
    '1(2),2(12),3(1),2(3),1(1),2(4),3(1),2(8),3(1),2(2),1(1),2(16),1(2),2(3),3(1),2(11),1(2),2(4),3(1),2(3),' +
    '1(1),2(4),3(1),2(1),0(1),1(1),2(8),1(1),2(7),1(1),2(4),3(1),2(1),3(1),2(9),1(2),2(5),1(1),2(7),3(1),2(1),' +
    '3(1),1(1),2(8),1(1),2(4),0(1),2(1),1(1),2(5),3(1),2(3),1(1),2(4),3(1),2(3),1(1),2(12),0(1),3(1),2(3),3(1),' +
    '2(4),3(1),2(2),1(1),2(7)';
  const backends = [mk(1, 2, 0), mk(3, 13, 1), mk(4, 111, 2), mk(5, 10, 3)];
  assert.equal(runLengthEncode(maglevTable(backends, 251)), expected);
  // input order does not matter: backends are sorted by hash string
  assert.equal(runLengthEncode(maglevTable([...backends].reverse(), 251, 'JLfvgnHc2kaSUFaI')), expected);
});

test("Cilium's TestWeightedBackendWithRemoval counts (M=1021) and < 1% disruption for the others", () => {
  const bes = [mk(1, 2, 1), mk(2, 13, 2), mk(3, 111, 3), mk(4, 10, 4)];
  const before = maglevTable(bes, 1021);
  assert.deepEqual(
    [...counts(before)].sort((a, b) => a[0] - b[0]),
    [
      [1, 16],
      [2, 98],
      [3, 832],
      [4, 75],
    ],
  );
  const after = maglevTable(bes.slice(1), 1021);
  let changed = 0;
  for (let j = 0; j < 1021; j++) {
    if (before[j] !== 1 && after[j] !== before[j]) changed++;
    assert.notEqual(after[j], 1);
  }
  assert.ok((changed / 1021) * 100 < 1, `changed ${changed}`);
});

test("Cilium's TestBackendRemoval: removing one of 3 backends moves < 1% of the others' entries (M=1021)", () => {
  const bes = [mk(1, 1, 1), mk(2, 1, 2), mk(3, 1, 3)];
  const before = maglevTable(bes, 1021);
  const after = maglevTable(bes.slice(0, 2), 1021);
  let changed = 0;
  for (let j = 0; j < 1021; j++) {
    if ((before[j] === 1 || before[j] === 2) && after[j] !== before[j]) changed++;
    else assert.ok(after[j] === 1 || after[j] === 2);
  }
  assert.ok((changed / 1021) * 100 < 1, `changed ${changed}`);
});

test('equal weights (100, as Kubernetes backends get) give the same table as weight 1', () => {
  const a = Array.from({ length: 7 }, (_, i) => ({
    id: i + 1,
    weight: 1,
    hashString: backendHashString(`10.244.0.${i + 1}`, 8080, 'TCP'),
  }));
  const b = a.map((x) => ({ ...x, weight: 100 }));
  assert.deepEqual(maglevTable(a, 1021), maglevTable(b, 1021));
});

test('Maglev paper properties at the default M=16381: every share within 1% of 1/N; a removal keeps the others almost in place', () => {
  const n = 100;
  const bes = Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    hashString: backendHashString(`10.244.${i >> 8}.${i & 255}`, 8080, 'TCP'),
  }));
  const t = maglevTable(bes, DEFAULT_MAGLEV_TABLE_SIZE);
  assert.equal(t.length, 16381);
  const c = counts(t);
  assert.equal(c.size, n);
  for (const [, k] of c) assert.ok(Math.abs(k / 16381 - 1 / n) <= 0.01 / n, `share ${k}`);
  // removal: with 10 backends, the 9 others keep all but < 1% of the table (Cilium's own removal tests use the
  // same bound); with 100 backends about 1.4% moves, the size of one backend's share
  const ten = bes.slice(0, 10);
  const t10 = maglevTable(ten, DEFAULT_MAGLEV_TABLE_SIZE);
  for (const gone of [1, 5, 10]) {
    const after = maglevTable(
      ten.filter((b) => b.id !== gone),
      DEFAULT_MAGLEV_TABLE_SIZE,
    );
    let moved = 0;
    for (let j = 0; j < t10.length; j++) if (t10[j] !== gone && after[j] !== t10[j]) moved++;
    assert.ok(moved / 16381 < 0.01, `moved ${moved}`);
  }
});

test('table size must be a prime; no backends give an empty table', () => {
  assert.throws(() => maglevTable([mk(1, 1, 1)], 1000), /prime/);
  assert.equal(maglevTable([], 251).length, 0);
  assert.deepEqual([...counts(maglevTable([mk(9, 1, 5)], 7))], [[5, 7]]);
});

test('convenience forms: by name (hashed as given) and by address give the same tables', () => {
  const names = [
    '[0.0.0.1:1/TCP,State:active]',
    '[0.0.0.3:3/TCP,State:active]',
    '[0.0.0.4:4/TCP,State:active]',
    '[0.0.0.5:5/TCP,State:active]',
  ];
  const byName = maglevTableFromNames(names, 251, 'JLfvgnHc2kaSUFaI', [0, 1, 2, 3], [2, 13, 111, 10]);
  assert.ok(runLengthEncode(byName).startsWith('2(5),3(1),2(3),1(1),2(2),0(1)'));
  const byAddr = maglevTableForAddresses(
    [1, 3, 4, 5].map((i, k) => ({ ip: `0.0.0.${i}`, port: i, id: k, weight: [2, 13, 111, 10][k] })),
    251,
  );
  assert.deepEqual(byAddr, byName);
  // default IDs are the names' positions; order of the input does not change which name owns which bucket
  const a = maglevTableFromNames(['one', 'two', 'three'], 1021, 0x24b7ef82);
  const b = maglevTableFromNames(['three', 'one', 'two'], 1021, 'JLfvgnHc2kaSUFaI', [2, 0, 1]);
  assert.deepEqual(a, b);
});
