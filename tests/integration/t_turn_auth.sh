#!/usr/bin/env bash
# TURN credentials and protocol rules as a client sees them (turnpike-bench
# turn over loopback): the RFC 8489 challenge (nonce cookie, PASSWORD-ALGORITHMS),
# SHA-256 and MD5 keys, a refused bid-down, wrong credentials, stale nonces,
# TURN REST API usernames and secret rotation, 441 for another user's
# credentials on a 5-tuple, retransmissions answered identically, and the
# LIFETIME rules of Allocate and Refresh (RFC 8656 §7).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries

REALM=turnpike.test
ALICE=alice
ALICE_PASS=wonderland-7
BOB=bob
BOB_PASS=looking-glass
OLD_SECRET=old-rest-secret-1
NEW_SECRET=new-rest-secret-2
MAX_LIFETIME=1200
# Relay ports: a small random block, so that parallel tests do not collide.
RELAY_MIN=$((30000 + (RANDOM % 14000) * 2))
RELAY_MAX=$((RELAY_MIN + 199))
COMMON=(-n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls --log-file stdout
	--relay-threads 2 --min-port "$RELAY_MIN" --max-port "$RELAY_MAX" --realm "$REALM")
RC=

# session TAG ARGS...: one client session; output in $T/TAG and $T/TAG.err, exit status in RC.
session() {
	local tag=$1
	shift
	bench turn --timeout 5000 "$@" "127.0.0.1:$PORT" >"$T/$tag" 2>"$T/$tag.err"
	RC=$?
}

# expect_lines TAG DESC REGEX...: the session exited 0 and printed lines
# matching each extended regex, in this order.
expect_lines() {
	local tag=$1 desc=$2
	shift 2
	[ "$RC" -eq 0 ] && PATS=$(printf '%s\n' "$@") awk '
		BEGIN { n = split(ENVIRON["PATS"], p, "\n"); i = 1 }
		i <= n && $0 ~ p[i] { i++ }
		END { exit !(i > n) }' "$T/$tag"
	tap_is "$desc" "$?" "exit status $RC" "$(cat "$T/$tag" "$T/$tag.err")"
}

ADDR='127\.0\.0\.1:[0-9]+'
# One base64 character (no {4}: mawk has no intervals).
B64='[A-Za-z0-9+/]'

# ---- long-term credentials: two users, nonces valid 2 s ----
start_turnpiked_or_bail "${COMMON[@]}" --lt-cred-mech --user "$ALICE:$ALICE_PASS" \
	--user "$BOB:$BOB_PASS" --stale-nonce=2 --max-allocate-lifetime "$MAX_LIFETIME"

session sha256 --user "$ALICE" --password "$ALICE_PASS" --password-algorithm sha256
expect_lines sha256 "the 401 carries REALM, a nonce with the RFC 8489 cookie and PASSWORD-ALGORITHMS SHA-256, MD5" \
	"^challenge 401 realm=$REALM nonce=obMatJos2${B64}${B64}${B64}${B64}[!-~]+ password-algorithms=sha256,md5\$"
expect_lines sha256 "SHA-256 allocation succeeds; its answer carries MESSAGE-INTEGRITY-SHA256" \
	"^allocate ok relayed=$ADDR mapped=$ADDR lifetime=600 password-algorithm=sha256 integrity=sha256\$" \
	'^deallocate ok$'

session sha256tcp -t tcp --user "$ALICE" --password "$ALICE_PASS" --password-algorithm sha256
expect_lines sha256tcp "SHA-256 allocation over TCP succeeds, MESSAGE-INTEGRITY-SHA256" \
	"^allocate ok relayed=$ADDR .* password-algorithm=sha256 integrity=sha256\$" '^deallocate ok$'

session md5 --user "$ALICE" --password "$ALICE_PASS" --password-algorithm md5
expect_lines md5 "MD5 allocation (no algorithm attributes) succeeds with MESSAGE-INTEGRITY" \
	"^allocate ok relayed=$ADDR .* password-algorithm=md5 integrity=sha1\$" '^deallocate ok$'

session biddown --user "$ALICE" --password "$ALICE_PASS" --tamper-algorithms
expect_lines biddown "a PASSWORD-ALGORITHMS list rewritten to MD5 only (bid-down) gets 400" \
	'^challenge 401 .* password-algorithms=sha256,md5$' '^allocate error 400 '

session wrongpass --user "$ALICE" --password not-the-password --expect-allocate 401
expect_lines wrongpass "a wrong password gets 401 (MD5)" '^allocate error 401 '
session wrongpass256 --user "$ALICE" --password not-the-password --password-algorithm sha256 \
	--expect-allocate 401
expect_lines wrongpass256 "a wrong password gets 401 (SHA-256)" '^allocate error 401 '
session nouser --user mallory --password "$ALICE_PASS" --expect-allocate 401
expect_lines nouser "an unknown user gets 401" '^allocate error 401 '

