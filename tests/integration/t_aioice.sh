#!/usr/bin/env bash
# aioice (a third-party Python ICE agent with a TURN client): two agents that
# are given only each other's relay candidates connect through the server's
# relay over UDP and over TCP, with a static user and with TURN REST API
# (shared secret) credentials, and move a payload both ways intact.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_turn_server
# aioice is installed for Debian's interpreter, which may not be the first python3.
PY=${PY:-/usr/bin/python3}
AGENT=$TOP_SRCDIR/tests/integration/ice_agent.py
if ! [ -x "$PY" ] || ! timeout 30 "$PY" -c 'import aioice' >/dev/null 2>&1; then
	tap_skip_all "aioice is not importable by $PY (apt-get install python3-aioice)"
fi

turn_common_args
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 \
	--relay-ip 127.0.0.1 --allow-loopback-peers
STATIC_PORT=$PORT
STATIC_PID=$TURNPIKED_PID

# pair_ok FILE: both payloads intact, both relay candidates on 127.0.0.1 in the
# relay port block, and (when aioice says) the nominated pairs are relay->relay.
pair_ok() {
	awk -v lo="$RELAY_MIN" -v hi="$RELAY_MAX" '
		/ relay candidate / {
			a = $NF; p = a; sub(/.*:/, "", p); ip = a; sub(/:[0-9]+$/, "", ip)
			n++
			if (ip != "127.0.0.1" || p + 0 < lo || p + 0 > hi) {
				print "relay candidate " a " not 127.0.0.1:" lo "-" hi; bad = 1
			}
		}
		/ selected pair / && !/ relay -> relay / { print "not relayed: " $0; bad = 1 }
		/ received [0-9]+ bytes intact/ { got++ }
		END {
			if (n != 2) { print n + 0 " relay candidates, expected 2"; bad = 1 }
			if (got != 2) { print got + 0 " of 2 payloads arrived intact"; bad = 1 }
			exit bad
		}' "$1"
}

# run_pair DESC ICE_AGENT-ARGS...: the pair connects and exchanges payloads.
run_pair() {
	local desc=$1 rc ck start=$SECONDS
	shift
	timeout 60 "$PY" "$AGENT" pair "$@" >"$T/pair" 2>&1
	rc=$?
	pair_ok "$T/pair" >"$T/pair.check"
	ck=$?
	[ "$rc" -eq 0 ] && [ "$ck" -eq 0 ]
	tap_is "$desc" "$?" "ice_agent.py pair $* (exit status $rc)" "$(cat "$T/pair.check")" \
		"$(tail -n 15 "$T/pair")"
	echo "# $desc: $(grep -c 'intact' "$T/pair") payloads in $((SECONDS - start)) s"
}

# run_pair_fails DESC EXPECTED-TEXT ICE_AGENT-ARGS...: the pair fails, saying so.
run_pair_fails() {
	local desc=$1 want=$2 rc
	shift 2
	timeout 60 "$PY" "$AGENT" pair "$@" >"$T/pair" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] && grep -q -- "$want" "$T/pair"
	tap_is "$desc" "$?" "exit status $rc, expected 1 and '$want'" "$(tail -n 8 "$T/pair")"
}

run_pair "UDP: two aioice agents connect through the relay" \
	--turn "127.0.0.1:$STATIC_PORT" --transport udp --user "$TURN_USER" --password "$TURN_PASS"
run_pair "TCP: two aioice agents connect through the relay" \
	--turn "127.0.0.1:$STATIC_PORT" --transport tcp --user "$TURN_USER" --password "$TURN_PASS"
run_pair_fails "a wrong password is refused with 401" "401" \
	--turn "127.0.0.1:$STATIC_PORT" --transport udp --user "$TURN_USER" --password wrong

# TURN REST API: a second server with a shared secret (coturn's use-auth-secret
# takes no static users, so the REST agents get their own server).
RELAY_MIN=
start_turn_server_or_bail -n --listening-port @PORT@ --min-port @RELAY_MIN@ \
	--max-port @RELAY_MAX@ --use-auth-secret --static-auth-secret "$TURN_SECRET" \
	--realm "$TURN_REALM" --log-file stdout --listening-ip 127.0.0.1 \
	--relay-ip 127.0.0.1 --allow-loopback-peers
run_pair "REST credentials, UDP: aioice agents connect through the relay" \
	--turn "127.0.0.1:$PORT" --transport udp --user "$TURN_USER" --rest-secret "$TURN_SECRET"
run_pair "REST credentials, TCP: aioice agents connect through the relay" \
	--turn "127.0.0.1:$PORT" --transport tcp --user "$TURN_USER" --rest-secret "$TURN_SECRET"
tap_run "turnpike-bench turn with REST credentials allocates" \
	bench turn --user "$TURN_USER" --secret "$TURN_SECRET" "127.0.0.1:$PORT"
run_pair_fails "REST credentials from another secret are refused with 401" "401" \
	--turn "127.0.0.1:$PORT" --transport udp --user "$TURN_USER" --rest-secret not-the-secret

proc_alive "$TURNPIKED_PID"
tap_is "REST server still running" "$?"
turn_stop_check
TURNPIKED_PID=$STATIC_PID
proc_alive "$TURNPIKED_PID"
tap_is "static-user server still running" "$?"
turn_stop_check

tap_done
