# python/tests/helpers.py - what the binding's tests share: unique names, child Python
# processes that say when they are ready, and waiting for them.
#
# SPDX-License-Identifier: MIT
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading

import memview

_counter = itertools.count()


def unique_name(kind="seg"):
    """A name no other test (or concurrent run) uses: /mvpy-KIND-PID-N."""
    return "/mvpy-%s-%d-%d" % (kind, os.getpid(), next(_counter))


class Child:
    """A Python child process running CODE with ARGS in sys.argv[1:].

    The child reports on standard output, one line at a time; expect() reads the next line.
    It inherits PYTHONPATH and LD_LIBRARY_PATH, so it imports the memview under test.
    """

    def __init__(self, code, *args, pass_fds=()):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)] + [str(a) for a in args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE,
            text=True,
            pass_fds=pass_fds,
        )

    @property
    def pid(self):
        return self.proc.pid

    def expect(self, want=None):
        line = self.proc.stdout.readline().strip()
        if not line or (want is not None and not line.startswith(want)):
            self.proc.kill()
            out, err = self.proc.communicate(timeout=10)
            raise AssertionError("child said %r (wanted %r); stderr:\n%s" % (line, want, err))
        return line

    def tell(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def finish(self, timeout=20):
        out, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, "child exited %d:\n%s" % (self.proc.returncode, err)
        return out

    def close(self):
        if self.proc.poll() is None:
            self.kill()
        for f in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
            if f:
                f.close()


def local_pair(name, **opts):
    """A producer and a consumer of channel NAME in this process.

    The producer admits joiners only inside its own calls, so a thread waits for the consumer
    while this one joins.
    """
    prod = memview.Channel.create(name, **opts)
    t = threading.Thread(target=prod.wait_consumers, args=(1, 10))
    t.start()
    cons = memview.Channel.join(name, timeout=10)
    t.join()
    return prod, cons
