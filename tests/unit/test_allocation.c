/* The allocation table, relays, permissions and channel bindings. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/allocation.h"
#include "unit.h"

static struct sockaddr_storage
sa(const char *text)
{
	struct sockaddr_storage ss;
	const char *errstr;

	if (addr_parse(text, 0, &ss, &errstr) == -1)
		abort();
	return ss;
}

static struct turn_5tuple
tuple(const char *client, uint8_t transport)
{
	struct turn_5tuple t;

	memset(&t, 0, sizeof t);
	t.client = sa(client);
	t.server = sa("192.0.2.1:3478");
	t.transport = transport;
	return t;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void
test_table(void)
{
	struct allocation_table *tab = allocation_table_create(42);
	struct turn_allocation *a[300], *x;
	struct turn_5tuple t;
	char client[64];
	size_t i, found = 0;

	for (i = 0; i < 300; i++) {
		snprintf(client, sizeof client, "198.51.100.%zu:%zu", i % 200, 1000 + i);
		t = tuple(client, TURN_UDP);
		a[i] = allocation_add(tab, &t, i % 2 ? "odd" : "even", i % 2 ? 3 : 4);
	}
	CHECK(allocation_table_count(tab) == 300);
	CHECK(allocation_table_user_count(tab, "odd", 3) == 150);
	CHECK(allocation_table_user_count(tab, "even", 4) == 150);
	CHECK(allocation_table_user_count(tab, "eve", 3) == 0);
	for (i = 0; i < 300; i++)
		found += allocation_find(tab, &a[i]->tuple) == a[i];
	CHECKM(found == 300, "every allocation found by its 5-tuple after growth");
	t = tuple("198.51.100.0:1000", TURN_TCP);
	CHECKM(allocation_find(tab, &t) == NULL, "transport is part of the 5-tuple");
	t = tuple("198.51.100.0:1001", TURN_UDP);
	CHECKM(allocation_find(tab, &t) == NULL, "client port is part of the 5-tuple");
	t = a[0]->tuple;
	t.server = sa("192.0.2.2:3478");
	CHECKM(allocation_find(tab, &t) == NULL, "server address is part of the 5-tuple");
	CHECK(allocation_is_user(a[1], "odd", 3) && !allocation_is_user(a[1], "od", 2) &&
	    !allocation_is_user(a[1], "even", 4));
	t = a[10]->tuple;
	allocation_remove(tab, a[10]);
	CHECK(allocation_find(tab, &t) == NULL && allocation_table_count(tab) == 299);
	CHECK(allocation_table_user_count(tab, "even", 4) == 149);
	for (i = 1; i < 300; i += 2)
		allocation_remove(tab, a[i]);
	CHECKM(allocation_table_user_count(tab, "odd", 3) == 0, "user count back to zero");
	x = allocation_find(tab, &a[20]->tuple);
	CHECK(x == a[20]);
	allocation_table_free(tab);
	allocation_table_free(NULL);
}

static void
test_relays(void)
{
	struct allocation_table *tab = allocation_table_create(1);
	struct turn_5tuple t = tuple("198.51.100.1:1000", TURN_UDP);
	struct turn_allocation *a = allocation_add(tab, &t, "u", 1);
	struct turn_relay *r4, *r6, *r;

	r4 = allocation_free_relay(a);
	r4->relayed = sa("192.0.2.1:50000");
	CHECKM(allocation_relay(a, AF_INET) == NULL, "a relay is live only once kept");
	allocation_keep_relay(a, r4);
	r6 = allocation_free_relay(a);
	CHECK(r6 != NULL && r6 != r4);
	r6->relayed = sa("[2001:db8::1]:50002");
	allocation_keep_relay(a, r6);
	CHECK(allocation_free_relay(a) == NULL && a->nrelays == 2);
	CHECK(allocation_relay(a, AF_INET) == r4 && allocation_relay(a, AF_INET6) == r6);
	CHECK(allocation_has_relay(a, r4) && allocation_has_relay(a, r6));
	allocation_drop_relay(a, r4);
	CHECKM(allocation_relay(a, AF_INET6) == r6 && !allocation_has_relay(a, r4),
	    "dropping one relay leaves the other where it was");
	CHECK(allocation_relay(a, AF_INET) == NULL && a->nrelays == 1);
	r = allocation_free_relay(a);
	CHECK(r == r4);
	allocation_table_free(tab);
}

static void
test_permissions(void)
{
	struct allocation_table *tab = allocation_table_create(1);
	struct turn_5tuple t = tuple("198.51.100.1:1000", TURN_UDP);
	struct turn_allocation *a = allocation_add(tab, &t, "u", 1);
	struct sockaddr_storage p1 = sa("203.0.113.1:5000"), p1b = sa("203.0.113.1:6000");
	struct sockaddr_storage p2 = sa("203.0.113.2:5000"), p3 = sa("203.0.113.3:5000");
	struct sockaddr_storage p6 = sa("[2001:db8::9]:5000");

	CHECK(allocation_permit(a, SA(p1), 1000, 2, 0) == 0);
	CHECKM(allocation_is_permitted(a, SA(p1b), 999), "permissions ignore the port");
	CHECK(!allocation_is_permitted(a, SA(p2), 0));
	CHECKM(!allocation_is_permitted(a, SA(p1), 1000), "expired at its expiry time");
	CHECK(allocation_permit(a, SA(p2), 1000, 2, 0) == 0);
	CHECKM(allocation_permit(a, SA(p3), 1000, 2, 0) == -1, "max_permissions enforced");
	CHECKM(allocation_permit(a, SA(p1b), 3000, 2, 500) == 0 &&
		allocation_is_permitted(a, SA(p1), 2000),
	    "refreshing an existing permission when full");
	CHECKM(allocation_permit(a, SA(p3), 3000, 2, 1500) == 0,
	    "an expired permission makes room");
	CHECK(allocation_permit(a, SA(p6), 3000, 0, 1500) == 0 && a->nperms == 3);
	allocation_purge(a, 3000);
	CHECK(a->nperms == 0 && !allocation_is_permitted(a, SA(p6), 0));
	allocation_table_free(tab);
}

static void
test_channels(void)
{
	struct allocation_table *tab = allocation_table_create(1);
	struct turn_5tuple t = tuple("198.51.100.1:1000", TURN_UDP);
	struct turn_allocation *a = allocation_add(tab, &t, "u", 1);
	struct sockaddr_storage p1 = sa("203.0.113.1:5000"), p1b = sa("203.0.113.1:6000");
	struct sockaddr_storage p2 = sa("203.0.113.2:5000");
	const struct allocation_channel *c;

	CHECK(allocation_bind(a, 0x4000, SA(p1), 1000, 2, 0) == ALLOCATION_BIND_OK);
	CHECK((c = allocation_channel(a, 0x4000, 10)) != NULL && addr_equal(SA(c->peer), SA(p1)));
	CHECK(allocation_channel_of(a, SA(p1), 10) == c);
	CHECKM(allocation_channel_of(a, SA(p1b), 10) == NULL, "channels are per IP and port");
	CHECKM(allocation_bind_check(a, 0x4000, SA(p2), 2, 10) == ALLOCATION_BIND_CONFLICT,
	    "a bound channel cannot move to another peer");
	CHECKM(allocation_bind_check(a, 0x4001, SA(p1), 2, 10) == ALLOCATION_BIND_CONFLICT,
	    "a peer cannot take a second channel");
	CHECKM(allocation_bind(a, 0x4000, SA(p1), 5000, 2, 10) == ALLOCATION_BIND_OK &&
		allocation_channel(a, 0x4000, 4000) != NULL,
	    "refreshing the same binding");
	CHECK(allocation_bind(a, 0x4001, SA(p1b), 1000, 2, 10) == ALLOCATION_BIND_OK);
	CHECKM(allocation_bind(a, 0x4002, SA(p2), 1000, 2, 10) == ALLOCATION_BIND_FULL,
	    "max_channels enforced");
	CHECK(allocation_channel(a, 0x4001, 1000) == NULL);
	CHECKM(allocation_bind(a, 0x4001, SA(p2), 9000, 2, 1000) == ALLOCATION_BIND_OK,
	    "an expired channel can be bound to another peer");
	CHECK(allocation_channel_of(a, SA(p2), 1001)->number == 0x4001);
	allocation_purge(a, 5000);
	CHECK(a->nchans == 1 && allocation_channel(a, 0x4000, 0) == NULL);
	allocation_table_free(tab);
}

int
main(void)
{
	test_table();
	test_relays();
	test_permissions();
	test_channels();
	return unit_done();
}
