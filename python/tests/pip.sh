#!/bin/sh
# python/tests/pip.sh - the binding built the way a Python user builds it: "pip install" of
# python/ (pyproject.toml, setup.py) into a temporary --target, against the build tree's
# libmemview found through pkg-config (a memview.pc written here, pointing into the tree), then
# a smoke test of the installed package. Offline: --no-index --no-build-isolation --no-deps, so
# pip downloads nothing; setuptools is the interpreter's own (Debian: python3-setuptools).
#
# Exits 0, 1, or 77 (SKIP) when pip, setuptools or pkg-config is missing, the library is not
# built, or under "make check-valgrind" (the compiler and pip are not memview code).
#
# SPDX-License-Identifier: MIT

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${PYTHON:=/usr/bin/python3}"

skip()
{
	echo "SKIP: $*"
	exit 77
}

[ -z "${MV_UNDER_VALGRIND:-}" ] || skip "pip and the compiler are not memview code"
[ -z "${MV_SANITIZED:-}" ] || skip "the pip build is not instrumented; pytest.sh covers ASan"
"$PYTHON" -m pip --version >/dev/null 2>&1 || skip "no pip for $PYTHON (Debian: python3-pip)"
"$PYTHON" -c 'import setuptools' 2>/dev/null || skip "no setuptools (python3-setuptools)"
command -v pkg-config >/dev/null 2>&1 || skip "no pkg-config"
build=$(cd "$top_builddir" && pwd) || exit 99
[ -f "$build/lib/.libs/libmemview.so" ] || skip "libmemview is not built as a shared library"
version=$(sed -n 's/^Version: *//p' "$build/memview.pc")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memview-pip.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# The uninstalled library, as pkg-config should describe an installed one.
mkdir "$tmp/pc"
cat >"$tmp/pc/memview.pc" <<PC
Name: memview
Description: memview, uninstalled (the build tree)
Version: $version
Libs: -L$build/lib/.libs -lmemview
Cflags: -I$(cd "$top_srcdir" && pwd)/include
PC
# What pip gets: a writable copy (the source tree is read-only under distcheck, and setuptools
# builds in place).
mkdir "$tmp/src"
cp -R "$top_srcdir/python/pyproject.toml" "$top_srcdir/python/setup.py" \
	"$top_srcdir/python/README.md" "$top_srcdir/python/src" "$top_srcdir/python/memview" \
	"$tmp/src/" || exit 99
chmod -R u+w "$tmp/src"

echo "pip install into $tmp/site (libmemview $version from $build/lib/.libs)"
if ! PKG_CONFIG_PATH=$tmp/pc PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
	"$PYTHON" -m pip install --no-index --no-build-isolation --no-deps --target "$tmp/site" \
	"$tmp/src" >"$tmp/pip.log" 2>&1; then
	cat "$tmp/pip.log"
	echo "FAIL: pip install ./python"
	exit 1
fi

# The installed package, not the build tree's: only $tmp/site on the path.
cd "$tmp" || exit 99
if ! PYTHONPATH=$tmp/site PYTHONDONTWRITEBYTECODE=1 "$PYTHON" - "$tmp/site" "$version" <<'PY'
import os, sys
import memview
site, version = sys.argv[1:]
assert memview.__file__.startswith(site), memview.__file__
assert memview.__version__ == version, (memview.__version__, version)
for f in ("py.typed", "__init__.pyi"):
    assert os.path.exists(os.path.join(site, "memview", f)), f
name = "/mvpy-pip-%d" % os.getpid()
with memview.Segment.create(name, 64, format="i", shape=(4, 4)) as seg:
    m = memoryview(seg)
    assert (m.format, m.shape) == ("i", (4, 4))
    try:
        seg.close()
        raise AssertionError("close() with a live memoryview")
    except BufferError:
        pass
    m.release()
memview.Segment.unlink(name)
memview.Channel.create(name, slots=2, slot_size=64).close()
print("pip-installed memview", memview.__version__, "works")
PY
then
	echo "FAIL: the pip-installed package"
	exit 1
fi
exit 0
