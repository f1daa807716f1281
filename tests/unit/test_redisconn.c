/* Unit tests for src/common/redisconn.c: coturn's Redis connection string. */
#include "config.h"

#include <string.h>

#include "turnpike/redisconn.h"
#include "unit.h"

static void
test_defaults(void)
{
	struct redisconn rc;
	const char *errstr = NULL;

	CHECK(redisconn_parse("", &rc, &errstr) == 0);
	CHECKM(strcmp(rc.host, "127.0.0.1") == 0 && rc.port == 6379 && rc.db == 0 &&
		rc.password[0] == '\0' && rc.connect_timeout == REDISCONN_TIMEOUT,
	    "an empty string: 127.0.0.1:6379, database 0, no password");
	CHECK(redisconn_parse("   \t ", &rc, &errstr) == 0 && rc.port == 6379);
}

static void
test_coturn(void)
{
	struct redisconn rc;
	const char *errstr = NULL;

	CHECK(redisconn_parse("ip=192.0.2.7 dbname=3 password=s3cret port=6380 connect_timeout=30",
		  &rc, &errstr) == 0);
	CHECKM(strcmp(rc.host, "192.0.2.7") == 0 && rc.db == 3 &&
		strcmp(rc.password, "s3cret") == 0 && rc.port == 6380 && rc.connect_timeout == 30,
	    "coturn's documented example, every key");
	CHECK(redisconn_parse("host=redis.example.org database=1 pwd=x", &rc, &errstr) == 0 &&
	    strcmp(rc.host, "redis.example.org") == 0 && rc.db == 1 &&
	    strcmp(rc.password, "x") == 0);
	CHECKM(redisconn_parse("port=1 port=2", &rc, &errstr) == 0 && rc.port == 2,
	    "a key given twice: the last wins");
	CHECKM(redisconn_parse("password=a=b", &rc, &errstr) == 0 &&
		strcmp(rc.password, "a=b") == 0,
	    "a value may hold '='");
}

static void
test_refused(void)
{
	static const char *bad[] = {"ip", "=x", "ip=", "user=x", "port=0", "port=65536", "port=12a",
	    "dbname=-1", "connect_timeout=0", "connect_timeout=3601", "port=99999999999999999999",
	    "dbname=1.5"};
	struct redisconn rc;
	const char *errstr;
	char longer[REDISCONN_HOST_MAX + 8];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errstr = NULL;
		CHECKM(redisconn_parse(bad[i], &rc, &errstr) == -1 && errstr != NULL, bad[i]);
	}
	memset(longer, 'h', sizeof longer);
	memcpy(longer, "ip=", 3);
	longer[sizeof longer - 1] = '\0';
	CHECKM(redisconn_parse(longer, &rc, &errstr) == -1, "a host name too long");
}

int
main(void)
{
	test_defaults();
	test_coturn();
	test_refused();
	return unit_done();
}
