/*
 * tests/check_segment_hostile.c - segments against a peer that lies (issue 12). Every test is
 * written as the attacker would: a process of the same user (or root) that legitimately opened
 * the object read-write and writes the shared bytes - the header, the bytes where version 1 kept
 * its glibc mutex, the holder table, the header lock - before and while the victim, using only
 * the public API, works on the segment. The victim runs in a child where a fault would kill it:
 * SIGSEGV or SIGBUS there fails the test, as does any result but 0 or a clean negative errno.
 *
 * The peer knows the format only from mv_segment(3): the offsets below are the documented
 * ones, not lib/segment_layout.h's, so this file also builds against a library that predates
 * them (which is how each test was shown to fail before the fix).
 *
 * Issue 12's segment attacks 1 (the data offset), 2a (the old mutex's links), 5c (a squatted
 * name) and s2 (several descriptors in one message) live here; tests/check_hostile.c has the
 * rest and says which test here carries each.
 */
#define _GNU_SOURCE
#include "testlib.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MV_SEGMENT_ANY_OWNER
#define MV_SEGMENT_ANY_OWNER 0x10u
#endif

/* The header as mv_segment(3) documents it (format version 2). */
#define H_VERSION 8
#define H_DATA_OFFSET 16
#define H_DATA_SIZE 24
#define H_GENERATION 32
#define H_NDIM 44
#define H_CHECKSUMMED 600 /* bytes 0 to 599 */
#define H_CHECKSUM 600
#define H_SEQ 604
#define H_UNUSED 608      /* 64 bytes: version 1's robust mutex; ignored since */
#define H_HOLDERS 680     /* 64 slots of 24 bytes */
#define H_SIZE 2216
#define HEADER_LOCK_BYTE 4095
#define MAX_DATA_OFFSET (1u << 20)
#define PAGE 4096u

static char run_tag[32];

/* ------------------------------------------------------------------ names */

/* A fresh name of this run's; every test's names are swept after it (and after the run). */
static const char *new_name(void)
{
	static char buf[4][96];
	static unsigned n;
	char *b = buf[n++ % 4];

	mv_test_name(b, sizeof(buf[0]), run_tag);
	return b;
}

static void sweep_names(void)
{
	mv_test_sweep_names(run_tag);
}

/*
 * Before each test, in its own process: an alarm that ends it (and, by their parent-death
 * signal, its children) whatever hangs - a little before Check's timeout, scaled as Check's is -
 * and as root a /dev/shm of its own (a fresh tmpfs in a mount namespace of its own, inherited
 * by every child), so the peers' loops never touch other programs' objects.
 */
static void setup(void)
{
	const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
	int k = m ? atoi(m) : 1;

	alarm(55u * (unsigned)(k > 0 ? k : 1));
	if (geteuid() != 0)
		return;
	ck_assert_msg(unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS): %s", strerror(errno));
	ck_assert_msg(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0,
		      "mount --make-rprivate /: %s", strerror(errno));
	ck_assert_msg(mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") == 0,
		      "mount tmpfs on /dev/shm: %s", strerror(errno));
}

static void teardown(void)
{
	alarm(0);
	sweep_names();
}

/* ------------------------------------------------------------------ the peer's tools */

static uint64_t get64(const volatile unsigned char *h, size_t off)
{
	uint64_t v;

	memcpy(&v, (const unsigned char *)h + off, sizeof(v));
	return v;
}

static void put64(volatile unsigned char *h, size_t off, uint64_t v)
{
	memcpy((unsigned char *)h + off, &v, sizeof(v));
}

static void put32(volatile unsigned char *h, size_t off, uint32_t v)
{
	memcpy((unsigned char *)h + off, &v, sizeof(v));
}

/* A valid checksum for whatever the static part says: the peer can always compute it. */
static void reseal(volatile unsigned char *h)
{
	unsigned char copy[H_CHECKSUMMED];

	memcpy(copy, (const unsigned char *)h, sizeof(copy));
	put32(h, H_CHECKSUM,
	      (uint32_t)((uint64_t)mv_view_hash_bytes(copy, sizeof(copy)) & 0xffffffffu));
}

