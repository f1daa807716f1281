#!/usr/bin/env bash
# turnpikectl doctor: against a good configuration and its running server every
# check passes, the iceServers block is printed and its REST credential
# allocates, and --json parses and lists each check; broken setups exit 1 and
# name the failing check: an unknown option (a typo), an expired certificate, a
# key that does not match its certificate, loopback peers refused by the peer
# policy (a warning, said plainly), a relay port range whose ports are all
# taken, and a server that is not running.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
TURNPIKECTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
[ -x "$TURNPIKECTL" ] || bail_out "no turnpikectl at $TURNPIKECTL"
SECRET=doctor-Rest-secret-7
# make_cert's certificate lasts 2 days (the expiry check warns); this one 90.
make_cert short
CERT=$T/server.pem
KEY=$T/server.key
timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$KEY" -out "$CERT" -days 90 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$T/openssl.log" 2>&1 ||
	bail_out "openssl: $(cat "$T/openssl.log")"
pick_relay_range

# write_conf FILE [LINES...]: the good configuration plus LINES, for the ports
# of the running server (PORT, TLS_PORT).
write_conf() {
	local f=$1
	shift
	{
		echo "listening-ip=127.0.0.1"
		echo "listening-port=$PORT"
		echo "tls-listening-port=$TLS_PORT"
		echo "min-port=$RELAY_MIN"
		echo "max-port=$RELAY_MAX"
		echo "external-ip=127.0.0.1"
		echo "realm=turnpike.test"
		echo "server-name=localhost"
		echo "static-auth-secret=$SECRET"
		echo "cert=$CERT"
		echo "pkey=$KEY"
		echo "log-file=stdout"
		echo "relay-threads=1"
		printf '%s\n' "$@"
	} >"$f"
}

# shellcheck disable=SC2317 # called through TP_PREPARE
prepare_good() {
	write_conf "$T/good.conf" allow-loopback-peers
}

# doctor NAME ARGS...: runs doctor, output in $T/NAME.out, status in DOCTOR_RC.
doctor() {
	local name=$1
	shift
	timeout 60 "$TURNPIKECTL" doctor "$@" >"$T/$name.out" 2>"$T/$name.err"
	DOCTOR_RC=$?
}

# line_is NAME CHECK STATUS [REGEX]: the CHECK line of NAME's output has STATUS
# (and its detail matches REGEX).
line_is() {
	local line
	line=$(grep -E "^[a-z]{4}  $2 " "$T/$1.out")
	case $line in
	"$3  "*) ;;
	*) return 1 ;;
	esac
	[ -z "${4:-}" ] || grep -qE -- "$4" <<<"$line"
}

TP_PREPARE=prepare_good start_turnpiked_or_bail -c "$T/good.conf"
GOOD_PORT=$PORT

# ---- a good configuration and its running server ----
doctor good -c "$T/good.conf" --ca "$CERT"
tap_is "good configuration: exit 0" "$DOCTOR_RC" "$(cat "$T/good.out" "$T/good.err")"
checks="config certificate cert-expiry cert-hostname listeners external-ip relay clock ice-servers"
bad=
for c in $checks; do
	line_is good "$c" pass || bad="$bad $c"
done
[ -z "$bad" ]
tap_is "good configuration: every check passes" "$?" "not pass:$bad" "$(cat "$T/good.out")"
line_is good relay pass "within min-port $RELAY_MIN..max-port $RELAY_MAX.*data to 127\.0\.0\.1:[0-9]+ and back"
tap_is "the relay check allocated in the range and relayed to itself" "$?" \
	"$(grep relay "$T/good.out")"
line_is good clock pass "REST credentials: one expiring in 60 s was accepted, one expired 60 s ago refused"
tap_is "the clock check says what it compared (REST credentials)" "$?" \
	"$(grep clock "$T/good.out")"
grep -qF "\"turn:127.0.0.1:$PORT?transport=udp\"" "$T/good.out" &&
	grep -qF "\"turn:127.0.0.1:$PORT?transport=tcp\"" "$T/good.out" &&
	grep -qF "\"turns:127.0.0.1:$TLS_PORT?transport=tcp\"" "$T/good.out" &&
	grep -qF "\"stun:127.0.0.1:$PORT\"" "$T/good.out"
tap_is "iceServers printed for UDP, TCP and TLS" "$?" "$(cat "$T/good.out")"

