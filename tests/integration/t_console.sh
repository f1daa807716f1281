#!/usr/bin/env bash
# The web console in headless Chromium (playwright-core, as t_browser.sh):
# log in with the keyboard; the live dashboard; a turnutils_uclient session
# appears in the sessions table and is gone after Kill; a user added in the
# console then allocates with turnutils_uclient; a hostile user name is shown
# as text; /selftest reaches pass over turn: UDP, turn: TCP and turns:.
# Screenshots of the dashboard, sessions and self-test pages are kept in
# $SCREENSHOT_DIR (default: tests/screenshots in the build directory).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

BROWSER_DIR=$TOP_SRCDIR/tests/browser
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
NODE=${NODE:-$(command -v node)}
[ "$TURN_SERVER_IMPL" = turnpike ] || tap_skip_all "the console is turnpike's"
[ -n "$NODE" ] || tap_skip_all "node is not installed (apt-get install nodejs)"
[ -x "$CHROMIUM" ] || tap_skip_all "no Chromium at $CHROMIUM (apt-get install chromium)"
[ -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ] ||
	tap_skip_all "playwright-core is not installed (scripts/test does it: npm ci in tests/browser)"
command -v turnutils_uclient >/dev/null || tap_skip_all "turnutils_uclient is not installed (apt-get install coturn)"
SHOTS=${SCREENSHOT_DIR:-$TOP_BUILDDIR/tests/screenshots}
mkdir -p "$SHOTS" || bail_out "cannot make $SHOTS"

CTL=$TOP_BUILDDIR/turnpikectl
DB=$T/users.db
if ! "$CTL" --db "$DB" admin add root --password root-pw-1 >/dev/null ||
	! "$CTL" --db "$DB" user add bob --realm "$TURN_REALM" --password bob-pw-1 >/dev/null; then
	bail_out "turnpikectl could not fill the store"
fi

make_cert
start_turn_server_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ \
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY" \
	--min-port @RELAY_MIN@ --max-port @RELAY_MAX@ --realm "$TURN_REALM" --lt-cred-mech \
	--use-auth-secret --static-auth-secret console-secret-1 --userdb "$DB" \
	--web-admin --web-admin-port @PORT2@ --log-file stdout --allow-loopback-peers \
	--relay-ip 127.0.0.1 --rfc5766-channel-numbers

# A session to watch: bob relays slowly for up to a minute (killed below).
timeout 90 turnutils_uclient -y -c -n 3000 -m 1 -l 100 -z 20 -u bob -w bob-pw-1 \
	-r "$TURN_REALM" -p "$PORT" 127.0.0.1 >"$T/uc-bob" 2>&1 &
UC=$!
track_pid "$UC"

mkdir -p "$T/home"
start=$SECONDS
HOME=$T/home timeout 300 "$NODE" "$BROWSER_DIR/console.mjs" --chromium "$CHROMIUM" \
	--base "https://127.0.0.1:$PORT2" --user root --password root-pw-1 --watch-user bob \
	--add-user carol --add-password carol-pw-1 --shots "$SHOTS" >"$T/browser" 2>&1
rc=$?
echo "# chromium run: exit status $rc in $((SECONDS - start)) s"
kill "$UC" 2>/dev/null
wait "$UC" 2>/dev/null
forget_pid "$UC"

check_step() {
	local step=$1 desc=$2 line
	line=$(grep -E "^(ok|FAIL) $step( |$)" "$T/browser" | head -n 1)
	[[ $line == "ok $step"* ]]
	tap_is "$desc" "$?" "${line:-no line for $step}" "$(tail -n 15 "$T/browser")"
}
check_step login "log in with the keyboard"
check_step dashboard "the dashboard shows live allocations and readiness (chart filled)"
check_step session-listed-and-killed "bob's uclient session is in the sessions table, and gone after Kill"
check_step user-added "a user added in the console is listed"
check_step hostile-name-escaped "a user named <img onerror=...> is shown as text, no markup runs"
check_step selftest "/selftest: pass"
for tr in udp tcp tls; do
	line=$(grep -E "^selftest $tr \| " "$T/browser")
	[[ $line == *"| pass | "*:*" ms"* ]]
	tap_is "self-test over $tr: pass, relayed candidate and round trip shown" "$?" "${line:-no row}"
done
grep -q 'admin audit: admin root from 127.0.0.1 kill ' "$TURNPIKED_LOG"
tap_is "the kill from the console is an audit line" "$?"

# The user added in the console allocates (the userdb is read live).
# shellcheck disable=SC2317 # called through wait_until
allocates() {
	timeout 30 turnutils_uclient -y -c -n 5 -m 1 -l 100 -u carol -w carol-pw-1 -r "$TURN_REALM" \
		-p "$PORT" 127.0.0.1 >"$T/uc-carol" 2>&1 && uclient_summary "$T/uc-carol" 10 >"$T/carol"
}
wait_until 10 allocates
tap_is "carol, added in the console, relays with turnutils_uclient" "$?" "$(cat "$T/carol")" \
	"$(tail -n 5 "$T/uc-carol")"
for f in console-dashboard.png console-selftest.png; do
	[ -s "$SHOTS/$f" ]
	tap_is "screenshot $f kept in $SHOTS" "$?"
done

proc_alive "$TURNPIKED_PID"
tap_is "turnpiked still running" "$?"
turn_stop_check
tap_done
