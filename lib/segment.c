/*
 * lib/segment.c - a process's handle on a memview segment: mapping it, following resizes,
 * refusing views of memory a peer truncated away, and the segment as an exporter whose export
 * count the kernel also knows through an open-file-description lock (one per process, on
 * SEG_LOCK_BYTE). The bytes shared with other processes - header, holder table - are
 * lib/segment_header.c's; this file reads them only through its checked snapshots, private
 * copies it checks against what this process maps. The data offset is fixed for the life of a
 * segment: the first checked header sets it, and a header that moves it is refused.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "segment_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int seg_get(mv_exporter *self, mv_buffer *buf, unsigned flags);
static void seg_release(mv_exporter *self, mv_buffer *buf);

static const mv_exporter_ops segment_ops = {
	.size = sizeof(mv_exporter_ops),
	.name = "segment",
	.get = seg_get,
	.release = seg_release,
};

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

/* A header that moves the data: refused, whatever else it says. */
static int offset_moved(const struct mv_segment *seg, const struct seg_header *snap)
{
	return mv_fail(EBADMSG, "%s: the header moves the data offset from %zu to %llu: a "
				"segment's data offset is fixed for its life (another process "
				"rewrote the header)", seg->name, seg->data_offset,
		       (unsigned long long)snap->data_offset);
}

/*
 * A private, checked copy of the header as it is now: taken under the seqlock, checked against
 * @limit bytes of the object (what this process maps or is about to map), and with the data
 * offset this handle mapped.
 */
static int header_now(struct seg_header *snap, const struct mv_segment *seg, off_t limit)
{
	int rc = mv_seg_header_snapshot(seg->hdr, seg->name, snap);

	if (rc == 0)
		rc = mv_seg_header_check(seg->name, snap, limit);
	if (rc == 0 && snap->data_offset != seg->data_offset)
		rc = offset_moved(seg, snap);
	return rc;
}

/*
 * Whether the object still holds everything this handle maps: 0 when it does (its size in
 * *@size); 1 when it was shrunk through memview (the header, checked against the object's
 * size, agrees with it: remapping follows it); -EBADMSG when it was cut behind the header's
 * back. The size is read before the header, so a memview shrink in progress is seen finished
 * (the seqlock waits for it), never as a truncation.
 */
static int backed(const struct mv_segment *seg, off_t *size)
{
	struct seg_header snap;

	*size = object_size(seg);
	if (*size < 0)
		return mv_fail(errno, "%s: fstat: %s", seg->name, strerror(errno));
	if ((uint64_t)*size >= seg->data_offset + seg->data_size)
		return 0;
	if (seg->hdr && *size >= (off_t)sizeof(struct seg_header) &&
	    header_now(&snap, seg, *size) == 0)
		return 1;
	return truncated_fail(seg, *size);
}

ssize_t mv_segment_holders(mv_segment_holder *out, size_t max, mv_segment *seg)
{
	struct seg_holder copy[SEG_MAX_HOLDERS];
	const struct seg_holder *t;
	int i;

	MV_CHECK_ARG(seg, "seg");
	if (max > 0)
		MV_CHECK_SIZED(out, mv_segment_holder, MV_SEGMENT_HOLDER_INIT);
	if (!seg->hdr)
		return 0;
	if (!header_backed(seg))
		return truncated_fail(seg, object_size(seg));
	/* Reclaiming needs the header lock: a handle that cannot take it only reads. */
	if (!(seg->flags & MV_SEGMENT_READONLY) && mv_seg_header_lock(seg) == 0) {
		mv_seg_holders_reclaim(seg->hdr);
		mv_seg_header_unlock(seg);
	}
	/* Each field read once into private memory; the table is advice only. */
	t = seg->hdr->holders;
	for (i = 0; i < SEG_MAX_HOLDERS; i++) {
		copy[i].pid = __atomic_load_n(&t[i].pid, __ATOMIC_ACQUIRE);
		copy[i].exports = __atomic_load_n(&t[i].exports, __ATOMIC_ACQUIRE);
		copy[i].start_time = __atomic_load_n(&t[i].start_time, __ATOMIC_RELAXED);
	}
	return mv_seg_holders_report(out, max, copy);
}

/* ------------------------------------------------------------------ holder slot */

