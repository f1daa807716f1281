#!/usr/bin/env bash
# The container's entrypoint and healthcheck (docker/), run on the host without a
# container engine: a configuration file, TURNPIKE_* variables (with __FILE
# secrets) and the command line combine, later ones winning; the external IP is
# detected with STUN; the entrypoint execs turnpiked (same pid, SIGTERM stops
# it); the healthcheck passes while it runs and fails after; no secret reaches
# the log or a command line; bad input stops it with a message.
# scripts/container-test checks the same in a real container.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/turnlib.sh
. "$(dirname "$0")/turnlib.sh"

require_binaries
ENTRYPOINT=$TOP_SRCDIR/docker/entrypoint.sh
HEALTHCHECK=$TOP_SRCDIR/docker/healthcheck.sh
# The entrypoint and the healthcheck find the three binaries on PATH.
PATH=$(dirname "$TURNPIKED"):$PATH
export PATH

export TURNPIKE_RUN_DIR=$T/run TURNPIKE_DB=$T/data/turnpike.db TURNPIKE_CONFIG=$T/turnpike.conf
SECRET1=rest-one-$RANDOM$RANDOM
SECRET2=rest-two-$RANDOM$RANDOM
DAVE_PASS=dave-$RANDOM$RANDOM
ERIN_PASS=erin-$RANDOM$RANDOM
printf '%s\n%s\n' "$SECRET1" "$SECRET2" >"$T/secret"
pick_relay_range
printf '# mounted\nrealm=file.realm\nuser=erin:%s\nmin-port=20000\n' "$ERIN_PASS" \
	>"$TURNPIKE_CONFIG"

# A STUN server for the external IP detection.
pick_port
STUN_PORT=$PICKED
"$TURNPIKED" -n --listening-ip 127.0.0.1 --listening-port "$STUN_PORT" --no-tls --no-tcp \
	--log-file stdout --min-port 40000 --max-port 40001 >"$T/stun.log" 2>&1 &
track_pid "$!"
wait_until 10 udp_listening "$STUN_PORT" || bail_out "the STUN server did not start"

# The environment the entrypoint sees; args override TURNPIKE_LISTENING_PORT
# and TURNPIKE_MAX_PORT.
export TURNPIKE_REALM=env.realm TURNPIKE_STATIC_AUTH_SECRET__FILE=$T/secret
export TURNPIKE_USERS="dave:$DAVE_PASS,frank:frank-pw" TURNPIKE_LISTENING_PORT=9
export TURNPIKE_MIN_PORT=$RELAY_MIN TURNPIKE_MAX_PORT=$((RELAY_MAX + 50))
export TURNPIKE_DETECT_EXTERNAL_IP=127.0.0.1:$STUN_PORT
TURNPIKED=$ENTRYPOINT start_turnpiked_or_bail --listening-ip 127.0.0.1 --listening-port @PORT@ \
	--max-port "$RELAY_MAX" --relay-ip 127.0.0.2 --allow-loopback-peers --relay-threads 2

[ "$(cat "/proc/$TURNPIKED_PID/comm" 2>/dev/null)" = turnpiked ]
tap_is "the entrypoint execs turnpiked (same process)" "$?" "$(cat "/proc/$TURNPIKED_PID/comm")"
grep -q 'realm "env.realm": 3 users, 2 TURN REST API secrets' "$TURNPIKED_LOG"
tap_is "realm from TURNPIKE_REALM over the file; users of the file and TURNPIKE_USERS; a secret per line of the __FILE" \
	"$?" "$(grep 'authentication:' "$TURNPIKED_LOG")"
grep -q "UDP ports $RELAY_MIN-$RELAY_MAX\$" "$TURNPIKED_LOG"
tap_is "relay ports: min from TURNPIKE_MIN_PORT over the file, max from the command line over the environment" \
	"$?" "$(grep 'UDP ports' "$TURNPIKED_LOG")"
grep -q "external IP 127.0.0.1 (detected with the STUN server 127.0.0.1:$STUN_PORT)" \
	"$TURNPIKED_LOG" && grep -q 'relay addresses 127.0.0.2 (advertised as 127.0.0.1)' "$TURNPIKED_LOG"
