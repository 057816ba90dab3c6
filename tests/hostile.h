/*
 * tests/hostile.h - the attack primitives of tests/check_hostile.c: every write a hostile peer
 * makes into memory memview shares, and everything that depends on where memview keeps what.
 *
 * The segment header and the channel control block are being redesigned (issue 12). When their
 * layout changes, rewrite these primitives for the new layout - the same attack, expressed against
 * the new format - and leave the test bodies alone: they only say what the peer does ("make the
 * header claim another data offset", "say that consumer left") and what the victim must see.
 * A primitive that the new design makes impossible (the write has nowhere to go, or the kernel
 * refuses it) should return -errno saying so; the tests treat that as the attack being refused.
 *
 * Every primitive acts as a peer that legitimately has what it uses: the same uid as the
 * segment's or channel's creator (or a user the creator gave access to), opening the object by
 * its name read-write as shm_open() allows. Nothing here calls the library.
 *
 * Today's layout comes from the library's own layout headers (lib/segment_layout.h,
 * lib/chan_layout.h), so the offsets below are the library's, not copies.
 */
#ifndef MEMVIEW_TESTS_HOSTILE_H
#define MEMVIEW_TESTS_HOSTILE_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/segment_layout.h"
#include "../lib/chan_layout.h"

#include "memview.h"

/* ------------------------------------------------------------------ segment header */

/* A peer's read-write mapping of a whole segment object (header page and data). */
struct hs_seg {
	int fd;
	unsigned char *map;
	size_t len;
};

/* Open segment @name read-write by name and map all of it. 0 or -errno. */
static inline int hs_seg_open(struct hs_seg *s, const char *name)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	if (fstat(s->fd, &st) < 0 || (size_t)st.st_size < sizeof(struct seg_header)) {
		close(s->fd);
		return -EINVAL;
	}
	s->len = (size_t)st.st_size;
	s->map = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->map == MAP_FAILED) {
		close(s->fd);
		return -errno;
	}
	return 0;
}

