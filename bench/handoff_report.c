/*
 * bench/handoff_report.c - what "mvbench handoff" shows: the table, the targets, and the JSON,
 * CSV and SVG files. Reads a struct ho_results (handoff.c) and measures nothing.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/cli.h"
#include "../util/mvutil.h"
#include "handoff.h"

/* A time in nanoseconds with a unit that keeps three or four digits: "62 ns", "12.3 us". */
static const char *fmt_ns(char *buf, size_t cap, double ns)
{
	if (!(ns >= 0))
		snprintf(buf, cap, "-");
	else if (ns < 10000)
		snprintf(buf, cap, "%.0f ns", ns);
	else if (ns < 1e7)
		snprintf(buf, cap, "%.*f us", ns < 1e5 ? 1 : 0, ns / 1e3);
	else if (ns < 1e10)
		snprintf(buf, cap, "%.*f ms", ns < 1e8 ? 1 : 0, ns / 1e6);
	else
		snprintf(buf, cap, "%.1f s", ns / 1e9);
	return buf;
}

static const char *fmt_ratio(char *buf, size_t cap, double x)
{
	if (!(x > 0))
		snprintf(buf, cap, "-");
	else if (x < 10)
		snprintf(buf, cap, "%.2fx", x);
	else if (x < 100000)
		snprintf(buf, cap, "%.0fx", x);
	else
		snprintf(buf, cap, "%.2gx", x);
	return buf;
}

static const char *fmt_rate(char *buf, size_t cap, double x)
{
	if (!(x > 0))
		snprintf(buf, cap, "-");
	else if (x >= 1e6)
		snprintf(buf, cap, "%.2f M", x / 1e6);
	else if (x >= 1e3)
		snprintf(buf, cap, "%.2f k", x / 1e3);
	else
		snprintf(buf, cap, "%.1f", x);
	return buf;
}

/* ------------------------------------------------------------------ targets */

static size_t smallest(const struct ho_config *cfg)
{
	size_t s = (size_t)-1;
	int i;

	for (i = 0; i < cfg->nsizes; i++)
		if (cfg->sizes[i] < s)
			s = cfg->sizes[i];
	return s;
}

static size_t largest(const struct ho_config *cfg)
{
	size_t s = 0;
	int i;

	for (i = 0; i < cfg->nsizes; i++)
		if (cfg->sizes[i] > s)
			s = cfg->sizes[i];
	return s;
}

/* The cell of @method, untouched, at the smallest size: the small-message throughput. */
static const struct ho_cell *spsc_cell(const struct ho_config *cfg, const struct ho_results *res)
{
	return ho_find(res, HO_SPIN, smallest(cfg), 0);
}


/*
 * @a's p50 over @b's, two rows of one run. When the floor measured with each differs by more
 * than 10% the host moved the virtual CPUs between them, and the rows compare through their
 * floors (*@moved says so).
 */
static double p50_ratio(const struct ho_results *res, const struct ho_cell *a,
			const struct ho_cell *b, int *moved)
{
	double fa, fb;

	*moved = 0;
	if (!(a->lat.p50 > 0) || !(b->lat.p50 > 0))
		return NAN;
	if (a->floor.p50 > 0 && b->floor.p50 > 0 &&
	    fmax(a->floor.p50, b->floor.p50) > 1.1 * fmin(a->floor.p50, b->floor.p50)) {
		fa = ho_x_floor(res, a, a->lat.p50);
		fb = ho_x_floor(res, b, b->lat.p50);
		if (fa > 0 && fb > 0) {
			*moved = 1;
			return fa / fb;
		}
	}
	return a->lat.p50 / b->lat.p50;
}

/*
 * Worst ratio of @method's untouched p50 (or, with @p99, p99) to its reference over all sizes:
 * the floor (or, with @futex, the futex) measured just before each cell, else the run's. *@at,
 * *@val and *@base say where, what and against what.
 */
static double worst_ratio(const struct ho_config *cfg, const struct ho_results *res, int method,
			  int futex, int p99, size_t *at, double *val, double *base)
{
	const struct ho_cell *c;
	const struct ho_stats *ref;
	double worst = -1, b, v;
	int i;

	for (i = 0; i < cfg->nsizes; i++) {
		c = ho_find(res, method, cfg->sizes[i], 0);
		if (!c)
			continue;
		if (futex)
			ref = c->futex.p50 > 0 ? &c->futex : &res->futex;
		else
			ref = c->floor.p50 > 0 ? &c->floor : &res->floor;
		b = p99 ? ref->p99 : ref->p50;
		v = p99 ? c->lat.p99 : c->lat.p50;
		if (!(b > 0))
			continue;
		if (v / b > worst) {
			worst = v / b;
			*at = c->size;
			*val = v;
			*base = b;
		}
	}
	return worst;
}

/*
 * Spin at HO_SMALL against the ring with readonly readers (shm-ro, measured when the run has
 * both rows): *@lat the p50 ratio (through the floors when they moved: *@moved), *@rate the
 * msgs/s ratio, each NAN when not measured. Returns whether shm-ro was measured.
 */
static int vs_readonly_ring(const struct ho_results *res, double *lat, double *rate, int *moved)
{
	const struct ho_cell *a = ho_find(res, HO_SPIN, HO_SMALL, 0);

	*lat = *rate = NAN;
	*moved = 0;
	if (!res->has_ring_ro || !a)
		return 0;
	*lat = p50_ratio(res, a, &res->ring_ro, moved);
	if (a->msgs && res->ring_ro.msgs_per_s > 0)
		*rate = a->msgs_per_s / res->ring_ro.msgs_per_s;
	return 1;
}

/* Append to a target's detail. */
static void add_detail(struct ho_target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_detail(struct ho_target *t, const char *fmt, ...)
{
	size_t n = strlen(t->detail);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->detail + n, sizeof(t->detail) - n, fmt, ap);
	va_end(ap);
}

