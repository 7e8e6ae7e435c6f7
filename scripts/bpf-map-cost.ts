/**
 * Measures what a BPF hash-map element update or delete costs on this machine's kernel, at growing map sizes,
 * single and batched, for the eBPF backend's cost model (src/backends/ebpf/cost.ts, README "Cost notes").
 *
 *   npx tsx scripts/bpf-map-cost.ts [--sizes 1000,10000,100000,250000] [--k 2000] [--rounds 3] [--json FILE]
 *
 * Needs root, bpftool and python3. Two instruments:
 * 1. scripts/bpf-map-helper.py: the bpf(2) syscall straight from Python's ctypes (no native build, no process
 *    start): BPF_MAP_UPDATE_ELEM on existing keys (what the agent does to service slots), inserts and deletes of
 *    new keys, BPF_MAP_UPDATE_BATCH / BPF_MAP_DELETE_BATCH, the ctypes-syscall floor (getppid), and a Maglev table
 *    write as Cilium does it (create an inner array map of one M x u32 element, write it, close it).
 *    Datapath lookups: a hand-assembled XDP program (64 bpf_map_lookup_elem calls on one key) loaded with
 *    BPF_PROG_LOAD and run with BPF_PROG_TEST_RUN (kernel-timed average), minus the same program without lookups:
 *    a hit and a miss at each map size (cache-hot: one key, so a best case for a real packet).
 * 2. bpftool: process start (`bpftool version`), one `bpftool map update` per process, and `bpftool batch file`
 *    of K updates (per element, minus an empty batch) at each map size.
 * Maps are hash maps with Cilium's service-map shape (12-byte keys and values, BPF_F_NO_PREALLOC), pinned under
 * /sys/fs/bpf/kpb-<pid>-*, and always removed (also on failure or Ctrl-C). The machine is shared: numbers are
 * medians of a few rounds and still noisy.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const sizes = arg('--sizes', '1000,10000,100000,250000').split(',').map(Number);
const k = Number(arg('--k', '2000'));
const rounds = Number(arg('--rounds', '3'));
const jsonOut = process.argv.includes('--json') ? arg('--json', '') : '';
const maxSize = Math.max(...sizes);

const pins: string[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'kpb-bpf-'));
function cleanup(): void {
  for (const p of pins) rmSync(p, { force: true });
  rmSync(tmp, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

function run(cmd: string, args: string[]): { ms: number; out: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(' ')} ...: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return { ms, out: r.stdout };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function createMap(tag: string): string {
  const pin = `/sys/fs/bpf/kpb-${process.pid}-${tag}`;
  pins.push(pin);
  run('bpftool', [
    'map',
    'create',
    pin,
    'type',
    'hash',
    'key',
    '12',
    'value',
    '12',
    'entries',
    String(maxSize + 4 * k + 16),
    'name',
    `kpb_${tag}`,
    'flags',
    '1',
  ]);
  return pin;
}

const hex = (b: number[]) => b.map((x) => x.toString(16).padStart(2, '0')).join(' ');
/** A Service4Key-shaped key for element i (the helper uses the same layout). */
function key(i: number): string {
  return hex([10, 96, (i >> 8) & 255, i & 255, 0, 80, (i >> 16) & 255, (i >> 24) & 255, 6, 0, 0, 0]);
}
const VALUE = hex([7, 0, 0, 0, 0, 0, 1, 0, 0x40, 0, 0, 0]);

