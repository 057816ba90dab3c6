/*
 * tests/check_faults.c - real faults, nothing mocked: every descriptor taken (RLIMIT_NOFILE),
 * mappings refused (RLIMIT_AS), an unsealed named segment truncated by another process, and
 * SIGKILL at random points of segment and channel operations. After each fault the call
 * returned its documented errno with a message, nothing leaked (descriptors, mappings, names in
 * /dev/shm, exports), what is left opens cleanly or is recognisably half-created and removable,
 * and the same call succeeds once the fault is lifted.
 *
 * Tests that lower a process limit do all their work in a forked child, so the limit dies with
 * it. Children never call ck_assert (that would report into the runner's pipe): they check with
 * MV_TEST_CHECK and exit non-zero, and the test asserts their status. They die with the test
 * (PR_SET_PDEATHSIG). Every test prints one line "faults: ..." to stderr with what it injected
 * and what came of it, which RELIABILITY.md quotes. A full /dev/shm is check_segment_nospace's,
 * io_uring's memlock exhaustion check_uring's (segments and channels lock no memory).
 */
#define _GNU_SOURCE
#include "testlib.h"
#include "../util/mvutil.h"

#include <fcntl.h>
#include <liburing.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* "flt<runner pid>": in every name this run makes, so leftovers can be found and swept. */
static char run_tag[32];

/* A failure with errno @err and a message (every failure must say what went wrong). */
#define CHILD_CHECK_ERR(call, err)                                                             \
	do {                                                                                   \
		long _r = (long)(call);                                                       \
		if (_r != -(long)(err) || !mv_errmsg()[0]) {                                   \
			fprintf(stderr, "%s:%d: in child %ld: %s returned %ld, expected %ld "  \
				"(%s)\n", __FILE__, __LINE__, (long)getpid(), #call, _r,      \
				-(long)(err), mv_errmsg());                                    \
			_exit(3);                                                              \
		}                                                                              \
	} while (0)

/* ------------------------------------------------------------------ names, counts */

static const char *new_name(char *buf, size_t cap)
{
	mv_test_name(buf, cap, run_tag);
	shm_unlink(buf);
	return buf;
}

/* Names of this run in /dev/shm (every name a test makes carries run_tag). */
static int count_run_names(void)
{
	return mv_test_count_names(run_tag);
}

/* Runner side: remove whatever this run's tests left (failed or killed tests). */
static void sweep_names(void)
{
	mv_test_sweep_names(run_tag);
}

/* Mappings of this process: lines of /proc/self/maps, read without allocating. */
static int count_maps(void)
{
	char buf[4096];
	ssize_t n, i;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), lines = 0;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

static int name_exists(const char *name)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm%s", name);
	return stat(path, &st) == 0;
}

static off_t name_size(const char *name)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm%s", name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void sleep_ns(long long ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t rng_state;

static uint64_t rnd_below(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? rng_state % n : 0;
}

/* ------------------------------------------------------------------ child processes */

/* SIGKILL the child, which must still have been running, and reap it. */
static void kill_and_reap(struct mv_test_child *c)
{
	int st;

	ck_assert_int_eq(kill(c->pid, SIGKILL), 0);
	st = mv_test_reap(c);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		      "the child ended with status 0x%x before it was killed", st);
}

/* Run @fn in a forked child and assert it exited 0 (the child's checks print why not). */
static void run_in_child(mv_test_child_fn fn, const char *name)
{
	struct mv_test_child c = mv_test_spawn(fn, name);
	int st;

	ck_assert_int_gt(c.pid, 0);
	st = mv_test_reap(&c);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "child ended with status 0x%x (its stderr says why)", st);
}

static void set_soft_limit(int resource, rlim_t cur)
{
	struct rlimit rl;

	MV_TEST_CHECK(getrlimit(resource, &rl) == 0);
	rl.rlim_cur = cur;
	MV_TEST_CHECK(setrlimit(resource, &rl) == 0);
}

static rlim_t soft_limit(int resource)
{
	struct rlimit rl;

	MV_TEST_CHECK(getrlimit(resource, &rl) == 0);
	return rl.rlim_cur;
}

/*
 * A producer that admits joiners and collects hand-backs until told to stop, in a process of its
 * own: what it holds (the connections it accepts) must not count against the limits and the
 * descriptor counts of the process under test.
 */
struct admitter {
	struct mv_test_child child;
};

static const mv_chan_opts *admitter_opts; /* read by the forked child */

static void child_admitter(int in, int out, const char *name)
{
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	mv_chan *ch;

	MV_TEST_CHECK(mv_chan_create(&ch, name, admitter_opts) == 0);
	mv_test_write_byte(out, 'R');
	while (mv_test_read_byte(in, 1) != 'q')
		mv_chan_get_stats(&st, ch); /* admits, reclaims */
	MV_TEST_CHECK(mv_chan_close(ch) == 0);
}

static void admitter_start(struct admitter *a, const char *name, const mv_chan_opts *o)
{
	admitter_opts = o;
	a->child = mv_test_spawn(child_admitter, name);
	MV_TEST_CHECK(a->child.pid > 0 && mv_test_read_byte(a->child.from, 10000) == 'R');
}

static void admitter_stop(struct admitter *a)
{
	mv_test_write_byte(a->child.to, 'q');
	MV_TEST_CHECK(mv_test_reap(&a->child) == 0);
}

/* ------------------------------------------------------------------ descriptor exhaustion */

#define HOG_MAX 256
static int hog[HOG_MAX];
static int nhog;

