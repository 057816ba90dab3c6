/*
 * bench/handoff.c - the measurements of "mvbench handoff"; see handoff.h and mvbench(1).
 *
 * Every measurement runs in two fresh processes forked by the caller (the orchestrator), each
 * pinned to its CPU: A sends, B receives. They share one anonymous MAP_SHARED mapping (struct
 * ctl, then A's round-trip times and B's hold times) and, per method, a channel, a pipe, a
 * socket pair or a ring of buffers. The orchestrator only waits, then turns the raw times into
 * statistics, so nothing but A and B runs on the two CPUs while they measure.
 *
 * Latency is a ping-pong: A takes a time stamp, sends a message of the size under test, waits for
 * B's 8-byte answer (over a second channel for the channel methods), and takes a second stamp;
 * one-way = round trip / 2. For the sleeping methods (sleep, futex) each side idles --gap before
 * it sends, so the other side has stopped spinning and sleeps; B measures the time it idled and
 * that time is taken out of the round trip. A warm-up (at least every slot once, and a tenth of
 * the time budget) is not counted.
 *
 * Throughput: A streams messages one way for the streaming time; B receives (and touches) each;
 * messages / (B's time of the last message - A's time of the first).
 *
 * Time stamps: the TSC through rdtscp when it is constant and non-stop (calibrated against
 * CLOCK_MONOTONIC), else clock_gettime(CLOCK_MONOTONIC).
 *
 * ZeroMQ (HAVE_ZMQ): a PAIR socket in each process over ipc:// (an abstract unix socket), the
 * payload sent zero-copy with zmq_msg_init_data from a pool of the sender's buffers, the answer
 * with zmq_send. Each process's ZeroMQ threads are made after it is pinned, so they share its CPU.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_ZMQ
#include <zmq.h>
#endif

#include "memview.h"
#include "../util/mvutil.h"
#include "handoff.h"

#define CL 64
#define SHM_RO_PAGE 4096 /* --ring readonly: each side's words get a page of their own */
#define PONG_BYTES 8
#define WARM_MAX 1000
#define SETUP_TIMEOUT_NS 10000000000LL

static const char *const method_names[HO_NALL] = {
	"spin", "sleep", "pipe", "unix", "shm-memcpy", "zmq", "floor", "futex"
};

const char *ho_method_name(int method)
{
	return method >= 0 && method < HO_NALL ? method_names[method] : "?";
}

int ho_method_parse(const char *name)
{
	int m;

	for (m = 0; m < HO_NMETHODS; m++)
		if (strcmp(name, method_names[m]) == 0)
			return m;
	if (strcmp(name, "shm") == 0 || strcmp(name, "memcpy") == 0)
		return HO_SHM;
	if (strcmp(name, "socket") == 0)
		return HO_UNIX;
	if (strcmp(name, "zeromq") == 0)
		return HO_ZMQ;
	return -1;
}

unsigned ho_methods_built(void)
{
	unsigned all = (1u << HO_NMETHODS) - 1;

#ifdef HAVE_ZMQ
	return all;
#else
	return all & ~(1u << HO_ZMQ);
#endif
}

const char *ho_methods_list(void)
{
#ifdef HAVE_ZMQ
	return "spin, sleep, pipe, unix, shm-memcpy, zmq";
#else
	return "spin, sleep, pipe, unix, shm-memcpy";
#endif
}

/* ------------------------------------------------------------------ time */

static int use_tsc; /* 0: clock_gettime; 1: rdtscp; 2: lfence + rdtsc (no rdtscp flag) */
static double tick_ns = 1.0; /* nanoseconds per tick */

static inline uint64_t tick(void)
{
#if defined(__x86_64__)
	unsigned int aux;

	if (use_tsc == 1)
		return __builtin_ia32_rdtscp(&aux);
	if (use_tsc == 2) {
		/* rdtscp's wait for earlier instructions, on a CPU that does not offer rdtscp */
		__builtin_ia32_lfence();
		return __builtin_ia32_rdtsc();
	}
#endif
	return (uint64_t)mvu_now_ns();
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Busy-wait @ticks; returns the last time stamp read. */
static uint64_t spin_for(uint64_t start, uint64_t ticks)
{
	uint64_t t;

	do
		t = tick();
	while (t - start < ticks);
	return t;
}

static int cpu_has_flag(const char *flag)
{
	char line[4096], *p;
	FILE *f = fopen("/proc/cpuinfo", "r");
	size_t n = strlen(flag);
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		for (p = strstr(line, flag); p; p = strstr(p + 1, flag))
			if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' || !p[n]))
				found = 1;
		break;
	}
	fclose(f);
	return found;
}

static void timer_init(struct ho_results *res)
{
	uint64_t t0, t1;
	int64_t c0, c1;
	long i;

#if defined(__x86_64__)
	if (cpu_has_flag("constant_tsc") && cpu_has_flag("nonstop_tsc")) {
		/* Some hypervisors hide rdtscp (and valgrind then refuses it as the CPU would). */
		use_tsc = cpu_has_flag("rdtscp") ? 1 : 2;
		c0 = mvu_now_ns();
		t0 = tick();
		while (mvu_now_ns() - c0 < 50000000)
			;
		c1 = mvu_now_ns();
		t1 = tick();
		tick_ns = (double)(c1 - c0) / (double)(t1 - t0);
	}
#endif
	res->timer = use_tsc ? "tsc" : "clock_gettime";
	t0 = tick();
	for (i = 0; i < 100000; i++)
		(void)tick();
	t1 = tick();
	res->timer_ns = (double)(t1 - t0) * tick_ns / 100000;
}

/* ------------------------------------------------------------------ shared state */

/* The mapping A and B share with the orchestrator; the time arrays follow it. */
struct ctl {
	char err[2][256];        /* a child's failure, for the orchestrator */
	long warm;               /* A: round trips of warm-up */
	long rounds;             /* A: round trips recorded, warm-up included */
	long nvcsw_lat[2];       /* voluntary context switches in the latency phase */
	long nivcsw_lat[2];      /* involuntary ones */
	int64_t runq_lat[2];     /* ns runnable but waiting for the CPU, latency phase */
	int64_t wall_lat[2];     /* ns the latency phase lasted */
	long nvcsw_stream[2];
	int64_t t_start, t_end;  /* streaming: A's first send, B's last receive (CLOCK_MONOTONIC) */
	uint64_t stream_msgs;
	uint32_t ready[2];       /* set up and waiting for the other */
	uint32_t b_streaming;    /* B is ready to stream */
	uint32_t b_done;         /* B has received all it will: A may close */
	/* written by A, rarely */
	uint64_t stop __attribute__((aligned(CL)));  /* latency: the next message is the last */
	uint64_t sstop;          /* streaming: the message numbered total is the last */
	uint64_t total;
	uint64_t line __attribute__((aligned(CL)));  /* floor: the line that bounces */
	uint32_t futex __attribute__((aligned(CL))); /* futex: the word both sleep on */
	uint64_t head __attribute__((aligned(CL)));  /* shm ring: messages published (A) */
	uint64_t tail __attribute__((aligned(CL)));  /* shm ring: messages taken (B) */
	uint64_t ack __attribute__((aligned(CL)));   /* shm: B's answers */
	char end __attribute__((aligned(CL)));
};

