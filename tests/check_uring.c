/*
 * tests/check_uring.c - io_uring registered buffers: fixed reads and writes through views of
 * slots (slices and casts too) checked byte for byte; clear, replace, unregister and free refused
 * while a view or an I/O holds a slot and allowed once the completion is reaped; replaced memory
 * kept until its tag completion; readonly rules and the mappings the kernel would refuse or
 * misuse; RLIMIT_MEMLOCK exhaustion and a blocked io_uring_setup explained; shared memory
 * segments registered so that another process sees what the kernel read.
 *
 * If io_uring cannot be used here (no io_uring, a seccomp policy, kernel.io_uring_disabled), the
 * program prints "SKIP: <reason>" and exits 77. Children forked inside a test never call
 * ck_assert: they exit non-zero with a line on stderr, and the test asserts their status.
 * Files live in $TMPDIR and are unlinked at once; segments are named by mv_test_name() and
 * unlinked by the test that made them.
 */
#define _GNU_SOURCE
#include "testlib.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ helpers */

static unsigned char pattern_byte(size_t i)
{
	return (unsigned char)((i * 31u + 7u) ^ (i >> 8));
}

/* A file of @size pattern bytes in $TMPDIR, already unlinked. */
static int pattern_file(size_t size)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	unsigned char buf[4096];
	size_t done = 0, i;
	int fd;

	snprintf(path, sizeof(path), "%s/mv-uring-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp %s: %s", path, strerror(errno));
	unlink(path);
	while (done < size) {
		size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);

		for (i = 0; i < n; i++)
			buf[i] = pattern_byte(done + i);
		ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	return fd;
}

static void ring_up(struct io_uring *r, unsigned entries)
{
	int rc = mv_uring_queue_init(r, entries, 0);

	ck_assert_msg(rc == 0, "mv_uring_queue_init: %d %s", rc, mv_errmsg());
}

static mv_uring *table_up(struct io_uring *r, unsigned nslots)
{
	mv_uring *t = NULL;
	int rc = mv_uring_new(&t, r, nslots);

	ck_assert_msg(rc == 0, "mv_uring_new: %d %s", rc, mv_errmsg());
	return t;
}

/* Submit what is prepared, wait (at most 5 s) for one completion and pass it to memview. */
static int next_completion(struct io_uring *r, mv_uring *t, mv_uring_result *res)
{
	struct __kernel_timespec ts = { 5, 0 };
	struct io_uring_cqe *cqe;
	int rc, kind;

	io_uring_submit(r);
	rc = io_uring_wait_cqe_timeout(r, &cqe, &ts);
	ck_assert_msg(rc == 0, "no completion within 5 s: %s", strerror(-rc));
	kind = mv_uring_complete(res, t, cqe);
	io_uring_cqe_seen(r, cqe);
	return kind;
}

/* The next completion must be a memview I/O; returns its result. */
static mv_uring_result expect_io(struct io_uring *r, mv_uring *t)
{
	mv_uring_result res = MV_URING_RESULT_INIT;
	int kind;

	kind = next_completion(r, t, &res);
	ck_assert_msg(kind == MV_URING_CQE_IO, "expected an I/O completion, got %d (%s)", kind,
		      mv_errmsg());
	return res;
}

static void expect_tag(struct io_uring *r, mv_uring *t)
{
	int kind = next_completion(r, t, NULL);

	ck_assert_msg(kind == MV_URING_CQE_INTERNAL, "expected a tag completion, got %d", kind);
}

static void *slot_addr(mv_uring *t, unsigned index)
{
	mv_uring_slot_info si = MV_URING_SLOT_INFO_INIT;

	ck_assert_int_eq(mv_uring_get_slot_info(&si, t, index), 0);
	return si.addr;
}

static void check_pattern(const unsigned char *p, size_t n, size_t file_off)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != pattern_byte(file_off + i))
			ck_abort_msg("byte %zu is 0x%02x, expected 0x%02x (file offset %zu)", i,
				     p[i], pattern_byte(file_off + i), file_off + i);
}

/*
 * Free the table, then pass the tags of what it held to mv_uring_complete(): memory waiting for
 * its tag is released only when the tag arrives (an attached segment's export among it).
 */
static void teardown(struct io_uring *r, mv_uring *t)
{
	struct __kernel_timespec ts = { 0, 20000000 };
	struct io_uring_cqe *cqe;

	ck_assert_msg(mv_uring_free(t) == 0, "mv_uring_free: %s", mv_errmsg());
	while (io_uring_wait_cqe_timeout(r, &cqe, &ts) == 0) {
		mv_uring_complete(NULL, NULL, cqe);
		io_uring_cqe_seen(r, cqe);
	}
	io_uring_queue_exit(r);
}

/* Release callback bookkeeping for wrapped memory. */
static int released;
static void *released_mem;
static size_t released_len;

static void on_release(void *ctx, void *mem, size_t len)
{
	(void)ctx;
	released++;
	released_mem = mem;
	released_len = len;
}

/* ------------------------------------------------------------------ fixed I/O through views */

START_TEST(a_fixed_read_fills_a_slot_view_byte_for_byte)
{
	struct io_uring r;
	mv_uring *t;
	mv_view v;
	mv_uring_result res = MV_URING_RESULT_INIT;
	int fd = pattern_file(65536);

	ring_up(&r, 8);
	t = table_up(&r, 4);
	ck_assert_int_eq(mv_uring_alloc(t, 1, 65536), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 1), MV_BUF_WRITABLE), 0);
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &v, 0, 42), 0);
	res = expect_io(&r, t);
	ck_assert_int_eq(res.res, 65536);
	ck_assert_uint_eq(res.index, 1);
	ck_assert_uint_eq(res.cookie, 42);
	ck_assert_int_eq(res.op, MV_URING_OP_READ);
	check_pattern(mv_view_ptr(&v), 65536, 0);
	ck_assert_int_eq(mv_view_release(&v), 0);
	teardown(&r, t);
	close(fd);
}
END_TEST

START_TEST(a_read_into_a_slice_lands_at_its_offset_and_nowhere_else)
{
	struct io_uring r;
	mv_uring *t;
	mv_view v, s;
	unsigned index = 99;
	size_t off = 0, i;
	unsigned char *p;
	int fd = pattern_file(8192);

	ring_up(&r, 8);
	t = table_up(&r, 2);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 4096), 0);
	p = slot_addr(t, 0);
	memset(p, 0xee, 4096);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	ck_assert_int_eq(mv_view_slice(&s, &v, 100, 300, 1), 0);
	ck_assert_int_eq(mv_uring_locate(&index, &off, t, &s), 0);
	ck_assert_uint_eq(index, 0);
	ck_assert_uint_eq(off, 100);
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &s, 1000, 7), 0);
	ck_assert_int_eq(expect_io(&r, t).res, 200);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(p[i], 0xee);
	check_pattern(p + 100, 200, 1000);
	for (i = 300; i < 4096; i++)
		ck_assert_int_eq(p[i], 0xee);
	mv_view_release(&s);
	mv_view_release(&v);
	teardown(&r, t);
	close(fd);
}
END_TEST

