import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpsetStore } from '../src/backends/ipvs/index.js';

// kube-proxy creates its sets with maxelem 65536; an add beyond it fails in the kernel ("Hash is full"), which
// kube-proxy logs and retries every sync (pkg/proxy/ipvs/ipset.go, syncIPSetEntries): a counted result, not a crash
test('a full ipset refuses entries (counted, kept as missing) and takes them once room is made', () => {
  const store = new IpsetStore();
  const set = store.get('KUBE-CLUSTER-IP');
  const entry = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255},tcp:80`;
  for (let i = 0; i < 65536; i++) assert.equal(set.ref(entry(i)), true);
  assert.equal(set.size, 65536);
  assert.equal(set.addErrors, 0);
  set.ref(entry(65536));
  set.ref(entry(65537));
  assert.equal(set.size, 65536);
  assert.equal(set.addErrors, 2);
  assert.equal(set.missingCount, 2);
  assert.equal(set.has(entry(65536)), false);
  // a sync retries: still full, two more errors
  assert.equal(store.retryMissing(), 0);
  assert.equal(store.addErrors(), 4);
  // room for one: the next retry adds it, the other fails again
  set.unref(entry(0));
  assert.equal(store.retryMissing(), 1);
  assert.equal(set.size, 65536);
  assert.equal(set.missingCount, 1);
  assert.equal(store.addErrors(), 5);
  // an entry no longer wanted is no longer missing
  set.unref(entry(65537));
  set.unref(entry(65536));
  assert.equal(set.missingCount, 0);
});
