// @ts-check
/**
 * The responder that runs in the node namespace (started by probe.ts with `nsenter --net=...`). Plain JavaScript,
 * so node starts it directly (no TypeScript loader). The prober is prober.py (it times the blocking connect() call).
 * - `responder PORT...`: TCP listeners on 0.0.0.0 at each port; the endpoint addresses are local there (`ip route
 *   add local CIDR dev lo`), so a DNATed SYN is answered by the kernel's SYN-ACK. Accepted connections are kept
 *   until the client resets them (5 s at most). Prints "ready" when listening; runs until killed, its stdin closes,
 *   or 10 minutes at most.
 */
import net from 'node:net';

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
if (mode === 'responder') responder([arg ?? '', ...rest].map(Number));