void ho_targets(const struct ho_config *cfg, const struct ho_results *res,
		struct ho_target out[HO_NTARGETS])
{
	const struct ho_cell *a, *b;
	char s1[32], s2[32], t1[32], t2[32], t3[32], t4[32];
	size_t at = 0;
	double x, y, val = 0, base = 0;
	int i, moved;

	memset(out, 0, HO_NTARGETS * sizeof(*out));
	for (i = 0; i < HO_NTARGETS; i++) {
		out[i].status = HO_TARGET_NA;
		out[i].value = NAN;
		snprintf(out[i].detail, sizeof(out[i].detail), "not measured");
	}

	out[0].key = "spin_within_2x_floor";
	out[0].goal = "spinning handoff, untouched: p50 one-way within 2x of the floor at every "
		      "size";
	x = worst_ratio(cfg, res, HO_SPIN, 0, 0, &at, &val, &base);
	if (x > 0) {
		out[0].status = x <= 2 ? HO_TARGET_MET : HO_TARGET_MISSED;
		out[0].value = x;
		snprintf(out[0].detail, sizeof(out[0].detail),
			 "worst %.2fx at %s (%s; floor measured with it %s)", x,
			 mvu_size_name(s1, sizeof(s1), at), fmt_ns(t1, sizeof(t1), val),
			 fmt_ns(t2, sizeof(t2), base));
	}

	out[1].key = "spin_vs_ring_64";
	out[1].goal = "spinning handoff at 64 B, untouched: p50 one-way within 1.5x of the "
		      "shm-memcpy ring's (same run)";
	a = ho_find(res, HO_SPIN, HO_SMALL, 0);
	b = ho_find(res, HO_SHM, HO_SMALL, 0);
	if (a && b && (x = p50_ratio(res, a, b, &moved)) > 0) {
		out[1].status = x <= 1.5 ? HO_TARGET_MET : HO_TARGET_MISSED;
		out[1].value = x;
		snprintf(out[1].detail, sizeof(out[1].detail), "%.2fx%s (spin %s; %sring %s)", x,
			 moved ? " in multiples of each row's floor, which moved" : "",
			 fmt_ns(t1, sizeof(t1), a->lat.p50), cfg->ring_readonly ? "readonly " : "",
			 fmt_ns(t2, sizeof(t2), b->lat.p50));
		if (vs_readonly_ring(res, &x, &y, &moved) && x > 0)
			add_detail(&out[1], "; against shm-ro, the ring with readonly readers as a "
				   "channel has, %.2fx%s (%s)", x, moved ? " in floors" : "",
				   fmt_ns(t3, sizeof(t3), res->ring_ro.lat.p50));
	}

	out[2].key = "spin_flat";
	out[2].goal = "spinning handoff, untouched: flat: p50 at the largest size within 1.2x "
		      "of the smallest (64 MiB and 64 B by default)";
	a = ho_find(res, HO_SPIN, smallest(cfg), 0);
	b = ho_find(res, HO_SPIN, largest(cfg), 0);
	if (a && b && a != b && (x = p50_ratio(res, b, a, &moved)) > 0) {
		out[2].status = x <= 1.2 ? HO_TARGET_MET : HO_TARGET_MISSED;
		out[2].value = x;
		snprintf(out[2].detail, sizeof(out[2].detail), "%.2fx%s (%s: %s; %s: %s)", x,
			 moved ? " in multiples of each row's floor, which moved" : "",
			 mvu_size_name(s1, sizeof(s1), b->size), fmt_ns(t1, sizeof(t1), b->lat.p50),
			 mvu_size_name(s2, sizeof(s2), a->size),
			 fmt_ns(t2, sizeof(t2), a->lat.p50));
	}

	out[3].key = "spin_vs_pipe_1MiB";
	out[3].goal = "spinning handoff at 1 MiB, untouched: p50 at least 1000x lower than a pipe";
	a = ho_find(res, HO_SPIN, 1048576, 0);
	b = ho_find(res, HO_PIPE, 1048576, 0);
	if (a && b && a->lat.p50 > 0) {
		x = b->lat.p50 / a->lat.p50;
		out[3].status = x >= 1000 ? HO_TARGET_MET : HO_TARGET_MISSED;
		out[3].value = x;
		snprintf(out[3].detail, sizeof(out[3].detail), "%.0fx (pipe %s; spin %s)", x,
			 fmt_ns(t1, sizeof(t1), b->lat.p50), fmt_ns(t2, sizeof(t2), a->lat.p50));
	}

	out[4].key = "spsc_vs_ring";
	out[4].goal = "SPSC throughput at 64 B, untouched: the spinning channel streams at least "
		      "0.8x the shm-memcpy ring's msgs/s (same run)";
	a = ho_find(res, HO_SPIN, HO_SMALL, 0);
	b = ho_find(res, HO_SHM, HO_SMALL, 0);
	if (a && b && a->msgs && b->msgs && b->msgs_per_s > 0) {
		x = a->msgs_per_s / b->msgs_per_s;
		out[4].status = x >= 0.8 ? HO_TARGET_MET : HO_TARGET_MISSED;
		out[4].value = x;
		snprintf(out[4].detail, sizeof(out[4].detail), "%.2fx (spin %s msgs/s; ring %s "
			 "msgs/s)", x, fmt_rate(t1, sizeof(t1), a->msgs_per_s),
			 fmt_rate(t2, sizeof(t2), b->msgs_per_s));
		/* A rate does not scale with the floor: say that the two rows' floors differ. */
		p50_ratio(res, a, b, &moved);
		if (moved) {
			i = (int)strlen(out[4].detail);
			snprintf(out[4].detail + i, sizeof(out[4].detail) - (size_t)i,
				 "; the floor moved between them (spin's %s, ring's %s)",
				 fmt_ns(t3, sizeof(t3), a->floor.p50),
				 fmt_ns(t4, sizeof(t4), b->floor.p50));
		}
		if (vs_readonly_ring(res, &x, &y, &moved) && y > 0)
			add_detail(&out[4], "; against shm-ro %.2fx (%s msgs/s)", y,
				   fmt_rate(t3, sizeof(t3), res->ring_ro.msgs_per_s));
	}

