/*
 * tests/hostile.h - the attack primitives of tests/check_hostile.c: every write a hostile peer
 * makes, or tries to make, into memory memview shares, every message it forges, and everything
 * that depends on where memview keeps what.
 *
 * Formats: segment format 2 (lib/segment_layout.h), channel layout 3 and its socket messages
 * (lib/chan_layout.h). Offsets and constants come from those headers, so they are the library's,
 * not copies; every primitive that reads or writes at a layout-specific place says so. When a
 * format changes, rewrite these primitives - the same attack, expressed against the new format -
 * and leave the test bodies alone: they only say what the peer does and what the victim must see.
 *
 * Who the peer is: a process of the victim's uid (which file modes do not stop: it can chmod) or
 * another user (nobody) that was given access. It reaches shared memory as such a process can:
 * a segment by its name (shm_open read-write); a channel's memory, which is in no file system,
 * through /proc/PID/fd/N of a process that holds it (its own, or, as the same uid, another
 * participant's); a channel's name by listening on or connecting to its abstract socket.
 * What takes ptrace rights over the victim (pidfd_getfd, /proc/PID/mem, process_vm_writev) is
 * not tried: whoever has them owns the victim's address space, which no library can guard.
 *
 * A primitive returns -errno when the kernel or the library refuses. Tests check that a refusal
 * is the one they expect (EPERM from a seal, EACCES from /proc, -EBADMSG from the library), so a
 * primitive that went wrong is never mistaken for a defence. Nothing here calls the library but
 * mv_view_hash_bytes(), the header checksum mv_segment(3) documents (a peer computes it).
 */
#ifndef MEMVIEW_TESTS_HOSTILE_H
#define MEMVIEW_TESTS_HOSTILE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/segment_layout.h"
#include "../lib/chan_layout.h"

#include "memview.h"

#define HS_PAGE 4096u

/* ------------------------------------------------------------------ segment header */

/* A peer's read-write mapping of a whole segment object (header page and data). */
struct hs_seg {
	int fd;
	unsigned char *map;
	size_t len;
};

/* Open segment @name read-write by name and map all of it. 0 or -errno. */
static inline int hs_seg_open(struct hs_seg *s, const char *name)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	if (fstat(s->fd, &st) < 0 || (size_t)st.st_size < sizeof(struct seg_header)) {
		close(s->fd);
		return -EINVAL;
	}
	s->len = (size_t)st.st_size;
	s->map = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->map == MAP_FAILED) {
		close(s->fd);
		return -errno;
	}
	return 0;
}

