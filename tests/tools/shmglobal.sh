#!/bin/sh
# tests/tools/shmglobal.sh - lsshm --global (issue 16): /dev/shm as a file system and what its
# objects take. On a small tmpfs of its own (private_shm: 64 MiB, in a private mount namespace, as
# check_segment_nospace makes its full /dev/shm), with objects whose sizes the test chose - memview
# segments, another program's objects, one of them mapped by a process, one owned by another
# user when the test may chown, a FIFO -, it checks that:
#   - SIZE, USED and AVAIL are what df(1) says, to the byte;
#   - MEMVIEW + OTHER is USED (nothing else is on this tmpfs), UNLISTED is 0, and the objects'
#     counts, per class and per owner, are the ones made; STALE is all but the mapped one;
#   - an object removed while a process maps it still takes space: UNLISTED, exactly its size;
#   - a 64 MiB /dev/shm draws the "smaller than 256M" warning, and one more than 90% full (a
#     4 MiB tmpfs mounted over it) the "full" one, in JSON too;
#   - --global refuses an object name and the other modes (status 2), in one line.
# The JSON is parsed with python3 when there is one, and must say what the table says.
#
# Run by automake with $top_srcdir and $top_builddir. Exits 0 when every check passes, 1 when one
# fails, 77 ("SKIP: reason") where no mount namespace can be made.
#
# SPDX-License-Identifier: MIT

# The helpers' pids ($p_map, ...) are set by start() through eval.
# shellcheck disable=SC2154
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
. "$top_srcdir/tests/tools/lib.sh"

private_shm_tools "$@"
if ! command -v df >/dev/null 2>&1; then
	echo "SKIP: no df to compare with"
	exit 77
fi

make_tmp shmglobal
cleanup()
{
	kill_ours TERM $bg
	wait 2>/dev/null
	umount /dev/shm 2>/dev/null # the 4 MiB tmpfs, if it is still mounted over ours
	rm -rf "$tmp"
}

# Only this test's processes use its private /dev/shm: outside the initial PID namespace the
# tools may judge staleness all the same.
pidns_visible "$MVSHM"

# global: lsshm --global --raw --bytes --noheadings, as "RESOURCE OBJECTS SPACE" lines in
# $tmp/g and "OWNER UID OBJECTS SPACE MEMVIEW OTHER STALE" lines in $tmp/o (raw cells are
# separated by one space; an empty one leaves two, shown here as '-'). Its standard error is in
# $tmp/err.
global()
{
	expect 0 "lsshm --global" -- "$LSSHM" --global --raw --bytes --noheadings \
		${VISIBLE:+"$VISIBLE"}
	awk -F'[ ]' 'NF == 5 { print $1, ($3 == "" ? "-" : $3), ($4 == "" ? "-" : $4) }' \
		"$tmp/out" >"$tmp/g"
	awk -F'[ ]' 'NF == 7' "$tmp/out" >"$tmp/o"
}

# field RESOURCE N: the Nth field (2 objects, 3 space) of RESOURCE's row.
field()
{
	awk -v r="$1" -v n="$2" '$1 == r { print $n }' "$tmp/g"
}

# df_bytes FIELD: df's size, used or avail of /dev/shm, in bytes.
df_bytes()
{
	df -B1 --output="$1" /dev/shm | tail -n 1 | tr -d ' '
}

# ---------------------------------------------------------------- the objects
prefix=/mvtest-$$
"$MVSHM" create "$prefix-seg1" --size 1M --format B >/dev/null || fail "mvshm create seg1"
"$MVSHM" create "$prefix-seg2" --size 256K --format d >/dev/null || fail "mvshm create seg2"
head -c 100000 /dev/zero >"/dev/shm/${prefix#/}-plain"  # not a multiple of a page
head -c 40960 /dev/zero >"/dev/shm/${prefix#/}-mapped"
head -c 8192 /dev/zero >"/dev/shm/${prefix#/}-other"
mkfifo "/dev/shm/${prefix#/}-fifo"
nobjects=5
# Another owner, when the test may give a file away (not as the root of a user namespace, where
# uid 65534 is not mapped).
other_uid=
if chown 65534 "/dev/shm/${prefix#/}-other" 2>/dev/null; then
	other_uid=65534
fi
start p_map "$SHMUSER" map "$prefix-mapped"
ready "$p_map" "shmuser map" || { finish; exit 1; }

