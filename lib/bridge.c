/*
 * lib/bridge.c - a channel between hosts over UCX (include/memview/bridge.h): the sending bridge
 * (a consumer of a local channel, forwarding to one or more receivers) and the receiving bridge
 * (the producer of a channel of the same geometry, receiving each message into a loaned slot).
 *
 * Transport: UCX active messages on ucp endpoints made from a ucp_listener's connection
 * requests (receiver) or from a socket address (sender); one worker, one thread. The rules
 * (HELLO checks, sequencing, credit) are in bridge_proto.c, which knows nothing of UCX.
 *
 *   sender                                  receiver
 *   HELLO {session, geometry, name, token}  -> checked (token first, constant time); channel made
 *                                           <- ACCEPT {resume, granted} (after --consumers joined)
 *   DATA {seq, len} + the message, straight from the received view's memory
 *                                           -> loan at once; eager: one copy out of UCX's
 *                                              receive buffer into the slot; rendezvous:
 *                                              ucp_am_recv_data_nbx into the slot itself (several
 *                                              under way at once, one loan each); mv_chan_send
 *                                              in sequence order as each completes
 *                                           <- ACK {delivered, granted}: granted never passes
 *                                              taken + free slots, so a loan never fails
 *   BYE {total}                             -> closes the channel: consumers get EPIPE after it
 *
 * The sender keeps every message's view (its slot in the local channel) until every receiver
 * acknowledged it, so a reconnect (MV_BRIDGE_RETRY) resends exactly what was not delivered and
 * the receiver drops what it already has (sequence numbers): nothing twice, nothing lost. The
 * sender's memory is its local channel's slots; the receiver's, its channel's: nothing queues.
 *
 * Waiting: UCX's worker descriptor (ucp_worker_arm) and the channel's (mv_chan_fd) in one
 * poll(), unless MV_BRIDGE_BUSY, which spins.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "bridge_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ucp/api/ucp.h>

#include "memview.h"
#include "memview/bridge.h"

#define HELLO_NS 5000000000LL   /* a connection must say HELLO within this */
#define CONNECT_NS 10000000000LL /* a sender waits this long for ACCEPT */
#define RNDV_MIN 16384           /* messages from this size go by rendezvous, into the slot */
#define SPIN_ROUNDS 200          /* progress rounds before sleeping (without MV_BRIDGE_BUSY) */

enum { L_NONE, L_HELLO, L_READY, L_FAILED };

struct link {
	ucp_ep_h ep;
	int state;
	int failed;            /* the error callback said so */
	char addr[128];        /* as given, for messages */
	struct sockaddr_storage sa;
	socklen_t salen;
	long long deadline;    /* receiver: HELLO by then; sender: ACCEPT by then */
	uint64_t acked;        /* sender: delivered below this */
	uint64_t granted;      /* sender: may send below this */
	uint64_t sent;         /* sender: sent below this on this link */
	int accept_err;        /* sender: ACCEPT's refusal */
	char accept_text[112];
};

/* A message the sender holds until every receiver has it. */
struct held {
	mv_view v;
	struct br_data hdr;    /* the DATA header, alive as long as sends of it may be */
	unsigned inflight;     /* sends not yet completed locally */
};

/*
 * The receiver's message between its DATA and its publication: a loaned slot being filled (by
 * UCX's rendezvous, or already copied). Several fill at once, so rendezvous transfers overlap;
 * they are published strictly in sequence order, whatever order they complete in.
 */
enum { FILL_EMPTY, FILL_BUSY, FILL_DONE, FILL_FAILED };

struct fill {
	mv_bridge *b;
	mv_view loan;
	uint64_t len;
	int state;
	unsigned conn;         /* the connection it came on (mv_bridge.conn) */
};

struct mv_bridge {
	int sender;
	mv_bridge_opts o;
	unsigned char token[BR_TOKEN_MAX];
	ucp_context_h ctx;
	ucp_worker_h worker;
	int efd;
	mv_chan *ch;
	int chfd;              /* mv_chan_fd(), or -1 (a spinning channel: we spin too) */
	mv_chan_info info;
	char name[BR_NAME_MAX + 6];
	mv_bridge_stats st;
	int fatal;             /* a protocol error: the run ends with it */
	char fatal_msg[256];
	/* sender */
	struct link links[MV_BRIDGE_MAX_PEERS];
	unsigned nlinks;
	uint64_t session;
	struct held *win;
	unsigned wincap;
	uint64_t base, next;   /* held: [base, next) */
	int chan_eof;
	int bye_sent;
	/* receiver */
	ucp_listener_h listener;
	struct link peer;
	struct br_hello hello; /* the accepted stream's */
	int have_stream;
	int stream_done;       /* BYE came */
	uint64_t bye_total;
	struct br_rx rx;
	uint64_t acked_sent, granted_sent;
	struct fill *fills;    /* one per slot: message seq is fills[seq % nslots] */
	unsigned nbusy;        /* rendezvous under way */
	unsigned conn;         /* bumped at every accepted connection request */
	long long lost_at;     /* with MV_BRIDGE_RETRY: when the link was lost, or 0 */
	char expect[BR_NAME_MAX + 6];
	int accept_due;        /* HELLO checked: ACCEPT once consumers are there */
};

static __thread char errbuf[256];

/* ------------------------------------------------------------------ messages */

const char *mv_bridge_errmsg(void)
{
	return errbuf;
}

static void say(mv_bridge *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(mv_bridge *b, const char *fmt, ...)
{
	char line[320];
	va_list ap;

	if (!b->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	b->o.log(b->o.log_arg, line);
}

static int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return -err;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* "HOST:PORT" or "[V6]:PORT" into a socket address. */
static int parse_addr(struct sockaddr_storage *sa, socklen_t *len, const char *s, int passive)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char host[128];
	const char *colon, *h = s;
	size_t hl;
	int rc;

	if (!s || !*s)
		return fail(EINVAL, "an empty address");
	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return fail(EINVAL, "'%.100s' is not [ADDRESS]:PORT", s);
		h = s + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return fail(EINVAL, "'%.100s' is not HOST:PORT", s);
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host) || !colon[1] || strspn(colon + 1, "0123456789") !=
							      strlen(colon + 1))
		return fail(EINVAL, "'%.100s' is not HOST:PORT", s);
	/* getaddrinfo() takes 99999 and wraps it to 34463: the range is checked here. */
	if (strlen(colon + 1) > 5 || atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
		return fail(EINVAL, "'%.100s': the port is 1 to 65535", s);
	memcpy(host, h, hl);
	host[hl] = '\0';
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE | AI_NUMERICHOST : 0;
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0 || !res)
		return fail(EINVAL, "%.100s: %s%s", s, gai_strerror(rc),
			    passive ? " (listen on a numeric address)" : "");
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* ------------------------------------------------------------------ UCX plumbing */

