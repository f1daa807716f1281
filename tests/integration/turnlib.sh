# shellcheck shell=bash
# The TURN server under test for the interop tests (source after lib.sh).
# TURN_SERVER_IMPL=turnpike (the default, as in make check) runs turnpiked;
# TURN_SERVER_IMPL=coturn runs coturn's turnserver with the same coturn-style
# options, which is how these scripts were checked against the reference server.

TURN_SERVER_IMPL=${TURN_SERVER_IMPL:-turnpike}
TURN_USER=${TURN_USER:-alice}
TURN_PASS=${TURN_PASS:-wonderland-7}
TURN_REALM=${TURN_REALM:-turnpike.test}
TURN_SECRET=${TURN_SECRET:-rest-secret-0123456789}
# Relay ports: a small random block per test, so parallel tests do not collide.
RELAY_MIN=
RELAY_MAX=
# When set, the server (and the readiness probe) run in this network namespace.
TURN_NETNS=${TURN_NETNS:-}
# Extra server options for debugging, split on spaces (e.g. TURN_EXTRA_ARGS=-V).
TURN_EXTRA_ARGS=${TURN_EXTRA_ARGS:-}

case $TURN_SERVER_IMPL in
turnpike | coturn) ;;
*) bail_out "TURN_SERVER_IMPL must be turnpike or coturn, not '$TURN_SERVER_IMPL'" ;;
esac

# Exits with a SKIP when the selected server is not available.
require_turn_server() {
	if [ "$TURN_SERVER_IMPL" = coturn ]; then
		command -v turnserver >/dev/null 2>&1 ||
			tap_skip_all "TURN_SERVER_IMPL=coturn but turnserver is not installed (apt-get install coturn)"
		[ -x "$TURNPIKE_BENCH" ] || bail_out "no client at $TURNPIKE_BENCH"
	else
		require_binaries
	fi
}

# Picks RELAY_MIN..RELAY_MAX: 200 ports starting at a random even port in 30000-59000.
pick_relay_range() {
	RELAY_MIN=$((30000 + (RANDOM % 14500) * 2))
	RELAY_MAX=$((RELAY_MIN + 199))
}

# turn_wait_stun HOST PORT [SECONDS]: waits until a STUN Binding over UDP and one
# over TCP are answered there (coturn prints no ready line).
turn_wait_stun() {
	local host=$1 port=$2 deadline=$((SECONDS + ${3:-10})) target
	case $host in
	*:*) target="[$host]:$port" ;;
	*) target="$host:$port" ;;
	esac
	local inns=()
	[ -z "$TURN_NETNS" ] || inns=(ip netns exec "$TURN_NETNS")
	while [ "$SECONDS" -lt "$deadline" ]; do
		if timeout 5 "${inns[@]}" "$TURNPIKE_BENCH" probe --timeout 500 --max-sends 2 \
			"$target" >/dev/null 2>&1 &&
			timeout 5 "${inns[@]}" "$TURNPIKE_BENCH" probe -t tcp --timeout 500 "$target" \
				>/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# start_turn_server ARGS...: starts the selected server with coturn-style ARGS
