/*
 * fuzz/fuzz_hostile_peer.c - libFuzzer target: a victim that uses only the public API while a
 * hostile peer writes everything shared memory lets it write, interleaved op by op.
 *
 * The first byte picks a scenario:
 *   segment: the victim opens a named segment read-write and takes views, releases them,
 *            remaps, resizes, asks for info and holders, probes, closes and reopens; the peer
 *            has its own read-write mapping of the whole object (as any process that may open
 *            it read-write has) and writes the header - valid updates with a good checksum under
 *            the seqlock, a seq left odd, raw garbage anywhere in the header page - and the
 *            holder table, and truncates or grows the object.
 *   channel: a producer and an honest consumer (the victims) pass messages while a lying
 *            consumer writes its own memory (the only channel memory a consumer can write:
 *            queue ids, head, wake words), says what it likes on its connection, and tries to
 *            get a writable mapping of the producer's memory and of the honest consumer's.
 * Invariants, after every op:
 *   - every view the victim holds lies inside the victim's mapping and inside the object as it
 *     is now (a view of memory the peer truncated away is refused, never given);
 *   - every call returns 0 (or a count) or a negative errno with a message;
 *   - no call takes longer than the library's bounds (2 s for a lock; 3 s here);
 *   - a message the honest consumer holds is never overwritten (no slot reused while
 *     exported), and no process but the producer gets a writable mapping of channel memory.
 * Runs under ASan and UBSan: touching memory outside a mapping crashes the run.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "chan_layout.h"
#include "segment_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "memview.h"

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STEPS 64
#define NHELD 8
#define SEC 1000000000LL
#define BOUND_NS (3 * SEC)

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * SEC + ts.tv_nsec;
}

/* Every failure is a negative errno with a message; no call outlives the bounds. */
static void check_rc(long long rc, long long t0, const char *what)
{
	long long dt = now_ns() - t0;

	FUZZ_ASSERT(dt < BOUND_NS, "%s took %lld ms", what, dt / 1000000);
	if (rc < 0)
		FUZZ_ASSERT_ERR(rc);
}

/* ------------------------------------------------------------------ segment scenario */

struct seg_run {
	char name[64];
	mv_segment *seg;             /* the victim's handle, or NULL */
	mv_view held[NHELD];
	int peer_fd;                 /* the peer's own open file description */
	unsigned char *peer;         /* the peer's mapping of the first page (the header) */
	int truncated;               /* the peer cut the object since the views were taken */
};

/* The object's size now, as the kernel has it. */
static off_t object_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) < 0 ? -1 : st.st_size;
}

/* A view must lie inside the victim's mapping of the data, and inside the object. */
static void check_view_inside(struct seg_run *r, const mv_view *v)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	const char *data = mv_segment_data(r->seg), *p = mv_view_ptr(v);
	ssize_t n = mv_view_nbytes(v);
	off_t size = object_size(r->peer_fd);

	FUZZ_ASSERT(mv_segment_get_info(&info, r->seg) == 0, "info: %s", mv_errmsg());
	FUZZ_ASSERT(p >= data && n >= 0 && (size_t)(p - data) + (size_t)n <= info.mapped_size,
		    "a view of %zd bytes at data+%td runs outside the %zu mapped bytes", n,
		    p - data, info.mapped_size);
	FUZZ_ASSERT(size >= 0 && (uint64_t)(p - data) + (uint64_t)n + info.data_offset <=
					 (uint64_t)size,
		    "a view ends at %llu, past the object's %lld bytes",
		    (unsigned long long)((uint64_t)(p - data) + (uint64_t)n + info.data_offset),
		    (long long)size);
}

static void seg_open_victim(struct seg_run *r)
{
	long long t0 = now_ns();
	int rc = mv_segment_open(&r->seg, r->name, NULL);

	check_rc(rc, t0, "open");
	if (rc < 0)
		r->seg = NULL;
}

static void seg_release_all(struct seg_run *r)
{
	int k;

	for (k = 0; k < NHELD; k++)
		FUZZ_ASSERT(mv_view_release(&r->held[k]) == 0, "release");
	r->truncated = 0;
}

