#!/usr/bin/env bash
# A fleet (fleet-redis): three turnpiked nodes on 127.0.0.1, 127.0.0.2 and
# 127.0.0.3 share one private redis-server and one private PostgreSQL
# credential store (psql-userdb). A user added once with turnpikectl allocates
# on every node, a REST secret rotated once works everywhere (the old one is
# refused everywhere); turnpikectl fleet status lists them; a fleet-wide user-quota 2 refuses (486) a third allocation made on
# another node; turnpikectl kill --user ends the user's allocations on every
# node; a drained node sends coturn's turnutils_uclient (300 Try Alternate) to
# the least-loaded live node, which relays with zero loss; a node killed with
# SIGKILL drops out of the status within its heartbeat TTL; Redis stopped
# mid-run: no crash, quotas per node and a log line; Redis back: recovered.
# Prints how long a store change and the kill took to reach every node and the
# dead node to drop out. Without PostgreSQL the users are options of each node
# and the shared-store checks are skipped.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/engines.sh"

require_binaries
REDIS=${REDIS_SERVER:-$(command -v redis-server)}
UCLIENT=${UCLIENT:-$(command -v turnutils_uclient)}
UPEER=${UPEER:-$(command -v turnutils_peer)}
[ -n "$REDIS" ] || tap_skip_all "redis-server not installed (apt-get install redis-server)"
if [ -z "$UCLIENT" ] || [ -z "$UPEER" ]; then
	tap_skip_all "turnutils_uclient/turnutils_peer not installed (apt-get install coturn)"
fi
CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
TTL=3

# ---- Redis ----
pick_port
REDIS_PORT=$PICKED
CONN="ip=127.0.0.1 port=$REDIS_PORT dbname=2 connect_timeout=2"
REDIS_PID=
redis_start() {
	"$REDIS" --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T" --save '' --appendonly no \
		>>"$T/redis.log" 2>&1 &
	REDIS_PID=$!
	track_pid "$REDIS_PID"
	wait_until 10 fleet status >/dev/null 2>&1 || bail_out "redis-server did not start: $(tail -n 5 "$T/redis.log")"
}
redis_stop() {
	kill "$REDIS_PID" 2>/dev/null
	wait_exit "$REDIS_PID" 10
}

fleet() { timeout 10 "$CTL" --fleet-redis "$CONN" fleet "$@"; }

# field NODE KEY: a value of NODE's line in fleet status ("" when it is not listed).
field() {
	fleet status 2>/dev/null | awk -v n="$1" -v k="$2" \
		'$1 == "node" && $2 == n { for (i = 3; i < NF; i += 2) if ($i == k) print $(i + 1) }'
}
# shellcheck disable=SC2317 # called through wait_until
nodes_are() { [ "$(fleet status 2>/dev/null | awk '$1 == "nodes" { print $2 }')" = "$1" ]; }
# shellcheck disable=SC2317
draining_is() { [ "$(field "$1" draining)" = "$2" ]; }
# shellcheck disable=SC2317
allocs_are() { [ "$(field "$1" allocations)" = "$2" ]; }
# seen NODE BY: BY beat (and so read the fleet) after NODE's last beat.
# shellcheck disable=SC2317
seen() {
	local a b
	a=$(field "$1" updated-ms)
	b=$(field "$2" updated-ms)
	[ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ]
}

# ---- the shared credential store ----
ctl() { "$CTL" --psql-userdb "$PG_CONN" "$@"; }
USERS=()
if "$CTL" --version 2>/dev/null | grep -q postgresql && pg_find; then
	pg_start
	for u in u1 u2 u3 u4 u5; do
		ctl user add "$u" --realm "$TURN_REALM" --password "pw-$u" >/dev/null ||
			bail_out "turnpikectl user add $u failed"
	done
	ctl secret add fleet-secret-1 --realm "$TURN_REALM" >/dev/null || bail_out "secret add failed"
	USERS=(--psql-userdb "$PG_CONN" --use-auth-secret)
