#!/usr/bin/env bash
# A coturn-style config file (name=value, name value, tabs, quotes, comments,
# flags) configures the daemon; the command line overrides it; an invalid value
# stops it with file:line; an unknown option only warns.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries
CONF=$T/turnpike.conf

# The config under test, written for the ports of each start attempt.
write_conf() {
	{
		echo "# turnpike test configuration"
		echo "   # an indented comment"
		echo ""
		echo "listening-port=$CONF_PORT"
		echo "listening-ip 127.0.0.1"
		printf 'log-file\tstdout\n'
		echo "pidfile=\"$T/quoted dir/turnpiked.pid\""
		echo "relay-threads=2"
		echo "no-tcp"
		echo "no-tls"
		echo "${CONF_EXTRA:-}"
	} >"$CONF"
}

# For a start: the file's port is @PORT@ (or @PORT2@ when the command line overrides).
# shellcheck disable=SC2317 # called through TP_PREPARE
conf_from_port() {
	CONF_PORT=$PORT
	write_conf
}
# shellcheck disable=SC2317 # called through TP_PREPARE
conf_from_port2() {
	CONF_PORT=$PORT2
	write_conf
}

mkdir -p "$T/quoted dir"

TP_PREPARE=conf_from_port
start_turnpiked_or_bail -c "$CONF"
tap_ok "daemon starts from the config file"
tap_run "UDP answered on the port from the file" bench probe --timeout 3000 "127.0.0.1:$PORT"
pidfile="$T/quoted dir/turnpiked.pid"
[ -f "$pidfile" ] && [ "$(tr -d ' \n' <"$pidfile")" = "$TURNPIKED_PID" ]
tap_is "quoted pidfile path used as written, holding the pid" "$?" \
	"$(ls -la "$T/quoted dir" 2>&1)" "$(cat "$pidfile" 2>&1)"
tap_run_fails "flag 'no-tcp' from the file: TCP refused" \
	bench probe --transport tcp --timeout 2000 "127.0.0.1:$PORT"
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"
[ ! -e "$pidfile" ]
tap_is "pidfile removed at exit" "$?"

TP_PREPARE=conf_from_port2
start_turnpiked_or_bail -c "$CONF" --listening-port @PORT@
tap_run "command line port overrides the file: answered on it" \
	bench probe --timeout 3000 "127.0.0.1:$PORT"
tap_run_fails "  ... and the file's port is not served" \
	bench probe --timeout 2000 "127.0.0.1:$PORT2"
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

# check_invalid DESC LINE-TEXT: the line goes at the end of the file (line 11);
# the daemon must exit 1 quickly and name file:12 on stderr.
check_invalid() {
	local desc=$1 rc
	CONF_PORT=$PORT
	CONF_EXTRA=$2
	write_conf
	CONF_EXTRA=
	timeout 10 "$TURNPIKED" -c "$CONF" >"$T/inv.out" 2>"$T/inv.err"
	rc=$?
	[ "$rc" -eq 1 ]
	tap_is "$desc: exit status 1" "$?" "exit status $rc" "$(cat "$T/inv.err" "$T/inv.out")"
	grep -qF "$CONF:11" "$T/inv.err"
	tap_is "$desc: stderr names $(basename "$CONF"):11" "$?" "$(cat "$T/inv.err")"
}

check_invalid "listening-port=99999" "listening-port=99999"
check_invalid "relay-threads=many" "relay-threads=many"

TP_PREPARE=conf_from_port
CONF_EXTRA="no-such-option=1"
start_turnpiked -c "$CONF"
tap_is "unknown option in the file: daemon still starts" "$?"
CONF_EXTRA=
grep -q 'no-such-option' "$TURNPIKED_LOG"
tap_is "  ... with a warning naming the option" "$?" "$(cat "$TURNPIKED_LOG")"
tap_run "  ... and answers" bench probe --timeout 3000 "127.0.0.1:$PORT"
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

tap_done
