/*
 * lib/segment.c - memview segments: the header (validation, checksum, seqlock updates), the
 * holder table under a robust process-shared mutex, and the segment as an exporter whose export
 * count the kernel also knows through an open-file-description lock.
 *
 * Trust: the header lives in memory other processes can write. Every value read from it is
 * copied out under the seqlock, checked, and only the checked copy is used (sizes against the
 * file's real size, ndim, shape against the data size, the format). The holder table is only
 * advice: who is alive is decided by the kernel (OFD locks, /proc), never by the table.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "segment_internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The byte whose OFD lock says "this process holds exports". Locks need not lie inside the file. */
#define LOCK_BYTE 0
/* How long a robust-mutex acquisition may wait before the segment is called wedged. */
#define MUTEX_TIMEOUT_S 2
/* How often a reader retries a header that is being updated. */
#define SEQ_RETRIES 2000

static int seg_get(mv_exporter *self, mv_buffer *buf, unsigned flags);
static void seg_release(mv_exporter *self, mv_buffer *buf);

static const mv_exporter_ops segment_ops = {
	.size = sizeof(mv_exporter_ops),
	.name = "segment",
	.get = seg_get,
	.release = seg_release,
};

/* ------------------------------------------------------------------ processes */

/* Start time of @pid in clock ticks after boot (/proc/PID/stat field 22), or 0 if unknown. */
static uint64_t proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: count fields after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (sscanf(p, "%llu", &start) != 1)
		return 0;
	return start;
}

/* 1 if @pid is the process that started at @start, 0 if it is gone or the pid was reused. */
static int holder_alive(pid_t pid, uint64_t start)
{
	uint64_t now;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 0;
	now = proc_start_time(pid);
	/* Without /proc (hidepid), or when the holder could not read its own start time (no
	 * descriptor was free when it joined), the pid's existence is all we can know. */
	return now == 0 || start == 0 || now == start;
}

/* ------------------------------------------------------------------ header */

static uint32_t header_checksum(const struct seg_header *h)
{
	return (uint32_t)((uint64_t)mv_view_hash_bytes(h, SEG_CHECKSUMMED_BYTES) & 0xffffffffu);
}

/*
 * Copy the static part of the header consistently: retry while a writer is in the middle of an
 * update (odd seq, or seq changed under us).
 */
static int header_snapshot(const struct seg_header *hdr, const char *name,
			   struct seg_header *snap)
{
	uint32_t s1 = 0, s2;
	int i;

	for (i = 0; i < SEQ_RETRIES; i++) {
		s1 = __atomic_load_n(&hdr->seq, __ATOMIC_ACQUIRE);
		memcpy(snap, hdr, offsetof(struct seg_header, lock));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&hdr->seq, __ATOMIC_RELAXED);
		if (!(s1 & 1) && s1 == s2)
			return 0;
		/* Not a memview header (the magic never changes once written): there is no update
		 * to wait for, and header_check() says what it is. */
		if (memcmp(snap->magic, SEG_MAGIC, sizeof(snap->magic)) != 0)
			return 0;
		if (i > 16)
			sched_yield();
	}
	return mv_fail(EBADMSG, "%s: header update in progress or interrupted (seq %u); "
				"open it read-write to repair", name, s1);
}

/* Check a header snapshot against the object's real size; say what failed, naming @name. */
static int header_check(const char *name, const struct seg_header *h, off_t file_size)
{
	ssize_t shape[MV_MAXDIM];
	mv_format f;
	ssize_t n;
	int i;

	if (memcmp(h->magic, SEG_MAGIC, sizeof(h->magic)) != 0) {
		static const char zero[8];

		if (memcmp(h->magic, zero, sizeof(zero)) == 0)
			return mv_fail(EBADMSG, "%s: no memview header (magic is zero: not a memview "
						"segment, or still being created)", name);
		return mv_fail(EBADMSG, "%s: not a memview segment (bad magic); open it raw to "
					"see its bytes", name);
	}
	if (h->version != SEG_VERSION)
		return mv_fail(EBADMSG, "%s: header version %u is not supported (this is %u)",
			       name, h->version, SEG_VERSION);
	if (h->checksum != header_checksum(h))
		return mv_fail(EBADMSG, "%s: header checksum mismatch (0x%08x stored, 0x%08x "
					"computed)", name, h->checksum, header_checksum(h));
	if (h->header_bytes < offsetof(struct seg_header, holders) ||
	    h->header_bytes > h->data_offset)
		return mv_fail(EBADMSG, "%s: header size %u is invalid", name, h->header_bytes);
	if (h->data_offset < sizeof(struct seg_header) || h->data_offset % SEG_ALIGN ||
	    h->data_offset > SEG_MAX_DATA_OFFSET)
		return mv_fail(EBADMSG, "%s: data offset %llu is invalid", name,
			       (unsigned long long)h->data_offset);
	if (h->data_size > (uint64_t)SSIZE_MAX - h->data_offset ||
	    (uint64_t)file_size < h->data_offset + h->data_size)
		return mv_fail(EBADMSG, "%s: header says %llu data bytes at offset %llu but the "
					"object has %lld bytes", name,
			       (unsigned long long)h->data_size,
			       (unsigned long long)h->data_offset, (long long)file_size);
	if (memchr(h->format, '\0', sizeof(h->format)) == NULL ||
	    mv_format_parse(&f, h->format) < 0)
		return mv_fail(EBADMSG, "%s: header format is not a valid item format", name);
	if (h->ndim != SEG_NDIM_AUTO && (h->ndim < 0 || h->ndim > MV_MAXDIM))
		return mv_fail(EBADMSG, "%s: header ndim %d is out of range (0..%d)", name,
			       h->ndim, MV_MAXDIM);
	if (h->ndim == SEG_NDIM_AUTO) {
		if (h->data_size % f.itemsize)
			return mv_fail(EBADMSG, "%s: data size %llu is not a multiple of the item "
						"size %u", name,
				       (unsigned long long)h->data_size, f.itemsize);
		return 0;
	}
	for (i = 0; i < h->ndim; i++) {
		if (h->shape[i] < 0 || h->shape[i] > SSIZE_MAX)
			return mv_fail(EBADMSG, "%s: header shape entry %d is out of range", name, i);
		shape[i] = (ssize_t)h->shape[i];
	}
	n = mv_shape_nbytes(f.itemsize, h->ndim, shape);
	if (n < 0)
		return mv_fail(EBADMSG, "%s: header shape overflows (product(shape) * itemsize "
					"does not fit in ssize_t)", name);
	if ((uint64_t)n > h->data_size)
		return mv_fail(EBADMSG, "%s: header shape needs %zd bytes but the data has %llu",
			       name, n, (unsigned long long)h->data_size);
	return 0;
}

