/*
 * tools/toolcli.h - what the tools' command lines need beyond util/cli.h, and bench/ does not:
 * Python slices (mvdump), durations (mvshm gc), -o column lists (lsshm), and sizes and
 * durations printed util-linux's way (lsshm, mvshm gc). The cli_ prefix is util/cli.h's: these
 * follow the same conventions (return values, exit statuses).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_TOOLS_TOOLCLI_H
#define MEMVIEW_TOOLS_TOOLCLI_H

#include <stddef.h>
#include <stdint.h>

#include "memview.h"

/*
 * Parsers. Each returns 0 and writes its out-parameters only on success, or -EINVAL for bad
 * syntax, -ERANGE for a value that does not fit.
 */

/*
 * cli_parse_slice - Python slice syntax "START:STOP:STEP" or "START:STOP", each part optional
 * and possibly negative: "::-1", "2:", ":-3", "1:9:2". Omitted parts are MV_NONE. As in Python,
 * integers beyond ssize_t are clamped (so "-99999999999999999999:" means "from the start"), and
 * a step of zero is accepted here and refused by the slicing ("slice step cannot be zero").
 */
int cli_parse_slice(const char *s, mv_slice *out);

/*
 * cli_parse_duration - a time span: a number of seconds, or numbers each followed by a unit, "90",
 * "90s", "15m", "1h30m", "7d", "2w" (s, m, h, d, w; also sec, min, hour, day, week and their
 * plurals). The result is in seconds.
 */
int cli_parse_duration(const char *s, uint64_t *out);

/*
 * cli_parse_columns - an -o/--output list: column names separated by commas, in any case. @names
 * are the tool's columns (upper case), @n of them. The indices are stored in @cols (room for @max);
 * a list that starts with '+' adds to the *@ncols already there (the defaults), otherwise replaces
 * them. On -EINVAL the unknown name is copied to @bad; -E2BIG when more than @max are given.
 */
int cli_parse_columns(const char *list, const char *const *names, size_t n, int *cols, size_t max,
		      size_t *ncols, char *bad, size_t badlen);

/*
 * Formatting, util-linux's way. cli_format_size: "512B", "4K", "4.3K", "1.5M" (powers of 1024,
 * one decimal when it is not zero). cli_format_duration: "5s", "12m5s", "3h12m", "2d3h".
 * Both write into @buf and return it.
 */
const char *cli_format_size(uint64_t bytes, char *buf, size_t len);
const char *cli_format_duration(uint64_t seconds, char *buf, size_t len);

/*
 * cli_duration_arg - cli_parse_duration(), exiting with status 2 and "mvshm: invalid <what>
 * argument: '<s>'" (or "... is too large") on failure, as cli_size_arg() does.
 */
uint64_t cli_duration_arg(const char *s, const char *what);

#endif /* MEMVIEW_TOOLS_TOOLCLI_H */
