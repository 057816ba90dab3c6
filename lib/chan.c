/*
 * lib/chan.c - zero-copy handoff between processes: a ring of slots in a data segment, and a
 * control segment with the ring of published slot ids, one return queue per consumer, futex
 * words and liveness locks.
 *
 * Memory: the data segment is mapped writable by the producer only; consumers open it readonly,
 * so the kernel stops them writing a message. The control segment is writable by everyone and
 * so untrusted by everyone: the producer keeps who owes which slot in its private memory and
 * checks every id handed back; consumers check every published id against the slot count.
 *
 * Hot path (one message, spinning): the producer writes one ring entry (sequence number and slot
 * id in one 64-bit word, so the entry is the publication) and reads the sleepers word; the
 * consumer spins on that ring entry. One cache line moves per message; the hand-back goes
 * through the consumer's own return queue and is read by the producer only when it needs slots.
 *
 * Liveness: every participant holds an open-file-description write lock on its own byte of the
 * control object (producer byte 1, consumer i byte 2 + i). The kernel drops it when the process
 * dies, so a dead participant is recognised without trusting anything it wrote.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "internal.h"
#include "chan_layout.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "memview/chan.h"
#include "memview/segment.h"

#define SPIN_ITERS 4000
#define CREATE_GRACE_NS 2000000000LL /* how long a join waits for a create in progress */
#define SLICE_NS 20000000LL /* sleep at most this long before re-checking liveness */

static const mv_exporter_ops slot_ops;
static void slot_free(struct mv_chan *ch, uint32_t slot);

/* ------------------------------------------------------------------ helpers */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void futex_wait(uint32_t *word, uint32_t val, long long ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };

	syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* 1 if someone holds the liveness lock on @byte. */
static int holder_alive(struct mv_chan *ch, int byte)
{
	return mv_ofd_test(mv_segment_fd(ch->ctl_seg), byte, F_WRLCK) == 1;
}

static struct ctl_consumer *consumer(struct mv_chan *ch, int i)
{
	return (struct ctl_consumer *)(ch->cons_base + (size_t)i * ch->cons_stride);
}

static uint32_t *ret_queue(struct ctl_consumer *c)
{
	return (uint32_t *)(c + 1);
}

static size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) / a * a;
}

/* Lay out the control memory for @nslots; returns its total size. */
static size_t ctl_layout(struct mv_chan *ch, uint32_t nslots)
{
	size_t off = sizeof(struct ctl_fixed);
	size_t ring_off = off;

	/* The ring: per entry the publication word and the message length, side by side. */
	off = align_up(off + 2 * nslots * sizeof(uint64_t), CL);
	ch->cons_stride = align_up(sizeof(struct ctl_consumer) + nslots * sizeof(uint32_t), CL);
	if (ch->ctl) {
		ch->fx = (struct ctl_fixed *)ch->ctl;
		ch->ring = (uint64_t *)(ch->ctl + ring_off);
		ch->cons_base = ch->ctl + off;
	}
	return off + MV_CHAN_MAX_CONSUMERS * ch->cons_stride;
}

static int data_name(char *buf, size_t cap, const char *name)
{
	if (snprintf(buf, cap, "%s.data", name) >= (int)cap)
		return mv_fail(EINVAL, "channel name is too long");
	return 0;
}

static void chan_free(struct mv_chan *ch)
{
	if (!ch)
		return;
	mv_buffer_release(&ch->data_hold);
	mv_segment_close(ch->data_seg);
	mv_segment_close(ch->ctl_seg);
	free(ch->slots);
	free(ch->slot_state);
	free(ch->owed);
	free(ch->free_stack);
	free(ch);
}

