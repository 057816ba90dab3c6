/*
 * bench/uring.c - "mvbench uring" (see uring.h).
 *
 * What is measured, per block size (4 KiB and 128 KiB by default), each reading the file
 * sequentially from its start, at most once per pass:
 *   read          read(2) into one buffer, one call per block
 *   uring         IORING_OP_READ, --depth requests in flight into --depth buffers
 *   fixed         fixed reads prepared from views of a memview registered slot
 *                 (mv_uring_prep_read_fixed) and reaped through mv_uring_complete
 *   read-direct   read(2) with O_DIRECT (disk, not page cache), where the filesystem allows
 *   fixed-direct  fixed reads with O_DIRECT
 * and then the pipeline: fixed reads land in ranges of a named shared-memory segment
 * registered as slots (mv_uring_attach); each filled range is handed (slot id over a pipe) to a
 * consumer process that opened the segment itself, views the range (a slice of its own mapping:
 * no copy), checks the first 8 bytes of every page against the file's pattern and hands the slot
 * back; the producer learns of returned slots through a read on the return pipe submitted to the
 * same ring. The pipeline's GB/s is the whole file over the time until the last slot came back.
 *
 * Passes interleave the methods (pass 1 of every method, then pass 2, ...), so a change in the
 * machine's load spreads over all of them; the table shows the median pass. GB/s is 10^9 bytes
 * per second.
 *
 * The file is created (unless --file names one) in --dir, /var/tmp by default, filled with the
 * pattern "every 8-byte word holds its own offset", synced so that O_DIRECT passes do not pay
 * for write-back, and checked to be in the page cache (mincore) before measuring. tmpfs is
 * refused: io_uring reads of tmpfs files are punted to kernel workers, which measures the punt,
 * not the read.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "memview.h"
#include "../tools/cli.h"
#include "uring.h"

#define MAX_BLOCKS 8
#define MAX_PASSES 15
#define PAGE 4096u
#define TMPFS_MAGIC_ 0x01021994L

/* Targets of issue 4. */
#define TARGET_FIXED_VS_READ_4K 1.10
#define TARGET_PIPELINE_VS_READ_BW 0.80

enum method { M_READ, M_URING, M_FIXED, M_READ_DIRECT, M_FIXED_DIRECT, M_N };

static const char *const method_names[M_N] = { "read", "uring", "fixed", "read-direct",
					       "fixed-direct" };
static const char *const method_desc[M_N] = { "read(2)", "io_uring read",
					      "io_uring fixed read (memview)", "read(2) O_DIRECT",
					      "fixed read O_DIRECT" };

struct config {
	const char *dir;        /* where to create the file */
	const char *file;       /* a file of the user's instead (not verified, not removed) */
	const char *json;
	uint64_t size;          /* bytes of the created file */
	size_t blocks[MAX_BLOCKS];
	int nblocks;
	unsigned methods;       /* 1 << enum method */
	unsigned depth;         /* io_uring requests in flight */
	int passes;
	double max_s;           /* one pass of one method stops after this long */
	size_t pipe_block;      /* pipeline: bytes per slot */
	unsigned pipe_slots;
	int pipeline;
	int cpu[2];             /* pipeline: producer's and consumer's CPU; -1: not pinned */
	cpu_set_t affinity;     /* the process's own, restored after the pipeline */
	int quick, keep, quiet, allow_tmpfs;
};

/* One method at one block size. */
struct cell {
	int ok;                 /* 0: could not run (why says so) */
	char why[160];
	int npasses;
	double ops_s[MAX_PASSES], gb_s[MAX_PASSES];
	double med_ops, med_gb;
};

struct pipeline {
	int ok;
	char why[200];
	int npasses;
	double ops_s[MAX_PASSES], gb_s[MAX_PASSES];
	double med_ops, med_gb;
	uint64_t pages_checked; /* by the consumer, over all passes */
};

/* What one pass of one method did. */
struct pass {
	uint64_t bytes, ops;
	double secs;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_PASSES];

	if (n <= 0)
		return 0;
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void progress(const struct config *c, const char *fmt, ...) CLI_PRINTF(2, 3);
static void progress(const struct config *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "%s uring: ", cli_progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *size_text(uint64_t n, char *buf, size_t cap)
{
	if (n >= (1u << 30) && n % (1u << 30) == 0)
		snprintf(buf, cap, "%llu GiB", (unsigned long long)(n >> 30));
	else if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(buf, cap, "%llu MiB", (unsigned long long)(n >> 20));
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, cap, "%llu KiB", (unsigned long long)(n >> 10));
	else
		snprintf(buf, cap, "%llu B", (unsigned long long)n);
	return buf;
}

/* ------------------------------------------------------------------ the file */

static const char *fs_name(long type)
{
	switch (type) {
	case 0xEF53: return "ext4";
	case 0x58465342: return "xfs";
	case (long)0x9123683E: return "btrfs";
	case TMPFS_MAGIC_: return "tmpfs";
	case 0x794C7630: return "overlayfs";
	case 0x6969: return "nfs";
	case 0x2FC12FC1: return "zfs";
	case 0xF2F52010: return "f2fs";
	default: return NULL;
	}
}

/* Fill @fd with @size bytes of the pattern: each 8-byte word holds its own offset. */
static void fill_file(int fd, uint64_t size, const char *path)
{
	const size_t chunk = 1u << 20;
	uint64_t *buf = malloc(chunk), off = 0;
	size_t i;

	if (!buf)
		cli_fail("out of memory");
	while (off < size) {
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;
		ssize_t w;

		for (i = 0; i < chunk / 8; i++)
			buf[i] = off + i * 8;
		w = write(fd, buf, n);
		if (w != (ssize_t)n)
			cli_fail("%s: write: %s", path, w < 0 ? strerror(errno) : "short write");
		off += n;
	}
	free(buf);
	/* Clean pages: O_DIRECT passes would otherwise flush them first. */
	if (fdatasync(fd) < 0)
		cli_fail("%s: fdatasync: %s", path, strerror(errno));
}

/* Fraction of the file's pages in the page cache. */
static double cached_fraction(int fd, uint64_t size)
{
	size_t pages = (size_t)((size + PAGE - 1) / PAGE), i, in = 0;
	unsigned char *vec;
	void *map;

	if (!size)
		return 1;
	map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -1;
	vec = malloc(pages);
	if (vec && mincore(map, (size_t)size, vec) == 0)
		for (i = 0; i < pages; i++)
			in += vec[i] & 1;
	else
		in = 0;
	free(vec);
	munmap(map, (size_t)size);
	return (double)in / (double)pages;
}

