/*
 * bench/bridge_embedded.c - one end of `mvbench bridge`'s embedded rows: a channel's producer
 * and its sending bridge in one thread of one process, or a receiving bridge and the
 * channel's consumer in one thread of another. Two processes in all, like ucx_perftest's two,
 * where the mvbridge rows have four (producer, two bridges, consumer): on a machine with fewer
 * cores than that, this is the run that shows what the bridge's own path costs. It is also how
 * a program with a core to spare would use libmemview-bridge: progressing the bridge from its
 * own event loop with mv_bridge_run(b, 0).
 *
 *   bridge_embedded send CHAN ADDR:PORT TOKENFILE SIZE N lat|bw
 *   bridge_embedded recv CHAN ADDR:PORT TOKENFILE SIZE N lat|bw
 *
 * Every message carries the producer's CLOCK_MONOTONIC stamp (both ends share the clock: same
 * host, other network namespace). lat: one message at a time, the next once the receiver
 * acknowledged the last (so the consumer, in the receiver's loop, has it or is about to); the
 * receiver prints "p50_ns X", the median one-way time after a tenth of warm-up. bw: messages
 * streamed; the receiver prints "mib_s X", from the first message's stamp to the last
 * receive. The receiver also checks every message's length and that the stamps rise (the
 * order), so tests/tools/bridge.sh runs it too. Exit status 0, or 1 with one line on stderr. Spins throughout: each process is
 * meant to have a core.
 *
 * Built only with UCX; a separate program so that mvbench never loads UCX's memory hooks.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memview.h"
#include "memview/bridge.h"
#include "../util/mvutil.h"

#define SEC 1000000000LL

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bridge_embedded: %s: %s\n", what, msg);
	exit(1);
}

/* The helper thread's job while the main thread drives the bridge through the handshake. */
struct helper {
	pthread_t thread;
	mv_chan *ch;           /* send: the producer, admitting; recv: the joined consumer */
	const char *name;
	int rc;
	int done;
};

/* Sending side: the producer admits the bridge's join (its calls are where it admits). */
static void *admit(void *arg)
{
	struct helper *h = arg;
	long long until = mvu_now_ns() + 30 * SEC;

	while (!__atomic_load_n(&h->done, __ATOMIC_ACQUIRE) && mvu_now_ns() < until)
		(void)mv_chan_wait_consumers(h->ch, 1, 10000000LL);
	return NULL;
}

