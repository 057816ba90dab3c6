/*
 * lib/segment_internal.h - what the segment modules share: segment_header.c (the format shared
 * between processes: header, header lock, holder table, lock byte, probe), segment.c (the
 * process-local handle: mapping, exporter, resize) and shm.c (named and memfd objects: create,
 * open, import, unlink).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_SEGMENT_INTERNAL_H
#define MEMVIEW_SEGMENT_INTERNAL_H

#include "internal.h"
#include "segment_layout.h"

#include <pthread.h>

#include "memview/segment.h"

struct mv_segment {
	mv_exporter exp;          /* first: the handle is the exporter */
	int fd;
	int is_memfd;
	unsigned flags;           /* MV_SEGMENT_* the handle was opened with */
	char name[256];           /* "/name", or the memfd's debug name */
	struct seg_header *hdr;   /* the shared header; NULL for raw segments */
	char *map;                /* the whole mapping: header page(s) + data */
	size_t map_len;
	size_t data_offset;       /* fixed for the segment's life: a header that moves it is refused */
	size_t data_size;         /* bytes of data mapped; data_offset + data_size <= map_len */
	uint64_t generation;      /* of the header when mapped */
	/* Validated copies of the header's typing: never re-read from shared memory. */
	char format[MV_SEGMENT_FORMAT_MAX];
	mv_format fmt;
	int ndim;                 /* SEG_NDIM_AUTO or 0..64 */
	ssize_t shape[MV_MAXDIM];
	ssize_t auto_shape;       /* items when ndim is SEG_NDIM_AUTO (buffer records point here) */
	int slot;                 /* our holder slot, or -1 */
	pid_t pid;                /* our pid when the slot was taken (fork changes it) */
	pthread_mutex_t mu;       /* process-local: export transitions and the kernel lock */
	long nexports;            /* under mu */
	int locked;               /* under mu: we hold the OFD read lock */
	pid_t creator;
	/*
	 * Process-local: held with the header lock. The kernel's lock belongs to the open file
	 * description, which the threads of this process share, so it cannot exclude them.
	 */
	pthread_mutex_t hdr_mu;
};

/* ---- segment_header.c: the shared format */

/* Start time of @pid in clock ticks after boot (/proc/PID/stat), or 0 if unknown. */
MV_HIDDEN uint64_t mv_seg_proc_start_time(pid_t pid);
/* 1 if @pid is the process that started at @start, 0 if it is gone or the pid was reused. */
MV_HIDDEN int mv_seg_holder_alive(pid_t pid, uint64_t start);
/* The checksum of a header's static part. */
MV_HIDDEN uint32_t mv_seg_header_checksum(const struct seg_header *h);
/* Copy the static part of @hdr into @snap under the seqlock (the private copy to check and use). */
MV_HIDDEN int mv_seg_header_snapshot(const struct seg_header *hdr, const char *name,
				     struct seg_header *snap);
/*
 * Check a private snapshot against @limit, the bytes of the object this process maps or is
 * about to map (never more than the object's size): -EBADMSG naming the check.
 */
MV_HIDDEN int mv_seg_header_check(const char *name, const struct seg_header *h, off_t limit);
/* Write a fresh header (format, shape, creator; the magic last) for @data_size bytes. */
MV_HIDDEN void mv_seg_header_init(struct seg_header *h, size_t data_size,
				  const mv_segment_opts *opts);
/*
 * Change the static part (caller holds the header lock): begin makes seq odd; end writes @next,
 * a private copy of the static part with fields changed, with its checksum computed over @next,
 * and makes seq even. @seq is the (even) seq of the snapshot @next was made from.
 */
MV_HIDDEN void mv_seg_header_write_begin(struct seg_header *h, uint32_t seq);
MV_HIDDEN void mv_seg_header_write_end(struct seg_header *h, struct seg_header *next, uint32_t seq);
/*
 * Take @seg's header lock: @seg->hdr_mu, then the kernel's write lock on SEG_HEADER_LOCK_BYTE
 * through @seg->fd, each waited for at most 2 s in all (-EBUSY naming who holds it). A header a
 * writer left mid-update (seq odd: it died holding the lock) is repaired first. -EBADMSG when
 * the header page was truncated away, -EPERM in a forked child (it shares the parent's open file
 * description, so the kernel could not exclude the two). Unlock with mv_seg_header_unlock().
 */
MV_HIDDEN int mv_seg_header_lock(struct mv_segment *seg);
MV_HIDDEN void mv_seg_header_unlock(struct mv_segment *seg);
/* Free the holder slots of processes that are gone (under the header lock). */
MV_HIDDEN void mv_seg_holders_reclaim(struct seg_header *h);
/* Take a holder slot for this process (seg->slot -1 when none is free: the kernel lock still
 * counts us). */
MV_HIDDEN int mv_seg_holder_join(struct mv_segment *seg);
MV_HIDDEN void mv_seg_holder_leave(struct mv_segment *seg);
/*
 * Report a private copy of the holder table into the caller's @out (up to @max entries of
 * @out[0].size bytes): the number of holders. The caller checked @out's size.
 */
MV_HIDDEN ssize_t mv_seg_holders_report(mv_segment_holder *out, size_t max,
					const struct seg_holder *copy);
MV_HIDDEN void mv_seg_holder_set_exports(struct seg_header *h, int slot, long exports);

/* ---- shm_room.c: memory for a new or growing object */

/*
 * 0 if @bytes of shared memory can be had now (available RAM and free swap, and what the
 * caller's memory cgroups still allow), else -ENOSPC with a message naming @name: reserving
 * more would start the OOM killer. Unknown limits (no /proc, no cgroup files) pass.
 */
MV_HIDDEN int mv_shm_room_check(size_t bytes, const char *name);

/* ---- segment.c: the process-local handle */

/* Map @seg->fd and check its header (or treat it as raw); sets every field but exp. */
MV_HIDDEN int mv_seg_attach(struct mv_segment *seg);
/* Write a fresh header into @seg->fd (size already reserved) and attach. */
MV_HIDDEN int mv_seg_format_new(struct mv_segment *seg, size_t data_size,
				const mv_segment_opts *opts);
/* Undo mv_seg_attach(): leave the holder slot, unmap. Does not close the fd. */
MV_HIDDEN void mv_seg_detach(struct mv_segment *seg);
/* Allocate a handle for @fd (owned from now on) with @flags. */
MV_HIDDEN int mv_seg_new(struct mv_segment **out, int fd, unsigned flags, const char *name,
			 int is_memfd);
/* Free a handle that never had exports (failure paths). Closes the fd. */
MV_HIDDEN void mv_seg_free(struct mv_segment *seg);
/* Try to take the kernel write lock on the lock byte: 0, -EBUSY when another process holds
 * exports, other -errno. Released with mv_seg_unlock_byte(). */
MV_HIDDEN int mv_seg_lock_byte_write(int fd);
MV_HIDDEN void mv_seg_unlock_byte(int fd);
/* Options with defaults filled in; -EINVAL for a bad size field. */
MV_HIDDEN int mv_seg_opts(mv_segment_opts *out, const mv_segment_opts *in);

#endif
