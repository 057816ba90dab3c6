#!/bin/sh
# tests/tools/mvdump.sh - golden-output tests of mvdump(1).
#
# Run by automake with $top_srcdir and $top_builddir (and $PYTHON313 when configure found it).
# Exits 0 when every check passes, 1 when one fails, 77 ("SKIP: reason") when it cannot run.
#
# The expected outputs in tests/tools/golden/ come from CPython, never from mvdump: each case
# below is run through a small Python oracle that does what the mvdump command line describes -
# memoryview(data)[OFFSET:OFFSET+LENGTH].cast(FORMAT, SHAPE)[SLICE] and then tolist()/hex() -
# and --xxd cases pipe the view's bytes through the real xxd. To regenerate them after adding a
# case:
#     top_srcdir=. PYTHON313=python3.13 sh tests/tools/mvdump.sh --regenerate
# With a working $PYTHON313 the script also compares mvdump with CPython on random files.
#
# Only $TMPDIR is written (one mktemp directory, removed on exit).
#
# SPDX-License-Identifier: MIT

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
MVDUMP=$top_builddir/tools/mvdump
GOLDEN=$top_srcdir/tests/tools/golden
PY=${PYTHON313:-}
. "$top_srcdir/tests/tools/lib.sh"
regenerate=0
[ "${1:-}" = --regenerate ] && regenerate=1

# The golden files hold native little-endian LP64 items (x86-64, aarch64).
if [ "$(printf '\001\000' | od -An -tu2 | tr -d ' ')" != 1 ] || [ "$(getconf LONG_BIT)" != 64 ]
then
	echo "SKIP: golden files assume a little-endian 64-bit host"
	exit 77
fi

# A Python that is really 3.13: the oracle's semantics are CPython 3.13's.
if [ -n "$PY" ] && ! is_python313 "$PY"; then
	echo "note: PYTHON313='$PY' is not a working Python 3.13; no cross-check with CPython"
	PY=
fi
if [ $regenerate = 1 ]; then
	[ -n "$PY" ] || { echo "--regenerate needs PYTHON313" >&2; exit 1; }
	command -v xxd >/dev/null || { echo "--regenerate needs xxd" >&2; exit 1; }
	mkdir -p "$GOLDEN"
else
	need "$MVDUMP"
fi

make_tmp mvdump
in=$tmp/in
mkdir "$in"

# ---------------------------------------------------------------- inputs
# Octal escapes: dash's printf has no \x.
printf '\001\000\002\000' >"$in/h4"
printf '\000\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017' >"$in/seq16"
printf '\001\002\003\004\005' >"$in/odd5"
printf 'A' >"$in/one"
: >"$in/empty"
printf '\000\001\002\377' >"$in/bools"
# 1.5 -0.0 nan inf 0.1 1e-05 1e+16 -2.5e-300 5e-324 123456789.125 as little-endian doubles
printf '\000\000\000\000\000\000\370\077\000\000\000\000\000\000\000\200' >"$in/doubles"
printf '\000\000\000\000\000\000\370\177\000\000\000\000\000\000\360\177' >>"$in/doubles"
printf '\232\231\231\231\231\231\271\077\361\150\343\210\265\370\344\076' >>"$in/doubles"
printf '\000\200\340\067\171\303\101\103\057\060\267\263\247\311\272\201' >>"$in/doubles"
printf '\001\000\000\000\000\000\000\000\000\000\200\124\064\157\235\101' >>"$in/doubles"
# -1 0 1 2**31-1 -2**31 65536 as int32
printf '\377\377\377\377\000\000\000\000\001\000\000\000\377\377\377\177' >"$in/ints32"
printf '\000\000\000\200\000\000\001\000' >>"$in/ints32"
# 1.0 -2.0 65504 0.1 6e-08 -inf nan -0.0 as binary16
printf '\000\074\000\300\377\173\146\056\001\000\000\374\000\176\000\200' >"$in/halfs"
# 0.1 3.4e38 1e-45 -0.0 as binary32
printf '\315\314\314\075\236\311\177\177\001\000\000\000\000\000\000\200' >"$in/floats32"
# -1 2**63-1 -2**63 as int64
printf '\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\177' >"$in/q64"
printf '\000\000\000\000\000\000\000\200' >>"$in/q64"
# Every character Python's bytes repr treats specially.
printf 'It'\''s "q" \\ \t\177\200\377 ok\r\n' >"$in/text"
printf 'The quick brown fox jumps over the lazy dog' >"$in/text43"
seq 1 400 | head -c 1100 >"$in/seq1100"
yes 2>/dev/null | head -c 65536 >"$in/yes"

