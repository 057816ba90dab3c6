/*
 * lib/uring_io.c - fixed I/O through views of registered slots, and their completions: the
 * request a prep call takes (one more export of the slot, and a request number in the
 * user_data), and mv_uring_complete(), which retires it, or releases a replaced buffer when its
 * tag arrives - for a live table, or for one already freed (the orphans below).
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"
#include "uring_internal.h"
#include "view_internal.h"

#include <liburing.h>
#include <stdlib.h>
#include <string.h>

/* Replaced buffers of freed tables, waiting for their tags (generations are process-wide). */
static struct retired *orphans;
static pthread_mutex_t orphans_mu = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------ requests */

static inline struct uring_req *req_at(const struct mv_uring *t, uint32_t id)
{
	return &t->reqs[id];
}

/* REQ_CHUNK more request numbers, all free, on the local list. Ring thread only. */
static int req_grow(struct mv_uring *t)
{
	uint32_t n = t->nreq, i;

	if (n >= REQ_MAX)
		return mv_fail(EAGAIN, "%u memview I/Os are in flight: complete some first", REQ_MAX);
	for (i = 0; i + 1 < REQ_CHUNK; i++)
		t->reqs[n + i].next = n + i + 2;
	t->reqs[n + REQ_CHUNK - 1].next = t->req_local;
	/* Published for mv_uring_inflight() in other threads. */
	__atomic_store_n(&t->nreq, n + REQ_CHUNK, __ATOMIC_RELEASE);
	t->req_local = n + 1;
	return 0;
}

/*
 * A free request number, made live for an I/O on slot @s of @kind with @cookie; returns the
 * I/O's user_data. Ring thread only (the prep calls). 0 with the error in *@err when there is
 * no number to be had. Undone with req_untake().
 */
static inline uint64_t req_take(struct mv_uring *t, const struct uring_slot *s, unsigned kind,
				uint32_t cookie, int *err)
{
	struct uring_req *r;
	uint32_t id, gen;
	uint64_t ud;

	if (unlikely(!t->req_local)) {
		/* Take back every number completions returned, in one step. */
		if (__libc_single_threaded) {
			t->req_local = t->req_returned;
			t->req_returned = 0;
		} else {
			t->req_local = __atomic_exchange_n(&t->req_returned, 0, __ATOMIC_ACQUIRE);
		}
		if (!t->req_local) {
			*err = req_grow(t);
			if (*err < 0)
				return 0;
		}
	}
	id = t->req_local - 1;
	r = req_at(t, id);
	t->req_local = r->next;
	gen = t->req_gen++ & ((1u << REQ_GEN_BITS) - 1);
	ud = s->ud | (uint64_t)kind << 54 | id << REQ_GEN_BITS | gen;
	r->cookie = cookie;
	/* Release: a completion in another thread that sees the user_data sees the cookie. */
	__atomic_store_n(&r->ud, ud, __ATOMIC_RELEASE);
	return ud;
}

/* Give back the request req_take() just made live for @ud (nothing was submitted with it). */
static void req_untake(struct mv_uring *t, uint64_t ud)
{
	uint32_t id = (uint32_t)ud >> REQ_GEN_BITS;
	struct uring_req *r = req_at(t, id);

	__atomic_store_n(&r->ud, 0, __ATOMIC_RELAXED);
	r->next = t->req_local;
	t->req_local = id + 1;
}

