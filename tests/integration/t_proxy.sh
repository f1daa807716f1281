#!/usr/bin/env bash
# The PROXY protocol behind an unmodified HAProxy (mode tcp, send-proxy-v2 and
# send-proxy): a client bound to 127.0.0.5 sees its own address, not HAProxy's,
# in XOR-MAPPED-ADDRESS over TCP and over TLS passed through, and in the
# session log; coturn's turnutils_uclient relays through HAProxy with zero
# loss. With proxy-protocol=udp, behind a UDP balancer that prefixes each
# datagram with a v2 header (udpproxy.py, a flow per client), the same holds
# for turnutils_stunclient and turnutils_uclient over UDP. Connections without
# a header, from an untrusted source, with a malformed header or too slow with
# it are closed (datagrams dropped) and counted in
# turnpike_proxy_header_refusals_total, and the server keeps serving others.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
HAPROXY=${HAPROXY:-$(command -v haproxy)}
UCLIENT=${UCLIENT:-$(command -v turnutils_uclient)}
UPEER=${UPEER:-$(command -v turnutils_peer)}
if [ -z "$HAPROXY" ] || [ -z "$UCLIENT" ] || [ -z "$UPEER" ]; then
	tap_skip_all "haproxy or turnutils_uclient/turnutils_peer not installed (apt-get install haproxy coturn)"
fi
STUNBIND=$TOP_SRCDIR/tests/integration/stunbind.py
UDPPROXY=$TOP_SRCDIR/tests/integration/udpproxy.py
STUNCLIENT=${STUNCLIENT:-$(command -v turnutils_stunclient)}
PROMTEXT=$TOP_SRCDIR/tests/integration/promtext.py
prom() { timeout 15 python3 "$PROMTEXT" "$@"; }
CLIENT_IP=127.0.0.5

# shellcheck disable=SC2317 # called through wait_until
tcp_listening() {
	[ -n "$(ss -Hlnt "sport = :$1" 2>/dev/null)" ]
}

make_cert
pick_port
MPORT=$PICKED
pick_relay_range
# The TLS port wants a header (proxy-protocol=tls), tcp-proxy-port (@PORT2@)
# and UDP datagrams (udp) too; the plain TCP port does not, so direct clients
# there show the server serving.
start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ \
	--tls-listening-port @TLS_PORT@ --tcp-proxy-port @PORT2@ --proxy-protocol tls,udp \
	--proxy-protocol-from 127.0.0.1 --cert "$CERT" --pkey "$KEY" --log-file stdout \
	--relay-threads 2 --lt-cred-mech --user "$TURN_USER:$TURN_PASS" --realm "$TURN_REALM" \
	--min-port "$RELAY_MIN" --max-port "$RELAY_MAX" --allow-loopback-peers --verbose \
	--prometheus --prometheus-address 127.0.0.1 --prometheus-port "$MPORT" \
	--pidfile "$T/turnpiked.pid" --rfc5766-channel-numbers
grep -q "listening on TCP with PROXY protocol 127.0.0.1:$PORT2" "$TURNPIKED_LOG"
tap_is "tcp-proxy-port listens and says so" "$?" "$(head -n 20 "$TURNPIKED_LOG")"

for n in V2 V1 TLS BARE; do
	pick_port
	printf -v "FE_$n" %s "$PICKED"
done
cat >"$T/haproxy.cfg" <<CFG
global
	maxconn 500
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend v2
	bind 127.0.0.1:$FE_V2
	default_backend v2
backend v2
	server turnpike 127.0.0.1:$PORT2 send-proxy-v2
frontend v1
	bind 127.0.0.1:$FE_V1
	default_backend v1
backend v1
	server turnpike 127.0.0.1:$PORT2 send-proxy
frontend tls
	bind 127.0.0.1:$FE_TLS
	default_backend tls
backend tls
	server turnpike 127.0.0.1:$TLS_PORT send-proxy-v2
frontend bare
	bind 127.0.0.1:$FE_BARE
	default_backend bare
backend bare
	server turnpike 127.0.0.1:$TLS_PORT
