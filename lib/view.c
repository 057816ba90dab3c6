/*
 * lib/view.c - views: creating, deriving (slice, cast, readonly), releasing, attributes, items.
 *
 * The semantics are CPython 3.13's memoryobject.c, rule for rule and message for message; the
 * output functions are in view_output.c and comparison and hashing in view_compare.c.
 *
 * Slightly over the library's 900-line mark on purpose: creation, derivation and release share
 * the view's private layout and its fast paths (a derive that cannot fail, a release that gives
 * the family's export back), and splitting them would put that layout in a header for two files.
 *
 * SPDX-License-Identifier: MIT
 */
#include "view_internal.h"
#include "format_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static int view_get(mv_exporter *self, mv_buffer *buf, unsigned flags);

static const mv_exporter_ops view_ops = {
	.size = sizeof(mv_exporter_ops),
	.name = "memoryview",
	.get = view_get,
};

#define VIEW_OF(exp) ((mv_view *)((char *)(exp) - offsetof(mv_view, exporter)))

/*
 * GCC's straight-line vectoriser pairs the length and itemsize stores of the fast derives into
 * one 16-byte store, and the derive or release that reads them back 8 bytes at a time waits
 * for it (about 1 ns per derive+release here). Plain stores for those functions.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_SLP __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define NO_SLP
#endif

/* ------------------------------------------------------------------ family bookkeeping */

/*
 * The last view of a family is gone: give the export back (out of the derive/release path of
 * views derived from one another; not cold, though: every message a channel hands out is a
 * family of its own, released here). Returns 0.
 */
static __attribute__((noinline)) int managed_last(struct mv_managed *m)
{
	int embedded = m->embedded; /* read first: the release may hand @m on */

	mv_buffer_release(&m->master);
	if (!embedded)
		free(m);
	return 0;
}

/*
 * Fill @out's header like @src's, with @ndim dimensions and shape and strides at @heap (NULL:
 * inline): everything but shape and strides, field by field - the inline dimensions are most
 * of the struct and are the caller's to fill, only @ndim of them. The family's count is the
 * caller's too.
 */
static inline void view_fill(mv_view *out, const mv_view *src, int ndim, ssize_t *heap)
{
	out->exporter.ops = &view_ops;
	out->exporter.exports = 0;
	out->mbuf = src->mbuf;
	out->buf = src->buf;
	out->len = src->len;
	out->itemsize = src->itemsize;
	out->format = src->format;
	out->fmt = src->fmt;
	out->ndim = ndim;
	out->readonly = src->readonly;
	out->flags = src->flags & ~MVF_HASHED; /* a derived view hashes anew */
	out->hash = 0;
	out->dims_heap = heap;
}

/*
 * Fill all of @out as a 1-D member of @src's family (the count is the caller's): @count items
 * of @itemsize bytes @stride apart from @buf, format @format parsed as *@fmt, contiguity
 * @flags. Each field is written once (the fast derives).
 */
static inline void view_set_1d(mv_view *out, const mv_view *src, char *buf, ssize_t itemsize,
			       const char *format, const mv_format *fmt, ssize_t count,
			       ssize_t stride, unsigned flags)
{
	out->exporter.ops = &view_ops;
	out->exporter.exports = 0;
	out->mbuf = src->mbuf;
	out->buf = buf;
	out->len = itemsize * count;
	out->itemsize = itemsize;
	out->format = format;
	out->fmt = *fmt;
	out->ndim = 1;
	out->readonly = src->readonly;
	out->flags = flags;
	out->hash = 0;
	out->dims_heap = NULL;
	out->dims[0] = count;
	out->dims[MV_VIEW_INLINE_NDIM] = stride;
}

/*
 * Start @out as a new member of @src's family with @ndim dimensions: everything but shape and
 * strides is copied. Allocates only when @ndim exceeds the inline dimensions.
 */
static inline int view_join(mv_view *out, const mv_view *src, int ndim)
{
	ssize_t *heap = NULL;

	if (unlikely(ndim > MV_VIEW_INLINE_NDIM)) {
		heap = malloc(2 * (size_t)ndim * sizeof(ssize_t));
		if (!heap)
			return mv_fail(ENOMEM, "cannot allocate %d dimensions", ndim);
	}
	view_fill(out, src, ndim, heap);
	mv_count_inc(&src->mbuf->refs);
	return 0;
}

