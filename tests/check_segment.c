/*
 * tests/check_segment.c - shared memory segments with real processes: two processes viewing one
 * segment typed by its header, shrink and unlink refused while another process holds views,
 * holders killed with SIGKILL reclaimed, a header lock holder killed mid-update recovered, memfd
 * seals and descriptor passing, readonly mappings that fault, foreign objects, and a thousand
 * corrupted headers refused without a crash.
 *
 * Children forked inside a test never call ck_assert (that would report into the runner's
 * pipe): they check with CHILD_CHECK and exit non-zero, and the test asserts their status. They
 * die with the test (PR_SET_PDEATHSIG), so a failing test leaves no process behind. Every object
 * a test makes is named by new_name(): the checked teardown unlinks them, and an unchecked
 * teardown in the runner sweeps /dev/shm for this run's names left by tests that failed or died.
 */
#define _GNU_SOURCE
#include "testlib.h"
#include "../lib/segment_layout.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* "seg<runner pid>": in every name this run makes, so the runner can sweep them. */
static char run_tag[32];
/* argv[0]'s real path, for the test that execs this program as a second process. */
static char self_exe[4096];

/* ------------------------------------------------------------------ names and cleanup */

/* A fresh unique name, unlinked by the teardown. */
static const char *new_name(void)
{
	return mv_test_new_name(run_tag);
}

/* Runner side: remove whatever this run's tests left in /dev/shm (failed or killed tests). */
static void sweep_names(void)
{
	mv_test_sweep_names(run_tag);
}

/* ------------------------------------------------------------------ child processes */

/* Used by some children to vary what they do (set before spawning: the child gets a copy). */
static int child_mode;

/* A child running @fn(in, out, name), talking over two pipes (tests/testlib.h). */
static struct mv_test_child spawn(mv_test_child_fn fn, const char *name)
{
	struct mv_test_child c = mv_test_spawn(fn, name);

	ck_assert_msg(c.pid > 0, "cannot start a child: %s", strerror(errno));
	return c;
}

/* Wait for the child's reply byte, which must be @expected. */
static void expect_reply(const struct mv_test_child *c, char expected)
{
	int b = mv_test_read_byte(c->from, 20000);

	ck_assert_msg(b == (unsigned char)expected, "child %ld replied %d, expected '%c'",
		      (long)c->pid, b, expected);
}

static void reap_ok(struct mv_test_child *c)
{
	int st = mv_test_reap(c);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "child %ld ended with status 0x%x (see its stderr)", (long)c->pid, st);
}

/* ------------------------------------------------------------------ small helpers */

static mv_segment *create_seg(const char *name, size_t size, const char *format, int ndim,
			      const ssize_t *shape)
{
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment *s = NULL;

	o.format = format;
	o.ndim = ndim;
	o.shape = shape;
	ck_assert_msg(mv_segment_create(&s, name, size, &o) == 0, "create %s: %s", name,
		      mv_errmsg());
	return s;
}

static mv_segment *open_seg(const char *name, unsigned flags)
{
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment *s = NULL;

	o.flags = flags;
	ck_assert_msg(mv_segment_open(&s, name, &o) == 0, "open %s: %s", name, mv_errmsg());
	return s;
}

static size_t live_size(mv_segment *s)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;

	ck_assert_int_eq(mv_segment_get_info(&info, s), 0);
	return info.data_size;
}

static size_t mapped_size(mv_segment *s)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;

	ck_assert_int_eq(mv_segment_get_info(&info, s), 0);
	return info.mapped_size;
}

/* Write @len bytes as the whole content of the shm object @name, as another program would. */
static void put_object(const char *name, const void *data, size_t len)
{
	const char *p = data;
	int fd = shm_open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "shm_open %s: %s", name, strerror(errno));
	while (len) {
		ssize_t n = write(fd, p, len);

		ck_assert_msg(n > 0, "write %s: %s", name, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	close(fd);
}

/* Read the whole object @name; *len gets its size. */
static unsigned char *get_object(const char *name, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* The header page of @name, mapped read-write by hand (as a tool or a hostile process would). */
static struct seg_header *map_header(const char *name)
{
	void *p;
	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);

	if (fd < 0)
		return NULL;
	p = mmap(NULL, SEG_ALIGN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static uint32_t checksum_of(const void *hdr)
{
	return (uint32_t)((uint64_t)mv_view_hash_bytes(hdr, SEG_CHECKSUMMED_BYTES) & 0xffffffffu);
}

static void reseal(void *hdr)
{
	((struct seg_header *)hdr)->checksum = checksum_of(hdr);
}

/* Holder slots in use in the header of @name, read directly from the table. */
static int table_slots_used(const char *name)
{
	struct seg_header *h = map_header(name);
	int i, n = 0;

	ck_assert_ptr_nonnull(h);
	for (i = 0; i < MV_SEGMENT_MAX_HOLDERS; i++)
		n += __atomic_load_n(&h->holders[i].pid, __ATOMIC_ACQUIRE) != 0;
	munmap(h, SEG_ALIGN);
	return n;
}

/* Deterministic PRNG (splitmix64). */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* ------------------------------------------------------------------ names and creation */

START_TEST(names_need_one_leading_slash_a_file_name_and_at_most_250_characters)
{
	char longname[300];
	mv_segment *s = NULL;

	ck_assert_mv_err(mv_segment_create(&s, "noslash", 4096, NULL), EINVAL,
			 "must start with '/'");
	ck_assert_mv_err(mv_segment_create(&s, "/two/slashes", 4096, NULL), EINVAL,
			 "has a '/' after the first");
	ck_assert_mv_err(mv_segment_create(&s, "", 4096, NULL), EINVAL, "must start with '/'");
	ck_assert_mv_err(mv_segment_create(&s, "/", 4096, NULL), EINVAL, "empty after the slash");
	ck_assert_mv_err(mv_segment_create(&s, NULL, 4096, NULL), EINVAL, "NULL");
	ck_assert_mv_err(mv_segment_create(&s, "/..", 4096, NULL), EINVAL, "not a file name");
	ck_assert_mv_err(mv_segment_open(&s, "no/slash", NULL), EINVAL, "must start with '/'");
	ck_assert_mv_err(mv_segment_unlink("/a/b", 0), EINVAL, "has a '/' after the first");

	/* 251 characters with the slash is the longest; one more is refused. */
	snprintf(longname, sizeof(longname), "%s-", new_name());
	memset(longname + strlen(longname), 'x', 251 - strlen(longname));
	longname[251] = '\0';
	ck_assert_mv_err(mv_segment_create(&s, strcat(longname, "y"), 4096, NULL), EINVAL,
			 "the limit is 251");
	longname[251] = '\0';
	ck_assert_int_eq(mv_segment_create(&s, longname, 4096, NULL), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	ck_assert_int_eq(mv_segment_unlink(longname, 0), 0);
}
END_TEST

START_TEST(create_is_exclusive_and_mode_0600_unless_asked_whatever_the_umask)
{
	const char *a = new_name(), *b = new_name();
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment *s, *t = NULL;
	char path[128];
	struct stat st;

	umask(0);
	s = create_seg(a, 4096, NULL, -1, NULL);
	snprintf(path, sizeof(path), "/dev/shm%s", a);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, 4096 + 4096);
	ck_assert_mv_err(mv_segment_create(&t, a, 4096, NULL), EEXIST, "exists");
	ck_assert_ptr_null(t);
	ck_assert_int_eq(mv_segment_close(s), 0);

	umask(077);
	o.mode = 0644;
	ck_assert_int_eq(mv_segment_create(&s, b, 8192, &o), 0);
	snprintf(path, sizeof(path), "/dev/shm%s", b);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(mv_segment_close(s), 0);
	umask(022);
}
END_TEST

START_TEST(create_checks_format_shape_and_size_before_touching_dev_shm)
{
	const char *a = new_name();
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	ssize_t shape[2] = { 3, 4 };
	mv_segment *s = NULL;
	char path[128];
	struct stat st;

	o.format = "zz";
	ck_assert_mv_err(mv_segment_create(&s, a, 4096, &o), EINVAL, "invalid format");
	o.format = "d";
	ck_assert_mv_err(mv_segment_create(&s, a, 4095, &o), EINVAL, "not a multiple");
	o.ndim = 2;
	o.shape = shape;
	ck_assert_mv_err(mv_segment_create(&s, a, 64, &o), EINVAL, "shape needs 96 bytes");
	o.flags = MV_SEGMENT_READONLY;
	ck_assert_mv_err(mv_segment_create(&s, a, 4096, &o), EINVAL, "are for opening");
	snprintf(path, sizeof(path), "/dev/shm%s", a);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/*
 * A size no memory can hold: twice the machine's RAM and swap. Reserving it would run the OOM
 * killer, which picks its own victim; the library refuses it before it makes anything. The
 * refusal is checked in a child whose file size limit is 64 MiB, so that a library without
 * the check fails there on the limit (EFBIG) instead of taking the machine's memory.
 */
static size_t more_than_memory(void)
{
	struct sysinfo si;

	if (sysinfo(&si) < 0)
		return (size_t)1 << 50;
	return 2 * ((size_t)si.totalram + (size_t)si.totalswap) * si.mem_unit;
}

/* The child's failure, on stderr (the parent's assertion points there). */
__attribute__((format(printf, 1, 2))) static int room_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int room_child(const char *name)
{
	struct rlimit fs = { 64u << 20, 64u << 20 };
	size_t huge = more_than_memory();
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment *s = NULL;
	char path[128];
	struct stat st;
	int rc;

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &fs) < 0)
		return room_fail("setrlimit: %s", strerror(errno));
	o.flags = MV_SEGMENT_MEMFD;
	rc = mv_segment_create(&s, "room", huge, &o);
	if (rc != -ENOSPC || !strstr(mv_errmsg(), "would not fit in memory") || s)
		return room_fail("memfd of %zu bytes: %d (%s)", huge, rc, mv_errmsg());
	rc = mv_segment_create(&s, name, huge, NULL);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	if (rc != -ENOSPC || !strstr(mv_errmsg(), "would not fit in memory") || s ||
	    stat(path, &st) == 0)
		return room_fail("named segment of %zu bytes: %d (%s)", huge, rc, mv_errmsg());
	/* Growing: refused, and the segment keeps its size. */
	rc = mv_segment_create(&s, "room", 4096, &o);
	if (rc < 0)
		return room_fail("memfd of 4096 bytes: %s", mv_errmsg());
	rc = mv_segment_resize(s, huge);
	if (rc != -ENOSPC || !strstr(mv_errmsg(), "would not fit in memory"))
		return room_fail("growing to %zu bytes: %d (%s)", huge, rc, mv_errmsg());
	if (mv_segment_get_info(&info, s) < 0 || info.data_size != 4096)
		return room_fail("after the refused growth: %zu bytes", info.data_size);
	return mv_segment_close(s) == 0 ? 0 : room_fail("close: %s", mv_errmsg());
}

START_TEST(a_segment_larger_than_memory_is_refused_before_anything_is_made)
{
	const char *a = new_name();
	int st;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(room_child(a));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %s",
		      WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "see above");
}
END_TEST

START_TEST(close_with_live_views_fails_with_ebusy_and_changes_nothing)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL);
	mv_view v;

	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	ck_assert_mv_err(mv_segment_close(s), EBUSY, "release the views first");
	/* Still usable. */
	((unsigned char *)mv_view_ptr(&v))[0] = 7;
	ck_assert_int_eq(((unsigned char *)mv_segment_data(s))[0], 7);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	ck_assert_int_eq(mv_segment_close(NULL), 0);
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
	ck_assert_mv_err(mv_segment_unlink(a, 0), ENOENT, "no such segment");
	ck_assert_mv_err(mv_segment_open(&s, a, NULL), ENOENT, "no such segment");
}
END_TEST

