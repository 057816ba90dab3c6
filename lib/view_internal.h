/*
 * lib/view_internal.h - what the view modules (view.c, view_output.c, view_compare.c) share.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_VIEW_INTERNAL_H
#define MEMVIEW_VIEW_INTERNAL_H

#include "internal.h"

/* v->flags bits, CPython's _Py_MEMORYVIEW_* */
#define MVF_C 0x1u      /* C-contiguous */
#define MVF_F 0x2u      /* Fortran-contiguous */
#define MVF_SCALAR 0x4u /* 0-dim */
#define MVF_HASHED 0x8u /* v->hash holds the cached hash */

static inline ssize_t *view_shape(const mv_view *v)
{
	return v->dims_heap ? v->dims_heap : (ssize_t *)v->dims;
}

static inline ssize_t *view_strides(const mv_view *v)
{
	return v->dims_heap ? v->dims_heap + v->ndim : (ssize_t *)v->dims + MV_VIEW_INLINE_NDIM;
}

#define CPY_RELEASED_MSG "operation forbidden on released memoryview object"

#define CHECK_RELEASED(v)                                    \
	do {                                                 \
		if (unlikely(!(v)->mbuf))                    \
			return mv_fail(EBADF, CPY_RELEASED_MSG); \
	} while (0)

/* CPython's adjust_fmt: element access needs a format memview understands. */
MV_HIDDEN int mv_view_check_format(const mv_view *v);

/* Byte formats: B, b, c with any prefix. */
static inline int fmt_is_byte(const mv_format *f)
{
	return f->code == 'B' || f->code == 'b' || f->code == 'c';
}

/*
 * Copy the view's items in C order (or F order when @fortran) to contiguous @dst. Handles any
 * strides, negative ones included.
 */
MV_HIDDEN void mv_view_gather(const mv_view *v, char *dst, int fortran);

#endif
