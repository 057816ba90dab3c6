/*
 * tests/check_error.c - the last-error message (mv_errmsg) and the errno vocabulary
 * (mv_strerror).
 */
#include "testlib.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The vocabulary of memview/error.h: each code and the name its description starts with. */
static const struct {
	int err;
	const char *name;
} vocabulary[] = {
	{ EBUSY, "EBUSY" },         { EROFS, "EROFS" },     { EINVAL, "EINVAL" },
	{ ERANGE, "ERANGE" },       { ENOTSUP, "ENOTSUP" }, { EBADF, "EBADF" },
	{ EOVERFLOW, "EOVERFLOW" }, { ENOMEM, "ENOMEM" },   { ENOBUFS, "ENOBUFS" },
	{ EBADMSG, "EBADMSG" },     { EPERM, "EPERM" },     { ENOENT, "ENOENT" },
	{ EEXIST, "EEXIST" },       { EACCES, "EACCES" },   { ENOSPC, "ENOSPC" },
	{ EAGAIN, "EAGAIN" },       { ETIMEDOUT, "ETIMEDOUT" }, { EPIPE, "EPIPE" },
	{ ENOSYS, "ENOSYS" },       { EFAULT, "EFAULT" },   { EMFILE, "EMFILE" },
};
#define NVOCAB ((int)(sizeof(vocabulary) / sizeof(vocabulary[0])))

/* A copy of a thread's message, taken inside the thread. */
struct thread_result {
	char before[256]; /* mv_errmsg() when the thread starts */
	char after[256];  /* mv_errmsg() after the thread's own failure */
	long rc;          /* what the failing call returned */
	int was_null;     /* mv_errmsg() returned NULL */
};

static void copy_msg(char *dst, size_t cap, int *was_null)
{
	const char *m = mv_errmsg();

	if (!m) {
		*was_null = 1;
		m = "";
	}
	snprintf(dst, cap, "%s", m);
}

/* Reads the message of a fresh thread, then fails with unknown request flags. */
static void *fail_in_thread(void *arg)
{
	struct thread_result *r = arg;
	mv_heap *h = NULL;
	mv_buffer rec;

	copy_msg(r->before, sizeof(r->before), &r->was_null);
	if (mv_heap_bytes_new(&h, "abc", 3) == 0) {
		r->rc = mv_buffer_get(&rec, mv_heap_exporter(h), 0x8000u);
		mv_heap_free(h);
	}
	copy_msg(r->after, sizeof(r->after), &r->was_null);
	return NULL;
}