/* Take every descriptor up to the soft limit, then give back @leave of them. */
static void fds_exhaust(int leave)
{
	int fd;

	nhog = 0;
	while (nhog < HOG_MAX && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		hog[nhog++] = fd;
	MV_TEST_CHECK(nhog < HOG_MAX && errno == EMFILE);
	while (leave-- > 0 && nhog > 0)
		close(hog[--nhog]);
}

static void fds_release(void)
{
	while (nhog > 0)
		close(hog[--nhog]);
}

/* What the descriptor-exhaustion test works on, made before the limit is lowered. */
struct fd_ctx {
	char seg_name[96], new_name[96], chan_name[96], new_chan[96];
	mv_segment *memfd;
	int sock[2];
	int uring;              /* io_uring can be set up here */
	/* what a call made, for undo */
	mv_segment *seg;
	mv_chan *ch;
	struct io_uring ring;
};

static int op_seg_create(struct fd_ctx *x)
{
	return mv_segment_create(&x->seg, x->new_name, 65536, NULL);
}

static int op_memfd_create(struct fd_ctx *x)
{
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;

	o.flags = MV_SEGMENT_MEMFD;
	return mv_segment_create(&x->seg, "faults", 65536, &o);
}

static int op_seg_open(struct fd_ctx *x)
{
	return mv_segment_open(&x->seg, x->seg_name, NULL);
}

static int op_seg_import(struct fd_ctx *x)
{
	return mv_segment_import(&x->seg, mv_segment_fd(x->memfd), NULL);
}

static int op_seg_recv(struct fd_ctx *x)
{
	/* Sending needs no new descriptor; receiving installs one. */
	MV_TEST_CHECK(mv_segment_send(x->memfd, x->sock[0]) == 0);
	return mv_segment_recv(&x->seg, x->sock[1], NULL);
}

static int op_chan_create(struct fd_ctx *x)
{
	return mv_chan_create(&x->ch, x->new_chan, NULL);
}

static int op_chan_join(struct fd_ctx *x)
{
	return mv_chan_join(&x->ch, x->chan_name, NULL, 10000000000LL);
}

static int op_uring_init(struct fd_ctx *x)
{
	return mv_uring_queue_init(&x->ring, 8, 0);
}

static void undo_seg(struct fd_ctx *x)
{
	MV_TEST_CHECK(mv_segment_close(x->seg) == 0);
	x->seg = NULL;
	if (name_exists(x->new_name))
		MV_TEST_CHECK(mv_segment_unlink(x->new_name, 0) == 0);
}

static void undo_chan(struct fd_ctx *x)
{
	MV_TEST_CHECK(mv_chan_close(x->ch) == 0);
	x->ch = NULL;
}

static void undo_uring(struct fd_ctx *x)
{
	io_uring_queue_exit(&x->ring);
}

static const struct fd_op {
	const char *what;
	int (*run)(struct fd_ctx *);
	void (*undo)(struct fd_ctx *);
} fd_ops[] = {
	{ "mv_segment_create", op_seg_create, undo_seg },
	{ "mv_segment_create(MEMFD)", op_memfd_create, undo_seg },
	{ "mv_segment_open", op_seg_open, undo_seg },
	{ "mv_segment_import", op_seg_import, undo_seg },
	{ "mv_segment_recv", op_seg_recv, undo_seg },
	{ "mv_chan_create", op_chan_create, undo_chan },
	{ "mv_chan_join", op_chan_join, undo_chan },
	{ "mv_uring_queue_init", op_uring_init, undo_uring },
};

#define NFD_OPS (int)(sizeof(fd_ops) / sizeof(fd_ops[0]))

/* The segment every op leaves alone still opens cleanly. */
static void check_seg_opens(const char *name)
{
	mv_segment *s;
	mv_view v;

	MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
	MV_TEST_CHECK(mv_view_from(&v, mv_segment_exporter(s), 0) == 0);
	MV_TEST_CHECK(mv_view_release(&v) == 0);
	MV_TEST_CHECK(mv_exporter_exports(mv_segment_exporter(s)) == 0);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
}

static void child_fd_exhaustion(int in, int out, const char *unused)
{
	mv_segment_opts mo = MV_SEGMENT_OPTS_INIT;
	mv_segment_holder h[4] = { MV_SEGMENT_HOLDER_INIT };
	struct admitter adm;
	struct fd_ctx x;
	mv_segment *s, *t;
	int i, leave, rc, fds, names, calls = 0, emfile = 0, ok = 0;
	rlim_t old;

	(void)in, (void)out, (void)unused;
	memset(&x, 0, sizeof(x));
	new_name(x.seg_name, sizeof(x.seg_name));
	new_name(x.new_name, sizeof(x.new_name));
	new_name(x.chan_name, sizeof(x.chan_name));
	new_name(x.new_chan, sizeof(x.new_chan));
	MV_TEST_CHECK(mv_segment_create(&s, x.seg_name, 65536, NULL) == 0);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	mo.flags = MV_SEGMENT_MEMFD;
	MV_TEST_CHECK(mv_segment_create(&x.memfd, "faults", 65536, &mo) == 0);
	MV_TEST_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, x.sock) == 0);
	admitter_start(&adm, x.chan_name, NULL);
	x.uring = mv_uring_queue_init(&x.ring, 8, 0) == 0;
	if (x.uring)
		io_uring_queue_exit(&x.ring);

	fds = mv_test_count_fds();
	names = count_run_names();
	old = soft_limit(RLIMIT_NOFILE);
	set_soft_limit(RLIMIT_NOFILE, (rlim_t)fds + 32);
	for (i = 0; i < NFD_OPS; i++) {
		if (fd_ops[i].run == op_uring_init && !x.uring)
			continue;
		/* No descriptor left, then one, two, three: each call either fails with EMFILE
		 * and leaves nothing behind, or succeeds. */
		for (leave = 0; leave < 4; leave++) {
			fds_exhaust(leave);
			rc = fd_ops[i].run(&x);
			fds_release();
			calls++;
			if (rc < 0) {
				if (rc != -EMFILE || (!strstr(mv_errmsg(), "Too many open files") &&
						      !strstr(mv_errmsg(), "descriptor"))) {
					fprintf(stderr, "%s with %d descriptors free: %d (%s)\n",
						fd_ops[i].what, leave, rc, mv_errmsg());
					_exit(3);
				}
				emfile++;
			} else {
				/* Every call needs a descriptor of its own. */
				MV_TEST_CHECK(leave > 0);
				fd_ops[i].undo(&x);
				ok++;
			}
			MV_TEST_CHECK(mv_test_count_fds() == fds);
			MV_TEST_CHECK(count_run_names() == names);
			MV_TEST_CHECK(!name_exists(x.new_name) && !name_exists(x.new_chan));
			check_seg_opens(x.seg_name);
		}
	}
	MV_TEST_CHECK(mv_exporter_exports(mv_segment_exporter(x.memfd)) == 0);

	/*
	 * With exactly one descriptor free a segment is created, but its creator could not read
	 * its own start time: others must still see it as a live holder, not reclaim its slot.
	 */
	fds_exhaust(1);
	rc = mv_segment_create(&s, x.new_name, 65536, NULL);
	fds_release();
	MV_TEST_CHECK(rc == 0);

	/* Lifted: every call succeeds. */
	set_soft_limit(RLIMIT_NOFILE, old);
	MV_TEST_CHECK(mv_segment_open(&t, x.new_name, NULL) == 0);
	MV_TEST_CHECK(mv_segment_holders(h, 4, t) == 2);
	MV_TEST_CHECK(h[0].alive && h[1].alive);
	MV_TEST_CHECK(mv_segment_close(t) == 0);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	MV_TEST_CHECK(mv_segment_unlink(x.new_name, 0) == 0);
	for (i = 0; i < NFD_OPS; i++) {
		if (fd_ops[i].run == op_uring_init && !x.uring)
			continue;
		rc = fd_ops[i].run(&x);
		if (rc != 0) {
			fprintf(stderr, "%s after the limit was lifted: %d (%s)\n", fd_ops[i].what,
				rc, mv_errmsg());
			_exit(3);
		}
		fd_ops[i].undo(&x);
	}
	MV_TEST_CHECK(mv_test_count_fds() == fds);

	admitter_stop(&adm);
	MV_TEST_CHECK(mv_segment_close(x.memfd) == 0);
	MV_TEST_CHECK(mv_segment_unlink(x.seg_name, 0) == 0);
	close(x.sock[0]);
	close(x.sock[1]);
	MV_TEST_CHECK(count_run_names() == names - 1); /* the segment: channels take no name */
	fprintf(stderr, "faults: descriptor exhaustion (RLIMIT_NOFILE, 0-3 left): %d calls of %d "
			"operations%s, %d EMFILE, %d succeeded, 0 leaked descriptors, 0 stray names\n",
		calls, x.uring ? NFD_OPS : NFD_OPS - 1, x.uring ? "" : " (io_uring unavailable)",
		emfile, ok);
}

