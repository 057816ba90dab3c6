/*
 * memview.h - the umbrella header: Python memoryview-style views for C on Linux.
 * See memview(7). Includes the module headers and nothing else.
 *
 * The API's style, the same in every module:
 *   - Names: every function, type and macro starts with mv_ / MV_, then the module (view,
 *     buffer, format, heap, segment, chan, uring), then a verb: mv_segment_create,
 *     mv_chan_get_stats. Every public type is a typedef of a struct with the same tag
 *     (mv_segment_info is "struct mv_segment_info"); opaque handles are typedefs of incomplete
 *     structs (mv_segment, mv_chan, mv_uring, mv_heap).
 *   - Arguments: outputs first (libgit2's order): the object or struct filled, or a destination
 *     buffer and its capacity; then the object operated on; then the inputs. So
 *     mv_view_slice(&out, &v, ...), mv_segment_get_info(&info, seg),
 *     mv_view_tobytes(dst, cap, &v, 'C'). A function that only acts on an object takes it first
 *     (mv_segment_resize(seg, n)). An output is written only on success.
 *   - Results: 0, or a non-negative count or size, on success; a negative errno on failure, with
 *     a one-line message for mv_errmsg(). Nothing prints, aborts or sets errno. The errno names
 *     are those of memview/error.h (ENOTSUP, never its Linux alias EOPNOTSUPP).
 *   - Releasing: every release, free and close accepts NULL and then does nothing, as free()
 *     does, and is idempotent where a handle outlives it (views, buffer records).
 *   - Callbacks that give back lent memory have one type, mv_release_fn.
 *   - Versioned structs: every struct the library fills or reads from the caller (options,
 *     info, stats, results, exporter operations) starts with "size_t size", which the caller
 *     sets to the sizeof it was compiled with: start from the type's *_INIT macro
 *     (MV_SEGMENT_OPTS_INIT, MV_CHAN_STATS_INIT, ...). Later versions add fields at the end
 *     and read or write only as far as the caller's size goes. Value types the caller keeps
 *     (mv_view, mv_buffer, mv_format, mv_value, mv_slice, mv_exporter) have a fixed size for the
 *     life of the soname: growing one is an ABI break (a new soname).
 *   - Limits are named (MV_MAXDIM, MV_SEGMENT_MAX_HOLDERS, MV_CHAN_MAX_CONSUMERS, ...).
 *   - ABI: the library exports exactly the functions declared MV_EXPORT, listed by name in one
 *     version node per release (MEMVIEW_1.0, ...); the soname changes when one changes.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_H
#define MEMVIEW_H

#include "memview/common.h"
#include "memview/error.h"
#include "memview/buffer.h"
#include "memview/format.h"
#include "memview/view.h"
#include "memview/heap.h"
#include "memview/segment.h"
#include "memview/chan.h"
#include "memview/uring.h"

#endif /* MEMVIEW_H */
