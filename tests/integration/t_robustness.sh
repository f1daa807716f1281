#!/usr/bin/env bash
# Hostile and lazy clients do not take the daemon down or block others: garbage
# datagrams, garbage on TCP, a stalled half header, many idle connections, TLS
# clients that never finish a handshake.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries
make_cert
std_args
# The crowds below come from 127.0.0.1 like the probes that check the server
# still serves; max-connections-per-ip (t_hardening.sh) would refuse those.
start_turnpiked_or_bail "${STD_ARGS[@]}" --max-connections-per-ip 0
SRV=127.0.0.1:$PORT

BINDING_REQ=000100002112a442000102030405060708090a0b

# still_serving WHAT: UDP, TCP and TLS probes all answered, daemon alive.
still_serving() {
	local t ok=0 out=""
	for t in udp tcp tls; do
		if [ "$t" = tls ]; then
			bench probe --transport tls --ca "$CERT" --timeout 3000 "127.0.0.1:$TLS_PORT" \
				>"$T/serve.$t" 2>&1 || ok=1
		else
			bench probe --transport "$t" --timeout 3000 "$SRV" >"$T/serve.$t" 2>&1 || ok=1
		fi
		out="$out$t: $(cat "$T/serve.$t")"$'\n'
	done
	proc_alive "$TURNPIKED_PID" || {
		ok=1
		out="${out}daemon is gone"
	}
	tap_is "$1: UDP, TCP and TLS still answered" "$ok" "$out" "$(tail -n 20 "$TURNPIKED_LOG")"
}

# Controls: the raw client sees a reply to a real request, so silence means something.
tap_run "raw UDP Binding request gets a reply (control)" \
	bench raw --hex "$BINDING_REQ" --wait 2000 --expect-reply "$SRV"

# Non-STUN datagrams are dropped without an answer.
for hex in "" 00 ff 0001 "$(printf 'hello turn' | od -An -tx1 | tr -d ' \n')" \
	000100002112a442000102030405060708 000100002112a443000102030405060708090a0b \
	c00100002112a442000102030405060708090a0b; do
	tap_run "non-STUN datagram '${hex:-<empty>}' gets no answer" \
		bench raw --hex "$hex" --wait 300 --expect-silence "$SRV"
done

# STUN-looking garbage: whatever the daemon answers, it must keep serving.
for hex in 000100082112a442000102030405060708090a0b \
	000100042112a442000102030405060708090a0b00 \
	000100082112a442000102030405060708090a0b00200040 \
	000100082112a442000102030405060708090a0b8028000400000000 \
	000100042112a442000102030405060708090a0b00200000 \
	000100102112a442000102030405060708090a0b0020000800ff1234 \
	4000ffff 4fff0000 4000000411; do
	bench raw --hex "$hex" --wait 200 "$SRV" >"$T/weird" 2>&1
done
tap_ok "malformed STUN datagrams sent"
still_serving "after malformed STUN datagrams"

tap_run "2000 random garbage datagrams sent, no port-unreachable" \
	bench spray --count 2000 "$SRV"
tap_diag "$(cat "$T/out")"
tap_run "2000 more from another seed" bench spray --count 2000 --seed 4242 "$SRV"
still_serving "after 4000 garbage datagrams"

# TCP: garbage gets the connection closed by the server. "GET " frames as
# ChannelData 0x4745: with no allocation on the connection no channel can be
# bound, so it can only be garbage.
http=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | od -An -tx1 | tr -d ' \n')
tap_run "TCP: an HTTP request gets the connection closed" \
	bench raw --transport tcp --hex "$http" --wait 5000 --expect-close "$SRV"
ssh=$(printf 'SSH-2.0-OpenSSH_9.2\r\n' | od -An -tx1 | tr -d ' \n')
tap_run "TCP: an SSH banner (channel 0x5353 is out of range) gets the connection closed" \
	bench raw --transport tcp --hex "$ssh" --wait 5000 --expect-close "$SRV"
