/*
 * memview/error.h - the error vocabulary and the last-error message.
 *
 * Every fallible memview function returns 0 (or a non-negative count or size) on success and a
 * negative errno on failure. It never sets errno, never prints and never aborts. The failure's
 * detail - CPython's own wording where CPython has one - is kept per thread and read with
 * mv_errmsg().
 *
 * The errno vocabulary (CPython exception -> memview):
 *   -EBUSY      BufferError: exports exist, the operation would invalidate exported memory
 *   -EROFS      TypeError for writing read-only memory, or a writable request on a readonly exporter
 *   -EINVAL     other TypeError and ValueError: bad format, shape, cast, size mismatch, bad argument
 *   -ERANGE     IndexError, or a value out of range for the format
 *   -ENOTSUP    NotImplementedError: unsupported format, sub-views, ...
 *   -EBADF      ValueError for a released view
 *   -EOVERFLOW  arithmetic overflow in sizes
 *   -ENOMEM     allocation failed
 *   -ENOBUFS    a caller's output buffer is too small (the message says how many bytes are needed)
 *   -EBADMSG    a corrupt segment header or channel
 *   and, from the segment, channel and io_uring modules, the system's own: -EPERM, -ENOENT,
 *   -EEXIST, -EACCES, -ENOSPC, -EAGAIN, -ETIMEDOUT, -EPIPE, -ENOSYS, -EFAULT, -EMFILE
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_ERROR_H
#define MEMVIEW_ERROR_H

#include "memview/common.h"

MV_BEGIN_DECLS

/*
 * mv_errmsg - the one-line message of the last failure in the calling thread.
 *
 * Returns a pointer to thread-local storage, valid until the next memview call in this thread
 * fails. Successful calls do not clear it. Never NULL ("" before any failure).
 * Thread-safety: each thread has its own message.
 */
MV_EXPORT const char *mv_errmsg(void);

/*
 * mv_strerror - a short description of a memview return code.
 *
 * @err: a value returned by a memview function (negative errno or 0).
 *
 * Returns a static string such as "EBUSY: the memory is exported (views or I/O hold it)" for
 * -EBUSY. Never NULL.
 */
MV_EXPORT const char *mv_strerror(int err);

MV_END_DECLS

#endif /* MEMVIEW_ERROR_H */