/* valgrind keeps descriptors and address space of its own and virtualises both limits. */
static int limits_are_virtual(const char *what)
{
	if (!mv_test_under_valgrind())
		return 0;
	fprintf(stderr, "faults: %s: not run under valgrind, which virtualises the limit\n", what);
	return 1;
}

START_TEST(exhausted_descriptors_give_emfile_leave_nothing_half_made_and_recover)
{
	if (limits_are_virtual("descriptor exhaustion"))
		return;
	run_in_child(child_fd_exhaustion, NULL);
	ck_assert_int_eq(count_run_names(), 0);
}
END_TEST

/* ------------------------------------------------------------------ mappings refused */

#define BIG (32u << 20)  /* more than the headroom left under RLIMIT_AS */
#define HEADROOM (8u << 20)

/* Address space in use (VmSize), bytes. */
static size_t vm_size(void)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	MV_TEST_CHECK(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	MV_TEST_CHECK(n > 0);
	buf[n] = '\0';
	p = strstr(buf, "VmSize:");
	MV_TEST_CHECK(p != NULL);
	return (size_t)strtoull(p + 7, NULL, 10) * 1024;
}

/* Grows segment @name to BIG bytes when asked: a peer with no limit. */
static void child_grower(int in, int out, const char *name)
{
	mv_segment *s;

	MV_TEST_CHECK(mv_test_read_byte(in, 60000) == 'G');
	MV_TEST_CHECK(mv_segment_open(&s, name, NULL) == 0);
	MV_TEST_CHECK(mv_segment_resize(s, BIG) == 0);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	mv_test_write_byte(out, 'D');
}

static int write_nothing(void *ctx, const char *s, size_t n)
{
	(void)ctx, (void)s, (void)n;
	return 0;
}

/* AddressSanitizer maps memory of its own as it goes: mappings are only counted without it. */
#if defined(__SANITIZE_ADDRESS__)
#define MAPS_COUNTABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MAPS_COUNTABLE 0
#endif
#endif
#ifndef MAPS_COUNTABLE
#define MAPS_COUNTABLE 1
#endif

/* Under AddressSanitizer a refused allocation must return NULL, as malloc's does, not abort. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* One refused call: -ENOMEM with a message, no mapping, descriptor or name left over. */
#define EXPECT_ENOMEM(call)                                                                    \
	do {                                                                                   \
		int _maps = count_maps(), _fds = mv_test_count_fds();                          \
		int _names = count_run_names();                                                \
		CHILD_CHECK_ERR(call, ENOMEM);                                                 \
		MV_TEST_CHECK(!MAPS_COUNTABLE || count_maps() == _maps);                       \
		MV_TEST_CHECK(mv_test_count_fds() == _fds);                                    \
		MV_TEST_CHECK(count_run_names() == _names);                                    \
		refused++;                                                                     \
	} while (0)

