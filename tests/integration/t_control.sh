#!/usr/bin/env bash
# The control socket: created mode 0600 and removed at exit; turnpikectl
# --control-socket status shows the version and the live allocation count,
# sessions lists an allocation, kill ends it (the client's Refresh gets 437),
# loglevel changes the level, and bad levels, unknown commands and a wrong
# protocol version get an error.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries

CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
SOCK=$T/ctl.sock
ctl() { timeout 10 "$CTL" --control-socket "$SOCK" "$@"; }
RELAY_MIN=$((30000 + (RANDOM % 14000) * 2))
RELAY_MAX=$((RELAY_MIN + 99))

: >"$SOCK" && rm -f "$SOCK" && python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
	--log-file stdout --relay-threads 2 --min-port "$RELAY_MIN" --max-port "$RELAY_MAX" \
	--realm ctl.test --lt-cred-mech --user "alice:alice-pass" --control-socket "$SOCK"

tap_is "a stale socket file is replaced" "$([ -S "$SOCK" ]; echo $?)"
mode=$(stat -c %a "$SOCK")
tap_is "the control socket is mode 0600" "$([ "$mode" = 600 ]; echo $?)" "mode $mode"

tap_run "status succeeds" ctl status
grep -qx "version $(sed -n 's/^turnpikectl //p' <("$CTL" --version))" "$T/out"
tap_is "status shows the version" "$?" "$(cat "$T/out")"
grep -qx "allocations 0" "$T/out"
tap_is "status shows no allocation at first" "$?" "$(cat "$T/out")"
grep -qx "workers 2" "$T/out"
tap_is "status shows the worker count" "$?" "$(cat "$T/out")"

# long_alloc NAME: an allocation of alice, output in $T/NAME; it refreshes when
# sent SIGUSR1 (bench_refresh_now), or after 60 s.
long_alloc() {
	bench turn --timeout 3000 --user alice --password alice-pass --refresh-after 60000 \
		"127.0.0.1:$PORT" >"$T/$1" 2>&1 &
	BENCH=$!
}


