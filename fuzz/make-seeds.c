/*
 * fuzz/make-seeds.c - writes the seed corpora of the fuzz targets: make-seeds DIR writes
 * DIR/<target>/seed-* (existing seeds of that name are overwritten; reproducers, named
 * repro-*, are left alone). "make fuzz-seeds" runs it on the source tree's fuzz/corpus.
 *
 * Seeds are deterministic: the same program writes the same files. Segment header seeds are real
 * headers made by mv_segment_create() (memfd segments of several formats and shapes) read back
 * from the object, prefixed with the fuzz target's mode bytes.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memview.h"

static const char *outdir;

static void put(const char *target, unsigned n, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/seed-%03u", outdir, target, n);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* A fixed xorshift generator: programs for the op-driven targets. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint8_t next_byte(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)(rng >> 24);
}

static void format_seeds(void)
{
	static const char *const fmts[] = {
		"B", "b", "c", "?", "h", "H", "i", "I", "l", "L", "q", "Q", "n", "N", "f", "d", "e",
		"P", "@i", "=h", "<I", ">q", "!Q", "<d", ">f", "=e", "<?", "@P", "<n", "x", "BB",
		"", "3i", "=N", ">",
	};
	static const uint8_t items[][16] = {
		{ 0 },
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f }, /* NaN as 'd' */
		{ 0x01, 0x7c, 0x00, 0x80, 0x00, 0x00, 0xf0, 0xff }, /* sNaN half, -inf */
		{ 0x27, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80 },
	};
	uint8_t buf[64];
	unsigned n = 0, i;

	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		size_t len = strlen(fmts[i]), k;

		memcpy(buf, fmts[i], len + 1);
		memcpy(buf + len + 1, items[i % 5], 16);
		for (k = len + 17; k < len + 40; k++)
			buf[k] = next_byte();
		put("fuzz_format", n++, buf, len + 40);
	}
}

/* Op-driven targets: random programs, plus hand-made ones that reach the deep paths quickly. */
static void program_seeds(const char *target, unsigned count, size_t len, const uint8_t *const *made,
			  const size_t *made_len, unsigned nmade, unsigned first)
{
	uint8_t buf[512];
	unsigned n = first, i;
	size_t k;

	for (i = 0; i < nmade; i++)
		put(target, n++, made[i], made_len[i]);
	for (i = 0; i < count; i++) {
		size_t l = len / 2 + next_byte() % (len / 2);

		for (k = 0; k < l; k++)
			buf[k] = next_byte();
		put(target, n++, buf, l);
	}
}

static void view_seeds(void)
{
	/* bytearray of 96 bytes; cast to 'd' into slot 1; slice [::-2] into 2; tobytes; compare */
	static const uint8_t a[] = { 0, 48, 1, 1, 0, 15, 1, 3, 2, 1, 0xe0, 0x21, 0xfe, 7, 0, 2, 0,
				     9, 2, 1, 15, 2, 2 };
	/* bytes of 120 bytes; cast to shape (2,3,5) 'i'... then hash and hex */
	static const uint8_t b[] = { 1, 60, 2, 1, 0, 5, 0, 3, 2, 1, 7, 0, 1, 0, 8, 0, 1, 2, 0,
				     12, 0, 0, 0, 12, 3, 0 };
	/* records held over release, multi-dim slice, resize refused then allowed */
	static const uint8_t c[] = { 0, 64, 12, 0, 0, 0, 11, 0, 0, 14, 0, 0, 5, 12, 0, 0, 0, 11, 0,
				     0, 11, 1, 1, 14, 0, 0, 9 };
	static const uint8_t *const made[] = { a, b, c };
	static const size_t made_len[] = { sizeof(a), sizeof(b), sizeof(c) };

	program_seeds("fuzz_view_ops", 30, 160, made, made_len, 3, 0);
}

