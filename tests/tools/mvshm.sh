#!/bin/sh
# tests/tools/mvshm.sh - mvshm(1) from the shell: every command, its refusals and exit statuses,
# rm of a live channel's name (there is none in /dev/shm: it says so, and the channel goes on),
# gc ignoring the test suite's hook MVSHM_GC_TEST_PAUSE (only the test build has it), and
# interoperability with CPython's multiprocessing.shared_memory in both directions.
#
# Run by automake with $top_srcdir and $top_builddir (and $PYTHON313 when configure found it).
# Exits 0 when every check passes, 1 when one fails, 77 ("SKIP: reason") when it cannot run.
# Without a working $PYTHON313 the CPython part is skipped (and said so); the rest still runs.
#
# Writes only $TMPDIR (one mktemp directory) and segments named /mvtest-<pid>-*, all removed
# on exit, whether the checks pass or not.
#
# SPDX-License-Identifier: MIT

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
MVSHM_HOOKS=$top_builddir/tests/tools/mvshm-testhooks
MVDUMP=$top_builddir/tools/mvdump
CHANUSER=$top_builddir/tests/tools/chanuser
PY=${PYTHON313:-}
. "$top_srcdir/tests/tools/lib.sh"

need "$MVSHM" "$MVSHM_HOOKS" "$CHANUSER"
need_shm

make_tmp mvshm
prefix=/mvtest-$$
holders=
cleanup()
{
	kill_ours TERM $holders $bg
	for f in /dev/shm/"${prefix#/}"-*; do
		[ -e "$f" ] && "$MVSHM" rm --force "/${f##*/}" 2>/dev/null
	done
	rm -rf "$tmp"
}

# The stderr of the last expect() is one line starting "mvshm: " and containing $1.
one_line_error()
{
	checks=$((checks + 1))
	if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "^mvshm: .*$1" "$tmp/err"; then
		fail "$2: expected one line 'mvshm: ...$1...', got:"
		sed 's/^/    /' "$tmp/err"
	fi
}

# A Python for parsing JSON: the configured 3.13 if it works, else any python3.
JSONPY=
if is_python313 "$PY"; then
	JSONPY=$PY
else
	if [ -n "$PY" ]; then
		echo "note: PYTHON313='$PY' is not a working Python 3.13"
	fi
	PY=
	command -v python3 >/dev/null 2>&1 && JSONPY=python3
fi

# json_get FILE KEY: print a top-level key of the JSON in FILE (lists as Python reprs).
json_get()
{
	if [ -n "$JSONPY" ]; then
		"$JSONPY" -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(json.dumps(v) if isinstance(v, (list, dict)) else v)' "$1" "$2"
	else
		# The output puts one key per line: "   "key": value,".
		sed -n "s/^   \"$2\": \\(.*\\)/\\1/p" "$1" | sed 's/,$//; s/^"\(.*\)"$/\1/'
	fi
}

# ---------------------------------------------------------------- create, info
s=$prefix-a
expect 0 "create" -- "$MVSHM" create "$s" --size 64 --format d
checks=$((checks + 1))
[ -s "$tmp/out" ] || [ -s "$tmp/err" ] && fail "create printed something"
expect 1 "create of an existing name" -- "$MVSHM" create "$s" --size 64
one_line_error "exists" "create of an existing name"

expect 0 "info" -- "$MVSHM" info "$s"
cp "$tmp/out" "$tmp/info"
for line in 'Data offset: 4096' 'Data size:   64' 'Format:      d' 'Shape:       (8,)' \
	'Generation:  1' 'Busy:        no' 'Holders:     0'; do
	checks=$((checks + 1))
	grep -qxF "$line" "$tmp/info" || fail "info: no line '$line'"
done

expect 0 "info --json" -- "$MVSHM" info "$s" --json
cp "$tmp/out" "$tmp/json"
if [ -n "$JSONPY" ]; then
	checks=$((checks + 1))
	"$JSONPY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