/* The peer's own read-write descriptor of @name, and its first @len bytes mapped. */
static unsigned char *peer_map(const char *name, size_t len, int *fdp)
{
	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	void *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void reap_ok(struct mv_test_child *c, const char *who);

/*
 * The victim (@victim_fn) opens @name and says 'R', then the peer (@peer_fn) starts and says
 * 'R'; the peer is killed when the victim has finished, and the victim must have exited 0.
 */
static void victim_against_peer(const char *name, mv_test_child_fn victim_fn,
				mv_test_child_fn peer_fn)
{
	struct mv_test_child victim, peer;

	victim = mv_test_spawn(victim_fn, name);
	ck_assert_int_gt(victim.pid, 0);
	ck_assert_int_eq(mv_test_read_byte(victim.from, 20000), 'R');
	peer = mv_test_spawn(peer_fn, name);
	ck_assert_int_gt(peer.pid, 0);
	ck_assert_int_eq(mv_test_read_byte(peer.from, 20000), 'R');
	ck_assert_int_eq(mv_test_read_byte(victim.from, 50000), -1); /* it exited */
	kill(peer.pid, SIGKILL);
	mv_test_reap(&peer);
	reap_ok(&victim, "the victim");
}

static void reap_ok(struct mv_test_child *c, const char *who)
{
	int st = mv_test_reap(c);

	ck_assert_msg(!WIFSIGNALED(st), "%s died of signal %d (%s)", who, WTERMSIG(st),
		      strsignal(WTERMSIG(st)));
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "%s ended with status 0x%x (see its stderr)", who, st);
}

/*
 * Whether [p, p + len) lies inside this process's mappings of the object open as @fd (by inode,
 * from /proc/self/maps): what every view of a segment must satisfy.
 */
static int inside_mapping(const void *p, size_t len, int fd)
{
	uintptr_t lo = (uintptr_t)p, hi = lo + len, cursor = lo;
	unsigned long long start, end, ino;
	char line[512];
	struct stat st;
	FILE *fp;

	if (fstat(fd, &st) < 0 || !(fp = fopen("/proc/self/maps", "re")))
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%llx-%llx %*s %*s %*s %llu", &start, &end, &ino) != 3 ||
		    ino != (unsigned long long)st.st_ino)
			continue;
		if (start <= cursor && cursor < end)
			cursor = (uintptr_t)end;
	}
	fclose(fp);
	return cursor >= hi;
}

/* ------------------------------------------------------------------ attack 1: the data offset */

#define D (64u * 1024u)

/*
 * A segment as a peer may legitimately make it: data at the largest offset a header may claim
 * (1 MiB), D bytes of it, each byte its offset's low bits.
 */
static void make_far_offset_segment(const char *name)
{
	mv_segment *s = NULL;
	unsigned char *h, *data;
	int fd;

	ck_assert_msg(mv_segment_create(&s, name, D, NULL) == 0, "%s", mv_errmsg());
	ck_assert_int_eq(mv_segment_close(s), 0);
	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)MAX_DATA_OFFSET + D), 0);
	h = mmap(NULL, MAX_DATA_OFFSET + D, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(h, MAP_FAILED);
	put64(h, H_DATA_OFFSET, MAX_DATA_OFFSET);
	reseal(h);
	data = h + MAX_DATA_OFFSET;
	for (unsigned i = 0; i < D; i++)
		data[i] = (unsigned char)(i * 13);
	munmap(h, MAX_DATA_OFFSET + D);
	close(fd);
}

/* The lie: the data starts at 4096 and runs to the end of the object; a new generation. */
static void lie_about_the_offset(volatile unsigned char *h, uint64_t gen)
{
	put64(h, H_DATA_OFFSET, PAGE);
	put64(h, H_DATA_SIZE, MAX_DATA_OFFSET + D - PAGE);
	put64(h, H_GENERATION, gen);
	reseal(h);
}

static void tell_the_truth(volatile unsigned char *h, uint64_t gen)
{
	put64(h, H_DATA_OFFSET, MAX_DATA_OFFSET);
	put64(h, H_DATA_SIZE, D);
	put64(h, H_GENERATION, gen);
	reseal(h);
}

/*
 * One round of what a victim does: remap, view, read the whole view, release. Every result is 0
 * or -EBADMSG; a view lies inside the mapping. Counts successes in *ok and refusals in *refused.
 */
