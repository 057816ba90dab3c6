/*
 * lib/view_output.c - a view's contents out: tobytes, hex, and tolist three ways (visitor,
 * typed array, Python's text).
 *
 * Bytes leave through mv_view_gather() (lib/view_gather.c), items in C order (tobytes 'F' in
 * Fortran order); tolist walks the items itself, since it needs their indices.
 *
 * SPDX-License-Identifier: MIT
 */
#include "view_internal.h"
#include "format_internal.h"

#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

ssize_t mv_view_tobytes(void *dst, size_t cap, const mv_view *v, char order)
{
	int fortran;

	MV_CHECK_ARG(v, "v");
	CHECK_RELEASED(v);
	switch (order) {
	case 0:
	case 'C':
		fortran = 0;
		break;
	case 'F':
		fortran = 1;
		break;
	case 'A':
		/* Memory order when the view is contiguous either way, else C. */
		fortran = !(v->flags & MVF_C) && (v->flags & MVF_F);
		break;
	default:
		return mv_fail(EINVAL, "order must be 'C', 'F' or 'A'");
	}
	if (!dst)
		return v->len;
	if (cap < (size_t)v->len)
		return mv_fail(ENOBUFS, "tobytes: %zd bytes needed, %zu given", v->len, cap);
	mv_view_gather(v, dst, fortran);
	return v->len;
}

/* ------------------------------------------------------------------ hex */

static const char hexdigits[] = "0123456789abcdef";

/* Two lowercase hex digits per byte, no separators. */
static void hex_plain(char *dst, const unsigned char *src, size_t n)
{
	size_t i = 0;

#ifdef __SSE2__
	const __m128i mask = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9);
	const __m128i zero = _mm_set1_epi8('0'), gap = _mm_set1_epi8('a' - '0' - 10);

	for (; i + 16 <= n; i += 16) {
		__m128i b = _mm_loadu_si128((const __m128i *)(src + i));
		__m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
		__m128i lo = _mm_and_si128(b, mask);

		/* digit + '0', plus the gap to 'a' for nibbles above 9 */
		hi = _mm_add_epi8(_mm_add_epi8(hi, zero), _mm_and_si128(_mm_cmpgt_epi8(hi, nine), gap));
		lo = _mm_add_epi8(_mm_add_epi8(lo, zero), _mm_and_si128(_mm_cmpgt_epi8(lo, nine), gap));
		_mm_storeu_si128((__m128i *)(dst + 2 * i), _mm_unpacklo_epi8(hi, lo));
		_mm_storeu_si128((__m128i *)(dst + 2 * i + 16), _mm_unpackhi_epi8(hi, lo));
	}
#endif
	for (; i < n; i++) {
		dst[2 * i] = hexdigits[src[i] >> 4];
		dst[2 * i + 1] = hexdigits[src[i] & 15];
	}
}

ssize_t mv_view_hex(char *dst, size_t cap, const mv_view *v, const char *sep, int bytes_per_sep)
{
	const unsigned char *src;
	unsigned char *tmp = NULL;
	size_t n, group, out_len, pos, first;
	char *o;

	MV_CHECK_ARG(v, "v");
	CHECK_RELEASED(v);
	if (sep) {
		if (strlen(sep) != 1)
			return mv_fail(EINVAL, "sep must be length 1.");
		if ((unsigned char)sep[0] >= 0x80)
			return mv_fail(EINVAL, "sep must be ASCII.");
	}
	n = (size_t)v->len;
	group = (!sep || bytes_per_sep == 0) ? 0 :
		(size_t)(bytes_per_sep < 0 ? -(long)bytes_per_sep : (long)bytes_per_sep);
	out_len = 2 * n + (group && n ? (n - 1) / group : 0);
	if (!dst)
		return (ssize_t)out_len;
	if (cap < out_len + 1)
		return mv_fail(ENOBUFS, "hex: %zu bytes needed, %zu given", out_len + 1, cap);

	if (v->flags & MVF_C) {
		src = (const unsigned char *)v->buf;
	} else {
		tmp = malloc(n ? n : 1);
		if (!tmp)
			return mv_fail(ENOMEM, "cannot allocate %zu bytes", n);
		mv_view_gather(v, (char *)tmp, 0);
		src = tmp;
	}

	if (!group || group >= n) {
		hex_plain(dst, src, n);
	} else {
		/*
		 * Groups are counted from the right for a positive bytes_per_sep, so the first
		 * group is the short one; from the left for a negative one, the last.
		 */
		first = bytes_per_sep > 0 ? (n % group ? n % group : group) : group;
		o = dst;
		hex_plain(o, src, first);
		o += 2 * first;
		for (pos = first; pos < n; pos += group) {
			size_t len = n - pos < group ? n - pos : group;

			*o++ = sep[0];
			hex_plain(o, src + pos, len);
			o += 2 * len;
		}
	}
	dst[out_len] = '\0';
	free(tmp);
	return (ssize_t)out_len;
}

