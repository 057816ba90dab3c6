/*
 * bench/uring_report.c - what "mvbench uring" shows: progress lines, the table with its targets,
 * the JSON file with its summary object, and the machine it ran on (see uring.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "memview.h"
#include "../util/cli.h"
#include "../util/mvutil.h"
#include "uring.h"

const char *const ur_method_names[UR_NMETHODS] = { "read", "uring", "fixed", "read-direct",
						   "uring-direct", "fixed-direct" };
const char *const ur_method_desc[UR_NMETHODS] = { "read(2)", "io_uring read",
						  "io_uring fixed read (memview)",
						  "read(2) O_DIRECT", "io_uring read O_DIRECT",
						  "fixed read O_DIRECT (memview)" };

void ur_progress(const struct ur_config *c, const char *fmt, ...)
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

void ur_loadavg(double la[3])
{
	FILE *f = fopen("/proc/loadavg", "re");

	la[0] = la[1] = la[2] = -1;
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &la[0], &la[1], &la[2]) != 3)
			la[0] = la[1] = la[2] = -1;
		fclose(f);
	}
}

/* ------------------------------------------------------------------ judging */

/* The block index of @bs bytes, or -1. */
static int block_index(const struct ur_config *c, size_t bs)
{
	int b;

	for (b = 0; b < c->nblocks; b++)
		if (c->blocks[b] == bs)
			return b;
	return -1;
}

/* The median, lowest and highest of @n per-pass ratios @num[i] / @den[i] into @tg. */
static void judge_pairs(struct ur_target *tg, const double *num, const double *den, int n)
{
	double ratio[UR_MAX_PASSES];
	int i, k = 0;

	for (i = 0; i < n; i++)
		if (den[i] > 0)
			ratio[k++] = num[i] / den[i];
	if (!k) {
		snprintf(tg->why, sizeof(tg->why), "no pass measured both");
		return;
	}
	tg->npasses = k;
	tg->value = mvu_median(ratio, (size_t)k);
	tg->lo = tg->hi = ratio[0];
	for (i = 1; i < k; i++) {
		if (ratio[i] < tg->lo)
			tg->lo = ratio[i];
		if (ratio[i] > tg->hi)
			tg->hi = ratio[i];
	}
}

/* Target @tg: method @num over method @den in ops/s at @bs bytes, pass by pass. */
static void judge_methods(const struct ur_report *r, struct ur_target *tg, int num, int den,
			  size_t bs)
{
	const struct ur_config *c = r->c;
	const struct ur_cell *x, *y;
	char s[32];
	int b = block_index(c, bs);

	snprintf(tg->what, sizeof(tg->what), "%s / %s, %s ops/s", ur_method_names[num],
		 ur_method_names[den], mvu_size_name(s, sizeof(s), bs));
	if (b < 0) {
		snprintf(tg->why, sizeof(tg->why), "not measured: no %s blocks (--blocks)", s);
		return;
	}
	x = &r->cells[b][num];
	y = &r->cells[b][den];
	if (!(c->methods & (1u << num)) || !(c->methods & (1u << den))) {
		snprintf(tg->why, sizeof(tg->why), "not measured: needs the methods %s and %s",
			 ur_method_names[num], ur_method_names[den]);
		return;
	}
	if (!x->ok || !y->ok) {
		const char *why = !y->ok ? y->why : x->why;

		/* A refused O_DIRECT is a SKIP with its one-line reason. */
		snprintf(tg->why, sizeof(tg->why), "%s%s", strncmp(why, "SKIP: ", 6) == 0 ? "" :
			 "not measured: ", why);
		return;
	}
	judge_pairs(tg, x->ops_s, y->ops_s, x->npasses < y->npasses ? x->npasses : y->npasses);
}