function batchFile(pin: string, lines: number, from: number, op: 'update' | 'delete'): string {
  const f = join(tmp, `batch-${op}-${from}-${lines}.txt`);
  const out: string[] = [];
  for (let i = from; i < from + lines; i++) {
    out.push(
      op === 'update' ? `map update pinned ${pin} key hex ${key(i)} value hex ${VALUE}` : `map delete pinned ${pin} key hex ${key(i)}`,
    );
  }
  writeFileSync(f, out.join('\n') + '\n');
  return f;
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('needs root (bpf syscall)');
  for (const t of ['bpftool', 'python3']) if (spawnSync('which', [t]).status !== 0) throw new Error(`${t} not found`);

  // 1. syscall helper
  const helper = join(dirname(fileURLToPath(import.meta.url)), 'bpf-map-helper.py');
  if (!existsSync(helper)) throw new Error(`missing ${helper}`);
  const pinH = createMap('h');
  const h = JSON.parse(
    run('python3', [helper, JSON.stringify({ pin: pinH, sizes, k, rounds, maglev_m: [251, 1021, 16381, 65521, 131071] })]).out,
  );

  // 2. bpftool
  const start = median(Array.from({ length: 10 }, () => run('bpftool', ['version']).ms)) / 1e3;
  const pinB = createMap('b');
  const empty = join(tmp, 'empty.txt');
  writeFileSync(empty, '\n');
  const emptyBatch = median(Array.from({ length: 5 }, () => run('bpftool', ['batch', 'file', empty]).ms)) / 1e3;
  const tool: { size: number; fill_s_per_elem: number; batch_update_s: number; batch_delete_s: number; process_update_s: number }[] = [];
  let filled = 0;
  for (const size of sizes) {
    let fillPer = NaN;
    if (size > filled) {
      const f = batchFile(pinB, size - filled, filled, 'update');
      fillPer = (run('bpftool', ['batch', 'file', f]).ms / 1e3 - emptyBatch) / (size - filled);
      filled = size;
    }
    const fresh = 1 << 24;
    const up = batchFile(pinB, k, fresh, 'update');
    const del = batchFile(pinB, k, fresh, 'delete');
    const u: number[] = [];
    const d: number[] = [];
    for (let r = 0; r < rounds; r++) {
      u.push((run('bpftool', ['batch', 'file', up]).ms / 1e3 - emptyBatch) / k);
      d.push((run('bpftool', ['batch', 'file', del]).ms / 1e3 - emptyBatch) / k);
    }
    const single =
      median(
        Array.from(
          { length: 10 },
          (_, i) =>
            run('bpftool', ['map', 'update', 'pinned', pinB, 'key', 'hex', ...key(i).split(' '), 'value', 'hex', ...VALUE.split(' ')]).ms,
        ),
      ) / 1e3;
    tool.push({ size, fill_s_per_elem: fillPer, batch_update_s: median(u), batch_delete_s: median(d), process_update_s: single });
  }

  const result = {
    kernel: run('uname', ['-r']).out.trim(),
    load: run('cat', ['/proc/loadavg']).out.trim(),
    helper: h,
    bpftool: { process_start_s: start, empty_batch_s: emptyBatch, sizes: tool },
  };
  const us = (s: number) => (s * 1e6).toFixed(2);
  console.log(`kernel ${result.kernel}; load ${result.load}; k=${k}, rounds=${rounds} (medians)`);
  console.log(`bpf(2) from ctypes, per element (µs); ctypes syscall floor (getppid) ${us(h.ctypes_syscall_s)} µs`);
  console.log('size\tupdate(existing)\tinsert\tdelete\tbatch insert\tbatch delete');
  for (const s of h.sizes)
    console.log(`${s.size}\t${us(s.update_existing)}\t${us(s.insert)}\t${us(s.delete)}\t${us(s.insert_batch)}\t${us(s.delete_batch)}`);
  console.log('Maglev table write (create an inner array map of one M x u32 element, write it, close it):');
  for (const g of h.maglev as { m: number; table_write_s: number }[]) console.log(`M=${g.m}\t${us(g.table_write_s)} µs`);
  console.log('Datapath lookups (BPF_PROG_TEST_RUN, XDP program with 64 bpf_map_lookup_elem calls on one key, cache-hot), per lookup:');
  console.log('size\thit (ns)\tmiss (ns)\tprogram run without lookups (ns)');
  for (const l of h.lookup as { size: number; hit_ns: number; miss_ns: number; prog_run_ns: number }[]) {
    console.log(`${l.size}\t${l.hit_ns.toFixed(1)}\t${l.miss_ns.toFixed(1)}\t${l.prog_run_ns}`);
  }
  console.log(`bpftool: process start (bpftool version) ${(start * 1e3).toFixed(2)} ms; empty batch ${(emptyBatch * 1e3).toFixed(2)} ms`);
  console.log('size\tbatch update/elem (µs)\tbatch delete/elem (µs)\tfill/elem (µs)\tone update per process (ms)');
  for (const t of tool)
    console.log(
      `${t.size}\t${us(t.batch_update_s)}\t${us(t.batch_delete_s)}\t${Number.isNaN(t.fill_s_per_elem) ? '-' : us(t.fill_s_per_elem)}\t${(t.process_update_s * 1e3).toFixed(2)}`,
    );
  if (jsonOut !== '') writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
}

try {
  main();
} catch (e) {
  console.error(`bpf-map-cost: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
