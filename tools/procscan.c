/*
 * tools/procscan.c - see procscan.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procscan.h"

/* PF_KTHREAD in /proc/PID/stat's flags field: kernel threads map and open nothing of ours. */
#define PF_KTHREAD_FLAG 0x00200000ul

/* Paths under /proc: a process directory, maybe a task's, and an entry in it. */
#define PROC_PATH 320

/* snprintf for paths built from /proc's names, which are short: a long one is simply cut. */
static void pathf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* A mapping kept to tell which file an io_uring buffer lies in. */
struct range {
	uint64_t start, end, offset;
	char *path;
};

struct ctx {
	struct ps_scan *scan;
	struct ps_file **index; /* the files, sorted by inode then device */
	size_t nfiles;
	struct ps_file *files;
	unsigned flags;
	pid_t self;
	int oom;                /* an allocation failed: the scan is unreliable */
};

static void *xrealloc(struct ctx *c, void *p, size_t n, size_t size)
{
	void *q;

	if (n && size > SIZE_MAX / n) {
		c->oom = 1;
		return NULL;
	}
	q = realloc(p, n && size ? n * size : 1);
	if (!q)
		c->oom = 1;
	return q;
}

/* ------------------------------------------------------------------ the files looked for */

static int cmp_key(dev_t dev, ino_t ino, const struct ps_file *f)
{
	if (ino != f->ino)
		return ino < f->ino ? -1 : 1;
	if (dev != f->dev)
		return dev < f->dev ? -1 : 1;
	return 0;
}

static int cmp_index(const void *a, const void *b)
{
	const struct ps_file *fa = *(const struct ps_file *const *)a;
	const struct ps_file *fb = *(const struct ps_file *const *)b;

	return cmp_key(fa->dev, fa->ino, fb);
}

static struct ps_file *find_file(const struct ctx *c, dev_t dev, ino_t ino)
{
	size_t lo = 0, hi = c->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = cmp_key(dev, ino, c->index[mid]);

		if (r == 0)
			return c->index[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static struct ps_file *find_path(const struct ctx *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++)
		if (c->files[i].path && strcmp(c->files[i].path, path) == 0)
			return &c->files[i];
	return NULL;
}

/* The use of @f by @p, created on first sight. Processes are scanned one at a time, so the
 * current process's use, if any, is the last one. */
static struct ps_use *use_of(struct ctx *c, struct ps_file *f, struct ps_proc *p)
{
	struct ps_use *u;

	if (f->nuses && f->uses[f->nuses - 1].proc == p)
		return &f->uses[f->nuses - 1];
	u = xrealloc(c, f->uses, f->nuses + 1, sizeof(*u));
	if (!u)
		return NULL;
	f->uses = u;
	u = &f->uses[f->nuses++];
	memset(u, 0, sizeof(*u));
	u->proc = p;
	return u;
}

static void add_fd(struct ctx *c, struct ps_use *u, int fd)
{
	int *fds = xrealloc(c, u->fds, u->nfds + 1, sizeof(*fds));

	if (!fds)
		return;
	u->fds = fds;
	u->fds[u->nfds++] = fd;
}

/* ------------------------------------------------------------------ memfds */

/* "/memfd:NAME (deleted)" -> NAME, into @name. Returns 0, or -1 if @link is not a memfd's. */
static int memfd_link_name(const char *link, char *name, size_t len)
{
	static const char prefix[] = "/memfd:", deleted[] = " (deleted)";
	const size_t plen = sizeof(prefix) - 1, dlen = sizeof(deleted) - 1;
	size_t n;

	if (strncmp(link, prefix, plen) != 0)
		return -1;
	link += plen;
	n = strlen(link);
	/* A memfd never had a directory entry: the kernel always says "(deleted)". */
	if (n >= dlen && strcmp(link + n - dlen, deleted) == 0)
		n -= dlen;
	snprintf(name, len, "%.*s", (int)n, link);
	return 0;
}

/* The memfd (@dev, @ino) if already seen; else NULL, and *@at is where it goes in the order. */
static struct ps_memfd *memfd_find(const struct ctx *c, dev_t dev, ino_t ino, size_t *at)
{
	size_t lo = 0, hi = c->scan->nmemfds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = cmp_key(dev, ino, &c->scan->memfds[mid]->file);

