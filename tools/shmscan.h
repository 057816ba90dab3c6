/*
 * tools/shmscan.h - every POSIX shared-memory object in /dev/shm, what it holds (a memview header
 * or not) and whether anything still uses it: the survey lsshm(1) prints and `mvshm gc` acts on,
 * and the re-check gc makes immediately before each removal.
 *
 * A segment is *in use* when a live process maps it, holds it open (a descriptor, or a fixed file
 * of an io_uring instance), holds a lock on it (memview's export lock among others), holds a live
 * memview holder slot in it, or when the kernel holds it (a loop device). It is *stale* when none
 * of that is so and every process could be inspected; when some could not (another user's, with
 * /proc's ptrace rules or hidepid=), "nothing seen" proves nothing and the verdict is *unknown*.
 *
 * With SHM_SURVEY_MEMFD the survey also lists the memfds processes use (found by the /proc scan,
 * reached through /proc/PID/fd/N or /proc/PID/map_files/START-END), judged as objects of /dev/shm
 * are. A memfd is never stale: it exists only while something holds it, and has no name to
 * remove, so `mvshm gc` (which never asks for them) and shm_recheck_unlink() leave them alone.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_TOOLS_SHMSCAN_H
#define MEMVIEW_TOOLS_SHMSCAN_H

#include <stdint.h>
#include <sys/stat.h>

#include "memview.h"
#include "procscan.h"

/* Where POSIX shared memory lives on Linux (glibc's shm_open(3)). */
#define SHM_DIR "/dev/shm"

/* What the start of an object says. */
enum shm_kind {
	SHM_PLAIN,      /* no memview header: another program's object */
	SHM_MEMVIEW,    /* a memview header that passed every check */
	SHM_BAD,        /* memview's magic, but the header failed a check (note says which) */
	SHM_UNREADABLE, /* could not be read (note says why) */
};

enum shm_verdict { SHM_IN_USE, SHM_STALE, SHM_UNKNOWN };

struct shm_seg {
	char *name;                  /* "/NAME", as shm_open(3) and mvshm take it; "memfd:NAME" */
	char *path;                  /* SHM_DIR "/NAME"; a memfd's /proc path (ps_memfd.reach, NULL
					if none is left) */
	int is_memfd;
	int no_stat;                 /* a memfd whose path could not be followed: only st_dev and
					st_ino are known */
	struct stat st;
	int is_sem;                  /* a POSIX semaphore: "sem.NAME" */
	enum shm_kind kind;
	char *note;                  /* SHM_BAD, SHM_UNREADABLE: why */
	int gone;                    /* a memfd whose last holder let go, or an object whose name
					was removed, during the scan: not reported */
	mv_segment_info info; /* SHM_MEMVIEW */
	mv_segment_holder holders[MV_SEGMENT_MAX_HOLDERS];
	size_t nholders;
	size_t live_holders;
	long exports;                /* exports the live holders recorded */
	struct ps_file file;         /* its uses, from ps_scan() */
	enum shm_verdict verdict;
	char why[480];               /* the verdict's reason, one line */
};

struct shm_survey {
	struct shm_seg *segs;        /* sorted by name */
	size_t nsegs;
	struct ps_scan scan;
	size_t others;               /* entries of SHM_DIR that are not regular files */
	size_t unreadable;           /* objects whose start could not be read */
};

/* Flags for shm_survey(). */
#define SHM_SURVEY_URING PS_SCAN_URING /* also keep every process's io_uring instances */
#define SHM_SURVEY_MEMFD PS_SCAN_MEMFD /* also list the memfds in use (not with @only) */
#define SHM_SURVEY_ALL_VISIBLE PS_SCAN_ALL_VISIBLE /* the caller says that every process that
						   uses /dev/shm is in this PID namespace */

/*
 * shm_survey - list SHM_DIR (or only the object @only, "/NAME", when not NULL), read each
 * object's header, scan /proc once for all of them and judge each. Sorted by name: the memfds
 * ("memfd:NAME", several may share one) after the objects of SHM_DIR, by inode among equals.
 * Returns 0, -ENOENT when @only does not exist, -EINVAL when it is not a regular file (a FIFO,
 * a directory...), or another -errno when SHM_DIR or /proc cannot be read; a message for the
 * failure is in @err.
 *
 * Every object is opened as safe_open() opens it (safeopen.h): only a regular file is opened at
 * all, a memfd through its /proc path only while it still leads to the memfd the scan found, and
 * what is read is read from the descriptor that was checked.
 */
int shm_survey(struct shm_survey *out, const char *only, unsigned flags, char *err, size_t errlen);

void shm_survey_free(struct shm_survey *sv);

/*
 * shm_recheck_unlink - re-check @seg from scratch and remove its name if it is still stale: the
 * same object (device and inode), no lock on it - taking a write lock on all of it, which also
 * keeps memview processes from taking new exports until the name is gone -, no live memview
 * holder, and no process mapping it or holding it open in a fresh scan of /proc, the scanner
 * excluded. With @dry_run, everything but the removal (the lock is taken and dropped). A memfd is
 * always kept: it has no name to remove. @flags: SHM_SURVEY_ALL_VISIBLE as for shm_survey().
 * Returns 1 when it was (or would be) removed, 0 when it was kept, -errno when the check or the
 * removal failed; @why says why in each case.
 */
int shm_recheck_unlink(const struct shm_seg *seg, int dry_run, unsigned flags, char *why,
		       size_t len);

/* What a set of objects takes: how many, and the bytes allocated to them (st_blocks). */
struct shm_usage {
	size_t count;
	uint64_t used;
};

/*
 * The sums lsshm prints under its table and, per owner, with --global: one place that says what
 * an object costs and which class it is in, so that the two cannot disagree.
 */
struct shm_totals {
	struct shm_usage all;     /* every object added */
	struct shm_usage memview; /* memview segments (SHM_MEMVIEW) */
	struct shm_usage other;   /* the rest: no memview header, a bad one, or unreadable */
	struct shm_usage stale;   /* of all: stale (memview or not) */
	struct shm_usage unknown; /* of all: whether it is in use could not be told */
	struct shm_usage memfd;   /* of all: memfds (which take no space in SHM_DIR) */
};

/*
 * shm_totals_add - count @seg in @t: its blocks allocated (what it costs the tmpfs, a sparse
 * object less than its size), in every class it belongs to.
 */
void shm_totals_add(struct shm_totals *t, const struct shm_seg *seg);

/* shm_kind_name - "yes", "no", "bad", "?" as lsshm's MEMVIEW column says it. */
const char *shm_kind_name(enum shm_kind kind);

/*
 * shm_name - "/NAME" for "/dev/shm/NAME", which is what lsshm and ls show, and @name itself
 * otherwise: the library wants "/NAME".
 */
const char *shm_name(const char *name);

#endif /* MEMVIEW_TOOLS_SHMSCAN_H */
