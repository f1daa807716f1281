#!/usr/bin/env bash
# The store's unit test suite (tests/unit/test_store) against every engine this
# build has, each in a private server started for this script: the same
# tests that run on SQLite run on PostgreSQL.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/engines.sh"

UNIT=${TEST_STORE:-$TOP_BUILDDIR/tests/unit/test_store}
[ -x "$UNIT" ] || bail_out "no $UNIT"
"$TOP_BUILDDIR/turnpikectl" --version 2>/dev/null | grep -q postgresql ||
	tap_skip_all "this turnpike is built without PostgreSQL (libpq-dev)"

pg_start
for i in $(seq 1 12); do
	echo "CREATE DATABASE tp$i;" | pg_sql postgres || bail_out "createdb tp$i"
done
out=$(TURNPIKE_TEST_STORE="postgresql:host=127.0.0.1 port=$PG_PORT user=postgres dbname=tp%d" \
	TURNPIKE_TEST_SQL="$PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PG_PORT -U postgres -d tp%d" \
	"$UNIT" 2>&1)
rc=$?
n_ok=$(grep -c '^ok' <<<"$out")
n_bad=$(grep -c '^not ok' <<<"$out")
if [ "$rc" -eq 0 ] && [ "$n_bad" -eq 0 ] && [ "$n_ok" -ge 40 ]; then
	tap_ok "the store test suite passes on PostgreSQL ($n_ok checks)"
else
	tap_fail "the store test suite on PostgreSQL: $n_bad of $((n_ok + n_bad)) failed (rc $rc)" \
		"$(grep -B1 -A2 '^not ok' <<<"$out" | head -40)"
fi

CTL=$TOP_BUILDDIR/turnpikectl

# coturn's turnadmin writes to the same PostgreSQL database turnpike reads, and back.
if command -v turnadmin >/dev/null 2>&1; then
	echo "CREATE DATABASE coturn;" | pg_sql postgres
	pg_sql coturn </usr/share/coturn/schema.sql >/dev/null
	conn="host=127.0.0.1 port=$PG_PORT user=postgres dbname=coturn"
	coturn_admin -a -e "$conn" -u alice -r example.org -p secret >"$T/turnadmin.out" 2>&1
	got=$("$CTL" --psql-userdb "$conn" user list 2>&1)
	tap_is "a user made by coturn's turnadmin -e is listed by turnpikectl --psql-userdb" \
		"$([ "$got" = "alice[example.org]" ] && echo 0 || echo 1)" "$got"
	"$CTL" -e "$conn" -a -u bob -r example.org -p pw >/dev/null 2>&1
	got=$(coturn_admin -l -e "$conn" 2>&1)
	tap_is "a user added by turnpikectl -a -e is listed by coturn's turnadmin -l -e" \
		"$(grep -q 'bob\[example.org\]' <<<"$got" && echo 0 || echo 1)" "$got"
	want=$("$CTL" -k -u bob -r example.org -p pw)
	got=$(echo "SELECT rtrim(hmackey) FROM turnusers_lt WHERE name = 'bob';" |
		pg_sql coturn -t -A 2>&1)
	tap_is "... with coturn's hmackey" "$([ "0x$got" = "$want" ] && echo 0 || echo 1)" \
		"db '$got' want '$want'"
	# turnpike's USERHASH index on coturn's turnusers_lt: turnadmin still writes,
	# and its rows are found through the index.
	rc=0
	coturn_admin -a -e "$conn" -u carol -r example.org -p pw >"$T/turnadmin.out" 2>&1 || rc=$?
	got=$(printf '%s\n' "SET enable_seqscan = off;" \
		"SELECT name FROM turnusers_lt WHERE turnpike_userhash(name, realm) = sha256('carol:example.org') AND realm = 'example.org';" \
		"EXPLAIN SELECT name FROM turnusers_lt WHERE turnpike_userhash(name, realm) = sha256('carol:example.org') AND realm = 'example.org';" |
		pg_sql coturn -t -A 2>&1)
	tap_is "turnadmin -a -e still adds users beside turnpike's USERHASH index, and the index finds them" \
		"$([ "$rc" -eq 0 ] && grep -qx carol <<<"$got" && grep -q turnpike_turnusers_lt_userhash <<<"$got" && echo 0 || echo 1)" \
		"$(cat "$T/turnadmin.out")" "$got"
	# Opening the store again leaves the change-log triggers on coturn's table
	# alone (re-creating them would lock turnusers_lt at every node's start).
	trig() {
		echo "SELECT oid FROM pg_trigger WHERE tgname = 'turnpike_user_row' ORDER BY oid;" |
			pg_sql coturn -t -A 2>&1 | tr '\n' ' '
	}
	oid0=$(trig)
	"$CTL" --psql-userdb "$conn" user list >/dev/null 2>&1
	oid1=$(trig)
	tap_is "opening the store again keeps its two triggers on coturn's tables" \
		"$([ "$(wc -w <<<"$oid0")" = 2 ] && [ "$oid0" = "$oid1" ] && echo 0 || echo 1)" \
		"before: $oid0, after: $oid1"