# ---------------------------------------------------------------- the CPython oracle
cat >"$tmp/oracle.py" <<'EOF'
"""What mvdump must print, computed by CPython: oracle.py [mvdump options] FILE."""
import struct
import sys

SUFFIX = {"": 1, "B": 1}
for i, u in enumerate("KMGTPE", 1):
    SUFFIX[u] = SUFFIX[u + "iB"] = 1024 ** i
    SUFFIX[u + "B"] = 1000 ** i


def size(s):
    i = len(s)
    while i and not (s[i - 1].isdigit() or (s.startswith("0x") and s[i - 1] in "abcdefABCDEF")):
        i -= 1
    num, suf = s[:i], s[i:]
    suf = suf[:1].upper() + suf[1:]
    return int(num, 0) * SUFFIX[suf]


def parse(argv):
    o = {"format": "B", "shape": None, "slice": None, "offset": 0, "length": None,
         "mode": "list", "sep": None, "bps": 1, "file": None}
    it = iter(argv)
    for a in it:
        if a.startswith("--") and "=" in a:
            name, val = a[2:].split("=", 1)
        elif a in ("-f", "--format", "--shape", "--slice", "--offset", "--length"):
            name, val = a.lstrip("-"), next(it)
        elif a.startswith("--"):
            name, val = a[2:], None
        else:
            o["file"] = a
            continue
        name = {"f": "format"}.get(name, name)
        if name in ("list", "xxd"):
            o["mode"] = name
        elif name == "hex":
            o["mode"] = "hex"
            if val:
                o["sep"] = val[0]
                if val[1:]:
                    o["bps"] = int(val[2:])
        elif name == "shape":
            o["shape"] = [int(x) for x in val.split(",")] if val else []
        elif name == "slice":
            parts = [int(p) if p else None for p in val.split(":")]
            o["slice"] = slice(*parts)
        elif name in ("offset", "length"):
            o[name] = size(val)
        else:
            o[name] = val
    return o


# memview's extension: standard sizes and byte orders, shown through the native code of the
# same size after putting each item in native order.
STD = {"c": 1, "b": 1, "B": 1, "?": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 4, "L": 4,
       "q": 8, "Q": 8, "e": 2, "f": 4, "d": 8}


def cast(m, fmt, shape):
    if fmt[0] in "<>!=":
        code, n = fmt[1:], STD[fmt[1:]]
        b = m.tobytes()
        if len(b) % n:
            raise TypeError("memoryview: length is not a multiple of itemsize")
        if (fmt[0] == "<") != (sys.byteorder == "little") and fmt[0] != "=":
            b = b"".join(b[i:i + n][::-1] for i in range(0, len(b), n))
        m, fmt = memoryview(b), {"l": "i", "L": "I"}.get(code, code)
    return m.cast(fmt) if shape is None else m.cast(fmt, shape)