void ur_judge(struct ur_report *r)
{
	const struct ur_config *c = r->c;
	struct ur_target *tg = r->targets;
	int b, m;

	for (b = 0; b < c->nblocks; b++)
		for (m = 0; m < UR_NMETHODS; m++) {
			struct ur_cell *x = &r->cells[b][m];

			if (x->ok) {
				x->med_ops = mvu_median(x->ops_s, (size_t)x->npasses);
				x->med_gb = mvu_median(x->gb_s, (size_t)x->npasses);
				x->med_cpu_us = mvu_median(x->cpu_us, (size_t)x->npasses);
			} else if (!x->why[0]) {
				snprintf(x->why, sizeof(x->why), "not run");
			}
		}
	if (r->pipe.ok) {
		r->pipe.med_gb = mvu_median(r->pipe.gb_s, (size_t)r->pipe.npasses);
		r->pipe.med_ops = mvu_median(r->pipe.ops_s, (size_t)r->pipe.npasses);
		r->pipe.med_ref_gb = mvu_median(r->pipe.ref_gb_s, (size_t)r->pipe.npasses);
	}

	for (m = 0; m < UR_NTARGETS; m++)
		tg[m] = (struct ur_target){ .value = -1 };
	tg[UR_T_FIXED_4K].key = "fixed_vs_uring_4k";
	tg[UR_T_FIXED_4K].goal = UR_TARGET_FIXED_VS_URING_4K;
	judge_methods(r, &tg[UR_T_FIXED_4K], UR_FIXED, UR_URING, 4096);
	tg[UR_T_DIRECT_4K].key = "fixed_direct_vs_uring_direct_4k";
	tg[UR_T_DIRECT_4K].goal = UR_TARGET_FIXED_VS_URING_DIRECT;
	judge_methods(r, &tg[UR_T_DIRECT_4K], UR_FIXED_DIRECT, UR_URING_DIRECT, 4096);
	tg[UR_T_DIRECT_128K].key = "fixed_direct_vs_uring_direct_128k";
	tg[UR_T_DIRECT_128K].goal = UR_TARGET_FIXED_VS_URING_DIRECT;
	judge_methods(r, &tg[UR_T_DIRECT_128K], UR_FIXED_DIRECT, UR_URING_DIRECT, 128 * 1024);

	tg[UR_T_PIPELINE].key = "pipeline_vs_read_bw_128k";
	tg[UR_T_PIPELINE].goal = UR_TARGET_PIPELINE_VS_READ_BW;
	snprintf(tg[UR_T_PIPELINE].what, sizeof(tg[UR_T_PIPELINE].what),
		 "pipeline / read(2), 128 KiB GB/s (read(2) pass right before each)");
	if (!c->pipeline)
		snprintf(tg[UR_T_PIPELINE].why, sizeof(tg[UR_T_PIPELINE].why),
			 "not measured: --no-pipeline");
	else if (c->pipe_block != 128 * 1024)
		snprintf(tg[UR_T_PIPELINE].why, sizeof(tg[UR_T_PIPELINE].why),
			 "not measured: the pipeline block is not 128 KiB (--pipeline-block)");
	else if (!r->pipe.ok)
		snprintf(tg[UR_T_PIPELINE].why, sizeof(tg[UR_T_PIPELINE].why), "not measured: %s",
			 r->pipe.why);
	else
		judge_pairs(&tg[UR_T_PIPELINE], r->pipe.gb_s, r->pipe.ref_gb_s, r->pipe.npasses);

	/* Issue 4's former target, still reported: fixed reads against read(2) at 4 KiB. */
	b = block_index(c, 4096);
	if (b >= 0 && r->cells[b][UR_FIXED].ok && r->cells[b][UR_READ].ok)
		r->fixed_vs_read_4k = r->cells[b][UR_FIXED].med_ops / r->cells[b][UR_READ].med_ops;
}

/* ------------------------------------------------------------------ output */

static const char *target_word(const struct ur_target *tg)
{
	if (tg->value < 0)
		return strncmp(tg->why, "SKIP: ", 6) == 0 ? "skipped" : "n/a";
	return tg->value >= tg->goal ? "met" : "missed";
}

