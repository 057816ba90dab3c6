/*
 * lib/shm.c - the objects behind segments: named POSIX shm (/dev/shm) and anonymous memfds.
 * Creating (O_EXCL, mode 0600, space reserved), opening, importing a received memfd after
 * checking its seals and size, passing descriptors over unix sockets, sealing, unlinking.
 *
 * Opening by name never waits and never follows a link: O_NONBLOCK | O_NOFOLLOW | O_NOCTTY,
 * then fstat() of that descriptor - a regular file, owned by the caller unless it asks for any
 * owner - and the descriptor checked is the one mapped.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "segment_internal.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest name, slash included: NAME_MAX for the file in /dev/shm, with room to spare. */
#define NAME_LEN_MAX 251

static int check_name(const char *name)
{
	size_t len;

	if (!name)
		return mv_fail(EINVAL, "segment name is NULL");
	len = strlen(name);
	if (name[0] != '/')
		return mv_fail(EINVAL, "segment name '%.64s' must start with '/'", name);
	if (len < 2)
		return mv_fail(EINVAL, "segment name '/' is empty after the slash");
	if (len > NAME_LEN_MAX)
		return mv_fail(EINVAL, "segment name is %zu characters long, the limit is %d", len,
			       NAME_LEN_MAX);
	if (strchr(name + 1, '/'))
		return mv_fail(EINVAL, "segment name '%.64s' has a '/' after the first", name);
	if (!strcmp(name, "/.") || !strcmp(name, "/.."))
		return mv_fail(EINVAL, "segment name '%s' is not a file name", name);
	return 0;
}

int mv_seg_opts(mv_segment_opts *out, const mv_segment_opts *in)
{
	mv_segment_opts def = MV_SEGMENT_OPTS_INIT;

	if (!in) {
		*out = def;
		return 0;
	}
	MV_CHECK_SIZED(in, mv_segment_opts, MV_SEGMENT_OPTS_INIT);
	*out = *in;
	if (in->flags & ~(MV_SEGMENT_READONLY | MV_SEGMENT_RAW | MV_SEGMENT_MEMFD |
			  MV_SEGMENT_FORCE | MV_SEGMENT_ANY_OWNER))
		return mv_fail(EINVAL, "unknown segment flags 0x%x", in->flags);
	if (in->seals & ~(MV_SEAL_GROW | MV_SEAL_FUTURE_WRITE))
		return mv_fail(EINVAL, "unknown seals 0x%x", in->seals);
	return 0;
}

/* Typing for a raw segment: the caller's format, one dimension. */
static int set_raw_typing(struct mv_segment *seg, const mv_segment_opts *o)
{
	const char *format = o->format ? o->format : "B";
	int rc = mv_format_parse(&seg->fmt, format);

	if (rc < 0)
		return rc;
	snprintf(seg->format, sizeof(seg->format), "%s", format);
	seg->ndim = SEG_NDIM_AUTO;
	return 0;
}

/* Check the creation options: format, shape against the size. */
static int check_create(const mv_segment_opts *o, size_t data_size)
{
	mv_format f;
	ssize_t need;
	int i, rc;

	rc = mv_format_parse(&f, o->format ? o->format : "B");
	if (rc < 0)
		return rc;
	if (strlen(f.text) >= MV_SEGMENT_FORMAT_MAX)
		return mv_fail(EINVAL, "format '%s' is too long", f.text);
	if (data_size > (size_t)SSIZE_MAX - 4096)
		return mv_fail(EOVERFLOW, "segment size %zu is too large", data_size);
	if (o->ndim > MV_MAXDIM)
		return mv_fail(EINVAL, "memoryview: number of dimensions must not exceed %d",
			       MV_MAXDIM);
	if (o->ndim > 0 && !o->shape)
		return mv_fail(EINVAL, "segment options: ndim %d without a shape", o->ndim);
	if (o->ndim < 0) {
		if (data_size % f.itemsize)
			return mv_fail(EINVAL, "segment size %zu is not a multiple of the item size %u "
					       "of format '%s'", data_size, f.itemsize, f.text);
		return 0;
	}
	for (i = 0; i < o->ndim; i++)
		if (o->shape[i] < 0)
			return mv_fail(EINVAL, "shape entry %d is negative", i);
	need = mv_shape_nbytes(f.itemsize, o->ndim, o->shape);
	if (need < 0)
		return mv_fail(EOVERFLOW, "product(shape) * itemsize overflows");
	if ((size_t)need > data_size)
		return mv_fail(EINVAL, "shape needs %zd bytes but the segment has %zu", need,
			       data_size);
	return 0;
}

