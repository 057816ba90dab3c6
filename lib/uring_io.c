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

#include <liburing.h>
#include <stdlib.h>
#include <string.h>

/* Replaced buffers of freed tables, waiting for their tags (generations are process-wide). */
static struct retired *orphans;
static pthread_mutex_t orphans_mu = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------ requests */

static void req_lock(struct mv_uring *t)
{
	if (!__libc_single_threaded)
		pthread_mutex_lock(&t->req_mu);
}

static void req_unlock(struct mv_uring *t)
{
	if (!__libc_single_threaded)
		pthread_mutex_unlock(&t->req_mu);
}

static struct uring_req *req_at(const struct mv_uring *t, uint32_t id)
{
	struct uring_req *chunk = t->req_chunks[id / REQ_CHUNK];

	return chunk ? &chunk[id % REQ_CHUNK] : NULL;
}

/* A free request number, made live for @kind on @index; its user_data low word in *@low. */
static int req_take(struct mv_uring *t, unsigned kind, unsigned index, uint32_t cookie,
		    uint32_t *low)
{
	struct uring_req *r;
	uint32_t id, gen;

	req_lock(t);
	if (t->nreq_free == 0) {
		/* Grow by a chunk; the free stack holds every number there is. */
		uint32_t c = t->nreq / REQ_CHUNK, i, *stack;

		if (t->nreq >= REQ_MAX) {
			req_unlock(t);
			return mv_fail(EAGAIN, "%u memview I/Os are in flight: complete some first",
				       REQ_MAX);
		}
		stack = realloc(t->req_free, (t->nreq + REQ_CHUNK) * sizeof(*stack));
		if (stack)
			t->req_free = stack;
		t->req_chunks[c] = stack ? calloc(REQ_CHUNK, sizeof(struct uring_req)) : NULL;
		if (!t->req_chunks[c]) {
			req_unlock(t);
			return mv_fail(ENOMEM, "cannot allocate memview I/O requests");
		}
		for (i = 0; i < REQ_CHUNK; i++)
			t->req_free[t->nreq_free++] = t->nreq + REQ_CHUNK - 1 - i;
		t->nreq += REQ_CHUNK;
	}
	id = t->req_free[--t->nreq_free];
	gen = t->req_gen++ & ((1u << REQ_GEN_BITS) - 1);
	req_unlock(t);
	r = &t->req_chunks[id / REQ_CHUNK][id % REQ_CHUNK];
	r->cookie = cookie;
	__atomic_store_n(&r->state, REQ_STATE(gen, kind, index), __ATOMIC_RELEASE);
	*low = id << REQ_GEN_BITS | gen;
	return 0;
}

/* Retire the request @low names if it is live for @kind on @index: 1 and its cookie, or 0. */
static int req_finish(struct mv_uring *t, uint32_t low, unsigned kind, unsigned index,
		      uint32_t *cookie)
{
	uint32_t id = low >> REQ_GEN_BITS, gen = low & ((1u << REQ_GEN_BITS) - 1);
	uint32_t want = REQ_STATE(gen, kind, index);
	struct uring_req *r = id < t->nreq ? req_at(t, id) : NULL;

	/* One compare-and-swap decides, however many threads pass the same completion. */
	if (!r || !__atomic_compare_exchange_n(&r->state, &want, 0, false, __ATOMIC_ACQ_REL,
					       __ATOMIC_RELAXED))
		return 0;
	*cookie = r->cookie;
	req_lock(t);
	t->req_free[t->nreq_free++] = id;
	req_unlock(t);
	return 1;
}

/* ------------------------------------------------------------------ fixed I/O */

