/*
 * util/cli.h - the command-line conventions every memview program follows: the program name,
 * the util-linux usage layout, --version, error exits with the project's statuses, parsing of
 * sizes and integer lists, JSON strings, and names escaped for the terminal.
 *
 * Who may use it: the programs of tools/ (mvdump, mvshm, lsshm) and bench/ (mvbench,
 * bench_views); not the library. Part of util/, which depends on the library's public API and
 * nothing else of the tree: it includes nothing from tools/, bench/ or tests/. What only the
 * tools need (Python slices, durations, column lists, util-linux sizes) is in tools/toolcli.h.
 *
 * Exit statuses, the same for every program and documented in each man page:
 *   0 success, 1 failure (I/O, or an operation memview refused), 2 usage error.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_UTIL_CLI_H
#define MEMVIEW_UTIL_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

#define CLI_NORETURN __attribute__((noreturn))
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* The tool's name as set by cli_init(), for messages ("mvdump"). */
extern const char *cli_progname;

/*
 * cli_init - call first in main(). Records @name as the program name and puts it in argv[0], so
 * getopt's own messages ("mvdump: unrecognized option '--x'") name the tool even when it runs
 * through a libtool wrapper as "lt-mvdump". Registers an exit handler that flushes stdout and
 * turns a failed write (full disk, closed pipe reader) into a message and status 1 instead of
 * silently lost output.
 */
void cli_init(int argc, char **argv, const char *name);

/*
 * Usage, util-linux's layout:
 *
 *	Usage:
 *	 mvdump [options] [FILE | -]
 *
 *	Show a file or standard input as a typed memoryview.
 *
 *	Options:
 *	 -f, --format <format>      item format
 *	...
 *	 -h, --help                 display this help
 *	 -V, --version              display version
 *
 *
 *	Arguments:
 *	 <size> may be followed by ...
 *
 *	For more details see mvdump(1).
 *
 * cli_usage_begin() prints the synopses (NULL-terminated, each without the program name) and the
 * one-paragraph summary; cli_usage_section() a titled section; cli_usage_option() one option
 * with its help aligned (a '\n' in @help continues it on an aligned line);
 * cli_usage_std_options() the help and version lines; cli_usage_size_argument() the
 * "Arguments:" note on what cli_parse_size() accepts; cli_usage_end() the man page pointer.
 */
void cli_usage_begin(FILE *out, const char *const *synopses, const char *summary);
void cli_usage_section(FILE *out, const char *title);
void cli_usage_option(FILE *out, const char *opts, const char *help);
void cli_usage_std_options(FILE *out);
void cli_usage_size_argument(FILE *out);
void cli_usage_end(FILE *out);

/* cli_print_version - "mvdump from memview 0.1.0" on stdout, then exit 0. */
CLI_NORETURN void cli_print_version(void);

/* cli_try_help - "Try 'mvdump --help' for more information." on stderr, then exit 2. */
CLI_NORETURN void cli_try_help(void);

/* cli_usage_error - "mvdump: <message>" on stderr, then exit 2: a bad command line. */
CLI_NORETURN void cli_usage_error(const char *fmt, ...) CLI_PRINTF(1, 2);

/* cli_fail - "mvdump: <message>" on stderr, then exit 1: the command could not be done. */
CLI_NORETURN void cli_fail(const char *fmt, ...) CLI_PRINTF(1, 2);

/*
 * cli_write_failed - writing stdout failed with errno: "mvdump: write error: <strerror>", then exit
 * 1. Silent for EPIPE: a reader that went away (mvdump | head) is no news to the user.
 */
CLI_NORETURN void cli_write_failed(void);

/* cli_warn - "mvdump: <message>" on stderr; carries on. */
void cli_warn(const char *fmt, ...) CLI_PRINTF(1, 2);

/*
 * cli_fail_mv - a memview call returned @err (< 0): print "mvdump: <mv_errmsg()>", or
 * "mvdump: <context>: <mv_errmsg()>" when @context is not NULL, then exit 1. The library's
 * message is CPython's wording where CPython has one, so it is shown unchanged.
 */
