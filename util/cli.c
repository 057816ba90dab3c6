/*
 * util/cli.c - the command-line conventions of memview's programs; see cli.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memview.h"
#include "cli.h"

/* Column where option help text starts in --help, as util-linux aligns it. */
#define USAGE_COL 30

const char *cli_progname = "memview";

/*
 * Output that never reached its reader must not pass for success (util-linux's close_stdout).
 * A reader that went away (EPIPE) is not worth a message: the writer was told by SIGPIPE already
 * unless it ignores it.
 */
static void close_stdout(void)
{
	int failed = ferror(stdout) != 0;
	int err = 0;

	errno = 0;
	if (fflush(stdout) != 0)
		failed = 1;
	err = errno;
	if (fclose(stdout) != 0 && !failed) {
		failed = 1;
		err = errno;
	}
	if (failed && err != EPIPE) {
		if (err)
			fprintf(stderr, "%s: write error: %s\n", cli_progname, strerror(err));
		else
			fprintf(stderr, "%s: write error\n", cli_progname);
		_exit(CLI_EXIT_FAILURE);
	}
	if (failed)
		_exit(CLI_EXIT_FAILURE);
}

void cli_init(int argc, char **argv, const char *name)
{
	cli_progname = name;
	if (argc > 0 && argv[0])
		argv[0] = (char *)name;
	atexit(close_stdout);
}

void cli_usage_begin(FILE *out, const char *const *synopses, const char *summary)
{
	fputs("\nUsage:\n", out);
	for (; *synopses; synopses++)
		fprintf(out, " %s %s\n", cli_progname, *synopses);
	if (summary)
		fprintf(out, "\n%s\n", summary);
}

void cli_usage_section(FILE *out, const char *title)
{
	fprintf(out, "\n%s:\n", title);
}

void cli_usage_option(FILE *out, const char *opts, const char *help)
{
	int w = fprintf(out, " %s", opts);

	/* An option too wide for its column gets its help on the next line. */
	if (w < 0)
		return;
	if (w >= USAGE_COL - 1) {
		fputc('\n', out);
		w = 0;
	}
	fprintf(out, "%*s", USAGE_COL - w, "");
	for (; *help; help++) {
		fputc(*help, out);
		if (*help == '\n')
			fprintf(out, "%*s", USAGE_COL, "");
	}
	fputc('\n', out);
}

void cli_usage_std_options(FILE *out)
{
	fputc('\n', out);
	cli_usage_option(out, "-h, --help", "display this help");
	cli_usage_option(out, "-V, --version", "display version");
}

void cli_usage_size_argument(FILE *out)
{
	cli_usage_section(out, "Arguments");
	fputs(" <size> may be followed by K, M, G, T, P or E (or KiB, MiB, ...: powers of\n"
	      "   1024) or by KB, MB, ... (powers of 1000); 0x starts a hexadecimal number\n",
	      out);
}

void cli_usage_end(FILE *out)
{
	fprintf(out, "\nFor more details see %s(1).\n", cli_progname);
}

void cli_print_version(void)
{
	printf("%s from memview %s\n", cli_progname, PACKAGE_VERSION);
	exit(CLI_EXIT_OK);
}

void cli_try_help(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", cli_progname);
	exit(CLI_EXIT_USAGE);
}

static void vmessage(const char *fmt, va_list ap) CLI_PRINTF(1, 0);

static void vmessage(const char *fmt, va_list ap)
{
	char *msg = NULL;

	/* Anything already printed goes first, so the message lands after it, not inside it. */
	fflush(stdout);
	/* One line, whatever the names in it hold: the whole message is escaped. */
	if (vasprintf(&msg, fmt, ap) < 0) {
		fprintf(stderr, "%s: out of memory\n", cli_progname);
		return;
	}
	fprintf(stderr, "%s: %s\n", cli_progname, cli_visible(msg));
	free(msg);
}

void cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	exit(CLI_EXIT_USAGE);
}

void cli_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	exit(CLI_EXIT_FAILURE);
}

