/*
 * lib/fd_pass.h - a message that carries one descriptor (SCM_RIGHTS): the socket layer of a
 * channel's handshake (lib/chan_wire.c) and the tests that speak that handshake as an outside
 * peer (tests/testlib.c) build it the same way. Header-only, system headers only: the tests link
 * the shared library, whose internals are hidden, and include this file directly.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_FD_PASS_H
#define MEMVIEW_FD_PASS_H

#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Room for one descriptor's control message, aligned as cmsghdr wants. */
union mv_fd_ctl {
	struct cmsghdr h;
	char buf[CMSG_SPACE(sizeof(int))];
};

/*
 * @msg sends the @len bytes at @buf (through @iov) and, when @fd >= 0, the descriptor @fd (in
 * @ctl). @iov and @ctl must live until the sendmsg().
 */
static inline void mv_fd_msg(struct msghdr *msg, struct iovec *iov, union mv_fd_ctl *ctl,
			     const void *buf, size_t len, int fd)
{
	memset(msg, 0, sizeof(*msg));
	iov->iov_base = (void *)buf;
	iov->iov_len = len;
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
	if (fd < 0)
		return;
	memset(ctl, 0, sizeof(*ctl));
	msg->msg_control = ctl->buf;
	msg->msg_controllen = sizeof(ctl->buf);
	ctl->h.cmsg_level = SOL_SOCKET;
	ctl->h.cmsg_type = SCM_RIGHTS;
	ctl->h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&ctl->h), &fd, sizeof(int));
}

#endif