	out[5].key = "sleep_within_1.5x_futex";
	out[5].goal = "sleeping handoff, untouched: p50 round trip within 1.5x of a bare futex "
		      "wake round trip, at every size (its p99 against the futex's p99 shown)";
	x = worst_ratio(cfg, res, HO_SLEEP, 1, 0, &at, &val, &base);
	if (x > 0) {
		out[5].status = x <= 1.5 ? HO_TARGET_MET : HO_TARGET_MISSED;
		out[5].value = x;
		snprintf(out[5].detail, sizeof(out[5].detail),
			 "worst %.2fx at %s (round trip %s; futex measured with it %s)", x,
			 mvu_size_name(s1, sizeof(s1), at), fmt_ns(t1, sizeof(t1), 2 * val),
			 fmt_ns(t3, sizeof(t3), 2 * base));
		y = worst_ratio(cfg, res, HO_SLEEP, 1, 1, &at, &val, &base);
		if (y > 0) {
			i = (int)strlen(out[5].detail);
			snprintf(out[5].detail + i, sizeof(out[5].detail) - (size_t)i,
				 "; p99: worst %.2fx at %s (round trip p99 %s; futex p99 %s)", y,
				 mvu_size_name(s2, sizeof(s2), at),
				 fmt_ns(t2, sizeof(t2), 2 * val), fmt_ns(t4, sizeof(t4), 2 * base));
		}
	}
}

/*
 * memview against ZeroMQ at @size, untouched: @method's p50 over ZeroMQ's (*@lat) and its
 * msgs/s over ZeroMQ's (*@rate); NAN where a row is missing. Returns ZeroMQ's row, or NULL.
 */
static const struct ho_cell *vs_zmq(const struct ho_results *res, int method, size_t size,
				    double *lat, double *rate)
{
	const struct ho_cell *m = ho_find(res, method, size, 0), *z = ho_find(res, HO_ZMQ, size, 0);

	*lat = *rate = NAN;
	if (!m || !z)
		return NULL;
	if (m->lat.p50 > 0 && z->lat.p50 > 0)
		*lat = m->lat.p50 / z->lat.p50;
	if (m->msgs && z->msgs && z->msgs_per_s > 0)
		*rate = m->msgs_per_s / z->msgs_per_s;
	return z;
}

static const char *target_word(int status)
{
	return status == HO_TARGET_MET ? "met" : status == HO_TARGET_MISSED ? "missed" : "n/a";
}

/* ------------------------------------------------------------------ table */

static void print_ref(FILE *o, const char *name, const struct ho_stats *ow,
		      const struct ho_stats *rt, double sleeps, long preempts, double runq)
{
	char a[32], b[32], c[32], d[32], e[32];

	fprintf(o, "%-28s one-way p50 %s  p99 %s  p99.9 %s  max %s\n%28s (round trip p50 %s; "
		"n %ld; %.2f sleeps/rt; preempted %ld; runq %.1f%%)\n", name,
		fmt_ns(a, sizeof(a), ow->p50), fmt_ns(b, sizeof(b), ow->p99),
		fmt_ns(c, sizeof(c), ow->p999), fmt_ns(d, sizeof(d), ow->max), "",
		fmt_ns(e, sizeof(e), rt->p50), ow->n, sleeps, preempts, 100 * runq);
}

/* One row of the table, named @name. */
static void print_row(FILE *o, const struct ho_results *res, const struct ho_cell *cell,
		      const char *name)
{
	char s[32], a[32], b[32], c[32], d[32], e[32], f[32];

	fprintf(o, "%-10s %7s %-9s %9s %9s %9s %9s %9s %8.2f %7ld %4.0f%% %10s %9.3f\n", name,
		mvu_size_name(s, sizeof(s), cell->size), cell->touched ? "touched" : "untouched",
		fmt_ns(a, sizeof(a), cell->lat.p50), fmt_ns(b, sizeof(b), cell->lat.p99),
		fmt_ns(c, sizeof(c), cell->lat.p999), fmt_ns(d, sizeof(d), cell->lat.max),
		fmt_ratio(e, sizeof(e), ho_x_floor(res, cell, cell->lat.p50)), cell->sleeps_per_rt,
		cell->preempts, 100 * cell->runq, fmt_rate(f, sizeof(f), cell->msgs_per_s),
		cell->gb_per_s);
}

