#!/usr/bin/env bash
# turnpiked reads its SQLite credential store (userdb) live: users and REST
# secrets added or deleted with turnpikectl while it runs take effect within a
# second, a database made by coturn's turnadmin works, and a locked database
# fails closed (401) and recovers by itself.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries

CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
REALM=turnpike.test
DB=$T/state/live.db
ctl() { "$CTL" --db "$DB" "$@"; }
RELAY_MIN=$((30000 + (RANDOM % 14000) * 2))
RELAY_MAX=$((RELAY_MIN + 199))
COMMON=(-n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls --log-file stdout
	--relay-threads 2 --min-port "$RELAY_MIN" --max-port "$RELAY_MAX" --realm "$REALM"
	--lt-cred-mech --userdb-stale-limit 0 --userdb "$DB")

# expect_within DESC WANT ARGS...: the allocation answers WANT within 2 s.
expect_within() {
	local desc=$1 want=$2 got i
	shift 2
	for i in $(seq 1 10); do
		got=$(alloc_status "$@")
		[ "$got" = "$want" ] && break
		sleep 0.2
	done
	tap_is "$desc" "$([ "$got" = "$want" ]; echo $?)" "wanted $want, got $got (after $i tries)"
}

mkdir -p "$T/state"
ctl user add seed --realm "$REALM" --password seed-pass >/dev/null 2>&1 ||
	bail_out "turnpikectl could not create $DB"
start_turnpiked_or_bail "${COMMON[@]}" --user "opt:opt-pass"

expect_within "an option user allocates with userdb set" ok --user opt --password opt-pass
expect_within "a store user present at start allocates" ok --user seed --password seed-pass
expect_within "an unknown user gets 401" 401 --user dave --password dave-pass
ctl user add dave --realm "$REALM" --password dave-pass
expect_within "a user added while the server runs allocates within 2 s" ok \
	--user dave --password dave-pass
expect_within "... with the SHA-256 key turnpikectl stored" ok \
	--user dave --password dave-pass --password-algorithm sha256
expect_within "a wrong password for a store user gets 401" 401 --user dave --password nope
ctl user delete dave --realm "$REALM"
expect_within "after user delete the user gets 401" 401 --user dave --password dave-pass

# ---- a corrupt database: fail closed, then recover when it is restored ----
# (userdb-stale-limit 0 refuses at once; t_userdb_stale covers the default.)
# (An exclusive lock from another process cannot be taken while turnpiked holds
# the WAL database open, so corruption is what makes it unreadable here.)
python3 -c 'import sqlite3, sys
src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2])
src.backup(dst); dst.close(); src.close()' "$DB" "$T/state/good.db"
head -c 8192 /dev/urandom >"$T/state/bad.db"
mv "$T/state/bad.db" "$DB"
expect_within "while the database is corrupt a store user gets 401" 401 \
	--user seed --password seed-pass
expect_within "... and an option user still allocates" ok --user opt --password opt-pass
mv "$T/state/good.db" "$DB"
expect_within "after the database is restored the store user allocates again" ok \
	--user seed --password seed-pass
grep -c "its users are refused" "$TURNPIKED_LOG" | grep -qx 1
tap_is "the unreadable store is logged once" "$?" "$(grep userdb "$TURNPIKED_LOG")"
stop_turnpiked

# ---- REST secrets from the store ----
ctl secret add old-store-secret --realm "$REALM"
ctl secret add new-store-secret --realm "$REALM"
start_turnpiked_or_bail "${COMMON[@]}" --use-auth-secret
expect_within "REST credentials from the old store secret allocate" ok \
	--user carol --secret old-store-secret
expect_within "REST credentials from the new store secret allocate" ok \
	--user carol --secret new-store-secret
ctl secret delete old-store-secret --realm "$REALM"
expect_within "after deleting the old secret its credentials get 401" 401 \
	--user carol --secret old-store-secret
expect_within "... and the new secret still works" ok --user carol --secret new-store-secret
stop_turnpiked

# ---- a database made by coturn's turnadmin ----
if command -v turnadmin >/dev/null 2>&1; then
	CDB=$T/state/coturn.db
	coturn_admin -a -b "$CDB" -u alice -r "$REALM" -p secret >/dev/null 2>&1
	COMMON_C=("${COMMON[@]}")
	COMMON_C[${#COMMON_C[@]} - 1]=$CDB
	start_turnpiked_or_bail "${COMMON_C[@]}"
	expect_within "a user added by coturn's turnadmin -a -b allocates" ok \
		--user alice --password secret
	expect_within "... and with a wrong password gets 401" 401 --user alice --password wrong
	stop_turnpiked
else
	tap_skip "coturn's turnadmin is not installed" 2
fi

tap_done
