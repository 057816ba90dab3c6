# python/memview/__init__.py - the memview package: libmemview's shared-memory segments and
# zero-copy channels for Python, with export counts that hold across processes.
#
# Everything is in the C extension memview._memview (python/src/); this file only names it.
#
# SPDX-License-Identifier: MIT
"""Python memoryview-style views over shared memory, with export counts across processes.

Segment
    A POSIX shared-memory or memfd segment whose header records the item format and shape.
    ``memoryview(seg)`` and ``numpy.asarray(seg)`` are zero-copy; ``close()`` and a shrinking
    ``resize()`` raise ``BufferError`` while any buffer taken from the segment is alive - in
    this process or in another one.
Channel
    Zero-copy handoff between processes: the producer ``loan()``\\ s a slot, fills it and
    ``send()``\\ s it; consumers ``recv()`` a readonly ``Message`` over the same memory.

Errors are libmemview's, with its messages: ``FileExistsError``, ``FileNotFoundError``,
``PermissionError``, ``BufferError`` (exports exist), ``ValueError``, ``TypeError``,
``TimeoutError``, ``BlockingIOError`` (a zero timeout), ``BrokenPipeError`` (the producer is
gone) and ``OSError`` with the errno otherwise.
"""

from ._memview import (
    MAX_CONSUMERS,
    MAX_HOLDERS,
    MAXDIM,
    SEAL_FUTURE_WRITE,
    SEAL_GROW,
    Channel,
    ChannelStats,
    Holder,
    Loan,
    Message,
    Segment,
    SegmentInfo,
    __version__,
)

__all__ = [
    "Segment",
    "SegmentInfo",
    "Holder",
    "Channel",
    "ChannelStats",
    "Loan",
    "Message",
    "SEAL_GROW",
    "SEAL_FUTURE_WRITE",
    "MAX_HOLDERS",
    "MAX_CONSUMERS",
    "MAXDIM",
    "__version__",
]
