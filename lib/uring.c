/*
 * lib/uring.c - io_uring registered buffers as exporters (see memview/uring.h).
 *
 * Every slot is an exporter whose export count covers two kinds of holder: views (and buffer
 * records) of the slot, and I/Os prepared from them and not yet completed - each prep call takes
 * one more export, and mv_uring_complete() drops it. A change to the slot (replace, clear,
 * unregister) first turns a count of 0 into "locked" (mv_exports_lock), so "nobody holds it" and
 * "nobody can start holding it until the change is done" are one atomic step, exactly as for
 * the other exporters. How many of the exports are I/Os is counted from the live requests
 * (mv_uring_inflight()) when a message or mv_uring_get_info() asks, not kept per I/O.
 *
 * The kernel never refuses a buffer update (an I/O in flight finishes into the old pinned
 * pages), so the refusal is ours; and the kernel reports the end of its last use of a replaced
 * buffer with a tag completion. Each buffer is registered with a tag that names the table, the
 * slot and a generation; a replaced buffer waits on the table's retired list until
 * mv_uring_complete() sees its tag, and only then is its memory freed, given back to the
 * wrap's owner, or its attached export released.
 *
 * user_data layout (top byte MV_URING_USER_DATA_MAGIC, so a pointer - whose top byte is 0 in
 * user space - never looks like memview's):
 *   63..56 magic   55..54 kind (1 read, 2 write, 3 tag)   53..46 table serial
 *   45..32 slot index (14 bits: MV_URING_MAX_SLOTS)
 *   31..0  I/O: request number (20 bits) and its generation (12 bits); tag: buffer generation
 * Every I/O memview prepares has a request number of its own, live until its completion is
 * passed to mv_uring_complete(): a completion passed twice, or one that is not memview's but
 * looks it, finds its request not live (or of another generation) and is refused instead of
 * dropping an export some other I/O still holds. The caller's cookie is kept in the request.
 *
 * A table freed while replaced buffers still wait for their tags hands them to a process-wide
 * list: their memory is released when mv_uring_complete() sees the tag, whatever table it is
 * given, and never before (the kernel may use a buffer until then).
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"
#include "uring_internal.h"

#include <liburing.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Tag generations and table serials, process-wide, so that no two live tags are alike. */
static uint32_t next_generation;
static unsigned next_serial;
/* Whether the kernel registers shared memory: -1 not known yet, 0 no, 1 yes. */
static int shm_supported = -1;

#ifndef HAVE_IO_URING_REGISTER_BUFFERS_SPARSE
struct mv_rsrc_register { /* struct io_uring_rsrc_register as of Linux 5.19 */
	uint32_t nr;
	uint32_t flags;
	uint64_t resv2;
	uint64_t data;
	uint64_t tags;
};
#endif

/*
 * io_uring_register_buffers_sparse(), made by hand where liburing (before 2.2) lacks it:
 * IORING_REGISTER_BUFFERS2 with the sparse flag of Linux 5.19. A kernel without the flag answers
 * -EINVAL either way, which the caller handles.
 */
static int register_buffers_sparse(struct io_uring *ring, unsigned nr)
{
#ifdef HAVE_IO_URING_REGISTER_BUFFERS_SPARSE
	return io_uring_register_buffers_sparse(ring, nr);
#else
	struct mv_rsrc_register reg = { nr, 1u /* IORING_RSRC_REGISTER_SPARSE */, 0, 0, 0 };
	long rc = syscall(__NR_io_uring_register, ring->ring_fd, 15 /* IORING_REGISTER_BUFFERS2 */,
			  &reg, (unsigned)sizeof(reg));

	return rc < 0 ? -errno : 0;
#endif
}


/* ------------------------------------------------------------------ mappings */

