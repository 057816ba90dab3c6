/*
 * fuzz/fuzz_view_ops.c - libFuzzer target: chains of view operations over a heap exporter.
 *
 * Input: the exporter's kind and size, then a program of operations on six view slots and two
 * held buffer records - memoryview(), cast (with or without shape), slice and multi-dimensional
 * slice with any start/stop/step, indexing, item assignment, slice assignment, tobytes in C/F/A
 * order, hex, tolist in every form, equality, hashing, toreadonly, release, buffer records taken
 * from views, and resizing the exporter. Views are derived from derived views freely.
 *
 * After every step the touched view is checked against what its buffer, shape and strides say:
 * nbytes is product(shape) * itemsize, every item lies inside the exporter's memory, tobytes()
 * is exactly the items gathered in C (or Fortran) order, a view that calls itself C-contiguous
 * is its memory, a view without NaNs equals itself, equality is symmetric, hashes are the
 * hash of the bytes. At the end every release succeeds, the exporter's export count is 0, and the
 * exporter can be resized and freed.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memview.h"

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NVIEWS 6
#define NRECS 2
#define MAX_OPS 64
#define MAX_BYTES 512

static const char *const formats[] = {
	"B", "b", "c", "h", "H", "i", "I", "l", "L", "q", "Q", "n", "N", "f", "d", "e", "?", "P",
	"<i", ">d", "!H", "=q", "@B", ">e", "<f", "=?", "x", "3B", "", "<n", "BB",
};

struct state {
	mv_heap *heap;
	int bytes_kind;          /* readonly bytes exporter (hashable) rather than bytearray */
	char *base;              /* the exporter's memory while views exist */
	size_t size;
	mv_view v[NVIEWS];
	mv_buffer rec[NRECS];
	int rec_of[NRECS];       /* view slot each held record was taken from */
	uint8_t scratch[MAX_BYTES], gathered[MAX_BYTES];
};

static int live(const mv_view *v)
{
	return !mv_view_released(v);
}

/* The C-order (or F-order) walk over every item of @v; returns the number of items. */
static ssize_t walk_items(const mv_view *v, int fortran, void (*fn)(void *, const char *),
			  void *ctx)
{
	int nd = mv_view_ndim(v), k;
	const ssize_t *shape = mv_view_shape(v), *strides = mv_view_strides(v);
	const char *buf = mv_view_ptr(v);
	ssize_t idx[MV_MAXDIM], count = 0;

	if (nd == 0) {
		fn(ctx, buf);
		return 1;
	}
	for (k = 0; k < nd; k++) {
		if (shape[k] == 0)
			return 0;
		idx[k] = 0;
	}
	for (;;) {
		ssize_t off = 0;

		for (k = 0; k < nd; k++)
			off += idx[k] * strides[k];
		fn(ctx, buf + off);
		count++;
		/* Advance the last index fastest in C order, the first in Fortran order. */
		for (k = 0; k < nd; k++) {
			int d = fortran ? k : nd - 1 - k;

			if (++idx[d] < shape[d])
				break;
			idx[d] = 0;
		}
		if (k == nd)
			return count;
	}
}

struct gather {
	const struct state *st;
	const mv_view *v;
	size_t itemsize;
	uint8_t *out;
	size_t n;
	int nan;
};

static void gather_item(void *ctx, const char *p)
{
	struct gather *g = ctx;
	mv_format f;
	mv_value val;

	FUZZ_ASSERT(p >= g->st->base && p + g->itemsize <= g->st->base + g->st->size,
		    "item at offset %td of a %zu-byte exporter", p - g->st->base, g->st->size);
	FUZZ_ASSERT(g->n + g->itemsize <= MAX_BYTES, "more items than the exporter holds");
	memcpy(g->out + g->n, p, g->itemsize);
	g->n += g->itemsize;
	if (mv_format_parse(&f, mv_view_format(g->v)) == 0 && mv_format_unpack(&val, &f, p) == 0 &&
	    val.kind == MV_VALUE_FLOAT && isnan(val.f))
		g->nan = 1;
}

