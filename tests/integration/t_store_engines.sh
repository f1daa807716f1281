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
echo "CREATE DATABASE copy;" | pg_sql postgres
store_copy_check PostgreSQL "postgresql:host=127.0.0.1 port=$PG_PORT user=postgres dbname=copy" "$A" "$T/b.db"
rc=0
out=$("$CTL" store copy "$A" "postgresql:host=127.0.0.1 port=1 user=postgres dbname=x" 2>&1) || rc=$?
tap_is "a copy to an unreachable PostgreSQL fails and says why" \
	"$([ "$rc" -ne 0 ] && grep -q 'postgresql' <<<"$out" && echo 0 || echo 1)" "$out"
tap_done