# wait_allocations N: status shows N allocations within 2 s; sets $n.
wait_allocations() {
	for _ in $(seq 1 20); do
		n=$(ctl status | sed -n 's/^allocations //p')
		[ "$n" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

long_alloc bench1
wait_allocations 1
tap_is "status counts a live allocation" "$?" "allocations $n"
ctl status >"$T/out" 2>&1
grep -qx "sessions udp 1 tcp 0 tls 0 dtls 0" "$T/out" && grep -qx "allocations-created 1" "$T/out" &&
	grep -Eq "^to-peer packets [0-9]+ bytes [0-9]+$" "$T/out"
tap_is "status gathers sessions by transport and counters from the workers" "$?" \
	"$(cat "$T/out")"
tap_run "sessions succeeds" ctl sessions
grep -Eq "^session [0-9]+-[0-9]+ user alice realm ctl.test transport udp client 127.0.0.1:[0-9]+ .*relayed 127.0.0.1:[0-9]+ " "$T/out"
tap_is "sessions lists it with its user and relayed address" "$?" "$(cat "$T/out")"
SID=$(awk '{print $2}' "$T/out")
ctl sessions --user bob >"$T/out" 2>&1
tap_is "sessions --user bob lists none" "$([ ! -s "$T/out" ]; echo $?)" "$(cat "$T/out")"
ctl sessions --user alice --json | python3 -c 'import json, sys
s = json.load(sys.stdin); assert len(s) == 1 and s[0]["user"] == "alice", s
assert s[0]["id"] == sys.argv[1] and isinstance(s[0]["remaining"], int), s' "$SID"
tap_is "sessions --json is a JSON array of sessions" "$?"
tap_run "kill SESSION succeeds" ctl kill "$SID"
grep -qx "killed 1" "$T/out"
tap_is "... and says so" "$?" "$(cat "$T/out")"
bench_refresh_now "$BENCH"
grep -q "refresh error 437" "$T/bench1"
tap_is "the killed client's next Refresh gets 437" "$?" "$(cat "$T/bench1")"
wait_allocations 0
tap_is "status counts no allocation after the kill" "$?" "allocations $n"
tap_run_fails "kill of an unknown session fails" ctl kill "$SID"

long_alloc bench2
wait_allocations 1
tap_run "kill --user alice succeeds" ctl kill --user alice
bench_refresh_now "$BENCH"
grep -q "refresh error 437" "$T/bench2"
tap_is "... and the user's client gets 437" "$?" "$(cat "$T/bench2")"
tap_run_fails "kill --user with no session fails" ctl kill --user alice

tap_run "loglevel debug succeeds" ctl loglevel debug
ctl status | grep -qx "loglevel debug"
tap_is "status shows the new log level" "$?"
tap_run_fails "a bad log level fails" ctl loglevel loud
grep -q "unknown log level" "$T/out"
tap_is "... naming the level" "$?" "$(cat "$T/out")"
tap_run_fails "an unknown command fails in turnpikectl" ctl frobnicate

reply=$(printf 'turnpike-control 1\nfrobnicate\n' | timeout 5 python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
print(s.makefile().read(), end="")' "$SOCK")
tap_is "the daemon answers an unknown command with an error" \
	"$([ "$reply" = "error: unknown command frobnicate" ]; echo $?)" "$reply"
reply=$(printf 'turnpike-control 99\nstatus\n' | timeout 5 python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
print(s.makefile().read(), end="")' "$SOCK")
tap_is "a protocol version mismatch gets an error" \
	"$(case $reply in "error: unsupported protocol version"*) echo 0 ;; *) echo 1 ;; esac)" \
	"$reply"

# Two clients still connected at shutdown (one silent, one between hello and
# command): the daemon frees them and exits 0 (a leak fails it under ASan).
python3 -c 'import socket, sys, time
a = socket.socket(socket.AF_UNIX); a.connect(sys.argv[1])
b = socket.socket(socket.AF_UNIX); b.connect(sys.argv[1]); b.sendall(b"turnpike-control 1\n")
time.sleep(30)' "$SOCK" &
HOLD=$!
track_pid "$HOLD"
wait_until 20 sh -c "[ \"\$(ss -xH state connected src '$SOCK' | wc -l)\" -ge 2 ]"
tap_is "two control clients are connected" "$?" "$(ss -xH state connected src "$SOCK")"
stop_turnpiked
tap_is "turnpiked stops cleanly with control clients connected" "$?" "status $TURNPIKED_STATUS"
kill "$HOLD" 2>/dev/null
tap_is "the socket is removed at exit" "$([ ! -e "$SOCK" ]; echo $?)"
tap_run_fails "turnpikectl fails without a daemon" ctl status

# ---- control-socket-group: mode 0660, members of the group connect, others do not ----
# as_status USER GROUP: a status request over the socket as USER with only GROUP.
as_status() {
	timeout 10 setpriv --reuid="$1" --regid="$2" --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"turnpike-control 1\nstatus\n")
print(s.makefile().read(), end="")' "$GSOCK"
}
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && getent passwd nobody >/dev/null &&
	getent group nogroup >/dev/null && getent group daemon >/dev/null; then
	chmod 0711 "$T" && mkdir -m 0711 "$T/pub"
	GSOCK=$T/pub/ctl.sock
	start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
		--log-file stdout --realm ctl.test --lt-cred-mech --user "alice:alice-pass" \
		--control-socket "$GSOCK" --control-socket-group nogroup
	got=$(stat -c '%a %G' "$GSOCK")
	tap_is "control-socket-group nogroup: mode 660, group nogroup" \
		"$([ "$got" = "660 nogroup" ]; echo $?)" "$got"
	as_status nobody nogroup >"$T/out" 2>&1
	grep -q '^version ' "$T/out"
	tap_is "a member of the group (nobody:nogroup) gets the status" "$?" "$(cat "$T/out")"
	as_status nobody daemon >"$T/out" 2>&1
	! grep -q '^version ' "$T/out" && grep -q 'Permission denied' "$T/out"
	tap_is "a user outside the group is refused by the file mode" "$?" "$(cat "$T/out")"
	stop_turnpiked
	tap_is "turnpiked stops cleanly" "$?" "status $TURNPIKED_STATUS"
else
	tap_skip "control-socket-group" "needs root, setpriv, nobody, nogroup and daemon"
fi

tap_done