/* A copy of @src with its own shape and strides, in the same family. */
static int view_dup(mv_view *out, const mv_view *src)
{
	const ssize_t *sshape, *sstrides;
	ssize_t *shape, *strides;
	int i, rc = view_join(out, src, src->ndim);

	if (unlikely(rc < 0))
		return rc;
	sshape = view_shape(src);
	sstrides = view_strides(src);
	shape = view_shape(out);
	strides = view_strides(out);
	for (i = 0; i < src->ndim; i++) {
		shape[i] = sshape[i];
		strides[i] = sstrides[i];
	}
	return 0;
}

/* C-order strides for the view's shape (CPython's init_strides_from_shape). */
static void init_strides_from_shape(mv_view *v)
{
	ssize_t *shape = view_shape(v), *strides = view_strides(v);
	int i;

	if (v->ndim == 0)
		return;
	strides[v->ndim - 1] = v->itemsize;
	for (i = v->ndim - 2; i >= 0; i--)
		strides[i] = strides[i + 1] * shape[i + 1];
}

static int layout_contiguous(const mv_view *v, int fortran)
{
	const ssize_t *shape = view_shape(v), *strides = view_strides(v);
	ssize_t expected = v->itemsize;
	int i;

	if (v->len == 0)
		return 1;
	for (i = 0; i < v->ndim; i++) {
		int d = fortran ? i : v->ndim - 1 - i;

		if (shape[d] > 1 && strides[d] != expected)
			return 0;
		expected *= shape[d];
	}
	return 1;
}

/* CPython's init_flags: the contiguity bits, computed once per view. */
static void init_flags(mv_view *v)
{
	const ssize_t *shape = view_shape(v), *strides = view_strides(v);

	switch (v->ndim) {
	case 0:
		v->flags = MVF_SCALAR | MVF_C | MVF_F;
		break;
	case 1:
		/* CPython tests only the one stride here, even for an empty view. */
		v->flags = (shape[0] == 1 || strides[0] == v->itemsize) ? MVF_C | MVF_F : 0;
		break;
	default:
		v->flags = (layout_contiguous(v, 0) ? MVF_C : 0) | (layout_contiguous(v, 1) ? MVF_F : 0);
		break;
	}
}

/* ------------------------------------------------------------------ creating, releasing */

/* Check the record an exporter returned before any view trusts it. */
static int check_record(const mv_buffer *b, mv_format *fmt)
{
	ssize_t n;

	if (b->suboffsets)
		return mv_fail(ENOTSUP, "memview: exporters with suboffsets are not supported");
	if (b->ndim < 0 || b->ndim > MV_MAXDIM)
		return mv_fail(EINVAL, "memoryview: number of dimensions must not exceed %d",
			       MV_MAXDIM);
	if (b->itemsize <= 0 || b->len < 0 || (!b->buf && b->len))
		return mv_fail(EINVAL, "%s: exporter returned an invalid buffer record",
			       b->obj->ops->name);
	if (b->ndim > 1 && !b->shape)
		return mv_fail(EINVAL, "%s: exporter gave %d dimensions without a shape",
			       b->obj->ops->name, b->ndim);
	if (mv_format_parse(fmt, b->format ? b->format : "B") < 0) {
		/* A format memview cannot read items of: viewable, but items are refused. */
		memset(fmt, 0, sizeof(*fmt));
	} else if (fmt->itemsize != b->itemsize) {
		return mv_fail(EINVAL, "%s: itemsize %zd does not match format '%s'",
			       b->obj->ops->name, b->itemsize, b->format);
	}
	if (b->shape) {
		n = mv_shape_nbytes(b->itemsize, b->ndim, b->shape);
		if (n < 0)
			return mv_fail(EINVAL, "%s: exporter returned an invalid shape (a negative "
					       "dimension, or product(shape) * itemsize overflows)",
				       b->obj->ops->name);
		if (n != b->len && b->ndim > 0)
			return mv_fail(EINVAL, "%s: shape does not match length %zd",
				       b->obj->ops->name, b->len);
	}
	if (b->ndim == 0 && b->len != b->itemsize)
		return mv_fail(EINVAL, "%s: 0-dim record of %zd bytes, itemsize %zd",
			       b->obj->ops->name, b->len, b->itemsize);
	return 0;
}