START_TEST(a_fixed_write_of_a_slice_writes_exactly_that_slice)
{
	struct io_uring r;
	mv_uring *t;
	mv_view v, s;
	unsigned char *p, back[64];
	size_t i;
	int fd = pattern_file(64);

	ring_up(&r, 8);
	t = table_up(&r, 1);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 256), 0);
	p = slot_addr(t, 0);
	for (i = 0; i < 256; i++)
		p[i] = (unsigned char)(0x80 + i);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	ck_assert_int_eq(mv_view_slice(&s, &v, 10, 20, MV_NONE), 0);
	ck_assert_int_eq(mv_uring_prep_write_fixed(NULL, t, fd, &s, 5, 9), 0);
	ck_assert_int_eq(expect_io(&r, t).op, MV_URING_OP_WRITE);
	ck_assert_int_eq(pread(fd, back, sizeof(back), 0), 64);
	for (i = 0; i < 64; i++) {
		unsigned char want = i >= 5 && i < 15 ? (unsigned char)(0x80 + 10 + i - 5) :
							pattern_byte(i);

		ck_assert_msg(back[i] == want, "file byte %zu is 0x%02x, expected 0x%02x", i,
			      back[i], want);
	}
	mv_view_release(&s);
	mv_view_release(&v);
	teardown(&r, t);
	close(fd);
}
END_TEST

START_TEST(casts_and_slices_of_casts_are_located_and_read_into)
{
	struct io_uring r;
	mv_uring *t;
	mv_view v, c, row;
	ssize_t shape[2] = { 4, 64 };
	unsigned index;
	size_t off;
	int fd = pattern_file(4096);

	ring_up(&r, 8);
	t = table_up(&r, 3);
	ck_assert_int_eq(mv_uring_alloc(t, 2, 1024), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 2), 0), 0);
	ck_assert_int_eq(mv_view_cast(&c, &v, "i", shape, 2), 0);
	/* Row 2 of the 4x64 int view: bytes 512..767 of the slot. */
	ck_assert_int_eq(mv_view_slice(&row, &c, 2, 3, 1), 0);
	ck_assert_int_eq(mv_uring_locate(&index, &off, t, &row), 0);
	ck_assert_uint_eq(index, 2);
	ck_assert_uint_eq(off, 512);
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &row, 2048, 0), 0);
	ck_assert_int_eq(expect_io(&r, t).res, 256);
	check_pattern((unsigned char *)slot_addr(t, 2) + 512, 256, 2048);
	/* The whole 2-D cast is C-contiguous too. */
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &c, 0, 0), 0);
	ck_assert_int_eq(expect_io(&r, t).res, 1024);
	check_pattern(slot_addr(t, 2), 1024, 0);
	mv_view_release(&row);
	mv_view_release(&c);
	mv_view_release(&v);
	teardown(&r, t);
	close(fd);
}
END_TEST

START_TEST(views_that_are_not_one_contiguous_piece_of_a_slot_are_refused)
{
	struct io_uring r, r2;
	mv_uring *t, *t2;
	mv_heap *h;
	mv_view v, s, hv, v2, rel;
	mv_uring_info info = MV_URING_INFO_INIT;

	ring_up(&r, 8);
	ring_up(&r2, 8);
	t = table_up(&r, 2);
	t2 = table_up(&r2, 2);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 4096), 0);
	ck_assert_int_eq(mv_uring_alloc(t2, 0, 4096), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	ck_assert_int_eq(mv_view_slice(&s, &v, 0, MV_NONE, 2), 0);
	ck_assert_mv_err(mv_uring_prep_read_fixed(NULL, t, 0, &s, 0, 0), EINVAL, "C-contiguous");
	ck_assert_mv_err(mv_uring_locate(NULL, NULL, t, &s), EINVAL, "C-contiguous");
	ck_assert_int_eq(mv_heap_bytearray_new(&h, NULL, 16), 0);
	ck_assert_int_eq(mv_view_from(&hv, mv_heap_exporter(h), 0), 0);
	ck_assert_mv_err(mv_uring_prep_write_fixed(NULL, t, 1, &hv, 0, 0), EINVAL,
			 "not of an io_uring buffer slot");
	ck_assert_int_eq(mv_view_from(&v2, mv_uring_exporter(t2, 0), 0), 0);
	ck_assert_mv_err(mv_uring_prep_write_fixed(NULL, t, 1, &v2, 0, 0), EINVAL,
			 "another table");
	ck_assert_int_eq(mv_view_from(&rel, mv_uring_exporter(t, 0), 0), 0);
	mv_view_release(&rel);
	ck_assert_mv_err(mv_uring_prep_write_fixed(NULL, t, 1, &rel, 0, 0), EBADF, "released");
	/* Nothing was taken by the refusals. */
	ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
	ck_assert_int_eq(info.inflight, 0);
	ck_assert_int_eq(info.views, 1);
	mv_view_release(&s);
	mv_view_release(&v);
	mv_view_release(&v2);
	mv_view_release(&hv);
	mv_heap_free(h);
	teardown(&r, t);
	teardown(&r2, t2);
}
END_TEST

START_TEST(wrapped_caller_memory_is_read_into_and_given_back_after_its_tag)
{
	struct io_uring r;
	mv_uring *t;
	mv_view v;
	void *mem;
	int fd = pattern_file(12288);

	released = 0;
	ck_assert_int_eq(posix_memalign(&mem, 4096, 12288), 0);
	/* Valgrind does not see the kernel's io_uring writes: filled, the buffer is defined for it.
	 * Zeros are not the pattern (its byte 0 is 7), so a read that did not land still fails. */
	memset(mem, 0, 12288);
	ring_up(&r, 8);
	t = table_up(&r, 2);
	ck_assert_int_eq(mv_uring_wrap(t, 1, mem, 12288, 0, on_release, NULL), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 1), MV_BUF_WRITABLE), 0);
	ck_assert_ptr_eq(mv_view_ptr(&v), mem);
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &v, 0, 0), 0);
	ck_assert_int_eq(expect_io(&r, t).res, 12288);
	check_pattern(mem, 12288, 0);
	mv_view_release(&v);
	ck_assert_int_eq(mv_uring_clear(t, 1), 0);
	expect_tag(&r, t);
	ck_assert_int_eq(released, 1);
	ck_assert_ptr_eq(released_mem, mem);
	ck_assert_uint_eq(released_len, 12288);
	teardown(&r, t);
	free(mem);
	close(fd);
}
END_TEST

/* ------------------------------------------------------------------ holding rules */

START_TEST(clear_replace_unregister_and_free_are_refused_while_a_view_holds_the_slot)
{
	struct io_uring r;
	mv_uring_info info = MV_URING_INFO_INIT;
	mv_uring *t;
	mv_view v, s;

	ring_up(&r, 8);
	t = table_up(&r, 4);
	ck_assert_int_eq(mv_uring_alloc(t, 3, 4096), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 3), 0), 0);
	ck_assert_mv_err(mv_uring_clear(t, 3), EBUSY, "held by 1 view and 0 I/Os in flight");
	ck_assert_mv_err(mv_uring_alloc(t, 3, 8192), EBUSY, "cannot replace uring slot 3");
	ck_assert_mv_err(mv_uring_unregister(t), EBUSY, "slot 3");
	ck_assert_mv_err(mv_uring_free(t), EBUSY, "held by 1 view");
	/* The refusals changed nothing. */
	ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
	ck_assert_int_eq(info.registered, 1);
	ck_assert_uint_eq(info.used, 1);
	ck_assert_uint_eq(info.bytes, 4096);
	ck_assert_uint_eq(info.pending_tags, 0);
	/* A slice keeps the family's export after the parent view is gone. */
	ck_assert_int_eq(mv_view_slice(&s, &v, 1, 2, 1), 0);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_mv_err(mv_uring_clear(t, 3), EBUSY, "held by 1 view");
	ck_assert_int_eq(mv_view_release(&s), 0);
	ck_assert_int_eq(mv_uring_alloc(t, 3, 8192), 0);
	expect_tag(&r, t);
	ck_assert_int_eq(mv_uring_clear(t, 3), 0);
	expect_tag(&r, t);
	teardown(&r, t);
}
END_TEST

