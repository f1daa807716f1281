#!/usr/bin/env bash
# proc-user: started as root, the daemon runs as nobody once its listeners,
# pidfile, control socket and userdb are open (uid, gid, groups and
# capabilities in /proc/PID/status), still relays for coturn's
# turnutils_uclient, still reads its userdb (handed to nobody), and removes
# its pidfile and control socket at exit from a directory nobody owns. An
# unknown user or group stops it at start with a clear error and status 1.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
[ "$(id -u)" -eq 0 ] || tap_skip_all "proc-user needs the test to run as root"
id nobody >/dev/null 2>&1 || tap_skip_all "no user nobody on this system"
UCLIENT=$(command -v turnutils_uclient)
UPEER=$(command -v turnutils_peer)
if [ -z "$UCLIENT" ] || [ -z "$UPEER" ]; then
	tap_skip_all "turnutils_uclient/turnutils_peer not installed (apt-get install coturn)"
fi
CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

# The run directory belongs to nobody, as systemd's RuntimeDirectory would;
# the test directory above it must be searchable.
chmod 0711 "$T"
RUN=$T/run
mkdir -p "$RUN"
chown "nobody:$NOBODY_GID" "$RUN"
DB=$RUN/users.db
"$CTL" --db "$DB" user add dave --realm "$TURN_REALM" --password dave-pass >"$T/ctl.out" 2>&1 ||
	bail_out "turnpikectl could not create $DB: $(cat "$T/ctl.out")"

pick_relay_range
start_turnpiked_or_bail -n --listening-port @PORT@ --min-port "$RELAY_MIN" \
	--max-port "$RELAY_MAX" --lt-cred-mech --user "$TURN_USER:$TURN_PASS" \
	--realm "$TURN_REALM" --log-file stdout --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 \
	--allow-loopback-peers --no-tls --relay-threads 2 --proc-user nobody \
	--pidfile "$RUN/turnpiked.pid" --control-socket "$RUN/control.sock" --userdb "$DB" \
	--rfc5766-channel-numbers
PID=$TURNPIKED_PID
turn_wait_stun 127.0.0.1 "$PORT" || bail_out "turnpiked does not answer STUN"

status=$(cat "/proc/$PID/status")
ids() {
	awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' <<<"$status"
}
[ "$(ids Uid)" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ]
tap_is "real, effective, saved and file user IDs are nobody's" "$?" "Uid: $(ids Uid)"
[ "$(ids Gid)" = "$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID" ]
tap_is "every group ID is nobody's group" "$?" "Gid: $(ids Gid)"
want_groups=$(id -G nobody | tr ' ' '\n' | sort -n | tr '\n' ' ')
got_groups=$(ids Groups | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
[ "$got_groups" = "$want_groups" ]
tap_is "supplementary groups are nobody's, root's are gone" "$?" "Groups: $got_groups, want $want_groups"
[ "$(ids CapEff)" = 0000000000000000 ] && [ "$(ids CapPrm)" = 0000000000000000 ]
tap_is "no capability is left, effective or permitted" "$?" "CapEff $(ids CapEff) CapPrm $(ids CapPrm)"
grep -q "running as user $NOBODY_UID, group $NOBODY_GID, nobody" "$TURNPIKED_LOG"
tap_is "the log says whom it runs as" "$?" "$(grep -i running "$TURNPIKED_LOG")"

start_udp_peer
timeout 60 "$UCLIENT" -u "$TURN_USER" -w "$TURN_PASS" -e 127.0.0.1 -r "$PEER_PORT" \
	-n 10 -m 1 -l 120 -p "$PORT" 127.0.0.1 >"$T/uclient.out" 2>&1
# -m 1: one client pair, 10 messages each way.
why=$(uclient_summary "$T/uclient.out" 20)
tap_is "turnutils_uclient relays through the unprivileged daemon: $why" "$?" \
	"$(tail -n 15 "$T/uclient.out")"

out=$(bench turn --timeout 5000 --user dave --password dave-pass "127.0.0.1:$PORT" 2>&1)
grep -q '^allocate ok' <<<"$out"
tap_is "a userdb user still allocates: the store stays readable" "$?" "$out"
[ "$(stat -c %u "$DB")" = "$NOBODY_UID" ]
tap_is "the userdb was handed to nobody" "$?" "$(ls -ln "$RUN")"
[ "$(stat -c %u "$RUN/control.sock")" = "$NOBODY_UID" ] &&
	[ "$(stat -c %a "$RUN/control.sock")" = 600 ]
tap_is "the control socket belongs to nobody, mode 0600" "$?" "$(ls -ln "$RUN")"

stop_turnpiked
tap_is "it exits 0 on SIGTERM" "$?" "status $TURNPIKED_STATUS" "$(tail -n 5 "$TURNPIKED_LOG")"
[ ! -e "$RUN/turnpiked.pid" ] && [ ! -e "$RUN/control.sock" ]
tap_is "pidfile and control socket are removed at exit" "$?" "$(ls -l "$RUN")"

# start_fails DESC ARGS...: turnpiked exits 1 at once, saying why on stderr,
# before it binds anything.
start_fails() {
	local desc=$1 rc
	shift
	pick_port
	timeout 20 "$TURNPIKED" -n --listening-ip 127.0.0.1 --listening-port "$PICKED" --no-tls \
		--relay-threads 1 --log-file "$T/fail.log" "$@" >"$T/fail.out" 2>"$T/fail.err"
	rc=$?
	[ "$rc" -eq 1 ] && grep -qF "$EXPECT" "$T/fail.err" && ! grep -q 'listening on' "$T/fail.log"
	tap_is "$desc" "$?" "exit status $rc" "$(cat "$T/fail.err")"
}
EXPECT="proc-user no-such-user-$$: no such name"
start_fails "an unknown proc-user: status 1 and a clear error" --proc-user "no-such-user-$$"
EXPECT="proc-group no-such-group-$$: no such name"
start_fails "an unknown proc-group: status 1 and a clear error" --proc-user nobody \
	--proc-group "no-such-group-$$"

tap_done
