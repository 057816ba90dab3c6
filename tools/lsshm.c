/*
 * tools/lsshm.c - list POSIX shared-memory objects and memfds: who maps them, who holds them
 * open, which memview holders they record, and which of them nothing uses any more.
 *
 * Three tables, one per mode, each with its columns described once (name, width hint, flags, JSON
 * type, help) and chosen with -o as util-linux's lsipc and lsblk do:
 *   segments (default)  one row per object in /dev/shm, then one per memfd in use
 *   --processes         one row per process that uses an object (or is recorded as its holder)
 *   --uring             one row per registered buffer of each io_uring instance
 * Rows are built as text and a sort key for every column, sorted, then handed to libsmartcols,
 * which does the table, --raw and --json output.
 *
 * The survey (shmscan.c) and the /proc scan under it (procscan.c) are the code `mvshm gc` uses.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "../util/cli.h"
#include "toolcli.h"
#include "shmscan.h"

/* Column kinds: how a value is shown and sorted. */
enum {
	K_TEXT,  /* sorted as text */
	K_NUM,   /* a number */
	K_ORD,   /* text (a time, an age, an address) sorted by a number */
	K_SIZE,  /* bytes: human-readable unless --bytes; a number in JSON only with --bytes */
	K_LIST,  /* several values: "a,b" in a table, an array in JSON */
	K_NLIST, /* several numbers */
	K_BOOL,  /* yes/no (and ? for unknown): true/false/null in JSON */
	K_PCT,   /* a percentage, "12.5%": a number in JSON (--global) */
};

struct column {
	const char *name;
	const char *label;    /* for the one-segment view */
	double whint;         /* libsmartcols width hint: < 1 a fraction of the terminal */
	int flags;            /* SCOLS_FL_* */
	int kind;             /* K_* */
	const char *help;
};

/* ------------------------------------------------------------------ segment columns */

enum {
	S_NAME, S_TYPE, S_PATH, S_SIZE, S_USED, S_OWNER, S_UID, S_GROUP, S_GID, S_MODE, S_MTIME,
	S_AGE, S_MEMVIEW, S_FORMAT, S_SHAPE, S_DATA, S_GEN, S_SEALS, S_CREATOR, S_NPROCS, S_PIDS,
	S_PROCS, S_HOLDERS, S_EXPORTS, S_BUSY, S_STALE, S_WHY, S_NOTE, S_NCOLS
};

static const struct column seg_columns[S_NCOLS] = {
	[S_NAME] = { "NAME", "Name", 0.2, SCOLS_FL_NOEXTREMES, K_TEXT,
		     "POSIX name (/NAME is /dev/shm/NAME), or memfd:NAME" },
	[S_TYPE] = { "TYPE", "Type", 5, 0, K_TEXT,
		     "shm, sem (POSIX semaphore), or memfd (no name in /dev/shm)" },
	[S_PATH] = { "PATH", "Path", 0.2, SCOLS_FL_TRUNC, K_TEXT,
		     "where to open it: /dev/shm/NAME, or /proc/PID/fd/N for a memfd" },
	[S_SIZE] = { "SIZE", "Size", 5, SCOLS_FL_RIGHT, K_SIZE, "size of the object" },
	[S_USED] = { "USED", "Used", 5, SCOLS_FL_RIGHT, K_SIZE, "memory it takes (allocated)" },
	[S_OWNER] = { "OWNER", "Owner", 8, SCOLS_FL_TRUNC, K_TEXT, "owner" },
	[S_UID] = { "UID", "UID", 5, SCOLS_FL_RIGHT, K_NUM, "owner's user ID" },
	[S_GROUP] = { "GROUP", "Group", 8, SCOLS_FL_TRUNC, K_TEXT, "group" },
	[S_GID] = { "GID", "GID", 5, SCOLS_FL_RIGHT, K_NUM, "group ID" },
	[S_MODE] = { "MODE", "Mode", 10, 0, K_TEXT, "permissions" },
	[S_MTIME] = { "MTIME", "Modified", 16, 0, K_ORD, "last modification" },
	[S_AGE] = { "AGE", "Age", 5, SCOLS_FL_RIGHT, K_ORD, "time since the last modification" },
	[S_MEMVIEW] = { "MEMVIEW", "Memview", 3, 0, K_TEXT,
			"memview header: yes, no, bad (fails a check), ? (unreadable)" },
	[S_FORMAT] = { "FORMAT", "Format", 3, 0, K_TEXT, "memview item format" },
	[S_SHAPE] = { "SHAPE", "Shape", 5, 0, K_NLIST, "memview shape" },
	[S_DATA] = { "DATA", "Data size", 5, SCOLS_FL_RIGHT, K_SIZE, "memview data size" },
	[S_GEN] = { "GEN", "Generation", 3, SCOLS_FL_RIGHT, K_NUM,
		    "memview generation (bumped by resizes)" },
	[S_SEALS] = { "SEALS", "Seals", 5, 0, K_LIST, "seals in force" },
	[S_CREATOR] = { "CREATOR", "Creator", 5, SCOLS_FL_RIGHT, K_NUM, "memview creator's PID" },
	[S_NPROCS] = { "NPROCS", "Processes", 3, SCOLS_FL_RIGHT, K_NUM,
		       "number of processes that use it" },
	[S_PIDS] = { "PIDS", "PIDs", 5, 0, K_NLIST, "PIDs of the processes that use it" },
	[S_PROCS] = { "PROCS", "Used by", 0.2, SCOLS_FL_TRUNC, K_LIST,
		      "the same, as COMMAND[PID] (and how, in JSON)" },
	[S_HOLDERS] = { "HOLDERS", "Holders", 0.1, SCOLS_FL_TRUNC, K_LIST,
			"memview holders as PID:EXPORTS, (dead) if dead" },
	[S_EXPORTS] = { "EXPORTS", "Exports", 3, SCOLS_FL_RIGHT, K_NUM,
			"exports (views) its live holders recorded" },
	[S_BUSY] = { "BUSY", "Busy", 3, 0, K_BOOL, "a process holds memview's export lock" },
	[S_STALE] = { "STALE", "Stale", 3, 0, K_BOOL,
		      "nothing uses it (? when not every process could be inspected)" },
	[S_WHY] = { "WHY", "Why", 0.3, SCOLS_FL_TRUNC, K_TEXT, "why it is, or is not, stale" },
	[S_NOTE] = { "NOTE", "Note", 0.2, SCOLS_FL_TRUNC, K_TEXT,
		     "why the header is bad or unreadable" },
};

static const int seg_default[] = { S_NAME, S_SIZE, S_OWNER, S_MODE, S_MTIME, S_MEMVIEW, S_PROCS,
				   S_HOLDERS, S_STALE };

/* ------------------------------------------------------------------ process columns */

enum {
	P_NAME, P_PID, P_COMMAND, P_USER, P_USE, P_FDS, P_MAPS, P_MAPPED, P_HOLDER, P_EXPORTS,
	P_ALIVE, P_NCOLS
};

