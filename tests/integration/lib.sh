# shellcheck shell=bash
# Helpers for the integration tests: TAP output, a temporary directory per test,
# random free loopback ports, the daemon's life cycle and a test certificate.
# Every network operation is bounded by a timeout and touches loopback only.

set -u

TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR}
TURNPIKED=${TURNPIKED:-$TOP_BUILDDIR/turnpiked}
TURNPIKE_BENCH=${TURNPIKE_BENCH:-$TOP_BUILDDIR/turnpike-bench}
# The line the daemon logs once every listener is bound.
TURNPIKED_READY=${TURNPIKED_READY:-turnpiked ready}

tap_n=0
tap_failed=0
tp_pids=()
tp_atexit=()
tp_ports=()
tp_starts=0
TURNPIKED_PID=
TURNPIKED_LOG=
TURNPIKED_STATUS=
PORT=
TLS_PORT=
PORT2=
PICKED=

T=$(mktemp -d "${TMPDIR:-/tmp}/turnpike-$(basename "$0" .sh).XXXXXX") || exit 99

# ---- TAP ----

tap_diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

tap_ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1"
}

# tap_fail DESC [DIAG...]: a failed test, with diagnostic lines.
tap_fail() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $1"
	shift
	if [ $# -gt 0 ]; then
		tap_diag "$@"
	fi
}

tap_skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n # SKIP $1: $2"
}

# tap_is DESC COND [DIAG...]: ok when COND (a status: 0 true) holds.
tap_is() {
	local desc=$1 cond=$2
	shift 2
	if [ "$cond" -eq 0 ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "$@"
	fi
}

# wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds or time is up.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -lt "$deadline" ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# tap_run DESC CMD...: ok when CMD exits 0; its output goes to $T/out and is
# shown on failure. $T/out stays readable for further checks.
tap_run() {
	local desc=$1 rc
	shift
	"$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "command: $*" "exit status $rc" "$(tail -n 20 "$T/out")"
	fi
	return "$rc"
}

# tap_run_fails DESC CMD...: ok when CMD exits non-zero (and was not killed by timeout).
tap_run_fails() {
	local desc=$1 rc
	shift
	"$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
		tap_ok "$desc"
		return 0
	fi
	tap_fail "$desc" "command: $*" "exit status $rc (expected a failure)" \
		"$(tail -n 20 "$T/out")"
	return 1
}

# The plan goes last; the exit status says whether anything failed.
tap_done() {
	echo "1..$tap_n"
	if [ "$tap_failed" -gt 0 ]; then
		exit 1
	fi
	exit 0
}

tap_skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

bail_out() {
	echo "Bail out! $1"
	tap_failed=$((tap_failed + 1))
	exit 1
}

# ---- processes and cleanup ----

# True when the process exists and is not a zombie.
proc_alive() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# track_pid PID: killed at exit unless forgotten first.
track_pid() {
	tp_pids+=("$1")
}

forget_pid() {
	local i
	for i in "${!tp_pids[@]}"; do
		if [ "${tp_pids[$i]}" = "$1" ]; then
			unset 'tp_pids[i]'
		fi
	done
}

# wait_exit PID SECONDS: waits for a child to exit; sets TP_EXIT_STATUS.
# Returns 1 (and kills it) when it is still running after SECONDS.
wait_exit() {
	local pid=$1 deadline=$((SECONDS + $2))
	while proc_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.05
	done
	if proc_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		TP_EXIT_STATUS=timeout
		forget_pid "$pid"
		return 1
	fi
	wait "$pid" 2>/dev/null
	TP_EXIT_STATUS=$?
	forget_pid "$pid"
	return 0
}

# at_exit FUNCTION: runs FUNCTION at exit (also on failure or interrupt), after
# the tracked processes are killed: for teardown such as network namespaces.
at_exit() {
	tp_atexit+=("$1")
}

tp_cleanup() {
	local rc=$? pid f
	trap - EXIT
	for pid in "${tp_pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for f in "${tp_atexit[@]}"; do
		"$f"
	done
	if [ "$tap_failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
		echo "# files and logs kept in $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap tp_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# coturn_admin ARGS...: coturn's turnadmin. It always writes a log file into
# /var/log (it has no option to put it elsewhere), so as root it runs in a
# mount namespace of its own with an empty tmpfs there: the host's /var/log
# stays untouched. Elsewhere it runs as it is.
coturn_admin() {
	if [ -z "${tp_admin_ns:-}" ]; then
		tp_admin_ns=no
		if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
			tp_admin_ns=yes
		fi
	fi
	if [ "$tp_admin_ns" = yes ]; then
		# shellcheck disable=SC2016 # expanded by the inner shell
		unshare -m sh -c 'mount -t tmpfs tmpfs /var/log 2>/dev/null; exec turnadmin "$@"' \
			turnadmin "$@"
	else
		turnadmin "$@"
	fi
}

# ---- ports ----

# True when nothing listens on the TCP or UDP port.
port_is_free() {
	[ -z "$(ss -Hlnut "sport = :$1" 2>/dev/null)" ]
}

# pick_port: sets PICKED to a random free port in 10000-29999 not used before
# by this test: below the relay ranges the tests pick (30000 and up) and the
# kernel's ephemeral ports (32768 and up), so no client socket can take it
# between the pick and the bind.
pick_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % 20000))
		case " ${tp_ports[*]} " in
		*" $p "*) continue ;;
		esac
		if port_is_free "$p"; then
			tp_ports+=("$p")
			PICKED=$p
			return 0
		fi
		: "$i"
	done
	bail_out "no free port found"
}

