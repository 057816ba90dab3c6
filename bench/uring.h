/*
 * bench/uring.h - the io_uring benchmark behind "mvbench uring": reading a file in the page
 * cache in 4 KiB and 128 KiB blocks with read(2), plain io_uring reads and fixed reads into
 * memview's registered buffers (and all three with O_DIRECT where the filesystem allows), then
 * the pipeline file -> registered shared-memory slot -> consumer process viewing it with no
 * copy. Reports ops/s, GB/s and CPU time per operation side by side, judges the io_uring targets
 * of issue 13 - each the median of per-pass ratios against a baseline measured in the same run:
 * fixed reads >= 1.00x plain io_uring reads at 4 KiB; fixed O_DIRECT reads >= 1.10x plain
 * io_uring O_DIRECT reads at 4 KiB and 128 KiB; pipeline >= 0.80x read(2) bandwidth at 128 KiB -
 * and writes JSON with a "summary" object on request.
 *
 * uring.c measures (and holds the options and bench_uring_main) and runs the pipeline through
 * uring_pipeline.c; uring_report.c shows the results and the progress lines. Calls go one way:
 * uring.c -> uring_pipeline.c -> uring_report.c, and uring.c -> uring_report.c. They need
 * <sched.h> (cpu_set_t), which this header includes.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_BENCH_URING_H
#define MEMVIEW_BENCH_URING_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * bench_uring_main - the whole "mvbench uring" subcommand: options, measurement, report.
 *
 * Call it as mvbench calls its other subcommands: after cli_init(), with argv[0] the name
 * getopt's messages should show (mvbench's argv[0]) and the subcommand's options after it,
 * i.e. argv[1] = argv[0]; bench_uring_main(argc - 1, argv + 1).
 *
 * Returns the exit status: 0 when the benchmark ran (targets missed included: the report says
 * so), 1 when it could not run. Usage errors exit 2 and --help exits 0, through tools/cli.c.
 */
int bench_uring_main(int argc, char **argv);

/* ------------------------------------------------------------------ shared by uring*.c */

#define UR_MAX_BLOCKS 8
#define UR_MAX_PASSES 15

/* The ways of reading the file, in report order. */
enum ur_method {
	UR_READ,         /* read(2), one call per block */
	UR_URING,        /* IORING_OP_READ, --depth in flight (--direct-depth for O_DIRECT) */
	UR_FIXED,        /* fixed reads prepared from views of a memview slot */
	UR_READ_DIRECT,  /* read(2) with O_DIRECT */
	UR_URING_DIRECT, /* IORING_OP_READ with O_DIRECT */
	UR_FIXED_DIRECT, /* fixed reads with O_DIRECT */
	UR_NMETHODS
};

/* The io_uring targets of issue 13 (ratios, at least), in report order. */
#define UR_TARGET_FIXED_VS_URING_4K 1.00
#define UR_TARGET_FIXED_VS_URING_DIRECT 1.10
#define UR_TARGET_PIPELINE_VS_READ_BW 0.80

enum ur_target_id {
	UR_T_FIXED_4K,        /* fixed / plain io_uring ops/s, 4 KiB */
	UR_T_DIRECT_4K,       /* fixed O_DIRECT / plain io_uring O_DIRECT ops/s, 4 KiB */
	UR_T_DIRECT_128K,     /* the same at 128 KiB */
	UR_T_PIPELINE,        /* pipeline / read(2) GB/s, 128 KiB */
	UR_NTARGETS
};

/* One target as judged: the ratio, its goal, and what was measured (or why not). */
struct ur_target {
	const char *key;      /* JSON key of the ratio ("fixed_vs_uring_4k") */
	double goal;          /* the ratio asked for (at least) */
	double value;         /* the median of the per-pass ratios; < 0: not measured */
	double lo, hi;        /* the lowest and highest per-pass ratio */
	int npasses;
	char what[96];        /* "fixed reads / plain io_uring reads, 4 KiB ops/s" */
	char why[240];        /* when not measured: why */
};

/* Option names ("fixed-direct") and table labels ("fixed read O_DIRECT"). */
extern const char *const ur_method_names[UR_NMETHODS];
extern const char *const ur_method_desc[UR_NMETHODS];