void ho_print_table(FILE *o, const struct ho_config *cfg, const struct ho_results *res)
{
	struct ho_target tg[HO_NTARGETS];
	char s[32], a[32], b[32], c[32], d[32], e[32], f[32];
	const struct ho_cell *cell;
	double lo, hi;
	int i, first;

	fprintf(o, "mvbench handoff: sender pinned to CPU %d, receiver to CPU %d\n", cfg->cpu[0],
		cfg->cpu[1]);
	fprintf(o, "machine: %s; %s\n", res->cpu_model, res->kernel);
	fprintf(o, "load average: %.2f before, %.2f after; %s; %.1f s\n", res->load_before,
		res->load_after, res->started, res->elapsed_s);
	fprintf(o, "timer: %s (a stamp costs %.0f ns); %u slots; sleep/futex gap %.0f us; "
		"pipe capacity %s%s\n", res->timer, res->timer_ns, cfg->nslots, cfg->gap_us,
		res->pipe_capacity ? mvu_size_name(s, sizeof(s), res->pipe_capacity) : "-",
		cfg->fill ? "; the sender fills every message" : "");
	if (cfg->pong_store)
		fprintf(o, "pong: spin answers with one store, as shm-memcpy does (--pong store)\n");
	if (cfg->ring_readonly)
		fprintf(o, "ring: shm-memcpy's reader maps the ring readonly, as a channel's consumer "
			"does (--ring readonly)\n");
	if (res->zmq_version[0])
		fprintf(o, "zmq: ZeroMQ %s, PAIR sockets over ipc://, zero-copy sends "
			"(zmq_msg_init_data)\n", res->zmq_version);
	fputc('\n', o);
	print_ref(o, "floor (cache-line ping-pong)", &res->floor, &res->floor_rt,
		  res->floor_sleeps, res->floor_preempts, res->floor_runq);
	print_ref(o, "futex wake round trip", &res->futex, &res->futex_rt, res->futex_sleeps,
		  res->futex_preempts, res->futex_runq);
	fputc('\n', o);
	fprintf(o, "%-10s %7s %-9s %9s %9s %9s %9s %9s %8s %7s %5s %10s %9s\n", "method",
		"size", "payload", "p50", "p99", "p99.9", "max", "p50/floor", "sleep/rt", "preempt",
		"runq", "msgs/s", "GB/s");
	for (i = 0; i < res->ncells; i++)
		print_row(o, res, &res->cells[i], ho_method_name(res->cells[i].method));
	if (res->has_ring_ro)
		print_row(o, res, &res->ring_ro, "shm-ro");
	fprintf(o, "\nLatency is one-way (round trip / 2) over n round trips after a warm-up; "
		"throughput streams\nmessages one way. p50/floor: against the floor measured just "
		"before the row.\nsleep/rt: voluntary context switches per round trip, both "
		"processes; preempt: involuntary\nones while measuring the row and its floor: "
		"other work took a CPU; runq: share of the time\nthey were runnable but waited "
		"for a CPU (a late wake-up).\n");
	if (res->has_ring_ro)
		fprintf(o, "shm-ro: shm-memcpy with each side mapping readonly what the other "
			"writes, as a channel's\nmemory is shared (--ring readonly): the targets "
			"below name it beside the ring.\n");
	if (cfg->retries)
		fprintf(o, "Rows preempted more than %d times or waiting over %.0f%% were measured "
			"again, up to %d more\ntimes; the least disturbed try is shown.\n",
			HO_PREEMPT_OK, 100 * HO_RUNQ_OK, cfg->retries);
	if (res->zmq_version[0])
		fprintf(o, "zmq: ZeroMQ's I/O thread shares each process's CPU, so preempt and "
			"runq also count the\nprocess's own threads taking turns; zmq rows are "
			"judged (and measured again) by their floor.\n");
	ho_floor_range(res, &lo, &hi);
	if (lo > 0 && hi > 1.25 * lo)
		fprintf(o, "\nnote: the floor moved between %s and %s during the run: the two "
			"CPUs were not always\nthe same two cores (a virtual machine's host moves "
			"them); compare rows through p50/floor\n", fmt_ns(a, sizeof(a), lo),
			fmt_ns(b, sizeof(b), hi));
	first = 1;
	for (i = 0; i < cfg->nsizes; i++) {
		double lat, rate;
		const struct ho_cell *z = vs_zmq(res, HO_SPIN, cfg->sizes[i], &lat, &rate);

		if (!z || !(lat > 0))
			continue;
		if (first)
			fprintf(o, "\nmemview (spin) / ZeroMQ, untouched (below 1: memview is "
				"faster; msgs/s: above 1):\n");
		first = 0;
		cell = ho_find(res, HO_SPIN, cfg->sizes[i], 0);
		snprintf(a, sizeof(a), "%.3gx", lat);
		fprintf(o, "  %7s  p50 %-8s (%s / %s)", mvu_size_name(s, sizeof(s), cfg->sizes[i]),
			a, fmt_ns(b, sizeof(b), cell->lat.p50), fmt_ns(c, sizeof(c), z->lat.p50));
		if (rate > 0)
			fprintf(o, "  msgs/s %s (%s / %s)", fmt_ratio(d, sizeof(d), rate),
				fmt_rate(e, sizeof(e), cell->msgs_per_s),
				fmt_rate(f, sizeof(f), z->msgs_per_s));
		fputc('\n', o);
	}
	ho_targets(cfg, res, tg);
	fprintf(o, "\nTargets:\n");
	for (i = 0; i < HO_NTARGETS; i++)
		fprintf(o, "  %-7s %s\n          %s\n", target_word(tg[i].status), tg[i].goal,
			tg[i].detail);
	if (res->load_before > 1 || res->load_after > 1)
		fprintf(o, "\nnote: the load average was above 1: other work ran on the machine; "
			"rows with a high\npreempt count measured it too\n");
}

/* ------------------------------------------------------------------ JSON */

static void json_num(FILE *f, double x)
{
	if (isfinite(x))
		fprintf(f, "%.6g", x);
	else
		fputs("null", f);
}

static void json_stats(FILE *f, const struct ho_stats *s, double scale)
{
	fprintf(f, "{\"n\": %ld, \"min\": ", s->n);
	json_num(f, s->min * scale);
	fputs(", \"mean\": ", f);
	json_num(f, s->mean * scale);
	fputs(", \"p50\": ", f);
	json_num(f, s->p50 * scale);
	fputs(", \"p90\": ", f);
	json_num(f, s->p90 * scale);
	fputs(", \"p99\": ", f);
	json_num(f, s->p99 * scale);
	fputs(", \"p99.9\": ", f);
	json_num(f, s->p999 * scale);
	fputs(", \"max\": ", f);
	json_num(f, s->max * scale);
	fputc('}', f);
}

static void json_ref(FILE *f, const char *name, const struct ho_stats *ow,
		     const struct ho_stats *rt, double sleeps, long preempts, double runq)
{
	fprintf(f, "  \"%s\": {\n    \"one_way_ns\": ", name);
	json_stats(f, ow, 1);
	fputs(",\n    \"round_trip_ns\": ", f);
	json_stats(f, rt, 1);
	fputs(",\n    \"sleeps_per_round_trip\": ", f);
	json_num(f, sleeps);
	fprintf(f, ",\n    \"preemptions\": %ld, \"runq_wait_fraction\": %.4f\n  },\n",
		preempts, runq);
}