int mv_view_from(mv_view *out, mv_exporter *exp, unsigned flags)
{
	struct mv_managed *m;
	mv_buffer *b;
	mv_view v;
	int rc, i, ndim;

	MV_CHECK_ARG(out, "out");
	MV_CHECK_ARG(exp && exp->ops, "exp");

	if (exp->ops == &view_ops) {
		/* memoryview(memoryview): join the family, take no export from the view. */
		const mv_view *src = VIEW_OF(exp);

		MV_CHECK_ARG(src != out, "out (must be another view than the source)");
		CHECK_RELEASED(src);
		if ((flags & MV_BUF_WRITABLE) && src->readonly)
			return mv_fail(EROFS, "memoryview: underlying buffer is not writable");
		return view_dup(out, src);
	}

	m = malloc(sizeof(*m));
	if (!m)
		return mv_fail(ENOMEM, "cannot allocate a managed buffer");
	m->refs = 1;
	m->embedded = 0;
	b = &m->master;
	rc = mv_buffer_get(b, exp, flags ? flags : MV_BUF_FULL_RO);
	if (rc < 0) {
		free(m);
		return rc;
	}
	memset(&v, 0, sizeof(v));
	rc = check_record(b, &v.fmt);
	if (rc < 0)
		goto fail;

	ndim = b->ndim;
	v.exporter.ops = &view_ops;
	v.mbuf = m;
	v.buf = b->buf;
	v.len = b->len;
	v.itemsize = b->itemsize;
	v.format = v.fmt.code ? v.fmt.text : b->format;
	v.ndim = ndim;
	v.readonly = b->readonly;
	if (ndim > MV_VIEW_INLINE_NDIM) {
		v.dims_heap = malloc(2 * (size_t)ndim * sizeof(ssize_t));
		if (!v.dims_heap) {
			rc = mv_fail(ENOMEM, "cannot allocate %d dimensions", ndim);
			goto fail;
		}
	}
	if (ndim == 1 && !b->shape)
		view_shape(&v)[0] = b->len / b->itemsize;
	else
		for (i = 0; i < ndim; i++)
			view_shape(&v)[i] = b->shape[i];
	if (b->strides)
		for (i = 0; i < ndim; i++)
			view_strides(&v)[i] = b->strides[i];
	else
		init_strides_from_shape(&v);
	init_flags(&v);
	*out = v;
	return 0;
fail:
	mv_buffer_release(b);
	free(m);
	return rc;
}

int mv_view_tmpl_init(struct mv_view_tmpl *t, mv_exporter *exp, unsigned flags)
{
	mv_view v;
	int rc = mv_view_from(&v, exp, flags);

	if (rc < 0)
		return rc;
	if (v.ndim > MV_VIEW_INLINE_NDIM) {
		mv_view_release(&v);
		return mv_fail(EINVAL, "a view template has at most %d dimensions",
			       MV_VIEW_INLINE_NDIM);
	}
	t->view = v;
	/* What a fresh view's header holds, so that mv_view_from_tmpl() can copy it whole. */
	t->view.exporter.ops = &view_ops;
	t->view.exporter.exports = 0;
	t->view.mbuf = NULL;
	t->view.flags &= ~MVF_HASHED;
	t->view.hash = 0;
	t->view.dims_heap = NULL;
	t->master = v.mbuf->master;
	return mv_view_release(&v);
}

int mv_view_from_tmpl(mv_view *out, const struct mv_view_tmpl *t, struct mv_managed *m,
		      mv_exporter *exp, char *buf, ssize_t nbytes)
{
	int i, rc = mv_exports_acquire(exp);

	if (unlikely(rc < 0))
		return rc;
	m->refs = 1;
	m->embedded = 1;
	/* Of the family's record only the exporter, the memory and its length are ever read
	 * again (releasing, mv_view_obj(), hashing): the rest of the pattern's is not copied. */
	m->master.obj = exp;
	m->master.buf = buf;
	m->master.len = nbytes >= 0 ? nbytes : t->master.len;
	/*
	 * The pattern's header in one copy (a few vector moves: the template made it exactly what a
	 * fresh view's header is), then its dimensions, not all the inline ones.
	 */
	memcpy(out, &t->view, offsetof(mv_view, dims));
	for (i = 0; i < t->view.ndim; i++) {
		out->dims[i] = t->view.dims[i];
		out->dims[MV_VIEW_INLINE_NDIM + i] = t->view.dims[MV_VIEW_INLINE_NDIM + i];
	}
	out->mbuf = m;
	out->buf = buf;
	if (nbytes >= 0) {
		/* 1-D bytes: the length is the shape, and contiguity does not change. */
		out->len = nbytes;
		view_shape(out)[0] = nbytes;
	}
	return 0;
}

/* mv_view_release() of a view with exports or dimensions on the heap. */
static __attribute__((noinline, cold)) int release_slow(mv_view *v)
{
	long n = __atomic_load_n(&v->exporter.exports, __ATOMIC_ACQUIRE);
	struct mv_managed *m = v->mbuf;

	if (n > 0)
		return mv_fail(EBUSY, "memoryview has %ld exported buffer%s", n, n == 1 ? "" : "s");
	free(v->dims_heap);
	v->dims_heap = NULL;
	v->mbuf = NULL;
	if (mv_count_dec(&m->refs) == 0)
		return managed_last(m);
	return 0;
}

