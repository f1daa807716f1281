#!/usr/bin/env bash
# Allocation quotas (RFC 8656 §7.2, 486 Allocation Quota Reached): user-quota
# counts a user's allocations across worker threads, total-quota the server's;
# units come back when an allocation ends (deallocation, connection close,
# turnpikectl kill, expiry);
# a realm's user-quota set with turnpikectl while the server runs takes effect
# within a few seconds. TCP clients are used because the server hands TCP
# connections to its two workers in turn: consecutive clients land on
# different workers.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/turnlib.sh"

require_binaries

CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
REALM=turnpike.test
DB=$T/quota.db
ctl() { "$CTL" --db "$DB" "$@"; }
RELAY_MIN=$((30000 + (RANDOM % 14000) * 2))
RELAY_MAX=$((RELAY_MIN + 199))

# alloc ARGS...: one TCP allocation (deallocated again); prints "ok", "486" or what came.
alloc() {
	local out
	out=$(bench turn --transport tcp --timeout 3000 "$@" "127.0.0.1:$PORT" 2>&1)
	case $out in
	*"allocate ok"*) echo ok ;;
	*"allocate error 486"*) echo 486 ;;
	*) echo "other: $out" ;;
	esac
}

# relays USER: relay sockets opened for USER so far (from the log).
relays() {
	grep -cE "relay .* for (UDP|TCP|TLS) client .*, user \"$1\"\$" "$TURNPIKED_LOG"
}

# all_closed USER: every relay of USER was closed again.
# shellcheck disable=SC2317 # called through wait_until
all_closed() {
	[ "$(relays "$1")" -eq "$(grep -c "of user \"$1\" closed after" "$TURNPIKED_LOG")" ]
}

# hold USER MS: an allocation held MS milliseconds in the background; waits
# until it exists. Sets HELD to the client's pid.
hold() {
	local before
	before=$(relays "$1")
	# Not through bench(): HELD must be the client itself (bounded by MS, killed at exit).
	"$TURNPIKE_BENCH" turn --transport tcp --timeout 3000 --user "$1" --password "pw-$1" \
		--refresh-after "$2" "127.0.0.1:$PORT" >"$T/hold.$1.$RANDOM.log" 2>&1 &
	HELD=$!
	track_pid "$HELD"
	wait_until 5 relays_above "$1" "$before"
}

# quota_lines_at_least TEXT N: the store's realm line with TEXT was logged N times.
# shellcheck disable=SC2317 # called through wait_until
quota_lines_at_least() {
	[ "$(grep -c "store: realm \"$REALM\": $1" "$TURNPIKED_LOG")" -ge "$2" ]
}

# shellcheck disable=SC2317 # called through wait_until
relays_above() {
	[ "$(relays "$1")" -gt "$2" ]
}

mkdir -p "$T"
ctl user add seed --realm "$REALM" --password seed-pass >/dev/null 2>&1 ||
	bail_out "turnpikectl could not create $DB"
USERS=()
for u in u1 u2 u3 u4; do
	USERS+=(--user "$u:pw-$u")
done
start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
	--log-file stdout -v --relay-threads 2 --min-port "$RELAY_MIN" --max-port "$RELAY_MAX" \
	--realm "$REALM" --lt-cred-mech --userdb "$DB" "${USERS[@]}" \
	--user-quota 1 --total-quota 3 --control-socket "$T/ctl.sock"

# ---- user-quota across workers ----
hold u1 6000
tap_is "u1 holds one allocation" "$?"
got=$(alloc --user u1 --password pw-u1)
tap_is "a second allocation of u1 gets 486 (user-quota 1)" "$([ "$got" = 486 ]; echo $?)" "$got"
w0=$(count_lines '^.*w0\.c[0-9]+ TCP .*: open' "$TURNPIKED_LOG")
w1=$(count_lines '^.*w1\.c[0-9]+ TCP .*: open' "$TURNPIKED_LOG")
[ "$w0" -ge 1 ] && [ "$w1" -ge 1 ]
tap_is "... though it came to the other worker thread" "$?" "w0 $w0, w1 $w1 connections"
got=$(alloc --user u2 --password pw-u2)
tap_is "another user still allocates" "$([ "$got" = ok ]; echo $?)" "$got"

# ---- total-quota ----
hold u2 6000 && hold u3 6000
tap_is "u2 and u3 hold one allocation each (3 in total)" "$?"
got=$(alloc --user u4 --password pw-u4)
tap_is "a fourth allocation gets 486 (total-quota 3)" "$([ "$got" = 486 ]; echo $?)" "$got"

# ---- units come back ----
for u in u1 u2 u3; do
	wait_until 15 all_closed "$u"