static const struct column proc_columns[P_NCOLS] = {
	[P_NAME] = { "NAME", "Name", 0.2, SCOLS_FL_NOEXTREMES, K_TEXT, "POSIX name of the object" },
	[P_PID] = { "PID", "PID", 5, SCOLS_FL_RIGHT, K_NUM, "process ID" },
	[P_COMMAND] = { "COMMAND", "Command", 0.1, SCOLS_FL_TRUNC, K_TEXT,
			"command name (empty for a dead holder)" },
	[P_USER] = { "USER", "User", 8, SCOLS_FL_TRUNC, K_TEXT, "the process's user" },
	[P_USE] = { "USE", "Use", 0.1, 0, K_LIST,
		    "mapped, open, uring (fixed file), export-lock, lock, holder" },
	[P_FDS] = { "FDS", "Descriptors", 3, 0, K_NLIST, "descriptors open on it" },
	[P_MAPS] = { "MAPS", "Mappings", 3, SCOLS_FL_RIGHT, K_NUM, "number of mappings" },
	[P_MAPPED] = { "MAPPED", "Mapped", 5, SCOLS_FL_RIGHT, K_SIZE, "bytes mapped" },
	[P_HOLDER] = { "HOLDER", "Holder", 3, 0, K_BOOL, "has a slot in the memview holder table" },
	[P_EXPORTS] = { "EXPORTS", "Exports", 3, SCOLS_FL_RIGHT, K_NUM,
			"exports its holder slot records" },
	[P_ALIVE] = { "ALIVE", "Alive", 3, 0, K_BOOL, "the process runs (no: a dead holder)" },
};

static const int proc_default[] = { P_NAME, P_PID, P_COMMAND, P_USER, P_USE, P_FDS, P_MAPPED,
				    P_EXPORTS, P_ALIVE };

/* ------------------------------------------------------------------ io_uring columns */

enum {
	U_PID, U_COMMAND, U_USER, U_FD, U_INO, U_SQ, U_CQ, U_SQPOLL, U_FILES, U_BUFS, U_BUF,
	U_ADDR, U_SIZE, U_BACKING, U_OFFSET, U_NCOLS
};

static const struct column uring_columns[U_NCOLS] = {
	[U_PID] = { "PID", "PID", 5, SCOLS_FL_RIGHT, K_NUM, "process ID" },
	[U_COMMAND] = { "COMMAND", "Command", 0.1, SCOLS_FL_TRUNC, K_TEXT, "command name" },
	[U_USER] = { "USER", "User", 8, SCOLS_FL_TRUNC, K_TEXT, "the process's user" },
	[U_FD] = { "FD", "FD", 3, SCOLS_FL_RIGHT, K_NUM, "the io_uring instance's descriptor" },
	[U_INO] = { "INO", "Inode", 5, SCOLS_FL_RIGHT, K_NUM,
		    "its inode (the same in processes sharing it)" },
	[U_SQ] = { "SQ", "SQ entries", 3, SCOLS_FL_RIGHT, K_NUM, "submission queue entries" },
	[U_CQ] = { "CQ", "CQ entries", 3, SCOLS_FL_RIGHT, K_NUM, "completion queue entries" },
	[U_SQPOLL] = { "SQPOLL", "SQPOLL thread", 5, SCOLS_FL_RIGHT, K_NUM,
		       "PID of its SQPOLL kernel thread" },
	[U_FILES] = { "FILES", "Files", 3, SCOLS_FL_RIGHT, K_NUM, "registered files" },
	[U_BUFS] = { "BUFS", "Buffers", 3, SCOLS_FL_RIGHT, K_NUM, "registered buffers" },
	[U_BUF] = { "BUF", "Buffer", 3, SCOLS_FL_RIGHT, K_NUM, "buffer index" },
	[U_ADDR] = { "ADDR", "Address", 14, 0, K_ORD, "buffer address" },
	[U_SIZE] = { "SIZE", "Size", 5, SCOLS_FL_RIGHT, K_SIZE, "buffer size" },
	[U_BACKING] = { "BACKING", "Backing", 0.2, SCOLS_FL_TRUNC, K_TEXT,
			"the mapping it lies in: a file, or [anon]" },
	[U_OFFSET] = { "OFFSET", "Offset", 5, SCOLS_FL_RIGHT, K_NUM,
		       "its offset in that file" },
};

static const int uring_default[] = { U_PID, U_COMMAND, U_FD, U_SQ, U_CQ, U_FILES, U_BUF, U_ADDR,
				     U_SIZE, U_BACKING, U_OFFSET };

/* ------------------------------------------------------------------ rows */

#define MAX_COLS 32

/* One cell: its text as printed, and what it sorts by. */
struct cell {
	char *text;       /* NULL: empty */
	int has_num;
	uint64_t num;
};

struct row {
	struct cell cells[MAX_COLS];
	size_t seq;       /* the order it was built in: sorting keeps it among equals */
};

struct rows {
	struct row *v;
	size_t n;
	int sort_col;     /* -1: keep the order */
};

struct opts {
	int json, raw, noheadings, bytes;
	int all_visible;  /* --all-processes-visible */
	int global;       /* --global */
	int stale_only;
	int mode;         /* 's'egments, 'p'rocesses, 'u'ring */
	const char *only; /* "/NAME"; or "memfd:NAME" or a path, with one of these: */
	int only_memfd;   /* show the memfds named @only */
	int only_inode;   /* show the object that @only (a path: /proc/PID/fd/N) opens */
	dev_t only_dev;
	ino_t only_ino;
};

static struct opts opt;
/* Rows being built for the one-object view ("Label: value" lines). */
static int vertical;

