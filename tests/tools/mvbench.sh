#!/bin/sh
# tests/tools/mvbench.sh - smoke test of mvbench(1): "mvbench views --quick" as a plain build
# leaves it (bench_views next to mvbench), a tiny "mvbench uring" run (every method, the
# pipeline, the targets block and the JSON summary; O_DIRECT rows measured or skipped in one line
# as $TMPDIR's filesystem has it; nothing when io_uring is unavailable here), a tiny handoff run
# of every method built (ZeroMQ's too when configure found libzmq), every output file,
# "--methods zmq" run or refused in one line as the build has it, and the usage errors. It
# checks that the benchmarks run and report, not how fast anything is.
#
# Run by automake with $top_srcdir and $top_builddir. Exits 0 when every check passes, 1 when
# one fails, 77 ("SKIP: reason") when the handoff cannot run: fewer than two CPUs to pin to, or
# no fork (the views check has run by then, and a failure of it still fails the test).
# Only $TMPDIR is written (one mktemp directory, removed on exit).
#
# SPDX-License-Identifier: MIT

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
MVBENCH=$top_builddir/bench/mvbench
. "$top_srcdir/tests/tools/lib.sh"

need "$MVBENCH"
make_tmp mvbench

# Whether this build measures ZeroMQ (configure found libzmq): the zmq method is then one of
# the defaults, as in --quick; without it "--methods zmq" is refused.
zmq=0
grep -q '^#define HAVE_ZMQ 1' "$top_builddir/config.h" 2>/dev/null && zmq=1
nmethods=$((5 + zmq))

# ---------------------------------------------------------------- views
# What "make" built must be enough: bench_views is found next to mvbench, not named by the
# caller. Its quick mode (5 repetitions of >= 2 ms, no CPython; numpy when /usr/bin/python3 has
# it, as Debian's python3-numpy installs it) takes about a second or two. Not under
# valgrind, which replaces malloc: bench_views counts allocations by interposing malloc, and
# refuses to run when its counter sees none.
unset MVBENCH_BENCH_VIEWS
if [ -n "${MV_UNDER_VALGRIND:-}" ]; then
	echo "note: mvbench views is not run under valgrind (bench_views interposes malloc)"
else
	"$MVBENCH" views --quick >"$tmp/views.txt" 2>"$tmp/views.err"
	rc=$?
	if [ $rc != 0 ]; then
		cat "$tmp/views.err"
		fail "mvbench views --quick exited with $rc"
	else
		grep -q '^memview benchmark: 5 repetitions' "$tmp/views.txt" ||
			fail "mvbench views --quick: no report header"
		grep -q '^memview cast(.B.)\[1:-1\] + 2 releases ' "$tmp/views.txt" ||
			fail "mvbench views --quick: no derive row"
		grep -q '^3 equal 8 MiB .d. ' "$tmp/views.txt" ||
			fail "mvbench views --quick: no target rows"
		if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
			grep -q '^  tobytes stride 2 vs numpy .*| numpy [0-9]' "$tmp/views.txt" ||
				fail "mvbench views --quick: numpy is installed but has no row"
		fi
	fi
fi

# ---------------------------------------------------------------- uring
# A 2 MiB file in $tmp (tmpfs allowed: its O_DIRECT rows are then skipped with their reason),
# both block sizes, every method, one short pass, small queues, and the pipeline. Where io_uring
# cannot run at all (no io_uring, a seccomp policy, kernel.io_uring_disabled) mvbench says why and
# exits 1: noted, not a failure.
"$MVBENCH" uring --dir "$tmp" --allow-tmpfs --size 2M --passes 1 --time 0.05 --depth 4 \
	--direct-depth 8 --pipeline-slots 4 --quiet --json "$tmp/uring.json" \
	>"$tmp/uring.txt" 2>"$tmp/uring.err"
