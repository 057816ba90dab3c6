/*
 * fuzz/fuzz_format.c - libFuzzer target: struct format strings and single items.
 *
 * Input: a format string (up to the first NUL, or all of the input), then the bytes of an item
 * and of a value to write. Every string goes through mv_format_parse() and mv_format_itemsize();
 * an accepted one must be a consistent single-item format, and its items must survive
 * unpack -> pack and pack -> unpack; a refused one must fail with -EINVAL and a message. Casting
 * a byte view to the string must agree with the parser.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memview.h"

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char codes[] = "cbB?hHiIlLqQnNfdeP";

static int is_float_code(char c)
{
	return c == 'e' || c == 'f' || c == 'd';
}

/* True if the item at @p (format @f) is a NaN, whose bits need not survive a round trip. */
static int item_is_nan(const mv_format *f, const void *p)
{
	mv_value v;

	return is_float_code(f->code) && mv_format_unpack(&v, f, p) == 0 && isnan(v.f);
}

/* repr() into every short buffer: -ENOBUFS or the same text, never an overrun. */
static void check_repr(const mv_format *f, const uint8_t *item)
{
	char full[MV_FORMAT_REPR_MAX], part[MV_FORMAT_REPR_MAX];
	ssize_t n, m;
	size_t cap;

	n = mv_format_repr(full, sizeof(full), f, item);
	FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(full) && full[n] == '\0', "repr gave %zd", n);
	FUZZ_ASSERT(strlen(full) == (size_t)n, "repr length %zd but text '%s'", n, full);
	for (cap = 0; cap <= (size_t)n; cap++) {
		m = mv_format_repr(part, cap, f, item);
		if (m == -ENOBUFS) {
			FUZZ_ASSERT_ERR(m);
			continue;
		}
		FUZZ_ASSERT(cap > 0 && m == n && memcmp(part, full, (size_t)n + 1) == 0,
			    "repr with cap %zu gave %zd, full %zd", cap, m, n);
	}
}

/* The item's bytes must come back from unpack -> pack, where the format keeps every bit. */
static void check_item_round_trip(const mv_format *f, const uint8_t *item)
{
	uint8_t out[16];
	mv_value v, w;
	int rc;

	rc = mv_format_unpack(&v, f, item);
	FUZZ_ASSERT(rc == 0, "unpack of a parsed format failed: %s", mv_errmsg());
	memset(out, 0xa5, sizeof(out));
	rc = mv_format_pack(out, f, &v);
	FUZZ_ASSERT(rc == 0, "pack of an unpacked '%s' item failed: %s", f->text, mv_errmsg());
	FUZZ_ASSERT(out[f->itemsize] == 0xa5, "pack of '%s' wrote past the item", f->text);
	if (f->code == '?') {
		/* Any non-zero byte is True, which packs as 1. */
		rc = mv_format_unpack(&w, f, out);
		FUZZ_ASSERT(rc == 0 && w.kind == MV_VALUE_BOOL && w.i == v.i && out[0] == v.i,
			    "bool round trip");
		return;
	}
	if (item_is_nan(f, item)) {
		rc = mv_format_unpack(&w, f, out);
		FUZZ_ASSERT(rc == 0 && isnan(w.f), "NaN of '%s' did not stay NaN", f->text);
		return;
	}
	FUZZ_ASSERT(memcmp(out, item, f->itemsize) == 0, "'%s' item did not round trip", f->text);
}

