/*
 * tests/check_view.c - views: lifecycle and families, exports from views, deriving, items,
 * output, comparison, and memview's extensions. Value-level conformance with CPython is
 * check_conformance's job; this suite names each rule and error path.
 */
#include "testlib.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A writable 'B' view of @n bytes 0, 1, 2, ... */
static mv_heap *heap;

static void make_view(mv_view *v, size_t n, int readonly)
{
	unsigned char buf[256];
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)i;
	ck_assert_int_eq(readonly ? mv_heap_bytes_new(&heap, buf, n) :
				    mv_heap_bytearray_new(&heap, buf, n), 0);
	ck_assert_int_eq(mv_view_from(v, mv_heap_exporter(heap), 0), 0);
}

static void text_is(const mv_view *v, const char *expected)
{
	char *s = NULL;

	ck_assert_int_ge(mv_view_tolist_text(&s, v), 0);
	ck_assert_str_eq(s, expected);
	free(s);
}

/* ------------------------------------------------------------------ lifecycle */

START_TEST(released_view_refuses_every_operation_with_ebadf)
{
	mv_view v, d;
	mv_value x;
	char out[8];
	int64_t h;

	make_view(&v, 4, 0);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_view_released(&v), 1);
	ck_assert_mv_err(mv_view_get_item(&x, &v, 0), EBADF,
			 "operation forbidden on released memoryview object");
	ck_assert_mv_err(mv_view_len(&v), EBADF, "released");
	ck_assert_mv_err(mv_view_nbytes(&v), EBADF, "released");
	ck_assert_mv_err(mv_view_slice(&d, &v, 0, 1, 1), EBADF, "released");
	ck_assert_mv_err(mv_view_cast(&d, &v, "B", NULL, MV_CAST_NO_SHAPE), EBADF, "released");
	ck_assert_mv_err(mv_view_tobytes(out, sizeof(out), &v, 'C'), EBADF, "released");
	ck_assert_mv_err(mv_view_hex(out, sizeof(out), &v, NULL, 0), EBADF, "released");
	ck_assert_mv_err(mv_view_toreadonly(&d, &v), EBADF, "released");
	ck_assert_mv_err(mv_view_hash(&h, &v), EBADF, "released");
	ck_assert_ptr_null(mv_view_format(&v));
	ck_assert_int_eq(mv_view_release(&v), 0); /* idempotent */
	mv_heap_free(heap);
}
END_TEST

START_TEST(release_of_view_with_exported_buffer_fails_with_ebusy)
{
	mv_view v;
	mv_buffer b;

	make_view(&v, 4, 0);
	ck_assert_int_eq(mv_buffer_get(&b, mv_view_exporter(&v), MV_BUF_FULL_RO), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_view_exporter(&v)), 1);
	ck_assert_mv_err(mv_view_release(&v), EBUSY, "memoryview has 1 exported buffer");
	ck_assert_int_eq(mv_view_released(&v), 0);
	mv_buffer_release(&b);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_heap_free(heap), 0);
}
END_TEST

START_TEST(family_export_is_released_with_the_last_view)
{
	mv_view v, s, c, r;

	make_view(&v, 8, 0);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(heap)), 1);
	ck_assert_int_eq(mv_view_slice(&s, &v, 2, MV_NONE, MV_NONE), 0);
	ck_assert_int_eq(mv_view_cast(&c, &v, "H", NULL, MV_CAST_NO_SHAPE), 0);
	ck_assert_int_eq(mv_view_toreadonly(&r, &c), 0);
	/* Derived views share the one export: CPython's managed buffer. */
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(heap)), 1);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_view_len(&s), 6); /* still usable */
	ck_assert_int_eq(mv_view_release(&s), 0);
	ck_assert_int_eq(mv_view_release(&c), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(heap)), 1);
	ck_assert_int_eq(mv_view_release(&r), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(heap)), 0);
	ck_assert_int_eq(mv_heap_free(heap), 0);
}
END_TEST

START_TEST(view_of_a_view_joins_its_family_without_exporting_it)
{
	mv_view v, w;

	make_view(&v, 4, 0);
	ck_assert_int_eq(mv_view_from(&w, mv_view_exporter(&v), 0), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_view_exporter(&v)), 0);
	ck_assert_ptr_eq(mv_view_obj(&w), mv_heap_exporter(heap));
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_view_equal_bytes(&w, "\0\1\2\3", 4), 1);
	ck_assert_int_eq(mv_view_release(&w), 0);
	ck_assert_int_eq(mv_heap_free(heap), 0);
}
END_TEST

START_TEST(buffer_from_view_follows_memory_getbuf_rules)
{
	mv_view v, s, r;
	mv_buffer b;

	make_view(&v, 8, 0);
	ck_assert_int_eq(mv_view_slice(&s, &v, MV_NONE, MV_NONE, 2), 0);
	ck_assert_mv_err(mv_buffer_get(&b, mv_view_exporter(&s), MV_BUF_C_CONTIGUOUS), EINVAL,
			 "memoryview: underlying buffer is not C-contiguous");
	ck_assert_mv_err(mv_buffer_get(&b, mv_view_exporter(&s), MV_BUF_SIMPLE), EINVAL,
			 "not C-contiguous");
	ck_assert_int_eq(mv_buffer_get(&b, mv_view_exporter(&s), MV_BUF_STRIDED_RO), 0);
	ck_assert_int_eq(b.strides[0], 2);
	ck_assert_int_eq(b.shape[0], 4);
	mv_buffer_release(&b);
	ck_assert_int_eq(mv_view_toreadonly(&r, &v), 0);
	ck_assert_mv_err(mv_buffer_get(&b, mv_view_exporter(&r), MV_BUF_WRITABLE), EROFS,
			 "memoryview: underlying buffer is not writable");
	ck_assert_mv_err(mv_buffer_get(&b, mv_view_exporter(&v), MV_BUF_FORMAT), EINVAL,
			 "cannot cast to unsigned bytes if the format flag is present");
	mv_view_release(&r);
	mv_view_release(&s);
	mv_view_release(&v);
	/* A zeroed view counts as released. */
	memset(&v, 0, sizeof(v));
	ck_assert_mv_err(mv_buffer_get(&b, mv_view_exporter(&v), 0), EBADF, "released");
	ck_assert_int_eq(mv_heap_free(heap), 0);
}
END_TEST

