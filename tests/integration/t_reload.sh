#!/usr/bin/env bash
# Reload without dropping calls. While turnutils_uclient relays through one
# allocation and turnpike-bench holds another that refreshes later: SIGHUP
# with a broken certificate (garbage, or a key that does not match) is refused
# and the old certificate is still served (openssl s_client fingerprint); a
# renewed certificate is served after SIGHUP; both allocations work through
# it all. A user added to the file can allocate after SIGHUP, a removed one
# cannot; a bad value is refused with file:line and the old configuration
# keeps serving; a non-reloadable change logs "needs restart". turnpikectl
# reload does the same over the control socket, SIGUSR2 reloads only the
# certificate, and sessions lists the peer addresses of a session.
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
command -v openssl >/dev/null || tap_skip_all "openssl not installed"

CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
SOCK=$T/ctl.sock
CONF=$T/turnpike.conf
ctl() { timeout 10 "$CTL" --control-socket "$SOCK" "$@"; }
RELAY_MIN=$((30000 + (RANDOM % 14000) * 2))
RELAY_MAX=$((RELAY_MIN + 199))

make_cert first
make_cert second
make_cert third
make_cert broken
echo "not a certificate" >"$T/broken.pem"
cp "$T/first.pem" "$T/live.pem"
cp "$T/first.key" "$T/live.key"

# write_conf [EXTRA LINE]...: the configuration file, ports from start_turnpiked.
USERS=("alice:alice-pass")
write_conf() {
	{
		echo "listening-ip=127.0.0.1"
		echo "listening-port=$PORT"
		echo "tls-listening-port=$TLS_PORT"
		echo "cert=$T/live.pem"
		echo "pkey=$T/live.key"
		echo "realm=reload.test"
		echo "lt-cred-mech"
		echo "allow-loopback-peers"
		echo "min-port=$RELAY_MIN"
		echo "max-port=$RELAY_MAX"
		echo "relay-threads=2"
		for u in "${USERS[@]}"; do
			echo "user=$u"
		done
		for l in "$@"; do
			echo "$l"
		done
	} >"$CONF"
}
TP_PREPARE=write_conf
start_turnpiked_or_bail -c "$CONF" --log-file stdout --control-socket "$SOCK" \
	--pidfile "$T/turnpiked.pid" --rfc5766-channel-numbers
TP_PREPARE=

pick_port
PEER_PORT=$PICKED
"$UPEER" -L 127.0.0.1 -p "$PEER_PORT" >"$T/peer.log" 2>&1 &
track_pid "$!"
wait_until 5 udp_listening "$PEER_PORT"

