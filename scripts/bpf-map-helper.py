"""Times BPF hash-map element operations through the bpf(2) syscall, for scripts/bpf-map-cost.ts.

A tiny helper with no native build: Python's ctypes calls syscall(SYS_bpf, ...) directly, so no process start and
no command parsing is included (unlike bpftool). Prints one JSON object. Arguments: JSON on argv[1]:
  {"pin": "/sys/fs/bpf/kpb-...", "sizes": [1000, ...], "k": 2000, "rounds": 3, "maglev_m": [251, 16381, 131071]}
The map at `pin` must be an empty hash map with 12-byte keys and values (created by bpftool, BPF_F_NO_PREALLOC as
Cilium's LB maps). The helper fills it up to each size, times the operations at that size, and leaves it full;
the caller deletes the pin.
"""
import ctypes, json, os, struct, sys, time

SYS_BPF = 321  # x86_64
BPF_MAP_CREATE, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM, BPF_OBJ_GET = 0, 2, 3, 7
BPF_MAP_UPDATE_BATCH, BPF_MAP_DELETE_BATCH = 26, 27
BPF_MAP_TYPE_ARRAY = 2

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
ATTR = ctypes.create_string_buffer(128)
ATTR_P = ctypes.addressof(ATTR)


def bpf(cmd, fields):
    ctypes.memset(ATTR, 0, 128)
    struct.pack_into(fields[0], ATTR, 0, *fields[1:])
    r = libc.syscall(SYS_BPF, cmd, ATTR, 128)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    return bpf(BPF_OBJ_GET, ("=QII", ctypes.addressof(p), 0, 0))


def key_bytes(i):
    # Service4Key-like: address 10.96.x.y, port 80, slot i>>16, proto 6
    return struct.pack(">IH", 0x0A600000 + (i & 0xFFFF), 80) + struct.pack("<H", i >> 16) + bytes([6, 0, 0, 0])


VAL = ctypes.create_string_buffer(struct.pack("<IHHBBH", 7, 0, 0x100, 0x40, 0, 0), 12)
VAL_P = ctypes.addressof(VAL)


def keys_buf(lo, hi):
    return ctypes.create_string_buffer(b"".join(key_bytes(i) for i in range(lo, hi)), 12 * (hi - lo))


def attrs_for(cmd_fmt, fd, buf, n, with_value):
    """Pre-built bpf_attr buffers, one per element, so the timed loop is only the syscall itself."""
    base = ctypes.addressof(buf)
    out = []
    for j in range(n):
        a = ctypes.create_string_buffer(128)
        if with_value:
            struct.pack_into("=IIQQQ", a, 0, fd, 0, base + 12 * j, VAL_P, 0)
        else:
            struct.pack_into("=IIQQ", a, 0, fd, 0, base + 12 * j, 0)
        out.append(a)
    return out


def run_each(cmd, attrs):
    sc = libc.syscall
    for a in attrs:
        if sc(SYS_BPF, cmd, a, 128) < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))


def update_batch(fd, buf, n, vals):
    # struct { u64 in_batch, out_batch, keys, values; u32 count, map_fd; u64 elem_flags, flags; }
    bpf(BPF_MAP_UPDATE_BATCH, ("=QQQQIIQQ", 0, 0, ctypes.addressof(buf), ctypes.addressof(vals), n, fd, 0, 0))


def delete_batch(fd, buf, n):
    bpf(BPF_MAP_DELETE_BATCH, ("=QQQQIIQQ", 0, 0, ctypes.addressof(buf), 0, n, fd, 0, 0))


def getppid_each(n):
    sc = libc.syscall
    for _ in range(n):
        sc(110)  # getppid: the cost of a ctypes syscall with no kernel work


def per_op(fn, n):
    t0 = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t0) / n / 1e9


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


