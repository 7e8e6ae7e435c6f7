/**
 * The IPVS backend's renderings loaded into the real tools, in a private network namespace (`unshare -n`), and read
 * back byte for byte:
 * - `ipset restore` of the rendered `ipset save`, then `ipset save -sorted` (for a large set, where `-sorted` of
 *   ipset 7.17 drops characters at its output-buffer boundaries, the plain `ipset save`, compared line by line as
 *   a set);
 * - kube-proxy's iptables-restore input (after the jump rules it inserts with `iptables -I`), then iptables-save
 *   (nf_tables variant), compared with the rendered `iptables-save` without the time-stamped comment lines.
 *   The `-m ipvs` rule is left out when the kernel has no xt_ipvs.
 * Skips when not root or a tool is missing, unless KPBENCH_REQUIRE_NETFILTER=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpvsProxier } from '../src/backends/ipvs/index.js';
import { NODE, smallCluster, uniformCluster } from './fixtures/ipvs/cluster.js';
import { netfilterUsable as usable, unshared as sh } from './fixtures/netns.js';

process.env['PATH'] = `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`;

const JUMPS = [
  'iptables-nft -t nat -N KUBE-SERVICES',
  'iptables-nft -t nat -N KUBE-POSTROUTING',
  'iptables-nft -t nat -I OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  'iptables-nft -t nat -I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  'iptables-nft -t nat -I POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
  'iptables-nft -N KUBE-FORWARD',
  'iptables-nft -N KUBE-NODE-PORT',
  'iptables-nft -N KUBE-PROXY-FIREWALL',
  'iptables-nft -N KUBE-IPVS-FILTER',
  'iptables-nft -N KUBE-IPVS-OUT-FILTER',
  'iptables-nft -I FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
  'iptables-nft -I INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT',
  'iptables-nft -I INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
  'iptables-nft -I FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
  'iptables-nft -I INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER',
  'iptables-nft -I OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER',
].join(' && ');

function rendered(large: boolean): IpvsProxier {
  const b = new IpvsProxier({ node: NODE });
  b.sync((large ? uniformCluster(3000, 2) : smallCluster()).request(0));
  return b;
}

function withFiles(files: Record<string, string>, fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'kpbench-ipvs-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const lines = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .sort();

for (const large of [false, true]) {
  const what = large ? '3,000 services' : 'the reference cluster';

  test(`ipset restore + ipset save gives back the rendered ipset save (${what})`, (t) => {
    if (!usable(t, ['unshare', 'ipset'])) return;
    const save = rendered(large).render()['ipset save']!;
    withFiles({ sets: save }, (dir) => {
      const r = sh(`ipset restore < ${dir}/sets && ipset save${large ? '' : ' -sorted'}`);
      assert.equal(r.code, 0, r.err);
      if (large) assert.deepEqual(lines(r.out), lines(save));
      else assert.equal(r.out, save);
    });
  });

  test(`kube-proxy's restore input through iptables-restore + iptables-save gives back the rendered iptables-save (${what})`, (t) => {
    if (!usable(t, ['unshare', 'ipset', 'iptables-nft', 'iptables-nft-restore', 'iptables-nft-save'])) return;
    const b = rendered(large);
    let restore = b.lastRestoreInput();
    let expected = b.render()['iptables-save']!;
    const go = () => {
      let out = { code: 0, out: '', err: '' };
      withFiles({ sets: b.render()['ipset save']!, restore }, (dir) => {
        out = sh(
          `ipset restore < ${dir}/sets && ${JUMPS} && iptables-nft-restore --noflush --counters < ${dir}/restore && iptables-nft-save | grep -v '^#'`,
        );
      });
      return out;
    };
    let r = go();
    if (r.code !== 0 && /ipvs/.test(r.err)) {
      // no xt_ipvs in this kernel: check everything but the KUBE-IPVS-OUT-FILTER rules
      restore = restore
        .split('\n')
        .filter((l) => !l.includes('-m ipvs'))
        .join('\n');
      expected = expected
        .split('\n')
        .filter((l) => !l.includes('-m ipvs'))
        .join('\n');
      r = go();
    }
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, expected);
  });
}
