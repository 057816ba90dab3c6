/*
 * tests/check_hostile.c - every peer is untrusted (issue 12): a process that can write a
 * segment or reach a channel must not make memview touch memory outside its mappings, write
 * where it chooses, hang a tool, or change a message another consumer holds.
 *
 * Each test is an attack as an attacker would run it on today's design: a forked peer process
 * writes, or tries every way it has to write, the memory memview shares - before the victim
 * opens and *while* the victim calls the API in a loop - and a victim that uses only the public
 * API (or a tool) checks the SAFE behaviour: a clean negative errno, every view inside a
 * mapping, no hang past a timeout, a readonly view's bytes never changing, a tool that ends
 * within seconds with a one-line error. Where the design took the attack surface away (a
 * channel's memory is sealed; nothing of it is in /dev/shm), the peer still tries, the way a
 * real one would on this system (/proc/PID/fd/N of a participant, the channel's socket), and
 * the test asserts that the kernel or the library refused it - with the refusal expected
 * (EPERM from a seal, EACCES from /proc, -EBADMSG), so a primitive that went wrong does not
 * pass for a defence. Victims run in forked children: a SIGSEGV/SIGBUS there is a failure with
 * a message, not a crash of the suite; every wait is bounded, and every test has an alarm.
 *
 * Where memview keeps what (header fields, the channel's memory and socket messages) is known
 * only to the attack primitives in tests/hostile.h.
 *
 * The attacks (numbers from issue 12). "was" is what the attack got on f06de6e, the code the
 * tests were first written against, where all but s4 FAILED:
 *
 *  1  the data offset rewritten under a holder - in tests/check_segment_hostile.c:
 *     a_header_that_moves_the_data_offset_is_refused_never_followed_past_the_mapping and
 *     a_peer_rewriting_the_header_while_the_victim_works_never_makes_it_fault (stronger: four
 *     kinds of lie, each result checked; was: a view 1 MiB past its mapping)
 *  2a the header lock's robust-list links rewritten - in tests/check_segment_hostile.c:
 *     garbage_in_the_old_mutex_bytes_and_the_holder_table_touches_nothing_of_the_victims
 *     (was: two writes of the peer's choice in the victim)
 *  2b the_shared_header_never_holds_a_pointer_into_a_holders_address_space
 *     Peer: reads the header page while the victim exports, reads the holder table, resizes;
 *     compares every word with /proc/VICTIM/maps. (was: the holder's TLS robust_head at byte 632)
 *  2c channel_memory_never_holds_a_pointer_into_a_participants_address_space
 *     Peer, a consumer: reads the producer's memory and the victim consumer's (through
 *     /proc/VICTIM/fd) while messages flow; compares with the producer's and victim's maps.
 *  3a a_fake_producer_offering_lying_geometry_is_refused_and_never_followed
 *     Only the producer can write geometry now, so the peer is a fake producer: it listens on
 *     the channel's socket and OFFERs sealed memory whose header claims 2^62-byte slots, 16 x
 *     2^60 (wraps to 0), more slots than the memory holds, the last slot one cache line past
 *     it, bad counts and sizes, a shape bigger than a slot or overflowing, a segment header
 *     claiming more than the memfd, and honest geometry in memory it can still write. The joiner
 *     must refuse each with -EBADMSG, leak nothing, keep no mapping; the same fake telling the
 *     truth is admitted (and then its message lies inside the joiner's mapping).
 *  3b a_fake_producer_publishing_lies_never_gets_a_consumer_a_view_outside_its_slot
 *     The fake producer, admitted, publishes a length of 2^63, a slot the consumer still holds
 *     and slot 65535 of 4, and rewrites its header's geometry while the consumer receives.
 *  3c a_peer_rewriting_channel_geometry_cannot_push_a_consumers_slot_view_outside_any_mapping
 *     Peer (same uid): every way to write a wrapping slot size into the producer's memory
 *     through /proc/PRODUCER/fd/N (shared writable mmap, pwrite, mprotect, MADV_REMOVE, hole
 *     punch), in a loop, while the victim joins and receives. (was: a slot view outside any
 *     mapping)
 *  4a a_consumer_forging_another_consumers_hand_backs_cannot_get_its_held_slot_reused
 *     Peer (a consumer): every way to write "handed back every slot" into the victim
 *     consumer's memory, through /proc/VICTIM/fd and the producer's copy, and a join that
 *     presents the victim's memory as its own, while the victim holds a message.
 *     (was, forging "left": the victim's readonly view changed)
 *  4b a_forged_ring_entry_cannot_hand_a_consumer_a_slot_the_producer_then_rewrites
 *     Peer (a consumer): every way to publish message 0 as slot 3 in the producer's ring
 *     (its own descriptor, the producer's, the victim's); the victim must receive nothing
 *     before the producer sends, then only what it sent, unchanged while it holds it.
 *  5a a_consumer_cannot_change_a_message_through_the_producers_memory
 *     Peer (a consumer, same uid): every way to overwrite the slots, through its own
 *     descriptor and /proc of the producer and of the victim. (was: the message changed)
 *  5b another_user_given_the_channel_cannot_change_a_message_through_the_producers_memory
 *     Peer: nobody, a legitimate consumer of a 0604 channel: /proc of the root producer and
 *     victim refuse it (EACCES); the memory it was given is sealed (EPERM). (was: changed)
 *  5c a segment name squatted by another user - in tests/check_segment_hostile.c:
 *     a_segment_another_uid_owns_is_refused_unless_the_caller_accepts_any_owner (was: opened)
 *  5d a_channel_another_user_created_first_is_refused_by_join_unless_asked
 *     nobody creates the channel (mode 0666); root's join: -EPERM, and joins with
 *     MV_CHAN_ANY_OWNER. (was: joined)
 *  6a a_live_channel_has_nothing_in_dev_shm_to_remove
 *     With a producer and a consumer in the channel: nothing in /dev/shm (a private one: it is
 *     empty); unlinking or opening the name finds nothing; both ends keep working.
 *     (was: `mvshm rm` removed a live channel)
 *  6b a_peer_truncating_the_channels_memory_does_not_kill_producer_or_consumer
 *     Peer: cut to 0, grow, allocate past the end, every channel memfd in /proc of the producer
 *     and the consumer, in a loop while they work; messages must keep flowing, no error.
 *     (was: both killed by SIGBUS)
 *  7a mvshm_info_on_a_fifo_at_a_segment_name_fails_within_seconds_in_one_line
 *  7b lsshm_finishes_while_a_peer_swaps_a_segment_name_with_a_fifo
 *  7c mvshm_gc_finishes_while_a_peer_swaps_a_segment_name_with_a_fifo
 *     A FIFO at a name; a peer swapping 4 segments with 4 FIFOs (renameat2 RENAME_EXCHANGE);
 *     the tool up to 30 times, 3 s each. (was: hung)
 *  Smaller items:
 *  s1 tools_escape_control_characters_in_the_names_they_print (was: printed raw)
 *  s2 recv of several descriptors - in tests/check_segment_hostile.c:
 *     recv_of_a_message_with_several_descriptors_refuses_it_and_leaks_none (stronger: five
 *     shapes of message, up to 40 descriptors; was: 2 leaked)
 *  s3 mvshm_gc_ignores_the_test_pause_hook_in_a_production_build (was: hung)
 *  s4 a_peer_racing_a_resize_cannot_turn_it_into_a_shrink_under_anothers_view
 *     Peer: flips the data size between 0 and 1 MiB, as a bare store and as a whole valid
 *     update (checksum, seqlock), while the victim asks for a shrink another process's view
 *     forbids. (was: passed - gcc folded the second read - kept as a guard)
 *  s5 gc_in_another_pid_namespace_keeps_a_segment_a_live_process_maps (was: removed it)
 *  s6 lsshm_never_opens_a_descriptor_before_it_knows_what_it_is (was: opened a FIFO)
 *  s7 a_joiner_gone_before_admit_has_its_connection_closed_once
 *     A joiner sends JOIN with good memory and closes at once: ADMIT fails, and the producer
 *     must close the connection once (this file counts close(2) of a closed descriptor).
 *     (was: closed twice - another thread's descriptor, in a threaded program)
 *
 * 7a-7c, s1, s3, s5 and s6 attack the tools (tools/), which are hardened separately: they
 * need the tools (and root: a private /dev/shm). A run in which one of them could not be
 * registered - a tool is missing, or not root - ends in SKIP (77) when nothing failed, never in
 * a pass. Not expressed here (no peer acting through shared memory or a name): io_uring
 * completions passed twice (tests/check_uring.c), the fuzz-target shape disagreement, heap
 * resize to the same size.
 *
 * Every test runs, as root, in a /dev/shm of its own (a fresh tmpfs in a mount namespace of
 * its own), inherited by every child and tool it starts: a FIFO, a swap loop or gc never
 * touches other programs' objects, and "nothing in /dev/shm" means nothing at all. Tests that
 * need a second uid are only registered when run as root.
 */
#define _GNU_SOURCE
#include "testlib.h"
#include "hostile.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEC 1000000000LL
#define MS 1000000LL
#define TIMED_OUT (-2)
/* Check's timeout of every test, in seconds; each test's alarm rings a little earlier. */
#define TEST_SECONDS 60

/* ------------------------------------------------------------------ the board */

/* What children report to the test, in shared memory. */
struct board {
	char err[1024];     /* the first failure a child reported */
	char peer[1024];    /* what the peer did, or found */
	int err_taken;
	int stop;           /* set by the test: loops in children end */
	int peer_stop;      /* set by the test: the peer's attack ends */
	pid_t prod_pid;     /* set by the test: the producer */
	pid_t victim_pid;   /* set by the victim (or the consumer the peer goes for) */
	int expect_fill;    /* the byte the victim's message must be made of (0: any one byte) */
	uint64_t rounds;    /* victim: operations done */
	uint64_t clean;     /* victim: clean errors seen */
	uint64_t views;     /* victim: views checked */
	uint64_t acts;      /* peer: attacks made */
};

static struct board *bd;
static int private_shm; /* this test has a /dev/shm of its own */

static void private_dev_shm(void);

/* Seconds Check gives a test here (CK_TIMEOUT_MULTIPLIER scales them, as under valgrind). */
static unsigned test_seconds(void)
{
	const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
	int k = m ? atoi(m) : 1;

	return TEST_SECONDS * (unsigned)(k > 0 ? k : 1);
}

/*
 * Before each test, in its own process: the board, an alarm that ends the test (and with it,
 * through their parent-death signal, every child) whatever hangs, and as root a /dev/shm of
 * its own.
 */
static void board_setup(void)
{
	bd = mmap(NULL, sizeof(*bd), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(bd != MAP_FAILED);
	alarm(test_seconds() - 5);
	private_shm = 0;
	if (geteuid() == 0) {
		private_dev_shm();
		private_shm = 1;
	}
}

static int stopped(void)
{
	return __atomic_load_n(&bd->stop, __ATOMIC_ACQUIRE);
}

static void stop_all(void)
{
	__atomic_store_n(&bd->stop, 1, __ATOMIC_RELEASE);
}

/* A child's failure: the first one goes on the board for the test's message; then exit 3. */
__attribute__((format(printf, 1, 2), noreturn)) static void child_fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (__atomic_exchange_n(&bd->err_taken, 1, __ATOMIC_ACQ_REL) == 0)
		snprintf(bd->err, sizeof(bd->err), "%s", msg);
	fprintf(stderr, "child %ld: %s\n", (long)getpid(), msg);
	_exit(3);
}

