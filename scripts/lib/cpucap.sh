# A CPU cgroup that caps a process (all its threads) at a share of one core, for
# scripts/bench. cgroup v2 (cpu.max) when /sys/fs/cgroup is cgroup2, else the v1 cpu
# controller (cpu.cfs_period_us, cpu.cfs_quota_us, tasks).
# shellcheck shell=bash
# shellcheck disable=SC2034 # the CPUCAP_ variables are read by the scripts that source this file

CPUCAP_DIR=     # the group's directory, empty when there is none
CPUCAP_V=       # 1 or 2
CPUCAP_PERIOD=  # microseconds
CPUCAP_QUOTA=   # microseconds of CPU per period
CPUCAP_WHY=     # why there is no group

# The v1 cpu controller's mount point (cpu alone or co-mounted, e.g. cpu,cpuacct).
cpucap_v1_mount() {
	awk '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++)
		if (o[i] == "cpu") { print $2; exit } }' /proc/self/mounts
}

# cpucap_write FILE VALUE: one write(2) of VALUE to a cgroup file.
cpucap_write() {
	printf '%s\n' "$2" 2>/dev/null >"$1"
}

# cpucap_create NAME PCT: a group capped at PCT% of one core. The period is 2500 us so
# that a throttled server stalls for at most a few milliseconds (longer stalls overflow
# socket buffers and measure those instead); the kernel wants a quota of at least
# 1000 us, so small caps get a longer period. Returns 1 with CPUCAP_WHY set.
cpucap_create() {
	local name=$1 pct=$2 root dir
	CPUCAP_PERIOD=2500
	CPUCAP_QUOTA=$((pct * CPUCAP_PERIOD / 100))
	if [ "$CPUCAP_QUOTA" -lt 1000 ]; then
		CPUCAP_PERIOD=$(((100000 + pct - 1) / pct))
		CPUCAP_QUOTA=$((pct * CPUCAP_PERIOD / 100))
	fi
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		CPUCAP_V=2
		root=/sys/fs/cgroup
		if ! grep -qw cpu "$root/cgroup.controllers" 2>/dev/null; then
			CPUCAP_WHY="the cpu controller is not available in $root (cgroup v2)"
			return 1
		fi
		# Left enabled afterwards: other groups may use it by then.
		if ! grep -qw cpu "$root/cgroup.subtree_control" 2>/dev/null &&
			! cpucap_write "$root/cgroup.subtree_control" +cpu; then
			CPUCAP_WHY="cannot enable the cpu controller in $root/cgroup.subtree_control"
			return 1
		fi
	else
		CPUCAP_V=1
		root=$(cpucap_v1_mount)
		if [ -z "$root" ]; then
			CPUCAP_WHY="no cgroup v2 at /sys/fs/cgroup and no cgroup v1 cpu controller mounted"
			return 1
		fi
	fi
	dir=$root/$name
	if ! mkdir "$dir" 2>/dev/null; then
		CPUCAP_WHY="cannot create $dir (cgroup v$CPUCAP_V; needs root and a writable cgroupfs)"
		return 1
	fi
	CPUCAP_DIR=$dir
	if [ "$CPUCAP_V" = 2 ]; then
		cpucap_write "$dir/cpu.max" "$CPUCAP_QUOTA $CPUCAP_PERIOD" &&
			[ "$(cat "$dir/cpu.max")" = "$CPUCAP_QUOTA $CPUCAP_PERIOD" ]
	else
		cpucap_write "$dir/cpu.cfs_period_us" "$CPUCAP_PERIOD" &&
			cpucap_write "$dir/cpu.cfs_quota_us" "$CPUCAP_QUOTA" &&
			[ "$(cat "$dir/cpu.cfs_period_us")" = "$CPUCAP_PERIOD" ] &&
			[ "$(cat "$dir/cpu.cfs_quota_us")" = "$CPUCAP_QUOTA" ]
	fi || {
		CPUCAP_WHY="cannot set a quota of $CPUCAP_QUOTA us per $CPUCAP_PERIOD us in $dir"
		cpucap_remove
		return 1
	}
}

# cpucap_move PID: every thread of PID into the group (v2 moves a whole process at
# once; v1 moves one thread per write). Threads that exit meanwhile are no error.
cpucap_move() {
	local pid=$1 t tid
	[ -n "$CPUCAP_DIR" ] || return 1
	[ -d "/proc/$pid/task" ] || return 1
	if [ "$CPUCAP_V" = 2 ]; then
		cpucap_write "$CPUCAP_DIR/cgroup.procs" "$pid" || return 1
		return 0
	fi
	for t in /proc/"$pid"/task/*; do
		tid=${t##*/}
		cpucap_write "$CPUCAP_DIR/tasks" "$tid" || [ ! -d "$t" ] || return 1
	done
}

# cpucap_outside PID: how many threads of PID are not in the group (0: all are).
cpucap_outside() {
	local pid=$1 list t n=0
	list=$CPUCAP_DIR/tasks
	[ "$CPUCAP_V" = 2 ] && list=$CPUCAP_DIR/cgroup.threads
	for t in /proc/"$pid"/task/*; do
		[ -d "$t" ] || continue
		grep -qx "${t##*/}" "$list" || n=$((n + 1))
	done
	printf '%d\n' "$n"
}

# cpucap_stat: "PERIODS THROTTLED", the group's periods so far and how many of them
# ended throttled (cpu.stat, the same two keys in v1 and v2).
cpucap_stat() {
	awk '$1 == "nr_periods" { p = $2 } $1 == "nr_throttled" { t = $2 }
		END { printf "%d %d\n", p, t }' "$CPUCAP_DIR/cpu.stat"
}

# cpucap_remove: removes the group; its processes must have exited (bounded wait).
cpucap_remove() {
	local i
	[ -n "$CPUCAP_DIR" ] || return 0
	for i in $(seq 1 50); do
		rmdir "$CPUCAP_DIR" 2>/dev/null && break
		[ -d "$CPUCAP_DIR" ] || break
		sleep 0.1
		: "$i"
	done
	[ -d "$CPUCAP_DIR" ] && printf 'warning: could not remove the cgroup %s\n' "$CPUCAP_DIR" >&2
	CPUCAP_DIR=
}
