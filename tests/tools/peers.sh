#!/bin/sh
# tests/tools/peers.sh - the tools against hostile peers (issue 12): processes that control a name
# in /dev/shm, their own descriptors or their command name, and turn them against root running
# mvshm, mvdump, lsshm and gc over their objects. Nothing a peer controls may make a tool wait,
# open a FIFO or a device, or print a raw control character; on bad input a tool prints one line
# and exits non-zero.
#
#   1. A FIFO at a segment's name, and at a descriptor of a peer that holds it with no writer
#      (/proc/PID/fd/N, which mvshm and mvdump take for a memfd's): mvshm info/save/hold/resize/
#      seal, mvdump --shm and lsshm each end within seconds with one line, and none opens the
#      FIFO behind the descriptor (inotify reports every open but an O_PATH one).
#   2. Names with control characters (ESC, BEL, CR, newline) and a process whose command name
#      holds an escape sequence: mvshm info, gc, lsshm (table, raw, JSON, one object,
#      --processes) and the error messages print them escaped, one line each; JSON keeps them
#      exact.
#   3. A peer swapping segment names with FIFOs (renameat2 RENAME_EXCHANGE) as fast as it can,
#      while lsshm, gc --dry-run and gc --yes run up to 30 times each: none waits (3 s each), and
#      none opens a FIFO swapped with a plain object. (A memview segment's holder table is read
#      by name through the library, which may open a FIFO swapped in there - without waiting,
#      and only to refuse it - until the library can read it from a checked descriptor.)
#   4. A peer making its descriptors 70..77 memfds and FIFOs in turn while lsshm runs up to 25
#      times: lsshm never opens one of the FIFOs.
#
# Run by automake with $top_srcdir and $top_builddir, in a /dev/shm of its own (private_shm), so
# that the FIFOs, the swap loops and gc touch nothing else. Exits 0 when every check passes, 1
# when one fails, 77 ("SKIP: reason") when no mount namespace can be made.
#
# SPDX-License-Identifier: MIT

# The helpers' pids ($p_fifo, ...) are set by start() through eval.
# shellcheck disable=SC2154
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
MVDUMP=$top_builddir/tools/mvdump
PEER=$top_builddir/tests/tools/peer
. "$top_srcdir/tests/tools/lib.sh"

need "$LSSHM" "$MVSHM" "$MVDUMP" "$PEER"
need_shm
if ! command -v timeout >/dev/null 2>&1; then
	echo "SKIP: no timeout(1) to bound the tools' runs"
	exit 77
fi
private_shm "$@"

make_tmp peers
prefix=/mvtest-$$
cleanup()
{
	kill_ours KILL $bg
	wait 2>/dev/null
	rm -rf "$tmp"
}

# How long a tool may take, and how often the racy runs are repeated (valgrind: far slower).
if [ -n "${MV_UNDER_VALGRIND:-}" ]; then
	T=60
	RACE_T=60
	RUNS=4
else
	T=5
	RACE_T=3
	RUNS=30
fi

# bounded SECONDS COMMAND...: run COMMAND with its output in $tmp/out and $tmp/err, killed after
# SECONDS; its status in $st (124 or 137: it did not end).
bounded()
{
	secs=$1
	shift
	timeout -k 1 "$secs" "$@" >"$tmp/out" 2>"$tmp/err"
	st=$?
}

# hung: the last bounded() command was killed.
hung()
{
	[ "$st" = 124 ] || [ "$st" = 137 ]
}

# one_line_failure DESCRIPTION TEXT COMMAND...: COMMAND ends within $T s with status 1, nothing
# on standard output and one line on standard error, which contains TEXT (any line if empty).
one_line_failure()
{
	what=$1
	text=$2
	shift 2
	checks=$((checks + 1))
	bounded "$T" "$@"
	if hung; then
		fail "$what: did not end within $T s: $*"
	elif [ "$st" != 1 ] || [ -s "$tmp/out" ] || [ "$(wc -l <"$tmp/err")" != 1 ] ||
		! grep -qF -- "$text" "$tmp/err"; then
		fail "$what: expected status 1 and one line on standard error naming '$text'," \
			"got status $st: $*"
		sed 's/^/    stdout: /' "$tmp/out"
		sed 's/^/    stderr: /' "$tmp/err"
	fi
}

# no_controls FILE DESCRIPTION: FILE holds no control character but the newlines ending lines.
no_controls()
{
	checks=$((checks + 1))
	if LC_ALL=C tr -d '\n' <"$1" | LC_ALL=C grep -aq '[[:cntrl:]]'; then
		fail "$2: printed raw control characters:"
		od -c "$1" | sed 's/^/    /' | head -20
	fi
}

# lines FILE N DESCRIPTION: FILE has N lines.
lines()
{
	check_eq "$3: lines" "$(wc -l <"$1" | tr -d ' ')" "$2"
}

# watched WATCHER DESCRIPTION: the peer watcher WATCHER (its pid) reported no open.
watched()
{
	sleep 0.2
	hasnt "$tmp/start.$1" '^opened ' "$2"
}

