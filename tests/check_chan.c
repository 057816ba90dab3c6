/*
 * tests/check_chan.c - zero-copy channels between real processes: handoff end to end with one
 * and several consumers, typed and short messages, readonly consumer views, back-pressure,
 * timeouts, slot safety under random holding, derived views, consumers and producers killed,
 * lying return queues, and joining.
 *
 * Every process is forked (no exec). Children report through their exit status and a message
 * in shared memory (sh->err, also printed on stderr), which the test process puts in its
 * assertion. Children die with the test process (PR_SET_PDEATHSIG). Channel names come from
 * mv_test_name() with a tag carrying the runner's pid, so each tcase's unchecked teardown can
 * remove whatever a failed test left in /dev/shm; tests remove their names themselves too.
 *
 * A child that must see a producer die is forked from the test process before or apart from the
 * producer: a child forked from the producer would share its open file description of the control
 * segment, and so its liveness lock, and the producer would never look dead.
 *
 * Messages: a header (sequence number, kind, length) and then bytes that depend on the sequence
 * number over the whole message, so a consumer checks every byte and the order, and a slot reused
 * under a live view shows up as changed content. Consumers also mark in a shared ledger which
 * messages they hold a view of; the producer checks at every loan that the message last written
 * into the loaned slot is held by no consumer.
 */
#define _GNU_SOURCE
#include "testlib.h"
#include "../util/mvutil.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEC 1000000000LL
#define MS 1000000LL
#define MAX_SEQ (1u << 18) /* ledger rows; a consumer never holds two messages this far apart */
#define ROLES 4
#define MAX_HOLD 64
#define MAX_TRACK 64
#define FAILED (-10000) /* produce(): the ledger caught a reused slot (message in sh->err) */

/* ------------------------------------------------------------------ shared test state */

struct shared {
	char err[1024];                  /* first failure a child reports */
	uint64_t received[ROLES];        /* messages each consumer role received */
	uint8_t held[ROLES][MAX_SEQ];    /* 1 while role r holds a view of message seq % MAX_SEQ */
};

static struct shared *sh;
/* "chan<runner pid>": in every name this run makes, so the runner can sweep them. */
static char run_tag[32];

static void shared_setup(void)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(sh != MAP_FAILED);
}

static void shared_teardown(void)
{
	munmap(sh, sizeof(*sh));
}

/* Unchecked teardown (runner process): remove every name this run's tests left behind. */
static void sweep_names(void)
{
	mv_test_sweep_names(run_tag);
}

static const char *chan_name(char *buf, size_t cap)
{
	return mv_test_name(buf, cap, run_tag);
}

static int name_exists(const char *name, const char *suffix)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s%s", name, suffix);
	fd = shm_open(path, O_RDONLY, 0);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* ------------------------------------------------------------------ small helpers */

static uint32_t rnd(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* A child's failure: remembered in shared memory for the test's message, and printed. */
__attribute__((format(printf, 1, 2))) static int child_fail(const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "[pid %ld] %s\n", (long)getpid(), msg);
	if (!sh->err[0])
		snprintf(sh->err, sizeof(sh->err), "[pid %ld] %s", (long)getpid(), msg);
	return 1;
}

/* Fork a child running @fn(@arg), exiting with its result; it dies with us. */
static pid_t spawn(int (*fn)(void *), void *arg)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(99);
		_exit(fn(arg));
	}
	return pid;
}

/* Wait for @pid up to @timeout_ms (then SIGKILL it); its wait status. */
static int reap(pid_t pid, int timeout_ms)
{
	long long deadline = mvu_now_ns() + timeout_ms * MS;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0); /* readable once the child ended */
	struct pollfd pfd = { fd, POLLIN, 0 };
	int st = 0, done;

	do {
		if (fd >= 0)
			poll(&pfd, 1, (int)((deadline - mvu_now_ns()) / MS) + 1);
		else
			usleep(1000); /* a kernel before 5.3 */
		done = waitpid(pid, &st, WNOHANG);
		ck_assert_int_ge(done, 0);
	} while (!done && mvu_now_ns() < deadline);
	if (fd >= 0)
		close(fd);
	if (!done) {
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_abort_msg("child %ld did not finish in %d ms (%s)", (long)pid, timeout_ms,
			     sh->err);
	}
	return st;
}

#define assert_child_ok(pid, timeout_ms, who)                                                \
	do {                                                                                 \
		int _st = reap((pid), (timeout_ms));                                         \
		ck_assert_msg(WIFEXITED(_st) && WEXITSTATUS(_st) == 0, "%s: %s %d: %s", (who), \
			      WIFEXITED(_st) ? "exit status" : "killed by signal",           \
			      WIFEXITED(_st) ? WEXITSTATUS(_st) : WTERMSIG(_st), sh->err);   \
	} while (0)

/* ------------------------------------------------------------------ messages */

/* A SYNC message asks a consumer to release everything it holds and to say so on its ack_fd. */
enum { MSG_DATA = 0x44415441, MSG_SYNC = 0x53594e43 };

struct msg_hdr {
	uint64_t seq;
	uint32_t kind;
	uint32_t len;
};

#define HDR ((size_t)sizeof(struct msg_hdr))

static uint8_t pattern_byte(uint64_t seq, size_t i)
{
	uint64_t x = (seq + 1) * 0x9E3779B97F4A7C15ULL;

	return (uint8_t)((x >> (8 * (i & 7))) ^ (i * 29u) ^ (i >> 8));
}

static void fill_msg(void *p, size_t len, uint64_t seq, uint32_t kind)
{
	struct msg_hdr h = { seq, kind, (uint32_t)len };
	unsigned char *b = p;
	size_t i;

	memcpy(b, &h, len < HDR ? len : HDR);
	for (i = HDR; i < len; i++)
		b[i] = pattern_byte(seq, i);
}

/* The first offset where @p differs from message @seq of @len bytes, or -1 if it is intact. */
static long check_msg(const void *p, size_t len, uint64_t seq, uint32_t kind)
{
	struct msg_hdr h = { seq, kind, (uint32_t)len };
	const unsigned char *b = p;
	size_t i;

	if (memcmp(b, &h, len < HDR ? len : HDR) != 0)
		return 0;
	for (i = HDR; i < len; i++)
		if (b[i] != pattern_byte(seq, i))
			return (long)i;
	return -1;
}

/* ------------------------------------------------------------------ producer side */

struct producer {
	mv_chan *ch;
	uint64_t seq;                  /* next sequence number */
	size_t slot_size;
	char *slot_ptr[MAX_TRACK];     /* slots seen (by address) ... */
	uint64_t slot_seq[MAX_TRACK];  /* ... and the message last written into each */
	unsigned ntrack;
	uint32_t rng;
};

static int make_producer(struct producer *p, const char *name, mv_chan_opts *o)
{
	memset(p, 0, sizeof(*p));
	p->slot_size = (o->slot_size + 63) / 64 * 64;
	p->rng = 0x2545F491u;
	return mv_chan_create(&p->ch, name, o);
}

/* Mostly full slots, sometimes a random shorter length. */
static size_t some_len(struct producer *p)
{
	if (rnd(&p->rng) % 4)
		return p->slot_size;
	return HDR + rnd(&p->rng) % (p->slot_size - HDR + 1);
}

/* Loan, check the slot is held by no consumer, write message p->seq, send. */
static int produce(struct producer *p, uint32_t kind, size_t len, long long timeout_ns)
{
	unsigned i, r;
	mv_view v;
	char *ptr;
	int rc;

	rc = mv_chan_loan(&v, p->ch, timeout_ns);
	if (rc < 0)
		return rc;
	ptr = mv_view_ptr(&v);
	if (mv_view_readonly(&v) != 0 || mv_view_nbytes(&v) < (ssize_t)len)
		return child_fail("loaned view: readonly %d, %zd bytes for a %zu-byte message",
				  mv_view_readonly(&v), mv_view_nbytes(&v), len), FAILED;
	for (i = 0; i < p->ntrack && p->slot_ptr[i] != ptr; i++)
		;
	if (i < p->ntrack) {
		for (r = 0; r < ROLES; r++)
			if (__atomic_load_n(&sh->held[r][p->slot_seq[i] % MAX_SEQ], __ATOMIC_ACQUIRE))
				return child_fail("the slot of message %llu was loaned while consumer "
						  "%u holds a view of it",
						  (unsigned long long)p->slot_seq[i], r), FAILED;
	} else {
		if (p->ntrack == MAX_TRACK)
			return child_fail("more slot addresses than slots"), FAILED;
		p->slot_ptr[p->ntrack++] = ptr;
	}
	p->slot_seq[i] = p->seq;
	fill_msg(ptr, len, p->seq, kind);
	rc = mv_chan_send(p->ch, &v, len);
	if (rc < 0)
		return rc;
	p->seq++;
	return 0;
}

#define assert_produce(p, kind, len, timeout)                                                \
	do {                                                                                 \
		int _rc = produce((p), (kind), (len), (timeout));                            \
		ck_assert_msg(_rc == 0, "message %llu: %d (%s) %s",                          \
			      (unsigned long long)(p)->seq, _rc, mv_errmsg(), sh->err);      \
	} while (0)

/* ------------------------------------------------------------------ consumer side */

struct consumer {
	const char *name;
	int role;             /* row of the ledger and of sh->received */
	unsigned max_hold;    /* holds up to this many views at once, a random number each time */
	unsigned pin;         /* keeps the first @pin messages until the end, checked last */
	int from_zero;        /* the first message must be number 0 */
	int ready_fd;         /* gets 'r' once joined (-1: none) */
	int ack_fd;           /* gets 's' per SYNC message, after releasing everything held */
	int pinned_fd;        /* gets 'p' once the pinned messages are held */
	int poll;             /* receive with timeout 0 only */
	int nap;              /* sleep a little now and then */
	uint32_t seed;
	uint64_t limit;       /* leaves (closes) after this many messages; 0: stays to the end */
};

#define CONSUMER_INIT(nm, rl) { (nm), (rl), 0, 0, 1, -1, -1, -1, 0, 0, 0x9E3779B9u + (rl), 0 }

struct held {
	mv_view v;
	uint64_t seq;
	uint32_t kind;
	size_t len;
	int used, pinned;
};

static struct held held[MAX_HOLD]; /* per consumer process */

