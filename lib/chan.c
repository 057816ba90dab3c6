/*
 * lib/chan.c - zero-copy handoff between processes: the producer's ring of slots and the data
 * path (loan, send, receive, hand back), the slots as exporters, create, join, close.
 *
 * Memory (lib/chan_layout.h says who may write what, and how the kernel enforces it): the
 * producer's memory holds the header, the ring of published slot ids and the slots; consumers
 * map it readonly. Each consumer's own memory holds the ids it hands back; the producer maps it
 * readonly and checks every id against its private record of who owes which slot. Joining and
 * "gone" go through a unix socket per consumer (lib/chan_admit.c).
 *
 * Hot path (one message, spinning): the producer writes one ring entry (sequence number and slot
 * id in one 64-bit word, so the entry is the publication; the length shares its cache line);
 * the consumer spins on that entry. The hand-back goes into the consumer's own queue and is read
 * by the producer only when it runs short of slots.
 *
 * Sleeping (channels without MV_CHAN_SPIN): a consumer that has spun long enough raises its own
 * "sleeping" word and waits on the producer's pub_futex; the producer, after publishing, looks
 * at the sleeping words of its consumers and wakes them. A producer short of slots raises its
 * prod_sleeping word and waits on every consumer's ret_futex at once (futex_waitv); a consumer
 * handing back while it is raised bumps and wakes its own word. Each side publishes, then looks
 * (sequentially consistent), so no wake-up is lost; every sleep is also bounded by a slice, after
 * which liveness is checked.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "chan_layout.h"

#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "memview/chan.h"
#include "memview/segment.h"

#define SPIN_ITERS 4000
#define SLICE_NS 20000000LL /* sleep at most this long before re-checking liveness */
#define ADMIT_EVERY_NS 2000000LL /* how often send looks for joiners (coarse clock) */
#define ADMIT_CLOCK_MAX 15u      /* at most this many sends between reads of that clock */

#ifndef __NR_futex_waitv
#define __NR_futex_waitv 449
#endif
#define FUTEX2_SIZE_U32 0x02

/* struct futex_waitv (Linux 5.16), spelled out: older headers lack it. */
struct waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

static const mv_exporter_ops slot_ops;

/* ------------------------------------------------------------------ helpers */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* CLOCK_MONOTONIC_COARSE: a few nanoseconds from the vDSO, good to a tick. */
static long long coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void futex_wait(const uint32_t *word, uint32_t val, long long ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };

	syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void chan_free(struct mv_chan *ch)
{
	int i;

	if (!ch)
		return;
	if (ch->producer) {
		for (i = 0; i < MV_CHAN_MAX_CONSUMERS; i++)
			if (ch->peers[i].fd >= 0 || ch->peers[i].seg)
				mv_chan_forget(ch, i);
		for (i = 0; i < ch->npending; i++)
			close(ch->pending[i].fd);
	}
	if (ch->sock >= 0)
		close(ch->sock);
	if (ch->producer && ch->pollfd >= 0)
		close(ch->pollfd); /* a consumer's is its connection, closed above */
	mv_buffer_release(&ch->hold);
	mv_segment_close(ch->seg);
	mv_segment_close(ch->own);
	free(ch->slots);
	free(ch->slot_state);
	free(ch->owed);
	free(ch->free_stack);
	free(ch);
}

static struct mv_chan *chan_new(const char *name)
{
	struct mv_chan *ch = calloc(1, sizeof(*ch));
	int i;

	if (!ch)
		return NULL;
	ch->sock = -1;
	ch->pollfd = -1;
	ch->cons_index = -1;
	for (i = 0; i < MV_CHAN_MAX_CONSUMERS; i++)
		ch->peers[i].fd = -1;
	snprintf(ch->name, sizeof(ch->name), "%s", name ? name : "");
	return ch;
}

/* Channel names follow segment names: "/name", one slash, at most CHAN_NAME_MAX characters. */
static int check_name(const char *name)
{
	if (!name || name[0] != '/' || !name[1] || strchr(name + 1, '/'))
		return mv_fail(EINVAL, "channel name '%.64s' must be '/' and a name without "
				       "another '/'", name ? name : "(null)");
	if (strlen(name) > CHAN_NAME_MAX)
		return mv_fail(EINVAL, "channel name is %zu characters long, the limit is %d",
			       strlen(name), CHAN_NAME_MAX);
	return 0;
}

