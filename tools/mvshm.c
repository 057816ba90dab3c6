/*
 * tools/mvshm.c - create, inspect, resize, seal, fill, save, hold and remove memview segments,
 * and remove the stale ones of any program.
 *
 * One command per verb (create info resize seal rm load save hold), each a thin layer over the
 * public segment API; gc, in mvshm_gc.c, works on every object in /dev/shm through the survey
 * lsshm prints (shmscan.c). A segment is named as POSIX names it ("/name"; "/dev/shm/name" is taken
 * as "/name"), or - for memfd segments, which have no name - by the path of a descriptor that
 * refers to one, such as /proc/PID/fd/N or /dev/fd/N: any name with a second slash is such a
 * path. That is what makes `seal` useful: `create --memfd -- COMMAND` hands the memfd to
 * COMMAND, whose processes can then seal, fill or inspect it through /dev/fd/$MVSHM_FD.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memview.h"
#include "../util/cli.h"
#include "../util/mvutil.h"
#include "toolcli.h"
#include "mvshm.h"
#include "safeopen.h"
#include "shmscan.h"

struct command {
	const char *name;
	unsigned options;     /* O_* it accepts */
	int min_operands, max_operands; /* max -1: any number */
	int (*run)(struct args *a);
};

static CLI_NORETURN void usage(void)
{
	static const char *const synopses[] = {
		"create <name> --size <size> [options]",
		"create <name> --memfd --size <size> [options] -- <command> [<arg>...]",
		"info <name> [--json] [--raw [--format <format>]]",
		"resize <name> <size>",
		"seal <memfd> grow|future-write...",
		"rm [--force] <name>...",
		"load <name> <file>|- [--raw [--format <format>]]",
		"save <name> <file>|- [--raw [--format <format>]]",
		"hold <name> [--readonly] [--raw ...] [-- <command> [<arg>...]]",
		"gc [--dry-run] [--older-than <time>] [--yes] [--all-processes-visible]\n"
		"          [<name>|<pattern>...]",
		NULL
	};
	FILE *out = stdout;

	cli_usage_begin(out, synopses,
			"Create, inspect, resize, seal, fill, save, hold and remove memview\n"
			"shared-memory segments, and remove stale shared memory.");
	cli_usage_section(out, "Commands");
	cli_usage_option(out, "create", "create a segment (O_EXCL, space reserved)");
	cli_usage_option(out, "info", "show its header, holders and seals");
	cli_usage_option(out, "resize", "change its data size (shrinking needs no views)");
	cli_usage_option(out, "seal", "seal a memfd segment (named ones cannot be sealed)");
	cli_usage_option(out, "rm", "remove names (refused while a process holds views)");
	cli_usage_option(out, "load", "copy a file or standard input into the data");
	cli_usage_option(out, "save", "copy the data to a file or standard output");
	cli_usage_option(out, "hold", "hold a view while <command> runs, or until a\n"
				      "SIGTERM or SIGINT");
	cli_usage_option(out, "gc", "remove stale objects from /dev/shm: those no\n"
				    "process maps, holds open, locks or holds views of");
	cli_usage_section(out, "Options");
	cli_usage_option(out, "-s, --size <size>", "create: bytes of data");
	cli_usage_option(out, "-f, --format <format>",
			 "create: the item format (default B);\n"
			 "with --raw: the format to read the bytes as");
	cli_usage_option(out, "    --shape <d0,d1,...>",
			 "create: the data's shape (default: one dimension\n"
			 "that follows the size; empty: 0-dim)");
	cli_usage_option(out, "-m, --mode <mode>", "create: octal permissions (default 0600)");
	cli_usage_option(out, "    --memfd",
			 "create: an anonymous memfd, handed to <command>\n"
			 "as descriptor $MVSHM_FD");
	cli_usage_option(out, "    --seal <seals>",
			 "create --memfd: grow and/or future-write, comma-\nseparated");
	cli_usage_option(out, "-J, --json", "info: JSON output");
	cli_usage_option(out, "    --raw",
			 "the object has no memview header: all of it\nis data");
	cli_usage_option(out, "-r, --readonly", "hold: open readonly, hold a readonly view");
	cli_usage_option(out, "    --force", "rm: remove even while processes hold views");
	cli_usage_option(out, "-n, --dry-run", "gc: say what would be removed, remove nothing");
	cli_usage_option(out, "    --older-than <time>",
			 "gc: only objects last modified longer ago than\n"
			 "<time>, e.g. 90s, 15m, 2h, 7d");
	cli_usage_option(out, "-y, --yes", "gc: remove without asking");
	cli_usage_option(out, "    --all-processes-visible",
			 "gc: every process that uses /dev/shm is in\n"
			 "this PID namespace (gc refuses outside the\n"
			 "initial one without it)");
	cli_usage_option(out, "-v, --verbose", "say what was done, on standard error");
	cli_usage_std_options(out);
	cli_usage_section(out, "Arguments");
	fputs(" <name> is /NAME for a POSIX shared-memory object (/dev/shm/NAME), or the\n"
	      "   path of a descriptor of a memfd segment, e.g. /proc/PID/fd/N or /dev/fd/N\n",
	      out);
	fputs("\n <pattern> selects names for gc as the shell does, e.g. '/myapp-*'\n", out);
	fputs("\n <size> may be followed by K, M, G, T, P or E (or KiB, MiB, ...: powers of\n"
	      "   1024) or by KB, MB, ... (powers of 1000); 0x starts a hexadecimal number\n",
	      out);
	cli_usage_end(out);
	exit(CLI_EXIT_OK);
}

