#!/bin/sh
# debian/gen-symbols.sh - write debian/libmemviewN.symbols (on standard output) from the version
# script lib/libmemview.sym, which lists every exported symbol by name in its version node, and
# configure.ac's -version-info, which gives the soname. Run from the top of the tree:
#
#     sh debian/gen-symbols.sh >debian/libmemview1.symbols
#
# tests/symbols.sh fails when the committed file is not what this prints, and the package build
# (dpkg-gensymbols -c4, debian/rules) fails when the library exports anything else.
#
# A symbol's version is the first release of memview whose version node had it: add a line to
# NODES below with each new node (MEMVIEW_1.1 ...) and the release that brings it.
#
# SPDX-License-Identifier: MIT
set -eu

NODES="MEMVIEW_1.0=0.2.0 MEMVIEW_1.1=0.2.0"

top=${top_srcdir:-.}
sym=$top/lib/libmemview.sym
# -version-info CURRENT:REVISION:AGE: the soname's number is CURRENT - AGE.
info=$(sed -n 's/^AC_SUBST(\[MV_LT_VERSION\], \[\([0-9:]*\)\])$/\1/p' "$top/configure.ac")
[ -n "$info" ] || { echo "gen-symbols.sh: no MV_LT_VERSION in configure.ac" >&2; exit 1; }
major=$(($(echo "$info" | cut -d: -f1) - $(echo "$info" | cut -d: -f3)))

# Comments out; then "NODE {" starts a node, "name;" in its global part is a symbol, "local:"
# or "}" ends that part.
syms=$(sed 's|/\*.*\*/||; /^[[:space:]]*\/\*/,/\*\//d' "$sym" | awk -v nodes="$NODES" '
	BEGIN {
		n = split(nodes, a, " ")
		for (i = 1; i <= n; i++) { split(a[i], kv, "="); ver[kv[1]] = kv[2] }
	}
	/^[[:space:]]*[A-Za-z_][A-Za-z0-9_.]*[[:space:]]*\{/ {
		node = $1; sub(/\{.*/, "", node); global = 1
		if (!(node in ver)) {
			print "gen-symbols.sh: version node " node " has no release in NODES" > "/dev/stderr"
			bad = 1; exit 1
		}
		printf " %s@%s %s\n", node, node, ver[node]
		next
	}
	/local:/ || /\}/ { global = 0; next }
	global && /^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*;[[:space:]]*$/ {
		s = $1; sub(/;$/, "", s); printf " %s@%s %s\n", s, node, ver[node]
	}
	END { exit bad }')
echo "libmemview.so.$major libmemview$major #MINVER#"
echo "* Build-Depends-Package: libmemview-dev"
printf '%s\n' "$syms" | LC_ALL=C sort
