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
	size_t data_offset;
	size_t data_size;         /* bytes of data mapped */
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
};

/* ---- segment_header.c: the shared format */

/* Start time of @pid in clock ticks after boot (/proc/PID/stat), or 0 if unknown. */
MV_HIDDEN uint64_t mv_seg_proc_start_time(pid_t pid);
/* 1 if @pid is the process that started at @start, 0 if it is gone or the pid was reused. */
MV_HIDDEN int mv_seg_holder_alive(pid_t pid, uint64_t start);
/* The checksum of a header's static part. */
MV_HIDDEN uint32_t mv_seg_header_checksum(const struct seg_header *h);
/* Copy the static part of @hdr into @snap under the seqlock. */
MV_HIDDEN int mv_seg_header_snapshot(const struct seg_header *hdr, const char *name,
				     struct seg_header *snap);
/* Check a private snapshot against the object's real size; -EBADMSG naming the check. */
MV_HIDDEN int mv_seg_header_check(const char *name, const struct seg_header *h, off_t file_size);
/* Write a fresh header (format, shape, creator, lock; the magic last) for @data_size bytes. */
MV_HIDDEN void mv_seg_header_init(struct seg_header *h, size_t data_size,
				  const mv_segment_opts *opts);
/* Begin and end a change of the static part (under the header lock). */
MV_HIDDEN void mv_seg_header_write_begin(struct seg_header *h);
MV_HIDDEN void mv_seg_header_write_end(struct seg_header *h);
/* Take the header lock of the segment open as @fd (repairing after a dead owner); unlock. */
MV_HIDDEN int mv_seg_header_lock(struct seg_header *h, int fd, const char *name);
MV_HIDDEN void mv_seg_header_unlock(struct seg_header *h);
/* Free the holder slots of processes that are gone (under the header lock). */
MV_HIDDEN void mv_seg_holders_reclaim(struct seg_header *h);
/* Take a holder slot for @pid (*slot -1 when none is free: the kernel lock still counts us). */
MV_HIDDEN int mv_seg_holder_join(int *slot, struct seg_header *h, int fd, const char *name,
				 pid_t pid);
MV_HIDDEN void mv_seg_holder_leave(struct seg_header *h, int fd, const char *name, int slot,
				   pid_t pid);
MV_HIDDEN void mv_seg_holder_set_exports(struct seg_header *h, int slot, long exports);

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
