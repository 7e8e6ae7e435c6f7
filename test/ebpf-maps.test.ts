import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CiliumLb, type AgentOptions } from '../src/backends/ebpf/reconciler.js';
import { DEFAULT_MAGLEV_SEED } from '../src/backends/ebpf/maglev.js';
import type { ProxyNodeConfig } from '../src/types.js';
import { endpoint, servicePort } from './fixtures/proxy.js';
import { snapshot } from './fixtures/iptables.js';
import { lbMapsDump } from './fixtures/ebpf/dump.js';

const NODE: ProxyNodeConfig = {
  nodeName: 'testnode',
  nodeIPs: ['1.1.1.1'],
  clusterCIDR: '10.244.0.0/16',
  podCIDR: '10.244.1.0/24',
  localDetector: 'ClusterCIDR',
  masqueradeAll: false,
  masqueradeBit: 14,
  nodePortAddresses: [],
};

const RANDOM: AgentOptions = { algorithm: 'random', maglevTableSize: 16381, maglevSeed: DEFAULT_MAGLEV_SEED, externalClusterIP: false };

test("Cilium's trafficpolicy.txtar: Local/Local keeps only this node's backend; mixed policies add an internal-scope frontend", () => {
  const lb = new CiliumLb(NODE, RANDOM);
  const base = {
    namespace: 'test',
    name: 'echo',
    portName: 'http',
    clusterIP: '10.96.50.104',
    port: 80,
    type: 'LoadBalancer' as const,
    loadBalancerIPs: ['1.1.1.1'],
  };
  const eps = [endpoint('10.244.1.1', 80, { nodeName: 'testnode', isLocal: true }), endpoint('10.244.2.1', 80, { nodeName: 'othernode' })];
  const local = servicePort({ ...base, externalPolicyLocal: true, internalPolicyLocal: true });
  lb.sync(snapshot([[local, eps]]), null);
  // Cilium's expected dump (the master's LBALG reads "random" in that older fixture; newer agents write "undef")
  assert.equal(
    lbMapsDump(lb),
    `BE: ID=1 ADDR=10.244.1.1:80/TCP STATE=active
REV: ID=1 ADDR=1.1.1.1:80
REV: ID=2 ADDR=10.96.50.104:80
SVC: ID=1 ADDR=1.1.1.1:80/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=1 QCOUNT=0 FLAGS=LoadBalancer+Local+InternalLocal
SVC: ID=1 ADDR=1.1.1.1:80/TCP SLOT=1 BEID=1 COUNT=0 QCOUNT=0 FLAGS=LoadBalancer+Local+InternalLocal
SVC: ID=2 ADDR=10.96.50.104:80/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=1 QCOUNT=0 FLAGS=ClusterIP+Local+InternalLocal+non-routable
SVC: ID=2 ADDR=10.96.50.104:80/TCP SLOT=1 BEID=1 COUNT=0 QCOUNT=0 FLAGS=ClusterIP+Local+InternalLocal+non-routable
`,
  );
  const mixed = servicePort({ ...base, externalPolicyLocal: false, internalPolicyLocal: true });
  lb.sync(snapshot([[mixed, eps]]), new Set([mixed.key]));
  assert.equal(
    lbMapsDump(lb),
    `BE: ID=1 ADDR=10.244.1.1:80/TCP STATE=active
BE: ID=2 ADDR=10.244.2.1:80/TCP STATE=active
REV: ID=1 ADDR=1.1.1.1:80
REV: ID=2 ADDR=10.96.50.104:80
REV: ID=3 ADDR=1.1.1.1:80
SVC: ID=1 ADDR=1.1.1.1:80/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=2 QCOUNT=0 FLAGS=LoadBalancer+InternalLocal+two-scopes
SVC: ID=1 ADDR=1.1.1.1:80/TCP SLOT=1 BEID=1 COUNT=0 QCOUNT=0 FLAGS=LoadBalancer+InternalLocal+two-scopes
SVC: ID=1 ADDR=1.1.1.1:80/TCP SLOT=2 BEID=2 COUNT=0 QCOUNT=0 FLAGS=LoadBalancer+InternalLocal+two-scopes
SVC: ID=2 ADDR=10.96.50.104:80/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=1 QCOUNT=0 FLAGS=ClusterIP+InternalLocal+non-routable
SVC: ID=2 ADDR=10.96.50.104:80/TCP SLOT=1 BEID=1 COUNT=0 QCOUNT=0 FLAGS=ClusterIP+InternalLocal+non-routable
SVC: ID=3 ADDR=1.1.1.1:80/TCP/i SLOT=0 LBALG=undef AFFTimeout=0 COUNT=1 QCOUNT=0 FLAGS=LoadBalancer+InternalLocal+two-scopes
SVC: ID=3 ADDR=1.1.1.1:80/TCP/i SLOT=1 BEID=1 COUNT=0 QCOUNT=0 FLAGS=LoadBalancer+InternalLocal+two-scopes
`,
  );
});

