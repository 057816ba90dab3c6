/*
 * memview/segment.h - shared memory segments: POSIX shm and memfd memory as exporters that many
 * processes view at once, with export accounting that survives crashes.
 *
 * A memview segment is a header page followed by page-aligned data:
 *
 *   offset 0     header (struct layout in memview(7) and mv_segment(3)): magic "MVSEGMT\0",
 *                version (2), data offset, data size, item format, shape, flags, creator,
 *                generation (bumped by every resize), checksum, seqlock word, then the holder
 *                table (pid, process start time, export count per holder). Nothing in it is a
 *                pointer or a lock: the header lock is a kernel lock (OFD) on one byte.
 *   data_offset  the data: data_size bytes, what views see
 *
 * Opening by name reads format and shape from the header, so a consumer's view is typed with no
 * side channel. A segment made by another program (no header) opens with MV_SEGMENT_RAW as plain
 * bytes in a format the caller gives. A header that fails any check is refused with -EBADMSG and
 * a message naming the check; nothing in it is trusted before it is checked, and what is used is
 * a private copy checked against what the process mapped: another process that can write the
 * header can make memview refuse the segment, never touch memory outside its mapping.
 *
 * Export accounting: a segment handle is an exporter. While it has exports its process holds an
 * open-file-description read lock on the segment's lock byte, which the kernel drops when the
 * process dies however it dies; shrinking and removal ask for a write lock on that byte and so
 * never wait on, or trust, a dead process. Holders that can write the header also record their
 * export count in the holder table; slots of dead processes (pid gone, or reused: the start time
 * differs) are reclaimed whenever the table is consulted.
 *
 * Thread-safety: a handle may be used from several threads (exports are counted under a lock);
 * mv_segment_close() must not race with other calls on the same handle.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_SEGMENT_H
#define MEMVIEW_SEGMENT_H

#include <sys/types.h>

#include "memview/buffer.h"

MV_BEGIN_DECLS

typedef struct mv_segment mv_segment;

/* Flags for mv_segment_opts.flags. */
#define MV_SEGMENT_READONLY 0x01u /* open O_RDONLY, map PROT_READ: views are readonly */
#define MV_SEGMENT_RAW 0x02u      /* no memview header: the whole object is data */
#define MV_SEGMENT_MEMFD 0x04u    /* create an anonymous memfd segment instead of a named one */
#define MV_SEGMENT_FORCE 0x08u    /* mv_segment_unlink(): remove even while processes hold views */
#define MV_SEGMENT_ANY_OWNER 0x10u /* mv_segment_open(): also an object another uid owns */

/* Seals for memfd segments (mv_segment_opts.seals, mv_segment_seal()). Shrinking is always sealed. */
#define MV_SEAL_GROW 0x01u         /* the size can no longer grow */
#define MV_SEAL_FUTURE_WRITE 0x02u /* no new writable mapping: readonly sharing */

/* Longest format string a header stores, NUL included. */
#define MV_SEGMENT_FORMAT_MAX 16
/* Holder slots in a header page. */
#define MV_SEGMENT_MAX_HOLDERS 64

/*
 * Options. Always start from MV_SEGMENT_OPTS_INIT: the leading size field lets later versions
 * add fields.
 */
typedef struct mv_segment_opts {
	size_t size;          /* sizeof(mv_segment_opts) */
	unsigned flags;       /* MV_SEGMENT_* */
	unsigned mode;        /* creation mode; 0 means 0600 */
	const char *format;   /* item format for create and for MV_SEGMENT_RAW; NULL means "B" */
	const ssize_t *shape; /* create: the data's shape, @ndim entries */
	int ndim;             /* create: -1 means one dimension covering the data */
	unsigned seals;       /* create with MV_SEGMENT_MEMFD: MV_SEAL_* beyond shrink */
} mv_segment_opts;

#define MV_SEGMENT_OPTS_INIT { sizeof(mv_segment_opts), 0, 0, NULL, NULL, -1, 0 }

/* What mv_segment_get_info() and mv_segment_probe() report. Start from MV_SEGMENT_INFO_INIT. */
typedef struct mv_segment_info {
	size_t size;           /* sizeof(mv_segment_info), set by the caller */
	size_t data_offset;    /* bytes from the start of the object to the data */
	size_t data_size;      /* bytes of data, as the header says now */
	size_t mapped_size;    /* bytes of data this handle has mapped (its view of the size) */
	uint64_t generation;   /* bumped by every resize */
	unsigned flags;        /* MV_SEGMENT_* this handle was opened with */
	unsigned seals;        /* MV_SEAL_* in force (memfd only) */
	int ndim;
	ssize_t shape[MV_MAXDIM];
	char format[MV_SEGMENT_FORMAT_MAX];
	pid_t creator;         /* pid that created it (0 for raw segments) */
	long exports;          /* this handle's exports */
} mv_segment_info;