/* What the peer did or found, for the test's message. */
__attribute__((format(printf, 1, 2))) static void peer_says(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bd->peer, sizeof(bd->peer), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ names */

static char run_tag[32];

static const char *new_name(void)
{
	return mv_test_new_name(run_tag);
}

static void unlink_names(void)
{
	alarm(0);
	mv_test_unlink_names();
	if (bd)
		munmap(bd, sizeof(*bd));
	bd = NULL;
}

/* Runner side: whatever this run's tests left in /dev/shm. */
static void sweep_names(void)
{
	mv_test_sweep_names(run_tag);
}

static int name_exists(const char *name)
{
	char path[300];

	snprintf(path, sizeof(path), "/dev/shm%s", name);
	return access(path, F_OK) == 0;
}

/* ------------------------------------------------------------------ time, children */

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * SEC + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Used to vary what a child does (set before spawning: the child gets a copy). */
static int child_mode;

static struct mv_test_child spawn(mv_test_child_fn fn, const char *arg)
{
	struct mv_test_child c = mv_test_spawn(fn, arg);

	ck_assert_msg(c.pid > 0, "cannot start a child: %s", strerror(errno));
	return c;
}

static void tell(const struct mv_test_child *c, char cmd)
{
	mv_test_write_byte(c->to, cmd);
}

/* Wait for @c's byte @want (at most @ms); anything else fails the test, saying who and why. */
static void expect(const struct mv_test_child *c, char want, int ms, const char *who)
{
	int b = mv_test_read_byte(c->from, ms);

	ck_assert_msg(b == (unsigned char)want, "%s did not report '%c' (got %d): %s", who, want, b,
		      bd->err[0] ? bd->err : "no message");
}

/* A byte the child's parent sends, or -1 after @ms (children's side of tell()). */
static int command(int in, int ms)
{
	return mv_test_read_byte(in, ms);
}

/* Wait at most @ms for @c to end (killing it then); its wait status, or TIMED_OUT. */
static int finish(struct mv_test_child *c, int ms)
{
	long long deadline = now_ns() + (long long)ms * MS;
	int st = 0;
	pid_t r;

	for (;;) {
		r = waitpid(c->pid, &st, WNOHANG);
		if (r == c->pid)
			break;
		if (r < 0 && errno != EINTR) {
			st = -1;
			break;
		}
		if (now_ns() >= deadline) {
			kill(c->pid, SIGKILL);
			while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
				;
			st = TIMED_OUT;
			break;
		}
		sleep_ms(2);
	}
	close(c->to);
	close(c->from);
	return st;
}

static const char *describe(int st, char *buf, size_t cap)
{
	if (st == TIMED_OUT)
		snprintf(buf, cap, "did not finish in time (killed)");
	else if (st == -1)
		snprintf(buf, cap, "could not be waited for");
	else if (WIFEXITED(st))
		snprintf(buf, cap, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, cap, "was killed by SIG%s", sigabbrev_np(WTERMSIG(st)) ?
								  sigabbrev_np(WTERMSIG(st)) : "?");
	else
		snprintf(buf, cap, "ended with status 0x%x", st);
	return buf;
}

/* The victim (or any participant) @who must have ended normally: no signal, no hang, status 0. */
static void assert_clean_exit(int st, const char *who)
{
	char d[96];

	ck_assert_msg(st != TIMED_OUT && st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "%s %s: %s%s%s%s", who, describe(st, d, sizeof(d)),
		      bd->err[0] ? bd->err : "no message", bd->peer[0] ? " [peer: " : "",
		      bd->peer, bd->peer[0] ? "]" : "");
}

/* Drop root for user nobody, keeping the parent-death signal (a uid change clears it). */
static void become_nobody(void)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw ? pw->pw_uid : 65534;
	gid_t gid = pw ? pw->pw_gid : 65534;

	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		child_fail("cannot become user nobody (uid %d): %s", (int)uid, strerror(errno));
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static uid_t nobody_uid(void)
{
	struct passwd *pw = getpwnam("nobody");

	return pw ? pw->pw_uid : 65534;
}

/* ------------------------------------------------------------------ views and mappings */

/*
 * 1 if [@p, @p + @len) lies inside one mapping of this process (consecutive ranges of one file
 * count as one mapping); else 0, with why in @why.
 */
static int inside_one_mapping(const void *p, size_t len, char *why, size_t cap)
{
	unsigned long long s, e, off, ino, have_ino = 0;
	uintptr_t a = (uintptr_t)p, end = 0;
	char line[1024], perms[8], dev[32], have_dev[32] = "", path[512] = "?";
	int found = 0, n;
	FILE *f;

	if (len == 0)
		return 1;
	f = fopen("/proc/self/maps", "re");
	if (!f) {
		snprintf(why, cap, "cannot read /proc/self/maps: %s", strerror(errno));
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		n = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &s, &e, perms, &off, dev, &ino,
			   &n) < 6)
			continue;
		if (!found) {
			if (a < s || a >= e)
				continue;
			found = 1;
			end = (uintptr_t)e;
			have_ino = ino;
			snprintf(have_dev, sizeof(have_dev), "%s", dev);
			snprintf(path, sizeof(path), "%s", n > 0 ? line + n : "");
			path[strcspn(path, "\n")] = '\0';
			continue;
		}
		if (s != end || ino == 0 || ino != have_ino || strcmp(dev, have_dev) != 0)
			break;
		end = (uintptr_t)e;
	}
	fclose(f);
	if (!found) {
		snprintf(why, cap, "[%p, +%zu) starts outside any mapping", p, len);
		return 0;
	}
	if (len > end - a) {
		snprintf(why, cap, "[%p, +%zu) runs %zu bytes past the end of its mapping (%s)", p,
			 len, len - (end - a), *path ? path : "anonymous");
		return 0;
	}
	return 1;
}

/* Every byte of @v read (a view outside its mapping faults here, if nothing is mapped there). */
static void touch_view(const mv_view *v)
{
	static unsigned char sink[4 << 20];

	mv_view_tobytes(sink, sizeof(sink), v, 'C');
}

/* Whether this process still maps any memory of channel @name (by its memfd's name). */
static int maps_channel_memory(const char *name)
{
	char line[1024], want[200];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	snprintf(want, sizeof(want), "/memfd:mvchan:%s ", name);
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* The address ranges of process @pid (0: this one), from its maps. */
struct ranges {
	uintptr_t lo[1024], hi[1024];
	int n;
};

/* Loads (or with @append adds) @pid's ranges: 0, or -errno when its maps cannot be read. */
static int load_ranges(struct ranges *r, pid_t pid, int append)
{
	unsigned long long s, e;
	char line[1024], path[64], perms[5];
	FILE *f;

	if (!append)
		r->n = 0;
	if (pid)
		snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/*
	 * Only memory a pointer could lead to counts: readable, and smaller than a terabyte. Under
	 * AddressSanitizer the shadow and its guard gap reserve terabytes of address space (never
	 * touched, mostly PROT_NONE), in which any counter with bits above 32 would "point".
	 */
	while (r->n < 1024 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx %4s", &s, &e, perms) == 3 && perms[0] == 'r' &&
		    e - s < (1ULL << 40)) {
			r->lo[r->n] = (uintptr_t)s;
			r->hi[r->n] = (uintptr_t)e;
			r->n++;
		}
	fclose(f);
	return 0;
}

static int in_ranges(const struct ranges *r, uintptr_t a)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (a >= r->lo[i] && a < r->hi[i])
			return 1;
	return 0;
}

/*
 * Words below 4 GiB are not taken for addresses: shared memory is full of 32-bit counters, pids
 * and times, and under valgrind the program itself is loaded at 0x108000, so such a value can
 * fall inside a mapping by chance. What the robust-mutex bug leaked - thread, stack and library
 * addresses - lies far above 4 GiB in the plain and ASan builds, which catch it; under valgrind
 * (libraries loaded from 64 MiB up) this check sees less, and the other two builds judge.
 */
#define SMALLEST_POINTER ((uint64_t)1 << 32)

/*
 * The first 8-byte word of [@p, @p + @len) at least @min that is an address in @r: its offset,
 * or -1.
 */
static long find_pointer(const unsigned char *p, size_t len, const struct ranges *r,
			 uint64_t min, uint64_t *word)
{
	size_t off;

	for (off = 0; off + 8 <= len; off += 8) {
		memcpy(word, p + off, 8);
		if (*word >= min && in_ranges(r, (uintptr_t)*word))
			return (long)off;
	}
	return -1;
}

/* ------------------------------------------------------------------ tools */

struct tool_run {
	int status;       /* wait status, or TIMED_OUT */
	double secs;
	char out[16384];  /* standard output and error, NUL-terminated */
	size_t len;
};

static const char *tool_path(const char *tool)
{
	static char buf[4096];
	const char *top = getenv("top_builddir");

	snprintf(buf, sizeof(buf), "%s/tools/%s", top && *top ? top : ".", tool);
	return buf;
}

/*
 * Run tools/@tool with the NULL-terminated arguments after @tool, @env ("NAME=value" or NULL)
 * added, @pre (or NULL) called in the child before exec; stop it after @ms. Output goes to r->out.
 */
static void run_tool(struct tool_run *r, int ms, void (*pre)(void), const char *env,
		     const char *tool, ...)
{
	const char *argv[16];
	long long start = now_ns(), deadline = start + (long long)ms * MS;
	int p[2], n = 0, st = 0, devnull;
	va_list ap;
	pid_t pid;
	ssize_t got;

	memset(r, 0, sizeof(*r));
	argv[n++] = tool;
	va_start(ap, tool);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_DFL);
		dup2(p[1], 1);
		dup2(p[1], 2);
		devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		if (env)
			putenv((char *)env);
		if (pre)
			pre();
		execv(tool_path(tool), (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", tool_path(tool), strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		long long left = deadline - now_ns();
		struct pollfd pf = { p[0], POLLIN, 0 };

		if (left <= 0)
			break;
		if (poll(&pf, 1, (int)(left / MS) + 1) <= 0)
			continue;
		got = read(p[0], r->out + r->len, sizeof(r->out) - 1 - r->len);
		if (got <= 0)
			break;
		r->len += (size_t)got;
		if (r->len == sizeof(r->out) - 1)
			break;
	}
	close(p[0]);
	r->status = TIMED_OUT;
	while (now_ns() < deadline) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid) {
			r->status = st;
			break;
		}
		sleep_ms(2);
	}
	if (r->status == TIMED_OUT) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	r->out[r->len] = '\0';
	r->secs = (double)(now_ns() - start) / SEC;
}

static int exited_with(const struct tool_run *r, int code)
{
	return r->status != TIMED_OUT && WIFEXITED(r->status) && WEXITSTATUS(r->status) == code;
}

/* @s with control characters shown as \xNN, for a message. */
static const char *visible(const char *s, size_t len)
{
	static char buf[2048];
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < sizeof(buf); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' || (c >= 0x20 && c < 0x7f))
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}

/*
 * This test's own /dev/shm: a fresh tmpfs in a mount namespace of its own (Check runs each test
 * in a process of its own), inherited by every child and tool it starts afterwards. As root,
 * before every test (board_setup()).
 */
static void private_dev_shm(void)
{
	ck_assert_msg(unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS): %s", strerror(errno));
	ck_assert_msg(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0,
		      "mount --make-rprivate /: %s", strerror(errno));
	ck_assert_msg(mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") == 0,
		      "mount tmpfs on /dev/shm: %s", strerror(errno));
}

/* ------------------------------------------------------------------ channel participants */

/* What producer() does; set before spawning it. */
struct producer_plan {
	unsigned nslots;
	size_t slot_size;
	unsigned mode;
	unsigned wait_consumers;  /* admit this many, then report 'a' */
	int wait_go;              /* then wait for 'g' */
	long nmsgs;               /* messages to send, -1: until stopped */
	long long loan_timeout;
	int delay_us;             /* between messages */
	int as_nobody;            /* create as uid nobody (5d) */
};

static struct producer_plan plan;

static unsigned char fill_byte(uint64_t seq)
{
	return (unsigned char)(1 + seq % 251);
}

/*
 * The producer: creates @name ('c'), admits consumers ('a'), sends messages whose every byte
 * is fill_byte(seq) ('s' when done), then keeps the channel until stopped. Any failing call is
 * a failure: nothing a peer does may make the producer's calls fail.
 */
static void producer(int in, int out, const char *name)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_chan *ch = NULL;
	uint64_t seq = 0;
	mv_view v;
	int rc;

	if (plan.as_nobody)
		become_nobody();
	o.nslots = plan.nslots;
	o.slot_size = plan.slot_size;
	o.mode = plan.mode;
	rc = mv_chan_create(&ch, name, &o);
	if (rc < 0)
		child_fail("producer: cannot create %s: %s", name, mv_errmsg());
	mv_test_write_byte(out, 'c');
	if (plan.wait_consumers) {
		rc = mv_chan_wait_consumers(ch, plan.wait_consumers, 10 * SEC);
		if (rc < 0)
			child_fail("producer: consumers did not join: %s", mv_errmsg());
		mv_test_write_byte(out, 'a');
	}
	if (plan.wait_go && command(in, 20000) != 'g')
		_exit(0);
	while ((plan.nmsgs < 0 || (long)seq < plan.nmsgs) && !stopped()) {
		rc = mv_chan_loan(&v, ch, plan.loan_timeout);
		if (rc == -EAGAIN || rc == -ETIMEDOUT)
			continue;
		if (rc < 0)
			child_fail("producer: loan: %s", mv_errmsg());
		memset(mv_view_ptr(&v), fill_byte(seq), (size_t)mv_view_nbytes(&v));
		rc = mv_chan_send(ch, &v, (size_t)mv_view_nbytes(&v));
		if (rc < 0)
			child_fail("producer: send: %s", mv_errmsg());
		seq++;
		if (plan.delay_us)
			usleep((useconds_t)plan.delay_us);
	}
	mv_test_write_byte(out, 's');
	while (!stopped())
		sleep_ms(1);
	mv_chan_close(ch);
}