static inline void hs_seg_close(struct hs_seg *s)
{
	if (s->map && s->map != MAP_FAILED)
		munmap(s->map, s->len);
	if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

static inline struct seg_header *hs_hdr(struct hs_seg *s)
{
	return (struct seg_header *)s->map;
}

/* The header's checksum as format 2 defines it: low 32 bits of the hash of the static part. */
static inline uint32_t hs_seg_checksum(const struct seg_header *h)
{
	return (uint32_t)((uint64_t)mv_view_hash_bytes(h, SEG_CHECKSUMMED_BYTES) & 0xffffffffu);
}

/* How hs_seg_set_data_size() writes. */
enum { HS_RAW, HS_SEALED };

/*
 * s4 - make the header's data size @v. HS_RAW: the field alone, a plain store (what a reader that
 * re-reads the field after checking the header would see; format 2 also checks the checksum, so
 * this header is refused as it stands). HS_SEALED: as a format 2 writer publishes an update
 * (lib/segment_header.c, mv_seg_header_write_begin/end): seq made odd, the static part rewritten
 * from a private copy with the new size, generation + 1 and that copy's checksum, seq even again
 * - a header every check accepts.
 */
static inline void hs_seg_set_data_size(struct hs_seg *s, uint64_t v, int how)
{
	struct seg_header *h = hs_hdr(s), copy;
	uint32_t seq;

	if (how == HS_RAW) {
		__atomic_store_n(&h->data_size, v, __ATOMIC_RELAXED);
		return;
	}
	seq = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE) & ~1u;
	__atomic_store_n(&h->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(&copy, h, SEG_STATIC_BYTES);
	copy.data_size = v;
	copy.generation++;
	copy.checksum = hs_seg_checksum(&copy);
	memcpy(h, &copy, offsetof(struct seg_header, seq));
	__atomic_store_n(&h->seq, seq + 2, __ATOMIC_RELEASE);
}

/*
 * 2b - the bytes of a segment that every holder can read besides the data: the header page
 * (format 2: the header, then zeros up to the data offset, a multiple of SEG_ALIGN). A pointer
 * into a holder's address space must never appear in them.
 */
static inline const void *hs_seg_shared_metadata(struct hs_seg *s, size_t *len)
{
	*len = SEG_ALIGN < s->len ? SEG_ALIGN : s->len;
	return s->map;
}

/* ------------------------------------------------------------------ channel memory */

/* The two kinds of memory a channel has (layout 3). */
enum { HS_PRODUCER_MEM, HS_CONSUMER_MEM, HS_ANY_MEM };

/* A descriptor some process holds of a channel's memory, as a path anyone may try to open. */
struct hs_fd {
	char path[64];   /* /proc/PID/fd/N (or /proc/self/fd/N) */
	int role;        /* HS_PRODUCER_MEM or HS_CONSUMER_MEM */
};

/*
 * Layout 3 - whether the target of a /proc/PID/fd link is channel @name's memory, and whose:
 * the producer's memory is a memfd named "mvchan:NAME", each consumer's "mvchan:NAME:consumer"
 * (lib/chan_admit.c, mv_chan_sealed_memory()); /proc shows a memfd as "/memfd:NAME (deleted)".
 * Returns the role, or -1.
 */
static inline int hs_chan_memory_role(const char *link, const char *name)
{
	char want[200];

	snprintf(want, sizeof(want), "/memfd:mvchan:%s (deleted)", name);
	if (strcmp(link, want) == 0)
		return HS_PRODUCER_MEM;
	snprintf(want, sizeof(want), "/memfd:mvchan:%s:consumer (deleted)", name);
	if (strcmp(link, want) == 0)
		return HS_CONSUMER_MEM;
	return -1;
}

/*
 * The descriptors process @pid (0: this process) holds of channel @name's memory of @role
 * (HS_ANY_MEM: both), at most @max. Returns how many, or -errno when /proc/PID/fd cannot be
 * listed (another user's process: EACCES).
 */
static inline int hs_chan_memory_fds(struct hs_fd *out, int max, pid_t pid, const char *name,
				     int role)
{
	char dir[64], path[128], link[256];
	struct dirent *e;
	int n = 0, r;
	ssize_t len;
	DIR *d;

	if (pid)
		snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	else
		snprintf(dir, sizeof(dir), "/proc/self/fd");
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL && n < max) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%.40s/%.20s", dir, e->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		r = hs_chan_memory_role(link, name);
		if (r < 0 || (role != HS_ANY_MEM && r != role))
			continue;
		snprintf(out[n].path, sizeof(out[n].path), "%.63s", path);
		out[n].role = r;
		n++;
	}
	closedir(d);
	return n;
}

/*
 * Layout 3 - where things are in a channel's memory, worked out from bytes any holder of it can
 * read: the memview segment header (format 2) gives the data offset and size; the producer's
 * memory starts there with struct chan_hdr, then the ring (2 words per entry) and, page-aligned
 * after it, the slots (lib/chan_admit.c, mv_chan_geom()); a consumer's starts with struct
 * chan_cons, then its hand-back queue of uint32_t slot ids, one per slot.
 */
struct hs_chan_where {
	int role;
	size_t size;          /* bytes of the object */
	off_t base;           /* the segment's data offset */
	uint32_t nslots;
	uint64_t slot_size;   /* producer: as its header says */
	off_t slot_size_at;   /* producer: the header's slot size field */
	off_t ring;           /* producer: entry k is {((seq + 1) << SLOT_BITS) | slot, length} */
	off_t slots;          /* producer: slot k at slots + k * slot_size */
	off_t ret_head;       /* consumer: how many ids it has handed back */
	off_t ret;            /* consumer: id number i at ret + 4 * (i % nslots) */
};