static void warm(int fd, uint64_t size)
{
	const size_t chunk = 1u << 20;
	char *buf = malloc(chunk);
	uint64_t off;

	if (!buf)
		cli_fail("out of memory");
	for (off = 0; off < size; off += chunk)
		if (pread(fd, buf, chunk, (off_t)off) <= 0)
			break;
	free(buf);
}

/*
 * What must not outlive the benchmark, however it ends: the created file (up to gigabytes in
 * /var/tmp) and the pipeline's segment. Removed at exit (cli_fail exits too) and on SIGINT,
 * SIGTERM and SIGHUP; unlink() is async-signal-safe.
 */
static char cleanup_file[4096];
static char cleanup_shm[80];

static void cleanup(void)
{
	if (cleanup_file[0])
		unlink(cleanup_file);
	if (cleanup_shm[0])
		unlink(cleanup_shm);
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void cleanup_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	atexit(cleanup);
}

/* ------------------------------------------------------------------ the methods */

static int run_read(int fd, size_t bs, uint64_t size, double max_s, struct pass *p)
{
	void *buf;
	uint64_t off = 0, ops = 0;
	double t0;

	if (posix_memalign(&buf, PAGE, bs))
		return -ENOMEM;
	memset(buf, 0, bs); /* faulted in before the clock starts, as the others are */
	if (lseek(fd, 0, SEEK_SET) < 0) {
		free(buf);
		return -errno;
	}
	t0 = now();
	while (off < size) {
		ssize_t n = read(fd, buf, bs);

		if (n < 0) {
			int e = errno;

			free(buf);
			return -e;
		}
		if (n == 0)
			break;
		off += (uint64_t)n;
		ops++;
		if ((ops & 63) == 0 && now() - t0 > max_s)
			break;
	}
	p->secs = now() - t0;
	p->bytes = off;
	p->ops = ops;
	free(buf);
	return 0;
}

/*
 * Sequential reads with @depth in flight: plain reads into @bufs, or, with @t, fixed reads
 * prepared from @views through memview. Returns 0 or a negative errno (of the I/O or of memview).
 */
static int run_ring(struct io_uring *ring, int fd, size_t bs, uint64_t size, unsigned depth,
		    double max_s, char **bufs, mv_uring *t, mv_view *views, struct pass *p)
{
	unsigned free_ids[256], nfree = 0, inflight = 0, i;
	uint64_t off = 0, done = 0, ops = 0;
	int stop = 0, err = 0;
	double t0;

	for (i = 0; i < depth; i++)
		free_ids[nfree++] = depth - 1 - i;
	t0 = now();
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int rc;

		while (!stop && !err && nfree && off < size) {
			unsigned id = free_ids[--nfree];

			if (t) {
				rc = mv_uring_prep_read_fixed(NULL, t, fd, &views[id], off, id);
				if (rc < 0) {
					if (rc != -EAGAIN) /* a full queue: submit first */
						err = rc;
					free_ids[nfree++] = id;
					break;
				}
			} else {
				struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

				if (!sqe) {
					free_ids[nfree++] = id;
					break;
				}
				io_uring_prep_read(sqe, fd, bufs[id], (unsigned)bs, off);
				io_uring_sqe_set_data64(sqe, id);
			}
			off += bs;
			inflight++;
		}
		if (!inflight)
			break;
		rc = io_uring_submit_and_wait(ring, 1);
		if (rc < 0 && rc != -EINTR) {
			err = rc;
			break;
		}
		io_uring_for_each_cqe(ring, head, cqe) {
			int res = cqe->res;
			unsigned id = (unsigned)cqe->user_data;

			if (t) {
				mv_uring_result r;

				if (mv_uring_complete(&r, t, cqe) != MV_URING_CQE_IO) {
					seen++;
					continue; /* a tag: not ours to count */
				}
				res = r.res;
				id = r.cookie;
			}
			seen++;
			inflight--;
			free_ids[nfree++] = id;
			if (res < 0 && !err)
				err = res;
			if (res > 0) {
				done += (uint64_t)res;
				ops++;
			}
			if (res >= 0 && (size_t)res < bs)
				stop = 1; /* end of file */
		}
		io_uring_cq_advance(ring, seen);
		if (!stop && now() - t0 > max_s)
			stop = 1;
	}
	p->secs = now() - t0;
	p->bytes = done;
	p->ops = ops;
	return err;
}

/* ------------------------------------------------------------------ the pipeline */

/* Pin the calling process to @cpu (-1: leave it). */
static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		cli_warn("cannot pin to CPU %d: %s", cpu, strerror(errno));
}

/* The first two CPUs this process may use, or -1 when it has only one. */
static void default_cpus(int cpu[2])
{
	cpu_set_t set;
	int i, n = 0;

	cpu[0] = cpu[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpu[n++] = i;
	if (n < 2)
		cpu[0] = cpu[1] = -1;
}

struct msg {
	uint32_t slot;          /* UINT32_MAX: "ready", from the consumer */
	uint32_t len;           /* 0: the end */
	uint64_t off;           /* file offset of the slot's bytes */
};

static int read_full(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The consumer process: its own readonly mapping of the segment, a view of it, a slice per
 * message. Exits 0, 1 (data differs from the pattern), 2 (setup failed).
 */
static void consumer(const char *name, int in, int out, size_t block, int verify)
{
	mv_segment_opts opts = MV_SEGMENT_OPTS_INIT;
	mv_segment *seg;
	mv_view whole, part;
	struct msg m[64];
	uint32_t back[64];
	uint64_t pages = 0;
	int bad = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	opts.flags = MV_SEGMENT_READONLY;
	if (mv_segment_open(&seg, name, &opts) < 0 ||
	    mv_view_from(&whole, mv_segment_exporter(seg), 0) < 0) {
		fprintf(stderr, "%s uring: consumer: %s\n", cli_progname, mv_errmsg());
		_exit(2);
	}
	m[0].slot = UINT32_MAX;
	if (write_full(out, &m[0].slot, sizeof(uint32_t)) < 0)
		_exit(2);
	for (;;) {
		ssize_t r = read(in, m, sizeof(m));
		size_t n, k, nb = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || r % (ssize_t)sizeof(m[0]))
			_exit(2);
		n = (size_t)r / sizeof(m[0]);
		for (k = 0; k < n; k++) {
			const unsigned char *p;
			size_t j;

			if (m[k].len == 0) {
				mv_view_release(&whole);
				mv_segment_close(seg);
				if (write_full(out, &pages, sizeof(pages)) < 0)
					_exit(2);
				_exit(bad ? 1 : 0);
			}
			if (mv_view_slice(&part, &whole, (ssize_t)m[k].slot * (ssize_t)block,
					  (ssize_t)m[k].slot * (ssize_t)block + m[k].len, 1) < 0)
				_exit(2);
			p = mv_view_ptr(&part);
			for (j = 0; j + 8 <= m[k].len; j += PAGE) {
				uint64_t w;

				memcpy(&w, p + j, sizeof(w));
				if (verify && w != m[k].off + j)
					bad = 1;
				pages++;
			}
			mv_view_release(&part);
			back[nb++] = m[k].slot;
		}
		if (write_full(out, back, nb * sizeof(back[0])) < 0)
			_exit(2);
	}
}

struct pipe_state {
	struct io_uring *ring;
	mv_uring *t;
	unsigned first;         /* first table slot of the pipeline */
	mv_view views[64];      /* producer's view of each slot */
	uint64_t slot_off[64];  /* file offset now in each slot */
	int fwd, back;          /* to the consumer, from it */
	uint32_t returned[64];  /* the return pipe's read buffer */
};

/* Submit a read of returned slot ids on the return pipe (a completion memview calls foreign). */
static int arm_return_read(struct pipe_state *ps)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ps->ring);

	if (!sqe)
		return -EAGAIN;
	io_uring_prep_read(sqe, ps->back, ps->returned, sizeof(ps->returned), (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, 0x7265747572ull); /* "retur" */
	return 0;
}