#define MV_SEGMENT_INFO_INIT MV_SIZED_INIT(mv_segment_info)

/*
 * One holder in the header's table. mv_segment_holders() fills an array of them: set the size
 * of the first (MV_SEGMENT_HOLDER_INIT); the library steps through the array by that size.
 */
typedef struct mv_segment_holder {
	size_t size;           /* sizeof(mv_segment_holder) */
	pid_t pid;
	int alive;             /* 1 if the process exists and is the same process (start time) */
	long exports;          /* exports it recorded */
} mv_segment_holder;

#define MV_SEGMENT_HOLDER_INIT MV_SIZED_INIT(mv_segment_holder)

/*
 * mv_segment_create - create a segment with @data_size bytes of data.
 *
 * @out:  the new handle (opened read-write; it is a holder).
 * @name: "/name" for a named segment (one leading slash, no other, at most 250 characters);
 *        with MV_SEGMENT_MEMFD a debug name (may be NULL).
 * @opts: NULL for defaults (named, mode 0600, format "B", 1-D).
 *
 * Created O_EXCL; the space is reserved (fallocate), so a full /dev/shm fails here.
 * Returns 0, or -EEXIST (name taken), -EINVAL (bad name, format, shape or size), -ENOSPC (no
 * room for the size: the message says so), -EACCES, -EMFILE, -ENOMEM, -EOVERFLOW.
 */
MV_EXPORT int mv_segment_create(mv_segment **out, const char *name, size_t data_size,
				const mv_segment_opts *opts);

/*
 * mv_segment_open - open a named segment; format and shape come from its header.
 * With MV_SEGMENT_READONLY the object is opened O_RDONLY and mapped PROT_READ. With
 * MV_SEGMENT_RAW the object has no header: all of it is data, typed by opts->format.
 * The name is opened without following a symbolic link and without waiting (O_NONBLOCK), and
 * must be a regular file. It must be owned by the caller's effective uid, so that another user
 * cannot squat a name and feed the caller its own header and data; a tool that inspects other
 * users' objects passes MV_SEGMENT_ANY_OWNER.
 * Returns 0, -ENOENT, -EACCES, -EPERM (owned by another uid), -EINVAL (bad name, a symbolic
 * link, not a regular file), -EBADMSG (a header check failed: the message names it), -EBUSY
 * (read-write: the header lock is held by a live process for more than 2 s), -ENOMEM, -EMFILE.
 */
MV_EXPORT int mv_segment_open(mv_segment **out, const char *name, const mv_segment_opts *opts);

/*
 * mv_segment_import - open a memfd segment from a descriptor (e.g. received from another
 * process). The descriptor is duplicated; the caller keeps its own. Seals and size are checked
 * before anything is mapped: F_SEAL_SHRINK must be set (-EPERM otherwise, since a peer could
 * truncate the memory under the views). There is no owner check: a descriptor is passed
 * deliberately, and whoever holds it was given it (MV_SEGMENT_ANY_OWNER is implied). The
 * handle gets an open file description of its own (reopened through /proc/self/fd), so that
 * its kernel locks exclude the sender's. Returns as mv_segment_open(), and -EBADF.
 */
MV_EXPORT int mv_segment_import(mv_segment **out, int fd, const mv_segment_opts *opts);

/*
 * mv_segment_send / mv_segment_recv - pass a segment's descriptor over a connected unix socket
 * (SCM_RIGHTS) and import it on the other side. A message with more than one descriptor is
 * refused (-EINVAL) and every descriptor it brought is closed. Returns 0, -EINVAL, -EPIPE,
 * -EAGAIN, -EMFILE (no descriptor was free to receive it: the kernel dropped it), or what
 * mv_segment_import() returns.
 */
MV_EXPORT int mv_segment_send(const mv_segment *seg, int sock);
MV_EXPORT int mv_segment_recv(mv_segment **out, int sock, const mv_segment_opts *opts);

/*
 * mv_segment_close - unmap and close. Returns 0, or -EBUSY while views of this handle exist
 * (then nothing changes). NULL is a no-op.
 */
MV_EXPORT int mv_segment_close(mv_segment *seg);

/*
 * mv_segment_resize - change the data size. Growing is always allowed; other processes see the
 * new size when they next map (mv_segment_remap()). Shrinking fails with -EBUSY while this
 * handle or any other live process holds exports. A handle without views maps the new size
 * first: -ENOMEM (RLIMIT_AS) leaves everything as it was. Returns 0, -EBUSY, -EROFS (readonly
 * handle), -EPERM (sealed memfd, raw segment, a handle inherited through fork()), -ENOSPC,
 * -ENOMEM, -EINVAL, -EBADMSG (another process truncated the object behind the header's back, or
 * rewrote the header: see mv_segment(3), NOTES). -EBUSY also when the header lock is held by a
 * live process for more than 2 s.
 */