/* Put retired request @id on the returned list; any thread. */
static inline void req_return(struct mv_uring *t, struct uring_req *r, uint32_t id)
{
	uint32_t head;

	if (__libc_single_threaded) {
		r->next = t->req_returned;
		t->req_returned = id + 1;
		return;
	}
	head = __atomic_load_n(&t->req_returned, __ATOMIC_RELAXED);
	do
		r->next = head;
	while (!__atomic_compare_exchange_n(&t->req_returned, &head, id + 1, true,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/*
 * Retire the request @ud names if it is live with that very user_data: 1 and its cookie, or 0
 * (not live, or of another generation, slot, kind or table: a completion passed twice, or not
 * memview's). One comparison of the whole user_data decides.
 */
static inline int req_finish(struct mv_uring *t, uint64_t ud, uint32_t *cookie)
{
	uint32_t id = (uint32_t)ud >> REQ_GEN_BITS;
	struct uring_req *r;

	if (unlikely(id >= __atomic_load_n(&t->nreq, __ATOMIC_ACQUIRE)))
		return 0;
	r = req_at(t, id);
	if (__libc_single_threaded) {
		if (unlikely(r->ud != ud))
			return 0;
		r->ud = 0;
	} else {
		uint64_t want = ud;

		/* One compare-and-swap decides, however many threads pass the same completion. */
		if (unlikely(!__atomic_compare_exchange_n(&r->ud, &want, 0, false, __ATOMIC_ACQ_REL,
							  __ATOMIC_RELAXED)))
			return 0;
	}
	*cookie = r->cookie;
	req_return(t, r, id);
	return 1;
}

long mv_uring_inflight(const struct mv_uring *t, unsigned index)
{
	uint32_t n = __atomic_load_n(&t->nreq, __ATOMIC_ACQUIRE), id;
	long count = 0;

	for (id = 0; id < n; id++) {
		uint64_t ud = __atomic_load_n(&req_at(t, id)->ud, __ATOMIC_RELAXED);

		if (ud && (index == MV_URING_ALL_SLOTS || UD_INDEX(ud) == index))
			count++;
	}
	return count;
}

/* ------------------------------------------------------------------ fixed I/O */

/*
 * Where a view lies, read from the view itself: the accessors (mv_view_obj(), _ptr(),
 * _nbytes(), _c_contiguous(), _readonly()) each check the view again and are a call each, and
 * this runs for every I/O. The fields mean what those accessors return (lib/view.c): mbuf NULL
 * when released, mbuf->master.obj the exporter, buf and len the bytes, MVF_C in flags.
 */
struct view_range {
	char *buf;
	size_t len;
	size_t offset; /* from the slot's start */
	int readonly;
};

/*
 * The slot of @v and the view's range in it, or NULL with the error in *@err (mv_fail()'s
 * value: returning the slot lets the compiler see that the range is set whenever it is used).
 */
static inline struct uring_slot *slot_of_view(int *err, struct view_range *vr,
					      const struct mv_uring *t, const mv_view *v,
					      const char *fn)
{
	struct uring_slot *s;
	mv_exporter *exp;
	char *buf;
	size_t off, len;

	if (unlikely(!t || !v)) {
		*err = mv_fail(EINVAL, "%s: invalid argument: %s", fn, t ? "v" : "t");
		return NULL;
	}
	if (unlikely(!v->mbuf)) {
		*err = mv_fail(EBADF, CPY_RELEASED_MSG);
		return NULL;
	}
	exp = v->mbuf->master.obj;
	if (unlikely(exp->ops != &mv_uring_slot_ops)) {
		*err = mv_fail(EINVAL, "the view is not of an io_uring buffer slot (its exporter "
				       "is a %s)", exp->ops->name);
		return NULL;
	}
	s = (struct uring_slot *)exp;
	if (unlikely(s->t != t)) {
		*err = mv_fail(EINVAL, "the view is of uring slot %u of another table", s->index);
		return NULL;
	}
	if (unlikely(!(v->flags & MVF_C))) {
		*err = mv_fail(EINVAL, "fixed I/O needs a C-contiguous view, and this view of uring "
				       "slot %u is not", s->index);
		return NULL;
	}
	/* The view holds an export of the slot: its memory cannot change under us. */
	buf = v->buf;
	len = (size_t)v->len;
	off = (size_t)(buf - s->mem.base);
	if (unlikely(buf < s->mem.base || off > s->mem.len || len > s->mem.len - off)) {
		*err = mv_fail(EINVAL, "the view lies outside uring slot %u", s->index);
		return NULL;
	}
	vr->buf = buf;
	vr->len = len;
	vr->offset = off;
	vr->readonly = v->readonly;
	return s;
}

int mv_uring_locate(unsigned *index, size_t *offset, const mv_uring *t, const mv_view *v)
{
	struct view_range vr;
	struct uring_slot *s;
	int rc;

	s = slot_of_view(&rc, &vr, t, v, __func__);
	if (!s)
		return rc;
	if (index)
		*index = s->index;
	if (offset)
		*offset = vr.offset;
	return 0;
}

/*
 * One more export of the slot for the I/O (mv_exports_add_held(), inline: this runs for every
 * I/O). The view holds one of the family, so the count is above zero and no invalidating
 * operation can lock the slot now: a plain increment (atomic once the process has threads, as
 * for view families) cannot race with a lock. Given back by slot_io_drop() (mv_exports_drop()).
 */
static inline void slot_io_hold(struct uring_slot *s)
{
	mv_count_inc(&s->exp.exports);
}

static inline void slot_io_drop(struct uring_slot *s)
{
	mv_count_dec(&s->exp.exports);
}

/* Inlined into each prep call, so that @kind is a constant there. */
static inline __attribute__((always_inline)) int
prep_fixed(struct io_uring_sqe **out, struct mv_uring *t, int fd, const mv_view *v,
	   uint64_t offset, uint32_t cookie, unsigned kind)
{
	struct io_uring_sqe *sqe;
	struct view_range vr;
	struct uring_slot *s;
	uint64_t ud;
	int rc;

	s = slot_of_view(&rc, &vr, t, v,
			 kind == UD_KIND_READ ? "mv_uring_prep_read_fixed" :
						"mv_uring_prep_write_fixed");
	if (unlikely(!s))
		return rc;
	if (kind == UD_KIND_READ && unlikely(vr.readonly))
		return mv_fail(EROFS, "cannot read into a readonly view of uring slot %u: the kernel "
				      "would write to it", s->index);
	ud = req_take(t, s, kind, cookie, &rc);
	if (unlikely(!ud))
		return rc;
	sqe = io_uring_get_sqe(t->ring);
	if (unlikely(!sqe)) {
		req_untake(t, ud);
		return mv_fail(EAGAIN, "the ring's submission queue is full: submit what is "
				       "prepared first");
	}
	slot_io_hold(s);
	/* A slot is at most 1 GiB, so the length fits the request's 32 bits. */
	if (kind == UD_KIND_READ)
		io_uring_prep_read_fixed(sqe, fd, vr.buf, (unsigned)vr.len, offset, (int)s->index);
	else
		io_uring_prep_write_fixed(sqe, fd, vr.buf, (unsigned)vr.len, offset, (int)s->index);
	sqe->user_data = ud;
	if (out)
		*out = sqe;
	return 0;
}

int mv_uring_prep_read_fixed(struct io_uring_sqe **sqe, mv_uring *t, int fd, const mv_view *v,
			     uint64_t offset, uint32_t cookie)
{
	return prep_fixed(sqe, t, fd, v, offset, cookie, UD_KIND_READ);
}

int mv_uring_prep_write_fixed(struct io_uring_sqe **sqe, mv_uring *t, int fd, const mv_view *v,
			      uint64_t offset, uint32_t cookie)
{
	return prep_fixed(sqe, t, fd, v, offset, cookie, UD_KIND_WRITE);
}

/* A tag completion: the kernel is done with a replaced buffer. */
static void reap_tag(struct mv_uring *t, unsigned index, uint32_t gen)
{
	struct retired **pp, *r = NULL;

	pthread_mutex_lock(&t->mu);
	for (pp = &t->retired; *pp; pp = &(*pp)->next) {
		if ((*pp)->index == index && (*pp)->gen == gen) {
			r = *pp;
			*pp = r->next;
			t->npending--;
			break;
		}
	}
	pthread_mutex_unlock(&t->mu);
	/* Outside the lock: a wrap's callback may call back into the table. */
	if (r) {
		mv_uring_mem_release(&r->mem);
		free(r);
	}
}

void mv_uring_orphan(struct retired *r)
{
	pthread_mutex_lock(&orphans_mu);
	r->next = orphans;
	orphans = r;
	pthread_mutex_unlock(&orphans_mu);
}

/* The tag of a replaced buffer whose table was freed: now its memory can go. */
static void reap_orphan(uint32_t gen)
{
	struct retired **pp, *r = NULL;

	pthread_mutex_lock(&orphans_mu);
	for (pp = &orphans; *pp; pp = &(*pp)->next) {
		if ((*pp)->gen == gen) {
			r = *pp;
			*pp = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&orphans_mu);
	if (r) {
		mv_uring_mem_release(&r->mem);
		free(r);
	}
}

int mv_uring_complete(mv_uring_result *out, mv_uring *t, const struct io_uring_cqe *cqe)
{
	unsigned kind, serial, index;
	uint32_t cookie;
	uint64_t ud;

	MV_CHECK_ARG(cqe, "cqe");
	if (out)
		MV_CHECK_SIZED(out, mv_uring_result, MV_URING_RESULT_INIT);
	ud = cqe->user_data;
	if (likely((ud >> 56) != MV_URING_USER_DATA_MAGIC))
		return MV_URING_CQE_FOREIGN;
	kind = UD_KIND(ud);
	index = UD_INDEX(ud);
	if (likely(kind == UD_KIND_READ || kind == UD_KIND_WRITE) && likely(t) &&
	    likely(req_finish(t, ud, &cookie))) {
		/* A live request of this table: its user_data, slot included, is one we made. */
		slot_io_drop(&t->slots[index]);
		if (out) {
			out->res = cqe->res;
			out->index = index;
			out->cookie = cookie;
			out->op = (int)kind;
		}
		return MV_URING_CQE_IO;
	}
	serial = UD_SERIAL(ud);
	if (kind == UD_KIND_TAG) {
		if (t && serial == t->serial && index < t->nslots)
			reap_tag(t, index, (uint32_t)ud);
		else
			reap_orphan((uint32_t)ud); /* of a table already freed, or of another one */
		return MV_URING_CQE_INTERNAL;
	}
	if (kind != UD_KIND_READ && kind != UD_KIND_WRITE)
		return MV_URING_CQE_FOREIGN;
	if (!t || serial != t->serial || index >= t->nslots)
		return mv_fail(EINVAL, "completion 0x%llx is of a memview I/O of another table",
			       (unsigned long long)ud);
	return mv_fail(EINVAL, "completion 0x%llx is of no memview I/O in flight on uring slot %u: "
			       "was it passed twice?", (unsigned long long)ud, index);
}