/* A failed buffer update, explained. */
static int explain_register(int err, unsigned index, const struct slot_mem *m,
			    const struct map_check *mc)
{
	char what[96], rel[65];

	switch (err) {
	case ENOMEM:
		snprintf(what, sizeof(what), "registering %zu bytes in uring slot %u", m->len,
			 index);
		return mv_uring_explain_enomem(what);
	case EFAULT:
	case EOPNOTSUPP:
		if (m->shared || (mc && mc->shared))
			return mv_fail(ENOTSUP, "uring slot %u: this kernel (%s) refuses to register "
						   "shared memory as a fixed buffer: use an "
						   "mv_uring_alloc() slot and copy", index,
				       mv_uring_kernel_release(rel, sizeof(rel)));
		if (mc && mc->shared_file)
			return mv_fail(ENOTSUP, "uring slot %u: the kernel refuses a MAP_SHARED "
						   "mapping of a regular file as a fixed buffer",
				       index);
		return mv_fail(err, "uring slot %u: the kernel cannot pin %zu bytes at %p: %s",
			       index, m->len, (void *)m->base, strerror(err));
	default:
		return mv_fail(err, "uring slot %u: registering %zu bytes failed: %s", index,
			       m->len, strerror(err));
	}
}

/* ------------------------------------------------------------------ slots */

static int slot_get(mv_exporter *self, mv_buffer *buf, unsigned flags)
{
	struct uring_slot *s = (struct uring_slot *)self;

	/* The export is counted already, so the slot cannot change under us. */
	if (s->mem.kind == MV_URING_SLOT_EMPTY)
		return mv_fail(EINVAL, "uring slot %u is empty%s", s->index,
			       __atomic_load_n(&s->t->registered, __ATOMIC_RELAXED) ?
				       "" : " (the table is unregistered)");
	return mv_buffer_fill(buf, self, s->mem.base, (ssize_t)s->mem.len, s->mem.readonly,
			      flags);
}

/* The memory of a slot may change through I/O: views of it are not hashable. */
const mv_exporter_ops mv_uring_slot_ops = {
	.size = sizeof(mv_exporter_ops),
	.name = "uring buffer",
	.get = slot_get,
	.flags = MV_EXPORTER_UNHASHABLE,
};

void mv_uring_mem_release(struct slot_mem *m)
{
	switch (m->kind) {
	case MV_URING_SLOT_ALLOC:
		munmap(m->base, m->map_len);
		break;
	case MV_URING_SLOT_WRAP:
		if (m->release)
			m->release(m->ctx, m->base, m->len);
		break;
	case MV_URING_SLOT_ATTACH:
		mv_buffer_release(&m->held);
		break;
	default:
		break;
	}
	memset(m, 0, sizeof(*m));
}

/* -EBUSY naming who holds the slot; @n is what mv_exports_lock() returned. */
static int busy(const struct uring_slot *s, long n, const char *what)
{
	long io = mv_uring_inflight(s->t, s->index);
	long views = n > io ? n - io : 0;

	return mv_fail(EBUSY, "cannot %s uring slot %u: it is held by %ld view%s and %ld I/O%s in "
			      "flight (release the views; pass completions to mv_uring_complete())",
		       what, s->index, views, views == 1 ? "" : "s", io, io == 1 ? "" : "s");
}

static int check_table(const struct mv_uring *t, unsigned index)
{
	MV_CHECK_ARG(t, "t");
	if (index >= t->nslots)
		return mv_fail(ERANGE, "uring slot index %u out of range (the table has %u slots)",
			       index, t->nslots);
	return 0;
}

static int check_len(size_t len, unsigned index)
{
	if (len == 0)
		return mv_fail(EINVAL, "uring slot %u: a registered buffer cannot be empty", index);
	if (len > MV_URING_MAX_SLOT_SIZE)
		return mv_fail(EINVAL, "uring slot %u: %zu bytes is more than the kernel's 1 GiB per "
				       "registered buffer", index, len);
	return 0;
}

static int update(struct mv_uring *t, unsigned index, void *base, size_t len, uint64_t tag)
{
	struct iovec iov = { base, len };
	__u64 tags = tag;
	int rc;

	rc = io_uring_register_buffers_update_tag(t->ring, index, &iov, &tags, 1);
	return rc < 0 ? rc : 0;
}

/*
 * Put @nm (kind EMPTY to clear) into slot @index, retiring what was there until its tag. On
 * failure nothing changes and the caller still owns @nm.
 */
