#!/usr/bin/env bash
# TCP relays (RFC 6062) with third-party and project clients, against a TCP
# echo peer on loopback: coturn's turnutils_uclient -T over TCP and -T -S over
# TLS relay every message (zero loss, "2 connections are completed"); -T -P
# (passive: CONNECTION-ATTEMPT) binds its data connections (uclient loses half
# its messages in that mode against coturn too, so only the binding is
# asserted). With four workers, CONNECTION-BINDs that land on another worker
# than the allocation's move there. A Python client checks the peer policy
# through CONNECT (403 and no connection reaching a refused peer), the allow
# options, CONNECTION-BIND errors, a 2 MB echo, the passive path, bounded
# server memory when the client stops reading, user-quota and max-bps on TCP
# relays, and no-tcp-relay (442).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
[ -n "$PY" ] || tap_skip_all "python3 is not installed"
UCLIENT=${UCLIENT:-$(command -v turnutils_uclient)}
CLIENT=$TOP_SRCDIR/tests/integration/tcprelay.py
N=20
M=2

make_cert
# The echo peer; a port taken between the pick and the bind gets another.
for try in 1 2 3 4 5; do
	pick_port
	ECHO_PORT=$PICKED
	"$PY" "$TOP_SRCDIR/tests/integration/tcpecho.py" 127.0.0.1 "$ECHO_PORT" 300 \
		>"$T/echo.log" 2>&1 &
	track_pid "$!"
	wait_until 10 grep -qE 'listening|Error' "$T/echo.log"
	grep -q listening "$T/echo.log" && break
done
grep -q listening "$T/echo.log" || bail_out "the TCP echo peer did not start (try $try)"

# relay ARGS...: the Python client against the running server as alice.
relay() {
	timeout 60 "$PY" "$CLIENT" 127.0.0.1 "$PORT" alice alice-pw turnpike.test "$@" 2>&1
}

# metric NAME: the sum of a per-worker counter from /metrics.
metric() {
	timeout 10 "$PY" -c 'import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
print(sum(int(float(l.split()[-1])) for l in text.splitlines()
          if l.startswith(sys.argv[2] + "{")))' "http://127.0.0.1:$PORT2/metrics" "$1" 2>&1
}

COMMON=(-n --listening-ip 127.0.0.1 --listening-port @PORT@ --relay-ip 127.0.0.1
	--min-port @RELAY_MIN@ --max-port @RELAY_MAX@ --lt-cred-mech --realm turnpike.test
	--user alice:alice-pw --log-file stdout --verbose)
pick_relay_range
subst() {
	local a
	for a in "$@"; do
		a=${a//@RELAY_MIN@/$RELAY_MIN}
		printf "%s\n" "${a//@RELAY_MAX@/$RELAY_MAX}"
	done
}
mapfile -t COMMON < <(subst "${COMMON[@]}")

# ---- server A: loopback peers allowed, TLS, four workers ----
start_turnpiked_or_bail "${COMMON[@]}" --allow-loopback-peers --relay-threads 4 \
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY" \
	--prometheus --prometheus-address 127.0.0.1 --prometheus-port @PORT2@
LOG_A=$TURNPIKED_LOG

# uclient_run NAME FLAGS...: one turnutils_uclient TCP-relay run against the echo peer.
uclient_run() {
	local name=$1 port=$PORT
	shift
	case " $* " in *" -S "*) port=$TLS_PORT ;; esac
	timeout 60 "$UCLIENT" "$@" -n "$N" -m "$M" -l 120 -u alice -w alice-pw \
		-e 127.0.0.1 -r "$ECHO_PORT" -p "$port" 127.0.0.1 >"$T/uc.$name" 2>&1
	echo "$?" >"$T/uc.$name.rc"
}

if [ -z "$UCLIENT" ]; then
	tap_skip "turnutils_uclient -T runs" "turnutils_uclient not installed (apt-get install coturn)"
