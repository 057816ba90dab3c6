/*
 * memview/view.h - views with CPython 3.13 memoryview semantics.
 *
 * A view is a small struct the caller owns (on the stack, in an array). Deriving a view - a
 * slice, a cast, a readonly copy - fills another caller-owned struct and allocates nothing for
 * ndim <= MV_VIEW_INLINE_NDIM. The views derived from one another form a *family* that shares
 * one export of the underlying exporter (CPython's managed buffer); that export is released when
 * the last view of the family is released.
 *
 * A view is itself an exporter: mv_buffer_get(&rec, mv_view_exporter(v), flags) counts on the
 * view, and mv_view_release() of a view with exports fails with -EBUSY ("memoryview has 1
 * exported buffer"). After release every operation returns -EBADF ("operation forbidden on
 * released memoryview object"); release is idempotent. A zero-initialised mv_view counts as
 * released.
 *
 * Do not copy an mv_view struct: derive a new one (mv_view_from(), mv_view_toreadonly()). Do not
 * move a view that has exports.
 *
 * Errors are the vocabulary of memview/error.h with CPython's messages in mv_errmsg().
 *
 * Beyond CPython (extensions, documented as such): byte-order and standard-size prefixes
 * (< > ! =) in formats and casts; multi-dimensional slicing (mv_view_slice_nd()); all formats in
 * every operation. Suboffsets (PIL-style indirect arrays) are not supported: a view of an
 * exporter that gives them is refused with -ENOTSUP.
 *
 * Thread-safety: distinct views may be used from different threads at once, also views of one
 * family (the family's count is atomic). One view must not be used by two threads at once when
 * one of them derives from, releases, or writes through it. Reading memory through views while
 * another thread writes it is the caller's synchronisation problem, as in C.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_VIEW_H
#define MEMVIEW_VIEW_H

#include "memview/buffer.h"
#include "memview/format.h"

MV_BEGIN_DECLS

/* Dimensions stored inside the struct; more spill to one heap allocation. */
#define MV_VIEW_INLINE_NDIM 8

struct mv_managed;

/* The view. Fields are private: use the accessors below. */
typedef struct mv_view {
	mv_exporter exporter;      /* a view is an exporter: its own export count */
	struct mv_managed *mbuf;   /* the family's shared export; NULL when released */
	char *buf;                 /* address of the first item (index 0,...,0) */
	ssize_t len;               /* nbytes */
	ssize_t itemsize;
	const char *format;        /* static string or the exporter's; never freed by the view */
	mv_format fmt;             /* parsed format; fmt.code == 0 for a format memview cannot parse */
	int ndim;
	int readonly;
	unsigned flags;            /* contiguity bits, private */
	int64_t hash;              /* cached by mv_view_hash(), valid with its flag bit */
	ssize_t *dims_heap;        /* shape then strides when ndim > MV_VIEW_INLINE_NDIM */
	ssize_t dims[2 * MV_VIEW_INLINE_NDIM]; /* shape then strides, inline */
} mv_view;

/* A slice, Python's start:stop:step; MV_NONE for an omitted part. */
typedef struct mv_slice {
	ssize_t start, stop, step;
} mv_slice;

/* ------------------------------------------------------------------ creating, releasing */

/*
 * mv_view_from - memoryview(obj): a view of everything @exp exports.
 *
 * @out:   the new view; written only on success.
 * @exp:   any exporter. If it is a view's exporter, the new view joins that view's family
 *         (CPython's memoryview(memoryview)) instead of taking an export from it.
 * @flags: 0 for CPython's request (MV_BUF_FULL_RO), or MV_BUF_* flags; MV_BUF_WRITABLE makes
 *         the call fail with -EROFS on readonly memory.
 *
 * Returns 0, -EINVAL, -EROFS, -EBADF (released view), -ENOTSUP (suboffsets), -ENOMEM, or what
 * the exporter returns.
 */
