#!/usr/bin/env bash
# Symmetric NAT end to end. Two ICE agents (aioice) sit in their own network
# namespaces, each behind a router namespace doing symmetric NAT (nft
# "masquerade random": a new random port per destination; no unsolicited
# inbound forwarding). The server lives in a "public" namespace on
# 198.18.0.1 (RFC 2544 benchmark range) that routes between the two routers;
# anything else it sends (to the agents' private host candidates) disappears
# into a sink namespace that does not forward, as it would on the internet,
# rather than failing with "network unreachable" (after which coturn stops
# relaying on that socket).
# With the server as STUN only the agents learn their reflexive addresses but
# cannot connect; with the server as TURN they connect through its relay and
# exchange a payload. Every address used exists only inside these namespaces,
# which are deleted at exit (also on failure or interrupt).
#
#   cli1 10.0.1.2 -- 10.0.1.1 nat1 198.18.1.2 --+
#                                                198.18.1.1/198.18.2.1 pub (server 198.18.0.1)
#   cli2 10.0.2.2 -- 10.0.2.1 nat2 198.18.2.2 --+
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_turn_server
PY=${PY:-/usr/bin/python3}
AGENT=$TOP_SRCDIR/tests/integration/ice_agent.py
if [ "$(id -u)" -ne 0 ]; then
	tap_skip_all "needs root for network namespaces"
fi
for tool in ip nft; do
	command -v "$tool" >/dev/null 2>&1 ||
		tap_skip_all "$tool is not installed (apt-get install iproute2 nftables)"
done
if ! [ -x "$PY" ] || ! timeout 30 "$PY" -c 'import aioice' >/dev/null 2>&1; then
	tap_skip_all "aioice is not importable by $PY (apt-get install python3-aioice)"
fi

# Namespace names carry the pid: parallel runs and leftovers never clash.
NS_PREFIX=tpsn$$
NS_PUB=$NS_PREFIX-pub
NS_NAT1=$NS_PREFIX-nat1
NS_NAT2=$NS_PREFIX-nat2
NS_CLI1=$NS_PREFIX-cli1
NS_CLI2=$NS_PREFIX-cli2
NS_SINK=$NS_PREFIX-sink
NS_ALL=("$NS_PUB" "$NS_NAT1" "$NS_NAT2" "$NS_CLI1" "$NS_CLI2" "$NS_SINK")
SERVER_IP=198.18.0.1

at_exit netns_teardown

# nat_rules NS MASQUERADE-FLAGS: (re)loads the router's rules. "random" gives a
# new random source port per destination (symmetric); "" keeps the port. The
# router drops unsolicited packets from outside silently (no conntrack entry is
# confirmed for them, so they cannot take a port a later mapping needs).
nat_rules() {
	nsx "$1" nft -f - <<-EOF
		flush ruleset
		table ip nat {
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "wan" masquerade $2
			}
		}
		table inet filter {
			chain forward {
				type filter hook forward priority filter; policy drop;
				ct state established,related accept
				iifname "lan" oifname "wan" accept
			}
			chain input {
				type filter hook input priority filter; policy drop;
				ct state established,related accept
				iifname { "lo", "lan" } accept
			}
		}
	EOF
}

# nat_router NS WAN-IP WAN-GW LAN-NET: symmetric NAT from lan to wan.
nat_router() {
	local ns=$1 wan=$2 gw=$3 lan=$4
	ip -n "$ns" addr add "$wan/24" dev wan &&
		ip -n "$ns" addr add "$lan.1/24" dev lan &&
		ip -n "$ns" link set wan up && ip -n "$ns" link set lan up &&
		ip -n "$ns" route add default via "$gw" &&
		nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 &&
		nat_rules "$ns" random
}

# client NS LAN-NET: one host behind its router.
client() {
	local ns=$1 lan=$2
	ip -n "$ns" addr add "$lan.2/24" dev eth0 && ip -n "$ns" link set eth0 up &&
		ip -n "$ns" route add default via "$lan.1"
}

netns_setup() {
	local ns
	for ns in "${NS_ALL[@]}"; do
		ip netns add "$ns" || return 1
		ip -n "$ns" link set lo up || return 1
	done
	# veth pairs are created directly inside their namespaces: no names in ours.
	ip link add p1 netns "$NS_PUB" type veth peer name wan netns "$NS_NAT1" &&
		ip link add p2 netns "$NS_PUB" type veth peer name wan netns "$NS_NAT2" &&
		ip link add lan netns "$NS_NAT1" type veth peer name eth0 netns "$NS_CLI1" &&
		ip link add lan netns "$NS_NAT2" type veth peer name eth0 netns "$NS_CLI2" &&
		ip -n "$NS_PUB" addr add "$SERVER_IP/32" dev lo &&
		ip -n "$NS_PUB" addr add 198.18.1.1/24 dev p1 &&
		ip -n "$NS_PUB" addr add 198.18.2.1/24 dev p2 &&
		ip -n "$NS_PUB" link set p1 up && ip -n "$NS_PUB" link set p2 up &&
		ip link add dark netns "$NS_PUB" type veth peer name dark netns "$NS_SINK" &&
		ip -n "$NS_PUB" addr add 198.18.255.1/30 dev dark &&
		ip -n "$NS_SINK" addr add 198.18.255.2/30 dev dark &&
		ip -n "$NS_PUB" link set dark up && ip -n "$NS_SINK" link set dark up &&
		ip -n "$NS_PUB" route add default via 198.18.255.2 &&
		nsx "$NS_PUB" sysctl -qw net.ipv4.ip_forward=1 &&
		nat_router "$NS_NAT1" 198.18.1.2 198.18.1.1 10.0.1 &&
		nat_router "$NS_NAT2" 198.18.2.2 198.18.2.1 10.0.2 &&
		client "$NS_CLI1" 10.0.1 && client "$NS_CLI2" 10.0.2
}

