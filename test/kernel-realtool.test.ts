/**
 * Kernel mode against the real kernel: namespace lifecycle (always removed: after an error, on SIGTERM, stale ones
 * swept), the loaders on a small cluster (what the kernel holds after a full load and after the partial-sync
 * cycle), and a small `kpbench kernel` run end to end that leaves the host's own rulesets exactly as they were.
 *
 * Needs root, network namespaces and Debian's iptables, nfacct (scripts/ci-netfilter.sh installs them). Skips
 * with the reason otherwise, unless KPBENCH_REQUIRE_NETFILTER=1 (CI), when a missing prerequisite fails.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Namespaces, listNamespaces, sweepStaleNamespaces } from '../src/kernel/netns.js';
import { run, runIn, hasTool } from '../src/kernel/exec.js';
import { whyUnavailable, checkPrerequisites, PrerequisiteError } from '../src/kernel/tools.js';
import { loadScenario } from '../src/scenario/load.js';
import { buildCaseCluster } from '../src/kernel/cluster.js';
import { kernelVariants } from '../src/kernel/dataplanes.js';
import { iptablesPlan } from '../src/backends/iptables/kernel-mode.js';
import { loadFull, setUp, timeLoads } from '../src/kernel/load.js';
import { runKernel } from '../src/kernel/run.js';
import { srcModule } from './fixtures/cli.js';

const REQUIRE = process.env['KPBENCH_REQUIRE_NETFILTER'] === '1';
const UNAVAILABLE = whyUnavailable({
  ip: 'iproute2',
  nsenter: 'util-linux',
  'iptables-legacy-restore': 'iptables',
  'iptables-legacy-save': 'iptables',
  'iptables-nft-restore': 'iptables',
  'iptables-nft-save': 'iptables',
  nfacct: 'nfacct',
});

function ready(t: TestContext): boolean {
  if (UNAVAILABLE === null) return true;
  if (REQUIRE) assert.fail(`KPBENCH_REQUIRE_NETFILTER=1 but ${UNAVAILABLE}`);
  t.skip(UNAVAILABLE);
  return false;
}

const TINY = `name: kernel-tiny
description: a small cluster for the kernel-mode tests
seed: 1
backends: [iptables]
duration: 5
cluster:
  nodes: 20
  proxyNodes: 1
  services: 20
  endpointsPerService: 3
sweep:
  cluster.services: [20, 40, 80]
`;

function withTinyScenario<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpb-kernel-'));
  const file = path.join(dir, 'kernel-tiny.yaml');
  fs.writeFileSync(file, TINY);
  return fn(file).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

test('a missing tool is one line naming its Debian package', (t) => {
  if (!ready(t)) return;
  assert.throws(
    () => checkPrerequisites({ ip: 'iproute2', 'kpb-no-such-tool': 'kpb-some-package' }),
    (e: unknown) =>
      e instanceof PrerequisiteError && /install the Debian package 'kpb-some-package'/.test(e.message) && !e.message.includes('\n'),
  );
});

test('namespaces: created with a kpb-<pid>-<hex> name, removed after an error, stale ones swept', async (t) => {
  if (!ready(t)) return;
  const nss = new Namespaces();
  let seen = '';
  await assert.rejects(
    nss.with((ns) => {
      seen = ns;
      assert.match(ns, new RegExp(`^kpb-${process.pid}-[0-9a-f]{8}$`));
      assert.ok(listNamespaces().includes(ns));
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.ok(!listNamespaces().includes(seen), `${seen} was left behind`);
  // a namespace of a process that no longer runs is swept; this process's are not
  const dead = spawn(process.execPath, ['-e', '']);
  const deadPid = await new Promise<number>((resolve) => dead.on('exit', () => resolve(dead.pid!)));
  const stale = `kpb-${deadPid}-0badc0de`;
  assert.equal(run(['ip', 'netns', 'add', stale]).code, 0);
  const mine = nss.create();
  try {
    const removed = sweepStaleNamespaces();
    assert.ok(removed.includes(stale));
    assert.ok(!listNamespaces().includes(stale));
    assert.ok(listNamespaces().includes(mine));
  } finally {
    run(['ip', 'netns', 'del', stale]);
    nss.removeAll();
  }
  assert.ok(!listNamespaces().includes(mine));
});

test('namespaces: SIGTERM removes them, then the process exits 143', async (t) => {
  if (!ready(t)) return;
  const netns = srcModule('kernel/netns');
  const script = `
    const { Namespaces, installSignalHandlers } = await import(${JSON.stringify(netns.file)});
    const nss = new Namespaces();
    installSignalHandlers(nss);
    console.log(nss.create());
    setTimeout(() => {}, 60000);
  `;
  const child = spawn(process.execPath, [...netns.loader, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const name = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => resolve(d.toString().trim()));
    child.on('exit', (c) => reject(new Error(`child exited ${c}`)));
  });
  assert.ok(listNamespaces().includes(name));
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  assert.equal(code, 143);
  assert.ok(!listNamespaces().includes(name), `${name} was left behind`);
});

function ruleLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('-A '))
    .map((l) => l.replace(/--nfacct-name {2,}/g, '--nfacct-name '));
}

for (const name of ['iptables-legacy', 'iptables-nft']) {
  test(`${name} loader: the full load holds every rule the backend counts; the partial syncs change one endpoint and back`, async (t) => {
    if (!ready(t)) return;
    const v = kernelVariants().find((x) => x.name === name)!;
    await withTinyScenario(async (file) => {
      const c = loadScenario(file, { quick: false }).cases[0]!;
      const plan = { ...iptablesPlan(buildCaseCluster(c), v.options as { flavor: 'legacy' | 'nft' }), flavour: v.name, variant: v };
      assert.equal(plan.partials.length, 2);
      const save = name === 'iptables-legacy' ? 'iptables-legacy-save' : 'iptables-nft-save';
      await new Namespaces().with((ns) => {
        setUp(ns, plan);
        loadFull(ns, plan);
        const full = ruleLines(runIn(ns, [save]).stdout);
        assert.equal(full.length, plan.fullCounts.rules_in_kernel);
        // the first partial input: the changed endpoint's DNAT rule is gone, the replacement's is there
        for (const st of plan.partials[0]!.steps) assert.equal(runIn(ns, [st.tool, ...st.args], st.stdin).code, 0);
        const changed = ruleLines(runIn(ns, [save]).stdout);
        assert.equal(changed.length, plan.partials[0]!.counts.rules_in_kernel);
        assert.ok(changed.some((l) => l.includes('198.19.255.254')));
        // timed: full loads from empty, then the cycle of partial syncs (changed, changed back), 4 per full load
        const times = timeLoads(ns, plan, { reps: 2, minReps: 1, budgetSeconds: 30 });
        assert.equal(times.full.length, 2);
        assert.ok(times.partial.length >= 2 && times.partial.length <= 8, `${times.partial.length} partial syncs`);
        // back where it started: the same rules as the full load
        assert.deepEqual(ruleLines(runIn(ns, [save]).stdout).sort(), full.sort());
      });
    });
  });
}

/** The host's own rulesets, as the tools print them (without the timestamp comments). */
function hostRulesets(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const cmd of [['iptables-save'], ['iptables-legacy-save'], ['iptables-nft-save'], ['nft', 'list', 'ruleset'], ['ipset', 'save']]) {
    if (!hasTool(cmd[0]!)) continue;
    const r = run(cmd);
    out[cmd.join(' ')] = `${r.code}\n${r.stdout
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n')}`;
  }
  return out;
}