test("Cilium's nodeport-maglev.txtar (M=1021): surrogate and per-node-address NodePort entries, Maglev only where reachable from outside", () => {
  const lb = new CiliumLb(NODE, { ...RANDOM, algorithm: 'maglev', maglevTableSize: 1021 });
  const eps = (n: number) =>
    [1, 2, 3, 4].map((i) => endpoint(`10.244.${n}.${i}`, 80, { nodeName: i <= 2 ? 'nodeport-worker' : 'nodeport-worker2' }));
  const echo = servicePort({
    namespace: 'test',
    name: 'echo',
    portName: 'http',
    clusterIP: '10.96.50.104',
    port: 80,
    type: 'NodePort',
    nodePort: 30781,
  });
  const echo2 = servicePort({
    namespace: 'test',
    name: 'echo2',
    portName: 'http2',
    clusterIP: '10.96.50.105',
    port: 80,
    type: 'NodePort',
    nodePort: 30782,
  });
  lb.sync(snapshot([[echo, eps(1)]]), null);
  lb.sync(
    snapshot([
      [echo, eps(1)],
      [echo2, eps(2)],
    ]),
    new Set([echo2.key]),
  );
  const slots = (id: number, addr: string, flags: string, first: number) =>
    [1, 2, 3, 4].map((s) => `SVC: ID=${id} ADDR=${addr} SLOT=${s} BEID=${first + s - 1} COUNT=0 QCOUNT=0 FLAGS=${flags}`).join('\n');
  // Cilium's expected dump, without the "10.96.50.10x:0/ANY" ClusterIP wildcard entries of newer agents (not modelled)
  assert.equal(
    lbMapsDump(lb),
    `BE: ID=1 ADDR=10.244.1.1:80/TCP STATE=active
BE: ID=2 ADDR=10.244.1.2:80/TCP STATE=active
BE: ID=3 ADDR=10.244.1.3:80/TCP STATE=active
BE: ID=4 ADDR=10.244.1.4:80/TCP STATE=active
BE: ID=5 ADDR=10.244.2.1:80/TCP STATE=active
BE: ID=6 ADDR=10.244.2.2:80/TCP STATE=active
BE: ID=7 ADDR=10.244.2.3:80/TCP STATE=active
BE: ID=8 ADDR=10.244.2.4:80/TCP STATE=active
MAGLEV: ID=2 INNER=[1(256), 2(255), 3(255), 4(255)]
MAGLEV: ID=5 INNER=[5(256), 6(255), 7(255), 8(255)]
REV: ID=1 ADDR=0.0.0.0:30781
REV: ID=2 ADDR=1.1.1.1:30781
REV: ID=3 ADDR=10.96.50.104:80
REV: ID=4 ADDR=0.0.0.0:30782
REV: ID=5 ADDR=1.1.1.1:30782
REV: ID=6 ADDR=10.96.50.105:80
SVC: ID=1 ADDR=0.0.0.0:30781/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=4 QCOUNT=0 FLAGS=NodePort+non-routable
${slots(1, '0.0.0.0:30781/TCP', 'NodePort+non-routable', 1)}
SVC: ID=2 ADDR=1.1.1.1:30781/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=4 QCOUNT=0 FLAGS=NodePort
${slots(2, '1.1.1.1:30781/TCP', 'NodePort', 1)}
SVC: ID=3 ADDR=10.96.50.104:80/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=4 QCOUNT=0 FLAGS=ClusterIP+non-routable
${slots(3, '10.96.50.104:80/TCP', 'ClusterIP+non-routable', 1)}
SVC: ID=4 ADDR=0.0.0.0:30782/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=4 QCOUNT=0 FLAGS=NodePort+non-routable
${slots(4, '0.0.0.0:30782/TCP', 'NodePort+non-routable', 5)}
SVC: ID=5 ADDR=1.1.1.1:30782/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=4 QCOUNT=0 FLAGS=NodePort
${slots(5, '1.1.1.1:30782/TCP', 'NodePort', 5)}
SVC: ID=6 ADDR=10.96.50.105:80/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=4 QCOUNT=0 FLAGS=ClusterIP+non-routable
${slots(6, '10.96.50.105:80/TCP', 'ClusterIP+non-routable', 5)}
`,
  );
  // deleting everything empties every map
  lb.sync(snapshot([]), new Set([echo.key, echo2.key]));
  assert.equal(lbMapsDump(lb), '\n');
});

