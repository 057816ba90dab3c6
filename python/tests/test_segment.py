# python/tests/test_segment.py - memview.Segment: typed zero-copy buffers, export accounting in
# this process and across processes (a child holding a memoryview, then SIGKILLed), numpy
# arrays that keep a segment open, multiprocessing.shared_memory both ways, memfds passed to a
# child, lsshm naming a Python holder.
#
# SPDX-License-Identifier: MIT
import json
import os
import subprocess
from multiprocessing import resource_tracker, shared_memory

import numpy as np
import pytest

import memview

# A child that opens segment argv[1], holds a memoryview of it, says so and waits to be killed.
HOLDER = """
import sys, time, memview
seg = memview.Segment.open(sys.argv[1])
m = memoryview(seg)
print("holding", m.nbytes, flush=True)
sys.stdin.readline()
"""


def test_library_is_the_build_trees():
    """Run from the build tree (python/run.sh), the library loaded is the tree's."""
    want = os.environ.get("MEMVIEW_BUILD_LIB")
    if not want:
        pytest.skip("not run from the build tree")
    maps = open("/proc/self/maps").read().split("\n")
    lib = {l.split()[-1] for l in maps if "libmemview" in l}
    assert lib and all(os.path.realpath(p).startswith(os.path.realpath(want)) for p in lib)
    if os.environ.get("MV_SANITIZED"):  # pytest.sh preloads the runtime of the ASan build
        assert any("libasan" in l for l in maps)


def test_typed_zero_copy(segname):
    name = segname()
    with memview.Segment.create(name, 16 * 32 * 8, format="d", shape=(16, 32)) as seg:
        m = memoryview(seg)
        assert (m.format, m.shape, m.itemsize, m.readonly) == ("d", (16, 32), 8, False)
        a = np.asarray(seg)
        assert a.dtype == np.float64 and a.shape == (16, 32) and not a.flags.owndata
        a[3, 4] = 2.5
        assert m[3, 4] == 2.5  # the same memory, not a copy
        b = np.asarray(seg)
        assert a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        assert seg.info().exports == 3
        del a, b
        m.release()
        assert seg.info().exports == 0
        # Another handle, another mapping: typed by the header alone.
        with memview.Segment.open(name) as other:
            assert (other.format, other.shape) == ("d", (16, 32))
            assert np.asarray(other)[3, 4] == 2.5


def test_attributes_and_info(segname):
    name = segname()
    seg = memview.Segment.create(name, 8192, format="<i")
    info = seg.info()
    assert info.name == name and info.data_size == 8192 and info.mapped_size == 8192
    assert info.format == "<i" and info.shape == (2048,) and info.creator == os.getpid()
    assert not (info.readonly or info.raw or info.memfd)
    assert (seg.name, seg.nbytes, seg.format, seg.shape, seg.readonly, seg.closed) == (
        name, 8192, "<i", (2048,), False, False)
    assert "8192 bytes" in repr(seg)
    assert [h.pid for h in seg.holders()] == [os.getpid()]
    seg.close()
    seg.close()  # idempotent, as a file's
    assert seg.closed and "closed" in repr(seg)
    for op in (seg.info, seg.holders, seg.fileno, seg.remap, lambda: seg.resize(1),
               lambda: memoryview(seg), lambda: seg.__enter__()):
        with pytest.raises(ValueError, match="closed segment"):
            op()


def test_numpy_array_keeps_segment_open(segname):
    seg = memview.Segment.create(segname(), 4096, format="B")
    a = np.asarray(seg)
    with pytest.raises(BufferError, match="cannot close while 1 export"):
        seg.close()
    view = a[10:20]  # numpy's views hold the array, which holds the buffer
    del a
    with pytest.raises(BufferError):
        seg.close()
    del view
    seg.close()


def test_frombuffer_then_close_refused(segname):
    # np.frombuffer outliving SharedMemory.close() is multiprocessing's crash; here it is refused.
    seg = memview.Segment.create(segname(), 4096)
    a = np.frombuffer(seg, dtype=np.uint32)
    with pytest.raises(BufferError):
        seg.close()
    a[0] = 7
    del a
    seg.close()


def test_shrink_refused_while_exported_here(segname):
    seg = memview.Segment.create(segname(), 8192)
    m = memoryview(seg)
    seg.resize(16384)  # growing is always allowed
    with pytest.raises(BufferError, match="cannot shrink"):
        seg.resize(4096)
    m.release()
    seg.resize(4096)
    assert seg.nbytes == 4096 and len(memoryview(seg)) == 4096
    seg.close()


def test_readonly(segname):
    name = segname()
    seg = memview.Segment.create(name, 4096)
    memoryview(seg)[0] = 42
    ro = memview.Segment.open(name, readonly=True)
    m = memoryview(ro)
    assert m.readonly and m[0] == 42 and ro.readonly and ro.info().readonly
    with pytest.raises(TypeError):
        m[0] = 1
    assert not np.asarray(ro).flags.writeable
    with pytest.raises(TypeError, match="readonly"):
        ro.resize(8192)
    m.release()
    ro.close()
    seg.close()