START_TEST(an_io_in_flight_holds_the_slot_until_its_completion_is_reaped)
{
	struct io_uring r;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { 5, 0 };
	mv_uring_slot_info si = MV_URING_SLOT_INFO_INIT;
	mv_uring_result res = MV_URING_RESULT_INIT;
	mv_uring *t;
	mv_view v;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ring_up(&r, 8);
	t = table_up(&r, 2);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 4096), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	/* A read from an empty pipe stays in flight until the pipe has data. */
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, p[0], &v, (uint64_t)-1, 5), 0);
	ck_assert_int_eq(io_uring_submit(&r), 1);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_uring_get_slot_info(&si, t, 0), 0);
	ck_assert_int_eq(si.views, 0);
	ck_assert_int_eq(si.inflight, 1);
	ck_assert_mv_err(mv_uring_clear(t, 0), EBUSY, "held by 0 views and 1 I/O in flight");
	ck_assert_mv_err(mv_uring_alloc(t, 0, 4096), EBUSY, "1 I/O in flight");
	ck_assert_mv_err(mv_uring_unregister(t), EBUSY, "1 I/O in flight");
	ck_assert_mv_err(mv_uring_free(t), EBUSY, "1 I/O in flight");
	ck_assert_int_eq(write(p[1], "hello", 5), 5);
	ck_assert_int_eq(io_uring_wait_cqe_timeout(&r, &cqe, &ts), 0);
	/* Completed in the kernel but not reaped through memview: still held. */
	ck_assert_mv_err(mv_uring_clear(t, 0), EBUSY, "1 I/O in flight");
	ck_assert_int_eq(mv_uring_complete(&res, t, cqe), MV_URING_CQE_IO);
	io_uring_cqe_seen(&r, cqe);
	ck_assert_int_eq(res.res, 5);
	ck_assert_uint_eq(res.cookie, 5);
	ck_assert_int_eq(memcmp(slot_addr(t, 0), "hello", 5), 0);
	ck_assert_int_eq(mv_uring_clear(t, 0), 0);
	expect_tag(&r, t);
	teardown(&r, t);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(replaced_memory_is_released_only_after_its_tag_completion)
{
	struct io_uring r;
	mv_uring_info info = MV_URING_INFO_INIT;
	mv_uring *t;
	void *mem;

	released = 0;
	ck_assert_int_eq(posix_memalign(&mem, 4096, 8192), 0);
	ring_up(&r, 8);
	t = table_up(&r, 2);
	ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
	ck_assert_uint_ne(info.features & MV_URING_FEATURE_TAGS, 0);
	ck_assert_int_eq(mv_uring_wrap(t, 0, mem, 8192, 0, on_release, &r), 0);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 4096), 0);
	/* The kernel has posted the tag, but until memview sees it the memory stays lent. */
	ck_assert_int_eq(released, 0);
	ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
	ck_assert_uint_eq(info.pending_tags, 1);
	ck_assert_uint_eq(info.used, 1);
	ck_assert_uint_eq(info.bytes, 4096);
	expect_tag(&r, t);
	ck_assert_int_eq(released, 1);
	ck_assert_ptr_eq(released_mem, mem);
	ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
	ck_assert_uint_eq(info.pending_tags, 0);
	teardown(&r, t);
	free(mem);
}
END_TEST

START_TEST(unregistering_empties_every_slot_and_the_tags_follow)
{
	struct io_uring r;
	mv_uring_info info = MV_URING_INFO_INIT;
	mv_uring *t, *t2;
	mv_view v;

	ring_up(&r, 8);
	t = table_up(&r, 4);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 4096), 0);
	ck_assert_int_eq(mv_uring_alloc(t, 2, 65536), 0);
	ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
	ck_assert_uint_eq(info.used, 2);
	ck_assert_uint_eq(info.bytes, 4096 + 65536);
	ck_assert_int_eq(mv_uring_unregister(t), 0);
	ck_assert_int_eq(mv_uring_unregister(t), 0);
	ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
	ck_assert_int_eq(info.registered, 0);
	ck_assert_uint_eq(info.used, 0);
	ck_assert_uint_eq(info.pending_tags, 2);
	ck_assert_mv_err(mv_view_from(&v, mv_uring_exporter(t, 2), 0), EINVAL, "unregistered");
	ck_assert_mv_err(mv_uring_alloc(t, 1, 4096), EBADF, "unregistered");
	/* The ring is free for another table at once. */
	t2 = table_up(&r, 1);
	expect_tag(&r, t);
	expect_tag(&r, t);
	ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
	ck_assert_uint_eq(info.pending_tags, 0);
	ck_assert_int_eq(mv_uring_free(t), 0);
	teardown(&r, t2);
}
END_TEST

/*
 * The kernel may use a registered buffer until its tag completion says it is done: a table freed
 * before the tags came keeps their memory (a wrap's callback is not called) until
 * mv_uring_complete() sees each tag, with whatever table, NULL included.
 */
START_TEST(free_keeps_what_waits_for_tags_until_the_tags_come)
{
	struct io_uring r;
	mv_uring *t;
	void *mem;

	released = 0;
	ck_assert_int_eq(posix_memalign(&mem, 4096, 4096), 0);
	ring_up(&r, 8);
	t = table_up(&r, 2);
	ck_assert_int_eq(mv_uring_wrap(t, 0, mem, 4096, 0, on_release, NULL), 0);
	ck_assert_int_eq(mv_uring_alloc(t, 1, 4096), 0);
	ck_assert_int_eq(mv_uring_free(t), 0);
	ck_assert_int_eq(released, 0);
	ck_assert_int_eq(mv_uring_free(NULL), 0);
	/* The two tags of the unregistration, seen with no table: now the memory goes. */
	expect_tag(&r, NULL);
	expect_tag(&r, NULL);
	ck_assert_int_eq(released, 1);
	ck_assert_ptr_eq(released_mem, mem);
	io_uring_queue_exit(&r);
	free(mem);
}
END_TEST