rc=$?
if [ $rc = 1 ] && grep -q -i -e 'io_uring' -e 'RLIMIT_MEMLOCK' "$tmp/uring.err"; then
	echo "note: mvbench uring cannot run here: $(head -n 1 "$tmp/uring.err")"
elif [ $rc != 0 ]; then
	cat "$tmp/uring.err"
	fail "mvbench uring exited with $rc"
else
	[ "$(grep -c -E '^(4|128) KiB ' "$tmp/uring.txt")" = 14 ] ||
		fail "mvbench uring: not 14 rows (6 methods x 2 blocks, the pipeline, its read(2))"
	grep -q '^targets (issue 13' "$tmp/uring.txt" || fail "mvbench uring: no targets block"
	[ "$(grep -c -E '^  (fixed|fixed-direct|pipeline) / ' "$tmp/uring.txt")" = 4 ] ||
		fail "mvbench uring: not 4 target lines"
	grep -q '^128 KiB   pipeline ' "$tmp/uring.txt" || fail "mvbench uring: no pipeline row"
	if command -v python3 >/dev/null 2>&1; then
		python3 - "$tmp/uring.json" <<'EOF' || fail "mvbench uring: the JSON lacks values"
import json, sys

d = json.load(open(sys.argv[1]))
s = d["summary"]
keys = ["fixed_vs_uring_4k", "fixed_direct_vs_uring_direct_4k",
        "fixed_direct_vs_uring_direct_128k", "pipeline_vs_read_bw_128k"]
ok = True
for k in keys + ["fixed_vs_read_4k"]:
    v = s.get(k, "missing")
    if v is not None and not (isinstance(v, (int, float)) and v > 0):
        print("summary.%s is %r" % (k, v))
        ok = False
for k in ("fixed_vs_uring_4k", "pipeline_vs_read_bw_128k", "fixed_vs_read_4k"):
    if not isinstance(s.get(k), (int, float)):
        print("summary.%s is %r, not measured" % (k, s.get(k)))
        ok = False
if sorted(s["targets"]) != sorted(keys):
    print("summary.targets is %r" % s["targets"])
    ok = False
if [t["key"] for t in d["targets"]] != keys:
    print("targets are %r" % d["targets"])
    ok = False
for t in d["targets"]:
    if t["result"] not in ("met", "missed", "skipped", "n/a") or \
            (t["value"] is None) != (t["result"] in ("skipped", "n/a")):
        print("target %r" % t)
        ok = False
if len(d["results"]) != 12:
    print("%d results, not 12" % len(d["results"]))
    ok = False
for r in d["results"]:
    direct = r["method"].endswith("-direct")
    if "skipped" in r:
        if not direct or not r["skipped"].startswith("SKIP: "):
            print("result %r" % r)
            ok = False
    elif not (r["ops_per_s"] > 0 and r["cpu_us_per_op"] >= 0):
        print("result %r" % r)
        ok = False
sys.exit(0 if ok else 1)
EOF
	fi
fi
"$MVBENCH" uring --methods nosuch >/dev/null 2>&1
[ $? = 2 ] || fail "mvbench uring --methods nosuch does not exit 2"
"$MVBENCH" uring --direct-depth 0 >/dev/null 2>&1
[ $? = 2 ] || fail "mvbench uring --direct-depth 0 does not exit 2"
"$MVBENCH" uring --help | grep -q 'uring-direct' || fail "mvbench uring --help: no uring-direct"

# ---------------------------------------------------------------- handoff
# Two CPUs this process may use: the first two of its affinity mask.
cpus=
if command -v python3 >/dev/null 2>&1; then
	cpus=$(python3 -c 'import os; c = sorted(os.sched_getaffinity(0)); print(*c[:2], sep=",")' \
		2>/dev/null)
else
	[ "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)" -ge 2 ] && cpus=0,1
fi
case $cpus in
*,*) ;;
*)
	[ $failures = 0 ] || exit 1
	echo "SKIP: fewer than two CPUs to pin the two processes to"
	exit 77
	;;