keys = ["data_offset", "data_size", "format", "shape", "flags", "generation", "holders"]
assert sorted(d) == sorted(keys), sorted(d)
assert d["data_offset"] == 4096 and d["data_size"] == 64, d
assert d["format"] == "d" and d["shape"] == [8] and d["flags"] == [], d
assert d["generation"] == 1 and d["holders"] == [], d' "$tmp/json" ||
		fail "info --json: unexpected JSON"
fi
check_eq "info --json data_offset" "$(json_get "$tmp/json" data_offset)" 4096
check_eq "info --json data_size" "$(json_get "$tmp/json" data_size)" 64
check_eq "info --json format" "$(json_get "$tmp/json" format)" d
check_eq "info --json shape" "$(json_get "$tmp/json" shape)" "[8]"

# The path in /dev/shm names the same segment.
expect 0 "info /dev/shm/NAME" -- "$MVSHM" info "/dev/shm/${s#/}"
checks=$((checks + 1))
cmp -s "$tmp/out" "$tmp/info" || fail "info /dev/shm/NAME differs from info /NAME"

# A shaped segment, with suffixes and a mode.
expect 0 "create --shape --mode" -- "$MVSHM" create "$s-shaped" --size 1K --format '<i' \
	--shape 4,8 --mode 0640
expect 0 "info shaped" -- "$MVSHM" info "$s-shaped" --json
check_eq "shaped: data_size" "$(json_get "$tmp/out" data_size)" 1024
check_eq "shaped: shape" "$(json_get "$tmp/out" shape)" "[4, 8]"
check_eq "shaped: format" "$(json_get "$tmp/out" format)" "<i"
checks=$((checks + 1))
mode=$(stat -c %a "/dev/shm/${s#/}-shaped" 2>/dev/null)
[ "$mode" = 640 ] || fail "create --mode 0640: mode is $mode"
expect 0 "rm shaped" -- "$MVSHM" rm "$s-shaped"

# ---------------------------------------------------------------- load, save
head -c 40 /dev/urandom >"$tmp/in40" 2>/dev/null ||
	dd if=/dev/urandom of="$tmp/in40" bs=40 count=1 2>/dev/null
expect 0 "load FILE" -- "$MVSHM" load "$s" "$tmp/in40"
expect 0 "save FILE" -- "$MVSHM" save "$s" "$tmp/saved"
checks=$((checks + 1))
[ "$(wc -c <"$tmp/saved")" -eq 64 ] || fail "save wrote $(wc -c <"$tmp/saved") bytes, not 64"
checks=$((checks + 1))
cmp -s -n 40 "$tmp/in40" "$tmp/saved" || fail "save after load: the first 40 bytes differ"

# Standard input and output: a full 64-byte round trip.
head -c 64 /dev/urandom >"$tmp/in64"
checks=$((checks + 1))
"$MVSHM" load "$s" - <"$tmp/in64" || fail "load - failed"
checks=$((checks + 1))
# shellcheck disable=SC2002 # a pipe on purpose: a stream, whose size is not known in advance
cat "$tmp/in64" | "$MVSHM" load "$s" - || fail "load - from a pipe failed"
checks=$((checks + 1))
"$MVSHM" save "$s" - | cmp -s - "$tmp/in64" || fail "save - differs from what load - loaded"

# Too large: refused, nothing written.
head -c 65 /dev/urandom >"$tmp/in65"
expect 1 "load of a file larger than the data" -- "$MVSHM" load "$s" "$tmp/in65"
one_line_error "larger than" "load of a file larger than the data"
checks=$((checks + 1))
# shellcheck disable=SC2002 # a pipe on purpose, as above
cat "$tmp/in65" | "$MVSHM" load "$s" - 2>"$tmp/err" && fail "load - of 65 bytes succeeded"
one_line_error "larger than" "load - of 65 bytes"
checks=$((checks + 1))
"$MVSHM" save "$s" - | cmp -s - "$tmp/in64" || fail "a refused load changed the data"
expect 1 "load of a missing file" -- "$MVSHM" load "$s" "$tmp/nonexistent"
one_line_error "nonexistent" "load of a missing file"