/* Slot exporters, one per slot, and the view templates (typed, and bytes) made from slot 0. */
static int slots_setup(struct mv_chan *ch)
{
	unsigned flags = ch->producer ? MV_BUF_FULL : MV_BUF_FULL_RO;
	uint32_t i;
	int rc;

	ch->slots = calloc(ch->nslots, sizeof(*ch->slots));
	if (!ch->slots)
		return mv_fail(ENOMEM, "cannot allocate slot exporters");
	for (i = 0; i < ch->nslots; i++) {
		ch->slots[i].exp.ops = &slot_ops;
		ch->slots[i].ch = ch;
		ch->slots[i].slot = i;
	}
	ch->templating = 1;
	ch->slots[0].nbytes = ch->typed_len;
	rc = mv_view_tmpl_init(&ch->typed, &ch->slots[0].exp, flags);
	if (rc == 0) {
		ch->slots[0].nbytes = 0; /* not the typed length: 1-D bytes */
		rc = mv_view_tmpl_init(&ch->bytes, &ch->slots[0].exp, flags);
	}
	ch->templating = 0;
	return rc;
}

/* A view of @slot's first @nbytes bytes, typed when they are the typed length. */
static int slot_view(mv_view *out, struct mv_chan *ch, uint32_t slot, size_t nbytes)
{
	struct slot_exp *se = &ch->slots[slot];
	char *buf = ch->data + (size_t)slot * ch->slot_size;

	se->nbytes = nbytes;
	if (nbytes == ch->typed_len)
		return mv_view_from_tmpl(out, &ch->typed, &se->m, &se->exp, buf, -1);
	return mv_view_from_tmpl(out, &ch->bytes, &se->m, &se->exp, buf, (ssize_t)nbytes);
}

/* ------------------------------------------------------------------ slot exporters */

static int slot_get(mv_exporter *self, mv_buffer *buf, unsigned flags)
{
	struct slot_exp *se = (struct slot_exp *)self;
	struct mv_chan *ch = se->ch;
	int typed = se->nbytes == ch->typed_len && (flags & MV_BUF_ND) == MV_BUF_ND;
	int rc;

	rc = mv_buffer_fill(buf, self, ch->data + (size_t)se->slot * ch->slot_size,
			    (ssize_t)se->nbytes, !ch->producer, flags);
	if (rc < 0 || !typed || (ch->fmt.code == 'B' && ch->ndim < 0))
		return rc;
	buf->itemsize = ch->fmt.itemsize;
	buf->format = (flags & MV_BUF_FORMAT) ? ch->format : NULL;
	buf->strides = NULL;
	if (ch->ndim < 0) {
		buf->ndim = 1;
		se->items = (ssize_t)(se->nbytes / ch->fmt.itemsize);
		buf->shape = &se->items;
	} else {
		buf->ndim = ch->ndim;
		buf->shape = ch->shape;
	}
	return 0;
}

/* Send a WAKE on @sock, never waiting: a full socket already reads as ready. */
static void send_wake(int sock)
{
	struct chan_wire m = { CHAN_WIRE_MAGIC, CHAN_WIRE_VERSION, WIRE_WAKE, 0, 0, 0, "" };

	(void)mv_chan_wire_send(sock, &m, -1);
}

/*
 * Consumer, having handed back: the producer waits (@w, its wait word, read once): on its futex,
 * which we bump, or on its pollable handle, armed for a generation we have not yet woken.
 */
static void wake_producer(struct mv_chan *ch, uint32_t w)
{
	if (w & CHAN_WAKE_SLEEP) {
		__atomic_fetch_add(&ch->me->ret_futex, 1, __ATOMIC_SEQ_CST);
		futex_wake(&ch->me->ret_futex);
	}
	if ((w & CHAN_WAKE_POLL) && (w >> CHAN_WAKE_GEN_SHIFT) != ch->woke_gen) {
		ch->woke_gen = w >> CHAN_WAKE_GEN_SHIFT;
		send_wake(ch->sock);
	}
}

