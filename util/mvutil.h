/*
 * util/mvutil.h - small helpers the programs around the library share, so that each is written
 * once: a monotonic clock, the CPU's model name and pinning to a CPU, medians, reading or
 * writing a whole buffer, and names of byte counts.
 *
 * Who may use it: tools/, bench/ and tests/. Not the library: lib/ depends on nothing of the
 * tree but include/, and keeps what it needs itself (lib/chan.c has its own clock). util/
 * includes nothing from tools/, bench/ or tests/, so the folders depend one way:
 * lib <- util <- {tools, bench, tests}. The command-line conventions of the programs are in
 * util/cli.h.
 *
 * Built as util/libmvutil.la, a convenience library that is never installed. Nothing here
 * prints or exits: each function says how it fails, and the caller decides what that means.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_UTIL_MVUTIL_H
#define MEMVIEW_UTIL_MVUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ------------------------------------------------------------------ time */

/*
 * mvu_clock_ns - @clock (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID, ...) in nanoseconds.
 * mvu_now_ns, mvu_now_s - CLOCK_MONOTONIC in nanoseconds and in seconds.
 *
 * Inline: benchmarks take these stamps around what they measure, and a call into another
 * object file would add to what is measured.
 */
static inline int64_t mvu_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t mvu_now_ns(void)
{
	return mvu_clock_ns(CLOCK_MONOTONIC);
}

static inline double mvu_now_s(void)
{
	return (double)mvu_now_ns() / 1e9;
}

/* ------------------------------------------------------------------ cpu.c */

/*
 * mvu_cpu_model - the "model name" of /proc/cpuinfo ("AMD EPYC 7B13") into @buf, or "unknown"
 * (kernels of some architectures print none).
 */
void mvu_cpu_model(char *buf, size_t cap);

/*
 * mvu_pin_cpu - run the calling thread on CPU @cpu only. Returns 0, or a negative errno: -EINVAL
 * for a CPU this process may not use (or one that does not exist).
 */
int mvu_pin_cpu(int cpu);

/* mvu_last_cpu - the highest-numbered CPU this process may run on, or -1. */
int mvu_last_cpu(void);

/* ------------------------------------------------------------------ stats.c */

/* mvu_sort_doubles - sort @n values in place, ascending. */
void mvu_sort_doubles(double *v, size_t n);

/*
 * mvu_median - the median of @n values (the mean of the middle two when @n is even), 0 when @n is
 * 0. @v is left as it is: a sorted copy is made, on the stack for up to 256 values (so a
 * benchmark that counts allocations sees none), else with malloc (NaN if that fails).
 */
double mvu_median(const double *v, size_t n);

/* ------------------------------------------------------------------ fdio.c */

/*
 * mvu_read_full - read @len bytes from @fd into @buf, through short reads and EINTR. Returns the
 * bytes read: @len, or fewer at end of file; -1 with errno set when a read fails.
 */
ssize_t mvu_read_full(int fd, void *buf, size_t len);

/*
 * mvu_write_full - write all @len bytes of @buf to @fd, through short writes and EINTR. Returns 0,
 * or -1 with errno set when a write fails (EIO when write(2) wrote nothing and said nothing).
 */
int mvu_write_full(int fd, const void *buf, size_t len);

/* ------------------------------------------------------------------ size.c */

/*
 * mvu_size_name - @size in the largest binary unit that divides it exactly, up to TiB: "64 B",
 * "1000 B", "16 KiB", "1536 KiB", "64 MiB". Writes into @buf (32 bytes are always enough) and
 * returns it.
 */
const char *mvu_size_name(char *buf, size_t cap, uint64_t size);

#endif /* MEMVIEW_UTIL_MVUTIL_H */
