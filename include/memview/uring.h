/*
 * memview/uring.h - io_uring registered buffers as exporters: views the kernel reads and writes
 * through fixed I/O, held until the I/O completes.
 *
 * An mv_uring is a table of buffer slots registered with a caller's struct io_uring (one table per
 * ring: the kernel keeps one buffer table per ring). The table is registered sparse: every slot
 * starts empty, and each slot is filled or replaced on its own with
 *   mv_uring_alloc()   memory memview allocates (page-aligned, zeroed, freed by memview),
 *   mv_uring_wrap()    the caller's memory, with a callback run when memview is done with it,
 *   mv_uring_attach()  a range of another exporter's memory - a shared memory segment
 *                      (mv_segment_exporter()), so that a read lands directly in memory other
 *                      processes view, or a heap bytearray. The slot holds a writable export of
 *                      that exporter for as long as it is registered, so the segment can be
 *                      neither closed nor shrunk, nor the bytearray resized, under the kernel.
 *
 * Each slot is an exporter (mv_uring_exporter()): views of it are ordinary views that can be
 * sliced and cast, and each knows its slot (mv_uring_locate()). A fixed read or write is prepared
 * straight from a view (mv_uring_prep_read_fixed(), mv_uring_prep_write_fixed()): the view's
 * address and length within its slot become the request's. Preparing takes one more export of
 * the slot, released only when the completion is passed to mv_uring_complete(); so while a view
 * exists or the kernel may still touch the memory, replacing, clearing or unregistering the slot
 * fails with -EBUSY, and the message says how many views and how many I/Os hold it.
 *
 * The kernel never refuses a buffer update: an I/O in flight finishes into the old pages, and the
 * kernel tells when its last use of a replaced buffer ended with a *tag completion*. memview
 * registers every buffer with a tag and keeps a replaced buffer's memory (frees it, calls the
 * wrap callback, keeps the attached export) until mv_uring_complete() sees that tag.
 *
 * user_data: memview owns every user_data whose top byte is MV_URING_USER_DATA_MAGIC (0xb7): its
 * requests and its tags. Pass every completion of the ring to mv_uring_complete(): it tells
 * memview's from the caller's (MV_URING_CQE_FOREIGN), and the caller marks each one seen with
 * io_uring_cqe_seen() as usual. A request memview prepares carries a 32-bit cookie of the
 * caller's, given back in the completion.
 *
 * This header does not include <liburing.h>; include it to use the ring.
 *
 * Thread-safety: views of slots may be taken and released from any thread (export counts are
 * atomic). Calls that use the ring - the prep functions and the slot changes - follow the ring's
 * rule: one thread at a time, as liburing requires for a struct io_uring. mv_uring_complete() may
 * be called from any thread. mv_uring_free() must not race with any other call on the table.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_URING_H
#define MEMVIEW_URING_H

#include "memview/buffer.h"
#include "memview/view.h"

MV_BEGIN_DECLS

struct io_uring;
struct io_uring_sqe;
struct io_uring_cqe;

typedef struct mv_uring mv_uring;

/* The kernel's limits: slots per table (IORING_MAX_REG_BUFFERS) and bytes per slot. */
#define MV_URING_MAX_SLOTS 16384u
#define MV_URING_MAX_SLOT_SIZE ((size_t)1 << 30)

/* Top byte of every user_data memview puts on the ring (its requests and its buffer tags). */
#define MV_URING_USER_DATA_MAGIC 0xb7u

/* What the kernel offers, found by probing it (mv_uring_get_info().features). */
#define MV_URING_FEATURE_SPARSE 0x1u /* sparse tables registered natively (Linux 5.19) */
#define MV_URING_FEATURE_TAGS 0x2u   /* buffer tags: replaced memory is kept until its tag */
#define MV_URING_FEATURE_SHM 0x4u    /* shared memory (shm, memfd) registers as a buffer */

/* What a slot holds (mv_uring_get_slot_info().kind). */
#define MV_URING_SLOT_EMPTY 0
#define MV_URING_SLOT_ALLOC 1  /* mv_uring_alloc() */
#define MV_URING_SLOT_WRAP 2   /* mv_uring_wrap() */
#define MV_URING_SLOT_ATTACH 3 /* mv_uring_attach() */