# ---------------------------------------------------------------- resize
expect 0 "resize grow" -- "$MVSHM" resize "$s" 8K
expect 0 "info after grow" -- "$MVSHM" info "$s" --json
check_eq "grow: data_size" "$(json_get "$tmp/out" data_size)" 8192
check_eq "grow: generation" "$(json_get "$tmp/out" generation)" 2
check_eq "grow: shape" "$(json_get "$tmp/out" shape)" "[1024]"
checks=$((checks + 1))
"$MVSHM" save "$s" - | head -c 64 | cmp -s - "$tmp/in64" || fail "grow lost the data"
expect 0 "resize shrink" -- "$MVSHM" resize "$s" 64
expect 1 "resize to a partial item" -- "$MVSHM" resize "$s" 63
one_line_error "multiple" "resize to a partial item"

# ---------------------------------------------------------------- hold, rm
# hold -- COMMAND: the command's status, with the view held while it runs.
expect 0 "hold -- true" -- "$MVSHM" hold "$s" -- true
checks=$((checks + 1))
[ -s "$tmp/out" ] || [ -s "$tmp/err" ] && fail "hold printed something without -v"
expect 0 "hold -v -- true" -- "$MVSHM" hold -v "$s" -- true
check_eq "hold -v" "$(cat "$tmp/err")" "mvshm: holding $s"
expect 3 "hold -- exit 3" -- "$MVSHM" hold "$s" -- sh -c 'exit 3'
expect 127 "hold -- missing command" -- "$MVSHM" hold "$s" -- ./no-such-command-$$
expect 0 "hold -- info" -- "$MVSHM" hold "$s" -- "$MVSHM" info "$s" --json
if [ -n "$JSONPY" ]; then
	checks=$((checks + 1))
	"$JSONPY" -c 'import json, sys
h = json.load(open(sys.argv[1]))["holders"]
assert len(h) == 1 and h[0]["alive"] is True and h[0]["exports"] == 1, h' "$tmp/out" ||
		fail "hold -- info: holders are not one live holder with one export"
else
	checks=$((checks + 1))
	grep -q '"alive": true, "exports": 1' "$tmp/out" || fail "hold -- info: no live holder"
fi
expect 1 "rm while held (hold -- rm)" -- "$MVSHM" hold "$s" -- "$MVSHM" rm "$s"
one_line_error "holds views" "rm while held"
expect 1 "shrink while held" -- "$MVSHM" hold "$s" -- "$MVSHM" resize "$s" 8
one_line_error "shrink" "shrink while held"

# hold in the background until SIGTERM; rm is refused, then forced.
"$MVSHM" hold "$s" &
hold_pid=$!
holders="$holders $hold_pid"
if busy "$s"; then
	expect 1 "rm while a background hold runs" -- "$MVSHM" rm "$s"
	one_line_error "holds views" "rm while a background hold runs"
	checks=$((checks + 1))
	[ -e "/dev/shm/${s#/}" ] || fail "a refused rm removed the segment"
	expect 1 "resize shrink while a background hold runs" -- "$MVSHM" resize "$s" 8
	expect 0 "rm --force while a background hold runs" -- "$MVSHM" rm --force "$s"
	checks=$((checks + 1))
	[ -e "/dev/shm/${s#/}" ] && fail "rm --force left the segment"
fi
kill -TERM "$hold_pid" 2>/dev/null
wait "$hold_pid"
status=$?
check_eq "hold after SIGTERM: exit status" "$status" 0