		if (r == 0)
			return c->scan->memfds[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (at)
		*at = lo;
	return NULL;
}

/*
 * A file that is none of those looked for, seen by @p as @link: if it is a memfd (and memfds are
 * wanted), its record - new on first sight -, with @reach as the path to it when none is known
 * yet or @reach is a descriptor's (@is_fd) and the known one is not. NULL otherwise.
 */
static struct ps_file *memfd_seen(struct ctx *c, dev_t dev, ino_t ino, const char *link,
				  const char *reach, int is_fd)
{
	struct ps_memfd *m, **v;
	char name[PATH_MAX];
	size_t at = 0;

	if (!(c->flags & PS_SCAN_MEMFD) || memfd_link_name(link, name, sizeof(name)) < 0)
		return NULL;
	m = memfd_find(c, dev, ino, &at);
	if (!m) {
		v = xrealloc(c, c->scan->memfds, c->scan->nmemfds + 1, sizeof(*v));
		if (!v)
			return NULL;
		c->scan->memfds = v;
		m = calloc(1, sizeof(*m));
		if (!m || !(m->name = strdup(name))) {
			free(m);
			c->oom = 1;
			return NULL;
		}
		m->file.dev = dev;
		m->file.ino = ino;
		memmove(v + at + 1, v + at, (c->scan->nmemfds - at) * sizeof(*v));
		v[at] = m;
		c->scan->nmemfds++;
	}
	if (!m->reach || (is_fd && strstr(m->reach, "/map_files/"))) {
		free(m->reach);
		m->reach = strdup(reach);
		if (!m->reach)
			c->oom = 1;
	}
	return &m->file;
}

/* The file looked for, or the memfd, whose (@dev, @ino) it is. */
static struct ps_file *find_any(const struct ctx *c, dev_t dev, ino_t ino)
{
	struct ps_file *f = find_file(c, dev, ino);
	struct ps_memfd *m;

