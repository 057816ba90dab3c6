/*
 * lib/internal.h - private helpers shared by the library's modules: error reporting, argument
 * checks, checked size arithmetic, atomics. Nothing here is exported.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_INTERNAL_H
#define MEMVIEW_INTERNAL_H

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memview.h"

#define MV_HIDDEN __attribute__((visibility("hidden")))
#define MV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#ifndef SSIZE_MAX
#define SSIZE_MAX ((ssize_t)(SIZE_MAX >> 1))
#endif

/*
 * Record the thread's last-error message and return -err, so a failure is one statement:
 *     return mv_fail(EINVAL, "memoryview: invalid type for format '%s'", fmt);
 */
MV_HIDDEN int mv_fail(int err, const char *fmt, ...) MV_PRINTF(2, 3);

/* NULL-argument check at the door of a public function. */
#define MV_CHECK_ARG(cond, name)                                                          \
	do {                                                                              \
		if (unlikely(!(cond)))                                                    \
			return mv_fail(EINVAL, "%s: invalid argument: %s", __func__, name); \
	} while (0)

/* a * b and a + b for sizes; false on overflow. */
static inline bool mv_mul_ok(ssize_t a, ssize_t b, ssize_t *r)
{
	return !__builtin_mul_overflow(a, b, r);
}
static inline bool mv_add_ok(ssize_t a, ssize_t b, ssize_t *r)
{
	return !__builtin_add_overflow(a, b, r);
}

/* Export counting shared by every exporter (lib/buffer.c). */

/* Take one export unless an invalidating operation holds the exporter. */
MV_HIDDEN int mv_exports_acquire(mv_exporter *exp);
MV_HIDDEN void mv_exports_drop(mv_exporter *exp);
/*
 * Lock out new exports for an operation that invalidates memory (resize, free, unmap):
 * atomically turns an export count of 0 into "locked". Returns 0 when locked, else the number of
 * exports that exist (the caller then fails with -EBUSY and its own message). Pair with
 * mv_exports_unlock() unless the exporter is being freed.
 */
MV_HIDDEN long mv_exports_lock(mv_exporter *exp);
MV_HIDDEN void mv_exports_unlock(mv_exporter *exp);

#endif /* MEMVIEW_INTERNAL_H */
