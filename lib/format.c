/*
 * lib/format.c - struct format codes: parse a single-item format, read and write one item with
 * CPython memoryview's type and range checks, print an item as Python's repr() of tolist()'s
 * item, and IEEE 754 binary16 ('e') conversions.
 *
 * Python's float repr lives in floatrepr.c; the hot paths the view module calls per item
 * (mv_item_unpack_fast, mv_item_repr_fast) are declared in format_internal.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"
#include "format_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* How an item's bytes become a Python value. */
enum item_kind {
	K_SIGNED,   /* b h i l q n: int */
	K_UNSIGNED, /* B H I L Q N: non-negative int */
	K_POINTER,  /* P: non-negative int; writing also accepts negatives, stored modulo 2^bits */
	K_BOOL,     /* ?: bool, any non-zero byte is True */
	K_CHAR,     /* c: bytes of length 1 */
	K_FLOAT,    /* f: IEEE binary32 */
	K_DOUBLE,   /* d: IEEE binary64 */
	K_HALF      /* e: IEEE binary16 */
};

struct code_info {
	unsigned char native;	/* size with '@' or no prefix: the C type's */
	unsigned char standard; /* size with = < > !, the struct module's; 0 when refused */
	unsigned char kind;	/* enum item_kind */
};

/* Indexed by the position of the code in CODES. */
#define CODES "cbB?hHiIlLqQnNfdeP"
#define NCODES 18
static const struct code_info code_info[NCODES] = {
	{ 1, 1, K_CHAR },
	{ sizeof(signed char), 1, K_SIGNED },
	{ sizeof(unsigned char), 1, K_UNSIGNED },
	{ sizeof(_Bool), 1, K_BOOL },
	{ sizeof(short), 2, K_SIGNED },
	{ sizeof(unsigned short), 2, K_UNSIGNED },
	{ sizeof(int), 4, K_SIGNED },
	{ sizeof(unsigned int), 4, K_UNSIGNED },
	{ sizeof(long), 4, K_SIGNED },
	{ sizeof(unsigned long), 4, K_UNSIGNED },
	{ sizeof(long long), 8, K_SIGNED },
	{ sizeof(unsigned long long), 8, K_UNSIGNED },
	{ sizeof(ssize_t), 0, K_SIGNED },
	{ sizeof(size_t), 0, K_UNSIGNED },
	{ sizeof(float), 4, K_FLOAT },
	{ sizeof(double), 8, K_DOUBLE },
	{ 2, 2, K_HALF },
	{ sizeof(void *), 0, K_POINTER },
};

/* 1 + position in CODES, 0 for anything else; a table keeps the per-item lookup branch-free. */
static const unsigned char code_index[128] = {
	['c'] = 1,  ['b'] = 2,	['B'] = 3,  ['?'] = 4,	['h'] = 5,  ['H'] = 6,
	['i'] = 7,  ['I'] = 8,	['l'] = 9,  ['L'] = 10, ['q'] = 11, ['Q'] = 12,
	['n'] = 13, ['N'] = 14, ['f'] = 15, ['d'] = 16, ['e'] = 17, ['P'] = 18,
};

/*
 * The canonical spelling of every prefix and code, so mv_format.text never needs an allocation
 * and outlives every view that points at it. Row 0 is "no prefix written".
 */
#define PREFIXES "@=<>!"
#define TEXT_ROW(p)                                                                          \
	{                                                                                    \
		p "c", p "b", p "B", p "?", p "h", p "H", p "i", p "I", p "l", p "L", p "q", \
			p "Q", p "n", p "N", p "f", p "d", p "e", p "P"                      \
	}
static const char format_text[6][NCODES][3] = {
	TEXT_ROW(""), TEXT_ROW("@"), TEXT_ROW("="), TEXT_ROW("<"), TEXT_ROW(">"), TEXT_ROW("!"),
};

/*
 * Every format of one code and no prefix, parsed: mv_format_parse() answers these from here, and
 * a cast to such a format (the common case) reads it without a call (format_internal.h).
 */
#define PLAIN(ch, i, size) [ch] = { ch, 0, size, 0, format_text[0][i] }
const mv_format mv_format_plain[128] = {
	PLAIN('c', 0, 1),
	PLAIN('b', 1, sizeof(signed char)),
	PLAIN('B', 2, sizeof(unsigned char)),
	PLAIN('?', 3, sizeof(_Bool)),
	PLAIN('h', 4, sizeof(short)),
	PLAIN('H', 5, sizeof(unsigned short)),
	PLAIN('i', 6, sizeof(int)),
	PLAIN('I', 7, sizeof(unsigned int)),
	PLAIN('l', 8, sizeof(long)),
	PLAIN('L', 9, sizeof(unsigned long)),
	PLAIN('q', 10, sizeof(long long)),
	PLAIN('Q', 11, sizeof(unsigned long long)),
	PLAIN('n', 12, sizeof(ssize_t)),
	PLAIN('N', 13, sizeof(size_t)),
	PLAIN('f', 14, sizeof(float)),
	PLAIN('d', 15, sizeof(double)),
	PLAIN('e', 16, 2),
	PLAIN('P', 17, sizeof(void *)),
};
#undef PLAIN