else
	for round in 1 2; do
		for mode in tcp tls; do
			flags=(-T)
			[ "$mode" = tls ] && flags=(-T -S -E "$CERT")
			uclient_run "$mode$round" "${flags[@]}"
			sum=$(uclient_summary "$T/uc.$mode$round" $((N * M)))
			ck=$?
			grep -q '2 connections are completed' "$T/uc.$mode$round"
			done_rc=$?
			[ "$(cat "$T/uc.$mode$round.rc")" = 0 ] && [ "$ck" -eq 0 ] && [ "$done_rc" -eq 0 ]
			tap_is "uclient ${flags[*]:0:2} over ${mode^^} (run $round): 2 connections completed, zero loss" \
				"$?" "$sum" "$(grep -iE 'error|fail|complete|tot_' "$T/uc.$mode$round" | tail -n 8)"
			echo "# uclient -T over $mode, run $round: $sum"
		done
	done
	handed=$(grep -c 'taken over for its CONNECTION-BIND' "$LOG_A")
	tap_diag "CONNECTION-BINDs moved to their allocation's worker: $handed"
	binds0=$(metric turnpike_worker_tcp_binds_total)
	attempts0=$(metric turnpike_worker_tcp_connection_attempts_total)
	uclient_run passive -T -P
	binds1=$(metric turnpike_worker_tcp_binds_total)
	attempts1=$(metric turnpike_worker_tcp_connection_attempts_total)
	[ "$attempts1" -gt "$attempts0" ] && [ "$binds1" -ge $((binds0 + attempts1 - attempts0)) ] &&
		grep -qE 'tot_recv_msgs=[1-9]' "$T/uc.passive"
	tap_is "uclient -T -P (passive): every CONNECTION-ATTEMPT bound, data relayed" "$?" \
		"attempts $attempts0 -> $attempts1, binds $binds0 -> $binds1" \
		"$(grep -E 'tot_' "$T/uc.passive" | tail -n 2)"
fi

out=$(relay echo "127.0.0.1:$ECHO_PORT" 2000000)
tap_is "CONNECT, CONNECTION-BIND: 2 MB echoed intact" "$([ "$out" = "echoed 2000000" ]; echo $?)" "$out"
out=$(relay passive 0)
tap_is "passive: CONNECTION-ATTEMPT names the peer; bytes pass both ways after the bind" \
	"$([ "$out" = "passive ok" ]; echo $?)" "$out"
out=$(relay bindcheck "127.0.0.1:$ECHO_PORT")
tap_is "CONNECTION-BIND: unknown id 400, a second bind of a bound id 400" \
	"$([ "$out" = "connect 0 unknown 400 first 0 double 400" ]; echo $?)" "$out"
out=$(relay connect "127.0.0.1:$ECHO_PORT" "127.0.0.1:$ECHO_PORT" 10.0.0.1:80)
want=$(printf '127.0.0.1:%s 0\n127.0.0.1:%s 446\n10.0.0.1:80 403' "$ECHO_PORT" "$ECHO_PORT")
tap_is "a second CONNECT to the same peer: 446; allow-loopback-peers opens loopback only" \
	"$([ "$out" = "$want" ]; echo $?)" "$out"

# Bounded memory: a client that stops reading stops the peer side too.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$TURNPIKED_PID/status"; }
rss0=$(rss)
relay stall "127.0.0.1:$ECHO_PORT" 3 "$T/stalled" >"$T/stall.out" &
STALL=$!
track_pid "$STALL"
wait_until 20 test -s "$T/stalled"
rss1=$(rss)
paused=$(metric turnpike_worker_tcp_paused_total)
wait_exit "$STALL" 20
# AddressSanitizer's quarantine keeps freed buffers resident: memory is only
# measured without it.
limit=32768
grep -qa AddressSanitizer "$TURNPIKED" && limit=$((1024 * 1024))
[ $((rss1 - rss0)) -lt "$limit" ] && [ "$paused" -gt 0 ]
tap_is "a client that stops reading: reads pause, server memory grows by < $((limit / 1024)) MiB" \
	"$?" "$(cat "$T/stall.out"); VmRSS $rss0 -> $rss1 kB; paused $paused"
