/*
 * tests/testlib.h - what every Check program shares: running a suite, skipping with a reason,
 * unique names for shared objects, reading test data.
 */
#ifndef MEMVIEW_TESTLIB_H
#define MEMVIEW_TESTLIB_H

#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "memview.h"

/* Exit status automake reads as SKIP. */
#define MV_TEST_SKIP 77

/* Run @s in fork mode and return the process exit status (0 when every test passed). */
int mv_test_run(Suite *s);

/* Print "SKIP: <reason>" and exit 77. */
void mv_test_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* A per-run unique shm name "/mvtest-<pid>-<tag>-<n>" in @buf. */
const char *mv_test_name(char *buf, size_t cap, const char *tag);

/* Read a whole file from tests/data (MV_TEST_DATA); malloc'ed, NUL-terminated; NULL on error. */
char *mv_test_read_data(const char *name, size_t *len);

/* Assert a memview call failed with @err and its message contains @needle. */
#define ck_assert_mv_err(call, err, needle)                                                   \
	do {                                                                                  \
		long _r = (long)(call);                                                      \
		ck_assert_msg(_r == -(long)(err), "%s returned %ld, expected %ld (%s)", #call, \
			      _r, -(long)(err), mv_errmsg());                                  \
		ck_assert_msg(strstr(mv_errmsg(), (needle)) != NULL,                         \
			      "message \"%s\" lacks \"%s\"", mv_errmsg(), (needle));           \
	} while (0)

#endif
