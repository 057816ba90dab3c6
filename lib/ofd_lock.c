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
#include <time.h>

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

/*
 * Waiting is done by retrying F_OFD_SETLK with sleeps that grow from 20 us to about 5 ms, not with
 * F_OFD_SETLKW: a blocking lock can only be cut short by a signal, and a library must not
 * install a handler or arm a timer that signals its caller's threads. The locks this waits for
 * are held for microseconds (a header update), so the first retries almost always win, and a
 * holder that never lets go costs the bounded wait and a clean -EBUSY. The price is fairness: a
 * waiter is not queued, so under constant contention a new comer may win first.
 */
int mv_ofd_lock_wait(int fd, off_t byte, short type, unsigned timeout_ms)
{
	struct timespec now, deadline, nap = { 0, 20000 };
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (;;) {
		rc = mv_ofd_lock(fd, byte, type);
		if (rc != -EBUSY)
			return rc;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
			return -EBUSY;
		nanosleep(&nap, NULL); /* EINTR: just try again sooner */
		if (nap.tv_nsec < 4000000L)
			nap.tv_nsec *= 2;
	}
}