static void run_thread(struct thread_result *r)
{
	pthread_t t;

	memset(r, 0, sizeof(*r));
	r->rc = 1;
	ck_assert_int_eq(pthread_create(&t, NULL, fail_in_thread, r), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(!r->was_null, "mv_errmsg() returned NULL in a thread");
}

/* ------------------------------------------------------------------ mv_errmsg */

START_TEST(errmsg_is_empty_before_any_failure_in_a_fresh_thread)
{
	struct thread_result r;

	run_thread(&r);
	ck_assert_str_eq(r.before, "");
}
END_TEST

START_TEST(errmsg_is_never_null)
{
	const char *m = mv_errmsg();

	ck_assert_ptr_nonnull(m);
	mv_buffer_get(NULL, NULL, 0);
	ck_assert_ptr_nonnull(mv_errmsg());
}
END_TEST

START_TEST(failing_call_sets_a_message_naming_the_argument)
{
	mv_heap *h;

	ck_assert_int_eq(mv_heap_bytes_new(&h, "abc", 3), 0);
	ck_assert_mv_err(mv_buffer_get(NULL, mv_heap_exporter(h), 0), EINVAL, "out");
	ck_assert_msg(strstr(mv_errmsg(), "mv_buffer_get") != NULL,
		      "message \"%s\" does not name the function", mv_errmsg());
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

START_TEST(failing_call_names_the_exporter_argument)
{
	mv_buffer rec;

	ck_assert_mv_err(mv_buffer_get(&rec, NULL, 0), EINVAL, "exp");
}
END_TEST

START_TEST(message_is_one_line)
{
	mv_buffer rec;
	mv_heap *h;

	ck_assert_int_eq(mv_heap_bytes_new(&h, "abc", 3), 0);
	ck_assert_mv_err(mv_buffer_get(&rec, mv_heap_exporter(h), MV_BUF_WRITABLE), EROFS, "");
	ck_assert_msg(mv_errmsg()[0] != '\0', "no message for -EROFS");
	ck_assert_msg(strchr(mv_errmsg(), '\n') == NULL, "message \"%s\" has a newline",
		      mv_errmsg());
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

START_TEST(successful_calls_keep_the_last_message)
{
	char before[256];
	mv_buffer rec;
	mv_heap *h;

	ck_assert_mv_err(mv_buffer_get(NULL, NULL, 0), EINVAL, "out");
	snprintf(before, sizeof(before), "%s", mv_errmsg());
	ck_assert_int_eq(mv_heap_bytes_new(&h, "abc", 3), 0);
	ck_assert_int_eq(mv_buffer_get(&rec, mv_heap_exporter(h), MV_BUF_SIMPLE), 0);
	ck_assert_int_eq(mv_buffer_release(&rec), 0);
	ck_assert_int_eq(mv_heap_free(h), 0);
	ck_assert_str_eq(mv_errmsg(), before);
}
END_TEST

START_TEST(a_later_failure_replaces_the_message)
{
	mv_buffer rec;
	mv_heap *h;

	ck_assert_mv_err(mv_buffer_get(NULL, NULL, 0), EINVAL, "out");
	ck_assert_int_eq(mv_heap_bytes_new(&h, "abc", 3), 0);
	ck_assert_mv_err(mv_buffer_get(&rec, mv_heap_exporter(h), 0x8000u), EINVAL, "0x8000");
	ck_assert_msg(strstr(mv_errmsg(), "invalid argument: out") == NULL,
		      "old message \"%s\" kept", mv_errmsg());
	ck_assert_int_eq(mv_heap_free(h), 0);
}
END_TEST

START_TEST(failure_in_another_thread_leaves_this_threads_message)
{
	struct thread_result r;
	char mine[256];

	ck_assert_mv_err(mv_buffer_get(NULL, NULL, 0), EINVAL, "out");
	snprintf(mine, sizeof(mine), "%s", mv_errmsg());

	run_thread(&r);
	/* The other thread saw none of this thread's message, and failed on its own. */
	ck_assert_str_eq(r.before, "");
	ck_assert_int_eq(r.rc, -EINVAL);
	ck_assert_msg(strstr(r.after, "0x8000") != NULL, "thread's message \"%s\"", r.after);
	/* And this thread's message is unchanged. */
	ck_assert_str_eq(mv_errmsg(), mine);
}
END_TEST

/* ------------------------------------------------------------------ mv_strerror */

START_TEST(strerror_starts_with_the_errno_name)
{
	const char *s = mv_strerror(-vocabulary[_i].err);
	size_t n = strlen(vocabulary[_i].name);

	ck_assert_ptr_nonnull(s);
	ck_assert_msg(strncmp(s, vocabulary[_i].name, n) == 0 && s[n] == ':',
		      "mv_strerror(-%s) = \"%s\"", vocabulary[_i].name, s);
	ck_assert_msg(strlen(s) > n + 2, "mv_strerror(-%s) = \"%s\" has no description",
		      vocabulary[_i].name, s);
	ck_assert_str_ne(s, "unknown memview error");
}
END_TEST

START_TEST(strerror_gives_each_code_a_distinct_string)
{
	int i, j;

	for (i = 0; i < NVOCAB; i++)
		for (j = i + 1; j < NVOCAB; j++)
			ck_assert_msg(strcmp(mv_strerror(-vocabulary[i].err),
					     mv_strerror(-vocabulary[j].err)) != 0,
				      "-%s and -%s share \"%s\"", vocabulary[i].name,
				      vocabulary[j].name, mv_strerror(-vocabulary[i].err));
}
END_TEST

START_TEST(strerror_of_success_is_not_unknown)
{
	const char *s = mv_strerror(0);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_ne(s, "unknown memview error");
	ck_assert_msg(s[0] != '\0', "mv_strerror(0) is empty");
}
END_TEST

static const int unknown_codes[] = { -EXDEV, -ECHILD, -ESPIPE, -4095, -100000, EBUSY, EINVAL, 1,
				     INT_MAX, INT_MIN, INT_MIN + 1 };

START_TEST(strerror_of_an_unknown_code_is_unknown_memview_error)
{
	const char *s = mv_strerror(unknown_codes[_i]);

	ck_assert_ptr_nonnull(s);
	ck_assert_msg(strcmp(s, "unknown memview error") == 0, "mv_strerror(%d) = \"%s\"",
		      unknown_codes[_i], s);
}
END_TEST

START_TEST(strerror_does_not_touch_the_message)
{
	char before[256];
	int i;

	ck_assert_mv_err(mv_buffer_get(NULL, NULL, 0), EINVAL, "out");
	snprintf(before, sizeof(before), "%s", mv_errmsg());
	for (i = 0; i < NVOCAB; i++)
		(void)mv_strerror(-vocabulary[i].err);
	(void)mv_strerror(-EXDEV);
	ck_assert_str_eq(mv_errmsg(), before);
}
END_TEST

static Suite *error_suite(void)
{
	Suite *s = suite_create("error");
	TCase *tc;

	tc = tcase_create("errmsg");
	tcase_add_test(tc, errmsg_is_empty_before_any_failure_in_a_fresh_thread);
	tcase_add_test(tc, errmsg_is_never_null);
	tcase_add_test(tc, failing_call_sets_a_message_naming_the_argument);
	tcase_add_test(tc, failing_call_names_the_exporter_argument);
	tcase_add_test(tc, message_is_one_line);
	tcase_add_test(tc, successful_calls_keep_the_last_message);
	tcase_add_test(tc, a_later_failure_replaces_the_message);
	tcase_add_test(tc, failure_in_another_thread_leaves_this_threads_message);
	suite_add_tcase(s, tc);

	tc = tcase_create("strerror");
	tcase_add_loop_test(tc, strerror_starts_with_the_errno_name, 0, NVOCAB);
	tcase_add_test(tc, strerror_gives_each_code_a_distinct_string);
	tcase_add_test(tc, strerror_of_success_is_not_unknown);
	tcase_add_loop_test(tc, strerror_of_an_unknown_code_is_unknown_memview_error, 0,
			    (int)(sizeof(unknown_codes) / sizeof(unknown_codes[0])));
	tcase_add_test(tc, strerror_does_not_touch_the_message);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mv_test_run(error_suite());
}
