/*
 * tests/check_segment_nospace.c - a full /dev/shm fails at create time with -ENOSPC (space is
 * reserved up front), not later with SIGBUS. Each test runs in its own mount namespace with a
 * 1 MiB tmpfs over /dev/shm; where namespaces or mounts are not permitted the whole program
 * skips (exit 77), which is why this is not part of check_segment. Channels are two segments:
 * the one that does not fit takes the other with it.
 */
#define _GNU_SOURCE
#include "testlib.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHM_SIZE (1u << 20)

/* Give this process a private /dev/shm of SHM_SIZE bytes; 0, or -errno with *what set. */
static int private_small_shm(const char **what)
{
	if (unshare(CLONE_NEWNS) < 0) {
		*what = "unshare(CLONE_NEWNS)";
		return -errno;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		*what = "making mounts private";
		return -errno;
	}
	if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777") < 0) {
		*what = "mounting a 1 MiB tmpfs on /dev/shm";
		return -errno;
	}
	return 0;
}

static void enter_small_shm(void)
{
	const char *what = "";
	int rc = private_small_shm(&what);

	ck_assert_msg(rc == 0, "%s: %s", what, strerror(-rc));
}

START_TEST(create_on_a_full_dev_shm_fails_with_enospc_and_leaves_no_object)
{
	char name[96], path[128];
	mv_segment *s = NULL;
	struct stat st;

	enter_small_shm();
	mv_test_name(name, sizeof(name), "nospace");
	ck_assert_mv_err(mv_segment_create(&s, name, 4u << 20, NULL), ENOSPC, "not enough space");
	ck_assert_ptr_null(s);
	/* The half-made object is removed again. */
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* What fits is created, so it was the size. */
	ck_assert_int_eq(mv_segment_create(&s, name, 64u << 10, NULL), 0);
	ck_assert_int_eq(mv_segment_close(s), 0);
	ck_assert_int_eq(mv_segment_unlink(name, 0), 0);
}
END_TEST

START_TEST(growing_past_the_space_left_fails_with_enospc_and_keeps_the_size)
{
	mv_segment_info info = MV_SEGMENT_INFO_INIT;
	char name[96];
	mv_segment *s = NULL;

	enter_small_shm();
	mv_test_name(name, sizeof(name), "nospace");
	ck_assert_int_eq(mv_segment_create(&s, name, 256u << 10, NULL), 0);
	ck_assert_mv_err(mv_segment_resize(s, 4u << 20), ENOSPC, "not enough space");
	ck_assert_int_eq(mv_segment_get_info(&info, s), 0);
	ck_assert_uint_eq(info.data_size, 256u << 10);
	ck_assert_uint_eq(info.mapped_size, 256u << 10);
	/* The data is all there: touching every page does not SIGBUS. */
	memset(mv_segment_data(s), 0xee, 256u << 10);
	ck_assert_int_eq(mv_segment_resize(s, 512u << 10), 0);
	memset(mv_segment_data(s), 0xee, 512u << 10);
	ck_assert_int_eq(mv_segment_close(s), 0);
	ck_assert_int_eq(mv_segment_unlink(name, 0), 0);
}
END_TEST

/*
 * A channel's memory is sealed memfds, not /dev/shm objects (a named object cannot be sealed
 * against other writers or against truncation): a channel larger than a full /dev/shm is made,
 * and /dev/shm neither holds a name for it nor loses space to it.
 */
START_TEST(a_channel_takes_no_name_and_no_space_in_dev_shm)
{
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	char name[96], path[128];
	struct statvfs before, after;
	mv_chan *ch = NULL;
	struct stat st;
	mv_view v;

	enter_small_shm();
	mv_test_name(name, sizeof(name), "nospace");
	ck_assert_int_eq(statvfs("/dev/shm", &before), 0);
	o.nslots = 16;
	o.slot_size = 128u << 10; /* 2 MiB of slots: twice what /dev/shm has here */
	ck_assert_int_eq(mv_chan_create(&ch, name, &o), 0);
	ck_assert_int_eq(mv_chan_loan(&v, ch, 0), 0);
	memset((void *)mv_view_ptr(&v), 0xee, (size_t)mv_view_nbytes(&v));
	ck_assert_int_eq(mv_chan_send(ch, &v, 64), 0);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(statvfs("/dev/shm", &after), 0);
	ck_assert_uint_eq(after.f_bfree, before.f_bfree);
	ck_assert_int_eq(mv_chan_close(ch), 0);
}
END_TEST

/* Can this process get a private small /dev/shm? Probed in a child, so nothing changes here. */
static void probe_or_skip(void)
{
	char reason[256] = "";
	int p[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe(p) < 0)
		mv_test_skip("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		mv_test_skip("fork: %s", strerror(errno));
	if (pid == 0) {
		const char *what = "";
		int rc = private_small_shm(&what);

		close(p[0]);
		if (rc < 0) {
			dprintf(p[1], "%s is not permitted here: %s", what, strerror(-rc));
			_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], reason, sizeof(reason) - 1);
	close(p[0]);
	reason[n > 0 ? n : 0] = '\0';
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		mv_test_skip("%s", reason[0] ? reason : "cannot mount a private tmpfs on /dev/shm");
}

int main(void)
{
	Suite *s = suite_create("segment_nospace");
	TCase *tc = tcase_create("full /dev/shm");

	probe_or_skip();
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, create_on_a_full_dev_shm_fails_with_enospc_and_leaves_no_object);
	tcase_add_test(tc, growing_past_the_space_left_fails_with_enospc_and_keeps_the_size);
	tcase_add_test(tc, a_channel_takes_no_name_and_no_space_in_dev_shm);
	suite_add_tcase(s, tc);
	return mv_test_run(s);
}