	if (f)
		return f;
	m = memfd_find(c, dev, ino, NULL);
	return m ? &m->file : NULL;
}

/* ------------------------------------------------------------------ locks */

/* One line of /proc/locks, or what follows "lock:" in fdinfo. */
struct lockline {
	char type[16];        /* POSIX, OFDLCK, FLOCK, LEASE, DELEG */
	char access[16];      /* READ, WRITE, ... */
	dev_t dev;
	unsigned long ino;
	unsigned long long start;
	int waiter;           /* "->": waiting for the lock, not holding it */
};

/* "1: OFDLCK ADVISORY  READ -1 00:1a:17092 0 EOF" (or "1: -> POSIX ..."). */
static int parse_lock(const char *s, struct lockline *l)
{
	char tok[8][32];
	unsigned maj, min;
	int n, i = 1;

	memset(l, 0, sizeof(*l));
	n = sscanf(s, "%31s %31s %31s %31s %31s %31s %31s %31s", tok[0], tok[1], tok[2], tok[3],
		   tok[4], tok[5], tok[6], tok[7]);
	if (n < 7)
		return -1;
	if (strcmp(tok[1], "->") == 0) {
		l->waiter = 1;
		i = 2;
		if (n < 8)
			return -1;
	}
	snprintf(l->type, sizeof(l->type), "%s", tok[i]);
	snprintf(l->access, sizeof(l->access), "%s", tok[i + 2]);
	if (sscanf(tok[i + 4], "%x:%x:%lu", &maj, &min, &l->ino) != 3)
		return -1;
	l->dev = makedev(maj, min);
	l->start = strtoull(tok[i + 5], NULL, 10);
	return 0;
}

static int lock_is_fcntl(const struct lockline *l)
{
	return strcmp(l->type, "POSIX") == 0 || strcmp(l->type, "OFDLCK") == 0;
}

/* An export lock: memview's read lock on byte 0 (a range starting at 0 covers it). */
static int lock_is_export(const struct lockline *l)
{
	return lock_is_fcntl(l) && !l->waiter && strcmp(l->access, "READ") == 0 && l->start == 0;
}

static void scan_locks(struct ctx *c)
{
	struct lockline l;
	struct ps_file *f;
	char *line = NULL;
	size_t cap = 0;
	FILE *fp;

	fp = fopen("/proc/locks", "re");
	if (!fp) {
		c->scan->locks_unreadable = 1;
		return;
	}
	while (getline(&line, &cap, fp) > 0) {
		if (parse_lock(line, &l) < 0)
			continue;
		f = find_any(c, l.dev, (ino_t)l.ino);
		if (!f)
			continue;
		if (lock_is_fcntl(&l))
			f->fcntl_locks++;
		else
			f->other_locks++;
		if (lock_is_export(&l))
			f->export_locked = 1;
	}
	free(line);
	fclose(fp);
}

/* ------------------------------------------------------------------ kernel holders */

/* Loop devices backed by one of the files: the kernel holds the file, no process does. */
static void scan_loops(struct ctx *c)
{
	char buf[PATH_MAX + 32], dev[32], *nl, *k;
	struct ps_file *f;
	glob_t g;
	size_t i, len;
	FILE *fp;

	if (glob("/sys/block/loop*/loop/backing_file", 0, NULL, &g) != 0)
		return;
	for (i = 0; i < g.gl_pathc; i++) {
		fp = fopen(g.gl_pathv[i], "re");
		if (!fp)
			continue;
		if (!fgets(buf, sizeof(buf), fp)) {
			fclose(fp);
			continue;
		}
		fclose(fp);
		nl = strchr(buf, '\n');
		if (nl)
			*nl = '\0';
		f = find_path(c, buf);
		if (!f)
			continue;
		/* "/sys/block/loop3/loop/backing_file" -> "loop3" */
		if (sscanf(g.gl_pathv[i], "/sys/block/%31[^/]", dev) != 1)
			continue;
		len = (f->kernel ? strlen(f->kernel) + 1 : 0) + strlen(dev) + 1;
		k = xrealloc(c, f->kernel, len, 1);
		if (!k)
			continue;
		if (f->kernel)
			strcat(k, ",");
		else
			k[0] = '\0';
		strcat(k, dev);
		f->kernel = k;
	}
	globfree(&g);
}

/* ------------------------------------------------------------------ one process */

/* Read a small /proc file into @buf (NUL-terminated). Returns bytes read or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/*
 * From /proc/PID/stat: the command, the state and whether it is a kernel thread. Returns 0, or
 * -ENOENT when the process is gone.
 */
static int read_stat(const char *base, char *comm, size_t commlen, char *state, int *kthread)
{
	char path[PROC_PATH], buf[1024], *open_paren, *close_paren;
	unsigned long flags = 0;
	ssize_t n;

	pathf(path, sizeof(path), "%s/stat", base);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return -ENOENT;
	/* The command may hold spaces and parentheses: it ends at the last ')'. */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -ENOENT;
	snprintf(comm, commlen, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	/* state ppid pgrp session tty_nr tpgid flags */
	if (sscanf(close_paren + 1, " %c %*d %*d %*d %*d %*d %lu", state, &flags) != 2)
		return -ENOENT;
	*kthread = (flags & PF_KTHREAD_FLAG) != 0;
	return 0;
}

static uid_t read_euid(const char *base)
{
	char path[PROC_PATH], buf[4096], *p;
	unsigned long ruid, euid;

	pathf(path, sizeof(path), "%s/status", base);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return (uid_t)-1;
	p = strstr(buf, "\nUid:");
	if (!p || sscanf(p + 5, "%lu %lu", &ruid, &euid) != 2)
		return (uid_t)-1;
	return (uid_t)euid;
}

/*
 * The directory to inspect: /proc/PID, or - when the thread-group leader has exited while other
 * threads run on (its maps and fd table are then empty) - /proc/PID/task/TID of a live thread.
 */
static void inspect_base(pid_t pid, char state, char *base, size_t len)
{
	char dir[PROC_PATH], tbase[PROC_PATH], comm[64], st;
	struct dirent *d;
	int kthread;
	DIR *dp;

	pathf(base, len, "/proc/%d", (int)pid);
	if (state != 'Z')
		return;
	pathf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	dp = opendir(dir);
	if (!dp)
		return;
	while ((d = readdir(dp))) {
		if (!isdigit((unsigned char)d->d_name[0]) || atoi(d->d_name) == pid)
			continue;
		pathf(tbase, sizeof(tbase), "%s/%s", dir, d->d_name);
		if (read_stat(tbase, comm, sizeof(comm), &st, &kthread) == 0 && st != 'Z') {
			pathf(base, len, "%s", tbase);
			break;
		}
	}
	closedir(dp);
}

static struct ps_ring *new_ring(struct ctx *c, struct ps_proc *p, int fd)
{
	struct ps_ring *r = xrealloc(c, p->rings, p->nrings + 1, sizeof(*r));

	if (!r)
		return NULL;
	p->rings = r;
	r = &p->rings[p->nrings++];
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->sq_thread = -1;
	return r;
}

/*
 * An io_uring descriptor's fdinfo: its registered files (a fixed file keeps the file open with no
 * descriptor left in the process) and, with PS_SCAN_URING, the ring and its buffers:
 *
 *	SqMask:	0x7
 *	CqMask:	0xf
 *	SqThread:	-1
 *	UserFiles:	2
 *	    0: /dev/null
 *	    1: /dev/shm/frames
 *	UserBufs:	1
 *	    0: 0x7f61c948f000/4096
 */
/*
 * Whether an io_uring fdinfo's text has the ring's part and lists as many registered files and
 * buffers as its "UserFiles:" and "UserBufs:" lines count.
 */
static int ring_listing_complete(const char *text)
{
	unsigned want_files = ~0u, want_bufs = 0, files = 0, bufs = 0, idx, *count = NULL;
	const char *line;

	for (line = text; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
		if (!isspace((unsigned char)line[0]))
			count = NULL;
		if (sscanf(line, "UserFiles: %u", &want_files) == 1)
			count = &files;
		else if (sscanf(line, "UserBufs: %u", &want_bufs) == 1)
			count = &bufs;
		else if (count && sscanf(line, " %u:", &idx) == 1)
			(*count)++;
	}
	return want_files != ~0u && files >= want_files && bufs >= want_bufs;
}

/*
 * An io_uring descriptor's fdinfo, whole. The kernel shows a ring's part (on Linux 6.x all of
 * it; on older kernels the lists of registered files and buffers) only when it takes the ring's
 * lock without waiting (it must not wait there, for lock order); while the ring is busy, or
 * another reader is in the same fdinfo (a second lsshm, mvshm gc), the part is missing, and a
 * file held only by the ring would look unused (seen: 1 reading in ~1000 with one other reader
 * looping). So read again, a few times over ~20 ms, until the ring's part is there and its
 * counts and entries agree; the last reading is used either way. NULL when it cannot be read.
 */
static FILE *open_ring_fdinfo(const char *path, char **text)
{
	int attempt;

	*text = NULL;
	for (attempt = 0; attempt < 20; attempt++) {
		size_t cap = 0;
		ssize_t n;
		FILE *fp = fopen(path, "re");

		if (!fp)
			return NULL;
		free(*text);
		*text = NULL;
		n = getdelim(text, &cap, '\0', fp);
		fclose(fp);
		if (n <= 0)
			return NULL;
		if (ring_listing_complete(*text))
			break;
		usleep(1000);
	}
	return fmemopen(*text, strlen(*text), "r");
}

static void scan_ring(struct ctx *c, struct ps_proc *p, const char *base, int fd)
{
	enum { NONE, FILES, BUFS } section = NONE;
	char path[PROC_PATH], *line = NULL, *s, *text;
	struct ps_ring *ring = NULL, scratch;
	struct ps_ubuf *b;
	struct ps_file *f;
	struct ps_use *u;
	unsigned long long v, len;
	unsigned idx;
	size_t cap = 0;
	FILE *fp;

	pathf(path, sizeof(path), "%s/fdinfo/%d", base, fd);
	fp = open_ring_fdinfo(path, &text);
	if (!fp) {
		free(text);
		return;
	}
	if (c->flags & PS_SCAN_URING)
		ring = new_ring(c, p, fd);
	if (!ring) {
		memset(&scratch, 0, sizeof(scratch));
		ring = &scratch;
	}
	while (getline(&line, &cap, fp) > 0) {
		s = strchr(line, '\n');
		if (s)
			*s = '\0';
		if (!isspace((unsigned char)line[0]))
			section = NONE;
		if (sscanf(line, "ino: %lu", &ring->ino) == 1)
			continue;
		if (sscanf(line, "SqMask: %llx", &v) == 1) {
			ring->sq_entries = (unsigned)v + 1;
		} else if (sscanf(line, "CqMask: %llx", &v) == 1) {
			ring->cq_entries = (unsigned)v + 1;
		} else if (sscanf(line, "SqThread: %d", &ring->sq_thread) == 1) {
			continue;
		} else if (sscanf(line, "UserFiles: %u", &ring->nfiles) == 1) {
			section = FILES;
		} else if (strncmp(line, "UserBufs:", 9) == 0) {
			section = BUFS;
		} else if (section == FILES && sscanf(line, " %u:", &idx) == 1) {
			s = strchr(line, ':') + 1;
			while (*s == ' ')
				s++;
			f = find_path(c, s);
			u = f ? use_of(c, f, p) : NULL;
			if (u) {
				u->how |= PS_URING_FILE;
				u->uring_files++;
			}
		} else if (section == BUFS && ring != &scratch &&
			   sscanf(line, " %u: 0x%llx/%llu", &idx, &v, &len) == 3) {
			b = xrealloc(c, ring->bufs, ring->nbufs + 1, sizeof(*b));
			if (!b)
				break;
			ring->bufs = b;
			b = &ring->bufs[ring->nbufs++];
			memset(b, 0, sizeof(*b));
			b->index = idx;
			b->addr = v;
			b->len = len;
		}
	}
	free(line);
	fclose(fp);
	free(text);
}

/* The locks an open descriptor of a file holds, from its fdinfo "lock:" lines. */
static unsigned fd_locks(const char *base, int fd, const struct ps_file *f)
{
	char path[PROC_PATH], *line = NULL;
	struct lockline l;
	unsigned how = 0;
	size_t cap = 0;
	FILE *fp;

	pathf(path, sizeof(path), "%s/fdinfo/%d", base, fd);
	fp = fopen(path, "re");
	if (!fp)
		return 0;
	while (getline(&line, &cap, fp) > 0) {
		if (strncmp(line, "lock:", 5) != 0 || parse_lock(line + 5, &l) < 0)
			continue;
		if (l.ino != f->ino || l.dev != f->dev || l.waiter)
			continue;
		how |= lock_is_export(&l) ? PS_EXPORT_LOCK : PS_LOCKED;
	}
	free(line);
	fclose(fp);
	return how;
}

/* Descriptors. Returns 1 if the fd table was read, 0 if not permitted, -ENOENT if gone. */
static int scan_fds(struct ctx *c, struct ps_proc *p, const char *base)
{
	char dir[PROC_PATH], path[160], link[PATH_MAX];
	struct dirent *d;
	struct ps_file *f;
	struct ps_use *u;
	struct stat st;
	ssize_t n;
	DIR *dp;
	int fd;

	pathf(dir, sizeof(dir), "%s/fd", base);
	dp = opendir(dir);
	if (!dp)
		return errno == ENOENT || errno == ESRCH ? -ENOENT : 0;
	while ((d = readdir(dp))) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		fd = atoi(d->d_name);
		pathf(path, sizeof(path), "%s/%s", dir, d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[io_uring]") == 0) {
			scan_ring(c, p, base, fd);
			continue;
		}
		/* Sockets, pipes and anonymous inodes are not files of ours. */
		if (link[0] != '/' || (!c->nfiles && !(c->flags & PS_SCAN_MEMFD)))
			continue;
		if (stat(path, &st) < 0)
			continue;
		f = find_file(c, st.st_dev, st.st_ino);
		if (!f)
			f = memfd_seen(c, st.st_dev, st.st_ino, link, path, 1);
		if (!f || !(u = use_of(c, f, p)))
			continue;
		u->how |= PS_OPEN | fd_locks(base, fd, f);
		add_fd(c, u, fd);
	}
	closedir(dp);
	return 1;
}

/* A mapping of [@start, @end) of (@dev, @ino), whose path is @link, in the process at @base. */
static void add_mapping(struct ctx *c, struct ps_proc *p, const char *base, dev_t dev, ino_t ino,
			uint64_t start, uint64_t end, const char *link)
{
	struct ps_file *f = find_file(c, dev, ino);
	char reach[PROC_PATH];
	struct ps_use *u;

	if (!f && (c->flags & PS_SCAN_MEMFD)) {
		/* The same name /proc/PID/map_files gives the mapping. */
		pathf(reach, sizeof(reach), "%s/map_files/%llx-%llx", base,
		      (unsigned long long)start, (unsigned long long)end);
		f = memfd_seen(c, dev, ino, link, reach, 0);
	}
	if (!f || !(u = use_of(c, f, p)))
		return;
	u->how |= PS_MAPPED;
	u->nmaps++;
	u->mapped += end - start;
}

/*
 * Mappings. Returns 1 if read, 0 if not permitted, -ENOENT if gone. With io_uring buffers to
 * place, keeps the file-backed and anonymous ranges in @ranges.
 */
static int scan_maps(struct ctx *c, struct ps_proc *p, const char *base, struct range **ranges,
		     size_t *nranges)
{
	char path[PROC_PATH], *line = NULL, *s;
	unsigned long long start, end, offset;
	unsigned maj, min;
	unsigned long ino;
	struct range *r;
	size_t cap = 0;
	int keep = 0, pos;
	size_t i;
	FILE *fp;

	for (i = 0; i < p->nrings; i++)
		keep |= p->rings[i].nbufs > 0;
	pathf(path, sizeof(path), "%s/maps", base);
	fp = fopen(path, "re");
	if (!fp)
		return errno == ENOENT || errno == ESRCH ? -ENOENT : 0;
	/* 7f61c948f000-7f61c9490000 rw-s 00000000 00:1a 17092    /dev/shm/frames */
	while (getline(&line, &cap, fp) > 0) {
		pos = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %lu %n", &start, &end, &offset, &maj,
			   &min, &ino, &pos) < 6)
			continue;
		s = pos ? line + pos : line + strlen(line);
		s[strcspn(s, "\n")] = '\0';
		if (ino)
			add_mapping(c, p, base, makedev(maj, min), (ino_t)ino, start, end, s);
		if (!keep)
			continue;
		r = xrealloc(c, *ranges, *nranges + 1, sizeof(*r));
		if (!r)
			break;
		*ranges = r;
		r = &r[(*nranges)++];
		r->start = start;
		r->end = end;
		r->offset = offset;
		r->path = strdup(*s ? s : "[anon]");
		if (!r->path)
			c->oom = 1;
	}
	free(line);
	fclose(fp);
	return 1;
}