/* ------------------------------------------------------------------ two processes */

/* Opens by name with no typing of its own and checks what the header says. */
static void child_reads_typed(int in, int out, const char *name)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment *s;
	mv_value x;
	mv_view v;
	ssize_t idx[2];

	MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
	MV_TEST_CHECK(mv_segment_get_info(&info, s) == 0);
	MV_TEST_CHECK(strcmp(info.format, "d") == 0);
	MV_TEST_CHECK(info.ndim == 2 && info.shape[0] == 2 && info.shape[1] == 3);
	MV_TEST_CHECK(info.creator == getppid());
	MV_TEST_CHECK(mv_view_from(&v, mv_segment_exporter(s), 0) == 0);
	MV_TEST_CHECK(strcmp(mv_view_format(&v), "d") == 0);
	MV_TEST_CHECK(mv_view_ndim(&v) == 2);
	MV_TEST_CHECK(mv_view_shape(&v)[0] == 2 && mv_view_shape(&v)[1] == 3);
	MV_TEST_CHECK(mv_view_readonly(&v) == 0);
	mv_test_write_byte(out, 'R');
	/* The parent writes after we mapped: we see it through our own mapping. */
	MV_TEST_CHECK(mv_test_read_byte(in, 20000) == 'w');
	for (idx[0] = 0; idx[0] < 2; idx[0]++)
		for (idx[1] = 0; idx[1] < 3; idx[1]++) {
			MV_TEST_CHECK(mv_view_get_multi(&x, &v, idx, 2) == 0);
			MV_TEST_CHECK(x.kind == MV_VALUE_FLOAT);
			MV_TEST_CHECK(x.f == (double)(idx[0] * 10 + idx[1]) + 0.5);
		}
	idx[0] = 1;
	idx[1] = 2;
	x = mv_value_float(-99.25);
	MV_TEST_CHECK(mv_view_set_multi(&v, idx, 2, &x) == 0);
	MV_TEST_CHECK(mv_view_release(&v) == 0);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	mv_test_write_byte(out, 'D');
}

START_TEST(a_second_process_sees_the_data_typed_by_the_header)
{
	const char *a = new_name();
	ssize_t shape[2] = { 2, 3 };
	mv_segment *s = create_seg(a, 4096, "d", 2, shape);
	double *d = mv_segment_data(s);
	struct mv_test_child c = spawn(child_reads_typed, a);
	int i, j;

	expect_reply(&c, 'R');
	for (i = 0; i < 2; i++)
		for (j = 0; j < 3; j++)
			d[i * 3 + j] = (double)(i * 10 + j) + 0.5;
	mv_test_write_byte(c.to, 'w');
	expect_reply(&c, 'D');
	reap_ok(&c);
	ck_assert(d[5] == -99.25);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/* The exec'ed side: argv "--reader NAME". */
static int exec_reader(const char *name)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment *s;
	mv_value x;
	mv_view v;
	ssize_t idx[2];

	MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
	MV_TEST_CHECK(mv_segment_get_info(&info, s) == 0);
	MV_TEST_CHECK(strcmp(info.format, "<i") == 0 && info.ndim == 2);
	MV_TEST_CHECK(info.shape[0] == 3 && info.shape[1] == 4);
	MV_TEST_CHECK(mv_view_from(&v, mv_segment_exporter(s), 0) == 0);
	MV_TEST_CHECK(mv_view_itemsize(&v) == 4 && mv_view_nbytes(&v) == 48);
	for (idx[0] = 0; idx[0] < 3; idx[0]++)
		for (idx[1] = 0; idx[1] < 4; idx[1]++) {
			MV_TEST_CHECK(mv_view_get_multi(&x, &v, idx, 2) == 0);
			MV_TEST_CHECK(x.kind == MV_VALUE_INT && x.i == -(idx[0] * 100 + idx[1]));
		}
	x = mv_value_int(123456);
	idx[0] = 2;
	idx[1] = 3;
	MV_TEST_CHECK(mv_view_set_multi(&v, idx, 2, &x) == 0);
	MV_TEST_CHECK(mv_view_release(&v) == 0);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	return 0;
}

START_TEST(an_execed_program_opens_the_segment_typed_by_the_header)
{
	const char *a = new_name();
	ssize_t shape[2] = { 3, 4 };
	mv_segment *s = create_seg(a, 4096, "<i", 2, shape);
	int32_t *d = mv_segment_data(s);
	int i, st;
	pid_t pid;

	for (i = 0; i < 12; i++)
		d[i] = -((i / 4) * 100 + i % 4);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(self_exe, self_exe, "--reader", a, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reader %s ended with 0x%x",
		      self_exe, st);
	ck_assert_int_eq(d[11], 123456);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/* ------------------------------------------------------------------ shrink and grow */

/*
 * Opens (child_mode: MV_SEGMENT_* flags), takes a view, says 'R', then obeys: 'q' release, close
 * and exit; 'x' exit holding the view; 'k' wait to be killed.
 */
static void child_holds_a_view(int in, int out, const char *name)
{
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment *s;
	mv_view v;
	int cmd;

	o.flags = (unsigned)child_mode;
	MV_TEST_CHECK(mv_segment_open(&s, name, &o) == 0);
	MV_TEST_CHECK(mv_view_from(&v, mv_segment_exporter(s), 0) == 0);
	mv_test_write_byte(out, 'R');
	for (;;) {
		cmd = mv_test_read_byte(in, -1);
		if (cmd == 'c') {
			/* Report the first byte of the data as seen through the view. */
			mv_test_write_byte(out, (char)((unsigned char *)mv_view_ptr(&v))[0]);
			continue;
		}
		break;
	}
	if (cmd == 'q') {
		MV_TEST_CHECK(mv_view_release(&v) == 0);
		MV_TEST_CHECK(mv_segment_close(s) == 0);
		mv_test_write_byte(out, 'D');
	}
	_exit(0); /* 'x' and EOF: exit with the view held */
}

START_TEST(shrink_is_refused_while_another_process_has_views_and_allowed_after_it_exits)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 16384, NULL, -1, NULL);
	struct mv_test_child c;
	mv_view v;

	child_mode = 0;
	c = spawn(child_holds_a_view, a);
	expect_reply(&c, 'R');
	ck_assert_int_eq(mv_segment_busy(mv_segment_fd(s)), 1);
	ck_assert_mv_err(mv_segment_resize(s, 4096), EBUSY, "another process holds views");
	ck_assert_uint_eq(live_size(s), 16384);
	/* Growing is fine meanwhile. */
	ck_assert_int_eq(mv_segment_resize(s, 20480), 0);
	ck_assert_uint_eq(live_size(s), 20480);
	/* The child exits without releasing: the kernel drops its lock. */
	mv_test_write_byte(c.to, 'x');
	reap_ok(&c);
	ck_assert_int_eq(mv_segment_busy(mv_segment_fd(s)), 0);
	ck_assert_int_eq(mv_segment_resize(s, 4096), 0);
	ck_assert_uint_eq(live_size(s), 4096);
	ck_assert_uint_eq(mapped_size(s), 4096);

	/* Our own views refuse it too, with a message that says where they are. */
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	ck_assert_mv_err(mv_segment_resize(s, 0), EBUSY, "in this process");
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_resize(s, 0), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/* Opens with no views; on 'g' takes a view, which must see the grown size by itself. */
static void child_views_after_growth(int in, int out, const char *name)
{
	mv_segment *s;
	mv_view v;

	MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
	mv_test_write_byte(out, 'R');
	MV_TEST_CHECK(mv_test_read_byte(in, 20000) == 'g');
	MV_TEST_CHECK(mv_view_from(&v, mv_segment_exporter(s), 0) == 0);
	MV_TEST_CHECK(mv_view_len(&v) == 16384);
	MV_TEST_CHECK(((unsigned char *)mv_view_ptr(&v))[10000] == 0xab);
	MV_TEST_CHECK(mv_view_release(&v) == 0);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	mv_test_write_byte(out, 'D');
}

