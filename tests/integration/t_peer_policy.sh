#!/usr/bin/env bash
# Which peers a client may relay to, as a TURN client sees it: CreatePermission
# answers (turnpike-bench turn). Secure by default: one example of every
# refused family is answered 403, with the exact code RFC 8656 §10.2 asks for
# when the peer's family differs from the allocation's (443); public addresses
# are allowed; --denied-peer-ip and --allowed-peer-ip change that; the server's
# own external address is open on the relay ports only; a malformed range stops
# startup. Only CreatePermission is sent: no packet ever goes to a peer.
#
# TURN_SERVER_IMPL=coturn runs the same checks against coturn given explicit
# --denied-peer-ip ranges for the families turnpiked refuses by default (coturn
# refuses only loopback by itself, takes no CIDR, and matches IPv4 peers against
# IPv6 ranges; a bare "::" there denies everything); the own-address and startup checks are
# turnpiked's and are skipped there.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_turn_server
listen_args
turn_common_args
RELAY_ARGS=(--relay-ip 127.0.0.1)
if have_ipv6; then
	RELAY_ARGS+=(--relay-ip ::1)
fi
EMULATE=()
if [ "$TURN_SERVER_IMPL" = coturn ]; then
	for r in 0.0.0.0-0.255.255.255 10.0.0.0-10.255.255.255 100.64.0.0-100.127.255.255 \
		169.254.0.0-169.254.255.255 172.16.0.0-172.31.255.255 192.168.0.0-192.168.255.255 \
		224.0.0.0-255.255.255.255 ::1 ::7f00:0-::7fff:ffff ::a00:0-::aff:ffff \
		::ffff:7f00:0-::ffff:7fff:ffff \
		::ffff:a00:0-::ffff:aff:ffff fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \
		fe80::-feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \
		2002:7f00::-2002:7fff:ffff:ffff:ffff:ffff:ffff:ffff \
		2002:a00::-2002:aff:ffff:ffff:ffff:ffff:ffff:ffff 64:ff9b::7f00:0-64:ff9b::7fff:ffff \
		64:ff9b::a00:0-64:ff9b::aff:ffff \
		2001::-2001:0:ffff:ffff:ffff:ffff:ffff:ffff; do
		EMULATE+=(--denied-peer-ip "$r")
	done
fi

# Teredo (2001:0::/32) carries the client's IPv4 address inverted in the last
# 32 bits: 80ff:fffe is 127.0.0.1, f5ff:fffe is 10.0.0.1 (server 65.54.227.120).
TEREDO_LOOPBACK=2001:0:4136:e378:8000:63bf:80ff:fffe
TEREDO_PRIVATE=2001:0:4136:e378:8000:63bf:f5ff:fffe

# permissions TAG FAMILY PEER[=CODE]...: one allocation of FAMILY (4 or 6) asks
# for each permission; output in $T/TAG. Then one TAP line per peer: its line
# says "ok" (no =CODE) or "error CODE".
permissions() {
	local tag=$1 family=$2 e args=() rc
	shift 2
	for e in "$@"; do
		args+=(--permission "$e")
	done
	bench turn --user "$TURN_USER" --password "$TURN_PASS" --family "$family" "${args[@]}" \
		"127.0.0.1:$PORT" >"$T/$tag" 2>"$T/$tag.err"
	rc=$?
	if ! grep -q '^allocate ok' "$T/$tag"; then
		tap_fail "$tag: IPv$family allocation" "exit status $rc" "$(cat "$T/$tag" "$T/$tag.err")"
		return
	fi
	for e in "$@"; do
		expect_permission "$tag" "$family" "$e"
	done
}

expect_permission() {
	local tag=$1 family=$2 e=$3 peer code want
	peer=$e
	code=
	case $e in
	*=*)
		peer=${e%=*}
		code=${e##*=}
		;;
	esac
	want=${code:+error $code}
	awk -v peer="$peer" -v code="$code" '
		$1 == "permission" && $2 == peer {
			found = 1
			if (code == "" && $3 != "ok") exit 1
			if (code != "" && ($3 != "error" || $4 != code)) exit 1
		}
		END { if (!found) exit 1 }' "$T/$tag"
	tap_is "IPv$family allocation: permission for $peer is ${want:-allowed}" "$?" \
		"$(grep -F "permission $peer " "$T/$tag" || echo "no answer for $peer")" \
		"$(tail -n 3 "$T/$tag.err")"
}

# ---- the default policy ----
start_turn_server_or_bail "${TURN_ARGS[@]}" "${LISTEN_ARGS[@]}" "${RELAY_ARGS[@]}" \
	"${EMULATE[@]}"

