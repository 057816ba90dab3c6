#!/bin/sh
# tests/tools/bridge.sh - mvbridge between two hosts: two network namespaces joined by a veth
# pair, UCX over TCP (UCX_TLS=tcp), UCX's memory hooks on as they come. A channel's producer and
# the sending bridge run in namespace a, the receiving bridge and the consumers in namespace b
# (a channel is joined from its producer's network namespace, so this is two hosts as far as
# channels go). Every message carries its sequence number and a checksum of its random bytes;
# consumers check both.
#
#   1. 10,000 messages of random sizes: all delivered, in order, none twice; both bridges exit 0
#   2. fan-out: one sender, two receivers, each consumer gets every message
#   3. a wrong token and four garbage-sending peers are refused with one log line each, and
#      the receiver then serves a good sender
#   4. kill -9 of the sending bridge mid-stream: the consumer gets a clean prefix, then EPIPE
#   5. kill -9 of the receiving bridge mid-stream: the sender reports what was not acknowledged
#   6. the link cut under both (ss -K) with --retry: resumed, nothing lost, nothing twice
#   7. a consumer slower than the producer: the producer is never more than the two channels'
#      slots ahead of it (credit is free slots: no queue anywhere), and the bridges' memory
#      stays flat
#   8. bridges embedded in the producer's and the consumer's own loops (mv_bridge_run(b, 0),
#      bench/bridge_embedded): every message arrives, in order, at its length, one at a time
#      and streamed by rendezvous
#
# Exit: 0 pass, 1 fail, 77 skip (no UCX bridge built, not root, no network namespaces, under
# valgrind: UCX's own code is not memcheck-clean, and the sanitizer stage runs this test).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
. "$top_srcdir/tests/tools/lib.sh"

B=$top_builddir/tools/mvbridge
P=$top_builddir/tests/tools/bridgepeer
if [ -z "${MV_UCX:-}" ]; then
	echo "SKIP: the UCX bridge is not built (configure found no ucx)"
	exit 77
fi
if [ -n "${MV_UNDER_VALGRIND:-}" ]; then
	echo "SKIP: UCX is not memcheck-clean; the sanitizer stage runs this test"
	exit 77
fi
need "$B" "$P" "$top_builddir/bench/bridge_embedded"
need_shm
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1; then
	echo "SKIP: network namespaces need root and iproute2"
	exit 77
fi
make_tmp bridge
na=mvbr$$a
nb=mvbr$$b
cleanup()
{
	kill_ours KILL $bg
	ip netns del "$na" 2>/dev/null
	ip netns del "$nb" 2>/dev/null
	rm -rf "$tmp"
}
if ! ip netns add "$na" 2>"$tmp/err" || ! ip netns add "$nb" 2>>"$tmp/err"; then
	echo "SKIP: cannot make network namespaces: $(head -n 1 "$tmp/err")"
	exit 77
fi
# Link-local addresses on a veth pair that exists only inside these two namespaces.
A=169.254.77.1
Bip=169.254.77.2
ip link add va netns "$na" type veth peer name vb netns "$nb" &&
	ip -n "$na" addr add $A/30 dev va && ip -n "$nb" addr add $Bip/30 dev vb &&
	ip -n "$na" link set va up && ip -n "$nb" link set vb up &&
	ip -n "$na" link set lo up && ip -n "$nb" link set lo up || {
	echo "SKIP: cannot set up the veth pair"
	exit 77
}
# UCX looks at the interfaces once, when a bridge starts, and leaves out one without carrier:
# wait until both ends say so.
for _ in $(seq 50); do
	ip -n "$na" link show va | grep -q 'state UP' && ip -n "$nb" link show vb | grep -q 'state UP' &&
		break
	sleep 0.1
done
# Commands, not functions: a background job started through one is the program itself (ip
# netns exec execs it, and so does the libtool wrapper), so kill -9 reaches the bridge.
inA="ip netns exec $na"
inB="ip netns exec $nb"