MV_EXPORT int mv_view_from(mv_view *out, mv_exporter *exp, unsigned flags);

/*
 * mv_view_release - m.release(). Idempotent. Returns 0, -EBUSY while buffers taken from this
 * view are held ("memoryview has N exported buffers"), -EINVAL for NULL. Releasing the last view
 * of a family releases the family's export.
 */
MV_EXPORT int mv_view_release(mv_view *v);

/* For __attribute__((cleanup)): releases *v, ignoring the result. */
MV_EXPORT void mv_view_cleanup(mv_view *v);

#if defined(__GNUC__) || defined(__clang__)
/*
 * MV_VIEW_SCOPED - declares a view that is released when it goes out of scope, the analogue of
 * "with memoryview(x) as m:". Zero-initialised, so an early return before it is filled is safe:
 *     MV_VIEW_SCOPED(m);
 *     if (mv_view_from(&m, exp, 0) < 0) return -1;
 */
#ifdef __cplusplus
#define MV_VIEW_SCOPED(name) mv_view name __attribute__((cleanup(mv_view_cleanup))) = {}
#else
#define MV_VIEW_SCOPED(name) \
	mv_view name __attribute__((cleanup(mv_view_cleanup))) = { .mbuf = 0 }
#endif
#endif

/* mv_view_exporter - the view as an exporter, for mv_buffer_get(). Never fails. */
MV_EXPORT mv_exporter *mv_view_exporter(mv_view *v);

/* ------------------------------------------------------------------ deriving views */

/*
 * mv_view_slice - m[start:stop:step] on the first dimension. MV_NONE for omitted parts.
 * Returns 0, -EBADF, -EINVAL ("slice step cannot be zero"; 0-dim: "invalid indexing of 0-dim
 * memory").
 */
MV_EXPORT int mv_view_slice(mv_view *out, const mv_view *v, ssize_t start, ssize_t stop,
			    ssize_t step);

/*
 * mv_view_slice_nd - m[s0, s1, ...] with one slice per leading dimension (@n <= ndim).
 * An extension: CPython raises NotImplementedError. Returns as mv_view_slice(), and -EINVAL
 * when @n > ndim.
 */
MV_EXPORT int mv_view_slice_nd(mv_view *out, const mv_view *v, const mv_slice *slices, int n);

/*
 * mv_view_cast - m.cast(format) when @ndim is MV_CAST_NO_SHAPE (@shape ignored), or
 * m.cast(format, shape) with @ndim entries of @shape (ndim 0: a 0-dim view).
 * Follows every CPython rule (C-contiguous source, one side a byte format, length a multiple of
 * the itemsize, product(shape) * itemsize == nbytes, 1D -> ND or ND -> 1D, no zeros in shape,
 * at most 64 dimensions), with CPython's messages. Returns 0, -EBADF, -EINVAL, -EOVERFLOW.
 */
#define MV_CAST_NO_SHAPE (-1)
MV_EXPORT int mv_view_cast(mv_view *out, const mv_view *v, const char *format,
			   const ssize_t *shape, int ndim);

/* mv_view_toreadonly - m.toreadonly(). Returns 0 or -EBADF. */
MV_EXPORT int mv_view_toreadonly(mv_view *out, const mv_view *v);

/* ------------------------------------------------------------------ attributes */

