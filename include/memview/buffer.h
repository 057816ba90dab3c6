/*
 * memview/buffer.h - the exporter protocol: buffer records and export counts.
 *
 * An *exporter* owns memory and hands out *buffer records* (the analogue of PEP 3118's
 * Py_buffer). Holding a buffer record is holding one export: mv_buffer_get() increments the
 * exporter's atomic export count and mv_buffer_release() decrements it. An exporter refuses
 * anything that would invalidate its memory (resize, free, unmap, unregister, slot reuse) while
 * its count is non-zero, with -EBUSY.
 *
 * Exporters in memview: heap buffers (memview/heap.h), views themselves (memview/view.h), and the
 * later shared-memory and io_uring modules. A program may define its own exporter by embedding a
 * mv_exporter and giving it an mv_exporter_ops (whose size field is sizeof(mv_exporter_ops)).
 *
 * Thread-safety: export counting is atomic; mv_buffer_get() and mv_buffer_release() may be called
 * from several threads on one exporter. A single mv_buffer record belongs to one thread at a time.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_BUFFER_H
#define MEMVIEW_BUFFER_H

#include "memview/common.h"

MV_BEGIN_DECLS

/*
 * Request flags, bit for bit PEP 3118's PyBUF_* values, so the rules an exporter applies are
 * CPython's: an exporter may refuse a request it cannot satisfy (a writable request on readonly
 * memory, a contiguity it does not have), and fills only what was asked for - no format unless
 * MV_BUF_FORMAT (the consumer then assumes "B"), no shape unless MV_BUF_ND, no strides unless
 * MV_BUF_STRIDES (the consumer then assumes C-contiguous).
 */
enum {
	MV_BUF_SIMPLE = 0,
	MV_BUF_WRITABLE = 0x0001,
	MV_BUF_FORMAT = 0x0004,
	MV_BUF_ND = 0x0008,
	MV_BUF_STRIDES = 0x0010 | MV_BUF_ND,
	MV_BUF_C_CONTIGUOUS = 0x0020 | MV_BUF_STRIDES,
	MV_BUF_F_CONTIGUOUS = 0x0040 | MV_BUF_STRIDES,
	MV_BUF_ANY_CONTIGUOUS = 0x0080 | MV_BUF_STRIDES,
	MV_BUF_INDIRECT = 0x0100 | MV_BUF_STRIDES,
	MV_BUF_CONTIG = MV_BUF_ND | MV_BUF_WRITABLE,
	MV_BUF_CONTIG_RO = MV_BUF_ND,
	MV_BUF_STRIDED = MV_BUF_STRIDES | MV_BUF_WRITABLE,
	MV_BUF_STRIDED_RO = MV_BUF_STRIDES,
	MV_BUF_RECORDS = MV_BUF_STRIDES | MV_BUF_WRITABLE | MV_BUF_FORMAT,
	MV_BUF_RECORDS_RO = MV_BUF_STRIDES | MV_BUF_FORMAT,
	MV_BUF_FULL = MV_BUF_INDIRECT | MV_BUF_WRITABLE | MV_BUF_FORMAT,
	MV_BUF_FULL_RO = MV_BUF_INDIRECT | MV_BUF_FORMAT
};

/* All request bits that have a meaning; others are refused with -EINVAL. */
#define MV_BUF_ALL_FLAGS 0x01ffu

struct mv_buffer;
struct mv_exporter;

/*
 * What an exporter does when a buffer is taken from it or given back. mv_buffer_get() and
 * mv_buffer_release() do the counting; these callbacks only fill and tidy the record.
 */
typedef struct mv_exporter_ops {
	/* sizeof(mv_exporter_ops): lets later versions add callbacks. */
	size_t size;
	/* Name of the exporter kind for messages ("bytes", "bytearray", "memoryview", ...). */
	const char *name;
	/*
	 * Fill @buf for a request of @flags. @buf->obj is already set. Return 0 or a negative
	 * errno after setting the message (see the rules for MV_BUF_* above). Called with the
	 * export already counted; a failure uncounts it. Like PyBuffer_FillInfo, get() may point
	 * shape at buf->len and strides at buf->itemsize; mv_buffer_get() keeps that valid.
	 */
	int (*get)(struct mv_exporter *self, struct mv_buffer *buf, unsigned flags);
	/* Optional: undo what get() set up for @buf (not the count). */
	void (*release)(struct mv_exporter *self, struct mv_buffer *buf);
	/* MV_EXPORTER_* bits. */
	unsigned flags;
} mv_exporter_ops;