/* Check a held view is unchanged, unmark it, release it. 0 or a failure. */
static int release_held(struct consumer *c, struct held *h)
{
	long bad = check_msg(mv_view_ptr(&h->v), h->len, h->seq, h->kind);
	int rc;

	if (bad >= 0)
		return child_fail("message %llu changed under a live view (offset %ld)",
				  (unsigned long long)h->seq, bad);
	__atomic_store_n(&sh->held[c->role][h->seq % MAX_SEQ], 0, __ATOMIC_RELEASE);
	rc = mv_view_release(&h->v);
	if (rc < 0)
		return child_fail("release: %s", mv_errmsg());
	h->used = 0;
	return 0;
}

/* Release a random unpinned held view (nothing if none). */
static int release_random(struct consumer *c, unsigned nheld)
{
	unsigned k = rnd(&c->seed) % nheld, i;

	for (i = 0; i < MAX_HOLD; i++)
		if (held[i].used && !held[i].pinned && k-- == 0)
			return release_held(c, &held[i]);
	return child_fail("lost count of held views");
}

static int release_all(struct consumer *c, int pinned_too)
{
	unsigned i;

	for (i = 0; i < MAX_HOLD; i++)
		if (held[i].used && (pinned_too || !held[i].pinned) && release_held(c, &held[i]))
			return 1;
	return 0;
}

/* A consumer process: joins, checks every message, holds and releases views at random. */
static int consumer_main(void *arg)
{
	struct consumer *c = arg;
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	uint64_t next = 0, count = 0;
	unsigned nheld = 0, npinned = 0, i;
	int known = c->from_zero, rc;
	mv_chan *ch;

	rc = mv_chan_join(&ch, c->name, NULL, 5 * SEC);
	if (rc < 0)
		return child_fail("join: %d %s", rc, mv_errmsg());
	if (c->ready_fd >= 0)
		mv_test_write_byte(c->ready_fd, 'r');
	for (;;) {
		unsigned target = c->max_hold ? rnd(&c->seed) % (c->max_hold + 1) : 0;
		struct msg_hdr h;
		struct held *slot;
		long bad;

		while (nheld > target) {
			if (release_random(c, nheld))
				return 1;
			nheld--;
		}
		for (slot = held; slot->used; slot++)
			;
		rc = mv_chan_recv(&slot->v, ch, c->poll || nheld ? 0 : 10 * SEC);
		if (rc == -EAGAIN) {
			if (nheld) {
				if (release_random(c, nheld))
					return 1;
				nheld--;
			}
			continue;
		}
		if (rc == -EPIPE)
			break;
		if (rc < 0)
			return child_fail("recv after %llu messages: %d %s",
					  (unsigned long long)count, rc, mv_errmsg());
		if (mv_view_readonly(&slot->v) != 1 || mv_view_nbytes(&slot->v) < (ssize_t)HDR ||
		    strcmp(mv_view_format(&slot->v), "B") != 0 || mv_view_ndim(&slot->v) != 1)
			return child_fail("message %llu: readonly %d, %zd bytes, format %s",
					  (unsigned long long)next, mv_view_readonly(&slot->v),
					  mv_view_nbytes(&slot->v), mv_view_format(&slot->v));
		memcpy(&h, mv_view_ptr(&slot->v), HDR);
		if (!known) {
			next = h.seq;
			known = 1;
		}
		if (h.seq != next)
			return child_fail("message %llu arrived where %llu was due",
					  (unsigned long long)h.seq, (unsigned long long)next);
		slot->seq = h.seq;
		slot->kind = h.kind;
		slot->len = (size_t)mv_view_nbytes(&slot->v);
		bad = check_msg(mv_view_ptr(&slot->v), slot->len, h.seq, h.kind);
		if (bad >= 0)
			return child_fail("message %llu (%zu bytes, header says %u) is wrong at %ld",
					  (unsigned long long)h.seq, slot->len, h.len, bad);
		__atomic_store_n(&sh->held[c->role][h.seq % MAX_SEQ], 1, __ATOMIC_RELEASE);
		slot->used = 1;
		next++;
		count++;
		if (npinned < c->pin) {
			slot->pinned = 1;
			if (++npinned == c->pin && c->pinned_fd >= 0)
				mv_test_write_byte(c->pinned_fd, 'p');
		} else {
			slot->pinned = 0;
			nheld++;
		}
		if (h.kind == MSG_SYNC) {
			if (release_all(c, 0))
				return 1;
			nheld = 0;
			if (c->ack_fd >= 0)
				mv_test_write_byte(c->ack_fd, 's');
		}
		if (c->nap && rnd(&c->seed) % 64 == 0)
			usleep(rnd(&c->seed) % 300);
		if (count == c->limit)
			break;
	}
	if (release_all(c, 1))
		return 1;
	for (i = 0; i < MAX_HOLD; i++)
		if (held[i].used)
			return child_fail("a view is still held at the end");
	if (mv_chan_get_stats(&st, ch) < 0 || st.received != count)
		return child_fail("stats: received %llu, counted %llu",
				  (unsigned long long)st.received, (unsigned long long)count);
	sh->received[c->role] = count;
	rc = mv_chan_close(ch);
	if (rc < 0)
		return child_fail("close: %s", mv_errmsg());
	return 0;
}

/* ------------------------------------------------------------------ a producer in a child */

/*
 * A producer process: creates the channel, says 'r' on @ready_fd, admits @consumers, sends
 * @nmsgs messages (lens[i] bytes, 0 meaning the loaned view's size), then closes, after a 'q' on
 * @cmd_fd if it is not -1.
 */
struct script {
	const char *name;
	mv_chan_opts opts;
	int ready_fd;
	int cmd_fd;           /* -1: do not wait for a command before closing */
	int deaf;             /* wait for the command without calling the channel: admit nobody */
	unsigned consumers;   /* 0: admit nobody */
	size_t lens[8];
	unsigned nmsgs;
};

static int script_producer(void *arg)
{
	struct script *s = arg;
	struct producer p;
	unsigned i;
	int rc;

	rc = make_producer(&p, s->name, &s->opts);
	if (rc < 0)
		return child_fail("create: %s", mv_errmsg());
	mv_test_write_byte(s->ready_fd, 'r');
	if (s->consumers && mv_chan_wait_consumers(p.ch, s->consumers, 5 * SEC) < 0)
		return mv_chan_close(p.ch), child_fail("wait_consumers: %s", mv_errmsg());
	for (i = 0; i < s->nmsgs; i++) {
		size_t len = s->lens[i];
		mv_view v;

		if (!len) { /* the whole loaned view */
			rc = mv_chan_loan(&v, p.ch, 5 * SEC);
			if (rc < 0)
				return mv_chan_close(p.ch), child_fail("loan: %s", mv_errmsg());
			len = (size_t)mv_view_nbytes(&v);
			if (strcmp(mv_view_format(&v), s->opts.format ? s->opts.format : "B") != 0 ||
			    mv_view_ndim(&v) != (s->opts.ndim < 0 ? 1 : s->opts.ndim))
				child_fail("the loaned view is %s with %d dimensions",
					   mv_view_format(&v), mv_view_ndim(&v));
			fill_msg(mv_view_ptr(&v), len, p.seq++, MSG_DATA);
			rc = mv_chan_send(p.ch, &v, len);
		} else {
			rc = produce(&p, MSG_DATA, len, 5 * SEC);
		}
		if (rc < 0)
			return mv_chan_close(p.ch), child_fail("message %u: %s", i, mv_errmsg());
	}
	/* Waiting for the command as an event loop would: the channel's calls admit joiners. */
	if (s->cmd_fd >= 0 && s->deaf) {
		if (mv_test_read_byte(s->cmd_fd, 20000) != 'q')
			child_fail("no command to close");
	} else if (s->cmd_fd >= 0) {
		mv_chan_stats st = MV_CHAN_STATS_INIT;
		long long deadline = mvu_now_ns() + 20 * SEC;
		int c;

		while ((c = mv_test_read_byte(s->cmd_fd, 10)) != 'q' && mvu_now_ns() < deadline)
			mv_chan_get_stats(&st, p.ch);
		if (c != 'q')
			child_fail("no command to close");
	}
	rc = mv_chan_close(p.ch);
	if (rc < 0)
		return child_fail("close: %s", mv_errmsg());
	return sh->err[0] != 0;
}

/* Start a script producer; returns its pid once the channel exists. */
static pid_t start_producer(struct script *s)
{
	int ready[2];
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	s->ready_fd = ready[1];
	pid = spawn(script_producer, s);
	close(ready[1]);
	ck_assert_msg(mv_test_read_byte(ready[0], 10000) == 'r', "producer did not start: %s",
		      sh->err);
	close(ready[0]);
	return pid;
}

/* The test process as a consumer: receive message @seq and check its bytes. */
static void recv_msg(mv_chan *ch, mv_view *v, uint64_t seq)
{
	long bad;

	ck_assert_msg(mv_chan_recv(v, ch, 5 * SEC) == 0, "recv %llu: %s", (unsigned long long)seq,
		      mv_errmsg());
	ck_assert_int_eq(mv_view_readonly(v), 1);
	bad = check_msg(mv_view_ptr(v), (size_t)mv_view_nbytes(v), seq, MSG_DATA);
	ck_assert_msg(bad < 0, "message %llu is wrong at offset %ld", (unsigned long long)seq, bad);
}

/* ------------------------------------------------------------------ handoff */

/* The test process produces @n messages to @nc consumer processes and closes. */
static void run_handoff(unsigned nc, unsigned n, unsigned flags, unsigned max_hold)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct consumer c[ROLES];
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	struct producer p;
	char name[64];
	pid_t pid[ROLES];
	unsigned i;

	o.nslots = 16;
	o.slot_size = 1024;
	o.flags = flags;
	chan_name(name, sizeof(name));
	ck_assert_int_eq(make_producer(&p, name, &o), 0);
	for (i = 0; i < nc; i++) {
		struct consumer init = CONSUMER_INIT(name, (int)i);

		c[i] = init;
		c[i].max_hold = max_hold;
		pid[i] = spawn(consumer_main, &c[i]);
	}
	ck_assert_int_eq(mv_chan_wait_consumers(p.ch, nc, 5 * SEC), (int)nc);
	for (i = 0; i < n; i++)
		assert_produce(&p, MSG_DATA, some_len(&p), 5 * SEC);
	ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0);
	ck_assert_uint_eq(st.sent, n);
	ck_assert_uint_eq(st.consumers, nc);
	ck_assert_int_eq(mv_chan_close(p.ch), 0);
	ck_assert(!name_exists(name, ""));
	ck_assert(!name_exists(name, ".data"));
	for (i = 0; i < nc; i++) {
		assert_child_ok(pid[i], 20000, "consumer");
		ck_assert_uint_eq(sh->received[i], n);
	}
}