/* A valid update as the library writes one: seq odd, fields, checksum, seq even. */
static void peer_update(struct seg_run *r, struct fuzz_in *in)
{
	struct seg_header *h = (struct seg_header *)r->peer;
	uint32_t seq = __atomic_load_n(&h->seq, __ATOMIC_RELAXED);

	__atomic_store_n(&h->seq, seq | 1, __ATOMIC_RELEASE);
	switch (fuzz_u8(in) % 6) {
	case 0:
		h->data_offset = (uint64_t)fuzz_ssize(in) * SEG_ALIGN;
		break;
	case 1:
		h->data_size = (uint64_t)fuzz_ssize(in) * (fuzz_u8(in) & 1 ? 4096 : 1);
		break;
	case 2:
		h->ndim = (int32_t)(fuzz_u8(in) % 70) - 1;
		h->shape[fuzz_u8(in) % SEG_MAXDIM] = fuzz_ssize(in);
		break;
	case 3:
		h->format[fuzz_u8(in) % sizeof(h->format)] = (char)fuzz_u8(in);
		break;
	case 4:
		h->version = fuzz_u8(in) % 4;
		break;
	default:
		break;
	}
	h->generation += 1 + (fuzz_u8(in) & 1);
	h->checksum = (uint32_t)((uint64_t)mv_view_hash_bytes(h, SEG_CHECKSUMMED_BYTES) &
				 0xffffffffu);
	if (fuzz_u8(in) % 8) /* now and then it "dies" mid-update, seq left odd */
		__atomic_store_n(&h->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}

static void peer_op(struct seg_run *r, struct fuzz_in *in)
{
	struct seg_header *h = (struct seg_header *)r->peer;
	off_t size;

	switch (fuzz_u8(in) % 5) {
	case 0:
		peer_update(r, in);
		break;
	case 1: /* garbage anywhere in the header page */
		r->peer[fuzz_uint(in, 2) % SEG_ALIGN] = fuzz_u8(in);
		break;
	case 2: { /* the holder table */
		struct seg_holder *s = &h->holders[fuzz_u8(in) % SEG_MAX_HOLDERS];

		s->pid = (int32_t)fuzz_uint(in, 4);
		s->start_time = fuzz_uint(in, 8);
		s->exports = (int64_t)fuzz_uint(in, 8);
		break;
	}
	case 3: /* cut the object short (never below the header page: the peer keeps it) */
		size = (off_t)SEG_ALIGN + (off_t)(fuzz_uint(in, 2) % 8) * 4096;
		if (ftruncate(r->peer_fd, size) == 0)
			r->truncated = 1;
		break;
	default: /* grow it */
		size = object_size(r->peer_fd);
		if (size >= 0)
			(void)ftruncate(r->peer_fd, size + (off_t)(1 + fuzz_u8(in) % 4) * 4096);
		break;
	}
}

static void victim_op(struct seg_run *r, struct fuzz_in *in)
{
	mv_segment_holder hold[4] = { MV_SEGMENT_HOLDER_INIT };
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	long long t0 = now_ns();
	int k = fuzz_u8(in) % NHELD, rc = 0, fd;
	ssize_t n;
	char *buf;

	if (!r->seg) {
		seg_open_victim(r);
		return;
	}
	switch (fuzz_u8(in) % 7) {
	case 0: /* a view; all of it read, which faults if it is not mapped */
		if (!mv_view_released(&r->held[k]))
			return;
		rc = mv_view_from(&r->held[k], mv_segment_exporter(r->seg), 0);
		check_rc(rc, t0, "view");
		if (rc < 0)
			return;
		check_view_inside(r, &r->held[k]);
		n = mv_view_nbytes(&r->held[k]);
		buf = malloc((size_t)n + 1);
		if (!buf)
			abort();
		FUZZ_ASSERT(mv_view_tobytes(buf, (size_t)n, &r->held[k], 'C') == n, "tobytes");
		free(buf);
		return;
	case 1:
		FUZZ_ASSERT(mv_view_release(&r->held[k]) == 0, "release");
		return;
	case 2:
		rc = mv_segment_remap(r->seg);
		break;
	case 3:
		rc = mv_segment_resize(r->seg, (size_t)(fuzz_uint(in, 2) % 64) * 256);
		break;
	case 4:
		rc = mv_segment_get_info(&info, r->seg);
		check_rc(rc, t0, "info");
		rc = (int)mv_segment_holders(hold, 4, r->seg);
		break;
	case 5:
		fd = shm_open(r->name, O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0)
			return;
		rc = mv_segment_probe(&info, fd);
		close(fd);
		break;
	default:
		/* Close, which views refuse; then open again (the header may refuse now). */
		rc = mv_segment_close(r->seg);
		check_rc(rc, t0, "close");
		if (rc == 0) {
			r->seg = NULL;
			seg_open_victim(r);
		}
		return;
	}
	check_rc(rc, t0, "segment op");
	/* Views taken before stay as they were given; the object may have been cut under them
	 * (a named segment cannot be sealed: documented), so they are only touched when it was
	 * not. */
	for (k = 0; k < NHELD && !r->truncated; k++)
		if (!mv_view_released(&r->held[k]))
			check_view_inside(r, &r->held[k]);
}

static void run_segment(struct fuzz_in *in)
{
	static unsigned serial;
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	static const ssize_t shape[2] = { 16, 16 };
	struct seg_run r;
	mv_segment *creator;
	int steps;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "/mvfuzz-hp-%d-%u", (int)getpid(), serial++);
	if (fuzz_u8(in) & 1) {
		o.format = "i";
		o.ndim = 2;
		o.shape = shape;
	}
	FUZZ_ASSERT(mv_segment_create(&creator, r.name, 4096, &o) == 0, "create: %s", mv_errmsg());
	FUZZ_ASSERT(mv_segment_close(creator) == 0, "close");
	r.peer_fd = shm_open(r.name, O_RDWR | O_CLOEXEC, 0);
	if (r.peer_fd < 0)
		abort();
	r.peer = mmap(NULL, SEG_ALIGN, PROT_READ | PROT_WRITE, MAP_SHARED, r.peer_fd, 0);
	if (r.peer == MAP_FAILED)
		abort();
	seg_open_victim(&r);
	for (steps = 0; steps < MAX_STEPS && fuzz_left(in); steps++) {
		if (fuzz_u8(in) & 1)
			peer_op(&r, in);
		else
			victim_op(&r, in);
	}
	seg_release_all(&r);
	if (r.seg)
		FUZZ_ASSERT(mv_segment_close(r.seg) == 0, "final close: %s", mv_errmsg());
	munmap(r.peer, SEG_ALIGN);
	close(r.peer_fd);
	shm_unlink(r.name);
}

