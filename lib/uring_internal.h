/*
 * lib/uring_internal.h - what lib/uring.c, lib/uring_init.c and lib/uring_mapping.c share (not
 * installed).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MV_URING_INTERNAL_H
#define MV_URING_INTERNAL_H

#include "internal.h"

/* What /proc/self/maps says about a range of memory. */
struct map_check {
	int known;         /* 1 if /proc/self/maps was read */
	int gap;           /* part of the range is not mapped */
	int readonly;      /* part of the range is mapped without write permission */
	int private_shm;   /* part of it is a MAP_PRIVATE mapping of shm/memfd */
	int shared_file;   /* part of it is a MAP_SHARED mapping of a file that is not shm */
	int shared;        /* all of it is a MAP_SHARED mapping of shm, memfd or shared anon */
};

/* Fill @mc from /proc/self/maps for @len bytes at @addr (lib/uring_mapping.c). */
MV_HIDDEN void mv_uring_scan_maps(const void *addr, size_t len, struct map_check *mc);
/* Refuse, with a message, what the kernel would refuse or accept with a surprise. */
MV_HIDDEN int mv_uring_check_mapping(const struct map_check *mc, unsigned index,
				     const void *addr, size_t len);

/* Fail with -ENOMEM for @what, naming RLIMIT_MEMLOCK and how to raise it when it applies. */
MV_HIDDEN int mv_uring_explain_enomem(const char *what);
/* The running kernel's release (uname -r) in @buf. */
MV_HIDDEN const char *mv_uring_kernel_release(char *buf, size_t cap);

#endif