static mv_exporter *scoped_exp;

static int scoped_user(void)
{
	MV_VIEW_SCOPED(m);

	if (mv_view_from(&m, scoped_exp, 0) < 0)
		return -1;
	return (int)mv_exporter_exports(scoped_exp);
}

START_TEST(scoped_view_is_released_at_end_of_scope)
{
	mv_view v;

	make_view(&v, 4, 1);
	mv_view_release(&v);
	scoped_exp = mv_heap_exporter(heap);
	ck_assert_int_eq(scoped_user(), 1);
	ck_assert_int_eq(mv_exporter_exports(scoped_exp), 0);
	ck_assert_int_eq(mv_heap_free(heap), 0);
}
END_TEST


static void *derive_many(void *arg)
{
	const mv_view *parent = arg;
	mv_view s, c;
	int i;

	for (i = 0; i < 100000; i++) {
		if (mv_view_cast(&c, parent, "B", NULL, MV_CAST_NO_SHAPE) == 0) {
			if (mv_view_slice(&s, &c, 1, -1, 1) == 0)
				mv_view_release(&s);
			mv_view_release(&c);
		}
	}
	return NULL;
}

START_TEST(family_counts_stay_exact_when_threads_derive_at_once)
{
	mv_view v;
	pthread_t t[4];
	int i;

	make_view(&v, 64, 0);
	/* Before the first thread the counts are plain; afterwards atomic: both must add up. */
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, derive_many, &v), 0);
	derive_many(&v);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(heap)), 1); /* not freed early */
	ck_assert_int_eq(mv_view_len(&v), 64);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(heap)), 0);
	ck_assert_int_eq(mv_heap_free(heap), 0);
}
END_TEST

/* ------------------------------------------------------------------ slicing */

START_TEST(negative_step_slice_has_negative_strides)
{
	mv_view v, s;

	make_view(&v, 10, 0);
	ck_assert_int_eq(mv_view_slice(&s, &v, MV_NONE, MV_NONE, -3), 0);
	ck_assert_int_eq(mv_view_strides(&s)[0], -3);
	ck_assert_int_eq(mv_view_nbytes(&s), 4);
	ck_assert_int_eq(mv_view_c_contiguous(&s), 0);
	text_is(&s, "[9, 6, 3, 0]");
	mv_view_release(&s);
	ck_assert_int_eq(mv_view_slice(&s, &v, -2, -100, -1), 0);
	text_is(&s, "[8, 7, 6, 5, 4, 3, 2, 1, 0]");
	mv_view_release(&s);
	ck_assert_int_eq(mv_view_slice(&s, &v, 100, 200, 1), 0);
	text_is(&s, "[]");
	mv_view_release(&s);
	ck_assert_mv_err(mv_view_slice(&s, &v, 0, 1, 0), EINVAL, "slice step cannot be zero");
	mv_view_release(&v);
	mv_heap_free(heap);
}
END_TEST

START_TEST(multidimensional_slicing_is_an_extension_with_per_dimension_steps)
{
	mv_view v, c, s;
	ssize_t shape[2] = { 3, 4 };
	mv_slice sl[2] = { { MV_NONE, MV_NONE, 2 }, { 3, MV_NONE, -2 } };

	make_view(&v, 12, 0);
	ck_assert_int_eq(mv_view_cast(&c, &v, "B", shape, 2), 0);
	ck_assert_int_eq(mv_view_slice_nd(&s, &c, sl, 2), 0);
	text_is(&s, "[[3, 1], [11, 9]]");
	ck_assert_int_eq(mv_view_shape(&s)[0], 2);
	ck_assert_int_eq(mv_view_strides(&s)[1], -2);
	ck_assert_mv_err(mv_view_slice_nd(&s, &c, sl, 3), EINVAL, "2-dimension view");
	mv_view_release(&s);
	mv_view_release(&c);
	mv_view_release(&v);
	mv_heap_free(heap);
}
END_TEST

/* ------------------------------------------------------------------ cast */

