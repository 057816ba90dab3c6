/*
 * tests/tools/shmuser.c - a process that uses a POSIX shared-memory object in one way, for
 * tests/tools/lsshm.sh: lsshm must report it, and mvshm gc must leave the object alone.
 *
 *   shmuser map NAME         map it (MAP_SHARED), then close the descriptor: mapped only
 *   shmuser open NAME        hold a descriptor, map nothing: open only
 *   shmuser uring NAME       map it and register the mapping as an io_uring buffer
 *   shmuser uring-file NAME  register it as an io_uring fixed file, then close the descriptor
 *                            and map nothing: only the ring holds it
 *   shmuser uring-file-busy NAME
 *                            the same, and then keep the ring's lock held about half the time
 *                            (registering and unregistering a 16 MiB buffer, then resting as
 *                            long): the kernel leaves the ring out of its fdinfo while the lock
 *                            is held, as it does at random under another reader of it
 *   shmuser memfd-open NAME  make a memfd called NAME (8 KiB of zeros) and hold it open, unmapped
 *   shmuser memfd-map NAME [FROM]
 *                            make a memfd called NAME - a copy of the object FROM, sealed against
 *                            shrinking as memview wants, or 8 KiB of zeros -, map it, then close
 *                            the descriptor: only the mapping keeps the memfd alive
 *
 * Once set up it prints "ready PID" on standard output and waits for a signal. It uses no
 * memview call (it stands for other programs) and io_uring through raw system calls, so that it
 * builds without liburing. Exit status 77 when io_uring is not available.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *name)
{
	fprintf(stderr, "shmuser: %s %s: %s\n", what, name, strerror(errno));
	exit(1);
}

static void *map(int fd, const char *name, size_t *len)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		die("fstat", name);
	*len = st.st_size ? (size_t)st.st_size : 1;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap", name);
	return p;
}

/* A memfd called @name holding a copy of the object at @from, or 8 KiB of zeros. */
static int memfd_of(const char *name, const char *from)
{
	char buf[8192];
	ssize_t n;
	int fd, src;

	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		die("memfd_create", name);
	if (!from) {
		if (ftruncate(fd, sizeof(buf)) < 0)
			die("ftruncate", name);
		return fd;
	}
	src = open(from, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		die("open", from);
	while ((n = read(src, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			die("write", name);
	if (n < 0)
		die("read", from);
	close(src);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		die("F_ADD_SEALS", name);
	return fd;
}

static int ring_new(void)
{
	struct io_uring_params params;
	long fd;

	memset(&params, 0, sizeof(params));
	fd = syscall(SYS_io_uring_setup, 4, &params);
	if (fd < 0) {
		printf("SKIP: io_uring_setup: %s\n", strerror(errno));
		exit(77);
	}
	return (int)fd;
}

static void ring_register(int ring, unsigned op, void *arg, unsigned n, const char *name)
{
	if (syscall(SYS_io_uring_register, ring, op, arg, n) < 0)
		die("io_uring_register", name);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* uring-file-busy: say ready, then hold @ring's lock about half the time, until killed. */
static void busy_ring(int ring, const char *path)
{
	size_t len = (size_t)16 << 20;
	struct iovec iov = { mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0), len };
	struct timespec rest;
	long long t0, dt;

	if (iov.iov_base == MAP_FAILED)
		die("mmap", path);
	memset(iov.iov_base, 1, len);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		t0 = now_ns();
		ring_register(ring, IORING_REGISTER_BUFFERS, &iov, 1, path);
		ring_register(ring, IORING_UNREGISTER_BUFFERS, NULL, 0, path);
		dt = now_ns() - t0;
		rest.tv_sec = dt / 1000000000LL;
		rest.tv_nsec = dt % 1000000000LL;
		nanosleep(&rest, NULL);
	}
}

int main(int argc, char **argv)
{
	struct iovec iov;
	const char *mode, *name;
	char path[300];
	size_t len;
	int fd, ring;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[1], "memfd-map") != 0)) {
		fprintf(stderr, "usage: shmuser map|open|uring|uring-file|uring-file-busy|memfd-open "
				"NAME\n"
				"       shmuser memfd-map NAME [FROM]\n");
		return 2;
	}
	mode = argv[1];
	name = argv[2];
	/* shm_open(3) without -lrt on older glibc: the object is /dev/shm/NAME. */
	snprintf(path, sizeof(path), "/dev/shm/%s", name[0] == '/' ? name + 1 : name);
	if (strncmp(mode, "memfd-", 6) == 0) {
		if (argc == 4)
			snprintf(path, sizeof(path), "/dev/shm/%s",
				 argv[3][0] == '/' ? argv[3] + 1 : argv[3]);
		fd = memfd_of(name, argc == 4 ? path : NULL);
		mode += 6;
	} else {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			die("open", path);
	}

	if (strcmp(mode, "map") == 0) {
		map(fd, path, &len);
		close(fd);
	} else if (strcmp(mode, "open") == 0) {
		/* keep fd */
	} else if (strcmp(mode, "uring") == 0) {
		iov.iov_base = map(fd, path, &len);
		iov.iov_len = len;
		close(fd);
		ring = ring_new();
		ring_register(ring, IORING_REGISTER_BUFFERS, &iov, 1, path);
	} else if (strcmp(mode, "uring-file") == 0 || strcmp(mode, "uring-file-busy") == 0) {
		ring = ring_new();
		ring_register(ring, IORING_REGISTER_FILES, &fd, 1, path);
		close(fd);
		if (strcmp(mode, "uring-file-busy") == 0)
			busy_ring(ring, path);
	} else {
		fprintf(stderr, "shmuser: unknown mode '%s'\n", mode);
		return 2;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}