def main():
    cfg = json.loads(sys.argv[1])
    fd = obj_get(cfg["pin"])
    k, rounds = cfg["k"], cfg["rounds"]
    out = {"k": k, "rounds": rounds, "sizes": []}
    out["ctypes_syscall_s"] = median([per_op(lambda: getppid_each(k), k) for _ in range(rounds)])
    filled = 0
    big = 1 << 22  # fresh keys for insert/delete live far above the fill range
    for size in cfg["sizes"]:
        if size > filled:
            buf = keys_buf(filled, size)
            vals = ctypes.create_string_buffer(bytes(VAL.raw) * (size - filled), 12 * (size - filled))
            update_batch(fd, buf, size - filled, vals)
            filled = size
        existing = keys_buf(0, min(k, size))
        fresh = keys_buf(big, big + k)
        vals = ctypes.create_string_buffer(bytes(VAL.raw) * k, 12 * k)
        r = {"size": size, "update_existing": [], "insert": [], "delete": [], "insert_batch": [], "delete_batch": []}
        n = min(k, size)
        upd_existing = attrs_for("u", fd, existing, n, True)
        ins = attrs_for("u", fd, fresh, k, True)
        dele = attrs_for("d", fd, fresh, k, False)
        for _ in range(rounds):
            r["update_existing"].append(per_op(lambda: run_each(BPF_MAP_UPDATE_ELEM, upd_existing), n))
            r["insert"].append(per_op(lambda: run_each(BPF_MAP_UPDATE_ELEM, ins), k))
            r["delete"].append(per_op(lambda: run_each(BPF_MAP_DELETE_ELEM, dele), k))
            r["insert_batch"].append(per_op(lambda: update_batch(fd, fresh, k, vals), k))
            r["delete_batch"].append(per_op(lambda: delete_batch(fd, fresh, k), k))
        out["sizes"].append({key: (median(v) if isinstance(v, list) else v) for key, v in r.items()})
    # Maglev: Cilium writes each table into a new inner array map (one element of M x u32), then points the outer
    # map at it. Time: create the inner map, write its element, close it.
    out["maglev"] = []
    for m in cfg["maglev_m"]:
        table = ctypes.create_string_buffer(4 * m)
        zero = ctypes.create_string_buffer(4)

        def maglev_once():
            ifd = bpf(BPF_MAP_CREATE, ("=IIIII", BPF_MAP_TYPE_ARRAY, 4, 4 * m, 1, 0))
            bpf(BPF_MAP_UPDATE_ELEM, ("=IIQQQ", ifd, 0, ctypes.addressof(zero), ctypes.addressof(table), 0))
            os.close(ifd)

        reps = 50
        out["maglev"].append({"m": m, "table_write_s": median([per_op(lambda: [maglev_once() for _ in range(reps)], reps) for _ in range(rounds)])})
    os.close(fd)
    out["lookup"] = lookup_costs(cfg["sizes"], rounds)
    print(json.dumps(out))


# --- datapath lookups: BPF_PROG_TEST_RUN of a hand-assembled XDP program doing 64 bpf_map_lookup_elem() calls ----
BPF_PROG_LOAD, BPF_PROG_TEST_RUN, BPF_MAP_TYPE_HASH, BPF_PROG_TYPE_XDP = 5, 10, 1, 6


def insn(op, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)


def lookup_prog(map_fd, nlookups, key):
    """Stores the 12-byte key on the stack, then nlookups x (r1 = map; r2 = fp - 16; call map_lookup_elem); XDP_PASS."""
    k = struct.unpack("<3i", key)
    p = insn(0x62, 10, 0, -16, k[0]) + insn(0x62, 10, 0, -12, k[1]) + insn(0x62, 10, 0, -8, k[2])
    for _ in range(nlookups):
        p += insn(0x18, 1, 1, 0, map_fd) + insn(0) + insn(0xBF, 2, 10) + insn(0x07, 2, 0, 0, -16) + insn(0x85, 0, 0, 0, 1)
    p += insn(0xB7, 0, 0, 0, 2) + insn(0x95)
    code = ctypes.create_string_buffer(p, len(p))
    lic = ctypes.create_string_buffer(b"GPL")
    a = ctypes.create_string_buffer(128)
    struct.pack_into("=IIQQ", a, 0, BPF_PROG_TYPE_XDP, len(p) // 8, ctypes.addressof(code), ctypes.addressof(lic))
    return libc_bpf(BPF_PROG_LOAD, a)


def libc_bpf(cmd, a):
    r = libc.syscall(SYS_BPF, cmd, a, 128)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def test_run_ns(prog_fd, repeat):
    data = ctypes.create_string_buffer(64)
    a = ctypes.create_string_buffer(128)
    struct.pack_into("=IIIIQQII", a, 0, prog_fd, 0, 64, 0, ctypes.addressof(data), 0, repeat, 0)
    libc_bpf(BPF_PROG_TEST_RUN, a)
    return struct.unpack_from("=I", a, 36)[0]  # average ns per run


def lookup_costs(sizes, rounds):
    out = []
    for size in sizes:
        mfd = bpf(BPF_MAP_CREATE, ("=IIIII", BPF_MAP_TYPE_HASH, 12, 12, size + 16, 1))
        buf = keys_buf(0, size)
        vals = ctypes.create_string_buffer(bytes(VAL.raw) * size, 12 * size)
        update_batch(mfd, buf, size, vals)
        hit, miss = key_bytes(size // 2), key_bytes(1 << 22)
        progs = [lookup_prog(mfd, 0, hit), lookup_prog(mfd, 64, hit), lookup_prog(mfd, 64, miss)]
        runs = [[test_run_ns(p, 200000) for p in progs] for _ in range(rounds)]
        base = median([r[0] for r in runs])
        out.append({"size": size, "prog_run_ns": base,
                    "hit_ns": (median([r[1] for r in runs]) - base) / 64,
                    "miss_ns": (median([r[2] for r in runs]) - base) / 64})
        for p in progs:
            os.close(p)
        os.close(mfd)
    return out


main()
