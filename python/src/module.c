/*
 * python/src/module.c - the memview._memview extension module: module setup and what the
 * segment and channel types share (errno -> exception, timeouts, shapes, names, the lock).
 *
 * SPDX-License-Identifier: MIT
 */
#include "binding.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#ifndef MEMVIEW_PY_VERSION
#define MEMVIEW_PY_VERSION "unknown"
#endif

/* ------------------------------------------------------------------ errors */

void mvpy_keep_msg(char *buf)
{
	snprintf(buf, MVPY_MSG_MAX, "%s", mv_errmsg());
}

PyObject *mvpy_error(int err, const char *msg)
{
	PyObject *type = NULL, *args, *exc;
	int e = err < 0 ? -err : err;

	if (!msg || !*msg)
		msg = mv_errmsg();
	if (!*msg)
		msg = mv_strerror(-e);
	switch (e) {
	case EBUSY:
		type = PyExc_BufferError;
		break;
	case EROFS:
		type = PyExc_TypeError;
		break;
	case EINVAL:
	case ERANGE:
		type = PyExc_ValueError;
		break;
	case ENOTSUP:
		type = PyExc_NotImplementedError;
		break;
	case EOVERFLOW:
		type = PyExc_OverflowError;
		break;
	case ENOMEM:
		type = PyExc_MemoryError;
		break;
	}
	if (type) {
		PyErr_SetString(type, msg);
		return NULL;
	}
	/* OSError(errno, text) is constructed as the errno's subclass (FileExistsError, ...). */
	args = Py_BuildValue("(is)", e, msg);
	if (!args)
		return NULL;
	exc = PyObject_Call(PyExc_OSError, args, NULL);
	Py_DECREF(args);
	if (exc) {
		PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
		Py_DECREF(exc);
	}
	return NULL;
}

int mvpy_buffer_error(int err)
{
	switch (err < 0 ? -err : err) {
	case EBUSY:
	case EROFS:
	case EINVAL:
	case ENOTSUP:
		PyErr_SetString(PyExc_BufferError, mv_errmsg());
		return -1;
	case EBADF:
		PyErr_SetString(PyExc_ValueError, mv_errmsg());
		return -1;
	}
	mvpy_error(err, NULL);
	return -1;
}

/* ------------------------------------------------------------------ arguments */

long long mvpy_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int mvpy_timeout(PyObject *obj, long long *ns)
{
	double s;

	if (obj == NULL || obj == Py_None) {
		*ns = MV_CHAN_FOREVER;
		return 0;
	}
	s = PyFloat_AsDouble(obj);
	if (s == -1.0 && PyErr_Occurred())
		return -1;
	if (isnan(s) || s < 0) {
		PyErr_SetString(PyExc_ValueError, "timeout must be a non-negative number or None");
		return -1;
	}
	/* 2**62 ns is 146 years: anything longer is a mistake, not a wait. */
	if (s * 1e9 >= 4611686018427387904.0) {
		PyErr_SetString(PyExc_OverflowError, "timeout is too large");
		return -1;
	}
	*ns = (long long)(s * 1e9);
	return 0;
}

int mvpy_shape(PyObject *obj, Py_ssize_t shape[MV_MAXDIM], int *ndim)
{
	PyObject *seq;
	Py_ssize_t n, i;

	*ndim = -1;
	if (obj == NULL || obj == Py_None)
		return 0;
	if (PyUnicode_Check(obj) || PyBytes_Check(obj) || PyByteArray_Check(obj)) {
		PyErr_SetString(PyExc_TypeError, "shape must be a list or a tuple of integers");
		return -1;
	}
	seq = PySequence_Fast(obj, "shape must be a list or a tuple of integers");
	if (!seq)
		return -1;
	n = PySequence_Fast_GET_SIZE(seq);
	if (n > MV_MAXDIM) {
		Py_DECREF(seq);
		/* memoryview.cast's message for the same mistake. */
		PyErr_Format(PyExc_ValueError,
			     "memoryview: number of dimensions must not exceed %d", MV_MAXDIM);
		return -1;
	}
	for (i = 0; i < n; i++) {
		PyObject *item = PySequence_Fast_GET_ITEM(seq, i);

		/* __index__, so numpy integers work as they do in numpy shapes. */
		shape[i] = PyNumber_AsSsize_t(item, PyExc_OverflowError);
		if (shape[i] == -1 && PyErr_Occurred()) {
			Py_DECREF(seq);
			return -1;
		}
	}
	Py_DECREF(seq);
	*ndim = (int)n;
	return 0;
}

