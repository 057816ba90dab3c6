/*
 * bench/mvbench.c - mvbench(1): memview's benchmarks, the front end of what bench/ measures.
 *
 *   mvbench handoff   hand messages between two pinned processes: memview channel (spinning,
 *                     sleeping) against a pipe, a unix socket, shm + memcpy and ZeroMQ (when
 *                     built with libzmq), with the floor and a futex round trip measured in the
 *                     same run (bench/handoff.c)
 *   mvbench views     the view-operation benchmark: runs bench_views (bench/bench_views.c),
 *                     which make builds next to mvbench, with the remaining arguments.
 *                     bench_views interposes malloc to count allocations, which is why it stays
 *                     a program of its own rather than a function linked into mvbench.
 *   mvbench uring     io_uring fixed reads into registered buffers (bench/uring.c)
 *   mvbench bridge    a channel through two mvbridge processes against ucx_perftest between the
 *                     same endpoints, over loopback and a veth pair (bench/bridge.c)
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/cli.h"
#include "handoff.h"
#include "uring.h"
#include "bridge.h"

#define MAX_SIZES 64
#define MAX_MESSAGE ((uint64_t)1 << 30)

static const size_t default_sizes[] = {
	64, 1024, 16384, 262144, 1048576, 4194304, 16777216, 67108864
};
static const size_t quick_sizes[] = { 64, 1048576, 67108864 };

static void usage(void)
{
	static const char *const syn[] = { "handoff [options]", "views [bench_views options]",
					   "uring [options]", "bridge [options]", NULL };
	FILE *out = stdout;
	char methods[160];

	cli_usage_begin(out, syn, "Benchmark memview: hand messages between two pinned processes "
			"(handoff),\ntime view operations against CPython and memcpy (views), or io_uring fixed\n"
			"reads into registered buffers against plain io_uring reads and read(2), O_DIRECT\n"
			"too (uring; see 'mvbench uring --help'), or carry a channel between hosts with\n"
			"mvbridge against ucx_perftest (bridge; see 'mvbench bridge --help').");
	cli_usage_section(out, "Handoff options");
	cli_usage_option(out, "-c, --cpus <a,b>", "sender and receiver CPUs (default 0,1)");
	cli_usage_option(out, "-s, --sizes <size,...>",
			 "message sizes (default 64,1K,16K,256K,1M,4M,16M,64M)");
	snprintf(methods, sizeof(methods), "%s (default all)%s", ho_methods_list(),
		 ho_methods_built() & (1u << HO_ZMQ) ? "" : ";\nzmq: not built (no libzmq)");
	cli_usage_option(out, "-m, --methods <name,...>", methods);
	cli_usage_option(out, "-p, --payload <which>",
			 "untouched, touched or both (default both)");
	cli_usage_option(out, "-n, --iterations <n>",
			 "at most n measured round trips each (default 100000)");
	cli_usage_option(out, "-t, --time <seconds>",
			 "at most this long per latency measurement (default 1)");
	cli_usage_option(out, "    --stream-time <seconds>",
			 "streaming time per throughput measurement (default 0.5)");
	cli_usage_option(out, "    --gap <us>",
			 "sleep and futex: each side idles this long before it\nsends, so the "
			 "other sleeps (default 500)");
	cli_usage_option(out, "    --slots <n>", "channel and shm ring slots (default 4)");
	cli_usage_option(out, "    --fill", "the sender writes every byte of each message");
	cli_usage_option(out, "    --pong <how>",
			 "how spin answers: method (a channel message, default)\nor store (one "
			 "store, as shm-memcpy answers)");
	cli_usage_option(out, "    --ring <how>",
			 "how shm-memcpy's reader maps the ring: writable\n(default) or readonly, "
			 "as a channel's consumer maps it");
	cli_usage_option(out, "    --retries <n>",
			 "measure a row again when other work preempted it,\nat most n times "
			 "(default 2; 0 with --quick)");
	cli_usage_option(out, "-q, --quick", "64 B, 1 MiB and 64 MiB with short budgets (< 30 s)");
	cli_usage_option(out, "-j, --json <file>", "write every measurement as JSON");
	cli_usage_option(out, "    --csv <file>", "write every measurement as CSV");
	cli_usage_option(out, "    --plot <file.svg>", "plot p50 latency against size as SVG");
	cli_usage_option(out, "    --quiet", "no progress lines on standard error");
	cli_usage_std_options(out);
	cli_usage_section(out, "Views");
	fputs(" mvbench views runs bench_views with the arguments that follow it; see\n"
	      " 'mvbench views --help'. MVBENCH_BENCH_VIEWS names the program to run.\n", out);
	cli_usage_size_argument(out);
	cli_usage_end(out);
	exit(CLI_EXIT_OK);
}

/* ------------------------------------------------------------------ views */