/*
 * Where /proc/PID/maps is refused but /proc/PID/map_files is listed (a different access rule on
 * some kernels and security modules): each entry is a mapping, and stat() through it names the
 * file. Returns 1 if read, 0 if not.
 */
static int scan_map_files(struct ctx *c, struct ps_proc *p, const char *base)
{
	char dir[PROC_PATH], path[200], link[PATH_MAX];
	unsigned long long start, end;
	struct dirent *d;
	struct stat st;
	ssize_t n;
	DIR *dp;

	pathf(dir, sizeof(dir), "%s/map_files", base);
	dp = opendir(dir);
	if (!dp)
		return 0;
	while ((d = readdir(dp))) {
		if (sscanf(d->d_name, "%llx-%llx", &start, &end) != 2)
			continue;
		pathf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (stat(path, &st) < 0) {
			if (errno == EPERM || errno == EACCES) {
				closedir(dp);
				return 0;
			}
			continue;
		}
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		add_mapping(c, p, base, st.st_dev, st.st_ino, start, end, link);
	}
	closedir(dp);
	return 1;
}

/* Name the mapping each registered buffer lies in. */
static void place_buffers(struct ctx *c, struct ps_proc *p, struct range *ranges, size_t n)
{
	struct ps_ubuf *b;
	size_t i, j, k;

	for (i = 0; i < p->nrings; i++) {
		for (j = 0; j < p->rings[i].nbufs; j++) {
			b = &p->rings[i].bufs[j];
			for (k = 0; k < n; k++) {
				if (b->addr < ranges[k].start || b->addr >= ranges[k].end)
					continue;
				b->backing = strdup(ranges[k].path);
				if (!b->backing)
					c->oom = 1;
				b->offset = ranges[k].offset + (b->addr - ranges[k].start);
				break;
			}
		}
	}
}