START_TEST(cast_errors_carry_cpythons_messages)
{
	mv_view v, c, s;
	ssize_t shape23[2] = { 2, 3 }, shape0[1] = { 0 }, bigshape[65];
	int i;

	make_view(&v, 6, 0);
	ck_assert_mv_err(mv_view_cast(&c, &v, "i", NULL, MV_CAST_NO_SHAPE), EINVAL,
			 "memoryview: length is not a multiple of itemsize");
	ck_assert_mv_err(mv_view_cast(&c, &v, "x", NULL, MV_CAST_NO_SHAPE), EINVAL,
			 "memoryview: destination format must be a native single character "
			 "format prefixed with an optional '@'");
	ck_assert_mv_err(mv_view_cast(&c, &v, "B", shape23, 1), EINVAL,
			 "memoryview: product(shape) * itemsize != buffer size");
	ck_assert_mv_err(mv_view_cast(&c, &v, "B", shape0, 1), EINVAL,
			 "memoryview.cast(): elements of shape must be integers > 0");
	for (i = 0; i < 65; i++)
		bigshape[i] = 1;
	ck_assert_mv_err(mv_view_cast(&c, &v, "B", bigshape, 65), EINVAL,
			 "memoryview: number of dimensions must not exceed 64");
	ck_assert_int_eq(mv_view_cast(&c, &v, "H", NULL, MV_CAST_NO_SHAPE), 0);
	ck_assert_mv_err(mv_view_cast(&s, &c, "i", NULL, MV_CAST_NO_SHAPE), EINVAL,
			 "memoryview: cannot cast between two non-byte formats");
	mv_view_release(&c);
	ck_assert_int_eq(mv_view_cast(&c, &v, "B", shape23, 2), 0);
	ck_assert_mv_err(mv_view_cast(&s, &c, "B", shape23, 2), EINVAL,
			 "memoryview: cast must be 1D -> ND or ND -> 1D");
	mv_view_release(&c);
	ck_assert_int_eq(mv_view_slice(&s, &v, MV_NONE, MV_NONE, 2), 0);
	ck_assert_mv_err(mv_view_cast(&c, &s, "B", NULL, MV_CAST_NO_SHAPE), EINVAL,
			 "memoryview: casts are restricted to C-contiguous views");
	mv_view_release(&s);
	ck_assert_int_eq(mv_view_slice(&s, &v, 0, 0, 1), 0);
	ck_assert_mv_err(mv_view_cast(&c, &s, "B", shape23, 2), EINVAL,
			 "memoryview: cannot cast view with zeros in shape or strides");
	mv_view_release(&s);
	mv_view_release(&v);
	mv_heap_free(heap);
}
END_TEST

START_TEST(cast_to_empty_shape_gives_a_0_dim_view)
{
	mv_view v, c;
	mv_value x;
	ssize_t i = 0;

	make_view(&v, 4, 0);
	ck_assert_int_eq(mv_view_cast(&c, &v, "i", NULL, 0), 0);
	ck_assert_int_eq(mv_view_ndim(&c), 0);
	ck_assert_mv_err(mv_view_len(&c), EINVAL, "0-dim memory has no length");
	ck_assert_int_eq(mv_view_get_multi(&x, &c, NULL, 0), 0);
	ck_assert_int_eq(x.kind, MV_VALUE_INT);
	ck_assert_int_eq(x.i, 0x03020100);
	ck_assert_mv_err(mv_view_get_item(&x, &c, 0), EINVAL, "invalid indexing of 0-dim memory");
	ck_assert_mv_err(mv_view_get_multi(&x, &c, &i, 1), EINVAL, "0-dim");
	text_is(&c, "50462976");
	ck_assert_int_eq(mv_view_c_contiguous(&c), 1);
	ck_assert_int_eq(mv_view_f_contiguous(&c), 1);
	mv_view_release(&c);
	mv_view_release(&v);
	mv_heap_free(heap);
}
END_TEST

START_TEST(views_beyond_eight_dimensions_spill_to_the_heap_and_work)
{
	mv_view v, c, s, f;
	ssize_t shape[12];
	int i;

	for (i = 0; i < 12; i++)
		shape[i] = i < 4 ? 2 : 1;
	make_view(&v, 16, 0);
	ck_assert_int_eq(mv_view_cast(&c, &v, "B", shape, 12), 0);
	ck_assert_int_eq(mv_view_ndim(&c), 12);
	ck_assert_int_eq(mv_view_strides(&c)[0], 8);
	ck_assert_int_eq(mv_view_slice(&s, &c, 1, MV_NONE, MV_NONE), 0);
	ck_assert_int_eq(mv_view_shape(&s)[0], 1);
	ck_assert_int_eq(mv_view_cast(&f, &s, "B", NULL, MV_CAST_NO_SHAPE), 0);
	text_is(&f, "[8, 9, 10, 11, 12, 13, 14, 15]");
	mv_view_release(&f);
	mv_view_release(&s);
	mv_view_release(&c);
	mv_view_release(&v);
	ck_assert_int_eq(mv_heap_free(heap), 0);
}
END_TEST

/* ------------------------------------------------------------------ items */

START_TEST(item_access_checks_bounds_dimensions_and_readonly)
{
	mv_view v, c, r;
	ssize_t shape[2] = { 2, 3 }, idx[3] = { 1, 2, 0 };
	mv_value x, big = mv_value_int(256), flt = mv_value_float(1.0);

	make_view(&v, 6, 0);
	ck_assert_int_eq(mv_view_get_item(&x, &v, -1), 0);
	ck_assert_int_eq(x.u, 5);
	ck_assert_mv_err(mv_view_get_item(&x, &v, 6), ERANGE, "index out of bounds on dimension 1");
	ck_assert_mv_err(mv_view_set_item(&v, 0, &big), ERANGE,
			 "memoryview: invalid value for format 'B'");
	ck_assert_mv_err(mv_view_set_item(&v, 0, &flt), EINVAL,
			 "memoryview: invalid type for format 'B'");
	ck_assert_int_eq(mv_view_cast(&c, &v, "B", shape, 2), 0);
	ck_assert_mv_err(mv_view_get_item(&x, &c, 0), ENOTSUP,
			 "multi-dimensional sub-views are not implemented");
	ck_assert_mv_err(mv_view_get_multi(&x, &c, idx, 1), ENOTSUP, "sub-views are not implemented");
	ck_assert_mv_err(mv_view_get_multi(&x, &c, idx, 3), EINVAL,
			 "cannot index 2-dimension view with 3-element tuple");
	ck_assert_int_eq(mv_view_get_multi(&x, &c, idx, 2), 0);
	ck_assert_int_eq(x.u, 5);
	idx[1] = 3;
	ck_assert_mv_err(mv_view_get_multi(&x, &c, idx, 2), ERANGE,
			 "index out of bounds on dimension 2");
	ck_assert_int_eq(mv_view_toreadonly(&r, &c), 0);
	idx[1] = 0;
	ck_assert_mv_err(mv_view_set_multi(&r, idx, 2, &big), EROFS, "cannot modify read-only memory");
	mv_view_release(&r);
	mv_view_release(&c);
	mv_view_release(&v);
	mv_heap_free(heap);
}
END_TEST

