#!/usr/bin/env bash
# Logging as an operator sees it: log-file stdout and stderr, log-min-level,
# JSON lines (each one parses; an allocation's lines carry its session id and
# client address), a repeated warning rate-limited, no password, secret or
# key in a debug log, new-log-timestamp, syslog with syslog-facility (through
# a test socket on /dev/log in a private mount namespace) and bad values.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
command -v python3 >/dev/null 2>&1 || tap_skip_all "python3 is not installed"
REALM=turnpike.test
PASS=looking-glass-42
SECRET=rest-secret-9f8e7d
BASE=(-n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls --relay-threads 1)

# ---- log-file stdout and stderr: the lines go there and nowhere else ----
# split_run TARGET: a daemon with --log-file TARGET; $T/TARGET.out and .err.
split_run() {
	local target=$1 pid
	pick_port
	"$TURNPIKED" "${BASE[@]/@PORT@/$PICKED}" --log-file "$target" \
		>"$T/$target.out" 2>"$T/$target.err" &
	pid=$!
	track_pid "$pid"
	wait_until 10 grep -q 'turnpiked ready' "$T/$target.$([ "$target" = stdout ] && echo out ||
		echo err)"
	kill -TERM "$pid"
	wait_exit "$pid" 10
}
split_run stdout
grep -q 'info: turnpiked ready$' "$T/stdout.out" && [ ! -s "$T/stdout.err" ]
tap_is "log-file stdout: lines on stdout, stderr empty" "$?" "$(head -n 3 "$T/stdout.err")"
split_run stderr
grep -q 'info: turnpiked ready$' "$T/stderr.err" && [ ! -s "$T/stderr.out" ]
tap_is "log-file stderr: lines on stderr, stdout empty" "$?" "$(head -n 3 "$T/stderr.out")"

# ---- log-min-level ----
TURNPIKED_READY='open relay' start_turnpiked_or_bail "${BASE[@]}" --log-file stdout --no-auth \
	--log-min-level warning
stop_turnpiked
grep -q 'warn: no-auth: ' "$TURNPIKED_LOG" && ! grep -qE ': (info|debug): ' "$TURNPIKED_LOG"
tap_is "log-min-level warning: warnings logged, info and debug not" "$?" \
	"$(head -n 5 "$TURNPIKED_LOG")"

# ---- JSON, at debug level, with an allocation, failures and secrets ----
pick_relay_range
JSON=$T/json.log
TP_READY_LOG=$JSON TURNPIKED_READY='"msg":"turnpiked ready"' start_turnpiked_or_bail "${BASE[@]}" \
	--log-file "$JSON" --log-format json -V --lt-cred-mech --realm "$REALM" \
	--user "alice:$PASS" --static-auth-secret "$SECRET" --min-port "$RELAY_MIN" \
	--max-port "$RELAY_MAX"
bench turn --timeout 5000 --user alice --password "$PASS" "127.0.0.1:$PORT" >"$T/ok.out" 2>&1
grep -q '^allocate ok' "$T/ok.out"
tap_is "an allocation with long-term credentials" "$?" "$(cat "$T/ok.out")"
bench turn --timeout 5000 --user carol --secret "$SECRET" "127.0.0.1:$PORT" >"$T/rest.out" 2>&1
grep -q '^allocate ok' "$T/rest.out"
tap_is "an allocation with a TURN REST API secret" "$?" "$(cat "$T/rest.out")"
for i in 1 2 3 4 5; do
	bench turn --timeout 5000 --user alice --password "bad-guess-$i" --expect-allocate 401 \
		"127.0.0.1:$PORT" >"$T/bad.out" 2>&1
done
grep -q '^allocate error 401' "$T/bad.out"
tap_is "five guessed passwords get 401" "$?" "$(cat "$T/bad.out")"
stop_turnpiked
tap_is "the daemon exits 0" "$?" "status $TURNPIKED_STATUS"

python3 - "$JSON" >"$T/json.check" 2>&1 <<'PY'
import json, re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
objs = []
for n, line in enumerate(lines, 1):
    o = json.loads(line)
    for k in ("time", "level", "pid", "msg"):
        assert k in o, "line %d has no %s: %s" % (n, k, line)
    assert o["level"] in ("error", "warn", "info", "debug"), line
    objs.append(o)
assert any(o["level"] == "debug" for o in objs), "no debug line"
opened = [o for o in objs if re.match(r"relay \S+ (advertised as \S+ )?for \S+ client ", o["msg"])]
closed = [o for o in objs if "closed after" in o["msg"]]
assert len(opened) >= 2 and len(closed) >= 2, "relay lines: %d opened, %d closed" % (len(opened), len(closed))
for o in opened + closed:
    assert re.fullmatch(r"w\d+\.r\d+", o.get("session", "")), o
    assert re.fullmatch(r"127\.0\.0\.1:\d+", o.get("client", "")), o
assert {(o["session"], o["client"]) for o in opened} == {(o["session"], o["client"]) for o in closed}, \
    "open and close lines do not pair up by session and client"
print("%d lines parse; %d allocations opened and closed with session and client" % (len(objs), len(opened)))
PY
tap_is "every JSON line parses; allocations carry session and client" "$?" "$(cat "$T/json.check")"