#ifdef MV_PKGLIBEXECDIR
#define MV_PKGLIBEXECDIR_TEXT MV_PKGLIBEXECDIR
#else
#define MV_PKGLIBEXECDIR_TEXT "the package's libexec directory"
#endif

static int executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/*
 * bench_views: $MVBENCH_BENCH_VIEWS, next to us (also from the build tree's .libs), where make
 * install puts it ($(pkglibexecdir)), $PATH.
 */
static CLI_NORETURN void run_views(int argc, char **argv)
{
	static const char *const rel[] = { "bench_views", "../bench_views", NULL };
	char self[PATH_MAX], path[PATH_MAX + 64], *slash;
	const char *env = getenv("MVBENCH_BENCH_VIEWS");
	ssize_t n;
	int i;

	path[0] = '\0';
	if (env && *env) {
		snprintf(path, sizeof(path), "%s", env);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0) {
			self[n] = '\0';
			slash = strrchr(self, '/');
			if (slash)
				*slash = '\0';
			for (i = 0; rel[i]; i++) {
				snprintf(path, sizeof(path), "%s/%s", self, rel[i]);
				if (executable(path))
					break;
				path[0] = '\0';
			}
		}
	}
#ifdef MV_PKGLIBEXECDIR
	if (!path[0]) {
		snprintf(path, sizeof(path), "%s/bench_views", MV_PKGLIBEXECDIR);
		if (!executable(path))
			path[0] = '\0';
	}
#endif
	if (!path[0])
		snprintf(path, sizeof(path), "bench_views"); /* last: $PATH */
	fflush(stdout);
	argv[0] = path;
	(void)argc;
	execvp(path, argv);
	cli_fail("cannot run %s: %s (make builds it in bench/, make install puts it in "
		 MV_PKGLIBEXECDIR_TEXT "; or name it in MVBENCH_BENCH_VIEWS)", path, strerror(errno));
}

/* ------------------------------------------------------------------ handoff */

static int parse_sizes(const char *arg, size_t *out)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	uint64_t v;
	int n = 0;

	if (!copy)
		cli_fail("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		v = cli_size_arg(tok, "size");
		if (v < 1 || v > MAX_MESSAGE)
			cli_usage_error("message size must be 1 byte to 1 GiB: '%s'", tok);
		if (n == MAX_SIZES)
			cli_usage_error("at most %d sizes", MAX_SIZES);
		out[n++] = (size_t)v;
	}
	free(copy);
	if (!n)
		cli_usage_error("invalid size argument: '%s'", arg);
	return n;
}

static double parse_positive(const char *arg, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= 0) || v > 1e6)
		cli_usage_error("invalid %s argument: '%s'", what, arg);
	return v;
}

