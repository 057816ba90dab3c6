/*
 * tests/check_chan_poll.c - the pollable channel handle (mv_chan_fd()) between real forked
 * processes: a consumer's descriptor wakes poll for a message and for the producer's end, a
 * producer's for a slot handed back and for a consumer that died holding slots; after a look
 * that finds nothing the descriptor stays quiet (no spurious permanent readiness); it works in
 * an epoll set; a consumer flooding WAKEs can neither keep the producer's descriptor ready nor
 * stall its calls, and one that breaks the protocol is dropped (its slots come back, the
 * descriptor says so); a spinning channel refuses it.
 *
 * Children report through their exit status (MV_TEST_CHECK prints what failed). Timing: every
 * "it woke" is bounded by a generous poll timeout, every "it stayed quiet" by a short one.
 */
#define _GNU_SOURCE
#include "testlib.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEC 1000000000LL
#define MS 1000000LL

static char run_tag[32];

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * SEC + ts.tv_nsec;
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int n = poll(&p, 1, timeout_ms);

	return n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

static mv_chan *make_producer(char *name, size_t cap, unsigned nslots, unsigned flags)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_chan *ch = NULL;

	o.slot_size = 256;
	o.nslots = nslots;
	o.flags = flags;
	mv_test_name(name, cap, run_tag);
	ck_assert_msg(mv_chan_create(&ch, name, &o) == 0, "%s", mv_errmsg());
	return ch;
}

static void send_seq(mv_chan *ch, uint64_t seq)
{
	mv_view v;

	ck_assert_msg(mv_chan_loan(&v, ch, 5 * SEC) == 0, "%s", mv_errmsg());
	memcpy(mv_view_ptr(&v), &seq, sizeof(seq));
	ck_assert_int_eq(mv_chan_send(ch, &v, sizeof(seq)), 0);
}

/* ------------------------------------------------------------------ children */

/* Joins @arg, says 'j' once admitted, then receives with poll until EPIPE, checking order. */
static void polling_consumer(int in, int out, const char *arg)
{
	mv_chan *c;
	uint64_t want = 0;
	int fd, rc;

	(void)in;
	MV_TEST_CHECK(mv_chan_join(&c, arg, NULL, 5 * SEC) == 0);
	MV_TEST_CHECK(mv_chan_fd(&fd, c) == 0);
	mv_test_write_byte(out, 'j');
	for (;;) {
		mv_view m;

		rc = mv_chan_recv(&m, c, 0);
		if (rc == -EAGAIN) {
			MV_TEST_CHECK(wait_readable(fd, 5000));
			continue;
		}
		if (rc == -EPIPE)
			break;
		MV_TEST_CHECK(rc == 0);
		MV_TEST_CHECK(memcmp(mv_view_ptr(&m), &want, sizeof(want)) == 0);
		want++;
		mv_view_release(&m);
	}
	mv_test_write_byte(out, (char)(want & 0x7f));
	mv_chan_close(c);
}

/* Joins, receives and keeps every message until told 'r' (release all) or 'q' (quit). */
static void holding_consumer(int in, int out, const char *arg)
{
	mv_view held[16];
	mv_chan *c;
	int n = 0, i;

	MV_TEST_CHECK(mv_chan_join(&c, arg, NULL, 5 * SEC) == 0);
	mv_test_write_byte(out, 'j');
	for (;;) {
		int cmd = mv_test_read_byte(in, 10000);

		if (cmd == 'h') { /* take one message and hold it */
			MV_TEST_CHECK(n < 16 && mv_chan_recv(&held[n], c, 5 * SEC) == 0);
			n++;
			mv_test_write_byte(out, 'h');
		} else if (cmd == 'r') {
			for (i = 0; i < n; i++)
				mv_view_release(&held[i]);
			n = 0;
			mv_test_write_byte(out, 'r');
		} else {
			break;
		}
	}
	for (i = 0; i < n; i++)
		mv_view_release(&held[i]);
	mv_chan_close(c);
}

/* Creates the channel @arg, waits for a consumer, then sends on command: 's' one message,
 * 'c' close and exit, 'k' exit without closing (as a crash, to the consumer). */