static inline int hs_chan_where(struct hs_chan_where *w, int fd, int role)
{
	struct seg_header sh;
	struct chan_hdr ch;
	struct stat st;
	size_t ring_bytes;

	memset(w, 0, sizeof(*w));
	w->role = role;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (pread(fd, &sh, sizeof(sh), 0) != (ssize_t)sizeof(sh))
		return -EIO;
	w->size = (size_t)st.st_size;
	w->base = (off_t)sh.data_offset;
	if (sh.data_offset > w->size)
		return -EINVAL;
	if (role == HS_CONSUMER_MEM) {
		if (sh.data_size < sizeof(struct chan_cons))
			return -EINVAL;
		w->nslots = (uint32_t)((sh.data_size - sizeof(struct chan_cons)) /
				       sizeof(uint32_t));
		w->ret_head = w->base + (off_t)offsetof(struct chan_cons, ret_head);
		w->ret = w->base + (off_t)sizeof(struct chan_cons);
		return w->nslots ? 0 : -EINVAL;
	}
	if (pread(fd, &ch, sizeof(ch), w->base) != (ssize_t)sizeof(ch) || ch.nslots == 0 ||
	    ch.nslots > MAX_SLOTS)
		return -EINVAL;
	w->nslots = ch.nslots;
	w->slot_size = ch.slot_size;
	w->slot_size_at = w->base + (off_t)offsetof(struct chan_hdr, slot_size);
	w->ring = w->base + (off_t)sizeof(struct chan_hdr);
	ring_bytes = 2 * (size_t)ch.nslots * sizeof(uint64_t);
	w->slots = w->base + (off_t)((sizeof(struct chan_hdr) + ring_bytes + HS_PAGE - 1) /
				     HS_PAGE * HS_PAGE);
	return 0;
}

/* What a peer writes into a channel's memory, and where. */
enum hs_forgery {
	HS_FORGE_GEOMETRY,   /* producer: a slot size whose product with the count wraps */
	HS_FORGE_RING,       /* producer: message 0 published as the last slot */
	HS_FORGE_SLOTS,      /* producer: every slot's bytes 0xEE */
	HS_FORGE_HANDBACKS,  /* consumer: every slot handed back, by that consumer */
};

/*
 * Layout 3 - the bytes of @what for the object @w describes (open as @fd, to read what is there)
 * into @buf (at most @cap), and their offset in *@off. Returns the length, or -errno.
 *   geometry: the header's slot size becomes 2^64 / nslots (nslots x slot size wraps to 0 in
 *             64 bits; 2^60 when nslots is not a power of two): slot k at k x that past the data;
 *   ring:     entry 0 says message 0 is in slot nslots - 1, slot_size bytes long;
 *   slots:    every byte of every slot 0xEE;
 *   handbacks: the consumer's count grows by nslots and its queue names every slot once: "I have
 *             handed back everything I hold".
 */
static inline ssize_t hs_forge(enum hs_forgery what, const struct hs_chan_where *w, int fd,
			       unsigned char *buf, size_t cap, off_t *off)
{
	uint64_t v[2];
	size_t len, i;

	switch (what) {
	case HS_FORGE_GEOMETRY:
		if (w->role != HS_PRODUCER_MEM || cap < 8)
			return -EINVAL;
		v[0] = (w->nslots & (w->nslots - 1)) == 0 && w->nslots > 1 ?
			       (uint64_t)1 << (64 - __builtin_ctz(w->nslots)) : (uint64_t)1 << 60;
		memcpy(buf, v, 8);
		*off = w->slot_size_at;
		return 8;
	case HS_FORGE_RING:
		if (w->role != HS_PRODUCER_MEM || cap < 16)
			return -EINVAL;
		v[0] = ((uint64_t)1 << SLOT_BITS) | (w->nslots - 1);
		v[1] = w->slot_size;
		memcpy(buf, v, 16);
		*off = w->ring;
		return 16;
	case HS_FORGE_SLOTS:
		if (w->role != HS_PRODUCER_MEM || (size_t)w->slots >= w->size)
			return -EINVAL;
		len = w->size - (size_t)w->slots;
		if (len > cap)
			len = cap;
		memset(buf, 0xEE, len);
		*off = w->slots;
		return (ssize_t)len;
	case HS_FORGE_HANDBACKS:
		if (w->role != HS_CONSUMER_MEM)
			return -EINVAL;
		len = (size_t)(w->ret - w->ret_head) + (size_t)w->nslots * sizeof(uint32_t);
		if (len > cap || pread(fd, buf, len, w->ret_head) != (ssize_t)len)
			return -EINVAL;
		memcpy(v, buf, 8);
		for (i = 0; i < w->nslots; i++) {
			uint32_t id = (uint32_t)i;

			memcpy(buf + (w->ret - w->ret_head) + ((v[0] + i) % w->nslots) * 4, &id, 4);
		}
		v[0] += w->nslots;
		memcpy(buf, v, 8);
		*off = w->ret_head;
		return (ssize_t)len;
	}
	return -EINVAL;
}

