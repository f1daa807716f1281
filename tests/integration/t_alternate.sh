#!/usr/bin/env bash
# ALTERNATE-SERVER (RFC 8489 §10) with coturn's turnutils_uclient: server A on
# 127.0.0.1 has alternate-server and tls-alternate-server pointing at server B
# on 127.0.0.2. Over UDP, TCP and TLS the client is answered 300 Try Alternate,
# follows it, gets its relay address from B and every message is echoed
# through B. Without alternates A serves the client itself, and a draining A
# with alternates still redirects (no 508).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
UCLIENT=${UCLIENT:-$(command -v turnutils_uclient)}
UPEER=${UPEER:-$(command -v turnutils_peer)}
if [ -z "$UCLIENT" ] || [ -z "$UPEER" ]; then
	tap_skip_all "turnutils_uclient/turnutils_peer not installed (apt-get install coturn)"
fi

N=10
make_cert
turn_common_args

# Server B, the alternate, on 127.0.0.2.
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.2 \
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY" \
	--relay-ip 127.0.0.2 --allow-loopback-peers
B_PID=$TURNPIKED_PID
B_PORT=$PORT
B_TLS=$TLS_PORT

start_udp_peer

# Server A on 127.0.0.1: every Allocate goes to B.
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 \
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY" \
	--relay-ip 127.0.0.1 --allow-loopback-peers \
	--alternate-server "127.0.0.2:$B_PORT" --tls-alternate-server "127.0.0.2:$B_TLS/localhost" \
	--prometheus --prometheus-port @PORT2@
A_PORT=$PORT
A_TLS=$TLS_PORT
A_METRICS=$PORT2

# uclient_run NAME PORT FLAGS...: one verbose run of N messages against A.
uclient_run() {
	local name=$1 port=$2
	shift 2
	timeout 60 "$UCLIENT" -v "$@" -n "$N" -m 1 -l 120 -u "$TURN_USER" -w "$TURN_PASS" \
		-e 127.0.0.1 -r "$PEER_PORT" -p "$port" 127.0.0.1 >"$T/uc.$name" 2>&1
	echo "$?" >"$T/uc.$name.rc"
}

# redirected NAME B-PORT: the client saw 300, connected to B, relayed there, lost nothing.
redirected() {
	local name=$1 bport=$2 ck
	uclient_summary "$T/uc.$name" $((2 * N)) >"$T/uc.$name.check"
	ck=$?
	[ "$(cat "$T/uc.$name.rc")" = 0 ] && [ "$ck" -eq 0 ] &&
		grep -q 'error 300 (Try Alternate)' "$T/uc.$name" &&
		grep -q "Connected to: 127.0.0.2:$bport" "$T/uc.$name" &&
		grep -q 'Received relay addr: 127.0.0.2:' "$T/uc.$name" &&
		! grep -q 'Received relay addr: 127.0.0.1:' "$T/uc.$name"
}

# check_redirected NAME DESC B-PORT: one TAP line for redirected.
check_redirected() {
	local name=$1 desc=$2 bport=$3
	redirected "$name" "$bport"
	tap_is "$desc" "$?" "exit status $(cat "$T/uc.$name.rc"): $(cat "$T/uc.$name.check")" \
		"$(grep -E 'error|Connected to|relay addr|tot_send' "$T/uc.$name" | tail -n 12)"
	echo "# $desc: $(grep -c 'error 300' "$T/uc.$name") x 300, $(cat "$T/uc.$name.check")"
}

# redirected_run NAME DESC B-PORT PORT FLAGS...: a run and its check; uclient's
# TLS runs can lose an early message on a loaded machine (against coturn too, see
# t_uclient.sh), so a run with loss is repeated once and the second one counts.
redirected_run() {
	local name=$1 desc=$2 bport=$3 port=$4
	shift 4
	uclient_run "$name" "$port" "$@"
	if ! redirected "$name" "$bport"; then
		echo "# $desc: first run: $(cat "$T/uc.$name.check"); repeated"
		mv "$T/uc.$name" "$T/uc.$name.first"
		uclient_run "$name" "$port" "$@"
	fi
	check_redirected "$name" "$desc" "$bport"
}