START_TEST(one_consumer_receives_every_message_in_order_with_every_byte)
{
	run_handoff(1, 5000, 0, 4);
}
END_TEST

START_TEST(three_consumers_each_receive_every_message_in_order_with_every_byte)
{
	run_handoff(3, 5000, 0, 5);
}
END_TEST

START_TEST(a_spinning_channel_delivers_like_a_sleeping_one)
{
	run_handoff(1, 2000, MV_CHAN_SPIN, 3);
}
END_TEST

START_TEST(a_consumer_that_leaves_is_owed_nothing_more)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct consumer stay = CONSUMER_INIT(NULL, 0), leave = CONSUMER_INIT(NULL, 1);
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	struct producer p;
	const unsigned n = 500;
	char name[64];
	pid_t ps, pl;
	unsigned i;

	o.nslots = 4;
	o.slot_size = 256;
	ck_assert_int_eq(make_producer(&p, chan_name(name, sizeof(name)), &o), 0);
	stay.name = leave.name = name;
	stay.max_hold = 2;
	leave.max_hold = 3;
	leave.limit = 10;
	ps = spawn(consumer_main, &stay);
	pl = spawn(consumer_main, &leave);
	ck_assert_int_eq(mv_chan_wait_consumers(p.ch, 2, 5 * SEC), 2);
	for (i = 0; i < n; i++) /* would time out if the one that left were still owed */
		assert_produce(&p, MSG_DATA, some_len(&p), 5 * SEC);
	assert_child_ok(pl, 10000, "consumer that leaves");
	ck_assert_uint_eq(sh->received[1], 10);
	ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0);
	ck_assert_uint_eq(st.consumers, 1);
	ck_assert_uint_eq(st.reclaimed, 0);
	ck_assert_int_eq(mv_chan_close(p.ch), 0);
	assert_child_ok(ps, 10000, "consumer that stays");
	ck_assert_uint_eq(sh->received[0], n);
}
END_TEST

/* ------------------------------------------------------------------ typed, short, readonly */

/* A producer child sends messages of @lens (0: the loaned size); the test process joins. */
static mv_chan *join_script(struct script *s, const mv_chan_opts *o, const size_t *lens,
			    unsigned n, char *name, size_t cap, pid_t *pid)
{
	mv_chan *ch;

	memset(s, 0, sizeof(*s));
	s->name = chan_name(name, cap);
	s->opts = *o;
	s->cmd_fd = -1;
	s->consumers = 1;
	memcpy(s->lens, lens, n * sizeof(*lens));
	s->nmsgs = n;
	*pid = start_producer(s);
	ck_assert_msg(mv_chan_join(&ch, name, NULL, 5 * SEC) == 0, "join: %s", mv_errmsg());
	return ch;
}

static void finish_script(mv_chan *ch, pid_t pid)
{
	mv_view v;

	ck_assert_mv_err(mv_chan_recv(&v, ch, 5 * SEC), EPIPE, "producer");
	ck_assert_int_eq(mv_chan_close(ch), 0);
	assert_child_ok(pid, 10000, "producer");
}

START_TEST(typed_slots_arrive_with_the_channel_format_and_shape)
{
	static const ssize_t shape[2] = { 4, 16 };
	static const size_t lens[2] = { 0, 512 };
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct script s;
	char name[64];
	mv_view v;
	mv_chan *ch;
	pid_t pid;
	int k;

	o.slot_size = 512;
	o.format = "d";
	o.shape = shape;
	o.ndim = 2;
	ch = join_script(&s, &o, lens, 2, name, sizeof(name), &pid);
	for (k = 0; k < 2; k++) {
		recv_msg(ch, &v, (uint64_t)k);
		ck_assert_str_eq(mv_view_format(&v), "d");
		ck_assert_int_eq(mv_view_itemsize(&v), 8);
		ck_assert_int_eq(mv_view_ndim(&v), 2);
		ck_assert_int_eq(mv_view_shape(&v)[0], 4);
		ck_assert_int_eq(mv_view_shape(&v)[1], 16);
		ck_assert_int_eq(mv_view_nbytes(&v), 512);
		ck_assert_int_eq(mv_view_c_contiguous(&v), 1);
		ck_assert_int_eq(mv_view_release(&v), 0);
	}
	finish_script(ch, pid);
}
END_TEST

START_TEST(a_message_shorter_than_a_slot_arrives_as_bytes_of_its_length)
{
	static const ssize_t shape[2] = { 4, 16 };
	static const size_t lens[2] = { 100, 16 };
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct script s;
	char name[64];
	mv_view v;
	mv_chan *ch;
	pid_t pid;

	o.slot_size = 512;
	o.format = "d";
	o.shape = shape;
	o.ndim = 2;
	ch = join_script(&s, &o, lens, 2, name, sizeof(name), &pid);
	recv_msg(ch, &v, 0);
	ck_assert_str_eq(mv_view_format(&v), "B");
	ck_assert_int_eq(mv_view_itemsize(&v), 1);
	ck_assert_int_eq(mv_view_ndim(&v), 1);
	ck_assert_int_eq(mv_view_shape(&v)[0], 100);
	ck_assert_int_eq(mv_view_nbytes(&v), 100);
	ck_assert_int_eq(mv_view_release(&v), 0);
	recv_msg(ch, &v, 1);
	ck_assert_str_eq(mv_view_format(&v), "B");
	ck_assert_int_eq(mv_view_nbytes(&v), 16);
	ck_assert_int_eq(mv_view_release(&v), 0);
	finish_script(ch, pid);
}
END_TEST

START_TEST(a_one_dimensional_typed_slot_covers_the_rounded_slot_on_both_sides)
{
	static const size_t lens[1] = { 0 };
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct script s;
	char name[64];
	mv_view v;
	mv_chan *ch;
	pid_t pid;

	o.slot_size = 1000; /* a slot is 1024 bytes */
	o.format = "d";
	ch = join_script(&s, &o, lens, 1, name, sizeof(name), &pid);
	recv_msg(ch, &v, 0); /* the message is as long as the producer's loaned view */
	ck_assert_int_eq(mv_view_nbytes(&v), 1024);
	ck_assert_str_eq(mv_view_format(&v), "d");
	ck_assert_int_eq(mv_view_ndim(&v), 1);
	ck_assert_int_eq(mv_view_shape(&v)[0], 128);
	ck_assert_int_eq(mv_view_release(&v), 0);
	finish_script(ch, pid);
}
END_TEST

START_TEST(a_zero_dimensional_slot_arrives_as_a_scalar_of_the_format)
{
	static const size_t lens[1] = { 0 };
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct script s;
	char name[64];
	mv_view v;
	mv_chan *ch;
	pid_t pid;

	o.slot_size = 64;
	o.format = "Q";
	o.ndim = 0;
	ch = join_script(&s, &o, lens, 1, name, sizeof(name), &pid);
	recv_msg(ch, &v, 0);
	ck_assert_str_eq(mv_view_format(&v), "Q");
	ck_assert_int_eq(mv_view_ndim(&v), 0);
	ck_assert_int_eq(mv_view_nbytes(&v), 8);
	ck_assert_int_eq(mv_view_release(&v), 0);
	finish_script(ch, pid);
}
END_TEST

START_TEST(received_views_are_readonly)
{
	static const size_t lens[1] = { 200 };
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct script s;
	char name[64];
	mv_view v, w;
	mv_buffer b;
	mv_value x;
	mv_chan *ch;
	pid_t pid;

	ch = join_script(&s, &o, lens, 1, name, sizeof(name), &pid);
	recv_msg(ch, &v, 0);
	ck_assert_int_eq(mv_view_readonly(&v), 1);
	ck_assert_int_eq(mv_buffer_get(&b, mv_view_exporter(&v), MV_BUF_WRITABLE), -EROFS);
	ck_assert_int_eq(mv_view_from(&w, mv_view_obj(&v), MV_BUF_WRITABLE), -EROFS);
	memset(&x, 0, sizeof(x));
	ck_assert_int_eq(mv_view_get_item(&x, &v, 20), 0);
	ck_assert_int_eq(mv_view_set_item(&v, 20, &x), -EROFS);
	ck_assert_int_eq(mv_view_release(&v), 0);
	finish_script(ch, pid);
}
END_TEST

/* The test process dies of SIGSEGV (and the producer with it): it removes the names first. */
START_TEST(writing_through_a_received_view_faults)
{
	static const size_t lens[1] = { 0 };
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct sigaction sa;
	struct script s;
	char name[64], dname[80];
	mv_chan *ch;
	mv_view v;
	pid_t pid;

	ch = join_script(&s, &o, lens, 1, name, sizeof(name), &pid);
	recv_msg(ch, &v, 0);
	snprintf(dname, sizeof(dname), "%s.data", name);
	shm_unlink(name); /* (unless the producer's close did already) */
	shm_unlink(dname);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGSEGV, &sa, NULL); /* a sanitizer's handler would turn the fault into an exit */
	((volatile char *)mv_view_ptr(&v))[100] = 1;
	ck_abort_msg("writing through a received view did not fault");
}
END_TEST

/* ------------------------------------------------------------------ back-pressure */

struct holder {
	const char *name;
	int done_fd, cmd_fd;
	unsigned n; /* messages to hold */
};

/* Holds the first @n messages until told 'x', waits 100 ms, releases them, takes two more. */
static int holder_main(void *arg)
{
	struct holder *c = arg;
	mv_view v[64];
	mv_chan *ch;
	unsigned i;
	int rc;

	if (mv_chan_join(&ch, c->name, NULL, 5 * SEC) < 0)
		return child_fail("join: %s", mv_errmsg());
	for (i = 0; i < c->n + 2; i++) {
		rc = mv_chan_recv(&v[i], ch, 5 * SEC);
		if (rc < 0)
			return child_fail("recv %u: %s", i, mv_errmsg());
		if (check_msg(mv_view_ptr(&v[i]), (size_t)mv_view_nbytes(&v[i]), i, MSG_DATA) >= 0)
			return child_fail("message %u is wrong", i);
		if (i == c->n - 1) {
			mv_test_write_byte(c->done_fd, 'h');
			if (mv_test_read_byte(c->cmd_fd, 10000) != 'x')
				return child_fail("no command");
			usleep(100000);
			for (rc = 0; rc < (int)c->n; rc++)
				mv_view_release(&v[rc]);
		} else if (i >= c->n) {
			mv_view_release(&v[i]);
		}
	}
	rc = mv_chan_recv(&v[0], ch, MV_CHAN_FOREVER);
	if (rc != -EPIPE)
		return child_fail("recv after the last message: %d %s", rc, mv_errmsg());
	return mv_chan_close(ch) == 0 ? 0 : child_fail("close: %s", mv_errmsg());
}