CFG
"$HAPROXY" -f "$T/haproxy.cfg" -db >"$T/haproxy.log" 2>&1 &
track_pid "$!"
HAPROXY_PID=$!
wait_until 10 tcp_listening "$FE_BARE" || bail_out "haproxy did not start: $(cat "$T/haproxy.log")"
tap_ok "haproxy $("$HAPROXY" -v | head -n 1 | awk '{print $3}') runs in front of turnpiked"

# bind_check DESC FRONTEND MODE: a Binding from CLIENT_IP through HAProxy maps
# to the client's own address and port.
bind_check() {
	local desc=$1 port=$2 mode=$3 out mapped own
	out=$(timeout 20 python3 "$STUNBIND" "$CLIENT_IP" 127.0.0.1 "$port" "$mode" "$CERT" 2>&1)
	mapped=$(awk '/^mapped /{print $2}' <<<"$out")
	own=$(awk '/^mapped /{print $4}' <<<"$out")
	[ -n "$mapped" ] && [ "$mapped" = "$own" ] && [ "${mapped%:*}" = "$CLIENT_IP" ]
	tap_is "$desc" "$?" "$out"
}

bind_check "TCP via HAProxy send-proxy-v2: XOR-MAPPED-ADDRESS is the client's own" "$FE_V2" tcp
bind_check "TCP via HAProxy send-proxy (v1): XOR-MAPPED-ADDRESS is the client's own" "$FE_V1" tcp
bind_check "TLS passed through HAProxy send-proxy-v2: XOR-MAPPED-ADDRESS is the client's own" \
	"$FE_TLS" tls
bind_check "plain STUN through HAProxy to the TLS port (sniffed after the header)" "$FE_TLS" tcp
grep -qE "TCP $CLIENT_IP:[0-9]+: open \(PROXY v2 from 127\.0\.0\.1:" "$TURNPIKED_LOG" &&
	grep -qE "TCP $CLIENT_IP:[0-9]+: open \(PROXY v1 from 127\.0\.0\.1:" "$TURNPIKED_LOG" &&
	grep -qE "TLS $CLIENT_IP:[0-9]+: TLS handshake done" "$TURNPIKED_LOG"
tap_is "connection log lines name the client, and HAProxy as the PROXY source" "$?" \
	"$(grep -E ' (TCP|TLS) ' "$TURNPIKED_LOG" | tail -n 8)"

# coturn's uclient through HAProxy, from 127.0.0.5 (-L): zero loss, and the
# session log names the client, not HAProxy.
start_udp_peer
# TLS is paced (-z 50); uclient_zero_loss repeats a run with loss once.
for run in "tcp $FE_V2 -t" "tls $FE_TLS -t -S -E $CERT -z 50"; do
	read -r name port flags <<<"$run"
	# shellcheck disable=SC2086 # flags are words
	uclient_zero_loss "$name" "$port" "turnutils_uclient $flags via HAProxy from $CLIENT_IP: zero loss" \
		$flags -L "$CLIENT_IP"
done
want=$(printf 'relay 127\\.0\\.0\\.1:[0-9]+ for %s client %s:' TCP "$CLIENT_IP")
grep -qE "$want" "$TURNPIKED_LOG" &&
	grep -qE "relay 127\.0\.0\.1:[0-9]+ for TLS client $CLIENT_IP:" "$TURNPIKED_LOG" &&
	! grep -qE "relay .* client 127\.0\.0\.1:" "$TURNPIKED_LOG"
tap_is "session log: relays for TCP and TLS client $CLIENT_IP, none for HAProxy's address" "$?" \
	"$(grep -E 'relay ' "$TURNPIKED_LOG" | tail -n 6)"

