#!/usr/bin/env bash
# coturn's turnutils_uclient (a third-party TURN client) relays through the
# server to turnutils_peer (a UDP echo peer) over UDP, TCP and TLS, with
# channels, with Send indications and client-to-client: every message sent
# must come back, as uclient's own summary reports it.
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

# Messages per client, clients, message size: a few seconds per run.
N=20
M=2

make_cert
turn_common_args
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 \
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY" \
	--relay-ip 127.0.0.1 --allow-loopback-peers

pick_port
PEER_PORT=$PICKED
"$UPEER" -L 127.0.0.1 -p "$PEER_PORT" >"$T/peer.log" 2>&1 &
PEER_PID=$!
track_pid "$PEER_PID"
wait_until 10 udp_listening "$PEER_PORT" || bail_out "turnutils_peer did not start"

# uclient_start NAME PORT UCLIENT-FLAGS...: one uclient run in the background,
# output in $T/uc.NAME. The runs of one group go at once (each mostly waits).
uclient_start() {
	local name=$1 port=$2
	shift 2
	echo "$*" >"$T/uc.$name.args"
	timeout 60 "$UCLIENT" "$@" -n "$N" -m "$M" -l 120 -u "$TURN_USER" -w "$TURN_PASS" \
		-e 127.0.0.1 -r "$PEER_PORT" -p "$port" 127.0.0.1 >"$T/uc.$name" 2>&1 &
	UC_PIDS[$name]=$!
	track_pid "$!"
}

# uclient_check NAME DESC EXPECTED-MESSAGES PORT: waits for the run and checks
# its summary. uclient's TLS runs can lose an early message when the machine is
# loaded (seen against coturn as well), so a run with loss is repeated once, on
# its own; the check passes only if that run is clean, and the first result is
# kept in the diagnostics.
uclient_check() {
	local name=$1 desc=$2 want=$3 port=$4 rc ck first=""
	wait_exit "${UC_PIDS[$name]}" 90
	rc=$TP_EXIT_STATUS
	uclient_summary "$T/uc.$name" "$want" >"$T/uc.$name.check"
	ck=$?
	if [ "$rc" != 0 ] || [ "$ck" -ne 0 ]; then
		first="first run: $(cat "$T/uc.$name.check") (exit status $rc); repeated alone"
		echo "# $desc: $first"
		mv "$T/uc.$name" "$T/uc.$name.first"
		# shellcheck disable=SC2046 # the recorded flags are words
		uclient_start "$name" "$port" $(cat "$T/uc.$name.args")
		wait_exit "${UC_PIDS[$name]}" 90
		rc=$TP_EXIT_STATUS
		uclient_summary "$T/uc.$name" "$want" >"$T/uc.$name.check"
		ck=$?
	fi
	[ "$rc" = 0 ] && [ "$ck" -eq 0 ]
	tap_is "$desc" "$?" "turnutils_uclient $(cat "$T/uc.$name.args") (exit status $rc)" \
		"$(cat "$T/uc.$name.check")" "$first" \
		"$(grep -iE 'error|fail|lost|tot_' "$T/uc.$name" | tail -n 12)"
	echo "# $desc: $(cat "$T/uc.$name.check")"
}