esac

# A few seconds at most: every method built, two sizes, short budgets, few round trips.
"$MVBENCH" handoff --cpus "$cpus" --sizes 64,65536 --iterations 200 --time 0.05 \
	--stream-time 0.02 --gap 200 --retries 0 --quiet --json "$tmp/out.json" --csv "$tmp/out.csv" \
	--plot "$tmp/out.svg" >"$tmp/out.txt" 2>"$tmp/err.txt"
rc=$?
if [ $rc != 0 ]; then
	if grep -q -e 'cannot pin' -e 'fork:' "$tmp/err.txt"; then
		[ $failures = 0 ] || exit 1
		echo "SKIP: $(head -n 1 "$tmp/err.txt")"
		exit 77
	fi
	cat "$tmp/err.txt"
	fail "mvbench handoff exited with $rc"
	exit 1
fi

grep -q '^floor (cache-line ping-pong)' "$tmp/out.txt" || fail "no floor line in the table"
grep -q '^Targets:' "$tmp/out.txt" || fail "no targets in the table"
nrows=$((nmethods * 4))
[ "$(grep -c -E '^(spin|sleep|pipe|unix|shm-memcpy|zmq) ' "$tmp/out.txt")" = $nrows ] ||
	fail "the table does not have $nrows rows ($nmethods methods, 2 sizes, 2 payloads)"
if [ $zmq = 1 ]; then
	[ "$(grep -c '^zmq ' "$tmp/out.txt")" = 4 ] || fail "the table has no 4 zmq rows"
	grep -q '^memview (spin) / ZeroMQ' "$tmp/out.txt" || fail "no memview/ZeroMQ ratios"
fi

if command -v python3 >/dev/null 2>&1; then
	python3 - "$tmp/out.json" $nrows $zmq <<'EOF' || fail "the JSON lacks summary values"
import json, sys

d = json.load(open(sys.argv[1]))
nrows, zmq = int(sys.argv[2]), sys.argv[3] == "1"
s = d["summary"]
ok = True
for k in ("floor_one_way_ns", "futex_round_trip_ns", "spsc_msgs_per_s", "spin_vs_ring_64",
          "spsc_vs_ring", "futex_p99_one_way_ns"):
    if not isinstance(s.get(k), (int, float)) or s[k] <= 0:
        print("summary.%s is %r" % (k, s.get(k)))
        ok = False
keys = ["spin_p50_one_way_ns", "sleep_p50_one_way_ns", "pipe_p50_one_way_ns",
        "sleep_p99_one_way_ns"]
if zmq:
    keys += ["zmq_p50_one_way_ns", "spin_vs_zmq_p50", "spin_vs_zmq_msgs_per_s"]
for k in keys:
    v = s.get(k)
    if not isinstance(v, dict) or sorted(v) != ["64", "65536"] or \
            not all(isinstance(x, (int, float)) and x > 0 for x in v.values()):
        print("summary.%s is %r" % (k, v))
        ok = False
if len(d["results"]) != nrows:
    print("%d results, not %d" % (len(d["results"]), nrows))
    ok = False
for k in ("spin_vs_ring_64", "spsc_vs_ring", "sleep_within_1.5x_futex"):
    if k not in s["targets"]:
        print("summary.targets has no %s" % k)
        ok = False
if (d["config"]["zmq_version"] is not None) != zmq:
    print("config.zmq_version is %r" % d["config"]["zmq_version"])
    ok = False
for r in d["results"]:
    if r["one_way_ns"]["n"] < 5 or r["throughput"]["messages"] < 1:
        print("result %s %s %s: %r" % (r["method"], r["size"], r["payload"], r))
        ok = False
sys.exit(0 if ok else 1)
EOF
else
	for k in floor_one_way_ns futex_round_trip_ns spin_p50_one_way_ns sleep_p50_one_way_ns \
		pipe_p50_one_way_ns spsc_msgs_per_s spin_vs_ring_64 spsc_vs_ring; do
		grep -q "\"$k\": [0-9{]" "$tmp/out.json" || fail "the JSON has no summary key $k"
	done
