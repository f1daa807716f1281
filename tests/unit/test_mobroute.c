/* Unit tests for src/server/net/mobroute.c: 5-tuples served by another worker. */
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/mobroute.h"
#include "tuple.h"
#include "unit.h"

static bool
drop_worker_2(void *arg, const struct mobroute_entry *e)
{
	(*(int *)arg)++;
	return e->worker != 2;
}

int
main(void)
{
	struct turn_5tuple a = tuple("198.51.100.1:4000"), b = tuple("198.51.100.1:4001");
	struct mobroute *r = mobroute_create(7);
	const struct mobroute_entry *e;
	char name[32];
	int calls = 0, i;

	CHECK(r != NULL && mobroute_get(r, &a) == NULL && mobroute_get(NULL, &a) == NULL);
	CHECK(mobroute_put(r, &a, 1, 10) == 0 && mobroute_put(r, &b, 2, 11) == 0);
	CHECK((e = mobroute_get(r, &a)) != NULL && e->worker == 1 && e->gen == 10);
	CHECKM(mobroute_put(r, &a, 3, 12) == 0 && mobroute_get(r, &a)->worker == 3 &&
		mobroute_count(r) == 2,
	    "a put replaces the 5-tuple's entry");
	mobroute_del(r, &a, 10);
	CHECKM(mobroute_get(r, &a) != NULL, "a stale generation removes nothing");
	mobroute_del(r, &a, 12);
	CHECK(mobroute_get(r, &a) == NULL && mobroute_count(r) == 1);
	b.transport = TURN_TCP;
	CHECKM(mobroute_get(r, &b) == NULL, "another transport is another 5-tuple");
	b.transport = TURN_UDP;
	for (i = 0; i < 600; i++) {
		snprintf(name, sizeof name, "198.51.100.%d:%d", i % 200 + 1, 5000 + i);
		a = tuple(name);
		if (mobroute_put(r, &a, (size_t)(i % 3), (uint64_t)i + 100) != 0)
			abort();
	}
	CHECK(mobroute_count(r) == 601);
	mobroute_walk(r, drop_worker_2, &calls);
	CHECKM(calls == 601 && mobroute_count(r) == 400 && mobroute_get(r, &b) == NULL,
	    "walk drops the entries its callback refuses");
	mobroute_del(r, &a, 0);
	CHECK(mobroute_count(r) == 400 - (599 % 3 != 2));
	mobroute_free(r);
	mobroute_free(NULL);
	return unit_done();
}