/* One process's side of a measurement. */
struct peer {
	const struct ho_config *cfg;
	struct ctl *ctl;
	int role;                /* 0: A, the sender; 1: B, the receiver */
	int method;
	size_t size;
	int touched;
	uint64_t seq;            /* messages handled in this phase (sent by A, answered by B) */
	mv_chan *out, *in;       /* A: ping out, pong in; B: pong out, ping in */
	const char *chan_name[2];
	int fd_out, fd_in;       /* pipe: two pipes; unix: one socket, both directions */
	char *buf;               /* private payload: A's source, B's destination */
	char *ring;              /* shm: nslots buffers of size bytes */
	uint64_t *head, *tail, *ack; /* shm: the ring's words (in ctl, or with --ring readonly in
				      * the memory of the side that writes each) */
	uint64_t small[PONG_BYTES / 8];
	void *zctx, *zsock;      /* zmq: the context and the PAIR socket */
	char *zpool;             /* zmq, A: nzbuf buffers of size bytes, zstride apart */
	uint32_t *zbusy;         /* zmq, A: per buffer 0 free, 1 ZeroMQ holds it, 2 and A waits */
	unsigned nzbuf;
	size_t zstride;
};

struct method_ops {
	int (*open)(struct peer *p);            /* 0 or -1 (message in ctl->err) */
	void (*send)(struct peer *p);           /* A: one message of p->size bytes */
	void (*wait_pong)(struct peer *p);      /* A: B's answer */
	void (*recv)(struct peer *p);           /* B: one message; touch it when p->touched */
	void (*pong)(struct peer *p);           /* B: answer */
	void (*close)(struct peer *p);
};

static volatile uint64_t sink;

static void peer_fail(struct peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3),
									      noreturn));

static void peer_fail(struct peer *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->ctl->err[p->role], sizeof(p->ctl->err[0]), fmt, ap);
	va_end(ap);
	_exit(1);
}

/*
 * Where a child is, for the alarm that ends a hang: the phase and how many messages it had
 * handled, so that a run stopped by it says where it stuck (it happened once in CI, in a zmq row,
 * and the orchestrator could only say "killed by signal 14").
 */
static struct peer *alarm_peer;
static const char *volatile alarm_phase = "starting";
static volatile long alarm_count;

static void set_phase(const char *phase, long count)
{
	alarm_phase = phase;
	alarm_count = count;
}

/* SIGALRM in a child: the phase into the board (async-signal-safe: no stdio), then exit 1. */
static void on_alarm(int sig)
{
	char *e = alarm_peer->ctl->err[alarm_peer->role], num[24];
	const char *s = "hung for the alarm's time while ";
	size_t cap = sizeof(alarm_peer->ctl->err[0]) - 1, k = 0, j;
	long v = alarm_count;

	(void)sig;
	for (; *s && k < cap; s++)
		e[k++] = *s;
	for (s = alarm_phase; *s && k < cap; s++)
		e[k++] = *s;
	for (s = ", message "; *s && k < cap; s++)
		e[k++] = *s;
	j = sizeof(num);
	do {
		num[--j] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && j > 0);
	for (; j < sizeof(num) && k < cap; j++)
		e[k++] = num[j];
	e[k] = '\0';
	_exit(1);
}

static void peer_fail_mv(struct peer *p, const char *what, int rc) __attribute__((noreturn));

static void peer_fail_mv(struct peer *p, const char *what, int rc)
{
	const char *msg = mv_errmsg();

	peer_fail(p, "%s: %s", what, msg && *msg ? msg : mv_strerror(rc));
}

/* Read every byte of @n at @s (8 at a time): what a consumer that looks at its data pays. */
static void touch(const void *s, size_t n)
{
	const unsigned char *p = s;
	uint64_t sum = 0, w;
	size_t i;

	/* memcpy: a message need not be 8-aligned (ZeroMQ's are not); it compiles to one load. */
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		sum += w;
	}
	for (; i < n; i++)
		sum += p[i];
	sink = sum;
}

static void fill(void *d, size_t n, uint64_t seq)
{
	memset(d, (int)(seq & 0xff), n);
}

static void *xmalloc_touched(struct peer *p, size_t n)
{
	void *m = malloc(n ? n : 1);

	if (!m)
		peer_fail(p, "cannot allocate %zu bytes", n);
	memset(m, 0x5a, n); /* fault it in before anything is timed */
	return m;
}

/* Voluntary context switches (sleeps) so far; *@inv: involuntary ones (preemptions). */
static long switches(long *inv)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	if (inv)
		*inv = ru.ru_nivcsw;
	return ru.ru_nvcsw;
}

/* Nanoseconds this process has spent runnable, waiting on a run queue (0 when unknown). */
static int64_t runq_ns(void)
{
	unsigned long long run = 0, wait = 0;
	FILE *f = fopen("/proc/self/schedstat", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &run, &wait) != 2)
		wait = 0;
	fclose(f);
	return (int64_t)wait;
}

/* Wait (sleeping) until the other process sets @flag: set-up, not measured. */
static void wait_flag(uint32_t *flag)
{
	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
		usleep(50);
}

/* ------------------------------------------------------------------ floor: one cache line */

/*
 * A writes 2k+1 and waits for 2k+2; B waits for 2k+1 and writes 2k+2. Plain loads in a tight
 * loop (no pause): the fastest two processes can see each other's store.
 */
static void floor_send(struct peer *p)
{
	__atomic_store_n(&p->ctl->line, 2 * p->seq + 1, __ATOMIC_RELEASE);
}

static void floor_wait_pong(struct peer *p)
{
	uint64_t want = 2 * p->seq + 2;

	while (__atomic_load_n(&p->ctl->line, __ATOMIC_ACQUIRE) != want)
		;
	p->seq++;
}

static void floor_recv(struct peer *p)
{
	uint64_t want = 2 * p->seq + 1;

	while (__atomic_load_n(&p->ctl->line, __ATOMIC_ACQUIRE) != want)
		;
}

static void floor_pong(struct peer *p)
{
	__atomic_store_n(&p->ctl->line, 2 * p->seq + 2, __ATOMIC_RELEASE);
	p->seq++;
}

/* ------------------------------------------------------------------ futex: wake, sleep */

