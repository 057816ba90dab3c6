#!/bin/sh
# tests/systemd.sh - memview-gc.service and memview-gc.timer (systemd/, issue 16):
#   1. the service made from its .in names the built mvshm and the environment file, and its
#      ExecStart is a command line mvshm gc accepts (run with --dry-run, on nothing: a pattern
#      that matches no object);
#   2. systemd-analyze verify finds nothing wrong with either unit (with ExecStart pointed at the
#      built mvshm: verify wants an executable there);
#   3. the hardening asked for is there - ProtectSystem=strict, /dev/shm the only writable path,
#      no network - and nothing that would hide from gc the processes or locks it must see
#      (PrivatePIDs=, ProtectProc=invisible, ProcSubset=pid, PrivateUsers=);
#   4. the timer is not enabled by anything in the units: only [Install] WantedBy=timers.target,
#      and the service has no [Install] section (the timer alone starts it).
#
# Run by automake with $top_srcdir and $top_builddir. Exits 0 when every check passes, 1 when one
# fails, 77 ("SKIP: reason") when the units are not built (--with-systemdsystemunitdir=no).
# Without systemd-analyze, check 2 is left out and the test says so.
#
# SPDX-License-Identifier: MIT
# $tmp is lib.sh's (make_tmp).
# shellcheck disable=SC2154
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=.}"
MVSHM=$top_builddir/tools/mvshm
service=$top_builddir/systemd/memview-gc.service
timer=$top_srcdir/systemd/memview-gc.timer
. "$top_srcdir/tests/tools/lib.sh"

need "$MVSHM"
if [ ! -f "$service" ]; then
	echo "SKIP: $service is not built"
	exit 77
fi
make_tmp systemd

# prop FILE KEY: the values of KEY= in FILE, one a line.
prop()
{
	sed -n "s/^$2=//p" "$1"
}

# 1. What the service runs.
exec_start=$(prop "$service" ExecStart)
case $exec_start in
*/mvshm\ gc\ --yes\ --older-than\ \$\{MVSHM_GC_OLDER_THAN\}\ \$MVSHM_GC_ARGS) ;;
*) fail "ExecStart: $exec_start" ;;
esac
checks=$((checks + 1))
has "$service" '^EnvironmentFile=-/.*/default/memview-gc$' "the environment file, optional"
has "$service" '^Environment=MVSHM_GC_OLDER_THAN=1d$' "the documented default age"
hasnt "$service" '@[a-z]*@' "every @variable@ substituted"
# The command line as systemd would make it with the defaults, with --dry-run, on no object
# (outside the initial PID namespace gc refuses to judge anything unless told; nothing is
# judged here).
pidns_visible "$MVSHM"
expect 0 "the service's gc command line" -- "$MVSHM" gc --dry-run --yes --older-than 1d \
	${VISIBLE:+"$VISIBLE"} "/mvtest-$$-no-such-object-*"

# 2. systemd's own opinion.
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|^ExecStart=[^ ]*/mvshm |ExecStart=$(cd "$(dirname "$MVSHM")" && pwd)/mvshm |" \
		"$service" >"$tmp/memview-gc.service"
	cp "$timer" "$tmp/memview-gc.timer"
	expect 0 "systemd-analyze verify" -- systemd-analyze verify --man=no \
		"$tmp/memview-gc.service" "$tmp/memview-gc.timer"
	[ -s "$tmp/err" ] && { fail "systemd-analyze verify said:"; sed 's/^/    /' "$tmp/err"; }
else
	echo "note: no systemd-analyze: the units are not verified by systemd"
fi

# 3. Hardened, and still able to see every process.
check_eq "ProtectSystem" "$(prop "$service" ProtectSystem)" strict
check_eq "ReadWritePaths: /dev/shm only" "$(prop "$service" ReadWritePaths)" /dev/shm
check_eq "PrivateNetwork" "$(prop "$service" PrivateNetwork)" yes
check_eq "RestrictAddressFamilies" "$(prop "$service" RestrictAddressFamilies)" AF_UNIX
check_eq "NoNewPrivileges" "$(prop "$service" NoNewPrivileges)" yes
check_eq "ProtectHome" "$(prop "$service" ProtectHome)" yes
has "$service" '^CapabilityBoundingSet=.*CAP_SYS_PTRACE' "CAP_SYS_PTRACE kept: /proc of others"
hasnt "$service" '^(PrivatePIDs|PrivateUsers)=yes' "the host's PID and user namespaces"
hasnt "$service" '^ProtectProc=(invisible|noaccess|ptraceable)' "every process in /proc"
hasnt "$service" '^ProcSubset=pid' "all of /proc (/proc/locks)"
hasnt "$service" '^InaccessiblePaths=.*/proc' "/proc"

# 4. Nothing enabled by the units themselves.
hasnt "$service" '^\[Install\]' "the service: started by the timer only"
check_eq "the timer's [Install]" "$(prop "$timer" WantedBy)" timers.target
check_eq "the timer's schedule" "$(prop "$timer" OnCalendar)" daily

finish