void cli_write_failed(void)
{
	int err = errno;

	if (err != EPIPE)
		cli_warn("write error: %s", strerror(err));
	/* Whatever is still buffered cannot reach the reader either. */
	_exit(CLI_EXIT_FAILURE);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void cli_fail_mv(int err, const char *context)
{
	const char *msg = mv_errmsg();

	/* Every failing memview call sets a message; the errno name is a fallback, not the rule. */
	if (!msg || !*msg)
		msg = mv_strerror(err);
	if (context)
		cli_fail("%s: %s", context, msg);
	cli_fail("%s", msg);
}

/* ------------------------------------------------------------------ parsers */

int cli_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTPE";
	unsigned long long v;
	uint64_t mult = 1, base = 1024;
	const char *u;
	char *end;
	int power, i;

	/* strtoull would take leading blanks and a sign ("-1" becomes 2**64 - 1): refuse them. */
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		v = strtoull(s, &end, 16);
	else
		v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && end == s + 1))
		return -EINVAL;

	if (*end == '\0' || strcmp(end, "B") == 0) {
		power = 0;
	} else {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || !*end)
			return -EINVAL;
		power = (int)(u - units) + 1;
		end++;
		if (strcmp(end, "B") == 0)
			base = 1000;
		else if (*end && strcmp(end, "iB") != 0)
			return -EINVAL;
	}
	for (i = 0; i < power; i++)
		mult *= base;
	if (__builtin_mul_overflow((uint64_t)v, mult, &mult) || mult > (uint64_t)SSIZE_MAX)
		return -ERANGE;
	*out = mult;
	return 0;
}

int cli_parse_ssize(const char *s, ssize_t *out)
{
	long long v;
	char *end;
	const char *d = s;

	if (!s)
		return -EINVAL;
	if (*d == '-' || *d == '+')
		d++;
	if (!isdigit((unsigned char)*d))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v > SSIZE_MAX || v < -SSIZE_MAX - 1)
		return -ERANGE;
	*out = (ssize_t)v;
	return 0;
}

int cli_parse_list(const char *s, ssize_t **out, int *n)
{
	ssize_t *vals = NULL;
	size_t count = 1, i = 0;
	const char *p;
	char *copy, *tok, *save = NULL;
	int ret = 0;

	if (!s)
		return -EINVAL;
	if (!*s) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	for (p = s; *p; p++)
		count += *p == ',';
	if (count > INT_MAX)
		return -ERANGE;
	/* strtok would skip empty fields: "2,,3" must be an error, not [2, 3]. */
	if (s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
		return -EINVAL;
	copy = strdup(s);
	vals = calloc(count, sizeof(*vals));
	if (!copy || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		ret = cli_parse_ssize(tok, &vals[i++]);
		if (ret < 0)
			goto out;
	}
	*out = vals;
	*n = (int)count;
	vals = NULL;
out:
	free(copy);
	free(vals);
	return ret;
}

uint64_t cli_size_arg(const char *s, const char *what)
{
	uint64_t v;
	int ret = cli_parse_size(s, &v);

	if (ret == -ERANGE)
		cli_usage_error("%s argument is too large: '%s'", what, s);
	if (ret < 0)
		cli_usage_error("invalid %s argument: '%s'", what, s);
	return v;
}

ssize_t cli_ssize_arg(const char *s, const char *what)
{
	ssize_t v;
	int ret = cli_parse_ssize(s, &v);

	if (ret == -ERANGE)
		cli_usage_error("%s argument is out of range: '%s'", what, s);
	if (ret < 0)
		cli_usage_error("invalid %s argument: '%s'", what, s);
	return v;
}

unsigned cli_names_arg(const char *s, const char *what, int (*lookup)(const char *name),
		       unsigned all, const char *choices)
{
	char *copy = strdup(s), *tok, *save = NULL;
	unsigned mask = 0;
	int bit;

	if (!copy)
		cli_fail("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "all") == 0) {
			mask |= all;
			continue;
		}
		bit = lookup(tok);
		if (bit < 0)
			cli_usage_error("unknown %s '%s' (%s)", what, tok, choices);
		mask |= 1u << bit;
	}
	free(copy);
	if (!mask)
		cli_usage_error("invalid %ss argument: '%s'", what, s);
	return mask;
}

/* ------------------------------------------------------------------ escaping */

/*
 * The length of the UTF-8 sequence at @p if it is valid and not a C1 control (U+0080..U+009F,
 * which terminals act on as they do on ESC sequences), else 0. Overlong forms, surrogates and
 * code points past U+10FFFF are not valid.
 */
