/*
 * tests/check_conformance.c - replay CPython 3.13's memoryview behaviour through memview.
 *
 * tests/data/vectors.txt is written by tests/gen_vectors.py, which runs every operation on real
 * CPython 3.13 memoryview objects and records what happened: a value, success, or the exception
 * class and message. This program replays each case through memview's public API only and
 * compares values, errno (mapped from the exception class by the table in memview/error.h)
 * and mv_errmsg() (CPython's text, compared exactly). The file format is described at the top of
 * gen_vectors.py.
 *
 * One tcase per op family (the generator tags every case with one); a mismatch is reported with
 * the case number, the op line, what CPython did and what memview did. Only the first mismatch of
 * a case is listed and categorised, since later ops of that case see diverged state.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "../util/mvutil.h"

#define VECTORS "vectors.txt"
#define MIN_CASES 20000
#define MAX_VIEWS 64
#define MAX_DATA 16
#define MAX_EXPORTS 16
#define MAX_IDX 128
#define LIST_MAX 20
#define MAX_CATEGORIES 256

/* ------------------------------------------------------------------ growable text */

typedef struct strbuf {
	char *p;
	size_t len, cap;
} strbuf;

static void sb_reserve(strbuf *sb, size_t more)
{
	if (sb->len + more + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 256;

		while (sb->len + more + 1 > cap)
			cap *= 2;
		sb->p = realloc(sb->p, cap);
		ck_assert_ptr_nonnull(sb->p);
		sb->cap = cap;
	}
}

static void sb_add(strbuf *sb, const char *s, size_t n)
{
	sb_reserve(sb, n);
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

static void sb_puts(strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

static void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sb_reserve(sb, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(sb->p + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

static void sb_clear(strbuf *sb)
{
	sb->len = 0;
	if (sb->p)
		sb->p[0] = '\0';
}

static void sb_hex(strbuf *sb, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	sb_reserve(sb, 2 * n);
	for (i = 0; i < n; i++) {
		sb->p[sb->len++] = digits[p[i] >> 4];
		sb->p[sb->len++] = digits[p[i] & 15];
	}
	sb->p[sb->len] = '\0';
}

/* ------------------------------------------------------------------ rendering like Python */

/* repr(bytes) */
static void sb_bytes_repr(strbuf *sb, const unsigned char *p, size_t n)
{
	char quote = '\'';
	size_t i;

	if (memchr(p, '\'', n) && !memchr(p, '"', n))
		quote = '"';
	sb_add(sb, "b", 1);
	sb_add(sb, &quote, 1);
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == (unsigned char)quote || c == '\\')
			sb_printf(sb, "\\%c", c);
		else if (c == '\t')
			sb_puts(sb, "\\t");
		else if (c == '\n')
			sb_puts(sb, "\\n");
		else if (c == '\r')
			sb_puts(sb, "\\r");
		else if (c < ' ' || c >= 0x7f)
			sb_printf(sb, "\\x%02x", c);
		else
			sb_add(sb, (const char *)&c, 1);
	}
	sb_add(sb, &quote, 1);
}

/* repr() of an item as Python would print it; 0 or a negative errno from the float repr. */
static int sb_value_repr(strbuf *sb, const mv_value *v)
{
	char buf[MV_FORMAT_REPR_MAX + 8];
	ssize_t n;

	switch (v->kind) {
	case MV_VALUE_INT:
		sb_printf(sb, "%lld", v->i);
		return 0;
	case MV_VALUE_UINT:
		sb_printf(sb, "%llu", v->u);
		return 0;
	case MV_VALUE_BOOL:
		sb_puts(sb, v->i ? "True" : "False");
		return 0;
	case MV_VALUE_FLOAT:
		n = mv_format_double_repr(buf, sizeof(buf), v->f);
		if (n < 0)
			return (int)n;
		sb_add(sb, buf, (size_t)n);
		return 0;
	case MV_VALUE_BYTES:
		sb_bytes_repr(sb, v->bytes, v->nbytes);
		return 0;
	}
	sb_printf(sb, "<bad value kind %d>", (int)v->kind);
	return 0;
}

static const char *errno_name(int e)
{
	switch (e) {
	case 0: return "0";
	case EBUSY: return "EBUSY";
	case EROFS: return "EROFS";
	case EINVAL: return "EINVAL";
	case ERANGE: return "ERANGE";
	case ENOTSUP: return "ENOTSUP";
	case EBADF: return "EBADF";
	case EOVERFLOW: return "EOVERFLOW";
	case ENOMEM: return "ENOMEM";
	case ENOBUFS: return "ENOBUFS";
	case EBADMSG: return "EBADMSG";
	default: return "E?";
	}
}

/* CPython exception class (and message) -> memview errno, by the table in memview/error.h. */
static int errno_for(const char *cls, const char *msg)
{
	if (!strcmp(cls, "BufferError"))
		return EBUSY;
	if (!strcmp(cls, "TypeError"))
		return strcmp(msg, "cannot modify read-only memory") == 0 ? EROFS : EINVAL;
	if (!strcmp(cls, "ValueError")) {
		if (!strcmp(msg, "operation forbidden on released memoryview object"))
			return EBADF;
		if (!strncmp(msg, "memoryview: invalid value for format",
			     strlen("memoryview: invalid value for format")))
			return ERANGE;
		/* error.h: "arithmetic overflow in sizes" is -EOVERFLOW (cast's header too) */
		if (!strcmp(msg, "memoryview.cast(): product(shape) > SSIZE_MAX"))
			return EOVERFLOW;
		return EINVAL;
	}
	if (!strcmp(cls, "IndexError"))
		return ERANGE;
	if (!strcmp(cls, "NotImplementedError"))
		return ENOTSUP;
	if (!strcmp(cls, "OverflowError"))
		return EOVERFLOW;
	return 0;
}

/* ------------------------------------------------------------------ parsing helpers */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode hex ("-" is empty) into a malloc'ed buffer; returns the length, -1 on bad input. */
static ssize_t unhex(const char *s, unsigned char **out)
{
	size_t n = strcmp(s, "-") == 0 ? 0 : strlen(s);
	unsigned char *p;
	size_t i;

	if (n % 2)
		return -1;
	p = malloc(n / 2 + 1);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(p);
			return -1;
		}
		p[i] = (unsigned char)(hi << 4 | lo);
	}
	*out = p;
	return (ssize_t)(n / 2);
}

