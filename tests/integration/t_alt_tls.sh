#!/usr/bin/env bash
# alt-tls-listening-port (coturn's RFC 5780 alternative TLS port): with rfc5780
# and a certificate, TLS and DTLS also listen on it (tls-listening-port plus one
# by default) and serve there as on the TLS port: openssl s_client completes a
# TLS handshake with ALPN stun.turn, turnpike-bench probes STUN over TLS, and
# coturn's turnutils_uclient relays over TLS (-S -t) and DTLS (-S) with no
# loss. Without rfc5780 the port stays closed; a port that clashes with another
# listening port stops startup with a message.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_coturn_clients
command -v openssl >/dev/null 2>&1 || tap_skip_all "openssl is not installed"

make_cert
N=20
COMMON=(-n --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 --listening-port @PORT@
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY" --lt-cred-mech
	--user "$TURN_USER:$TURN_PASS" --realm "$TURN_REALM" --allow-loopback-peers
	--rfc5766-channel-numbers --log-file stdout --relay-threads 2)

# The alternative port is TLS_PORT + 1 (the default): an attempt whose
# neighbour port is taken fails to start and start_turnpiked picks new ports.
start_turnpiked_or_bail "${COMMON[@]}" --rfc5780 --alt-listening-port @PORT2@
ALT=$((TLS_PORT + 1))
grep -q "TLS (alt-tls-listening-port) .*127\.0\.0\.1:$ALT" "$TURNPIKED_LOG" &&
	grep -q "DTLS (alt-tls-listening-port) .*127\.0\.0\.1:$ALT" "$TURNPIKED_LOG"
tap_is "rfc5780: TLS and DTLS also listen on alt-tls-listening-port $ALT" "$?" \
	"$(grep -i 'listening on' "$TURNPIKED_LOG")"

timeout 10 openssl s_client -connect "127.0.0.1:$ALT" -alpn stun.turn </dev/null >"$T/sc" 2>&1
grep -q 'ALPN protocol: stun.turn' "$T/sc"
tap_is "openssl s_client: a TLS handshake on $ALT with ALPN stun.turn" "$?" \
	"$(grep -E 'Protocol|ALPN|error' "$T/sc" | head -n 5)"
out=$(bench probe --transport tls --insecure --timeout 3000 "127.0.0.1:$ALT" 2>&1)
echo "$out" | grep -q '127\.0\.0\.1'
tap_is "turnpike-bench probe over TLS on $ALT: a reflexive address" "$?" "$out"

start_udp_peer
# uclient_run NAME FLAGS...: one uclient -S run to the alternative port, output in $T/uc.NAME.
uclient_run() {
	local name=$1
	shift
	timeout 60 "$UCLIENT" -S "$@" -c -n "$N" -m 1 -l 120 -u "$TURN_USER" -w "$TURN_PASS" \
		-e 127.0.0.1 -r "$PEER_PORT" -p "$ALT" 127.0.0.1 >"$T/uc.$name" 2>&1
}
# uclient_ok NAME DESC STATUS: that run exited 0 and relayed every message.
uclient_ok() {
	local name=$1 desc=$2 rc=$3 ck
	uclient_summary "$T/uc.$name" "$N" >"$T/uc.$name.check"
	ck=$?
	[ "$rc" -eq 0 ] && [ "$ck" -eq 0 ]
	tap_is "$desc" "$?" "exit status $rc" "$(cat "$T/uc.$name.check")" \
		"$(tail -n 5 "$T/uc.$name")"
	tap_diag "$name: $(cat "$T/uc.$name.check")"
}
# uclient idles ~3 s before it sends: the TLS and DTLS runs overlap (own sessions and ports).
uclient_run tls -t &
TLS_PID=$!
track_pid "$TLS_PID"
uclient_run dtls &
DTLS_PID=$!
track_pid "$DTLS_PID"
wait "$TLS_PID"
TLS_RC=$?
wait "$DTLS_PID"
DTLS_RC=$?
forget_pid "$TLS_PID"
forget_pid "$DTLS_PID"
uclient_ok tls "uclient -S -t over TLS to alt-tls-listening-port: every message relayed" "$TLS_RC"
uclient_ok dtls "uclient -S over DTLS to alt-tls-listening-port: every message relayed" "$DTLS_RC"
grep -q 'method=DTLSv1.2' "$T/uc.dtls"
tap_is "  ... uclient reports a DTLS 1.2 session" "$?" "$(grep -i dtls "$T/uc.dtls" | head -n 3)"
stop_turnpiked
tap_is "turnpiked stops cleanly" "$?" "status $TURNPIKED_STATUS"

start_turnpiked_or_bail "${COMMON[@]}" --alt-tls-listening-port @PORT2@
out=$(bench probe --transport tls --insecure --timeout 1000 --max-sends 1 "127.0.0.1:$PORT2" 2>&1)
rc=$?
[ "$rc" -ne 0 ] && ! grep -q 'alt-tls-listening-port' "$TURNPIKED_LOG"
tap_is "without rfc5780 alt-tls-listening-port stays closed" "$?" "exit $rc: $out"
stop_turnpiked

out=$("$TURNPIKED" -n --rfc5780 --cert "$CERT" --pkey "$KEY" --tls-listening-port 5349 \
	--alt-tls-listening-port 5349 --check-config 2>&1)
rc=$?
[ "$rc" -ne 0 ] && echo "$out" | grep -q 'alt-tls-listening-port 5349'
tap_is "alt-tls-listening-port equal to tls-listening-port is refused" "$?" "exit $rc: $out"
tap_done