def test_cross_process_accounting(segname, child):
    """A child holds a memoryview: the parent's shrink fails; SIGKILL the child: it succeeds."""
    name = segname()
    seg = memview.Segment.create(name, 1 << 16)
    kid = child(HOLDER, name)
    assert kid.expect("holding") == "holding 65536"
    with pytest.raises(BufferError, match="another process holds views"):
        seg.resize(4096)
    with pytest.raises(BufferError):
        memview.Segment.unlink(name)
    holders = {h.pid: h for h in seg.holders()}
    assert holders[kid.pid].alive and holders[kid.pid].exports == 1
    kid.kill()
    seg.resize(4096)  # the kernel dropped the dead child's lock
    assert seg.nbytes == 4096
    assert kid.pid not in {h.pid for h in seg.holders()}  # its slot was reclaimed
    seg.close()
    memview.Segment.unlink(name)


def test_lsshm_names_python_holder(segname, child):
    lsshm = os.path.join(os.environ.get("MEMVIEW_BUILD_DIR", ""), "tools", "lsshm")
    if not os.access(lsshm, os.X_OK):
        pytest.skip("lsshm is not built")
    name = segname()
    seg = memview.Segment.create(name, 4096)
    kid = child(HOLDER, name)
    kid.expect("holding")
    out = subprocess.run([lsshm, "--processes", "--json", name], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert str(kid.pid) in out.stdout
    json.loads(out.stdout)
    seg.close()


def test_shared_memory_opens_memview_segment(segname):
    name = segname()
    seg = memview.Segment.create(name, 4096, format="i")
    np.asarray(seg)[:] = np.arange(1024, dtype=np.int32)
    shm = shared_memory.SharedMemory(name=name.lstrip("/"))
    try:
        # SharedMemory sees the whole object: memview's header page, then the data.
        off = seg.info().data_offset
        assert shm.size >= off + 4096
        data = np.ndarray((1024,), dtype=np.int32, buffer=shm.buf, offset=off)
        assert (data == np.arange(1024)).all()
        data[5] = -5
        assert np.asarray(seg)[5] == -5
        del data
    finally:
        shm.close()
        # 3.11's tracker would unlink on exit a segment it only opened (a known bug).
        resource_tracker.unregister(shm._name, "shared_memory")
    seg.close()


def test_raw_open_of_shared_memory():
    shm = shared_memory.SharedMemory(create=True, size=4096)
    try:
        shm.buf[:4] = b"abcd"
        with memview.Segment.open("/" + shm.name, raw=True) as seg:
            info = seg.info()
            assert info.raw and info.data_offset == 0 and seg.nbytes == shm.size
            m = memoryview(seg)
            assert bytes(m[:4]) == b"abcd"
            m[4:6] = b"ef"
            assert bytes(shm.buf[:6]) == b"abcdef"
            m.release()
            with pytest.raises(PermissionError, match="raw"):
                seg.resize(8192)
        with memview.Segment.open("/" + shm.name, raw=True, format="I") as seg:
            assert np.asarray(seg).dtype == np.uint32 and seg.shape == (shm.size // 4,)
    finally:
        shm.close()
        shm.unlink()


def test_memfd_to_child(child):
    seg = memview.Segment.create("py-memfd", 4096, format="q", memfd=True)
    assert seg.name == "py-memfd" and seg.info().memfd
    np.asarray(seg)[:3] = [7, 8, 9]
    fd = seg.fileno()
    kid = child("""
        import sys, numpy as np, memview
        seg = memview.Segment.from_fd(int(sys.argv[1]))
        a = np.asarray(seg)
        print("got", a.dtype, *a[:3], flush=True)
        a[3] = 10
        del a
        seg.close()
        """, fd, pass_fds=[fd])
    assert kid.expect("got") == "got int64 7 8 9"
    kid.finish()
    assert np.asarray(seg)[3] == 10
    with pytest.raises(PermissionError):
        seg.resize(0)  # memfds are sealed against shrinking
    seg.seal(memview.SEAL_GROW)
    assert seg.info().seals & memview.SEAL_GROW
    seg.close()


def test_from_fd_same_process():
    seg = memview.Segment.create(None, 4096, memfd=True)
    other = memview.Segment.from_fd(seg, readonly=True)  # anything with fileno()
    memoryview(seg)[0] = 99
    assert memoryview(other)[0] == 99 and other.readonly and other.name is None
    other.close()
    seg.close()


def test_unlink(segname):
    name = segname()
    seg = memview.Segment.create(name, 4096)
    with pytest.raises(FileExistsError):
        memview.Segment.create(name, 4096)
    m = memoryview(seg)
    with pytest.raises(BufferError, match="use force"):
        memview.Segment.unlink(name)  # this process's views count too
    m.release()
    memview.Segment.unlink(name)
    with pytest.raises(FileNotFoundError):
        memview.Segment.open(name)
    with pytest.raises(FileNotFoundError):
        memview.Segment.unlink(name)
    memoryview(seg)[0] = 1  # the mapping stays valid, as POSIX says
    seg.close()


def test_context_manager_refuses_with_live_view(segname):
    with pytest.raises(BufferError):
        with memview.Segment.create(segname(), 4096) as seg:
            m = memoryview(seg)
    m.release()
    seg.close()