# ---------------------------------------------------------------- 1. a FIFO at a name, a descriptor
fifo=$prefix-fifo
mkfifo "/dev/shm/${fifo#/}" "$tmp/fifo" || exit 1
start p_fifo "$PEER" fifo-fd 7 "$tmp/fifo"
ready "$p_fifo" "FIFO holder"
start w_fifo "$PEER" watch "$tmp/fifo"
ready "$w_fifo" "watcher of the FIFO"
fd=/proc/$p_fifo/fd/7

one_line_failure "mvshm info of a FIFO at a name" FIFO "$MVSHM" info "$fifo"
one_line_failure "mvdump --shm of a FIFO at a name" FIFO "$MVDUMP" --shm "$fifo"
one_line_failure "lsshm of a FIFO at a name" FIFO "$LSSHM" "$fifo"
one_line_failure "mvshm info of a FIFO at a descriptor" FIFO "$MVSHM" info "$fd"
one_line_failure "mvshm info --raw of a FIFO at a descriptor" FIFO "$MVSHM" info --raw "$fd"
one_line_failure "mvshm save of a FIFO at a descriptor" FIFO "$MVSHM" save "$fd" "$tmp/saved"
one_line_failure "mvshm hold of a FIFO at a descriptor" FIFO \
	"$MVSHM" hold --readonly "$fd" -- true
one_line_failure "mvshm resize of a FIFO at a descriptor" FIFO "$MVSHM" resize "$fd" 8K
one_line_failure "mvshm seal of a FIFO at a descriptor" FIFO "$MVSHM" seal "$fd" grow
one_line_failure "mvdump --shm of a FIFO at a descriptor" FIFO "$MVDUMP" --shm "$fd"
one_line_failure "lsshm of a FIFO at a descriptor" "$fd" "$LSSHM" "$fd"
watched w_fifo "the tools opened the FIFO behind $fd"
kill "$p_fifo" "$w_fifo" 2>/dev/null
rm -f "/dev/shm/${fifo#/}"

# ---------------------------------------------------------------- 2. names with control characters
esc=$(printf '%s-esc-\033]0;owned\007\r\033[2J\nnext' "$prefix")
esc_shown="$prefix-esc-\\x1b]0;owned\\x07\\x0d\\x1b[2J\\x0anext"
held=$(printf '%s-held-\033[31m' "$prefix")
held_shown="$prefix-held-\\x1b[31m"
expect 0 "create a segment whose name has control characters" -- \
	"$MVSHM" create "$esc" --size 64 --format d
expect 0 "create another" -- "$MVSHM" create "$held" --size 64
# A process whose command name (comm: the name it was executed by) holds an escape sequence.
evil=$(printf 'ev\033[2Jil')
ln -s "$(command -v sleep)" "$tmp/$evil" || exit 1
"$tmp/$evil" 600 5<"/dev/shm/${held#/}" >/dev/null 2>&1 &
p_evil=$!
bg="$bg $p_evil"
n=0
while ! grep -q '^ev' "/proc/$p_evil/comm" 2>/dev/null && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done

expect 0 "mvshm info" -- "$MVSHM" info "$esc"
no_controls "$tmp/out" "mvshm info"
has "$tmp/out" "^Name: +$(re "$esc_shown")$" "mvshm info: the name, escaped"
lines "$tmp/out" 11 "mvshm info"
one_line_failure "mvshm info of a missing name" "$esc_shown-x" "$MVSHM" info "$esc-x"
one_line_failure "mvshm rm of a missing name" "$esc_shown-x" "$MVSHM" rm "$esc-x"
one_line_failure "mvdump --shm of a missing name" "$esc_shown-x" "$MVDUMP" --shm "$esc-x"

expect 0 "gc --dry-run" -- "$MVSHM" gc --dry-run "$prefix-*"
no_controls "$tmp/out" "gc --dry-run"
no_controls "$tmp/err" "gc --dry-run: stderr"
lines "$tmp/out" 3 "gc --dry-run"
has "$tmp/out" "^(would remove|skipped) $(re "$esc_shown")( \\(8K\\))?: " "gc --dry-run: the name"
has "$tmp/out" "^skipped $(re "$held_shown"): in use: ev\\\\x1b\\[2Jil\\[$p_evil\\] \\(open\\)$" \
	"gc --dry-run: the command name"