static void child_address_space(int in, int out, const char *unused)
{
	char a[96], b[96], c[96], r[96], q[96], p[96];
	mv_chan_opts co = MV_CHAN_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	struct admitter adm;
	mv_segment *sa, *sr, *s;
	mv_heap *hx, *hb, *h, *hn;
	mv_view vx, rx, vb, rb, tl, v;
	struct mv_test_child grower;
	mv_chan *ch;
	char *hex, *text;
	int64_t hash;
	int refused = 0;
	rlim_t old;

	(void)in, (void)out, (void)unused;
	/* Fixed thresholds (freed large blocks go back to the system, the heap is never
	 * trimmed), so a mapping count measures leaks, not malloc's adaptive heap. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	new_name(a, sizeof(a));
	new_name(b, sizeof(b));
	new_name(c, sizeof(c));
	new_name(r, sizeof(r));
	new_name(q, sizeof(q));
	new_name(p, sizeof(p));
	/* Everything the calls work on is made while the address space is unlimited. */
	MV_TEST_CHECK(mv_segment_create(&sa, a, 65536, NULL) == 0);
	MV_TEST_CHECK(mv_segment_create(&s, b, BIG, NULL) == 0);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	MV_TEST_CHECK(mv_segment_create(&sr, r, 65536, NULL) == 0);
	grower = mv_test_spawn(child_grower, r);
	MV_TEST_CHECK(grower.pid > 0);
	co.nslots = 16;
	co.slot_size = 1u << 20;
	admitter_start(&adm, p, &co);
	MV_TEST_CHECK(mv_heap_bytearray_new(&h, NULL, 65536) == 0);
	MV_TEST_CHECK(mv_heap_bytearray_new(&hx, NULL, 16u << 20) == 0);
	MV_TEST_CHECK(mv_heap_bytes_new(&hb, NULL, 16u << 20) == 0);
	MV_TEST_CHECK(mv_view_from(&vx, mv_heap_exporter(hx), 0) == 0);
	MV_TEST_CHECK(mv_view_slice(&rx, &vx, MV_NONE, MV_NONE, -1) == 0);  /* not contiguous */
	MV_TEST_CHECK(mv_view_slice(&tl, &vx, 0, 8u << 20, 1) == 0);
	MV_TEST_CHECK(mv_view_from(&vb, mv_heap_exporter(hb), 0) == 0);
	MV_TEST_CHECK(mv_view_slice(&rb, &vb, MV_NONE, MV_NONE, -1) == 0);
	hex = malloc((32u << 20) + 1);
	MV_TEST_CHECK(hex != NULL);
	memset(hex, 0, (32u << 20) + 1); /* touch it: no lazy surprise later */
	/* Grow malloc's heap now, as the list text's first small blocks will want it. */
	MV_TEST_CHECK(mv_view_slice(&v, &vx, 0, 65536, 1) == 0);
	MV_TEST_CHECK(mv_view_tolist_text(&text, &v) > 0);
	free(text);
	MV_TEST_CHECK(mv_view_release(&v) == 0);

	old = soft_limit(RLIMIT_AS);
	set_soft_limit(RLIMIT_AS, vm_size() + HEADROOM);

	EXPECT_ENOMEM(mv_segment_create(&s, c, BIG, NULL));
	MV_TEST_CHECK(!name_exists(c));
	EXPECT_ENOMEM(mv_segment_open(&s, b, NULL));
	/* A grow that cannot be mapped changes nothing: not the object, not the header. */
	EXPECT_ENOMEM(mv_segment_resize(sa, BIG));
	MV_TEST_CHECK(mv_segment_get_info(&info, sa) == 0);
	MV_TEST_CHECK(info.data_size == 65536 && info.mapped_size == 65536 && info.generation == 1);
	MV_TEST_CHECK(name_size(a) == 4096 + 65536);
	memset(mv_segment_data(sa), 0x5a, 65536);
	/* Grown by a peer: remapping, or the first export that would remap, is refused. */
	mv_test_write_byte(grower.to, 'G');
	MV_TEST_CHECK(mv_test_read_byte(grower.from, 60000) == 'D');
	MV_TEST_CHECK(mv_test_reap(&grower) == 0);
	EXPECT_ENOMEM(mv_segment_remap(sr));
	EXPECT_ENOMEM(mv_view_from(&v, mv_segment_exporter(sr), 0));
	MV_TEST_CHECK(mv_exporter_exports(mv_segment_exporter(sr)) == 0);
	MV_TEST_CHECK(mv_segment_get_info(&info, sr) == 0);
	MV_TEST_CHECK(info.data_size == BIG && info.mapped_size == 65536);
	/* Channels. */
	EXPECT_ENOMEM(mv_chan_create(&ch, q, &co));
	MV_TEST_CHECK(!name_exists(q));
	EXPECT_ENOMEM(mv_chan_join(&ch, p, NULL, 10000000000LL));
	/* Heap buffers: the old contents stay. */
	EXPECT_ENOMEM(mv_heap_bytearray_new(&hn, NULL, BIG));
	((char *)mv_heap_data(h))[65535] = 7;
	EXPECT_ENOMEM(mv_heap_resize(h, BIG));
	MV_TEST_CHECK(mv_heap_size(h) == 65536 && ((char *)mv_heap_data(h))[65535] == 7);
	/* View operations that allocate: a gather of a strided view, the list text. */
	EXPECT_ENOMEM(mv_view_hex(hex, (32u << 20) + 1, &rx, NULL, 0));
	EXPECT_ENOMEM(mv_view_tolist_text(&text, &tl));
	EXPECT_ENOMEM(mv_view_hash(&hash, &rb));
	MV_TEST_CHECK(mv_exporter_exports(mv_heap_exporter(hx)) == 1);
	MV_TEST_CHECK(mv_exporter_exports(mv_heap_exporter(hb)) == 1);

	/* Lifted: the same calls succeed. */
	set_soft_limit(RLIMIT_AS, old);
	MV_TEST_CHECK(mv_segment_create(&s, c, BIG, NULL) == 0);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	MV_TEST_CHECK(mv_segment_unlink(c, 0) == 0);
	MV_TEST_CHECK(mv_segment_open(&s, b, NULL) == 0);
	MV_TEST_CHECK(mv_segment_close(s) == 0);
	MV_TEST_CHECK(mv_segment_resize(sa, BIG) == 0);
	MV_TEST_CHECK(((unsigned char *)mv_segment_data(sa))[65535] == 0x5a);
	memset((char *)mv_segment_data(sa) + BIG - 4096, 1, 4096);
	MV_TEST_CHECK(mv_segment_remap(sr) == 0);
	MV_TEST_CHECK(mv_segment_get_info(&info, sr) == 0 && info.mapped_size == BIG);
	MV_TEST_CHECK(mv_view_from(&v, mv_segment_exporter(sr), 0) == 0);
	MV_TEST_CHECK(mv_view_nbytes(&v) == (ssize_t)BIG);
	MV_TEST_CHECK(mv_view_release(&v) == 0);
	MV_TEST_CHECK(mv_chan_create(&ch, q, &co) == 0);
	MV_TEST_CHECK(mv_chan_close(ch) == 0);
	MV_TEST_CHECK(mv_chan_join(&ch, p, NULL, 10000000000LL) == 0);
	MV_TEST_CHECK(mv_chan_close(ch) == 0);
	MV_TEST_CHECK(mv_heap_bytearray_new(&hn, NULL, BIG) == 0);
	MV_TEST_CHECK(mv_heap_free(hn) == 0);
	MV_TEST_CHECK(mv_heap_resize(h, BIG) == 0);
	MV_TEST_CHECK(mv_view_hex(hex, (32u << 20) + 1, &rx, NULL, 0) == (ssize_t)(32u << 20));
	MV_TEST_CHECK(mv_view_tolist_text(&text, &tl) > 0);
	free(text);
	MV_TEST_CHECK(mv_view_tolist_write(&tl, write_nothing, NULL) == 0);
	MV_TEST_CHECK(mv_view_hash(&hash, &rb) == 0);

	admitter_stop(&adm);
	mv_view_release(&rb);
	mv_view_release(&vb);
	mv_view_release(&tl);
	mv_view_release(&rx);
	mv_view_release(&vx);
	MV_TEST_CHECK(mv_heap_free(hx) == 0 && mv_heap_free(hb) == 0 && mv_heap_free(h) == 0);
	MV_TEST_CHECK(mv_segment_close(sa) == 0 && mv_segment_close(sr) == 0);
	MV_TEST_CHECK(mv_segment_unlink(a, 0) == 0 && mv_segment_unlink(b, 0) == 0);
	MV_TEST_CHECK(mv_segment_unlink(r, 0) == 0);
	MV_TEST_CHECK(count_run_names() == 0);
	free(hex);
	fprintf(stderr, "faults: mmap refused (RLIMIT_AS, %u MiB headroom): %d calls refused with "
			"ENOMEM (segment create/open/resize/remap/first export, channel create/join, "
			"heap new/resize, hex/tolist/hash), %s, 0 partial states, all succeed when "
			"lifted\n",
		HEADROOM >> 20, refused,
		MAPS_COUNTABLE ? "0 leaked mappings" : "mappings not counted (AddressSanitizer)");
}