/* Map the data segment's slots through one long-lived export and set up slot exporters. */
static int chan_setup(struct mv_chan *ch)
{
	uint32_t i;
	int rc;

	rc = mv_buffer_get(&ch->data_hold, mv_segment_exporter(ch->data_seg), MV_BUF_SIMPLE);
	if (rc < 0)
		return rc;
	if ((size_t)ch->data_hold.len < (size_t)ch->nslots * ch->slot_size)
		return mv_fail(EBADMSG, "%s: data segment is smaller than its slots", ch->name);
	ch->data = ch->data_hold.buf;
	ch->slots = calloc(ch->nslots, sizeof(*ch->slots));
	if (!ch->slots)
		return mv_fail(ENOMEM, "cannot allocate slot exporters");
	for (i = 0; i < ch->nslots; i++) {
		ch->slots[i].exp.ops = &slot_ops;
		ch->slots[i].ch = ch;
		ch->slots[i].slot = i;
	}
	return 0;
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

/* A consumer's view of a slot is gone: hand the slot back. */
static void slot_release(mv_exporter *self, mv_buffer *buf)
{
	struct slot_exp *se = (struct slot_exp *)self;
	struct mv_chan *ch = se->ch;
	struct ctl_consumer *c;
	uint64_t h;

	if (mv_exporter_exports(self) != 1)
		return; /* only the family's last export hands the slot on */
	if (ch->producer) {
		/* A loan released without being sent goes back to the free slots. */
		if (!ch->sending && ch->loaned == (int)se->slot) {
			ch->loaned = -1;
			slot_free(ch, se->slot);
		}
		return;
	}
	c = consumer(ch, ch->cons_index);
	h = __atomic_load_n(&c->ret_head, __ATOMIC_RELAXED);
	ret_queue(c)[h % ch->nslots] = se->slot;
	if (ch->flags & MV_CHAN_SPIN) { /* the producer of a spinning channel never sleeps */
		__atomic_store_n(&c->ret_head, h + 1, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&c->ret_head, h + 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ch->fx->prod_sleeping, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&ch->fx->ret_futex, 1, __ATOMIC_SEQ_CST);
		futex_wake(&ch->fx->ret_futex);
	}
}

static const mv_exporter_ops slot_ops = {
	.size = sizeof(mv_exporter_ops),
	.name = "channel slot",
	.get = slot_get,
	.release = slot_release,
	.flags = MV_EXPORTER_UNHASHABLE,
};

/* ------------------------------------------------------------------ create, join */

int mv_chan_create(mv_chan **out, const char *name, const mv_chan_opts *opts)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_segment_opts so = MV_SEGMENT_OPTS_INIT;
	char dname[300];
	struct mv_chan *ch;
	ssize_t need;
	size_t ctl_size;
	uint32_t i;
	int rc;

	MV_CHECK_ARG(out, "out");
	if (opts) {
		MV_CHECK_SIZED(opts, mv_chan_opts, MV_CHAN_OPTS_INIT);
		o = *opts;
	}
	if (o.flags & ~MV_CHAN_SPIN)
		return mv_fail(EINVAL, "unknown channel flags 0x%x", o.flags);
	if (o.nslots < 1 || o.nslots > MAX_SLOTS)
		return mv_fail(EINVAL, "a channel has 1 to %u slots, not %u", MAX_SLOTS, o.nslots);
	if (o.slot_size < 1 || o.slot_size > ((size_t)1 << 40))
		return mv_fail(EINVAL, "slot size %zu is out of range", o.slot_size);
	if (o.ndim > 8)
		return mv_fail(EINVAL, "a channel slot has at most 8 dimensions");
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return mv_fail(ENOMEM, "cannot allocate a channel");
	ch->producer = 1;
	ch->cons_index = -1;
	ch->loaned = -1;
	ch->flags = o.flags;
	ch->nslots = o.nslots;
	ch->slot_size = align_up(o.slot_size, CL);
	snprintf(ch->name, sizeof(ch->name), "%s", name ? name : "");
	snprintf(ch->format, sizeof(ch->format), "%s", o.format ? o.format : "B");
	rc = mv_format_parse(&ch->fmt, ch->format);
	if (rc < 0)
		goto fail;
	ch->ndim = o.ndim < 0 ? -1 : o.ndim;
	need = ch->fmt.itemsize;
	for (i = 0; i < (uint32_t)(ch->ndim > 0 ? ch->ndim : 0); i++) {
		if (!o.shape || o.shape[i] <= 0 || !mv_mul_ok(need, o.shape[i], &need)) {
			rc = mv_fail(EINVAL, "channel slot shape entry %u is invalid", i);
			goto fail;
		}
		ch->shape[i] = o.shape[i];
	}
	ch->typed_len = ch->ndim < 0 ? ch->slot_size / ch->fmt.itemsize * ch->fmt.itemsize :
				       (size_t)need;
	if ((size_t)need > o.slot_size) {
		rc = mv_fail(EINVAL, "slot shape needs %zd bytes, slots have %zu", need, o.slot_size);
		goto fail;
	}
	rc = data_name(dname, sizeof(dname), ch->name);
	if (rc < 0)
		goto fail;
	ctl_size = ctl_layout(ch, ch->nslots);
	so.mode = o.mode;
	rc = mv_segment_create(&ch->ctl_seg, name, ctl_size, &so);
	if (rc < 0)
		goto fail;
	rc = mv_segment_create(&ch->data_seg, dname, (size_t)ch->nslots * ch->slot_size, &so);
	if (rc < 0) {
		mv_segment_unlink(name, MV_SEGMENT_FORCE);
		goto fail;
	}
	ch->ctl = mv_segment_data(ch->ctl_seg);
	ctl_layout(ch, ch->nslots);
	rc = chan_setup(ch);
	if (rc < 0)
		goto fail_unlink;
	ch->slot_state = calloc(ch->nslots, 1);
	ch->owed = calloc(ch->nslots, sizeof(uint64_t));
	ch->free_stack = malloc(ch->nslots * sizeof(uint32_t));
	if (!ch->slot_state || !ch->owed || !ch->free_stack) {
		rc = mv_fail(ENOMEM, "cannot allocate the producer's slot table");
		goto fail_unlink;
	}
	for (i = 0; i < ch->nslots; i++)
		ch->free_stack[i] = ch->nslots - 1 - i;
	ch->nfree = ch->nslots;
	rc = mv_ofd_lock(mv_segment_fd(ch->ctl_seg), 1, F_WRLCK);
	if (rc < 0) {
		rc = mv_fail(-rc, "%s: cannot take the producer lock: %s", name, strerror(-rc));
		goto fail_unlink;
	}
	ch->fx->nslots = ch->nslots;
	ch->fx->slot_size = ch->slot_size;
	ch->fx->flags = ch->flags;
	ch->fx->ndim = ch->ndim;
	memcpy(ch->fx->format, ch->format, sizeof(ch->format));
	for (i = 0; i < 8; i++)
		ch->fx->shape[i] = ch->shape[i];
	ch->fx->prod_pid = getpid();
	for (i = 0; i < ch->nslots; i++)
		ch->ring[2 * i] = 0;
	__atomic_store_n(&ch->fx->magic, CHAN_MAGIC, __ATOMIC_RELEASE);
	*out = ch;
	return 0;
fail_unlink:
	mv_segment_unlink(dname, MV_SEGMENT_FORCE);
	mv_segment_unlink(name, MV_SEGMENT_FORCE);
fail:
	chan_free(ch);
	return rc;
}

