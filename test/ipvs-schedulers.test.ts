import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpvsKernel, dhHashKey, shHashKey, type RealServer, type VirtualService } from '../src/backends/ipvs/index.js';
import type { IpvsScheduler } from '../src/backends/ipvs/index.js';

/** A virtual service with destinations added in the given order (the kernel puts each new one at the list head). */
function service(
  sched: IpvsScheduler,
  dests: [string, number][],
  flags = 0,
  timeout = 0,
): { k: IpvsKernel; vs: VirtualService; d: Map<string, RealServer> } {
  const k = new IpvsKernel('fixed256');
  const vs = k.addService('TCP', '10.96.0.1', 80, sched, flags, timeout);
  const d = new Map<string, RealServer>();
  for (const [ip, w] of dests) d.set(ip, k.addDest(vs, ip, 8080, w));
  return { k, vs, d };
}

function picks(k: IpvsKernel, vs: VirtualService, n: number, src = 0x0a000001): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(k.schedule(vs, src, vs.ipInt, 0).dest?.ip ?? 'none');
  return out;
}

test('the destination list runs from the most recently added real server (list_add_rcu at the head)', () => {
  const { vs } = service('rr', [
    ['10.0.0.1', 1],
    ['10.0.0.2', 1],
    ['10.0.0.3', 1],
  ]);
  assert.deepEqual(
    vs.dests.map((x) => x.ip),
    ['10.0.0.3', '10.0.0.2', '10.0.0.1'],
  );
});

test('rr: round robin over the list from the head, skipping weight-0 servers', () => {
  const { k, vs, d } = service('rr', [
    ['10.0.0.1', 1],
    ['10.0.0.2', 1],
    ['10.0.0.3', 1],
  ]);
  assert.deepEqual(picks(k, vs, 7), ['10.0.0.3', '10.0.0.2', '10.0.0.1', '10.0.0.3', '10.0.0.2', '10.0.0.1', '10.0.0.3']);
  // quiesce .2 (graceful termination): never picked again
  k.updateDest(vs, d.get('10.0.0.2')!, 0);
  assert.deepEqual(picks(k, vs, 4), ['10.0.0.1', '10.0.0.3', '10.0.0.1', '10.0.0.3']);
  // all quiesced: no destination
  k.updateDest(vs, d.get('10.0.0.1')!, 0);
  k.updateDest(vs, d.get('10.0.0.3')!, 0);
  assert.deepEqual(picks(k, vs, 1), ['none']);
});

test('rr: deleting the current server moves the cursor to the previous entry (ip_vs_rr_del_dest)', () => {
  const { k, vs, d } = service('rr', [
    ['10.0.0.1', 1],
    ['10.0.0.2', 1],
    ['10.0.0.3', 1],
    ['10.0.0.4', 1],
  ]);
  // list: .4 .3 .2 .1
  assert.deepEqual(picks(k, vs, 2), ['10.0.0.4', '10.0.0.3']);
  k.deleteDest(vs, d.get('10.0.0.3')!);
  assert.deepEqual(picks(k, vs, 4), ['10.0.0.2', '10.0.0.1', '10.0.0.4', '10.0.0.2']);
  // a new server goes to the head; the cursor keeps its place
  k.addDest(vs, '10.0.0.5', 8080, 1);
  assert.deepEqual(picks(k, vs, 4), ['10.0.0.1', '10.0.0.5', '10.0.0.4', '10.0.0.2']);
});

test('wrr: weights 4, 3, 2 give 4:3:2 per cycle of 9, in the kernel order', () => {
  const { k, vs } = service('wrr', [
    ['10.0.0.1', 4],
    ['10.0.0.2', 3],
    ['10.0.0.3', 2],
  ]);
  const seq = picks(k, vs, 21).map((ip) => ip.slice(-1));
  // dest_changed leaves cw at 1 after the adds, so the first pass takes every server once
  assert.deepEqual(seq.join(' '), '3 2 1 1 2 1 3 2 1 3 2 1 1 2 1 3 2 1 3 2 1');
  const cycle = seq.slice(3, 12);
  assert.equal(cycle.filter((x) => x === '1').length, 4);
  assert.equal(cycle.filter((x) => x === '2').length, 3);
  assert.equal(cycle.filter((x) => x === '3').length, 2);
});