START_TEST(loan_fails_while_a_consumer_holds_every_slot_and_succeeds_once_it_releases)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	struct producer p;
	struct holder h;
	int done[2], cmd[2];
	long long t0, dt;
	char name[64];
	mv_view v;
	unsigned i;
	pid_t pid;

	o.nslots = 4;
	o.slot_size = 256;
	ck_assert_int_eq(make_producer(&p, chan_name(name, sizeof(name)), &o), 0);
	ck_assert_int_eq(pipe(done), 0);
	ck_assert_int_eq(pipe(cmd), 0);
	h.name = name;
	h.done_fd = done[1];
	h.cmd_fd = cmd[0];
	h.n = 4;
	pid = spawn(holder_main, &h);
	ck_assert_int_eq(mv_chan_wait_consumers(p.ch, 1, 5 * SEC), 1);
	for (i = 0; i < 4; i++)
		assert_produce(&p, MSG_DATA, some_len(&p), 5 * SEC);
	ck_assert_msg(mv_test_read_byte(done[0], 10000) == 'h', "holder: %s", sh->err);
	ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0);
	ck_assert_uint_eq(st.free_slots, 0);
	ck_assert_mv_err(mv_chan_loan(&v, p.ch, 0), EAGAIN, "every slot is held");
	t0 = mvu_now_ns();
	ck_assert_mv_err(mv_chan_loan(&v, p.ch, 30 * MS), ETIMEDOUT, "in time");
	dt = mvu_now_ns() - t0;
	ck_assert_msg(dt >= 30 * MS && dt < 5 * SEC, "a 30 ms loan gave up after %lld ns", dt);
	mv_test_write_byte(cmd[1], 'x'); /* the holder waits 100 ms, then releases */
	t0 = mvu_now_ns();
	assert_produce(&p, MSG_DATA, some_len(&p), 5 * SEC);
	dt = mvu_now_ns() - t0;
	ck_assert_msg(dt >= 90 * MS && dt < 2 * SEC, "the waiting loan took %lld ns", dt);
	assert_produce(&p, MSG_DATA, some_len(&p), 5 * SEC);
	ck_assert_int_eq(mv_chan_close(p.ch), 0);
	assert_child_ok(pid, 10000, "holder");
}
END_TEST

/* ------------------------------------------------------------------ timeouts */

START_TEST(recv_gives_eagain_at_once_and_etimedout_after_the_timeout_on_an_empty_channel)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct script s;
	long long t0, dt;
	char name[64];
	int cmd[2];
	mv_chan *ch;
	mv_view v;
	pid_t pid;

	ck_assert_int_eq(pipe(cmd), 0);
	memset(&s, 0, sizeof(s));
	s.name = chan_name(name, sizeof(name));
	s.opts = o;
	s.cmd_fd = cmd[0];
	s.consumers = 1;
	pid = start_producer(&s);
	ck_assert_msg(mv_chan_join(&ch, name, NULL, 5 * SEC) == 0, "join: %s", mv_errmsg());
	t0 = mvu_now_ns();
	ck_assert_mv_err(mv_chan_recv(&v, ch, 0), EAGAIN, "no message");
	dt = mvu_now_ns() - t0;
	ck_assert_msg(dt < SEC, "recv with timeout 0 took %lld ns", dt);
	t0 = mvu_now_ns();
	ck_assert_mv_err(mv_chan_recv(&v, ch, 50 * MS), ETIMEDOUT, "no message in time");
	dt = mvu_now_ns() - t0;
	ck_assert_msg(dt >= 50 * MS && dt < 5 * SEC, "a 50 ms recv gave up after %lld ns", dt);
	mv_test_write_byte(cmd[1], 'q');
	ck_assert_mv_err(mv_chan_recv(&v, ch, MV_CHAN_FOREVER), EPIPE, "producer is gone");
	ck_assert_int_eq(mv_chan_close(ch), 0);
	assert_child_ok(pid, 10000, "producer");
}
END_TEST

START_TEST(join_times_out_when_the_producer_admits_nobody)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct script s;
	long long t0, dt;
	char name[64];
	int cmd[2];
	mv_chan *ch;
	pid_t pid;

	ck_assert_int_eq(pipe(cmd), 0);
	memset(&s, 0, sizeof(s));
	s.name = chan_name(name, sizeof(name));
	s.opts = o;
	s.cmd_fd = cmd[0];
	s.deaf = 1;
	pid = start_producer(&s);
	t0 = mvu_now_ns();
	ck_assert_mv_err(mv_chan_join(&ch, name, NULL, 50 * MS), ETIMEDOUT, "did not admit");
	dt = mvu_now_ns() - t0;
	ck_assert_msg(dt >= 50 * MS && dt < 5 * SEC, "a 50 ms join gave up after %lld ns", dt);
	mv_test_write_byte(cmd[1], 'q');
	assert_child_ok(pid, 10000, "producer");
}
END_TEST

START_TEST(wait_consumers_times_out_when_nobody_joins)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	long long t0, dt;
	char name[64];
	mv_chan *ch;

	ck_assert_int_eq(mv_chan_create(&ch, chan_name(name, sizeof(name)), &o), 0);
	ck_assert_int_eq(mv_chan_wait_consumers(ch, 0, 0), 0);
	t0 = mvu_now_ns();
	ck_assert_mv_err(mv_chan_wait_consumers(ch, 1, 30 * MS), ETIMEDOUT, "0 of 1 consumers");
	dt = mvu_now_ns() - t0;
	ck_assert_msg(dt >= 30 * MS && dt < 5 * SEC, "a 30 ms wait gave up after %lld ns", dt);
	ck_assert_int_eq(mv_chan_close(ch), 0);
}
END_TEST

/* ------------------------------------------------------------------ slot safety */

START_TEST(no_slot_is_loaned_while_a_consumer_holds_a_view_of_it)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	const unsigned nc = 3, n = 20000;
	struct consumer c[3];
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	struct producer p;
	char name[64];
	pid_t pid[3];
	unsigned i;

	o.nslots = 8;
	o.slot_size = 256;
	ck_assert_int_eq(make_producer(&p, chan_name(name, sizeof(name)), &o), 0);
	for (i = 0; i < nc; i++) {
		struct consumer init = CONSUMER_INIT(name, (int)i);

		c[i] = init;
		c[i].max_hold = 6;
		c[i].nap = 1;
		pid[i] = spawn(consumer_main, &c[i]);
	}
	ck_assert_int_eq(mv_chan_wait_consumers(p.ch, nc, 5 * SEC), (int)nc);
	for (i = 0; i < n; i++) {
		assert_produce(&p, MSG_DATA, some_len(&p), 5 * SEC);
		if (i % 1000 == 0) {
			ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0);
			ck_assert_uint_le(st.free_slots, 8);
			ck_assert_uint_eq(st.consumers, nc);
			ck_assert_uint_eq(st.bad_returns, 0);
		}
	}
	ck_assert_int_eq(mv_chan_close(p.ch), 0);
	for (i = 0; i < nc; i++) {
		assert_child_ok(pid[i], 20000, "consumer");
		ck_assert_uint_eq(sh->received[i], n);
	}
}
END_TEST

struct deriver {
	const char *name;
	int done_fd, cmd_fd;
};

/* Derives a slice and a readonly view from message 0, then lets go of one view at a time. */
static int deriver_main(void *arg)
{
	struct deriver *c = arg;
	mv_view v, s, r;
	mv_chan *ch;
	int rc;

	if (mv_chan_join(&ch, c->name, NULL, 5 * SEC) < 0)
		return child_fail("join: %s", mv_errmsg());
	if (mv_chan_recv(&v, ch, 5 * SEC) < 0)
		return child_fail("recv: %s", mv_errmsg());
	if (mv_view_slice(&s, &v, 16, 48, 1) < 0 || mv_view_toreadonly(&r, &v) < 0)
		return child_fail("derive: %s", mv_errmsg());
	if (mv_chan_loan(&v, ch, 0) != -EINVAL || mv_chan_send(ch, &v, 0) != -EINVAL)
		return child_fail("a consumer could loan or send");
	if (mv_view_release(&v) < 0)
		return child_fail("release: %s", mv_errmsg());
	rc = mv_chan_close(ch);
	if (rc != -EBUSY || !strstr(mv_errmsg(), "views of slot 0 are alive"))
		return child_fail("close with a slice alive: %d %s", rc, mv_errmsg());
	mv_test_write_byte(c->done_fd, 'a');
	if (mv_test_read_byte(c->cmd_fd, 10000) != 'b')
		return child_fail("no command b");
	if (check_msg(mv_view_ptr(&r), (size_t)mv_view_nbytes(&r), 0, MSG_DATA) >= 0)
		return child_fail("message 0 changed under a derived view");
	mv_view_release(&s);
	if (mv_chan_close(ch) != -EBUSY)
		return child_fail("close with a readonly copy alive: %s", mv_errmsg());
	mv_test_write_byte(c->done_fd, 'c');
	if (mv_test_read_byte(c->cmd_fd, 10000) != 'd')
		return child_fail("no command d");
	if (check_msg(mv_view_ptr(&r), (size_t)mv_view_nbytes(&r), 0, MSG_DATA) >= 0)
		return child_fail("message 0 changed under a derived view");
	mv_view_release(&r);
	if (mv_chan_recv(&v, ch, 5 * SEC) < 0)
		return child_fail("recv 1: %s", mv_errmsg());
	if (check_msg(mv_view_ptr(&v), (size_t)mv_view_nbytes(&v), 1, MSG_DATA) >= 0)
		return child_fail("message 1 is wrong");
	mv_view_release(&v);
	rc = mv_chan_recv(&v, ch, 5 * SEC);
	if (rc != -EPIPE)
		return child_fail("recv after the last message: %d %s", rc, mv_errmsg());
	return mv_chan_close(ch) == 0 ? 0 : child_fail("close: %s", mv_errmsg());
}

