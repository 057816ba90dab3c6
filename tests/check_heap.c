/*
 * tests/check_heap.c - heap exporters: bytes, bytearray, wrapped memory.
 */
#include "testlib.h"

#include <string.h>

START_TEST(bytes_is_a_readonly_copy)
{
	char src[4] = "abc";
	mv_heap *h;
	mv_view v;

	ck_assert_int_eq(mv_heap_bytes_new(&h, src, 3), 0);
	src[0] = 'x';
	ck_assert_int_eq(memcmp(mv_heap_data(h), "abc", 3), 0);
	ck_assert_int_eq(mv_heap_size(h), 3);
	ck_assert_int_eq(mv_view_from(&v, mv_heap_exporter(h), 0), 0);
	ck_assert_int_eq(mv_view_readonly(&v), 1);
	ck_assert_mv_err(mv_view_from(&v, mv_heap_exporter(h), MV_BUF_WRITABLE), EROFS,
			 "not writable");
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_mv_err(mv_heap_resize(h, 10), ENOTSUP, "cannot be resized");
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

START_TEST(bytearray_resize_refused_while_exported)
{
	mv_heap *h;
	mv_view v;

	ck_assert_int_eq(mv_heap_bytearray_new(&h, "hello", 5), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_heap_exporter(h), 0), 0);
	ck_assert_mv_err(mv_heap_resize(h, 10), EBUSY,
			 "Existing exports of data: object cannot be re-sized");
	ck_assert_int_eq(mv_heap_size(h), 5);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_heap_resize(h, 8), 0);
	ck_assert_int_eq(mv_heap_size(h), 8);
	ck_assert_int_eq(memcmp(mv_heap_data(h), "hello\0\0\0", 8), 0);
	ck_assert_int_eq(mv_heap_resize(h, 0), 0);
	ck_assert_int_eq(mv_heap_size(h), 0);
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

/*
 * CPython's PyByteArray_Resize() returns at once when the size does not change, before it looks
 * at exports: bytearray(b"hello") with a live memoryview accepts b[:] = b"HELLO" (same length),
 * and so does mv_heap_resize() to the size the bytearray has.
 */
START_TEST(bytearray_resize_to_its_own_size_succeeds_while_exported)
{
	mv_heap *h;
	mv_view v;

	ck_assert_int_eq(mv_heap_bytearray_new(&h, "hello", 5), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_heap_exporter(h), 0), 0);
	ck_assert_int_eq(mv_heap_resize(h, 5), 0);
	ck_assert_int_eq(mv_heap_size(h), 5);
	ck_assert_ptr_eq(mv_view_ptr(&v), mv_heap_data(h)); /* nothing moved */
	ck_assert_int_eq(memcmp(mv_view_ptr(&v), "hello", 5), 0);
	ck_assert_mv_err(mv_heap_resize(h, 4), EBUSY, "Existing exports");
	ck_assert_mv_err(mv_heap_resize(h, 6), EBUSY, "Existing exports");
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(h)), 1);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(h)), 0);
	ck_assert_int_eq(mv_heap_resize(h, 6), 0); /* the exporter was left unlocked */
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

START_TEST(resize_refused_while_a_derived_view_lives_after_the_parent_is_released)
{
	mv_heap *h;
	mv_view v, s;

	ck_assert_int_eq(mv_heap_bytearray_new(&h, "hello", 5), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_heap_exporter(h), 0), 0);
	ck_assert_int_eq(mv_view_slice(&s, &v, 1, MV_NONE, MV_NONE), 0);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_heap_resize(h, 10), -EBUSY);
	ck_assert_int_eq(mv_view_release(&s), 0);
	ck_assert_int_eq(mv_heap_resize(h, 10), 0);
	mv_heap_free(h);
}
END_TEST

START_TEST(free_refused_while_exported_and_null_free_is_a_no_op)
{
	mv_heap *h;
	mv_view v;

	ck_assert_int_eq(mv_heap_free(NULL), 0);
	ck_assert_int_eq(mv_heap_bytes_new(&h, NULL, 4), 0);
	ck_assert_int_eq(memcmp(mv_heap_data(h), "\0\0\0\0", 4), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_heap_exporter(h), 0), 0);
	ck_assert_mv_err(mv_heap_free(h), EBUSY, "release its views first");
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

static int released_calls;
static void *released_mem;

static void on_release(void *ctx, void *mem, size_t len)
{
	released_calls++;
	released_mem = mem;
	ck_assert_int_eq(len, 8);
	ck_assert_ptr_eq(ctx, &released_calls);
}

START_TEST(wrap_exports_caller_memory_and_calls_release_once_at_free)
{
	char mem[8] = "abcdefg";
	mv_heap *h;
	mv_view v;
	mv_value x = mv_value_uint('z');

	ck_assert_int_eq(mv_heap_wrap(&h, mem, 8, 0, on_release, &released_calls), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_heap_exporter(h), MV_BUF_WRITABLE), 0);
	ck_assert_int_eq(mv_view_set_item(&v, 0, &x), 0);
	ck_assert_int_eq(mem[0], 'z');
	ck_assert_int_eq(mv_heap_free(h), -EBUSY);
	ck_assert_int_eq(released_calls, 0);
	mv_view_release(&v);
	ck_assert_int_eq(mv_heap_free(h), 0);
	ck_assert_int_eq(released_calls, 1);
	ck_assert_ptr_eq(released_mem, mem);
}
END_TEST

START_TEST(readonly_wrap_refuses_writes)
{
	char mem[2] = "a";
	mv_heap *h;
	mv_view v;
	mv_value x = mv_value_uint(1);

	ck_assert_int_eq(mv_heap_wrap(&h, mem, 2, 1, NULL, NULL), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_heap_exporter(h), 0), 0);
	ck_assert_mv_err(mv_view_set_item(&v, 0, &x), EROFS, "cannot modify read-only memory");
	mv_view_release(&v);
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

START_TEST(bad_arguments_fail_with_einval)
{
	mv_heap *h;

	ck_assert_mv_err(mv_heap_bytes_new(NULL, "a", 1), EINVAL, "out");
	ck_assert_mv_err(mv_heap_bytes_new(&h, NULL, (size_t)SIZE_MAX), EINVAL, "SSIZE_MAX");
	ck_assert_mv_err(mv_heap_wrap(&h, NULL, 4, 0, NULL, NULL), EINVAL, "mem");
	ck_assert_mv_err(mv_heap_resize(NULL, 1), EINVAL, "h");
	ck_assert_ptr_null(mv_heap_exporter(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("heap");
	TCase *tc = tcase_create("bytes and bytearray");

	tcase_add_test(tc, bytes_is_a_readonly_copy);
	tcase_add_test(tc, bytearray_resize_refused_while_exported);
	tcase_add_test(tc, bytearray_resize_to_its_own_size_succeeds_while_exported);
	tcase_add_test(tc, resize_refused_while_a_derived_view_lives_after_the_parent_is_released);
	tcase_add_test(tc, free_refused_while_exported_and_null_free_is_a_no_op);
	suite_add_tcase(s, tc);
	tc = tcase_create("wrapped memory");
	tcase_add_test(tc, wrap_exports_caller_memory_and_calls_release_once_at_free);
	tcase_add_test(tc, readonly_wrap_refuses_writes);
	tcase_add_test(tc, bad_arguments_fail_with_einval);
	suite_add_tcase(s, tc);
	return mv_test_run(s);
}
