/* Relay addresses: candidates, external-ip mapping, the choice for a client. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/config.h"
#include "turnpike/relayaddr.h"
#include "unit.h"

static struct sockaddr_storage
ip(const char *s)
{
	struct sockaddr_storage ss;
	const char *errstr;

	memset(&ss, 0, sizeof ss);
	addr_parse(s, 3478, &ss, &errstr);
	return ss;
}

static bool
is(const struct sockaddr_storage *ss, const char *text)
{
	struct sockaddr_storage want = ip(text);

	return addr_equal_ip((const struct sockaddr *)ss, (const struct sockaddr *)&want);
}

static struct relayaddr *
from_conf(const char *text)
{
	struct relayaddr *ra = NULL;
	struct config *cfg;
	char *cause = NULL;

	if (config_create_text("t", text, strlen(text), &cfg, &cause) != 0) {
		printf("# %s\n", cause);
		free(cause);
		return NULL;
	}
	if (relayaddr_create(cfg, &ra, &cause) != 0) {
		printf("# %s\n", cause);
		free(cause);
	}
	config_free(cfg);
	return ra;
}

static void
test_from_config(void)
{
	struct relayaddr *ra;

	ra = from_conf("listening-ip=127.0.0.1\nlistening-ip=::1\nlistening-ip=fe80::1\n");
	CHECK(ra != NULL && ra->n == 2 && !ra->fixed);
	CHECKM(ra != NULL && is(&ra->v[0].local, "127.0.0.1") && is(&ra->v[1].local, "::1") &&
		ra->v[0].loopback && ra->v[1].loopback,
	    "listening addresses, without link-local ones");
	CHECKM(ra != NULL && addr_port((const struct sockaddr *)&ra->v[0].local) == 0,
	    "ports are left to the pool");
	relayaddr_free(ra);

	ra = from_conf("listening-ip=127.0.0.1\nrelay-ip=10.0.0.1\nrelay-ip=10.0.0.2\n"
		       "relay-ip=10.0.0.1\nexternal-ip=192.0.2.7\n"
		       "external-ip=192.0.2.9/10.0.0.2\n");
	CHECKM(ra != NULL && ra->fixed && ra->n == 2, "relay-ip wins, kept once");
	CHECKM(ra != NULL && is(&ra->v[1].advertised, "192.0.2.9"),
	    "a public/private pair maps its private address");
	CHECKM(ra != NULL && is(&ra->v[0].advertised, "192.0.2.7"),
	    "a bare public address maps the others");
	relayaddr_free(ra);

	ra = from_conf("listening-ip=0.0.0.0\n");
	CHECKM(ra != NULL && ra->n >= 1 && is(&ra->v[0].local, "127.0.0.1") == ra->v[0].loopback,
	    "a wildcard listener relays on interface addresses");
	relayaddr_free(ra);
	relayaddr_free(NULL);
}

static void
test_order(void)
{
	struct relayaddr ra = {0};
	struct sockaddr_storage a = ip("10.0.0.2"), lo = ip("127.0.0.1"), v6 = ip("[2001:db8::1]");
	struct sockaddr_storage adds[] = {ip("127.0.0.1"), ip("10.0.0.1"), ip("10.0.0.2"),
	    ip("[2001:db8::1]"), ip("[::1]")};
	size_t out[8], n, i;

	for (i = 0; i < sizeof adds / sizeof adds[0]; i++)
		CHECK(relayaddr_add(&ra, (const struct sockaddr *)&adds[i]) == 0);
	n = relayaddr_order(&ra, AF_INET, (const struct sockaddr *)&a, 0, out, 8);
	CHECKM(n == 2 && out[0] == 2 && out[1] == 1,
	    "the address reached first; no loopback relay for a remote client");
	n = relayaddr_order(&ra, AF_INET, (const struct sockaddr *)&a, 1, out, 1);
	CHECKM(n == 1 && out[0] == 2, "cap respected, reached address still first");
	n = relayaddr_order(&ra, AF_INET6, (const struct sockaddr *)&a, 0, out, 8);
	CHECKM(n == 1 && out[0] == 3, "the other family: its non-loopback address");
	n = relayaddr_order(&ra, AF_INET6, (const struct sockaddr *)&lo, 0, out, 8);
	CHECKM(n == 2 && out[0] == 4 && out[1] == 3, "a loopback client prefers loopback");
	n = relayaddr_order(&ra, AF_INET, (const struct sockaddr *)&v6, 0, out, 8);
	CHECK(n == 2 && out[0] != 0 && out[1] != 0);
	ra.fixed = true;
	n = relayaddr_order(&ra, AF_INET, (const struct sockaddr *)&a, 0, out, 8);
	CHECKM(n == 3 && out[2] == 0, "with relay-ip, loopback relays are offered last");
	free(ra.v);

	memset(&ra, 0, sizeof ra);
	CHECK(relayaddr_add(&ra, (const struct sockaddr *)&a) == 0);
	CHECKM(relayaddr_order(&ra, AF_INET6, (const struct sockaddr *)&a, 0, out, 8) == 0,
	    "no address of the family: none (440)");
	free(ra.v);
}

int
main(void)
{
	test_from_config();
	test_order();
	return unit_done();
}
