#!/usr/bin/env bash
# Multi-tenant realms from the store: coturn's turn_origin_to_realm maps the
# ORIGIN attribute to the realm of the 401; users of each realm authenticate
# there only (coturn's turnutils_uclient -o ORIGIN relays with no loss in its
# realm and is refused through an ORIGIN of another realm); each realm's
# turn_realm_option rows set its user-quota (486) and max-bps; the realm is the
# one the credentials verified in (an ORIGIN alone grants nothing), labels
# the turnpike_realm_allocations gauge and the relay log lines;
# check-origin-consistency answers 441 to a request that changes its ORIGIN;
# with coturn's no-dynamic-realms and no-dynamic-ip-list the store's origins,
# realm options and peer ranges are not read (only the configuration's apply).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_coturn_clients
command -v python3 >/dev/null 2>&1 || tap_skip_all "python3 is not installed"

CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
CHECK=$TOP_SRCDIR/tests/integration/realmcheck.py
FLOW=$TOP_SRCDIR/tests/integration/turnflow.py
DB=$T/realms.db
ctl() { "$CTL" --db "$DB" "$@"; }
A=a.example
B=b.example
OA=https://app.a.example
OB=https://app.b.example

ctl user add alice --realm "$A" --password alice-a >/dev/null 2>&1 ||
	bail_out "turnpikectl could not create $DB"
ctl user add bob --realm "$B" --password bob-b
ctl origin add "$OA" --realm "$A"
ctl origin add "$OB" --realm "$B"
ctl realm set "$B" --user-quota 2 --max-bps 40000
ctl realm set "$A" --user-quota 3
ctl realm set "$TURN_REALM" --user-quota 1
DENIED=127.0.0.99
ctl peer deny "$DENIED"
ctl user add hugo --realm "$TURN_REALM" --password hugo-pw

turn_common_args
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 \
	--relay-threads 2 --allow-loopback-peers --userdb "$DB" --check-origin-consistency \
	--auth-failure-limit 0 \
	--prometheus --prometheus-address 127.0.0.1 --prometheus-port @PORT2@
METRICS=http://127.0.0.1:$PORT2/metrics
# shellcheck disable=SC2317,SC2329 # called through wait_until
realm_of() { timeout 20 python3 "$CHECK" realm401 127.0.0.1 "$PORT" "$@"; }
# shellcheck disable=SC2317,SC2329 # called through wait_until
realm_is() { [ "$(realm_of "$2")" = "$1" ]; }

