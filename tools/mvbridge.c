/*
 * tools/mvbridge.c - a memview channel between hosts over UCX (mv_bridge(3)).
 *
 *   mvbridge send /CHAN --to HOST:PORT[,HOST:PORT...]   a consumer of /CHAN, forwarding
 *   mvbridge recv [/NAME] [--listen ADDR:PORT]          the producer of /NAME on this host
 *
 * A thin layer over libmemview-bridge: options, the token file, one log line per event on
 * stderr, and the exit status (0 the stream ended in good order, 1 it did not, 2 usage).
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memview.h"
#include "memview/bridge.h"
#include "../util/cli.h"

static volatile sig_atomic_t stop;

static CLI_NORETURN void usage(void)
{
	static const char *const synopses[] = {
		"send /CHAN --to HOST:PORT[,HOST:PORT...] --token-file FILE [options]",
		"recv [/NAME] [--listen ADDR:PORT] --token-file FILE [options]", NULL };
	FILE *out = stdout;

	cli_usage_begin(out, synopses,
			"Carry a memview channel to other hosts over UCX: send joins a local\n"
			"channel as a consumer and forwards every message; recv is the producer\n"
			"of a channel of the same geometry on the receiving host.");
	cli_usage_section(out, "Options");
	cli_usage_option(out, "-t, --to <host:port,...>", "send: the receiving bridges");
	cli_usage_option(out, "-l, --listen <addr:port>",
			 "recv: where to listen (default 127.0.0.1:13337)");
	cli_usage_option(out, "-k, --token-file <file>",
			 "the shared secret (required; readable by you only)");
	cli_usage_option(out, "-c, --consumers <n>",
			 "recv: wait for n local consumers before taking data");
	cli_usage_option(out, "    --from </CHAN>", "recv: accept only the sender's channel /CHAN");
	cli_usage_option(out, "-r, --retry <seconds>",
			 "wait this long for a lost link and resume (default: give up)");
	cli_usage_option(out, "    --busy", "never sleep: lowest latency, one core busy");
	cli_usage_option(out, "-q, --quiet", "no log lines");
	cli_usage_std_options(out);
	cli_usage_end(out);
	exit(0);
}

static void log_line(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "%s: %s\n", cli_progname, cli_visible(line));
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The token: the file's bytes less a trailing newline; refused when others may read it. */
static size_t read_token(const char *path, unsigned char *buf, size_t cap)
{
	struct stat st;
	ssize_t n;
	/* Non-blocking: a FIFO named here must not wait for a writer (a regular file reads as
	 * ever); not followed: a link could point the bridge at anything. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

	if (fd < 0 && errno == ELOOP)
		cli_fail("%s: a symbolic link: name the token file itself", cli_visible(path));
	if (fd < 0)
		cli_fail("%s: %s", cli_visible(path), strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		cli_fail("%s: not a regular file", cli_visible(path));
	if (st.st_mode & 0077)
		cli_fail("%s: others may read it (mode %04o): chmod 600 it",
			 cli_visible(path), (unsigned)(st.st_mode & 07777));
	n = read(fd, buf, cap);
	close(fd);
	if (n < 0)
		cli_fail("%s: %s", cli_visible(path), strerror(errno));
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == 0 || (size_t)n >= cap)
		cli_fail("%s: a token is 1 to %zu bytes", cli_visible(path), cap - 1);
	return (size_t)n;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "listen", required_argument, NULL, 'l' },
		{ "token-file", required_argument, NULL, 'k' },
		{ "consumers", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'F' },
		{ "retry", required_argument, NULL, 'r' },
		{ "busy", no_argument, NULL, 'B' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	mv_bridge_opts o = MV_BRIDGE_OPTS_INIT;
	mv_bridge_stats st = MV_BRIDGE_STATS_INIT;
	unsigned char token[257];
	const char *to = NULL, *listen = NULL, *token_file = NULL, *cmd, *chan = NULL;
	const char *peers[MV_BRIDGE_MAX_PEERS];
	char *tolist = NULL, *save = NULL, *p;
	unsigned npeers = 0;
	mv_bridge *b;
	int c, rc, quiet = 0;

	cli_init(argc, argv, "mvbridge");
	while ((c = getopt_long(argc, argv, "t:l:k:c:r:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'k':
			token_file = optarg;
			break;
		case 'c': {
			/* Checked before it is narrowed: 4294967297 must not become 1. */
			uint64_t n = cli_size_arg(optarg, "--consumers");

			if (n > 64)
				cli_usage_error("--consumers: at most 64");
			o.consumers = (unsigned)n;
			break;
		}
		case 'F':
			o.expect = optarg;
			break;
		case 'r':
			o.flags |= MV_BRIDGE_RETRY;
			o.retry_ns = (long long)cli_size_arg(optarg, "--retry") * 1000000000LL;
			break;
		case 'B':
			o.flags |= MV_BRIDGE_BUSY;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage();
		case 'V':
			cli_print_version();
		default:
			cli_try_help();
		}
	}
	if (optind >= argc)
		cli_usage_error("a command is needed: send or recv");
	cmd = argv[optind++];
	if (strcmp(cmd, "send") != 0 && strcmp(cmd, "recv") != 0)
		cli_usage_error("unknown command '%s' (send or recv)", cli_visible(cmd));
	if (optind < argc)
		chan = argv[optind++];
	if (optind < argc)
		cli_usage_error("unexpected argument '%s'", cli_visible(argv[optind]));
	if (!token_file)
		cli_usage_error("--token-file is required");
	o.token = token;
	o.token_len = read_token(token_file, token, sizeof(token));
	if (!quiet)
		o.log = log_line;
	/*
	 * A receiver restarted on its port must not wait out TIME_WAIT. UCX reads this from the
	 * environment only (ucp_config_modify() does not reach its transports); the user's own
	 * setting wins.
	 */
	setenv("UCX_TCP_CM_REUSEADDR", "y", 0);
	/*
	 * UCX logs to standard output unless UCX_LOG_FILE says otherwise, and reads that before
	 * main() runs; mvbridge writes nothing to standard output once it runs, so its standard
	 * output becomes its standard error: every diagnostic goes to one place.
	 */
	fflush(stdout);
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		cli_fail("cannot send standard output to standard error: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (strcmp(cmd, "send") == 0) {
		if (!chan)
			cli_usage_error("send: which channel? (/CHAN)");
		if (!to || listen || o.consumers || o.expect)
			cli_usage_error("send takes --to, not --listen, --consumers or --from");
		tolist = strdup(to);
		if (!tolist)
			cli_fail("out of memory");
		for (p = strtok_r(tolist, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
			if (npeers == MV_BRIDGE_MAX_PEERS)
				cli_usage_error("--to: at most %d receivers", MV_BRIDGE_MAX_PEERS);
			peers[npeers++] = p;
		}
		if (!npeers)
			cli_usage_error("--to: no receiver");
		rc = mv_bridge_send(&b, chan, peers, npeers, &o);
	} else if (strcmp(cmd, "recv") == 0) {
		if (to)
			cli_usage_error("recv takes --listen, not --to");
		rc = mv_bridge_recv(&b, chan, listen, &o);
	} else {
		cli_usage_error("unknown command '%s' (send or recv)", cli_visible(cmd));
	}
	memset(token, 0, sizeof(token));
	if (rc < 0)
		cli_fail("%s", cli_visible(mv_bridge_errmsg()));
	do
		rc = mv_bridge_run(b, 200000000LL);
	while (rc == 0 && !stop);
	mv_bridge_get_stats(&st, b);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", cli_progname, cli_visible(mv_bridge_errmsg()));
		if (!strcmp(cmd, "send"))
			fprintf(stderr, "%s: %llu messages not acknowledged\n", cli_progname,
				(unsigned long long)st.unacked);
	} else if (!quiet) {
		fprintf(stderr, "%s: %s: %llu messages, %llu bytes%s\n", cli_progname, cmd,
			(unsigned long long)st.messages, (unsigned long long)st.bytes,
			stop ? " (stopped)" : "");
	}
	mv_bridge_close(b);
	free(tolist);
	return rc == 1 ? 0 : 1;
}
