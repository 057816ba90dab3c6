/*
 * lib/uring_init.c - creating an io_uring, and saying why the kernel refused: io_uring disabled
 * or filtered (ENOSYS, EPERM with the sysctl that decided), RLIMIT_MEMLOCK (ENOMEM, with how to
 * raise it). lib/uring.c uses the same explanations when a buffer registration fails.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"
#include "uring_internal.h"

#include <liburing.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static int has_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return 0;
	return (data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK)) != 0;
}

/* -ENOMEM from the kernel: RLIMIT_MEMLOCK when it applies, otherwise plain memory. */
int mv_uring_explain_enomem(const char *what)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    !has_cap_ipc_lock())
		return mv_fail(ENOMEM, "%s exceeds RLIMIT_MEMLOCK (%llu KiB, per user, ring memory "
				       "included): raise it with ulimit -l, memlock in "
				       "/etc/security/limits.conf (LimitMEMLOCK= in systemd) or "
				       "CAP_IPC_LOCK",
			       what, (unsigned long long)rl.rlim_cur / 1024);
	return mv_fail(ENOMEM, "%s: out of memory", what);
}

const char *mv_uring_kernel_release(char *buf, size_t cap)
{
	struct utsname u;

	snprintf(buf, cap, "%s", uname(&u) == 0 ? u.release : "unknown");
	return buf;
}

static int read_int_file(const char *path, long *out)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%ld", out) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

int mv_uring_queue_init(struct io_uring *ring, unsigned entries, unsigned flags)
{
	char what[64];
	long v, gid;
	int rc;

	MV_CHECK_ARG(ring, "ring");
	rc = io_uring_queue_init(entries, ring, flags);
	if (rc >= 0)
		return 0;
	switch (-rc) {
	case ENOSYS:
		return mv_fail(ENOSYS, "io_uring is not available: the kernel has no io_uring "
				       "(CONFIG_IO_URING off) or a seccomp filter answers ENOSYS "
				       "for io_uring_setup");
	case EPERM:
		if (read_int_file("/proc/sys/kernel/io_uring_disabled", &v) < 0)
			v = -1;
		if (v == 2)
			return mv_fail(EPERM, "io_uring is disabled for every process "
					      "(sysctl kernel.io_uring_disabled=2)");
		if (v == 1) {
			if (read_int_file("/proc/sys/kernel/io_uring_group", &gid) < 0)
				gid = -1;
			return mv_fail(EPERM, "io_uring is restricted (sysctl "
					      "kernel.io_uring_disabled=1): only CAP_SYS_ADMIN and "
					      "group %ld (kernel.io_uring_group) may create rings", gid);
		}
		return mv_fail(EPERM, "io_uring_setup is not permitted: a seccomp filter or security "
				      "module forbids it (sysctl kernel.io_uring_disabled=%ld)", v);
	case ENOMEM:
		snprintf(what, sizeof(what), "creating a ring of %u entries", entries);
		return mv_uring_explain_enomem(what);
	case EINVAL:
		return mv_fail(EINVAL, "io_uring_setup refused %u entries with flags 0x%x: a size "
				       "or flag this kernel does not support", entries, flags);
	default:
		return mv_fail(-rc, "io_uring_queue_init: %s", strerror(-rc));
	}
}

