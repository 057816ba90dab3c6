/*
 * memview/chan.h - zero-copy handoff of buffers between processes.
 *
 * A channel is a ring of fixed-capacity slots in shared memory. The producer *loans* a slot as a
 * writable view, fills it, and *sends* it; each consumer *receives* the message as a readonly
 * view (mapped readonly in the consumer: the kernel enforces it) and releases the view when it is
 * done, which hands the slot back. Only the producer recycles slots, after every consumer handed
 * the slot back, and it checks every slot id it gets back: a bad id is an error, not corruption.
 * A slot is never reused while any view of it is exported.
 *
 * One producer, one or more consumers (up to MV_CHAN_MAX_CONSUMERS); every consumer sees every
 * message sent after it joined, in order.
 *
 * Waiting: blocking calls spin briefly, then sleep on a shared futex (unless the channel was
 * made with MV_CHAN_SPIN, which never sleeps). Every blocking call takes a timeout in
 * nanoseconds: MV_CHAN_FOREVER waits without limit, 0 never waits (-EAGAIN at once).
 * Back-pressure is explicit: loan waits for (or fails with -EAGAIN when there is no) free slot.
 *
 * Crashes: a consumer killed while holding slots has them reclaimed by the producer; a producer
 * killed mid-loan leaves no half-written message visible; consumers of a dead or closed producer
 * get -EPIPE once they have received everything that was sent.
 *
 * Trust: no participant can write another's state. The producer's memory (ring and slots) is a
 * memfd sealed so that no process - of any user, root included - can write it but the producer;
 * each consumer's hand-backs live in its own memory, sealed the same way, that only the producer
 * reads; membership and "gone" are unix-socket connections the kernel closes when a process
 * dies. A consumer that lies hurts only itself. The channel's name is an abstract unix socket
 * name, so a channel is joined from its producer's network namespace.
 *
 * The API names no shared-memory detail, so another transport can sit behind it.
 *
 * A loaned view released without mv_chan_send() gives its slot back unsent.
 *
 * Liveness is tracked per open channel handle by its connection, which a fork()ed child shares:
 * a child forked after mv_chan_create() or mv_chan_join() keeps that participant looking alive
 * until it exits too. Fork before creating or joining, or have the child exit promptly.
 *
 * Thread-safety: a channel handle belongs to one thread at a time.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_CHAN_H
#define MEMVIEW_CHAN_H

#include "memview/view.h"

MV_BEGIN_DECLS

typedef struct mv_chan mv_chan;

#define MV_CHAN_MAX_CONSUMERS 64
#define MV_CHAN_FOREVER (-1LL)

/* Flags for mv_chan_opts.flags. */
#define MV_CHAN_SPIN 0x1u /* waiters spin, never sleep: lowest latency, one core busy per waiter */
#define MV_CHAN_ANY_OWNER 0x2u /* join: accept a producer running as another user */

typedef struct mv_chan_opts {
	size_t size;          /* sizeof(mv_chan_opts) */
	unsigned flags;       /* MV_CHAN_* */
	size_t slot_size;     /* bytes per slot (rounded up to 64) */
	unsigned nslots;      /* slots in the ring, 1..65536 */
	const char *format;   /* item format of a slot; NULL means "B" */
	const ssize_t *shape; /* shape of a slot, @ndim entries; ndim -1: 1-D over the slot */
	int ndim;
	unsigned mode;        /* who may join, as file permission bits; 0 means 0600 */
} mv_chan_opts;

#define MV_CHAN_OPTS_INIT { sizeof(mv_chan_opts), 0, 4096, 16, NULL, NULL, -1, 0 }

/*
 * mv_chan_create - create a channel named @name ("/name", at most 90 characters) and become its
 * producer. @opts->mode says who may join, read as file permission bits for reading: the
 * producer's user (and root) always; members of its group with 0040; anyone with 0004.
 * Returns 0, -EEXIST (a live channel has that name), -EINVAL (bad name, sizes, format),
 * -EOVERFLOW, -ENOSPC, -ENOMEM, -EMFILE.
 */
MV_EXPORT int mv_chan_create(mv_chan **out, const char *name, const mv_chan_opts *opts);

/*
 * mv_chan_join - open channel @name as a consumer. Waits up to @timeout_ns for the producer to
 * admit it (the producer admits at its next call); receives every message sent after that.
 * @opts may be NULL; only its flags count, and only MV_CHAN_ANY_OWNER: without it a channel
 * whose producer runs as another user is refused (-EPERM), since anyone can take a free name.
 * Returns 0, -ENOENT (no such channel), -EPERM, -EACCES (the channel's mode keeps us out),
 * -EBADMSG (the producer broke the protocol), -EBUSY (all consumer places taken), -ETIMEDOUT,
 * -EPIPE (producer gone), -EINVAL, -ENOMEM, -EMFILE.
 */
MV_EXPORT int mv_chan_join(mv_chan **out, const char *name, const mv_chan_opts *opts,
			   long long timeout_ns);