test('wrr: weights with a common divisor step by the gcd; weight 0 is never chosen', () => {
  const { k, vs, d } = service('wrr', [
    ['10.0.0.1', 4],
    ['10.0.0.2', 2],
  ]);
  assert.deepEqual(
    picks(k, vs, 6)
      .map((ip) => ip.slice(-1))
      .join(' '),
    '2 1 1 2 1 1',
  );
  k.updateDest(vs, d.get('10.0.0.1')!, 0);
  assert.deepEqual(
    picks(k, vs, 3)
      .map((ip) => ip.slice(-1))
      .join(' '),
    '2 2 2',
  );
});

test('lc: least active*256 + inactive, first in list order on ties, weight 0 skipped', () => {
  const { k, vs, d } = service('lc', [
    ['10.0.0.1', 1],
    ['10.0.0.2', 1],
    ['10.0.0.3', 1],
  ]);
  Object.assign(d.get('10.0.0.1')!, { activeConns: 1, inactiveConns: 0 }); // 256
  Object.assign(d.get('10.0.0.2')!, { activeConns: 0, inactiveConns: 300 }); // 300
  Object.assign(d.get('10.0.0.3')!, { activeConns: 0, inactiveConns: 255 }); // 255
  assert.equal(k.schedule(vs, 1, vs.ipInt, 0).dest?.ip, '10.0.0.3');
  d.get('10.0.0.3')!.inactiveConns = 256; // tie with .1: .3 is earlier in the list
  assert.equal(k.schedule(vs, 1, vs.ipInt, 0).dest?.ip, '10.0.0.3');
  k.updateDest(vs, d.get('10.0.0.3')!, 0);
  assert.equal(k.schedule(vs, 1, vs.ipInt, 0).dest?.ip, '10.0.0.1');
});

test('wlc: overhead/weight, compared as loh*w(dest) > doh*w(least)', () => {
  const { k, vs, d } = service('wlc', [
    ['10.0.0.1', 1],
    ['10.0.0.2', 3],
  ]);
  // list: .2 (w3), .1 (w1)
  Object.assign(d.get('10.0.0.2')!, { activeConns: 4, inactiveConns: 0 }); // 1024 / 3 = 341
  Object.assign(d.get('10.0.0.1')!, { activeConns: 1, inactiveConns: 10 }); // 266 / 1
  assert.equal(k.schedule(vs, 1, vs.ipInt, 0).dest?.ip, '10.0.0.1');
  d.get('10.0.0.1')!.activeConns = 2; // 522 / 1 > 341
  assert.equal(k.schedule(vs, 1, vs.ipInt, 0).dest?.ip, '10.0.0.2');
  // equal load: the first in list order stays
  Object.assign(d.get('10.0.0.1')!, { activeConns: 1, inactiveConns: 0 }); // 256*3 = 768 vs 1024*1: not greater
  d.get('10.0.0.2')!.activeConns = 3; // 768 / 3 = 256 = 256 / 1
  assert.equal(k.schedule(vs, 1, vs.ipInt, 0).dest?.ip, '10.0.0.2');
});

test('sed: (active + 1) / weight; nq: an idle server first, otherwise as sed', () => {
  const sed = service('sed', [
    ['10.0.0.1', 1],
    ['10.0.0.2', 3],
  ]);
  Object.assign(sed.d.get('10.0.0.2')!, { activeConns: 4, inactiveConns: 0 }); // 5/3
  Object.assign(sed.d.get('10.0.0.1')!, { activeConns: 1, inactiveConns: 1000 }); // 2/1: inactive ignored
  assert.equal(sed.k.schedule(sed.vs, 1, sed.vs.ipInt, 0).dest?.ip, '10.0.0.2');
  sed.d.get('10.0.0.1')!.activeConns = 0; // 1/1 < 5/3
  assert.equal(sed.k.schedule(sed.vs, 1, sed.vs.ipInt, 0).dest?.ip, '10.0.0.1');

  const nq = service('nq', [
    ['10.0.0.1', 1],
    ['10.0.0.2', 5],
    ['10.0.0.3', 1],
  ]);
  // list: .3 .2 .1
  Object.assign(nq.d.get('10.0.0.3')!, { activeConns: 2 });
  Object.assign(nq.d.get('10.0.0.2')!, { activeConns: 1 });
  Object.assign(nq.d.get('10.0.0.1')!, { activeConns: 0 });
  assert.equal(nq.k.schedule(nq.vs, 1, nq.vs.ipInt, 0).dest?.ip, '10.0.0.1', 'the idle server, though later in the list');
  nq.d.get('10.0.0.1')!.activeConns = 1; // none idle: (1+1)/5 beats (2+1)/1 and (1+1)/1
  assert.equal(nq.k.schedule(nq.vs, 1, nq.vs.ipInt, 0).dest?.ip, '10.0.0.2');
});

