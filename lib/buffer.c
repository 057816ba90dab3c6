/*
 * lib/buffer.c - the exporter protocol: taking and giving back buffer records, export counting.
 *
 * An exporter's count is one atomic long. Taking an export increments it unless it is negative,
 * which means an invalidating operation (resize, free, unmap) holds the exporter; that operation
 * got there by turning 0 into LONG_MIN with one compare-and-swap, so "no exports" and "no new
 * exports until I am done" are decided in the same atomic step.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <limits.h>
#include <string.h>

#define EXPORTS_LOCKED LONG_MIN

int mv_exports_acquire(mv_exporter *exp)
{
	long n;

	if (__libc_single_threaded) { /* no other thread to race with: no locked instruction */
		if (unlikely(exp->exports < 0))
			return mv_fail(EBUSY, "%s: the memory is being resized or freed",
				       exp->ops->name);
		exp->exports++;
		return 0;
	}
	n = __atomic_load_n(&exp->exports, __ATOMIC_RELAXED);

	do {
		if (unlikely(n < 0))
			return mv_fail(EBUSY, "%s: the memory is being resized or freed",
				       exp->ops->name);
	} while (!__atomic_compare_exchange_n(&exp->exports, &n, n + 1, true, __ATOMIC_ACQUIRE,
					      __ATOMIC_RELAXED));
	return 0;
}

void mv_exports_drop(mv_exporter *exp)
{
	if (__libc_single_threaded)
		--exp->exports;
	else
		__atomic_fetch_sub(&exp->exports, 1, __ATOMIC_RELEASE);
}

void mv_exports_add_held(mv_exporter *exp)
{
	mv_count_inc(&exp->exports);
}

long mv_exports_lock(mv_exporter *exp)
{
	long n = 0;

	if (__atomic_compare_exchange_n(&exp->exports, &n, EXPORTS_LOCKED, false, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
		return 0;
	/* Another invalidating operation in progress counts as busy too. */
	return n < 0 ? 1 : n;
}

void mv_exports_unlock(mv_exporter *exp)
{
	__atomic_store_n(&exp->exports, 0, __ATOMIC_RELEASE);
}

int mv_buffer_get(mv_buffer *out, mv_exporter *exp, unsigned flags)
{
	mv_buffer b;
	int rc;

	MV_CHECK_ARG(out, "out");
	MV_CHECK_ARG(exp && exp->ops && exp->ops->get, "exp");
	MV_CHECK_SIZED(exp->ops, mv_exporter_ops, a .size of sizeof(mv_exporter_ops));
	if (flags & ~MV_BUF_ALL_FLAGS)
		return mv_fail(EINVAL, "mv_buffer_get: unknown request flags 0x%x",
			       flags & ~MV_BUF_ALL_FLAGS);

	memset(&b, 0, sizeof(b));
	b.obj = exp;
	rc = mv_exports_acquire(exp);
	if (rc < 0)
		return rc;
	rc = exp->ops->get(exp, &b, flags);
	if (rc < 0) {
		mv_exports_drop(exp);
		return rc;
	}
	*out = b;
	out->obj = exp;
	/* Keep PyBuffer_FillInfo-style self-references pointing into the caller's record. */
	if (b.shape == &b.len)
		out->shape = &out->len;
	if (b.strides == &b.itemsize)
		out->strides = &out->itemsize;
	return 0;
}

int mv_buffer_release(mv_buffer *buf)
{
	mv_exporter *exp;

	if (!buf)
		return 0;
	exp = buf->obj;
	if (!exp)
		return 0;
	if (exp->ops->release)
		exp->ops->release(exp, buf);
	buf->obj = NULL;
	mv_exports_drop(exp);
	return 0;
}

int mv_buffer_fill(mv_buffer *buf, mv_exporter *exp, void *mem, ssize_t len, int readonly,
		   unsigned flags)
{
	MV_CHECK_ARG(buf, "buf");
	MV_CHECK_ARG(mem || len == 0, "mem");
	MV_CHECK_ARG(len >= 0, "len");
	if ((flags & MV_BUF_WRITABLE) && readonly)
		return mv_fail(EROFS, "%s: Object is not writable.", exp ? exp->ops->name : "buffer");

	buf->obj = exp;
	buf->buf = mem;
	buf->len = len;
	buf->readonly = readonly != 0;
	buf->itemsize = 1;
	buf->format = (flags & MV_BUF_FORMAT) ? "B" : NULL;
	buf->ndim = 1;
	buf->shape = ((flags & MV_BUF_ND) == MV_BUF_ND) ? &buf->len : NULL;
	buf->strides = ((flags & MV_BUF_STRIDES) == MV_BUF_STRIDES) ? &buf->itemsize : NULL;
	buf->suboffsets = NULL;
	buf->internal = NULL;
	return 0;
}

/* Dimensions longer than one item: a layout with at most one is C and F order at once. */
static int long_dims(const mv_buffer *b)
{
	int i, n = 0;

	for (i = 0; i < b->ndim; i++)
		n += b->shape[i] > 1;
	return n;
}

/* CPython's _IsCContiguous / _IsFortranContiguous, one loop in either direction. */
static int is_contiguous_in(const mv_buffer *b, int fortran)
{
	ssize_t expected = b->itemsize;
	int i;

	if (b->len == 0)
		return 1;
	if (!b->strides) /* no strides means C order */
		return !fortran || b->ndim <= 1 || !b->shape || long_dims(b) <= 1;
	for (i = 0; i < b->ndim; i++) {
		int d = fortran ? i : b->ndim - 1 - i;
		ssize_t dim = b->shape[d];

		if (dim > 1 && b->strides[d] != expected)
			return 0;
		expected *= dim;
	}
	return 1;
}

int mv_buffer_is_contiguous(const mv_buffer *buf, char order)
{
	MV_CHECK_ARG(buf, "buf");
	if (buf->suboffsets)
		return 0;
	switch (order) {
	case 'C':
		return is_contiguous_in(buf, 0);
	case 'F':
		return is_contiguous_in(buf, 1);
	case 'A':
		return is_contiguous_in(buf, 0) || is_contiguous_in(buf, 1);
	default:
		return mv_fail(EINVAL, "order must be 'C', 'F' or 'A'");
	}
}

long mv_exporter_exports(const mv_exporter *exp)
{
	MV_CHECK_ARG(exp, "exp");
	return mv_exports_now(exp);
}