/*
 * A consumer's start: on 'j', join @name (@flags: MV_CHAN_ANY_OWNER or 0), put its pid on the
 * board as the victim's if @victim, and report 'j'.
 */
static mv_chan *join_when_told(int in, int out, const char *name, unsigned flags, int victim,
			       const char *who)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_chan *ch = NULL;

	if (command(in, 20000) != 'j')
		_exit(4);
	o.flags = flags;
	if (mv_chan_join(&ch, name, &o, 10 * SEC) < 0)
		child_fail("%s (uid %d): cannot join %s: %s", who, (int)getuid(), name,
			   mv_errmsg());
	if (victim)
		bd->victim_pid = getpid();
	mv_test_write_byte(out, 'j');
	return ch;
}

/* Fails the victim when the bytes at @p no longer are @copy: a slot written under a live view. */
static void check_unchanged(const unsigned char *p, const unsigned char *copy, size_t n)
{
	size_t i;

	if (memcmp(p, copy, n) == 0)
		return;
	for (i = 0; i < n && p[i] == copy[i]; i++)
		;
	child_fail("victim: the bytes of its readonly view of a received message changed while it "
		   "held the view (offset %zu: 0x%02x became 0x%02x): the slot was written again "
		   "under a live view", i, copy[i], p[i]);
}

/* Fails the victim unless the message @p is what producer() sends: one byte throughout. */
static void check_sent(const unsigned char *p, size_t n, const char *who)
{
	size_t i;
	int want = bd->expect_fill ? bd->expect_fill : n ? p[0] : 0;

	for (i = 0; i < n; i++)
		if (p[i] != want)
			child_fail("%s: byte %zu of a received message is 0x%02x, not 0x%02x: not "
				   "what the producer sent", who, i, p[i], want);
}

/*
 * The victim consumer of attacks 4 and 5: joins on 'j' (reports 'j'), receives one message,
 * checks it is what the producer sent and holds its readonly view ('h'; 'n' if nothing came
 * in 10 s), then until 'd' (or 10 s) checks that the view's bytes never change. Public API only.
 */
static void victim_holds_a_message(int in, int out, const char *name)
{
	mv_chan *ch = join_when_told(in, out, name, 0, 1, "victim");
	const unsigned char *p;
	unsigned char *copy;
	long long deadline;
	size_t n;
	mv_view v;
	int rc;

	rc = mv_chan_recv(&v, ch, 10 * SEC);
	if (rc < 0) {
		/* Nothing arrived: the attack put no message in front of us. */
		mv_test_write_byte(out, 'n');
		mv_chan_close(ch);
		return;
	}
	if (!mv_view_readonly(&v))
		child_fail("victim: a received message's view is writable");
	p = mv_view_ptr(&v);
	n = (size_t)mv_view_nbytes(&v);
	check_sent(p, n, "victim");
	copy = malloc(n ? n : 1);
	if (!copy)
		child_fail("victim: out of memory");
	memcpy(copy, p, n);
	mv_test_write_byte(out, 'h');
	deadline = now_ns() + 10 * SEC;
	do
		check_unchanged(p, copy, n);
	while (command(in, 1) != 'd' && now_ns() < deadline);
	check_unchanged(p, copy, n);
	mv_view_release(&v);
	mv_chan_close(ch);
	free(copy);
}

/*
 * A consumer that joins ('j'; it is the victim of 2c and 6) and receives in a loop until
 * stopped, each message checked and read whole. Any error but "nothing yet" is a failure (after
 * the stop, the producer closing is not).
 */
static void consumer_receives_until_stopped(int in, int out, const char *name)
{
	mv_chan *ch = join_when_told(in, out, name, 0, 1, "consumer");
	mv_view v;
	int rc;

	while (!stopped()) {
		rc = mv_chan_recv(&v, ch, 10 * MS);
		if (rc == 0) {
			check_sent(mv_view_ptr(&v), (size_t)mv_view_nbytes(&v), "consumer");
			touch_view(&v);
			mv_view_release(&v);
			__atomic_fetch_add(&bd->rounds, 1, __ATOMIC_RELEASE);
		} else if (rc == -EPIPE && stopped()) {
			break;
		} else if (rc != -EAGAIN && rc != -ETIMEDOUT) {
			child_fail("consumer: recv after %llu messages: %s",
				   (unsigned long long)bd->rounds, mv_errmsg());
		}
	}
	while (!stopped())
		sleep_ms(1);
	mv_chan_close(ch);
}

/* ------------------------------------------------------------------ the peer's ways in */

/*
 * What peer_attacker() does; set before spawning it. It goes for the memory of @role of the
 * channel, wherever a process it may look at holds a descriptor of it, and tries every way to
 * change it (tests/hostile.h: hs_try_to_write()).
 */
struct attack_plan {
	enum hs_forgery what;  /* the bytes it writes (HS_WRITE) */
	unsigned ways;         /* HS_WRITE, HS_RESIZE */
	int role;              /* whose memory: HS_PRODUCER_MEM, HS_CONSUMER_MEM, HS_ANY_MEM */
	int in_self;           /* look in its own descriptors (what it was given as a consumer) */
	int in_producer;       /* in /proc/PRODUCER/fd */
	int in_victim;         /* in /proc/VICTIM/fd */
	int join;              /* join as a consumer first, and receive while it attacks */
	int as_nobody;         /* become nobody first */
	int every_ms;          /* attack again this often until stopped; 0: once */
	int impersonate;       /* also join presenting the victim's memory as its own */
};

static struct attack_plan atk;

#define MAX_TARGETS 48

struct targets {
	struct hs_fd t[MAX_TARGETS];
	int n;
	int refused_listing;   /* /proc/PID/fd directories it could not list */
};

/*
 * The descriptors of the channel's memory in @pid's table (0: its own). A directory it may not
 * list (another user's process) gets descriptors 0 to 15 tried blind, as an attacker would;
 * a directory it may list must hold some (else the attack would prove nothing).
 */
static void find_targets(struct targets *tg, pid_t pid, const char *name, const char *whose)
{
	int k = hs_chan_memory_fds(tg->t + tg->n, MAX_TARGETS - tg->n, pid, name, atk.role), i;

	if (k > 0) {
		tg->n += k;
		return;
	}
	if (k == 0)
		child_fail("peer (uid %d): no descriptor of %s's memory in %s's /proc/%ld/fd",
			   (int)getuid(), name, whose, (long)pid);
	if (k != -EACCES)
		child_fail("peer: cannot list /proc/%ld/fd: %s", (long)pid, strerror(-k));
	tg->refused_listing++;
	for (i = 0; i < 16 && tg->n < MAX_TARGETS; i++, tg->n++) {
		snprintf(tg->t[tg->n].path, sizeof(tg->t[0].path), "/proc/%ld/fd/%d", (long)pid, i);
		tg->t[tg->n].role = -1; /* unknown */
	}
}

/*
 * The bytes the plan's forgery puts into target @t, and where (tests/hostile.h, hs_forge()): its
 * length, 0 when the target has gone (the test is ending). A blind target, or an attack on the
 * size alone, gets 8 zero bytes at 0 (only the size or the open matters there).
 */
static ssize_t forgery_for(const struct hs_fd *t, unsigned char *buf, size_t cap, off_t *off)
{
	struct hs_chan_where w;
	ssize_t len;
	int fd;

	*off = 0;
	memset(buf, 0, 8);
	if (t->role < 0 || !(atk.ways & HS_WRITE))
		return 8;
	fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		child_fail("peer: cannot read %s: %s", t->path, strerror(errno));
	len = hs_chan_where(&w, fd, t->role);
	if (len == 0)
		len = hs_forge(atk.what, &w, fd, buf, cap, off);
	close(fd);
	if (len <= 0)
		child_fail("peer: cannot work out where to write in %s: %s", t->path,
			   strerror(len ? (int)-len : EINVAL));
	return len;
}

/*
 * One round: every way at every target. A way that works fails the peer at once (saying what
 * worked); a refusal must be the kernel's (EPERM: a seal; EACCES: /proc or a mapping that may
 * not become writable), anything else means the attack itself went wrong. The first round is
 * described on the board. Returns the refusals.
 */
static uint64_t attack_round(struct targets *tg, int first)
{
	static unsigned char buf[1 << 17];
	const char *path;
	struct hs_tries r;
	char desc[700];
	uint64_t refused = 0;
	size_t said = 0;
	ssize_t len;
	off_t off;
	int i, k;

	for (i = 0; i < tg->n; i++) {
		path = tg->t[i].path;
		len = forgery_for(&tg->t[i], buf, sizeof(buf), &off);
		if (len == 0)
			continue;
		hs_try_to_write(&r, path, off, buf, (size_t)len, atk.ways);
		if (r.n == 1 && r.t[0].err == ENOENT)
			continue; /* no such descriptor (blind), or gone */
		hs_tries_str(&r, desc, sizeof(desc));
		for (k = 0; k < r.n; k++) {
			if (r.t[k].err == 0)
				child_fail("peer (uid %d): %s: the kernel let it change the "
					   "channel's memory: %s", (int)getuid(), path, desc);
			if (r.t[k].err != EPERM && r.t[k].err != EACCES)
				child_fail("peer: %s: %s gave %s, not a refusal by a seal or by "
					   "/proc: the attack went wrong (%s)", path, r.t[k].how,
					   strerror(r.t[k].err), desc);
			refused++;
		}
		if (first && said < sizeof(bd->peer) - 1)
			said += (size_t)snprintf(bd->peer + said, sizeof(bd->peer) - said,
						 "%s%s: %s", said ? " | " : "", path, desc);
	}
	return refused;
}

/*
 * Join channel @name with the victim consumer's memory (opened readonly through
 * /proc/VICTIM/fd) as our own: the producer then reads "our" hand-backs from the victim's
 * queue. Returns the connection (kept until the peer ends) or -errno; what happened goes on
 * the board.
 */