void ur_write_json(const struct ur_report *r, FILE *f)
{
	const struct ur_config *c = r->c;
	int b, m, k;

	fprintf(f, "{\n  \"benchmark\": \"uring\",\n  \"machine\": {\"cpus\": %ld, \"cpu\": ",
		sysconf(_SC_NPROCESSORS_ONLN));
	cli_json_string(f, r->cpu);
	fprintf(f, ", \"kernel\": ");
	cli_json_string(f, r->kernel);
	fprintf(f, ", \"load_start\": [%.2f, %.2f, %.2f], \"load_end\": [%.2f, %.2f, %.2f]},\n",
		r->load_start[0], r->load_start[1], r->load_start[2], r->load_end[0],
		r->load_end[1], r->load_end[2]);
	fprintf(f, "  \"config\": {\"file\": ");
	cli_json_string(f, r->path);
	fprintf(f, ", \"filesystem\": ");
	cli_json_string(f, r->fs);
	fprintf(f, ", \"size\": %llu, \"page_cache_fraction\": %.4f, \"quick\": %s, "
		   "\"passes\": %d, \"max_seconds_per_pass\": %.3f, \"depth\": %u, "
		   "\"direct_depth\": %u, "
		   "\"pipeline_block\": %zu, \"pipeline_slots\": %u, \"shm_registers\": %s, "
		   "\"elapsed_seconds\": %.1f, \"direct_depth_note\": ",
		(unsigned long long)r->size, r->cached, c->quick ? "true" : "false", c->passes,
		c->max_s, c->depth, c->direct_used, c->pipe_block, c->pipe_slots,
		(r->features & MV_URING_FEATURE_SHM) ? "true" : "false", r->elapsed);
	if (c->memlock_note[0])
		cli_json_string(f, c->memlock_note);
	else
		fputs("null", f);
	fputs("},\n", f);
	fprintf(f, "  \"results\": [");
	k = 0;
	for (b = 0; b < c->nblocks; b++) {
		for (m = 0; m < UR_NMETHODS; m++) {
			const struct ur_cell *x = &r->cells[b][m];
			int i;

			if (!(c->methods & (1u << m)))
				continue;
			fprintf(f, "%s\n    {\"method\": \"%s\", \"block\": %zu, ", k++ ? "," : "",
				ur_method_names[m], c->blocks[b]);
			if (!x->ok) {
				fprintf(f, "\"skipped\": ");
				cli_json_string(f, x->why);
				fputc('}', f);
				continue;
			}
			fprintf(f, "\"ops_per_s\": %.0f, \"gb_per_s\": %.4f, \"cpu_us_per_op\": %.3f, "
				   "\"passes_ops_per_s\": [", x->med_ops, x->med_gb, x->med_cpu_us);
			for (i = 0; i < x->npasses; i++)
				fprintf(f, "%s%.0f", i ? ", " : "", x->ops_s[i]);
			fputs("], \"passes_gb_per_s\": [", f);
			for (i = 0; i < x->npasses; i++)
				fprintf(f, "%s%.4f", i ? ", " : "", x->gb_s[i]);
			fputs("]}", f);
		}
	}
	fprintf(f, "\n  ],\n  \"pipeline\": {\"block\": %zu, \"slots\": %u, \"cpus\": [%d, %d], ",
		c->pipe_block, c->pipe_slots, c->cpu[0], c->cpu[1]);
	if (!c->pipeline || !r->pipe.ok) {
		fprintf(f, "\"skipped\": ");
		cli_json_string(f, c->pipeline ? r->pipe.why : "not asked for");
		fputs("},\n", f);
	} else {
		fprintf(f, "\"ops_per_s\": %.0f, \"gb_per_s\": %.4f, \"read_gb_per_s\": %.4f, "
			   "\"pages_checked\": %llu, \"data_verified\": %s, \"passes_gb_per_s\": [",
			r->pipe.med_ops, r->pipe.med_gb, r->pipe.med_ref_gb,
			(unsigned long long)r->pipe.pages_checked, r->verified ? "true" : "false");
		for (k = 0; k < r->pipe.npasses; k++)
			fprintf(f, "%s%.4f", k ? ", " : "", r->pipe.gb_s[k]);
		fputs("], \"passes_read_gb_per_s\": [", f);
		for (k = 0; k < r->pipe.npasses; k++)
			fprintf(f, "%s%.4f", k ? ", " : "", r->pipe.ref_gb_s[k]);
		fputs("]},\n", f);
	}
	/* The summary: each target's ratio under its key, then the verdicts. */
	fprintf(f, "  \"summary\": {");
	for (k = 0; k < UR_NTARGETS; k++) {
		const struct ur_target *tg = &r->targets[k];

		if (tg->value >= 0)
			fprintf(f, "\"%s\": %.4f, ", tg->key, tg->value);
		else
			fprintf(f, "\"%s\": null, ", tg->key);
	}
	if (r->fixed_vs_read_4k >= 0)
		fprintf(f, "\"fixed_vs_read_4k\": %.4f, ", r->fixed_vs_read_4k);
	else
		fprintf(f, "\"fixed_vs_read_4k\": null, ");
	fprintf(f, "\"targets\": {");
	for (k = 0; k < UR_NTARGETS; k++) {
		const struct ur_target *tg = &r->targets[k];

		fprintf(f, "%s\"%s\": %s", k ? ", " : "", tg->key,
			tg->value < 0 ? "null" : tg->value >= tg->goal ? "true" : "false");
	}
	fprintf(f, "}},\n  \"targets\": [\n");
	for (k = 0; k < UR_NTARGETS; k++) {
		const struct ur_target *tg = &r->targets[k];

		fprintf(f, "    {\"key\": \"%s\", \"result\": \"%s\", \"goal\": %.2f, ", tg->key,
			target_word(tg), tg->goal);
		if (tg->value >= 0)
			fprintf(f, "\"value\": %.4f, \"passes\": %d, \"lowest\": %.4f, "
				   "\"highest\": %.4f, ", tg->value, tg->npasses, tg->lo, tg->hi);
		else
			fprintf(f, "\"value\": null, \"why\": ");
		if (tg->value < 0) {
			cli_json_string(f, tg->why);
			fputs(", ", f);
		}
		fputs("\"what\": ", f);
		cli_json_string(f, tg->what);
		fprintf(f, "}%s\n", k + 1 < UR_NTARGETS ? "," : "");
	}
	fputs("  ]\n}\n", f);
}