int mv_view_release(mv_view *v)
{
	struct mv_managed *m;

	if (unlikely(!v) || unlikely(!(m = v->mbuf)))
		return 0;
	if (unlikely((__atomic_load_n(&v->exporter.exports, __ATOMIC_ACQUIRE) > 0) |
		     (v->dims_heap != NULL)))
		return release_slow(v);
	v->mbuf = NULL;
	/* The view is released: the family's count last, which may give the export back. */
	if (unlikely(mv_count_dec(&m->refs) == 0))
		return managed_last(m);
	return 0;
}

void mv_view_cleanup(mv_view *v)
{
	if (v)
		(void)mv_view_release(v);
}

mv_exporter *mv_view_exporter(mv_view *v)
{
	if (v && !v->exporter.ops)
		v->exporter.ops = &view_ops; /* a zeroed (released) view still refuses with EBADF */
	return v ? &v->exporter : NULL;
}

/* A buffer taken from a view: CPython's memory_getbuf, rule for rule. */
static int view_get(mv_exporter *self, mv_buffer *buf, unsigned flags)
{
	mv_view *v = VIEW_OF(self);

	CHECK_RELEASED(v);
	if ((flags & MV_BUF_WRITABLE) && v->readonly)
		return mv_fail(EROFS, "memoryview: underlying buffer is not writable");
	if ((flags & MV_BUF_C_CONTIGUOUS) == MV_BUF_C_CONTIGUOUS && !(v->flags & MVF_C))
		return mv_fail(EINVAL, "memoryview: underlying buffer is not C-contiguous");
	if ((flags & MV_BUF_F_CONTIGUOUS) == MV_BUF_F_CONTIGUOUS && !(v->flags & MVF_F))
		return mv_fail(EINVAL, "memoryview: underlying buffer is not Fortran contiguous");
	if ((flags & MV_BUF_ANY_CONTIGUOUS) == MV_BUF_ANY_CONTIGUOUS &&
	    !(v->flags & (MVF_C | MVF_F)))
		return mv_fail(EINVAL, "memoryview: underlying buffer is not contiguous");
	if ((flags & MV_BUF_STRIDES) != MV_BUF_STRIDES && !(v->flags & MVF_C))
		return mv_fail(EINVAL, "memoryview: underlying buffer is not C-contiguous");
	if ((flags & MV_BUF_ND) != MV_BUF_ND && (flags & MV_BUF_FORMAT))
		return mv_fail(EINVAL, "memoryview: cannot cast to unsigned bytes if the format "
				       "flag is present");

	buf->buf = v->buf;
	buf->len = v->len;
	buf->itemsize = v->itemsize;
	buf->readonly = v->readonly;
	buf->format = (flags & MV_BUF_FORMAT) ? v->format : NULL;
	if ((flags & MV_BUF_ND) != MV_BUF_ND) {
		/* A simple request sees the memory as 1-D unsigned bytes. */
		buf->ndim = 1;
		buf->shape = NULL;
		buf->strides = NULL;
	} else {
		buf->ndim = v->ndim;
		buf->shape = view_shape(v);
		buf->strides = (flags & MV_BUF_STRIDES) == MV_BUF_STRIDES ? view_strides(v) : NULL;
	}
	buf->suboffsets = NULL;
	return 0;
}

/* ------------------------------------------------------------------ slicing */

/* An index of a step-1 slice: negative counts from the end, then clamped to [0, length]. */
static inline ssize_t clamp_index(ssize_t i, ssize_t length)
{
	if (i < 0)
		i += length;
	if (i < 0)
		i = 0;
	if (i > length)
		i = length;
	return i;
}

/*
 * PySlice_Unpack + PySlice_AdjustIndices: the slice's start and its number of items. @step is
 * not zero.
 */
