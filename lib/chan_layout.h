/*
 * lib/chan_layout.h - a channel's shared memory and the handle's private struct, shared by the
 * channel modules (chan.c: the data path; chan_admit.c: joining, admission, liveness;
 * chan_wire.c: the socket messages) and the channel fuzzers, which play lying consumers and
 * check the producer's private bookkeeping. Internal: not installed.
 *
 * Who writes what (each kernel-enforced, never a convention):
 *   - the producer's memory (one memfd segment: header, ring, slots) is written by the producer
 *     alone: sealed F_SEAL_FUTURE_WRITE after the producer mapped it, so no process of any uid,
 *     root included, can map it writable or write(2) it; sealed against shrinking and growing,
 *     so nobody can truncate it under a mapping. Consumers map it readonly.
 *   - each consumer's memory (its own memfd segment: its return queue and two wake words) is
 *     written by that consumer alone, sealed the same way; only the producer gets it, readonly.
 *   - nothing else is shared: joining, admission and "this participant is gone" go through a
 *     unix socket per consumer, whose end the kernel closes when a process dies.
 * Every value one side reads from the other's memory is read once, checked and used as a
 * private copy; layouts are computed privately from checked geometry, never read.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_CHAN_LAYOUT_H
#define MEMVIEW_CHAN_LAYOUT_H

#include "internal.h"

#include <poll.h>
#include <sys/un.h>

#include "memview/chan.h"
#include "memview/segment.h"

/* "MVCHAN" + layout version 3: producer and consumer memory apart, sockets for admission. */
#define CHAN_MAGIC 0x4e414843564d0003ULL
#define CHAN_CONS_MAGIC 0x534e4f43564d0003ULL /* "MVCONS" + 3 */
#define CL 64
#define MAX_SLOTS 65536u
#define SLOT_BITS 16
#define MAX_SLOT_SIZE ((size_t)1 << 40)
#define CHAN_MAXDIM 8
/* Longest channel name: the abstract socket address is "\0memview.chan" and the name. */
#define CHAN_NAME_MAX 90
/* Joiners that may be half-way through the handshake at once, and how long each may take. */
#define MAX_PENDING 16
#define PENDING_NS 5000000000LL

enum { SLOT_FREE = 0, SLOT_LOANED = 1, SLOT_SENT = 2 };

/* The start of the producer's memory: geometry, then one cache line per purpose. */
struct chan_hdr {
	uint64_t magic;
	uint32_t nslots;
	uint32_t flags;        /* MV_CHAN_SPIN */
	uint64_t slot_size;    /* a multiple of CL */
	int32_t ndim;          /* -1: 1-D over the message */
	uint32_t reserved;
	char format[16];
	int64_t shape[CHAN_MAXDIM];
	char pad0[CL - 16];
	/* producer line: read by consumers */
	uint32_t closed;       /* 1 after the producer closed */
	int32_t prod_pid;
	uint32_t prod_sleeping; /* the producer waits for slots: consumers wake it (CHAN_WAKE_*) */
	char pad1[CL - 12];
	/* consumers sleep here */
	uint32_t pub_futex;    /* bumped by the producer when a consumer sleeps */
	char pad2[CL - 4];
	/* then the ring (2 words per entry: publication, length) and, page-aligned, the slots */
};

/* The start of a consumer's memory; its return queue (nslots ids) follows. */
struct chan_cons {
	uint64_t magic;
	char pad0[CL - 8];
	uint64_t ret_head;     /* ids handed back so far */
	char pad1[CL - 8];
	uint32_t sleeping;     /* this consumer waits on pub_futex, or polls (CHAN_WAKE_*) */
	char pad2[CL - 4];
	uint32_t ret_futex;    /* bumped when it hands back while the producer sleeps */
	char pad3[CL - 4];
};

/*
 * The wait words (a consumer's `sleeping`, the producer's `prod_sleeping`): bit 0, the writer
 * sleeps on a futex; bit 1, it waits on its pollable descriptor (mv_chan_fd()), armed for the
 * generation in the bits above, so the other side sends one WAKE per arming, not per message.
 * Old readers take any non-zero word as "sleeping" and only make a futex wake: harmless.
 */
#define CHAN_WAKE_SLEEP 1u
#define CHAN_WAKE_POLL 2u
#define CHAN_WAKE_GEN_SHIFT 2

/* The ring position after @at in a ring of @n: counting, not dividing. */
static inline uint32_t chan_ring_next(uint32_t at, uint32_t n)
{
	return at + 1 == n ? 0 : at + 1;
}