/* Reserve @total bytes for @fd so a full tmpfs fails now, not later with SIGBUS. */
static int reserve(int fd, size_t total, const char *name)
{
	int rc = posix_fallocate(fd, 0, (off_t)total);

	if (rc == ENOSPC)
		return mv_fail(ENOSPC, "%s: not enough space in /dev/shm for %zu bytes", name,
			       total);
	if (rc == EOPNOTSUPP || rc == EINVAL) {
		if (ftruncate(fd, (off_t)total) == 0)
			return 0;
		rc = errno;
	}
	if (rc)
		return mv_fail(rc, "%s: cannot reserve %zu bytes: %s", name, total, strerror(rc));
	return 0;
}

int mv_segment_create(mv_segment **out, const char *name, size_t data_size,
		      const mv_segment_opts *opts)
{
	struct mv_segment *seg;
	mv_segment_opts o;
	int fd, rc, memfd;
	unsigned seals;

	MV_CHECK_ARG(out, "out");
	rc = mv_seg_opts(&o, opts);
	if (rc < 0)
		return rc;
	memfd = (o.flags & MV_SEGMENT_MEMFD) != 0;
	if (o.flags & (MV_SEGMENT_READONLY | MV_SEGMENT_RAW | MV_SEGMENT_ANY_OWNER))
		return mv_fail(EINVAL, "create makes read-write memview segments of its own: "
				       "READONLY, RAW and ANY_OWNER are for opening");
	if (!memfd) {
		rc = check_name(name);
		if (rc < 0)
			return rc;
	}
	rc = check_create(&o, data_size);
	if (rc < 0)
		return rc;
	/* Before anything is made: the reservation below would take all of it at once. */
	rc = mv_shm_room_check(4096 + data_size, memfd ? (name ? name : "memfd") : name);
	if (rc < 0)
		return rc;

	if (memfd) {
		fd = memfd_create(name ? name : "memview", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0)
			return mv_fail(errno, "memfd_create: %s", strerror(errno));
	} else {
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
			      o.mode ? (mode_t)o.mode : 0600);
		if (fd < 0) {
			rc = errno;
			return mv_fail(rc, "%s: cannot create: %s", name,
				       rc == EEXIST ? "a segment of that name exists" : strerror(rc));
		}
		/* The umask must not loosen or tighten what the caller asked for. */
		if (fchmod(fd, o.mode ? (mode_t)o.mode : 0600) < 0) {
			rc = mv_fail(errno, "%s: chmod: %s", name, strerror(errno));
			goto fail_fd;
		}
	}
	rc = reserve(fd, 4096 + data_size, memfd ? "memfd" : name);
	if (rc < 0)
		goto fail_fd;
	rc = mv_seg_new(&seg, fd, 0, memfd ? (name ? name : "memfd") : name, memfd);
	if (rc < 0)
		goto fail_name;
	rc = mv_seg_format_new(seg, data_size, &o);
	if (rc < 0) {
		mv_seg_free(seg);
		goto fail_name;
	}
	if (memfd) {
		seals = F_SEAL_SHRINK | ((o.seals & MV_SEAL_GROW) ? F_SEAL_GROW : 0) |
			((o.seals & MV_SEAL_FUTURE_WRITE) ? F_SEAL_FUTURE_WRITE : 0);
		if (fcntl(fd, F_ADD_SEALS, seals) < 0) {
			rc = mv_fail(errno, "memfd: cannot seal: %s", strerror(errno));
			mv_seg_free(seg);
			return rc;
		}
	}
	*out = seg;
	return 0;