/* "key": {"64": p50 (or with @p99, p99), ...} over the sizes, untouched (or touched). */
static void json_by_size(FILE *f, const char *key, const struct ho_config *cfg,
			 const struct ho_results *res, int method, int touched, int p99)
{
	const struct ho_cell *c;
	int i, first = 1;

	fprintf(f, "    \"%s\": {", key);
	for (i = 0; i < cfg->nsizes; i++) {
		c = ho_find(res, method, cfg->sizes[i], touched);
		if (!c)
			continue;
		fprintf(f, "%s\"%zu\": ", first ? "" : ", ", c->size);
		json_num(f, p99 ? c->lat.p99 : c->lat.p50);
		first = 0;
	}
	fputs("},\n", f);
}

/* "key": {"64": ratio, ...}: @method over ZeroMQ, p50 (or with @rate, msgs/s), untouched. */
static void json_vs_zmq(FILE *f, const char *key, const struct ho_config *cfg,
			const struct ho_results *res, int method, int rate)
{
	double lat, r;
	int i, first = 1;

	fprintf(f, "    \"%s\": {", key);
	for (i = 0; i < cfg->nsizes; i++) {
		if (!vs_zmq(res, method, cfg->sizes[i], &lat, &r))
			continue;
		fprintf(f, "%s\"%zu\": ", first ? "" : ", ", cfg->sizes[i]);
		json_num(f, rate ? r : lat);
		first = 0;
	}
	fputs("},\n", f);
}

/* "key": the value of the target @key, or null. */
static void json_target_value(FILE *f, const struct ho_target *tg, const char *key)
{
	int i;

	for (i = 0; i < HO_NTARGETS; i++)
		if (strcmp(tg[i].key, key) == 0)
			break;
	fprintf(f, "    \"%s\": ", key);
	json_num(f, i < HO_NTARGETS ? tg[i].value : (double)NAN);
	fputs(",\n", f);
}

/* One measurement as a JSON object (no separator after it). */
static void json_cell(FILE *f, const struct ho_results *res, const struct ho_cell *c)
{
	fprintf(f, "    {\"method\": \"%s\", \"size\": %zu, \"payload\": \"%s\",\n",
		ho_method_name(c->method), c->size, c->touched ? "touched" : "untouched");
	fputs("     \"one_way_ns\": ", f);
	json_stats(f, &c->lat, 1);
	fputs(",\n     \"one_way_x_floor\": ", f);
	json_stats(f, &c->lat, ho_x_floor(res, c, 1) > 0 ? ho_x_floor(res, c, 1) :
			       (double)NAN);
	fputs(",\n     \"floor_one_way_ns\": ", f);
	json_stats(f, &c->floor, 1);
	if (c->method == HO_SLEEP) {
		fputs(",\n     \"futex_one_way_ns\": ", f);
		json_stats(f, &c->futex, 1);
	}
	fprintf(f, ",\n     \"preemptions\": %ld, \"runq_wait_fraction\": %.4f, "
		"\"reference_preemptions\": %ld, \"reference_runq_wait_fraction\": %.4f, "
		"\"attempts\": %d", c->preempts, c->runq, c->ref_preempts, c->ref_runq,
		c->attempts);
	fputs(",\n     \"sleeps_per_round_trip\": ", f);
	json_num(f, c->sleeps_per_rt);
	fprintf(f, ",\n     \"throughput\": {\"messages\": %llu, \"seconds\": ",
		(unsigned long long)c->msgs);
	json_num(f, c->stream_s);
	fputs(", \"msgs_per_s\": ", f);
	json_num(f, c->msgs_per_s);
	fputs(", \"gb_per_s\": ", f);
	json_num(f, c->gb_per_s);
	fputs(", \"sleeps_per_message\": ", f);
	json_num(f, c->sleeps_per_msg);
	fputs("}}", f);
}

