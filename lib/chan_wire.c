/*
 * lib/chan_wire.c - the messages a channel's producer and its joiners exchange on their unix
 * sockets, and who may connect.
 *
 * A channel listens on an abstract unix socket ("\0memview.chan/NAME"): nothing in the file
 * system to leave behind or to remove, and the name vanishes with the producer. Abstract
 * sockets have no file permissions, so the producer checks each peer's credentials itself
 * (SO_PEERCRED, SO_PEERGROUPS) against the channel's mode, and a joiner checks that the
 * producer is who it should be. Abstract names belong to a network namespace: a channel is
 * joined from the producer's network namespace (as a host's channels are joined from that
 * host).
 *
 * SOCK_SEQPACKET keeps message boundaries, so each message is read whole or not at all; every
 * message is checked (size, magic, version, type, descriptors) before anything in it is used,
 * and descriptors nobody asked for are closed at once.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "chan_layout.h"
#include "fd_pass.h"

#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ADDR_PREFIX "memview.chan"

int mv_chan_wire_addr(struct sockaddr_un *a, const char *name)
{
	size_t n = strlen(name);

	if (n > CHAN_NAME_MAX)
		return mv_fail(EINVAL, "channel name is %zu characters long, the limit is %d", n,
			       CHAN_NAME_MAX);
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* sun_path[0] stays 0: the abstract namespace. */
	memcpy(a->sun_path + 1, ADDR_PREFIX, sizeof(ADDR_PREFIX) - 1);
	memcpy(a->sun_path + sizeof(ADDR_PREFIX), name, n);
	return (int)(offsetof(struct sockaddr_un, sun_path) + sizeof(ADDR_PREFIX) + n);
}

int mv_chan_wire_send(int sock, const struct chan_wire *m, int pass_fd)
{
	union mv_fd_ctl ctl;
	struct iovec iov;
	struct msghdr msg;

	mv_fd_msg(&msg, &iov, &ctl, m, sizeof(*m), pass_fd);
	for (;;) {
		ssize_t n = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n == (ssize_t)sizeof(*m))
			return 0;
		if (n >= 0)
			return -EMSGSIZE; /* a datagram is sent whole or not at all */
		if (errno != EINTR)
			return -errno;
	}
}

/* Close every descriptor a received message carried, but keep the first in *@fd if wanted. */
static void take_fds(struct msghdr *msg, int *fd)
{
	struct cmsghdr *c;

	*fd = -1;
	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd < 0)
				*fd = f;
			else
				close(f);
		}
	}
}

int mv_chan_wire_recv(int sock, struct chan_wire *m, int *fd)
{
	union {
		struct cmsghdr h;
		/* Room for a few: a peer that sends more gets them closed, not leaked. */
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} ctl;
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr msg;
	ssize_t n;

	*fd = -1;
	for (;;) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n >= 0 || errno != EINTR)
			break;
	}
	/* A peer that closed with our messages unread resets the connection: that is its end too. */
	if (n < 0 && errno == ECONNRESET)
		return 0;
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	take_fds(&msg, fd);
	if ((msg.msg_flags & MSG_CTRUNC) && *fd < 0) {
		/* The kernel could not install a descriptor the message carried: most likely none
		 * was free here (RLIMIT_NOFILE), which is worth saying as such. */
		int probe = fcntl(sock, F_DUPFD_CLOEXEC, 0);

		if (probe < 0 && errno == EMFILE)
			return -EMFILE;
		if (probe >= 0)
			close(probe);
	}
	if (n == 0 && *fd < 0)
		return 0;
	if ((size_t)n != sizeof(*m) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    m->magic != CHAN_WIRE_MAGIC || m->version != CHAN_WIRE_VERSION) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -EBADMSG;
	}
	m->text[sizeof(m->text) - 1] = '\0';
	return 1;
}

int mv_chan_wire_peer(int sock, uid_t *uid, pid_t *pid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	*uid = cr.uid;
	*pid = cr.pid;
	return 0;
}

/* Whether group @gid is among the peer's groups (SO_PEERGROUPS, Linux 4.13). */
static int peer_in_group(int sock, gid_t primary, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	size_t i;

	if (primary == gid)
		return 1;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return 0;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

int mv_chan_wire_peer_allowed(int sock, unsigned mode, pid_t *pid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	*pid = cr.pid;
	/*
	 * As a file of this mode, owned by the producer's user and group, would be opened for
	 * reading: the owner and root always; a member of the group by the group bit alone; anyone
	 * else by the others bit.
	 */
	if (cr.uid == geteuid() || cr.uid == 0)
		return 1;
	if (peer_in_group(sock, cr.gid, getegid()))
		return (mode & 0040) != 0;
	return (mode & 0004) != 0;
}