/* Request kinds (mv_uring_result.op). */
#define MV_URING_OP_READ 1
#define MV_URING_OP_WRITE 2

/* What mv_uring_complete() found. */
#define MV_URING_CQE_FOREIGN 0  /* not memview's: the caller's own completion */
#define MV_URING_CQE_IO 1       /* a memview read or write: see the mv_uring_result */
#define MV_URING_CQE_INTERNAL 2 /* memview's own (a buffer tag): nothing for the caller to do */

/* A memview I/O completion, as mv_uring_complete() reports it. Start from MV_URING_RESULT_INIT. */
typedef struct mv_uring_result {
	size_t size;     /* sizeof(mv_uring_result), set by the caller */
	int res;         /* the kernel's result: bytes transferred, or a negative errno of the I/O */
	unsigned index;  /* the slot */
	uint32_t cookie; /* the caller's cookie given to the prep call */
	int op;          /* MV_URING_OP_READ or MV_URING_OP_WRITE */
} mv_uring_result;

#define MV_URING_RESULT_INIT MV_SIZED_INIT(mv_uring_result)

/* The table, as mv_uring_get_info() reports it. Start from MV_URING_INFO_INIT. */
typedef struct mv_uring_info {
	size_t size;           /* sizeof(mv_uring_info), set by the caller */
	unsigned nslots;       /* slots in the table */
	unsigned used;         /* slots holding memory */
	unsigned features;     /* MV_URING_FEATURE_* */
	unsigned pending_tags; /* replaced buffers whose tag completion has not been seen yet */
	size_t bytes;          /* bytes registered in all slots */
	long views;            /* exports held by views and buffer records, all slots */
	long inflight;         /* I/Os prepared and not yet completed, all slots */
	int registered;        /* 1 until mv_uring_unregister() */
} mv_uring_info;

#define MV_URING_INFO_INIT MV_SIZED_INIT(mv_uring_info)

/* One slot, as mv_uring_get_slot_info() reports it. Start from MV_URING_SLOT_INFO_INIT. */
typedef struct mv_uring_slot_info {
	size_t size;   /* sizeof(mv_uring_slot_info), set by the caller */
	int kind;      /* MV_URING_SLOT_* */
	int readonly;  /* views of it are readonly */
	int shared;    /* the memory is a MAP_SHARED mapping of shm or memfd: other processes see it */
	void *addr;    /* the memory; NULL when empty */
	size_t len;    /* bytes; 0 when empty */
	long views;    /* exports held by views and buffer records */
	long inflight; /* I/Os prepared and not yet completed */
} mv_uring_slot_info;

#define MV_URING_SLOT_INFO_INIT MV_SIZED_INIT(mv_uring_slot_info)

/*
 * mv_uring_queue_init - io_uring_queue_init() with the failure explained in mv_errmsg(): -ENOSYS
 * (no io_uring in this kernel, or a seccomp filter answering ENOSYS), -EPERM (sysctl
 * kernel.io_uring_disabled, whose value the message gives, or a seccomp/LSM policy), -ENOMEM
 * (RLIMIT_MEMLOCK, which ring memory counts against), -EINVAL (@flags unsupported).
 *
 * @ring:    the caller's ring, initialised on success.
 * @entries: submission queue entries.
 * @flags:   IORING_SETUP_* flags.
 *
 * Returns 0 or what io_uring_queue_init() returns. Thread-safe.
 */
MV_EXPORT int mv_uring_queue_init(struct io_uring *ring, unsigned entries, unsigned flags);

/*
 * mv_uring_new - register a sparse table of @nslots empty buffer slots with @ring.
 *
 * @out:    the new table; written only on success.
 * @ring:   an initialised ring without registered buffers; it must outlive the table.
 * @nslots: 1 .. MV_URING_MAX_SLOTS.
 *
 * Probes the kernel (sparse tables, tags, shared memory: mv_uring_get_info()). Returns 0, or
 * -EINVAL (NULL, @nslots out of range), -EBUSY (the ring already has registered buffers),
 * -ENOTSUP (the kernel has no updatable buffer tables: Linux 5.13 or later has),
 * -ENOMEM, or the kernel's error, explained.
 */
