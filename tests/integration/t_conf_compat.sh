#!/usr/bin/env bash
# Real-world coturn configurations (tests/data/conf/: what the Matrix Synapse,
# Jitsi Meet, Nextcloud Talk and BigBlueButton guides tell people to write)
# load unchanged: --check-config exits 0 and prints the expected effective
# values; then turnpiked runs with the file and relays for clients using the
# credentials those guides use (TURN REST API shared secret): coturn's
# turnutils_uclient -W over UDP through a UDP echo peer, and turnpike-bench
# over TLS where the guide configures TLS.
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
DATA=$TOP_SRCDIR/tests/data/conf
SECRET=guide-Secret-$RANDOM$RANDOM
make_cert
pick_relay_range

start_udp_peer

GUIDE=
CONF=
# The guide's file with this test's ports, secret and certificate.
# shellcheck disable=SC2317 # called through TP_PREPARE
write_guide() {
	sed -e "s|@PORT@|$PORT|g" -e "s|@TLS_PORT@|$TLS_PORT|g" -e "s|@RELAY_MIN@|$RELAY_MIN|g" \
		-e "s|@RELAY_MAX@|$RELAY_MAX|g" -e "s|@SECRET@|$SECRET|g" -e "s|@CERT@|$CERT|g" \
		-e "s|@KEY@|$KEY|g" "$DATA/$GUIDE.conf" >"$CONF"
}

# line_of TEXT: the line number of the first line of the guide's file starting with TEXT.
line_of() {
	grep -n -m1 "^$1" "$DATA/$GUIDE.conf" | cut -d: -f1
}