/* ------------------------------------------------------------------ every way to write */

/* Each way a peer tried, and what it got: err 0 means the way worked (and the peer used it). */
struct hs_tries {
	int n;
	struct {
		const char *how;
		int err;
	} t[12];
	int worked;
};

/* Which ways hs_try_to_write() tries. */
enum { HS_WRITE = 1, HS_RESIZE = 2 };

static inline void hs_note(struct hs_tries *r, const char *how, int err)
{
	if (r->n < (int)(sizeof(r->t) / sizeof(r->t[0]))) {
		r->t[r->n].how = how;
		r->t[r->n].err = err;
		r->n++;
	}
	r->worked += err == 0;
}

/*
 * Every way a process that can name an object by @path (a /proc/PID/fd/N link) has to change it.
 * HS_WRITE, the bytes [@off, @off + @len) to @bytes: a shared writable mapping; write(2); a
 * readonly shared mapping made writable (mprotect); its pages removed (MADV_REMOVE, which zeroes
 * them); a hole punched (fallocate, which zeroes them). HS_RESIZE, its size: cut to 0 (every
 * mapping past the end then faults), grown, allocated past the end. Where a way works, the peer
 * uses it. Returns how many ways worked; each one's result is in @r. Not one is
 * layout-specific: these are the kernel's ways to write a file.
 */
static inline int hs_try_to_write(struct hs_tries *r, const char *path, off_t off,
				  const void *bytes, size_t len, unsigned ways)
{
	off_t page = off / HS_PAGE * HS_PAGE;
	size_t span = (size_t)(off - page) + len;
	int rw = open(path, O_RDWR | O_CLOEXEC), ro, e;
	struct stat st;
	void *p;

	memset(r, 0, sizeof(*r));
	e = rw < 0 ? errno : 0;
	ro = open(path, O_RDONLY | O_CLOEXEC);
	if (rw < 0 && ro < 0) {
		hs_note(r, "open", errno);
		return 0;
	}
	if (rw < 0)
		hs_note(r, "open read-write", e);
	if ((ways & HS_WRITE) && rw >= 0) {
		p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_SHARED, rw, page);
		hs_note(r, "mmap(PROT_WRITE, MAP_SHARED)", p == MAP_FAILED ? errno : 0);
		if (p != MAP_FAILED) {
			memcpy((char *)p + (off - page), bytes, len);
			munmap(p, span);
		}
		e = pwrite(rw, bytes, len, off) == (ssize_t)len ? 0 : errno ? errno : EIO;
		hs_note(r, "pwrite", e);
		e = fallocate(rw, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, page,
			      (off_t)((span + HS_PAGE - 1) / HS_PAGE * HS_PAGE)) == 0 ? 0 : errno;
		hs_note(r, "fallocate(PUNCH_HOLE)", e);
	}
	if ((ways & HS_WRITE) && ro >= 0) {
		p = mmap(NULL, span, PROT_READ, MAP_SHARED, ro, page);
		if (p != MAP_FAILED) {
			e = mprotect(p, span, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
			hs_note(r, "mprotect(PROT_WRITE) of a shared mapping", e);
			if (e == 0)
				memcpy((char *)p + (off - page), bytes, len);
			e = madvise(p, span, MADV_REMOVE) == 0 ? 0 : errno;
			hs_note(r, "madvise(MADV_REMOVE)", e);
			munmap(p, span);
		} else {
			hs_note(r, "mmap(PROT_READ, MAP_SHARED)", errno);
		}
	}
	if ((ways & HS_RESIZE) && rw >= 0 && fstat(rw, &st) == 0) {
		hs_note(r, "ftruncate(0)", ftruncate(rw, 0) == 0 ? 0 : errno);
		hs_note(r, "ftruncate(size + 1 page)",
			ftruncate(rw, st.st_size + HS_PAGE) == 0 ? 0 : errno);
		hs_note(r, "fallocate past the end",
			fallocate(rw, 0, st.st_size, HS_PAGE) == 0 ? 0 : errno);
	}
	if (rw >= 0)
		close(rw);
	if (ro >= 0)
		close(ro);
	return r->worked;
}

/* @r as "how: result; ..." into @buf. */
static inline const char *hs_tries_str(const struct hs_tries *r, char *buf, size_t cap)
{
	size_t o = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < r->n && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s: %s", i ? "; " : "", r->t[i].how,
				      r->t[i].err ? strerrorname_np(r->t[i].err) : "WORKED");
	return buf;
}

