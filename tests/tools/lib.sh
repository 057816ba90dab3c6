# tests/tools/lib.sh - what the tool tests (tests/tools/*.sh) share: skipping when a program is
# not built or /dev/shm is missing, the scratch directory and its removal, counting checks and
# failures, running a command against an expected exit status, comparing values, waiting for a
# segment's holder, recognising CPython 3.13, and the closing summary. Sourced, never run:
#
#     . "$top_srcdir/tests/tools/lib.sh"
#
# A test calls make_tmp before expect, and sets $MVSHM before it calls busy.
#
# SPDX-License-Identifier: MIT

# shellcheck shell=sh
# $tmp and $MVSHM are the sourcing test's.
# shellcheck disable=SC2154

failures=0
checks=0

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