START_TEST(completions_are_sorted_into_foreign_memview_and_double)
{
	struct io_uring r;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe fake;
	mv_uring_result res = MV_URING_RESULT_INIT;
	mv_uring *t;
	mv_view v;
	int fd = pattern_file(16);

	ring_up(&r, 8);
	t = table_up(&r, 1);
	/* The caller's own request. */
	sqe = io_uring_get_sqe(&r);
	if (!sqe)
		ck_abort_msg("no submission queue entry");
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 0x12345678);
	res.res = -12345;
	ck_assert_int_eq(next_completion(&r, t, &res), MV_URING_CQE_FOREIGN);
	ck_assert_int_eq(res.res, -12345);
	/* A memview I/O, and its completion passed a second time. */
	ck_assert_int_eq(mv_uring_alloc(t, 0, 16), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	ck_assert_int_eq(mv_uring_prep_read_fixed(&sqe, t, fd, &v, 0, 77), 0);
	ck_assert_uint_eq(sqe->user_data >> 56, MV_URING_USER_DATA_MAGIC);
	fake.user_data = sqe->user_data;
	fake.res = 16;
	fake.flags = 0;
	ck_assert_mv_err(mv_uring_complete(&res, NULL, &fake), EINVAL, "another table");
	ck_assert_int_eq(expect_io(&r, t).res, 16);
	ck_assert_mv_err(mv_uring_complete(&res, t, &fake), EINVAL, "passed twice");
	ck_assert_mv_err(mv_uring_complete(&res, t, NULL), EINVAL, "cqe");
	mv_view_release(&v);
	ck_assert_int_eq(mv_uring_clear(t, 0), 0);
	expect_tag(&r, t);
	teardown(&r, t);
	close(fd);
}
END_TEST

/*
 * A completion passed twice while another I/O of the same slot is still in flight must not drop
 * that I/O's hold: counting I/Os per slot cannot tell the two apart, request numbers can. Until
 * the second I/O completes the slot is held, so it cannot be cleared under the kernel.
 */
START_TEST(a_completion_passed_twice_does_not_drop_another_ios_hold)
{
	struct io_uring r;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe first;
	struct io_uring_cqe *cqe;
	mv_uring_result res = MV_URING_RESULT_INIT;
	mv_uring_slot_info si = MV_URING_SLOT_INFO_INIT;
	mv_uring *t;
	mv_view v;
	int fd = pattern_file(16), p[2];
	char c;

	ck_assert_int_eq(pipe(p), 0);
	ring_up(&r, 8);
	t = table_up(&r, 1);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 4096), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	/* One read that completes now, one from an empty pipe that waits. */
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &v, 0, 1), 0);
	io_uring_submit(&r);
	ck_assert_int_eq(io_uring_wait_cqe(&r, &cqe), 0);
	first = *cqe;
	io_uring_cqe_seen(&r, cqe);
	ck_assert_int_eq(mv_uring_prep_read_fixed(&sqe, t, p[0], &v, (uint64_t)-1, 2), 0);
	io_uring_submit(&r);
	ck_assert_int_eq(mv_uring_complete(&res, t, &first), MV_URING_CQE_IO);
	ck_assert_uint_eq(res.cookie, 1);
	ck_assert_mv_err(mv_uring_complete(&res, t, &first), EINVAL, "passed twice");
	mv_view_release(&v);
	ck_assert_int_eq(mv_uring_get_slot_info(&si, t, 0), 0);
	ck_assert_int_eq(si.inflight, 1);
	ck_assert_mv_err(mv_uring_clear(t, 0), EBUSY, "in flight");
	/* The pipe read completes: now nothing holds the slot. */
	c = 'x';
	ck_assert_int_eq(write(p[1], &c, 1), 1);
	res = (mv_uring_result)MV_URING_RESULT_INIT;
	ck_assert_int_eq(expect_io(&r, t).cookie, 2);
	ck_assert_int_eq(mv_uring_clear(t, 0), 0);
	expect_tag(&r, t);
	teardown(&r, t);
	close(fd);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(a_full_submission_queue_is_refused_without_taking_the_slot)
{
	struct io_uring r;
	mv_uring_slot_info si = MV_URING_SLOT_INFO_INIT;
	mv_uring *t;
	mv_view v;
	int fd = pattern_file(4096), i;

	ring_up(&r, 2);
	t = table_up(&r, 1);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 4096), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &v, 0, 1), 0);
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &v, 0, 2), 0);
	ck_assert_mv_err(mv_uring_prep_read_fixed(NULL, t, fd, &v, 0, 3), EAGAIN, "full");
	ck_assert_int_eq(mv_uring_get_slot_info(&si, t, 0), 0);
	ck_assert_int_eq(si.inflight, 2);
	ck_assert_int_eq(si.views, 1);
	io_uring_submit(&r);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(expect_io(&r, t).res, 4096);
	mv_view_release(&v);
	teardown(&r, t);
	close(fd);
}
END_TEST

/* The end of a test of view @v of slot 0 reading @fd: slot emptied, tag reaped, all closed. */
static void release_clear_teardown(struct io_uring *r, mv_uring *t, mv_view *v, int fd)
{
	mv_view_release(v);
	ck_assert_int_eq(mv_uring_clear(t, 0), 0);
	expect_tag(r, t);
	teardown(r, t);
	close(fd);
}

/*
 * More I/Os in flight than one batch of request numbers (1024): numbers are made as needed,
 * every completion gives its cookie back once, and the counts come back to zero.
 */
START_TEST(more_ios_than_one_batch_of_request_numbers)
{
	enum { N = 2500 };
	struct io_uring r;
	struct io_uring_cqe *cqe;
	mv_uring_info info = MV_URING_INFO_INIT;
	mv_uring_result res = MV_URING_RESULT_INIT;
	static unsigned char seen[N];
	mv_uring *t;
	mv_view v;
	int fd = pattern_file(64), i, round;

	ring_up(&r, 4096);
	t = table_up(&r, 1);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 64), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	/* Twice: the second round takes the numbers the first gave back. */
	for (round = 0; round < 2; round++) {
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < N; i++)
			ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &v, 0, (uint32_t)i),
					 0);
		ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
		ck_assert_int_eq(info.inflight, N);
		ck_assert_int_eq(info.views, 1);
		ck_assert_int_eq(io_uring_submit_and_wait(&r, N), N);
		for (i = 0; i < N; i++) {
			ck_assert_int_eq(io_uring_peek_cqe(&r, &cqe), 0);
			ck_assert_int_eq(mv_uring_complete(&res, t, cqe), MV_URING_CQE_IO);
			io_uring_cqe_seen(&r, cqe);
			ck_assert_int_eq(res.res, 64);
			ck_assert_uint_lt(res.cookie, N);
			ck_assert_int_eq(seen[res.cookie]++, 0);
		}
		ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
		ck_assert_int_eq(info.inflight, 0);
	}
	check_pattern(slot_addr(t, 0), 64, 0);
	release_clear_teardown(&r, t, &v, fd);
}
END_TEST

/* Completions passed by two threads at once, each of them every completion. */
struct twice_arg {
	mv_uring *t;
	const struct io_uring_cqe *cqes;
	int *taken; /* per cookie - 1, counted atomically */
	int n, io, refused, other;
};

static void *complete_all(void *p)
{
	struct twice_arg *a = p;
	int i;

	for (i = 0; i < a->n; i++) {
		mv_uring_result res = MV_URING_RESULT_INIT;
		int rc = mv_uring_complete(&res, a->t, &a->cqes[i]);

		if (rc == MV_URING_CQE_IO && res.cookie >= 1 && res.cookie <= (uint32_t)a->n &&
		    res.res == 4096) {
			__atomic_fetch_add(&a->taken[res.cookie - 1], 1, __ATOMIC_RELAXED);
			a->io++;
		} else if (rc == -EINVAL && strstr(mv_errmsg(), "passed twice"))
			a->refused++;
		else
			a->other++;
	}
	return NULL;
}

