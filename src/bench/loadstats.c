/* Histograms and /proc readers for turnpike-bench load. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/cause.h"
#include "turnpike/loadstats.h"
#include "turnpike/netio.h"

/* Bigger than /proc/PID/stat and the VmRSS part of /proc/PID/status ever are. */
#define LOADSTATS_PROC_MAX 8192
/* Fields of /proc/PID/stat after "(comm)": state is field 3, utime 14, stime 15. */
#define LOADSTATS_UTIME_FIELD 14

static unsigned int
loadstats_log2(uint64_t v)
{
	return 63u - (unsigned int)__builtin_clzll(v);
}

static size_t
loadstats_bucket(uint64_t v)
{
	unsigned int e;

	if (v < LOADSTATS_EXACT)
		return (size_t)v;
	e = loadstats_log2(v); /* >= 7 */
	return LOADSTATS_EXACT + (size_t)(e - 7) * LOADSTATS_SUB +
	    (size_t)((v >> (e - 6)) & (LOADSTATS_SUB - 1));
}

/* The middle of bucket b's value range. */
static uint64_t
loadstats_value(size_t b)
{
	size_t e, m;
	uint64_t lo, width;

	if (b < LOADSTATS_EXACT)
		return b;
	e = (b - LOADSTATS_EXACT) / LOADSTATS_SUB + 7;
	m = (b - LOADSTATS_EXACT) % LOADSTATS_SUB;
	lo = (uint64_t)(LOADSTATS_SUB + m) << (e - 6);
	width = (uint64_t)1 << (e - 6);
	return lo + (width - 1) / 2;
}

