/*
 * python/src/binding.h - what the files of the memview CPython extension (_memview) share: the
 * object types, errno -> exception, timeouts, and the per-object lock that keeps a library
 * handle to one thread at a time while the GIL is released.
 *
 * The binding is the normal (not the limited) C API: it fills Py_buffer records straight from
 * libmemview's mv_buffer records, which the limited API of 3.11 can do only through extra calls
 * on every export, and the module is built per interpreter anyway (by the project's build, or
 * by pip). No logic of the library is repeated here: every check that decides something about a
 * segment or a channel is libmemview's, and its message is the exception's.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_PY_BINDING_H
#define MEMVIEW_PY_BINDING_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>

#include <memview.h>

/* Blocking calls wait in slices this long, so that Ctrl-C and other threads get a turn. */
#define MVPY_SLICE_NS 50000000LL

/* ------------------------------------------------------------------ types (one per file) */

extern PyTypeObject MvpySegment_Type;
extern PyTypeObject MvpyChannel_Type;
extern PyTypeObject MvpyLoan_Type;
extern PyTypeObject MvpyMessage_Type;

/* Named tuples (struct sequences) of info(), holders() and stats(). */
extern PyTypeObject *MvpySegmentInfo_Type;
extern PyTypeObject *MvpyHolder_Type;
extern PyTypeObject *MvpyChannelStats_Type;

int mvpy_segment_ready(PyObject *module);
int mvpy_channel_ready(PyObject *module);

/* ------------------------------------------------------------------ errors */

/*
 * The longest message kept from mv_errmsg() across a GIL-free section (the message is
 * per-thread, and later library calls in the same section could overwrite it).
 */
#define MVPY_MSG_MAX 512

/*
 * mvpy_error - raise the exception for a negative errno @err with message @msg (NULL: the
 * calling thread's mv_errmsg() now). Returns NULL, for "return mvpy_error(rc, NULL);".
 *   -EBUSY BufferError, -EROFS TypeError, -EINVAL and -ERANGE ValueError, -ENOTSUP
 *   NotImplementedError, -EOVERFLOW OverflowError, -ENOMEM MemoryError; every other errno
 *   OSError(errno, message), which Python turns into its subclass (FileExistsError,
 *   FileNotFoundError, PermissionError, TimeoutError, BrokenPipeError, BlockingIOError, ...).
 */
PyObject *mvpy_error(int err, const char *msg);

/*
 * mvpy_buffer_error - the same for a failed bf_getbuffer: what a consumer asked for that the
 * exporter refuses is BufferError (as PyBuffer_FillInfo raises it), a released view ValueError
 * (as memoryview raises it); anything else as mvpy_error(). Returns -1.
 */
int mvpy_buffer_error(int err);

/* mvpy_keep_msg - copy the calling thread's mv_errmsg() into @buf (MVPY_MSG_MAX bytes). */
void mvpy_keep_msg(char *buf);

/* ------------------------------------------------------------------ arguments */

/*
 * mvpy_timeout - a timeout argument: None (wait forever: -1) or seconds >= 0, as a number of
 * nanoseconds in *@ns. Returns 0, or -1 with ValueError (negative, NaN) or OverflowError.
 */
int mvpy_timeout(PyObject *obj, long long *ns);

/* mvpy_now_ns - CLOCK_MONOTONIC in nanoseconds (for deadlines across slices). */
long long mvpy_now_ns(void);

/*
 * mvpy_shape - a shape argument (None, or a sequence of at most MV_MAXDIM integers) into
 * @shape, with the number of dimensions in *@ndim (-1 for None). Returns 0 or -1 with an
 * exception (TypeError, ValueError as memoryview.cast raises them, OverflowError).
 */
int mvpy_shape(PyObject *obj, Py_ssize_t shape[MV_MAXDIM], int *ndim);

/*
 * mvpy_cstr - a str argument as UTF-8 for the library, or NULL with ValueError for an embedded
 * NUL (as os functions raise it) or TypeError for another type. @what names the argument.
 */
const char *mvpy_cstr(PyObject *obj, const char *what);

/* mvpy_shape_tuple - ndim entries of @shape as a tuple of ints. */
PyObject *mvpy_shape_tuple(const Py_ssize_t *shape, int ndim);

/* ------------------------------------------------------------------ the one-thread lock */

/*
 * mvpy_lock - take @mu for the calling thread, which holds the GIL: at once if it is free,
 * otherwise with the GIL released while waiting, so that the holder - which may be waiting
 * for the GIL itself after a blocking call - can finish. Never blocks with the GIL held.
 */
void mvpy_lock(pthread_mutex_t *mu);

/*
 * mvpy_fork_generation - bumped in the child by every fork() (pthread_atfork). A channel
 * handle records it when made: a forked child's copy must not close the parent's channel or
 * hand back the parent's slots (mv_chan(3): liveness and memory are per handle, not per
 * process), so the child may not use it at all.
 */
extern volatile unsigned long mvpy_fork_generation;

/* mvpy_fill_buffer - copy a libmemview buffer record into a Py_buffer for @obj (new ref). */
void mvpy_fill_buffer(Py_buffer *view, PyObject *obj, mv_buffer *rec);

#endif /* MEMVIEW_PY_BINDING_H */