def run(argv, data):
    """(stdout bytes, stderr text, status) that mvdump must produce."""
    o = parse(argv)
    m = memoryview(data)
    stop = None if o["length"] is None else o["offset"] + o["length"]
    m = m[o["offset"]:stop]
    try:
        m = cast(m, o["format"], o["shape"])
        if o["slice"] is not None:
            m = m[o["slice"]]
    except (TypeError, ValueError, NotImplementedError) as e:
        return b"", "mvdump: %s\n" % e, 1
    if o["mode"] == "xxd":
        return m.tobytes(), "", 0
    if o["mode"] == "hex":
        text = m.hex(o["sep"], o["bps"]) if o["sep"] else m.hex()
    else:
        text = repr(m.tolist())
    return (text + "\n").encode(), "", 0


if __name__ == "__main__":
    opts = parse(sys.argv[1:])
    with open(opts["file"], "rb") as f:
        out, err, status = run(sys.argv[1:], f.read())
    sys.stdout.buffer.write(out)
    sys.stderr.write(err)
    sys.exit(status)
EOF

# ---------------------------------------------------------------- golden cases
# case NAME STATUS INPUT [OPTIONS...]: mvdump OPTIONS on INPUT - file:F (named), pipe:F (piped
# into standard input), redirect:F (standard input is the file), or stream:F (F piped from an
# endless `yes`) - must print golden/NAME.out on stdout, golden/NAME.err (or nothing) on stderr,
# and exit with STATUS.
case_()
{
	name=$1 status=$2 input=$3
	shift 3
	file=$in/${input#*:}
	checks=$((checks + 1))
	if [ $regenerate = 1 ]; then
		mode=list
		for a; do case $a in --xxd) mode=xxd ;; esac; done
		rm -f "$GOLDEN/$name.out" "$GOLDEN/$name.err"
		"$PY" "$tmp/oracle.py" "$@" "$file" >"$tmp/out" 2>"$tmp/err"
		st=$?
		if [ $mode = xxd ] && [ $st = 0 ]; then
			xxd <"$tmp/out" >"$GOLDEN/$name.out"
		else
			cp "$tmp/out" "$GOLDEN/$name.out"
		fi
		[ -s "$tmp/err" ] && cp "$tmp/err" "$GOLDEN/$name.err"
		[ "$st" = "$status" ] || fail "$name: CPython exits $st, the case says $status"
		return
	fi
	case $input in
	file:*) "$MVDUMP" "$@" "$file" >"$tmp/out" 2>"$tmp/err" ;;
	pipe:*) cat "$file" | "$MVDUMP" "$@" >"$tmp/out" 2>"$tmp/err" ;;
	redirect:*) "$MVDUMP" "$@" <"$file" >"$tmp/out" 2>"$tmp/err" ;;
	stream:*) yes 2>/dev/null | "$MVDUMP" "$@" >"$tmp/out" 2>"$tmp/err" ;;
	esac
	st=$?
	experr=$GOLDEN/$name.err
	[ -f "$experr" ] || experr=/dev/null
	if [ "$st" != "$status" ]; then
		fail "$name: mvdump $* exited $st, expected $status"
		sed 's/^/  stderr: /' "$tmp/err"
	elif ! cmp -s "$GOLDEN/$name.out" "$tmp/out"; then
		fail "$name: mvdump $* printed a different stdout"
		diff -u "$GOLDEN/$name.out" "$tmp/out" | head -20
	elif ! cmp -s "$experr" "$tmp/err"; then
		fail "$name: mvdump $* printed a different stderr"
		diff -u "$experr" "$tmp/err" | head -20
	else
		echo "ok $name"
	fi
}

