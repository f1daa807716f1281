#!/usr/bin/env bash
# rest-api-hmac=sha256: TURN REST API passwords made with the README's one-line
# recipe (openssl dgst -sha256 -hmac SECRET -binary | base64) relay with coturn's
# turnutils_uclient, for a secret from the options and one from the database;
# the SHA-1 password of the same user name is refused there, and the other way
# round with the default (sha1).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
UCLIENT=${UCLIENT:-$(command -v turnutils_uclient)}
UPEER=${UPEER:-$(command -v turnutils_peer)}
if [ -z "$UCLIENT" ] || [ -z "$UPEER" ]; then
	tap_skip_all "turnutils_uclient/turnutils_peer not installed (apt-get install coturn)"
fi
TURNPIKECTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
N=10
SECRET=rest-secret-0123456789
DB_SECRET=db-secret-9876543210
USER_NAME="$(($(date +%s) + 3600)):alice"

# The README's recipes.
pass_sha256() { printf %s "$USER_NAME" | openssl dgst -sha256 -hmac "$1" -binary | base64; }
pass_sha1() { printf %s "$USER_NAME" | openssl dgst -sha1 -hmac "$1" -binary | base64; }

start_udp_peer

# relays NAME PASSWORD: uclient with that password relays N messages both ways.
relays() {
	timeout 60 "$UCLIENT" -n "$N" -m 1 -l 120 -u "$USER_NAME" -w "$2" -e 127.0.0.1 \
		-r "$PEER_PORT" -p "$PORT" 127.0.0.1 >"$T/uc.$1" 2>&1 &&
		uclient_summary "$T/uc.$1" $((2 * N)) >"$T/uc.$1.check"
}

BASE=(-n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls --log-file stdout
	--min-port @RELAY_MIN@ --max-port @RELAY_MAX@ --realm "$TURN_REALM"
	--relay-ip 127.0.0.1 --allow-loopback-peers --use-auth-secret --rfc5766-channel-numbers)

start_turn_server_or_bail "${BASE[@]}" --static-auth-secret "$SECRET" --rest-api-hmac sha256
P256=$(pass_sha256 "$SECRET")
[ "${#P256}" -eq 44 ]
tap_is "the SHA-256 recipe gives a 44-character password" "$?" "$P256"
relays opt256 "$P256"
tap_is "rest-api-hmac=sha256: uclient with the openssl -sha256 password relays every message" \
	"$?" "$(cat "$T/uc.opt256.check" 2>/dev/null)" "$(tail -n 5 "$T/uc.opt256")"
! relays opt1 "$(pass_sha1 "$SECRET")" &&
	grep -q 'authentication failed (401' "$TURNPIKED_LOG"
tap_is "rest-api-hmac=sha256: the SHA-1 password of the same user gets 401" "$?" \
	"$(tail -n 5 "$T/uc.opt1")"
! grep -qF "$SECRET" "$TURNPIKED_LOG"
tap_is "the secret is not in the log" "$?"
turn_stop_check

# A secret from the database, read live, with rest-api-hmac=sha256.
timeout 30 "$TURNPIKECTL" --db "$T/turn.db" secret add "$DB_SECRET" --realm "$TURN_REALM" \
	>"$T/ctl" 2>&1 || bail_out "turnpikectl secret add failed: $(cat "$T/ctl")"
start_turn_server_or_bail "${BASE[@]}" --userdb "$T/turn.db" --rest-api-hmac sha256
wait_until 10 relays db256 "$(pass_sha256 "$DB_SECRET")"
tap_is "a database secret with rest-api-hmac=sha256: the SHA-256 password relays" "$?" \
	"$(cat "$T/uc.db256.check" 2>/dev/null)" "$(tail -n 5 "$T/uc.db256")"
! relays db1 "$(pass_sha1 "$DB_SECRET")"
tap_is "a database secret with rest-api-hmac=sha256: the SHA-1 password is refused" "$?" \
	"$(tail -n 5 "$T/uc.db1")"
turn_stop_check

# The default is coturn's SHA-1: the same SHA-256 password is refused.
start_turn_server_or_bail "${BASE[@]}" --static-auth-secret "$SECRET"
relays def1 "$(pass_sha1 "$SECRET")"
tap_is "default (sha1): the openssl -sha1 password relays" "$?" \
	"$(cat "$T/uc.def1.check" 2>/dev/null)" "$(tail -n 5 "$T/uc.def1")"
! relays def256 "$P256"
tap_is "default (sha1): the SHA-256 password gets refused" "$?" "$(tail -n 5 "$T/uc.def256")"
turn_stop_check

tap_done