else
	tap_skip "turnadmin" "coturn is not installed"
fi

# store copy: SQLite -> PostgreSQL -> SQLite keeps every row.
A=$T/a.db
B=$T/b.db
{
	"$CTL" --db "$A" user add alice --realm r1 --password pw1 &&
		"$CTL" --db "$A" user add carol --realm r2 --key 0x543e1aec5d3614f03141652d6ada51b2 &&
		"$CTL" --db "$A" secret add s3cret --realm r1 &&
		"$CTL" --db "$A" peer allow 10.0.0.0-10.0.0.255 --realm r1 &&
		"$CTL" --db "$A" peer deny 192.168.0.0-192.168.255.255 &&
		"$CTL" --db "$A" origin add https://a.example --realm r1 &&
		"$CTL" --db "$A" realm set r1 --user-quota 3 --max-bps 64000 &&
		"$CTL" --db "$A" admin add root --password hunter2 &&
		"$CTL" --db "$A" oauth-key add north --key MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEK \
			--realm r1 --timestamp 1000 --lifetime 60
} >/dev/null || bail_out "filling $A failed"
echo "CREATE DATABASE copy;" | pg_sql postgres
PGSPEC="postgresql:host=127.0.0.1 port=$PG_PORT user=postgres dbname=copy"
out1=$("$CTL" store copy "$A" "$PGSPEC" 2>&1)
out2=$("$CTL" store copy "$PGSPEC" "sqlite:$B" 2>&1)
tap_is "store copy SQLite -> PostgreSQL -> SQLite succeeds" \
	"$([ "$out1" = "$out2" ] && grep -q 'copied 2 users, 1 secrets, 2 peer ranges, 1 origins, 2 realm options, 1 admins, 1 oauth keys' <<<"$out1" && echo 0 || echo 1)" \
	"$out1" "$out2"
same=0
for what in "user list" "secret list" "peer list" "origin list" "realm show" "admin list" \
	"oauth-key list"; do
	# shellcheck disable=SC2086 # the words of the command
	a=$("$CTL" --db "$A" $what --json 2>&1)
	# shellcheck disable=SC2086
	b=$("$CTL" --db "$B" $what --json 2>&1)
	if [ "$a" != "$b" ]; then
		same=1
		tap_diag "$what differs:" "$a" "$b"
	fi
done
tap_is "... and the copy lists the same rows as the original" "$same"
ka=$(sqlite3 "$A" "SELECT hmackey || sha256key FROM turnusers_lt JOIN turnpike_user_sha256 USING (realm, name)" 2>&1)
kb=$(sqlite3 "$B" "SELECT hmackey || sha256key FROM turnusers_lt JOIN turnpike_user_sha256 USING (realm, name)" 2>&1)
ha=$(sqlite3 "$A" "SELECT password FROM admin_user" 2>&1)
hb=$(sqlite3 "$B" "SELECT password FROM admin_user" 2>&1)
tap_is "... with the same MD5 and SHA-256 keys and admin hash" \
	"$([ -n "$ka" ] && [ "$ka" = "$kb" ] && [ -n "$ha" ] && [ "$ha" = "$hb" ] && echo 0 || echo 1)" \
	"$ka / $kb" "$ha / $hb"
rc=0
out=$("$CTL" store copy "$A" "postgresql:host=127.0.0.1 port=1 user=postgres dbname=x" 2>&1) || rc=$?
tap_is "a copy to an unreachable PostgreSQL fails and says why" \
	"$([ "$rc" -ne 0 ] && grep -q 'postgresql' <<<"$out" && echo 0 || echo 1)" "$out"
tap_done
