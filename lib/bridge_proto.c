/*
 * lib/bridge_proto.c - the bridge's rules without UCX (lib/bridge_proto.h says what each is).
 * Everything here works on private copies: a peer's bytes are copied once, then checked.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "bridge_proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "memview/format.h"

static int why_fail(int err, char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int why_fail(int err, char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (why && cap)
		vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -err;
}

int mv_br_token_equal(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	unsigned char diff = (unsigned char)(alen != blen);
	size_t i;

	/* Every byte of the expected token is looked at, whatever the presented one is. */
	for (i = 0; i < blen; i++)
		diff |= (unsigned char)((i < alen ? a[i] : 0) ^ b[i]);
	return diff == 0;
}

static int name_ok(const char *name)
{
	return name[0] == '/' && name[1] && !strchr(name + 1, '/') &&
	       strlen(name) <= BR_NAME_MAX;
}

int mv_br_hello_check(struct br_hello *out, const void *buf, size_t len,
		      const struct br_policy *p, char *why, size_t cap)
{
	struct br_hello *h = out;
	mv_format fmt;
	uint64_t items = 1, total;
	int i;

	if (len != sizeof(*h))
		return why_fail(EBADMSG, why, cap, "a HELLO of %zu bytes (expected %zu)", len,
				sizeof(*h));
	memcpy(h, buf, sizeof(*h)); /* once: everything below reads the copy */
	if (h->magic != BR_MAGIC || h->version != BR_VERSION)
		return why_fail(EBADMSG, why, cap, "not a memview bridge HELLO of version %d "
				"(magic 0x%08x, version %u)", BR_VERSION, h->magic, h->version);
	h->name[sizeof(h->name) - 1] = '\0';
	h->format[sizeof(h->format) - 1] = '\0';
	/* The token first: nothing about the stream is worth telling an unauthenticated peer. */
	if (h->token_len > BR_TOKEN_MAX ||
	    !mv_br_token_equal(h->token, h->token_len, p->token, p->token_len))
		return why_fail(EACCES, why, cap, "wrong token");
	if (!name_ok(h->name))
		return why_fail(EBADMSG, why, cap, "an invalid channel name");
	if (p->expect_name && strcmp(h->name, p->expect_name) != 0)
		return why_fail(EPERM, why, cap, "channel %.90s, not the expected %.90s", h->name,
				p->expect_name);
	if (h->nslots < 1 || h->nslots > 65536 || h->slot_size < 1 || h->slot_size % 64 ||
	    h->slot_size > ((uint64_t)1 << 40))
		return why_fail(EBADMSG, why, cap, "a geometry no channel has (%u slots of %llu "
				"bytes)", h->nslots, (unsigned long long)h->slot_size);
	if (__builtin_mul_overflow((uint64_t)h->nslots, h->slot_size, &total) ||
	    total > p->max_bytes)
		return why_fail(EFBIG, why, cap, "%u slots of %llu bytes is more than the %llu "
				"bytes allowed", h->nslots, (unsigned long long)h->slot_size,
				(unsigned long long)p->max_bytes);
	if (mv_format_parse(&fmt, h->format) < 0)
		return why_fail(EBADMSG, why, cap, "an invalid item format");
	if (h->ndim < -1 || h->ndim > BR_MAXDIM)
		return why_fail(EBADMSG, why, cap, "%d dimensions", h->ndim);
	for (i = 0; i < (h->ndim > 0 ? h->ndim : 0); i++)
		if (h->shape[i] <= 0 || __builtin_mul_overflow(items, (uint64_t)h->shape[i], &items))
			return why_fail(EBADMSG, why, cap, "an invalid shape");
	if (h->ndim >= 0 && (__builtin_mul_overflow(items, (uint64_t)fmt.itemsize, &items) ||
			     items > h->slot_size))
		return why_fail(EBADMSG, why, cap, "a shape larger than its slot");
	return 0;
}

int mv_br_rx_check(const struct br_rx *r, const struct br_data *d, uint64_t length,
		   uint64_t slot_size, char *why, size_t cap)
{
	if (d->len != length || d->len > slot_size)
		return why_fail(EPROTO, why, cap, "message %llu of %llu bytes (header says %llu; "
				"slots hold %llu)", (unsigned long long)d->seq,
				(unsigned long long)length, (unsigned long long)d->len,
				(unsigned long long)slot_size);
	if (d->seq < r->next)
		return 0; /* sent again after a reconnect: delivered already */
	if (d->seq > r->next)
		return why_fail(EPROTO, why, cap, "message %llu when %llu was next",
				(unsigned long long)d->seq, (unsigned long long)r->next);
	if (d->seq >= r->granted)
		return why_fail(EPROTO, why, cap, "message %llu past the credit (%llu)",
				(unsigned long long)d->seq, (unsigned long long)r->granted);
	return 1;
}

uint64_t mv_br_rx_grant(struct br_rx *r, uint64_t free_slots)
{
	uint64_t g = r->next + free_slots;

	if (g > r->granted)
		r->granted = g;
	return r->granted;
}