static void victim_round(mv_segment *s, unsigned char *buf, int *ok, int *refused)
{
	mv_view v;
	ssize_t n;
	int rc;

	rc = mv_segment_remap(s);
	MV_TEST_CHECK(rc == 0 || rc == -EBADMSG);
	rc = mv_view_from(&v, mv_segment_exporter(s), 0);
	MV_TEST_CHECK(rc == 0 || rc == -EBADMSG);
	if (rc < 0) {
		MV_TEST_CHECK(*mv_errmsg() != '\0');
		++*refused;
		return;
	}
	n = mv_view_nbytes(&v);
	if (!inside_mapping(mv_view_ptr(&v), (size_t)n, mv_segment_fd(s))) {
		fprintf(stderr, "victim: a view of %zd bytes at %p runs outside the mapping\n", n,
			mv_view_ptr(&v));
		_exit(3);
	}
	MV_TEST_CHECK(n <= (ssize_t)(MAX_DATA_OFFSET + D));
	MV_TEST_CHECK(mv_view_tobytes(buf, MAX_DATA_OFFSET + D, &v, 'C') == n);
	MV_TEST_CHECK(mv_view_release(&v) == 0);
	++*ok;
}

static void victim_after_one_lie(int in, int out, const char *name)
{
	unsigned char *buf = malloc(MAX_DATA_OFFSET + D);
	mv_segment *s;
	int ok = 0, refused = 0;

	MV_TEST_CHECK(buf != NULL);
	MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
	victim_round(s, buf, &ok, &refused);
	MV_TEST_CHECK(ok == 1 && buf[1] == 13); /* the honest header: its data */
	mv_test_write_byte(out, 'R');
	MV_TEST_CHECK(mv_test_read_byte(in, 20000) == 'g');
	victim_round(s, buf, &ok, &refused); /* after the lie: refused, never followed */
	MV_TEST_CHECK(refused == 1);
	MV_TEST_CHECK(strstr(mv_errmsg(), "data offset") != NULL);
	victim_round(s, buf, &ok, &refused); /* and again: the lie is still there */
	MV_TEST_CHECK(refused == 2);
	mv_test_write_byte(out, 'L');
	MV_TEST_CHECK(mv_test_read_byte(in, 20000) == 't');
	victim_round(s, buf, &ok, &refused); /* the truth again: followed */
	MV_TEST_CHECK(ok == 2 && buf[1] == 13);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	free(buf);
}

START_TEST(a_header_that_moves_the_data_offset_is_refused_never_followed_past_the_mapping)
{
	const char *a = new_name();
	struct mv_test_child c;
	unsigned char *h;

	make_far_offset_segment(a);
	c = mv_test_spawn(victim_after_one_lie, a);
	ck_assert_int_gt(c.pid, 0);
	ck_assert_int_eq(mv_test_read_byte(c.from, 20000), 'R');
	h = peer_map(a, PAGE, NULL);
	ck_assert_ptr_nonnull(h);
	lie_about_the_offset(h, get64(h, H_GENERATION) + 1);
	mv_test_write_byte(c.to, 'g');
	if (mv_test_read_byte(c.from, 20000) == 'L') {
		tell_the_truth(h, get64(h, H_GENERATION) + 1);
		mv_test_write_byte(c.to, 't');
	}
	reap_ok(&c, "the victim");
	munmap(h, PAGE);
}
END_TEST

/* The victim works for as long as the peer lies, and says how it went. */
static void victim_under_fire(int in, int out, const char *name)
{
	unsigned char *buf = malloc(MAX_DATA_OFFSET + D);
	long long end = now_ns() + 1500000000LL;
	mv_segment *s;
	int ok = 0, refused = 0, rounds = 0;

	(void)in;
	MV_TEST_CHECK(buf != NULL);
	MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
	mv_test_write_byte(out, 'R');
	while (now_ns() < end || ok == 0 || refused == 0) {
		victim_round(s, buf, &ok, &refused);
		MV_TEST_CHECK(++rounds < 10000000);
	}
	fprintf(stderr, "victim: %d rounds under a lying peer: %d views, %d refused, 0 faults\n",
		rounds, ok, refused);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	free(buf);
}

/* Flip the header between the truth and lies, written as a peer writes: field by field, with
 * or without the seqlock, until killed. */