/*
 * mv_chan_loan - producer: a free slot as a writable view (slot_size bytes, typed by the
 * channel's format and shape). A producer may hold several loans at once (MEMVIEW_1.1; before,
 * a second loan said -EBUSY): consumers see messages in the order of the mv_chan_send() calls,
 * not of the loans. Returns 0, -EAGAIN (no free slot and @timeout_ns is 0), -ETIMEDOUT,
 * -EINVAL (not the producer), -EBUSY (every slot is loaned and not yet sent: no wait could end).
 */
MV_EXPORT int mv_chan_loan(mv_view *out, mv_chan *ch, long long timeout_ns);

/*
 * mv_chan_send - producer: publish the loaned slot @v views to every consumer, as the next
 * message, and release @v. Views derived from @v must be released first (-EBUSY). @nbytes is
 * the message length (<= slot_size) consumers see. Returns 0, -EINVAL (not a loan of this
 * producer's, or already sent), -EBUSY.
 */
MV_EXPORT int mv_chan_send(mv_chan *ch, mv_view *v, size_t nbytes);

/*
 * mv_chan_recv - consumer: the next message as a readonly view of its bytes (typed by the
 * channel when the message fills the slot; else 'B' of nbytes). Releasing the view (and every
 * view derived from it) hands the slot back. Returns 0, -EAGAIN, -ETIMEDOUT, -EPIPE (producer
 * closed or died and nothing is left), -EBADMSG (the producer published a bad slot id).
 */
MV_EXPORT int mv_chan_recv(mv_view *out, mv_chan *ch, long long timeout_ns);

/*
 * mv_chan_close - leave the channel. A producer's consumers see -EPIPE after the last message;
 * a producer also removes the channel's name. Returns 0, -EBUSY while views from the channel
 * are alive in this process. NULL is a no-op.
 */
MV_EXPORT int mv_chan_close(mv_chan *ch);

/*
 * mv_chan_wait_consumers - producer: admit joining consumers and wait until at least @n are
 * admitted. Returns the number admitted, -ETIMEDOUT, -EINVAL.
 */
MV_EXPORT int mv_chan_wait_consumers(mv_chan *ch, unsigned n, long long timeout_ns);

/*
 * mv_chan_fd - a descriptor to wait on with poll, epoll or io_uring (POLLIN) alongside others:
 * a consumer's becomes readable when a message (or the producer's end) may be waiting, a
 * producer's when a slot may have come free. Edge-like, as EPOLLET: call mv_chan_recv() (or
 * mv_chan_loan()) with timeout 0 until it returns -EAGAIN, then wait; readiness means "look
 * again", and after an -EAGAIN the descriptor is quiet until something changes. The channel
 * owns it: do not read, write or close it; it lives until mv_chan_close(). Nothing is made
 * and nothing costs until the first call. Version node MEMVIEW_1.1.
 * Returns 0, -EOPNOTSUPP (a MV_CHAN_SPIN channel, or a producer whose library predates this),
 * -EINVAL, -EMFILE, -ENOMEM.
 */
MV_EXPORT int mv_chan_fd(int *out, mv_chan *ch);

/* A channel's geometry, as its producer made it. Start from MV_CHAN_INFO_INIT. */
typedef struct mv_chan_info {
	size_t size;          /* sizeof(mv_chan_info), set by the caller */
	size_t slot_size;     /* bytes per slot (a multiple of 64) */
	unsigned nslots;
	unsigned flags;       /* MV_CHAN_SPIN */
	char format[16];      /* item format of a slot */
	int ndim;             /* -1: 1-D over the message */
	ssize_t shape[8];     /* ndim entries */
	int producer;         /* 1 in the producer's handle, 0 in a consumer's */
} mv_chan_info;

#define MV_CHAN_INFO_INIT MV_SIZED_INIT(mv_chan_info)

/*
 * mv_chan_get_info - fill @out (up to @out->size bytes) with @ch's geometry: what a bridge needs
 * to make a channel of the same shape elsewhere. Version node MEMVIEW_1.1. Returns 0, -EINVAL.
 */
MV_EXPORT int mv_chan_get_info(mv_chan_info *out, mv_chan *ch);

/* Counters for a channel (this process's view of it). Start from MV_CHAN_STATS_INIT. */
typedef struct mv_chan_stats {
	size_t size;           /* sizeof(mv_chan_stats), set by the caller */
	uint64_t sent;         /* producer: messages sent */
	uint64_t received;     /* consumer: messages received */
	unsigned free_slots;   /* producer: slots free right now */
	unsigned consumers;    /* consumers admitted and alive */
	unsigned reclaimed;    /* producer: consumers found dead and reclaimed */
	unsigned bad_returns;  /* producer: slot ids handed back that were not owed (ignored) */
} mv_chan_stats;

#define MV_CHAN_STATS_INIT MV_SIZED_INIT(mv_chan_stats)

/*
 * mv_chan_get_stats - fill @out (up to @out->size bytes). Returns 0, -EINVAL (NULL, or a size
 * smaller than any version of the struct).
 */
MV_EXPORT int mv_chan_get_stats(mv_chan_stats *out, mv_chan *ch);

MV_END_DECLS

#endif /* MEMVIEW_CHAN_H */
