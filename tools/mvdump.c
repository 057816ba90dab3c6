/*
 * tools/mvdump.c - show a file or standard input as a typed view.
 *
 * mvdump prints what Python prints for memoryview(data).cast(FORMAT, SHAPE)[SLICE].tolist(),
 * .hex(SEP, N), or the view's bytes the way xxd shows them. It is a thin layer over the public
 * API: the input becomes an exporter, everything else is views derived from it.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memview.h"
#include "../util/cli.h"
#include "../util/mvutil.h"
#include "toolcli.h"
#include "safeopen.h"

enum output { OUT_LIST, OUT_HEX, OUT_XXD };

/* The input bytes and what to undo when the exporter wrapping them is freed. */
struct input {
	const char *name;     /* for messages: the path, or "standard input" */
	void *map;            /* mmap'ed file, or NULL */
	size_t maplen;        /* bytes mapped at map */
	unsigned char *heap;  /* bytes read into memory, or NULL */
	unsigned char *data;  /* first input byte */
	size_t len;           /* input bytes at data */
};

static CLI_NORETURN void usage(void)
{
	static const char *const synopses[] = { "[options] [FILE | -]",
						"[options] --shm NAME", NULL };
	FILE *out = stdout;

	cli_usage_begin(out, synopses,
			"Show a file or standard input as a typed memoryview: what Python\n"
			"prints for memoryview(data).cast(FORMAT, SHAPE)[SLICE].tolist().");
	cli_usage_section(out, "Options");
	cli_usage_option(out, "-f, --format <format>",
			 "item format: c b B ? h H i I l L q Q n N f d e P,\n"
			 "optionally after @ = < > or ! (default B)");
	cli_usage_option(out, "    --shape <d0,d1,...>",
			 "cast to this shape, e.g. 2,3 (empty: 0-dim)");
	cli_usage_option(out, "    --slice <slice>",
			 "Python slice START:STOP:STEP of the first\ndimension, e.g. ::-1");
	cli_usage_option(out, "    --offset <size>",
			 "skip <size> bytes of input before casting");
	cli_usage_option(out, "    --length <size>", "use at most <size> bytes of input");
	cli_usage_option(out, "    --list", "print tolist() as Python does (default)");
	cli_usage_option(out, "    --hex[=<sep>[,<n>]]",
			 "print hex(<sep>, <n>): <sep> one ASCII character,\n"
			 "<n> bytes per separator (default 1)");
	cli_usage_option(out, "    --xxd", "print the bytes as xxd does");
	cli_usage_option(out, "    --shm <name>",
			 "show shared memory segment <name> (e.g. /frames,\n"
			 "or a memfd's /proc/PID/fd/N),\n"
			 "typed as its memview header says unless -f,\n"
			 "--shape, --offset or --length are given");
	cli_usage_option(out, "    --raw", "with --shm: the segment has no memview header");
	cli_usage_std_options(out);
	cli_usage_size_argument(out);
	cli_usage_end(out);
	exit(CLI_EXIT_OK);
}

/*
 * A file shrunk by another process while mapped turns reads past its new end into SIGBUS.
 * That is not a bug in mvdump, but it must still end with a message rather than a core dump.
 */
static void on_sigbus(int sig)
{
	static const char msg[] = ": the input file shrank while it was being read\n";
	ssize_t r;

	(void)sig;
	r = write(STDERR_FILENO, cli_progname, strlen(cli_progname));
	r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	_exit(CLI_EXIT_FAILURE);
}

/* Read @fd to its end, or until @limit bytes are in: a stream needs no more than we show. */
static void read_all(int fd, struct input *in, uint64_t limit)
{
	size_t cap = 0, len = 0, want;
	unsigned char *buf = NULL, *nbuf;
	ssize_t n;

	for (;;) {
		if (len == cap) {
			if (cap >= (size_t)SSIZE_MAX / 2)
				cli_fail("%s: input too large", in->name);
			cap = cap ? cap * 2 : 65536;
			nbuf = realloc(buf, cap);
			if (!nbuf)
				cli_fail("%s: cannot allocate %zu bytes", in->name, cap);
			buf = nbuf;
		}
		if (len >= limit)
			break;
		want = cap - len;
		if (want > limit - len)
			want = (size_t)(limit - len);
		n = mvu_read_full(fd, buf + len, want);
		if (n < 0)
			cli_fail("cannot read %s: %s", in->name, strerror(errno));
		len += (size_t)n;
		if ((size_t)n < want)
			break; /* end of input */
	}
	in->heap = buf;
	in->data = buf;
	in->len = len;
}

/*
 * Map a regular file readonly - the view then shows the page cache itself, no copy - and read
 * anything else (pipes, terminals, character devices, or a file mmap refuses). A regular file
 * given as standard input is shown from its current position, as any reader of stdin would.
 */