/* Every invariant a live view must satisfy, checked from its buffer, shape and strides alone. */
static void check_view(struct state *st, const mv_view *v)
{
	struct gather g = { st, v, 0, st->gathered, 0, 0 };
	ssize_t itemsize = mv_view_itemsize(v), nbytes = mv_view_nbytes(v), prod = 1, n;
	int nd = mv_view_ndim(v), k, eq;
	const ssize_t *shape = mv_view_shape(v), *strides = mv_view_strides(v);

	if (!live(v))
		return;
	FUZZ_ASSERT(itemsize > 0 && nd >= 0 && nd <= MV_MAXDIM, "itemsize %zd ndim %d", itemsize,
		    nd);
	for (k = 0; k < nd; k++) {
		FUZZ_ASSERT(shape[k] >= 0, "shape[%d] = %zd", k, shape[k]);
		prod *= shape[k];
	}
	FUZZ_ASSERT(nbytes == prod * itemsize, "nbytes %zd, shape product %zd x itemsize %zd",
		    nbytes, prod, itemsize);
	FUZZ_ASSERT(nbytes <= (ssize_t)st->size, "nbytes %zd of a %zu-byte exporter", nbytes,
		    st->size);
	if (nd > 0)
		FUZZ_ASSERT(mv_view_len(v) == shape[0], "len %zd", mv_view_len(v));

	/* tobytes('C') is the items in C order; every item inside the exporter. */
	g.itemsize = (size_t)itemsize;
	walk_items(v, 0, gather_item, &g);
	FUZZ_ASSERT(g.n == (size_t)nbytes, "walked %zu bytes, nbytes %zd", g.n, nbytes);
	n = mv_view_tobytes(st->scratch, sizeof(st->scratch), v, 'C');
	FUZZ_ASSERT(n == nbytes, "tobytes gave %zd for nbytes %zd", n, nbytes);
	FUZZ_ASSERT(memcmp(st->scratch, st->gathered, (size_t)n) == 0, "tobytes('C') differs");
	FUZZ_ASSERT(mv_view_tobytes(NULL, 0, v, 'C') == nbytes, "tobytes size query");
	if (mv_view_c_contiguous(v) == 1) {
		FUZZ_ASSERT(memcmp(mv_view_ptr(v), st->scratch, (size_t)n) == 0,
			    "a C-contiguous view's memory is not its tobytes()");
		for (k = nd - 1, prod = itemsize; k >= 0; k--) {
			FUZZ_ASSERT(shape[k] <= 1 || strides[k] == prod,
				    "C-contiguous but strides[%d] = %zd", k, strides[k]);
			prod *= shape[k];
		}
	}
	eq = mv_view_equal(v, v);
	if (!g.nan)
		FUZZ_ASSERT(eq == 1, "a view without NaN is unequal to itself (%d)", eq);
	else
		FUZZ_ASSERT(eq == 0, "a view with NaN equals itself");

	/* tobytes('F') is the items in Fortran order. */
	g.n = 0;
	walk_items(v, 1, gather_item, &g);
	n = mv_view_tobytes(st->scratch, sizeof(st->scratch), v, 'F');
	FUZZ_ASSERT(n == nbytes && memcmp(st->scratch, st->gathered, (size_t)n) == 0,
		    "tobytes('F') differs");
	if (nbytes > 0) {
		n = mv_view_tobytes(st->scratch, (size_t)nbytes - 1, v, 'C');
		FUZZ_ASSERT(n == -ENOBUFS, "tobytes into a short buffer gave %zd", n);
	}
}

static void check_all(struct state *st)
{
	int i;

	for (i = 0; i < NVIEWS; i++)
		check_view(st, &st->v[i]);
}

