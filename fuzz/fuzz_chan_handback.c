/*
 * fuzz/fuzz_chan_handback.c - libFuzzer target: slot ids a lying consumer hands back.
 *
 * Each input makes a fresh channel in this process: a producer, an honest consumer and a liar
 * (both joined from a thread, then driven from this one). The liar writes whatever the input
 * says into the only channel memory a consumer can write, its own: ids in its return queue (out
 * of range, held by the honest consumer, owed by itself, never sent), its queue head, its
 * sleeping and wake words; and it sends the producer messages it has no business sending on its
 * connection (which ends its membership). Producer loans, sends and unsent releases and the
 * honest consumer's receives and releases are interleaved with the lies.
 *
 * After every step the producer's private bookkeeping (lib/chan_layout.h) must hold together:
 * the free stack is a set of free slots nobody owes; a sent slot is owed by admitted consumers
 * only; the loaned slot is owed by no one and held by nobody; every slot the honest consumer
 * holds is still owed by it, still carries the message it received, and was never loaned out
 * again; bad_returns never decreases; calls return 0 or a negative errno. At the end, once every
 * consumer has left, every slot is free and the channel closes.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "chan_layout.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "memview.h"

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STEPS 96
#define SEC 1000000000LL

/* A received view; views are never moved, so a slot of this array is used or not. */
struct held {
	mv_view v;
	uint64_t seq;
	int used;
};

struct run {
	char name[64];
	mv_chan *prod, *cons;
	mv_chan *liar;             /* NULL without one */
	uint64_t liar_tail;        /* next sequence number the liar would receive */
	mv_view loan;
	struct held held[16];
	uint64_t bad_returns;
};

struct joiner {
	const char *name;
	mv_chan *ch;
	int rc;
};

static void *join_main(void *arg)
{
	struct joiner *j = arg;

	j->rc = mv_chan_join(&j->ch, j->name, NULL, 10 * SEC);
	return NULL;
}

static uint64_t slot_seq(const char *slot)
{
	uint64_t seq;

	memcpy(&seq, slot, sizeof(seq));
	return seq;
}

/* Which slot a view of the channel's data is, seen from @ch's mapping. */
static uint32_t slot_of(const struct mv_chan *ch, const mv_view *v)
{
	size_t off = (size_t)((const char *)mv_view_ptr(v) - ch->data);

	FUZZ_ASSERT(off % ch->slot_size == 0 && off / ch->slot_size < ch->nslots,
		    "a view at offset %zu is no slot", off);
	return (uint32_t)(off / ch->slot_size);
}

