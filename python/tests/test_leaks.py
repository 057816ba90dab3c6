# python/tests/test_leaks.py - reference and memory leaks: each operation runs in a loop, and
# after a warm-up nothing may grow - Python's allocated blocks (sys.getallocatedblocks: objects
# and their references), the C heap (glibc's mallinfo2: the binding's and libmemview's own
# allocations), open descriptors, and reference counts (sys.gettotalrefcount too, on a debug
# build of the interpreter).
#
# SPDX-License-Identifier: MIT
import ctypes
import gc
import os
import sys

import numpy as np

import memview
from helpers import local_pair


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(f, ctypes.c_size_t) for f in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


_libc = ctypes.CDLL(None)
_mallinfo2 = getattr(_libc, "mallinfo2", None)
if _mallinfo2:
    _mallinfo2.restype = _Mallinfo2


def heap_bytes():
    return _mallinfo2().uordblks + _mallinfo2().hblkhd if _mallinfo2 else 0


def counts():
    gc.collect()
    return (sys.getallocatedblocks(), heap_bytes(), len(os.listdir("/proc/self/fd")),
            getattr(sys, "gettotalrefcount", lambda: 0)())


def check_no_growth(op, n=3000, warmup=300):
    for _ in range(warmup):
        op()
    before = counts()
    for _ in range(n):
        op()
    after = counts()
    blocks, heap, fds, refs = (a - b for a, b in zip(after, before))
    # A leak of one block, one reference or a few bytes per iteration shows as >= n.
    assert blocks < n // 10, "Python blocks grew by %d in %d iterations" % (blocks, n)
    assert heap < 16 * n, "the C heap grew by %d bytes in %d iterations" % (heap, n)
    assert fds <= 0, "%d descriptors leaked" % fds
    assert refs < n // 10, "total refcount grew by %d" % refs


def test_segment_lifecycle(segname):
    name = segname()
    shape = (8, 8)
    refs = sys.getrefcount(shape)

    def op():
        seg = memview.Segment.create(name, 512, format="d", shape=shape)
        m = memoryview(seg)
        a = np.asarray(seg)
        a[0, 0] = 1
        seg.info()
        seg.holders()
        try:
            seg.close()
        except BufferError:
            pass
        del a
        m.release()
        with memview.Segment.open(name, readonly=True) as ro:
            bytes(ro)
        seg.close()
        memview.Segment.unlink(name)

    check_no_growth(op, n=1500)
    assert sys.getrefcount(shape) == refs  # the binding keeps no reference to its arguments


def test_error_paths(segname):
    name = segname()

    def op():
        for call in (lambda: memview.Segment.open(name),
                     lambda: memview.Segment.create("bad", 1),
                     lambda: memview.Segment.create(name, 8, shape=(1,) * 70),
                     lambda: memview.Channel.join(name, timeout=0)):
            try:
                call()
            except (OSError, ValueError):
                pass

    check_no_growth(op)


def test_channel_handoff(channame):
    name = channame()
    prod, cons = local_pair(name, slots=4, slot_size=256, format="i", shape=(8, 8))

    def op():
        loan = prod.loan(timeout=5)
        np.asarray(loan)[:] = 3
        prod.send(loan)
        with cons.recv(timeout=5) as msg:
            a = np.asarray(msg)
            assert a[7, 7] == 3
            del a
        prod.loan(timeout=5)  # collected unsent: the slot goes back
        prod.stats()
        try:
            cons.recv(timeout=0)
        except BlockingIOError:
            pass

    check_no_growth(op, n=5000)
    cons.close()
    prod.close()


def test_channel_create_join_close(channame):
    name = channame()

    def op():
        prod, cons = local_pair(name, slots=2, slot_size=64)
        cons.close()
        prod.close()

    check_no_growth(op, n=300, warmup=30)
