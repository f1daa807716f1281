/* Generations of shared worker state: built from a configuration, chained by reloads. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/config.h"
#include "turnpike/creds.h"
#include "turnpike/gen.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/portpool.h"
#include "turnpike/relayaddr.h"
#include "unit.h"

static struct config *boot;
static struct relayaddr *relays;
static struct portpool *pool;
static atomic_size_t allocations;
static struct gen_fixed fixed;

static struct config *
conf(const char *text)
{
	struct config *cfg = NULL;
	char *cause = NULL;

	if (config_create_text("t.conf", text, strlen(text), &cfg, &cause) != 0) {
		printf("# %s\n", cause);
		abort();
	}
	return cfg;
}

static bool
finds(const struct gen *g, const char *user)
{
	struct creds_result r;

	return creds_lookup(&g->creds, user, strlen(user), g->turn.realm, strlen(g->turn.realm), 0,
		   &r) == CREDS_FOUND;
}

static bool
peer_ok(const struct gen *g, const char *ip)
{
	struct sockaddr_storage ss;
	const char *errstr;

	memset(&ss, 0, sizeof ss);
	addr_parse(ip, 5000, &ss, &errstr);
	return peerpolicy_check(g->turn.policy, (const struct sockaddr *)&ss, &errstr);
}

static void
setup(void)
{
	char *cause = NULL;

	boot = conf("listening-ip=127.0.0.1\nno-tls\nmin-port=40000\nmax-port=40099\n"
		    "user=alice:a\nrealm=one\n");
	if (relayaddr_create(boot, &relays, &cause) != 0)
		abort();
	pool = portpool_create(40000, 40099, relays->n);
	atomic_init(&allocations, 0);
	fixed.boot = boot;
	fixed.relays = relays;
	fixed.pool = pool;
	fixed.allocations = &allocations;
}

static void
test_chain(void)
{
	struct gen *g1 = NULL, *g2 = NULL;
	struct config *cfg;
	char *cause = NULL;

	CHECK(config_clone(boot, &cfg) == 0 && gen_create(cfg, &fixed, NULL, &g1, &cause) == 0);
	if (g1 == NULL)
		return;
	CHECKM(g1->id == 1 && g1->setup.generation == 1 && g1->setup.turn == &g1->turn &&
		g1->setup.creds == &g1->creds && g1->setup.ssl_ctx == NULL &&
		g1->setup.pool == pool && gen_of(&g1->setup) == g1,
	    "the first generation: its setup points at its own state and the shared pool");
	CHECKM(finds(g1, "alice") && !finds(g1, "bob") && strcmp(g1->turn.realm, "one") == 0,
	    "users and realm from its configuration");
	CHECKM(!peer_ok(g1, "127.0.0.1") && peer_ok(g1, "8.8.8.8"), "the default peer policy");
	cfg = conf("listening-ip=127.0.0.1\nno-tls\nmin-port=40000\nmax-port=40099\n"
		   "user=bob:b\nrealm=two\nallow-loopback-peers\nmax-allocate-lifetime=300\n"
		   "total-quota=7\nverbose\n");
	CHECK(gen_create(cfg, &fixed, g1, &g2, &cause) == 0);
	if (g2 != NULL) {
		CHECKM(g2->id == 2 && g2->setup.generation == 2 && finds(g2, "bob") &&
			!finds(g2, "alice") && strcmp(g2->turn.realm, "two") == 0,
		    "the next generation: new users and realm");
		CHECKM(peer_ok(g2, "127.0.0.1") && g2->turn.max_lifetime == 300 &&
			g2->turn.default_lifetime == 300 && g2->setup.total_quota == 7 &&
			g2->setup.verbose,
		    "  ... new peer policy, lifetimes, quota and verbosity");
		CHECKM(memcmp(g1->turn.nonce_key, g2->turn.nonce_key, sizeof g1->turn.nonce_key) ==
			0,
		    "  ... and the same nonce key: nonces stay valid across a reload");
		CHECKM(finds(g1, "alice") && !peer_ok(g1, "127.0.0.1"),
		    "the old generation is unchanged");
	}
	gen_free(g2);
	gen_free(g1);
	free(cause);
}

static void
test_refused(void)
{
	struct gen *g = NULL;
	char *cause = NULL;

	CHECKM(gen_create(conf("listening-ip=127.0.0.1\ncert=/nonexistent/c.pem\n"
			       "pkey=/nonexistent/c.key\nuser=alice:a\n"),
		   &fixed, NULL, &g, &cause) == -1 &&
		g == NULL,
	    "an unreadable certificate refuses the generation");
	CHECKM(cause != NULL && strstr(cause, "/nonexistent/c.pem") != NULL,
	    "  ... naming the file");
	if (cause != NULL)
		printf("# %s\n", cause);
	free(cause);
}

int
main(void)
{
	setup();
	test_chain();
	test_refused();
	portpool_free(pool);
	relayaddr_free(relays);
	config_free(boot);
	return unit_done();
}