static void chan_seeds(void)
{
	/* honest consumer and liar, 4 slots: loan, send, recv, lie with its ids, release */
	static const uint8_t a[] = { 0x0e, 3, 0, 1, 9, 3, 0, 1, 9, 3, 5, 1, 5, 2, 4, 0, 4, 1,
				     5, 3, 2, 0, 1, 7, 5, 2 };
	/* liar only, 1 slot: every kind of lie around one message */
	static const uint8_t b[] = { 0x04, 0, 0, 1, 9, 5, 0, 1, 2, 3, 5, 2, 6, 4, 0x60, 5, 5, 9,
				     6, 3, 1, 7, 1, 2, 3, 4, 0 };
	/* honest only, spinning, 8 slots filled up */
	static const uint8_t c[] = { 0x03, 7, 0, 1, 8, 0, 1, 8, 0, 1, 8, 0, 1, 8, 3, 3, 3, 4, 1,
				     4, 2, 0, 2 };
	static const uint8_t *const made[] = { a, b, c };
	static const size_t made_len[] = { sizeof(a), sizeof(b), sizeof(c) };

	program_seeds("fuzz_chan_handback", 27, 120, made, made_len, 3, 0);
}

static void hostile_seeds(void)
{
	/* segment: view, peer rewrites the data offset with a good checksum, view, remap, view */
	static const uint8_t a[] = { 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 1, 1, 0, 0, 0, 0, 2,
				     0, 0, 0, 0, 1 };
	/* segment, typed: peer truncates, victim views, resizes, peer grows, holders */
	static const uint8_t b[] = { 0, 1, 1, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 4, 0, 2, 0, 0,
				     4, 0, 4, 0, 0 };
	/* channel: loans and receives, the liar lies in its queue and on its connection */
	static const uint8_t c[] = { 1, 3, 0, 0, 0, 0, 1, 1, 1, 3, 0, 2, 0, 5, 1, 0, 6, 0, 7,
				     0, 1, 2, 0, 4, 0, 9, 0, 6 };
	static const uint8_t *const made[] = { a, b, c };
	static const size_t made_len[] = { sizeof(a), sizeof(b), sizeof(c) };

	program_seeds("fuzz_hostile_peer", 29, 120, made, made_len, 3, 0);
}

/* A real header: create a memfd segment, read the object back, close it. */
static void segment_seed(unsigned *n, uint8_t mode, const char *fmt, const ssize_t *shape,
			 int ndim, size_t data_size)
{
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	mv_segment *seg;
	struct stat st;
	uint8_t *buf;
	size_t i;

	o.flags = MV_SEGMENT_MEMFD;
	o.format = fmt;
	o.shape = shape;
	o.ndim = ndim;
	if (mv_segment_create(&seg, "seed", data_size, &o) < 0) {
		fprintf(stderr, "make-seeds: %s\n", mv_errmsg());
		exit(1);
	}
	for (i = 0; i < data_size; i++)
		((uint8_t *)mv_segment_data(seg))[i] = (uint8_t)(i * 7 + 3);
	if (fstat(mv_segment_fd(seg), &st) < 0)
		exit(1);
	buf = malloc((size_t)st.st_size + 3);
	if (!buf || pread(mv_segment_fd(seg), buf + 3, (size_t)st.st_size, 0) != st.st_size)
		exit(1);
	buf[0] = mode;
	buf[1] = buf[2] = 0;
	mv_segment_close(seg);
	put("fuzz_segment_header", (*n)++, buf, (size_t)st.st_size + 3);
	free(buf);
}

static void segment_seeds(void)
{
	static const ssize_t s23[] = { 2, 3 }, s4[] = { 4 }, s222[] = { 2, 2, 2 }, s0[] = { 0, 5 };
	/* 0x02: seq left odd (a writer died mid-update): repaired read-write, refused readonly. */
	static const uint8_t modes[] = { 0x00, 0x04, 0x08, 0x0c, 0x20, 0x01, 0x10, 0x40, 0x44,
					 0x02, 0x06, 0x0a };
	unsigned n = 0, i;

	for (i = 0; i < sizeof(modes); i++)
		segment_seed(&n, modes[i], "B", NULL, -1, 64);
	segment_seed(&n, 0x00, "d", s23, 2, 48);
	segment_seed(&n, 0x04, "<i", s4, 1, 16);
	segment_seed(&n, 0x08, "e", s222, 3, 16);
	segment_seed(&n, 0x00, "c", s0, 2, 8);
	segment_seed(&n, 0x01, "?", NULL, -1, 5);
	segment_seed(&n, 0x20, "Q", NULL, -1, 0);
	segment_seed(&n, 0x00, "f", NULL, 0, 4);
	segment_seed(&n, 0x0c, ">H", NULL, -1, 200);
	segment_seed(&n, 0x01, "P", s4, 1, 40);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make-seeds DIR\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	format_seeds();
	view_seeds();
	chan_seeds();
	hostile_seeds();
	segment_seeds();
	return 0;
}