START_TEST(slice_assignment_needs_equal_structure_and_handles_overlap)
{
	mv_view v, src, h;

	make_view(&v, 8, 0);
	/* Overlapping: m[1:8] = m[0:7] shifts right by one, like memmove. */
	ck_assert_int_eq(mv_view_slice(&src, &v, 0, 7, 1), 0);
	ck_assert_int_eq(mv_view_assign_slice(&v, 1, 8, 1, &src), 0);
	text_is(&v, "[0, 0, 1, 2, 3, 4, 5, 6]");
	ck_assert_mv_err(mv_view_assign_slice(&v, 0, 3, 1, &src), EINVAL,
			 "memoryview assignment: lvalue and rvalue have different structures");
	ck_assert_int_eq(mv_view_cast(&h, &v, "H", NULL, MV_CAST_NO_SHAPE), 0);
	ck_assert_mv_err(mv_view_assign_slice(&v, 0, 4, 1, &h), EINVAL, "different structures");
	mv_view_release(&src);
	/* Strided destination, reversed source. */
	ck_assert_int_eq(mv_view_slice(&src, &v, 3, MV_NONE, -1), 0);
	ck_assert_int_eq(mv_view_assign_slice(&v, 0, 8, 2, &src), 0);
	text_is(&v, "[2, 0, 1, 2, 0, 4, 0, 6]");
	mv_view_release(&src);
	mv_view_release(&h);
	mv_view_release(&v);
	mv_heap_free(heap);
}
END_TEST

/* ------------------------------------------------------------------ output */

START_TEST(tobytes_in_c_f_and_a_order)
{
	mv_view v, c;
	ssize_t shape[2] = { 2, 3 };
	unsigned char out[6];
	const unsigned char f_order[6] = { 0, 3, 1, 4, 2, 5 };

	make_view(&v, 6, 1);
	ck_assert_int_eq(mv_view_cast(&c, &v, "B", shape, 2), 0);
	ck_assert_int_eq(mv_view_tobytes(out, 6, &c, 'F'), 6);
	ck_assert_int_eq(memcmp(out, f_order, 6), 0);
	ck_assert_int_eq(mv_view_tobytes(out, 6, &c, 'A'), 6);
	ck_assert_int_eq(memcmp(out, "\0\1\2\3\4\5", 6), 0);
	ck_assert_int_eq(mv_view_tobytes(NULL, 0, &c, 'C'), 6);
	ck_assert_mv_err(mv_view_tobytes(out, 5, &c, 'C'), ENOBUFS, "6 bytes needed");
	ck_assert_mv_err(mv_view_tobytes(out, 6, &c, 'X'), EINVAL, "order must be 'C', 'F' or 'A'");
	ck_assert_int_eq(mv_view_c_contiguous(&c), 1);
	ck_assert_int_eq(mv_view_f_contiguous(&c), 0);
	ck_assert_int_eq(mv_view_contiguous(&c), 1);
	mv_view_release(&c);
	mv_view_release(&v);
	mv_heap_free(heap);
}
END_TEST

START_TEST(hex_groups_from_the_right_for_positive_and_left_for_negative)
{
	mv_view v, s;
	char out[64];

	make_view(&v, 6, 1);
	ck_assert_int_eq(mv_view_slice(&s, &v, 1, MV_NONE, MV_NONE), 0);
	ck_assert_int_eq(mv_view_hex(out, sizeof(out), &s, ":", 2), 12);
	ck_assert_str_eq(out, "01:0203:0405");
	ck_assert_int_eq(mv_view_hex(out, sizeof(out), &s, ":", -2), 12);
	ck_assert_str_eq(out, "0102:0304:05");
	ck_assert_int_eq(mv_view_hex(out, sizeof(out), &s, "-", 0), 10);
	ck_assert_str_eq(out, "0102030405");
	ck_assert_int_eq(mv_view_hex(out, sizeof(out), &s, NULL, 0), 10);
	ck_assert_mv_err(mv_view_hex(out, sizeof(out), &s, "ab", 1), EINVAL, "sep must be length 1.");
	ck_assert_mv_err(mv_view_hex(out, sizeof(out), &s, "\xc3", 1), EINVAL, "sep must be ASCII.");
	ck_assert_mv_err(mv_view_hex(out, 10, &s, NULL, 0), ENOBUFS, "11 bytes needed");
	mv_view_release(&s);
	ck_assert_int_eq(mv_view_slice(&s, &v, MV_NONE, MV_NONE, -2), 0);
	ck_assert_int_eq(mv_view_hex(out, sizeof(out), &s, " ", 1), 8);
	ck_assert_str_eq(out, "05 03 01");
	mv_view_release(&s);
	mv_view_release(&v);
	mv_heap_free(heap);
}
END_TEST

static int count_visit(void *ctx, const ssize_t *index, int ndim, const mv_value *val)
{
	int *n = ctx;

	ck_assert_int_eq(ndim, 2);
	ck_assert_int_eq((long long)val->u, index[0] * 3 + index[1]);
	return ++*n == 4 ? 42 : 0;
}