declare -A UC_PIDS
ONE=$((N * M))
TWO=$((2 * N * M))
# TLS: the server certificate is checked against the test CA (-E). uclient's TLS
# client-to-client mode loses its first messages at the default 20 ms pace
# against coturn too (a client artefact), hence -z 50 for TLS.
TLS_FLAGS=(-t -S -E "$CERT" -z 50)
start=$SECONDS
uclient_start udp_chan "$PORT"
uclient_start tcp_chan "$PORT" -t
uclient_start tls_chan "$TLS_PORT" "${TLS_FLAGS[@]}"
uclient_check udp_chan "UDP, channels: every message echoed" "$ONE" "$PORT"
uclient_check tcp_chan "TCP, channels: every message echoed" "$ONE" "$PORT"
uclient_check tls_chan "TLS, channels: every message echoed" "$ONE" "$TLS_PORT"
uclient_start udp_send "$PORT" -s
uclient_start tcp_send "$PORT" -t -s
uclient_start tls_send "$TLS_PORT" "${TLS_FLAGS[@]}" -s
uclient_check udp_send "UDP, Send indications: every message echoed" "$ONE" "$PORT"
uclient_check tcp_send "TCP, Send indications: every message echoed" "$ONE" "$PORT"
uclient_check tls_send "TLS, Send indications: every message echoed" "$ONE" "$TLS_PORT"
uclient_start udp_c2c "$PORT" -y
uclient_start tcp_c2c "$PORT" -t -y
uclient_start tls_c2c "$TLS_PORT" "${TLS_FLAGS[@]}" -y
uclient_check udp_c2c "UDP, client to client: every message delivered" "$TWO" "$PORT"
uclient_check tcp_c2c "TCP, client to client: every message delivered" "$TWO" "$PORT"
uclient_check tls_c2c "TLS, client to client: every message delivered" "$TWO" "$TLS_PORT"
echo "# nine uclient runs in $((SECONDS - start)) s"

# The project's client through the same peer: 100 payloads of 1000 bytes come
# back intact over each transport, with Send indications and with a channel.
for t in udp tcp tls; do
	for mode in send channel; do
		port=$PORT
		[ "$t" = tls ] && port=$TLS_PORT
		flags=()
		[ "$mode" = channel ] && flags=(--channel)
		bench turn -t "$t" --ca "$CERT" --user "$TURN_USER" --password "$TURN_PASS" \
			--send "127.0.0.1:$PEER_PORT" "${flags[@]}" --count 100 --payload-size 1000 \
			"127.0.0.1:$port" >"$T/bt" 2>&1
		rc=$?
		[ "$rc" -eq 0 ] && grep -q '^sent 100 received 100 bad 0$' "$T/bt"
		tap_is "turnpike-bench turn over $t, $mode: 100 payloads echoed intact" "$?" \
			"exit status $rc" "$(cat "$T/bt")"
	done
done

# uclient picks channel numbers from RFC 5766's 0x4000-0x7FFE (RFC 8656 narrowed
# the range to 0x4000-0x4FFF); coturn binds them, and so does turnpike with
# rfc5766-channel-numbers (turn_common_args sets it; t_hardening checks the default).
for ch in 0x4fff 0x5000 0x7ffe; do
	bench turn --user "$TURN_USER" --password "$TURN_PASS" --send "127.0.0.1:$PEER_PORT" \
		--channel-number "$ch" --count 20 "127.0.0.1:$PORT" >"$T/bt" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] && grep -q '^sent 20 received 20 bad 0$' "$T/bt"
	tap_is "ChannelBind $ch (RFC 5766 range) relays as coturn does" "$?" "exit status $rc" \
		"$(cat "$T/bt")"
done

# A control that must fail: peer 127.0.0.2 (nobody echoes there) loses everything.
timeout 60 "$UCLIENT" -n 5 -m 1 -l 120 -u "$TURN_USER" -w "$TURN_PASS" -e 127.0.0.2 \
	-r "$PEER_PORT" -p "$PORT" 127.0.0.1 >"$T/uc" 2>&1
! uclient_summary "$T/uc" 5 >"$T/uc.check"
tap_is "the summary check fails when nothing is echoed" "$?" "$(cat "$T/uc.check")"

# Wrong password: the allocation is refused, uclient fails.
timeout 30 "$UCLIENT" -n 2 -m 1 -u "$TURN_USER" -w wrong -e 127.0.0.1 -r "$PEER_PORT" \
	-p "$PORT" 127.0.0.1 >"$T/uc" 2>&1
rc=$?
! uclient_summary "$T/uc" 2 >/dev/null && [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
tap_is "a wrong password is refused" "$?" "exit status $rc" "$(tail -n 5 "$T/uc")"

proc_alive "$TURNPIKED_PID"
tap_is "$TURN_SERVER_IMPL still running" "$?"
turn_stop_check

tap_done