const char *mvpy_cstr(PyObject *obj, const char *what)
{
	Py_ssize_t len;
	const char *s;

	if (!PyUnicode_Check(obj)) {
		PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s", what,
			     Py_TYPE(obj)->tp_name);
		return NULL;
	}
	s = PyUnicode_AsUTF8AndSize(obj, &len);
	if (!s)
		return NULL;
	if ((size_t)len != strlen(s)) {
		PyErr_Format(PyExc_ValueError, "%s: embedded null character", what);
		return NULL;
	}
	return s;
}

PyObject *mvpy_shape_tuple(const Py_ssize_t *shape, int ndim)
{
	PyObject *t = PyTuple_New(ndim > 0 ? ndim : 0);
	int i;

	for (i = 0; t && i < ndim; i++) {
		PyObject *d = PyLong_FromSsize_t(shape[i]);

		if (!d) {
			Py_CLEAR(t);
			break;
		}
		PyTuple_SET_ITEM(t, i, d);
	}
	return t;
}

/* ------------------------------------------------------------------ lock, buffers, fork */

volatile unsigned long mvpy_fork_generation;

static void forked_child(void)
{
	mvpy_fork_generation++;
}

void mvpy_lock(pthread_mutex_t *mu)
{
	if (pthread_mutex_trylock(mu) == 0)
		return;
	Py_BEGIN_ALLOW_THREADS
	pthread_mutex_lock(mu);
	Py_END_ALLOW_THREADS
}

void mvpy_fill_buffer(Py_buffer *view, PyObject *obj, mv_buffer *rec)
{
	/* The record lives until bf_releasebuffer, so its shape and strides stay valid. */
	view->buf = rec->buf;
	view->obj = Py_NewRef(obj);
	view->len = rec->len;
	view->itemsize = rec->itemsize;
	view->readonly = rec->readonly;
	view->ndim = rec->ndim;
	view->format = (char *)rec->format;
	view->shape = rec->shape;
	view->strides = rec->strides;
	view->suboffsets = NULL;
	view->internal = rec;
}

/* ------------------------------------------------------------------ the module */

PyDoc_STRVAR(module_doc,
"The C part of memview: libmemview's segments and channels as Python objects.\n"
"\n"
"Import memview, not this module.");

static struct PyModuleDef memview_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "memview._memview",
	.m_doc = module_doc,
	.m_size = -1,
};

PyMODINIT_FUNC PyInit__memview(void);

PyMODINIT_FUNC PyInit__memview(void)
{
	PyObject *m = PyModule_Create(&memview_module);

	if (!m)
		return NULL;
	if (pthread_atfork(NULL, NULL, forked_child) != 0) {
		Py_DECREF(m);
		return PyErr_NoMemory();
	}
	if (PyModule_AddStringConstant(m, "__version__", MEMVIEW_PY_VERSION) < 0 ||
	    PyModule_AddIntConstant(m, "SEAL_GROW", MV_SEAL_GROW) < 0 ||
	    PyModule_AddIntConstant(m, "SEAL_FUTURE_WRITE", MV_SEAL_FUTURE_WRITE) < 0 ||
	    PyModule_AddIntConstant(m, "MAX_HOLDERS", MV_SEGMENT_MAX_HOLDERS) < 0 ||
	    PyModule_AddIntConstant(m, "MAX_CONSUMERS", MV_CHAN_MAX_CONSUMERS) < 0 ||
	    PyModule_AddIntConstant(m, "MAXDIM", MV_MAXDIM) < 0 || mvpy_segment_ready(m) < 0 ||
	    mvpy_channel_ready(m) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
