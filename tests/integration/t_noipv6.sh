#!/usr/bin/env bash
# A kernel without IPv6 (booted with ipv6.disable=1: socket(AF_INET6) fails with
# EAFNOSUPPORT), emulated for turnpiked alone by a seccomp filter (noipv6.py,
# what systemd's RestrictAddressFamilies=~AF_INET6 does): the default
# listening-ip [::] is skipped with a warning and the server answers on IPv4;
# an explicit --listening-ip :: still stops startup, naming the address.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/turnlib.sh"

require_binaries
command -v python3 >/dev/null 2>&1 || tap_skip_all "python3 is not installed"
NOIPV6=$TOP_SRCDIR/tests/integration/noipv6.py
python3 "$NOIPV6" true
case $? in
0) ;;
77) tap_skip_all "the seccomp filter is written for x86-64" ;;
*) tap_skip_all "cannot install a seccomp filter here" ;;
esac
if python3 "$NOIPV6" python3 -c 'import socket; socket.socket(socket.AF_INET6)' 2>/dev/null; then
	bail_out "the filter does not refuse AF_INET6 sockets"
fi

REAL=$TURNPIKED
TURNPIKED=$T/turnpiked-noipv6
printf '#!/bin/sh\nexec python3 "%s" "%s" "$@"\n' "$NOIPV6" "$REAL" >"$TURNPIKED"
chmod +x "$TURNPIKED"

start_turnpiked_or_bail -n --listening-port @PORT@ --no-tls --log-file stdout \
	--relay-threads 1 --lt-cred-mech --user "$TURN_USER:$TURN_PASS" --realm "$TURN_REALM" \
	--allow-loopback-peers --min-port 40000 --max-port 40100
grep -q "this kernel has no IPv6 .*the default \[::\] listener is skipped" "$TURNPIKED_LOG"
tap_is "default listening-ip without IPv6: a warning, not a stop" "$?" "$(head -n 5 "$TURNPIKED_LOG")"
grep -q "listening on UDP 0.0.0.0:$PORT\$" "$TURNPIKED_LOG"
tap_is "... it listens on 0.0.0.0 alone" "$?" "$(grep listening "$TURNPIKED_LOG")"
turn_wait_stun 127.0.0.1 "$PORT"
tap_is "... and answers STUN over UDP and TCP on 127.0.0.1" "$?"
out=$(bench turn --user "$TURN_USER" --password "$TURN_PASS" --permission 127.0.0.1 \
	"127.0.0.1:$PORT" 2>&1)
tap_is "... and allocates" "$?" "$out"
stop_turnpiked
tap_is "it stops cleanly" "$?" "status $TURNPIKED_STATUS"

pick_port
timeout 20 "$TURNPIKED" -n --listening-ip :: --listening-port "$PICKED" --no-tls \
	--relay-threads 1 --log-file "$T/fail.log" >"$T/fail.out" 2>"$T/fail.err"
rc=$?
[ "$rc" -eq 1 ] && grep -qF "[::]:$PICKED: Address family not supported" "$T/fail.err"
tap_is "an explicit listening-ip :: without IPv6 stops startup, naming it" "$?" \
	"exit status $rc" "$(cat "$T/fail.err")"
tap_done