static int slot_replace(struct mv_uring *t, unsigned index, struct slot_mem *nm,
			const struct map_check *mc, const char *what)
{
	struct uring_slot *s = &t->slots[index];
	struct retired *r = NULL;
	uint32_t gen = 0;
	uint64_t tag = 0;
	long n;
	int rc;

	pthread_mutex_lock(&t->mu);
	if (!t->registered) {
		rc = mv_fail(EBADF, "cannot %s uring slot %u: the table is unregistered", what,
			     index);
		goto out;
	}
	if (s->mem.kind != MV_URING_SLOT_EMPTY) {
		r = malloc(sizeof(*r));
		if (!r) {
			rc = mv_fail(ENOMEM, "cannot allocate a retired-buffer record");
			goto out;
		}
	}
	n = mv_exports_lock(&s->exp);
	if (n) {
		rc = busy(s, n, what);
		goto out;
	}
	if (nm->kind != MV_URING_SLOT_EMPTY && (t->features & MV_URING_FEATURE_TAGS)) {
		gen = __atomic_add_fetch(&next_generation, 1, __ATOMIC_RELAXED);
		tag = mv_uring_ud(UD_KIND_TAG, t->serial, index, gen);
	}
	rc = update(t, index, nm->base, nm->len, tag);
	if (rc < 0) {
		mv_exports_unlock(&s->exp);
		rc = explain_register(-rc, index, nm, mc);
		goto out;
	}
	if (r && s->gen) {
		/* Tagged: the kernel will say when it is done with the old buffer. */
		r->index = index;
		r->gen = s->gen;
		r->mem = s->mem;
		r->next = t->retired;
		t->retired = r;
		t->npending++;
		r = NULL;
	} else if (r) {
		/* Untagged (no tag support): the update waited for the kernel's last use. */
		mv_uring_mem_release(&s->mem);
	}
	s->mem = *nm;
	s->gen = gen;
	mv_exports_unlock(&s->exp);
	rc = 0;
out:
	pthread_mutex_unlock(&t->mu);
	free(r);
	return rc;
}