/* Holds a view over a grow; must remap (after releasing) to see the new size. */
static void child_remaps_after_growth(int in, int out, const char *name)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment *s;
	mv_view v;

	MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
	MV_TEST_CHECK(mv_view_from(&v, mv_segment_exporter(s), 0) == 0);
	mv_test_write_byte(out, 'R');
	MV_TEST_CHECK(mv_test_read_byte(in, 20000) == 'g');
	MV_TEST_CHECK(mv_view_len(&v) == 4096);
	MV_TEST_CHECK(((unsigned char *)mv_view_ptr(&v))[4095] == 0xcd);
	MV_TEST_CHECK(mv_segment_get_info(&info, s) == 0);
	MV_TEST_CHECK(info.data_size == 16384 && info.mapped_size == 4096);
	MV_TEST_CHECK(info.generation == 2);
	MV_TEST_CHECK(mv_segment_remap(s) == -EBUSY);
	MV_TEST_CHECK(mv_view_release(&v) == 0);
	MV_TEST_CHECK(mv_segment_remap(s) == 0);
	MV_TEST_CHECK(mv_segment_get_info(&info, s) == 0);
	MV_TEST_CHECK(info.mapped_size == 16384);
	MV_TEST_CHECK(((unsigned char *)mv_segment_data(s))[10000] == 0xab);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	mv_test_write_byte(out, 'D');
}

START_TEST(growing_is_allowed_while_views_exist_and_other_holders_follow)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL);
	struct mv_test_child lazy, holder;
	mv_view v;

	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	lazy = spawn(child_views_after_growth, a);
	holder = spawn(child_remaps_after_growth, a);
	expect_reply(&lazy, 'R');
	expect_reply(&holder, 'R');
	ck_assert_int_eq(mv_segment_resize(s, 16384), 0);
	/* Our view keeps its memory and size. */
	ck_assert_int_eq(mv_view_len(&v), 4096);
	((unsigned char *)mv_view_ptr(&v))[4095] = 0xcd;
	ck_assert_uint_eq(live_size(s), 16384);
	ck_assert_uint_eq(mapped_size(s), 4096);
	ck_assert_mv_err(mv_segment_remap(s), EBUSY, "cannot remap while 1 export of it is alive");
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_remap(s), 0);
	ck_assert_uint_eq(mapped_size(s), 16384);
	((unsigned char *)mv_segment_data(s))[10000] = 0xab;
	mv_test_write_byte(lazy.to, 'g');
	mv_test_write_byte(holder.to, 'g');
	expect_reply(&lazy, 'D');
	expect_reply(&holder, 'D');
	reap_ok(&lazy);
	reap_ok(&holder);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

START_TEST(resize_checks_its_argument_and_the_handle)
{
	const char *a = new_name();
	ssize_t shape[1] = { 100 };
	mv_segment *s = create_seg(a, 4096, "i", 1, shape), *r;

	ck_assert_mv_err(mv_segment_resize(s, 4097), EINVAL, "not a multiple of the item size");
	ck_assert_mv_err(mv_segment_resize(s, 396), EINVAL, "shape needs 400 bytes");
	ck_assert_mv_err(mv_segment_resize(s, SIZE_MAX - 8), EINVAL, "too large");
	r = open_seg(a, MV_SEGMENT_READONLY);
	ck_assert_mv_err(mv_segment_resize(r, 8192), EROFS, "readonly");
	ck_assert_int_eq(mv_segment_resize(s, 400), 0);
	ck_assert_uint_eq(live_size(r), 400);
	ck_assert_int_eq(mv_segment_close(r), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/*
 * A forked child shares its parent's open file descriptions, and kernel locks never conflict
 * within one: through an inherited handle the header lock could not keep parent and child
 * apart, so changing the header that way is refused; a handle of the child's own works.
 */
static mv_segment *parents_handle; /* set before the fork: the child has it too */

static void child_resizes_through_the_parents_handle(int in, int out, const char *name)
{
	mv_segment *own;

	(void)out;
	MV_TEST_CHECK(mv_test_read_byte(in, 20000) > 0);
	MV_TEST_CHECK(mv_segment_resize(parents_handle, 8192) == -EPERM);
	MV_TEST_CHECK(strstr(mv_errmsg(), "open the segment again") != NULL);
	MV_TEST_CHECK(mv_segment_open(&own, name, NULL) == 0);
	MV_TEST_CHECK(mv_segment_resize(own, 8192) == 0);
	MV_TEST_CHECK(mv_segment_close(own) == 0);
}

START_TEST(resize_through_a_handle_inherited_across_fork_is_refused)
{
	const char *a = new_name();
	struct mv_test_child c;

	parents_handle = create_seg(a, 4096, NULL, -1, NULL);
	c = spawn(child_resizes_through_the_parents_handle, a);
	mv_test_write_byte(c.to, 'g');
	reap_ok(&c);
	ck_assert_uint_eq(live_size(parents_handle), 8192);
	ck_assert_int_eq(mv_segment_resize(parents_handle, 4096), 0);
	ck_assert_int_eq(mv_segment_close(parents_handle), 0);
}
END_TEST

START_TEST(no_view_is_given_while_another_process_holds_the_write_lock)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL);
	struct flock fl;
	mv_view v;
	int fd = shm_open(a, O_RDWR | O_CLOEXEC, 0);

	/* What a shrink or an unlink in another process holds while it works. */
	ck_assert_int_ge(fd, 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 1;
	ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
	ck_assert_mv_err(mv_view_from(&v, mv_segment_exporter(s), 0), EBUSY,
			 "being resized or removed by another process");
	ck_assert_int_eq(mv_exporter_exports(mv_segment_exporter(s)), 0);
	fl.l_type = F_UNLCK;
	ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	/* And the other way round: our views keep its write lock away. */
	fl.l_type = F_WRLCK;
	ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
	close(fd);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/* The parent's view, which a forked child finds in its copy of the memory. */
static mv_view inherited_view;

/* Forked with the parent's view in its memory: releases it, as cleanup code in a child would. */
static void child_releases_inherited_view(int in, int out, const char *name)
{
	(void)name;
	MV_TEST_CHECK(mv_view_release(&inherited_view) == 0);
	mv_test_write_byte(out, 'D');
}

/* Tries to shrink from a handle of its own; replies 'B' when refused with EBUSY. */
static void child_tries_to_shrink(int in, int out, const char *name)
{
	mv_segment *s;
	int rc;

	MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
	rc = mv_segment_resize(s, 0);
	mv_test_write_byte(out, rc == -EBUSY ? 'B' : rc == 0 ? 'S' : 'E');
	MV_TEST_CHECK(mv_segment_close(s) == 0);
}

START_TEST(a_forked_child_releasing_inherited_views_keeps_the_parents_lock)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 8192, NULL, -1, NULL);
	struct mv_test_child c;

	ck_assert_int_eq(mv_view_from(&inherited_view, mv_segment_exporter(s), 0), 0);
	c = spawn(child_releases_inherited_view, a);
	expect_reply(&c, 'D');
	reap_ok(&c);
	/* We still hold our view: another process must not be able to shrink under it. */
	c = spawn(child_tries_to_shrink, a);
	expect_reply(&c, 'B');
	reap_ok(&c);
	ck_assert_uint_eq(live_size(s), 8192);
	ck_assert_int_eq(mv_view_release(&inherited_view), 0);
	c = spawn(child_tries_to_shrink, a);
	expect_reply(&c, 'S');
	reap_ok(&c);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

static void *take_views(void *arg)
{
	mv_segment *s = arg;
	mv_view v[3];
	int i, j;

	for (i = 0; i < 3000; i++) {
		for (j = 0; j <= i % 3; j++)
			if (mv_view_from(&v[j], mv_segment_exporter(s), 0) != 0)
				return (void *)"mv_view_from failed";
		for (j = i % 3; j >= 0; j--)
			if (mv_view_release(&v[j]) != 0)
				return (void *)"mv_view_release failed";
	}
	return NULL;
}

START_TEST(views_from_many_threads_keep_the_kernel_lock_and_the_table_consistent)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL);
	mv_segment_holder h[2] = { MV_SEGMENT_HOLDER_INIT };
	pthread_t t[4];
	void *res;
	mv_view v;
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, take_views, s), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &res), 0);
		ck_assert_msg(res == NULL, "thread %d: %s", i, (const char *)res);
	}
	ck_assert_int_eq(mv_exporter_exports(mv_segment_exporter(s)), 0);
	ck_assert_int_eq(mv_segment_holders(h, 2, s), 1);
	ck_assert_int_eq(h[0].exports, 0);
	/* No lock left behind: another description gets the write lock (unlink without force). */
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
	/* And one is taken again by the next view. */
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	ck_assert_int_eq(mv_segment_holders(h, 2, s), 1);
	ck_assert_int_eq(h[0].exports, 1);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/* ------------------------------------------------------------------ unlink */

START_TEST(unlink_without_force_is_refused_while_any_process_holds_views)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL);
	struct mv_test_child c;
	mv_view v;

	child_mode = MV_SEGMENT_READONLY; /* a readonly holder counts as much as a writer */
	c = spawn(child_holds_a_view, a);
	expect_reply(&c, 'R');
	ck_assert_mv_err(mv_segment_unlink(a, 0), EBUSY, "use force");
	mv_test_write_byte(c.to, 'q');
	expect_reply(&c, 'D');
	reap_ok(&c);
	/* Our own views count too. */
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	ck_assert_mv_err(mv_segment_unlink(a, 0), EBUSY, "a live process holds views");
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