/* The producer's private truth, checked whole. */
static void check_producer(struct run *r)
{
	const struct mv_chan *p = r->prod;
	uint8_t in_stack[MAX_SLOTS / 8 + 1];
	unsigned nfree = 0, nloaned = 0, i;
	mv_chan_stats st = MV_CHAN_STATS_INIT;

	FUZZ_ASSERT(p->nfree <= p->nslots, "nfree %u of %u slots", p->nfree, p->nslots);
	memset(in_stack, 0, (p->nslots + 7) / 8);
	for (i = 0; i < p->nfree; i++) {
		uint32_t s = p->free_stack[i];

		FUZZ_ASSERT(s < p->nslots && !(in_stack[s / 8] & (1u << (s % 8))),
			    "slot %u is twice on the free stack", s);
		in_stack[s / 8] |= (uint8_t)(1u << (s % 8));
		FUZZ_ASSERT(p->slot_state[s] == SLOT_FREE && p->owed[s] == 0,
			    "free slot %u has state %u, owed %#llx", s, p->slot_state[s],
			    (unsigned long long)p->owed[s]);
	}
	for (i = 0; i < p->nslots; i++) {
		if (p->slot_state[i] == SLOT_FREE)
			nfree++;
		if (p->slot_state[i] == SLOT_SENT)
			FUZZ_ASSERT(p->owed[i] && !(p->owed[i] & ~p->active),
				    "sent slot %u owed %#llx, active %#llx", i,
				    (unsigned long long)p->owed[i], (unsigned long long)p->active);
		if (p->slot_state[i] == SLOT_LOANED) {
			nloaned++;
			FUZZ_ASSERT(p->owed[i] == 0, "slot %u is loaned but owed %#llx", i,
				    (unsigned long long)p->owed[i]);
		}
	}
	FUZZ_ASSERT(nfree == p->nfree, "%u free slots, %u on the stack", nfree, p->nfree);
	FUZZ_ASSERT(nloaned == p->nloaned, "%u slots loaned, %u counted", nloaned, p->nloaned);
	if (r->cons) {
		uint64_t bit = 1ULL << r->cons->cons_index;
		int k;

		for (k = 0; k < 16; k++) {
			uint32_t s;

			if (!r->held[k].used)
				continue;
			s = slot_of(r->cons, &r->held[k].v);

			FUZZ_ASSERT(p->slot_state[s] == SLOT_SENT && (p->owed[s] & bit),
				    "slot %u held by the honest consumer: state %u, owed %#llx", s,
				    p->slot_state[s], (unsigned long long)p->owed[s]);
			FUZZ_ASSERT(slot_seq(mv_view_ptr(&r->held[k].v)) == r->held[k].seq,
				    "held message %llu was overwritten",
				    (unsigned long long)r->held[k].seq);
		}
	}
	FUZZ_ASSERT(mv_chan_get_stats(&st, r->prod) == 0, "stats");
	FUZZ_ASSERT(st.bad_returns >= r->bad_returns, "bad_returns went down");
	FUZZ_ASSERT(st.free_slots == r->prod->nfree, "stats free %u, nfree %u", st.free_slots,
		    r->prod->nfree);
	r->bad_returns = st.bad_returns;
}

static void op_loan(struct run *r)
{
	int had = !mv_view_released(&r->loan), rc;
	uint32_t s, nfree = r->prod->nfree;
	mv_view second;

	rc = mv_chan_loan(had ? &second : &r->loan, r->prod, 0);
	if (rc < 0) {
		FUZZ_ASSERT_ERR(rc);
		/* No free slot: EBUSY when every slot is loaned here (no wait could end), else
		 * EAGAIN (consumers hold the rest). */
		FUZZ_ASSERT(r->prod->nfree == 0 &&
				    (rc == -EBUSY ? r->prod->nloaned == r->prod->nslots : rc == -EAGAIN),
			    "loan gave %d with %u free, %u of %u loaned", rc, r->prod->nfree,
			    r->prod->nloaned, r->prod->nslots);
		return;
	}
	if (had) { /* a second loan at once: another slot, given back unsent by its release */
		s = slot_of(r->prod, &second);
		FUZZ_ASSERT(s != slot_of(r->prod, &r->loan) && r->prod->owed[s] == 0 &&
			    r->prod->nloaned == 2, "second loan of slot %u", s);
		FUZZ_ASSERT(mv_view_release(&second) == 0 && r->prod->nfree == nfree &&
			    r->prod->slot_state[s] == SLOT_FREE && r->prod->nloaned == 1,
			    "an unsent second loan of slot %u did not come back", s);
		return;
	}
	s = slot_of(r->prod, &r->loan);
	FUZZ_ASSERT(r->prod->owed[s] == 0, "loaned slot %u is owed %#llx", s,
		    (unsigned long long)r->prod->owed[s]);
	if (r->cons)
		FUZZ_ASSERT(mv_exporter_exports(&r->cons->slots[s].exp) == 0,
			    "loaned slot %u is held by the honest consumer", s);
	/* Scribble on it: a held message sharing this slot would show it. */
	memset(mv_view_ptr(&r->loan), 0xee, 64);
}

static void op_send(struct run *r, struct fuzz_in *in)
{
	uint64_t seq = r->prod->head;
	int rc;

	if (mv_view_released(&r->loan))
		return;
	memcpy(mv_view_ptr(&r->loan), &seq, sizeof(seq));
	rc = mv_chan_send(r->prod, &r->loan, 8 + fuzz_u8(in) % 57);
	FUZZ_ASSERT(rc == 0, "send: %s", mv_errmsg());
}

