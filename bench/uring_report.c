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
						   "fixed-direct" };
const char *const ur_method_desc[UR_NMETHODS] = { "read(2)", "io_uring read",
						  "io_uring fixed read (memview)",
						  "read(2) O_DIRECT", "fixed read O_DIRECT" };

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
		   "\"pipeline_block\": %zu, \"pipeline_slots\": %u, \"shm_registers\": %s, "
		   "\"elapsed_seconds\": %.1f},\n",
		(unsigned long long)r->size, r->cached, c->quick ? "true" : "false", c->passes,
		c->max_s, c->depth, c->pipe_block, c->pipe_slots,
		(r->features & MV_URING_FEATURE_SHM) ? "true" : "false", r->elapsed);
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
		cli_json_string(f, c->pipeline ? r->pipe.why : "not asked for");
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
		UR_TARGET_FIXED_VS_READ_4K, UR_TARGET_PIPELINE_VS_READ_BW);
	fprintf(f, "\"fixed_target_met\": %s, \"pipeline_target_met\": %s}\n}\n",
		r->fixed_vs_read_4k < 0 ? "null" :
		r->fixed_vs_read_4k >= UR_TARGET_FIXED_VS_READ_4K ? "true" : "false",
		r->pipeline_vs_read_bw < 0 ? "null" :
		r->pipeline_vs_read_bw >= UR_TARGET_PIPELINE_VS_READ_BW ? "true" : "false");
}

void ur_print_report(const struct ur_report *r)
{
	const struct ur_config *c = r->c;
	char s1[32], s2[32];
	int b, m;

	printf("mvbench uring: %s file on %s (%s), %.0f%% in the page cache%s\n",
	       mvu_size_name(s1, sizeof(s1), r->size), r->fs, r->path, r->cached * 100,
	       c->quick ? " [--quick]" : "");
	printf("%s, %ld CPUs, Linux %s; load average %.2f %.2f %.2f at start, %.2f at end\n",
	       r->cpu, sysconf(_SC_NPROCESSORS_ONLN), r->kernel, r->load_start[0],
	       r->load_start[1], r->load_start[2], r->load_end[0]);
	printf("queue depth %u; median of %d passes, each at most one sequential read of the file "
	       "or %.1f s; GB = 10^9 bytes\n\n", c->depth, c->passes, c->max_s);
	printf("%-9s %-32s %12s %9s %11s\n", "block", "method", "ops/s", "GB/s", "vs read(2)");
	for (b = 0; b < c->nblocks; b++) {
		const struct ur_cell *ref = &r->cells[b][UR_READ];

		for (m = 0; m < UR_NMETHODS; m++) {
			const struct ur_cell *x = &r->cells[b][m];

			if (!(c->methods & (1u << m)))
				continue;
			mvu_size_name(s1, sizeof(s1), c->blocks[b]);
			if (!x->ok) {
				printf("%-9s %-32s %s\n", s1, ur_method_desc[m], x->why);
				continue;
			}
			printf("%-9s %-32s %12.0f %9.2f", s1, ur_method_desc[m], x->med_ops, x->med_gb);
			if (ref->ok && (c->methods & 1u) && ref->med_ops > 0)
				printf(" %10.2fx", x->med_ops / ref->med_ops);
			putchar('\n');
		}
	}
	if (c->pipeline) {
		printf("\npipeline: file -> registered shm slot (%u x %s) -> consumer process view "
		       "(no copy)", c->pipe_slots, mvu_size_name(s1, sizeof(s1), c->pipe_block));
		if (c->cpu[0] >= 0)
			printf(", producer on CPU %d, consumer on CPU %d", c->cpu[0], c->cpu[1]);
		putchar('\n');
		if (r->pipe.ok)
			printf("%-9s %-32s %12.0f %9.2f %10.2fx  (of read(2) at %s)\n",
			       mvu_size_name(s1, sizeof(s1), c->pipe_block), "pipeline",
			       r->pipe.med_ops, r->pipe.med_gb,
			       r->pipeline_vs_read_bw >= 0 ? r->pipeline_vs_read_bw : 0.0,
			       mvu_size_name(s2, sizeof(s2), r->pipe_ref_block));
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
		       UR_TARGET_FIXED_VS_READ_4K, r->fixed_vs_read_4k,
		       r->fixed_vs_read_4k >= UR_TARGET_FIXED_VS_READ_4K ? "met" : "MISSED");
	else
		printf("  fixed reads at 4 KiB: not measured (needs 4K blocks and both methods)\n");
	if (r->pipeline_vs_read_bw >= 0)
		printf("  pipeline >= %.0f%% of read(2) bandwidth: %.0f%%, %s\n",
		       UR_TARGET_PIPELINE_VS_READ_BW * 100, r->pipeline_vs_read_bw * 100,
		       r->pipeline_vs_read_bw >= UR_TARGET_PIPELINE_VS_READ_BW ? "met" : "MISSED");
	else
		printf("  pipeline: not measured\n");
	printf("(%.1f s in all)\n", r->elapsed);
}