static int pipeline_pass(struct pipe_state *ps, int fd, uint64_t size, size_t block,
			 unsigned nslots, double max_s, struct pass *p)
{
	unsigned free_ids[64], nfree = 0, inflight = 0, at_consumer = 0, i, nmsg;
	struct msg msgs[64];
	uint64_t off = 0, done = 0, ops = 0;
	int stop = 0, err = 0, armed = 0;
	double t0;

	for (i = 0; i < nslots; i++)
		free_ids[nfree++] = nslots - 1 - i;
	t0 = now();
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0, issued = 0;
		int rc;

		/*
		 * Half the slots per submission: page-cache reads are copied inside the submit
		 * call, so the consumer checks one half while the kernel fills the other.
		 */
		while (!stop && !err && nfree && off < size && issued < (nslots + 1) / 2) {
			unsigned id = free_ids[--nfree];

			rc = mv_uring_prep_read_fixed(NULL, ps->t, fd, &ps->views[id], off, id);
			if (rc < 0) {
				free_ids[nfree++] = id;
				if (rc != -EAGAIN)
					err = rc;
				break;
			}
			ps->slot_off[id] = off;
			off += block;
			inflight++;
			issued++;
		}
		if (at_consumer && !armed) {
			if (arm_return_read(ps) == 0)
				armed = 1;
		}
		if (!inflight && !at_consumer)
			break;
		rc = io_uring_submit_and_wait(ps->ring, 1);
		if (rc < 0 && rc != -EINTR) {
			err = rc;
			break;
		}
		nmsg = 0;
		io_uring_for_each_cqe(ps->ring, head, cqe) {
			mv_uring_result r;
			int kind = mv_uring_complete(&r, ps->t, cqe);

			seen++;
			if (kind == MV_URING_CQE_IO) {
				struct msg *m = &msgs[nmsg];

				inflight--;
				if (r.res <= 0) {
					if (r.res < 0 && !err)
						err = r.res;
					free_ids[nfree++] = r.cookie;
					stop = 1;
					continue;
				}
				m->slot = r.cookie;
				m->len = (uint32_t)r.res;
				m->off = ps->slot_off[r.cookie];
				nmsg++;
				at_consumer++;
				done += (uint64_t)r.res;
				ops++;
				if ((size_t)r.res < block)
					stop = 1;
			} else if (kind == MV_URING_CQE_FOREIGN) {
				/* Slot ids the consumer handed back. */
				unsigned k, n;

				armed = 0;
				if (cqe->res <= 0) {
					err = cqe->res < 0 ? cqe->res : -EPIPE;
					at_consumer = 0;
					continue;
				}
				n = (unsigned)cqe->res / sizeof(uint32_t);
				for (k = 0; k < n; k++)
					free_ids[nfree++] = ps->returned[k];
				at_consumer -= n;
			}
		}
		io_uring_cq_advance(ps->ring, seen);
		/* One write per batch: the consumer wakes once for all of it. */
		if (nmsg && write_full(ps->fwd, msgs, nmsg * sizeof(msgs[0])) < 0) {
			err = -EPIPE;
			at_consumer -= nmsg;
		}
		if (err && !inflight)
			break;
		if (!stop && now() - t0 > max_s)
			stop = 1;
	}
	p->secs = now() - t0;
	p->bytes = done;
	p->ops = ops;
	return err;
}