/* ------------------------------------------------------------------ channel scenario */

struct held {
	mv_view v;
	uint64_t seq;
	int used;
};

struct chan_run {
	char name[64];
	mv_chan *prod, *cons, *liar;
	mv_view loan;
	struct held held[NHELD];
};

struct joiner {
	const char *name;
	mv_chan *ch;
	int rc;
};

static void *join_main(void *arg)
{
	struct joiner *j = arg;

	j->rc = mv_chan_join(&j->ch, j->name, NULL, 10 * SEC);
	return NULL;
}

static mv_chan *join_admitted(struct chan_run *r, int want)
{
	struct joiner j = { r->name, NULL, 0 };
	time_t deadline = time(NULL) + 10;
	pthread_t t;
	int rc;

	if (pthread_create(&t, NULL, join_main, &j) != 0)
		abort();
	while ((rc = mv_chan_wait_consumers(r->prod, (unsigned)want, 0)) == -ETIMEDOUT &&
	       time(NULL) < deadline)
		sched_yield();
	pthread_join(t, NULL);
	FUZZ_ASSERT(rc == want && j.rc == 0, "join: %d/%d %s", rc, j.rc, mv_errmsg());
	return j.ch;
}

/* Nobody but its writer gets a writable mapping of channel memory, whatever the path. */
static void check_no_write_path(const mv_segment *seg)
{
	char path[64];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", mv_segment_fd(seg));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return; /* no writable path at all */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FUZZ_ASSERT(p == MAP_FAILED, "a second writable mapping of channel memory was granted");
	FUZZ_ASSERT(write(fd, "x", 1) < 0, "write(2) to channel memory was allowed");
	FUZZ_ASSERT(ftruncate(fd, 0) < 0, "channel memory could be truncated");
	close(fd);
}

static uint64_t msg_seq(const mv_view *v)
{
	uint64_t s;

	memcpy(&s, mv_view_ptr(v), sizeof(s));
	return s;
}