/*
 * Prepared while the process has one thread, completed by two threads that both pass every
 * completion: each completion is taken exactly once, the slot's hold comes back to the view
 * alone, and the request numbers given back from both threads serve the next I/Os.
 */
START_TEST(completions_passed_twice_from_two_threads_are_taken_once)
{
	enum { N = 200 };
	struct io_uring r;
	struct io_uring_cqe *cqe;
	static struct io_uring_cqe cqes[N];
	static int taken[N];
	struct twice_arg a[2];
	mv_uring_slot_info si = MV_URING_SLOT_INFO_INIT;
	mv_uring_result res = MV_URING_RESULT_INIT;
	pthread_t th[2];
	mv_uring *t;
	mv_view v;
	int fd = pattern_file(4096), i, k, round;

	ring_up(&r, 256);
	t = table_up(&r, 1);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 4096), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < N; i++)
			ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &v, 0,
								  (uint32_t)i + 1), 0);
		ck_assert_int_eq(io_uring_submit_and_wait(&r, N), N);
		for (i = 0; i < N; i++) {
			ck_assert_int_eq(io_uring_peek_cqe(&r, &cqe), 0);
			cqes[i] = *cqe;
			io_uring_cqe_seen(&r, cqe);
		}
		memset(taken, 0, sizeof(taken));
		for (k = 0; k < 2; k++) {
			a[k] = (struct twice_arg){ .t = t, .cqes = cqes, .taken = taken, .n = N };
			ck_assert_int_eq(pthread_create(&th[k], NULL, complete_all, &a[k]), 0);
		}
		for (k = 0; k < 2; k++)
			pthread_join(th[k], NULL);
		ck_assert_int_eq(a[0].other + a[1].other, 0);
		ck_assert_int_eq(a[0].io + a[1].io, N);
		ck_assert_int_eq(a[0].refused + a[1].refused, N);
		for (i = 0; i < N; i++)
			ck_assert_int_eq(taken[i], 1);
		ck_assert_int_eq(mv_uring_get_slot_info(&si, t, 0), 0);
		ck_assert_int_eq(si.inflight, 0);
		ck_assert_int_eq(si.views, 1);
		ck_assert_mv_err(mv_uring_clear(t, 0), EBUSY, "held by 1 view and 0 I/Os");
	}
	/* And once more from this thread, now that the process has had threads. */
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &v, 0, 9), 0);
	res = expect_io(&r, t);
	ck_assert_uint_eq(res.cookie, 9);
	ck_assert_int_eq(res.res, 4096);
	release_clear_teardown(&r, t, &v, fd);
}
END_TEST

/* Threads taking and releasing views of slot 0 while the main thread replaces it. */
struct racer {
	mv_uring *t;
	int stop;
	int gap_after_refusal; /* under valgrind: see the test */
	long views, refused;
	int bad;
};

static void *race_views(void *arg)
{
	static const struct timespec gap = { 0, 20000 };
	struct racer *rc = arg;

	while (!__atomic_load_n(&rc->stop, __ATOMIC_ACQUIRE)) {
		mv_view v;
		int r = mv_view_from(&v, mv_uring_exporter(rc->t, 0), MV_BUF_WRITABLE);

		if (r == 0) {
			unsigned char *p = mv_view_ptr(&v);

			/* While the view lives the slot's memory is there and stays there. */
			if (mv_view_nbytes(&v) != 4096 && mv_view_nbytes(&v) != 8192)
				rc->bad = 1;
			p[0] = 1;
			p[mv_view_nbytes(&v) - 1] = 2;
			mv_view_release(&v);
			__atomic_add_fetch(&rc->views, 1, __ATOMIC_RELAXED);
			/* Leave gaps, or the slot is never free to replace on two CPUs. */
			nanosleep(&gap, NULL);
		} else if (r == -EBUSY || r == -EINVAL) {
			rc->refused++; /* being replaced, or empty */
			if (rc->gap_after_refusal)
				nanosleep(&gap, NULL);
		} else {
			rc->bad = 1;
		}
	}
	return NULL;
}

static long views_taken(struct racer *rc)
{
	return __atomic_load_n(&rc[0].views, __ATOMIC_RELAXED) +
	       __atomic_load_n(&rc[1].views, __ATOMIC_RELAXED);
}

START_TEST(views_taken_from_threads_race_safely_with_replacement)
{
	struct io_uring r;
	struct racer rc[2];
	pthread_t th[2];
	mv_uring *t;
	int i, k, replaced = 0;
	/*
	 * A refused view request is counted while it is refused, so replacing an empty slot fails
	 * while one is in progress. Valgrind runs one thread at a time and can switch in that
	 * window, so two racers that retry at once keep the slot busy for good: under valgrind
	 * they pause after refusals too, and fewer rounds are enough.
	 */
	const int enough = (int)mv_test_rounds(100, 5);

	ring_up(&r, 8);
	t = table_up(&r, 1);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 4096), 0);
	for (k = 0; k < 2; k++) {
		memset(&rc[k], 0, sizeof(rc[k]));
		rc[k].t = t;
		rc[k].gap_after_refusal = mv_test_under_valgrind();
		ck_assert_int_eq(pthread_create(&th[k], NULL, race_views, &rc[k]), 0);
	}
	/* Until both sides have done enough, whatever the scheduler does. */
	for (i = 0; i < 200000 && (replaced < enough || views_taken(rc) < enough); i++) {
		int res = i % 3 == 2 ? mv_uring_clear(t, 0) : mv_uring_alloc(t, 0, i % 2 ? 8192 : 4096);

		if (res == 0) {
			replaced++;
		} else {
			ck_assert_msg(res == -EBUSY, "%d %s", res, mv_errmsg());
			ck_assert_ptr_nonnull(strstr(mv_errmsg(), "held by"));
		}
		/* The tag of the replaced buffer, if there was one. */
		for (;;) {
			mv_uring_info info = MV_URING_INFO_INIT;

			ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
			if (!info.pending_tags)
				break;
			expect_tag(&r, t);
		}
	}
	for (k = 0; k < 2; k++) {
		__atomic_store_n(&rc[k].stop, 1, __ATOMIC_RELEASE);
		pthread_join(th[k], NULL);
		ck_assert_int_eq(rc[k].bad, 0);
	}
	ck_assert_int_ge(replaced, enough);
	ck_assert_int_ge(views_taken(rc), enough);
	teardown(&r, t);
}
END_TEST

/* ------------------------------------------------------------------ readonly rules */