/* Check the static part a producer wrote before trusting any of it. */
static int check_fixed(struct mv_chan *ch, size_t ctl_size)
{
	struct ctl_fixed *fx = (struct ctl_fixed *)ch->ctl;
	size_t need;
	uint32_t i;

	if (ctl_size < sizeof(*fx) || __atomic_load_n(&fx->magic, __ATOMIC_ACQUIRE) != CHAN_MAGIC)
		return mv_fail(EBADMSG, "%s: not a memview channel (bad magic)", ch->name);
	ch->nslots = fx->nslots;
	ch->slot_size = (size_t)fx->slot_size;
	ch->flags = fx->flags & MV_CHAN_SPIN;
	ch->ndim = fx->ndim;
	if (ch->nslots < 1 || ch->nslots > MAX_SLOTS || ch->slot_size < 1 || ch->slot_size % CL ||
	    ch->ndim < -1 || ch->ndim > 8)
		return mv_fail(EBADMSG, "%s: channel header is invalid", ch->name);
	need = ctl_layout(ch, ch->nslots);
	if (need > ctl_size)
		return mv_fail(EBADMSG, "%s: control segment is too small for %u slots", ch->name,
			       ch->nslots);
	memcpy(ch->format, fx->format, sizeof(ch->format));
	ch->format[sizeof(ch->format) - 1] = '\0';
	if (mv_format_parse(&ch->fmt, ch->format) < 0)
		return mv_fail(EBADMSG, "%s: channel format is invalid", ch->name);
	need = ch->fmt.itemsize;
	for (i = 0; i < (uint32_t)(ch->ndim > 0 ? ch->ndim : 0); i++) {
		ssize_t n = (ssize_t)need;

		if (fx->shape[i] <= 0 || !mv_mul_ok(n, (ssize_t)fx->shape[i], &n))
			return mv_fail(EBADMSG, "%s: channel shape is invalid", ch->name);
		need = (size_t)n;
		ch->shape[i] = (ssize_t)fx->shape[i];
	}
	if (ch->ndim >= 0 && need > ch->slot_size)
		return mv_fail(EBADMSG, "%s: channel shape is larger than a slot", ch->name);
	ch->typed_len = ch->ndim < 0 ? ch->slot_size / ch->fmt.itemsize * ch->fmt.itemsize : need;
	return 0;
}

