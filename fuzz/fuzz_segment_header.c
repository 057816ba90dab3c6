/*
 * fuzz/fuzz_segment_header.c - libFuzzer target: segment header parsing.
 *
 * Input: a mode byte, two bytes of zero padding length, then the content of a shared-memory
 * object. The content is written to a memfd (imported with mv_segment_import()) or to a named
 * POSIX shm object (opened with mv_segment_open(), unlinked after), readonly or read-write, with
 * or without the shrink seal, as a memview header or raw. The mode can fix up the header checksum,
 * so that mutations reach the checks behind the checksum instead of all dying at it, and can
 * leave seq odd, as a writer that died mid-update does (read-write opens take the header lock and
 * repair it, readonly ones refuse). The header holds no lock of its own (format version 2: the
 * header lock is the kernel's), so whatever the input has at the bytes version 1 kept its mutex
 * in is simply what a peer may write there.
 *
 * The open must return 0 or a negative errno with a message. On success the reported layout must
 * fit the object, a view of the data must read end to end and equal the bytes written there,
 * and closing must succeed; the data region is never written by opening or closing.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "segment_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memview.h"

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	MODE_FIX_CHECKSUM = 0x01, /* recompute the checksum over the (mutated) static part */
	MODE_ODD_SEQ = 0x02,      /* seq odd: an update its writer never finished */
	MODE_READONLY = 0x04,
	MODE_NAMED = 0x08,        /* a /dev/shm object and mv_segment_open(), not a memfd */
	MODE_NO_SEAL = 0x10,      /* memfd without F_SEAL_SHRINK: must be refused */
	MODE_RESIZE = 0x20,       /* read-write: grow by a page, then remap */
	MODE_RAW = 0x40,          /* MV_SEGMENT_RAW with a format from the padding's low bits */
};

#define MAX_EXTRA (64u * 1024u)

