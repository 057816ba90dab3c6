#!/bin/sh
# tests/tools/shmroom.sh - a segment larger than the caller's memory cgroup allows is refused
# before anything is made, in one line, and one that fits is made: in a memory cgroup of its
# own (256 MiB; version 1 under /sys/fs/cgroup/memory, or version 2 beside the test's own
# cgroup at the root of /sys/fs/cgroup), mvshm create of a 512 MiB memfd says "memory cgroup"
# and exits 1, and one of 64 MiB is made. Without the check the reservation would run into the
# cgroup's limit and its OOM killer (the process dies), which fails the test as well.
#
# Run by automake with $top_srcdir and $top_builddir. Exits 0 when every check passes, 1 when
# one fails, 77 ("SKIP: reason") where no memory cgroup can be made (not root, no memory
# controller, a read-only /sys/fs/cgroup). Removes its cgroup and $TMPDIR directory on exit.
#
# SPDX-License-Identifier: MIT

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
. "$top_srcdir/tests/tools/lib.sh"

need "$MVSHM"
need_shm
[ "$(id -u)" = 0 ] || { echo "SKIP: making a memory cgroup needs root"; exit 77; }

# A cgroup of our own with a 256 MiB limit: $cg, and $limit_file written.
cg=
v1=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3; exit }' /proc/self/cgroup)
if [ -n "$v1" ] && [ -d "/sys/fs/cgroup/memory$v1" ]; then
	cg=/sys/fs/cgroup/memory${v1%/}/mvtest-$$
	limit_file=memory.limit_in_bytes
elif [ -f /sys/fs/cgroup/cgroup.controllers ] &&
	grep -qw memory /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
	cg=/sys/fs/cgroup/mvtest-$$
	limit_file=memory.max
fi
[ -n "$cg" ] || { echo "SKIP: no memory cgroup controller to make a cgroup under"; exit 77; }
mkdir "$cg" 2>/dev/null || { echo "SKIP: cannot make a cgroup at $cg"; exit 77; }
make_tmp shmroom
cleanup()
{
	rmdir "$cg" 2>/dev/null
	rm -rf "$tmp"
}
if ! echo $((256 << 20)) >"$cg/$limit_file" 2>/dev/null; then
	echo "SKIP: cannot set $cg/$limit_file"
	exit 77
fi

# in_cgroup COMMAND...: COMMAND run in the cgroup (a shell that moves itself, then execs).
in_cgroup()
{
	# shellcheck disable=SC2016 # expanded by the inner shell
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

expect 1 "a 512 MiB memfd in a 256 MiB cgroup" -- in_cgroup "$MVSHM" create mvtest-room \
	--memfd --size 512M -- true
checks=$((checks + 1))
if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "^mvshm: .*memory cgroup" "$tmp/err"; then
	fail "a 512 MiB memfd in a 256 MiB cgroup: expected one line naming the memory cgroup, got:"
	sed 's/^/    /' "$tmp/err"
fi
expect 0 "a 64 MiB memfd in a 256 MiB cgroup" -- in_cgroup "$MVSHM" create mvtest-room \
	--memfd --size 64M -- true

finish