/* A view of a slot is gone: a consumer hands the slot back; an unsent loan is freed. */
static void slot_release(mv_exporter *self, mv_buffer *buf)
{
	struct slot_exp *se = (struct slot_exp *)self;
	struct mv_chan *ch = se->ch;
	uint64_t h;
	uint32_t w;

	(void)buf;
	if (mv_exports_now(self) != 1 || ch->templating)
		return; /* only the family's last export hands the slot on */
	if (ch->producer) {
		if (ch->slot_state[se->slot] == SLOT_LOANED) { /* released unsent */
			ch->nloaned--;
			mv_chan_slot_free(ch, se->slot);
		}
		return;
	}
	h = ch->me->ret_head; /* our own word: nobody else writes it */
	if (unlikely(h != ch->ret_count)) {
		/* Written behind the library's back (a test playing a lying consumer does): follow
		 * it, as the producer does. Otherwise the position is counted, never divided. */
		ch->ret_count = h;
		ch->ret_at = (uint32_t)(h % ch->nslots);
	}
	__atomic_store_n(&ch->ret[ch->ret_at], se->slot, __ATOMIC_RELAXED);
	ch->ret_at = chan_ring_next(ch->ret_at, ch->nslots);
	h = ++ch->ret_count;
	if (ch->flags & MV_CHAN_SPIN) { /* the producer of a spinning channel never sleeps */
		__atomic_store_n(&ch->me->ret_head, h, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&ch->me->ret_head, h, __ATOMIC_SEQ_CST);
	w = __atomic_load_n(&ch->hdr->prod_sleeping, __ATOMIC_SEQ_CST);
	if (unlikely(w))
		wake_producer(ch, w);
}

static const mv_exporter_ops slot_ops = {
	.size = sizeof(mv_exporter_ops),
	.name = "channel slot",
	.get = slot_get,
	.release = slot_release,
	.flags = MV_EXPORTER_UNHASHABLE,
};

/* ------------------------------------------------------------------ create, join */

/* Check the creation options into @ch's geometry and typing. */
static int take_options(struct mv_chan *ch, const mv_chan_opts *o)
{
	ssize_t need;
	int i;

	if (o->flags & ~MV_CHAN_SPIN)
		return mv_fail(EINVAL, "unknown channel flags 0x%x", o->flags);
	if (o->nslots < 1 || o->nslots > MAX_SLOTS)
		return mv_fail(EINVAL, "a channel has 1 to %u slots, not %u", MAX_SLOTS, o->nslots);
	if (o->slot_size < 1 || o->slot_size > MAX_SLOT_SIZE)
		return mv_fail(EINVAL, "slot size %zu is out of range (1 to 2**40)", o->slot_size);
	if (o->ndim > CHAN_MAXDIM || o->ndim < -1)
		return mv_fail(EINVAL, "a channel slot has -1 or 0 to %d dimensions",
			       CHAN_MAXDIM);
	if (o->mode & ~0777u)
		return mv_fail(EINVAL, "channel mode %o has bits beyond 0777", o->mode);
	ch->flags = o->flags;
	ch->nslots = o->nslots;
	ch->slot_size = (o->slot_size + CL - 1) / CL * CL;
	ch->mode = o->mode ? o->mode : 0600;
	snprintf(ch->format, sizeof(ch->format), "%s", o->format ? o->format : "B");
	if (mv_format_parse(&ch->fmt, ch->format) < 0)
		return -EINVAL;
	ch->ndim = o->ndim;
	for (i = 0; i < (ch->ndim > 0 ? ch->ndim : 0); i++) {
		if (!o->shape || o->shape[i] <= 0)
			return mv_fail(EINVAL, "channel slot shape entry %d is invalid", i);
		ch->shape[i] = o->shape[i];
	}
	need = ch->ndim < 0 ? 0 : mv_shape_nbytes(ch->fmt.itemsize, ch->ndim, ch->shape);
	if (need < 0)
		return mv_fail(EOVERFLOW, "channel slot shape overflows");
	if ((size_t)need > o->slot_size)
		return mv_fail(EINVAL, "slot shape needs %zd bytes, slots have %zu", need,
			       o->slot_size);
	ch->typed_len = ch->ndim < 0 ? ch->slot_size / ch->fmt.itemsize * ch->fmt.itemsize :
				       (size_t)need;
	if (mv_chan_geom(&ch->geom, ch->nslots, ch->slot_size) < 0)
		return mv_fail(EOVERFLOW, "%u slots of %zu bytes do not fit in memory", ch->nslots,
			       ch->slot_size);
	return 0;
}

/* The producer's memory: a memfd segment only it can write, sealed before anyone sees it. */
static int make_producer_memory(struct mv_chan *ch)
{
	struct chan_hdr *h;
	int i, rc;

	rc = mv_chan_sealed_memory(&ch->seg, ch->name, "", ch->geom.total);
	if (rc < 0)
		return rc;
	rc = mv_buffer_get(&ch->hold, mv_segment_exporter(ch->seg), MV_BUF_WRITABLE);
	if (rc < 0)
		return rc;
	h = ch->hold.buf;
	h->nslots = ch->nslots;
	h->flags = ch->flags;
	h->slot_size = ch->slot_size;
	h->ndim = ch->ndim;
	memcpy(h->format, ch->format, sizeof(h->format));
	for (i = 0; i < (ch->ndim > 0 ? ch->ndim : 0); i++)
		h->shape[i] = ch->shape[i];
	h->prod_pid = getpid();
	__atomic_store_n(&h->magic, CHAN_MAGIC, __ATOMIC_RELEASE);
	ch->hdr = h;
	ch->ring = (uint64_t *)((char *)h + ch->geom.ring_off);
	ch->data = (char *)h + ch->geom.data_off;
	return 0;
}

int mv_chan_create(mv_chan **out, const char *name, const mv_chan_opts *opts)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	struct mv_chan *ch;
	uint32_t i;
	int rc;

	MV_CHECK_ARG(out, "out");
	if (opts) {
		MV_CHECK_SIZED(opts, mv_chan_opts, MV_CHAN_OPTS_INIT);
		o = *opts;
	}
	rc = check_name(name);
	if (rc < 0)
		return rc;
	ch = chan_new(name);
	if (!ch)
		return mv_fail(ENOMEM, "cannot allocate a channel");
	ch->producer = 1;
	rc = take_options(ch, &o);
	if (rc < 0)
		goto fail;
	/* The name first: a taken name fails before anything is made. */
	rc = mv_chan_listen(ch, name);
	if (rc < 0)
		goto fail;
	rc = make_producer_memory(ch);
	if (rc < 0)
		goto fail;
	rc = slots_setup(ch);
	if (rc < 0)
		goto fail;
	ch->slot_state = calloc(ch->nslots, 1);
	ch->owed = calloc(ch->nslots, sizeof(uint64_t));
	ch->free_stack = malloc(ch->nslots * sizeof(uint32_t));
	if (!ch->slot_state || !ch->owed || !ch->free_stack) {
		rc = mv_fail(ENOMEM, "cannot allocate the producer's slot table");
		goto fail;
	}
	for (i = 0; i < ch->nslots; i++)
		ch->free_stack[i] = ch->nslots - 1 - i;
	ch->nfree = ch->nslots;
	*out = ch;
	return 0;
fail:
	chan_free(ch);
	return rc;
}