static inline void hs_seg_close(struct hs_seg *s)
{
	if (s->map && s->map != MAP_FAILED)
		munmap(s->map, s->len);
	if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

static inline struct seg_header *hs_hdr(struct hs_seg *s)
{
	return (struct seg_header *)s->map;
}

/* Smallest and largest data offset a header may claim and still pass the library's checks. */
static inline size_t hs_seg_min_data_offset(void)
{
	return SEG_ALIGN;
}

static inline size_t hs_seg_max_data_offset(void)
{
	return SEG_MAX_DATA_OFFSET;
}

/*
 * Attack 1 - a header every check accepts, with the data at @data_offset for @data_size bytes
 * and a new generation (so holders remap): written as the library's own writers write it (seq
 * made odd, fields, generation + 1, checksum over the static part, seq even again), so a reader
 * under the seqlock takes it as a finished, valid update.
 */
static inline void hs_seg_forge_data_geometry(struct hs_seg *s, uint64_t data_offset,
					      uint64_t data_size)
{
	struct seg_header *h = hs_hdr(s);

	__atomic_fetch_add(&h->seq, 1, __ATOMIC_ACQ_REL);
	h->data_offset = data_offset;
	h->data_size = data_size;
	h->generation++;
	h->checksum = (uint32_t)((uint64_t)mv_view_hash_bytes(h, SEG_CHECKSUMMED_BYTES) &
				 0xffffffffu);
	__atomic_fetch_add(&h->seq, 1, __ATOMIC_RELEASE);
}

/*
 * Attack 2 (helper) - fill every free holder slot with @pid (a live process, start time
 * unknown): every operation that consults the table under the header lock then checks each of
 * them in /proc, which keeps the victim inside the lock long enough for the peer to act.
 */
static inline void hs_seg_fill_holder_table(struct hs_seg *s, pid_t pid)
{
	struct seg_header *h = hs_hdr(s);
	int i;

	for (i = 0; i < SEG_MAX_HOLDERS; i++) {
		if (__atomic_load_n(&h->holders[i].pid, __ATOMIC_ACQUIRE) != 0)
			continue;
		h->holders[i].start_time = 0;
		h->holders[i].exports = 0;
		__atomic_store_n(&h->holders[i].pid, pid, __ATOMIC_RELEASE);
	}
}

/*
 * Attack 2 - whether another process holds the header lock right now, and glibc has already
 * linked it into that thread's robust list (the links live in the pthread_mutex_t, in the
 * shared header: __data.__list).
 */
static inline int hs_seg_lock_held(struct hs_seg *s)
{
	pthread_mutex_t *m = &hs_hdr(s)->lock.mutex;

	return __atomic_load_n(&m->__data.__lock, __ATOMIC_ACQUIRE) != 0 &&
	       __atomic_load_n(&m->__data.__list.__next, __ATOMIC_ACQUIRE) != NULL;
}

/*
 * Attack 2 - plant two addresses inside [@target, @target + @len) (memory of the victim's, at an
 * address the peer knows: both are forked from one process) in the robust-list links of the
 * header's mutex. glibc's unlock of a robust mutex unlinks it from the owner's list (x86-64,
 * glibc 2.36, DEQUEUE_MUTEX): *(next - 8) = prev and *prev = next, with prev and
 * next read from the mutex - here, from what the peer wrote. So the victim's next unlock writes
 * two values the peer chose at two addresses the peer chose. Returns 1 if it planted (the links
 * were glibc's, not already ours), 0 if not. @len must be at least 8 words.
 */
static inline int hs_seg_plant_write_targets(struct hs_seg *s, volatile void *target,
					     size_t len)
{
	pthread_mutex_t *m = &hs_hdr(s)->lock.mutex;
	uintptr_t *t = (uintptr_t *)target;
	struct __pthread_internal_list *want_prev = (void *)&t[5], *want_next = (void *)&t[3];

	if (len < 8 * sizeof(uintptr_t))
		return 0;
	if (__atomic_load_n(&m->__data.__list.__next, __ATOMIC_ACQUIRE) == want_next)
		return 0;
	__atomic_store_n(&m->__data.__list.__prev, want_prev, __ATOMIC_RELAXED);
	__atomic_store_n(&m->__data.__list.__next, want_next, __ATOMIC_RELEASE);
	return 1;
}

/*
 * Attack 2 (leak) - the bytes of the segment that any holder can read besides the data: the
 * header page. A pointer into a holder's address space must never appear in them.
 */
static inline const void *hs_seg_shared_metadata(struct hs_seg *s, size_t *len)
{
	*len = SEG_ALIGN < s->len ? SEG_ALIGN : s->len;
	return s->map;
}

/*
 * Small item "resize reads data_size twice" - store @v as the header's data size, nothing else
 * (no checksum, no seqlock): what a reader that re-reads the field after checking it sees.
 */
static inline void hs_seg_poke_data_size(struct hs_seg *s, uint64_t v)
{
	__atomic_store_n(&hs_hdr(s)->data_size, v, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ channel control block */

/*
 * A peer's read-write mapping of a channel's control memory: the control segment (a memview
 * segment named as the channel) is opened by name read-write - what every participant can do -
 * and the control block found at its data offset.
 */
struct hs_chan {
	int fd;
	unsigned char *map;
	size_t len;
	struct ctl_fixed *fx;
	uint64_t *ring;         /* {entry, length} per ring position */
	unsigned char *cons;    /* consumer places */
	size_t cons_stride;
	uint32_t nslots;        /* as the producer wrote it when the peer opened */
};

static inline int hs_chan_open(struct hs_chan *c, const char *name)
{
	struct seg_header *h;
	struct stat st;
	size_t off;

	memset(c, 0, sizeof(*c));
	c->fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (fstat(c->fd, &st) < 0 || (size_t)st.st_size < SEG_ALIGN + sizeof(struct ctl_fixed)) {
		close(c->fd);
		return -EINVAL;
	}
	c->len = (size_t)st.st_size;
	c->map = mmap(NULL, c->len, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->map == MAP_FAILED) {
		close(c->fd);
		return -errno;
	}
	h = (struct seg_header *)c->map;
	c->fx = (struct ctl_fixed *)(c->map + h->data_offset);
	c->nslots = c->fx->nslots;
	/* lib/chan.c ctl_layout(): ring after the fixed part, then the consumer places. */
	c->ring = (uint64_t *)((unsigned char *)c->fx + sizeof(struct ctl_fixed));
	off = sizeof(struct ctl_fixed) + 2 * (size_t)c->nslots * sizeof(uint64_t);
	off = (off + CL - 1) / CL * CL;
	c->cons = (unsigned char *)c->fx + off;
	c->cons_stride = (sizeof(struct ctl_consumer) + c->nslots * sizeof(uint32_t) + CL - 1) /
			 CL * CL;
	return 0;
}

static inline void hs_chan_close(struct hs_chan *c)
{
	if (c->map && c->map != MAP_FAILED)
		munmap(c->map, c->len);
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/*
 * Attack 3 - make the channel's geometry lie to whoever joins next: a slot size such that
 * slot count x slot size wraps to 0 in 64 bits (16 slots of 2^60 bytes), which passes a
 * "the data segment holds every slot" check done in size_t, and puts slot k at k x 2^60
 * bytes past the data. The slot count is left alone, so the layout of the control block (and
 * so joining) is unchanged. Returns -EINVAL if the slot count is not a power of two.
 */
static inline int hs_chan_forge_wrapping_geometry(struct hs_chan *c)
{
	uint32_t n = c->nslots;

	if (n < 2 || (n & (n - 1)))
		return -EINVAL;
	__atomic_store_n(&c->fx->slot_size, (uint64_t)1 << (64 - __builtin_ctz(n)),
			 __ATOMIC_RELEASE);
	return 0;
}

static inline struct ctl_consumer *hs_chan_place(struct hs_chan *c, int i)
{
	return (struct ctl_consumer *)(c->cons + (size_t)i * c->cons_stride);
}

/* Attack 4 - the consumer place process @pid occupies, or -1. */
static inline int hs_chan_place_of(struct hs_chan *c, pid_t pid)
{
	int i;

	for (i = 0; i < MV_CHAN_MAX_CONSUMERS; i++) {
		struct ctl_consumer *p = hs_chan_place(c, i);

		if (__atomic_load_n(&p->pid, __ATOMIC_ACQUIRE) == pid &&
		    __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != CONS_FREE)
			return i;
	}
	return -1;
}

/* Attack 4 - say, in the consumer's own state word, that the consumer at @place has left. */
static inline void hs_chan_forge_left(struct hs_chan *c, int place)
{
	__atomic_store_n(&hs_chan_place(c, place)->state, CONS_LEFT, __ATOMIC_RELEASE);
}

/*
 * Attack 4 - publish, in the producer's ring, message number @seq (0 is the first message a
 * consumer admitted at the start receives) as slot @slot with @len bytes.
 */
static inline void hs_chan_forge_message(struct hs_chan *c, uint64_t seq, uint32_t slot,
					 uint64_t len)
{
	uint64_t *e = &c->ring[2 * (seq % c->nslots)];

	e[1] = len;
	__atomic_store_n(&e[0], ((seq + 1) << SLOT_BITS) | slot, __ATOMIC_SEQ_CST);
}

/* Attack 5 - a peer's read-write mapping of a channel's slots. */
struct hs_data {
	unsigned char *base;    /* the mapping */
	size_t map_len;
	unsigned char *slots;   /* slot 0 */
	size_t len;             /* bytes of all slots */
};

/*
 * Attack 5 - the channel's data segment (the slots: the memview segment "<name>.data") opened by
 * name read-write and mapped. Returns 0, or -errno when the kernel refuses it (what a fixed
 * library must make happen, also for the same uid).
 */
static inline int hs_chan_data_map_rw(struct hs_data *d, const char *name)
{
	char dname[300];
	struct stat st;
	void *p;
	int fd, err;

	memset(d, 0, sizeof(*d));
	snprintf(dname, sizeof(dname), "%s.data", name);
	fd = shm_open(dname, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size <= SEG_ALIGN) {
		close(fd);
		return -EINVAL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = errno;
	close(fd);
	if (p == MAP_FAILED)
		return -err;
	d->base = p;
	d->map_len = (size_t)st.st_size;
	d->slots = d->base + ((struct seg_header *)p)->data_offset;
	d->len = d->map_len - ((struct seg_header *)p)->data_offset;
	return 0;
}

static inline void hs_chan_data_unmap(struct hs_data *d)
{
	if (d->base)
		munmap(d->base, d->map_len);
	memset(d, 0, sizeof(*d));
}

/*
 * Attack 6 - cut the channel's control memory away under every participant: open the control
 * segment by name read-write and truncate it to nothing. Returns 0 or -errno (refused).
 */
static inline int hs_chan_truncate_control(const char *name)
{
	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, 0) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Attack 6 - the name `mvshm rm` is given to remove a channel: its control segment's. */
static inline const char *hs_chan_rm_name(const char *name)
{
	return name;
}

#endif