case_ list_stdin_H		0 pipe:h4	-f H
case_ list_default		0 file:seq16
case_ list_redirect_i		0 redirect:ints32 -f i
case_ list_d			0 file:doubles	-f d
case_ list_d_at			0 file:doubles	-f @d
case_ list_f			0 file:floats32 -f f
case_ list_e			0 file:halfs	-f e
case_ list_q			0 file:q64	-f q
case_ list_Q			0 file:q64	-f Q
case_ list_c			0 file:text	-f c
case_ list_bool		0 file:bools	-f '?'
case_ list_b			0 file:bools	-f b
case_ list_empty		0 file:empty
case_ list_empty_d		0 file:empty	-f d
case_ list_explicit		0 file:seq16	--list -f I
case_ list_stream_length	0 stream:yes	--length 6
case_ shape_2x8		0 file:seq16	--shape 2,8
case_ shape_H_2x2x2		0 file:seq16	-f H --shape 2,2,2
case_ shape_0dim		0 file:h4	-f i --shape=
case_ shape_0dim_c		0 file:one	-f c --shape=
case_ shape_d_5x2		0 file:doubles	--format=d --shape 5,2
case_ slice_neg3		0 file:seq16	--slice ::-3
case_ slice_neg_H		0 file:seq16	-f H --slice=-2::-2
case_ slice_neg_arg		0 file:seq16	-f H --slice -1:0:-1
case_ slice_2d			0 file:seq16	--shape 4,4 --slice 3:0:-2
case_ slice_huge_start		0 file:seq16	--slice=-99999999999999999999999:5
case_ slice_huge_neg		0 file:seq16	--slice=-99999999999999999999999::-1
case_ slice_past_end		0 file:seq16	--slice 100:
case_ slice_d			0 file:doubles	-f d --slice 1::3
case_ offset_length		0 file:seq16	--offset 3 --length 8 -f H
case_ offset_only		0 file:seq16	--offset 10
case_ offset_past_end		0 file:seq16	--offset 100
case_ length_past_end		0 file:seq16	--length 1000
case_ offset_suffix		0 file:seq1100	--offset 1K --length 0x10 -f h
case_ offset_kb			0 file:seq1100	--offset 1kB --length 3 -f c
case_ offset_kib_stdin		0 pipe:seq1100	--offset 1KiB --length 2MB -f c
case_ offset_stdin		0 pipe:seq1100	--offset 1000 --length 12 -f c
case_ prefix_be_H		0 file:seq16	-f '>H'
case_ prefix_le_l		0 file:seq16	-f '<l'
case_ prefix_net_d		0 file:doubles	-f '!d' --slice 0:2
case_ prefix_native_e		0 file:halfs	-f =e
case_ hex_plain		0 file:seq16	--hex
case_ hex_colon		0 file:seq16	--hex=:
case_ hex_colon_2		0 file:odd5	--hex=:,2
case_ hex_left		0 file:odd5	--hex=-,-2
case_ hex_comma_sep		0 file:seq16	--hex=,,4
case_ hex_zero_group		0 file:odd5	--hex=:,0
case_ hex_space_slice		0 file:seq16	-f H --slice ::-1 '--hex= '
case_ hex_2d			0 file:seq16	--shape 4,4 --slice ::-2 --hex
case_ hex_empty		0 file:empty	--hex
case_ xxd_text			0 file:text43	--xxd
case_ xxd_reversed		0 file:text43	--slice ::-1 --xxd
case_ xxd_H_reversed		0 file:seq16	-f H --slice ::-1 --xxd
case_ xxd_2d			0 file:seq1100	--shape 100,11 --slice 1::3 --xxd
case_ xxd_empty		0 file:empty	--xxd
case_ err_not_multiple		1 file:odd5	-f H
case_ err_not_multiple_stdin	1 pipe:odd5	-f i
case_ err_product		1 file:seq16	--shape 3,5
case_ err_shape_zero		1 file:seq16	--shape 0,16
case_ err_shape_negative	1 file:seq16	--shape=-1
ones65=1$(printf ',1%.0s' $(seq 64))
case_ err_ndim			1 file:one	--shape "$ones65"
case_ err_ssize_max		1 file:seq16	--shape 4611686018427387904,4
case_ err_0dim_slice		1 file:one	--shape= --slice ::

