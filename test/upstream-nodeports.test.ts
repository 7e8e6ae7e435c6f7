/**
 * Upstream's TestNodePorts (pkg/proxy/iptables/proxier_test.go): a NodePort service (172.30.0.41:80, node port
 * 3001, endpoints 10.180.0.1 elsewhere and 10.180.2.1 on this node) under combinations of
 * --iptables-localhost-nodeports and --nodeport-addresses, checked with upstream's packet tracer
 * (test/fixtures/iptables-trace.ts) and the KUBE-FIREWALL chain, as upstream checks them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyNodeConfig } from '../src/types.js';
import { ep, snapshot, svc, upstreamBackend, UPSTREAM_NODE } from './fixtures/iptables.js';
import { chainRules, tracePacket } from './fixtures/iptables-trace.js';

const testNodeIP = '192.168.0.2';
const testNodeIPAlt = '192.168.1.2';
const testExternalClient = '203.0.113.2';
/** NewFakeProxier's local addresses (upstream testNodeIPs; the IPv6 ones matter only to the IPv6 family). */
const testNodeIPs = [testNodeIP, testNodeIPAlt, '192.168.99.11', '2001:db8::1', '2001:db8:1::2'];

interface Case {
  name: string;
  family?: 'IPv4' | 'IPv6';
  localhostNodePorts: boolean;
  nodePortAddresses: string[] | null;
  allowAltNodeIP: boolean;
  expectFirewall: boolean;
}

/** upstream's IPv4 subcases, in its order (its names, including the one that says "enabled" with the flag off). */
const CASES: Case[] = [
  {
    name: 'ipv4, localhost-nodeports enabled',
    localhostNodePorts: true,
    nodePortAddresses: null,
    allowAltNodeIP: true,
    expectFirewall: true,
  },
  {
    name: 'ipv4, localhost-nodeports disabled',
    localhostNodePorts: false,
    nodePortAddresses: null,
    allowAltNodeIP: true,
    expectFirewall: false,
  },
  {
    name: 'ipv4, localhost-nodeports disabled, localhost in nodeport-addresses',
    localhostNodePorts: false,
    nodePortAddresses: ['192.168.0.0/24', '127.0.0.1/32'],
    allowAltNodeIP: false,
    expectFirewall: false,
  },
  {
    name: 'ipv4, localhost-nodeports enabled, multiple nodeport-addresses',
    localhostNodePorts: false,
    nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'],
    allowAltNodeIP: true,
    expectFirewall: false,
  },
  {
    name: 'ipv6, localhost-nodeports enabled',
    family: 'IPv6',
    localhostNodePorts: true,
    nodePortAddresses: null,
    allowAltNodeIP: true,
    expectFirewall: false,
  },
  {
    name: 'ipv6, localhost-nodeports disabled',
    family: 'IPv6',
    localhostNodePorts: false,
    nodePortAddresses: null,
    allowAltNodeIP: true,
    expectFirewall: false,
  },
  {
    name: 'ipv6, localhost-nodeports disabled, multiple nodeport-addresses',
    family: 'IPv6',
    localhostNodePorts: false,
    nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'],
    allowAltNodeIP: false,
    expectFirewall: false,
  },
];

const FIREWALL_RULE =
  '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n';