test("Cilium's graceful-termination.txtar: a terminating backend moves behind the active one and out of count", () => {
  const lb = new CiliumLb(NODE, RANDOM);
  const svc = servicePort({ namespace: 'test', name: 'graceful-term-svc', clusterIP: '10.96.116.33', port: 8081 });
  const term = { ready: false, serving: true, terminating: true };
  lb.sync(snapshot([[svc, [endpoint('10.244.0.112', 8081), endpoint('10.244.0.113', 8081)]]]), null);
  const c = lb.sync(snapshot([[svc, [endpoint('10.244.0.112', 8081, term), endpoint('10.244.0.113', 8081)]]]), new Set([svc.key]));
  assert.equal(
    lbMapsDump(lb),
    `BE: ID=1 ADDR=10.244.0.112:8081/TCP STATE=terminating
BE: ID=2 ADDR=10.244.0.113:8081/TCP STATE=active
REV: ID=1 ADDR=10.96.116.33:8081
SVC: ID=1 ADDR=10.96.116.33:8081/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=1 QCOUNT=1 FLAGS=ClusterIP+non-routable
SVC: ID=1 ADDR=10.96.116.33:8081/TCP SLOT=1 BEID=2 COUNT=0 QCOUNT=0 FLAGS=ClusterIP+non-routable
SVC: ID=1 ADDR=10.96.116.33:8081/TCP SLOT=2 BEID=1 COUNT=0 QCOUNT=0 FLAGS=ClusterIP+non-routable
`,
  );
  // the agent's writes for that change: one backend entry (new state), both slots, rev-NAT, master
  assert.deepEqual(
    {
      be: c.backend_updates,
      svc: c.svc_updates,
      revnat: c.revnat_updates,
      del: c.svc_deletes + c.backend_deletes,
      total: c.elements_written,
      changes: c.endpoint_changes,
    },
    { be: 1, svc: 3, revnat: 1, del: 0, total: 5, changes: 1 },
  );
  // all terminating: they become selectable again (count 2, qcount 0)
  lb.sync(snapshot([[svc, [endpoint('10.244.0.112', 8081, term), endpoint('10.244.0.113', 8081, term)]]]), new Set([svc.key]));
  assert.match(lbMapsDump(lb), /SLOT=0 LBALG=undef AFFTimeout=0 COUNT=2 QCOUNT=0/);
  // a pod that is neither ready nor serving is not a backend: its entry and its slot go
  const d = lb.sync(snapshot([[svc, [endpoint('10.244.0.113', 8081, term)]]]), new Set([svc.key]));
  assert.deepEqual({ bd: d.backend_deletes, sd: d.svc_deletes, su: d.svc_updates }, { bd: 1, sd: 1, su: 2 });
});

test('sync counts: an endpoint change rewrites every slot of each frontend of that service, independent of other services', () => {
  const per = (services: number) => {
    const lb = new CiliumLb(NODE, RANDOM);
    const entries = Array.from({ length: services }, (_, i) => {
      const s = servicePort({
        namespace: 'ns',
        name: `s${i}`,
        clusterIP: `10.96.${i >> 8}.${i & 255}`,
        port: 80,
        type: 'NodePort',
        nodePort: 30000 + i,
      });
      return [s, [1, 2, 3].map((j) => endpoint(`10.245.${i & 255}.${j}`, 8080))] as [typeof s, ReturnType<typeof endpoint>[]];
    });
    lb.sync(snapshot(entries), null);
    const [s0, eps0] = entries[0]!;
    const changed = snapshot([[s0, [...eps0, endpoint('10.245.0.9', 8080)]], ...entries.slice(1)]);
    return lb.sync(changed, new Set([s0.key]));
  };
  const a = per(3);
  const b = per(300);
  assert.deepEqual(a, b);
  // 3 frontends (ClusterIP, 0.0.0.0:nodePort, 1.1.1.1:nodePort) x (4 slots + master + rev-NAT) + 1 new backend entry
  assert.equal(a.elements_written, 3 * 6 + 1);
  assert.equal(a.endpoint_changes, 1);
  assert.equal(a.maglev_entries_written, 0);
});

test('Maglev: each changed externally reachable frontend rewrites its whole table (M entries, counted apart)', () => {
  const lb = new CiliumLb(NODE, { ...RANDOM, algorithm: 'maglev' });
  const s = servicePort({
    namespace: 'ns',
    name: 'lb',
    clusterIP: '10.96.0.5',
    port: 80,
    type: 'LoadBalancer',
    nodePort: 31000,
    loadBalancerIPs: ['203.0.113.7'],
  });
  lb.sync(snapshot([[s, [endpoint('10.245.0.1', 8080)]]]), null);
  const c = lb.sync(snapshot([[s, [endpoint('10.245.0.1', 8080), endpoint('10.245.0.2', 8080)]]]), new Set([s.key]));
  // 1.1.1.1:31000 and 203.0.113.7:80 have tables; the ClusterIP and the 0.0.0.0 surrogate do not
  assert.equal(c.maglev_table_writes, 2);
  assert.equal(c.maglev_entries_written, 2 * 16381);
  // emptying the service deletes both tables
  const e = lb.sync(snapshot([[s, []]]), new Set([s.key]));
  assert.equal(e.maglev_deletes, 2);
  assert.equal(lb.maglev.size, 0);
});

