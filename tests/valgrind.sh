#!/bin/sh
# tests/valgrind.sh - run one test of the suite under valgrind memcheck: the LOG_COMPILER and
# SH_LOG_COMPILER of "make check-valgrind".
#
#     valgrind.sh TEST [ARG...]
#
# A test program (check_*) is a libtool wrapper script, so it runs as "libtool --mode=execute
# valgrind PROGRAM": memcheck sees the real binary and the uninstalled library, not bash.
# Children are traced: Check forks one process per test, and tests fork producers, consumers and
# victims (fork needs no tracing decision; exec does).
#
# A shell test (TEST ends in .sh) runs natively, against a shadow of the build directory in which
# every program of tools/, bench/ and tests/tools/ is a small script that runs the real program
# under valgrind the same way (valgrind.sh --run). So every memview program a script starts is
# traced - also one started through setpriv, script(1) or "sh -c" - and the shells, grep and sed
# are not (they are not ours, and a traced shell traces its hundreds of subshells: ten times
# slower).
# Programs that a traced program execs are traced unless they are system programs (/usr/...).
# The exceptions are the helper processes the tool tests start and name: in lsshm.sh and
# pidns.sh, those that hold segments (shmuser, "mvshm hold", "mvshm create --memfd") run
# natively, since lsshm is checked to name them and under valgrind every process is called
# "memcheck-amd64-"; in peers.sh the hostile peer (busy loops, and its descriptors at fixed
# numbers); in mvshm.sh a channel's producer. The log directory is writable by all: lsshm.sh
# also runs the tools as nobody.
# headers.sh and symbols.sh run no memview code (only the compiler and nm): run as they are.
#
# Every traced process logs to its own file, $MV_VALGRIND_LOGDIR/NAME/PID.STAMP.log (default
# tests/valgrind-logs under the build directory). The test fails when any process reported an
# error - also one whose exit status nobody checks, or one that was killed before its summary -
# even when the test itself passed; the offending logs are copied into the test's .log.
#
# Environment: top_srcdir, top_builddir (from AM_TESTS_ENVIRONMENT), VALGRIND (default
# valgrind), MV_VALGRIND_LOGDIR, MV_VALGRIND_FLAGS (extra options, e.g. --gen-suppressions=all).
# Exported to the test: MV_UNDER_VALGRIND=1 (C tests also see RUNNING_ON_VALGRIND; both scale
# round counts down), CK_TIMEOUT_MULTIPLIER (Check's per-test timeouts, 20x unless set).
#
# SPDX-License-Identifier: MIT

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=.}"
: "${VALGRIND:=valgrind}"
: "${MV_VALGRIND_LOGDIR:=$top_builddir/tests/valgrind-logs}"
: "${MV_VALGRIND_FLAGS:=}"
: "${CK_TIMEOUT_MULTIPLIER:=20}"
MV_UNDER_VALGRIND=1
export top_srcdir VALGRIND MV_VALGRIND_FLAGS CK_TIMEOUT_MULTIPLIER MV_UNDER_VALGRIND

# Exit status of a process in which memcheck found an error: none of 0, 1, 2 (the tools'
# statuses), 77 (skip) or 99 (automake's hard error), so a test that checks statuses notices it.
errcode=86

# System programs are not traced. Patterns match the path a program is exec'd by; '*' also
# matches '/'. PYTHON313 may live under pyenv (configure looks there).
skip='/bin/*,/sbin/*,/usr/*,/lib/*,/lib64/*,/etc/*,/opt/*,/snap/*,/root/.pyenv/*,*/python3*'