else
	PG_CONN=
	for u in u1 u2 u3 u4 u5; do
		USERS+=(--user "$u:pw-$u")
	done
fi

# ---- the nodes ----
redis_start
turn_common_args
declare -A NODE_PID NODE_PORT NODE_LOG
node_start() {
	local name=$1 ip=$2
	start_turn_server_or_bail "${TURN_ARGS[@]}" "${USERS[@]}" "${@:3}" --listening-ip "$ip" \
		--relay-ip "$ip" --no-tls --allow-loopback-peers --relay-threads 2 \
		--user-quota 2 --control-socket "$T/$name.sock" --fleet-redis "$CONN" \
		--fleet-node-name "$name" --fleet-heartbeat-ttl "$TTL"
	NODE_PID[$name]=$TURNPIKED_PID
	NODE_PORT[$name]=$PORT
	NODE_LOG[$name]=$TURNPIKED_LOG
}
node_start a 127.0.0.1 --redis-statsdb "$CONN"
node_start b 127.0.0.2
node_start c 127.0.0.3

wait_until 10 nodes_are 3
tap_is "fleet status lists the 3 nodes" "$?" "$(fleet status 2>&1)"
fleet status --json >"$T/status.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if sorted(n["name"] for n in d["nodes"]) == ["a","b","c"] and d["nodes"][0]["addr"].startswith("127.0.0.") else 1)' "$T/status.json"
tap_is "fleet status --json is JSON naming a, b and c with their addresses" "$?" "$(cat "$T/status.json")"

# hold NODE USER: an allocation held 40 s (TCP) in the background; waits until it exists.
HOLDS=()
hold() {
	local f=$T/hold.$1.$2.$RANDOM
	"$TURNPIKE_BENCH" turn --transport tcp --timeout 3000 --user "$2" --password "pw-$2" \
		--refresh-after 40000 "$(node_ip "$1"):${NODE_PORT[$1]}" >"$f" 2>&1 &
	track_pid "$!"
	HOLDS+=("$!")
	wait_until 10 grep -qs '^allocate ok' "$f" || bail_out "no allocation to hold on $1: $(cat "$f")"
}
node_ip() { case $1 in a) echo 127.0.0.1 ;; b) echo 127.0.0.2 ;; c) echo 127.0.0.3 ;; esac }
# alloc NODE USER CODE: one allocation (deallocated again) answered CODE (0: success).
alloc() {
	bench turn --transport tcp --timeout 3000 --user "$2" --password "pw-$2" \
		--expect-allocate "$3" "$(node_ip "$1"):${NODE_PORT[$1]}" >"$T/out" 2>&1
}

# rest_pw SECRET USER: the TURN REST API password of USER (HMAC-SHA1, base64).
rest_pw() { printf '%s' "$2" | openssl dgst -sha1 -hmac "$1" -binary | base64; }
# alloc_as NODE USER PASSWORD: prints ok, 401 or what else the node answered.
alloc_as() {
	local out
	out=$(bench turn --timeout 3000 --user "$2" --password "$3" \
		"$(node_ip "$1"):${NODE_PORT[$1]}" 2>&1)
	case $out in
	*"allocate ok"*) echo ok ;;
	*"allocate error 401"*) echo 401 ;;
	*) echo "other: $out" ;;
	esac
}
# shellcheck disable=SC2317 # called through wait_until
all_are() {
	local want=$1 n
	shift
	for n in a b c; do
		[ "$(alloc_as "$n" "$@")" = "$want" ] || return 1
	done
}
now_ms() { date +%s%3N; }
# spread T0 WANT USER PASSWORD: waits (bounded) until every node answers WANT,
# asking only the nodes that did not yet; prints the ms from T0 to the last one.
spread() {
	local t0=$1 want=$2 n left=(a b c) next i
	for i in $(seq 1 100); do
		next=()
		for n in "${left[@]}"; do
			[ "$(alloc_as "$n" "$3" "$4")" = "$want" ] || next+=("$n")
		done
		left=("${next[@]}")
		[ "${#left[@]}" = 0 ] && break
		[ "$i" = 100 ] || sleep 0.02
	done
	echo "$(($(now_ms) - t0))"
	[ "${#left[@]}" = 0 ]
}
per_node() { for n in a b c; do echo "$n: $(alloc_as $n "$@")"; done; }

