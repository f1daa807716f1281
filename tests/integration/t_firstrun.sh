#!/usr/bin/env bash
# The first run: a port in use stops turnpiked with a message that names the
# process holding it (pid and name, found through /proc) and the option that
# picks another port; scripts/run prints its banner and iceServers only once
# turnpiked serves, with the ports, relay range and address it was started
# with, and prints no banner when a port is taken; SIGTERM to scripts/run stops
# turnpiked too.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/turnlib.sh"

require_binaries
RUN=$TOP_SRCDIR/scripts/run
command -v openssl >/dev/null 2>&1 || tap_skip_all "openssl not installed"

# hold PROTO PORT: a python3 process holding 127.0.0.1:PORT (UDP, or TCP
# listening); sets HOLDER.
hold() {
	python3 -c '
import socket, sys, time
udp = sys.argv[1] == "udp"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
s.bind(("127.0.0.1", int(sys.argv[2])))
if not udp:
    s.listen(1)
time.sleep(120)' "$1" "$2" &
	HOLDER=$!
	track_pid "$HOLDER"
}

# shellcheck disable=SC2317 # called through wait_until
tcp_listening() { [ -n "$(ss -Hlnt "sport = :$1" 2>/dev/null)" ]; }

# ---- the message of a port in use ----

pick_port
P=$PICKED
hold udp "$P"
UDP_HOLDER=$HOLDER
wait_until 10 udp_listening "$P" || bail_out "the UDP holder did not bind"
timeout 20 "$TURNPIKED" -n --listening-ip 127.0.0.1 --listening-port "$P" --no-tls \
	--log-file stderr >"$T/udp.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -qF "cannot bind UDP 127.0.0.1:$P: Address already in use (process $HOLDER, python3, holds port $P" "$T/udp.out"
tap_is "a UDP port in use: the error names the process holding it (pid and name)" "$?" \
	"status $rc" "$(cat "$T/udp.out")"
grep -qF "listening-port=PORT in the configuration or --listening-port PORT" "$T/udp.out"
tap_is "... and how to choose another port (listening-port)" "$?" "$(cat "$T/udp.out")"

pick_port
P2=$PICKED
pick_port
P3=$PICKED
make_cert
hold tcp "$P3"
wait_until 10 tcp_listening "$P3" || bail_out "the TCP holder did not listen"
timeout 20 "$TURNPIKED" -n --listening-ip 127.0.0.1 --listening-port "$P2" \
	--tls-listening-port "$P3" --cert "$CERT" --pkey "$KEY" --log-file stderr >"$T/tls.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -qF "cannot bind TLS 127.0.0.1:$P3: Address already in use (process $HOLDER, python3" "$T/tls.out" &&
	grep -qF "tls-listening-port=PORT" "$T/tls.out"
tap_is "a TLS port in use: the holder and tls-listening-port are named" "$?" "status $rc" \
	"$(cat "$T/tls.out")"

# ---- scripts/run ----

export TURNPIKE_BUILDDIR=$TOP_BUILDDIR TURNPIKE_HOME=$T/run

# A port taken: the error, no banner.
timeout 60 "$RUN" --listening-ip 127.0.0.1 --listening-port "$P" --tls-listening-port "$P2" \
	>"$T/run-busy.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ! grep -qE 'is ready|iceServers' "$T/run-busy.out" &&
	grep -qF "(process $UDP_HOLDER, python3, holds port $P" "$T/run-busy.out"
tap_is "scripts/run with a port in use: no banner, no iceServers, the holder is named" "$?" \
	"status $rc" "$(tail -n 8 "$T/run-busy.out")"

# Other ports than the defaults: the banner shows those turnpiked runs with.
pick_port
RP=$PICKED
pick_port
RTLS=$PICKED
pick_relay_range
"$RUN" --listening-ip 127.0.0.1 --listening-port "$RP" --tls-listening-port "$RTLS" \
	--min-port "$RELAY_MIN" --max-port "$RELAY_MAX" >"$T/run.out" 2>&1 &
RUNPID=$!
track_pid "$RUNPID"
wait_until 60 grep -q '^turnpiked is ready' "$T/run.out"
tap_is "scripts/run prints its banner" "$?" "$(tail -n 20 "$T/run.out")"
ready=$(grep -n 'info: turnpiked ready' "$T/run.out" | head -n 1 | cut -d: -f1)
banner=$(grep -n '^turnpiked is ready' "$T/run.out" | head -n 1 | cut -d: -f1)
[ -n "$ready" ] && [ -n "$banner" ] && [ "$ready" -lt "$banner" ]
tap_is "the banner comes after turnpiked logged that it is ready" "$?" \
	"ready line $ready, banner line $banner"
timeout 10 "$TURNPIKE_BENCH" probe --timeout 300 --max-sends 3 "127.0.0.1:$RP" >"$T/probe.out" 2>&1
tap_is "STUN answers on the port the banner shows" "$?" "$(cat "$T/probe.out")"
grep -qF "STUN and TURN (UDP and TCP)  port $RP" "$T/run.out" &&
	grep -qF "TURN over TLS                port $RTLS " "$T/run.out" &&
	grep -qF "relay ports                  $RELAY_MIN-$RELAY_MAX (UDP)" "$T/run.out"
tap_is "the banner shows the ports and relay range passed ($RP, $RTLS, $RELAY_MIN-$RELAY_MAX)" \
	"$?" "$(sed -n '/^turnpiked is ready/,/control socket/p' "$T/run.out")"
grep -qF "{ urls: 'stun:127.0.0.1:$RP' }" "$T/run.out" &&
	grep -qF "'turn:127.0.0.1:$RP?transport=udp', 'turn:127.0.0.1:$RP?transport=tcp'" "$T/run.out" &&
	grep -qF "urls: 'turns:127.0.0.1:$RTLS'" "$T/run.out" && ! grep -qE ':(3478|5349)([^0-9]|$)|49152-65535' "$T/run.out"
tap_is "the iceServers use the listening address and those ports, not the defaults" "$?" \
	"$(sed -n '/iceServers/,/] })/p' "$T/run.out")"
password=$(sed -n 's/^user=demo://p' "$T/run/turnpike.conf")
timeout 30 "$TURNPIKE_BENCH" turn --user demo --password "$password" "127.0.0.1:$RP" \
	>"$T/turn.out" 2>&1 && grep -q "^allocate ok relayed=127\.0\.0\.1:" "$T/turn.out"
tap_is "the demo user of the banner allocates a relay" "$?" "$(cat "$T/turn.out")"
server=$(sed -n 's/^turnpiked is ready (pid \([0-9]*\)).*/\1/p' "$T/run.out")
kill -TERM "$RUNPID"
wait_exit "$RUNPID" 20
! proc_alive "${server:-0}"
tap_is "SIGTERM to scripts/run stops turnpiked (pid $server)" "$?"

tap_done
