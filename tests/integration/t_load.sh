#!/usr/bin/env bash
# turnpike-bench load as a functional test (not a benchmark: no timing is
# asserted): many allocations over UDP, TCP and TLS, with long-term and TURN
# REST credentials, channels and Send indications, several load processes;
# every allocation succeeds, every payload sent at a low rate comes back
# through the built-in echo peer, everything is deallocated, and --server-pid
# yields the server's CPU and memory figures; --direct (no server) and the
# machine's busy time over the data phase. TURN_SERVER_IMPL=coturn runs the
# same checks against coturn.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_turn_server
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || tap_skip_all "python3 is needed to read the JSON"

SERVER_ARGS=(--listening-ip 127.0.0.1 --allow-loopback-peers --relay-threads 1)
# turnpiked throttles 401s per source (the load comes from one address); coturn has no such limit.
[ "$TURN_SERVER_IMPL" = coturn ] ||
	SERVER_ARGS+=(--unauth-rate-limit 0 --unauth-answer-budget 0 --max-connections-per-ip 0)

# check_json NAME FILE EXPR...: each Python expression over the JSON object j holds.
check_json() {
	local name=$1 file=$2 why
	shift 2
	if why=$("$PY" - "$file" "$@" <<'PYEOF'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("no JSON: %s" % e)
    sys.exit(1)
bad = [e for e in sys.argv[2:] if not eval(e, {}, {"j": j})]
for e in bad:
    print("false: " + e)
sys.exit(1 if bad else 0)
PYEOF
	); then
		tap_ok "$name"
	else
		tap_fail "$name" "$why" "$(cat "$file")" "$(cat "$file.err" 2>/dev/null)" \
			"$(tail -n 10 "$TURNPIKED_LOG")"
	fi
}

# load NAME ARGS...: one run with --json, output in $T/NAME.json, exit status in RC.
load() {
	local name=$1
	shift
	bench load --json --drain 3000 "$@" >"$T/$name.json" 2>"$T/$name.json.err"
	RC=$?
}

# The checks of a run that must be clean: N allocations, data both ways, no loss.
clean_run() {
	local name=$1 n=$2 desc=$3
	tap_is "$desc: exit status 0" "$RC" "$(cat "$T/$name.json.err")"
	check_json "$desc: $n allocations, $n bound, all data back, $n deallocated" "$T/$name.json" \
		"j['allocations_ok'] == $n" "j['allocations_failed'] == 0" \
		"j['setup_ok'] == $n" "j['setup_failed'] == 0" \
		"j['client_to_peer']['offered'] > 0" \
		"j['client_to_peer']['delivered'] == j['client_to_peer']['offered']" \
		"j['peer_to_client']['offered'] == j['client_to_peer']['offered']" \
		"j['peer_to_client']['delivered'] == j['peer_to_client']['offered']" \
		"j['loss'] == 0" "j['send_errors'] == 0" \
		"0 < j['rtt_us']['p50'] <= j['rtt_us']['p99'] <= j['rtt_us']['p999'] <= j['rtt_us']['max']" \
		"0 < j['allocation_latency_us']['p50'] <= j['allocation_latency_us']['p99']" \
		"j['allocations_per_second'] > 0" \
		"j['deallocated'] == $n" "j['deallocate_failed'] == 0"
}

make_cert
turn_common_args
start_turn_server_or_bail "${TURN_ARGS[@]}" "${SERVER_ARGS[@]}" \
	--tls-listening-port @TLS_PORT@ --cert "$CERT" --pkey "$KEY"
CREDS=(--user "$TURN_USER" --password "$TURN_PASS")

load udp "${CREDS[@]}" --allocations 50 --in-flight 10 --rate 200 --duration 2 \
	--server-pid "$TURNPIKED_PID" "127.0.0.1:$PORT"
clean_run udp 50 "UDP, channels, 200 pps for 2 s"
check_json "--server-pid: CPU time per relayed packet and memory per allocation" "$T/udp.json" \
	"j['server']['relayed_packets'] == j['client_to_peer']['delivered'] + j['peer_to_client']['delivered']" \
	"j['server']['cpu_us'] > 0" "j['server']['cpu_us_per_packet'] > 0" \
	"j['server']['rss_before_kib'] > 0" "j['server']['rss_after_kib'] > 0" \
	"'kib_per_allocation' in j['server']"