/* ------------------------------------------------------------------ tolist: visitor */

int mv_view_visit(const mv_view *v, mv_visit_fn fn, void *ctx)
{
	const ssize_t *shape, *strides;
	ssize_t idx[MV_MAXDIM] = { 0 };
	mv_value val;
	const char *p;
	int d, rc;

	MV_CHECK_ARG(v && fn, "argument");
	CHECK_RELEASED(v);
	rc = mv_view_check_format(v);
	if (rc < 0)
		return rc;
	shape = view_shape(v);
	strides = view_strides(v);
	for (d = 0; d < v->ndim; d++)
		if (shape[d] == 0)
			return 0;
	p = v->buf;
	for (;;) {
		mv_item_unpack_fast(&val, &v->fmt, p);
		rc = fn(ctx, idx, v->ndim, &val);
		if (rc)
			return rc;
		/* Step only within the view: a huge stride of a one-item dimension never moves p. */
		for (d = v->ndim - 1; d >= 0; d--) {
			if (++idx[d] < shape[d]) {
				p += strides[d];
				break;
			}
			p -= strides[d] * (shape[d] - 1);
			idx[d] = 0;
		}
		if (d < 0)
			return 0;
	}
}

/* ------------------------------------------------------------------ tolist: arrays */

static ssize_t item_count(const mv_view *v)
{
	return v->len / v->itemsize;
}

struct values_ctx {
	mv_value *dst;
	size_t i;
};

static int values_visit(void *ctx, const ssize_t *index, int ndim, const mv_value *val)
{
	struct values_ctx *c = ctx;

	c->dst[c->i++] = *val;
	return 0;
}

/*
 * The item count of @v, or - when the caller gave room (@have_dst) - visit every item into it
 * after checking that @count items fit: the shared part of the tolist_values/tolist_as forms.
 */
static ssize_t tolist_visit(const mv_view *v, int have_dst, size_t count, mv_visit_fn fn,
			    void *ctx)
{
	ssize_t n;
	int rc;

	rc = mv_view_check_format(v);
	if (rc < 0)
		return rc;
	n = item_count(v);
	if (!have_dst)
		return n;
	if (count < (size_t)n)
		return mv_fail(ENOBUFS, "tolist: %zd items, room for %zu", n, count);
	rc = mv_view_visit(v, fn, ctx);
	return rc < 0 ? rc : n;
}

ssize_t mv_view_tolist_values(mv_value *dst, size_t count, const mv_view *v)
{
	struct values_ctx c = { dst, 0 };

	MV_CHECK_ARG(v, "v");
	CHECK_RELEASED(v);
	return tolist_visit(v, dst != NULL, count, values_visit, &c);
}

struct as_ctx {
	char ctype;
	char *dst;
	ssize_t i;
	int err;
};

static int as_visit(void *ctx, const ssize_t *index, int ndim, const mv_value *val)
{
	struct as_ctx *c = ctx;
	int64_t q;
	uint64_t uq;
	double d;

	switch (val->kind) {
	case MV_VALUE_FLOAT:
		if (c->ctype != 'd')
			return mv_fail(EINVAL, "tolist: item %zd is a float, not an integer", c->i);
		d = val->f;
		memcpy(c->dst + 8 * c->i, &d, 8);
		break;
	case MV_VALUE_BYTES:
		return mv_fail(EINVAL, "tolist: item %zd is bytes, not a number", c->i);
	case MV_VALUE_UINT:
		if (c->ctype == 'q') {
			if (val->u > INT64_MAX)
				return mv_fail(ERANGE, "tolist: item %zd (%llu) does not fit int64",
					       c->i, val->u);
			q = (int64_t)val->u;
			memcpy(c->dst + 8 * c->i, &q, 8);
		} else if (c->ctype == 'Q') {
			uq = val->u;
			memcpy(c->dst + 8 * c->i, &uq, 8);
		} else {
			d = (double)val->u;
			memcpy(c->dst + 8 * c->i, &d, 8);
		}
		break;
	default: /* MV_VALUE_INT, MV_VALUE_BOOL */
		if (c->ctype == 'q') {
			q = val->i;
			memcpy(c->dst + 8 * c->i, &q, 8);
		} else if (c->ctype == 'Q') {
			if (val->i < 0)
				return mv_fail(ERANGE, "tolist: item %zd (%lld) does not fit uint64",
					       c->i, val->i);
			uq = (uint64_t)val->i;
			memcpy(c->dst + 8 * c->i, &uq, 8);
		} else {
			d = (double)val->i;
			memcpy(c->dst + 8 * c->i, &d, 8);
		}
		break;
	}
	c->i++;
	return 0;
}