static void peer_lies_in_a_loop(int in, int out, const char *name)
{
	volatile unsigned char *h = peer_map(name, PAGE, NULL);
	uint64_t gen, i;

	(void)in;
	MV_TEST_CHECK(h != NULL);
	gen = get64(h, H_GENERATION);
	mv_test_write_byte(out, 'R');
	for (i = 0;; i++) {
		switch (i % 4) {
		case 0:
			lie_about_the_offset(h, ++gen);
			break;
		case 1: /* the truth, with a new generation: the victim remaps */
			tell_the_truth(h, ++gen);
			break;
		case 2: /* the lie inside the seqlock, as memview itself writes */
			put32(h, H_SEQ, (uint32_t)(2 * i + 1));
			lie_about_the_offset(h, ++gen);
			put32(h, H_SEQ, (uint32_t)(2 * i + 2));
			break;
		default: /* a larger size at the old offset, past the end of the object */
			put64(h, H_DATA_SIZE, (uint64_t)MAX_DATA_OFFSET + D);
			put64(h, H_GENERATION, ++gen);
			reseal(h);
			break;
		}
		/* Let each state stand for a moment (the victim sees all of them), or not at all. */
		if (i % 8 < 4)
			nanosleep(&(struct timespec){ 0, 100000 }, NULL);
	}
}

START_TEST(a_peer_rewriting_the_header_while_the_victim_works_never_makes_it_fault)
{
	const char *a = new_name();

	make_far_offset_segment(a);
	/* The victim exits when it has seen both views and refusals for 1.5 s. */
	victim_against_peer(a, victim_under_fire, peer_lies_in_a_loop);
}
END_TEST

/* ------------------------------------------------------------------ attack 2: the old mutex */

/*
 * Memory of the victim's that a peer aims at. Children forked from this program have it at the
 * same address, so the peer knows where it is, as an attacker who read a leaked pointer would.
 */
static volatile unsigned char canary[256];

/* How often the peer wrote its aim while the victim held the header lock (shared memory). */
static volatile uint64_t *aimed_under_lock;

/* Every free holder slot says "process 1, start time unknown": alive, never reclaimed. */
static void fill_free_slots_with_a_live_process(volatile unsigned char *h)
{
	uint32_t pid;
	size_t slot;

	for (slot = 0; slot < 64; slot++) {
		memcpy(&pid, (const unsigned char *)h + H_HOLDERS + 24 * slot, sizeof(pid));
		if (pid != 0)
			continue;
		put64(h, H_HOLDERS + 24 * slot + 8, 0);  /* start time: unknown */
		put64(h, H_HOLDERS + 24 * slot + 16, 0); /* exports */
		put32(h, H_HOLDERS + 24 * slot, 1);
	}
}

/*
 * Writes where version 1 kept its robust mutex - the robust-list pointers (bytes 24 to 39 of
 * the mutex on x86-64) aimed at the victim's canary - and garbage into the holder table, over and
 * over, until killed. Now and then it fills the table's free slots with a live process (pid 1):
 * every operation that tidies the table under the header lock then looks each one up in /proc,
 * which keeps the victim inside the lock longer. And it watches the header lock (F_OFD_GETLK on
 * its byte): whenever the victim holds it - the moment version 1's unlock would have followed
 * the links - it writes its aim again and counts it.
 */
static void peer_scribbles(int in, int out, const char *name)
{
	int fd = -1;
	volatile unsigned char *h = peer_map(name, PAGE, &fd);
	uint64_t aim = (uint64_t)(uintptr_t)&canary[128], r = 0x9e3779b97f4a7c15ull, i;
	struct flock fl;

	(void)in;
	MV_TEST_CHECK(h != NULL);
	mv_test_write_byte(out, 'R');
	for (i = 0;; i++) {
		put64(h, H_UNUSED + 24, aim);
		put64(h, H_UNUSED + 32, aim);
		if (i % 4096 == 0)
			fill_free_slots_with_a_live_process(h);
		if (i % 8 == 0) {
			fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET,
					     .l_start = HEADER_LOCK_BYTE, .l_len = 1 };
			if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
				put64(h, H_UNUSED + 24, aim);
				put64(h, H_UNUSED + 32, aim);
				__atomic_fetch_add(aimed_under_lock, 1, __ATOMIC_RELAXED);
			}
		}
		if (i % 16 == 0) {
			size_t slot = (size_t)(r % 64), k;

			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			for (k = 0; k < 24; k += 8)
				put64(h, H_HOLDERS + 24 * slot + k, r + k);
			if (i % 256 == 0) /* and the rest of the old mutex's bytes */
				for (k = 40; k < 64; k += 8)
					put64(h, H_UNUSED + k, r);
		}
	}
}

