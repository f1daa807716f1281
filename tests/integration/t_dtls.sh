#!/usr/bin/env bash
# DTLS (RFC 7350) on the UDP tls-listening-port: coturn's turnutils_uclient -S
# relays over DTLS 1.2 to turnutils_peer with zero loss (channels, Send
# indications, client to client), after its own DTLS 1.0 attempts are refused;
# openssl s_client -dtls1_2 negotiates ALPN stun.turn; plain STUN and TURN
# still work on the same UDP port, and DTLS on the plain port. Bad input: a
# flood of ClientHellos without cookies keeps no state, 1200 abandoned
# handshakes stay under the half-open cap with bounded memory, records from
# unknown sources that are not a ClientHello are dropped unanswered, and DTLS
# 1.0 gets a protocol_version alert; all counted in the metrics, the server
# serving other clients throughout. A DTLS client's allocation ends with its
# session; the peer policy refuses loopback peers over DTLS as over UDP;
# SIGUSR2 swaps the DTLS certificate; no-dtls turns it off.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
UCLIENT=${UCLIENT:-$(command -v turnutils_uclient)}
UPEER=${UPEER:-$(command -v turnutils_peer)}
STUNCLIENT=${STUNCLIENT:-$(command -v turnutils_stunclient)}
if [ -z "$UCLIENT" ] || [ -z "$UPEER" ] || [ -z "$STUNCLIENT" ]; then
	tap_skip_all "turnutils_uclient/peer/stunclient not installed (apt-get install coturn)"
fi
FLOOD=$TOP_SRCDIR/tests/integration/dtlsflood.py
PROMTEXT=$TOP_SRCDIR/tests/integration/promtext.py
flood() { timeout 90 python3 "$FLOOD" "$@"; }
prom() { timeout 15 python3 "$PROMTEXT" "$@"; }