/* Where things are in the producer's memory, computed from checked geometry. */
struct chan_geom {
	size_t ring_off;       /* 2 * nslots uint64_t */
	size_t data_off;       /* page-aligned */
	size_t total;          /* bytes of producer memory */
	size_t cons_total;     /* bytes of a consumer's memory */
};

/* A slot as an exporter, one per slot in each process. */
struct slot_exp {
	mv_exporter exp;
	struct mv_chan *ch;
	uint32_t slot;
	size_t nbytes;
	ssize_t items;         /* 1-D typed shape: the buffer record points here */
	struct mv_managed m;   /* the managed buffer of the one family of views of the slot */
};

/* The producer's private record of one consumer place. */
struct chan_peer {
	int fd;                /* the connection; -1 when the place is free */
	mv_segment *seg;       /* the consumer's memory, imported readonly */
	mv_buffer hold;        /* an export of it while it is a member */
	const struct chan_cons *mem;
	const uint32_t *ret;   /* its return queue */
	uint64_t ret_tail;     /* ids taken from its queue (private) */
	uint32_t ret_at;       /* ret_tail % nslots, kept so that collecting divides nothing */
	pid_t pid;             /* from SO_PEERCRED, for messages */
	uint32_t woke_gen;     /* the polling generation we last sent it a WAKE for */
};

/* A connection between accept and admission. */
struct chan_pending {
	int fd;
	pid_t pid;
	long long deadline;
};

struct mv_chan {
	int producer;
	int cons_index;               /* consumer's place, -1 for the producer */
	int sock;                     /* producer: listening; consumer: its connection */
	mv_segment *seg;              /* the producer's memory (read-only in consumers) */
	mv_segment *own;              /* consumer: its own memory */
	mv_buffer hold;               /* an export of the producer's memory, for the channel's life */
	struct chan_hdr *hdr;
	uint64_t *ring;
	char *data;                   /* the slots */
	struct chan_geom geom;
	uint32_t nslots;
	size_t slot_size;
	unsigned flags;
	mv_format fmt;
	char format[16];
	int ndim;
	ssize_t shape[CHAN_MAXDIM];
	size_t typed_len;             /* bytes a typed slot view covers */
	unsigned mode;                /* producer: who may join (permission bits) */
	char name[CHAN_NAME_MAX + 1];
	struct slot_exp *slots;       /* nslots exporters */
	/* The views this handle gives out, made once from slot 0 and copied per message: the
	 * channel's typing, and 1-D bytes for a message shorter than the typed length. */
	struct mv_view_tmpl typed, bytes;
	int templating;               /* making the templates: a release hands nothing back */
	/* producer only (private memory: the truth about who owes what) */
	uint64_t head;                /* next sequence number */
	uint32_t head_at;             /* head % nslots: a 64-bit division costs a message ~5% */
	uint8_t *slot_state;
	uint64_t *owed;               /* consumers that still hold each sent slot */
	uint32_t *free_stack;
	uint32_t nfree;
	uint64_t active;              /* admitted consumers */
	struct chan_peer peers[MV_CHAN_MAX_CONSUMERS];
	struct chan_pending pending[MAX_PENDING];
	int npending;
	long long next_admit_ns;      /* coarse clock: when send looks for joiners next */
	long long clock_ns;           /* send's last read of that clock */
	unsigned clock_stride;        /* sends between reads: 1 when sends are slow, up to 15 */
	unsigned clock_skip;          /* sends left before the next read */
	uint32_t nloaned;             /* slots loaned and not yet sent or released */
	/* pollable handle (mv_chan_fd()): producer, an epoll set of the consumers' connections;
	 * consumer, its connection itself. -1 until asked for: nobody pays for it before. */
	int pollfd;
	uint32_t armed;               /* our wait word's CHAN_WAKE_POLL part while armed, else 0 */
	uint32_t gen;                 /* the last generation we armed with */
	uint32_t woke_gen;            /* consumer: the producer's generation we last woke */
	int peer_wakes;               /* consumer: the producer understands WAKE (OFFER said) */
	/* consumer only */
	struct chan_cons *me;         /* our memory, writable */
	uint32_t *ret;                /* our return queue */
	uint64_t tail;                /* next sequence number to receive */
	uint32_t tail_at;             /* tail % nslots */
	uint64_t ret_count;           /* what we wrote to me->ret_head last */
	uint32_t ret_at;              /* ret_count % nslots */
	int gone;                     /* the producer's end of the socket closed */
	mv_chan_stats stats;
};

/* ---- chan_wire.c: the messages on a channel's sockets (SOCK_SEQPACKET, one per message) */

