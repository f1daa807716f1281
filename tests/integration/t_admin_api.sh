#!/usr/bin/env bash
# The admin API (web-admin) with curl: login, cookie flags, CSRF, realm
# scoping, a hostile user name, body and time limits, failed-login rate limit,
# sessions made by turnutils_uclient (list, kill), the credential issuer with
# an API key (its credentials allocate), the audit lines, HTTPS with the
# server's certificate and the refusal of plain HTTP off loopback.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

command -v curl >/dev/null || tap_skip_all "curl is not installed"
command -v turnutils_uclient >/dev/null || tap_skip_all "turnutils_uclient is not installed (apt-get install coturn)"
CTL=$TOP_BUILDDIR/turnpikectl
DB=$T/users.db
if ! "$CTL" --db "$DB" admin add root --password root-pw-1 >/dev/null ||
	! "$CTL" --db "$DB" admin add other --realm other.test --password other-pw-1 >/dev/null; then
	bail_out "turnpikectl admin add failed"
fi
# A coturn turnadmin -A hash (SHA-256-crypt) logs in too.
if command -v sqlite3 >/dev/null; then
	HASH5=$(openssl passwd -5 -salt saltsalt coturn-pw)
	sqlite3 "$DB" "INSERT INTO admin_user (name, realm, password) VALUES ('legacy', '', '$HASH5')"
fi

TURN_PASS_SECRET=issuer-secret-0123
start_turn_server_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ \
	--min-port @RELAY_MIN@ --max-port @RELAY_MAX@ --realm "$TURN_REALM" --lt-cred-mech \
	--use-auth-secret --static-auth-secret "$TURN_PASS_SECRET" --userdb "$DB" \
	--web-admin --web-admin-port @PORT2@ --log-file stdout --allow-loopback-peers \
	--rfc5766-channel-numbers
BASE=http://127.0.0.1:$PORT2/api/v1
LOG=$TURNPIKED_LOG

# req NAME ARGS...: curl into $T/NAME.body and $T/NAME.hdr; prints the status code.
req() {
	local name=$1
	shift
	curl -s -m 10 -o "$T/$name.body" -D "$T/$name.hdr" -w '%{http_code}' "$@"
}
# promtext.py head URL [HEADER]...: status, bytes after the headers, Content-Length.
PROMTEXT=$TOP_SRCDIR/tests/integration/promtext.py
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

code=$(req nocookie "$BASE/status")
[ "$code" = 401 ]
tap_is "no session cookie: 401" "$?" "status $code"
code=$(req badpw -H 'Content-Type: application/json' -d '{"user":"root","password":"nope"}' "$BASE/login")
[ "$code" = 401 ] && ! grep -qi '^set-cookie' "$T/badpw.hdr"
tap_is "wrong password: 401 and no cookie" "$?" "status $code"
code=$(req login -c "$T/jar" -H 'Content-Type: application/json' \
	-d '{"user":"root","password":"root-pw-1"}' "$BASE/login")
cookie=$(grep -i '^set-cookie:' "$T/login.hdr" | tr -d '\r')
[ "$code" = 200 ] && [[ $cookie == *HttpOnly* ]] && [[ $cookie == *SameSite=Strict* ]] &&
	[[ $cookie != *Secure* ]]
tap_is "login: 200, cookie HttpOnly and SameSite=Strict (no Secure over HTTP)" "$?" "$code $cookie"
CSRF=$(json "$T/login.body" 'd["csrf"]')
# The same token with its last character changed (to a different one).
case $CSRF in
*0) BADCSRF=${CSRF%?}1 ;;
*) BADCSRF=${CSRF%?}0 ;;
esac

code=$(req nocsrf -b "$T/jar" -H 'Content-Type: application/json' \
	-d '{"name":"mallory","password":"x"}' "$BASE/users")
[ "$code" = 403 ]
tap_is "a change without X-CSRF-Token: 403" "$?" "status $code"
code=$(req badcsrf -b "$T/jar" -H "X-CSRF-Token: $BADCSRF" -H 'Content-Type: application/json' \
	-d '{"name":"mallory","password":"x"}' "$BASE/users")
[ "$code" = 403 ]
tap_is "a change with a wrong X-CSRF-Token: 403" "$?" "status $code"
code=$(req users0 -b "$T/jar" "$BASE/users")
! grep -q mallory "$T/users0.body"
tap_is "... and nothing was added" "$?" "$(cat "$T/users0.body")"
code=$(req status -b "$T/jar" "$BASE/status")
[ "$code" = 200 ] && [ "$(json "$T/status.body" 'd["realm"]')" = "$TURN_REALM" ] &&
	[ "$(json "$T/status.body" 'd["relay-ports"]["total"]')" = $((RELAY_MAX - RELAY_MIN + 1)) ] &&
	[ "$(json "$T/status.body" 'd["draining"]')" = False ] &&
	[ "$(json "$T/status.body" 'd["workers"] > 0')" = True ]
