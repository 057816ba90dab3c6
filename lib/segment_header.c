/*
 * lib/segment_header.c - the segment format shared between processes: the header (checksum,
 * seqlock snapshots, validation, updates under the header lock), the holder table, the kernel
 * lock byte that says "this process holds exports", and the probe that judges an object from a
 * descriptor. Everything here works on the shared bytes (struct seg_header, lib/segment_layout.h)
 * and a descriptor; the process-local handle that maps a segment is lib/segment.c.
 *
 * Trust: the header lives in memory other processes can write. Every value read from it is
 * copied out under the seqlock, checked, and only the checked copy is used (sizes against what
 * this process maps, ndim, shape against the data size, the format); updates are made on a
 * private copy and published whole. Nothing in the header is a pointer or a libc object: the
 * header lock is the kernel's (an OFD lock on SEG_HEADER_LOCK_BYTE). The holder table is only
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long a header-lock acquisition may wait before the segment is called wedged. */
#define HEADER_LOCK_TIMEOUT_S 2
/* How often a reader retries a header that is being updated. */
#define SEQ_RETRIES 2000

/* ------------------------------------------------------------------ processes */

/* Start time of @pid in clock ticks after boot (/proc/PID/stat field 22), or 0 if unknown. */
uint64_t mv_seg_proc_start_time(pid_t pid)
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
int mv_seg_holder_alive(pid_t pid, uint64_t start)
{
	uint64_t now;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 0;
	now = mv_seg_proc_start_time(pid);
	/* Without /proc (hidepid), or when the holder could not read its own start time (no
	 * descriptor was free when it joined), the pid's existence is all we can know. */
	return now == 0 || start == 0 || now == start;
}

/* ------------------------------------------------------------------ header */

uint32_t mv_seg_header_checksum(const struct seg_header *h)
{
	return (uint32_t)(mv_siphash13(h, SEG_CHECKSUMMED_BYTES) & 0xffffffffu);
}

/*
 * Copy the static part of the header consistently: retry while a writer is in the middle of an
 * update (odd seq, or seq changed under us).
 */
int mv_seg_header_snapshot(const struct seg_header *hdr, const char *name,
			   struct seg_header *snap)
{
	uint32_t s1 = 0, s2;
	int i;

	for (i = 0; i < SEQ_RETRIES; i++) {
		s1 = __atomic_load_n(&hdr->seq, __ATOMIC_ACQUIRE);
		memcpy(snap, hdr, SEG_STATIC_BYTES);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&hdr->seq, __ATOMIC_RELAXED);
		if (!(s1 & 1) && s1 == s2)
			return 0;
		/* Not a memview header (the magic never changes once written): there is no update
		 * to wait for, and mv_seg_header_check() says what it is. */
		if (memcmp(snap->magic, SEG_MAGIC, sizeof(snap->magic)) != 0)
			return 0;
		if (i > 16)
			sched_yield();
	}
	return mv_fail(EBADMSG, "%s: header update in progress or interrupted (seq %u); "
				"open it read-write to repair", name, s1);
}

/*
 * Check a header snapshot against @limit, the bytes of the object this process maps or is about
 * to map (at most the object's size); say what failed, naming @name.
 */
int mv_seg_header_check(const char *name, const struct seg_header *h, off_t limit)
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
	if (h->version < SEG_VERSION)
		return mv_fail(EBADMSG, "%s: header version %u is not supported (this is %u): "
					"re-create it with this memview", name, h->version,
			       SEG_VERSION);
	if (h->version != SEG_VERSION)
		return mv_fail(EBADMSG, "%s: header version %u is not supported (this is %u)",
			       name, h->version, SEG_VERSION);
	if (h->checksum != mv_seg_header_checksum(h))
		return mv_fail(EBADMSG, "%s: header checksum mismatch (0x%08x stored, 0x%08x "
					"computed)", name, h->checksum, mv_seg_header_checksum(h));
	if (h->header_bytes < offsetof(struct seg_header, holders) ||
	    h->header_bytes > h->data_offset)
		return mv_fail(EBADMSG, "%s: header size %u is invalid", name, h->header_bytes);
	if (h->data_offset < sizeof(struct seg_header) || h->data_offset % SEG_ALIGN ||
	    h->data_offset > SEG_MAX_DATA_OFFSET)
		return mv_fail(EBADMSG, "%s: data offset %llu is invalid", name,
			       (unsigned long long)h->data_offset);
	if (limit < 0 || h->data_size > (uint64_t)SSIZE_MAX - h->data_offset ||
	    (uint64_t)limit < h->data_offset + h->data_size)
		return mv_fail(EBADMSG, "%s: header says %llu data bytes at offset %llu but the "
					"object has %lld bytes", name,
			       (unsigned long long)h->data_size,
			       (unsigned long long)h->data_offset, (long long)limit);
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

