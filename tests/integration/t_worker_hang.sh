#!/usr/bin/env bash
# A worker thread that hangs (issue 17). One worker is held stopped by
# stall_thread.py (ptrace: that thread alone stops, as a worker stuck in a
# loop or a lock would) while the main loop runs on:
# - the systemd watchdog (WATCHDOG=1, to notify_listener.py standing in for
#   systemd) is not fed while the worker hangs, with one log line, and is fed
#   again once it answers;
# - a control request that waits for the worker ends: normally once it
#   answers, and with "error: server stopping: a worker did not answer" when
#   the server stops first (it used to wait for ever and leak).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries
command -v python3 >/dev/null 2>&1 || tap_skip_all "python3 is not installed"
[ "$(id -u)" -eq 0 ] || tap_skip_all "holding a thread with ptrace needs root"
CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
LISTENER=$TOP_SRCDIR/tests/integration/notify_listener.py
STALL=$TOP_SRCDIR/tests/integration/stall_thread.py
SOCK=$T/control.sock
OUT=$T/notify.out
HOLD=$T/hold

timeout 120 python3 "$LISTENER" "$T/notify.sock" "$OUT" 100 &
track_pid "$!"
wait_until 10 grep -qs LISTENING "$OUT" || bail_out "the notification socket did not start"

pings() { count_lines "^pid=$TURNPIKED_PID WATCHDOG=1\$" "$OUT"; }
# shellcheck disable=SC2317 # called through wait_until
pings_above() { [ "$(pings)" -gt "$1" ]; }

# stall NAME: holds the thread named NAME stopped while $HOLD exists (60 s at most).
stall() {
	touch "$HOLD"
	: >"$T/stall.out"
	timeout 90 python3 "$STALL" "$TURNPIKED_PID" "$1" "$HOLD" 60 >>"$T/stall.out" 2>&1 &
	STALLER=$!
	track_pid "$STALLER"
	wait_until 20 grep -q "^stalled" "$T/stall.out"
}
release() {
	rm -f "$HOLD"
	wait_exit "$STALLER" 10
	grep -q "^released" "$T/stall.out"
}

export NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000
start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
	--log-file stdout --relay-threads 2 --control-socket "$SOCK"
unset NOTIFY_SOCKET WATCHDOG_USEC

wait_until 10 pings_above 2
tap_is "WATCHDOG=1 while every worker answers" "$?" "$(sort "$OUT" | uniq -c)"

stall tpworker1
tap_is "worker 1 is held stopped (ptrace), the rest of the process runs" "$?" \
	"$(cat "$T/stall.out")"
wait_until 10 grep -q "worker 1 has not answered for a watchdog period" "$TURNPIKED_LOG"
tap_is "the hang is logged" "$?" "$(grep worker "$TURNPIKED_LOG")"
before=$(pings)
# Ten watchdog periods with the worker held: systemd would restart the service.
sleep 2
after=$(pings)
tap_is "no WATCHDOG=1 while a worker hangs" "$([ "$after" -eq "$before" ]; echo $?)" \
	"$before before, $after after 2 s"
timeout 60 "$CTL" --control-socket "$SOCK" sessions >"$T/sessions1" 2>&1 &
CTL1=$!
track_pid "$CTL1"
release
tap_is "worker 1 runs again" "$?" "$(cat "$T/stall.out")"
wait_until 10 pings_above "$after"
tap_is "WATCHDOG=1 again once it answers" "$?" "$(tail -n 3 "$OUT")"
grep -q "worker 1 answers again" "$TURNPIKED_LOG"
tap_is "... which is logged" "$?" "$(grep worker "$TURNPIKED_LOG")"
wait_exit "$CTL1" 20
tap_is "a control request that waited for the worker is answered" "$TP_EXIT_STATUS" \
	"$(cat "$T/sessions1")"

stall tpworker1
tap_is "worker 1 held again" "$?" "$(cat "$T/stall.out")"
timeout 60 "$CTL" --control-socket "$SOCK" sessions >"$T/sessions2" 2>&1 &
CTL2=$!
track_pid "$CTL2"
# The request is in before the stop: its connection is accepted, then the main
# loop answers a command of its own on another one.
# shellcheck disable=SC2317 # called through wait_until
connected() { [ "$(ss -Hx state connected | grep -cF "$SOCK")" -ge 1 ]; }
wait_until 10 connected
"$CTL" --control-socket "$SOCK" loglevel info >/dev/null 2>&1
kill -TERM "$TURNPIKED_PID"
release
wait_exit "$CTL2" 20
rc=$TP_EXIT_STATUS
[ "$rc" -eq 1 ] && grep -q "server stopping: a worker did not answer" "$T/sessions2"
tap_is "stopping with a request waiting for a hung worker: the request ends with an error" \
	"$?" "exit status $rc" "$(cat "$T/sessions2")"
wait_exit "$TURNPIKED_PID" 20
tap_is "turnpiked exits 0" "$([ "$TP_EXIT_STATUS" = 0 ]; echo $?)" "status $TP_EXIT_STATUS" \
	"$(tail -n 5 "$TURNPIKED_LOG")"
TURNPIKED_PID=
tap_done