static int parse_ssize(const char *s, ssize_t *out)
{
	char *end;
	long long v;

	if (!strcmp(s, "None")) {
		*out = MV_NONE;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = (ssize_t)v;
	return 0;
}

/* "a:b:c" */
static int parse_slice(char *s, ssize_t *a, ssize_t *b, ssize_t *c)
{
	char *p1 = strchr(s, ':'), *p2;

	if (!p1)
		return -1;
	p2 = strchr(p1 + 1, ':');
	if (!p2)
		return -1;
	*p1 = *p2 = '\0';
	return parse_ssize(s, a) || parse_ssize(p1 + 1, b) || parse_ssize(p2 + 1, c) ? -1 : 0;
}

/* "i,j,k" or "()"; returns the count or -1. */
static int parse_list(const char *s, ssize_t *out, int max)
{
	char buf[4096];
	char *tok, *save = NULL;
	int n = 0;

	if (!strcmp(s, "()"))
		return 0;
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n >= max || parse_ssize(tok, &out[n]))
			return -1;
		n++;
	}
	return n;
}

/* "int N" | "float HEX16" | "bool B" | "bytes HEX"; *mem holds the bytes (caller frees). */
static int parse_value(const char *kind, const char *arg, mv_value *out, unsigned char **mem)
{
	char *end;

	*mem = NULL;
	if (!kind || !arg)
		return -1;
	errno = 0;
	if (!strcmp(kind, "int")) {
		if (arg[0] == '-') {
			long long v = strtoll(arg, &end, 10);

			if (errno || *end)
				return -1;
			*out = mv_value_int(v);
		} else {
			unsigned long long v = strtoull(arg, &end, 10);

			if (errno || *end)
				return -1;
			*out = v <= (unsigned long long)LLONG_MAX ? mv_value_int((long long)v)
								   : mv_value_uint(v);
		}
		return 0;
	}
	if (!strcmp(kind, "float")) {
		uint64_t bits = strtoull(arg, &end, 16);
		double d;

		if (errno || *end || strlen(arg) != 16)
			return -1;
		memcpy(&d, &bits, sizeof(d));
		*out = mv_value_float(d);
		return 0;
	}
	if (!strcmp(kind, "bool")) {
		*out = mv_value_bool(arg[0] == '1');
		return 0;
	}
	if (!strcmp(kind, "bytes")) {
		ssize_t n = unhex(arg, mem);

		if (n < 0)
			return -1;
		*out = mv_value_bytes(*mem, (size_t)n);
		return 0;
	}
	return -1;
}

/* ------------------------------------------------------------------ replay state */

enum reg_state { REG_NONE = 0, REG_OK, REG_BROKEN, REG_EXTRA };

typedef struct category {
	char key[320];
	long count;
	char example[1024];
} category;

static struct replay {
	/* the vectors, split into lines */
	char *text;
	char **lines;
	size_t nlines;
	long total_cases; /* from "end N" */

	/* registers of the current case */
	mv_heap *heap[MAX_DATA];
	int heap_state[MAX_DATA];
	mv_view view[MAX_VIEWS];
	int view_state[MAX_VIEWS];
	mv_buffer exp[MAX_EXPORTS];
	int exp_state[MAX_EXPORTS];

	/* the current case */
	long case_no;
	int case_mismatched;

