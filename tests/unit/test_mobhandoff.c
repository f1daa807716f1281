/* Unit tests for src/server/net/mobhandoff.c: RFC 8016 hand-offs between fake workers. */
#include <stdlib.h>
#include <string.h>

#include "turnpike/mobhandoff.h"
#include "tuple.h"
#include "unit.h"

#define NFAKE 3

/* A worker as the hand-off sees it: a job queue, what it delivered, its drops. */
struct fake {
	struct mobhandoff *h;
	struct worker_job *queue; /* LIFO: the tests run it at once */
	size_t queued;
	size_t delivered, dropped;
	size_t udp; /* of the last delivery */
	struct turn_5tuple tuple;
	uint8_t data[64];
	size_t len;
	bool alive; /* what has_allocation answers */
};

static struct fake fakes[NFAKE];
static const struct turn_now now = {1000, 1};

static void
fake_post(void *arg, size_t n, struct worker_job *job)
{
	(void)arg;
	job->next = fakes[n].queue;
	fakes[n].queue = job;
	fakes[n].queued++;
}

static void
fake_deliver(void *arg, size_t udp, const struct turn_5tuple *t, const uint8_t *p, size_t len,
    const struct turn_now *n)
{
	struct fake *f = arg;

	(void)n;
	f->delivered++;
	f->udp = udp;
	f->tuple = *t;
	f->len = len < sizeof f->data ? len : sizeof f->data;
	memcpy(f->data, p, f->len);
}

static bool
fake_has_allocation(void *arg, const struct turn_5tuple *t, uint64_t now_ms)
{
	(void)t, (void)now_ms;
	return ((struct fake *)arg)->alive;
}

static void
fake_drop(void *arg)
{
	((struct fake *)arg)->dropped++;
}

static const struct mobhandoff_ops fake_ops = {
    .post = fake_post,
    .deliver = fake_deliver,
    .has_allocation = fake_has_allocation,
    .drop = fake_drop,
};

/* Runs what was posted to worker n, as its thread would; returns how many jobs. */
static size_t
run(size_t n)
{
	struct worker_job *job;
	size_t ran = 0;

	while ((job = fakes[n].queue) != NULL) {
		fakes[n].queue = job->next;
		fakes[n].queued--;
		job->run(job, NULL, &now);
		ran++;
	}
	return ran;
}