/* ------------------------------------------------------------------ a channel's socket */

/* Layout 3 - a channel's address: the abstract unix socket "\0memview.chan" + NAME
 * (lib/chan_wire.c, mv_chan_wire_addr()). */
static inline socklen_t hs_wire_addr(struct sockaddr_un *a, const char *name)
{
	static const char prefix[] = "memview.chan";
	size_t n = strlen(name);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (n > sizeof(a->sun_path) - sizeof(prefix))
		n = sizeof(a->sun_path) - sizeof(prefix);
	memcpy(a->sun_path + 1, prefix, sizeof(prefix) - 1);
	memcpy(a->sun_path + sizeof(prefix), name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof(prefix) + n);
}

/* Layout 3 - send one message (struct chan_wire, one SOCK_SEQPACKET datagram) with @fd (-1:
 * none). 0 or -errno. */
static inline int hs_wire_send(int sock, int type, uint32_t index, uint64_t start, int fd)
{
	struct chan_wire m = { CHAN_WIRE_MAGIC, CHAN_WIRE_VERSION, (uint16_t)type, index, 0, start,
			       "" };

	return mv_test_send_with_fd(sock, &m, sizeof(m), fd) == (ssize_t)sizeof(m) ? 0 : -errno;
}

/*
 * Receive one message within @ms: 1 (and the descriptor it carried in *@fd, or -1), 0 when the
 * other end closed, -ETIMEDOUT, or -errno.
 */
static inline int hs_wire_recv(int sock, struct chan_wire *m, int *fd, int ms)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct pollfd pf = { sock, POLLIN, 0 };
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	if (poll(&pf, 1, ms) == 0)
		return -ETIMEDOUT;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n == 0 ? 0 : 1;
}

/*
 * Layout 3 - join channel @name bringing @memfd as "my memory" (JOIN carries it): connect, take
 * the OFFER (its descriptor closed), JOIN with @memfd, wait for ADMIT or REFUSE. Returns the
 * connected socket (admitted while it stays open) with the place in *@place, or -errno (a
 * REFUSE's errno).
 */
static inline int hs_join_with_memory(const char *name, int memfd, int ms, uint32_t *place)
{
	struct sockaddr_un a;
	socklen_t alen = hs_wire_addr(&a, name);
	struct chan_wire m;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), fd, rc;

	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, alen) < 0) {
		rc = -errno;
		close(s);
		return rc;
	}
	rc = hs_wire_recv(s, &m, &fd, ms);
	if (fd >= 0)
		close(fd);
	if (rc == 1 && m.type == WIRE_OFFER)
		rc = hs_wire_send(s, WIRE_JOIN, 0, 0, memfd);
	else
		rc = rc == 1 ? -EPROTO : rc == 0 ? -EPIPE : rc;
	if (rc == 0) {
		rc = hs_wire_recv(s, &m, &fd, ms);
		if (fd >= 0)
			close(fd);
		if (rc == 1 && m.type == WIRE_ADMIT) {
			*place = m.index;
			return s;
		}
		rc = rc == 1 && m.type == WIRE_REFUSE ? -(m.err > 0 ? m.err : EPROTO) :
		     rc == 1 ? -EPROTO : rc == 0 ? -EPIPE : rc;
	}
	close(s);
	return rc;
}

/* ------------------------------------------------------------------ a fake producer */

/* The geometry a fake producer's memory claims, and the memory behind it. */
struct hs_geometry {
	uint32_t nslots;
	uint64_t slot_size;
	int32_t ndim;            /* -1: bytes over the slot */
	int64_t shape[2];
	size_t data;             /* bytes behind the segment header */
	uint64_t seg_data_size;  /* what the segment header claims; 0: @data */
	int seals;               /* F_SEAL_* added after mapping it */
};

/* A fake producer's memory, mapped writable before it was sealed (as a real producer's is). */
struct hs_fake {
	struct hs_seg m;         /* the memfd, all of it mapped */
	struct chan_hdr *hdr;
	uint64_t *ring;          /* NULL unless the claimed ring lies inside the memory */
	unsigned char *slots;    /* NULL unless every claimed slot does */
};

/*
 * Layout 3 on segment format 2 - the memory a producer offers, made by hand: a memfd named as a
 * producer's ("mvchan:NAME"), a segment header (magic, version, data offset SEG_ALIGN, the data
 * size @g claims, generation 1, bytes of format "B", the checksum), then struct chan_hdr with the
 * magic and @g's geometry, an empty ring, and slots; then @g->seals. 0 or -errno.
 */
