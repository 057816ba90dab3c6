/*
 * python/src/segment.c - memview.Segment: a libmemview segment (POSIX shm or memfd) as a Python
 * object with the buffer protocol.
 *
 * Every buffer Python takes (memoryview(seg), numpy.asarray(seg), bytes(seg), ...) is one
 * libmemview export of the segment (mv_buffer_get on mv_segment_exporter), held until the
 * consumer releases it. So the library's accounting - this handle's count, the kernel lock that
 * other processes' shrink and unlink look at, the holder table lsshm reads - sees Python's
 * buffers exactly as it sees C views, and close() and a shrinking resize() are refused with the
 * library's BufferError while any is alive, here or in another process.
 *
 * Threads: calls that may block (create, open, resize, remap, holders) release the GIL; the
 * object's mutex keeps close() and every other call off the handle meanwhile (the library
 * allows exports from several threads, not a close racing anything). Taking and giving back
 * buffers needs no mutex: they hold the GIL throughout, and the library counts them under its
 * own lock.
 *
 * SPDX-License-Identifier: MIT
 */
#include "binding.h"

#include <errno.h>
#include <string.h>

typedef struct {
	PyObject_HEAD
	mv_segment *seg;     /* NULL once closed */
	pthread_mutex_t mu;  /* the handle, for calls that release the GIL and for close */
	PyObject *name;      /* str, or None for a memfd */
	PyObject *weakrefs;
} SegmentObject;

PyTypeObject *MvpySegmentInfo_Type;
PyTypeObject *MvpyHolder_Type;

/* ------------------------------------------------------------------ helpers */

static PyObject *segment_wrap(PyTypeObject *type, mv_segment *seg, PyObject *name)
{
	SegmentObject *self = (SegmentObject *)type->tp_alloc(type, 0);

	if (!self) {
		mv_segment_close(seg);
		return NULL;
	}
	self->seg = seg;
	pthread_mutex_init(&self->mu, NULL);
	self->name = Py_NewRef(name);
	return (PyObject *)self;
}

/* Lock the handle; NULL with ValueError (and unlocked) when it is closed. */
static mv_segment *segment_lock(SegmentObject *self)
{
	mvpy_lock(&self->mu);
	if (!self->seg) {
		pthread_mutex_unlock(&self->mu);
		PyErr_SetString(PyExc_ValueError, "operation on a closed segment");
		return NULL;
	}
	return self->seg;
}

static void segment_unlock(SegmentObject *self)
{
	pthread_mutex_unlock(&self->mu);
}

/* A name argument: a str for the library, or NULL for None when @none_ok. */
static int segment_name(PyObject *obj, const char **out, int none_ok)
{
	if (obj == Py_None && none_ok) {
		*out = NULL;
		return 0;
	}
	*out = mvpy_cstr(obj, "name");
	return *out ? 0 : -1;
}

static int nonnegative(long long v, const char *what)
{
	if (v >= 0)
		return 0;
	PyErr_Format(PyExc_ValueError, "%s must not be negative", what);
	return -1;
}

/* ------------------------------------------------------------------ constructors */

/* Make a handle with the GIL released: it may wait for the header lock, or fallocate. */
enum seg_make { MAKE_CREATE, MAKE_OPEN, MAKE_IMPORT };

static PyObject *segment_make(PyTypeObject *type, enum seg_make how, PyObject *name,
			      const char *cname, size_t size, int fd, const mv_segment_opts *o)
{
	char msg[MVPY_MSG_MAX];
	mv_segment *seg = NULL;
	int rc = 0;

	Py_BEGIN_ALLOW_THREADS
	switch (how) {
	case MAKE_CREATE:
		rc = mv_segment_create(&seg, cname, size, o);
		break;
	case MAKE_OPEN:
		rc = mv_segment_open(&seg, cname, o);
		break;
	case MAKE_IMPORT:
		rc = mv_segment_import(&seg, fd, o);
		break;
	}
	if (rc < 0)
		mvpy_keep_msg(msg);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return mvpy_error(rc, msg);
	return segment_wrap(type, seg, name);
}


