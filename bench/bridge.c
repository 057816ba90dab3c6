/*
 * bench/bridge.c - mvbench bridge: a memview channel carried by two mvbridge processes, against
 * ucx_perftest between the same endpoints in the same run.
 *
 * For each topology (loopback: everything on 127.0.0.1; veth: two network namespaces joined
 * by a veth pair, made here and removed after, root only) it measures
 *   - raw UCX: ucx_perftest ucp_am_lat at 64 B (its p50, one-way) and ucp_am_bw at 1 MiB;
 *   - the bridge: a producer (in namespace a) -> mvbridge send -> mvbridge recv -> a consumer
 *     (in namespace b). Latency: one 64-byte message at a time, stamped with CLOCK_MONOTONIC by
 *     the producer, the next sent once the consumer has the last, one-way p50. Bandwidth: 1 MiB
 *     messages streamed, from the first loan to the last message received;
 *   - the same channel with the bridges embedded (bench/bridge_embedded): the producer and its
 *     sending bridge in one spinning thread, the receiving bridge and the consumer in another
 *     process's, two processes like ucx_perftest's two, where the mvbridge rows need four
 *     (so on a 2-vCPU machine those measure the scheduler as much as the bridge).
 * UCX_TLS is tcp for both unless set. The bridges are the installed mvbridge programs (next to
 * mvbench, or MVBENCH_MVBRIDGE), exec'd, so mvbench itself never loads UCX: its other
 * benchmarks keep running without UCX's memory hooks.
 *
 * Targets (issue 15): bridge bandwidth >= 0.8x raw UCX at 1 MiB; bridge p50 <= raw UCX p50 +
 * 2 us at 64 B.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memview.h"
#include "../util/cli.h"
#include "../util/mvutil.h"
#include "bridge.h"

#define SEC 1000000000LL
#define MAXLAT 200000

struct shared {
	volatile uint32_t received; /* a futex word: the producer sleeps on it */
	volatile int64_t first_ns, last_ns;
	volatile int failed;
	double lat[MAXLAT];
};

struct topo {
	const char *name;
	char ns[2][32];        /* "" : this namespace */
	char dst[64];          /* the receiver's address */
};

static struct shared *sh;
static char mvbridge[PATH_MAX + 32];
static char embedded_prog[PATH_MAX + 32]; /* bench/bridge_embedded, or "" when not built */
static char tokfile[64];
static int busy;

/* ------------------------------------------------------------------ processes */

static int enter_ns(const char *ns)
{
	char path[96];
	int fd, rc;

	if (!ns[0])
		return 0;
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc < 0 ? -errno : 0;
}

/* Run argv in namespace @ns (through ip netns exec), output to /dev/null unless @out. */
static pid_t spawn(const char *ns, char *const argv[], int out)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		char *args[32];
		int i = 0, k;

		if (out >= 0)
			dup2(out, 1);
		else
			dup2(null, 1);
		dup2(null, 2);
		if (ns[0]) {
			args[i++] = (char *)"ip";
			args[i++] = (char *)"netns";
			args[i++] = (char *)"exec";
			args[i++] = (char *)ns;
		}
		for (k = 0; argv[k] && i < 31; k++)
			args[i++] = argv[k];
		args[i] = NULL;
		execvp(args[0], args);
		_exit(127);
	}
	return pid;
}

