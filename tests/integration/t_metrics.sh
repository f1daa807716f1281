#!/usr/bin/env bash
# The prometheus endpoint: /healthz and /readyz answer 200, unknown paths 404,
# POST 405; /metrics is valid Prometheus text (checked by promtext.py) whose
# counters move after turnutils_stunclient (Binding counters) and after a
# wrong password (the 401 counter); the UDP allocation gauge is 1 while a
# turnpike-bench allocation lives and 0 once it is deallocated; traffic
# counters grow between two scrapes while a turnutils_uclient session runs. The per-user series appear only
# with prometheus-username-labels, and /readyz is 503 with the relay ports
# nearly exhausted; with it, turn_traffic_*{realm,user} keep a user's traffic
# after the session ends, and carry the realm the user's credentials verified
# in (a store user of another realm). A stalled HTTP client is dropped without holding up
# others, a huge header is refused, and a broken TLS record on the TLS port counts as a
# TLS handshake failure (plain garbage there is served as plain and closed).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/turnlib.sh"

require_binaries
UCLIENT=${UCLIENT:-$(command -v turnutils_uclient)}
UPEER=${UPEER:-$(command -v turnutils_peer)}
STUNCLIENT=${STUNCLIENT:-$(command -v turnutils_stunclient)}
if [ -z "$UCLIENT" ] || [ -z "$UPEER" ] || [ -z "$STUNCLIENT" ]; then
	tap_skip_all "turnutils_uclient/peer/stunclient not installed (apt-get install coturn)"
fi
PROMTEXT=$TOP_SRCDIR/tests/integration/promtext.py
prom() { timeout 15 python3 "$PROMTEXT" "$@"; }

# shellcheck disable=SC2317 # called through wait_until
tcp_listening() {
	[ -n "$(ss -Hlnt "sport = :$1" 2>/dev/null)" ]
}

# http PATH: GET into $T/body; sets CODE.
http() {
	CODE=$(prom get "http://127.0.0.1:$MPORT$1" "$T/body")
}

# scrape NAME: /metrics into $T/NAME.prom, which must be valid.
scrape() {
	http /metrics
	cp "$T/body" "$T/$1.prom"
	[ "$CODE" = 200 ] && prom check "$T/$1.prom" >"$T/$1.check" 2>&1
}

# val NAME SERIES: the series' value in $T/NAME.prom (empty when absent).
val() {
	prom value "$T/$1.prom" "$2"
}