static bool
same(const struct turn_5tuple *a, const struct turn_5tuple *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

int
main(void)
{
	struct turn_5tuple a = tuple("198.51.100.1:4000"), b = tuple("198.51.100.2:4000");
	struct turn_5tuple c = tuple("198.51.100.3:4000");
	struct mobhandoff *all[NFAKE], *solo;
	static const uint8_t refresh[] = {0x00, 0x04, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
	static const uint8_t cd[] = {0x40, 0x01, 0x00, 0x02, 'h', 'i'};
	size_t i;

	for (i = 0; i < NFAKE; i++) {
		fakes[i].alive = true;
		all[i] = fakes[i].h = mobhandoff_create(i, 2, &fake_ops, &fakes[i]);
		if (all[i] == NULL)
			abort();
	}
	for (i = 0; i < NFAKE; i++)
		CHECK(mobhandoff_set_peers(fakes[i].h, all, NFAKE) == 0);

	CHECKM(!mobhandoff_stun(all[0], 0, &a, -1, refresh, sizeof refresh) &&
		!mobhandoff_chandata(all[0], 0, &a, cd, sizeof cd) && fakes[1].queued == 0 &&
		fakes[2].queued == 0,
	    "no ticket and no route: the receiving worker's core answers");

	CHECKM(mobhandoff_stun(all[0], 1, &a, 2, refresh, sizeof refresh) && fakes[2].queued == 1,
	    "a ticket sealed by worker 2 sends the Refresh there");
	CHECK(run(2) == 1 && fakes[2].delivered == 1 && fakes[2].udp == 1);
	CHECKM(same(&fakes[2].tuple, &a) && fakes[2].len == sizeof refresh &&
		memcmp(fakes[2].data, refresh, sizeof refresh) == 0,
	    "worker 2 is handed the 5-tuple, the socket index and the bytes");
	CHECKM(mobhandoff_chandata(all[0], 0, &a, cd, sizeof cd) && run(2) == 1 &&
		fakes[2].delivered == 2 && fakes[2].len == sizeof cd && fakes[2].udp == 0,
	    "later ChannelData from the 5-tuple follows the route");
	CHECKM(mobhandoff_stun(all[0], 0, &a, -1, refresh, sizeof refresh) && run(2) == 1,
	    "a later STUN message without a ticket follows the route");

	mobhandoff_tick(all[2], now.mono_ms);
	CHECKM(fakes[0].queued == 0, "the tick keeps a route while its allocation lives");
	fakes[2].alive = false;
	mobhandoff_tick(all[2], now.mono_ms);
	CHECKM(fakes[0].queued == 1 && run(0) == 1 &&
		!mobhandoff_chandata(all[0], 0, &a, cd, sizeof cd),
	    "no allocation left on worker 2: the receiving worker forgets the route");
	mobhandoff_tick(all[2], now.mono_ms);
	CHECKM(fakes[0].queued == 0, "the served 5-tuple was forgotten: one unroute only");
	fakes[2].alive = true;

	/* b moves to worker 1, then on to worker 2 before 1's unroute arrives. */
	CHECK(mobhandoff_stun(all[0], 0, &b, 1, refresh, sizeof refresh) && run(1) == 1);
	CHECK(mobhandoff_stun(all[0], 0, &b, 2, refresh, sizeof refresh) && run(2) == 1);
	fakes[1].alive = false;
	mobhandoff_tick(all[1], now.mono_ms);
	CHECK(run(0) == 1);
	CHECKM(mobhandoff_chandata(all[0], 0, &b, cd, sizeof cd) && fakes[2].queued == 1 &&
		fakes[1].queued == 0 && run(2) == 1,
	    "a late unroute from the old worker leaves the newer route");
	fakes[1].alive = true;

	CHECKM(!mobhandoff_stun(all[0], 0, &b, 0, refresh, sizeof refresh) &&
		!mobhandoff_chandata(all[0], 0, &b, cd, sizeof cd),
	    "a ticket sealed here brings the 5-tuple back");
	CHECK(mobhandoff_stun(all[0], 0, &b, 1, refresh, sizeof refresh) && run(1) == 1);
	CHECKM(!mobhandoff_stun(all[0], 0, &b, NFAKE, refresh, sizeof refresh) &&
		!mobhandoff_chandata(all[0], 0, &b, cd, sizeof cd) && fakes[1].queued == 0,
	    "a tag naming no worker: the core answers, the route is gone");

	i = fakes[1].delivered;
	CHECKM(mobhandoff_stun(all[0], 2, &c, 1, refresh, sizeof refresh) && run(1) == 1 &&
		fakes[1].dropped == 1 && fakes[1].delivered == i,
	    "a socket index the serving worker lacks: dropped and counted there");

	CHECK(mobhandoff_stun(all[0], 0, &c, 2, refresh, sizeof refresh) && fakes[2].queued == 1);
	fakes[2].queue->cancel(fakes[2].queue);
	fakes[2].queue = NULL;
	fakes[2].queued = 0;

	solo = mobhandoff_create(0, 1, &fake_ops, &fakes[0]);
	CHECK(solo != NULL && mobhandoff_set_peers(solo, &solo, 1) == 0);
	CHECKM(!mobhandoff_stun(solo, 0, &a, 0, refresh, sizeof refresh) &&
		!mobhandoff_stun(solo, 0, &a, 1, refresh, sizeof refresh) &&
		!mobhandoff_chandata(solo, 0, &a, cd, sizeof cd) && fakes[0].queued == 0,
	    "one worker: nothing is handed over");
	mobhandoff_free(solo);
	for (i = 0; i < NFAKE; i++)
		mobhandoff_free(all[i]);
	mobhandoff_free(NULL);
	return unit_done();
}
