#!/bin/sh
# tests/tools/pidns.sh - gc and lsshm in a PID namespace of their own, as in a container that
# shares /dev/shm with the host (issue 12): the processes outside, which use its objects, are in
# no /proc they can read.
#
# Three objects: one nothing uses (stale), one a process outside maps (no lock: only /proc would
# tell), one `mvshm hold` outside holds views of (memview's export lock: the kernel tells). In a
# new PID namespace with its own /proc, gc removes nothing - with --yes or --dry-run - and says why
# in one line, status 1; lsshm calls nothing stale (STALE '?', null in JSON) and says why. With
# --all-processes-visible they judge as they would in the initial namespace: the lock still
# counts, and the mapped object - which they cannot see - would go, which is why it takes that
# option. From the test's own namespace, everything is seen as it is.
#
# Run by automake with $top_srcdir and $top_builddir, in a /dev/shm of its own (private_shm).
# Exits 0 when every check passes, 1 when one fails, 77 ("SKIP: reason") when no mount or PID
# namespace can be made.
#
# SPDX-License-Identifier: MIT

# The helpers' pids ($p_fifo, ...) are set by start() through eval.
# shellcheck disable=SC2154
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
. "$top_srcdir/tests/tools/lib.sh"

private_shm_tools "$@"
if ! unshare --pid --fork --mount-proc true 2>/dev/null; then
	echo "SKIP: cannot make a PID namespace (unshare --pid --fork --mount-proc)"
	exit 77
fi

# "Here" the tools must see every process: as an ordinary user (root only of the user namespace
# private_shm made) other users' processes cannot be inspected, and gc judges nothing. A PID
# namespace of the test's own holds only its processes (pidns_visible below then tells the tools
# so); the namespaces the checks make are made inside it. A package build runs as such a user.
if [ -z "${PIDNS_TEST_OWN_PIDNS:-}" ] &&
	"$LSSHM" -n -o NAME 2>&1 >/dev/null | grep -q "could not be inspected"; then
	echo "note: not every process can be inspected: running in a PID namespace of its own"
	exec unshare --pid --fork --mount-proc env PIDNS_TEST_OWN_PIDNS=1 /bin/sh "$0" "$@"
fi

make_tmp pidns
prefix=/mvtest-$$
cleanup()
{
	kill_ours TERM $bg
	wait 2>/dev/null
	rm -rf "$tmp"
}

# in_pidns COMMAND...: COMMAND in a new PID namespace with its own /proc.
in_pidns()
{
	unshare --pid --fork --mount-proc "$@"
}

# The test's own namespace may not be the initial one either (a container): its processes are
# the only users of its objects, so the tools are told so there.
pidns_visible "$MVSHM"

s_idle=$prefix-idle     # nothing uses it
s_mapped=$prefix-mapped # a process outside maps it, holds no lock
s_held=$prefix-held     # mvshm hold outside: views, export lock, holder slot
for s in "$s_idle" "$s_mapped" "$s_held"; do
	expect 0 "create $s" -- "$MVSHM" create "$s" --size 4K
done
start p_map "$SHMUSER" map "$s_mapped"
ready "$p_map" "the process that maps $s_mapped"
start p_hold "$MVSHM" hold "$s_held"
busy "$s_held"

# From here: the tools are told every process is visible where needed.
expect 0 "gc --dry-run here" -- "$MVSHM" gc ${VISIBLE:+"$VISIBLE"} --dry-run "$prefix-*"
has "$tmp/out" "^would remove $(re "$s_idle") " "here: the idle object is stale"
has "$tmp/out" "^skipped $(re "$s_mapped"): in use: shmuser\\[$p_map\\] \\(mapped\\)$" \
	"here: the mapped object is in use"
has "$tmp/out" "^skipped $(re "$s_held"): in use: " "here: the held object is in use"

# In a PID namespace of its own, gc removes nothing and says why.
for mode in --yes --dry-run; do
	expect 1 "gc $mode in a new PID namespace" -- in_pidns "$MVSHM" gc "$mode" "$prefix-*"
	check_eq "gc $mode in a new PID namespace: standard output" "$(cat "$tmp/out")" ""
	check_eq "gc $mode in a new PID namespace: lines on standard error" \
		"$(wc -l <"$tmp/err" | tr -d ' ')" 1
	has "$tmp/err" '^mvshm: gc: nothing removed: .*PID namespace.*--all-processes-visible' \
		"gc $mode in a new PID namespace: why"
	for s in "$s_idle" "$s_mapped" "$s_held"; do
		exists "$s" "gc $mode in a new PID namespace"
	done
done

# lsshm there calls nothing stale, and says why.
expect 0 "lsshm in a new PID namespace" -- in_pidns "$LSSHM" -rn -o NAME,STALE
for s in "$s_idle" "$s_mapped"; do
	has "$tmp/out" "^$(re "$s") \\?$" "lsshm in a new PID namespace: $s is unknown"
done
has "$tmp/out" "^$(re "$s_held") no$" "lsshm in a new PID namespace: the lock still counts"
has "$tmp/err" "^lsshm: .*PID namespace.*STALE is '\\?'" "lsshm in a new PID namespace: why"
expect 0 "lsshm --json in a new PID namespace" -- in_pidns "$LSSHM" --json -o NAME,STALE,WHY
if command -v python3 >/dev/null 2>&1; then
	checks=$((checks + 1))
	python3 -c 'import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))["shm"]}
r = rows[sys.argv[2]]
assert r["stale"] is None and "PID namespace" in r["why"], r' "$tmp/out" "$s_idle" ||
		fail "lsshm --json in a new PID namespace: STALE is not null, or WHY does not say why"
fi

# Told that every process is visible, they judge: the lock counts; the mapping, unseen, does not.
expect 0 "gc --dry-run --all-processes-visible in a new PID namespace" -- \
	in_pidns "$MVSHM" gc --dry-run --all-processes-visible "$prefix-*"
has "$tmp/out" "^would remove $(re "$s_idle") " "gc --all-processes-visible: the idle object"
has "$tmp/out" "^would remove $(re "$s_mapped") " \
	"gc --all-processes-visible: the mapped object, whose process it cannot see"
has "$tmp/out" "^skipped $(re "$s_held"): in use: .*export lock" \
	"gc --all-processes-visible: the held object (a kernel lock)"
expect 0 "lsshm --all-processes-visible in a new PID namespace" -- \
	in_pidns "$LSSHM" --all-processes-visible -rn -o NAME,STALE
has "$tmp/out" "^$(re "$s_idle") yes$" "lsshm --all-processes-visible: the idle object"
hasnt "$tmp/err" "PID namespace" "lsshm --all-processes-visible: no note"

finish