PyDoc_STRVAR(create_doc,
"create(name, size, format='B', shape=None, mode=0o600, *, memfd=False, seals=0)\n"
"--\n"
"\n"
"Create a segment of size bytes of data (zero-filled) and return its handle.\n"
"\n"
"name is '/name' (one leading slash, no other); with memfd=True the segment is an\n"
"anonymous memfd and name (may be None) only names it in /proc. format is the item format\n"
"(a struct code such as 'B', 'd', '<i'), shape the data's shape (None: one dimension over\n"
"all of it). mode is the object's permission bits. seals (memfd only) adds SEAL_GROW or\n"
"SEAL_FUTURE_WRITE. The header records format and shape, so Segment.open() in another\n"
"process gets the same typed view.\n"
"\n"
"Raises FileExistsError, ValueError (bad name, format, shape or size), OSError (ENOSPC:\n"
"/dev/shm is full, ...), with libmemview's message.");

static PyObject *segment_create(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "name", "size", "format", "shape", "mode", "memfd", "seals",
				  NULL };
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	Py_ssize_t shape[MV_MAXDIM], size;
	PyObject *name, *shape_obj = Py_None;
	const char *cname, *format = "B";
	int mode = 0600, memfd = 0, seals = 0, ndim;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "On|sOi$pi:create", (char **)kwlist,
					 &name, &size,
					 &format, &shape_obj, &mode, &memfd, &seals))
		return NULL;
	if (segment_name(name, &cname, memfd) < 0 || nonnegative(size, "size") < 0 ||
	    nonnegative(mode, "mode") < 0 || nonnegative(seals, "seals") < 0 ||
	    mvpy_shape(shape_obj, shape, &ndim) < 0)
		return NULL;
	o.flags = memfd ? MV_SEGMENT_MEMFD : 0;
	o.mode = (unsigned)mode;
	o.format = format;
	o.shape = ndim >= 0 ? shape : NULL;
	o.ndim = ndim;
	o.seals = (unsigned)seals;
	return segment_make(type, MAKE_CREATE, name, cname, (size_t)size, -1, &o);
}

PyDoc_STRVAR(open_doc,
"open(name, readonly=False, raw=False, *, format=None, any_owner=False)\n"
"--\n"
"\n"
"Open the named segment '/name'; its format and shape come from its header.\n"
"\n"
"readonly opens and maps it readonly (buffers are readonly, and the kernel enforces it).\n"
"raw opens an object without a memview header - one made by multiprocessing.shared_memory,\n"
"say - as plain data of the given format (default 'B'). Another user's object is refused\n"
"(PermissionError) unless any_owner is true.\n"
"\n"
"Raises FileNotFoundError, PermissionError, ValueError, OSError (EBADMSG: a header check\n"
"failed), BufferError (the header lock is held by another process for more than 2 s).");

static PyObject *segment_open(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "name", "readonly", "raw", "format", "any_owner", NULL };
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	int readonly = 0, raw = 0, any_owner = 0;
	const char *cname, *format = NULL;
	PyObject *name;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|pp$zp:open", (char **)kwlist,
					 &name, &readonly,
					 &raw, &format, &any_owner))
		return NULL;
	if (segment_name(name, &cname, 0) < 0)
		return NULL;
	o.flags = (readonly ? MV_SEGMENT_READONLY : 0) | (raw ? MV_SEGMENT_RAW : 0) |
		  (any_owner ? MV_SEGMENT_ANY_OWNER : 0);
	o.format = format;
	return segment_make(type, MAKE_OPEN, name, cname, 0, -1, &o);
}

PyDoc_STRVAR(from_fd_doc,
"from_fd(fd, readonly=False)\n"
"--\n"
"\n"
"Open a memfd segment from a descriptor (an int or an object with fileno()), for example\n"
"one received with socket.recv_fds() from a process that made it with\n"
"Segment.create(None, size, memfd=True). The descriptor is duplicated: the caller still\n"
"owns and closes its own. The memfd must be sealed against shrinking (memview's are).\n"
"\n"
"Raises OSError (EBADF), PermissionError (not sealed against shrinking), ValueError (not\n"
"a memfd), OSError (EBADMSG: a header check failed).");

static PyObject *segment_from_fd(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "fd", "readonly", NULL };
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	int readonly = 0, fd;
	PyObject *fd_obj;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p:from_fd", (char **)kwlist,
					 &fd_obj, &readonly))
		return NULL;
	fd = PyObject_AsFileDescriptor(fd_obj);
	if (fd < 0)
		return NULL;
	o.flags = readonly ? MV_SEGMENT_READONLY : 0;
	return segment_make(type, MAKE_IMPORT, Py_None, NULL, 0, fd, &o);
}

PyDoc_STRVAR(unlink_doc,
"unlink(name, force=False)\n"
"--\n"
"\n"
"Remove the named segment's name (mappings that exist stay valid). Refused with\n"
"BufferError while any live process holds buffers of it, unless force is true.\n"
"\n"
"Raises FileNotFoundError, BufferError, PermissionError, ValueError.");

