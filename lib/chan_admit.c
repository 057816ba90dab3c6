/*
 * lib/chan_admit.c - who is in a channel: a consumer joining (connect, take the producer's
 * memory, give its own, wait to be admitted), the producer admitting joiners, collecting what
 * consumers hand back, and finding consumers that are gone.
 *
 * The handshake, on the consumer's connection (lib/chan_wire.c):
 *   joiner connects            the kernel queues the connection; nothing else is shared yet
 *   producer accepts           checks the joiner's credentials against the channel's mode, then
 *                              OFFER + the producer's memory (readonly for the joiner: sealed)
 *   joiner                     checks the producer's uid (the owner check), maps the producer's
 *                              memory readonly and checks its geometry against what it mapped,
 *                              makes its own memory (sealed the same way), JOIN + it
 *   producer                   checks the joiner's memory (seals, size), gives it a place,
 *                              ADMIT + the first sequence number it will receive
 * The producer runs only inside its own calls, so a joiner is admitted at the producer's next
 * call that looks (see mv_chan_send()); it never blocks the producer: every step is
 * non-blocking, a half-done handshake has a deadline, and a joiner that lies is dropped.
 *
 * "Gone" is the kernel's word: a participant's end of its connection closes when its process
 * dies, however it dies. The producer looks for closed connections when it runs short of slots
 * and when asked for statistics; a consumer looks when no message is waiting.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "chan_layout.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u

static size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) / a * a;
}

long long mv_chan_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int mv_chan_geom(struct chan_geom *g, uint32_t nslots, size_t slot_size)
{
	size_t data;

	if (nslots < 1 || nslots > MAX_SLOTS || slot_size < 1 || slot_size > MAX_SLOT_SIZE ||
	    slot_size % CL)
		return -EINVAL;
	g->ring_off = sizeof(struct chan_hdr);
	g->data_off = align_up(g->ring_off + 2 * (size_t)nslots * sizeof(uint64_t), PAGE);
	if (__builtin_mul_overflow((size_t)nslots, slot_size, &data) ||
	    __builtin_add_overflow(g->data_off, data, &g->total))
		return -EOVERFLOW;
	g->cons_total = sizeof(struct chan_cons) + (size_t)nslots * sizeof(uint32_t);
	return 0;
}

/* ------------------------------------------------------------------ producer: the socket */

int mv_chan_listen(struct mv_chan *ch, const char *name)
{
	struct sockaddr_un a;
	int len = mv_chan_wire_addr(&a, name), rc;

	if (len < 0)
		return len;
	ch->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ch->sock < 0)
		return mv_fail(errno, "%s: cannot make the channel's socket: %s", name,
			       strerror(errno));
	if (bind(ch->sock, (struct sockaddr *)&a, (socklen_t)len) < 0) {
		rc = errno;
		close(ch->sock);
		ch->sock = -1;
		if (rc == EADDRINUSE)
			return mv_fail(EEXIST, "%s: a channel of that name exists", name);
		return mv_fail(rc, "%s: cannot bind the channel's name: %s", name, strerror(rc));
	}
	if (listen(ch->sock, MV_CHAN_MAX_CONSUMERS) < 0) {
		rc = errno;
		close(ch->sock);
		ch->sock = -1;
		return mv_fail(rc, "%s: cannot listen: %s", name, strerror(rc));
	}
	return 0;
}

/* Tell a joiner why not (best effort: it may be gone already). */
static void refuse(int fd, int err, const char *fmt, ...) MV_PRINTF(3, 4);
static void refuse(int fd, int err, const char *fmt, ...)
{
	struct chan_wire m = { CHAN_WIRE_MAGIC, CHAN_WIRE_VERSION, WIRE_REFUSE, 0, err, 0, "" };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	(void)mv_chan_wire_send(fd, &m, -1);
}

/* ------------------------------------------------------------------ producer: bookkeeping */

void mv_chan_slot_free(struct mv_chan *ch, uint32_t slot)
{
	ch->slot_state[slot] = SLOT_FREE;
	ch->free_stack[ch->nfree++] = slot;
}

