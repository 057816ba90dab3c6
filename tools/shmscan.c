/*
 * tools/shmscan.c - see shmscan.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safeopen.h"
#include "shmscan.h"

/* How many processes a reason names before it says "and N more". */
#define WHY_PROCS 3

/* Append to a reason, never past its end. */
static void appendf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

const char *shm_kind_name(enum shm_kind kind)
{
	switch (kind) {
	case SHM_MEMVIEW:
		return "yes";
	case SHM_BAD:
		return "bad";
	case SHM_UNREADABLE:
		return "?";
	case SHM_PLAIN:
	default:
		return "no";
	}
}

static void usage_add(struct shm_usage *u, uint64_t used)
{
	u->count++;
	u->used += used;
}

void shm_totals_add(struct shm_totals *t, const struct shm_seg *s)
{
	uint64_t used = (uint64_t)s->st.st_blocks * 512; /* st_blocks is in 512-byte units */

	usage_add(&t->all, used);
	usage_add(s->kind == SHM_MEMVIEW ? &t->memview : &t->other, used);
	if (s->verdict == SHM_STALE)
		usage_add(&t->stale, used);
	else if (s->verdict == SHM_UNKNOWN)
		usage_add(&t->unknown, used);
	if (s->is_memfd)
		usage_add(&t->memfd, used);
}

/* ------------------------------------------------------------------ headers */

/*
 * The typing (@info, from the probe of the file open as @fd) and the holder table of a memview
 * segment, read through that descriptor with pread(): nothing else is opened - never the name
 * again, which a peer could have given to another file by now - and nothing is mapped.
 */
static void read_memview(struct shm_seg *s, int fd, const mv_segment_info *info)
{
	ssize_t n;
	size_t i;

	s->info = *info;
	s->holders[0].size = sizeof(s->holders[0]);
	n = mv_segment_probe_holders(s->holders, MV_SEGMENT_MAX_HOLDERS, fd);
	if (n < 0) {
		s->kind = n == -EBADMSG ? SHM_BAD : SHM_UNREADABLE;
		s->note = strdup(*mv_errmsg() ? mv_errmsg() : mv_strerror((int)n));
		return;
	}
	s->nholders = n > MV_SEGMENT_MAX_HOLDERS ? MV_SEGMENT_MAX_HOLDERS : (size_t)n;
	for (i = 0; i < s->nholders; i++) {
		if (!s->holders[i].alive)
			continue;
		s->live_holders++;
		s->exports += s->holders[i].exports;
	}
	s->kind = SHM_MEMVIEW;
}

/*
 * What the object holds: the library's probe decides between another program's object, a bad
 * header and a memview segment, whose holders are then read. The object is opened with
 * safe_open(): a name in /dev/shm without following a link, a memfd through its /proc path (a
 * magic link that must be followed), which must still lead to the memfd the scan found; only a
 * regular file is opened at all, and what is read is read from that descriptor. A named object
 * that is another regular file than the one listed is taken as it is now (its stat replaces the
 * listing's), so that everything said of it is said of one file.
 */
static void read_header(struct shm_seg *s)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	struct stat st;
	int fd, rc;

	if (!s->path) {
		s->kind = SHM_UNREADABLE;
		s->note = strdup("the process it was reached through exited during the scan");
		s->gone = s->is_memfd;
		return;
	}
	fd = safe_open(s->path, O_RDONLY, s->is_memfd ? 0 : SAFE_NOFOLLOW,
		       s->is_memfd ? &s->st : NULL, &st);
	/*
	 * At a memfd's path now another file, or none that is regular, or nothing while no other
	 * process was seen using it: its process let go.
	 */
	if (s->is_memfd &&
	    (fd == -ESTALE || fd == -EINVAL || (fd == -ENOENT && s->file.nuses <= 1))) {
		s->kind = SHM_UNREADABLE;
		s->note = strdup("its process let go of it since the scan");
		s->gone = 1;
		return;
	}
	if (fd < 0) {
		s->kind = SHM_UNREADABLE;
		s->note = strdup(safe_open_error(fd, &st));
		s->gone = fd == -ENOENT && !s->is_memfd; /* removed since it was listed */
		return;
	}
	if (!s->is_memfd)
		s->st = st;
	rc = mv_segment_probe(&info, fd);
	if (rc > 0) {
		read_memview(s, fd, &info);
	} else if (rc == 0) {
		s->kind = SHM_PLAIN;
	} else {
		s->kind = rc == -EBADMSG ? SHM_BAD : SHM_UNREADABLE;
		s->note = strdup(*mv_errmsg() ? mv_errmsg() : mv_strerror(rc));
	}
	close(fd);
}