/* Give up our slot in the holder table (read-write handles of the process that took it). */
static void holder_leave(struct mv_segment *seg)
{
	if (seg->slot < 0 || !seg->hdr || getpid() != seg->pid)
		return;
	/* Truncated away by another process: the table went with it, and touching it faults. */
	if (header_backed(seg))
		mv_seg_holder_leave(seg);
	seg->slot = -1;
}

/* Record our export count in our slot, for lsshm and mvshm (advice only). */
static void holder_set_exports(struct mv_segment *seg)
{
	if (seg->slot >= 0 && seg->hdr && getpid() == seg->pid)
		mv_seg_holder_set_exports(seg->hdr, seg->slot, seg->nexports);
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
	rc = mv_seg_header_snapshot(seg->hdr, seg->name, &snap);
	if (rc < 0 && !(seg->flags & MV_SEGMENT_READONLY) &&
	    memcmp(snap.magic, SEG_MAGIC, sizeof(snap.magic)) == 0 && snap.version == SEG_VERSION) {
		/* Left mid-update by a writer that died holding the header lock: taking the lock
		 * repairs the header (mv_seg_header_lock()), as joining would. */
		if (mv_seg_header_lock(seg) == 0)
			mv_seg_header_unlock(seg);
		rc = mv_seg_header_snapshot(seg->hdr, seg->name, &snap);
	}
	/* Checked against what we mapped: the whole object as it was when we looked. */
	if (rc == 0)
		rc = mv_seg_header_check(seg->name, &snap, (off_t)seg->map_len);
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
		rc = mv_seg_holder_join(seg);
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
	size_t total = SEG_ALIGN + data_size;
	void *p;
	int rc;

	seg->flags &= ~MV_SEGMENT_READONLY;
	rc = map_object(seg, total, &p);
	if (rc < 0)
		return rc;
	mv_seg_header_init(p, data_size, opts);
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
	pthread_mutex_init(&seg->hdr_mu, NULL);
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
	pthread_mutex_destroy(&seg->hdr_mu);
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

/*
 * Re-map to the header's current size (caller has locked out exports). The new size and typing
 * come from a private snapshot checked against the length about to be mapped, with the data
 * offset this handle has always had; the mapping covers exactly the header and the data.
 */
static int remap_locked(struct mv_segment *seg)
{
	struct seg_header snap;
	size_t len;
	off_t size;
	void *p;
	int rc;

	if (!seg->hdr)
		return 0;
	rc = backed(seg, &size);
	if (rc < 0)
		return rc;
	/*
	 * Check the header (page 0, mapped already) before changing the mapping, then move only
	 * its end: failure leaves it as it was, shrinking needs no memory, growing only the
	 * difference - a second full mapping could fail under RLIMIT_AS where this does not.
	 */
	rc = header_now(&snap, seg, size);
	if (rc < 0)
		return rc;
	len = seg->data_offset + (size_t)snap.data_size; /* <= size: checked, no overflow */
	p = mremap(seg->map, seg->map_len, len, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return mv_fail(errno, "%s: cannot map %zu bytes: %s", seg->name, len,
			       strerror(errno));
	seg->map = p;
	seg->map_len = len;
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

/*
 * New data size in the object and the header, from @cur, the checked private copy of the header
 * taken under the header lock; the caller holds what the direction needs.
 */
static int resize_object(struct mv_segment *seg, const struct seg_header *cur, size_t data_size)
{
	struct seg_header next = *cur;
	size_t old_total = seg->data_offset + (size_t)cur->data_size;
	size_t new_total = seg->data_offset + data_size;
	int rc;

	if (new_total > old_total) {
		rc = mv_shm_room_check(new_total - old_total, seg->name);
		if (rc < 0)
			return rc;
		rc = fallocate(seg->fd, 0, (off_t)old_total, (off_t)(new_total - old_total));
		if (rc < 0 && errno == ENOSPC)
			return mv_fail(ENOSPC, "%s: not enough space to grow to %zu bytes",
				       seg->name, data_size);
		if (rc < 0 && errno == EPERM && seg->is_memfd)
			return mv_fail(EPERM, "%s: sealed against growing", seg->name);
		if (rc < 0 && ftruncate(seg->fd, (off_t)new_total) < 0)
			return mv_fail(errno, "%s: cannot grow: %s", seg->name, strerror(errno));
	}
	mv_seg_header_write_begin(seg->hdr, cur->seq);
	if (new_total < old_total && ftruncate(seg->fd, (off_t)new_total) < 0) {
		rc = errno;
		mv_seg_header_write_end(seg->hdr, &next, cur->seq); /* unchanged */
		return mv_fail(rc, "%s: cannot shrink: %s", seg->name, strerror(rc));
	}
	next.data_size = data_size;
	next.generation = cur->generation + 1;
	mv_seg_header_write_end(seg->hdr, &next, cur->seq);
	return 0;
}

int mv_segment_resize(mv_segment *seg, size_t data_size)
{
	int shrink, rc, byte_locked = 0, own_locked = 0, grown = 0;
	struct seg_header cur;
	off_t size;
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
		/* The handle's shape was checked when it was mapped: its bytes fit in ssize_t. */
		ssize_t need = mv_shape_nbytes(seg->fmt.itemsize, seg->ndim, seg->shape);

		if ((size_t)need > data_size)
			return mv_fail(EINVAL, "%s: the segment's shape needs %zd bytes", seg->name,
				       need);
	}
	rc = backed(seg, &size);
	if (rc < 0)
		return rc;
	/*
	 * Without views here the mapping follows the new size. It grows before anything else
	 * changes, so that a mapping the system refuses (RLIMIT_AS) leaves the segment as it was.
	 */
	n = mv_exports_lock(&seg->exp);
	own_locked = n == 0;
	if (own_locked && seg->data_offset + data_size > seg->map_len) {
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
	rc = mv_seg_header_lock(seg);
	if (rc < 0)
		goto out_exports;
	/* The size as the header says now, read once and checked against the object. */
	size = object_size(seg);
	rc = header_now(&cur, seg, size);
	if (rc < 0)
		goto out;
	shrink = data_size < (size_t)cur.data_size;
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
	rc = resize_object(seg, &cur, data_size);
out:
	mv_seg_header_unlock(seg);
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
	struct seg_header *hdr;
	struct mv_segment *seg = (struct mv_segment *)self;
	int readonly = (seg->flags & MV_SEGMENT_READONLY) != 0, rc, remap = 0;
	off_t size;

	if ((flags & MV_BUF_WRITABLE) && readonly)
		return mv_fail(EROFS, "%s: opened readonly: Object is not writable.", seg->name);
	pthread_mutex_lock(&seg->mu);
	if (seg->nexports == 0) {
		/* First export: tell the kernel, so shrink and rm in other processes see us. */
		rc = mv_ofd_lock(seg->fd, SEG_LOCK_BYTE, F_RDLCK);
		if (rc < 0) {
			pthread_mutex_unlock(&seg->mu);
			if (rc == -EBUSY)
				return mv_fail(EBUSY, "%s: being resized or removed by another "
						      "process", seg->name);
			return mv_fail(-rc, "%s: cannot take the export lock: %s", seg->name,
				       strerror(-rc));
		}
	}
	/* A view of memory a peer truncated away would fault: refuse it and say why. */
	rc = backed(seg, &size);
	if (rc == 1 && seg->nexports > 0)
		rc = truncated_fail(seg, size); /* no memview shrink while we hold exports */
	/*
	 * First export: another process may have resized it since we mapped: follow, we hold
	 * nothing. The generation is only a hint, read once (the header page is backed: rc 0);
	 * what a remap uses is a checked snapshot.
	 */
	hdr = seg->hdr;
	if (rc == 0 && seg->nexports == 0 && hdr)
		remap = __atomic_load_n(&hdr->generation, __ATOMIC_ACQUIRE) != seg->generation;
	if (rc == 1 || remap)
		rc = remap_locked(seg);
	if (rc < 0) {
		if (seg->nexports == 0)
			mv_ofd_lock(seg->fd, SEG_LOCK_BYTE, F_UNLCK);
		pthread_mutex_unlock(&seg->mu);
		return rc;
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
		mv_ofd_lock(seg->fd, SEG_LOCK_BYTE, F_UNLCK);
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
	    header_now(&snap, seg, size) == 0) {
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