static void chan_step(struct chan_run *r, struct fuzz_in *in)
{
	struct chan_wire m = { CHAN_WIRE_MAGIC, CHAN_WIRE_VERSION, WIRE_LEAVE, 0, 0, 0, "" };
	long long t0 = now_ns();
	int k = fuzz_u8(in) % NHELD, rc, i;
	uint64_t h;

	switch (fuzz_u8(in) % 8) {
	case 0: /* producer: loan, scribble, send its sequence number */
		if (!mv_view_released(&r->loan))
			break;
		rc = mv_chan_loan(&r->loan, r->prod, 0);
		check_rc(rc, t0, "loan");
		if (rc == 0) {
			h = r->prod->head;
			memset(mv_view_ptr(&r->loan), 0xee, (size_t)mv_view_nbytes(&r->loan));
			memcpy(mv_view_ptr(&r->loan), &h, sizeof(h));
			FUZZ_ASSERT(mv_chan_send(r->prod, &r->loan, 8) == 0, "send: %s",
				    mv_errmsg());
		}
		break;
	case 1: /* the honest consumer receives */
		if (!r->held[k].used) {
			uint64_t want = r->cons->tail;

			rc = mv_chan_recv(&r->held[k].v, r->cons, 0);
			check_rc(rc, t0, "recv");
			if (rc == 0) {
				FUZZ_ASSERT(msg_seq(&r->held[k].v) == want, "received %llu, not %llu",
					    (unsigned long long)msg_seq(&r->held[k].v),
					    (unsigned long long)want);
				r->held[k].seq = want;
				r->held[k].used = 1;
			}
		}
		break;
	case 2:
		if (r->held[k].used) {
			FUZZ_ASSERT(mv_view_release(&r->held[k].v) == 0, "release");
			r->held[k].used = 0;
		}
		break;
	case 3: /* the liar: any id into its queue */
		h = r->liar->me->ret_head;
		r->liar->ret[h % r->liar->nslots] = (uint32_t)fuzz_uint(in, 4) %
						    (r->liar->nslots + 2);
		__atomic_store_n(&r->liar->me->ret_head, h + (fuzz_u8(in) % 3), __ATOMIC_RELEASE);
		break;
	case 4: /* the liar: its head anywhere, its wake words anything */
		__atomic_store_n(&r->liar->me->ret_head, (uint64_t)fuzz_ssize(in), __ATOMIC_RELEASE);
		r->liar->me->sleeping = fuzz_u8(in) & 1;
		r->liar->me->ret_futex = (uint32_t)fuzz_uint(in, 4);
		break;
	case 5: /* the liar talks: garbage or a stray message on its connection */
		if (fuzz_u8(in) & 1)
			memset(&m, fuzz_u8(in), sizeof(m));
		else
			m.type = (uint16_t)fuzz_u8(in);
		(void)mv_chan_wire_send(r->liar->sock, &m, (fuzz_u8(in) & 1) ? 0 : -1);
		break;
	case 6: { /* the producer looks: admits, collects, finds the gone */
		mv_chan_stats st = MV_CHAN_STATS_INIT;

		check_rc(mv_chan_get_stats(&st, r->prod), t0, "stats");
		break;
	}
	default: /* a writable way into the producer's or the honest consumer's memory */
		check_no_write_path(r->cons->seg);
		check_no_write_path(r->cons->own);
		break;
	}
	/* Messages the honest consumer holds are never overwritten. */
	for (i = 0; i < NHELD; i++)
		if (r->held[i].used)
			FUZZ_ASSERT(msg_seq(&r->held[i].v) == r->held[i].seq,
				    "held message %llu was overwritten",
				    (unsigned long long)r->held[i].seq);
}

static void run_channel(struct fuzz_in *in)
{
	static unsigned serial;
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	struct chan_run r;
	int steps, i;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "/mvfuzz-hp-%d-%u", (int)getpid(), serial++);
	o.nslots = 1 + fuzz_u8(in) % 6;
	o.slot_size = 64;
	o.flags = (fuzz_u8(in) & 1) ? MV_CHAN_SPIN : 0;
	FUZZ_ASSERT(mv_chan_create(&r.prod, r.name, &o) == 0, "create: %s", mv_errmsg());
	r.cons = join_admitted(&r, 1);
	r.liar = join_admitted(&r, 2);
	for (steps = 0; steps < MAX_STEPS && fuzz_left(in); steps++)
		chan_step(&r, in);
	for (i = 0; i < NHELD; i++)
		FUZZ_ASSERT(mv_view_release(&r.held[i].v) == 0, "release");
	FUZZ_ASSERT(mv_view_release(&r.loan) == 0, "release of an unsent loan");
	FUZZ_ASSERT(mv_chan_close(r.cons) == 0 && mv_chan_close(r.liar) == 0, "consumer close");
	FUZZ_ASSERT(mv_chan_get_stats(&st, r.prod) == 0 && st.free_slots == r.prod->nslots &&
			    st.consumers == 0,
		    "%u of %u slots free and %u consumers once every consumer left",
		    st.free_slots, r.prod->nslots, st.consumers);
	FUZZ_ASSERT(mv_chan_close(r.prod) == 0, "producer close: %s", mv_errmsg());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	if (fuzz_u8(&in) & 1)
		run_channel(&in);
	else
		run_segment(&in);
	return 0;
}
