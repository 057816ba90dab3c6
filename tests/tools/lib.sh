# tests/tools/lib.sh - what the tool tests (tests/tools/*.sh) share: skipping when a program is
# not built or /dev/shm is missing, a private /dev/shm, the scratch directory and its removal,
# counting checks and failures, running a command against an expected exit status, comparing
# values, matching output lines, whether an object exists, helper processes started in the
# background and waited for, waiting for a segment's holder, recognising CPython 3.13, and the
# closing summary. Sourced, never run:
#
#     . "$top_srcdir/tests/tools/lib.sh"
#
# A test sets top_srcdir and top_builddir before it sources this, and calls make_tmp before
# expect and start. A cleanup of its own kills the pids start() collected in $bg (kill_ours).
#
# SPDX-License-Identifier: MIT

# shellcheck shell=sh
# $tmp and $top_builddir are the sourcing test's.
# shellcheck disable=SC2154

failures=0
checks=0
bg=

# The tools and helper the tests run, from the build tree ($top_builddir is set before sourcing).
LSSHM=$top_builddir/tools/lsshm
MVSHM=$top_builddir/tools/mvshm
SHMUSER=$top_builddir/tests/tools/shmuser

# need PROGRAM...: skip the test (status 77) unless every PROGRAM is built.
need()
{
	for need_prog; do
		if [ ! -x "$need_prog" ]; then
			echo "SKIP: $need_prog is not built"
			exit 77
		fi
	done
}

# need_shm: skip the test unless there is a writable /dev/shm for POSIX shared memory.
need_shm()
{
	if [ ! -d /dev/shm ] || [ ! -w /dev/shm ]; then
		echo "SKIP: no writable /dev/shm for POSIX shared memory"
		exit 77
	fi
}

# private_shm "$@": the rest of the test runs with a /dev/shm of its own - the test is run again
# in a new mount namespace (and a user namespace, when not root) with a fresh tmpfs on /dev/shm -
# so that the FIFOs, swap loops and gc runs of a test touch no other program's objects, and other
# tests' objects do not disturb it. Give it the test's arguments. Skips (77) where no mount
# namespace can be made.
# private_shm_tools "$@": the usual start of a test of the tools in a /dev/shm of its own -
# lsshm, mvshm and shmuser built, /dev/shm usable, then private_shm.
private_shm_tools()
{
	need "$LSSHM" "$MVSHM" "$SHMUSER"
	need_shm
	private_shm "$@"
}

private_shm()
{
	if [ -z "${MV_TEST_PRIVATE_SHM:-}" ]; then
		for private_ns in --mount "--user --map-root-user --mount"; do
			[ "$private_ns" = --mount ] && [ "$(id -u)" != 0 ] && continue
			# shellcheck disable=SC2086 # options, word-split on purpose
			if command -v unshare >/dev/null 2>&1 && unshare $private_ns true 2>/dev/null
			then
				# shellcheck disable=SC2086
				exec unshare $private_ns env MV_TEST_PRIVATE_SHM=1 /bin/sh "$0" "$@"
			fi
		done
		echo "SKIP: no mount namespace for a private /dev/shm (unshare --mount)"
		exit 77
	fi
	if ! mount -t tmpfs -o mode=1777,size=64m mvtest-shm /dev/shm 2>/dev/null; then
		echo "SKIP: cannot mount a private /dev/shm"
		exit 77
	fi
}

# make_tmp NAME: $tmp, a fresh directory in $TMPDIR, and cleanup run at exit, also after a
# signal. This cleanup removes $tmp; a test that leaves more behind defines its own after
# sourcing this file (and removes $tmp there too).
cleanup()
{
	rm -rf "$tmp"
}

make_tmp()
{
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1-test.XXXXXX") || exit 1
	trap cleanup EXIT
	trap 'exit 1' HUP INT TERM
}

