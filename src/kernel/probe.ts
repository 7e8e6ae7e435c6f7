/**
 * First packets through the loaded ruleset: a veth pair between a client namespace and the node namespace
 * (created inside them: the pair never exists in the host's namespace), the endpoint range made local in the node
 * namespace, a responder listening there and a prober in the client namespace (agent.mjs).
 *
 *   client ns  kpbc0 198.18.0.2/30 --veth-- kpbn0 198.18.0.1/30  node ns (ruleset; `local CIDR dev lo`)
 *
 * Traffic goes only between these two namespaces.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inNamespace, mustRunIn, run } from './exec.js';
import { CLIENT_IP } from './helpers.js';
/** What the prober (agent.mjs) is asked to do. */
export interface ProberInput {
  targets: Array<{ label: string; ip: string; port: number }>;
  samples: number;
  localAddress: string;
  firstPort: number;
  budgetMs: number;
  timeoutMs: number;
  /** Untimed connections per target first (default 1). */
  warmup?: number;
  /** The samples in this many rounds (default 1), `pauseMs` apart. */
  rounds?: number;
  pauseMs?: number;
}

const AGENT = fileURLToPath(new URL('./agent.mjs', import.meta.url));
const PROBER = fileURLToPath(new URL('./prober.py', import.meta.url));
const NODE_SIDE_IP = '198.18.0.1';

/** Wires client namespace `client` to node namespace `node`; `localCIDR` becomes local in the node namespace. */
export function wire(client: string, node: string, localCIDR: string): void {
  mustRunIn(client, ['ip', 'link', 'add', 'kpbc0', 'type', 'veth', 'peer', 'name', 'kpbn0', 'netns', node]);
  mustRunIn(client, ['ip', 'addr', 'add', `${CLIENT_IP}/30`, 'dev', 'kpbc0']);
  mustRunIn(client, ['ip', 'link', 'set', 'kpbc0', 'up']);
  mustRunIn(client, ['ip', 'route', 'add', 'default', 'via', NODE_SIDE_IP]);
  mustRunIn(node, ['ip', 'addr', 'add', `${NODE_SIDE_IP}/30`, 'dev', 'kpbn0']);
  mustRunIn(node, ['ip', 'link', 'set', 'kpbn0', 'up']);
  mustRunIn(node, ['ip', 'route', 'add', 'local', localCIDR, 'dev', 'lo']);
}

function agentCommand(ns: string, args: string[], realtime = false): string[] {
  return inNamespace(ns, [...(realtime ? ['chrt', '--fifo', '10'] : []), process.execPath, AGENT, ...args]);
}

/** A responder process in `ns` listening on `ports`; resolves once it listens. */
export function startResponder(ns: string, ports: number[]): Promise<ChildProcess> {
  // real-time too: a SYN that arrives while the responder holds its listening socket (accepting the previous
  // connection) waits in the socket's backlog until the responder runs again
  const cmd = agentCommand(ns, ['responder', ...ports.map(String)], true);
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stopProcess(child);
      reject(new Error('responder did not start within 30 s'));
    }, 30_000);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`responder exited (${code}): ${err.trim().split('\n')[0] ?? ''}`));
    });
  });
}

/** Stops a process this module started (by its own handle). */
export function stopProcess(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

/** Stops it and waits until it has exited (its listening ports are free again), 10 s at most. */
export function stopAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface ProbeResult {
  samples: Record<string, number[]>;
  /** Samples per round, in order (prober.py; absent: one round). */
  rounds?: Record<string, number[]>;
  failed: Record<string, number>;
  /** Failure causes (error codes, 'timeout') and their counts. */
  errors: Record<string, number>;
}

/** Runs the prober in `ns` to completion (bounded by its budget plus a margin). */
export function runProber(ns: string, input: ProberInput): ProbeResult {
  // prober.py: the blocking connect() call alone is timed (Node's event loop around a non-blocking connect added
  // 50 µs and most of the noise); real-time priority (SCHED_FIFO 10), so that on a shared machine it does not wait
  // for a CPU between its connections; it sleeps between rounds and is bounded, so it cannot starve the machine
  const cmd = inNamespace(ns, ['chrt', '--fifo', '10', 'python3', '-S', '-E', PROBER, JSON.stringify(input)]);
  const r = run(cmd, undefined, input.budgetMs + 60_000);
  if (r.code !== 0) throw new Error(`prober failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ProbeResult;
}
