/*
 * bench/uring.c - "mvbench uring": options, the file, the page-cache methods and
 * bench_uring_main, which removes what the run made however it ends (see uring.h;
 * uring_pipeline.c runs the pipeline, uring_report.c shows the results).
 *
 * What is measured, per block size (4 KiB and 128 KiB by default), each reading the file
 * sequentially from its start, at most once per pass:
 *   read          read(2) into one buffer, one call per block
 *   uring         IORING_OP_READ, --depth requests in flight into --depth buffers
 *   fixed         fixed reads prepared from views of a memview registered slot
 *                 (mv_uring_prep_read_fixed) and reaped through mv_uring_complete
 *   read-direct   read(2) with O_DIRECT (disk, not page cache), where the filesystem allows
 *   uring-direct  IORING_OP_READ with O_DIRECT: the kernel pins the buffer's pages per request
 *   fixed-direct  fixed reads with O_DIRECT: registered pages were pinned once
 * The O_DIRECT io_uring rows keep --direct-depth requests in flight (128 by default): a page-cache
 * read completes inside the submitting call, so its depth is only a batch size, but an O_DIRECT
 * read waits for the disk, and only a deep queue keeps the disk busy enough for the cost of each
 * request on the CPU - what registered buffers save - to show. Registered memory counts against
 * RLIMIT_MEMLOCK (unless CAP_IPC_LOCK): where the limit is too small for the default, the
 * O_DIRECT depth is lowered to fit, and the report says so.
 * and then the pipeline, file -> registered shm slot -> consumer process view, each pass after a
 * read(2) pass at the pipeline's block size (its baseline).
 *
 * Passes interleave the methods (pass 1 of every method, then pass 2, ...), so a change in the
 * machine's load spreads over all of them, and every other pass runs them in reverse order, so
 * that no method always follows the same one; the table shows the median pass, and each target
 * is the median of the per-pass ratios of two methods measured next to each other. CPU time per
 * operation is the process's (all its threads, io_uring's workers included), so what the kernel
 * does per request on the submitting side shows even when the device bounds the rate. GB/s is
 * 10^9 bytes per second.
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
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "memview.h"
#include "../util/cli.h"
#include "../util/mvutil.h"
#include "uring.h"

#define PAGE 4096u
#define TMPFS_MAGIC_ 0x01021994L

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

/* The segment name to unlink if the run is interrupted (NULL: none). */
static void cleanup_shm_set(const char *name)
{
	if (name)
		snprintf(cleanup_shm, sizeof(cleanup_shm), "/dev/shm%s", name);
	else
		cleanup_shm[0] = '\0';
}

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

/* CPU time of the whole process (every thread: io_uring's workers are threads of it). */
static double cpu_now_s(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int run_read(int fd, size_t bs, uint64_t size, double max_s, struct ur_pass *p)
{
	void *buf;
	uint64_t off = 0, ops = 0;
	double t0, c0;

	if (posix_memalign(&buf, PAGE, bs))
		return -ENOMEM;
	memset(buf, 0, bs); /* faulted in before the clock starts, as the others are */
	if (lseek(fd, 0, SEEK_SET) < 0) {
		free(buf);
		return -errno;
	}
	c0 = cpu_now_s();
	t0 = mvu_now_s();
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
		if ((ops & 63) == 0 && mvu_now_s() - t0 > max_s)
			break;
	}
	p->secs = mvu_now_s() - t0;
	p->cpu_s = cpu_now_s() - c0;
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
		    double max_s, char **bufs, mv_uring *t, mv_view *views, struct ur_pass *p)
{
	unsigned free_ids[256], nfree = 0, inflight = 0, i;
	uint64_t off = 0, done = 0, ops = 0;
	int stop = 0, err = 0;
	double t0, c0;

	for (i = 0; i < depth; i++)
		free_ids[nfree++] = depth - 1 - i;
	c0 = cpu_now_s();
	t0 = mvu_now_s();
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
				mv_uring_result r = MV_URING_RESULT_INIT;

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
		if (!stop && mvu_now_s() - t0 > max_s)
			stop = 1;
	}
	p->secs = mvu_now_s() - t0;
	p->cpu_s = cpu_now_s() - c0;
	p->bytes = done;
	p->ops = ops;
	return err;
}

/* ------------------------------------------------------------------ options */