done
got=$(alloc --user u4 --password pw-u4)
tap_is "after the allocations end u4 allocates" "$([ "$got" = ok ]; echo $?)" "$got"
got=$(alloc --user u1 --password pw-u1)
tap_is "... and u1 allocates again" "$([ "$got" = ok ]; echo $?)" "$got"
hold u1 60000
kill -KILL "$HELD"
wait "$HELD" 2>/dev/null
forget_pid "$HELD"
wait_until 5 all_closed u1
got=$(alloc --user u1 --password pw-u1)
tap_is "a client killed mid-allocation gives its unit back (connection close)" \
	"$([ "$got" = ok ]; echo $?)" "$got"

# ---- a realm's user-quota from the store, while the server runs ----
ctl realm set "$REALM" --user-quota 2
wait_until 5 grep -q "realm \"$REALM\": user-quota 2," "$TURNPIKED_LOG"
tap_is "the store's user-quota 2 is applied within 5 s" "$?"
hold u1 4000
got=$(alloc --user u1 --password pw-u1)
tap_is "u1 now gets a second allocation" "$([ "$got" = ok ]; echo $?)" "$got"
hold u1 4000
got=$(alloc --user u1 --password pw-u1)
tap_is "... and a third gets 486" "$([ "$got" = 486 ]; echo $?)" "$got"
ctl realm set "$REALM" --user-quota 0
wait_until 5 quota_lines_at_least "user-quota 1," 2 # the first one at start
tap_is "removing the realm option restores the configured user-quota" "$?"
wait_until 10 all_closed u1 # the holds above end
hold u1 60000
got=$(alloc --user u1 --password pw-u1)
tap_is "u1 holds one again: a second gets 486" "$([ "$got" = 486 ]; echo $?)" "$got"
timeout 10 "$CTL" --control-socket "$T/ctl.sock" kill --user u1 >"$T/kill.out" 2>&1
tap_is "turnpikectl kill --user u1" "$?" "$(cat "$T/kill.out")"
got=$(alloc --user u1 --password pw-u1)
tap_is "after the kill u1 allocates again (unit given back)" "$([ "$got" = ok ]; echo $?)" "$got"
kill -KILL "$HELD" 2>/dev/null
stop_turnpiked
tap_is "turnpiked stops cleanly" "$?" "status $TURNPIKED_STATUS"

# ---- a reload changes user-quota; the store's realm option still wins over it ----
printf 'user-quota=1\n' >"$T/quota.conf"
start_turnpiked_or_bail -c "$T/quota.conf" --listening-ip 127.0.0.1 --listening-port @PORT@ \
	--no-tls --log-file stdout --relay-threads 2 --min-port "$RELAY_MIN" --max-port "$RELAY_MAX" \
	--realm "$REALM" --lt-cred-mech --userdb "$DB" "${USERS[@]}"
hold u1 60000
got=$(alloc --user u1 --password pw-u1)
tap_is "user-quota=1 from the file: a second allocation of u1 gets 486" \
	"$([ "$got" = 486 ]; echo $?)" "$got"
printf 'user-quota=2\n' >"$T/quota.conf"
kill -HUP "$TURNPIKED_PID"
wait_until 5 grep -q "configuration reloaded" "$TURNPIKED_LOG"
tap_is "SIGHUP reloads the file" "$?"
got=$(alloc --user u1 --password pw-u1)
tap_is "after the reload (user-quota=2) u1 gets a second allocation" \
	"$([ "$got" = ok ]; echo $?)" "$got"
ctl realm set "$REALM" --user-quota 1
wait_until 5 quota_lines_at_least "user-quota 1," 2 # the first one at start
tap_is "the store's user-quota 1 is applied after the reload" "$?"
got=$(alloc --user u1 --password pw-u1)
tap_is "the store's user-quota 1 applies over the reloaded value: 486" \
	"$([ "$got" = 486 ]; echo $?)" "$got"
ctl realm set "$REALM" --user-quota 0
kill -KILL "$HELD" 2>/dev/null
stop_turnpiked
tap_is "turnpiked stops cleanly" "$?" "status $TURNPIKED_STATUS"

# ---- expiry gives the unit back (allocations live 2 s here) ----
start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
	--log-file stdout --relay-threads 2 --min-port "$RELAY_MIN" --max-port "$RELAY_MAX" \
	--realm "$REALM" --lt-cred-mech "${USERS[@]}" --user-quota 1 --max-allocate-lifetime 2
hold u1 15000
got=$(alloc --user u1 --password pw-u1)
tap_is "u1 holds one (lifetime 2 s): a second gets 486" "$([ "$got" = 486 ]; echo $?)" "$got"
wait_until 6 all_closed u1
tap_is "the held allocation expires while its client waits" "$?"
got=$(alloc --user u1 --password pw-u1)
tap_is "after the expiry u1 allocates again" "$([ "$got" = ok ]; echo $?)" "$got"
kill -KILL "$HELD" 2>/dev/null
stop_turnpiked
tap_is "turnpiked stops cleanly" "$?" "status $TURNPIKED_STATUS"
tap_done