static void futex_wait(uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, word, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* The same protocol as the floor, but each side sleeps in FUTEX_WAIT and is woken. */
static void futex_send(struct peer *p)
{
	__atomic_store_n(&p->ctl->futex, (uint32_t)(2 * p->seq + 1), __ATOMIC_SEQ_CST);
	futex_wake(&p->ctl->futex);
}

static void futex_wait_pong(struct peer *p)
{
	uint32_t want = (uint32_t)(2 * p->seq + 2);

	while (__atomic_load_n(&p->ctl->futex, __ATOMIC_SEQ_CST) != want)
		futex_wait(&p->ctl->futex, want - 1);
	p->seq++;
}

static void futex_recv(struct peer *p)
{
	uint32_t want = (uint32_t)(2 * p->seq + 1);

	while (__atomic_load_n(&p->ctl->futex, __ATOMIC_SEQ_CST) != want)
		futex_wait(&p->ctl->futex, want - 1);
}

static void futex_pong(struct peer *p)
{
	__atomic_store_n(&p->ctl->futex, (uint32_t)(2 * p->seq + 2), __ATOMIC_SEQ_CST);
	futex_wake(&p->ctl->futex);
	p->seq++;
}

static int nothing_to_open(struct peer *p)
{
	(void)p;
	return 0;
}

static void nothing_to_close(struct peer *p)
{
	(void)p;
}

/* ------------------------------------------------------------------ memview channel */

static int join_retry(struct peer *p, mv_chan **out, const char *name)
{
	int64_t deadline = mvu_now_ns() + SETUP_TIMEOUT_NS;
	int rc;

	for (;;) {
		rc = mv_chan_join(out, name, NULL, SETUP_TIMEOUT_NS);
		/* Not created yet, or created and not yet initialised (the magic comes last). */
		if ((rc != -ENOENT && rc != -EBADMSG) || mvu_now_ns() > deadline)
			break;
		usleep(200);
	}
	if (rc < 0)
		peer_fail_mv(p, "mv_chan_join", rc);
	return rc;
}

/*
 * A creates the ping channel (slots of the message size) and B the pong channel (64-byte slots);
 * each joins the other's. B creates before it joins, so A finds the pong channel once B joined.
 */
static int chan_open(struct peer *p)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	int rc;

	o.flags = p->method == HO_SPIN ? MV_CHAN_SPIN : 0;
	o.nslots = p->cfg->nslots;
	o.slot_size = p->role == 0 ? p->size : PONG_BYTES;
	rc = mv_chan_create(&p->out, p->chan_name[p->role], &o);
	if (rc < 0)
		peer_fail_mv(p, "mv_chan_create", rc);
	if (p->role == 0) {
		rc = mv_chan_wait_consumers(p->out, 1, SETUP_TIMEOUT_NS);
		if (rc < 0)
			peer_fail_mv(p, "mv_chan_wait_consumers", rc);
		join_retry(p, &p->in, p->chan_name[1]);
	} else {
		join_retry(p, &p->in, p->chan_name[0]);
		rc = mv_chan_wait_consumers(p->out, 1, SETUP_TIMEOUT_NS);
		if (rc < 0)
			peer_fail_mv(p, "mv_chan_wait_consumers", rc);
	}
	return 0;
}

static void chan_put(struct peer *p, size_t nbytes, int do_fill)
{
	mv_view v;
	int rc;

	rc = mv_chan_loan(&v, p->out, MV_CHAN_FOREVER);
	if (rc < 0)
		peer_fail_mv(p, "mv_chan_loan", rc);
	if (do_fill)
		fill(mv_view_ptr(&v), nbytes, p->seq);
	rc = mv_chan_send(p->out, &v, nbytes);
	if (rc < 0)
		peer_fail_mv(p, "mv_chan_send", rc);
}

static void chan_get(struct peer *p, int do_touch)
{
	mv_view v;
	int rc;

	rc = mv_chan_recv(&v, p->in, MV_CHAN_FOREVER);
	if (rc < 0)
		peer_fail_mv(p, "mv_chan_recv", rc);
	if (do_touch)
		touch(mv_view_ptr(&v), (size_t)mv_view_nbytes(&v));
	mv_view_release(&v);
}

static void chan_send(struct peer *p)
{
	chan_put(p, p->size, p->cfg->fill);
	p->seq++;
}

/*
 * --pong store: the spinning channel's receiver answers as the ring's does, with one store to a
 * shared word, so that spin and shm-memcpy rows differ only in how the message goes.
 */
static void shm_wait_pong(struct peer *p);
static void shm_pong(struct peer *p);

static int store_pong(const struct peer *p)
{
	return p->cfg->pong_store && p->method == HO_SPIN;
}

static void chan_wait_pong(struct peer *p)
{
	if (store_pong(p)) {
		shm_wait_pong(p);
		return;
	}
	chan_get(p, 0);
}

static void chan_recv(struct peer *p)
{
	chan_get(p, p->touched);
}

static void chan_pong(struct peer *p)
{
	if (store_pong(p)) {
		shm_pong(p);
		return;
	}
	chan_put(p, PONG_BYTES, 0);
	p->seq++;
}

static void chan_close(struct peer *p)
{
	mv_chan_close(p->in);
	mv_chan_close(p->out);
}

/* ------------------------------------------------------------------ pipe, unix socket */

static int fd_open(struct peer *p)
{
	p->buf = xmalloc_touched(p, p->size);
	return 0;
}

static void write_all(struct peer *p, int fd, const void *s, size_t n)
{
	if (mvu_write_full(fd, s, n) < 0)
		peer_fail(p, "write: %s", strerror(errno));
}

static void read_all(struct peer *p, int fd, void *d, size_t n)
{
	ssize_t r = mvu_read_full(fd, d, n);

	if (r != (ssize_t)n)
		peer_fail(p, "read: %s", r < 0 ? strerror(errno) : "end of file");
}

static void fd_send(struct peer *p)
{
	if (p->cfg->fill)
		fill(p->buf, p->size, p->seq);
	write_all(p, p->fd_out, p->buf, p->size);
	p->seq++;
}

static void fd_wait_pong(struct peer *p)
{
	read_all(p, p->fd_in, p->small, PONG_BYTES);
}

static void fd_recv(struct peer *p)
{
	read_all(p, p->fd_in, p->buf, p->size);
	if (p->touched)
		touch(p->buf, p->size);
}

static void fd_pong(struct peer *p)
{
	write_all(p, p->fd_out, p->small, PONG_BYTES);
	p->seq++;
}

static void fd_close(struct peer *p)
{
	free(p->buf);
}

/* ------------------------------------------------------------------ shm + memcpy */

/*
 * A ring of nslots buffers in shared memory, as the channel has: A waits for a free buffer,
 * copies the message in and publishes it (head); B waits for it, copies it out to its own
 * memory and hands the buffer back (tail). Both spin, with the channel's pause.
 */
static int shm_open_ring(struct peer *p)
{
	p->buf = xmalloc_touched(p, p->size);
	return 0;
}

static void shm_send(struct peer *p)
{
	uint64_t h = p->seq;

	while (h - __atomic_load_n(p->tail, __ATOMIC_ACQUIRE) >= p->cfg->nslots)
		cpu_relax();
	if (p->cfg->fill)
		fill(p->buf, p->size, p->seq);
	memcpy(p->ring + (h % p->cfg->nslots) * p->size, p->buf, p->size);
	__atomic_store_n(p->head, h + 1, __ATOMIC_RELEASE);
	p->seq++;
}

static void shm_wait_pong(struct peer *p)
{
	while (__atomic_load_n(p->ack, __ATOMIC_ACQUIRE) != p->seq)
		cpu_relax();
}

static void shm_recv(struct peer *p)
{
	uint64_t t = __atomic_load_n(p->tail, __ATOMIC_RELAXED);

	while (__atomic_load_n(p->head, __ATOMIC_ACQUIRE) == t)
		cpu_relax();
	memcpy(p->buf, p->ring + (t % p->cfg->nslots) * p->size, p->size);
	__atomic_store_n(p->tail, t + 1, __ATOMIC_RELEASE);
	if (p->touched)
		touch(p->buf, p->size);
}

static void shm_pong(struct peer *p)
{
	p->seq++;
	__atomic_store_n(p->ack, p->seq, __ATOMIC_RELEASE);
}

