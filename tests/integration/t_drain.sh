#!/usr/bin/env bash
# Drain: after SIGUSR1 (or turnpikectl drain) a new Allocate gets 508 while an
# allocation made before keeps working (its Refresh, CreatePermission and data
# through the relay to turnutils_peer); Binding requests are still answered;
# once that allocation is deleted the daemon exits with status 0 and removes
# its pidfile. With drain-timeout the daemon exits at the timeout even though
# an allocation is still live; without allocations it exits at once.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/turnlib.sh
. "$(dirname "$0")/turnlib.sh"

require_binaries
UPEER=$(command -v turnutils_peer)
[ -n "$UPEER" ] || tap_skip_all "turnutils_peer not installed (apt-get install coturn)"

CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
SOCK=$T/ctl.sock
PIDFILE=$T/turnpiked.pid
ctl() { timeout 10 "$CTL" --control-socket "$SOCK" "$@"; }
RELAY_MIN=$((30000 + (RANDOM % 14000) * 2))
RELAY_MAX=$((RELAY_MIN + 99))

pick_port
PEER_PORT=$PICKED
"$UPEER" -L 127.0.0.1 -p "$PEER_PORT" >"$T/peer.log" 2>&1 &
track_pid "$!"

start() {
	start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
		--log-file stdout --relay-threads 2 --min-port "$RELAY_MIN" --max-port "$RELAY_MAX" \
		--realm drain.test --user "alice:alice-pass" --allow-loopback-peers \
		--control-socket "$SOCK" --pidfile "$PIDFILE" "$@"
}
# wait_allocations N: status shows N allocations within 5 s.
wait_allocations() {
	local i n
	for i in $(seq 1 50); do
		n=$(ctl status | sed -n 's/^allocations //p')
		[ "$n" = "$1" ] && return 0
		sleep 0.1
		: "$i"
	done
	return 1
}
# shellcheck disable=SC2317 # called through wait_until
draining_logged() { grep -q "draining: new allocations refused" "$TURNPIKED_LOG"; }

# check_drain HOW: one allocation refreshing after 3 s holds the drain open.
check_drain() {
	local how=$1 old
	start
	bench turn --timeout 3000 --user alice --password alice-pass --refresh-after 3000 \
		--send "127.0.0.1:$PEER_PORT" --count 20 "127.0.0.1:$PORT" >"$T/old.$how" 2>&1 &
	old=$!
	track_pid "$old"
	wait_allocations 1 || bail_out "no allocation: $(cat "$T/old.$how")"
	if [ "$how" = ctl ]; then
		ctl drain >"$T/drain.out" 2>&1
		tap_is "turnpikectl drain succeeds and counts the live allocation" \
			"$(grep -qx "draining allocations 1" "$T/drain.out"; echo $?)" \
			"$(cat "$T/drain.out")"
	else
		kill -USR1 "$TURNPIKED_PID"
	fi
	wait_until 5 draining_logged
	tap_is "$how: the drain is logged" "$?" "$(tail -n 5 "$TURNPIKED_LOG")"
	bench turn --timeout 3000 --user alice --password alice-pass --expect-allocate 508 \
		"127.0.0.1:$PORT" >"$T/new.$how" 2>&1
	tap_is "$how: a new Allocate gets 508 while draining" "$?" "$(cat "$T/new.$how")"
	tap_run "$how: Binding is still answered" bench probe --timeout 3000 "127.0.0.1:$PORT"
	proc_alive "$TURNPIKED_PID"
	tap_is "$how: the daemon waits for the live allocation" "$?"
	wait "$old"
	tap_is "$how: the old allocation refreshes, relays 20 messages and is deleted" "$?" \
		"$(cat "$T/old.$how")"
	wait_exit "$TURNPIKED_PID" 10
	TURNPIKED_PID=
	tap_is "$how: then the daemon exits with status 0" \
		"$([ "$TP_EXIT_STATUS" = 0 ]; echo $?)" "status $TP_EXIT_STATUS" \
		"$(tail -n 10 "$TURNPIKED_LOG")"
	tap_is "$how: the pidfile is removed" "$([ ! -e "$PIDFILE" ]; echo $?)"
	grep -q "drain: no allocation left, exiting" "$TURNPIKED_LOG"
	tap_is "$how: the exit is logged" "$?" "$(tail -n 5 "$TURNPIKED_LOG")"
}

check_drain SIGUSR1
check_drain ctl

# drain-timeout: an allocation that would live 20 s more does not hold the exit.
start --drain-timeout 2
bench turn --timeout 3000 --user alice --password alice-pass --refresh-after 20000 \
	"127.0.0.1:$PORT" >"$T/held" 2>&1 &
HELD=$!
track_pid "$HELD"
wait_allocations 1 || bail_out "no allocation: $(cat "$T/held")"
kill -USR1 "$TURNPIKED_PID"
wait_exit "$TURNPIKED_PID" 10
TURNPIKED_PID=
tap_is "drain-timeout 2: the daemon exits with status 0 with an allocation left" \
	"$([ "$TP_EXIT_STATUS" = 0 ]; echo $?)" "status $TP_EXIT_STATUS"
grep -q "drain-timeout reached with 1 allocations left, exiting" "$TURNPIKED_LOG"
tap_is "  ... and logs the timeout" "$?" "$(tail -n 5 "$TURNPIKED_LOG")"
tap_is "  ... the pidfile is removed" "$([ ! -e "$PIDFILE" ]; echo $?)"
proc_alive "$HELD"
tap_is "  ... while the client still waited to refresh" "$?"
kill "$HELD" 2>/dev/null
wait_exit "$HELD" 5

# Nothing to wait for: turnpikectl still gets its answer, then the daemon exits.
start
ctl drain >"$T/drain.idle" 2>&1
tap_is "turnpikectl drain without allocations answers 'draining allocations 0'" \
	"$(grep -qx "draining allocations 0" "$T/drain.idle"; echo $?)" "$(cat "$T/drain.idle")"
wait_exit "$TURNPIKED_PID" 10
TURNPIKED_PID=
tap_is "  ... and the daemon exits with status 0" "$([ "$TP_EXIT_STATUS" = 0 ]; echo $?)" \
	"status $TP_EXIT_STATUS"

tap_done