static inline void slice_resolve(ssize_t length, ssize_t start, ssize_t stop, ssize_t step,
				 ssize_t *first, ssize_t *count)
{
	if (step == MV_NONE)
		step = 1;
	if (step < -SSIZE_MAX)
		step = -SSIZE_MAX; /* so that -step cannot overflow */
	if (start == MV_NONE)
		start = step < 0 ? SSIZE_MAX : 0;
	if (stop == MV_NONE)
		stop = step < 0 ? MV_NONE : SSIZE_MAX;

	if (start < 0) {
		start += length;
		if (start < 0)
			start = step < 0 ? -1 : 0;
	} else if (start >= length) {
		start = step < 0 ? length - 1 : length;
	}
	if (stop < 0) {
		stop += length;
		if (stop < 0)
			stop = step < 0 ? -1 : 0;
	} else if (stop >= length) {
		stop = step < 0 ? length - 1 : length;
	}

	if (step < 0)
		*count = stop < start ? (start - stop - 1) / (-step) + 1 : 0;
	else
		*count = start < stop ? (stop - start - 1) / step + 1 : 0;
	*first = start;
}

/* Wrapping multiply, as CPython's (formally undefined) ssize_t arithmetic behaves. */
static inline ssize_t wrap_mul(ssize_t a, ssize_t b)
{
	return (ssize_t)((size_t)a * (size_t)b);
}

/* Apply one slice (step not zero) to dimension @dim of @v in place (CPython's init_slice). */
static void slice_dim(mv_view *v, int dim, ssize_t start, ssize_t stop, ssize_t step)
{
	ssize_t *shape = view_shape(v), *strides = view_strides(v);
	ssize_t first = 0, count = 0;

	slice_resolve(shape[dim], start, stop, step, &first, &count);
	if (step == MV_NONE)
		step = 1;
	if (step < -SSIZE_MAX)
		step = -SSIZE_MAX;
	/* Integer arithmetic: a wrapped offset from a huge step must not be pointer overflow. */
	v->buf = (char *)((uintptr_t)v->buf + (uintptr_t)wrap_mul(strides[dim], first));
	shape[dim] = count;
	strides[dim] = wrap_mul(strides[dim], step);
}

/* nbytes from the shape (shapes inside a valid view never overflow). */
static ssize_t shape_nbytes(const mv_view *v)
{
	const ssize_t *shape = view_shape(v);
	ssize_t n = v->itemsize;
	int i;

	for (i = 0; i < v->ndim; i++)
		n *= shape[i];
	return n;
}

/* Any slice mv_view_slice() does not do inline: the general path, in CPython's order. */
static __attribute__((noinline)) int slice_general(mv_view *out, const mv_view *v, ssize_t start,
						   ssize_t stop, ssize_t step)
{
	mv_slice sl = { start, stop, step };

	return mv_view_slice_nd(out, v, &sl, 1);
}

NO_SLP int mv_view_slice(mv_view *out, const mv_view *v, ssize_t start, ssize_t stop,
			 ssize_t step)
{
	ssize_t first, count, stride, length, itemsize;
	struct mv_managed *m;
	char *buf;

	/*
	 * 1-D and valid, the common case: mv_view_slice_nd() for one dimension, inline - shape,
	 * strides, length and flags are arithmetic on the source's, and each field of @out is
	 * written once. Anything else (errors included) goes the general way, which checks in
	 * CPython's order.
	 */
	if (unlikely(!(out && v && out != v && (m = v->mbuf) && v->ndim == 1 && step != 0)))
		return slice_general(out, v, start, stop, step);
	mv_count_inc(&m->refs);
	length = v->dims[0];
	stride = v->dims[MV_VIEW_INLINE_NDIM];
	if (likely(step == 1 || step == MV_NONE)) {
		/*
		 * Without the division: start and stop clamp to [0, length] (an omitted start,
		 * MV_NONE, is negative and clamps to 0).
		 */
		first = clamp_index(start, length);
		stop = clamp_index(stop == MV_NONE ? length : stop, length);
		count = first < stop ? stop - first : 0;
	} else {
		slice_resolve(length, start, stop, step, &first, &count);
	}
	itemsize = v->itemsize;
	/* Integer arithmetic: a wrapped offset from a huge step must not be pointer overflow. */
	buf = (char *)((uintptr_t)v->buf + (uintptr_t)wrap_mul(stride, first));
	if (step != 1 && step != MV_NONE)
		stride = wrap_mul(stride, step);
	/* init_flags() for one dimension */
	view_set_1d(out, v, buf, itemsize, v->format, &v->fmt, count, stride,
		    (count == 1 || stride == itemsize) ? MVF_C | MVF_F : 0);
	return 0;
}