int mv_chan_join(mv_chan **out, const char *name, const mv_chan_opts *opts, long long timeout_ns)
{
	struct mv_chan *ch;
	unsigned flags = 0;
	int rc;

	MV_CHECK_ARG(out, "out");
	if (opts) {
		MV_CHECK_SIZED(opts, mv_chan_opts, MV_CHAN_OPTS_INIT);
		flags = opts->flags;
		if (flags & ~MV_CHAN_ANY_OWNER)
			return mv_fail(EINVAL, "join takes only MV_CHAN_ANY_OWNER, not flags 0x%x",
				       flags);
	}
	rc = check_name(name);
	if (rc < 0)
		return rc;
	ch = chan_new(name);
	if (!ch)
		return mv_fail(ENOMEM, "cannot allocate a channel");
	rc = mv_chan_connect(ch, name, flags,
			     timeout_ns < 0 ? LLONG_MAX : mv_chan_now_ns() + timeout_ns);
	if (rc == 0)
		rc = slots_setup(ch);
	if (rc < 0) {
		chan_free(ch);
		return rc;
	}
	*out = ch;
	return 0;
}

int mv_chan_wait_consumers(mv_chan *ch, unsigned n, long long timeout_ns)
{
	long long deadline;

	MV_CHECK_ARG(ch && ch->producer, "ch (a producer)");
	deadline = timeout_ns < 0 ? LLONG_MAX : mv_chan_now_ns() + timeout_ns;
	for (;;) {
		struct pollfd pfd[1 + MAX_PENDING];
		long long left;
		int k;

		mv_chan_producer_poll(ch, 1);
		if (__builtin_popcountll(ch->active) >= (int)n)
			return __builtin_popcountll(ch->active);
		left = deadline - mv_chan_now_ns();
		if (left <= 0)
			return mv_fail(ETIMEDOUT, "%s: %d of %u consumers joined in time", ch->name,
				       __builtin_popcountll(ch->active), n);
		/* Until a joiner knocks or a handshake moves, or a slice passes. */
		pfd[0].fd = ch->sock;
		pfd[0].events = POLLIN;
		for (k = 0; k < ch->npending; k++) {
			pfd[1 + k].fd = ch->pending[k].fd;
			pfd[1 + k].events = POLLIN;
		}
		(void)poll(pfd, (nfds_t)(1 + ch->npending), left > 10000000LL ? 10 :
								     (int)(left / 1000000) + 1);
	}
}

/* ------------------------------------------------------------------ loan, send */

/* Sleep until a consumer hands a slot back, a slice passes, or @deadline. */
static void producer_sleep(struct mv_chan *ch, long long deadline)
{
	struct waitv w[MV_CHAN_MAX_CONSUMERS];
	struct timespec ts;
	long long until = mv_chan_now_ns() + SLICE_NS;
	int n = 0, i;

	if (until > deadline)
		until = deadline;
	/* The words' values before looking once more: a hand-back after this wakes us. */
	for (i = 0; i < MV_CHAN_MAX_CONSUMERS; i++) {
		if (!(ch->active & (1ULL << i)))
			continue;
		w[n].val = __atomic_load_n(&ch->peers[i].mem->ret_futex, __ATOMIC_SEQ_CST);
		w[n].uaddr = (uint64_t)(uintptr_t)&ch->peers[i].mem->ret_futex;
		w[n].flags = FUTEX2_SIZE_U32;
		w[n].reserved = 0;
		n++;
	}
	__atomic_store_n(&ch->hdr->prod_sleeping, ch->armed | CHAN_WAKE_SLEEP, __ATOMIC_SEQ_CST);
	mv_chan_producer_poll(ch, 0);
	if (!ch->nfree) {
		ts.tv_sec = (time_t)(until / 1000000000LL);
		ts.tv_nsec = (long)(until % 1000000000LL);
		if (n == 0 || syscall(__NR_futex_waitv, w, n, 0, &ts, CLOCK_MONOTONIC) < 0) {
			/* No consumer to wait for, or no futex_waitv (before Linux 5.16): nap. */
			struct timespec nap = { 0, 200000 };

			if (n == 0 || errno == ENOSYS)
				nanosleep(&nap, NULL);
		}
	}
	__atomic_store_n(&ch->hdr->prod_sleeping, ch->armed, __ATOMIC_SEQ_CST);
}