static void op_recv(struct run *r)
{
	struct held *h = NULL;
	uint64_t want;
	int rc, k;

	for (k = 0; k < 16 && r->cons && !h; k++)
		if (!r->held[k].used)
			h = &r->held[k];
	if (!h)
		return;
	want = r->cons->tail;
	rc = mv_chan_recv(&h->v, r->cons, 0);
	if (rc < 0) {
		FUZZ_ASSERT(rc == -EAGAIN, "recv: %s", mv_errmsg());
		return;
	}
	FUZZ_ASSERT(slot_seq(mv_view_ptr(&h->v)) == want, "received message %llu, expected %llu",
		    (unsigned long long)slot_seq(mv_view_ptr(&h->v)), (unsigned long long)want);
	h->seq = want;
	h->used = 1;
}

static void op_release_held(struct run *r, struct fuzz_in *in)
{
	int k = fuzz_u8(in) % 16;

	if (!r->held[k].used)
		return;
	FUZZ_ASSERT(mv_view_release(&r->held[k].v) == 0, "release of a received view");
	r->held[k].used = 0;
}

/* A message on the liar's connection: a LEAVE, a JOIN again, garbage, or one with a descriptor. */
static void liar_says(struct run *r, struct fuzz_in *in)
{
	struct chan_wire m = { CHAN_WIRE_MAGIC, CHAN_WIRE_VERSION, WIRE_LEAVE, 0, 0, 0, "" };
	int fd = -1;

	switch (fuzz_u8(in) % 4) {
	case 0:
		break;
	case 1:
		m.type = WIRE_JOIN;
		fd = mv_segment_fd(r->liar->own);
		break;
	case 2:
		memset(&m, fuzz_u8(in), sizeof(m));
		break;
	default:
		m.type = (uint16_t)fuzz_u8(in);
		fd = 0;
		break;
	}
	(void)mv_chan_wire_send(r->liar->sock, &m, fd);
}

/* One lie (or truth) written into the liar's own memory, or said on its connection. */
static void op_lie(struct run *r, struct fuzz_in *in)
{
	struct chan_cons *c;
	uint32_t *ret, n = r->prod->nslots, id;
	uint64_t h;

	if (!r->liar)
		return;
	c = r->liar->me;
	ret = r->liar->ret;
	h = __atomic_load_n(&c->ret_head, __ATOMIC_RELAXED);
	switch (fuzz_u8(in) % 8) {
	case 0: /* any id at all */
		id = (uint32_t)fuzz_uint(in, 4);
		break;
	case 1: { /* a slot the honest consumer holds */
		int k = fuzz_u8(in) % 16;

		id = r->held[k].used ? slot_of(r->cons, &r->held[k].v) : 0;
		break;
	}
	case 2: { /* the truth: the next message the liar was sent */
		uint64_t e = __atomic_load_n(&r->liar->ring[2 * (r->liar_tail % n)],
					     __ATOMIC_ACQUIRE);

		if ((e >> SLOT_BITS) != r->liar_tail + 1)
			return;
		id = (uint32_t)(e & ((1u << SLOT_BITS) - 1));
		r->liar_tail++;
		break;
	}
	case 3: /* a small id: often a slot, maybe the loaned one, maybe free */
		id = fuzz_u8(in) % (n + 1);
		break;
	case 4: /* the head anywhere */
		__atomic_store_n(&c->ret_head, h + (uint64_t)fuzz_ssize(in), __ATOMIC_RELEASE);
		return;
	case 5: /* its wake words: asleep or not, bumped or not */
		__atomic_store_n(&c->sleeping, fuzz_u8(in) & 1, __ATOMIC_RELEASE);
		__atomic_store_n(&c->ret_futex, (uint32_t)fuzz_uint(in, 4), __ATOMIC_RELEASE);
		return;
	case 6:
		liar_says(r, in);
		return;
	default: /* garbage over the queue */
		ret[fuzz_u8(in) % n] = (uint32_t)fuzz_uint(in, 4);
		return;
	}
	ret[h % n] = id;
	__atomic_store_n(&c->ret_head, h + 1, __ATOMIC_RELEASE);
}