# check_guide NAME REGEX...: --check-config on the guide's file exits 0 and its
# output has a line matching each extended regex (@FILE@ is the file's path).
check_guide() {
	local re rc
	GUIDE=$1
	shift
	CONF=$T/$GUIDE.conf
	PORT=3478 TLS_PORT=5349 write_guide
	timeout 10 "$TURNPIKED" --check-config -c "$CONF" >"$T/$GUIDE.out" 2>"$T/$GUIDE.err"
	rc=$?
	tap_is "$GUIDE: --check-config exits 0" "$rc" "exit status $rc" "$(cat "$T/$GUIDE.err")"
	for re in "$@"; do
		re=${re//@FILE@/$CONF}
		grep -qE "$re" "$T/$GUIDE.out"
		tap_is "$GUIDE: $re" "$?" "$(cat "$T/$GUIDE.out")"
	done
	! grep -qF "$SECRET" "$T/$GUIDE.out" "$T/$GUIDE.err"
	tap_is "$GUIDE: the shared secret is not printed" "$?"
}

# run_guide NAME [tls]: turnpiked with the guide's file (logging to stdout, the
# echo peer on loopback allowed), then relayed traffic with REST credentials.
run_guide() {
	local rc
	GUIDE=$1
	CONF=$T/$GUIDE.conf
	TP_PREPARE=write_guide
	start_turnpiked_or_bail -c "$CONF" --log-file stdout --syslog=no \
		--allowed-peer-ip 127.0.0.1 --relay-threads 1 --rfc5766-channel-numbers
	TP_PREPARE=
	# Two clients of 10 messages each (uclient's -m and -n, as in t_uclient.sh).
	timeout 60 "$UCLIENT" -n 10 -m 2 -l 120 -W "$SECRET" -u guest -e 127.0.0.1 \
		-r "$PEER_PORT" -p "$PORT" 127.0.0.1 >"$T/$GUIDE.uc" 2>&1
	rc=$?
	uclient_summary "$T/$GUIDE.uc" 20 >"$T/$GUIDE.uc.check"
	[ "$rc" -eq 0 ] && grep -q '^sent 20 received 20 lost 0$' "$T/$GUIDE.uc.check"
	tap_is "$GUIDE: turnutils_uclient -W (REST secret) over UDP: every message echoed" "$?" \
		"exit status $rc" "$(cat "$T/$GUIDE.uc.check")" "$(tail -n 5 "$T/$GUIDE.uc")"
	if [ "${2:-}" = tls ]; then
		bench turn -t tls --ca "$CERT" --user guest --secret "$SECRET" \
			"127.0.0.1:$TLS_PORT" >"$T/$GUIDE.tls" 2>&1
		rc=$?
		[ "$rc" -eq 0 ] && grep -q '^allocate ok ' "$T/$GUIDE.tls"
		tap_is "$GUIDE: turnpike-bench --secret over TLS allocates" "$?" "exit status $rc" \
			"$(cat "$T/$GUIDE.tls")"
	fi
	bench turn --user guest --secret wrong-secret --expect-allocate 401 \
		"127.0.0.1:$PORT" >"$T/$GUIDE.wrong" 2>&1
	tap_is "$GUIDE: a password made with another secret gets 401" "$?" \
		"$(cat "$T/$GUIDE.wrong")"
	stop_turnpiked
	tap_is "$GUIDE: daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"
	! grep -qF "$SECRET" "$TURNPIKED_LOG"
	tap_is "$GUIDE: the shared secret is not in the log" "$?"
}

# ---- Matrix Synapse ----
GUIDE=synapse
check_guide synapse \
	"^use-auth-secret = on  # @FILE@:$(line_of use-auth-secret)\$" \
	"^static-auth-secret = \*+  # @FILE@:$(line_of static-auth-secret)\$" \
	'^realm = matrix\.example\.org  # ' \
	"^user-quota = 12  # @FILE@:$(line_of user-quota)\$" \
	'^total-quota = 1200  # ' \
	'^denied-peer-ip = 10\.0\.0\.0-10\.255\.255\.255, 192\.168\.0\.0-192\.168\.255\.255, .*, fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff  # ' \
	'^allowed-peer-ip = 10\.0\.0\.1  # ' \
	'^syslog = on  # ' \
	'^# TLS listeners: on$'
grep -q "user-quota: the text after the number is ignored: # 4 streams" "$T/synapse.err"
tap_is "synapse: the comment after user-quota's number warns, as coturn reads only the number" \
	"$?" "$(cat "$T/synapse.err")"
run_guide synapse tls

# ---- Jitsi Meet ----
GUIDE=jitsi
check_guide jitsi \
	'^no-tcp = on  # ' \
	"^allow-loopback-peers = off  # @FILE@:$(line_of no-loopback-peers)\$" \
	"^keep-address-family  # @FILE@:$(line_of keep-address-family), deprecated: applied as allocation-default-address-family=keep\$" \
	'^cipher-list = ECDHE-ECDSA-AES128-GCM-SHA256:.*:DHE-RSA-AES256-GCM-SHA384  # ' \
	'^realm = meet\.example\.org  # ' \
	'^no-tlsv1  # .*accepted' \
	'^# authentication: long-term credentials, TURN REST API secrets$'
grep -q "no-loopback-peers is deprecated; replaced by allow-loopback-peers=no" "$T/jitsi.err"
tap_is "jitsi: no-loopback-peers warns and names its replacement" "$?" "$(cat "$T/jitsi.err")"
run_guide jitsi tls

# ---- Nextcloud Talk ----
GUIDE=nextcloud
check_guide nextcloud \
	"^stale-nonce = 600  # @FILE@:$(line_of stale-nonce)\$" \
	'^no-tls = on  # ' \
	'^log-file = /var/log/turnserver\.log  # ' \
	'^fingerprint  # .*accepted' \
	"^bps-capacity = 0  # @FILE@:$(line_of bps-capacity)" \
	'^# TLS listeners: off$'
run_guide nextcloud

# ---- BigBlueButton ----
GUIDE=bigbluebutton
check_guide bigbluebutton \
	"^lt-cred-mech = on  # @FILE@:$(line_of lt-cred-mech)\$" \
	'^use-auth-secret = on  # ' \
	'^relay-ip = 127\.0\.0\.1  # ' \
	'^verbose = on  # ' \
	'^allowed-peer-ip = 127\.0\.0\.1  # ' \
	"^dh-file = /etc/turnserver/dhp\.pem  # @FILE@:$(line_of dh-file), not implemented: ignored\$" \
	'^cipher-list = ECDHE-ECDSA-AES128-GCM-SHA256:.*:DHE-RSA-AES256-GCM-SHA384  # ' \
	'^log-file = /var/log/turnserver/turnserver\.log  # '
run_guide bigbluebutton tls

# ---- coturn's own example, every option uncommented ----
# The coturn package's examples/etc/turnserver.conf documents every option with
# a commented-out example line. With all of them uncommented (but no-auth, no-udp
# and no-tcp, which contradict lt-cred-mech and the other listeners: coturn
# refuses those too; and the network credential stores and redis-statsdb, whose
# values are placeholders such as port=<port> and which would each be a second
# store beside its userdb: t_store_postgres, t_store_mysql, t_store_redis and
# t_fleet use real ones) the
# file loads, each option accepted or warned about.
EXAMPLE=/usr/share/doc/coturn/examples/etc/turnserver.conf
if [ -r "$EXAMPLE" ]; then
	sed -E -e 's/^#([A-Za-z])/\1/' -e 's/^(no-auth|no-udp|no-tcp)$/#\1/' \
		-e 's/^((psql|mysql|mongo|redis)-userdb=|redis-statsdb=)/#\1/' "$EXAMPLE" >"$T/example.conf"
	n=$(grep -cE '^[A-Za-z]' "$T/example.conf")
	timeout 10 "$TURNPIKED" --check-config -c "$T/example.conf" >"$T/example.out" \
		2>"$T/example.err"
	rc=$?
	[ "$rc" -eq 0 ] && [ "$n" -ge 100 ]
	tap_is "coturn's example turnserver.conf with its $n option lines uncommented loads" "$?" \
		"exit status $rc" "$(grep -v warning "$T/example.err")"
	# Only prose lines that the blunt uncommenting turned into options are unknown.
	unknown=$(grep "unknown option" "$T/example.err" | grep -vE "unknown option '(OR:|Local)'")
	[ -z "$unknown" ]
	tap_is "  ... and every option name in it is known" "$?" "$unknown"
else
	tap_skip "coturn's example turnserver.conf" "$EXAMPLE not installed (apt-get install coturn)"
fi

tap_done
