#!/usr/bin/env bash
# One port, every framing: each TCP listener tells TLS from plain STUN/TURN by
# the first byte and serves both, as coturn does. Plain STUN Binding and
# Allocate (turnpike-bench) and coturn's turnutils_uclient -t sent to the TLS
# port are answered and relay with zero loss; TLS to the plain port works too.
# ALPN (RFC 7443): openssl s_client -alpn stun.turn negotiates stun.turn, a
# client offering only h2 still connects (no ALPN). 2000 half-open connections
# leave the server serving others.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_turn_server
UCLIENT=${UCLIENT:-$(command -v turnutils_uclient)}
UPEER=${UPEER:-$(command -v turnutils_peer)}
if [ -z "$UCLIENT" ] || [ -z "$UPEER" ]; then
	tap_skip_all "turnutils_uclient/turnutils_peer not installed (apt-get install coturn)"
fi

make_cert
turn_common_args
# The 2000 half-open connections below come from one address.
extra=()
[ "$TURN_SERVER_IMPL" = turnpike ] && extra=(--max-connections-per-ip 0)
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 \
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY" \
	--relay-ip 127.0.0.1 --allow-loopback-peers "${extra[@]}"
SRV_TLS=127.0.0.1:$TLS_PORT

bench probe -t tcp "$SRV_TLS" >"$T/p1" 2>&1 && grep -q '^mapped-address 127\.0\.0\.1:' "$T/p1"
tap_is "plain STUN Binding over TCP to the TLS port is answered" "$?" "$(cat "$T/p1")"
bench turn -t tcp --user "$TURN_USER" --password "$TURN_PASS" "$SRV_TLS" >"$T/t1" 2>&1 &&
	grep -q '^allocate ok relayed=' "$T/t1"
tap_is "plain Allocate over TCP to the TLS port succeeds" "$?" "$(cat "$T/t1")"
bench probe -t tls --ca "$CERT" "$SRV_TLS" >"$T/p2" 2>&1 && grep -q '^mapped-address' "$T/p2"
tap_is "TLS to the TLS port still works" "$?" "$(cat "$T/p2")"
bench probe -t tls --ca "$CERT" "127.0.0.1:$PORT" >"$T/p3" 2>&1 &&
	grep -q '^mapped-address' "$T/p3"
tap_is "TLS to the plain port is served too" "$?" "$(cat "$T/p3")"

start_udp_peer
# TLS is paced (-z 50); uclient_zero_loss repeats a run with loss once.
for run in "plain-to-tls $TLS_PORT -t" "tls-to-plain $PORT -t -S -E $CERT -z 50"; do
	read -r name port flags <<<"$run"
	# shellcheck disable=SC2086 # flags are words
	uclient_zero_loss "$name" "$port" "turnutils_uclient $flags to port $port ($name): zero loss" $flags
done
for t in tcp tls; do
	bench turn -t "$t" --ca "$CERT" --user "$TURN_USER" --password "$TURN_PASS" \
		--send "127.0.0.1:$PEER_PORT" --channel --count 100 --payload-size 1000 \
		"$SRV_TLS" >"$T/bt" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] && grep -q '^sent 100 received 100 bad 0$' "$T/bt"
	tap_is "turnpike-bench turn over $t to the TLS port: 100 payloads echoed" "$?" \
		"exit status $rc" "$(cat "$T/bt")"
done

# ALPN: s_client prints "ALPN protocol: X" or "No ALPN negotiated".
alpn() {
	echo | timeout 10 openssl s_client -connect "$SRV_TLS" -CAfile "$CERT" -alpn "$1" \
		>"$T/alpn" 2>&1
	grep -E 'ALPN|Verify return code|^New,' "$T/alpn"
}
out=$(alpn stun.turn)
grep -q 'ALPN protocol: stun.turn' <<<"$out"
tap_is "openssl s_client -alpn stun.turn negotiates stun.turn" "$?" "$out"
out=$(alpn stun.nat-discovery)
grep -q 'ALPN protocol: stun.nat-discovery' <<<"$out"
tap_is "openssl s_client -alpn stun.nat-discovery negotiates it" "$?" "$out"
out=$(alpn h2,stun.turn)
grep -q 'ALPN protocol: stun.turn' <<<"$out"
tap_is "a client offering h2 and stun.turn gets stun.turn" "$?" "$out"
out=$(alpn h2)
grep -q 'No ALPN negotiated' <<<"$out" && grep -q '^New, TLS' <<<"$out" &&
	grep -q 'Verify return code: 0' <<<"$out"
tap_is "a client offering only h2 still connects, without ALPN" "$?" "$out"

# A malformed TLS record on the plain port is TLS that fails: closed.
tap_run "a broken TLS handshake record on the plain port gets the connection closed" \
	bench raw --transport tcp --hex 1603010004ff000000 --wait 5000 --expect-close \
	"127.0.0.1:$PORT"

# 2000 half-open connections: 1000 silent on each port, then others are served.
if [ "$TURN_SERVER_IMPL" = turnpike ]; then
	timeout 120 "$TURNPIKE_BENCH" hold --connections 1000 --duration 30000 "$SRV_TLS" \
		>"$T/hold1" 2>&1 &
	track_pid "$!"
	H1=$!
	timeout 120 "$TURNPIKE_BENCH" hold --connections 1000 --hex 16030100f4 --duration 30000 \
		"127.0.0.1:$PORT" >"$T/hold2" 2>&1 &
	track_pid "$!"
	H2=$!
	wait_until 30 grep -q '^held ' "$T/hold1" && wait_until 30 grep -q '^held ' "$T/hold2"
	tap_is "2000 half-open connections held (silent, and stalled in a TLS record)" "$?" \
		"$(cat "$T/hold1" "$T/hold2")"
	bench probe -t tcp "$SRV_TLS" >"$T/p4" 2>&1
	tap_is "plain STUN on the TLS port served meanwhile" "$?" "$(cat "$T/p4")"
	bench probe -t tls --ca "$CERT" "$SRV_TLS" >"$T/p5" 2>&1
	tap_is "TLS on the TLS port served meanwhile" "$?" "$(cat "$T/p5")"
	bench probe "127.0.0.1:$PORT" >"$T/p6" 2>&1
	tap_is "UDP served meanwhile" "$?" "$(cat "$T/p6")"
	kill "$H1" "$H2" 2>/dev/null
	wait_exit "$H1" 5
	wait_exit "$H2" 5
fi

proc_alive "$TURNPIKED_PID"
tap_is "$TURN_SERVER_IMPL still running" "$?"
turn_stop_check
tap_done