fail_fd:
	close(fd);
fail_name:
	if (!memfd)
		shm_unlink(name);
	return rc;
}

/* Attach a handle on @fd (owned) with the options; frees everything on failure. */
static int open_fd(mv_segment **out, int fd, const char *name, int memfd,
		   const mv_segment_opts *o)
{
	struct mv_segment *seg;
	int rc;

	rc = mv_seg_new(&seg, fd, o->flags & (MV_SEGMENT_READONLY | MV_SEGMENT_RAW), name, memfd);
	if (rc < 0)
		return rc;
	if (o->flags & MV_SEGMENT_RAW) {
		rc = set_raw_typing(seg, o);
		if (rc < 0) {
			mv_seg_free(seg);
			return rc;
		}
	}
	rc = mv_seg_attach(seg);
	if (rc < 0) {
		mv_seg_free(seg);
		return rc;
	}
	*out = seg;
	return 0;
}

/*
 * O_NONBLOCK was for opening only (a FIFO at the name must not block us): the descriptor is
 * handed out (mv_segment_fd()) and io_uring would take it as "never wait" for file I/O.
 */
static int clear_nonblock(int *fd, const char *name)
{
	int fl = fcntl(*fd, F_GETFL);

	if (fl < 0 || fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int rc = errno;

		close(*fd);
		return mv_fail(rc, "%s: fcntl: %s", name, strerror(rc));
	}
	return 0;
}

/*
 * Open the object named @name (checked) with @acc (O_RDONLY or O_RDWR) without waiting or
 * following a link, and check what the descriptor is: a regular file, owned by the caller unless
 * @any_owner. The descriptor in *@fd is the one checked; -errno with a message otherwise.
 */
/* -EINVAL: what @st describes is not a shared-memory object. */
static int not_regular(const char *name, const struct stat *st)
{
	return mv_fail(EINVAL, "%s: not a regular file (a %s): not a shared memory object", name,
		       S_ISFIFO(st->st_mode) ? "FIFO" : S_ISDIR(st->st_mode) ? "directory" :
		       S_ISSOCK(st->st_mode) ? "socket" : "device or other special file");
}