START_TEST(tolist_visitor_typed_array_and_text_agree)
{
	mv_view v, c, d;
	ssize_t shape[2] = { 2, 3 };
	mv_value vals[6];
	double dd[6];
	int64_t q[6];
	int n = 0;

	make_view(&v, 6, 1);
	ck_assert_int_eq(mv_view_cast(&c, &v, "B", shape, 2), 0);
	ck_assert_int_eq(mv_view_visit(&c, count_visit, &n), 42); /* the visitor stops the walk */
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(mv_view_tolist_values(vals, 6, &c), 6);
	ck_assert_int_eq(vals[5].u, 5);
	ck_assert_mv_err(mv_view_tolist_values(vals, 5, &c), ENOBUFS, "6 items");
	ck_assert_int_eq(mv_view_tolist_as(dd, 6, &c, 'd'), 6);
	ck_assert(dd[4] == 4.0);
	ck_assert_int_eq(mv_view_tolist_as(q, 6, &c, 'q'), 6);
	ck_assert_int_eq(q[3], 3);
	text_is(&c, "[[0, 1, 2], [3, 4, 5]]");
	ck_assert_int_eq(mv_view_cast(&d, &v, "c", NULL, MV_CAST_NO_SHAPE), 0);
	text_is(&d, "[b'\\x00', b'\\x01', b'\\x02', b'\\x03', b'\\x04', b'\\x05']");
	ck_assert_mv_err(mv_view_tolist_as(q, 6, &d, 'q'), EINVAL, "bytes");
	mv_view_release(&d);
	mv_view_release(&c);
	mv_view_release(&v);
	mv_heap_free(heap);
}
END_TEST

/* ------------------------------------------------------------------ equality, hashing */

static void view_of(mv_view *v, mv_heap **h, const void *data, size_t n, const char *fmt)
{
	mv_view b;

	ck_assert_int_eq(mv_heap_bytes_new(h, data, n), 0);
	ck_assert_int_eq(mv_view_from(&b, mv_heap_exporter(*h), 0), 0);
	ck_assert_int_eq(mv_view_cast(v, &b, fmt, NULL, MV_CAST_NO_SHAPE), 0);
	mv_view_release(&b);
}

START_TEST(equality_compares_values_across_formats)
{
	int32_t i32[2] = { 1, 2 };
	int64_t i64[2] = { 1, 2 };
	double nan[1] = { NAN }, zeros[2] = { 0.0, -0.0 };
	float fz[2] = { -0.0f, 0.0f };
	mv_heap *h1, *h2, *h3, *h4, *h5;
	mv_view a, b, n, d, f, u;

	view_of(&a, &h1, i32, sizeof(i32), "i");
	view_of(&b, &h2, i64, sizeof(i64), "q");
	ck_assert_int_eq(mv_view_equal(&a, &b), 1);
	view_of(&n, &h3, nan, sizeof(nan), "d");
	ck_assert_int_eq(mv_view_equal(&n, &n), 0); /* NaN is unequal to itself */
	view_of(&d, &h4, zeros, sizeof(zeros), "d");
	view_of(&f, &h5, fz, sizeof(fz), "f");
	ck_assert_int_eq(mv_view_equal(&d, &f), 1); /* 0.0 == -0.0 */
	mv_view_release(&a);
	mv_view_release(&b);
	ck_assert_int_eq(mv_heap_free(h1), 0);
	ck_assert_int_eq(mv_heap_free(h2), 0);
	view_of(&a, &h1, "ab", 2, "c");
	view_of(&u, &h2, "ab", 2, "B");
	ck_assert_int_eq(mv_view_equal(&a, &u), 0); /* bytes never equal ints */
	ck_assert_int_eq(mv_view_equal_bytes(&u, "ab", 2), 1);
	ck_assert_int_eq(mv_view_equal_bytes(&a, "ab", 2), 0);
	mv_view_release(&u);
	ck_assert_int_eq(mv_view_equal(&u, &u), 1); /* identity, even released */
	ck_assert_int_eq(mv_view_equal(&u, &a), 0);
	mv_view_release(&a);
	mv_view_release(&n);
	mv_view_release(&d);
	mv_view_release(&f);
	ck_assert_int_eq(mv_heap_free(h1), 0);
	ck_assert_int_eq(mv_heap_free(h2), 0);
	ck_assert_int_eq(mv_heap_free(h3), 0);
	ck_assert_int_eq(mv_heap_free(h4), 0);
	ck_assert_int_eq(mv_heap_free(h5), 0);
}
END_TEST

