#!/usr/bin/env bash
# Capacity (issue 7): each UDP relay is a descriptor, so the descriptor limit
# bounds the allocations. Under `ulimit -n 120` the daemon states its capacity
# at startup and in `turnpikectl status`, holds that many allocations, answers
# 508 (Insufficient Capacity) past it over UDP and TCP while Binding and the
# control socket keep working, and allocates again once some are released.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/turnlib.sh"

require_binaries

CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
SOCK=$T/ctl.sock
ctl() { timeout 10 "$CTL" --control-socket "$SOCK" "$@"; }
LIMIT=120
USER_PASS=cap-pass-3
REALM=cap.test
RELAY_MIN=$((30000 + (RANDOM % 14000) * 2))
RELAY_MAX=$((RELAY_MIN + 399))

# The daemon under a descriptor limit it cannot raise (soft and hard).
printf '#!/bin/sh\nulimit -n %d || exit 1\nexec "%s" "$@"\n' "$LIMIT" "$TURNPIKED" >"$T/limited"
chmod +x "$T/limited"
TURNPIKED=$T/limited start_turnpiked_or_bail -n --listening-ip 127.0.0.1 \
	--listening-port @PORT@ --no-tls --log-file stdout --relay-threads 2 \
	--min-port "$RELAY_MIN" --max-port "$RELAY_MAX" --realm "$REALM" --lt-cred-mech \
	--user "alice:$USER_PASS" --user "bob:$USER_PASS" --control-socket "$SOCK" \
	--prometheus --prometheus-address 127.0.0.1 --prometheus-port @PORT2@
MPORT=$PORT2

line=$(grep -o "capacity: [0-9]* allocations (descriptor limit $LIMIT, .*" "$TURNPIKED_LOG")
CAP=$(echo "$line" | sed -n 's/^capacity: \([0-9]*\) allocations.*/\1/p')
[ -n "$CAP" ] && [ "$CAP" -gt 0 ] && [ "$CAP" -lt "$LIMIT" ]
tap_is "startup states the capacity under the descriptor limit $LIMIT" "$?" "$line"

tap_run "status succeeds" ctl status
grep -qx "capacity $CAP" "$T/out"
tap_is "status shows the same capacity" "$?" "$(cat "$T/out")"

# allocmany USER COUNT OUTFILE: COUNT allocations held 60 s in the background.
# Not under timeout(1): the cleanup's SIGKILL must reach python itself (every
# wait in allocmany.py is bounded, and so is its hold).
allocmany() {
	python3 "$(dirname "$0")/allocmany.py" 127.0.0.1 "$PORT" "$1" "$USER_PASS" \
		"$REALM" "$2" 60 >"$3" 2>&1 &
	track_pid "$!"
}

# shellcheck disable=SC2317 # called through wait_until
has_summary() {
	grep -q '^ok ' "$1"
}

allocmany alice "$CAP" "$T/alice"
wait_until 60 has_summary "$T/alice"
grep -qx "ok $CAP 508 0 other 0" "$T/alice"
tap_is "$CAP allocations (the capacity) all succeed" "$?" "$(cat "$T/alice")"

allocmany bob 5 "$T/bob"
wait_until 30 has_summary "$T/bob"
grep -qx "ok 0 508 5 other 0" "$T/bob"
tap_is "past the capacity, Allocate over UDP gets 508" "$?" "$(cat "$T/bob")"

out=$(bench turn --transport tcp --timeout 3000 --user bob --password "$USER_PASS" \
	"127.0.0.1:$PORT" 2>&1)
case $out in *"allocate error 508"*) rc=0 ;; *) rc=1 ;; esac
tap_is "past the capacity, Allocate over TCP gets 508" "$rc" "$out"

tap_run "Binding is still answered at capacity" \
	bench probe --timeout 1000 --max-sends 3 "127.0.0.1:$PORT"
tap_run "the control socket still answers at capacity" ctl status
grep -qx "allocations $CAP" "$T/out"
tap_is "status counts the allocations held" "$?" "$(cat "$T/out")"

# scrape: /metrics answers 200 within 5 s.
scrape() {
	timeout 6 python3 -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=5).read()' "http://127.0.0.1:$MPORT/metrics"
}
# Out of descriptors: TCP connections past the spare ones make accept() fail (EMFILE).
bench hold --connections 80 --duration 4000 --timeout 2000 "127.0.0.1:$PORT" \
	>"$T/hold" 2>&1 &
HOLD=$!
track_pid "$HOLD"
sleep 1
scrape >/dev/null 2>&1 # may fail: no descriptor for it
wait "$HOLD" 2>/dev/null
forget_pid "$HOLD"
wait_until 5 scrape
tap_diag "while out of descriptors: $(grep -c 'metrics HTTP: accept' "$TURNPIKED_LOG") metrics accept() errors, $(grep -c 'accept' "$TURNPIKED_LOG") accept lines in all"
tap_is "after descriptors ran out and came back, /metrics answers again" "$?" \
	"$(grep -c 'accept' "$TURNPIKED_LOG") accept lines; $(tail -n 2 "$T/hold")"
tap_run "Binding is still answered after that" \
	bench probe --timeout 1000 --max-sends 3 "127.0.0.1:$PORT"

ctl sessions --user alice >"$T/sessions" 2>&1
sid=$(sed -n 's/^session \([0-9]*-[0-9]*\) .*/\1/p' "$T/sessions" | head -n 1)
tap_run "kill releases one allocation" ctl kill "$sid"
out=$(bench turn --timeout 3000 --user bob --password "$USER_PASS" "127.0.0.1:$PORT" 2>&1)
case $out in *"allocate ok"*) rc=0 ;; *) rc=1 ;; esac
tap_is "after a release a new allocation succeeds" "$rc" "$out"

tap_is "turnpiked still running" "$(proc_alive "$TURNPIKED_PID"; echo $?)"
accepts=$(grep -c "accept" "$TURNPIKED_LOG")
[ "$accepts" -lt 100 ]
tap_is "no accept() busy loop in the log" "$?" "$accepts lines mention accept"
stop_turnpiked
tap_is "turnpiked stops cleanly on SIGTERM" "$?" "status $TURNPIKED_STATUS"

tap_done