static int reap(pid_t pid, int seconds)
{
	int st = 0, k;

	for (k = 0; k < seconds * 100; k++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return 124;
}

static int sh_run(const char *cmd)
{
	int rc = system(cmd);

	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* ------------------------------------------------------------------ raw UCX */

/* ucx_perftest between the namespaces: the last line's numbers (-f). */
static int perftest(const struct topo *t, int port, const char *test, size_t size, long n,
		    double *p50_us, double *bw_mib)
{
	char portarg[16], sizearg[32], narg[32], line[512], last[512] = "";
	char *srv[] = { (char *)"ucx_perftest", (char *)"-p", portarg, NULL };
	char *cli[] = { (char *)"ucx_perftest", (char *)t->dst, (char *)"-p", portarg,
			(char *)"-t", (char *)test, (char *)"-s", sizearg, (char *)"-n", narg,
			(char *)"-f", NULL };
	double v[8] = { 0 };
	pid_t s, c;
	FILE *f;
	int fds[2];

	snprintf(portarg, sizeof(portarg), "%d", port);
	snprintf(sizearg, sizeof(sizearg), "%zu", size);
	snprintf(narg, sizeof(narg), "%ld", n);
	s = spawn(t->ns[1], srv, -1);
	usleep(300000);
	if (pipe(fds) < 0)
		return -errno;
	c = spawn(t->ns[0], cli, fds[1]);
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (f && fgets(line, sizeof(line), f))
		if (strspn(line, " ") > 0 && line[strspn(line, " ")] >= '0' &&
		    line[strspn(line, " ")] <= '9')
			snprintf(last, sizeof(last), "%s", line);
	if (f)
		fclose(f);
	reap(c, 60);
	reap(s, 5);
	if (sscanf(last, "%lf %lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &v[6], &v[7]) < 6)
		return -EPROTO;
	*p50_us = v[1];
	*bw_mib = v[5];
	return 0;
}

/* ------------------------------------------------------------------ the bridged channel */

/*
 * The two ends sleep when they wait (a blocking receive; a futex for "the consumer has it"):
 * with four processes on a small machine, ends that spin would take the bridges' CPUs.
 */
static void received_wait(uint32_t seen)
{
	struct timespec ts = { 0, 100000000 };

	while (__atomic_load_n(&sh->received, __ATOMIC_ACQUIRE) == seen)
		syscall(SYS_futex, &sh->received, FUTEX_WAIT, seen, &ts, NULL, 0);
}

static void consumer(const char *ns, const char *name, int lat)
{
	long long until = mvu_now_ns() + 20 * SEC;
	mv_chan *ch;
	int rc;

	if (enter_ns(ns) < 0)
		_exit(2);
	while ((rc = mv_chan_join(&ch, name, NULL, SEC)) == -ENOENT && mvu_now_ns() < until)
		usleep(10000);
	if (rc < 0)
		_exit(3);
	for (;;) {
		mv_view m;
		int64_t stamp;

		rc = mv_chan_recv(&m, ch, MV_CHAN_FOREVER);
		if (rc < 0)
			break;
		memcpy(&stamp, mv_view_ptr(&m), sizeof(stamp));
		if (lat && sh->received < MAXLAT)
			sh->lat[sh->received] = (double)(mvu_now_ns() - stamp);
		mv_view_release(&m);
		sh->last_ns = mvu_now_ns();
		__atomic_store_n(&sh->received, sh->received + 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &sh->received, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
	mv_chan_close(ch);
	_exit(0);
}

static void producer(const char *ns, const char *name, size_t size, long n, int lat)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	mv_chan *ch;
	long i;

	if (enter_ns(ns) < 0)
		_exit(2);
	o.slot_size = size;
	o.nslots = lat ? 4 : 16;
	if (mv_chan_create(&ch, name, &o) < 0 || mv_chan_wait_consumers(ch, 1, 20 * SEC) < 1)
		_exit(3);
	usleep(200000); /* the far side's consumer joins once the receiver has the channel */
	sh->first_ns = mvu_now_ns();
	for (i = 0; i < n; i++) {
		mv_view v;
		int64_t now;

		if (mv_chan_loan(&v, ch, 10 * SEC) < 0)
			_exit(4);
		now = mvu_now_ns();
		memcpy(mv_view_ptr(&v), &now, sizeof(now));
		if (mv_chan_send(ch, &v, size) < 0)
			_exit(5);
		if (lat) { /* one at a time: the next once the consumer has this one */
			long long until = mvu_now_ns() + 5 * SEC;
			uint32_t r;

			while ((r = __atomic_load_n(&sh->received, __ATOMIC_ACQUIRE)) < i + 1) {
				if (mvu_now_ns() > until)
					_exit(6);
				received_wait(r);
			}
		}
	}
	while (__atomic_load_n(&sh->received, __ATOMIC_ACQUIRE) < (uint32_t)n)
		received_wait(__atomic_load_n(&sh->received, __ATOMIC_ACQUIRE));
	mv_chan_close(ch);
	_exit(0);
}

/* mvbridge CMD CHAN WHERE ADDR --token-file F -q [--consumers 1] [--busy] into @argv. */
static void bridge_argv(char **argv, const char *cmd, char *chan, const char *where, char *addr)
{
	int i = 0;

	argv[i++] = mvbridge;
	argv[i++] = (char *)cmd;
	argv[i++] = chan;
	argv[i++] = (char *)where;
	argv[i++] = addr;
	argv[i++] = (char *)"--token-file";
	argv[i++] = tokfile;
	argv[i++] = (char *)"-q";
	if (!strcmp(cmd, "recv")) {
		argv[i++] = (char *)"--consumers";
		argv[i++] = (char *)"1";
	}
	if (busy)
		argv[i++] = (char *)"--busy";
	argv[i] = NULL;
}

/* One bridged run: 0 and the p50 (ns) or MiB/s, or a negative errno. */
static int bridged(const struct topo *t, int port, size_t size, long n, int lat, double *out)
{
	char src[64], dst[64], listen[80], to[80];
	char *recv_argv[16], *send_argv[16];
	pid_t pr, pc, br, bs;
	int rc;

	snprintf(src, sizeof(src), "/mvbench-src-%ld", (long)getpid());
	snprintf(dst, sizeof(dst), "/mvbench-dst-%ld", (long)getpid());
	snprintf(listen, sizeof(listen), "%s:%d", t->dst, port);
	snprintf(to, sizeof(to), "%s:%d", t->dst, port);
	memset(sh, 0, sizeof(*sh));
	bridge_argv(recv_argv, "recv", dst, "--listen", listen);
	bridge_argv(send_argv, "send", src, "--to", to);
	br = spawn(t->ns[1], recv_argv, -1);
	pc = fork();
	if (pc == 0)
		consumer(t->ns[1], dst, lat);
	pr = fork();
	if (pr == 0)
		producer(t->ns[0], src, size, n, lat);
	usleep(300000);
	bs = spawn(t->ns[0], send_argv, -1);
	rc = reap(pr, 120);
	reap(bs, 10);
	reap(br, 10);
	reap(pc, 10);
	if (rc != 0 || sh->received < (uint32_t)n)
		return -EPROTO;
	if (lat) {
		long w = n / 10; /* warm-up */

		*out = mvu_median(sh->lat + w, (size_t)(n - w));
	} else {
		*out = (double)n * (double)size / (1 << 20) /
		       ((double)(sh->last_ns - sh->first_ns) / 1e9);
	}
	return 0;
}

/* ------------------------------------------------------------------ the embedded bridge */

/*
 * One run of bridge_embedded: a producer and its sending bridge in one process (namespace a),
 * the receiving bridge and the consumer in another (namespace b), each one thread that spins.
 * 0 and the receiver's p50 (ns) or MiB/s, or a negative errno.
 */
static int embedded(const struct topo *t, int port, size_t size, long n, int lat, double *out)
{
	char src[64], dst[64], addr[80], sizearg[32], narg[32], line[128] = "";
	char *recv_argv[] = { embedded_prog, (char *)"recv", dst, addr, tokfile, sizearg, narg,
			      (char *)(lat ? "lat" : "bw"), NULL };
	char *send_argv[] = { embedded_prog, (char *)"send", src, addr, tokfile, sizearg, narg,
			      (char *)(lat ? "lat" : "bw"), NULL };
	pid_t r, snd;
	int fds[2], rs, rr;
	FILE *f;

	snprintf(src, sizeof(src), "/mvbench-esrc-%ld", (long)getpid());
	snprintf(dst, sizeof(dst), "/mvbench-edst-%ld", (long)getpid());
	snprintf(addr, sizeof(addr), "%s:%d", t->dst, port);
	snprintf(sizearg, sizeof(sizearg), "%zu", size);
	snprintf(narg, sizeof(narg), "%ld", n);
	if (pipe(fds) < 0)
		return -errno;
	r = spawn(t->ns[1], recv_argv, fds[1]);
	close(fds[1]);
	usleep(300000);
	snd = spawn(t->ns[0], send_argv, -1);
	f = fdopen(fds[0], "r");
	if (!f || !fgets(line, sizeof(line), f))
		line[0] = '\0';
	if (f)
		fclose(f);
	else
		close(fds[0]);
	rs = reap(snd, 120);
	rr = reap(r, 20);
	if (rs || rr || sscanf(line, lat ? "p50_ns %lf" : "mib_s %lf", out) != 1)
		return -EPROTO;
	return 0;
}

/* The two targets of issue 15 for one way of bridging (@lat_ns, @bw; rc 0 when measured). */
static void report_targets(const char *topo, const char *what, double raw_lat_us,
			   double raw_bw, int raw_lat_rc, int raw_bw_rc, double lat_ns, double bw,
			   int lat_rc, int bw_rc)
{
	if (!raw_lat_rc && !lat_rc)
		printf("%-9s   p50: %s - raw = %+.2f us (target <= +2 us): %s\n", topo, what,
		       lat_ns / 1000 - raw_lat_us, lat_ns / 1000 - raw_lat_us <= 2 ? "met" : "missed");
	if (!raw_bw_rc && !bw_rc)
		printf("%-9s   bandwidth: %s / raw = %.2fx (target >= 0.8x): %s\n", topo, what,
		       bw / raw_bw, bw / raw_bw >= 0.8 ? "met" : "missed");
}

/* ------------------------------------------------------------------ topologies */

static int veth_up(struct topo *t)
{
	char cmd[512];

	snprintf(t->ns[0], sizeof(t->ns[0]), "mvbench%lda", (long)getpid());
	snprintf(t->ns[1], sizeof(t->ns[1]), "mvbench%ldb", (long)getpid());
	snprintf(t->dst, sizeof(t->dst), "169.254.78.2");
	snprintf(cmd, sizeof(cmd),
		 "ip netns add %s && ip netns add %s && "
		 "ip link add va netns %s type veth peer name vb netns %s && "
		 "ip -n %s addr add 169.254.78.1/30 dev va && ip -n %s addr add 169.254.78.2/30 dev vb && "
		 "ip -n %s link set va up && ip -n %s link set vb up && "
		 "ip -n %s link set lo up && ip -n %s link set lo up && "
		 "for i in $(seq 50); do ip -n %s link show vb | grep -q 'state UP' && break; "
		 "sleep 0.1; done",
		 t->ns[0], t->ns[1], t->ns[0], t->ns[1], t->ns[0], t->ns[1], t->ns[0], t->ns[1],
		 t->ns[0], t->ns[1], t->ns[1]);
	return sh_run(cmd) == 0 ? 0 : -EPERM;
}

/* A comma-separated list of "loopback" and "veth", nothing else. */
static int topology_list_ok(const char *list)
{
	const char *p = list;

	for (;;) {
		size_t len = strcspn(p, ",");

		if (!((len == 8 && strncmp(p, "loopback", 8) == 0) ||
		      (len == 4 && strncmp(p, "veth", 4) == 0)))
			return 0;
		if (!p[len])
			return 1;
		p += len + 1;
	}
}

static void veth_down(const struct topo *t)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null",
		 t->ns[0], t->ns[1]);
	(void)sh_run(cmd);
}

/* bridge_embedded: next to mvbench in the build tree (bench/.libs/mvbench -> bench/). */
static void find_embedded(void)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	embedded_prog[0] = '\0';
	if (n <= 0)
		return;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return;
	*slash = '\0';
	snprintf(embedded_prog, sizeof(embedded_prog), "%s/../bridge_embedded", self);
	if (access(embedded_prog, X_OK) == 0)
		return;
	snprintf(embedded_prog, sizeof(embedded_prog), "%s/bridge_embedded", self);
	if (access(embedded_prog, X_OK) != 0)
		embedded_prog[0] = '\0';
}

static void find_mvbridge(void)
{
	const char *env = getenv("MVBENCH_MVBRIDGE");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(mvbridge, sizeof(mvbridge), "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		/* Installed: next to mvbench. Built: bench/.libs/mvbench -> tools/mvbridge. */
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(mvbridge, sizeof(mvbridge), "%s/mvbridge", self);
			if (access(mvbridge, X_OK) == 0)
				return;
			snprintf(mvbridge, sizeof(mvbridge), "%s/../../tools/mvbridge", self);
			if (access(mvbridge, X_OK) == 0)
				return;
			snprintf(mvbridge, sizeof(mvbridge), "%s/../tools/mvbridge", self);
			if (access(mvbridge, X_OK) == 0)
				return;
		}
	}
	snprintf(mvbridge, sizeof(mvbridge), "mvbridge");
}

static CLI_NORETURN void usage(void)
{
	static const char *const syn[] = { "bridge [options]", NULL };

	cli_usage_begin(stdout, syn,
			"A channel through two mvbridge processes against ucx_perftest between\n"
			"the same endpoints: one-way p50 at 64 B, bandwidth at 1 MiB.");
	cli_usage_section(stdout, "Options");
	cli_usage_option(stdout, "-T, --topology <list>",
			 "loopback, veth (two network namespaces; root) or both\n(default both)");
	cli_usage_option(stdout, "-n, --iterations <n>", "64-byte messages timed (default 20000)");
	cli_usage_option(stdout, "-m, --mib <n>", "1 MiB messages streamed (default 2000)");
	cli_usage_option(stdout, "    --busy", "bridges never sleep (mvbridge --busy)");
	cli_usage_std_options(stdout);
	cli_usage_end(stdout);
	exit(0);
}

int bench_bridge_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "topology", required_argument, NULL, 'T' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "mib", required_argument, NULL, 'm' },
		{ "busy", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *topos = "loopback,veth";
	long n = 20000, mib = 2000;
	int c, tk, port = 21000 + (int)(getpid() % 20000), fd, any = 0;

	while ((c = getopt_long(argc, argv, "T:n:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'T':
			topos = optarg;
			break;
		case 'n':
			n = (long)cli_size_arg(optarg, "--iterations");
			break;
		case 'm':
			mib = (long)cli_size_arg(optarg, "--mib");
			break;
		case 'B':
			busy = 1;
			break;
		case 'h':
			usage();
		default:
			cli_try_help();
		}
	}
	if (n < 10 || n > MAXLAT || mib < 1)
		cli_usage_error("--iterations: 10 to %d; --mib: at least 1", MAXLAT);
	if (strcmp(topos, "both") == 0)
		topos = "loopback,veth";
	else if (!topology_list_ok(topos))
		cli_usage_error("--topology: '%s' is not loopback, veth, a list of them, or both",
				topos);
	setenv("UCX_TLS", "tcp", 0);
	setenv("UCX_TCP_CM_REUSEADDR", "y", 0);
	find_mvbridge();
	find_embedded();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		cli_fail("mmap: %s", strerror(errno));
	snprintf(tokfile, sizeof(tokfile), "/tmp/mvbench-token-%ld", (long)getpid());
	fd = open(tokfile, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, "mvbench-bridge\n", 15) != 15)
		cli_fail("%s: %s", tokfile, strerror(errno));
	close(fd);
	printf("mvbench bridge: UCX_TLS=%s, bridges %s, %s\n", getenv("UCX_TLS"),
	       busy ? "busy" : "sleeping when idle", mvbridge);
	printf("%-9s %-22s %12s %12s %8s\n", "topology", "what", "p50 64 B", "1 MiB", "target");
	for (tk = 0; tk < 2; tk++) {
		struct topo t = { tk ? "veth" : "loopback", { "", "" }, "127.0.0.1" };
		double raw_lat = 0, raw_bw = 0, dummy, br_lat = 0, br_bw = 0, em_lat = 0, em_bw = 0;
		int r1, r2, r3, r4, r5 = -ENOENT, r6 = -ENOENT;

		if (!strstr(topos, t.name))
			continue;
		if (tk && (geteuid() != 0 || veth_up(&t) < 0)) {
			printf("%-9s skipped: network namespaces need root and iproute2\n", t.name);
			veth_down(&t);
			continue;
		}
		any = 1;
		r1 = perftest(&t, port++, "ucp_am_lat", 64, n, &raw_lat, &dummy);
		r2 = perftest(&t, port++, "ucp_am_bw", 1 << 20, mib, &dummy, &raw_bw);
		r3 = bridged(&t, port++, 64, n, 1, &br_lat);
		r4 = bridged(&t, port++, 1 << 20, mib, 0, &br_bw);
		if (embedded_prog[0]) {
			r5 = embedded(&t, port++, 64, n, 1, &em_lat);
			r6 = embedded(&t, port++, 1 << 20, mib, 0, &em_bw);
		}
		if (tk)
			veth_down(&t);
		printf("%-9s %-22s %9.2f us %7.0f MiB/s\n", t.name, "ucx_perftest ucp_am",
		       r1 ? -1 : raw_lat, r2 ? -1 : raw_bw);
		printf("%-9s %-22s %9.2f us %7.0f MiB/s\n", t.name, "mvbridge send+recv",
		       r3 ? -1 : br_lat / 1000, r4 ? -1 : br_bw);
		if (embedded_prog[0])
			printf("%-9s %-22s %9.2f us %7.0f MiB/s\n", t.name, "bridges embedded",
			       r5 ? -1 : em_lat / 1000, r6 ? -1 : em_bw);
		else
			printf("%-9s %-22s not built (bench/bridge_embedded, with UCX)\n", t.name,
			       "bridges embedded");
		report_targets(t.name, "mvbridge", raw_lat, raw_bw, r1, r2, br_lat, br_bw, r3, r4);
		report_targets(t.name, "embedded", raw_lat, raw_bw, r1, r2, em_lat, em_bw, r5, r6);
		fflush(stdout);
	}
	unlink(tokfile);
	return any ? 0 : 1;
}
