#!/bin/sh
# tests/valgrind.sh - run one test of the suite under valgrind memcheck: the LOG_COMPILER and
# SH_LOG_COMPILER of "make check-valgrind".
#
#     valgrind.sh TEST [ARG...]
#
# A test program is a libtool wrapper script, so it runs as "libtool --mode=execute valgrind
# PROGRAM": memcheck sees the real binary and the uninstalled library, not bash. A shell test
# (TEST ends in .sh) runs as "valgrind /bin/sh TEST", so that the tools and helper programs the
# script starts are traced too. Children are traced (Check forks one process per test; tests fork
# producers, consumers and victims) except system programs - shells the script execs by path,
# grep, sed, setpriv, python, compilers - whose errors are not ours and which would only make the
# run slower. A system program's own children are not traced either (valgrind cannot resume
# tracing below an untraced process), so a tool started through setpriv, script(1), env or
# "sh -c" runs natively; the direct calls of the same tools in the same scripts are traced.
#
# Every traced process logs to its own file, $MV_VALGRIND_LOGDIR/NAME/PID.log (default
# tests/valgrind-logs under the build directory). The test fails when any process reported an
# error - also one whose exit status nobody checks, or one that was killed before its summary -
# even when the test itself passed; the offending logs are copied into the test's .log.
#
# Environment: top_srcdir, top_builddir (from AM_TESTS_ENVIRONMENT), VALGRIND (default
# valgrind), MV_VALGRIND_LOGDIR, MV_VALGRIND_FLAGS (extra options, e.g. --gen-suppressions=all).
# Exported to the test: MV_UNDER_VALGRIND=1 (shell tests scale their rounds by it; C tests use
# RUNNING_ON_VALGRIND), CK_TIMEOUT_MULTIPLIER (Check's per-test timeouts, 20x unless set).
#
# SPDX-License-Identifier: MIT

set -u

if [ $# -lt 1 ]; then
	echo "usage: valgrind.sh TEST [ARG...]" >&2
	exit 99
fi
test=$1
shift

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=.}"
: "${VALGRIND:=valgrind}"
: "${MV_VALGRIND_LOGDIR:=$top_builddir/tests/valgrind-logs}"
: "${MV_VALGRIND_FLAGS:=}"
: "${CK_TIMEOUT_MULTIPLIER:=20}"
MV_UNDER_VALGRIND=1
export CK_TIMEOUT_MULTIPLIER MV_UNDER_VALGRIND

if ! command -v "$VALGRIND" >/dev/null 2>&1; then
	echo "valgrind.sh: $VALGRIND not found (install valgrind, or set VALGRIND)" >&2
	exit 99
fi

name=$(basename "$test" .sh)
logdir=$MV_VALGRIND_LOGDIR/$name
rm -rf "$logdir"
mkdir -p "$logdir" || exit 99

# Exit status of a process in which memcheck found an error: none of 0, 1, 2 (the tools'
# statuses), 77 (skip) or 99 (automake's hard error), so a test that checks statuses notices it.
errcode=86

# System programs are not traced. Patterns match the path the program is exec'd by; a pattern's
# '*' also matches '/'. PYTHON313 may live under pyenv (configure looks there).
skip='/bin/*,/sbin/*,/usr/*,/lib/*,/lib64/*,/etc/*,/opt/*,/snap/*,/root/.pyenv/*,*/python3*'

case $test in
*.sh) set -- /bin/sh "$test" "$@" ;;
*) set -- "$test" "$@" ;;
esac
# --errors-for-leak-kinds: a definitely or indirectly lost block is an error (exit status and
# summary); "possibly lost" and "still reachable" blocks are not listed.
# --child-silent-after-fork=no: Check's forked test processes report too, each in its own log
# (%p is the child's pid).
set -- --tool=memcheck --trace-children=yes --trace-children-skip="$skip" \
	--child-silent-after-fork=no --error-exitcode=$errcode \
	--leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --num-callers=30 \
	--suppressions="$top_srcdir/tests/valgrind.supp" \
	--log-file="$logdir/%p.log" $MV_VALGRIND_FLAGS "$@"

case $test in
*.sh) "$VALGRIND" "$@" ;;
*) "$top_builddir/libtool" --mode=execute "$VALGRIND" "$@" ;;
esac
status=$?

# What each log reports, as "ERRORS LEAKS KILLED": error reports other than leaks, leak reports,
# and whether the process died of a signal. A report is the line above a stack ("at 0x..."); the
# stack printed for the fatal signal itself is not one. Leaks of a process that died of a signal
# (a test that must die of SIGSEGV or SIGBUS, say) are not errors: a dying process frees nothing
# and its registers, where the last pointers were, are gone. Processes killed with SIGKILL write
# no summary; what they reported before is counted all the same.
count_reports()
{
	awk '
	/== Process terminating with default action of signal/ { killed = 1; fatal = 1; next }
	/^==[0-9]+== +(at|by) 0x/ {
		if (!stack) {
			if (fatal)
				fatal = 0
			else if (head ~ /are (definitely|indirectly) lost in loss record/)
				leaks++
			else
				errors++
		}
		stack = 1
		next
	}
	{ stack = 0; head = $0 }
	END { print errors + 0, leaks + 0, killed + 0 }' "$1"
}

bad=
nlogs=0
for log in "$logdir"/*.log; do
	[ -e "$log" ] || continue
	nlogs=$((nlogs + 1))
	set -- $(count_reports "$log")
	if [ "$1" -gt 0 ] || { [ "$2" -gt 0 ] && [ "$3" -eq 0 ]; }; then
		bad="$bad $log"
	fi
done

echo "valgrind.sh: $name: exit status $status; $nlogs processes traced, logs in $logdir"
if [ -n "$bad" ]; then
	for log in $bad; do
		echo "valgrind.sh: errors in $log:"
		head -n 300 "$log"
	done
	echo "FAIL: memcheck found errors in $(echo $bad | wc -w) of $nlogs processes"
	[ "$status" -eq 0 ] || [ "$status" -eq 77 ] && exit 1
	exit "$status"
fi
exit "$status"