/* Each returns the attribute, or -EBADF for a released view (NULL for the pointer ones). */
MV_EXPORT const char *mv_view_format(const mv_view *v);
MV_EXPORT ssize_t mv_view_itemsize(const mv_view *v);
MV_EXPORT ssize_t mv_view_nbytes(const mv_view *v);
MV_EXPORT int mv_view_ndim(const mv_view *v);
/* shape and strides: ndim entries; for a 0-dim view a pointer that must not be read. */
MV_EXPORT const ssize_t *mv_view_shape(const mv_view *v);
MV_EXPORT const ssize_t *mv_view_strides(const mv_view *v);
MV_EXPORT int mv_view_readonly(const mv_view *v);
MV_EXPORT int mv_view_c_contiguous(const mv_view *v);
MV_EXPORT int mv_view_f_contiguous(const mv_view *v);
MV_EXPORT int mv_view_contiguous(const mv_view *v);
/* m.obj: the exporter whose export the family holds. */
MV_EXPORT mv_exporter *mv_view_obj(const mv_view *v);
/* Address of the first item, for I/O. NULL when released. */
MV_EXPORT void *mv_view_ptr(const mv_view *v);
/* 1 if released, 0 if not. */
MV_EXPORT int mv_view_released(const mv_view *v);

/* len(m): shape[0]; -EINVAL for 0-dim ("0-dim memory has no length"), -EBADF. */
MV_EXPORT ssize_t mv_view_len(const mv_view *v);

/* ------------------------------------------------------------------ items */

/*
 * mv_view_get_item - m[i] (negative i counts from the end).
 * Returns 0, -EBADF, -ERANGE ("index out of bounds on dimension 1"), -EINVAL (0-dim),
 * -ENOTSUP (ndim > 1: "multi-dimensional sub-views are not implemented"; unsupported format).
 */
MV_EXPORT int mv_view_get_item(mv_value *out, const mv_view *v, ssize_t i);

/*
 * mv_view_get_multi - m[i0, i1, ...] with @n indices; @n == 0 is m[()] (the item of a 0-dim view).
 * Returns as mv_view_get_item(); -ENOTSUP when @n < ndim ("sub-views are not implemented"),
 * -EINVAL when @n > ndim.
 */
MV_EXPORT int mv_view_get_multi(mv_value *out, const mv_view *v, const ssize_t *idx, int n);

/* m[i] = val and m[i0, ...] = val; CPython's checks; -EROFS on readonly views. */
MV_EXPORT int mv_view_set_item(mv_view *v, ssize_t i, const mv_value *val);
MV_EXPORT int mv_view_set_multi(mv_view *v, const ssize_t *idx, int n, const mv_value *val);

/*
 * mv_view_assign_slice - m[start:stop:step] = src for a 1-D @v. @src must have the same
 * format, itemsize and shape as the slice ("memoryview assignment: lvalue and rvalue have
 * different structures"); overlapping memory is handled. Returns 0, -EBADF, -EROFS, -EINVAL,
 * -ENOTSUP (ndim != 1).
 */
MV_EXPORT int mv_view_assign_slice(mv_view *v, ssize_t start, ssize_t stop, ssize_t step,
				   const mv_view *src);

/* ------------------------------------------------------------------ whole-view output */

/*
 * mv_view_tobytes - m.tobytes(order) into @dst: @order 'C' (or 0), 'F' or 'A'.
 * Returns nbytes; with @dst NULL only returns nbytes. -ENOBUFS when @cap < nbytes, -EINVAL
 * ("order must be 'C', 'F' or 'A'"), -EBADF.
 */
MV_EXPORT ssize_t mv_view_tobytes(void *dst, size_t cap, const mv_view *v, char order);

/*
 * mv_view_hex - m.hex(sep, bytes_per_sep) into @dst, NUL-terminated. @sep NULL for no
 * separator, else exactly one ASCII character ("sep must be length 1.", "sep must be ASCII.");
 * @bytes_per_sep > 0 groups from the right, < 0 from the left, 0 no separators.
 * Returns the length without the NUL; with @dst NULL only the length. -ENOBUFS when @cap is
 * less than length + 1.
 */
MV_EXPORT ssize_t mv_view_hex(char *dst, size_t cap, const mv_view *v, const char *sep,
			      int bytes_per_sep);

/*
 * The tolist visitor: called once per item in C order with the item's index (@ndim entries)
 * and value. Return 0 to go on; anything else stops the walk and is returned by mv_view_visit.
 */