/* Slot @d is about to be written: release what it holds (refused while it has exports). */
static int vacate(struct state *st, int d)
{
	int rc = mv_view_release(&st->v[d]);

	if (rc < 0) {
		FUZZ_ASSERT(rc == -EBUSY, "release gave %d", rc);
		FUZZ_ASSERT_ERR(rc);
		return rc;
	}
	FUZZ_ASSERT(!live(&st->v[d]), "released view still live");
	return 0;
}

static mv_value fuzz_value(struct fuzz_in *in)
{
	static const uint8_t byte = 'x';
	uint64_t bits;
	double d;

	switch (fuzz_u8(in) % 5) {
	case 0:
		return mv_value_int(fuzz_ssize(in));
	case 1:
		return mv_value_uint(fuzz_uint(in, 8));
	case 2:
		bits = fuzz_uint(in, 8);
		memcpy(&d, &bits, sizeof(d));
		return mv_value_float(d);
	case 3:
		return mv_value_bool(fuzz_u8(in) & 1);
	default:
		return mv_value_bytes(&byte, fuzz_u8(in) % 2 + 1 - (fuzz_u8(in) & 1));
	}
}

/* A cast shape: usually one that fits the view's items, sometimes anything. */
static int fuzz_shape(struct fuzz_in *in, const mv_view *src, ssize_t itemsize, ssize_t *shape)
{
	uint8_t sel = fuzz_u8(in);
	int nd = sel % 11, k;
	ssize_t items, rest;

	if (sel & 0x80) {
		for (k = 0; k < nd; k++)
			shape[k] = fuzz_ssize(in);
		return nd;
	}
	items = live(src) && itemsize > 0 ? mv_view_nbytes(src) / itemsize : 0;
	rest = items;
	for (k = 0; k + 1 < nd; k++) {
		ssize_t s = fuzz_u8(in) % 4 + 1;

		shape[k] = s;
		rest = s && rest % s == 0 ? rest / s : rest;
	}
	if (nd > 0)
		shape[nd - 1] = rest;
	return nd;
}

static void op_cast(struct state *st, struct fuzz_in *in, int d, int s)
{
	const char *fmt = formats[fuzz_u8(in) % (sizeof(formats) / sizeof(formats[0]))];
	ssize_t shape[16], isz = mv_format_itemsize(fmt);
	int nd, rc;

	if (fuzz_u8(in) & 1)
		nd = MV_CAST_NO_SHAPE;
	else
		nd = fuzz_shape(in, &st->v[s], isz, shape);
	if (d != s && vacate(st, d) < 0)
		return;
	rc = mv_view_cast(&st->v[d], &st->v[s], fmt, shape, nd);
	if (rc < 0) {
		FUZZ_ASSERT_ERR(rc);
		return;
	}
	FUZZ_ASSERT(d != s, "cast into its own source succeeded");
	FUZZ_ASSERT(mv_view_itemsize(&st->v[d]) == isz, "cast to '%s' has itemsize %zd", fmt,
		    mv_view_itemsize(&st->v[d]));
	FUZZ_ASSERT(mv_view_nbytes(&st->v[d]) == mv_view_nbytes(&st->v[s]), "cast changed nbytes");
	if (nd >= 0)
		FUZZ_ASSERT(mv_view_ndim(&st->v[d]) == nd, "cast to %d dims has %d", nd,
			    mv_view_ndim(&st->v[d]));
}

static ssize_t fuzz_bound(struct fuzz_in *in)
{
	return fuzz_u8(in) % 4 == 0 ? MV_NONE : fuzz_ssize(in);
}

static void op_slice(struct state *st, struct fuzz_in *in, int d, int s, int nd_slice)
{
	mv_slice sl[4];
	int n = 0, rc, k;

	if (nd_slice) {
		n = fuzz_u8(in) % 5;
		for (k = 0; k < n; k++) {
			sl[k].start = fuzz_bound(in);
			sl[k].stop = fuzz_bound(in);
			sl[k].step = fuzz_bound(in);
		}
	} else {
		sl[0].start = fuzz_bound(in);
		sl[0].stop = fuzz_bound(in);
		sl[0].step = fuzz_bound(in);
	}
	if (d != s && vacate(st, d) < 0)
		return;
	rc = nd_slice ? mv_view_slice_nd(&st->v[d], &st->v[s], sl, n) :
			mv_view_slice(&st->v[d], &st->v[s], sl[0].start, sl[0].stop, sl[0].step);
	if (rc < 0) {
		FUZZ_ASSERT_ERR(rc);
		return;
	}
	FUZZ_ASSERT(d != s, "slice into its own source succeeded");
	FUZZ_ASSERT(mv_view_ndim(&st->v[d]) == mv_view_ndim(&st->v[s]), "slice changed ndim");
}