/*
 * --ring readonly: the ring as a channel shares it. A's memory (head, then the buffers) and B's
 * (tail, ack) are memfds; each side maps its own read-write and the other's readonly, as a
 * channel's consumer maps the producer's memory and the producer a consumer's. Called in the
 * child @p->role, after the fork; 0, or -1 with a message for the orchestrator.
 */
static int shm_map_readonly(struct peer *p, const int memfd[2], size_t ring_bytes)
{
	int mine = p->role, prot[2];
	void *a, *b;

	prot[0] = mine == 0 ? PROT_READ | PROT_WRITE : PROT_READ;
	prot[1] = mine == 1 ? PROT_READ | PROT_WRITE : PROT_READ;
	a = mmap(NULL, SHM_RO_PAGE + ring_bytes, prot[0], MAP_SHARED, memfd[0], 0);
	b = mmap(NULL, SHM_RO_PAGE, prot[1], MAP_SHARED, memfd[1], 0);
	if (a == MAP_FAILED || b == MAP_FAILED)
		return -1;
	p->head = a;
	p->ring = (char *)a + SHM_RO_PAGE;
	p->tail = b;
	p->ack = (uint64_t *)((char *)b + CL);
	return 0;
}

/* ------------------------------------------------------------------ ZeroMQ */

#ifdef HAVE_ZMQ
/*
 * PAIR sockets over ipc:// (A binds, B connects), both directions on one connection as the unix
 * socket method has. A sends each payload without copying it into ZeroMQ: zmq_msg_init_data on
 * one of its own buffers, which ZeroMQ hands back through zmq_buffer_free (in its I/O thread)
 * when it has written it out. A keeps a pool of such buffers: ZMQ_POOL_BYTES of them but at
 * least --slots and at most ZMQ_POOL_MAX, so that small messages can queue as deep as ZeroMQ's
 * own high-water mark lets them (its throughput comes from that batching) and large ones are
 * bounded as the channel's slots are. B receives each message into a zmq_msg_t (ZeroMQ's own
 * allocation: the read from the socket lands there), reads it when the payload is touched, and
 * closes it. The 8-byte answer goes with zmq_send (a copy into the message, as ZeroMQ does for
 * any message that small).
 */
#define ZMQ_POOL_BYTES ((size_t)4 << 20)
#define ZMQ_POOL_MAX 1024u
#define ZMQ_LINGER_MS 10000

static void peer_fail_zmq(struct peer *p, const char *what) __attribute__((noreturn));

static void peer_fail_zmq(struct peer *p, const char *what)
{
	peer_fail(p, "%s: %s", what, zmq_strerror(zmq_errno()));
}