# wait_value SERIES WANT: scrapes until SERIES is WANT (10 s at most); sets GOT.
wait_value() {
	local _
	for _ in $(seq 1 50); do
		scrape wait && GOT=$(val wait "$1") && [ "$GOT" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# The checker itself must refuse what is not the format.
printf '# TYPE a counter\na{x="1"} 1\na{x="1"} 2\n' >"$T/bad1.prom"
printf '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n' \
	>"$T/bad2.prom"
printf 'a{x="a\\q"} 1\n' >"$T/bad3.prom"
printf '# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na{x="2"} 1\n' >"$T/bad4.prom"
rc=0
for f in bad1 bad2 bad3 bad4; do
	if prom check "$T/$f.prom" >/dev/null; then
		rc=1
		echo "# the checker accepted $f.prom"
	fi
done
tap_is "the format checker refuses duplicate series, non-cumulative buckets, bad escapes, split families" "$rc"

# Startup errors name the option or the address.
timeout 10 "$TURNPIKED" -n --listening-ip 127.0.0.1 --prometheus \
	--prometheus-address metrics.example >"$T/bad-addr.log" 2>&1
rc=$?
tap_is "a prometheus-address that is not an IP address stops the daemon" \
	"$([ "$rc" = 1 ] && grep -q "prometheus-address" "$T/bad-addr.log"; echo $?)" \
	"status $rc: $(cat "$T/bad-addr.log")"

pick_port
MPORT=$PICKED
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(30)' "$MPORT" &
HOLD=$!
track_pid "$HOLD"
wait_until 10 tcp_listening "$MPORT"
pick_port
timeout 10 "$TURNPIKED" -n --listening-ip 127.0.0.1 --listening-port "$PICKED" --no-tls \
	--prometheus --prometheus-port "$MPORT" >"$T/busy.log" 2>&1
rc=$?
kill "$HOLD"
wait "$HOLD" 2>/dev/null
forget_pid "$HOLD"
tap_is "a metrics port in use stops the daemon, naming the address" \
	"$([ "$rc" = 1 ] && grep -q "metrics HTTP 127.0.0.1:$MPORT" "$T/busy.log"; echo $?)" \
	"status $rc: $(cat "$T/busy.log")"

turn_common_args
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 --no-tls \
	--relay-ip 127.0.0.1 --allow-loopback-peers --relay-threads 2 \
	--prometheus --prometheus-address 127.0.0.1 --prometheus-port @PORT2@
MPORT=$PORT2

grep -q "metrics on http://127.0.0.1:$MPORT/metrics" "$TURNPIKED_LOG"
tap_is "the startup log names the metrics address" "$?"
http /healthz
tap_is "/healthz is 200 ok" "$([ "$CODE" = 200 ] && [ "$(cat "$T/body")" = ok ]; echo $?)" \
	"status $CODE: $(cat "$T/body")"
http /readyz
tap_is "/readyz is 200 ready" "$([ "$CODE" = 200 ] && [ "$(cat "$T/body")" = ready ]; echo $?)" \
	"status $CODE: $(cat "$T/body")"
http /nothing-here
tap_is "an unknown path is 404" "$([ "$CODE" = 404 ]; echo $?)" "status $CODE"
code=$(timeout 15 python3 -c 'import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"x", method="POST"), timeout=10)
except urllib.error.HTTPError as e:
    print(e.code, e.headers.get("Allow"))' "http://127.0.0.1:$MPORT/metrics")
tap_is "POST is 405 with Allow: GET, HEAD" "$([ "$code" = "405 GET, HEAD" ]; echo $?)" "$code"
# RFC 9110 §9.3.2: the headers of a GET (its Content-Length too), no body.
head=$(prom head "http://127.0.0.1:$MPORT/metrics")
hz=$(prom head "http://127.0.0.1:$MPORT/healthz")
tap_is "HEAD /metrics and /healthz: 200, a Content-Length and not one byte of body" \
	"$([[ $head =~ ^200\ 0\ [1-9][0-9]*$ ]] && [ "$hz" = "200 0 3" ]; echo $?)" "$head; $hz"

scrape idle
tap_is "/metrics is valid Prometheus text" "$?" "$(cat "$T/idle.check")"
grep -q '^# TYPE turn_total_allocations gauge$' "$T/idle.prom" &&
	grep -q '^# TYPE stun_binding_request counter$' "$T/idle.prom" &&
	grep -q '^# TYPE turnpike_allocate_latency_seconds histogram$' "$T/idle.prom"
tap_is "coturn's metric names and types, and the latency histogram" "$?"
[ "$(val idle 'turn_total_allocations{type="UDP"}')" = 0 ] &&
	[ "$(val idle 'turnpike_relay_ports_free')" = 200 ] &&
	[ "$(val idle 'turnpike_relay_ports_used')" = 0 ]
tap_is "no allocation and 200 free relay ports at first" "$?" \
	"$(grep -E '^(turn_total_allocations|turnpike_relay_ports)' "$T/idle.prom")"
grep -q 'user=' "$T/idle.prom"
tap_is "no user labels without prometheus-username-labels" "$((1 - $?))"

# Binding: turnutils_stunclient sends Binding requests.
b0=$(val idle stun_binding_request)
timeout 20 "$STUNCLIENT" -p "$PORT" 127.0.0.1 >"$T/stun.out" 2>&1
scrape stun
b1=$(val stun stun_binding_request)
r1=$(val stun stun_binding_response)
tap_is "turnutils_stunclient moves stun_binding_request and stun_binding_response" \
	"$([ "$b1" -gt "$b0" ] && [ "$r1" -gt 0 ]; echo $?)" "request $b0 -> $b1, response $r1"

# A wrong password: the 401 counter moves.
a0=$(val idle 'turnpike_auth_failures_total{code="401"}')
timeout 30 "$UCLIENT" -n 2 -m 1 -u "$TURN_USER" -w wrong -e 127.0.0.1 -r 9 -p "$PORT" \
	127.0.0.1 >"$T/uc.wrong" 2>&1
scrape wrong
a1=$(val wrong 'turnpike_auth_failures_total{code="401"}')
tap_is "a wrong password moves turnpike_auth_failures_total{code=\"401\"}" \
	"$([ "$a1" -gt "$a0" ]; echo $?)" "$a0 -> $a1"

# turnpike-bench holds one allocation until sent SIGUSR1, then refreshes and deallocates.
bench turn --timeout 3000 --user "$TURN_USER" --password "$TURN_PASS" --refresh-after 60000 \
	"127.0.0.1:$PORT" >"$T/bench.hold" 2>&1 &
BENCH=$!
wait_value 'turn_total_allocations{type="UDP"}' 1
tap_is "turn_total_allocations{type=\"UDP\"} is 1 while an allocation lives" "$?" "value $GOT"
[ "$(val wait turnpike_relay_ports_used)" = 1 ] && [ "$(val wait turnpike_relay_ports_free)" = 199 ] &&
	[ "$(val wait turnpike_allocate_latency_seconds_count)" -ge 1 ] &&
	[ "$(val wait turnpike_allocations_created_total)" -ge 1 ]
tap_is "relay ports used and free, allocations created and the latency histogram count it" "$?" \
	"$(grep -E '^(turnpike_relay_ports|turnpike_allocate_latency_seconds_count|turnpike_allocations_created_total)' "$T/wait.prom")"
bench_refresh_now "$BENCH"
grep -q '^deallocate ok$' "$T/bench.hold"
tap_is "the bench session deallocates" "$?" "$(cat "$T/bench.hold")"
wait_value 'turn_total_allocations{type="UDP"}' 0
tap_is "turn_total_allocations{type=\"UDP\"} is back to 0 after the session" "$?" "value $GOT"

# turnutils_uclient relays 300 messages to turnutils_peer, one each 50 ms:
# two scrapes while it runs see the traffic counters grow (so traffic was
# relayed between them, however slow the machine).
start_udp_peer
timeout 60 "$UCLIENT" -c -n 300 -z 50 -m 1 -l 100 -u "$TURN_USER" -w "$TURN_PASS" \
	-e 127.0.0.1 -r "$PEER_PORT" -p "$PORT" 127.0.0.1 >"$T/uc.long" 2>&1 &
UC=$!
track_pid "$UC"
for _ in $(seq 1 100); do
	scrape during1 && [ "$(val during1 turn_total_traffic_rcvp)" -gt 0 ] && break
	sleep 0.2
done
sleep 1
scrape during2
alive=$(proc_alive "$UC" && echo yes)
tap_is "both scrapes are valid" "$(cat "$T/during1.check" "$T/during2.check" | grep -c .)" \
	"$(cat "$T/during1.check" "$T/during2.check")"
[ "$(val during2 'turn_total_allocations{type="UDP"}')" -ge 1 ]
tap_is "turn_total_allocations{type=\"UDP\"} counts uclient's allocations" "$?" \
	"$(val during2 'turn_total_allocations{type="UDP"}')"
rc=0
for s in turn_total_traffic_rcvp turn_total_traffic_rcvb turn_total_traffic_sentp \
	turn_total_traffic_peer_sentb 'turn_traffic_rcvp{realm="turnpike.test"}' \
	'turn_traffic_peer_rcvb{realm="turnpike.test"}'; do
	v1=$(val during1 "$s")
	v2=$(val during2 "$s")
	if ! [ "${v2:-0}" -gt "${v1:-0}" ]; then
		rc=1
		echo "# $s: $v1 -> $v2"
	fi
done
tap_is "traffic counters grow between two scrapes during the session" \
	"$rc" "uclient still running at the second scrape: ${alive:-no}"
w=$(($(val during2 'turnpike_worker_udp_received_packets_total{worker="0"}') + \
	$(val during2 'turnpike_worker_udp_received_packets_total{worker="1"}')))
tap_is "per-worker UDP packets are reported" "$([ "$w" -gt 0 ]; echo $?)" "$w"
# Relayed UDP leaves in sendmmsg batches: at least one call, never more calls than packets.
calls=0 pkts=0
for k in 0 1; do
	calls=$((calls + $(val during2 "turnpike_worker_udp_send_calls_total{worker=\"$k\"}")))
	pkts=$((pkts + $(val during2 "turnpike_worker_to_peer_packets_total{worker=\"$k\"}") + \
		$(val during2 "turnpike_worker_to_client_packets_total{worker=\"$k\"}")))
done
tap_is "relayed UDP send calls are counted, no more than the packets relayed" \
	"$([ "$calls" -gt 0 ] && [ "$calls" -le "$pkts" ]; echo $?)" "calls $calls, packets $pkts"
wait_exit "$UC" 90
tap_is "the uclient session ends cleanly" "$([ "$TP_EXIT_STATUS" = 0 ]; echo $?)" \
	"status $TP_EXIT_STATUS: $(tail -n 5 "$T/uc.long")"
turn_stop_check

# Per-user series; and /readyz with a pool of one relay port: 503 while an
# allocation holds it (0% free), 200 once it is back. An alice of realm
# b.example too (the store's, picked by an ORIGIN), apart from the static one.
make_cert
CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
DB=$T/realms.db
{ "$CTL" --db "$DB" user add alice --realm b.example --password alice-b &&
	"$CTL" --db "$DB" origin add https://app.b.example --realm b.example; } >/dev/null ||
	bail_out "turnpikectl could not create $DB"
start_turn_server_or_bail -n --listening-port @PORT@ --min-port @RELAY_MIN@ \
	--max-port @RELAY_MIN@ --lt-cred-mech --user "$TURN_USER:$TURN_PASS" --userdb "$DB" \
	--realm 'q"t' --log-file stdout --listening-ip 127.0.0.1 --relay-threads 1 \
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY" \
	--prometheus --prometheus-port @PORT2@ --prometheus-username-labels --allow-loopback-peers
MPORT=$PORT2

# A client that sends half a request and waits: it must not hold up others,
# and the server drops it (evhttp's 10 s timeout; 25 s allowed here).
timeout 40 python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
t = time.monotonic()
try:
    data = s.recv(4096)
    print("closed" if data == b"" else "answered", file=open(sys.argv[2], "w"))
except socket.timeout:
    print("still open", file=open(sys.argv[2], "w"))' "$MPORT" "$T/slow" &
SLOW=$!
track_pid "$SLOW"
big=$(timeout 15 python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
try:
    print(s.recv(64).split(b"\r\n")[0].decode() or "closed")
except (ConnectionResetError, socket.timeout) as e:
    print(type(e).__name__)' "$MPORT")
echo "# the 64 KiB header got: $big"
http /healthz
tap_is "a 64 KiB header is refused, /healthz still answers during a stalled request" \
	"$(case $big in "HTTP/1.1 200"*) echo 1 ;; *) [ "$CODE" = 200 ]; echo $? ;; esac)" \
	"big header: $big; /healthz $CODE"
timeout 5 python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(b"\x16\x03\x01\x00\x04\xff\x00\x00\x00")
try:
    s.recv(100)
except OSError:
    pass' "$TLS_PORT"
# 200 scrapes whose clients go away (half of them with a reset) before the
# workers have answered, then malformed requests: the daemon keeps serving (and exits cleanly below,
# where a use after free or a leak would show under the sanitizers).
timeout 60 python3 -c 'import socket, struct, sys
for i in range(200):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    if i % 2:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    s.close()
for junk in (b"\x00\xff\x16\x03 garbage\r\n\r\n", b"GET\r\n\r\n", b"GET /metrics HTTP/9.9\r\n\r\n",
             b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n", b"GET /%zz HTTP/1.1\r\n\r\n",
             b"POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"x" * 4096):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    try:
        s.sendall(junk)
        s.recv(100)
    except OSError:
        pass
    s.close()' "$MPORT"
scrape gone
tap_is "scrapes abandoned by their clients and garbage requests leave the endpoint working" \
	"$?" "status $CODE: $(cat "$T/gone.check")"
wait_value turnpike_tls_handshake_failures_total 1
tap_is "a broken TLS handshake record on the TLS port counts a TLS handshake failure" "$?" "value $GOT"
bench turn --timeout 3000 --user "$TURN_USER" --password "$TURN_PASS" --refresh-after 60000 \
	"127.0.0.1:$PORT" >"$T/bench" 2>&1 &
BENCH=$!
wait_value 'turnpike_user_allocations{realm="q\"t",user="alice"}' 1
tap_is "prometheus-username-labels: a live allocation per user, realm escaped" "$?" \
	"$(grep -E '^turnpike_user' "$T/wait.prom")"
http /readyz
tap_is "/readyz is 503 when no relay port is free" \
	"$([ "$CODE" = 503 ] && grep -q 'relay ports nearly exhausted' "$T/body"; echo $?)" \
	"status $CODE: $(cat "$T/body")"
bench_refresh_now "$BENCH"
http /readyz
tap_is "... and 200 again once the port is back" "$([ "$CODE" = 200 ]; echo $?)" \
	"status $CODE: $(cat "$T/body")"
bench turn --transport tls --insecure --timeout 3000 --user "$TURN_USER" \
	--password "$TURN_PASS" --refresh-after 60000 "127.0.0.1:$TLS_PORT" >"$T/bench.tls" 2>&1 &
BENCH=$!
wait_value 'turn_total_allocations{type="TLS/TCP"}' 1
tap_is "a TLS allocation counts as turn_total_allocations{type=\"TLS/TCP\"} (coturn's label)" \
	"$?" "value $GOT; $(cat "$T/bench.tls")"
bench_refresh_now "$BENCH"
bench turn --user "$TURN_USER" --password "$TURN_PASS" --send "127.0.0.1:$PEER_PORT" --count 5 \
	"127.0.0.1:$PORT" >"$T/bench.send" 2>&1
grep -q '^deallocate ok$' "$T/bench.send" &&
	wait_value 'turn_traffic_rcvp{realm="q\"t",user="alice"}' 5 &&
	[ "$(val wait 'turn_traffic_peer_rcvb{realm="q\"t",user="alice"}')" -gt 0 ] &&
	[ "$(val wait 'turnpike_user_allocations{realm="q\"t",user="alice"}')" = 0 ] &&
	! grep -q '^turn_traffic_rcvp{realm="q\\"t"}' "$T/wait.prom"
tap_is "turn_traffic_*{realm,user} keep an ended session's traffic (coturn's labels)" "$?" \
	"$(cat "$T/bench.send")" "$(grep -E '^(turn_traffic|turnpike_user)' "$T/wait.prom")"
# The realm label is the realm alice's credentials verified in, not the
# server's. uclient's first allocation holds the one relay port (its second
# gets 508): the live series show it.
timeout 30 "$UCLIENT" -c -o https://app.b.example -n 1 -m 1 -u alice -w alice-b -e 127.0.0.1 \
	-r "$PEER_PORT" -p "$PORT" 127.0.0.1 >"$T/uc.realm" 2>&1
wait_value 'turnpike_user_allocations{realm="b.example",user="alice"}' 1 &&
	[ "$(val wait 'turnpike_user_allocations{realm="q\"t",user="alice"}')" = 0 ] &&
	[ -n "$(val wait 'turn_traffic_rcvp{realm="b.example",user="alice"}')" ] &&
	[ "$(val wait 'turn_traffic_rcvp{realm="q\"t",user="alice"}')" = 5 ]
tap_is "a user of another realm: its series carry that realm, apart from the same name's" "$?" \
	"$(tail -n 3 "$T/uc.realm")" "$(grep -E '^(turn_traffic_rcvp|turnpike_user)' "$T/wait.prom")"
wait_exit "$SLOW" 40
tap_is "the stalled HTTP client is dropped" "$(grep -qx closed "$T/slow"; echo $?)" \
	"$(cat "$T/slow" 2>/dev/null)"
turn_stop_check

tap_done
