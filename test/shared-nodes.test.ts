import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpvsProxier } from '../src/backends/ipvs/index.js';
import { EbpfDataplane } from '../src/backends/ebpf/index.js';
import type { Backend, EndpointInfo, Packet, ProxyNodeConfig, ProxySnapshot, ServicePortInfo } from '../src/types.js';
import { endpoint, servicePort } from './fixtures/proxy.js';
import { NODE } from './fixtures/ipvs/cluster.js';

const RNG = { next: () => 0.5 };

/** A snapshot holding the given endpoint lists themselves (the shared tracker hands identical nodes one list). */
function snap(ports: [ServicePortInfo, readonly EndpointInfo[]][]): ProxySnapshot {
  return { services: new Map(ports.map(([s]) => [s.key, s])), endpoints: new Map(ports.map(([s, e]) => [s.key, e])) };
}

function pkt(srcIP: string, dstIP: string, dstPort: number, srcPort: number): Packet {
  return { srcIP, srcPort, dstIP, dstPort, protocol: 'TCP', local: false };
}

/**
 * Two nodes sharing what identical nodes share (ProxyNodeConfig.shared) and two that share nothing go through the
 * same syncs, first packets and closed connections, one node changing before the other: every count, lookup and
 * printed ruleset stays the same.
 */
function sameAsUnshared(create: (node: ProxyNodeConfig) => Backend): void {
  const a = servicePort({ namespace: 'ns', name: 'a', clusterIP: '10.96.0.10', port: 80 });
  const b = servicePort({ namespace: 'ns', name: 'b', clusterIP: '10.96.0.11', port: 80, type: 'NodePort', nodePort: 30080 });
  const epsA = [endpoint('10.244.2.1', 8080), endpoint('10.244.2.2', 8080), endpoint('10.244.3.1', 8080)];
  const epsB = [endpoint('10.244.2.3', 8080), endpoint('10.244.3.3', 8080)];
  const epsA2 = [endpoint('10.244.2.2', 8080), endpoint('10.244.3.1', 8080), endpoint('10.244.3.7', 8080)];
  const s0 = snap([
    [a, epsA],
    [b, epsB],
  ]);
  const s1 = snap([
    [a, epsA2],
    [b, epsB],
  ]);
  const all = new Set([a.key, b.key]);
  const nodes = (shared: boolean) => [create({ ...NODE, shared }), create({ ...NODE, nodeName: 'node-2', shared })];
  const [x1, x2] = nodes(true);
  const [y1, y2] = nodes(false);
  const step = (f: (n: Backend) => unknown): void => assert.deepEqual(JSON.stringify(f(x1!)), JSON.stringify(f(y1!)));
  const step2 = (f: (n: Backend) => unknown): void => assert.deepEqual(JSON.stringify(f(x2!)), JSON.stringify(f(y2!)));
  step((n) => n.sync({ snapshot: s0, changed: all, now: 0 }).counts);
  step2((n) => n.sync({ snapshot: s0, changed: all, now: 0 }).counts);
  for (let i = 0; i < 4; i++) step((n) => n.lookup(pkt('10.244.1.5', '10.96.0.10', 80, 40000 + i), RNG, 1));
  step((n) => n.connectionClosed?.({ ip: '10.244.2.1', port: 8080 }, a.key, 'TCP'));
  step((n) => n.sync({ snapshot: s1, changed: new Set([a.key]), now: 2 }).counts);
  for (let i = 0; i < 3; i++) step2((n) => n.lookup(pkt('10.244.1.6', '10.96.0.10', 80, 41000 + i), RNG, 3));
  step2((n) => n.sync({ snapshot: s1, changed: new Set([a.key]), now: 4 }).counts);
  for (let i = 0; i < 3; i++) step2((n) => n.lookup(pkt('10.244.1.6', '10.96.0.10', 80, 42000 + i), RNG, 5));
  step((n) => n.housekeeping?.(200));
  for (const [s, u] of [
    [x1!, y1!],
    [x2!, y2!],
  ] as const) {
    assert.deepEqual(s.size(), u.size());
    assert.deepEqual(s.render(), u.render());
  }
}

test('IPVS: nodes sharing their ClusterIP services (ProxyNodeConfig.shared) count, route and print as unshared ones', () => {
  sameAsUnshared((node) => new IpvsProxier({ node }));
});

test('eBPF: nodes sharing backend keys and frontends (ProxyNodeConfig.shared) count, route and print as unshared ones', () => {
  sameAsUnshared((node) => new EbpfDataplane(node));
});