/*
 * The pollable handle's arming, on the way out of a call that found nothing (-EAGAIN,
 * -ETIMEDOUT): raise CHAN_WAKE_POLL with a new generation in our own wait word @word, so the
 * other side sends one WAKE at its next publication or hand-back. The caller looks once more
 * afterwards (sequentially consistent on both sides: one of the two sees the other).
 */
static void poll_arm(struct mv_chan *ch, uint32_t *word)
{
	ch->gen = (ch->gen + 1) & (UINT32_MAX >> CHAN_WAKE_GEN_SHIFT);
	if (!ch->gen)
		ch->gen = 1; /* 0 is what the other side starts from */
	ch->armed = (ch->gen << CHAN_WAKE_GEN_SHIFT) | CHAN_WAKE_POLL;
	__atomic_store_n(word, ch->armed, __ATOMIC_SEQ_CST);
}

/* Something was found: the other side need not wake us any more. */
static inline void poll_disarm(struct mv_chan *ch, uint32_t *word)
{
	if (unlikely(ch->armed)) {
		ch->armed = 0;
		__atomic_store_n(word, 0, __ATOMIC_RELAXED);
	}
}

/* Producer, about to say -EAGAIN or -ETIMEDOUT while polled: arm; 1 if a slot came free. */
static int producer_arm(struct mv_chan *ch)
{
	if (ch->pollfd < 0)
		return 0;
	mv_chan_producer_poll(ch, 1); /* reads the WAKEs that made the handle ready */
	if (!ch->nfree) {
		poll_arm(ch, &ch->hdr->prod_sleeping);
		mv_chan_collect(ch);
	}
	return ch->nfree != 0;
}

int mv_chan_loan(mv_view *out, mv_chan *ch, long long timeout_ns)
{
	long long deadline = 0;
	uint32_t slot;
	int spins = 0, rc;

	MV_CHECK_ARG(ch && out, "argument");
	if (!ch->producer)
		return mv_fail(EINVAL, "%s: only the producer loans slots", ch->name);
	while (ch->nfree == 0) {
		/* Every slot loaned here and not sent: no wait could ever end. */
		if (unlikely(ch->nloaned == ch->nslots))
			return mv_fail(EBUSY, "%s: all %u slots are loaned and not yet sent",
				       ch->name, ch->nslots);
		mv_chan_collect(ch); /* hand-backs: memory only, no system call */
		if (ch->nfree)
			break;
		if (timeout_ns == 0) {
			mv_chan_producer_poll(ch, 1);
			if (ch->nfree || producer_arm(ch))
				break;
			return mv_fail(EAGAIN, "%s: every slot is held by consumers", ch->name);
		}
		if (!deadline)
			deadline = timeout_ns < 0 ? LLONG_MAX : mv_chan_now_ns() + timeout_ns;
		if ((++spins & 1023) == 0) {
			/* Now and then: consumers that died holding slots give them back. */
			mv_chan_producer_poll(ch, 1);
			if (ch->nfree)
				break;
			if (mv_chan_now_ns() >= deadline && !producer_arm(ch))
				return mv_fail(ETIMEDOUT, "%s: no slot came free in time", ch->name);
		}
		if (spins < SPIN_ITERS || (ch->flags & MV_CHAN_SPIN)) {
			cpu_relax();
			continue;
		}
		producer_sleep(ch, deadline);
		mv_chan_producer_poll(ch, 1);
		if (!ch->nfree && mv_chan_now_ns() >= deadline && !producer_arm(ch))
			return mv_fail(ETIMEDOUT, "%s: no slot came free in time", ch->name);
	}
	poll_disarm(ch, &ch->hdr->prod_sleeping);
	slot = ch->free_stack[--ch->nfree];
	rc = slot_view(out, ch, slot, ch->typed_len);
	if (rc < 0) {
		ch->free_stack[ch->nfree++] = slot;
		return rc;
	}
	ch->slot_state[slot] = SLOT_LOANED;
	ch->nloaned++;
	return 0;
}

/*
 * Wake consumers that went to sleep waiting for a message (one futex wake wakes them all), and
 * send a WAKE to each polling consumer armed for a generation it has not been woken for. Each
 * word is read once; a consumer that fakes new generations costs us one non-blocking send per
 * message, on its own connection.
 */