static CLI_NORETURN void oom(void)
{
	cli_fail("out of memory");
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

static struct row *new_row(struct rows *rs)
{
	struct row *v = realloc(rs->v, (rs->n + 1) * sizeof(*v));

	if (!v)
		oom();
	rs->v = v;
	memset(&v[rs->n], 0, sizeof(v[rs->n]));
	v[rs->n].seq = rs->n;
	return &v[rs->n++];
}

/*
 * What libsmartcols is given for a text that may come from another process (a name, a command,
 * a path): it escapes control characters itself in tables and raw output, and C0 controls in
 * JSON; DEL, C1 controls and bytes that are not UTF-8 it would write into JSON raw, so such a
 * text goes there escaped as a table shows it.
 */
static const char *cell_text(const char *s)
{
	return s && opt.json && !cli_json_plain(s) ? cli_visible(s) : s;
}

static void set_text(struct row *r, int col, const char *s)
{
	s = cell_text(s);
	free(r->cells[col].text);
	r->cells[col].text = s ? xstrdup(s) : NULL;
}

static void set_num(struct row *r, int col, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	set_text(r, col, buf);
	r->cells[col].has_num = 1;
	r->cells[col].num = v;
}

static void set_size(struct row *r, int col, uint64_t v)
{
	char buf[32];

	if (opt.bytes)
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	else
		cli_format_size(v, buf, sizeof(buf));
	set_text(r, col, buf);
	r->cells[col].has_num = 1;
	r->cells[col].num = v;
}

/* yes, no, or unknown (-1): "?" in a table, null in JSON. */
static void set_bool(struct row *r, int col, int v)
{
	set_text(r, col, v > 0 ? "yes" : v == 0 ? "no" : opt.json ? NULL : "?");
	r->cells[col].has_num = 1;
	r->cells[col].num = (uint64_t)(v + 1);
}

/* A list being built for a K_LIST or K_NLIST cell. */
struct list {
	char *s;
	size_t len;
};

static void list_add(struct list *l, const char *item)
{
	size_t n;
	char *s;

	/* A newline would split the item in two: JSON arrays are cut at newlines (below). */
	item = opt.json && strchr(item, '\n') ? cli_visible(item) : cell_text(item);
	n = strlen(item);
	s = realloc(l->s, l->len + n + 3);

	if (!s)
		oom();
	l->s = s;
	/*
	 * JSON arrays are split at newlines (libsmartcols' wrapnl); tables show commas, and the
	 * one-object view, whose items may hold commas themselves, a comma and a space.
	 */
	if (l->len && opt.json) {
		s[l->len++] = '\n';
	} else if (l->len) {
		s[l->len++] = ',';
		if (vertical)
			s[l->len++] = ' ';
	}
	memcpy(s + l->len, item, n + 1);
	l->len += n;
}

static void set_list(struct row *r, int col, struct list *l)
{
	free(r->cells[col].text);
	r->cells[col].text = l->s;
	l->s = NULL;
	l->len = 0;
}

static void free_rows(struct rows *rs)
{
	size_t i, j;

	for (i = 0; i < rs->n; i++)
		for (j = 0; j < MAX_COLS; j++)
			free(rs->v[i].cells[j].text);
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

static int sort_col;

static int cmp_cells(const struct cell *ca, const struct cell *cb)
{
	/* Empty cells last, numbers as numbers, the rest as text. */
	if (!ca->text || !cb->text)
		return !ca->text - !cb->text;
	if (ca->has_num && cb->has_num)
		return (ca->num > cb->num) - (ca->num < cb->num);
	return strcmp(ca->text, cb->text);
}

static int cmp_rows(const void *a, const void *b)
{
	const struct row *ra = a, *rb = b;
	int r = cmp_cells(&ra->cells[sort_col], &rb->cells[sort_col]);

	/* The rows come sorted by name: equals keep that order. */
	return r ? r : (ra->seq > rb->seq) - (ra->seq < rb->seq);
}

static void sort_rows(struct rows *rs)
{
	if (rs->sort_col < 0 || rs->n < 2)
		return;
	sort_col = rs->sort_col;
	qsort(rs->v, rs->n, sizeof(*rs->v), cmp_rows);
}

/* ------------------------------------------------------------------ building rows */

static void mode_string(mode_t m, char *buf)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	buf[0] = '-';
	for (i = 0; i < 9; i++)
		buf[i + 1] = (m & (0400 >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		buf[3] = (m & S_IXUSR) ? 's' : 'S';
	if (m & S_ISGID)
		buf[6] = (m & S_IXGRP) ? 's' : 'S';
	if (m & S_ISVTX)
		buf[9] = (m & S_IXOTH) ? 't' : 'T';
	buf[10] = '\0';
}

static void time_string(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!localtime_r(&t, &tm)) {
		snprintf(buf, len, "%lld", (long long)t);
		return;
	}
	/* A table wants it short; --raw and --json are read by programs: ISO 8601 in full. */
	strftime(buf, len, opt.json || opt.raw ? "%Y-%m-%dT%H:%M:%S%z" : "%Y-%m-%d %H:%M", &tm);
}

/* The columns that come from stat(2): size, owner, group, mode, times. */
static void stat_cells(struct row *r, const struct shm_seg *s, time_t now)
{
	char buf[64];

	set_size(r, S_SIZE, (uint64_t)s->st.st_size);
	set_size(r, S_USED, (uint64_t)s->st.st_blocks * 512);
	set_text(r, S_OWNER, ps_user_name(s->st.st_uid));
	set_num(r, S_UID, s->st.st_uid);
	set_text(r, S_GROUP, ps_group_name(s->st.st_gid));
	set_num(r, S_GID, s->st.st_gid);
	mode_string(s->st.st_mode, buf);
	set_text(r, S_MODE, buf);
	time_string(s->st.st_mtime, buf, sizeof(buf));
	set_text(r, S_MTIME, buf);
	r->cells[S_MTIME].has_num = 1;
	r->cells[S_MTIME].num = (uint64_t)s->st.st_mtime;
	set_text(r, S_AGE, cli_format_duration(now > s->st.st_mtime ?
					       (uint64_t)(now - s->st.st_mtime) : 0,
					       buf, sizeof(buf)));
	r->cells[S_AGE].has_num = 1;
	r->cells[S_AGE].num = now > s->st.st_mtime ? (uint64_t)(now - s->st.st_mtime) : 0;
}

static void seg_row(struct rows *rs, const struct shm_seg *s, time_t now)
{
	struct row *r = new_row(rs);
	struct list l = { NULL, 0 };
	char buf[160], how[64];
	size_t i;
	int k;

	set_text(r, S_NAME, s->name);
	set_text(r, S_TYPE, s->is_memfd ? "memfd" : s->is_sem ? "sem" : "shm");
	set_text(r, S_PATH, s->path);
	/* A memfd only mapped, whose map_files link we may not follow: no size, owner, times. */
	if (!s->no_stat)
		stat_cells(r, s, now);
	set_text(r, S_MEMVIEW, shm_kind_name(s->kind));
	set_text(r, S_NOTE, s->note);
	if (s->kind == SHM_MEMVIEW) {
		set_text(r, S_FORMAT, s->info.format);
		for (k = 0; k < s->info.ndim; k++) {
			snprintf(buf, sizeof(buf), "%zd", s->info.shape[k]);
			list_add(&l, buf);
		}
		/* A 0-dim shape is (): an empty list, shown as such in a table. */
		if (s->info.ndim == 0 && !opt.json)
			list_add(&l, "()");
		set_list(r, S_SHAPE, &l);
		set_size(r, S_DATA, s->info.data_size);
		set_num(r, S_GEN, s->info.generation);
		if (s->info.seals & MV_SEAL_GROW)
			list_add(&l, "grow");
		if (s->info.seals & MV_SEAL_FUTURE_WRITE)
			list_add(&l, "future-write");
		set_list(r, S_SEALS, &l);
		if (s->info.creator > 0)
			set_num(r, S_CREATOR, (uint64_t)s->info.creator);
		for (i = 0; i < s->nholders; i++) {
			snprintf(buf, sizeof(buf), "%d:%ld%s", (int)s->holders[i].pid,
				 s->holders[i].exports, s->holders[i].alive ? "" : "(dead)");
			list_add(&l, buf);
		}
		set_list(r, S_HOLDERS, &l);
		set_num(r, S_EXPORTS, (uint64_t)s->exports);
	}
	set_num(r, S_NPROCS, s->file.nuses);
	for (i = 0; i < s->file.nuses; i++) {
		snprintf(buf, sizeof(buf), "%d", (int)s->file.uses[i].proc->pid);
		list_add(&l, buf);
	}
	set_list(r, S_PIDS, &l);
	r->cells[S_PIDS].has_num = s->file.nuses > 0;
	r->cells[S_PIDS].num = s->file.nuses ? (uint64_t)s->file.uses[0].proc->pid : 0;
	for (i = 0; i < s->file.nuses; i++) {
		snprintf(buf, sizeof(buf), "%s[%d]", s->file.uses[i].proc->comm,
			 (int)s->file.uses[i].proc->pid);
		/* In JSON each item says how, as the one-segment view does. */
		if (opt.json || opt.only)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " (%s)",
				 ps_how_string(s->file.uses[i].how, how, sizeof(how)));
		list_add(&l, buf);
	}
	set_list(r, S_PROCS, &l);
	set_bool(r, S_BUSY, s->file.export_locked);
	set_bool(r, S_STALE, s->verdict == SHM_STALE ? 1 : s->verdict == SHM_IN_USE ? 0 : -1);
	set_text(r, S_WHY, s->why);
}

static const mv_segment_holder *holder_of(const struct shm_seg *s, pid_t pid)
{
	size_t i;

	for (i = 0; i < s->nholders; i++)
		if (s->holders[i].pid == pid)
			return &s->holders[i];
	return NULL;
}

static void proc_row(struct rows *rs, const struct shm_seg *s, const struct ps_use *u,
		     const mv_segment_holder *h)
{
	struct row *r = new_row(rs);
	struct list use = { NULL, 0 }, fds = { NULL, 0 };
	char buf[64], *tok, *save = NULL;
	size_t i;

	set_text(r, P_NAME, s->name);
	set_num(r, P_PID, (uint64_t)(u ? u->proc->pid : h->pid));
	if (u) {
		set_text(r, P_COMMAND, u->proc->comm);
		set_text(r, P_USER, ps_user_name(u->proc->uid));
		ps_how_string(u->how, buf, sizeof(buf));
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			list_add(&use, tok);
		for (i = 0; i < u->nfds; i++) {
			snprintf(buf, sizeof(buf), "%d", u->fds[i]);
			list_add(&fds, buf);
		}
		set_list(r, P_FDS, &fds);
		set_num(r, P_MAPS, u->nmaps);
		set_size(r, P_MAPPED, u->mapped);
	}
	if (h)
		list_add(&use, "holder");
	set_list(r, P_USE, &use);
	set_bool(r, P_HOLDER, h != NULL);
	if (h)
		set_num(r, P_EXPORTS, (uint64_t)h->exports);
	/* A holder slot knows whether its process lives; a process /proc shows does. */
	set_bool(r, P_ALIVE, h ? h->alive : 1);
}

static void proc_rows(struct rows *rs, const struct shm_seg *s)
{
	const mv_segment_holder *h;
	size_t i, j;

	for (i = 0; i < s->file.nuses; i++) {
		h = holder_of(s, s->file.uses[i].proc->pid);
		proc_row(rs, s, &s->file.uses[i], h && h->alive ? h : NULL);
	}
	/* Holders /proc did not show as users: dead ones, or live ones we could not inspect. */
	for (i = 0; i < s->nholders; i++) {
		for (j = 0; j < s->file.nuses; j++)
			if (s->file.uses[j].proc->pid == s->holders[i].pid && s->holders[i].alive)
				break;
		if (j == s->file.nuses)
			proc_row(rs, s, NULL, &s->holders[i]);
	}
}

static void uring_row(struct rows *rs, const struct ps_proc *p, const struct ps_ring *ring,
		      const struct ps_ubuf *b)
{
	struct row *r = new_row(rs);
	char buf[32];

	set_num(r, U_PID, (uint64_t)p->pid);
	set_text(r, U_COMMAND, p->comm);
	set_text(r, U_USER, ps_user_name(p->uid));
	set_num(r, U_FD, (uint64_t)ring->fd);
	set_num(r, U_INO, ring->ino);
	if (ring->sq_entries)
		set_num(r, U_SQ, ring->sq_entries);
	if (ring->cq_entries)
		set_num(r, U_CQ, ring->cq_entries);
	if (ring->sq_thread > 0)
		set_num(r, U_SQPOLL, (uint64_t)ring->sq_thread);
	set_num(r, U_FILES, ring->nfiles);
	set_num(r, U_BUFS, ring->nbufs);
	if (!b)
		return;
	set_num(r, U_BUF, b->index);
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)b->addr);
	set_text(r, U_ADDR, buf);
	r->cells[U_ADDR].has_num = 1;
	r->cells[U_ADDR].num = b->addr;
	set_size(r, U_SIZE, b->len);
	set_text(r, U_BACKING, b->backing);
	if (b->backing && b->backing[0] == '/')
		set_num(r, U_OFFSET, b->offset);
}

