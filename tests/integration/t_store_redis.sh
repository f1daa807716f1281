#!/usr/bin/env bash
# The Redis credential store (redis-userdb, turnpikectl -N) in coturn's key
# layout, against a private redis-server: the store's unit suite passes on it;
# a user coturn's turnadmin -N creates is listed by turnpikectl and allocates
# on turnpiked unchanged, and one turnpikectl -N adds is listed by turnadmin;
# a user added while turnpiked runs allocates soon after; Redis stopped: option
# users keep working and store users are refused (401, never success); Redis
# back: the store user allocates again.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries
REDIS=${REDIS_SERVER:-$(command -v redis-server)}
[ -n "$REDIS" ] || tap_skip_all "redis-server not installed (apt-get install redis-server)"
CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
UNIT=${TEST_STORE:-$TOP_BUILDDIR/tests/unit/test_store}

pick_port
RPORT=$PICKED
REDIS_PID=
redis_start() {
	"$REDIS" --port "$RPORT" --bind 127.0.0.1 --dir "$T" --save '' --appendonly no \
		--databases 64 >>"$T/redis.log" 2>&1 &
	REDIS_PID=$!
	track_pid "$REDIS_PID"
	wait_until 10 redis-cli -p "$RPORT" ping >/dev/null 2>&1 ||
		bail_out "redis-server did not start: $(tail -n 5 "$T/redis.log")"
}
redis_start

# The unit suite's raw statements (coturn changing or adding a key behind
# turnpike's back), in Redis terms: the suite only ever sets a user's hmackey
# in example.org this way (UPDATE, or coturn's INSERT of a new user).
cat >"$T/redis-sql.sh" <<EOF
#!/bin/sh
{ cat; echo; } | sed -n -e "s/^UPDATE turnusers_lt SET hmackey = '\\([^']*\\)' WHERE name = '\\([^']*\\)'\\$/\\2 \\1/p" \\
	-e "s/^INSERT INTO turnusers_lt (realm, name, hmackey) VALUES ('example.org', '\\([^']*\\)', '\\([^']*\\)')\\$/\\1 \\2/p" |
while read -r name key; do
	redis-cli -p $RPORT -n "\$1" SET "turn/realm/example.org/user/\$name/key" "\$key" >/dev/null || exit 1
done
EOF
chmod +x "$T/redis-sql.sh"
if [ -x "$UNIT" ]; then
	out=$(TURNPIKE_TEST_STORE="redis:ip=127.0.0.1 port=$RPORT dbname=%d" \
		TURNPIKE_TEST_SQL="$T/redis-sql.sh %d" "$UNIT" 2>&1)
	rc=$?
	n_ok=$(grep -c '^ok' <<<"$out")
	n_bad=$(grep -c '^not ok' <<<"$out")
	[ "$rc" -eq 0 ] && [ "$n_bad" -eq 0 ] && [ "$n_ok" -ge 40 ]
	tap_is "the store test suite passes on Redis ($n_ok checks)" "$?" \
		"$(grep -B1 -A2 '^not ok' <<<"$out" | head -40)"
else
	tap_skip "the store test suite on Redis" "no $UNIT (make check builds it)"
fi

CONN="ip=127.0.0.1 port=$RPORT dbname=40"
if command -v turnadmin >/dev/null 2>&1; then
	coturn_admin -a -N "$CONN" -u alice -r example.org -p secret >"$T/turnadmin.out" 2>&1
	got=$("$CTL" --redis-userdb "$CONN" user list 2>&1)
	[ "$got" = "alice[example.org]" ]
	tap_is "a user coturn's turnadmin -a -N made is listed by turnpikectl --redis-userdb" "$?" "$got"
	"$CTL" -N "$CONN" -a -u bob -r example.org -p pw >"$T/out" 2>&1
	got=$(coturn_admin -l -N "$CONN" 2>&1)
	grep -q 'bob\[example.org\]' <<<"$got"
	tap_is "a user turnpikectl -a -N added is listed by coturn's turnadmin -l -N" "$?" "$got"
	want=$("$CTL" -k -u bob -r example.org -p pw)
	got=$(redis-cli -p "$RPORT" -n 40 GET turn/realm/example.org/user/bob/key)
	[ "0x$got" = "$want" ]
	tap_is "... under coturn's key turn/realm/example.org/user/bob/key" "$?" "'$got' want '$want'"
else
	tap_skip "turnadmin" "coturn is not installed"
	"$CTL" -N "$CONN" -a -u alice -r example.org -p secret >/dev/null 2>&1 ||
		bail_out "turnpikectl -a -N failed"
fi

# turnpiked serves the Redis store: coturn's layout, unchanged.
start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
	--log-file stdout --realm example.org --lt-cred-mech --redis-userdb "$CONN" \
	--userdb-stale-limit 0 --user opt:optpw --min-port 40000 --max-port 40100
alloc() {
	bench turn --timeout 3000 --user "$1" --password "$2" --expect-allocate "$3" \
		"127.0.0.1:$PORT" >"$T/out" 2>&1
}
# shellcheck disable=SC2317 # called through wait_until
allocates() { alloc "$1" "$2" 0; }
wait_until 10 allocates alice secret
tap_is "turnpiked --redis-userdb: alice (made by turnadmin -N) allocates" "$?" "$(cat "$T/out")"
alloc alice wrong 401
tap_is "a wrong password gets 401" "$?" "$(cat "$T/out")"
! grep -q 'port=' "$TURNPIKED_LOG"
tap_is "the log never shows the connection string" "$?" "$(grep 'port=' "$TURNPIKED_LOG")"
"$CTL" --redis-userdb "$CONN" user add carol --realm example.org --password c4rol >/dev/null 2>&1
wait_until 10 allocates carol c4rol
tap_is "a user added with turnpikectl while turnpiked runs allocates" "$?" "$(cat "$T/out")"

kill "$REDIS_PID"
wait_exit "$REDIS_PID" 10
alloc opt optpw 0
tap_is "Redis stopped: an option user still allocates" "$?" "$(cat "$T/out")"
# shellcheck disable=SC2317
refused() { alloc alice secret 401; }
wait_until 10 refused
tap_is "Redis stopped: the store user gets 401, never success" "$?" "$(cat "$T/out")"
proc_alive "$TURNPIKED_PID"
tap_is "turnpiked still runs" "$?"
redis_start
wait_until 15 redis-cli -p "$RPORT" ping >/dev/null 2>&1
# What Redis lost (only turnadmin saves) is written again; adding alice is idempotent.
"$CTL" --redis-userdb "$CONN" user add alice --realm example.org --password secret >"$T/ctl.out" 2>&1 ||
	tap_diag "$(cat "$T/ctl.out")"
wait_until 10 allocates alice secret
tap_is "Redis back: alice allocates again" "$?" "$(cat "$T/out")"
stop_turnpiked
tap_is "turnpiked stops cleanly" "$?" "status $TURNPIKED_STATUS"
kill "$REDIS_PID"
wait_exit "$REDIS_PID" 10
tap_done
