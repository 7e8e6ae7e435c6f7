/**
 * Whole rulesets of small clusters as `iptables-save` prints them, compared byte for byte with fixtures.
 * The fixtures were checked against the real tools (iptables 1.8.9, legacy and nft): the restore input was applied
 * in a private network namespace after kube-proxy's chain/jump setup, and iptables-save printed exactly the fixture.
 * The last test repeats that check when the machine allows it (root, unshare, iptables), and skips otherwise.
 * Set UPDATE_FIXTURES=1 to rewrite the fixtures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EndpointInfo, ServicePortInfo } from '../src/types.js';
import { createIptablesBackend, type IptablesBackend } from '../src/backends/iptables/index.js';
import { ep, REAL_NODE, snapshot, svc } from './fixtures/iptables.js';

const FIXTURES = new URL('./fixtures/iptables/', import.meta.url);
const UPDATE = process.env.UPDATE_FIXTURES === '1';

const local = { nodeName: 'node-1', isLocal: true };
const terminating = { ready: false, serving: true, terminating: true };

/** Small clusters on a node with kube-proxy's real defaults (mark 0x00004000, --random-fully, nfacct). */
const SCENARIOS: Record<string, Array<[ServicePortInfo, EndpointInfo[]]>> = {
  clusterip: [
    [svc({ namespace: 'default', name: 'kubernetes', portName: 'https', clusterIP: '10.96.0.1', port: 443 }), [ep('192.168.0.2', 6443)]],
    [
      svc({ namespace: 'default', name: 'web', portName: 'http', clusterIP: '10.96.0.10', port: 80, targetPort: 8080 }),
      [ep('10.244.1.5', 8080, local), ep('10.244.2.7', 8080), ep('10.244.3.9', 8080)],
    ],
    [
      svc({ namespace: 'kube-system', name: 'kube-dns', portName: 'dns', clusterIP: '10.96.0.53', port: 53, protocol: 'UDP' }),
      [ep('10.244.1.2', 53, local), ep('10.244.2.2', 53)],
    ],
  ],
  nodeport: [
    [
      svc({ namespace: 'shop', name: 'front', clusterIP: '10.96.7.1', port: 80, type: 'NodePort', nodePort: 30080 }),
      [ep('10.244.1.10', 8080, local), ep('10.244.2.10', 8080)],
    ],
  ],
  'loadbalancer-source-ranges': [
    [
      svc({
        namespace: 'shop',
        name: 'api',
        portName: 'https',
        clusterIP: '10.96.8.1',
        port: 443,
        type: 'LoadBalancer',
        nodePort: 31443,
        loadBalancerIPs: ['203.0.113.10', '203.0.113.11'],
        // the second range holds the node IP, so traffic from the LB IPs themselves is allowed too
        loadBalancerSourceRanges: ['198.51.100.0/24', ' 192.168.0.0/16'],
      }),
      [ep('10.244.1.20', 8443), ep('10.244.2.20', 8443)],
    ],
  ],
  'etp-local': [
    [
      svc({
        namespace: 'shop',
        name: 'edge',
        clusterIP: '10.96.9.1',
        port: 80,
        type: 'LoadBalancer',
        nodePort: 30090,
        loadBalancerIPs: ['203.0.113.20'],
        externalIPs: ['192.168.100.5'],
        externalPolicyLocal: true,
        healthCheckNodePort: 32001,
      }),
      [ep('10.244.1.30', 8080, local), ep('10.244.2.30', 8080), ep('10.244.3.30', 8080)],
    ],
    [
      svc({
        namespace: 'shop',
        name: 'edge-elsewhere',
        clusterIP: '10.96.9.2',
        port: 80,
        type: 'NodePort',
        nodePort: 30091,
        externalPolicyLocal: true,
        healthCheckNodePort: 0,
      }),
      [ep('10.244.2.31', 8080)],
    ],
  ],
  affinity: [
    [
      svc({ namespace: 'shop', name: 'cart', portName: 'http', clusterIP: '10.96.10.1', port: 80, stickyMaxAgeSeconds: 10800 }),
      [ep('10.244.1.40', 8080), ep('10.244.2.40', 8080), ep('10.244.3.40', 8080)],
    ],
  ],
  'no-endpoints': [
    [svc({ namespace: 'shop', name: 'gone', clusterIP: '10.96.11.1', port: 80 }), []],
    [
      svc({
        namespace: 'shop',
        name: 'gone-lb',
        clusterIP: '10.96.11.2',
        port: 80,
        type: 'LoadBalancer',
        nodePort: 30111,
        loadBalancerIPs: ['203.0.113.30'],
        externalIPs: ['192.168.100.6'],
      }),
      [ep('10.244.2.50', 8080, { ready: false, serving: false })],
    ],
    [
      // internalTrafficPolicy Local with endpoints only on other nodes: DROP for the cluster IP
      svc({ namespace: 'shop', name: 'node-local', clusterIP: '10.96.11.3', port: 80, internalPolicyLocal: true }),
      [ep('10.244.2.51', 8080), ep('10.244.3.51', 8080)],
    ],
  ],
  terminating: [
    [
      // ready endpoints exist: the terminating one is left out
      svc({ namespace: 'roll', name: 'a', clusterIP: '10.96.12.1', port: 80 }),
      [ep('10.244.1.60', 8080), ep('10.244.2.60', 8080, terminating)],
    ],
    [
      // only serving-terminating endpoints: they are used (the not-serving one is not)
      svc({ namespace: 'roll', name: 'b', clusterIP: '10.96.12.2', port: 80 }),
      [ep('10.244.1.61', 8080, terminating), ep('10.244.2.61', 8080, { ...terminating, serving: false })],
    ],
    [
      // eTP:Local with a local terminating endpoint and a remote ready one: both chains, merged SEP set
      svc({
        namespace: 'roll',
        name: 'c',
        clusterIP: '10.96.12.3',
        port: 80,
        type: 'NodePort',
        nodePort: 30120,
        externalPolicyLocal: true,
      }),
      [ep('10.244.1.62', 8080, { ...local, ...terminating }), ep('10.244.2.62', 8080)],
    ],
  ],
};