/* Every registered buffer of every ring (with a name: those that lie in it), rings without any. */
static void uring_rows(struct rows *rs, const struct ps_scan *scan)
{
	const size_t dirlen = sizeof(SHM_DIR) - 1;
	const struct ps_ring *ring;
	const char *bk;
	size_t i, k, b;
	int shown;

	for (i = 0; i < scan->nprocs; i++) {
		for (k = 0; k < scan->procs[i]->nrings; k++) {
			ring = &scan->procs[i]->rings[k];
			shown = 0;
			for (b = 0; b < ring->nbufs; b++) {
				bk = ring->bufs[b].backing;
				if (opt.only && (!bk || strncmp(bk, SHM_DIR, dirlen) != 0 ||
						 strcmp(bk + dirlen, opt.only) != 0))
					continue;
				uring_row(rs, scan->procs[i], ring, &ring->bufs[b]);
				shown = 1;
			}
			if (!shown && !opt.only)
				uring_row(rs, scan->procs[i], ring, NULL);
		}
	}
}

/* ------------------------------------------------------------------ output */

static const struct column *mode_columns(size_t *n)
{
	switch (opt.mode) {
	case 'p':
		*n = P_NCOLS;
		return proc_columns;
	case 'u':
		*n = U_NCOLS;
		return uring_columns;
	default:
		*n = S_NCOLS;
		return seg_columns;
	}
}

static int json_type(const struct column *c)
{
	switch (c->kind) {
	case K_NUM:
		return SCOLS_JSON_NUMBER;
	case K_SIZE:
		return opt.bytes ? SCOLS_JSON_NUMBER : SCOLS_JSON_STRING;
	case K_LIST:
		return SCOLS_JSON_ARRAY_STRING;
	case K_NLIST:
		return SCOLS_JSON_ARRAY_NUMBER;
	case K_BOOL:
		return SCOLS_JSON_BOOLEAN_OPTIONAL;
	case K_PCT:
		return SCOLS_JSON_NUMBER;
	default:
		return SCOLS_JSON_STRING;
	}
}

static struct libscols_table *new_table(const char *name)
{
	struct libscols_table *tb = scols_new_table();

	if (!tb)
		oom();
	scols_table_set_name(tb, name);
	scols_table_enable_json(tb, opt.json);
	scols_table_enable_raw(tb, opt.raw);
	scols_table_enable_noheadings(tb, opt.noheadings);
	return tb;
}

static void print_rows(const char *name, const struct column *cols, const int *sel, size_t nsel,
		       struct rows *rs)
{
	struct libscols_table *tb = new_table(name);
	struct libscols_column *cl;
	struct libscols_line *ln;
	const struct column *c;
	size_t i, j;

	for (i = 0; i < nsel; i++) {
		c = &cols[sel[i]];
		cl = scols_table_new_column(tb, c->name, c->whint, c->flags);
		if (!cl)
			oom();
		scols_column_set_json_type(cl, json_type(c));
		if (opt.json && (c->kind == K_LIST || c->kind == K_NLIST)) {
			scols_column_set_flags(cl, c->flags | SCOLS_FL_WRAP);
			scols_column_set_wrapfunc(cl, scols_wrapnl_chunksize,
						  scols_wrapnl_nextchunk, NULL);
		}
	}
	sort_rows(rs);
	for (i = 0; i < rs->n; i++) {
		ln = scols_table_new_line(tb, NULL);
		if (!ln)
			oom();
		for (j = 0; j < nsel; j++)
			if (rs->v[i].cells[sel[j]].text &&
			    scols_line_set_data(ln, j, rs->v[i].cells[sel[j]].text) < 0)
				oom();
	}
	if (scols_print_table(tb) < 0)
		cli_write_failed();
	scols_unref_table(tb);
}