# (the @PORT@, @TLS_PORT@ and @PORT2@ placeholders of start_turnpiked work, as
# does @RELAY_MIN@/@RELAY_MAX@) and waits until it answers STUN on the first
# --listening-ip (127.0.0.1 when none). Sets TURNPIKED_PID and TURNPIKED_LOG.
start_turn_server() {
	local a args=() ip='' prev='' n=$((${tp_starts:-0} + 1)) bin=$TURNPIKED
	[ "$TURN_SERVER_IMPL" = turnpike ] || bin=$(command -v turnserver)
	if [ -n "$TURN_NETNS" ]; then
		# ip netns exec execs the server: the tracked pid is the server's.
		printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$TURN_NETNS" "$bin" \
			>"$T/in-netns-server"
		chmod +x "$T/in-netns-server"
		bin=$T/in-netns-server
	fi
	[ -n "$RELAY_MIN" ] || pick_relay_range
	# shellcheck disable=SC2086 # split on purpose
	set -- "$@" $TURN_EXTRA_ARGS
	for a in "$@"; do
		a=${a//@RELAY_MIN@/$RELAY_MIN}
		a=${a//@RELAY_MAX@/$RELAY_MAX}
		args+=("$a")
		if [ "$prev" = --listening-ip ] && [ -z "$ip" ]; then
			ip=$a
		fi
		prev=$a
	done
	if [ "$TURN_SERVER_IMPL" = coturn ]; then
		# --no-cli: required with --allow-loopback-peers; --db keeps coturn out of /var/lib.
		TURNPIKED=$bin TURNPIKED_READY='Total General servers' \
			start_turnpiked "${args[@]}" --no-cli --db "$T/coturn.$n.db" \
			--pidfile "$T/coturn.$n.pid" || return 1
	else
		TURNPIKED=$bin start_turnpiked "${args[@]}" --pidfile "$T/turnpiked.$n.pid" ||
			return 1
	fi
	ip=${ip:-127.0.0.1}
	# shellcheck disable=SC2153 # PORT is set by start_turnpiked
	if ! turn_wait_stun "$ip" "$PORT"; then
		echo "# $TURN_SERVER_IMPL does not answer STUN on $ip port $PORT; its log:"
		tap_diag "$(tail -n 30 "$TURNPIKED_LOG")"
		return 1
	fi
}

start_turn_server_or_bail() {
	start_turn_server "$@" || bail_out "$TURN_SERVER_IMPL did not start (logs in $T)"
}

# The options every interop test gives the server: long-term credentials with
# one static user, loopback listeners, log on stdout, the relay port block, and
# for turnpike RFC 5766's channel numbers (turnutils_uclient picks up to 0x7FFF).
turn_common_args() {
	# shellcheck disable=SC2034 # used by the test scripts
	TURN_ARGS=(-n --listening-port @PORT@ --min-port @RELAY_MIN@ --max-port @RELAY_MAX@
		--lt-cred-mech --user "$TURN_USER:$TURN_PASS" --realm "$TURN_REALM"
		--log-file stdout)
	[ "$TURN_SERVER_IMPL" = coturn ] || TURN_ARGS+=(--rfc5766-channel-numbers)
}

# udp_listening PORT: true when something listens on that UDP port.
udp_listening() {
	[ -n "$(ss -Hlnu "sport = :$1" 2>/dev/null)" ]
}

# turn_stop_check: stops the server and reports it; turnpiked must exit 0 on
# SIGTERM (coturn exits 143 by design, only its stopping is checked).
turn_stop_check() {
	stop_turnpiked
	if [ "$TURN_SERVER_IMPL" = coturn ] && [ "$TURNPIKED_STATUS" != timeout ]; then
		tap_ok "coturn stops on SIGTERM (status $TURNPIKED_STATUS)"
	else
		[ "$TURNPIKED_STATUS" = 0 ]
		tap_is "$TURN_SERVER_IMPL stops cleanly on SIGTERM" "$?" "status $TURNPIKED_STATUS"
	fi
}

# require_coturn_clients: turnpiked and turnpike-bench built, and coturn's
# turnutils_uclient and turnutils_peer in UCLIENT and UPEER (skips the script
# without them).
require_coturn_clients() {
	require_binaries
	UCLIENT=${UCLIENT:-$(command -v turnutils_uclient)}
	UPEER=${UPEER:-$(command -v turnutils_peer)}
	if [ -z "$UCLIENT" ] || [ -z "$UPEER" ]; then
		tap_skip_all "coturn's turnutils_uclient or turnutils_peer not installed (apt-get install coturn)"
	fi
}

# start_udp_peer: coturn's turnutils_peer ($UPEER, an echo peer) on 127.0.0.1 on
# a free port, PEER_PORT (log in $T/peer.log), stopped at exit; bails out if it
# does not start.
start_udp_peer() {
	pick_port
	PEER_PORT=$PICKED
	"$UPEER" -L 127.0.0.1 -p "$PEER_PORT" >"$T/peer.log" 2>&1 &
	track_pid "$!"
	wait_until 10 udp_listening "$PEER_PORT" || bail_out "turnutils_peer did not start"
}

# uclient_zero_loss NAME PORT DESCRIPTION FLAG...: turnutils_uclient ($UCLIENT)
# with FLAG... sends 20 x 2 messages of 120 bytes through the server on
# 127.0.0.1:PORT as TURN_USER to the peer on 127.0.0.1:PEER_PORT (output in
# $T/uc.NAME), then one TAP line DESCRIPTION: exit status 0 and zero loss.
# uclient's TLS runs can lose an early message on a loaded machine (against
# coturn too; see t_uclient.sh): a run with loss is repeated once, the first
# result kept in the diagnostics.
uclient_zero_loss() {
	local name=$1 port=$2 desc=$3 attempt rc ck first=""
	shift 3
	for attempt in 1 2; do
		timeout 60 "$UCLIENT" "$@" -n 20 -m 2 -l 120 -u "$TURN_USER" -w "$TURN_PASS" \
			-e 127.0.0.1 -r "$PEER_PORT" -p "$port" 127.0.0.1 >"$T/uc.$name" 2>&1
		rc=$?
		uclient_summary "$T/uc.$name" 40 >"$T/uc.$name.check"
		ck=$?
		[ "$rc" = 0 ] && [ "$ck" = 0 ] && break
		[ "$attempt" = 1 ] && first="first run: $(cat "$T/uc.$name.check"); repeated"
	done
	[ "$rc" = 0 ] && [ "$ck" = 0 ]
	tap_is "$desc" "$?" "exit status $rc" "$(cat "$T/uc.$name.check")" "$first" \
		"$(grep -E 'tot_|lost' "$T/uc.$name")"
	echo "# $name: $(cat "$T/uc.$name.check") $first"
}

# uclient_summary FILE EXPECTED: the last "tot_send_msgs=S, tot_recv_msgs=R"
# line (the total over all clients) has S = EXPECTED and R = S, and "Total lost
# packets" is 0. Prints what is wrong.
uclient_summary() {
	awk -v want="$2" '
		/start_mclient: tot_send_msgs=/ {
			s = $0; sub(/.*tot_send_msgs=/, "", s); sub(/,.*/, "", s)
			r = $0; sub(/.*tot_recv_msgs=/, "", r); sub(/[^0-9].*/, "", r)
			sent = s + 0; recv = r + 0; seen = 1
		}
		/Total lost packets / {
			l = $0; sub(/.*Total lost packets /, "", l); sub(/ .*/, "", l)
			lost = l + 0; seenlost = 1
		}
		END {
			if (!seen) { print "no tot_send_msgs summary"; exit 1 }
			if (!seenlost) { print "no Total lost packets line"; exit 1 }
			if (sent != want) { print "sent " sent " messages, expected " want; bad = 1 }
			if (recv != sent) { print "received " recv " of " sent; bad = 1 }
			if (lost != 0) { print "lost " lost; bad = 1 }
			if (!bad) print "sent " sent " received " recv " lost 0"
			exit bad
		}' "$1"
}
