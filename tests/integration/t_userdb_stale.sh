#!/usr/bin/env bash
# A userdb that cannot be read (issue 17): corrupted in place or made
# unreadable, its last good copy is served for userdb-stale-limit seconds, then
# store users get 401 while option users keep allocating; once the file can be
# read again store users are back. Made read-only, it is still read: a user
# removed meanwhile is refused. A userdb in a directory that does not exist
# stops startup with the path named, and no directory is created. turnpiked
# runs as nobody (proc-user) so that a chmod reaches it as it would in
# production.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/turnlib.sh"

require_binaries
[ "$(id -u)" -eq 0 ] || tap_skip_all "proc-user needs the test to run as root"
id nobody >/dev/null 2>&1 || tap_skip_all "no user nobody on this system"

CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
REALM=turnpike.test
LIMIT=3
chmod 0711 "$T"
RUN=$T/run
mkdir -p "$RUN"
chown nobody "$RUN"
DB=$RUN/users.db

seed() { alloc_status --user seed --password seed-pw; }
opt() { alloc_status --user opt --password opt-pw; }

for u in seed carol; do
	"$CTL" --db "$DB" user add "$u" --realm "$REALM" --password "$u-pw" >/dev/null 2>&1 ||
		bail_out "turnpikectl could not create $DB"
done
cp "$DB" "$T/good.db"

start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
	--log-file stdout --relay-threads 1 --realm "$REALM" --lt-cred-mech --userdb "$DB" \
	--user opt:opt-pw --proc-user nobody --userdb-stale-limit "$LIMIT"
got=$(seed)
tap_is "a store user allocates" "$([ "$got" = ok ]; echo $?)" "$got"

# ---- corrupted in place ----
printf 'this is not an SQLite file' | dd of="$DB" bs=1 seek=0 conv=notrunc status=none
wait_until 10 grep -q "served for at most $LIMIT s (userdb-stale-limit)" "$TURNPIKED_LOG"
tap_is "corrupted in place: logged, the last good copy is served for $LIMIT s" "$?" \
	"$(grep userdb "$TURNPIKED_LOG")"
wait_until 20 alloc_is 401 --user seed --password seed-pw
tap_is "after userdb-stale-limit a store user gets 401" "$?" "$(seed)"
got=$(opt)
tap_is "... and an option user allocates" "$([ "$got" = ok ]; echo $?)" "$got"
grep -q "its users are refused until it can be read" "$TURNPIKED_LOG"
tap_is "failing closed is logged" "$?" "$(grep userdb "$TURNPIKED_LOG")"
n=$(grep -c "userdb $DB: \(cannot be read\|unreadable for\)" "$TURNPIKED_LOG")
[ "$n" -le 2 ]
tap_is "one line when it fails and one when it closes (then one a minute)" "$?" \
	"$(grep userdb "$TURNPIKED_LOG")"
cat "$T/good.db" >"$DB"
wait_until 10 alloc_is ok --user seed --password seed-pw
tap_is "the file restored: the store user allocates again" "$?" "$(seed)"
grep -q "readable again; its users are accepted again" "$TURNPIKED_LOG"
tap_is "the recovery is logged" "$?" "$(grep userdb "$TURNPIKED_LOG")"

# ---- made unreadable ----
chmod 000 "$DB"
wait_until 20 alloc_is 401 --user seed --password seed-pw
tap_is "chmod 000: after userdb-stale-limit a store user gets 401" "$?" "$(seed)"
got=$(opt)
tap_is "... and an option user allocates" "$([ "$got" = ok ]; echo $?)" "$got"
chmod 600 "$DB"
wait_until 10 alloc_is ok --user seed --password seed-pw
tap_is "chmod 600: the store user allocates again" "$?" "$(seed)"

# ---- made read-only: still read, so a removal takes effect ----
got=$(alloc_status --user carol --password carol-pw)
tap_is "carol allocates" "$([ "$got" = ok ]; echo $?)" "$got"
chmod 400 "$DB"
"$CTL" --db "$DB" user delete carol --realm "$REALM" >"$T/ctl.out" 2>&1
tap_is "root removes carol from the read-only file" "$?" "$(cat "$T/ctl.out")"
wait_until 10 alloc_is 401 --user carol --password carol-pw
tap_is "read-only: the removal takes effect (401)" "$?"
got=$(seed)
tap_is "... and seed still allocates" "$([ "$got" = ok ]; echo $?)" "$got"
stop_turnpiked
tap_is "turnpiked stops cleanly" "$?" "status $TURNPIKED_STATUS"

# ---- a userdb in a directory that does not exist ----
pick_port
timeout 20 "$TURNPIKED" -n --listening-ip 127.0.0.1 --listening-port "$PICKED" --no-tls \
	--relay-threads 1 --lt-cred-mech --realm "$REALM" --userdb "$T/no-such-dir/sub/users.db" \
	--log-file "$T/fail.log" >"$T/fail.out" 2>"$T/fail.err"
rc=$?
[ "$rc" -eq 1 ] && grep -qF "userdb $T/no-such-dir/sub/users.db: directory $T/no-such-dir/sub" \
	"$T/fail.err" && [ ! -e "$T/no-such-dir" ]
tap_is "userdb in a missing directory: status 1, the path named, nothing created" "$?" \
	"exit status $rc" "$(cat "$T/fail.err")"
"$CTL" --db "$T/typo-dir/users.db" user add x --realm "$REALM" --password x >"$T/ctl2.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -qF "$T/typo-dir" "$T/ctl2.out" && [ ! -e "$T/typo-dir" ]
tap_is "turnpikectl --db in a missing directory: an error naming it, nothing created" "$?" \
	"exit status $rc" "$(cat "$T/ctl2.out")"
tap_done
