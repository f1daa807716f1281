#!/usr/bin/env bash
# scripts/bench's CPU cap (scripts/lib/cpucap.sh): the kernel's cgroup files hold
# the quota of PCT% of one core, every thread of a running turnpiked lands in the
# group and the daemon still answers, the cap throttles a CPU hog, the group is
# removed afterwards, and a read-only cgroupfs gives a reason instead of a group.
# Skipped without root or a writable cpu cgroup.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lib/cpucap.sh
. "$TOP_SRCDIR/scripts/lib/cpucap.sh"

require_binaries
[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root to create a cgroup"
NAME=turnpike-t-cpucap-$$
cpucap_create "$NAME" 40 || tap_skip_all "$CPUCAP_WHY"
at_exit cpucap_remove
GROUP=$CPUCAP_DIR

# The quota and period as the kernel holds them: "QUOTA PERIOD".
kernel_quota() {
	if [ "$CPUCAP_V" = 2 ]; then
		cat "$1/cpu.max"
	else
		echo "$(cat "$1/cpu.cfs_quota_us") $(cat "$1/cpu.cfs_period_us")"
	fi
}

q=$(kernel_quota "$GROUP")
[ "$q" = "1000 2500" ]
tap_is "40% of a core: 1000 us per 2500 us period in the kernel (cgroup v$CPUCAP_V)" "$?" "$q"

q=$(
	cpucap_create "$NAME-small" 5 || exit 1
	kernel_quota "$CPUCAP_DIR"
	cpucap_remove
)
[ "$q" = "1000 20000" ]
tap_is "5% of a core: the period grows so the quota stays at the kernel's 1000 us minimum" \
	"$?" "$q"
[ ! -d "${GROUP}-small" ]
tap_is "  ... and that group is gone after cpucap_remove" "$?"

make_cert
std_args
start_turnpiked_or_bail "${STD_ARGS[@]}"
cpucap_move "$TURNPIKED_PID"
tap_is "every thread of turnpiked moved into the group" "$?"
rel=${GROUP#"$(dirname "$GROUP")"}
n=0
outside=""
for t in /proc/"$TURNPIKED_PID"/task/*; do
	n=$((n + 1))
	if [ "$CPUCAP_V" = 2 ]; then
		grep -qx "0::$rel" "$t/cgroup" || outside="$outside ${t##*/}"
	else
		grep -qE "^[0-9]+:([^:]*,)?cpu(,[^:]*)?:$rel\$" "$t/cgroup" || outside="$outside ${t##*/}"
	fi
done
[ "$n" -ge 3 ] && [ -z "$outside" ]
tap_is "  ... /proc says all $n threads (main and 2 relay threads at least) are in $rel" "$?" \
	"outside:$outside" "$(cat /proc/"$TURNPIKED_PID"/task/*/cgroup)"
[ "$(cpucap_outside "$TURNPIKED_PID")" = 0 ]
tap_is "  ... and cpucap_outside counts none outside" "$?"
tap_run "the capped turnpiked answers a STUN Binding" bench probe "127.0.0.1:$PORT"

read -r p0 t0 < <(cpucap_stat)
# One process (no child to miss), spinning for about 2 s.
# shellcheck disable=SC2016 # expanded by the inner shell
taskset -c 0 bash -c 'end=$((SECONDS + 2)); while [ "$SECONDS" -lt "$end" ]; do :; done' &
HOG=$!
track_pid "$HOG"
cpucap_move "$HOG"
tap_is "a CPU hog moved into the group" "$?"
wait_exit "$HOG" 5
read -r p1 t1 < <(cpucap_stat)
[ "$p1" -gt "$p0" ] && [ "$t1" -gt "$t0" ]
tap_is "  ... is throttled: nr_throttled grew in cpu.stat" "$?" \
	"periods $p0 -> $p1, throttled $t0 -> $t1"

kill "$TURNPIKED_PID"
wait_exit "$TURNPIKED_PID" 10
cpucap_remove
[ ! -d "$GROUP" ] && [ -z "$CPUCAP_DIR" ]
tap_is "the group is removed once its processes are gone" "$?" "$(ls -d "$GROUP" 2>&1)"

# A read-only cgroupfs, in a private mount namespace: no group, a reason instead.
if [ "$CPUCAP_V" = 2 ]; then
	mp=/sys/fs/cgroup
else
	mp=$(cpucap_v1_mount)
fi
if ! unshare -m --propagation private true 2>/dev/null; then
	tap_skip "a read-only cgroupfs gives a reason, not a group" "unshare -m not permitted"
else
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private bash -c '
		mount -o remount,bind,ro "$1" || exit 2
		. "$2"
		if cpucap_create "$3" 40; then cpucap_remove; exit 1; fi
		printf "%s\n" "$CPUCAP_WHY"' sh "$mp" "$TOP_SRCDIR/scripts/lib/cpucap.sh" \
		"$NAME-ro" >"$T/ro" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] && grep -q "cannot create .*$NAME-ro.*writable cgroupfs" "$T/ro" &&
		[ ! -d "$(dirname "$GROUP")/$NAME-ro" ]
	tap_is "a read-only cgroupfs gives a reason, not a group" "$?" "status $rc" "$(cat "$T/ro")"
fi
awk -v mp="$mp" '$2 == mp && $4 ~ /^rw(,|$)/ { ok = 1 } END { exit !ok }' /proc/self/mounts
tap_is "  ... and the host's cgroupfs is still read-write" "$?" "$(grep " $mp " /proc/self/mounts)"

tap_run_fails "scripts/bench refuses --server-cap 0" "$TOP_SRCDIR/scripts/bench" --server-cap 0
grep -q 'server-cap needs a percentage' "$T/out"
tap_is "  ... and says what it wants" "$?" "$(cat "$T/out")"
tap_run "scripts/bench --help documents --server-cap and --only" "$TOP_SRCDIR/scripts/bench" --help
grep -q -- '--server-cap PCT' "$T/out" && grep -q -- '--only K' "$T/out"
tap_is "  ... both in the usage text" "$?" "$(cat "$T/out")"
tap_done
