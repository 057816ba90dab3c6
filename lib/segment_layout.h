/*
 * lib/segment_layout.h - the on-disk (in-/dev/shm) layout of a memview segment header.
 *
 * This is an interface to other programs (documented in mv_segment(3)), so every field has a
 * fixed size and offset on a given architecture; the fields are in host byte order, since a
 * shared-memory segment never leaves its machine.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_SEGMENT_LAYOUT_H
#define MEMVIEW_SEGMENT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define SEG_MAGIC "MVSEGMT" /* 8 bytes with its NUL */
/*
 * 2: the header lock is a kernel lock (SEG_HEADER_LOCK_BYTE), no longer a glibc robust mutex in
 * the header, whose robust-list pointers a peer could aim at the lock holder's memory. Version 1
 * headers are refused: their writers would take a lock version 2 writers do not know.
 */
#define SEG_VERSION 2u
/*
 * The byte whose OFD read lock says "this process holds exports" (shrink and unlink ask for a
 * write lock on it). Locks need not lie inside the file; it is part of the format all the same.
 */
#define SEG_LOCK_BYTE 0
/*
 * The header lock: an OFD write lock on this byte guards changes of the header's static part
 * and holder-slot allocation. The kernel holds it, so nothing of it lives in shared memory, and
 * drops it when its holder dies. It is the last byte of the header page (data starts at a
 * multiple of SEG_ALIGN, so it is never data), away from the low bytes a format built on a
 * segment may want to lock for its own use.
 */
#define SEG_HEADER_LOCK_BYTE 4095
/* The data starts at a multiple of this, at least one page. */
#define SEG_ALIGN 4096u
/* Largest data offset a header may claim: anything larger is a lie. */
#define SEG_MAX_DATA_OFFSET (1u << 20)
/* Dimensions and holder slots a header has room for: fixed by the format, whatever the API's
 * limits (MV_MAXDIM, MV_SEGMENT_MAX_HOLDERS) become. */
#define SEG_MAXDIM 64
#define SEG_MAX_HOLDERS 64
/* "ndim" value meaning: one dimension that always covers the whole data. */
#define SEG_NDIM_AUTO (-1)

struct seg_holder {
	int32_t pid;          /* 0: free slot */
	uint32_t reserved;
	uint64_t start_time;  /* the process's start time, clock ticks after boot (/proc/PID/stat) */
	int64_t exports;      /* exports the holder's handle has, written only by that holder */
};

struct seg_header {
	/* --- static part: changed only under the header lock, covered by the checksum --- */
	char magic[8];          /* SEG_MAGIC, written last at creation */
	uint32_t version;       /* SEG_VERSION */
	uint32_t header_bytes;  /* sizeof(struct seg_header) of the writer */
	uint64_t data_offset;   /* multiple of SEG_ALIGN, <= SEG_MAX_DATA_OFFSET */
	uint64_t data_size;     /* bytes of data; file size is data_offset + data_size */
	uint64_t generation;    /* bumped by every resize */
	uint32_t flags;         /* reserved, 0 */
	int32_t ndim;           /* 0..64, or SEG_NDIM_AUTO */
	char format[16];        /* NUL-terminated item format */
	int64_t shape[SEG_MAXDIM]; /* ndim entries */
	int32_t creator_pid;
	uint32_t reserved0;
	uint64_t creator_start; /* creator's start time, as in seg_holder */
	uint64_t created_ns;    /* CLOCK_REALTIME at creation, nanoseconds */
	uint32_t checksum;      /* low 32 bits of SipHash-1-3, zero key, over the bytes before it */
	uint32_t seq;           /* odd while a writer changes the static part */
	/* --- dynamic part --- */
	char unused[64];        /* 0; never read (version 1 kept a glibc mutex here) */
	uint32_t max_holders;   /* MV_SEGMENT_MAX_HOLDERS */
	uint32_t reserved1;
	struct seg_holder holders[SEG_MAX_HOLDERS];
};

#define SEG_CHECKSUMMED_BYTES offsetof(struct seg_header, checksum)
/* What a reader copies under the seqlock: the static part, checksum and seq. */
#define SEG_STATIC_BYTES offsetof(struct seg_header, unused)

/* The layout is documented byte by byte in mv_segment(3): keep it so. */
_Static_assert(offsetof(struct seg_header, checksum) == 600, "header layout");
_Static_assert(offsetof(struct seg_header, seq) == 604, "header layout");
_Static_assert(offsetof(struct seg_header, holders) == 680, "header layout");
_Static_assert(sizeof(struct seg_header) == 2216, "header layout");
_Static_assert(SEG_HEADER_LOCK_BYTE >= sizeof(struct seg_header) &&
		       SEG_HEADER_LOCK_BYTE < SEG_ALIGN, "the header lock byte is never data");

#endif
