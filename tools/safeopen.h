/*
 * tools/safeopen.h - opening files other processes control: a name in /dev/shm that its owner may
 * swap for a FIFO at any moment, a /proc/PID/fd/N or /proc/PID/map_files/START-END that its
 * process may point at a FIFO or a device. The tools often run as root over such files: nothing
 * may make them wait, open a device, or use a file other than the one they checked.
 *
 * How: the path is opened O_PATH, which opens nothing (no FIFO is opened, no device's open
 * routine runs, inotify reports no IN_OPEN); that descriptor is fstat()ed; only a regular file -
 * the one expected, when the caller knows its device and inode - is then opened for reading or
 * writing, through /proc/self/fd/<the O_PATH descriptor>, with O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
 * and checked again. The O_PATH descriptor holds the inode, so the reopen reaches that inode and
 * no other: the descriptor returned is the file that was checked, and the caller uses it (never
 * the path again).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_TOOLS_SAFEOPEN_H
#define MEMVIEW_TOOLS_SAFEOPEN_H

#include <sys/stat.h>

/* Flags for safe_open(). */
#define SAFE_NOFOLLOW 0x01u /* a symbolic link at the path is refused, not followed: a name in a
			       directory. Without it a link is followed: /proc/PID/fd/N and
			       /dev/fd/N are (magic) links */
#define SAFE_RDONLY_FALLBACK 0x02u /* O_RDWR refused (EACCES, EPERM, EROFS): open O_RDONLY */

/*
 * safe_open - open the regular file at @path for @acc (O_RDONLY or O_RDWR; with
 * SAFE_RDONLY_FALLBACK the result may be O_RDONLY: ask fcntl(F_GETFL)).
 * @want: NULL, or the file it must be (st_dev and st_ino), e.g. what a scan of /proc found at
 *        that path.
 * @st:   NULL, or where the file's fstat() goes - also when it is refused for its type.
 * Returns a descriptor (O_NONBLOCK, O_CLOEXEC), or -errno: what open(2) says (-ENOENT, -EACCES,
 * ...), -EINVAL (not a regular file; safe_open_error() says what it is), -ESTALE (not the file
 * @want: another took its place).
 */
int safe_open(const char *path, int acc, unsigned flags, const struct stat *want,
	      struct stat *st);

/*
 * safe_open_error - what a failure of safe_open() means, for a message: "not a regular file (a
 * FIFO)" (@st is the stat safe_open() filled), "it changed since it was listed", or strerror().
 */
const char *safe_open_error(int rc, const struct stat *st);

#endif /* MEMVIEW_TOOLS_SAFEOPEN_H */
