// @ts-check
/**
 * The processes that run inside the namespaces (started by probe.ts with `nsenter --net=...`). Plain JavaScript,
 * so node starts it directly (no TypeScript loader: a kernel run starts three of these per data plane and case).
 * - `responder PORT...`: in the node namespace, TCP listeners on 0.0.0.0 at each port; the endpoint addresses are
 *   local there (`ip route add local CIDR dev lo`), so a DNATed SYN is answered by the kernel's SYN-ACK. Accepted
 *   connections are kept until the client resets them (5 s at most). Prints "ready" when listening; runs until
 *   killed, its stdin closes, or 10 minutes at most.
 * - `prober JSON` (ProberInput in probe.ts): in the client namespace, new TCP connections to each target in turn,
 *   each from its own source port (a new conntrack entry, so its SYN walks the nat table), timing connect() to the
 *   SYN-ACK, in rounds with a pause between them after a warm-up; bounded by a sample count and a time budget. Prints `{ samples: { label: [seconds...] }, failed, errors }`.
 */
import net from 'node:net';

/** @type {Record<string, number>} */
const errors = {};

/**
 * @param {{ ip: string; port: number }} t
 * @param {string} localAddress
 * @param {number} localPort
 * @param {number} timeoutMs
 * @returns {Promise<number | null>}
 */
function connectOnce(t, localAddress, localPort, timeoutMs) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const s = net.connect({ host: t.ip, port: t.port, localAddress, localPort });
    const timer = setTimeout(() => {
      errors.timeout = (errors.timeout ?? 0) + 1;
      s.destroy();
      resolve(null);
    }, timeoutMs);
    s.once('connect', () => {
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      clearTimeout(timer);
      s.resetAndDestroy();
      resolve(dt);
    });
    s.once('error', (/** @type {NodeJS.ErrnoException} */ e) => {
      const code = e.code ?? 'error';
      errors[code] = (errors[code] ?? 0) + 1;
      clearTimeout(timer);
      s.destroy();
      resolve(null);
    });
  });
}

/** @param {{ targets: Array<{ label: string; ip: string; port: number }>; samples: number; localAddress: string; firstPort: number; budgetMs: number; timeoutMs: number; warmup?: number; rounds?: number; pauseMs?: number }} input */
async function prober(input) {
  /** @type {Record<string, number[]>} */
  const out = {};
  /** @type {Record<string, number>} */
  const failed = {};
  for (const t of input.targets) {
    out[t.label] = [];
    failed[t.label] = 0;
  }
  let port = input.firstPort;
  const start = Date.now();
  // warm-up: neighbour entries, the listener's first accepts, and this process's own code paths compiled
  const warmup = input.warmup ?? 1;
  for (let i = 0; i < warmup && port < 65535; i++)
    for (const t of input.targets) await connectOnce(t, input.localAddress, port++, input.timeoutMs);
  // the samples in rounds with a pause between them, so that a burst of other work on a shared machine lands in
  // part of one round rather than in all of a position's samples
  const rounds = Math.max(1, input.rounds ?? 1);
  const perRound = Math.ceil(input.samples / rounds);
  let taken = 0;
  for (let r = 0; r < rounds && taken < input.samples; r++) {
    if (r > 0 && (input.pauseMs ?? 0) > 0) await new Promise((res) => setTimeout(res, input.pauseMs));
    for (let i = 0; i < perRound && taken < input.samples && Date.now() - start < input.budgetMs && port < 65535; i++, taken++) {
      for (const t of input.targets) {
        const dt = await connectOnce(t, input.localAddress, port++, input.timeoutMs);
        if (dt === null) failed[t.label] = (failed[t.label] ?? 0) + 1;
        else out[t.label]?.push(dt);
      }
    }
  }
  process.stdout.write(`${JSON.stringify({ samples: out, failed, errors })}\n`);
}

/** @param {number[]} ports */
function responder(ports) {
  let listening = 0;
  for (const p of ports) {
    // the client resets the connection once it is established; closing from this side first could race the
    // client's connect() completion with a RST
    const srv = net.createServer((s) => {
      s.on('error', () => s.destroy());
      s.on('end', () => s.destroy());
      s.setTimeout(5000, () => s.destroy());
    });
    srv.listen({ host: '0.0.0.0', port: p, backlog: 4096 }, () => {
      if (++listening === ports.length) process.stdout.write('ready\n');
    });
  }
  setTimeout(() => process.exit(0), 600_000).unref();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

const [mode, arg, ...rest] = process.argv.slice(2);
if (mode === 'prober') await prober(JSON.parse(arg ?? '{}'));
else if (mode === 'responder') responder([arg ?? '', ...rest].map(Number));