/* ------------------------------------------------------------------ names and handles */

/* Any other name with a second slash is the path of a memfd's descriptor, not a POSIX name. */
static int is_memfd_path(const char *name)
{
	name = shm_name(name);
	return name[0] == '/' && strchr(name + 1, '/') != NULL;
}

/*
 * "mvshm: NAME: problem". The library's messages usually start with the segment's name
 * already; then it is not said twice.
 */
static CLI_NORETURN void fail_mv(int err, const char *name)
{
	const char *msg = mv_errmsg();
	size_t n = strlen(name);

	if (msg && strncmp(msg, name, n) == 0 && msg[n] == ':')
		cli_fail_mv(err, NULL);
	cli_fail_mv(err, name);
}

/* The same, without exiting: for commands that carry on with the next name. */
static void warn_mv(int err, const char *name)
{
	const char *msg = mv_errmsg();
	size_t n = strlen(name);

	if (!msg || !*msg)
		msg = mv_strerror(err);
	if (strncmp(msg, name, n) == 0 && msg[n] == ':')
		cli_warn("%s", msg);
	else
		cli_warn("%s: %s", name, msg);
}

/*
 * Open @name (a POSIX name, after shm_name(), or a memfd descriptor's path) with MV_SEGMENT_*
 * @flags; for MV_SEGMENT_RAW, @format types the bytes. Exits with the library's message on failure.
 */
static mv_segment *open_segment(const char *name, unsigned flags, const char *format)
{
	mv_segment_opts opts = MV_SEGMENT_OPTS_INIT;
	mv_segment *seg = NULL;
	struct stat st;
	int fd, rc;

	/* A tool works on the object it is named, whoever owns it: the owner check guards
	 * programs that trust a name, and the tool shows the owner instead. */
	opts.flags = flags | MV_SEGMENT_ANY_OWNER;
	opts.format = format;
	if (!is_memfd_path(name)) {
		rc = mv_segment_open(&seg, name, &opts);
		if (rc < 0)
			fail_mv(rc, name);
		return seg;
	}
	/*
	 * A fresh open of /proc/PID/fd/N is a new description of the same memfd. That process may
	 * point N at a FIFO or a device at any moment: only a regular file is opened, and the
	 * descriptor checked is the one imported.
	 */
	fd = safe_open(name, (flags & MV_SEGMENT_READONLY) ? O_RDONLY : O_RDWR, 0, NULL, &st);
	if (fd < 0)
		cli_fail("%s: cannot open: %s", name, safe_open_error(fd, &st));
	rc = mv_segment_import(&seg, fd, &opts);
	close(fd);
	if (rc < 0)
		fail_mv(rc, name);
	return seg;
}

static void close_segment(mv_segment *seg, const char *name)
{
	int rc = mv_segment_close(seg);

	if (rc < 0)
		fail_mv(rc, name);
}

/* A view of the data as plain bytes - all data_size of them, whatever the shape says. */
static void bytes_view(mv_view *v, mv_segment *seg, const char *name, int writable)
{
	int rc = mv_view_from(v, mv_segment_exporter(seg),
			      MV_BUF_FORMAT | (writable ? MV_BUF_WRITABLE : 0));

	if (rc < 0)
		fail_mv(rc, name);
}

static void release_view(mv_view *v, const char *name)
{
	int rc = mv_view_release(v);

	if (rc < 0)
		fail_mv(rc, name);
}

/* MV_SEGMENT_* flags for opening with --raw/--readonly as given. */
static unsigned open_flags(const struct args *a, unsigned base)
{
	return base | ((a->given & O_RAW) ? MV_SEGMENT_RAW : 0) |
	       ((a->given & O_READONLY) ? MV_SEGMENT_READONLY : 0);
}