static PyObject *segment_unlink(PyObject *unused, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "name", "force", NULL };
	char msg[MVPY_MSG_MAX];
	const char *cname;
	PyObject *name;
	int force = 0, rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p:unlink", (char **)kwlist, &name, &force))
		return NULL;
	if (segment_name(name, &cname, 0) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	rc = mv_segment_unlink(cname, force ? MV_SEGMENT_FORCE : 0);
	if (rc < 0)
		mvpy_keep_msg(msg);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return mvpy_error(rc, msg);
	Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ methods */

PyDoc_STRVAR(close_doc,
"close()\n"
"--\n"
"\n"
"Unmap and close the handle (the segment itself stays: see unlink()). Raises BufferError\n"
"while buffers taken from it (memoryviews, numpy arrays) are alive in this process. Closing\n"
"a closed segment does nothing.");

static PyObject *segment_close(SegmentObject *self, PyObject *unused)
{
	int rc;

	mvpy_lock(&self->mu);
	rc = mv_segment_close(self->seg);
	if (rc == 0)
		self->seg = NULL;
	segment_unlock(self);
	if (rc < 0)
		return mvpy_error(rc, NULL);
	Py_RETURN_NONE;
}

/* A call that may block, made on the locked handle with the GIL released. */
enum seg_op { OP_RESIZE, OP_REMAP, OP_SEAL };

static PyObject *segment_blocking(SegmentObject *self, enum seg_op op, size_t arg)
{
	char msg[MVPY_MSG_MAX];
	mv_segment *seg = segment_lock(self);
	int rc = 0;

	if (!seg)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	switch (op) {
	case OP_RESIZE:
		rc = mv_segment_resize(seg, arg);
		break;
	case OP_REMAP:
		rc = mv_segment_remap(seg);
		break;
	case OP_SEAL:
		rc = mv_segment_seal(seg, (unsigned)arg);
		break;
	}
	if (rc < 0)
		mvpy_keep_msg(msg);
	Py_END_ALLOW_THREADS
	segment_unlock(self);
	if (rc < 0)
		return mvpy_error(rc, msg);
	Py_RETURN_NONE;
}

PyDoc_STRVAR(resize_doc,
"resize(size)\n"
"--\n"
"\n"
"Change the data size to size bytes. Growing is always allowed (other processes see it at\n"
"their next remap() or first buffer). Shrinking raises BufferError while any buffer of the\n"
"segment is alive in this process or in any other live process. Without buffers here the\n"
"handle maps the new size at once.\n"
"\n"
"Raises BufferError, TypeError (readonly handle), PermissionError (memfd shrink, raw\n"
"segment, a handle inherited through fork), ValueError, OSError (ENOSPC).");

static PyObject *segment_resize(SegmentObject *self, PyObject *arg)
{
	Py_ssize_t n = PyNumber_AsSsize_t(arg, PyExc_OverflowError);

	if (n == -1 && PyErr_Occurred())
		return NULL;
	if (nonnegative(n, "size") < 0)
		return NULL;
	return segment_blocking(self, OP_RESIZE, (size_t)n);
}

PyDoc_STRVAR(remap_doc,
"remap()\n"
"--\n"
"\n"
"Map the segment's current size after another process resized it. Raises BufferError\n"
"while buffers of this handle are alive.");

static PyObject *segment_remap(SegmentObject *self, PyObject *unused)
{
	return segment_blocking(self, OP_REMAP, 0);
}

PyDoc_STRVAR(seal_doc,
"seal(seals)\n"
"--\n"
"\n"
"Add SEAL_GROW and/or SEAL_FUTURE_WRITE to a memfd segment. Raises PermissionError for a\n"
"named segment or a seal the kernel refuses.");

static PyObject *segment_seal(SegmentObject *self, PyObject *arg)
{
	long v = PyLong_AsLong(arg);

	if (v == -1 && PyErr_Occurred())
		return NULL;
	if (nonnegative(v, "seals") < 0)
		return NULL;
	if (v > (long)0xffffffffL) {
		PyErr_SetString(PyExc_OverflowError, "seals is too large");
		return NULL;
	}
	return segment_blocking(self, OP_SEAL, (size_t)v);
}

static int segment_get_info(SegmentObject *self, mv_segment_info *info)
{
	mv_segment *seg = segment_lock(self);
	int rc;

	if (!seg)
		return -1;
	rc = mv_segment_get_info(info, seg);
	segment_unlock(self);
	if (rc < 0) {
		mvpy_error(rc, NULL);
		return -1;
	}
	return 0;
}

PyDoc_STRVAR(info_doc,
"info()\n"
"--\n"
"\n"
"Describe the segment: a SegmentInfo named tuple (name, data_offset, data_size,\n"
"mapped_size, generation, format, shape, creator, exports, readonly, raw, memfd, seals).\n"
"data_size is the size the header says now (another process may have resized it);\n"
"mapped_size what this handle maps; exports this handle's buffers alive in this process.");

static PyObject *segment_info(SegmentObject *self, PyObject *unused)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	PyObject *t;

	if (segment_get_info(self, &info) < 0)
		return NULL;
	t = PyStructSequence_New(MvpySegmentInfo_Type);
	if (!t)
		return NULL;
	PyStructSequence_SET_ITEM(t, 0, Py_NewRef(self->name));
	PyStructSequence_SET_ITEM(t, 1, PyLong_FromSize_t(info.data_offset));
	PyStructSequence_SET_ITEM(t, 2, PyLong_FromSize_t(info.data_size));
	PyStructSequence_SET_ITEM(t, 3, PyLong_FromSize_t(info.mapped_size));
	PyStructSequence_SET_ITEM(t, 4, PyLong_FromUnsignedLongLong(info.generation));
	PyStructSequence_SET_ITEM(t, 5, PyUnicode_FromString(info.format));
	PyStructSequence_SET_ITEM(t, 6, mvpy_shape_tuple(info.shape, info.ndim));
	PyStructSequence_SET_ITEM(t, 7, PyLong_FromLong((long)info.creator));
	PyStructSequence_SET_ITEM(t, 8, PyLong_FromLong(info.exports));
	PyStructSequence_SET_ITEM(t, 9, PyBool_FromLong(info.flags & MV_SEGMENT_READONLY));
	PyStructSequence_SET_ITEM(t, 10, PyBool_FromLong(info.flags & MV_SEGMENT_RAW));
	PyStructSequence_SET_ITEM(t, 11, PyBool_FromLong(info.flags & MV_SEGMENT_MEMFD));
	PyStructSequence_SET_ITEM(t, 12, PyLong_FromUnsignedLong(info.seals));
	if (PyErr_Occurred()) {
		Py_DECREF(t);
		return NULL;
	}
	return t;
}