/* A value built from fuzz bytes: whatever pack accepts must unpack to what pack meant. */
static void check_value_round_trip(const mv_format *f, struct fuzz_in *in)
{
	uint8_t out[16], again[16];
	uint8_t byte = fuzz_u8(in);
	mv_value v, w;
	double d;
	int rc;

	switch (fuzz_u8(in) % 6) {
	case 0:
		v = mv_value_int((long long)fuzz_uint(in, 8));
		break;
	case 1:
		v = mv_value_uint(fuzz_uint(in, 8));
		break;
	case 2: {
		uint64_t bits = fuzz_uint(in, 8);

		memcpy(&d, &bits, sizeof(d));
		v = mv_value_float(d);
		break;
	}
	case 3:
		v = mv_value_bool(fuzz_u8(in) & 1);
		break;
	case 4:
		v = mv_value_bytes(&byte, fuzz_u8(in) % 3);
		break;
	default:
		v = mv_value_int((long long)(int8_t)fuzz_u8(in));
		break;
	}
	memset(out, 0x5a, sizeof(out));
	rc = mv_format_pack(out, f, &v);
	if (rc < 0) {
		FUZZ_ASSERT(rc == -EINVAL || rc == -ERANGE, "pack gave %d", rc);
		FUZZ_ASSERT_ERR(rc);
		for (size_t i = 0; i < sizeof(out); i++)
			FUZZ_ASSERT(out[i] == 0x5a, "a failed pack of '%s' wrote", f->text);
		return;
	}
	FUZZ_ASSERT(out[f->itemsize] == 0x5a, "pack of '%s' wrote past the item", f->text);
	rc = mv_format_unpack(&w, f, out);
	FUZZ_ASSERT(rc == 0, "unpack after pack failed");
	switch (f->code) {
	case 'c':
		FUZZ_ASSERT(w.kind == MV_VALUE_BYTES && w.nbytes == 1 && out[0] == byte, "'c'");
		break;
	case '?':
		FUZZ_ASSERT(w.kind == MV_VALUE_BOOL, "'?' unpacked as kind %d", w.kind);
		break;
	case 'd':
		if (v.kind == MV_VALUE_FLOAT && !isnan(v.f))
			FUZZ_ASSERT(w.f == v.f && signbit(w.f) == signbit(v.f), "'d' changed %a", v.f);
		break;
	case 'f':
		if (v.kind == MV_VALUE_FLOAT && !isnan(v.f))
			FUZZ_ASSERT(w.f == (double)(float)v.f, "'f' stored %a for %a", w.f, v.f);
		break;
	case 'e':
		break;
	default:
		/* Integers: what was accepted is what comes back. */
		if (v.kind == MV_VALUE_INT && w.kind == MV_VALUE_INT)
			FUZZ_ASSERT(w.i == v.i, "'%s' stored %lld for %lld", f->text, w.i, v.i);
		else if (v.kind == MV_VALUE_UINT && w.kind == MV_VALUE_UINT)
			FUZZ_ASSERT(w.u == v.u, "'%s' stored %llu for %llu", f->text, w.u, v.u);
		else if (v.kind == MV_VALUE_INT && w.kind == MV_VALUE_UINT && v.i >= 0)
			FUZZ_ASSERT(w.u == (unsigned long long)v.i, "'%s' stored %llu for %lld",
				    f->text, w.u, v.i);
		break;
	}
	/* Packing what was unpacked is idempotent for every format (NaNs stay NaN). */
	if (!item_is_nan(f, out)) {
		rc = mv_format_pack(again, f, &w);
		FUZZ_ASSERT(rc == 0 && memcmp(again, out, f->itemsize) == 0,
			    "'%s': pack(unpack(pack(x))) differs", f->text);
	}
}

/* Python's float repr reads back to the same double; half floats survive their own trip. */
static void check_floats(struct fuzz_in *in)
{
	char text[MV_FORMAT_REPR_MAX];
	uint64_t bits = fuzz_uint(in, 8);
	uint16_t h = (uint16_t)fuzz_uint(in, 2), h2;
	double d, back;
	ssize_t n;
	int rc;

	memcpy(&d, &bits, sizeof(d));
	n = mv_format_double_repr(text, sizeof(text), d);
	FUZZ_ASSERT(n > 0 && (size_t)n == strlen(text), "double repr gave %zd", n);
	if (!isnan(d)) {
		back = strtod(text, NULL);
		FUZZ_ASSERT(back == d && signbit(back) == signbit(d), "repr '%s' of %a reads as %a",
			    text, d, back);
	} else {
		FUZZ_ASSERT(strcmp(text, "nan") == 0, "NaN printed as '%s'", text);
	}
	back = mv_format_half_unpack(h);
	rc = mv_format_half_pack(&h2, back);
	FUZZ_ASSERT(rc == 0, "half %#x unpacked to %a does not pack", h, back);
	FUZZ_ASSERT(h2 == h || (isnan(back) && (h2 & 0x7c00) == 0x7c00 && (h2 & 0x3ff)),
		    "half %#x came back as %#x", h, h2);
	rc = mv_format_half_pack(&h2, d);
	if (rc < 0) {
		FUZZ_ASSERT(rc == -ERANGE && isfinite(d) && fabs(d) > 65504.0, "half pack of %a", d);
		FUZZ_ASSERT_ERR(rc);
	}
}