static void ep_error(void *arg, ucp_ep_h ep, ucs_status_t status)
{
	struct link *l = arg;

	(void)ep;
	(void)status;
	l->failed = 1;
}

/*
 * Close @l's endpoint: @flush waits (at most a second) for what we sent to be out, so a
 * refusal or a BYE reaches the peer; otherwise, or after that second, it is cut.
 */
static void ep_drop(mv_bridge *b, struct link *l, int flush)
{
	ucp_request_param_t p = { .op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
				  .flags = flush && !l->failed ? 0 : UCP_EP_CLOSE_FLAG_FORCE };
	long long until = now_ns() + 1000000000LL;
	void *req;

	if (!l->ep)
		return;
	req = ucp_ep_close_nbx(l->ep, &p);
	if (UCS_PTR_IS_PTR(req)) {
		while (ucp_request_check_status(req) == UCS_INPROGRESS && now_ns() < until)
			ucp_worker_progress(b->worker);
		if (ucp_request_check_status(req) == UCS_INPROGRESS) {
			ucp_request_cancel(b->worker, req);
			while (ucp_request_check_status(req) == UCS_INPROGRESS)
				ucp_worker_progress(b->worker);
		}
		ucp_request_free(req);
	}
	l->ep = NULL;
	l->state = L_NONE;
}

static void send_done(void *req, ucs_status_t status, void *user)
{
	struct held *h = user;

	(void)status;
	if (h)
		h->inflight--;
	ucp_request_free(req);
}

static void ctl_done(void *req, ucs_status_t status, void *user)
{
	(void)status;
	free(user);
	ucp_request_free(req);
}

/*
 * A small control message (eager): header and data copied to the heap, since UCX may still
 * read them after we return; failures show as the link's failure.
 */
static void send_ctl(mv_bridge *b, struct link *l, unsigned id, const void *hdr, size_t len,
		     const void *data, size_t dlen)
{
	char *copy = malloc(len + dlen + 1);
	ucp_request_param_t p = { .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
						  UCP_OP_ATTR_FIELD_USER_DATA |
						  UCP_OP_ATTR_FIELD_FLAGS,
				  .cb.send = ctl_done, .user_data = copy,
				  .flags = UCP_AM_SEND_FLAG_REPLY | UCP_AM_SEND_FLAG_EAGER };
	void *req;

	(void)b;
	if (!l->ep || !copy) {
		free(copy);
		l->failed = 1;
		return;
	}
	if (len)
		memcpy(copy, hdr, len);
	if (dlen)
		memcpy(copy + len, data, dlen);
	req = ucp_am_send_nbx(l->ep, id, len ? copy : NULL, len, copy + len, dlen, &p);
	if (!UCS_PTR_IS_PTR(req))
		free(copy); /* done at once, or failed */
	if (UCS_PTR_IS_ERR(req))
		l->failed = 1;
}

/* Wait until something may have happened, or @deadline; spins first unless told to sleep. */
static void wait_events(mv_bridge *b, long long deadline, int *idle)
{
	struct pollfd pfd[2];
	long long left;
	int n = 0;

	if ((b->o.flags & MV_BRIDGE_BUSY) || ++*idle < SPIN_ROUNDS)
		return;
	*idle = 0;
	if (ucp_worker_arm(b->worker) != UCS_OK)
		return; /* events are waiting: progress again */
	pfd[n].fd = b->efd;
	pfd[n++].events = POLLIN;
	if (b->chfd >= 0) {
		pfd[n].fd = b->chfd;
		pfd[n++].events = POLLIN;
	}
	left = deadline - now_ns();
	/* The channel of a spinning producer cannot wake us: look again every millisecond. */
	(void)poll(pfd, (nfds_t)n, b->chfd < 0 && b->ch ? 1 : left > 100000000LL ? 100 :
			 left > 0 ? (int)(left / 1000000) + 1 : 0);
}

/*
 * Let UCX work: until it has nothing more to do, or (@once, a round of mv_bridge_run(b, 0))
 * one pass, so that what it delivered reaches the caller's loop without the pass after it
 * (which only finds nothing, at the cost of a system call on TCP).
 */
static int progress(mv_bridge *b, int once)
{
	int any = 0;

	if (once)
		return ucp_worker_progress(b->worker) != 0;
	while (ucp_worker_progress(b->worker))
		any = 1;
	return any;
}

static int ucx_open(mv_bridge *b)
{
	ucp_params_t cp = { .field_mask = UCP_PARAM_FIELD_FEATURES,
			    .features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP };
	ucp_worker_params_t wp = { .field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
				   .thread_mode = UCS_THREAD_MODE_SINGLE };
	ucp_config_t *cfg;
	ucs_status_t s;

	s = ucp_config_read(NULL, NULL, &cfg);
	if (s != UCS_OK)
		return fail(EINVAL, "UCX configuration: %s", ucs_status_string(s));
	s = ucp_init(&cp, cfg, &b->ctx);
	ucp_config_release(cfg);
	if (s != UCS_OK)
		return fail(ENOMEM, "UCX would not start: %s", ucs_status_string(s));
	s = ucp_worker_create(b->ctx, &wp, &b->worker);
	if (s != UCS_OK)
		return fail(ENOMEM, "UCX worker: %s", ucs_status_string(s));
	s = ucp_worker_get_efd(b->worker, &b->efd);
	if (s != UCS_OK)
		return fail(ENOMEM, "UCX worker's descriptor: %s", ucs_status_string(s));
	return 0;
}