	/* counts */
	long cases, ops, skipped, mismatched_ops, mismatched_cases;
	long cases_with_ops_skipped;
	int nlisted;
	char listed[LIST_MAX][1024];
	category cat[MAX_CATEGORIES];
	int ncat;
} R;

static void load_vectors(void)
{
	size_t len, i, n = 0;
	char *p;

	if (R.text)
		return;
	R.text = mv_test_read_data(VECTORS, &len);
	ck_assert_msg(R.text != NULL, "cannot read %s/%s", MV_TEST_DATA, VECTORS);
	for (i = 0; i < len; i++)
		n += R.text[i] == '\n';
	R.lines = calloc(n + 2, sizeof(*R.lines));
	ck_assert_ptr_nonnull(R.lines);
	p = R.text;
	while (*p) {
		char *nl = strchr(p, '\n');

		R.lines[R.nlines++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	R.total_cases = -1;
	if (R.nlines && !strncmp(R.lines[R.nlines - 1], "end ", 4))
		R.total_cases = strtol(R.lines[R.nlines - 1] + 4, NULL, 10);
}

static void note_mismatch(const char *op, const char *category_key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note_mismatch(const char *op, const char *category_key, const char *fmt, ...)
{
	char detail[900];
	char line[1024];
	va_list ap;
	int i;

	R.mismatched_ops++;
	if (R.case_mismatched)
		return;
	R.case_mismatched = 1;
	R.mismatched_cases++;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "case %ld: %.200s: %.780s", R.case_no, op, detail);
	if (R.nlisted < LIST_MAX)
		snprintf(R.listed[R.nlisted++], sizeof(R.listed[0]), "%s", line);
	for (i = 0; i < R.ncat; i++)
		if (!strcmp(R.cat[i].key, category_key))
			break;
	if (i == R.ncat) {
		if (R.ncat == MAX_CATEGORIES)
			return;
		R.ncat++;
		snprintf(R.cat[i].key, sizeof(R.cat[i].key), "%s", category_key);
		snprintf(R.cat[i].example, sizeof(R.cat[i].example), "%s", line);
	}
	R.cat[i].count++;
}

/* Release everything the case made; a heap that cannot be freed means a leaked export. */
static void end_case(void)
{
	int i;

	for (i = 0; i < MAX_EXPORTS; i++)
		if (R.exp_state[i] == REG_OK || R.exp_state[i] == REG_EXTRA)
			mv_buffer_release(&R.exp[i]);
	for (i = MAX_VIEWS - 1; i >= 0; i--)
		if (R.view_state[i] != REG_NONE)
			mv_view_release(&R.view[i]);
	for (i = 0; i < MAX_DATA; i++) {
		if (R.heap_state[i] == REG_OK) {
			int rc = mv_heap_free(R.heap[i]);

			if (rc < 0)
				note_mismatch("(end of case)", "cleanup: mv_heap_free fails after every view and export is released",
					      "mv_heap_free(data %d) = %s (%s)", i, errno_name(-rc), mv_errmsg());
		}
	}
	memset(R.view, 0, sizeof(R.view));
	memset(R.view_state, 0, sizeof(R.view_state));
	memset(R.exp, 0, sizeof(R.exp));
	memset(R.exp_state, 0, sizeof(R.exp_state));
	memset(R.heap, 0, sizeof(R.heap));
	memset(R.heap_state, 0, sizeof(R.heap_state));
}

/* ------------------------------------------------------------------ one op */

/* What memview did: rc < 0 an error (with msg), else success with an optional value. */
typedef struct outcome {
	int rc;
	int has_value;
	strbuf value;
	char msg[512];
} outcome;

static void fail_with(outcome *o, long rc)
{
	o->rc = (int)rc;
	snprintf(o->msg, sizeof(o->msg), "%s", mv_errmsg());
}

/* A view register an op reads: -1 when the op must be skipped, -2 when the op is malformed. */
static int use_view(const char *tok)
{
	char *end;
	long v;

	if (!tok)
		return -2;
	v = strtol(tok, &end, 10);
	if (*end || v < 0 || v >= MAX_VIEWS)
		return -2;
	if (R.view_state[v] == REG_OK)
		return (int)v;
	if (R.view_state[v] == REG_BROKEN)
		return -1;
	return -2; /* never created: the file and the generator disagree */
}

static int new_reg(const char *tok, int max)
{
	char *end;
	long v;

	if (!tok)
		return -2;
	v = strtol(tok, &end, 10);
	if (*end || v < 0 || v >= max)
		return -2;
	return (int)v;
}

/* data registers are always created successfully */
static int use_data(const char *tok)
{
	int d = new_reg(tok, MAX_DATA);

	if (d < 0)
		return -2;
	return R.heap_state[d] == REG_OK ? d : -2;
}

/*
 * Execute one op line (tokenised in place). Returns 1 when run (o filled), 0 when skipped
 * because a register it uses diverged earlier, -1 when malformed. *created is set to the view
 * register the op creates (or -1), *created_x to the export register.
 */
static int run_op(char *line, outcome *o, int *created, int *created_x)
{
	char *save = NULL;
	char *tok[MAX_IDX + 8];
	int nt = 0, s, v, d, x;
	char *p;
	long long rc;

	*created = -1;
	*created_x = -1;
	for (p = strtok_r(line, " ", &save); p && nt < (int)(sizeof(tok) / sizeof(tok[0])) - 1;
	     p = strtok_r(NULL, " ", &save))
		tok[nt++] = p;
	tok[nt] = NULL;
	if (nt == 0)
		return -1;
	o->rc = 0;
	o->has_value = 0;
	sb_clear(&o->value);
	o->msg[0] = '\0';

#define NEED(n) do { if (nt < (n)) return -1; } while (0)
#define VIEW(var, t)                         \
	do {                                 \
		var = use_view(t);           \
		if (var == -1)               \
			return 0;            \
		if (var < 0)                 \
			return -1;           \
	} while (0)

	if (!strcmp(tok[0], "data")) {
		unsigned char *mem = NULL;
		ssize_t n;

		NEED(4);
		d = new_reg(tok[1], MAX_DATA);
		n = unhex(tok[3], &mem);
		if (d < 0 || n < 0)
			return -1;
		if (!strcmp(tok[2], "rw"))
			rc = mv_heap_bytearray_new(&R.heap[d], mem, (size_t)n);
		else
			rc = mv_heap_bytes_new(&R.heap[d], mem, (size_t)n);
		free(mem);
		if (rc < 0)
			fail_with(o, rc);
		else
			R.heap_state[d] = REG_OK;
		return 1;
	}
	if (!strcmp(tok[0], "from")) {
		NEED(3);
		v = new_reg(tok[1], MAX_VIEWS);
		d = use_data(tok[2]);
		if (v < 0 || d < 0)
			return -1;
		*created = v;
		rc = mv_view_from(&R.view[v], mv_heap_exporter(R.heap[d]), 0);
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "mview")) {
		NEED(3);
		v = new_reg(tok[1], MAX_VIEWS);
		VIEW(s, tok[2]);
		if (v < 0)
			return -1;
		*created = v;
		rc = mv_view_from(&R.view[v], mv_view_exporter(&R.view[s]), 0);
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "cast")) {
		ssize_t shape[MAX_IDX];
		int ndim;
		const char *fmt;

		NEED(5);
		v = new_reg(tok[1], MAX_VIEWS);
		VIEW(s, tok[2]);
		if (v < 0)
			return -1;
		fmt = strcmp(tok[3], "~") == 0 ? "" : tok[3];
		if (!strcmp(tok[4], "-"))
			ndim = MV_CAST_NO_SHAPE;
		else if ((ndim = parse_list(tok[4], shape, MAX_IDX)) < 0)
			return -1;
		*created = v;
		rc = mv_view_cast(&R.view[v], &R.view[s], fmt, shape, ndim);
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "slice")) {
		ssize_t a, b, c;

		NEED(4);
		v = new_reg(tok[1], MAX_VIEWS);
		VIEW(s, tok[2]);
		if (v < 0 || parse_slice(tok[3], &a, &b, &c))
			return -1;
		*created = v;
		rc = mv_view_slice(&R.view[v], &R.view[s], a, b, c);
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "ro")) {
		NEED(3);
		v = new_reg(tok[1], MAX_VIEWS);
		VIEW(s, tok[2]);
		if (v < 0)
			return -1;
		*created = v;
		rc = mv_view_toreadonly(&R.view[v], &R.view[s]);
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "release")) {
		NEED(2);
		VIEW(s, tok[1]);
		rc = mv_view_release(&R.view[s]);
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "export")) {
		NEED(3);
		x = new_reg(tok[1], MAX_EXPORTS);
		VIEW(s, tok[2]);
		if (x < 0)
			return -1;
		*created_x = x;
		rc = mv_buffer_get(&R.exp[x], mv_view_exporter(&R.view[s]), MV_BUF_FULL_RO);
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "unexport")) {
		NEED(2);
		x = new_reg(tok[1], MAX_EXPORTS);
		if (x < 0)
			return -1;
		if (R.exp_state[x] == REG_BROKEN)
			return 0;
		if (R.exp_state[x] != REG_OK)
			return -1;
		rc = mv_buffer_release(&R.exp[x]);
		R.exp_state[x] = REG_NONE;
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "resize")) {
		ssize_t n;

		NEED(3);
		d = use_data(tok[1]);
		if (d < 0 || parse_ssize(tok[2], &n) || n < 0)
			return -1;
		rc = mv_heap_resize(R.heap[d], (size_t)n);
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "bytes")) {
		NEED(2);
		d = use_data(tok[1]);
		if (d < 0)
			return -1;
		o->has_value = 1;
		sb_hex(&o->value, mv_heap_data(R.heap[d]), mv_heap_size(R.heap[d]));
		return 1;
	}
	if (!strcmp(tok[0], "get") || !strcmp(tok[0], "getm")) {
		ssize_t idx[MAX_IDX];
		mv_value val;
		int n;

		NEED(3);
		VIEW(s, tok[1]);
		if (!strcmp(tok[0], "get")) {
			if (parse_ssize(tok[2], &idx[0]))
				return -1;
			rc = mv_view_get_item(&val, &R.view[s], idx[0]);
		} else {
			if ((n = parse_list(tok[2], idx, MAX_IDX)) < 0)
				return -1;
			rc = mv_view_get_multi(&val, &R.view[s], idx, n);
		}
		if (rc < 0) {
			fail_with(o, rc);
			return 1;
		}
		o->has_value = 1;
		rc = sb_value_repr(&o->value, &val);
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "set") || !strcmp(tok[0], "setm")) {
		ssize_t idx[MAX_IDX];
		mv_value val;
		unsigned char *mem;
		int n = 0;

		NEED(5);
		VIEW(s, tok[1]);
		if (parse_value(tok[3], tok[4], &val, &mem))
			return -1;
		if (!strcmp(tok[0], "set")) {
			if (parse_ssize(tok[2], &idx[0])) {
				free(mem);
				return -1;
			}
			rc = mv_view_set_item(&R.view[s], idx[0], &val);
		} else {
			if ((n = parse_list(tok[2], idx, MAX_IDX)) < 0) {
				free(mem);
				return -1;
			}
			rc = mv_view_set_multi(&R.view[s], idx, n, &val);
		}
		free(mem);
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "assign")) {
		ssize_t a, b, c;
		int r;

		NEED(4);
		VIEW(s, tok[1]);
		VIEW(r, tok[3]);
		if (parse_slice(tok[2], &a, &b, &c))
			return -1;
		rc = mv_view_assign_slice(&R.view[s], a, b, c, &R.view[r]);
		if (rc < 0)
			fail_with(o, rc);
		return 1;
	}
	if (!strcmp(tok[0], "tobytes")) {
		char order;
		ssize_t n;
		unsigned char *buf;

		NEED(3);
		VIEW(s, tok[1]);
		order = tok[2][0] == 'N' ? 0 : tok[2][0];
		n = mv_view_tobytes(NULL, 0, &R.view[s], order);
		if (n < 0) {
			fail_with(o, n);
			return 1;
		}
		buf = malloc((size_t)n + 1);
		ck_assert_ptr_nonnull(buf);
		rc = mv_view_tobytes(buf, (size_t)n, &R.view[s], order);
		if (rc < 0)
			fail_with(o, rc);
		else if (rc != n)
			snprintf(o->msg, sizeof(o->msg), "size %zd, then %lld", n, rc);
		if (rc >= 0) {
			o->has_value = 1;
			sb_hex(&o->value, buf, (size_t)rc);
		}
		free(buf);
		return 1;
	}
	if (!strcmp(tok[0], "hex")) {
		unsigned char *sepbytes = NULL;
		char sep[16] = "";
		const char *sepp = NULL;
		int bps = 1;
		ssize_t n;
		char *buf;

		NEED(2);
		VIEW(s, tok[1]);
		if (nt >= 4) {
			ssize_t sl = unhex(tok[2], &sepbytes);
			ssize_t b;

			if (sl < 0 || sl >= (ssize_t)sizeof(sep) || parse_ssize(tok[3], &b)) {
				free(sepbytes);
				return -1;
			}
			memcpy(sep, sepbytes, (size_t)sl);
			sep[sl] = '\0';
			free(sepbytes);
			sepp = sep;
			bps = (int)b;
		}
		n = mv_view_hex(NULL, 0, &R.view[s], sepp, bps);
		if (n < 0) {
			fail_with(o, n);
			return 1;
		}
		buf = malloc((size_t)n + 1);
		ck_assert_ptr_nonnull(buf);
		rc = mv_view_hex(buf, (size_t)n + 1, &R.view[s], sepp, bps);
		if (rc < 0) {
			fail_with(o, rc);
		} else {
			o->has_value = 1;
			sb_add(&o->value, buf, (size_t)rc);
		}
		free(buf);
		return 1;
	}
	if (!strcmp(tok[0], "eq")) {
		int b;

		NEED(3);
		VIEW(s, tok[1]);
		VIEW(b, tok[2]);
		rc = mv_view_equal(&R.view[s], &R.view[b]);
		if (rc < 0) {
			fail_with(o, rc);
			return 1;
		}
		o->has_value = 1;
		sb_puts(&o->value, rc == 1 ? "True" : rc == 0 ? "False" : "<not 0 or 1>");
		return 1;
	}
	if (!strcmp(tok[0], "eqb")) {
		unsigned char *mem;
		ssize_t n;

		NEED(3);
		VIEW(s, tok[1]);
		n = unhex(tok[2], &mem);
		if (n < 0)
			return -1;
		rc = mv_view_equal_bytes(&R.view[s], mem, (size_t)n);
		free(mem);
		if (rc < 0) {
			fail_with(o, rc);
			return 1;
		}
		o->has_value = 1;
		sb_puts(&o->value, rc == 1 ? "True" : rc == 0 ? "False" : "<not 0 or 1>");
		return 1;
	}
	if (!strcmp(tok[0], "hash")) {
		int64_t h = 0;

		NEED(2);
		VIEW(s, tok[1]);
		rc = mv_view_hash(&h, &R.view[s]);
		if (rc < 0) {
			fail_with(o, rc);
			return 1;
		}
		o->has_value = 1;
		sb_printf(&o->value, "%" PRId64, h);
		return 1;
	}
	if (!strcmp(tok[0], "len")) {
		NEED(2);
		VIEW(s, tok[1]);
		rc = mv_view_len(&R.view[s]);
		if (rc < 0) {
			fail_with(o, rc);
			return 1;
		}
		o->has_value = 1;
		sb_printf(&o->value, "%lld", rc);
		return 1;
	}
	if (!strcmp(tok[0], "tolist")) {
		char *text = NULL;

		NEED(2);
		VIEW(s, tok[1]);
		rc = mv_view_tolist_text(&text, &R.view[s]);
		if (rc < 0) {
			fail_with(o, rc);
			return 1;
		}
		o->has_value = 1;
		sb_puts(&o->value, text ? text : "<NULL>");
		if (text && (long long)strlen(text) != rc)
			sb_printf(&o->value, " <returned length %lld>", rc);
		free(text);
		return 1;
	}
	if (!strcmp(tok[0], "attrs")) {
		const mv_view *m;
		const char *fmt;
		const ssize_t *shape, *strides;
		ssize_t itemsize, nbytes;
		int ndim, ro, c, f, a, i;

		NEED(2);
		VIEW(s, tok[1]);
		m = &R.view[s];
		/* A released view fails every accessor; report the first that fails. */
		fmt = mv_view_format(m);
		if (!fmt) {
			fail_with(o, -EBADF);
			return 1;
		}
		itemsize = mv_view_itemsize(m);
		nbytes = mv_view_nbytes(m);
		ndim = mv_view_ndim(m);
		shape = mv_view_shape(m);
		strides = mv_view_strides(m);
		ro = mv_view_readonly(m);
		c = mv_view_c_contiguous(m);
		f = mv_view_f_contiguous(m);
		a = mv_view_contiguous(m);
		if (itemsize < 0 || nbytes < 0 || ndim < 0 || ro < 0 || c < 0 || f < 0 || a < 0 ||
		    !shape || !strides) {
			snprintf(o->msg, sizeof(o->msg),
				 "format ok but itemsize %zd nbytes %zd ndim %d readonly %d "
				 "c %d f %d contig %d shape %p strides %p",
				 itemsize, nbytes, ndim, ro, c, f, a, (const void *)shape,
				 (const void *)strides);
			o->rc = -9999; /* some accessors fail, others not: never matches */
			return 1;
		}
		o->has_value = 1;
		sb_printf(&o->value, "format=%s itemsize=%zd nbytes=%zd ndim=%d shape=", fmt, itemsize,
			  nbytes, ndim);
		for (i = 0; i < ndim; i++)
			sb_printf(&o->value, "%s%zd", i ? "," : "", shape[i]);
		sb_puts(&o->value, " strides=");
		for (i = 0; i < ndim; i++)
			sb_printf(&o->value, "%s%zd", i ? "," : "", strides[i]);
		sb_printf(&o->value, " readonly=%d c=%d f=%d contig=%d", ro, c, f, a);
		return 1;
	}
	return -1;
