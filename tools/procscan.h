/*
 * tools/procscan.h - who maps, holds open or locks which file: one pass over /proc, shared by
 * lsshm(1) and `mvshm gc`, so that the listing and the safety check of a removal are the same code.
 *
 * Sources, all read-only:
 *   /proc/PID/maps       mappings, by device and inode (so a renamed or deleted path still
 *                        matches); /proc/PID/map_files where maps cannot be read but it can
 *   /proc/PID/fd         open descriptors (stat through the link: device and inode)
 *   /proc/PID/fdinfo/FD  the locks a descriptor holds (memview's export lock is an OFD read lock
 *                        on byte 0), and for an io_uring instance its registered files and buffers
 *   /proc/locks          every lock on every file, whoever holds it (also what we cannot inspect)
 *   /sys/block/loop*     loop devices backed by a file: the kernel holds those, no process does
 *
 * memfds (memfd_create(2)) have no name in any directory: with PS_SCAN_MEMFD the scan finds them
 * where they are used - descriptors and mappings whose path reads "/memfd:NAME (deleted)" - one
 * per (device, inode) however many processes share it, with a path that reaches it as long as
 * that process keeps it: /proc/PID/fd/N, or /proc/PID/map_files/START-END for a memfd that is
 * only mapped (opening that needs CAP_SYS_ADMIN). A memfd is alive exactly while it is so used.
 *
 * A process is "inspected" when both its maps and its descriptors could be read. Without
 * privilege only one's own processes can be (ptrace access rules), and /proc mounted with
 * hidepid= hides the others altogether; ps_scan() counts what it could not see, so that callers
 * never mistake "not seen" for "not used". Kernel threads map nothing and are not counted. /proc
 * shows one PID namespace's processes: outside the initial one, processes elsewhere that share
 * /dev/shm are not seen at all, and ps_scan() says so (pidns_blind) unless the caller knows
 * better (PS_SCAN_ALL_VISIBLE).
 *
 * The scanning process itself is never reported: lsshm and gc open what they inspect.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_TOOLS_PROCSCAN_H
#define MEMVIEW_TOOLS_PROCSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How a process uses a file: bits of ps_use.how. */
#define PS_MAPPED 0x01u      /* mapped (/proc/PID/maps) */
#define PS_OPEN 0x02u        /* an open descriptor (/proc/PID/fd) */
#define PS_URING_FILE 0x04u  /* a fixed file of one of its io_uring instances */
#define PS_EXPORT_LOCK 0x08u /* a descriptor holds a read lock on byte 0: memview exports */
#define PS_LOCKED 0x10u      /* a descriptor holds some other lock */

/* Flags for ps_scan(). */
#define PS_SCAN_URING 0x01u /* keep every io_uring instance and its buffers (ps_proc.rings) */
#define PS_SCAN_MEMFD 0x02u /* also find every memfd in use (ps_scan.memfds) */
#define PS_SCAN_ALL_VISIBLE 0x04u /* the caller says this PID namespace sees every process that
				     matters: pidns_blind is not set */

/* A registered buffer of an io_uring instance, as fdinfo lists it. */
struct ps_ubuf {
	unsigned index;
	uint64_t addr;        /* user address */
	uint64_t len;         /* bytes */
	char *backing;        /* path of the mapping it lies in, "[anon]", or NULL if unmapped */
	uint64_t offset;      /* bytes from the start of that file to addr */
};

/* An io_uring instance (only with PS_SCAN_URING). */
struct ps_ring {
	int fd;
	unsigned long ino;    /* the ring's anon inode: the same in every process sharing it */
	unsigned sq_entries, cq_entries;
	int sq_thread;        /* pid of its SQPOLL thread, or -1 */
	unsigned nfiles;      /* registered files */
	struct ps_ubuf *bufs; /* registered buffers */
	size_t nbufs;
};

/* A process /proc shows. */
struct ps_proc {
	pid_t pid;
	uid_t uid;            /* effective */
	char comm[64];
	int inspected;        /* maps and descriptors were both read */
	struct ps_ring *rings;
	size_t nrings;
};