# A control: the client fails when the answer is not the one expected.
session control --user "$ALICE" --password "$ALICE_PASS" --expect-allocate 401
[ "$RC" -eq 1 ] && grep -q '^allocate ok' "$T/control"
tap_is "turnpike-bench turn fails when an allocation succeeds against --expect-allocate 401" \
	"$?" "exit status $RC" "$(cat "$T/control" "$T/control.err")"

session stale --user "$ALICE" --password "$ALICE_PASS" --password-algorithm sha256 \
	--refresh-after 3000
expect_lines stale "a Refresh 3 s later with a 2 s nonce gets 438, then succeeds with the fresh nonce" \
	'^allocate ok ' '^refresh error 438 ' '^refresh ok lifetime=600$' '^deallocate ok$'

session bobalone --user "$BOB" --password "$BOB_PASS"
expect_lines bobalone "bob's credentials allocate on their own 5-tuple" '^allocate ok ' \
	'^deallocate ok$'
session mismatch --user "$ALICE" --password "$ALICE_PASS" --second-user "$BOB" \
	--second-password "$BOB_PASS"
expect_lines mismatch "bob's Allocate on alice's 5-tuple gets 441; alice's allocation keeps working" \
	'^allocate ok ' '^second-user allocate error 441 ' '^first-user refresh ok lifetime=600$' \
	'^deallocate ok$'

session retransmit --user "$ALICE" --password "$ALICE_PASS" --password-algorithm sha256 \
	--retransmit
expect_lines retransmit "a retransmitted Allocate gets the identical success, not 437" \
	'^allocate ok ' '^allocate retransmission identical ok$'
expect_lines retransmit "a retransmitted Refresh (lifetime 0) after the deletion gets the identical success" \
	'^deallocate ok$' '^deallocate retransmission identical ok$'

session lifetime --user "$ALICE" --password "$ALICE_PASS" --lifetime 99999 \
	--permission-after-deallocate 192.0.2.1=437
expect_lines lifetime "LIFETIME 99999 is clamped to max-allocate-lifetime $MAX_LIFETIME" \
	"^allocate ok .* lifetime=$MAX_LIFETIME "
expect_lines lifetime "a Refresh with LIFETIME 0 deletes: a later CreatePermission gets 437" \
	'^deallocate ok$' '^permission-after-deallocate 192\.0\.2\.1 error 437 '
session shortlife --user "$ALICE" --password "$ALICE_PASS" --lifetime 30
expect_lines shortlife "LIFETIME 30, below the default, gets the default 600" \
	'^allocate ok .* lifetime=600 '

stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"
! grep -qE "$ALICE_PASS|$BOB_PASS|not-the-password" "$TURNPIKED_LOG"
tap_is "no password in the log" "$?"

# ---- TURN REST API: two secrets during a rotation ----
start_turnpiked_or_bail "${COMMON[@]}" --static-auth-secret "$OLD_SECRET" \
	--static-auth-secret "$NEW_SECRET"

session restnew --user carol --secret "$NEW_SECRET"
expect_lines restnew "REST username expiry:carol, an hour ahead, new secret: allocated" \
	'^allocate ok ' '^deallocate ok$'
session restold --user carol --secret "$OLD_SECRET"
expect_lines restold "REST username with the old secret while both are configured: allocated" \
	'^allocate ok ' '^deallocate ok$'
session restfirst --user carol --secret "$NEW_SECRET" --rest-user-first --password-algorithm sha256
expect_lines restfirst "REST username carol:expiry (SHA-256): allocated" \
	'^allocate ok .* password-algorithm=sha256 integrity=sha256$' '^deallocate ok$'
session restexpired --user carol --secret "$NEW_SECRET" --rest-ttl -60 --expect-allocate 401
expect_lines restexpired "REST username that expired a minute ago gets 401" '^allocate error 401 '
session restwrong --user carol --secret not-a-secret --expect-allocate 401
expect_lines restwrong "REST password made with an unknown secret gets 401" '^allocate error 401 '

# The same credentials made by openssl, the way a web service would.
user="$(($(date +%s) + 600)):dave"
pass=$(printf '%s' "$user" | openssl dgst -sha1 -hmac "$NEW_SECRET" -binary | base64)
session restopenssl --user "$user" --password "$pass"
expect_lines restopenssl "REST credentials computed by openssl (base64 HMAC-SHA1) are accepted" \
	'^allocate ok ' '^deallocate ok$'

stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"
! grep -qE "$OLD_SECRET|$NEW_SECRET" "$TURNPIKED_LOG"
tap_is "no REST secret in the log" "$?"

# ---- after the rotation only the new secret is configured ----
start_turnpiked_or_bail "${COMMON[@]}" --static-auth-secret "$NEW_SECRET"
session rotatedold --user carol --secret "$OLD_SECRET" --expect-allocate 401
expect_lines rotatedold "after restarting with only the new secret, the old one's credentials get 401" \
	'^allocate error 401 '
session rotatednew --user carol --secret "$NEW_SECRET"
expect_lines rotatednew "after restarting with only the new secret, its credentials allocate" \
	'^allocate ok ' '^deallocate ok$'
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

tap_done