#undef NEED
#undef VIEW
}

/* Compare an outcome with the expectation line; note a mismatch. Returns 1 if they agree. */
static int compare(const char *op, const char *opname, const char *expect, const outcome *o)
{
	char key[320];

	if (expect[0] == '!') {
		const char *cls = expect + 2;
		const char *sp = strchr(cls, ' ');
		char clsbuf[64];
		const char *msg;
		int want;

		if (!sp || (size_t)(sp - cls) >= sizeof(clsbuf)) {
			note_mismatch(op, "malformed expectation", "%s", expect);
			return 0;
		}
		memcpy(clsbuf, cls, (size_t)(sp - cls));
		clsbuf[sp - cls] = '\0';
		msg = sp + 1;
		want = errno_for(clsbuf, msg);
		if (o->rc >= 0) {
			snprintf(key, sizeof(key), "%s: CPython raises %s, memview succeeds", opname,
				 clsbuf);
			note_mismatch(op, key, "expected %s (-%s) \"%s\", got success%s%.300s", clsbuf,
				      errno_name(want), msg, o->has_value ? " = " : "",
				      o->has_value ? o->value.p : "");
			return 0;
		}
		if (-o->rc != want) {
			snprintf(key, sizeof(key), "%s: %s \"%.60s\" -> %s expected, memview gives %s",
				 opname, clsbuf, msg, errno_name(want), errno_name(-o->rc));
			note_mismatch(op, key, "expected %s (-%s) \"%s\", got -%s \"%s\"", clsbuf,
				      errno_name(want), msg, errno_name(-o->rc), o->msg);
			return 0;
		}
		if (strcmp(o->msg, msg) != 0) {
			snprintf(key, sizeof(key), "%s: message for %s \"%.60s\" differs", opname,
				 clsbuf, msg);
			note_mismatch(op, key, "expected message \"%s\", got \"%s\" (-%s)", msg, o->msg,
				      errno_name(-o->rc));
			return 0;
		}
		return 1;
	}
	if (o->rc < 0) {
		snprintf(key, sizeof(key), "%s: CPython succeeds, memview gives %s \"%.60s\"", opname,
			 errno_name(-o->rc), o->msg);
		note_mismatch(op, key, "expected %.300s, got -%s \"%s\"", expect, errno_name(-o->rc),
			      o->msg);
		return 0;
	}
	if (!strcmp(expect, "ok"))
		return 1;
	if (expect[0] == '=') {
		const char *want = expect[1] == ' ' ? expect + 2 : expect + 1;
		const char *got = o->has_value ? o->value.p : "<no value>";

		if (o->msg[0]) {
			snprintf(key, sizeof(key), "%s: inconsistent result", opname);
			note_mismatch(op, key, "%s", o->msg);
			return 0;
		}
		if (strcmp(want, got) != 0) {
			snprintf(key, sizeof(key), "%s: different value", opname);
			note_mismatch(op, key, "expected \"%.400s\", got \"%.400s\"", want, got);
			return 0;
		}
		return 1;
	}
	note_mismatch(op, "malformed expectation", "%s", expect);
	return 0;
}

