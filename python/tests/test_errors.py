# python/tests/test_errors.py - bad arguments of every kind give exceptions, never a crash:
# a table of calls with the exception each must raise, then random calls in a child process
# that must survive them all.
#
# SPDX-License-Identifier: MIT
import errno
import math
import pickle
import tempfile

import pytest

import memview
from helpers import Child

S, C = memview.Segment, memview.Channel


@pytest.fixture
def seg(segname):
    s = S.create(segname(), 4096)
    yield s
    s.close()


@pytest.fixture
def chan(channame):
    c = C.create(channame(), slots=2, slot_size=64)
    yield c
    c.close()


BAD_SEGMENT_CALLS = [
    (lambda n: S.create(1, 10), TypeError),
    (lambda n: S.create(n, "10"), TypeError),
    (lambda n: S.create(n, 1.5), TypeError),
    (lambda n: S.create(n, -1), ValueError),
    (lambda n: S.create(n, 2**70), OverflowError),
    (lambda n: S.create(n, 1 << 62), (OverflowError, ValueError, OSError)),
    (lambda n: S.create("no-slash", 10), ValueError),
    (lambda n: S.create("/a/b", 10), ValueError),
    (lambda n: S.create("/" + "x" * 300, 10), ValueError),
    (lambda n: S.create(n + "\0x", 10), ValueError),
    (lambda n: S.create(None, 10), TypeError),
    (lambda n: S.create(n, 10, format="zz"), ValueError),
    (lambda n: S.create(n, 10, format="\0"), ValueError),
    (lambda n: S.create(n, 10, format=None), TypeError),
    (lambda n: S.create(n, 10, format="d"), ValueError),  # not a multiple of 8
    (lambda n: S.create(n, 10, format="x" * 100), ValueError),
    (lambda n: S.create(n, 16, shape="ab"), TypeError),
    (lambda n: S.create(n, 16, shape=5), TypeError),
    (lambda n: S.create(n, 16, shape=(1.5,)), TypeError),
    (lambda n: S.create(n, 16, shape=(-1,)), ValueError),
    (lambda n: S.create(n, 16, shape=(2**70,)), OverflowError),
    (lambda n: S.create(n, 16, shape=(100,)), ValueError),
    (lambda n: S.create(n, 16, shape=(1,) * 65), ValueError),
    (lambda n: S.create(n, 16, shape=(2**40, 2**40, 0)), (OverflowError, ValueError)),
    (lambda n: S.create(n, 16, mode=-1), ValueError),
    (lambda n: S.create(n, 16, memfd=True, seals=99), ValueError),
    (lambda n: S.create(n, 16, seals=-1), ValueError),
    (lambda n: S.create(n, 16, bogus=1), TypeError),
    (lambda n: S.create(), TypeError),
    (lambda n: S.open(n), FileNotFoundError),
    (lambda n: S.open(b"/x"), TypeError),
    (lambda n: S.open(n, format=5), TypeError),
    (lambda n: S.open("/dev/../etc/passwd"), ValueError),
    (lambda n: S.from_fd(-1), ValueError),
    (lambda n: S.from_fd("x"), TypeError),
    (lambda n: S.from_fd(10**6), OSError),
    (lambda n: S.unlink(n), FileNotFoundError),
    (lambda n: S.unlink(3), TypeError),
    (lambda n: S(), TypeError),
]


@pytest.mark.parametrize("call,exc", BAD_SEGMENT_CALLS)
def test_bad_segment_calls(segname, call, exc):
    with pytest.raises(exc):
        call(segname())


def test_from_fd_of_a_regular_file():
    with tempfile.TemporaryFile() as f:
        f.write(b"x" * 8192)
        f.flush()
        with pytest.raises((ValueError, PermissionError, OSError)):
            S.from_fd(f)


def test_bad_segment_methods(seg):
    for call, exc in [
        (lambda: seg.resize(-1), ValueError),
        (lambda: seg.resize("x"), TypeError),
        (lambda: seg.resize(2**70), OverflowError),
        (lambda: seg.resize(1 << 62), (ValueError, OSError, MemoryError)),
        (lambda: seg.seal(memview.SEAL_GROW), PermissionError),  # named: cannot seal
        (lambda: seg.seal(-1), ValueError),
        (lambda: seg.seal(2**40), OverflowError),
        (lambda: seg.seal("x"), TypeError),
        (lambda: seg.info(1), TypeError),
        (lambda: pickle.dumps(seg), TypeError),
        (lambda: memoryview(seg).cast("d", (3,)), TypeError),
    ]:
        with pytest.raises(exc):
            call()
    assert seg.nbytes == 4096  # nothing changed