START_TEST(refused_mappings_give_enomem_change_nothing_and_recover)
{
	if (limits_are_virtual("mmap refused"))
		return;
	run_in_child(child_address_space, NULL);
	ck_assert_int_eq(count_run_names(), 0);
}
END_TEST

/* ------------------------------------------------------------------ truncation by a peer */

/* Another process truncates (or extends) the object behind memview's back. */
static void peer_truncate(const char *name, off_t size)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = shm_open(name, O_RDWR, 0);

		_exit(fd >= 0 && ftruncate(fd, size) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(name_size(name), size);
}

START_TEST(a_peer_truncating_the_data_is_reported_by_views_remap_resize_info_and_open)
{
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	char a[96];
	mv_segment *s, *t, *r, *o;
	mv_view v;
	int fds = mv_test_count_fds();

	new_name(a, sizeof(a));
	ck_assert_int_eq(mv_segment_create(&s, a, 65536, NULL), 0);
	ck_assert_int_eq(mv_segment_open(&t, a, NULL), 0);
	ro.flags = MV_SEGMENT_READONLY;
	ck_assert_int_eq(mv_segment_open(&r, a, &ro), 0);
	memset(mv_segment_data(s), 0x11, 65536);

	peer_truncate(a, 4096 + 8192);
	ck_assert_mv_err(mv_view_from(&v, mv_segment_exporter(t), 0), EBADMSG,
			 "truncated to 12288 bytes by another process");
	ck_assert_mv_err(mv_view_from(&v, mv_segment_exporter(r), 0), EBADMSG,
			 "truncated to 12288 bytes by another process");
	ck_assert_int_eq(mv_exporter_exports(mv_segment_exporter(t)), 0);
	ck_assert_int_eq(mv_exporter_exports(mv_segment_exporter(r)), 0);
	ck_assert_mv_err(mv_segment_remap(t), EBADMSG, "truncated to 12288 bytes");
	/* Resizing would paper over the loss with zeros: refused, and the object is untouched. */
	ck_assert_mv_err(mv_segment_resize(t, 131072), EBADMSG, "truncated to 12288 bytes");
	ck_assert_mv_err(mv_segment_resize(s, 4096), EBADMSG, "truncated to 12288 bytes");
	ck_assert_int_eq(name_size(a), 12288);
	ck_assert_int_eq(mv_segment_get_info(&info, t), 0);
	ck_assert_uint_eq(info.data_size, 8192);
	ck_assert_uint_eq(info.mapped_size, 65536);
	ck_assert_mv_err(mv_segment_open(&o, a, NULL), EBADMSG, "header says 65536 data bytes");
	ck_assert_int_eq(mv_segment_holders(NULL, 0, t), 2);

	/* The peer restores the size: the header is intact, the cut pages come back zeroed. */
	peer_truncate(a, 4096 + 65536);
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(t), 0), 0);
	ck_assert_int_eq(((unsigned char *)mv_view_ptr(&v))[8191], 0x11);
	ck_assert_int_eq(((unsigned char *)mv_view_ptr(&v))[8192], 0);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_segment_remap(t), 0);
	ck_assert_int_eq(mv_segment_resize(t, 131072), 0);
	ck_assert_int_eq(mv_segment_open(&o, a, NULL), 0);
	ck_assert_int_eq(mv_segment_close(o), 0);
	ck_assert_int_eq(mv_segment_close(r), 0);
	ck_assert_int_eq(mv_segment_close(t), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
	ck_assert_int_eq(mv_test_count_fds(), fds);
	fprintf(stderr, "faults: peer truncation of the data: 6 calls report EBADMSG "
			"\"truncated ... by another process\", info shows what is left, 0 SIGBUS\n");
}
END_TEST

START_TEST(a_segment_truncated_below_its_header_is_reported_closes_and_is_removed)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment_holder h = MV_SEGMENT_HOLDER_INIT;
	char a[96];
	mv_segment *s, *t, *o;
	mv_view v;
	int fds = mv_test_count_fds();

	new_name(a, sizeof(a));
	ck_assert_int_eq(mv_segment_create(&s, a, 65536, NULL), 0);
	ck_assert_int_eq(mv_segment_open(&t, a, NULL), 0);

	/* Header page and holder table gone: touching them would raise SIGBUS. */
	peer_truncate(a, 0);
	ck_assert_mv_err(mv_view_from(&v, mv_segment_exporter(t), 0), EBADMSG,
			 "truncated to 0 bytes by another process");
	ck_assert_mv_err(mv_segment_remap(t), EBADMSG, "truncated to 0 bytes");
	ck_assert_mv_err(mv_segment_resize(t, 4096), EBADMSG, "truncated to 0 bytes");
	ck_assert_mv_err(mv_segment_holders(&h, 1, t), EBADMSG, "truncated to 0 bytes");
	ck_assert_int_eq(mv_segment_get_info(&info, t), 0);
	ck_assert_uint_eq(info.data_size, 0);
	ck_assert_mv_err(mv_segment_open(&o, a, NULL), EBADMSG, "too small for a memview header");
	ck_assert_int_eq(mv_segment_close(t), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	/* Nothing holds it: removable without force, and the name can be used again. */
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
	ck_assert_int_eq(mv_segment_create(&s, a, 65536, NULL), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	ck_assert_int_eq(mv_segment_unlink(a, 0), 0);
	ck_assert_int_eq(mv_test_count_fds(), fds);
	fprintf(stderr, "faults: peer truncation below the header: 5 calls report EBADMSG, close "
			"and unlink work, 0 SIGBUS\n");
}
END_TEST

/* The hazard memview documents: a view that exists when the peer truncates faults. */
START_TEST(touching_a_view_past_a_truncated_end_raises_sigbus)
{
	struct sigaction sa;
	char a[96];
	mv_segment *s;
	mv_view v;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGBUS, &sa, NULL); /* a sanitizer's handler would turn the fault into an abort */
	new_name(a, sizeof(a));
	ck_assert_int_eq(mv_segment_create(&s, a, 65536, NULL), 0);
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	peer_truncate(a, 4096 + 8192);
	((volatile char *)mv_view_ptr(&v))[32768] = 1;
}
END_TEST

