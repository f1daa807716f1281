#!/usr/bin/env bash
# max-bps: a session's relayed data is held to the limit in each direction
# (within 20 %, measured after the one-second burst), for the configured value
# and for a realm's max-bps set with turnpikectl while the server runs. The flow
# is paced at twice the limit, far below what the machine can relay, and runs
# for several seconds so a loaded machine does not decide the result. Then
# bps-capacity: a worker's share bounds each direction of a session apart (as in
# coturn), so a flow at twice the share each way gets the share each way: one
# direction cannot starve the other.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/turnlib.sh"

require_binaries
command -v python3 >/dev/null 2>&1 || tap_skip_all "python3 is not installed"

CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
FLOW=$TOP_SRCDIR/tests/integration/turnflow.py
REALM=turnpike.test
DB=$T/bps.db
SECONDS_FLOW=7

# within VALUE LIMIT: VALUE is LIMIT +- 20 %.
within() {
	[ "$1" -ge $(($2 * 8 / 10)) ] && [ "$1" -le $(($2 * 12 / 10)) ]
}

# flow_check DESC LIMIT: a flow at twice LIMIT; both directions within 20 % of it.
flow_check() {
	local out up down
	out=$(timeout 60 python3 "$FLOW" 127.0.0.1 "$PORT" alice alice-pw "$REALM" $(($2 * 2)) \
		"$SECONDS_FLOW" 2>&1)
	up=$(echo "$out" | awk '$1 == "up" { print $2 }')
	down=$(echo "$out" | awk '$1 == "up" { print $4 }')
	if [ -z "$up" ] || [ -z "$down" ]; then
		tap_fail "$1" "$out"
		return
	fi
	tap_diag "limit $2 B/s: peer received $up B/s, client received $down B/s ($out)"
	within "$up" "$2" && within "$down" "$2"
	tap_is "$1" "$?" "limit $2, up $up, down $down"
}

"$CTL" --db "$DB" user add seed --realm "$REALM" --password seed-pw >/dev/null 2>&1 ||
	bail_out "turnpikectl could not create $DB"
start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
	--log-file stdout --relay-threads 2 --realm "$REALM" --lt-cred-mech --userdb "$DB" \
	--user alice:alice-pw --allow-loopback-peers --max-bps 100000

flow_check "max-bps 100000 holds a flow at 200000 B/s to 100000 each way (+-20 %)" 100000

"$CTL" --db "$DB" realm set "$REALM" --max-bps 40000
wait_until 5 grep -q "realm \"$REALM\": user-quota 0, total-quota 0, max-bps 40000" \
	"$TURNPIKED_LOG"
tap_is "the store's max-bps 40000 for the realm is applied within 5 s" "$?"
flow_check "a new session then holds to 40000 B/s each way (+-20 %)" 40000

stop_turnpiked
tap_is "turnpiked stops cleanly" "$?" "status $TURNPIKED_STATUS"
n=$(grep -oE '[0-9]+ packets dropped over bandwidth limits' "$TURNPIKED_LOG" | cut -d' ' -f1)
[ "${n:-0}" -gt 0 ]
tap_is "the drops are counted" "$?" "$(grep 'limits:' "$TURNPIKED_LOG")"

# ---- bps-capacity: each of the 2 workers gets half, in each direction apart ----
start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
	--log-file stdout --relay-threads 2 --realm "$REALM" --lt-cred-mech \
	--user alice:alice-pw --allow-loopback-peers --bps-capacity 160000 \
	--prometheus --prometheus-address 127.0.0.1 --prometheus-port @PORT2@
out=$(timeout 60 python3 "$FLOW" 127.0.0.1 "$PORT" alice alice-pw "$REALM" 160000 \
	"$SECONDS_FLOW" 2>&1)
up=$(echo "$out" | awk '$1 == "up" { print $2 }')
down=$(echo "$out" | awk '$1 == "up" { print $4 }')
tap_diag "bps-capacity 160000 over 2 workers, 160000 B/s offered each way: $out"
[ -n "$up" ] && [ -n "$down" ] && within "$up" 80000 && within "$down" 80000
tap_is "bps-capacity 160000, 2 workers: one session gets 80000 B/s up AND 80000 B/s down (+-20 %)" \
	"$?" "up ${up:-none}, down ${down:-none}: $out"
# The drops of each direction, summed over the workers.
drops=$(timeout 10 python3 -c 'import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
def total(name):
    return sum(int(float(l.split()[-1])) for l in text.splitlines() if l.startswith(name + "{"))
print(total("turnpike_worker_bps_dropped_to_peer_packets_total"),
      total("turnpike_worker_bps_dropped_to_client_packets_total"))' \
	"http://127.0.0.1:$PORT2/metrics" 2>&1)
tap_diag "bps drops to peer, to client: $drops"
[ "$(echo "$drops" | awk '$1 > 0 && $2 > 0 { print "both" }')" = both ]
tap_is "/metrics counts bandwidth drops in each direction" "$?" "$drops"
stop_turnpiked
tap_is "turnpiked stops cleanly" "$?" "status $TURNPIKED_STATUS"
tap_done