function build(name: string): IptablesBackend {
  const b = createIptablesBackend({ node: REAL_NODE });
  const s = snapshot(SCENARIOS[name]!);
  b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
  return b;
}

for (const name of Object.keys(SCENARIOS)) {
  test(`iptables-save of a small cluster: ${name}`, () => {
    const got = build(name).render()['iptables-save']!;
    const file = new URL(`${name}.iptables-save.txt`, FIXTURES);
    if (UPDATE) writeFileSync(file, got);
    assert.equal(got, readFileSync(file, 'utf8'));
  });
}

test('render before any sync shows the built-in chains only', () => {
  const b = createIptablesBackend({ node: REAL_NODE });
  assert.equal(
    b.render()['iptables-save'],
    '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' +
      '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n',
  );
  assert.equal(b.size().iptables_rules, 0);
});

/** kube-proxy's setup outside the restore: canary chains, its chains, and the jump rules it prepends. */
const SETUP = (ipt: string): string => `
${ipt} -t nat -N KUBE-PROXY-CANARY && ${ipt} -t filter -N KUBE-PROXY-CANARY
for c in KUBE-SERVICES KUBE-NODEPORTS KUBE-POSTROUTING KUBE-MARK-MASQ; do ${ipt} -t nat -N $c; done
for c in KUBE-EXTERNAL-SERVICES KUBE-SERVICES KUBE-FORWARD KUBE-NODEPORTS KUBE-PROXY-FIREWALL KUBE-FIREWALL; do ${ipt} -t filter -N $c; done
${ipt} -t filter -I INPUT -j KUBE-FIREWALL && ${ipt} -t filter -I OUTPUT -j KUBE-FIREWALL
${ipt} -t filter -I INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
${ipt} -t filter -I FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
${ipt} -t filter -I INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
${ipt} -t filter -I FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
${ipt} -t filter -I OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
${ipt} -t filter -I FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
${ipt} -t filter -I INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
${ipt} -t filter -I OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
${ipt} -t filter -I FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
${ipt} -t nat -I OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
${ipt} -t nat -I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
${ipt} -t nat -I POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
`;

function realToolsAvailable(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const r = spawnSync(
    'unshare',
    ['-n', 'sh', '-c', 'iptables-legacy -t nat -S >/dev/null && iptables-nft -t nat -S >/dev/null && nfacct list >/dev/null'],
    {
      timeout: 20000,
    },
  );
  return r.status === 0;
}

