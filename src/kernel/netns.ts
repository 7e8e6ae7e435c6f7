/**
 * Network namespaces of a kernel run: created with unique names, always removed.
 *
 * - Names are `kpb-<pid>-<hex>`: the pid says which process owns it (a sweep removes those whose process is gone),
 *   the hex part (from the OS's random source: a name, not a benchmark choice, so no seeded stream) keeps two runs
 *   of one pid apart.
 * - `Namespaces.create()` registers the namespace; `removeAll()` runs in `finally` blocks, on process exit, and on
 *   SIGINT/SIGTERM (handlers installed by `installSignalHandlers`: clean up, then exit 130/143).
 * - Netfilter state (iptables tables, nf_tables tables, ipsets, nfacct objects, conntrack) lives in the namespace
 *   and goes with it; the host's own namespace is never entered.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { run } from './exec.js';

export const NAMESPACE_PREFIX = 'kpb-';

/** The namespaces `ip netns` knows about. */
export function listNamespaces(): string[] {
  const r = run(['ip', 'netns', 'list']);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes one namespace (its netfilter state and interfaces go with it); true when it is gone. */
export function deleteNamespace(name: string): boolean {
  run(['ip', 'netns', 'del', name]);
  return !listNamespaces().includes(name);
}

/**
 * Removes `kpb-<pid>-*` namespaces left by a run that was killed (its pid no longer runs). Namespaces of live
 * processes, including this one, are left alone. Returns the names removed.
 */
export function sweepStaleNamespaces(): string[] {
  const removed: string[] = [];
  for (const n of listNamespaces()) {
    const m = /^kpb-(\d+)-[0-9a-f]+$/.exec(n);
    if (m === null) continue;
    if (processAlive(Number(m[1]))) continue;
    if (deleteNamespace(n)) removed.push(n);
  }
  return removed;
}

/** The namespaces this process made and has not removed yet. */
export class Namespaces {
  private readonly live = new Set<string>();

  /** Creates a namespace `kpb-<pid>-<hex>` with its loopback up. */
  create(): string {
    const name = `${NAMESPACE_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
    const r = run(['ip', 'netns', 'add', name]);
    if (r.code !== 0) throw new Error(`ip netns add ${name}: ${r.stderr.trim()}`);
    this.live.add(name);
    run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  remove(name: string): void {
    deleteNamespace(name);
    this.live.delete(name);
  }

  removeAll(): void {
    for (const n of [...this.live]) this.remove(n);
  }

  names(): string[] {
    return [...this.live];
  }

  /** Runs fn with a fresh namespace, removed afterwards whatever happens. */
  async with<T>(fn: (ns: string) => Promise<T> | T): Promise<T> {
    const ns = this.create();
    try {
      return await fn(ns);
    } finally {
      this.remove(ns);
    }
  }
}

/**
 * Cleans up on SIGINT/SIGTERM (then exits 130 / 143) and on normal exit. `extra` runs first (stop child
 * processes). Returns a function that removes the handlers.
 */
export function installSignalHandlers(ns: Namespaces, extra: () => void = () => {}): () => void {
  const cleanup = (): void => {
    try {
      extra();
    } finally {
      ns.removeAll();
    }
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\nkpbench: ${sig}: removing network namespaces ${ns.names().join(' ')}\n`);
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', cleanup);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', cleanup);
  };
}

/** Whether /run/netns exists (ip netns has been used on this machine). */
export function netnsDirExists(): boolean {
  return fs.existsSync('/run/netns');
}