static void run_pipeline(const struct config *c, struct io_uring *ring, mv_uring *t,
			 unsigned first, int fd, uint64_t size, int verify, struct pipeline *out)
{
	struct pipe_state ps;
	char name[64];
	mv_segment *seg = NULL;
	int fwdp[2] = { -1, -1 }, backp[2] = { -1, -1 }, rc, st, pass, k, nviews = 0;
	unsigned attached = 0, i;
	pid_t pid = -1;
	uint32_t ready;
	struct msg end;

	memset(&ps, 0, sizeof(ps));
	ps.ring = ring;
	ps.t = t;
	ps.first = first;
	snprintf(name, sizeof(name), "/mvbench-uring-%ld", (long)getpid());
	mv_segment_unlink(name, MV_SEGMENT_FORCE);
	snprintf(cleanup_shm, sizeof(cleanup_shm), "/dev/shm%s", name);
	rc = mv_segment_create(&seg, name, (size_t)c->pipe_slots * c->pipe_block, NULL);
	if (rc < 0) {
		snprintf(out->why, sizeof(out->why), "segment: %s", mv_errmsg());
		return;
	}
	for (i = 0; i < c->pipe_slots; i++) {
		rc = mv_uring_attach(t, first + i, mv_segment_exporter(seg), i * c->pipe_block,
				     c->pipe_block);
		if (rc < 0) {
			snprintf(out->why, sizeof(out->why), "%s", mv_errmsg());
			goto out;
		}
		attached++;
		rc = mv_view_from(&ps.views[i], mv_uring_exporter(t, first + i), MV_BUF_WRITABLE);
		if (rc < 0) {
			snprintf(out->why, sizeof(out->why), "%s", mv_errmsg());
			goto out;
		}
		nviews++;
	}
	if (pipe(fwdp) < 0 || pipe(backp) < 0) {
		snprintf(out->why, sizeof(out->why), "pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(out->why, sizeof(out->why), "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(fwdp[1]);
		close(backp[0]);
		pin(c->cpu[1]);
		consumer(name, fwdp[0], backp[1], c->pipe_block, verify);
	}
	/* Producer and consumer on CPUs of their own, as the handoff benchmark pins its two. */
	pin(c->cpu[0]);
	close(fwdp[0]);
	close(backp[1]);
	fwdp[0] = backp[1] = -1;
	ps.fwd = fwdp[1];
	ps.back = backp[0];
	if (read_full(ps.back, &ready, sizeof(ready)) < 0 || ready != UINT32_MAX) {
		snprintf(out->why, sizeof(out->why), "the consumer did not start");
		goto out;
	}
	for (pass = 0; pass < c->passes; pass++) {
		struct pass p;

		memset(&p, 0, sizeof(p));
		rc = pipeline_pass(&ps, fd, size, c->pipe_block, c->pipe_slots, c->max_s, &p);
		if (rc < 0) {
			snprintf(out->why, sizeof(out->why), "pass %d: %s", pass + 1, strerror(-rc));
			goto out;
		}
		out->ops_s[out->npasses] = (double)p.ops / p.secs;
		out->gb_s[out->npasses] = (double)p.bytes / p.secs / 1e9;
		out->npasses++;
		progress(c, "pipeline pass %d: %.2f GB/s", pass + 1, out->gb_s[out->npasses - 1]);
	}
	memset(&end, 0, sizeof(end));
	if (write_full(ps.fwd, &end, sizeof(end)) < 0 ||
	    read_full(ps.back, &out->pages_checked, sizeof(out->pages_checked)) < 0) {
		snprintf(out->why, sizeof(out->why), "the consumer went away");
		goto out;
	}
	out->ok = 1;
out:
	if (fwdp[1] >= 0)
		close(fwdp[1]);
	if (backp[0] >= 0)
		close(backp[0]);
	if (fwdp[0] >= 0)
		close(fwdp[0]);
	if (backp[1] >= 0)
		close(backp[1]);
	if (pid > 0) {
		if (!out->ok)
			kill(pid, SIGKILL);
		if (waitpid(pid, &st, 0) == pid && out->ok &&
		    !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			out->ok = 0;
			snprintf(out->why, sizeof(out->why), "%s",
				 WIFEXITED(st) && WEXITSTATUS(st) == 1 ?
					 "the consumer saw data that is not the file's" :
					 "the consumer failed");
		}
	}
	if (pid > 0 && c->cpu[0] >= 0 && sched_setaffinity(0, sizeof(c->affinity), &c->affinity) < 0)
		cli_warn("cannot restore the CPU affinity: %s", strerror(errno));
	for (k = 0; k < nviews; k++)
		mv_view_release(&ps.views[k]);
	/* Empty the slots and reap their tags: only then is the segment export given back. */
	for (i = 0; i < attached; i++)
		if (mv_uring_clear(t, first + i) < 0)
			cli_warn("%s", mv_errmsg());
	for (;;) {
		struct __kernel_timespec ts = { 2, 0 };
		struct mv_uring_info info;
		struct io_uring_cqe *cqe;

		if (mv_uring_info(&info, t) < 0 || info.pending_tags == 0 ||
		    io_uring_wait_cqe_timeout(ring, &cqe, &ts) < 0)
			break;
		mv_uring_complete(NULL, t, cqe);
		io_uring_cqe_seen(ring, cqe);
	}
	if (mv_segment_close(seg) < 0)
		cli_warn("%s", mv_errmsg());
	mv_segment_unlink(name, MV_SEGMENT_FORCE);
	cleanup_shm[0] = '\0';
	if (out->ok) {
		out->med_gb = median(out->gb_s, out->npasses);
		out->med_ops = median(out->ops_s, out->npasses);
	}
}

/* ------------------------------------------------------------------ report */

static void loadavg(double la[3])
{
	FILE *f = fopen("/proc/loadavg", "re");

	la[0] = la[1] = la[2] = -1;
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &la[0], &la[1], &la[2]) != 3)
			la[0] = la[1] = la[2] = -1;
		fclose(f);
	}
}

static void cpu_model(char *buf, size_t cap)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];

	snprintf(buf, cap, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			colon += 2;
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(buf, cap, "%s", colon);
			break;
		}
	}
	fclose(f);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

struct report {
	const struct config *c;
	char path[4096], fs[32], cpu[256], kernel[128];
	uint64_t size;
	double cached, load_start[3], load_end[3];
	int verified;
	struct cell cells[MAX_BLOCKS][M_N];
	struct pipeline pipe;
	double fixed_vs_read_4k, pipeline_vs_read_bw; /* < 0: not measured */
	size_t pipe_ref_block;                        /* read(2) block the pipeline is held to */
	unsigned features;
	double elapsed;
};

