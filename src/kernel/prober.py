# The first-packet prober (src/kernel/probe.ts runs it in the client namespace at real-time priority): new TCP
# connections to each target in turn, each from its own source port (a new conntrack entry, so its SYN walks the nat
# table), timing the blocking connect() system call alone: the SYN out through the rules and DNAT, the SYN-ACK back.
# Over a veth pair the kernel handles both packets within that call, so the time is the kernel's path with no event
# loop, allocation or garbage collection of the prober's own in it. Each connection is then reset (SO_LINGER 0).
# Input: one JSON argument (ProberInput in probe.ts): targets, samples, localAddress, firstPort, budgetMs,
# timeoutMs, warmup, rounds, pauseMs. Warm-up connections first, then the samples in rounds with a pause between
# them, each round taking its share of each target's connections target by target; bounded by the sample count, the
# time budget and the port range. Prints
# {"samples": {label: [seconds...]}, "rounds": {label: [samples per round...]}, "failed": {label: n},
# "errors": {cause: n}} as one line.
import errno
import json
import socket
import struct
import sys
import time

inp = json.loads(sys.argv[1])
targets = inp["targets"]
samples = {t["label"]: [] for t in targets}
round_sizes = {t["label"]: [] for t in targets}
failed = {t["label"]: 0 for t in targets}
errors = {}
LINGER0 = struct.pack("ii", 1, 0)
port = inp["firstPort"]
start = time.monotonic()
budget = inp["budgetMs"] / 1000.0


def connect_once(t, local_port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        s.settimeout(inp["timeoutMs"] / 1000.0)
        s.bind((inp["localAddress"], local_port))
        t0 = time.perf_counter_ns()
        s.connect((t["ip"], t["port"]))
        return (time.perf_counter_ns() - t0) / 1e9
    except socket.timeout:
        errors["timeout"] = errors.get("timeout", 0) + 1
        return None
    except OSError as e:
        code = errno.errorcode.get(e.errno, "error") if e.errno is not None else "error"
        errors[code] = errors.get(code, 0) + 1
        return None
    finally:
        s.close()


for _ in range(inp.get("warmup", 1)):
    for t in targets:
        if port < 65535:
            connect_once(t, port)
            port += 1
rounds = max(1, inp.get("rounds", 1))
per_round = -(-inp["samples"] // rounds)
taken = 0
for r in range(rounds):
    if taken >= inp["samples"]:
        break
    if r > 0 and inp.get("pauseMs", 0) > 0:
        time.sleep(inp["pauseMs"] / 1000.0)
    for t in targets:
        round_sizes[t["label"]].append(0)
    n = min(per_round, inp["samples"] - taken)
    # one target's connections in a row: each position is timed in its own steady cache state (a walk of thousands
    # of rules to the last service would otherwise evict what the next connection to the first one finds warm)
    for t in targets:
        for _ in range(n):
            if time.monotonic() - start >= budget or port >= 65535:
                break
            dt = connect_once(t, port)
            port += 1
            if dt is None:
                failed[t["label"]] += 1
            else:
                samples[t["label"]].append(dt)
                round_sizes[t["label"]][-1] += 1
    taken += n
print(json.dumps({"samples": samples, "rounds": round_sizes, "failed": failed, "errors": errors}))
