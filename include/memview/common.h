/*
 * memview/common.h - macros and types every memview header shares.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_COMMON_H
#define MEMVIEW_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#if defined(__GNUC__) || defined(__clang__)
#define MV_EXPORT __attribute__((visibility("default")))
#else
#define MV_EXPORT
#endif

#ifdef __cplusplus
#define MV_BEGIN_DECLS extern "C" {
#define MV_END_DECLS }
#else
#define MV_BEGIN_DECLS
#define MV_END_DECLS
#endif

/*
 * MV_SIZED_INIT(type) - the initializer of a versioned struct (one that starts with
 * "size_t size"): size set to sizeof(type), every other field zero. C gets a designated
 * initializer; C++ before C++20 has none, so it gets a value-initialised temporary.
 */
#ifdef __cplusplus
#define MV_SIZED_INIT(type) ([] { type v_{}; v_.size = sizeof(type); return v_; }())
#else
#define MV_SIZED_INIT(type) { .size = sizeof(type) }
#endif

/* The most dimensions a view may have (CPython's PyBUF_MAX_NDIM). */
#define MV_MAXDIM 64

/* "Argument absent", for slice bounds: the analogue of Python's None in m[a:b:c]. */
#define MV_NONE (-(ssize_t)(SIZE_MAX >> 1) - 1)

#endif /* MEMVIEW_COMMON_H */