# ---- one shared PostgreSQL store ----
if [ -n "$PG_CONN" ]; then
	wait_until 10 all_are ok u1 pw-u1
	tap_is "users added once with turnpikectl --psql-userdb allocate on the 3 nodes" "$?" \
		"$(per_node u1 pw-u1)"
	T0=$(now_ms)
	ctl user add u6 --realm "$TURN_REALM" --password pw-u6 >/dev/null
	MS=$(spread "$T0" ok u6 pw-u6)
	tap_is "a user added while they run allocates on every node" "$?" "$(per_node u6 pw-u6)"
	echo "# figure: a user added with turnpikectl allocated on all 3 nodes ${MS} ms after turnpikectl started"
	REST_USER="$(($(date +%s) + 3600)):restuser"
	OLD_PW=$(rest_pw fleet-secret-1 "$REST_USER")
	NEW_PW=$(rest_pw fleet-secret-2 "$REST_USER")
	wait_until 10 all_are ok "$REST_USER" "$OLD_PW"
	tap_is "a REST secret of the store works on the 3 nodes" "$?" "$(per_node "$REST_USER" "$OLD_PW")"
	T0=$(now_ms)
	ctl secret add fleet-secret-2 --realm "$TURN_REALM" >/dev/null &&
		ctl secret delete fleet-secret-1 --realm "$TURN_REALM" >/dev/null
	tap_is "turnpikectl rotates the secret once (adds the new one, deletes the old one)" "$?"
	MS=$(spread "$T0" 401 "$REST_USER" "$OLD_PW")
	tap_is "the old secret is refused (401) on every node" "$?" "$(per_node "$REST_USER" "$OLD_PW")"
	echo "# figure: the rotated secret was refused on all 3 nodes ${MS} ms after turnpikectl started"
	all_are ok "$REST_USER" "$NEW_PW"
	tap_is "the new secret works on every node" "$?" "$(per_node "$REST_USER" "$NEW_PW")"
else
	tap_skip "the shared PostgreSQL store" "PostgreSQL or turnpike's libpq support is missing"
fi

# ---- redis-statsdb (node a): coturn's allocation status keys and events ----
start_udp_peer
REDIS_CLI=$(command -v redis-cli)
if [ -n "$REDIS_CLI" ]; then
	rcli() { timeout 5 "$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" -n 2 "$@"; }
	timeout 60 "$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" psubscribe \
		'turn/realm/*/user/*/allocation/*' >"$T/events" 2>&1 &
	track_pid "$!"
	wait_until 5 grep -q psubscribe "$T/events"
	bench turn --user u5 --password pw-u5 --refresh-after 30000 --send "127.0.0.1:$PEER_PORT" \
		--count 5 "127.0.0.1:${NODE_PORT[a]}" >"$T/stat.out" 2>&1 &
	STAT_PID=$!
	track_pid "$STAT_PID"
	# shellcheck disable=SC2317 # called through wait_until
	status_key() { rcli --scan --pattern "turn/realm/$TURN_REALM/user/u5/allocation/*/status"; }
	wait_until 10 test -n "$(status_key)"
	KEY=$(status_key)
	VAL=$(rcli get "$KEY")
	KTTL=$(rcli ttl "$KEY")
	[ -n "$KEY" ] && [ "${VAL% lifetime=*}" = new ] && [ "$KTTL" -gt 0 ] && [ "$KTTL" -le 600 ]
	tap_is "redis-statsdb: redis-cli sees the live allocation's status key (new, expiring)" "$?" \
		"key $KEY = $VAL, ttl $KTTL"
	bench_refresh_now "$STAT_PID"
	tap_is "... the client refreshes, relays 5 datagrams and deallocates" "$?" "$(cat "$T/stat.out")"
	wait_until 5 test -z "$(status_key)"
	tap_is "... the status key is gone once the allocation ended" "$?" "$(status_key)"
	# shellcheck disable=SC2317 # called through wait_until
	events_in() { grep -q deleted "$T/events" && grep -q 'rcvp=5, rcvb=' "$T/events"; }
	wait_until 5 events_in
	tap_is "... a subscriber got its status (new, deleted) and traffic (rcvp=5) events" "$?" \
		"$(tr '\n' ' ' <"$T/events")"
	grep -q "allocation/[0-9]\{18\}/total_traffic" "$T/events" &&
		grep -q "sentp=5, sentb=" "$T/events"
	tap_is "... total_traffic with coturn's 18-digit id, 5 datagrams back from the peer" "$?"
