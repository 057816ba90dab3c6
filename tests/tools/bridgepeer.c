/*
 * tests/tools/bridgepeer.c - the ends of a bridged channel, and a hostile bridge peer, for
 * tests/tools/bridge.sh.
 *
 *   bridgepeer produce NAME COUNT SLOT NSLOTS COUNTFILE
 *       create channel NAME, wait for one consumer (the sending bridge), send COUNT messages of
 *       random sizes (24 bytes to SLOT) - sequence number, length, checksum, then bytes that
 *       depend on the sequence number - writing how many it sent into COUNTFILE as it goes;
 *       then close. Prints "sent N".
 *   bridgepeer consume NAME EXPECT [DELAY_US COUNTFILE BOUND]
 *       join NAME (waiting up to 10 s for it to appear), receive until EPIPE, checking every
 *       message's order and checksum; with DELAY_US, sleep that long per message and check that
 *       the producer (COUNTFILE) is never more than BOUND messages ahead (back-pressure end to
 *       end). Prints "received N"; exit 0 when N is EXPECT (-1: any prefix), 1 otherwise.
 *   bridgepeer garbage ADDR:PORT KIND
 *       connect to a receiving bridge with UCX and break the protocol: KIND short (a HELLO of
 *       the wrong size), data (DATA before HELLO), big (a 1 MiB HELLO), bytes (random bytes as
 *       a HELLO). Exit 0 once the bridge dropped us (or 5 s passed).
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "memview.h"

#define SEC 1000000000LL

struct hdr {
	uint64_t seq, len, sum;
};

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int produce(const char *name, long count, size_t slot, unsigned nslots, const char *cf)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	uint64_t s = 88172645463325252ULL;
	mv_chan *ch;
	long i;
	int fd = open(cf, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc;

	o.slot_size = slot;
	o.nslots = nslots;
	if (fd < 0 || mv_chan_create(&ch, name, &o) < 0) {
		fprintf(stderr, "bridgepeer: create %s: %s\n", name, mv_errmsg());
		return 1;
	}
	if (mv_chan_wait_consumers(ch, 1, 20 * SEC) < 1) {
		fprintf(stderr, "bridgepeer: nobody joined %s\n", name);
		return 1;
	}
	for (i = 0; i < count; i++) {
		mv_view v;
		struct hdr h;
		unsigned char *p;
		uint64_t t;
		size_t k;

		rc = mv_chan_loan(&v, ch, 30 * SEC);
		if (rc < 0) {
			fprintf(stderr, "bridgepeer: loan %ld: %s\n", i, mv_errmsg());
			return 1;
		}
		p = mv_view_ptr(&v);
		h.seq = (uint64_t)i;
		h.len = sizeof(h) + rnd(&s) % (slot - sizeof(h) + 1);
		t = h.seq * 2654435761u + 1;
		for (k = sizeof(h); k < h.len; k++)
			p[k] = (unsigned char)(rnd(&t) >> 24);
		h.sum = fnv(p + sizeof(h), h.len - sizeof(h));
		memcpy(p, &h, sizeof(h));
		if (mv_chan_send(ch, &v, h.len) < 0) {
			fprintf(stderr, "bridgepeer: send: %s\n", mv_errmsg());
			return 1;
		}
		t = (uint64_t)i + 1;
		(void)!pwrite(fd, &t, sizeof(t), 0);
	}
	printf("sent %ld\n", count);
	fflush(stdout);
	mv_chan_close(ch);
	return 0;
}

static int consume(const char *name, long expect, long delay_us, const char *cf, long bound)
{
	long long until = 0;
	uint64_t got = 0;
	mv_chan *ch = NULL;
	int rc, cfd = cf ? open(cf, O_RDONLY) : -1;

	for (;;) {
		struct timespec ts;

		rc = mv_chan_join(&ch, name, NULL, 5 * SEC);
		if (rc == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (!until)
			until = ts.tv_sec * SEC + ts.tv_nsec + 10 * SEC;
		if (rc != -ENOENT || ts.tv_sec * SEC + ts.tv_nsec > until) {
			fprintf(stderr, "bridgepeer: join %s: %s\n", name, mv_errmsg());
			return 1;
		}
		usleep(20000);
	}
	for (;;) {
		mv_view m;
		struct hdr h;
		const unsigned char *p;

		rc = mv_chan_recv(&m, ch, 60 * SEC);
		if (rc == -EPIPE)
			break;
		if (rc < 0) {
			fprintf(stderr, "bridgepeer: recv: %s\n", mv_errmsg());
			return 1;
		}
		p = mv_view_ptr(&m);
		if (mv_view_nbytes(&m) < (ssize_t)sizeof(h)) {
			fprintf(stderr, "bridgepeer: message %llu is short\n",
				(unsigned long long)got);
			return 1;
		}
		memcpy(&h, p, sizeof(h));
		if (h.seq != got || h.len != (uint64_t)mv_view_nbytes(&m) ||
		    fnv(p + sizeof(h), h.len - sizeof(h)) != h.sum) {
			fprintf(stderr, "bridgepeer: message %llu: sequence %llu, length %llu of "
				"%zd, checksum %s\n", (unsigned long long)got,
				(unsigned long long)h.seq, (unsigned long long)h.len,
				mv_view_nbytes(&m),
				fnv(p + sizeof(h), h.len - sizeof(h)) == h.sum ? "ok" : "bad");
			return 1;
		}
		mv_view_release(&m);
		got++;
		if (delay_us) {
			uint64_t sent = 0;

			usleep((useconds_t)delay_us);
			if (cfd >= 0 && pread(cfd, &sent, sizeof(sent), 0) == sizeof(sent) &&
			    sent > got + (uint64_t)bound) {
				fprintf(stderr, "bridgepeer: the producer sent %llu while we had "
					"%llu: more than %ld ahead\n", (unsigned long long)sent,
					(unsigned long long)got, bound);
				return 1;
			}
		}
	}
	printf("received %llu\n", (unsigned long long)got);
	mv_chan_close(ch);
	return expect < 0 || got == (uint64_t)expect ? 0 : 1;
}

#ifdef HAVE_UCX
#include <ucp/api/ucp.h>

static int dropped;

static void on_err(void *arg, ucp_ep_h ep, ucs_status_t st)
{
	(void)arg;
	(void)ep;
	(void)st;
	dropped = 1;
}

static void sent_cb(void *req, ucs_status_t st, void *u)
{
	(void)st;
	(void)u;
	ucp_request_free(req);
}

/* The bridge answers with an ACCEPT (a refusal): UCX 1.13 crashes on a reply nobody handles. */
static ucs_status_t on_any(void *arg, const void *h, size_t hl, void *d, size_t l,
			   const ucp_am_recv_param_t *p)
{
	(void)arg;
	(void)h;
	(void)hl;
	(void)d;
	(void)l;
	(void)p;
	return UCS_OK;
}