for (const tc of CASES) {
  test(`upstream TestNodePorts: ${tc.name}`, () => {
    const v6 = tc.family === 'IPv6';
    // NewFakeProxier: pod CIDR 10.0.0.0/8 or fd00:10::/64; the fake's node IPs of the family
    const node: ProxyNodeConfig = v6
      ? {
          ...UPSTREAM_NODE,
          ipFamily: 'IPv6',
          nodeIPs: ['2001:db8::1', '2001:db8:1::2'],
          clusterCIDR: 'fd00:10::/64',
          nodePortAddresses: tc.nodePortAddresses ?? [],
        }
      : { ...UPSTREAM_NODE, nodeIPs: [testNodeIP, testNodeIPAlt, '192.168.99.11'], nodePortAddresses: tc.nodePortAddresses ?? [] };
    const [svcIP, epIP1, epIP2] = v6
      ? ['fd00:172:30::41', 'fd00:10:180::1', 'fd00:10:180::2:1']
      : ['172.30.0.41', '10.180.0.1', '10.180.2.1'];
    const b = upstreamBackend({ node, localhostNodePorts: tc.localhostNodePorts });
    const s = snapshot([
      [
        svc({ namespace: 'ns1', name: 'svc1', portName: 'p80', clusterIP: svcIP, port: 80, type: 'NodePort', nodePort: 3001 }),
        [ep(epIP1, 80), ep(epIP2, 80, { nodeName: 'test-node', isLocal: true })],
      ],
    ]);
    b.sync({ snapshot: s, changed: new Set(s.services.keys()), now: 0 });
    const save = b.render()['iptables-save']!;
    const [podIP, externalClientIP, nodeIP, altNodeIP, localhostIP] = v6
      ? ['fd00:10::2', '2600:5200::1', '2001:db8::1', '2001:db8:1::2', '::1']
      : ['10.0.0.2', testExternalClient, testNodeIP, testNodeIPAlt, '127.0.0.1'];
    const join = (ip: string) => (ip.includes(':') ? `[${ip}]:80` : `${ip}:80`);
    const output = `${join(epIP1)}, ${join(epIP2)}`;
    const flow = (name: string, src: string, dst: string, port: number, want: string, masq: boolean) => {
      const r = tracePacket(save, src, 'tcp', dst, port, testNodeIPs);
      assert.deepEqual({ output: r.output, masq: r.masq }, { output: want, masq }, `${name}\n${r.matches.join('\n')}`);
    };
    flow('pod to cluster IP', podIP, svcIP, 80, output, false);
    flow('external to nodePort', externalClientIP, nodeIP, 3001, output, true);
    flow('node to nodePort', nodeIP, nodeIP, 3001, output, true);
    // localhost to NodePort is only allowed in IPv4, and only if not disabled
    if (!v6 && tc.localhostNodePorts) flow('localhost to nodePort gets masqueraded', localhostIP, localhostIP, 3001, output, true);
    else flow('localhost to nodePort is ignored', localhostIP, localhostIP, 3001, '', false);
    if (tc.allowAltNodeIP) flow('external to nodePort on secondary IP', externalClientIP, altNodeIP, 3001, output, true);
    else flow('secondary nodeIP ignores NodePorts', externalClientIP, altNodeIP, 3001, '', false);
    // KUBE-FIREWALL, checked on the restore input as upstream does (its tracer has no conntrack states)
    assert.equal(chainRules(b.lastRestoreInput(), 'filter', 'KUBE-FIREWALL'), tc.expectFirewall ? FIREWALL_RULE : '');
  });
}

/** `kpbench render` in-process: code, stdout, stderr. */
async function kpbench(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import('../src/cli/main.js');
  let out = '';
  let err = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => ((out += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((err += String(c)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    process.exitCode = undefined;
  }
}

test('render: the node options as flags equal --set, and change the rules as kube-proxy does', async () => {
  const base = [
    'render',
    '--backend',
    'iptables',
    '--manifests',
    'test/fixtures/family/upstream-nodeports.yaml',
    '--node-name',
    'test-node',
  ];
  const flags = await kpbench(
    ...base,
    '--iptables-localhost-nodeports',
    'false',
    '--conntrack-tcp-be-liberal',
    '--random-fully',
    'false',
    '--nfacct',
    'false',
  );
  const sets = await kpbench(...base, '--set', 'localhostNodePorts=false', 'conntrackTCPLiberal=true', 'randomFully=false', 'nfacct=false');
  assert.equal(flags.code, 0, flags.err);
  assert.equal(flags.out, sets.out);
  const on = await kpbench(...base);
  assert.equal(on.code, 0, on.err);
  const lines = (t: string, re: RegExp) => t.split('\n').filter((l) => re.test(l));
  // defaults: localhost NodePorts (with the nfacct counter), KUBE-FIREWALL, --random-fully, the INVALID drop
  assert.deepEqual(lines(on.out, /^-A KUBE-FIREWALL |--random-fully|ctstate INVALID|127\.0\.0\.0\/8 .*--dport 30001/).length, 4);
  assert.deepEqual(lines(flags.out, /^-A KUBE-FIREWALL |--random-fully|ctstate INVALID|127\.0\.0\.0\/8 .*--dport 30001/), []);
  assert.deepEqual(lines(flags.out, /KUBE-SERVICES .*KUBE-NODEPORTS/), [
    '-A KUBE-SERVICES ! -d 127.0.0.0/8 -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  ]);
  const bad = await kpbench(...base, '--nfacct', 'yes');
  assert.equal(bad.code, 2);
  assert.equal(bad.err, "kpbench: --nfacct: must be true or false, got 'yes'\n");
});