static void wake_sleepers(struct mv_chan *ch)
{
	uint64_t left = ch->active;
	int woken = 0;

	while (left) {
		int i = __builtin_ctzll(left);
		uint32_t w;

		left &= left - 1;
		w = __atomic_load_n(&ch->peers[i].mem->sleeping, __ATOMIC_SEQ_CST);
		if (likely(!w))
			continue;
		if ((w & CHAN_WAKE_SLEEP) && !woken) {
			__atomic_fetch_add(&ch->hdr->pub_futex, 1, __ATOMIC_SEQ_CST);
			futex_wake(&ch->hdr->pub_futex);
			woken = 1;
		}
		if ((w & CHAN_WAKE_POLL) && (w >> CHAN_WAKE_GEN_SHIFT) != ch->peers[i].woke_gen) {
			ch->peers[i].woke_gen = w >> CHAN_WAKE_GEN_SHIFT;
			send_wake(ch->peers[i].fd);
		}
	}
}

/*
 * The slot @v views if it is one this producer loaned and has not sent, else UINT32_MAX. The
 * view's family names its exporter; a slot's exporter is an element of ch->slots, so an
 * address check (in range, on an element boundary) finds the slot without trusting anything.
 */
static uint32_t loaned_slot_of(const struct mv_chan *ch, const mv_view *v)
{
	uintptr_t exp = (uintptr_t)mv_view_family_exporter(v), first = (uintptr_t)ch->slots;
	uintptr_t off = exp - first;

	if (exp < first || off / sizeof(struct slot_exp) >= ch->nslots ||
	    off % sizeof(struct slot_exp) != offsetof(struct slot_exp, exp))
		return UINT32_MAX;
	off /= sizeof(struct slot_exp);
	return ch->slot_state[off] == SLOT_LOANED ? (uint32_t)off : UINT32_MAX;
}

int mv_chan_send(mv_chan *ch, mv_view *v, size_t nbytes)
{
	struct slot_exp *se;
	uint64_t seq, *entry;
	uint32_t slot;
	long long now;
	int sole;

	MV_CHECK_ARG(ch && v, "argument");
	if (!ch->producer || !ch->nloaned)
		return mv_fail(EINVAL, "%s: nothing is loaned", ch->name);
	slot = loaned_slot_of(ch, v);
	if (unlikely(slot == UINT32_MAX))
		return mv_fail(EINVAL, "%s: the view is not a loaned slot of this channel", ch->name);
	se = &ch->slots[slot];
	/* The only view of its family, and its family the slot's only one: a view made from the
	 * slot's exporter (mv_view_from(mv_view_obj(loan))) is a family of its own, and would
	 * outlive the publication, writable. */
	sole = mv_view_sole_of(v, &se->exp);
	if (sole > 0 && unlikely(mv_exports_now(&se->exp) != 1))
		sole = 0;
	if (unlikely(sole <= 0))
		return sole < 0 ? mv_fail(EINVAL, "%s: the view is not a loaned slot of this channel",
					  ch->name) :
				  mv_fail(EBUSY, "%s: release the views derived from the loaned "
						 "slot first", ch->name);
	if (unlikely(nbytes > ch->slot_size))
		return mv_fail(EINVAL, "%s: message of %zu bytes is larger than a slot (%zu)",
			       ch->name, nbytes, ch->slot_size);
	ch->nloaned--;
	seq = ch->head++;
	entry = &ch->ring[2 * ch->head_at];
	ch->head_at = chan_ring_next(ch->head_at, ch->nslots);
	ch->stats.sent++;
	if (ch->active) {
		ch->owed[slot] = ch->active;
		ch->slot_state[slot] = SLOT_SENT;
		/* The length shares the entry's cache line: the consumer takes one miss. */
		entry[1] = nbytes;
		/* The entry is the publication: sequence and slot in one word. */
		if (ch->flags & MV_CHAN_SPIN) {
			/* Nobody sleeps on a spinning channel: a release store, no fence. */
			__atomic_store_n(entry, ((seq + 1) << SLOT_BITS) | slot, __ATOMIC_RELEASE);
		} else {
			__atomic_store_n(entry, ((seq + 1) << SLOT_BITS) | slot, __ATOMIC_SEQ_CST);
			wake_sleepers(ch);
		}
	} else {
		mv_chan_slot_free(ch, slot); /* nobody to deliver to: free again at once */
	}
	/*
	 * The loaned view goes after the publication, which it does not delay: only this thread
	 * can run the producer's side, so nothing can loan the slot in between, and the view is
	 * the family's only one (checked), so ending it cannot fail; the slot's release callback
	 * is not called - the slot is the consumers' now, and it would have nothing to do.
	 */
	mv_view_end_sole(v);
	/*
	 * After the publication, so it costs no latency: now and then look for joiners (the only
	 * way the producer hears of them is its own socket). Without consumers, at every send.
	 */
	if (!ch->active || ch->clock_skip <= 1) {
		now = coarse_ns();
		/*
		 * Even the coarse clock costs a message ~7% of its rate (a vDSO read of a line the
		 * timer writes): a producer that sends fast reads it every few sends, up to every
		 * ADMIT_CLOCK_MAX, and one that sends slowly at every send, as before.
		 */
		if (now - ch->clock_ns < ADMIT_EVERY_NS / 8)
			ch->clock_stride = ch->clock_stride < ADMIT_CLOCK_MAX ? 2 * ch->clock_stride + 1 :
										 ADMIT_CLOCK_MAX;
		else
			ch->clock_stride = 1;
		ch->clock_ns = now;
		ch->clock_skip = ch->clock_stride;
		if (now >= ch->next_admit_ns || !ch->active) {
			ch->next_admit_ns = now + ADMIT_EVERY_NS;
			mv_chan_producer_poll(ch, 0);
		}
	} else {
		ch->clock_skip--;
	}
	return 0;
}

