#!/usr/bin/env bash
# turnpiked --check-config: the effective configuration with each value's
# source (default, FILE:LINE, command line) and secrets masked; a bad value
# gives FILE:LINE: option: reason and exit 1; coturn's file syntax (tabs,
# quotes, '#' only at the line start); the command line overrides the file;
# coturn's deprecated no-loopback-peers warns, names allow-loopback-peers and
# loopback peers stay refused; turnserver.conf found where coturn looks.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
make_cert
CONF=$T/turnserver.conf
SECRET=s3cret-rest-Key-42
PASS=pa55-Word-alice
CLIPASS=cli-Pa55-word
PKEYPWD=pkey-Pa55-word

check() {
	timeout 10 "$TURNPIKED" --check-config "$@" >"$T/out" 2>"$T/err"
}

# has DESC REGEX: a line of the effective configuration matches (extended regex).
has() {
	grep -qE "$2" "$T/out"
	tap_is "$1" "$?" "wanted: $2" "$(cat "$T/out" "$T/err")"
}

# ---- syntax, sources, masking ----
{
	echo "# coturn-style configuration"                  # 1
	echo "   # an indented comment"                      # 2
	printf 'listening-port\t=\t"4444"\n'                 # 3
	echo "#tls-listening-port=1"                         # 4
	echo "realm=ex#ample.org"                            # 5
	echo "cipher-list \"HIGH:!aNULL\""                   # 6
	echo "min-port=40000"                                # 7
	echo "max-port 40999"                                # 8
	echo "static-auth-secret=$SECRET"                    # 9
	echo "user=alice:$PASS"                              # 10
	echo "cli-password=$CLIPASS"                         # 11
	echo "pkey-pwd $PKEYPWD"                             # 12
	echo "listening-ip=127.0.0.1"                        # 13
	echo "listening-ip=127.0.0.2"                        # 14
	echo "cert=$CERT"                                    # 15
	echo "pkey=$KEY"                                     # 16
	echo "fingerprint"                                   # 17
	echo "no-tlsv1"                                      # 18
} >"$CONF"

check -c "$CONF" --max-port=41999 --relay-threads 3
tap_is "--check-config exits 0 for a valid file" "$?" "$(cat "$T/err")"
has "file value with tabs, '=' and quotes, with its FILE:LINE" \
	"^listening-port = 4444  # $CONF:3\$"
has "a commented-out line is not read; the default is shown as such" \
	'^tls-listening-port = 5349  # default$'
has "'#' inside a value is data" "^realm = ex#ample.org  # $CONF:5\$"
has "a quoted value with spaces separated from the name" "^cipher-list = HIGH:!aNULL  # $CONF:6\$"
has "the command line overrides the file" '^max-port = 41999  # command line$'
has "  ... and the file's other values stay" "^min-port = 40000  # $CONF:7\$"
has "a command-line-only value" '^relay-threads = 3  # command line$'
has "a repeated option accumulates (its last line named)" \
	"^listening-ip = 127.0.0.1, 127.0.0.2  # $CONF:14\$"
has "the REST secret is masked" "^static-auth-secret = \*+  # $CONF:9\$"
has "a user's password is masked, the name kept" "^user = alice:\*+  # $CONF:10\$"
has "an unimplemented option is listed as ignored, its secret masked" \
	"^cli-password = \*+  # $CONF:11, not implemented: ignored\$"
has "use-auth-secret shown as implied" '^use-auth-secret = on  # default \(implied by static-auth-secret\)$'
has "a no-op coturn option is listed as accepted" "^no-tlsv1  # $CONF:18, accepted"
has "TLS listeners on: the certificate and key loaded" '^# TLS listeners: on$'
! grep -qF -e "$SECRET" -e "$PASS" -e "$CLIPASS" -e "$PKEYPWD" "$T/out" "$T/err"
tap_is "no secret on stdout or stderr" "$?"
grep -q "$CONF:11: cli-password is not implemented yet; ignored" "$T/err"
tap_is "the unimplemented option warns on stderr with FILE:LINE" "$?" "$(cat "$T/err")"
[ -z "$(ss -Hlnut "sport = :4444" 2>/dev/null)" ]
tap_is "nothing bound on the file's port" "$?"

# ---- errors: FILE:LINE: option: reason, exit 1 ----
printf 'realm=example.org\n\nmin-port=4x\n' >"$T/bad.conf"
check -c "$T/bad.conf"
rc=$?
[ "$rc" -eq 1 ] && grep -qx "turnpiked: $T/bad.conf:3: min-port: '4x' is not a number" "$T/err"
tap_is "a bad value: exit 1 and FILE:LINE: option: reason" "$?" "exit $rc" "$(cat "$T/err")"
[ ! -s "$T/out" ]
tap_is "  ... and no configuration printed" "$?"
printf 'no-udp=perhaps\n' >"$T/bad.conf"
check -c "$T/bad.conf"
rc=$?
[ "$rc" -eq 1 ] && grep -q "$T/bad.conf:1: no-udp: 'perhaps' is not a yes or no value" "$T/err"
tap_is "a flag value coturn would refuse too: exit 1 with FILE:LINE" "$?" "exit $rc" \
	"$(cat "$T/err")"