echo "# stall: $(cat "$T/stall.out"), VmRSS $rss0 -> $rss1 kB, paused $paused"

bytes=$(metric turnpike_worker_tcp_to_peer_bytes_total)
[ "$bytes" -ge 2000000 ] 2>/dev/null
tap_is "/metrics counts the bytes relayed over TCP" "$?" "$bytes"
stop_turnpiked
tap_is "server A stops cleanly" "$TURNPIKED_STATUS" "$(tail -n 5 "$LOG_A")"
if grep -qiE 'AddressSanitizer|runtime error' "$LOG_A"; then
	tap_fail "no sanitizer report" "$(grep -iE -A5 'AddressSanitizer|runtime error' "$LOG_A" | head -20)"
else
	tap_ok "no sanitizer report"
fi

# ---- server B: the default peer policy; then one address opened ----
echo_conns() { grep -c '^connection from' "$T/echo.log"; }
start_turnpiked_or_bail "${COMMON[@]}" --no-tls
before=$(echo_conns)
denied=("127.0.0.1:$ECHO_PORT" 127.0.0.2:80 10.0.0.1:80 172.16.0.1:80 192.168.1.1:80
	100.64.0.1:80 169.254.169.254:80 0.0.0.0:80 224.0.0.1:80 255.255.255.255:80 240.0.0.1:80
	"127.0.0.1:$PORT")
out=$(relay connect "${denied[@]}")
bad=$(awk '$2 != 403' <<<"$out")
tap_is "CONNECT to loopback, private, CGNAT, link-local, multicast, reserved and own addresses: 403" \
	"$([ -z "$bad" ] && [ "$(wc -l <<<"$out")" -eq "${#denied[@]}" ]; echo $?)" "$out"
tap_is "no connection reached the refused loopback peer" "$([ "$(echo_conns)" = "$before" ]; echo $?)" \
	"echo peer connections $before -> $(echo_conns)"
stop_turnpiked
start_turnpiked_or_bail "${COMMON[@]}" --no-tls --allowed-peer-ip 127.0.0.1
out=$(relay connect "127.0.0.1:$ECHO_PORT" 127.0.0.2:80)
tap_is "allowed-peer-ip=127.0.0.1 opens that address only: CONNECT 0, its neighbour 403" \
	"$([ "$out" = "$(printf '127.0.0.1:%s 0\n127.0.0.2:80 403' "$ECHO_PORT")" ]; echo $?)" "$out"
stop_turnpiked

# ---- server D: quotas and max-bps cover TCP relays ----
start_turnpiked_or_bail "${COMMON[@]}" --no-tls --allow-loopback-peers --user-quota 1 \
	--max-bps 200000
out=$(relay allocate2)
tap_is "user-quota=1: a second TCP allocation gets 486" \
	"$([ "$out" = "allocate 0 then 486" ]; echo $?)" "$out"
# 1 MB each way at 200000 bytes/s with a one-second burst needs 4 s at least;
# unlimited it takes a fraction of a second (a lower bound: load only adds time).
out=$(relay rate "127.0.0.1:$ECHO_PORT" 1000000)
secs=$(awk '/^echoed 1000000 in/ { print int($4) }' <<<"$out")
[ -n "$secs" ] && [ "$secs" -ge 3 ]
tap_is "max-bps=200000 paces a TCP relay connection: 1 MB echoed in >= 3 s" "$?" "$out"
stop_turnpiked

# ---- server C: no-tcp-relay ----
start_turnpiked_or_bail "${COMMON[@]}" --no-tls --allow-loopback-peers --no-tcp-relay
out=$(relay allocate)
tap_is "no-tcp-relay: an Allocate for TCP gets 442" "$([ "$out" = "allocate 442" ]; echo $?)" \
	"$out"
stop_turnpiked
tap_done