/* ------------------------------------------------------------------ verdicts */

/* "python3[4712] (mapped), mvshm[4713] (mapped,open,export-lock)" for the processes of @f. */
static void describe_procs(const struct ps_file *f, char *buf, size_t len)
{
	char how[64];
	size_t i;

	for (i = 0; i < f->nuses && i < WHY_PROCS; i++)
		appendf(buf, len, "%s%s[%d] (%s)", i ? ", " : "", f->uses[i].proc->comm,
			(int)f->uses[i].proc->pid, ps_how_string(f->uses[i].how, how, sizeof(how)));
	if (f->nuses > WHY_PROCS)
		appendf(buf, len, " and %zu more", f->nuses - WHY_PROCS);
}

/*
 * Why @f is in use, into @buf (empty if it is not). @count_fcntl_locks: whether POSIX and OFD locks
 * count - not when the caller holds a write lock on all of the file, which none can share.
 */
static void describe_use(const struct ps_file *f, size_t live_holders, int count_fcntl_locks,
			 char *buf, size_t len)
{
	unsigned locks = f->other_locks + (count_fcntl_locks ? f->fcntl_locks : 0);

	buf[0] = '\0';
	if (f->nuses)
		describe_procs(f, buf, len);
	if (count_fcntl_locks && f->export_locked)
		appendf(buf, len, "%sa process holds memview exports (export lock)",
			*buf ? "; " : "");
	else if (locks)
		appendf(buf, len, "%s%u lock%s on it", *buf ? "; " : "", locks, locks == 1 ? "" : "s");
	if (live_holders)
		appendf(buf, len, "%s%zu live memview holder%s", *buf ? "; " : "", live_holders,
			live_holders == 1 ? "" : "s");
	if (f->kernel)
		appendf(buf, len, "%sbacks loop device %s", *buf ? "; " : "", f->kernel);
}

/* Why nothing could be sure that nothing uses it, into @buf (empty if the scan saw everything). */
static void describe_blind(const struct ps_scan *scan, char *buf, size_t len)
{
	size_t i, n = sizeof(scan->uninspected_pid) / sizeof(scan->uninspected_pid[0]);

	buf[0] = '\0';
	if (scan->uninspected) {
		appendf(buf, len, "%zu process%s could not be inspected (", scan->uninspected,
			scan->uninspected == 1 ? "" : "es");
		for (i = 0; i < scan->uninspected && i < n; i++)
			appendf(buf, len, "%s%d", i ? ", " : "pid ", (int)scan->uninspected_pid[i]);
		appendf(buf, len, "%s)", scan->uninspected > n ? ", ..." : "");
	}
	if (scan->hidepid)
		appendf(buf, len, "%s/proc hides other users' processes (hidepid)",
			*buf ? "; " : "");
	if (scan->pidns_blind)
		appendf(buf, len, "%s%s", *buf ? "; " : "", scan->pidns_why);
}

static void judge(struct shm_seg *s, const struct ps_scan *scan)
{
	char blind[320];
	size_t i, dead = s->nholders - s->live_holders;

	describe_use(&s->file, s->live_holders, 1, s->why, sizeof(s->why));
	if (*s->why) {
		s->verdict = SHM_IN_USE;
		return;
	}
	if (s->is_memfd) {
		/* Its users left after the scan found it through them: it is gone, or going. */
		s->verdict = SHM_IN_USE;
		snprintf(s->why, sizeof(s->why), "a memfd: it lives only while a process holds it");
		return;
	}
	describe_blind(scan, blind, sizeof(blind));
	if (*blind) {
		s->verdict = SHM_UNKNOWN;
		snprintf(s->why, sizeof(s->why), "cannot tell whether it is in use: %s", blind);
		return;
	}
	s->verdict = SHM_STALE;
	snprintf(s->why, sizeof(s->why), "no process maps it or holds it open");
	if (dead) {
		appendf(s->why, sizeof(s->why), "; memview holder%s ", dead == 1 ? "" : "s");
		for (i = 0; i < s->nholders; i++)
			if (!s->holders[i].alive)
				appendf(s->why, sizeof(s->why), "%d ", (int)s->holders[i].pid);
		appendf(s->why, sizeof(s->why), "%s dead", dead == 1 ? "is" : "are");
	}
}