# ---------------------------------------------------------------- agrees with df
global
for f in size:SIZE used:USED avail:AVAIL; do
	check_eq "${f#*:} as df says it" "$(field "${f#*:}" 3)" "$(df_bytes "${f%:*}")"
done
check_eq "SIZE is the 64 MiB of the private tmpfs" "$(field SIZE 3)" 67108864

# ---------------------------------------------------------------- agrees with the objects
used=$(field USED 3)
check_eq "MEMVIEW + OTHER is USED" "$(($(field MEMVIEW 3) + $(field OTHER 3)))" "$used"
check_eq "UNLISTED on a tmpfs of listed objects only" "$(field UNLISTED 3)" 0
check_eq "MEMVIEW objects" "$(field MEMVIEW 2)" 2
check_eq "OTHER objects" "$(field OTHER 2)" 3
check_eq "STALE or UNKNOWN objects: all but the mapped one" \
	"$(($(field STALE 2) + $(field UNKNOWN 2)))" $((nobjects - 1))
check_eq "NONFILE: the FIFO" "$(field NONFILE 2)" 1
has "$tmp/err" "/dev/shm is only 64M, less than 256M" "a 64 MiB /dev/shm is too small"
hasnt "$tmp/err" "full" "a nearly empty /dev/shm is not full"
has "$tmp/out" "^MEMVIEW memview\\\\x20segments 2 " "the table's own words, raw-escaped"
# Each object's USED column (st_blocks) adds up to the same; memfds are not in /dev/shm.
expect 0 "lsshm -o USED,TYPE" -- "$LSSHM" --raw --bytes --noheadings -o USED,TYPE
check_eq "the objects' USED add up to USED" \
	"$(awk '$2 != "memfd" { s += $1 } END { print s + 0 }' "$tmp/out")" "$used"
# Per owner: the space adds up to USED, and each owner has its objects.
check_eq "owners' SPACE add up to USED" "$(awk '{ s += $4 } END { print s + 0 }' "$tmp/o")" "$used"
if [ -n "$other_uid" ]; then
	check_eq "owner $other_uid's objects" "$(awk -v u="$other_uid" '$2 == u { print $3 }' \
		"$tmp/o")" 1
	check_eq "owner $other_uid's space" "$(awk -v u="$other_uid" '$2 == u { print $4 }' \
		"$tmp/o")" 8192
	check_eq "owners" "$(wc -l <"$tmp/o" | tr -d ' ')" 2
else
	echo "note: cannot chown here: one owner only"
	check_eq "owners" "$(wc -l <"$tmp/o" | tr -d ' ')" 1
fi

# The same in JSON, one document.
expect 0 "lsshm --global --json --bytes" -- "$LSSHM" --global --json --bytes ${VISIBLE:+"$VISIBLE"}
if command -v python3 >/dev/null 2>&1; then
	checks=$((checks + 1))
	python3 - "$tmp/out" "$tmp/g" >"$tmp/py" 2>&1 <<'EOF' || { fail "JSON"; cat "$tmp/py"; }
import json, sys
doc = json.load(open(sys.argv[1]))
rows = {r["resource"]: r for r in doc["shm-global"]}
for line in open(sys.argv[2]):
    res, objects, space = line.split()
    if res == "MEMFD":
        continue  # other tests' memfds, outside this /dev/shm, come and go between the two runs
    if objects != "-":
        assert rows[res]["objects"] == int(objects), (res, rows[res], objects)
    if space != "-":
        assert rows[res]["space"] == int(space), (res, rows[res], space)
assert sum(o["space"] for o in doc["shm-owners"]) == rows["USED"]["space"]
assert len(doc["warnings"]) == 1 and "less than 256M" in doc["warnings"][0], doc["warnings"]
assert isinstance(rows["USED"]["use%"], float)
EOF
else
	echo "note: no python3: the JSON output is checked by pattern only"
	has "$tmp/out" '"resource": "USED"' "JSON row USED"
fi

# ---------------------------------------------------------------- removed but still mapped
mapped_used=$(du -B1 "/dev/shm/${prefix#/}-mapped" | cut -f1)
rm -f "/dev/shm/${prefix#/}-mapped"
global
check_eq "UNLISTED: a removed object its process still maps" "$(field UNLISTED 3)" "$mapped_used"
check_eq "USED still counts it, as df does" "$(field USED 3)" "$(df_bytes used)"

# ---------------------------------------------------------------- nearly full
if mount -t tmpfs -o mode=1777,size=4m mvtest-full /dev/shm 2>/dev/null; then
	head -c $((3900 * 1024)) /dev/zero >"/dev/shm/${prefix#/}-fill"
	global
	has "$tmp/err" "/dev/shm is 9[0-9]\\.[0-9]% full" "a 4 MiB /dev/shm holding 3.9 MiB is full"
	check_eq "USED on the full tmpfs, as df says" "$(field USED 3)" "$(df_bytes used)"
	expect 0 "lsshm --global --json, full" -- "$LSSHM" --global --json ${VISIBLE:+"$VISIBLE"}
	has "$tmp/out" '% full' "the full warning in JSON too"
	umount /dev/shm || fail "umount the 4 MiB tmpfs"
else
	fail "cannot mount a 4 MiB tmpfs over the private /dev/shm"
fi

# ---------------------------------------------------------------- refused
for args in "--global /x" "--global --processes" "--global --uring" "--global --stale" \
	"--global -o NAME" "--global --sort NAME" "--global --json --raw"; do
	# shellcheck disable=SC2086 # options, word-split on purpose
	if expect 2 "lsshm $args" -- "$LSSHM" $args; then
		check_eq "lsshm $args: one line" "$(wc -l <"$tmp/err" | tr -d ' ')" 1
	fi
done

finish