static void commanded_producer(int in, int out, const char *arg)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	uint64_t seq = 0;
	mv_chan *ch;

	o.slot_size = 256;
	o.nslots = 4;
	MV_TEST_CHECK(mv_chan_create(&ch, arg, &o) == 0);
	mv_test_write_byte(out, 'c');
	MV_TEST_CHECK(mv_chan_wait_consumers(ch, 1, 5 * SEC) == 1);
	mv_test_write_byte(out, 'a');
	for (;;) {
		int cmd = mv_test_read_byte(in, 10000);
		mv_view v;

		if (cmd == 's') {
			MV_TEST_CHECK(mv_chan_loan(&v, ch, 5 * SEC) == 0);
			memcpy(mv_view_ptr(&v), &seq, sizeof(seq));
			seq++;
			MV_TEST_CHECK(mv_chan_send(ch, &v, sizeof(seq)) == 0);
			mv_test_write_byte(out, 's');
		} else if (cmd == 'k') {
			_exit(0);
		} else {
			break;
		}
	}
	mv_chan_close(ch);
}

/*
 * A hostile consumer: joins, holds every message it gets, then writes raw messages on its own
 * connection (the descriptor mv_chan_fd() gives it): on 'w' as many WAKEs as the socket takes
 * (a flood), on 'x' one garbage message. Answers each command with its capital.
 */