/* One process's use of one file. */
struct ps_use {
	struct ps_proc *proc;
	unsigned how;         /* PS_* */
	unsigned nmaps;       /* mappings of it */
	uint64_t mapped;      /* bytes in those mappings */
	int *fds;             /* descriptors open on it */
	size_t nfds;
	unsigned uring_files; /* fixed-file slots of its io_uring instances */
};

/* A file to look for: the caller fills dev, ino and path; ps_scan() the rest. */
struct ps_file {
	dev_t dev;
	ino_t ino;
	const char *path;     /* "/dev/shm/NAME": io_uring and loop devices report paths only */
	struct ps_use *uses;  /* processes that use it, by pid */
	size_t nuses;
	unsigned fcntl_locks; /* POSIX and OFD locks on it in /proc/locks (waiters included) */
	unsigned other_locks; /* flock(2) locks and leases */
	int export_locked;    /* a read lock on byte 0 is held: a memview process has exports */
	char *kernel;         /* kernel holders ("loop0"), comma-separated, or NULL */
};

/* A memfd the scan found (PS_SCAN_MEMFD). */
struct ps_memfd {
	struct ps_file file;  /* dev, ino and its uses, as for the files asked for; path NULL */
	char *name;           /* NAME of "/memfd:NAME (deleted)": what memfd_create(2) was given */
	char *reach;          /* "/proc/PID/fd/N" if a descriptor is open on it, else
				 "/proc/PID/map_files/START-END" of a mapping of it; NULL when
				 the process it went through exited during the scan */
};

/* The result of a scan. */
struct ps_scan {
	struct ps_proc **procs;   /* every process seen, by pid, the scanner excluded */
	size_t nprocs;
	size_t uninspected;       /* processes whose maps or descriptors could not be read */
	pid_t uninspected_pid[4]; /* the first few of them, for messages */
	int hidepid;              /* /proc hides other users' processes from us */
	int pidns_blind;          /* ps_pidns_blind(): processes of other PID namespaces are not
				     in /proc (not with PS_SCAN_ALL_VISIBLE) */
	char pidns_why[160];      /* why, one phrase */
	int locks_unreadable;     /* /proc/locks could not be read */
	struct ps_memfd **memfds; /* PS_SCAN_MEMFD: every memfd in use, by inode and device */
	size_t nmemfds;
};

/*
 * ps_scan - scan /proc for the uses of @files (@n of them; may be 0, e.g. for io_uring alone).
 * Fills @out and the result fields of each file. Returns 0, or -errno when /proc itself cannot be
 * read (then nothing is filled). Processes that exit during the scan are skipped silently.
 */
int ps_scan(struct ps_scan *out, struct ps_file *files, size_t n, unsigned flags);

/*
 * ps_pidns_blind - whether /proc may miss processes that use the same /dev/shm: 1 when this
 * process is not in the initial PID namespace (a container: processes outside it, which may share
 * /dev/shm with it, are in no /proc it can read), when /proc is not its own namespace's, or when
 * that cannot be told; 0 in the initial PID namespace with its own /proc, which shows every
 * process on the system. The reason, one phrase, goes to @why.
 */
int ps_pidns_blind(char *why, size_t len);

/* ps_scan_free - free what ps_scan() allocated in @scan (its memfds too) and in @files. */
void ps_scan_free(struct ps_scan *scan, struct ps_file *files, size_t n);

/* ps_how_string - "mapped,open,uring,export-lock,lock" for PS_* bits, into @buf. */
const char *ps_how_string(unsigned how, char *buf, size_t len);

/* ps_user_name - the user name of @uid, or its number; a static buffer. */
const char *ps_user_name(uid_t uid);

/* ps_group_name - the group name of @gid, or its number; a static buffer. */
const char *ps_group_name(gid_t gid);

#endif /* MEMVIEW_TOOLS_PROCSCAN_H */
