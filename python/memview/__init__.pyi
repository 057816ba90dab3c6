# python/memview/__init__.pyi - type stubs for the memview package (the C extension
# memview._memview has no annotations of its own).
#
# SPDX-License-Identifier: MIT
from types import TracebackType
from typing import NamedTuple, Optional, Protocol, Sequence, SupportsIndex, Type, Union

from typing_extensions import Self

class _HasFileno(Protocol):
    def fileno(self) -> int: ...

_Timeout = Optional[float]
_FileDescriptorLike = Union[int, _HasFileno]

__version__: str
SEAL_GROW: int
SEAL_FUTURE_WRITE: int
MAX_HOLDERS: int
MAX_CONSUMERS: int
MAXDIM: int

class SegmentInfo(NamedTuple):
    name: Optional[str]
    data_offset: int
    data_size: int
    mapped_size: int
    generation: int
    format: str
    shape: tuple[int, ...]
    creator: int
    exports: int
    readonly: bool
    raw: bool
    memfd: bool
    seals: int

class Holder(NamedTuple):
    pid: int
    alive: bool
    exports: int

class ChannelStats(NamedTuple):
    sent: int
    received: int
    free_slots: int
    consumers: int
    reclaimed: int
    bad_returns: int

class Segment:
    """A shared-memory segment; a buffer object (memoryview(seg), numpy.asarray(seg))."""

    @classmethod
    def create(
        cls,
        name: Optional[str],
        size: int,
        format: str = "B",
        shape: Optional[Sequence[SupportsIndex]] = None,
        mode: int = 0o600,
        *,
        memfd: bool = False,
        seals: int = 0,
    ) -> Segment: ...
    @classmethod
    def open(
        cls,
        name: str,
        readonly: bool = False,
        raw: bool = False,
        *,
        format: Optional[str] = None,
        any_owner: bool = False,
    ) -> Segment: ...
    @classmethod
    def from_fd(cls, fd: _FileDescriptorLike, readonly: bool = False) -> Segment: ...
    @staticmethod
    def unlink(name: str, force: bool = False) -> None: ...
    def close(self) -> None: ...
    def resize(self, size: SupportsIndex) -> None: ...
    def remap(self) -> None: ...
    def seal(self, seals: int) -> None: ...
    def info(self) -> SegmentInfo: ...
    def holders(self) -> list[Holder]: ...
    def fileno(self) -> int: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...
    def __buffer__(self, flags: int) -> memoryview: ...
    @property
    def name(self) -> Optional[str]: ...
    @property
    def closed(self) -> bool: ...
    @property
    def nbytes(self) -> int: ...
    @property
    def format(self) -> str: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def readonly(self) -> bool: ...

class _SlotBuffer:
    # Loan and Message have these members alike (they do not share a base class at run time).
    def release(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...
    def __buffer__(self, flags: int) -> memoryview: ...
    @property
    def nbytes(self) -> int: ...
    @property
    def released(self) -> bool: ...

class Loan(_SlotBuffer):
    """A writable slot loaned by Channel.loan(); a buffer object."""

class Message(_SlotBuffer):
    """A received message: a readonly buffer object over its slot."""

class Channel:
    """A zero-copy channel: one producer, up to MAX_CONSUMERS consumers."""

    @classmethod
    def create(
        cls,
        name: str,
        slots: int = 16,
        slot_size: int = 4096,
        format: str = "B",
        shape: Optional[Sequence[SupportsIndex]] = None,
        spin: bool = False,
        mode: int = 0o600,
    ) -> Channel: ...
    @classmethod
    def join(cls, name: str, timeout: _Timeout = None, any_owner: bool = False) -> Channel: ...
    def loan(self, timeout: _Timeout = None) -> Loan: ...
    def send(self, loan: Loan, nbytes: Optional[SupportsIndex] = None) -> None: ...
    def recv(self, timeout: _Timeout = None) -> Message: ...
    def wait_consumers(self, n: int, timeout: _Timeout = None) -> int: ...
    def stats(self) -> ChannelStats: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def producer(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