check -n --listening-port=0
rc=$?
[ "$rc" -eq 1 ] && grep -q "command line: listening-port: 0 is out of range" "$T/err"
tap_is "a bad value on the command line: exit 1, named" "$?" "exit $rc" "$(cat "$T/err")"
printf 'cert=%s\npkey=%s\n' "$T/missing.pem" "$KEY" >"$T/bad.conf"
check -c "$T/bad.conf"
rc=$?
[ "$rc" -eq 1 ] && grep -q "missing.pem" "$T/err"
tap_is "a certificate that does not load: exit 1, the file named" "$?" "exit $rc" \
	"$(cat "$T/err")"

# ---- coturn's search path: no -c ----
mkdir -p "$T/run/etc" "$T/run/coturn"
printf 'realm=from-dot-etc\nno-tls\n' >"$T/run/etc/turnserver.conf"
printf 'realm=from-coturn-dir\nno-tls\n' >"$T/run/coturn/turnserver.conf"
(cd "$T/run" && check)
tap_is "no -c: --check-config exits 0" "$?" "$(cat "$T/err")"
has "turnserver.conf in ./coturn/ comes before ./etc/, as in coturn" \
	'^realm = from-coturn-dir  # \./coturn/turnserver\.conf:1$'
printf 'realm=from-turnpike-conf\nno-tls\n' >"$T/run/turnpike.conf"
(cd "$T/run" && check)
has "turnpike.conf in . comes before any turnserver.conf" \
	'^realm = from-turnpike-conf  # \./turnpike\.conf:1$'
rm "$T/run/turnpike.conf" "$T/run/coturn/turnserver.conf"
mv "$T/run/etc/turnserver.conf" "$T/run/etc/custom.conf"
(cd "$T/run" && check -c custom.conf)
has "a relative -c name is looked for in coturn's directories" \
	'^realm = from-dot-etc  # \./etc/custom\.conf:1$'

# ---- deprecated no-loopback-peers: warns, names the replacement, refuses loopback ----
pick_relay_range
# shellcheck disable=SC2317 # called through TP_PREPARE
write_deprecated() {
	{
		echo "listening-ip=127.0.0.1"
		echo "listening-port=$PORT"
		echo "no-tls"
		echo "min-port=$RELAY_MIN"
		echo "max-port=$RELAY_MAX"
		echo "lt-cred-mech"
		echo "user=$TURN_USER:$TURN_PASS"
		echo "realm=$TURN_REALM"
		echo "no-loopback-peers"
		echo "log-file=stdout"
		echo "relay-threads=1"
	} >"$T/deprecated.conf"
}
PORT=3478 write_deprecated
check -c "$T/deprecated.conf"
tap_is "no-loopback-peers: --check-config exits 0" "$?" "$(cat "$T/err")"
grep -q "$T/deprecated.conf:9: no-loopback-peers is deprecated; replaced by allow-loopback-peers=no" \
	"$T/err"
tap_is "no-loopback-peers warns with FILE:LINE and names allow-loopback-peers" "$?" \
	"$(cat "$T/err")"
has "  ... and is shown applied as allow-loopback-peers=no" \
	"^allow-loopback-peers = off  # $T/deprecated.conf:9\$"

TP_PREPARE=write_deprecated
start_turnpiked_or_bail -c "$T/deprecated.conf"
grep -q "no-loopback-peers is deprecated; replaced by allow-loopback-peers" "$TURNPIKED_LOG"
tap_is "the running daemon logs the deprecation warning" "$?"
bench turn --user "$TURN_USER" --password "$TURN_PASS" --permission 127.0.0.1=403 \
	--permission 8.8.8.8 "127.0.0.1:$PORT" >"$T/deny" 2>&1
tap_is "with no-loopback-peers a loopback peer gets 403, a public one is allowed" "$?" \
	"$(cat "$T/deny")"
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

# The control: the same file with --allow-loopback-peers on the command line.
start_turnpiked_or_bail -c "$T/deprecated.conf" --allow-loopback-peers
bench turn --user "$TURN_USER" --password "$TURN_PASS" --permission 127.0.0.1 \
	"127.0.0.1:$PORT" >"$T/allow" 2>&1
tap_is "control: --allow-loopback-peers on the command line wins, the loopback peer is allowed" \
	"$?" "$(cat "$T/allow")"
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

tap_done