START_TEST(unlink_with_force_removes_the_name_and_existing_mappings_stay_valid)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL), *t = NULL;
	struct mv_test_child c;
	mv_view v;

	child_mode = 0;
	c = spawn(child_holds_a_view, a);
	expect_reply(&c, 'R');
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	ck_assert_int_eq(mv_segment_unlink(a, MV_SEGMENT_FORCE), 0);
	ck_assert_mv_err(mv_segment_open(&t, a, NULL), ENOENT, "no such segment");
	ck_assert_mv_err(mv_segment_unlink(a, MV_SEGMENT_FORCE), ENOENT, "no such segment");
	ck_assert_mv_err(mv_segment_unlink(a, 0x100), EINVAL, "unknown unlink flags");
	/* Both mappings still share the memory. */
	((unsigned char *)mv_view_ptr(&v))[0] = 0x5a;
	mv_test_write_byte(c.to, 'c');
	expect_reply(&c, 0x5a);
	mv_test_write_byte(c.to, 'q');
	expect_reply(&c, 'D');
	reap_ok(&c);
	ck_assert_int_eq(mv_view_release(&v), 0);
	/* Growing still works on the unlinked object through its descriptor. */
	ck_assert_int_eq(mv_segment_resize(s, 8192), 0);
	ck_assert_uint_eq(mapped_size(s), 8192);
	ck_assert_int_eq(((unsigned char *)mv_segment_data(s))[0], 0x5a);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/* ------------------------------------------------------------------ crash recovery */

/* Opens, takes views and waits to be killed; with child_mode 1 churns open/view/close instead. */
static void child_churns(int in, int out, const char *name)
{
	mv_segment *s;
	mv_view v;
	int first = 1;

	for (;;) {
		MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
		MV_TEST_CHECK(mv_view_from(&v, mv_segment_exporter(s), 0) == 0);
		if (first)
			mv_test_write_byte(out, 'R');
		first = 0;
		if (!child_mode)
			for (;;)
				pause();
		MV_TEST_CHECK(mv_view_release(&v) == 0);
		MV_TEST_CHECK(mv_segment_close(s) == 0);
	}
}

START_TEST(holders_killed_with_sigkill_are_reclaimed_round_after_round)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 65536, NULL, -1, NULL);
	mv_segment_holder h[MV_SEGMENT_MAX_HOLDERS] = { MV_SEGMENT_HOLDER_INIT };
	struct timespec ts;
	struct mv_test_child c;
	ssize_t n;
	int round, st;

	rng_state = 42;
	for (round = 0; round < 200; round++) {
		/* Even rounds: killed holding a view. Odd: killed at a random point of a churn,
		 * possibly holding the header lock. */
		child_mode = round & 1;
		c = spawn(child_churns, a);
		expect_reply(&c, 'R');
		if (child_mode) {
			ts.tv_sec = 0;
			ts.tv_nsec = (long)rnd_below(400000);
			nanosleep(&ts, NULL);
		}
		ck_assert_int_eq(kill(c.pid, SIGKILL), 0);
		st = mv_test_reap(&c);
		ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
			      "round %d: child ended with 0x%x before it was killed", round, st);
		ck_assert_msg(mv_segment_busy(mv_segment_fd(s)) == 0,
			      "round %d: a dead child still holds the export lock", round);
		n = mv_segment_holders(h, MV_SEGMENT_MAX_HOLDERS, s);
		ck_assert_msg(n == 1, "round %d: %zd holders after reclaim (%s)", round, n,
			      n < 0 ? mv_errmsg() : "stale slots");
		ck_assert_int_eq(h[0].pid, getpid());
		ck_assert_int_eq(h[0].alive, 1);
		ck_assert_int_eq(h[0].exports, 0);
	}
	ck_assert_int_eq(table_slots_used(a), 1);
	/* Nobody alive holds views: shrink and unlink need no force. */
	ck_assert_int_eq(mv_segment_resize(s, 4096), 0);
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

START_TEST(holders_report_live_processes_and_their_export_counts)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL);
	mv_segment_holder h[4] = { MV_SEGMENT_HOLDER_INIT };
	struct mv_test_child c;
	mv_view v, w;
	ssize_t n, i;
	int seen_child = 0;

	child_mode = 0;
	c = spawn(child_holds_a_view, a);
	expect_reply(&c, 'R');
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	ck_assert_int_eq(mv_view_from(&w, mv_segment_exporter(s), 0), 0);
	n = mv_segment_holders(h, 4, s);
	ck_assert_int_eq(n, 2);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(h[i].alive, 1);
		if (h[i].pid == c.pid) {
			seen_child = 1;
			ck_assert_int_eq(h[i].exports, 1);
		} else {
			ck_assert_int_eq(h[i].pid, getpid());
			ck_assert_int_eq(h[i].exports, 2);
		}
	}
	ck_assert(seen_child);
	ck_assert_int_eq(mv_segment_holders(NULL, 0, s), 2);
	ck_assert_int_eq(mv_segment_holders(h, 1, s), 2);
	mv_test_write_byte(c.to, 'q');
	expect_reply(&c, 'D');
	reap_ok(&c);
	ck_assert_int_eq(mv_segment_holders(h, 4, s), 1);
	ck_assert_int_eq(mv_view_release(&w), 0);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_holders(h, 4, s), 1);
	ck_assert_int_eq(h[0].exports, 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/*
 * Info and holder structs carry their size: a caller built against an older header (a smaller
 * size) is refused, not overrun; one built against a newer, larger struct gets its array filled
 * at its own stride, and its own size back in each entry.
 */
START_TEST(info_and_holders_are_written_only_as_far_as_the_callers_size_says)
{
	struct newer_holder {
		mv_segment_holder h;
		char added_later[24];
	} newer[2];
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL);
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment_holder old = MV_SEGMENT_HOLDER_INIT;
	mv_view v;

	info.size = sizeof(info) - 8;
	ck_assert_mv_err(mv_segment_get_info(&info, s), EINVAL, "MV_SEGMENT_INFO_INIT");
	ck_assert_int_eq(info.data_size, 0);
	old.size = 0;
	ck_assert_mv_err(mv_segment_holders(&old, 1, s), EINVAL, "MV_SEGMENT_HOLDER_INIT");
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	memset(newer, 0x5a, sizeof(newer));
	newer[0].h.size = sizeof(newer[0]);
	ck_assert_int_eq(mv_segment_holders(&newer[0].h, 2, s), 1);
	ck_assert_int_eq(newer[0].h.size, sizeof(newer[0]));
	ck_assert_int_eq(newer[0].h.pid, getpid());
	ck_assert_int_eq(newer[0].h.exports, 1);
	ck_assert_int_eq((unsigned char)newer[0].added_later[0], 0x5a);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/*
 * Opens as a holder, then maps the header by hand, takes the header lock (the kernel's write
 * lock on SEG_HEADER_LOCK_BYTE, through a descriptor of its own) and dies inside the critical
 * section; with child_mode 1 in the middle of a header update (seq odd, data_size half-written).
 */
static void child_dies_holding_the_header_lock(int in, int out, const char *name)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = SEG_HEADER_LOCK_BYTE, .l_len = 1 };
	struct seg_header *h;
	mv_segment *s;
	int fd;

	MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
	h = map_header(name);
	MV_TEST_CHECK(h != NULL);
	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	MV_TEST_CHECK(fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0);
	if (child_mode) {
		__atomic_fetch_add(&h->seq, 1, __ATOMIC_ACQ_REL);
		h->data_size += 12345;
	}
	raise(SIGKILL);
	_exit(5);
}

/* Kill a child inside the header's critical section; check it left what it should have. */
static void kill_inside_critical_section(const char *name, int mid_update, int slots)
{
	struct seg_header *h;
	struct mv_test_child c;
	int st;

	child_mode = mid_update;
	c = spawn(child_dies_holding_the_header_lock, name);
	st = mv_test_reap(&c);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child ended with 0x%x", st);
	h = map_header(name);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(h->seq & 1, mid_update);
	ck_assert_int_eq(table_slots_used(name), slots); /* the dead child's until reclaimed */
	munmap(h, SEG_ALIGN);
}

/* The header of @name is whole again: even seq, valid checksum, the real data size. */
static void header_is_repaired(const char *name, uint64_t data_size)
{
	struct seg_header *h = map_header(name);

	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(h->seq & 1, 0);
	ck_assert_uint_eq(h->checksum, checksum_of(h));
	ck_assert_uint_eq(h->data_size, data_size);
	munmap(h, SEG_ALIGN);
}

START_TEST(a_header_lock_holder_killed_mid_update_is_recovered_by_the_next_operation)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 8192, NULL, -1, NULL), *t;
	mv_segment_holder h[4] = { MV_SEGMENT_HOLDER_INIT };

	kill_inside_critical_section(a, 1, 2);
	/* Our next operation takes the header lock (the kernel dropped the dead one's) and
	 * repairs the header. */
	ck_assert_int_eq(mv_segment_holders(h, 4, s), 1);
	ck_assert_int_eq(h[0].pid, getpid());
	header_is_repaired(a, 8192);
	ck_assert_int_eq(table_slots_used(a), 1);
	/* The lock works again, for us and for others. */
	ck_assert_int_eq(mv_segment_resize(s, 16384), 0);
	header_is_repaired(a, 16384);
	t = open_seg(a, MV_SEGMENT_READONLY);
	ck_assert_uint_eq(mapped_size(t), 16384);
	ck_assert_int_eq(mv_segment_close(t), 0);
	t = open_seg(a, 0);
	ck_assert_int_eq(mv_segment_close(t), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
}
END_TEST

START_TEST(a_fresh_open_after_a_header_lock_holder_died_mid_update_repairs_the_header)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 8192, NULL, -1, NULL), *t = NULL;
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	mv_view v;

	/* Nobody has it open when the child dies. */
	ck_assert_int_eq(mv_segment_close(s), 0);
	kill_inside_critical_section(a, 1, 1);
	/* A readonly opener cannot repair and says so... */
	ro.flags = MV_SEGMENT_READONLY;
	ck_assert_mv_err(mv_segment_open(&t, a, &ro), EBADMSG, "open it read-write to repair");
	/* ...a read-write opener takes the lock and repairs the header. */
	t = open_seg(a, 0);
	header_is_repaired(a, 8192);
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(t), 0), 0);
	ck_assert_int_eq(mv_view_len(&v), 8192);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_holders(NULL, 0, t), 1);
	ck_assert_int_eq(mv_segment_close(t), 0);
	t = open_seg(a, MV_SEGMENT_READONLY);
	ck_assert_int_eq(mv_segment_close(t), 0);
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
}
END_TEST