START_TEST(hash_of_readonly_byte_views_is_python_hash_with_seed_0)
{
	mv_view v, w, c;
	mv_heap *h;
	int64_t x;

	view_of(&v, &h, "abc", 3, "B");
	ck_assert_int_eq(mv_view_hash(&x, &v), 0);
	/* PYTHONHASHSEED=0 python3.13 -c "print(hash(b'abc'))" */
	ck_assert(x == -4594863902769663758LL);
	ck_assert(mv_view_hash_bytes("", 0) == 0);
	ck_assert_int_eq(mv_view_cast(&c, &v, "c", NULL, MV_CAST_NO_SHAPE), 0);
	ck_assert_int_eq(mv_view_hash(&x, &c), 0);
	ck_assert(x == -4594863902769663758LL);
	mv_view_release(&c);
	make_view(&w, 4, 0);
	ck_assert_mv_err(mv_view_hash(&x, &w), EINVAL, "cannot hash writable memoryview object");
	ck_assert_int_eq(mv_view_toreadonly(&c, &w), 0);
	ck_assert_mv_err(mv_view_hash(&x, &c), EINVAL, "unhashable type: 'bytearray'");
	mv_view_release(&c);
	mv_view_release(&w);
	mv_heap_free(heap);
	make_view(&w, 4, 1);
	ck_assert_int_eq(mv_view_cast(&c, &w, "H", NULL, MV_CAST_NO_SHAPE), 0);
	ck_assert_mv_err(mv_view_hash(&x, &c), EINVAL,
			 "memoryview: hashing is restricted to formats 'B', 'b' or 'c'");
	mv_view_release(&c);
	mv_view_release(&w);
	ck_assert_int_eq(mv_heap_free(heap), 0);
	mv_view_release(&v);
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

/* ------------------------------------------------------------------ extensions */

START_TEST(byte_order_prefixes_are_an_extension_in_casts)
{
	mv_view v, be, le;
	const unsigned char data[4] = { 0x00, 0x01, 0x02, 0x00 };
	mv_heap *h;
	mv_value x;

	view_of(&v, &h, data, 4, "B");
	ck_assert_int_eq(mv_view_cast(&be, &v, ">H", NULL, MV_CAST_NO_SHAPE), 0);
	ck_assert_int_eq(mv_view_cast(&le, &v, "<H", NULL, MV_CAST_NO_SHAPE), 0);
	ck_assert_str_eq(mv_view_format(&be), ">H");
	text_is(&be, "[1, 512]");
	text_is(&le, "[256, 2]");
	ck_assert_int_eq(mv_view_get_item(&x, &be, 1), 0);
	ck_assert_int_eq(x.u, 512);
	ck_assert_int_eq(mv_view_equal(&be, &le), 0);
	mv_view_release(&be);
	mv_view_release(&le);
	mv_view_release(&v);
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

/*
 * An exporter whose record has a zero-length first dimension in front of one whose C-order
 * stride overflows (shape (0, 2**62) of 'd', no strides): found by fuzz/fuzz_segment_header.
 */
static ssize_t huge_shape[3] = { 0, (ssize_t)1 << 62 };
static int huge_ndim = 2;

static int huge_get(mv_exporter *self, mv_buffer *buf, unsigned flags)
{
	static double mem[1];

	buf->buf = mem;
	buf->len = 0;
	buf->itemsize = sizeof(double);
	buf->readonly = 1;
	buf->ndim = huge_ndim;
	buf->format = "d";
	buf->shape = huge_shape;
	buf->strides = NULL;
	buf->suboffsets = NULL;
	return 0;
}

static const mv_exporter_ops huge_ops = {
	.size = sizeof(mv_exporter_ops),
	.name = "huge",
	.get = huge_get,
};

START_TEST(record_whose_c_strides_overflow_behind_a_zero_dimension_is_refused)
{
	mv_exporter e = MV_EXPORTER_INIT(&huge_ops);
	mv_view v;

	ck_assert_mv_err(mv_view_from(&v, &e, 0), EINVAL, "invalid shape");
	ck_assert_int_eq(mv_exporter_exports(&e), 0);
	huge_shape[1] = 5; /* the same record with strides that fit is a view */
	ck_assert_int_eq(mv_view_from(&v, &e, 0), 0);
	ck_assert_int_eq(mv_view_strides(&v)[0], 5 * (ssize_t)sizeof(double));
	ck_assert_int_eq(mv_view_release(&v), 0);
}
END_TEST

/*
 * numpy's rule: a zero dimension empties the array but does not excuse the others. Shape
 * (2**31, 2**32, 0) of 'd' has C-order strides (0, 0, 8) that fit, but its Fortran-order strides
 * (8, 2**34, 2**66) do not, and numpy refuses it ("array is too big"); (2**20, 2**20, 0) is an
 * ordinary empty array.
 */
START_TEST(record_whose_nonzero_dimensions_overflow_in_front_of_a_zero_is_refused)
{
	mv_exporter e = MV_EXPORTER_INIT(&huge_ops);
	mv_view v;

	huge_ndim = 3;
	huge_shape[0] = (ssize_t)1 << 31;
	huge_shape[1] = (ssize_t)1 << 32;
	huge_shape[2] = 0;
	ck_assert_mv_err(mv_view_from(&v, &e, 0), EINVAL, "invalid shape");
	ck_assert_int_eq(mv_exporter_exports(&e), 0);
	huge_shape[0] = huge_shape[1] = (ssize_t)1 << 20;
	ck_assert_int_eq(mv_view_from(&v, &e, 0), 0);
	ck_assert_int_eq(mv_view_nbytes(&v), 0);
	ck_assert_int_eq(mv_view_c_contiguous(&v), 1);
	ck_assert_int_eq(mv_view_f_contiguous(&v), 1);
	ck_assert_int_eq(mv_view_release(&v), 0);
}
END_TEST

#ifndef SSIZE_MAX
#define SSIZE_MAX ((ssize_t)(SIZE_MAX >> 1))
#endif

/*
 * mv_view_slice() derives a 1-D slice inline and mv_view_slice_nd() the general way: both give
 * the same view for every bound and step, on sources of any stride and itemsize.
 */
static void same_view(const mv_view *a, const mv_view *b)
{
	unsigned char x[64], y[64];

	ck_assert_ptr_eq(mv_view_ptr(a), mv_view_ptr(b));
	ck_assert_int_eq(mv_view_nbytes(a), mv_view_nbytes(b));
	ck_assert_int_eq(mv_view_itemsize(a), mv_view_itemsize(b));
	ck_assert_int_eq(mv_view_ndim(a), mv_view_ndim(b));
	ck_assert_int_eq(mv_view_len(a), mv_view_len(b));
	ck_assert_int_eq(mv_view_shape(a)[0], mv_view_shape(b)[0]);
	ck_assert_int_eq(mv_view_strides(a)[0], mv_view_strides(b)[0]);
	ck_assert_int_eq(mv_view_c_contiguous(a), mv_view_c_contiguous(b));
	ck_assert_int_eq(mv_view_f_contiguous(a), mv_view_f_contiguous(b));
	ck_assert_int_eq(mv_view_readonly(a), mv_view_readonly(b));
	ck_assert_ptr_eq(mv_view_format(a), mv_view_format(b));
	ck_assert_ptr_eq(mv_view_obj(a), mv_view_obj(b));
	ck_assert_int_eq(mv_view_tobytes(x, sizeof(x), a, 'C'), mv_view_tobytes(y, sizeof(y), b, 'C'));
	ck_assert_int_eq(memcmp(x, y, (size_t)mv_view_nbytes(a)), 0);
}

START_TEST(one_dimensional_slice_agrees_with_slice_nd_for_every_bound_and_step)
{
	static const ssize_t bounds[] = { MV_NONE, -SSIZE_MAX, -9, -7, -6, -3, -1, 0, 1, 2,
					  5, 6, 7, 9, SSIZE_MAX };
	static const ssize_t steps[] = { MV_NONE, -SSIZE_MAX, -7, -2, -1, 1, 2, 3, 7, SSIZE_MAX,
					 0 };
	const size_t nb = sizeof(bounds) / sizeof(bounds[0]), ns = sizeof(steps) / sizeof(steps[0]);
	mv_view v, src[4], a, b;
	size_t i, j, k, n;
	int w, ra, rb;

	make_view(&v, 24, 1);
	for (n = 0; n <= 12; n += 6) {
		/* v[:n], v[:2n:2], v[2n-1::-2] if any, and v[:2n].cast('H') */
		ck_assert_int_eq(mv_view_slice(&src[0], &v, 0, (ssize_t)n, 1), 0);
		ck_assert_int_eq(mv_view_slice(&src[1], &v, 0, 2 * (ssize_t)n, 2), 0);
		ck_assert_int_eq(mv_view_slice(&src[2], &v, n ? 2 * (ssize_t)n - 1 : 0, n ? MV_NONE : 0,
					       -2), 0);
		ck_assert_int_eq(mv_view_slice(&a, &v, 0, 2 * (ssize_t)n, 1), 0);
		ck_assert_int_eq(mv_view_cast(&src[3], &a, "H", NULL, MV_CAST_NO_SHAPE), 0);
		ck_assert_int_eq(mv_view_release(&a), 0);
		for (w = 0; w < 4; w++) {
			ck_assert_int_eq(mv_view_len(&src[w]), (ssize_t)n);
			for (i = 0; i < nb; i++)
				for (j = 0; j < nb; j++)
					for (k = 0; k < ns; k++) {
						mv_slice sl = { bounds[i], bounds[j], steps[k] };

						ra = mv_view_slice(&a, &src[w], sl.start, sl.stop, sl.step);
						rb = mv_view_slice_nd(&b, &src[w], &sl, 1);
						ck_assert_int_eq(ra, rb);
						if (ra < 0) {
							ck_assert_int_eq(ra, -EINVAL);
							ck_assert_str_eq(mv_errmsg(),
									 "slice step cannot be zero");
							continue;
						}
						same_view(&a, &b);
						ck_assert_int_eq(mv_view_release(&a), 0);
						ck_assert_int_eq(mv_view_release(&b), 0);
					}
			ck_assert_int_eq(mv_view_release(&src[w]), 0);
		}
	}
	ck_assert_int_eq(mv_view_release(&v), 0);
	/* every derived view gave its place in the family back: the export is gone */
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(heap)), 0);
	ck_assert_int_eq(mv_heap_free(heap), 0);
}
END_TEST