/* The slot of @v and the view's offset in it. */
static int slot_of_view(struct uring_slot **out, size_t *offset, const struct mv_uring *t,
			const mv_view *v)
{
	const struct uring_slot *s;
	mv_exporter *exp;
	size_t off, len;
	char *buf;

	MV_CHECK_ARG(t, "t");
	MV_CHECK_ARG(v, "v");
	exp = mv_view_obj(v);
	if (unlikely(!exp))
		return -EBADF; /* released: mv_view_obj() said so */
	if (unlikely(exp->ops != &mv_uring_slot_ops))
		return mv_fail(EINVAL, "the view is not of an io_uring buffer slot (its exporter "
				       "is a %s)", exp->ops->name);
	s = (const struct uring_slot *)exp;
	if (unlikely(s->t != t))
		return mv_fail(EINVAL, "the view is of uring slot %u of another table", s->index);
	if (unlikely(!mv_view_c_contiguous(v)))
		return mv_fail(EINVAL, "fixed I/O needs a C-contiguous view, and this view of uring "
				       "slot %u is not", s->index);
	buf = mv_view_ptr(v);
	len = (size_t)mv_view_nbytes(v);
	off = (size_t)(buf - s->mem.base);
	if (unlikely(buf < s->mem.base || off > s->mem.len || len > s->mem.len - off))
		return mv_fail(EINVAL, "the view lies outside uring slot %u", s->index);
	*out = (struct uring_slot *)exp;
	*offset = off;
	return 0;
}

int mv_uring_locate(unsigned *index, size_t *offset, const mv_uring *t, const mv_view *v)
{
	struct uring_slot *s;
	size_t off;
	int rc;

	rc = slot_of_view(&s, &off, t, v);
	if (rc < 0)
		return rc;
	if (index)
		*index = s->index;
	if (offset)
		*offset = off;
	return 0;
}

static int prep_fixed(struct io_uring_sqe **out, struct mv_uring *t, int fd, const mv_view *v,
		      uint64_t offset, uint32_t cookie, unsigned kind)
{
	struct io_uring_sqe *sqe;
	struct uring_slot *s;
	uint32_t low = 0;
	size_t off;
	int rc;

	rc = slot_of_view(&s, &off, t, v);
	if (rc < 0)
		return rc;
	if (kind == UD_KIND_READ && mv_view_readonly(v))
		return mv_fail(EROFS, "cannot read into a readonly view of uring slot %u: the kernel "
				      "would write to it", s->index);
	if (unlikely(io_uring_sq_space_left(t->ring) == 0))
		return mv_fail(EAGAIN, "the ring's submission queue is full: submit what is "
				       "prepared first");
	rc = req_take(t, kind, s->index, cookie, &low);
	if (rc < 0)
		return rc;
	sqe = io_uring_get_sqe(t->ring); /* there is room: checked above, one thread at a time */
	/*
	 * One more export for the I/O. The view holds one of the family, so the count is above
	 * zero and no invalidating operation can lock the slot now: a plain increment (atomic once
	 * the process has threads, as for view families) cannot race with a lock.
	 */
	mv_exports_add_held(&s->exp);
	mv_count_inc(&s->inflight);
	/* A slot is at most 1 GiB, so the length fits the request's 32 bits. */
	if (kind == UD_KIND_READ)
		io_uring_prep_read_fixed(sqe, fd, mv_view_ptr(v), (unsigned)mv_view_nbytes(v), offset,
					 (int)s->index);
	else
		io_uring_prep_write_fixed(sqe, fd, mv_view_ptr(v), (unsigned)mv_view_nbytes(v), offset,
					  (int)s->index);
	sqe->user_data = mv_uring_ud(kind, t->serial, s->index, low);
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
	struct uring_slot *s;
	unsigned kind, serial, index;
	uint32_t cookie;
	uint64_t ud;

	MV_CHECK_ARG(cqe, "cqe");
	if (out)
		MV_CHECK_SIZED(out, mv_uring_result, MV_URING_RESULT_INIT);
	ud = cqe->user_data;
	if (likely((ud >> 56) != MV_URING_USER_DATA_MAGIC))
		return MV_URING_CQE_FOREIGN;
	kind = (unsigned)(ud >> 54) & 3u;
	serial = (unsigned)(ud >> 46) & 0xffu;
	index = (unsigned)(ud >> 32) & 0x3fffu;
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
	if (unlikely(!req_finish(t, (uint32_t)ud, kind, index, &cookie)))
		return mv_fail(EINVAL, "completion 0x%llx is of no memview I/O in flight on uring "
				       "slot %u: was it passed twice?", (unsigned long long)ud,
			       index);
	s = &t->slots[index];
	mv_count_dec(&s->inflight);
	mv_exports_drop(&s->exp);
	if (out) {
		out->res = cqe->res;
		out->index = index;
		out->cookie = cookie;
		out->op = (int)kind;
	}
	return MV_URING_CQE_IO;
}
