"""bench/bench_views.py - the CPython 3.13 memoryview and numpy sides of bench/bench_views.

bench_views runs this script with the interpreter given by --python, pinned to the same CPU,
on the data file it wrote (2^20 doubles, 8 MiB), and reads its standard output:

    version <sys.version>
    result <name> <iterations per repetition> <repetitions> <median ns/op> <min ns/op>
    check <name> <length> <zlib.crc32>

With --numpy (run by an interpreter that has numpy: bench_views --numpy PATH, by default
/usr/bin/python3) the same names time numpy doing the same work on the same bytes:
np.ascontiguousarray(a[::2]), np.array_equal on uint8 and on float64 arrays, and a.tobytes().
Without numpy the script exits with status 3.

The repetition scheme is the C side's: each operation is calibrated to an iteration count that
takes at least --min-ns, then all operations are repeated round-robin --reps times, each timed
repetition of more than one iteration preceded by one untimed call; the garbage collector is off
while timing (as in timeit). Without --data the data is generated with the same
splitmix64 generator bench_views.c uses, so the script can also be run alone.

SPDX-License-Identifier: MIT
"""
import argparse
import gc
import statistics
import sys
import time
import zlib

MASK = (1 << 64) - 1
N_DOUBLES = 1 << 20
HEX_BYTES = 1 << 20


def generate():
    """bench_views.c's data: splitmix64 >> 11 scaled to [0, 1), as native doubles."""
    import array

    state = 0x6D656D76696577
    out = array.array('d', bytes(8 * N_DOUBLES))
    for i in range(N_DOUBLES):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out[i] = (z >> 11) * 2.0 ** -53
    return out.tobytes()


def numpy_operations(data):
    """numpy's way of doing the timed operations, under the same names."""
    import numpy as np

    a = np.frombuffer(data, dtype=np.uint8)
    b = np.frombuffer(bytes(bytearray(data)), dtype=np.uint8)  # equal, different memory
    ad = a.view(np.float64)
    bd = b.view(np.float64)
    assert np.array_equal(a, b) and np.array_equal(ad, bd) and not np.shares_memory(a, b)

    def tobytes_contig(n):
        for _ in range(n):
            a.tobytes()

    def tobytes_stride2(n):
        for _ in range(n):
            np.ascontiguousarray(a[::2])

    def equal_b(n):
        for _ in range(n):
            np.array_equal(a, b)

    def equal_d(n):
        for _ in range(n):
            np.array_equal(ad, bd)

    ops = {
        'tobytes_contig': tobytes_contig,
        'tobytes_stride2': tobytes_stride2,
        'equal_B': equal_b,
        'equal_d': equal_d,
    }
    checks = {
        'tobytes_stride2': np.ascontiguousarray(a[::2]).tobytes(),
    }
    return ops, checks


def operations(data):
    """The timed operations: name -> function running the operation n times."""
    a = memoryview(data)
    b = memoryview(bytes(bytearray(data)))  # equal contents, different memory
    ad = a.cast('d')
    bd = b.cast('d')
    a2 = a[::2]
    h = a[:HEX_BYTES]
    assert a == b and ad == bd and a.obj is not b.obj

    def derive(n):
        m = a
        for _ in range(n):
            c = m.cast('B')
            s = c[1:-1]
            s.release()
            c.release()

    def tobytes_contig(n):
        for _ in range(n):
            a.tobytes()

    def tobytes_stride2(n):
        for _ in range(n):
            a2.tobytes()

    def equal_b(n):
        for _ in range(n):
            a == b

    def equal_d(n):
        for _ in range(n):
            ad == bd

    def hex_1m(n):
        for _ in range(n):
            h.hex()

    def tolist_text(n):
        for _ in range(n):
            repr(ad.tolist())

    ops = {
        'derive': derive,
        'tobytes_contig': tobytes_contig,
        'tobytes_stride2': tobytes_stride2,
        'equal_B': equal_b,
        'equal_d': equal_d,
        'hex_1m': hex_1m,
        'tolist_text': tolist_text,
    }
    checks = {
        'hex_1m': h.hex().encode(),
        'tolist_text': repr(ad.tolist()).encode(),
        'tobytes_stride2': a2.tobytes(),
    }
    return ops, checks


clock = time.perf_counter_ns


def calibrate(fn, min_ns):
    """Iterations of fn that take at least min_ns; the first call also warms up."""
    iters = 1
    first = True
    while True:
        t0 = clock()
        fn(iters)
        t = clock() - t0
        if t >= min_ns and (not first or t >= 4 * min_ns):
            return iters
        if first:
            first = False
            continue
        scale = 1.2 * min_ns / t if t else 100.0
        iters = int(iters * min(100.0, max(2.0, scale))) + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', help='the 8 MiB data file bench_views wrote')
    ap.add_argument('--reps', type=int, default=21)
    ap.add_argument('--min-ns', type=int, default=20_000_000)
    ap.add_argument('--only', action='append', help='time only this operation')
    ap.add_argument('--clock', choices=('perf_counter', 'thread'), default='perf_counter',
                    help='time.perf_counter_ns (default) or time.thread_time_ns')
    ap.add_argument('--numpy', action='store_true',
                    help='time numpy instead of memoryview (exit status 3 without numpy)')
    args = ap.parse_args()

    if args.numpy:
        try:
            import numpy
        except ImportError:
            print('bench_views.py: this interpreter has no numpy', file=sys.stderr)
            sys.exit(3)

    if args.data:
        with open(args.data, 'rb') as f:
            data = f.read()
    else:
        data = generate()
    if len(data) != 8 * N_DOUBLES:
        sys.exit(f'bench_views.py: data is {len(data)} bytes, not {8 * N_DOUBLES}')

    if args.numpy:
        print('version', 'numpy', numpy.__version__, 'on Python',
              sys.version.replace('\n', ' '), flush=True)
        ops, checks = numpy_operations(data)
    else:
        print('version', sys.version.replace('\n', ' '), flush=True)
        ops, checks = operations(data)
    for name, out in checks.items():
        print('check', name, len(out), zlib.crc32(out), flush=True)
    if args.only:
        ops = {k: v for k, v in ops.items() if k in args.only}

    global clock
    if args.clock == 'thread':
        clock = time.thread_time_ns
    gc.collect()
    gc.disable()
    try:
        iters = {name: calibrate(fn, args.min_ns) for name, fn in ops.items()}
        samples = {name: [] for name in ops}
        for _ in range(args.reps):
            for name, fn in ops.items():
                n = iters[name]
                if n > 1:
                    fn(1)  # untimed: the operation's own data in the caches, as in C
                t0 = clock()
                fn(n)
                samples[name].append((clock() - t0) / n)
    finally:
        gc.enable()

    for name, s in samples.items():
        print('result', name, iters[name], len(s), f'{statistics.median(s):.3f}',
              f'{min(s):.3f}', flush=True)


if __name__ == '__main__':
    main()
