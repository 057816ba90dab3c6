/*
 * tests/tools/peer.c - a hostile peer for tests/tools/peers.sh: a process that controls names in
 * /dev/shm or its own descriptors, and turns them against the tools (issue 12), and a watcher
 * that tells whether anyone opened a file.
 *
 *   peer fifo-fd FD FIFO     hold FIFO open (O_RDONLY | O_NONBLOCK: no writer) at descriptor FD,
 *                            so that /proc/PID/fd/FD is a FIFO an open for reading waits on
 *   peer swap-names PATH...  swap each PATH with PATH.fifo (renameat2 RENAME_EXCHANGE), as fast
 *                            as it can, until killed; a name found missing (gc removed the
 *                            regular file) gets a new regular file of 8 KiB
 *   peer swap-fds FIFO...    for each FIFO i, a memfd of 8 KiB ("mvtest-bait") and the FIFO
 *                            (opened O_RDWR) at descriptors 200+i and 300+i; descriptor 70+i is
 *                            made the memfd and the FIFO in turn, as fast as it can, until killed
 *                            - a scan of /proc/PID/fd meets a memfd at 70+i, which may be the
 *                            FIFO by the time it is opened
 *   peer watch PATH...       report every open of each PATH as "opened PATH ..." on standard
 *                            output, until killed; an O_PATH open is not reported. With
 *                            fanotify only opens by processes of the watcher's mount namespace
 *                            are (others: "elsewhere PATH ..."), since another session's
 *                            scanner may inspect every process on the machine; without it,
 *                            inotify reports every open
 *
 * Each prints "ready PID" on standard output once set up. It uses no memview call: it stands for
 * any process. Exit status 2 on a bad command line, 1 when a system call fails.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "peer: %s %s: %s\n", what, arg, strerror(errno));
	exit(1);
}

static void ready(void)
{
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
}

/* Put @fd at descriptor @to (close-on-exec), closing @fd. */
static void move_fd(int fd, int to, const char *what)
{
	if (fd < 0 || dup3(fd, to, O_CLOEXEC) < 0)
		die("descriptor", what);
	close(fd);
}

static _Noreturn void fifo_fd(int to, const char *fifo)
{
	move_fd(open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC), to, fifo);
	ready();
	for (;;)
		pause();
}

/* A regular file of 8 KiB at @path, unless something is there already. */
static void regular_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EEXIST)
		return;
	if (fd < 0 || ftruncate(fd, 8192) < 0)
		die("create", path);
	close(fd);
}

static _Noreturn void swap_names(char **paths, int n)
{
	char (*fifo)[PATH_MAX] = calloc((size_t)n, PATH_MAX);
	int i;

	if (!fifo)
		die("calloc", "");
	for (i = 0; i < n; i++)
		snprintf(fifo[i], PATH_MAX, "%s.fifo", paths[i]);
	ready();
	for (;;) {
		for (i = 0; i < n; i++) {
			if (renameat2(AT_FDCWD, paths[i], AT_FDCWD, fifo[i], RENAME_EXCHANGE) == 0)
				continue;
			if (errno != ENOENT)
				die("renameat2", paths[i]);
			regular_file(paths[i]);
			regular_file(fifo[i]);
		}
	}
}

#define BAIT_FD 70

static _Noreturn void swap_fds(char **fifos, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		move_fd(open(fifos[i], O_RDWR | O_NONBLOCK | O_CLOEXEC), 300 + i, fifos[i]);
		move_fd(memfd_create("mvtest-bait", MFD_CLOEXEC), 200 + i, "memfd");
		if (ftruncate(200 + i, 8192) < 0 || dup2(200 + i, BAIT_FD + i) < 0)
			die("memfd", fifos[i]);
	}
	ready();
	for (;;) {
		for (i = 0; i < n; i++) {
			dup2(300 + i, BAIT_FD + i);
			dup2(200 + i, BAIT_FD + i);
		}
	}
}