# A readonly holder also blocks rm: the kernel lock counts it, though it has no table slot.
expect 0 "create for readonly hold" -- "$MVSHM" create "$s-ro" --size 16
"$MVSHM" hold --readonly "$s-ro" &
hold_pid=$!
holders="$holders $hold_pid"
if busy "$s-ro"; then
	expect 1 "rm while a readonly hold runs" -- "$MVSHM" rm "$s-ro"
	expect 0 "info while a readonly hold runs" -- "$MVSHM" info "$s-ro" --json
	check_eq "readonly holder has no slot" "$(json_get "$tmp/out" holders)" "[]"
fi
kill -INT "$hold_pid" 2>/dev/null
wait "$hold_pid"
status=$?
check_eq "hold after SIGINT: exit status" "$status" 0
expect 0 "rm after the hold ended" -- "$MVSHM" rm "$s-ro"
expect 1 "rm of a removed segment" -- "$MVSHM" rm "$s-ro"
one_line_error "no such segment" "rm of a removed segment"

# ---------------------------------------------------------------- rm of a channel's name
# A channel lives in sealed memfds behind an abstract socket: no name in /dev/shm to remove.
c=$prefix-chan
start p_chan "$CHANUSER" produce "$c"
# shellcheck disable=SC2154 # $p_chan is set by start() through eval
if ready "$p_chan" "channel producer"; then
	expect 1 "rm of a live channel's name" -- "$MVSHM" rm "$c"
	one_line_error "no such segment; a memview channel of that name is live" \
		"rm of a live channel's name"
	expect 1 "rm --force of a live channel's name" -- "$MVSHM" rm --force "$c"
	one_line_error "a memview channel of that name is live" "rm --force of a live channel's name"
	expect 0 "the channel after rm: a consumer joins and receives" -- "$CHANUSER" consume "$c"
	check_eq "the channel after rm: the message" "$(cat "$tmp/out")" hello
	kill -TERM "$p_chan"
	wait "$p_chan"
	check_eq "the channel's producer after rm: exit status" "$?" 0
fi
expect 1 "rm of a name no channel has" -- "$MVSHM" rm "$c"
one_line_error "no such segment" "rm of a name no channel has"
checks=$((checks + 1))
grep -q channel "$tmp/err" && fail "rm of a name no channel has mentions a channel"

# ---------------------------------------------------------------- gc's test hook: tests only
# MVSHM_GC_TEST_PAUSE names a FIFO nobody writes. The installed mvshm must not wait on it (nor
# open it); the test build waits there, between its listing and its re-checks, until killed.
pidns_visible "$MVSHM"
mkfifo "$tmp/pause"
expect 0 "gc with MVSHM_GC_TEST_PAUSE set: the installed mvshm has no hook" -- \
	env MVSHM_GC_TEST_PAUSE="$tmp/pause" timeout -k 1 10 "$MVSHM" gc ${VISIBLE:+"$VISIBLE"} \
	--yes "$prefix-nothing-*"
check_eq "gc with MVSHM_GC_TEST_PAUSE set: output" "$(cat "$tmp/out")" \
	"0 removed (0B), 0 skipped"
expect 124 "gc of the test build waits on MVSHM_GC_TEST_PAUSE" -- \
	env MVSHM_GC_TEST_PAUSE="$tmp/pause" timeout 2 "$MVSHM_HOOKS" gc ${VISIBLE:+"$VISIBLE"} \
	--yes "$prefix-nothing-*"

# ---------------------------------------------------------------- memfd and seal
expect 1 "seal of a named segment" -- "$MVSHM" seal "$s" grow
one_line_error "only memfd segments can be sealed" "seal of a named segment"
# shellcheck disable=SC2016 # $MVSHM_FD is for the inner shell
expect 0 "create --memfd -- seal" -- "$MVSHM" create "${s#/}-memfd" --memfd --size 4K \
	--seal grow -- sh -c '
	"$0" seal /dev/fd/$MVSHM_FD future-write &&
	"$0" info --json /dev/fd/$MVSHM_FD' "$MVSHM"
