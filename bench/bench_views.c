/*
 * bench/bench_views.c - memview against CPython 3.13's memoryview and memcpy/memcmp, in one run.
 *
 * What is timed, on the same 8 MiB of data (2^20 random doubles in [0, 1)):
 *   derive    m.cast('B')[1:-1], then release the slice and the cast
 *   tobytes   of the whole contiguous view, and of the stride-2 view m[::2] (4 MiB out)
 *   equal     of two equal 8 MiB views (different memory) as 'B' and as 'd'
 *   hex       of the first 1 MiB
 *   tolist    repr(m.cast('d').tolist()) as text: mv_view_tolist_text() (malloc'ed string) and
 *             mv_view_tolist_write() into a sink that only counts bytes
 * against memcpy/memcmp in this process and against CPython, whose timings come from
 * bench/bench_views.py run by the given interpreter through fork/exec and a pipe, and against
 * numpy (np.ascontiguousarray(a[::2]), np.array_equal, a.tobytes()), from the same script run
 * with --numpy by an interpreter that has numpy (by default /usr/bin/python3, Debian's
 * python3-numpy; skipped when it cannot import numpy).
 *
 * The strided tobytes reads the whole 8 MiB it spans and writes 4 MiB: a C baseline that only
 * reads 8 MiB and then writes 4 MiB (the same traffic, no gathering) shows what the memory
 * system allows for it.
 *
 * Method: every measurement is calibrated to an iteration count that takes at least the minimum
 * repetition time (20 ms; 2 ms with --quick), then all measurements are repeated round-robin
 * (21 times; 5 with --quick) so that each one and its baseline see the same machine state; an
 * untimed call before each timed repetition (of more than one iteration) warms the caches with
 * the operation's own data, so no measurement profits from its predecessor's. The table shows
 * the median and the minimum of the per-operation times; PASS/MISS uses the ratio of the
 * medians. The process (and so the Python child) is pinned to one CPU when sched_setaffinity
 * allows it; the library runs single-threaded unless --threaded is given.
 *
 * Allocations are counted by interposing malloc, calloc, realloc, free and the memalign family
 * in this executable: the dynamic linker binds libmemview's (and libc's) calls to these, and they
 * forward to glibc's __libc_* entry points. A self-test at start-up checks that a library
 * allocation is seen.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "memview.h"
#include "../util/cli.h"
#include "../util/mvutil.h"

/* ------------------------------------------------------------------ allocation counter */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

/* Calls of malloc, calloc, realloc and the aligned allocators. The benchmark is single-threaded. */
static unsigned long alloc_calls;