/* Open both segments and check the control header, once. */
static int open_segments(struct mv_chan *ch, const char *name, const char *dname)
{
	mv_segment_opts ro = MV_SEGMENT_OPTS_INIT;
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	int rc;

	rc = mv_segment_open(&ch->ctl_seg, name, NULL);
	if (rc < 0)
		return rc;
	mv_segment_get_info(&info, ch->ctl_seg);
	ch->ctl = mv_segment_data(ch->ctl_seg);
	rc = check_fixed(ch, info.data_size);
	if (rc < 0)
		return rc;
	ro.flags = MV_SEGMENT_READONLY;
	return mv_segment_open(&ch->data_seg, dname, &ro);
}

/*
 * Open a channel whose producer may still be inside mv_chan_create(): the control segment's
 * name appears before its header, its header before the data segment, and the channel magic
 * last. Those states (a header or magic not written yet, no data segment yet) are retried for
 * at most CREATE_GRACE_NS within the caller's timeout; a channel that stays that way is
 * reported as it is. A control segment that does not exist at all is reported at once.
 */
static int open_created(struct mv_chan *ch, const char *name, const char *dname,
			long long deadline)
{
	long long until = now_ns() + CREATE_GRACE_NS;
	int rc;

	if (deadline < until)
		until = deadline;
	for (;;) {
		rc = open_segments(ch, name, dname);
		if (rc >= 0 || (rc != -EBADMSG && !(rc == -ENOENT && ch->ctl_seg)) ||
		    now_ns() >= until)
			return rc;
		mv_segment_close(ch->data_seg);
		mv_segment_close(ch->ctl_seg);
		ch->data_seg = ch->ctl_seg = NULL;
		ch->ctl = NULL;
		usleep(500);
	}
}