static void victim_resizes_and_opens(int in, int out, const char *name)
{
	mv_segment *s, *t;
	int i, rc, done = 0;
	long long end = now_ns() + 1000000000LL;

	(void)in;
	MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
	mv_test_write_byte(out, 'R');
	for (i = 0; now_ns() < end || i < 200; i++) {
		rc = mv_segment_resize(s, (size_t)(i % 2 ? 8192 : 65536));
		MV_TEST_CHECK(rc == 0);
		rc = mv_segment_open(&t, name, NULL);
		MV_TEST_CHECK(rc == 0);
		MV_TEST_CHECK(mv_segment_holders(NULL, 0, t) >= 0);
		MV_TEST_CHECK(mv_segment_close(t) == 0);
		for (size_t k = 0; k < sizeof(canary); k++)
			MV_TEST_CHECK(canary[k] == 0); /* no write where the peer aimed */
		done++;
	}
	fprintf(stderr, "victim: %d resizes and opens while the peer scribbled, canary intact\n",
		done);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
}

START_TEST(garbage_in_the_old_mutex_bytes_and_the_holder_table_touches_nothing_of_the_victims)
{
	const char *a = new_name();
	unsigned char *h;
	mv_segment *s = NULL;
	size_t k;

	ck_assert_int_eq(mv_segment_create(&s, a, 65536, NULL), 0);
	/* No pthread object in the header any more: the bytes version 1 kept its mutex in are
	 * zero (a robust mutex's kind is not) and nothing reads them. */
	h = peer_map(a, PAGE, NULL);
	ck_assert_ptr_nonnull(h);
	for (k = H_UNUSED; k < H_HOLDERS - 8; k++)
		ck_assert_msg(h[k] == 0, "header byte %zu is %u, not 0", k, h[k]);
	munmap(h, PAGE);
	ck_assert_int_eq(mv_segment_close(s), 0);
	aimed_under_lock = mmap(NULL, sizeof(*aimed_under_lock), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne((void *)aimed_under_lock, MAP_FAILED);
	victim_against_peer(a, victim_resizes_and_opens, peer_scribbles);
	/* The attack hit its window: the aim was there while the victim held the lock. */
	ck_assert_msg(*aimed_under_lock > 0, "the peer never saw the victim hold the header lock");
	fprintf(stderr, "the peer aimed %llu times while the victim held the header lock\n",
		(unsigned long long)*aimed_under_lock);
	munmap((void *)aimed_under_lock, sizeof(*aimed_under_lock));
}
END_TEST

/* ------------------------------------------------------------------ attack: the header lock */

/* Takes the header lock through a descriptor of its own; with child_mode 1 starts an update
 * (seq odd, a lie about the size) and dies; else holds it until killed. */
static int child_mode;

static void peer_takes_the_header_lock(int in, int out, const char *name)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = HEADER_LOCK_BYTE,
			    .l_len = 1 };
	volatile unsigned char *h;
	uint32_t seq;
	int fd;

	(void)in;
	h = peer_map(name, PAGE, &fd);
	MV_TEST_CHECK(h != NULL && fcntl(fd, F_OFD_SETLK, &fl) == 0);
	if (child_mode) {
		memcpy(&seq, (const unsigned char *)h + H_SEQ, sizeof(seq));
		put32(h, H_SEQ, seq + 1);
		put64(h, H_DATA_SIZE, get64(h, H_DATA_SIZE) + 12345);
		raise(SIGKILL);
	}
	mv_test_write_byte(out, 'L');
	for (;;)
		pause();
}