UCX_TLS=tcp
export UCX_TLS
printf 'the-shared-secret\n' >"$tmp/tok"
printf 'not-the-secret\n' >"$tmp/bad"
chmod 600 "$tmp/tok" "$tmp/bad"
port=$((20000 + $$ % 20000))

# Bad input: one line, exit non-zero, at once (each would once listen, wait or block).
mkfifo "$tmp/fifo"
bad_input()
{
	bad_input_what=$1
	bad_input_want=$2
	shift 2
	expect "$bad_input_want" "$bad_input_what" -- timeout 10 "$B" "$@"
	checks=$((checks + 1))
	grep -q "^mvbridge: .*$bad_input_what" "$tmp/err" ||
		fail "$bad_input_what: not said: $(head -n 2 "$tmp/err")"
	checks=$((checks + 1))
	[ -s "$tmp/out" ] && fail "$bad_input_what: standard output: $(head -n 2 "$tmp/out")"
}
bad_input "the port is 1 to 65535" 1 recv /r --listen 127.0.0.1:99999 --token-file "$tmp/tok"
bad_input "the port is 1 to 65535" 1 send /c --to 127.0.0.1:0 --token-file "$tmp/tok"
bad_input "at most 64" 2 recv /r --consumers 4294967297 --token-file "$tmp/tok"
bad_input "is not a channel name" 1 recv /r --from x --token-file "$tmp/tok"
bad_input "not a regular file" 1 send /c --to 127.0.0.1:$port --token-file "$tmp/fifo"
bad_input "unknown command 'bogus'" 2 bogus
bad_input "is it an address of this host" 1 recv /r --listen 192.0.2.1:$port --token-file "$tmp/tok"

# run_bg NAME COMMAND...: in the background, output in $tmp/NAME.out and .err; pid in $NAME.
run_bg()
{
	run_bg_name=$1
	shift
	"$@" >"$tmp/$run_bg_name.out" 2>"$tmp/$run_bg_name.err" &
	eval "$run_bg_name=$!"
	bg="$bg $!"
}

# waitfor PID SECONDS: its exit status, or 124 (killed) when it did not end in time.
waitfor()
{
	waitfor_n=0
	while kill -0 "$1" 2>/dev/null; do
		waitfor_n=$((waitfor_n + 1))
		if [ $waitfor_n -gt $(($2 * 10)) ]; then
			kill -9 "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			return 124
		fi
		sleep 0.1
	done
	wait "$1"
}

