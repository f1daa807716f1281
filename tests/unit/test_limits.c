/*
 * Cross-worker limits: user and total quotas (486), units given back, the
 * store's realm options over the configuration, the store's peer ranges over
 * the configured policy, and user counts from several threads at once.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/limits.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/store.h"
#include "turnpike/userdb.h"
#include "unit.h"

#define REALM "example.org"

static int
take(struct limits *l, size_t total, const char *user, struct limits_user **h)
{
	uint64_t bps;

	return limits_take(l, total, user, strlen(user), h, &bps);
}

static void
test_quotas(void)
{
	struct limits_values v = {2, 5, 1000};
	struct limits *l = limits_create(&v, NULL, REALM);
	struct limits_user *a1, *a2, *a3, *b1, *anon;
	uint64_t bps = 0;

	CHECK(l != NULL);
	CHECK(limits_take(l, 0, "alice", 5, &a1, &bps) == 0 && a1 != NULL && bps == 1000);
	CHECK(take(l, 1, "alice", &a2) == 0);
	CHECKM(take(l, 2, "alice", &a3) == 486 && a3 == NULL, "user-quota 2: the third gets 486");
	CHECKM(take(l, 2, "bob", &b1) == 0, "another user is counted apart");
	CHECKM(limits_user_count(l, "alice", 5) == 2 && limits_user_count(l, "bob", 3) == 1,
	    "counts per user");
	CHECKM(take(l, 5, "carol", &anon) == 486, "total-quota 5: 486 at 5 allocations");
	CHECKM(limits_take(l, 3, "", 0, &anon, &bps) == 0 && anon == NULL,
	    "no user name (no-auth): no user quota");
	limits_release(l, a1);
	CHECKM(take(l, 3, "alice", &a3) == 0, "a released unit can be taken again");
	limits_release(l, a2);
	limits_release(l, a3);
	limits_release(l, b1);
	limits_release(l, NULL);
	CHECKM(limits_user_count(l, "alice", 5) == 0, "all given back");
	limits_free(l);
	limits_free(NULL);
}

static void
test_store_overrides(void)
{
	struct limits_values v = {1, 0, 0}, now;
	struct limits *l = limits_create(&v, NULL, REALM);
	struct store_row opts[] = {
	    {REALM, "user-quota", "3"},
	    {REALM, "max-bps", "5000"},
	    {"other.org", "total-quota", "1"},
	    {REALM, "total-quota", "junk"},
	};
	struct userdb_rows rows = {opts, 4, NULL, 0};
	struct limits_user *h[3];
	uint64_t bps;
	int i, ok = 0;

	limits_apply_store(l, &rows);
	limits_current(l, &now);
	CHECKM(now.user_quota == 3 && now.max_bps == 5000, "the realm's options override");
	CHECKM(now.total_quota == 0, "another realm's and malformed values do not");
	for (i = 0; i < 3; i++)
		ok += limits_take(l, (size_t)i, "u", 1, &h[i], &bps) == 0;
	CHECKM(ok == 3 && bps == 5000, "three allocations under the store's user-quota 3");
	rows.nopts = 0;
	limits_apply_store(l, &rows);
	limits_current(l, &now);
	CHECKM(now.user_quota == 1 && now.max_bps == 0, "removed options: the configuration again");
	CHECKM(limits_take(l, 3, "u", 1, &h[0], &bps) != 0, "... and its user-quota 1 holds");
	for (i = 0; i < 3; i++)
		limits_release(l, h[i]);
	limits_free(l);
}

static bool
peer_ok(struct limits *l, const char *ip)
{
	struct sockaddr_storage ss;
	const char *errstr, *reason;

	memset(&ss, 0, sizeof ss);
	if (addr_parse_ip(ip, &ss, &errstr) != 0)
		return false;
	addr_set_port((struct sockaddr *)&ss, 5000);
	return limits_peer_check(l, (const struct sockaddr *)&ss, &reason);
}

static void
test_store_peers(void)
{
	struct limits_values v = {0, 0, 0};
	struct peerpolicy *pp = peerpolicy_create();
	struct limits *l;
	char *cause = NULL;
	struct store_row peers[] = {
	    {"", "deny", "11.51.100.0/24"},
	    {REALM, "allow", "10.9.0.0/16"},
	    {"other.org", "deny", "11.0.113.0/24"},
	    {REALM, "deny", "not-a-range"},
	    {"", "deny", "11.0.2.0/24"},
	};
	struct userdb_rows rows = {NULL, 0, peers, 5};

	CHECK(peerpolicy_allow(pp, "11.0.2.7", &cause) == 0);
	l = limits_create(&v, pp, REALM);
	CHECKM(peer_ok(l, "11.51.100.1") && !peer_ok(l, "10.9.1.1"), "the configured policy");
	limits_apply_store(l, &rows);
	CHECKM(!peer_ok(l, "11.51.100.1"), "a store deny of realm '' applies");
	CHECKM(peer_ok(l, "10.9.1.1"), "a store allow of the server realm opens a private range");
	CHECKM(peer_ok(l, "11.0.113.1"), "another realm's range does not apply");
	CHECKM(!peer_ok(l, "11.0.2.8"), "a malformed range is skipped, the next ones apply");
	CHECKM(peer_ok(l, "11.0.2.7"), "a configured allowed-peer-ip wins over a store deny");
	CHECKM(!peer_ok(l, "127.0.0.1"), "the defaults stay");
	rows.npeers = 0;
	limits_apply_store(l, &rows);
	CHECKM(peer_ok(l, "11.51.100.1") && !peer_ok(l, "10.9.1.1"),
	    "ranges removed: as configured");
	limits_free(l);
	peerpolicy_free(pp);
}

#define THREADS 4
#define ROUNDS 5000

static void *
churn(void *arg)
{
	struct limits *l = arg;
	struct limits_user *h;
	uint64_t bps;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		if (limits_take(l, 0, "shared", 6, &h, &bps) == 0)
			limits_release(l, h);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct limits_values v = {THREADS, 0, 0};
	struct limits *l = limits_create(&v, NULL, REALM);
	pthread_t t[THREADS];
	int i;

	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, churn, l);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECKM(limits_user_count(l, "shared", 6) == 0, "take/release from 4 threads balance out");
	limits_free(l);
}

/* A fake fleet: other nodes hold remote_user of every user and remote_total in all. */
static uint64_t remote_user, remote_total;
static int remote_changes;

