/*
 * lib/view_gather.c - copying a view's items to contiguous memory, in C or Fortran order: the
 * core copy that tobytes, hex, slice assignment and equality all use.
 *
 * Dimensions laid out back to back are merged first, so a contiguous view costs one memcpy and
 * a strided one an inner loop per row; rows of single bytes two apart (a stride-2 slice of
 * bytes) are packed with SIMD: AVX2 for rows in cache where the CPU has it (checked at run
 * time), else SSE2.
 *
 * SPDX-License-Identifier: MIT
 */
#include "view_internal.h"

#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_PACK 1
#endif

/* A walk over a view's items: dimensions in traversal order, merged where possible. */
struct walk {
	int ndim;
	ssize_t itemsize;
	const char *base;
	ssize_t shape[MV_MAXDIM];
	ssize_t strides[MV_MAXDIM];
};

/* Set up @w for @v in C order, or Fortran order when @fortran; returns the number of items. */
static ssize_t walk_init(struct walk *w, const mv_view *v, int fortran)
{
	const ssize_t *shape = view_shape(v), *strides = view_strides(v);
	ssize_t items = 1, span;
	int i, n = 0;

	w->itemsize = v->itemsize;
	w->base = v->buf;
	for (i = 0; i < v->ndim; i++) {
		int d = fortran ? v->ndim - 1 - i : i;

		items *= shape[d];
		if (shape[d] == 1)
			continue; /* a dimension of one item moves nothing */
		/* Merge with the previous dimension when it steps exactly over this one. */
		if (n > 0 && !__builtin_mul_overflow(strides[d], shape[d], &span) &&
		    w->strides[n - 1] == span) {
			w->shape[n - 1] *= shape[d];
			w->strides[n - 1] = strides[d];
			continue;
		}
		w->shape[n] = shape[d];
		w->strides[n] = strides[d];
		n++;
	}
	if (n == 0) { /* a single item (0-dim, or all dimensions of one) */
		w->shape[0] = 1;
		w->strides[0] = v->itemsize;
		n = 1;
	}
	w->ndim = n;
	return items;
}

/*
 * Every other byte of @src into @dst, for the items before the last 16 (at most): mask the high
 * bytes off 16-bit lanes and pack. Returns how many items it copied. The loops stop while
 * i + width < n: a vector ends at src[2 * (i + width) - 1], the byte after the item before
 * i + width, so no load reaches past the last item's address.
 */
static ssize_t pack2_sse2(char *dst, const char *src, ssize_t i, ssize_t n)
{
#ifdef __SSE2__
	const __m128i lo = _mm_set1_epi16(0x00ff);

	for (; i < n - 16; i += 16) { /* i + 16 < n */
		__m128i a = _mm_loadu_si128((const __m128i *)(src + 2 * i));
		__m128i b = _mm_loadu_si128((const __m128i *)(src + 2 * i + 16));

		_mm_storeu_si128((__m128i *)(dst + i),
				 _mm_packus_epi16(_mm_and_si128(a, lo), _mm_and_si128(b, lo)));
	}
#endif
	return i;
}

#ifdef HAVE_AVX2_PACK
/*
 * pack2_sse2() 32 items at a time from item @i: the 256-bit pack works within 128-bit lanes,
 * so the two middle quarters are swapped back. On data in L1 or L2 it is faster than the SSE2
 * loop (1.9x for 4 KiB out, 1.2-1.3x for 64-256 KiB on the project's Zen 5), so its loads
 * start on a 32-byte boundary: from malloc'ed memory (16 bytes past a line) every other one
 * would cross a cache line. From L3 it is not: 4 MiB out took 5% longer than with SSE2 (both
 * are at the speed of the same loads and stores without the packing, "mvbench views" [floor]).
 */