MV_EXPORT int mv_uring_new(mv_uring **out, struct io_uring *ring, unsigned nslots);

/*
 * mv_uring_alloc - fill slot @index with @len bytes that memview allocates: page-aligned (so
 * O_DIRECT works), zero-filled, writable, freed by memview.
 *
 * Replacing an occupied slot is refused while it is held (see mv_uring_clear()); the old memory
 * is released after its tag completion. Returns 0, or -EINVAL (@len 0 or above
 * MV_URING_MAX_SLOT_SIZE), -ERANGE (@index), -EBUSY, -EBADF (table unregistered), -ENOMEM
 * (out of memory, or RLIMIT_MEMLOCK: the message names the limit and how to raise it).
 */
MV_EXPORT int mv_uring_alloc(mv_uring *t, unsigned index, size_t len);

/*
 * mv_uring_wrap - fill slot @index with the caller's @len bytes at @mem. The memory must be
 * mapped writable (the kernel pins registered pages for writing); @readonly makes every view of
 * the slot readonly, so it can only be the source of writes. @release (may be NULL) is called
 * once with @ctx when memview is done with the memory: after the tag completion that follows
 * its replacement or the table's unregistration, or at mv_uring_free().
 *
 * Returns as mv_uring_alloc(), and -EROFS (part of the range is mapped without write
 * permission), -EINVAL (a MAP_PRIVATE mapping of shared memory: reads would land in private
 * copy-on-write pages and never reach the shared object), -ENOTSUP (a MAP_SHARED mapping of a
 * regular file, which the kernel refuses), -EFAULT (part of the range is not mapped).
 * On failure @release is not called.
 */
MV_EXPORT int mv_uring_wrap(mv_uring *t, unsigned index, void *mem, size_t len, int readonly,
			    mv_release_fn release, void *ctx);

/*
 * mv_uring_attach - fill slot @index with bytes [@offset, @offset + @len) of @exp's memory
 * (@len 0: to its end), typically a segment's data (mv_segment_exporter()). The slot takes a
 * writable, C-contiguous export of @exp and keeps it until the buffer's tag completion after it
 * is replaced or unregistered (or until mv_uring_free()): meanwhile the segment cannot be
 * closed or shrunk.
 *
 * Returns as mv_uring_wrap(), and -EROFS (@exp is readonly, e.g. a segment opened
 * MV_SEGMENT_READONLY: the kernel cannot register a readonly mapping), -EINVAL (the range lies
 * outside @exp's memory, or @exp is not C-contiguous), -ENOTSUP (the kernel refuses shared
 * memory: mv_uring_get_info().features lacks MV_URING_FEATURE_SHM), or what mv_buffer_get() returns.
 */
MV_EXPORT int mv_uring_attach(mv_uring *t, unsigned index, mv_exporter *exp, size_t offset,
			      size_t len);

/*
 * mv_uring_clear - empty slot @index. Refused with -EBUSY while views of the slot exist or I/O
 * prepared from them has not been completed through mv_uring_complete() ("uring slot 3 is held
 * by 1 view and 2 I/Os in flight"). The old memory is released after its tag completion.
 * Clearing an empty slot succeeds. Returns 0, -EBUSY, -ERANGE, -EBADF, -EINVAL.
 */
MV_EXPORT int mv_uring_clear(mv_uring *t, unsigned index);

/*
 * mv_uring_unregister - unregister the whole table from its ring (io_uring_unregister_buffers).
 * Refused with -EBUSY, changing nothing, while any slot is held. Afterwards every slot is empty,
 * slot changes fail with -EBADF, and the table stays valid for mv_uring_complete() (the tag
 * completions of its buffers follow) until mv_uring_free(). Idempotent. Returns 0, -EBUSY,
 * -EINVAL, or the kernel's error.
 */
MV_EXPORT int mv_uring_unregister(mv_uring *t);

/*
 * mv_uring_free - unregister (if not done yet) and free the table. Refused with -EBUSY while any
 * slot is held; then nothing changes. Memory whose tag completion has not been seen is released
 * at once: with no memview I/O in flight the kernel no longer touches it. Tags arriving later
 * are still recognised by mv_uring_complete() with a NULL table. Free the table before
 * io_uring_queue_exit(). NULL is a no-op. Returns 0, -EBUSY.
 */