START_TEST(views_derived_from_a_received_view_keep_its_slot_held)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	struct producer p;
	struct deriver d;
	int done[2], cmd[2];
	char name[64];
	mv_view v;
	pid_t pid;

	o.nslots = 1;
	o.slot_size = 256;
	ck_assert_int_eq(make_producer(&p, chan_name(name, sizeof(name)), &o), 0);
	ck_assert_int_eq(pipe(done), 0);
	ck_assert_int_eq(pipe(cmd), 0);
	d.name = name;
	d.done_fd = done[1];
	d.cmd_fd = cmd[0];
	pid = spawn(deriver_main, &d);
	ck_assert_int_eq(mv_chan_wait_consumers(p.ch, 1, 5 * SEC), 1);
	assert_produce(&p, MSG_DATA, 256, 0);
	ck_assert_msg(mv_test_read_byte(done[0], 10000) == 'a', "consumer: %s", sh->err);
	ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0); /* the received view is released */
	ck_assert_uint_eq(st.free_slots, 0);
	ck_assert_mv_err(mv_chan_loan(&v, p.ch, 0), EAGAIN, "held by consumers");
	mv_test_write_byte(cmd[1], 'b');
	ck_assert_msg(mv_test_read_byte(done[0], 10000) == 'c', "consumer: %s", sh->err);
	ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0); /* and the slice */
	ck_assert_uint_eq(st.free_slots, 0);
	ck_assert_mv_err(mv_chan_loan(&v, p.ch, 0), EAGAIN, "held by consumers");
	mv_test_write_byte(cmd[1], 'd');
	assert_produce(&p, MSG_DATA, 256, 5 * SEC); /* once the readonly copy goes */
	ck_assert_int_eq(mv_chan_close(p.ch), 0);
	assert_child_ok(pid, 10000, "consumer");
}
END_TEST

START_TEST(send_refuses_while_views_derived_from_the_loan_exist)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	mv_view v, d, other;
	char name[64];
	mv_buffer b;
	mv_heap *heap;
	mv_chan *ch;

	o.nslots = 2;
	o.slot_size = 128;
	ck_assert_int_eq(mv_chan_create(&ch, chan_name(name, sizeof(name)), &o), 0);
	ck_assert_int_eq(mv_chan_loan(&v, ch, 0), 0);
	ck_assert_int_eq(mv_view_readonly(&v), 0);
	ck_assert_int_eq(mv_view_nbytes(&v), 128);
	ck_assert_int_eq(mv_view_slice(&d, &v, 0, 8, 1), 0);
	ck_assert_mv_err(mv_chan_send(ch, &v, 8), EBUSY, "release the views derived");
	ck_assert_mv_err(mv_chan_close(ch), EBUSY, "alive");
	ck_assert_int_eq(mv_view_release(&d), 0);
	ck_assert_int_eq(mv_buffer_get(&b, mv_view_exporter(&v), MV_BUF_SIMPLE), 0);
	ck_assert_mv_err(mv_chan_send(ch, &v, 8), EBUSY, "release the views derived");
	ck_assert_int_eq(mv_buffer_release(&b), 0);
	/* A view of the slot's own exporter is a family of its own: it too must go first. */
	ck_assert_int_eq(mv_view_from(&d, mv_view_obj(&v), 0), 0);
	ck_assert_mv_err(mv_chan_send(ch, &v, 8), EBUSY, "release the views derived");
	ck_assert_int_eq(mv_view_release(&d), 0);
	ck_assert_mv_err(mv_chan_send(ch, &d, 8), EINVAL, "not a loaned slot");
	ck_assert_int_eq(mv_heap_bytearray_new(&heap, "abcdefgh", 8), 0);
	ck_assert_int_eq(mv_view_from(&other, mv_heap_exporter(heap), 0), 0);
	ck_assert_mv_err(mv_chan_send(ch, &other, 8), EINVAL, "not a loaned slot");
	ck_assert_int_eq(mv_view_release(&other), 0);
	ck_assert_int_eq(mv_heap_free(heap), 0);
	ck_assert_mv_err(mv_chan_send(ch, &v, 129), EINVAL, "larger than a slot");
	ck_assert_mv_err(mv_chan_recv(&d, ch, 0), EINVAL, "does not receive");
	ck_assert_int_eq(mv_chan_send(ch, &v, 8), 0);
	ck_assert_int_eq(mv_view_released(&v), 1);
	ck_assert_mv_err(mv_chan_send(ch, &v, 8), EINVAL, "nothing is loaned");
	ck_assert_int_eq(mv_chan_get_stats(&st, ch), 0);
	ck_assert_uint_eq(st.sent, 1);
	ck_assert_uint_eq(st.free_slots, 2); /* nobody to deliver to */
	ck_assert_int_eq(mv_chan_close(ch), 0);
	ck_assert(!name_exists(name, ""));
	ck_assert(!name_exists(name, ".data"));
	ck_assert_int_eq(mv_chan_close(NULL), 0);
}
END_TEST

START_TEST(a_loan_released_without_sending_gives_its_slot_back)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	char name[64];
	mv_view v;
	mv_chan *ch;

	o.nslots = 1;
	o.slot_size = 64;
	ck_assert_int_eq(mv_chan_create(&ch, chan_name(name, sizeof(name)), &o), 0);
	ck_assert_int_eq(mv_chan_loan(&v, ch, 0), 0);
	ck_assert_int_eq(mv_view_release(&v), 0);
	ck_assert_int_eq(mv_chan_get_stats(&st, ch), 0);
	ck_assert_uint_eq(st.free_slots, 1);
	ck_assert_uint_eq(st.sent, 0);
	/* The one slot can be loaned again, and sent. */
	ck_assert_int_eq(mv_chan_loan(&v, ch, 0), 0);
	ck_assert_int_eq(mv_chan_send(ch, &v, 64), 0);
	ck_assert_int_eq(mv_chan_close(ch), 0);
}
END_TEST

/*
 * A producer holding several loans at once (a receiver filling slots as their bytes arrive,
 * like mvbridge): the ring's order is the order of the sends, not of the loans; a loan released
 * unsent frees its slot alone; with every slot loaned, another loan says EBUSY at once, even
 * with no time limit (nothing could ever free one).
 */
static int several_loans_producer(void *arg)
{
	struct script *s = arg;
	struct producer p;
	mv_view a, b, c, d;
	long long t0;
	int rc;

	rc = make_producer(&p, s->name, &s->opts);
	if (rc < 0)
		return child_fail("create: %s", mv_errmsg());
	mv_test_write_byte(s->ready_fd, 'r');
	if (mv_chan_wait_consumers(p.ch, 1, 5 * SEC) < 0)
		return mv_chan_close(p.ch), child_fail("wait_consumers: %s", mv_errmsg());
	if (mv_chan_loan(&a, p.ch, SEC) < 0 || mv_chan_loan(&b, p.ch, SEC) < 0 ||
	    mv_chan_loan(&c, p.ch, SEC) < 0)
		return child_fail("three loans at once: %s", mv_errmsg());
	if (mv_view_ptr(&a) == mv_view_ptr(&b) || mv_view_ptr(&b) == mv_view_ptr(&c) ||
	    mv_view_ptr(&a) == mv_view_ptr(&c))
		return child_fail("two loans share a slot");
	t0 = mvu_now_ns();
	rc = mv_chan_loan(&d, p.ch, -1);
	if (rc != -EBUSY || !strstr(mv_errmsg(), "all 3 slots are loaned"))
		return child_fail("a fourth loan of three slots gave %d (%s)", rc, mv_errmsg());
	if (mvu_now_ns() - t0 > SEC)
		return child_fail("the refused fourth loan waited");
	/* Sent in the order c, a: the consumer sees c's bytes first. */
	fill_msg(mv_view_ptr(&c), 64, p.seq++, MSG_DATA);
	fill_msg(mv_view_ptr(&a), 64, p.seq++, MSG_DATA);
	if (mv_chan_send(p.ch, &c, 64) < 0 || mv_chan_send(p.ch, &a, 64) < 0)
		return child_fail("send: %s", mv_errmsg());
	if (mv_chan_send(p.ch, &c, 64) != -EINVAL)
		return child_fail("a sent loan was sent again");
	/* b goes back unsent; a loan takes a free slot again, and its message comes third. */
	mv_view_release(&b);
	if (mv_chan_loan(&d, p.ch, 5 * SEC) < 0)
		return child_fail("loan after an unsent release: %s", mv_errmsg());
	fill_msg(mv_view_ptr(&d), 64, p.seq++, MSG_DATA);
	if (mv_chan_send(p.ch, &d, 64) < 0)
		return child_fail("send: %s", mv_errmsg());
	rc = mv_chan_close(p.ch);
	if (rc < 0)
		return child_fail("close: %s", mv_errmsg());
	return sh->err[0] != 0;
}

START_TEST(several_loans_at_once_are_published_in_the_order_they_are_sent)
{
	struct script s;
	char name[64];
	mv_view v[3];
	mv_chan *ch;
	pid_t pid;
	int i;

	memset(&s, 0, sizeof(s));
	s.name = chan_name(name, sizeof(name));
	s.opts = (mv_chan_opts)MV_CHAN_OPTS_INIT;
	s.opts.nslots = 3;
	s.opts.slot_size = 64;
	s.cmd_fd = -1;
	{
		int ready[2];

		ck_assert_int_eq(pipe(ready), 0);
		s.ready_fd = ready[1];
		pid = spawn(several_loans_producer, &s);
		close(ready[1]);
		ck_assert_msg(mv_test_read_byte(ready[0], 10000) == 'r', "producer did not start: %s",
			      sh->err);
		close(ready[0]);
	}
	ck_assert_msg(mv_chan_join(&ch, name, NULL, 5 * SEC) == 0, "join: %s", mv_errmsg());
	for (i = 0; i < 3; i++)
		recv_msg(ch, &v[i], (uint64_t)i);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(mv_view_release(&v[i]), 0);
	finish_script(ch, pid);
}
END_TEST

