# Runs and times a group of loads inside a network namespace (src/kernel/load.ts starts it once per group with
# `nsenter --net=...`, so no load pays for a namespace entry, an interpreter or a fork of the large kpbench process).
# Input on stdin, one JSON object:
#   {"steps": [{"argv": [...], "stdin": "..."}, ...],
#    "untimed": [step index, ...],                   run before every repetition, not timed (empty the data plane)
#    "cycle": [[step index, ...], ...],              repetition k times cycle[k % len] (its steps' times add up)
#    "finish": true,                                 afterwards run the cycle's rest, untimed (end where it started)
#    "min": n, "max": n, "budget": seconds,          repetitions: at least min, at most max, none started past budget
#    "tolerance": x | null, "confidence": c,         once min (and 3) are done and the group has run for
#    "toleranceAfter": seconds}                      toleranceAfter seconds, stop when the distribution-free
#                                                    confidence interval of the median (order statistics, coverage
#                                                    >= c, or [min, max]) is narrower than x times the median
# Each timed step's CPU seconds are the user + system time of the tool process (getrusage(RUSAGE_CHILDREN) before and
# after waiting for it: microsecond resolution), its wall seconds from spawn to exit. Prints one JSON line:
#   {"cpu": [...], "wall": [...], "which": [...]}  or exits 1 with "FAILED <argv> (exit n): <stderr>" on stderr.
import json
import math
import resource
import subprocess
import sys
import time

inp = json.load(sys.stdin)
steps = inp["steps"]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(i):
    st = steps[i]
    c0 = children_cpu()
    t0 = time.monotonic()
    p = subprocess.run(st["argv"], input=st.get("stdin", "").encode(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    cpu = children_cpu() - c0
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace").strip().split("\n")[:3]
        sys.stderr.write("FAILED %s (exit %d): %s\n" % (" ".join(st["argv"]), p.returncode, " | ".join(err)))
        sys.exit(1)
    return cpu, wall


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def median_ci(xs, confidence):
    # [x_(k), x_(n+1-k)] covers the median with probability 1 - 2 P(Binomial(n, 1/2) <= k - 1): the largest such k
    # with that coverage, at least k = 1 ([min, max])
    s = sorted(xs)
    n = len(s)
    k = 1
    while k + 1 <= n // 2:
        below = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
        if 1 - 2 * below < confidence:
            break
        k += 1
    return s[k - 1], s[n - k]


def done(cpu, start):
    n = len(cpu)
    if n >= inp["max"]:
        return True
    if n < inp["min"]:
        return False
    if time.monotonic() - start > inp["budget"]:
        return True
    tol = inp.get("tolerance")
    if tol is None or n < 3 or time.monotonic() - start < inp.get("toleranceAfter", 0):
        return False
    lo, hi = median_ci(cpu, inp.get("confidence", 0.8))
    return hi - lo <= tol * median(cpu)


cycle = inp["cycle"]
out = {"cpu": [], "wall": [], "which": []}
start = time.monotonic()
k = 0
while not done(out["cpu"], start):
    for i in inp.get("untimed", []):
        run(i)
    which = k % len(cycle)
    cpu = wall = 0.0
    for i in cycle[which]:
        c, w = run(i)
        cpu += c
        wall += w
    out["cpu"].append(cpu)
    out["wall"].append(wall)
    out["which"].append(which)
    k += 1
if inp.get("finish"):
    while k % len(cycle) != 0:
        for i in cycle[k % len(cycle)]:
            run(i)
        k += 1
print(json.dumps(out))