/* Replay every case of @family (NULL: all). */
static void replay(const char *family)
{
	static char opbuf[1 << 16];
	outcome o;
	size_t i;
	int active = 0, skipped_in_case = 0;

	memset(&o, 0, sizeof(o));
	load_vectors();
	/* counts start afresh for each test (they would add up under CK_FORK=no) */
	R.cases = R.ops = R.skipped = R.mismatched_ops = R.mismatched_cases = 0;
	R.cases_with_ops_skipped = 0;
	R.nlisted = R.ncat = 0;
	memset(R.cat, 0, sizeof(R.cat));
	for (i = 0; i < R.nlines; i++) {
		const char *line = R.lines[i];
		char opname[32];
		int created, created_x, r;
		const char *expect;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (!strncmp(line, "case ", 5) || !strncmp(line, "end ", 4)) {
			if (active) {
				end_case();
				if (skipped_in_case)
					R.cases_with_ops_skipped++;
			}
			active = 0;
			skipped_in_case = 0;
			if (line[0] == 'e')
				break;
			{
				char *sp = strchr(line + 5, ' ');

				R.case_no = strtol(line + 5, NULL, 10);
				active = !family || (sp && !strcmp(sp + 1, family));
			}
			if (active) {
				R.cases++;
				R.case_mismatched = 0;
			}
			continue;
		}
		if (!active)
			continue;
		/* an op line and its expectation */
		ck_assert_msg(i + 1 < R.nlines, "op without expectation at line %zu", i + 1);
		expect = R.lines[++i];
		ck_assert_msg(strlen(line) < sizeof(opbuf), "line %zu too long", i);
		strcpy(opbuf, line);
		sscanf(line, "%31s", opname);
		r = run_op(opbuf, &o, &created, &created_x);
		if (r < 0) {
			note_mismatch(line, "malformed or unknown op line", "cannot replay \"%.200s\"",
				      line);
			continue;
		}
		if (r == 0) {
			R.skipped++;
			skipped_in_case = 1;
			continue;
		}
		R.ops++;
		{
			int agree = compare(line, opname, expect, &o);
			int py_ok = expect[0] != '!';
			int mv_ok = o.rc >= 0;

			if (created >= 0)
				R.view_state[created] = py_ok ? (mv_ok ? REG_OK : REG_BROKEN)
							      : (mv_ok ? REG_EXTRA : REG_NONE);
			if (created_x >= 0)
				R.exp_state[created_x] = py_ok ? (mv_ok ? REG_OK : REG_BROKEN)
								 : (mv_ok ? REG_EXTRA : REG_NONE);
			(void)agree;
		}
	}
	if (active)
		end_case();
	free(o.value.p);
}