fi

head -n 1 "$tmp/out.csv" | grep -q '^kind,method,size,payload,n,' || fail "bad CSV header"
[ "$(wc -l <"$tmp/out.csv")" = $((nrows + 5)) ] || fail "the CSV does not have $((nrows + 5)) lines"
head -n 1 "$tmp/out.svg" | grep -q '^<?xml' || fail "the SVG does not start with <?xml"
tail -n 1 "$tmp/out.svg" | grep -q '^</svg>$' || fail "the SVG does not end with </svg>"
grep -q '<polyline' "$tmp/out.svg" || fail "the SVG has no lines"
if [ $zmq = 1 ]; then
	grep -q '>ZeroMQ' "$tmp/out.svg" || fail "the SVG has no ZeroMQ line"
	[ "$(grep -c '^one_way,zmq,' "$tmp/out.csv")" = 4 ] || fail "the CSV has no 4 zmq rows"
fi

# --methods zmq: measured alone when built; refused in one line (status 1, nothing measured)
# when not.
"$MVBENCH" handoff --cpus "$cpus" --methods zmq --sizes 100 --payload touched --iterations 50 \
	--time 0.02 --stream-time 0.01 --retries 0 --quiet >"$tmp/zmq.txt" 2>"$tmp/zmq.err"
rc=$?
if [ $zmq = 1 ]; then
	[ $rc = 0 ] || { cat "$tmp/zmq.err"; fail "mvbench handoff --methods zmq exited with $rc"; }
	[ "$(grep -c -E '^(spin|sleep|pipe|unix|shm-memcpy|zmq) ' "$tmp/zmq.txt")" = 1 ] &&
		grep -q '^zmq *100 B touched ' "$tmp/zmq.txt" ||
		fail "mvbench handoff --methods zmq: not one zmq row"
	grep -q '^zmq: ZeroMQ [0-9]' "$tmp/zmq.txt" || fail "no ZeroMQ version in the header"
	"$MVBENCH" handoff --help | grep -q 'shm-memcpy, zmq' || fail "--help does not list zmq"
else
	[ $rc = 1 ] || fail "mvbench handoff --methods zmq without ZeroMQ exited with $rc, not 1"
	[ "$(wc -l <"$tmp/zmq.err")" = 1 ] && grep -q "zmq.*without ZeroMQ" "$tmp/zmq.err" ||
		fail "mvbench handoff --methods zmq without ZeroMQ: not one line saying why"
	[ ! -s "$tmp/zmq.txt" ] || fail "mvbench handoff --methods zmq without ZeroMQ printed rows"
	"$MVBENCH" handoff --help | grep -q 'zmq: not built' ||
		fail "--help does not say zmq is not built"
fi

# --pong store: spin answers with one store, as shm-memcpy does; said in the header and JSON.
"$MVBENCH" handoff --cpus "$cpus" --methods spin,shm-memcpy --sizes 64 --payload untouched \
	--iterations 200 --time 0.02 --stream-time 0.01 --retries 0 --pong store --quiet \
	--json "$tmp/pong.json" >"$tmp/pong.txt" 2>"$tmp/pong.err"
rc=$?
[ $rc = 0 ] || { cat "$tmp/pong.err"; fail "mvbench handoff --pong store exited with $rc"; }
[ "$(grep -c -E '^(spin|shm-memcpy) +64 B untouched ' "$tmp/pong.txt")" = 2 ] ||
	fail "mvbench handoff --pong store: not one spin and one shm-memcpy row"
grep -q '^pong: spin answers with one store' "$tmp/pong.txt" ||
	fail "mvbench handoff --pong store: the header does not say how spin answers"
python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["config"]["pong"] != "store")' \
	"$tmp/pong.json" || fail "mvbench handoff --pong store: the JSON config does not say pong store"
