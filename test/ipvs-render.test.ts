import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IpvsProxier } from '../src/backends/ipvs/index.js';
import { NODE, smallCluster, uniformCluster } from './fixtures/ipvs/cluster.js';

const FIX = new URL('./fixtures/ipvs/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIX), 'utf8');

// The fixtures were checked against the real tools: `ipset restore` of small-cluster.ipset-save followed by
// `ipset save -sorted` (ipset v7.17) gives the file back byte for byte, and so does iptables-restore of
// small-cluster.iptables-restore followed by iptables-save (v1.8.9, comment lines dropped) for
// small-cluster.iptables-save, except the `-m ipvs` rule (no xt_ipvs here; its format is libxt_ipvs's).

function rendered(): { b: IpvsProxier; r: Record<string, string> } {
  const b = new IpvsProxier({ node: NODE });
  b.sync(smallCluster().request(0));
  return { b, r: b.render() };
}

test('ipvsadm -S -n of the reference cluster, byte for byte', () => {
  assert.equal(rendered().r['ipvsadm -S -n'], fixture('small-cluster.ipvsadm-save'));
});

test('ipset save of the reference cluster, byte for byte', () => {
  assert.equal(rendered().r['ipset save'], fixture('small-cluster.ipset-save'));
});

test('iptables-save of the reference cluster, byte for byte', () => {
  assert.equal(rendered().r['iptables-save'], fixture('small-cluster.iptables-save'));
});

test('the iptables-restore input kube-proxy writes for the reference cluster, byte for byte', () => {
  assert.equal(rendered().b.lastRestoreInput(), fixture('small-cluster.iptables-restore'));
});

test('ip addr show kube-ipvs0 of the reference cluster, byte for byte', () => {
  assert.equal(rendered().r['ip addr show kube-ipvs0'], fixture('small-cluster.ip-addr'));
});

test('rendering is deterministic and independent of the order services were synced in', () => {
  const a = rendered().r;
  const c = smallCluster();
  const keys = [...c.services.keys()].reverse();
  const b = new IpvsProxier({ node: NODE });
  b.sync({ snapshot: c.snapshot(), changed: new Set(), now: 0 });
  // the first sync always programs everything; later ones only what changed
  for (const k of keys) b.sync({ snapshot: c.snapshot(), changed: new Set([k]), now: 1 });
  const r = b.render();
  assert.equal(r['ipvsadm -S -n'], a['ipvsadm -S -n']);
  assert.equal(r['ipset save'], a['ipset save']);
  assert.equal(r['iptables-save'], a['iptables-save']);
});

test('key facts of the format: persistence, masquerading, weight, SCTP, set options', () => {
  const { r } = rendered();
  const ipvs = r['ipvsadm -S -n']!;
  assert.match(ipvs, /^-A -t 10\.96\.0\.1:443 -s rr -p 10800$/m);
  assert.match(ipvs, /^-a -t 10\.96\.0\.1:443 -r 192\.168\.0\.10:6443 -m -w 1$/m);
  assert.match(ipvs, /^-A -u 10\.96\.0\.10:53 -s rr$/m);
  assert.match(ipvs, /^-A --sctp-service 10\.96\.30\.50:3868 -s rr$/m);
  // a service without endpoints still has its virtual server
  assert.match(ipvs, /^-A -t 10\.96\.10\.99:80 -s rr$/m);
  const ipset = r['ipset save']!;
  assert.match(ipset, /^create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x[0-9a-f]{8}$/m);
  assert.match(ipset, /^create KUBE-NODE-PORT-TCP bitmap:port range 0-65535$/m);
  assert.match(ipset, /^create KUBE-LOOP-BACK hash:ip,port,ip /m);
  assert.match(ipset, /^create KUBE-IPVS-IPS hash:ip /m);
  // the iptables rules do not grow with services: 1,000 ClusterIP services give the same 28 rules as 3
  for (const S of [3, 1000]) {
    const b = new IpvsProxier({ node: NODE });
    b.sync(uniformCluster(S, 2).request(0));
    assert.equal(b.size().iptables_rules, 28);
  }
});

test('scheduler and sizes in the save output follow the options', () => {
  const b = new IpvsProxier({ node: NODE, scheduler: 'wlc' });
  b.sync(smallCluster().request(0));
  assert.match(b.render()['ipvsadm -S -n']!, /^-A -t 10\.96\.0\.1:443 -s wlc -p 10800$/m);
  assert.deepEqual(b.size(), {
    iptables_rules: 42,
    iptables_chains: 11,
    ipvs_virtual_servers: 15,
    ipvs_real_servers: 23,
    ipset_entries: 38,
  });
  // size() agrees with the rendered rulesets
  const r = b.render();
  const lines = (text: string, prefix: string) => text.split('\n').filter((l) => l.startsWith(prefix)).length;
  assert.equal(lines(r['ipvsadm -S -n']!, '-A '), 15);
  assert.equal(lines(r['ipvsadm -S -n']!, '-a '), 23);
  assert.equal(lines(r['ipset save']!, 'add '), 38);
  assert.equal(lines(r['iptables-save']!, '-A '), 42);
});

test('a large set grows its hash table as the kernel does (hashsize in ipset save)', () => {
  const b = new IpvsProxier({ node: NODE });
  b.sync(uniformCluster(20000, 1).request(0));
  assert.match(b.render()['ipset save']!, /^create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 8192 maxelem 65536 /m);
});