static void op_items(struct state *st, struct fuzz_in *in, int s, int write)
{
	mv_view *v = &st->v[s];
	ssize_t idx[4];
	mv_value val = { 0 }, back;
	int n = fuzz_u8(in) % 5, k, rc, multi = fuzz_u8(in) & 1;

	for (k = 0; k < n; k++)
		idx[k] = fuzz_ssize(in);
	if (write) {
		val = fuzz_value(in);
		rc = multi ? mv_view_set_multi(v, idx, n, &val) : mv_view_set_item(v, idx[0], &val);
		if (rc == 0) {
			FUZZ_ASSERT(!mv_view_readonly(v), "wrote through a readonly view");
			rc = multi ? mv_view_get_multi(&back, v, idx, n) :
				     mv_view_get_item(&back, v, idx[0]);
			FUZZ_ASSERT(rc == 0, "read back after write failed: %s", mv_errmsg());
		} else {
			FUZZ_ASSERT_ERR(rc);
		}
		return;
	}
	rc = multi ? mv_view_get_multi(&val, v, idx, n) : mv_view_get_item(&val, v, idx[0]);
	if (rc < 0)
		FUZZ_ASSERT_ERR(rc);
	else
		FUZZ_ASSERT(val.kind >= MV_VALUE_INT && val.kind <= MV_VALUE_BYTES, "kind %d",
			    val.kind);
}

static int count_visit(void *ctx, const ssize_t *index, int ndim, const mv_value *val)
{
	(*(ssize_t *)ctx)++;
	return 0;
}

static int count_write(void *ctx, const char *s, size_t n)
{
	*(size_t *)ctx += n;
	return 0;
}

