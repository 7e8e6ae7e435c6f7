import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CiliumLb } from '../src/backends/ebpf/reconciler.js';
import { DEFAULT_MAGLEV_SEED } from '../src/backends/ebpf/maglev.js';
import { hexBytes, renderBackendList, renderLbList, renderRaw, renderRevNatList, tablePrinter } from '../src/backends/ebpf/render.js';
import type { ProxyNodeConfig } from '../src/types.js';
import { endpoint, servicePort } from './fixtures/proxy.js';
import { snapshot } from './fixtures/iptables.js';

const NODE: ProxyNodeConfig = {
  nodeName: 'node-1',
  nodeIPs: ['192.168.0.2'],
  clusterCIDR: '10.244.0.0/16',
  podCIDR: '10.244.1.0/24',
  localDetector: 'ClusterCIDR',
  masqueradeAll: false,
  masqueradeBit: 14,
  nodePortAddresses: [],
};

function dns(): CiliumLb {
  const lb = new CiliumLb(NODE, { algorithm: 'random', maglevTableSize: 251, maglevSeed: DEFAULT_MAGLEV_SEED, externalClusterIP: false });
  const s = servicePort({
    namespace: 'kube-system',
    name: 'kube-dns',
    portName: 'dns',
    clusterIP: '10.96.0.10',
    port: 53,
    protocol: 'UDP',
  });
  lb.sync(snapshot([[s, [endpoint('10.244.0.191', 53), endpoint('10.244.0.104', 53)]]]), null);
  return lb;
}

test("Go tabwriter as Cilium's TablePrinter sets it: min width 5, padding 3, every cell padded", () => {
  assert.equal(
    tablePrinter('ID', 'X', [
      ['1', 'ab'],
      ['22', 'c'],
    ]),
    'ID   X    \n1    ab   \n22   c    \n',
  );
});

test('cilium-dbg bpf lb list: one row per service-map entry, master first, backends by slot', () => {
  const out = renderLbList(dns());
  assert.equal(
    out,
    [
      'SERVICE ADDRESS         BACKEND ADDRESS (REVNAT_ID) (SLOT)             ',
      '10.96.0.10:53/UDP (0)   0.0.0.0:0 (1) (0) [ClusterIP, non-routable]    ',
      '10.96.0.10:53/UDP (1)   10.244.0.104:53/UDP (1) (1)                    ',
      '10.96.0.10:53/UDP (2)   10.244.0.191:53/UDP (1) (2)                    ',
      '',
    ].join('\n'),
  );
});

test('cilium-dbg bpf lb list --backends and --revnat', () => {
  const lb = dns();
  assert.equal(
    renderBackendList(lb),
    [
      'ID   BACKEND ADDRESS (REVNAT_ID) (SLOT)   ',
      '1    UDP://10.244.0.104                   ',
      '2    UDP://10.244.0.191                   ',
      '',
    ].join('\n'),
  );
  assert.equal(
    renderRevNatList(lb),
    ['ID   BACKEND ADDRESS (REVNAT_ID) (SLOT)   ', '1    10.96.0.10:53                        ', ''].join('\n'),
  );
});

test('raw: bpftool map dump hex of the struct layouts (keys in network order where the struct says __be)', () => {
  assert.equal(hexBytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), '01 02 03 04 05 06 07 08  09 0a 0b 0c');
  const raw = renderRaw(dns());
  const lines = raw.split('\n');
  // lb4_key {10.96.0.10, dport 53, slot 0, proto 17, scope 0} -> lb4_service {backend_id 0, count 2, rev_nat 1 (be16), flags 0, qcount 0}
  assert.ok(lines.includes('key: 0a 60 00 0a 00 35 00 00  11 00 00 00  value: 00 00 00 00 02 00 00 01  00 00 00 00'));
  // slot 1 -> backend ID 1
  assert.ok(lines.includes('key: 0a 60 00 0a 00 35 01 00  11 00 00 00  value: 01 00 00 00 00 00 00 01  00 00 00 00'));
  // backend 1: 10.244.0.104:53 UDP active
  assert.ok(lines.includes('key: 01 00 00 00  value: 0a f4 00 68 00 35 11 00  00 00 00 00'));
  // rev-NAT 1 -> 10.96.0.10:53
  assert.ok(lines.includes('key: 00 01  value: 0a 60 00 0a 00 35'));
  assert.equal(lines.filter((l) => l.startsWith('Found')).join('|'), 'Found 3 elements|Found 2 elements|Found 1 element|Found 0 elements');
});