static int open_object(int *fd, const char *name, int acc, int any_owner)
{
	struct stat st;
	int rc;

	*fd = shm_open(name, acc | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
	if (*fd < 0) {
		rc = errno;
		if (rc == ELOOP)
			return mv_fail(EINVAL, "%s: is a symbolic link, not a shared memory object: "
					       "refused", name);
		if ((rc == EISDIR || rc == EINVAL) && acc != O_RDONLY) {
			/* A directory cannot be opened for writing: say what it is, as a
			 * readonly open (which can open it) does. */
			int ro = shm_open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
						O_CLOEXEC, 0);

			if (ro >= 0 && fstat(ro, &st) == 0 && !S_ISREG(st.st_mode)) {
				close(ro);
				return not_regular(name, &st);
			}
			if (ro >= 0)
				close(ro);
		}
		return mv_fail(rc, "%s: cannot open: %s", name,
			       rc == ENOENT ? "no such segment" : strerror(rc));
	}
	if (fstat(*fd, &st) < 0) {
		rc = errno;
		close(*fd);
		return mv_fail(rc, "%s: fstat: %s", name, strerror(rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(*fd);
		return not_regular(name, &st);
	}
	if (!any_owner && st.st_uid != geteuid()) {
		close(*fd);
		return mv_fail(EPERM, "%s: owned by uid %u, not you: pass MV_SEGMENT_ANY_OWNER to "
				      "open it anyway", name, (unsigned)st.st_uid);
	}
	return clear_nonblock(fd, name);
}

int mv_segment_open(mv_segment **out, const char *name, const mv_segment_opts *opts)
{
	mv_segment_opts o;
	int fd, rc;

	MV_CHECK_ARG(out, "out");
	rc = mv_seg_opts(&o, opts);
	if (rc < 0)
		return rc;
	rc = check_name(name);
	if (rc < 0)
		return rc;
	rc = open_object(&fd, name, (o.flags & MV_SEGMENT_READONLY) ? O_RDONLY : O_RDWR,
			 (o.flags & MV_SEGMENT_ANY_OWNER) != 0);
	if (rc < 0)
		return rc;
	return open_fd(out, fd, name, 0, &o);
}

/*
 * A descriptor of @fd's memfd with an open file description of our own, opened @acc (never
 * more access than @fd has): a received descriptor shares its sender's description, and
 * kernel locks do not exclude the holders of one description - the header lock would not keep
 * us and the sender apart. Reopening /proc/self/fd/N makes a new description of the same
 * object, checked to be the same inode; without /proc (or when the reopen is refused) a
 * duplicate is used, and the header lock then does not exclude the descriptor's other holders.
 */
static int own_description(int *out, int fd, int acc)
{
	struct stat want, got;
	char path[64];
	int nfd;

	*out = -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, acc | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (nfd >= 0 && (fstat(fd, &want) < 0 || fstat(nfd, &got) < 0 ||
			 want.st_dev != got.st_dev || want.st_ino != got.st_ino ||
			 !S_ISREG(got.st_mode))) {
		close(nfd);
		return mv_fail(EINVAL, "import: descriptor %d changed while it was imported", fd);
	}
	if (nfd >= 0) {
		int rc = clear_nonblock(&nfd, "import");

		if (rc < 0)
			return rc;
		*out = nfd;
		return 0;
	}
	if (errno == EMFILE)
		return mv_fail(EMFILE, "import: no descriptor free: %s", strerror(errno));
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (nfd < 0)
		return mv_fail(errno, "import: dup: %s", strerror(errno));
	*out = nfd;
	return 0;
}

int mv_segment_import(mv_segment **out, int fd, const mv_segment_opts *opts)
{
	mv_segment_opts o;
	int seals, acc, dup, rc;

	MV_CHECK_ARG(out, "out");
	rc = mv_seg_opts(&o, opts);
	if (rc < 0)
		return rc;
	acc = fcntl(fd, F_GETFL);
	if (acc < 0)
		return mv_fail(EBADF, "import: descriptor %d is not open", fd);
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return mv_fail(EINVAL, "import: descriptor %d is not a memfd (no seals): %s", fd,
			       strerror(errno));
	if (!(seals & F_SEAL_SHRINK))
		return mv_fail(EPERM, "import: the memfd is not sealed against shrinking: its "
				      "owner could truncate it under our views");
	/* A memfd sealed against writes can only be viewed readonly. */
	if ((seals & (F_SEAL_FUTURE_WRITE | F_SEAL_WRITE)) || (acc & O_ACCMODE) == O_RDONLY)
		o.flags |= MV_SEGMENT_READONLY;
	rc = own_description(&dup, fd, (o.flags & MV_SEGMENT_READONLY) ? O_RDONLY : O_RDWR);
	if (rc < 0)
		return rc;
	return open_fd(out, dup, "memfd", 1, &o);
}

int mv_segment_send(const mv_segment *seg, int sock)
{
	char byte = 'M', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr msg;
	struct cmsghdr *c;

	MV_CHECK_ARG(seg, "seg");
	memset(&msg, 0, sizeof(msg));
	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &seg->fd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1)
		return mv_fail(errno == EPIPE ? EPIPE : errno, "send segment: %s", strerror(errno));
	return 0;
}

/* Close every descriptor a message carried; how many there were. */
static int close_received(struct msghdr *msg)
{
	struct cmsghdr *c;
	int n = 0, fd;
	size_t i, k;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
			n++;
		}
	}
	return n;
}

