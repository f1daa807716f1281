#!/usr/bin/env bash
# turnpiked on a PostgreSQL credential store (psql-userdb), against a private
# PostgreSQL started for this script: a user added with turnpikectl allocates
# (turnpike-bench and coturn's turnutils_uclient), a user made by coturn's
# turnadmin is served unchanged, changes arrive within 2 s, users beyond
# userdb-cache-users are fetched on demand; PostgreSQL stopped mid-run: store
# users 401, option users still allocate, one log line; started again: recovered
# within 5 s; down at startup: the node starts and recovers; --check-config
# connects and reports.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/engines.sh"

require_binaries
CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
"$CTL" --version 2>/dev/null | grep -q postgresql ||
	tap_skip_all "this turnpike is built without PostgreSQL (libpq-dev)"
pg_start

REALM=turnpike.test
ctl() { "$CTL" --psql-userdb "$PG_CONN" "$@"; }
RELAY_MIN=$((30000 + (RANDOM % 14000) * 2))
RELAY_MAX=$((RELAY_MIN + 199))
COMMON=(-n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls --log-file stdout
	--relay-threads 2 --min-port "$RELAY_MIN" --max-port "$RELAY_MAX" --realm "$REALM"
	--lt-cred-mech --user opt:opt-pw --psql-userdb "$PG_CONN" --relay-ip 127.0.0.1
	--allow-loopback-peers --rfc5766-channel-numbers)

now_ms() { date +%s%3N; }
# shellcheck disable=SC2317 # called through wait_until
peer_up() { [ -n "$(ss -Hlnu "sport = :$PEER_PORT" 2>/dev/null)" ]; }

ctl user add alice --realm "$REALM" --password alice-pw >/dev/null || bail_out "user add failed"
start_turnpiked_or_bail "${COMMON[@]}"
wait_until 10 alloc_is ok --user alice --password alice-pw
tap_is "a user added with turnpikectl --psql-userdb allocates" "$?" \
	"$(alloc_status --user alice --password alice-pw)"

# A change made with turnpikectl reaches the node: measured, at most 2 s.
t0=$(now_ms)
ctl user add bob --realm "$REALM" --password bob-pw >/dev/null
for _ in $(seq 1 40); do
	alloc_is ok --user bob --password bob-pw && break
	sleep 0.05
done
t1=$(now_ms)
got=$(alloc_status --user bob --password bob-pw)
tap_is "a user added while it runs allocates within 2 s ($((t1 - t0)) ms)" \
	"$([ "$got" = ok ] && [ $((t1 - t0)) -le 2000 ] && echo 0 || echo 1)" "$got"
t0=$(now_ms)
ctl user delete bob --realm "$REALM" >/dev/null
for _ in $(seq 1 40); do
	alloc_is 401 --user bob --password bob-pw && break
	sleep 0.05
done
t1=$(now_ms)
got=$(alloc_status --user bob --password bob-pw)
tap_is "a deleted user gets 401 within 2 s ($((t1 - t0)) ms)" \
	"$([ "$got" = 401 ] && [ $((t1 - t0)) -le 2000 ] && echo 0 || echo 1)" "$got"

# coturn's own turnadmin writes the user; turnpiked serves it unchanged.
UCLIENT=$(command -v turnutils_uclient)
UPEER=$(command -v turnutils_peer)
if command -v turnadmin >/dev/null 2>&1 && [ -n "$UCLIENT" ] && [ -n "$UPEER" ]; then
	coturn_admin -a -e "$PG_CONN" -u carol -r "$REALM" -p carol-pw >"$T/turnadmin.out" 2>&1
	pick_port
	PEER_PORT=$PICKED
	"$UPEER" -L 127.0.0.1 -p "$PEER_PORT" >"$T/peer.log" 2>&1 &
	track_pid "$!"
	wait_until 10 peer_up
	uc() {
		timeout 30 "$UCLIENT" -c -n 5 -m 1 -l 100 -u "$1" -w "$2" -e 127.0.0.1 \
			-r "$PEER_PORT" -p "$PORT" 127.0.0.1 >"$T/uc.$1" 2>&1
	}
	wait_until 10 alloc_is ok --user carol --password carol-pw
	uc carol carol-pw
	grep -q "tot_send_msgs=5, tot_recv_msgs=5" "$T/uc.carol"
	tap_is "a user made by coturn's turnadmin -e relays with turnutils_uclient" "$?" \
		"$(tail -5 "$T/uc.carol")"
else
	tap_skip "turnadmin" "coturn (turnadmin, turnutils_uclient) is not installed"
fi

# REST secrets from the store.
SECRET=pg-rest-secret
ctl secret add "$SECRET" --realm "$REALM" >/dev/null

