#!/usr/bin/env bash
# systemd's notification protocol, with a test socket standing in for systemd:
# READY=1 once the daemon serves, RELOADING=1 (with MONOTONIC_USEC) then
# READY=1 around SIGHUP, WATCHDOG=1 when WATCHDOG_USEC asks for it (and not
# when WATCHDOG_PID names another process), STOPPING=1 at SIGTERM, an abstract
# socket, every datagram from the daemon's own PID. Then the shipped unit file
# passes systemd-analyze verify.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries
command -v python3 >/dev/null 2>&1 || tap_skip_all "python3 is not installed"
LISTENER=$TOP_SRCDIR/tests/integration/notify_listener.py
ARGS=(-n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls --log-file stdout
	--relay-threads 1)

# listen ADDRESS OUT: starts the stand-in socket and waits until it is bound.
listen() {
	timeout 60 python3 "$LISTENER" "$1" "$2" 50 &
	track_pid "$!"
	wait_until 10 grep -qs LISTENING "$2" || bail_out "the notification socket did not start"
}

# has OUT REGEX: a datagram matching the extended regex arrived.
has() {
	grep -qE "$2" "$1"
}

OUT=$T/notify.out
listen "$T/notify.sock" "$OUT"
export NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=200000
start_turnpiked_or_bail "${ARGS[@]}"
unset NOTIFY_SOCKET WATCHDOG_USEC
PID=$TURNPIKED_PID

wait_until 10 has "$OUT" "^pid=$PID READY=1\|STATUS=serving with 1 workers on port $PORT\$"
tap_is "READY=1 with a STATUS once the daemon serves" "$?" "$(cat "$OUT")"

# shellcheck disable=SC2317 # called through wait_until
three_pings() {
	[ "$(count_lines "^pid=$PID WATCHDOG=1\$" "$OUT")" -ge 3 ]
}
wait_until 10 three_pings
tap_is "WATCHDOG=1 repeats with WATCHDOG_USEC set" "$?" "$(sort "$OUT" | uniq -c)"

kill -HUP "$PID"
# RELOADING=1 with a monotonic time stamp, then READY=1 again, in that order.
# shellcheck disable=SC2317 # called through wait_until
reload_pair() {
	awk -v pid="pid=$PID" '
		$1 == pid && $2 ~ /^RELOADING=1\|MONOTONIC_USEC=[0-9]+$/ { r = NR }
		$1 == pid && $2 ~ /^READY=1/ && r && NR > r { ok = 1 }
		END { exit !ok }' "$OUT"
}
wait_until 10 reload_pair
tap_is "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1" "$?" "$(grep -v WATCHDOG "$OUT")"
mono=$(grep -oE 'MONOTONIC_USEC=[0-9]+' "$OUT" | head -n 1 | cut -d= -f2)
read -r up _ </proc/uptime
now=${up%%.*}
# CLOCK_MONOTONIC and /proc/uptime count from boot: the stamp is within a minute of now.
[ -n "$mono" ] && [ $((mono / 1000000)) -gt $((now - 60)) ] && [ $((mono / 1000000)) -le $((now + 60)) ]
tap_is "MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds" "$?" "stamp $mono, uptime $now"

stop_turnpiked
tap_is "the daemon exits 0 on SIGTERM" "$?" "status $TURNPIKED_STATUS"
wait_until 5 has "$OUT" "^pid=$PID STOPPING=1\$"
tap_is "STOPPING=1 at SIGTERM" "$?" "$(grep -v WATCHDOG "$OUT")"
awk -v pid="pid=$PID" '$1 != "LISTENING" && $1 != pid { bad = 1 } END { exit bad }' "$OUT"
tap_is "every datagram comes from the daemon's PID" "$?" "$(sort -u "$OUT")"

# An abstract socket; WATCHDOG_PID names another process: no watchdog pings.
OUT2=$T/notify2.out
NAME="@turnpike-test-$$-$RANDOM"
listen "$NAME" "$OUT2"
export NOTIFY_SOCKET=$NAME WATCHDOG_USEC=100000 WATCHDOG_PID=1
start_turnpiked_or_bail "${ARGS[@]}"
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
PID=$TURNPIKED_PID
wait_until 10 has "$OUT2" "^pid=$PID READY=1"
tap_is "READY=1 on an abstract socket (@name)" "$?" "$(cat "$OUT2")"
# Ten watchdog intervals: pings would have come by now.
sleep 1
! has "$OUT2" WATCHDOG
tap_is "no WATCHDOG=1 when WATCHDOG_PID is another process" "$?" "$(cat "$OUT2")"
stop_turnpiked
wait_until 5 has "$OUT2" "^pid=$PID STOPPING=1\$"
tap_is "STOPPING=1 on the abstract socket" "$?" "$(cat "$OUT2")"

# A NOTIFY_SOCKET that leads nowhere does not stop the daemon.
export NOTIFY_SOCKET=$T/nobody-listens
start_turnpiked "${ARGS[@]}"
tap_is "a dead NOTIFY_SOCKET is harmless" "$?"
unset NOTIFY_SOCKET
stop_turnpiked

# The unit file as make install writes it, checked by systemd itself.
UNIT=$TOP_BUILDDIR/etc/turnpiked.service
if ! command -v systemd-analyze >/dev/null 2>&1; then
	tap_skip "systemd-analyze verify" "systemd-analyze is not installed"
elif [ ! -f "$UNIT" ]; then
	tap_fail "the unit file is built" "no $UNIT"
else
	mkdir -p "$T/unit"
	# verify needs an executable that exists: the built daemon stands in.
	sed "s|^ExecStart=[^ ]*|ExecStart=$TURNPIKED|" "$UNIT" >"$T/unit/turnpiked.service"
	timeout 60 systemd-analyze verify --man=no "$T/unit/turnpiked.service" >"$T/verify.out" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] && [ ! -s "$T/verify.out" ]
	tap_is "systemd-analyze verify accepts turnpiked.service without a warning" "$?" \
		"exit status $rc" "$(cat "$T/verify.out")"
	# shellcheck disable=SC2016 # $MAINPID is for systemd
	for key in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' WatchdogSec= NoNewPrivileges=yes \
		ProtectSystem=strict 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK' \
		CapabilityBoundingSet=CAP_NET_BIND_SERVICE; do
		grep -qxF -- "$key" "$UNIT" || grep -q "^$key" "$UNIT"
		tap_is "the unit sets $key" "$?"
	done
	grep -qE '^ExecStart=/[^ ]*/bin/turnpiked -c /[^ ]*/turnpike\.conf$' "$UNIT"
	tap_is "ExecStart names the installed daemon" "$?" "$(grep ^ExecStart "$UNIT")"
fi

tap_done