test('sh: hash_32 of the source address into 256 buckets; a client always lands on the same server', () => {
  assert.deepEqual(
    [0x0a000001, 0x0a000002, 0xc0a80001].map((s) => shHashKey(s)),
    [39, 137, 192],
  );
  const { k, vs, d } = service('sh', [
    ['10.0.0.1', 1],
    ['10.0.0.2', 1],
    ['10.0.0.3', 1],
  ]);
  const first = new Map<number, string>();
  for (let c = 0; c < 64; c++) first.set(c, k.schedule(vs, 0x0a010000 + c, vs.ipInt, 0).dest!.ip);
  for (let round = 0; round < 3; round++)
    for (let c = 0; c < 64; c++) assert.equal(k.schedule(vs, 0x0a010000 + c, vs.ipInt, 0).dest!.ip, first.get(c));
  // buckets are dealt round-robin from the list head, one per unit of weight: all three servers get clients
  assert.equal(new Set(first.values()).size, 3);
  // bucket 39 (source 10.0.0.1): 39 % 3 = 0 -> list head .3
  assert.equal(k.schedule(vs, 0x0a000001, vs.ipInt, 0).dest!.ip, '10.0.0.3');
  // a quiesced server's clients get no destination (kube-proxy sets no sh-fallback flag)
  k.updateDest(vs, d.get('10.0.0.3')!, 0);
  assert.equal(k.schedule(vs, 0x0a000001, vs.ipInt, 0).dest, null);
});

test('dh: hash of the destination (the VIP): every client of one virtual service gets the same server', () => {
  assert.equal(dhHashKey(0x0a600001), 177);
  const { k, vs } = service('dh', [
    ['10.0.0.1', 1],
    ['10.0.0.2', 1],
    ['10.0.0.3', 1],
  ]);
  const got = new Set<string>();
  for (let c = 0; c < 50; c++) got.add(k.schedule(vs, 0x0a010000 + c * 7, vs.ipInt, 0).dest!.ip);
  // 10.96.0.1 -> bucket 177, 177 % 3 = 0 -> list head
  assert.deepEqual([...got], ['10.0.0.3']);
});

test('persistence: a client stays on its server within the timeout, moves when it expires or the server is quiesced', () => {
  const { k, vs, d } = service(
    'rr',
    [
      ['10.0.0.1', 1],
      ['10.0.0.2', 1],
      ['10.0.0.3', 1],
    ],
    1,
    600,
  );
  const a = 0x0a010001;
  const b = 0x0a010002;
  assert.equal(k.schedule(vs, a, vs.ipInt, 0).dest!.ip, '10.0.0.3');
  assert.equal(k.schedule(vs, b, vs.ipInt, 1).dest!.ip, '10.0.0.2');
  for (let t = 2; t < 500; t += 100) assert.equal(k.schedule(vs, a, vs.ipInt, t).dest!.ip, '10.0.0.3');
  // every use restarts the template timer: 402 + 600 > 1000
  assert.equal(k.schedule(vs, a, vs.ipInt, 1000).dest!.ip, '10.0.0.3');
  // template expired (last use 1000): rescheduled by rr
  assert.equal(k.schedule(vs, a, vs.ipInt, 1601).dest!.ip, '10.0.0.1');
  // expire_quiescent_template=1: a weight-0 server invalidates the template
  k.updateDest(vs, d.get('10.0.0.2')!, 0);
  assert.notEqual(k.schedule(vs, b, vs.ipInt, 1602).dest!.ip, '10.0.0.2');
  assert.equal(k.schedule(vs, b, vs.ipInt, 1602).templateProbes, 1);
});
