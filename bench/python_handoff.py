#!/usr/bin/env python3
# bench/python_handoff.py - the Python handoff benchmark (issue 14): one-way latency of handing
# a numpy array of 64 B and of 1 MiB from one Python process to another, through a memview
# channel, a multiprocessing.Queue, and multiprocessing.shared_memory with a Pipe notification,
# in one run; with the C channel's figures from "mvbench handoff" in the same run, for the
# target "within 2 us of C".
#
#     make bench-python        (or: python/run.sh python3 bench/python_handoff.py [options])
#
# Method: two processes pinned to two CPUs play ping-pong: A hands B an array of SIZE bytes, B
# hands one back; one-way = round trip / 2, timed in A with perf_counter_ns, for at most
# --time seconds or --iterations round trips per row, after a warm-up; p50 and p99 reported.
# Each direction hands a fresh array the way each mechanism is used:
#   memview spin     the array is built in a loaned slot (numpy.asarray(loan), one item
#                    written) and sent; the receiver gets numpy.asarray(msg), reads an item and
#                    releases it. Zero-copy both ways; the channel spins (spin=True).
#   memview sleep    the same on a sleeping channel (a futex wake-up per message).
#   memview copy-in  spin, but an existing array is copied into the loan (numpy.copyto).
#   shm + Pipe       an existing array is copied into a SharedMemory block (one block per
#                    direction), the receiver is told through a multiprocessing Pipe and wraps
#                    the block with numpy.ndarray(buffer=...) - zero-copy on the receiving side.
#   Queue            multiprocessing.Queue.put(array) / get(): pickled through a pipe.
# C rows: "mvbench handoff --quick --methods spin,sleep --sizes 64,1M --payload untouched",
# run first, its one-way p50 from its JSON. --parts instead times, in one process, what a
# message costs the interpreter (the calls, numpy.asarray) without the cross-core handoff.
#
# SPDX-License-Identifier: MIT
import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import shared_memory

import numpy as np

import memview

SIZES = {"64": 64, "1M": 1 << 20}


def pin(cpu):
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        pass


# ---------------------------------------------------------------------------- memview


def mv_open(role, names, size, spin, ready):
    """Each side produces on its own channel and consumes the other's (see mv_pair)."""
    mine, theirs = (names[0], names[1]) if role == "a" else (names[1], names[0])
    out = memview.Channel.create(mine, slots=4, slot_size=size, format="B", spin=spin)
    if role == "a":
        ready.set()
        out.wait_consumers(1, timeout=30)  # admits B's join
        inp = memview.Channel.join(theirs, timeout=30)  # B admits us in its wait_consumers
    else:
        ready.wait(30)
        inp = memview.Channel.join(theirs, timeout=30)
        out.wait_consumers(1, timeout=30)
    return out, inp


def mv_hand(out, v, src):
    loan = out.loan()
    a = np.asarray(loan)
    if src is None:
        a[0] = v  # the array is made in the slot: one item written
    else:
        np.copyto(a, src)
        a[0] = v
    del a
    out.send(loan)


def mv_take(inp):
    msg = inp.recv()
    a = np.asarray(msg)
    v = int(a[0])
    del a
    msg.release()
    return v


def mv_side_b(names, size, spin, copy, n, ready, cpu):
    pin(cpu)
    out, inp = mv_open("b", names, size, spin, ready)
    src = np.ones(size, dtype=np.uint8) if copy else None
    for _ in range(n):
        mv_hand(out, mv_take(inp), src)
    mv_take(inp)  # A's last word: it has received everything
    out.close()
    inp.close()


def run_memview(size, n, cpus, spin=True, copy=False):
    tag = "%d-%d" % (os.getpid(), time.monotonic_ns() % 1000000)
    names = ("/pyhandoff-a-" + tag, "/pyhandoff-b-" + tag)
    ctx = mp.get_context("fork")  # before any channel exists in this process
    ready = ctx.Event()
    b = ctx.Process(target=mv_side_b, args=(names, size, spin, copy, n, ready, cpus[1]))
    b.start()
    out, inp = mv_open("a", names, size, spin, ready)
    src = np.ones(size, dtype=np.uint8) if copy else None
    samples = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        mv_hand(out, i & 127, src)
        got = mv_take(inp)
        samples.append(time.perf_counter_ns() - t0)
        assert got == i & 127
    mv_hand(out, 0, src)
    b.join(30)
    inp.close()
    out.close()
    return samples


# ---------------------------------------------------------------------------- shm + Pipe