checks=$((checks + 1))
grep -q '"flags": \["memfd", "seal-shrink", "seal-grow", "seal-future-write"\]' "$tmp/out" ||
	fail "create --memfd: seals not reported: $(grep flags "$tmp/out")"

# ---------------------------------------------------------------- sizes no memory can hold
# Twice the machine's RAM and swap: refused before anything is made, in one line, where the
# reservation would have run the OOM killer (a memfd is bounded by nothing else). Under a
# 64 MiB file size limit, so that a build without the check fails here on that limit.
huge=$(awk '/^(MemTotal|SwapTotal):/ { kb += $2 } END { printf "%.0f", kb * 2048 }' /proc/meminfo)
# shellcheck disable=SC2016 # $MVSHM_FD is for the inner shell
expect 1 "create --memfd larger than memory" -- sh -c 'ulimit -f 65536; trap "" XFSZ; exec "$@"' \
	sh "$MVSHM" create "${s#/}-huge" --memfd --size "$huge" -- true
one_line_error "would not fit in memory" "create --memfd larger than memory"
expect 1 "create larger than memory" -- sh -c 'ulimit -f 65536; trap "" XFSZ; exec "$@"' \
	sh "$MVSHM" create "$s-huge" --size "$huge"
one_line_error "would not fit in memory" "create larger than memory"
gone "$s-huge" "create larger than memory"
expect 0 "create to grow" -- "$MVSHM" create "$s-grow" --size 64
expect 1 "resize larger than memory" -- sh -c 'ulimit -f 65536; trap "" XFSZ; exec "$@"' \
	sh "$MVSHM" resize "$s-grow" "$huge"
one_line_error "would not fit in memory" "resize larger than memory"
expect 0 "info after the refused resize" -- "$MVSHM" info "$s-grow" --json
check_eq "size after the refused resize" "$(json_get "$tmp/out" data_size)" 64
expect 0 "rm grow" -- "$MVSHM" rm "$s-grow"

# ---------------------------------------------------------------- what is not a segment, said so
mkdir "/dev/shm/${s#/}-dir"
for cmd in "resize $s-dir 8" "rm $s-dir" "hold $s-dir -- true"; do
	# shellcheck disable=SC2086 # the command's words
	expect 1 "$cmd of a directory" -- "$MVSHM" $cmd
	one_line_error "not a regular file (a directory)" "$cmd of a directory"
done
rmdir "/dev/shm/${s#/}-dir"
# shellcheck disable=SC2016 # $MVSHM_FD is for the inner shell
expect 1 "growing a memfd sealed against it" -- "$MVSHM" create "${s#/}-sg" --memfd --size 64 \
	--seal grow -- sh -c 'exec "$0" resize /dev/fd/$MVSHM_FD 16K' "$MVSHM"
one_line_error "sealed against growing" "growing a memfd sealed against it"

# ---------------------------------------------------------------- mvdump of a part of a raw object
# --raw types the whole object by -f; --offset and --length still take a part of it (they
# were ignored once, and the whole object printed).
printf 'ABCDEFGH' >"/dev/shm/${s#/}-raw"
expect 0 "mvdump --shm --raw --offset --length" -- "$MVDUMP" --shm "$s-raw" --raw --offset 2 \
	--length 3
check_eq "mvdump --raw --offset 2 --length 3" "$(cat "$tmp/out")" "[67, 68, 69]"
expect 0 "mvdump --shm --raw -f --length" -- "$MVDUMP" --shm "$s-raw" --raw -f '<H' --length 4
check_eq "mvdump --raw -f <H --length 4" "$(cat "$tmp/out")" "[16961, 17475]"
rm -f "/dev/shm/${s#/}-raw"

