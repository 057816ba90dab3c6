/*
 * tools/mvshm_gc.c - "mvshm gc": remove the stale objects of /dev/shm, memview's and other
 * programs' alike - those that no process maps, holds open, locks or holds views of.
 *
 * It lists once (shm_survey(), what lsshm shows), decides, asks when it must, then re-checks each
 * candidate from scratch immediately before removing it (shm_recheck_unlink()): a segment that
 * gained a user since the listing is kept.
 *
 * "Nothing uses it" is known only when /proc shows every process that could: in another PID
 * namespace than the initial one (a container sharing /dev/shm with the host or with other
 * containers) the users outside are invisible, and a holder table's pids prove nothing there
 * either (they may be another namespace's), so gc removes nothing unless told
 * --all-processes-visible. Kernel evidence - locks, which the re-check takes itself - counts
 * wherever it runs.
 *
 * Every name it prints is escaped (cli_visible()): the names in /dev/shm and the commands of the
 * processes that use them are other users' to choose.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../util/cli.h"
#include "toolcli.h"
#include "mvshm.h"
#include "shmscan.h"

/* gc's operands: names or shell patterns, "/dev/shm/" allowed in front. None selects all. */
static int gc_selected(const struct args *a, const char *name)
{
	int i;

	if (a->noperands == 0)
		return 1;
	for (i = 0; i < a->noperands; i++)
		if (fnmatch(shm_name(a->operands[i]), name, FNM_PATHNAME) == 0)
			return 1;
	return 0;
}

#ifdef MVSHM_TEST_HOOKS
/*
 * The test suite's hook, in the test build only (tests/tools/mvshm-testhooks): with
 * MVSHM_GC_TEST_PAUSE naming a FIFO, gc reads it to its end between the listing and the
 * re-checks, so that a test can map a segment exactly in that window. The installed mvshm has no
 * such hook: an environment variable must not make it wait.
 */
static void gc_test_pause(void)
{
	const char *path = getenv("MVSHM_GC_TEST_PAUSE");
	char buf[64];
	int fd;

	if (!path || !*path)
		return;
	fflush(stdout);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		cli_fail("MVSHM_GC_TEST_PAUSE: cannot open %s: %s", path, strerror(errno));
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}
#else
static void gc_test_pause(void)
{
}
#endif

/* Ask on the terminal. Returns 1 for yes. */
static int gc_confirm(size_t n, uint64_t bytes)
{
	char size[32], *line = NULL;
	size_t cap = 0;
	int yes;

	fflush(stdout);
	fprintf(stderr, "Remove %s %zu stale object%s (%s)? [y/N] ", n == 1 ? "this" : "these", n,
		n == 1 ? "" : "s", cli_format_size(bytes, size, sizeof(size)));
	if (getline(&line, &cap, stdin) < 0) {
		fputc('\n', stderr);
		free(line);
		return 0;
	}
	yes = line[0] == 'y' || line[0] == 'Y';
	free(line);
	return yes;
}

