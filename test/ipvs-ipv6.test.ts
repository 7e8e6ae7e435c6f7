/**
 * kube-proxy's IPv6 IPVS proxier (a dual-stack node's second proxier, or an IPv6 node): the inet6 ipsets named
 * "KUBE-6-..." (pkg/proxy/ipvs/ipset.go NewIPSet, cut to 31 characters), IPv6 virtual and real servers as
 * `ipvsadm -S -n` prints them ("[addr]:port"), kube-ipvs0's inet6 /128 addresses, and the ip6tables rules with
 * "::1/128" as the localhost source (writeIptablesRules). The real-tool part loads the rendered sets with the
 * real `ipset restore` and the restore input with `ip6tables-nft-restore` in a private network namespace and reads
 * them back; ipvsadm cannot load here (no IPVS module).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpvsProxier, Ipset, IPSET_INFO } from '../src/backends/ipvs/index.js';
import { ipsetName } from '../src/backends/ipvs/ipset.js';
import { NODE6, smallCluster6, uniformCluster6 } from './fixtures/ipvs/cluster.js';
import { netfilterUsable as usable, unshared as sh } from './fixtures/netns.js';
import { loadManifests } from '../src/cluster/manifests.js';
import { renderDetailed } from '../src/proxy/render.js';
import { RngStreams } from '../src/sim/rng.js';

function rendered(c = smallCluster6()): IpvsProxier {
  const b = new IpvsProxier({ node: NODE6 });
  b.sync(c.request(0));
  return b;
}

test('the IPv6 proxier names its sets KUBE-6-..., cut to 31 characters', () => {
  assert.deepEqual(
    IPSET_INFO.map((i) => ipsetName(i.name, 'inet6')),
    [
      'KUBE-6-LOOP-BACK',
      'KUBE-6-CLUSTER-IP',
      'KUBE-6-EXTERNAL-IP',
      'KUBE-6-EXTERNAL-IP-LOCAL',
      'KUBE-6-LOAD-BALANCER',
      'KUBE-6-LOAD-BALANCER-FW',
      'KUBE-6-LOAD-BALANCER-LOCAL',
      'KUBE-6-LOAD-BALANCER-SOURCE-IP',
      'KUBE-6-LOAD-BALANCER-SOURCE-CID',
      'KUBE-6-NODE-PORT-TCP',
      'KUBE-6-NODE-PORT-LOCAL-TCP',
      'KUBE-6-NODE-PORT-UDP',
      'KUBE-6-NODE-PORT-LOCAL-UDP',
      'KUBE-6-NODE-PORT-SCTP-HASH',
      'KUBE-6-NODE-PORT-LOCAL-SCTP-HAS',
      'KUBE-6-HEALTH-CHECK-NODE-PORT',
      'KUBE-6-IPVS-IPS',
    ],
  );
  assert.equal(ipsetName('KUBE-LOAD-BALANCER-SOURCE-CIDR', 'inet'), 'KUBE-LOAD-BALANCER-SOURCE-CIDR');
});

test('render, IPv6 IPVS: virtual servers, inet6 sets, kube-ipvs0 and the ip6tables rules', () => {
  const r = rendered().render();
  const ipvs = r['ipvsadm -S -n']!.split('\n');
  assert.deepEqual(ipvs.slice(0, 6), [
    '-A -t [fd00:10:96::1]:443 -s rr -p 10800',
    '-a -t [fd00:10:96::1]:443 -r [2001:db8::10]:6443 -m -w 1',
    '-A -t [fd00:10:96::a:14]:80 -s rr',
    '-a -t [fd00:10:96::a:14]:80 -r [fd00:10:244:1::5]:8080 -m -w 1',
    '-a -t [fd00:10:96::a:14]:80 -r [fd00:10:244:2::6]:8080 -m -w 1',
    '-a -t [fd00:10:96::a:14]:80 -r [fd00:10:244:3::7]:8080 -m -w 1',
  ]);
  // the node port on the node's IPv6 address, the LB and external IPs, UDP last (ipvsadm's protocol order)
  assert.ok(ipvs.includes('-A -t [2001:db8::10]:30080 -s rr'));
  assert.ok(
    ipvs.includes('-a -t [2001:db8:5::5]:443 -r [fd00:10:244:1::8]:8443 -m -w 1'),
    'externalTrafficPolicy Local: local endpoint only',
  );
  assert.deepEqual(ipvs.slice(-4), [
    '-A -u [fd00:10:96::a]:53 -s rr',
    '-a -u [fd00:10:96::a]:53 -r [fd00:10:244:1::2]:53 -m -w 1',
    '-a -u [fd00:10:96::a]:53 -r [fd00:10:244:2::3]:53 -m -w 1',
    '',
  ]);
  const sets = r['ipset save']!;
  const lines = (name: string): string[] => sets.split('\n').filter((l) => l.startsWith(`add ${name} `) || l.startsWith(`create ${name} `));
  assert.deepEqual(lines('KUBE-6-CLUSTER-IP'), [
    'create KUBE-6-CLUSTER-IP hash:ip,port family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0xd7d98dad',
    'add KUBE-6-CLUSTER-IP fd00:10:96::1,tcp:443',
    'add KUBE-6-CLUSTER-IP fd00:10:96::a:14,tcp:80',
    'add KUBE-6-CLUSTER-IP fd00:10:96::a:1e,tcp:443',
    'add KUBE-6-CLUSTER-IP fd00:10:96::a,udp:53',
    'add KUBE-6-CLUSTER-IP fd00:10:96::14:28,tcp:3000',
  ]);
  assert.deepEqual(lines('KUBE-6-LOAD-BALANCER-SOURCE-CID'), [
    'create KUBE-6-LOAD-BALANCER-SOURCE-CID hash:ip,port,net family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0xeb444e41',
    'add KUBE-6-LOAD-BALANCER-SOURCE-CID 2001:db8:5::5,tcp:443,2001:db8:7::/48',
    'add KUBE-6-LOAD-BALANCER-SOURCE-CID 2001:db8:5::6,tcp:3000,2001:db8::/64',
    'add KUBE-6-LOAD-BALANCER-SOURCE-CID 2001:db8:5::6,tcp:3000,2001:db8:9::1',
  ]);
  // the node (2001:db8::10) is in 2001:db8::/64: it may reach grafana's LB IP, not checkout's
  assert.deepEqual(lines('KUBE-6-LOAD-BALANCER-SOURCE-IP').slice(1), [
    'add KUBE-6-LOAD-BALANCER-SOURCE-IP 2001:db8:5::6,tcp:3000,2001:db8:5::6',
  ]);
  assert.deepEqual(lines('KUBE-6-LOOP-BACK').slice(1), [
    'add KUBE-6-LOOP-BACK fd00:10:244:1::2,udp:53,fd00:10:244:1::2',
    'add KUBE-6-LOOP-BACK fd00:10:244:1::5,tcp:8080,fd00:10:244:1::5',
    'add KUBE-6-LOOP-BACK fd00:10:244:1::8,tcp:8443,fd00:10:244:1::8',
  ]);
  assert.equal(lines('KUBE-6-NODE-PORT-TCP')[0], 'create KUBE-6-NODE-PORT-TCP bitmap:port range 0-65535');
  const save = r['iptables-save']!;
  for (const line of [
    '-A KUBE-SERVICES -s ::1/128 -j RETURN',
    '-A KUBE-SERVICES ! -s fd00:10:244::/56 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-6-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ',
    '-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-6-IPVS-IPS dst -j REJECT --reject-with icmp6-port-unreachable',
    '-A KUBE-IPVS-OUT-FILTER -s 2001:db8:5::5/128 -m ipvs --vproto 6 --vaddr 2001:db8:5::5 --vport 443 -j DROP',
  ])
    assert.ok(save.split('\n').includes(line), line);
  assert.ok(!/KUBE-(?!6-)[A-Z-]+ (dst|src)/.test(save.replace(/-j KUBE-[A-Z-]+/g, '')), 'only inet6 set names');
  // kube-ipvs0: /128 addresses, the IPv6 ones newest first
  const ifc = r['ip addr show kube-ipvs0']!.split('\n');
  assert.deepEqual(ifc.slice(2, 4), ['    inet6 2001:db8:7::7/128 scope global ', '       valid_lft forever preferred_lft forever']);
  assert.equal(ifc.filter((l) => l.startsWith('    inet6 ')).length, 8);
  assert.equal(ifc.at(-3), '    inet6 fd00:10:96::1/128 scope global ');
});

test('render --backend ipvs for IPv6 manifests; first packets through it are not modelled', () => {
  const r = renderDetailed({
    backend: 'ipvs',
    objects: loadManifests(['test/fixtures/family/dual-stack.yaml']),
    nodeName: 'test-node',
    clusterCIDR: 'fd00:10::/48',
    ipFamily: 'IPv6',
  });
  assert.deepEqual(
    r.ruleset['ipvsadm -S -n']!.split('\n').filter((l) => l.startsWith('-A')),
    ['-A -t [fd00:172:30::41]:80 -s rr', '-A -t [2001:db8::1]:30080 -s rr', '-A -u [fd00:172:30::42]:53 -s rr'],
  );
  assert.throws(
    () =>
      r.backend.lookup(
        { srcIP: 'fd00:10::9', srcPort: 1, dstIP: 'fd00:172:30::41', dstPort: 80, protocol: 'TCP', local: false },
        { next: () => 0 },
        0,
      ),
    /not modelled/,
  );
  // the IPv4 family of the same objects: the IPv4 names and addresses only
  const v4 = renderDetailed({ backend: 'ipvs', objects: loadManifests(['test/fixtures/family/dual-stack.yaml']), nodeName: 'test-node' });
  assert.ok(!v4.ruleset['ipset save']!.includes('KUBE-6-') && !v4.ruleset['ipvsadm -S -n']!.includes('['));
});

// ---------------------------------------------------------------------------------------------
// The real tools
// ---------------------------------------------------------------------------------------------

process.env['PATH'] = `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`;

function withFiles(files: Record<string, string>, fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'kpbench-ipvs6-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('real ipset: restore + save -sorted gives back the rendered inet6 sets byte for byte', (t) => {
  if (!usable(t, ['unshare', 'ipset'])) return;
  const save = rendered().render()['ipset save']!;
  withFiles({ sets: save }, (dir) => {
    const r = sh(`ipset restore < ${dir}/sets && ipset save -sorted`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, save);
  });
});

test('real ipset: 20,000 IPv6 services grow the inet6 hash tables to the sizes the jhash emulation predicts', (t) => {
  if (!usable(t, ['unshare', 'ipset'])) return;
  const save = rendered(uniformCluster6(20000, 1)).render()['ipset save']!;
  const creates = save.split('\n').filter((l) => l.startsWith('create '));
  assert.ok(
    creates.includes('create KUBE-6-CLUSTER-IP hash:ip,port family inet6 hashsize 8192 maxelem 65536 bucketsize 12 initval 0xd7d98dad'),
  );
  withFiles({ sets: save }, (dir) => {
    // plain save (see test/ipvs-realtool.test.ts on -sorted with large sets), compared as a set of lines
    const r = sh(`ipset restore < ${dir}/sets && ipset save`);
    assert.equal(r.code, 0, r.err);
    const sorted = (s: string): string[] =>
      s
        .split('\n')
        .filter((l) => l !== '')
        .sort();
    assert.deepEqual(sorted(r.out), sorted(save));
  });
});

test('real ipset: -sorted order of random inet6 entries of every type kube-proxy uses', (t) => {
  if (!usable(t, ['unshare', 'ipset'])) return;
  const rng = new RngStreams(7).stream('ipset6');
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const addr = (): string => {
    const g = [
      pick([0xfd00, 0xfd00, 0x2001]),
      0x10,
      0x96,
      pick([0, 0, 5]),
      0,
      pick([0, 0, 1]),
      pick([0, 0, 1, 0xa, 0x14, 0x100]),
      pick([0, 1, 2, 0xa, 0xb, 0x14, 0x28, 0x100, 0xabc]),
    ];
    return g.map((x) => x.toString(16)).join(':');
  };
  const sets = ['hash:ip', 'hash:ip,port', 'hash:ip,port,ip', 'hash:ip,port,net'].map(
    (type, i) => new Ipset({ name: `KUBE-T${i}`, type: type as never, comment: '' }, 1 + i, 'inet6'),
  );
  for (let n = 0; n < 120; n++) {
    const a = addr();
    const pp = `${pick(['tcp', 'udp', 'sctp'])}:${pick([9, 53, 80, 443, 3000, 8080])}`;
    sets[0]!.ref(a);
    sets[1]!.ref(`${a},${pp}`);
    sets[2]!.ref(`${a},${pp},${addr()}`);
    const prefix = pick([48, 64, 112, 128]);
    const net = addr();
    sets[3]!.ref(`${a},${pp},${net}/${prefix}`);
  }
  const save = sets.map((s) => s.save()).join('');
  withFiles({ sets: save }, (dir) => {
    const r = sh(`ipset restore < ${dir}/sets && ipset save -sorted`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, save);
  });
});

const JUMPS6 = [
  'ip6tables-nft -t nat -N KUBE-SERVICES',
  'ip6tables-nft -t nat -N KUBE-POSTROUTING',
  'ip6tables-nft -t nat -I OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  'ip6tables-nft -t nat -I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  'ip6tables-nft -t nat -I POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
  'ip6tables-nft -N KUBE-FORWARD',
  'ip6tables-nft -N KUBE-NODE-PORT',
  'ip6tables-nft -N KUBE-PROXY-FIREWALL',
  'ip6tables-nft -N KUBE-IPVS-FILTER',
  'ip6tables-nft -N KUBE-IPVS-OUT-FILTER',
  'ip6tables-nft -I FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
  'ip6tables-nft -I INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT',
  'ip6tables-nft -I INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
  'ip6tables-nft -I FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
  'ip6tables-nft -I INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER',
  'ip6tables-nft -I OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER',
].join(' && ');

test("real ip6tables: kube-proxy's restore input through ip6tables-nft-restore + ip6tables-nft-save gives back the rendered ip6tables-save", (t) => {
  if (!usable(t, ['unshare', 'ipset', 'ip6tables-nft', 'ip6tables-nft-restore', 'ip6tables-nft-save'])) return;
  const b = rendered();
  let restore = b.lastRestoreInput();
  let expected = b.render()['iptables-save']!;
  const go = (): { code: number; out: string; err: string } => {
    let out = { code: 0, out: '', err: '' };
    withFiles({ sets: b.render()['ipset save']!, restore }, (dir) => {
      out = sh(
        `ipset restore < ${dir}/sets && ${JUMPS6} && ip6tables-nft-restore --noflush --counters < ${dir}/restore && ip6tables-nft-save | grep -v '^#'`,
      );
    });
    return out;
  };
  let r = go();
  if (r.code !== 0 && /ipvs/.test(r.err)) {
    // no xt_ipvs in this kernel: everything but the KUBE-IPVS-OUT-FILTER rule
    const drop = (s: string): string =>
      s
        .split('\n')
        .filter((l) => !l.includes('-m ipvs'))
        .join('\n');
    restore = drop(restore);
    expected = drop(expected);
    r = go();
  }
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, expected);
});