/* ------------------------------------------------------------------ running a command */

static volatile sig_atomic_t child_pid;

/*
 * Signals someone sent us with kill(2) go on to the command, so that `kill` of mvshm ends the
 * command and mvshm then releases and exits with its status. Signals the terminal generated
 * (si_code SI_KERNEL) reached the command's process group already: they are not sent twice.
 */
static void forward_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	if (child_pid > 0 && (!si || si->si_code != SI_KERNEL))
		kill((pid_t)child_pid, sig);
}

static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/*
 * Run @argv with the environment as it is and wait for it. Returns its exit status, 128 + N
 * when signal N ended it (as shells say), 127 when it cannot be found, 126 when it cannot be
 * run (as env(1) says).
 */
static int run_command(char **argv)
{
	struct sigaction sa, old[4];
	sigset_t block, saved;
	size_t i;
	pid_t pid;
	int status, err;

	fflush(stdout);
	fflush(stderr);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaddset(&block, forwarded_signals[i]);
	/* No signal may find the handler installed but the pid not yet known. */
	sigprocmask(SIG_BLOCK, &block, &saved);
	for (i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaction(forwarded_signals[i], &sa, &old[i]);
	pid = fork();
	if (pid < 0)
		cli_fail("cannot fork: %s", strerror(errno));
	if (pid == 0) {
		for (i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
			sigaction(forwarded_signals[i], &old[i], NULL);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		execvp(argv[0], argv);
		err = errno;
		fprintf(stderr, "%s: %s: %s\n", cli_progname, argv[0], strerror(err));
		/* Not exit(): the parent's stdio buffers and exit handlers are not ours. */
		_exit(err == ENOENT ? 127 : 126);
	}
	child_pid = pid;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			cli_fail("waiting for %s: %s", argv[0], strerror(errno));
	}
	child_pid = 0;
	for (i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaction(forwarded_signals[i], &old[i], NULL);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return CLI_EXIT_FAILURE;
}

/* ------------------------------------------------------------------ create */

static int parse_seals(const char *s, unsigned *out)
{
	char *copy = strdup(s), *tok, *save = NULL;
	unsigned seals = 0;
	int ret = 0;

	if (!copy)
		cli_fail("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "grow") == 0)
			seals |= MV_SEAL_GROW;
		else if (strcmp(tok, "future-write") == 0)
			seals |= MV_SEAL_FUTURE_WRITE;
		else
			ret = -EINVAL;
	}
	free(copy);
	if (ret == 0 && seals == 0)
		ret = -EINVAL;
	if (ret == 0)
		*out |= seals;
	return ret;
}

static int cmd_create(struct args *a)
{
	mv_segment_opts opts = MV_SEGMENT_OPTS_INIT;
	const char *name = a->operands[0];
	ssize_t *shape = NULL;
	mv_segment *seg;
	char fdtext[16], path[64];
	int memfd = (a->given & O_MEMFD) != 0, ndim = -1, fd, rc, status = CLI_EXIT_OK;

	if (!(a->given & O_SIZE))
		cli_usage_error("create: --size is required");
	if (memfd && !a->command)
		cli_usage_error("create --memfd: a memfd has no name and would vanish when mvshm "
				"exits: give a command to hand it to, after --");
	if (!memfd && a->command)
		cli_usage_error("create: a command after -- is for --memfd segments only");
	if ((a->given & O_MODE) && memfd)
		cli_usage_error("create: --mode is for named segments: a memfd is reached only "
				"through its descriptor");
	if ((a->given & O_SEAL) && !memfd)
		cli_usage_error("create: --seal is for --memfd segments: named segments cannot be "
				"sealed");
	if (a->shape_arg && cli_parse_list(a->shape_arg, &shape, &ndim) < 0)
		cli_usage_error("invalid --shape argument: '%s' (expected D0,D1,...)", a->shape_arg);
	opts.format = a->format;
	opts.shape = shape;
	opts.ndim = ndim;
	opts.mode = a->mode;
	opts.seals = a->seals;
	opts.flags = memfd ? MV_SEGMENT_MEMFD : 0;
	if (!memfd)
		name = shm_name(name);
	rc = mv_segment_create(&seg, name, (size_t)a->size, &opts);
	free(shape);
	if (rc < 0)
		fail_mv(rc, name);
	if (a->verbose)
		fprintf(stderr, "%s: created %s%s: %llu data bytes\n", cli_progname,
			memfd ? "memfd " : "", cli_visible(name), (unsigned long long)a->size);
	if (memfd) {
		/*
		 * The command's descriptor (the segment's own is close-on-exec): a fresh open file
		 * description when /proc allows, so the export lock a memview program takes on it
		 * is its own and not shared with mvshm's handle; a duplicate otherwise.
		 */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", mv_segment_fd(seg));
		fd = open(path, O_RDWR);
		if (fd < 0)
			fd = fcntl(mv_segment_fd(seg), F_DUPFD, 3);
		if (fd < 0)
			cli_fail("%s: cannot duplicate the memfd: %s", name, strerror(errno));
		snprintf(fdtext, sizeof(fdtext), "%d", fd);
		if (setenv("MVSHM_FD", fdtext, 1) < 0)
			cli_fail("cannot set MVSHM_FD: %s", strerror(errno));
		if (a->verbose)
			fprintf(stderr, "%s: %s is descriptor %d (MVSHM_FD) of %s\n", cli_progname,
				cli_visible(name), fd, cli_visible(a->command[0]));
		status = run_command(a->command);
		close(fd);
	}
	close_segment(seg, name);
	return status;
}

/* ------------------------------------------------------------------ info */

/* The flags info shows: how the segment is made, then (JSON only) its seals. */
static int info_flags(const mv_segment_info *in, const char **names, int with_seals)
{
	int n = 0;

	if (in->flags & MV_SEGMENT_MEMFD)
		names[n++] = "memfd";
	if (in->flags & MV_SEGMENT_RAW)
		names[n++] = "raw";
	if (!with_seals)
		return n;
	/* memfd segments are always sealed against shrinking: the library refuses them else. */
	if (in->flags & MV_SEGMENT_MEMFD)
		names[n++] = "seal-shrink";
	if (in->seals & MV_SEAL_GROW)
		names[n++] = "seal-grow";
	if (in->seals & MV_SEAL_FUTURE_WRITE)
		names[n++] = "seal-future-write";
	return n;
}

static void print_info_json(const mv_segment_info *in, const mv_segment_holder *h,
			    ssize_t nh)
{
	const char *flags[8];
	int nflags = info_flags(in, flags, 1), i;
	ssize_t k;

	printf("{\n   \"data_offset\": %zu,\n   \"data_size\": %zu,\n   \"format\": ",
	       in->data_offset, in->data_size);
	cli_json_string(stdout, in->format);
	printf(",\n   \"shape\": [");
	for (i = 0; i < in->ndim; i++)
		printf("%s%zd", i ? ", " : "", in->shape[i]);
	printf("],\n   \"flags\": [");
	for (i = 0; i < nflags; i++) {
		printf("%s", i ? ", " : "");
		cli_json_string(stdout, flags[i]);
	}
	printf("],\n   \"generation\": %llu,\n   \"holders\": [",
	       (unsigned long long)in->generation);
	for (k = 0; k < nh; k++)
		printf("%s\n      {\"pid\": %d, \"alive\": %s, \"exports\": %ld}", k ? "," : "",
		       (int)h[k].pid, h[k].alive ? "true" : "false", h[k].exports);
	printf("%s]\n}\n", nh ? "\n   " : "");
}

static void print_info_text(const char *name, const mv_segment_info *in,
			    const mv_segment_holder *h, ssize_t nh, int busy)
{
	const char *flags[8];
	int nflags = info_flags(in, flags, 0), i;
	ssize_t k;

	printf("Name:        %s\n", cli_visible(name));
	printf("Data offset: %zu\n", in->data_offset);
	printf("Data size:   %zu\n", in->data_size);
	printf("Format:      %s\n", cli_visible(in->format));
	/* The shape as Python writes memoryview.shape. */
	printf("Shape:       (");
	for (i = 0; i < in->ndim; i++)
		printf("%s%zd", i ? ", " : "", in->shape[i]);
	printf("%s)\n", in->ndim == 1 ? "," : "");
	printf("Flags:       ");
	for (i = 0; i < nflags; i++)
		printf("%s%s", i ? " " : "", flags[i]);
	printf("%s\n", nflags ? "" : "-");
	printf("Generation:  %llu\n", (unsigned long long)in->generation);
	printf("Seals:       ");
	if (in->flags & MV_SEGMENT_MEMFD)
		printf("shrink%s%s\n", (in->seals & MV_SEAL_GROW) ? " grow" : "",
		       (in->seals & MV_SEAL_FUTURE_WRITE) ? " future-write" : "");
	else
		printf("-\n");
	if (in->creator > 0)
		printf("Creator:     %d\n", (int)in->creator);
	else
		printf("Creator:     -\n");
	printf("Busy:        %s\n", busy > 0 ? "yes (a live process holds views)" :
					busy == 0 ? "no" : "unknown");
	printf("Holders:     %zd\n", nh);
	if (nh > 0)
		printf("%10s %-5s %8s\n", "PID", "ALIVE", "EXPORTS");
	for (k = 0; k < nh; k++)
		printf("%10d %-5s %8ld\n", (int)h[k].pid, h[k].alive ? "yes" : "no", h[k].exports);
}

static int cmd_info(struct args *a)
{
	const char *name = shm_name(a->operands[0]);
	mv_segment_holder holders[MV_SEGMENT_MAX_HOLDERS] = { MV_SEGMENT_HOLDER_INIT };
	mv_segment_info in = MV_SEGMENT_INFO_INIT;
	mv_segment *seg;
	ssize_t nh;
	int rc, busy;

	/* Readonly: looking must not make mvshm a holder, nor need write permission. */
	seg = open_segment(name, open_flags(a, MV_SEGMENT_READONLY), a->format);
	rc = mv_segment_get_info(&in, seg);
	if (rc < 0)
		fail_mv(rc, name);
	nh = mv_segment_holders(holders, MV_SEGMENT_MAX_HOLDERS, seg);
	if (nh < 0)
		fail_mv((int)nh, name);
	if (nh > MV_SEGMENT_MAX_HOLDERS)
		nh = MV_SEGMENT_MAX_HOLDERS;
	busy = mv_segment_busy(mv_segment_fd(seg));
	if (a->given & O_JSON)
		print_info_json(&in, holders, nh);
	else
		print_info_text(name, &in, holders, nh, busy);
	close_segment(seg, name);
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ resize, seal, rm */

static int cmd_resize(struct args *a)
{
	const char *name = shm_name(a->operands[0]);
	uint64_t size = cli_size_arg(a->operands[1], "size");
	mv_segment *seg;
	int rc;

	seg = open_segment(name, 0, NULL);
	rc = mv_segment_resize(seg, (size_t)size);
	if (rc < 0)
		fail_mv(rc, name);
	if (a->verbose)
		fprintf(stderr, "%s: %s: resized to %llu data bytes\n", cli_progname,
			cli_visible(name), (unsigned long long)size);
	close_segment(seg, name);
	return CLI_EXIT_OK;
}

static int cmd_seal(struct args *a)
{
	const char *name = shm_name(a->operands[0]);
	unsigned seals = 0;
	mv_segment *seg;
	int i, rc;

	for (i = 1; i < a->noperands; i++)
		if (parse_seals(a->operands[i], &seals) < 0)
			cli_usage_error("invalid seal '%s' (expected grow or future-write)",
					a->operands[i]);
	/*
	 * The kernel seals memfds only. A memfd has no name: it is reached through a descriptor,
	 * which exists only while a process - the command `create --memfd` runs - keeps it open.
	 */
	if (!is_memfd_path(name))
		cli_fail("%s: only memfd segments can be sealed, and a named segment is not one: "
			 "seal a memfd at creation (mvshm create --memfd --seal ...) or through "
			 "its descriptor (/proc/PID/fd/N)", name);
	seg = open_segment(name, 0, NULL);
	rc = mv_segment_seal(seg, seals);
	if (rc < 0)
		fail_mv(rc, name);
	close_segment(seg, name);
	return CLI_EXIT_OK;
}

/*
 * Whether a memview channel named @name is live: its producer listens on the abstract unix socket
 * "\0memview.chan" NAME (mv_chan(3)), which /proc/net/unix lists as "@memview.chan/NAME". Read
 * there, not connect()ed to: asking must not disturb the channel. Abstract names belong to a
 * network namespace, as /proc/net/unix does.
 */
static int channel_live(const char *name)
{
	static const char prefix[] = "@memview.chan";
	const size_t plen = sizeof(prefix) - 1;
	char *line = NULL, *path;
	size_t cap = 0, n;
	int pos, live = 0;
	FILE *fp = fopen("/proc/net/unix", "re");

	if (!fp)
		return 0;
	/* "Num RefCount Protocol Flags Type St Inode Path" */
	while (!live && getline(&line, &cap, fp) > 0) {
		pos = 0;
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %n", &pos) < 0 || !pos)
			continue;
		path = line + pos;
		n = strcspn(path, "\n");
		live = n == plen + strlen(name) && strncmp(path, prefix, plen) == 0 &&
		       strncmp(path + plen, name, n - plen) == 0;
	}
	free(line);
	fclose(fp);
	return live;
}

static int cmd_rm(struct args *a)
{
	int i, rc, status = CLI_EXIT_OK;

	for (i = 0; i < a->noperands; i++) {
		const char *name = shm_name(a->operands[i]);

		if (is_memfd_path(name)) {
			cli_warn("%s: a memfd segment has no name to remove: it goes when its last "
				 "descriptor is closed", name);
			status = CLI_EXIT_FAILURE;
			continue;
		}
		rc = mv_segment_unlink(name, (a->given & O_FORCE) ? MV_SEGMENT_FORCE : 0);
		if (rc == -ENOENT && channel_live(name)) {
			cli_warn("%s: no such segment; a memview channel of that name is live, but a "
				 "channel has no name in /dev/shm to remove: it goes when its producer "
				 "closes it", name);
			status = CLI_EXIT_FAILURE;
		} else if (rc < 0) {
			warn_mv(rc, name);
			status = CLI_EXIT_FAILURE;
		} else if (a->verbose) {
			fprintf(stderr, "%s: removed %s\n", cli_progname, cli_visible(name));
		}
	}
	return status;
}

/* ------------------------------------------------------------------ load, save */

/* Read up to @len bytes; fewer only at end of input. Exits on error. */
static size_t read_full(int fd, void *buf, size_t len, const char *what)
{
	ssize_t n = mvu_read_full(fd, buf, len);

	if (n < 0)
		cli_fail("cannot read %s: %s", what, strerror(errno));
	return (size_t)n;
}

/* Write all @len bytes. Exits on error. */
static void write_full(int fd, const void *buf, size_t len, const char *what)
{
	if (mvu_write_full(fd, buf, len) < 0)
		cli_fail("cannot write %s: %s", what, strerror(errno));
}

static CLI_NORETURN void too_large(const char *name, const char *what, size_t cap)
{
	cli_fail("%s: %s is larger than the segment's %zu data bytes; nothing was loaded", name,
		 what, cap);
}

/*
 * Copy the input into the data, refusing - before anything is written - an input larger than
 * the data. A regular file says its size; a stream is read into memory first (as much as it
 * holds, never more than the data size plus one byte).
 */
static int cmd_load(struct args *a)
{
	const char *name = shm_name(a->operands[0]), *path = a->operands[1], *what = path;
	unsigned char *buf = NULL, *nbuf;
	size_t cap, len = 0, alloc = 0, want;
	struct stat st;
	mv_segment *seg;
	mv_view v;
	char extra;
	int fd;

	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
		what = "standard input";
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			cli_fail("cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0)
		cli_fail("cannot stat %s: %s", what, strerror(errno));
	seg = open_segment(name, open_flags(a, 0), a->format);
	bytes_view(&v, seg, name, 1);
	cap = (size_t)mv_view_nbytes(&v);

	if (S_ISREG(st.st_mode) && fd != STDIN_FILENO) {
		if ((uintmax_t)st.st_size > cap)
			too_large(name, what, cap);
		len = read_full(fd, mv_view_ptr(&v), (size_t)st.st_size, what);
	} else {
		/* Grow the buffer with the input: a small input into a large segment is cheap. */
		for (;;) {
			if (len == alloc) {
				alloc = alloc ? alloc * 2 : 65536;
				if (alloc > cap + 1)
					alloc = cap + 1;
				nbuf = realloc(buf, alloc);
				if (!nbuf)
					cli_fail("cannot allocate %zu bytes for %s", alloc, what);
				buf = nbuf;
			}
			want = alloc - len;
			if (want == 0)
				break;
			want = read_full(fd, buf + len, want, what);
			if (want == 0)
				break;
			len += want;
			if (len > cap)
				too_large(name, what, cap);
		}
		memcpy(mv_view_ptr(&v), buf, len);
		free(buf);
	}
	/* A regular file that grew since fstat would be cut short: say so rather than guess. */
	if (S_ISREG(st.st_mode) && fd != STDIN_FILENO && read_full(fd, &extra, 1, what) == 1)
		cli_fail("%s: %s grew while it was being loaded", name, what);
	if (fd != STDIN_FILENO)
		close(fd);
	release_view(&v, name);
	if (a->verbose)
		fprintf(stderr, "%s: %s: loaded %zu bytes from %s\n", cli_progname,
			cli_visible(name), len, cli_visible(what));
	close_segment(seg, name);
	return CLI_EXIT_OK;
}

static int cmd_save(struct args *a)
{
	const char *name = shm_name(a->operands[0]), *path = a->operands[1], *what = path;
	mv_segment *seg;
	mv_view v;
	size_t len;
	int fd;

	/* Open the segment first: a missing segment must not leave an empty file behind. */
	seg = open_segment(name, open_flags(a, MV_SEGMENT_READONLY), a->format);
	bytes_view(&v, seg, name, 0);
	len = (size_t)mv_view_nbytes(&v);
	if (strcmp(path, "-") == 0) {
		fd = STDOUT_FILENO;
		what = "standard output";
		fflush(stdout);
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (fd < 0)
			cli_fail("cannot open %s: %s", path, strerror(errno));
	}
	write_full(fd, mv_view_ptr(&v), len, what);
	if (fd != STDOUT_FILENO && close(fd) < 0)
		cli_fail("cannot write %s: %s", what, strerror(errno));
	release_view(&v, name);
	if (a->verbose)
		fprintf(stderr, "%s: %s: saved %zu bytes to %s\n", cli_progname, cli_visible(name),
			len, cli_visible(what));
	close_segment(seg, name);
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ hold */

static void ignore_signal(int sig)
{
	(void)sig;
}

/* Wait for SIGTERM, SIGINT or SIGHUP - also when the shell started us with them ignored. */
static void wait_for_termination(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	sigset_t set;
	size_t i;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ignore_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&set, sigs[i]);
		/* A background job of a script has SIGINT ignored; ignored signals never arrive. */
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &set, NULL);
	while (sigwait(&set, &sig) != 0)
		;
}

static int cmd_hold(struct args *a)
{
	const char *name = shm_name(a->operands[0]);
	int status = CLI_EXIT_OK, rc;
	mv_segment *seg;
	mv_view v;

	seg = open_segment(name, open_flags(a, 0), a->format);
	rc = mv_view_from(&v, mv_segment_exporter(seg), 0);
	if (rc < 0)
		fail_mv(rc, name);
	if (a->verbose)
		fprintf(stderr, "%s: holding %s\n", cli_progname, cli_visible(name));
	if (a->command)
		status = run_command(a->command);
	else
		wait_for_termination();
	release_view(&v, name);
	close_segment(seg, name);
	return status;
}

/* ------------------------------------------------------------------ main */

static const struct command commands[] = {
	{ "create", O_SIZE | O_FORMAT | O_SHAPE | O_MODE | O_MEMFD | O_SEAL, 1, 1, cmd_create },
	{ "info", O_JSON | O_RAW | O_FORMAT, 1, 1, cmd_info },
	{ "resize", 0, 2, 2, cmd_resize },
	{ "seal", 0, 2, -1, cmd_seal },
	{ "rm", O_FORCE, 1, -1, cmd_rm },
	{ "load", O_RAW | O_FORMAT, 2, 2, cmd_load },
	{ "save", O_RAW | O_FORMAT, 2, 2, cmd_save },
	{ "hold", O_READONLY | O_RAW | O_FORMAT, 1, 1, cmd_hold },
	{ "gc", O_DRY_RUN | O_OLDER_THAN | O_YES | O_ALL_VISIBLE, 0, -1, cmd_gc },
};

/* Option names for messages, in O_* bit order. */
static const char *const option_names[] = {
	"--size", "--format", "--shape", "--mode", "--memfd", "--seal", "--json", "--raw",
	"--readonly", "--force", "--dry-run", "--older-than", "--yes", "--all-processes-visible",
};

/* Options that take a separate argument: their argument is not the end-of-options "--". */
static int takes_argument(const char *arg)
{
	static const char *const with_arg[] = { "-s", "--size", "-f", "--format", "--shape",
						"-m", "--mode", "--seal", "--older-than",
						NULL };
	size_t i;

	for (i = 0; with_arg[i]; i++)
		if (strcmp(arg, with_arg[i]) == 0)
			return 1;
	return 0;
}

static unsigned parse_mode(const char *s)
{
	unsigned long v;
	char *end;

	if (!*s || strspn(s, "01234567") != strlen(s))
		cli_usage_error("invalid --mode argument: '%s' (expected octal, e.g. 0640)", s);
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || v > 07777)
		cli_usage_error("invalid --mode argument: '%s' (expected octal, e.g. 0640)", s);
	/* The library reads 0 as "the default, 0600": a segment nobody may open is no use. */
	if (v == 0)
		cli_usage_error("invalid --mode argument: '%s': nobody could open the segment", s);
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	enum { OPT_SHAPE = 256, OPT_MEMFD, OPT_SEAL, OPT_RAW, OPT_FORCE, OPT_OLDER_THAN,
	       OPT_ALL_VISIBLE };
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "shape", required_argument, NULL, OPT_SHAPE },
		{ "mode", required_argument, NULL, 'm' },
		{ "memfd", no_argument, NULL, OPT_MEMFD },
		{ "seal", required_argument, NULL, OPT_SEAL },
		{ "json", no_argument, NULL, 'J' },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ "readonly", no_argument, NULL, 'r' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "older-than", required_argument, NULL, OPT_OLDER_THAN },
		{ "yes", no_argument, NULL, 'y' },
		{ "all-processes-visible", no_argument, NULL, OPT_ALL_VISIBLE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct args a;
	const struct command *cmd = NULL;
	mv_format fmt;
	int c, i, end = argc, nargs;
	size_t k;

	cli_init(argc, argv, "mvshm");
	memset(&a, 0, sizeof(a));

	/* Everything after the first "--" is a command to run: getopt must not see it. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			end = i;
			break;
		}
		if (takes_argument(argv[i]))
			i++;
	}
	if (end < argc)
		a.command = argv + end + 1;
	if (a.command && !a.command[0])
		cli_usage_error("no command after --");

	while ((c = getopt_long(end, argv, "s:f:m:JrnyvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			a.size = cli_size_arg(optarg, "--size");
			a.given |= O_SIZE;
			break;
		case 'f':
			a.format = optarg;
			a.given |= O_FORMAT;
			break;
		case OPT_SHAPE:
			a.shape_arg = optarg;
			a.given |= O_SHAPE;
			break;
		case 'm':
			a.mode = parse_mode(optarg);
			a.given |= O_MODE;
			break;
		case OPT_MEMFD:
			a.given |= O_MEMFD;
			break;
		case OPT_SEAL:
			if (parse_seals(optarg, &a.seals) < 0)
				cli_usage_error("invalid --seal argument: '%s' (expected grow, "
						"future-write or both, comma-separated)", optarg);
			a.given |= O_SEAL;
			break;
		case 'J':
			a.given |= O_JSON;
			break;
		case OPT_RAW:
			a.given |= O_RAW;
			break;
		case 'r':
			a.given |= O_READONLY;
			break;
		case OPT_FORCE:
			a.given |= O_FORCE;
			break;
		case 'n':
			a.given |= O_DRY_RUN;
			break;
		case OPT_OLDER_THAN:
			a.older_than = cli_duration_arg(optarg, "--older-than");
			a.given |= O_OLDER_THAN;
			break;
		case 'y':
			a.given |= O_YES;
			break;
		case OPT_ALL_VISIBLE:
			a.given |= O_ALL_VISIBLE;
			break;
		case 'v':
			a.verbose = 1;
			break;
		case 'h':
			usage();
		case 'V':
			cli_print_version();
		default:
			cli_try_help();
		}
	}
	if (optind >= end) {
		cli_warn("no command given");
		cli_try_help();
	}
	a.cmdname = argv[optind];
	for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(commands[k].name, a.cmdname) == 0)
			cmd = &commands[k];
	if (!cmd) {
		cli_warn("unknown command '%s'", a.cmdname);
		cli_try_help();
	}
	a.operands = argv + optind + 1;
	a.noperands = nargs = end - optind - 1;

	for (k = 0; k < sizeof(option_names) / sizeof(option_names[0]); k++)
		if ((a.given & (1u << k)) && !(cmd->options & (1u << k)))
			cli_usage_error("%s: option %s is not for this command", cmd->name,
					option_names[k]);
	if (a.command && strcmp(cmd->name, "hold") != 0 && strcmp(cmd->name, "create") != 0)
		cli_usage_error("%s: takes no command after --", cmd->name);
	if (nargs < cmd->min_operands)
		cli_usage_error("%s: %s", cmd->name,
				nargs == 0 ? "no segment name given" : "too few arguments");
	if (cmd->max_operands >= 0 && nargs > cmd->max_operands)
		cli_usage_error("%s: unexpected argument '%s'%s", cmd->name,
				a.operands[cmd->max_operands],
				strcmp(cmd->name, "hold") == 0 ? " (put the command after --)" : "");
	if ((a.given & O_FORMAT) && strcmp(cmd->name, "create") != 0 && !(a.given & O_RAW))
		cli_usage_error("%s: --format is for segments without a header: add --raw",
				cmd->name);
	/* Refuse a bad format as a usage error, with the library's message listing the codes. */
	if (a.format && mv_format_parse(&fmt, a.format) < 0)
		cli_usage_error("%s", *mv_errmsg() ? mv_errmsg() : "invalid format");
	return cmd->run(&a);
}