START_TEST(create_refuses_bad_options_and_taken_names)
{
	static const ssize_t big[2] = { 64, 64 };
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	char name[64];
	mv_chan *ch, *ch2;

	chan_name(name, sizeof(name));
	o.nslots = 0;
	ck_assert_mv_err(mv_chan_create(&ch, name, &o), EINVAL, "1 to 65536 slots");
	o.nslots = 65537;
	ck_assert_mv_err(mv_chan_create(&ch, name, &o), EINVAL, "1 to 65536 slots");
	o.nslots = 4;
	o.flags = 0x100;
	ck_assert_mv_err(mv_chan_create(&ch, name, &o), EINVAL, "unknown channel flags");
	o.flags = 0;
	o.format = "d";
	o.shape = big;
	o.ndim = 2;
	ck_assert_mv_err(mv_chan_create(&ch, name, &o), EINVAL, "slot shape needs");
	o.format = "not a format";
	o.ndim = -1;
	ck_assert_int_eq(mv_chan_create(&ch, name, &o), -EINVAL);
	o.format = NULL;
	o.size = 4;
	ck_assert_mv_err(mv_chan_create(&ch, name, &o), EINVAL, "MV_CHAN_OPTS_INIT");
	ck_assert(!name_exists(name, ""));
	ck_assert_int_eq(mv_chan_create(&ch, name, NULL), 0);
	ck_assert_int_eq(mv_chan_create(&ch2, name, NULL), -EEXIST);
	ck_assert_int_eq(mv_chan_close(ch), 0);
	ck_assert_int_eq(mv_chan_create(&ch, "no-slash", NULL), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ crashes */

/*
 * 1,000 rounds: a victim consumer joins and receives (holding a random number of views) while
 * the producer sends, and is killed -9 at a random moment (before, during or after joining,
 * receiving, releasing). After each round the survivor releases everything on a SYNC message
 * and every slot must be free again. The survivor checks consecutive sequence numbers across
 * all rounds. 1,000 rounds take about 20 s on 2 cores (process creation dominates); where
 * they would take longer than 40 s (sanitizers: about 55 s) the test stops at 40 s, after at
 * least 200 rounds, and says on stderr how many it did. Under valgrind (about 90 rounds in
 * 40 s) it does a twentieth of both, every round asserting the same.
 */
START_TEST(consumers_killed_at_random_points_leak_no_slot_and_survivors_lose_nothing)
{
	const unsigned nslots = 16, rounds = mv_test_rounds(1000, 20);
	const unsigned min_rounds = mv_test_rounds(200, 20);
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct consumer s = CONSUMER_INIT(NULL, 0);
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	struct producer p;
	unsigned r, joined = 0; /* victims that said they joined */
	long long stop = mvu_now_ns() + 40 * SEC;
	uint32_t rng = 12345;
	char name[64];
	int ack[2], joined_pipe[2];
	pid_t survivor;

	o.nslots = nslots;
	o.slot_size = 512;
	ck_assert_int_eq(make_producer(&p, chan_name(name, sizeof(name)), &o), 0);
	ck_assert_int_eq(pipe(ack), 0);
	ck_assert_int_eq(pipe(joined_pipe), 0);
	s.name = name;
	s.max_hold = 6;
	s.ack_fd = ack[1];
	survivor = spawn(consumer_main, &s);
	ck_assert_int_eq(mv_chan_wait_consumers(p.ch, 1, 5 * SEC), 1);
	for (r = 0; r < rounds && mvu_now_ns() < stop; r++) {
		struct consumer v = CONSUMER_INIT(name, 1);
		int rc, wst, after_join = rnd(&rng) % 4 != 0;
		long long until = 0, start = mvu_now_ns();
		pid_t victim;

		v.from_zero = 0;
		v.max_hold = rnd(&rng) % 9;
		v.seed = rnd(&rng) | 1;
		v.ready_fd = joined_pipe[1];
		victim = spawn(consumer_main, &v);
		/* A quarter of the victims die within 2 ms of the fork (mostly while joining), the
		 * others within 2 ms of having joined (receiving, holding, releasing). */
		if (!after_join)
			until = mvu_now_ns() + rnd(&rng) % 2000 * 1000LL;
		while (!until || mvu_now_ns() < until) {
			if (!until && mv_test_read_byte(joined_pipe[0], 0) == 'r') {
				until = mvu_now_ns() + rnd(&rng) % 2000 * 1000LL;
				joined++;
			}
			ck_assert_msg(until || mvu_now_ns() - start < 10 * SEC,
				      "round %u: the victim did not join: %s", r, sh->err);
			rc = produce(&p, MSG_DATA, some_len(&p), 0);
			if (rc == -EAGAIN) {
				sched_yield();
				continue;
			}
			ck_assert_msg(rc == 0, "round %u: %d %s %s", r, rc, mv_errmsg(), sh->err);
		}
		kill(victim, SIGKILL);
		ck_assert_int_eq(waitpid(victim, &wst, 0), victim);
		ck_assert_msg(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL,
			      "round %u: the victim ended by itself: %s", r, sh->err);
		/* it may have joined after all */
		while (mv_test_read_byte(joined_pipe[0], 0) == 'r')
			joined++;
		memset(sh->held[1], 0, sizeof(sh->held[1])); /* what it held is no longer held */
		assert_produce(&p, MSG_SYNC, HDR, 5 * SEC);
		ck_assert_msg(mv_test_read_byte(ack[0], 5000) == 's', "round %u: no ack: %s", r,
			      sh->err);
		/* A victim killed while joining is admitted by one poll and found dead by the next. */
		ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0);
		ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0);
		ck_assert_msg(st.free_slots == nslots && st.consumers == 1,
			      "round %u: %u of %u slots free, %u consumers", r, st.free_slots,
			      nslots, st.consumers);
		/* Every victim that joined was reclaimed (and some killed while joining). */
		ck_assert_msg(st.reclaimed >= joined && st.reclaimed <= r + 1,
			      "round %u: %u joined, %u reclaimed", r, joined, st.reclaimed);
	}
	if (r < rounds)
		fprintf(stderr, "consumers killed: %u rounds in 40 s (of %u)\n", r, rounds);
	ck_assert_uint_ge(r, min_rounds);
	ck_assert_uint_ge(joined, r / 2);
	ck_assert_int_eq(mv_chan_close(p.ch), 0);
	assert_child_ok(survivor, 20000, "survivor");
	ck_assert_uint_eq(sh->received[0], p.seq);
}
END_TEST

struct dying {
	const char *name;
	int ready_fd;
	int kill_fd;
	unsigned consumers, n;
};

/* Sends @n messages, loans one more and half-writes it, says 'k' and waits to be killed. */
static int dying_producer(void *arg)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct dying *d = arg;
	struct producer p;
	unsigned i;
	mv_view v;

	o.nslots = 16;
	o.slot_size = 512;
	if (make_producer(&p, d->name, &o) < 0)
		return child_fail("create: %s", mv_errmsg());
	mv_test_write_byte(d->ready_fd, 'r');
	if (mv_chan_wait_consumers(p.ch, d->consumers, 5 * SEC) < 0)
		return child_fail("wait_consumers: %s", mv_errmsg());
	for (i = 0; i < d->n; i++)
		if (produce(&p, MSG_DATA, some_len(&p), 5 * SEC) < 0)
			return child_fail("message %u: %s", i, mv_errmsg());
	if (mv_chan_loan(&v, p.ch, 5 * SEC) < 0)
		return child_fail("loan: %s", mv_errmsg());
	fill_msg(mv_view_ptr(&v), 256, p.seq, MSG_DATA);
	mv_test_write_byte(d->kill_fd, 'k');
	for (;;)
		pause();
}

START_TEST(killing_the_producer_gives_epipe_after_everything_it_sent)
{
	struct consumer c[2];
	struct dying d;
	int ready[2], kil[2], st;
	char name[64], dname[80];
	pid_t prod, pid[2];
	mv_chan *ch;
	unsigned i;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(kil), 0);
	d.name = chan_name(name, sizeof(name));
	d.ready_fd = ready[1];
	d.kill_fd = kil[1];
	d.consumers = 2;
	d.n = 300;
	prod = spawn(dying_producer, &d);
	ck_assert_msg(mv_test_read_byte(ready[0], 10000) == 'r', "producer: %s", sh->err);
	/* The consumers are forked from the test process: they share nothing with the producer. */
	for (i = 0; i < 2; i++) {
		struct consumer init = CONSUMER_INIT(name, (int)i);

		c[i] = init;
		c[i].max_hold = 3;
		pid[i] = spawn(consumer_main, &c[i]);
	}
	ck_assert_msg(mv_test_read_byte(kil[0], 10000) == 'k', "producer: %s", sh->err);
	kill(prod, SIGKILL);
	ck_assert_int_eq(waitpid(prod, &st, 0), prod);
	for (i = 0; i < 2; i++) {
		assert_child_ok(pid[i], 10000, "consumer");
		ck_assert_uint_eq(sh->received[i], d.n);
	}
	/* The name went with the producer, and nothing is left behind in /dev/shm. */
	ck_assert_mv_err(mv_chan_join(&ch, name, NULL, SEC), ENOENT, "no such channel");
	snprintf(dname, sizeof(dname), "%s.data", name);
	ck_assert_int_eq(shm_unlink(name), -1);
	ck_assert_int_eq(shm_unlink(dname), -1);
}
END_TEST

/*
 * The producer sends a few messages and closes at once, while the consumer polls with timeout 0:
 * the consumer must receive every message before it sees EPIPE, whichever it looks at first.
 */
START_TEST(a_polling_consumer_receives_every_message_before_epipe_when_the_producer_closes)
{
	long long stop = mvu_now_ns() + 10 * SEC; /* 300 rounds take about 5 s (sanitizers: 15 s) */
	unsigned r, rounds = 300;

	for (r = 0; r < rounds && mvu_now_ns() < stop; r++) {
		mv_chan_opts o = MV_CHAN_OPTS_INIT;
		struct consumer c = CONSUMER_INIT(NULL, 0);
		struct producer p;
		char name[64];
		unsigned k, n = 1 + r % 3;
		pid_t pid;

		o.nslots = 4;
		o.slot_size = 64;
		ck_assert_int_eq(make_producer(&p, chan_name(name, sizeof(name)), &o), 0);
		c.name = name;
		c.poll = 1;
		c.max_hold = 0;
		pid = spawn(consumer_main, &c);
		ck_assert_int_eq(mv_chan_wait_consumers(p.ch, 1, 5 * SEC), 1);
		for (k = 0; k < n; k++)
			assert_produce(&p, MSG_DATA, some_len(&p), 5 * SEC);
		ck_assert_int_eq(mv_chan_close(p.ch), 0);
		assert_child_ok(pid, 10000, "consumer");
		ck_assert_msg(sh->received[0] == n, "round %u: %llu of %u messages", r,
			      (unsigned long long)sh->received[0], n);
	}
}
END_TEST

