/*
 * lib/view_compare.c - equality of views (CPython's memory_richcompare) and hashing.
 *
 * Two views are equal when their shapes are equal and every pair of items is equal as Python
 * values, each side read by its own format. When both sides have the same native format the
 * items are compared as that C type (CPython's unpack_cmp): so integers and bools compare by
 * representation and floats by value, NaN unequal to itself.
 *
 * SPDX-License-Identifier: MIT
 */
#include "view_internal.h"
#include "format_internal.h"

#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

/* CPython's equiv_shape: equal up to the first zero-length dimension. */
static int same_shape(const mv_view *a, const mv_view *b)
{
	const ssize_t *sa = view_shape(a), *sb = view_shape(b);
	int i;

	if (a->ndim != b->ndim)
		return 0;
	for (i = 0; i < a->ndim; i++) {
		if (sa[i] != sb[i])
			return 0;
		if (sa[i] == 0)
			break;
	}
	return 1;
}

/* Python's == between two numbers or two bytes objects. */
static int values_equal(const mv_value *x, const mv_value *y)
{
	int xb = x->kind == MV_VALUE_BYTES, yb = y->kind == MV_VALUE_BYTES;
	long double lx, ly;

	if (xb || yb)
		return xb && yb && x->nbytes == y->nbytes &&
		       memcmp(x->bytes, y->bytes, x->nbytes) == 0;
	if (x->kind != MV_VALUE_FLOAT && y->kind != MV_VALUE_FLOAT) {
		if (x->kind == MV_VALUE_UINT && y->kind == MV_VALUE_UINT)
			return x->u == y->u;
		if (x->kind == MV_VALUE_UINT)
			return y->i >= 0 && (unsigned long long)y->i == x->u;
		if (y->kind == MV_VALUE_UINT)
			return x->i >= 0 && (unsigned long long)x->i == y->u;
		return x->i == y->i;
	}
	/* long double holds every 64-bit integer exactly, so int == float is exact as in Python. */
	lx = x->kind == MV_VALUE_FLOAT ? (long double)x->f :
	     x->kind == MV_VALUE_UINT ? (long double)x->u : (long double)x->i;
	ly = y->kind == MV_VALUE_FLOAT ? (long double)y->f :
	     y->kind == MV_VALUE_UINT ? (long double)y->u : (long double)y->i;
	return lx == ly;
}

/* Same native representation: same code, same size, same byte order. */
static int same_representation(const mv_view *a, const mv_view *b)
{
	return a->fmt.code && a->fmt.code == b->fmt.code && a->fmt.itemsize == b->fmt.itemsize &&
	       a->fmt.swap == b->fmt.swap;
}

/* All @n doubles equal as floats (NaN unequal, 0.0 == -0.0); eight at a time with SSE2. */
static int doubles_equal(const char *pa, const char *pb, ssize_t n)
{
	ssize_t i = 0;

#ifdef __SSE2__
	for (; i + 8 <= n; i += 8) {
		const double *a = (const double *)(const void *)(pa + 8 * i);
		const double *b = (const double *)(const void *)(pb + 8 * i);
		__m128d m0 = _mm_cmpeq_pd(_mm_loadu_pd(a), _mm_loadu_pd(b));
		__m128d m1 = _mm_cmpeq_pd(_mm_loadu_pd(a + 2), _mm_loadu_pd(b + 2));
		__m128d m2 = _mm_cmpeq_pd(_mm_loadu_pd(a + 4), _mm_loadu_pd(b + 4));
		__m128d m3 = _mm_cmpeq_pd(_mm_loadu_pd(a + 6), _mm_loadu_pd(b + 6));

		if (_mm_movemask_pd(_mm_and_pd(_mm_and_pd(m0, m1), _mm_and_pd(m2, m3))) != 3)
			return 0;
	}
#endif
	for (; i < n; i++) {
		double x, y;

		memcpy(&x, pa + 8 * i, 8);
		memcpy(&y, pb + 8 * i, 8);
		if (!(x == y))
			return 0;
	}
	return 1;
}

static int floats_equal(const char *pa, const char *pb, ssize_t n)
{
	ssize_t i = 0, j;

	while (i < n) {
		ssize_t end = n - i > 256 ? i + 256 : n;
		int ok = 1;

		for (j = i; j < end; j++) {
			float x, y;

			memcpy(&x, pa + 4 * j, 4);
			memcpy(&y, pb + 4 * j, 4);
			ok &= x == y;
		}
		if (!ok)
			return 0;
		i = end;
	}
	return 1;
}

/* Compare two contiguous runs of @n items of the same representation. */
static int run_equal_same(const mv_format *f, const char *pa, const char *pb, ssize_t n)
{
	ssize_t i;

	if (!f->swap) {
		if (f->code == 'd')
			return doubles_equal(pa, pb, n);
		if (f->code == 'f')
			return floats_equal(pa, pb, n);
	}
	if (f->code != 'd' && f->code != 'f' && f->code != 'e')
		return memcmp(pa, pb, (size_t)(n * f->itemsize)) == 0;
	for (i = 0; i < n; i++) {
		mv_value x, y;

		mv_item_unpack_fast(&x, f, pa + i * f->itemsize);
		mv_item_unpack_fast(&y, f, pb + i * f->itemsize);
		if (!(x.f == y.f))
			return 0;
	}
	return 1;
}