__attribute__((target("avx2"))) static ssize_t pack2_avx2(char *dst, const char *src, ssize_t i,
							   ssize_t n)
{
	const __m256i lo = _mm256_set1_epi16(0x00ff);

	for (; i < n - 32; i += 32) { /* i + 32 < n */
		__m256i a = _mm256_loadu_si256((const __m256i *)(src + 2 * i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(src + 2 * i + 32));
		__m256i p = _mm256_packus_epi16(_mm256_and_si256(a, lo), _mm256_and_si256(b, lo));

		_mm256_storeu_si256((__m256i *)(dst + i), _mm256_permute4x64_epi64(p, 0xd8));
	}
	return i;
}
#endif

/*
 * Rows up to this many items (a 512 KiB span: L2 on the CPUs measured) take the AVX2 loop, where
 * the CPU has it; longer rows come from L3 or memory, where SSE2 is as fast or faster.
 */
#define PACK2_AVX2_MAX (256 * 1024)

/* Every other byte: AVX2 for rows in cache, SSE2, then bytes. */
static void pack2(char *dst, const char *src, ssize_t n)
{
	ssize_t i = 0;

#ifdef HAVE_AVX2_PACK
	if (n > 64 && n <= PACK2_AVX2_MAX && __builtin_cpu_supports("avx2")) {
		/* loads on 32-byte boundaries: bytes until src + 2i is on one (an odd src never is) */
		ssize_t head = ((uintptr_t)src & 1) ? 0 : (ssize_t)((-(uintptr_t)src & 31) / 2);

		for (; i < head; i++)
			dst[i] = src[2 * i];
		i = pack2_avx2(dst, src, i, n);
	}
#endif
	i = pack2_sse2(dst, src, i, n);
	for (; i < n; i++)
		dst[i] = src[2 * i];
}

/* Copy one row of @n items @stride apart into contiguous @dst. */
static void copy_row(char *dst, const char *src, ssize_t n, ssize_t stride, ssize_t itemsize)
{
	ssize_t i;

	if (stride == itemsize) {
		memcpy(dst, src, (size_t)(n * itemsize));
		return;
	}
	switch (itemsize) {
	case 1:
		if (stride == 2) {
			pack2(dst, src, n);
			break;
		}
		for (i = 0; i < n; i++)
			dst[i] = src[i * stride];
		break;
	case 2:
		for (i = 0; i < n; i++)
			memcpy(dst + 2 * i, src + i * stride, 2);
		break;
	case 4:
		for (i = 0; i < n; i++)
			memcpy(dst + 4 * i, src + i * stride, 4);
		break;
	case 8:
		for (i = 0; i < n; i++)
			memcpy(dst + 8 * i, src + i * stride, 8);
		break;
	default:
		for (i = 0; i < n; i++)
			memcpy(dst + i * itemsize, src + i * stride, (size_t)itemsize);
		break;
	}
}

/*
 * Call @row for each innermost row of the walk: its first item's address and item count.
 * Stops when @row returns non-zero and returns that.
 */
typedef int (*row_fn)(void *ctx, const char *src, ssize_t n, ssize_t stride);

static int walk_rows(const struct walk *w, row_fn row, void *ctx)
{
	ssize_t idx[MV_MAXDIM] = { 0 };
	const char *p = w->base;
	int last = w->ndim - 1, d, rc;

	for (d = 0; d < w->ndim; d++)
		if (w->shape[d] == 0)
			return 0;
	for (;;) {
		rc = row(ctx, p, w->shape[last], w->strides[last]);
		if (rc)
			return rc;
		for (d = last - 1; d >= 0; d--) {
			if (++idx[d] < w->shape[d]) {
				p += w->strides[d];
				break;
			}
			p -= w->strides[d] * (w->shape[d] - 1);
			idx[d] = 0;
		}
		if (d < 0)
			return 0;
	}
}

struct gather_ctx {
	char *dst;
	ssize_t itemsize;
};

static int gather_row(void *ctx, const char *src, ssize_t n, ssize_t stride)
{
	struct gather_ctx *g = ctx;

	copy_row(g->dst, src, n, stride, g->itemsize);
	g->dst += n * g->itemsize;
	return 0;
}

void mv_view_gather(const mv_view *v, char *dst, int fortran)
{
	struct walk w;
	struct gather_ctx g = { dst, v->itemsize };

	if ((v->flags & (fortran ? MVF_F : MVF_C))) {
		memcpy(dst, v->buf, (size_t)v->len);
		return;
	}
	walk_init(&w, v, fortran);
	walk_rows(&w, gather_row, &g);
}