def shm_side_b(names, size, n, conn, cpu):
    pin(cpu)
    blocks = [shared_memory.SharedMemory(name=x) for x in names]
    ab = np.ndarray((size,), np.uint8, buffer=blocks[0].buf)
    ba = np.ndarray((size,), np.uint8, buffer=blocks[1].buf)
    src = np.ones(size, dtype=np.uint8)
    for _ in range(n):
        conn.recv_bytes()
        v = int(ab[0])  # the array A handed, where it lies
        np.copyto(ba, src)
        ba[0] = v
        conn.send_bytes(b"!")
    del ab, ba
    for blk in blocks:
        blk.close()


def run_shm_pipe(size, n, cpus):
    blocks = [shared_memory.SharedMemory(create=True, size=size) for _ in range(2)]
    ctx = mp.get_context("fork")
    here, there = ctx.Pipe()
    b = ctx.Process(target=shm_side_b, args=([x.name for x in blocks], size, n, there,
                                             cpus[1]))
    b.start()
    ab = np.ndarray((size,), np.uint8, buffer=blocks[0].buf)
    ba = np.ndarray((size,), np.uint8, buffer=blocks[1].buf)
    src = np.ones(size, dtype=np.uint8)
    samples = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        np.copyto(ab, src)
        ab[0] = i & 127
        here.send_bytes(b"!")
        here.recv_bytes()
        got = int(ba[0])
        samples.append(time.perf_counter_ns() - t0)
        assert got == i & 127
    b.join(30)
    del ab, ba
    for blk in blocks:
        blk.close()
        blk.unlink()
    return samples


# ---------------------------------------------------------------------------- Queue


def queue_side_b(qs, n, cpu):
    pin(cpu)
    for _ in range(n):
        qs[1].put(qs[0].get())


def run_queue(size, n, cpus):
    ctx = mp.get_context("fork")
    qs = (ctx.Queue(), ctx.Queue())
    b = ctx.Process(target=queue_side_b, args=(qs, n, cpus[1]))
    b.start()
    src = np.ones(size, dtype=np.uint8)
    samples = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        src[0] = i & 127
        qs[0].put(src)
        got = qs[1].get()
        samples.append(time.perf_counter_ns() - t0)
        assert got[0] == i & 127
    b.join(30)
    return samples


# ---------------------------------------------------------------------------- parts


def parts(n=200000):
    """Where a message's Python time goes, in one process (no cross-core latency): ns each."""
    import threading

    name = "/pyhandoff-parts-%d" % os.getpid()
    prod = memview.Channel.create(name, slots=4, slot_size=64, spin=True)
    t = threading.Thread(target=prod.wait_consumers, args=(1, 10))
    t.start()
    cons = memview.Channel.join(name, timeout=10)
    t.join()

    def whole():
        loan = prod.loan()
        a = np.asarray(loan)
        a[0] = 1
        del a
        prod.send(loan)
        msg = cons.recv()
        a = np.asarray(msg)
        int(a[0])
        del a
        msg.release()

    def calls():
        prod.send(prod.loan())
        cons.recv().release()

    held = []

    def asarray():
        if not held:
            held.append(prod.loan())
        np.asarray(held[0])

    out = {}
    for label, fn in (("loan+asarray+send+recv+asarray+release", whole),
                      ("loan+send+recv+release", calls), ("numpy.asarray(loan)", asarray)):
        best = None
        for _ in range(3):
            t0 = time.perf_counter_ns()
            for _ in range(n):
                fn()
            per = (time.perf_counter_ns() - t0) / n
            best = per if best is None else min(best, per)
        out[label] = best
        print("%-42s %6.0f ns" % (label, best))
    held[0].release()
    cons.close()
    prod.close()
    return out


# ---------------------------------------------------------------------------- the run

METHODS = {
    "memview-spin": lambda size, n, cpus: run_memview(size, n, cpus, spin=True),
    "memview-sleep": lambda size, n, cpus: run_memview(size, n, cpus, spin=False),
    "memview-copyin": lambda size, n, cpus: run_memview(size, n, cpus, spin=True, copy=True),
    "shm-pipe": run_shm_pipe,
    "queue": run_queue,
}


def calibrate(fn, size, budget, cap, cpus):
    """Round trips that fit in the budget: a short trial run first, then the real one."""
    trial = fn(size, 50, cpus)
    per = max(statistics.median(trial), 1)
    return max(50, min(cap, int(budget * 1e9 / per)))


def percentile(sorted_ns, q):
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))]