START_TEST(a_readonly_view_can_be_written_out_but_not_read_into)
{
	struct io_uring r;
	mv_uring *t;
	mv_view v, ro;
	unsigned char back[8];
	int fd = pattern_file(8);

	ring_up(&r, 8);
	t = table_up(&r, 1);
	ck_assert_int_eq(mv_uring_alloc(t, 0, 8), 0);
	memcpy(slot_addr(t, 0), "ABCDEFGH", 8);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	ck_assert_int_eq(mv_view_toreadonly(&ro, &v), 0);
	ck_assert_mv_err(mv_uring_prep_read_fixed(NULL, t, fd, &ro, 0, 0), EROFS,
			 "cannot read into a readonly view");
	ck_assert_int_eq(mv_uring_prep_write_fixed(NULL, t, fd, &ro, 0, 0), 0);
	ck_assert_int_eq(expect_io(&r, t).res, 8);
	ck_assert_int_eq(pread(fd, back, 8, 0), 8);
	ck_assert_int_eq(memcmp(back, "ABCDEFGH", 8), 0);
	mv_view_release(&ro);
	mv_view_release(&v);
	teardown(&r, t);
	close(fd);
}
END_TEST

START_TEST(readonly_wrapped_memory_gives_readonly_views)
{
	struct io_uring r;
	mv_uring *t;
	mv_view v;
	void *mem;
	int fd = pattern_file(4096);

	ck_assert_int_eq(posix_memalign(&mem, 4096, 4096), 0);
	memset(mem, 'z', 4096);
	ring_up(&r, 8);
	t = table_up(&r, 1);
	ck_assert_int_eq(mv_uring_wrap(t, 0, mem, 4096, 1, NULL, NULL), 0);
	ck_assert_mv_err(mv_view_from(&v, mv_uring_exporter(t, 0), MV_BUF_WRITABLE), EROFS,
			 "not writable");
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	ck_assert_int_eq(mv_view_readonly(&v), 1);
	ck_assert_mv_err(mv_uring_prep_read_fixed(NULL, t, fd, &v, 0, 0), EROFS, "readonly");
	ck_assert_int_eq(mv_uring_prep_write_fixed(NULL, t, fd, &v, 100, 0), 0);
	ck_assert_int_eq(expect_io(&r, t).res, 4096);
	mv_view_release(&v);
	ck_assert_int_eq(mv_uring_clear(t, 0), 0);
	expect_tag(&r, t);
	teardown(&r, t);
	free(mem);
	close(fd);
}
END_TEST

START_TEST(mappings_the_kernel_would_refuse_or_misuse_are_refused)
{
	struct io_uring r;
	mv_uring_info info = MV_URING_INFO_INIT;
	mv_uring *t;
	void *ro, *priv, *filemap, *hole;
	unsigned char residency[2];
	int mfd = memfd_create("mv-test", MFD_CLOEXEC), ffd = pattern_file(8192);

	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, 8192), 0);
	ring_up(&r, 8);
	t = table_up(&r, 1);
	ro = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	priv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	filemap = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, ffd, 0);
	ck_assert(ro != MAP_FAILED && priv != MAP_FAILED && filemap != MAP_FAILED);
	/*
	 * Unmapped memory: an address below every mapping a process makes. (A page unmapped out of
	 * a mapping of ours would not do: the allocator, ASan's too, may map it again at once.)
	 */
	hole = (void *)(uintptr_t)0x20000;
	ck_assert_msg(mincore(hole, 8192, residency) < 0 && errno == ENOMEM, "0x20000 is mapped");
	ck_assert_mv_err(mv_uring_wrap(t, 0, ro, 8192, 1, NULL, NULL), EROFS,
			 "without write permission");
	ck_assert_mv_err(mv_uring_wrap(t, 0, priv, 8192, 0, NULL, NULL), EINVAL, "MAP_PRIVATE");
	ck_assert_mv_err(mv_uring_wrap(t, 0, filemap, 8192, 0, NULL, NULL), ENOTSUP,
			 "regular file");
	ck_assert_mv_err(mv_uring_wrap(t, 0, hole, 8192, 0, NULL, NULL), EFAULT, "not all mapped");
	ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
	ck_assert_uint_eq(info.used, 0);
	teardown(&r, t);
	munmap(ro, 8192);
	munmap(priv, 8192);
	munmap(filemap, 8192);
	close(mfd);
	close(ffd);
}
END_TEST

START_TEST(a_readonly_segment_cannot_be_attached)
{
	char name[96];
	struct io_uring r;
	mv_uring *t;
	mv_segment *seg, *ro;
	mv_segment_opts opts = MV_SEGMENT_OPTS_INIT;

	mv_test_name(name, sizeof(name), "uring");
	ck_assert_int_eq(mv_segment_create(&seg, name, 8192, NULL), 0);
	opts.flags = MV_SEGMENT_READONLY;
	ck_assert_int_eq(mv_segment_open(&ro, name, &opts), 0);
	ring_up(&r, 8);
	t = table_up(&r, 1);
	ck_assert_mv_err(mv_uring_attach(t, 0, mv_segment_exporter(ro), 0, 0), EROFS,
			 "cannot register readonly memory");
	ck_assert_int_eq(mv_exporter_exports(mv_segment_exporter(ro)), 0);
	teardown(&r, t);
	ck_assert_int_eq(mv_segment_close(ro), 0);
	ck_assert_int_eq(mv_segment_close(seg), 0);
	mv_segment_unlink(name, 0);
}
END_TEST

/* ------------------------------------------------------------------ resources and arguments */

/* In a child: exit 0 when @call returned @err with @needle in the message, else say why. */
#define CHILD_EXPECT(call, err, needle)                                                     \
	do {                                                                                \
		int _r = (call);                                                            \
		if (_r != -(err) || !strstr(mv_errmsg(), (needle))) {                       \
			fprintf(stderr, "%s returned %d (%s), expected %d with \"%s\"\n", #call, \
				_r, mv_errmsg(), -(err), (needle));                         \
			_exit(1);                                                           \
		}                                                                           \
	} while (0)

static int child_status(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "child died with signal %d", WTERMSIG(st));
	return WEXITSTATUS(st);
}

/*
 * Lose CAP_IPC_LOCK so that RLIMIT_MEMLOCK applies. As root, become a user of our own: the
 * locked-memory count is per user, and other processes of this user may hold some.
 */
static void lose_ipc_lock(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uid_t uid = (uid_t)(0x6d760000u + ((unsigned)getpid() & 0xffffu));

	if (geteuid() == 0 && setresgid(uid, uid, uid) == 0 && setresuid(uid, uid, uid) == 0)
		return; /* leaving uid 0 clears the effective capabilities */
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) == 0) {
		d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
		syscall(SYS_capset, &h, d);
	}
}

START_TEST(memlock_exhaustion_names_the_limit_and_how_to_raise_it)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { 128 * 1024, 128 * 1024 };
		struct io_uring r;
		mv_uring *t;
		int rc;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		lose_ipc_lock();
		if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0) {
			perror("setrlimit");
			_exit(2);
		}
		if ((rc = mv_uring_queue_init(&r, 4, 0)) < 0 || (rc = mv_uring_new(&t, &r, 2)) < 0) {
			fprintf(stderr, "setup: %d %s\n", rc, mv_errmsg());
			_exit(3);
		}
		CHILD_EXPECT(mv_uring_alloc(t, 0, 1 << 20), ENOMEM, "RLIMIT_MEMLOCK (128 KiB");
		CHILD_EXPECT(mv_uring_alloc(t, 0, 1 << 20), ENOMEM, "ulimit -l");
		CHILD_EXPECT(mv_uring_alloc(t, 0, 1 << 20), ENOMEM, "limits.conf");
		CHILD_EXPECT(mv_uring_alloc(t, 0, 1 << 20), ENOMEM, "CAP_IPC_LOCK");
		if ((rc = mv_uring_alloc(t, 0, 8192)) < 0) {
			fprintf(stderr, "a small buffer within the limit: %d %s\n", rc, mv_errmsg());
			_exit(4);
		}
		_exit(mv_uring_free(t) == 0 ? 0 : 5);
	}
	ck_assert_int_eq(child_status(pid), 0);
}
END_TEST