else
	tap_skip "redis-statsdb" "redis-cli is not installed"
fi

# ---- fleet-wide user-quota ----
hold a u1
hold a u1
wait_until 10 allocs_are a 2 && wait_until 10 seen a b
tap_is "node a's two allocations of u1 are in the fleet status" "$?" "$(fleet status 2>&1)"
alloc b u1 486
tap_is "user-quota 2 counts the fleet: a third allocation of u1 on node b gets 486" "$?" \
	"$(cat "$T/out")"
alloc b u2 0
tap_is "another user allocates on node b" "$?" "$(cat "$T/out")"

# ---- fleet-wide kill (user-quota 2: u2 holds one allocation on a and one on b) ----
hold a u2
hold b u2
# shellcheck disable=SC2317 # called through wait_until
killed_everywhere() {
	grep -q 'fleet: kill --user u2: killed 1 sessions' "${NODE_LOG[a]}" &&
		grep -q 'fleet: kill --user u2: killed 1 sessions' "${NODE_LOG[b]}" &&
		grep -q 'fleet: kill --user u2: killed 0 sessions' "${NODE_LOG[c]}"
}
T0=$(date +%s%3N)
timeout 10 "$CTL" --fleet-redis "$CONN" kill --user u2 >"$T/out" 2>&1
tap_is "turnpikectl --fleet-redis kill --user u2 reaches the 3 nodes" "$?" "$(cat "$T/out")"
grep -q 'kill sent to 3 nodes' "$T/out"
tap_is "it says 3 nodes heard it" "$?" "$(cat "$T/out")"
wait_until 10 killed_everywhere
tap_is "a and b ended their allocation of u2 (the control socket's kill), c had none" "$?" \
	"$(grep -h 'fleet: kill' "${NODE_LOG[@]}")"
LAST=0
for n in a b c; do
	ts=$(grep -h 'fleet: kill --user u2' "${NODE_LOG[$n]}" | head -n 1 | cut -d' ' -f1)
	ms=$(date -d "$ts" +%s%3N 2>/dev/null || echo 0)
	[ "$ms" -gt "$LAST" ] && LAST=$ms
done
echo "# figure: kill --user reached all 3 nodes $((LAST - T0)) ms after turnpikectl started"
[ $((LAST - T0)) -lt 2000 ]
tap_is "the kill reached every node within 2 s" "$?" "$((LAST - T0)) ms"
wait_until 10 allocs_are b 0
tap_is "node b reports no allocation left" "$?" "$(fleet status 2>&1)"

# ---- a drained node steers to the least-loaded live node ----
hold c u3 # keeps the drained node running
timeout 10 "$CTL" --control-socket "$T/c.sock" drain >"$T/out" 2>&1
tap_is "turnpikectl drain on node c" "$?" "$(cat "$T/out")"
wait_until 10 draining_is c yes && wait_until 10 allocs_are a 2 &&
	wait_until 10 allocs_are b 0 && wait_until 10 seen b c