START_TEST(a_header_lock_holder_killed_outside_an_update_does_not_wedge_opens)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 8192, NULL, -1, NULL), *t;

	ck_assert_int_eq(mv_segment_close(s), 0);
	kill_inside_critical_section(a, 0, 1);
	t = open_seg(a, 0);
	ck_assert_int_eq(table_slots_used(a), 1); /* reclaimed, ours taken */
	ck_assert_int_eq(mv_segment_holders(NULL, 0, t), 1);
	ck_assert_int_eq(mv_segment_resize(t, 4096), 0);
	header_is_repaired(a, 4096);
	ck_assert_int_eq(mv_segment_close(t), 0);
	ck_assert_int_eq(table_slots_used(a), 0);
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
}
END_TEST

/* ------------------------------------------------------------------ memfd */

static void child_receives_memfd(int in, int out, const char *name)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment *s;
	mv_value x;
	mv_view v;
	int sock = in, i;

	(void)name;
	MV_TEST_CHECK(mv_segment_recv(&s, sock, NULL) == 0);
	MV_TEST_CHECK(mv_segment_get_info(&info, s) == 0);
	MV_TEST_CHECK(info.flags & MV_SEGMENT_MEMFD);
	MV_TEST_CHECK(!(info.flags & MV_SEGMENT_READONLY));
	MV_TEST_CHECK(strcmp(info.format, "q") == 0 && info.ndim == 1 && info.shape[0] == 16);
	MV_TEST_CHECK(mv_view_from(&v, mv_segment_exporter(s), 0) == 0);
	MV_TEST_CHECK(mv_view_len(&v) == 16);
	for (i = 0; i < 16; i++) {
		MV_TEST_CHECK(mv_view_get_item(&x, &v, i) == 0);
		MV_TEST_CHECK(x.kind == MV_VALUE_INT && x.i == (long long)i * i);
	}
	x = mv_value_int(-42);
	MV_TEST_CHECK(mv_view_set_item(&v, 0, &x) == 0);
	MV_TEST_CHECK(mv_view_release(&v) == 0);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	mv_test_write_byte(out, 'D');
}