static inline int hs_fake_memory(struct hs_fake *f, const char *name,
				 const struct hs_geometry *g)
{
	struct seg_header *h;
	char mname[200];
	size_t ring_end, slots_at, need;

	memset(f, 0, sizeof(*f));
	snprintf(mname, sizeof(mname), "mvchan:%s", name);
	f->m.fd = memfd_create(mname, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	f->m.len = SEG_ALIGN + g->data;
	if (f->m.fd < 0 || ftruncate(f->m.fd, (off_t)f->m.len) < 0)
		return -errno;
	f->m.map = mmap(NULL, f->m.len, PROT_READ | PROT_WRITE, MAP_SHARED, f->m.fd, 0);
	if (f->m.map == MAP_FAILED)
		return -errno;
	h = hs_hdr(&f->m);
	h->version = SEG_VERSION;
	h->header_bytes = sizeof(*h);
	h->data_offset = SEG_ALIGN;
	h->data_size = g->seg_data_size ? g->seg_data_size : g->data;
	h->generation = 1;
	h->ndim = SEG_NDIM_AUTO;
	memcpy(h->format, "B", 2);
	h->creator_pid = getpid();
	h->max_holders = SEG_MAX_HOLDERS;
	memcpy(h->magic, SEG_MAGIC, sizeof(h->magic));
	h->checksum = hs_seg_checksum(h);
	f->hdr = (struct chan_hdr *)(f->m.map + SEG_ALIGN);
	f->hdr->magic = CHAN_MAGIC;
	f->hdr->nslots = g->nslots;
	f->hdr->slot_size = g->slot_size;
	f->hdr->ndim = g->ndim;
	memcpy(f->hdr->shape, g->shape, sizeof(g->shape));
	memcpy(f->hdr->format, "B", 2);
	f->hdr->prod_pid = getpid();
	ring_end = sizeof(struct chan_hdr) + 2 * (size_t)g->nslots * sizeof(uint64_t);
	slots_at = (ring_end + HS_PAGE - 1) / HS_PAGE * HS_PAGE;
	if (g->nslots <= MAX_SLOTS && ring_end <= g->data)
		f->ring = (uint64_t *)(f->m.map + SEG_ALIGN + sizeof(struct chan_hdr));
	if (f->ring && !__builtin_mul_overflow((size_t)g->nslots, (size_t)g->slot_size, &need) &&
	    !__builtin_add_overflow(need, slots_at, &need) && need <= g->data)
		f->slots = f->m.map + SEG_ALIGN + slots_at;
	if (g->seals && fcntl(f->m.fd, F_ADD_SEALS, g->seals) < 0)
		return -errno;
	return 0;
}

static inline void hs_fake_free(struct hs_fake *f)
{
	hs_seg_close(&f->m);
}

/*
 * Layout 3 - publish message @seq as slot @slot, @len bytes long, in the fake producer's ring of
 * @nslots entries: the length, then the entry word ((seq + 1) << SLOT_BITS | slot), which is
 * the publication (lib/chan.c, mv_chan_send()).
 */
static inline void hs_fake_publish(struct hs_fake *f, uint32_t nslots, uint64_t seq,
				   uint32_t slot, uint64_t len)
{
	uint64_t *e = &f->ring[2 * (seq % nslots)];

	__atomic_store_n(&e[1], len, __ATOMIC_RELAXED);
	__atomic_store_n(&e[0], ((seq + 1) << SLOT_BITS) | slot, __ATOMIC_SEQ_CST);
}

/* Listen on channel @name's address, as a producer does (the name is free: nobody has it). */
static inline int hs_fake_listen(const char *name)
{
	struct sockaddr_un a;
	socklen_t alen = hs_wire_addr(&a, name);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), rc;

	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&a, alen) < 0 || listen(s, 4) < 0) {
		rc = -errno;
		close(s);
		return rc;
	}
	return s;
}

/* Accept one joiner within @ms: its connection, or -ETIMEDOUT / -errno. */
static inline int hs_fake_accept(int s, int ms)
{
	struct pollfd pf = { s, POLLIN, 0 };
	int c;

	if (poll(&pf, 1, ms) <= 0)
		return -ETIMEDOUT;
	c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	return c < 0 ? -errno : c;
}

#endif