static void free_proc(struct ps_proc *p)
{
	size_t i, j;

	if (!p)
		return;
	for (i = 0; i < p->nrings; i++) {
		for (j = 0; j < p->rings[i].nbufs; j++)
			free(p->rings[i].bufs[j].backing);
		free(p->rings[i].bufs);
	}
	free(p->rings);
	free(p);
}

/* Drop the use of @f by @p, if it is the last recorded (the one of the process being scanned). */
static void forget_use(struct ps_file *f, const struct ps_proc *p)
{
	if (f->nuses && f->uses[f->nuses - 1].proc == p)
		free(f->uses[--f->nuses].fds);
}

/* Drop the uses of @p recorded so far (the process vanished mid-scan). */
static void forget_proc(struct ctx *c, const struct ps_proc *p)
{
	char prefix[32];
	size_t i, n;

	for (i = 0; i < c->nfiles; i++)
		forget_use(&c->files[i], p);
	/* Its paths to memfds lead nowhere now: a later process's will do, or none. */
	n = (size_t)snprintf(prefix, sizeof(prefix), "/proc/%d/", (int)p->pid);
	for (i = 0; i < c->scan->nmemfds; i++) {
		struct ps_memfd *m = c->scan->memfds[i];

		forget_use(&m->file, p);
		if (m->reach && strncmp(m->reach, prefix, n) == 0) {
			free(m->reach);
			m->reach = NULL;
		}
	}
}

