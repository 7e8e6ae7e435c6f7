/**
 * Running the real tools: synchronous child processes, timed with the monotonic clock, bounded in time.
 *
 * Commands inside a network namespace are started with `nsenter --net=/run/netns/NAME`, which only joins the
 * namespace (one setns(2)); `ip netns exec` also unshares a mount namespace and remounts /sys, a few milliseconds
 * that would be counted in every timed load.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall-clock seconds from spawn to exit. */
  seconds: number;
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

export function firstLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(0, n).join(' | ');
}

/**
 * CPU seconds (user + system) this process has used so far, with the children it has waited for (every tool run
 * here is waited for): from /proc/self/stat's utime, stime, cutime and cstime, in clock ticks (100 a second on
 * Linux). Where /proc is missing, this process alone.
 */
export function cpuSecondsSoFar(): number {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 of proc(5) (utime stime cutime cstime), counted from field 3 (state)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
}
