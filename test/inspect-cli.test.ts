import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kpbench } from './fixtures/compare/cli.js';

const M = 'scenarios/manifests/svc-test.yaml';

/** Runs the CLI in-process through main(), capturing what it prints (the exit code is main's). */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await kpbench(...args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

const aRecords = (out: string): string[] =>
  out
    .split('\n')
    .filter((l) => l.includes('\tA\t'))
    .map((l) => l.split('\t').pop()!);

test("dns: the notes' normal service answers its VIP, the headless one every pod IP, a pod hostname one pod", async () => {
  assert.deepEqual(aRecords((await run(['dns', 'config-manager.svc-test.svc.cluster.local', '--manifests', M])).out), ['10.103.164.93']);
  assert.deepEqual(aRecords((await run(['dns', 'common-etcd.svc-test.svc.cluster.local', '--manifests', M])).out), [
    '172.30.0.73',
    '172.30.1.216',
    '172.30.2.213',
  ]);
  assert.deepEqual(aRecords((await run(['dns', 'common-etcd-0.common-etcd.svc-test.svc.cluster.local', '--manifests', M])).out), [
    '172.30.2.213',
  ]);
  assert.deepEqual(aRecords((await run(['dns', 'config-manager', '--namespace', 'svc-test', '--manifests', M])).out), ['10.103.164.93']);
  const nx = await run(['dns', 'nothing.svc-test.svc.cluster.local', '--manifests', M]);
  assert.equal(nx.code, 1);
  assert.match(nx.out, /NXDOMAIN/);
});

test('route: Ingresses of two namespaces reach their services through one controller', async () => {
  const a = await run(['route', '--manifests', M, '--host', 'a.svc-test1.com', '--path', '/x']);
  assert.equal(a.code, 0);
  assert.match(a.out, /-> ingress svc-test1\/a .*-> service svc-test1\/a \S+:8080/);
  const b = await run(['route', '--manifests', M, '--host', 'b.svc-test2.com']);
  assert.match(b.out, /-> service svc-test2\/b \S+:80 \(port http\/80\)/);
  const none = await run(['route', '--manifests', M, '--host', 'c.example.com']);
  assert.equal(none.code, 1);
});

test('a missing manifest file is bad input (exit 2, one line)', async () => {
  const r = await run(['dns', 'x', '--manifests', 'no/such.yaml']);
  assert.equal(r.code, 2);
  assert.equal(r.err, 'kpbench: no/such.yaml: no such file\n');
});