tap_is "GET /status: the control status, the realm and the relay ports in use of all" "$?" \
	"$code $(cat "$T/status.body")"

# RFC 9110 §9.3.2: HEAD answers with the GET's headers, Content-Length too, and no body.
SESSION=$(sed -n 's/^set-cookie: *\([^;]*\).*/\1/Ip' "$T/login.hdr" | tr -d '\r' | head -n 1)
code=$(req usersget -b "$T/jar" "$BASE/users")
head=$(python3 "$PROMTEXT" head "$BASE/users" "Cookie: $SESSION")
[ "$code" = 200 ] && [ "$head" = "200 0 $(stat -c %s "$T/usersget.body")" ]
tap_is "HEAD /users: the GET's Content-Length and no body bytes" "$?" "GET $code, HEAD $head"
code=$(req indexget "http://127.0.0.1:$PORT2/")
head=$(python3 "$PROMTEXT" head "http://127.0.0.1:$PORT2/")
[ "$code" = 200 ] && [ "$head" = "200 0 $(stat -c %s "$T/indexget.body")" ]
tap_is "HEAD / (the console): the GET's Content-Length and no body bytes" "$?" "GET $code, HEAD $head"
head=$(python3 "$PROMTEXT" head "http://127.0.0.1:$PORT2/no-such-file")
[[ $head == "404 0 "* ]]
tap_is "HEAD of a missing file: 404 and no body bytes" "$?" "$head"

XSS='<script>alert(1)</script>'
code=$(req adduser -b "$T/jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
	-d '{"name":"bob","password":"bob-pw-1"}' "$BASE/users")
code2=$(req addxss -b "$T/jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
	-d "{\"name\":\"$XSS\",\"password\":\"x-pw\"}" "$BASE/users")
req users1 -b "$T/jar" "$BASE/users" >/dev/null
[ "$code" = 201 ] && [ "$code2" = 201 ] &&
	[ "$(json "$T/users1.body" '[u["name"] for u in d if u["name"].startswith("<")][0]')" = "$XSS" ] &&
	grep -qi '^content-type: application/json' "$T/users1.hdr" &&
	grep -qi '^x-content-type-options: nosniff' "$T/users1.hdr"
tap_is "users added with the token; a <script> name comes back as a JSON string (nosniff)" "$?" \
	"$code $code2 $(cat "$T/users1.body")"

# Realm scoping: an admin of other.test sees none of turnpike.test and may not ask for it.
req loginother -c "$T/jarother" -H 'Content-Type: application/json' \
	-d '{"user":"other","password":"other-pw-1"}' "$BASE/login" >/dev/null
CSRF_O=$(json "$T/loginother.body" 'd["csrf"]')
code=$(req otherusers -b "$T/jarother" "$BASE/users?realm=$TURN_REALM")
code2=$(req otherown -b "$T/jarother" "$BASE/users")
code3=$(req otheradd -b "$T/jarother" -H "X-CSRF-Token: $CSRF_O" -H 'Content-Type: application/json' \
	-d "{\"name\":\"eve\",\"password\":\"x\",\"realm\":\"$TURN_REALM\"}" "$BASE/users")
code4=$(req otherdrain -b "$T/jarother" -H "X-CSRF-Token: $CSRF_O" -X POST "$BASE/drain")
[ "$code" = 403 ] && [ "$code2" = 200 ] && [ "$(cat "$T/otherown.body")" = "[]" ] &&
	[ "$code3" = 403 ] && [ "$code4" = 403 ]
tap_is "a realm admin reaching another realm: 403 (list, add); drain is superuser-only" "$?" \
	"list $code own $code2 $(cat "$T/otherown.body") add $code3 drain $code4"

head -c 20000 /dev/zero | tr '\0' x >"$T/big"
code=$(req big -b "$T/jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
	--data-binary @"$T/big" "$BASE/users")
[ "$code" = 413 ]
tap_is "a 20000-byte body: 413" "$?" "status $code"
code=$(req notjson -b "$T/jar" -H "X-CSRF-Token: $CSRF" -d '{"name":' "$BASE/users")
[ "$code" = 400 ]
tap_is "a body that is not JSON: 400" "$?" "status $code"

/usr/bin/python3 "$TOP_SRCDIR/tests/integration/adminhttp.py" slow 127.0.0.1 "$PORT2" >"$T/slow" 2>&1
tap_is "a client that stops mid-request is dropped" "$?" "$(cat "$T/slow")"