tap_is "status shows c draining, a holding 2 and b none" "$?" "$(fleet status 2>&1)"
N=10
timeout 60 "$UCLIENT" -v -n "$N" -m 1 -l 120 -u u5 -w pw-u5 -e 127.0.0.1 -r "$PEER_PORT" \
	-p "${NODE_PORT[c]}" 127.0.0.3 >"$T/uc.drain" 2>&1
RC=$?
SUMMARY=$(uclient_summary "$T/uc.drain" $((2 * N)))
CK=$?
[ "$RC" = 0 ] && [ "$CK" = 0 ] && grep -q 'error 300 (Try Alternate)' "$T/uc.drain" &&
	grep -q "Connected to: 127.0.0.2:${NODE_PORT[b]}" "$T/uc.drain" &&
	grep -q 'Received relay addr: 127.0.0.2:' "$T/uc.drain" &&
	! grep -q 'Received relay addr: 127.0.0.3:' "$T/uc.drain"
tap_is "drained node c sends turnutils_uclient (300) to b, the least loaded, which relays: $SUMMARY" \
	"$?" "$(grep -E 'error|Connected to|relay addr|tot_send' "$T/uc.drain" | tail -n 12)"

# ---- a dead node drops out ----
T0=$(date +%s%3N)
kill -KILL "${NODE_PID[c]}"
wait_exit "${NODE_PID[c]}" 10
wait_until 30 nodes_are 2
tap_is "node c killed with SIGKILL drops out of fleet status (heartbeat TTL $TTL s)" "$?" \
	"$(fleet status 2>&1)"
echo "# figure: a SIGKILLed node left fleet status after $(($(date +%s%3N) - T0)) ms (TTL $TTL s)"

# ---- Redis goes away and comes back ----
B0=$(field b allocations)
hold b u4
hold b u4
wait_until 10 allocs_are b $((B0 + 2)) && wait_until 10 seen b a
tap_is "node b holds 2 allocations of u4, seen by a" "$?" "$(fleet status 2>&1)"
alloc a u4 486
tap_is "with Redis up, u4 on node a gets 486" "$?" "$(cat "$T/out")"
redis_stop
# shellcheck disable=SC2317 # called through wait_until
down_logged() {
	local n
	for n in a b; do
		grep -q 'fleet: Redis unreachable' "${NODE_LOG[$n]}" || return 1
	done
}
wait_until 10 down_logged
tap_is "Redis stopped: both nodes log that quotas count this node only" "$?" \
	"$(grep -h 'fleet:' "${NODE_LOG[a]}" | tail -n 3)"
alloc a u4 0
tap_is "Redis down: quotas per node, u4 allocates on node a" "$?" "$(cat "$T/out")"
alloc b u4 486
tap_is "Redis down: node b still enforces user-quota 2 for its own allocations" "$?" \
	"$(cat "$T/out")"
proc_alive "${NODE_PID[a]}" && proc_alive "${NODE_PID[b]}"
tap_is "both nodes still run" "$?"
redis_start
wait_until 15 nodes_are 2 && wait_until 10 seen b a
tap_is "Redis restarted: both nodes registered again" "$?" "$(fleet status 2>&1)"
# shellcheck disable=SC2317 # called through wait_until
back_logged() {
	[ "$(grep -c 'fleet: Redis 127.0.0.1:[0-9]* reached' "${NODE_LOG[a]}")" -ge 2 ]
}
wait_until 10 back_logged
tap_is "node a logs that Redis is reached again" "$?" "$(grep 'fleet:' "${NODE_LOG[a]}" | tail -n 3)"
alloc a u4 486
tap_is "recovered: u4 on node a gets 486 again (b's 2 count)" "$?" "$(cat "$T/out")"

for pid in "${HOLDS[@]}"; do
	kill "$pid" 2>/dev/null
done
for n in a b; do
	TURNPIKED_PID=${NODE_PID[$n]}
	stop_turnpiked
	tap_is "node $n stops cleanly" "$?" "status $TURNPIKED_STATUS"
done
redis_stop
tap_done