static void flooding_consumer(int in, int out, const char *arg)
{
	/* The wire message (lib/chan_layout.h): magic "MVCW", version 3, type; 136 bytes. */
	struct {
		uint32_t magic;
		uint16_t version, type;
		uint32_t index;
		int32_t err;
		uint64_t start;
		char text[112];
	} m;
	mv_view held[2];
	mv_chan *c;
	int fd, k, cmd;

	MV_TEST_CHECK(sizeof(m) == 136);
	MV_TEST_CHECK(mv_chan_join(&c, arg, NULL, 5 * SEC) == 0);
	MV_TEST_CHECK(mv_chan_fd(&fd, c) == 0);
	mv_test_write_byte(out, 'j');
	for (k = 0; k < 2; k++)
		MV_TEST_CHECK(mv_chan_recv(&held[k], c, 5 * SEC) == 0);
	mv_test_write_byte(out, 'h');
	while ((cmd = mv_test_read_byte(in, 10000)) == 'w' || cmd == 'x') {
		memset(&m, 0, sizeof(m));
		m.magic = 0x5743564du;
		m.version = 3;
		m.type = cmd == 'w' ? 6 : 99;
		for (k = 0; k < (cmd == 'w' ? 100000 : 1); k++)
			if (send(fd, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				break; /* the socket is full: the flood is as big as it gets */
		mv_test_write_byte(out, (char)(cmd - 'a' + 'A'));
	}
	_exit(0);
}

/* ------------------------------------------------------------------ consumer side */

static mv_chan *join_commanded(struct mv_test_child *p, char *name, size_t cap)
{
	mv_chan *c;

	mv_test_name(name, cap, run_tag);
	*p = mv_test_spawn(commanded_producer, name);
	ck_assert_int_eq(mv_test_read_byte(p->from, 5000), 'c');
	ck_assert_msg(mv_chan_join(&c, name, NULL, 5 * SEC) == 0, "%s", mv_errmsg());
	ck_assert_int_eq(mv_test_read_byte(p->from, 5000), 'a');
	return c;
}

START_TEST(a_consumer_descriptor_wakes_for_a_message_and_is_quiet_after_draining)
{
	struct mv_test_child p;
	char name[128];
	mv_chan *c = join_commanded(&p, name, sizeof(name));
	mv_view m;
	int fd, fd2, round;

	ck_assert_int_eq(mv_chan_fd(&fd, c), 0);
	ck_assert_int_eq(mv_chan_fd(&fd2, c), 0);
	ck_assert_int_eq(fd, fd2); /* one descriptor per handle */
	for (round = 0; round < 20; round++) {
		long long t0;

		/* Nothing sent: the look arms, and the descriptor stays quiet. */
		ck_assert_int_eq(mv_chan_recv(&m, c, 0), -EAGAIN);
		ck_assert_msg(!wait_readable(fd, round == 0 ? 200 : 20),
			      "round %d: ready with nothing to receive", round);
		mv_test_write_byte(p.to, 's');
		t0 = now_ns();
		ck_assert_msg(wait_readable(fd, 5000), "round %d: no wake for a message", round);
		ck_assert_int_lt(now_ns() - t0, 5 * SEC);
		ck_assert_int_eq(mv_test_read_byte(p.from, 5000), 's');
		ck_assert_msg(mv_chan_recv(&m, c, 0) == 0, "%s", mv_errmsg());
		ck_assert_int_eq(*(const uint64_t *)mv_view_ptr(&m), (uint64_t)round);
		mv_view_release(&m);
		/* Drained: the next look says EAGAIN and the descriptor goes quiet again. */
		ck_assert_int_eq(mv_chan_recv(&m, c, 0), -EAGAIN);
		ck_assert_msg(!wait_readable(fd, 20), "round %d: ready after draining", round);
	}
	mv_test_write_byte(p.to, 'c');
	ck_assert_int_eq(mv_test_reap(&p), 0);
	ck_assert_int_eq(mv_chan_close(c), 0);
}
END_TEST

START_TEST(a_consumer_descriptor_wakes_when_the_producer_closes_or_dies)
{
	static const char cmds[2] = { 'c', 'k' };
	int k;

	for (k = 0; k < 2; k++) {
		struct mv_test_child p;
		char name[128];
		mv_chan *c = join_commanded(&p, name, sizeof(name));
		mv_view m;
		int fd;

		ck_assert_int_eq(mv_chan_fd(&fd, c), 0);
		mv_test_write_byte(p.to, 's');
		ck_assert_int_eq(mv_test_read_byte(p.from, 5000), 's');
		ck_assert_int_eq(mv_chan_recv(&m, c, 0), 0); /* taken without waiting */
		mv_view_release(&m);
		ck_assert_int_eq(mv_chan_recv(&m, c, 0), -EAGAIN);
		mv_test_write_byte(p.to, 's');
		ck_assert_int_eq(mv_test_read_byte(p.from, 5000), 's');
		mv_test_write_byte(p.to, cmds[k]);
		ck_assert_int_eq(mv_test_reap(&p), 0);
		/* The message sent before the end first, then EPIPE; the descriptor stays ready. */
		ck_assert_msg(wait_readable(fd, 5000), "%c: no wake", cmds[k]);
		ck_assert_int_eq(mv_chan_recv(&m, c, 0), 0);
		ck_assert_int_eq(*(const uint64_t *)mv_view_ptr(&m), 1);
		mv_view_release(&m);
		ck_assert_int_eq(mv_chan_recv(&m, c, 0), -EPIPE);
		ck_assert(wait_readable(fd, 0));
		ck_assert_int_eq(mv_chan_recv(&m, c, 0), -EPIPE);
		ck_assert_int_eq(mv_chan_close(c), 0);
	}
}
END_TEST

START_TEST(a_consumer_in_an_epoll_set_receives_a_stream_in_order)
{
	char name[128], arg[160];
	mv_chan *ch = make_producer(name, sizeof(name), 8, 0);
	struct mv_test_child c;
	uint64_t seq;

	snprintf(arg, sizeof(arg), "%s", name);
	c = mv_test_spawn(polling_consumer, arg);
	ck_assert_int_eq(mv_chan_wait_consumers(ch, 1, 5 * SEC), 1);
	ck_assert_int_eq(mv_test_read_byte(c.from, 5000), 'j');
	for (seq = 0; seq < 3000; seq++) {
		send_seq(ch, seq);
		if (seq % 97 == 0)
			usleep(2000); /* let the consumer go to poll now and then */
	}
	ck_assert_int_eq(mv_chan_close(ch), 0);
	ck_assert_int_eq(mv_test_read_byte(c.from, 10000), (int)(3000 & 0x7f));
	ck_assert_int_eq(mv_test_reap(&c), 0);
}
END_TEST

/* The same stream, the consumer here, waiting in epoll_wait with an unrelated descriptor. */
START_TEST(epoll_works_beside_other_descriptors)
{
	struct mv_test_child p;
	char name[128];
	mv_chan *c = join_commanded(&p, name, sizeof(name));
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC), fd, other[2], got = 0;

	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(pipe(other), 0);
	ck_assert_int_eq(mv_chan_fd(&fd, c), 0);
	ev.data.u32 = 1;
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	ev.data.u32 = 2;
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, other[0], &ev), 0);
	/* Level-triggered epoll: after draining, epoll_wait times out. */
	while (got < 50) {
		struct epoll_event out[2];
		mv_view m;
		int n, rc;

		while ((rc = mv_chan_recv(&m, c, 0)) == 0) {
			ck_assert_int_eq(*(const uint64_t *)mv_view_ptr(&m), (uint64_t)got);
			got++;
			mv_view_release(&m);
		}
		ck_assert_int_eq(rc, -EAGAIN);
		n = epoll_wait(ep, out, 2, 20);
		ck_assert_msg(n == 0, "ready after draining (%d)", n);
		mv_test_write_byte(p.to, 's');
		ck_assert_int_eq(mv_test_read_byte(p.from, 5000), 's');
		n = epoll_wait(ep, out, 2, 5000);
		ck_assert_int_eq(n, 1);
		ck_assert_int_eq(out[0].data.u32, 1);
	}
	mv_test_write_byte(p.to, 'c');
	ck_assert_int_eq(mv_test_reap(&p), 0);
	close(other[0]);
	close(other[1]);
	close(ep);
	ck_assert_int_eq(mv_chan_close(c), 0);
}
END_TEST

