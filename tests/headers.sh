#!/bin/sh
# tests/headers.sh - every public header compiles alone, as the first include of a C file,
# under -std=c99 -pedantic -Werror -Wall -Wextra, and also as C++11 when a C++ compiler exists.
# The public macros (MV_VIEW_SCOPED, MV_EXPORTER_INIT, ...) are expanded under the same flags,
# since a user's code compiled with these flags expands them too.
#
# Environment (set by automake's AM_TESTS_ENVIRONMENT): top_srcdir, CC.
# Exit: 0 pass, 1 fail (naming the header), 77 skip.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
CC=${CC:-cc}
CXX=${CXX:-c++}
inc=$top_srcdir/include

if [ ! -f "$inc/memview.h" ]; then
	echo "SKIP: no $inc/memview.h (top_srcdir=$top_srcdir)"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mv-headers.XXXXXX") || {
	echo "SKIP: cannot create a temporary directory"
	exit 77
}
trap 'rm -rf "$tmp"' EXIT

cflags="-std=c99 -pedantic -Werror -Wall -Wextra -fsyntax-only"
cxxflags="-std=c++11 -pedantic -Werror -Wall -Wextra -fsyntax-only"

# The compiler itself must work, or every header would "fail".
echo 'int mv_headers_probe;' >"$tmp/probe.c"
# shellcheck disable=SC2086 # $CC may carry options, e.g. "gcc -m32".
if ! $CC $cflags "$tmp/probe.c" >"$tmp/log" 2>&1; then
	echo "SKIP: '$CC $cflags' cannot compile a trivial C file:"
	cat "$tmp/log"
	exit 77
fi

have_cxx=no
if command -v "$CXX" >/dev/null 2>&1; then
	echo 'int mv_headers_probe;' >"$tmp/probe.cc"
	if $CXX $cxxflags "$tmp/probe.cc" >"$tmp/log" 2>&1; then
		have_cxx=yes
	else
		echo "note: '$CXX $cxxflags' does not work; C++ checks skipped"
	fi
else
	echo "note: no C++ compiler ($CXX); C++ checks skipped"
fi

headers="memview.h"
for h in "$inc"/memview/*.h; do
	headers="$headers memview/$(basename "$h")"
done

failed=""
checked=0

# compile LANG NAME FILE: compile FILE, report and remember a failure as NAME.
compile()
{
	if [ "$1" = c ]; then
		# shellcheck disable=SC2086
		$CC $cflags -I"$inc" "$3" >"$tmp/log" 2>&1
	else
		# shellcheck disable=SC2086
		$CXX $cxxflags -I"$inc" "$3" >"$tmp/log" 2>&1
	fi
	rc=$?
	checked=$((checked + 1))
	if [ $rc -ne 0 ]; then
		echo "FAIL: $2 ($1)"
		sed 's/^/    /' "$tmp/log"
		failed="$failed $2($1)"
	else
		echo "ok: $2 ($1)"
	fi
}

for h in $headers; do
	# The header first, then a declaration so the unit is never empty (-pedantic).
	f=$tmp/$(echo "$h" | tr '/.' '__')
	printf '#include <%s>\ntypedef int mv_headers_test_unit;\n' "$h" >"$f.c"
	compile c "$h" "$f.c"
	if [ $have_cxx = yes ]; then
		cp "$f.c" "$f.cc"
		compile c++ "$h" "$f.cc"
	fi
done

# Public macros and inline functions, expanded the way a user's code expands them.
cat >"$tmp/macros.c" <<'EOF'
#include <memview.h>

static int get(mv_exporter *self, mv_buffer *buf, unsigned flags)
{
	static char mem[4];

	return mv_buffer_fill(buf, self, mem, (ssize_t)sizeof(mem), 0, flags);
}

static const mv_exporter_ops ops = { sizeof(mv_exporter_ops), "test", get, NULL,
				     MV_EXPORTER_UNHASHABLE };

int mv_headers_macros(void);
int mv_headers_macros(void)
{
	mv_exporter exp = MV_EXPORTER_INIT(&ops);
	mv_value vals[5];
	mv_slice s = { MV_NONE, MV_NONE, -1 };
	unsigned flags = MV_BUF_FULL_RO | MV_BUF_RECORDS | MV_BUF_CONTIG | MV_BUF_STRIDED_RO;
	char text[MV_FORMAT_REPR_MAX];
	ssize_t shape[MV_MAXDIM];
	mv_segment_opts so = MV_SEGMENT_OPTS_INIT;
	mv_segment_info si = MV_SEGMENT_INFO_INIT;
	mv_segment_holder sh[2] = { MV_SEGMENT_HOLDER_INIT, MV_SEGMENT_HOLDER_INIT };
	mv_chan_opts co = MV_CHAN_OPTS_INIT;
	mv_chan_stats cs = MV_CHAN_STATS_INIT;
	mv_uring_info ui = MV_URING_INFO_INIT;
	mv_uring_slot_info us = MV_URING_SLOT_INFO_INIT;
	mv_uring_result ur = MV_URING_RESULT_INIT;
#if defined(__GNUC__) || defined(__clang__)
	MV_VIEW_SCOPED(v);
	MV_VIEW_SCOPED(w);

	if (mv_view_from(&v, &exp, 0) < 0 || mv_view_slice_nd(&w, &v, &s, 1) < 0)
		return -1;
#endif
	vals[0] = mv_value_int(-1);
	vals[1] = mv_value_uint(1u);
	vals[2] = mv_value_float(0.5);
	vals[3] = mv_value_bool(1);
	vals[4] = mv_value_bytes("a", 1);
	shape[0] = MV_VIEW_INLINE_NDIM;
	text[0] = '\0';
	return (int)(flags & MV_BUF_ALL_FLAGS) + MV_CAST_NO_SHAPE + (int)shape[0] +
	       (int)vals[0].i + text[0] + (int)(so.size + si.size + sh[1].size + co.size +
						cs.size + ui.size + us.size + ur.size);
}
EOF
compile c "memview.h macros" "$tmp/macros.c"
if [ $have_cxx = yes ]; then
	cp "$tmp/macros.c" "$tmp/macros.cc"
	compile c++ "memview.h macros" "$tmp/macros.cc"
fi

if [ -n "$failed" ]; then
	echo "FAIL: headers that do not compile alone:$failed"
	exit 1
fi
echo "PASS: $checked compilations"
exit 0