# fail MESSAGE: a check failed; said on standard output, which goes to the test's log.
fail()
{
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect STATUS DESCRIPTION -- COMMAND...: run COMMAND with its output in $tmp/out and $tmp/err,
# and check its exit status (showing both outputs when it is not STATUS). Returns 0 when it is.
expect()
{
	want=$1
	what=$2
	shift 3
	checks=$((checks + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$want" ]; then
		fail "$what: exit status $got, expected $want: $*"
		sed 's/^/    stdout: /' "$tmp/out"
		sed 's/^/    stderr: /' "$tmp/err"
		return 1
	fi
	return 0
}

# check_eq DESCRIPTION GOT EXPECTED
check_eq()
{
	checks=$((checks + 1))
	[ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

# pidns_visible MVSHM: $VISIBLE is --all-processes-visible where gc (the mvshm program MVSHM)
# refuses to judge - outside the initial PID namespace, in a container for one -, and empty
# elsewhere. The tool tests give it to gc and lsshm run on their own objects: only their own
# processes, all in their namespace, use those.
pidns_visible()
{
	# shellcheck disable=SC2034 # the sourcing test's
	VISIBLE=
	if "$1" gc --dry-run "/mvtest-$$-nothing-*" 2>&1 >/dev/null | grep -q "PID namespace"; then
		echo "note: not the initial PID namespace: gc and lsshm run with" \
			"--all-processes-visible"
		# shellcheck disable=SC2034
		VISIBLE=--all-processes-visible
	fi
}

# has FILE REGEX DESCRIPTION: a line of FILE matches the extended REGEX.
has()
{
	checks=$((checks + 1))
	if ! grep -Eq -- "$2" "$1"; then
		fail "$3: no line matching '$2' in:"
		sed 's/^/    /' "$1"
	fi
}

# hasnt FILE REGEX DESCRIPTION: no line of FILE matches the extended REGEX.
hasnt()
{
	checks=$((checks + 1))
	if grep -Eq -- "$2" "$1"; then
		fail "$3: a line matches '$2':"
		grep -E -- "$2" "$1" | sed 's/^/    /'
	fi
}

# exists NAME DESCRIPTION, gone NAME DESCRIPTION: /dev/shm/NAME is there, is not.
exists()
{
	checks=$((checks + 1))
	[ -e "/dev/shm/${1#/}" ] || fail "$2: $1 is gone"
}

gone()
{
	checks=$((checks + 1))
	[ -e "/dev/shm/${1#/}" ] && fail "$2: $1 is still there"
}

# re STRING: STRING as an extended regular expression that matches it literally.
re()
{
	printf '%s' "$1" | sed 's/[].[*^$\\/+?(){}|]/\\&/g'
}

# kill_ours SIGNAL PID...: send SIGNAL to each PID that is still a child of this shell. A pid the
# test already waited for may belong to another process by now (pid_max is 32768 here, and a
# parallel make check forks thousands of processes a minute): killing it blindly once took down
# another suite's test. No ps(1): a build chroot may not have it.
kill_ours()
{
	ko_sig=$1
	shift
	for ko_pid in "$@"; do
		ko_ppid=$(sed -n 's/^.*) [A-Za-z] \([0-9][0-9]*\) .*$/\1/p' "/proc/$ko_pid/stat" \
			2>/dev/null)
		[ "$ko_ppid" = "$$" ] && kill "-$ko_sig" "$ko_pid" 2>/dev/null
	done
	return 0
}

# start VAR COMMAND...: run COMMAND in the background, its output in $tmp/start.VAR, its pid in
# $VAR and added to $bg (which the test's cleanup kills).
start()
{
	var=$1
	shift
	"$@" >"$tmp/start.$var" 2>&1 &
	eval "$var=\$!"
	bg="$bg $!"
}

# ready PID DESCRIPTION: wait until the helper PID (shmuser, peer, chanuser...) printed
# "ready PID" (10 s at most). Returns 77 when it exited 77 (shmuser: no io_uring), 1 on any other
# failure.
ready()
{
	n=0
	while [ $n -lt 100 ]; do
		for f in "$tmp"/start.*; do
			grep -qx "ready $1" "$f" 2>/dev/null && return 0
		done
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1"
			st=$?
			[ $st = 77 ] && return 77
			fail "$2: the helper exited with status $st: $(cat "$tmp"/start.* 2>/dev/null)"
			return 1
		fi
		sleep 0.1
		n=$((n + 1))
	done
	fail "$2: not ready within 10 s"
	return 1
}

# busy NAME: wait until a live process holds views of segment NAME (a background `mvshm hold`),
# 10 s at most.
busy()
{
	n=0
	while [ $n -lt 100 ]; do
		"$MVSHM" info "$1" 2>/dev/null | grep -q '^Busy: *yes' && return 0
		sleep 0.1
		n=$((n + 1))
	done
	fail "$1: no holder appeared within 10 s"
	return 1
}

# is_python313 PROGRAM: PROGRAM is given, runs, and is CPython 3.13, whose semantics memview's
# are checked against.
is_python313()
{
	[ -n "$1" ] &&
		"$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1
}

# finish: the summary line, and the test's exit status (0 when no check failed).
finish()
{
	echo "$checks checks, $failures failures"
	[ "$failures" = 0 ]
}