static int set_handler(mv_bridge *b, unsigned id, ucp_am_recv_callback_t cb, int persistent)
{
	ucp_am_handler_param_t hp = { .field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID |
						    UCP_AM_HANDLER_PARAM_FIELD_CB |
						    UCP_AM_HANDLER_PARAM_FIELD_ARG |
						    UCP_AM_HANDLER_PARAM_FIELD_FLAGS,
				      .id = id, .cb = cb, .arg = b,
				      .flags = UCP_AM_FLAG_WHOLE_MSG |
					       (persistent ? UCP_AM_FLAG_PERSISTENT_DATA : 0) };
	ucs_status_t s = ucp_worker_set_am_recv_handler(b->worker, &hp);

	return s == UCS_OK ? 0 : fail(ENOMEM, "UCX handler: %s", ucs_status_string(s));
}

/* Any message of an id nobody registered: dropped. */
static ucs_status_t on_unknown(void *arg, const void *header, size_t hlen, void *data,
			       size_t length, const ucp_am_recv_param_t *p)
{
	(void)arg;
	(void)header;
	(void)hlen;
	(void)data;
	(void)length;
	(void)p;
	return UCS_OK;
}

/*
 * UCX 1.13 indexes its handler table with the id a peer sends, unchecked: an active message of
 * an id beyond the highest registered one reads past the table and crashes the process (found
 * by tests/tools/bridge.sh). Registering the highest id (the wire field is 16 bits) sizes the
 * table for every id a peer can name; the ids between have no callback, which UCX does check.
 */
static int guard_ids(mv_bridge *b)
{
	return set_handler(b, 0xffff, on_unknown, 0);
}

/* ------------------------------------------------------------------ receiver */

static void rx_fatal(mv_bridge *b, const char *why)
{
	if (!b->fatal) {
		b->fatal = -EPROTO;
		snprintf(b->fatal_msg, sizeof(b->fatal_msg), "%s", why);
	}
}

/* A peer we will not talk to: one line, and its endpoint dropped. */
static void refuse_peer(mv_bridge *b, const char *why, int err)
{
	struct br_accept a = { BR_MAGIC, BR_VERSION, 0, err, 0, 0, 0, "" };

	snprintf(a.text, sizeof(a.text), "%s", why);
	send_ctl(b, &b->peer, BR_AM_ACCEPT, NULL, 0, &a, sizeof(a));
	say(b, "refused %s: %s", b->peer.addr, why);
	b->st.refused++;
	b->peer.state = L_FAILED; /* dropped in the main loop, after the refusal went out */
}

static int from_peer(mv_bridge *b, const ucp_am_recv_param_t *p)
{
	return (p->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) && b->peer.ep &&
	       p->reply_ep == b->peer.ep && !b->peer.failed && b->peer.state != L_FAILED;
}

static void conn_request(ucp_conn_request_h req, void *arg)
{
	mv_bridge *b = arg;
	ucp_conn_request_attr_t ca = { .field_mask = UCP_CONN_REQUEST_ATTR_FIELD_CLIENT_ADDR };
	ucp_ep_params_t ep = { .field_mask = UCP_EP_PARAM_FIELD_CONN_REQUEST |
					     UCP_EP_PARAM_FIELD_ERR_HANDLER |
					     UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE,
			       .conn_request = req,
			       .err_mode = UCP_ERR_HANDLING_MODE_PEER,
			       .err_handler = { ep_error, &b->peer } };
	char host[64] = "?";

	if (ucp_conn_request_query(req, &ca) == UCS_OK) {
		struct sockaddr_storage *sa = &ca.client_address;

		if (sa->ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
		else if (sa->ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host,
				  sizeof(host));
	}
	/* One sender at a time: a second is turned away while the first is connected. */
	if (b->peer.ep || b->stream_done) {
		say(b, "refused %s: a sender is connected already", host);
		b->st.refused++;
		ucp_listener_reject(b->listener, req);
		return;
	}
	memset(&b->peer, 0, sizeof(b->peer));
	b->conn++; /* a fill of the last connection that fails late is not this one's failure */
	snprintf(b->peer.addr, sizeof(b->peer.addr), "%s", host);
	if (ucp_ep_create(b->worker, &ep, &b->peer.ep) != UCS_OK) {
		b->peer.ep = NULL;
		return;
	}
	b->peer.state = L_HELLO;
	b->peer.deadline = now_ns() + HELLO_NS;
}

/* The accepted HELLO's channel: made at the first, the same one at a reconnect. */
static int make_channel(mv_bridge *b)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	ssize_t shape[BR_MAXDIM];
	int i, rc;

	if (b->ch)
		return 0;
	if (!b->name[0])
		snprintf(b->name, sizeof(b->name), "%s", b->hello.name);
	o.slot_size = (size_t)b->hello.slot_size;
	o.nslots = b->hello.nslots;
	o.format = b->hello.format;
	o.ndim = b->hello.ndim;
	for (i = 0; i < (o.ndim > 0 ? o.ndim : 0); i++)
		shape[i] = (ssize_t)b->hello.shape[i];
	o.shape = shape;
	rc = mv_chan_create(&b->ch, b->name, &o);
	if (rc < 0)
		return fail(-rc, "%s: %s", b->name, mv_errmsg());
	/* A busy bridge never sleeps, so it needs no descriptor (nor the WAKEs arming it costs). */
	rc = b->o.flags & MV_BRIDGE_BUSY ? -1 : mv_chan_fd(&b->chfd, b->ch);
	if (rc < 0)
		b->chfd = -1;
	b->info.size = sizeof(b->info);
	mv_chan_get_info(&b->info, b->ch);
	b->fills = calloc(b->hello.nslots, sizeof(*b->fills));
	if (!b->fills) {
		/* No half-made channel: the next HELLO must make it again, of its geometry. */
		mv_chan_close(b->ch);
		b->ch = NULL;
		b->chfd = -1;
		return fail(ENOMEM, "cannot allocate the receive window");
	}
	for (i = 0; i < (int)b->hello.nslots; i++)
		b->fills[i].b = b;
	return 0;
}

