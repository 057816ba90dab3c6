/*
 * tests/check_buffer.c - the exporter protocol: buffer records, request flags, export counts.
 */
#include "testlib.h"

#include <pthread.h>
#include <string.h>

static unsigned char mem[16];

START_TEST(get_counts_an_export_and_release_uncounts_it)
{
	mv_heap *h;
	mv_buffer a, b;

	ck_assert_int_eq(mv_heap_bytearray_new(&h, mem, sizeof(mem)), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(h)), 0);
	ck_assert_int_eq(mv_buffer_get(&a, mv_heap_exporter(h), MV_BUF_SIMPLE), 0);
	ck_assert_int_eq(mv_buffer_get(&b, mv_heap_exporter(h), MV_BUF_FULL), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(h)), 2);
	ck_assert_int_eq(mv_buffer_release(&a), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(h)), 1);
	ck_assert_int_eq(mv_buffer_release(&b), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(h)), 0);
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

START_TEST(release_is_idempotent)
{
	mv_heap *h;
	mv_buffer a;

	ck_assert_int_eq(mv_heap_bytes_new(&h, mem, sizeof(mem)), 0);
	ck_assert_int_eq(mv_buffer_get(&a, mv_heap_exporter(h), MV_BUF_SIMPLE), 0);
	ck_assert_int_eq(mv_buffer_release(&a), 0);
	ck_assert_ptr_null(a.obj);
	ck_assert_int_eq(mv_buffer_release(&a), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(h)), 0);
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

START_TEST(simple_request_fills_no_format_shape_or_strides)
{
	mv_heap *h;
	mv_buffer a;

	ck_assert_int_eq(mv_heap_bytes_new(&h, mem, sizeof(mem)), 0);
	ck_assert_int_eq(mv_buffer_get(&a, mv_heap_exporter(h), MV_BUF_SIMPLE), 0);
	ck_assert_ptr_null(a.format);
	ck_assert_ptr_null(a.shape);
	ck_assert_ptr_null(a.strides);
	ck_assert_int_eq(a.len, 16);
	ck_assert_int_eq(a.itemsize, 1);
	ck_assert_int_eq(a.readonly, 1);
	mv_buffer_release(&a);
	ck_assert_int_eq(mv_buffer_get(&a, mv_heap_exporter(h), MV_BUF_RECORDS_RO), 0);
	ck_assert_str_eq(a.format, "B");
	ck_assert_int_eq(a.shape[0], 16);
	ck_assert_int_eq(a.strides[0], 1);
	/* The shape points into the caller's record, not at a copy that went away. */
	ck_assert_ptr_eq(a.shape, &a.len);
	mv_buffer_release(&a);
	mv_heap_free(h);
}
END_TEST

START_TEST(writable_request_on_readonly_exporter_fails_with_erofs)
{
	mv_heap *h;
	mv_buffer a;

	ck_assert_int_eq(mv_heap_bytes_new(&h, mem, sizeof(mem)), 0);
	ck_assert_mv_err(mv_buffer_get(&a, mv_heap_exporter(h), MV_BUF_WRITABLE), EROFS,
			 "not writable");
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(h)), 0);
	mv_heap_free(h);
}
END_TEST

static int picky_get(mv_exporter *self, mv_buffer *buf, unsigned flags);

START_TEST(unknown_flags_and_null_arguments_fail_with_einval)
{
	static const mv_exporter_ops unsized_ops = { .name = "unsized", .get = picky_get };
	mv_exporter unsized = MV_EXPORTER_INIT(&unsized_ops);
	mv_heap *h;
	mv_buffer a;

	ck_assert_int_eq(mv_heap_bytes_new(&h, mem, sizeof(mem)), 0);
	ck_assert_mv_err(mv_buffer_get(&a, mv_heap_exporter(h), 0x10000), EINVAL, "flags");
	ck_assert_mv_err(mv_buffer_get(NULL, mv_heap_exporter(h), 0), EINVAL, "out");
	ck_assert_mv_err(mv_buffer_get(&a, NULL, 0), EINVAL, "exp");
	/* Releasing NULL is a no-op, as free(NULL) is, for every release, free and close. */
	ck_assert_int_eq(mv_buffer_release(NULL), 0);
	ck_assert_int_eq(mv_view_release(NULL), 0);
	/* Operations without their size field are refused before any callback runs. */
	ck_assert_mv_err(mv_buffer_get(&a, &unsized, 0), EINVAL, "mv_exporter_ops.size is 0");
	ck_assert_int_eq(mv_exporter_exports(&unsized), 0);
	ck_assert_mv_err(mv_exporter_exports(NULL), EINVAL, "exp");
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(h)), 0);
	mv_heap_free(h);
}
END_TEST

