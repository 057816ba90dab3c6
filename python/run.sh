#!/bin/sh
# python/run.sh - run a command with the memview Python package as this build tree made it:
# python/memview/*.py from the source tree and _memview.so from python/memview/.libs, put
# together in a temporary directory on PYTHONPATH, with the build tree's libmemview first on
# LD_LIBRARY_PATH. What "make check" (python/tests/pytest.sh) and "make bench-python" use.
#
#     python/run.sh COMMAND [ARG...]
#
# Environment: top_srcdir and top_builddir (default: this script's tree, and .). Exits with
# COMMAND's status, or 77 when the module is not built (configure found no Python headers).
#
# SPDX-License-Identifier: MIT

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=.}"
build=$(cd "$top_builddir" && pwd) || exit 99
so=$build/python/memview/.libs/_memview.so
if [ ! -f "$so" ]; then
	echo "SKIP: $so is not built (configure found no Python headers, or --disable-python)"
	exit 77
fi
pkg=$(mktemp -d "${TMPDIR:-/tmp}/memview-py.XXXXXX") || exit 99
trap 'rm -rf "$pkg"' EXIT
trap 'exit 1' HUP INT TERM
mkdir "$pkg/memview" || exit 99
for f in __init__.py __init__.pyi py.typed; do
	ln -s "$top_srcdir/python/memview/$f" "$pkg/memview/$f" || exit 99
done
ln -s "$so" "$pkg/memview/_memview.so" || exit 99

PYTHONPATH=$pkg${PYTHONPATH:+:$PYTHONPATH}
LD_LIBRARY_PATH=$build/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Nothing is written into the source tree (read-only under make distcheck).
PYTHONDONTWRITEBYTECODE=1
MEMVIEW_BUILD_LIB=$build/lib/.libs
MEMVIEW_BUILD_DIR=$build
export PYTHONPATH LD_LIBRARY_PATH PYTHONDONTWRITEBYTECODE MEMVIEW_BUILD_LIB MEMVIEW_BUILD_DIR
"$@"