# scrape NAME: /metrics into $T/NAME.prom; val NAME SERIES: a value in it.
scrape() {
	[ "$(prom get "http://127.0.0.1:$MPORT/metrics" "$T/$1.prom")" = 200 ] &&
		prom check "$T/$1.prom" >"$T/$1.check" 2>&1
}
val() { prom value "$T/$1.prom" "$2"; }
# sum NAME FAMILY: the sum of a per-worker counter's samples.
sum() { awk -v f="$2{" 'index($0, f) == 1 { s += $2 } END { print s + 0 }' "$T/$1.prom"; }
# shellcheck disable=SC2317 # called through wait_until
value_is() { scrape wait && [ "$(val wait "$1")" = "$2" ]; }
# AddressSanitizer's quarantine keeps freed memory resident: the RSS bounds
# are checked only in the ordinary build.
ASAN=
grep -qa AddressSanitizer "$TURNPIKED" && ASAN=1
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$TURNPIKED_PID/status"; }
fingerprint() { openssl x509 -noout -fingerprint -sha256 -in "$1"; }
# s_client PORT ARGS...: one DTLS 1.2 handshake; its output in $T/sc.
s_client() {
	local port=$1
	shift
	timeout 10 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" "$@" </dev/null \
		>"$T/sc" 2>&1
}

N=20
M=2
make_cert
cp "$CERT" "$T/live.pem"
cp "$KEY" "$T/live.key"
make_cert second
pick_port
MPORT=$PICKED
turn_common_args
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 \
	--tls-listening-port @TLS_PORT@ --cert "$T/live.pem" --pkey "$T/live.key" \
	--relay-ip 127.0.0.1 --allow-loopback-peers --relay-threads 2 --verbose \
	--prometheus --prometheus-address 127.0.0.1 --prometheus-port "$MPORT"

grep -q "listening on DTLS 127.0.0.1:$TLS_PORT" "$TURNPIKED_LOG" && udp_listening "$TLS_PORT"
tap_is "DTLS listens on the UDP tls-listening-port by default with cert and pkey" "$?" \
	"$(grep 'listening on' "$TURNPIKED_LOG")"

start_udp_peer

# uclient_run NAME DESC EXPECTED PORT FLAGS...: one uclient run over DTLS (-S
# without -t); a run with loss is repeated once alone, as in t_uclient.sh.
uclient_run() {
	local name=$1 desc=$2 want=$3 port=$4 rc ck try
	shift 4
	for try in 1 2; do
		timeout 60 "$UCLIENT" -S "$@" -n "$N" -m "$M" -l 120 -u "$TURN_USER" \
			-w "$TURN_PASS" -e 127.0.0.1 -r "$PEER_PORT" -p "$port" 127.0.0.1 \
			>"$T/uc.$name" 2>&1
		rc=$?
		uclient_summary "$T/uc.$name" "$want" >"$T/uc.$name.check"
		ck=$?
		[ "$rc" = 0 ] && [ "$ck" = 0 ] && break
		echo "# $desc: try $try: $(cat "$T/uc.$name.check") (exit status $rc)"
	done
	[ "$rc" = 0 ] && [ "$ck" = 0 ]
	tap_is "$desc" "$?" "turnutils_uclient -S $* (exit status $rc)" \
		"$(cat "$T/uc.$name.check")" "$(grep -iE 'error|fail|tot_' "$T/uc.$name" | tail -n 8)"
	echo "# $desc: $(cat "$T/uc.$name.check")"
}

ONE=$((N * M))
uclient_run chan "uclient over DTLS, channels: every message echoed" "$ONE" "$TLS_PORT"
grep -q 'method=DTLSv1.2' "$T/uc.chan"
tap_is "  ... uclient reports a DTLS 1.2 session" "$?" "$(grep -i dtls "$T/uc.chan" | head -n 3)"
# uclient tries DTLS 1.0 first; whether that attempt reaches the server's
# refusal or times out in the cookie exchange depends on the machine's load (the
# refusal itself is checked below with openssl), but no session may end below 1.2.
grep -q 'DTLS handshake done (DTLSv1.2' "$TURNPIKED_LOG" &&
	! grep -qE 'DTLS handshake done \(DTLSv1[,)]' "$TURNPIKED_LOG"
tap_is "  ... its DTLS 1.2 handshakes completed, none below 1.2" "$?" \
	"$(grep 'DTLS' "$TURNPIKED_LOG" | tail -n 5)"
uclient_run send "uclient over DTLS, Send indications: every message echoed" "$ONE" \
	"$TLS_PORT" -s
uclient_run c2c "uclient over DTLS, client to client: every message delivered" \
	"$((2 * ONE))" "$TLS_PORT" -y
uclient_run plainport "uclient over DTLS to the plain listening-port (as coturn)" "$ONE" "$PORT"
scrape after_uc
[ "$(sum after_uc turnpike_worker_dtls_handshakes_total)" -ge 4 ]
tap_is "turnpike_worker_dtls_handshakes_total counts the handshakes" "$?" \
	"$(grep dtls_handshakes "$T/after_uc.prom")"

# The same UDP port serves plain STUN and TURN.
timeout 10 "$STUNCLIENT" -p "$TLS_PORT" 127.0.0.1 >"$T/stun" 2>&1
grep -q 'UDP reflexive addr: 127.0.0.1' "$T/stun"
tap_is "a plain STUN Binding on the UDP tls-listening-port is answered" "$?" "$(tail -n 3 "$T/stun")"
timeout 60 "$UCLIENT" -n "$N" -m "$M" -l 120 -u "$TURN_USER" -w "$TURN_PASS" -e 127.0.0.1 \
	-r "$PEER_PORT" -p "$TLS_PORT" 127.0.0.1 >"$T/uc.plain" 2>&1
uclient_summary "$T/uc.plain" "$ONE" >"$T/uc.plain.check"
tap_is "plain TURN over UDP on the tls-listening-port relays every message" "$?" \
	"$(cat "$T/uc.plain.check")"

# openssl s_client: DTLS 1.2 with ALPN (RFC 7443).
s_client "$TLS_PORT" -alpn stun.turn
grep -q 'ALPN protocol: stun.turn' "$T/sc" && grep -q 'Protocol *: DTLSv1.2' "$T/sc"
tap_is "openssl s_client -dtls1_2 -alpn stun.turn negotiates stun.turn" "$?" \
	"$(grep -E 'ALPN|Protocol|error' "$T/sc" | head -n 5)"
s_client "$TLS_PORT" -alpn stun.nat-discovery
grep -q 'ALPN protocol: stun.nat-discovery' "$T/sc"
tap_is "  ... and stun.nat-discovery" "$?" "$(grep -E 'ALPN|error' "$T/sc" | head -n 3)"
s_client "$TLS_PORT" -alpn h2
grep -q 'No ALPN negotiated' "$T/sc" && grep -q 'Protocol *: DTLSv1.2' "$T/sc"
tap_is "  ... a client offering only other protocols still connects, without ALPN" "$?" \
	"$(grep -E 'ALPN|Protocol|error' "$T/sc" | head -n 5)"

# DTLS 1.0: past the cookie, a protocol_version alert (fatal 70).
out=$(flood dtls10 127.0.0.1 "$TLS_PORT")
tap_is "a DTLS 1.0 handshake gets a protocol_version alert" "$([ "$out" = "alert 2 70" ]; echo $?)" \
	"$out"

# A DTLS client's allocation ends with its session (close_notify), not at its
# lifetime. (uclient leaves the allocation of its first session to expire.)
scrape before_long
base=$(val before_long 'turn_total_allocations{type="DTLS"}')
timeout 60 "$UCLIENT" -S -c -n 150 -z 40 -m 1 -l 120 -u "$TURN_USER" -w "$TURN_PASS" \
	-e 127.0.0.1 -r "$PEER_PORT" -p "$TLS_PORT" 127.0.0.1 >"$T/uc.long" 2>&1 &
UC=$!
track_pid "$UC"
# shellcheck disable=SC2317 # called through wait_until
more_dtls() { scrape wait && [ "$(val wait 'turn_total_allocations{type="DTLS"}')" -gt "$1" ]; }
wait_until 20 more_dtls "$base"
tap_is "a live DTLS allocation counts in turn_total_allocations{type=\"DTLS\"} (was $base)" "$?" \
	"$(grep 'turn_total_allocations{' "$T/wait.prom")"
live=$(val wait 'turn_total_allocations{type="DTLS"}')
wait_exit "$UC" 60
grep -q 'closed by the client (close_notify)' "$TURNPIKED_LOG"
wait_until 10 value_is 'turn_total_allocations{type="DTLS"}' "$((live - 1))"
tap_is "  ... and one ends as soon as the DTLS client closes its session" "$?" \
	"$(grep -E 'turn_total_allocations\{|dtls_sessions' "$T/wait.prom")"

# Bad input. A flood of ClientHellos without cookies: each gets a
# HelloVerifyRequest, and no state is kept.
scrape before_flood
rss0=$(rss_kb)
out=$(flood flood 127.0.0.1 "$TLS_PORT" 5000)
scrape after_flood
rss1=$(rss_kb)
hv0=$(sum before_flood turnpike_worker_dtls_hello_verify_total)
hv1=$(sum after_flood turnpike_worker_dtls_hello_verify_total)
echo "# cookie flood: $out; server counted $((hv1 - hv0)); RSS ${rss0} -> ${rss1} kB"
[ "$((hv1 - hv0))" -ge 4500 ] && [ "$(val after_flood turnpike_dtls_half_open)" = 0 ] &&
	[ "$(val after_flood turnpike_dtls_sessions)" = "$(val before_flood turnpike_dtls_sessions)" ] &&
	{ [ -n "$ASAN" ] || [ "$((rss1 - rss0))" -lt 16384 ]; }
tap_is "5000 ClientHellos without a cookie: HelloVerifyRequests, no session, RSS +$((rss1 - rss0)) kB" \
	"$?" "$out" "hello_verify +$((hv1 - hv0))" "$(grep -E '^turnpike_dtls' "$T/after_flood.prom")"

# Two waves of 1200 handshakes abandoned after the ServerHello: the half-open
# cap (256 per worker, 2 workers) holds, the oldest are evicted, the second
# wave takes little more memory than the first, and real clients still connect.
rss0=$(rss_kb)
out=$(flood halfopen 127.0.0.1 "$TLS_PORT" 1200)
scrape halfopen
rss1=$(rss_kb)
out2=$(flood halfopen 127.0.0.1 "$TLS_PORT" 1200)
scrape halfopen2
rss2=$(rss_kb)
ev=$(sum halfopen2 turnpike_worker_dtls_evicted_total)
ho=$(val halfopen turnpike_dtls_half_open)
ho2=$(val halfopen2 turnpike_dtls_half_open)
echo "# half-open: $out, then $out2; half-open $ho, then $ho2; evicted $ev; RSS $rss0 -> $rss1 -> $rss2 kB"
[ "$ho" -le 512 ] && [ "$ho2" -le 512 ] && [ "$ev" -ge 1 ] &&
	{ [ -n "$ASAN" ] || { [ "$((rss1 - rss0))" -lt 98304 ] && [ "$((rss2 - rss1))" -lt 16384 ]; }; }
tap_is "2 x 1200 abandoned handshakes: at most 512 half-open ($ho, $ho2), $ev evicted, RSS +$((rss1 - rss0)) then +$((rss2 - rss1)) kB" \
	"$?" "$out" "$out2" "$(grep -E '^turnpike_dtls|dtls_evicted' "$T/halfopen2.prom")"
s_client "$TLS_PORT" -alpn stun.turn
grep -q 'Protocol *: DTLSv1.2' "$T/sc"
tap_is "  ... meanwhile openssl s_client still completes a DTLS handshake" "$?" \
	"$(grep -E 'Protocol|error' "$T/sc" | head -n 3)"
uclient_run during "  ... and uclient over DTLS still relays every message" "$ONE" "$TLS_PORT"
wait_until 40 value_is turnpike_dtls_half_open 0
tap_is "  ... the abandoned handshakes time out" "$?" \
	"$(grep -E '^turnpike_dtls' "$T/wait.prom")"

# Records from unknown sources that are not a ClientHello: dropped, unanswered, counted.
scrape before_garbage
out=$(flood garbage 127.0.0.1 "$TLS_PORT" 300)
scrape after_garbage
d0=$(sum before_garbage turnpike_worker_dtls_dropped_total)
d1=$(sum after_garbage turnpike_worker_dtls_dropped_total)
[ "$out" = "sent 300 answered 0" ] && [ "$((d1 - d0))" -ge 290 ]
tap_is "300 records that are not a ClientHello: none answered, $((d1 - d0)) counted as dropped" \
	"$?" "$out"
timeout 10 "$STUNCLIENT" -p "$TLS_PORT" 127.0.0.1 >"$T/stun" 2>&1
grep -q 'UDP reflexive addr: 127.0.0.1' "$T/stun"
tap_is "  ... and plain STUN on the same port is still answered" "$?" "$(tail -n 3 "$T/stun")"

# SIGUSR2: new DTLS sessions get the new certificate.
served() { s_client "$TLS_PORT" && openssl x509 -noout -fingerprint -sha256 -in "$T/sc" 2>/dev/null; }
fp1=$(fingerprint "$T/server.pem")
fp2=$(fingerprint "$T/second.pem")
[ "$(served)" = "$fp1" ]
tap_is "the first certificate is served over DTLS" "$?" "$(served)"
cp "$T/second.pem" "$T/live.pem"
cp "$T/second.key" "$T/live.key"
kill -USR2 "$TURNPIKED_PID"
# shellcheck disable=SC2317 # called through wait_until
reloaded() { grep -q 'certificates reloaded' "$TURNPIKED_LOG"; }
wait_until 10 reloaded
[ "$(served)" = "$fp2" ]
tap_is "  ... after SIGUSR2 new DTLS sessions get the second one" "$?" "$(served)"

proc_alive "$TURNPIKED_PID"
tap_is "turnpiked survived every failed handshake" "$?"
turn_stop_check

# The peer policy applies over DTLS as over UDP: without allow-loopback-peers a
# loopback peer is refused (403), nothing is relayed, the refusal is counted.
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 \
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY" --relay-ip 127.0.0.1 \
	--prometheus --prometheus-address 127.0.0.1 --prometheus-port "$MPORT"
timeout 60 "$UCLIENT" -S -n 5 -m 1 -u "$TURN_USER" -w "$TURN_PASS" -e 127.0.0.1 \
	-r "$PEER_PORT" -p "$TLS_PORT" 127.0.0.1 >"$T/uc.deny" 2>&1
# shellcheck disable=SC2317 # called through wait_until
refused() { scrape deny && [ "$(val deny turnpike_peer_refusals_total)" -ge 1 ]; }
wait_until 10 refused && [ "$(sum deny turnpike_worker_to_peer_packets_total)" = 0 ]
tap_is "over DTLS a loopback peer is refused by the default peer policy, nothing relayed" "$?" \
	"$(grep -iE '403|forbidden|tot_' "$T/uc.deny" | head -n 3)" \
	"$(grep -E 'peer_refusals|to_peer_packets' "$T/deny.prom")"
turn_stop_check

# no-dtls: no UDP socket on the TLS port, and DTLS records are not answered.
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 \
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY" --no-dtls
! udp_listening "$TLS_PORT" && ! grep -q 'listening on DTLS' "$TURNPIKED_LOG"
tap_is "no-dtls: nothing listens on the UDP tls-listening-port" "$?" \
	"$(grep 'listening on' "$TURNPIKED_LOG")"
out=$(flood flood 127.0.0.1 "$PORT" 32)
tap_is "  ... and a ClientHello to the plain port is not answered" \
	"$([ "$out" = "sent 32 verify 0" ]; echo $?)" "$out"
turn_stop_check

tap_done