static ucs_status_t on_hello(void *arg, const void *header, size_t hlen, void *data,
			     size_t length, const ucp_am_recv_param_t *p)
{
	mv_bridge *b = arg;
	struct br_policy pol = { b->token, b->o.token_len, b->expect[0] ? b->expect : NULL,
				 b->o.max_bytes ? b->o.max_bytes : (uint64_t)4 << 30 };
	struct br_hello h;
	char why[200];
	int rc;

	(void)header;
	(void)hlen;
	(void)data;
	if (!from_peer(b, p) || b->peer.state != L_HELLO)
		return UCS_OK; /* returning UCS_OK drops what came */
	if (p->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) {
		refuse_peer(b, "a HELLO sent by rendezvous (too large)", EBADMSG);
		return UCS_OK;
	}
	rc = mv_br_hello_check(&h, data, length, &pol, why, sizeof(why));
	if (rc == 0 && b->have_stream && h.session != b->hello.session) {
		snprintf(why, sizeof(why), "another stream (session %016llx) while %016llx's "
			 "channel is open", (unsigned long long)h.session,
			 (unsigned long long)b->hello.session);
		rc = -EBUSY;
	}
	if (rc < 0) {
		refuse_peer(b, why, -rc);
		return UCS_OK;
	}
	if (!b->have_stream) {
		b->hello = h;
		b->have_stream = 1;
		/* Later connections must be the same channel. */
		snprintf(b->expect, sizeof(b->expect), "%s", h.name);
	} else {
		b->st.reconnects++;
	}
	b->peer.state = L_READY;
	b->accept_due = 1;
	return UCS_OK;
}

static struct fill *fill_of(mv_bridge *b, uint64_t seq)
{
	return &b->fills[seq % b->hello.nslots];
}

/* Publish, in sequence order, every filled slot from the next undelivered message on. */
static void deliver_ready(mv_bridge *b)
{
	while (b->rx.delivered < b->rx.next && !b->fatal) {
		struct fill *f = fill_of(b, b->rx.delivered);

		if (f->state != FILL_DONE)
			return;
		f->state = FILL_EMPTY;
		if (mv_chan_send(b->ch, &f->loan, (size_t)f->len) < 0) {
			rx_fatal(b, mv_errmsg());
			return;
		}
		b->rx.delivered++;
		b->st.messages++;
		b->st.bytes += f->len;
	}
}

/*
 * The link is gone or the stream ended badly: every slot between the last delivery and the
 * last message taken goes back unsent, once UCX let go of it; the sender resends from there.
 */
static void drop_undelivered(mv_bridge *b)
{
	while (b->nbusy) /* the requests complete (with an error) once the endpoint is gone */
		ucp_worker_progress(b->worker);
	for (; b->fills && b->rx.next > b->rx.delivered; b->rx.next--) {
		struct fill *f = fill_of(b, b->rx.next - 1);

		mv_view_release(&f->loan);
		f->state = FILL_EMPTY;
	}
}

static void fill_done(void *req, ucs_status_t status, size_t length, void *user)
{
	struct fill *f = user;
	mv_bridge *b = f->b;

	(void)length;
	b->nbusy--;
	f->state = status == UCS_OK ? FILL_DONE : FILL_FAILED;
	if (status != UCS_OK && f->conn == b->conn)
		b->peer.failed = 1; /* the link died mid-message: nothing past it is visible */
	ucp_request_free(req);
	deliver_ready(b);
}

/*
 * One DATA arrived: loan a slot (the credit guarantees one) and start filling it. Returns
 * UCS_INPROGRESS when UCX's descriptor was handed to ucp_am_recv_data_nbx (UCX's now), else
 * UCS_OK (the bytes were copied, or the message dropped).
 */
static ucs_status_t take(mv_bridge *b, const struct br_data *hdr, void *data, uint64_t length,
			 int rndv)
{
	ucp_request_param_t p = { .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
						  UCP_OP_ATTR_FIELD_USER_DATA,
				  .cb.recv_am = fill_done };
	char why[200];
	int rc = mv_br_rx_check(&b->rx, hdr, length, b->hello.slot_size, why, sizeof(why));
	struct fill *f;
	void *req;

	if (rc <= 0) {
		if (rc < 0)
			rx_fatal(b, why);
		return UCS_OK;
	}
	f = fill_of(b, hdr->seq);
	if (f->state != FILL_EMPTY || mv_chan_loan(&f->loan, b->ch, 0) < 0) {
		rx_fatal(b, "a message beyond the credit found no free slot");
		return UCS_OK;
	}
	b->rx.next++;
	f->len = hdr->len;
	f->conn = b->conn;
	if (!rndv) {
		/* Eager: the bytes are in UCX's receive buffer already; one copy into the slot. */
		memcpy(mv_view_ptr(&f->loan), data, (size_t)hdr->len);
		f->state = FILL_DONE;
		deliver_ready(b);
		return UCS_OK;
	}
	/* Straight into the slot: UCX's rendezvous writes the loaned view's memory. */
	f->state = FILL_BUSY;
	p.user_data = f;
	req = ucp_am_recv_data_nbx(b->worker, data, mv_view_ptr(&f->loan), (size_t)hdr->len, &p);
	if (UCS_PTR_IS_ERR(req)) {
		f->state = FILL_FAILED;
		b->peer.failed = 1;
	} else if (req == NULL) {
		f->state = FILL_DONE;
		deliver_ready(b);
	} else {
		b->nbusy++;
	}
	return UCS_INPROGRESS;
}