static void op_output(struct state *st, struct fuzz_in *in, int s)
{
	static const char *const seps[] = { NULL, ":", "", "ab", "\x80", " " };
	static const char orders[] = "CFA\0x";
	mv_view *v = &st->v[s];
	char hex[2 * 3 * MAX_BYTES + 1];
	mv_value vals[MAX_BYTES];
	int64_t arr[MAX_BYTES];
	ssize_t n, items, visited = 0;
	size_t written = 0;
	char *text = NULL;
	int rc;

	switch (fuzz_u8(in) % 6) {
	case 0: {
		char order = orders[fuzz_u8(in) % 5];

		n = mv_view_tobytes(st->scratch, sizeof(st->scratch), v, order);
		if (n < 0)
			FUZZ_ASSERT_ERR(n);
		else
			FUZZ_ASSERT(n == mv_view_nbytes(v), "tobytes('%c') gave %zd", order, n);
		break;
	}
	case 1: {
		const char *sep = seps[fuzz_u8(in) % 6];
		int per = (int)fuzz_ssize(in);

		n = mv_view_hex(hex, sizeof(hex), v, sep, per);
		if (n < 0) {
			FUZZ_ASSERT_ERR(n);
			break;
		}
		FUZZ_ASSERT((size_t)n == strlen(hex) && n >= 2 * mv_view_nbytes(v),
			    "hex length %zd for %zd bytes", n, mv_view_nbytes(v));
		if (!sep || per == 0)
			FUZZ_ASSERT(n == 2 * mv_view_nbytes(v), "hex without separators");
		FUZZ_ASSERT(mv_view_hex(NULL, 0, v, sep, per) == n, "hex size query");
		break;
	}
	case 2:
		if (fuzz_tolist_nodes(v) > 65536)
			break; /* valid, but a walk over billions of empty lists */
		n = mv_view_tolist_text(&text, v);
		if (n < 0) {
			FUZZ_ASSERT_ERR(n);
			break;
		}
		FUZZ_ASSERT(text && strlen(text) == (size_t)n, "tolist text length");
		rc = mv_view_tolist_write(v, count_write, &written);
		FUZZ_ASSERT(rc == 0 && written == (size_t)n, "tolist_write wrote %zu of %zd",
			    written, n);
		free(text);
		break;
	case 3:
		items = mv_view_tolist_values(NULL, 0, v);
		if (items < 0) {
			FUZZ_ASSERT_ERR(items);
			break;
		}
		FUZZ_ASSERT(items * mv_view_itemsize(v) == mv_view_nbytes(v), "tolist count %zd",
			    items);
		n = mv_view_tolist_values(vals, MAX_BYTES, v);
		FUZZ_ASSERT(n == items, "tolist_values gave %zd of %zd", n, items);
		rc = mv_view_visit(v, count_visit, &visited);
		FUZZ_ASSERT(rc == 0 && visited == items, "visited %zd of %zd", visited, items);
		break;
	case 4: {
		char ctype = "qQdx"[fuzz_u8(in) % 4];

		n = mv_view_tolist_as(arr, MAX_BYTES, v, ctype);
		if (n < 0)
			FUZZ_ASSERT_ERR(n);
		else
			FUZZ_ASSERT(n * mv_view_itemsize(v) == mv_view_nbytes(v), "tolist_as %zd", n);
		break;
	}
	default: {
		int64_t h;

		rc = mv_view_hash(&h, v);
		if (rc < 0) {
			FUZZ_ASSERT_ERR(rc);
			break;
		}
		if (!live(v))
			break; /* CPython's cache: a view hashed before release keeps its hash */
		n = mv_view_tobytes(st->scratch, sizeof(st->scratch), v, 'C');
		FUZZ_ASSERT(n >= 0 && h == mv_view_hash_bytes(st->scratch, (size_t)n),
			    "hash is not the hash of tobytes()");
		break;
	}
	}
}

static void op_compare(struct state *st, struct fuzz_in *in, int a, int b)
{
	int ab = mv_view_equal(&st->v[a], &st->v[b]), ba = mv_view_equal(&st->v[b], &st->v[a]);
	ssize_t n;

	FUZZ_ASSERT(ab == ba && (ab == 0 || ab == 1), "equal(a, b) %d, equal(b, a) %d", ab, ba);
	/* Python compares shapes too: only a 1-D 'B' view equals its bytes. */
	if (!live(&st->v[a]) || strcmp(mv_view_format(&st->v[a]), "B") != 0 ||
	    mv_view_ndim(&st->v[a]) != 1)
		return;
	n = mv_view_tobytes(st->scratch, sizeof(st->scratch), &st->v[a], 'C');
	FUZZ_ASSERT(n >= 0 && mv_view_equal_bytes(&st->v[a], st->scratch, (size_t)n) == 1,
		    "a 'B' view is unequal to its bytes");
}

