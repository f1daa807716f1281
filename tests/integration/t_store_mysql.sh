#!/usr/bin/env bash
# The MySQL/MariaDB credential store (mysql-userdb, turnpikectl -M), against
# one private mariadbd started for this script: the store's unit suite passes
# on it; coturn's turnadmin -M and turnpikectl -M read each other's users;
# store copy SQLite -> MariaDB -> SQLite keeps every row; turnpiked serves a
# user turnadmin -M adds while it runs (turnutils_uclient relays) within 2 s;
# MariaDB stopped mid-run: store users 401, option users still allocate, one
# log line; started again: recovered within 5 s; down at startup: the node
# starts; --check-config connects and reports, and names a bad key.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/engines.sh"

require_binaries
CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
UNIT=${TEST_STORE:-$TOP_BUILDDIR/tests/unit/test_store}
"$CTL" --version 2>/dev/null | grep -q mysql ||
	tap_skip_all "this turnpike is built without MySQL/MariaDB (libmariadb-dev)"
my_start
CONN_OF() { echo "host=127.0.0.1 port=$MY_PORT user=turn password=turn-db-pw dbname=$1"; }

# ---- the store's unit suite ----
if [ -x "$UNIT" ]; then
	for i in $(seq 1 14); do echo "CREATE DATABASE tp$i;"; done | my_sql mysql ||
		bail_out "CREATE DATABASE tp*"
	out=$(TURNPIKE_TEST_STORE="mysql:$(CONN_OF 'tp%d')" \
		TURNPIKE_TEST_SQL="mariadb --no-defaults --socket=$MY_DIR/sock -u root tp%d" \
		"$UNIT" 2>&1)
	rc=$?
	n_ok=$(grep -c '^ok' <<<"$out")
	n_bad=$(grep -c '^not ok' <<<"$out")
	[ "$rc" -eq 0 ] && [ "$n_bad" -eq 0 ] && [ "$n_ok" -ge 40 ]
	tap_is "the store test suite passes on MariaDB ($n_ok checks)" "$?" \
		"$(grep -B1 -A2 '^not ok' <<<"$out" | head -40)"
else
	tap_skip "the store test suite on MariaDB" "no $UNIT (make check builds it)"
fi

# ---- coturn's turnadmin -M and turnpikectl -M on coturn's own schema ----
COTURN=$(CONN_OF coturn)
TURNADMIN=$(command -v turnadmin)
echo "CREATE DATABASE coturn;" | my_sql mysql
if [ -n "$TURNADMIN" ] && [ -r /usr/share/coturn/schema.sql ]; then
	my_sql coturn </usr/share/coturn/schema.sql || bail_out "coturn's schema.sql"
	coturn_admin -a -M "$COTURN" -u alice -r example.org -p secret >"$T/turnadmin.out" 2>&1
	got=$("$CTL" --mysql-userdb "$COTURN" user list 2>&1)
	[ "$got" = "alice[example.org]" ]
	tap_is "a user made by coturn's turnadmin -M is listed by turnpikectl --mysql-userdb" "$?" \
		"$got" "$(cat "$T/turnadmin.out")"
	"$CTL" -M "$COTURN" -a -u bob -r example.org -p pw >/dev/null 2>&1
	got=$(coturn_admin -l -M "$COTURN" 2>&1)
	grep -q 'bob\[example.org\]' <<<"$got"
	tap_is "a user added by turnpikectl -a -M is listed by coturn's turnadmin -l -M" "$?" "$got"
	want=$("$CTL" -k -u bob -r example.org -p pw)
	got=$(echo "SELECT hmackey FROM turnusers_lt WHERE name = 'bob';" | my_sql coturn -N 2>&1)
	[ "0x$got" = "$want" ]
	tap_is "... with coturn's hmackey" "$?" "db '$got' want '$want'"
else
	"$CTL" -M "$COTURN" -a -u alice -r example.org -p secret >/dev/null 2>&1
	tap_skip "turnadmin -M" "coturn is not installed"
fi