static void report(const char *family)
{
	int i;

	fprintf(stderr,
		"conformance %s: %ld cases, %ld ops replayed, %ld ops skipped in %ld cases (after a "
		"diverged register), %ld mismatching ops in %ld cases\n",
		family ? family : "all", R.cases, R.ops, R.skipped, R.cases_with_ops_skipped,
		R.mismatched_ops, R.mismatched_cases);
	if (!R.mismatched_cases)
		return;
	fprintf(stderr, "first mismatching cases:\n");
	for (i = 0; i < R.nlisted; i++)
		fprintf(stderr, "  %s\n", R.listed[i]);
	fprintf(stderr, "mismatch categories (first mismatch of each case):\n");
	for (i = 0; i < R.ncat; i++)
		fprintf(stderr, "  %5ld  %s\n         e.g. %s\n", R.cat[i].count, R.cat[i].key,
			R.cat[i].example);
}

static void check_family(const char *family)
{
	double t0 = mvu_now_s();

	replay(family);
	t0 = mvu_now_s() - t0;
	report(family);
	fprintf(stderr, "conformance %s: %.2f s\n", family, t0);
	ck_assert_msg(R.cases > 0, "no %s cases in %s", family, VECTORS);
	ck_assert_msg(R.mismatched_cases == 0,
		      "%ld of %ld %s cases differ from CPython 3.13 (%ld ops); first: %s",
		      R.mismatched_cases, R.cases, family, R.mismatched_ops, R.listed[0]);
}