ssize_t mv_view_tolist_as(void *dst, size_t count, const mv_view *v, char ctype)
{
	struct as_ctx c = { ctype, dst, 0, 0 };

	MV_CHECK_ARG(v, "v");
	CHECK_RELEASED(v);
	if (ctype != 'q' && ctype != 'Q' && ctype != 'd')
		return mv_fail(EINVAL, "tolist: array type must be 'q', 'Q' or 'd', not '%c'",
			       ctype);
	return tolist_visit(v, dst != NULL, count, as_visit, &c);
}

/* ------------------------------------------------------------------ tolist: text */

/* Output buffered in blocks so the writer sees few, large calls. */
struct text_out {
	mv_write_fn write;
	void *ctx;
	size_t used;
	int rc;
	char buf[65536];
};

static int out_flush(struct text_out *o)
{
	if (o->used && !o->rc)
		o->rc = o->write(o->ctx, o->buf, o->used);
	o->used = 0;
	return o->rc;
}

/* Make room for @n bytes; returns where to write them. */
static inline char *out_reserve(struct text_out *o, size_t n)
{
	if (o->used + n > sizeof(o->buf))
		out_flush(o);
	return o->buf + o->used;
}

static inline void out_str(struct text_out *o, const char *s, size_t n)
{
	memcpy(out_reserve(o, n), s, n);
	o->used += n;
}

static void text_rec(struct text_out *o, const mv_view *v, const char *p, int dim)
{
	ssize_t n = view_shape(v)[dim], stride = view_strides(v)[dim], i;

	out_str(o, "[", 1);
	for (i = 0; i < n && !o->rc; i++) {
		const char *item = p + i * stride;

		if (i)
			out_str(o, ", ", 2);
		if (dim + 1 < v->ndim) {
			text_rec(o, v, item, dim + 1);
		} else {
			char *d = out_reserve(o, MV_FORMAT_REPR_MAX);

			o->used += mv_item_repr_fast(d, &v->fmt, item);
		}
	}
	out_str(o, "]", 1);
}

int mv_view_tolist_write(const mv_view *v, mv_write_fn write, void *ctx)
{
	struct text_out *o;
	int rc;

	MV_CHECK_ARG(v && write, "argument");
	CHECK_RELEASED(v);
	rc = mv_view_check_format(v);
	if (rc < 0)
		return rc;
	o = malloc(sizeof(*o));
	if (!o)
		return mv_fail(ENOMEM, "cannot allocate the output buffer");
	o->write = write;
	o->ctx = ctx;
	o->used = 0;
	o->rc = 0;
	if (v->ndim == 0) {
		char *d = out_reserve(o, MV_FORMAT_REPR_MAX);

		o->used += mv_item_repr_fast(d, &v->fmt, v->buf);
	} else {
		text_rec(o, v, v->buf, 0);
	}
	rc = out_flush(o);
	free(o);
	return rc;
}

struct grow {
	char *s;
	size_t len, cap;
};

static int grow_write(void *ctx, const char *s, size_t n)
{
	struct grow *g = ctx;

	if (g->len + n + 1 > g->cap) {
		size_t cap = g->cap ? g->cap : 256;
		char *p;

		while (cap < g->len + n + 1)
			cap *= 2;
		p = realloc(g->s, cap);
		if (!p)
			return mv_fail(ENOMEM, "cannot allocate %zu bytes for the list text", cap);
		g->s = p;
		g->cap = cap;
	}
	memcpy(g->s + g->len, s, n);
	g->len += n;
	g->s[g->len] = '\0';
	return 0;
}

ssize_t mv_view_tolist_text(char **out, const mv_view *v)
{
	struct grow g = { NULL, 0, 0 };
	int rc;

	MV_CHECK_ARG(out, "out");
	rc = mv_view_tolist_write(v, grow_write, &g);
	if (rc) {
		free(g.s);
		return rc < 0 ? rc : -EIO;
	}
	if (!g.s) { /* never happens: a list has at least "[]" */
		rc = grow_write(&g, "", 0);
		if (rc)
			return rc;
	}
	*out = g.s;
	return (ssize_t)g.len;
}