/* ------------------------------------------------------------------ untrusted returns */

/*
 * The start of a consumer's own memory (lib/chan_layout.h, struct chan_cons), mirrored so that a
 * test can play a lying consumer: the only channel memory a consumer can write is its own.
 */
struct lie_cons {
	uint64_t magic;
	char pad0[56];
	uint64_t ret_head;
	char pad1[56];
	uint32_t sleeping;
	char pad2[60];
	uint32_t ret_futex;
	char pad3[60];
};

#define LIE_CONS_MAGIC 0x534e4f43564d0003ULL

/* Our own writable consumer memory for channel @name: where /proc/self/maps says it is mapped. */
static struct lie_cons *own_consumer_memory(const char *name)
{
	char want[128], line[512];
	unsigned long start = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	snprintf(want, sizeof(want), "/memfd:mvchan:%s:consumer", name);
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo;
		char perms[8];

		if (strstr(line, want) && sscanf(line, "%lx-%*x %7s", &lo, perms) == 2 &&
		    perms[1] == 'w') {
			start = lo;
			break;
		}
	}
	fclose(f);
	/* The segment's header page comes first, then its data: our queue. */
	return start ? (struct lie_cons *)(start + 4096) : NULL;
}

struct liar {
	const char *name;
	int done_fd, cmd_fd;
	unsigned first; /* messages received honestly before lying */
	unsigned nslots;
};

/*
 * Receives and releases @first messages, then on command writes into its own return queue:
 * 'g' every slot id (those another consumer holds among them), 'o' ids out of range, 'w' a
 * head far beyond the tail; answers each with the same letter in capitals. Then consumes
 * honestly until EPIPE.
 */
static int liar_main(void *arg)
{
	struct liar *c = arg;
	struct lie_cons *me;
	uint32_t *ret, n = c->nslots, i;
	mv_chan *ch;
	mv_view v;
	int cmd, rc;

	if (mv_chan_join(&ch, c->name, NULL, 5 * SEC) < 0)
		return child_fail("join: %s", mv_errmsg());
	for (i = 0; i < c->first; i++) {
		if (mv_chan_recv(&v, ch, 5 * SEC) < 0)
			return child_fail("recv: %s", mv_errmsg());
		mv_view_release(&v);
	}
	me = own_consumer_memory(c->name);
	if (!me || me->magic != LIE_CONS_MAGIC)
		return child_fail("the consumer memory is not what the test mirrors");
	ret = (uint32_t *)(me + 1);
	mv_test_write_byte(c->done_fd, 'l');
	while ((cmd = mv_test_read_byte(c->cmd_fd, 10000)) != 'e') {
		uint64_t h = me->ret_head;

		if (cmd == 'g') {
			for (i = 0; i < n; i++)
				ret[(h + i) % n] = (i * 5 + 3) % n;
			__atomic_store_n(&me->ret_head, h + n, __ATOMIC_SEQ_CST);
		} else if (cmd == 'o') {
			ret[h % n] = n;
			ret[(h + 1) % n] = 0xffff;
			ret[(h + 2) % n] = 0xffffffffu;
			__atomic_store_n(&me->ret_head, h + 3, __ATOMIC_SEQ_CST);
		} else if (cmd == 'w') {
			for (i = 0; i < n; i++)
				ret[i] = 0xa5a5a5a5u;
			__atomic_store_n(&me->ret_head, h + 1000003, __ATOMIC_SEQ_CST);
		} else {
			return child_fail("bad command %d", cmd);
		}
		mv_test_write_byte(c->done_fd, (char)(cmd - 'a' + 'A'));
	}
	while ((rc = mv_chan_recv(&v, ch, 10 * SEC)) == 0)
		mv_view_release(&v);
	if (rc != -EPIPE)
		return child_fail("recv: %s", mv_errmsg());
	return mv_chan_close(ch) == 0 ? 0 : child_fail("close: %s", mv_errmsg());
}

START_TEST(ids_a_consumer_hands_back_falsely_are_counted_and_free_no_slot_another_holds)
{
	const unsigned nslots = 8, pinned = 4, n = 3000;
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct consumer h = CONSUMER_INIT(NULL, 0);
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	struct producer p;
	struct liar l;
	int pin[2], done[2], cmd[2];
	char name[64];
	pid_t hp, lp;
	unsigned i;

	o.nslots = nslots;
	o.slot_size = 256;
	ck_assert_int_eq(make_producer(&p, chan_name(name, sizeof(name)), &o), 0);
	ck_assert_int_eq(pipe(pin), 0);
	ck_assert_int_eq(pipe(done), 0);
	ck_assert_int_eq(pipe(cmd), 0);
	h.name = name;
	h.pin = pinned;
	h.pinned_fd = pin[1];
	hp = spawn(consumer_main, &h);
	l.name = name;
	l.done_fd = done[1];
	l.cmd_fd = cmd[0];
	l.first = pinned;
	l.nslots = nslots;
	lp = spawn(liar_main, &l);
	ck_assert_int_eq(mv_chan_wait_consumers(p.ch, 2, 5 * SEC), 2);
	for (i = 0; i < pinned; i++)
		assert_produce(&p, MSG_DATA, 256, 0);
	ck_assert_msg(mv_test_read_byte(pin[0], 10000) == 'p', "honest consumer: %s", sh->err);
	ck_assert_msg(mv_test_read_byte(done[0], 10000) == 'l', "liar: %s", sh->err);
	ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0);
	ck_assert_uint_eq(st.free_slots, nslots - pinned);
	ck_assert_uint_eq(st.bad_returns, 0);
	/* every id, the honest consumer's four among them: all bad */
	mv_test_write_byte(cmd[1], 'g');
	ck_assert_msg(mv_test_read_byte(done[0], 10000) == 'G', "liar: %s", sh->err);
	ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0);
	ck_assert_uint_eq(st.bad_returns, nslots);
	ck_assert_uint_eq(st.free_slots, nslots - pinned);
	mv_test_write_byte(cmd[1], 'o'); /* out of range */
	ck_assert_msg(mv_test_read_byte(done[0], 10000) == 'O', "liar: %s", sh->err);
	ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0);
	ck_assert_uint_eq(st.bad_returns, nslots + 3);
	ck_assert_uint_eq(st.free_slots, nslots - pinned);
	mv_test_write_byte(cmd[1], 'w'); /* a head far past the tail: the whole queue is refused */
	ck_assert_msg(mv_test_read_byte(done[0], 10000) == 'W', "liar: %s", sh->err);
	ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0);
	ck_assert_uint_eq(st.bad_returns, nslots + 4);
	ck_assert_uint_eq(st.free_slots, nslots - pinned);
	ck_assert_uint_eq(st.consumers, 2);
	mv_test_write_byte(cmd[1], 'e');
	/* Traffic through the four other slots: the ledger check in produce() would catch a
	 * pinned slot being loaned, and the honest consumer checks its pinned views at the end. */
	for (i = 0; i < n; i++)
		assert_produce(&p, MSG_DATA, some_len(&p), 5 * SEC);
	ck_assert_int_eq(mv_chan_get_stats(&st, p.ch), 0);
	ck_assert_uint_eq(st.bad_returns, nslots + 4);
	ck_assert_int_eq(mv_chan_close(p.ch), 0);
	assert_child_ok(hp, 10000, "honest consumer");
	assert_child_ok(lp, 10000, "liar");
	ck_assert_uint_eq(sh->received[0], pinned + n);
}
END_TEST

/* ------------------------------------------------------------------ joining */

/*
 * Something listening on a channel's name that is not a memview producer: it accepts and then
 * (0) closes at once, (1) sends bytes that are no message, (2) offers a pipe instead of its
 * memory, (3) offers an unsealed memfd that it could shrink under our mapping, (4) offers a
 * sealed memfd that is not a channel. The SOCK_SEQPACKET address is "\0memview.chan" + name.
 */
static int fake_producer(const char *name, int what, int ready_fd)
{
	struct sockaddr_un a;
	char wire[136]; /* struct chan_wire */
	size_t len = strlen(name);
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0), c, fd = -1, p[2];

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path + 1, "memview.chan", 12);
	memcpy(a.sun_path + 13, name, len);
	if (s < 0 || bind(s, (struct sockaddr *)&a,
			  (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 13 + len)) < 0 ||
	    listen(s, 4) < 0)
		return child_fail("fake producer: %s", strerror(errno));
	mv_test_write_byte(ready_fd, 'r');
	c = accept(s, NULL, NULL);
	if (c < 0)
		return child_fail("accept: %s", strerror(errno));
	if (what == 0)
		return 0;
	memset(wire, 0, sizeof(wire));
	/* magic "MVCW", version 3, type OFFER, the rest zero: a well-formed OFFER envelope. */
	memcpy(wire, "MVCW", 4);
	wire[4] = 3;
	wire[6] = 1;
	if (what == 1) {
		memset(wire, 0x5a, sizeof(wire));
	} else if (what == 2) {
		if (pipe(p) < 0)
			return child_fail("pipe");
		fd = p[0];
	} else {
		fd = memfd_create("fake", MFD_ALLOW_SEALING);
		if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
			return child_fail("memfd");
		if (what == 4 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
			return child_fail("seal");
	}
	if (mv_test_send_with_fd(c, wire, sizeof(wire), fd) < 0)
		return child_fail("sendmsg: %s", strerror(errno));
	mv_test_read_byte(c, 5000); /* until the joiner gives up */
	return 0;
}

struct fake_arg {
	const char *name;
	int what, ready_fd;
};

static int fake_main(void *arg)
{
	struct fake_arg *f = arg;

	return fake_producer(f->name, f->what, f->ready_fd);
}

