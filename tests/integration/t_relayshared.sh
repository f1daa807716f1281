#!/usr/bin/env bash
# Relay ports without a socket each (relay-sockets=shared), on loopback in a
# network namespace of the test's own (the sk_lookup program attaches to the
# daemon's namespace): under `ulimit -n 256` the daemon holds 500 UDP
# allocations and its descriptor count stays flat (per-allocation sockets
# cannot: the same run there gets 508s); channel data relays both ways with
# zero loss; a relay port with no allocation answers port unreachable; the
# peer policy holds. Needs root and BPF; says skip otherwise.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
PY=${PY:-/usr/bin/python3}
[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (a network namespace, BPF)"
command -v ip >/dev/null 2>&1 || tap_skip_all "ip is not installed (apt-get install iproute2)"
[ -x "$PY" ] || tap_skip_all "no $PY"

NS=tpsh$$
CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
SOCK=$T/ctl.sock
LIMIT=256
HOLD=500
RELAY_MIN=40000
RELAY_MAX=41999
PROMTEXT=$(dirname "$0")/promtext.py
# shellcheck disable=SC2317 # called through tap_run
ctl() { timeout 10 "$CTL" --control-socket "$SOCK" "$@"; }
NS_ALL=("$NS")
at_exit netns_teardown
# The relay range is kept from the kernel's ephemeral ports (as the README asks).
if ! { ip netns add "$NS" && ip -n "$NS" link set lo up &&
	nsx "$NS" sysctl -qw net.ipv4.ip_local_reserved_ports="$RELAY_MIN-$RELAY_MAX"; } \
	>"$T/setup.log" 2>&1; then
	tap_skip_all "cannot create a network namespace here: $(head -n 1 "$T/setup.log")"
fi

# The daemon in the namespace under a descriptor limit it cannot raise.
printf '#!/bin/sh\nulimit -n %d || exit 1\nexec ip netns exec %s "%s" "$@"\n' "$LIMIT" "$NS" \
	"$TURNPIKED" >"$T/limited"
chmod +x "$T/limited"

# start MODE ARGS...: turnpiked with relay-sockets=MODE in the namespace.
start() {
	local mode=$1
	shift
	TURNPIKED=$T/limited start_turnpiked_or_bail -n --listening-ip 127.0.0.1 \
		--listening-port @PORT@ --no-tls --log-file stdout --relay-threads 2 \
		--min-port "$RELAY_MIN" --max-port "$RELAY_MAX" --realm "$TURN_REALM" \
		--lt-cred-mech --user "$TURN_USER:$TURN_PASS" --control-socket "$SOCK" \
		--allow-loopback-peers --denied-peer-ip 127.0.0.3 --unauth-rate-limit 0 \
		--unauth-answer-budget 0 --max-connections-per-ip 0 --relay-sockets "$mode" \
		--prometheus --prometheus-address 127.0.0.1 --prometheus-port @PORT2@ "$@"
}

# unclaimed: turnpike_worker_shared_relay_unclaimed_total, every worker summed.
unclaimed() {
	nsx "$NS" "$PY" "$PROMTEXT" get "http://127.0.0.1:$PORT2/metrics" "$T/rs.prom" >/dev/null &&
		"$PY" "$PROMTEXT" sum "$T/rs.prom" turnpike_worker_shared_relay_unclaimed_total
}
# shellcheck disable=SC2317 # called through wait_until
unclaimed_is() { [ "$(unclaimed)" = "$1" ]; }

# shellcheck disable=SC2317 # called through wait_until
has_summary() {
	grep -q '^ok ' "$1" 2>/dev/null
}

# allocmany COUNT OUTFILE: COUNT allocations held in the background until killed.
allocmany() {
	nsx "$NS" "$PY" "$(dirname "$0")/allocmany.py" 127.0.0.1 "$PORT" "$TURN_USER" "$TURN_PASS" \
		"$TURN_REALM" "$1" 60 >"$2" 2>&1 &
	ALLOCMANY=$!
	track_pid "$ALLOCMANY"
	wait_until 60 has_summary "$2"
}

stop_allocmany() {
	kill -KILL "$ALLOCMANY" 2>/dev/null
	wait "$ALLOCMANY" 2>/dev/null
	forget_pid "$ALLOCMANY"
}

fds() {
	find "/proc/$TURNPIKED_PID/fd" -mindepth 1 -maxdepth 1 | wc -l
}

start shared
if grep -q 'relay sockets per allocation, not shared' "$TURNPIKED_LOG"; then
	tap_skip_all "$(grep -o 'relay sockets per allocation, not shared: .*' "$TURNPIKED_LOG")"
fi
grep -q 'relay sockets shared' "$TURNPIKED_LOG"
tap_is "relay-sockets=shared: the program loads and startup says so" "$?" \
	"$(tail -n 20 "$TURNPIKED_LOG")"
grep -q 'overlap the ephemeral ports' "$TURNPIKED_LOG"
tap_is "no warning about ephemeral ports: the range is reserved" "$((1 - $?))"

# Ports of the range no socket holds (the shared sockets hold one each): port unreachable.
nsx "$NS" "$PY" - "$RELAY_MIN" "$RELAY_MAX" \
	"$(nsx "$NS" ss -Hlnu | awk '{print $4}' | sed 's/.*://' | tr '\n' ,)" >"$T/unreach" 2>&1 <<'PYEOF'
import socket, sys
lo, hi, held = int(sys.argv[1]), int(sys.argv[2]), {int(p) for p in sys.argv[3].split(',') if p}
bad = []
ports = [p for p in range(lo, hi + 1) if p not in held][:20]
for p in ports:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect(("127.0.0.1", p))
    s.send(b"anyone there?")
    try:
        s.recv(100)
        bad.append("%d answered" % p)
    except ConnectionRefusedError:
        pass
    except socket.timeout:
        bad.append("%d: no port unreachable" % p)
print("%d ports checked; %s" % (len(ports), bad or "all unreachable"))
sys.exit(1 if bad or not ports else 0)
PYEOF
tap_is "a relay port without an allocation reaches no socket (port unreachable)" "$?" \
	"$(cat "$T/unreach")"
# The shared sockets' own ports are in the range and held by no allocation: what
# reaches them is dropped and counted.
u0=$(unclaimed)
held=$(nsx "$NS" ss -Hlnu | awk '{print $4}' | sed 's/.*://' |
	awk -v lo="$RELAY_MIN" -v hi="$RELAY_MAX" '$1 >= lo && $1 <= hi')
n=0
for p in $held; do
	for _ in 1 2 3; do
		nsx "$NS" "$PY" -c 'import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", int(sys.argv[1])))' "$p"
		n=$((n + 1))
	done
done
[ "$n" -gt 0 ] && wait_until 10 unclaimed_is $((${u0:-0} + n))
tap_is "/metrics: datagrams to a shared port no allocation holds are counted ($n sent)" "$?" \
	"before ${u0:-none}, now $(unclaimed); ports $held" "$(grep -E '^turnpike_worker_shared' "$T/rs.prom")"

fd0=$(fds)
allocmany "$HOLD" "$T/hold"
grep -qx "ok $HOLD 508 0 other 0" "$T/hold"
tap_is "$HOLD allocations under ulimit -n $LIMIT all succeed" "$?" "$(cat "$T/hold")"
fd1=$(fds)
[ "$fd1" -lt $((fd0 + 10)) ]
tap_is "the daemon's descriptors stay flat ($fd0 before, $fd1 with $HOLD allocations)" "$?"
tap_run "status succeeds" ctl status
grep -qx "allocations $HOLD" "$T/out"
tap_is "status counts the $HOLD allocations" "$?" "$(cat "$T/out")"
nsx "$NS" "$PY" "$PROMTEXT" get "http://127.0.0.1:$PORT2/metrics" "$T/rs.prom" >/dev/null
n=$("$PY" "$PROMTEXT" sum "$T/rs.prom" turnpike_shared_relay_allocations)
tap_is "/metrics: the $HOLD allocations are on the shared sockets" "$([ "$n" = "$HOLD" ]; echo $?)" \
	"turnpike_shared_relay_allocations $n"

nsx "$NS" "$TURNPIKE_BENCH" load --json --drain 3000 --user "$TURN_USER" --password "$TURN_PASS" \
	--allocations 100 --in-flight 20 --rate 400 --duration 2 "127.0.0.1:$PORT" \
	>"$T/load.json" 2>"$T/load.err"
tap_is "turnpike-bench load beside them: exit status 0" "$?" "$(cat "$T/load.err")"
"$PY" - "$T/load.json" >"$T/load.check" 2>&1 <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
c, p = j["client_to_peer"], j["peer_to_client"]
ok = (j["allocations_ok"] == 100 and j["setup_ok"] == 100 and c["offered"] > 0
      and c["delivered"] == c["offered"] and p["offered"] == c["offered"]
      and p["delivered"] == p["offered"] and j["loss"] == 0 and j["deallocated"] == 100)
print(json.dumps({k: j[k] for k in ("allocations_ok", "setup_ok", "loss", "deallocated")}), c, p)
sys.exit(0 if ok else 1)
PYEOF
tap_is "100 more allocations relay channel data both ways with zero loss" "$?" \
	"$(cat "$T/load.check")"

# Datagrams larger than the MTU (the namespace's loopback at 1500 for this
# step): the raw socket cannot fragment, so these go out through a socket bound
# to the relay port, fragmented by the kernel, and arrive whole.
nsx "$NS" ip link set lo mtu 1500
nsx "$NS" "$TURNPIKE_BENCH" load --json --drain 3000 --user "$TURN_USER" --password "$TURN_PASS" \
	--allocations 10 --in-flight 10 --rate 50 --duration 1 --payload 3000 "127.0.0.1:$PORT" \
	>"$T/big.json" 2>"$T/big.err"
rc=$?
nsx "$NS" ip link set lo mtu 65536
[ "$rc" = 0 ] && "$PY" - "$T/big.json" >"$T/big.check" 2>&1 <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
c, p = j["client_to_peer"], j["peer_to_client"]
print(c, p)
sys.exit(0 if c["offered"] > 0 and c["delivered"] == c["offered"] and
         p["delivered"] == p["offered"] == c["offered"] else 1)
PYEOF
tap_is "3000-byte payloads over a 1500-byte MTU relay both ways with zero loss" "$?" \
	"$(cat "$T/big.check" "$T/big.err")"

nsx "$NS" "$TURNPIKE_BENCH" turn --user "$TURN_USER" --password "$TURN_PASS" \
	--permission 127.0.0.3=403 --permission 127.0.0.1 "127.0.0.1:$PORT" >"$T/policy" 2>&1
tap_is "the peer policy holds: a denied peer gets 403, an allowed one a permission" "$?" \
	"$(cat "$T/policy")"
stop_allocmany
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

# The control: a socket per allocation runs out of descriptors under the same limit.
start per-allocation
allocmany "$HOLD" "$T/hold2"
grep -qE "^ok [0-9]+ 508 [1-9][0-9]* other 0$" "$T/hold2"
tap_is "control: relay-sockets=per-allocation answers 508 under the same limit" "$?" \
	"$(cat "$T/hold2")"
stop_allocmany
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

tap_done
