/*
 * memview/heap.h - heap exporters: bytes, bytearray, and caller memory.
 *
 * Three kinds of exporter that own (or wrap) ordinary memory:
 *   bytes      an immutable copy: every export is readonly (CPython's bytes).
 *   bytearray  a resizable, writable copy whose resize fails with -EBUSY while exported
 *              (CPython's "Existing exports of data: object cannot be re-sized").
 *   wrap       the caller's memory, readonly or writable, with a callback run when the
 *              exporter is freed.
 *
 * Thread-safety: exports may be taken from several threads. mv_heap_resize() and mv_heap_free()
 * are atomic with respect to new exports: a get racing with them either sees the old memory
 * with its export counted (and the resize fails with -EBUSY) or is refused with -EBUSY.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_HEAP_H
#define MEMVIEW_HEAP_H

#include "memview/buffer.h"

MV_BEGIN_DECLS

typedef struct mv_heap mv_heap;

/*
 * mv_heap_bytes_new / mv_heap_bytearray_new - copy @len bytes of @data (NULL: zero-filled) into
 * a new readonly (bytes) or writable, resizable (bytearray) exporter.
 * Returns 0, -EINVAL (@out NULL, @len > SSIZE_MAX), -ENOMEM.
 */
MV_EXPORT int mv_heap_bytes_new(mv_heap **out, const void *data, size_t len);
MV_EXPORT int mv_heap_bytearray_new(mv_heap **out, const void *data, size_t len);

/*
 * mv_heap_wrap - an exporter over the caller's @len bytes at @mem. @release (may be NULL) is
 * called with @ctx by mv_heap_free(). Returns 0, -EINVAL, -ENOMEM.
 */
MV_EXPORT int mv_heap_wrap(mv_heap **out, void *mem, size_t len, int readonly,
			   mv_release_fn release, void *ctx);

/*
 * mv_heap_resize - change a bytearray's size; new bytes are zero. Resizing to the size it has
 * succeeds at once, exported or not (as CPython's PyByteArray_Resize).
 * Returns 0, -EBUSY while exported ("Existing exports of data: object cannot be re-sized"),
 * -ENOTSUP for bytes and wrapped memory, -ENOMEM (the old contents stay), -EINVAL.
 */
MV_EXPORT int mv_heap_resize(mv_heap *h, size_t len);

/* mv_heap_exporter - the heap buffer as an exporter (never NULL for a valid @h). */
MV_EXPORT mv_exporter *mv_heap_exporter(mv_heap *h);

/* mv_heap_data / mv_heap_size - the current memory and its size. */
MV_EXPORT void *mv_heap_data(const mv_heap *h);
MV_EXPORT size_t mv_heap_size(const mv_heap *h);

/*
 * mv_heap_free - free the exporter (and run a wrap's release callback). NULL is a no-op.
 * Returns 0, or -EBUSY while exported - then nothing is freed.
 */
MV_EXPORT int mv_heap_free(mv_heap *h);

MV_END_DECLS

#endif /* MEMVIEW_HEAP_H */