static int impersonate_victim(const char *name)
{
	struct hs_fd t[4];
	uint32_t place = 0;
	size_t said = strlen(bd->peer);
	int n = hs_chan_memory_fds(t, 4, bd->victim_pid, name, HS_CONSUMER_MEM), fd, s;

	if (n <= 0)
		child_fail("peer: no descriptor of the victim's memory to bring: %d", n);
	fd = open(t[0].path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		child_fail("peer: cannot open %s: %s", t[0].path, strerror(errno));
	s = hs_join_with_memory(name, fd, 5000, &place);
	close(fd);
	if (s >= 0)
		snprintf(bd->peer + said, sizeof(bd->peer) - said, " | joined as place %u with "
			 "the victim's memory as its own", place);
	else
		snprintf(bd->peer + said, sizeof(bd->peer) - said, " | a join with the victim's "
			 "memory as its own was refused: %s", strerror(-s));
	return s;
}

/*
 * The peer: optionally becomes nobody ('u'), joins as a consumer ('j'); on 'g' finds the
 * channel's memory where the plan says, attacks it once ('f'), then - receiving and handing
 * back like any consumer if it joined - again every atk.every_ms until stopped.
 */
static void peer_attacker(int in, int out, const char *name)
{
	struct targets tg = { .n = 0 };
	long long next;
	mv_chan *ch = NULL;
	int sock = -1, c;
	mv_view v;

	if (atk.as_nobody) {
		if (command(in, 20000) != 'u')
			_exit(4);
		become_nobody();
		mv_test_write_byte(out, 'u');
	}
	if (atk.join)
		ch = join_when_told(in, out, name, atk.as_nobody ? MV_CHAN_ANY_OWNER : 0, 0, "peer");
	/* Until told to go, a consumer like any other: it takes and hands back what comes. */
	for (next = now_ns() + 20 * SEC; (c = command(in, 1)) != 'g'; ) {
		if (c != -1 || now_ns() > next)
			_exit(0);
		while (ch && mv_chan_recv(&v, ch, 0) == 0)
			mv_view_release(&v);
	}
	if (atk.in_self)
		find_targets(&tg, 0, name, "its own");
	if (atk.in_producer)
		find_targets(&tg, bd->prod_pid, name, "the producer");
	if (atk.in_victim)
		find_targets(&tg, bd->victim_pid, name, "the victim");
	if (atk.as_nobody && tg.refused_listing != atk.in_producer + atk.in_victim)
		child_fail("peer: as nobody, it could list a root process's /proc/PID/fd");
	bd->clean += attack_round(&tg, 1);
	bd->acts++;
	if (atk.impersonate)
		sock = impersonate_victim(name);
	mv_test_write_byte(out, 'f');
	next = now_ns() + atk.every_ms * MS;
	while (!stopped() && !__atomic_load_n(&bd->peer_stop, __ATOMIC_ACQUIRE)) {
		while (ch && mv_chan_recv(&v, ch, 0) == 0)
			mv_view_release(&v);
		if (atk.every_ms && now_ns() >= next) {
			bd->clean += attack_round(&tg, 0);
			bd->acts++;
			next = now_ns() + atk.every_ms * MS;
		}
		sleep_ms(1);
	}
	if (sock >= 0)
		close(sock);
	mv_chan_close(ch);
}

/*
 * Ends the peer's attack and reaps it, while the processes it goes for are still there (their
 * descriptors vanish as they exit).
 */
static void stop_peer(struct mv_test_child *peer)
{
	__atomic_store_n(&bd->peer_stop, 1, __ATOMIC_RELEASE);
	assert_clean_exit(finish(peer, 5000), "the peer");
}

/* The peer's tally, for messages. */
static const char *peer_tally(char *buf, size_t cap)
{
	snprintf(buf, cap, "%llu rounds, %llu ways refused; first round: %s",
		 (unsigned long long)bd->acts, (unsigned long long)bd->clean, bd->peer);
	return buf;
}

/* The peer's tally on the test's standard error, after the attack labelled @label. */
static void report_tally(const char *label)
{
	char tally[1400];

	fprintf(stderr, "%s: %s\n", label, peer_tally(tally, sizeof(tally)));
}

/* Channel attacks: the producer (planned by `plan`), once it has made the channel. */
static struct mv_test_child start_producer(const char *name)
{
	struct mv_test_child prod = spawn(producer, name);

	expect(&prod, 'c', 20000, "the producer");
	bd->prod_pid = prod.pid;
	return prod;
}

/* ...and its end: every child told to stop, the producer's clean exit checked. */
static void stop_producer(struct mv_test_child *prod)
{
	stop_all();
	assert_clean_exit(finish(prod, 5000), "the producer");
}

/* ------------------------------------------------------------------ 2: no pointers */

/*
 * Victim: opens read-write ('o'; its pid on the board), then for 1 s: a view (an export, in the
 * holder table), the holder table (read under the header lock, which tidies it), the view
 * released, a resize (under the lock, rewriting the header).
 */
static void victim_works_on_a_segment(int in, int out, const char *name)
{
	long long deadline;
	mv_segment *seg = NULL;
	mv_view v;
	int rc;

	if (command(in, 20000) != 'o')
		_exit(4);
	rc = mv_segment_open(&seg, name, NULL);
	if (rc < 0)
		child_fail("victim: cannot open %s: %s", name, mv_errmsg());
	bd->victim_pid = getpid();
	mv_test_write_byte(out, 'o');
	if (command(in, 20000) != 'g')
		_exit(4);
	deadline = now_ns() + 1 * SEC;
	while (now_ns() < deadline) {
		if (mv_view_from(&v, mv_segment_exporter(seg), 0) < 0)
			child_fail("victim: export: %s", mv_errmsg());
		if (mv_segment_holders(NULL, 0, seg) < 0)
			child_fail("victim: holders: %s", mv_errmsg());
		mv_view_release(&v);
		if (mv_segment_resize(seg, bd->rounds % 2 ? 4096 : 8192) < 0)
			child_fail("victim: resize: %s", mv_errmsg());
		bd->rounds++;
	}
	mv_segment_close(seg);
}

/* A segment peer's start: open @name read-write and map it, report 'r', wait for 'g'. */
static void peer_opens_segment(struct hs_seg *s, int in, int out, const char *name)
{
	int rc = hs_seg_open(s, name);

	if (rc < 0)
		child_fail("peer: cannot open %s read-write: %s", name, strerror(-rc));
	mv_test_write_byte(out, 'r');
	if (command(in, 20000) != 'g')
		_exit(0);
}

/* Peer: reads the header page while the victim works; reports the first pointer found. */
static void peer_looks_for_pointers(int in, int out, const char *name)
{
	static struct ranges r;
	const unsigned char *meta;
	struct hs_seg s;
	size_t len;
	uint64_t w;
	long off;

	peer_opens_segment(&s, in, out, name);
	if (load_ranges(&r, bd->victim_pid, 0) < 0)
		child_fail("peer: cannot read the victim's maps: %s", strerror(errno));
	while (!stopped()) {
		meta = hs_seg_shared_metadata(&s, &len);
		off = find_pointer(meta, len, &r, SMALLEST_POINTER, &w);
		if (off >= 0) {
			peer_says("byte %ld of the shared header held %#llx, an address in the "
				  "holder's address space (/proc/%ld/maps)", off,
				  (unsigned long long)w, (long)bd->victim_pid);
			break;
		}
		/* The victim maps and unmaps: look again now and then, until it has gone. */
		if (++bd->acts % 64 == 0 && load_ranges(&r, bd->victim_pid, 0) < 0)
			break;
	}
	hs_seg_close(&s);
}

/*
 * The peer (@peer_fn) and the victim (@victim_fn) of a segment attack on @name: once the peer
 * has the segment mapped ('r') and the victim has opened it ('o'), both go ('g').
 */
static void segment_peer_and_victim(struct mv_test_child *peer, mv_test_child_fn peer_fn,
				    struct mv_test_child *victim, mv_test_child_fn victim_fn,
				    const char *name)
{
	*peer = spawn(peer_fn, name);
	*victim = spawn(victim_fn, name);
	expect(peer, 'r', 20000, "the peer");
	tell(victim, 'o');
	expect(victim, 'o', 20000, "the victim");
	tell(peer, 'g');
	tell(victim, 'g');
}

START_TEST(the_shared_header_never_holds_a_pointer_into_a_holders_address_space)
{
	const char *name = new_name();
	struct mv_test_child peer, victim;
	mv_segment *seg = NULL;

	ck_assert_int_eq(mv_segment_create(&seg, name, 4096, NULL), 0);
	ck_assert_int_eq(mv_segment_close(seg), 0);
	segment_peer_and_victim(&peer, peer_looks_for_pointers, &victim, victim_works_on_a_segment,
				name);
	assert_clean_exit(finish(&victim, 20000), "the victim (exporting, reading the holder "
						 "table and resizing)");
	stop_all();
	assert_clean_exit(finish(&peer, 5000), "the peer");
	ck_assert_msg(bd->peer[0] == '\0', "while a holder worked, %s", bd->peer);
	ck_assert_msg(bd->acts > 0 && bd->rounds > 0, "the peer looked %llu times while the victim "
		      "did %llu rounds", (unsigned long long)bd->acts,
		      (unsigned long long)bd->rounds);
}
END_TEST

/* Maps all of @path (a /proc/PID/fd link) readonly; NULL when it cannot. */
static const unsigned char *map_readonly(const char *path, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * Peer, a consumer itself (joins on 'j'): on 'g', while messages flow, reads what it can of the
 * channel's memory - the producer's (its own descriptor) and the victim consumer's (through
 * /proc/VICTIM/fd) - and looks for an address of the producer's or the victim's. Values below
 * 4 GiB are not taken for addresses: ring entries and counters live there, and every mapping of
 * a memview process (PIE, libraries, heap, stacks, mmap) is far above.
 */
static void peer_looks_for_pointers_in_channel(int in, int out, const char *name)
{
	static struct ranges r;
	const unsigned char *mem[2] = { NULL, NULL };
	size_t len[2] = { 0, 0 };
	mv_chan *ch = join_when_told(in, out, name, 0, 0, "peer");
	struct hs_fd t[2];
	uint64_t w;
	mv_view v;
	long off;
	int i;

	if (command(in, 20000) != 'g')
		_exit(0);
	if (hs_chan_memory_fds(&t[0], 1, 0, name, HS_PRODUCER_MEM) != 1 ||
	    hs_chan_memory_fds(&t[1], 1, bd->victim_pid, name, HS_CONSUMER_MEM) != 1)
		child_fail("peer: cannot find the channel's memory");
	for (i = 0; i < 2; i++)
		if (!(mem[i] = map_readonly(t[i].path, &len[i])))
			child_fail("peer: cannot map %s: %s", t[i].path, strerror(errno));
	mv_test_write_byte(out, 'f');
	while (!stopped()) {
		if (load_ranges(&r, bd->prod_pid, 0) < 0 ||
		    load_ranges(&r, bd->victim_pid, 1) < 0) {
			if (stopped())
				break;
			child_fail("peer: cannot read the producer's or the victim's maps");
		}
		for (i = 0; i < 2; i++) {
			off = find_pointer(mem[i], len[i], &r, SMALLEST_POINTER, &w);
			if (off >= 0) {
				peer_says("byte %ld of the %s memory held %#llx, an address in the "
					  "producer's or the victim's address space", off,
					  i ? "victim consumer's" : "producer's",
					  (unsigned long long)w);
				goto out;
			}
		}
		while (mv_chan_recv(&v, ch, 0) == 0)
			mv_view_release(&v);
		bd->acts++;
		sleep_ms(5);
	}
out:
	for (i = 0; i < 2; i++)
		munmap((void *)mem[i], len[i]);
	mv_chan_close(ch);
}

START_TEST(channel_memory_never_holds_a_pointer_into_a_participants_address_space)
{
	const char *name = new_name();
	struct mv_test_child prod, peer, victim;

	plan = (struct producer_plan){ .nslots = 8, .slot_size = 4096, .wait_consumers = 2,
				       .nmsgs = -1, .loan_timeout = 20 * MS, .delay_us = 200 };
	prod = spawn(producer, name);
	bd->prod_pid = prod.pid;
	peer = spawn(peer_looks_for_pointers_in_channel, name);
	victim = spawn(consumer_receives_until_stopped, name);
	expect(&prod, 'c', 20000, "the producer");
	tell(&peer, 'j');
	expect(&peer, 'j', 20000, "the peer consumer");
	tell(&victim, 'j');
	expect(&victim, 'j', 20000, "the victim consumer");
	expect(&prod, 'a', 20000, "the producer");
	tell(&peer, 'g');
	expect(&peer, 'f', 20000, "the peer");
	sleep_ms(1000);
	stop_all();
	assert_clean_exit(finish(&peer, 5000), "the peer");
	assert_clean_exit(finish(&victim, 5000), "the victim consumer");
	assert_clean_exit(finish(&prod, 5000), "the producer");
	ck_assert_msg(bd->peer[0] == '\0', "while messages flowed, %s", bd->peer);
	ck_assert_msg(bd->acts > 0 && bd->rounds > 0, "the peer looked %llu times while %llu "
		      "messages went", (unsigned long long)bd->acts,
		      (unsigned long long)bd->rounds);
}
END_TEST

/* ------------------------------------------------------------------ 3: channel geometry */

/* What a fake producer's memory claims, and what a joiner must answer (0: it joins). */
struct lie {
	char what[120];
	struct hs_geometry g;
	int expect;
};

#define MAX_LIES 16
static struct lie lies[MAX_LIES];
static int nlies;

/* Memory behind a producer's header for @nslots slots of @slot_size (layout 3): honest. */
static size_t honest_data(uint32_t nslots, uint64_t slot_size)
{
	size_t ring_end = sizeof(struct chan_hdr) + 2 * (size_t)nslots * sizeof(uint64_t);

	return (ring_end + HS_PAGE - 1) / HS_PAGE * HS_PAGE + (size_t)nslots * slot_size;
}

static void add_lie(const char *what, uint32_t nslots, uint64_t slot_size, int ndim,
		    int64_t s0, int64_t s1, size_t data, uint64_t seg_data_size, int seals,
		    int expect)
{
	struct lie *l = &lies[nlies++];

	snprintf(l->what, sizeof(l->what), "%s", what);
	l->g = (struct hs_geometry){ nslots, slot_size, ndim, { s0, s1 }, data, seg_data_size,
				     seals };
	l->expect = expect;
}

/* The same fake producer telling the truth, then each lie a joiner must refuse. */
static void make_lies(void)
{
	const int sealed = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE;
	const size_t h4 = honest_data(4, 4096);

	nlies = 0;
	add_lie("4 slots of 4 KiB (the truth)", 4, 4096, -1, 0, 0, h4, 0, sealed, 0);
	add_lie("slots of 2^62 bytes", 4, 1ull << 62, -1, 0, 0, h4, 0, sealed, EBADMSG);
	add_lie("16 slots of 2^60 bytes (16 x 2^60 wraps to 0)", 16, 1ull << 60, -1, 0, 0,
		honest_data(16, 64), 0, sealed, EBADMSG);
	add_lie("16 slots of 64 KiB in memory for 4 of 4 KiB", 16, 65536, -1, 0, 0, h4, 0, sealed,
		EBADMSG);
	add_lie("4 slots of 4 KiB, the last one cache line past the memory", 4, 4096, -1, 0, 0,
		h4 - CL, 0, sealed, EBADMSG);
	add_lie("65537 slots", MAX_SLOTS + 1, 64, -1, 0, 0, honest_data(MAX_SLOTS + 1, 64), 0,
		sealed, EBADMSG);
	add_lie("0 slots", 0, 4096, -1, 0, 0, h4, 0, sealed, EBADMSG);
	add_lie("slots of 4000 bytes (not a multiple of 64)", 4, 4000, -1, 0, 0, h4, 0, sealed,
		EBADMSG);
	add_lie("a slot shape of 2^40 bytes in 4 KiB slots", 4, 4096, 1, 1ll << 40, 0, h4, 0,
		sealed, EBADMSG);
	add_lie("a slot shape of 2^62 x 2^62 bytes (overflows)", 4, 4096, 2, 1ll << 62, 1ll << 62,
		h4, 0, sealed, EBADMSG);
	add_lie("a segment header claiming 1 MiB more than the memfd has", 4, 4096, -1, 0, 0, h4,
		h4 + (1u << 20), sealed, EBADMSG);
	add_lie("the truth, in memory it can still write (not sealed against writes)", 4, 4096,
		-1, 0, 0, h4, 0, F_SEAL_SHRINK | F_SEAL_GROW, EBADMSG);
}

/*
 * A fake producer telling lies[child_mode] (layout 3 by hand, tests/hostile.h): listens on the
 * channel's name ('l'), OFFERs its memory to the first joiner. A joiner that JOINs despite a lie
 * is ADMITted and gets message 0 in the last slot the lie claims: following the lie, its view
 * would lie outside the memory. Slot k is filled with fill_byte(k).
 */
static void fake_producer(int in, int out, const char *name)
{
	const struct lie *l = &lies[child_mode];
	struct chan_wire m;
	struct hs_fake f;
	uint32_t k;
	int s = hs_fake_listen(name), c, fd, rc;

	(void)in;
	if (s < 0)
		child_fail("fake producer: cannot listen on %s: %s", name, strerror(-s));
	rc = hs_fake_memory(&f, name, &l->g);
	if (rc < 0)
		child_fail("fake producer: cannot make its memory: %s", strerror(-rc));
	for (k = 0; f.slots && k < l->g.nslots; k++)
		memset(f.slots + (size_t)k * l->g.slot_size, fill_byte(k), l->g.slot_size);
	mv_test_write_byte(out, 'l');
	c = hs_fake_accept(s, 10000);
	if (c < 0)
		child_fail("fake producer: nobody came: %s", strerror(-c));
	rc = hs_wire_send(c, WIRE_OFFER, 0, 0, f.m.fd);
	if (rc < 0)
		child_fail("fake producer: OFFER: %s", strerror(-rc));
	rc = hs_wire_recv(c, &m, &fd, 5000);
	if (fd >= 0)
		close(fd);
	if (rc == 1 && m.type == WIRE_JOIN) {
		bd->acts++; /* the joiner took what it was offered */
		if (hs_wire_send(c, WIRE_ADMIT, 0, 0, -1) < 0)
			child_fail("fake producer: ADMIT: %s", strerror(errno));
		if (f.ring && l->g.nslots) {
			k = (l->g.nslots - 1) & ((1u << SLOT_BITS) - 1);
			hs_fake_publish(&f, l->g.nslots, 0, k, l->g.slot_size);
		}
		rc = hs_wire_recv(c, &m, &fd, 5000); /* until it leaves */
		if (fd >= 0)
			close(fd);
	}
	close(c);
	close(s);
	hs_fake_free(&f);
}

/*
 * Victim: joins the fake producer (lies[child_mode]). A lie must be refused with its errno,
 * leaving no descriptor open and no mapping of the offered memory; the truth must be joined,
 * and its message must lie inside this process's mapping.
 */
static void victim_joins_a_fake(int in, int out, const char *name)
{
	const struct lie *l = &lies[child_mode];
	int before = mv_test_count_fds(), after, rc;
	mv_chan *ch = NULL;
	char why[600];
	mv_view v;

	(void)in;
	(void)out;
	rc = mv_chan_join(&ch, name, NULL, 5 * SEC);
	if (rc == 0) {
		rc = mv_chan_recv(&v, ch, 2 * SEC);
		if (rc == 0) {
			if (!inside_one_mapping(mv_view_ptr(&v), (size_t)mv_view_nbytes(&v), why,
						sizeof(why)))
				child_fail("victim: it joined a producer claiming %s, and its "
					   "first message's view %s", l->what, why);
			touch_view(&v);
			check_sent(mv_view_ptr(&v), (size_t)mv_view_nbytes(&v), "victim");
			mv_view_release(&v);
		}
		if (l->expect)
			child_fail("victim: it joined a producer claiming %s (expected -%s)",
				   l->what, strerrorname_np(l->expect));
		if (rc < 0)
			child_fail("victim: no message from the honest fake: %s", mv_errmsg());
		mv_chan_close(ch);
		return;
	}
	if (-rc != l->expect)
		child_fail("victim: joining a producer claiming %s gave %d (%s), expected %s",
			   l->what, rc, mv_errmsg(), l->expect ? strerrorname_np(l->expect) : "0");
	fprintf(stderr, "3a: %s: %s: %s\n", l->what, strerrorname_np(-rc), mv_errmsg());
	after = mv_test_count_fds();
	if (after != before)
		child_fail("victim: refusing a producer claiming %s left %d descriptors open",
			   l->what, after - before);
	if (maps_channel_memory(name))
		child_fail("victim: after refusing a producer claiming %s it still maps its memory",
			   l->what);
}

START_TEST(a_fake_producer_offering_lying_geometry_is_refused_and_never_followed)
{
	const char *name = new_name();
	struct mv_test_child fake, victim;
	int i;

	make_lies();
	for (i = 0; i < nlies; i++) {
		child_mode = i;
		bd->acts = 0;
		fake = spawn(fake_producer, name);
		expect(&fake, 'l', 20000, "the fake producer");
		victim = spawn(victim_joins_a_fake, name);
		assert_clean_exit(finish(&victim, 20000), lies[i].what);
		assert_clean_exit(finish(&fake, 10000), "the fake producer");
		ck_assert_msg(bd->acts == (lies[i].expect == 0), "the fake producer claiming %s "
			      "was %s", lies[i].what, bd->acts ? "joined" : "not joined");
	}
}
END_TEST

/*
 * A fake producer that tells the truth about its geometry (4 slots of 4 KiB, slot k filled
 * with fill_byte(k)) and is admitted, then lies in what it publishes: message 0 in slot 0;
 * message 1 in slot 1, 2^63 bytes long; message 2 in slot 1 again (while the consumer holds
 * message 1); message 3 in slot 65535. Until the consumer leaves, it keeps rewriting its
 * header: 65536 slots of 2^60 bytes, a 2-D shape of 2^62 x 2^62.
 */
static void fake_producer_publishing_lies(int in, int out, const char *name)
{
	const struct hs_geometry g = { 4, 4096, -1, { 0, 0 }, honest_data(4, 4096), 0,
				       F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE };
	struct chan_wire m;
	struct hs_fake f;
	uint32_t k;
	int s = hs_fake_listen(name), c, fd, rc = -ETIMEDOUT;

	(void)in;
	if (s < 0 || hs_fake_memory(&f, name, &g) < 0 || !f.slots)
		child_fail("fake producer: cannot set up: %s", strerror(errno));
	for (k = 0; k < g.nslots; k++)
		memset(f.slots + (size_t)k * g.slot_size, fill_byte(k), g.slot_size);
	mv_test_write_byte(out, 'l');
	c = hs_fake_accept(s, 10000);
	if (c < 0 || hs_wire_send(c, WIRE_OFFER, 0, 0, f.m.fd) < 0)
		child_fail("fake producer: no joiner, or OFFER failed");
	if (hs_wire_recv(c, &m, &fd, 5000) != 1 || m.type != WIRE_JOIN)
		child_fail("fake producer: the joiner did not JOIN");
	if (fd >= 0)
		close(fd);
	if (hs_wire_send(c, WIRE_ADMIT, 0, 0, -1) < 0)
		child_fail("fake producer: ADMIT: %s", strerror(errno));
	hs_fake_publish(&f, g.nslots, 0, 0, g.slot_size);
	hs_fake_publish(&f, g.nslots, 1, 1, (uint64_t)1 << 63);
	hs_fake_publish(&f, g.nslots, 2, 1, 64);
	hs_fake_publish(&f, g.nslots, 3, 65535, 64);
	while (!stopped() && rc == -ETIMEDOUT) {
		/* Layout 3: its own header, which nobody else can write - and nobody may trust. */
		__atomic_store_n(&f.hdr->nslots, MAX_SLOTS, __ATOMIC_RELAXED);
		__atomic_store_n(&f.hdr->slot_size, (uint64_t)1 << 60, __ATOMIC_RELAXED);
		__atomic_store_n(&f.hdr->ndim, 2, __ATOMIC_RELAXED);
		f.hdr->shape[0] = f.hdr->shape[1] = (int64_t)1 << 62;
		bd->acts++;
		rc = hs_wire_recv(c, &m, &fd, 1);
		if (fd >= 0)
			close(fd);
	}
	close(c);
	close(s);
	hs_fake_free(&f);
}

/* One message the victim of 3b must get: inside its mapping, at most a slot, of @fill. */
static void receive_inside(mv_chan *ch, mv_view *v, int seq, int fill)
{
	char why[600];
	int rc = mv_chan_recv(v, ch, 5 * SEC);

	if (rc < 0)
		child_fail("victim: message %d: %s", seq, mv_errmsg());
	if (!inside_one_mapping(mv_view_ptr(v), (size_t)mv_view_nbytes(v), why, sizeof(why)))
		child_fail("victim: message %d's view %s", seq, why);
	if (mv_view_nbytes(v) > 4096)
		child_fail("victim: message %d's view has %zd bytes, more than a slot", seq,
			   mv_view_nbytes(v));
	touch_view(v);
	bd->expect_fill = fill;
	check_sent(mv_view_ptr(v), (size_t)mv_view_nbytes(v), "victim");
	bd->views++;
}

/* Victim: joins the fake and receives what it publishes; the lies are refused (-EBADMSG). */
static void victim_of_a_lying_producer(int in, int out, const char *name)
{
	mv_chan *ch = NULL;
	mv_view v0, v1, v2;
	int rc;

	(void)in;
	(void)out;
	if (mv_chan_join(&ch, name, NULL, 5 * SEC) < 0)
		child_fail("victim: cannot join the fake producer: %s", mv_errmsg());
	receive_inside(ch, &v0, 0, fill_byte(0));
	receive_inside(ch, &v1, 1, fill_byte(1));
	rc = mv_chan_recv(&v2, ch, 2 * SEC);
	if (rc != -EBADMSG)
		child_fail("victim: message 2, published in slot 1 while it held message 1 there, "
			   "gave %d (%s), not -EBADMSG", rc, rc ? mv_errmsg() : "a view");
	mv_view_release(&v0);
	mv_view_release(&v1);
	receive_inside(ch, &v2, 2, fill_byte(1)); /* slot 1 is free again: now it is a message */
	mv_view_release(&v2);
	rc = mv_chan_recv(&v2, ch, 2 * SEC);
	if (rc != -EBADMSG)
		child_fail("victim: message 3, published in slot 65535 of 4, gave %d (%s), not "
			   "-EBADMSG", rc, rc ? mv_errmsg() : "a view");
	mv_chan_close(ch);
}

START_TEST(a_fake_producer_publishing_lies_never_gets_a_consumer_a_view_outside_its_slot)
{
	const char *name = new_name();
	struct mv_test_child fake, victim;

	fake = spawn(fake_producer_publishing_lies, name);
	expect(&fake, 'l', 20000, "the fake producer");
	victim = spawn(victim_of_a_lying_producer, name);
	assert_clean_exit(finish(&victim, 30000), "the victim (receiving from a producer that "
						 "publishes lies and rewrites its geometry)");
	stop_all();
	assert_clean_exit(finish(&fake, 10000), "the fake producer");
	ck_assert_int_eq(bd->views, 3);
	ck_assert_msg(bd->acts > 0, "the fake producer never rewrote its header");
}
END_TEST

/* Victim: for 3 s (or 20 joins), joins, receives up to 8 messages (each checked), leaves. */
static void victim_joins_and_receives(int in, int out, const char *name)
{
	long long deadline;
	mv_chan *ch = NULL;
	char why[600];
	mv_view v;
	int rc, k;

	(void)out;
	if (command(in, 20000) != 'g')
		_exit(4);
	deadline = now_ns() + 3 * SEC;
	while (now_ns() < deadline && bd->rounds < 20) {
		rc = mv_chan_join(&ch, name, NULL, 2 * SEC);
		if (rc < 0) {
			if (rc < -4095)
				child_fail("victim: mv_chan_join returned %d", rc);
			bd->clean++;
			sleep_ms(10);
			continue;
		}
		for (k = 0; k < 8; k++) {
			rc = mv_chan_recv(&v, ch, 300 * MS);
			if (rc < 0)
				break;
			if (!inside_one_mapping(mv_view_ptr(&v), (size_t)mv_view_nbytes(&v), why,
						sizeof(why)))
				child_fail("victim: message %d after joining: the slot view %s", k,
					   why);
			touch_view(&v);
			mv_view_release(&v);
			bd->views++;
		}
		mv_chan_close(ch);
		bd->rounds++;
	}
}

START_TEST(a_peer_rewriting_channel_geometry_cannot_push_a_consumers_slot_view_outside_any_mapping)
{
	const char *name = new_name();
	struct mv_test_child prod, peer, victim;

	plan = (struct producer_plan){ .nslots = 16, .slot_size = 4096, .nmsgs = -1,
				       .loan_timeout = 20 * MS, .delay_us = 100 };
	atk = (struct attack_plan){ .what = HS_FORGE_GEOMETRY, .ways = HS_WRITE,
				    .role = HS_PRODUCER_MEM, .in_producer = 1, .every_ms = 1 };
	prod = start_producer(name);
	peer = spawn(peer_attacker, name);
	tell(&peer, 'g');
	expect(&peer, 'f', 20000, "the peer");
	victim = spawn(victim_joins_and_receives, name);
	tell(&victim, 'g');
	assert_clean_exit(finish(&victim, 30000), "the victim consumer (joining and receiving "
						 "while the peer went at the slot size)");
	stop_peer(&peer);
	stop_producer(&prod);
	ck_assert_msg(bd->views > 0, "the victim received nothing in %llu joins (%llu refused)",
		      (unsigned long long)bd->rounds, (unsigned long long)bd->clean);
	report_tally("3c");
}
END_TEST

/* ------------------------------------------------------------------ 4: forged channel state */

START_TEST(a_consumer_forging_another_consumers_hand_backs_cannot_get_its_held_slot_reused)
{
	const char *name = new_name();
	struct mv_test_child prod, peer, victim;

	plan = (struct producer_plan){ .nslots = 4, .slot_size = 4096, .nmsgs = -1,
				       .loan_timeout = 20 * MS, .delay_us = 500 };
	atk = (struct attack_plan){ .what = HS_FORGE_HANDBACKS, .ways = HS_WRITE,
				    .role = HS_CONSUMER_MEM, .in_producer = 1, .in_victim = 1,
				    .join = 1, .every_ms = 1, .impersonate = 1 };
	prod = start_producer(name);
	peer = spawn(peer_attacker, name);
	victim = spawn(victim_holds_a_message, name);
	tell(&peer, 'j');
	expect(&peer, 'j', 20000, "the peer consumer");
	tell(&victim, 'j');
	expect(&victim, 'j', 20000, "the victim consumer");
	expect(&victim, 'h', 20000, "the victim consumer");
	tell(&peer, 'g');
	expect(&peer, 'f', 20000, "the peer consumer");
	sleep_ms(1500);
	stop_peer(&peer);
	tell(&victim, 'd');
	assert_clean_exit(finish(&victim, 20000), "the victim consumer (holding a message while "
						 "another consumer went at its hand-backs)");
	stop_producer(&prod);
	report_tally("4a");
}
END_TEST

START_TEST(a_forged_ring_entry_cannot_hand_a_consumer_a_slot_the_producer_then_rewrites)
{
	const char *name = new_name();
	struct mv_test_child prod, peer, victim;
	char tally[1400];
	int b;

	plan = (struct producer_plan){ .nslots = 4, .slot_size = 4096, .wait_consumers = 2,
				       .wait_go = 1, .nmsgs = 4, .loan_timeout = 200 * MS };
	atk = (struct attack_plan){ .what = HS_FORGE_RING, .ways = HS_WRITE,
				    .role = HS_PRODUCER_MEM, .in_self = 1, .in_producer = 1,
				    .in_victim = 1, .join = 1, .every_ms = 1 };
	prod = start_producer(name);
	peer = spawn(peer_attacker, name);
	victim = spawn(victim_holds_a_message, name);
	tell(&peer, 'j');
	tell(&victim, 'j');
	expect(&peer, 'j', 20000, "the peer consumer");
	expect(&victim, 'j', 20000, "the victim consumer");
	expect(&prod, 'a', 20000, "the producer");
	bd->expect_fill = fill_byte(0);
	tell(&peer, 'g');
	expect(&peer, 'f', 20000, "the peer consumer");
	/* Nothing was sent yet: whatever the victim receives now, the peer published. */
	b = mv_test_read_byte(victim.from, 300);
	ck_assert_msg(b == -1, "the victim received a message before the producer sent any "
		      "(it reported '%c'): a forged ring entry was delivered [peer: %s]", b,
		      peer_tally(tally, sizeof(tally)));
	tell(&prod, 'g');
	expect(&victim, 'h', 20000, "the victim consumer");
	expect(&prod, 's', 20000, "the producer");
	stop_peer(&peer);
	tell(&victim, 'd');
	assert_clean_exit(finish(&victim, 20000), "the victim consumer (holding message 0 while "
						 "the peer went at the ring and the producer "
						 "filled its slots)");
	stop_producer(&prod);
	report_tally("4b");
}
END_TEST

/* ------------------------------------------------------------------ 5: the slots, owners */

/*
 * A producer sends one message to two consumers, the victim (root) and the peer - root too, or
 * nobody joining a channel of mode 0604 (others may join) with MV_CHAN_ANY_OWNER - and the peer
 * goes at the slots while the victim holds the message.
 */
static void slots_attack(int as_nobody)
{
	const char *name = new_name();
	struct mv_test_child prod, peer, victim;

	plan = (struct producer_plan){ .nslots = 4, .slot_size = 4096, .wait_consumers = 2,
				       .nmsgs = 1, .loan_timeout = 200 * MS,
				       .mode = as_nobody ? 0604 : 0 };
	atk = (struct attack_plan){ .what = HS_FORGE_SLOTS, .ways = HS_WRITE,
				    .role = HS_PRODUCER_MEM, .in_self = 1, .in_producer = 1,
				    .in_victim = 1, .join = 1, .as_nobody = as_nobody,
				    .every_ms = 1 };
	prod = start_producer(name);
	peer = spawn(peer_attacker, name);
	victim = spawn(victim_holds_a_message, name);
	if (as_nobody) {
		tell(&peer, 'u');
		expect(&peer, 'u', 20000, "the peer");
	}
	bd->expect_fill = fill_byte(0);
	tell(&peer, 'j');
	tell(&victim, 'j');
	expect(&peer, 'j', 20000, "the peer consumer");
	expect(&victim, 'j', 20000, "the victim consumer");
	expect(&prod, 'a', 20000, "the producer");
	expect(&victim, 'h', 20000, "the victim consumer");
	expect(&prod, 's', 20000, "the producer");
	tell(&peer, 'g');
	expect(&peer, 'f', 20000, "the peer");
	sleep_ms(300);
	stop_peer(&peer);
	tell(&victim, 'd');
	assert_clean_exit(finish(&victim, 20000), as_nobody ?
			  "the victim consumer (root, holding a message while a consumer running "
			  "as nobody went at the slots)" :
			  "the victim consumer (holding a message while another consumer went at "
			  "the slots)");
	stop_producer(&prod);
	report_tally(as_nobody ? "5b" : "5a");
}

START_TEST(a_consumer_cannot_change_a_message_through_the_producers_memory)
{
	slots_attack(0);
}
END_TEST

START_TEST(another_user_given_the_channel_cannot_change_a_message_through_the_producers_memory)
{
	slots_attack(1);
}
END_TEST

START_TEST(a_channel_another_user_created_first_is_refused_by_join_unless_asked)
{
	const char *name = new_name();
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct mv_test_child squatter;
	mv_chan *ch = NULL;
	char uid[32];
	int rc;

	plan = (struct producer_plan){ .nslots = 4, .slot_size = 4096, .wait_consumers = 1,
				       .nmsgs = 0, .mode = 0666, .as_nobody = 1 };
	squatter = spawn(producer, name);
	expect(&squatter, 'c', 20000, "the squatting producer");
	snprintf(uid, sizeof(uid), "uid %u", (unsigned)nobody_uid());
	rc = mv_chan_join(&ch, name, NULL, 3 * SEC);
	if (rc == 0)
		mv_chan_close(ch);
	ck_assert_msg(rc == -EPERM, "mv_chan_join(\"%s\") as uid %d of a channel created by %s (a "
		      "name another user took first) returned %d (%s), not -EPERM", name,
		      (int)geteuid(), uid, rc, rc ? mv_errmsg() : "joined");
	ck_assert_msg(strstr(mv_errmsg(), uid) && strstr(mv_errmsg(), "MV_CHAN_ANY_OWNER"),
		      "the refusal does not name the owner and the way out: %s", mv_errmsg());
	/* Asked for, the same channel joins. */
	o.flags = MV_CHAN_ANY_OWNER;
	rc = mv_chan_join(&ch, name, &o, 5 * SEC);
	ck_assert_msg(rc == 0, "with MV_CHAN_ANY_OWNER: %s", mv_errmsg());
	expect(&squatter, 'a', 20000, "the squatting producer");
	ck_assert_int_eq(mv_chan_close(ch), 0);
	stop_all();
	assert_clean_exit(finish(&squatter, 5000), "the squatting producer");
}
END_TEST

/* ------------------------------------------------------------------ 6: removal, truncation */

/* Entries of /dev/shm that belong to channel @name (all of them, in a private /dev/shm). */
static int dev_shm_entries(const char *name, char *list, size_t cap)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	size_t o = 0;
	int n = 0;

	list[0] = '\0';
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || (!private_shm && !strstr(e->d_name, name + 1)))
			continue;
		n++;
		if (o < cap)
			o += (size_t)snprintf(list + o, cap - o, " %s", e->d_name);
	}
	closedir(d);
	return n;
}