/*
 * Changes of the static part (caller holds the header lock). Nothing is read back from the
 * shared bytes: the new bytes and their checksum are a private copy's, and seq goes from @seq
 * (the even value the header had when that copy was taken) to odd to even, whatever a peer
 * wrote into it meanwhile.
 */
void mv_seg_header_write_begin(struct seg_header *h, uint32_t seq)
{
	__atomic_store_n(&h->seq, seq | 1u, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

void mv_seg_header_write_end(struct seg_header *h, struct seg_header *next, uint32_t seq)
{
	next->checksum = mv_seg_header_checksum(next);
	next->seq = (seq | 1u) + 1;
	memcpy(h, next, offsetof(struct seg_header, seq));
	__atomic_store_n(&h->seq, next->seq, __ATOMIC_RELEASE);
}

/*
 * Write a fresh header for @data_size bytes of data typed by @opts (checked by the caller) at
 * @h, the start of an object that has room for SEG_ALIGN + @data_size bytes.
 */
void mv_seg_header_init(struct seg_header *h, size_t data_size, const mv_segment_opts *opts)
{
	struct timespec now;
	const char *format = opts->format ? opts->format : "B";
	int i;

	memset(h, 0, sizeof(*h));
	h->version = SEG_VERSION;
	h->header_bytes = sizeof(*h);
	h->data_offset = SEG_ALIGN;
	h->data_size = data_size;
	h->generation = 1;
	h->ndim = opts->ndim < 0 ? SEG_NDIM_AUTO : opts->ndim;
	snprintf(h->format, sizeof(h->format), "%s", format);
	for (i = 0; i < opts->ndim; i++)
		h->shape[i] = opts->shape[i];
	h->creator_pid = getpid();
	h->creator_start = mv_seg_proc_start_time(getpid());
	clock_gettime(CLOCK_REALTIME, &now);
	h->created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	h->max_holders = MV_SEGMENT_MAX_HOLDERS;
	/*
	 * The magic goes in last, after the checksum that covers it (computed over a copy), so
	 * an opener never sees half a header, and a creator killed at any point leaves a zero
	 * magic ("still being created"), never a whole-looking header with no checksum.
	 */
	{
		struct seg_header whole;

		memcpy(&whole, h, SEG_CHECKSUMMED_BYTES);
		memcpy(whole.magic, SEG_MAGIC, sizeof(whole.magic));
		h->checksum = mv_seg_header_checksum(&whole);
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(h->magic, SEG_MAGIC, sizeof(h->magic));
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------ header lock (kernel) */

/*
 * A writer died holding the header lock in the middle of an update (the kernel dropped its lock;
 * seq is odd). Repair it from a private copy: the data size is what the object's size says
 * (the kernel kept that) when the header's data offset is one a header may have, and the
 * checksum is recomputed. Whatever else the dead writer (or a peer) left is checked by every
 * reader, as always.
 */
static void header_repair(struct mv_segment *seg, uint32_t seq, off_t size)
{
	struct seg_header fix;

	memcpy(&fix, seg->hdr, SEG_STATIC_BYTES);
	if (fix.data_offset >= sizeof(struct seg_header) && fix.data_offset % SEG_ALIGN == 0 &&
	    fix.data_offset <= SEG_MAX_DATA_OFFSET && (uint64_t)size >= fix.data_offset)
		fix.data_size = (uint64_t)size - fix.data_offset;
	mv_seg_header_write_begin(seg->hdr, seq);
	mv_seg_header_write_end(seg->hdr, &fix, seq);
}

int mv_seg_header_lock(struct mv_segment *seg)
{
	struct timespec deadline, now;
	struct stat st;
	unsigned ms;
	uint32_t seq;
	int rc;

	if (getpid() != seg->pid)
		return mv_fail(EPERM, "%s: this handle belongs to process %d: a forked child shares "
				      "its lock, so it must open the segment again to change it",
			       seg->name, (int)seg->pid);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += HEADER_LOCK_TIMEOUT_S;
	rc = pthread_mutex_clocklock(&seg->hdr_mu, CLOCK_MONOTONIC, &deadline);
	if (rc == ETIMEDOUT)
		return mv_fail(EBUSY, "%s: header lock held for more than %d s by another thread "
				      "of this process", seg->name, HEADER_LOCK_TIMEOUT_S);
	if (rc)
		return mv_fail(rc, "%s: header lock: %s", seg->name, strerror(rc));
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = now.tv_sec > deadline.tv_sec ? 0 :
		(unsigned)((deadline.tv_sec - now.tv_sec) * 1000 +
			   (deadline.tv_nsec - now.tv_nsec) / 1000000);
	rc = mv_ofd_lock_wait(seg->fd, SEG_HEADER_LOCK_BYTE, F_WRLCK, ms);
	if (rc < 0) {
		pthread_mutex_unlock(&seg->hdr_mu);
		if (rc == -EBUSY)
			return mv_fail(EBUSY, "%s: header lock held for more than %d s by another "
					      "process (a live one: the kernel drops a dead one's)",
				       seg->name, HEADER_LOCK_TIMEOUT_S);
		return mv_fail(-rc, "%s: cannot take the header lock: %s", seg->name,
			       strerror(-rc));
	}
	/* Touching a header page that was truncated away would fault. */
	if (fstat(seg->fd, &st) < 0) {
		rc = errno;
		mv_seg_header_unlock(seg);
		return mv_fail(rc, "%s: fstat: %s", seg->name, strerror(rc));
	}
	if (st.st_size < (off_t)sizeof(struct seg_header)) {
		mv_seg_header_unlock(seg);
		return mv_fail(EBADMSG, "%s: the segment was truncated to %lld bytes by another "
					"process: its header is gone", seg->name, (long long)st.st_size);
	}
	seq = __atomic_load_n(&seg->hdr->seq, __ATOMIC_ACQUIRE);
	if (seq & 1) {
		/* Odd while nobody holds the lock: its writer died mid-update. */
		header_repair(seg, seq, st.st_size);
		mv_seg_holders_reclaim(seg->hdr);
	}
	return 0;
}

void mv_seg_header_unlock(struct mv_segment *seg)
{
	mv_ofd_lock(seg->fd, SEG_HEADER_LOCK_BYTE, F_UNLCK);
	pthread_mutex_unlock(&seg->hdr_mu);
}

/* ------------------------------------------------------------------ holders */

/* Free the slots of processes that are gone (caller holds the header lock). */
void mv_seg_holders_reclaim(struct seg_header *h)
{
	struct seg_holder *t = h->holders;
	int i;

	for (i = 0; i < MV_SEGMENT_MAX_HOLDERS; i++) {
		pid_t pid = __atomic_load_n(&t[i].pid, __ATOMIC_ACQUIRE);
		uint64_t start = __atomic_load_n(&t[i].start_time, __ATOMIC_RELAXED);

		if (pid != 0 && !mv_seg_holder_alive(pid, start)) {
			t[i].exports = 0;
			t[i].start_time = 0;
			__atomic_store_n(&t[i].pid, 0, __ATOMIC_RELEASE);
		}
	}
}

/* Take a holder slot under the header lock; without a free one the kernel lock still counts us. */
int mv_seg_holder_join(struct mv_segment *seg)
{
	struct seg_holder *t = seg->hdr->holders;
	int i, rc;

	seg->slot = -1;
	rc = mv_seg_header_lock(seg);
	if (rc < 0)
		return rc;
	mv_seg_holders_reclaim(seg->hdr);
	for (i = 0; i < MV_SEGMENT_MAX_HOLDERS; i++) {
		if (__atomic_load_n(&t[i].pid, __ATOMIC_ACQUIRE) == 0) {
			t[i].start_time = mv_seg_proc_start_time(seg->pid);
			t[i].exports = 0;
			__atomic_store_n(&t[i].pid, seg->pid, __ATOMIC_RELEASE);
			seg->slot = i;
			break;
		}
	}
	mv_seg_header_unlock(seg);
	return 0;
}

void mv_seg_holder_leave(struct mv_segment *seg)
{
	struct seg_holder *t = &seg->hdr->holders[seg->slot];

	if (mv_seg_header_lock(seg) < 0)
		return; /* the slot is reclaimed when we are gone */
	if (__atomic_load_n(&t->pid, __ATOMIC_ACQUIRE) == seg->pid) {
		t->exports = 0;
		t->start_time = 0;
		__atomic_store_n(&t->pid, 0, __ATOMIC_RELEASE);
	}
	mv_seg_header_unlock(seg);
}

void mv_seg_holder_set_exports(struct seg_header *h, int slot, long exports)
{
	__atomic_store_n(&h->holders[slot].exports, exports, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------ kernel lock byte */

int mv_seg_lock_byte_write(int fd)
{
	return mv_ofd_lock(fd, SEG_LOCK_BYTE, F_WRLCK);
}

void mv_seg_unlock_byte(int fd)
{
	mv_ofd_lock(fd, SEG_LOCK_BYTE, F_UNLCK);
}

int mv_segment_busy(int fd)
{
	int rc;

	if (fd < 0)
		return mv_fail(EINVAL, "mv_segment_busy: invalid descriptor");
	rc = mv_ofd_test(fd, SEG_LOCK_BYTE, F_WRLCK);
	if (rc < 0)
		return mv_fail(-rc, "cannot query the segment's export lock: %s", strerror(-rc));
	return rc;
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
 * The static part of the header, read through @fd under the seqlock as mv_seg_header_snapshot() reads
 * it from a mapping: seq, then the copy, then seq again, retried while a writer is at work.
 */
static int seg_header_pread(int fd, const char *name, struct seg_header *snap)
{
	const off_t seq_at = offsetof(struct seg_header, seq);
	const size_t len = SEG_STATIC_BYTES;
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

ssize_t mv_seg_holders_report(mv_segment_holder *out, size_t max,
			      const struct seg_holder *copy)
{
	size_t n = 0, stride = max > 0 ? out->size : 0;
	int i;

	for (i = 0; i < SEG_MAX_HOLDERS; i++) {
		if (copy[i].pid <= 0)
			continue;
		if (n < max) {
			mv_segment_holder *h = (mv_segment_holder *)((char *)out + n * stride);

			h->size = stride;
			h->pid = copy[i].pid;
			h->alive = mv_seg_holder_alive(copy[i].pid, copy[i].start_time);
			h->exports = copy[i].exports < 0 ? 0 : (long)copy[i].exports;
		}
		n++;
	}
	return (ssize_t)n;
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
	rc = seg_header_pread(fd, name, &snap);
	if (rc == 0)
		rc = mv_seg_header_check(name, &snap, st.st_size);
	if (rc < 0)
		return rc;
	(void)mv_format_parse(&f, snap.format); /* mv_seg_header_check() parsed it */
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

ssize_t mv_segment_probe_holders(mv_segment_holder *out, size_t max, int fd)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	struct seg_holder copy[SEG_MAX_HOLDERS];
	ssize_t n;
	int rc;

	if (max > 0)
		MV_CHECK_SIZED(out, mv_segment_holder, MV_SEGMENT_HOLDER_INIT);
	rc = mv_segment_probe(&info, fd);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return mv_fail(EBADMSG, "descriptor %d: not a memview segment", fd);
	/* One read into private memory; the probe checked the object holds a whole header. */
	n = pread_all(fd, copy, sizeof(copy), (off_t)offsetof(struct seg_header, holders));
	if (n < 0)
		return mv_fail((int)-n, "descriptor %d: cannot read the holder table: %s", fd,
			       strerror((int)-n));
	if ((size_t)n != sizeof(copy))
		return mv_fail(EBADMSG, "descriptor %d: the object was cut short while its holder "
					"table was read", fd);
	return mv_seg_holders_report(out, max, copy);
}