if [ $regenerate = 1 ]; then
	echo "regenerated $checks golden outputs in $GOLDEN"
	[ $failures = 0 ]
	exit $?
fi

# ---------------------------------------------------------------- the tool's own messages
# msg_case NAME STATUS STDOUT-LINE-1 STDERR-LINE-1 [OPTIONS...]: mvdump on seq16 ("*": anything)
msg_case()
{
	name=$1 status=$2 out1=$3 err1=$4
	shift 4
	checks=$((checks + 1))
	"$MVDUMP" "$@" >"$tmp/out" 2>"$tmp/err" <"$in/seq16"
	st=$?
	got_out=$(head -n 1 "$tmp/out")
	got_err=$(head -n 1 "$tmp/err")
	if [ "$st" != "$status" ]; then
		fail "$name: mvdump $* exited $st, expected $status ($got_err)"
	elif [ "$out1" != "*" ] && [ "$got_out" != "$out1" ]; then
		fail "$name: stdout '$got_out', expected '$out1'"
	elif [ "$err1" != "*" ] && [ "$got_err" != "$err1" ]; then
		fail "$name: stderr '$got_err', expected '$err1'"
	else
		echo "ok $name"
	fi
}

version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h" 2>/dev/null)
[ -n "$version" ] || version=*
[ "$version" = "*" ] || version="mvdump from memview $version"
msg_case version		0 "$version" ""	--version
msg_case version_short	0 "$version" ""	-V
msg_case help		0 ""  ""	--help
msg_case help_short	0 ""  ""	-h
msg_case help_wins	0 ""  ""	-f Z --help
msg_case bad_long_option	2 ""  "mvdump: unrecognized option '--bogus'" --bogus
msg_case bad_short_option	2 ""  "mvdump: invalid option -- 'z'" -z
msg_case missing_argument	2 ""  "mvdump: option requires an argument -- 'f'" -f
msg_case bad_format	2 ""  "*" -f Z
msg_case empty_format	2 ""  "*" -f ''
msg_case two_item_format	2 ""  "*" -f BB
msg_case std_size_n	2 ""  "*" -f '<n'
msg_case step_zero	2 ""  "mvdump: invalid --slice argument: '::0': slice step cannot be zero" \
	--slice ::0
msg_case bad_slice	2 ""  "mvdump: invalid --slice argument: '5' (expected START:STOP:STEP)" \
	--slice 5
msg_case bad_slice_4	2 ""  "*" --slice 1:2:3:4
msg_case bad_slice_num	2 ""  "*" --slice 1x:2
msg_case bad_shape	2 ""  "mvdump: invalid --shape argument: '2,,8' (expected D0,D1,...)" \
	--shape 2,,8
msg_case bad_shape_end	2 ""  "*" --shape 2,
msg_case bad_offset	2 ""  "mvdump: invalid --offset argument: '1X'" --offset 1X
msg_case negative_length	2 ""  "mvdump: invalid --length argument: '-1'" --length -1
msg_case huge_offset	2 ""  "mvdump: --offset argument is too large: '99999999999999999999'" \
	--offset 99999999999999999999
msg_case huge_suffix	2 ""  "mvdump: --length argument is too large: '9000000000E'" \
	--length 9000000000E
msg_case hex_sep_long	2 ""  "mvdump: invalid --hex argument 'ab': sep must be length 1." --hex=ab
msg_case hex_sep_ascii	2 ""  "mvdump: invalid --hex argument 'é': sep must be ASCII." --hex=é
msg_case hex_bad_group	2 ""  "*" --hex=:,x
msg_case exclusive	2 ""  "mvdump: --list, --hex and --xxd are mutually exclusive" --list --xxd
msg_case two_files	2 ""  "mvdump: unexpected argument: 'b'" a b
msg_case missing_file	1 ""  "mvdump: cannot open /nonexistent/x: No such file or directory" \
	/nonexistent/x