/* ZeroMQ is done with a buffer of A's pool (called in its I/O thread). */
static void zmq_buffer_free(void *data, void *hint)
{
	uint32_t *busy = hint;

	(void)data;
	if (__atomic_exchange_n(busy, 0, __ATOMIC_RELEASE) == 2)
		syscall(SYS_futex, busy, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* A: wait until ZeroMQ has handed a buffer back (at once, unless A runs that far ahead). */
static void zmq_buffer_wait(uint32_t *busy)
{
	uint32_t v;

	while ((v = __atomic_load_n(busy, __ATOMIC_ACQUIRE)) != 0) {
		if (v == 1 && !__atomic_compare_exchange_n(busy, &v, 2, 0, __ATOMIC_ACQUIRE,
							   __ATOMIC_ACQUIRE))
			continue;
		syscall(SYS_futex, busy, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
	}
}

static int zmq_open_pair(struct peer *p)
{
	char endpoint[128];
	int linger = ZMQ_LINGER_MS;
	size_t n;

	/* An abstract unix socket: nothing in the file system to clean up. */
	snprintf(endpoint, sizeof(endpoint), "ipc://@%s.zmq", p->chan_name[0] + 1);
	if (p->role == 0) {
		n = ZMQ_POOL_BYTES / (p->size ? p->size : 1);
		p->nzbuf = n > ZMQ_POOL_MAX ? ZMQ_POOL_MAX : (unsigned)n;
		if (p->nzbuf < p->cfg->nslots)
			p->nzbuf = p->cfg->nslots;
		p->zstride = (p->size + CL - 1) & ~(size_t)(CL - 1);
		p->zpool = xmalloc_touched(p, p->zstride * p->nzbuf);
		p->zbusy = calloc(p->nzbuf, sizeof(*p->zbusy));
		if (!p->zbusy)
			peer_fail(p, "out of memory");
	}
	/* After mvu_pin_cpu: ZeroMQ's threads inherit the CPU. */
	p->zctx = zmq_ctx_new();
	if (!p->zctx)
		peer_fail_zmq(p, "zmq_ctx_new");
	p->zsock = zmq_socket(p->zctx, ZMQ_PAIR);
	if (!p->zsock)
		peer_fail_zmq(p, "zmq_socket");
	if (zmq_setsockopt(p->zsock, ZMQ_LINGER, &linger, sizeof(linger)) < 0)
		peer_fail_zmq(p, "zmq_setsockopt(ZMQ_LINGER)");
	if (p->role == 0) {
		if (zmq_bind(p->zsock, endpoint) < 0)
			peer_fail(p, "zmq_bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
	} else {
		/* Once A is bound (it is ready when it returns from here), or wait for a retry. */
		wait_flag(&p->ctl->ready[0]);
		if (zmq_connect(p->zsock, endpoint) < 0)
			peer_fail(p, "zmq_connect %s: %s", endpoint, zmq_strerror(zmq_errno()));
	}
	return 0;
}

static void zmq_send_payload(struct peer *p)
{
	unsigned i = (unsigned)(p->seq % p->nzbuf);
	char *buf = p->zpool + (size_t)i * p->zstride;
	zmq_msg_t m;

	zmq_buffer_wait(&p->zbusy[i]);
	if (p->cfg->fill)
		fill(buf, p->size, p->seq);
	__atomic_store_n(&p->zbusy[i], 1, __ATOMIC_RELAXED);
	if (zmq_msg_init_data(&m, buf, p->size, zmq_buffer_free, &p->zbusy[i]) < 0)
		peer_fail_zmq(p, "zmq_msg_init_data");
	while (zmq_msg_send(&m, p->zsock, 0) < 0)
		if (zmq_errno() != EINTR)
			peer_fail_zmq(p, "zmq_msg_send");
	p->seq++;
}

static void zmq_get(struct peer *p, size_t want, int do_touch)
{
	zmq_msg_t m;

	zmq_msg_init(&m);
	while (zmq_msg_recv(&m, p->zsock, 0) < 0)
		if (zmq_errno() != EINTR)
			peer_fail_zmq(p, "zmq_msg_recv");
	if (zmq_msg_size(&m) != want)
		peer_fail(p, "zmq_msg_recv: %zu bytes, not %zu", zmq_msg_size(&m), want);
	if (do_touch)
		touch(zmq_msg_data(&m), want);
	zmq_msg_close(&m);
}

static void zmq_wait_pong(struct peer *p)
{
	zmq_get(p, PONG_BYTES, 0);
}

static void zmq_recv_payload(struct peer *p)
{
	zmq_get(p, p->size, p->touched);
}

static void zmq_pong(struct peer *p)
{
	while (zmq_send(p->zsock, p->small, PONG_BYTES, 0) < 0)
		if (zmq_errno() != EINTR)
			peer_fail_zmq(p, "zmq_send");
	p->seq++;
}

/* After the last message: the linger lets A's queue drain to B, then the pool can go. */
static void zmq_close_pair(struct peer *p)
{
	zmq_close(p->zsock);
	zmq_ctx_term(p->zctx);
	free(p->zpool);
	free(p->zbusy);
}
#endif /* HAVE_ZMQ */

static const struct method_ops ops_table[HO_NALL] = {
	[HO_SPIN] = { chan_open, chan_send, chan_wait_pong, chan_recv, chan_pong, chan_close },
	[HO_SLEEP] = { chan_open, chan_send, chan_wait_pong, chan_recv, chan_pong, chan_close },
	[HO_PIPE] = { fd_open, fd_send, fd_wait_pong, fd_recv, fd_pong, fd_close },
	[HO_UNIX] = { fd_open, fd_send, fd_wait_pong, fd_recv, fd_pong, fd_close },
	[HO_SHM] = { shm_open_ring, shm_send, shm_wait_pong, shm_recv, shm_pong, fd_close },
#ifdef HAVE_ZMQ
	[HO_ZMQ] = { zmq_open_pair, zmq_send_payload, zmq_wait_pong, zmq_recv_payload, zmq_pong,
		     zmq_close_pair },
#endif
	[HO_FLOOR] = { nothing_to_open, floor_send, floor_wait_pong, floor_recv, floor_pong,
		       nothing_to_close },
	[HO_FUTEX] = { nothing_to_open, futex_send, futex_wait_pong, futex_recv, futex_pong,
		       nothing_to_close },
};

/* ------------------------------------------------------------------ the two processes */

struct plan {
	int method;
	size_t size;
	int touched;
	int stream;              /* also measure throughput */
	uint64_t gap;            /* ticks each side idles before it sends (sleep, futex) */
	long warm_min, warm_max, cap;
	long stream_min;         /* messages streamed at least */
	uint64_t *rtt, *hold;    /* in the shared mapping, cap entries each */
};

static void run_a(struct peer *p, const struct method_ops *ops, const struct plan *pl)
{
	const struct ho_config *cfg = p->cfg;
	struct ctl *c = p->ctl;
	uint64_t budget = (uint64_t)(cfg->lat_s * 1e9 / tick_ns);
	uint64_t start, mstart = 0, t0, t1, every;
	int64_t deadline;
	long i, warm = -1, n, sw, inv, inv1;
	int64_t rq = runq_ns(), w0 = mvu_now_ns();

	sw = switches(&inv);
	start = tick();
	for (i = 0; i < pl->cap - 1; i++) {
		set_phase("sending pings and waiting for pongs", i);
		if (pl->gap)
			spin_for(tick(), pl->gap);
		t0 = tick();
		ops->send(p);
		ops->wait_pong(p);
		t1 = tick();
		pl->rtt[i] = t1 - t0;
		if (warm < 0) {
			if (i + 1 >= pl->warm_min &&
			    (t1 - start >= budget / 10 || i + 1 >= pl->warm_max)) {
				warm = i + 1;
				mstart = t1;
			}
			continue;
		}
		n = i + 1 - warm;
		if (n >= cfg->max_iters || (n >= HO_MIN_SAMPLES && t1 - mstart >= budget))
			break;
	}
	c->nvcsw_lat[0] = switches(&inv1) - sw;
	c->nivcsw_lat[0] = inv1 - inv;
	c->runq_lat[0] = runq_ns() - rq;
	c->wall_lat[0] = mvu_now_ns() - w0;
	c->warm = warm < 0 ? i : warm;
	c->rounds = i < pl->cap - 1 ? i + 1 : i;
	/* The next message is the last: B does not answer it. */
	__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
	set_phase("sending the last ping", i);
	ops->send(p);
	if (!pl->stream)
		return;

	set_phase("waiting for the receiver to stream", 0);
	wait_flag(&c->b_streaming);
	every = p->size >= 65536 ? 1 : 16;
	sw = switches(NULL);
	c->t_start = mvu_now_ns();
	deadline = c->t_start + (int64_t)(cfg->stream_s * 1e9);
	for (n = 1;; n++) {
		set_phase("streaming", n);
		ops->send(p);
		if (n % (long)every == 0 && n >= pl->stream_min && mvu_now_ns() >= deadline)
			break;
	}
	__atomic_store_n(&c->total, (uint64_t)n + 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->sstop, 1, __ATOMIC_SEQ_CST);
	set_phase("sending the last streamed message", n + 1);
	ops->send(p);
	c->nvcsw_stream[0] = switches(NULL) - sw;
}

static void run_b(struct peer *p, const struct method_ops *ops, const struct plan *pl)
{
	struct ctl *c = p->ctl;
	uint64_t h0, n;
	long i, sw, inv, inv1;
	int64_t rq = runq_ns(), w0 = mvu_now_ns();

	sw = switches(&inv);
	for (i = 0;; i++) {
		set_phase("receiving pings and answering", i);
		ops->recv(p);
		if (__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE))
			break;
		if (pl->gap && i < pl->cap) {
			h0 = tick();
			pl->hold[i] = spin_for(h0, pl->gap) - h0;
		}
		ops->pong(p);
	}
	c->nvcsw_lat[1] = switches(&inv1) - sw;
	c->nivcsw_lat[1] = inv1 - inv;
	c->runq_lat[1] = runq_ns() - rq;
	c->wall_lat[1] = mvu_now_ns() - w0;
	if (!pl->stream)
		return;

	sw = switches(NULL);
	__atomic_store_n(&c->b_streaming, 1, __ATOMIC_RELEASE);
	for (n = 0;;) {
		set_phase("receiving the stream", (long)n);
		ops->recv(p);
		n++;
		if (__atomic_load_n(&c->sstop, __ATOMIC_ACQUIRE) &&
		    n == __atomic_load_n(&c->total, __ATOMIC_ACQUIRE))
			break;
	}
	c->t_end = mvu_now_ns();
	c->stream_msgs = n;
	c->nvcsw_stream[1] = switches(NULL) - sw;
}

static void child(struct peer *p, const struct plan *pl)
{
	const struct method_ops *ops = &ops_table[pl->method];
	struct ctl *c = p->ctl;
	int rc;

	alarm_peer = p;
	signal(SIGALRM, on_alarm);
	rc = mvu_pin_cpu(p->cfg->cpu[p->role]);
	if (rc < 0)
		peer_fail(p, "cannot pin to CPU %d: %s", p->cfg->cpu[p->role], strerror(-rc));
	set_phase("opening", 0);
	if (ops->open(p) < 0)
		_exit(1);
	__atomic_store_n(&c->ready[p->role], 1, __ATOMIC_RELEASE);
	set_phase("waiting for the other side to open", 0);
	wait_flag(&c->ready[!p->role]);
	if (p->role == 0)
		run_a(p, ops, pl);
	else
		run_b(p, ops, pl);
	/*
	 * A closes only once B has everything: closing the sending end early can lose what is still
	 * in flight (ZeroMQ: a receiver stopped on the stream's last messages once in some 50 runs
	 * under load, its sender long gone with a clean exit).
	 */
	if (p->role == 1)
		__atomic_store_n(&c->b_done, 1, __ATOMIC_RELEASE);
	else
		wait_flag(&c->b_done);
	set_phase("closing", 0);
	ops->close(p);
	_exit(0);
}

/* ------------------------------------------------------------------ statistics */

/* Nearest-rank percentile of sorted @v. */
static double pct(const double *v, long n, double q)
{
	long k = (long)ceil(q * (double)n) - 1;

	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return v[k];
}

static void stats_of(struct ho_stats *s, double *v, long n)
{
	double sum = 0;
	long i;

	memset(s, 0, sizeof(*s));
	if (n <= 0)
		return;
	mvu_sort_doubles(v, (size_t)n);
	for (i = 0; i < n; i++)
		sum += v[i];
	s->n = n;
	s->min = v[0];
	s->max = v[n - 1];
	s->mean = sum / (double)n;
	s->p50 = pct(v, n, 0.50);
	s->p90 = pct(v, n, 0.90);
	s->p99 = pct(v, n, 0.99);
	s->p999 = pct(v, n, 0.999);
}

/* ------------------------------------------------------------------ the orchestrator */

struct run {
	const struct ho_config *cfg;
	struct ho_results *res;
	char *err;
	size_t errcap;
	unsigned serial;          /* measurements so far, for unique channel names */
};

static int fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, r->errcap, fmt, ap);
	va_end(ap);
	return -1;
}

static size_t pipe_capacity_max(void)
{
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");
	unsigned long v = 1048576;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 1048576;
		fclose(f);
	}
	return v;
}