int mv_view_slice_nd(mv_view *out, const mv_view *v, const mv_slice *slices, int n)
{
	int i, rc;

	MV_CHECK_ARG(out && v && out != v, "view (out must be another view than the source)");
	CHECK_RELEASED(v);
	MV_CHECK_ARG(slices || n == 0, "slices");
	if (v->ndim == 0 && n > 0)
		return mv_fail(EINVAL, "invalid indexing of 0-dim memory");
	if (n < 0 || n > v->ndim)
		return mv_fail(EINVAL, "cannot index %d-dimension view with %d-element tuple",
			       v->ndim, n);
	for (i = 0; i < n; i++)
		if (slices[i].step == 0)
			return mv_fail(EINVAL, "slice step cannot be zero");
	/*
	 * Everything that can fail was checked: build the result in place (a copy of a whole view
	 * through a temporary costs more than the rest of the derive).
	 */
	rc = view_dup(out, v);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++)
		slice_dim(out, i, slices[i].start, slices[i].stop, slices[i].step);
	out->len = shape_nbytes(out);
	init_flags(out);
	return 0;
}

/* ------------------------------------------------------------------ cast */

/* The general cast, every check in CPython's order. */
static __attribute__((noinline)) int cast_general(mv_view *out, const mv_view *v,
						   const char *format, const ssize_t *shape,
						   int ndim);

NO_SLP int mv_view_cast(mv_view *out, const mv_view *v, const char *format, const ssize_t *shape,
			int ndim)
{
	const mv_format *dest;
	struct mv_managed *m;
	ssize_t itemsize;

	/*
	 * m.cast(fmt) of a valid 1-D C-contiguous view to a one-character format (m.cast('B')),
	 * the common case: when every check passes, the result is 1-D and C-contiguous by
	 * construction and is written field by field. Anything else, errors included, goes the
	 * general way.
	 */
	if (likely(ndim == MV_CAST_NO_SHAPE && out && v && out != v && (m = v->mbuf) && format &&
		   v->ndim == 1 && (v->flags & MVF_C) && (dest = mv_format_plain_get(format)) &&
		   (fmt_is_byte(dest) || (v->fmt.code && fmt_is_byte(&v->fmt))) &&
		   !(v->len & ((itemsize = dest->itemsize) - 1)))) {
		/*
		 * Every itemsize of a one-character format is a power of two. init_flags() for
		 * one dimension of stride itemsize: C and F.
		 */
		view_set_1d(out, v, v->buf, itemsize, dest->text, dest,
			    v->len >> __builtin_ctzl((unsigned long)itemsize), itemsize,
			    MVF_C | MVF_F);
		mv_count_inc(&m->refs);
		return 0;
	}
	return cast_general(out, v, format, shape, ndim);
}

static __attribute__((noinline)) int cast_general(mv_view *out, const mv_view *v,
						   const char *format, const ssize_t *shape,
						   int ndim)
{
	mv_format dest;
	ssize_t len, itemsize;
	int i, rc;

	MV_CHECK_ARG(out && v && out != v, "view (out must be another view than the source)");
	CHECK_RELEASED(v);
	MV_CHECK_ARG(format, "format");
	MV_CHECK_ARG(ndim >= MV_CAST_NO_SHAPE && (shape || ndim <= 0), "shape");
	if (unlikely(!(v->flags & MVF_C)))
		return mv_fail(EINVAL, "memoryview: casts are restricted to C-contiguous views");
	if (ndim != MV_CAST_NO_SHAPE || v->ndim != 1) {
		const ssize_t *vshape = view_shape(v);
		int zero = 0;

		for (i = 0; i < v->ndim; i++)
			zero |= vshape[i] == 0;
		if (zero)
			return mv_fail(EINVAL,
				       "memoryview: cannot cast view with zeros in shape or strides");
	}
	if (ndim != MV_CAST_NO_SHAPE) {
		if (ndim > MV_MAXDIM)
			return mv_fail(EINVAL,
				       "memoryview: number of dimensions must not exceed %d",
				       MV_MAXDIM);
		if (v->ndim != 1 && ndim != 1)
			return mv_fail(EINVAL, "memoryview: cast must be 1D -> ND or ND -> 1D");
	}
	/* cast_to_1D */
	if (mv_format_parse(&dest, format) < 0)
		return mv_fail(EINVAL, "memoryview: destination format must be a native single "
				       "character format prefixed with an optional '@'");
	if (!fmt_is_byte(&dest) && !(v->fmt.code && fmt_is_byte(&v->fmt)))
		return mv_fail(EINVAL, "memoryview: cannot cast between two non-byte formats");
	itemsize = dest.itemsize;
	if (v->len % itemsize)
		return mv_fail(EINVAL, "memoryview: length is not a multiple of itemsize");

	/* cast_to_ND: check the new shape before joining the family, so failure costs nothing. */
	if (ndim != MV_CAST_NO_SHAPE) {
		len = itemsize;
		for (i = 0; i < ndim; i++) {
			if (shape[i] <= 0)
				return mv_fail(EINVAL, "memoryview.cast(): elements of shape must be "
						       "integers > 0");
			if (shape[i] > SSIZE_MAX / len)
				return mv_fail(EOVERFLOW,
					       "memoryview.cast(): product(shape) > SSIZE_MAX");
			len *= shape[i];
		}
		if (len != v->len)
			return mv_fail(EINVAL,
				       "memoryview: product(shape) * itemsize != buffer size");
	}

	rc = view_join(out, v, ndim == MV_CAST_NO_SHAPE ? 1 : ndim);
	if (rc < 0)
		return rc;
	out->fmt = dest;
	out->format = dest.text;
	out->itemsize = itemsize;
	if (ndim == MV_CAST_NO_SHAPE)
		view_shape(out)[0] = v->len / itemsize;
	else if (ndim > 0)
		memcpy(view_shape(out), shape, (size_t)ndim * sizeof(ssize_t));
	init_strides_from_shape(out);
	init_flags(out);
	return 0;
}