START_TEST(a_peer_that_never_releases_the_header_lock_gets_ebusy_in_two_seconds_not_a_hang)
{
	const char *a = new_name();
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	mv_segment *s = NULL, *t = NULL;
	struct mv_test_child peer;
	long long t0, ms;

	ck_assert_int_eq(mv_segment_create(&s, a, 8192, NULL), 0);
	child_mode = 0;
	peer = mv_test_spawn(peer_takes_the_header_lock, a);
	ck_assert_int_gt(peer.pid, 0);
	ck_assert_int_eq(mv_test_read_byte(peer.from, 20000), 'L');

	t0 = now_ns();
	ck_assert_mv_err(mv_segment_resize(s, 16384), EBUSY, "header lock held for more than 2 s");
	ms = (now_ns() - t0) / 1000000;
	ck_assert_msg(ms >= 1500 && ms < 4000, "resize gave up after %lld ms", ms);
	/* Joining needs the lock as well; reading does not. */
	t0 = now_ns();
	ck_assert_mv_err(mv_segment_open(&t, a, NULL), EBUSY, "header lock");
	ck_assert_int_lt((now_ns() - t0) / 1000000, 4000);
	ro.flags = MV_SEGMENT_READONLY;
	ck_assert_int_eq(mv_segment_open(&t, a, &ro), 0);
	ck_assert_int_eq(mv_segment_close(t), 0);

	/* Once the kernel drops it (the peer dies), everything works at once. */
	kill(peer.pid, SIGKILL);
	mv_test_reap(&peer);
	t0 = now_ns();
	ck_assert_int_eq(mv_segment_resize(s, 16384), 0);
	ck_assert_int_lt((now_ns() - t0) / 1000000, 500);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

START_TEST(a_peer_killed_mid_update_holding_the_header_lock_is_repaired_by_the_next_operation)
{
	const char *a = new_name();
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	mv_segment *s = NULL, *t = NULL;
	struct mv_test_child peer;
	unsigned char *h;
	uint32_t seq, sum;
	int st;

	ck_assert_int_eq(mv_segment_create(&s, a, 8192, NULL), 0);
	child_mode = 1;
	peer = mv_test_spawn(peer_takes_the_header_lock, a);
	ck_assert_int_gt(peer.pid, 0);
	st = mv_test_reap(&peer);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "peer ended with 0x%x", st);
	h = peer_map(a, PAGE, NULL);
	ck_assert_ptr_nonnull(h);
	memcpy(&seq, h + H_SEQ, sizeof(seq));
	ck_assert_int_eq(seq & 1, 1); /* left mid-update */

	/* The next operation that takes the lock repairs the header, then does its work. */
	ck_assert_int_eq(mv_segment_resize(s, 16384), 0);
	memcpy(&seq, h + H_SEQ, sizeof(seq));
	memcpy(&sum, h + H_CHECKSUM, sizeof(sum));
	ck_assert_int_eq(seq & 1, 0);
	ck_assert_uint_eq(sum, (uint32_t)((uint64_t)mv_view_hash_bytes(h, H_CHECKSUMMED) &
					  0xffffffffu));
	ck_assert_uint_eq(get64(h, H_DATA_SIZE), 16384);
	ro.flags = MV_SEGMENT_READONLY;
	ck_assert_int_eq(mv_segment_open(&t, a, &ro), 0);
	ck_assert_int_eq(mv_segment_close(t), 0);
	munmap(h, PAGE);
	ck_assert_int_eq(mv_segment_close(s), 0);
}
END_TEST

/* ------------------------------------------------------------------ what is at the name */