static void op_records(struct state *st, struct fuzz_in *in, int s)
{
	static const unsigned flags[] = { MV_BUF_SIMPLE, MV_BUF_WRITABLE, MV_BUF_FULL_RO,
					  MV_BUF_FULL, MV_BUF_C_CONTIGUOUS, MV_BUF_F_CONTIGUOUS,
					  MV_BUF_ANY_CONTIGUOUS, MV_BUF_RECORDS_RO, 0x8000 };
	int r = fuzz_u8(in) % NRECS, rc;
	unsigned fl = flags[fuzz_u8(in) % (sizeof(flags) / sizeof(flags[0]))];

	if (st->rec[r].obj) {
		FUZZ_ASSERT(mv_buffer_release(&st->rec[r]) == 0, "record release");
		return;
	}
	rc = mv_buffer_get(&st->rec[r], mv_view_exporter(&st->v[s]), fl);
	if (rc < 0) {
		FUZZ_ASSERT_ERR(rc);
		memset(&st->rec[r], 0, sizeof(st->rec[r]));
		return;
	}
	st->rec_of[r] = s;
	/* An empty view's address may be anywhere (CPython's slicing moves it by any stride). */
	FUZZ_ASSERT(st->rec[r].len == mv_view_nbytes(&st->v[s]) &&
			    (st->rec[r].len == 0 || ((char *)st->rec[r].buf >= st->base &&
						     (char *)st->rec[r].buf < st->base + st->size)),
		    "record of len %zd at offset %td of %zu for a view of %zd bytes (ndim %d)",
		    st->rec[r].len, (char *)st->rec[r].buf - st->base, st->size,
		    mv_view_nbytes(&st->v[s]), mv_view_ndim(&st->v[s]));
	rc = mv_view_release(&st->v[s]);
	FUZZ_ASSERT(rc == -EBUSY, "release of a view with an exported buffer gave %d", rc);
}

static void op_assign(struct state *st, struct fuzz_in *in, int d, int s)
{
	ssize_t start = fuzz_bound(in), stop = fuzz_bound(in), step = fuzz_bound(in);
	int rc = mv_view_assign_slice(&st->v[d], start, stop, step, &st->v[s]);

	if (rc < 0)
		FUZZ_ASSERT_ERR(rc);
	else
		FUZZ_ASSERT(!mv_view_readonly(&st->v[d]), "assigned through a readonly view");
}

static void op_resize(struct state *st, struct fuzz_in *in)
{
	long exports = mv_exporter_exports(mv_heap_exporter(st->heap));
	size_t len = fuzz_u8(in) * 2u, before = mv_heap_size(st->heap);
	int rc = mv_heap_resize(st->heap, len);

	if (rc == 0) {
		/* As PyByteArray_Resize: the same size succeeds before exports are looked at. */
		FUZZ_ASSERT((exports == 0 || len == before) && !st->bytes_kind,
			    "resized from %zu to %zu bytes with %ld exports", before, len, exports);
		FUZZ_ASSERT(mv_exporter_exports(mv_heap_exporter(st->heap)) == exports,
			    "a resize changed the export count");
		st->base = mv_heap_data(st->heap);
		st->size = mv_heap_size(st->heap);
		FUZZ_ASSERT(st->size == len, "resized to %zu, asked %zu", st->size, len);
		return;
	}
	FUZZ_ASSERT_ERR(rc);
	FUZZ_ASSERT(st->bytes_kind ? rc == -ENOTSUP : exports > 0 && len != before && rc == -EBUSY,
		    "resize from %zu to %zu bytes with %ld exports gave %d", before, len, exports, rc);
}

static void op_from(struct state *st, struct fuzz_in *in, int d, int s)
{
	static const unsigned flags[] = { 0, MV_BUF_WRITABLE, MV_BUF_FULL_RO, MV_BUF_SIMPLE,
					  MV_BUF_ND, MV_BUF_C_CONTIGUOUS, MV_BUF_RECORDS, 0x4000 };
	unsigned fl = flags[fuzz_u8(in) % (sizeof(flags) / sizeof(flags[0]))];
	int from_heap = fuzz_u8(in) & 1, rc;
	mv_exporter *exp = from_heap ? mv_heap_exporter(st->heap) : mv_view_exporter(&st->v[s]);

	if ((!from_heap && d == s) || vacate(st, d) < 0)
		return;
	rc = mv_view_from(&st->v[d], exp, fl);
	if (rc < 0)
		FUZZ_ASSERT_ERR(rc);
	else if (from_heap)
		FUZZ_ASSERT(mv_view_ptr(&st->v[d]) == st->base, "a new view of the exporter");
}