PyDoc_STRVAR(holders_doc,
"holders()\n"
"--\n"
"\n"
"The segment's holder table (dead holders reclaimed first, when this handle may write the\n"
"header): a list of Holder named tuples (pid, alive, exports). A raw segment has none.");

static PyObject *segment_holders(SegmentObject *self, PyObject *unused)
{
	mv_segment_holder h[MV_SEGMENT_MAX_HOLDERS];
	char msg[MVPY_MSG_MAX];
	PyObject *list;
	mv_segment *seg;
	ssize_t n, i;

	h[0] = (mv_segment_holder)MV_SEGMENT_HOLDER_INIT;
	seg = segment_lock(self);
	if (!seg)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	n = mv_segment_holders(h, MV_SEGMENT_MAX_HOLDERS, seg);
	if (n < 0)
		mvpy_keep_msg(msg);
	Py_END_ALLOW_THREADS
	segment_unlock(self);
	if (n < 0)
		return mvpy_error((int)n, msg);
	if (n > MV_SEGMENT_MAX_HOLDERS)
		n = MV_SEGMENT_MAX_HOLDERS; /* the table has no more slots: cannot happen */
	list = PyList_New(n);
	for (i = 0; list && i < n; i++) {
		PyObject *t = PyStructSequence_New(MvpyHolder_Type);

		if (!t) {
			Py_CLEAR(list);
			break;
		}
		PyStructSequence_SET_ITEM(t, 0, PyLong_FromLong((long)h[i].pid));
		PyStructSequence_SET_ITEM(t, 1, PyBool_FromLong(h[i].alive));
		PyStructSequence_SET_ITEM(t, 2, PyLong_FromLong(h[i].exports));
		PyList_SET_ITEM(list, i, t);
		if (PyErr_Occurred())
			Py_CLEAR(list);
	}
	return list;
}

PyDoc_STRVAR(fileno_doc,
"fileno()\n"
"--\n"
"\n"
"The handle's descriptor (to pass a memfd segment with socket.send_fds()). It stays the\n"
"handle's: do not close it.");

