/*
 * tools/toolcli.c - the command-line parsers and formatters only the tools use; see toolcli.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/cli.h"
#include "toolcli.h"

/*
 * One slice part of @len characters: an optional sign and digits. Like Python's slice indices,
 * values beyond ssize_t saturate; the result is kept within +-SSIZE_MAX so it can never be
 * mistaken for MV_NONE (which is -SSIZE_MAX - 1). Clamping -SSIZE_MAX - 1 to -SSIZE_MAX changes
 * no slice: both lie before the start of any view.
 */
static int parse_slice_part(const char *p, size_t len, ssize_t *out)
{
	size_t i = 0;
	int neg = 0;
	ssize_t v = 0;

	if (len == 0) {
		*out = MV_NONE;
		return 0;
	}
	if (p[0] == '-' || p[0] == '+') {
		neg = p[0] == '-';
		i++;
	}
	if (i == len)
		return -EINVAL;
	for (; i < len; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -EINVAL;
		if (v <= (SSIZE_MAX - (p[i] - '0')) / 10)
			v = v * 10 + (p[i] - '0');
		else
			v = SSIZE_MAX;
	}
	*out = neg ? -v : v;
	return 0;
}

int cli_parse_slice(const char *s, mv_slice *out)
{
	const char *c1, *c2, *end;
	mv_slice sl;
	int ret;

	if (!s)
		return -EINVAL;
	end = s + strlen(s);
	c1 = strchr(s, ':');
	if (!c1)
		return -EINVAL;
	c2 = strchr(c1 + 1, ':');
	if (c2 && strchr(c2 + 1, ':'))
		return -EINVAL;
	ret = parse_slice_part(s, (size_t)(c1 - s), &sl.start);
	if (ret == 0)
		ret = parse_slice_part(c1 + 1, (size_t)((c2 ? c2 : end) - (c1 + 1)), &sl.stop);
	if (ret == 0)
		ret = parse_slice_part(c2 ? c2 + 1 : end, c2 ? (size_t)(end - (c2 + 1)) : 0,
				       &sl.step);
	if (ret < 0)
		return ret;
	*out = sl;
	return 0;
}

int cli_parse_duration(const char *s, uint64_t *out)
{
	static const struct {
		const char *name;
		uint64_t secs;
	} units[] = {
		{ "s", 1 },          { "sec", 1 },        { "secs", 1 },      { "second", 1 },
		{ "seconds", 1 },    { "m", 60 },         { "min", 60 },      { "mins", 60 },
		{ "minute", 60 },    { "minutes", 60 },   { "h", 3600 },      { "hr", 3600 },
		{ "hour", 3600 },    { "hours", 3600 },   { "d", 86400 },     { "day", 86400 },
		{ "days", 86400 },   { "w", 604800 },     { "week", 604800 }, { "weeks", 604800 },
	};
	uint64_t total = 0, part;
	unsigned long long v;
	char unit[16];
	const char *p = s;
	size_t i, len;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno == ERANGE)
			return -ERANGE;
		p = end;
		len = strspn(p, "abcdefghijklmnopqrstuvwxyz");
		if (len == 0 && *p)
			return -EINVAL;
		if (len >= sizeof(unit))
			return -EINVAL;
		memcpy(unit, p, len);
		unit[len] = '\0';
		p += len;
		part = 1;
		if (len) {
			for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (strcmp(units[i].name, unit) == 0)
					break;
			if (i == sizeof(units) / sizeof(units[0]))
				return -EINVAL;
			part = units[i].secs;
		}
		if (__builtin_mul_overflow((uint64_t)v, part, &part) ||
		    __builtin_add_overflow(total, part, &total))
			return -ERANGE;
	}
	*out = total;
	return 0;
}

int cli_parse_columns(const char *list, const char *const *names, size_t n, int *cols, size_t max,
		      size_t *ncols, char *bad, size_t badlen)
{
	const char *p = list, *end;
	size_t count = 0, len, i;

	if (*p == '+') {
		count = *ncols;
		p++;
	}
	for (; *p; p = *end ? end + 1 : end) {
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		len = (size_t)(end - p);
		for (i = 0; i < n; i++)
			if (strlen(names[i]) == len && strncasecmp(names[i], p, len) == 0)
				break;
		if (i == n) {
			snprintf(bad, badlen, "%.*s", (int)len, p);
			return -EINVAL;
		}
		if (count >= max)
			return -E2BIG;
		cols[count++] = (int)i;
	}
	if (count == 0) {
		snprintf(bad, badlen, "%s", list);
		return -EINVAL;
	}
	*ncols = count;
	return 0;
}

const char *cli_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char suffix[] = "KMGTPE";
	uint64_t unit = 1024, tenths;
	int exp = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
		return buf;
	}
	while (exp < 5 && bytes / unit >= 1024) {
		unit *= 1024;
		exp++;
	}
	/* Rounded to a tenth, computed without overflow: whole units, then the remainder. */
	tenths = (bytes / unit) * 10 + ((bytes % unit) * 10 + unit / 2) / unit;
	if (tenths % 10)
		snprintf(buf, len, "%llu.%llu%c", (unsigned long long)(tenths / 10),
			 (unsigned long long)(tenths % 10), suffix[exp]);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)(tenths / 10), suffix[exp]);
	return buf;
}

const char *cli_format_duration(uint64_t s, char *buf, size_t len)
{
	static const struct {
		uint64_t secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	size_t i;

	for (i = 0; i + 1 < sizeof(units) / sizeof(units[0]); i++)
		if (s >= units[i].secs)
			break;
	if (i + 1 < sizeof(units) / sizeof(units[0]) && (s % units[i].secs) / units[i + 1].secs)
		snprintf(buf, len, "%llu%c%llu%c", (unsigned long long)(s / units[i].secs),
			 units[i].unit,
			 (unsigned long long)((s % units[i].secs) / units[i + 1].secs),
			 units[i + 1].unit);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)(s / units[i].secs),
			 units[i].unit);
	return buf;
}

uint64_t cli_duration_arg(const char *s, const char *what)
{
	uint64_t v;
	int ret = cli_parse_duration(s, &v);

	if (ret == -ERANGE)
		cli_usage_error("%s argument is too large: '%s'", what, s);
	if (ret < 0)
		cli_usage_error("invalid %s argument: '%s' (expected e.g. 90s, 15m, 2h, 7d)", what,
				s);
	return v;
}