/* ------------------------------------------------------------------ SIGKILL: segments */

#define SEG_NAMES 3

/* Names a churning child works on: "<base>a", "<base>b", "<base>c". */
static void churn_name(char *buf, size_t cap, const char *base, int i)
{
	snprintf(buf, cap, "%s%c", base, 'a' + i);
}

/* One pass of segment operations over every name: what a killed child was doing. */
static void seg_churn_once(const char *base)
{
	char name[128];
	mv_segment *s, *t;
	mv_view v;
	int i, rc;

	for (i = 0; i < SEG_NAMES; i++) {
		churn_name(name, sizeof(name), base, i);
		rc = mv_segment_create(&s, name, 65536, NULL);
		if (rc == -EEXIST)
			rc = mv_segment_open(&s, name, NULL);
		MV_TEST_CHECK(rc == 0);
		MV_TEST_CHECK(mv_view_from(&v, mv_segment_exporter(s), 0) == 0);
		memset(mv_view_ptr(&v), i + 1, 4096);
		MV_TEST_CHECK(mv_view_release(&v) == 0);
		MV_TEST_CHECK(mv_segment_resize(s, 131072) == 0);
		MV_TEST_CHECK(mv_segment_open(&t, name, NULL) == 0);
		MV_TEST_CHECK(mv_view_from(&v, mv_segment_exporter(t), 0) == 0);
		MV_TEST_CHECK(mv_view_release(&v) == 0);
		MV_TEST_CHECK(mv_segment_close(t) == 0);
		MV_TEST_CHECK(mv_segment_resize(s, 65536) == 0);
		MV_TEST_CHECK(mv_segment_close(s) == 0);
		rc = mv_segment_unlink(name, 0);
		MV_TEST_CHECK(rc == 0 || rc == -ENOENT);
	}
}

static void child_seg_churn(int in, int out, const char *base)
{
	(void)in;
	mv_test_write_byte(out, 'R');
	for (;;)
		seg_churn_once(base);
}

struct kill_outcomes {
	int clean, absent, creating, corrupt, leaked;
};

/*
 * What a killed process left under @name: nothing, a segment that opens cleanly (and then
 * holds nobody and has a consistent size), or one still being created (zero magic, or no header
 * yet) that removal without force takes away. Nobody may hold it any more: the only process
 * that could is dead. Anything else is corruption.
 */
static void judge_segment(const char *name, struct kill_outcomes *k)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment *s;
	mv_view v;
	int rc = mv_segment_open(&s, name, NULL), fd;

	if (rc == -ENOENT) {
		k->absent++;
		return;
	}
	if (rc == -EBADMSG && (strstr(mv_errmsg(), "magic is zero") ||
			       strstr(mv_errmsg(), "too small for a memview header"))) {
		k->creating++;
		ck_assert_msg(mv_segment_unlink(name, 0) == 0, "%s: %s", name, mv_errmsg());
		return;
	}
	if (rc < 0) {
		fprintf(stderr, "corrupt after SIGKILL: %s\n", mv_errmsg());
		k->corrupt++;
		mv_segment_unlink(name, MV_SEGMENT_FORCE);
		return;
	}
	k->clean++;
	ck_assert_int_eq(mv_segment_get_info(&info, s), 0);
	ck_assert_int_le(4096 + info.data_size, name_size(name));
	ck_assert_int_eq(mv_view_from(&v, mv_segment_exporter(s), 0), 0);
	ck_assert_int_eq(mv_view_release(&v), 0);
	/* The dead process's export lock and holder slot are gone. */
	fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(mv_segment_busy(fd), 0);
	close(fd);
	ck_assert_int_eq(mv_segment_holders(NULL, 0, s), 1);
	ck_assert_int_eq(mv_segment_close(s), 0);
	ck_assert_msg(mv_segment_unlink(name, 0) == 0, "%s: %s", name, mv_errmsg());
}

/* A random point of a pass that takes @duration_ns: [0, duration). */
static long long kill_delay(long long duration_ns)
{
	return (long long)rnd_below((uint64_t)duration_ns);
}

#define SEG_ROUNDS 600

START_TEST(segment_operations_killed_at_random_points_leave_nothing_corrupt_or_leaked)
{
	struct kill_outcomes k = { 0, 0, 0, 0, 0 };
	int rounds = (int)mv_test_rounds(SEG_ROUNDS, 20);
	char base[96], name[128];
	long long t0, pass_ns;
	struct mv_test_child c;
	int round, i, fds;

	rng_state = 0x5eed5e9ULL;
	/* How long one pass takes here, now: kills land uniformly within it. */
	mv_test_name(base, sizeof(base), run_tag);
	t0 = mvu_now_ns();
	for (i = 0; i < 8; i++)
		seg_churn_once(base);
	pass_ns = (mvu_now_ns() - t0) / 8;
	fds = mv_test_count_fds();
	for (round = 0; round < rounds; round++) {
		mv_test_name(base, sizeof(base), run_tag);
		c = mv_test_spawn(child_seg_churn, base);
		ck_assert_int_gt(c.pid, 0);
		ck_assert_int_eq(mv_test_read_byte(c.from, 20000), 'R');
		sleep_ns(kill_delay(pass_ns));
		kill_and_reap(&c);
		for (i = 0; i < SEG_NAMES; i++) {
			churn_name(name, sizeof(name), base, i);
			judge_segment(name, &k);
		}
		if (count_run_names() != 0)
			k.leaked++;
		sweep_names();
	}
	ck_assert_int_eq(mv_test_count_fds(), fds);
	fprintf(stderr, "faults: sigkill segment ops (create/view/grow/open/close/shrink/unlink, "
			"kill in [0, %lld us)): %d rounds, %d names checked: %d clean, %d absent, %d "
			"being created (removed), %d corrupt, %d leaked\n",
		pass_ns / 1000, rounds, rounds * SEG_NAMES, k.clean, k.absent, k.creating,
		k.corrupt, k.leaked);
	ck_assert_int_eq(k.corrupt, 0);
	ck_assert_int_eq(k.leaked, 0);
}
END_TEST