int ho_write_json(const char *path, const struct ho_config *cfg, const struct ho_results *res)
{
	struct ho_target tg[HO_NTARGETS];
	const struct ho_cell *c;
	char key[64];
	FILE *f = fopen(path, "w");
	double lo, hi;
	int i, m, first;

	if (!f)
		return -1;
	fprintf(f, "{\n  \"tool\": \"mvbench handoff\",\n  \"version\": \"%s\",\n",
		PACKAGE_VERSION);
	fprintf(f, "  \"started\": \"%s\",\n  \"elapsed_seconds\": %.3f,\n", res->started,
		res->elapsed_s);
	fputs("  \"machine\": {\"cpu_model\": ", f);
	cli_json_string(f, res->cpu_model);
	fputs(", \"kernel\": ", f);
	cli_json_string(f, res->kernel);
	fprintf(f, ", \"cpus\": [%d, %d], \"load_before\": %.2f, \"load_after\": %.2f},\n",
		cfg->cpu[0], cfg->cpu[1], res->load_before, res->load_after);
	fputs("  \"config\": {\"sizes\": [", f);
	for (i = 0; i < cfg->nsizes; i++)
		fprintf(f, "%s%zu", i ? ", " : "", cfg->sizes[i]);
	fputs("], \"methods\": [", f);
	for (m = 0, first = 1; m < HO_NMETHODS; m++) {
		if (!(cfg->methods & (1u << m)))
			continue;
		fprintf(f, "%s\"%s\"", first ? "" : ", ", ho_method_name(m));
		first = 0;
	}
	fprintf(f, "], \"untouched\": %s, \"touched\": %s, \"max_iterations\": %ld, "
		"\"latency_seconds\": %.3f, \"stream_seconds\": %.3f, \"gap_us\": %.1f, "
		"\"slots\": %u, \"fill\": %s, \"pong\": \"%s\", \"ring\": \"%s\", \"retries\": %d, "
		"\"pipe_capacity\": %zu, "
		"\"timer\": \"%s\", \"timer_ns\": %.1f, \"zmq_version\": ",
		cfg->payloads & HO_PAYLOAD_UNTOUCHED ? "true" : "false",
		cfg->payloads & HO_PAYLOAD_TOUCHED ? "true" : "false", cfg->max_iters,
		cfg->lat_s, cfg->stream_s, cfg->gap_us, cfg->nslots, cfg->fill ? "true" : "false",
		cfg->pong_store ? "store" : "method", cfg->ring_readonly ? "readonly" : "writable",
		cfg->retries, res->pipe_capacity, res->timer,
		res->timer_ns);
	if (res->zmq_version[0])
		cli_json_string(f, res->zmq_version);
	else
		fputs("null", f);
	fputs("},\n", f);
	json_ref(f, "floor", &res->floor, &res->floor_rt, res->floor_sleeps,
		 res->floor_preempts, res->floor_runq);
	json_ref(f, "futex", &res->futex, &res->futex_rt, res->futex_sleeps,
		 res->futex_preempts, res->futex_runq);

	fputs("  \"results\": [\n", f);
	for (i = 0; i < res->ncells; i++) {
		json_cell(f, res, &res->cells[i]);
		fprintf(f, "%s\n", i + 1 < res->ncells ? "," : "");
	}
	fputs("  ],\n", f);
	/* The ring shared as a channel's memory is (readonly readers): a reference, not a row. */
	if (res->has_ring_ro) {
		fputs("  \"readonly_ring\":\n", f);
		json_cell(f, res, &res->ring_ro);
		fputs(",\n", f);
	}

	fputs("  \"summary\": {\n    \"floor_one_way_ns\": ", f);
	json_num(f, res->floor.p50);
	ho_floor_range(res, &lo, &hi);
	fputs(",\n    \"floor_one_way_ns_min\": ", f);
	json_num(f, lo);
	fputs(",\n    \"floor_one_way_ns_max\": ", f);
	json_num(f, hi);
	fputs(",\n    \"floor_round_trip_ns\": ", f);
	json_num(f, res->floor_rt.p50);
	fputs(",\n    \"futex_round_trip_ns\": ", f);
	json_num(f, res->futex_rt.p50);
	fputs(",\n    \"futex_one_way_ns\": ", f);
	json_num(f, res->futex.p50);
	fputs(",\n", f);
	for (m = 0; m < HO_NMETHODS; m++) {
		snprintf(key, sizeof(key), "%s_p50_one_way_ns", ho_method_name(m));
		if (m == HO_SHM)
			snprintf(key, sizeof(key), "shm_memcpy_p50_one_way_ns");
		json_by_size(f, key, cfg, res, m, 0, 0);
		snprintf(key, sizeof(key), "%s_touched_p50_one_way_ns",
			 m == HO_SHM ? "shm_memcpy" : ho_method_name(m));
		json_by_size(f, key, cfg, res, m, 1, 0);
	}
	/* The sleeping channel's tail, against the futex's (issue 13). */
	json_by_size(f, "sleep_p99_one_way_ns", cfg, res, HO_SLEEP, 0, 1);
	fputs("    \"futex_p99_one_way_ns\": ", f);
	json_num(f, res->futex.p99);
	fputs(",\n", f);
	/* Ratios against same-run baselines: the targets' own, then memview over ZeroMQ. */
	ho_targets(cfg, res, tg);
	json_target_value(f, tg, "spin_vs_ring_64");
	json_target_value(f, tg, "spsc_vs_ring");
	vs_readonly_ring(res, &lo, &hi, &m);
	fputs("    \"spin_vs_readonly_ring_64\": ", f);
	json_num(f, lo);
	fputs(",\n    \"spsc_vs_readonly_ring\": ", f);
	json_num(f, hi);
	fputs(",\n", f);
	json_vs_zmq(f, "spin_vs_zmq_p50", cfg, res, HO_SPIN, 0);
	json_vs_zmq(f, "spin_vs_zmq_msgs_per_s", cfg, res, HO_SPIN, 1);
	json_vs_zmq(f, "sleep_vs_zmq_p50", cfg, res, HO_SLEEP, 0);
	c = spsc_cell(cfg, res);
	fputs("    \"spsc_msgs_per_s\": ", f);
	json_num(f, c && c->msgs ? c->msgs_per_s : (double)NAN);
	fputs(",\n    \"spsc_message_size\": ", f);
	if (c)
		fprintf(f, "%zu", c->size);
	else
		fputs("null", f);
	fputs(",\n    \"targets\": {", f);
	for (i = 0; i < HO_NTARGETS; i++)
		fprintf(f, "%s\"%s\": %s", i ? ", " : "", tg[i].key,
			tg[i].status == HO_TARGET_NA ? "null" :
			tg[i].status == HO_TARGET_MET ? "true" : "false");
	fputs("}\n  },\n  \"targets\": [\n", f);
	for (i = 0; i < HO_NTARGETS; i++) {
		fprintf(f, "    {\"key\": \"%s\", \"result\": \"%s\", \"value\": ", tg[i].key,
			target_word(tg[i].status));
		json_num(f, tg[i].value);
		fputs(", \"goal\": ", f);
		cli_json_string(f, tg[i].goal);
		fputs(", \"detail\": ", f);
		cli_json_string(f, tg[i].detail);
		fprintf(f, "}%s\n", i + 1 < HO_NTARGETS ? "," : "");
	}
	fputs("  ]\n}\n", f);
	if (ferror(f)) {
		fclose(f);
		errno = EIO;
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

/* ------------------------------------------------------------------ CSV */

static void csv_row(FILE *f, const char *kind, const char *method, size_t size, int sized,
		    const char *payload, const struct ho_stats *s, double floor, double sleeps,
		    const struct ho_cell *c)
{
	const char *sep = c ? "," : ",,,,,";

	fprintf(f, "%s,%s,", kind, method);
	if (sized)
		fprintf(f, "%zu", size);
	fprintf(f, ",%s,%ld,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.4g,%.3f", payload, s->n, s->min,
		s->mean, s->p50, s->p90, s->p99, s->p999, s->max, floor > 0 ? s->p50 / floor : 0,
		sleeps);
	if (c)
		fprintf(f, ",%llu,%.6f,%.1f,%.4f,", (unsigned long long)c->msgs, c->stream_s,
			c->msgs_per_s, c->gb_per_s);
	else
		fputs(sep, f);
	fprintf(f, "%.1f\n", floor);
}

int ho_write_csv(const char *path, const struct ho_config *cfg, const struct ho_results *res)
{
	const struct ho_cell *c;
	FILE *f = fopen(path, "w");
	int i;

	(void)cfg;
	if (!f)
		return -1;
	fputs("kind,method,size,payload,n,min_ns,mean_ns,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,"
	      "p50_x_floor,sleeps_per_rt,messages,stream_s,msgs_per_s,gb_per_s,floor_p50_ns\n", f);
	csv_row(f, "one_way", "floor", 0, 0, "", &res->floor, res->floor.p50, res->floor_sleeps,
		NULL);
	csv_row(f, "round_trip", "floor", 0, 0, "", &res->floor_rt, res->floor_rt.p50,
		res->floor_sleeps, NULL);
	csv_row(f, "one_way", "futex", 0, 0, "", &res->futex, res->floor.p50, res->futex_sleeps,
		NULL);
	csv_row(f, "round_trip", "futex", 0, 0, "", &res->futex_rt, res->floor_rt.p50,
		res->futex_sleeps, NULL);
	for (i = 0; i < res->ncells; i++) {
		c = &res->cells[i];
		csv_row(f, "one_way", ho_method_name(c->method), c->size, 1,
			c->touched ? "touched" : "untouched", &c->lat,
			c->floor.p50 > 0 ? c->floor.p50 : res->floor.p50, c->sleeps_per_rt, c);
	}
	if (ferror(f)) {
		fclose(f);
		errno = EIO;
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

/* ------------------------------------------------------------------ SVG */

#define SVG_W 980
#define SVG_H 620
#define PL 96   /* plot area: left, right, top, bottom edges */
#define PR 720
#define PT 70
#define PB 540

static const char *const method_color[HO_NMETHODS] = {
	"#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#8c564b"
};

struct axes {
	double x0, x1;   /* log2 of the sizes at the edges */
	double y0, y1;   /* log10 of the nanoseconds at the edges */
};

static double px(const struct axes *ax, double size)
{
	return PL + (log2(size) - ax->x0) / (ax->x1 - ax->x0) * (PR - PL);
}

static double py(const struct axes *ax, double ns)
{
	return PB - (log10(ns) - ax->y0) / (ax->y1 - ax->y0) * (PB - PT);
}

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else
			fputc(*s, f);
	}
}

static const char *time_label(char *buf, size_t cap, int e)
{
	static const char *const unit[] = { "ns", "us", "ms", "s" };
	int u = e / 3;
	int z = e % 3;

	if (u > 3) {
		u = 3;
		z = e - 9;
	}
	snprintf(buf, cap, "%s%s %s", "1", z == 0 ? "" : z == 1 ? "0" : "00", unit[u]);
	return buf;
}

static void svg_ref_line(FILE *f, const struct axes *ax, double ns, const char *color,
			 const char *dash, const char *label)
{
	double y;

	if (!(ns > 0))
		return;
	y = py(ax, ns);
	fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
		"stroke-width=\"1.5\" stroke-dasharray=\"%s\"/>\n", PL, y, PR, y, color, dash);
	fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"%s\">", PL + 6, y - 4,
		color);
	xml_text(f, label);
	fputs("</text>\n", f);
}

