/* Unit tests for src/turn/alternate.c: parsing targets and the choice among them. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/alternate.h"
#include "turnpike/turn.h"
#include "unit.h"

static bool
target_is(const struct alternate_target *t, const char *addr, const char *domain)
{
	struct sockaddr_storage want;
	const char *errstr;

	return addr_parse(addr, 0, &want, &errstr) == 0 &&
	    addr_equal((const struct sockaddr *)&t->addr, (const struct sockaddr *)&want) &&
	    strcmp(t->domain, domain) == 0;
}

static void
test_parse(void)
{
	struct alternate_set *s = alternate_set_create();
	struct alternate_query q = {.transport = TURN_TLS, .family = AF_INET6};
	struct alternate_target t;
	uint32_t cur = 0;
	char *cause = NULL;
	static const char *bad[] = {"", "/x.org", "example.org", "192.0.2.1:0", "0.0.0.0:3478",
	    "192.0.2.1/", "192.0.2.1/bad_name", "192.0.2.1/a b", "[::1", "192.0.2.1:70000"};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECKM(alternate_set_add(s, ALTERNATE_PLAIN, bad[i], &cause) == -1 && cause != NULL,
		    bad[i]);
		free(cause);
		cause = NULL;
	}
	CHECK(alternate_set_count(s, ALTERNATE_PLAIN) == 0);
	CHECK(alternate_set_add(s, ALTERNATE_TLS, "[2001:db8::5]/turn.example.org", &cause) == 0);
	CHECKM(alternate_choose(s, &q, &cur, &t) &&
		target_is(&t, "[2001:db8::5]:5349", "turn.example.org"),
	    "TLS entries default to port 5349 and keep their domain");
	q.transport = TURN_TCP;
	CHECKM(!alternate_choose(s, &q, &cur, &t), "TCP uses the plain list (empty)");
	CHECKM(!alternate_choose(NULL, &q, &cur, &t), "no set: never redirect");
	alternate_set_free(s);
	alternate_set_free(NULL);
}

static void
test_choose(void)
{
	struct alternate_set *s = alternate_set_create();
	struct alternate_query q = {.transport = TURN_UDP, .family = AF_INET};
	struct alternate_target t;
	uint32_t cur = 0;
	char *cause = NULL;
	int a = 0, b = 0, i;

	CHECK(alternate_set_add(s, ALTERNATE_PLAIN, "192.0.2.1:3000", &cause) == 0);
	CHECK(alternate_set_add(s, ALTERNATE_PLAIN, "[2001:db8::1]:3000", &cause) == 0);
	CHECK(alternate_set_add(s, ALTERNATE_PLAIN, "192.0.2.2", &cause) == 0);
	CHECK(alternate_set_add(s, ALTERNATE_PLAIN, "192.0.2.1:3000", &cause) == 0);
	for (i = 0; i < 300; i++) {
		if (!alternate_choose(s, &q, &cur, &t) || t.addr.ss_family != AF_INET)
			break;
		a += target_is(&t, "192.0.2.1:3000", "");
		b += target_is(&t, "192.0.2.2:3478", "");
	}
	CHECKM(i == 300 && a == 200 && b == 100,
	    "IPv4 clients: only IPv4 entries, the one listed twice chosen twice as often");
	q.family = AF_INET6;
	CHECKM(alternate_choose(s, &q, &cur, &t) && target_is(&t, "[2001:db8::1]:3000", ""),
	    "IPv6 clients: the IPv6 entry");
	q.draining = true;
	CHECKM(alternate_choose(s, &q, &cur, &t), "draining: redirected as well");
	alternate_set_free(s);
}

/* One fleet node at addr with a load. */
static void
fleet_node(struct alternate_query *q, const char *addr, uint64_t allocs, uint64_t cap,
    bool draining)
{
	struct alternate_node *n = &q->fleet[q->nfleet++];
	const char *errstr;

	memset(n, 0, sizeof *n);
	(void)addr_parse(addr, 3478, &n->addr, &errstr);
	n->tls_port = 5349;
	n->allocations = allocs;
	n->capacity = cap;
	n->draining = draining;
}

static void
test_fleet(void)
{
	struct alternate_set *s = alternate_set_create();
	struct alternate_query *q = calloc(1, sizeof *q);
	struct alternate_target t;
	uint32_t cur = 0;
	char *cause = NULL;

	q->transport = TURN_UDP;
	q->family = AF_INET;
	q->redirect_at = 900;
	q->allocations = 80;
	q->capacity = 100;
	fleet_node(q, "192.0.2.1:3478", 50, 100, false);
	fleet_node(q, "192.0.2.2:3479", 10, 100, false);
	fleet_node(q, "192.0.2.3:3478", 0, 100, true);
	fleet_node(q, "[2001:db8::1]:3478", 0, 100, false);
	fleet_node(q, "192.0.2.4:3478", 95, 100, false);
	CHECKM(!alternate_fleet_wanted(q) && !alternate_choose(NULL, q, &cur, &t),
	    "below fleet-redirect-at: served here");
	q->allocations = 90;
	CHECKM(alternate_fleet_wanted(q) && alternate_choose(NULL, q, &cur, &t) &&
		target_is(&t, "192.0.2.2:3479", ""),
	    "at 0.9 of capacity: the least-loaded live node of the family, not the draining one");
	q->fleet[1].allocations = 60;
	CHECKM(alternate_choose(NULL, q, &cur, &t) && target_is(&t, "192.0.2.1:3478", ""),
	    "loads compared as fractions of each node's capacity");
	q->fleet[0].capacity = 1000; /* 50 of 1000 */
	CHECKM(alternate_choose(NULL, q, &cur, &t) && target_is(&t, "192.0.2.1:3478", ""),
	    "a bigger node with more allocations can be the least loaded");
	q->transport = TURN_TLS;
	CHECKM(alternate_choose(NULL, q, &cur, &t) && target_is(&t, "192.0.2.1:5349", ""),
	    "TLS goes to the node's TLS port");
	q->transport = TURN_UDP;
	q->family = AF_INET6;
	CHECKM(alternate_choose(NULL, q, &cur, &t) && target_is(&t, "[2001:db8::1]:3478", ""),
	    "IPv6 clients go to an IPv6 node");
	q->family = AF_INET;
	q->fleet[0].draining = q->fleet[1].draining = true;
	CHECKM(!alternate_choose(NULL, q, &cur, &t),
	    "no live node below the bar: served here (no ping-pong to a full node)");
	CHECK(alternate_set_add(s, ALTERNATE_PLAIN, "198.51.100.9", &cause) == 0);
	q->allocations = 1;
	q->draining = true;
	CHECKM(alternate_choose(s, q, &cur, &t) && target_is(&t, "198.51.100.9:3478", ""),
	    "draining with no fleet node to take it: the configured alternate-server");
	q->fleet[1].draining = false;
	CHECKM(alternate_choose(s, q, &cur, &t) && target_is(&t, "192.0.2.2:3479", ""),
	    "draining: the fleet first");
	q->redirect_at = 0;
	q->draining = false;
	CHECKM(alternate_choose(s, q, &cur, &t) && target_is(&t, "198.51.100.9:3478", ""),
	    "no fleet: alternate-server as before");
	alternate_set_free(s);
	free(q);
}

int
main(void)
{
	test_parse();
	test_choose();
	test_fleet();
	return unit_done();
}