void
loadstats_init(struct loadstats_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void
loadstats_add(struct loadstats_hist *h, uint64_t v)
{
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += v;
	h->buckets[loadstats_bucket(v)]++;
}

void
loadstats_merge(struct loadstats_hist *dst, const struct loadstats_hist *src)
{
	size_t i;

	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (i = 0; i < LOADSTATS_NBUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

uint64_t
loadstats_percentile(const struct loadstats_hist *h, double p)
{
	uint64_t rank, seen = 0, v;
	double r;
	size_t i;

	if (h->count == 0)
		return 0;
	if (p >= 100.0)
		return h->max;
	/* The epsilon keeps 99.9% of 10000 at rank 9990 despite rounding. */
	r = p / 100.0 * (double)h->count - 1e-9;
	rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	if (rank == 0)
		rank = 1;
	for (i = 0; i < LOADSTATS_NBUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			break;
	}
	if (i == LOADSTATS_NBUCKETS)
		return h->max;
	v = loadstats_value(i);
	if (v > h->max)
		v = h->max;
	if (v < h->min)
		v = h->min;
	return v;
}

static int
loadstats_number(const char **s, uint64_t *out)
{
	uint64_t v = 0;

	if (**s < '0' || **s > '9')
		return -1;
	for (; **s >= '0' && **s <= '9'; (*s)++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(**s - '0');
	}
	*out = v;
	return 0;
}

int
loadstats_parse_stat(const char *text, uint64_t *ticks)
{
	const char *s = strrchr(text, ')');
	uint64_t ut, st;
	int field;

	if (s == NULL)
		return -1;
	s++;
	/* s is before field 3; skip to field 14. */
	for (field = 2; field < LOADSTATS_UTIME_FIELD; field++) {
		if (*s != ' ')
			return -1;
		s++;
		if (field + 1 == LOADSTATS_UTIME_FIELD)
			break;
		while (*s != ' ' && *s != '\0')
			s++;
	}
	if (loadstats_number(&s, &ut) == -1 || *s++ != ' ' || loadstats_number(&s, &st) == -1)
		return -1;
	if (ut > UINT64_MAX - st)
		return -1;
	*ticks = ut + st;
	return 0;
}

int
loadstats_parse_rss(const char *text, uint64_t *kib)
{
	const char *s = text;

	for (;;) {
		if (strncmp(s, "VmRSS:", 6) == 0)
			break;
		if ((s = strchr(s, '\n')) == NULL)
			return -1;
		s++;
	}
	s += 6;
	while (*s == ' ' || *s == '\t')
		s++;
	if (loadstats_number(&s, kib) == -1 || strncmp(s, " kB", 3) != 0)
		return -1;
	return 0;
}

int
loadstats_parse_cpu(const char *text, struct loadstats_cpu *c)
{
	/*
	 * user nice system idle iowait irq softirq [steal ...]: busy are 0, 1, 2, 5
	 * and 6, idle 3, 4 and 7 (steal is optional: kernels before 2.6.11).
	 */
	static const int kind[] = {1, 1, 1, 0, 0, 1, 1, 0};
	uint64_t v, sum[2] = {0, 0};
	size_t i;

	if (strncmp(text, "cpu ", 4) != 0)
		return -1;
	text += 4;
	for (i = 0; i < sizeof(kind) / sizeof(kind[0]); i++) {
		while (*text == ' ')
			text++;
		if (i == 7 && (*text == '\n' || *text == '\0'))
			break;
		if (loadstats_number(&text, &v) == -1 || (*text != ' ' && *text != '\n'))
			return -1;
		if (v > UINT64_MAX / 1000000u - sum[kind[i]])
			return -1;
		sum[kind[i]] += v;
	}
	c->busy = sum[1];
	c->idle = sum[0];
	return 0;
}

static int
loadstats_read_path(const char *path, char *buf, size_t cap, char **cause)
{
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return cause_fail(cause, "%s: %s", path, strerror(errno));
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return 0;
}

static int
loadstats_read(pid_t pid, const char *what, char *buf, size_t cap, char **cause)
{
	char path[160];

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, what);
	return loadstats_read_path(path, buf, cap, cause);
}

int
loadstats_parse_schedstat(const char *text, uint64_t *ns)
{
	return loadstats_number(&text, ns) == -1 || (*text != ' ' && *text != '\n') ? -1 : 0;
}

/* The sum of the threads' /proc/PID/task/TID/schedstat run times (ns precision). */
static int
loadstats_sched_us(pid_t pid, uint64_t *us)
{
	char path[64], buf[256], what[96];
	struct dirent *de;
	uint64_t ns, total = 0;
	DIR *d;
	int rc = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(what, sizeof(what), "task/%.32s/schedstat", de->d_name);
		/* A thread that ended meanwhile is skipped. */
		if (loadstats_read(pid, what, buf, sizeof(buf), NULL) == -1)
			continue;
		if (loadstats_parse_schedstat(buf, &ns) == -1)
			rc = -1;
		else
			total += ns;
	}
	closedir(d);
	if (rc == -1 || total == 0)
		return -1;
	*us = total / 1000u;
	return 0;
}

int
loadstats_proc_cpu_us(pid_t pid, uint64_t *us, char **cause)
{
	char buf[LOADSTATS_PROC_MAX];
	uint64_t ticks;
	long hz = sysconf(_SC_CLK_TCK);

	if (loadstats_sched_us(pid, us) == 0)
		return 0;
	if (loadstats_read(pid, "stat", buf, sizeof(buf), cause) == -1)
		return -1;
	if (loadstats_parse_stat(buf, &ticks) == -1 || hz <= 0)
		return cause_fail(cause, "/proc/%ld/stat: cannot read the CPU time", (long)pid);
	*us = ticks * 1000000u / (uint64_t)hz;
	return 0;
}

int
loadstats_proc_rss_kib(pid_t pid, uint64_t *kib, char **cause)
{
	char buf[LOADSTATS_PROC_MAX];

	if (loadstats_read(pid, "status", buf, sizeof(buf), cause) == -1)
		return -1;
	if (loadstats_parse_rss(buf, kib) == -1)
		return cause_fail(cause, "/proc/%ld/status: no VmRSS", (long)pid);
	return 0;
}

int
loadstats_machine_cpu(struct loadstats_machine *m, char **cause)
{
	/* The "cpu" line comes first; the rest of the file is not needed. */
	char buf[512];
	struct loadstats_cpu c;
	long hz = sysconf(_SC_CLK_TCK), cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (loadstats_read_path("/proc/stat", buf, sizeof(buf), cause) == -1)
		return -1;
	if (loadstats_parse_cpu(buf, &c) == -1 || hz <= 0)
		return cause_fail(cause, "/proc/stat: no valid \"cpu\" line");
	m->busy_us = c.busy * 1000000u / (uint64_t)hz;
	m->idle_us = c.idle * 1000000u / (uint64_t)hz;
	m->cpus = cpus > 0 ? (uint64_t)cpus : 1;
	return 0;
}