static void usage(void)
{
	static const char *const syn[] = { "uring [options]", NULL };
	FILE *out = stdout;

	cli_usage_begin(out, syn, "Read a file in the page cache with read(2), io_uring reads and "
			"fixed reads into memview's\nregistered buffers (and all three with O_DIRECT), "
			"then through the pipeline file ->\nregistered shm slot -> consumer process; "
			"report ops/s, GB/s and CPU time per read,\nand judge the targets against "
			"baselines measured in the same run.");
	cli_usage_section(out, "Options");
	cli_usage_option(out, "-d, --dir <dir>",
			 "create the file here (default /var/tmp; not tmpfs)");
	cli_usage_option(out, "-f, --file <file>", "read this file instead (kept, not verified)");
	cli_usage_option(out, "-s, --size <size>", "size of the created file (default 1G)");
	cli_usage_option(out, "-b, --blocks <size,...>", "block sizes (default 4K,128K)");
	cli_usage_option(out, "-m, --methods <name,...>",
			 "read, uring, fixed, read-direct, uring-direct,\nfixed-direct (default all)");
	cli_usage_option(out, "-D, --depth <n>",
			 "io_uring requests in flight, page-cache reads\n(default 32)");
	cli_usage_option(out, "    --direct-depth <n>",
			 "io_uring requests in flight, O_DIRECT reads\n(default 128, lowered to fit "
			 "RLIMIT_MEMLOCK)");
	cli_usage_option(out, "-p, --passes <n>", "passes per method (default 5, median shown)");
	cli_usage_option(out, "-t, --time <seconds>", "at most this long per pass (default 2)");
	cli_usage_option(out, "    --pipeline-block <size>", "pipeline slot size (default 128K)");
	cli_usage_option(out, "    --pipeline-slots <n>", "pipeline slots (default 16)");
	cli_usage_option(out, "-c, --cpus <a,b>",
			 "pin the pipeline's producer and consumer to these\nCPUs (default: "
			 "not pinned)");
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

static void parse_blocks(struct ur_config *c, const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;

	if (!copy)
		cli_fail("out of memory");
	c->nblocks = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v = cli_size_arg(tok, "block size");

		if (v < 512 || v > (64u << 20) || v % 512)
			cli_usage_error("a block is a multiple of 512 bytes up to 64 MiB: '%s'", tok);
		if (c->nblocks == UR_MAX_BLOCKS)
			cli_usage_error("at most %d block sizes", UR_MAX_BLOCKS);
		c->blocks[c->nblocks++] = (size_t)v;
	}
	free(copy);
	if (!c->nblocks)
		cli_usage_error("invalid blocks argument: '%s'", arg);
}

/* The method named @name ("fixed-direct"), or -1. */
static int method_parse(const char *name)
{
	int m;

	for (m = 0; m < UR_NMETHODS; m++)
		if (strcmp(name, ur_method_names[m]) == 0)
			return m;
	return -1;
}

enum {
	OPT_PIPE_BLOCK = 0x100, OPT_PIPE_SLOTS, OPT_NO_PIPELINE, OPT_ALLOW_TMPFS, OPT_KEEP,
	OPT_QUIET, OPT_DIRECT_DEPTH
};

static void parse_args(struct ur_config *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "file", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "methods", required_argument, NULL, 'm' },
		{ "depth", required_argument, NULL, 'D' },
		{ "direct-depth", required_argument, NULL, OPT_DIRECT_DEPTH },
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
	c->methods = (1u << UR_NMETHODS) - 1;
	c->depth = 32;
	c->direct_depth = 128;
	c->pipe_block = 128 * 1024;
	c->pipe_slots = 16;
	c->pipeline = 1;
	optind = 1;
	sched_getaffinity(0, sizeof(c->affinity), &c->affinity);
	c->cpu[0] = c->cpu[1] = -1;
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
			c->methods = cli_names_arg(optarg, "method", method_parse,
						   (1u << UR_NMETHODS) - 1,
						   "read, uring, fixed, read-direct, "
						   "uring-direct, fixed-direct");
			break;
		case 'D':
			c->depth = (unsigned)parse_long(optarg, "depth", 1, 256);
			break;
		case OPT_DIRECT_DEPTH:
			c->direct_depth = (unsigned)parse_long(optarg, "direct depth", 1, 256);
			break;
		case 'p':
			passes = (int)parse_long(optarg, "passes", 1, UR_MAX_PASSES);
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

static int open_file(const struct ur_config *c, struct ur_report *r, int *created)
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

		ur_progress(c, "writing %s of pattern to %s", mvu_size_name(s, sizeof(s), c->size),
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
		ur_progress(c, "%.0f%% in the page cache: reading it once", r->cached * 100);
		warm(fd, r->size);
		r->cached = cached_fraction(fd, r->size);
	}
	if (r->cached < 0.99)
		cli_warn("only %.0f%% of %s stays in the page cache: the page-cache numbers include "
			 "disk reads", r->cached * 100, r->path);
	return fd;
}

/* Whether the process may lock memory without limit: CAP_IPC_LOCK in CapEff of its status. */
static int has_ipc_lock(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned long long eff = 0;
	char line[256];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	return found && ((eff >> CAP_IPC_LOCK) & 1);
}