/* In a child: make io_uring_setup fail with @err, as a seccomp policy does. */
static void block_io_uring_setup(int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("seccomp");
		_exit(2);
	}
}

START_TEST(a_blocked_io_uring_setup_is_explained_not_crashed)
{
	static const struct {
		int err;
		const char *needle;
	} cases[] = {
		{ ENOSYS, "io_uring is not available" },
		{ EPERM, "kernel.io_uring_disabled" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct io_uring r;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			block_io_uring_setup(cases[i].err);
			CHILD_EXPECT(mv_uring_queue_init(&r, 4, 0), cases[i].err, cases[i].needle);
			_exit(0);
		}
		ck_assert_msg(child_status(pid) == 0, "case %s", strerror(cases[i].err));
	}
}
END_TEST

START_TEST(bad_arguments_are_refused_with_their_errno)
{
	struct io_uring r;
	mv_uring *t, *t2;
	mv_view v;

	ring_up(&r, 8);
	ck_assert_mv_err(mv_uring_new(&t, &r, 0), EINVAL, "1 to 16384 slots");
	ck_assert_mv_err(mv_uring_new(&t, &r, MV_URING_MAX_SLOTS + 1), EINVAL, "not 16385");
	ck_assert_mv_err(mv_uring_new(NULL, &r, 1), EINVAL, "out");
	ck_assert_mv_err(mv_uring_new(&t, NULL, 1), EINVAL, "ring");
	t = table_up(&r, 2);
	ck_assert_mv_err(mv_uring_new(&t2, &r, 1), EBUSY, "one table per ring");
	ck_assert_mv_err(mv_uring_alloc(t, 2, 4096), ERANGE, "index 2 out of range");
	ck_assert_mv_err(mv_uring_clear(t, 7), ERANGE, "2 slots");
	ck_assert_mv_err(mv_uring_alloc(t, 0, 0), EINVAL, "cannot be empty");
	ck_assert_mv_err(mv_uring_alloc(t, 0, MV_URING_MAX_SLOT_SIZE + 1), EINVAL, "1 GiB");
	ck_assert_mv_err(mv_uring_alloc(NULL, 0, 1), EINVAL, "t");
	ck_assert_mv_err(mv_uring_wrap(t, 0, NULL, 1, 0, NULL, NULL), EINVAL, "mem");
	ck_assert_mv_err(mv_uring_attach(t, 0, NULL, 0, 0), EINVAL, "exp");
	ck_assert_ptr_null(mv_uring_exporter(t, 2));
	ck_assert_ptr_null(mv_uring_exporter(NULL, 0));
	ck_assert_mv_err(mv_view_from(&v, mv_uring_exporter(t, 1), 0), EINVAL, "slot 1 is empty");
	ck_assert_int_eq(mv_uring_clear(t, 1), 0);
	ck_assert_mv_err(mv_uring_unregister(NULL), EINVAL, "t");
	teardown(&r, t);
}
END_TEST

START_TEST(attached_ranges_are_checked_against_the_exporter)
{
	struct io_uring r;
	mv_uring *t;
	mv_heap *h, *ro;
	mv_view v;
	mv_uring_slot_info si = MV_URING_SLOT_INFO_INIT;

	ring_up(&r, 8);
	t = table_up(&r, 2);
	ck_assert_int_eq(mv_heap_bytearray_new(&h, NULL, 10000), 0);
	ck_assert_int_eq(mv_heap_bytes_new(&ro, NULL, 100), 0);
	ck_assert_mv_err(mv_uring_attach(t, 0, mv_heap_exporter(ro), 0, 0), EROFS, "readonly");
	ck_assert_mv_err(mv_uring_attach(t, 0, mv_heap_exporter(h), 10001, 0), EINVAL, "beyond");
	ck_assert_mv_err(mv_uring_attach(t, 0, mv_heap_exporter(h), 5000, 6000), EINVAL, "outside");
	ck_assert_int_eq(mv_exporter_exports(mv_heap_exporter(h)), 0);
	/* A bytearray attached cannot be resized while registered. */
	ck_assert_int_eq(mv_uring_attach(t, 0, mv_heap_exporter(h), 100, 0), 0);
	ck_assert_int_eq(mv_uring_get_slot_info(&si, t, 0), 0);
	ck_assert_int_eq(si.kind, MV_URING_SLOT_ATTACH);
	ck_assert_ptr_eq(si.addr, (char *)mv_heap_data(h) + 100);
	ck_assert_uint_eq(si.len, 9900);
	ck_assert_int_eq(si.shared, 0);
	ck_assert_int_eq(mv_heap_resize(h, 20), -EBUSY);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	ck_assert_int_eq(mv_view_nbytes(&v), 9900);
	mv_view_release(&v);
	ck_assert_int_eq(mv_uring_clear(t, 0), 0);
	ck_assert_int_eq(mv_heap_resize(h, 20), -EBUSY);
	expect_tag(&r, t);
	ck_assert_int_eq(mv_heap_resize(h, 20), 0);
	teardown(&r, t);
	mv_heap_free(h);
	mv_heap_free(ro);
}
END_TEST

/* ------------------------------------------------------------------ shared memory */

