/**
 * The raw form of the eBPF backend against real BPF maps: every service, backend and rev-NAT entry the model holds
 * is written into kernel hash maps of Cilium's key and value sizes with bpftool, dumped back with
 * `bpftool map dump`, and compared line for line with render's raw output. Needs root and bpftool; skipped with
 * a message otherwise, unless KPBENCH_REQUIRE_NETFILTER=1 (CI), when a missing prerequisite fails the test.
 * Maps are pinned under /sys/fs/bpf/kpb-<pid>-* and always removed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CiliumLb } from '../src/backends/ebpf/reconciler.js';
import { DEFAULT_MAGLEV_SEED } from '../src/backends/ebpf/maglev.js';
import { renderRaw, hexBytes } from '../src/backends/ebpf/render.js';
import {
  encodeBackendKey,
  encodeBackendValue,
  encodeRevNatKey,
  encodeRevNatValue,
  encodeServiceKey,
  encodeServiceValue,
} from '../src/backends/ebpf/lbmaps.js';
import type { ProxyNodeConfig } from '../src/types.js';
import { endpoint, servicePort } from './fixtures/proxy.js';
import { snapshot } from './fixtures/iptables.js';

const REQUIRE = process.env['KPBENCH_REQUIRE_NETFILTER'] === '1';
const pins = new Set<string>();
const cleanup = () => {
  for (const p of pins) rmSync(p, { force: true });
  pins.clear();
};
process.on('exit', cleanup);
after(cleanup);

function run(cmd: string, args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status ?? 127, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function createMap(tag: string, key: number, value: number, entries: number): string {
  const pin = `/sys/fs/bpf/kpb-${process.pid}-${tag}`;
  pins.add(pin);
  const r = run('bpftool', [
    'map',
    'create',
    pin,
    'type',
    'hash',
    'key',
    String(key),
    'value',
    String(value),
    'entries',
    String(entries),
    'name',
    `kpb_${tag}`,
    'flags',
    '1',
  ]);
  if (r.code !== 0) throw new Error(`bpftool map create: ${r.err.trim()}`);
  return pin;
}

function whyUnavailable(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (bpf syscall)';
  if (run('sh', ['-c', 'command -v bpftool']).code !== 0) return 'bpftool is not installed';
  try {
    createMap('probe', 4, 4, 1);
  } catch (e) {
    return `BPF maps unusable: ${(e as Error).message}`;
  } finally {
    cleanup();
  }
  return null;
}

const UNAVAILABLE = whyUnavailable();
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

test('raw render equals bpftool map dump of the same entries written into kernel hash maps', (t) => {
  if (UNAVAILABLE !== null) {
    if (REQUIRE) assert.fail(`KPBENCH_REQUIRE_NETFILTER=1 but ${UNAVAILABLE}`);
    t.skip(UNAVAILABLE);
    return;
  }
  const lb = new CiliumLb(NODE, { algorithm: 'random', maglevTableSize: 251, maglevSeed: DEFAULT_MAGLEV_SEED, externalClusterIP: false });
  const dns = servicePort({
    namespace: 'kube-system',
    name: 'kube-dns',
    portName: 'dns',
    clusterIP: '10.96.0.10',
    port: 53,
    protocol: 'UDP',
  });
  const web = servicePort({
    namespace: 'web',
    name: 'front',
    clusterIP: '10.96.7.1',
    port: 443,
    type: 'LoadBalancer',
    nodePort: 31443,
    loadBalancerIPs: ['203.0.113.9'],
    externalPolicyLocal: true,
    stickyMaxAgeSeconds: 10800,
  });
  lb.sync(
    snapshot([
      [dns, [endpoint('10.244.0.104', 53), endpoint('10.244.0.191', 53)]],
      [
        web,
        [
          endpoint('10.244.1.5', 8443, { isLocal: true }),
          endpoint('10.244.3.9', 8443),
          endpoint('10.244.3.10', 8443, { ready: false, serving: true, terminating: true }),
        ],
      ],
    ]),
    null,
  );

  const tmp = mkdtempSync(join(tmpdir(), 'kpb-ebpf-'));
  try {
    const svc = createMap('svc', 12, 12, 1024);
    const be = createMap('be', 4, 12, 1024);
    const rn = createMap('rn', 2, 6, 1024);
    const lines: string[] = [];
    for (const e of lb.services.values())
      lines.push(
        `map update pinned ${svc} key hex ${hexBytes(encodeServiceKey(e.key)).replace(/ {2}/g, ' ')} value hex ${hexBytes(encodeServiceValue(e.value)).replace(/ {2}/g, ' ')}`,
      );
    for (const [id, v] of lb.backends)
      lines.push(
        `map update pinned ${be} key hex ${hexBytes(encodeBackendKey(id))} value hex ${hexBytes(encodeBackendValue(v)).replace(/ {2}/g, ' ')}`,
      );
    for (const [id, v] of lb.revNat)
      lines.push(`map update pinned ${rn} key hex ${hexBytes(encodeRevNatKey(id))} value hex ${hexBytes(encodeRevNatValue(v))}`);
    const f = join(tmp, 'batch.txt');
    writeFileSync(f, lines.join('\n') + '\n');
    const b = run('bpftool', ['batch', 'file', f]);
    assert.equal(b.code, 0, b.err);

    const dump = (pin: string) => {
      const r = run('bpftool', ['map', 'dump', 'pinned', pin]);
      assert.equal(r.code, 0, r.err);
      const ls = r.out.split('\n').filter((l) => l !== '');
      const found = ls.filter((l) => l.startsWith('Found'));
      return [...ls.filter((l) => l.startsWith('key:')).sort(), ...found].join('\n');
    };
    const sections = renderRaw(lb).split('# bpftool map dump pinned /sys/fs/bpf/tc/globals/').slice(1);
    const body = (name: string) =>
      sections
        .find((s) => s.startsWith(name))!
        .split('\n')
        .slice(1)
        .filter((l) => l !== '')
        .join('\n');
    assert.equal(dump(svc), body('cilium_lb4_services_v2'));
    assert.equal(dump(be), body('cilium_lb4_backends_v3'));
    assert.equal(dump(rn), body('cilium_lb4_reverse_nat'));
  } finally {
    cleanup();
    rmSync(tmp, { recursive: true, force: true });
  }
});