/* ------------------------------------------------------------------ receive */

/* Consumer, about to say -EAGAIN or -ETIMEDOUT while polled: arm; 1 if the message came. */
static int consumer_arm(struct mv_chan *ch, const uint64_t *entry, uint64_t want)
{
	if (ch->pollfd < 0)
		return 0;
	poll_arm(ch, &ch->me->sleeping);
	return (__atomic_load_n(entry, __ATOMIC_SEQ_CST) >> SLOT_BITS) == want;
}

int mv_chan_recv(mv_view *out, mv_chan *ch, long long timeout_ns)
{
	uint64_t *entry, e, want;
	long long deadline = 0;
	struct slot_exp *se;
	uint32_t slot, seen;
	size_t nbytes;
	int spins = 0, rc;

	MV_CHECK_ARG(ch && out, "argument");
	if (ch->producer)
		return mv_fail(EINVAL, "%s: the producer does not receive", ch->name);
	entry = &ch->ring[2 * ch->tail_at];
	want = ch->tail + 1;
	for (;;) {
		e = __atomic_load_n(entry, __ATOMIC_ACQUIRE);
		if ((e >> SLOT_BITS) == want)
			break;
		if ((e >> SLOT_BITS) > want)
			return mv_fail(EBADMSG, "%s: message %llu was overwritten (the producer "
						"broke the protocol)", ch->name,
				       (unsigned long long)ch->tail);
		if (timeout_ns == 0) {
			if (mv_chan_producer_gone(ch)) {
				/* It may have published, then gone, since we looked. */
				if ((__atomic_load_n(entry, __ATOMIC_ACQUIRE) >> SLOT_BITS) == want)
					continue;
				return mv_fail(EPIPE, "%s: the producer is gone", ch->name);
			}
			if (consumer_arm(ch, entry, want))
				continue;
			return mv_fail(EAGAIN, "%s: no message", ch->name);
		}
		if (!deadline)
			deadline = timeout_ns < 0 ? LLONG_MAX : mv_chan_now_ns() + timeout_ns;
		if (spins++ < SPIN_ITERS || (ch->flags & MV_CHAN_SPIN)) {
			cpu_relax();
			if ((spins & 4095) == 0) {
				if (mv_chan_producer_gone(ch) &&
				    (__atomic_load_n(entry, __ATOMIC_ACQUIRE) >> SLOT_BITS) != want)
					return mv_fail(EPIPE, "%s: the producer is gone", ch->name);
				if (mv_chan_now_ns() >= deadline && !consumer_arm(ch, entry, want))
					return mv_fail(ETIMEDOUT, "%s: no message in time", ch->name);
			}
			continue;
		}
		/* Sleep: say so in our own memory, then look again, so a send cannot slip by. */
		seen = __atomic_load_n(&ch->hdr->pub_futex, __ATOMIC_SEQ_CST);
		__atomic_store_n(&ch->me->sleeping, ch->armed | CHAN_WAKE_SLEEP, __ATOMIC_SEQ_CST);
		e = __atomic_load_n(entry, __ATOMIC_SEQ_CST);
		if ((e >> SLOT_BITS) != want) {
			long long left = deadline - mv_chan_now_ns();

			if (mv_chan_producer_gone(ch)) {
				__atomic_store_n(&ch->me->sleeping, ch->armed, __ATOMIC_SEQ_CST);
				if ((__atomic_load_n(entry, __ATOMIC_ACQUIRE) >> SLOT_BITS) == want)
					continue;
				return mv_fail(EPIPE, "%s: the producer is gone", ch->name);
			}
			if (left <= 0) {
				__atomic_store_n(&ch->me->sleeping, ch->armed, __ATOMIC_SEQ_CST);
				if (consumer_arm(ch, entry, want))
					continue;
				return mv_fail(ETIMEDOUT, "%s: no message in time", ch->name);
			}
			futex_wait(&ch->hdr->pub_futex, seen, left < SLICE_NS ? left : SLICE_NS);
		}
		__atomic_store_n(&ch->me->sleeping, ch->armed, __ATOMIC_SEQ_CST);
	}
	slot = (uint32_t)(e & ((1u << SLOT_BITS) - 1));
	if (slot >= ch->nslots)
		return mv_fail(EBADMSG, "%s: the producer published slot %u of %u", ch->name, slot,
			       ch->nslots);
	se = &ch->slots[slot];
	if (mv_exports_now(&se->exp) != 0)
		return mv_fail(EBADMSG, "%s: the producer republished slot %u we still hold",
			       ch->name, slot);
	nbytes = (size_t)__atomic_load_n(&entry[1], __ATOMIC_RELAXED);
	rc = slot_view(out, ch, slot, nbytes > ch->slot_size ? ch->slot_size : nbytes);
	if (rc < 0)
		return rc;
	ch->tail++;
	ch->tail_at = chan_ring_next(ch->tail_at, ch->nslots);
	ch->stats.received++;
	poll_disarm(ch, &ch->me->sleeping);
	return 0;
}

