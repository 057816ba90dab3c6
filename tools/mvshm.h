/*
 * tools/mvshm.h - what the commands of mvshm(1) share: the parsed command line. The commands
 * live in mvshm.c, but for gc (mvshm_gc.c), which works on every object in /dev/shm through the
 * survey lsshm prints (shmscan.c). mvshm.c calls mvshm_gc.c, never the other way round: what
 * both need of names (shm_name) is shmscan.c's.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_TOOLS_MVSHM_H
#define MEMVIEW_TOOLS_MVSHM_H

#include <stdint.h>

/* Options, and which commands take them (a bit per option in each command's mask). */
enum {
	O_SIZE = 1 << 0,
	O_FORMAT = 1 << 1,
	O_SHAPE = 1 << 2,
	O_MODE = 1 << 3,
	O_MEMFD = 1 << 4,
	O_SEAL = 1 << 5,
	O_JSON = 1 << 6,
	O_RAW = 1 << 7,
	O_READONLY = 1 << 8,
	O_FORCE = 1 << 9,
	O_DRY_RUN = 1 << 10,
	O_OLDER_THAN = 1 << 11,
	O_YES = 1 << 12,
	O_ALL_VISIBLE = 1 << 13,
};

/* What the command line says, once parsed. */
struct args {
	const char *cmdname;  /* the command word, "create" */
	char **operands;      /* the words after the command word, before "--" */
	int noperands;
	char **command;       /* after "--": COMMAND [ARGS...], or NULL */
	unsigned given;       /* O_* options present */
	uint64_t size;
	const char *format;
	const char *shape_arg;
	unsigned mode;
	unsigned seals;
	uint64_t older_than;  /* gc: seconds */
	int verbose;
};

/* cmd_gc - "mvshm gc": remove stale objects from /dev/shm. Returns the exit status. */
int cmd_gc(struct args *a);

#endif /* MEMVIEW_TOOLS_MVSHM_H */