static size_t utf8_printable_len(const unsigned char *p)
{
	/* The first byte's range, the sequence's length, the second byte's range (RFC 3629). */
	static const struct {
		unsigned char from, to, n, lo, hi;
	} seq[] = {
		{ 0xc2, 0xc2, 2, 0xa0, 0xbf }, /* not U+0080..U+009F: C1 controls */
		{ 0xc3, 0xdf, 2, 0x80, 0xbf },
		{ 0xe0, 0xe0, 3, 0xa0, 0xbf },
		{ 0xe1, 0xec, 3, 0x80, 0xbf },
		{ 0xed, 0xed, 3, 0x80, 0x9f }, /* no surrogates */
		{ 0xee, 0xef, 3, 0x80, 0xbf },
		{ 0xf0, 0xf0, 4, 0x90, 0xbf },
		{ 0xf1, 0xf3, 4, 0x80, 0xbf },
		{ 0xf4, 0xf4, 4, 0x80, 0x8f }, /* nothing past U+10FFFF */
	};
	size_t k, i;

	for (k = 0; k < sizeof(seq) / sizeof(seq[0]); k++) {
		if (p[0] < seq[k].from || p[0] > seq[k].to)
			continue;
		if (p[1] < seq[k].lo || p[1] > seq[k].hi)
			return 0;
		for (i = 2; i < seq[k].n; i++)
			if (p[i] < 0x80 || p[i] > 0xbf)
				return 0;
		return seq[k].n;
	}
	return 0;
}

/*
 * Walk @s: each run of bytes that may pass is handed to @pass; what may not - a byte, or the two
 * bytes of a C1 control in UTF-8 - to @escape. @backslash_x: a backslash followed by 'x' may not
 * pass either.
 */
static void escape_walk(const char *s, void (*pass)(const char *, size_t, void *),
			void (*escape)(const unsigned char *, size_t, void *), int backslash_x,
			void *ctx)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	size_t n;

	while (*p) {
		if (*p >= 0x20 && *p < 0x7f && !(backslash_x && *p == '\\' && p[1] == 'x')) {
			p++;
			continue;
		}
		n = *p >= 0x80 ? utf8_printable_len(p) : 0;
		if (n) {
			p += n;
			continue;
		}
		if (p > run)
			pass((const char *)run, (size_t)(p - run), ctx);
		n = p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f ? 2 : 1;
		escape(p, n, ctx);
		p += n;
		run = p;
	}
	if (p > run)
		pass((const char *)run, (size_t)(p - run), ctx);
}

static void json_pass(const char *s, size_t n, void *ctx)
{
	FILE *out = ctx;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fputc('\\', out);
		fputc(s[i], out);
	}
}

/* A control character as its code point (a C1 control's two bytes as one); any other byte as
 * the code point of its value. */
static void json_escape(const unsigned char *p, size_t n, void *ctx)
{
	fprintf(ctx, "\\u%04x", n == 2 ? (unsigned)(p[1] & 0x3f) | 0x80u : p[0]);
}

void cli_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	escape_walk(s, json_pass, json_escape, 0, out);
	fputc('"', out);
}

int cli_json_plain(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p) {
		if (*p < 0x7f) {
			p++;
			continue;
		}
		n = *p > 0x7f ? utf8_printable_len(p) : 0;
		if (!n)
			return 0;
		p += n;
	}
	return 1;
}

/* A growing string for cli_visible(). */
struct strbuf {
	char *s;
	size_t len, cap;
	int oom;
};

static void sb_add(struct strbuf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = (b->len + n + 1) * 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void visible_pass(const char *s, size_t n, void *ctx)
{
	sb_add(ctx, s, n);
}

static void visible_escape(const unsigned char *p, size_t n, void *ctx)
{
	char hex[8];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(hex, sizeof(hex), "\\x%02x", p[i]);
		sb_add(ctx, hex, 4);
	}
}

static struct strbuf visible_slots[CLI_VISIBLE_SLOTS];

const char *cli_visible(const char *s)
{
	static unsigned next;
	struct strbuf *b = &visible_slots[next];

	next = (next + 1) % CLI_VISIBLE_SLOTS;
	b->len = 0;
	b->oom = 0;
	sb_add(b, "", 0);
	escape_walk(s, visible_pass, visible_escape, 1, b);
	return b->oom ? "?" : b->s;
}