START_TEST(a_fifo_or_a_symlink_at_a_segment_name_is_refused_at_once)
{
	const char *a = new_name(), *b = new_name();
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	char path[128], target[128];
	mv_segment *s = NULL;
	long long t0;

	alarm(5); /* a FIFO opened for reading without O_NONBLOCK waits for a writer forever */
	snprintf(path, sizeof(path), "/dev/shm%s", a);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ro.flags = MV_SEGMENT_READONLY;
	t0 = now_ns();
	ck_assert_mv_err(mv_segment_open(&s, a, &ro), EINVAL, "not a regular file");
	ck_assert_mv_err(mv_segment_open(&s, a, NULL), EINVAL, "not a regular file");
	ck_assert_mv_err(mv_segment_unlink(a, 0), EINVAL, "not a regular file");
	ck_assert_int_lt((now_ns() - t0) / 1000000, 1000);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(mv_segment_unlink(a, MV_SEGMENT_FORCE), 0);

	/* A link at the name to a real segment: not followed. */
	ck_assert_int_eq(mv_segment_create(&s, b, 4096, NULL), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	s = NULL;
	snprintf(target, sizeof(target), "/dev/shm%s", b);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_mv_err(mv_segment_open(&s, a, &ro), EINVAL, "symbolic link");
	ck_assert_mv_err(mv_segment_open(&s, a, NULL), EINVAL, "symbolic link");
	ck_assert_ptr_null(s);
	unlink(path);
	alarm(0);
}
END_TEST

/* ------------------------------------------------------------------ owner */

#define NOBODY 65534

static void create_as_nobody(int in, int out, const char *name)
{
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment *s;

	(void)in;
	(void)out;
	MV_TEST_CHECK(setgid(NOBODY) == 0 && setuid(NOBODY) == 0);
	o.mode = 0666; /* even readable and writable by all: the owner is what counts */
	MV_TEST_CHECK(mv_segment_create(&s, name, 4096, &o) == 0);
	memset(mv_segment_data(s), 0x42, 4096);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
}

START_TEST(a_segment_another_uid_owns_is_refused_unless_the_caller_accepts_any_owner)
{
	const char *a = new_name();
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	struct mv_test_child c;
	mv_segment *s = NULL;
	struct stat st;
	char path[128];
	mv_view v;

	c = mv_test_spawn(create_as_nobody, a);
	ck_assert_int_gt(c.pid, 0);
	reap_ok(&c, "the creator");
	snprintf(path, sizeof(path), "/dev/shm%s", a);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_uid, NOBODY);

	/* Someone else's object at a name we meant to use: refused, readonly too. */
	ck_assert_mv_err(mv_segment_open(&s, a, NULL), EPERM, "owned by uid 65534, not you: pass "
							    "MV_SEGMENT_ANY_OWNER to open it anyway");
	o.flags = MV_SEGMENT_READONLY;
	ck_assert_mv_err(mv_segment_open(&s, a, &o), EPERM, "owned by uid 65534");
	o.flags = MV_SEGMENT_RAW;
	ck_assert_mv_err(mv_segment_open(&s, a, &o), EPERM, "owned by uid 65534");
	ck_assert_ptr_null(s);

	/* Asked for: opens, and it is the object nobody made. */
	o.flags = MV_SEGMENT_ANY_OWNER;
	ck_assert_int_eq(mv_segment_open(&s, a, &o), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	ck_assert_int_eq(((unsigned char *)mv_view_ptr(&v))[4095], 0x42);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	o.flags = MV_SEGMENT_ANY_OWNER | MV_SEGMENT_READONLY;
	ck_assert_int_eq(mv_segment_open(&s, a, &o), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	/* Removing is the directory's business, not the header's. */
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
}
END_TEST

/* ------------------------------------------------------------------ descriptors */

/* Send one byte with @nfds descriptors, in @ncmsg control messages (the last takes the rest). */
static void send_fds(int sock, const int *fds, int nfds, int ncmsg)
{
	union {
		char buf[CMSG_SPACE(64 * sizeof(int)) * 4];
		struct cmsghdr align;
	} cbuf;
	char byte = 'M';
	struct iovec iov = { &byte, 1 };
	struct msghdr msg;
	struct cmsghdr *c;
	int per = nfds / ncmsg, i, k = 0, n[8];

	ck_assert_int_le(ncmsg, 8);
	for (i = 0; i < ncmsg; i++)
		n[i] = i == ncmsg - 1 ? nfds - per * (ncmsg - 1) : per;
	memset(&msg, 0, sizeof(msg));
	memset(&cbuf, 0, sizeof(cbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	for (i = 0; i < ncmsg; i++)
		msg.msg_controllen += CMSG_SPACE((size_t)n[i] * sizeof(int));
	for (c = CMSG_FIRSTHDR(&msg), i = 0; c && i < ncmsg; c = CMSG_NXTHDR(&msg, c), i++) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)n[i] * sizeof(int));
		memcpy(CMSG_DATA(c), fds + k, (size_t)n[i] * sizeof(int));
		k += n[i];
	}
	ck_assert_int_eq(k, nfds);
	ck_assert_msg(sendmsg(sock, &msg, 0) == 1, "sendmsg: %s", strerror(errno));
}

START_TEST(recv_of_a_message_with_several_descriptors_refuses_it_and_leaks_none)
{
	static const struct {
		int nfds, ncmsg;
	} cases[] = { { 2, 1 }, { 2, 2 }, { 3, 1 }, { 40, 1 }, { 40, 4 } };
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment *seg, *got;
	int sv[2], fds[40], i, k, before, pipefd[2];

	o.flags = MV_SEGMENT_MEMFD;
	ck_assert_int_eq(mv_segment_create(&seg, "hostile", 4096, &o), 0);
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	for (i = 0; i < 40; i++)
		fds[i] = i % 2 ? pipefd[0] : mv_segment_fd(seg);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	for (k = 0; k < (int)(sizeof(cases) / sizeof(cases[0])); k++) {
		send_fds(sv[0], fds, cases[k].nfds, cases[k].ncmsg);
		before = count_fds();
		got = NULL;
		ck_assert_mv_err(mv_segment_recv(&got, sv[1], NULL), EINVAL, "receive segment");
		ck_assert_ptr_null(got);
		ck_assert_msg(count_fds() == before, "%d descriptors in %d messages: %d left open",
			      cases[k].nfds, cases[k].ncmsg, count_fds() - before);
	}
	/* One descriptor is still a segment. */
	ck_assert_int_eq(mv_segment_send(seg, sv[0]), 0);
	ck_assert_int_eq(mv_segment_recv(&got, sv[1], NULL), 0);
	ck_assert_int_eq(mv_segment_close(got), 0);
	close(sv[0]);
	close(sv[1]);
	close(pipefd[0]);
	close(pipefd[1]);
	ck_assert_int_eq(mv_segment_close(seg), 0);
}
END_TEST

/* ------------------------------------------------------------------ old versions */

START_TEST(a_version_1_header_is_refused_with_a_message_that_says_so)
{
	static const char msg[] = "header version 1 is not supported (this is 2): re-create it "
				  "with this memview";
	const char *a = new_name();
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment *s = NULL;
	unsigned char *h;
	int fd;

	ck_assert_int_eq(mv_segment_create(&s, a, 4096, NULL), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	s = NULL;
	h = peer_map(a, PAGE, NULL);
	ck_assert_ptr_nonnull(h);
	put32(h, H_VERSION, 1);
	reseal(h);
	munmap(h, PAGE);
	ck_assert_mv_err(mv_segment_open(&s, a, NULL), EBADMSG, msg);
	ro.flags = MV_SEGMENT_READONLY;
	ck_assert_mv_err(mv_segment_open(&s, a, &ro), EBADMSG, msg);
	ck_assert_ptr_null(s);
	fd = shm_open(a, O_RDONLY | O_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_mv_err(mv_segment_probe(&info, fd), EBADMSG, msg);
	close(fd);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
	Suite *s;
	TCase *tc;
	int rc;

	if (access("/dev/shm", W_OK) != 0)
		mv_test_skip("/dev/shm is not writable: %s", strerror(errno));
	snprintf(run_tag, sizeof(run_tag), "hostile%ld", (long)getpid());

	s = suite_create("segment against a lying peer");
#define TC(title)                                                                          \
	do {                                                                               \
		tc = tcase_create(title);                                                  \
		tcase_add_checked_fixture(tc, setup, teardown);                            \
		tcase_add_unchecked_fixture(tc, NULL, sweep_names);                        \
		tcase_set_timeout(tc, 60);                                                 \
		suite_add_tcase(s, tc);                                                    \
	} while (0)
	TC("the data offset");
	tcase_add_test(tc, a_header_that_moves_the_data_offset_is_refused_never_followed_past_the_mapping);
	tcase_add_test(tc, a_peer_rewriting_the_header_while_the_victim_works_never_makes_it_fault);
	TC("the header lock");
	tcase_add_test(tc, garbage_in_the_old_mutex_bytes_and_the_holder_table_touches_nothing_of_the_victims);
	tcase_add_test(tc, a_peer_that_never_releases_the_header_lock_gets_ebusy_in_two_seconds_not_a_hang);
	tcase_add_test(tc, a_peer_killed_mid_update_holding_the_header_lock_is_repaired_by_the_next_operation);
	TC("opening");
	tcase_add_test(tc, a_fifo_or_a_symlink_at_a_segment_name_is_refused_at_once);
	if (geteuid() == 0)
		tcase_add_test(tc, a_segment_another_uid_owns_is_refused_unless_the_caller_accepts_any_owner);
	else
		printf("NOTE: not root: cannot make an object another uid owns; the owner check "
		       "is not tested\n");
	tcase_add_test(tc, recv_of_a_message_with_several_descriptors_refuses_it_and_leaks_none);
	TC("versions");
	tcase_add_test(tc, a_version_1_header_is_refused_with_a_message_that_says_so);
#undef TC
	rc = mv_test_run(s);
	sweep_names();
	return rc;
}
