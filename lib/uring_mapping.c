/*
 * lib/uring_mapping.c - what a range of memory is, as /proc/self/maps tells it, for the io_uring
 * module: the kernel pins registered buffers for writing and registers shared memory only on
 * some kernels, so a range is judged (mapped? writable? MAP_PRIVATE over shm? a shared file?)
 * before the kernel is asked, and a refusal can be explained.
 *
 * SPDX-License-Identifier: MIT
 */
#include "uring_internal.h"

#include <stdio.h>
#include <string.h>


static int path_is_shm(const char *path)
{
	return strncmp(path, "/dev/shm/", 9) == 0 || strncmp(path, "/memfd:", 7) == 0 ||
	       strncmp(path, "/SYSV", 5) == 0 || strncmp(path, "/dev/zero", 9) == 0;
}

void mv_uring_scan_maps(const void *addr, size_t len, struct map_check *mc)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len, cursor = lo;
	char line[4096];
	int all_shared = 1;
	FILE *f;

	memset(mc, 0, sizeof(*mc));
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	mc->known = 1;
	while (cursor < hi && fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		char perms[5], *path;
		int n = 0;

		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &n) < 3)
			continue;
		if (end <= cursor || start >= hi)
			continue;
		if (start > cursor)
			mc->gap = 1;
		cursor = end;
		path = n > 0 ? line + n : line + strlen(line);
		path[strcspn(path, "\n")] = '\0';
		if (perms[1] != 'w')
			mc->readonly = 1;
		if (perms[3] == 'p' && path_is_shm(path))
			mc->private_shm = 1;
		if (perms[3] == 's' && path[0] == '/' && !path_is_shm(path))
			mc->shared_file = 1;
		if (perms[3] != 's' || !path_is_shm(path))
			all_shared = 0;
	}
	fclose(f);
	if (cursor < hi)
		mc->gap = 1;
	mc->shared = all_shared && !mc->gap;
}

/* Refuse what the kernel would refuse, or would accept with a surprise, before asking it. */
int mv_uring_check_mapping(const struct map_check *mc, unsigned index, const void *addr,
			 size_t len)
{
	if (!mc->known)
		return 0;
	if (mc->gap)
		return mv_fail(EFAULT, "uring slot %u: %zu bytes at %p are not all mapped", index,
			       len, addr);
	if (mc->readonly)
		return mv_fail(EROFS, "uring slot %u: memory at %p is mapped without write "
				      "permission, and the kernel pins registered buffers for writing "
				      "(register writable memory readonly instead)", index, addr);
	if (mc->private_shm)
		return mv_fail(EINVAL, "uring slot %u: memory at %p is a MAP_PRIVATE mapping of "
				       "shared memory: reads would land in private copy-on-write "
				       "pages, never in the shared object; map it MAP_SHARED", index,
			       addr);
	return 0;
}
