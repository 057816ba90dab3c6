# python/tests/test_channel.py - memview.Channel end to end between processes (one and three
# consumers, content and order checked), a consumer killed holding a message, the producer
# killed, loans and messages as buffers, timeouts, and the GIL released while a call blocks.
#
# SPDX-License-Identifier: MIT
import os
import signal
import threading
import time

import numpy as np
import pytest

import memview
from helpers import local_pair

# A consumer: joins argv[1], receives until the producer is gone, checks every message is
# the next number in order (the first int64 of the slot; the rest of the slot is that number
# too), and prints how many it got.
CONSUMER = """
import sys, numpy as np, memview
ch = memview.Channel.join(sys.argv[1], timeout=10)
print("joined", flush=True)
n = 0
while True:
    try:
        msg = ch.recv(timeout=10)
    except BrokenPipeError:
        break
    with msg:
        a = np.asarray(msg)
        assert a.dtype == np.int64 and a.shape == (64,), (a.dtype, a.shape)
        assert not a.flags.writeable
        assert (a == n).all(), (n, a[:4])
        del a
    n += 1
print("received", n, ch.stats().received, flush=True)
"""

NMSG = 300


def produce(ch, n, first=0):
    for i in range(first, first + n):
        loan = ch.loan(timeout=10)
        np.asarray(loan)[:] = i
        ch.send(loan)


@pytest.mark.parametrize("nconsumers", [1, 3])
def test_end_to_end(channame, child, nconsumers):
    name = channame()
    ch = memview.Channel.create(name, slots=4, slot_size=512, format="q", shape=(64,))
    kids = [child(CONSUMER, name) for _ in range(nconsumers)]
    assert ch.wait_consumers(nconsumers, timeout=10) == nconsumers
    for k in kids:
        k.expect("joined")
    produce(ch, NMSG)
    st = ch.stats()
    assert st.sent == NMSG and st.consumers == nconsumers
    ch.close()
    for k in kids:
        assert k.expect("received") == "received %d %d" % (NMSG, NMSG)
        k.finish()


def test_consumer_killed_mid_message(channame, child):
    name = channame()
    ch = memview.Channel.create(name, slots=2, slot_size=64, format="q")
    kid = child("""
        import sys, memview
        ch = memview.Channel.join(sys.argv[1], timeout=10)
        print("joined", flush=True)
        msg = ch.recv(timeout=10)
        m = memoryview(msg)
        print("holding", m[0], flush=True)
        sys.stdin.readline()
        """, name)
    ch.wait_consumers(1, timeout=10)
    kid.expect("joined")
    produce(ch, 2)  # both slots now owed by the consumer
    assert kid.expect("holding") == "holding 0"
    with pytest.raises(TimeoutError):
        ch.loan(timeout=0.05)
    kid.kill()
    produce(ch, 10, first=2)  # the dead consumer's slots come back
    st = ch.stats()
    assert st.reclaimed == 1 and st.consumers == 0 and st.free_slots == 2
    ch.close()


def test_producer_killed(channame, child):
    name = channame()
    kid = child("""
        import os, signal, sys, numpy as np, memview
        ch = memview.Channel.create(sys.argv[1], slots=8, slot_size=64, format="q")
        print("created", flush=True)
        ch.wait_consumers(1, timeout=10)
        for i in range(5):
            loan = ch.loan(timeout=10)
            np.asarray(loan)[:] = i
            ch.send(loan)
        loan = ch.loan(timeout=10)  # a loan in progress dies with us: never seen
        np.asarray(loan)[:] = 99
        print("sent", flush=True)
        sys.stdin.readline()
        """, name)
    kid.expect("created")
    ch = memview.Channel.join(name, timeout=10)
    kid.expect("sent")
    kid.kill()
    got = []
    for _ in range(5):
        with ch.recv(timeout=10) as msg:
            got.append(int(memoryview(msg)[0]))
    assert got == [0, 1, 2, 3, 4]
    with pytest.raises(BrokenPipeError, match="producer is gone"):
        ch.recv(timeout=10)
    ch.close()


