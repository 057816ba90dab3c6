/*
 * util/size.c - byte counts as the benchmarks name them: "64 B", "16 KiB" (see mvutil.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>

#include "mvutil.h"

const char *mvu_size_name(char *buf, size_t cap, uint64_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	uint64_t v = size;
	int u = 0;

	while (v >= 1024 && v % 1024 == 0 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, "%llu %s", (unsigned long long)v, unit[u]);
	return buf;
}
