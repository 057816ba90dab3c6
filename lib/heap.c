/*
 * lib/heap.c - heap exporters: bytes (readonly copy), bytearray (resizable copy), and wrapped
 * caller memory with a release callback.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum heap_kind { HEAP_BYTES, HEAP_BYTEARRAY, HEAP_WRAP };

struct mv_heap {
	mv_exporter exp;            /* must stay first: the exporter is the handle's address */
	enum heap_kind kind;
	int readonly;
	void *data;                 /* never NULL for owned kinds, so zero-length views have a base */
	size_t size;                /* bytes; changed only by mv_heap_resize() under the lock */
	mv_release_fn release; /* HEAP_WRAP only */
	void *ctx;
};

static int heap_get(mv_exporter *self, mv_buffer *buf, unsigned flags)
{
	mv_heap *h = (mv_heap *)self;

	/* One contiguous dimension satisfies every contiguity request, as for CPython's bytes. */
	return mv_buffer_fill(buf, self, h->data, (ssize_t)h->size, h->readonly, flags);
}

static const mv_exporter_ops bytes_ops = {
	.size = sizeof(mv_exporter_ops),
	.name = "bytes",
	.get = heap_get,
};
static const mv_exporter_ops bytearray_ops = {
	.size = sizeof(mv_exporter_ops),
	.name = "bytearray",
	.get = heap_get,
	.flags = MV_EXPORTER_UNHASHABLE,
};
static const mv_exporter_ops wrap_ops = {
	.size = sizeof(mv_exporter_ops),
	.name = "memory",
	.get = heap_get,
	.flags = MV_EXPORTER_UNHASHABLE,
};

static int heap_new(mv_heap **out, enum heap_kind kind, const void *data, size_t len)
{
	mv_heap *h;

	MV_CHECK_ARG(out, "out");
	if (len > (size_t)SSIZE_MAX)
		return mv_fail(EINVAL, "heap buffer of %zu bytes is larger than SSIZE_MAX", len);
	h = calloc(1, sizeof(*h));
	if (!h)
		return mv_fail(ENOMEM, "cannot allocate a heap exporter");
	/* malloc(0) may return NULL; one spare byte keeps data a valid base address. */
	h->data = malloc(len ? len : 1);
	if (!h->data) {
		free(h);
		return mv_fail(ENOMEM, "cannot allocate %zu bytes", len);
	}
	if (data)
		memcpy(h->data, data, len);
	else
		memset(h->data, 0, len);
	h->size = len;
	h->kind = kind;
	h->readonly = kind == HEAP_BYTES;
	h->exp.ops = kind == HEAP_BYTES ? &bytes_ops : &bytearray_ops;
	h->exp.exports = 0;
	*out = h;
	return 0;
}

int mv_heap_bytes_new(mv_heap **out, const void *data, size_t len)
{
	return heap_new(out, HEAP_BYTES, data, len);
}

int mv_heap_bytearray_new(mv_heap **out, const void *data, size_t len)
{
	return heap_new(out, HEAP_BYTEARRAY, data, len);
}

int mv_heap_wrap(mv_heap **out, void *mem, size_t len, int readonly, mv_release_fn release,
		 void *ctx)
{
	mv_heap *h;

	MV_CHECK_ARG(out, "out");
	MV_CHECK_ARG(mem || len == 0, "mem");
	if (len > (size_t)SSIZE_MAX)
		return mv_fail(EINVAL, "wrapped memory of %zu bytes is larger than SSIZE_MAX", len);
	h = calloc(1, sizeof(*h));
	if (!h)
		return mv_fail(ENOMEM, "cannot allocate a heap exporter");
	h->exp.ops = &wrap_ops;
	h->kind = HEAP_WRAP;
	h->readonly = readonly != 0;
	/* A zero-length wrap of NULL still needs a non-NULL base for views. */
	h->data = mem ? mem : (void *)h;
	h->size = len;
	h->release = release;
	h->ctx = ctx;
	*out = h;
	return 0;
}

int mv_heap_resize(mv_heap *h, size_t len)
{
	void *p;
	long n;

	MV_CHECK_ARG(h, "h");
	if (h->kind != HEAP_BYTEARRAY)
		return mv_fail(ENOTSUP, "%s cannot be resized (only a bytearray can)",
			       h->exp.ops->name);
	if (len > (size_t)SSIZE_MAX)
		return mv_fail(EINVAL, "size %zu is larger than SSIZE_MAX", len);
	/* As PyByteArray_Resize(): the same size is done before exports are looked at. */
	if (len == __atomic_load_n(&h->size, __ATOMIC_RELAXED))
		return 0;
	n = mv_exports_lock(&h->exp);
	if (n)
		/* CPython's exact words; mv_exporter_exports() tells the count. */
		return mv_fail(EBUSY, "Existing exports of data: object cannot be re-sized");
	p = realloc(h->data, len ? len : 1);
	if (!p) {
		mv_exports_unlock(&h->exp);
		return mv_fail(ENOMEM, "cannot resize to %zu bytes; the old contents stay", len);
	}
	if (len > h->size)
		memset((char *)p + h->size, 0, len - h->size);
	h->data = p;
	__atomic_store_n(&h->size, len, __ATOMIC_RELAXED);
	mv_exports_unlock(&h->exp);
	return 0;
}

mv_exporter *mv_heap_exporter(mv_heap *h)
{
	return h ? &h->exp : NULL;
}

void *mv_heap_data(const mv_heap *h)
{
	return h ? h->data : NULL;
}

size_t mv_heap_size(const mv_heap *h)
{
	return h ? h->size : 0;
}

int mv_heap_free(mv_heap *h)
{
	long n;

	if (!h)
		return 0;
	n = mv_exports_lock(&h->exp);
	if (n)
		return mv_fail(EBUSY, "%s has %ld export%s: release its views first",
			       h->exp.ops->name, n, n == 1 ? "" : "s");
	if (h->kind == HEAP_WRAP) {
		if (h->release)
			h->release(h->ctx, h->data == (void *)h ? NULL : h->data, h->size);
	} else {
		free(h->data);
	}
	free(h);
	return 0;
}