int mv_uring_alloc(mv_uring *t, unsigned index, size_t len)
{
	struct slot_mem nm;
	long page = sysconf(_SC_PAGESIZE);
	void *p;
	int rc;

	rc = check_table(t, index);
	if (rc == 0)
		rc = check_len(len, index);
	if (rc < 0)
		return rc;
	memset(&nm, 0, sizeof(nm));
	nm.kind = MV_URING_SLOT_ALLOC;
	nm.len = len;
	nm.map_len = (len + (size_t)page - 1) & ~((size_t)page - 1);
	p = mmap(NULL, nm.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return mv_fail(ENOMEM, "uring slot %u: cannot allocate %zu bytes", index, len);
	nm.base = p;
	rc = slot_replace(t, index, &nm, NULL, "replace");
	if (rc < 0)
		munmap(p, nm.map_len);
	return rc;
}

int mv_uring_wrap(mv_uring *t, unsigned index, void *mem, size_t len, int readonly,
		  mv_release_fn release, void *ctx)
{
	struct map_check mc;
	struct slot_mem nm;
	int rc;

	rc = check_table(t, index);
	if (rc == 0)
		rc = check_len(len, index);
	if (rc < 0)
		return rc;
	MV_CHECK_ARG(mem, "mem");
	mv_uring_scan_maps(mem, len, &mc);
	rc = mv_uring_check_mapping(&mc, index, mem, len);
	if (rc < 0)
		return rc;
	memset(&nm, 0, sizeof(nm));
	nm.kind = MV_URING_SLOT_WRAP;
	nm.readonly = readonly != 0;
	nm.shared = mc.shared;
	nm.base = mem;
	nm.len = len;
	nm.release = release;
	nm.ctx = ctx;
	return slot_replace(t, index, &nm, &mc, "replace");
}

int mv_uring_attach(mv_uring *t, unsigned index, mv_exporter *exp, size_t offset, size_t len)
{
	struct map_check mc;
	struct slot_mem nm;
	char why[256];
	int rc;

	rc = check_table(t, index);
	if (rc < 0)
		return rc;
	MV_CHECK_ARG(exp, "exp");
	memset(&nm, 0, sizeof(nm));
	rc = mv_buffer_get(&nm.held, exp, MV_BUF_C_CONTIGUOUS | MV_BUF_WRITABLE);
	if (rc == -EROFS) {
		snprintf(why, sizeof(why), "%s", mv_errmsg());
		return mv_fail(EROFS, "uring slot %u: cannot register readonly memory, the kernel "
				      "pins registered buffers for writing (%s)", index, why);
	}
	if (rc < 0)
		return rc;
	if (mv_buffer_is_contiguous(&nm.held, 'C') != 1) {
		rc = mv_fail(EINVAL, "uring slot %u: the %s's memory is not C-contiguous", index,
			     exp->ops->name);
		goto fail;
	}
	if (offset > (size_t)nm.held.len) {
		rc = mv_fail(EINVAL, "uring slot %u: offset %zu lies beyond the %zd bytes of the %s",
			     index, offset, nm.held.len, exp->ops->name);
		goto fail;
	}
	if (len == 0)
		len = (size_t)nm.held.len - offset;
	if (len > (size_t)nm.held.len - offset) {
		rc = mv_fail(EINVAL, "uring slot %u: bytes %zu..%zu lie outside the %zd bytes of the %s",
			     index, offset, offset + len, nm.held.len, exp->ops->name);
		goto fail;
	}
	rc = check_len(len, index);
	if (rc < 0)
		goto fail;
	nm.base = (char *)nm.held.buf + offset;
	nm.len = len;
	mv_uring_scan_maps(nm.base, len, &mc);
	rc = mv_uring_check_mapping(&mc, index, nm.base, len);
	if (rc < 0)
		goto fail;
	nm.kind = MV_URING_SLOT_ATTACH;
	nm.shared = mc.shared;
	rc = slot_replace(t, index, &nm, &mc, "replace");
	if (rc == 0)
		return 0;
fail:
	mv_buffer_release(&nm.held);
	return rc;
}

int mv_uring_clear(mv_uring *t, unsigned index)
{
	struct slot_mem nm;
	int rc;

	rc = check_table(t, index);
	if (rc < 0)
		return rc;
	memset(&nm, 0, sizeof(nm));
	/* Clearing an empty slot of a registered table is a no-op that still asks the kernel. */
	return slot_replace(t, index, &nm, NULL, "clear");
}

mv_exporter *mv_uring_exporter(mv_uring *t, unsigned index)
{
	return t && index < t->nslots ? &t->slots[index].exp : NULL;
}

/* ------------------------------------------------------------------ the table */

static void probe_shm(struct mv_uring *t)
{
	int known = __atomic_load_n(&shm_supported, __ATOMIC_RELAXED);

	if (known < 0) {
		long page = sysconf(_SC_PAGESIZE);
		int fd = memfd_create("memview-probe", MFD_CLOEXEC);
		void *p = MAP_FAILED;
		int rc;

		if (fd >= 0 && ftruncate(fd, page) == 0)
			p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED) {
			/* Untagged, so neither registering nor clearing posts a completion. */
			rc = update(t, 0, p, (size_t)page, 0);
			if (rc == 0) {
				known = 1;
				update(t, 0, NULL, 0, 0);
			} else if (rc == -EFAULT || rc == -ENOTSUP) {
				known = 0;
			}
			munmap(p, (size_t)page);
		}
		if (fd >= 0)
			close(fd);
		if (known >= 0)
			__atomic_store_n(&shm_supported, known, __ATOMIC_RELAXED);
	}
	if (known == 1)
		t->features |= MV_URING_FEATURE_SHM;
}

