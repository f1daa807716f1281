/* Token buckets and the per-address table: time is passed in, so every case is exact. */
#include "config.h"

#include <stdint.h>

#include "turnpike/tbucket.h"
#include "unit.h"

static void
test_bucket_rate(void)
{
	struct tbucket b;
	uint64_t ms, taken = 0;

	tbucket_init(&b, 1000, 1000, 5000);
	CHECK(tbucket_take(&b, 1000, 5000));
	CHECKM(!tbucket_take(&b, 1, 5000), "empty after the burst");
	CHECK(!tbucket_take(&b, 2, 5001));
	CHECKM(tbucket_take(&b, 1, 5001), "1 ms at 1000/s refills one unit");
	/* Ten seconds of 100-unit asks every 10 ms: 1000 per second get through. */
	for (ms = 5002; ms < 15002; ms += 10)
		taken += tbucket_take(&b, 100, ms) ? 100 : 0;
	CHECKM(taken >= 9800 && taken <= 10000, "10 s at 1000/s pass about 10000 units");
	CHECKM(!tbucket_take(&b, 1001, 1000000), "more than the burst never passes");
	CHECKM(tbucket_take(&b, 1000, 1000000), "a long pause refills only the burst");
	CHECK(!tbucket_take(&b, 1, 1000000));
	CHECKM(!tbucket_take(&b, 1, 900000), "time going back refills nothing");
}

static void
test_bucket_slow_and_unlimited(void)
{
	struct tbucket b;
	int i, ok = 0;

	tbucket_init(&b, 3, 3, 0);
	for (i = 0; i < 3; i++)
		ok += tbucket_take(&b, 1, 0);
	CHECK(ok == 3);
	CHECK(!tbucket_take(&b, 1, 200));
	CHECKM(tbucket_take(&b, 1, 340), "3/s: sub-unit refills add up to one in 334 ms");
	tbucket_init(&b, 0, 0, 0);
	CHECKM(tbucket_take(&b, 1u << 30, 0), "rate 0 is unlimited");
	tbucket_init(&b, 10, 10, 0);
	tbucket_set(&b, 10, 2);
	CHECKM(tbucket_take(&b, 2, 0) && !tbucket_take(&b, 1, 0), "set caps what it holds");
	tbucket_init(&b, UINT32_MAX, UINT32_MAX, 0);
	CHECK(tbucket_take(&b, UINT32_MAX, 0));
	CHECKM(tbucket_take(&b, UINT32_MAX, UINT64_MAX / 2), "no overflow on large values");
}

static void
test_iplimit(void)
{
	struct iplimit *l = iplimit_create(64, 5, 5);
	uint8_t a[4] = {192, 0, 2, 1}, other[4] = {192, 0, 2, 2}, k[16] = {0};
	uint32_t i;
	int ok = 0;

	CHECK(l != NULL);
	for (i = 0; i < 20; i++)
		ok += iplimit_take(l, a, 4, 1000);
	CHECKM(ok == 5, "one source gets its burst of 5");
	CHECKM(iplimit_take(l, other, 4, 1000), "another source has its own bucket");
	CHECKM(iplimit_take(l, a, 4, 1200), "and refills at 5/s");
	CHECK(!iplimit_take(l, a, 4, 1200));
	for (i = 0; i < 100000; i++) {
		memcpy(k, &i, sizeof i);
		(void)iplimit_take(l, k, 16, 2000 + i);
	}
	CHECKM(iplimit_count(l) <= 64, "a flood of sources stays within the slots");
	CHECKM(!iplimit_take(l, a, 0, 1000), "an empty key is refused");
	iplimit_free(l);
	l = iplimit_create(64, 1, 60);
	CHECKM(iplimit_has(l, a, 4, 60, 1000), "an unknown key holds a full bucket");
	CHECKM(iplimit_take_n(l, a, 4, 60, 1000) && !iplimit_has(l, a, 4, 1, 1000),
	    "take_n empties it; has looks without taking");
	CHECKM(!iplimit_take_n(l, a, 4, 60, 30000) && iplimit_has(l, a, 4, 29, 30000),
	    "29 s later 29 units: not enough for 60, none taken");
	CHECKM(iplimit_has(l, a, 4, 60, 61000), "a minute later: full again");
	iplimit_free(l);
	l = iplimit_create(8, 0, 0);
	CHECKM(iplimit_take(l, a, 4, 0), "rate 0 is off");
	iplimit_free(l);
	iplimit_free(NULL);
}

/* relay_bps_pass (issue 17): the worker's bucket refusing costs the session nothing. */
static void
test_bucket_both(void)
{
	struct tbucket session, worker, none;

	tbucket_init(&session, 1000, 1000, 0);
	tbucket_init(&worker, 1000, 1000, 0);
	tbucket_init(&none, 0, 0, 0);
	CHECK(tbucket_take(&worker, 1000, 0));
	CHECKM(!tbucket_take_both(&session, &worker, 600, 0),
	    "the worker's bucket is empty: refused");
	CHECKM(tbucket_take(&session, 1000, 0), "... and the session's tokens were not taken");
	tbucket_init(&session, 1000, 1000, 0);
	tbucket_init(&worker, 1000, 1000, 0);
	CHECKM(tbucket_take_both(&session, &worker, 600, 0), "both hold 600: taken");
	CHECKM(!tbucket_take(&session, 401, 0) && !tbucket_take(&worker, 401, 0), "... from both");
	CHECKM(!tbucket_take_both(&session, &worker, 401, 0) && tbucket_take(&worker, 400, 0),
	    "the session's bucket is short: the worker's keeps its tokens");
	CHECKM(tbucket_take_both(&none, &session, 400, 0), "an unlimited bucket never refuses");
}

int
main(void)
{
	test_bucket_both();
	test_bucket_rate();
	test_bucket_slow_and_unlimited();
	test_iplimit();
	return unit_done();
}
