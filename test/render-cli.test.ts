/** `kpbench render` as a user runs it: output on stdout, notes on stderr, exit 2 with one line for bad input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { main } from '../src/cli/main.js';
import { CLI } from './fixtures/cli.js';
import { BACKEND_KINDS } from '../src/backends/registry.js';
import { loadManifests } from '../src/cluster/manifests.js';
import { renderManifests } from '../src/proxy/render.js';

const FIX = 'test/fixtures/manifests';

/** Runs the CLI in-process, capturing what it writes. */
async function kpbench(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    process.exitCode = undefined;
  }
}

test("render prints the backend's iptables-save text, exit 0", async () => {
  const r = await kpbench('render', '--backend', 'iptables', '--manifests', `${FIX}/affinity.yaml`, '--cluster-cidr', '10.244.0.0/16');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  const want = renderManifests({ backend: 'iptables', objects: loadManifests([`${FIX}/affinity.yaml`]), clusterCIDR: '10.244.0.0/16' })[
    'iptables-save'
  ]!;
  assert.equal(r.out, want.endsWith('\n') ? want : `${want}\n`);
});

test('render --output picks one printout; every flag reaches the backend', async () => {
  const r = await kpbench(
    'render',
    '--backend',
    'ipvs',
    '--manifests',
    `${FIX}/nodeport.yaml`,
    `${FIX}/affinity.yaml`,
    '--node-name',
    'node2',
    '--node-ip',
    '192.168.0.7',
    '192.168.1.7',
    '--scheduler',
    'sh',
    '--output',
    'ipvsadm',
  );
  assert.equal(r.code, 0, r.err);
  const want = renderManifests({
    backend: 'ipvs',
    objects: loadManifests([`${FIX}/nodeport.yaml`, `${FIX}/affinity.yaml`]),
    nodeName: 'node2',
    nodeIPs: ['192.168.0.7', '192.168.1.7'],
    backendOptions: { scheduler: 'sh' },
  })['ipvsadm -S -n']!;
  assert.equal(r.out.trimEnd(), want.trimEnd());
  assert.ok(r.out.includes('-A -t 192.168.1.7:30053 -s sh'));

  const all = await kpbench('render', '--backend', 'ipvs', '--manifests', `${FIX}/affinity.yaml`);
  assert.equal(all.out.split('\n').filter((l) => l.startsWith('==> ')).length, 4);

  const flags = await kpbench(
    'render',
    '--backend',
    'iptables',
    '--manifests',
    FIX,
    '--detect-local-mode',
    'NodeCIDR',
    '--pod-cidr',
    '10.244.1.0/24',
    '--masquerade-all',
    '--masquerade-bit',
    '13',
    '--nodeport-addresses',
    '192.168.0.0/24',
    '--output',
    'iptables-save',
  );
  assert.equal(flags.code, 0, flags.err);
  assert.ok(flags.out.includes('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x2000/0x2000'));
  assert.ok(
    flags.out.includes(' -s 10.244.1.0/24 -m comment --comment "pod traffic for prod/api:https external destinations"'),
    'NodeCIDR detector',
  );
  assert.equal(flags.err, 'kpbench: skipped 3 objects: ConfigMap x1, Deployment x1, ServiceAccount x1\n');
});

test('a detect-local-mode without its CIDR is accepted with a note, as kube-proxy does', async () => {
  const r = await kpbench('render', '--backend', 'iptables', '--manifests', `${FIX}/affinity.yaml`, '--detect-local-mode', 'ClusterCIDR');
  assert.equal(r.code, 0);
  assert.equal(r.err, 'kpbench: --detect-local-mode ClusterCIDR without --cluster-cidr detects no local traffic, as in kube-proxy\n');
});

test('bad flags and bad manifests: exit 2 with one line', async () => {
  const base = ['render', '--manifests', `${FIX}/affinity.yaml`];
  const cases: [string[], string][] = [
    [['render', '--manifests', `${FIX}/affinity.yaml`], "kpbench: --backend: required option '--backend <kind>' not specified"],
    [['render', '--backend', 'iptables'], "kpbench: --manifests: required option '--manifests <file...>' not specified"],
    [
      [...base, '--backend', 'nft'],
      `kpbench: --backend: option '--backend <kind>' argument 'nft' is invalid. Allowed choices are ${BACKEND_KINDS.join(', ')}.`,
    ],
    [[...base, '--backend', 'iptables', '--masquerade-bit', '40'], "kpbench: --masquerade-bit: must be an integer from 0 to 31, got '40'"],
    [[...base, '--backend', 'iptables', '--masquerade-bit', 'x'], "kpbench: --masquerade-bit: must be an integer from 0 to 31, got 'x'"],
    [[...base, '--backend', 'iptables', '--node-ip', '1.2.3'], "kpbench: --node-ip: must be an IP address (IPv4 or IPv6), got '1.2.3'"],
    [
      [...base, '--backend', 'iptables', '--cluster-cidr', '10.0.0.0/40'],
      "kpbench: --cluster-cidr: must be a CIDR such as 10.244.0.0/16 or fd00:10::/64, got '10.0.0.0/40'",
    ],
    [
      [...base, '--backend', 'iptables', '--pod-cidr', 'ten'],
      "kpbench: --pod-cidr: must be a CIDR such as 10.244.0.0/16 or fd00:10::/64, got 'ten'",
    ],
    [[...base, '--backend', 'iptables', '--node-name', ' '], 'kpbench: --node-name: must not be empty'],
    [
      [...base, '--backend', 'iptables', '--scheduler', 'wrr'],
      "kpbench: --scheduler: the iptables backend has no option 'scheduler' (its options: writeMethod, profile, localhostNodePorts, nfacct, randomFully, conntrackTCPLiberal, flavor)",
    ],
    [
      [...base, '--backend', 'ipvs', '--scheduler', 'nope'],
      'kpbench: --scheduler scheduler: Invalid option: expected one of "rr"|"wrr"|"lc"|"wlc"|"sh"|"dh"|"sed"|"nq" (an option of the ipvs backend)',
    ],
    [[...base, '--backend', 'ipvs', '--set', 'oops'], "kpbench: --set: expected key=value, got 'oops'"],
    [
      [...base, '--backend', 'iptables', '--output', 'ipvsadm'],
      'kpbench: --output: the iptables backend prints no ipvsadm output (it prints: iptables-save, iptables-restore, all)',
    ],
    [
      [...base, '--backend', 'iptables', '--detect-local-mode', 'Bridge'],
      "kpbench: --detect-local-mode: option '--detect-local-mode <mode>' argument 'Bridge' is invalid. Allowed choices are ClusterCIDR, NodeCIDR, None.",
    ],
    [['render', '--backend', 'iptables', '--manifests', 'no/such.yaml'], 'kpbench: no/such.yaml: no such file'],
    [
      ['render', '--backend', 'iptables', '--manifests', `${FIX}/bad/port-out-of-range.yaml`],
      `kpbench: ${FIX}/bad/port-out-of-range.yaml: Service shop/broken: spec.ports[1].port: must be an integer from 1 to 65535 (got 70000)`,
    ],
  ];
  for (const [args, want] of cases) {
    const r = await kpbench(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.out, '', args.join(' '));
    assert.equal(r.err, `${want}\n`, args.join(' '));
  }
});