/* The one-segment view: "Label: value" lines (the processes that use it follow). */
static void print_vertical(const int *sel, size_t nsel, const struct row *r)
{
	struct libscols_table *tb = new_table("shm");
	struct libscols_line *ln;
	const struct column *c;
	char label[64], *v;
	size_t i;

	scols_table_enable_noheadings(tb, 1);
	if (!scols_table_new_column(tb, "KEY", 0, 0) ||
	    !scols_table_new_column(tb, "VALUE", 0, SCOLS_FL_WRAP))
		oom();
	for (i = 0; i < nsel; i++) {
		c = &seg_columns[sel[i]];
		if (!r->cells[sel[i]].text)
			continue;
		ln = scols_table_new_line(tb, NULL);
		if (!ln)
			oom();
		snprintf(label, sizeof(label), "%s:", c->label);
		v = xstrdup(r->cells[sel[i]].text);
		if (scols_line_set_data(ln, 0, label) < 0 || scols_line_refer_data(ln, 1, v) < 0)
			oom();
	}
	if (scols_print_table(tb) < 0)
		cli_write_failed();
	scols_unref_table(tb);
}

/* ------------------------------------------------------------------ messages */

static void warn_blind(const struct shm_survey *sv)
{
	const struct ps_scan *sc = &sv->scan;

	if (sc->uninspected)
		cli_warn("%zu process%s could not be inspected (not yours: run as root to see every "
			 "process); what %s map or hold open is not shown, and STALE is '?' where "
			 "that matters", sc->uninspected, sc->uninspected == 1 ? "" : "es",
			 sc->uninspected == 1 ? "it may" : "they may");
	if (sc->hidepid)
		cli_warn("/proc is mounted with hidepid=: other users' processes are hidden");
	if (sc->pidns_blind)
		cli_warn("%s: STALE is '?' where no process here uses an object "
			 "(--all-processes-visible if every process that uses %s is in this "
			 "namespace)", sc->pidns_why, SHM_DIR);
	if (sc->locks_unreadable)
		cli_warn("cannot read /proc/locks: locks are not shown");
	if (sv->unreadable)
		cli_warn("could not read %zu object%s (MEMVIEW is '?'; the NOTE column says why)",
			 sv->unreadable, sv->unreadable == 1 ? "" : "s");
}

static void print_totals(const struct shm_survey *sv)
{
	struct shm_totals t;
	size_t i;
	char a[32], b[32];

	memset(&t, 0, sizeof(t));
	for (i = 0; i < sv->nsegs; i++)
		shm_totals_add(&t, &sv->segs[i]);
	if (opt.bytes) {
		snprintf(a, sizeof(a), "%llu bytes", (unsigned long long)t.all.used);
		snprintf(b, sizeof(b), "%llu bytes", (unsigned long long)t.stale.used);
	} else {
		cli_format_size(t.all.used, a, sizeof(a));
		cli_format_size(t.stale.used, b, sizeof(b));
	}
	printf("\n%zu object%s", t.all.count, t.all.count == 1 ? "" : "s");
	if (t.memfd.count)
		printf(" (%zu memfd%s)", t.memfd.count, t.memfd.count == 1 ? "" : "s");
	printf(" use %s; %zu stale hold%s %s", a, t.stale.count, t.stale.count == 1 ? "s" : "", b);
	if (t.unknown.count)
		printf("; %zu could not be checked", t.unknown.count);
	printf(".\n");
}

/* ------------------------------------------------------------------ --global */

/*
 * lsshm --global, as lsipc --global is for System V IPC: /dev/shm as a file system (statvfs(3),
 * which is what df(1) shows), what the objects in it take by class, and by owner. Memfds take
 * shared memory but no space in /dev/shm: they have a row of their own, outside USED.
 */

/* Below this /dev/shm is too small for many users of shared memory; containers start at 64M. */
#define GLOBAL_SMALL ((uint64_t)256 << 20)
/* Above this share of its size in use, /dev/shm is nearly full (percent). */
#define GLOBAL_FULL 90

enum { G_RESOURCE, G_DESCRIPTION, G_OBJECTS, G_SPACE, G_USE, G_NCOLS };

static const struct column global_columns[G_NCOLS] = {
	[G_RESOURCE] = { "RESOURCE", "Resource", 8, 0, K_TEXT, "what the row counts" },
	[G_DESCRIPTION] = { "DESCRIPTION", "Description", 0.5, SCOLS_FL_TRUNC, K_TEXT,
			    "what that is" },
	[G_OBJECTS] = { "OBJECTS", "Objects", 5, SCOLS_FL_RIGHT, K_NUM, "how many" },
	[G_SPACE] = { "SPACE", "Space", 5, SCOLS_FL_RIGHT, K_SIZE, "bytes" },
	[G_USE] = { "USE%", "Use%", 5, SCOLS_FL_RIGHT, K_PCT, "of the size (of the inodes)" },
};

enum { W_OWNER, W_UID, W_OBJECTS, W_SPACE, W_MEMVIEW, W_OTHER, W_STALE, W_NCOLS };

static const struct column owner_columns[W_NCOLS] = {
	[W_OWNER] = { "OWNER", "Owner", 8, SCOLS_FL_TRUNC, K_TEXT, "owner" },
	[W_UID] = { "UID", "UID", 5, SCOLS_FL_RIGHT, K_NUM, "owner's user ID" },
	[W_OBJECTS] = { "OBJECTS", "Objects", 5, SCOLS_FL_RIGHT, K_NUM, "objects it owns" },
	[W_SPACE] = { "SPACE", "Space", 5, SCOLS_FL_RIGHT, K_SIZE, "what they take" },
	[W_MEMVIEW] = { "MEMVIEW", "Memview", 5, SCOLS_FL_RIGHT, K_SIZE, "of it memview segments" },
	[W_OTHER] = { "OTHER", "Other", 5, SCOLS_FL_RIGHT, K_SIZE, "of it other objects" },
	[W_STALE] = { "STALE", "Stale", 5, SCOLS_FL_RIGHT, K_SIZE, "of it stale objects" },
};

struct owner {
	uid_t uid;
	struct shm_totals t;
};

static int cmp_owner(const void *a, const void *b)
{
	const struct owner *oa = a, *ob = b;

	return (oa->uid > ob->uid) - (oa->uid < ob->uid);
}

/* @part of @whole as "12.5%"; nothing when @whole is 0 (a tmpfs without a size limit). */
static void set_pct(struct row *r, int col, uint64_t part, uint64_t whole)
{
	char buf[32];

	if (!whole)
		return;
	snprintf(buf, sizeof(buf), "%.1f%%", (double)part * 100.0 / (double)whole);
	set_text(r, col, buf);
}

static struct row *global_row(struct rows *rs, const char *res, const char *desc)
{
	struct row *r = new_row(rs);

	set_text(r, G_RESOURCE, res);
	set_text(r, G_DESCRIPTION, desc);
	return r;
}