struct ur_config {
	const char *dir;        /* where to create the file */
	const char *file;       /* a file of the user's instead (not verified, not removed) */
	const char *json;       /* --json FILE, "-" for standard output; NULL: none */
	uint64_t size;          /* bytes of the created file */
	size_t blocks[UR_MAX_BLOCKS];
	int nblocks;
	unsigned methods;       /* 1 << enum ur_method */
	unsigned depth;         /* io_uring requests in flight, page-cache rows */
	unsigned direct_depth;  /* io_uring requests in flight, O_DIRECT rows (as asked) */
	unsigned direct_used;   /* ... as run: lowered to fit RLIMIT_MEMLOCK, see memlock_note */
	char memlock_note[200]; /* why direct_used < direct_depth; empty when it is not */
	int passes;
	double max_s;           /* one pass of one method stops after this long */
	size_t pipe_block;      /* pipeline: bytes per slot */
	unsigned pipe_slots;
	int pipeline;           /* 0: --no-pipeline */
	int cpu[2];             /* pipeline: producer's and consumer's CPU; -1: not pinned */
	cpu_set_t affinity;     /* the process's own, restored after the pipeline */
	int quick, keep, quiet, allow_tmpfs;
};

/* One method at one block size. */
struct ur_cell {
	int ok;                 /* 0: could not run (why says so) */
	char why[160];
	int npasses;
	double ops_s[UR_MAX_PASSES], gb_s[UR_MAX_PASSES];
	double cpu_us[UR_MAX_PASSES]; /* CPU time (user + system) of the process per operation */
	double med_ops, med_gb, med_cpu_us; /* medians over the passes */
};

struct ur_pipeline {
	int ok;
	char why[200];
	int npasses;
	double ops_s[UR_MAX_PASSES], gb_s[UR_MAX_PASSES];
	double ref_gb_s[UR_MAX_PASSES]; /* read(2) at the pipeline's block, just before each pass */
	double med_ops, med_gb, med_ref_gb;
	uint64_t pages_checked; /* by the consumer, over all passes */
};

/* Everything the report shows. */
struct ur_report {
	const struct ur_config *c;
	char path[4096], fs[32], cpu[256], kernel[128];
	uint64_t size;                                /* bytes of the file read */
	double cached;                                /* fraction in the page cache */
	double load_start[3], load_end[3];            /* /proc/loadavg */
	int verified;                                 /* the consumer checked the pattern */
	struct ur_cell cells[UR_MAX_BLOCKS][UR_NMETHODS];
	struct ur_pipeline pipe;
	struct ur_target targets[UR_NTARGETS];        /* filled by ur_judge() */
	double fixed_vs_read_4k;                      /* issue 4's ratio, still shown; < 0: none */
	unsigned features;                            /* MV_URING_FEATURE_* */
	double elapsed;                               /* seconds, the whole run */
};

/* What one pass of one method did. */
struct ur_pass {
	uint64_t bytes, ops;
	double secs;
	double cpu_s;           /* CPU time of the process (user + system, its io_uring workers too) */
};

/* One read(2) pass of @bs-byte blocks over @size bytes of @fd, at most @max_s (uring.c). */
typedef int ur_read_pass_fn(int fd, size_t bs, uint64_t size, double max_s, struct ur_pass *p);

struct io_uring;
struct mv_uring;

/*
 * uring_pipeline.c: c->passes passes of the pipeline through slots @first.. of @t, reading @fd
 * (@size bytes; @verify: the consumer checks the pattern), in a segment it creates as @name and
 * unlinks before it returns (the caller unlinks @name if the run is interrupted). Before each
 * pass, @read_pass measures read(2) at the pipeline's block size: the pipeline's baseline, taken
 * next to it in time. Fills @out (out->ok 0 and out->why when it could not run); leaves the
 * slots empty and their tags reaped.
 */
void ur_run_pipeline(const struct ur_config *c, struct io_uring *ring, struct mv_uring *t,
		     unsigned first, int fd, uint64_t size, int verify, const char *name,
		     ur_read_pass_fn *read_pass, struct ur_pipeline *out);

/* uring_report.c: a progress line on stderr (unless --quiet). */
void ur_progress(const struct ur_config *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The 1-, 5- and 15-minute load averages (-1 when unknown). */
void ur_loadavg(double la[3]);
/* The medians of every cell and of the pipeline, the targets (r->targets), issue 4's ratio. */
void ur_judge(struct ur_report *r);
/* The table, the pipeline line and the targets, on standard output. */
void ur_print_report(const struct ur_report *r);
/* The JSON document, ending with its "summary" object. */
void ur_write_json(const struct ur_report *r, FILE *f);

#endif