static PyObject *segment_fileno(SegmentObject *self, PyObject *unused)
{
	mv_segment *seg = segment_lock(self);
	int fd;

	if (!seg)
		return NULL;
	fd = mv_segment_fd(seg);
	segment_unlock(self);
	return PyLong_FromLong(fd);
}

static PyObject *segment_enter(SegmentObject *self, PyObject *unused)
{
	if (!self->seg) {
		PyErr_SetString(PyExc_ValueError, "operation on a closed segment");
		return NULL;
	}
	return Py_NewRef(self);
}

static PyObject *segment_exit(SegmentObject *self, PyObject *args)
{
	return segment_close(self, NULL);
}

/* ------------------------------------------------------------------ attributes */

static PyObject *segment_get_name(SegmentObject *self, void *unused)
{
	return Py_NewRef(self->name);
}

static PyObject *segment_get_closed(SegmentObject *self, void *unused)
{
	return PyBool_FromLong(self->seg == NULL);
}

static PyObject *segment_get_nbytes(SegmentObject *self, void *unused)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;

	return segment_get_info(self, &info) < 0 ? NULL : PyLong_FromSize_t(info.mapped_size);
}

static PyObject *segment_get_format(SegmentObject *self, void *unused)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;

	return segment_get_info(self, &info) < 0 ? NULL : PyUnicode_FromString(info.format);
}

static PyObject *segment_get_shape(SegmentObject *self, void *unused)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;

	return segment_get_info(self, &info) < 0 ? NULL : mvpy_shape_tuple(info.shape, info.ndim);
}

static PyObject *segment_get_readonly(SegmentObject *self, void *unused)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;

	return segment_get_info(self, &info) < 0 ?
		       NULL :
		       PyBool_FromLong(info.flags & MV_SEGMENT_READONLY);
}

static PyObject *segment_repr(SegmentObject *self)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;

	if (!self->seg)
		return PyUnicode_FromFormat("<memview.Segment %R closed>", self->name);
	if (segment_get_info(self, &info) < 0)
		return NULL;
	return PyUnicode_FromFormat("<memview.Segment %R %zu bytes format '%s'%s>", self->name,
				    info.mapped_size, info.format,
				    (info.flags & MV_SEGMENT_READONLY) ? " readonly" : "");
}

/* ------------------------------------------------------------------ buffer protocol */

static int segment_getbuffer(SegmentObject *self, Py_buffer *view, int flags)
{
	mv_buffer *rec;
	int rc;

	view->obj = NULL;
	if (!self->seg) {
		PyErr_SetString(PyExc_ValueError, "operation on a closed segment");
		return -1;
	}
	rec = PyMem_RawMalloc(sizeof(*rec));
	if (!rec) {
		PyErr_NoMemory();
		return -1;
	}
	rc = mv_buffer_get(rec, mv_segment_exporter(self->seg), (unsigned)flags);
	if (rc < 0) {
		PyMem_RawFree(rec);
		return mvpy_buffer_error(rc);
	}
	mvpy_fill_buffer(view, (PyObject *)self, rec);
	return 0;
}

static void segment_releasebuffer(SegmentObject *self, Py_buffer *view)
{
	mv_buffer *rec = view->internal;

	mv_buffer_release(rec);
	PyMem_RawFree(rec);
}

static PyBufferProcs segment_as_buffer = {
	.bf_getbuffer = (getbufferproc)segment_getbuffer,
	.bf_releasebuffer = (releasebufferproc)segment_releasebuffer,
};

/* ------------------------------------------------------------------ the type */

