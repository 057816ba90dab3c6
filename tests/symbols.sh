#!/bin/sh
# tests/symbols.sh - what the shared library exports is what the headers and man pages promise:
#   1. `nm -D --defined-only` lists only mv_* symbols (and the version nodes of
#      lib/libmemview.sym, e.g. MEMVIEW_0.1);
#   2. every function declared with MV_EXPORT in include/ is exported (none declared but not built);
#   3. every exported symbol is declared in a public header (nothing exported by accident);
#   4. every exported function has a man page in man/: its own page or .so alias page, whose
#      target exists and documents it, or a family page that names it in its NAME section;
#   5. lib/libmemview.sym names every exported function explicitly (no glob), and nothing else;
#   6. every .so alias page in man/ is for an exported function or a public macro or inline
#      function of the headers, or a call of libmemview-bridge (no stale alias of a renamed
#      function);
#   7. in a tree with debian/ (a git checkout: the dist tarball has none), the Debian symbols file
#      is what debian/gen-symbols.sh makes of lib/libmemview.sym, and is named, as the library
#      package in debian/control is, after the soname (libmemview.so.1: libmemview1);
#   8. libmemview-bridge, when built (UCX), exports exactly the names of its version script,
#      lib/libmemview-bridge.sym, each with a man page.
#
# Environment (set by automake's AM_TESTS_ENVIRONMENT): top_srcdir, top_builddir.
# Exit: 0 pass, 1 fail (listing every problem), 77 skip (no shared library, no nm).

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-.}
so=$top_builddir/lib/.libs/libmemview.so
man=$top_srcdir/man
NM=${NM:-nm}
LC_ALL=C
export LC_ALL

if [ ! -f "$so" ]; then
	echo "SKIP: $so not built (static-only build?)"
	exit 77
fi
if ! command -v "$NM" >/dev/null 2>&1; then
	echo "SKIP: no $NM to list the library's symbols"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mv-symbols.XXXXXX") || {
	echo "SKIP: cannot create a temporary directory"
	exit 77
}
trap 'rm -rf "$tmp"' EXIT

if ! "$NM" -D --defined-only "$so" >"$tmp/nm" 2>"$tmp/nm.err"; then
	echo "FAIL: $NM -D --defined-only $so:"
	cat "$tmp/nm.err"
	exit 1
fi

# "ADDRESS TYPE NAME[@@VERSION]" -> "TYPE NAME"; newer nm appends the version to the name.
awk 'NF >= 2 { name = $NF; sub(/@.*/, "", name); print $(NF - 1), name }' "$tmp/nm" |
	sort -u >"$tmp/syms"
cut -d' ' -f2 "$tmp/syms" | sort -u >"$tmp/all"
# Functions: text (T), weak (W) and indirect (i) symbols.
awk '$1 == "T" || $1 == "W" || $1 == "i" { print $2 }' "$tmp/syms" | sort -u >"$tmp/funcs"

