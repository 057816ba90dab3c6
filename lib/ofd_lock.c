/*
 * lib/ofd_lock.c - one-byte open-file-description locks: the kernel's record of who is alive.
 *
 * memview never trusts a word in shared memory to say that a process holds something: a peer
 * can write any word, and a dead process writes nothing. An OFD lock (F_OFD_SETLK) belongs to an
 * open file description, is dropped by the kernel when the last descriptor of it closes - however
 * the process died - and cannot be forged or removed by anyone else. Segments lock a byte to say
 * "this process holds exports"; channels lock one byte per participant to say "alive". Locks
 * need not lie inside the file, so the bytes cost nothing.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "internal.h"

#include <fcntl.h>
#include <string.h>

static int ofd(int fd, off_t byte, short type, int cmd, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = byte;
	fl->l_len = 1;
	return fcntl(fd, cmd, fl) < 0 ? -errno : 0;
}

int mv_ofd_lock(int fd, off_t byte, short type)
{
	struct flock fl;
	int rc = ofd(fd, byte, type, F_OFD_SETLK, &fl);

	return rc == -EAGAIN || rc == -EACCES ? -EBUSY : rc;
}

int mv_ofd_test(int fd, off_t byte, short type)
{
	struct flock fl;
	int rc = ofd(fd, byte, type, F_OFD_GETLK, &fl);

	return rc < 0 ? rc : fl.l_type != F_UNLCK;
}