/*
 * After the scan: memfds that no process still uses (theirs vanished) are gone. One still used
 * may have lost its path with the process it went through (reach NULL): it is kept, unreachable.
 */
static void drop_unused_memfds(struct ps_scan *scan)
{
	size_t i, kept = 0;

	for (i = 0; i < scan->nmemfds; i++) {
		struct ps_memfd *m = scan->memfds[i];

		if (m->file.nuses) {
			scan->memfds[kept++] = m;
			continue;
		}
		ps_scan_free(NULL, &m->file, 1);
		free(m->name);
		free(m->reach);
		free(m);
	}
	scan->nmemfds = kept;
}

static void scan_process(struct ctx *c, pid_t pid)
{
	struct range *ranges = NULL;
	struct ps_proc *p, **procs;
	size_t nranges = 0, i;
	char base[PROC_PATH], state;
	int kthread, fds_ok, maps_ok;

	p = calloc(1, sizeof(*p));
	if (!p) {
		c->oom = 1;
		return;
	}
	p->pid = pid;
	pathf(base, sizeof(base), "/proc/%d", (int)pid);
	if (read_stat(base, p->comm, sizeof(p->comm), &state, &kthread) < 0 || kthread) {
		free_proc(p);
		return;
	}
	p->uid = read_euid(base);
	inspect_base(pid, state, base, sizeof(base));

	fds_ok = scan_fds(c, p, base);
	maps_ok = fds_ok < 0 ? -ENOENT : scan_maps(c, p, base, &ranges, &nranges);
	if (maps_ok == 0)
		maps_ok = scan_map_files(c, p, base);
	if (fds_ok < 0 || maps_ok < 0) {
		forget_proc(c, p);
		free_proc(p);
		goto out;
	}
	place_buffers(c, p, ranges, nranges);
	p->inspected = fds_ok && maps_ok;
	if (!p->inspected) {
		/* A zombie has nothing left to map or hold: not seeing it hides nothing. */
		if (state != 'Z') {
			if (c->scan->uninspected < sizeof(c->scan->uninspected_pid) /
							   sizeof(c->scan->uninspected_pid[0]))
				c->scan->uninspected_pid[c->scan->uninspected] = pid;
			c->scan->uninspected++;
		}
	}
	procs = xrealloc(c, c->scan->procs, c->scan->nprocs + 1, sizeof(*procs));
	if (!procs) {
		forget_proc(c, p);
		free_proc(p);
		goto out;
	}
	c->scan->procs = procs;
	procs[c->scan->nprocs++] = p;
out:
	for (i = 0; i < nranges; i++)
		free(ranges[i].path);
	free(ranges);
}