def test_loan_and_message_buffers(channame):
    """Producer and consumer in one process, on two threads (the producer admits the join)."""
    name = channame()
    prod, cons = local_pair(name, slots=2, slot_size=4 * 6, format="i", shape=(2, 3))
    assert prod.producer and not cons.producer and cons.name == name

    loan = prod.loan()
    a = np.asarray(loan)
    assert a.shape == (2, 3) and a.dtype == np.int32 and a.flags.writeable
    a[:] = [[1, 2, 3], [4, 5, 6]]
    with pytest.raises(BufferError, match="release the views"):
        prod.send(loan)  # nothing may write a sent slot: the array must go first
    del a
    prod.send(loan)
    assert loan.released
    with pytest.raises(ValueError, match="sent or released"):
        prod.send(loan)
    with pytest.raises(ValueError):
        memoryview(loan)

    msg = cons.recv(timeout=5)
    assert msg.nbytes == 24 and not msg.released
    b = np.asarray(msg)
    c = np.asarray(msg)
    assert b.__array_interface__["data"][0] == c.__array_interface__["data"][0]  # zero-copy
    assert b.tolist() == [[1, 2, 3], [4, 5, 6]] and not b.flags.writeable
    m = memoryview(msg)
    assert m.readonly and m.format == "i" and m.shape == (2, 3)
    with pytest.raises(BufferError, match="exported buffer"):
        msg.release()
    with pytest.raises(BufferError):
        with msg:
            pass
    del b, c
    m.release()
    msg.release()
    msg.release()  # idempotent
    assert msg.released

    # A short message is bytes to the consumer.
    loan = prod.loan()
    memoryview(loan).cast("B")[:2] = b"hi"
    prod.send(loan, nbytes=2)
    with cons.recv(timeout=5) as msg:
        m = memoryview(msg)
        assert (m.format, bytes(m)) == ("B", b"hi")
        m.release()

    # An unsent loan gives its slot back when released or collected.
    for _ in range(5):
        with prod.loan(timeout=1):
            pass
        prod.loan(timeout=1)
    # Several loans at once, up to every slot (2); one more could never come. Consumers see
    # the messages in the order of the sends.
    first, second = prod.loan(timeout=1), prod.loan(timeout=1)
    with pytest.raises(BufferError, match="loaned and not yet sent"):
        prod.loan()
    np.asarray(first)[:] = 1
    np.asarray(second)[:] = 2
    prod.send(second)
    prod.send(first)
    for want in (2, 1):
        with cons.recv(timeout=5) as msg:
            assert (np.asarray(msg) == want).all()

    # Closing refuses while a message is alive.
    loan = prod.loan()
    prod.send(loan)
    msg = cons.recv(timeout=5)
    with pytest.raises(BufferError, match="alive"):
        cons.close()
    del msg
    cons.close()
    prod.close()
    assert prod.closed and cons.closed
    with pytest.raises(ValueError, match="closed channel"):
        prod.loan()


def test_timeouts(channame):
    name = channame()
    prod, cons = local_pair(name, slots=1, slot_size=64)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="no message"):
        cons.recv(timeout=0.12)
    assert 0.1 <= time.monotonic() - t0 < 2
    with pytest.raises(BlockingIOError):
        cons.recv(timeout=0)
    prod.send(prod.loan())
    msg = cons.recv(timeout=0)
    with pytest.raises(BlockingIOError):
        prod.loan(timeout=0)  # the only slot is held
    with pytest.raises(TimeoutError):
        prod.loan(timeout=0.06)
    msg.release()
    prod.loan(timeout=1).release()
    with pytest.raises(TimeoutError):
        prod.wait_consumers(2, timeout=0.05)
    cons.close()
    prod.close()


def test_gil_released_while_blocking(channame):
    name = channame()
    prod, cons = local_pair(name, slots=2, slot_size=64)
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    th = threading.Thread(target=ticker)
    th.start()
    with pytest.raises(TimeoutError):
        cons.recv(timeout=0.3)
    stop.set()
    th.join()
    assert len(ticks) > 20  # the other thread ran while recv waited
    cons.close()
    prod.close()