START_TEST(join_of_something_that_is_not_a_channel_fails)
{
	static const int expected[5] = { EPIPE, EBADMSG, EINVAL, EPERM, EBADMSG };
	char name[64];
	mv_segment *seg;
	struct fake_arg f;
	int what, ready[2], fds;
	mv_chan *ch;
	pid_t pid;

	chan_name(name, sizeof(name));
	ck_assert_mv_err(mv_chan_join(&ch, name, NULL, 0), ENOENT, "no such channel");
	/* A segment of that name is not a channel: channels are not found in /dev/shm. */
	ck_assert_int_eq(mv_segment_create(&seg, name, 4096, NULL), 0);
	ck_assert_mv_err(mv_chan_join(&ch, name, NULL, 0), ENOENT, "no such channel");
	ck_assert_int_eq(mv_segment_close(seg), 0);
	ck_assert_int_eq(mv_segment_unlink(name, 0), 0);
	fds = mv_test_count_fds();
	for (what = 0; what < 5; what++) {
		ck_assert_int_eq(pipe(ready), 0);
		f.name = name;
		f.what = what;
		f.ready_fd = ready[1];
		pid = spawn(fake_main, &f);
		ck_assert_msg(mv_test_read_byte(ready[0], 5000) == 'r', "fake producer: %s", sh->err);
		ch = NULL;
		ck_assert_mv_err(mv_chan_join(&ch, name, NULL, 2 * SEC), expected[what], "");
		ck_assert_ptr_null(ch);
		close(ready[0]);
		close(ready[1]);
		assert_child_ok(pid, 10000, "fake producer");
		/* Nothing it sent stays open in the joiner. */
		ck_assert_int_eq(mv_test_count_fds(), fds);
	}
}
END_TEST

/*
 * A consumer that joins while the producer is still inside mv_chan_create() (its control
 * segment exists, its channel magic or data segment not yet) waits for the create to finish
 * instead of calling the channel corrupt. Large slots make the create (fallocate of the data
 * segment) slow enough that a tight join loop lands inside it in most rounds.
 */
START_TEST(a_join_racing_an_unfinished_create_waits_for_it)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	int rounds = 60, r, rc, joined = 0;
	char name[64];
	mv_chan *ch;
	pid_t pid;

	o.slot_size = 1 << 20;
	o.nslots = 16;
	chan_name(name, sizeof(name));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (r = 0; r < rounds; r++) {
			mv_chan *p;

			if (mv_chan_create(&p, name, &o) < 0)
				_exit(3);
			mv_chan_wait_consumers(p, 1, 20 * MS);
			if (mv_chan_close(p) < 0)
				_exit(4);
		}
		_exit(0);
	}
	for (;;) {
		rc = mv_chan_join(&ch, name, NULL, 1 * SEC);
		if (rc == 0) {
			joined++;
			ck_assert_int_eq(mv_chan_close(ch), 0);
		}
		ck_assert_msg(rc != -EBADMSG, "join during a create: %s", mv_errmsg());
		ck_assert_msg(rc == 0 || rc == -ENOENT || rc == -EPIPE || rc == -ETIMEDOUT,
			      "join: %s", mv_errmsg());
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
	}
	ck_assert_msg(joined > 0, "no join succeeded in %d creates", rounds);
}
END_TEST

START_TEST(the_sixty_fifth_consumer_is_refused_with_ebusy)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_chan *ch[MV_CHAN_MAX_CONSUMERS], *extra;
	struct script s;
	char name[64];
	int cmd[2];
	unsigned i;
	pid_t pid;

	o.nslots = 2;
	o.slot_size = 64;
	ck_assert_int_eq(pipe(cmd), 0);
	memset(&s, 0, sizeof(s));
	s.name = chan_name(name, sizeof(name));
	s.opts = o;
	s.cmd_fd = cmd[0];
	s.consumers = MV_CHAN_MAX_CONSUMERS;
	pid = start_producer(&s);
	for (i = 0; i < MV_CHAN_MAX_CONSUMERS; i++)
		ck_assert_msg(mv_chan_join(&ch[i], name, NULL, 5 * SEC) == 0, "join %u: %s", i,
			      mv_errmsg());
	ck_assert_mv_err(mv_chan_join(&extra, name, NULL, SEC), EBUSY, "consumer places are taken");
	for (i = 0; i < MV_CHAN_MAX_CONSUMERS; i++)
		ck_assert_int_eq(mv_chan_close(ch[i]), 0);
	mv_test_write_byte(cmd[1], 'q');
	assert_child_ok(pid, 10000, "producer");
}
END_TEST

struct joiner {
	const char *name;
	int ready_fd;
	int gate[2];
};

/* Waits for the gate to open (end of file), joins, says 'r', then receives until EPIPE. */
static int joiner_main(void *arg)
{
	struct joiner *j = arg;
	mv_chan *ch;
	mv_view v;
	char c;
	int rc;

	close(j->gate[1]);
	if (read(j->gate[0], &c, 1) != 0)
		return child_fail("the gate did not open");
	rc = mv_chan_join(&ch, j->name, NULL, 10 * SEC);
	if (rc < 0)
		return child_fail("join: %d %s", rc, mv_errmsg());
	mv_test_write_byte(j->ready_fd, 'r');
	while ((rc = mv_chan_recv(&v, ch, 20 * SEC)) == 0)
		mv_view_release(&v);
	if (rc != -EPIPE)
		return child_fail("recv: %d %s", rc, mv_errmsg());
	return mv_chan_close(ch) == 0 ? 0 : child_fail("close: %s", mv_errmsg());
}

/*
 * Sixty consumers join at once while the producer polls (mv_chan_stats checks every
 * consumer's liveness): every one is admitted and stays admitted, none is taken for dead.
 * Under valgrind ten: sixty valgrind processes on two cores hold the header lock past its 2 s
 * timeout while they wait for a CPU.
 */
START_TEST(consumers_joining_while_the_producer_checks_liveness_are_all_admitted)
{
	const unsigned n = mv_test_rounds(60, 6);
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	struct joiner j;
	char name[64];
	pid_t pid[60];
	unsigned i, ready = 0;
	long long deadline;
	int pipefd[2];
	mv_chan *ch;

	o.nslots = 4;
	o.slot_size = 64;
	ck_assert_int_eq(mv_chan_create(&ch, chan_name(name, sizeof(name)), &o), 0);
	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_int_eq(pipe(j.gate), 0);
	j.name = name;
	j.ready_fd = pipefd[1];
	for (i = 0; i < n; i++)
		pid[i] = spawn(joiner_main, &j);
	close(j.gate[1]); /* all of them join at once */
	deadline = mvu_now_ns() + 20 * SEC;
	while (ready < n) {
		ck_assert_int_eq(mv_chan_get_stats(&st, ch), 0);
		ck_assert_msg(st.reclaimed == 0, "%u consumers taken for dead", st.reclaimed);
		while (mv_test_read_byte(pipefd[0], 0) == 'r')
			ready++;
		ck_assert_msg(mvu_now_ns() < deadline, "%u of %u joined: %s", ready, n, sh->err);
	}
	ck_assert_int_eq(mv_chan_get_stats(&st, ch), 0);
	ck_assert_uint_eq(st.consumers, n);
	ck_assert_uint_eq(st.reclaimed, 0);
	ck_assert_int_eq(mv_chan_close(ch), 0);
	for (i = 0; i < n; i++)
		assert_child_ok(pid[i], 10000, "consumer");
}
END_TEST

/* ------------------------------------------------------------------ main */

static TCase *chan_tcase(Suite *s, const char *name, double timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, shared_setup, shared_teardown);
	tcase_add_unchecked_fixture(tc, NULL, sweep_names);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("chan");
	TCase *tc;
	int rc;

	snprintf(run_tag, sizeof(run_tag), "chan%ld", (long)getpid());
	tc = chan_tcase(s, "handoff", 30);
	tcase_add_test(tc, one_consumer_receives_every_message_in_order_with_every_byte);
	tcase_add_test(tc, three_consumers_each_receive_every_message_in_order_with_every_byte);
	tcase_add_test(tc, a_spinning_channel_delivers_like_a_sleeping_one);
	tcase_add_test(tc, a_consumer_that_leaves_is_owed_nothing_more);
	tc = chan_tcase(s, "typed and short messages", 10);
	tcase_add_test(tc, typed_slots_arrive_with_the_channel_format_and_shape);
	tcase_add_test(tc, a_message_shorter_than_a_slot_arrives_as_bytes_of_its_length);
	tcase_add_test(tc, a_one_dimensional_typed_slot_covers_the_rounded_slot_on_both_sides);
	tcase_add_test(tc, a_zero_dimensional_slot_arrives_as_a_scalar_of_the_format);
	tc = chan_tcase(s, "readonly consumer views", 10);
	tcase_add_test(tc, received_views_are_readonly);
	tcase_add_test_raise_signal(tc, writing_through_a_received_view_faults, SIGSEGV);
	tc = chan_tcase(s, "back-pressure", 10);
	tcase_add_test(tc, loan_fails_while_a_consumer_holds_every_slot_and_succeeds_once_it_releases);
	tc = chan_tcase(s, "timeouts", 10);
	tcase_add_test(tc, recv_gives_eagain_at_once_and_etimedout_after_the_timeout_on_an_empty_channel);
	tcase_add_test(tc, join_times_out_when_the_producer_admits_nobody);
	tcase_add_test(tc, wait_consumers_times_out_when_nobody_joins);
	tc = chan_tcase(s, "slot safety", 30);
	tcase_add_test(tc, no_slot_is_loaned_while_a_consumer_holds_a_view_of_it);
	tcase_add_test(tc, views_derived_from_a_received_view_keep_its_slot_held);
	tcase_add_test(tc, send_refuses_while_views_derived_from_the_loan_exist);
	tcase_add_test(tc, a_loan_released_without_sending_gives_its_slot_back);
	tcase_add_test(tc, several_loans_at_once_are_published_in_the_order_they_are_sent);
	tcase_add_test(tc, create_refuses_bad_options_and_taken_names);
	tc = chan_tcase(s, "crashes", 90);
	tcase_add_test(tc, consumers_killed_at_random_points_leak_no_slot_and_survivors_lose_nothing);
	tcase_add_test(tc, killing_the_producer_gives_epipe_after_everything_it_sent);
	tcase_add_test(tc, a_polling_consumer_receives_every_message_before_epipe_when_the_producer_closes);
	tc = chan_tcase(s, "untrusted returns", 20);
	tcase_add_test(tc, ids_a_consumer_hands_back_falsely_are_counted_and_free_no_slot_another_holds);
	tc = chan_tcase(s, "joining", 20);
	tcase_add_test(tc, join_of_something_that_is_not_a_channel_fails);
	tcase_add_test(tc, a_join_racing_an_unfinished_create_waits_for_it);
	tcase_add_test(tc, the_sixty_fifth_consumer_is_refused_with_ebusy);
	tcase_add_test(tc, consumers_joining_while_the_producer_checks_liveness_are_all_admitted);
	rc = mv_test_run(s);
	sweep_names();
	return rc;
}
