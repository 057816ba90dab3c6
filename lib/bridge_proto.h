/*
 * lib/bridge_proto.h - the bridge's messages and the rules for them, apart from UCX: what a
 * HELLO must hold to be accepted (channel name, shared token, geometry a channel can be made
 * of), the receiver's sequencing (in order, duplicates dropped, nothing past the credit), and
 * the credit rule (never grant more than free slots). bridge.c moves these over UCX active
 * messages; tests/check_bridge_proto.c checks them without UCX. Internal: not installed.
 *
 * Both ends are hosts of the same byte order (the magic would not match otherwise: a HELLO
 * from a host of the other order is refused as garbage).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_BRIDGE_PROTO_H
#define MEMVIEW_BRIDGE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define BR_MAGIC 0x5242564du /* "MVBR" */
#define BR_VERSION 1
#define BR_TOKEN_MAX 256
#define BR_NAME_MAX 90
#define BR_MAXDIM 8

/* Active message ids. */
enum { BR_AM_HELLO = 0x4d0, BR_AM_ACCEPT, BR_AM_DATA, BR_AM_ACK, BR_AM_BYE };

/* Sender -> receiver, first and only before ACCEPT: who, which stream, what shape. */
struct br_hello {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;
	uint64_t session;      /* the sender's stream: a reconnect presents the same one */
	uint64_t slot_size;
	uint32_t nslots;
	int32_t ndim;
	char format[16];
	int64_t shape[BR_MAXDIM];
	char name[BR_NAME_MAX + 6]; /* the sender's channel, NUL-terminated */
	uint32_t token_len;
	uint32_t reserved;
	unsigned char token[BR_TOKEN_MAX];
};

/* Receiver -> sender: admitted (err 0: where to resume, how far it may send) or why not. */
struct br_accept {
	uint32_t magic;
	uint16_t version;
	uint16_t reserved;
	int32_t err;           /* 0, or the errno the sender reports */
	uint32_t reserved2;
	uint64_t resume;       /* the first sequence number not yet delivered */
	uint64_t granted;      /* the sender may send every sequence number below this */
	char text[112];        /* why not, NUL-terminated */
};

/* DATA's header (the payload is the message); ACK's header (no payload); BYE's header. */
struct br_data {
	uint64_t seq;
	uint64_t len;
};
struct br_ack {
	uint64_t delivered;    /* sequence numbers below this are in the receiver's channel */
	uint64_t granted;
};
struct br_bye {
	uint64_t total;        /* messages in the stream */
};

/* What a receiver accepts. */
struct br_policy {
	const unsigned char *token;
	size_t token_len;
	const char *expect_name; /* NULL: any valid name */
	uint64_t max_bytes;    /* largest channel (nslots * slot_size) it will make */
};

/*
 * Check a HELLO of @len bytes at @buf against @p, copying it once into @out first (the peer's
 * buffer is read once). 0, or -EBADMSG (not a HELLO of this version, or a geometry no channel
 * has), -EACCES (wrong token), -EPERM (another channel's name), -EFBIG (larger than max_bytes);
 * @why says which in one line.
 */
int mv_br_hello_check(struct br_hello *out, const void *buf, size_t len,
		      const struct br_policy *p, char *why, size_t cap);

/* Compare two tokens in time that depends only on @blen (the expected one's length). */
int mv_br_token_equal(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen);

/* The receiver's sequencing. */
struct br_rx {
	uint64_t next;         /* the next sequence number to take (its slot is loaned then) */
	uint64_t granted;      /* credit given so far (the sender may send below it) */
	uint64_t delivered;    /* published into the channel: slots fill in [delivered, next) */
};

/*
 * A DATA header arrived: 1 deliver it (it is @r->next), 0 a duplicate of one delivered (drop
 * it), -EPROTO a gap, a message past the credit, or longer than @slot_size (@why says).
 */
int mv_br_rx_check(const struct br_rx *r, const struct br_data *d, uint64_t length,
		   uint64_t slot_size, char *why, size_t cap);

/*
 * New credit given @free_slots free slots now: every message from next up to granted needs a
 * slot (those below next hold theirs already, loaned), so granted never passes next +
 * free_slots; and it never goes back. The new granted.
 */
uint64_t mv_br_rx_grant(struct br_rx *r, uint64_t free_slots);

#endif