static void op_toreadonly(struct state *st, int d, int s)
{
	int rc;

	if (d != s && vacate(st, d) < 0)
		return;
	rc = mv_view_toreadonly(&st->v[d], &st->v[s]);
	if (rc < 0) {
		FUZZ_ASSERT_ERR(rc);
		return;
	}
	FUZZ_ASSERT(d != s && mv_view_readonly(&st->v[d]) == 1, "toreadonly");
}

static void op_release(struct state *st, int s)
{
	int held = 0, r, rc;

	for (r = 0; r < NRECS; r++)
		held += st->rec[r].obj && st->rec_of[r] == s;
	rc = mv_view_release(&st->v[s]);
	FUZZ_ASSERT(held ? rc == -EBUSY : rc == 0, "release with %d records held gave %d", held, rc);
	if (!held)
		FUZZ_ASSERT(mv_view_release(&st->v[s]) == 0, "release is idempotent");
}

/* The end: every record and view released, then the exporter is free to change and go. */
static void teardown(struct state *st)
{
	int i;

	for (i = 0; i < NRECS; i++)
		FUZZ_ASSERT(mv_buffer_release(&st->rec[i]) == 0, "record release");
	for (i = 0; i < NVIEWS; i++)
		FUZZ_ASSERT(mv_view_release(&st->v[i]) == 0, "release of view %d: %s", i,
			    mv_errmsg());
	FUZZ_ASSERT(mv_exporter_exports(mv_heap_exporter(st->heap)) == 0,
		    "%ld exports left after every view was released",
		    mv_exporter_exports(mv_heap_exporter(st->heap)));
	if (!st->bytes_kind)
		FUZZ_ASSERT(mv_heap_resize(st->heap, 7) == 0, "resize after release: %s",
			    mv_errmsg());
	FUZZ_ASSERT(mv_heap_free(st->heap) == 0, "free after release: %s", mv_errmsg());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct state *st = calloc(1, sizeof(*st));
	uint8_t init[MAX_BYTES];
	size_t len, i;
	int ops, rc;

	if (!st)
		return 0;
	st->bytes_kind = fuzz_u8(&in) & 1;
	len = fuzz_u8(&in) * 2u;
	for (i = 0; i < len; i++)
		init[i] = (uint8_t)(i * 37 + 11); /* no NaN-free guarantee: floats see both */
	rc = st->bytes_kind ? mv_heap_bytes_new(&st->heap, init, len) :
			      mv_heap_bytearray_new(&st->heap, init, len);
	if (rc < 0)
		abort();
	st->base = mv_heap_data(st->heap);
	st->size = mv_heap_size(st->heap);
	rc = mv_view_from(&st->v[0], mv_heap_exporter(st->heap), 0);
	FUZZ_ASSERT(rc == 0, "memoryview of the exporter: %s", mv_errmsg());
	check_view(st, &st->v[0]);

	for (ops = 0; ops < MAX_OPS && fuzz_left(&in); ops++) {
		uint8_t op = fuzz_u8(&in);
		int d = fuzz_u8(&in) % NVIEWS, s = fuzz_u8(&in) % NVIEWS;

		switch (op % 16) {
		case 0:
			op_from(st, &in, d, s);
			break;
		case 1:
		case 2:
			op_cast(st, &in, d, s);
			break;
		case 3:
		case 4:
			op_slice(st, &in, d, s, op & 8);
			break;
		case 5:
			op_items(st, &in, s, 0);
			break;
		case 6:
			op_items(st, &in, s, 1);
			break;
		case 7:
		case 8:
			op_output(st, &in, s);
			break;
		case 9:
			op_compare(st, &in, d, s);
			break;
		case 10:
			op_toreadonly(st, d, s);
			break;
		case 11:
			op_release(st, s);
			break;
		case 12:
			op_records(st, &in, s);
			break;
		case 13:
			op_assign(st, &in, d, s);
			break;
		case 14:
			op_resize(st, &in);
			break;
		default:
			check_view(st, &st->v[s]);
			break;
		}
		check_view(st, &st->v[d]);
		check_view(st, &st->v[s]);
	}
	check_all(st);
	teardown(st);
	free(st);
	return 0;
}