int mv_segment_recv(mv_segment **out, int sock, const mv_segment_opts *opts)
{
	/* Room for a few more than the one we want, so that extra ones arrive and are closed. */
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg;
	struct cmsghdr *c;
	ssize_t n;
	int fd, rc, count;

	MV_CHECK_ARG(out, "out");
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return mv_fail(errno, "receive segment: %s", strerror(errno));
	if (n == 0)
		return mv_fail(EPIPE, "receive segment: the peer closed the socket");
	c = CMSG_FIRSTHDR(&msg);
	if (!c && (msg.msg_flags & MSG_CTRUNC)) {
		/* The kernel dropped the descriptor because it could not install it here. */
		struct rlimit rl;

		getrlimit(RLIMIT_NOFILE, &rl);
		return mv_fail(EMFILE, "receive segment: the descriptor was sent but no descriptor "
				       "was free to receive it (RLIMIT_NOFILE %llu): it is lost, close "
				       "descriptors and have the peer send it again",
			       (unsigned long long)rl.rlim_cur);
	}
	if (msg.msg_flags & MSG_CTRUNC) {
		count = close_received(&msg);
		return mv_fail(EINVAL, "receive segment: the message carried more descriptors than "
				       "the one expected (%d received and closed, others dropped)",
			       count);
	}
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)) || CMSG_NXTHDR(&msg, c) != NULL) {
		count = close_received(&msg);
		if (count == 0)
			return mv_fail(EINVAL, "receive segment: the message carried no descriptor");
		return mv_fail(EINVAL, "receive segment: the message carried %d descriptors, not "
				       "one: all closed", count);
	}
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	rc = mv_segment_import(out, fd, opts);
	close(fd);
	return rc;
}

int mv_segment_seal(mv_segment *seg, unsigned seals)
{
	int k = 0;

	MV_CHECK_ARG(seg, "seg");
	if (seals & ~(MV_SEAL_GROW | MV_SEAL_FUTURE_WRITE))
		return mv_fail(EINVAL, "unknown seals 0x%x", seals);
	if (!seg->is_memfd)
		return mv_fail(EPERM, "%s: only memfd segments can be sealed", seg->name);
	k |= (seals & MV_SEAL_GROW) ? F_SEAL_GROW : 0;
	k |= (seals & MV_SEAL_FUTURE_WRITE) ? F_SEAL_FUTURE_WRITE : 0;
	if (fcntl(seg->fd, F_ADD_SEALS, k) < 0)
		return mv_fail(errno == EBUSY ? EBUSY : EPERM, "%s: the kernel refused the seals: %s",
			       seg->name, strerror(errno));
	return 0;
}

int mv_segment_unlink(const char *name, unsigned flags)
{
	int fd, rc;

	rc = check_name(name);
	if (rc < 0)
		return rc;
	if (flags & ~MV_SEGMENT_FORCE)
		return mv_fail(EINVAL, "unknown unlink flags 0x%x", flags);
	if (!(flags & MV_SEGMENT_FORCE)) {
		/* Hold the write lock across the unlink: nobody can start exporting meanwhile.
		 * Removing another user's object is what the directory allows: any owner. */
		rc = open_object(&fd, name, O_RDWR, 1);
		if (rc == -EACCES || rc == -EPERM)
			rc = open_object(&fd, name, O_RDONLY, 1);
		if (rc < 0)
			return rc;
		rc = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR ? mv_seg_lock_byte_write(fd) :
								     (mv_segment_busy(fd) > 0 ? -EBUSY : 0);
		if (rc == -EBUSY) {
			close(fd);
			return mv_fail(EBUSY, "%s: a live process holds views of it (use force to "
					      "remove it anyway)", name);
		}
		if (rc < 0) { /* cannot tell whether it is in use: do not remove it */
			close(fd);
			return mv_fail(-rc, "%s: cannot check for live views: %s", name,
				       strerror(-rc));
		}
		if (shm_unlink(name) < 0) {
			rc = errno;
			close(fd);
			return mv_fail(rc, "%s: cannot remove: %s", name, strerror(rc));
		}
		close(fd); /* drops the lock */
		return 0;
	}
	if (shm_unlink(name) < 0) {
		rc = errno;
		return mv_fail(rc, "%s: cannot remove: %s", name,
			       rc == ENOENT ? "no such segment" : strerror(rc));
	}
	return 0;
}
