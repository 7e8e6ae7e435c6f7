/**
 * Measures what kube-proxy's nftables transactions cost the real `nft` on this machine, in private network
 * namespaces (never the machine's own): the full-sync transaction against the number of services, and a partial
 * sync (one endpoint of one service replaced) against the size of the table already loaded, plus the two
 * `nft -j list chains|sets ip` calls kube-proxy makes every sync. Also loads the same ruleset in other shapes a
 * hand-written script might use, to see where growth comes from.
 *
 *   npx tsx scripts/measure-nftables.ts [--sizes 100,1000,3000,10000] [--endpoints 10] [--reps 3]
 *                                       [--partial-reps 5] [--variants] [--scan-sizes 2000,4000,8000] [--json FILE]
 *
 * Needs root, iproute2 and nftables. Wall time and the nft process's CPU time (user + system, from /usr/bin/time)
 * are printed per run; CPU time is the steadier figure on a shared machine. Exit 2 on bad arguments.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linearRegression } from 'simple-statistics';
import { createNftablesBackend } from '../src/backends/nftables/backend.js';
import { SYNTHETIC_NODE, syntheticSnapshot } from '../src/backends/nftables/synthetic.js';
import type { NftSyncCounts } from '../src/backends/nftables/proxier.js';

interface Args {
  sizes: number[];
  endpoints: number;
  reps: number;
  partialReps: number;
  variants: boolean;
  json: string | null;
  scanSizes: number[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    sizes: [100, 1000, 3000, 10000],
    endpoints: 10,
    reps: 3,
    partialReps: 5,
    variants: false,
    json: null,
    scanSizes: [2000, 4000, 8000],
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    const num = (s: string | undefined): number => {
      const n = Number(s);
      if (!Number.isInteger(n) || n <= 0) bad(`${k} wants a positive integer, got '${s}'`);
      return n;
    };
    if (k === '--sizes') {
      a.sizes = (v ?? '').split(',').map(num);
      i++;
    } else if (k === '--endpoints') {
      a.endpoints = num(v);
      i++;
    } else if (k === '--reps') {
      a.reps = num(v);
      i++;
    } else if (k === '--partial-reps') {
      a.partialReps = num(v);
      i++;
    } else if (k === '--variants') a.variants = true;
    else if (k === '--scan-sizes') {
      a.scanSizes = (v ?? '').split(',').map(num);
      i++;
    } else if (k === '--json') {
      a.json = v ?? bad('--json wants a file');
      i++;
    } else bad(`unknown argument '${k}'`);
  }
  return a;
}

function bad(msg: string): never {
  process.stderr.write(`measure-nftables: ${msg}\n`);
  process.exit(2);
}

interface Timing {
  wall: number;
  cpu: number;
}

const dir = mkdtempSync(join(tmpdir(), 'kpb-nft-'));
const namespaces = new Set<string>();
let seq = 0;

function cleanup(): void {
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
  namespaces.clear();
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function newNs(): string {
  const ns = `kpb-nftm-${process.pid}-${++seq}`;
  const r = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip netns add: ${r.stderr}`);
  namespaces.add(ns);
  return ns;
}

function delNs(ns: string): void {
  spawnSync('ip', ['netns', 'del', ns]);
  namespaces.delete(ns);
}

/** Runs nft (args) in ns under /usr/bin/time; returns wall and CPU seconds of the nft process. */
function timedNft(ns: string, args: string[], stdinText?: string): Timing {
  const tf = join(dir, 'time.txt');
  const r = spawnSync('ip', ['netns', 'exec', ns, '/usr/bin/time', '-f', '%e %U %S', '-o', tf, 'nft', ...args], {
    input: stdinText,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr.slice(0, 500)}`);
  const [e, u, s] = readFileSync(tf, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { wall: e!, cpu: u! + s! };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One timed `nft -f` with the counts the cost model uses. */
interface Observation {
  kind: 'full' | 'partial';
  services: number;
  operations: number;
  /** Kernel set-name scans: anonymous sets created x sets already in the table (plus those created before them). */
  setScans: number;
  /** Chains + rules + sets in the table before the transaction (what nft fetches into its cache). */
  objectsBefore: number;
  wall: number;
  cpu: number;
}

/**
 * Set-list scans in the kernel: every set a transaction creates (an anonymous one for each numgen vmap, a named one
 * for each `add set`) is checked against every set already in the table, those created earlier in the same
 * transaction included (the table keeps its sets in a list).
 */
function setScans(c: NftSyncCounts): number {
  const created = c.anonSetsAdded + c.setsWritten;
  return created * c.kernelSetsBefore + (created * (created - 1)) / 2;
}

/**
 * The set-creation cost alone: N chains each with `numgen random mod 1 vmap { 0 : goto x }` (one anonymous map
 * each) against the same N chains with a plain `goto x`. Returns seconds per set scan (CPU, the difference over
 * N(N-1)/2 scans, fitted over the sizes).
 */
function measureSetScans(sizes: readonly number[]): { perScan: number; rows: string[] } {
  const rows: string[] = [];
  const pts: Array<[number, number]> = [];
  for (const N of sizes) {
    const t: Record<string, Timing> = {};
    for (const kind of ['vmap', 'plain']) {
      const lines = ['add table ip t', 'add chain ip t x'];
      for (let i = 1; i <= N; i++) lines.push(`add chain ip t c${i}`);
      for (let i = 1; i <= N; i++)
        lines.push(kind === 'vmap' ? `add rule ip t c${i} numgen random mod 1 vmap { 0 : goto x }` : `add rule ip t c${i} goto x`);
      const ns = newNs();
      try {
        t[kind] = timedNft(ns, ['-f', '-'], lines.join('\n') + '\n');
      } finally {
        delNs(ns);
      }
    }
    const scans = (N * (N - 1)) / 2;
    pts.push([scans, t['vmap']!.cpu - t['plain']!.cpu]);
    rows.push(
      `  ${N} chains: numgen vmap each: wall ${t['vmap']!.wall.toFixed(3)} s, cpu ${t['vmap']!.cpu.toFixed(3)} s; plain goto: wall ${t['plain']!.wall.toFixed(3)} s, cpu ${t['plain']!.cpu.toFixed(3)} s`,
    );
  }
  const perScan = pts.reduce((a, [x, y]) => a + x * y, 0) / pts.reduce((a, [x]) => a + x * x, 0);
  return { perScan, rows };
}

const observations: Observation[] = [];

interface SizeResult {
  services: number;
  endpoints: number;
  counts: NftSyncCounts;
  tableChains: number;
  tableRules: number;
  tableElements: number;
  full: Timing[];
  partial: Timing[];
  partialCounts: NftSyncCounts;
  listChains: Timing[];
  listSets: Timing[];
  variants: Record<string, Timing>;
}

function measureSize(S: number, a: Args): SizeResult {
  const snap = syntheticSnapshot(S, a.endpoints);
  const b = createNftablesBackend({ node: SYNTHETIC_NODE });
  const counts = b.syncCounts(snap, new Set(), 0);
  const fullTx = b.fullTransaction();
  const fullFile = join(dir, `full-${S}.nft`);
  writeFileSync(fullFile, fullTx);
  const size = b.sizeCounts();
  const full: Timing[] = [];
  const partial: Timing[] = [];
  const listChains: Timing[] = [];
  const listSets: Timing[] = [];
  let partialCounts = counts;
  for (let rep = 0; rep < a.reps; rep++) {
    const ns = newNs();
    try {
      const tf = timedNft(ns, ['-f', fullFile]);
      full.push(tf);
      observations.push({ kind: 'full', services: S, operations: counts.operations, setScans: setScans(counts), objectsBefore: 0, ...tf });
      if (rep !== a.reps - 1) continue;
      // partial syncs against the loaded table: replace one endpoint of service k, one service at a time
      const services = new Map(snap.services);
      const endpoints = new Map(snap.endpoints);
      const keys = [...services.keys()].filter((k) => (endpoints.get(k) ?? []).length > 0);
      let now = 10;
      for (let k = 0; k < a.partialReps; k++) {
        const key = keys[(k * 7919) % keys.length]!;
        const eps = endpoints.get(key)!;
        const moved = { ...eps[0]!, ip: eps[0]!.ip.replace(/^10\.64\./, '10.65.') };
        endpoints.set(key, [...eps.slice(1), moved]);
        now += 2; // past the stale-chain delay: the previous sync's old endpoint chain goes in a first transaction
        partialCounts = b.syncCounts({ services, endpoints }, new Set([key]), now);
        const stale = b.proxier.lastStaleTransaction();
        if (stale !== '') timedNft(ns, ['-f', '-'], stale);
        listChains.push(timedNft(ns, ['-j', 'list', 'chains', 'ip']));
        listSets.push(timedNft(ns, ['-j', 'list', 'sets', 'ip']));
        const tp = timedNft(ns, ['-f', '-'], b.lastTransaction());
        partial.push(tp);
        const t = b.proxier.table;
        const objectsBefore = partialCounts.chainsListed + (t.ruleCount() - partialCounts.rulesWritten) + partialCounts.kernelSetsBefore;
        observations.push({
          kind: 'partial',
          services: S,
          operations: partialCounts.operations,
          setScans: setScans(partialCounts),
          objectsBefore,
          ...tp,
        });
      }
    } finally {
      delNs(ns);
    }
  }
  const variants: Record<string, Timing> = {};
  if (a.variants) {
    // the same ruleset as `nft list` prints it (one nested table block)
    const listed = join(dir, `listed-${S}.nft`);
    writeFileSync(listed, b.listRuleset());
    // kube-proxy's transaction without its "flush chain" lines
    const noFlush = join(dir, `noflush-${S}.nft`);
    // (the first sync's 8 base-chain add+delete pairs, lines 2-17, go too)
    const txLines = fullTx.split('\n');
    writeFileSync(noFlush, [txLines[0]!, ...txLines.slice(17).filter((l) => !l.startsWith('flush chain'))].join('\n'));
    // chains and rules first, then every map element in one second transaction
    const lines = fullTx.split('\n');
    const first = join(dir, `split1-${S}.nft`);
    const second = join(dir, `split2-${S}.nft`);
    writeFileSync(first, lines.filter((l) => !l.startsWith('add element')).join('\n'));
    writeFileSync(second, lines.filter((l) => l.startsWith('add element')).join('\n'));
    for (const [name, files] of [
      ['nested block (nft list form)', [listed]],
      ['transaction without flush/delete lines', [noFlush]],
      ['rules first, then elements', [first]],
    ] as Array<[string, string[]]>) {
      const ns = newNs();
      try {
        variants[name] = timedNft(ns, ['-f', files[0]!]);
        if (name === 'rules first, then elements')
          variants['... the elements (table already holding the chains)'] = timedNft(ns, ['-f', second]);
      } finally {
        delNs(ns);
      }
    }
  }
  return {
    services: S,
    endpoints: a.endpoints,
    counts,
    tableChains: size.chains,
    tableRules: size.rules,
    tableElements: size.elements,
    full,
    partial,
    partialCounts,
    listChains,
    listSets,
    variants,
  };
}

/**
 * Least squares for t - c*setScans = a + b*operations + d*objectsBefore, with c measured on its own (normal
 * equations, Gaussian elimination). Returns [a, b, c, d].
 */
function fitCost(obs: readonly Observation[], what: 'cpu' | 'wall', c: number): number[] {
  const X = obs.map((o) => [1, o.operations, o.objectsBefore]);
  const y = obs.map((o) => o[what] - c * o.setScans);
  const n = 3;
  const A = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n + 1 }, (_, j) =>
      j < n ? X.reduce((s, r) => s + r[i]! * r[j]!, 0) : X.reduce((s, r, k) => s + r[i]! * y[k]!, 0),
    ),
  );
  for (let i = 0; i < n; i++) {
    let p = i;
    for (let r = i + 1; r < n; r++) if (Math.abs(A[r]![i]!) > Math.abs(A[p]![i]!)) p = r;
    [A[i], A[p]] = [A[p]!, A[i]!];
    const d = A[i]![i]!;
    if (d === 0) continue;
    for (let r = 0; r < n; r++) {
      if (r === i) continue;
      const f = A[r]![i]! / d;
      for (let j = i; j <= n; j++) A[r]![j]! -= f * A[i]![j]!;
    }
  }
  const [a, b, d] = A.map((row, i) => (row[i] === 0 ? 0 : row[n]! / row[i]!));
  return [a!, b!, c, d!];
}

function fmt(t: Timing[]): string {
  return `wall ${median(t.map((x) => x.wall)).toFixed(3)} s, cpu ${median(t.map((x) => x.cpu)).toFixed(3)} s (n=${t.length})`;
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) bad('needs root (network namespaces)');
  const results: SizeResult[] = [];
  for (const S of a.sizes) {
    const r = measureSize(S, a);
    results.push(r);
    const c = r.counts;
    process.stdout.write(
      `S=${S} x ${a.endpoints}: full transaction ${c.operations} ops (${c.chainsAdded} chains, ${c.rulesWritten} rules, ${c.elementsAdded} elements, ${c.setsWritten} sets), ${(c.bytes / 1e6).toFixed(2)} MB\n` +
        `  full load          ${fmt(r.full)}\n` +
        `  partial tx (${r.partialCounts.operations} ops, ${r.partialCounts.bytes} B) ${fmt(r.partial)}\n` +
        `  nft -j list chains ${fmt(r.listChains)}   list sets ${fmt(r.listSets)}\n`,
    );
    for (const [k, v] of Object.entries(r.variants))
      process.stdout.write(`  variant: ${k}: wall ${v.wall.toFixed(3)} s, cpu ${v.cpu.toFixed(3)} s\n`);
  }
  if (results.length >= 2) {
    const ll = (f: (r: SizeResult) => number) =>
      linearRegression(results.map((r) => [Math.log(r.services), Math.log(Math.max(f(r), 1e-4))])).m;
    const lin = (f: (r: SizeResult) => number) => linearRegression(results.map((r) => [r.counts.operations, f(r)]));
    const wallFull = (r: SizeResult) => median(r.full.map((x) => x.wall));
    const cpuFull = (r: SizeResult) => median(r.full.map((x) => x.cpu));
    const cpuPart = (r: SizeResult) => median(r.partial.map((x) => x.cpu));
    const wallPart = (r: SizeResult) => median(r.partial.map((x) => x.wall));
    process.stdout.write(
      `log-log slope vs services: full wall ${ll(wallFull).toFixed(2)}, full cpu ${ll(cpuFull).toFixed(2)}, partial wall ${ll(wallPart).toFixed(2)}, partial cpu ${ll(cpuPart).toFixed(2)}, list chains cpu ${ll((r) => median(r.listChains.map((x) => x.cpu))).toFixed(2)}\n`,
    );
    void lin;
    const scans = measureSetScans(a.scanSizes);
    process.stdout.write(
      `set creation against the sets already in the table:\n${scans.rows.join('\n')}\n  => ${(scans.perScan * 1e9).toFixed(1)} ns CPU per set scanned\n`,
    );
    for (const what of ['cpu', 'wall'] as const) {
      const c = fitCost(observations, what, scans.perScan);
      process.stdout.write(
        `cost model (${what}): t = ${c[0]!.toFixed(4)} s + ${(c[1]! * 1e6).toFixed(2)} us x operations + ${(c[2]! * 1e9).toFixed(2)} ns x set-name scans + ${(c[3]! * 1e9).toFixed(1)} ns x objects already in the table\n`,
      );
    }
  }
  if (a.json !== null) writeFileSync(a.json, JSON.stringify({ results, observations }, null, 1) + '\n');
}

main();