START_TEST(a_memfd_passed_over_a_socket_shows_the_data_in_the_child)
{
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	ssize_t shape[1] = { 16 };
	mv_segment *s;
	int64_t *d;
	int sv[2], i, st;
	pid_t pid;

	o.flags = MV_SEGMENT_MEMFD;
	o.format = "q";
	o.ndim = 1;
	o.shape = shape;
	ck_assert_int_eq(mv_segment_create(&s, "mvtest-memfd", 128, &o), 0);
	d = mv_segment_data(s);
	for (i = 0; i < 16; i++)
		d[i] = (int64_t)i * i;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(60);
		close(sv[0]);
		child_receives_memfd(sv[1], sv[1], NULL);
		_exit(0);
	}
	close(sv[1]);
	ck_assert_int_eq(mv_segment_send(s, sv[0]), 0);
	ck_assert_int_eq(mv_test_read_byte(sv[0], 20000), 'D');
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ended with 0x%x", st);
	ck_assert_int_eq(d[0], -42);
	/* A message without a descriptor is refused. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv + 0), 0);
	ck_assert_int_eq(write(sv[0], "M", 1), 1);
	{
		mv_segment *t;

		ck_assert_mv_err(mv_segment_recv(&t, sv[1], NULL), EINVAL, "no descriptor");
		close(sv[0]);
		ck_assert_mv_err(mv_segment_recv(&t, sv[1], NULL), EPIPE, "closed");
	}
	close(sv[1]);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

START_TEST(a_sealed_memfd_cannot_be_truncated_or_shrunk)
{
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment *s;
	struct stat st;

	o.flags = MV_SEGMENT_MEMFD;
	ck_assert_int_eq(mv_segment_create(&s, NULL, 8192, &o), 0);
	errno = 0;
	ck_assert_int_eq(ftruncate(mv_segment_fd(s), 4096), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ftruncate(mv_segment_fd(s), 0), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_mv_err(mv_segment_resize(s, 4096), EPERM, "sealed against shrinking");
	ck_assert_int_eq(fstat(mv_segment_fd(s), &st), 0);
	ck_assert_int_eq(st.st_size, 4096 + 8192);
	/* Growing is allowed until sealed. */
	ck_assert_int_eq(mv_segment_resize(s, 12288), 0);
	ck_assert_uint_eq(mapped_size(s), 12288);
	ck_assert_int_eq(mv_segment_seal(s, MV_SEAL_GROW), 0);
	ck_assert_int_eq(mv_segment_get_info(&info, s), 0);
	ck_assert_uint_eq(info.seals, MV_SEAL_GROW);
	ck_assert_int_eq(ftruncate(mv_segment_fd(s), 65536), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_lt(mv_segment_resize(s, 16384), 0);
	ck_assert_uint_eq(live_size(s), 12288);
	ck_assert_mv_err(mv_segment_seal(s, 0x80), EINVAL, "unknown seals");
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

START_TEST(importing_an_unsealed_memfd_fails_with_eperm)
{
	mv_segment *s = NULL;
	int fd = memfd_create("mvtest-unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING), p[2];

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 8192), 0);
	ck_assert_mv_err(mv_segment_import(&s, fd, NULL), EPERM, "not sealed against shrinking");
	close(fd);
	/* Without MFD_ALLOW_SEALING it can never be sealed: refused the same way. */
	fd = memfd_create("mvtest-unsealable", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 8192), 0);
	ck_assert_mv_err(mv_segment_import(&s, fd, NULL), EPERM, "not sealed against shrinking");
	close(fd);
	ck_assert_mv_err(mv_segment_import(&s, -1, NULL), EBADF, "not open");
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_mv_err(mv_segment_import(&s, p[0], NULL), EINVAL, "not a memfd");
	close(p[0]);
	close(p[1]);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(a_future_write_sealed_memfd_imports_readonly)
{
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment *s, *t;
	mv_value x;
	mv_view v;

	o.flags = MV_SEGMENT_MEMFD;
	o.seals = MV_SEAL_FUTURE_WRITE;
	ck_assert_int_eq(mv_segment_create(&s, "mvtest-ro", 4096, &o), 0);
	((unsigned char *)mv_segment_data(s))[1] = 9; /* the creator's mapping predates the seal */
	ck_assert_int_eq(mv_segment_import(&t, mv_segment_fd(s), NULL), 0);
	ck_assert_int_eq(mv_segment_get_info(&info, t), 0);
	ck_assert(info.flags & MV_SEGMENT_READONLY);
	ck_assert(info.flags & MV_SEGMENT_MEMFD);
	ck_assert_uint_eq(info.seals & MV_SEAL_FUTURE_WRITE, MV_SEAL_FUTURE_WRITE);
	ck_assert_mv_err(mv_view_from(&v, mv_segment_exporter(t), MV_BUF_FULL), EROFS,
			 "not writable");
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(t), 0), 0);
	ck_assert_int_eq(mv_view_readonly(&v), 1);
	ck_assert_int_eq(mv_view_get_item(&x, &v, 1), 0);
	ck_assert_int_eq(x.u, 9);
	x = mv_value_int(1);
	ck_assert_int_eq(mv_view_set_item(&v, 1, &x), -EROFS);
	ck_assert_int_eq(mv_view_release(&v), 0);
	/* No new writable mapping can be made of it at all. */
	ck_assert(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mv_segment_fd(s), 0) ==
		  MAP_FAILED);
	ck_assert_mv_err(mv_segment_resize(t, 8192), EROFS, "readonly");
	ck_assert_int_eq(mv_segment_close(t), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/* ------------------------------------------------------------------ readonly */

START_TEST(writing_through_a_readonly_mapping_faults)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL), *r;
	struct sigaction sa;
	mv_view v;

	r = open_seg(a, MV_SEGMENT_READONLY);
	/* This test dies by the signal: remove the name now (the mapping stays). */
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
	ck_assert_mv_err(mv_view_from(&v, mv_segment_exporter(r), MV_BUF_FULL), EROFS,
			 "not writable");
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(r), 0), 0);
	ck_assert_int_eq(mv_view_readonly(&v), 1);
	/* The kernel, not only the API: a write through the pointer faults. Sanitizers catch
	 * SIGSEGV themselves; the default action is what this test expects. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGSEGV, &sa, NULL);
	((volatile unsigned char *)mv_view_ptr(&v))[0] = 1;
	mv_segment_close(s);
}
END_TEST

START_TEST(a_readonly_open_is_no_holder_and_sees_writes)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL), *r;
	mv_value x;
	mv_view v;

	r = open_seg(a, MV_SEGMENT_READONLY);
	ck_assert_int_eq(fcntl(mv_segment_fd(r), F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert_int_eq(mv_segment_holders(NULL, 0, s), 1);
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(r), 0), 0);
	((unsigned char *)mv_segment_data(s))[3] = 200;
	ck_assert_int_eq(mv_view_get_item(&x, &v, 3), 0);
	ck_assert_int_eq(x.u, 200);
	/* It holds no slot, but the kernel lock still counts its views. */
	ck_assert_int_eq(mv_segment_busy(mv_segment_fd(s)), 1);
	ck_assert_mv_err(mv_segment_resize(s, 0), EBUSY, "holds views");
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_busy(mv_segment_fd(s)), 0);
	ck_assert_int_eq(mv_segment_close(r), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/* ------------------------------------------------------------------ foreign objects */

START_TEST(a_raw_open_of_a_foreign_object_gives_a_typed_view_of_its_bytes)
{
	const char *a = new_name();
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	double data[1000];
	mv_segment *s = NULL;
	mv_value x;
	mv_view v;
	int i;

	rng_state = 7;
	for (i = 0; i < 1000; i++)
		data[i] = (double)(int64_t)rnd() / 1e9;
	put_object(a, data, sizeof(data));
	o.flags = MV_SEGMENT_RAW;
	o.format = "d";
	ck_assert_int_eq(mv_segment_open(&s, a, &o), 0);
	ck_assert_int_eq(mv_segment_get_info(&info, s), 0);
	ck_assert_uint_eq(info.data_offset, 0);
	ck_assert_uint_eq(info.data_size, sizeof(data));
	ck_assert_int_eq(info.creator, 0);
	ck_assert_int_eq(mv_segment_holders(NULL, 0, s), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	ck_assert_str_eq(mv_view_format(&v), "d");
	ck_assert_int_eq(mv_view_len(&v), 1000);
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(mv_view_get_item(&x, &v, i), 0);
		ck_assert_int_eq(x.kind, MV_VALUE_FLOAT);
		ck_assert(x.f == data[i]);
	}
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_mv_err(mv_segment_resize(s, 8), EPERM, "raw segment");
	ck_assert_int_eq(mv_segment_close(s), 0);
	/* A size that is no multiple of the item size is refused as memoryview would. */
	put_object(a, data, 8 * 10 + 3);
	ck_assert_mv_err(mv_segment_open(&s, a, &o), EINVAL, "not a multiple of itemsize");
	o.format = NULL; /* bytes */
	ck_assert_int_eq(mv_segment_open(&s, a, &o), 0);
	ck_assert_uint_eq(live_size(s), 83);
	ck_assert_int_eq(mv_segment_close(s), 0);
	o.format = "bad";
	ck_assert_mv_err(mv_segment_open(&s, a, &o), EINVAL, "invalid format");
}
END_TEST

START_TEST(a_foreign_object_opened_normally_fails_with_ebadmsg_naming_the_magic)
{
	const char *a = new_name();
	double data[1024];
	uint32_t odd = 1;
	mv_segment *s = NULL;
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	int i;

	rng_state = 99;
	for (i = 0; i < 1024; i++)
		data[i] = (double)rnd();
	put_object(a, data, sizeof(data));
	ck_assert_mv_err(mv_segment_open(&s, a, NULL), EBADMSG, "magic");
	ck_assert_mv_err(mv_segment_open(&s, a, NULL), EBADMSG, "open it raw");
	/* Whatever its bytes at the header's seq field: it is not "an update in progress". */
	memcpy((char *)data + offsetof(struct seg_header, seq), &odd, sizeof(odd));
	put_object(a, data, sizeof(data));
	ck_assert_mv_err(mv_segment_open(&s, a, NULL), EBADMSG, "magic");
	ro.flags = MV_SEGMENT_READONLY;
	ck_assert_mv_err(mv_segment_open(&s, a, &ro), EBADMSG, "magic");
	/* Too small to hold a header at all. */
	put_object(a, data, 100);
	ck_assert_mv_err(mv_segment_open(&s, a, NULL), EBADMSG, "too small");
	put_object(a, data, 0);
	ck_assert_mv_err(mv_segment_open(&s, a, NULL), EBADMSG, "too small");
	ck_assert_ptr_null(s);
}
END_TEST

/* Rewrite the header of segment @name to @ndim dimensions @shape, as a peer would; open refuses it. */
static void open_refuses_header_shape(const char *name, int ndim, const int64_t *shape)
{
	struct seg_header *h = map_header(name);
	mv_segment *s = NULL;
	int i;

	ck_assert_ptr_nonnull(h);
	h->ndim = ndim;
	for (i = 0; i < ndim; i++)
		h->shape[i] = shape[i];
	reseal(h);
	munmap(h, SEG_ALIGN);
	ck_assert_mv_err(mv_segment_open(&s, name, NULL), EBADMSG, "shape overflows");
	ck_assert_ptr_null(s);
}

/* Found by fuzz/fuzz_segment_header: a zero in front hid a C-order stride that overflows. */
START_TEST(a_header_shape_whose_strides_overflow_behind_a_zero_is_refused)
{
	static const ssize_t shape[2] = { 2, 3 };
	static const int64_t huge[2] = { 0, (int64_t)1 << 62 };
	const char *a = new_name();
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment *s = NULL;

	o.format = "d";
	o.shape = shape;
	o.ndim = 2;
	ck_assert_int_eq(mv_segment_create(&s, a, 48, &o), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	open_refuses_header_shape(a, 2, huge);
}
END_TEST

/*
 * Found by fuzz/fuzz_segment_header: a header with shape (738197504, 281474976645120, 0,
 * 1073741824, 0, 0, 0) opened (the zeros made the C-order product 0) although its non-zero
 * dimensions overflow, and create accepted (0, 2**40, 2**40) that open then refused. Both now
 * follow numpy's rule, in one place: the non-zero dimensions times the itemsize must fit.
 */
START_TEST(shapes_follow_numpys_rule_in_create_and_open_alike)
{
	static const int64_t lie[7] = { 738197504, 281474976645120, 0, 1073741824, 0, 0, 0 };
	const ssize_t front_zero[3] = { 0, (ssize_t)1 << 40, (ssize_t)1 << 40 };
	const ssize_t empty_rows[2] = { (ssize_t)1 << 61, 0 };
	const char *a = new_name();
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment *s = NULL;
	mv_view v;

	o.shape = front_zero;
	o.ndim = 3;
	ck_assert_mv_err(mv_segment_create(&s, a, 4096, &o), EOVERFLOW, "overflows");
	ck_assert_ptr_null(s);

	/* numpy makes np.empty((2**61, 0), 'B'): so does memview, and it opens again. */
	o.shape = empty_rows;
	o.ndim = 2;
	ck_assert_int_eq(mv_segment_create(&s, a, 4096, &o), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	s = open_seg(a, 0);
	ck_assert_int_eq(mv_segment_get_info(&info, s), 0);
	ck_assert(info.ndim == 2 && info.shape[0] == empty_rows[0] && info.shape[1] == 0);
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	ck_assert_int_eq(mv_view_nbytes(&v), 0);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);

	open_refuses_header_shape(a, 7, lie);
}
END_TEST

/* ------------------------------------------------------------------ corrupted headers */

enum {
	K_RANDOM,    /* random bytes of a random length */
	K_TRUNCATED, /* a valid segment cut short */
	K_LYING,     /* data_size larger than the object */
	K_CHECKSUM,  /* a flipped bit, checksum not updated */
	K_NDIM,      /* ndim out of -1..64 */
	K_SHAPE,     /* shape * itemsize larger than the data, negative, or overflowing */
	K_FORMAT,    /* format garbage */
	K_MAGIC,     /* magic zero or wrong */
	K_FIELD,     /* one more field wrong: version, header size, data offset, item multiple */
	K_SCRAMBLE,  /* every checked field random, checksum recomputed */
	K_KINDS
};

static const char *const kind_names[K_KINDS] = {
	"random bytes", "truncated", "lying size", "bad checksum", "ndim", "shape", "format",
	"magic", "field", "scramble"
};

/* What the message must mention for each kind ("" when any check may fire first). */
static const char *const kind_needles[K_KINDS] = {
	"", "", "data bytes", "checksum", "ndim", "shape", "format", "magic", "", ""
};

/* Make case @i of the corpus from the valid segment @tmpl (@tlen bytes) into @buf; its size. */
static size_t corrupt(unsigned char *buf, const unsigned char *tmpl, size_t tlen, int kind)
{
	struct seg_header *h = (struct seg_header *)buf;
	size_t len = tlen, i;
	uint64_t r;

	memcpy(buf, tmpl, tlen);
	switch (kind) {
	case K_RANDOM:
		len = (size_t)rnd_below(3 * SEG_ALIGN);
		for (i = 0; i < len; i++)
			buf[i] = (unsigned char)rnd();
		if (len >= 8 && rnd_below(4) == 0)
			memcpy(buf, SEG_MAGIC, 8); /* even with the magic right */
		break;
	case K_TRUNCATED:
		len = (size_t)rnd_below(tlen);
		break;
	case K_LYING:
		r = rnd_below(5);
		h->data_size = r == 0 ? tlen - SEG_ALIGN + 1 + rnd_below(100000) :
			       r == 1 ? UINT64_MAX - rnd_below(4096) :
			       r == 2 ? (1ull << 63) + rnd_below(1u << 20) :
			       r == 3 ? (uint64_t)SSIZE_MAX - SEG_ALIGN + 1 :
					(tlen - SEG_ALIGN + 1) | (rnd() & 0x7fffffffffffull);
		reseal(h);
		break;
	case K_CHECKSUM:
		r = rnd_below(2);
		if (r == 0) {
			/* Any bit after the version, up to the checksum. */
			i = 12 + (size_t)rnd_below(SEG_CHECKSUMMED_BYTES - 12);
			buf[i] ^= (unsigned char)(1u << rnd_below(8));
		} else {
			h->checksum ^= 1u << rnd_below(32);
		}
		break;
	case K_NDIM: {
		static const int32_t bad[] = { 65, 66, 100, 1000, INT32_MAX, -2, -64, INT32_MIN };

		h->ndim = rnd_below(2) ? bad[rnd_below(sizeof(bad) / sizeof(bad[0]))] :
					 (int32_t)(65 + rnd_below((uint64_t)INT32_MAX - 65));
		reseal(h);
		break;
	}
	case K_SHAPE:
		r = rnd_below(5);
		if (r == 0) { /* one item too many, or more */
			h->shape[0] = (int64_t)(h->data_size / 4 / (uint64_t)h->shape[1]) + 1 +
				      (int64_t)rnd_below(1000);
		} else if (r == 1) { /* negative */
			h->shape[rnd_below(2)] = -(int64_t)(1 + rnd_below(INT32_MAX));
		} else if (r == 2) { /* overflow */
			h->shape[0] = INT64_MAX / 2 + (int64_t)rnd_below(1000);
			h->shape[1] = 3 + (int64_t)rnd_below(1000);
		} else if (r == 3) { /* 64 dimensions of 2: 2^64 items */
			h->ndim = 64;
			for (i = 0; i < 64; i++)
				h->shape[i] = 2;
		} else { /* one dimension, just too long */
			h->ndim = 1;
			h->shape[0] = (int64_t)(h->data_size / 4) + 1 + (int64_t)rnd_below(4);
		}
		reseal(h);
		break;
	case K_FORMAT: {
		static const char *const bad[] = { "", "BB", "<n", ">P", "x", "@", "2i", "T{i}",
						   "s", "0B", "=N", "Zd", "i ", " i", "\x80" };
		mv_format f;

		r = rnd_below(2);
		if (r == 0) {
			memset(h->format, 0, sizeof(h->format));
			strcpy(h->format, bad[rnd_below(sizeof(bad) / sizeof(bad[0]))]);
		} else {
			do {
				for (i = 0; i < sizeof(h->format); i++)
					h->format[i] = (char)rnd();
			} while (memchr(h->format, '\0', sizeof(h->format)) &&
				 mv_format_parse(&f, h->format) == 0);
		}
		reseal(h);
		break;
	}
	case K_MAGIC:
		if (rnd_below(2))
			memset(h->magic, 0, sizeof(h->magic));
		else
			h->magic[rnd_below(8)] ^= (char)(1u << rnd_below(8));
		reseal(h);
		break;
	case K_FIELD:
		r = rnd_below(4);
		if (r == 0) {
			h->version = (uint32_t)rnd();
			if (h->version == SEG_VERSION)
				h->version = 0;
		} else if (r == 1) {
			h->header_bytes = rnd_below(2) ?
				(uint32_t)rnd_below(offsetof(struct seg_header, holders)) :
				SEG_ALIGN + 1 + (uint32_t)rnd_below(UINT32_MAX - SEG_ALIGN - 1);
		} else if (r == 2) {
			h->data_offset = rnd_below(2) ? rnd() : rnd_below(4) * SEG_ALIGN +
								(rnd_below(2) ? 0 : 1 + rnd_below(4095));
			if (h->data_offset == SEG_ALIGN)
				h->data_offset = 2 * SEG_ALIGN;
		} else {
			/* One auto dimension over a size no multiple of the item size. */
			h->ndim = SEG_NDIM_AUTO;
			h->data_size -= 1 + rnd_below(3);
		}
		reseal(h);
		break;
	case K_SCRAMBLE:
		for (i = 12; i < SEG_CHECKSUMMED_BYTES; i++)
			buf[i] = (unsigned char)rnd();
		if (h->data_offset == SEG_ALIGN)
			h->data_offset++;
		reseal(h);
		break;
	}
	return len;
}

START_TEST(a_thousand_corrupted_headers_are_refused_with_ebadmsg_and_never_crash)
{
	const char *a = new_name();
	ssize_t shape[2] = { 16, 32 };
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	unsigned char *tmpl, *buf;
	size_t tlen, len;
	mv_segment *s;
	int i, rc, fds, kind, hits[K_KINDS] = { 0 };

	/* A valid segment to corrupt: "i", 16 x 32 items over 8192 bytes. */
	s = create_seg(a, 8192, "i", 2, shape);
	ck_assert_int_eq(mv_segment_close(s), 0);
	tmpl = get_object(a, &tlen);
	ck_assert_uint_eq(tlen, SEG_ALIGN + 8192);
	buf = malloc(4 * SEG_ALIGN);
	ck_assert_ptr_nonnull(buf);
	/* The control: rewritten unchanged, it opens. */
	put_object(a, tmpl, tlen);
	s = open_seg(a, 0);
	ck_assert_int_eq(mv_segment_close(s), 0);

	ro.flags = MV_SEGMENT_READONLY;
	fds = mv_test_count_fds();
	ck_assert_int_ge(fds, 0);
	rng_state = 20240601;
	for (i = 0; i < 1000; i++) {
		kind = i % K_KINDS;
		len = corrupt(buf, tmpl, tlen, kind);
		put_object(a, buf, len);
		s = NULL;
		rc = mv_segment_open(&s, a, (i / K_KINDS) % 2 ? &ro : NULL);
		if (rc == 0)
			mv_segment_close(s);
		ck_assert_msg(rc == -EBADMSG || rc == -EINVAL,
			      "case %d (%s, %zu bytes): open returned %d (%s)", i, kind_names[kind],
			      len, rc, rc ? mv_errmsg() : "accepted");
		ck_assert_msg(strstr(mv_errmsg(), kind_needles[kind]) != NULL,
			      "case %d (%s): message \"%s\" lacks \"%s\"", i, kind_names[kind],
			      mv_errmsg(), kind_needles[kind]);
		ck_assert_msg(strstr(mv_errmsg(), a) != NULL,
			      "case %d: message \"%s\" does not name the segment", i, mv_errmsg());
		hits[kind]++;
	}
	for (kind = 0; kind < K_KINDS; kind++)
		ck_assert_int_eq(hits[kind], 100);
	ck_assert_int_eq(mv_test_count_fds(), fds);
	free(buf);
	free(tmpl);
}
END_TEST

START_TEST(an_interrupted_update_with_no_dead_owner_is_reported_not_trusted)
{
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL), *t = NULL;
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	struct seg_header *h;

	ck_assert_int_eq(mv_segment_close(s), 0);
	h = map_header(a);
	ck_assert_ptr_nonnull(h);
	h->seq |= 1;
	ro.flags = MV_SEGMENT_READONLY;
	ck_assert_mv_err(mv_segment_open(&t, a, &ro), EBADMSG, "interrupted");
	ck_assert_ptr_null(t);
	munmap(h, SEG_ALIGN);
}
END_TEST

/* ------------------------------------------------------------------ probing */

/* Whether this process maps the object open as @fd (its inode in /proc/self/maps). */
static int maps_object(int fd)
{
	char line[512];
	unsigned long ino;
	struct stat st;
	int found = 0;
	FILE *fp;

	ck_assert_int_eq(fstat(fd, &st), 0);
	fp = fopen("/proc/self/maps", "re");
	ck_assert_ptr_nonnull(fp);
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "%*s %*s %*s %*s %lu", &ino) == 1 && ino == st.st_ino)
			found = 1;
	fclose(fp);
	return found;
}

