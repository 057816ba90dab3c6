#!/bin/sh
# tools/demo.sh BUILDDIR - a first look at memview through mvdump (`make demo` runs it).
#
# Writes a small file of doubles and ints and shows it several ways, each command printed before
# its output. Everything mvdump prints is what Python's memoryview prints for the same bytes.
#
# SPDX-License-Identifier: MIT

set -eu

builddir=${1:-.}
mvdump=$builddir/tools/mvdump
if [ ! -x "$mvdump" ]; then
	echo "demo: $mvdump is not built; run 'make' first" >&2
	exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/memview-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' HUP INT TERM

# Four little-endian doubles (1.5, -0.0, 0.1, nan) followed by four int32 (1, -2, 300, 65536).
# Octal escapes, because not every printf knows \x.
printf '\000\000\000\000\000\000\370\077\000\000\000\000\000\000\000\200' >"$dir/data.bin"
printf '\232\231\231\231\231\231\271\077\000\000\000\000\000\000\370\177' >>"$dir/data.bin"
printf '\001\000\000\000\376\377\377\377\054\001\000\000\000\000\001\000' >>"$dir/data.bin"

# show DESCRIPTION ARGS...: print the command (as a user would type it), then run it.
show()
{
	what=$1
	shift
	printf '\n# %s\n$ mvdump' "$what"
	for a; do
		case $a in
		"$dir"/*) printf ' %s' "${a#"$dir"/}" ;;
		*[!A-Za-z0-9_.,:=/-]*) printf " '%s'" "$a" ;;
		*) printf ' %s' "$a" ;;
		esac
	done
	printf '\n'
	# Errors inline, where the reader expects them.
	"$mvdump" "$@" 2>&1
}

echo "memview demo: one 48-byte file, seen as Python's memoryview would see it."
show "the raw bytes, as memoryview(data).tolist()" "$dir/data.bin"
show "the first 32 bytes as doubles: m.cast('d')" --length 32 -f d "$dir/data.bin"
show "the last 16 bytes as int32 in a 2x2 shape: cast('i', [2, 2])" \
	--offset 32 -f i --shape 2,2 "$dir/data.bin"
show "every other int32, backwards: cast('i')[::-2]" --offset 32 -f i --slice ::-2 "$dir/data.bin"
show "the doubles as hex, ':' every 8 bytes: m.hex(':', 8)" --length 32 --hex=:,8 "$dir/data.bin"
show "the ints in reverse order, their bytes as xxd shows them" \
	--offset 32 -f i --slice ::-1 --xxd "$dir/data.bin"
show "a size that is not a whole number of doubles: CPython's error, exit status 1" \
	--length 20 -f d "$dir/data.bin" || true