int cmd_gc(struct args *a)
{
	int dry_run = (a->given & O_DRY_RUN) != 0, status = CLI_EXIT_OK, rc;
	size_t i, *cand = NULL, ncand = 0, removed = 0, skipped = 0, blind = 0;
	uint64_t cand_bytes = 0, removed_bytes = 0, age;
	char err[256], why[480], size[32], when[32], limit[32];
	unsigned flags = (a->given & O_ALL_VISIBLE) ? SHM_SURVEY_ALL_VISIBLE : 0;
	struct shm_survey sv;
	time_t now;

	/* A name or pattern that no object in /dev/shm can match is a mistake, not "0 removed". */
	for (i = 0; i < (size_t)a->noperands; i++) {
		const char *op = shm_name(a->operands[i]);

		if (strncmp(op, "memfd:", 6) == 0)
			continue; /* lsshm's name for a memfd: gc never removes one (it has no name) */
		if (op[0] != '/' || !op[1] || strchr(op + 1, '/') || strlen(op + 1) > NAME_MAX)
			cli_usage_error("gc: '%s' is not a name or pattern of an object in %s "
					"(expected /NAME, e.g. '/frames-*')", a->operands[i], SHM_DIR);
	}
	if (!flags && ps_pidns_blind(why, sizeof(why)))
		cli_fail("gc: nothing removed: %s, so an object no process here uses may be used by "
			 "one elsewhere (--all-processes-visible if every process that uses %s is in "
			 "this namespace)", why, SHM_DIR);
	rc = shm_survey(&sv, NULL, flags, err, sizeof(err));
	if (rc < 0)
		cli_fail("gc: %s", err);
	cand = calloc(sv.nsegs ? sv.nsegs : 1, sizeof(*cand));
	if (!cand)
		cli_fail("out of memory");
	now = time(NULL);

	/* What the listing says: in use, cannot tell, too young - or a candidate. */
	for (i = 0; i < sv.nsegs; i++) {
		const struct shm_seg *s = &sv.segs[i];

		if (!gc_selected(a, s->name))
			continue;
		age = now > s->st.st_mtime ? (uint64_t)(now - s->st.st_mtime) : 0;
		if (s->verdict == SHM_IN_USE) {
			printf("skipped %s: in use: %s\n", cli_visible(s->name), cli_visible(s->why));
		} else if (s->verdict == SHM_UNKNOWN) {
			printf("skipped %s: %s\n", cli_visible(s->name), cli_visible(s->why));
			blind++;
		} else if ((a->given & O_OLDER_THAN) && age <= a->older_than) {
			printf("skipped %s: stale, but modified %s ago, not more than %s\n",
			       cli_visible(s->name),
			       cli_format_duration(age, when, sizeof(when)),
			       cli_format_duration(a->older_than, limit, sizeof(limit)));
		} else {
			cand[ncand++] = i;
			cand_bytes += (uint64_t)s->st.st_blocks * 512;
			continue;
		}
		skipped++;
	}

	if (dry_run || (!(a->given & O_YES) && ncand)) {
		for (i = 0; i < ncand; i++) {
			const struct shm_seg *s = &sv.segs[cand[i]];

			printf("would remove %s (%s): %s\n", cli_visible(s->name),
			       cli_format_size((uint64_t)s->st.st_blocks * 512, size, sizeof(size)),
			       cli_visible(s->why));
		}
	}
	if (blind)
		cli_warn("gc: %zu object%s skipped: not every process could be inspected (run gc as "
			 "root to see every process)", blind, blind == 1 ? "" : "s");
	if (dry_run) {
		printf("%zu would be removed (%s), %zu skipped\n", ncand,
		       cli_format_size(cand_bytes, size, sizeof(size)), skipped);
		goto out;
	}
	if (!(a->given & O_YES) && ncand) {
		/* A removal nobody asked for in so many words is not done behind a pipe. */
		if (!isatty(STDIN_FILENO)) {
			cli_warn("gc: nothing removed: without --yes, gc asks on a terminal, and "
				 "standard input is not one");
			status = CLI_EXIT_FAILURE;
			goto out;
		}
		if (!gc_confirm(ncand, cand_bytes)) {
			cli_warn("gc: nothing removed");
			status = CLI_EXIT_FAILURE;
			goto out;
		}
	}
	gc_test_pause();

	/* Each candidate again, from scratch, immediately before its removal. */
	for (i = 0; i < ncand; i++) {
		const struct shm_seg *s = &sv.segs[cand[i]];

		rc = shm_recheck_unlink(s, 0, flags, why, sizeof(why));
		if (rc > 0) {
			printf("removed %s (%s): %s\n", cli_visible(s->name),
			       cli_format_size((uint64_t)s->st.st_blocks * 512, size, sizeof(size)),
			       cli_visible(s->why));
			removed++;
			removed_bytes += (uint64_t)s->st.st_blocks * 512;
		} else if (rc == 0) {
			printf("skipped %s: %s (found when re-checked before removal)\n",
			       cli_visible(s->name), cli_visible(why));
			skipped++;
		} else {
			cli_warn("gc: %s: %s", s->name, why);
			status = CLI_EXIT_FAILURE;
		}
	}
	printf("%zu removed (%s), %zu skipped\n", removed,
	       cli_format_size(removed_bytes, size, sizeof(size)), skipped);
out:
	free(cand);
	shm_survey_free(&sv);
	return status;
}
