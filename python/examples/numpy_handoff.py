#!/usr/bin/env python3
# python/examples/numpy_handoff.py - two Python processes hand numpy arrays through a memview
# channel, without copying them: the producer builds each frame in a loaned slot, the consumer
# reads it where it lies.
#
#     python3 numpy_handoff.py [FRAMES]
#
# The producer (this process) creates the channel and starts the consumer (this script again,
# with "consume"), which joins it. Each frame is a 480x640 float32 array; the consumer prints
# each frame's number and mean. With the build tree's module: python/run.sh python3 ...
#
# SPDX-License-Identifier: MIT
import os
import subprocess
import sys

import numpy as np

import memview

SHAPE = (480, 640)


def produce(frames):
    name = "/numpy-handoff-%d" % os.getpid()
    # The channel's format and shape type every slot: numpy.asarray(loan) is a (480, 640)
    # float32 array over the slot itself.
    with memview.Channel.create(name, slots=4, slot_size=4 * SHAPE[0] * SHAPE[1],
                                format="f", shape=SHAPE) as ch:
        consumer = subprocess.Popen([sys.executable, __file__, "consume", name])
        ch.wait_consumers(1, timeout=10)
        x = np.linspace(0, 1, SHAPE[1], dtype=np.float32)
        for i in range(frames):
            loan = ch.loan(timeout=10)  # waits while the consumer holds every slot
            frame = np.asarray(loan)
            frame[:] = x * i  # built in place: shared memory, no copy to send
            del frame  # nothing may write a slot once sent: send() refuses while it lives
            ch.send(loan)
    # Leaving the with block closed the channel: the consumer sees the end after the last frame.
    return consumer.wait()


def consume(name):
    ch = memview.Channel.join(name, timeout=10)
    while True:
        try:
            msg = ch.recv(timeout=10)
        except BrokenPipeError:  # the producer closed, and everything it sent was received
            break
        with msg:  # the end of the block hands the slot back to the producer
            frame = np.asarray(msg)  # readonly, zero-copy
            print("frame %d: %s %s, mean %.3f" % (ch.stats().received - 1, frame.shape,
                                                   frame.dtype, frame.mean()))
            del frame  # release() refuses while an array of the message lives
    ch.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "consume":
        consume(sys.argv[2])
    else:
        sys.exit(produce(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
