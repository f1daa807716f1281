#!/usr/bin/env bash
# Limits a client sees besides quotas and bandwidth: peer ranges from the store
# (turnpikectl peer deny/allow/remove) change CreatePermission answers within a
# few seconds without a restart; max-permissions answers 508 past the cap
# (RFC 8656 §9); unauth-rate-limit keeps a flood of unauthenticated Allocates
# from one source to about N 401 answers per second while a normal client,
# which gets one 401 first, still allocates.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/turnlib.sh"

require_binaries
command -v python3 >/dev/null 2>&1 || tap_skip_all "python3 is not installed"

CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
REALM=turnpike.test
DB=$T/limits.db
ctl() { "$CTL" --db "$DB" "$@"; }
RATE=5

# perm PEER: the answer to one CreatePermission for PEER: "ok" or the error code.
perm() {
	local line
	line=$(bench turn --timeout 3000 --user alice --password alice-pw --permission "$1" \
		"127.0.0.1:$PORT" 2>/dev/null | grep "^permission $1 ")
	case $line in
	*" ok") echo ok ;;
	*" error "*) echo "$line" | awk '{ print $4 }' ;;
	*) echo "none" ;;
	esac
}

# perm_is PEER WANT: the answer for PEER becomes WANT (tried for 6 s).
# shellcheck disable=SC2317 # called through wait_until
perm_is() {
	[ "$(perm "$1")" = "$2" ]
}

"$CTL" --db "$DB" user add seed --realm "$REALM" --password seed-pw >/dev/null 2>&1 ||
	bail_out "turnpikectl could not create $DB"
start_turnpiked_or_bail -n --listening-ip 127.0.0.1 --listening-port @PORT@ --no-tls \
	--log-file stdout --relay-threads 2 --realm "$REALM" --lt-cred-mech --userdb "$DB" \
	--user alice:alice-pw --max-permissions 3 --unauth-rate-limit "$RATE" \
	--prometheus --prometheus-address 127.0.0.1 --prometheus-port @PORT2@
MPORT=$PORT2

# ---- peer ranges from the store ----
got=$(perm 11.51.100.7)
tap_is "a public peer is allowed at first" "$([ "$got" = ok ]; echo $?)" "$got"
ctl peer deny 11.51.100.0/24 --realm "$REALM"
wait_until 6 perm_is 11.51.100.7 403
tap_is "turnpikectl peer deny for the realm: 403 within 6 s, no restart" "$?"
ctl peer remove 11.51.100.0/24 --realm "$REALM"
wait_until 6 perm_is 11.51.100.7 ok
tap_is "peer remove: allowed again" "$?"
got=$(perm 10.1.2.3)
tap_is "a private peer is refused by default" "$([ "$got" = 403 ]; echo $?)" "$got"
ctl peer allow 10.1.2.0/24
wait_until 6 perm_is 10.1.2.3 ok
tap_is "peer allow with realm '' (every realm) opens a private range" "$?"
got=$(perm 10.1.3.3)
tap_is "... and only that range" "$([ "$got" = 403 ]; echo $?)" "$got"
ctl peer deny 11.0.113.9 --realm other.realm
ctl peer deny 11.51.100.9 --realm "$REALM"
wait_until 6 perm_is 11.51.100.9 403
got=$(perm 11.0.113.9)
tap_is "a range of another realm does not apply" "$([ "$got" = ok ]; echo $?)" "$got"

# ---- max-permissions ----
out=$(bench turn --timeout 3000 --user alice --password alice-pw --permission 11.51.100.1 \
	--permission 11.51.100.2 --permission 11.51.100.3 --permission 11.51.100.4=508 \
	"127.0.0.1:$PORT" 2>&1)
tap_is "max-permissions 3: the fourth peer gets 508" "$?" "$out"

# ---- unauth-rate-limit ----
sleep 1.2 # the buckets of the clients above refill
flood=$(timeout 30 python3 - "$PORT" <<'PY'
import os, select, socket, struct, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
req = lambda: struct.pack("!HHI", 0x0003, 8, 0x2112A442) + os.urandom(12) + \
    struct.pack("!HHI", 0x0019, 4, 0x11000000)
start = time.monotonic()
for _ in range(200):          # 200 requests in well under a second
    s.sendto(req(), ("127.0.0.1", port))
sent_for = time.monotonic() - start
answers, deadline = 0, time.monotonic() + 1.0
while time.monotonic() < deadline:
    if select.select([s], [], [], 0.1)[0]:
        data = s.recv(2048)
        if data[:2] == b"\x01\x13":
            answers += 1
print("answers %d in %.3f s" % (answers, sent_for))
PY
)
tap_diag "flood from one source, unauth-rate-limit $RATE: $flood"
n=$(echo "$flood" | awk '{ print $2 }')
secs=$(echo "$flood" | awk '{ print $4 }')
max=$(awk -v r="$RATE" -v s="$secs" 'BEGIN { printf "%d", r + r * s + 1 }')
[ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le "$max" ]
tap_is "200 unauthenticated Allocates from one source get at most $max 401s" "$?" "$flood"
dropped=$(timeout 10 python3 -c 'import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
print(sum(int(float(l.split()[-1])) for l in text.splitlines()
          if l.startswith("turnpike_worker_unauth_dropped_total{")))' \
	"http://127.0.0.1:$MPORT/metrics" 2>&1)
[ -n "$dropped" ] && [ "$dropped" -ge $((200 - max)) ] 2>/dev/null
tap_is "/metrics counts the 401s not sent (turnpike_worker_unauth_dropped_total)" "$?" \
	"$dropped"
sleep 1.2
out=$(bench turn --timeout 3000 --user alice --password alice-pw "127.0.0.1:$PORT" 2>&1)
tap_is "a normal client from the same address still allocates (its one 401 passes)" "$?" "$out"

stop_turnpiked
tap_is "turnpiked stops cleanly" "$?" "status $TURNPIKED_STATUS"
grep -qE "limits: .* [1-9][0-9]* 401 answers not sent" "$TURNPIKED_LOG"
tap_is "the dropped 401s are counted" "$?" "$(grep 'limits:' "$TURNPIKED_LOG")"
tap_done
