/*
 * tests/testlib.h - what every Check program shares: running a suite, skipping with a reason,
 * unique names for shared objects (and sweeping them), counting descriptors, bytes over pipes,
 * child processes, reading test data. The monotonic clock is util/mvutil.h's.
 */
#ifndef MEMVIEW_TESTLIB_H
#define MEMVIEW_TESTLIB_H

#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "memview.h"

/* Exit status automake reads as SKIP. */
#define MV_TEST_SKIP 77

/* Run @s in fork mode and return the process exit status (0 when every test passed). */
int mv_test_run(Suite *s);

/* Print "SKIP: <reason>" and exit 77. */
void mv_test_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*
 * Nonzero when the test runs under valgrind (RUNNING_ON_VALGRIND, or MV_UNDER_VALGRIND in the
 * environment, which tests/valgrind.sh sets), where everything runs 20 to 50 times slower.
 */
int mv_test_under_valgrind(void);

/*
 * Round counts of timing-sensitive and many-round tests: @n, or @n / @divisor (at least 1) under
 * valgrind. Only the number of rounds changes there, never what a round asserts.
 */
unsigned mv_test_rounds(unsigned n, unsigned divisor);

/* A per-run unique shm name "/mvtest-<pid>-<tag>-<n>" in @buf. */
const char *mv_test_name(char *buf, size_t cap, const char *tag);

/*
 * A fresh name of @tag's (mv_test_name), unlinked first and remembered until
 * mv_test_unlink_names() - the test's teardown - unlinks it again; at most 16 between two
 * teardowns (more aborts the test: a test that needs more is wrong).
 */
const char *mv_test_new_name(const char *tag);
void mv_test_unlink_names(void);

/* Names "/mvtest-<pid>-<tag>-..." in /dev/shm: how many there are, and removing them all (what
 * a runner does after its tests, for those that failed or were killed). */
int mv_test_count_names(const char *tag);
void mv_test_sweep_names(const char *tag);

/*
 * One sendmsg() of @len bytes at @buf on @sock, with descriptor @fd attached (SCM_RIGHTS) unless
 * it is negative; MSG_NOSIGNAL. Returns what sendmsg() returns (errno set on -1). For tests that
 * speak a socket protocol themselves, as a peer would, instead of through the library.
 */
ssize_t mv_test_send_with_fd(int sock, const void *buf, size_t len, int fd);

/* Open descriptors of this process (not counting the one that reads /proc/self/fd), or -1. */
int mv_test_count_fds(void);

/* A byte over a pipe: read_byte waits at most @timeout_ms and returns the byte or -1. */
int mv_test_read_byte(int fd, int timeout_ms);
void mv_test_write_byte(int fd, char c);

/*
 * A forked child running @fn(in, out, @arg) with a pipe each way, killed when its parent dies and
 * after 120 s; it exits 0 when @fn returns. Children must not ck_assert (that reports into the
 * runner's pipe): they print why and _exit non-zero. Usable from children too (no ck_assert
 * here): pid is -1 when the fork failed. mv_test_reap() closes the pipes and returns the wait
 * status (-1 on failure).
 */
struct mv_test_child {
	pid_t pid;
	int to;   /* the parent writes */
	int from; /* the parent reads */
};
typedef void (*mv_test_child_fn)(int in, int out, const char *arg);
struct mv_test_child mv_test_spawn(mv_test_child_fn fn, const char *arg);
int mv_test_reap(struct mv_test_child *c);

/* ck_assert for children: says what failed (and the last memview error), then _exit(3). */
#define MV_TEST_CHECK(cond)                                                                    \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "%s:%d: in child %ld: %s failed (last error: %s)\n",  \
				__FILE__, __LINE__, (long)getpid(), #cond, mv_errmsg());      \
			_exit(3);                                                              \
		}                                                                              \
	} while (0)

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