/* ------------------------------------------------------------------ producer side */

/* A 2-slot producer here, its consumer @fn forked and admitted, and the producer's descriptor. */
static mv_chan *producer_with(char *name, size_t cap, mv_test_child_fn fn,
			      struct mv_test_child *c, int *fd)
{
	mv_chan *ch = make_producer(name, cap, 2, 0);

	*c = mv_test_spawn(fn, name);
	ck_assert_int_eq(mv_chan_wait_consumers(ch, 1, 5 * SEC), 1);
	ck_assert_int_eq(mv_test_read_byte(c->from, 5000), 'j');
	ck_assert_int_eq(mv_chan_fd(fd, ch), 0);
	return ch;
}

/* A 2-slot producer with a holding consumer: send two messages and have it hold both. */
static void fill_and_hold(mv_chan *ch, struct mv_test_child *c, uint64_t first)
{
	int k;

	send_seq(ch, first);
	send_seq(ch, first + 1);
	for (k = 0; k < 2; k++) {
		mv_test_write_byte(c->to, 'h');
		ck_assert_int_eq(mv_test_read_byte(c->from, 5000), 'h');
	}
}

START_TEST(a_producer_descriptor_wakes_for_a_slot_handed_back)
{
	struct mv_test_child c;
	char name[128];
	mv_view v;
	int fd, round;
	mv_chan *ch = producer_with(name, sizeof(name), holding_consumer, &c, &fd);

	for (round = 0; round < 10; round++) {
		fill_and_hold(ch, &c, 2 * (uint64_t)round);
		/* Both slots held: no loan, and a quiet descriptor. */
		ck_assert_int_eq(mv_chan_loan(&v, ch, 0), -EAGAIN);
		ck_assert_msg(!wait_readable(fd, round == 0 ? 200 : 20),
			      "round %d: ready with every slot held", round);
		mv_test_write_byte(c.to, 'r');
		ck_assert_msg(wait_readable(fd, 5000), "round %d: no wake for a hand-back", round);
		ck_assert_int_eq(mv_test_read_byte(c.from, 5000), 'r');
		ck_assert_msg(mv_chan_loan(&v, ch, 0) == 0, "%s", mv_errmsg());
		mv_view_release(&v); /* unsent: the slot is free again */
	}
	mv_test_write_byte(c.to, 'q');
	ck_assert_int_eq(mv_test_reap(&c), 0);
	ck_assert_int_eq(mv_chan_close(ch), 0);
}
END_TEST

START_TEST(a_producer_descriptor_wakes_when_a_consumer_holding_every_slot_dies)
{
	struct mv_test_child c;
	char name[128];
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	mv_view v;
	int fd, status;
	mv_chan *ch = producer_with(name, sizeof(name), holding_consumer, &c, &fd);

	fill_and_hold(ch, &c, 0);
	ck_assert_int_eq(mv_chan_loan(&v, ch, 0), -EAGAIN);
	ck_assert(!wait_readable(fd, 50));
	kill(c.pid, SIGKILL);
	ck_assert_int_eq(waitpid(c.pid, &status, 0), c.pid);
	close(c.to);
	close(c.from);
	ck_assert_msg(wait_readable(fd, 5000), "no wake for a consumer's death");
	ck_assert_msg(mv_chan_loan(&v, ch, 0) == 0, "%s", mv_errmsg());
	mv_view_release(&v);
	ck_assert_int_eq(mv_chan_get_stats(&st, ch), 0);
	ck_assert_int_eq(st.reclaimed, 1);
	/* Every slot free now, and nothing left to say: a loan never fails, the set is quiet. */
	ck_assert(!wait_readable(fd, 20));
	ck_assert_int_eq(mv_chan_close(ch), 0);
}
END_TEST