/* Join from a thread while this one admits: the producer runs only inside its own calls. */
static mv_chan *join_admitted(struct run *r, int want)
{
	struct joiner j = { r->name, NULL, 0 };
	time_t deadline = time(NULL) + 10; /* generous: a loaded CI machine must not fail a run */
	pthread_t t;
	int rc;

	if (pthread_create(&t, NULL, join_main, &j) != 0)
		abort();
	while ((rc = mv_chan_wait_consumers(r->prod, (unsigned)want, 0)) == -ETIMEDOUT &&
	       time(NULL) < deadline)
		sched_yield();
	pthread_join(t, NULL);
	FUZZ_ASSERT(rc == want && j.rc == 0, "join: %d/%d %s", rc, j.rc, mv_errmsg());
	return j.ch;
}

static int setup(struct run *r, struct fuzz_in *in)
{
	static unsigned serial;
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	uint8_t cfg = fuzz_u8(in);
	int rc, admitted = 0;

	o.nslots = 1 + fuzz_u8(in) % 8;
	o.slot_size = 64;
	o.flags = (cfg & 1) ? MV_CHAN_SPIN : 0;
	snprintf(r->name, sizeof(r->name), "/mvfuzz-chan-%d-%u", (int)getpid(), serial++);
	rc = mv_chan_create(&r->prod, r->name, &o);
	FUZZ_ASSERT(rc == 0, "create: %s", mv_errmsg());
	if (cfg & 2)
		r->cons = join_admitted(r, ++admitted);
	if (cfg & 4) {
		r->liar = join_admitted(r, ++admitted);
		r->liar_tail = r->liar->tail;
	}
	return 0;
}

static void teardown(struct run *r)
{
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	unsigned i;

	for (i = 0; i < 16; i++)
		FUZZ_ASSERT(mv_view_release(&r->held[i].v) == 0, "release");
	FUZZ_ASSERT(mv_view_release(&r->loan) == 0, "release of an unsent loan");
	if (r->cons)
		FUZZ_ASSERT(mv_chan_close(r->cons) == 0, "consumer close: %s", mv_errmsg());
	r->cons = NULL;
	if (r->liar)
		FUZZ_ASSERT(mv_chan_close(r->liar) == 0, "liar close: %s", mv_errmsg());
	r->liar = NULL;
	check_producer(r);
	FUZZ_ASSERT(mv_chan_get_stats(&st, r->prod) == 0 && st.free_slots == r->prod->nslots &&
			    st.consumers == 0,
		    "%u of %u slots free, %u consumers, after every consumer left", st.free_slots,
		    r->prod->nslots, st.consumers);
	for (i = 0; i < r->prod->nslots; i++)
		FUZZ_ASSERT(r->prod->owed[i] == 0, "slot %u still owed", i);
	FUZZ_ASSERT(mv_chan_close(r->prod) == 0, "producer close: %s", mv_errmsg());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct run r;
	int steps;

	memset(&r, 0, sizeof(r));
	setup(&r, &in);
	check_producer(&r);
	for (steps = 0; steps < MAX_STEPS && fuzz_left(&in); steps++) {
		switch (fuzz_u8(&in) % 8) {
		case 0:
			op_loan(&r);
			break;
		case 1:
			op_send(&r, &in);
			break;
		case 2:
			if (!mv_view_released(&r.loan))
				FUZZ_ASSERT(mv_view_release(&r.loan) == 0, "unsent release");
			break;
		case 3:
			op_recv(&r);
			break;
		case 4:
			op_release_held(&r, &in);
			break;
		default:
			op_lie(&r, &in);
			break;
		}
		check_producer(&r);
	}
	teardown(&r);
	return 0;
}