/* ------------------------------------------------------------------ the scan */

/* Whether /proc hides other users' processes from us (mounted hidepid=1 or 2, or invisible). */
static int proc_hides(void)
{
	char *line = NULL, *sep, *opt;
	size_t cap = 0;
	int hides = 0;
	FILE *fp;

	if (geteuid() == 0)
		return 0;
	fp = fopen("/proc/self/mountinfo", "re");
	if (!fp)
		return 0;
	while (getline(&line, &cap, fp) > 0) {
		/* "... /proc rw,... - proc proc rw,hidepid=2" */
		sep = strstr(line, " - proc ");
		if (!sep || !strstr(line, " /proc "))
			continue;
		opt = strstr(sep, "hidepid=");
		if (opt && strncmp(opt + 8, "0", 1) != 0 && strncmp(opt + 8, "off", 3) != 0)
			hides = 1;
	}
	free(line);
	fclose(fp);
	return hides;
}

/* The inode of the initial PID namespace's nsfs file: PROC_PID_INIT_INO (linux/proc_ns.h). */
#define PID_NS_INIT_INO 0xEFFFFFFCul

int ps_pidns_blind(char *why, size_t len)
{
	char self[32];
	struct stat st;
	ssize_t n;

	if (stat("/proc/self/ns/pid", &st) < 0) {
		snprintf(why, len, "cannot tell which PID namespace this is (/proc/self/ns/pid: %s)",
			 strerror(errno));
		return 1;
	}
	if ((unsigned long)st.st_ino != PID_NS_INIT_INO) {
		snprintf(why, len, "this is not the initial PID namespace (a container?): processes "
				   "outside it are not in /proc");
		return 1;
	}
	/* /proc/self names us as /proc's namespace numbers us: our own pid if it is ours. */
	n = readlink("/proc/self", self, sizeof(self) - 1);
	if (n < 0 || (self[n] = '\0', strtol(self, NULL, 10) != (long)getpid())) {
		snprintf(why, len, "/proc is not this PID namespace's own");
		return 1;
	}
	why[0] = '\0';
	return 0;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct ps_proc *pa = *(const struct ps_proc *const *)a;
	const struct ps_proc *pb = *(const struct ps_proc *const *)b;

	return (pa->pid > pb->pid) - (pa->pid < pb->pid);
}

static int cmp_use(const void *a, const void *b)
{
	const struct ps_use *ua = a, *ub = b;

	return (ua->proc->pid > ub->proc->pid) - (ua->proc->pid < ub->proc->pid);
}