/* Both CPUs must be ones this process may run on. */
static void check_cpus(const int cpu[2])
{
	cpu_set_t set;
	int k;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		cli_fail("sched_getaffinity: %s", strerror(errno));
	for (k = 0; k < 2; k++)
		if (cpu[k] < 0 || cpu[k] >= CPU_SETSIZE || !CPU_ISSET(cpu[k], &set))
			cli_fail("cannot pin to CPU %d: not among the %d CPUs this process may "
				 "use (see --cpus)", cpu[k], CPU_COUNT(&set));
	if (cpu[0] == cpu[1])
		cli_warn("sender and receiver share CPU %d: spinning methods will wait for the "
			 "scheduler", cpu[0]);
}

enum {
	OPT_GAP = 0x100, OPT_SLOTS, OPT_FILL, OPT_CSV, OPT_PLOT, OPT_QUIET, OPT_STREAM_TIME,
	OPT_RETRIES, OPT_PONG, OPT_RING
};

static int run_handoff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cpus", required_argument, NULL, 'c' },
		{ "sizes", required_argument, NULL, 's' },
		{ "methods", required_argument, NULL, 'm' },
		{ "payload", required_argument, NULL, 'p' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "time", required_argument, NULL, 't' },
		{ "stream-time", required_argument, NULL, OPT_STREAM_TIME },
		{ "gap", required_argument, NULL, OPT_GAP },
		{ "slots", required_argument, NULL, OPT_SLOTS },
		{ "fill", no_argument, NULL, OPT_FILL },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "pong", required_argument, NULL, OPT_PONG },
		{ "ring", required_argument, NULL, OPT_RING },
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "csv", required_argument, NULL, OPT_CSV },
		{ "plot", required_argument, NULL, OPT_PLOT },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ho_config cfg;
	struct ho_results res;
	size_t sizes[MAX_SIZES];
	const char *json = NULL, *csv = NULL, *plot = NULL;
	ssize_t *list = NULL, v;
	double lat_s = -1, stream_s = -1;
	long iters = -1, retries = -1;
	char err[512];
	int quick = 0, nsizes = 0, opt, n, i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.cpu[0] = 0;
	cfg.cpu[1] = 1;
	cfg.methods = ho_methods_built();
	cfg.payloads = HO_PAYLOAD_UNTOUCHED | HO_PAYLOAD_TOUCHED;
	cfg.gap_us = 500;
	cfg.nslots = 4;
	cfg.progress = 1;

	while ((opt = getopt_long(argc, argv, "c:s:m:p:n:t:qj:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (cli_parse_list(optarg, &list, &n) < 0 || n != 2)
				cli_usage_error("invalid cpus argument: '%s' (two CPUs: A,B)",
						optarg);
			cfg.cpu[0] = (int)list[0];
			cfg.cpu[1] = (int)list[1];
			free(list);
			list = NULL;
			break;
		case 's':
			nsizes = parse_sizes(optarg, sizes);
			break;
		case 'm':
			cfg.methods = cli_names_arg(optarg, "method", ho_method_parse,
						    ho_methods_built(), ho_methods_list());
			/* A method this build lacks: one line, before anything runs. */
			if (cfg.methods & ~ho_methods_built())
				cli_fail("method 'zmq': this mvbench was built without ZeroMQ "
					 "(configure found no libzmq; Debian: libzmq3-dev)");
			break;
		case 'p':
			if (strcmp(optarg, "untouched") == 0)
				cfg.payloads = HO_PAYLOAD_UNTOUCHED;
			else if (strcmp(optarg, "touched") == 0)
				cfg.payloads = HO_PAYLOAD_TOUCHED;
			else if (strcmp(optarg, "both") == 0)
				cfg.payloads = HO_PAYLOAD_UNTOUCHED | HO_PAYLOAD_TOUCHED;
			else
				cli_usage_error("invalid payload argument: '%s' (untouched, "
						"touched, both)", optarg);
			break;
		case 'n':
			v = cli_ssize_arg(optarg, "iterations");
			if (v < HO_MIN_SAMPLES || v > 10000000)
				cli_usage_error("iterations must be %d to 10000000: '%s'",
						HO_MIN_SAMPLES, optarg);
			iters = (long)v;
			break;
		case 't':
			lat_s = parse_positive(optarg, "time");
			break;
		case OPT_STREAM_TIME:
			stream_s = parse_positive(optarg, "stream-time");
			break;
		case OPT_GAP:
			cfg.gap_us = parse_positive(optarg, "gap");
			break;
		case OPT_SLOTS:
			v = cli_ssize_arg(optarg, "slots");
			if (v < 1 || v > 1024)
				cli_usage_error("slots must be 1 to 1024: '%s'", optarg);
			cfg.nslots = (unsigned)v;
			break;
		case OPT_FILL:
			cfg.fill = 1;
			break;
		case OPT_PONG:
			if (strcmp(optarg, "store") && strcmp(optarg, "method"))
				cli_usage_error("pong must be method or store: '%s'", optarg);
			cfg.pong_store = !strcmp(optarg, "store");
			break;
		case OPT_RING:
			if (strcmp(optarg, "readonly") && strcmp(optarg, "writable"))
				cli_usage_error("ring must be writable or readonly: '%s'", optarg);
			cfg.ring_readonly = !strcmp(optarg, "readonly");
			break;
		case OPT_RETRIES:
			v = cli_ssize_arg(optarg, "retries");
			if (v < 0 || v > 10)
				cli_usage_error("retries must be 0 to 10: '%s'", optarg);
			retries = (long)v;
			break;
		case 'q':
			quick = 1;
			break;
		case 'j':
			json = optarg;
			break;
		case OPT_CSV:
			csv = optarg;
			break;
		case OPT_PLOT:
			plot = optarg;
			break;
		case OPT_QUIET:
			cfg.progress = 0;
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
	if (optind != argc)
		cli_usage_error("unexpected argument: '%s'", argv[optind]);

	if (!nsizes) {
		const size_t *d = quick ? quick_sizes : default_sizes;

		nsizes = quick ? (int)(sizeof(quick_sizes) / sizeof(*d)) :
				 (int)(sizeof(default_sizes) / sizeof(*d));
		for (i = 0; i < nsizes; i++)
			sizes[i] = d[i];
	}
	cfg.sizes = sizes;
	cfg.nsizes = nsizes;
	cfg.max_iters = iters > 0 ? iters : quick ? 20000 : 100000;
	cfg.lat_s = lat_s >= 0 ? lat_s : quick ? 0.12 : 1.0;
	cfg.stream_s = stream_s >= 0 ? stream_s : quick ? 0.06 : cfg.lat_s / 2;
	cfg.retries = retries >= 0 ? (int)retries : quick ? 0 : 2;
	check_cpus(cfg.cpu);

	if (ho_run(&cfg, &res, err, sizeof(err)) < 0)
		cli_fail("%s", err);
	ho_print_table(stdout, &cfg, &res);
	if (json && ho_write_json(json, &cfg, &res) < 0)
		cli_fail("%s: %s", json, strerror(errno));
	if (csv && ho_write_csv(csv, &cfg, &res) < 0)
		cli_fail("%s: %s", csv, strerror(errno));
	if (plot && ho_write_svg(plot, &cfg, &res) < 0)
		cli_fail("%s: %s", plot, strerror(errno));
	ho_results_free(&res);
	return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
	cli_init(argc, argv, "mvbench");
	if (argc < 2)
		cli_usage_error("no benchmark given (handoff, views, uring or bridge)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		usage();
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		cli_print_version();
	if (strcmp(argv[1], "handoff") == 0) {
		argv[1] = argv[0]; /* getopt's messages name the tool */
		return run_handoff(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "views") == 0)
		run_views(argc - 1, argv + 1);
	if (strcmp(argv[1], "uring") == 0) {
		argv[1] = argv[0];
		return bench_uring_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "bridge") == 0) {
		argv[1] = argv[0];
		return bench_bridge_main(argc - 1, argv + 1);
	}
	cli_usage_error("unknown benchmark '%s' (handoff, views, uring or bridge)", argv[1]);
}