def test_bad_channel_calls(channame, chan):
    n = channame()
    for call, exc in [
        (lambda: C.create(n, slots=0), ValueError),
        (lambda: C.create(n, slots=-1), ValueError),
        (lambda: C.create(n, slots=2**40), OverflowError),
        (lambda: C.create(n, slots=1 << 20), ValueError),
        (lambda: C.create(n, slot_size=-1), ValueError),
        (lambda: C.create(n, slot_size=0), ValueError),
        (lambda: C.create(n, slot_size=2**62), (ValueError, OverflowError, MemoryError, OSError)),
        (lambda: C.create(n, format="q!"), ValueError),
        (lambda: C.create(n, slot_size=64, format="q", shape=(100,)), ValueError),
        (lambda: C.create(n, shape=[None]), TypeError),
        (lambda: C.create(n, mode=-5), ValueError),
        (lambda: C.create("x", slots=2), ValueError),
        (lambda: C.create("/" + "x" * 200), ValueError),
        (lambda: C.create(None), TypeError),
        (lambda: C.join(n, timeout=-1), ValueError),
        (lambda: C.join(n, timeout=math.nan), ValueError),
        (lambda: C.join(n, timeout="1"), TypeError),
        (lambda: C.join(n, timeout=1e300), OverflowError),
        (lambda: C.join(n, timeout=0), FileNotFoundError),
        (lambda: chan.recv(), ValueError),  # the producer does not receive
        (lambda: chan.loan(timeout=-0.5), ValueError),
        (lambda: chan.send(b"x"), TypeError),
        (lambda: chan.send(None), TypeError),
        (lambda: chan.wait_consumers(-1), ValueError),
        (lambda: chan.wait_consumers(1, timeout=math.inf), OverflowError),
        (lambda: chan.stats(1), TypeError),
        (lambda: C(), TypeError),
        (lambda: memview.Loan(), TypeError),
        (lambda: memview.Message(), TypeError),
        (lambda: pickle.dumps(chan), TypeError),
    ]:
        with pytest.raises(exc):
            call()


def test_bad_sends(channame, chan):
    other = C.create(channame(), slots=1, slot_size=64)
    loan = other.loan()
    with pytest.raises(ValueError, match="another channel"):
        chan.send(loan)
    with pytest.raises(ValueError, match="larger than a slot"):
        other.send(loan, nbytes=65)
    with pytest.raises(ValueError):
        other.send(loan, nbytes=-1)
    with pytest.raises(TypeError):
        other.send(loan, nbytes="1")
    other.send(loan, nbytes=64)
    other.close()


def test_errno_mapping(segname):
    name = segname()
    S.create(name, 16).close()
    with pytest.raises(FileExistsError) as e:
        S.create(name, 16)
    assert e.value.errno == errno.EEXIST and name in str(e.value)
    with open("/dev/shm" + name, "r+b") as f:  # spoil the header's magic
        f.write(b"XX")
    with pytest.raises(OSError) as e:
        S.open(name)
    assert e.value.errno in (errno.EBADMSG, errno.EINVAL)


RANDOM_CALLS = r"""
import os, random, sys, memview
rnd = random.Random(int(sys.argv[1]))
S, C = memview.Segment, memview.Channel
name = "/mvpy-rnd-%d-%d" % (os.getpid(), rnd.randrange(1 << 30))
values = [None, 0, 1, -1, 7, 4096, 2**31, 2**63, -2**63, 2**70, 1.5, float("nan"), float("inf"),
          "", "/", "B", "d", "zz", name, "\0", b"/x", (),
          (1,), (2, 2), [-1], (0, 2**62), object(), True]
objs = []
def pick():
    return rnd.choice(values + objs)
calls = [S.create, S.open, S.from_fd, S.unlink, C.create, C.join]
for i in range(3000):
    target = rnd.choice(calls + [getattr(o, m) for o in objs for m in
                                 ("resize", "info", "holders", "close", "loan", "send",
                                  "recv", "stats", "wait_consumers", "release", "seal",
                                  "remap", "fileno") if hasattr(o, m)])
    args = [pick() for _ in range(rnd.randrange(4))]
    kw = {}
    if rnd.random() < 0.3:
        kw[rnd.choice(["timeout", "format", "shape", "size", "slots", "slot_size",
                       "readonly", "raw", "memfd", "nbytes", "force"])] = pick()
    if getattr(target, "__name__", "") in ("join", "loan", "recv", "wait_consumers"):
        # Bounded waits only (a join in the producer's own thread would wait forever).
        args = args[:1] if target.__name__ in ("join", "wait_consumers") else []
        if not isinstance(kw.get("timeout"), (str, bytes)):
            kw = {"timeout": rnd.choice([0, 0.001])}
    try:
        r = target(*args, **kw)
        if isinstance(r, (S, C, memview.Loan, memview.Message)):
            objs.append(r)
            if isinstance(r, S) and not r.closed:
                objs.append(memoryview(r))
    except (Exception, KeyboardInterrupt):
        pass
    if len(objs) > 12:
        objs.pop(rnd.randrange(len(objs)))
try:
    S.unlink(name, force=True)
except OSError:
    pass
print("survived", flush=True)
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_calls_never_crash(seed):
    kid = Child(RANDOM_CALLS, seed)
    try:
        assert kid.expect("survived") == "survived"
        kid.finish(timeout=60)
    finally:
        kid.close()