/** Applies the restore inputs in order in a fresh network namespace and returns iptables-save (filter, nat). */
function realSave(ipt: string, inputs: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'kpbench-ipt-'));
  const files = inputs.map((t, i) => {
    const f = join(dir, `restore-${i}.txt`);
    writeFileSync(f, t);
    return f;
  });
  const script = [
    'set -e',
    'nfacct add ct_state_invalid_dropped_pkts >/dev/null; nfacct add localhost_nps_accepted_pkts >/dev/null',
    SETUP(ipt),
    ...files.map((f) => `${ipt}-restore --noflush --counters < ${f}`),
    `${ipt}-save -t filter; ${ipt}-save -t nat`,
  ].join('\n');
  const r = spawnSync('unshare', ['-n', 'sh', '-c', script], { encoding: 'utf8', timeout: 60000 });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
    .join('\n');
}

test(
  'the real iptables-save agrees with render(), after full and partial restores',
  { skip: !realToolsAvailable() && 'needs root, unshare and iptables' },
  () => {
    for (const name of Object.keys(SCENARIOS)) {
      const b = build(name);
      const expected = b.render()['iptables-save']!;
      for (const ipt of ['iptables-legacy', 'iptables-nft'])
        assert.equal(realSave(ipt, [b.lastRestoreInput()]), expected, `${name} (${ipt})`);
    }
    // a partial restore: one endpoint replaced, one service deleted, one added
    const b = createIptablesBackend({ node: REAL_NODE });
    const entries = [...SCENARIOS.clusterip!, ...SCENARIOS.affinity!, ...SCENARIOS.nodeport!];
    const s1 = snapshot(entries);
    b.sync({ snapshot: s1, changed: new Set(s1.services.keys()), now: 0 });
    const first = b.lastRestoreInput();
    const web = entries[1]![0];
    const cart = entries[3]![0];
    const s2 = snapshot([
      entries[0]!,
      [web, [ep('10.244.1.5', 8080, local), ep('10.244.9.9', 8080)]],
      ...SCENARIOS.nodeport!,
      ...SCENARIOS['loadbalancer-source-ranges']!,
    ]);
    const r = b.sync({ snapshot: s2, changed: new Set([web.key, cart.key, 'shop/api:https']), now: 5 });
    assert.equal(r.mode, 'partial');
    for (const ipt of ['iptables-legacy', 'iptables-nft']) {
      assert.equal(realSave(ipt, [first, b.lastRestoreInput()]), b.render()['iptables-save'], `after a partial restore (${ipt})`);
    }
  },
);

test('saveLine: iptables-save order and formats for single rules', async () => {
  const { saveLine, splitArgs } = await import('../src/backends/iptables/index.js');
  assert.deepEqual(splitArgs('-A X -m comment --comment "a \\"b\\" c" -j Y'), [
    '-A',
    'X',
    '-m',
    'comment',
    '--comment',
    'a "b" c',
    '-j',
    'Y',
  ]);
  assert.equal(
    saveLine(
      '-A KUBE-SVC-X -m comment --comment "ns/s:p cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 443 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
    ),
    '-A KUBE-SVC-X ! -s 10.244.0.0/16 -d 10.96.0.1/32 -p tcp -m comment --comment "ns/s:p cluster IP" -m tcp --dport 443 -j KUBE-MARK-MASQ',
  );
  assert.equal(saveLine('-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000'), '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000');
  assert.equal(saveLine('-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000'), '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0');
  assert.equal(saveLine('-A C -m comment --comment plain_name-1 -j ACCEPT'), '-A C -m comment --comment plain_name-1 -j ACCEPT');
  assert.equal(saveLine(`-A C -m comment --comment "it's" -j DROP`), `-A C -m comment --comment "it\\'s" -j DROP`);
  assert.equal(
    saveLine('-A S -m comment --comment "ns/s:p -> 10.0.0.1:80" -m statistic --mode random --probability 0.2000000000 -j SEP'),
    '-A S -m comment --comment "ns/s:p -> 10.0.0.1:80" -m statistic --mode random --probability 0.20000000019 -j SEP',
  );
});
