#!/usr/bin/env bash
# Signals: SIGTERM and SIGINT stop the daemon with status 0 and remove its
# pidfile, even with clients connected; SIGHUP after the log file was moved
# away (logrotate) makes it write a fresh file at the original path and it
# keeps serving.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries
make_cert
std_args
PIDFILE=$T/turnpiked.pid

# check_stop SIGNAL: start, check the pidfile, stop with SIGNAL while a TCP
# client holds half a request.
check_stop() {
	local sig=$1 hold_pid t0
	start_turnpiked_or_bail "${STD_ARGS[@]}"
	[ -f "$PIDFILE" ] && [ "$(tr -d ' \n' <"$PIDFILE")" = "$TURNPIKED_PID" ]
	tap_is "SIG$sig run: pidfile holds the daemon's pid" "$?" "$(cat "$PIDFILE" 2>&1)"
	timeout 60 "$TURNPIKE_BENCH" hold --connections 3 --hex 0001 --duration 30000 \
		"127.0.0.1:$PORT" >"$T/hold.$sig" 2>&1 &
	hold_pid=$!
	track_pid "$hold_pid"
	for _ in $(seq 1 100); do
		grep -q '^held' "$T/hold.$sig" && break
		sleep 0.05
	done
	t0=$SECONDS
	stop_turnpiked "$sig" 5
	tap_is "SIG$sig: exit status 0 within 5 s (with clients connected)" "$?" \
		"status $TURNPIKED_STATUS after $((SECONDS - t0)) s" "$(tail -n 20 "$TURNPIKED_LOG")"
	[ ! -e "$PIDFILE" ]
	tap_is "SIG$sig: pidfile removed" "$?"
	kill "$hold_pid" 2>/dev/null
	wait_exit "$hold_pid" 5
}

check_stop TERM
check_stop INT

# logrotate: move the file away, SIGHUP, expect a new file at the same path.
mkdir -p "$T/log"
LOGFILE=$T/log/turnpiked.log
listen_args
TP_READY_LOG=$LOGFILE
start_turnpiked_or_bail -n "${LISTEN_ARGS[@]}" --listening-port @PORT@ --no-tls \
	--log-file "$LOGFILE" --pidfile "$PIDFILE" --relay-threads 2
TP_READY_LOG=
tap_run "log file daemon answers" bench probe --timeout 3000 "127.0.0.1:$PORT"
mv "$LOGFILE" "$LOGFILE.1"
kill -HUP "$TURNPIKED_PID"
for _ in $(seq 1 100); do
	[ -e "$LOGFILE" ] && break
	sleep 0.05
done
[ -e "$LOGFILE" ]
tap_is "SIGHUP: a new log file appears at the original path" "$?" "$(ls -la "$T/log")"
sleep 0.5
proc_alive "$TURNPIKED_PID"
tap_is "SIGHUP: daemon still running" "$?" "$(tail -n 20 "$TURNPIKED_LOG")"
kill -HUP "$TURNPIKED_PID"
sleep 0.3
tap_run "SIGHUP: still answering (after a second SIGHUP)" \
	bench probe --count 3 --timeout 3000 "127.0.0.1:$PORT"
old_size=$(stat -c %s "$LOGFILE.1")
stop_turnpiked TERM 5
tap_is "SIGTERM after SIGHUP: exit status 0" "$?" "status $TURNPIKED_STATUS"
[ -s "$LOGFILE" ]
tap_is "the daemon wrote to the new log file" "$?" "$(ls -la "$T/log")"
[ "$(stat -c %s "$LOGFILE.1")" = "$old_size" ]
tap_is "  ... and no longer to the rotated one" "$?" "$(tail -n 5 "$LOGFILE.1")"
grep -qF "$TURNPIKED_READY" "$LOGFILE.1"
tap_is "the rotated file holds the startup log" "$?"

tap_done