START_TEST(a_live_channel_has_nothing_in_dev_shm_to_remove)
{
	const char *name = new_name();
	struct mv_test_child prod, cons;
	char list[512];
	long long deadline;
	int n, fd;

	plan = (struct producer_plan){ .nslots = 4, .slot_size = 4096, .wait_consumers = 1,
				       .wait_go = 1, .nmsgs = 3, .loan_timeout = 1 * SEC };
	prod = spawn(producer, name);
	cons = spawn(consumer_receives_until_stopped, name);
	expect(&prod, 'c', 20000, "the producer");
	tell(&cons, 'j');
	expect(&cons, 'j', 20000, "the consumer");
	expect(&prod, 'a', 20000, "the producer");
	n = dev_shm_entries(name, list, sizeof(list));
	ck_assert_msg(n == 0, "with a producer and a consumer in %s, %s/dev/shm holds%s",
		      name, private_shm ? "this test's own " : "", list);
	/* What `mvshm rm` and a truncating peer would go through: the name. */
	errno = 0;
	ck_assert_msg(shm_unlink(name) < 0 && errno == ENOENT, "shm_unlink(%s): %s", name,
		      strerror(errno));
	ck_assert_mv_err(mv_segment_unlink(name, 0), ENOENT, "");
	ck_assert_mv_err(mv_segment_unlink(name, MV_SEGMENT_FORCE), ENOENT, "no such segment");
	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	ck_assert_msg(fd < 0 && errno == ENOENT, "shm_open(%s) read-write: %s", name,
		      fd < 0 ? strerror(errno) : "opened");
	/* Both ends keep working. */
	tell(&prod, 'g');
	expect(&prod, 's', 20000, "the producer");
	deadline = now_ns() + 5 * SEC;
	while (__atomic_load_n(&bd->rounds, __ATOMIC_ACQUIRE) < 3 && now_ns() < deadline)
		sleep_ms(1);
	stop_all();
	assert_clean_exit(finish(&cons, 5000), "the consumer");
	assert_clean_exit(finish(&prod, 5000), "the producer");
	ck_assert_msg(bd->rounds == 3, "the consumer received %llu of the 3 messages sent",
		      (unsigned long long)bd->rounds);
}
END_TEST