/* Item-by-item comparison of two views of equal shape, in C order. */
static int items_equal(const mv_view *a, const mv_view *b, int same)
{
	const ssize_t *shape = view_shape(a), *sa = view_strides(a), *sb = view_strides(b);
	ssize_t idx[MV_MAXDIM] = { 0 };
	const char *pa = a->buf, *pb = b->buf;
	int d, last = a->ndim - 1;

	for (d = 0; d < a->ndim; d++)
		if (shape[d] == 0)
			return 1;
	if (a->ndim == 0) {
		mv_value x, y;

		if (same)
			return run_equal_same(&a->fmt, pa, pb, 1);
		mv_item_unpack_fast(&x, &a->fmt, pa);
		mv_item_unpack_fast(&y, &b->fmt, pb);
		return values_equal(&x, &y);
	}
	for (;;) {
		ssize_t n = shape[last], i;

		if (same && sa[last] == a->itemsize && sb[last] == b->itemsize) {
			if (!run_equal_same(&a->fmt, pa, pb, n))
				return 0;
		} else {
			for (i = 0; i < n; i++) {
				mv_value x, y;
				const char *ia = pa + i * sa[last], *ib = pb + i * sb[last];

				if (same) {
					if (!run_equal_same(&a->fmt, ia, ib, 1))
						return 0;
					continue;
				}
				mv_item_unpack_fast(&x, &a->fmt, ia);
				mv_item_unpack_fast(&y, &b->fmt, ib);
				if (!values_equal(&x, &y))
					return 0;
			}
		}
		for (d = last - 1; d >= 0; d--) {
			if (++idx[d] < shape[d]) {
				pa += sa[d];
				pb += sb[d];
				break;
			}
			pa -= sa[d] * (shape[d] - 1);
			pb -= sb[d] * (shape[d] - 1);
			idx[d] = 0;
		}
		if (d < 0)
			return 1;
	}
}

/* Formats memview cannot read items of compare equal only as identical raw items. */
static int opaque_equal(const mv_view *a, const mv_view *b)
{
	char *ba, *bb;
	int eq;

	if (strcmp(a->format, b->format) != 0 || a->itemsize != b->itemsize)
		return 0;
	if ((a->flags & MVF_C) && (b->flags & MVF_C))
		return memcmp(a->buf, b->buf, (size_t)a->len) == 0;
	ba = malloc((size_t)a->len + 1);
	bb = malloc((size_t)b->len + 1);
	if (!ba || !bb) {
		free(ba);
		free(bb);
		return mv_fail(ENOMEM, "cannot allocate %zd bytes to compare", a->len);
	}
	mv_view_gather(a, ba, 0);
	mv_view_gather(b, bb, 0);
	eq = memcmp(ba, bb, (size_t)a->len) == 0;
	free(ba);
	free(bb);
	return eq;
}

int mv_view_equal(const mv_view *a, const mv_view *b)
{
	MV_CHECK_ARG(a && b, "view");
	if (!a->mbuf || !b->mbuf)
		return a == b; /* a released view equals only itself, as in CPython */
	if (!same_shape(a, b))
		return 0;
	if (!a->fmt.code || !b->fmt.code)
		return opaque_equal(a, b);
	return items_equal(a, b, same_representation(a, b));
}

int mv_view_equal_bytes(const mv_view *v, const void *data, size_t len)
{
	mv_view b;

	MV_CHECK_ARG(v && (data || len == 0), "argument");
	if (!v->mbuf)
		return 0;
	/* bytes as a view: 1-D 'B', no family needed for a read-only comparison. */
	memset(&b, 0, sizeof(b));
	b.mbuf = v->mbuf;
	b.buf = (char *)(uintptr_t)data;
	b.len = (ssize_t)len;
	b.itemsize = 1;
	b.format = "B";
	mv_format_parse(&b.fmt, "B");
	b.ndim = 1;
	b.readonly = 1;
	b.flags = MVF_C | MVF_F;
	b.dims[0] = (ssize_t)len;
	b.dims[MV_VIEW_INLINE_NDIM] = 1;
	if (!same_shape(v, &b))
		return 0;
	if (!v->fmt.code)
		return opaque_equal(v, &b);
	return items_equal(v, &b, same_representation(v, &b));
}

int mv_view_hash(int64_t *out, mv_view *v)
{
	const mv_exporter *obj;
	char *tmp;
	int64_t h;

	MV_CHECK_ARG(out && v, "argument");
	if (v->flags & MVF_HASHED) { /* cached, even across release, as CPython does */
		*out = v->hash;
		return 0;
	}
	CHECK_RELEASED(v);
	if (!v->readonly)
		return mv_fail(EINVAL, "cannot hash writable memoryview object");
	if (!v->fmt.code || !fmt_is_byte(&v->fmt) || (v->fmt.prefix && v->fmt.prefix != '@'))
		return mv_fail(EINVAL,
			       "memoryview: hashing is restricted to formats 'B', 'b' or 'c'");
	obj = v->mbuf->master.obj;
	if (obj->ops->flags & MV_EXPORTER_UNHASHABLE)
		return mv_fail(EINVAL, "unhashable type: '%s'", obj->ops->name);
	if (v->flags & MVF_C) {
		h = mv_view_hash_bytes(v->buf, (size_t)v->len);
	} else {
		tmp = malloc((size_t)v->len + 1);
		if (!tmp)
			return mv_fail(ENOMEM, "cannot allocate %zd bytes to hash", v->len);
		mv_view_gather(v, tmp, 0);
		h = mv_view_hash_bytes(tmp, (size_t)v->len);
		free(tmp);
	}
	v->hash = h;
	v->flags |= MVF_HASHED;
	*out = h;
	return 0;
}