/* ------------------------------------------------------------------ the pollable handle */

int mv_chan_fd(int *out, mv_chan *ch)
{
	MV_CHECK_ARG(out && ch, "argument");
	if (ch->flags & MV_CHAN_SPIN)
		return mv_fail(EOPNOTSUPP, "%s: a spinning channel's waiters never sleep, so nothing "
					   "would make a descriptor ready: poll with timeout 0, or "
					   "make the channel without MV_CHAN_SPIN", ch->name);
	if (ch->pollfd >= 0) {
		*out = ch->pollfd;
		return 0;
	}
	if (!ch->producer) {
		if (!ch->peer_wakes)
			return mv_fail(EOPNOTSUPP, "%s: the producer's library predates pollable "
						   "channels (MEMVIEW_1.1)", ch->name);
		/* The connection: WAKEs and the producer's end of file arrive on it. */
		ch->pollfd = ch->sock;
	} else {
		int i;

		ch->pollfd = epoll_create1(EPOLL_CLOEXEC);
		if (ch->pollfd < 0)
			return mv_fail(errno, "%s: cannot make the channel's epoll set: %s", ch->name,
				       strerror(errno));
		/* Every consumer's connection: WAKEs, LEAVEs and deaths (slots come back). */
		for (i = 0; i < MV_CHAN_MAX_CONSUMERS; i++)
			if (ch->active & (1ULL << i))
				mv_chan_poll_watch(ch, i);
	}
	*out = ch->pollfd;
	return 0;
}

/* ------------------------------------------------------------------ close, stats */

int mv_chan_close(mv_chan *ch)
{
	uint32_t i;

	if (!ch)
		return 0;
	for (i = 0; i < ch->nslots; i++)
		if (mv_exporter_exports(&ch->slots[i].exp) > 0)
			return mv_fail(EBUSY, "%s: views of slot %u are alive: release them first",
				       ch->name, i);
	if (ch->producer && ch->hdr) {
		/* Consumers see it in our memory, and their connections close with ours. */
		__atomic_store_n(&ch->hdr->closed, 1, __ATOMIC_RELEASE);
		__atomic_fetch_add(&ch->hdr->pub_futex, 1, __ATOMIC_SEQ_CST);
		futex_wake(&ch->hdr->pub_futex);
	} else if (!ch->producer && ch->cons_index >= 0 && !ch->gone) {
		/* Leaving, not dying: the producer counts no reclaim (best effort). */
		struct chan_wire m = { CHAN_WIRE_MAGIC, CHAN_WIRE_VERSION, WIRE_LEAVE, 0, 0, 0, "" };

		(void)mv_chan_wire_send(ch->sock, &m, -1);
	}
	chan_free(ch);
	return 0;
}

int mv_chan_get_stats(mv_chan_stats *out, mv_chan *ch)
{
	size_t size;

	MV_CHECK_SIZED(out, mv_chan_stats, MV_CHAN_STATS_INIT);
	MV_CHECK_ARG(ch, "ch");
	if (ch->producer) {
		mv_chan_producer_poll(ch, 1);
		ch->stats.free_slots = ch->nfree;
	}
	size = out->size;
	*out = ch->stats;
	out->size = size;
	return 0;
}

int mv_chan_get_info(mv_chan_info *out, mv_chan *ch)
{
	mv_chan_info info = MV_CHAN_INFO_INIT;
	size_t size;
	int i;

	MV_CHECK_SIZED(out, mv_chan_info, MV_CHAN_INFO_INIT);
	MV_CHECK_ARG(ch, "ch");
	info.slot_size = ch->slot_size;
	info.nslots = ch->nslots;
	info.flags = ch->flags & MV_CHAN_SPIN;
	memcpy(info.format, ch->format, sizeof(info.format));
	info.ndim = ch->ndim;
	for (i = 0; i < (ch->ndim > 0 ? ch->ndim : 0); i++)
		info.shape[i] = ch->shape[i];
	info.producer = ch->producer;
	size = out->size < sizeof(info) ? out->size : sizeof(info);
	memcpy(out, &info, size);
	out->size = size;
	return 0;
}