START_TEST(a_peer_truncating_the_channels_memory_does_not_kill_producer_or_consumer)
{
	const char *name = new_name();
	struct mv_test_child prod, cons, peer;
	uint64_t before, during, after;
	char tally[1400];

	plan = (struct producer_plan){ .nslots = 8, .slot_size = 4096, .wait_consumers = 1,
				       .nmsgs = -1, .loan_timeout = 10 * MS, .delay_us = 50 };
	atk = (struct attack_plan){ .ways = HS_RESIZE, .role = HS_ANY_MEM, .in_producer = 1,
				    .in_victim = 1, .every_ms = 1 };
	prod = spawn(producer, name);
	cons = spawn(consumer_receives_until_stopped, name);
	expect(&prod, 'c', 20000, "the producer");
	bd->prod_pid = prod.pid;
	tell(&cons, 'j');
	expect(&cons, 'j', 20000, "the consumer");
	expect(&prod, 'a', 20000, "the producer");
	sleep_ms(200);
	before = __atomic_load_n(&bd->rounds, __ATOMIC_ACQUIRE);
	peer = spawn(peer_attacker, name);
	tell(&peer, 'g');
	expect(&peer, 'f', 20000, "the peer");
	sleep_ms(300);
	during = __atomic_load_n(&bd->rounds, __ATOMIC_ACQUIRE);
	sleep_ms(200);
	after = __atomic_load_n(&bd->rounds, __ATOMIC_ACQUIRE);
	stop_peer(&peer);
	stop_all();
	assert_clean_exit(finish(&cons, 10000), "the consumer (receiving while a peer went at the "
						"size of the channel's memory)");
	assert_clean_exit(finish(&prod, 10000), "the producer (sending while a peer went at the "
						"size of the channel's memory)");
	ck_assert_msg(before > 0 && during > before && after > during, "messages received: %llu "
		      "before the attack, %llu while it went on, %llu after: they must keep "
		      "coming [peer: %s]", (unsigned long long)before, (unsigned long long)during,
		      (unsigned long long)after, peer_tally(tally, sizeof(tally)));
	report_tally("6b");
}
END_TEST