# ---- coturn's TLS keys: a user the server makes use TLS connects with ca= only ----
my_sql mysql <<EOF
CREATE USER 'tls'@'127.0.0.1' IDENTIFIED BY 'tls-pw' REQUIRE SSL;
GRANT ALL ON *.* TO 'tls'@'127.0.0.1';
EOF
TLSCONN="host=127.0.0.1 port=$MY_PORT user=tls password=tls-pw dbname=coturn"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$T/other.key" -out "$T/other.pem" -subj /CN=other >/dev/null 2>&1
plain=$("$CTL" --mysql-userdb "$TLSCONN" user list 2>&1)
tls=$("$CTL" --mysql-userdb "$TLSCONN ca=$MY_DIR/cert.pem" user list 2>&1)
wrong=$("$CTL" --mysql-userdb "$TLSCONN ca=$T/other.pem" user list 2>&1)
grep -q "Access denied" <<<"$plain" && grep -q "alice\[example.org\]" <<<"$tls" &&
	grep -q "cannot connect: TLS" <<<"$wrong"
tap_is "ca= connects over TLS (a REQUIRE SSL user), without it or with another CA it is refused" \
	"$?" "without: $plain" "ca=: $tls" "other CA: $wrong"

# ---- store copy: SQLite -> MariaDB -> SQLite keeps every row ----
A=$T/a.db
echo "CREATE DATABASE copy;" | my_sql mysql
store_copy_check MariaDB "mysql:$(CONN_OF copy)" "$A" "$T/b.db"
rc=0
out=$("$CTL" store copy "$A" "mysql:host=127.0.0.1 port=1 user=turn dbname=x" 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -q 'mysql: cannot connect' <<<"$out"
tap_is "a copy to an unreachable MariaDB fails and says why" "$?" "$out"

# ---- turnpiked on mysql-userdb (coturn's database) ----
REALM=example.org
RELAY_MIN=$((30000 + (RANDOM % 14000) * 2))
RELAY_MAX=$((RELAY_MIN + 199))
COMMON=(-n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls --log-file stdout
	--relay-threads 2 --min-port "$RELAY_MIN" --max-port "$RELAY_MAX" --realm "$REALM"
	--lt-cred-mech --user opt:opt-pw -M "$COTURN" --relay-ip 127.0.0.1
	--allow-loopback-peers --rfc5766-channel-numbers)
now_ms() { date +%s%3N; }
# shellcheck disable=SC2317 # called through wait_until
peer_up() { [ -n "$(ss -Hlnu "sport = :$PEER_PORT" 2>/dev/null)" ]; }

start_turnpiked_or_bail "${COMMON[@]}"
wait_until 10 alloc_is ok --user alice --password secret
tap_is "turnpiked -M serves the user coturn's turnadmin made" "$?" \
	"$(alloc_status --user alice --password secret)"

# A user turnadmin -M adds while it runs relays (the triggers' counter): at most 2 s.
UCLIENT=$(command -v turnutils_uclient)
UPEER=$(command -v turnutils_peer)
if [ -n "$TURNADMIN" ] && [ -n "$UCLIENT" ] && [ -n "$UPEER" ]; then
	t0=$(now_ms)
	coturn_admin -a -M "$COTURN" -u carol -r "$REALM" -p carol-pw >"$T/turnadmin.out" 2>&1
	for _ in $(seq 1 40); do
		alloc_is ok --user carol --password carol-pw && break
		sleep 0.05
	done
	t1=$(now_ms)
	got=$(alloc_status --user carol --password carol-pw)
	[ "$got" = ok ] && [ $((t1 - t0)) -le 2000 ]
	tap_is "a user turnadmin -M adds while it runs allocates within 2 s ($((t1 - t0)) ms)" \
		"$?" "$got"
	pick_port
	PEER_PORT=$PICKED
	"$UPEER" -L 127.0.0.1 -p "$PEER_PORT" >"$T/peer.log" 2>&1 &
	track_pid "$!"
	wait_until 10 peer_up
	timeout 30 "$UCLIENT" -c -n 5 -m 1 -l 100 -u carol -w carol-pw -e 127.0.0.1 \
		-r "$PEER_PORT" -p "$PORT" 127.0.0.1 >"$T/uc.carol" 2>&1
	grep -q "tot_send_msgs=5, tot_recv_msgs=5" "$T/uc.carol"
	tap_is "... and relays with turnutils_uclient" "$?" "$(tail -5 "$T/uc.carol")"
else
	tap_skip "turnadmin -M while it runs" "coturn (turnadmin, turnutils_uclient) is not installed"
fi
t0=$(now_ms)
"$CTL" -M "$COTURN" -a -u bob -r "$REALM" -p bob-pw >/dev/null
for _ in $(seq 1 40); do
	alloc_is ok --user bob --password bob-pw && break
	sleep 0.05
done
t1=$(now_ms)
got=$(alloc_status --user bob --password bob-pw)
[ "$got" = ok ] && [ $((t1 - t0)) -le 2000 ]
tap_is "a user turnpikectl -M adds while it runs allocates within 2 s ($((t1 - t0)) ms)" "$?" "$got"

# ---- MariaDB stopped mid-run ----
my_stop || bail_out "mariadbd did not stop"
wait_until 10 alloc_is 401 --user alice --password secret
tap_is "MariaDB stopped: a store user gets 401" "$?" \
	"$(alloc_status --user alice --password secret)"
got=$(alloc_status --user opt --password opt-pw)
[ "$got" = ok ]
tap_is "... an option user still allocates" "$?" "$got"
wait_until 5 grep -q "userdb (mysql store): cannot be read" "$TURNPIKED_LOG"
tap_is "... the log says why" "$?" "$(grep userdb "$TURNPIKED_LOG" | tail -3)"
n=$(grep -c "userdb (mysql store): cannot be read" "$TURNPIKED_LOG")
[ "$n" -eq 1 ]
tap_is "... once (then once a minute)" "$?" "$n lines"
proc_alive "$TURNPIKED_PID"
tap_is "... and turnpiked runs on" "$?"
t0=$(now_ms)
my_resume || bail_out "mariadbd did not start again"
for _ in $(seq 1 100); do
	alloc_is ok --user alice --password secret && break
	sleep 0.05
done
t1=$(now_ms)
got=$(alloc_status --user alice --password secret)
[ "$got" = ok ] && [ $((t1 - t0)) -le 5000 ]
tap_is "MariaDB back: store users allocate again within 5 s ($((t1 - t0)) ms)" "$?" "$got"
grep -q "userdb (mysql store): readable again" "$TURNPIKED_LOG"
tap_is "... and the recovery is logged" "$?"
! grep -q "turn-db-pw" "$TURNPIKED_LOG"
tap_is "the log never shows the database password" "$?"
stop_turnpiked

# ---- down at startup; --check-config ----
my_stop || bail_out "mariadbd did not stop"
start_turnpiked "${COMMON[@]}"
tap_is "MariaDB down at startup: turnpiked starts" "$?" "$(tail -5 "$TURNPIKED_LOG")"
got="$(alloc_status --user opt --password opt-pw) $(alloc_status --user alice --password secret)"
[ "$got" = "ok 401" ]
tap_is "... option users allocate, store users get 401" "$?" "$got"
rc=0
out=$("$TURNPIKED" --check-config -n --realm "$REALM" --lt-cred-mech -M "$COTURN" 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 1 ] && grep -q "mysql-userdb: mysql: cannot connect" <<<"$out"
tap_is "--check-config with MariaDB down: status 1 and why" "$?" "$out"
my_resume || bail_out "mariadbd did not start again"
wait_until 10 alloc_is ok --user alice --password secret
tap_is "... and once it is up, store users allocate" "$?"
stop_turnpiked
rc=0
out=$("$TURNPIKED" --check-config -n --realm "$REALM" --lt-cred-mech --mysql-userdb "$COTURN" 2>&1 >/dev/null) || rc=$?
n=$("$CTL" --mysql-userdb "$COTURN" user list | wc -l)
[ "$rc" -eq 0 ] && grep -q "mysql-userdb: connected; $n users, 0 secrets" <<<"$out"
tap_is "--check-config connects and reports" "$?" "$out"
rc=0
out=$("$TURNPIKED" --check-config -n --realm "$REALM" --lt-cred-mech \
	--mysql-userdb "host=127.0.0.1 dbname=turn hots=x" 2>&1 >/dev/null) || rc=$?
[ "$rc" -ne 0 ] && grep -q "unknown key 'hots'" <<<"$out"
tap_is "--check-config names a bad key of the connection string" "$?" "$out"
tap_done