static inline bool host_is_little_endian(void)
{
	const uint16_t one = 1;
	unsigned char first;

	memcpy(&first, &one, 1);
	return first == 1;
}

/* The code's table entry, or NULL when @fmt was not made by mv_format_parse(). */
static inline const struct code_info *lookup(const mv_format *fmt)
{
	unsigned char c = (unsigned char)fmt->code;
	const struct code_info *ci;

	if (c >= 128 || !code_index[c])
		return NULL;
	ci = &code_info[code_index[c] - 1];
	if (fmt->itemsize != ci->native && fmt->itemsize != ci->standard)
		return NULL;
	return ci;
}

static int not_parsed(const char *func)
{
	return mv_fail(EINVAL, "%s: invalid format (not made by mv_format_parse)", func);
}

/* The format as CPython names it in messages: without an '@' prefix. */
static inline const char *format_name(const mv_format *fmt)
{
	return fmt->prefix == '@' ? fmt->text + 1 : fmt->text;
}

int mv_format_parse(mv_format *out, const char *fmt)
{
	const char *p;
	const char *pre;
	unsigned row = 0;
	unsigned idx;
	const struct code_info *ci;
	const mv_format *plain;

	MV_CHECK_ARG(out, "out");
	MV_CHECK_ARG(fmt, "fmt");
	if (likely((plain = mv_format_plain_get(fmt)) != NULL)) {
		*out = *plain;
		return 0;
	}
	p = fmt;
	if (*p && (pre = strchr(PREFIXES, *p)) != NULL) {
		row = 1 + (unsigned)(pre - PREFIXES);
		p++;
	}
	idx = (unsigned char)*p < 128 ? code_index[(unsigned char)*p] : 0;
	if (!idx || p[1] != '\0')
		return mv_fail(EINVAL,
			       "memoryview: invalid format '%.32s': expected one of "
			       "c b B ? h H i I l L q Q n N f d e P, "
			       "optionally prefixed by @ = < > !",
			       fmt);
	ci = &code_info[idx - 1];
	if (row > 1 && !ci->standard)
		return mv_fail(EINVAL,
			       "memoryview: invalid format '%s': '%c' has no standard size, "
			       "use it with '@' or no prefix",
			       fmt, *p);
	out->code = *p;
	out->prefix = row ? fmt[0] : 0;
	out->itemsize = row > 1 ? ci->standard : ci->native;
	switch (out->prefix) {
	case '<':
		out->swap = !host_is_little_endian();
		break;
	case '>':
	case '!':
		out->swap = host_is_little_endian();
		break;
	default:
		out->swap = 0;
		break;
	}
	out->text = format_text[row][idx - 1];
	return 0;
}

ssize_t mv_format_itemsize(const char *fmt)
{
	mv_format f;
	int err = mv_format_parse(&f, fmt);

	return err < 0 ? err : f.itemsize;
}

/* ------------------------------------------------------------------ raw item bytes */

static inline uint64_t load_uint(const void *src, unsigned size, bool swap)
{
	switch (size) {
	case 1: {
		uint8_t v;

		memcpy(&v, src, 1);
		return v;
	}
	case 2: {
		uint16_t v;

		memcpy(&v, src, 2);
		return swap ? __builtin_bswap16(v) : v;
	}
	case 4: {
		uint32_t v;

		memcpy(&v, src, 4);
		return swap ? __builtin_bswap32(v) : v;
	}
	default: {
		uint64_t v;

		memcpy(&v, src, 8);
		return swap ? __builtin_bswap64(v) : v;
	}
	}
}

static inline void store_uint(void *dst, unsigned size, bool swap, uint64_t x)
{
	switch (size) {
	case 1: {
		uint8_t v = (uint8_t)x;

		memcpy(dst, &v, 1);
		break;
	}
	case 2: {
		uint16_t v = (uint16_t)x;

		if (swap)
			v = __builtin_bswap16(v);
		memcpy(dst, &v, 2);
		break;
	}
	case 4: {
		uint32_t v = (uint32_t)x;

		if (swap)
			v = __builtin_bswap32(v);
		memcpy(dst, &v, 4);
		break;
	}
	default:
		if (swap)
			x = __builtin_bswap64(x);
		memcpy(dst, &x, 8);
		break;
	}
}

