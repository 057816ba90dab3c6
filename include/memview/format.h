/*
 * memview/format.h - struct format codes: parse, size, read and write one item, print it.
 *
 * The codes are CPython memoryview's: c b B ? h H i I l L q Q n N f d e P, optionally prefixed
 * with '@' (native size and alignment, the default). Beyond CPython, memview also accepts the
 * struct module's byte-order prefixes: '=' (native order, standard sizes), '<' (little-endian,
 * standard), '>' and '!' (big-endian, standard). With those prefixes n, N and P are refused, as
 * the struct module refuses them, and l/L are 4 bytes.
 *
 * Thread-safety: every function here is pure and may be called from any thread.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_FORMAT_H
#define MEMVIEW_FORMAT_H

#include "memview/common.h"

MV_BEGIN_DECLS

/* A parsed single-item format. */
typedef struct mv_format {
	char code;         /* one of "cbB?hHiIlLqQnNfdeP" */
	char prefix;       /* '@', '=', '<', '>', '!' as written, or 0 when none was written */
	unsigned char itemsize; /* bytes per item */
	unsigned char swap;     /* 1 when items are stored in the opposite of the host's byte order */
	const char *text;  /* canonical static spelling, e.g. "@i" or "<H"; outlives everything */
} mv_format;

/*
 * mv_format_parse - parse a single-item format string.
 *
 * @out: written only on success.
 * @fmt: e.g. "B", "@d", "<i".
 *
 * Returns 0, or -EINVAL for NULL, an unknown code, more than one item, or n/N/P with a
 * standard-size prefix (message names the format).
 */
MV_EXPORT int mv_format_parse(mv_format *out, const char *fmt);

/*
 * mv_format_itemsize - bytes per item of a single-item format, or -EINVAL as mv_format_parse().
 */
MV_EXPORT ssize_t mv_format_itemsize(const char *fmt);

/* What kind of value an item is, the way Python sees it. */
typedef enum mv_value_kind {
	MV_VALUE_INT = 1,   /* Python int that fits in long long: field i */
	MV_VALUE_UINT = 2,  /* Python int, non-negative: field u */
	MV_VALUE_FLOAT = 3, /* Python float: field f */
	MV_VALUE_BOOL = 4,  /* Python bool: field i is 0 or 1 */
	MV_VALUE_BYTES = 5  /* Python bytes: fields bytes, nbytes */
} mv_value_kind;

/*
 * One item as a value. Reading ('c' format) sets bytes to point at the item itself (nbytes 1);
 * writing takes whichever field @kind names.
 */
typedef struct mv_value {
	mv_value_kind kind;
	long long i;
	unsigned long long u;
	double f;
	const void *bytes;
	size_t nbytes;
} mv_value;

/* Value constructors, for writing items. */
static inline mv_value mv_value_int(long long i)
{
	mv_value v = { MV_VALUE_INT, i, 0, 0.0, NULL, 0 };
	return v;
}
static inline mv_value mv_value_uint(unsigned long long u)
{
	mv_value v = { MV_VALUE_UINT, 0, u, 0.0, NULL, 0 };
	return v;
}
static inline mv_value mv_value_float(double f)
{
	mv_value v = { MV_VALUE_FLOAT, 0, 0, f, NULL, 0 };
	return v;
}
static inline mv_value mv_value_bool(int b)
{
	mv_value v = { MV_VALUE_BOOL, b != 0, 0, 0.0, NULL, 0 };
	return v;
}
static inline mv_value mv_value_bytes(const void *p, size_t n)
{
	mv_value v = { MV_VALUE_BYTES, 0, 0, 0.0, p, n };
	return v;
}

/*
 * mv_format_unpack - read the item at @src (any alignment) as a value.
 * Integers come back as MV_VALUE_INT for signed codes, MV_VALUE_UINT for unsigned codes and 'P';
 * '?' as MV_VALUE_BOOL (any non-zero byte is true); e/f/d as MV_VALUE_FLOAT; 'c' as
 * MV_VALUE_BYTES pointing at @src. Returns 0 or -EINVAL for NULL arguments.
 */
MV_EXPORT int mv_format_unpack(mv_value *out, const mv_format *fmt, const void *src);

/*
 * mv_format_pack - write @val as one item at @dst (any alignment), with CPython's checks:
 *   -EINVAL  wrong type for the format ("memoryview: invalid type for format 'B'"): a float or
 *            bytes for an integer code, bytes for a float code, a non-bytes for 'c';
 *   -ERANGE  value out of range ("memoryview: invalid value for format 'B'"), bytes of length
 *            other than 1 for 'c', a finite value too large for 'e'.
 * '?' accepts any value (its truth). 'f' stores +-inf for values too large, as CPython does.
 * 'P' accepts -1 .. -2**63 and stores them modulo 2**64, as CPython does.
 * Nothing is written on failure.
 */
MV_EXPORT int mv_format_pack(void *dst, const mv_format *fmt, const mv_value *val);

/*
 * mv_format_repr - write the item at @src as Python's repr() of the tolist() item: 42, True,
 * b'\x00', 0.1, 1e-05, inf, nan, -0.0. Writes at most @cap bytes including a NUL.
 * Returns the length (without NUL), or -ENOBUFS if @cap is too small (at most 32 bytes are ever
 * needed: MV_FORMAT_REPR_MAX), -EINVAL for NULL.
 */
#define MV_FORMAT_REPR_MAX 32
MV_EXPORT ssize_t mv_format_repr(char *dst, size_t cap, const mv_format *fmt, const void *src);

/*
 * mv_format_double_repr - Python's repr() of a double: the shortest string that reads back to
 * the same double. Same return values as mv_format_repr().
 */
MV_EXPORT ssize_t mv_format_double_repr(char *dst, size_t cap, double d);

/*
 * IEEE 754 binary16 ('e') conversions. mv_format_half_pack rounds to nearest, ties to even, as
 * CPython's PyFloat_Pack2 does; it returns -ERANGE (and writes nothing) when a finite @d rounds
 * past the largest half (65504). NaN and infinities convert; the sign of NaN is kept.
 */
MV_EXPORT double mv_format_half_unpack(uint16_t h);
MV_EXPORT int mv_format_half_pack(uint16_t *out, double d);

MV_END_DECLS

#endif /* MEMVIEW_FORMAT_H */
