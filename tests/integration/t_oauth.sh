#!/usr/bin/env bash
# Third-party authorization (RFC 7635): the AS-RS keys of coturn's test
# database (kids north, union and oldempire), loaded as coturn loads them, and
# coturn's turnutils_uclient -J (which picks one of those kids at random) relays
# through turnpiked with server-name blackdow.carleon.gov over UDP and TCP with
# no loss. turnpikectl adds, lists and deletes keys. Forged, expired, foreign
# and replayed tokens get 401 (438 for the replay from another address) and leave
# no allocation behind; the token's holder may reuse it for another allocation.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_turn_server
[ "$TURN_SERVER_IMPL" = turnpike ] || tap_skip_all "turnpiked's key store and turnpikectl only"
UCLIENT=${UCLIENT:-$(command -v turnutils_uclient)}
UPEER=${UPEER:-$(command -v turnutils_peer)}
SQL=/usr/share/coturn/testsqldbsetup.sql
PY=/usr/bin/python3
if [ -z "$UCLIENT" ] || [ -z "$UPEER" ] || [ ! -r "$SQL" ]; then
	tap_skip_all "coturn's uclient, peer or test database not installed (apt-get install coturn)"
fi
if ! command -v sqlite3 >/dev/null 2>&1 || ! "$PY" -c 'import cryptography' 2>/dev/null; then
	tap_skip_all "sqlite3 or python3-cryptography not installed"
fi
CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
DB=$T/turnpike.db
ctl() { "$CTL" --db "$DB" "$@"; }

# turnpikectl's verbs on the key table.
tap_run "oauth-key add (A128GCM, 16 bytes of key)" ctl oauth-key add test1 \
	--key MTIzNDU2Nzg5MDEyMzQ1Ngo= --alg A128GCM --realm r.example --lifetime 3600
tap_run_fails "oauth-key add refuses a key too short for A256GCM" ctl oauth-key add test2 \
	--key MTIzNDU2Nzg5MDEyMzQ1Ngo=
tap_run_fails "oauth-key add refuses an unknown algorithm" ctl oauth-key add test2 \
	--key MTIzNDU2Nzg5MDEyMzQ1Ngo= --alg HS256
ctl oauth-key list >"$T/list" 2>&1
grep -qx 'test1 alg=A128GCM realm=r.example timestamp=0 lifetime=3600' "$T/list" &&
	! grep -q MTIz "$T/list"
tap_is "oauth-key list shows the key, never its secret" "$?" "$(cat "$T/list")"
tap_run "oauth-key delete" ctl oauth-key delete test1
tap_run_fails "oauth-key delete of a missing key fails" ctl oauth-key delete test1

# coturn's rows, inserted by coturn's own SQL into the same table.
grep '^insert into oauth_key' "$SQL" | sqlite3 "$DB"
ctl oauth-key list >"$T/list" 2>&1
[ "$(grep -cE '^(north alg=A256GCM|union alg=A128GCM|oldempire alg=A256GCM) ' "$T/list")" -eq 3 ]
tap_is "coturn's testsqldbsetup.sql oauth_key rows are read back" "$?" "$(cat "$T/list")"

turn_common_args
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 \
	--allow-loopback-peers --userdb "$DB" --oauth --server-name blackdow.carleon.gov

start_udp_peer

N=20
M=2
# uclient_oauth NAME WANT FLAGS...: one -J run; its summary must show WANT
# messages sent and received, none lost.
uclient_oauth() {
	local name=$1 want=$2 rc ck
	shift 2
	timeout 60 "$UCLIENT" -J "$@" -n "$N" -m "$M" -u unused -w unused -e 127.0.0.1 \
		-r "$PEER_PORT" -p "$PORT" 127.0.0.1 >"$T/uc.$name" 2>&1
	rc=$?
	uclient_summary "$T/uc.$name" "$want" >"$T/uc.$name.check"
	ck=$?
	[ "$rc" -eq 0 ] && [ "$ck" -eq 0 ]
	tap_is "uclient -J $* ($name): every message relayed" "$?" "exit status $rc" \
		"$(cat "$T/uc.$name.check")" "$(grep -iE 'error|fail|lost|tot_' "$T/uc.$name" | tail -n 8)"
	echo "# $name: $(cat "$T/uc.$name.check")"
}
uclient_oauth udp $((N * M))
uclient_oauth tcp $((N * M)) -t
uclient_oauth udp_c2c $((2 * N * M)) -y
uclient_oauth udp_again $((N * M))
grep -q 'user "north"' "$TURNPIKED_LOG" || grep -q 'user "union"' "$TURNPIKED_LOG" ||
	grep -q 'user "oldempire"' "$TURNPIKED_LOG"
tap_is "the sessions are logged with the key id as user" "$?"

# Bad tokens, sealed by our own AS with the north key.
"$PY" "$TOP_SRCDIR/tests/integration/oauthcheck.py" 127.0.0.1 "$PORT" blackdow.carleon.gov \
	north MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEK A256GCM "$TURN_REALM" >"$T/neg" 2>&1
rc=$?
tap_is "oauthcheck.py ran" "$rc" "$(cat "$T/neg")"
neg() { awk -v k="$1" '$1 == k { print $2 }' "$T/neg"; }
tap_is "401 carries THIRD-PARTY-AUTHORIZATION with server-name" \
	"$([ "$(neg third-party-authorization)" = blackdow.carleon.gov ]; echo $?)" "$(cat "$T/neg")"
for c in forged expired otherserver wrongmac; do
	tap_is "a $c token: 401" "$([ "$(neg $c)" = 401 ]; echo $?)" "$(cat "$T/neg")"
done
tap_is "a valid token allocates" "$([ "$(neg valid)" = 0 ]; echo $?)" "$(cat "$T/neg")"
tap_is "the valid Allocate replayed from another address: 438 (the nonce is not its own)" \
	"$([ "$(neg replay)" = 438 ]; echo $?)" "$(cat "$T/neg")"
tap_is "... and it left no allocation there (437)" "$([ "$(neg after)" = 437 ]; echo $?)" \
	"$(cat "$T/neg")"
tap_is "the token reused by its holder (mac_key, own nonce, another port): allocates" \
	"$([ "$(neg reuse)" = 0 ]; echo $?)" "$(cat "$T/neg")"

# coturn's rows give north the realm crinna.org, union north.gov, oldempire
# none: a session is in its key's realm (as coturn), else in the server realm.
opened=$(grep -oE 'realm "[^"]*", user "(north|union|oldempire)"' "$TURNPIKED_LOG" | sort -u)
bad=$(echo "$opened" | grep -vxE "realm \"crinna.org\", user \"north\"|realm \"north.gov\", \
user \"union\"|realm \"$TURN_REALM\", user \"oldempire\"")
tap_diag "sessions: $(echo "$opened" | tr '\n' ';')"
echo "$opened" | grep -qx 'realm "crinna.org", user "north"' && [ -z "$bad" ]
tap_is "a token's session is in the realm of its key (oauth_key.realm), else the server's" \
	"$?" "$opened"

turn_stop_check
tap_done