/*
 * mv_view_cast() to a one-character format with no shape derives inline; a cast to the same
 * format with the explicit 1-D shape goes the general way. Same views, same refusals.
 */
START_TEST(cast_without_shape_agrees_with_cast_to_explicit_one_dimensional_shape)
{
	static const char *const formats[] = { "c", "b", "B", "?", "h", "H", "i", "I", "l", "L",
					       "q", "Q", "n", "N", "f", "d", "e", "P", "@B", "<i",
					       "x", "", "BB" };
	static const size_t lens[] = { 0, 1, 3, 8, 24 };
	mv_view v, src, d, a, b;
	char err[256];
	size_t f, l;
	ssize_t shape;
	int ra, rb, byte_src;

	make_view(&v, 24, 0);
	for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		for (byte_src = 0; byte_src < 2; byte_src++) {
			ck_assert_int_eq(mv_view_slice(&d, &v, 0, (ssize_t)lens[l], 1), 0);
			if (byte_src) {
				ck_assert_int_eq(mv_view_from(&src, mv_view_exporter(&d), 0), 0);
			} else if (mv_view_cast(&src, &d, "h", NULL, MV_CAST_NO_SHAPE) < 0) {
				ck_assert_int_eq(mv_view_release(&d), 0);
				continue; /* odd length: no 'h' source */
			}
			ck_assert_int_eq(mv_view_release(&d), 0);
			for (f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
				ssize_t isz = mv_format_itemsize(formats[f]);

				ra = mv_view_cast(&a, &src, formats[f], NULL, MV_CAST_NO_SHAPE);
				snprintf(err, sizeof(err), "%s", ra < 0 ? mv_errmsg() : "");
				shape = isz > 0 ? (ssize_t)lens[l] / isz : 1;
				if (shape == 0)
					shape = 1; /* cast(fmt, [0]) is refused: compare the other rules */
				rb = mv_view_cast(&b, &src, formats[f], &shape, 1);
				if (ra == 0) {
					ck_assert_int_eq(mv_view_len(&a), (ssize_t)lens[l] / isz);
					ck_assert_int_eq(mv_view_c_contiguous(&a), 1);
					ck_assert_int_eq(mv_view_f_contiguous(&a), 1);
					if (rb == 0) {
						same_view(&a, &b);
						ck_assert_int_eq(mv_view_release(&b), 0);
					}
					ck_assert_int_eq(mv_view_release(&a), 0);
				} else {
					/* the same refusal, unless it is about the shape */
					ck_assert_int_lt(rb, 0);
					if (!strstr(mv_errmsg(), "shape") &&
					    !strstr(mv_errmsg(), "buffer size"))
						ck_assert_str_eq(err, mv_errmsg());
				}
			}
			ck_assert_int_eq(mv_view_release(&src), 0);
		}
	}
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(heap)), 0);
	ck_assert_int_eq(mv_heap_free(heap), 0);
}
END_TEST