# status DESCRIPTION PID SECONDS WANT: check a background process's exit status.
status()
{
	checks=$((checks + 1))
	waitfor "$2" "$3"
	status_got=$?
	if [ "$status_got" != "$4" ]; then
		fail "$1: exit status $status_got, expected $4"
		for f in "$tmp"/*.err; do sed "s|^|    $(basename "$f"): |" "$f"; done
	fi
}

# listening PORT: wait (5 s at most) until namespace b listens on PORT.
listening()
{
	for _ in $(seq 50); do
		$inB ss -ltn 2>/dev/null | grep -q ":$1 " && return 0
		sleep 0.1
	done
	fail "nothing listens on port $1"
}

# ---------------------------------------------------------------- 1. 10,000 messages
run_bg recv $inB "$B" recv --listen $Bip:$port --token-file "$tmp/tok" --consumers 1
run_bg cons $inB "$P" consume /mvbr$$ 10000
run_bg prod $inA "$P" produce /mvbr$$ 10000 4096 16 "$tmp/count1"
listening $port
run_bg send $inA "$B" send /mvbr$$ --to $Bip:$port --token-file "$tmp/tok"
status "10,000 messages: the sender" "$send" 60 0
status "10,000 messages: the receiver" "$recv" 10 0
status "10,000 messages: the consumer (order, checksums, count)" "$cons" 10 0
status "10,000 messages: the producer" "$prod" 10 0
check_eq "10,000 messages: the consumer's count" "$(cat "$tmp/cons.out")" "received 10000"
grep -q "sender done after 10000 messages" "$tmp/recv.err" ||
	fail "the receiver did not log the end: $(cat "$tmp/recv.err")"

# ---------------------------------------------------------------- 2. fan-out
p2=$((port + 1))
run_bg recv $inB "$B" recv /fan1 --listen $Bip:$port --token-file "$tmp/tok" --consumers 1 -q
run_bg recv2 $inB "$B" recv /fan2 --listen $Bip:$p2 --token-file "$tmp/tok" --consumers 1 -q
run_bg cons $inB "$P" consume /fan1 2000
run_bg cons2 $inB "$P" consume /fan2 2000
run_bg prod $inA "$P" produce /fan$$ 2000 2048 8 "$tmp/count2"
listening $port
listening $p2
run_bg send $inA "$B" send /fan$$ --to $Bip:$port,$Bip:$p2 --token-file "$tmp/tok" -q
status "fan-out: the sender" "$send" 60 0
status "fan-out: receiver 1" "$recv" 10 0
status "fan-out: receiver 2" "$recv2" 10 0
status "fan-out: consumer 1" "$cons" 10 0
status "fan-out: consumer 2" "$cons2" 10 0
status "fan-out: the producer" "$prod" 10 0

# ---------------------------------------------------------------- 3. refused peers
port=$((port + 2))
run_bg recv $inB "$B" recv --listen $Bip:$port --token-file "$tmp/tok" --consumers 1
run_bg prod $inA "$P" produce /ref$$ 500 1024 8 "$tmp/count3"
listening $port
expect 1 "a wrong token is refused" -- $inA "$B" send /ref$$ --to $Bip:$port --token-file "$tmp/bad"
kill -9 "$prod"
wait "$prod" 2>/dev/null
grep -q "refused us: wrong token" "$tmp/err" || fail "the sender did not say why: $(cat "$tmp/err")"
for kind in short data big bytes id; do
	expect 0 "a garbage peer ($kind)" -- $inA "$P" garbage $Bip:$port $kind
	check_eq "a garbage peer ($kind) is dropped" "$(cat "$tmp/out")" "dropped"
done
run_bg prod $inA "$P" produce /ref$$ 500 1024 8 "$tmp/count4"
run_bg cons $inB "$P" consume /ref$$ 500
sleep 0.2
run_bg send $inA "$B" send /ref$$ --to $Bip:$port --token-file "$tmp/tok" -q
status "after the refusals, a good sender" "$send" 30 0
status "after the refusals, the receiver" "$recv" 10 0
status "after the refusals, the consumer" "$cons" 10 0
status "after the refusals, the producer" "$prod" 10 0
check_eq "one log line per refused peer" "$(grep -c "^mvbridge: refused" "$tmp/recv.err")" 6
grep -q "wrong token" "$tmp/recv.err" || fail "the receiver did not log the wrong token"

# ---------------------------------------------------------------- 4, 5. kill -9 a bridge
# midstream TAG: a stream under way (the producer never runs dry), 1.5 s in.
midstream()
{
	port=$((port + 1))
	run_bg recv $inB "$B" recv --listen $Bip:$port --token-file "$tmp/tok" --consumers 1
	run_bg cons $inB "$P" consume /$1$$ -1
	run_bg prod $inA "$P" produce /$1$$ 1000000 4096 16 "$tmp/count$1"
	listening $port
	run_bg send $inA "$B" send /$1$$ --to $Bip:$port --token-file "$tmp/tok" -q
	sleep 1.5
}

midstream k1
kill -9 "$send"
status "the receiver, its sender killed" "$recv" 20 1
status "the consumer, the sender killed: a clean prefix, then EPIPE" "$cons" 20 0
grep -q "link lost after" "$tmp/recv.err" || fail "the receiver did not log the loss"
n=$(sed -n 's/^received //p' "$tmp/cons.out")
[ "${n:-0}" -gt 0 ] || fail "the consumer received nothing before the kill"
kill -9 "$prod" 2>/dev/null

midstream k2
kill -9 "$recv"
status "the sender, its receiver killed" "$send" 20 1
status "the consumer, the receiver killed: a clean prefix, then EPIPE" "$cons" 20 0
grep -q "messages not acknowledged" "$tmp/send.err" ||
	fail "the sender did not report what was not acknowledged: $(cat "$tmp/send.err")"
kill -9 "$prod" 2>/dev/null

# ---------------------------------------------------------------- 6. the link cut, --retry
port=$((port + 1))
if $inA ss -K dst $Bip >/dev/null 2>&1; then
	run_bg recv $inB "$B" recv --listen $Bip:$port --token-file "$tmp/tok" --consumers 1 --retry 10
	run_bg cons $inB "$P" consume /rt$$ 20000
	run_bg prod $inA "$P" produce /rt$$ 20000 2048 16 "$tmp/count7"
	listening $port
	run_bg send $inA "$B" send /rt$$ --to $Bip:$port --token-file "$tmp/tok" --retry 10
	sleep 1
	$inA ss -K dst $Bip dport = $port >/dev/null 2>&1
	status "retry: the sender" "$send" 60 0
	status "retry: the receiver" "$recv" 10 0
	status "retry: the consumer (all, in order, none twice)" "$cons" 10 0
	status "retry: the producer" "$prod" 10 0
	grep -q "resuming from message" "$tmp/send.err" ||
		fail "retry: the link was not cut and resumed: $(cat "$tmp/send.err")"
else
	echo "skipped: retry (ss -K cannot destroy sockets here)"
fi

# ---------------------------------------------------------------- 7. a slow consumer
port=$((port + 1))
# Local channel 8 slots, remote 8: the producer can be at most 8 + 8 (+1 being loaned, +1 in
# the bridge's hands) ahead of what the consumer has.
run_bg recv $inB "$B" recv --listen $Bip:$port --token-file "$tmp/tok" --consumers 1 -q
run_bg prod $inA "$P" produce /slow$$ 400 65536 8 "$tmp/count8"
run_bg cons $inB "$P" consume /slow$$ 400 5000 "$tmp/count8" 18
listening $port
run_bg send $inA "$B" send /slow$$ --to $Bip:$port --token-file "$tmp/tok" -q
sleep 1
rss1=$(awk '/VmRSS/ { print $2 }' /proc/"$send"/status 2>/dev/null)
r1=$(awk '/VmRSS/ { print $2 }' /proc/"$recv"/status 2>/dev/null)
sleep 1
rss2=$(awk '/VmRSS/ { print $2 }' /proc/"$send"/status 2>/dev/null)
r2=$(awk '/VmRSS/ { print $2 }' /proc/"$recv"/status 2>/dev/null)
status "slow consumer: the consumer (never more than 18 behind the producer)" "$cons" 30 0
status "slow consumer: the sender" "$send" 10 0
status "slow consumer: the receiver" "$recv" 10 0
status "slow consumer: the producer" "$prod" 10 0
checks=$((checks + 1))
if [ -n "$rss1" ] && [ -n "$rss2" ] && [ $((rss2 - rss1)) -gt 2048 ]; then
	fail "the sender's memory grew from $rss1 to $rss2 KiB while the consumer lagged"
fi
if [ -n "$r1" ] && [ -n "$r2" ] && [ $((r2 - r1)) -gt 2048 ]; then
	fail "the receiver's memory grew from $r1 to $r2 KiB while the consumer lagged"
fi

# ---------------------------------------------------------------- 8. bridges embedded
E=$top_builddir/bench/bridge_embedded
for mode in "lat 64 2000" "bw 65536 300"; do
	set -- $mode
	port=$((port + 1))
	run_bg erecv $inB "$E" recv /emb$$ $Bip:$port "$tmp/tok" "$2" "$3" "$1"
	listening $port
	run_bg esend $inA "$E" send /emb$$ $Bip:$port "$tmp/tok" "$2" "$3" "$1"
	status "embedded bridges ($1, $3 x $2 B): the sending end" "$esend" 30 0
	status "embedded bridges ($1, $3 x $2 B): the receiving end" "$erecv" 30 0
	checks=$((checks + 1))
	grep -Eq '^(p50_ns|mib_s) [0-9.]+$' "$tmp/erecv.out" ||
		fail "embedded bridges ($1): no result: $(cat "$tmp/erecv.out" "$tmp/erecv.err")"
done

finish