doctor json -c "$T/good.conf" --ca "$CERT" --json
python3 -m json.tool "$T/json.out" >/dev/null 2>"$T/json.err"
tap_is "--json parses with python3 -m json.tool" "$?" "$(cat "$T/json.err" "$T/json.out")"
python3 - "$T/json.out" "$checks" >"$T/json.check" 2>&1 <<'EOF'
import json, sys
arr = json.load(open(sys.argv[1]))
names = [c["name"] for c in arr]
assert names == sys.argv[2].split(), names
for c in arr:
    assert set(c) >= {"name", "status", "detail"}, c
    assert c["status"] == "pass", c
ice = arr[-1]["iceServers"]
urls = ice[0]["urls"]
assert any(u.startswith("turns:") for u in urls), urls
print(ice[0]["username"], ice[0]["credential"])
EOF
tap_is "--json lists each check (name, status, detail) and the iceServers" "$?" \
	"$(cat "$T/json.check")"
ice_user='' ice_pass=''
read -r ice_user ice_pass <"$T/json.check"
bench turn --user "$ice_user" --password "$ice_pass" "127.0.0.1:$PORT" >"$T/ice.out" 2>&1
tap_is "the printed iceServers credential allocates" "$?" "$(cat "$T/ice.out")"

# ---- broken configurations against the same server ----
write_conf "$T/typo.conf" allow-loopback-peers "relay-treads=2"
doctor typo -c "$T/typo.conf" --ca "$CERT"
[ "$DOCTOR_RC" = 1 ] && line_is typo config fail "unknown option 'relay-treads'"
tap_is "a typo in an option name: exit 1, config fails naming it" "$?" "$(cat "$T/typo.out")"

write_conf "$T/invalid.conf" "min-port=70000"
doctor invalid -c "$T/invalid.conf"
[ "$DOCTOR_RC" = 1 ] && line_is invalid config fail "min-port" &&
	line_is invalid relay skip "configuration is not valid"
tap_is "a value out of bounds: exit 1, config fails, the rest is skipped" "$?" \
	"$(cat "$T/invalid.out")"