wait_until 5 realm_is "$B" "$OB"
tap_is "the 401 to an ORIGIN mapped to $B carries REALM $B" "$?" "got '$(realm_of "$OB")'"
got=$(realm_of "$OA")
tap_is "... and to $OA, REALM $A" "$([ "$got" = "$A" ]; echo $?)" "got '$got'"
got=$(realm_of)
tap_is "without ORIGIN: the server realm" "$([ "$got" = "$TURN_REALM" ]; echo $?)" "got '$got'"
got=$(realm_of https://unknown.example)
tap_is "an ORIGIN the store does not map: the server realm" \
	"$([ "$got" = "$TURN_REALM" ]; echo $?)" "got '$got'"
ctl origin add https://late.example --realm "$A"
wait_until 5 realm_is "$A" https://late.example
tap_is "an origin added while the server runs maps within 5 s" "$?"

out=$(timeout 30 python3 "$CHECK" quota 127.0.0.1 "$PORT" bob bob-b "$B" "$OB" "$METRICS" 2>&1)
tap_diag "bob via $OB: $(echo "$out" | tr '\n' ' ')"
echo "$out" | grep -qx 'alloc1 0' && echo "$out" | grep -qx 'alloc2 0' &&
	echo "$out" | grep -qx 'alloc3 486'
tap_is "$B's user-quota 2 from turn_realm_option: bob's third allocation gets 486" "$?" "$out"
echo "$out" | grep -qx 'gauge 2'
tap_is "turnpike_realm_allocations{realm=\"$B\"} counts bob's 2 live allocations" "$?" "$out"
out=$(timeout 30 python3 "$CHECK" quota 127.0.0.1 "$PORT" alice alice-a "$A" "$OA" "$METRICS" 2>&1)
echo "$out" | grep -qx 'alloc3 0' && echo "$out" | grep -qx 'gauge 3'
tap_is "$A's user-quota is 3: alice's third allocation succeeds, the gauge of $A shows 3" "$?" \
	"$out"

out=$(timeout 30 python3 "$CHECK" quota 127.0.0.1 "$PORT" "$TURN_USER" "$TURN_PASS" \
	"$TURN_REALM" "" "$METRICS" 2>&1)
echo "$out" | grep -qx 'alloc1 0' && echo "$out" | grep -qx 'alloc2 486'
tap_is "the server realm's user-quota 1 from the store: a second allocation gets 486" "$?" "$out"
out=$(timeout 30 python3 "$CHECK" permit 127.0.0.1 "$PORT" "$TURN_USER" "$TURN_PASS" \
	"$TURN_REALM" "" "$DENIED" 2>&1)
echo "$out" | grep -qx 'permit 403'
tap_is "the store's denied_peer_ip $DENIED: CreatePermission gets 403" "$?" "$out"
grep -q "3 realms with options; 0 allowed and 1 denied" "$TURNPIKED_LOG"
tap_is "the log says what the store gave: 3 realms with options, 1 denied range" "$?" \
	"$(grep 'store: realm' "$TURNPIKED_LOG")"

out=$(timeout 30 python3 "$CHECK" consistency 127.0.0.1 "$PORT" "$TURN_USER" "$TURN_PASS" \
	"$TURN_REALM" https://one.example https://two.example 2>&1)
echo "$out" | grep -qx 'allocate 0' && echo "$out" | grep -qx 'other 441' &&
	echo "$out" | grep -qx 'none 441' && echo "$out" | grep -qx 'same 0'
tap_is "check-origin-consistency: a Refresh with another ORIGIN or none gets 441" "$?" "$out"

# coturn's client. uclient -o sends three ORIGIN attributes (two of its own
# around the one given): the first one the store maps picks the realm. It makes
# two allocations, one of which it leaves to expire: these runs come after the
# quota checks.
start_udp_peer
N=20
# uclient NAME ORIGIN USER PASSWORD: one turnutils_uclient run (-o ORIGIN unless empty).
uclient() {
	local origin=()
	[ -z "$2" ] || origin=(-o "$2")
	timeout 60 "$UCLIENT" -c "${origin[@]}" -n "$N" -m 1 -u "$3" -w "$4" -e 127.0.0.1 \
		-r "$PEER_PORT" -p "$PORT" 127.0.0.1 >"$T/uc.$1" 2>&1
}
# uclient_ok NAME ORIGIN USER PASSWORD: the run relays N messages with no loss.
uclient_ok() {
	local rc ck
	uclient "$@"
	rc=$?
	uclient_summary "$T/uc.$1" "$N" >"$T/uc.$1.check"
	ck=$?
	[ "$rc" -eq 0 ] && [ "$ck" -eq 0 ]
	tap_is "uclient -o $2: $3 relays every message" "$?" "exit status $rc" \
		"$(cat "$T/uc.$1.check")" "$(tail -n 5 "$T/uc.$1")"
	tap_diag "$3 via $2: $(cat "$T/uc.$1.check")"
}
# uclient_refused NAME ORIGIN USER PASSWORD: the run cannot allocate.
uclient_refused() {
	uclient "$@"
	! uclient_summary "$T/uc.$1" "$N" >/dev/null &&
		grep -q 'Cannot complete Allocation' "$T/uc.$1"
}
uclient_ok alice "$OA" alice alice-a
uclient_ok bob "$OB" bob bob-b
uclient_refused cross "$OB" alice alice-a
tap_is "uclient -o $OB: alice of $A cannot authenticate through $B's ORIGIN" "$?" \
	"$(tail -n 3 "$T/uc.cross")"
uclient_refused plain '' alice alice-a
tap_is "uclient without ORIGIN: alice of $A is no user of the server realm" "$?" \
	"$(tail -n 3 "$T/uc.plain")"
grep -qE "relay 127\.0\.0\.1:[0-9]+ of user \"alice\" closed after [0-9]+ s, realm \"$A\"" \
	"$TURNPIKED_LOG" &&
	grep -qE "relay 127\.0\.0\.1:[0-9]+ of user \"bob\" closed after [0-9]+ s, realm \"$B\"" \
		"$TURNPIKED_LOG"
tap_is "the relay's closing log line names the realm" "$?" \
	"$(grep -E 'relay .* closed' "$TURNPIKED_LOG" | tail -n 3)"

# Traffic per realm: alice's run in a.example, bob's in b.example, each at
# least N packets each way; the exposition stays valid.
PROMTEXT=$TOP_SRCDIR/tests/integration/promtext.py
timeout 15 python3 "$PROMTEXT" get "$METRICS" "$T/m.prom" >/dev/null &&
	timeout 15 python3 "$PROMTEXT" check "$T/m.prom" >"$T/m.check" 2>&1
tap_is "the exposition with per-realm traffic is valid" "$?" "$(cat "$T/m.check")"
# rval packets|bytes REALM DIRECTION: the sample's value (empty when absent).
rval() {
	awk -v s="turnpike_realm_relayed_$1_total{realm=\"$2\",direction=\"$3\"}" \
		'$1 == s { print $2 }' "$T/m.prom"
}
traffic=""
for r in "$A" "$B"; do
	for d in to_peer to_client; do
		v=$(rval packets "$r" "$d")
		traffic="$traffic $r/$d=$v"
		[ -n "$v" ] && [ "$v" -ge "$N" ] || traffic="$traffic(!)"
	done
	traffic="$traffic $r/bytes=$(rval bytes "$r" to_peer)"
done
tap_diag "relayed per realm:$traffic"
[[ $traffic != *'(!)'* ]] && [ -z "$(rval packets _other to_peer)" ]
tap_is "turnpike_realm_relayed_packets_total: $A and $B each relayed >= $N packets each way" \
	"$?" "$traffic"

# max-bps of realm B (40000) applies to bob's session (the one uclient left
# and this one make 2, within the quota); the server has no max-bps.
out=$(timeout 60 python3 "$FLOW" 127.0.0.1 "$PORT" bob bob-b "$B" 80000 6 "$OB" 2>&1)
up=$(echo "$out" | awk '$1 == "up" { print $2 }')
down=$(echo "$out" | awk '$1 == "up" { print $4 }')
tap_diag "bob at 80000 B/s through $B (max-bps 40000): peer got $up B/s, client $down B/s"
[ -n "$up" ] && [ -n "$down" ] && [ "$up" -ge 32000 ] && [ "$up" -le 48000 ] &&
	[ "$down" -ge 32000 ] && [ "$down" -le 48000 ]
tap_is "$B's max-bps 40000 holds bob's flow at 80000 B/s to 40000 each way (+-20 %)" "$?" "$out"

turn_stop_check

# The same store with no-dynamic-realms and no-dynamic-ip-list: only the
# configuration's realm, quotas and peer policy. userdb-cache-users 1: of the
# store's 3 users only the first (alice, SQLite's row order) is in memory, so
# hugo's USERHASH below is looked up in the store on demand. auth-failure-limit
# 0: the failure throttle names a USERHASH's user by a lookup of its own just
# before the check, which queues the hash too, and the store thread may answer
# in between (then the first answer is already a success); without it the
# first answer is always the 438.
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 \
	--allow-loopback-peers --userdb "$DB" --no-dynamic-realms --no-dynamic-ip-list --userhash \
	--userdb-cache-users 1 --auth-failure-limit 0 \
	--prometheus --prometheus-address 127.0.0.1 --prometheus-port @PORT2@
METRICS=http://127.0.0.1:$PORT2/metrics
# shellcheck disable=SC2317,SC2329 # called through wait_until
store_applied() { grep -q "$1 realms with options; 0 allowed and $2 denied" "$TURNPIKED_LOG"; }
wait_until 10 store_applied 0 0
tap_is "no-dynamic-*: the store is read and gives 0 realm options and 0 peer ranges" "$?" \
	"$(grep 'store: realm' "$TURNPIKED_LOG")"
got=$(realm_of "$OB")
tap_is "no-dynamic-realms: the 401 to $OB carries the server realm" \
	"$([ "$got" = "$TURN_REALM" ]; echo $?)" "got '$got'"
out=$(timeout 30 python3 "$CHECK" quota 127.0.0.1 "$PORT" "$TURN_USER" "$TURN_PASS" \
	"$TURN_REALM" "" "$METRICS" 2>&1)
echo "$out" | grep -qx 'alloc2 0' && echo "$out" | grep -qx 'alloc3 0'
tap_is "no-dynamic-realms: the store's user-quota 1 does not apply (3 allocations)" "$?" "$out"
out=$(timeout 30 python3 "$CHECK" permit 127.0.0.1 "$PORT" "$TURN_USER" "$TURN_PASS" \
	"$TURN_REALM" "" "$DENIED" 2>&1)
echo "$out" | grep -qx 'permit 0'
tap_is "no-dynamic-ip-list: the store's denied $DENIED is permitted (allow-loopback-peers)" \
	"$?" "$out"

# RFC 8489 username anonymity with a user of the store: USERHASH and SHA-256,
# hugo not in memory (userdb-cache-users 1): the store thread finds him by hash
# while the first answer is 438, and the client's retry with the new nonce allocates.
out=$(timeout 30 python3 "$CHECK" userhash 127.0.0.1 "$PORT" hugo hugo-pw "$TURN_REALM" \
	"$PEER_PORT" 2>&1)
echo "$out" | grep -qx 'anonymity 1' && echo "$out" | grep -qx 'allocate 0' &&
	echo "$out" | grep -qx 'mi-sha256 1'
tap_is "userhash: the store's user hugo allocates named by USERHASH only (SHA-256)" "$?" "$out"
echo "$out" | grep -qx 'first 438' && echo "$out" | grep -qx 'permit 0' &&
	echo "$out" | grep -qx 'relay 1'
tap_is "... beyond userdb-cache-users: 438 first, the retry allocates and relays to a peer" \
	"$?" "$out"
echo "$out" | grep -qx 'wrongpw 401' && echo "$out" | grep -qx 'unknown 401'
tap_is "... a wrong password or an unknown USERHASH gets 401" "$?" "$out"
grep -q "realm \"$TURN_REALM\", user \"hugo\"" "$TURNPIKED_LOG"
tap_is "... and the session is logged as hugo's" "$?" "$(grep 'relay ' "$TURNPIKED_LOG" | tail -n 2)"
turn_stop_check
tap_done