/*
 * The exporter's memory may change while exported (like CPython's bytearray), so views of it
 * cannot be hashed ("unhashable type: 'bytearray'").
 */
#define MV_EXPORTER_UNHASHABLE 0x1u

/*
 * The part every exporter embeds. @exports is the number of buffer records currently taken from
 * it; only mv_buffer_get()/mv_buffer_release() and the exporter's own invalidating operations
 * change it, atomically. A negative value means an invalidating operation is in progress and
 * new exports are refused.
 */
typedef struct mv_exporter {
	const mv_exporter_ops *ops;
	long exports;
} mv_exporter;

/* Initialise an embedded exporter (count 0). */
#define MV_EXPORTER_INIT(ops_ptr) { (ops_ptr), 0 }

/*
 * A buffer record: one export. Every pointer in it stays valid until mv_buffer_release().
 * Fields not requested are NULL (format, shape, strides, suboffsets).
 */
typedef struct mv_buffer {
	void *buf;           /* start of the memory (first item for strided layouts) */
	mv_exporter *obj;    /* the exporter that holds the export; NULL once released */
	ssize_t len;         /* bytes: product(shape) * itemsize */
	ssize_t itemsize;    /* bytes per item */
	int readonly;        /* 1 if the memory must not be written through this record */
	int ndim;            /* number of dimensions, 0..MV_MAXDIM */
	const char *format;  /* struct format of one item, NULL means "B" */
	ssize_t *shape;      /* ndim items, or NULL */
	ssize_t *strides;    /* ndim items in bytes, or NULL */
	ssize_t *suboffsets; /* always NULL for memview's own exporters */
	void *internal;      /* for the exporter's own use */
} mv_buffer;

/*
 * Called once when memview is done with memory the caller lent it (mv_heap_wrap() at
 * mv_heap_free(); mv_uring_wrap() after the buffer's tag completion or at mv_uring_free()).
 */
typedef void (*mv_release_fn)(void *ctx, void *mem, size_t len);

/*
 * mv_buffer_get - take a buffer record (one export) from an exporter.
 *
 * @out:   the record to fill; written only on success.
 * @exp:   the exporter.
 * @flags: MV_BUF_* request flags.
 *
 * Returns 0, or:
 *   -EINVAL  @out or @exp NULL, or unknown flag bits;
 *   -EROFS   MV_BUF_WRITABLE asked of readonly memory;
 *   -EBUSY   the exporter is being resized or freed right now;
 *   -EBADF   the exporter is a released view;
 *   other    what the exporter's get() returns (e.g. a contiguity it cannot give).
 */
MV_EXPORT int mv_buffer_get(mv_buffer *out, mv_exporter *exp, unsigned flags);

/*
 * mv_buffer_release - give a buffer record back. Idempotent: a released record (obj == NULL)
 * is left alone. Returns 0, or -EINVAL for NULL.
 */
MV_EXPORT int mv_buffer_release(mv_buffer *buf);

/*
 * mv_buffer_fill - fill a record describing @len contiguous bytes at @mem as 1-D "B", honouring
 * @flags exactly as CPython's PyBuffer_FillInfo does. For writing an exporter's get().
 * Returns 0, -EROFS for a writable request when @readonly, -EINVAL for bad arguments.
 */
MV_EXPORT int mv_buffer_fill(mv_buffer *buf, mv_exporter *exp, void *mem, ssize_t len,
			     int readonly, unsigned flags);

/*
 * mv_buffer_is_contiguous - 1 if the record's memory is contiguous in @order ('C', 'F', or 'A'
 * for either), 0 if not, -EINVAL for another order.
 */
MV_EXPORT int mv_buffer_is_contiguous(const mv_buffer *buf, char order);

/*
 * mv_exporter_exports - the exporter's current number of exports (a snapshot; another thread
 * may change it at once). Returns -EINVAL for NULL.
 */
MV_EXPORT long mv_exporter_exports(const mv_exporter *exp);

MV_END_DECLS

#endif /* MEMVIEW_BUFFER_H */
