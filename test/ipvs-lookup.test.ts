import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpvsProxier } from '../src/backends/ipvs/index.js';
import type { LookupResult, Packet, Protocol } from '../src/types.js';
import { Cluster, NODE, ep, ipOf, smallCluster, svc, uniformCluster } from './fixtures/ipvs/cluster.js';

const RNG = { next: () => 0.5 };
const vip = (i: number): string => ipOf(((10 << 24) | (96 << 16)) + 1 + i);

function pkt(srcIP: string, dstIP: string, dstPort: number, protocol: Protocol = 'TCP', local = false, srcPort = 40000): Packet {
  return { srcIP, srcPort, dstIP, dstPort, protocol, local };
}

function work(l: ReturnType<IpvsProxier['lookup']>): [number, number, number] {
  return [l.counts.rules_evaluated, l.counts.set_lookups, l.counts.hash_probes];
}

test('first packet to the first and the last of 1,000 services: the same work (resizable service table)', () => {
  const b = new IpvsProxier({ node: NODE, svcTable: 'resizable' });
  b.sync(uniformCluster(1000, 3).request(0));
  const first = b.lookup(pkt('10.244.5.5', vip(0), 80), RNG, 1);
  const last = b.lookup(pkt('10.244.5.5', vip(999), 80), RNG, 1);
  assert.equal(first.verdict, 'DNAT');
  assert.equal(last.verdict, 'DNAT');
  // nat PREROUTING 5 rules, filter INPUT 6, filter OUTPUT 1, nat POSTROUTING 2; 4 ipset tests;
  // 2 connection-table probes (ip_vs_out_hook, ip_vs_in_hook) + 1 service-table probe
  assert.deepEqual(work(first), [14, 4, 3]);
  assert.deepEqual(work(last), work(first));
  // and the same at 10 services
  const small = new IpvsProxier({ node: NODE, svcTable: 'resizable' });
  small.sync(uniformCluster(10, 3).request(0));
  assert.deepEqual(work(small.lookup(pkt('10.244.5.5', vip(9), 80), RNG, 1)), [14, 4, 3]);
});

test('the kernels up to 7.0 walk a 256-bucket chain: rules and sets stay flat, probes follow the chain position', () => {
  const b = new IpvsProxier({ node: NODE });
  b.sync(uniformCluster(1000, 3).request(0));
  const first = b.lookup(pkt('10.244.5.5', vip(0), 80), RNG, 1);
  const last = b.lookup(pkt('10.244.5.5', vip(999), 80), RNG, 1);
  assert.deepEqual([first.counts.rules_evaluated, first.counts.set_lookups], [last.counts.rules_evaluated, last.counts.set_lookups]);
  // services are inserted at the head of their bucket: the first of 1,000 sits 4th in its chain, the last 1st
  assert.equal(b.kernel.chainPosition(b.kernel.services.get(`TCP|${vip(0)}|80`)!), 4);
  assert.deepEqual(work(first), [14, 4, 2 + 4]);
  assert.deepEqual(work(last), [14, 4, 2 + 1]);
  // mean probes over every service: 2 + mean chain position. 10.96.0.1 .. 10.96.3.232 on port 80 hash to
  // (low byte ^ 6 ^ 80): 232 buckets hold 4 services, 24 hold 3, so positions sum to 232*10 + 24*6 = 2464
  let sum = 0;
  for (let i = 0; i < 1000; i++) sum += b.lookup(pkt('10.244.5.5', vip(i), 80, 'TCP', false, 1000 + i), RNG, 2).counts.hash_probes;
  assert.equal(sum, 2 * 1000 + 2464);
});