#define CHAN_WIRE_MAGIC 0x5743564du /* "MVCW" */
#define CHAN_WIRE_VERSION 3

enum {
	WIRE_OFFER = 1,  /* producer -> joiner: the producer's memory (one descriptor) */
	WIRE_JOIN = 2,   /* joiner -> producer: the joiner's memory (one descriptor) */
	WIRE_ADMIT = 3,  /* producer -> joiner: its place and first sequence number */
	WIRE_REFUSE = 4, /* producer -> joiner: why not (errno and text) */
	WIRE_LEAVE = 5,  /* consumer -> producer: leaving (mv_chan_close), not dying */
	WIRE_WAKE = 6,   /* either way: the polling reader has something (mv_chan_fd()) */
};

/* OFFER's and JOIN's index: what the sender's library understands (0 before 1.1). */
#define WIRE_CAP_WAKE 0x1u

struct chan_wire {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t index;        /* ADMIT: the consumer's place */
	int32_t err;           /* REFUSE: the errno the joiner reports */
	uint64_t start;        /* ADMIT: the first sequence number it receives */
	char text[112];        /* REFUSE: why, NUL-terminated */
};

/* The abstract socket address of channel @name; its length, or -EINVAL (with a message). */
MV_HIDDEN int mv_chan_wire_addr(struct sockaddr_un *a, const char *name);
/* Send @m with descriptor @pass_fd (-1: none) without blocking: 0 or -errno. */
MV_HIDDEN int mv_chan_wire_send(int sock, const struct chan_wire *m, int pass_fd);
/*
 * Receive one message without blocking: 1 and *@fd (-1 when it carried none; any further
 * descriptors are closed), 0 at end of file (or a reset: the peer closed), -EAGAIN, -EBADMSG for anything that is not a whole
 * message of this version (descriptors closed), or another -errno.
 */
MV_HIDDEN int mv_chan_wire_recv(int sock, struct chan_wire *m, int *fd);
/* Whether the peer of @sock may join a channel of permission bits @mode: 1, 0, or -errno. */
MV_HIDDEN int mv_chan_wire_peer_allowed(int sock, unsigned mode, pid_t *pid);
/* The peer's uid and pid (SO_PEERCRED): 0 or -errno. */
MV_HIDDEN int mv_chan_wire_peer(int sock, uid_t *uid, pid_t *pid);

/* ---- chan_admit.c: joining (consumer) and admission and liveness (producer) */

/* Compute the layout for checked geometry; -EINVAL/-EBADMSG (with @what) when it overflows. */
MV_HIDDEN int mv_chan_geom(struct chan_geom *g, uint32_t nslots, size_t slot_size);
/* Producer: accept joiners, advance handshakes, collect hand-backs; with @check_liveness also
 * look for consumers whose connection closed. */
MV_HIDDEN void mv_chan_producer_poll(struct mv_chan *ch, int check_liveness);
/* Producer: take back what every consumer handed back (memory only: no system call). */
MV_HIDDEN void mv_chan_collect(struct mv_chan *ch);
/* Producer: consumer @i is gone; nothing it held is owed any more. */
MV_HIDDEN void mv_chan_forget(struct mv_chan *ch, int i);
/* Producer: put @slot back on the free stack. */
MV_HIDDEN void mv_chan_slot_free(struct mv_chan *ch, uint32_t slot);
/* Producer: watch consumer @i's connection in the pollable handle's set (when there is one). */
MV_HIDDEN void mv_chan_poll_watch(struct mv_chan *ch, int i);
/* Consumer: 1 when the producer's end of the connection closed (a poll, no waiting); WAKE
 * messages on the way are read and dropped. */
MV_HIDDEN int mv_chan_producer_gone(struct mv_chan *ch);
/* Consumer: connect, get the producer's memory, send ours, wait to be admitted. */
MV_HIDDEN int mv_chan_connect(struct mv_chan *ch, const char *name, unsigned flags,
			      long long deadline);
/* Producer: listen on the channel's name. */
MV_HIDDEN int mv_chan_listen(struct mv_chan *ch, const char *name);
/*
 * A memfd segment of @size bytes named "mvchan:NAME" + @role, sealed so that only this process's
 * mapping can write it (F_SEAL_FUTURE_WRITE) and nobody can resize it.
 */
MV_HIDDEN int mv_chan_sealed_memory(mv_segment **out, const char *name, const char *role,
				    size_t size);
/* Monotonic nanoseconds. */
MV_HIDDEN long long mv_chan_now_ns(void);

#endif