if /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
	/usr/bin/python3 - "$T/expired.pem" "$T/expired.key" <<'EOF'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime(2020, 1, 1))
        .not_valid_after(datetime.datetime(2020, 2, 1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .sign(key, hashes.SHA256()))
open(sys.argv[1], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[2], "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
EOF
	write_conf "$T/expired.conf" allow-loopback-peers "cert=$T/expired.pem" "pkey=$T/expired.key"
	doctor expired -c "$T/expired.conf" --ca "$T/expired.pem"
	[ "$DOCTOR_RC" = 1 ] && line_is expired cert-expiry fail "expired on Feb +1 00:00:00 2020" &&
		line_is expired certificate pass
	tap_is "an expired certificate: exit 1, cert-expiry fails with the date" "$?" \
		"$(cat "$T/expired.out")"
else
	tap_skip "an expired certificate" "python3-cryptography is not installed"
fi

write_conf "$T/short.conf" allow-loopback-peers "cert=$T/short.pem" "pkey=$T/short.key"
doctor short -c "$T/short.conf" --ca "$T/short.pem"
[ "$DOCTOR_RC" = 0 ] && line_is short cert-expiry warn "expires in [0-2] days? .*renew it"
tap_is "a certificate expiring in 2 days: cert-expiry warns (exit 0)" "$?" \
	"$(cat "$T/short.out")"

write_conf "$T/mismatch.conf" allow-loopback-peers "cert=$CERT" "pkey=$T/short.key"
doctor mismatch -c "$T/mismatch.conf" --ca "$CERT"
[ "$DOCTOR_RC" = 1 ] && line_is mismatch certificate fail "private key does not match"
tap_is "a key that does not match the certificate: exit 1, certificate fails" "$?" \
	"$(cat "$T/mismatch.out")"

doctor host -c "$T/good.conf" --ca "$CERT" --host turn.example.org
[ "$DOCTOR_RC" = 1 ] && line_is host cert-hostname fail "not valid for turn.example.org"
tap_is "a --host the certificate does not name: exit 1, cert-hostname fails" "$?" \
	"$(cat "$T/host.out")"
stop_turnpiked

# ---- the peer policy forbids the self-check ----
# shellcheck disable=SC2317 # called through TP_PREPARE
# A long-term user from the file instead of a REST secret, and the metrics endpoint.
prepare_nopeers() {
	write_conf "$T/nopeers.tmp" "user=alice:wonder-Land-9" prometheus "prometheus-port=$PORT2"
	grep -v '^static-auth-secret=' "$T/nopeers.tmp" >"$T/nopeers.conf"
}
TP_PREPARE=prepare_nopeers start_turnpiked_or_bail -c "$T/nopeers.conf"
doctor nopeers -c "$T/nopeers.conf" --ca "$CERT"
[ "$DOCTOR_RC" = 0 ] && line_is nopeers relay warn "peer policy forbids.*allow-loopback-peers"
tap_is "loopback peers refused: relay warns and says why (exit 0)" "$?" \
	"$(cat "$T/nopeers.out")"
line_is nopeers relay warn "allocated 127\.0\.0\.1:[0-9]+" &&
	grep -q '"username": "alice"' "$T/nopeers.out"
tap_is "without a REST secret the file's user allocates and goes into iceServers" "$?" \
	"$(cat "$T/nopeers.out")"
grep -q '"credential": "PASSWORD"' "$T/nopeers.out" && ! grep -q 'wonder-Land-9' "$T/nopeers.out"
tap_is "... its password is not printed (a placeholder in iceServers)" "$?" "$(cat "$T/nopeers.out")"
line_is nopeers clock pass "Date of the metrics endpoint 127\.0\.0\.1:$PORT2 is -?[0-9] s from"
tap_is "without REST credentials the clock check reads the metrics endpoint's Date" "$?" \
	"$(cat "$T/nopeers.out")"
stop_turnpiked

# ---- every relay port taken ----
# shellcheck disable=SC2317 # called through TP_PREPARE
# The REST secret from the userdb this time (doctor finds it there by itself).
prepare_taken() {
	write_conf "$T/taken.tmp" allow-loopback-peers "min-port=$TAKEN_MIN" \
		"max-port=$((TAKEN_MIN + 1))" use-auth-secret "userdb=$T/users.db"
	grep -v '^static-auth-secret=' "$T/taken.tmp" >"$T/taken.conf"
}
"$TURNPIKECTL" --db "$T/users.db" secret add "$SECRET" --realm turnpike.test >"$T/secret.log" 2>&1 ||
	bail_out "turnpikectl secret add: $(cat "$T/secret.log")"
# shellcheck disable=SC2317 # called through wait_until
holder_ready() {
	[ -s "$T/holder.ready" ]
}
for i in 1 2 3 4 5; do
	pick_port
	TAKEN_MIN=$PICKED
	port_is_free $((TAKEN_MIN + 1)) && break
	: "$i"
done
python3 -c '
import socket, sys, time
s = []
for p in (int(sys.argv[1]), int(sys.argv[1]) + 1):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", p))
    s.append(u)
open(sys.argv[2], "w").write("bound\n")
time.sleep(120)
' "$TAKEN_MIN" "$T/holder.ready" 2>"$T/holder.err" &
track_pid $!
wait_until 10 holder_ready || bail_out "could not hold ports $TAKEN_MIN-$((TAKEN_MIN + 1)): $(cat "$T/holder.err")"
TP_PREPARE=prepare_taken start_turnpiked_or_bail -c "$T/taken.conf"
doctor taken -c "$T/taken.conf" --ca "$CERT"
[ "$DOCTOR_RC" = 1 ] && line_is taken relay fail "508.*no free port between min-port and max-port"
tap_is "every relay port taken: exit 1, relay fails with 508" "$?" "$(cat "$T/taken.out")"
line_is taken relay fail "as REST credentials from the userdb's secret: 508"
tap_is "the REST secret is found in the userdb (the 508 came after authentication)" "$?" \
	"$(cat "$T/taken.out")"
stop_turnpiked

# ---- no server running ----
doctor down -c "$T/good.conf" --ca "$CERT" --timeout 500
[ "$DOCTOR_RC" = 1 ] && line_is down relay fail "Allocate at 127\.0\.0\.1:$GOOD_PORT" &&
	line_is down listeners fail "is turnpiked running" && line_is down config pass
tap_is "no server: exit 1, listeners and relay fail" "$?" "$(cat "$T/down.out")"

tap_done
