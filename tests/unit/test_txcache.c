/* The retransmission cache: keyed by 5-tuple, method and transaction ID; bounded; expiring. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/txcache.h"
#include "tuple.h"
#include "unit.h"

static struct stun_msg
msg(uint16_t method, uint32_t id)
{
	struct stun_msg m;

	memset(&m, 0, sizeof m);
	m.method = method;
	m.cls = STUN_REQUEST;
	memcpy(m.tid, &id, sizeof id);
	return m;
}

static void
test_basic(void)
{
	struct txcache *c = txcache_create(4, 40000, 7);
	struct turn_5tuple t = tuple("198.51.100.1:1000"), t2 = tuple("198.51.100.1:1001");
	struct stun_msg m = msg(STUN_ALLOCATE, 1), m2 = msg(STUN_REFRESH, 1);
	const uint8_t resp[] = "allocate-success", *got;
	size_t len = 0;

	CHECK(txcache_find(c, &t, &m, 0, &len) == NULL);
	CHECK(txcache_put(c, &t, &m, resp, sizeof resp, 1000) == 0);
	CHECK((got = txcache_find(c, &t, &m, 1000, &len)) != NULL && len == sizeof resp &&
	    memcmp(got, resp, len) == 0);
	CHECKM(txcache_find(c, &t2, &m, 1000, &len) == NULL, "another 5-tuple misses");
	CHECKM(txcache_find(c, &t, &m2, 1000, &len) == NULL, "another method misses");
	m2 = msg(STUN_ALLOCATE, 2);
	CHECKM(txcache_find(c, &t, &m2, 1000, &len) == NULL, "another transaction misses");
	t2 = t;
	t2.transport = TURN_TCP;
	CHECKM(txcache_find(c, &t2, &m, 1000, &len) == NULL, "another transport misses");
	CHECK(txcache_find(c, &t, &m, 40999, &len) != NULL);
	CHECKM(txcache_find(c, &t, &m, 41000, &len) == NULL, "expires after the TTL");
	txcache_free(c);
	txcache_free(NULL);
}

static void
test_bounded(void)
{
	struct txcache *c = txcache_create(20, 40000, 7);
	struct turn_5tuple t = tuple("[2001:db8::1]:1000");
	struct stun_msg m;
	uint8_t resp[4];
	const uint8_t *got;
	size_t len, i, hits = 0;

	for (i = 0; i < 100; i++) {
		m = msg(STUN_CREATE_PERMISSION, (uint32_t)i);
		memcpy(resp, &i, sizeof resp);
		CHECK(txcache_put(c, &t, &m, resp, sizeof resp, 0) == 0);
	}
	for (i = 0; i < 100; i++) {
		m = msg(STUN_CREATE_PERMISSION, (uint32_t)i);
		got = txcache_find(c, &t, &m, 0, &len);
		if (got != NULL) {
			hits++;
			CHECKM(i >= 68 && memcmp(got, &i, 4) == 0, "only the newest 32 stay");
		}
	}
	CHECKM(hits == 32, "capacity rounded up to 32 entries");
	txcache_free(c);
}

int
main(void)
{
	test_basic();
	test_bounded();
	return unit_done();
}
