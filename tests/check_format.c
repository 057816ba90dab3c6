/*
 * tests/check_format.c - format codes: parsing, item sizes, pack/unpack with CPython's checks,
 * binary16 conversions, item repr, Python's float repr (against tests/data/float_repr.txt, made
 * by tests/gen_float_repr.py under CPython 3.13) and the bytes hash (values printed by
 * python3.13 with PYTHONHASHSEED=0).
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define ALL_CODES "cbB?hHiIlLqQnNfdeP"

/* INFINITY and NAN are floats; these keep -Wdouble-promotion quiet. */
#define D_INF HUGE_VAL
#define D_NAN ((double)NAN)

static bool host_little(void)
{
	const uint16_t one = 1;
	unsigned char b;

	memcpy(&b, &one, 1);
	return b == 1;
}

static mv_format parse_ok(const char *text)
{
	mv_format f;
	int r = mv_format_parse(&f, text);

	ck_assert_msg(r == 0, "mv_format_parse(\"%s\") = %d (%s)", text, r, mv_errmsg());
	return f;
}

/* ------------------------------------------------------------------ parsing */

static size_t native_size(char code)
{
	switch (code) {
	case 'c':
	case 'b':
	case 'B':
		return 1;
	case '?':
		return sizeof(_Bool);
	case 'h':
	case 'H':
		return sizeof(short);
	case 'i':
	case 'I':
		return sizeof(int);
	case 'l':
	case 'L':
		return sizeof(long);
	case 'q':
	case 'Q':
		return sizeof(long long);
	case 'n':
	case 'N':
		return sizeof(size_t);
	case 'f':
		return sizeof(float);
	case 'd':
		return sizeof(double);
	case 'e':
		return 2;
	default: /* P */
		return sizeof(void *);
	}
}

/* The struct module's standard sizes; 0 for codes it refuses with a prefix. */
static size_t standard_size(char code)
{
	switch (code) {
	case 'c':
	case 'b':
	case 'B':
	case '?':
		return 1;
	case 'h':
	case 'H':
	case 'e':
		return 2;
	case 'i':
	case 'I':
	case 'l':
	case 'L':
	case 'f':
		return 4;
	case 'q':
	case 'Q':
	case 'd':
		return 8;
	default: /* n N P */
		return 0;
	}
}

START_TEST(parse_accepts_every_native_code_with_and_without_at)
{
	for (const char *c = ALL_CODES; *c; c++) {
		char plain[2] = { *c, 0 }, at[3] = { '@', *c, 0 };
		mv_format f = parse_ok(plain), g = parse_ok(at);

		ck_assert_int_eq(f.code, *c);
		ck_assert_int_eq(f.prefix, 0);
		ck_assert_uint_eq(f.itemsize, native_size(*c));
		ck_assert_uint_eq(f.swap, 0);
		ck_assert_str_eq(f.text, plain);
		ck_assert_int_eq(g.code, *c);
		ck_assert_int_eq(g.prefix, '@');
		ck_assert_uint_eq(g.itemsize, native_size(*c));
		ck_assert_uint_eq(g.swap, 0);
		ck_assert_str_eq(g.text, at);
	}
}
END_TEST

START_TEST(parse_accepts_standard_prefixes_with_struct_sizes)
{
	static const char prefixes[] = "=<>!";

	for (const char *p = prefixes; *p; p++) {
		for (const char *c = ALL_CODES; *c; c++) {
			char text[3] = { *p, *c, 0 };
			mv_format f;
			unsigned swap;

			if (!standard_size(*c))
				continue;
			f = parse_ok(text);
			ck_assert_int_eq(f.code, *c);
			ck_assert_int_eq(f.prefix, *p);
			ck_assert_uint_eq(f.itemsize, standard_size(*c));
			swap = *p == '=' ? 0 : *p == '<' ? !host_little() : host_little();
			ck_assert_uint_eq(f.swap, swap);
			ck_assert_str_eq(f.text, text);
		}
	}
}
END_TEST

START_TEST(parse_text_is_static_and_shared)
{
	mv_format a = parse_ok("<H"), b = parse_ok("<H"), c = parse_ok("@d");
	char buf[3] = "@d";
	mv_format d = parse_ok(buf);

	/* The text never points into the caller's string. */
	ck_assert_ptr_eq(a.text, b.text);
	ck_assert_ptr_eq(c.text, d.text);
	ck_assert_ptr_ne(d.text, buf);
	buf[1] = 'x';
	ck_assert_str_eq(d.text, "@d");
}
END_TEST

START_TEST(parse_refuses_n_N_P_with_a_standard_prefix)
{
	static const char *bad[] = { "=n", "<n", ">n", "!n", "=N", "<N", ">N",
				     "!N", "=P", "<P", ">P", "!P" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mv_format f = { 'x', 0, 0, 0, NULL };

		ck_assert_mv_err(mv_format_parse(&f, bad[i]), EINVAL, "no standard size");
		ck_assert_msg(strstr(mv_errmsg(), bad[i]) != NULL, "%s", mv_errmsg());
		ck_assert_int_eq(f.code, 'x'); /* out untouched */
		ck_assert_mv_err(mv_format_itemsize(bad[i]), EINVAL, "no standard size");
	}
}
END_TEST

START_TEST(parse_refuses_bad_formats)
{
	static const char *bad[] = {
		"", "@", "x", "ii", "<", "@@i", "2i", " i", "i ", "Z", "\xff", "<@i", "B\n",
		"@<i", "iB", "s", "0", "p", "x@", "g", "F", "<s", "?@", "&B", "^B",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mv_format f = { 'x', 0, 0, 0, NULL };

		ck_assert_mv_err(mv_format_parse(&f, bad[i]), EINVAL, "invalid format");
		ck_assert_int_eq(f.code, 'x');
		ck_assert_mv_err(mv_format_itemsize(bad[i]), EINVAL, "invalid format");
	}
}
END_TEST