int ps_scan(struct ps_scan *out, struct ps_file *files, size_t n, unsigned flags)
{
	struct ctx c;
	struct dirent *d;
	char *end;
	long pid;
	size_t i;
	DIR *dp;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	for (i = 0; i < n; i++) {
		files[i].uses = NULL;
		files[i].nuses = 0;
		files[i].fcntl_locks = files[i].other_locks = 0;
		files[i].export_locked = 0;
		files[i].kernel = NULL;
	}
	c.scan = out;
	c.files = files;
	c.nfiles = n;
	c.flags = flags;
	c.self = getpid();
	c.index = calloc(n ? n : 1, sizeof(*c.index));
	if (!c.index)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		c.index[i] = &files[i];
	if (n > 1)
		qsort(c.index, n, sizeof(*c.index), cmp_index);

	dp = opendir("/proc");
	if (!dp) {
		rc = -errno;
		free(c.index);
		return rc;
	}
	while ((d = readdir(dp))) {
		pid = strtol(d->d_name, &end, 10);
		if (*end || pid <= 0 || pid > INT_MAX || (pid_t)pid == c.self)
			continue;
		scan_process(&c, (pid_t)pid);
	}
	closedir(dp);
	if (n || (flags & PS_SCAN_MEMFD))
		scan_locks(&c);
	if (n)
		scan_loops(&c);
	drop_unused_memfds(out);
	out->hidepid = proc_hides();
	if (!(flags & PS_SCAN_ALL_VISIBLE))
		out->pidns_blind = ps_pidns_blind(out->pidns_why, sizeof(out->pidns_why));
	/* qsort() wants a real array, even of nothing. */
	if (out->nprocs > 1)
		qsort(out->procs, out->nprocs, sizeof(*out->procs), cmp_proc);
	for (i = 0; i < n; i++)
		if (files[i].nuses > 1)
			qsort(files[i].uses, files[i].nuses, sizeof(*files[i].uses), cmp_use);
	for (i = 0; i < out->nmemfds; i++)
		if (out->memfds[i]->file.nuses > 1)
			qsort(out->memfds[i]->file.uses, out->memfds[i]->file.nuses,
			      sizeof(*out->memfds[i]->file.uses), cmp_use);
	free(c.index);
	if (c.oom) {
		ps_scan_free(out, files, n);
		return -ENOMEM;
	}
	return 0;
}

void ps_scan_free(struct ps_scan *scan, struct ps_file *files, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < files[i].nuses; j++)
			free(files[i].uses[j].fds);
		free(files[i].uses);
		free(files[i].kernel);
		files[i].uses = NULL;
		files[i].nuses = 0;
		files[i].kernel = NULL;
	}
	if (!scan)
		return;
	for (i = 0; i < scan->nmemfds; i++) {
		ps_scan_free(NULL, &scan->memfds[i]->file, 1);
		free(scan->memfds[i]->name);
		free(scan->memfds[i]->reach);
		free(scan->memfds[i]);
	}
	free(scan->memfds);
	scan->memfds = NULL;
	scan->nmemfds = 0;
	for (i = 0; i < scan->nprocs; i++)
		free_proc(scan->procs[i]);
	free(scan->procs);
	scan->procs = NULL;
	scan->nprocs = 0;
}

const char *ps_how_string(unsigned how, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ PS_MAPPED, "mapped" },       { PS_OPEN, "open" },
		{ PS_URING_FILE, "uring" },    { PS_EXPORT_LOCK, "export-lock" },
		{ PS_LOCKED, "lock" },
	};
	size_t i, used = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int w;

		if (!(how & names[i].bit) || used >= len)
			continue;
		w = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i].name);
		if (w > 0)
			used += (size_t)w;
	}
	return buf;
}

/* A few names remembered: getpwuid() may ask the network for each. */
#define NAME_CACHE 32

struct name_cache {
	unsigned long id[NAME_CACHE];
	char name[NAME_CACHE][64];
	size_t n, next;
};

static const char *cache_lookup(struct name_cache *nc, unsigned long id)
{
	size_t i;

	for (i = 0; i < nc->n; i++)
		if (nc->id[i] == id)
			return nc->name[i];
	return NULL;
}

static const char *cache_store(struct name_cache *nc, unsigned long id, const char *name)
{
	size_t i = nc->next;

	nc->next = (nc->next + 1) % NAME_CACHE;
	if (nc->n < NAME_CACHE)
		nc->n++;
	nc->id[i] = id;
	if (id == (unsigned long)(uid_t)-1)
		snprintf(nc->name[i], sizeof(nc->name[i]), "?");
	else if (name)
		snprintf(nc->name[i], sizeof(nc->name[i]), "%s", name);
	else
		snprintf(nc->name[i], sizeof(nc->name[i]), "%lu", id);
	return nc->name[i];
}

const char *ps_user_name(uid_t uid)
{
	static struct name_cache nc;
	const char *s = cache_lookup(&nc, (unsigned long)uid);
	struct passwd *pw;

	if (s)
		return s;
	pw = uid == (uid_t)-1 ? NULL : getpwuid(uid);
	return cache_store(&nc, (unsigned long)uid, pw ? pw->pw_name : NULL);
}

const char *ps_group_name(gid_t gid)
{
	static struct name_cache nc;
	const char *s = cache_lookup(&nc, (unsigned long)gid);
	struct group *gr;

	if (s)
		return s;
	gr = getgrgid(gid);
	return cache_store(&nc, (unsigned long)gid, gr ? gr->gr_name : NULL);
}