/*
 * Strided tobytes against a plain loop for every length and start where the gather's SIMD
 * paths begin and end: the alignment head, 32- and 16-item vectors, the byte tail.
 */
START_TEST(strided_tobytes_matches_a_plain_loop_at_every_length_and_alignment)
{
	static const ssize_t steps[] = { 2, -2, 3 };
	enum { N = 600 };
	unsigned char buf[N], out[N], want[N];
	mv_view v, s;
	ssize_t off, len, k, i;
	size_t st;

	for (i = 0; i < N; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	ck_assert_int_eq(mv_heap_bytes_new(&heap, buf, N), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_heap_exporter(heap), 0), 0);
	for (st = 0; st < sizeof(steps) / sizeof(steps[0]); st++)
		for (off = 0; off < 34; off++)
			for (len = 0; len <= 260; len++) {
				ssize_t step = steps[st], first = step > 0 ? off : N - 1 - off;
				ssize_t stop = first + len * step;

				if (first + (len - 1) * step < 0 || first + (len - 1) * step >= N)
					continue;
				/* a stop before index 0 is "omitted", not counted from the end */
				ck_assert_int_eq(mv_view_slice(&s, &v, first, stop < 0 ? MV_NONE : stop,
							       step), 0);
				ck_assert_int_eq(mv_view_len(&s), len);
				for (k = 0; k < len; k++)
					want[k] = buf[first + k * step];
				memset(out, 0xee, sizeof(out));
				ck_assert_int_eq(mv_view_tobytes(out, sizeof(out), &s, 'C'), len);
				ck_assert_int_eq(memcmp(out, want, (size_t)len), 0);
				ck_assert_int_eq(out[len], 0xee); /* nothing written past the end */
				ck_assert_int_eq(mv_view_release(&s), 0);
			}
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_heap_free(heap), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("view");
	TCase *tc = tcase_create("lifecycle");

	tcase_add_test(tc, released_view_refuses_every_operation_with_ebadf);
	tcase_add_test(tc, release_of_view_with_exported_buffer_fails_with_ebusy);
	tcase_add_test(tc, family_export_is_released_with_the_last_view);
	tcase_add_test(tc, view_of_a_view_joins_its_family_without_exporting_it);
	tcase_add_test(tc, buffer_from_view_follows_memory_getbuf_rules);
	tcase_add_test(tc, scoped_view_is_released_at_end_of_scope);
	tcase_add_test(tc, family_counts_stay_exact_when_threads_derive_at_once);
	tcase_add_test(tc, record_whose_c_strides_overflow_behind_a_zero_dimension_is_refused);
	tcase_add_test(tc, record_whose_nonzero_dimensions_overflow_in_front_of_a_zero_is_refused);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("slicing and casting");
	tcase_add_test(tc, negative_step_slice_has_negative_strides);
	tcase_add_test(tc, multidimensional_slicing_is_an_extension_with_per_dimension_steps);
	tcase_add_test(tc, cast_errors_carry_cpythons_messages);
	tcase_add_test(tc, cast_to_empty_shape_gives_a_0_dim_view);
	tcase_add_test(tc, views_beyond_eight_dimensions_spill_to_the_heap_and_work);
	tcase_add_test(tc, one_dimensional_slice_agrees_with_slice_nd_for_every_bound_and_step);
	tcase_add_test(tc, cast_without_shape_agrees_with_cast_to_explicit_one_dimensional_shape);
	suite_add_tcase(s, tc);
	tc = tcase_create("items");
	tcase_add_test(tc, item_access_checks_bounds_dimensions_and_readonly);
	tcase_add_test(tc, slice_assignment_needs_equal_structure_and_handles_overlap);
	suite_add_tcase(s, tc);
	tc = tcase_create("output");
	tcase_add_test(tc, tobytes_in_c_f_and_a_order);
	tcase_add_test(tc, strided_tobytes_matches_a_plain_loop_at_every_length_and_alignment);
	tcase_add_test(tc, hex_groups_from_the_right_for_positive_and_left_for_negative);
	tcase_add_test(tc, tolist_visitor_typed_array_and_text_agree);
	suite_add_tcase(s, tc);
	tc = tcase_create("equality and hashing");
	tcase_add_test(tc, equality_compares_values_across_formats);
	tcase_add_test(tc, hash_of_readonly_byte_views_is_python_hash_with_seed_0);
	suite_add_tcase(s, tc);
	tc = tcase_create("extensions");
	tcase_add_test(tc, byte_order_prefixes_are_an_extension_in_casts);
	suite_add_tcase(s, tc);
	return mv_test_run(s);
}