/* Register @nslots empty slots: natively sparse (5.19), or empty entries (5.13). */
static int register_sparse(struct mv_uring *t)
{
	struct iovec *iov;
	__u64 *tags;
	char rel[65];
	int rc;

	rc = register_buffers_sparse(t->ring, t->nslots);
	if (rc == 0) {
		t->features |= MV_URING_FEATURE_SPARSE | MV_URING_FEATURE_TAGS;
		return 0;
	}
	if (rc == -EINVAL) {
		iov = calloc(t->nslots, sizeof(*iov));
		tags = calloc(t->nslots, sizeof(*tags));
		rc = iov && tags ? io_uring_register_buffers_tags(t->ring, iov, tags, t->nslots) :
				   -ENOMEM;
		free(iov);
		free(tags);
		if (rc == 0) {
			t->features |= MV_URING_FEATURE_TAGS;
			return 0;
		}
		if (rc == -EINVAL)
			return mv_fail(ENOTSUP, "this kernel (%s) has no updatable tables of "
						   "registered buffers (Linux 5.13 and later have)",
				       mv_uring_kernel_release(rel, sizeof(rel)));
	}
	switch (-rc) {
	case EBUSY:
		return mv_fail(EBUSY, "the ring already has registered buffers: the kernel keeps "
				      "one table per ring (unregister them, or free the other "
				      "mv_uring table)");
	case EBADF:
	case ENXIO:
	case EOPNOTSUPP:
		return mv_fail(EINVAL, "cannot register buffers with this ring (%s): is it "
				       "initialised?", strerror(-rc));
	case ENOMEM:
		return mv_fail(ENOMEM, "cannot allocate a table of %u registered buffers",
			       t->nslots);
	default:
		return mv_fail(-rc, "cannot register a table of %u buffers: %s", t->nslots,
			       strerror(-rc));
	}
}

int mv_uring_new(mv_uring **out, struct io_uring *ring, unsigned nslots)
{
	struct mv_uring *t;
	unsigned i;
	int rc;

	MV_CHECK_ARG(out, "out");
	MV_CHECK_ARG(ring, "ring");
	if (nslots == 0 || nslots > MV_URING_MAX_SLOTS)
		return mv_fail(EINVAL, "a table has 1 to %u slots, not %u", MV_URING_MAX_SLOTS,
			       nslots);
	t = calloc(1, sizeof(*t));
	if (!t)
		return mv_fail(ENOMEM, "cannot allocate a uring table");
	t->slots = calloc(nslots, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return mv_fail(ENOMEM, "cannot allocate %u uring slots", nslots);
	}
	/* Address space for every request number; pages are touched as numbers are made. */
	t->reqs = mmap(NULL, REQ_MAX * sizeof(*t->reqs), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t->reqs == MAP_FAILED) {
		free(t->slots);
		free(t);
		return mv_fail(ENOMEM, "cannot reserve %zu bytes of address space for the I/O "
				       "requests of a uring table", REQ_MAX * sizeof(*t->reqs));
	}
	t->ring = ring;
	t->nslots = nslots;
	rc = register_sparse(t);
	if (rc < 0) {
		munmap(t->reqs, REQ_MAX * sizeof(*t->reqs));
		free(t->slots);
		free(t);
		return rc;
	}
	probe_shm(t);
	pthread_mutex_init(&t->mu, NULL);
	t->registered = 1;
	t->serial = __atomic_fetch_add(&next_serial, 1, __ATOMIC_RELAXED) & 0xffu;
	for (i = 0; i < nslots; i++) {
		t->slots[i].exp.ops = &mv_uring_slot_ops;
		t->slots[i].t = t;
		t->slots[i].index = i;
		t->slots[i].ud = mv_uring_ud(0, t->serial, i, 0);
	}
	*out = t;
	return 0;
}

/*
 * Unregister with every slot locked. With @force, a failing unregister call (the ring is gone)
 * still empties the slots: no memview I/O is in flight, so the kernel no longer touches them.
 */
static int unregister(struct mv_uring *t, int force)
{
	unsigned i, locked = 0, held = 0, first = 0;
	long first_n = 0;
	int rc = 0;

	for (i = 0; i < t->nslots; i++) {
		long n = mv_exports_lock(&t->slots[i].exp);

		if (n) {
			if (!held++) {
				first = i;
				first_n = n;
			}
			continue;
		}
		if (!held)
			locked = i + 1;
		else
			mv_exports_unlock(&t->slots[i].exp);
	}
	if (held) {
		for (i = 0; i < locked; i++)
			mv_exports_unlock(&t->slots[i].exp);
		rc = busy(&t->slots[first], first_n, "unregister the table:");
		if (held > 1) {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s", mv_errmsg());
			rc = mv_fail(EBUSY, "%s; %u slots are held in all", msg, held);
		}
		return rc;
	}
	rc = io_uring_unregister_buffers(t->ring);
	if (rc < 0 && !force) {
		for (i = 0; i < t->nslots; i++)
			mv_exports_unlock(&t->slots[i].exp);
		return mv_fail(-rc, "cannot unregister the buffers: %s", strerror(-rc));
	}
	for (i = 0; i < t->nslots; i++) {
		struct uring_slot *s = &t->slots[i];
		struct retired *r = NULL;

		if (s->mem.kind != MV_URING_SLOT_EMPTY && s->gen && rc == 0)
			r = malloc(sizeof(*r));
		if (r) {
			r->index = i;
			r->gen = s->gen;
			r->mem = s->mem;
			r->next = t->retired;
			t->retired = r;
			t->npending++;
			memset(&s->mem, 0, sizeof(s->mem));
		} else {
			/* No tag to wait for (or no memory to wait in): release now. */
			mv_uring_mem_release(&s->mem);
		}
		s->gen = 0;
	}
	__atomic_store_n(&t->registered, 0, __ATOMIC_RELAXED);
	for (i = 0; i < t->nslots; i++)
		mv_exports_unlock(&t->slots[i].exp);
	return 0;
}