static void unlink_channel(const char *name)
{
	char d[128];

	snprintf(d, sizeof(d), "%s.data", name);
	mv_segment_unlink(name, MV_SEGMENT_FORCE);
	mv_segment_unlink(d, MV_SEGMENT_FORCE);
}

static const char *status_text(char *buf, size_t cap, int status)
{
	if (WIFSIGNALED(status))
		snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, cap, "exit status %d", WEXITSTATUS(status));
	return buf;
}

/* Wait for both children; when one fails, kill the other. Returns 0 or -1. */
static int reap(struct run *r, pid_t pid[2], struct ctl *c, const char *what)
{
	int status[2] = { 0, 0 }, left = 2, bad = -1, k, st;
	char why[96];
	pid_t w;

	while (left) {
		w = waitpid(-1, &st, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return fail(r, "waitpid: %s", strerror(errno));
		}
		k = w == pid[0] ? 0 : w == pid[1] ? 1 : -1;
		if (k < 0)
			continue;
		status[k] = st;
		pid[k] = -1;
		left--;
		if ((!WIFEXITED(st) || WEXITSTATUS(st) != 0) && bad < 0) {
			bad = k;
			if (pid[!k] > 0)
				kill(pid[!k], SIGKILL);
		}
	}
	if (bad < 0)
		return 0;
	if (c->err[bad][0])
		return fail(r, "%s: %s: %s", what, bad ? "receiver" : "sender", c->err[bad]);
	if (c->err[!bad][0])
		return fail(r, "%s: %s: %s", what, bad ? "sender" : "receiver", c->err[!bad]);
	return fail(r, "%s: %s %s", what, bad ? "receiver" : "sender",
		    status_text(why, sizeof(why), status[bad]));
}

/*
 * One measurement: fork A and B for @method at @size, collect the round trips into @lat (one-way)
 * or @rt (round trip, may be NULL), and the stream into @cell when it streams.
 */
static int measure(struct run *r, int method, size_t size, int touched, struct ho_stats *lat,
		   struct ho_stats *rt, double *sleeps, long *preempts, double *runq,
		   struct ho_cell *cell)
{
	const struct ho_config *cfg = r->cfg;
	struct plan pl;
	struct peer p;
	struct ctl *c;
	char names[2][80], what[96], sz[32];
	size_t ctl_bytes, map_bytes, ring_bytes = 0;
	int pfd[2][2] = { { -1, -1 }, { -1, -1 } }, sv[2] = { -1, -1 }, rc = 0, k, slotted;
	int memfd[2] = { -1, -1 };
	void *map, *ring = NULL;
	double *v = NULL, *w = NULL;
	pid_t pid[2] = { -1, -1 };
	long i, n;

	memset(&pl, 0, sizeof(pl));
	pl.method = method;
	pl.size = size;
	pl.touched = touched;
	pl.stream = method < HO_NMETHODS;
	if (method == HO_SLEEP || method == HO_FUTEX)
		pl.gap = (uint64_t)(cfg->gap_us * 1e3 / tick_ns);
	/* Slots (and ring buffers) must each have been used once; a pipe needs one go. */
	slotted = method == HO_SPIN || method == HO_SLEEP || method == HO_SHM;
	pl.warm_min = slotted ? (long)cfg->nslots + 1 : 2;
	pl.stream_min = slotted ? (long)cfg->nslots + 1 : 2;
	pl.warm_max = cfg->max_iters / 10;
	if (pl.warm_max > WARM_MAX)
		pl.warm_max = WARM_MAX;
	if (pl.warm_max < pl.warm_min)
		pl.warm_max = pl.warm_min;
	pl.cap = pl.warm_max + cfg->max_iters + 2;

	if (method < HO_NMETHODS)
		snprintf(what, sizeof(what), "%s %s %s",
			 method == HO_SHM && cfg->ring_readonly ? "shm-ro" : ho_method_name(method),
			 mvu_size_name(sz, sizeof(sz), size), touched ? "touched" : "untouched");
	else
		snprintf(what, sizeof(what), "%s", ho_method_name(method));