int mv_chan_join(mv_chan **out, const char *name, long long timeout_ns)
{
	struct mv_chan *ch;
	struct ctl_consumer *c;
	char dname[300];
	long long deadline;
	int i, rc;

	MV_CHECK_ARG(out, "out");
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return mv_fail(ENOMEM, "cannot allocate a channel");
	ch->cons_index = -1;
	ch->loaned = -1;
	snprintf(ch->name, sizeof(ch->name), "%s", name ? name : "");
	rc = data_name(dname, sizeof(dname), ch->name);
	if (rc < 0)
		goto fail;
	deadline = timeout_ns < 0 ? LLONG_MAX : now_ns() + timeout_ns;
	rc = open_created(ch, name, dname, deadline);
	if (rc < 0)
		goto fail;
	rc = chan_setup(ch);
	if (rc < 0)
		goto fail;
	if (!holder_alive(ch, 1) || __atomic_load_n(&ch->fx->closed, __ATOMIC_ACQUIRE)) {
		rc = mv_fail(EPIPE, "%s: the producer is gone", ch->name);
		goto fail;
	}
	/*
	 * Hold a free place's liveness lock, then claim the place: the producer must never see a
	 * claimed place whose holder is not (yet) locked, or it admits it and takes it for dead.
	 */
	for (i = 0; i < MV_CHAN_MAX_CONSUMERS; i++) {
		uint32_t st = CONS_FREE;

		c = consumer(ch, i);
		if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CONS_FREE)
			continue;
		rc = mv_ofd_lock(mv_segment_fd(ch->ctl_seg), 2 + i, F_WRLCK);
		if (rc == -EBUSY)
			continue; /* a live process still holds it (leaving, or joining) */
		if (rc < 0) {
			rc = mv_fail(-rc, "%s: cannot take a consumer lock: %s", ch->name,
				     strerror(-rc));
			goto fail;
		}
		if (__atomic_compare_exchange_n(&c->state, &st, CONS_JOINING, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			break;
		mv_ofd_lock(mv_segment_fd(ch->ctl_seg), 2 + i, F_UNLCK);
	}
	if (i == MV_CHAN_MAX_CONSUMERS) {
		rc = mv_fail(EBUSY, "%s: all %d consumer places are taken", ch->name,
			     MV_CHAN_MAX_CONSUMERS);
		goto fail;
	}
	ch->cons_index = i;
	c->pid = getpid();
	__atomic_fetch_add(&ch->fx->joining, 1, __ATOMIC_SEQ_CST);
	/* The producer admits us (sets our start and the return queue) at its next call. */
	while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CONS_ACTIVE) {
		/* A producer that admitted us and then exited still owes us what it sent. */
		if (!holder_alive(ch, 1) &&
		    __atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CONS_ACTIVE) {
			rc = mv_fail(EPIPE, "%s: the producer died", ch->name);
			goto fail_leave;
		}
		if (now_ns() >= deadline) {
			rc = mv_fail(ETIMEDOUT, "%s: the producer did not admit us in time", ch->name);
			goto fail_leave;
		}
		usleep(200);
	}
	ch->tail = __atomic_load_n(&c->start, __ATOMIC_ACQUIRE);
	*out = ch;
	return 0;
fail_leave:
	__atomic_store_n(&c->state, CONS_LEFT, __ATOMIC_RELEASE);
fail:
	chan_free(ch);
	return rc;
}

/* ------------------------------------------------------------------ producer bookkeeping */

static void slot_free(struct mv_chan *ch, uint32_t slot)
{
	ch->slot_state[slot] = SLOT_FREE;
	ch->free_stack[ch->nfree++] = slot;
}

/* Consumer @i is gone: nothing it held is owed any more. */
static void forget_consumer(struct mv_chan *ch, int i)
{
	uint64_t bit = 1ULL << i;
	uint32_t s;

	ch->active &= ~bit;
	for (s = 0; s < ch->nslots; s++) {
		if (ch->slot_state[s] == SLOT_SENT && (ch->owed[s] & bit)) {
			ch->owed[s] &= ~bit;
			if (!ch->owed[s])
				slot_free(ch, s);
		}
	}
	__atomic_store_n(&consumer(ch, i)->state, CONS_FREE, __ATOMIC_RELEASE);
}