/* ------------------------------------------------------------------ the survey */

static int cmp_seg(const void *a, const void *b)
{
	const struct shm_seg *sa = a, *sb = b;
	int r = strcmp(sa->name, sb->name);

	/* "/NAME" before "memfd:NAME"; memfds of one name by inode. */
	if (r || sa->st.st_ino == sb->st.st_ino)
		return r;
	return sa->st.st_ino < sb->st.st_ino ? -1 : 1;
}

static int add_seg(struct shm_survey *sv, const char *file, const struct stat *st)
{
	struct shm_seg *segs = realloc(sv->segs, (sv->nsegs + 1) * sizeof(*segs)), *s;

	if (!segs)
		return -ENOMEM;
	sv->segs = segs;
	s = &segs[sv->nsegs];
	memset(s, 0, sizeof(*s));
	s->st = *st;
	s->is_sem = strncmp(file, "sem.", 4) == 0;
	if (asprintf(&s->name, "/%s", file) < 0) {
		s->name = NULL;
		return -ENOMEM;
	}
	if (asprintf(&s->path, "%s/%s", SHM_DIR, file) < 0) {
		free(s->name);
		s->path = NULL;
		return -ENOMEM;
	}
	sv->nsegs++;
	return 0;
}

/* Free what one object of the survey owns (not the object itself). */
static void seg_free(struct shm_seg *s)
{
	ps_scan_free(NULL, &s->file, 1);
	free(s->name);
	free(s->path);
	free(s->note);
}

/*
 * The memfds the scan found become objects of the survey: their uses and paths are taken over
 * from the scan, their headers read through those paths, and each is judged.
 */