/* ------------------------------------------------------------------ SIGKILL: channels */

#define CHAN_SLOTS 8
#define CHAN_ROUNDS 200 /* per kind: producer, consumer, create/close */
#define LONG_NS 10000000000LL

static mv_chan_opts chan_opts(void)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;

	o.nslots = CHAN_SLOTS;
	o.slot_size = 256;
	return o;
}

/* Producer that creates the channel and sends numbered messages until it is killed. */
static void child_producer(int in, int out, const char *name)
{
	mv_chan_opts o = chan_opts();
	uint64_t seq = 0;
	mv_chan *ch;
	mv_view v;
	int rc;

	(void)in;
	MV_TEST_CHECK(mv_chan_create(&ch, name, &o) == 0);
	mv_test_write_byte(out, 'R');
	for (;;) {
		rc = mv_chan_loan(&v, ch, 1000000000LL);
		if (rc == -ETIMEDOUT)
			continue;
		MV_TEST_CHECK(rc == 0);
		memcpy(mv_view_ptr(&v), &seq, sizeof(seq));
		MV_TEST_CHECK(mv_chan_send(ch, &v, sizeof(seq)) == 0);
		seq++;
	}
}

/* Consumer that joins when told and receives, holding up to three messages, until killed. */
static void child_consumer(int in, int out, const char *name)
{
	mv_view held[3];
	int nheld = 0, rc, i;
	mv_chan *ch;

	(void)out;
	MV_TEST_CHECK(mv_test_read_byte(in, 20000) == 'G');
	MV_TEST_CHECK(mv_chan_join(&ch, name, NULL, LONG_NS) == 0);
	for (i = 0;; i++) {
		if (nheld == 3 || (nheld && (i & 1))) {
			MV_TEST_CHECK(mv_view_release(&held[0]) == 0);
			memmove(&held[0], &held[1], (size_t)--nheld * sizeof(held[0]));
		}
		rc = mv_chan_recv(&held[nheld], ch, LONG_NS);
		MV_TEST_CHECK(rc == 0);
		nheld++;
	}
}

/* create, loan, send, close, over and over. */
static void child_chan_churn(int in, int out, const char *name)
{
	mv_chan_opts o = chan_opts();
	mv_chan *ch;
	mv_view v;
	int i;

	(void)in;
	mv_test_write_byte(out, 'R');
	for (;;) {
		MV_TEST_CHECK(mv_chan_create(&ch, name, &o) == 0);
		for (i = 0; i < 4; i++) {
			MV_TEST_CHECK(mv_chan_loan(&v, ch, 0) == 0);
			MV_TEST_CHECK(mv_chan_send(ch, &v, 8) == 0);
		}
		MV_TEST_CHECK(mv_chan_close(ch) == 0);
	}
}

/* Receive until -EPIPE; messages must be consecutive. Returns how many arrived. */
static long drain_until_epipe(mv_chan *ch, uint64_t *next, int *first)
{
	long n = 0;
	uint64_t seq;
	mv_view v;
	int rc;

	for (;;) {
		rc = mv_chan_recv(&v, ch, LONG_NS);
		if (rc == -EPIPE)
			return n;
		ck_assert_msg(rc == 0, "recv after the producer was killed: %d (%s)", rc,
			      mv_errmsg());
		memcpy(&seq, mv_view_ptr(&v), sizeof(seq));
		ck_assert_msg(*first || seq == *next, "message %llu after %llu",
			      (unsigned long long)seq, (unsigned long long)*next);
		*first = 0;
		*next = seq + 1;
		ck_assert_int_eq(mv_view_release(&v), 0);
		n++;
	}
}

/*
 * What a killed channel participant left: a channel lives in sealed memfds and an abstract
 * socket name, which die with their last process, so nothing can be left - no name in /dev/shm
 * (the old layout's control and data segments), and no channel to join.
 */
static void judge_channel_gone(const char *name, struct kill_outcomes *k)
{
	char dname[128];
	mv_chan *ch;

	snprintf(dname, sizeof(dname), "%s.data", name);
	ck_assert_mv_err(mv_chan_join(&ch, name, NULL, 0), ENOENT, "no such channel");
	if (name_exists(name) || name_exists(dname)) {
		k->leaked++;
		return;
	}
	k->absent++;
}

/* The producer is killed while a consumer (this process) receives. */
static void round_kill_producer(long long pass_ns, struct kill_outcomes *k, int *epipe)
{
	char name[96];
	uint64_t next = 0, seq;
	int first = 1, rc;
	long long until;
	struct mv_test_child c;
	mv_chan *ch;
	mv_view v;

	new_name(name, sizeof(name));
	c = mv_test_spawn(child_producer, name);
	ck_assert_int_gt(c.pid, 0);
	ck_assert_int_eq(mv_test_read_byte(c.from, 20000), 'R');
	ck_assert_msg(mv_chan_join(&ch, name, NULL, LONG_NS) == 0, "join: %s", mv_errmsg());
	until = mvu_now_ns() + kill_delay(pass_ns);
	while (mvu_now_ns() < until) {
		rc = mv_chan_recv(&v, ch, 0);
		if (rc == -EAGAIN)
			continue;
		ck_assert_msg(rc == 0, "recv: %d (%s)", rc, mv_errmsg());
		memcpy(&seq, mv_view_ptr(&v), sizeof(seq));
		ck_assert(first || seq == next);
		first = 0;
		next = seq + 1;
		ck_assert_int_eq(mv_view_release(&v), 0);
	}
	kill_and_reap(&c);
	/* Everything it sent arrives, then -EPIPE: never a hang, never a gap. */
	drain_until_epipe(ch, &next, &first);
	(*epipe)++;
	ck_assert_int_eq(mv_chan_close(ch), 0);
	/* The channel died with its producer: nothing to join, nothing left behind. */
	judge_channel_gone(name, k);
}

