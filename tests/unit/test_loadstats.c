/* Histogram percentiles and /proc parsers of turnpike-bench load. */
#include "config.h"

#include <unistd.h>

#include "turnpike/loadstats.h"
#include "unit.h"

static struct loadstats_hist h, h2;

/* True when v is within 1/64 of want. */
static bool
near(uint64_t v, uint64_t want)
{
	uint64_t d = v > want ? v - want : want - v;

	return d * 64 <= want;
}

int
main(void)
{
	struct loadstats_cpu c;
	struct loadstats_machine m;
	uint64_t v, i;

	loadstats_init(&h);
	CHECK(loadstats_percentile(&h, 50) == 0);
	/* Exact below 128. */
	for (i = 1; i <= 100; i++)
		loadstats_add(&h, i);
	CHECK(loadstats_percentile(&h, 50) == 50);
	CHECK(loadstats_percentile(&h, 99) == 99);
	CHECK(loadstats_percentile(&h, 100) == 100);
	CHECK(loadstats_percentile(&h, 0.5) == 1);
	CHECK(h.count == 100 && h.min == 1 && h.max == 100);

	/* Within 1/64 above, never beyond the maximum. */
	loadstats_init(&h);
	for (i = 1; i <= 100000; i++)
		loadstats_add(&h, i * 10);
	CHECK(near(loadstats_percentile(&h, 50), 500000));
	CHECK(near(loadstats_percentile(&h, 99), 990000));
	CHECK(near(loadstats_percentile(&h, 99.9), 999000));
	CHECK(loadstats_percentile(&h, 100) <= 1000000 &&
	    near(loadstats_percentile(&h, 100), 1000000));

	/* A long tail: p50 stays low, p99.9 sees the outliers. */
	loadstats_init(&h);
	for (i = 0; i < 9990; i++)
		loadstats_add(&h, 50);
	for (i = 0; i < 10; i++)
		loadstats_add(&h, 7000000);
	CHECK(loadstats_percentile(&h, 50) == 50);
	CHECK(loadstats_percentile(&h, 99.9) == 50);
	CHECK(near(loadstats_percentile(&h, 99.95), 7000000));
	CHECK(loadstats_percentile(&h, 100) == 7000000);

	/* Huge values do not overflow the buckets. */
	loadstats_init(&h);
	loadstats_add(&h, UINT64_MAX);
	CHECK(loadstats_percentile(&h, 50) == UINT64_MAX);

	/* Merging two halves equals adding all. */
	loadstats_init(&h);
	loadstats_init(&h2);
	for (i = 1; i <= 1000; i++)
		loadstats_add(i % 2 ? &h : &h2, i * 3);
	loadstats_merge(&h, &h2);
	CHECK(h.count == 1000 && h.min == 3 && h.max == 3000);
	CHECK(near(loadstats_percentile(&h, 50), 1500));

	/* /proc/PID/stat: a command name with spaces and parentheses. */
	CHECK(loadstats_parse_stat("42 (a) b (c) S 1 42 42 0 -1 4194560 10 0 0 0 17 5 0 0 20 0 1 0",
		  &v) == 0 &&
	    v == 22);
	CHECK(loadstats_parse_stat("42 (x) S 1 2 3", &v) == -1);
	CHECK(loadstats_parse_stat("no parenthesis", &v) == -1);
	CHECK(loadstats_parse_rss("Name:\tx\nVmRSS:\t    5120 kB\n", &v) == 0 && v == 5120);
	CHECK(loadstats_parse_rss("Name:\tx\nVmHWM:\t 5 kB\n", &v) == -1);
	CHECK(loadstats_parse_rss("VmRSS:\t 5 MB\n", &v) == -1);

	CHECK(loadstats_parse_schedstat("156827248 172067016 6789\n", &v) == 0 && v == 156827248);
	CHECK(loadstats_parse_schedstat("x 1 2\n", &v) == -1);

	/* /proc/stat: busy user + nice + system + irq + softirq, idle idle + iowait + steal. */
	CHECK(loadstats_parse_cpu("cpu  100 2 30 9000 7 4 5 6 0 0\ncpu0 50 1 15 4500 3 2 2 3 0 0\n",
		  &c) == 0 &&
	    c.busy == 141 && c.idle == 9013);
	CHECK(loadstats_parse_cpu("cpu 1 2 3 4 5 6 7\n", &c) == 0 && c.busy == 19 && c.idle == 9);
	CHECK(
	    loadstats_parse_cpu("cpu 1 2 3 4 5 6 7 8\n", &c) == 0 && c.busy == 19 && c.idle == 17);
	CHECK(loadstats_parse_cpu("cpu0 1 2 3 4 5 6 7\n", &c) == -1);
	CHECK(loadstats_parse_cpu("cpu  1 2 3 4 5 6\n", &c) == -1);
	CHECK(loadstats_parse_cpu("cpu  1 2 x 4 5 6 7\n", &c) == -1);
	CHECK(loadstats_parse_cpu("cpu  1 2 3 4 5 6 7 x\n", &c) == -1);
	CHECK(loadstats_parse_cpu("cpu  18446744073709551615 1 0 0 0 0 0\n", &c) == -1);
	/* Counts that would overflow once in microseconds are refused, idle ones too. */
	CHECK(loadstats_parse_cpu("cpu  0 0 0 18446744073709 0 0 0\n", &c) == 0);
	CHECK(loadstats_parse_cpu("cpu  0 0 0 18446744073710 0 0 0\n", &c) == -1);
	CHECK(loadstats_parse_cpu("", &c) == -1);

	/* Our own process and the machine through /proc. */
	CHECK(
	    loadstats_machine_cpu(&m, NULL) == 0 && m.busy_us > 0 && m.idle_us > 0 && m.cpus >= 1);
	CHECK(loadstats_proc_cpu_us(getpid(), &v, NULL) == 0);
	CHECK(loadstats_proc_rss_kib(getpid(), &v, NULL) == 0 && v > 0);
	CHECK(loadstats_proc_rss_kib(0x7ffffff, &v, NULL) == -1);
	return unit_done();
}
