/*
 * lib/format_internal.h - fast, unchecked entry points of the format module (format.c,
 * floatrepr.c) for the view module's hot loops (tolist, text rendering, comparison). Nothing here
 * is exported; callers pass formats that came from mv_format_parse() and buffers large enough.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_FORMAT_INTERNAL_H
#define MEMVIEW_FORMAT_INTERNAL_H

#include "internal.h"

/* Longest text mv_double_repr_fast() writes: "-1.2345678901234567e-308" is 24 bytes. */
#define MV_DOUBLE_REPR_LEN 24

/*
 * Python's repr() of @d into @dst, which must have room for 32 bytes. No NUL is written.
 * Returns the length (at most MV_DOUBLE_REPR_LEN).
 */
MV_HIDDEN size_t mv_double_repr_fast(char *dst, double d);

/*
 * Python's repr() of the tolist() item at @src (any alignment) into @dst, which must have room
 * for MV_FORMAT_REPR_MAX (32) bytes. No NUL is written. @fmt must come from mv_format_parse().
 * Returns the length.
 */
MV_HIDDEN size_t mv_item_repr_fast(char *dst, const mv_format *fmt, const void *src);

/* Decimal digits of @u at @dst (room for 20 bytes), no NUL. Returns the length. */
MV_HIDDEN size_t mv_uint_repr_fast(char *dst, unsigned long long u);

/*
 * mv_format_unpack() without argument checks: @fmt must come from mv_format_parse().
 * Every field of @out is written.
 */
MV_HIDDEN void mv_item_unpack_fast(mv_value *out, const mv_format *fmt, const void *src);

/*
 * The parsed form of every one-character format without a prefix ("B", "d", ...), indexed by
 * the character; code 0 for characters that are no format code. Exactly what mv_format_parse()
 * gives for those strings (it answers them from this table).
 */
MV_HIDDEN extern const mv_format mv_format_plain[128];

/*
 * mv_format_parse() of a one-character format without a prefix, from the table: its entry, or
 * NULL for every other string (which mv_format_parse() decides).
 */
static inline const mv_format *mv_format_plain_get(const char *fmt)
{
	unsigned char c = (unsigned char)fmt[0];

	if (c >= 128 || !mv_format_plain[c].code || fmt[1] != '\0')
		return NULL;
	return &mv_format_plain[c];
}

#endif /* MEMVIEW_FORMAT_INTERNAL_H */