/* Admit joiners, take back returned slots, reclaim dead consumers. */
static void producer_poll(struct mv_chan *ch, int check_liveness)
{
	int i;

	ch->joins_seen = __atomic_load_n(&ch->fx->joining, __ATOMIC_ACQUIRE);
	for (i = 0; i < MV_CHAN_MAX_CONSUMERS; i++) {
		struct ctl_consumer *c = consumer(ch, i);
		uint32_t st = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
		uint64_t bit = 1ULL << i, h, t;

		if (st == CONS_JOINING && !(ch->active & bit)) {
			c->start = ch->head;
			c->ret_head = 0;
			c->ret_tail = 0;
			ch->active |= bit;
			ch->stats.consumers++;
			__atomic_store_n(&c->state, CONS_ACTIVE, __ATOMIC_RELEASE);
			continue;
		}
		if (!(ch->active & bit))
			continue;
		/* Hand-backs: every id is checked against what this consumer owes. */
		h = __atomic_load_n(&c->ret_head, __ATOMIC_ACQUIRE);
		t = c->ret_tail;
		if (h - t > ch->nslots) { /* a lying queue: take nothing from it */
			ch->stats.bad_returns++;
			t = h;
		}
		for (; t < h; t++) {
			uint32_t s = ret_queue(c)[t % ch->nslots];

			if (s >= ch->nslots || ch->slot_state[s] != SLOT_SENT || !(ch->owed[s] & bit)) {
				ch->stats.bad_returns++;
				continue;
			}
			ch->owed[s] &= ~bit;
			if (!ch->owed[s])
				slot_free(ch, s);
		}
		__atomic_store_n(&c->ret_tail, t, __ATOMIC_RELEASE);
		if (st == CONS_LEFT || (check_liveness && !holder_alive(ch, 2 + i))) {
			if (st != CONS_LEFT)
				ch->stats.reclaimed++;
			forget_consumer(ch, i);
			ch->stats.consumers--;
		}
	}
}

int mv_chan_wait_consumers(mv_chan *ch, unsigned n, long long timeout_ns)
{
	long long deadline;

	MV_CHECK_ARG(ch && ch->producer, "ch (a producer)");
	deadline = timeout_ns < 0 ? LLONG_MAX : now_ns() + timeout_ns;
	for (;;) {
		producer_poll(ch, 1);
		if (__builtin_popcountll(ch->active) >= (int)n)
			return __builtin_popcountll(ch->active);
		if (now_ns() >= deadline)
			return mv_fail(ETIMEDOUT, "%s: %d of %u consumers joined in time", ch->name,
				       __builtin_popcountll(ch->active), n);
		usleep(200);
	}
}

/* ------------------------------------------------------------------ loan, send */

int mv_chan_loan(mv_view *out, mv_chan *ch, long long timeout_ns)
{
	long long deadline = 0;
	struct slot_exp *se;
	uint32_t slot, seen;
	int spins = 0, rc;

	MV_CHECK_ARG(ch && out, "argument");
	if (!ch->producer)
		return mv_fail(EINVAL, "%s: only the producer loans slots", ch->name);
	if (ch->loaned >= 0)
		return mv_fail(EBUSY, "%s: slot %d is loaned and not yet sent", ch->name, ch->loaned);
	while (ch->nfree == 0) {
		producer_poll(ch, spins > SPIN_ITERS);
		if (ch->nfree)
			break;
		if (timeout_ns == 0)
			return mv_fail(EAGAIN, "%s: every slot is held by consumers", ch->name);
		if (!deadline)
			deadline = timeout_ns < 0 ? LLONG_MAX : now_ns() + timeout_ns;
		if (spins++ < SPIN_ITERS || (ch->flags & MV_CHAN_SPIN)) {
			cpu_relax();
			if ((spins & 1023) == 0 && now_ns() >= deadline)
				return mv_fail(ETIMEDOUT, "%s: no slot came free in time", ch->name);
			continue;
		}
		/* Sleep until a consumer hands a slot back (or a slice passes: liveness). */
		seen = __atomic_load_n(&ch->fx->ret_futex, __ATOMIC_SEQ_CST);
		__atomic_store_n(&ch->fx->prod_sleeping, 1, __ATOMIC_SEQ_CST);
		producer_poll(ch, 1);
		if (!ch->nfree) {
			long long left = deadline - now_ns();

			if (left <= 0) {
				__atomic_store_n(&ch->fx->prod_sleeping, 0, __ATOMIC_SEQ_CST);
				return mv_fail(ETIMEDOUT, "%s: no slot came free in time", ch->name);
			}
			futex_wait(&ch->fx->ret_futex, seen, left < SLICE_NS ? left : SLICE_NS);
		}
		__atomic_store_n(&ch->fx->prod_sleeping, 0, __ATOMIC_SEQ_CST);
	}
	slot = ch->free_stack[--ch->nfree];
	se = &ch->slots[slot];
	se->nbytes = ch->typed_len;
	rc = mv_view_from(out, &se->exp, MV_BUF_FULL);
	if (rc < 0) {
		ch->free_stack[ch->nfree++] = slot;
		return rc;
	}
	ch->slot_state[slot] = SLOT_LOANED;
	ch->loaned = (int)slot;
	return 0;
}