expect 0 "lsshm" -- "$LSSHM"
no_controls "$tmp/out" "lsshm"
no_controls "$tmp/err" "lsshm: stderr"
has "$tmp/out" "^$(re "$esc_shown") " "lsshm: the name"
has "$tmp/out" "^$(re "$held_shown") .* ev\\\\x1b\\[2Jil\\[$p_evil\\] " "lsshm: the command name"
expect 0 "lsshm --raw" -- "$LSSHM" -rn -o NAME,PROCS,WHY
no_controls "$tmp/out" "lsshm --raw"
# Every row starts with its name (other processes' memfds are listed too): none with "next".
hasnt "$tmp/out" '^next' "lsshm --raw: a name's newline started a line"
expect 0 "lsshm --processes" -- "$LSSHM" -p -o NAME,PID,COMMAND
no_controls "$tmp/out" "lsshm --processes"
has "$tmp/out" "^$(re "$held_shown") +$p_evil +ev\\\\x1b\\[2Jil$" "lsshm --processes"
expect 0 "lsshm NAME" -- "$LSSHM" "$esc"
no_controls "$tmp/out" "lsshm NAME"
has "$tmp/out" "^Name: +$(re "$esc_shown")$" "lsshm NAME"
one_line_failure "lsshm of a missing name" "$esc_shown-x" "$LSSHM" "$esc-x"
expect 0 "lsshm --json" -- "$LSSHM" --json -o NAME,PROCS
no_controls "$tmp/out" "lsshm --json"
if command -v python3 >/dev/null 2>&1; then
	checks=$((checks + 1))
	python3 - "$tmp/out" "$esc" "$held" "${evil}[$p_evil] (open)" <<'EOF' ||
import json, sys
esc, held, proc = sys.argv[2:5]
prefix = esc[:esc.index("-esc-")]
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))["shm"]
        if r["name"].startswith(prefix)}
assert sorted(rows) == sorted([esc, held]), sorted(rows)
assert rows[held]["procs"] == [proc], rows[held]
EOF
		fail "lsshm --json: the names are not exact (see above)"
fi

expect 0 "gc --yes" -- "$MVSHM" gc --yes "$prefix-*"
no_controls "$tmp/out" "gc --yes"
has "$tmp/out" "^(removed|skipped) $(re "$esc_shown")( \\(8K\\))?: " "gc --yes: the name"
kill "$p_evil" 2>/dev/null
rm -f /dev/shm/"${prefix#/}"-*

# ---------------------------------------------------------------- 3. names swapped with FIFOs
swap=$prefix-swap
plain_fifos=
pairs=
for i in 0 1 2 3; do
	path=/dev/shm/${swap#/}-$i
	if [ $i -lt 2 ]; then
		expect 0 "create $swap-$i" -- "$MVSHM" create "$swap-$i" --size 4K
	else
		head -c 8192 /dev/zero >"$path"
		plain_fifos="$plain_fifos $path.fifo"
	fi
	mkfifo "$path.fifo" || exit 1
	pairs="$pairs $path"
done
# shellcheck disable=SC2086 # lists of paths without blanks
start w_swap "$PEER" watch $plain_fifos
ready "$w_swap" "watcher of the swapped FIFOs"
# shellcheck disable=SC2086
start p_swap "$PEER" swap-names $pairs
ready "$p_swap" "the peer swapping names"
for tool in lsshm "gc --dry-run" "gc --yes"; do
	run=1
	while [ $run -le $RUNS ]; do
		case $tool in
		lsshm) bounded "$RACE_T" "$LSSHM" ;;
		"gc --dry-run") bounded "$RACE_T" "$MVSHM" gc --dry-run "$swap-*" ;;
		*) bounded "$RACE_T" "$MVSHM" gc --yes "$swap-*" ;;
		esac
		hung && break
		run=$((run + 1))
	done
	checks=$((checks + 1))
	if hung; then
		fail "$tool hung on run $run of $RUNS (killed after $RACE_T s) while a peer swapped" \
			"segment names with FIFOs"
		sed 's/^/    stderr: /' "$tmp/err"
	fi
	checks=$((checks + 1))
	kill -0 "$p_swap" 2>/dev/null || fail "$tool: the peer swapping names died:" \
		"$(cat "$tmp/start.p_swap")"
done
watched w_swap "lsshm or gc opened a FIFO swapped in for a plain object"
kill "$p_swap" "$w_swap" 2>/dev/null

# ---------------------------------------------------------------- 4. descriptors swapped with FIFOs
baits=
for i in 0 1 2 3 4 5 6 7; do
	mkfifo "$tmp/bait$i" || exit 1
	baits="$baits $tmp/bait$i"
done
# shellcheck disable=SC2086
start p_baits "$PEER" swap-fds $baits
ready "$p_baits" "the peer swapping descriptors"
# Watched after the peer's own opens: any open from now on is someone else's.
# shellcheck disable=SC2086
start w_baits "$PEER" watch $baits
ready "$w_baits" "watcher of the bait FIFOs"
run=1
while [ $run -le $RUNS ] && ! grep -q '^opened ' "$tmp/start.w_baits"; do
	bounded "$T" "$LSSHM"
	checks=$((checks + 1))
	if hung; then
		fail "lsshm hung on run $run (killed after $T s) while a peer swapped its descriptors"
		break
	fi
	run=$((run + 1))
done
watched w_baits "lsshm (run $((run - 1)) of $RUNS) opened a FIFO that process $p_baits kept \
swapping with a memfd at /proc/$p_baits/fd/70..77, before it knew what it was"

finish
