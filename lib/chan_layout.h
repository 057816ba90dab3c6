/*
 * lib/chan_layout.h - a channel's control-segment layout and the handle's private struct, shared
 * by lib/chan.c and the channel fuzzer (fuzz/fuzz_chan_handback.c), which plays a lying consumer
 * and checks the producer's private bookkeeping. Internal: not installed.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_CHAN_LAYOUT_H
#define MEMVIEW_CHAN_LAYOUT_H

#include "internal.h"

#include "memview/chan.h"
#include "memview/segment.h"

#define CHAN_MAGIC 0x4e414843564d0002ULL /* "MVCHAN" + version 2: {entry, length} ring */
#define CL 64
#define MAX_SLOTS 65536u
#define SLOT_BITS 16

enum { CONS_FREE = 0, CONS_JOINING = 1, CONS_ACTIVE = 2, CONS_LEFT = 3 };
enum { SLOT_FREE = 0, SLOT_LOANED = 1, SLOT_SENT = 2 };

/* The control segment's fixed part; the variable arrays follow at offsets computed from nslots. */
struct ctl_fixed {
	uint64_t magic;
	uint32_t nslots;
	uint32_t flags;
	uint64_t slot_size;
	int32_t ndim;
	uint32_t reserved;
	char format[16];
	int64_t shape[8];
	char pad0[CL - 16];
	/* producer line */
	uint32_t closed;       /* 1 after the producer closed */
	int32_t prod_pid;
	uint32_t joining;      /* bumped by each consumer that asks to join: the producer looks */
	char pad1[CL - 12];
	/* consumers sleep here */
	uint32_t pub_futex;    /* bumped by the producer when sleepers wait */
	uint32_t sleepers;     /* consumers about to sleep or sleeping */
	char pad2[CL - 8];
	/* the producer sleeps here, waiting for slots */
	uint32_t ret_futex;
	uint32_t prod_sleeping;
	char pad3[CL - 8];
};

/* One consumer's place: state line, its return queue's head line, the producer's tail line. */
struct ctl_consumer {
	uint32_t state;        /* CONS_* */
	int32_t pid;
	uint64_t start;        /* first sequence number it receives, set by the producer */
	char pad0[CL - 16];
	uint64_t ret_head;     /* written by the consumer */
	char pad1[CL - 8];
	uint64_t ret_tail;     /* written by the producer */
	char pad2[CL - 8];
	/* followed by uint32_t ret[nslots] */
};

/* A slot as an exporter, one per slot in each process. */
struct slot_exp {
	mv_exporter exp;
	struct mv_chan *ch;
	uint32_t slot;
	size_t nbytes;
	ssize_t items;     /* 1-D typed shape: the buffer record points here */
};

struct mv_chan {
	int producer;
	int cons_index;               /* consumer's place, -1 for the producer */
	mv_segment *ctl_seg, *data_seg;
	mv_buffer data_hold;          /* an export of the data segment, for the channel's life */
	char *ctl;                    /* the control memory */
	char *data;                   /* the slots */
	struct ctl_fixed *fx;
	uint64_t *ring;
	size_t cons_stride;
	char *cons_base;
	uint32_t nslots;
	size_t slot_size;
	unsigned flags;
	mv_format fmt;
	char format[16];
	int ndim;
	ssize_t shape[8];
	size_t typed_len;             /* bytes a typed slot view covers */
	char name[256];
	struct slot_exp *slots;       /* nslots exporters */
	/* producer only (private memory: the truth about who owes what) */
	uint64_t head;                /* next sequence number */
	uint8_t *slot_state;
	uint64_t *owed;               /* consumers that still hold each sent slot */
	uint32_t *free_stack;
	uint32_t nfree;
	uint64_t active;              /* admitted consumers */
	uint32_t joins_seen;          /* fx->joining when we last admitted */
	int loaned;                   /* slot loaned, or -1 */
	int sending;                  /* mv_chan_send() is releasing the loan */
	/* consumer only */
	uint64_t tail;                /* next sequence number to receive */
	mv_chan_stats stats;
};

#endif