test('frontends: externalIPs, NodePort only on --nodeport-addresses, nothing for headless and ExternalName services', async () => {
  const { desiredFrontends } = await import('../src/backends/ebpf/frontends.js');
  const { flagsString } = await import('../src/backends/ebpf/lbmaps.js');
  const node: ProxyNodeConfig = { ...NODE, nodeIPs: ['192.168.0.2', '10.0.0.2'], nodePortAddresses: ['primary'] };
  const s = servicePort({
    namespace: 'ns',
    name: 'x',
    clusterIP: '10.96.0.9',
    port: 80,
    type: 'NodePort',
    nodePort: 30009,
    externalIPs: ['198.51.100.4'],
  });
  const fes = desiredFrontends(s, [endpoint('10.244.5.5', 80)], node, { externalClusterIP: false });
  assert.deepEqual(
    fes.map((f) => `${f.key} ${flagsString(f.flags)} ${f.count}`),
    [
      '0.0.0.0:30009/TCP NodePort, non-routable 1',
      '10.96.0.9:80/TCP ClusterIP, non-routable 1',
      '192.168.0.2:30009/TCP NodePort 1',
      '198.51.100.4:80/TCP ExternalIPs 1',
    ],
  );
  const headless = servicePort({ namespace: 'ns', name: 'h', clusterIP: 'None', port: 80 });
  assert.deepEqual(desiredFrontends(headless, [endpoint('10.244.5.5', 80)], node, { externalClusterIP: false }), []);
  const ext = servicePort({ namespace: 'ns', name: 'e', clusterIP: '', port: 80, type: 'ExternalName' });
  assert.deepEqual(desiredFrontends(ext, [], node, { externalClusterIP: false }), []);
});

test('deterministic IDs: the same snapshots give the same maps; a deleted service frees its entries and counts its endpoints', () => {
  const mk = () => {
    const lb = new CiliumLb(NODE, RANDOM);
    const a = servicePort({ namespace: 'ns', name: 'a', clusterIP: '10.96.1.1', port: 80 });
    const b = servicePort({ namespace: 'ns', name: 'b', clusterIP: '10.96.1.2', port: 80 });
    lb.sync(
      snapshot([
        [a, [endpoint('10.244.9.1', 80), endpoint('10.244.9.2', 80)]],
        [b, [endpoint('10.244.9.3', 80)]],
      ]),
      null,
    );
    const d = lb.sync(snapshot([[b, [endpoint('10.244.9.3', 80)]]]), new Set([a.key]));
    return { lb, d };
  };
  const x = mk();
  const y = mk();
  assert.equal(lbMapsDump(x.lb), lbMapsDump(y.lb));
  assert.deepEqual(
    { svc: x.d.svc_deletes, be: x.d.backend_deletes, rn: x.d.revnat_deletes, changes: x.d.endpoint_changes },
    { svc: 3, be: 2, rn: 1, changes: 2 },
  );
  assert.equal(
    lbMapsDump(x.lb),
    `BE: ID=3 ADDR=10.244.9.3:80/TCP STATE=active
REV: ID=2 ADDR=10.96.1.2:80
SVC: ID=2 ADDR=10.96.1.2:80/TCP SLOT=0 LBALG=undef AFFTimeout=0 COUNT=1 QCOUNT=0 FLAGS=ClusterIP+non-routable
SVC: ID=2 ADDR=10.96.1.2:80/TCP SLOT=1 BEID=3 COUNT=0 QCOUNT=0 FLAGS=ClusterIP+non-routable
`,
  );
});

test("service IDs are 16-bit (Cilium's MaxSetOfServiceID 0xFFFF): frontends beyond them are counted as service_id_errors, not programmed", () => {
  const lb = new CiliumLb(NODE, RANDOM);
  const n = 65_540;
  const entries = Array.from({ length: n }, (_, i) => {
    const s = servicePort({ namespace: 'ns', name: `s${i}`, clusterIP: `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port: 80 });
    return [s, [endpoint(`10.245.${(i >> 8) & 255}.${i & 255}`, 8080)]] as [typeof s, ReturnType<typeof endpoint>[]];
  });
  const c = lb.sync(snapshot(entries), null);
  // IDs 1..65534 are handed out (the allocator wraps at 0xFFFF)
  assert.equal(c.frontends_reconciled, 65_534);
  assert.equal(c.service_id_errors, n - 65_534);
  assert.equal(lb.frontendCount(), 65_534);
  assert.equal(lb.revNat.size, 65_534);
});