/* A format made by hand, not by the parser: refused or handled, never trusted blindly. */
static void check_forged(struct fuzz_in *in, const uint8_t *item)
{
	mv_format f;
	mv_value v;
	uint8_t out[16];
	char text[MV_FORMAT_REPR_MAX];
	ssize_t n;
	int rc;

	f.code = (char)fuzz_u8(in);
	if (fuzz_u8(in) & 1)
		f.code = codes[(uint8_t)f.code % (sizeof(codes) - 1)];
	f.prefix = "\0@=<>!x"[fuzz_u8(in) % 7];
	f.itemsize = fuzz_u8(in) % 10;
	f.swap = fuzz_u8(in) % 3;
	f.text = "forged";
	rc = mv_format_unpack(&v, &f, item);
	if (rc < 0) {
		FUZZ_ASSERT(rc == -EINVAL, "forged unpack gave %d", rc);
		FUZZ_ASSERT_ERR(rc);
		return;
	}
	n = mv_format_repr(text, sizeof(text), &f, item);
	FUZZ_ASSERT(n > 0 || n == -EINVAL, "forged repr gave %zd", n);
	memset(out, 0, sizeof(out));
	rc = mv_format_pack(out, &f, &v);
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -ERANGE, "forged pack gave %d", rc);
}

/* Casting bytes to the string agrees with the parser. */
static void check_cast(const char *s, int parsed, const mv_format *f, size_t nbytes)
{
	mv_heap *h;
	mv_view m, c;
	int rc;

	if (mv_heap_bytes_new(&h, NULL, nbytes) < 0)
		abort();
	if (mv_view_from(&m, mv_heap_exporter(h), 0) < 0)
		abort();
	rc = mv_view_cast(&c, &m, s, NULL, MV_CAST_NO_SHAPE);
	if (rc == 0) {
		FUZZ_ASSERT(parsed, "cast accepted '%s', which the parser refuses", s);
		FUZZ_ASSERT(mv_view_itemsize(&c) == f->itemsize &&
				    mv_view_nbytes(&c) == (ssize_t)nbytes,
			    "cast to '%s' has itemsize %zd", s, mv_view_itemsize(&c));
		FUZZ_ASSERT(strcmp(mv_view_format(&c), s) == 0 ||
				    strcmp(mv_view_format(&c), f->text) == 0,
			    "cast to '%s' reports format '%s'", s, mv_view_format(&c));
		FUZZ_ASSERT(mv_view_release(&c) == 0, "release of the cast");
	} else {
		FUZZ_ASSERT_ERR(rc);
		FUZZ_ASSERT(!parsed || nbytes % f->itemsize != 0, "cast to '%s' refused: %s", s,
			    mv_errmsg());
	}
	FUZZ_ASSERT(mv_view_release(&m) == 0, "release");
	FUZZ_ASSERT(mv_heap_free(h) == 0, "free after every view is released");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t slen = nul ? (size_t)(nul - data) : size;
	struct fuzz_in in = { nul ? nul + 1 : data + size, nul ? size - slen - 1 : 0 };
	uint8_t item[16];
	mv_format f, g;
	char *s;
	ssize_t isz;
	int rc;

	s = malloc(slen + 1);
	if (!s)
		return 0;
	memcpy(s, data, slen);
	s[slen] = '\0';

	rc = mv_format_parse(&f, s);
	isz = mv_format_itemsize(s);
	if (rc == 0) {
		FUZZ_ASSERT(f.itemsize > 0 && f.itemsize <= 8 && isz == f.itemsize,
			    "'%s': itemsize %u, mv_format_itemsize %zd", s, f.itemsize, isz);
		FUZZ_ASSERT(f.text && strchr(codes, f.code) && f.swap <= 1,
			    "'%s' parsed to code %d", s, f.code);
		FUZZ_ASSERT(mv_format_parse(&g, f.text) == 0 && g.code == f.code &&
				    g.itemsize == f.itemsize && g.swap == f.swap,
			    "canonical text '%s' of '%s' parses differently", f.text, s);
		for (size_t i = 0; i < sizeof(item); i++)
			item[i] = fuzz_u8(&in);
		check_item_round_trip(&f, item);
		check_repr(&f, item);
		check_value_round_trip(&f, &in);
	} else {
		FUZZ_ASSERT(rc == -EINVAL && isz == -EINVAL, "'%s': parse %d, itemsize %zd", s, rc,
			    isz);
		FUZZ_ASSERT_ERR(rc);
		memset(item, 0, sizeof(item));
	}
	check_cast(s, rc == 0, &f, 24 + fuzz_u8(&in) % 8);
	check_forged(&in, item);
	check_floats(&in);
	free(s);
	return 0;
}
