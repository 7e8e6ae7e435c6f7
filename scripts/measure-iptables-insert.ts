/**
 * Measures what one `iptables -A` costs with legacy iptables as the table grows: the method of the Huawei
 * KubeCon EU 2017 table (kube-proxy then added rules one `iptables` process at a time), on this machine's kernel.
 *
 * For each size S (services) it creates a private network namespace (`ip netns add kpb-<random>`, deleted in a
 * finally block, also on failure or Ctrl-C), loads a kube-proxy-shaped nat table with `iptables-legacy-restore`
 * (v1.6-era layout, the Huawei table's 8 rules per service at the default 2 endpoints: per service two KUBE-SERVICES rules, the KUBE-MARK-MASQ one and the jump, a KUBE-SVC chain with
 * E probability rules, E KUBE-SEP chains with a hairpin masquerade and a DNAT rule: 2 + 3E rules, 1 + E chains),
 * then times N single appends `iptables-legacy -w -t nat -A KUBE-SERVICES ...` (each a new process that reads
 * the whole table from the kernel, appends one rule and writes the whole table back, as libiptc does): wall time,
 * and the CPU time of the process (user + system) from bash's `times`, which a shared machine inflates far less
 * than the wall time. It reports the medians. Finally it fits seconds = fixed + perRule * rulesInTable by least squares, also anchored at the
 * smallest table (fixed = its median, perRule through it), and prints a power-law exponent (log-log slope) as a
 * check on linearity.
 *
 * Needs root, iproute2 and Debian's iptables (iptables-legacy, iptables-legacy-restore). Never touches the
 * machine's own namespace. Usage:
 *   npx tsx scripts/measure-iptables-insert.ts [--services 1,500,1000,2500,5000,10000,20000] [--endpoints 2] [--inserts 5]
 *     [--replay S] [--json FILE]
 * --replay S also writes the v1.6 table of S services for real, one process per chain and rule (the Huawei method
 * end to end), and prints its measured time beside what the cost model (the committed coefficients, and this
 * run's fit) predicts for the same processes: the check that summing single-insert costs predicts the real run.
 * The machine may be shared: run it on a quiet machine, and repeat it; the medians of a busy machine are noisy.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { IPTABLES_CLI_COEFFICIENTS } from '../src/backends/iptables/cli-cost.js';

interface Args {
  services: number[];
  endpoints: number;
  inserts: number;
  json: string | null;
  /** Services whose v1.6 ruleset is written one process per chain and rule, for real (0: no replay). */
  replay: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { services: [1, 500, 1000, 2500, 5000, 10000, 20000], endpoints: 2, inserts: 5, json: null, replay: 0 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${k}: missing value`);
    if (k === '--services') a.services = v.split(',').map((s) => Number(s));
    else if (k === '--endpoints') a.endpoints = Number(v);
    else if (k === '--inserts') a.inserts = Number(v);
    else if (k === '--json') a.json = v;
    else if (k === '--replay') a.replay = Number(v);
    else throw new Error(`unknown argument ${k}`);
    i++;
  }
  if (a.services.some((s) => !Number.isInteger(s) || s < 1)) throw new Error('--services: positive integers');
  if (!Number.isInteger(a.endpoints) || a.endpoints < 1) throw new Error('--endpoints: a positive integer');
  if (!Number.isInteger(a.inserts) || a.inserts < 1) throw new Error('--inserts: a positive integer');
  if (!Number.isInteger(a.replay) || a.replay < 0 || a.replay > 5000) throw new Error('--replay: an integer from 0 to 5000');
  return a;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * iptables' lock file is per machine, not per namespace (/run/xtables.lock): other users of iptables-legacy would
 * make `-w` wait and the wait would be timed. Our namespaces are private, so each run uses its own lock file.
 */
const LOCKFILE = `/tmp/kpb-xtables-${process.pid}.lock`;

function run(cmd: string[], input?: string): Run {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, XTABLES_LOCKFILE: LOCKFILE },
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { code: r.status ?? 127, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : ''), seconds };
}

function must(cmd: string[], input?: string): Run {
  const r = run(cmd, input);
  if (r.code !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.code}: ${r.stderr.trim().split('\n')[0]}`);
  return r;
}

const live = new Set<string>();
function deleteNs(ns: string): void {
  spawnSync('ip', ['netns', 'del', ns]);
  live.delete(ns);
}
process.on('exit', () => {
  for (const ns of [...live]) deleteNs(ns);
  rmSync(LOCKFILE, { force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const ns of [...live]) deleteNs(ns);
    process.exit(130);
  });
}

function withNs<T>(fn: (ns: string) => T): T {
  const ns = `kpb-${randomBytes(4).toString('hex')}`;
  must(['ip', 'netns', 'add', ns]);
  live.add(ns);
  try {
    return fn(ns);
  } finally {
    deleteNs(ns);
  }
}

