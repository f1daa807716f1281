#!/usr/bin/env bash
# Headless Chromium (a real WebRTC stack, driven by playwright-core): two
# RTCPeerConnections with iceTransportPolicy 'relay' connect through the server
# over turn:?transport=udp, turn:?transport=tcp and turns: and move a
# data-channel payload; getStats() must show relay candidates on both ends of
# the selected pair, with the relay protocol asked for.
# Chromium 156 gathers relay candidates from a TURN server on 127.0.0.1 (older
# releases were said to skip loopback servers; not the case here), so the
# server listens on loopback like every other test.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_turn_server
BROWSER_DIR=$TOP_SRCDIR/tests/browser
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
NODE=${NODE:-$(command -v node)}
if [ -z "$NODE" ]; then
	tap_skip_all "node is not installed (apt-get install nodejs)"
fi
if ! [ -x "$CHROMIUM" ]; then
	tap_skip_all "no Chromium at $CHROMIUM (apt-get install chromium)"
fi
if ! [ -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ]; then
	tap_skip_all "playwright-core is not installed (scripts/test does it: npm ci in tests/browser)"
fi

make_cert
listen_args
turn_common_args
start_turn_server_or_bail "${TURN_ARGS[@]}" "${LISTEN_ARGS[@]}" \
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY" \
	--relay-ip 127.0.0.1 --allow-loopback-peers

# Chromium writes its profile and caches under HOME: keep them in $T.
mkdir -p "$T/home"
browser() {
	HOME=$T/home timeout 120 "$NODE" "$BROWSER_DIR/relay.mjs" --chromium "$CHROMIUM" "$@"
}

URL_UDP="turn:127.0.0.1:$PORT?transport=udp"
URL_TCP="turn:127.0.0.1:$PORT?transport=tcp"
URL_TLS="turns:localhost:$TLS_PORT"
start=$SECONDS
browser --user "$TURN_USER" --password "$TURN_PASS" --timeout 15000 \
	--url "$URL_UDP" --url "$URL_TCP" --url "$URL_TLS" >"$T/browser" 2>&1
rc=$?
echo "# chromium run: exit status $rc in $((SECONDS - start)) s"

# check_url DESC URL PROTOCOL: the line for URL says ok, relay at both ends,
# the relay protocol, and a relayed address in the server's relay block.
check_url() {
	local desc=$1 url=$2 proto=$3 line
	line=$(grep -F "$url " "$T/browser" | head -n 1)
	awk -v url="$url" -v proto="$proto" -v lo="$RELAY_MIN" -v hi="$RELAY_MAX" '
		$1 == url {
			found = 1
			if ($2 != "ok") { print "failed"; exit 1 }
			if ($3 != "local=relay/" proto) { print "expected local=relay/" proto; exit 1 }
			if ($4 != "remote=relay") { print "remote candidate not relay"; exit 1 }
			a = $6; sub(/^relayed=/, "", a); p = a; sub(/.*:/, "", p)
			if (a !~ /^127\.0\.0\.1:/ || p + 0 < lo || p + 0 > hi) {
				print "relayed address " a " not in 127.0.0.1:" lo "-" hi; exit 1
			}
		}
		END { if (!found) { print "no result line"; exit 1 } }' "$T/browser" >"$T/check"
	tap_is "$desc" "$?" "$(cat "$T/check")" "${line:-$(tail -n 15 "$T/browser")}"
}

check_url "Chromium relays a data channel over turn:?transport=udp" "$URL_UDP" udp
check_url "Chromium relays a data channel over turn:?transport=tcp" "$URL_TCP" tcp
check_url "Chromium relays a data channel over turns: (TLS)" "$URL_TLS" tls
[ "$rc" -eq 0 ]
tap_is "the browser driver exits 0" "$?" "exit status $rc" "$(tail -n 5 "$T/browser")"

# A control that must fail: a wrong password gives no relay candidate, no path.
browser --user "$TURN_USER" --password wrong --timeout 5000 --url "$URL_UDP" >"$T/bad" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -qF "$URL_UDP FAIL" "$T/bad"
tap_is "with a wrong password Chromium finds no relayed path" "$?" "exit status $rc" \
	"$(tail -n 5 "$T/bad")"

proc_alive "$TURNPIKED_PID"
tap_is "$TURN_SERVER_IMPL still running" "$?"
turn_stop_check

tap_done