def test_release_from_another_thread_while_recv_blocks(channame):
    """A message collected on one thread while another blocks in recv: its slot still returns."""
    name = channame()
    prod, cons = local_pair(name, slots=1, slot_size=64)
    prod.send(prod.loan())
    box = [cons.recv(timeout=5)]
    result = []
    th = threading.Thread(target=lambda: result.append(cons.recv(timeout=5)))
    th.start()
    time.sleep(0.1)  # th is inside recv, holding the channel
    box.clear()  # the message dies here, its release deferred to th's next slice
    prod.send(prod.loan(timeout=5))  # so the only slot came back
    th.join()
    assert len(result) == 1
    result[0].release()
    cons.close()
    prod.close()


def test_ctrl_c_interrupts_recv(channame):
    name = channame()
    prod, cons = local_pair(name, slots=1, slot_size=64)
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        cons.recv()  # no timeout: only the signal ends it
    assert time.monotonic() - t0 < 2
    timer.join()
    cons.close()
    prod.close()


def test_spin_channel(channame, child):
    name = channame()
    ch = memview.Channel.create(name, slots=4, slot_size=512, format="q", shape=(64,), spin=True)
    kid = child(CONSUMER, name)
    ch.wait_consumers(1, timeout=10)
    kid.expect("joined")
    produce(ch, 100)
    ch.close()
    assert kid.expect("received") == "received 100 100"
    kid.finish()


def test_join_errors(channame):
    with pytest.raises(FileNotFoundError, match="no such channel"):
        memview.Channel.join(channame(), timeout=0.1)
    name = channame()
    prod = memview.Channel.create(name)
    with pytest.raises(FileExistsError):
        memview.Channel.create(name)
    with pytest.raises(TimeoutError, match="admit"):
        memview.Channel.join(name, timeout=0.1)  # the producer makes no call meanwhile
    with pytest.raises(ValueError, match="does not receive"):
        prod.recv(timeout=0)
    prod.close()


def test_example_runs():
    """python/examples/numpy_handoff.py: two processes, three frames."""
    import subprocess
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    example = os.path.join(here, "..", "examples", "numpy_handoff.py")
    out = subprocess.run([sys.executable, example, "3"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "frame 0: (480, 640) float32, mean 0.000",
        "frame 1: (480, 640) float32, mean 0.500",
        "frame 2: (480, 640) float32, mean 1.000",
    ]


def test_threads_share_a_consumer(channame):
    """Four threads receive from one consumer handle, one sends: each message exactly once."""
    name = channame()
    prod, cons = local_pair(name, slots=4, slot_size=64, format="q")
    total = 1000
    got, errors = [], []
    handed = []  # messages passed between threads, dropped by whichever thread comes next

    def receive():
        while True:
            try:
                msg = cons.recv(timeout=0.3)
            except TimeoutError:
                return
            except Exception as e:  # noqa: BLE001 - reported below, in the test's thread
                errors.append(e)
                return
            got.append(int(memoryview(msg)[0]))
            handed.append(msg)  # collected later, on another thread perhaps
            del msg
            while len(handed) > 2:
                try:
                    handed.pop(0)
                except IndexError:
                    break

    def send():
        for i in range(total):
            loan = prod.loan(timeout=10)
            memoryview(loan)[0] = i
            prod.send(loan)

    threads = [threading.Thread(target=receive) for _ in range(4)]
    threads.append(threading.Thread(target=send))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handed.clear()
    assert not errors
    assert sorted(got) == list(range(total))
    assert prod.stats().sent == total and cons.stats().received == total
    cons.close()
    prod.close()


def test_forked_child_leaves_channel_alone(channame):
    """A child forked with a channel open cannot use it, and dropping it closes nothing."""
    prod, cons = local_pair(channame(), slots=2, slot_size=64)
    prod.send(prod.loan())
    msg = cons.recv(timeout=5)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for call in (lambda: prod.loan(timeout=0), lambda: cons.recv(timeout=0),
                         msg.release, prod.stats, prod.close):
                try:
                    call()
                    code = 1
                except ValueError as e:
                    code |= "fork" not in str(e)
            del msg, prod, cons  # collected here: no hand-back, no close
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    st = prod.stats()
    assert not prod.closed and st.consumers == 1 and st.free_slots == 1  # msg still held here
    msg.release()
    prod.send(prod.loan(timeout=5))
    cons.recv(timeout=5).release()
    cons.close()
    prod.close()
