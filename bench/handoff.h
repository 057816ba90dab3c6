/*
 * bench/handoff.h - the handoff benchmark behind "mvbench handoff": how long it takes to hand a
 * message from one process to another, pinned to two named CPUs, by a memview channel (spinning
 * and sleeping), a pipe, a unix stream socket and shared memory with memcpy, against the floor
 * of the machine (one cache line bouncing between the two CPUs) and a bare futex round trip.
 *
 * handoff.c measures (ho_run); handoff_report.c shows the results (table, JSON, CSV, SVG) and
 * judges them against the targets.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_BENCH_HANDOFF_H
#define MEMVIEW_BENCH_HANDOFF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The methods that carry a payload, in report order; then the two references. */
enum ho_method {
	HO_SPIN,        /* memview channel, MV_CHAN_SPIN */
	HO_SLEEP,       /* memview channel, default flags (spins briefly, then sleeps on a futex) */
	HO_PIPE,        /* pipe(2), capacity raised to /proc/sys/fs/pipe-max-size */
	HO_UNIX,        /* socketpair(AF_UNIX, SOCK_STREAM) */
	HO_SHM,         /* shared ring of buffers: memcpy in, memcpy out; both spin */
	HO_ZMQ,         /* ZeroMQ PAIR sockets over ipc://, zero-copy send (only with HAVE_ZMQ) */
	HO_NMETHODS,
	HO_FLOOR = HO_NMETHODS, /* one cache line bouncing between the two CPUs */
	HO_FUTEX,       /* two processes waking each other on one futex word */
	HO_NALL
};

#define HO_PAYLOAD_UNTOUCHED 0x1u
#define HO_PAYLOAD_TOUCHED 0x2u

struct ho_config {
	int cpu[2];             /* CPU of the sender (A) and of the receiver (B) */
	const size_t *sizes;    /* message sizes in bytes */
	int nsizes;
	unsigned methods;       /* 1 << enum ho_method, payload methods only */
	unsigned payloads;      /* HO_PAYLOAD_* */
	long max_iters;         /* at most this many measured round trips per measurement */
	double lat_s;           /* and at most this long (at least HO_MIN_SAMPLES round trips) */
	double stream_s;        /* streaming time per throughput measurement */
	double gap_us;          /* sleep and futex: each side idles this long before it answers */
	unsigned nslots;        /* channel and shm ring slots */
	int fill;               /* the sender writes every byte of each message before sending */
	int pong_store;         /* spin answers as shm-memcpy does: one store, not a message */
	int ring_readonly;      /* shm-memcpy: each side maps what the other writes readonly */
	int retries;            /* measure a preempted cell again, at most this many times */
	int progress;           /* one line on stderr per measurement */
};

#define HO_MIN_SAMPLES 5

/* The message size the ring comparisons are made at (issue 13: 64 B). */
#define HO_SMALL 64

/*
 * A measurement (with its floor) during which the two processes were preempted more than
 * HO_PREEMPT_OK times in all, or waited for a CPU for longer than HO_RUNQ_OK of the time, is
 * made again, up to ho_config.retries times; the least disturbed try stays.
 */
#define HO_PREEMPT_OK 2
#define HO_RUNQ_OK 0.05 /* nor waited on a run queue for more than 5% of the time */

/* Statistics of one-way times (or round trips) in nanoseconds. */
struct ho_stats {
	long n;
	double min, mean, p50, p90, p99, p999, max;
};

/* One method, one size, one payload mode. */
struct ho_cell {
	int method;
	size_t size;
	int touched;
	struct ho_stats floor;  /* the floor (one-way), measured just before this cell */
	struct ho_stats futex;  /* sleep: the futex (one-way), measured just before this cell */
	struct ho_stats lat;    /* one-way latency: (round trip - deliberate gap) / 2 */
	double sleeps_per_rt;   /* voluntary context switches per round trip, both processes */
	long preempts;          /* involuntary context switches: other work took a CPU (zmq: or
				   its own I/O thread, which shares the CPU) */
	double runq;            /* share of the time the two spent runnable, waiting for a CPU */
	long ref_preempts;      /* of those, while the floor (and futex) were measured */
	double ref_runq;
	int attempts;           /* tries: measured again when preempted (retries) */
	uint64_t msgs;          /* streamed one way */
	double stream_s;
	double msgs_per_s;
	double gb_per_s;        /* 1e9 bytes per second */
	double sleeps_per_msg;
};