/* Bytes of registered memory the run takes with @dd O_DIRECT requests in flight. */
static uint64_t registered_bytes(const struct ur_config *c, unsigned dd)
{
	uint64_t sum = c->pipeline ? (uint64_t)c->pipe_slots * c->pipe_block : 0;
	unsigned n = dd > c->depth ? dd : c->depth;
	int b;

	for (b = 0; b < c->nblocks; b++)
		sum += ((uint64_t)n * c->blocks[b] + PAGE - 1) / PAGE * PAGE;
	return sum;
}

/*
 * c->direct_used: --direct-depth, or less (not below --depth) where RLIMIT_MEMLOCK, which
 * registered buffers count against, would refuse that much; c->memlock_note says so.
 */
static void fit_direct_depth(struct ur_config *c, int direct)
{
	struct rlimit rl;
	unsigned dd = c->direct_depth;
	char s1[32], s2[32];

	c->direct_used = dd;
	if (!direct || dd <= c->depth || getrlimit(RLIMIT_MEMLOCK, &rl) < 0 ||
	    rl.rlim_cur == RLIM_INFINITY || has_ipc_lock())
		return;
	while (dd > c->depth && registered_bytes(c, dd) > rl.rlim_cur)
		dd = dd / 2 > c->depth ? dd / 2 : c->depth;
	if (dd == c->direct_depth)
		return;
	c->direct_used = dd;
	snprintf(c->memlock_note, sizeof(c->memlock_note),
		 "O_DIRECT io_uring rows at depth %u, not %u: %u would register %s, more than "
		 "RLIMIT_MEMLOCK (%s; raise it with ulimit -l)", dd, c->direct_depth,
		 c->direct_depth, mvu_size_name(s1, sizeof(s1), registered_bytes(c, c->direct_depth)),
		 mvu_size_name(s2, sizeof(s2), (uint64_t)rl.rlim_cur));
}