# Version nodes: "MEMVIEW_0.1 {" lines of the symbol map.
nodes=$(sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_.]*\)[[:space:]]*{.*/\1/p' \
	"$top_srcdir/lib/libmemview.sym" 2>/dev/null)
[ -n "$nodes" ] || nodes=MEMVIEW_0.1
printf '%s\n' $nodes | sort -u >"$tmp/nodes"

# Everything declared with MV_EXPORT: the first mv_NAME( on each declaration line.
for h in "$top_srcdir/include/memview.h" "$top_srcdir"/include/memview/*.h; do
	awk '/MV_EXPORT/ && !/#[[:space:]]*define/ {
		if (match($0, /mv_[A-Za-z0-9_]+[ \t]*\(/)) {
			s = substr($0, RSTART, RLENGTH); sub(/[ \t]*\($/, "", s); print s
		}
	}' "$h"
done | sort -u >"$tmp/declared"

status=0
fail()
{
	echo "FAIL: $1"
	sed 's/^/    /' "$2"
	status=1
}

echo "$(wc -l <"$tmp/all") symbols exported, $(wc -l <"$tmp/funcs") functions," \
	"$(wc -l <"$tmp/declared") declared with MV_EXPORT"

if [ ! -s "$tmp/declared" ]; then
	echo "FAIL: no MV_EXPORT declarations found under $top_srcdir/include"
	status=1
fi

# 1. Only mv_* names and version nodes.
grep -v '^mv_' "$tmp/all" | comm -23 - "$tmp/nodes" >"$tmp/foreign"
[ -s "$tmp/foreign" ] && fail "exported symbols not named mv_*:" "$tmp/foreign"

# 2. Declared but not exported (not built, or hidden by the version script).
comm -23 "$tmp/declared" "$tmp/all" >"$tmp/missing"
[ -s "$tmp/missing" ] && fail "declared with MV_EXPORT but not exported by $so:" "$tmp/missing"

# 3. Exported but not declared in a public header.
grep '^mv_' "$tmp/all" | comm -23 - "$tmp/declared" >"$tmp/undeclared"
[ -s "$tmp/undeclared" ] &&
	fail "exported but not declared with MV_EXPORT in include/:" "$tmp/undeclared"

# 4. A man page for every exported function.
# Pages that are not .so aliases, with the names listed in their NAME section.
: >"$tmp/named"
for p in "$man"/*.3; do
	[ -f "$p" ] || continue
	grep -q '^\.so ' "$p" && continue
	sed -n '/^\.SH NAME/,/^\.SH/p' "$p" | sed '1d;$d' | tr ',' '\n' |
		sed 's/\\-.*//; s/\\//g; s/^[[:space:]]*//; s/[[:space:]]*$//' |
		grep -v '^$' | sed "s|\$| $(basename "$p")|" >>"$tmp/named"
done

: >"$tmp/undocumented"
while read -r f; do
	page=$man/$f.3
	if [ -f "$page" ]; then
		target=$(sed -n 's/^\.so[[:space:]]*man3\/\(.*\)$/\1/p' "$page" | head -n 1)
		if [ -n "$target" ]; then
			if [ ! -f "$man/$target" ]; then
				echo "$f: man/$f.3 points at man3/$target, which does not exist" \
					>>"$tmp/undocumented"
			elif ! grep -qw -- "$f" "$man/$target"; then
				echo "$f: man/$f.3 points at man3/$target, which does not mention $f" \
					>>"$tmp/undocumented"
			fi
		fi
		continue
	fi
	if ! awk -v f="$f" '$1 == f { found = 1 } END { exit !found }' "$tmp/named"; then
		echo "$f: no man/$f.3 and no page names it in its NAME section" \
			>>"$tmp/undocumented"
	fi
done <"$tmp/funcs"
[ -s "$tmp/undocumented" ] && fail "exported functions without a man page:" "$tmp/undocumented"

# 5. The version script lists names, not patterns, and exactly the declared functions.
sed 's|/\*.*\*/||; /^[[:space:]]*\*/d; /^[[:space:]]*\/\*/d' "$top_srcdir/lib/libmemview.sym" |
	sed -n 's/^[[:space:]]*\([A-Za-z0-9_*?]*\);[[:space:]]*$/\1/p' | grep -v '^\*$' |
	sort -u >"$tmp/listed"
grep '[*?]' "$tmp/listed" >"$tmp/globs"
[ -s "$tmp/globs" ] && fail "lib/libmemview.sym exports by pattern, not by name:" "$tmp/globs"
comm -3 "$tmp/listed" "$tmp/declared" >"$tmp/listdiff"
[ -s "$tmp/listdiff" ] &&
	fail "lib/libmemview.sym and the MV_EXPORT declarations differ (left: only listed):" \
		"$tmp/listdiff"

# 6. Alias pages only for names that exist: exported functions, or macros and inline functions
# that a public header defines.
: >"$tmp/stale"
for p in "$man"/*.3; do
	grep -q '^\.so ' "$p" || continue
	f=$(basename "$p" .3)
	grep -qx -- "$f" "$tmp/funcs" && continue
	grep -q "^[[:space:]]*$f;" "$top_srcdir/lib/libmemview-bridge.sym" 2>/dev/null && continue
	grep -qE "(#[[:space:]]*define[[:space:]]+$f\b|[[:space:]]$f\()" \
		"$top_srcdir/include/memview.h" "$top_srcdir"/include/memview/*.h && continue
	echo "man/$f.3: no exported function, macro or inline function of that name" >>"$tmp/stale"
done
[ -s "$tmp/stale" ] && fail "alias pages for names that do not exist:" "$tmp/stale"

# 7. The Debian symbols file follows the version script and the soname.
if [ -f "$top_srcdir/debian/gen-symbols.sh" ]; then
	if ! top_srcdir=$top_srcdir sh "$top_srcdir/debian/gen-symbols.sh" >"$tmp/debsyms" \
		2>"$tmp/debsyms.err"; then
		fail "debian/gen-symbols.sh failed:" "$tmp/debsyms.err"
	else
		pkg=$(sed -n '1s/^[^ ]* \([^ ]*\) .*/\1/p' "$tmp/debsyms")
		if [ ! -f "$top_srcdir/debian/$pkg.symbols" ]; then
			echo "no debian/$pkg.symbols (the soname's package)" >"$tmp/debdiff"
			fail "debian/: the symbols file is not named after the soname:" "$tmp/debdiff"
		elif ! diff -u "$top_srcdir/debian/$pkg.symbols" "$tmp/debsyms" >"$tmp/debdiff"; then
			msg="debian/$pkg.symbols is not what debian/gen-symbols.sh makes of"
			fail "$msg lib/libmemview.sym (sh debian/gen-symbols.sh >debian/$pkg.symbols):" \
				"$tmp/debdiff"
		fi
		if ! grep -qx "Package: $pkg" "$top_srcdir/debian/control"; then
			echo "Package: $pkg" >"$tmp/debpkg"
			fail "debian/control has no package named after the soname:" "$tmp/debpkg"
		fi
	fi
fi

# 8. The bridge library: its script's names, exported, documented.
bso=$top_builddir/lib/.libs/libmemview-bridge.so
if [ -f "$bso" ]; then
	sed -n 's/^[[:space:]]*\(mv_[A-Za-z0-9_]*\);[[:space:]]*$/\1/p' \
		"$top_srcdir/lib/libmemview-bridge.sym" | sort -u >"$tmp/blisted"
	"$NM" -D --defined-only "$bso" | awk 'NF >= 2 { n = $NF; sub(/@.*/, "", n); print n }' |
		grep '^mv_' | sort -u >"$tmp/bexported"
	comm -3 "$tmp/blisted" "$tmp/bexported" >"$tmp/bdiff"
	[ -s "$tmp/bdiff" ] && fail "libmemview-bridge's exports and its version script differ:" \
		"$tmp/bdiff"
	while read -r f; do
		[ -f "$man/$f.3" ] || echo "$f: no man/$f.3"
	done <"$tmp/blisted" >"$tmp/bundoc"
	[ -s "$tmp/bundoc" ] && fail "libmemview-bridge calls without a man page:" "$tmp/bundoc"
fi

if [ $status -eq 0 ]; then
	echo "PASS: only mv_* exported, every MV_EXPORT declaration built, every function documented"
fi
exit $status