int mv_chan_send(mv_chan *ch, mv_view *v, size_t nbytes)
{
	struct slot_exp *se;
	uint32_t slot;
	uint64_t seq;

	MV_CHECK_ARG(ch && v, "argument");
	if (!ch->producer || ch->loaned < 0)
		return mv_fail(EINVAL, "%s: nothing is loaned", ch->name);
	slot = (uint32_t)ch->loaned;
	se = &ch->slots[slot];
	if (mv_view_released(v) || mv_view_obj(v) != &se->exp)
		return mv_fail(EINVAL, "%s: the view is not the loaned slot", ch->name);
	if (!mv_view_sole(v))
		return mv_fail(EBUSY, "%s: release the views derived from the loaned slot first",
			       ch->name);
	if (nbytes > ch->slot_size)
		return mv_fail(EINVAL, "%s: message of %zu bytes is larger than a slot (%zu)",
			       ch->name, nbytes, ch->slot_size);
	ch->sending = 1;
	mv_view_release(v);
	ch->sending = 0;
	ch->loaned = -1;
	/* Admit a joiner before publishing; hand-backs are collected when slots run out. */
	if (__atomic_load_n(&ch->fx->joining, __ATOMIC_ACQUIRE) != ch->joins_seen)
		producer_poll(ch, 0);
	if (!ch->active) { /* nobody to deliver to: the slot is free again at once */
		slot_free(ch, slot);
		ch->head++;
		ch->stats.sent++;
		return 0;
	}
	seq = ch->head++;
	ch->owed[slot] = ch->active;
	ch->slot_state[slot] = SLOT_SENT;
	/* The length shares the entry's cache line: the consumer takes one miss, not two. */
	ch->ring[2 * (seq % ch->nslots) + 1] = nbytes;
	/* The entry is the publication: sequence and slot in one word. */
	if (ch->flags & MV_CHAN_SPIN) {
		/*
		 * Nobody sleeps on a spinning channel: a release store publishes, and no
		 * StoreLoad fence makes the producer wait for the consumer's cache lines.
		 */
		__atomic_store_n(&ch->ring[2 * (seq % ch->nslots)],
				 ((seq + 1) << SLOT_BITS) | slot, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&ch->ring[2 * (seq % ch->nslots)],
				 ((seq + 1) << SLOT_BITS) | slot, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&ch->fx->sleepers, __ATOMIC_SEQ_CST)) {
			__atomic_fetch_add(&ch->fx->pub_futex, 1, __ATOMIC_SEQ_CST);
			futex_wake(&ch->fx->pub_futex);
		}
	}
	ch->stats.sent++;
	return 0;
}

/* ------------------------------------------------------------------ receive */

static int producer_gone(struct mv_chan *ch)
{
	return __atomic_load_n(&ch->fx->closed, __ATOMIC_ACQUIRE) || !holder_alive(ch, 1);
}