void *malloc(size_t n)
{
	alloc_calls++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	alloc_calls++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	alloc_calls++;
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

void *memalign(size_t align, size_t n)
{
	alloc_calls++;
	return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	alloc_calls++;
	return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	alloc_calls++;
	p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

/* ------------------------------------------------------------------ small helpers */

#define DATA_DOUBLES (1L << 20)
#define DATA_BYTES (DATA_DOUBLES * 8L)   /* 8 MiB */
#define HEX_BYTES (1L << 20)             /* 1 MiB */
#define MAX_REPS 101
/* Debian's interpreter, which python3-numpy installs numpy for. */
#define DEFAULT_NUMPY_PYTHON "/usr/bin/python3"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench_views: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void check_mv(long rc, const char *what)
{
	if (rc < 0)
		die("%s: %s (%ld)", what, mv_errmsg(), rc);
}

/* CLOCK_MONOTONIC, or with --thread-time the thread's CPU time (for A/B runs on a busy box). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static uint64_t now_ns(void)
{
	return (uint64_t)mvu_clock_ns(bench_clock);
}

/* splitmix64: the data generator (bench_views.py has the same one for standalone use). */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* zlib's CRC-32, to check that memview and CPython produced the same text. */
static uint32_t crc_table[256];

static void crc32_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_update(uint32_t crc, const void *data, size_t n)
{
	const unsigned char *p = data;

	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ------------------------------------------------------------------ the data and the views */

static struct {
	mv_heap *ha, *hb;        /* two bytes exporters with equal contents */
	mv_view a, b;            /* memoryview(a), memoryview(b): 'B', 8 MiB */
	mv_view ad, bd;          /* a.cast('d'), b.cast('d') */
	mv_view a2;              /* a[::2] */
	mv_view hex;             /* a[:1 MiB] */
	const char *src;         /* a's memory, for the baselines */
	const char *src_b;
	char *dst;               /* 8 MiB output, pre-faulted */
	char *hexbuf;            /* 2 MiB + 1 */
	size_t hexcap;
} D;

static volatile long sink;

struct count_sink {
	size_t bytes;
};

static int count_write(void *ctx, const char *s, size_t n)
{
	struct count_sink *k = ctx;

	(void)s;
	k->bytes += n;
	return 0;
}

struct crc_sink {
	size_t bytes;
	uint32_t crc;
};

static int crc_write(void *ctx, const char *s, size_t n)
{
	struct crc_sink *k = ctx;

	k->bytes += n;
	k->crc = crc32_update(k->crc, s, n);
	return 0;
}

#define BARRIER() __asm__ __volatile__("" ::: "memory")

/* ------------------------------------------------------------------ the operations */

static void op_derive(long iters)
{
	mv_view c, s;
	long i, bad = 0;

	for (i = 0; i < iters; i++) {
		bad |= mv_view_cast(&c, &D.a, "B", NULL, MV_CAST_NO_SHAPE);
		bad |= mv_view_slice(&s, &c, 1, -1, 1);
		bad |= mv_view_release(&s);
		bad |= mv_view_release(&c);
	}
	if (bad)
		die("derive failed: %s", mv_errmsg());
}

static void op_tobytes_contig(long iters)
{
	long i;

	for (i = 0; i < iters; i++)
		sink += mv_view_tobytes(D.dst, DATA_BYTES, &D.a, 'C');
}

static void op_tobytes_stride2(long iters)
{
	long i;

	for (i = 0; i < iters; i++)
		sink += mv_view_tobytes(D.dst, DATA_BYTES, &D.a2, 'C');
}

static size_t memcpy_len;

static void op_memcpy_8m(long iters)
{
	size_t n = memcpy_len * 2;
	long i;

	for (i = 0; i < iters; i++) {
		memcpy(D.dst, D.src, n);
		BARRIER();
	}
}

static void op_memcpy_4m(long iters)
{
	size_t n = memcpy_len;
	long i;

	for (i = 0; i < iters; i++) {
		memcpy(D.dst, D.src, n);
		BARRIER();
	}
}

static void op_memcmp_8m(long iters)
{
	size_t n = memcpy_len * 2;
	long i;

	for (i = 0; i < iters; i++) {
		sink += memcmp(D.src, D.src_b, n);
		BARRIER();
	}
}

/*
 * The traffic of the stride-2 tobytes without its work: for every 32 bytes of the 8 MiB span,
 * 16 bytes written - the OR of the two halves, where the gather packs every other byte. Same
 * loads and stores in the same order, no shuffling: what the memory system allows the gather.
 */
static void op_floor_stride2(long iters)
{
	const char *src = D.src;
	char *dst = D.dst;
	size_t n = memcpy_len, k;
	long i;

	for (i = 0; i < iters; i++) {
#ifdef __SSE2__
		for (k = 0; k < n; k += 16) {
			__m128i a = _mm_loadu_si128((const __m128i *)(src + 2 * k));
			__m128i b = _mm_loadu_si128((const __m128i *)(src + 2 * k + 16));

			_mm_storeu_si128((__m128i *)(dst + k), _mm_or_si128(a, b));
		}
#else
		const uint64_t *p = (const uint64_t *)(const void *)src;
		uint64_t *q = (uint64_t *)(void *)dst;

		for (k = 0; k < n / 8; k++)
			q[k] = p[2 * k] | p[2 * k + 1];
#endif
		BARRIER();
	}
}

static void op_equal_b(long iters)
{
	long i;

	for (i = 0; i < iters; i++)
		sink += mv_view_equal(&D.a, &D.b);
}

static void op_equal_d(long iters)
{
	long i;

	for (i = 0; i < iters; i++)
		sink += mv_view_equal(&D.ad, &D.bd);
}

static void op_hex(long iters)
{
	long i;

	for (i = 0; i < iters; i++)
		sink += mv_view_hex(D.hexbuf, D.hexcap, &D.hex, NULL, 0);
}

static void op_tolist_text(long iters)
{
	char *s;
	long i;

	for (i = 0; i < iters; i++) {
		ssize_t n = mv_view_tolist_text(&s, &D.ad);

		if (n < 0)
			die("tolist_text: %s", mv_errmsg());
		sink += n;
		free(s);
	}
}

static void op_tolist_write(long iters)
{
	struct count_sink k = { 0 };
	long i;

	for (i = 0; i < iters; i++) {
		if (mv_view_tolist_write(&D.ad, count_write, &k))
			die("tolist_write: %s", mv_errmsg());
	}
	sink += (long)k.bytes;
}

/* ------------------------------------------------------------------ measurements */

struct meas {
	const char *name;       /* key, shared with bench_views.py for the CPython side */
	const char *what;
	void (*fn)(long iters);
	double bytes;           /* bytes per operation for GB/s; 0 for none */
	long iters;             /* per repetition */
	int nsamp;
	double samples[MAX_REPS]; /* ns per operation */
	double median, min;
	double allocs_per_op;
};

#define MEAS(n, w, f, b) { .name = (n), .what = (w), .fn = (f), .bytes = (b) }
static struct meas C_MEAS[] = {
	MEAS("derive", "memview cast('B')[1:-1] + 2 releases", op_derive, 0),
	MEAS("tobytes_contig", "memview tobytes, 8 MiB contiguous", op_tobytes_contig,
	     DATA_BYTES),
	MEAS("tobytes_stride2", "memview tobytes, stride 2 (4 MiB out)", op_tobytes_stride2,
	     DATA_BYTES / 2),
	MEAS("memcpy_8m", "memcpy 8 MiB", op_memcpy_8m, DATA_BYTES),
	MEAS("memcpy_4m", "memcpy 4 MiB", op_memcpy_4m, DATA_BYTES / 2),
	MEAS("equal_B", "memview ==, 8 MiB as 'B'", op_equal_b, DATA_BYTES),
	MEAS("equal_d", "memview ==, 8 MiB as 'd'", op_equal_d, DATA_BYTES),
	MEAS("memcmp_8m", "memcmp 8 MiB (equal)", op_memcmp_8m, DATA_BYTES),
	MEAS("floor_stride2", "stride-2 traffic: 8 MiB in, 4 MiB out", op_floor_stride2,
	     DATA_BYTES / 2),
	MEAS("hex_1m", "memview hex(), 1 MiB", op_hex, HEX_BYTES),
	MEAS("tolist_text", "memview tolist_text, 2^20 doubles", op_tolist_text, 0),
	MEAS("tolist_write", "memview tolist_write, counting sink", op_tolist_write, 0),
};
#define N_C_MEAS (sizeof(C_MEAS) / sizeof(C_MEAS[0]))

/* The CPython and numpy sides, as read from the script's "result" lines. */
struct pymeas {
	const char *name;
	const char *what;
	double bytes;
	int have;
	long iters;
	int reps;
	double median, min;
};

#define PYMEAS(n, w, b) { .name = (n), .what = (w), .bytes = (b) }
static struct pymeas PY_MEAS[] = {
	PYMEAS("derive", "CPython m.cast('B')[1:-1] + 2 releases", 0),
	PYMEAS("tobytes_contig", "CPython m.tobytes(), 8 MiB", DATA_BYTES),
	PYMEAS("tobytes_stride2", "CPython m[::2].tobytes()", DATA_BYTES / 2),
	PYMEAS("equal_B", "CPython a == b, 'B'", DATA_BYTES),
	PYMEAS("equal_d", "CPython a == b, 'd'", DATA_BYTES),
	PYMEAS("hex_1m", "CPython m[:1 MiB].hex()", HEX_BYTES),
	PYMEAS("tolist_text", "CPython repr(m.cast('d').tolist())", 0),
};
#define N_PY_MEAS (sizeof(PY_MEAS) / sizeof(PY_MEAS[0]))

/* bench_views.py --numpy: the same names, numpy's way of doing the same work. */
static struct pymeas NP_MEAS[] = {
	PYMEAS("tobytes_contig", "numpy a.tobytes(), 8 MiB", DATA_BYTES),
	PYMEAS("tobytes_stride2", "numpy np.ascontiguousarray(a[::2])", DATA_BYTES / 2),
	PYMEAS("equal_B", "numpy np.array_equal(a, b), uint8", DATA_BYTES),
	PYMEAS("equal_d", "numpy np.array_equal(a, b), float64", DATA_BYTES),
};
#define N_NP_MEAS (sizeof(NP_MEAS) / sizeof(NP_MEAS[0]))

static struct meas *c_meas(const char *name)
{
	size_t i;

	for (i = 0; i < N_C_MEAS; i++)
		if (!strcmp(C_MEAS[i].name, name))
			return &C_MEAS[i];
	die("no measurement %s", name);
}

static struct pymeas *find_pymeas(struct pymeas *tab, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(tab[i].name, name))
			return &tab[i];
	return NULL;
}

/* --only: a comma-separated list of measurement names (for profiling one operation). */
static const char *only;

static int selected(const char *name)
{
	size_t n = strlen(name);
	const char *p = only;

	if (!p)
		return 1;
	while ((p = strstr(p, name))) {
		if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/*
 * Iterations so that one repetition takes at least @min_ns. The first call also warms up (page
 * faults, caches, branch predictors); an operation that alone takes @min_ns runs once per
 * repetition.
 */
static long calibrate(void (*fn)(long), uint64_t min_ns)
{
	long iters = 1;
	int first = 1;

	for (;;) {
		uint64_t t0 = now_ns(), t;
		double scale;

		fn(iters);
		t = now_ns() - t0;
		if (t >= min_ns && (!first || t >= 4 * min_ns))
			return iters;
		if (first) {
			first = 0;
			continue;
		}
		scale = t ? 1.2 * (double)min_ns / (double)t : 100.0;
		if (scale < 2.0)
			scale = 2.0;
		if (scale > 100.0)
			scale = 100.0;
		iters = (long)((double)iters * scale) + 1;
	}
}

static void summarize(const double *samples, int n, double *median, double *min)
{
	int i;

	*median = mvu_median(samples, (size_t)n);
	*min = samples[0];
	for (i = 1; i < n; i++)
		if (samples[i] < *min)
			*min = samples[i];
}

/* --iters: iterations per repetition without calibration (reproducible instruction counts). */
static long fixed_iters;

static void run_c(int reps, uint64_t min_ns)
{
	unsigned long allocs[N_C_MEAS] = { 0 };
	size_t i;
	int r;

	for (i = 0; i < N_C_MEAS; i++) {
		if (!selected(C_MEAS[i].name))
			continue;
		C_MEAS[i].iters = fixed_iters ? fixed_iters : calibrate(C_MEAS[i].fn, min_ns);
		fprintf(stderr, "  calibrated %-16s %ld iterations per repetition\n",
			C_MEAS[i].name, C_MEAS[i].iters);
	}
	for (r = 0; r < reps; r++) {
		for (i = 0; i < N_C_MEAS; i++) {
			struct meas *m = &C_MEAS[i];
			unsigned long a0;
			uint64_t t0, t;

			if (!m->iters)
				continue;
			/*
			 * An untimed call first, so that every measurement starts with its own
			 * data in the caches, whichever operation ran before it.
			 */
			if (m->iters > 1)
				m->fn(1);
			a0 = alloc_calls;
			t0 = now_ns();
			m->fn(m->iters);
			t = now_ns() - t0;
			allocs[i] += alloc_calls - a0;
			m->samples[m->nsamp++] = (double)t / (double)m->iters;
		}
	}
	for (i = 0; i < N_C_MEAS; i++) {
		struct meas *m = &C_MEAS[i];

		if (!m->iters)
			continue;
		summarize(m->samples, m->nsamp, &m->median, &m->min);
		m->allocs_per_op = (double)allocs[i] / ((double)m->iters * reps);
	}
}

/* ------------------------------------------------------------------ the CPython and numpy sides */

struct pycheck {
	const char *name;
	int have;
	long len;
	uint32_t crc;
};

static struct pycheck PY_CHECKS[] = {
	{ "hex_1m", 0, 0, 0 },
	{ "tolist_text", 0, 0, 0 },
	{ "tobytes_stride2", 0, 0, 0 },
};

static struct pycheck NP_CHECKS[] = {
	{ "tobytes_stride2", 0, 0, 0 },
};

/* One interpreter's run of bench_views.py: CPython's memoryview, or numpy (--numpy). */
struct side {
	const char *label;          /* "CPython", "numpy": the report's and the JSON's name */
	const char *script_arg;     /* extra argument to the script, or NULL */
	struct pymeas *meas;
	size_t nmeas;
	struct pycheck *checks;
	size_t nchecks;
	int have;                   /* it ran and reported */
	char version[256];
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
static struct side SIDE_PY = { "CPython", NULL, PY_MEAS, N_OF(PY_MEAS), PY_CHECKS,
			       N_OF(PY_CHECKS), 0, "" };
static struct side SIDE_NP = { "numpy", "--numpy", NP_MEAS, N_OF(NP_MEAS), NP_CHECKS,
			       N_OF(NP_CHECKS), 0, "" };

static void parse_py_line(struct side *sd, char *line)
{
	char name[64];
	long iters, len;
	int reps;
	double med, min;
	unsigned long crc;
	size_t i;

	if (!strncmp(line, "version ", 8)) {
		snprintf(sd->version, sizeof(sd->version), "%s", line + 8);
		sd->version[strcspn(sd->version, "\n")] = '\0';
	} else if (sscanf(line, "result %63s %ld %d %lf %lf", name, &iters, &reps, &med,
			  &min) == 5) {
		struct pymeas *p = find_pymeas(sd->meas, sd->nmeas, name);

		if (!p)
			return;
		p->have = 1;
		p->iters = iters;
		p->reps = reps;
		p->median = med;
		p->min = min;
	} else if (sscanf(line, "check %63s %ld %lu", name, &len, &crc) == 3) {
		for (i = 0; i < sd->nchecks; i++) {
			if (!strcmp(sd->checks[i].name, name)) {
				sd->checks[i].have = 1;
				sd->checks[i].len = len;
				sd->checks[i].crc = (uint32_t)crc;
			}
		}
	}
}

/*
 * Run @python @script on @datafile for side @sd; returns 0 when it ran and reported, -1
 * otherwise (quietly for numpy when the interpreter has none: the script exits with 3).
 */
static int run_python(struct side *sd, const char *python, const char *script,
		      const char *datafile, int reps, uint64_t min_ns)
{
	char reps_s[32], min_s[32], *line = NULL;
	size_t cap = 0;
	int fds[2], status;
	FILE *f;
	pid_t pid;

	snprintf(reps_s, sizeof(reps_s), "%d", reps);
	snprintf(min_s, sizeof(min_s), "%llu", (unsigned long long)min_ns);
	if (pipe(fds) < 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		/* numpy's BLAS must not start threads on our pinned CPU */
		setenv("OPENBLAS_NUM_THREADS", "1", 1);
		setenv("OMP_NUM_THREADS", "1", 1);
		execl(python, python, script, "--data", datafile, "--reps", reps_s, "--min-ns",
		      min_s, "--clock", bench_clock == CLOCK_MONOTONIC ? "perf_counter" : "thread",
		      sd->script_arg, (char *)NULL);
		fprintf(stderr, "bench_views: cannot run %s: %s\n", python, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f)
		die("fdopen: %s", strerror(errno));
	while (getline(&line, &cap, f) > 0)
		parse_py_line(sd, line);
	free(line);
	fclose(f);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid: %s", strerror(errno));
	if (sd->script_arg && WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		fprintf(stderr, "bench_views: %s has no numpy; numpy columns skipped\n", python);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_views: %s %s%s%s failed (status %d)\n", python, script,
			sd->script_arg ? " " : "", sd->script_arg ? sd->script_arg : "", status);
		return -1;
	}
	sd->have = 1;
	return 0;
}

static int file_exists(const char *path)
{
	return access(path, R_OK) == 0;
}

/*
 * Find bench_views.py: next to this source file, near the executable (the build tree), where
 * make install puts it ($(pkgdatadir)), or in ./bench.
 */
static const char *find_script(char *buf, size_t cap)
{
	static const char *const rel[] = { "bench_views.py", "../bench_views.py",
		"../../bench/bench_views.py" };
	char exe[PATH_MAX];
	ssize_t n;
	size_t i;
	char *slash;

	snprintf(buf, cap, "%s", __FILE__);
	n = (ssize_t)strlen(buf);
	if (n > 2 && !strcmp(buf + n - 2, ".c")) {
		snprintf(buf + n - 2, cap - (size_t)n + 2, ".py");
		if (file_exists(buf))
			return buf;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			slash[1] = '\0';
			for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				snprintf(buf, cap, "%s%s", exe, rel[i]);
				if (file_exists(buf))
					return buf;
			}
		}
	}
#ifdef MV_PKGDATADIR
	snprintf(buf, cap, "%s/bench_views.py", MV_PKGDATADIR);
	if (file_exists(buf))
		return buf;
#endif
	snprintf(buf, cap, "bench/bench_views.py");
	return file_exists(buf) ? buf : NULL;
}

/* ------------------------------------------------------------------ --threaded */

static int threaded;

static void *idle_thread(void *arg)
{
	return arg;
}

/*
 * Start and join one thread: glibc then clears __libc_single_threaded for good, and a library
 * that skips atomics in single-threaded processes takes its multi-threaded path.
 */
static void go_multithreaded(void)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, idle_thread, NULL);

	if (rc)
		die("pthread_create: %s", strerror(rc));
	pthread_join(t, NULL);
}

/* ------------------------------------------------------------------ machine facts */

static char cpu_model[256] = "unknown";
static char kernel[256] = "unknown";
static int pinned_cpu = -1;
static double load1 = -1, load5 = -1, load15 = -1;

static void machine_facts(void)
{
	struct utsname u;
	double l[3];

	mvu_cpu_model(cpu_model, sizeof(cpu_model));
	if (uname(&u) == 0)
		snprintf(kernel, sizeof(kernel), "%s %s %s", u.sysname, u.release, u.machine);
	if (getloadavg(l, 3) == 3) {
		load1 = l[0];
		load5 = l[1];
		load15 = l[2];
	}
}

/* Pin to @cpu, or to the highest-numbered allowed CPU when @cpu < 0. */
static void pin(int cpu)
{
	int rc;

	if (cpu < 0)
		cpu = mvu_last_cpu();
	if (cpu < 0)
		return;
	rc = mvu_pin_cpu(cpu);
	if (rc == 0)
		pinned_cpu = cpu;
	else
		fprintf(stderr, "bench_views: cannot pin to CPU %d: %s\n", cpu, strerror(-rc));
}

/* ------------------------------------------------------------------ set-up and checks */

static void setup(const char *datafile)
{
	uint64_t state = 0x6d656d76696577ull; /* "memview" */
	double *data;
	char *copy;
	long i;
	FILE *f;

	data = __libc_malloc(DATA_BYTES);
	if (!data)
		die("out of memory");
	for (i = 0; i < DATA_DOUBLES; i++)
		data[i] = (double)(splitmix64(&state) >> 11) * 0x1.0p-53;
	check_mv(mv_heap_bytes_new(&D.ha, data, DATA_BYTES), "mv_heap_bytes_new");
	check_mv(mv_heap_bytes_new(&D.hb, data, DATA_BYTES), "mv_heap_bytes_new");
	if (datafile) {
		f = fopen(datafile, "wb");
		if (!f || fwrite(data, 1, DATA_BYTES, f) != (size_t)DATA_BYTES || fclose(f))
			die("cannot write %s", datafile);
	}
	__libc_free(data);

	check_mv(mv_view_from(&D.a, mv_heap_exporter(D.ha), 0), "mv_view_from");
	check_mv(mv_view_from(&D.b, mv_heap_exporter(D.hb), 0), "mv_view_from");
	check_mv(mv_view_cast(&D.ad, &D.a, "d", NULL, MV_CAST_NO_SHAPE), "cast d");
	check_mv(mv_view_cast(&D.bd, &D.b, "d", NULL, MV_CAST_NO_SHAPE), "cast d");
	check_mv(mv_view_slice(&D.a2, &D.a, MV_NONE, MV_NONE, 2), "slice ::2");
	check_mv(mv_view_slice(&D.hex, &D.a, 0, HEX_BYTES, 1), "slice :1MiB");
	D.src = mv_view_ptr(&D.a);
	D.src_b = mv_view_ptr(&D.b);
	if (D.src == D.src_b)
		die("the two exporters share memory");
	memcpy_len = DATA_BYTES / 2;

	D.dst = __libc_malloc(DATA_BYTES);
	D.hexcap = 2 * HEX_BYTES + 1;
	D.hexbuf = __libc_malloc(D.hexcap);
	if (!D.dst || !D.hexbuf)
		die("out of memory");
	memset(D.dst, 1, DATA_BYTES);      /* pre-fault */
	memset(D.hexbuf, 1, D.hexcap);

	/* memview gives what a plain loop gives. */
	if (mv_view_tobytes(D.dst, DATA_BYTES, &D.a2, 'C') != DATA_BYTES / 2)
		die("tobytes stride 2: %s", mv_errmsg());
	for (i = 0; i < DATA_BYTES / 2; i++)
		if (D.dst[i] != D.src[2 * i])
			die("tobytes stride 2 differs at %ld", i);
	copy = D.dst;
	if (mv_view_tobytes(copy, DATA_BYTES, &D.a, 'C') != DATA_BYTES ||
	    memcmp(copy, D.src, DATA_BYTES))
		die("tobytes contiguous differs");
	if (mv_view_equal(&D.a, &D.b) != 1 || mv_view_equal(&D.ad, &D.bd) != 1)
		die("equal views compare unequal");
}

/* Check that the allocation counter sees the library's allocations. */
static void check_counter(void)
{
	unsigned long before = alloc_calls;
	mv_heap *h;

	check_mv(mv_heap_bytes_new(&h, "abc", 3), "mv_heap_bytes_new");
	if (alloc_calls == before)
		die("the malloc counter does not see libmemview's allocations");
	check_mv(mv_heap_free(h), "mv_heap_free");
}

/* Compare memview's output with what CPython or numpy reported for the same data. */
static int cross_check(const struct side *sd, int verbose)
{
	struct crc_sink k = { 0, 0 };
	int bad = 0;
	size_t i;

	for (i = 0; i < sd->nchecks; i++) {
		struct pycheck *p = &sd->checks[i];
		uint32_t crc;
		long len;

		if (!p->have)
			continue;
		if (!strcmp(p->name, "hex_1m")) {
			len = mv_view_hex(D.hexbuf, D.hexcap, &D.hex, NULL, 0);
			crc = crc32_update(0, D.hexbuf, (size_t)len);
		} else if (!strcmp(p->name, "tolist_text")) {
			k.bytes = 0;
			k.crc = 0;
			check_mv(mv_view_tolist_write(&D.ad, crc_write, &k), "tolist_write");
			len = (long)k.bytes;
			crc = k.crc;
		} else {
			len = mv_view_tobytes(D.dst, DATA_BYTES, &D.a2, 'C');
			crc = crc32_update(0, D.dst, (size_t)len);
		}
		if (len != p->len || crc != p->crc) {
			fprintf(stderr, "bench_views: %s differs from %s: len %ld crc %08x, "
				"%s len %ld crc %08x\n", p->name, sd->label, len, crc, sd->label,
				p->len, p->crc);
			bad = 1;
		} else if (verbose) {
			fprintf(stderr, "  %s identical to %s's (%ld bytes, crc32 %08x)\n",
				p->name, sd->label, len, crc);
		}
	}
	return bad;
}

/* ------------------------------------------------------------------ the report */

enum tkind {
	T_MAX_NS,        /* memview median <= goal ns and no allocation; ratio vs CPython */
	T_BW,            /* baseline time / memview time >= goal (fraction of baseline GB/s) */
	T_SPEEDUP,       /* CPython time / memview time >= goal */
	T_INFO_BW,       /* as T_BW, no target */
	T_INFO_SPEEDUP,  /* as T_SPEEDUP, no target */
	T_INFO_NUMPY     /* numpy time / memview time, no target */
};

struct target {
	const char *key;      /* the JSON summary's name for the ratio */
	const char *label;
	const char *mv;       /* C_MEAS name (T_INFO_BW: may be a C baseline too) */
	const char *base;     /* C_MEAS name of the C baseline; CPython rows: the script's */
	enum tkind kind;
	double goal;
	const char *goal_text;
	/* results */
	double ratio;
	const char *result;
	double base_median, base_min;
	const char *base_name;
};

#define TARGET(key_, l, m, b, k, g, gt)                                                    \
	{ .key = (key_), .label = (l), .mv = (m), .base = (b), .kind = (k), .goal = (g),     \
	  .goal_text = (gt) }
static struct target TARGETS[] = {
	TARGET("derive_vs_cpython", "1 derive cast('B')[1:-1]+release", "derive", NULL,
	       T_MAX_NS, 15, "<=15ns, 0 alloc"),
	TARGET("tobytes_contig_vs_memcpy", "2 tobytes 8 MiB contiguous", "tobytes_contig",
	       "memcpy_8m", T_INFO_BW, 0, "(info)"),
	TARGET("stride2_vs_memcpy_out", "2 tobytes stride 2 [out bytes]", "tobytes_stride2",
	       "memcpy_4m", T_BW, 0.8, ">=0.80 memcpy"),
	TARGET("stride2_vs_memcpy_span", "2 tobytes stride 2 [span bytes]", "tobytes_stride2",
	       "memcpy_8m", T_INFO_BW, 0, "(info)"),
	/* What the memory system allows: the stride-2 traffic alone, against memcpy 4 MiB. */
	TARGET("stride2_floor_vs_memcpy_out", "2 stride-2 traffic floor [out]", "floor_stride2",
	       "memcpy_4m", T_INFO_BW, 0, "(info)"),
	TARGET("stride2_vs_floor", "2 tobytes stride 2 vs floor", "tobytes_stride2",
	       "floor_stride2", T_INFO_BW, 0, "(info)"),
	TARGET("equal_B_vs_memcmp", "3 equal 8 MiB 'B'", "equal_B", "memcmp_8m", T_BW, 0.8,
	       ">=0.80 memcmp"),
	TARGET("equal_d_vs_memcmp", "3 equal 8 MiB 'd'", "equal_d", "memcmp_8m", T_BW, 0.8,
	       ">=0.80 memcmp"),
	TARGET("hex_vs_cpython", "4 hex 1 MiB", "hex_1m", NULL, T_SPEEDUP, 3, ">=3x CPython"),
	TARGET("tolist_text_vs_cpython", "5 tolist text (tolist_text)", "tolist_text", NULL,
	       T_SPEEDUP, 3, ">=3x CPython"),
	/* CPython has one text rendering: tolist_write is compared with its tolist_text. */
	TARGET("tolist_write_vs_cpython", "5 tolist text (tolist_write)", "tolist_write",
	       "tolist_text", T_SPEEDUP, 3, ">=3x CPython"),
	TARGET("tobytes_contig_vs_cpython", "  tobytes contiguous vs CPython", "tobytes_contig",
	       NULL, T_INFO_SPEEDUP, 0, "(info)"),
	TARGET("stride2_vs_cpython", "  tobytes stride 2 vs CPython", "tobytes_stride2", NULL,
	       T_INFO_SPEEDUP, 0, "(info)"),
	TARGET("equal_B_vs_cpython", "  equal 'B' vs CPython", "equal_B", NULL, T_INFO_SPEEDUP,
	       0, "(info)"),
	TARGET("equal_d_vs_cpython", "  equal 'd' vs CPython", "equal_d", NULL, T_INFO_SPEEDUP,
	       0, "(info)"),
	TARGET("tobytes_contig_vs_numpy", "  tobytes contiguous vs numpy", "tobytes_contig",
	       NULL, T_INFO_NUMPY, 0, "(info)"),
	TARGET("stride2_vs_numpy", "  tobytes stride 2 vs numpy", "tobytes_stride2", NULL,
	       T_INFO_NUMPY, 0, "(info)"),
	TARGET("equal_B_vs_numpy", "  equal 'B' vs numpy", "equal_B", NULL, T_INFO_NUMPY, 0,
	       "(info)"),
	TARGET("equal_d_vs_numpy", "  equal 'd' vs numpy", "equal_d", NULL, T_INFO_NUMPY, 0,
	       "(info)"),
};
#define N_TARGETS (sizeof(TARGETS) / sizeof(TARGETS[0]))

/* Format a time per operation with a unit that keeps 3-4 significant digits. */
static const char *fmt_time(char *buf, size_t cap, double ns)
{
	if (ns < 1e3)
		snprintf(buf, cap, "%.1f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, cap, "%.2f us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, cap, "%.3f ms", ns / 1e6);
	else
		snprintf(buf, cap, "%.3f s", ns / 1e9);
	return buf;
}

static void evaluate(void)
{
	size_t i;

	for (i = 0; i < N_TARGETS; i++) {
		struct target *t = &TARGETS[i];
		struct meas *m = c_meas(t->mv);
		const struct side *sd = t->kind == T_INFO_NUMPY ? &SIDE_NP :
					t->kind == T_MAX_NS || t->kind == T_SPEEDUP ||
					t->kind == T_INFO_SPEEDUP ? &SIDE_PY : NULL;
		/* tolist_write is compared with CPython's tolist_text: same output. */
		const char *pyname = t->base && sd ? t->base : t->mv;
		int pass = 0;

		t->ratio = 0;
		t->base_median = 0;
		if (sd) {
			struct pymeas *p = find_pymeas(sd->meas, sd->nmeas, pyname);

			t->base_name = sd->label;
			if (p && p->have) {
				t->base_median = p->median;
				t->base_min = p->min;
				t->ratio = p->median / m->median;
			}
		} else {
			struct meas *b = c_meas(t->base);

			t->base_name = b->name;
			t->base_median = b->median;
			t->base_min = b->min;
			t->ratio = b->median / m->median;
		}
		switch (t->kind) {
		case T_MAX_NS:
			pass = m->median <= t->goal && m->allocs_per_op == 0;
			break;
		case T_BW:
		case T_SPEEDUP:
			if (!t->base_median) {
				t->result = "SKIP";
				continue;
			}
			pass = t->ratio >= t->goal;
			break;
		default:
			t->result = t->base_median ? "-" : "SKIP";
			continue;
		}
		t->result = pass ? "PASS" : "MISS";
	}
}

/* GB/s of @bytes in @ns, or "-" for an operation without a byte count. */
static const char *gbps_cell(char *buf, size_t cap, double bytes, double ns)
{
	if (bytes)
		snprintf(buf, cap, "%.2f", bytes / ns);
	else
		snprintf(buf, cap, "-");
	return buf;
}

static void print_side_rows(FILE *o, const struct side *sd)
{
	char b1[32], b2[32], cell[64];
	size_t i;

	for (i = 0; i < sd->nmeas && sd->have; i++) {
		struct pymeas *p = &sd->meas[i];

		if (!p->have)
			continue;
		fprintf(o, "%-40s %12s %12s %9s %9s\n", p->what,
			fmt_time(b1, sizeof(b1), p->median), fmt_time(b2, sizeof(b2), p->min),
			gbps_cell(cell, sizeof(cell), p->bytes, p->median), "");
	}
}

static void print_report(FILE *o, int reps, uint64_t min_ns)
{
	char b1[32], b2[32], b3[32], b4[32], cell[64];
	size_t i;

	fprintf(o, "\nmemview benchmark: %d repetitions round-robin, >= %.0f ms each; "
		"median (min) per operation\n", reps, (double)min_ns / 1e6);
	fprintf(o, "cpu: %s; kernel: %s; gcc %s\n", cpu_model, kernel, __VERSION__);
	if (pinned_cpu >= 0)
		fprintf(o, "pinned to CPU %d (the CPython and numpy children inherit the "
			"affinity)\n", pinned_cpu);
	else
		fprintf(o, "not pinned to a CPU\n");
	fprintf(o, "load average at start: %.2f %.2f %.2f\n", load1, load5, load15);
	if (bench_clock != CLOCK_MONOTONIC)
		fprintf(o, "clock: thread CPU time (--thread-time), not wall time\n");
	fprintf(o, "process: %s\n", threaded ? "multi-threaded (--threaded: one thread was started)"
					     : "single-threaded");
	fprintf(o, "CPython: %s\n", SIDE_PY.have ? SIDE_PY.version : "(not run)");
	fprintf(o, "numpy: %s\n", SIDE_NP.have ? SIDE_NP.version : "(not run)");

	fprintf(o, "\n%-40s %12s %12s %9s %9s\n", "measurement", "median", "min", "GB/s",
		"allocs/op");
	for (i = 0; i < N_C_MEAS; i++) {
		struct meas *m = &C_MEAS[i];

		fprintf(o, "%-40s %12s %12s %9s %9.3g\n", m->what,
			fmt_time(b1, sizeof(b1), m->median), fmt_time(b2, sizeof(b2), m->min),
			gbps_cell(cell, sizeof(cell), m->bytes, m->median), m->allocs_per_op);
	}
	print_side_rows(o, &SIDE_PY);
	print_side_rows(o, &SIDE_NP);

	fprintf(o, "\n%-33s | %-24s | %-34s | %-14s | %-15s | %s\n", "operation",
		"memview median (min)", "baseline median (min)", "ratio (of min)", "target",
		"result");
	for (i = 0; i < N_TARGETS; i++) {
		struct target *t = &TARGETS[i];
		struct meas *m = c_meas(t->mv);
		char mvcell[48], basecell[64], ratio[32];
		int speed = t->kind == T_SPEEDUP || t->kind == T_INFO_SPEEDUP ||
			    t->kind == T_MAX_NS || t->kind == T_INFO_NUMPY;

		snprintf(mvcell, sizeof(mvcell), "%s (%s)", fmt_time(b1, sizeof(b1), m->median),
			 fmt_time(b2, sizeof(b2), m->min));
		if (t->base_median) {
			snprintf(basecell, sizeof(basecell), "%s %s (%s)", t->base_name,
				 fmt_time(b3, sizeof(b3), t->base_median),
				 fmt_time(b4, sizeof(b4), t->base_min));
			snprintf(ratio, sizeof(ratio), speed ? "%.1fx (%.1fx)" : "%.2f (%.2f)",
				 t->ratio, t->base_min / m->min);
		} else {
			snprintf(basecell, sizeof(basecell), "%s (not run)", t->base_name);
			snprintf(ratio, sizeof(ratio), "-");
		}
		fprintf(o, "%-33s | %-24s | %-34s | %-14s | %-15s | %s", t->label, mvcell,
			basecell, ratio, t->goal_text, t->result);
		if (t->kind == T_MAX_NS)
			fprintf(o, " (%.3g allocs/op)", m->allocs_per_op);
		fputc('\n', o);
	}
	fprintf(o, "\nratio: of the medians (of the minimums in parentheses); PASS/MISS uses the "
		"medians.\nFor memcpy/memcmp rows, baseline time / memview time = memview's "
		"share of the\nbaseline's bandwidth over the bytes named in the row; for CPython "
		"rows, how many times\nfaster memview is. [out bytes]: bandwidth counted on the "
		"4 MiB written, against memcpy\nof 4 MiB; [span bytes]: on the 8 MiB the view "
		"spans, against memcpy of 8 MiB.\nFor numpy rows, how many times faster "
		"memview is than numpy doing the same work.\n[floor]: the stride-2 tobytes' loads "
		"and stores (8 MiB read, 4 MiB written, interleaved)\nwithout its packing, a C "
		"baseline in the memview column; against memcpy 4 MiB it is\nthe highest ratio "
		"the memory system allows target 2 on this machine.\n");
	if (!SIDE_PY.have)
		fprintf(o, "CPython columns skipped: no --python interpreter, or it failed.\n");
	if (!SIDE_NP.have)
		fprintf(o, "numpy columns skipped: no interpreter with numpy (--numpy), or it "
			"failed.\n");
}

static void print_only(void)
{
	char b1[32], b2[32];
	size_t i;

	for (i = 0; i < N_C_MEAS; i++) {
		struct meas *m = &C_MEAS[i];

		if (m->iters)
			printf("%-40s %12s %12s %9.3g allocs/op\n", m->what,
			       fmt_time(b1, sizeof(b1), m->median),
			       fmt_time(b2, sizeof(b2), m->min), m->allocs_per_op);
	}
}

static void json_pymeas(FILE *f, const struct side *sd)
{
	size_t i;

	for (i = 0; i < sd->nmeas; i++) {
		struct pymeas *p = &sd->meas[i];

		fprintf(f, "    {\"name\": \"%s\", \"have\": %s, \"median_ns\": %.3f, "
			"\"min_ns\": %.3f, \"iters\": %ld, \"reps\": %d}%s\n", p->name,
			p->have ? "true" : "false", p->median, p->min, p->iters, p->reps,
			i + 1 < sd->nmeas ? "," : "");
	}
}

static void json_version(FILE *f, const struct side *sd)
{
	if (sd->have)
		cli_json_string(f, sd->version);
	else
		fputs("null", f);
}

/* The summary: every ratio of the targets block by key, and which targets were met. */
static void json_summary(FILE *f)
{
	struct meas *d = c_meas("derive");
	size_t i;
	int first = 1;

	fprintf(f, "  \"summary\": {\n    \"derive_ns\": %.3f, \"derive_allocs_per_op\": %g",
		d->median, d->allocs_per_op);
	for (i = 0; i < N_TARGETS; i++) {
		struct target *t = &TARGETS[i];

		fprintf(f, ",\n    \"%s\": ", t->key);
		if (t->base_median)
			fprintf(f, "%.4f", t->ratio);
		else
			fputs("null", f);
	}
	fputs(",\n    \"targets\": {", f);
	for (i = 0; i < N_TARGETS; i++) {
		struct target *t = &TARGETS[i];

		if (strcmp(t->result, "PASS") && strcmp(t->result, "MISS") &&
		    !(t->kind == T_BW || t->kind == T_SPEEDUP || t->kind == T_MAX_NS))
			continue;
		fprintf(f, "%s\"%s\": %s", first ? "" : ", ",
			t->kind == T_MAX_NS ? "derive_ns" : t->key,
			!strcmp(t->result, "PASS") ? "true" :
			!strcmp(t->result, "MISS") ? "false" : "null");
		first = 0;
	}
	fputs("}\n  },\n", f);
}

static void write_json(const char *path, int reps, uint64_t min_ns)
{
	FILE *f = fopen(path, "w");
	size_t i;
	int k;

	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	fprintf(f, "{\n  \"machine\": {\"cpu\": ");
	cli_json_string(f, cpu_model);
	fprintf(f, ", \"kernel\": ");
	cli_json_string(f, kernel);
	fprintf(f, ", \"gcc\": ");
	cli_json_string(f, __VERSION__);
	fprintf(f, ", \"pinned_cpu\": %d, \"loadavg\": [%.2f, %.2f, %.2f]},\n", pinned_cpu,
		load1, load5, load15);
	fprintf(f, "  \"threaded\": %s, \"clock\": \"%s\",\n", threaded ? "true" : "false",
		bench_clock == CLOCK_MONOTONIC ? "monotonic" : "thread_cputime");
	fprintf(f, "  \"reps\": %d, \"min_rep_ns\": %llu,\n  \"python\": ", reps,
		(unsigned long long)min_ns);
	json_version(f, &SIDE_PY);
	fprintf(f, ",\n  \"numpy\": ");
	json_version(f, &SIDE_NP);
	fprintf(f, ",\n  \"memview\": [\n");
	for (i = 0; i < N_C_MEAS; i++) {
		struct meas *m = &C_MEAS[i];

		fprintf(f, "    {\"name\": \"%s\", \"median_ns\": %.3f, \"min_ns\": %.3f, "
			"\"iters\": %ld, \"allocs_per_op\": %g, \"bytes\": %.0f, \"samples_ns\": [",
			m->name, m->median, m->min, m->iters, m->allocs_per_op, m->bytes);
		for (k = 0; k < m->nsamp; k++)
			fprintf(f, "%s%.3f", k ? ", " : "", m->samples[k]);
		fprintf(f, "]}%s\n", i + 1 < N_C_MEAS ? "," : "");
	}
	fprintf(f, "  ],\n  \"cpython\": [\n");
	json_pymeas(f, &SIDE_PY);
	fprintf(f, "  ],\n  \"numpy_results\": [\n");
	json_pymeas(f, &SIDE_NP);
	fprintf(f, "  ],\n");
	json_summary(f);
	fprintf(f, "  \"targets\": [\n");
	for (i = 0; i < N_TARGETS; i++) {
		struct target *t = &TARGETS[i];

		fprintf(f, "    {\"key\": \"%s\", \"label\": ", t->key);
		cli_json_string(f, t->label);
		fprintf(f, ", \"memview\": \"%s\", \"baseline\": \"%s\", \"ratio\": %.4f, "
			"\"target\": ", t->mv, t->base_name, t->ratio);
		cli_json_string(f, t->goal_text);
		fprintf(f, ", \"result\": \"%s\"}%s\n", t->result, i + 1 < N_TARGETS ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f))
		die("cannot write %s", path);
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_views [--python PATH] [--numpy PATH | --no-numpy] [--script PATH]\n"
		"                   [--quick] [--reps N] [--min-ms MS] [--cpu N] [--json FILE]\n"
		"                   [--only A,B] [--iters N] [--thread-time] [--threaded]\n"
		"  --python PATH  CPython 3.13 for the memoryview columns (skipped when absent)\n"
		"  --numpy PATH   a Python with numpy for the numpy columns (default\n"
		"                 " DEFAULT_NUMPY_PYTHON "; skipped when it has no numpy)\n"
		"  --no-numpy     no numpy columns\n"
		"  --script PATH  bench_views.py (default: found next to the sources)\n"
		"  --quick        5 repetitions of >= 2 ms: a quick look, under 10 s\n"
		"  --reps N       repetitions (odd, default 21)\n"
		"  --min-ms MS    minimum time of one repetition (default 20)\n"
		"  --cpu N        pin to CPU N (default: the last allowed CPU)\n"
		"  --json FILE    also write every number as JSON\n"
		"  --only A,B     time only these memview/baseline measurements, no CPython and\n"
		"                 no report (for perf record)\n"
		"  --iters N      N iterations per repetition instead of calibrating: with --only\n"
		"                 and --reps 1, each operation runs N + 1 times, for instruction\n"
		"                 counts under valgrind --tool=callgrind --toggle-collect=op_NAME\n"
		"  --thread-time  time with the thread's CPU time instead of the monotonic clock\n"
		"                 (A/B comparisons on a busy machine; not for published numbers)\n"
		"  --threaded     start (and join) a thread first, so the process is no longer\n"
		"                 single-threaded: shows the cost of the atomic family count\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "python", required_argument, NULL, 'p' },
		{ "numpy", required_argument, NULL, 'n' },
		{ "no-numpy", no_argument, NULL, 'N' },
		{ "script", required_argument, NULL, 's' },
		{ "quick", no_argument, NULL, 'q' },
		{ "reps", required_argument, NULL, 'r' },
		{ "min-ms", required_argument, NULL, 'm' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "json", required_argument, NULL, 'j' },
		{ "only", required_argument, NULL, 'o' },
		{ "iters", required_argument, NULL, 'i' },
		{ "thread-time", no_argument, NULL, 't' },
		{ "threaded", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *python = NULL, *script = NULL, *json = NULL;
	const char *np_python = DEFAULT_NUMPY_PYTHON;
	char script_buf[PATH_MAX], datafile[] = "/tmp/memview-bench-XXXXXX";
	int reps = 21, cpu = -1, opt, differs = 0, fd;
	double min_ms = 20;
	uint64_t min_ns, t_start = now_ns();

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			python = optarg;
			break;
		case 'n':
			np_python = optarg;
			break;
		case 'N':
			np_python = NULL;
			break;
		case 's':
			script = optarg;
			break;
		case 'q':
			reps = 5;
			min_ms = 2;
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'm':
			min_ms = atof(optarg);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'j':
			json = optarg;
			break;
		case 'o':
			only = optarg;
			break;
		case 'i':
			fixed_iters = atol(optarg);
			if (fixed_iters < 1) {
				usage(stderr);
				return 2;
			}
			break;
		case 't':
			bench_clock = CLOCK_THREAD_CPUTIME_ID;
			break;
		case 'T':
			threaded = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || reps < 1 || reps > MAX_REPS || min_ms <= 0) {
		usage(stderr);
		return 2;
	}
	min_ns = (uint64_t)(min_ms * 1e6);
	if (only)
		python = np_python = NULL; /* profiling memview: no Python, no report */
	if (python && !*python)
		python = NULL; /* make bench with PYTHON313 empty */
	if (np_python && !*np_python)
		np_python = NULL;
	if (python && access(python, X_OK) != 0) {
		fprintf(stderr, "bench_views: %s: %s; CPython columns skipped\n", python,
			strerror(errno));
		python = NULL;
	}
	if (np_python && access(np_python, X_OK) != 0) {
		/* quietly for the default: a machine without Debian's python3 has no numpy row */
		if (strcmp(np_python, DEFAULT_NUMPY_PYTHON))
			fprintf(stderr, "bench_views: %s: %s; numpy columns skipped\n", np_python,
				strerror(errno));
		np_python = NULL;
	}
	if ((python || np_python) && !script) {
		script = find_script(script_buf, sizeof(script_buf));
		if (!script) {
			fprintf(stderr, "bench_views: bench_views.py not found (use --script); "
				"CPython and numpy columns skipped\n");
			python = np_python = NULL;
		}
	}

	machine_facts();
	pin(cpu);
	if (threaded)
		go_multithreaded();
	crc32_init();
	check_counter();

	fprintf(stderr, "bench_views: preparing 8 MiB of data\n");
	if (python || np_python) {
		fd = mkstemp(datafile);
		if (fd < 0)
			die("mkstemp: %s", strerror(errno));
		close(fd);
	}
	setup(python || np_python ? datafile : NULL);

	if (python) {
		fprintf(stderr, "bench_views: running %s %s\n", python, script);
		if (run_python(&SIDE_PY, python, script, datafile, reps, min_ns) == 0)
			differs |= cross_check(&SIDE_PY, 1);
	}
	if (np_python) {
		fprintf(stderr, "bench_views: running %s %s --numpy\n", np_python, script);
		if (run_python(&SIDE_NP, np_python, script, datafile, reps, min_ns) == 0)
			differs |= cross_check(&SIDE_NP, 1);
	}
	if (python || np_python)
		unlink(datafile);

	fprintf(stderr, "bench_views: timing memview and the C baselines\n");
	run_c(reps, min_ns);
	if (only) {
		print_only();
		return 0;
	}
	evaluate();
	print_report(stdout, reps, min_ns);
	if (differs)
		printf("\nWARNING: memview's output differs from CPython's or numpy's (see above): "
		       "the timings compare different work.\n");
	if (json)
		write_json(json, reps, min_ns);
	fprintf(stderr, "bench_views: total %.1f s\n", (double)(now_ns() - t_start) / 1e9);

	mv_view_release(&D.hex);
	mv_view_release(&D.a2);
	mv_view_release(&D.ad);
	mv_view_release(&D.bd);
	mv_view_release(&D.a);
	mv_view_release(&D.b);
	mv_heap_free(D.ha);
	mv_heap_free(D.hb);
	__libc_free(D.dst);
	__libc_free(D.hexbuf);
	return differs;
}