/* A consumer is killed while this process produces: its slots come back. */
static void round_kill_consumer(long long pass_ns, int *slots_back)
{
	mv_chan_opts o = chan_opts();
	mv_chan_stats stats = MV_CHAN_STATS_INIT;
	char name[96];
	long long until, deadline;
	struct mv_test_child c;
	mv_chan *ch;
	mv_view v;
	int rc;

	new_name(name, sizeof(name));
	/* Forked before the channel exists, so it shares none of the producer's locks. */
	c = mv_test_spawn(child_consumer, name);
	ck_assert_int_gt(c.pid, 0);
	ck_assert_int_eq(mv_chan_create(&ch, name, &o), 0);
	mv_test_write_byte(c.to, 'G');
	until = mvu_now_ns() + kill_delay(pass_ns);
	while (mvu_now_ns() < until) {
		rc = mv_chan_loan(&v, ch, 0);
		if (rc == -EAGAIN) {
			mv_chan_get_stats(&stats, ch); /* admits and collects */
			continue;
		}
		ck_assert_msg(rc == 0, "loan: %d (%s)", rc, mv_errmsg());
		ck_assert_int_eq(mv_chan_send(ch, &v, 8), 0);
	}
	kill_and_reap(&c);
	/* The producer finds the consumer dead and takes back every slot it held. */
	deadline = mvu_now_ns() + LONG_NS;
	for (;;) {
		ck_assert_int_eq(mv_chan_get_stats(&stats, ch), 0);
		if ((stats.free_slots == CHAN_SLOTS && !stats.consumers) ||
		    mvu_now_ns() >= deadline)
			break;
		usleep(200);
	}
	ck_assert_msg(stats.free_slots == CHAN_SLOTS && stats.consumers == 0,
		      "%u of %d slots free, %u consumers, after the consumer was killed",
		      stats.free_slots, CHAN_SLOTS, stats.consumers);
	(*slots_back)++;
	ck_assert_int_eq(mv_chan_loan(&v, ch, 0), 0);
	ck_assert_int_eq(mv_chan_send(ch, &v, 8), 0);
	ck_assert_int_eq(mv_chan_close(ch), 0);
	ck_assert(!name_exists(name));
}

/* A create/loan/send/close loop is killed; what it left is judged, removed, made again. */
static void round_kill_churn(long long pass_ns, struct kill_outcomes *k)
{
	mv_chan_opts o = chan_opts();
	char name[96];
	struct mv_test_child c;
	mv_chan *ch;

	new_name(name, sizeof(name));
	c = mv_test_spawn(child_chan_churn, name);
	ck_assert_int_gt(c.pid, 0);
	ck_assert_int_eq(mv_test_read_byte(c.from, 20000), 'R');
	sleep_ns(kill_delay(pass_ns));
	kill_and_reap(&c);
	judge_channel_gone(name, k);
	/* Fault lifted: the name can be used again. */
	ck_assert_int_eq(mv_chan_create(&ch, name, &o), 0);
	ck_assert_int_eq(mv_chan_close(ch), 0);
}

START_TEST(channel_operations_killed_at_random_points_leave_nothing_corrupt_or_leaked)
{
	struct kill_outcomes k = { 0, 0, 0, 0, 0 };
	int rounds = (int)mv_test_rounds(CHAN_ROUNDS, 20);
	mv_chan_opts o = chan_opts();
	int round, i, epipe = 0, slots_back = 0, fds;
	char name[96];
	long long t0, pass_ns;
	mv_chan *ch;
	mv_view v;

	rng_state = 0xc4a77e1ULL;
	/* One create, 64 loan/send, close: the span kills are spread over. */
	t0 = mvu_now_ns();
	for (round = 0; round < 8; round++) {
		ck_assert_int_eq(mv_chan_create(&ch, new_name(name, sizeof(name)), &o), 0);
		for (i = 0; i < 64; i++) {
			ck_assert_int_eq(mv_chan_loan(&v, ch, 0), 0);
			ck_assert_int_eq(mv_chan_send(ch, &v, 8), 0);
		}
		ck_assert_int_eq(mv_chan_close(ch), 0);
	}
	pass_ns = (mvu_now_ns() - t0) / 8;
	fds = mv_test_count_fds();
	for (round = 0; round < rounds; round++) {
		round_kill_producer(pass_ns, &k, &epipe);
		round_kill_consumer(pass_ns, &slots_back);
		round_kill_churn(pass_ns, &k);
		if (count_run_names() != 0)
			k.leaked++;
		sweep_names();
	}
	ck_assert_int_eq(mv_test_count_fds(), fds);
	fprintf(stderr, "faults: sigkill channel ops (create/join/loan/send/recv/close, kill in "
			"[0, %lld us)): %d rounds: %d producers killed -> %d consumers got every "
			"message then EPIPE; %d consumers killed -> slots back %d/%d; %d create/close "
			"loops killed; %d names checked: %d clean, %d absent, %d being created "
			"(removed), %d corrupt, %d leaked\n",
		pass_ns / 1000, 3 * rounds, rounds, epipe, rounds, slots_back, rounds, rounds,
		k.clean + k.absent + k.creating + k.corrupt, k.clean,
		k.absent, k.creating, k.corrupt, k.leaked);
	ck_assert_int_eq(k.corrupt, 0);
	ck_assert_int_eq(k.leaked, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("faults");
	TCase *tc;

	snprintf(run_tag, sizeof(run_tag), "flt%ld", (long)getpid());
	signal(SIGPIPE, SIG_IGN);

	tc = tcase_create("resource limits");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, sweep_names);
	tcase_add_test(tc, exhausted_descriptors_give_emfile_leave_nothing_half_made_and_recover);
	tcase_add_test(tc, refused_mappings_give_enomem_change_nothing_and_recover);
	suite_add_tcase(s, tc);

	tc = tcase_create("truncation by a peer");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, sweep_names);
	tcase_add_test(tc, a_peer_truncating_the_data_is_reported_by_views_remap_resize_info_and_open);
	tcase_add_test(tc, a_segment_truncated_below_its_header_is_reported_closes_and_is_removed);
	tcase_add_test_raise_signal(tc, touching_a_view_past_a_truncated_end_raises_sigbus, SIGBUS);
	suite_add_tcase(s, tc);

	tc = tcase_create("sigkill at random points");
	tcase_set_timeout(tc, 240);
	tcase_add_unchecked_fixture(tc, NULL, sweep_names);
	tcase_add_test(tc, segment_operations_killed_at_random_points_leave_nothing_corrupt_or_leaked);
	tcase_add_test(tc, channel_operations_killed_at_random_points_leave_nothing_corrupt_or_leaked);
	suite_add_tcase(s, tc);
	return mv_test_run(s);
}
