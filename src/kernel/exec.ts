/**
 * Running the real tools: synchronous child processes, timed with the monotonic clock, bounded in time.
 *
 * Commands inside a network namespace are started with `nsenter --net=/run/netns/NAME`, which only joins the
 * namespace (one setns(2)); `ip netns exec` also unshares a mount namespace and remounts /sys, a few milliseconds
 * that would be counted in every timed load.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall-clock seconds from spawn to exit. */
  seconds: number;
  /** CPU seconds (user + system) of the command, when run with `mustRunTimedIn` (then `seconds` is the command's own wall-clock time, from its fork to its exit). */
  cpuSeconds?: number;
}

/** The tools live in /usr/sbin, which a non-login PATH may lack. */
const PATH = [process.env.PATH ?? '', '/usr/sbin', '/sbin', '/usr/bin', '/bin'].filter((p) => p !== '').join(':');

/** Runs a command to completion (killed after `timeoutMs`, default 10 minutes); never throws for a failing command. */
export function run(cmd: readonly string[], input?: string, timeoutMs = 600_000): RunResult {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    timeout: timeoutMs,
    env: { ...process.env, PATH },
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const code = r.status ?? (r.error ? 127 : 128);
  return { code, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error.message) : ''), seconds };
}

/** Whether `tool` is on the PATH (with the sbin directories). */
export function hasTool(tool: string): boolean {
  return run(['sh', '-c', `command -v ${tool}`]).code === 0;
}

/** The command line that runs `cmd` inside network namespace `ns`. */
export function inNamespace(ns: string, cmd: readonly string[]): string[] {
  return ['nsenter', `--net=/run/netns/${ns}`, '--', ...cmd];
}

/** Runs `cmd` in namespace `ns`. */
export function runIn(ns: string, cmd: readonly string[], input?: string, timeoutMs?: number): RunResult {
  return run(inNamespace(ns, cmd), input, timeoutMs);
}

/** Runs `cmd` in namespace `ns`; throws with the tool's first error lines when it fails. */
export function mustRunIn(ns: string, cmd: readonly string[], input?: string, timeoutMs?: number): RunResult {
  const r = runIn(ns, cmd, input, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd.join(' ')} failed in ${ns} (exit ${r.code}): ${firstLines(r.stderr)}`);
  return r;
}

const CPUTIME = fileURLToPath(new URL('./cputime.py', import.meta.url));
const CPU_LINE = /\nKPBCPU (\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\n$/;

/**
 * Runs `cmd` in namespace `ns` under cputime.py, which reports the CPU seconds (user + system, from wait4(2)) the
 * command used: what a timed load costs, whatever else the machine runs. Throws like `mustRunIn` on failure.
 */
export function mustRunTimedIn(ns: string, cmd: readonly string[], input?: string, timeoutMs?: number): RunResult {
  const r = run(['python3', '-S', '-E', CPUTIME, ...inNamespace(ns, cmd)], input, timeoutMs);
  const m = CPU_LINE.exec(r.stderr);
  const stderr = m === null ? r.stderr : r.stderr.slice(0, m.index);
  if (r.code !== 0) throw new Error(`${cmd.join(' ')} failed in ${ns} (exit ${r.code}): ${firstLines(stderr)}`);
  if (m === null) throw new Error(`${cmd.join(' ')} in ${ns}: no CPU time reported (python3 missing?): ${firstLines(r.stderr)}`);
  return { ...r, stderr, seconds: Number(m[3]), cpuSeconds: Number(m[1]) + Number(m[2]) };
}

export function firstLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(0, n).join(' | ');
}