int bench_uring_main(int argc, char **argv)
{
	static struct ur_report r;
	struct ur_config c;
	struct io_uring ring;
	mv_uring_info info = MV_URING_INFO_INIT;
	struct utsname u;
	mv_uring *t = NULL;
	mv_view *views[UR_MAX_BLOCKS];
	char **bufs[UR_MAX_BLOCKS];
	int fd, dfd = -1, created, b, m, pass, rc, i;
	unsigned nbuf;
	int want_dd;
	double t_start = mvu_now_s();
	char s1[32];

	parse_args(&c, argc, argv);
	memset(&r, 0, sizeof(r));
	r.c = &c;
	r.fixed_vs_read_4k = -1;
	ur_loadavg(r.load_start);
	mvu_cpu_model(r.cpu, sizeof(r.cpu));
	snprintf(r.kernel, sizeof(r.kernel), "%s", uname(&u) == 0 ? u.release : "unknown");
	signal(SIGPIPE, SIG_IGN);
	cleanup_install();

	fd = open_file(&c, &r, &created);
	r.verified = created;
	if (c.methods & ((1u << UR_READ_DIRECT) | (1u << UR_URING_DIRECT) |
			 (1u << UR_FIXED_DIRECT))) {
		/*
		 * tmpfs accepts O_DIRECT on recent kernels but serves it from the page cache: no
		 * direct I/O to measure, so its rows are skipped as where O_DIRECT is refused.
		 */
		int tmpfs = strcmp(r.fs, "tmpfs") == 0;

		dfd = tmpfs ? -1 : open(r.path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (dfd < 0) {
			int e = errno;

			for (b = 0; b < c.nblocks; b++)
				for (m = UR_READ_DIRECT; m <= UR_FIXED_DIRECT; m++)
					snprintf(r.cells[b][m].why, sizeof(r.cells[b][m].why),
						 tmpfs ? "SKIP: tmpfs has no direct I/O (it serves "
							 "O_DIRECT from the page cache)" :
							 "SKIP: O_DIRECT refused by %s: %s",
						 r.fs, strerror(e));
		}
	}

	/*
	 * One ring, one table: a slot per block size, then the pipeline's slots. Each block size
	 * has nbuf buffers and views: the page-cache rows use the first --depth of them, the
	 * O_DIRECT rows the first direct_used.
	 */
	want_dd = dfd >= 0 && (c.methods & ((1u << UR_URING_DIRECT) | (1u << UR_FIXED_DIRECT)));
	fit_direct_depth(&c, want_dd); /* the report says so when it lowers the depth */
	nbuf = want_dd && c.direct_used > c.depth ? c.direct_used : c.depth;
	rc = mv_uring_queue_init(&ring, (nbuf > c.pipe_slots ? nbuf : c.pipe_slots) + 1, 0);
	if (rc < 0)
		cli_fail("%s", mv_errmsg());
	rc = mv_uring_new(&t, &ring, (unsigned)c.nblocks + (c.pipeline ? c.pipe_slots : 0));
	if (rc < 0)
		cli_fail("%s", mv_errmsg());
	mv_uring_get_info(&info, t);
	r.features = info.features;
	for (b = 0; b < c.nblocks; b++) {
		size_t bs = c.blocks[b];
		unsigned k;

		views[b] = calloc(nbuf, sizeof(mv_view));
		bufs[b] = calloc(nbuf, sizeof(char *));
		if (!views[b] || !bufs[b])
			cli_fail("out of memory");
		for (k = 0; k < nbuf; k++) {
			if (posix_memalign((void **)&bufs[b][k], PAGE, bs))
				cli_fail("out of memory");
			/* Faulted in now: a read that faults on its buffer goes to a worker. */
			memset(bufs[b][k], 0, bs);
		}
		if (nbuf * bs > MV_URING_MAX_SLOT_SIZE)
			cli_fail("%u requests in flight x %zu bytes is more than one registered "
				 "buffer may hold (1 GiB): lower --depth or --direct-depth", nbuf, bs);
		rc = mv_uring_alloc(t, (unsigned)b, nbuf * bs);
		if (rc < 0)
			cli_fail("%s", mv_errmsg());
		for (k = 0; k < nbuf; k++) {
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
			for (i = 0; i < UR_NMETHODS; i++) {
				/* Every other pass backwards: no method always follows another. */
				struct ur_cell *x;
				int direct;

				m = pass % 2 ? UR_NMETHODS - 1 - i : i;
				x = &r.cells[b][m];
				direct = m >= UR_READ_DIRECT;
				int use_fd = direct ? dfd : fd;
				struct ur_pass p;

				if (!(c.methods & (1u << m)) || (pass > 0 && !x->ok) ||
				    (direct && dfd < 0))
					continue;
				memset(&p, 0, sizeof(p));
				switch (m) {
				case UR_READ:
				case UR_READ_DIRECT:
					rc = run_read(use_fd, c.blocks[b], r.size, c.max_s, &p);
					break;
				case UR_URING:
				case UR_URING_DIRECT:
					rc = run_ring(&ring, use_fd, c.blocks[b], r.size,
						      direct ? c.direct_used : c.depth, c.max_s,
						      bufs[b], NULL, NULL, &p);
					break;
				default:
					rc = run_ring(&ring, use_fd, c.blocks[b], r.size,
						      direct ? c.direct_used : c.depth, c.max_s,
						      NULL, t, views[b], &p);
					break;
				}
				if (rc < 0 || p.ops == 0) {
					x->ok = 0;
					snprintf(x->why, sizeof(x->why), "failed: %s",
						 rc < 0 ? strerror(-rc) : "no data");
					if (rc == -EINVAL && direct)
						snprintf(x->why, sizeof(x->why),
							 "SKIP: O_DIRECT reads of %zu bytes refused "
							 "by %s", c.blocks[b], r.fs);
					continue;
				}
				if (pass == 0)
					x->ok = 1;
				x->ops_s[x->npasses] = (double)p.ops / p.secs;
				x->gb_s[x->npasses] = (double)p.bytes / p.secs / 1e9;
				x->cpu_us[x->npasses] = p.cpu_s * 1e6 / (double)p.ops;
				x->npasses++;
				ur_progress(&c, "pass %d, %s blocks, %s: %.0f ops/s, %.2f GB/s", pass + 1,
					 mvu_size_name(s1, sizeof(s1), c.blocks[b]),
					 ur_method_names[m], x->ops_s[x->npasses - 1],
					 x->gb_s[x->npasses - 1]);
			}
		}
	}
	if (c.pipeline) {
		char name[64];

		ur_progress(&c, "pipeline: %u slots of %s in a shared segment, consumer process",
			 c.pipe_slots, mvu_size_name(s1, sizeof(s1), c.pipe_block));
		snprintf(name, sizeof(name), "/mvbench-uring-%ld", (long)getpid());
		cleanup_shm_set(name);
		ur_run_pipeline(&c, &ring, t, (unsigned)c.nblocks, fd, r.size, r.verified, name,
				run_read, &r.pipe);
		cleanup_shm_set(NULL);
	}
	ur_judge(&r);

	for (b = 0; b < c.nblocks; b++) {
		for (i = 0; i < (int)nbuf; i++) {
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

	ur_loadavg(r.load_end);
	r.elapsed = mvu_now_s() - t_start;
	ur_print_report(&r);
	if (c.json) {
		FILE *f = strcmp(c.json, "-") == 0 ? stdout : fopen(c.json, "w");

		if (!f)
			cli_fail("%s: %s", c.json, strerror(errno));
		ur_write_json(&r, f);
		if (f != stdout && fclose(f) != 0)
			cli_fail("%s: %s", c.json, strerror(errno));
	}
	return CLI_EXIT_OK;
}