typedef int (*mv_visit_fn)(void *ctx, const ssize_t *index, int ndim, const mv_value *val);

/*
 * mv_view_visit - m.tolist() as a walk over typed items (and iteration, for 1-D views).
 * Returns 0, the visitor's non-zero result, -EBADF, -ENOTSUP (unsupported format).
 */
MV_EXPORT int mv_view_visit(const mv_view *v, mv_visit_fn fn, void *ctx);

/*
 * mv_view_tolist_values - m.tolist() flattened in C order into @dst (@count entries).
 * Returns the number of items; with @dst NULL only the number. -ENOBUFS when @count is short.
 */
MV_EXPORT ssize_t mv_view_tolist_values(mv_value *dst, size_t count, const mv_view *v);

/*
 * mv_view_tolist_as - m.tolist() flattened in C order into a C array of type @ctype:
 * 'q' (int64_t), 'Q' (uint64_t) or 'd' (double). Integers that do not fit, floats into an
 * integer array and bytes give -ERANGE / -EINVAL and nothing is written past the bad item.
 * Returns the number of items; -ENOBUFS when @count is short.
 */
MV_EXPORT ssize_t mv_view_tolist_as(void *dst, size_t count, const mv_view *v, char ctype);

/* Writer for the text rendering: returns 0, or non-zero to stop (returned to the caller). */
typedef int (*mv_write_fn)(void *ctx, const char *s, size_t n);

/*
 * mv_view_tolist_write - repr(m.tolist()) exactly as Python prints it, streamed to @write.
 * Returns 0, the writer's non-zero result, -EBADF, -ENOTSUP.
 */
MV_EXPORT int mv_view_tolist_write(const mv_view *v, mv_write_fn write, void *ctx);

/*
 * mv_view_tolist_text - repr(m.tolist()) into a malloc'ed NUL-terminated string in *@out, which
 * the caller frees. Returns its length, -ENOMEM, -EBADF, -ENOTSUP.
 */
MV_EXPORT ssize_t mv_view_tolist_text(char **out, const mv_view *v);

/* ------------------------------------------------------------------ comparing, hashing */

/*
 * mv_view_equal - m == other: 1 or 0. Items are compared as values after each side is read by
 * its own format (an 'i' view equals a 'q' view of the same numbers; 'c' never equals a number;
 * NaN is unequal to itself, so a view holding NaN is unequal to itself). A released view is
 * equal only to itself (the same pointer). Returns 1, 0, -EINVAL for NULL.
 */
MV_EXPORT int mv_view_equal(const mv_view *a, const mv_view *b);

/* mv_view_equal_bytes - m == bytes(data[:len]). 1, 0, -EINVAL. */
MV_EXPORT int mv_view_equal_bytes(const mv_view *v, const void *data, size_t len);

/*
 * mv_view_hash - hash(m) for readonly views of formats B, b, c: the hash of m.tobytes() by
 * mv_view_hash_bytes(). -EINVAL for writable views ("cannot hash writable memoryview object"), other
 * formats ("memoryview: hashing is restricted to formats 'B', 'b' or 'c'") and views of
 * exporters whose memory may change ("unhashable type: 'bytearray'"), -EBADF. As in CPython
 * the hash is cached in the view, so a view hashed before its release still hashes after it.
 */
MV_EXPORT int mv_view_hash(int64_t *out, mv_view *v);

/*
 * mv_view_hash_bytes - the hash memview uses: exactly CPython's hash(bytes) when the interpreter
 * runs with PYTHONHASHSEED=0 (SipHash-1-3 with an all-zero key; 0 for empty input; -1 maps to
 * -2), so it can be checked against Python and is stable across runs and machines.
 */
MV_EXPORT int64_t mv_view_hash_bytes(const void *data, size_t len);

MV_END_DECLS

#endif /* MEMVIEW_VIEW_H */