START_TEST(contiguity_follows_cpython_for_c_and_fortran_layouts)
{
	ssize_t shape[2] = { 2, 3 }, cstr[2] = { 3, 1 }, fstr[2] = { 1, 2 };
	mv_buffer b;

	memset(&b, 0, sizeof(b));
	b.buf = mem;
	b.len = 6;
	b.itemsize = 1;
	b.ndim = 2;
	b.shape = shape;
	b.strides = cstr;
	ck_assert_int_eq(mv_buffer_is_contiguous(&b, 'C'), 1);
	ck_assert_int_eq(mv_buffer_is_contiguous(&b, 'F'), 0);
	ck_assert_int_eq(mv_buffer_is_contiguous(&b, 'A'), 1);
	b.strides = fstr;
	ck_assert_int_eq(mv_buffer_is_contiguous(&b, 'C'), 0);
	ck_assert_int_eq(mv_buffer_is_contiguous(&b, 'F'), 1);
	b.strides = NULL; /* no strides: C order by definition */
	ck_assert_int_eq(mv_buffer_is_contiguous(&b, 'C'), 1);
	ck_assert_int_eq(mv_buffer_is_contiguous(&b, 'F'), 0);
	ck_assert_mv_err(mv_buffer_is_contiguous(&b, 'X'), EINVAL, "order must be");
	b.len = 0; /* empty: contiguous every way */
	b.strides = fstr;
	ck_assert_int_eq(mv_buffer_is_contiguous(&b, 'C'), 1);
}
END_TEST

/* A custom exporter that refuses Fortran requests: the protocol uncounts a refused get. */
static int picky_get(mv_exporter *self, mv_buffer *buf, unsigned flags)
{
	if ((flags & MV_BUF_F_CONTIGUOUS) == MV_BUF_F_CONTIGUOUS)
		return -EINVAL;
	return mv_buffer_fill(buf, self, mem, sizeof(mem), 0, flags);
}

static int picky_released;

static void picky_release(mv_exporter *self, mv_buffer *buf)
{
	picky_released++;
}

static const mv_exporter_ops picky_ops = {
	.size = sizeof(mv_exporter_ops),
	.name = "picky",
	.get = picky_get,
	.release = picky_release,
};

START_TEST(custom_exporter_refusal_leaves_count_unchanged_and_release_callback_runs)
{
	mv_exporter e = MV_EXPORTER_INIT(&picky_ops);
	mv_buffer b;

	ck_assert_int_eq(mv_buffer_get(&b, &e, MV_BUF_F_CONTIGUOUS), -EINVAL);
	ck_assert_int_eq(mv_exporter_exports(&e), 0);
	ck_assert_int_eq(mv_buffer_get(&b, &e, MV_BUF_CONTIG), 0);
	ck_assert_int_eq(mv_exporter_exports(&e), 1);
	ck_assert_int_eq(b.readonly, 0);
	mv_buffer_release(&b);
	ck_assert_int_eq(picky_released, 1);
	ck_assert_int_eq(mv_exporter_exports(&e), 0);
}
END_TEST

struct race {
	mv_heap *h;
	int rounds;
};

static void *getter(void *arg)
{
	struct race *r = arg;
	mv_buffer b;
	int i;

	for (i = 0; i < r->rounds; i++)
		if (mv_buffer_get(&b, mv_heap_exporter(r->h), MV_BUF_SIMPLE) == 0)
			mv_buffer_release(&b);
	return NULL;
}

START_TEST(export_counting_is_atomic_across_threads)
{
	struct race r = { NULL, 200000 };
	pthread_t t[4];
	int i, busy = 0, resized = 0;

	ck_assert_int_eq(mv_heap_bytearray_new(&r.h, mem, sizeof(mem)), 0);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, getter, &r);
	/* Resizes race with gets: each either succeeds with no export alive, or says EBUSY. */
	for (i = 0; i < 2000; i++) {
		int rc = mv_heap_resize(r.h, 16 + (size_t)(i % 7));

		ck_assert(rc == 0 || rc == -EBUSY);
		busy += rc == -EBUSY;
		resized += rc == 0;
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(r.h)), 0);
	ck_assert_int_eq(busy + resized, 2000);
	ck_assert_int_eq(mv_heap_free(r.h), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("buffer");
	TCase *tc = tcase_create("export counting");

	tcase_add_test(tc, get_counts_an_export_and_release_uncounts_it);
	tcase_add_test(tc, release_is_idempotent);
	tcase_add_test(tc, export_counting_is_atomic_across_threads);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("request flags");
	tcase_add_test(tc, simple_request_fills_no_format_shape_or_strides);
	tcase_add_test(tc, writable_request_on_readonly_exporter_fails_with_erofs);
	tcase_add_test(tc, unknown_flags_and_null_arguments_fail_with_einval);
	tcase_add_test(tc, custom_exporter_refusal_leaves_count_unchanged_and_release_callback_runs);
	suite_add_tcase(s, tc);
	tc = tcase_create("contiguity");
	tcase_add_test(tc, contiguity_follows_cpython_for_c_and_fortran_layouts);
	suite_add_tcase(s, tc);
	return mv_test_run(s);
}