# ---- the daemon ----

# Waits up to 10 s for the ready line in FILE: 0 ready, 1 the daemon died, 2 timeout.
tp_wait_ready() {
	local file=$1 deadline=$((SECONDS + 10))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if grep -qF "$TURNPIKED_READY" "$file" 2>/dev/null; then
			return 0
		fi
		if ! proc_alive "$TURNPIKED_PID"; then
			return 1
		fi
		sleep 0.05
	done
	return 2
}

# start_turnpiked ARGS...: starts the daemon in the background and waits until
# it is ready. @PORT@, @TLS_PORT@ and @PORT2@ in ARGS become free ports picked
# for each attempt (also set as PORT, TLS_PORT, PORT2); when the function named
# by TP_PREPARE exists it runs after the ports are picked (to write a config
# file). When TP_READY_LOG is set, the ready line is looked for in that file
# instead of the daemon's output. An attempt that fails on a port already in
# use is retried with new ports. Sets TURNPIKED_PID and TURNPIKED_LOG (stdout
# and stderr). Returns non-zero when the daemon does not become ready.
start_turnpiked() {
	local attempt a rc args
	for attempt in 1 2 3; do
		pick_port
		PORT=$PICKED
		pick_port
		TLS_PORT=$PICKED
		pick_port
		PORT2=$PICKED
		args=()
		for a in "$@"; do
			a=${a//@PORT@/$PORT}
			a=${a//@TLS_PORT@/$TLS_PORT}
			a=${a//@PORT2@/$PORT2}
			args+=("$a")
		done
		if [ -n "${TP_PREPARE:-}" ]; then
			"$TP_PREPARE"
		fi
		tp_starts=$((tp_starts + 1))
		TURNPIKED_LOG=$T/turnpiked.$tp_starts.log
		echo "# start $tp_starts (attempt $attempt): $TURNPIKED ${args[*]}"
		"$TURNPIKED" "${args[@]}" >"$TURNPIKED_LOG" 2>&1 &
		TURNPIKED_PID=$!
		track_pid "$TURNPIKED_PID"
		tp_wait_ready "${TP_READY_LOG:-$TURNPIKED_LOG}"
		rc=$?
		if [ "$rc" -eq 0 ]; then
			return 0
		fi
		wait_exit "$TURNPIKED_PID" 5
		if [ "$rc" -eq 1 ] && grep -qi 'address already in use' "$TURNPIKED_LOG"; then
			continue
		fi
		echo "# turnpiked did not become ready ($([ "$rc" -eq 1 ] &&
			echo "exited with status $TP_EXIT_STATUS" || echo "timeout")); its log:"
		tap_diag "$(tail -n 30 "$TURNPIKED_LOG")"
		return 1
	done
	return 1
}

# shellcheck disable=SC2120 # arguments are optional
# stop_turnpiked [SIGNAL] [SECONDS]: signals the daemon (TERM by default) and
# waits for it; sets TURNPIKED_STATUS. Returns 0 when it exited with status 0.
stop_turnpiked() {
	local sig=${1:-TERM} secs=${2:-10}
	if [ -z "$TURNPIKED_PID" ]; then
		TURNPIKED_STATUS="not running"
		return 1
	fi
	kill -s "$sig" "$TURNPIKED_PID" 2>/dev/null
	wait_exit "$TURNPIKED_PID" "$secs"
	TURNPIKED_STATUS=$TP_EXIT_STATUS
	TURNPIKED_PID=
	[ "$TURNPIKED_STATUS" = 0 ]
}

# Fails the test run outright when the daemon cannot be started.
start_turnpiked_or_bail() {
	start_turnpiked "$@" || bail_out "turnpiked did not start (logs in $T)"
}

# ---- network namespaces (root) ----

# netns_teardown: kills what still runs in each namespace of NS_ALL (a
# timed-out agent) and deletes it. A test names its namespaces with its pid in
# NS_ALL (parallel runs and leftovers never clash) and runs `at_exit netns_teardown`.
# shellcheck disable=SC2317 # called at exit
netns_teardown() {
	local ns pid
	for ns in "${NS_ALL[@]}"; do
		[ -e "/var/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
}

# nsx NS CMD...: runs CMD in namespace NS.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# ---- clients and fixtures ----

# bench ARGS...: the project's client, bounded in time.
bench() {
	timeout 120 "$TURNPIKE_BENCH" "$@"
}

# alloc_status ARGS...: "ok" when a bench turn allocation with ARGS to
# 127.0.0.1:$PORT succeeds, "401" when refused so, else "other: " and what it said.
alloc_status() {
	local out
	out=$(bench turn --timeout 3000 "$@" "127.0.0.1:$PORT" 2>&1)
	case $out in
	*"allocate ok"*) echo ok ;;
	*"allocate error 401"*) echo 401 ;;
	*) echo "other: $out" ;;
	esac
}

