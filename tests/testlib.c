/*
 * tests/testlib.c - see testlib.h.
 */
#define _GNU_SOURCE
#include "testlib.h"
#include "../lib/fd_pass.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

int mv_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

void mv_test_skip(const char *fmt, ...)
{
	va_list ap;

	fputs("SKIP: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	exit(MV_TEST_SKIP);
}

int mv_test_under_valgrind(void)
{
#ifdef RUNNING_ON_VALGRIND
	if (RUNNING_ON_VALGRIND)
		return 1;
#endif
	return getenv("MV_UNDER_VALGRIND") != NULL;
}

unsigned mv_test_rounds(unsigned n, unsigned divisor)
{
	if (!mv_test_under_valgrind() || divisor == 0)
		return n;
	return n / divisor > 0 ? n / divisor : 1;
}

const char *mv_test_name(char *buf, size_t cap, const char *tag)
{
	static unsigned counter;

	snprintf(buf, cap, "/mvtest-%ld-%s-%u", (long)getpid(), tag, counter++);
	return buf;
}

#define TEST_NAMES 16
static char test_names[TEST_NAMES][160];
static int ntest_names;

const char *mv_test_new_name(const char *tag)
{
	char *b;

	if (ntest_names == TEST_NAMES) {
		fprintf(stderr, "mv_test_new_name: more than %d names in one test\n", TEST_NAMES);
		abort();
	}
	b = test_names[ntest_names++];
	mv_test_name(b, sizeof(test_names[0]), tag);
	shm_unlink(b);
	return b;
}

void mv_test_unlink_names(void)
{
	int i;

	for (i = 0; i < ntest_names; i++)
		shm_unlink(test_names[i]);
	ntest_names = 0;
}

/* Calls @fn for every /dev/shm entry of @tag's names; returns how many there were. */
static int for_each_name(const char *tag, int (*fn)(const char *))
{
	char needle[64], path[300];
	struct dirent *e;
	DIR *d = opendir("/dev/shm");
	int n = 0;

	if (!d)
		return -1;
	snprintf(needle, sizeof(needle), "-%s-", tag);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "mvtest-", 7) != 0 || !strstr(e->d_name, needle))
			continue;
		snprintf(path, sizeof(path), "/%s", e->d_name);
		if (fn)
			fn(path);
		n++;
	}
	closedir(d);
	return n;
}

int mv_test_count_names(const char *tag)
{
	return for_each_name(tag, NULL);
}

void mv_test_sweep_names(const char *tag)
{
	for_each_name(tag, shm_unlink);
}

ssize_t mv_test_send_with_fd(int sock, const void *buf, size_t len, int fd)
{
	union mv_fd_ctl ctl;
	struct iovec iov;
	struct msghdr msg;

	/* The library's own message layout (lib/fd_pass.h), sent as an outside peer would. */
	mv_fd_msg(&msg, &iov, &ctl, buf, len, fd);
	return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

int mv_test_count_fds(void)
{
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

int mv_test_read_byte(int fd, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;
	int rc;

	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return -1;
	return read(fd, &c, 1) == 1 ? (unsigned char)c : -1;
}

void mv_test_write_byte(int fd, char c)
{
	ssize_t n;

	do
		n = write(fd, &c, 1);
	while (n < 0 && errno == EINTR);
}

struct mv_test_child mv_test_spawn(mv_test_child_fn fn, const char *arg)
{
	struct mv_test_child c = { -1, -1, -1 };
	int p2c[2], c2p[2];
	pid_t parent = getpid();

	if (pipe2(p2c, O_CLOEXEC) < 0)
		return c;
	if (pipe2(c2p, O_CLOEXEC) < 0) {
		close(p2c[0]);
		close(p2c[1]);
		return c;
	}
	c.pid = fork();
	if (c.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(4);
		alarm(120);
		close(p2c[1]);
		close(c2p[0]);
		fn(p2c[0], c2p[1], arg);
		_exit(0);
	}
	close(p2c[0]);
	close(c2p[1]);
	c.to = p2c[1];
	c.from = c2p[0];
	if (c.pid < 0) {
		close(c.to);
		close(c.from);
	}
	return c;
}

int mv_test_reap(struct mv_test_child *c)
{
	int st = 0;
	pid_t r;

	close(c->to);
	close(c->from);
	do
		r = waitpid(c->pid, &st, 0);
	while (r < 0 && errno == EINTR);
	return r == c->pid ? st : -1;
}

char *mv_test_read_data(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *data = NULL;
	long size;

	snprintf(path, sizeof(path), "%s/%s", MV_TEST_DATA, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)size + 1);
		if (data && fread(data, 1, (size_t)size, f) != (size_t)size) {
			free(data);
			data = NULL;
		}
		if (data) {
			data[size] = '\0';
			if (len)
				*len = (size_t)size;
		}
	}
	fclose(f);
	return data;
}