int mv_chan_recv(mv_view *out, mv_chan *ch, long long timeout_ns)
{
	uint64_t *entry, e, want;
	long long deadline = 0;
	struct slot_exp *se;
	uint32_t slot, seen;
	int spins = 0, rc;

	MV_CHECK_ARG(ch && out, "argument");
	if (ch->producer)
		return mv_fail(EINVAL, "%s: the producer does not receive", ch->name);
	entry = &ch->ring[2 * (ch->tail % ch->nslots)];
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
			if (producer_gone(ch)) {
				/* It may have published, then gone, since we looked. */
				if ((__atomic_load_n(entry, __ATOMIC_ACQUIRE) >> SLOT_BITS) == want)
					continue;
				return mv_fail(EPIPE, "%s: the producer is gone", ch->name);
			}
			return mv_fail(EAGAIN, "%s: no message", ch->name);
		}
		if (!deadline)
			deadline = timeout_ns < 0 ? LLONG_MAX : now_ns() + timeout_ns;
		if (spins++ < SPIN_ITERS || (ch->flags & MV_CHAN_SPIN)) {
			cpu_relax();
			if ((spins & 4095) == 0) {
				if (producer_gone(ch) &&
				    (__atomic_load_n(entry, __ATOMIC_ACQUIRE) >> SLOT_BITS) != want)
					return mv_fail(EPIPE, "%s: the producer is gone", ch->name);
				if (now_ns() >= deadline)
					return mv_fail(ETIMEDOUT, "%s: no message in time", ch->name);
			}
			continue;
		}
		/* Sleep: announce ourselves, then re-check, so a send cannot slip between. */
		seen = __atomic_load_n(&ch->fx->pub_futex, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&ch->fx->sleepers, 1, __ATOMIC_SEQ_CST);
		e = __atomic_load_n(entry, __ATOMIC_SEQ_CST);
		if ((e >> SLOT_BITS) != want) {
			long long left = deadline - now_ns();

			if (producer_gone(ch)) {
				__atomic_fetch_sub(&ch->fx->sleepers, 1, __ATOMIC_SEQ_CST);
				if ((__atomic_load_n(entry, __ATOMIC_ACQUIRE) >> SLOT_BITS) == want)
					continue;
				return mv_fail(EPIPE, "%s: the producer is gone", ch->name);
			}
			if (left <= 0) {
				__atomic_fetch_sub(&ch->fx->sleepers, 1, __ATOMIC_SEQ_CST);
				return mv_fail(ETIMEDOUT, "%s: no message in time", ch->name);
			}
			futex_wait(&ch->fx->pub_futex, seen, left < SLICE_NS ? left : SLICE_NS);
		}
		__atomic_fetch_sub(&ch->fx->sleepers, 1, __ATOMIC_SEQ_CST);
	}
	slot = (uint32_t)(e & ((1u << SLOT_BITS) - 1));
	if (slot >= ch->nslots)
		return mv_fail(EBADMSG, "%s: the producer published slot %u of %u", ch->name, slot,
			       ch->nslots);
	se = &ch->slots[slot];
	if (__atomic_load_n(&se->exp.exports, __ATOMIC_ACQUIRE) != 0)
		return mv_fail(EBADMSG, "%s: the producer republished slot %u we still hold",
			       ch->name, slot);
	se->nbytes = (size_t)__atomic_load_n(&entry[1], __ATOMIC_RELAXED);
	if (se->nbytes > ch->slot_size)
		se->nbytes = ch->slot_size;
	rc = mv_view_from(out, &se->exp, 0);
	if (rc < 0)
		return rc;
	ch->tail++;
	ch->stats.received++;
	return 0;
}

/* ------------------------------------------------------------------ close, stats */

int mv_chan_close(mv_chan *ch)
{
	uint32_t i;
	char dname[300];

	if (!ch)
		return 0;
	for (i = 0; i < ch->nslots; i++)
		if (mv_exporter_exports(&ch->slots[i].exp) > 0)
			return mv_fail(EBUSY, "%s: views of slot %u are alive: release them first",
				       ch->name, i);
	if (ch->producer) {
		__atomic_store_n(&ch->fx->closed, 1, __ATOMIC_RELEASE);
		__atomic_fetch_add(&ch->fx->pub_futex, 1, __ATOMIC_SEQ_CST);
		futex_wake(&ch->fx->pub_futex);
		/* Consumers keep their mappings; the names go now. */
		if (data_name(dname, sizeof(dname), ch->name) == 0)
			mv_segment_unlink(dname, MV_SEGMENT_FORCE);
		mv_segment_unlink(ch->name, MV_SEGMENT_FORCE);
	} else if (ch->cons_index >= 0) {
		__atomic_store_n(&consumer(ch, ch->cons_index)->state, CONS_LEFT, __ATOMIC_RELEASE);
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
		producer_poll(ch, 1);
		ch->stats.free_slots = ch->nfree;
	}
	size = out->size;
	*out = ch->stats;
	out->size = size;
	return 0;
}