for i in 1 2 3 4 5 6; do
	code=$(req rl -H 'Content-Type: application/json' -d '{"user":"root","password":"guess"}' "$BASE/login")
	: "$i"
done
code2=$(req rl2 -H 'Content-Type: application/json' -d '{"user":"root","password":"root-pw-1"}' "$BASE/login")
[ "$code" = 429 ] && [ "$code2" = 429 ]
tap_is "after 5 failed logins the source is refused (429), even with the right password" "$?" \
	"6th $code then $code2"

# Sessions: turnutils_uclient allocates as bob (a store user added above).
wait_until 10 turnutils_uclient -y -n 1 -m 1 -l 100 -u bob -w bob-pw-1 -r "$TURN_REALM" \
	-p "$PORT" 127.0.0.1 >"$T/uc0" 2>&1
timeout 60 turnutils_uclient -y -c -n 2000 -m 1 -l 100 -z 20 -u bob -w bob-pw-1 -r "$TURN_REALM" \
	-p "$PORT" 127.0.0.1 >"$T/uc" 2>&1 &
UC=$!
track_pid "$UC"
# shellcheck disable=SC2317 # called through wait_until
has_session() {
	req sessions -b "$T/jar" "$BASE/sessions" >/dev/null &&
		[ "$(json "$T/sessions.body" 'len([s for s in d if s["user"]=="bob"])')" -ge 1 ]
}
wait_until 15 has_session
tap_is "a turnutils_uclient allocation is listed with its counters" "$?" "$(cat "$T/sessions.body")"
SID=$(json "$T/sessions.body" '[s["id"] for s in d if s["user"]=="bob"][0]')
code=$(req one -b "$T/jar" "$BASE/sessions/$SID")
[ "$code" = 200 ] && [ "$(json "$T/one.body" 'd["transport"]')" = udp ] &&
	[ "$(json "$T/one.body" 'd["relayed"]')" != "" ]
tap_is "GET /sessions/$SID: that allocation" "$?" "$code $(cat "$T/one.body")"
code=$(req otherkill -b "$T/jarother" -H "X-CSRF-Token: $CSRF_O" -X DELETE "$BASE/sessions/$SID")
[ "$code" = 404 ]
tap_is "another realm's admin cannot kill it (404: not in its realm)" "$?" "status $code"
code=$(req kill -b "$T/jar" -H "X-CSRF-Token: $CSRF" -X DELETE "$BASE/sessions/$SID")
# shellcheck disable=SC2317 # called through wait_until
gone() {
	req sessions -b "$T/jar" "$BASE/sessions" >/dev/null &&
		[ "$(json "$T/sessions.body" "len([s for s in d if s['id']=='$SID'])")" = 0 ]
}
wait_until 5 gone
rc=$?
[ "$code" = 200 ] && [ "$rc" = 0 ]
tap_is "DELETE /sessions/$SID kills it: gone from the list" "$?" "$code $(cat "$T/sessions.body")"
kill "$UC" 2>/dev/null
wait "$UC" 2>/dev/null
forget_pid "$UC"

# The credential issuer: an API key from turnpikectl, stored hashed.
KEY=$("$CTL" --db "$DB" apikey add app1)
! sqlite3 "$DB" .dump 2>/dev/null | grep -qF "${KEY#app1.}"
tap_is "turnpikectl apikey add prints a key the store does not hold" "$?" "$KEY"
code=$(req ice -H "Authorization: Bearer $KEY" "$BASE/ice-servers?user=carol&ttl=600")
BADKEY=app1.$(printf '0%.0s' $(seq 1 48))
code2=$(req icebad -H "Authorization: Bearer $BADKEY" "$BASE/ice-servers?user=carol")
ICE_USER=$(json "$T/ice.body" '[s for s in d["iceServers"] if "username" in s][0]["username"]')
ICE_PASS=$(json "$T/ice.body" '[s for s in d["iceServers"] if "username" in s][0]["credential"]')
URLS=$(json "$T/ice.body" '" ".join([s for s in d["iceServers"] if "username" in s][0]["urls"])')
WANT=$(printf %s "$ICE_USER" | openssl dgst -sha1 -hmac "$TURN_PASS_SECRET" -binary | base64)
[ "$code" = 200 ] && [ "$code2" = 401 ] && [[ $ICE_USER == *:carol ]] && [ "$ICE_PASS" = "$WANT" ] &&
	[[ $URLS == *"turn:127.0.0.1:$PORT?transport=udp"* ]] &&
	[[ $URLS == *"turn:127.0.0.1:$PORT?transport=tcp"* ]]
tap_is "GET /ice-servers with the key: REST credentials, udp and tcp URLs; a wrong key: 401" "$?" \
	"$code $code2 $(cat "$T/ice.body")"
