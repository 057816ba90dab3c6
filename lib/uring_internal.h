/*
 * lib/uring_internal.h - what the io_uring modules share (not installed): the table and its
 * slots (lib/uring.c), fixed I/O and completions (lib/uring_io.c), ring creation and refusals
 * explained (lib/uring_init.c), judging memory from /proc/self/maps (lib/uring_mapping.c).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MV_URING_INTERNAL_H
#define MV_URING_INTERNAL_H

#include "internal.h"

#include <pthread.h>

#define UD_KIND_READ 1u
#define UD_KIND_WRITE 2u
#define UD_KIND_TAG 3u

/* What occupies a slot: one of the MV_URING_SLOT_* kinds and what releasing it takes. */
struct slot_mem {
	int kind;                    /* MV_URING_SLOT_* */
	int readonly;                /* views are readonly */
	int shared;                  /* MAP_SHARED shm or memfd (from /proc/self/maps) */
	char *base;
	size_t len;                  /* bytes registered */
	size_t map_len;              /* ALLOC: bytes mmap'ed */
	mv_release_fn release; /* WRAP */
	void *ctx;                   /* WRAP */
	mv_buffer held;              /* ATTACH: the export of the attached exporter */
};

struct uring_slot {
	mv_exporter exp;     /* first: views and I/Os in flight (exp.exports) */
	struct mv_uring *t;
	uint64_t ud;         /* user_data of its I/Os but for the kind and the low word */
	unsigned index;
	uint32_t gen;        /* generation in the tag of the memory registered now; under t->mu */
	struct slot_mem mem; /* changed only under t->mu with the exports locked */
};

/* A replaced buffer waiting for its tag completion. */
struct retired {
	struct retired *next;
	unsigned index;
	uint32_t gen;
	struct slot_mem mem;
};

/*
 * A prepared I/O: @ud 0 when free, else the user_data its request carries (which names the
 * table, the slot, the kind, the number and its generation), with the caller's cookie. A
 * completion is memview's live I/O exactly when its user_data equals its request's @ud. A free
 * request is on one of the table's two free lists, linked through @next (request number + 1;
 * 0 ends a list), which shares the cookie's place.
 */
struct uring_req {
	uint64_t ud;
	union {
		uint32_t cookie; /* live */
		uint32_t next;   /* free */
	};
};

#define REQ_BITS 20
#define REQ_GEN_BITS 12
#define REQ_CHUNK 1024u /* numbers made at a time */
#define REQ_MAX (1u << REQ_BITS)

struct mv_uring {
	/*
	 * What every I/O reads or writes, first (one cache line). Requests: an array with room
	 * for every request number there can be, reserved at once (REQ_MAX entries, 16 MiB of
	 * address space, MAP_NORESERVE) and touched only as far as numbers are made, so that it
	 * never moves (completions may read it from any thread) and a number is its index.
	 * Free numbers wait on two lists: @req_local, which only prep calls use (the ring's
	 * thread), and @req_returned, where completions push theirs from any thread; a prep call
	 * that finds its own list empty takes the whole returned list in one exchange. Pushing
	 * with a compare-and-swap and taking the whole list (never popping one entry off a shared
	 * list) cannot suffer from ABA, so no lock is needed; while the process has one thread
	 * they are plain loads and stores.
	 */
	struct io_uring *ring;    /* the caller's */
	struct uring_slot *slots;
	struct uring_req *reqs;   /* REQ_MAX entries reserved, @nreq made */
	unsigned nslots;
	unsigned serial;          /* 8 bits, in every user_data of this table */
	uint32_t req_local;       /* prep calls only */
	uint32_t req_returned;    /* atomic */
	uint32_t nreq;            /* numbers made; grows on the ring's thread (release) */
	uint32_t req_gen;         /* prep calls only */
	/* The rest changes with the slots. */
	unsigned features;        /* MV_URING_FEATURE_* */
	int registered;           /* 0 after mv_uring_unregister(); under mu */
	pthread_mutex_t mu;       /* slot changes and the retired list */
	struct retired *retired;  /* under mu */
	unsigned npending;        /* entries of @retired; under mu */
};

/* A user_data of memview's (the layout is in lib/uring.c's opening comment). */
static inline uint64_t mv_uring_ud(unsigned kind, unsigned serial, unsigned index, uint32_t low)
{
	return (uint64_t)MV_URING_USER_DATA_MAGIC << 56 | (uint64_t)kind << 54 |
	       (uint64_t)(serial & 0xffu) << 46 | (uint64_t)(index & 0x3fffu) << 32 | low;
}

#define UD_KIND(ud) ((unsigned)((ud) >> 54) & 3u)
#define UD_SERIAL(ud) ((unsigned)((ud) >> 46) & 0xffu)
#define UD_INDEX(ud) ((unsigned)((ud) >> 32) & 0x3fffu)

/* The exporter operations of a slot: views of a slot are recognised by them. */
MV_HIDDEN extern const mv_exporter_ops mv_uring_slot_ops;
/* Give back what a slot held: free, call the wrap's callback, or release the attached export. */
MV_HIDDEN void mv_uring_mem_release(struct slot_mem *m);
/* Keep @r, of a table being freed, until its tag arrives (lib/uring_io.c). */
MV_HIDDEN void mv_uring_orphan(struct retired *r);
/*
 * I/Os prepared on slot @index and not yet completed (a snapshot; lib/uring_io.c), or on every
 * slot when @index is MV_URING_ALL_SLOTS. Counted from the live requests when asked (messages,
 * mv_uring_get_info()), so that an I/O keeps no count of its own.
 */
#define MV_URING_ALL_SLOTS (~0u)
MV_HIDDEN long mv_uring_inflight(const struct mv_uring *t, unsigned index);

/* What /proc/self/maps says about a range of memory. */
struct map_check {
	int known;         /* 1 if /proc/self/maps was read */
	int gap;           /* part of the range is not mapped */
	int readonly;      /* part of the range is mapped without write permission */
	int private_shm;   /* part of it is a MAP_PRIVATE mapping of shm/memfd */
	int shared_file;   /* part of it is a MAP_SHARED mapping of a file that is not shm */
	int shared;        /* all of it is a MAP_SHARED mapping of shm, memfd or shared anon */
};

/* Fill @mc from /proc/self/maps for @len bytes at @addr (lib/uring_mapping.c). */
MV_HIDDEN void mv_uring_scan_maps(const void *addr, size_t len, struct map_check *mc);
/* Refuse, with a message, what the kernel would refuse or accept with a surprise. */
MV_HIDDEN int mv_uring_check_mapping(const struct map_check *mc, unsigned index,
				     const void *addr, size_t len);

/* Fail with -ENOMEM for @what, naming RLIMIT_MEMLOCK and how to raise it when it applies. */
MV_HIDDEN int mv_uring_explain_enomem(const char *what);
/* The running kernel's release (uname -r) in @buf. */
MV_HIDDEN const char *mv_uring_kernel_release(char *buf, size_t cap);

#endif