static ucs_status_t on_data(void *arg, const void *header, size_t hlen, void *data,
			    size_t length, const ucp_am_recv_param_t *p)
{
	mv_bridge *b = arg;
	struct br_data hdr;

	if (!from_peer(b, p) || b->peer.state != L_READY || !b->ch || b->fatal) {
		if (from_peer(b, p) && b->peer.state == L_HELLO)
			refuse_peer(b, "DATA before an accepted HELLO", EPROTO);
		return UCS_OK;
	}
	if (hlen != sizeof(hdr)) {
		rx_fatal(b, "a DATA header of the wrong size");
		return UCS_OK;
	}
	memcpy(&hdr, header, sizeof(hdr));
	return take(b, &hdr, data, length, (p->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0);
}

static ucs_status_t on_bye(void *arg, const void *header, size_t hlen, void *data,
			   size_t length, const ucp_am_recv_param_t *p)
{
	mv_bridge *b = arg;
	struct br_bye y;

	(void)data;
	(void)length;
	if (!from_peer(b, p) || b->peer.state != L_READY || hlen != sizeof(y))
		return UCS_OK;
	memcpy(&y, header, sizeof(y));
	b->stream_done = 1;
	b->bye_total = y.total;
	return UCS_OK;
}

/* Anything the sender may not send us. */
static ucs_status_t on_stray(void *arg, const void *header, size_t hlen, void *data,
			     size_t length, const ucp_am_recv_param_t *p)
{
	mv_bridge *b = arg;

	(void)header;
	(void)hlen;
	(void)data;
	(void)length;
	if (from_peer(b, p) && b->peer.state == L_READY)
		rx_fatal(b, "a message a receiver does not take"); /* mid-stream: the end */
	else if (from_peer(b, p))
		refuse_peer(b, "a message a receiver does not take", EPROTO);
	return UCS_OK;
}

int mv_bridge_recv(mv_bridge **out, const char *name, const char *listen,
		   const mv_bridge_opts *opts)
{
	ucp_listener_params_t lp = { .field_mask = UCP_LISTENER_PARAM_FIELD_SOCK_ADDR |
						   UCP_LISTENER_PARAM_FIELD_CONN_HANDLER };
	mv_bridge *b;
	ucs_status_t s;
	int rc;

	if (!out || !opts || opts->size < sizeof(mv_bridge_opts) || !opts->token ||
	    opts->token_len < 1 || opts->token_len > BR_TOKEN_MAX)
		return fail(EINVAL, "mv_bridge_recv: options with a token of 1 to %d bytes are "
				    "needed (start from MV_BRIDGE_OPTS_INIT)", BR_TOKEN_MAX);
	if (name && (name[0] != '/' || strchr(name + 1, '/') || strlen(name) > BR_NAME_MAX))
		return fail(EINVAL, "'%.100s' is not a channel name", name);
	/* A sender's channel that no sender can have would refuse every one of them. */
	if (opts->expect && (opts->expect[0] != '/' || !opts->expect[1] ||
			     strchr(opts->expect + 1, '/') || strlen(opts->expect) > BR_NAME_MAX))
		return fail(EINVAL, "expected sender's channel '%.100s' is not a channel name",
			    opts->expect);
	b = calloc(1, sizeof(*b));
	if (!b)
		return fail(ENOMEM, "cannot allocate a bridge");
	b->o = *opts;
	b->chfd = -1;
	b->efd = -1;
	memcpy(b->token, opts->token, opts->token_len);
	b->o.token = NULL; /* ours is the copy */
	if (name)
		snprintf(b->name, sizeof(b->name), "%s", name);
	if (opts->expect)
		snprintf(b->expect, sizeof(b->expect), "%s", opts->expect);
	rc = parse_addr(&b->peer.sa, &b->peer.salen, listen ? listen : "127.0.0.1:13337", 1);
	if (rc == 0)
		rc = ucx_open(b);
	if (rc == 0)
		rc = set_handler(b, BR_AM_HELLO, on_hello, 0);
	if (rc == 0)
		rc = set_handler(b, BR_AM_DATA, on_data, 1);
	if (rc == 0)
		rc = set_handler(b, BR_AM_BYE, on_bye, 0);
	if (rc == 0)
		rc = set_handler(b, BR_AM_ACCEPT, on_stray, 0);
	if (rc == 0)
		rc = set_handler(b, BR_AM_ACK, on_stray, 0);
	if (rc == 0)
		rc = guard_ids(b);
	if (rc < 0) {
		mv_bridge_close(b);
		return rc;
	}
	lp.sockaddr.addr = (const struct sockaddr *)&b->peer.sa;
	lp.sockaddr.addrlen = b->peer.salen;
	lp.conn_handler.cb = conn_request;
	lp.conn_handler.arg = b;
	s = ucp_listener_create(b->worker, &lp, &b->listener);
	memset(&b->peer, 0, sizeof(b->peer));
	if (s != UCS_OK) {
		mv_bridge_close(b);
		/* UCX's own words ("Device is busy", "Input/output error") say little here. */
		return fail(s == UCS_ERR_BUSY ? EADDRINUSE : EINVAL, "cannot listen on %s: %s (UCX: %s)",
			    listen ? listen : "127.0.0.1:13337",
			    s == UCS_ERR_BUSY ? "the address is in use" :
						"cannot bind it: is it an address of this host?",
			    ucs_status_string(s));
	}
	*out = b;
	return 0;
}

/* Credit and acknowledgement: sent when either moved. */
static void rx_ack(mv_bridge *b)
{
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	struct br_ack a;

	if (b->peer.state != L_READY || b->peer.failed)
		return;
	/* Credit only while it runs low: free slots cost a look at the consumers' sockets. */
	if (b->rx.granted - b->rx.next <= b->hello.nslots / 2 + 1 &&
	    mv_chan_get_stats(&st, b->ch) == 0)
		mv_br_rx_grant(&b->rx, st.free_slots);
	if (b->rx.delivered == b->acked_sent && b->rx.granted == b->granted_sent)
		return;
	a.delivered = b->rx.delivered;
	a.granted = b->rx.granted;
	send_ctl(b, &b->peer, BR_AM_ACK, &a, sizeof(a), NULL, 0);
	b->acked_sent = a.delivered;
	b->granted_sent = a.granted;
}

/* The link is gone: with retry, wait for the same stream; else close the channel. */
static int rx_lost(mv_bridge *b)
{
	ep_drop(b, &b->peer, 0);
	drop_undelivered(b);
	if (!b->have_stream)
		return 0; /* it never said HELLO: wait for the next */
	if (!(b->o.flags & MV_BRIDGE_RETRY)) {
		say(b, "link lost after %llu messages: closing %s", (unsigned long long)b->rx.next,
		    b->name);
		return fail(EPIPE, "the link to the sender was lost after %llu messages",
			    (unsigned long long)b->rx.next);
	}
	say(b, "link lost after %llu messages: waiting for the sender to come back",
	    (unsigned long long)b->rx.next);
	b->lost_at = now_ns();
	return 0;
}

static int run_recv(mv_bridge *b, long long deadline)
{
	int idle = 0, rc;

	for (;;) {
		int busy;

		/*
		 * Acknowledge (and grant) what the last round delivered before taking more, not
		 * right after delivering: a program that runs its consumer in the same loop as the
		 * bridge (mv_bridge_run(b, 0), then mv_chan_recv) sees each message one send(2) of
		 * the ACK sooner - on loopback TCP that send is most of the round.
		 */
		if (b->ch && !b->accept_due) /* nothing before ACCEPT */
			rx_ack(b);
		busy = progress(b, deadline == 0);
		/* The end first: a sender that said BYE and closed at once has not lost its link. */
		if (b->stream_done && b->rx.delivered == b->rx.next) {
			say(b, "sender done after %llu messages", (unsigned long long)b->rx.next);
			return 1;
		}
		if (b->peer.ep && b->peer.state == L_FAILED) { /* refused */
			ep_drop(b, &b->peer, 1);
			/* Whatever it had under way goes back: a reconnection resumes at delivered. */
			drop_undelivered(b);
			continue;
		}
		if (b->peer.ep && b->peer.failed) {
			rc = rx_lost(b);
			if (rc < 0)
				return rc;
			continue;
		}
		if (b->peer.ep && b->peer.state == L_HELLO && now_ns() > b->peer.deadline) {
			refuse_peer(b, "no HELLO in time", ETIMEDOUT);
			continue;
		}
		if (b->fatal) {
			say(b, "%s: %s; disconnected", b->peer.addr, b->fatal_msg);
			ep_drop(b, &b->peer, 0);
			return fail(EPROTO, "the sender broke the protocol: %s", b->fatal_msg);
		}
		if (b->lost_at && !b->peer.ep && now_ns() - b->lost_at > b->o.retry_ns)
			return fail(EPIPE, "the sender did not come back in time");
		if (b->accept_due) {
			struct br_accept a = { BR_MAGIC, BR_VERSION, 0, 0, 0, 0, 0, "" };
			mv_chan_stats st = MV_CHAN_STATS_INIT;

			rc = make_channel(b);
			if (rc < 0) {
				refuse_peer(b, errbuf, -rc);
				b->accept_due = 0;
				b->have_stream = 0;
				continue;
			}
			if (b->o.consumers) {
				rc = mv_chan_wait_consumers(b->ch, b->o.consumers, 10000000LL);
				if (rc == -ETIMEDOUT) {
					if (now_ns() > deadline)
						return 0;
					continue; /* keep UCX going while consumers come */
				}
			}
			b->lost_at = 0;
			b->accept_due = 0;
			mv_chan_get_stats(&st, b->ch);
			a.resume = b->rx.delivered; /* == next: nothing is half-filled now */
			a.granted = mv_br_rx_grant(&b->rx, st.free_slots);
			send_ctl(b, &b->peer, BR_AM_ACCEPT, NULL, 0, &a, sizeof(a));
			b->acked_sent = a.resume;
			b->granted_sent = a.granted;
			say(b, "accepted %s: channel %s, %u slots of %llu bytes, from message %llu",
			    b->peer.addr, b->name, b->hello.nslots,
			    (unsigned long long)b->hello.slot_size, (unsigned long long)a.resume);
		}
		if (busy) {
			idle = 0;
			if (deadline == 0)
				return 0; /* one round: the caller's loop has its own work */
			continue;
		}
		if (now_ns() >= deadline)
			return 0;
		/* Out of credit: a loan that fails arms the channel's descriptor for a free slot. */
		if (b->ch && b->rx.granted == b->rx.next) {
			mv_view v;

			if (mv_chan_loan(&v, b->ch, 0) == 0) {
				mv_view_release(&v);
				continue;
			}
		}
		wait_events(b, deadline, &idle);
	}
}

/* ------------------------------------------------------------------ sender */

static struct link *link_of(mv_bridge *b, const ucp_am_recv_param_t *p)
{
	unsigned i;

	if (!(p->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP))
		return NULL;
	for (i = 0; i < b->nlinks; i++)
		if (b->links[i].ep && b->links[i].ep == p->reply_ep)
			return &b->links[i];
	return NULL;
}

/*
 * A receiver broke the protocol (or @l is no link of ours, NULL): the link is dropped by the
 * progress loop, with its log line; the message itself is consumed (UCS_OK).
 */
static ucs_status_t link_broke_protocol(struct link *l)
{
	if (l)
		l->failed = 1;
	return UCS_OK;
}

static ucs_status_t on_accept(void *arg, const void *header, size_t hlen, void *data,
			      size_t length, const ucp_am_recv_param_t *p)
{
	mv_bridge *b = arg;
	struct link *l = link_of(b, p);
	struct br_accept a;

	(void)header;
	(void)hlen;
	if (!l || l->state != L_HELLO || length != sizeof(a) ||
	    (p->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV))
		return link_broke_protocol(l);
	memcpy(&a, data, sizeof(a));
	a.text[sizeof(a.text) - 1] = '\0';
	if (a.magic != BR_MAGIC || a.version != BR_VERSION)
		return link_broke_protocol(l);
	if (a.err) {
		l->accept_err = a.err > 0 && a.err < 4096 ? a.err : EPROTO;
		snprintf(l->accept_text, sizeof(l->accept_text), "%s", a.text);
		l->state = L_FAILED;
		return UCS_OK;
	}
	/* What it has is acknowledged; resend from there (nothing below it again). */
	if (a.resume > b->next || a.resume < l->acked || a.granted < a.resume)
		return link_broke_protocol(l);
	l->acked = a.resume;
	l->sent = a.resume;
	l->granted = a.granted;
	l->state = L_READY;
	return UCS_OK;
}

static ucs_status_t on_ack(void *arg, const void *header, size_t hlen, void *data,
			   size_t length, const ucp_am_recv_param_t *p)
{
	mv_bridge *b = arg;
	struct link *l = link_of(b, p);
	struct br_ack a;

	(void)data;
	(void)length;
	if (!l || l->state != L_READY || hlen != sizeof(a))
		return link_broke_protocol(l);
	memcpy(&a, header, sizeof(a));
	/* Checked against what was sent: a receiver cannot acknowledge the future. */
	if (a.delivered < l->acked || a.delivered > l->sent || a.granted < l->granted)
		return link_broke_protocol(l);
	l->acked = a.delivered;
	l->granted = a.granted;
	return UCS_OK;
}

static int connect_link(mv_bridge *b, struct link *l)
{
	ucp_ep_params_t ep = { .field_mask = UCP_EP_PARAM_FIELD_FLAGS |
					     UCP_EP_PARAM_FIELD_SOCK_ADDR |
					     UCP_EP_PARAM_FIELD_ERR_HANDLER |
					     UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE,
			       .flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER,
			       .err_mode = UCP_ERR_HANDLING_MODE_PEER,
			       .err_handler = { ep_error, l } };
	static struct br_hello h; /* alive while the send may be */
	ucs_status_t s;
	int i;

	ep.sockaddr.addr = (const struct sockaddr *)&l->sa;
	ep.sockaddr.addrlen = l->salen;
	l->failed = 0;
	l->accept_err = 0;
	s = ucp_ep_create(b->worker, &ep, &l->ep);
	if (s != UCS_OK) {
		l->ep = NULL;
		return fail(ECONNREFUSED, "%s: %s", l->addr, ucs_status_string(s));
	}
	memset(&h, 0, sizeof(h));
	h.magic = BR_MAGIC;
	h.version = BR_VERSION;
	h.session = b->session;
	h.slot_size = b->info.slot_size;
	h.nslots = b->info.nslots;
	h.ndim = b->info.ndim;
	memcpy(h.format, b->info.format, sizeof(h.format));
	for (i = 0; i < (h.ndim > 0 ? h.ndim : 0); i++)
		h.shape[i] = b->info.shape[i];
	snprintf(h.name, sizeof(h.name), "%s", b->name);
	h.token_len = (uint32_t)b->o.token_len;
	memcpy(h.token, b->token, b->o.token_len);
	l->state = L_HELLO;
	l->deadline = now_ns() + CONNECT_NS;
	send_ctl(b, l, BR_AM_HELLO, NULL, 0, &h, sizeof(h));
	return 0;
}

/* Wait for every link's ACCEPT (or refusal). */
static int await_accepts(mv_bridge *b)
{
	unsigned i, ready;

	for (;;) {
		progress(b, 0);
		ready = 0;
		for (i = 0; i < b->nlinks; i++) {
			struct link *l = &b->links[i];

			if (l->state == L_FAILED)
				return fail(l->accept_err, "%s refused us: %s", l->addr,
					    l->accept_text);
			if (l->failed)
				return fail(ECONNREFUSED, "%s: the connection failed", l->addr);
			if (l->state == L_READY)
				ready++;
			else if (now_ns() > l->deadline)
				return fail(ETIMEDOUT, "%s did not accept us in time", l->addr);
		}
		if (ready == b->nlinks)
			return 0;
		usleep(100);
	}
}

int mv_bridge_send(mv_bridge **out, const char *chan, const char *const *to, unsigned n,
		   const mv_bridge_opts *opts)
{
	mv_bridge *b;
	unsigned i;
	int rc;

	if (!out || !to || n < 1 || n > MV_BRIDGE_MAX_PEERS || !opts ||
	    opts->size < sizeof(mv_bridge_opts) || !opts->token || opts->token_len < 1 ||
	    opts->token_len > BR_TOKEN_MAX)
		return fail(EINVAL, "mv_bridge_send: 1 to %d receivers and options with a token of "
				    "1 to %d bytes are needed", MV_BRIDGE_MAX_PEERS, BR_TOKEN_MAX);
	b = calloc(1, sizeof(*b));
	if (!b)
		return fail(ENOMEM, "cannot allocate a bridge");
	b->sender = 1;
	b->o = *opts;
	b->o.token = NULL;
	b->chfd = -1;
	b->efd = -1;
	memcpy(b->token, opts->token, opts->token_len);
	b->nlinks = n;
	for (i = 0; i < n; i++) {
		snprintf(b->links[i].addr, sizeof(b->links[i].addr), "%s", to[i] ? to[i] : "");
		rc = parse_addr(&b->links[i].sa, &b->links[i].salen, to[i], 0);
		if (rc < 0)
			goto fail;
	}
	if (getrandom(&b->session, sizeof(b->session), 0) != sizeof(b->session))
		b->session = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
	rc = mv_chan_join(&b->ch, chan, NULL, 10000000000LL);
	if (rc < 0) {
		rc = fail(-rc, "%s", mv_errmsg());
		goto fail;
	}
	snprintf(b->name, sizeof(b->name), "%s", chan);
	b->info.size = sizeof(b->info);
	mv_chan_get_info(&b->info, b->ch);
	/*
	 * Sleeping, we wait on the channel's descriptor; a spinning channel has none (we look
	 * every millisecond). A busy bridge never waits: without a descriptor, its every empty
	 * look at the channel does not arm it, which would cost the producer a WAKE per message.
	 */
	if ((b->o.flags & MV_BRIDGE_BUSY) || mv_chan_fd(&b->chfd, b->ch) < 0)
		b->chfd = -1;
	b->wincap = b->info.nslots;
	b->win = calloc(b->wincap, sizeof(*b->win));
	if (!b->win) {
		rc = fail(ENOMEM, "cannot allocate the window");
		goto fail;
	}
	rc = ucx_open(b);
	if (rc == 0)
		rc = set_handler(b, BR_AM_ACCEPT, on_accept, 0);
	if (rc == 0)
		rc = set_handler(b, BR_AM_ACK, on_ack, 0);
	if (rc == 0)
		rc = guard_ids(b);
	for (i = 0; rc == 0 && i < n; i++)
		rc = connect_link(b, &b->links[i]);
	if (rc == 0)
		rc = await_accepts(b);
	if (rc < 0)
		goto fail;
	*out = b;
	return 0;
fail:
	mv_bridge_close(b);
	return rc;
}

/* Send held messages to @l as far as its credit goes. */
static void tx_push(mv_bridge *b, struct link *l)
{
	while (l->state == L_READY && !l->failed && l->sent < b->next && l->sent < l->granted) {
		struct held *h = &b->win[l->sent % b->wincap];
		size_t len = (size_t)h->hdr.len;
		ucp_request_param_t p = { .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
							  UCP_OP_ATTR_FIELD_USER_DATA |
							  UCP_OP_ATTR_FIELD_FLAGS,
					  .cb.send = send_done, .user_data = h,
					  .flags = UCP_AM_SEND_FLAG_REPLY |
						   (len >= RNDV_MIN ? UCP_AM_SEND_FLAG_RNDV :
								      UCP_AM_SEND_FLAG_EAGER) };
		void *req;

		/* Straight from the received view: the local channel's slot is the send buffer. */
		req = ucp_am_send_nbx(l->ep, BR_AM_DATA, &h->hdr, sizeof(h->hdr),
				      mv_view_ptr(&h->v), len, &p);
		if (UCS_PTR_IS_ERR(req)) {
			l->failed = 1;
			return;
		}
		if (req)
			h->inflight++;
		l->sent++;
	}
}

static uint64_t min_acked(mv_bridge *b)
{
	uint64_t m = b->next;
	unsigned i;

	for (i = 0; i < b->nlinks; i++)
		if (b->links[i].acked < m)
			m = b->links[i].acked;
	return m;
}

/* A lost link: reconnect within retry_ns (resuming where the receiver stopped), or fail. */
static int tx_lost(mv_bridge *b, struct link *l)
{
	long long until = now_ns() + b->o.retry_ns;

	ep_drop(b, l, 0);
	if (!(b->o.flags & MV_BRIDGE_RETRY))
		return fail(EPIPE, "%s: link lost; %llu messages not acknowledged", l->addr,
			    (unsigned long long)(b->next - min_acked(b)));
	say(b, "%s: link lost with %llu messages not acknowledged: reconnecting", l->addr,
	    (unsigned long long)(b->next - l->acked));
	while (now_ns() < until) {
		if (connect_link(b, l) == 0) {
			while (l->state == L_HELLO && !l->failed && now_ns() < l->deadline &&
			       now_ns() < until) {
				progress(b, 0);
				usleep(100);
			}
			if (l->state == L_READY && !l->failed) {
				b->st.reconnects++;
				say(b, "%s: back; resuming from message %llu", l->addr,
				    (unsigned long long)l->acked);
				return 0;
			}
			if (l->state == L_FAILED)
				return fail(l->accept_err, "%s refused us: %s", l->addr,
					    l->accept_text);
			ep_drop(b, l, 0);
		}
		usleep(200000);
	}
	return fail(EPIPE, "%s: link lost and not back in time; %llu messages not acknowledged",
		    l->addr, (unsigned long long)(b->next - min_acked(b)));
}

static int run_send(mv_bridge *b, long long deadline)
{
	int idle = 0;

	for (;;) {
		int busy = 0, rc;
		uint64_t acked;
		unsigned i;

		/*
		 * Take from the channel while the window has room and every link has credit, and
		 * send each message as it is taken: the channel's next (empty) look costs a system
		 * call, and UCX's progress another, neither of which the message should wait for.
		 */
		while (!b->chan_eof && b->next - b->base < b->wincap) {
			struct held *h = &b->win[b->next % b->wincap];

			for (i = 0; i < b->nlinks; i++)
				if (b->links[i].granted <= b->next)
					break;
			if (i < b->nlinks)
				break;
			rc = mv_chan_recv(&h->v, b->ch, 0);
			if (rc == -EAGAIN)
				break;
			if (rc == -EPIPE) {
				b->chan_eof = 1;
				break;
			}
			if (rc < 0)
				return fail(-rc, "%s", mv_errmsg());
			h->hdr.seq = b->next;
			h->hdr.len = mv_view_nbytes(&h->v);
			h->inflight = 0;
			b->next++;
			b->st.messages++;
			b->st.bytes += h->hdr.len;
			busy = 1;
			for (i = 0; i < b->nlinks; i++)
				tx_push(b, &b->links[i]);
		}
		busy |= progress(b, deadline == 0);
		for (i = 0; i < b->nlinks; i++) {
			if (b->links[i].failed || b->links[i].state != L_READY) {
				rc = tx_lost(b, &b->links[i]);
				if (rc < 0) {
					say(b, "%s", errbuf);
					return rc;
				}
			}
		}
		for (i = 0; i < b->nlinks; i++) /* credit that progress brought, a link back */
			tx_push(b, &b->links[i]);
		/* Every receiver has it and no send of it is under way: the slot goes back. */
		acked = min_acked(b);
		while (b->base < acked && b->win[b->base % b->wincap].inflight == 0) {
			mv_view_release(&b->win[b->base % b->wincap].v);
			b->base++;
			busy = 1;
		}
		b->st.acked = b->base;
		if (b->chan_eof && acked == b->next && b->base == b->next) {
			struct br_bye y = { b->next };

			if (!b->bye_sent) {
				for (i = 0; i < b->nlinks; i++)
					send_ctl(b, &b->links[i], BR_AM_BYE, &y, sizeof(y), NULL, 0);
				b->bye_sent = 1;
			}
			for (i = 0; i < b->nlinks; i++) /* BYE on the wire before we go */
				ep_drop(b, &b->links[i], 1);
			return 1;
		}
		if (busy) {
			idle = 0;
			if (deadline == 0)
				return 0; /* one round: the caller's loop has its own work */
			continue;
		}
		if (now_ns() >= deadline)
			return 0;
		wait_events(b, deadline, &idle);
	}
}

/* ------------------------------------------------------------------ common */

int mv_bridge_run(mv_bridge *b, long long timeout_ns)
{
	long long deadline;

	if (!b)
		return fail(EINVAL, "mv_bridge_run: no bridge");
	/* 0: one round of work, never waiting (deadline 0 has always passed). */
	deadline = timeout_ns < 0 ? LLONG_MAX : timeout_ns == 0 ? 0 : now_ns() + timeout_ns;
	return b->sender ? run_send(b, deadline) : run_recv(b, deadline);
}

int mv_bridge_get_stats(mv_bridge_stats *out, mv_bridge *b)
{
	size_t size;

	if (!out || !b || out->size < sizeof(*out))
		return fail(EINVAL, "mv_bridge_get_stats: start from MV_BRIDGE_STATS_INIT");
	size = out->size;
	*out = b->st;
	out->size = size;
	if (b->sender)
		out->unacked = b->next - min_acked(b);
	return 0;
}

void mv_bridge_close(mv_bridge *b)
{
	unsigned i;

	if (!b)
		return;
	if (b->worker) {
		for (i = 0; i < b->nlinks; i++)
			ep_drop(b, &b->links[i], 0);
		if (b->peer.ep)
			ep_drop(b, &b->peer, 0);
		if (b->fills)
			drop_undelivered(b);
	}
	for (; b->win && b->base < b->next; b->base++)
		mv_view_release(&b->win[b->base % b->wincap].v);
	if (b->listener)
		ucp_listener_destroy(b->listener);
	if (b->worker)
		ucp_worker_destroy(b->worker);
	if (b->ctx)
		ucp_cleanup(b->ctx);
	mv_chan_close(b->ch);
	free(b->win);
	free(b->fills);
	memset(b->token, 0, sizeof(b->token));
	free(b);
}