START_TEST(a_consumer_flooding_wakes_cannot_keep_the_producer_descriptor_ready)
{
	struct mv_test_child c;
	char name[128];
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	mv_view v;
	int fd, rounds = 0;
	long long t0, slowest = 0;
	mv_chan *ch = producer_with(name, sizeof(name), flooding_consumer, &c, &fd);

	send_seq(ch, 0);
	send_seq(ch, 1);
	ck_assert_int_eq(mv_test_read_byte(c.from, 5000), 'h');
	mv_test_write_byte(c.to, 'w');
	ck_assert_int_eq(mv_test_read_byte(c.from, 5000), 'W');
	/* Each look reads a bounded number of WAKEs: it returns soon, and the flood runs dry. */
	for (;;) {
		t0 = now_ns();
		ck_assert_int_eq(mv_chan_loan(&v, ch, 0), -EAGAIN);
		if (now_ns() - t0 > slowest)
			slowest = now_ns() - t0;
		if (!wait_readable(fd, 20))
			break;
		ck_assert_msg(++rounds < 100000, "the descriptor stayed ready through %d looks",
			      rounds);
	}
	ck_assert_msg(slowest < SEC, "a look took %lld ns", slowest);
	/* WAKEs are allowed: still a member, nothing reclaimed, no slot freed. */
	ck_assert_int_eq(mv_chan_get_stats(&st, ch), 0);
	ck_assert_int_eq(st.consumers, 1);
	ck_assert_int_eq(st.free_slots, 0);
	/* A message that is not WAKE ends it: its slots come back and the descriptor says so. */
	mv_test_write_byte(c.to, 'x');
	ck_assert_int_eq(mv_test_read_byte(c.from, 5000), 'X');
	ck_assert_msg(wait_readable(fd, 5000), "no wake for a consumer that broke the protocol");
	ck_assert_msg(mv_chan_loan(&v, ch, 0) == 0, "%s", mv_errmsg());
	mv_view_release(&v);
	ck_assert_int_eq(mv_chan_get_stats(&st, ch), 0);
	ck_assert_int_eq(st.consumers, 0);
	ck_assert_int_ge(st.bad_returns, 1);
	mv_test_write_byte(c.to, 'q');
	ck_assert_int_eq(mv_test_reap(&c), 0);
	ck_assert_int_eq(mv_chan_close(ch), 0);
}
END_TEST

START_TEST(a_spinning_channel_refuses_a_descriptor)
{
	char name[128];
	mv_chan *ch = make_producer(name, sizeof(name), 2, MV_CHAN_SPIN);
	int fd = -1;

	ck_assert_int_eq(mv_chan_fd(&fd, ch), -EOPNOTSUPP);
	ck_assert(strstr(mv_errmsg(), "spinning") != NULL);
	ck_assert_int_eq(mv_chan_fd(NULL, ch), -EINVAL);
	ck_assert_int_eq(mv_chan_fd(&fd, NULL), -EINVAL);
	ck_assert_int_eq(mv_chan_close(ch), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chan_poll");
	TCase *tc;

	snprintf(run_tag, sizeof(run_tag), "poll%ld", (long)getpid());
	tc = tcase_create("consumer");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_consumer_descriptor_wakes_for_a_message_and_is_quiet_after_draining);
	tcase_add_test(tc, a_consumer_descriptor_wakes_when_the_producer_closes_or_dies);
	tcase_add_test(tc, a_consumer_in_an_epoll_set_receives_a_stream_in_order);
	tcase_add_test(tc, epoll_works_beside_other_descriptors);
	suite_add_tcase(s, tc);
	tc = tcase_create("producer");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_producer_descriptor_wakes_for_a_slot_handed_back);
	tcase_add_test(tc, a_producer_descriptor_wakes_when_a_consumer_holding_every_slot_dies);
	tcase_add_test(tc, a_consumer_flooding_wakes_cannot_keep_the_producer_descriptor_ready);
	tcase_add_test(tc, a_spinning_channel_refuses_a_descriptor);
	suite_add_tcase(s, tc);
	return mv_test_run(s);
}