tap_is "the external IP detected with STUN is advertised for relay-ip 127.0.0.2" "$?" \
	"$(grep -iE 'external|relay addresses' "$TURNPIKED_LOG")"

for cred in "dave --password $DAVE_PASS" "erin --password $ERIN_PASS" "rest --secret $SECRET2"; do
	read -r u kind pw <<<"$cred"
	bench turn --user "$u" "$kind" "$pw" "127.0.0.1:$PORT" >"$T/turn.out" 2>&1 &&
		grep -q '^allocate ok relayed=127\.0\.0\.1:' "$T/turn.out"
	tap_is "user $u ($kind) allocates; the relayed address is the detected one" "$?" \
		"$(cat "$T/turn.out")"
done

[ "$(stat -c %a "$T/run/turnpiked.conf")" = 600 ] && [ "$(stat -c %a "$T/data")" = 700 ] &&
	[ "$(stat -c %a "$TURNPIKE_DB")" = 600 ]
tap_is "generated configuration 0600, database directory 0700 and file 0600" "$?" \
	"$(ls -la "$T/run" "$T/data")"
bench turn --user dave --password wrong --expect-allocate 401 "127.0.0.1:$PORT" >/dev/null 2>&1
! grep -qF -e "$SECRET1" -e "$SECRET2" -e "$DAVE_PASS" -e "$ERIN_PASS" "$TURNPIKED_LOG" &&
	! tr '\0' ' ' <"/proc/$TURNPIKED_PID/cmdline" | grep -qF -e "$SECRET1" -e "$DAVE_PASS"
tap_is "secrets and passwords are in neither the log nor the command line" "$?"
[ "$(cat "$T/run/health-target")" = "127.0.0.1:$PORT" ]
tap_is "the healthcheck's target is the listening port of the command line" "$?" \
	"$(cat "$T/run/health-target")"
tap_run "the healthcheck passes while turnpiked runs" timeout 20 sh "$HEALTHCHECK"
stop_turnpiked
tap_is "SIGTERM to the entrypoint's pid stops turnpiked with status 0" "$?" \
	"status $TURNPIKED_STATUS"
tap_run_fails "the healthcheck fails once turnpiked is gone" timeout 20 sh "$HEALTHCHECK"

# bad_start DESC PATTERN VAR=VALUE...: the entrypoint exits non-zero with PATTERN
# in its message, and starts no daemon.
bad_start() {
	local desc=$1 pattern=$2
	shift 2
	env "$@" timeout 20 sh "$ENTRYPOINT" --listening-ip 127.0.0.1 >"$T/bad.out" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q "$pattern" "$T/bad.out" &&
		! grep -q 'turnpiked ready' "$T/bad.out"
	tap_is "$desc" "$?" "exit status $rc" "$(cat "$T/bad.out")"
}
bad_start "a variable and its __FILE both set: refused" "TURNPIKE_REALM or TURNPIKE_REALM__FILE" \
	TURNPIKE_REALM__FILE="$T/secret"
bad_start "a value spanning lines: refused" "single line" "TURNPIKE_REALM=a
min-port=1"
bad_start "an unreadable __FILE: refused" "cannot read" TURNPIKE_USERS= \
	TURNPIKE_USERS__FILE="$T/missing"
bad_start "an unknown TURNPIKE_LOG_LEVEL: refused" "TURNPIKE_LOG_LEVEL must be" \
	TURNPIKE_LOG_LEVEL=loud
pick_port
bad_start "no STUN answer for TURNPIKE_DETECT_EXTERNAL_IP: refused" "cannot detect the external IP" \
	TURNPIKE_DETECT_EXTERNAL_IP="127.0.0.1:$PICKED"

out=$(sh "$ENTRYPOINT" turnpikectl --version 2>&1)
case $out in
turnpikectl*) true ;;
*) false ;;
esac
tap_is "a first argument that is not an option runs that command" "$?" "$out"
tap_done