/* ------------------------------------------------------------------ tests */

START_TEST(vectors_file_is_complete)
{
	size_t i;
	long cases = 0, last = -1;
	static const char *const families[] = { "cast", "slice", "index", "setitem", "assign",
		"tobytes", "hex", "eq", "hash", "life", "misc" };

	load_vectors();
	for (i = 0; i < R.nlines; i++) {
		const char *line = R.lines[i];
		const char *sp;
		size_t f;

		if (strncmp(line, "case ", 5))
			continue;
		cases++;
		ck_assert_msg(strtol(line + 5, NULL, 10) == last + 1, "case numbers not consecutive at %s",
			      line);
		last = strtol(line + 5, NULL, 10);
		sp = strchr(line + 5, ' ');
		ck_assert_msg(sp != NULL, "case without a family: %s", line);
		for (f = 0; f < sizeof(families) / sizeof(families[0]); f++)
			if (!strcmp(sp + 1, families[f]))
				break;
		ck_assert_msg(f < sizeof(families) / sizeof(families[0]),
			      "case of a family no tcase replays: %s", line);
	}
	ck_assert_msg(R.total_cases == cases, "file says %ld cases (end line), has %ld: truncated?",
		      R.total_cases, cases);
	ck_assert_msg(cases >= MIN_CASES, "only %ld cases in %s, expected at least %d", cases,
		      VECTORS, MIN_CASES);
}
END_TEST