fingerprint() { openssl x509 -noout -fingerprint -sha256 -in "$1" 2>/dev/null; }
served() {
	timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername localhost \
		</dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
# applied, refused: how many reloads the daemon logged as applied or refused.
# shellcheck disable=SC2317 # called through hup and wait_until
applied() { count_lines 'configuration reloaded|certificates reloaded' "$TURNPIKED_LOG"; }
# shellcheck disable=SC2317 # called through hup and wait_until
refused() { count_lines 'reload refused' "$TURNPIKED_LOG"; }
# shellcheck disable=SC2317 # called through wait_until
more_than() { [ "$("$1")" -gt "$2" ]; }
# hup SIGNAL KIND: sends SIGNAL, waits until one more reload is logged as KIND.
hup() {
	local before
	before=$("$2")
	kill -s "$1" "$TURNPIKED_PID"
	wait_until 5 more_than "$2" "$before"
}
# can_alloc USER PASS [CODE]: an Allocate of USER gets CODE (default: success).
can_alloc() {
	local expect=()
	[ -z "${3:-}" ] || expect=(--expect-allocate "$3")
	bench turn --timeout 3000 --user "$1" --password "$2" "${expect[@]}" "127.0.0.1:$PORT" \
		>"$T/alloc.out" 2>&1
}

FP1=$(fingerprint "$T/first.pem")
FP2=$(fingerprint "$T/second.pem")
FP3=$(fingerprint "$T/third.pem")
tap_is "the first certificate is served" "$([ "$(served)" = "$FP1" ]; echo $?)" "$(served)"

# Allocations live across the certificate reloads: uclient relays 300
# messages over 6 s on each of its two allocations (RTP and RTCP); bench allocates now and refreshes and relays after 6 s.
timeout 60 "$UCLIENT" -u alice -w alice-pass -e 127.0.0.1 -r "$PEER_PORT" -n 300 -z 20 \
	-m 1 -l 100 -p "$PORT" 127.0.0.1 >"$T/uclient.out" 2>&1 &
UC=$!
track_pid "$UC"
bench turn --timeout 3000 --user alice --password alice-pass --refresh-after 6000 \
	--send "127.0.0.1:$PEER_PORT" --count 20 "127.0.0.1:$PORT" >"$T/long.out" 2>&1 &
LONG=$!
track_pid "$LONG"
# shellcheck disable=SC2317 # called through wait_until
sessions_with_peer() {
	ctl sessions >"$T/sessions" 2>&1 && grep -q " peer-addrs 127.0.0.1$" "$T/sessions"
}
wait_until 5 sessions_with_peer
tap_is "sessions lists the peer address of a relaying session" "$?" "$(cat "$T/sessions")"
ctl sessions --json | python3 -c 'import json, sys
s = json.load(sys.stdin)
assert any(x["peer-addrs"] == ["127.0.0.1"] for x in s), s
assert any(x["peer-addrs"] == [] for x in s), s'
tap_is "sessions --json gives peer-addrs as a list (empty without permissions)" "$?" \
	"$(cat "$T/sessions")"

cp "$T/broken.pem" "$T/live.pem"
hup HUP refused
tap_is "SIGHUP with an unparsable certificate is refused" "$?" "$(tail -n 5 "$TURNPIKED_LOG")"
grep -E 'reload refused.*live.pem' "$TURNPIKED_LOG" >/dev/null
tap_is "  ... and the log names the certificate file" "$?" "$(grep refused "$TURNPIKED_LOG")"
tap_is "  ... the old certificate is still served" "$([ "$(served)" = "$FP1" ]; echo $?)" \
	"$(served)"
cp "$T/second.pem" "$T/live.pem" # with first.key: they do not match
hup HUP refused
tap_is "SIGHUP with a key that does not match the certificate is refused" "$?" \
	"$(tail -n 5 "$TURNPIKED_LOG")"
tap_is "  ... the old certificate is still served" "$([ "$(served)" = "$FP1" ]; echo $?)" \
	"$(served)"
cp "$T/second.key" "$T/live.key"
hup HUP applied
tap_is "SIGHUP with a renewed certificate is applied" "$?" "$(tail -n 5 "$TURNPIKED_LOG")"
tap_is "  ... and the renewed certificate is served" "$([ "$(served)" = "$FP2" ]; echo $?)" \
	"$(served)"

wait_exit "$UC" 30
if why=$(uclient_summary "$T/uclient.out" 600); then
	tap_ok "uclient relayed across three reloads: $why"
else
	tap_fail "uclient relayed across three reloads" "$why" "$(tail -n 15 "$T/uclient.out")"
fi
wait "$LONG"
tap_is "an allocation made before the reloads refreshes and relays after them" "$?" \
	"$(cat "$T/long.out")"

# Users: added and removed in the file.
can_alloc bob bob-pass 401
tap_is "bob, not configured yet, gets 401" "$?" "$(cat "$T/alloc.out")"
USERS=("alice:alice-pass" "bob:bob-pass")
write_conf
hup HUP applied
can_alloc bob bob-pass
tap_is "after user=bob is added and SIGHUP, bob allocates" "$?" "$(cat "$T/alloc.out")"
USERS=("bob:bob-pass")
write_conf
hup HUP applied
can_alloc alice alice-pass 401
tap_is "after alice is removed and SIGHUP, alice gets 401" "$?" "$(cat "$T/alloc.out")"

# A bad value: refused with file:line, the running configuration stays.
USERS=("bob:bob-pass" "carol:carol-pass")
write_conf "max-allocate-lifetime=forever"
line=$(grep -n '^max-allocate-lifetime' "$CONF" | cut -d: -f1)
hup HUP refused
tap_is "SIGHUP with max-allocate-lifetime=forever is refused" "$?" \
	"$(tail -n 5 "$TURNPIKED_LOG")"
grep -F "reload refused" "$TURNPIKED_LOG" | grep -qF "turnpike.conf:$line"
tap_is "  ... the log names turnpike.conf:$line" "$?" "$(grep refused "$TURNPIKED_LOG")"
can_alloc carol carol-pass 401
tap_is "  ... carol from the refused file gets 401" "$?" "$(cat "$T/alloc.out")"
can_alloc bob bob-pass
tap_is "  ... bob from the running configuration allocates" "$?" "$(cat "$T/alloc.out")"

# A change that needs a restart: logged, the old value stays.
write_conf "relay-threads=1"
sed -i '/^relay-threads=2$/d' "$CONF"
hup HUP applied
grep -q "option relay-threads changed: needs restart" "$TURNPIKED_LOG"
tap_is "a relay-threads change logs 'needs restart'" "$?" "$(tail -n 8 "$TURNPIKED_LOG")"
ctl status | grep -qx "workers 2"
tap_is "  ... and the two workers keep running" "$?"
can_alloc carol carol-pass
tap_is "  ... while the reloadable part (user carol) applies" "$?" "$(cat "$T/alloc.out")"

# turnpikectl reload.
USERS=("dave:dave-pass")
write_conf "relay-threads=1" "min-port=$((RELAY_MIN + 1))"
sed -i "/^relay-threads=2$/d; /^min-port=$RELAY_MIN$/d" "$CONF"
tap_run "turnpikectl reload succeeds" ctl reload
grep -qx "restart min-port relay-threads" "$T/out"
tap_is "  ... and names the options that need a restart" "$?" "$(cat "$T/out")"
can_alloc dave dave-pass
tap_is "  ... and dave allocates" "$?" "$(cat "$T/alloc.out")"
write_conf "stale-nonce=-5"
tap_run_fails "turnpikectl reload of a bad file fails" ctl reload
grep -q "reload refused: .*turnpike.conf:[0-9]*: stale-nonce" "$T/out"
tap_is "  ... naming file, line and option" "$?" "$(cat "$T/out")"
can_alloc dave dave-pass
tap_is "  ... and the running configuration still serves" "$?" "$(cat "$T/alloc.out")"

# SIGUSR2: certificates only.
cp "$T/third.pem" "$T/live.pem"
cp "$T/third.key" "$T/live.key"
USERS=("dave:dave-pass" "erin:erin-pass")
write_conf
hup USR2 applied
tap_is "SIGUSR2 is applied" "$?" "$(tail -n 5 "$TURNPIKED_LOG")"
tap_is "  ... the third certificate is served" "$([ "$(served)" = "$FP3" ]; echo $?)" \
	"$(served)"
can_alloc erin erin-pass 401
tap_is "  ... but the file is not read again (erin gets 401)" "$?" "$(cat "$T/alloc.out")"

proc_alive "$TURNPIKED_PID"
tap_is "the daemon ran through every reload" "$?"
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"
! grep -qE 'alice-pass|bob-pass|dave-pass' "$TURNPIKED_LOG"
tap_is "no password in the log" "$?"

tap_done