static void write_json(const struct report *r, FILE *f)
{
	const struct config *c = r->c;
	int b, m, k;

	fprintf(f, "{\n  \"benchmark\": \"uring\",\n  \"machine\": {\"cpus\": %ld, \"cpu\": ",
		sysconf(_SC_NPROCESSORS_ONLN));
	json_string(f, r->cpu);
	fprintf(f, ", \"kernel\": ");
	json_string(f, r->kernel);
	fprintf(f, ", \"load_start\": [%.2f, %.2f, %.2f], \"load_end\": [%.2f, %.2f, %.2f]},\n",
		r->load_start[0], r->load_start[1], r->load_start[2], r->load_end[0],
		r->load_end[1], r->load_end[2]);
	fprintf(f, "  \"config\": {\"file\": ");
	json_string(f, r->path);
	fprintf(f, ", \"filesystem\": ");
	json_string(f, r->fs);
	fprintf(f, ", \"size\": %llu, \"page_cache_fraction\": %.4f, \"quick\": %s, "
		   "\"passes\": %d, \"max_seconds_per_pass\": %.3f, \"depth\": %u, "
		   "\"pipeline_block\": %zu, \"pipeline_slots\": %u, \"shm_registers\": %s, "
		   "\"elapsed_seconds\": %.1f},\n",
		(unsigned long long)r->size, r->cached, c->quick ? "true" : "false", c->passes,
		c->max_s, c->depth, c->pipe_block, c->pipe_slots,
		(r->features & MV_URING_FEATURE_SHM) ? "true" : "false", r->elapsed);
	fprintf(f, "  \"results\": [");
	k = 0;
	for (b = 0; b < c->nblocks; b++) {
		for (m = 0; m < M_N; m++) {
			const struct cell *x = &r->cells[b][m];
			int i;

			if (!(c->methods & (1u << m)))
				continue;
			fprintf(f, "%s\n    {\"method\": \"%s\", \"block\": %zu, ", k++ ? "," : "",
				method_names[m], c->blocks[b]);
			if (!x->ok) {
				fprintf(f, "\"skipped\": ");
				json_string(f, x->why);
				fputc('}', f);
				continue;
			}
			fprintf(f, "\"ops_per_s\": %.0f, \"gb_per_s\": %.4f, \"passes_gb_per_s\": [",
				x->med_ops, x->med_gb);
			for (i = 0; i < x->npasses; i++)
				fprintf(f, "%s%.4f", i ? ", " : "", x->gb_s[i]);
			fputs("]}", f);
		}
	}
	fprintf(f, "\n  ],\n  \"pipeline\": {\"block\": %zu, \"slots\": %u, \"cpus\": [%d, %d], ",
		c->pipe_block, c->pipe_slots, c->cpu[0], c->cpu[1]);
	if (!c->pipeline || !r->pipe.ok) {
		fprintf(f, "\"skipped\": ");
		json_string(f, c->pipeline ? r->pipe.why : "not asked for");
		fputs("},\n", f);
	} else {
		fprintf(f, "\"ops_per_s\": %.0f, \"gb_per_s\": %.4f, \"pages_checked\": %llu, "
			   "\"data_verified\": %s, \"passes_gb_per_s\": [",
			r->pipe.med_ops, r->pipe.med_gb, (unsigned long long)r->pipe.pages_checked,
			r->verified ? "true" : "false");
		for (k = 0; k < r->pipe.npasses; k++)
			fprintf(f, "%s%.4f", k ? ", " : "", r->pipe.gb_s[k]);
		fputs("]},\n", f);
	}
	fprintf(f, "  \"summary\": {");
	if (r->fixed_vs_read_4k >= 0)
		fprintf(f, "\"fixed_vs_read_4k\": %.4f, ", r->fixed_vs_read_4k);
	else
		fprintf(f, "\"fixed_vs_read_4k\": null, ");
	if (r->pipeline_vs_read_bw >= 0)
		fprintf(f, "\"pipeline_vs_read_bw\": %.4f, ", r->pipeline_vs_read_bw);
	else
		fprintf(f, "\"pipeline_vs_read_bw\": null, ");
	fprintf(f, "\"pipeline_reference_block\": %zu, ", r->pipe_ref_block);
	fprintf(f, "\"target_fixed_vs_read_4k\": %.2f, \"target_pipeline_vs_read_bw\": %.2f, ",
		TARGET_FIXED_VS_READ_4K, TARGET_PIPELINE_VS_READ_BW);
	fprintf(f, "\"fixed_target_met\": %s, \"pipeline_target_met\": %s}\n}\n",
		r->fixed_vs_read_4k < 0 ? "null" :
		r->fixed_vs_read_4k >= TARGET_FIXED_VS_READ_4K ? "true" : "false",
		r->pipeline_vs_read_bw < 0 ? "null" :
		r->pipeline_vs_read_bw >= TARGET_PIPELINE_VS_READ_BW ? "true" : "false");
}

static void print_report(const struct report *r)
{
	const struct config *c = r->c;
	char s1[32], s2[32];
	int b, m;

	printf("mvbench uring: %s file on %s (%s), %.0f%% in the page cache%s\n",
	       size_text(r->size, s1, sizeof(s1)), r->fs, r->path, r->cached * 100,
	       c->quick ? " [--quick]" : "");
	printf("%s, %ld CPUs, Linux %s; load average %.2f %.2f %.2f at start, %.2f at end\n",
	       r->cpu, sysconf(_SC_NPROCESSORS_ONLN), r->kernel, r->load_start[0],
	       r->load_start[1], r->load_start[2], r->load_end[0]);
	printf("queue depth %u; median of %d passes, each at most one sequential read of the file "
	       "or %.1f s; GB = 10^9 bytes\n\n", c->depth, c->passes, c->max_s);
	printf("%-9s %-32s %12s %9s %11s\n", "block", "method", "ops/s", "GB/s", "vs read(2)");
	for (b = 0; b < c->nblocks; b++) {
		const struct cell *ref = &r->cells[b][M_READ];

		for (m = 0; m < M_N; m++) {
			const struct cell *x = &r->cells[b][m];

			if (!(c->methods & (1u << m)))
				continue;
			size_text(c->blocks[b], s1, sizeof(s1));
			if (!x->ok) {
				printf("%-9s %-32s %s\n", s1, method_desc[m], x->why);
				continue;
			}
			printf("%-9s %-32s %12.0f %9.2f", s1, method_desc[m], x->med_ops, x->med_gb);
			if (ref->ok && (c->methods & 1u) && ref->med_ops > 0)
				printf(" %10.2fx", x->med_ops / ref->med_ops);
			putchar('\n');
		}
	}
	if (c->pipeline) {
		printf("\npipeline: file -> registered shm slot (%u x %s) -> consumer process view "
		       "(no copy)", c->pipe_slots, size_text(c->pipe_block, s1, sizeof(s1)));
		if (c->cpu[0] >= 0)
			printf(", producer on CPU %d, consumer on CPU %d", c->cpu[0], c->cpu[1]);
		putchar('\n');
		if (r->pipe.ok)
			printf("%-9s %-32s %12.0f %9.2f %10.2fx  (of read(2) at %s)\n",
			       size_text(c->pipe_block, s1, sizeof(s1)), "pipeline", r->pipe.med_ops,
			       r->pipe.med_gb,
			       r->pipeline_vs_read_bw >= 0 ? r->pipeline_vs_read_bw : 0.0,
			       size_text(r->pipe_ref_block, s2, sizeof(s2)));
		else
			printf("not measured: %s\n", r->pipe.why);
		if (r->pipe.ok)
			printf("the consumer checked %llu pages%s\n",
			       (unsigned long long)r->pipe.pages_checked,
			       r->verified ? " against the file's pattern" : " (not verified: --file)");
	}
	printf("\ntargets:\n");
	if (r->fixed_vs_read_4k >= 0)
		printf("  fixed reads >= %.2fx read(2) ops/s at 4 KiB: %.2fx, %s\n",
		       TARGET_FIXED_VS_READ_4K, r->fixed_vs_read_4k,
		       r->fixed_vs_read_4k >= TARGET_FIXED_VS_READ_4K ? "met" : "MISSED");
	else
		printf("  fixed reads at 4 KiB: not measured (needs 4K blocks and both methods)\n");
	if (r->pipeline_vs_read_bw >= 0)
		printf("  pipeline >= %.0f%% of read(2) bandwidth: %.0f%%, %s\n",
		       TARGET_PIPELINE_VS_READ_BW * 100, r->pipeline_vs_read_bw * 100,
		       r->pipeline_vs_read_bw >= TARGET_PIPELINE_VS_READ_BW ? "met" : "MISSED");
	else
		printf("  pipeline: not measured\n");
	printf("(%.1f s in all)\n", r->elapsed);
}