static void fix_checksum(uint8_t *content)
{
	struct seg_header *h = (struct seg_header *)content;

	h->checksum = (uint32_t)((uint64_t)mv_view_hash_bytes(h, SEG_CHECKSUMMED_BYTES) &
				 0xffffffffu);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Everything an opened segment promises, checked against the bytes we wrote. */
static void check_open(mv_segment *seg, const uint8_t *file, size_t file_size, unsigned mode)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	mv_segment_holder holders[4] = { MV_SEGMENT_HOLDER_INIT };
	mv_view v;
	uint8_t *bytes;
	ssize_t n, prod;
	bool empty;
	int i, rc;

	rc = mv_segment_get_info(&info, seg);
	FUZZ_ASSERT(rc == 0, "info: %s", mv_errmsg());
	FUZZ_ASSERT(info.data_offset <= file_size &&
			    info.mapped_size <= file_size - info.data_offset &&
			    info.data_size <= file_size - info.data_offset,
		    "info: %zu data bytes at %zu (mapped %zu) in a %zu-byte object",
		    info.data_size, info.data_offset, info.mapped_size, file_size);
	FUZZ_ASSERT((mode & MODE_RAW) ? info.data_offset == 0 : info.data_offset % 4096 == 0,
		    "data offset %zu", info.data_offset);
	FUZZ_ASSERT(memchr(info.format, '\0', sizeof(info.format)) &&
			    mv_format_itemsize(info.format) > 0,
		    "info format is not a format");
	FUZZ_ASSERT(info.ndim >= 0 && info.ndim <= MV_MAXDIM, "info ndim %d", info.ndim);
	/*
	 * The documented shape rule (numpy's): no dimension is negative and itemsize times the
	 * product of the non-zero dimensions fits in ssize_t, so that every stride, in C or
	 * Fortran order, is representable. A zero dimension makes the data empty.
	 */
	prod = mv_format_itemsize(info.format);
	empty = false;
	for (i = 0; i < info.ndim; i++) {
		FUZZ_ASSERT(info.shape[i] >= 0, "shape[%d] = %zd", i, info.shape[i]);
		if (info.shape[i] == 0)
			empty = true;
		else
			FUZZ_ASSERT(!__builtin_mul_overflow(prod, info.shape[i], &prod),
				    "accepted a shape whose non-zero dimensions overflow at %d", i);
	}
	if (empty)
		prod = 0;
	FUZZ_ASSERT((size_t)prod <= info.mapped_size, "shape covers %zd of %zu mapped bytes", prod,
		    info.mapped_size);
	FUZZ_ASSERT(info.exports == 0, "%ld exports before any view", info.exports);

	rc = mv_view_from(&v, mv_segment_exporter(seg), 0);
	FUZZ_ASSERT(rc == 0, "a view of an opened segment: %s", mv_errmsg());
	FUZZ_ASSERT(mv_view_readonly(&v) == !!(mode & MODE_READONLY) ||
			    (mv_view_readonly(&v) && (info.seals & MV_SEAL_FUTURE_WRITE)),
		    "readonly %d for mode %#x", mv_view_readonly(&v), mode);
	n = mv_view_nbytes(&v);
	FUZZ_ASSERT(n == prod && mv_view_c_contiguous(&v) == 1, "view of %zd bytes, shape %zd", n,
		    prod);
	bytes = malloc((size_t)n + 1);
	if (!bytes)
		abort();
	FUZZ_ASSERT(mv_view_tobytes(bytes, (size_t)n, &v, 'C') == n, "tobytes");
	FUZZ_ASSERT(memcmp(bytes, file + info.data_offset, (size_t)n) == 0,
		    "the view's bytes are not the object's data");
	free(bytes);
	if (n <= 4096 && fuzz_tolist_nodes(&v) <= 65536) {
		char *text = NULL;

		n = mv_view_tolist_text(&text, &v);
		FUZZ_ASSERT(n >= 0 && text, "tolist of segment data: %s", mv_errmsg());
		free(text);
	}
	FUZZ_ASSERT(mv_exporter_exports(mv_segment_exporter(seg)) == 1, "one export per family");
	FUZZ_ASSERT(mv_segment_close(seg) == -EBUSY, "close while a view is alive");
	FUZZ_ASSERT(mv_view_release(&v) == 0, "release");
	FUZZ_ASSERT(mv_exporter_exports(mv_segment_exporter(seg)) == 0, "exports after release");
	n = mv_segment_holders(holders, 4, seg);
	FUZZ_ASSERT(n >= 0, "holders: %s", mv_errmsg());

	if ((mode & MODE_RESIZE) && !(mode & (MODE_READONLY | MODE_RAW))) {
		rc = mv_segment_resize(seg, info.data_size + 4096);
		if (rc < 0)
			FUZZ_ASSERT_ERR(rc);
		rc = mv_segment_remap(seg);
		if (rc < 0)
			FUZZ_ASSERT_ERR(rc);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned serial;
	struct fuzz_in in = { data, size };
	unsigned mode = fuzz_u8(&in), extra = (unsigned)fuzz_uint(&in, 2) % MAX_EXTRA;
	size_t len = in.n, file_size = len + extra;
	mv_segment_opts o = MV_SEGMENT_OPTS_INIT;
	static const char *const raw_formats[] = { "B", "<i", "d", "?", "e", "c" };
	mv_segment *seg = NULL;
	char name[64] = "";
	uint8_t *file, *after;
	int fd, rc;

	file = calloc(1, file_size + 1);
	after = malloc(file_size + 1);
	if (!file || !after)
		abort();
	memcpy(file, in.p, len);
	if (len >= sizeof(struct seg_header)) {
		if (mode & MODE_ODD_SEQ)
			((struct seg_header *)file)->seq |= 1;
		if (mode & MODE_FIX_CHECKSUM)
			fix_checksum(file);
	}

	if (mode & MODE_NAMED) {
		snprintf(name, sizeof(name), "/mvfuzz-%d-%u", (int)getpid(), serial++);
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	} else {
		fd = memfd_create("mvfuzz", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	}
	if (fd < 0 || write_all(fd, file, len) < 0 || ftruncate(fd, (off_t)file_size) < 0)
		abort();
	if (!(mode & MODE_NAMED) && !(mode & MODE_NO_SEAL) && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK))
		abort();

	o.flags = ((mode & MODE_READONLY) ? MV_SEGMENT_READONLY : 0) |
		  ((mode & MODE_RAW) ? MV_SEGMENT_RAW : 0);
	if (mode & MODE_RAW)
		o.format = raw_formats[extra % 6];
	rc = (mode & MODE_NAMED) ? mv_segment_open(&seg, name, &o) : mv_segment_import(&seg, fd, &o);
	if (rc == 0) {
		FUZZ_ASSERT(seg, "success without a handle");
		FUZZ_ASSERT((mode & MODE_NAMED) || !(mode & MODE_NO_SEAL),
			    "imported a memfd that can be shrunk under its views");
		check_open(seg, file, file_size, mode);
		rc = mv_segment_close(seg);
		FUZZ_ASSERT(rc == 0, "close: %s", mv_errmsg());
	} else {
		FUZZ_ASSERT_ERR(rc);
		FUZZ_ASSERT(!seg, "a failed open wrote its handle");
	}

	/* Opening, viewing and closing never write the data; a readonly open writes nothing. */
	if (pread(fd, after, file_size, 0) == (ssize_t)file_size && !(mode & MODE_RESIZE)) {
		size_t from = (mode & MODE_READONLY) ? 0 : 4096;

		if (from < file_size)
			FUZZ_ASSERT(memcmp(after + from, file + from, file_size - from) == 0,
				    "the object changed from byte %zu on (mode %#x)", from, mode);
	}
	if (name[0])
		shm_unlink(name);
	close(fd);
	free(after);
	free(file);
	return 0;
}
