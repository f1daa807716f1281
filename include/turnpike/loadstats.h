/*
 * Figures for turnpike-bench load: a fixed-size log-linear histogram of
 * microsecond values (exact below 128, within 1/64 above) with percentiles
 * and merging, and readers of a server's CPU time and resident memory from
 * /proc. The text parsers are pure and exported for the unit tests and the
 * fuzzer. Nothing is logged.
 */
#ifndef TURNPIKE_LOADSTATS_H
#define TURNPIKE_LOADSTATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Values below LOADSTATS_EXACT have a bucket each; above, 64 buckets per power of two. */
#define LOADSTATS_EXACT 128
#define LOADSTATS_SUB 64
#define LOADSTATS_NBUCKETS (LOADSTATS_EXACT + 57 * LOADSTATS_SUB)

struct loadstats_hist {
	uint64_t count;
	uint64_t min, max;
	uint64_t sum;
	uint64_t buckets[LOADSTATS_NBUCKETS];
};

void loadstats_init(struct loadstats_hist *h);
void loadstats_add(struct loadstats_hist *h, uint64_t v);
/* Adds every sample of src to dst. */
void loadstats_merge(struct loadstats_hist *dst, const struct loadstats_hist *src);
/*
 * The value at percentile p (0 < p <= 100): the smallest recorded value such
 * that at least p% of the samples are at or below it, within the bucket
 * precision, never above the maximum; 0 without samples.
 */
uint64_t loadstats_percentile(const struct loadstats_hist *h, double p);

/* /proc/PID/stat text: utime + stime in clock ticks; -1 when malformed. */
int loadstats_parse_stat(const char *text, uint64_t *ticks);
/* /proc/PID/status text: VmRSS in KiB; -1 when missing or malformed. */
int loadstats_parse_rss(const char *text, uint64_t *kib);

/* /proc/PID/task/TID/schedstat text: the time on CPU in ns; -1 when malformed. */
int loadstats_parse_schedstat(const char *text, uint64_t *ns);

/* The "cpu" line of /proc/stat, in clock ticks. */
struct loadstats_cpu {
	uint64_t busy; /* user, nice, system, irq and softirq (guest time is in user) */
	uint64_t idle; /* idle, iowait and steal */
};

/*
 * /proc/stat text: the whole machine's busy and idle time, from its first
 * ("cpu") line; -1 when malformed or too large to count in microseconds.
 */
int loadstats_parse_cpu(const char *text, struct loadstats_cpu *c);

/*
 * A process's CPU time in microseconds: the sum of its threads' schedstat run
 * times (nanosecond precision), else utime + stime of /proc/PID/stat (ticks).
 */
int loadstats_proc_cpu_us(pid_t pid, uint64_t *us, char **cause);
/* A process's resident memory in KiB. */
int loadstats_proc_rss_kib(pid_t pid, uint64_t *kib, char **cause);
/*
 * The whole machine so far (all CPUs, /proc/stat), in microseconds. The busy
 * fields are sampled at the timer tick, so work that runs in step with the
 * tick, or between ticks, is over- or under-counted; with a tickless kernel
 * the idle field is measured at each idle entry and exit. The busy time of an
 * interval is therefore best taken as cpus * wall time minus the idle time.
 */
struct loadstats_machine {
	uint64_t busy_us; /* tick-sampled busy time */
	uint64_t idle_us; /* idle, iowait and steal */
	uint64_t cpus;    /* online CPUs */
};
int loadstats_machine_cpu(struct loadstats_machine *m, char **cause);

#endif
