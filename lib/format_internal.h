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

#endif /* MEMVIEW_FORMAT_INTERNAL_H */