/* mv_segment_probe() on a fresh read-only descriptor of @name: its return value. */
static int probe_name_ro(const char *name, mv_segment_info *info)
{
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0), rc;

	ck_assert_msg(fd >= 0, "shm_open %s: %s", name, strerror(errno));
	rc = mv_segment_probe(info, fd);
	close(fd);
	return rc;
}

START_TEST(a_probe_reads_a_good_header_without_mapping_it_or_becoming_a_holder)
{
	const char *a = new_name();
	ssize_t shape[2] = { 16, 32 };
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment *s = create_seg(a, 8192, "i", 2, shape);
	int fd;

	ck_assert_int_eq(mv_segment_close(s), 0);
	fd = shm_open(a, O_RDONLY | O_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&info, 0xa5, sizeof(info));
	ck_assert_int_eq(mv_segment_probe(&info, fd), 1);
	ck_assert_uint_eq(info.data_offset, SEG_ALIGN);
	ck_assert_uint_eq(info.data_size, 8192);
	ck_assert_uint_eq(info.generation, 1);
	ck_assert_str_eq(info.format, "i");
	ck_assert_int_eq(info.ndim, 2);
	ck_assert_int_eq(info.shape[0], 16);
	ck_assert_int_eq(info.shape[1], 32);
	ck_assert_int_eq(info.creator, getpid());
	ck_assert_uint_eq(info.flags, 0);
	ck_assert_uint_eq(info.seals, 0);
	ck_assert_uint_eq(info.mapped_size, 0);
	ck_assert_int_eq(info.exports, 0);
	/* Nothing mapped, no holder slot taken: a tool probing is not a user of the segment. */
	ck_assert_int_eq(maps_object(fd), 0);
	ck_assert_int_eq(table_slots_used(a), 0);
	close(fd);

	/* After a resize elsewhere it reports the header as it is now. */
	s = open_seg(a, 0);
	ck_assert_int_eq(mv_segment_resize(s, 12288), 0);
	ck_assert_int_eq(probe_name_ro(a, &info), 1);
	ck_assert_uint_eq(info.data_size, 12288);
	ck_assert_uint_eq(info.generation, 2);
	ck_assert_int_eq(mv_segment_close(s), 0);

	/* A memfd segment, one dimension over all of it, and its seals. */
	o.flags = MV_SEGMENT_MEMFD;
	o.format = "d";
	o.seals = MV_SEAL_GROW;
	ck_assert_int_eq(mv_segment_create(&s, "mvtest-probe", 4096, &o), 0);
	ck_assert_int_eq(mv_segment_probe(&info, mv_segment_fd(s)), 1);
	ck_assert_str_eq(info.format, "d");
	ck_assert_int_eq(info.ndim, 1);
	ck_assert_int_eq(info.shape[0], 512);
	ck_assert_uint_eq(info.seals, MV_SEAL_GROW);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/*
 * The holder table through a descriptor, as tools read it: the same holders a handle reports,
 * with nothing mapped and no slot taken; an object that is not memview's has no table.
 */
START_TEST(a_probe_of_the_holders_reads_the_table_through_the_descriptor_alone)
{
	mv_segment_holder byfd[4] = { MV_SEGMENT_HOLDER_INIT }, byseg[4] = { MV_SEGMENT_HOLDER_INIT };
	const char *a = new_name();
	mv_segment *s = create_seg(a, 4096, NULL, -1, NULL);
	mv_view v;
	int fd, plain;

	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	fd = shm_open(a, O_RDONLY | O_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(mv_segment_probe_holders(byfd, 4, fd), 1);
	ck_assert_int_eq(mv_segment_holders(byseg, 4, s), 1);
	ck_assert_int_eq(byfd[0].pid, byseg[0].pid);
	ck_assert_int_eq(byfd[0].pid, getpid());
	ck_assert_int_eq(byfd[0].alive, 1);
	ck_assert_int_eq(byfd[0].exports, 1);
	ck_assert_int_eq(mv_segment_probe_holders(NULL, 0, fd), 1);
	ck_assert_int_eq(table_slots_used(a), 1); /* ours, from the handle: the probe took none */
	close(fd);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	plain = memfd_create("not-memview", MFD_CLOEXEC);
	ck_assert_int_ge(plain, 0);
	ck_assert_int_eq(ftruncate(plain, 8192), 0);
	ck_assert_mv_err(mv_segment_probe_holders(byfd, 4, plain), EBADMSG, "not a memview");
	close(plain);
}
END_TEST

START_TEST(a_probe_refuses_corrupted_headers_as_open_does_and_names_the_object)
{
	const char *a = new_name();
	ssize_t shape[2] = { 16, 32 };
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	unsigned char *tmpl, *buf;
	struct seg_header *h;
	char path[128];
	size_t tlen, len;
	mv_segment *s;
	int i, rc, kind, foreign = 0, bad = 0;

	s = create_seg(a, 8192, "i", 2, shape);
	ck_assert_int_eq(mv_segment_close(s), 0);
	tmpl = get_object(a, &tlen);
	buf = malloc(4 * SEG_ALIGN);
	ck_assert_ptr_nonnull(buf);
	snprintf(path, sizeof(path), "/dev/shm%s", a);
	rng_state = 20240601;
	for (i = 0; i < 1000; i++) {
		kind = i % K_KINDS;
		len = corrupt(buf, tmpl, tlen, kind);
		put_object(a, buf, len);
		memset(&info, 0x5a, sizeof(info));
		rc = probe_name_ro(a, &info);
		if (len < 8 || memcmp(buf, SEG_MAGIC, 8) != 0) {
			/* Without memview's magic it is another program's object, not a bad one. */
			ck_assert_msg(rc == 0, "case %d (%s): probe returned %d for no magic", i,
				      kind_names[kind], rc);
			foreign++;
			continue;
		}
		ck_assert_msg(rc == -EBADMSG, "case %d (%s, %zu bytes): probe returned %d (%s)", i,
			      kind_names[kind], len, rc, rc ? mv_errmsg() : "accepted");
		ck_assert_msg(strstr(mv_errmsg(), kind_needles[kind]) != NULL,
			      "case %d (%s): message \"%s\" lacks \"%s\"", i, kind_names[kind],
			      mv_errmsg(), kind_needles[kind]);
		ck_assert_msg(strncmp(mv_errmsg(), path, strlen(path)) == 0,
			      "case %d: message \"%s\" does not name %s", i, mv_errmsg(), path);
		ck_assert_int_eq(info.ndim, 0x5a5a5a5a); /* out untouched on failure */
		bad++;
	}
	ck_assert_int_ge(foreign, 100); /* every K_MAGIC case at least */
	ck_assert_int_ge(bad, 700);

	/* An update in progress, or one a writer died in: not trusted. */
	put_object(a, tmpl, tlen);
	ck_assert_int_eq(probe_name_ro(a, &info), 1);
	h = map_header(a);
	ck_assert_ptr_nonnull(h);
	h->seq |= 1;
	ck_assert_mv_err(probe_name_ro(a, &info), EBADMSG, "interrupted");
	munmap(h, SEG_ALIGN);
	free(buf);
	free(tmpl);
}
END_TEST

START_TEST(a_probe_calls_foreign_objects_not_memview_and_checks_its_arguments)
{
	const char *a = new_name();
	mv_segment_info info = MV_SEGMENT_INFO_INIT, before = MV_SEGMENT_INFO_INIT;
	double data[1024];
	char path[128];
	int i, fd;

	rng_state = 7;
	for (i = 0; i < 1024; i++)
		data[i] = (double)rnd();
	memset(&info, 0x33, sizeof(info));
	before = info;
	put_object(a, data, sizeof(data));
	ck_assert_int_eq(probe_name_ro(a, &info), 0);
	put_object(a, data, 5);
	ck_assert_int_eq(probe_name_ro(a, &info), 0);
	put_object(a, data, 0);
	ck_assert_int_eq(probe_name_ro(a, &info), 0);
	ck_assert_mem_eq(&info, &before, sizeof(info));
	/* memview's magic on something too small for a segment: a bad one, not a foreign one. */
	memcpy(data, SEG_MAGIC, 8);
	put_object(a, data, 100);
	ck_assert_mv_err(probe_name_ro(a, &info), EBADMSG, "too small");
	/* Another program's memfd. */
	fd = memfd_create("mvtest-foreign", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 8192), 0);
	ck_assert_int_eq(mv_segment_probe(&info, fd), 0);
	close(fd);

	ck_assert_mv_err(mv_segment_probe(&info, -1), EBADF, "descriptor -1");
	fd = shm_open(a, O_RDONLY | O_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_mv_err(mv_segment_probe(NULL, fd), EINVAL, "out");
	close(fd);
	snprintf(path, sizeof(path), "/dev/shm%s", a);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_mv_err(mv_segment_probe(&info, fd), EBADF, "cannot read");
	close(fd);
	fd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_mv_err(mv_segment_probe(&info, fd), EINVAL, "not a regular file");
	close(fd);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;
	ssize_t n;
	int rc;

	if (argc == 3 && strcmp(argv[1], "--reader") == 0)
		return exec_reader(argv[2]);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		mv_test_skip("cannot read /proc/self/exe: %s", strerror(errno));
	self_exe[n] = '\0';
	if (access("/dev/shm", W_OK) != 0)
		mv_test_skip("/dev/shm is not writable: %s", strerror(errno));
	snprintf(run_tag, sizeof(run_tag), "seg%ld", (long)getpid());

	s = suite_create("segment");
#define TC(title)                                                                          \
	do {                                                                               \
		tc = tcase_create(title);                                                  \
		tcase_add_checked_fixture(tc, NULL, mv_test_unlink_names);                       \
		tcase_add_unchecked_fixture(tc, NULL, sweep_names);                        \
		tcase_set_timeout(tc, 60);                                                 \
		suite_add_tcase(s, tc);                                                    \
	} while (0)
	TC("names and creation");
	tcase_add_test(tc, names_need_one_leading_slash_a_file_name_and_at_most_250_characters);
	tcase_add_test(tc, create_is_exclusive_and_mode_0600_unless_asked_whatever_the_umask);
	tcase_add_test(tc, create_checks_format_shape_and_size_before_touching_dev_shm);
	tcase_add_test(tc, a_segment_larger_than_memory_is_refused_before_anything_is_made);
	tcase_add_test(tc, close_with_live_views_fails_with_ebusy_and_changes_nothing);
	TC("two processes");
	tcase_add_test(tc, a_second_process_sees_the_data_typed_by_the_header);
	tcase_add_test(tc, an_execed_program_opens_the_segment_typed_by_the_header);
	tcase_add_test(tc, holders_report_live_processes_and_their_export_counts);
	tcase_add_test(tc, info_and_holders_are_written_only_as_far_as_the_callers_size_says);
	TC("resizing");
	tcase_add_test(tc, shrink_is_refused_while_another_process_has_views_and_allowed_after_it_exits);
	tcase_add_test(tc, growing_is_allowed_while_views_exist_and_other_holders_follow);
	tcase_add_test(tc, resize_checks_its_argument_and_the_handle);
	tcase_add_test(tc, resize_through_a_handle_inherited_across_fork_is_refused);
	TC("export lock");
	tcase_add_test(tc, no_view_is_given_while_another_process_holds_the_write_lock);
	tcase_add_test(tc, views_from_many_threads_keep_the_kernel_lock_and_the_table_consistent);
	tcase_add_test(tc, a_forked_child_releasing_inherited_views_keeps_the_parents_lock);
	TC("unlinking");
	tcase_add_test(tc, unlink_without_force_is_refused_while_any_process_holds_views);
	tcase_add_test(tc, unlink_with_force_removes_the_name_and_existing_mappings_stay_valid);
	TC("crash recovery");
	tcase_add_test(tc, holders_killed_with_sigkill_are_reclaimed_round_after_round);
	tcase_add_test(tc, a_header_lock_holder_killed_mid_update_is_recovered_by_the_next_operation);
	tcase_add_test(tc, a_fresh_open_after_a_header_lock_holder_died_mid_update_repairs_the_header);
	tcase_add_test(tc, a_header_lock_holder_killed_outside_an_update_does_not_wedge_opens);
	TC("memfd");
	tcase_add_test(tc, a_memfd_passed_over_a_socket_shows_the_data_in_the_child);
	tcase_add_test(tc, a_sealed_memfd_cannot_be_truncated_or_shrunk);
	tcase_add_test(tc, importing_an_unsealed_memfd_fails_with_eperm);
	tcase_add_test(tc, a_future_write_sealed_memfd_imports_readonly);
	TC("readonly");
	tcase_add_test_raise_signal(tc, writing_through_a_readonly_mapping_faults, SIGSEGV);
	tcase_add_test(tc, a_readonly_open_is_no_holder_and_sees_writes);
	TC("foreign objects");
	tcase_add_test(tc, a_raw_open_of_a_foreign_object_gives_a_typed_view_of_its_bytes);
	tcase_add_test(tc, a_foreign_object_opened_normally_fails_with_ebadmsg_naming_the_magic);
	tcase_add_test(tc, a_header_shape_whose_strides_overflow_behind_a_zero_is_refused);
	tcase_add_test(tc, shapes_follow_numpys_rule_in_create_and_open_alike);
	TC("corrupted headers");
	tcase_add_test(tc, a_thousand_corrupted_headers_are_refused_with_ebadmsg_and_never_crash);
	tcase_add_test(tc, an_interrupted_update_with_no_dead_owner_is_reported_not_trusted);
	TC("probing");
	tcase_add_test(tc, a_probe_reads_a_good_header_without_mapping_it_or_becoming_a_holder);
	tcase_add_test(tc, a_probe_of_the_holders_reads_the_table_through_the_descriptor_alone);
	tcase_add_test(tc, a_probe_refuses_corrupted_headers_as_open_does_and_names_the_object);
	tcase_add_test(tc, a_probe_calls_foreign_objects_not_memview_and_checks_its_arguments);
#undef TC
	rc = mv_test_run(s);
	sweep_names();
	return rc;
}