int mv_view_toreadonly(mv_view *out, const mv_view *v)
{
	int rc;

	MV_CHECK_ARG(out && v && out != v, "view (out must be another view than the source)");
	CHECK_RELEASED(v);
	rc = view_dup(out, v);
	if (rc == 0)
		out->readonly = 1;
	return rc;
}

/* ------------------------------------------------------------------ attributes */

#define ATTR(type, name, expr)                                   \
	type mv_view_##name(const mv_view *v)                    \
	{                                                        \
		MV_CHECK_ARG(v, "v");                            \
		CHECK_RELEASED(v);                               \
		return (expr);                                   \
	}
ATTR(ssize_t, itemsize, v->itemsize)
ATTR(ssize_t, nbytes, v->len)
ATTR(int, ndim, v->ndim)
ATTR(int, readonly, v->readonly)
ATTR(int, c_contiguous, (v->flags & MVF_C) != 0)
ATTR(int, f_contiguous, (v->flags & MVF_F) != 0)
ATTR(int, contiguous, (v->flags & (MVF_C | MVF_F)) != 0)
#undef ATTR

/* Pointer attributes return NULL for a released view, with the message set. */
#define PATTR(type, name, expr)                                  \
	type mv_view_##name(const mv_view *v)                    \
	{                                                        \
		if (!v || !v->mbuf) {                            \
			mv_fail(v ? EBADF : EINVAL, "%s",        \
				v ? CPY_RELEASED_MSG : "NULL view"); \
			return NULL;                             \
		}                                                \
		return (expr);                                   \
	}
PATTR(const char *, format, v->format)
PATTR(const ssize_t *, shape, view_shape(v))
PATTR(const ssize_t *, strides, view_strides(v))
PATTR(mv_exporter *, obj, v->mbuf->master.obj)
PATTR(void *, ptr, v->buf)
#undef PATTR

int mv_view_released(const mv_view *v)
{
	return !v || !v->mbuf;
}

ssize_t mv_view_len(const mv_view *v)
{
	MV_CHECK_ARG(v, "v");
	CHECK_RELEASED(v);
	if (v->ndim == 0)
		return mv_fail(EINVAL, "0-dim memory has no length");
	return view_shape(v)[0];
}

/* ------------------------------------------------------------------ items */

int mv_view_check_format(const mv_view *v)
{
	if (unlikely(!v->fmt.code))
		return mv_fail(ENOTSUP, "memoryview: unsupported format %s", v->format);
	return 0;
}

/* CPython's lookup_dimension. */
static int lookup(const mv_view *v, char **ptr, int dim, ssize_t index)
{
	ssize_t n = view_shape(v)[dim];

	if (index < 0)
		index += n;
	if (index < 0 || index >= n)
		return mv_fail(ERANGE, "index out of bounds on dimension %d", dim + 1);
	*ptr += view_strides(v)[dim] * index;
	return 0;
}

/* The item address for m[i] (one index) or m[idx...] (multi), with CPython's checks. */
static int item_ptr(char **out, const mv_view *v, const ssize_t *idx, int n, int multi)
{
	char *p = v->buf;
	int i, rc;

	if (v->ndim == 0) {
		if (multi && n == 0) {
			*out = p;
			return 0;
		}
		return mv_fail(EINVAL, "invalid indexing of 0-dim memory");
	}
	if (!multi) {
		if (v->ndim > 1)
			return mv_fail(ENOTSUP, "multi-dimensional sub-views are not implemented");
	} else if (n < v->ndim) {
		return mv_fail(ENOTSUP, "sub-views are not implemented");
	} else if (n > v->ndim) {
		return mv_fail(EINVAL, "cannot index %d-dimension view with %d-element tuple",
			       v->ndim, n);
	}
	for (i = 0; i < n; i++) {
		rc = lookup(v, &p, i, idx[i]);
		if (rc < 0)
			return rc;
	}
	*out = p;
	return 0;
}

