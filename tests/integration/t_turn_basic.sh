#!/usr/bin/env bash
# TURN over UDP, end to end: coturn's turnutils_uclient allocates through
# turnpiked (long-term credentials from user=) and relays to turnutils_peer, a
# UDP echo peer on loopback, with channels and with Send indications; every
# message comes back. A wrong password or an unknown user gets no allocation.
# The daemon logs each relay with its address and counters.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/turnlib.sh
. "$(dirname "$0")/turnlib.sh"

require_binaries
UCLIENT=$(command -v turnutils_uclient)
UPEER=$(command -v turnutils_peer)
if [ -z "$UCLIENT" ] || [ -z "$UPEER" ]; then
	tap_skip_all "turnutils_uclient/turnutils_peer not installed (apt-get install coturn)"
fi

# Relay ports: a small random block, so that parallel tests do not collide.
RELAY_MIN=$((30000 + (RANDOM % 14000) * 2))
RELAY_MAX=$((RELAY_MIN + 199))

start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
	--log-file stdout --relay-threads 2 --min-port "$RELAY_MIN" --max-port "$RELAY_MAX" \
	--allow-loopback-peers --realm turnpike.test --user alice:wonderland \
	--rfc5766-channel-numbers

pick_port
PEER_PORT=$PICKED
"$UPEER" -L 127.0.0.1 -p "$PEER_PORT" >"$T/peer.log" 2>&1 &
track_pid "$!"
for _ in $(seq 1 100); do
	[ -n "$(ss -Hlnu "sport = :$PEER_PORT" 2>/dev/null)" ] && break
	sleep 0.05
done

# run_uclient DESC FLAGS...: 2 clients, 20 messages of 120 bytes each (40 in all).
run_uclient() {
	local desc=$1 why
	shift
	timeout 60 "$UCLIENT" "$@" -u alice -w wonderland -e 127.0.0.1 -r "$PEER_PORT" \
		-n 20 -m 2 -l 120 -p "$PORT" 127.0.0.1 >"$T/uclient.out" 2>&1
	if why=$(uclient_summary "$T/uclient.out" 40); then
		tap_ok "$desc: 40 messages relayed and echoed, none lost"
		tap_diag "$(grep -E 'tot_send_msgs=|Total lost' "$T/uclient.out" | tail -n 2)"
	else
		tap_fail "$desc" "$why" "$(tail -n 15 "$T/uclient.out")" \
			"$(tail -n 20 "$TURNPIKED_LOG")"
	fi
}

run_uclient "UDP, channels"
run_uclient "UDP, Send indications" -s

# Wrong credentials: no allocation, hence no message relayed.
for cred in "alice wrong" "mallory wonderland"; do
	read -r u w <<<"$cred"
	timeout 30 "$UCLIENT" -s -u "$u" -w "$w" -e 127.0.0.1 -r "$PEER_PORT" -n 2 -m 1 -l 120 \
		-p "$PORT" 127.0.0.1 >"$T/wrong.out" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q 'Cannot complete Allocation' "$T/wrong.out" &&
		! grep -q 'tot_recv_msgs=[1-9]' "$T/wrong.out"
	tap_is "user $u with password $w: allocation refused" "$?" "exit status $rc" \
		"$(tail -n 5 "$T/wrong.out")"
done

# The log names each relay, inside the configured ports, its client and user,
# and what it carried.
awk -v lo="$RELAY_MIN" -v hi="$RELAY_MAX" '
	/: relay 127\.0\.0\.1:[0-9]+ for UDP client 127\.0\.0\.1:[0-9]+, realm "turnpike\.test", user "alice"$/ {
		p = $0; sub(/.*: relay 127\.0\.0\.1:/, "", p); sub(/ .*/, "", p)
		n++; if (p + 0 < lo || p + 0 > hi) bad = 1
	}
	END { exit !(n >= 4 && !bad) }' "$TURNPIKED_LOG"
tap_is "relays logged with addresses in $RELAY_MIN-$RELAY_MAX, client and user" "$?" \
	"$(grep ': relay ' "$TURNPIKED_LOG" | head -n 8)"
grep -qE 'of user "alice" closed after [0-9]+ s, realm "turnpike\.test": from peers 20 packets 2400 bytes, to peers 20 packets 2400 bytes' \
	"$TURNPIKED_LOG"
tap_is "a relay's end is logged with its counters" "$?" "$(grep 'closed after' "$TURNPIKED_LOG")"
! grep -qE 'wonderland|wrong' "$TURNPIKED_LOG"
tap_is "no password in the log" "$?"

stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"
grep -qE 'TURN: [1-9][0-9]* allocations, .* [1-9][0-9]* authentication failures' \
	"$TURNPIKED_LOG"
tap_is "exit totals count the allocations and the authentication failures" "$?" \
	"$(grep 'TURN:' "$TURNPIKED_LOG")"
tap_done
