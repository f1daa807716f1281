#!/usr/bin/env bash
# RFC 8016 mobility (coturn's mobility option). With it on and four worker
# threads (a move lands on another worker as often as not): coturn's
# turnutils_uclient -M reads the MOBILITY-TICKET, moves its allocations to
# new sockets and relays every message to turnutils_peer; mobility.py moves an
# allocation with its channel from socket A to B (peer data follows, A gets
# 437), is refused a replayed, a forged and another user's ticket (nothing
# changes), and moves it on again. With it off: 405 Mobility Forbidden.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_turn_server
UCLIENT=${UCLIENT:-$(command -v turnutils_uclient)}
UPEER=${UPEER:-$(command -v turnutils_peer)}
PY=${PYTHON:-python3}
HERE=$TOP_SRCDIR/tests/integration
OTHER_USER=bob
OTHER_PASS=b0b-and-his-ticket
PROMTEXT=$HERE/promtext.py
PROM=()
[ "$TURN_SERVER_IMPL" = coturn ] ||
	PROM=(--prometheus --prometheus-address 127.0.0.1 --prometheus-port @PORT2@)

turn_common_args
start=$SECONDS
start_turn_server_or_bail "${TURN_ARGS[@]}" --user "$OTHER_USER:$OTHER_PASS" \
	--listening-ip 127.0.0.1 --no-tls --no-dtls --relay-ip 127.0.0.1 --allow-loopback-peers \
	--mobility --relay-threads 4 "${PROM[@]}"

if [ -z "$UCLIENT" ] || [ -z "$UPEER" ]; then
	tap_skip "turnutils_uclient -M" "turnutils_uclient/turnutils_peer not installed (apt-get install coturn)"
else
	start_udp_peer
	# Two clients (-m 2), no RTCP allocation (-c): each moves its allocation once.
	timeout 60 "$UCLIENT" -M -v -c -n 20 -m 2 -l 120 -u "$TURN_USER" -w "$TURN_PASS" \
		-e 127.0.0.1 -r "$PEER_PORT" -p "$PORT" 127.0.0.1 >"$T/uc.mobility" 2>&1
	rc=$?
	tickets=$(grep -c 'read_mobility_ticket: smid=' "$T/uc.mobility")
	[ "$rc" = 0 ] && [ "$tickets" -ge 2 ] && ! grep -q 'read_mobility_ticket: ERROR' "$T/uc.mobility"
	tap_is "turnutils_uclient -M reads the MOBILITY-TICKETs ($tickets read)" "$?" \
		"exit status $rc" "$(grep -E 'smid|ERROR|errcode' "$T/uc.mobility" | head -n 12)"
	uclient_summary "$T/uc.mobility" 40 >"$T/uc.check"
	tap_is "turnutils_uclient -M: the moved allocations relay with zero loss" "$?" \
		"$(cat "$T/uc.check")" "$(grep -E 'tot_|lost' "$T/uc.mobility" | tail -n 4)"
	echo "# uclient -M: $tickets tickets read, $(cat "$T/uc.check")"
	echo "# $(grep -E 'smid=' "$T/uc.mobility" | head -n 1)"
fi

if [ "$TURN_SERVER_IMPL" = coturn ]; then
	tap_skip "mobility.py" "turnpike's ticket checks (coturn answers refused tickets its own way)"
else
	"$PY" "$HERE/mobility.py" 127.0.0.1 "$PORT" "$TURN_USER" "$TURN_PASS" "$TURN_REALM" \
		"$OTHER_USER" "$OTHER_PASS" 6 >"$T/mob.out" 2>&1
	tap_is "mobility.py: moves keep the channel; replayed, forged and other users' tickets change nothing" \
		"$?" "$(cat "$T/mob.out")"
	sed 's/^/# /' "$T/mob.out"
	moved=$(grep -c 'allocation moved here from' "$TURNPIKED_LOG")
	across=$(grep -c 'this 5-tuple goes there' "$TURNPIKED_LOG")
	[ "$moved" -ge 7 ]
	tap_is "the server logged each move ($moved, $across of them handed to another worker)" "$?" \
		"$(grep -E 'moved here|goes there' "$TURNPIKED_LOG" | tail -n 10)"
	# The same in /metrics, every worker summed: as many moves as logged, a ticket
	# for each and for each Allocate asking, the replayed, forged and other users' refused.
	"$PY" "$PROMTEXT" get "http://127.0.0.1:$PORT2/metrics" "$T/mob.prom" >/dev/null
	msum() { "$PY" "$PROMTEXT" sum "$T/mob.prom" "turnpike_worker_mobility_$1_total"; }
	moves=$(msum moves) tickets=$(msum tickets) refused=$(msum refused)
	[ "${moves:-0}" = "$moved" ] && [ "${tickets:-0}" -gt "$moves" ] && [ "${refused:-0}" -ge 3 ]
	tap_is "/metrics: $moves moves, $tickets tickets, $refused refused" "$?" \
		"$(grep -E '^turnpike_worker_mobility' "$T/mob.prom")"
fi
turn_stop_check

if [ "$TURN_SERVER_IMPL" != coturn ]; then
	start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 --no-tls --no-dtls \
		--relay-ip 127.0.0.1
	"$PY" "$HERE/mobility.py" 127.0.0.1 "$PORT" "$TURN_USER" "$TURN_PASS" "$TURN_REALM" off \
		>"$T/off.out" 2>&1
	tap_is "mobility off: 405 Mobility Forbidden, no ticket" "$?" "$(cat "$T/off.out")"
	turn_stop_check
fi
echo "# t_mobility in $((SECONDS - start)) s"
tap_done