permissions default4 4 \
	0.0.0.1=403 127.0.0.1=403 169.254.1.1=403 10.1.2.3=403 172.16.0.1=403 192.168.1.1=403 \
	100.64.0.1=403 224.0.0.1=403 255.255.255.255=403 240.0.0.1=403 "127.0.0.1:$PORT=403" \
	8.8.8.8 1.1.1.1 \
	::ffff:127.0.0.1=443 2001:4860:4860::8888=443

if have_ipv6; then
	permissions default6 6 \
		::=403 ::1=403 fe80::1=403 fc00::1=403 fec0::1=403 ff02::1=403 "[::1]:$PORT=403" \
		::ffff:127.0.0.1=403 ::ffff:10.0.0.1=403 ::127.0.0.1=403 2002:7f00:1::1=403 \
		2002:0a00:0001::1=403 64:ff9b::7f00:1=403 64:ff9b::a00:1=403 \
		"$TEREDO_LOOPBACK=403" "$TEREDO_PRIVATE=403" \
		2001:4860:4860::8888 2002:808:808::1 64:ff9b::808:808 \
		8.8.8.8=443
else
	tap_skip "IPv6 allocations" "no ::1 on lo for an IPv6 relay"
fi

# Special-purpose blocks of the IANA registries that are not globally reachable (issue 17).
if [ "$TURN_SERVER_IMPL" = coturn ]; then
	tap_skip "special-purpose peers" "coturn allows documentation and benchmarking peers"
else
	permissions special4 4 \
		192.0.2.1=403 198.51.100.1=403 203.0.113.7=403 198.18.0.1=403 192.0.0.1=403 \
		192.88.99.1=403 192.0.0.10 192.31.196.1
	if have_ipv6; then
		permissions special6 6 \
			100::1=403 2001:db8::1=403 3fff::1=403 2001:2::1=403 ::ffff:8.8.8.8=403 \
			64:ff9b::c000:201=403 2002:c000:201::1=403 64:ff9b::808:808 2001:1::2
	else
		tap_skip "IPv6 special-purpose peers" "no ::1 on lo for an IPv6 relay"
	fi
fi

# A control that must fail: the client reports an unexpected answer as a failure.
bench turn --user "$TURN_USER" --password "$TURN_PASS" --permission 10.1.2.3 \
	"127.0.0.1:$PORT" >"$T/control" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q '^permission 10.1.2.3 error 403' "$T/control"
tap_is "turnpike-bench turn fails when a permission is refused unexpectedly" "$?" \
	"exit status $rc" "$(cat "$T/control")"
turn_stop_check

# ---- denied-peer-ip and allowed-peer-ip ----
LISTS=(--denied-peer-ip 8.8.8.0/24 --allowed-peer-ip 10.0.0.0/8)
if [ "$TURN_SERVER_IMPL" = coturn ]; then
	LISTS=(--denied-peer-ip 8.8.8.0-8.8.8.255 --allowed-peer-ip 10.0.0.0-10.255.255.255)
fi
start_turn_server_or_bail "${TURN_ARGS[@]}" "${LISTEN_ARGS[@]}" "${RELAY_ARGS[@]}" \
	"${EMULATE[@]}" "${LISTS[@]}"
permissions lists4 4 8.8.8.8=403 8.8.4.4 10.1.2.3 10.255.255.254 192.168.1.1=403
turn_stop_check

# ---- the server's own (external) address: open on the relay ports only ----
EXTERNAL=11.0.113.5
if [ "$TURN_SERVER_IMPL" = coturn ]; then
	tap_skip "own address checks" "coturn has no own-address rule"
else
	start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 \
		--relay-ip 127.0.0.1 --external-ip "$EXTERNAL"
	permissions own4 4 "$EXTERNAL:$PORT=403" "$EXTERNAL:9=403" "$EXTERNAL:$RELAY_MIN" \
		"$EXTERNAL:$RELAY_MAX" 11.0.113.6
	grep -qE "^allocate ok relayed=$EXTERNAL:[0-9]+ " "$T/own4"
	tap_is "the relayed address advertised is the external address" "$?" "$(head -n 1 "$T/own4")"
	turn_stop_check
fi

# ---- a malformed range stops startup, naming it ----
if [ "$TURN_SERVER_IMPL" = coturn ]; then
	tap_skip "malformed --denied-peer-ip" "coturn's startup checks differ"
else
	pick_port
	timeout 10 "$TURNPIKED" -n --listening-ip 127.0.0.1 --listening-port "$PICKED" \
		--log-file stdout --denied-peer-ip 10.0.0.0/33 >"$T/bad-range" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -qF '10.0.0.0/33' "$T/bad-range" &&
		! grep -qF "$TURNPIKED_READY" "$T/bad-range"
	tap_is "--denied-peer-ip 10.0.0.0/33 stops startup with an error naming it" "$?" \
		"exit status $rc" "$(tail -n 5 "$T/bad-range")"
fi

tap_done
