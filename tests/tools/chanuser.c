/*
 * tests/tools/chanuser.c - a memview channel's producer or consumer, for tests/tools/mvshm.sh:
 * `mvshm rm` of a live channel's name must remove nothing and say why, and the channel must go on
 * working.
 *
 *   chanuser produce NAME   create channel NAME, print "ready PID", then admit consumers and
 *                           send each "hello" until SIGTERM
 *   chanuser consume NAME   join channel NAME, receive one message, print it, leave
 *
 * Every wait is bounded (5 s). Exit status 0, 1 when a memview call fails (its message on
 * standard error), 2 on a bad command line.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "memview.h"

#define MS 1000000LL

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int fail(const char *what, const char *name)
{
	fprintf(stderr, "chanuser: %s %s: %s\n", what, name, mv_errmsg());
	return 1;
}

static int produce(const char *name)
{
	struct sigaction sa;
	mv_chan *ch;
	mv_view v;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (mv_chan_create(&ch, name, NULL) < 0)
		return fail("create", name);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (!stop) {
		/* Admits whoever joins; sends only while someone listens. */
		if (mv_chan_wait_consumers(ch, 1, 20 * MS) < 1)
			continue;
		if (mv_chan_loan(&v, ch, 20 * MS) < 0)
			continue;
		memcpy(mv_view_ptr(&v), "hello", 6);
		if (mv_chan_send(ch, &v, 6) < 0)
			return fail("send", name);
		usleep(10000);
	}
	return mv_chan_close(ch) < 0 ? fail("close", name) : 0;
}

static int consume(const char *name)
{
	mv_chan *ch;
	mv_view v;

	if (mv_chan_join(&ch, name, NULL, 5000 * MS) < 0)
		return fail("join", name);
	if (mv_chan_recv(&v, ch, 5000 * MS) < 0)
		return fail("receive", name);
	printf("%.*s\n", (int)strnlen(mv_view_ptr(&v), (size_t)mv_view_nbytes(&v)),
	       (const char *)mv_view_ptr(&v));
	mv_view_release(&v);
	return mv_chan_close(ch) < 0 ? fail("close", name) : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "produce") == 0)
		return produce(argv[2]);
	if (argc == 3 && strcmp(argv[1], "consume") == 0)
		return consume(argv[2]);
	fprintf(stderr, "usage: chanuser produce|consume NAME\n");
	return 2;
}
