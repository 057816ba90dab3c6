/*
 * tools/safeopen.c - see safeopen.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "safeopen.h"

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Open the file @pathfd (an O_PATH descriptor of a regular file) holds, for @acc. */
static int reopen(int pathfd, int acc, const struct stat *was)
{
	struct stat st;
	char self[64];
	int fd, rc;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", pathfd);
	fd = open(self, acc | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || !same_file(&st, was)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int safe_open(const char *path, int acc, unsigned flags, const struct stat *want,
	      struct stat *out)
{
	struct stat st;
	int pathfd, fd;

	pathfd = open(path, O_PATH | O_CLOEXEC | ((flags & SAFE_NOFOLLOW) ? O_NOFOLLOW : 0));
	if (pathfd < 0)
		return -errno;
	if (fstat(pathfd, &st) < 0) {
		fd = -errno;
		goto out;
	}
	if (out)
		*out = st;
	if (!S_ISREG(st.st_mode)) {
		fd = -EINVAL;
		goto out;
	}
	if (want && !same_file(&st, want)) {
		fd = -ESTALE;
		goto out;
	}
	fd = reopen(pathfd, acc, &st);
	if ((fd == -EACCES || fd == -EPERM || fd == -EROFS) && acc == O_RDWR &&
	    (flags & SAFE_RDONLY_FALLBACK))
		fd = reopen(pathfd, O_RDONLY, &st);
out:
	close(pathfd);
	return fd;
}

const char *safe_open_error(int rc, const struct stat *st)
{
	mode_t m = st ? st->st_mode : 0;

	if (rc == -ESTALE)
		return "it changed since it was listed (another file took its place)";
	if (rc != -EINVAL)
		return strerror(-rc);
	if (S_ISFIFO(m))
		return "not a regular file (a FIFO)";
	if (S_ISLNK(m))
		return "not a regular file (a symbolic link)";
	if (S_ISDIR(m))
		return "not a regular file (a directory)";
	if (S_ISSOCK(m))
		return "not a regular file (a socket)";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "not a regular file (a device)";
	return "not a regular file";
}
