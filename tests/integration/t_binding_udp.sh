#!/usr/bin/env bash
# Binding over UDP: the mapped address is the client's own address and port on
# 127.0.0.1 and ::1, FINGERPRINT only when the request had one, every client
# and every request answered, and --no-udp really closes the UDP listener.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries
make_cert
std_args
start_turnpiked_or_bail "${STD_ARGS[@]}"

bench probe --show-local "127.0.0.1:$PORT" >"$T/v4" 2>&1
tap_is "IPv4: mapped address is the client's 127.0.0.1:port" "$?" "$(cat "$T/v4")"
probe_self_mapped "$T/v4" 4 >"$T/v4.check"
tap_is "IPv4: mapped address equals the local address" "$?" "$(cat "$T/v4" "$T/v4.check")"

if have_ipv6; then
	bench probe --show-local "[::1]:$PORT" >"$T/v6" 2>&1
	tap_is "IPv6: probe to [::1] answered" "$?" "$(cat "$T/v6")"
	probe_self_mapped "$T/v6" 6 >"$T/v6.check"
	tap_is "IPv6: mapped address equals the local [::1]:port" "$?" \
		"$(cat "$T/v6" "$T/v6.check")"
else
	tap_skip "IPv6: probe to [::1] answered" "no ::1 on lo"
	tap_skip "IPv6: mapped address equals the local [::1]:port" "no ::1 on lo"
fi

if tap_run "request with FINGERPRINT answered with a verified FINGERPRINT" \
	bench probe --fingerprint --require-fingerprint --show-fingerprint "127.0.0.1:$PORT"; then
	grep -qx 'fingerprint verified' "$T/out"
	tap_is "  ... and the client reports it verified" "$?" "$(cat "$T/out")"
else
	tap_fail "  ... and the client reports it verified" "no answer"
fi

# The UDP listener's buffers are 4 MiB (the kernel shows twice that); past
# net.core.rmem_max only as root.
max=4194304
if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/net/core/rmem_max)" -lt "$max" ]; then
	max=$(cat /proc/sys/net/core/rmem_max)
fi
ss -Huamn "sport = :$PORT" >"$T/ss" 2>&1
rb=$(grep -o 'rb[0-9]*' "$T/ss" | head -n 1 | tr -d rb)
tap_is "the UDP listener's receive buffer is 4 MiB (ss shows $((2 * max)))" \
	"$([ "${rb:-0}" -ge $((2 * max)) ]; echo $?)" "$(cat "$T/ss")"

bench probe --show-fingerprint "127.0.0.1:$PORT" >"$T/nofp" 2>&1
grep -qx 'fingerprint absent' "$T/nofp"
tap_is "request without FINGERPRINT answered without one" "$?" "$(cat "$T/nofp")"

bench probe --count 5 --show-local "127.0.0.1:$PORT" >"$T/same" 2>&1
rc=$?
n=$(count_lines '^mapped-address ' "$T/same")
ports=$(sed -n 's/^local-address //p' "$T/same" | sort -u | wc -l)
[ "$rc" -eq 0 ] && [ "$n" -eq 5 ] && [ "$ports" -eq 1 ] && probe_self_mapped "$T/same" 4 >/dev/null
tap_is "5 requests in a row from one socket all answered" "$?" "status $rc, $n answers" \
	"$(cat "$T/same")"

bench probe --count 5 --reconnect --show-local "127.0.0.1:$PORT" >"$T/diff" 2>&1
rc=$?
n=$(count_lines '^mapped-address ' "$T/diff")
ports=$(sed -n 's/^mapped-address //p' "$T/diff" | sort -u | wc -l)
# The kernel may hand a closed socket's port to the next one, so ports need not
# all differ; each answer must name the port its own request came from.
[ "$rc" -eq 0 ] && [ "$n" -eq 5 ] && probe_self_mapped "$T/diff" 4 >/dev/null
tap_is "5 requests from 5 sockets all answered with their own port" "$?" \
	"status $rc, $n answers, $ports distinct" "$(cat "$T/diff")"

# With two relay threads, 50 distinct 5-tuples spread over both workers: a
# worker that does not answer shows up as missing answers.
bench probe --count 50 --reconnect --timeout 3000 --show-local "127.0.0.1:$PORT" \
	>"$T/many" 2>"$T/many.err"
rc=$?
n=$(count_lines '^mapped-address ' "$T/many")
ports=$(sed -n 's/^mapped-address //p' "$T/many" | sort -u | wc -l)
[ "$rc" -eq 0 ] && [ "$n" -eq 50 ] && probe_self_mapped "$T/many" 4 >/dev/null
tap_is "50 distinct clients (2 relay threads) all answered" "$?" \
	"status $rc, $n answers, $ports distinct ports" "$(tail -n 5 "$T/many.err")"

if have_ipv6; then
	bench probe --count 20 --reconnect --timeout 3000 --show-local "[::1]:$PORT" \
		>"$T/many6" 2>"$T/many6.err"
	rc=$?
	n=$(count_lines '^mapped-address ' "$T/many6")
	[ "$rc" -eq 0 ] && [ "$n" -eq 20 ] && probe_self_mapped "$T/many6" 6 >/dev/null
	tap_is "20 distinct IPv6 clients all answered" "$?" "status $rc, $n answers" \
		"$(tail -n 5 "$T/many6.err")"
else
	tap_skip "20 distinct IPv6 clients all answered" "no ::1 on lo"
fi

# The probe must be able to fail: no server on a free port.
pick_port
nobody=$PICKED
tap_run_fails "probe reports failure when nothing listens" \
	bench probe --timeout 2000 "127.0.0.1:$nobody"

proc_alive "$TURNPIKED_PID"
tap_is "daemon still running" "$?"
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

# SO_REUSEPORT spreads the ~80 client 5-tuples above over both workers' sockets
# (all on one worker has odds of 2^-79): each worker's exit line counts its share.
busy=$(grep -cE 'worker [01]: UDP [1-9][0-9]* in' "$TURNPIKED_LOG")
tap_is "both relay threads answered UDP clients" "$([ "$busy" -eq 2 ]; echo $?)" \
	"$(grep -E 'worker [0-9]+: UDP' "$TURNPIKED_LOG")"

start_turnpiked_or_bail "${STD_ARGS[@]}" --no-udp
tap_run_fails "--no-udp: no UDP answer" bench probe --timeout 2000 "127.0.0.1:$PORT"
tap_run "--no-udp: TCP still answers" bench probe --transport tcp "127.0.0.1:$PORT"
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

tap_done
