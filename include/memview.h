/*
 * memview.h - the umbrella header: Python memoryview-style views for C on Linux.
 * See memview(7). Includes the module headers and nothing else.
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