/* Receiving side: join the channel the bridge makes once the sender's HELLO came. */
static void *join(void *arg)
{
	struct helper *h = arg;
	long long until = mvu_now_ns() + 30 * SEC;

	do
		h->rc = mv_chan_join(&h->ch, h->name, NULL, 100000000LL);
	while ((h->rc == -ENOENT || h->rc == -ETIMEDOUT) && mvu_now_ns() < until &&
	       (usleep(2000), 1));
	__atomic_store_n(&h->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int run(mv_bridge *b)
{
	int rc = mv_bridge_run(b, 0);

	if (rc < 0)
		die("bridge", mv_bridge_errmsg());
	return rc;
}

static void sender(mv_bridge_opts *o, const char *name, const char *to, size_t size, long n,
		   int lat)
{
	mv_chan_opts co = MV_CHAN_OPTS_INIT;
	mv_bridge_stats st = MV_BRIDGE_STATS_INIT;
	struct helper h = { 0 };
	long long until;
	mv_bridge *b;
	long i;
	int rc;

	co.slot_size = size;
	co.nslots = lat ? 4 : 16;
	if (mv_chan_create(&h.ch, name, &co) < 0)
		die(name, mv_errmsg());
	if (pthread_create(&h.thread, NULL, admit, &h) != 0)
		die("thread", strerror(errno));
	rc = mv_bridge_send(&b, name, &to, 1, o);
	__atomic_store_n(&h.done, 1, __ATOMIC_RELEASE);
	pthread_join(h.thread, NULL);
	if (rc < 0)
		die("mv_bridge_send", mv_bridge_errmsg());
	for (i = 0; i < n; i++) {
		mv_view v;
		int64_t now;

		while (lat && (mv_bridge_get_stats(&st, b), st.acked < (uint64_t)i))
			run(b);
		while ((rc = mv_chan_loan(&v, h.ch, 0)) == -EAGAIN)
			run(b);
		if (rc < 0)
			die("loan", mv_errmsg());
		now = mvu_now_ns();
		memcpy(mv_view_ptr(&v), &now, sizeof(now));
		if (mv_chan_send(h.ch, &v, size) < 0)
			die("send", mv_errmsg());
		run(b);
	}
	if (mv_chan_close(h.ch) < 0)
		die("close", mv_errmsg());
	until = mvu_now_ns() + 30 * SEC;
	while (run(b) != 1)
		if (mvu_now_ns() > until)
			die("bridge", "the receiver did not acknowledge everything in 30 s");
	mv_bridge_close(b);
}

static void receiver(mv_bridge_opts *o, const char *name, const char *listen, size_t size, long n,
		     int lat)
{
	struct helper h = { 0 };
	long long until = mvu_now_ns() + 60 * SEC, last = 0;
	int64_t first = 0, prev = 0;
	double *ns = calloc((size_t)n, sizeof(*ns));
	mv_bridge *b;
	long got = 0;

	if (!ns)
		die("calloc", strerror(ENOMEM));
	o->consumers = 1;
	if (mv_bridge_recv(&b, name, listen, o) < 0)
		die("mv_bridge_recv", mv_bridge_errmsg());
	h.name = name;
	if (pthread_create(&h.thread, NULL, join, &h) != 0)
		die("thread", strerror(errno));
	while (!__atomic_load_n(&h.done, __ATOMIC_ACQUIRE))
		if (mv_bridge_run(b, 1000000LL) < 0)
			die("bridge", mv_bridge_errmsg());
	pthread_join(h.thread, NULL);
	if (h.rc < 0)
		die("join", mv_errmsg());
	while (got < n) {
		mv_view m;
		int64_t stamp;

		run(b);
		while (got < n && mv_chan_recv(&m, h.ch, 0) == 0) {
			last = mvu_now_ns();
			memcpy(&stamp, mv_view_ptr(&m), sizeof(stamp));
			/* Stamps rise in send order: a message out of order or cut short is a bug. */
			if (mv_view_nbytes(&m) != (ssize_t)size || (got && stamp <= prev))
				die("receive", "a message out of order or of the wrong length");
			prev = stamp;
			if (got == 0)
				first = stamp;
			ns[got++] = (double)(last - stamp);
			mv_view_release(&m);
		}
		if (mvu_now_ns() > until)
			die("receive", "not every message came in 60 s");
	}
	if (lat)
		printf("p50_ns %.1f\n", mvu_median(ns + n / 10, (size_t)(n - n / 10)));
	else
		printf("mib_s %.1f\n", (double)n * (double)size /
		       (1 << 20) / ((double)(last - first) / 1e9));
	free(ns);
	/* The sender's BYE, so that it sees every message acknowledged before we go. */
	until = mvu_now_ns() + 10 * SEC;
	while (run(b) != 1 && mvu_now_ns() < until)
		;
	mv_chan_close(h.ch);
	mv_bridge_close(b);
}

int main(int argc, char **argv)
{
	mv_bridge_opts o = MV_BRIDGE_OPTS_INIT;
	char token[256];
	size_t size;
	FILE *f;
	long n;
	int lat;

	if (argc != 8 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv")))
		die("usage", "bridge_embedded send|recv CHAN ADDR:PORT TOKENFILE SIZE N lat|bw");
	size = strtoull(argv[5], NULL, 10);
	n = strtol(argv[6], NULL, 10);
	lat = strcmp(argv[7], "lat") == 0;
	if (size < 8 || n < 10)
		die("usage", "SIZE is at least 8 and N at least 10");
	f = fopen(argv[4], "r");
	if (!f || !fgets(token, sizeof(token), f))
		die(argv[4], "cannot read the token");
	fclose(f);
	token[strcspn(token, "\n")] = '\0';
	o.token = token;
	o.token_len = strlen(token);
	o.flags = MV_BRIDGE_BUSY;
	if (!strcmp(argv[1], "send"))
		sender(&o, argv[2], argv[3], size, n, lat);
	else
		receiver(&o, argv[2], argv[3], size, n, lat);
	return 0;
}