static int add_memfds(struct shm_survey *sv)
{
	struct shm_seg *segs, *s;
	struct ps_memfd *m;
	size_t i;

	if (!sv->scan.nmemfds)
		return 0;
	segs = realloc(sv->segs, (sv->nsegs + sv->scan.nmemfds) * sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	sv->segs = segs;
	for (i = 0; i < sv->scan.nmemfds; i++) {
		m = sv->scan.memfds[i];
		s = &sv->segs[sv->nsegs];
		memset(s, 0, sizeof(*s));
		if (asprintf(&s->name, "memfd:%s", m->name) < 0)
			return -ENOMEM;
		s->is_memfd = 1;
		s->path = m->reach;
		m->reach = NULL;
		s->file = m->file;
		m->file.uses = NULL;
		m->file.nuses = 0;
		m->file.kernel = NULL;
		sv->nsegs++;
		/* Following the path needs what opening it needs (map_files: CAP_SYS_ADMIN). */
		if (!s->path || stat(s->path, &s->st) < 0 || s->st.st_dev != s->file.dev ||
		    s->st.st_ino != s->file.ino) {
			memset(&s->st, 0, sizeof(s->st));
			s->no_stat = 1;
		}
		s->st.st_dev = s->file.dev;
		s->st.st_ino = s->file.ino;
		read_header(s);
		/* A memfd nobody holds any more no longer exists: nothing to report. */
		if (s->gone) {
			seg_free(s);
			sv->nsegs--;
			continue;
		}
		sv->unreadable += s->kind == SHM_UNREADABLE;
		judge(s, &sv->scan);
	}
	return 0;
}

int shm_survey(struct shm_survey *sv, const char *only, unsigned flags, char *err, size_t errlen)
{
	struct ps_file *files = NULL;
	struct dirent *d;
	struct stat st, other;
	size_t i;
	DIR *dp;
	int rc = 0, is_other = 0;

	memset(sv, 0, sizeof(*sv));
	err[0] = '\0';
	dp = opendir(SHM_DIR);
	if (!dp) {
		rc = -errno;
		snprintf(err, errlen, "cannot read %s: %s", SHM_DIR, strerror(-rc));
		return rc;
	}
	while ((d = readdir(dp))) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (only && strcmp(only + 1, d->d_name) != 0)
			continue;
		if (fstatat(dirfd(dp), d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* removed meanwhile */
		if (!S_ISREG(st.st_mode)) {
			sv->others++;
			other = st;
			is_other = 1;
			continue;
		}
		rc = add_seg(sv, d->d_name, &st);
		if (rc < 0)
			break;
	}
	closedir(dp);
	if (rc == 0 && only && sv->nsegs == 0 && is_other) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: %s: not a shared-memory object", only,
			 safe_open_error(rc, &other));
	} else if (rc == 0 && only && sv->nsegs == 0) {
		rc = -ENOENT;
		snprintf(err, errlen, "%s: no such object in %s", only, SHM_DIR);
	}
	if (rc < 0)
		goto fail;
	if (sv->nsegs > 1)
		qsort(sv->segs, sv->nsegs, sizeof(*sv->segs), cmp_seg);

	for (i = 0; i < sv->nsegs;) {
		struct shm_seg *s = &sv->segs[i];

		read_header(s);
		/* Removed since the directory was read: it is no longer there to report. */
		if (s->gone ||
		    (s->kind == SHM_UNREADABLE && access(s->path, F_OK) < 0 && errno == ENOENT)) {
			seg_free(s);
			memmove(s, s + 1, (sv->nsegs - i - 1) * sizeof(*s));
			sv->nsegs--;
			continue;
		}
		sv->unreadable += s->kind == SHM_UNREADABLE;
		i++;
	}
	if (only && sv->nsegs == 0) {
		rc = -ENOENT;
		snprintf(err, errlen, "%s: no such object in %s", only, SHM_DIR);
		goto fail;
	}
	/* One scan for all of them: ps_scan() wants them side by side. */
	files = calloc(sv->nsegs ? sv->nsegs : 1, sizeof(*files));
	if (!files) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < sv->nsegs; i++) {
		files[i].dev = sv->segs[i].st.st_dev;
		files[i].ino = sv->segs[i].st.st_ino;
		files[i].path = sv->segs[i].path;
	}
	if (only)
		flags &= ~SHM_SURVEY_MEMFD;
	rc = ps_scan(&sv->scan, files, sv->nsegs,
		     flags & (SHM_SURVEY_URING | SHM_SURVEY_MEMFD | SHM_SURVEY_ALL_VISIBLE));
	if (rc < 0) {
		free(files);
		snprintf(err, errlen, "cannot scan /proc: %s", strerror(-rc));
		goto fail;
	}
	for (i = 0; i < sv->nsegs; i++) {
		sv->segs[i].file = files[i];
		judge(&sv->segs[i], &sv->scan);
	}
	free(files);
	rc = add_memfds(sv);
	if (rc < 0)
		goto fail;
	if (sv->nsegs > 1)
		qsort(sv->segs, sv->nsegs, sizeof(*sv->segs), cmp_seg);
	return 0;
fail:
	if (!*err)
		snprintf(err, errlen, "%s", strerror(-rc));
	shm_survey_free(sv);
	return rc;
}

void shm_survey_free(struct shm_survey *sv)
{
	size_t i;

	for (i = 0; i < sv->nsegs; i++)
		seg_free(&sv->segs[i]);
	ps_scan_free(&sv->scan, NULL, 0);
	free(sv->segs);
	memset(sv, 0, sizeof(*sv));
}

/* ------------------------------------------------------------------ the re-check */

/*
 * A write lock on all of the file (l_len 0: to the end and beyond) through our own open file
 * description: granted only if no other description holds any POSIX or OFD lock on any of it -
 * memview's export lock on byte 0 included - and keeps new ones from being taken until we close.
 */
static int lock_all(int fd, int cmd, short *type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, cmd, &fl) < 0)
		return -errno;
	if (type)
		*type = fl.l_type;
	return 0;
}

/* Live memview holders of the object open as @fd, read through it: a count, or -errno. */
static int live_holders(int fd)
{
	mv_segment_holder h[MV_SEGMENT_MAX_HOLDERS] = { MV_SEGMENT_HOLDER_INIT };
	ssize_t n, i;
	int live = 0;

	n = mv_segment_probe_holders(h, MV_SEGMENT_MAX_HOLDERS, fd);
	if (n < 0)
		return (int)n;
	for (i = 0; i < n && i < MV_SEGMENT_MAX_HOLDERS; i++)
		live += h[i].alive != 0;
	return live;
}