/* ------------------------------------------------------------------ 7: tools hung */

/* @out has exactly one line, and it names @name. */
static int one_line_naming(const struct tool_run *r, const char *name)
{
	const char *nl = memchr(r->out, '\n', r->len);

	return nl && (size_t)(nl - r->out) == r->len - 1 && strstr(r->out, name) != NULL;
}

START_TEST(mvshm_info_on_a_fifo_at_a_segment_name_fails_within_seconds_in_one_line)
{
	const char *name;
	struct tool_run r;
	char path[300];

	name = new_name();
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	run_tool(&r, 5000, NULL, NULL, "mvshm", "info", name, NULL);
	ck_assert_msg(r.status != TIMED_OUT, "mvshm info %s did not finish within 5 s: a FIFO at "
					     "the name (it opens the name blocking, without "
					     "checking what it is); output: %s",
		      name, r.len ? visible(r.out, r.len) : "(none)");
	ck_assert_msg(!exited_with(&r, 0) && one_line_naming(&r, name),
		      "mvshm info on a FIFO: status 0x%x, output \"%s\" (expected a failure and one "
		      "line naming it)", r.status, visible(r.out, r.len));
}
END_TEST

#define SWAP_PAIRS 4

/* Peer: swaps each segment's name with its FIFO's, as fast as it can, until stopped. */
static void peer_swaps_names(int in, int out, const char *arg)
{
	char seg[SWAP_PAIRS][300], fifo[SWAP_PAIRS][300];
	int i;

	(void)in;
	for (i = 0; i < SWAP_PAIRS; i++) {
		snprintf(seg[i], sizeof(seg[i]), "/dev/shm%s-%d", arg, i);
		snprintf(fifo[i], sizeof(fifo[i]), "/dev/shm%s-%d.fifo", arg, i);
	}
	mv_test_write_byte(out, 's');
	while (!stopped()) {
		for (i = 0; i < SWAP_PAIRS; i++)
			if (renameat2(AT_FDCWD, seg[i], AT_FDCWD, fifo[i], RENAME_EXCHANGE) < 0)
				child_fail("peer: renameat2: %s", strerror(errno));
		bd->acts++;
	}
}

/*
 * SWAP_PAIRS segments, each with a FIFO beside it ("<name>.fifo"), and the peer swapping each
 * pair's names; then @tool (with arguments @a1 and @a2, each may be NULL) up to @runs times,
 * 3 s each. Returns the run that hung, 0 if none did.
 */
static int runs_until_a_hang(const char *tool, const char *a1, const char *a2, int runs)
{
	struct mv_test_child peer;
	struct tool_run r;
	char seg[300], path[400];
	mv_segment *s = NULL;
	const char *base;
	int i, run, hung = 0;
	/* Under valgrind the tools are traced too and take seconds just to start: a hang is then
	 * what outlives 30 s, and five runs do what thirty do natively. */
	int limit_ms = mv_test_under_valgrind() ? 30000 : 3000;

	if (mv_test_under_valgrind() && runs > 5)
		runs = 5;
	base = new_name();
	for (i = 0; i < SWAP_PAIRS; i++) {
		snprintf(seg, sizeof(seg), "%s-%d", base, i);
		ck_assert_int_eq(mv_segment_create(&s, seg, 4096, NULL), 0);
		ck_assert_int_eq(mv_segment_close(s), 0);
		snprintf(path, sizeof(path), "/dev/shm%s.fifo", seg);
		ck_assert_int_eq(mkfifo(path, 0600), 0);
	}
	peer = spawn(peer_swaps_names, base);
	expect(&peer, 's', 20000, "the peer");
	for (run = 1; run <= runs && !hung; run++) {
		run_tool(&r, limit_ms, NULL, NULL, tool, a1, a2, NULL);
		if (r.status == TIMED_OUT)
			hung = run;
	}
	stop_all();
	finish(&peer, 5000);
	return hung;
}

START_TEST(lsshm_finishes_while_a_peer_swaps_a_segment_name_with_a_fifo)
{
	int hung = runs_until_a_hang("lsshm", NULL, NULL, 30);

	ck_assert_msg(!hung, "lsshm hung on run %d of 30 (killed after 3 s) while a peer swapped "
			     "segment names with FIFOs (%llu swaps): it re-opened a name, blocking, "
			     "after probing its descriptor", hung, (unsigned long long)bd->acts);
}
END_TEST

START_TEST(mvshm_gc_finishes_while_a_peer_swaps_a_segment_name_with_a_fifo)
{
	int hung = runs_until_a_hang("mvshm", "gc", "--dry-run", 30);

	ck_assert_msg(!hung, "mvshm gc hung on run %d of 30 (killed after 3 s) while a peer "
			     "swapped segment names with FIFOs (%llu swaps): it re-opened a name, "
			     "blocking, after probing its descriptor", hung,
		      (unsigned long long)bd->acts);
}
END_TEST

/* ------------------------------------------------------------------ smaller items */

/* The first byte of @r's output that a terminal would act on (not text, not a newline), or -1. */
static int control_byte(const struct tool_run *r)
{
	size_t i;

	for (i = 0; i < r->len; i++) {
		unsigned char c = (unsigned char)r->out[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f)
			return c;
	}
	return -1;
}

START_TEST(tools_escape_control_characters_in_the_names_they_print)
{
	struct tool_run info, gc, ls;
	mv_segment *s = NULL;
	char name[200];

	snprintf(name, sizeof(name), "%s-\x1b]0;owned\x07\r\x1b[2J", new_name());
	ck_assert_int_eq(mv_segment_create(&s, name, 4096, NULL), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	run_tool(&info, 10000, NULL, NULL, "mvshm", "info", name, NULL);
	run_tool(&gc, 10000, NULL, NULL, "mvshm", "gc", "--dry-run", NULL);
	run_tool(&ls, 10000, NULL, NULL, "lsshm", NULL);
	shm_unlink(name);
	ck_assert_msg(control_byte(&info) < 0 && control_byte(&gc) < 0 && control_byte(&ls) < 0,
		      "control characters of a segment's name reached the terminal raw: mvshm info "
		      "%s, mvshm gc %s, lsshm %s. mvshm info printed: %s",
		      control_byte(&info) < 0 ? "escaped them" : "printed them",
		      control_byte(&gc) < 0 ? "escaped them" : "printed them",
		      control_byte(&ls) < 0 ? "escaped them" : "printed them",
		      visible(info.out, info.len));
}
END_TEST
START_TEST(mvshm_gc_ignores_the_test_pause_hook_in_a_production_build)
{
#ifdef MVSHM_TEST_HOOKS
	/* A build with the test hooks on is not a production build: nothing to check. */
	return;
#else
	char dir[] = "/tmp/mvhostile-XXXXXX", fifo[64], env[128], pattern[200];
	struct tool_run r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/pause", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	snprintf(env, sizeof(env), "MVSHM_GC_TEST_PAUSE=%s", fifo);
	snprintf(pattern, sizeof(pattern), "%s-nothing-matches-*", new_name());
	run_tool(&r, 5000, NULL, env, "mvshm", "gc", "--yes", pattern, NULL);
	unlink(fifo);
	rmdir(dir);
	ck_assert_msg(exited_with(&r, 0), "mvshm gc --yes with MVSHM_GC_TEST_PAUSE set to a FIFO "
					  "nobody writes %s: the test hook works in this "
					  "(production) build; output: %s",
		      r.status == TIMED_OUT ? "hung (killed after 5 s)" : "failed",
		      r.len ? visible(r.out, r.len) : "(none)");
#endif
}
END_TEST

#define RESIZE_DATA (1u << 20)
#define RESIZE_SMALL 65536u

/* A holder: opens, takes a view of all the data ('h'), reads its last byte until stopped. */
static void holder_keeps_a_view(int in, int out, const char *name)
{
	mv_segment *seg = NULL;
	mv_view v;
	volatile const unsigned char *last;

	(void)in;
	if (mv_segment_open(&seg, name, NULL) < 0 ||
	    mv_view_from(&v, mv_segment_exporter(seg), 0) < 0)
		child_fail("holder: %s", mv_errmsg());
	last = (const unsigned char *)mv_view_ptr(&v) + mv_view_nbytes(&v) - 1;
	mv_test_write_byte(out, 'h');
	while (!stopped()) {
		(void)*last;
		sleep_ms(1);
	}
	mv_view_release(&v);
	mv_segment_close(seg);
}

/*
 * Peer: flips the header's data size between 0 and the real size until stopped, as a bare store
 * and as a whole, valid update (tests/hostile.h, hs_seg_set_data_size()).
 */
static void peer_flips_data_size(int in, int out, const char *name)
{
	struct hs_seg s;

	peer_opens_segment(&s, in, out, name);
	while (!stopped()) {
		hs_seg_set_data_size(&s, 0, bd->acts % 2 ? HS_SEALED : HS_RAW);
		hs_seg_set_data_size(&s, RESIZE_DATA, bd->acts % 2 ? HS_SEALED : HS_RAW);
		bd->acts++;
	}
	hs_seg_close(&s);
}

/* Victim: asks for a shrink for 2 s (another process holds a view: it must never happen). */
static void victim_asks_for_a_shrink(int in, int out, const char *name)
{
	mv_segment *seg = NULL;
	long long deadline;
	struct stat st;
	off_t full;
	int rc;

	if (command(in, 20000) != 'o')
		_exit(4);
	if (mv_segment_open(&seg, name, NULL) < 0)
		child_fail("victim: cannot open: %s", mv_errmsg());
	if (fstat(mv_segment_fd(seg), &st) < 0)
		child_fail("victim: fstat: %s", strerror(errno));
	full = st.st_size;
	mv_test_write_byte(out, 'o');
	if (command(in, 20000) != 'g')
		_exit(4);
	deadline = now_ns() + 2 * SEC;
	while (now_ns() < deadline) {
		rc = mv_segment_resize(seg, RESIZE_SMALL);
		bd->rounds++;
		if (rc < 0)
			bd->clean++;
		if (fstat(mv_segment_fd(seg), &st) == 0 && st.st_size < full)
			child_fail("victim: call %llu of mv_segment_resize(%u) returned %d and cut "
				   "the object from %lld to %lld bytes while another process holds "
				   "a view of all of it: the shrink check and the truncation read "
				   "the shared data size separately",
				   (unsigned long long)bd->rounds, RESIZE_SMALL, rc, (long long)full,
				   (long long)st.st_size);
	}
	mv_segment_close(seg);
}

START_TEST(a_peer_racing_a_resize_cannot_turn_it_into_a_shrink_under_anothers_view)
{
	const char *name = new_name();
	struct mv_test_child holder, peer, victim;
	mv_segment *seg = NULL;
	int hst;

	ck_assert_int_eq(mv_segment_create(&seg, name, RESIZE_DATA, NULL), 0);
	ck_assert_int_eq(mv_segment_close(seg), 0);
	holder = spawn(holder_keeps_a_view, name);
	expect(&holder, 'h', 20000, "the holder");
	segment_peer_and_victim(&peer, peer_flips_data_size, &victim, victim_asks_for_a_shrink,
				name);
	assert_clean_exit(finish(&victim, 20000), "the victim (asking for a refused shrink while "
						 "the peer flipped the data size)");
	stop_all();
	finish(&peer, 5000);
	hst = finish(&holder, 5000);
	assert_clean_exit(hst, "the holder of a view of all the data");
}
END_TEST

/* A holder that only opens and maps the segment (no views), until stopped. */
static void holder_maps_only(int in, int out, const char *name)
{
	mv_segment *seg = NULL;

	(void)in;
	if (mv_segment_open(&seg, name, NULL) < 0)
		child_fail("holder: %s", mv_errmsg());
	mv_test_write_byte(out, 'h');
	while (!stopped())
		sleep_ms(1);
	mv_segment_close(seg);
}

/* Before exec: a new PID namespace with its own /proc (a container sharing /dev/shm). */
static void enter_pid_namespace(void)
{
	pid_t pid;
	int st;

	if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0) {
		fprintf(stderr, "unshare: %s\n", strerror(errno));
		_exit(126);
	}
	pid = fork();
	if (pid < 0)
		_exit(126);
	if (pid > 0) {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		fprintf(stderr, "mount proc: %s\n", strerror(errno));
		_exit(126);
	}
}