	ctl_bytes = (sizeof(struct ctl) + 4095) & ~(size_t)4095;
	map_bytes = ctl_bytes + 2 * (size_t)pl.cap * sizeof(uint64_t);
	map = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return fail(r, "%s: mmap: %s", what, strerror(errno));
	c = map;
	pl.rtt = (uint64_t *)((char *)map + ctl_bytes);
	pl.hold = pl.rtt + pl.cap;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.ctl = c;
	p.method = method;
	p.size = size;
	p.touched = touched;
	p.fd_out = p.fd_in = -1;
	p.head = &c->head;
	p.tail = &c->tail;
	p.ack = &c->ack;
	r->serial++;
	for (k = 0; k < 2; k++) {
		snprintf(names[k], sizeof(names[k]), "/mvbench.%ld.%u.%s", (long)getpid(),
			 r->serial, k ? "pong" : "ping");
		p.chan_name[k] = names[k];
	}
	if (method == HO_PIPE) {
		if (pipe2(pfd[0], O_CLOEXEC) < 0 || pipe2(pfd[1], O_CLOEXEC) < 0) {
			rc = fail(r, "%s: pipe: %s", what, strerror(errno));
			goto out;
		}
		fcntl(pfd[0][1], F_SETPIPE_SZ, (int)pipe_capacity_max());
		r->res->pipe_capacity = (size_t)fcntl(pfd[0][1], F_GETPIPE_SZ);
	} else if (method == HO_UNIX) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			rc = fail(r, "%s: socketpair: %s", what, strerror(errno));
			goto out;
		}
	} else if (method == HO_SHM && cfg->ring_readonly) {
		ring_bytes = (size_t)cfg->nslots * size;
		for (k = 0; k < 2; k++) {
			memfd[k] = memfd_create(k ? "mvbench-ring-b" : "mvbench-ring-a", MFD_CLOEXEC);
			if (memfd[k] < 0 ||
			    ftruncate(memfd[k], (off_t)(SHM_RO_PAGE + (k ? 0 : ring_bytes))) < 0) {
				rc = fail(r, "%s: the ring's memory: %s", what, strerror(errno));
				goto out;
			}
		}
	} else if (method == HO_SHM) {
		ring_bytes = (size_t)cfg->nslots * size;
		ring = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			    -1, 0);
		if (ring == MAP_FAILED) {
			ring = NULL;
			rc = fail(r, "%s: mmap of %zu bytes: %s", what, ring_bytes,
				  strerror(errno));
			goto out;
		}
		p.ring = ring;
	}

	fflush(NULL);
	for (k = 0; k < 2; k++) {
		pid[k] = fork();
		if (pid[k] < 0) {
			rc = fail(r, "%s: fork: %s", what, strerror(errno));
			if (k == 1) {
				kill(pid[0], SIGKILL);
				waitpid(pid[0], NULL, 0);
			}
			goto out;
		}
		if (pid[k] == 0) {
			p.role = k;
			/* A hang (a bug, or a peer gone) must not hold the run forever. */
			alarm(120 + (unsigned)(4 * (cfg->lat_s + cfg->stream_s)));
			if (method == HO_PIPE) {
				p.fd_out = k ? pfd[1][1] : pfd[0][1];
				p.fd_in = k ? pfd[0][0] : pfd[1][0];
			} else if (method == HO_UNIX) {
				p.fd_out = p.fd_in = sv[k];
			} else if (memfd[0] >= 0 && shm_map_readonly(&p, memfd, ring_bytes) < 0) {
				peer_fail(&p, "mmap of the ring: %s", strerror(errno));
			}
			child(&p, &pl);
		}
	}
	for (k = 0; k < 2; k++) {
		if (pfd[k][0] >= 0)
			close(pfd[k][0]);
		if (pfd[k][1] >= 0)
			close(pfd[k][1]);
		if (sv[k] >= 0)
			close(sv[k]);
		pfd[k][0] = pfd[k][1] = sv[k] = -1;
	}
	rc = reap(r, pid, c, what);
	if (rc < 0)
		goto out;

	/* One-way times: (round trip - B's deliberate idling) / 2. */
	n = c->rounds - c->warm;
	if (n < 1) {
		rc = fail(r, "%s: no round trip was measured", what);
		goto out;
	}
	v = malloc((size_t)n * sizeof(*v));
	w = malloc((size_t)n * sizeof(*w));
	if (!v || !w) {
		rc = fail(r, "%s: out of memory", what);
		goto out;
	}
	for (i = 0; i < n; i++) {
		uint64_t t = pl.rtt[c->warm + i], h = pl.gap ? pl.hold[c->warm + i] : 0;

		w[i] = (double)(t > h ? t - h : 0) * tick_ns;
		v[i] = w[i] / 2;
	}
	stats_of(lat, v, n);
	if (rt)
		stats_of(rt, w, n);
	*sleeps = (double)(c->nvcsw_lat[0] + c->nvcsw_lat[1]) / (double)(c->rounds + 1);
	*preempts = c->nivcsw_lat[0] + c->nivcsw_lat[1];
	*runq = c->wall_lat[0] + c->wall_lat[1] > 0 ?
		(double)(c->runq_lat[0] + c->runq_lat[1]) /
		(double)(c->wall_lat[0] + c->wall_lat[1]) : 0;
	if (cell && pl.stream && c->stream_msgs) {
		cell->msgs = c->stream_msgs;
		cell->stream_s = (double)(c->t_end - c->t_start) / 1e9;
		if (cell->stream_s > 0) {
			cell->msgs_per_s = (double)cell->msgs / cell->stream_s;
			cell->gb_per_s = cell->msgs_per_s * (double)size / 1e9;
		}
		cell->sleeps_per_msg = (double)(c->nvcsw_stream[0] + c->nvcsw_stream[1]) /
				       (double)cell->msgs;
	}
	if (cfg->progress) {
		fprintf(stderr, "mvbench: %-32s one-way p50 %10.0f ns  p99 %10.0f ns  n %ld", what,
			lat->p50, lat->p99, lat->n);
		if (cell && cell->floor.p50 > 0)
			fprintf(stderr, "  %.3gx floor", lat->p50 / cell->floor.p50);
		if (*preempts)
			fprintf(stderr, "  preempted %ld", *preempts);
		if (*runq >= 0.001)
			fprintf(stderr, "  runq %.1f%%", 100 * *runq);
		if (cell && cell->msgs)
			fprintf(stderr, "  %.3g msgs/s", cell->msgs_per_s);
		fputc('\n', stderr);
	}
out:
	for (k = 0; k < 2; k++) {
		if (pfd[k][0] >= 0)
			close(pfd[k][0]);
		if (pfd[k][1] >= 0)
			close(pfd[k][1]);
		if (sv[k] >= 0)
			close(sv[k]);
		if (memfd[k] >= 0)
			close(memfd[k]);
	}
	if (method == HO_SPIN || method == HO_SLEEP) {
		unlink_channel(names[0]);
		unlink_channel(names[1]);
	}
	free(v);
	free(w);
	if (ring)
		munmap(ring, ring_bytes);
	munmap(map, map_bytes);
	return rc;
}

/*
 * The floor again, briefly, just before a cell: on a virtual machine the host may move the two
 * virtual CPUs to other cores during a run, and the floor moves with them (by 3x between two
 * cores of one cache complex and two of different ones), so each cell is compared with the
 * floor of its own moment.
 */
static int cell_ref(struct run *r, int method, struct ho_stats *out, long *preempts,
		    double *runq)
{
	const struct ho_config *save = r->cfg;
	struct ho_config fc = *save;
	struct ho_stats rt;
	double sleeps;
	int rc;

	if (fc.max_iters > 20000)
		fc.max_iters = 20000;
	fc.lat_s = method == HO_FLOOR ? 0.03 : 0.05;
	fc.progress = 0;
	r->cfg = &fc;
	rc = measure(r, method, 0, 0, out, &rt, &sleeps, preempts, runq, NULL);
	r->cfg = save;
	return rc;
}

/*
 * A method whose processes run threads of their own (ZeroMQ's I/O thread shares each process's
 * CPU): its own threads preempt each other and wait for each other on the run queue, so its
 * preemptions and run-queue time are no measure of other work. Such a row is judged by the
 * floor measured with it.
 */
static int own_threads(int method)
{
	return method == HO_ZMQ;
}

/* How much other work got in the way: time waiting for a CPU, then preemptions. */
static double disturbance(const struct ho_cell *c)
{
	if (own_threads(c->method))
		return c->ref_runq + 1e-4 * (double)c->ref_preempts;
	return c->runq + 1e-4 * (double)c->preempts;
}

static int disturbed(const struct ho_cell *c)
{
	if (own_threads(c->method))
		return c->ref_preempts > HO_PREEMPT_OK || c->ref_runq > HO_RUNQ_OK;
	return c->preempts > HO_PREEMPT_OK || c->runq > HO_RUNQ_OK;
}

/*
 * One cell: the floor (and for sleep the futex) just before it, then the cell; again when
 * other work got in the way (HO_PREEMPT_OK, HO_RUNQ_OK), keeping the least disturbed try.
 */