START_TEST(parse_refuses_null_arguments)
{
	mv_format f;

	ck_assert_mv_err(mv_format_parse(NULL, "B"), EINVAL, "invalid argument");
	ck_assert_mv_err(mv_format_parse(&f, NULL), EINVAL, "invalid argument");
	ck_assert_mv_err(mv_format_itemsize(NULL), EINVAL, "invalid argument");
}
END_TEST

START_TEST(itemsize_matches_native_and_standard_sizes)
{
	for (const char *c = ALL_CODES; *c; c++) {
		char plain[2] = { *c, 0 }, at[3] = { '@', *c, 0 }, lt[3] = { '<', *c, 0 };

		ck_assert_int_eq(mv_format_itemsize(plain), (ssize_t)native_size(*c));
		ck_assert_int_eq(mv_format_itemsize(at), (ssize_t)native_size(*c));
		if (standard_size(*c))
			ck_assert_int_eq(mv_format_itemsize(lt), (ssize_t)standard_size(*c));
	}
	ck_assert_int_eq(mv_format_itemsize("!l"), 4);
	ck_assert_int_eq(mv_format_itemsize(">Q"), 8);
	ck_assert_int_eq(mv_format_itemsize("=?"), 1);
	ck_assert_int_eq(mv_format_itemsize("e"), 2);
}
END_TEST

/* ------------------------------------------------------------------ pack and unpack */

/* Pack @v into an unaligned slot, unpack it, and return what came back. */
static mv_value round_trip(const char *text, mv_value v)
{
	unsigned char buf[24];
	mv_format f = parse_ok(text);
	mv_value out;
	int r;

	memset(buf, 0xaa, sizeof(buf));
	r = mv_format_pack(buf + 3, &f, &v);
	ck_assert_msg(r == 0, "pack %s: %d (%s)", text, r, mv_errmsg());
	/* Nothing outside the item is touched. */
	ck_assert_uint_eq(buf[2], 0xaa);
	ck_assert_uint_eq(buf[3 + f.itemsize], 0xaa);
	ck_assert_int_eq(mv_format_unpack(&out, &f, buf + 3), 0);
	return out;
}

struct int_case {
	const char *fmt;
	long long lo; /* smallest value (signed codes) */
	unsigned long long hi;
};

START_TEST(integers_round_trip_at_the_range_edges)
{
	static const struct int_case signed_cases[] = {
		{ "b", -128, 127 },
		{ "h", -32768, 32767 },
		{ "i", INT32_MIN, INT32_MAX },
		{ "q", INT64_MIN, INT64_MAX },
		{ "n", INT64_MIN, INT64_MAX },
		{ "<h", -32768, 32767 },
		{ ">i", INT32_MIN, INT32_MAX },
		{ "!l", INT32_MIN, INT32_MAX },
		{ "=q", INT64_MIN, INT64_MAX },
		{ "@l", LONG_MIN, LONG_MAX },
	};
	static const struct int_case unsigned_cases[] = {
		{ "B", 0, 255 },	{ "H", 0, 65535 },	     { "I", 0, UINT32_MAX },
		{ "Q", 0, UINT64_MAX }, { "N", 0, UINT64_MAX },	     { "P", 0, UINT64_MAX },
		{ ">H", 0, 65535 },	{ "<L", 0, UINT32_MAX },     { "!Q", 0, UINT64_MAX },
		{ "@L", 0, ULONG_MAX }, { "=B", 0, 255 },
	};

	for (size_t i = 0; i < sizeof(signed_cases) / sizeof(signed_cases[0]); i++) {
		const struct int_case *c = &signed_cases[i];
		long long vals[] = { c->lo, c->lo + 1, -1, 0, 1, (long long)c->hi - 1,
				     (long long)c->hi };

		for (size_t j = 0; j < sizeof(vals) / sizeof(vals[0]); j++) {
			mv_value out = round_trip(c->fmt, mv_value_int(vals[j]));

			ck_assert_int_eq(out.kind, MV_VALUE_INT);
			ck_assert_msg(out.i == vals[j], "%s: %lld came back as %lld", c->fmt,
				      vals[j], out.i);
		}
		/* Unsigned and bool values are ints too. */
		ck_assert_int_eq(round_trip(c->fmt, mv_value_uint(c->hi)).i, (long long)c->hi);
		ck_assert_int_eq(round_trip(c->fmt, mv_value_bool(1)).i, 1);
		ck_assert_int_eq(round_trip(c->fmt, mv_value_bool(0)).i, 0);
	}
	for (size_t i = 0; i < sizeof(unsigned_cases) / sizeof(unsigned_cases[0]); i++) {
		const struct int_case *c = &unsigned_cases[i];
		unsigned long long vals[] = { 0, 1, c->hi - 1, c->hi };

		for (size_t j = 0; j < sizeof(vals) / sizeof(vals[0]); j++) {
			mv_value out = round_trip(c->fmt, mv_value_uint(vals[j]));

			ck_assert_int_eq(out.kind, MV_VALUE_UINT);
			ck_assert_msg(out.u == vals[j], "%s: %llu came back as %llu", c->fmt,
				      vals[j], out.u);
		}
		ck_assert_uint_eq(round_trip(c->fmt, mv_value_int(1)).u, 1);
		ck_assert_uint_eq(round_trip(c->fmt, mv_value_bool(1)).u, 1);
	}
}
END_TEST

