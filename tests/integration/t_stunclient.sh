#!/usr/bin/env bash
# coturn's turnutils_stunclient (a third-party client) against the daemon: it
# must report the client's reflexive address on 127.0.0.1 and ::1.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries
STUNCLIENT=${STUNCLIENT:-$(command -v turnutils_stunclient)}
if [ -z "$STUNCLIENT" ]; then
	tap_skip_all "turnutils_stunclient not installed (apt-get install coturn)"
fi

make_cert
std_args
start_turnpiked_or_bail "${STD_ARGS[@]}"

# check_reflexive DESC IP-PATTERN STUNCLIENT-ARGS...: it exits 0 and every
# "UDP reflexive addr:" line it prints names IP with a port in 1-65535.
check_reflexive() {
	local desc=$1 ip=$2 rc
	shift 2
	timeout 15 "$STUNCLIENT" "$@" >"$T/sc" 2>&1
	rc=$?
	awk -v ip="$ip" '
		/UDP reflexive addr: / {
			a = $0; sub(/.*UDP reflexive addr: /, "", a); sub(/[ \t\r]+$/, "", a)
			n++
			i = a; sub(/:[0-9]+$/, "", i); p = a; sub(/.*:/, "", p)
			if (i != ip || p + 0 < 1 || p + 0 > 65535) { print "unexpected: " a; bad = 1 }
		}
		END { if (n == 0) { print "no reflexive address reported"; bad = 1 } exit bad }' \
		"$T/sc" >"$T/sc.check"
	[ "$rc" -eq 0 ] && [ -s "$T/sc" ] && ! [ -s "$T/sc.check" ]
	tap_is "$desc" "$?" "exit status $rc" "$(cat "$T/sc.check" "$T/sc")"
}

check_reflexive "turnutils_stunclient 127.0.0.1 reports 127.0.0.1:port" 127.0.0.1 \
	-p "$PORT" 127.0.0.1
check_reflexive "turnutils_stunclient -L 127.0.0.1 reports 127.0.0.1:port" 127.0.0.1 \
	-p "$PORT" -L 127.0.0.1 127.0.0.1
if have_ipv6; then
	check_reflexive "turnutils_stunclient ::1 reports ::1:port" ::1 -p "$PORT" ::1
	check_reflexive "turnutils_stunclient -L ::1 reports ::1:port" ::1 -p "$PORT" -L ::1 ::1
else
	tap_skip "turnutils_stunclient ::1 reports ::1:port" "no ::1 on lo"
	tap_skip "turnutils_stunclient -L ::1 reports ::1:port" "no ::1 on lo"
fi

# A control that must fail: the same client against a port nobody serves.
pick_port
timeout 5 "$STUNCLIENT" -p "$PICKED" 127.0.0.1 >"$T/none" 2>&1
! grep -q 'reflexive addr' "$T/none"
tap_is "turnutils_stunclient reports nothing when no server answers" "$?" "$(cat "$T/none")"

proc_alive "$TURNPIKED_PID"
tap_is "daemon still running" "$?"
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

tap_done