/* Begin and end a change of the static part (caller holds the mutex). */
static void header_write_begin(struct seg_header *h)
{
	__atomic_fetch_add(&h->seq, 1, __ATOMIC_ACQ_REL);
}

static void header_write_end(struct seg_header *h)
{
	h->checksum = header_checksum(h);
	__atomic_fetch_add(&h->seq, 1, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------ truncation by a peer */

/*
 * A named segment cannot be sealed: any process that may open it read-write can ftruncate() it
 * behind memview's back. Pages past the object's new end are gone from every mapping, and
 * touching them raises SIGBUS, which a library cannot catch for its caller. So before memview
 * touches the header or gives out a view it compares the object's size with what the handle
 * maps, and reports a truncation instead of faulting. (A truncation racing with the call itself
 * can still fault: sealed memfd segments are the protection.)
 */
static int truncated_fail(const struct mv_segment *seg, off_t size)
{
	return mv_fail(EBADMSG, "%s: the segment was truncated to %lld bytes by another process "
				"(this handle maps %zu): views past the end would fault; remove and "
				"re-create it (memfd segments are sealed against this)",
		       seg->name, (long long)size, seg->data_offset + seg->data_size);
}

/* The object's size, or -1 (errno set). */
static off_t object_size(const struct mv_segment *seg)
{
	struct stat st;

	return fstat(seg->fd, &st) < 0 ? -1 : st.st_size;
}

/* Whether the header page is still backed (else touching the header raises SIGBUS). */
static int header_backed(const struct mv_segment *seg)
{
	return object_size(seg) >= (off_t)sizeof(struct seg_header);
}

/*
 * 0 when the object still holds everything this handle maps, or was shrunk through memview (the
 * header agrees with the object, and remapping follows it); -EBADMSG when it was cut behind the
 * header's back. The size is read before the header, so a memview shrink in progress is seen
 * finished (the seqlock waits for it), never as a truncation.
 */
static int check_not_truncated(const struct mv_segment *seg)
{
	struct seg_header snap;
	off_t size = object_size(seg);

	if (size < 0)
		return mv_fail(errno, "%s: fstat: %s", seg->name, strerror(errno));
	if ((uint64_t)size >= seg->data_offset + seg->data_size)
		return 0;
	if (seg->hdr && size >= (off_t)sizeof(struct seg_header) &&
	    header_snapshot(seg->hdr, seg->name, &snap) == 0 &&
	    snap.data_offset <= (uint64_t)size && snap.data_size <= (uint64_t)size - snap.data_offset)
		return 0;
	return truncated_fail(seg, size);
}

/* ------------------------------------------------------------------ robust mutex */

static void holders_reclaim(struct mv_segment *seg);

/*
 * Take the header's mutex. A previous owner that died inside the critical section is
 * recovered: its half-done header update is repaired from the file size, dead holders are
 * reclaimed, and the mutex is made consistent. Never waits on a dead process; a live one that
 * holds the mutex too long makes this fail with -EBUSY.
 */
static int seg_lock(struct mv_segment *seg)
{
	struct seg_header *h = seg->hdr;
	struct timespec ts;
	struct stat st;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += MUTEX_TIMEOUT_S;
	rc = pthread_mutex_clocklock(&h->lock.mutex, CLOCK_MONOTONIC, &ts);
	if (rc == 0)
		return 0;
	if (rc == EOWNERDEAD) {
		if (h->seq & 1) {
			/* Died mid-update: the file size is the truth the kernel kept. */
			if (fstat(seg->fd, &st) == 0 && (uint64_t)st.st_size >= h->data_offset)
				h->data_size = (uint64_t)st.st_size - h->data_offset;
			header_write_end(h);
		}
		holders_reclaim(seg);
		pthread_mutex_consistent(&h->lock.mutex);
		return 0;
	}
	if (rc == ETIMEDOUT)
		return mv_fail(EBUSY, "%s: header lock held for more than %d s by a live process",
			       seg->name, MUTEX_TIMEOUT_S);
	return mv_fail(EBADMSG, "%s: header lock is unusable (%s)", seg->name, strerror(rc));
}

static void seg_unlock(struct mv_segment *seg)
{
	pthread_mutex_unlock(&seg->hdr->lock.mutex);
}

/* ------------------------------------------------------------------ holders */

/* Free the slots of processes that are gone (caller holds the mutex). */
static void holders_reclaim(struct mv_segment *seg)
{
	struct seg_holder *t = seg->hdr->holders;
	int i;

	for (i = 0; i < MV_SEGMENT_MAX_HOLDERS; i++) {
		pid_t pid = t[i].pid;

		if (pid != 0 && !holder_alive(pid, t[i].start_time)) {
			t[i].exports = 0;
			t[i].start_time = 0;
			__atomic_store_n(&t[i].pid, 0, __ATOMIC_RELEASE);
		}
	}
}

/* Take a holder slot; without a free one the kernel lock still accounts for us. */
static int holder_join(struct mv_segment *seg)
{
	struct seg_holder *t = seg->hdr->holders;
	int i, rc;

	seg->slot = -1;
	rc = seg_lock(seg);
	if (rc < 0)
		return rc;
	holders_reclaim(seg);
	for (i = 0; i < MV_SEGMENT_MAX_HOLDERS; i++) {
		if (t[i].pid == 0) {
			t[i].start_time = proc_start_time(seg->pid);
			t[i].exports = 0;
			__atomic_store_n(&t[i].pid, seg->pid, __ATOMIC_RELEASE);
			seg->slot = i;
			break;
		}
	}
	seg_unlock(seg);
	return 0;
}

static void holder_leave(struct mv_segment *seg)
{
	struct seg_holder *t;

	if (seg->slot < 0 || !seg->hdr || getpid() != seg->pid)
		return;
	/* Truncated away by another process: the table went with it, and touching it faults. */
	if (!header_backed(seg))
		return;
	if (seg_lock(seg) < 0)
		return; /* the slot is reclaimed when we are gone */
	t = &seg->hdr->holders[seg->slot];
	if (t->pid == seg->pid) {
		t->exports = 0;
		t->start_time = 0;
		__atomic_store_n(&t->pid, 0, __ATOMIC_RELEASE);
	}
	seg_unlock(seg);
	seg->slot = -1;
}

static void holder_set_exports(struct mv_segment *seg)
{
	if (seg->slot >= 0 && seg->hdr && getpid() == seg->pid)
		__atomic_store_n(&seg->hdr->holders[seg->slot].exports, seg->nexports,
				 __ATOMIC_RELEASE);
}

ssize_t mv_segment_holders(mv_segment_holder *out, size_t max, mv_segment *seg)
{
	struct seg_holder *t;
	size_t n = 0, stride;
	int i, writable;

	MV_CHECK_ARG(seg, "seg");
	if (max > 0)
		MV_CHECK_SIZED(out, mv_segment_holder, MV_SEGMENT_HOLDER_INIT);
	stride = max > 0 ? out->size : 0;
	if (!seg->hdr)
		return 0;
	if (!header_backed(seg))
		return truncated_fail(seg, object_size(seg));
	writable = !(seg->flags & MV_SEGMENT_READONLY);
	if (writable && seg_lock(seg) == 0) {
		holders_reclaim(seg);
		seg_unlock(seg);
	}
	t = seg->hdr->holders;
	for (i = 0; i < MV_SEGMENT_MAX_HOLDERS; i++) {
		pid_t pid = __atomic_load_n(&t[i].pid, __ATOMIC_ACQUIRE);
		int64_t exports = __atomic_load_n(&t[i].exports, __ATOMIC_ACQUIRE);

		if (pid <= 0)
			continue;
		if (n < max) {
			mv_segment_holder *h = (mv_segment_holder *)((char *)out + n * stride);

			h->size = stride;
			h->pid = pid;
			h->alive = holder_alive(pid, t[i].start_time);
			h->exports = exports < 0 ? 0 : (long)exports;
		}
		n++;
	}
	return (ssize_t)n;
}

/* ------------------------------------------------------------------ kernel lock byte */

static int ofd_lock(int fd, short type, int cmd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = LOCK_BYTE;
	fl.l_len = 1;
	return fcntl(fd, cmd, &fl) < 0 ? -errno : 0;
}

int mv_seg_lock_byte_write(int fd)
{
	int rc = ofd_lock(fd, F_WRLCK, F_OFD_SETLK);

	if (rc == -EAGAIN || rc == -EACCES)
		return -EBUSY;
	return rc;
}

void mv_seg_unlock_byte(int fd)
{
	ofd_lock(fd, F_UNLCK, F_OFD_SETLK);
}

int mv_segment_busy(int fd)
{
	struct flock fl;

	if (fd < 0)
		return mv_fail(EINVAL, "mv_segment_busy: invalid descriptor");
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = LOCK_BYTE;
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return mv_fail(errno, "cannot query the segment's export lock: %s", strerror(errno));
	return fl.l_type != F_UNLCK;
}

/* ------------------------------------------------------------------ mapping */

static void typing_from_header(struct mv_segment *seg, const struct seg_header *h)
{
	int i;

	memcpy(seg->format, h->format, sizeof(seg->format));
	mv_format_parse(&seg->fmt, seg->format);
	seg->ndim = h->ndim;
	for (i = 0; i < (h->ndim > 0 ? h->ndim : 0); i++)
		seg->shape[i] = (ssize_t)h->shape[i];
	seg->creator = h->creator_pid;
}

/* Map @len bytes of the object, readonly or not. */
static int map_object(struct mv_segment *seg, size_t len, void **out)
{
	int prot = PROT_READ | ((seg->flags & MV_SEGMENT_READONLY) ? 0 : PROT_WRITE);
	void *p;

	/* mmap of length 0 is invalid; map one page so a raw empty object still has an address. */
	p = mmap(NULL, len ? len : 1, prot, MAP_SHARED, seg->fd, 0);
	if (p == MAP_FAILED)
		return mv_fail(errno, "%s: cannot map %zu bytes: %s", seg->name, len, strerror(errno));
	*out = p;
	return 0;
}

int mv_seg_attach(struct mv_segment *seg)
{
	struct seg_header snap;
	struct stat st;
	void *p;
	int rc;

	if (fstat(seg->fd, &st) < 0)
		return mv_fail(errno, "%s: fstat: %s", seg->name, strerror(errno));
	if (seg->flags & MV_SEGMENT_RAW) {
		/* The caller set the typing (format, ndim auto) from its options. */
		if ((size_t)st.st_size % seg->fmt.itemsize)
			return mv_fail(EINVAL, "%s: %lld bytes: memoryview: length is not a multiple "
					       "of itemsize", seg->name, (long long)st.st_size);
		rc = map_object(seg, (size_t)st.st_size, &p);
		if (rc < 0)
			return rc;
		seg->auto_shape = (ssize_t)((size_t)st.st_size / seg->fmt.itemsize);
		seg->map = p;
		seg->map_len = (size_t)st.st_size ? (size_t)st.st_size : 1;
		seg->data_offset = 0;
		seg->data_size = (size_t)st.st_size;
		seg->hdr = NULL;
		seg->slot = -1;
		return 0;
	}
	if ((size_t)st.st_size < sizeof(struct seg_header))
		return mv_fail(EBADMSG, "%s: %lld bytes is too small for a memview header (%zu); "
					"open it raw", seg->name, (long long)st.st_size,
			       sizeof(struct seg_header));
	/* Map what the file holds now, then check the header against that. */
	rc = map_object(seg, (size_t)st.st_size, &p);
	if (rc < 0)
		return rc;
	seg->map = p;
	seg->map_len = (size_t)st.st_size;
	seg->hdr = p;
	rc = header_snapshot(seg->hdr, seg->name, &snap);
	if (rc < 0 && !(seg->flags & MV_SEGMENT_READONLY) &&
	    memcmp(seg->hdr->magic, SEG_MAGIC, sizeof(seg->hdr->magic)) == 0 &&
	    seg->hdr->version == SEG_VERSION) {
		/* Left mid-update by a writer that died holding the header lock: taking the lock
		 * recovers it and repairs the header (seg_lock()), as holder_join() would. */
		if (seg_lock(seg) == 0)
			seg_unlock(seg);
		rc = header_snapshot(seg->hdr, seg->name, &snap);
	}
	if (rc == 0)
		rc = header_check(seg->name, &snap, st.st_size);
	if (rc < 0) {
		munmap(seg->map, seg->map_len);
		seg->map = NULL;
		seg->hdr = NULL;
		return rc;
	}
	typing_from_header(seg, &snap);
	seg->data_offset = (size_t)snap.data_offset;
	seg->data_size = (size_t)snap.data_size;
	seg->generation = snap.generation;
	seg->auto_shape = (ssize_t)(seg->data_size / seg->fmt.itemsize);
	seg->slot = -1;
	if (!(seg->flags & MV_SEGMENT_READONLY)) {
		rc = holder_join(seg);
		if (rc < 0) {
			munmap(seg->map, seg->map_len);
			seg->map = NULL;
			seg->hdr = NULL;
			return rc;
		}
	}
	return 0;
}

void mv_seg_detach(struct mv_segment *seg)
{
	if (!(seg->flags & MV_SEGMENT_READONLY))
		holder_leave(seg);
	if (seg->map)
		munmap(seg->map, seg->map_len);
	seg->map = NULL;
	seg->hdr = NULL;
}

int mv_seg_format_new(struct mv_segment *seg, size_t data_size, const mv_segment_opts *opts)
{
	struct seg_header *h;
	pthread_mutexattr_t ma;
	struct timespec now;
	const char *format = opts->format ? opts->format : "B";
	mv_format f;
	ssize_t need;
	size_t total = SEG_ALIGN + data_size;
	void *p;
	int i, rc;

	(void)mv_format_parse(&f, format); /* checked by the caller */
	seg->flags &= ~MV_SEGMENT_READONLY;
	rc = map_object(seg, total, &p);
	if (rc < 0)
		return rc;
	h = p;
	memset(h, 0, sizeof(*h));
	h->version = SEG_VERSION;
	h->header_bytes = sizeof(*h);
	h->data_offset = SEG_ALIGN;
	h->data_size = data_size;
	h->generation = 1;
	h->ndim = opts->ndim < 0 ? SEG_NDIM_AUTO : opts->ndim;
	snprintf(h->format, sizeof(h->format), "%s", format);
	need = f.itemsize;
	for (i = 0; i < opts->ndim; i++) {
		h->shape[i] = opts->shape[i];
		need *= opts->shape[i];
	}
	(void)need;
	h->creator_pid = getpid();
	h->creator_start = proc_start_time(getpid());
	clock_gettime(CLOCK_REALTIME, &now);
	h->created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	h->max_holders = MV_SEGMENT_MAX_HOLDERS;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&h->lock.mutex, &ma);
	pthread_mutexattr_destroy(&ma);
	/*
	 * The magic goes in last, after the checksum that covers it (computed over a copy), so
	 * an opener never sees half a header, and a creator killed at any point leaves a zero
	 * magic ("still being created"), never a whole-looking header with no checksum.
	 */
	{
		struct seg_header whole;

		memcpy(&whole, h, SEG_CHECKSUMMED_BYTES);
		memcpy(whole.magic, SEG_MAGIC, sizeof(whole.magic));
		h->checksum = header_checksum(&whole);
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(h->magic, SEG_MAGIC, sizeof(h->magic));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	munmap(p, total);
	return mv_seg_attach(seg);
}

/* ------------------------------------------------------------------ handles */

int mv_seg_new(struct mv_segment **out, int fd, unsigned flags, const char *name, int is_memfd)
{
	struct mv_segment *seg = calloc(1, sizeof(*seg));

	if (!seg) {
		close(fd);
		return mv_fail(ENOMEM, "cannot allocate a segment handle");
	}
	seg->exp.ops = &segment_ops;
	seg->fd = fd;
	seg->flags = flags;
	seg->is_memfd = is_memfd;
	seg->slot = -1;
	seg->pid = getpid();
	snprintf(seg->name, sizeof(seg->name), "%s", name ? name : "memfd");
	pthread_mutex_init(&seg->mu, NULL);
	*out = seg;
	return 0;
}

void mv_seg_free(struct mv_segment *seg)
{
	if (!seg)
		return;
	mv_seg_detach(seg);
	if (seg->fd >= 0)
		close(seg->fd);
	pthread_mutex_destroy(&seg->mu);
	free(seg);
}

int mv_segment_close(mv_segment *seg)
{
	long n;

	if (!seg)
		return 0;
	n = mv_exports_lock(&seg->exp);
	if (n)
		return mv_fail(EBUSY, "%s: cannot close while %ld export%s of it %s alive: "
				      "release the views first", seg->name, n, n == 1 ? "" : "s",
			       n == 1 ? "is" : "are");
	mv_seg_free(seg);
	return 0;
}

/* Re-map to the header's current size (caller has locked out exports). */
static int remap_locked(struct mv_segment *seg)
{
	struct seg_header snap;
	struct stat st;
	void *p;
	int rc;

	if (!seg->hdr)
		return 0;
	rc = check_not_truncated(seg);
	if (rc < 0)
		return rc;
	if (fstat(seg->fd, &st) < 0)
		return mv_fail(errno, "%s: fstat: %s", seg->name, strerror(errno));
	/*
	 * Check the header (page 0, mapped already) before changing the mapping, then move only
	 * its end: failure leaves it as it was, shrinking needs no memory, growing only the
	 * difference - a second full mapping could fail under RLIMIT_AS where this does not.
	 */
	rc = header_snapshot(seg->hdr, seg->name, &snap);
	if (rc == 0)
		rc = header_check(seg->name, &snap, st.st_size);
	if (rc < 0)
		return rc;
	p = mremap(seg->map, seg->map_len, (size_t)st.st_size, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return mv_fail(errno, "%s: cannot map %lld bytes: %s", seg->name,
			       (long long)st.st_size, strerror(errno));
	seg->map = p;
	seg->map_len = (size_t)st.st_size;
	seg->hdr = p;
	typing_from_header(seg, &snap);
	seg->data_size = (size_t)snap.data_size;
	seg->generation = snap.generation;
	seg->auto_shape = (ssize_t)(seg->data_size / seg->fmt.itemsize);
	return 0;
}

int mv_segment_remap(mv_segment *seg)
{
	long n;
	int rc;

	MV_CHECK_ARG(seg, "seg");
	n = mv_exports_lock(&seg->exp);
	if (n)
		return mv_fail(EBUSY, "%s: cannot remap while %ld export%s of it %s alive",
			       seg->name, n, n == 1 ? "" : "s", n == 1 ? "is" : "are");
	rc = remap_locked(seg);
	mv_exports_unlock(&seg->exp);
	return rc;
}

/* New data size in the header and the object; the caller holds what the direction needs. */
static int resize_object(struct mv_segment *seg, size_t data_size)
{
	struct seg_header *h = seg->hdr;
	size_t old_total = seg->data_offset + (size_t)h->data_size;
	size_t new_total = seg->data_offset + data_size;
	int rc;

	if (new_total > old_total) {
		rc = fallocate(seg->fd, 0, (off_t)old_total, (off_t)(new_total - old_total));
		if (rc < 0 && errno == ENOSPC)
			return mv_fail(ENOSPC, "%s: not enough space to grow to %zu bytes",
				       seg->name, data_size);
		if (rc < 0 && ftruncate(seg->fd, (off_t)new_total) < 0)
			return mv_fail(errno, "%s: cannot grow: %s", seg->name, strerror(errno));
	}
	header_write_begin(h);
	if (new_total < old_total && ftruncate(seg->fd, (off_t)new_total) < 0) {
		rc = -errno;
		header_write_end(h);
		return mv_fail(-rc, "%s: cannot shrink: %s", seg->name, strerror(-rc));
	}
	h->data_size = data_size;
	h->generation++;
	header_write_end(h);
	return 0;
}

int mv_segment_resize(mv_segment *seg, size_t data_size)
{
	int shrink, rc, byte_locked = 0, own_locked = 0, grown = 0;
	void *p;
	long n;

	MV_CHECK_ARG(seg, "seg");
	if (seg->flags & MV_SEGMENT_READONLY)
		return mv_fail(EROFS, "%s: opened readonly: cannot resize", seg->name);
	if (!seg->hdr)
		return mv_fail(EPERM, "%s: a raw segment has no header to resize", seg->name);
	if (data_size > (size_t)SSIZE_MAX - seg->data_offset)
		return mv_fail(EINVAL, "%s: size %zu is too large", seg->name, data_size);
	if (data_size % seg->fmt.itemsize)
		return mv_fail(EINVAL, "%s: size %zu is not a multiple of the item size %u",
			       seg->name, data_size, seg->fmt.itemsize);
	if (seg->ndim >= 0) {
		ssize_t need = seg->fmt.itemsize;
		int i;

		for (i = 0; i < seg->ndim; i++)
			need *= seg->shape[i];
		if ((size_t)need > data_size)
			return mv_fail(EINVAL, "%s: the segment's shape needs %zd bytes", seg->name,
				       need);
	}
	rc = check_not_truncated(seg);
	if (rc < 0)
		return rc;
	/*
	 * Without views here the mapping follows the new size. It grows before anything else
	 * changes, so that a mapping the system refuses (RLIMIT_AS) leaves the segment as it was;
	 * and not under the header mutex, which lives in the mapping that may move.
	 */
	n = mv_exports_lock(&seg->exp);
	own_locked = n == 0;
	if (own_locked && data_size > seg->data_size) {
		p = mremap(seg->map, seg->map_len, seg->data_offset + data_size, MREMAP_MAYMOVE);
		if (p == MAP_FAILED) {
			rc = mv_fail(errno, "%s: cannot map %zu bytes to grow into: %s", seg->name,
				     seg->data_offset + data_size, strerror(errno));
			goto out_exports;
		}
		seg->map = p;
		seg->hdr = p;
		seg->map_len = seg->data_offset + data_size;
		grown = 1;
	}
	rc = seg_lock(seg);
	if (rc < 0)
		goto out_exports;
	shrink = data_size < (size_t)seg->hdr->data_size;
	if (shrink && seg->is_memfd) {
		rc = mv_fail(EPERM, "%s: memfd segments are sealed against shrinking", seg->name);
		goto out;
	}
	if (shrink) {
		if (!own_locked) {
			rc = mv_fail(EBUSY, "%s: cannot shrink while %ld export%s of it %s alive "
					    "in this process", seg->name, n, n == 1 ? "" : "s",
				     n == 1 ? "is" : "are");
			goto out;
		}
		rc = mv_seg_lock_byte_write(seg->fd);
		if (rc < 0) {
			rc = rc == -EBUSY ?
				mv_fail(EBUSY, "%s: cannot shrink while another process holds views "
					       "of it", seg->name) :
				mv_fail(-rc, "%s: cannot lock: %s", seg->name, strerror(-rc));
			goto out;
		}
		byte_locked = 1;
	}
	rc = resize_object(seg, data_size);
out:
	seg_unlock(seg);
	if (byte_locked)
		mv_seg_unlock_byte(seg->fd);
out_exports:
	if (own_locked) {
		/* No views here: follow the new size at once (or the old one, after a failure). */
		if (rc == 0)
			rc = remap_locked(seg);
		else if (grown)
			remap_locked(seg);
		mv_exports_unlock(&seg->exp);
	}
	return rc;
}

/* ------------------------------------------------------------------ exporter */

static int seg_get(mv_exporter *self, mv_buffer *buf, unsigned flags)
{
	struct mv_segment *seg = (struct mv_segment *)self;
	int readonly = (seg->flags & MV_SEGMENT_READONLY) != 0, rc;

	if ((flags & MV_BUF_WRITABLE) && readonly)
		return mv_fail(EROFS, "%s: opened readonly: Object is not writable.", seg->name);
	pthread_mutex_lock(&seg->mu);
	/* A view of memory a peer truncated away would fault: refuse it and say why. */
	rc = check_not_truncated(seg);
	if (rc < 0) {
		pthread_mutex_unlock(&seg->mu);
		return rc;
	}
	if (seg->nexports == 0) {
		/* First export: tell the kernel, so shrink and rm in other processes see us. */
		rc = ofd_lock(seg->fd, F_RDLCK, F_OFD_SETLK);
		if (rc < 0) {
			pthread_mutex_unlock(&seg->mu);
			if (rc == -EAGAIN || rc == -EACCES)
				return mv_fail(EBUSY, "%s: being resized or removed by another "
						      "process", seg->name);
			return mv_fail(-rc, "%s: cannot take the export lock: %s", seg->name,
				       strerror(-rc));
		}
		/* Another process may have resized it since we mapped: follow, we hold nothing. */
		if (seg->hdr && __atomic_load_n(&seg->hdr->generation, __ATOMIC_ACQUIRE) !=
				       seg->generation) {
			rc = remap_locked(seg);
			if (rc < 0) {
				ofd_lock(seg->fd, F_UNLCK, F_OFD_SETLK);
				pthread_mutex_unlock(&seg->mu);
				return rc;
			}
		}
	}
	seg->nexports++;
	holder_set_exports(seg);
	pthread_mutex_unlock(&seg->mu);

	buf->obj = self;
	buf->buf = seg->map + seg->data_offset;
	buf->readonly = readonly;
	buf->suboffsets = NULL;
	buf->internal = NULL;
	if ((flags & MV_BUF_ND) != MV_BUF_ND || seg->ndim == SEG_NDIM_AUTO) {
		/* Plain bytes for simple requests; 1-D over all the data when no shape is set. */
		int typed = (flags & MV_BUF_ND) == MV_BUF_ND;

		buf->itemsize = typed ? seg->fmt.itemsize : 1;
		buf->len = typed ? (ssize_t)(seg->data_size / seg->fmt.itemsize) * seg->fmt.itemsize :
				   (ssize_t)seg->data_size;
		buf->format = (flags & MV_BUF_FORMAT) ? (typed ? seg->format : "B") : NULL;
		buf->ndim = 1;
		buf->shape = typed ? &seg->auto_shape : NULL;
		buf->strides = NULL;
		return 0;
	}
	buf->itemsize = seg->fmt.itemsize;
	buf->format = (flags & MV_BUF_FORMAT) ? seg->format : NULL;
	buf->ndim = seg->ndim;
	buf->shape = seg->shape;
	buf->strides = NULL;
	{
		ssize_t n = seg->fmt.itemsize;
		int i;

		for (i = 0; i < seg->ndim; i++)
			n *= seg->shape[i];
		buf->len = n;
	}
	return 0;
}

static void seg_release(mv_exporter *self, mv_buffer *buf)
{
	struct mv_segment *seg = (struct mv_segment *)self;

	pthread_mutex_lock(&seg->mu);
	/* A forked child shares the parent's open file description, and so its lock: releasing
	 * views it inherited must not drop the lock the parent's views still need. */
	if (--seg->nexports == 0 && getpid() == seg->pid)
		ofd_lock(seg->fd, F_UNLCK, F_OFD_SETLK);
	holder_set_exports(seg);
	pthread_mutex_unlock(&seg->mu);
}

mv_exporter *mv_segment_exporter(mv_segment *seg)
{
	return seg ? &seg->exp : NULL;
}

void *mv_segment_data(const mv_segment *seg)
{
	return seg ? seg->map + seg->data_offset : NULL;
}

int mv_segment_fd(const mv_segment *seg)
{
	return seg ? seg->fd : mv_fail(EINVAL, "mv_segment_fd: NULL segment");
}

int mv_segment_get_info(mv_segment_info *out, const mv_segment *seg)
{
	struct seg_header snap;
	off_t size;
	int i, seals;

	MV_CHECK_SIZED(out, mv_segment_info, MV_SEGMENT_INFO_INIT);
	MV_CHECK_ARG(seg, "seg");
	*out = (mv_segment_info){ .size = out->size };
	out->data_offset = seg->data_offset;
	out->data_size = seg->data_size;
	out->mapped_size = seg->data_size;
	out->generation = seg->generation;
	size = object_size(seg);
	if (seg->hdr && size >= (off_t)sizeof(struct seg_header) &&
	    header_snapshot(seg->hdr, seg->name, &snap) == 0 &&
	    header_check(seg->name, &snap, size) == 0) {
		/* The live size and generation, if the header still checks out. */
		out->data_size = (size_t)snap.data_size;
		out->generation = snap.generation;
	} else if (size >= 0 && (uint64_t)size < seg->data_offset + out->data_size) {
		/* Truncated behind the header's back: what is left of the data. */
		out->data_size = (uint64_t)size > seg->data_offset ?
					 (size_t)size - seg->data_offset : 0;
	}
	out->flags = seg->flags | (seg->is_memfd ? MV_SEGMENT_MEMFD : 0);
	seals = seg->is_memfd ? fcntl(seg->fd, F_GET_SEALS) : 0;
	if (seals > 0) {
		out->seals |= (seals & F_SEAL_GROW) ? MV_SEAL_GROW : 0;
		out->seals |= (seals & F_SEAL_FUTURE_WRITE) ? MV_SEAL_FUTURE_WRITE : 0;
	}
	snprintf(out->format, sizeof(out->format), "%s", seg->format);
	if (seg->ndim == SEG_NDIM_AUTO) {
		out->ndim = 1;
		out->shape[0] = (ssize_t)(out->data_size / seg->fmt.itemsize);
	} else {
		out->ndim = seg->ndim;
		for (i = 0; i < seg->ndim; i++)
			out->shape[i] = seg->shape[i];
	}
	out->creator = seg->creator;
	out->exports = mv_exporter_exports(&seg->exp);
	return 0;
}

/* ------------------------------------------------------------------ probing a descriptor */

/* pread() all of @len bytes unless the object ends first: the count read, or -errno. */
static ssize_t pread_all(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/*
 * How a probe's messages name the object: what /proc says the descriptor is ("/dev/shm/NAME";
 * a memfd's "/memfd:NAME (deleted)" as "memfd:NAME"), or "descriptor N" without /proc.
 */
static void probe_name(int fd, char *name, size_t len)
{
	static const char deleted[] = " (deleted)";
	const size_t dlen = sizeof(deleted) - 1;
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, name, len - 1);
	if (n <= 0) {
		snprintf(name, len, "descriptor %d", fd);
		return;
	}
	name[n] = '\0';
	if (strncmp(name, "/memfd:", 7) != 0)
		return;
	if ((size_t)n > 7 + dlen && strcmp(name + n - dlen, deleted) == 0)
		name[n - dlen] = '\0';
	memmove(name, name + 1, strlen(name));
}

/*
 * The static part of the header, read through @fd under the seqlock as header_snapshot() reads
 * it from a mapping: seq, then the copy, then seq again, retried while a writer is at work.
 */
static int header_pread(int fd, const char *name, struct seg_header *snap)
{
	const off_t seq_at = offsetof(struct seg_header, seq);
	const size_t len = offsetof(struct seg_header, lock);
	uint32_t s1 = 0, s2 = 0;
	ssize_t n1, n, n2;
	int i;

	for (i = 0; i < SEQ_RETRIES; i++) {
		n1 = pread_all(fd, &s1, sizeof(s1), seq_at);
		n = n1 < 0 ? n1 : pread_all(fd, snap, len, 0);
		n2 = n < 0 ? n : pread_all(fd, &s2, sizeof(s2), seq_at);
		if (n2 < 0)
			return mv_fail((int)-n2, "%s: cannot read the header: %s", name,
				       strerror((int)-n2));
		if (n1 != sizeof(s1) || (size_t)n != len || n2 != sizeof(s2))
			return mv_fail(EBADMSG, "%s: the object was cut short while its header was "
						"read", name);
		if (!(s1 & 1) && s1 == s2 && snap->seq == s1)
			return 0;
		if (i > 16)
			sched_yield();
	}
	return mv_fail(EBADMSG, "%s: header update in progress or interrupted (seq %u); "
				"open it read-write to repair", name, s1);
}

int mv_segment_probe(mv_segment_info *out, int fd)
{
	struct seg_header snap;
	char name[320];
	struct stat st;
	mv_format f;
	ssize_t n;
	int i, rc, seals;

	MV_CHECK_SIZED(out, mv_segment_info, MV_SEGMENT_INFO_INIT);
	if (fstat(fd, &st) < 0)
		return mv_fail(errno, "probe: descriptor %d: %s", fd, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return mv_fail(EINVAL, "probe: descriptor %d is not a regular file (a shm object "
					"or a memfd)", fd);
	probe_name(fd, name, sizeof(name));
	n = pread_all(fd, snap.magic, sizeof(snap.magic), 0);
	if (n < 0)
		return mv_fail((int)-n, "%s: cannot read: %s", name, strerror((int)-n));
	/* Another program's object (or one still being created: the magic goes in last). */
	if ((size_t)n < sizeof(snap.magic) || memcmp(snap.magic, SEG_MAGIC, sizeof(snap.magic)))
		return 0;
	if ((size_t)st.st_size < sizeof(struct seg_header))
		return mv_fail(EBADMSG, "%s: %lld bytes is too small for a memview header (%zu)",
			       name, (long long)st.st_size, sizeof(struct seg_header));
	rc = header_pread(fd, name, &snap);
	if (rc == 0)
		rc = header_check(name, &snap, st.st_size);
	if (rc < 0)
		return rc;
	(void)mv_format_parse(&f, snap.format); /* header_check() parsed it */
	*out = (mv_segment_info){ .size = out->size };
	out->data_offset = (size_t)snap.data_offset;
	out->data_size = (size_t)snap.data_size;
	out->generation = snap.generation;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals > 0) {
		out->seals |= (seals & F_SEAL_GROW) ? MV_SEAL_GROW : 0;
		out->seals |= (seals & F_SEAL_FUTURE_WRITE) ? MV_SEAL_FUTURE_WRITE : 0;
	}
	snprintf(out->format, sizeof(out->format), "%s", snap.format);
	if (snap.ndim == SEG_NDIM_AUTO) {
		out->ndim = 1;
		out->shape[0] = (ssize_t)(out->data_size / f.itemsize);
	} else {
		out->ndim = snap.ndim;
		for (i = 0; i < snap.ndim; i++)
			out->shape[i] = (ssize_t)snap.shape[i];
	}
	out->creator = snap.creator_pid;
	return 1;
}