static int get_common(mv_value *out, const mv_view *v, const ssize_t *idx, int n, int multi)
{
	char *p;
	int rc;

	MV_CHECK_ARG(out && v, "argument");
	CHECK_RELEASED(v);
	MV_CHECK_ARG(idx || n == 0, "idx");
	if (!(v->ndim == 0 && !multi)) {
		rc = mv_view_check_format(v);
		if (rc < 0)
			return rc;
	}
	rc = item_ptr(&p, v, idx, n, multi);
	if (rc < 0)
		return rc;
	return mv_format_unpack(out, &v->fmt, p);
}

int mv_view_get_item(mv_value *out, const mv_view *v, ssize_t i)
{
	return get_common(out, v, &i, 1, 0);
}

int mv_view_get_multi(mv_value *out, const mv_view *v, const ssize_t *idx, int n)
{
	return get_common(out, v, idx, n, 1);
}

static int set_common(mv_view *v, const ssize_t *idx, int n, int multi, const mv_value *val)
{
	char *p;
	int rc;

	MV_CHECK_ARG(v && val, "argument");
	CHECK_RELEASED(v);
	MV_CHECK_ARG(idx || n == 0, "idx");
	rc = mv_view_check_format(v);
	if (rc < 0)
		return rc;
	if (v->readonly)
		return mv_fail(EROFS, "cannot modify read-only memory");
	if (!multi && v->ndim > 1)
		return mv_fail(ENOTSUP, "sub-views are not implemented");
	rc = item_ptr(&p, v, idx, n, multi);
	if (rc < 0)
		return rc;
	return mv_format_pack(p, &v->fmt, val);
}

int mv_view_set_item(mv_view *v, ssize_t i, const mv_value *val)
{
	return set_common(v, &i, 1, 0, val);
}

int mv_view_set_multi(mv_view *v, const ssize_t *idx, int n, const mv_value *val)
{
	return set_common(v, idx, n, 1, val);
}

/* CPython's equiv_format with '@' ignored. */
static int same_format(const mv_view *a, const mv_view *b)
{
	const char *fa = a->format[0] == '@' ? a->format + 1 : a->format;
	const char *fb = b->format[0] == '@' ? b->format + 1 : b->format;

	return strcmp(fa, fb) == 0 && a->itemsize == b->itemsize;
}

int mv_view_assign_slice(mv_view *v, ssize_t start, ssize_t stop, ssize_t step,
			 const mv_view *src)
{
	mv_view dest;
	char *tmp = NULL;
	int rc;

	MV_CHECK_ARG(v && src, "view");
	CHECK_RELEASED(v);
	rc = mv_view_check_format(v);
	if (rc < 0)
		return rc;
	if (v->readonly)
		return mv_fail(EROFS, "cannot modify read-only memory");
	if (v->ndim == 0)
		return mv_fail(EINVAL, "invalid indexing of 0-dim memory");
	if (v->ndim != 1)
		return mv_fail(ENOTSUP, "memoryview slice assignments are currently restricted "
					"to ndim = 1");
	CHECK_RELEASED(src);
	rc = mv_view_slice(&dest, v, start, stop, step);
	if (rc < 0)
		return rc;
	if (!same_format(&dest, src) || src->ndim != 1 || view_shape(src)[0] != view_shape(&dest)[0]) {
		rc = mv_fail(EINVAL, "memoryview assignment: lvalue and rvalue have different "
				     "structures");
		goto out;
	}
	if (dest.len > 0) {
		/* Gather the source first: it may overlap the destination. */
		ssize_t n = view_shape(&dest)[0], stride = view_strides(&dest)[0], i;

		tmp = malloc((size_t)dest.len);
		if (!tmp) {
			rc = mv_fail(ENOMEM, "cannot allocate %zd bytes", dest.len);
			goto out;
		}
		mv_view_gather(src, tmp, 0);
		if (dest.flags & MVF_C)
			memcpy(dest.buf, tmp, (size_t)dest.len);
		else
			for (i = 0; i < n; i++)
				memcpy(dest.buf + i * stride, tmp + i * dest.itemsize,
				       (size_t)dest.itemsize);
	}
	rc = 0;
out:
	free(tmp);
	mv_view_release(&dest);
	return rc;
}