/* A class of objects: how many, the space they take, and its share of /dev/shm's size. */
static void usage_row(struct rows *rs, const char *res, const char *desc,
		      const struct shm_usage *u, uint64_t size)
{
	struct row *r = global_row(rs, res, desc);

	set_num(r, G_OBJECTS, u->count);
	set_size(r, G_SPACE, u->used);
	set_pct(r, G_USE, u->used, size);
}

/*
 * --global's JSON: the rows of both tables as objects whose keys are the column names in lower
 * case, numbers as numbers - what libsmartcols writes for one table -, in one document, and the
 * warnings; two libsmartcols tables would be two documents.
 */
static void json_rows(const char *name, const struct column *cols, size_t ncols,
		      const struct rows *rs)
{
	const char *t;
	char key[32];
	size_t i, j, k;

	printf("   \"%s\": [", name);
	for (i = 0; i < rs->n; i++) {
		printf("%s\n      {", i ? "," : "");
		for (j = 0; j < ncols; j++) {
			for (k = 0; cols[j].name[k] && k + 1 < sizeof(key); k++)
				key[k] = (char)(cols[j].name[k] | 0x20); /* A-Z and % only */
			key[k] = '\0';
			printf("%s\"%s\": ", j ? ", " : "", key);
			t = rs->v[i].cells[j].text;
			if (!t)
				fputs("null", stdout);
			else if (cols[j].kind == K_NUM || (cols[j].kind == K_SIZE && opt.bytes))
				fputs(t, stdout);
			else if (cols[j].kind == K_PCT)
				printf("%.*s", (int)strlen(t) - 1, t); /* without the '%' */
			else
				cli_json_string(stdout, t);
		}
		fputs("}", stdout);
	}
	printf("\n   ]");
}

/* What statvfs(3) says of SHM_DIR, in bytes and inodes, as df(1) counts them. */
struct shm_fs {
	uint64_t size, used, avail, inodes, iused;
};

static void shm_fs_read(struct shm_fs *fs)
{
	struct statvfs vfs;

	if (statvfs(SHM_DIR, &vfs) < 0)
		cli_fail("cannot read %s's file system (statvfs): %s", SHM_DIR, strerror(errno));
	/* Used is what is not free (to root); available, what others may still take. */
	fs->size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	fs->used = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
	fs->avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	fs->inodes = vfs.f_files;
	fs->iused = vfs.f_files - vfs.f_ffree;
}

/* The owners of SHM_DIR's objects and what each one's take, sorted by uid; *@n of them. */
static struct owner *owners_of(const struct shm_survey *sv, size_t *n)
{
	struct owner *owners = NULL, *o;
	size_t i, j, nowners = 0;

	for (i = 0; i < sv->nsegs; i++) {
		const struct shm_seg *s = &sv->segs[i];

		if (s->is_memfd)
			continue;
		for (j = 0; j < nowners && owners[j].uid != s->st.st_uid; j++)
			;
		if (j == nowners) {
			o = realloc(owners, (nowners + 1) * sizeof(*owners));
			if (!o)
				oom();
			owners = o;
			memset(&owners[nowners], 0, sizeof(*owners));
			owners[nowners++].uid = s->st.st_uid;
		}
		shm_totals_add(&owners[j].t, s);
	}
	if (nowners > 1)
		qsort(owners, nowners, sizeof(*owners), cmp_owner);
	*n = nowners;
	return owners;
}

/* The first table: the file system, then the objects by class (@dir: SHM_DIR's; @mfd: memfds). */
static void global_rows(struct rows *rs, const struct shm_fs *fs, const struct shm_totals *dir,
			const struct shm_totals *mfd, size_t nonfiles)
{
	struct row *r;
	uint64_t unlisted;

	r = global_row(rs, "SIZE", "size of /dev/shm");
	set_size(r, G_SPACE, fs->size);
	r = global_row(rs, "USED", "space used (as df counts it)");
	set_size(r, G_SPACE, fs->used);
	set_pct(r, G_USE, fs->used, fs->size);
	r = global_row(rs, "AVAIL", "space available");
	set_size(r, G_SPACE, fs->avail);
	set_pct(r, G_USE, fs->avail, fs->size);
	r = global_row(rs, "INODES", "inodes used");
	set_num(r, G_OBJECTS, fs->iused);
	set_pct(r, G_USE, fs->iused, fs->inodes);
	usage_row(rs, "MEMVIEW", "memview segments", &dir->memview, fs->size);
	usage_row(rs, "OTHER", "other objects (not memview)", &dir->other, fs->size);
	usage_row(rs, "STALE", "stale objects (nothing uses them)", &dir->stale, fs->size);
	usage_row(rs, "UNKNOWN", "objects whose use is unknown", &dir->unknown, fs->size);
	/*
	 * What no listed object accounts for: objects removed while a process still maps or holds
	 * them (their space is freed with the last user), files in subdirectories, or objects
	 * created since the listing.
	 */
	unlisted = fs->used > dir->all.used ? fs->used - dir->all.used : 0;
	r = global_row(rs, "UNLISTED", "space no listed object takes");
	set_size(r, G_SPACE, unlisted);
	set_pct(r, G_USE, unlisted, fs->size);
	r = global_row(rs, "NONFILE", "entries that are not files");
	set_num(r, G_OBJECTS, nonfiles);
	r = global_row(rs, "MEMFD", "memfds in use (not in /dev/shm)");
	set_num(r, G_OBJECTS, mfd->all.count);
	set_size(r, G_SPACE, mfd->all.used);
}

/* The warnings, into @warn (room for 2): too small, nearly full. Returns how many. */
static size_t global_warnings(char warn[2][200], const struct shm_fs *fs, size_t stale)
{
	char a[32], b[32];
	size_t n = 0;

	/* A size of 0 is a tmpfs without a limit (size=0): neither small nor full. */
	if (fs->size && fs->size < GLOBAL_SMALL)
		snprintf(warn[n++], sizeof(warn[0]),
			 "%s is only %s, less than %s: programs that share large buffers fail "
			 "(ENOSPC, SIGBUS); give it more (a container: --shm-size)", SHM_DIR,
			 cli_format_size(fs->size, a, sizeof(a)),
			 cli_format_size(GLOBAL_SMALL, b, sizeof(b)));
	if (fs->size && fs->used * 100 > fs->size * GLOBAL_FULL)
		snprintf(warn[n++], sizeof(warn[0]), "%s is %.1f%% full (%s available)%s", SHM_DIR,
			 (double)fs->used * 100.0 / (double)fs->size,
			 cli_format_size(fs->avail, a, sizeof(a)),
			 stale ? ": mvshm gc removes the stale objects" : "");
	return n;
}