# UDP behind a balancer that prefixes every datagram with a PROXY v2 header.
pick_port
FE_UDP=$PICKED
timeout 300 python3 "$UDPPROXY" "$FE_UDP" "$PORT" 240 >"$T/udpproxy.log" 2>&1 &
track_pid "$!"
UDPPROXY_PID=$!
wait_until 10 grep -q '^ready' "$T/udpproxy.log" || bail_out "udpproxy.py did not start"
bind_check "UDP via a PROXY v2 balancer: XOR-MAPPED-ADDRESS is the client's own" "$FE_UDP" udp
timeout 20 "$STUNCLIENT" -L "$CLIENT_IP" -p "$FE_UDP" 127.0.0.1 >"$T/stunclient" 2>&1
grep -qE "UDP reflexive addr: $CLIENT_IP:[0-9]+" "$T/stunclient"
tap_is "turnutils_stunclient -L $CLIENT_IP via the UDP balancer sees its own address" "$?" \
	"$(cat "$T/stunclient")"
timeout 60 "$UCLIENT" -L "$CLIENT_IP" -n 20 -m 2 -l 120 -u "$TURN_USER" -w "$TURN_PASS" \
	-e 127.0.0.1 -r "$PEER_PORT" -p "$FE_UDP" 127.0.0.1 >"$T/uc.udp" 2>&1
rc=$?
uclient_summary "$T/uc.udp" 40 >"$T/uc.udp.check"
ck=$?
[ "$rc" = 0 ] && [ "$ck" = 0 ] &&
	grep -qE "relay 127\.0\.0\.1:[0-9]+ for UDP client $CLIENT_IP:" "$TURNPIKED_LOG"
tap_is "turnutils_uclient over UDP via the balancer from $CLIENT_IP: zero loss, session log names it" \
	"$?" "exit status $rc" "$(cat "$T/uc.udp.check")" "$(grep -E 'relay .*UDP' "$TURNPIKED_LOG" | tail -n 4)"
out=$(timeout 20 python3 "$STUNBIND" 127.0.0.1 127.0.0.1 "$PORT" udp 2>&1)
[ "$out" = "no answer" ]
tap_is "a datagram from the balancer's address without a header is dropped" "$?" "$out"
v2dgram=0d0a0d0a000d0a515549540a2112000c7f0000097f00000100010d96
out=$(timeout 20 python3 "$STUNBIND" "$CLIENT_IP" 127.0.0.1 "$PORT" udp "" "$v2dgram" 2>&1)
[ "$out" = "no answer" ]
tap_is "a datagram with a header from outside proxy-protocol-from is dropped" "$?" "$out"
out=$(timeout 20 python3 "$STUNBIND" 127.0.0.1 127.0.0.1 "$PORT" udp "" "$v2dgram" 2>&1)
[ "$(awk '/^mapped /{print $2}' <<<"$out")" = "127.0.0.9:1" ]
tap_is "the same datagram from 127.0.0.1: mapped to 127.0.0.9:1, answered to the sender" "$?" \
	"$out"

# Refusals. Untrusted: 127.0.0.5 straight to a PROXY port, even with a valid header.
v2hdr=0d0a0d0a000d0a515549540a2111000c7f0000097f00000100010d96
out=$(timeout 20 python3 "$STUNBIND" "$CLIENT_IP" 127.0.0.1 "$PORT2" tcp "" "$v2hdr" 2>&1)
[ "$(awk '/^mapped /{print $2}' <<<"$out")" = "" ]
tap_is "a PROXY header from outside proxy-protocol-from: connection closed" "$?" "$out"
out=$(timeout 20 python3 "$STUNBIND" 127.0.0.1 127.0.0.1 "$PORT2" tcp "" "$v2hdr" 2>&1)
[ "$(awk '/^mapped /{print $2}' <<<"$out")" = "127.0.0.9:1" ]
tap_is "the same header from 127.0.0.1 (trusted): mapped to its source 127.0.0.9:1" "$?" "$out"
out=$(timeout 20 python3 "$STUNBIND" "$CLIENT_IP" 127.0.0.1 "$FE_BARE" tls "$CERT" 2>&1)
[ "$(awk '/^mapped /{print $2}' <<<"$out")" = "" ]
tap_is "TLS through HAProxy without send-proxy (no header): connection closed" "$?" "$out"

