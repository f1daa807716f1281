#!/usr/bin/env bash
# The kernel fast path (fast-path=on) in three network namespaces joined by veth
# pairs, with transmit checksum offload off so the kernel path is a real NIC's:
#
#   cli 10.77.1.2 fd77:1::2 -- 10.77.1.1 fd77:1::1  srv  10.77.2.1 fd77:2::1 -- 10.77.2.2 fd77:2::2 peer
#                                (listening)            (relay)                    (+10.77.2.3, refused)
#
# Channel traffic relays with zero loss over IPv4 and IPv6 while the daemon reads
# no datagram from the peer and only the control messages from the client; the
# metrics count what the peer received; no UDP checksum error at either end; a
# refused peer gets no entry and nothing; entries go with their allocation; and
# ChannelData after the permission ended is not relayed (the daemon drops it);
# a session with max-bps gets no entry and is held to its limit by the daemon.
# Needs root and BPF; says skip otherwise.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
PY=${PY:-/usr/bin/python3}
[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (network namespaces, BPF)"
for tool in ip ethtool bpftool; do
	command -v "$tool" >/dev/null 2>&1 ||
		tap_skip_all "$tool is not installed (apt-get install iproute2 ethtool bpftool)"
done
[ -x "$PY" ] || tap_skip_all "no $PY"

NS=tpfp$$
NS_ALL=("$NS-cli" "$NS-srv" "$NS-peer")
ECHO=$TOP_SRCDIR/tests/integration/udpecho.py
CHAN=$TOP_SRCDIR/tests/integration/fastchan.py
COUNT=2000

at_exit netns_teardown

netns_setup() {
	local ns x
	for ns in "${NS_ALL[@]}"; do
		ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
	done
	ip link add c0 netns "$NS-cli" type veth peer name s0 netns "$NS-srv" &&
		ip link add p0 netns "$NS-peer" type veth peer name s1 netns "$NS-srv" &&
		ip -n "$NS-cli" addr add 10.77.1.2/24 dev c0 &&
		ip -n "$NS-cli" addr add fd77:1::2/64 dev c0 nodad &&
		ip -n "$NS-srv" addr add 10.77.1.1/24 dev s0 &&
		ip -n "$NS-srv" addr add fd77:1::1/64 dev s0 nodad &&
		ip -n "$NS-srv" addr add 10.77.2.1/24 dev s1 &&
		ip -n "$NS-srv" addr add fd77:2::1/64 dev s1 nodad &&
		ip -n "$NS-peer" addr add 10.77.2.2/24 dev p0 &&
		ip -n "$NS-peer" addr add 10.77.2.3/24 dev p0 &&
		ip -n "$NS-peer" addr add fd77:2::2/64 dev p0 nodad || return 1
	for x in cli:c0 srv:s0 srv:s1 peer:p0; do
		ip -n "$NS-${x%%:*}" link set "${x#*:}" up &&
			nsx "$NS-${x%%:*}" ethtool -K "${x#*:}" tx off >/dev/null || return 1
	done
}

if ! netns_setup >"$T/setup.log" 2>&1; then
	if grep -qiE 'operation not permitted|permission denied' "$T/setup.log"; then
		tap_skip_all "cannot create network namespaces here: $(head -n 1 "$T/setup.log")"
	fi
	bail_out "network namespace setup failed: $(tail -n 3 "$T/setup.log")"
fi

# echo_peer NAME ADDR:PORT...: an echo peer in the peer namespace counting into $T/NAME.
echo_peer() {
	local name=$1 pid
	shift
	nsx "$NS-peer" "$PY" "$ECHO" "$T/$name" "$@" >"$T/$name.log" 2>&1 &
	pid=$!
	track_pid "$pid"
	wait_until 10 test -s "$T/$name" || bail_out "echo peer $name did not start: $(cat "$T/$name.log")"
}
echo_peer echo 10.77.2.2:9000 '[fd77:2::2]:9000'
echo_peer refused 10.77.2.3:9000

# start_fast ARGS...: turnpiked in the server namespace with the fast path on;
# skips the whole test when the fast path cannot run here.
start_fast() {
	TURN_NETNS=$NS-srv
	turn_common_args
	if start_turn_server "${TURN_ARGS[@]}" --listening-ip 10.77.1.1 --listening-ip fd77:1::1 \
		--relay-ip 10.77.2.1 --relay-ip fd77:2::1 --allowed-peer-ip 10.77.2.2 \
		--allowed-peer-ip fd77:2::2 --fast-path on --prometheus \
		--prometheus-address 10.77.1.1 --prometheus-port @PORT2@ "$@"; then
		return 0
	fi
	if grep -qE 'fast-path on: (built without|cannot load)' "$TURNPIKED_LOG"; then
		tap_skip_all "$(grep -oE 'fast-path on: .*' "$TURNPIKED_LOG" | head -n 1)"
	fi
	bail_out "turnpiked did not start (logs in $T)"
}

# metric NAME: the sum over the workers of a counter, from a fresh scrape.
metric() {
	nsx "$NS-srv" curl -s --max-time 5 "http://10.77.1.1:$PORT2/metrics" |
		awk -v n="$1" '$1 ~ "^"n"({|$)" { s += $2 } END { printf "%d\n", s }'
}

# peer_count NAME: what echo peer NAME received so far.
peer_count() {
	cat "$T/$1"
}

# tap_eq DESC GOT WANT
tap_eq() {
	[ "$2" = "$3" ]
	tap_is "$1" "$?" "got $2, want $3"
}

# shellcheck disable=SC2317 # called through wait_until
# at_least N CMD...: CMD's output is a number >= N.
at_least() {
	local n=$1
	shift
	[ "$("$@")" -ge "$n" ]
}

# fast_entries: entries in the daemon's fast path maps (the maps its descriptors hold).
fast_entries() {
	local id n=0 ids
	ids=$(grep -h '^map_id:' /proc/"$TURNPIKED_PID"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u)
	[ -n "$ids" ] || {
		echo -1
		return
	}
	for id in $ids; do
		# Only the fast path's own maps (fp_*), not relay-sockets=shared's (skl_*).
		bpftool -j map show id "$id" | grep -q '"name":"fp_' || continue
		n=$((n + $(bpftool -j map dump id "$id" | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))')))
	done
	echo "$n"
}

# udp_csum_errors NS: UDP and UDP6 checksum errors counted in the namespace.
udp_csum_errors() {
	nsx "$1" cat /proc/net/snmp /proc/net/snmp6 |
		awk '/^Udp: / && $8 ~ /^[0-9]+$/ { s += $8 } /^Udp6InCsumErrors/ { s += $2 } END { print s + 0 }'
}

start_fast
grep -q 'fast path on: eBPF programs attached to 2 interfaces' "$TURNPIKED_LOG"
tap_is "fast-path=on loads the programs and attaches them to both veths" "$?" \
	"$(grep -i 'fast path' "$TURNPIKED_LOG")"

# relay_run FAMILY PEER SERVER: COUNT channel payloads through the relay, echoed back.
relay_run() {
	nsx "$NS-cli" timeout 60 "$TURNPIKE_BENCH" turn --family "$1" --user "$TURN_USER" \
		--password "$TURN_PASS" --send "$2" --channel --count "$COUNT" --payload-size 200 \
		"$3" >"$T/relay$1.out" 2>&1
}

total=0
for fam in 4 6; do
	if [ "$fam" = 4 ]; then
		relay_run 4 10.77.2.2:9000 "10.77.1.1:$PORT"
	else
		relay_run 6 '[fd77:2::2]:9000' "[fd77:1::1]:$PORT"
	fi
	rc=$?
	grep -qx "sent $COUNT received $COUNT bad 0" "$T/relay$fam.out"
	ok=$?
	[ "$rc" = 0 ] && [ "$ok" = 0 ]
	tap_is "IPv$fam: $COUNT channel payloads each way, zero loss" "$?" "$(cat "$T/relay$fam.out")"
	total=$((total + COUNT))
	wait_until 10 at_least "$total" peer_count echo
	tap_eq "IPv$fam: the peer received exactly what was sent" "$(peer_count echo)" "$total"
	# The session ended (Refresh 0): its last counts are in.
	tap_eq "IPv$fam: metrics count the peer's packets to peers" \
		"$(metric turnpike_worker_to_peer_packets_total)" "$total"
	tap_eq "IPv$fam: and from the peer to the client" \
		"$(metric turnpike_worker_to_client_packets_total)" "$total"
	tap_eq "IPv$fam: all of them through the kernel fast path" \
		"$(metric turnpike_worker_fastpath_packets_total)" "$((2 * total))"
done
tap_eq "the daemon read no datagram from the peer" \
	"$(metric turnpike_worker_peer_received_packets_total)" 0
udp_in=$(metric turnpike_worker_udp_received_packets_total)
[ "$udp_in" -le 20 ]
tap_is "the daemon read only control messages from the client ($udp_in datagrams)" "$?"
tap_eq "no fast path entry is left once the allocations ended" "$(fast_entries)" 0
tap_eq "no UDP checksum error at the client" "$(udp_csum_errors "$NS-cli")" 0
tap_eq "no UDP checksum error at the peer" "$(udp_csum_errors "$NS-peer")" 0

# A refused peer: ChannelBind answers 403, no entry, nothing arrives.
nsx "$NS-cli" timeout 30 "$TURNPIKE_BENCH" turn --user "$TURN_USER" --password "$TURN_PASS" \
	--send 10.77.2.3:9000 --channel --count 5 "10.77.1.1:$PORT" >"$T/refused.out" 2>&1
grep -qE '^channel 0x[0-9a-f]+ 10\.77\.2\.3:9000 .*403' "$T/refused.out"
tap_is "a peer the policy refuses: ChannelBind gets 403" "$?" "$(cat "$T/refused.out")"
tap_eq "and it received nothing" "$(peer_count refused)" 0
tap_eq "and no fast path entry was made for it" "$(fast_entries)" 0
# A live channel has its four entries (both directions, their counters).
nsx "$NS-cli" timeout 60 "$PY" "$CHAN" 10.77.1.1 "$PORT" "$TURN_USER" "$TURN_PASS" \
	"$TURN_REALM" 10.77.2.2 9000 5 1 >"$T/live.out" 2>&1 &
live=$!
track_pid "$live"
# shellcheck disable=SC2317 # called through wait_until
four_entries() { [ "$(fast_entries)" = 4 ]; }
wait_until 20 four_entries
tap_is "a live channel has its entries in the maps" "$?" "$(fast_entries) entries"
wait_exit "$live" 30
grep -qx 'before 5' "$T/live.out" && grep -qx 'after 5' "$T/live.out"
tap_is "and relays both ways" "$?" "$(cat "$T/live.out")"
stop_turnpiked
tap_eq "turnpiked stops cleanly" "$TURNPIKED_STATUS" 0

# With relay-sockets=shared too: the fast path relays channels as before, and what it
# leaves to the daemon (Send and Data indications) goes through the shared sockets
# and the raw sockets, over IPv4 and IPv6.
start_fast --permission-lifetime 2 --relay-sockets shared
grep -q 'relay sockets shared' "$TURNPIKED_LOG"
tap_is "relay-sockets=shared beside the fast path" "$?" "$(grep -i 'relay sockets' "$TURNPIKED_LOG")"
for fam in 4 6; do
	if [ "$fam" = 4 ]; then peer=10.77.2.2:9000 srv=10.77.1.1; else peer='[fd77:2::2]:9000' srv='[fd77:1::1]'; fi
	nsx "$NS-cli" timeout 60 "$TURNPIKE_BENCH" turn --family "$fam" --user "$TURN_USER" \
		--password "$TURN_PASS" --send "$peer" --count 50 --payload-size 200 \
		"$srv:$PORT" >"$T/shared$fam.out" 2>&1
	grep -qx "sent 50 received 50 bad 0" "$T/shared$fam.out"
	tap_is "IPv$fam: shared relay sockets: 50 Send indications each way, zero loss" "$?" \
		"$(cat "$T/shared$fam.out")"
	relay_run "$fam" "$peer" "$srv:$PORT"
	grep -qx "sent $COUNT received $COUNT bad 0" "$T/relay$fam.out"
	tap_is "IPv$fam: shared relay sockets: $COUNT channel payloads each way, zero loss" "$?" \
		"$(cat "$T/relay$fam.out")"
done
tap_eq "no UDP checksum error at the peer with shared relay sockets" \
	"$(udp_csum_errors "$NS-peer")" 0

# Expiry: with a 2 s permission, ChannelData sent after it ended is not relayed.
before_peer=$(peer_count echo)
nsx "$NS-cli" timeout 60 "$PY" "$CHAN" 10.77.1.1 "$PORT" "$TURN_USER" "$TURN_PASS" \
	"$TURN_REALM" 10.77.2.2 9000 20 3 >"$T/expiry.out" 2>&1
grep -qx 'before 20' "$T/expiry.out"
tap_is "a bound channel relays while its permission lives" "$?" "$(cat "$T/expiry.out")"
grep -qx 'after 0' "$T/expiry.out"
tap_is "nothing is relayed once the permission ended" "$?" "$(cat "$T/expiry.out")"
wait_until 10 at_least 20 metric turnpike_worker_no_permission_drops_total
tap_eq "the daemon saw and dropped those 20 (no permission)" \
	"$(metric turnpike_worker_no_permission_drops_total)" 20
tap_eq "the peer received only the first 20" "$(($(peer_count echo) - before_peer))" 20
stop_turnpiked
tap_eq "turnpiked stops cleanly again" "$TURNPIKED_STATUS" 0

# max-bps is enforced in the daemon: such a session's channels stay off the fast path.
start_fast --max-bps 20000
nsx "$NS-cli" timeout 60 "$PY" "$CHAN" 10.77.1.1 "$PORT" "$TURN_USER" "$TURN_PASS" \
	"$TURN_REALM" 10.77.2.2 9000 5 1 >"$T/bps.out" 2>&1 &
live=$!
track_pid "$live"
wait_until 20 grep -q '^before' "$T/bps.out"
grep -qx 'before 5' "$T/bps.out"
tap_is "max-bps: a bound channel relays (below the limit)" "$?" "$(cat "$T/bps.out")"
tap_eq "and while it lives it has no fast path entry" "$(fast_entries)" 0
wait_exit "$live" 30
# 2000 payloads of 100 bytes a second for a second: ten times the limit.
nsx "$NS-cli" timeout 60 "$TURNPIKE_BENCH" load --json --user "$TURN_USER" \
	--password "$TURN_PASS" --allocations 1 --rate 2000 --duration 1 --payload 100 \
	--peer 10.77.2.2 --peer-netns "$NS-peer" "10.77.1.1:$PORT" >"$T/bps.json" 2>&1
sent=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["client_to_peer"]["offered"])' \
	"$T/bps.json" 2>/dev/null)
got=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["client_to_peer"]["delivered"])' \
	"$T/bps.json" 2>/dev/null)
[ "${sent:-0}" -ge 1000 ] && [ "${got:-0}" -gt 0 ] && [ "$got" -le $((sent / 2)) ]
tap_is "max-bps 20000: a flow at 200000 B/s is held back by the daemon (most dropped)" "$?" \
	"sent ${sent:-?}, the peer got ${got:-?}: $(cat "$T/bps.json")"
dropped=$(metric turnpike_worker_bps_dropped_to_peer_packets_total)
[ "$dropped" -gt 0 ]
tap_is "and the drops are counted ($dropped)" "$?"
tap_eq "no packet took the fast path" "$(metric turnpike_worker_fastpath_packets_total)" 0
stop_turnpiked
tap_eq "turnpiked stops cleanly with max-bps" "$TURNPIKED_STATUS" 0
tap_done