timeout 30 turnutils_uclient -y -c -n 5 -m 1 -l 100 -u "$ICE_USER" -w "$ICE_PASS" -r "$TURN_REALM" \
	-p "$PORT" 127.0.0.1 >"$T/ucice" 2>&1
out=$(uclient_summary "$T/ucice" 10) # -y: two clients, 5 messages each
tap_is "turnutils_uclient relays with the issued credentials" "$?" "$out" "$(tail -n 5 "$T/ucice")"
code=$(req icecookie -b "$T/jar" "$BASE/ice-servers")
[ "$code" = 200 ]
tap_is "a logged-in admin gets them too (the self-test page)" "$?" "status $code"

code=$(req openapi "$BASE/openapi.json")
[ "$code" = 200 ] && [ "$(json "$T/openapi.body" 'd["openapi"]')" = 3.0.3 ]
tap_is "GET /api/v1/openapi.json: an OpenAPI 3 document" "$?" "status $code"
code=$(req console "http://127.0.0.1:$PORT2/")
grep -qi "content-security-policy: default-src 'self'" "$T/console.hdr" && [ "$code" = 200 ]
tap_is "the console page is served with a self-only Content-Security-Policy" "$?" "$code"

if [ -n "${HASH5:-}" ]; then
	# From another source address: 127.0.0.1 is rate limited by now.
	code=$(req legacy -H 'Content-Type: application/json' -d '{"user":"legacy","password":"coturn-pw"}' \
		"$BASE/login" --interface 127.0.0.3)
	[ "$code" = 200 ]
	tap_is "a coturn \$5\$ admin hash logs in" "$?" "status $code $(cat "$T/legacy.body")"
fi

grep -q 'admin audit: admin root from 127.0.0.1 user-add bob realm "turnpike.test" status 201' "$LOG" &&
	grep -q 'admin audit: admin root from 127.0.0.1 kill '"$SID"' .*status 200' "$LOG" &&
	grep -q 'admin audit: admin other from 127.0.0.1 user-add .*status 403' "$LOG"
tap_is "changes are audit lines: who, what, realm, from where, outcome" "$?" \
	"$(grep 'admin audit' "$LOG" | tail -n 5)"
! grep -qE 'root-pw-1|bob-pw-1|other-pw-1|x-pw|'"$TURN_PASS_SECRET" "$LOG"
tap_is "no password or secret reaches the log" "$?"

turn_stop_check

# HTTPS with the server's certificate: the cookie is Secure, plain HTTP is not spoken.
make_cert
start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --realm "$TURN_REALM" \
	--lt-cred-mech --userdb "$DB" --cert "$CERT" --pkey "$KEY" --tls-listening-port @TLS_PORT@ \
	--web-admin --web-admin-port @PORT2@ --log-file stdout
code=$(req tls -k -H 'Content-Type: application/json' -d '{"user":"root","password":"root-pw-1"}' \
	"https://127.0.0.1:$PORT2/api/v1/login" --interface 127.0.0.4)
cookie=$(grep -i '^set-cookie:' "$T/tls.hdr" | tr -d '\r')
code2=$(req plain "http://127.0.0.1:$PORT2/api/v1/status")
[ "$code" = 200 ] && [[ $cookie == *"; Secure"* ]] && [ "$code2" = 000 ]
tap_is "with cert and pkey: HTTPS, the cookie is Secure, plain HTTP gets no answer" "$?" \
	"https $code ($cookie) http $code2"
# SIGUSR2 (certificates reload): new HTTPS connections get the new certificate.
serial() {
	timeout 10 openssl s_client -connect "127.0.0.1:$PORT2" </dev/null 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null
}
before=$(serial)
cp "$CERT" "$T/old.pem"
make_cert renewed
cp "$T/renewed.pem" "$T/server.pem"
cp "$T/renewed.key" "$T/server.key"
kill -USR2 "$TURNPIKED_PID"
# shellcheck disable=SC2317 # called through wait_until
renewed() { [ -n "$before" ] && [ "$(serial)" != "$before" ]; }
wait_until 10 renewed
tap_is "after SIGUSR2 the console serves the renewed certificate" "$?" "before $before after $(serial)"
stop_turnpiked

"$TURNPIKED" -n --listening-ip 127.0.0.1 --listening-port 1 --userdb "$DB" --web-admin \
	--web-admin-ip 0.0.0.0 --log-file stdout >"$T/open.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q 'plain HTTP is served on loopback only' "$T/open.log"
tap_is "web-admin on 0.0.0.0 without a certificate is refused at start" "$?" \
	"exit $rc $(tail -n 2 "$T/open.log")"

tap_done