# ---------------------------------------------------------------- usage errors and bad names
expect 2 "no command" -- "$MVSHM"
expect 2 "unknown command" -- "$MVSHM" frobnicate
expect 2 "unknown option" -- "$MVSHM" info "$s" --no-such-option
expect 2 "create without --size" -- "$MVSHM" create "$s-x"
expect 2 "bad size" -- "$MVSHM" create "$s-x" --size 12Q
expect 2 "bad format" -- "$MVSHM" create "$s-x" --size 8 --format Z
expect 2 "option not for the command" -- "$MVSHM" rm "$s" --json
expect 2 "missing operand" -- "$MVSHM" resize "$s"
expect 2 "extra operand" -- "$MVSHM" info "$s" extra
expect 2 "bad seal" -- "$MVSHM" seal /dev/fd/0 sideways
expect 2 "create --memfd without a command" -- "$MVSHM" create m --memfd --size 8
expect 2 "gc of a name without its slash" -- "$MVSHM" gc "${s#/}" --dry-run
expect 2 "gc of a path outside /dev/shm" -- "$MVSHM" gc /tmp/x/victim --dry-run
expect 0 "--help" -- "$MVSHM" --help
checks=$((checks + 1))
grep -q '^Usage:' "$tmp/out" || fail "--help prints no usage"
expect 0 "--version" -- "$MVSHM" --version