static void print_global(const struct shm_survey *sv)
{
	static const int gsel[] = { G_RESOURCE, G_DESCRIPTION, G_OBJECTS, G_SPACE, G_USE };
	static const int wsel[] = { W_OWNER, W_UID, W_OBJECTS, W_SPACE, W_MEMVIEW, W_OTHER,
				    W_STALE };
	struct rows grs = { NULL, 0, -1 }, wrs = { NULL, 0, -1 };
	struct shm_totals dir, mfd;
	struct shm_fs fs;
	struct owner *owners;
	char warn[2][200];
	size_t i, nowners, nwarn;
	struct row *r;

	shm_fs_read(&fs);
	memset(&dir, 0, sizeof(dir));
	memset(&mfd, 0, sizeof(mfd));
	for (i = 0; i < sv->nsegs; i++)
		shm_totals_add(sv->segs[i].is_memfd ? &mfd : &dir, &sv->segs[i]);
	global_rows(&grs, &fs, &dir, &mfd, sv->others);
	owners = owners_of(sv, &nowners);
	for (i = 0; i < nowners; i++) {
		r = new_row(&wrs);
		set_text(r, W_OWNER, ps_user_name(owners[i].uid));
		set_num(r, W_UID, owners[i].uid);
		set_num(r, W_OBJECTS, owners[i].t.all.count);
		set_size(r, W_SPACE, owners[i].t.all.used);
		set_size(r, W_MEMVIEW, owners[i].t.memview.used);
		set_size(r, W_OTHER, owners[i].t.other.used);
		set_size(r, W_STALE, owners[i].t.stale.used);
	}
	free(owners);
	nwarn = global_warnings(warn, &fs, dir.stale.count);

	if (opt.json) {
		printf("{\n");
		json_rows("shm-global", global_columns, G_NCOLS, &grs);
		printf(",\n");
		json_rows("shm-owners", owner_columns, W_NCOLS, &wrs);
		printf(",\n   \"warnings\": [");
		for (i = 0; i < nwarn; i++) {
			printf("%s\n      ", i ? "," : "");
			cli_json_string(stdout, warn[i]);
		}
		printf("%s]\n}\n", nwarn ? "\n   " : "");
	} else {
		print_rows("shm-global", global_columns, gsel, G_NCOLS, &grs);
		if (!opt.raw)
			printf("\n");
		print_rows("shm-owners", owner_columns, wsel, W_NCOLS, &wrs);
	}
	/* On standard error too, as lsshm's other warnings: a script reading JSON sees them. */
	for (i = 0; i < nwarn; i++)
		cli_warn("%s", warn[i]);
	free_rows(&grs);
	free_rows(&wrs);
}

/* ------------------------------------------------------------------ usage */

static void usage_columns(FILE *out, const char *title, const struct column *cols, size_t n)
{
	size_t i;

	cli_usage_section(out, title);
	for (i = 0; i < n; i++)
		fprintf(out, " %12s  %s\n", cols[i].name, cols[i].help);
}

static CLI_NORETURN void usage(void)
{
	static const char *const synopses[] = { "[options] [<name>]", "--processes [options] [<name>]",
						"--uring [options] [<name>]", "--global [options]",
						NULL };
	FILE *out = stdout;

	cli_usage_begin(out, synopses,
			"List POSIX shared-memory objects (/dev/shm) and the memfds processes\n"
			"hold: size, owner, memview header, the processes that map them or\n"
			"hold them open, memview holders, and which are stale: used by nothing.");
	cli_usage_section(out, "Options");
	cli_usage_option(out, "-s, --stale", "list only stale objects");
	cli_usage_option(out, "-g, --global", "/dev/shm itself: size, used and free space,\n"
						"what each class of objects and each owner\n"
						"takes");
	cli_usage_option(out, "-p, --processes", "list the processes that use each object");
	cli_usage_option(out, "-u, --uring",
			 "list io_uring instances and their registered\nbuffers, per process");
	cli_usage_option(out, "-o, --output <list>", "the columns to show (+<list> adds to the\n"
						      "default ones)");
	cli_usage_option(out, "    --output-all", "show every column");
	cli_usage_option(out, "-x, --sort <column>", "sort by <column>");
	cli_usage_option(out, "-b, --bytes", "print sizes in bytes, not human-readable");
	cli_usage_option(out, "-J, --json", "use JSON output format");
	cli_usage_option(out, "-r, --raw", "use raw output format");
	cli_usage_option(out, "-n, --noheadings", "don't print headings");
	cli_usage_option(out, "    --all-processes-visible",
			 "every process that uses /dev/shm is in this\n"
			 "PID namespace: judge STALE here also outside\n"
			 "the initial one");
	cli_usage_std_options(out);
	cli_usage_section(out, "Arguments");
	fputs(" <name> is /NAME, NAME or /dev/shm/NAME: show that object alone, in detail;\n"
	      "   memfd:NAME the memfds of that name; a path such as /proc/PID/fd/N what\n"
	      "   it opens\n", out);
	usage_columns(out, "Available output columns", seg_columns, S_NCOLS);
	usage_columns(out, "Available output columns for --processes", proc_columns, P_NCOLS);
	usage_columns(out, "Available output columns for --uring", uring_columns, U_NCOLS);
	cli_usage_end(out);
	exit(CLI_EXIT_OK);
}

/*
 * "/dev/shm/NAME", "NAME" and "/NAME" all mean "/NAME". "memfd:NAME" means the memfds of that
 * name, and any other path (/proc/PID/fd/N, as the PATH column shows a memfd) what it opens.
 */
static const char *object_name(const char *arg)
{
	static char buf[512];
	const char *prefix = SHM_DIR "/";
	struct stat st;

	if (strncmp(arg, "memfd:", 6) == 0) {
		if (!arg[6])
			cli_usage_error("'memfd:' needs the memfd's name after it (memfd:NAME)");
		opt.only_memfd = 1;
		return arg;
	}
	if (arg[0] == '/' && strchr(arg + 1, '/') && strncmp(arg, prefix, strlen(prefix)) != 0) {
		if (stat(arg, &st) < 0)
			cli_fail("%s: %s", arg, strerror(errno));
		opt.only_inode = 1;
		opt.only_dev = st.st_dev;
		opt.only_ino = st.st_ino;
		return arg;
	}
	if (strncmp(arg, prefix, strlen(prefix)) == 0)
		arg += strlen(prefix) - 1;
	if (arg[0] == '/')
		arg++;
	if (strlen(arg) > NAME_MAX)
		cli_usage_error("an object name in %s has at most %d characters after its '/', "
				"not %zu", SHM_DIR, NAME_MAX, strlen(arg));
	if (!*arg || strchr(arg, '/'))
		cli_usage_error("invalid object name '%s' (expected /NAME)", arg);
	snprintf(buf, sizeof(buf), "/%s", arg);
	return buf;
}

/* ------------------------------------------------------------------ main */

/* Whether @s is to be shown: all are, but those a memfd name or a path does not select. */
static int selected(const struct shm_seg *s)
{
	if (opt.only_memfd)
		return s->is_memfd && strcmp(s->name, opt.only) == 0;
	if (opt.only_inode)
		return s->st.st_dev == opt.only_dev && s->st.st_ino == opt.only_ino;
	return 1;
}