START_TEST(every_case_replays)
{
	/* The whole file, to count what is replayed; families report their own mismatches. */
	replay(NULL);
	fprintf(stderr, "conformance all: %ld cases, %ld ops replayed, %ld skipped\n", R.cases,
		R.ops, R.skipped);
	ck_assert_msg(R.cases >= MIN_CASES, "replayed only %ld cases, expected at least %d",
		      R.cases, MIN_CASES);
	ck_assert_msg(R.total_cases == R.cases, "replayed %ld cases of %ld", R.cases,
		      R.total_cases);
}
END_TEST

#define FAMILY_TEST(name)                         \
	START_TEST(name##_matches_cpython)        \
	{                                         \
		check_family(#name);              \
	}                                         \
	END_TEST

FAMILY_TEST(cast)
FAMILY_TEST(slice)
FAMILY_TEST(index)
FAMILY_TEST(setitem)
FAMILY_TEST(assign)
FAMILY_TEST(tobytes)
FAMILY_TEST(hex)
FAMILY_TEST(eq)
FAMILY_TEST(hash)
FAMILY_TEST(life)
FAMILY_TEST(misc)

static TCase *family_tcase(const char *name, const TTest *test)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test);
	return tc;
}

static Suite *conformance_suite(void)
{
	Suite *s = suite_create("conformance");
	TCase *tc = tcase_create("vectors");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, vectors_file_is_complete);
	tcase_add_test(tc, every_case_replays);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, family_tcase("cast", cast_matches_cpython));
	suite_add_tcase(s, family_tcase("slice", slice_matches_cpython));
	suite_add_tcase(s, family_tcase("index", index_matches_cpython));
	suite_add_tcase(s, family_tcase("setitem", setitem_matches_cpython));
	suite_add_tcase(s, family_tcase("assign", assign_matches_cpython));
	suite_add_tcase(s, family_tcase("tobytes", tobytes_matches_cpython));
	suite_add_tcase(s, family_tcase("hex", hex_matches_cpython));
	suite_add_tcase(s, family_tcase("eq", eq_matches_cpython));
	suite_add_tcase(s, family_tcase("hash", hash_matches_cpython));
	suite_add_tcase(s, family_tcase("life", life_matches_cpython));
	suite_add_tcase(s, family_tcase("misc", misc_matches_cpython));
	return s;
}

int main(void)
{
	return mv_test_run(conformance_suite());
}