test('kpbench kernel on a small sweep: kernel rows for both iptables flavours at 3 sizes; the host is unchanged', async (t) => {
  if (!ready(t)) return;
  const before = hostRulesets();
  const namespacesBefore = listNamespaces();
  await withTinyScenario(async (file) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kpb-kernel-run-'));
    try {
      const res = await runKernel({
        scenarios: [file],
        // quick: probes in 10 rounds 0.1 s apart instead of 30 (the scenario has no quick section: the same cases)
        quick: true,
        outDir: out,
        reps: 2,
        samples: 20,
        print: false,
        flavours: ['iptables-legacy', 'iptables-nft'],
      });
      for (const b of ['iptables-legacy', 'iptables-nft']) {
        const sizes = res.rows
          .filter((r) => r.backend === b && r.metric === 'kernel_sync_time' && r.statistic === 'p50')
          .map((r) => r.services);
        assert.deepEqual(
          sizes.sort((x, y) => x - y),
          [20, 40, 80],
        );
        assert.ok(res.rows.some((r) => r.backend === b && r.metric === 'kernel_partial_sync_time'));
        // CPU seconds of a single-threaded tool never exceed its wall-clock seconds
        for (const [cpu, wall] of [
          ['kernel_sync_time', 'kernel_sync_wall_time'],
          ['kernel_partial_sync_time', 'kernel_partial_sync_wall_time'],
        ] as const)
          for (const s of [20, 40, 80]) {
            const get = (m: string): number | undefined =>
              res.rows.find((r) => r.backend === b && r.services === s && r.metric === m && r.statistic === 'p50')?.value;
            assert.ok(get(cpu)! > 0 && get(cpu)! <= get(wall)!, `${b} ${s}: ${cpu} ${get(cpu)} > ${wall} ${get(wall)}`);
          }
        assert.ok(res.rows.some((r) => r.backend === b && r.metric === 'kernel_first_packet_time_last'));
        assert.ok(res.rows.some((r) => r.backend === b && r.metric === 'initial_sync_time'));
      }
      for (const f of ['metrics.csv', 'scaling.csv', 'summary.md', 'meta.json', 'samples.json'])
        assert.ok(fs.existsSync(path.join(out, f)), f);
      assert.match(
        fs.readFileSync(path.join(out, 'metrics.csv'), 'utf8').split('\n')[0]!,
        /^scenario,backend,services,endpoints_per_service,metric,statistic,value,unit(,|$)/,
      );
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
  assert.deepEqual(hostRulesets(), before);
  assert.deepEqual(
    listNamespaces().filter((n) => n.startsWith(`kpb-${process.pid}-`)),
    namespacesBefore.filter((n) => n.startsWith(`kpb-${process.pid}-`)),
  );
});
