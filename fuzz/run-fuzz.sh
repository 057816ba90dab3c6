#!/bin/sh
# fuzz/run-fuzz.sh SRCDIR SECONDS TARGET... - run each built fuzzer ./fuzz/TARGET for SECONDS on
# a working corpus in the build directory (fuzz/work/TARGET, seeded from SRCDIR/fuzz/corpus/TARGET
# and kept between runs), one at a time. Writes one summary line per target to fuzz/summary.txt
# and stdout; the full libFuzzer output goes to fuzz/TARGET.log and crash reproducers to
# fuzz/artifacts/TARGET/. Exits 1 if any target crashed.
#
# SPDX-License-Identifier: MIT
srcdir=$1
secs=$2
shift 2
summary=fuzz/summary.txt
status=0
: >"$summary"
for t in "$@"; do
	work=fuzz/work/$t
	art=fuzz/artifacts/$t
	log=fuzz/$t.log
	mkdir -p "$work" "$art"
	cp "$srcdir/fuzz/corpus/$t/"* "$work/" 2>/dev/null
	echo "fuzz: $t for ${secs}s (log: $log)"
	"./fuzz/$t" -max_total_time="$secs" -print_final_stats=1 -timeout=20 \
		-artifact_prefix="$art/" "$work" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corpus=$(ls "$work" | wc -l)
	crashes=$(grep -c 'Test unit written to' "$log")
	line="$t: ${execs:-0} execs (${rate:-0}/s), cov ${cov:-?} ft ${ft:-?}, corpus $corpus,"
	line="$line crashes $crashes"
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		status=1
		line="$line (exit $rc: $(grep -m1 -o 'Test unit written to .*' "$log" || echo "see $log"))"
	fi
	echo "$line" | tee -a "$summary"
done
exit $status