struct ho_results {
	struct ho_stats floor_rt, floor;        /* round trip and one-way */
	struct ho_stats futex_rt, futex;
	double floor_sleeps, futex_sleeps;      /* voluntary context switches per round trip */
	long floor_preempts, futex_preempts;
	double floor_runq, futex_runq;
	struct ho_cell *cells;
	int ncells;
	/*
	 * shm-memcpy at HO_SMALL, untouched, with each side mapping readonly what the other
	 * writes, as a channel's memory is shared (--ring readonly): measured after the cells when
	 * the run has spin and shm-memcpy there and the ring was writable; has_ring_ro says so.
	 */
	struct ho_cell ring_ro;
	int has_ring_ro;
	const char *timer;                      /* "tsc" or "clock_gettime" */
	double timer_ns;                        /* cost of one time stamp */
	double load_before, load_after;         /* 1-minute load average */
	double elapsed_s;
	size_t pipe_capacity;
	char cpu_model[128];
	char kernel[200];
	char started[32];                       /* UTC, ISO 8601 */
	char zmq_version[32];                   /* libzmq's, when zmq was measured; else "" */
};

const char *ho_method_name(int method);

/*
 * The method named @name ("spin", "sleep", "pipe", "unix", "shm-memcpy", "zmq"), or -1. It
 * knows "zmq" whether or not this build can measure it: see ho_methods_built().
 */
int ho_method_parse(const char *name);

/* The methods this build can measure (1 << enum ho_method): all but zmq without libzmq. */
unsigned ho_methods_built(void);

/* The payload methods, comma-separated, as a user names them: those this build can measure. */
const char *ho_methods_list(void);

/*
 * ho_run - measure everything @cfg asks for into @res (whose cells the caller frees with
 * ho_results_free). Returns 0, or -1 with a message in @err.
 */
int ho_run(const struct ho_config *cfg, struct ho_results *res, char *err, size_t errcap);
void ho_results_free(struct ho_results *res);

/* The cell for (@method, @size, @touched), or NULL. */
const struct ho_cell *ho_find(const struct ho_results *res, int method, size_t size, int touched);

/* @cell's p50 as a multiple of the floor measured with it (or of the run's first floor). */
double ho_x_floor(const struct ho_results *res, const struct ho_cell *cell, double ns);

/* The lowest and highest floor p50 of the run (the host may move virtual CPUs). */
void ho_floor_range(const struct ho_results *res, double *lo, double *hi);

/* ------------------------------------------------------------------ handoff_report.c */

enum { HO_TARGET_NA = -1, HO_TARGET_MISSED = 0, HO_TARGET_MET = 1 };

struct ho_target {
	const char *key;        /* JSON key */
	const char *goal;       /* what is asked */
	int status;             /* HO_TARGET_* */
	double value;           /* the ratio (or worst ratio) judged; NAN when not measured */
	char detail[400];       /* what was measured */
};

#define HO_NTARGETS 6

void ho_targets(const struct ho_config *cfg, const struct ho_results *res,
		struct ho_target out[HO_NTARGETS]);

void ho_print_table(FILE *out, const struct ho_config *cfg, const struct ho_results *res);

/* Each returns 0, or -1 with errno set. */
int ho_write_json(const char *path, const struct ho_config *cfg, const struct ho_results *res);
int ho_write_csv(const char *path, const struct ho_config *cfg, const struct ho_results *res);
int ho_write_svg(const char *path, const struct ho_config *cfg, const struct ho_results *res);

#endif /* MEMVIEW_BENCH_HANDOFF_H */