redirected_run udp "UDP: 300 Try Alternate, followed to 127.0.0.2:$B_PORT, relayed there" \
	"$B_PORT" "$A_PORT"
redirected_run tcp "TCP: 300 Try Alternate, followed to 127.0.0.2:$B_PORT, relayed there" \
	"$B_PORT" "$A_PORT" -t
redirected_run tls "TLS: 300 Try Alternate (tls-alternate-server), followed to 127.0.0.2:$B_TLS" \
	"$B_TLS" "$A_TLS" -t -S -E "$CERT" -z 50

# A counts what it redirected: every 300 the three uclient runs reported.
WANT=$(cat "$T"/uc.udp* "$T"/uc.tcp* "$T"/uc.tls* | grep -c 'error 300 (Try Alternate)')
timeout 15 python3 "$TOP_SRCDIR/tests/integration/promtext.py" get \
	"http://127.0.0.1:$A_METRICS/metrics" "$T/a.prom" >/dev/null
REDIRECTS=$(timeout 15 python3 "$TOP_SRCDIR/tests/integration/promtext.py" value "$T/a.prom" \
	turnpike_redirects_total)
[ "$REDIRECTS" = "$WANT" ] && [ "$WANT" -ge 3 ]
tap_is "A's turnpike_redirects_total counts the $WANT answers 300 the clients saw" "$?" \
	"got '$REDIRECTS'"
turn_stop_check

# Drain: A holds one allocation (made before it had alternates), is reloaded with
# an alternate-server, then drained (SIGUSR1): a new Allocate is redirected, not
# refused with 508, while the old allocation keeps A running.
echo '# no alternate yet' >"$T/a.conf"
start_turn_server_or_bail -c "$T/a.conf" "${TURN_ARGS[@]:1}" --listening-ip 127.0.0.1 \
	--relay-ip 127.0.0.1 --allow-loopback-peers --no-tls
bench turn --user "$TURN_USER" --password "$TURN_PASS" --refresh-after 20000 \
	"127.0.0.1:$PORT" >"$T/hold" 2>&1 &
HOLD=$!
track_pid "$HOLD"
wait_until 10 grep -q '^allocate ok' "$T/hold" || bail_out "no allocation to hold: $(cat "$T/hold")"
echo "alternate-server=127.0.0.2:$B_PORT" >"$T/a.conf"
kill -HUP "$TURNPIKED_PID"
wait_until 10 grep -q 'configuration reloaded' "$TURNPIKED_LOG"
kill -USR1 "$TURNPIKED_PID"
wait_until 10 grep -q 'draining' "$TURNPIKED_LOG"
redirected_run drain "draining A (SIGUSR1, after a reload added alternate-server) redirects instead of 508" \
	"$B_PORT" "$PORT"
proc_alive "$TURNPIKED_PID"
tap_is "A kept running for its old allocation while it redirected" "$?"
wait_exit "$HOLD" 40
wait_exit "$TURNPIKED_PID" 40
TURNPIKED_PID=

# A control that must fail: A without alternates serves the client itself.
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 \
	--allow-loopback-peers --no-tls
uclient_run plain "$PORT"
! redirected plain "$B_PORT" &&
	grep -q 'Received relay addr: 127.0.0.1:' "$T/uc.plain" && ! grep -q 'error 300' "$T/uc.plain"
tap_is "without alternate-server the same client is served by A itself (no 300)" "$?" \
	"$(grep -E 'error|relay addr|tot_send' "$T/uc.plain" | tail -n 8)"
turn_stop_check

proc_alive "$B_PID"
tap_is "server B still running" "$?"
kill "$B_PID"
wait_exit "$B_PID" 10

tap_done