int main(int argc, char **argv)
{
	enum { OPT_OUTPUT_ALL = 256, OPT_ALL_VISIBLE };
	static const struct option longopts[] = {
		{ "stale", no_argument, NULL, 's' },
		{ "global", no_argument, NULL, 'g' },
		{ "processes", no_argument, NULL, 'p' },
		{ "uring", no_argument, NULL, 'u' },
		{ "output", required_argument, NULL, 'o' },
		{ "output-all", no_argument, NULL, OPT_OUTPUT_ALL },
		{ "sort", required_argument, NULL, 'x' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'J' },
		{ "raw", no_argument, NULL, 'r' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "all-processes-visible", no_argument, NULL, OPT_ALL_VISIBLE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *output = NULL, *sort = NULL, *names[MAX_COLS];
	const struct column *cols;
	struct shm_survey sv;
	const struct shm_seg *one = NULL;
	struct rows rs = { NULL, 0, -1 };
	int sel[MAX_COLS], all = 0, c, rc, sortsel[1];
	size_t ncols, nsel = 0, i, nsort = 0, nshown;
	char bad[64], err[256];
	time_t now;

	cli_init(argc, argv, "lsshm");
	opt.mode = 's';
	while ((c = getopt_long(argc, argv, "sgpuo:x:bJrnhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.stale_only = 1;
			break;
		case 'g':
			opt.global = 1;
			break;
		case 'p':
		case 'u':
			if (opt.mode != 's' && opt.mode != c)
				cli_usage_error("--processes and --uring are mutually exclusive");
			opt.mode = c;
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_OUTPUT_ALL:
			all = 1;
			break;
		case 'x':
			sort = optarg;
			break;
		case 'b':
			opt.bytes = 1;
			break;
		case 'J':
			opt.json = 1;
			break;
		case 'r':
			opt.raw = 1;
			break;
		case 'n':
			opt.noheadings = 1;
			break;
		case OPT_ALL_VISIBLE:
			opt.all_visible = 1;
			break;
		case 'h':
			usage();
		case 'V':
			cli_print_version();
		default:
			cli_try_help();
		}
	}
	if (optind < argc)
		opt.only = object_name(argv[optind++]);
	if (optind < argc)
		cli_usage_error("unexpected argument '%s': one object at a time", argv[optind]);
	if (opt.json && opt.raw)
		cli_usage_error("--json and --raw are mutually exclusive");
	/* --global's tables are fixed: a summary of every object, not a choice of them. */
	if (opt.global && (opt.only || opt.mode != 's' || opt.stale_only || output || all || sort))
		cli_usage_error("--global takes no object name and none of --processes, --uring, "
				"--stale, --output, --output-all, --sort");
	if (opt.stale_only && opt.mode == 'u')
		cli_usage_error("--stale is for objects, not for --uring");
	if ((opt.only_memfd || opt.only_inode) && opt.mode == 'u')
		cli_usage_error("--uring takes a /dev/shm object's name, not '%s'", opt.only);

	/* Columns: the mode's defaults, or --output-all, or -o (which may add with '+'). */
	cols = mode_columns(&ncols);
	for (i = 0; i < ncols; i++)
		names[i] = cols[i].name;
	if (all || (opt.only && opt.mode == 's' && !output)) {
		for (i = 0; i < ncols; i++)
			sel[nsel++] = (int)i;
	} else {
		const int *def = opt.mode == 'p' ? proc_default :
				 opt.mode == 'u' ? uring_default : seg_default;
		size_t ndef = opt.mode == 'p' ? sizeof(proc_default) / sizeof(int) :
			      opt.mode == 'u' ? sizeof(uring_default) / sizeof(int) :
						sizeof(seg_default) / sizeof(int);

		for (i = 0; i < ndef; i++)
			sel[nsel++] = def[i];
	}
	if (output) {
		rc = cli_parse_columns(output, names, ncols, sel, MAX_COLS, &nsel, bad, sizeof(bad));
		if (rc == -E2BIG)
			cli_usage_error("too many columns in '%s'", output);
		if (rc < 0)
			cli_usage_error(bad[0] ? "unknown column: %s" : "an empty column name in '%s'",
					bad[0] ? bad : output);
	}
	if (sort) {
		rc = cli_parse_columns(sort, names, ncols, sortsel, 1, &nsort, bad, sizeof(bad));
		if (rc < 0)
			cli_usage_error("unknown column for --sort: %s", sort);
		rs.sort_col = sortsel[0];
	}

	scols_init_debug(0);
	if (opt.global) {
		rc = shm_survey(&sv, NULL, SHM_SURVEY_MEMFD |
					  (opt.all_visible ? SHM_SURVEY_ALL_VISIBLE : 0),
				err, sizeof(err));
		if (rc < 0)
			cli_fail("%s", err);
		print_global(&sv);
		warn_blind(&sv);
		shm_survey_free(&sv);
		return CLI_EXIT_OK;
	}
	/* A memfd has no name to look up: the whole survey is made, and filtered. */
	rc = shm_survey(&sv, opt.mode == 'u' || opt.only_memfd || opt.only_inode ? NULL : opt.only,
			(opt.mode == 'u' ? SHM_SURVEY_URING : SHM_SURVEY_MEMFD) |
				(opt.all_visible ? SHM_SURVEY_ALL_VISIBLE : 0),
			err, sizeof(err));
	if (rc < 0)
		cli_fail("%s", err);
	now = time(NULL);
	for (i = 0, nshown = 0; i < sv.nsegs; i++)
		if (selected(&sv.segs[i]) && nshown++ == 0)
			one = &sv.segs[i];
	if (opt.mode != 'u' && (opt.only_memfd || opt.only_inode) && !nshown)
		cli_fail("%s: %s", opt.only, opt.only_memfd ? "no memfd of that name is in use" :
				     "not a shared-memory object or memfd in use");
	/* As --processes says for a name that is not there (its survey is by name: it said so). */
	if (opt.mode == 'u' && opt.only) {
		for (i = 0; i < sv.nsegs; i++)
			if (!sv.segs[i].is_memfd && strcmp(sv.segs[i].name, opt.only) == 0)
				break;
		if (i == sv.nsegs)
			cli_fail("%s: no such object in %s", opt.only, SHM_DIR);
	}

	if (opt.mode == 'u') {
		uring_rows(&rs, &sv.scan);
		print_rows("uring", cols, sel, nsel, &rs);
		if (sv.scan.uninspected)
			cli_warn("%zu process%s could not be inspected (not yours: run as root to see "
				 "every process)", sv.scan.uninspected,
				 sv.scan.uninspected == 1 ? "" : "es");
	} else if (opt.mode == 'p') {
		for (i = 0; i < sv.nsegs; i++)
			if (selected(&sv.segs[i]) &&
			    (!opt.stale_only || sv.segs[i].verdict == SHM_STALE))
				proc_rows(&rs, &sv.segs[i]);
		print_rows("shm-processes", cols, sel, nsel, &rs);
		warn_blind(&sv);
	} else {
		/* Several memfds may share a name: those are a table. */
		vertical = opt.only && !opt.json && !opt.raw && nshown == 1;
		for (i = 0; i < sv.nsegs; i++)
			if (selected(&sv.segs[i]) &&
			    (!opt.stale_only || sv.segs[i].verdict == SHM_STALE))
				seg_row(&rs, &sv.segs[i], now);
		if (vertical) {
			struct rows prs = { NULL, 0, -1 };
			int psel[P_NCOLS];
			size_t np = 0;

			if (rs.n) {
				print_vertical(sel, nsel, &rs.v[0]);
				vertical = 0;
				proc_rows(&prs, one);
			}
			if (prs.n) {
				for (i = 0; i < sizeof(proc_default) / sizeof(int); i++)
					if (proc_default[i] != P_NAME)
						psel[np++] = proc_default[i];
				printf("\n");
				print_rows("shm-processes", proc_columns, psel, np, &prs);
			}
			free_rows(&prs);
		} else {
			print_rows("shm", cols, sel, nsel, &rs);
			if (!opt.json && !opt.raw && !opt.only && !opt.stale_only)
				print_totals(&sv);
		}
		warn_blind(&sv);
	}
	free_rows(&rs);
	shm_survey_free(&sv);
	return CLI_EXIT_OK;
}