def c_rows(mvbench, cpus):
    """The C channel's one-way p50 from mvbench handoff --quick, in ns, by (method, size)."""
    if not mvbench or not os.access(mvbench, os.X_OK):
        return {}, None
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "c.json")
        cmd = [mvbench, "handoff", "--quick", "--methods", "spin,sleep", "--sizes", "64,1M",
               "--payload", "untouched", "--cpus", "%d,%d" % tuple(cpus), "--quiet",
               "--json", out]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            data = json.load(f)
    rows = {(r["method"], r["size"]): r["one_way_ns"]["p50"] for r in data["results"]}
    return rows, " ".join(cmd[:-2])


def fmt(ns):
    if ns >= 1e6:
        return "%.2f ms" % (ns / 1e6)
    if ns >= 1e3:
        return "%.2f us" % (ns / 1e3)
    return "%.0f ns" % ns


def main():
    ap = argparse.ArgumentParser(description="memview channel vs multiprocessing, one-way")
    ap.add_argument("--mvbench", help="mvbench to run for the C channel's rows")
    ap.add_argument("--cpus", default="0,1", help="CPUs of the two processes (default 0,1)")
    ap.add_argument("--sizes", default="64,1M", help="64 and/or 1M (default both)")
    ap.add_argument("--methods", default=",".join(METHODS), help="default: all")
    ap.add_argument("--time", type=float, default=0.5, help="seconds per row (default 0.5)")
    ap.add_argument("--iterations", type=int, default=20000, help="most round trips a row")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--parts", action="store_true",
                    help="only time the Python side of a message in one process")
    args = ap.parse_args()
    if args.parts:
        parts()
        return
    cpus = [int(c) for c in args.cpus.split(",")]
    sizes = [SIZES[s] for s in args.sizes.split(",")]
    methods = args.methods.split(",")
    c_p50, c_cmd = c_rows(args.mvbench, cpus)  # before pinning: mvbench pins its own two
    pin(cpus[0])
    results = {}
    for size in sizes:
        for m in methods:
            fn = METHODS[m]
            n = calibrate(fn, size, args.time, args.iterations, cpus)
            rt = sorted(fn(size, n, cpus)[n // 10:])  # the first tenth warms up
            one = [x / 2 for x in rt]
            results[(m, size)] = {"n": len(one), "p50": percentile(one, 0.5),
                                  "p99": percentile(one, 0.99)}
            print("  %-15s %8d B  n %6d  one-way p50 %10s  p99 %10s" % (
                m, size, len(one), fmt(results[(m, size)]["p50"]),
                fmt(results[(m, size)]["p99"])), file=sys.stderr, flush=True)

    print("python handoff: Python %s, numpy %s, memview %s; CPUs %s; load %.2f" % (
        sys.version.split()[0], np.__version__, memview.__version__, args.cpus,
        os.getloadavg()[0]))
    if c_cmd:
        print("C rows: " + c_cmd)
    print()
    print("%-16s %9s %12s %12s %16s %16s" % ("method", "size", "p50 one-way", "p99",
                                             "x shm-pipe p50", "- C spin p50"))
    for size in sizes:
        for m in methods:
            r = results[(m, size)]
            shm = results.get(("shm-pipe", size))
            c = c_p50.get(("spin", size))
            print("%-16s %9s %12s %12s %16s %16s" % (
                m, size, fmt(r["p50"]), fmt(r["p99"]),
                "%.1fx" % (shm["p50"] / r["p50"]) if shm else "-",
                fmt(r["p50"] - c) if c and m.startswith("memview") else "-"))
        for cm in ("spin", "sleep"):
            if (cm, size) in c_p50:
                print("%-16s %9s %12s" % ("C " + cm, size, fmt(c_p50[(cm, size)])))
    print()
    print("Targets:")
    for size in sizes:
        mv, shm, c = (results.get(("memview-spin", size)), results.get(("shm-pipe", size)),
                      c_p50.get(("spin", size)))
        if mv and shm and size == 1 << 20:
            ratio = shm["p50"] / mv["p50"]
            print("  %-6s memview >= 20x faster than SharedMemory + Pipe at 1 MiB: %.1fx" % (
                "met" if ratio >= 20 else "missed", ratio))
        if mv and c:
            d = mv["p50"] - c
            print("  %-6s memview within 2 us of the C channel at %d B: +%s (%s vs %s)" % (
                "met" if d <= 2000 else "missed", size, fmt(d), fmt(mv["p50"]), fmt(c)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": sys.version, "c_p50_ns": {"%s/%d" % k: v
                                                           for k, v in c_p50.items()},
                       "results": {"%s/%d" % k: v for k, v in results.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