/* ------------------------------------------------------------------ options */

static void usage(void)
{
	static const char *const syn[] = { "uring [options]", NULL };
	FILE *out = stdout;

	cli_usage_begin(out, syn, "Read a file in the page cache with read(2), io_uring reads and "
			"fixed reads into memview's\nregistered buffers, then through the pipeline "
			"file -> registered shm slot -> consumer\nprocess; report ops/s and GB/s.");
	cli_usage_section(out, "Options");
	cli_usage_option(out, "-d, --dir <dir>",
			 "create the file here (default /var/tmp; not tmpfs)");
	cli_usage_option(out, "-f, --file <file>", "read this file instead (kept, not verified)");
	cli_usage_option(out, "-s, --size <size>", "size of the created file (default 1G)");
	cli_usage_option(out, "-b, --blocks <size,...>", "block sizes (default 4K,128K)");
	cli_usage_option(out, "-m, --methods <name,...>",
			 "read, uring, fixed, read-direct, fixed-direct\n(default all)");
	cli_usage_option(out, "-D, --depth <n>", "io_uring requests in flight (default 32)");
	cli_usage_option(out, "-p, --passes <n>", "passes per method (default 5, median shown)");
	cli_usage_option(out, "-t, --time <seconds>", "at most this long per pass (default 2)");
	cli_usage_option(out, "    --pipeline-block <size>", "pipeline slot size (default 128K)");
	cli_usage_option(out, "    --pipeline-slots <n>", "pipeline slots (default 16)");
	cli_usage_option(out, "-c, --cpus <a,b>",
			 "pipeline producer's and consumer's CPUs\n(default the first two)");
	cli_usage_option(out, "    --no-pipeline", "skip the pipeline");
	cli_usage_option(out, "    --allow-tmpfs", "measure a file on tmpfs anyway");
	cli_usage_option(out, "    --keep", "keep the created file");
	cli_usage_option(out, "-q, --quick", "3 passes of at most 0.3 s each (< 30 s)");
	cli_usage_option(out, "-j, --json <file>", "write the results and a summary as JSON");
	cli_usage_option(out, "    --quiet", "no progress lines on standard error");
	cli_usage_std_options(out);
	cli_usage_size_argument(out);
	cli_usage_end(out);
	exit(CLI_EXIT_OK);
}

static long parse_long(const char *arg, const char *what, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi)
		cli_usage_error("invalid %s argument: '%s' (%ld to %ld)", what, arg, lo, hi);
	return v;
}

static double parse_seconds(const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v > 0) || v > 3600)
		cli_usage_error("invalid time argument: '%s'", arg);
	return v;
}

static void parse_blocks(struct config *c, const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;

	if (!copy)
		cli_fail("out of memory");
	c->nblocks = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v = cli_size_arg(tok, "block size");

		if (v < 512 || v > (64u << 20) || v % 512)
			cli_usage_error("a block is a multiple of 512 bytes up to 64 MiB: '%s'", tok);
		if (c->nblocks == MAX_BLOCKS)
			cli_usage_error("at most %d block sizes", MAX_BLOCKS);
		c->blocks[c->nblocks++] = (size_t)v;
	}
	free(copy);
	if (!c->nblocks)
		cli_usage_error("invalid blocks argument: '%s'", arg);
}

static unsigned parse_methods(const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	unsigned mask = 0;
	int m;

	if (!copy)
		cli_fail("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "all") == 0) {
			mask |= (1u << M_N) - 1;
			continue;
		}
		for (m = 0; m < M_N && strcmp(tok, method_names[m]); m++)
			;
		if (m == M_N)
			cli_usage_error("unknown method '%s' (read, uring, fixed, read-direct, "
					"fixed-direct)", tok);
		mask |= 1u << m;
	}
	free(copy);
	if (!mask)
		cli_usage_error("invalid methods argument: '%s'", arg);
	return mask;
}

enum {
	OPT_PIPE_BLOCK = 0x100, OPT_PIPE_SLOTS, OPT_NO_PIPELINE, OPT_ALLOW_TMPFS, OPT_KEEP,
	OPT_QUIET
};

static void parse_args(struct config *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "file", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "methods", required_argument, NULL, 'm' },
		{ "depth", required_argument, NULL, 'D' },
		{ "passes", required_argument, NULL, 'p' },
		{ "time", required_argument, NULL, 't' },
		{ "pipeline-block", required_argument, NULL, OPT_PIPE_BLOCK },
		{ "pipeline-slots", required_argument, NULL, OPT_PIPE_SLOTS },
		{ "cpus", required_argument, NULL, 'c' },
		{ "no-pipeline", no_argument, NULL, OPT_NO_PIPELINE },
		{ "allow-tmpfs", no_argument, NULL, OPT_ALLOW_TMPFS },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int opt, passes = -1;
	double max_s = -1;
	uint64_t v;

	memset(c, 0, sizeof(*c));
	c->dir = "/var/tmp";
	c->size = 1ull << 30;
	c->blocks[0] = 4096;
	c->blocks[1] = 128 * 1024;
	c->nblocks = 2;
	c->methods = (1u << M_N) - 1;
	c->depth = 32;
	c->pipe_block = 128 * 1024;
	c->pipe_slots = 16;
	c->pipeline = 1;
	optind = 1;
	sched_getaffinity(0, sizeof(c->affinity), &c->affinity);
	default_cpus(c->cpu);
	while ((opt = getopt_long(argc, argv, "d:f:s:b:m:D:p:t:c:qj:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			c->dir = optarg;
			break;
		case 'f':
			c->file = optarg;
			break;
		case 's':
			v = cli_size_arg(optarg, "size");
			if (v < (1u << 20))
				cli_usage_error("the file must be at least 1 MiB: '%s'", optarg);
			c->size = v;
			break;
		case 'b':
			parse_blocks(c, optarg);
			break;
		case 'm':
			c->methods = parse_methods(optarg);
			break;
		case 'D':
			c->depth = (unsigned)parse_long(optarg, "depth", 1, 256);
			break;
		case 'p':
			passes = (int)parse_long(optarg, "passes", 1, MAX_PASSES);
			break;
		case 't':
			max_s = parse_seconds(optarg);
			break;
		case OPT_PIPE_BLOCK:
			v = cli_size_arg(optarg, "pipeline block");
			if (v < PAGE || v > (64u << 20) || v % PAGE)
				cli_usage_error("a pipeline block is a multiple of 4 KiB up to 64 MiB: "
						"'%s'", optarg);
			c->pipe_block = (size_t)v;
			break;
		case OPT_PIPE_SLOTS:
			c->pipe_slots = (unsigned)parse_long(optarg, "pipeline slots", 1, 64);
			break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &c->cpu[0], &c->cpu[1]) != 2 || c->cpu[0] < 0 ||
			    c->cpu[1] < 0 || c->cpu[0] >= CPU_SETSIZE || c->cpu[1] >= CPU_SETSIZE ||
			    !CPU_ISSET(c->cpu[0], &c->affinity) || !CPU_ISSET(c->cpu[1], &c->affinity))
				cli_usage_error("invalid cpus argument: '%s' (two CPUs this process may "
						"use, as 0,1)", optarg);
			break;
		case OPT_NO_PIPELINE:
			c->pipeline = 0;
			break;
		case OPT_ALLOW_TMPFS:
			c->allow_tmpfs = 1;
			break;
		case OPT_KEEP:
			c->keep = 1;
			break;
		case 'q':
			c->quick = 1;
			break;
		case 'j':
			c->json = optarg;
			break;
		case OPT_QUIET:
			c->quiet = 1;
			break;
		case 'h':
			usage();
			break;
		case 'V':
			cli_print_version();
			break;
		default:
			cli_try_help();
		}
	}
	if (optind < argc)
		cli_usage_error("unexpected argument '%s'", argv[optind]);
	c->passes = passes > 0 ? passes : c->quick ? 3 : 5;
	c->max_s = max_s > 0 ? max_s : c->quick ? 0.3 : 2.0;
}