if ! netns_setup >"$T/setup.log" 2>&1; then
	if grep -qiE 'operation not permitted|permission denied' "$T/setup.log"; then
		tap_skip_all "cannot create network namespaces here: $(head -n 1 "$T/setup.log")"
	fi
	bail_out "network namespace setup failed: $(tail -n 3 "$T/setup.log")"
fi
tap_ok "namespaces, veths and symmetric NAT routers set up"

# The server, default peer policy (no loopback or private peers opened): the
# agents' peers are relayed addresses of this same server, on the relay ports.
TURN_NETNS=$NS_PUB
turn_common_args
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip "$SERVER_IP" --relay-ip "$SERVER_IP"

# The routers really translate: the server sees each client as its router's address.
for i in 1 2; do
	timeout 10 ip netns exec "$NS_PREFIX-cli$i" "$TURNPIKE_BENCH" probe --timeout 2000 \
		"$SERVER_IP:$PORT" >"$T/probe$i" 2>&1
	grep -qE "^mapped-address 198\.18\.$i\.2:[0-9]+$" "$T/probe$i"
	tap_is "client $i is seen by the server as its NAT's public address 198.18.$i.2" "$?" \
		"$(cat "$T/probe$i")"
done

# run_agents TAG SECONDS AGENT-ARGS...: both agents at once, candidates through
# files in $T/TAG; sets RC1 and RC2 (exit statuses), output in $T/TAG.{1,2}.
run_agents() {
	local tag=$1 secs=$2 p1 p2
	shift 2
	mkdir -p "$T/$tag"
	timeout $((secs + 30)) ip netns exec "$NS_CLI1" "$PY" "$AGENT" agent --role controlling \
		--dir "$T/$tag" --connect-timeout "$secs" "$@" >"$T/$tag.1" 2>&1 &
	p1=$!
	track_pid "$p1"
	timeout $((secs + 30)) ip netns exec "$NS_CLI2" "$PY" "$AGENT" agent --role controlled \
		--dir "$T/$tag" --connect-timeout "$secs" "$@" >"$T/$tag.2" 2>&1 &
	p2=$!
	track_pid "$p2"
	wait_exit "$p1" $((secs + 40))
	RC1=$TP_EXIT_STATUS
	wait_exit "$p2" $((secs + 40))
	RC2=$TP_EXIT_STATUS
}

start=$SECONDS
run_agents stun 15 --stun "$SERVER_IP:$PORT"
echo "# STUN only: agents ended with status $RC1 and $RC2 in $((SECONDS - start)) s"
grep -qE '^controlling local candidate srflx 198\.18\.1\.2:' "$T/stun.1" &&
	grep -qE '^controlled local candidate srflx 198\.18\.2\.2:' "$T/stun.2"
tap_is "STUN only: both agents learn their NAT's reflexive address" "$?" \
	"$(cat "$T/stun.1" "$T/stun.2")"
[ "$RC1" = 1 ] && [ "$RC2" = 1 ] && ! grep -q ' connected$' "$T/stun.1" "$T/stun.2"
tap_is "STUN only: behind symmetric NATs the agents cannot connect" "$?" \
	"status $RC1 and $RC2 (expected 1 and 1)" "$(cat "$T/stun.1" "$T/stun.2")"

start=$SECONDS
run_agents turn 20 --turn "$SERVER_IP:$PORT" --user "$TURN_USER" --password "$TURN_PASS"
echo "# TURN: agents ended with status $RC1 and $RC2 in $((SECONDS - start)) s"
grep -qE "^controlling local candidate relay $SERVER_IP:" "$T/turn.1" &&
	grep -qE "^controlled local candidate relay $SERVER_IP:" "$T/turn.2"
tap_is "TURN: both agents get a relayed address on $SERVER_IP" "$?" \
	"$(cat "$T/turn.1" "$T/turn.2")"
[ "$RC1" = 0 ] && [ "$RC2" = 0 ] &&
	grep -q '^controlling received [0-9]* bytes intact' "$T/turn.1" &&
	grep -q '^controlled received [0-9]* bytes intact' "$T/turn.2"
tap_is "TURN: the agents connect through the relay and exchange payloads" "$?" \
	"status $RC1 and $RC2 (expected 0 and 0)" "$(cat "$T/turn.1" "$T/turn.2")"
! grep -E ' selected pair ' "$T/turn.1" "$T/turn.2" | grep -vq ' relay -> '
tap_is "TURN: the selected pairs use a relay candidate" "$?" \
	"$(grep -h ' selected pair ' "$T/turn.1" "$T/turn.2")"

# The control that shows the NAT type is what failed: with port-preserving NATs
# (plain masquerade) the same STUN-only agents punch through and connect.
if nat_rules "$NS_NAT1" "" >"$T/nft.log" 2>&1 && nat_rules "$NS_NAT2" "" >>"$T/nft.log" 2>&1; then
	start=$SECONDS
	run_agents cone 15 --stun "$SERVER_IP:$PORT"
	echo "# STUN only, port-preserving NATs: status $RC1 and $RC2 in $((SECONDS - start)) s"
	[ "$RC1" = 0 ] && [ "$RC2" = 0 ]
	tap_is "control: behind port-preserving NATs the STUN-only agents do connect" "$?" \
		"status $RC1 and $RC2 (expected 0 and 0)" "$(cat "$T/cone.1" "$T/cone.2")"
else
	tap_fail "control: reloading the NAT rules" "$(cat "$T/nft.log")"
fi

proc_alive "$TURNPIKED_PID"
tap_is "$TURN_SERVER_IMPL still running" "$?"
turn_stop_check

tap_done