START_TEST(a_read_lands_in_a_segment_that_another_process_views_without_a_copy)
{
	char name[96];
	struct io_uring r;
	mv_uring_info info = MV_URING_INFO_INIT;
	mv_uring_slot_info si = MV_URING_SLOT_INFO_INIT;
	/* Static: the forked consumer _exits holding the parent's table, which memcheck would call
	 * lost if the only pointer to it were in a register the child reused. */
	static mv_uring *t;
	mv_segment *seg;
	mv_view v;
	pid_t pid;
	int fd = pattern_file(65536), rc;

	mv_test_name(name, sizeof(name), "uring");
	ck_assert_int_eq(mv_segment_create(&seg, name, 65536, NULL), 0);
	ring_up(&r, 8);
	t = table_up(&r, 2);
	ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
	rc = mv_uring_attach(t, 1, mv_segment_exporter(seg), 4096, 16384);
	if (!(info.features & MV_URING_FEATURE_SHM)) {
		/* Older kernels refuse shared memory: that must be said, not crash. */
		ck_assert_int_eq(rc, -ENOTSUP);
		ck_assert_ptr_nonnull(strstr(mv_errmsg(), "refuses to register shared memory"));
		fprintf(stderr, "note: this kernel does not register shared memory\n");
		goto out;
	}
	ck_assert_msg(rc == 0, "attach: %d %s", rc, mv_errmsg());
	ck_assert_int_eq(mv_uring_get_slot_info(&si, t, 1), 0);
	ck_assert_int_eq(si.shared, 1);
	ck_assert_ptr_eq(si.addr, (char *)mv_segment_data(seg) + 4096);
	/* The slot holds an export: the segment cannot close or shrink under the kernel. */
	ck_assert_mv_err(mv_segment_close(seg), EBUSY, "1 export");
	ck_assert_int_eq(mv_segment_resize(seg, 4096), -EBUSY);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 1), MV_BUF_WRITABLE), 0);
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &v, 8192, 0), 0);
	ck_assert_int_eq(expect_io(&r, t).res, 16384);
	mv_view_release(&v);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The consumer: its own mapping of the segment, a view, no copy. */
		mv_segment_opts opts = MV_SEGMENT_OPTS_INIT;
		mv_segment *cs;
		mv_view cv, part;
		const unsigned char *p;
		size_t i;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		opts.flags = MV_SEGMENT_READONLY;
		if (mv_segment_open(&cs, name, &opts) < 0 ||
		    mv_view_from(&cv, mv_segment_exporter(cs), 0) < 0 ||
		    mv_view_slice(&part, &cv, 4096, 4096 + 16384, 1) < 0) {
			fprintf(stderr, "consumer: %s\n", mv_errmsg());
			_exit(2);
		}
		p = mv_view_ptr(&part);
		for (i = 0; i < 16384; i++) {
			if (p[i] != pattern_byte(8192 + i)) {
				fprintf(stderr, "consumer: byte %zu differs\n", i);
				_exit(1);
			}
		}
		p = mv_view_ptr(&cv);
		for (i = 0; i < 4096; i++)
			if (p[i] != 0)
				_exit(3);
		mv_view_release(&part);
		mv_view_release(&cv);
		_exit(mv_segment_close(cs) == 0 ? 0 : 4);
	}
	ck_assert_int_eq(child_status(pid), 0);
	ck_assert_int_eq(mv_uring_clear(t, 1), 0);
	/* Until the tag is seen the segment stays exported. */
	ck_assert_int_eq(mv_segment_close(seg), -EBUSY);
	expect_tag(&r, t);
out:
	teardown(&r, t);
	ck_assert_int_eq(mv_segment_close(seg), 0);
	mv_segment_unlink(name, 0);
	close(fd);
}
END_TEST

START_TEST(a_memfd_segment_registers_whole)
{
	struct io_uring r;
	mv_uring_info info = MV_URING_INFO_INIT;
	mv_segment_opts opts = MV_SEGMENT_OPTS_INIT;
	mv_uring *t;
	mv_segment *seg;
	mv_view v;
	int fd = pattern_file(8192);

	opts.flags = MV_SEGMENT_MEMFD;
	ck_assert_int_eq(mv_segment_create(&seg, "mv-uring-test", 8192, &opts), 0);
	ring_up(&r, 8);
	t = table_up(&r, 1);
	ck_assert_int_eq(mv_uring_get_info(&info, t), 0);
	if (!(info.features & MV_URING_FEATURE_SHM)) {
		ck_assert_int_eq(mv_uring_attach(t, 0, mv_segment_exporter(seg), 0, 0),
				 -ENOTSUP);
		goto out;
	}
	ck_assert_int_eq(mv_uring_attach(t, 0, mv_segment_exporter(seg), 0, 0), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_uring_exporter(t, 0), 0), 0);
	ck_assert_int_eq(mv_view_nbytes(&v), 8192);
	ck_assert_int_eq(mv_uring_prep_read_fixed(NULL, t, fd, &v, 0, 0), 0);
	ck_assert_int_eq(expect_io(&r, t).res, 8192);
	check_pattern(mv_segment_data(seg), 8192, 0);
	mv_view_release(&v);
out:
	teardown(&r, t);
	ck_assert_int_eq(mv_segment_close(seg), 0);
	close(fd);
}
END_TEST

int main(void)
{
	struct io_uring r;
	mv_uring *t;
	Suite *s;
	TCase *tc;
	int rc;

	rc = mv_uring_queue_init(&r, 4, 0);
	if (rc == -ENOSYS || rc == -EPERM || rc == -ENOMEM)
		mv_test_skip("%s", mv_errmsg());
	if (rc < 0) {
		fprintf(stderr, "io_uring_queue_init: %s\n", mv_errmsg());
		return 1;
	}
	rc = mv_uring_new(&t, &r, 1);
	if (rc == -ENOTSUP)
		mv_test_skip("%s", mv_errmsg());
	if (rc == 0)
		mv_uring_free(t);
	io_uring_queue_exit(&r);

	s = suite_create("uring");
	tc = tcase_create("fixed I/O through views");
	tcase_add_test(tc, a_fixed_read_fills_a_slot_view_byte_for_byte);
	tcase_add_test(tc, a_read_into_a_slice_lands_at_its_offset_and_nowhere_else);
	tcase_add_test(tc, a_fixed_write_of_a_slice_writes_exactly_that_slice);
	tcase_add_test(tc, casts_and_slices_of_casts_are_located_and_read_into);
	tcase_add_test(tc, views_that_are_not_one_contiguous_piece_of_a_slot_are_refused);
	tcase_add_test(tc, wrapped_caller_memory_is_read_into_and_given_back_after_its_tag);
	suite_add_tcase(s, tc);
	tc = tcase_create("holding rules");
	tcase_add_test(tc, clear_replace_unregister_and_free_are_refused_while_a_view_holds_the_slot);
	tcase_add_test(tc, an_io_in_flight_holds_the_slot_until_its_completion_is_reaped);
	tcase_add_test(tc, replaced_memory_is_released_only_after_its_tag_completion);
	tcase_add_test(tc, unregistering_empties_every_slot_and_the_tags_follow);
	tcase_add_test(tc, free_keeps_what_waits_for_tags_until_the_tags_come);
	tcase_add_test(tc, completions_are_sorted_into_foreign_memview_and_double);
	tcase_add_test(tc, a_completion_passed_twice_does_not_drop_another_ios_hold);
	tcase_add_test(tc, a_full_submission_queue_is_refused_without_taking_the_slot);
	tcase_add_test(tc, views_taken_from_threads_race_safely_with_replacement);
	tcase_add_test(tc, more_ios_than_one_batch_of_request_numbers);
	tcase_add_test(tc, completions_passed_twice_from_two_threads_are_taken_once);
	suite_add_tcase(s, tc);
	tc = tcase_create("readonly");
	tcase_add_test(tc, a_readonly_view_can_be_written_out_but_not_read_into);
	tcase_add_test(tc, readonly_wrapped_memory_gives_readonly_views);
	tcase_add_test(tc, mappings_the_kernel_would_refuse_or_misuse_are_refused);
	tcase_add_test(tc, a_readonly_segment_cannot_be_attached);
	suite_add_tcase(s, tc);
	tc = tcase_create("resources and arguments");
	tcase_add_test(tc, memlock_exhaustion_names_the_limit_and_how_to_raise_it);
	tcase_add_test(tc, a_blocked_io_uring_setup_is_explained_not_crashed);
	tcase_add_test(tc, bad_arguments_are_refused_with_their_errno);
	tcase_add_test(tc, attached_ranges_are_checked_against_the_exporter);
	suite_add_tcase(s, tc);
	tc = tcase_create("shared memory");
	tcase_add_test(tc, a_read_lands_in_a_segment_that_another_process_views_without_a_copy);
	tcase_add_test(tc, a_memfd_segment_registers_whole);
	suite_add_tcase(s, tc);
	return mv_test_run(s);
}