/* The inode of @pid's mount namespace, 0 if it cannot be read. */
static ino_t mount_ns(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/*
 * With fanotify: each open comes with the opener's pid, so that only processes of this mount
 * namespace (the test's: peers.sh runs in one of its own) are reported; another session's
 * scanner, which may inspect every process on the machine, is not the tool under test. An opener
 * whose namespace can no longer be read (it exited) is counted as ours. fanotify reports opens of
 * FIFOs only to groups that identify files by handle (FAN_REPORT_FID), with no descriptor: one
 * group per path tells which. Returns only if fanotify cannot be used.
 */
static void watch_fanotify(char **paths, int n)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	const struct fanotify_event_metadata *md;
	struct pollfd *pfd = n > 0 ? calloc((size_t)n, sizeof(*pfd)) : NULL;
	ino_t ns, self;
	ssize_t len;
	int i;

	if (!pfd)
		die("calloc", "");
	for (i = 0; i < n; i++) {
		pfd[i].events = POLLIN;
		pfd[i].fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_REPORT_FID, O_RDONLY);
		if (pfd[i].fd < 0 ||
		    fanotify_mark(pfd[i].fd, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, paths[i]) < 0) {
			while (i >= 0)
				close(pfd[i--].fd);
			free(pfd);
			return;
		}
	}
	self = mount_ns(getpid());
	ready();
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll", "fanotify");
		}
		for (i = 0; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			len = read(pfd[i].fd, buf, sizeof(buf));
			if (len < 0 && errno == EINTR)
				continue;
			if (len <= 0)
				die("read", "fanotify");
			for (md = (const void *)buf; FAN_EVENT_OK(md, len);
			     md = FAN_EVENT_NEXT(md, len)) {
				if (md->vers != FANOTIFY_METADATA_VERSION)
					die("fanotify", "metadata version");
				if (!(md->mask & FAN_OPEN))
					continue;
				ns = mount_ns(md->pid);
				printf("%s %s by pid %d\n", !ns || ns == self ? "opened" : "elsewhere",
				       paths[i], (int)md->pid);
			}
			fflush(stdout);
		}
	}
}

/* Without fanotify: inotify, which says that a file was opened, not by whom. */
static _Noreturn void watch_inotify(char **paths, int n)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	int ino = inotify_init1(IN_CLOEXEC), *wd, i;
	ssize_t len, off;

	wd = calloc((size_t)n, sizeof(*wd));
	if (ino < 0 || !wd)
		die("inotify_init1", "");
	for (i = 0; i < n; i++) {
		wd[i] = inotify_add_watch(ino, paths[i], IN_OPEN);
		if (wd[i] < 0)
			die("inotify_add_watch", paths[i]);
	}
	ready();
	for (;;) {
		len = read(ino, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			die("read", "inotify");
		for (off = 0; off < len; off += (ssize_t)sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			/* Not IN_IGNORED: the file's last name went (gc may remove it). */
			for (i = 0; i < n && (ev->mask & IN_OPEN); i++)
				if (wd[i] == ev->wd)
					printf("opened %s\n", paths[i]);
		}
		fflush(stdout);
	}
}

static _Noreturn void watch(char **paths, int n)
{
	watch_fanotify(paths, n);
	watch_inotify(paths, n);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "fifo-fd") == 0)
		fifo_fd(atoi(argv[2]), argv[3]);
	if (argc >= 3 && strcmp(argv[1], "swap-names") == 0)
		swap_names(argv + 2, argc - 2);
	if (argc >= 3 && argc <= 12 && strcmp(argv[1], "swap-fds") == 0)
		swap_fds(argv + 2, argc - 2);
	if (argc >= 3 && strcmp(argv[1], "watch") == 0)
		watch(argv + 2, argc - 2);
	fprintf(stderr, "usage: peer fifo-fd FD FIFO\n"
			"       peer swap-names PATH...\n"
			"       peer swap-fds FIFO...\n"
			"       peer watch PATH...\n");
	return 2;
}