/** A chain name of kube-proxy's shape (prefix + 16 base32-like characters) from a counter. */
function chainName(prefix: string, n: number): string {
  return `${prefix}${n.toString(36).toUpperCase().padStart(16, '0')}`;
}

/** One service's part of the v1.6 nat table: its chains, the rules in them, and its KUBE-SERVICES rules. */
interface ServiceRules {
  chains: string[];
  chainRules: string[];
  servicesRules: string[];
}

/** The v1.6-era nat table for S services x E endpoints: kube-proxy's own chains and rules, and each service's part. */
function natParts(
  services: number,
  endpoints: number,
): { fixedChains: string[]; fixedRules: string[]; tail: string[]; services: ServiceRules[] } {
  const fixedChains = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'];
  const fixedRules = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -m mark --mark 0x4000/0x4000 -j MASQUERADE',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
  ];
  const tail = [
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  ];
  const out: ServiceRules[] = [];
  for (let s = 0; s < services; s++) {
    const key = `ns${s % 10}/svc${s}:p80`;
    const vip = `172.${16 + ((s >> 16) & 15)}.${(s >> 8) & 255}.${s & 255}`;
    const svc = chainName('KUBE-SVC-', s);
    const part: ServiceRules = { chains: [svc], chainRules: [], servicesRules: [] };
    part.servicesRules.push(
      `-A KUBE-SERVICES ! -s 10.0.0.0/8 -d ${vip}/32 -p tcp -m comment --comment "${key} cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`,
      `-A KUBE-SERVICES -d ${vip}/32 -p tcp -m comment --comment "${key} cluster IP" -m tcp --dport 80 -j ${svc}`,
    );
    const sepRules: string[] = [];
    for (let e = 0; e < endpoints; e++) {
      const sep = chainName('KUBE-SEP-', s * endpoints + e);
      const ip = `10.${(s >> 8) & 255}.${s & 255}.${e + 1}`;
      part.chains.push(sep);
      const left = endpoints - e;
      const prob = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}` : '';
      part.chainRules.push(`-A ${svc} -m comment --comment "${key}"${prob} -j ${sep}`);
      sepRules.push(`-A ${sep} -s ${ip}/32 -m comment --comment "${key}" -j KUBE-MARK-MASQ`);
      sepRules.push(`-A ${sep} -p tcp -m comment --comment "${key}" -m tcp -j DNAT --to-destination ${ip}:8080`);
    }
    part.chainRules.push(...sepRules);
    out.push(part);
  }
  return { fixedChains, fixedRules, tail, services: out };
}

/** The v1.6-era nat table for S services x E endpoints, as iptables-restore input; returns it and its rule count. */
function natTable(services: number, endpoints: number): { text: string; rules: number; chains: number } {
  const p = natParts(services, endpoints);
  const decl: string[] = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
  const body: string[] = [...p.fixedRules];
  for (const c of p.fixedChains) decl.push(`:${c} - [0:0]`);
  for (const svc of p.services) {
    for (const c of svc.chains) decl.push(`:${c} - [0:0]`);
    body.push(...svc.servicesRules, ...svc.chainRules);
  }
  body.push(...p.tail);
  const chains = p.fixedChains.length + p.services.reduce((a, svc) => a + svc.chains.length, 0);
  return { text: [...decl, ...body, 'COMMIT', ''].join('\n'), rules: body.length, chains };
}

/** The children's user + system seconds from bash's `times` output (second line: "0m0.012s 0m0.034s"). */
function childCpuSeconds(out: string): number {
  const lines = out.trim().split('\n');
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1]!.trim());
  if (m === null) throw new Error(`cannot read bash times output: ${out}`);
  return Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Point {
  services: number;
  endpoints: number;
  rules: number;
  chains: number;
  restoreSeconds: number;
  /** Wall time of each `iptables -A` (the machine is shared: other processes' CPU use inflates it). */
  insertWallSeconds: number[];
  /** CPU time (user + system, the kernel's table replacement included) of each `iptables -A` process. */
  insertCpuSeconds: number[];
  insertWallMedian: number;
  insertCpuMedian: number;
  /** `ip netns exec NS true`, subtracted from the times above (entering the namespace is not iptables' cost). */
  netnsExecSeconds: number;
}

function measure(services: number, endpoints: number, inserts: number): Point {
  const t = natTable(services, endpoints);
  return withNs((ns) => {
    const ex = (cmd: string[], input?: string): Run => must(['ip', 'netns', 'exec', ns, ...cmd], input);
    const restore = ex(['iptables-legacy-restore', '-w'], t.text);
    const counted = ex(['iptables-legacy-save', '-t', 'nat'])
      .stdout.split('\n')
      .filter((l) => l.startsWith('-A ')).length;
    if (counted !== t.rules) throw new Error(`loaded ${counted} rules, expected ${t.rules}`);
    const base: number[] = [];
    for (let i = 0; i < inserts; i++) base.push(ex(['true']).seconds);
    const baseline = median(base);
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < inserts; i++) {
      const rule = `-A KUBE-SERVICES -d 192.0.2.${i + 1}/32 -p tcp -m comment --comment "probe ${i}" -m tcp --dport 80 -j KUBE-MARK-MASQ`;
      // bash's `times` prints the CPU time (user, system) of the shell and then of its finished children
      const r = ex(['bash', '-c', `iptables-legacy -w -t nat ${rule}; times`]);
      wall.push(r.seconds - baseline);
      cpu.push(childCpuSeconds(r.stdout));
    }
    return {
      services,
      endpoints,
      rules: t.rules,
      chains: t.chains,
      restoreSeconds: restore.seconds - baseline,
      insertWallSeconds: wall,
      insertCpuSeconds: cpu,
      insertWallMedian: median(wall),
      insertCpuMedian: median(cpu),
      netnsExecSeconds: baseline,
    };
  });
}

/**
 * The Huawei method for real: the v1.6 nat table of `services` services written into an empty table one
 * `iptables-legacy` process per chain (`-N`) and per rule (`-A`), in the order kpbench's cli-per-rule model counts
 * (kube-proxy's own chains and rules first, then per service its chains, its chains' rules and its KUBE-SERVICES
 * rules). Returns the processes, the rules in the table summed over them (and squared), and the wall and CPU time
 * of the whole run, so the model's prediction can be checked against the real thing at a size that runs in minutes.
 */
function replay(
  services: number,
  endpoints: number,
): { processes: number; rules: number; tableRules: number; tableRulesSquared: number; wallSeconds: number; cpuSeconds: number } {
  const p = natParts(services, endpoints);
  const script: string[] = ['set -e'];
  let processes = 0;
  let inTable = 0;
  let tableRules = 0;
  let tableRulesSquared = 0;
  const proc = (args: string, added: number): void => {
    script.push(`iptables-legacy -w -t nat ${args}`);
    processes++;
    tableRules += inTable;
    tableRulesSquared += inTable * inTable;
    inTable += added;
  };
  for (const c of p.fixedChains) proc(`-N ${c}`, 0);
  for (const r of [...p.fixedRules, ...p.tail]) proc(r, 1);
  for (const svc of p.services) {
    for (const c of svc.chains) proc(`-N ${c}`, 0);
    for (const r of [...svc.chainRules, ...svc.servicesRules]) proc(r, 1);
  }
  script.push('times');
  return withNs((ns) => {
    const r = must(['ip', 'netns', 'exec', ns, 'bash', '-s'], script.join('\n') + '\n');
    const counted = must(['ip', 'netns', 'exec', ns, 'iptables-legacy-save', '-t', 'nat'])
      .stdout.split('\n')
      .filter((l) => l.startsWith('-A ')).length;
    if (counted !== inTable) throw new Error(`replay left ${counted} rules, expected ${inTable}`);
    return { processes, rules: inTable, tableRules, tableRulesSquared, wallSeconds: r.seconds, cpuSeconds: childCpuSeconds(r.stdout) };
  });
}

/** Least squares y - fixed = a x + b x^2 (no intercept: the fixed part is given). */
function fitQuadraticThrough(fixed: number, xs: number[], ys: number[]): { perRule: number; perRuleSquared: number } {
  let s11 = 0;
  let s12 = 0;
  let s22 = 0;
  let t1 = 0;
  let t2 = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const z = ys[i]! - fixed;
    s11 += x * x;
    s12 += x * x * x;
    s22 += x * x * x * x;
    t1 += x * z;
    t2 += x * x * z;
  }
  const det = s11 * s22 - s12 * s12;
  if (det === 0) return { perRule: s11 === 0 ? 0 : t1 / s11, perRuleSquared: 0 };
  return { perRule: (t1 * s22 - t2 * s12) / det, perRuleSquared: (s11 * t2 - s12 * t1) / det };
}

/** Least squares y = a + b x. */
function fitLine(xs: number[], ys: number[]): { fixed: number; perRule: number } {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  const perRule = sxx === 0 ? 0 : sxy / sxx;
  return { fixed: my - perRule * mx, perRule };
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  for (const tool of ['ip', 'iptables-legacy', 'iptables-legacy-restore', 'iptables-legacy-save']) {
    if (run(['sh', '-c', `command -v ${tool}`]).code !== 0) throw new Error(`${tool} not found (Debian package iptables / iproute2)`);
  }
  const points: Point[] = [];
  for (const s of a.services) {
    const p = measure(s, a.endpoints, a.inserts);
    points.push(p);
    process.stdout.write(
      `services ${p.services}  rules ${p.rules}  chains ${p.chains}  restore ${p.restoreSeconds.toFixed(3)} s  ` +
        `insert cpu median ${(p.insertCpuMedian * 1e3).toFixed(1)} ms [${p.insertCpuSeconds.map((x) => (x * 1e3).toFixed(0)).join(' ')}]  ` +
        `wall median ${(p.insertWallMedian * 1e3).toFixed(1)} ms (netns exec ${(p.netnsExecSeconds * 1e3).toFixed(1)} ms subtracted)\n`,
    );
  }
  const fits: Record<
    string,
    {
      fixed: number;
      perRule: number;
      logLogSlope: number;
      anchored: { fixed: number; perRule: number };
      anchoredQuadratic: { fixed: number; perRule: number; perRuleSquared: number };
    }
  > = {};
  for (const [name, pick] of [
    ['cpu', (p: Point) => p.insertCpuMedian],
    ['wall', (p: Point) => p.insertWallMedian],
  ] as const) {
    const fit = fitLine(
      points.map((p) => p.rules),
      points.map(pick),
    );
    const big = points.filter((p) => p.rules >= 10_000 && pick(p) > 0);
    const slope =
      big.length >= 2
        ? fitLine(
            big.map((p) => Math.log(p.rules)),
            big.map((p) => Math.log(pick(p))),
          ).perRule
        : Number.NaN;
    // anchored: the fixed part is the smallest table's median (a least-squares intercept can go negative when the
    // per-rule cost rises with the table), the per-rule part a least-squares line through it
    const small = points.reduce((a, b) => (b.rules < a.rules ? b : a));
    const rest = points.filter((p) => p !== small);
    const f0 = pick(small);
    const perRule0 = rest.reduce((a, p) => a + p.rules * (pick(p) - f0), 0) / rest.reduce((a, p) => a + p.rules * p.rules, 0);
    const quad = fitQuadraticThrough(
      f0,
      rest.map((p) => p.rules),
      rest.map(pick),
    );
    fits[name] = { ...fit, logLogSlope: slope, anchored: { fixed: f0, perRule: perRule0 }, anchoredQuadratic: { fixed: f0, ...quad } };
    process.stdout.write(
      `fit (${name}): insert = ${(fit.fixed * 1e3).toFixed(2)} ms + ${(fit.perRule * 1e6).toFixed(3)} us x rules in table; ` +
        `anchored at the smallest table: ${(f0 * 1e3).toFixed(2)} ms + ${(perRule0 * 1e6).toFixed(3)} us x rules; ` +
        `log-log slope (tables >= 10k rules) ${slope.toFixed(2)}; with a quadratic term: ${(f0 * 1e3).toFixed(2)} ms + ` +
        `${(quad.perRule * 1e6).toFixed(3)} us x rules + ${(quad.perRuleSquared * 1e12).toFixed(3)} ps x rules^2\n`,
    );
  }
  let replayed: ReturnType<typeof replay> | null = null;
  if (a.replay > 0) {
    replayed = replay(a.replay, a.endpoints);
    const r = replayed;
    const c = IPTABLES_CLI_COEFFICIENTS;
    const model = (f: { fixed: number; perRule: number; perRuleSquared?: number }): number =>
      r.processes * f.fixed + r.tableRules * f.perRule + r.tableRulesSquared * (f.perRuleSquared ?? 0);
    const committed = model({
      fixed: c.cliProcessFixed!.value,
      perRule: c.cliPerRuleInTable!.value,
      perRuleSquared: c.cliPerRuleInTableSquared!.value,
    });
    const q = fits.cpu!.anchoredQuadratic;
    process.stdout.write(
      `replay: ${a.replay} services written one process per chain and rule: ${r.processes} processes, ${r.rules} rules, ` +
        `${r.tableRules} rule-table reads; measured ${r.cpuSeconds.toFixed(1)} s CPU, ${r.wallSeconds.toFixed(1)} s wall; ` +
        `model with the committed coefficients ${committed.toFixed(1)} s (x${(committed / r.cpuSeconds).toFixed(2)} of CPU), ` +
        `with this run's quadratic CPU fit ${model(q).toFixed(1)} s (x${(model(q) / r.cpuSeconds).toFixed(2)})\n`,
    );
  }
  if (a.json !== null) {
    const uname = run(['uname', '-r']).stdout.trim();
    const version = run(['iptables-legacy', '--version']).stdout.trim();
    writeFileSync(a.json, JSON.stringify({ kernel: uname, iptables: version, points, fits, replay: replayed }, null, 2) + '\n');
  }
}

try {
  main();
} catch (e) {
  process.stderr.write(`measure-iptables-insert: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
