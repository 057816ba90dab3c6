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

/*
 * Versioned structs: every public struct the library fills or reads from the caller (options,
 * info, stats, results, exporter operations) starts with "size_t size", which the caller sets to
 * the sizeof it was compiled with (the *_INIT macros do). A later library that grows a struct
 * reads and writes only what the caller's size covers; this one needs at least the 1.0 layout.
 * When a field is added, compare with the type's 1.0 size here instead of its sizeof.
 */
#define MV_CHECK_SIZED(p, type, init)                                                        \
	do {                                                                                 \
		if (unlikely(!(p)))                                                          \
			return mv_fail(EINVAL, "%s: invalid argument: %s", __func__, #p);   \
		if (unlikely((p)->size < sizeof(type)))                                      \
			return mv_fail(EINVAL, "%s: " #type ".size is %zu, less than its "   \
					       "1.0 size %zu: start from " #init,           \
				       __func__, (p)->size, sizeof(type));                   \
	} while (0)

/*
 * Counts a process changes on its hottest paths (view families on every derive and release,
 * exports of a slot per I/O). A lock-prefixed add costs tens of nanoseconds; while the process
 * has only one thread (glibc's __libc_single_threaded, what libstdc++'s shared_ptr also relies
 * on) a plain add is enough. The flag only ever goes from true to false, at thread creation,
 * which orders everything before it. Only for counts private to the process.
 */
#include <sys/single_threaded.h>

static inline void mv_count_inc(long *p)
{
	if (__libc_single_threaded)
		++*p;
	else
		__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
}

/* Returns the count after the decrement. */
static inline long mv_count_dec(long *p)
{
	if (__libc_single_threaded)
		return --*p;
	return __atomic_sub_fetch(p, 1, __ATOMIC_ACQ_REL);
}

/* a * b and a + b for sizes; false on overflow. */
static inline bool mv_mul_ok(ssize_t a, ssize_t b, ssize_t *r)
{
	return !__builtin_mul_overflow(a, b, r);
}
static inline bool mv_add_ok(ssize_t a, ssize_t b, ssize_t *r)
{
	return !__builtin_add_overflow(a, b, r);
}

/*
 * Bytes an array of @ndim dimensions of @itemsize-byte items covers (0 when a dimension is 0),
 * or -1 when the shape is invalid: a negative dimension, or a product of the itemsize and the
 * non-zero dimensions that does not fit in ssize_t. This is numpy's rule ("array is too big"):
 * a zero dimension makes the array empty but does not excuse the others, because strides are
 * products of the other dimensions in C or Fortran order and must be representable whichever
 * order code multiplies them in. Every shape memview accepts (exporter records, segment headers,
 * segment and channel options) passes through here, so every partial product of a shape the
 * library holds fits in ssize_t.
 */
static inline ssize_t mv_shape_nbytes(ssize_t itemsize, int ndim, const ssize_t *shape)
{
	ssize_t product = itemsize;
	bool empty = false;
	int i;

	for (i = 0; i < ndim; i++) {
		if (shape[i] < 0)
			return -1;
		if (shape[i] == 0)
			empty = true;
		else if (!mv_mul_ok(product, shape[i], &product))
			return -1;
	}
	return empty ? 0 : product;
}

/*
 * One-byte OFD locks (lib/ofd_lock.c). mv_ofd_lock() sets (F_RDLCK, F_WRLCK) or drops (F_UNLCK)
 * the lock on byte @byte of @fd without waiting: 0, -EBUSY when another open file description
 * holds a conflicting one, or another -errno. mv_ofd_test() asks whether another description
 * holds a lock that conflicts with @type: 1, 0, or -errno.
 */
MV_HIDDEN int mv_ofd_lock(int fd, off_t byte, short type);
MV_HIDDEN int mv_ofd_test(int fd, off_t byte, short type);
/*
 * mv_ofd_lock() that waits up to @timeout_ms for a conflicting lock to go (retrying with short
 * sleeps; no signals): 0, -EBUSY when it is still held at the deadline, or another -errno.
 */
MV_HIDDEN int mv_ofd_lock_wait(int fd, off_t byte, short type, unsigned timeout_ms);

/* SipHash-1-3 of @len bytes with an all-zero key (lib/hash.c): checksums of on-memory formats. */
MV_HIDDEN uint64_t mv_siphash13(const void *data, size_t len);

/* Export counting shared by every exporter (lib/buffer.c). */

/* Take one export unless an invalidating operation holds the exporter. */
MV_HIDDEN int mv_exports_acquire(mv_exporter *exp);
MV_HIDDEN void mv_exports_drop(mv_exporter *exp);
/*
 * One more export of an exporter that a live view already holds one of (an I/O prepared from
 * the view): the count is above zero, so no invalidating operation can hold the exporter and no
 * lock check is needed. Give it back with mv_exports_drop().
 */
MV_HIDDEN void mv_exports_add_held(mv_exporter *exp);
/*
 * Lock out new exports for an operation that invalidates memory (resize, free, unmap):
 * atomically turns an export count of 0 into "locked". Returns 0 when locked, else the number of
 * exports that exist (the caller then fails with -EBUSY and its own message). Pair with
 * mv_exports_unlock() unless the exporter is being freed.
 */
MV_HIDDEN long mv_exports_lock(mv_exporter *exp);
MV_HIDDEN void mv_exports_unlock(mv_exporter *exp);
/* mv_exporter_exports() for the library's own hot paths: inline, no argument check. */
static inline long mv_exports_now(const mv_exporter *exp)
{
	long n = __atomic_load_n(&exp->exports, __ATOMIC_ACQUIRE);

	return n < 0 ? 0 : n;
}

/* The managed buffer: one export shared by a family of views (lib/view.c). */
struct mv_managed {
	long refs;         /* views of the family alive (atomic) */
	int embedded;      /* storage an exporter keeps (mv_view_from_tmpl): never freed */
	mv_buffer master;  /* the family's one export (embedded: only obj, buf and len are set) */
};

/*
 * View templates, for exporters that hand out many short-lived views of memory whose typing
 * never changes (a channel's slots): a view made once by mv_view_from() and kept as a pattern,
 * and the buffer record it came from. A view made from it copies the pattern - no allocation,
 * no get(), no format parse, no layout computed - takes the export itself, and lives in a
 * managed buffer the exporter keeps. The exporter must have at most one family per storage.
 */
struct mv_view_tmpl {
	mv_view view;      /* the pattern: its mbuf is NULL */
	mv_buffer master;  /* the record it was made from */
};

/* Make @t from a view of @exp taken with @flags (released again at once). ndim <= 8. */
MV_HIDDEN int mv_view_tmpl_init(struct mv_view_tmpl *t, mv_exporter *exp, unsigned flags);
/*
 * A view like @t's over @buf, in @m, holding one export of @exp. With @nbytes >= 0 the pattern
 * must be 1-D bytes ('B'), and the view covers @nbytes bytes. Returns 0 or -EBUSY (the exporter
 * is locked by an invalidating operation).
 */
MV_HIDDEN int mv_view_from_tmpl(mv_view *out, const struct mv_view_tmpl *t, struct mv_managed *m,
				mv_exporter *exp, char *buf, ssize_t nbytes);

/*
 * Whether @v is a live view of @exp (its family holds @exp's export): -1 if not; else 1 when it
 * is the only view of its family and lends no buffer record, so that releasing it gives the
 * export back, 0 when it is not. For exporters that must know a view is the last one (a
 * channel's loaned slot at send). Inline, as the two below: they are on every message's path.
 */
static inline int mv_view_sole_of(const mv_view *v, const mv_exporter *exp)
{
	if (!v->mbuf || v->mbuf->master.obj != exp)
		return -1;
	return __atomic_load_n(&v->mbuf->refs, __ATOMIC_ACQUIRE) == 1 &&
	       __atomic_load_n(&v->exporter.exports, __ATOMIC_ACQUIRE) == 0;
}

/* The exporter whose export @v's family holds, or NULL for a released view. */
static inline const mv_exporter *mv_view_family_exporter(const mv_view *v)
{
	return v->mbuf ? v->mbuf->master.obj : NULL;
}

/*
 * End @v, a template-made view that mv_view_sole_of() just found to be its family's only one,
 * and give the family's export back, without calling the exporter's release (the caller is the
 * exporter, handing the memory on itself: a channel's send of its loan). ~70 instructions fewer
 * than mv_view_release() on a channel's every message.
 */
static inline void mv_view_end_sole(mv_view *v)
{
	struct mv_managed *m = v->mbuf;
	mv_exporter *exp = m->master.obj;

	v->mbuf = NULL;
	m->refs = 0;
	m->master.obj = NULL;
	mv_exports_drop(exp);
}

#endif /* MEMVIEW_INTERNAL_H */