static uint64_t
fake_user(void *ctx, const char *user, size_t len)
{
	(void)ctx, (void)user, (void)len;
	return remote_user;
}

static uint64_t
fake_total(void *ctx)
{
	(void)ctx;
	return remote_total;
}

static void
fake_changed(void *ctx)
{
	(void)ctx;
	remote_changes++;
}

static void
count_user(void *arg, const char *user, size_t len, uint64_t count)
{
	(void)user, (void)len;
	*(uint64_t *)arg += count;
}

static void
test_remote(void)
{
	static const struct limits_remote ops = {fake_user, fake_total, fake_changed};
	struct limits_values v = {2, 5, 0};
	struct limits *l = limits_create(&v, NULL, REALM);
	struct limits_user *h1, *h2;
	uint64_t n = 0;

	limits_set_remote(l, &ops, NULL);
	remote_user = 1;
	CHECK(take(l, 0, "alice", &h1) == 0);
	CHECKM(take(l, 1, "alice", &h2) == 486 && h2 == NULL,
	    "user-quota 2: one here and one on another node, a third is refused");
	CHECKM(remote_changes == 1, "the fleet is told of the take (not of the refusal)");
	remote_user = 2;
	CHECKM(take(l, 1, "carol", &h2) == 486, "carol holds 2 elsewhere: refused here");
	CHECKM(limits_user_count(l, "carol", 5) == 0, "a refused user leaves no entry behind");
	remote_user = 0;
	remote_total = 4;
	CHECKM(take(l, 1, "bob", &h2) == 486, "total-quota 5: 1 here and 4 elsewhere");
	limits_foreach_user(l, count_user, &n);
	CHECKM(n == 1, "foreach_user reports the one allocation held here");
	limits_release(l, h1);
	CHECKM(remote_changes == 2, "and of the release");
	remote_total = 0;
	limits_set_remote(l, NULL, NULL);
	CHECKM(take(l, 0, "alice", &h1) == 0 && take(l, 1, "alice", &h2) == 0,
	    "without the fleet, this node's counts only");
	limits_release(l, h1);
	limits_release(l, h2);
	limits_free(l);
}

int
main(void)
{
	test_quotas();
	test_remote();
	test_store_overrides();
	test_store_peers();
	test_threads();
	return unit_done();
}