test('verdicts and work for the reference cluster', () => {
  const b = new IpvsProxier({ node: NODE });
  b.sync(smallCluster().request(0));
  const cases: [string, Packet, Partial<LookupResult>, [number, number, number]][] = [
    [
      'pod to a cluster IP',
      pkt('10.244.2.50', '10.96.10.20', 80),
      { verdict: 'DNAT', masquerade: false, serviceKey: 'shop/web:http' },
      [24, 12, 3],
    ],
    [
      'off-cluster source to a cluster IP: masqueraded',
      pkt('172.16.0.9', '10.96.10.20', 80),
      { verdict: 'DNAT', masquerade: true },
      [27, 13, 3],
    ],
    [
      'node port: masqueraded',
      pkt('1.2.3.4', '192.168.0.10', 30080),
      { verdict: 'DNAT', masquerade: true, serviceKey: 'shop/web:http' },
      [32, 18, 3],
    ],
    [
      'LB IP, externalTrafficPolicy Local, allowed source: local endpoint, source kept, persistent',
      pkt('203.0.113.9', '198.51.100.5', 443),
      { verdict: 'DNAT', masquerade: false, endpoint: { ip: '10.244.1.8', port: 8443 } },
      [26, 15, 4],
    ],
    [
      'LB IP from a source outside loadBalancerSourceRanges',
      pkt('9.9.9.9', '198.51.100.5', 443),
      { verdict: 'DROP', endpoint: null },
      [21, 14, 0],
    ],
    [
      'a kube-ipvs0 address on a port that is no service (KUBE-IPVS-FILTER)',
      pkt('10.244.2.50', '10.96.10.20', 81),
      { verdict: 'REJECT', serviceKey: '' },
      [20, 14, 0],
    ],
    [
      'a service without endpoints: IPVS answers ICMP port unreachable',
      pkt('10.244.2.50', '10.96.10.99', 80),
      { verdict: 'REJECT', serviceKey: 'shop/empty:http', endpoint: null },
      [19, 11, 3],
    ],
    [
      'hairpin: a pod reaching itself through its service is masqueraded',
      pkt('10.244.1.5', '10.96.10.20', 80),
      { verdict: 'DNAT', masquerade: true, endpoint: { ip: '10.244.1.5', port: 8080 } },
      [23, 12, 3],
    ],
    [
      'pod to pod: not a service address',
      pkt('10.244.2.50', '10.244.3.3', 81),
      { verdict: 'PASS', endpoint: null, serviceKey: '' },
      [18, 8, 1],
    ],
    [
      'the node to an LB IP whose source ranges leave the node out (KUBE-IPVS-OUT-FILTER)',
      pkt('192.168.0.10', '198.51.100.5', 443, 'TCP', true),
      { verdict: 'DROP' },
      [16, 10, 4],
    ],
    [
      'the node to a cluster IP: source is the VIP, masqueraded',
      pkt('192.168.0.10', '10.96.10.20', 80, 'TCP', true),
      { verdict: 'DNAT', masquerade: true },
      [20, 9, 3],
    ],
    ['external IP from outside: masqueraded', pkt('8.8.8.8', '203.0.113.7', 80), { verdict: 'DNAT', masquerade: true }, [22, 10, 3]],
    [
      'DNS over UDP',
      pkt('10.244.2.50', '10.96.0.10', 53, 'UDP'),
      { verdict: 'DNAT', masquerade: false, serviceKey: 'kube-system/kube-dns:dns' },
      [24, 10, 3],
    ],
    ['SCTP node port', pkt('1.2.3.4', '192.168.0.10', 30868, 'SCTP'), { verdict: 'DNAT', masquerade: true }, [32, 17, 3]],
    ['a node port that is no service: the host', pkt('1.2.3.4', '192.168.0.10', 22), { verdict: 'PASS' }, [24, 17, 3]],
  ];
  for (const [name, p, want, w] of cases) {
    const l = b.lookup(p, RNG, 1);
    for (const [k, v] of Object.entries(want)) assert.deepEqual((l as unknown as Record<string, unknown>)[k], v, `${name}: ${k}`);
    assert.deepEqual(work(l), w, `${name}: work`);
  }
});

test('ClientIP affinity keeps a client on one real server; other clients are spread by rr', () => {
  const c = new Cluster().set(svc({ key: 'a/s:http', clusterIP: '10.96.0.50', port: 80, stickyMaxAgeSeconds: 10800 }), [
    ep('10.244.2.1', 8080),
    ep('10.244.2.2', 8080),
    ep('10.244.2.3', 8080),
  ]);
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  const mine = b.lookup(pkt('10.244.7.1', '10.96.0.50', 80, 'TCP', false, 1), RNG, 1).endpoint;
  for (let i = 0; i < 10; i++)
    assert.deepEqual(b.lookup(pkt('10.244.7.1', '10.96.0.50', 80, 'TCP', false, 100 + i), RNG, 2 + i).endpoint, mine);
  const others = new Set<string>();
  for (let i = 0; i < 6; i++) others.add(b.lookup(pkt(`10.244.8.${i}`, '10.96.0.50', 80), RNG, 20).endpoint!.ip);
  assert.equal(others.size, 3);
  // past the timeout since the last connection, the client is scheduled afresh (rr continues from its cursor)
  const later = b.lookup(pkt('10.244.7.1', '10.96.0.50', 80, 'TCP', false, 999), RNG, 20 + 10801).endpoint;
  assert.ok(later !== null);
});

test('all real servers quiesced by graceful termination: new connections are rejected', () => {
  const c = new Cluster().set(svc({ key: 'a/s:http', clusterIP: '10.96.0.50', port: 80 }), [ep('10.244.2.1', 8080)]);
  const b = new IpvsProxier({ node: NODE });
  b.sync(c.request(0));
  assert.equal(b.lookup(pkt('10.244.7.1', '10.96.0.50', 80), RNG, 1).verdict, 'DNAT');
  c.setEndpoints('a/s:http', []);
  b.sync(c.request(2));
  assert.equal(b.size().ipvs_real_servers, 1, 'still there with weight 0');
  assert.equal(b.lookup(pkt('10.244.7.1', '10.96.0.50', 80, 'TCP', false, 2), RNG, 3).verdict, 'REJECT');
});

test('lookups draw nothing from the random stream: IPVS schedulers are deterministic', () => {
  let draws = 0;
  const rng = {
    next: () => {
      draws++;
      return 0.5;
    },
  };
  for (const sched of ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'sed', 'nq'] as const) {
    const b = new IpvsProxier({ node: NODE, scheduler: sched });
    b.sync(smallCluster().request(0));
    for (let i = 0; i < 20; i++) assert.equal(b.lookup(pkt(`10.244.9.${i}`, '10.96.10.20', 80), rng, 1).verdict, 'DNAT', sched);
  }
  assert.equal(draws, 0);
});