static int garbage(const char *addr, const char *kind)
{
	ucp_am_handler_param_t hp = { .field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID |
						    UCP_AM_HANDLER_PARAM_FIELD_CB,
				      .id = 0x4d1, .cb = on_any };
	ucp_params_t cp = { .field_mask = UCP_PARAM_FIELD_FEATURES, .features = UCP_FEATURE_AM };
	ucp_worker_params_t wp = { .field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
				   .thread_mode = UCS_THREAD_MODE_SINGLE };
	ucp_ep_params_t ep = { .field_mask = UCP_EP_PARAM_FIELD_FLAGS |
					     UCP_EP_PARAM_FIELD_SOCK_ADDR |
					     UCP_EP_PARAM_FIELD_ERR_HANDLER |
					     UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE,
			       .flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER,
			       .err_mode = UCP_ERR_HANDLING_MODE_PEER,
			       .err_handler = { on_err, NULL } };
	ucp_request_param_t rp = { .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
						   UCP_OP_ATTR_FIELD_FLAGS,
				   .cb.send = sent_cb, .flags = UCP_AM_SEND_FLAG_REPLY };
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	ucp_context_h ctx;
	ucp_worker_h w;
	ucp_ep_h e;
	ucp_config_t *cfg;
	char host[64], *colon;
	static unsigned char buf[1 << 20];
	uint64_t hdr[2] = { 0, 16 };
	struct timespec t0, t;
	void *req;
	size_t i;

	snprintf(host, sizeof(host), "%s", addr);
	colon = strrchr(host, ':');
	if (!colon)
		return 2;
	*colon = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return 2;
	if (ucp_config_read(NULL, NULL, &cfg) != UCS_OK || ucp_init(&cp, cfg, &ctx) != UCS_OK ||
	    ucp_worker_create(ctx, &wp, &w) != UCS_OK)
		return 1;
	ep.sockaddr.addr = res->ai_addr;
	ep.sockaddr.addrlen = res->ai_addrlen;
	if (ucp_worker_set_am_recv_handler(w, &hp) != UCS_OK || ucp_ep_create(w, &ep, &e) != UCS_OK)
		return 1;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	/* The ids are lib/bridge_proto.h's: HELLO 0x4d0, DATA 0x4d2. */
	if (!strcmp(kind, "short"))
		req = ucp_am_send_nbx(e, 0x4d0, NULL, 0, buf, 100, &rp);
	else if (!strcmp(kind, "data"))
		req = ucp_am_send_nbx(e, 0x4d2, hdr, sizeof(hdr), buf, 16, &rp);
	else if (!strcmp(kind, "id")) /* an id nobody registered */
		req = ucp_am_send_nbx(e, 0x7ff0, NULL, 0, buf, 64, &rp);
	else if (!strcmp(kind, "big"))
		req = ucp_am_send_nbx(e, 0x4d0, NULL, 0, buf, sizeof(buf), &rp);
	else
		req = ucp_am_send_nbx(e, 0x4d0, NULL, 0, buf, 744, &rp);
	(void)req;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		ucp_worker_progress(w);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (!dropped && t.tv_sec - t0.tv_sec < 8);
	printf("%s\n", dropped ? "dropped" : "not dropped");
	{
		ucp_request_param_t cp2 = { .op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
					    .flags = UCP_EP_CLOSE_FLAG_FORCE };
		void *close_req = ucp_ep_close_nbx(e, &cp2);

		if (UCS_PTR_IS_PTR(close_req)) {
			while (ucp_request_check_status(close_req) == UCS_INPROGRESS)
				ucp_worker_progress(w);
			ucp_request_free(close_req);
		}
	}
	ucp_worker_destroy(w);
	ucp_cleanup(ctx);
	ucp_config_release(cfg);
	freeaddrinfo(res);
	return 0;
}
#endif

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "produce"))
		return produce(argv[2], atol(argv[3]), (size_t)atol(argv[4]),
			       (unsigned)atol(argv[5]), argv[6]);
	if (argc == 4 && !strcmp(argv[1], "consume"))
		return consume(argv[2], atol(argv[3]), 0, NULL, 0);
	if (argc == 7 && !strcmp(argv[1], "consume"))
		return consume(argv[2], atol(argv[3]), atol(argv[4]), argv[5], atol(argv[6]));
#ifdef HAVE_UCX
	if (argc == 4 && !strcmp(argv[1], "garbage"))
		return garbage(argv[2], argv[3]);
#endif
	fprintf(stderr, "usage: bridgepeer produce|consume|garbage ...\n");
	return 2;
}
