#!/bin/sh
# python/tests/pytest.sh - the Python binding's test suite: pytest on python/tests/ under the
# interpreter the binding was built for ($PYTHON, /usr/bin/python3 by default), with the module
# as this build tree made it (python/run.sh). Run by "make check"; arguments, if any, replace
# python/tests/ in pytest's command line (a file, -k EXPR, ...).
#
# Exits with pytest's status, or 77 (SKIP) when the module is not built, pytest or numpy is
# missing, or under "make check-valgrind": memcheck would run the interpreter itself, numpy and
# every child process for many minutes, and the library code the binding calls is covered there
# by the C suites. In a sanitizer build the interpreter gets the ASan and UBSan runtimes
# preloaded (the module and libmemview are instrumented; CPython is not), leak checks off.
#
# SPDX-License-Identifier: MIT

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${PYTHON:=/usr/bin/python3}"
export top_srcdir top_builddir

if [ -n "${MV_UNDER_VALGRIND:-}" ]; then
	echo "SKIP: not under valgrind (the interpreter, numpy and the child processes would take"
	echo "      many minutes; the C suites cover the library under valgrind)"
	exit 77
fi
if ! "$PYTHON" -c 'import pytest, numpy' 2>/dev/null; then
	echo "SKIP: $PYTHON lacks pytest or numpy (Debian: python3-pytest python3-numpy)"
	exit 77
fi
# The ASan and UBSan runtimes, for the interpreter only (and its children, which inherit them).
preload=
if [ -n "${MV_SANITIZED:-}" ]; then
	for rt in libasan.so libubsan.so; do
		f=$(${CC:-cc} -print-file-name=$rt 2>/dev/null)
		[ -f "$f" ] && preload="$preload $f"
	done
	preload="${preload# }${LD_PRELOAD:+ $LD_PRELOAD}"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	export ASAN_OPTIONS
fi
[ $# -gt 0 ] || set -- "$top_srcdir/python/tests"
sh "$top_srcdir/python/run.sh" env ${preload:+LD_PRELOAD="$preload"} "$PYTHON" -m pytest \
	-p no:cacheprovider -q -ra --rootdir="$top_srcdir/python/tests" "$@"