# --help agrees with the man page and the completion: every option and command in all three.
"$MVSHM" --help >"$tmp/help"
checks=$((checks + 1))
grep -q '.\{81\}' "$tmp/help" && fail "--help has lines wider than 80 columns"
checks=$((checks + 1))
grep -q '^For more details see mvshm(1)\.$' "$tmp/help" || fail "--help: no man page pointer"
# shellcheck disable=SC2013 # option names are single words
for opt in $(grep -o -- '--[a-z][a-z-]*' "$tmp/help" | sort -u); do
	checks=$((checks + 1))
	# In the man page every '-' may be escaped: \-\-dry\-run.
	manpat="\\\\-\\\\-$(printf '%s' "${opt#--}" | sed 's/-/\\\\*-/g')"
	if ! grep -q -- "$manpat" "$top_srcdir/man/mvshm.1"; then
		fail "$opt is in --help but not in man/mvshm.1"
	elif ! grep -q -- "$opt" "$top_srcdir/bash-completion/mvshm"; then
		fail "$opt is in --help but not in bash-completion/mvshm"
	fi
done
for cmd in create info resize seal rm load save hold gc; do
	checks=$((checks + 1))
	grep -q "^ $cmd " "$tmp/help" || fail "command $cmd is not in --help"
	checks=$((checks + 1))
	grep -q "^\.B $cmd\$" "$top_srcdir/man/mvshm.1" || fail "command $cmd is not in man/mvshm.1"
	checks=$((checks + 1))
	grep -q "$cmd" "$top_srcdir/bash-completion/mvshm" ||
		fail "command $cmd is not in bash-completion/mvshm"
done

expect 1 "name without a slash" -- "$MVSHM" info mvtest-no-slash
one_line_error "must start with '/'" "name without a slash"
expect 1 "name of a missing segment" -- "$MVSHM" info "$s-missing"
one_line_error "no such segment" "name of a missing segment"
checks=$((checks + 1))
[ -e "/dev/shm/${s#/}-x" ] && fail "a refused create left a segment"

# ---------------------------------------------------------------- CPython interoperability
if [ -z "$PY" ]; then
	echo "note: no working PYTHON313: CPython interoperability checks skipped"
elif ! "$PY" -c 'from multiprocessing import shared_memory' >/dev/null 2>&1; then
	echo "note: $PY has no multiprocessing.shared_memory: CPython checks skipped"
else
	# CPython attaches to a memview segment and writes doubles at the data offset.
	c=$prefix-py
	expect 0 "create for CPython" -- "$MVSHM" create "$c" --size 64 --format d
	expect 0 "info --json for CPython" -- "$MVSHM" info "$c" --json
	off=$(json_get "$tmp/out" data_offset)
	expect 0 "CPython writes into a memview segment" -- "$PY" -c 'import struct, sys
from multiprocessing import shared_memory
shm = shared_memory.SharedMemory(name=sys.argv[1], track=False)
struct.pack_into("8d", shm.buf, int(sys.argv[2]), 0.1, -0.0, 1.5, 1e-05, 2.0, 1e16, -2.5, 3.0)
shm.close()
print([0.1, -0.0, 1.5, 1e-05, 2.0, 1e16, -2.5, 3.0])' "${c#/}" "$off"
	cp "$tmp/out" "$tmp/expect-list"
	expect 0 "mvdump --shm of what CPython wrote" -- "$MVDUMP" --shm "$c"
	checks=$((checks + 1))
	cmp -s "$tmp/out" "$tmp/expect-list" ||
		fail "memview shows '$(cat "$tmp/out")', CPython wrote '$(cat "$tmp/expect-list")'"

	# The header is what mv_segment(3) documents: magic, offsets, and the checksum, which is
	# CPython's hash(bytes) under PYTHONHASHSEED=0.
	if [ "$(getconf LONG_BIT)" = 64 ]; then
		expect 0 "CPython checks the documented header layout" -- \
			env PYTHONHASHSEED=0 "$PY" -c 'import struct, sys
from multiprocessing import shared_memory
shm = shared_memory.SharedMemory(name=sys.argv[1], track=False)
h = bytes(shm.buf[:4096])
shm.close()
assert h[:8] == b"MVSEGMT\0", h[:8]
version, hbytes, off, size, gen, flags, ndim = struct.unpack_from("=IIQQQIi", h, 8)
assert (version, off, size, gen, ndim) == (2, 4096, 64, 1, -1), (version, off, size, gen, ndim)
assert h[48:64].split(b"\0")[0] == b"d", h[48:64]
checksum, seq = struct.unpack_from("=II", h, 600)
assert hash(h[:600]) & 0xffffffff == checksum, (hex(hash(h[:600]) & 0xffffffff), hex(checksum))
assert seq % 2 == 0, seq' "${c#/}"
	fi
	expect 0 "rm of the CPython-written segment" -- "$MVSHM" rm "$c"

	# And back: a segment CPython created (no memview header) read with --raw.
	r=$prefix-raw
	expect 0 "CPython creates a segment" -- "$PY" -c 'import sys
from multiprocessing import shared_memory
shm = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=48, track=False)
data = bytes((i * 7) % 256 for i in range(48))
shm.buf[:48] = data
shm.close()
open(sys.argv[2], "wb").write(data)' "${r#/}" "$tmp/raw-expect"
	expect 0 "info --raw of a CPython segment" -- "$MVSHM" info "$r" --raw --json
	check_eq "raw: data_offset" "$(json_get "$tmp/out" data_offset)" 0
	check_eq "raw: data_size" "$(json_get "$tmp/out" data_size)" 48
	check_eq "raw: flags" "$(json_get "$tmp/out" flags)" '["raw"]'
	expect 0 "info --raw --format d" -- "$MVSHM" info "$r" --raw --format d --json
	check_eq "raw d: shape" "$(json_get "$tmp/out" shape)" "[6]"
	checks=$((checks + 1))
	"$MVSHM" save "$r" - --raw | cmp -s - "$tmp/raw-expect" ||
		fail "save --raw differs from what CPython wrote"
	expect 1 "info without --raw of a CPython segment" -- "$MVSHM" info "$r"
	one_line_error "raw" "info without --raw of a CPython segment"
	expect 0 "hold --raw -- true" -- "$MVSHM" hold --raw "$r" -- true
	expect 0 "rm of the CPython segment" -- "$MVSHM" rm "$r"
fi

finish