static void open_input(const char *path, struct input *in, uint64_t limit)
{
	struct sigaction sa;
	struct stat st;
	off_t pos = 0;
	int fd;

	memset(in, 0, sizeof(*in));
	if (!path || strcmp(path, "-") == 0) {
		in->name = "standard input";
		fd = STDIN_FILENO;
	} else {
		in->name = path;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			cli_fail("cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0)
		cli_fail("cannot stat %s: %s", in->name, strerror(errno));

	/* Files in /proc and /sys say they are empty and are not: those are read. */
	if (S_ISREG(st.st_mode) && st.st_size > 0 && (uintmax_t)st.st_size <= SSIZE_MAX) {
		if (fd == STDIN_FILENO)
			pos = lseek(fd, 0, SEEK_CUR);
		if (pos >= st.st_size) {
			in->data = NULL;
			in->len = 0;
			goto out;
		}
		if (pos >= 0) {
			in->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
			if (in->map != MAP_FAILED) {
				in->maplen = (size_t)st.st_size;
				in->data = (unsigned char *)in->map + pos;
				in->len = (size_t)(st.st_size - pos);
				memset(&sa, 0, sizeof(sa));
				sa.sa_handler = on_sigbus;
				sigaction(SIGBUS, &sa, NULL);
				goto out;
			}
			in->map = NULL;
		}
	}
	read_all(fd, in, limit);
out:
	if (fd != STDIN_FILENO)
		close(fd);
}

/* The exporter's release callback: the input goes when the last view of it is gone. */
static void release_input(void *ctx, void *mem, size_t len)
{
	struct input *in = ctx;

	(void)mem;
	(void)len;
	if (in->map)
		munmap(in->map, in->maplen);
	free(in->heap);
	in->map = NULL;
	in->heap = NULL;
}

/* --hex=SEP[,N]: SEP is one character (which may itself be a comma), N an int. */
static void parse_hex_arg(const char *arg, const char **sep, int *bytes_per_sep)
{
	static char sepbuf[2];
	size_t seplen, chars = 0, i;
	const char *comma;
	ssize_t n;

	*sep = NULL;
	*bytes_per_sep = 1;
	if (!arg || !*arg)
		return;
	/* The separator is the first character, counted in UTF-8 as Python counts str. */
	seplen = 1;
	while (arg[seplen] && ((unsigned char)arg[seplen] & 0xc0) == 0x80)
		seplen++;
	comma = arg[seplen] == ',' ? arg + seplen : NULL;
	if (!comma) {
		for (i = 0; arg[i]; i++)
			chars += ((unsigned char)arg[i] & 0xc0) != 0x80;
		if (chars != 1)
			cli_usage_error("invalid --hex argument '%s': sep must be length 1.", arg);
	} else {
		if (cli_parse_ssize(comma + 1, &n) < 0 || n < -0x7fffffff || n > 0x7fffffff)
			cli_usage_error("invalid --hex argument '%s': bytes per separator "
					"must be an integer", arg);
		*bytes_per_sep = (int)n;
	}
	if ((unsigned char)arg[0] >= 0x80)
		cli_usage_error("invalid --hex argument '%s': sep must be ASCII.", arg);
	memcpy(sepbuf, arg, 1);
	sepbuf[1] = '\0';
	*sep = sepbuf;
}

static int write_stdout(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	return fwrite(s, 1, n, stdout) == n ? 0 : 1;
}

static void print_list(const mv_view *v)
{
	int ret = mv_view_tolist_write(v, write_stdout, NULL);

	if (ret > 0)
		cli_write_failed();
	if (ret < 0)
		cli_fail_mv(ret, NULL);
	putchar('\n');
}

static void print_hex(const mv_view *v, const char *sep, int bytes_per_sep)
{
	ssize_t n = mv_view_hex(NULL, 0, v, sep, bytes_per_sep);
	char *text;

	if (n < 0)
		cli_fail_mv((int)n, NULL);
	text = malloc((size_t)n + 1);
	if (!text)
		cli_fail("cannot allocate %zd bytes for the hex text", n + 1);
	n = mv_view_hex(text, (size_t)n + 1, v, sep, bytes_per_sep);
	if (n < 0)
		cli_fail_mv((int)n, NULL);
	if (fwrite(text, 1, (size_t)n, stdout) != (size_t)n)
		cli_write_failed();
	putchar('\n');
	free(text);
}

/* xxd's default layout: 16 bytes a line in groups of 2, then the printable ASCII. */
static void print_xxd(const mv_view *v)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *bytes;
	unsigned char *copy = NULL;
	ssize_t nbytes = mv_view_nbytes(v), off, i, n;
	char line[128];
	int col;

	if (nbytes < 0)
		cli_fail_mv((int)nbytes, NULL);
	/* A C-contiguous view is shown in place; only strided views need tobytes()' copy. */
	if (mv_view_c_contiguous(v) == 1) {
		bytes = mv_view_ptr(v);
	} else {
		copy = malloc(nbytes ? (size_t)nbytes : 1);
		if (!copy)
			cli_fail("cannot allocate %zd bytes", nbytes);
		n = mv_view_tobytes(copy, (size_t)nbytes, v, 'C');
		if (n < 0)
			cli_fail_mv((int)n, NULL);
		bytes = copy;
	}
	for (off = 0; off < nbytes; off += 16) {
		n = nbytes - off < 16 ? nbytes - off : 16;
		col = snprintf(line, sizeof(line), "%08lx: ", (unsigned long)off);
		memset(line + col, ' ', 41);
		for (i = 0; i < n; i++) {
			line[col + i * 2 + i / 2] = digits[bytes[off + i] >> 4];
			line[col + i * 2 + i / 2 + 1] = digits[bytes[off + i] & 15];
		}
		col += 41;
		for (i = 0; i < n; i++) {
			unsigned char c = bytes[off + i];

			line[col++] = c >= 0x20 && c < 0x7f ? (char)c : '.';
		}
		line[col++] = '\n';
		if (fwrite(line, 1, (size_t)col, stdout) != (size_t)col)
			cli_write_failed();
	}
	free(copy);
}

int main(int argc, char **argv)
{
	enum { OPT_SHAPE = 256, OPT_SLICE, OPT_OFFSET, OPT_LENGTH, OPT_LIST, OPT_HEX, OPT_XXD,
	       OPT_SHM, OPT_RAW };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "shape", required_argument, NULL, OPT_SHAPE },
		{ "slice", required_argument, NULL, OPT_SLICE },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "length", required_argument, NULL, OPT_LENGTH },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "hex", optional_argument, NULL, OPT_HEX },
		{ "xxd", no_argument, NULL, OPT_XXD },
		{ "shm", required_argument, NULL, OPT_SHM },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *format = "B", *path = NULL, *hexsep = NULL, *shape_arg = NULL, *shm = NULL;
	enum output mode = OUT_LIST;
	int mode_set = 0, have_slice = 0, have_length = 0, bytes_per_sep = 1, ndim;
	int format_set = 0, raw = 0, retyped;
	mv_segment *seg = NULL;
	mv_view bytes;
	int c, ret;
	uint64_t offset = 0, length = 0, limit;
	ssize_t *shape = NULL, stop;
	mv_slice slice = { MV_NONE, MV_NONE, MV_NONE };
	mv_format fmt;
	struct input in;
	mv_heap *heap = NULL;
	mv_view whole, part, cast, sliced, *shown;
	static unsigned char empty[1];

	cli_init(argc, argv, "mvdump");
	while ((c = getopt_long(argc, argv, "f:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			format_set = 1;
			break;
		case OPT_SHM:
			shm = optarg;
			break;
		case OPT_RAW:
			raw = 1;
			break;
		case OPT_SHAPE:
			shape_arg = optarg;
			break;
		case OPT_SLICE:
			if (cli_parse_slice(optarg, &slice) < 0)
				cli_usage_error("invalid --slice argument: '%s' "
						"(expected START:STOP:STEP)", optarg);
			if (slice.step == 0)
				cli_usage_error("invalid --slice argument: '%s': "
						"slice step cannot be zero", optarg);
			have_slice = 1;
			break;
		case OPT_OFFSET:
			offset = cli_size_arg(optarg, "--offset");
			break;
		case OPT_LENGTH:
			length = cli_size_arg(optarg, "--length");
			have_length = 1;
			break;
		case OPT_LIST:
		case OPT_HEX:
		case OPT_XXD: {
			enum output m = c == OPT_LIST ? OUT_LIST : c == OPT_HEX ? OUT_HEX : OUT_XXD;

			if (mode_set && m != mode)
				cli_usage_error("--list, --hex and --xxd are mutually exclusive");
			mode = m;
			mode_set = 1;
			if (m == OUT_HEX)
				parse_hex_arg(optarg, &hexsep, &bytes_per_sep);
			break;
		}
		case 'h':
			usage();
		case 'V':
			cli_print_version();
		default:
			cli_try_help();
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc)
		cli_usage_error("unexpected argument: '%s'", argv[optind]);

	/* Refuse a bad format before reading what may be a long stream. */
	if (mv_format_parse(&fmt, format) < 0) {
		/* The library's message names the format and lists the codes. */
		if (*mv_errmsg())
			cli_usage_error("%s", mv_errmsg());
		cli_usage_error("invalid format '%s'", format);
	}
	ndim = MV_CAST_NO_SHAPE;
	if (shape_arg && cli_parse_list(shape_arg, &shape, &ndim) < 0)
		cli_usage_error("invalid --shape argument: '%s' (expected D0,D1,...)", shape_arg);

	if (shm && path)
		cli_usage_error("--shm and a FILE are mutually exclusive");
	if (raw && !shm)
		cli_usage_error("--raw is for --shm");
	/* Without -f, --shape, --offset or --length a segment shows as its header types it. */
	retyped = !shm || format_set || shape_arg || offset || have_length;
	limit = have_length ? offset + length : UINT64_MAX;
	if (shm) {
		mv_segment_opts so = MV_SEGMENT_OPTS_INIT;

		so.flags = MV_SEGMENT_READONLY | (raw ? MV_SEGMENT_RAW : 0);
		so.format = raw ? format : NULL;
		if (strchr(shm + 1, '/')) {
			/* A memfd's descriptor, e.g. /proc/PID/fd/N as lsshm shows it: a fresh open
			 * is a description of our own, imported as mvshm does - of a regular file
			 * only, whatever that process points N at meanwhile (safeopen.h). */
			struct stat st;
			int fd = safe_open(shm, O_RDONLY, 0, NULL, &st);

			if (fd < 0)
				cli_fail("%s: cannot open: %s", shm, safe_open_error(fd, &st));
			ret = mv_segment_import(&seg, fd, &so);
			close(fd);
			if (ret < 0) /* the library knows a descriptor, not the path given */
				cli_fail_mv(ret, shm);
		} else {
			ret = mv_segment_open(&seg, shm, &so);
		}
		if (ret < 0)
			cli_fail_mv(ret, NULL);
		ret = mv_view_from(&whole, mv_segment_exporter(seg), 0);
		if (ret < 0)
			cli_fail_mv(ret, NULL);
		if (raw) /* typed by -f already: retyped only for a part of it, or a shape */
			retyped = shape_arg || offset || have_length;
	} else {
		/* Both are at most SSIZE_MAX, so the sum cannot wrap. */
		open_input(path, &in, limit);
		if (!in.data)
			in.data = empty;
		ret = mv_heap_wrap(&heap, in.data, in.len, 1, release_input, &in);
		if (ret < 0)
			cli_fail_mv(ret, NULL);
		ret = mv_view_from(&whole, mv_heap_exporter(heap), 0);
		if (ret < 0)
			cli_fail_mv(ret, NULL);
	}
	if (!retyped) {
		ret = mv_view_from(&cast, mv_view_exporter(&whole), 0);
	} else {
		/* Retyping works on the bytes: data[OFFSET:OFFSET+LENGTH], clamped as in Python. */
		ret = mv_view_cast(&bytes, &whole, "B", NULL, MV_CAST_NO_SHAPE);
		if (ret < 0)
			cli_fail_mv(ret, NULL);
		stop = MV_NONE;
		if (have_length)
			stop = limit > (uint64_t)SSIZE_MAX ? SSIZE_MAX : (ssize_t)limit;
		ret = mv_view_slice(&part, &bytes, (ssize_t)offset, stop, 1);
		if (ret < 0)
			cli_fail_mv(ret, NULL);
		ret = mv_view_cast(&cast, &part, format, shape, ndim);
	}
	if (ret < 0)
		cli_fail_mv(ret, NULL);
	shown = &cast;
	if (have_slice) {
		ret = mv_view_slice(&sliced, &cast, slice.start, slice.stop, slice.step);
		if (ret < 0)
			cli_fail_mv(ret, NULL);
		shown = &sliced;
	}

	switch (mode) {
	case OUT_LIST:
		print_list(shown);
		break;
	case OUT_HEX:
		print_hex(shown, hexsep, bytes_per_sep);
		break;
	case OUT_XXD:
		print_xxd(shown);
		break;
	}

	/* The family's export goes with its last view; only then can the exporter be freed. */
	if (have_slice && (ret = mv_view_release(&sliced)) < 0)
		cli_fail_mv(ret, NULL);
	if ((ret = mv_view_release(&cast)) < 0 ||
	    (retyped && ((ret = mv_view_release(&part)) < 0 ||
			 (ret = mv_view_release(&bytes)) < 0)) ||
	    (ret = mv_view_release(&whole)) < 0)
		cli_fail_mv(ret, NULL);
	ret = seg ? mv_segment_close(seg) : mv_heap_free(heap);
	if (ret < 0)
		cli_fail_mv(ret, NULL);
	free(shape);
	return CLI_EXIT_OK;
}