"$MVBENCH" handoff --pong nosuch >/dev/null 2>&1
[ $? = 2 ] || fail "mvbench handoff --pong nosuch does not exit 2"

# --ring readonly: shm-memcpy's ring with a readonly reader, as a channel's consumer maps it;
# the row is measured, and the header, the JSON and the target's detail say which ring it was.
"$MVBENCH" handoff --cpus "$cpus" --methods spin,shm-memcpy --sizes 64 --payload untouched \
	--iterations 200 --time 0.02 --stream-time 0.01 --retries 0 --ring readonly --quiet \
	--json "$tmp/ring.json" >"$tmp/ring.txt" 2>"$tmp/ring.err"
rc=$?
[ $rc = 0 ] || { cat "$tmp/ring.err"; fail "mvbench handoff --ring readonly exited with $rc"; }
grep -q -E '^shm-memcpy +64 B untouched +[0-9]' "$tmp/ring.txt" ||
	fail "mvbench handoff --ring readonly: no shm-memcpy row"
grep -q '^ring: shm-memcpy.s reader maps the ring readonly' "$tmp/ring.txt" ||
	fail "mvbench handoff --ring readonly: the header does not say how the ring is mapped"
grep -q 'readonly ring' "$tmp/ring.txt" ||
	fail "mvbench handoff --ring readonly: the spin / ring target does not name the ring"
python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["config"]["ring"] != "readonly")' \
	"$tmp/ring.json" || fail "mvbench handoff --ring readonly: the JSON config does not say so"
python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["config"]["ring"] != "writable")' \
	"$tmp/pong.json" || fail "mvbench handoff: the JSON config does not say the ring is writable"
# With spin and the (writable) ring at 64 B, the run also measures shm-ro, the ring with
# readonly readers, and names it beside the ring in the table, the targets and the JSON.
grep -q -E '^shm-ro +64 B untouched +[0-9]' "$tmp/pong.txt" ||
	fail "mvbench handoff: no shm-ro row beside spin and shm-memcpy at 64 B"
grep -q 'against shm-ro' "$tmp/pong.txt" ||
	fail "mvbench handoff: the targets do not name shm-ro"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ro, s = d["readonly_ring"], d["summary"]
ok = ro["method"] == "shm-memcpy" and ro["size"] == 64 and ro["one_way_ns"]["p50"] > 0
ok = ok and s["spin_vs_readonly_ring_64"] > 0 and s["spsc_vs_readonly_ring"] > 0
sys.exit(not ok)' "$tmp/pong.json" || fail "mvbench handoff: no readonly_ring in the JSON"
! grep -q '^shm-ro ' "$tmp/ring.txt" ||
	fail "mvbench handoff --ring readonly: a second readonly ring was measured"
"$MVBENCH" handoff --ring nosuch >/dev/null 2>&1
[ $? = 2 ] || fail "mvbench handoff --ring nosuch does not exit 2"

# Usage errors exit 2, failures 1.
"$MVBENCH" >/dev/null 2>&1
[ $? = 2 ] || fail "mvbench without a benchmark does not exit 2"
"$MVBENCH" handoff --sizes 0 >/dev/null 2>&1
[ $? = 2 ] || fail "mvbench handoff --sizes 0 does not exit 2"
"$MVBENCH" handoff --methods nosuch >/dev/null 2>&1
[ $? = 2 ] || fail "mvbench handoff --methods nosuch does not exit 2"
"$MVBENCH" handoff --cpus 0,100000 --quiet >/dev/null 2>&1
[ $? = 1 ] || fail "mvbench handoff with an unavailable CPU does not exit 1"
"$MVBENCH" handoff --help | grep -q -- '--cpus <a,b>' || fail "--help does not show --cpus"

[ $failures = 0 ] || exit 1
echo "PASS: mvbench views, uring and handoff run and report"
exit 0