int mv_uring_unregister(mv_uring *t)
{
	int rc = 0;

	MV_CHECK_ARG(t, "t");
	pthread_mutex_lock(&t->mu);
	if (t->registered)
		rc = unregister(t, 0);
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int mv_uring_free(mv_uring *t)
{
	struct retired *r, *next;
	int rc = 0;

	if (!t)
		return 0;
	pthread_mutex_lock(&t->mu);
	if (t->registered)
		rc = unregister(t, 1);
	pthread_mutex_unlock(&t->mu);
	if (rc < 0)
		return rc;
	/*
	 * What still waits for its tag outlives the table: the kernel may use a buffer until the
	 * tag says it is done. mv_uring_complete() releases it when the tag arrives.
	 */
	for (r = t->retired; r; r = next) {
		next = r->next;
		mv_uring_orphan(r);
	}
	pthread_mutex_destroy(&t->mu);
	munmap(t->reqs, REQ_MAX * sizeof(*t->reqs));
	free(t->slots);
	free(t);
	return 0;
}

/* ------------------------------------------------------------------ describing */

/* @io: the slot's I/Os in flight (mv_uring_inflight()), or -1 when not wanted. */
static void slot_describe(const struct uring_slot *s, long io, mv_uring_slot_info *out)
{
	long n = mv_exporter_exports(&s->exp);

	if (io < 0)
		io = 0;

	*out = (mv_uring_slot_info){ .size = out->size };
	out->kind = s->mem.kind;
	out->readonly = s->mem.readonly;
	out->shared = s->mem.shared;
	out->addr = s->mem.base;
	out->len = s->mem.len;
	out->inflight = io;
	out->views = n > io ? n - io : 0;
}

int mv_uring_get_slot_info(mv_uring_slot_info *out, const mv_uring *t, unsigned index)
{
	int rc;

	MV_CHECK_SIZED(out, mv_uring_slot_info, MV_URING_SLOT_INFO_INIT);
	rc = check_table(t, index);
	if (rc < 0)
		return rc;
	slot_describe(&t->slots[index], mv_uring_inflight(t, index), out);
	return 0;
}

int mv_uring_get_info(mv_uring_info *out, const mv_uring *t)
{
	mv_uring_slot_info si = MV_URING_SLOT_INFO_INIT;
	long exports = 0;
	unsigned i;

	MV_CHECK_SIZED(out, mv_uring_info, MV_URING_INFO_INIT);
	MV_CHECK_ARG(t, "t");
	*out = (mv_uring_info){ .size = out->size };
	out->nslots = t->nslots;
	out->features = t->features;
	out->registered = __atomic_load_n(&t->registered, __ATOMIC_RELAXED);
	out->pending_tags = __atomic_load_n(&t->npending, __ATOMIC_RELAXED);
	/* One pass over the requests for the I/Os of all slots, not one per slot. */
	out->inflight = mv_uring_inflight(t, MV_URING_ALL_SLOTS);
	for (i = 0; i < t->nslots; i++) {
		slot_describe(&t->slots[i], -1, &si);
		out->used += si.kind != MV_URING_SLOT_EMPTY;
		out->bytes += si.len;
		exports += si.views;
	}
	out->views = exports > out->inflight ? exports - out->inflight : 0;
	return 0;
}