CLI_NORETURN void cli_fail_mv(int err, const char *context);

/*
 * Parsers. Each returns 0 and writes its out-parameters only on success, or -EINVAL for bad
 * syntax, -ERANGE for a value that does not fit, -ENOMEM.
 */

/*
 * cli_parse_size - a byte count: decimal or 0x-hexadecimal digits, optionally followed by a
 * suffix K M G T P E (powers of 1024; also KiB, MiB, ...; KB, MB, ... are powers of 1000; the
 * letter may be lower case) or B (bytes). "4K" is 4096, "1MB" 1000000. The result is at most
 * SSIZE_MAX, the largest size a view can have.
 */
int cli_parse_size(const char *s, uint64_t *out);

/*
 * cli_parse_ssize - a signed decimal integer with an optional sign, in ssize_t range.
 */
int cli_parse_ssize(const char *s, ssize_t *out);

/*
 * cli_parse_list - a comma-separated list of signed integers, "2,3,4". The empty string is the
 * empty list (*@n = 0; *@out may then be NULL). *@out is malloc'ed; the caller frees it.
 */
int cli_parse_list(const char *s, ssize_t **out, int *n);

/*
 * cli_json_string - write @s to @out as a JSON string: quoted, with '"', '\\', control
 * characters (C0, DEL, and C1 in UTF-8) escaped as \uXXXX; other valid UTF-8 passes through, and
 * a byte that is not valid UTF-8 is written as the code point of the same value (\u0080 to
 * \u00ff), so that the output is always valid JSON and never acts on a terminal.
 */
void cli_json_string(FILE *out, const char *s);

/*
 * cli_visible - @s as it may be shown on a terminal or in a line-oriented output: every byte a
 * terminal could act on - control characters (C0 including newline, DEL, and C1 encoded in
 * UTF-8) and bytes that are not valid UTF-8 - is written \xHH, as libsmartcols (lsshm's tables)
 * writes it, and a backslash followed by 'x' as \x5c, so that nothing is ambiguous. Other UTF-8
 * passes through.
 *
 * For every name another process or user controls - names in /dev/shm, paths, command names,
 * memfd names - printed on standard output: one line stays one line, and no escape sequence
 * reaches the terminal. Messages (cli_warn(), cli_fail(), cli_usage_error(), cli_fail_mv()) are
 * escaped this way whole: pass them names as they are.
 *
 * The result lives in one of CLI_VISIBLE_SLOTS buffers used in turn: it stays valid until that
 * many more calls, enough for the arguments of one printf(). Out of memory: "?".
 */
#define CLI_VISIBLE_SLOTS 8
const char *cli_visible(const char *s);

/*
 * cli_json_plain - whether a JSON writer that escapes only what JSON requires ('"', '\\' and C0
 * controls, as libsmartcols does) may write @s as it is: @s is valid UTF-8 with no DEL and no C1
 * control. Where not, a tool hands it cli_visible(@s) instead: JSON cannot carry bytes that are
 * not UTF-8, and must not carry a raw control character to a terminal.
 */
int cli_json_plain(const char *s);

/*
 * The same, exiting with status 2 and "mvdump: invalid <what> argument: '<s>'" (or "... is too
 * large") on failure - what a tool's option loop wants.
 */
uint64_t cli_size_arg(const char *s, const char *what);
ssize_t cli_ssize_arg(const char *s, const char *what);

/*
 * cli_names_arg - a comma-separated list of names as a bit mask: @lookup gives each name's bit
 * number (-1 for an unknown name), and "all" stands for every bit of @all. Exits with status 2
 * and "mvbench: unknown <what> '<name>' (<choices>)" on an unknown name, or "mvbench: invalid
 * <what>s argument: '<s>'" when the list names nothing.
 */
unsigned cli_names_arg(const char *s, const char *what, int (*lookup)(const char *name),
		       unsigned all, const char *choices);

#endif /* MEMVIEW_UTIL_CLI_H */