static void segment_dealloc(SegmentObject *self)
{
	if (self->weakrefs)
		PyObject_ClearWeakRefs((PyObject *)self);
	/* Buffers hold a reference, so none is alive: closing cannot be refused. */
	if (self->seg && mv_segment_close(self->seg) == 0)
		self->seg = NULL;
	pthread_mutex_destroy(&self->mu);
	Py_XDECREF(self->name);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

#define METH_CLASSKW (METH_VARARGS | METH_KEYWORDS | METH_CLASS)
#define FN(f) ((PyCFunction)(void (*)(void))(f))

static PyMethodDef segment_methods[] = {
	{ "create", FN(segment_create), METH_CLASSKW, create_doc },
	{ "open", FN(segment_open), METH_CLASSKW, open_doc },
	{ "from_fd", FN(segment_from_fd), METH_CLASSKW, from_fd_doc },
	{ "unlink", FN(segment_unlink), METH_VARARGS | METH_KEYWORDS | METH_STATIC, unlink_doc },
	{ "close", FN(segment_close), METH_NOARGS, close_doc },
	{ "resize", FN(segment_resize), METH_O, resize_doc },
	{ "remap", FN(segment_remap), METH_NOARGS, remap_doc },
	{ "seal", FN(segment_seal), METH_O, seal_doc },
	{ "info", FN(segment_info), METH_NOARGS, info_doc },
	{ "holders", FN(segment_holders), METH_NOARGS, holders_doc },
	{ "fileno", FN(segment_fileno), METH_NOARGS, fileno_doc },
	{ "__enter__", FN(segment_enter), METH_NOARGS, NULL },
	{ "__exit__", FN(segment_exit), METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL }
};

static PyGetSetDef segment_getset[] = {
	{ "name", (getter)segment_get_name, NULL, "The name given to create() or open(), or None.",
	  NULL },
	{ "closed", (getter)segment_get_closed, NULL, "True once close() succeeded.", NULL },
	{ "nbytes", (getter)segment_get_nbytes, NULL, "Bytes of data this handle maps.", NULL },
	{ "format", (getter)segment_get_format, NULL, "The item format, from the header.", NULL },
	{ "shape", (getter)segment_get_shape, NULL, "The data's shape, from the header.", NULL },
	{ "readonly", (getter)segment_get_readonly, NULL, "True for a readonly handle.", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

PyDoc_STRVAR(segment_doc,
"A memview shared-memory segment (POSIX shm or memfd) with a self-describing header.\n"
"\n"
"Make one with Segment.create(), Segment.open() or Segment.from_fd(). memoryview(seg)\n"
"and numpy.asarray(seg) are zero-copy views typed by the header's format and shape. Each\n"
"buffer taken is a libmemview export: close() and a shrinking resize() raise BufferError\n"
"while any is alive in this process, and a shrink also while one is alive in another\n"
"process (the kernel's lock says so, and forgets a process when it dies). Use it as a\n"
"context manager to close it.");

PyTypeObject MvpySegment_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memview.Segment",
	.tp_basicsize = sizeof(SegmentObject),
	.tp_dealloc = (destructor)segment_dealloc,
	.tp_repr = (reprfunc)segment_repr,
	.tp_as_buffer = &segment_as_buffer,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = segment_doc,
	.tp_weaklistoffset = offsetof(SegmentObject, weakrefs),
	.tp_methods = segment_methods,
	.tp_getset = segment_getset,
};

static PyStructSequence_Field info_fields[] = {
	{ "name", "the name given to create() or open(), or None" },
	{ "data_offset", "bytes from the start of the object to the data" },
	{ "data_size", "bytes of data, as the header says now" },
	{ "mapped_size", "bytes of data this handle maps" },
	{ "generation", "bumped by every resize" },
	{ "format", "the item format" },
	{ "shape", "the data's shape" },
	{ "creator", "pid of the creating process (0 for raw segments)" },
	{ "exports", "this handle's buffers alive in this process" },
	{ "readonly", "opened readonly" },
	{ "raw", "opened raw (no memview header)" },
	{ "memfd", "a memfd segment" },
	{ "seals", "SEAL_* in force (memfd only)" },
	{ NULL, NULL }
};

static PyStructSequence_Desc info_desc = {
	"memview.SegmentInfo", "What Segment.info() reports.", info_fields, 13
};

static PyStructSequence_Field holder_fields[] = {
	{ "pid", "the holding process" },
	{ "alive", "whether that process still runs (the same process: start time checked)" },
	{ "exports", "the buffers it recorded" },
	{ NULL, NULL }
};

static PyStructSequence_Desc holder_desc = {
	"memview.Holder", "One entry of Segment.holders().", holder_fields, 3
};

int mvpy_segment_ready(PyObject *module)
{
	if (PyType_Ready(&MvpySegment_Type) < 0)
		return -1;
	MvpySegmentInfo_Type = PyStructSequence_NewType(&info_desc);
	MvpyHolder_Type = PyStructSequence_NewType(&holder_desc);
	if (!MvpySegmentInfo_Type || !MvpyHolder_Type)
		return -1;
	if (PyModule_AddObjectRef(module, "Segment", (PyObject *)&MvpySegment_Type) < 0 ||
	    PyModule_AddObjectRef(module, "SegmentInfo", (PyObject *)MvpySegmentInfo_Type) < 0 ||
	    PyModule_AddObjectRef(module, "Holder", (PyObject *)MvpyHolder_Type) < 0)
		return -1;
	return 0;
}