# The machine's busy time (all CPUs' time minus their idle time, counted in 10 ms
# steps) holds the server's own CPU time over the same data phase.
check_json "the machine's busy time holds the server's: all CPUs' time minus idle" "$T/udp.json" \
	"j['machine']['cpus'] >= 1" "j['machine']['busy_us'] <= j['machine']['cpus'] * j['machine']['wall_us']" \
	"j['machine']['busy_us'] + 20000 >= j['server']['cpu_us']" "j['machine']['busy_ticks_us'] >= 0"
# The human-readable form says the same.
bench load "${CREDS[@]}" --allocations 5 --rate 50 --duration 1 --drain 3000 \
	--server-pid "$TURNPIKED_PID" "127.0.0.1:$PORT" >"$T/text.out" 2>&1
RC=$?
grep -qE '^allocations 5/5 ok, 0 failed over udp' "$T/text.out" &&
	grep -qE '^round trip loss 0\.0000%' "$T/text.out" &&
	grep -qE '^server cpu [0-9]+ us for [0-9]+ relayed packets: [0-9.]+ us/packet$' "$T/text.out" &&
	grep -qE '^server memory [0-9]+ KiB before, [0-9]+ KiB after the allocations: [0-9.]+ KiB/allocation$' "$T/text.out" &&
	[ "$RC" -eq 0 ]
tap_is "human-readable report: allocations, loss, server CPU and memory lines" "$?" "$(cat "$T/text.out")"

load sendind "${CREDS[@]}" --allocations 10 --send-indications --rate 100 --duration 1 \
	"127.0.0.1:$PORT"
clean_run sendind 10 "UDP, Send indications"
check_json "Send indications mode is reported" "$T/sendind.json" "j['mode'] == 'send'"

# Permissions last 300 s: long runs refresh them, the channels and the allocations.
load refresh "${CREDS[@]}" --allocations 10 --rate 100 --duration 3 --refresh 1 "127.0.0.1:$PORT"
clean_run refresh 10 "refreshes during the data phase"
check_json "every refresh succeeded, at least one round of them" "$T/refresh.json" \
	"j['refreshed'] >= 10" "j['refresh_failed'] == 0"

load procs "${CREDS[@]}" --allocations 30 --procs 3 --rate 150 --duration 1 \
	--server-pid "$TURNPIKED_PID" "127.0.0.1:$PORT"
clean_run procs 30 "three load processes, results added up"

load tcp -t tcp "${CREDS[@]}" --allocations 5 --rate 100 --duration 1 "127.0.0.1:$PORT"
clean_run tcp 5 "TCP"
load tls -t tls --ca "$CERT" "${CREDS[@]}" --allocations 5 --rate 100 --duration 1 \
	"127.0.0.1:$TLS_PORT"
clean_run tls 5 "TLS"

load wrong --user "$TURN_USER" --password not-the-password --allocations 4 "127.0.0.1:$PORT"
tap_is "wrong password: exit status 1" "$([ "$RC" -eq 1 ] && echo 0 || echo 1)" "exit $RC"
check_json "wrong password: every allocation fails with the 401" "$T/wrong.json" \
	"j['allocations_ok'] == 0" "j['allocations_failed'] == 4" "'401' in j['error']"

# A ramp capped at a low rate: 100, 200 then 400 pps over two processes, no loss at any step.
load ramp "${CREDS[@]}" --ramp --ramp-start 100 --ramp-factor 2 --ramp-max 400 --procs 2 \
	--allocations 10 --duration 1 "127.0.0.1:$PORT"
clean_run ramp 10 "ramp in two processes"
check_json "ramp: three steps without loss, the highest 400 pps" "$T/ramp.json" \
	"[s['pps'] for s in j['ramp']['steps']] == [100, 200, 400]" \
	"all(s['loss'] == 0 for s in j['ramp']['steps'])" "j['ramp']['best_pps'] == 400"
check_json "ramp: each step reports the rate it really sent (within 5% of 100/200/400)" \
	"$T/ramp.json" "all(abs(s['sent_pps'] - s['pps']) <= s['pps'] / 20 for s in j['ramp']['steps'])" \
	"j['ramp']['generator_limited'] is False"
# A step this generator cannot offer (10 million pps, far past one core) does
# not count, loss or no loss: the ramp stops there and says why.
load ramp_short "${CREDS[@]}" --ramp --ramp-start 10000000 --allocations 4 --duration 1 \
	"127.0.0.1:$PORT"
check_json "ramp past the generator: no step counts, one step sent far below its rate" \
	"$T/ramp_short.json" "j['ramp']['best_pps'] == 0" "len(j['ramp']['steps']) == 1" \
	"j['ramp']['steps'][0]['sent_pps'] < 9500000" \
	"j['ramp']['generator_limited'] or j['ramp']['steps'][0]['loss'] >= 0.001"