# A TLS record on the plain port is served as TLS (as coturn does): a broken
# handshake record fails the handshake and closes the connection.
tap_run "TCP: a broken TLS handshake record on the plain port gets the connection closed" \
	bench raw --transport tcp --hex 1603010004ff000000 --wait 5000 --expect-close "$SRV"
tap_run "TCP: bytes with top bits 11 get the connection closed" \
	bench raw --transport tcp --hex ffffffffffffffffffffffffffffffffffffffff --wait 5000 \
	--expect-close "$SRV"
tap_run "TCP: STUN header with a bad cookie gets the connection closed" \
	bench raw --transport tcp --hex 000100002112a443000102030405060708090a0b --wait 5000 \
	--expect-close "$SRV"
tap_run "TCP: STUN length not a multiple of 4 gets the connection closed" \
	bench raw --transport tcp --hex 000100052112a442000102030405060708090a0b0000000000 \
	--wait 5000 --expect-close "$SRV"
# One segment: a good request, then garbage. The answer must not be lost.
tap_run "TCP: a good request followed by garbage: connection closed" \
	bench raw --transport tcp --hex "${BINDING_REQ}ffffffff" --wait 5000 --expect-close "$SRV"
if grep -q '^recv 0101' "$T/out"; then
	tap_ok "  ... after the good request was answered"
else
	tap_fail "  ... after the good request was answered" "$(cat "$T/out")"
fi
tap_run "TLS port: plain-text garbage gets the connection closed" \
	bench raw --transport tcp --hex "$http" --wait 5000 --expect-close "127.0.0.1:$TLS_PORT"
still_serving "after TCP garbage"

# hold_start NAME ARGS...: `bench hold` in the background, waits for "held N".
hold_start() {
	local name=$1 i
	shift
	timeout 120 "$TURNPIKE_BENCH" hold "$@" >"$T/$name.hold" 2>&1 &
	HOLD_PID=$!
	track_pid "$HOLD_PID"
	for i in $(seq 1 200); do
		grep -q '^held ' "$T/$name.hold" && return 0
		proc_alive "$HOLD_PID" || break
		sleep 0.05
		: "$i"
	done
	return 1
}

hold_stop() {
	kill "$HOLD_PID" 2>/dev/null
	wait_exit "$HOLD_PID" 5
}

# A client that sends half a STUN header and stalls.
if hold_start half --connections 1 --hex 00010000 --duration 60000 "$SRV"; then
	tap_ok "TCP: client holding half a STUN header connected"
else
	tap_fail "TCP: client holding half a STUN header connected" "$(cat "$T/half.hold")"
fi
still_serving "while a TCP client stalls mid-header"
hold_stop

# Many idle TCP connections.
if hold_start idle --connections 200 --duration 60000 "$SRV"; then
	tap_ok "200 idle TCP connections open"
else
	tap_fail "200 idle TCP connections open" "$(cat "$T/idle.hold")"
fi
still_serving "with 200 idle TCP connections"
hold_stop

# TLS clients that connect and never handshake, or stop inside the ClientHello.
if hold_start tls --connections 20 --duration 60000 "127.0.0.1:$TLS_PORT"; then
	tap_ok "20 TLS connections without a handshake open"
else
	tap_fail "20 TLS connections without a handshake open" "$(cat "$T/tls.hold")"
fi
tls_hold=$HOLD_PID
if hold_start tls2 --connections 20 --hex 16030100f4010000f00303 --duration 60000 \
	"127.0.0.1:$TLS_PORT"; then
	tap_ok "20 TLS connections stalled inside the ClientHello open"
else
	tap_fail "20 TLS connections stalled inside the ClientHello open" "$(cat "$T/tls2.hold")"
fi
still_serving "while TLS clients stall before and inside the handshake"
hold_stop
HOLD_PID=$tls_hold
hold_stop

still_serving "after the lazy clients left"
stop_turnpiked
tap_is "daemon stops with status 0 after all that" "$?" "status $TURNPIKED_STATUS"

tap_done