START_TEST(gc_in_another_pid_namespace_keeps_a_segment_a_live_process_maps)
{
	struct mv_test_child holder;
	mv_segment *seg = NULL;
	struct tool_run r;
	const char *name;
	int exists;

	name = new_name();
	ck_assert_int_eq(mv_segment_create(&seg, name, 4096, NULL), 0);
	ck_assert_int_eq(mv_segment_close(seg), 0);
	holder = spawn(holder_maps_only, name);
	expect(&holder, 'h', 20000, "the holder");
	run_tool(&r, 10000, enter_pid_namespace, NULL, "mvshm", "gc", "--yes", name, NULL);
	exists = name_exists(name);
	stop_all();
	finish(&holder, 5000);
	ck_assert_msg(r.status != TIMED_OUT && !(WIFEXITED(r.status) &&
						 WEXITSTATUS(r.status) == 126),
		      "could not run gc in a PID namespace: %s", visible(r.out, r.len));
	ck_assert_msg(exists, "mvshm gc --yes, run in another PID namespace, removed %s while "
			      "process %ld (outside the namespace) maps it: it judged from /proc "
			      "alone; gc said: %s", name, (long)holder.pid, visible(r.out, r.len));
}
END_TEST

#define BAIT_FD 70
#define BAITS 8

/* Moves descriptor @fd to @to (closing @fd); -1 on failure. */
static int move_fd(int fd, int to)
{
	if (fd < 0 || dup3(fd, to, O_CLOEXEC) < 0)
		return -1;
	close(fd);
	return to;
}

/*
 * Peer: memfds at descriptors BAIT_FD.. ('r'), each swapped with a FIFO of its own
 * (@dir/fifoN) there and back, until stopped. The peer's other descriptors of them are
 * numbered higher, so a scan of /proc/PID/fd meets each memfd first at its bait descriptor.
 */
static void peer_flips_descriptors(int in, int out, const char *dir)
{
	int ffd[BAITS], mfd[BAITS], i;
	char path[300];

	(void)in;
	for (i = 0; i < BAITS; i++) {
		snprintf(path, sizeof(path), "%s/fifo%d", dir, i);
		ffd[i] = move_fd(open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC), 300 + i);
		mfd[i] = move_fd(memfd_create("mvtest-hostile-bait", MFD_CLOEXEC), 200 + i);
		if (mfd[i] < 0 || ffd[i] < 0 || ftruncate(mfd[i], 8192) < 0 ||
		    dup2(mfd[i], BAIT_FD + i) < 0)
			child_fail("peer: %s", strerror(errno));
	}
	mv_test_write_byte(out, 'r');
	while (!stopped()) {
		for (i = 0; i < BAITS; i++) {
			dup2(ffd[i], BAIT_FD + i);
			dup2(mfd[i], BAIT_FD + i);
		}
		bd->acts++;
	}
}

/*
 * close(2) for the whole of this program, the library's calls included (an executable's
 * definition comes first in symbol lookup): counts closes of a descriptor that was not open
 * while closes_counted is set (s7).
 */
static volatile int closes_counted, closes_of_nothing;

int close(int fd)
{
	if (syscall(SYS_close, fd) == 0)
		return 0;
	if (errno == EBADF && closes_counted)
		closes_of_nothing++;
	return -1;
}

START_TEST(a_joiner_gone_before_admit_has_its_connection_closed_once)
{
	const char *name = new_name();
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_segment_opts so = MV_SEGMENT_OPTS_INIT;
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	struct sockaddr_un a;
	socklen_t alen = hs_wire_addr(&a, name);
	struct chan_wire m;
	mv_segment *mem;
	mv_chan *ch;
	int s, fd, k;

	o.nslots = 4;
	o.slot_size = 64;
	ck_assert_int_eq(mv_chan_create(&ch, name, &o), 0);
	/* A consumer's memory as the producer checks it: sealed, big enough, with the magic. */
	so.flags = MV_SEGMENT_MEMFD;
	so.seals = MV_SEAL_GROW | MV_SEAL_FUTURE_WRITE;
	ck_assert_int_eq(mv_segment_create(&mem, "mvchan:s7:consumer",
					   sizeof(struct chan_cons) + 4 * sizeof(uint32_t), &so), 0);
	((struct chan_cons *)mv_segment_data(mem))->magic = CHAN_CONS_MAGIC;
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(connect(s, (struct sockaddr *)&a, alen), 0);
	/* The producer accepts in its own calls: it OFFERs its memory. */
	for (k = 0; k < 100; k++) {
		ck_assert_int_eq(mv_chan_get_stats(&st, ch), 0);
		if (hs_wire_recv(s, &m, &fd, 20) != -ETIMEDOUT)
			break;
	}
	ck_assert_msg(k < 100 && m.type == WIRE_OFFER, "no OFFER from the producer");
	if (fd >= 0)
		close(fd);
	ck_assert_int_eq(hs_wire_send(s, WIRE_JOIN, 0, 0, mv_segment_fd(mem)), 0);
	close(s); /* gone before ADMIT */
	closes_of_nothing = 0;
	closes_counted = 1;
	ck_assert_int_eq(mv_chan_get_stats(&st, ch), 0); /* the JOIN: enrol, ADMIT fails */
	closes_counted = 0;
	ck_assert_uint_eq(st.consumers, 0);
	ck_assert_msg(closes_of_nothing == 0, "the producer closed %d descriptor(s) that were "
		      "not open: the vanished joiner's connection twice", closes_of_nothing);
	ck_assert_int_eq(mv_chan_close(ch), 0);
	ck_assert_int_eq(mv_segment_close(mem), 0);
}
END_TEST

START_TEST(lsshm_never_opens_a_descriptor_before_it_knows_what_it_is)
{
	char dir[] = "/tmp/mvhostile-XXXXXX", path[64], ev[4096];
	struct mv_test_child peer;
	struct tool_run r;
	int ino, run, i, opened = 0;
	ssize_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (i = 0; i < BAITS; i++) {
		snprintf(path, sizeof(path), "%s/fifo%d", dir, i);
		ck_assert_int_eq(mkfifo(path, 0600), 0);
	}
	peer = spawn(peer_flips_descriptors, dir);
	expect(&peer, 'r', 20000, "the peer");
	/* Watched after the peer's own opens: any open from now on is someone else's. */
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ck_assert_int_ge(ino, 0);
	for (i = 0; i < BAITS; i++) {
		snprintf(path, sizeof(path), "%s/fifo%d", dir, i);
		ck_assert_int_ge(inotify_add_watch(ino, path, IN_OPEN), 0);
	}
	for (run = 1; run <= 25 && !opened; run++) {
		run_tool(&r, 10000, NULL, NULL, "lsshm", NULL);
		n = read(ino, ev, sizeof(ev));
		opened = n > 0;
	}
	stop_all();
	finish(&peer, 5000);
	close(ino);
	for (i = 0; i < BAITS; i++) {
		snprintf(path, sizeof(path), "%s/fifo%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
	ck_assert_msg(!opened, "lsshm (run %d) opened a FIFO that process %ld kept swapping with "
			       "a memfd at /proc/%ld/fd/%d..%d: it opens other processes' "
			       "descriptors with its own credentials before it knows what they are",
		      run - 1, (long)peer.pid, (long)peer.pid, BAIT_FD, BAIT_FD + BAITS - 1);
}
END_TEST

/* ------------------------------------------------------------------ main */

/* Tool tests that could not be registered, for the SKIP line. */
static char not_run[1024];

/*
 * Register tool test @t when it can run: as root (it needs a /dev/shm of its own) with tools
 * @tool1 and @tool2 (or NULL) built. Otherwise it goes on the list of tests not run, which
 * turns a run that passed into a SKIP: a tool test never passes without running.
 */
static void add_tool_test(TCase *tc, const TTest *t, const char *tool1, const char *tool2)
{
	const char *why = NULL;
	size_t o = strlen(not_run);

	if (geteuid() != 0)
		why = "not root";
	else if (access(tool_path(tool1), X_OK) != 0)
		why = tool1;
	else if (tool2 && access(tool_path(tool2), X_OK) != 0)
		why = tool2;
	if (!why) {
		tcase_add_test(tc, t);
		return;
	}
	snprintf(not_run + o, sizeof(not_run) - o, "%s%s (%s%s)", o ? ", " : "", t->name,
		 strcmp(why, "not root") ? "no " : "", why);
}

int main(void)
{
	Suite *s;
	TCase *tc;
	int rc, root = geteuid() == 0;

	snprintf(run_tag, sizeof(run_tag), "hostile%ld", (long)getpid());
	/* A child that failed early closes its pipe: telling it more must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	s = suite_create("hostile");
#define TC(title)                                                                          \
	do {                                                                               \
		tc = tcase_create(title);                                                  \
		tcase_add_checked_fixture(tc, board_setup, unlink_names);                  \
		tcase_add_unchecked_fixture(tc, NULL, sweep_names);                        \
		tcase_set_timeout(tc, TEST_SECONDS);                                       \
		suite_add_tcase(s, tc);                                                    \
	} while (0)
	TC("2 no pointers in shared memory");
	tcase_add_test(tc, the_shared_header_never_holds_a_pointer_into_a_holders_address_space);
	tcase_add_test(tc, channel_memory_never_holds_a_pointer_into_a_participants_address_space);
	TC("3 channel geometry");
	tcase_add_test(tc, a_fake_producer_offering_lying_geometry_is_refused_and_never_followed);
	tcase_add_test(tc, a_fake_producer_publishing_lies_never_gets_a_consumer_a_view_outside_its_slot);
	tcase_add_test(tc, a_peer_rewriting_channel_geometry_cannot_push_a_consumers_slot_view_outside_any_mapping);
	TC("4 forged channel state");
	tcase_add_test(tc, a_consumer_forging_another_consumers_hand_backs_cannot_get_its_held_slot_reused);
	tcase_add_test(tc, a_forged_ring_entry_cannot_hand_a_consumer_a_slot_the_producer_then_rewrites);
	TC("5 the producer's memory and owners");
	tcase_add_test(tc, a_consumer_cannot_change_a_message_through_the_producers_memory);
	if (root) {
		tcase_add_test(tc, another_user_given_the_channel_cannot_change_a_message_through_the_producers_memory);
		tcase_add_test(tc, a_channel_another_user_created_first_is_refused_by_join_unless_asked);
	}
	TC("6 removal and truncation");
	tcase_add_test(tc, a_live_channel_has_nothing_in_dev_shm_to_remove);
	tcase_add_test(tc, a_peer_truncating_the_channels_memory_does_not_kill_producer_or_consumer);
	TC("7 tools");
	add_tool_test(tc, mvshm_info_on_a_fifo_at_a_segment_name_fails_within_seconds_in_one_line,
		      "mvshm", NULL);
	add_tool_test(tc, lsshm_finishes_while_a_peer_swaps_a_segment_name_with_a_fifo, "lsshm",
		      NULL);
	add_tool_test(tc, mvshm_gc_finishes_while_a_peer_swaps_a_segment_name_with_a_fifo, "mvshm",
		      NULL);
	TC("smaller items");
	tcase_add_test(tc, a_peer_racing_a_resize_cannot_turn_it_into_a_shrink_under_anothers_view);
	tcase_add_test(tc, a_joiner_gone_before_admit_has_its_connection_closed_once);
	add_tool_test(tc, tools_escape_control_characters_in_the_names_they_print, "mvshm",
		      "lsshm");
	add_tool_test(tc, mvshm_gc_ignores_the_test_pause_hook_in_a_production_build, "mvshm",
		      NULL);
	add_tool_test(tc, gc_in_another_pid_namespace_keeps_a_segment_a_live_process_maps, "mvshm",
		      NULL);
	add_tool_test(tc, lsshm_never_opens_a_descriptor_before_it_knows_what_it_is, "lsshm",
		      NULL);
#undef TC
	if (!root)
		printf("NOTE: not root: the tests with a second uid are not run\n");
	rc = mv_test_run(s);
	sweep_names();
	if (rc == 0 && not_run[0])
		mv_test_skip("the library's attacks passed, but these tool attacks did not run: %s "
			     "(tools are looked for in %s)", not_run, tool_path(""));
	if (not_run[0])
		printf("NOTE: tool attacks not run: %s\n", not_run);
	return rc;
}