# ---- PostgreSQL stopped mid-run ----
pg_stop
wait_until 10 alloc_is 401 --user alice --password alice-pw
tap_is "PostgreSQL stopped: a store user gets 401" "$?" \
	"$(alloc_status --user alice --password alice-pw)"
got=$(alloc_status --user opt --password opt-pw)
tap_is "... an option user still allocates" "$([ "$got" = ok ] && echo 0 || echo 1)" "$got"
wait_until 5 grep -q "userdb (postgresql store): cannot be read" "$TURNPIKED_LOG"
tap_is "... the log says why" "$?" "$(grep userdb "$TURNPIKED_LOG" | tail -3)"
sleep 1
n=$(grep -c "userdb (postgresql store): cannot be read" "$TURNPIKED_LOG")
tap_is "... once (then once a minute)" "$([ "$n" -eq 1 ] && echo 0 || echo 1)" "$n lines"
proc_alive "$TURNPIKED_PID"
tap_is "... and turnpiked runs on" "$?"
t0=$(now_ms)
pg_resume || bail_out "postgres did not start again"
for _ in $(seq 1 100); do
	alloc_is ok --user alice --password alice-pw && break
	sleep 0.05
done
t1=$(now_ms)
got=$(alloc_status --user alice --password alice-pw)
tap_is "PostgreSQL back: store users allocate again within 5 s ($((t1 - t0)) ms)" \
	"$([ "$got" = ok ] && [ $((t1 - t0)) -le 5000 ] && echo 0 || echo 1)" "$got"
grep -q "userdb (postgresql store): readable again" "$TURNPIKED_LOG"
tap_is "... and the recovery is logged" "$?"
if ! grep -q "$SECRET\|$PG_CONN" "$TURNPIKED_LOG"; then
	tap_ok "the log shows neither the secret nor the connection string"
else
	tap_fail "the log shows a secret or the connection string"
fi
stop_turnpiked

# ---- users beyond userdb-cache-users: fetched on demand ----
for u in u1 u2 u3; do ctl user add "$u" --realm "$REALM" --password "$u-pw" >/dev/null; done
start_turnpiked_or_bail "${COMMON[@]}" --userdb-cache-users 1
ok=0
for u in u1 u2 u3 alice; do
	got=$(alloc_status --user "$u" --password "$u-pw")
	[ "$got" = ok ] || got=$(alloc_status --user "$u" --password "$u-pw")
	[ "$u" = alice ] || [ "$got" = ok ] || ok=1
done
# A miss answers 438 (the client asks again at once); a fetch slower than the
# client's three retries on loopback gets a second attempt, as a user would retry.
tap_is "userdb-cache-users 1: the users beyond it are fetched on demand and allocate" "$ok"
got=$(alloc_status --user nobody-here --password x)
got2=$(alloc_status --user nobody-here --password x)
tap_is "... an unknown user gets 401 (then from the negative cache)" \
	"$([ "$got" != ok ] && [ "$got2" = 401 ] && echo 0 || echo 1)" "$got / $got2"
stop_turnpiked

# ---- down at startup ----
pg_stop
start_turnpiked "${COMMON[@]}"
tap_is "PostgreSQL down at startup: turnpiked starts" "$?" "$(tail -5 "$TURNPIKED_LOG")"
got=$(alloc_status --user opt --password opt-pw)
tap_is "... option users allocate" "$([ "$got" = ok ] && echo 0 || echo 1)" "$got"
got=$(alloc_status --user alice --password alice-pw)
tap_is "... store users get 401" "$([ "$got" = 401 ] && echo 0 || echo 1)" "$got"
rc=0
out=$("$TURNPIKED" --check-config -n --realm "$REALM" --lt-cred-mech --psql-userdb "$PG_CONN" 2>&1 >/dev/null) || rc=$?
tap_is "--check-config with PostgreSQL down: status 1 and why" \
	"$([ "$rc" -eq 1 ] && grep -q "psql-userdb: postgresql: cannot connect" <<<"$out" && echo 0 || echo 1)" "$out"
pg_resume || bail_out "postgres did not start again"
wait_until 10 alloc_is ok --user alice --password alice-pw
tap_is "... and once it is up, store users allocate" "$?"
stop_turnpiked
rc=0
out=$("$TURNPIKED" --check-config -n --realm "$REALM" --lt-cred-mech --psql-userdb "$PG_CONN" 2>&1 >/dev/null) || rc=$?
tap_is "--check-config connects and reports" \
	"$([ "$rc" -eq 0 ] && grep -q "psql-userdb: connected; 5 users, 1 secrets" <<<"$out" && echo 0 || echo 1)" "$out"
tap_done
