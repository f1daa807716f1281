/* auth-failure-limit: failures per source address and per user name (issue 17). */
#include "config.h"

#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/authguard.h"
#include "turnpike/log.h"
#include "unit.h"

static struct sockaddr_storage
sa(const char *text)
{
	struct sockaddr_storage ss;
	const char *errstr;

	if (addr_parse(text, 1, &ss, &errstr) != 0)
		abort();
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))
#define ALLOWED(g, a, u, t) authguard_allowed((g), SA(a), (u), strlen(u), false, (t))
#define FAIL(g, a, u, t) authguard_failed((g), SA(a), (u), strlen(u), (t))

static void
test_by_source(void)
{
	struct authguard *g = authguard_create(5);
	struct sockaddr_storage a = sa("198.51.100.1:1"), b = sa("198.51.100.2:1");
	char user[16];
	int i;

	CHECK(g != NULL && authguard_create(0) == NULL);
	for (i = 0; i < 5; i++) {
		snprintf(user, sizeof user, "u%d", i); /* another name each time */
		CHECK(ALLOWED(g, a, user, 1000));
		FAIL(g, a, user, 1000);
	}
	CHECKM(!ALLOWED(g, a, "alice", 1000), "5 failures a minute from one address: throttled");
	CHECKM(ALLOWED(g, b, "alice", 1000), "another address, same name: not throttled");
	CHECKM(authguard_allowed(g, SA(a), "alice", 5, true, 1000),
	    "the holder of an allocation of that user: never throttled");
	CHECKM(!ALLOWED(g, a, "bob", 1000 + 11000), "11 s later: still under a failure's refill");
	CHECKM(ALLOWED(g, a, "bob", 1000 + 12000), "12 s later (60 s / 5): one failure refilled");
	CHECKM(authguard_dropped(g) == 2, "what was dropped is counted");
	authguard_free(g);
	authguard_free(NULL);
}

static void
test_by_user(void)
{
	struct authguard *g = authguard_create(5);
	struct sockaddr_storage src;
	char text[32];
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof text, "203.0.113.%d:1", i + 1);
		src = sa(text);
		CHECK(ALLOWED(g, src, "carol", 1000));
		FAIL(g, src, "carol", 1000);
	}
	src = sa("203.0.113.99:1");
	CHECKM(!ALLOWED(g, src, "carol", 1000), "one name guessed from 5 addresses: throttled");
	CHECKM(ALLOWED(g, src, "dave", 1000), "other names from that address: not throttled");
	CHECKM(ALLOWED(g, src, "carol2", 1000), "names are compared whole");
	authguard_free(g);
}

int
main(void)
{
	log_set_level(LOG_LEVEL_ERROR); /* the throttle's warnings */
	test_by_source();
	test_by_user();
	return unit_done();
}
