/*
 * lib/uring_internal.h - what lib/uring.c and lib/uring_init.c share (not installed).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MV_URING_INTERNAL_H
#define MV_URING_INTERNAL_H

#include <stddef.h>

/* Fail with -ENOMEM for @what, naming RLIMIT_MEMLOCK and how to raise it when it applies. */
int uring_explain_enomem(const char *what);
/* The running kernel's release (uname -r) in @buf. */
const char *uring_kernel_release(char *buf, size_t cap);

#endif