# Fewer file descriptors than allocations: said before anything is sent.
(
	ulimit -S -H -n 150 || exit 99
	bench load "${CREDS[@]}" --allocations 300 "127.0.0.1:$PORT"
) >"$T/fds.out" 2>&1
RC=$?
[ "$RC" -eq 1 ] && grep -qE 'need [0-9]+ file descriptors, the limit is 150: use --procs 4 or more' "$T/fds.out"
tap_is "more allocations than descriptors: says to use --procs" "$?" "exit $RC: $(cat "$T/fds.out")"
# --ramp-loss 0: only a step without any loss counts.
load ramp0 "${CREDS[@]}" --ramp --ramp-start 100 --ramp-factor 2 --ramp-max 200 --ramp-loss 0 \
	--allocations 4 --duration 1 "127.0.0.1:$PORT"
check_json "ramp --ramp-loss 0: two loss-free steps, the highest 200 pps" "$T/ramp0.json" \
	"[s['pps'] for s in j['ramp']['steps']] == [100, 200]" "j['ramp']['best_pps'] == 200" \
	"[s['generator_drops'] for s in j['ramp']['steps']] == [0, 0]" \
	"j['generator_drops'] == {'clients': 0, 'echo_peer': 0}" "not j['ramp']['generator_limited']"
check_json "the whole machine's busy time over the data phase is reported" "$T/ramp0.json" \
	"j['machine']['busy_us'] > 0" "j['machine']['wall_us'] >= 2000000"

# --direct: the generator alone, flows straight to its echo peer (no server, no credentials).
# (/proc/stat counts in 10 ms ticks: 400 packets may cost the whole machine none.)
load direct --direct --allocations 20 --rate 200 --duration 1
tap_is "--direct: exit status 0" "$RC" "$(cat "$T/direct.json.err")"
check_json "--direct, 200 pps straight to the echo peer: 20 flows, all data back, no loss" \
	"$T/direct.json" "j['mode'] == 'direct'" "j['allocations_ok'] == 20" \
	"j['client_to_peer']['offered'] > 0" \
	"j['client_to_peer']['delivered'] == j['client_to_peer']['offered']" \
	"j['peer_to_client']['delivered'] == j['client_to_peer']['offered']" "j['loss'] == 0" \
	"0 < j['rtt_us']['p50'] <= j['rtt_us']['p99']" "'server' not in j" \
	"j['machine']['wall_us'] > 0" "j['machine']['busy_us_per_packet'] >= 0"
bench load --direct --peer-netns "$T/no-such-netns" --allocations 2 >"$T/nons.out" 2>&1
[ $? -eq 1 ] && grep -qF "echo peer: $T/no-such-netns: No such file or directory" "$T/nons.out"
tap_is "--peer-netns that does not exist: exit 1 and why" "$?" "$(cat "$T/nons.out")"
bench load --direct "127.0.0.1:$PORT" >"$T/usage.out" 2>&1
tap_is "--direct with a server address is a usage error (exit 2)" \
	"$([ $? -eq 2 ] && echo 0 || echo 1)" "$(cat "$T/usage.out")"
bench load "${CREDS[@]}" --rate 10 --ramp-factor 0.5 "127.0.0.1:$PORT" >"$T/usage.out" 2>&1
tap_is "a ramp factor not above 1 is a usage error (exit 2)" "$([ $? -eq 2 ] && echo 0 || echo 1)" \
	"$(cat "$T/usage.out")"
! grep -qF "$TURN_PASS" "$TURNPIKED_LOG"
tap_is "the password is not in the server's log" "$?"
turn_stop_check

# ---- TURN REST API credentials ----
SECRET=load-secret-0123456789
REST_ARGS=(--use-auth-secret --static-auth-secret "$SECRET")
start_turn_server_or_bail -n --listening-port @PORT@ --min-port @RELAY_MIN@ \
	--max-port @RELAY_MAX@ --realm "$TURN_REALM" --log-file stdout "${REST_ARGS[@]}" \
	"${SERVER_ARGS[@]}"
load rest --user carol --secret "$SECRET" --allocations 20 --rate 100 --duration 1 \
	"127.0.0.1:$PORT"
clean_run rest 20 "shared secret (TURN REST API username and password)"
load restbad --user carol --secret not-the-secret --allocations 2 "127.0.0.1:$PORT"
check_json "wrong shared secret: no allocation" "$T/restbad.json" "j['allocations_ok'] == 0" \
	"j['allocations_failed'] == 2"
turn_stop_check
tap_done