/* The low @size bytes of @x as a two's complement integer. */
static inline long long sign_extend(uint64_t x, unsigned size)
{
	switch (size) {
	case 1:
		return (int8_t)x;
	case 2:
		return (int16_t)x;
	case 4:
		return (int32_t)x;
	default:
		return (int64_t)x;
	}
}

static inline float load_float(const void *src, bool swap)
{
	uint32_t u = (uint32_t)load_uint(src, 4, swap);
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline double load_double(const void *src, bool swap)
{
	uint64_t u = load_uint(src, 8, swap);
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* ------------------------------------------------------------------ binary16 */

double mv_format_half_unpack(uint16_t h)
{
	unsigned e = (h >> 10) & 0x1f;
	unsigned f = h & 0x3ff;
	uint64_t bits = (uint64_t)(h >> 15) << 63;
	double d;

	if (e == 0) {
		/* Zero and subnormals: f * 2^-24, exact in a double. */
		d = (double)f * 0x1p-24;
		return h >> 15 ? -d : d;
	}
	if (e == 0x1f)
		/* CPython keeps a NaN's sign but not its payload. */
		bits |= f ? UINT64_C(0x7ff8000000000000) : UINT64_C(0x7ff0000000000000);
	else
		bits |= (uint64_t)(e - 15 + 1023) << 52 | (uint64_t)f << 42;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* The binary16 bits nearest @d (ties to even); false when a finite @d rounds past 65504. */
static bool half_from_double(uint16_t *out, double d)
{
	uint64_t bits, m, q, rem, half;
	unsigned bexp;
	uint16_t sign, h;
	int e, unit, shift;

	memcpy(&bits, &d, sizeof(bits));
	sign = (uint16_t)((bits >> 63) << 15);
	bexp = (unsigned)(bits >> 52) & 0x7ff;
	m = bits & ((UINT64_C(1) << 52) - 1);
	if (bexp == 0x7ff) {
		/* CPython packs every NaN as the quiet NaN 0x7e00 with the sign kept. */
		*out = sign | (m ? 0x7e00 : 0x7c00);
		return true;
	}
	e = (int)bexp - 1023; /* d = 1.m * 2^e */
	if (bexp == 0 || e < -25) {
		/* Below half the smallest subnormal half (2^-25): zero, signed. */
		*out = sign;
		return true;
	}
	if (e > 15)
		return false;
	m |= UINT64_C(1) << 52; /* d = m * 2^(e - 52) */
	/* The half's unit in the last place: 2^-24 for subnormals, else 2^(e - 10). */
	unit = e < -14 ? -24 : e - 10;
	shift = unit - (e - 52); /* 42 .. 53 */
	q = m >> shift;
	rem = m & ((UINT64_C(1) << shift) - 1);
	half = UINT64_C(1) << (shift - 1);
	if (rem > half || (rem == half && (q & 1)))
		q++;
	/*
	 * A subnormal that rounds up to 2^-14 gives 0x400, the smallest normal; a significand that
	 * rounds up to 2^11 carries into the exponent. Both fall out of the additions.
	 */
	if (e < -14)
		h = (uint16_t)q;
	else
		h = (uint16_t)(((unsigned)(e + 15) << 10) + (unsigned)q - 1024);
	if (h >= 0x7c00)
		return false;
	*out = sign | h;
	return true;
}

int mv_format_half_pack(uint16_t *out, double d)
{
	MV_CHECK_ARG(out, "out");
	if (!half_from_double(out, d))
		return mv_fail(ERANGE, "float too large to pack with e format");
	return 0;
}

/* ------------------------------------------------------------------ unpack */

void mv_item_unpack_fast(mv_value *out, const mv_format *fmt, const void *src)
{
	const struct code_info *ci = &code_info[code_index[(unsigned char)fmt->code] - 1];
	mv_value v = { MV_VALUE_INT, 0, 0, 0.0, NULL, 0 };

	switch (ci->kind) {
	case K_SIGNED:
		v.i = sign_extend(load_uint(src, fmt->itemsize, fmt->swap), fmt->itemsize);
		break;
	case K_UNSIGNED:
	case K_POINTER:
		v.kind = MV_VALUE_UINT;
		v.u = load_uint(src, fmt->itemsize, fmt->swap);
		break;
	case K_BOOL:
		v.kind = MV_VALUE_BOOL;
		v.i = load_uint(src, fmt->itemsize, false) != 0;
		break;
	case K_CHAR:
		v.kind = MV_VALUE_BYTES;
		v.bytes = src;
		v.nbytes = 1;
		break;
	case K_FLOAT:
		v.kind = MV_VALUE_FLOAT;
		v.f = (double)load_float(src, fmt->swap);
		break;
	case K_DOUBLE:
		v.kind = MV_VALUE_FLOAT;
		v.f = load_double(src, fmt->swap);
		break;
	default:
		v.kind = MV_VALUE_FLOAT;
		v.f = mv_format_half_unpack((uint16_t)load_uint(src, 2, fmt->swap));
		break;
	}
	*out = v;
}

int mv_format_unpack(mv_value *out, const mv_format *fmt, const void *src)
{
	MV_CHECK_ARG(out, "out");
	MV_CHECK_ARG(fmt, "fmt");
	MV_CHECK_ARG(src, "src");
	if (!lookup(fmt))
		return not_parsed(__func__);
	mv_item_unpack_fast(out, fmt, src);
	return 0;
}

/* ------------------------------------------------------------------ pack */

static int invalid_type(const mv_format *fmt)
{
	return mv_fail(EINVAL, "memoryview: invalid type for format '%s'", format_name(fmt));
}

static int invalid_value(const mv_format *fmt)
{
	return mv_fail(ERANGE, "memoryview: invalid value for format '%s'", format_name(fmt));
}

/* Python's truth value of @val, or -EINVAL for an unknown kind. */
static int truth(const mv_value *val)
{
	switch (val->kind) {
	case MV_VALUE_INT:
	case MV_VALUE_BOOL:
		return val->i != 0;
	case MV_VALUE_UINT:
		return val->u != 0;
	case MV_VALUE_FLOAT:
		/* NaN is true: it is not equal to zero. */
		return val->f != 0.0;
	case MV_VALUE_BYTES:
		return val->nbytes != 0;
	default:
		return -EINVAL;
	}
}

/* Integer codes take ints and bools, never floats or bytes, as CPython's PyNumber_Index does. */
static int pack_integer(const mv_format *fmt, const struct code_info *ci, void *dst,
			const mv_value *val)
{
	unsigned bits = 8u * fmt->itemsize;
	uint64_t umax = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
	uint64_t smax = umax >> 1;
	uint64_t x;
	bool ok;

	switch (val->kind) {
	case MV_VALUE_INT:
		x = (uint64_t)val->i;
		if (val->i >= 0)
			ok = (ci->kind == K_SIGNED ? smax : umax) >= x;
		else if (ci->kind == K_UNSIGNED)
			ok = false;
		else
			/* b h i l q n and P: down to -2^(bits-1); P stores it modulo 2^bits. */
			ok = 0 - x <= smax + 1;
		break;
	case MV_VALUE_UINT:
		x = val->u;
		ok = (ci->kind == K_SIGNED ? smax : umax) >= x;
		break;
	case MV_VALUE_BOOL:
		x = val->i != 0;
		ok = true;
		break;
	default:
		return invalid_type(fmt);
	}
	if (!ok)
		return invalid_value(fmt);
	store_uint(dst, fmt->itemsize, fmt->swap, x);
	return 0;
}

static int pack_real(const mv_format *fmt, const struct code_info *ci, void *dst,
		     const mv_value *val)
{
	double d;

	switch (val->kind) {
	case MV_VALUE_INT:
		d = (double)val->i;
		break;
	case MV_VALUE_UINT:
		d = (double)val->u;
		break;
	case MV_VALUE_BOOL:
		d = val->i != 0;
		break;
	case MV_VALUE_FLOAT:
		d = val->f;
		break;
	default:
		return invalid_type(fmt);
	}
	if (ci->kind == K_DOUBLE) {
		uint64_t u;

		memcpy(&u, &d, sizeof(u));
		store_uint(dst, 8, fmt->swap, u);
	} else if (ci->kind == K_FLOAT) {
		/*
		 * CPython stores (float)d: too large a finite value becomes +-inf, no error.
		 * Doubles from halfway between FLT_MAX and 2^128 up round to inf; convert those
		 * explicitly, since C leaves an out-of-range conversion undefined.
		 */
		float f;
		uint32_t u;

		if (isfinite(d) && fabs(d) >= 0x1.ffffffp+127)
			f = d < 0 ? -INFINITY : INFINITY;
		else
			f = (float)d;
		memcpy(&u, &f, sizeof(u));
		store_uint(dst, 4, fmt->swap, u);
	} else {
		uint16_t h;

		if (!half_from_double(&h, d))
			return invalid_value(fmt);
		store_uint(dst, 2, fmt->swap, h);
	}
	return 0;
}

int mv_format_pack(void *dst, const mv_format *fmt, const mv_value *val)
{
	const struct code_info *ci;
	unsigned char byte;
	int t;

	MV_CHECK_ARG(fmt, "fmt");
	MV_CHECK_ARG(dst, "dst");
	MV_CHECK_ARG(val, "val");
	ci = lookup(fmt);
	if (!ci)
		return not_parsed(__func__);
	if (val->kind == MV_VALUE_BYTES && val->nbytes && !val->bytes)
		return mv_fail(EINVAL, "mv_format_pack: invalid argument: val->bytes");

	switch (ci->kind) {
	case K_SIGNED:
	case K_UNSIGNED:
	case K_POINTER:
		return pack_integer(fmt, ci, dst, val);
	case K_FLOAT:
	case K_DOUBLE:
	case K_HALF:
		return pack_real(fmt, ci, dst, val);
	case K_BOOL:
		t = truth(val);
		if (t < 0)
			return invalid_type(fmt);
		byte = (unsigned char)t;
		memcpy(dst, &byte, 1);
		return 0;
	default: /* K_CHAR */
		if (val->kind != MV_VALUE_BYTES)
			return invalid_type(fmt);
		if (val->nbytes != 1)
			return invalid_value(fmt);
		memcpy(dst, val->bytes, 1);
		return 0;
	}
}

/* ------------------------------------------------------------------ repr */

/* Python's repr() of bytes([c]): b'a', b'\x00', b'\n', b"'", b'\\'. */
static size_t bytes_repr(char *dst, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char *p = dst;

	*p++ = 'b';
	/* Python switches to double quotes when the bytes hold a ' and no ". */
	*p++ = c == '\'' ? '"' : '\'';
	switch (c) {
	case '\\':
		*p++ = '\\';
		*p++ = '\\';
		break;
	case '\t':
		*p++ = '\\';
		*p++ = 't';
		break;
	case '\n':
		*p++ = '\\';
		*p++ = 'n';
		break;
	case '\r':
		*p++ = '\\';
		*p++ = 'r';
		break;
	default:
		if (c < 0x20 || c >= 0x7f) {
			*p++ = '\\';
			*p++ = 'x';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		} else {
			*p++ = (char)c;
		}
		break;
	}
	*p++ = c == '\'' ? '"' : '\'';
	return (size_t)(p - dst);
}

size_t mv_item_repr_fast(char *dst, const mv_format *fmt, const void *src)
{
	const struct code_info *ci = &code_info[code_index[(unsigned char)fmt->code] - 1];
	long long i;

	switch (ci->kind) {
	case K_SIGNED:
		i = sign_extend(load_uint(src, fmt->itemsize, fmt->swap), fmt->itemsize);
		if (i < 0) {
			*dst = '-';
			/* Negate in unsigned arithmetic, so LLONG_MIN works too. */
			return 1 + mv_uint_repr_fast(dst + 1, 0 - (unsigned long long)i);
		}
		return mv_uint_repr_fast(dst, (unsigned long long)i);
	case K_UNSIGNED:
	case K_POINTER:
		return mv_uint_repr_fast(dst, load_uint(src, fmt->itemsize, fmt->swap));
	case K_BOOL:
		if (load_uint(src, fmt->itemsize, false)) {
			memcpy(dst, "True", 4);
			return 4;
		}
		memcpy(dst, "False", 5);
		return 5;
	case K_CHAR:
		return bytes_repr(dst, *(const unsigned char *)src);
	case K_FLOAT:
		return mv_double_repr_fast(dst, (double)load_float(src, fmt->swap));
	case K_DOUBLE:
		return mv_double_repr_fast(dst, load_double(src, fmt->swap));
	default:
		return mv_double_repr_fast(
			dst, mv_format_half_unpack((uint16_t)load_uint(src, 2, fmt->swap)));
	}
}

ssize_t mv_format_repr(char *dst, size_t cap, const mv_format *fmt, const void *src)
{
	char tmp[MV_FORMAT_REPR_MAX];
	size_t n;

	MV_CHECK_ARG(dst, "dst");
	MV_CHECK_ARG(fmt, "fmt");
	MV_CHECK_ARG(src, "src");
	if (!lookup(fmt))
		return not_parsed(__func__);
	n = mv_item_repr_fast(tmp, fmt, src);
	if (n >= cap)
		return mv_fail(ENOBUFS, "mv_format_repr: %zu bytes needed, buffer has %zu", n + 1,
			       cap);
	memcpy(dst, tmp, n);
	dst[n] = '\0';
	return (ssize_t)n;
}