START_TEST(byte_order_prefixes_store_the_named_order)
{
	unsigned char buf[8];
	mv_format f;
	mv_value v = mv_value_uint(0x01020304);
	mv_value q = mv_value_int(-2);
	static const unsigned char le[] = { 4, 3, 2, 1 }, be[] = { 1, 2, 3, 4 };
	static const unsigned char qbe[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
	static const unsigned char dbe[] = { 0x3f, 0xf0, 0, 0, 0, 0, 0, 0 };
	static const unsigned char ebe[] = { 0x3c, 0x00 }, ele[] = { 0x00, 0x3c };

	f = parse_ok("<I");
	ck_assert_int_eq(mv_format_pack(buf, &f, &v), 0);
	ck_assert_mem_eq(buf, le, 4);
	f = parse_ok(">I");
	ck_assert_int_eq(mv_format_pack(buf, &f, &v), 0);
	ck_assert_mem_eq(buf, be, 4);
	f = parse_ok("!L");
	ck_assert_int_eq(mv_format_pack(buf, &f, &v), 0);
	ck_assert_mem_eq(buf, be, 4);
	f = parse_ok(">q");
	ck_assert_int_eq(mv_format_pack(buf, &f, &q), 0);
	ck_assert_mem_eq(buf, qbe, 8);
	f = parse_ok(">d");
	v = mv_value_float(1.0);
	ck_assert_int_eq(mv_format_pack(buf, &f, &v), 0);
	ck_assert_mem_eq(buf, dbe, 8);
	f = parse_ok(">e");
	ck_assert_int_eq(mv_format_pack(buf, &f, &v), 0);
	ck_assert_mem_eq(buf, ebe, 2);
	f = parse_ok("<e");
	ck_assert_int_eq(mv_format_pack(buf, &f, &v), 0);
	ck_assert_mem_eq(buf, ele, 2);
	f = parse_ok(">f");
	v = mv_value_float(-2.5);
	ck_assert_int_eq(mv_format_pack(buf, &f, &v), 0);
	ck_assert_int_eq(mv_format_unpack(&v, &f, buf), 0);
	ck_assert(v.f == -2.5);
	ck_assert_uint_eq(buf[0], 0xc0);
}
END_TEST

START_TEST(floats_round_trip)
{
	static const double vals[] = { 0.0, -0.0, 1.0, -2.5, 0.1, 1e300, -1e-300, 5e-324,
				       DBL_MAX, DBL_MIN, D_INF, -D_INF };

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		static const char *fmts[] = { "d", "@d", "<d", ">d" };

		for (size_t j = 0; j < 4; j++) {
			mv_value out = round_trip(fmts[j], mv_value_float(vals[i]));

			ck_assert_int_eq(out.kind, MV_VALUE_FLOAT);
			ck_assert(memcmp(&out.f, &vals[i], sizeof(double)) == 0);
		}
	}
	/* 'f' keeps what a float keeps. */
	ck_assert(round_trip("f", mv_value_float(0.5)).f == 0.5);
	ck_assert(round_trip("f", mv_value_float(0.1)).f == (double)0.1f);
	ck_assert(round_trip(">f", mv_value_float((double)FLT_MAX)).f == (double)FLT_MAX);
	ck_assert(round_trip("f", mv_value_float((double)FLT_TRUE_MIN)).f ==
		  (double)FLT_TRUE_MIN);
	ck_assert(isnan(round_trip("d", mv_value_float(D_NAN)).f));
	ck_assert(isnan(round_trip("f", mv_value_float(D_NAN)).f));
	ck_assert(isnan(round_trip("e", mv_value_float(D_NAN)).f));
	ck_assert(signbit(round_trip("e", mv_value_float(-D_NAN)).f));
	ck_assert(round_trip("e", mv_value_float(65504.0)).f == 65504.0);
	ck_assert(round_trip("<e", mv_value_float(-0x1p-24)).f == -0x1p-24);
	/* Ints and bools convert, correctly rounded. */
	ck_assert(round_trip("d", mv_value_int(-3)).f == -3.0);
	ck_assert(round_trip("d", mv_value_uint(UINT64_MAX)).f == 0x1p64);
	ck_assert(round_trip("f", mv_value_int(16777217)).f == 16777216.0);
	ck_assert(round_trip("d", mv_value_bool(1)).f == 1.0);
	ck_assert(round_trip("e", mv_value_int(2049)).f == 2048.0);
}
END_TEST

START_TEST(float_overflow_stores_infinity_as_cpython_does)
{
	/* memoryview(bytearray(4)).cast('f')[0] = 1e300 stores inf, no error. */
	ck_assert(round_trip("f", mv_value_float(1e300)).f == D_INF);
	ck_assert(round_trip("f", mv_value_float(-1e300)).f == -D_INF);
	ck_assert(round_trip("f", mv_value_float(0x1p128)).f == D_INF);
	/* Half way between FLT_MAX and 2^128 ties to even: inf; just below stays FLT_MAX. */
	ck_assert(round_trip("f", mv_value_float(0x1.ffffffp127)).f == D_INF);
	ck_assert(round_trip("f", mv_value_float(nextafter(0x1.ffffffp127, 0))).f ==
		  (double)FLT_MAX);
	ck_assert(round_trip("<f", mv_value_uint(UINT64_MAX)).f == 0x1p64);
}
END_TEST