# alloc_is WANT ARGS...: alloc_status ARGS... answers WANT.
# shellcheck disable=SC2317 # called through wait_until
alloc_is() {
	local want=$1
	shift
	[ "$(alloc_status "$@")" = "$want" ]
}

# bench_refresh_now PID: a `bench turn --refresh-after MS ... &` started as
# PID refreshes at once (SIGUSR1 to the turnpike-bench process below the
# subshell and timeout); waits for it.
bench_refresh_now() {
	local p kids=$1 next
	while [ -n "$kids" ]; do
		next=
		for p in $kids; do
			if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = turnpike-bench ]; then
				kill -USR1 "$p"
			else
				next="$next $(pgrep -P "$p" | tr '\n' ' ')"
			fi
		done
		kids=${next# }
		kids=${kids%% }
		[ -n "${kids// /}" ] || kids=
	done
	wait "$1"
}

require_binaries() {
	[ -x "$TURNPIKED" ] || bail_out "no daemon at $TURNPIKED (set TURNPIKED or TOP_BUILDDIR)"
	[ -x "$TURNPIKE_BENCH" ] ||
		bail_out "no client at $TURNPIKE_BENCH (set TURNPIKE_BENCH or TOP_BUILDDIR)"
}

have_ipv6() {
	[ -e /proc/net/if_inet6 ] && ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/'
}

# shellcheck disable=SC2120 # arguments are optional
# make_cert [NAME]: a self-signed EC P-256 certificate for CN=localhost with the
# loopback addresses in its SAN; sets CERT and KEY ($T/NAME.pem, $T/NAME.key).
make_cert() {
	local name=${1:-server}
	CERT=$T/$name.pem
	KEY=$T/$name.key
	timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$KEY" -out "$CERT" -days 2 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
		>"$T/$name.openssl.log" 2>&1 ||
		bail_out "openssl could not make a test certificate: $(cat "$T/$name.openssl.log")"
}

# The listening addresses of a standard test daemon: 127.0.0.1 and ::1 if present.
listen_args() {
	LISTEN_ARGS=(--listening-ip 127.0.0.1)
	if have_ipv6; then
		LISTEN_ARGS+=(--listening-ip ::1)
	fi
}

# Sets STD_ARGS: no config file, loopback listeners on @PORT@ and @TLS_PORT@,
# a test certificate (make_cert first), log on stdout, 2 relay threads.
std_args() {
	listen_args
	# shellcheck disable=SC2034 # used by the test scripts
	STD_ARGS=(-n "${LISTEN_ARGS[@]}" --listening-port @PORT@ --tls-listening-port @TLS_PORT@
		--cert "$CERT" --pkey "$KEY" --log-file stdout --pidfile "$T/turnpiked.pid"
		--relay-threads 2)
}

# probe_self_mapped FILE FAMILY: every "mapped-address" in FILE (probe output with
# --show-local) equals the "local-address" after it, and has the expected family
# ("4" or "6"). Prints what differs; returns non-zero on any mismatch.
probe_self_mapped() {
	awk -v fam="$2" '
		/^mapped-address / { m = $2; next }
		/^local-address / {
			n++
			if (m != $2) { print "mapped " m " but local " $2; bad = 1 }
			if (fam == "4" && m !~ /^127\.0\.0\.1:[0-9]+$/) { print "not IPv4 loopback: " m; bad = 1 }
			if (fam == "6" && m !~ /^\[::1\]:[0-9]+$/) { print "not [::1]: " m; bad = 1 }
			split(m, a, ":"); p = a[length(a)]
			if (p < 1 || p > 65535) { print "implausible port: " m; bad = 1 }
		}
		END { if (n == 0) { print "no answers"; bad = 1 } exit bad }' "$1"
}

# count_lines PATTERN FILE: how many lines match the extended regex.
count_lines() {
	grep -cE "$1" "$2" 2>/dev/null
}