void mv_chan_forget(struct mv_chan *ch, int i)
{
	struct chan_peer *p = &ch->peers[i];
	uint64_t bit = 1ULL << i;
	uint32_t s;

	if (ch->active & bit) {
		ch->active &= ~bit;
		ch->stats.consumers--;
		for (s = 0; s < ch->nslots; s++) {
			if (ch->slot_state[s] == SLOT_SENT && (ch->owed[s] & bit)) {
				ch->owed[s] &= ~bit;
				if (!ch->owed[s])
					mv_chan_slot_free(ch, s);
			}
		}
	}
	if (p->fd >= 0) {
		if (ch->pollfd >= 0) /* a forked child may share the connection: say it here */
			(void)epoll_ctl(ch->pollfd, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
	}
	mv_buffer_release(&p->hold);
	mv_segment_close(p->seg);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

/* Take back what consumer @i handed back: every id is checked against what it owes. */
static void collect(struct mv_chan *ch, int i)
{
	struct chan_peer *p = &ch->peers[i];
	uint64_t bit = 1ULL << i;
	uint64_t h = __atomic_load_n(&p->mem->ret_head, __ATOMIC_ACQUIRE), t = p->ret_tail;
	uint32_t at = p->ret_at;

	if (h - t > ch->nslots) {
		/* More than it could owe: a lying queue. Take nothing from it, start afresh. */
		ch->stats.bad_returns++;
		t = h;
		at = (uint32_t)(h % ch->nslots);
	}
	for (; t < h; t++, at = chan_ring_next(at, ch->nslots)) {
		uint32_t s = __atomic_load_n(&p->ret[at], __ATOMIC_RELAXED);

		if (s >= ch->nslots || ch->slot_state[s] != SLOT_SENT || !(ch->owed[s] & bit)) {
			ch->stats.bad_returns++;
			continue;
		}
		ch->owed[s] &= ~bit;
		if (!ch->owed[s])
			mv_chan_slot_free(ch, s);
	}
	p->ret_tail = t;
	p->ret_at = at;
}

/*
 * Read @sock's messages past any WAKEs (sent to wake a polling reader: they say nothing else):
 * the first other message's mv_chan_wire_recv() result (its descriptor closed), or -EAGAIN when
 * none is waiting. A bounded number, so a peer flooding WAKEs cannot keep us here (-EAGAIN).
 */
static int past_wakes(int sock, struct chan_wire *m)
{
	int k;

	for (k = 0; k < 64; k++) {
		int fd = -1, rc = mv_chan_wire_recv(sock, m, &fd);

		if (fd >= 0)
			close(fd);
		if (rc != 1 || m->type != WIRE_WAKE || fd >= 0)
			return rc;
	}
	return -EAGAIN;
}

/* What an admitted consumer said on its connection: 1 while it is still a member, else 0. */
static int peer_said(struct mv_chan *ch, int i)
{
	struct chan_wire m;
	int rc = past_wakes(ch->peers[i].fd, &m);

	if (rc == -EAGAIN)
		return 1;
	/*
	 * An admitted consumer says LEAVE as it closes; end of file without it means it died
	 * (reclaimed); anything else is a lie, and ends it too. What it handed back before is
	 * still taken.
	 */
	collect(ch, i);
	if (rc == 1 && m.type == WIRE_LEAVE)
		; /* left in good order */
	else if (rc == 0)
		ch->stats.reclaimed++;
	else
		ch->stats.bad_returns++;
	mv_chan_forget(ch, i);
	return 0;
}

void mv_chan_poll_watch(struct mv_chan *ch, int i)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

	/* Closing the connection takes it out of the set again (mv_chan_forget). */
	if (ch->pollfd >= 0 && ch->peers[i].fd >= 0)
		(void)epoll_ctl(ch->pollfd, EPOLL_CTL_ADD, ch->peers[i].fd, &ev);
}

/* A checked joiner's memory becomes consumer place @i. */
static int enrol(struct mv_chan *ch, const struct chan_pending *pd, int memfd)
{
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	struct chan_wire m = { CHAN_WIRE_MAGIC, CHAN_WIRE_VERSION, WIRE_ADMIT, 0, 0, 0, "" };
	struct chan_peer *p;
	int i, rc;

	for (i = 0; i < MV_CHAN_MAX_CONSUMERS; i++)
		if (!(ch->active & (1ULL << i)) && ch->peers[i].fd < 0)
			break;
	if (i == MV_CHAN_MAX_CONSUMERS) {
		refuse(pd->fd, EBUSY, "%s: all %d consumer places are taken", ch->name,
		       MV_CHAN_MAX_CONSUMERS);
		return -EBUSY;
	}
	p = &ch->peers[i];
	ro.flags = MV_SEGMENT_READONLY;
	rc = mv_segment_import(&p->seg, memfd, &ro);
	if (rc == 0)
		rc = mv_segment_get_info(&info, p->seg);
	/* Only its writer may write it, nobody may cut it short, and it holds a whole queue. */
	if (rc == 0 && ((info.seals & (MV_SEAL_FUTURE_WRITE | MV_SEAL_GROW)) !=
				(MV_SEAL_FUTURE_WRITE | MV_SEAL_GROW) ||
			info.data_size < ch->geom.cons_total))
		rc = -EBADMSG;
	if (rc == 0)
		rc = mv_buffer_get(&p->hold, mv_segment_exporter(p->seg), MV_BUF_SIMPLE);
	if (rc == 0 && __atomic_load_n(&((const struct chan_cons *)p->hold.buf)->magic,
				       __ATOMIC_RELAXED) != CHAN_CONS_MAGIC)
		rc = -EBADMSG;
	if (rc < 0) {
		refuse(pd->fd, EBADMSG, "%s: the joiner's memory is not a sealed consumer queue "
					"of %u slots", ch->name, ch->nslots);
		mv_buffer_release(&p->hold);
		mv_segment_close(p->seg);
		memset(p, 0, sizeof(*p));
		p->fd = -1;
		return rc;
	}
	p->mem = p->hold.buf;
	p->ret = (const uint32_t *)((const char *)p->hold.buf + sizeof(struct chan_cons));
	/* Its head as it is now is where its hand-backs start (any value will do: relative). */
	p->ret_tail = __atomic_load_n(&p->mem->ret_head, __ATOMIC_ACQUIRE);
	p->ret_at = (uint32_t)(p->ret_tail % ch->nslots);
	p->pid = pd->pid;
	m.index = (uint32_t)i;
	m.start = ch->head;
	if (mv_chan_wire_send(pd->fd, &m, -1) < 0) {
		/* Not a member: the place is freed, and the connection is the caller's to close
		 * (giving it to the place made it closed twice). */
		mv_chan_forget(ch, i);
		return -EPIPE;
	}
	p->fd = pd->fd;
	ch->active |= 1ULL << i;
	ch->stats.consumers++;
	mv_chan_poll_watch(ch, i);
	return 0;
}

/* Accept the connections waiting on the listening socket (it polled readable); never waits. */
static void accept_joiners(struct mv_chan *ch)
{
	struct chan_wire offer = { CHAN_WIRE_MAGIC, CHAN_WIRE_VERSION, WIRE_OFFER, WIRE_CAP_WAKE,
				   0, 0, "" };
	long long now = mv_chan_now_ns();
	int k;

	/* While handshakes are under way the rest wait in the kernel's backlog. */
	for (k = 0; k < MAX_PENDING && ch->npending < MAX_PENDING; k++) {
		pid_t pid = 0;
		int fd = accept4(ch->sock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), ok;

		if (fd < 0)
			break;
		ok = mv_chan_wire_peer_allowed(fd, ch->mode, &pid);
		if (ok <= 0) {
			refuse(fd, EACCES, "%s: the channel's mode %04o does not let you join",
			       ch->name, ch->mode);
			close(fd);
			continue;
		}
		if (__builtin_popcountll(ch->active) + ch->npending >= MV_CHAN_MAX_CONSUMERS) {
			refuse(fd, EBUSY, "%s: all %d consumer places are taken", ch->name,
			       MV_CHAN_MAX_CONSUMERS);
			close(fd);
			continue;
		}
		if (mv_chan_wire_send(fd, &offer, mv_segment_fd(ch->seg)) < 0) {
			close(fd);
			continue;
		}
		ch->pending[ch->npending].fd = fd;
		ch->pending[ch->npending].pid = pid;
		ch->pending[ch->npending].deadline = now + PENDING_NS;
		ch->npending++;
	}
}

/* Move half-done handshakes on: a JOIN enrols its sender; a late or wrong one is dropped. */
static void handshakes(struct mv_chan *ch)
{
	long long now = mv_chan_now_ns();
	int i;

	for (i = 0; i < ch->npending;) {
		struct chan_pending *pd = &ch->pending[i];
		struct chan_wire m;
		int memfd, rc = mv_chan_wire_recv(pd->fd, &m, &memfd);

		if (rc == -EAGAIN && now < pd->deadline) {
			i++;
			continue;
		}
		if (rc == 1 && m.type == WIRE_JOIN && memfd >= 0) {
			rc = enrol(ch, pd, memfd);
		} else {
			if (rc == 1 || rc == -EBADMSG)
				refuse(pd->fd, EBADMSG, "%s: expected a JOIN with the joiner's "
							"memory", ch->name);
			rc = -EPROTO;
		}
		if (memfd >= 0)
			close(memfd);
		if (rc < 0)
			close(pd->fd);
		*pd = ch->pending[--ch->npending];
	}
}

void mv_chan_collect(struct mv_chan *ch)
{
	uint64_t left = ch->active;

	while (left) {
		int i = __builtin_ctzll(left);

		left &= left - 1;
		collect(ch, i);
	}
}

/*
 * One poll() over the listening socket and (with @check_liveness) every member's connection
 * says where there is anything to read: this runs inside loan, send and stats, and an accept4()
 * that finds nobody costs the kernel a socket allocated and freed (several times a poll()).
 */
void mv_chan_producer_poll(struct mv_chan *ch, int check_liveness)
{
	struct pollfd pfd[1 + MV_CHAN_MAX_CONSUMERS];
	int who[1 + MV_CHAN_MAX_CONSUMERS], n = 0, i, ready;

	pfd[n].fd = ch->sock;
	pfd[n].events = POLLIN;
	pfd[n].revents = 0;
	who[n++] = -1;
	for (i = 0; check_liveness && i < MV_CHAN_MAX_CONSUMERS; i++) {
		if (!(ch->active & (1ULL << i)))
			continue;
		pfd[n].fd = ch->peers[i].fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		who[n++] = i;
	}
	ready = poll(pfd, (nfds_t)n, 0);
	if (ready > 0 && pfd[0].revents)
		accept_joiners(ch);
	if (ch->npending)
		handshakes(ch);
	mv_chan_collect(ch);
	/* Consumers whose connection closed (or that talk out of turn) are gone. */
	for (i = 1; ready > 0 && i < n; i++)
		if (pfd[i].revents)
			(void)peer_said(ch, who[i]);
}

/* ------------------------------------------------------------------ consumer */

int mv_chan_producer_gone(struct mv_chan *ch)
{
	struct pollfd pfd = { ch->sock, POLLIN, 0 };
	struct chan_wire m;

	if (ch->gone)
		return 1;
	if (__atomic_load_n(&ch->hdr->closed, __ATOMIC_ACQUIRE)) {
		ch->gone = 1;
		return 1;
	}
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	/* After ADMIT the producer says only WAKE; anything else is the end (or a lie: the same). */
	if (past_wakes(ch->sock, &m) == -EAGAIN)
		return 0;
	ch->gone = 1;
	return 1;
}

/* Wait for the producer's next message on the connection, until @deadline. */
static int wait_msg(struct mv_chan *ch, struct chan_wire *m, int *fd, long long deadline,
		    const char *waiting_for)
{
	for (;;) {
		struct pollfd pfd = { ch->sock, POLLIN, 0 };
		long long left = deadline - mv_chan_now_ns();
		int rc = mv_chan_wire_recv(ch->sock, m, fd);

		if (rc == 1 && m->type == WIRE_REFUSE) {
			if (*fd >= 0)
				close(*fd);
			*fd = -1;
			return mv_fail(m->err > 0 && m->err < 4096 ? m->err : EPROTO, "%s",
				       m->text[0] ? m->text : "the producer refused us");
		}
		if (rc == 1)
			return 0;
		if (rc == 0)
			return mv_fail(EPIPE, "%s: the producer is gone", ch->name);
		if (rc == -EBADMSG)
			return mv_fail(EBADMSG, "%s: the producer sent a malformed message",
				       ch->name);
		if (rc == -EMFILE)
			return mv_fail(EMFILE, "%s: no descriptor was free to receive the producer's "
					       "memory", ch->name);
		if (rc != -EAGAIN)
			return mv_fail(-rc, "%s: %s", ch->name, strerror(-rc));
		if (left <= 0)
			return mv_fail(ETIMEDOUT, "%s: the producer did not %s in time", ch->name,
				       waiting_for);
		(void)poll(&pfd, 1, left > 100000000LL ? 100 : (int)(left / 1000000) + 1);
	}
}

/* Take the producer's memory: sealed, and geometry that fits what we mapped. */
static int take_producer_memory(struct mv_chan *ch, int memfd)
{
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	struct chan_hdr h;
	ssize_t need;
	int i, rc;

	ro.flags = MV_SEGMENT_READONLY;
	rc = mv_segment_import(&ch->seg, memfd, &ro);
	if (rc < 0)
		return rc;
	rc = mv_segment_get_info(&info, ch->seg);
	if (rc < 0)
		return rc;
	if (!(info.seals & MV_SEAL_FUTURE_WRITE))
		return mv_fail(EBADMSG, "%s: the producer's memory is not sealed against other "
					"writers", ch->name);
	rc = mv_buffer_get(&ch->hold, mv_segment_exporter(ch->seg), MV_BUF_SIMPLE);
	if (rc < 0)
		return rc;
	if ((size_t)ch->hold.len < sizeof(h))
		return mv_fail(EBADMSG, "%s: the producer's memory is too small", ch->name);
	/* One copy of the geometry; everything below uses the copy. */
	memcpy(&h, ch->hold.buf, sizeof(h));
	if (h.magic != CHAN_MAGIC)
		return mv_fail(EBADMSG, "%s: not a memview channel of this version", ch->name);
	if (mv_chan_geom(&ch->geom, h.nslots, (size_t)h.slot_size) < 0 ||
	    ch->geom.total > (size_t)ch->hold.len)
		return mv_fail(EBADMSG, "%s: the channel's geometry (%u slots of %llu bytes) does "
					"not fit its memory (%zd bytes)", ch->name, h.nslots,
			       (unsigned long long)h.slot_size, ch->hold.len);
	ch->nslots = h.nslots;
	ch->slot_size = (size_t)h.slot_size;
	ch->flags = h.flags & MV_CHAN_SPIN;
	ch->ndim = h.ndim;
	h.format[sizeof(h.format) - 1] = '\0';
	memcpy(ch->format, h.format, sizeof(ch->format));
	if (mv_format_parse(&ch->fmt, ch->format) < 0 || ch->ndim < -1 || ch->ndim > CHAN_MAXDIM)
		return mv_fail(EBADMSG, "%s: the channel's format or ndim is invalid", ch->name);
	for (i = 0; i < (ch->ndim > 0 ? ch->ndim : 0); i++) {
		if (h.shape[i] <= 0 || h.shape[i] > SSIZE_MAX)
			return mv_fail(EBADMSG, "%s: the channel's shape is invalid", ch->name);
		ch->shape[i] = (ssize_t)h.shape[i];
	}
	need = ch->ndim < 0 ? 0 : mv_shape_nbytes(ch->fmt.itemsize, ch->ndim, ch->shape);
	if (need < 0 || (size_t)need > ch->slot_size)
		return mv_fail(EBADMSG, "%s: the channel's shape does not fit a slot", ch->name);
	ch->typed_len = ch->ndim < 0 ? ch->slot_size / ch->fmt.itemsize * ch->fmt.itemsize :
				       (size_t)need;
	ch->hdr = ch->hold.buf;
	ch->ring = (uint64_t *)((char *)ch->hold.buf + ch->geom.ring_off);
	ch->data = (char *)ch->hold.buf + ch->geom.data_off;
	return 0;
}

int mv_chan_sealed_memory(mv_segment **out, const char *name, const char *role, size_t size)
{
	mv_segment_opts so = MV_SEGMENT_OPTS_INIT;
	char mname[CHAN_NAME_MAX + 32];

	so.flags = MV_SEGMENT_MEMFD;
	so.seals = MV_SEAL_GROW | MV_SEAL_FUTURE_WRITE;
	snprintf(mname, sizeof(mname), "mvchan:%s%s", name, role);
	return mv_segment_create(out, mname, size, &so);
}

/* Our own memory: a sealed memfd segment that only we write and only the producer reads. */
static int make_own_memory(struct mv_chan *ch)
{
	int rc = mv_chan_sealed_memory(&ch->own, ch->name, ":consumer", ch->geom.cons_total);

	if (rc < 0)
		return rc;
	ch->me = mv_segment_data(ch->own);
	ch->ret = (uint32_t *)((char *)ch->me + sizeof(struct chan_cons));
	__atomic_store_n(&ch->me->magic, CHAN_CONS_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

int mv_chan_connect(struct mv_chan *ch, const char *name, unsigned flags, long long deadline)
{
	struct chan_wire m = { CHAN_WIRE_MAGIC, CHAN_WIRE_VERSION, WIRE_JOIN, 0, 0, 0, "" };
	struct sockaddr_un a;
	uid_t uid;
	pid_t pid;
	int len = mv_chan_wire_addr(&a, name), fd, rc;

	if (len < 0)
		return len;
	ch->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ch->sock < 0)
		return mv_fail(errno, "%s: cannot make a socket: %s", name, strerror(errno));
	while (connect(ch->sock, (struct sockaddr *)&a, (socklen_t)len) < 0) {
		rc = errno;
		if (rc == EAGAIN && mv_chan_now_ns() < deadline) {
			usleep(1000); /* the producer's backlog is full: it admits at its pace */
			continue;
		}
		if (rc == ECONNREFUSED || rc == ENOENT)
			return mv_fail(ENOENT, "%s: no such channel", name);
		if (rc == EAGAIN)
			return mv_fail(ETIMEDOUT, "%s: the producer did not admit us in time", name);
		return mv_fail(rc, "%s: cannot connect: %s", name, strerror(rc));
	}
	/* Whoever listens on the name must be who we expect: a name can be squatted. */
	rc = mv_chan_wire_peer(ch->sock, &uid, &pid);
	if (rc < 0)
		return mv_fail(-rc, "%s: cannot ask who the producer is: %s", name, strerror(-rc));
	if (uid != geteuid() && !(flags & MV_CHAN_ANY_OWNER))
		return mv_fail(EPERM, "%s: the channel is served by uid %u, not by you: pass "
				      "MV_CHAN_ANY_OWNER to join it anyway", name, (unsigned)uid);
	rc = wait_msg(ch, &m, &fd, deadline, "admit us");
	if (rc < 0)
		return rc;
	if (m.type != WIRE_OFFER || fd < 0) {
		if (fd >= 0)
			close(fd);
		return mv_fail(EBADMSG, "%s: the producer did not offer its memory", name);
	}
	ch->peer_wakes = (m.index & WIRE_CAP_WAKE) != 0;
	rc = take_producer_memory(ch, fd);
	close(fd);
	if (rc < 0)
		return rc;
	rc = make_own_memory(ch);
	if (rc < 0)
		return rc;
	m.type = WIRE_JOIN;
	m.index = WIRE_CAP_WAKE;
	rc = mv_chan_wire_send(ch->sock, &m, mv_segment_fd(ch->own));
	if (rc < 0)
		return mv_fail(rc == -EPIPE || rc == -ECONNRESET ? EPIPE : -rc,
			       "%s: cannot send our memory: %s", name, strerror(-rc));
	rc = wait_msg(ch, &m, &fd, deadline, "admit us");
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		return rc;
	if (m.type != WIRE_ADMIT || m.index >= MV_CHAN_MAX_CONSUMERS)
		return mv_fail(EBADMSG, "%s: the producer answered our JOIN with message %u",
			       name, m.type);
	ch->cons_index = (int)m.index;
	ch->tail = m.start;
	ch->tail_at = (uint32_t)(m.start % ch->nslots);
	return 0;
}