void ur_print_report(const struct ur_report *r)
{
	const struct ur_config *c = r->c;
	char s1[32], s2[32];
	int b, m, k;

	printf("mvbench uring: %s file on %s (%s), %.0f%% in the page cache%s\n",
	       mvu_size_name(s1, sizeof(s1), r->size), r->fs, r->path, r->cached * 100,
	       c->quick ? " [--quick]" : "");
	printf("%s, %ld CPUs, Linux %s; load average %.2f %.2f %.2f at start, %.2f at end\n",
	       r->cpu, sysconf(_SC_NPROCESSORS_ONLN), r->kernel, r->load_start[0],
	       r->load_start[1], r->load_start[2], r->load_end[0]);
	printf("io_uring queue depth %u (O_DIRECT: %u); median of %d passes, each at most one "
	       "sequential read\nof the file or %.1f s; GB = 10^9 bytes; CPU = the process's CPU "
	       "time (user + system, all\nits threads) per read; vs io_uring: against the plain "
	       "io_uring read of the same kind\n(page cache or O_DIRECT)\n", c->depth,
	       c->direct_used, c->passes, c->max_s);
	if (c->memlock_note[0])
		printf("note: %s\n", c->memlock_note);
	putchar('\n');
	printf("%-9s %-30s %10s %7s %7s %11s %12s\n", "block", "method", "ops/s", "GB/s",
	       "CPU us", "vs read(2)", "vs io_uring");
	for (b = 0; b < c->nblocks; b++) {
		for (m = 0; m < UR_NMETHODS; m++) {
			const struct ur_cell *x = &r->cells[b][m];
			const struct ur_cell *rd = &r->cells[b][UR_READ];
			const struct ur_cell *ur =
				&r->cells[b][m >= UR_READ_DIRECT ? UR_URING_DIRECT : UR_URING];

			if (!(c->methods & (1u << m)))
				continue;
			mvu_size_name(s1, sizeof(s1), c->blocks[b]);
			if (!x->ok) {
				printf("%-9s %-30s %s\n", s1, ur_method_desc[m], x->why);
				continue;
			}
			printf("%-9s %-30s %10.0f %7.2f %7.2f", s1, ur_method_desc[m], x->med_ops,
			       x->med_gb, x->med_cpu_us);
			if (rd->ok && rd->med_ops > 0)
				printf(" %10.2fx", x->med_ops / rd->med_ops);
			else
				printf(" %11s", "");
			if (m != UR_READ && m != UR_READ_DIRECT && ur->ok && ur->med_ops > 0)
				printf(" %11.2fx", x->med_ops / ur->med_ops);
			putchar('\n');
		}
	}
	if (c->pipeline) {
		printf("\npipeline: file -> registered shm slot (%u x %s) -> consumer process view "
		       "(no copy)", c->pipe_slots, mvu_size_name(s1, sizeof(s1), c->pipe_block));
		if (c->cpu[0] >= 0)
			printf(", producer on CPU %d, consumer on CPU %d", c->cpu[0], c->cpu[1]);
		putchar('\n');
		if (r->pipe.ok) {
			mvu_size_name(s1, sizeof(s1), c->pipe_block);
			printf("%-9s %-30s %10.0f %7.2f\n", s1, "pipeline", r->pipe.med_ops,
			       r->pipe.med_gb);
			printf("%-9s %-30s %10s %7.2f   (a pass right before each pipeline pass)\n",
			       s1, "read(2)", "", r->pipe.med_ref_gb);
			printf("the consumer checked %llu pages%s\n",
			       (unsigned long long)r->pipe.pages_checked,
			       r->verified ? " against the file's pattern" : " (not verified: --file)");
		} else {
			printf("not measured: %s\n", r->pipe.why);
		}
	}
	printf("\ntargets (issue 13; each the median of the per-pass ratios of two rows measured "
	       "next to each other,\nlowest..highest pass in brackets):\n");
	for (k = 0; k < UR_NTARGETS; k++) {
		const struct ur_target *tg = &r->targets[k];

		printf("  %s >= %.2fx: ", tg->what, tg->goal);
		if (tg->value >= 0)
			printf("%.2fx [%.2f..%.2f], %s\n", tg->value, tg->lo, tg->hi,
			       tg->value >= tg->goal ? "met" : "MISSED");
		else
			printf("%s\n", tg->why);
	}
	if (r->fixed_vs_read_4k >= 0)
		printf("  (also: fixed / read(2), 4 KiB ops/s: %.2fx - issue 4's former target, "
		       "%.2fx)\n", r->fixed_vs_read_4k, 1.10);
	(void)s2;
	printf("(%.1f s in all)\n", r->elapsed);
}