test('the real entry point: manifests on stdin, and exit code 2 from the process', () => {
  const text = readFileSync(`${FIX}/list.json`, 'utf8');
  const ok = spawnSync(process.execPath, [...CLI, 'render', '--backend', 'ipvs', '--manifests', '-', '--output', 'ipset'], {
    input: text,
    encoding: 'utf8',
  });
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(ok.stdout.includes('add KUBE-CLUSTER-IP 10.96.50.5,tcp:9090\n'), ok.stdout);
  assert.equal(ok.stderr, 'kpbench: skipped 1 object: ConfigMap x1\n');
  const bad = spawnSync(process.execPath, [...CLI, 'render', '--backend', 'iptables', '--manifests', '-'], {
    input: 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 0}]}\n',
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'kpbench: -: Service default/s: spec.ports[0].port: must be an integer from 1 to 65535 (got 0)\n');
});

test('render --after: the partial restore input kube-proxy writes for a change (MinimizeIPTablesRestore)', async () => {
  const args = ['render', '--backend', 'iptables', '--manifests', `${FIX}/change/before.yaml`, '--after', `${FIX}/change/after.yaml`];
  const r = await kpbench(...args, '--output', 'iptables-restore');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  const nat = lines.slice(lines.indexOf('*nat'));
  // KUBE-SERVICES is written whole; of the service chains only shop/web's (the changed service) are declared
  assert.deepEqual(
    nat.filter((l) => l.startsWith(':')),
    [
      ':KUBE-SERVICES - [0:0]',
      ':KUBE-NODEPORTS - [0:0]',
      ':KUBE-POSTROUTING - [0:0]',
      ':KUBE-MARK-MASQ - [0:0]',
      ':KUBE-SVC-67NZLRHBNDSAWJRO - [0:0]',
      ':KUBE-SEP-EPVTA2RHFPHQF37H - [0:0]',
      ':KUBE-SEP-MOGHLOVWQYX4X6CX - [0:0]',
      ':KUBE-SEP-D2QUVGJW5YOZKQLI - [0:0]',
    ],
  );
  // the removed endpoint's chain is flushed (declared) and deleted; shop/db's chains are not written
  assert.deepEqual(
    nat.filter((l) => l.startsWith('-X ')),
    ['-X KUBE-SEP-D2QUVGJW5YOZKQLI'],
  );
  assert.equal(nat.filter((l) => l.startsWith('-A KUBE-SVC-HJSW2HDIBP4MO3C4')).length, 0);
  assert.equal(nat.filter((l) => l.startsWith('-A KUBE-SERVICES')).length, 3);
  // two endpoints left: the first is chosen with probability 1/2, the last unconditionally
  assert.ok(r.out.includes('--probability 0.5000000000 -j KUBE-SEP-EPVTA2RHFPHQF37H'));
  // without --output iptables-restore: the state after the change, as iptables-save prints it
  const save = await kpbench(...args, '--output', 'iptables-save');
  assert.equal(save.code, 0, save.err);
  assert.ok(!save.out.includes('KUBE-SEP-D2QUVGJW5YOZKQLI'));
  assert.ok(save.out.includes(':KUBE-SVC-HJSW2HDIBP4MO3C4 - [0:0]'));
});

test('render --output iptables-restore without --after: the full-sync input (every chain declared, 10-digit probabilities)', async () => {
  const r = await kpbench('render', '--backend', 'iptables', '--manifests', `${FIX}/change/before.yaml`, '--output', 'iptables-restore');
  assert.equal(r.code, 0, r.err);
  const nat = r.out.split('\n').slice(r.out.split('\n').indexOf('*nat'));
  assert.ok(nat.includes(':KUBE-SVC-HJSW2HDIBP4MO3C4 - [0:0]') && nat.includes(':KUBE-SEP-D2QUVGJW5YOZKQLI - [0:0]'));
  assert.ok(r.out.includes('--probability 0.3333333333 -j KUBE-SEP-EPVTA2RHFPHQF37H'));
  assert.equal(r.out.split('\n').filter((l) => l.startsWith('-X ')).length, 0);
});
