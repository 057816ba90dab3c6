/*
 * memview/bridge.h - a channel between hosts: a bridge joins a local channel as a consumer and
 * forwards every message over UCX to bridges on other hosts, each the producer of a channel of
 * the same geometry there, which receive each message straight into a loaned slot.
 *
 * In libmemview-bridge (link with -lmemview-bridge -lmemview), built when configure finds UCX;
 * apart from libmemview because UCX's memory hooks load with it, and no plain channel user
 * should get them.
 *
 * Semantics: order and content kept, nothing delivered twice; credit is free slots of the
 * receiving channel, so a slow remote consumer slows the sender and no queue grows anywhere;
 * when the link or a bridge dies, the receiving channel is closed (its consumers get -EPIPE
 * after the last complete message) and the sender reports how many messages were not
 * acknowledged; with MV_BRIDGE_RETRY both sides wait for the link to come back and resume where
 * the receiver stopped. A peer must present the channel's name and the shared token before
 * anything else is accepted.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_BRIDGE_H
#define MEMVIEW_BRIDGE_H

#include "memview/common.h"

#include <stddef.h>
#include <stdint.h>

MV_BEGIN_DECLS

/* The bridge library's own export mark: its calls are listed in its own version script. */
#define MV_BRIDGE_API __attribute__((visibility("default")))

typedef struct mv_bridge mv_bridge;

#define MV_BRIDGE_MAX_PEERS 16

/* Flags for mv_bridge_opts.flags. */
#define MV_BRIDGE_RETRY 0x1u /* a lost link is waited for (retry_ns) and the stream resumed */
#define MV_BRIDGE_BUSY 0x2u  /* never sleep: poll UCX and the channel in a loop (latency) */

typedef struct mv_bridge_opts {
	size_t size;               /* sizeof(mv_bridge_opts) */
	unsigned flags;            /* MV_BRIDGE_* */
	const void *token;         /* the shared secret (required), 1..256 bytes */
	size_t token_len;
	unsigned consumers;        /* receive: local consumers to wait for before accepting data */
	const char *expect;        /* receive: the sender's channel name to accept (NULL: any) */
	long long retry_ns;        /* with MV_BRIDGE_RETRY: how long a lost link is waited for */
	uint64_t max_bytes;        /* receive: largest channel a sender may ask for; 0: 4 GiB */
	void (*log)(void *arg, const char *line); /* one line per event; NULL: silent */
	void *log_arg;
} mv_bridge_opts;

#define MV_BRIDGE_OPTS_INIT { sizeof(mv_bridge_opts), 0, NULL, 0, 0, NULL, 10000000000LL, 0, \
			      NULL, NULL }

/*
 * mv_bridge_send - join local channel @chan as a consumer and connect to @n receivers @to
 * ("HOST:PORT", "[V6ADDR]:PORT"); every message is forwarded to all of them. Returns 0,
 * -EINVAL, -ENOENT (no such channel), -ECONNREFUSED, -EACCES (a receiver refused the token or
 * name), -ETIMEDOUT, -ENOMEM.
 */
MV_BRIDGE_API int mv_bridge_send(mv_bridge **out, const char *chan, const char *const *to,
				 unsigned n, const mv_bridge_opts *opts);

/*
 * mv_bridge_recv - listen on @listen ("ADDR:PORT"; NULL: 127.0.0.1:13337) for one sender; its
 * HELLO makes the local channel @name (NULL: the sender's channel's name) of its geometry.
 * Returns 0, -EINVAL, -EADDRINUSE, -ENOMEM.
 */
MV_BRIDGE_API int mv_bridge_recv(mv_bridge **out, const char *name, const char *listen,
				 const mv_bridge_opts *opts);

/*
 * mv_bridge_run - do the bridge's work for up to @timeout_ns (MV_CHAN_FOREVER: until done);
 * 0: one round of work that waits for no new event, for a program that runs the bridge from
 * its own loop (making or dropping a connection can still take a moment: the HELLO's channel
 * waiting for --consumers looks for 10 ms, a refused peer's close is flushed for up to 1 s).
 * Returns 1 when the stream ended in good order (sender: every message acknowledged; receiver:
 * the sender said it is done), 0 when the time passed, or a negative errno when the link was
 * lost for good (-EPIPE, -ECONNRESET) or a peer broke the protocol (-EPROTO).
 */
MV_BRIDGE_API int mv_bridge_run(mv_bridge *b, long long timeout_ns);

/* Counters. Start from MV_BRIDGE_STATS_INIT. */
typedef struct mv_bridge_stats {
	size_t size;               /* sizeof(mv_bridge_stats), set by the caller */
	uint64_t messages;         /* sender: taken from the channel; receiver: delivered into it */
	uint64_t acked;            /* sender: acknowledged by every receiver */
	uint64_t unacked;          /* sender: taken but not acknowledged by every receiver */
	uint64_t bytes;            /* payload bytes moved */
	unsigned reconnects;       /* links that came back */
	unsigned refused;          /* receiver: peers refused (token, name, garbage) */
} mv_bridge_stats;

#define MV_BRIDGE_STATS_INIT { sizeof(mv_bridge_stats), 0, 0, 0, 0, 0, 0 }

/* mv_bridge_get_stats - fill @out. Returns 0, -EINVAL. */
MV_BRIDGE_API int mv_bridge_get_stats(mv_bridge_stats *out, mv_bridge *b);

/* mv_bridge_errmsg - the last failure of a mv_bridge_* call in this thread, one line. */
MV_BRIDGE_API const char *mv_bridge_errmsg(void);

/* mv_bridge_close - close the links and the channel, free everything. NULL is a no-op. */
MV_BRIDGE_API void mv_bridge_close(mv_bridge *b);

MV_END_DECLS

#endif