/* ------------------------------------------------------------------ main */

static int open_file(const struct config *c, struct report *r, int *created)
{
	struct statfs sfs;
	struct stat st;
	const char *name;
	int fd;

	*created = 0;
	if (c->file) {
		snprintf(r->path, sizeof(r->path), "%s", c->file);
		fd = open(c->file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			cli_fail("%s: %s", c->file, strerror(errno));
	} else {
		snprintf(r->path, sizeof(r->path), "%s/mvbench-uring-%ld.dat", c->dir,
			 (long)getpid());
		fd = open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			cli_fail("%s: %s", r->path, strerror(errno));
		snprintf(cleanup_file, sizeof(cleanup_file), "%s", r->path);
		*created = 1;
	}
	if (fstatfs(fd, &sfs) < 0)
		cli_fail("%s: fstatfs: %s", r->path, strerror(errno));
	name = fs_name((long)sfs.f_type);
	if (name)
		snprintf(r->fs, sizeof(r->fs), "%s", name);
	else
		snprintf(r->fs, sizeof(r->fs), "fs 0x%lx", (unsigned long)sfs.f_type);
	if ((long)sfs.f_type == TMPFS_MAGIC_ && !c->allow_tmpfs) {
		if (*created)
			unlink(r->path);
		cli_fail("%s is on tmpfs, where io_uring reads are punted to kernel workers: use a "
			 "disk filesystem (--dir /var/tmp) or --allow-tmpfs", r->path);
	}
	if (*created) {
		char s[32];

		progress(c, "writing %s of pattern to %s", size_text(c->size, s, sizeof(s)),
			 r->path);
		fill_file(fd, c->size, r->path);
	}
	if (fstat(fd, &st) < 0)
		cli_fail("%s: fstat: %s", r->path, strerror(errno));
	r->size = (uint64_t)st.st_size;
	if (r->size < PAGE)
		cli_fail("%s: %llu bytes is too small to measure", r->path,
			 (unsigned long long)r->size);
	r->cached = cached_fraction(fd, r->size);
	if (r->cached < 0.999) {
		progress(c, "%.0f%% in the page cache: reading it once", r->cached * 100);
		warm(fd, r->size);
		r->cached = cached_fraction(fd, r->size);
	}
	if (r->cached < 0.99)
		cli_warn("only %.0f%% of %s stays in the page cache: the page-cache numbers include "
			 "disk reads", r->cached * 100, r->path);
	return fd;
}

int bench_uring_main(int argc, char **argv)
{
	static struct report r;
	struct config c;
	struct io_uring ring;
	struct mv_uring_info info;
	struct utsname u;
	mv_uring *t = NULL;
	mv_view *views[MAX_BLOCKS];
	char **bufs[MAX_BLOCKS];
	int fd, dfd = -1, created, b, m, pass, rc, i;
	double t_start = now();
	char s1[32];

	parse_args(&c, argc, argv);
	memset(&r, 0, sizeof(r));
	r.c = &c;
	r.fixed_vs_read_4k = r.pipeline_vs_read_bw = -1;
	loadavg(r.load_start);
	cpu_model(r.cpu, sizeof(r.cpu));
	snprintf(r.kernel, sizeof(r.kernel), "%s", uname(&u) == 0 ? u.release : "unknown");
	signal(SIGPIPE, SIG_IGN);
	cleanup_install();

	fd = open_file(&c, &r, &created);
	r.verified = created;
	if (c.methods & ((1u << M_READ_DIRECT) | (1u << M_FIXED_DIRECT))) {
		dfd = open(r.path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (dfd < 0)
			for (b = 0; b < c.nblocks; b++) {
				snprintf(r.cells[b][M_READ_DIRECT].why, sizeof(r.cells[b][0].why),
					 "O_DIRECT refused by %s: %s", r.fs, strerror(errno));
				snprintf(r.cells[b][M_FIXED_DIRECT].why, sizeof(r.cells[b][0].why),
					 "O_DIRECT refused by %s: %s", r.fs, strerror(errno));
			}
	}

	/* One ring, one table: a slot per block size, then the pipeline's slots. */
	rc = mv_uring_queue_init(&ring, (c.depth > c.pipe_slots ? c.depth : c.pipe_slots) + 1, 0);
	if (rc < 0)
		cli_fail("%s", mv_errmsg());
	rc = mv_uring_new(&t, &ring, (unsigned)c.nblocks + (c.pipeline ? c.pipe_slots : 0));
	if (rc < 0)
		cli_fail("%s", mv_errmsg());
	mv_uring_info(&info, t);
	r.features = info.features;
	for (b = 0; b < c.nblocks; b++) {
		size_t bs = c.blocks[b];
		unsigned k;

		views[b] = calloc(c.depth, sizeof(mv_view));
		bufs[b] = calloc(c.depth, sizeof(char *));
		if (!views[b] || !bufs[b])
			cli_fail("out of memory");
		for (k = 0; k < c.depth; k++) {
			if (posix_memalign((void **)&bufs[b][k], PAGE, bs))
				cli_fail("out of memory");
			/* Faulted in now: a read that faults on its buffer goes to a worker. */
			memset(bufs[b][k], 0, bs);
		}
		if (c.depth * bs > MV_URING_MAX_SLOT_SIZE)
			cli_fail("--depth %u x %zu bytes is more than one registered buffer may hold "
				 "(1 GiB)", c.depth, bs);
		rc = mv_uring_alloc(t, (unsigned)b, c.depth * bs);
		if (rc < 0)
			cli_fail("%s", mv_errmsg());
		for (k = 0; k < c.depth; k++) {
			mv_view whole;

			if (mv_view_from(&whole, mv_uring_exporter(t, (unsigned)b), MV_BUF_WRITABLE) <
				    0 ||
			    mv_view_slice(&views[b][k], &whole, (ssize_t)(k * bs),
					  (ssize_t)((k + 1) * bs), 1) < 0)
				cli_fail("%s", mv_errmsg());
			mv_view_release(&whole);
		}
	}

	for (pass = 0; pass < c.passes; pass++) {
		for (b = 0; b < c.nblocks; b++) {
			for (m = 0; m < M_N; m++) {
				struct cell *x = &r.cells[b][m];
				int direct = m == M_READ_DIRECT || m == M_FIXED_DIRECT;
				int use_fd = direct ? dfd : fd;
				struct pass p;

				if (!(c.methods & (1u << m)) || (pass > 0 && !x->ok) ||
				    (direct && dfd < 0))
					continue;
				memset(&p, 0, sizeof(p));
				switch (m) {
				case M_READ:
				case M_READ_DIRECT:
					rc = run_read(use_fd, c.blocks[b], r.size, c.max_s, &p);
					break;
				case M_URING:
					rc = run_ring(&ring, use_fd, c.blocks[b], r.size, c.depth,
						      c.max_s, bufs[b], NULL, NULL, &p);
					break;
				default:
					rc = run_ring(&ring, use_fd, c.blocks[b], r.size, c.depth,
						      c.max_s, NULL, t, views[b], &p);
					break;
				}
				if (rc < 0 || p.ops == 0) {
					x->ok = 0;
					snprintf(x->why, sizeof(x->why), "failed: %s",
						 rc < 0 ? strerror(-rc) : "no data");
					if (rc == -EINVAL && direct)
						snprintf(x->why, sizeof(x->why),
							 "O_DIRECT reads of %zu bytes refused by %s",
							 c.blocks[b], r.fs);
					continue;
				}
				if (pass == 0)
					x->ok = 1;
				x->ops_s[x->npasses] = (double)p.ops / p.secs;
				x->gb_s[x->npasses] = (double)p.bytes / p.secs / 1e9;
				x->npasses++;
				progress(&c, "pass %d, %s blocks, %s: %.0f ops/s, %.2f GB/s", pass + 1,
					 size_text(c.blocks[b], s1, sizeof(s1)), method_names[m],
					 x->ops_s[x->npasses - 1], x->gb_s[x->npasses - 1]);
			}
		}
	}
	for (b = 0; b < c.nblocks; b++)
		for (m = 0; m < M_N; m++) {
			struct cell *x = &r.cells[b][m];

			if (x->ok) {
				x->med_ops = median(x->ops_s, x->npasses);
				x->med_gb = median(x->gb_s, x->npasses);
			} else if (!x->why[0]) {
				snprintf(x->why, sizeof(x->why), "not run");
			}
		}

	if (c.pipeline) {
		progress(&c, "pipeline: %u slots of %s in a shared segment, consumer process",
			 c.pipe_slots, size_text(c.pipe_block, s1, sizeof(s1)));
		run_pipeline(&c, &ring, t, (unsigned)c.nblocks, fd, r.size, r.verified, &r.pipe);
	}

	/* Summary: fixed vs read(2) ops/s at 4 KiB; pipeline vs read(2) GB/s at its block size. */
	for (b = 0; b < c.nblocks; b++) {
		if (c.blocks[b] == 4096 && r.cells[b][M_READ].ok && r.cells[b][M_FIXED].ok)
			r.fixed_vs_read_4k = r.cells[b][M_FIXED].med_ops / r.cells[b][M_READ].med_ops;
	}
	if (r.pipe.ok) {
		double ref = 0;

		/* read(2) at the pipeline's block size, else the best read(2) bandwidth. */
		for (b = 0; b < c.nblocks; b++)
			if (r.cells[b][M_READ].ok && c.blocks[b] == c.pipe_block) {
				ref = r.cells[b][M_READ].med_gb;
				r.pipe_ref_block = c.blocks[b];
			}
		for (b = 0; !r.pipe_ref_block && b < c.nblocks; b++)
			if (r.cells[b][M_READ].ok && r.cells[b][M_READ].med_gb > ref)
				ref = r.cells[b][M_READ].med_gb;
		for (b = 0; !r.pipe_ref_block && b < c.nblocks; b++)
			if (r.cells[b][M_READ].ok && r.cells[b][M_READ].med_gb == ref)
				r.pipe_ref_block = c.blocks[b];
		if (ref > 0)
			r.pipeline_vs_read_bw = r.pipe.med_gb / ref;
	}

	for (b = 0; b < c.nblocks; b++) {
		for (i = 0; i < (int)c.depth; i++) {
			mv_view_release(&views[b][i]);
			free(bufs[b][i]);
		}
		free(views[b]);
		free(bufs[b]);
	}
	if (mv_uring_free(t) < 0)
		cli_warn("%s", mv_errmsg());
	io_uring_queue_exit(&ring);
	if (dfd >= 0)
		close(dfd);
	close(fd);
	if (c.keep)
		cleanup_file[0] = '\0';
	cleanup();
	cleanup_file[0] = '\0';

	loadavg(r.load_end);
	r.elapsed = now() - t_start;
	print_report(&r);
	if (c.json) {
		FILE *f = strcmp(c.json, "-") == 0 ? stdout : fopen(c.json, "w");

		if (!f)
			cli_fail("%s: %s", c.json, strerror(errno));
		write_json(&r, f);
		if (f != stdout && fclose(f) != 0)
			cli_fail("%s: %s", c.json, strerror(errno));
	}
	return CLI_EXIT_OK;
}
