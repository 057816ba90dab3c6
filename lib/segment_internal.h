/*
 * lib/segment_internal.h - what segment.c (header, holders, exporter) and shm.c (named and memfd
 * objects: create, open, import, unlink) share.
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