# Malformed headers from the trusted address: each one closed at once.
sig=0d0a0d0a000d0a515549540a
bad=(
	"bad v2 signature:0d0a0d0a000d0a515549540b2111000c7f0000097f00000100010d96"
	"v2 version 1:${sig}1111000c7f0000097f00000100010d96"
	"v2 length past 2048:${sig}21110801"
	"v2 INET block of 8 bytes:${sig}211100087f0000097f000001"
	"v2 TLV past the end:${sig}2111000f7f0000097f00000100010d960400ff"
	"v1 without CRLF:$(printf 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n' | od -An -v -tx1 | tr -d ' \n')"
	"v1 port 65536:$(printf 'PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n' | od -An -v -tx1 | tr -d ' \n')"
	"v1 line of 120 bytes:$(printf 'PROXY UNKNOWN %0120d' 0 | od -An -v -tx1 | tr -d ' \n')"
	"plain STUN, no header:000100002112a442000102030405060708090a0b"
)
for b in "${bad[@]}"; do
	tap_run "malformed PROXY header (${b%%:*}) closed" \
		bench raw --transport tcp --hex "${b#*:}" --wait 5000 --expect-close "127.0.0.1:$PORT2"
done

# Slow senders: 300 connections that stop inside the v2 signature, and 300 that
# send nothing, are closed at the 5 s deadline; others are served meanwhile.
timeout 120 "$TURNPIKE_BENCH" hold --connections 300 --hex 0d0a0d0a --duration 20000 \
	"127.0.0.1:$PORT2" >"$T/hold1" 2>&1 &
track_pid "$!"
timeout 120 "$TURNPIKE_BENCH" hold --connections 300 --duration 20000 \
	"127.0.0.1:$TLS_PORT" >"$T/hold2" 2>&1 &
track_pid "$!"
wait_until 20 grep -q '^held ' "$T/hold1" && wait_until 20 grep -q '^held ' "$T/hold2"
tap_is "600 half-open connections to the PROXY ports held" "$?" "$(cat "$T/hold1" "$T/hold2")"
bind_check "served through HAProxy while 600 connections stall" "$FE_V2" tcp
bench probe -t tcp "127.0.0.1:$PORT" >"$T/probe" 2>&1
tap_is "a direct client on the plain port is served meanwhile" "$?" "$(cat "$T/probe")"

# scrape: /metrics into $T/m.prom; val SERIES: its value.
# shellcheck disable=SC2317 # called through wait_until
scrape() {
	[ "$(prom get "http://127.0.0.1:$MPORT/metrics" "$T/m.prom")" = 200 ]
}
val() {
	prom value "$T/m.prom" "turnpike_proxy_header_refusals_total{reason=\"$1\"}"
}
# shellcheck disable=SC2317 # called through wait_until
timeouts_reach() {
	scrape && [ "$(val timeout)" -ge "$1" ]
}
wait_until 30 timeouts_reach 600
tap_is "the 600 slow connections are closed and counted as timeouts" "$?" \
	"timeout=$(val timeout)" "$(grep -F proxy_header "$T/m.prom")"
prom check "$T/m.prom" >"$T/m.check" 2>&1
tap_is "/metrics stays valid Prometheus text" "$?" "$(cat "$T/m.check")"
untrusted=$(val untrusted)
malformed=$(val malformed)
[ "$untrusted" -ge 1 ]
tap_is "untrusted sources are counted" "$?" "untrusted=$untrusted"
[ "$malformed" -ge $((${#bad[@]} + 1)) ]
tap_is "missing and malformed headers are counted" "$?" "malformed=$malformed, want >= $((${#bad[@]} + 1))"
grep -q "connection from $CLIENT_IP:[0-9]* closed: a PROXY protocol listener reached from outside" \
	"$TURNPIKED_LOG"
tap_is "the refusal is logged with the source address" "$?" "$(grep -F 'closed:' "$TURNPIKED_LOG" | tail -n 3)"

bind_check "still served through HAProxy after all that" "$FE_V2" tcp
kill "$HAPROXY_PID" "$UDPPROXY_PID" 2>/dev/null
wait_exit "$HAPROXY_PID" 5
wait_exit "$UDPPROXY_PID" 5
stop_turnpiked
tap_is "turnpiked stops with status 0" "$?" "status $TURNPIKED_STATUS"
tap_done