START_TEST(bool_accepts_any_value_by_its_truth)
{
	static const unsigned char big[3] = { 0, 0, 0 };
	struct {
		mv_value v;
		int truth;
	} cases[] = {
		{ mv_value_int(0), 0 },		 { mv_value_int(-5), 1 },
		{ mv_value_uint(0), 0 },	 { mv_value_uint(UINT64_MAX), 1 },
		{ mv_value_bool(0), 0 },	 { mv_value_bool(1), 1 },
		{ mv_value_float(0.0), 0 },	 { mv_value_float(-0.0), 0 },
		{ mv_value_float(D_NAN), 1 },	 { mv_value_float(1e-300), 1 },
		{ mv_value_bytes("", 0), 0 },	 { mv_value_bytes(big, 1), 1 },
		{ mv_value_bytes(big, 3), 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mv_value out = round_trip("?", cases[i].v);

		ck_assert_int_eq(out.kind, MV_VALUE_BOOL);
		ck_assert_int_eq(out.i, cases[i].truth);
	}
}
END_TEST

START_TEST(bool_unpacks_any_nonzero_byte_as_true)
{
	mv_format f = parse_ok("?");
	mv_value v;

	for (unsigned b = 0; b < 256; b++) {
		unsigned char byte = (unsigned char)b;

		ck_assert_int_eq(mv_format_unpack(&v, &f, &byte), 0);
		ck_assert_int_eq(v.kind, MV_VALUE_BOOL);
		ck_assert_int_eq(v.i, b != 0);
	}
}
END_TEST

START_TEST(char_packs_one_byte_and_unpacks_to_it)
{
	unsigned char buf[4] = { 0 };
	mv_format f = parse_ok("c");
	mv_value v = mv_value_bytes("z", 1);

	ck_assert_int_eq(mv_format_pack(buf + 1, &f, &v), 0);
	ck_assert_uint_eq(buf[1], 'z');
	ck_assert_int_eq(mv_format_unpack(&v, &f, buf + 1), 0);
	ck_assert_int_eq(v.kind, MV_VALUE_BYTES);
	ck_assert_ptr_eq(v.bytes, buf + 1);
	ck_assert_uint_eq(v.nbytes, 1);
}
END_TEST

START_TEST(pointer_accepts_negative_values_modulo_two_to_the_64)
{
	ck_assert_uint_eq(round_trip("P", mv_value_int(-1)).u, UINTPTR_MAX);
	ck_assert_uint_eq(round_trip("@P", mv_value_uint(UINTPTR_MAX)).u, UINTPTR_MAX);
	if (sizeof(void *) == 8)
		ck_assert_uint_eq(round_trip("P", mv_value_int(INT64_MIN)).u, 1ULL << 63);
	ck_assert_int_eq(round_trip("P", mv_value_int(7)).kind, MV_VALUE_UINT);
}
END_TEST

struct pack_error {
	const char *fmt;
	mv_value v;
	int err;
	const char *msg;
};

START_TEST(pack_errors_match_cpython)
{
	static const char two[2] = { 'a', 'b' };
	struct pack_error cases[] = {
		/* ValueError: out of range for the format. */
		{ "B", mv_value_int(-1), ERANGE, "memoryview: invalid value for format 'B'" },
		{ "B", mv_value_int(256), ERANGE, "memoryview: invalid value for format 'B'" },
		{ "B", mv_value_uint(256), ERANGE, "memoryview: invalid value for format 'B'" },
		{ "b", mv_value_int(128), ERANGE, "memoryview: invalid value for format 'b'" },
		{ "b", mv_value_int(-129), ERANGE, "memoryview: invalid value for format 'b'" },
		{ "h", mv_value_int(32768), ERANGE, "memoryview: invalid value for format 'h'" },
		{ "H", mv_value_int(65536), ERANGE, "memoryview: invalid value for format 'H'" },
		{ "i", mv_value_int(1LL << 40), ERANGE, "invalid value for format 'i'" },
		{ "@i", mv_value_int(1LL << 40), ERANGE, "invalid value for format 'i'" },
		{ "I", mv_value_int(-1), ERANGE, "invalid value for format 'I'" },
		{ "<l", mv_value_int(1LL << 31), ERANGE, "invalid value for format '<l'" },
		{ ">L", mv_value_uint(1ULL << 32), ERANGE, "invalid value for format '>L'" },
		{ "q", mv_value_uint(1ULL << 63), ERANGE, "invalid value for format 'q'" },
		{ "n", mv_value_uint(1ULL << 63), ERANGE, "invalid value for format 'n'" },
		{ "Q", mv_value_int(-1), ERANGE, "invalid value for format 'Q'" },
		{ "N", mv_value_int(-1), ERANGE, "invalid value for format 'N'" },
		{ "e", mv_value_float(65520.0), ERANGE, "invalid value for format 'e'" },
		{ "e", mv_value_float(-1e300), ERANGE, "invalid value for format 'e'" },
		{ "e", mv_value_int(100000), ERANGE, "invalid value for format 'e'" },
		{ "@e", mv_value_float(1e6), ERANGE, "invalid value for format 'e'" },
		{ "c", mv_value_bytes(two, 2), ERANGE, "invalid value for format 'c'" },
		{ "c", mv_value_bytes("", 0), ERANGE, "invalid value for format 'c'" },
		/* TypeError: wrong type for the format. */
		{ "i", mv_value_float(1.5), EINVAL, "memoryview: invalid type for format 'i'" },
		{ "@i", mv_value_float(1.0), EINVAL, "memoryview: invalid type for format 'i'" },
		{ "B", mv_value_bytes("a", 1), EINVAL, "invalid type for format 'B'" },
		{ "P", mv_value_float(1.0), EINVAL, "invalid type for format 'P'" },
		{ "Q", mv_value_bytes("a", 1), EINVAL, "invalid type for format 'Q'" },
		{ "f", mv_value_bytes("a", 1), EINVAL, "invalid type for format 'f'" },
		{ "d", mv_value_bytes("a", 1), EINVAL, "invalid type for format 'd'" },
		{ "e", mv_value_bytes("a", 1), EINVAL, "invalid type for format 'e'" },
		{ "c", mv_value_int(1), EINVAL, "invalid type for format 'c'" },
		{ "c", mv_value_float(1.0), EINVAL, "invalid type for format 'c'" },
		{ "c", mv_value_bool(1), EINVAL, "invalid type for format 'c'" },
		{ ">c", mv_value_uint(1), EINVAL, "invalid type for format '>c'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char buf[16], before[16];
		mv_format f = parse_ok(cases[i].fmt);

		memset(buf, 0x5a, sizeof(buf));
		memcpy(before, buf, sizeof(buf));
		ck_assert_mv_err(mv_format_pack(buf + 1, &f, &cases[i].v), cases[i].err,
				 cases[i].msg);
		/* Nothing is written on failure. */
		ck_assert_mem_eq(buf, before, sizeof(buf));
	}
}
END_TEST

START_TEST(pack_and_unpack_refuse_bad_arguments)
{
	unsigned char buf[8];
	mv_format f = parse_ok("i"), bogus = { 'x', 0, 4, 0, "x" }, wrong_size = f;
	mv_value v = mv_value_int(1), unknown = v, nullbytes = mv_value_bytes(NULL, 1);

	wrong_size.itemsize = 3;
	unknown.kind = (mv_value_kind)0;
	ck_assert_mv_err(mv_format_pack(buf, NULL, &v), EINVAL, "invalid argument");
	ck_assert_mv_err(mv_format_pack(NULL, &f, &v), EINVAL, "invalid argument");
	ck_assert_mv_err(mv_format_pack(buf, &f, NULL), EINVAL, "invalid argument");
	ck_assert_mv_err(mv_format_pack(buf, &bogus, &v), EINVAL, "invalid format");
	ck_assert_mv_err(mv_format_pack(buf, &wrong_size, &v), EINVAL, "invalid format");
	ck_assert_mv_err(mv_format_pack(buf, &f, &unknown), EINVAL, "invalid type for format 'i'");
	f = parse_ok("?");
	ck_assert_mv_err(mv_format_pack(buf, &f, &unknown), EINVAL, "invalid type for format '?'");
	f = parse_ok("c");
	ck_assert_mv_err(mv_format_pack(buf, &f, &nullbytes), EINVAL, "invalid argument");
	ck_assert_mv_err(mv_format_unpack(NULL, &f, buf), EINVAL, "invalid argument");
	ck_assert_mv_err(mv_format_unpack(&v, NULL, buf), EINVAL, "invalid argument");
	ck_assert_mv_err(mv_format_unpack(&v, &f, NULL), EINVAL, "invalid argument");
	ck_assert_mv_err(mv_format_unpack(&v, &bogus, buf), EINVAL, "invalid format");
}
END_TEST

/* ------------------------------------------------------------------ binary16 */

START_TEST(every_half_round_trips_through_double)
{
	for (unsigned h = 0; h < 65536; h++) {
		double d = mv_format_half_unpack((uint16_t)h);
		uint16_t back = 0x1234;
		unsigned exp = (h >> 10) & 0x1f, frac = h & 0x3ff;

		ck_assert_int_eq(mv_format_half_pack(&back, d), 0);
		ck_assert_int_eq(!!signbit(d), h >> 15);
		if (exp == 0x1f && frac) {
			/* NaNs come back as the quiet NaN with their sign, as in CPython. */
			ck_assert(isnan(d));
			ck_assert_uint_eq(back, (h & 0x8000) | 0x7e00);
			continue;
		}
		ck_assert_msg(back == h, "half %#x -> %a -> %#x", h, d, back);
		/* The value itself: (-1)^s * 2^(e-15) * 1.f, or 2^-14 * 0.f for subnormals. */
		if (exp == 0x1f)
			ck_assert(isinf(d));
		else if (exp == 0)
			ck_assert(fabs(d) == ldexp(frac, -24));
		else
			ck_assert(fabs(d) == ldexp(1024 + frac, (int)exp - 25));
	}
	ck_assert(mv_format_half_unpack(0x3c00) == 1.0);
	ck_assert(mv_format_half_unpack(0x7bff) == 65504.0);
	ck_assert(mv_format_half_unpack(0x0001) == 0x1p-24);
	ck_assert(mv_format_half_unpack(0xc000) == -2.0);
}
END_TEST

START_TEST(half_pack_rounds_midpoints_to_even)
{
	/* Between every two adjacent finite halves of one sign. */
	for (unsigned h = 0; h < 0x7bff; h++) {
		double lo = mv_format_half_unpack((uint16_t)h);
		double hi = mv_format_half_unpack((uint16_t)(h + 1));
		double mid = (lo + hi) / 2; /* exact: halves have few bits */
		uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h, r;

		ck_assert_int_eq(mv_format_half_pack(&r, mid), 0);
		ck_assert_msg(r == even, "midpoint %a -> %#x, expected %#x", mid, r, even);
		ck_assert_int_eq(mv_format_half_pack(&r, nextafter(mid, 0)), 0);
		ck_assert_uint_eq(r, h);
		ck_assert_int_eq(mv_format_half_pack(&r, nextafter(mid, D_INF)), 0);
		ck_assert_uint_eq(r, h + 1);
		ck_assert_int_eq(mv_format_half_pack(&r, -mid), 0);
		ck_assert_uint_eq(r, even | 0x8000);
	}
}
END_TEST

START_TEST(half_pack_handles_tiny_huge_and_special_values)
{
	uint16_t r = 0x1234;

	ck_assert_int_eq(mv_format_half_pack(&r, 0x1p-25), 0); /* tie with 0: even */
	ck_assert_uint_eq(r, 0);
	ck_assert_int_eq(mv_format_half_pack(&r, nextafter(0x1p-25, 1)), 0);
	ck_assert_uint_eq(r, 1);
	ck_assert_int_eq(mv_format_half_pack(&r, 0x1.8p-24), 0); /* tie between 1 and 2 */
	ck_assert_uint_eq(r, 2);
	ck_assert_int_eq(mv_format_half_pack(&r, -0x1p-26), 0);
	ck_assert_uint_eq(r, 0x8000);
	ck_assert_int_eq(mv_format_half_pack(&r, 5e-324), 0);
	ck_assert_uint_eq(r, 0);
	ck_assert_int_eq(mv_format_half_pack(&r, DBL_MIN), 0);
	ck_assert_uint_eq(r, 0);
	ck_assert_int_eq(mv_format_half_pack(&r, -0.0), 0);
	ck_assert_uint_eq(r, 0x8000);
	ck_assert_int_eq(mv_format_half_pack(&r, nextafter(0x1p-14, 0)), 0); /* up to normal */
	ck_assert_uint_eq(r, 0x0400);
	ck_assert_int_eq(mv_format_half_pack(&r, 1.0 + 0x1p-11), 0);
	ck_assert_uint_eq(r, 0x3c00);
	ck_assert_int_eq(mv_format_half_pack(&r, 1.0 + 0x1.8p-10), 0);
	ck_assert_uint_eq(r, 0x3c02);
	ck_assert_int_eq(mv_format_half_pack(&r, 2047.9), 0); /* carries into the exponent */
	ck_assert_uint_eq(r, 0x6800);
	ck_assert_int_eq(mv_format_half_pack(&r, D_INF), 0);
	ck_assert_uint_eq(r, 0x7c00);
	ck_assert_int_eq(mv_format_half_pack(&r, -D_INF), 0);
	ck_assert_uint_eq(r, 0xfc00);
	ck_assert_int_eq(mv_format_half_pack(&r, D_NAN), 0);
	ck_assert_uint_eq(r, 0x7e00);
	ck_assert_int_eq(mv_format_half_pack(&r, -D_NAN), 0);
	ck_assert_uint_eq(r, 0xfe00);
	ck_assert_int_eq(mv_format_half_pack(&r, 65519.99), 0);
	ck_assert_uint_eq(r, 0x7bff);
	ck_assert_int_eq(mv_format_half_pack(&r, nextafter(65520.0, 0)), 0);
	ck_assert_uint_eq(r, 0x7bff);
	r = 0x1234;
	ck_assert_mv_err(mv_format_half_pack(&r, 65520.0), ERANGE, "float too large");
	ck_assert_mv_err(mv_format_half_pack(&r, -65520.0), ERANGE, "float too large");
	ck_assert_mv_err(mv_format_half_pack(&r, 1e300), ERANGE, "float too large");
	ck_assert_mv_err(mv_format_half_pack(&r, DBL_MAX), ERANGE, "float too large");
	ck_assert_uint_eq(r, 0x1234);
	ck_assert_mv_err(mv_format_half_pack(NULL, 1.0), EINVAL, "invalid argument");
}
END_TEST

/* ------------------------------------------------------------------ item repr */

struct repr_case {
	const char *fmt;
	const char *bytes; /* in the order the format stores them */
	size_t n;
	const char *want;
};

/* Expected strings printed by python3.13: repr(memoryview(bytearray(b)).cast(f).tolist()[0]) */
START_TEST(item_repr_matches_python)
{
	static const struct repr_case cases[] = {
		{ "<b", "\x80", 1, "-128" },
		{ "<B", "\xff", 1, "255" },
		{ "<q", "\0\0\0\0\0\0\0\x80", 8, "-9223372036854775808" },
		{ "<Q", "\xff\xff\xff\xff\xff\xff\xff\xff", 8, "18446744073709551615" },
		{ "<h", "\x00\x80", 2, "-32768" },
		{ "<i", "\xff\xff\xff\x7f", 4, "2147483647" },
		{ ">i", "\x7f\xff\xff\xff", 4, "2147483647" },
		{ ">h", "\xff\xfe", 2, "-2" },
		{ "<H", "\x00\x00", 2, "0" },
		{ "?", "\x02", 1, "True" },
		{ "?", "\x00", 1, "False" },
		{ "<f", "\xcd\xcc\xcc\x3d", 4, "0.10000000149011612" },
		{ "<f", "\x00\x00\x80\x7f", 4, "inf" },
		{ "<f", "\x01\x00\x00\x00", 4, "1.401298464324817e-45" },
		{ "<e", "\x00\x3c", 2, "1.0" },
		{ "<e", "\x00\x7e", 2, "nan" },
		{ "<e", "\x00\xfe", 2, "nan" },
		{ "<e", "\x01\x00", 2, "5.960464477539063e-08" },
		{ "<e", "\xff\x7b", 2, "65504.0" },
		{ ">e", "\x7b\xff", 2, "65504.0" },
		{ "<d", "\xf1\x68\xe3\x88\xb5\xf8\xe4\x3e", 8, "1e-05" },
		{ "<d", "\0\0\0\0\0\0\0\x80", 8, "-0.0" },
		{ "<d", "\0\0\0\0\0\0\xf8\x7f", 8, "nan" },
		{ "<d", "\0\0\0\0\0\0\xf8\xff", 8, "nan" },
		{ "<d", "\0\0\0\0\0\0\xf0\xff", 8, "-inf" },
		{ "c", "\x00", 1, "b'\\x00'" },
		{ "c", "\x07", 1, "b'\\x07'" },
		{ "c", "\x09", 1, "b'\\t'" },
		{ "c", "\x0a", 1, "b'\\n'" },
		{ "c", "\x0d", 1, "b'\\r'" },
		{ "c", "\x1b", 1, "b'\\x1b'" },
		{ "c", " ", 1, "b' '" },
		{ "c", "\"", 1, "b'\"'" },
		{ "c", "'", 1, "b\"'\"" },
		{ "c", "\\", 1, "b'\\\\'" },
		{ "c", "A", 1, "b'A'" },
		{ "c", "~", 1, "b'~'" },
		{ "c", "\x7f", 1, "b'\\x7f'" },
		{ "c", "\x80", 1, "b'\\x80'" },
		{ "c", "\xab", 1, "b'\\xab'" },
		{ "c", "\xff", 1, "b'\\xff'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct repr_case *c = &cases[i];
		char src[9], out[MV_FORMAT_REPR_MAX];
		mv_format f = parse_ok(c->fmt);
		ssize_t n;

		/* Unaligned on purpose. */
		memcpy(src + 1, c->bytes, c->n);
		n = mv_format_repr(out, sizeof(out), &f, src + 1);
		ck_assert_msg(n == (ssize_t)strlen(c->want) && strcmp(out, c->want) == 0,
			      "%s: got \"%s\" (%zd), want \"%s\"", c->fmt, out, n, c->want);
	}
}
END_TEST

START_TEST(item_repr_of_native_formats)
{
	char out[MV_FORMAT_REPR_MAX];
	long l = LONG_MIN;
	size_t z = SIZE_MAX;
	ssize_t sz = -1;
	void *p = (void *)(uintptr_t)0x1234;
	mv_format f;

	f = parse_ok("l");
	ck_assert_int_eq(mv_format_repr(out, sizeof(out), &f, &l), (ssize_t)strlen(out));
	ck_assert_str_eq(out, sizeof(long) == 8 ? "-9223372036854775808" : "-2147483648");
	f = parse_ok("@N");
	mv_format_repr(out, sizeof(out), &f, &z);
	ck_assert_str_eq(out, sizeof(size_t) == 8 ? "18446744073709551615" : "4294967295");
	f = parse_ok("n");
	mv_format_repr(out, sizeof(out), &f, &sz);
	ck_assert_str_eq(out, "-1");
	f = parse_ok("P");
	mv_format_repr(out, sizeof(out), &f, &p);
	ck_assert_str_eq(out, "4660");
}
END_TEST

START_TEST(item_repr_reports_small_buffers)
{
	char out[8];
	mv_format f = parse_ok("<q");
	int64_t v = INT64_MIN;

	/* "-9223372036854775808" needs 21 bytes with its NUL. */
	ck_assert_mv_err(mv_format_repr(out, sizeof(out), &f, &v), ENOBUFS, "21 bytes needed");
	f = parse_ok("B");
	ck_assert_mv_err(mv_format_repr(out, 3, &f, "\xff"), ENOBUFS, "4 bytes needed");
	ck_assert_int_eq(mv_format_repr(out, 4, &f, "\xff"), 3);
	ck_assert_str_eq(out, "255");
	ck_assert_mv_err(mv_format_repr(out, 0, &f, "\xff"), ENOBUFS, "needed");
	ck_assert_mv_err(mv_format_repr(NULL, 8, &f, "\xff"), EINVAL, "invalid argument");
	ck_assert_mv_err(mv_format_repr(out, 8, NULL, "\xff"), EINVAL, "invalid argument");
	ck_assert_mv_err(mv_format_repr(out, 8, &f, NULL), EINVAL, "invalid argument");
}
END_TEST

/* ------------------------------------------------------------------ float repr */

START_TEST(double_repr_matches_python_on_the_vector_file)
{
	size_t len = 0, lines = 0;
	char *data = mv_test_read_data("float_repr.txt", &len);
	char *line, *save = NULL;

	ck_assert_msg(data != NULL, "cannot read tests/data/float_repr.txt");
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char out[MV_FORMAT_REPR_MAX], small[MV_FORMAT_REPR_MAX];
		const char *want;
		uint64_t bits;
		double d;
		ssize_t n;

		if (line[0] == '#')
			continue;
		bits = strtoull(line, NULL, 16);
		want = line + 17;
		memcpy(&d, &bits, sizeof(d));
		n = mv_format_double_repr(out, sizeof(out), d);
		ck_assert_msg(n == (ssize_t)strlen(want) && strcmp(out, want) == 0,
			      "%016" PRIx64 ": got \"%s\", Python says \"%s\"", bits, out, want);
		/* The exact size works, one byte less does not. */
		ck_assert_int_eq(mv_format_double_repr(small, (size_t)n + 1, d), n);
		ck_assert_str_eq(small, want);
		ck_assert_int_eq(mv_format_double_repr(small, (size_t)n, d), -ENOBUFS);
		lines++;
	}
	ck_assert_uint_ge(lines, 20000);
	free(data);
}
END_TEST

START_TEST(double_repr_lays_out_like_python)
{
	static const struct {
		double d;
		const char *want;
	} cases[] = {
		{ 0.0, "0.0" },
		{ -0.0, "-0.0" },
		{ 1.0, "1.0" },
		{ 100.0, "100.0" },
		{ 0.1, "0.1" },
		{ 0.0001, "0.0001" },
		{ 1e-5, "1e-05" },
		{ 1.5e-7, "1.5e-07" },
		{ 1e16, "1e+16" },
		{ 1234567890123456.0, "1234567890123456.0" },
		{ 9007199254740993.0, "9007199254740992.0" },
		{ 1e22, "1e+22" },
		{ 1.5e300, "1.5e+300" },
		{ 5e-324, "5e-324" },
		{ DBL_MAX, "1.7976931348623157e+308" },
		{ DBL_MIN, "2.2250738585072014e-308" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ -123.456, "-123.456" },
		{ 0x1p-25, "2.9802322387695312e-08" }, /* tie between two 17-digit strings */
		{ D_INF, "inf" },
		{ -D_INF, "-inf" },
		{ D_NAN, "nan" },
		{ -D_NAN, "nan" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[MV_FORMAT_REPR_MAX];

		ck_assert_int_eq(mv_format_double_repr(out, sizeof(out), cases[i].d),
				 (ssize_t)strlen(cases[i].want));
		ck_assert_str_eq(out, cases[i].want);
	}
}
END_TEST

START_TEST(double_repr_reports_small_buffers)
{
	char out[4];

	ck_assert_mv_err(mv_format_double_repr(out, sizeof(out), 0.25), ENOBUFS, "5 bytes needed");
	ck_assert_int_eq(mv_format_double_repr(out, sizeof(out), 1.5), 3);
	ck_assert_str_eq(out, "1.5");
	ck_assert_mv_err(mv_format_double_repr(out, 0, 1.0), ENOBUFS, "needed");
	ck_assert_mv_err(mv_format_double_repr(NULL, 32, 1.0), EINVAL, "invalid argument");
}
END_TEST

/* ------------------------------------------------------------------ hash */

/* Printed by: PYTHONHASHSEED=0 python3.13 -c "print(hash(b'...'))" */
START_TEST(bytes_hash_matches_python_with_hashseed_zero)
{
	static const struct {
		const char *data;
		size_t len;
		int64_t want;
	} cases[] = {
		{ "", 0, 0 },
		{ "\0", 1, INT64_C(7541581120933061747) },
		{ "a", 1, INT64_C(4644417185603328019) },
		{ "abc", 3, INT64_C(-4594863902769663758) },
		{ "abcdefg", 7, INT64_C(7904145750247929094) },
		{ "abcdefgh", 8, INT64_C(4574395652268504554) },
		{ "abcdefghi", 9, INT64_C(-532774252720507163) },
		{ "hello world", 11, INT64_C(-5642461784034726774) },
		{ "aaaaaaaa", 8, INT64_C(-4250921761727411054) },
		{ "aaaaaaaaaaaaaaa", 15, INT64_C(8561823421731192016) },
	};
	unsigned char seq[256], ff[1000];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(mv_view_hash_bytes(cases[i].data, cases[i].len) == cases[i].want,
			      "hash of \"%s\"", cases[i].data);
	for (unsigned i = 0; i < 256; i++)
		seq[i] = (unsigned char)i;
	memset(ff, 0xff, sizeof(ff));
	ck_assert(mv_view_hash_bytes(seq, 64) == INT64_C(8493894268803903686));
	ck_assert(mv_view_hash_bytes(seq, 256) == INT64_C(3579909164457460488));
	ck_assert(mv_view_hash_bytes(ff, 1000) == INT64_C(-6090597822910994026));
	/* Alignment does not matter. */
	memcpy(ff + 1, "hello world", 11);
	ck_assert(mv_view_hash_bytes(ff + 1, 11) == INT64_C(-5642461784034726774));
}
END_TEST

static Suite *format_suite(void)
{
	Suite *s = suite_create("format");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, parse_accepts_every_native_code_with_and_without_at);
	tcase_add_test(tc, parse_accepts_standard_prefixes_with_struct_sizes);
	tcase_add_test(tc, parse_text_is_static_and_shared);
	tcase_add_test(tc, parse_refuses_n_N_P_with_a_standard_prefix);
	tcase_add_test(tc, parse_refuses_bad_formats);
	tcase_add_test(tc, parse_refuses_null_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("itemsize");
	tcase_add_test(tc, itemsize_matches_native_and_standard_sizes);
	suite_add_tcase(s, tc);

	tc = tcase_create("pack_unpack");
	tcase_add_test(tc, integers_round_trip_at_the_range_edges);
	tcase_add_test(tc, byte_order_prefixes_store_the_named_order);
	tcase_add_test(tc, floats_round_trip);
	tcase_add_test(tc, float_overflow_stores_infinity_as_cpython_does);
	tcase_add_test(tc, bool_accepts_any_value_by_its_truth);
	tcase_add_test(tc, bool_unpacks_any_nonzero_byte_as_true);
	tcase_add_test(tc, char_packs_one_byte_and_unpacks_to_it);
	tcase_add_test(tc, pointer_accepts_negative_values_modulo_two_to_the_64);
	tcase_add_test(tc, pack_errors_match_cpython);
	tcase_add_test(tc, pack_and_unpack_refuse_bad_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("half");
	tcase_add_test(tc, every_half_round_trips_through_double);
	tcase_add_test(tc, half_pack_rounds_midpoints_to_even);
	tcase_add_test(tc, half_pack_handles_tiny_huge_and_special_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("item_repr");
	tcase_add_test(tc, item_repr_matches_python);
	tcase_add_test(tc, item_repr_of_native_formats);
	tcase_add_test(tc, item_repr_reports_small_buffers);
	suite_add_tcase(s, tc);

	tc = tcase_create("float_repr");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, double_repr_matches_python_on_the_vector_file);
	tcase_add_test(tc, double_repr_lays_out_like_python);
	tcase_add_test(tc, double_repr_reports_small_buffers);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash");
	tcase_add_test(tc, bytes_hash_matches_python_with_hashseed_zero);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return mv_test_run(format_suite());
}