MV_EXPORT int mv_segment_resize(mv_segment *seg, size_t data_size);

/*
 * mv_segment_remap - map the segment's current size (after another process resized it).
 * The new size and shape are checked against the new mapping, and the data offset must be the
 * one the handle first mapped (it is fixed for a segment's life).
 * Returns 0, -EBUSY while this handle has exports, -EBADMSG (a bad header, one that moves the
 * data offset, or the object was truncated by another process), -ENOMEM. On failure the old
 * mapping stays.
 */
MV_EXPORT int mv_segment_remap(mv_segment *seg);

/*
 * mv_segment_seal - add MV_SEAL_* seals to a memfd segment. Returns 0, -EPERM (named segment,
 * or a seal the kernel refuses), -EINVAL.
 */
MV_EXPORT int mv_segment_seal(mv_segment *seg, unsigned seals);

/*
 * mv_segment_unlink - remove a named segment's name (existing mappings stay valid, as POSIX
 * says). Without MV_SEGMENT_FORCE it is refused with -EBUSY while any live process holds
 * exports of it. Returns 0, -ENOENT, -EBUSY, -EINVAL, -EACCES.
 */
MV_EXPORT int mv_segment_unlink(const char *name, unsigned flags);

/* mv_segment_exporter - the segment as an exporter: views see the data, typed by the header. */
MV_EXPORT mv_exporter *mv_segment_exporter(mv_segment *seg);

/* mv_segment_data / mv_segment_fd - the mapped data and the descriptor (for I/O and passing). */
MV_EXPORT void *mv_segment_data(const mv_segment *seg);
MV_EXPORT int mv_segment_fd(const mv_segment *seg);

/*
 * mv_segment_get_info - describe the segment in @out (up to @out->size bytes). After another
 * process truncated the object behind the header's back, data_size is what is left (less than
 * mapped_size). Returns 0, -EINVAL (NULL, or a size smaller than any version of the struct).
 */
MV_EXPORT int mv_segment_get_info(mv_segment_info *out, const mv_segment *seg);

/*
 * mv_segment_holders - the holder table, dead holders reclaimed first (when the handle can
 * write the header). Writes up to @max entries of @out[0].size bytes each (@out may be NULL when
 * @max is 0); returns the number of holders, -EINVAL, -EBADMSG (another process truncated the
 * header away).
 */
MV_EXPORT ssize_t mv_segment_holders(mv_segment_holder *out, size_t max, mv_segment *seg);

/*
 * mv_segment_busy - 1 if any live process holds exports of the object open as @fd through
 * another open file description, 0 if none, negative errno on failure. Kernel locks never
 * conflict with their own open file description, so ask on a descriptor of your own (a fresh
 * shm_open), not on a handle's mv_segment_fd(). What `rm` without --force asks.
 */
MV_EXPORT int mv_segment_busy(int fd);

/*
 * mv_segment_probe - whether the object open as @fd (a /dev/shm object, a memfd, any regular
 * file) holds a memview segment: its header is read with pread() and checked exactly as
 * mv_segment_open() checks it, without mapping anything, joining the holder table or taking a
 * lock, so that tools can judge other processes' objects without becoming their users. @fd
 * must be open for reading.
 *
 * @out:  written only when it returns 1: the header's data offset and size, generation, format
 *        and shape, creator and the memfd seals in force; flags, mapped_size and exports are 0.
 *
 * Returns 1 (a memview segment whose header passes every check), 0 (not memview's: the object
 * does not start with its magic - another program's, or one still being created), -EBADMSG
 * (memview's magic, but a check failed: the message names it, and the object as /proc names the
 * descriptor), -EBADF (not open, or not for reading), -EINVAL (@out NULL, @fd not a regular
 * file), or another -errno from reading.
 */
MV_EXPORT int mv_segment_probe(mv_segment_info *out, int fd);

/*
 * mv_segment_probe_holders - the holder table of the memview segment open as @fd, read with
 * pread() like mv_segment_probe() reads the header: nothing is mapped, joined or locked, so
 * tools can judge other users' objects through a descriptor they checked. Writes up to @max
 * entries of @out[0].size bytes (@out may be NULL when @max is 0); returns the number of
 * holders, -EBADMSG (not a memview segment, a bad header, or cut short), or what
 * mv_segment_probe() returns. Like mv_segment_holders(), the table is advice: who holds exports
 * is the kernel's lock (mv_segment_busy()).
 */
MV_EXPORT ssize_t mv_segment_probe_holders(mv_segment_holder *out, size_t max, int fd);

MV_END_DECLS

#endif /* MEMVIEW_SEGMENT_H */
