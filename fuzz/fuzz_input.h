/*
 * fuzz/fuzz_input.h - reading a fuzz input as a stream of small decisions, and stopping the run
 * when an invariant breaks. Shared by the fuzz targets; not part of the library.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_FUZZ_INPUT_H
#define MEMVIEW_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memview.h"

/* The rest of the input; reads past the end give zeros, so every input is a whole program. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline int fuzz_left(const struct fuzz_in *in)
{
	return in->n > 0;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t b = 0;

	if (in->n) {
		b = *in->p++;
		in->n--;
	}
	return b;
}

static inline uint64_t fuzz_uint(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < bytes; i++)
		v |= (uint64_t)fuzz_u8(in) << (8 * i);
	return v;
}

/*
 * An index or size that is usually small but sometimes extreme, because the interesting
 * arithmetic (clamping, overflow, negative steps) lives at the edges.
 */
static inline int64_t fuzz_ssize(struct fuzz_in *in)
{
	uint8_t sel = fuzz_u8(in);

	switch (sel >> 5) {
	case 0:
		return (int64_t)(sel & 31) - 16;
	case 1:
		return (int8_t)fuzz_u8(in);
	case 2:
		return (int16_t)fuzz_uint(in, 2);
	case 3:
		return (int64_t)fuzz_uint(in, 8);
	case 4:
		return INT64_MIN + (sel & 31);
	case 5:
		return INT64_MAX - (sel & 31);
	default:
		return (int64_t)(sel & 63);
	}
}

/*
 * How many lists and items tolist() of @v produces: 1 + shape[0] + shape[0]*shape[1] + ...,
 * saturated at INT64_MAX. A zero dimension makes nbytes 0 but not the walk short: shape
 * (2**40, 0) is 2**40 empty lists, as in CPython. The targets skip tolist above a bound, or a
 * valid view would be reported as a hang.
 */
static inline int64_t fuzz_tolist_nodes(const mv_view *v)
{
	int64_t nodes = 1, row = 1;
	int i;

	for (i = 0; i < mv_view_ndim(v); i++) {
		if (__builtin_mul_overflow(row, (int64_t)mv_view_shape(v)[i], &row) ||
		    __builtin_add_overflow(nodes, row, &nodes))
			return INT64_MAX;
	}
	return nodes;
}

/* An invariant broke: say which, and crash so libFuzzer keeps the input. */
#define FUZZ_ASSERT(cond, ...)                                                         \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__,     \
				__LINE__, #cond);                                      \
			fprintf(stderr, __VA_ARGS__);                                  \
			fprintf(stderr, "\n");                                         \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* A failure must be a negative errno with a message saying why. */
#define FUZZ_ASSERT_ERR(rc)                                                              \
	FUZZ_ASSERT((rc) < 0 && (rc) > -4096 && mv_errmsg() && mv_errmsg()[0] != '\0', \
		    "rc %lld, message '%s'", (long long)(rc), mv_errmsg() ? mv_errmsg() : "(null)")

#endif
