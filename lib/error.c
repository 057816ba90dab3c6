/*
 * lib/error.c - the per-thread last-error message and the errno vocabulary's descriptions.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

/* One line; long enough for any message memview writes, truncated otherwise. */
static _Thread_local char last_error[256];

int mv_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return -err;
}

const char *mv_errmsg(void)
{
	return last_error;
}

const char *mv_strerror(int err)
{
	if (err > 0 || err < -4095)
		return "unknown memview error";
	switch (-err) {
	case 0: return "success";
	case EBUSY: return "EBUSY: the memory is exported (views or I/O hold it)";
	case EROFS: return "EROFS: the memory is read-only";
	case EINVAL: return "EINVAL: invalid argument, format, shape or cast";
	case ERANGE: return "ERANGE: index or value out of range";
	case ENOTSUP: return "ENOTSUP: not implemented for this view or format";
	case EBADF: return "EBADF: the view is released";
	case EOVERFLOW: return "EOVERFLOW: size arithmetic overflows";
	case ENOMEM: return "ENOMEM: out of memory";
	case ENOBUFS: return "ENOBUFS: output buffer too small";
	case EBADMSG: return "EBADMSG: corrupt segment header or channel";
	case EPERM: return "EPERM: not permitted (seals, io_uring disabled, or policy)";
	case ENOENT: return "ENOENT: no such segment or channel";
	case EEXIST: return "EEXIST: a segment of that name exists";
	case EACCES: return "EACCES: permission denied";
	case ENOSPC: return "ENOSPC: no space left for the segment";
	case EAGAIN: return "EAGAIN: would wait (no free slot, no message, queue full)";
	case ETIMEDOUT: return "ETIMEDOUT: the timeout passed";
	case EPIPE: return "EPIPE: the peer is gone";
	case ENOSYS: return "ENOSYS: the kernel lacks io_uring";
	case EFAULT: return "EFAULT: memory the kernel cannot use";
	case EMFILE: return "EMFILE: too many open files";
	default: return "unknown memview error";
	}
}