int shm_recheck_unlink(const struct shm_seg *seg, int dry_run, unsigned flags, char *why,
		       size_t len)
{
	struct ps_scan scan;
	struct ps_file f;
	struct stat st;
	char blind[320], use[320];
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	short type = F_UNLCK;
	int fd, rw, rc, holders = 0;

	why[0] = '\0';
	if (seg->is_memfd) {
		snprintf(why, len, "a memfd has no name to remove: it goes with its last user");
		return 0;
	}
	/* Only the listed object, a regular file, is opened: whatever took its name is not. */
	fd = safe_open(seg->path, O_RDWR, SAFE_NOFOLLOW | SAFE_RDONLY_FALLBACK, &seg->st, &st);
	if (fd == -ENOENT) {
		snprintf(why, len, "it is gone already");
		return 0;
	}
	if (fd == -ESTALE || fd == -EINVAL) {
		snprintf(why, len, "another object took its name since it was listed");
		return 0;
	}
	if (fd < 0) {
		snprintf(why, len, "cannot open it to check it: %s", safe_open_error(fd, &st));
		return fd;
	}
	rw = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	/*
	 * The lock first: from here on no memview process can take an export, so what the scan
	 * below finds cannot grow by one. Without write access to the object (a lock needs it) we
	 * can only ask, as mv_segment_unlink() does then.
	 */
	rc = lock_all(fd, rw ? F_OFD_SETLK : F_OFD_GETLK, rw ? NULL : &type);
	if (rc == -EAGAIN || rc == -EACCES || (rc == 0 && type != F_UNLCK)) {
		snprintf(why, len, "in use: a process holds a lock on it (memview's export lock, or "
				   "another)");
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		snprintf(why, len, "cannot check its locks: %s", strerror(-rc));
		goto out;
	}
	rc = mv_segment_probe(&info, fd);
	if (rc > 0) {
		holders = live_holders(fd);
		if (holders < 0 && holders != -EBADMSG) {
			snprintf(why, len, "cannot read its memview holders: %s",
				 *mv_errmsg() ? mv_errmsg() : mv_strerror(holders));
			rc = 0;
			goto out;
		}
		if (holders < 0) /* a bad header has no holder we could trust or see */
			holders = 0;
	}

	memset(&f, 0, sizeof(f));
	f.dev = st.st_dev;
	f.ino = st.st_ino;
	f.path = seg->path;
	rc = ps_scan(&scan, &f, 1, flags & SHM_SURVEY_ALL_VISIBLE);
	if (rc < 0) {
		snprintf(why, len, "cannot scan /proc: %s", strerror(-rc));
		goto out;
	}
	describe_use(&f, (size_t)holders, !rw, use, sizeof(use));
	describe_blind(&scan, blind, sizeof(blind));
	ps_scan_free(&scan, &f, 1);
	if (*use) {
		snprintf(why, len, "in use: %s", use);
		rc = 0;
		goto out;
	}
	if (*blind) {
		snprintf(why, len, "cannot tell whether it is in use: %s", blind);
		rc = 0;
		goto out;
	}
	if (dry_run) {
		rc = 1;
		goto out;
	}
	/*
	 * The name must still be this object's: removing a newcomer's would be the worst mistake.
	 * unlink(2) cannot be told which inode: between this check and the removal, only the
	 * object's owner (or root) can put another file at the name - /dev/shm is sticky, so
	 * nobody else may replace the owner's entry -, and then only a file of its own goes.
	 */
	if (lstat(seg->path, &st) < 0 || st.st_ino != seg->st.st_ino || st.st_dev != seg->st.st_dev) {
		snprintf(why, len, "another object took its name during the check");
		rc = 0;
		goto out;
	}
	if (unlink(seg->path) < 0) {
		rc = -errno;
		snprintf(why, len, "cannot remove it: %s", strerror(-rc));
		goto out;
	}
	rc = 1;
out:
	close(fd); /* drops the lock */
	return rc;
}

const char *shm_name(const char *name)
{
	static const char prefix[] = "/dev/shm/";

	if (strncmp(name, prefix, sizeof(prefix) - 1) == 0 &&
	    !strchr(name + sizeof(prefix) - 1, '/') && name[sizeof(prefix) - 1])
		return name + sizeof(prefix) - 2;
	return name;
}