n=$(grep -c 'authentication failed' "$JSON")
[ "$n" -eq 1 ] && grep 'authentication failed' "$JSON" | grep -q '127\.0\.0\.1:[0-9]'
tap_is "five authentication failures make one rate-limited warning" "$?" "$n warnings" \
	"$(grep 'authentication failed' "$JSON")"

# Everything secret, in every spelling a key could take.
python3 - "$JSON" "$REALM" "$PASS" "$SECRET" >"$T/secrets" <<'PY'
import base64, hashlib, hmac, re, sys
log, realm, password, secret = sys.argv[1:]
users = set(re.findall(r'user \\"([^"\\]+)\\"', open(log, encoding="utf-8").read()))
words = {password, secret}
for u in users:
    for k in (hashlib.md5, hashlib.sha256):
        words.add(k(("%s:%s:%s" % (u, realm, password)).encode()).hexdigest())
    rest = hmac.new(secret.encode(), u.encode(), hashlib.sha1).digest()
    words.add(base64.b64encode(rest).decode())
    for k in (hashlib.md5, hashlib.sha256):
        words.add(k(("%s:%s:%s" % (u, realm, base64.b64encode(rest).decode())).encode()).hexdigest())
for w in sorted(words):
    print(w)
    print(w.upper())
PY
if [ "$(grep -c . "$T/secrets")" -lt 8 ]; then
	tap_fail "the secrets to look for were computed" "$(cat "$T/secrets")"
else
	! grep -qiF -f "$T/secrets" "$JSON" && ! grep -qiF -f "$T/secrets" "$TURNPIKED_LOG"
	tap_is "no password, secret, or key in hex or base64 in the debug log" "$?" \
		"$(grep -iF -f "$T/secrets" "$JSON" "$TURNPIKED_LOG" | head -n 3)"
fi

# ---- new-log-timestamp ----
start_turnpiked_or_bail "${BASE[@]}" --log-file stdout --new-log-timestamp \
	--new-log-timestamp-format '%Y/%m/%d-%H'
stop_turnpiked
awk '!/^[0-9][0-9][0-9][0-9]\/[0-9][0-9]\/[0-9][0-9]-[0-9][0-9] turnpiked\[[0-9]+\]: / { bad = 1 }
	END { exit bad || NR == 0 }' "$TURNPIKED_LOG"
tap_is "new-log-timestamp-format shapes every time stamp" "$?" "$(head -n 3 "$TURNPIKED_LOG")"

# ---- bad values stop the daemon at start ----
for bad in "--syslog-facility LOG_NOPE|'LOG_NOPE' is not a syslog facility" \
	"--log-min-level loud|'loud' is not error, warning, info or debug" \
	"--log-format xml|'xml' is not text or json"; do
	opt=${bad%%|*}
	want=${bad#*|}
	# shellcheck disable=SC2086 # option and value
	timeout 20 "$TURNPIKED" -n $opt >"$T/badopt.out" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] && grep -qF "$want" "$T/badopt.out"
	tap_is "$opt: exit 1, \"$want\"" "$?" "exit status $rc" "$(cat "$T/badopt.out")"
done

# ---- syslog: a private mount namespace puts a test socket on /dev/log ----
if [ "$(id -u)" -ne 0 ] || ! unshare --mount --propagation private true 2>/dev/null; then
	tap_skip "syslog with syslog-facility" "needs root and mount namespaces"
else
	mkdir -p "$T/dev"
	touch "$T/dev/null"
	timeout 60 python3 "$TOP_SRCDIR/tests/integration/notify_listener.py" "$T/dev/log" \
		"$T/syslog.out" 40 &
	track_pid "$!"
	wait_until 10 grep -qs LISTENING "$T/syslog.out" || bail_out "the syslog socket did not start"
	cat >"$T/in-ns" <<-EOF
		#!/bin/sh
		mount --bind /dev/null "$T/dev/null" && mount --bind "$T/dev" /dev || exit 99
		exec "$TURNPIKED" "\$@"
	EOF
	chmod +x "$T/in-ns"
	pick_port
	timeout 60 unshare --mount --propagation private "$T/in-ns" "${BASE[@]/@PORT@/$PICKED}" \
		--syslog --syslog-facility LOG_LOCAL3 --no-auth >"$T/ns.out" 2>&1 &
	NSPID=$!
	track_pid "$NSPID"
	wait_until 10 grep -q 'turnpiked ready$' "$T/syslog.out"
	# LOG_LOCAL3 is facility 19: <19*8+6> for info, <19*8+4> for a warning.
	grep -qE '^pid=[0-9]+ <158>.*turnpiked\[[0-9]+\]: turnpiked ready$' "$T/syslog.out" &&
		grep -qE '^pid=[0-9]+ <156>.*turnpiked\[[0-9]+\]: no-auth: ' "$T/syslog.out"
	tap_is "syslog-facility LOG_LOCAL3: lines reach syslog with facility local3" "$?" \
		"$(head -n 4 "$T/syslog.out")" "$(cat "$T/ns.out")"
	# timeout passes SIGTERM on to the daemon (unshare and the script exec it).
	kill -TERM "$NSPID" 2>/dev/null
	wait_exit "$NSPID" 10
	[ "$TP_EXIT_STATUS" = 0 ]
	tap_is "the daemon in the namespace exits 0" "$?" "status $TP_EXIT_STATUS"
fi

tap_done