int ho_write_svg(const char *path, const struct ho_config *cfg, const struct ho_results *res)
{
	const struct ho_cell *c;
	struct axes ax;
	double lo = INFINITY, hi = 0, x, y, mn = INFINITY, mx = 0, flo, fhi;
	char buf[400], s1[32];
	FILE *f;
	int i, m, t, e, k, first, ly;

	for (i = 0; i < res->ncells; i++) {
		c = &res->cells[i];
		if (c->lat.p50 > 0) {
			lo = fmin(lo, c->lat.p50);
			hi = fmax(hi, c->lat.p50);
		}
		mn = fmin(mn, (double)c->size);
		mx = fmax(mx, (double)c->size);
	}
	if (res->floor.p50 > 0) {
		lo = fmin(lo, res->floor.p50);
		hi = fmax(hi, res->floor.p50);
	}
	if (res->futex.p50 > 0) {
		lo = fmin(lo, res->futex.p50);
		hi = fmax(hi, res->futex.p50);
	}
	if (!(lo > 0)) {
		lo = 10;
		hi = 1e6;
	}
	if (!(mn > 0)) {
		mn = 64;
		mx = 64;
	}
	ax.x0 = log2(mn) - 0.5;
	ax.x1 = log2(mx) + 0.5;
	ax.y0 = floor(log10(lo));
	ax.y1 = ceil(log10(hi));
	if (ax.y1 <= ax.y0)
		ax.y1 = ax.y0 + 1;

	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
		"font-size=\"12\">\n", SVG_W, SVG_H, SVG_W, SVG_H);
	fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", SVG_W, SVG_H);
	fputs("<text x=\"490\" y=\"28\" font-size=\"16\" font-weight=\"bold\" "
	      "text-anchor=\"middle\">memview handoff: one-way latency, p50 "
	      "(round trip / 2)</text>\n", f);
	snprintf(buf, sizeof(buf), "CPU %d to CPU %d; %s; %s; %s", cfg->cpu[0], cfg->cpu[1],
		 res->cpu_model, res->kernel, res->started);
	fputs("<text x=\"490\" y=\"48\" font-size=\"11\" fill=\"#555\" text-anchor=\"middle\">", f);
	xml_text(f, buf);
	fputs("</text>\n", f);

	/* Grid: powers of ten (and 2x, 5x lightly) up the side, the sizes along the bottom. */
	for (e = (int)ax.y0; e <= (int)ax.y1; e++) {
		y = py(&ax, pow(10, e));
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ccc\"/>\n",
			PL, y, PR, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", PL - 8,
			y + 4, time_label(s1, sizeof(s1), e));
		for (k = 2; k <= 5 && e < (int)ax.y1; k += 3) {
			y = py(&ax, k * pow(10, e));
			fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
				"stroke=\"#eee\"/>\n", PL, y, PR, y);
		}
	}
	for (i = 0; i < cfg->nsizes; i++) {
		x = px(&ax, (double)cfg->sizes[i]);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			"stroke=\"#e4e4e4\"/>\n", x, PT, x, PB);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x,
			PB + 18, mvu_size_name(s1, sizeof(s1), cfg->sizes[i]));
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
		"stroke=\"#333\"/>\n", PL, PT, PR - PL, PB - PT);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">message size "
		"(log scale)</text>\n", (PL + PR) / 2, PB + 44);
	fprintf(f, "<text transform=\"translate(24,%d) rotate(-90)\" text-anchor=\"middle\" "
		"font-size=\"13\">one-way latency, p50 (log scale)</text>\n", (PT + PB) / 2);

	ho_floor_range(res, &flo, &fhi);
	if (flo > 0 && fhi > 1.25 * flo)
		snprintf(buf, sizeof(buf), "floor: one cache line (it moved: %.0f to %.0f ns)", flo,
			 fhi);
	else
		snprintf(buf, sizeof(buf), "floor: one cache line");
	svg_ref_line(f, &ax, res->floor.p50, "#000", "2,3", buf);
	svg_ref_line(f, &ax, res->futex.p50, "#777", "8,3,2,3", "futex wake (round trip / 2)");

	/* One line per method: solid untouched, dashed touched. */
	for (m = 0; m < HO_NMETHODS; m++) {
		for (t = 0; t < 2; t++) {
			first = 1;
			for (i = 0; i < cfg->nsizes; i++) {
				c = ho_find(res, m, cfg->sizes[i], t);
				if (!c || !(c->lat.p50 > 0))
					continue;
				if (first)
					fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
						"stroke-width=\"2\"%s points=\"", method_color[m],
						t ? " stroke-dasharray=\"7,4\"" : "");
				fprintf(f, "%s%.1f,%.1f", first ? "" : " ",
					px(&ax, (double)c->size), py(&ax, c->lat.p50));
				first = 0;
			}
			if (!first)
				fputs("\"/>\n", f);
			for (i = 0; i < cfg->nsizes; i++) {
				c = ho_find(res, m, cfg->sizes[i], t);
				if (!c || !(c->lat.p50 > 0))
					continue;
				fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
					"fill=\"%s\"/>\n", px(&ax, (double)c->size),
					py(&ax, c->lat.p50), t ? "white" : method_color[m]);
				if (t)
					fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
						"fill=\"none\" stroke=\"%s\" "
						"stroke-width=\"1.5\"/>\n",
						px(&ax, (double)c->size), py(&ax, c->lat.p50),
						method_color[m]);
			}
		}
	}

	/* Legend, right of the plot. */
	ly = PT + 8;
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">method</text>\n", PR + 24, ly);
	ly += 22;
	for (m = 0; m < HO_NMETHODS; m++) {
		if (!(cfg->methods & (1u << m)))
			continue;
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
			"stroke-width=\"2\"/>\n", PR + 24, ly - 4, PR + 54, ly - 4,
			method_color[m]);
		fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"3.5\" fill=\"%s\"/>\n", PR + 39, ly - 4,
			method_color[m]);
		fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text>\n", PR + 62, ly,
			m == HO_SPIN ? "memview channel, spinning" :
			m == HO_SLEEP ? "memview channel, sleeping" :
			m == HO_PIPE ? "pipe" : m == HO_UNIX ? "unix stream socket" :
			m == HO_SHM ? "shm + memcpy" : "ZeroMQ (ipc, zero-copy)");
		ly += 20;
	}
	ly += 10;
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\" "
		"stroke-width=\"2\"/>\n", PR + 24, ly - 4, PR + 54, ly - 4);
	fprintf(f, "<text x=\"%d\" y=\"%d\">untouched payload</text>\n", PR + 62, ly);
	ly += 20;
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\" "
		"stroke-width=\"2\" stroke-dasharray=\"7,4\"/>\n", PR + 24, ly - 4, PR + 54,
		ly - 4);
	fprintf(f, "<text x=\"%d\" y=\"%d\">touched (every byte read)</text>\n", PR + 62, ly);
	ly += 20;
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\" "
		"stroke-width=\"1.5\" stroke-dasharray=\"2,3\"/>\n", PR + 24, ly - 4, PR + 54,
		ly - 4);
	fprintf(f, "<text x=\"%d\" y=\"%d\">floor (cache line)</text>\n", PR + 62, ly);
	ly += 20;
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#777\" "
		"stroke-width=\"1.5\" stroke-dasharray=\"8,3,2,3\"/>\n", PR + 24, ly - 4, PR + 54,
		ly - 4);
	fprintf(f, "<text x=\"%d\" y=\"%d\">bare futex wake</text>\n", PR + 62, ly);
	ly += 30;
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555\">load %.2f / %.2f; "
		"%u slots</text>\n", PR + 24, ly, res->load_before, res->load_after, cfg->nslots);
	fputs("</svg>\n", f);
	if (ferror(f)) {
		fclose(f);
		errno = EIO;
		return -1;
	}
	return fclose(f) ? -1 : 0;
}
