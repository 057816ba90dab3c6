/*
 * lib/shm_room.c - whether a shared-memory object of a given size can be given memory now.
 *
 * Creating or growing a segment reserves its space at once (so that a full tmpfs fails the
 * call, not a later store with SIGBUS), and shared memory is neither overcommitted nor
 * reclaimable without swap. Nothing bounds a memfd but memory itself: a size typed wrong -
 * `mvshm create --memfd --size 100G` on a 24 GiB machine - would make the kernel allocate
 * until the OOM killer runs, and it kills whatever it picks, not necessarily the caller. So
 * before reserving, the size is compared with what is free now: the machine's available
 * memory and free swap (/proc/meminfo), and what the caller's memory cgroup still allows
 * (version 2 and version 1, every level up to the root). This is a guard against a size that
 * cannot fit, not a promise that one which passes will: others allocate too.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "segment_internal.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOM_UNLIMITED UINT64_MAX

/* Read a small text file into @buf (NUL-terminated); -1 if it cannot be read. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -1;
	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* The value after "@key:" in /proc/meminfo, in bytes; 0 when absent. */
static uint64_t meminfo_bytes(const char *info, const char *key)
{
	const char *p = strstr(info, key);

	if (!p)
		return 0;
	return strtoull(p + strlen(key), NULL, 10) * 1024u;
}

/* A number read from @dir/@file, or ROOM_UNLIMITED for "max", a missing file or garbage. */
static uint64_t cgroup_value(const char *dir, const char *file)
{
	char path[4096], buf[64], *end;
	unsigned long long v;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path) ||
	    read_small(path, buf, sizeof(buf)) <= 0)
		return ROOM_UNLIMITED;
	v = strtoull(buf, &end, 10);
	if (end == buf)
		return ROOM_UNLIMITED; /* "max" */
	return (uint64_t)v;
}

/*
 * The least room any level of the cgroup at @base + @path leaves, from the level's limit
 * file and usage file; version 1's "no limit" is a page-rounded LONG_MAX, taken as none.
 */
static uint64_t cgroup_room(const char *base, const char *path, const char *limit_file,
			    const char *usage_file)
{
	char dir[4096];
	uint64_t room = ROOM_UNLIMITED;
	size_t baselen = strlen(base);

	if ((size_t)snprintf(dir, sizeof(dir), "%s%s", base, path) >= sizeof(dir))
		return ROOM_UNLIMITED;
	for (;;) {
		uint64_t limit = cgroup_value(dir, limit_file), usage;
		char *slash;

		if (limit < ((uint64_t)1 << 62)) {
			usage = cgroup_value(dir, usage_file);
			if (usage == ROOM_UNLIMITED)
				usage = 0;
			if (limit - (usage < limit ? usage : limit) < room)
				room = limit - (usage < limit ? usage : limit);
		}
		slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < baselen)
			break;
		*slash = '\0';
	}
	return room;
}

/* What the caller's memory cgroups (v2 "0::/path", v1 "N:...memory...:/path") still allow. */
static uint64_t cgroups_room(void)
{
	char buf[4096], *line, *save = NULL;
	uint64_t room = ROOM_UNLIMITED;

	if (read_small("/proc/self/cgroup", buf, sizeof(buf)) <= 0)
		return ROOM_UNLIMITED;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctl = strchr(line, ':'), *path;
		uint64_t r = ROOM_UNLIMITED;

		if (!ctl || !(path = strchr(ctl + 1, ':')))
			continue;
		*path++ = '\0';
		ctl++;
		if (strcmp(line, "0") == 0 && *ctl == '\0') {
			r = cgroup_room("/sys/fs/cgroup", path, "memory.max", "memory.current");
		} else {
			char *name, *csave = NULL;

			for (name = strtok_r(ctl, ",", &csave); name; name = strtok_r(NULL, ",", &csave))
				if (strcmp(name, "memory") == 0)
					r = cgroup_room("/sys/fs/cgroup/memory", path,
							"memory.limit_in_bytes", "memory.usage_in_bytes");
		}
		if (r < room)
			room = r;
	}
	return room;
}

int mv_shm_room_check(size_t bytes, const char *name)
{
	char info[8192];
	uint64_t avail = ROOM_UNLIMITED, cg;

	if (read_small("/proc/meminfo", info, sizeof(info)) > 0 && strstr(info, "MemAvailable:"))
		avail = meminfo_bytes(info, "MemAvailable:") + meminfo_bytes(info, "SwapFree:");
	if ((uint64_t)bytes > avail)
		return mv_fail(ENOSPC, "%s: %zu bytes would not fit in memory: about %llu are "
				       "available (RAM and swap), and reserving more would start "
				       "the OOM killer", name, bytes, (unsigned long long)avail);
	cg = cgroups_room();
	if ((uint64_t)bytes > cg)
		return mv_fail(ENOSPC, "%s: %zu bytes would not fit in this process's memory "
				       "cgroup: about %llu are left under its limit", name, bytes,
			       (unsigned long long)cg);
	return 0;
}