static int measure_cell(struct run *r, struct ho_cell *cell)
{
	struct ho_cell try;
	long pf, px, pc;
	double qf, qx, qc;
	char sz[32];
	int a;

	for (a = 0; a <= r->cfg->retries; a++) {
		memset(&try, 0, sizeof(try));
		try.method = cell->method;
		try.size = cell->size;
		try.touched = cell->touched;
		px = 0;
		qx = 0;
		if (cell_ref(r, HO_FLOOR, &try.floor, &pf, &qf) < 0)
			return -1;
		if (try.method == HO_SLEEP && cell_ref(r, HO_FUTEX, &try.futex, &px, &qx) < 0)
			return -1;
		if (measure(r, try.method, try.size, try.touched, &try.lat, NULL,
			    &try.sleeps_per_rt, &pc, &qc, &try) < 0)
			return -1;
		try.preempts = pf + px + pc;
		try.runq = fmax(qc, fmax(qf, qx));
		try.ref_preempts = pf + px;
		try.ref_runq = fmax(qf, qx);
		if (a == 0 || disturbance(&try) < disturbance(cell))
			*cell = try;
		if (!disturbed(&try))
			break;
		if (r->cfg->progress && a < r->cfg->retries)
			fprintf(stderr, "mvbench: %s %s %s: preempted %ld times, %.1f%% waiting "
				"for a CPU; measuring again\n", ho_method_name(try.method),
				mvu_size_name(sz, sizeof(sz), try.size),
				try.touched ? "touched" : "untouched",
				own_threads(try.method) ? try.ref_preempts : try.preempts,
				100 * (own_threads(try.method) ? try.ref_runq : try.runq));
	}
	cell->attempts = a > r->cfg->retries ? r->cfg->retries + 1 : a + 1;
	return 0;
}

/* The run's reference measurements, again while preempted. */
static int measure_ref(struct run *r, int method, struct ho_stats *ow, struct ho_stats *rt,
		       double *sleeps, long *preempts, double *runq)
{
	struct ho_stats ow1, rt1;
	double s1, q1;
	long p1;
	int a;

	for (a = 0; a <= r->cfg->retries; a++) {
		if (measure(r, method, 0, 0, &ow1, &rt1, &s1, &p1, &q1, NULL) < 0)
			return -1;
		if (a == 0 || q1 + 1e-4 * (double)p1 < *runq + 1e-4 * (double)*preempts) {
			*ow = ow1;
			*rt = rt1;
			*sleeps = s1;
			*preempts = p1;
			*runq = q1;
		}
		if (p1 <= HO_PREEMPT_OK && q1 <= HO_RUNQ_OK)
			break;
	}
	return 0;
}

/* ------------------------------------------------------------------ machine facts */

static double load_avg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l = -1;

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static void machine_facts(struct ho_results *res)
{
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	mvu_cpu_model(res->cpu_model, sizeof(res->cpu_model));
	if (uname(&u) == 0)
		snprintf(res->kernel, sizeof(res->kernel), "%s %s %s", u.sysname, u.release,
			 u.machine);
	gmtime_r(&now, &tm);
	strftime(res->started, sizeof(res->started), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------------ ho_run */

int ho_run(const struct ho_config *cfg, struct ho_results *res, char *err, size_t errcap)
{
	struct run r = { cfg, res, err, errcap, 0 };
	struct ho_cell *cell;
	int64_t t0 = mvu_now_ns();
	unsigned pay;
	int s, m, t;

	memset(res, 0, sizeof(*res));
	if (cfg->methods & ~ho_methods_built())
		return fail(&r, "this mvbench was built without ZeroMQ: no zmq method (configure "
			    "found no libzmq)");
	machine_facts(res);
#ifdef HAVE_ZMQ
	if (cfg->methods & (1u << HO_ZMQ)) {
		int major, minor, patch;

		zmq_version(&major, &minor, &patch);
		snprintf(res->zmq_version, sizeof(res->zmq_version), "%d.%d.%d", major, minor,
			 patch);
	}
#endif
	res->load_before = load_avg();
	timer_init(res);
	res->cells = calloc((size_t)cfg->nsizes * HO_NMETHODS * 2, sizeof(*res->cells));
	if (!res->cells)
		return fail(&r, "out of memory");

	if (measure_ref(&r, HO_FLOOR, &res->floor, &res->floor_rt, &res->floor_sleeps,
			&res->floor_preempts, &res->floor_runq) < 0)
		return -1;
	if (measure_ref(&r, HO_FUTEX, &res->futex, &res->futex_rt, &res->futex_sleeps,
			&res->futex_preempts, &res->futex_runq) < 0)
		return -1;
	for (s = 0; s < cfg->nsizes; s++) {
		for (m = 0; m < HO_NMETHODS; m++) {
			if (!(cfg->methods & (1u << m)))
				continue;
			for (t = 0; t < 2; t++) {
				pay = t ? HO_PAYLOAD_TOUCHED : HO_PAYLOAD_UNTOUCHED;
				if (!(cfg->payloads & pay))
					continue;
				cell = &res->cells[res->ncells];
				cell->method = m;
				cell->size = cfg->sizes[s];
				cell->touched = t;
				if (measure_cell(&r, cell) < 0)
					return -1;
				res->ncells++;
			}
		}
	}
	if (!cfg->ring_readonly && ho_find(res, HO_SPIN, HO_SMALL, 0) &&
	    ho_find(res, HO_SHM, HO_SMALL, 0)) {
		/*
		 * The ring again, shared as a channel's memory is (each side readonly to the
		 * other): most of the channel's distance to the ring is that (bench/RESULTS.md,
		 * "The readonly mapping"), so the run shows it beside the targets.
		 */
		struct ho_config ro = *cfg;

		ro.ring_readonly = 1;
		r.cfg = &ro;
		res->ring_ro.method = HO_SHM;
		res->ring_ro.size = HO_SMALL;
		res->ring_ro.touched = 0;
		s = measure_cell(&r, &res->ring_ro);
		r.cfg = cfg;
		if (s < 0)
			return -1;
		res->has_ring_ro = 1;
	}
	res->load_after = load_avg();
	res->elapsed_s = (double)(mvu_now_ns() - t0) / 1e9;
	return 0;
}

void ho_results_free(struct ho_results *res)
{
	free(res->cells);
	res->cells = NULL;
	res->ncells = 0;
}

double ho_x_floor(const struct ho_results *res, const struct ho_cell *cell, double ns)
{
	double f = cell && cell->floor.p50 > 0 ? cell->floor.p50 : res->floor.p50;

	return f > 0 ? ns / f : 0;
}

void ho_floor_range(const struct ho_results *res, double *lo, double *hi)
{
	int i;

	*lo = *hi = res->floor.p50;
	for (i = 0; i < res->ncells; i++) {
		if (!(res->cells[i].floor.p50 > 0))
			continue;
		*lo = fmin(*lo, res->cells[i].floor.p50);
		*hi = fmax(*hi, res->cells[i].floor.p50);
	}
}

const struct ho_cell *ho_find(const struct ho_results *res, int method, size_t size, int touched)
{
	int i;

	for (i = 0; i < res->ncells; i++)
		if (res->cells[i].method == method && res->cells[i].size == size &&
		    res->cells[i].touched == touched)
			return &res->cells[i];
	return NULL;
}