# run_valgrind LOGDIR LIBTOOL PROGRAM [ARG...]: exec PROGRAM under memcheck, through LIBTOOL's
# execute mode when PROGRAM is a libtool wrapper.
run_valgrind()
{
	vg_logdir=$1
	vg_libtool=$2
	vg_prog=$3
	shift 2
	# --errors-for-leak-kinds: a definitely or indirectly lost block is an error (exit status
	# and summary); "possibly lost" and "still reachable" blocks are not listed.
	# --child-silent-after-fork=no: Check's forked test processes report too, each in its
	# own log (%p is the child's pid; the time stamp keeps a reused pid from meeting an older
	# log, perhaps another user's). --vgdb=no: no gdbserver, so no /tmp/vgdb-pipe-*-PID file,
	# which a process of another user that got the same pid later could not create (valgrind
	# then stops: "cannot create shared_mem file", a random failure of the tests run as nobody).
	vg_stamp=$(date +%s%N)
	set -- --tool=memcheck --trace-children=yes --trace-children-skip="$skip" \
		--child-silent-after-fork=no --error-exitcode=$errcode \
		--leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --num-callers=30 \
		--suppressions="$top_srcdir/tests/valgrind.supp" \
		--log-file="$vg_logdir/%p.$vg_stamp.log" --vgdb=no $MV_VALGRIND_FLAGS "$@"
	if [ -f "$vg_libtool" ] && grep -q 'temporary wrapper script' "$vg_prog" 2>/dev/null; then
		exec "$vg_libtool" --mode=execute "$VALGRIND" "$@"
	fi
	exec "$VALGRIND" "$@"
}

# A shadow program: valgrind.sh --run LOGDIR LIBTOOL TEST PROGRAM [ARG...]
if [ "${1:-}" = --run ]; then
	run_logdir=$2
	run_libtool=$3
	run_test=$4
	shift 4
	case $run_test:$1:${2:-}:${3:-} in
	lsshm:*/shmuser:*:* | lsshm:*/mvshm:hold:* | lsshm:*/mvshm:create:--memfd | \
	pidns:*/shmuser:*:* | pidns:*/mvshm:hold:* | peers:*/peer:*:* | \
	mvshm:*/chanuser:produce:*)
		exec "$@"
		;;
	esac
	run_valgrind "$run_logdir" "$run_libtool" "$@"
fi

if [ $# -lt 1 ]; then
	echo "usage: valgrind.sh TEST [ARG...]" >&2
	exit 99
fi
test=$1
shift

if ! command -v "$VALGRIND" >/dev/null 2>&1; then
	echo "valgrind.sh: $VALGRIND not found (install valgrind, or set VALGRIND)" >&2
	exit 99
fi

case $test in
*/headers.sh | */symbols.sh)
	echo "valgrind.sh: $test runs no memview code: not traced"
	exec /bin/sh "$test" "$@"
	;;
esac

name=$(basename "$test" .sh)
builddir=$(cd "$top_builddir" && pwd) || exit 99
logdir=$MV_VALGRIND_LOGDIR/$name
rm -rf "$logdir"
mkdir -p "$logdir" || exit 99
logdir=$(cd "$logdir" && pwd)
chmod 1777 "$logdir"

# shadow_dir REAL SHADOW: SHADOW mirrors directory REAL - entries are symbolic links, except
# tools/, bench/, tests/ and tests/tools/, which are mirrored in turn, and the programs in those,
# which become scripts running the real program under valgrind.
shadow_dir()
{
	mkdir -p "$2" || exit 99
	for entry in "$1"/* "$1"/.libs; do
		[ -e "$entry" ] || continue
		base=${entry##*/}
		rel=${entry#"$builddir"/}
		case $rel in
		tools | bench | tests | tests/tools)
			shadow_dir "$entry" "$2/$base"
			continue
			;;
		esac
		if [ -f "$entry" ] && [ -x "$entry" ] && [ "$1" != "$builddir" ] &&
			case $base in *.sh) false ;; *) true ;; esac; then
			printf '#!/bin/sh\nexec /bin/sh %s --run %s %s %s %s "$@"\n' \
				"'$top_srcdir/tests/valgrind.sh'" "'$logdir'" "'$builddir/libtool'" \
				"'$name'" "'$entry'" >"$2/$base"
			chmod +x "$2/$base"
		else
			ln -s "$entry" "$2/$base"
		fi
	done
}

case $test in
*.sh)
	shadow_dir "$builddir" "$logdir/builddir"
	top_builddir=$logdir/builddir
	export top_builddir
	/bin/sh "$test" "$@"
	status=$?
	;;
*)
	(run_valgrind "$logdir" "$builddir/libtool" "$test" "$@")
	status=$?
	;;
esac

# What a log reports, as "ERRORS LEAKS KILLED": error reports other than leaks, leak reports,
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
fi
exit "$status"