MV_EXPORT int mv_uring_free(mv_uring *t);

/*
 * mv_uring_exporter - slot @index as an exporter, for mv_view_from() and mv_buffer_get(). Its
 * buffers are 1-D bytes ("B") over the whole slot; an empty slot refuses them with -EINVAL.
 * Returns NULL for a NULL table or an index out of range.
 */
MV_EXPORT mv_exporter *mv_uring_exporter(mv_uring *t, unsigned index);

/*
 * mv_uring_locate - the slot of a view and the view's byte offset within it.
 *
 * @index:  the buffer index (the slot); may be NULL.
 * @offset: bytes from the slot's start to the view's first byte; may be NULL.
 * @t:      the table.
 * @v:      a C-contiguous view of a slot of @t (or a slice or cast of one).
 *
 * Returns 0, -EBADF (released view), -EINVAL (NULL; the view is not of a slot of @t; not
 * C-contiguous; not inside its slot).
 */
MV_EXPORT int mv_uring_locate(unsigned *index, size_t *offset, const mv_uring *t,
			      const mv_view *v);

/*
 * mv_uring_prep_read_fixed / mv_uring_prep_write_fixed - take a submission queue entry of the
 * table's ring and prepare a fixed read from @fd into @v, or a fixed write of @v to @fd, at
 * file offset @offset ((uint64_t)-1: the file position). The request covers exactly the view's
 * bytes in its slot; the slot stays held until mv_uring_complete() sees the completion.
 *
 * @sqe:    the prepared entry, for adding IOSQE_* flags (do not change user_data, buf_index,
 *          addr or len); may be NULL. Written only on success.
 * @t:      the table of the view's slot.
 * @fd:     the file (or a registered file index with IOSQE_FIXED_FILE).
 * @v:      a C-contiguous view of a slot of @t.
 * @cookie: the caller's value, given back in mv_uring_result.cookie.
 *
 * Returns 0, or -EROFS (a read into a readonly view: the kernel would write it), -EBADF
 * (released view), -EINVAL (as mv_uring_locate()), -EAGAIN (the submission queue is full:
 * submit first). Nothing is taken on failure. Ring rules apply (one thread at a time).
 */
MV_EXPORT int mv_uring_prep_read_fixed(struct io_uring_sqe **sqe, mv_uring *t, int fd,
				       const mv_view *v, uint64_t offset, uint32_t cookie);
MV_EXPORT int mv_uring_prep_write_fixed(struct io_uring_sqe **sqe, mv_uring *t, int fd,
					const mv_view *v, uint64_t offset, uint32_t cookie);

/*
 * mv_uring_complete - look at a completion of the table's ring. A memview I/O completion
 * releases the slot export its prep call took and is reported in @out; a memview tag completion
 * releases the replaced memory it is about. Does not mark the completion seen: the caller calls
 * io_uring_cqe_seen() for every completion, memview's or not.
 *
 * @out: the I/O's result (MV_URING_CQE_IO only); may be NULL.
 * @t:   the table; NULL is accepted for tags arriving after mv_uring_free().
 * @cqe: the completion.
 *
 * Returns MV_URING_CQE_FOREIGN (not memview's; @out untouched), MV_URING_CQE_IO,
 * MV_URING_CQE_INTERNAL (a tag), or -EINVAL (NULL @cqe; an I/O completion with a NULL table or
 * of another table; a slot with no I/O in flight, i.e. a completion passed twice).
 */
MV_EXPORT int mv_uring_complete(mv_uring_result *out, mv_uring *t, const struct io_uring_cqe *cqe);

/*
 * mv_uring_get_info - describe the table (a snapshot) in @out, up to @out->size bytes.
 * Returns 0, -EINVAL.
 */
MV_EXPORT int mv_uring_get_info(mv_uring_info *out, const mv_uring *t);

/*
 * mv_uring_get_slot_info - describe slot @index (a snapshot) in @out, up to @out->size bytes.
 * Returns 0, -EINVAL, -ERANGE.
 */
MV_EXPORT int mv_uring_get_slot_info(mv_uring_slot_info *out, const mv_uring *t,
				     unsigned index);

MV_END_DECLS

#endif /* MEMVIEW_URING_H */