msg_case directory	1 ""  "mvdump: cannot read $in: Is a directory" "$in"
msg_case dev_null		0 "[]" "" /dev/null
msg_case stdin_dash	0 "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]" "" -
msg_case options_after	0 "[256, 770, 1284, 1798, 2312, 2826, 3340, 3854]" "" - -f H
msg_case double_dash	1 ""  "mvdump: cannot open --x: No such file or directory" -- --x
msg_case shm_regular_file	1 ""  "*" --shm "$in/seq16"
checks=$((checks + 1))
grep -q "^mvdump: $in/seq16: .*not a memfd" "$tmp/err" ||
	fail "shm_regular_file: the path is not named: $(head -n 1 "$tmp/err")"

# --help: util-linux layout, and every option the man page and the completion know about.
"$MVDUMP" --help >"$tmp/help"
checks=$((checks + 1))
if [ "$(sed -n 2,3p "$tmp/help")" != "Usage:
 mvdump [options] [FILE | -]" ] || ! grep -q '^For more details see mvdump(1)\.$' "$tmp/help"; then
	fail "help_layout: --help is not in the util-linux layout"
else
	echo "ok help_layout"
fi
for opt in $(grep -o -- '--[a-z][a-z-]*' "$tmp/help" | sort -u); do
	checks=$((checks + 1))
	if ! grep -q -- "\\\\-\\\\-${opt#--}" "$top_srcdir/man/mvdump.1"; then
		fail "help_man: $opt is in --help but not in man/mvdump.1"
	elif ! grep -q -- "$opt" "$top_srcdir/bash-completion/mvdump"; then
		fail "help_completion: $opt is in --help but not in bash-completion/mvdump"
	else
		echo "ok help_agrees $opt"
	fi
done
checks=$((checks + 1))
if grep -q '.\{81\}' "$tmp/help"; then
	fail "help_width: --help has lines wider than 80 columns"
else
	echo "ok help_width"
fi

# Standard input that is a regular file is shown from its current position.
checks=$((checks + 1))
{ dd bs=1 skip=3 count=0 2>/dev/null; "$MVDUMP" >"$tmp/out" 2>&1; } <"$in/seq16"
"$MVDUMP" --offset 3 "$in/seq16" >"$tmp/exp"
if cmp -s "$tmp/exp" "$tmp/out"; then
	echo "ok stdin_position"
else
	fail "stdin_position: $(cat "$tmp/out")"
fi

# ---------------------------------------------------------------- --xxd against the real xxd
if command -v xxd >/dev/null 2>&1; then
	for f in text43 seq16 one empty seq1100 text doubles; do
		checks=$((checks + 1))
		xxd "$in/$f" >"$tmp/exp"
		"$MVDUMP" --xxd "$in/$f" >"$tmp/out" 2>&1
		if cmp -s "$tmp/exp" "$tmp/out"; then
			echo "ok xxd_real $f"
		else
			fail "xxd_real $f"
			diff -u "$tmp/exp" "$tmp/out" | head -10
		fi
	done
	checks=$((checks + 1))
	tail -c +6 "$in/seq1100" | head -c 21 | xxd >"$tmp/exp"
	"$MVDUMP" --xxd --offset 5 --length 21 "$in/seq1100" >"$tmp/out" 2>&1
	if cmp -s "$tmp/exp" "$tmp/out"; then
		echo "ok xxd_real_offset"
	else
		fail "xxd_real_offset"
		diff -u "$tmp/exp" "$tmp/out" | head -10
	fi
else
	echo "note: no xxd; --xxd is checked against the golden files only"
fi

# ---------------------------------------------------------------- random files against CPython
if [ -n "$PY" ]; then
	checks=$((checks + 1))
	if "$PY" - "$MVDUMP" "$tmp" "${MVDUMP_SEED:-}" <<'EOF'
import os
import random
import shutil
import subprocess
import sys

sys.path.insert(0, sys.argv[2])
import oracle

mvdump, tmp, seed = sys.argv[1], sys.argv[2], sys.argv[3]
seed = int(seed) if seed else random.randrange(2**32)
rng = random.Random(seed)
CODES = "cbB?hHiIlLqQnNfdeP"
xxd = shutil.which("xxd")
bad = 0
for run in range(200):
    # Random bytes, but with float specials (NaN payloads, -0.0, infinities) common.
    n = rng.choice([0, 1, 7, 8, 24, 48, 96, 240, 1000])
    data = bytearray(rng.randbytes(n))
    for i in range(0, n - 8, 8):
        if rng.random() < 0.2:
            data[i:i + 8] = rng.choice([b"\0\0\0\0\0\0\xf8\x7f", b"\0\0\0\0\0\0\xf0\xff",
                                        b"\0\0\0\0\0\0\0\x80", b"\0\0\xc0\x7f\0\0\x80\xff"])
    path = os.path.join(tmp, "random.bin")
    with open(path, "wb") as f:
        f.write(data)
    code = rng.choice(CODES)
    args = ["-f", rng.choice(["", "@"]) + code]
    size = memoryview(b"").cast(code).itemsize
    off, stop = 0, None
    if rng.random() < 0.5:
        off = rng.randrange(0, 9)
        args += ["--offset", str(off)]
    if rng.random() < 0.5:
        # Mostly a length that fits the item size, sometimes one that does not.
        length = rng.randrange(0, n + 2)
        if rng.random() < 0.85:
            length -= length % size
        stop = off + length
        args += ["--length", str(length)]
    eff = len(data[off:stop])
    if eff % size and rng.random() < 0.85:
        args += ["--length", str(eff - eff % size)]
        eff -= eff % size
    items = eff // size
    if items == 1 and rng.random() < 0.5:
        args += ["--shape="]
    elif rng.random() < 0.4 and items:
        dims = []
        rest = items
        for p in (2, 3, 5, 2, 4):
            if rest % p == 0 and rng.random() < 0.6:
                dims.append(p)
                rest //= p
        dims.append(rest)
        rng.shuffle(dims)
        args += ["--shape", ",".join(map(str, dims))]
    if rng.random() < 0.5:
        parts = [rng.choice(["", str(rng.randrange(-12, 12))]) for _ in range(2)]
        step = rng.choice(["", "1", "2", "-1", "-2", "-5", "7"])
        args += ["--slice=" + ":".join(parts + ([step] if step else []))]
    if rng.random() < 0.3:
        args += [rng.choice(["--hex", "--hex=:", "--hex=-,3", "--hex= ,-2", "--hex=_,0"])]
    elif xxd and rng.random() < 0.1:
        args += ["--xxd"]
    exp_out, exp_err, exp_status = oracle.run(args, bytes(data))
    if "--xxd" in args and exp_status == 0:
        exp_out = subprocess.run([xxd], input=exp_out, capture_output=True).stdout
    r = subprocess.run([mvdump] + args + [path], capture_output=True)
    if (r.stdout, r.stderr.decode(errors="replace"), r.returncode) != (exp_out, exp_err,
                                                                       exp_status):
        bad += 1
        if bad <= 10:
            print("FAIL: random %d (seed %d): mvdump %s on %s" % (run, seed, " ".join(args),
                                                                 bytes(data)[:64].hex()))
            print("  CPython: %r %r %d" % (exp_out[:300], exp_err, exp_status))
            print("  mvdump:  %r %r %d" % (r.stdout[:300], r.stderr, r.returncode))
print("%s random_cpython: %d of 200 differ (MVDUMP_SEED=%d)" % ("FAIL:" if bad else "ok", bad,
                                                                seed))
sys.exit(1 if bad else 0)
EOF
	then :; else failures=$((failures + 1)); fi
else
	echo "note: no Python 3.13; no cross-check with CPython on random files"
fi

finish
