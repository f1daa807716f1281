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

int
main(void)
{
	test_parse();
	test_choose();
	return unit_done();
}
