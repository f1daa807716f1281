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
take_in(struct limits *l, const char *realm, const char *user, struct limits_user **h,
    uint64_t *bps)
{
	struct limits_req req = {realm, strlen(realm), user, strlen(user)};

	return limits_take(l, &req, h, bps);
}

static int
take(struct limits *l, const char *user, struct limits_user **h)
{
	uint64_t bps;

	return take_in(l, REALM, user, h, &bps);
}

static void
test_quotas(void)
{
	struct limits_values v = {2, 5, 1000};
	struct limits *l = limits_create(&v, NULL, REALM);
	struct limits_user *a1, *a2, *a3, *b1, *c[3], *anon;
	uint64_t bps = 0;
	int i;

	CHECK(l != NULL);
	CHECK(take_in(l, "", "alice", &a1, &bps) == 0 && a1 != NULL && bps == 1000);
	CHECK(take(l, "alice", &a2) == 0);
	CHECKM(take(l, "alice", &a3) == 486 && a3 == NULL, "user-quota 2: the third gets 486");
	CHECKM(limits_user_count(l, REALM, "alice", 5) == 2, "realm \"\" is the server realm");
	CHECKM(take(l, "bob", &b1) == 0, "another user is counted apart");
	CHECKM(limits_user_count(l, REALM, "alice", 5) == 2 &&
		limits_user_count(l, REALM, "bob", 3) == 1,
	    "counts per user");
	for (i = 0; i < 2; i++)
		CHECK(take(l, "carol", &c[i]) == 0);
	CHECKM(take(l, "dave", &c[2]) == 486, "total-quota 5: 486 at 5 allocations");
	CHECKM(limits_realm_count(l, REALM) == 5, "the realm counts its allocations");
	limits_release(l, c[1]);
	CHECKM(take_in(l, REALM, "", &anon, &bps) == 0 && anon != NULL,
	    "no user name (no-auth): no user quota, counted in the realm");
	limits_release(l, a1);
	CHECKM(take(l, "alice", &a3) == 0, "a released unit can be taken again");
	limits_release(l, a2);
	limits_release(l, a3);
	limits_release(l, b1);
	limits_release(l, c[0]);
	limits_release(l, anon);
	limits_release(l, NULL);
	CHECKM(limits_user_count(l, REALM, "alice", 5) == 0 && limits_realm_count(l, REALM) == 0,
	    "all given back");
	limits_free(l);
	limits_free(NULL);
}

/* Realms are counted apart: quotas, the same name in two realms, the gauge walk. */
static void
count_realm(void *arg, const char *realm, size_t count)
{
	size_t *n = arg;

	n[strcmp(realm, "b.org") == 0] += count;
}

static void
test_realms(void)
{
	struct limits_values v = {1, 2, 0};
	struct limits *l = limits_create(&v, NULL, REALM);
	struct store_row opts[] = {
	    {"b.org", "user-quota", "2"},
	    {"b.org", "total-quota", "3"},
	    {"b.org", "max-bps", "7000"},
	};
	struct userdb_rows rows = {opts, 3, NULL, 0};
	struct limits_user *h[6];
	struct limits_values bv;
	size_t walked[2] = {0, 0};
	uint64_t bps = 0;
	int i, n = 0;

	limits_apply_store(l, &rows);
	limits_realm_values(l, "b.org", &bv);
	CHECKM(bv.user_quota == 2 && bv.total_quota == 3 && bv.max_bps == 7000,
	    "a realm's store options");
	CHECK(take_in(l, REALM, "alice", &h[0], &bps) == 0 && bps == 0);
	CHECKM(take_in(l, REALM, "alice", &h[1], &bps) == 486, "the server realm: user-quota 1");
	CHECKM(take_in(l, "b.org", "alice", &h[1], &bps) == 0 && bps == 7000,
	    "alice of b.org is another user, with b.org's max-bps");
	CHECKM(take_in(l, "b.org", "alice", &h[2], &bps) == 0, "b.org's user-quota is 2");
	CHECKM(take_in(l, "b.org", "alice", &h[3], &bps) == 486, "... and a third gets 486");
	CHECK(take_in(l, "b.org", "bob", &h[3], &bps) == 0);
	CHECKM(take_in(l, "b.org", "carol", &h[4], &bps) == 486, "b.org's total-quota 3");
	CHECKM(take_in(l, REALM, "bob", &h[4], &bps) == 0,
	    "the server realm's total-quota 2 counts its own allocations only");
	limits_realms_walk(l, count_realm, walked);
	CHECKM(walked[0] == 2 && walked[1] == 3, "the walk reports each realm's allocations");
	for (i = 0; i < 5; i++)
		limits_release(l, h[i]);
	n = (int)limits_realm_count(l, "b.org") + (int)limits_realm_count(l, REALM);
	CHECKM(n == 0, "every unit given back");
	limits_free(l);
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
	{
		struct limits_values o;

		limits_realm_values(l, "other.org", &o);
		CHECKM(o.total_quota == 1 && o.user_quota == 1, "other.org has its own");
	}
	for (i = 0; i < 3; i++)
		ok += take_in(l, REALM, "u", &h[i], &bps) == 0;
	CHECKM(ok == 3 && bps == 5000, "three allocations under the store's user-quota 3");
	rows.nopts = 0;
	limits_apply_store(l, &rows);
	limits_current(l, &now);
	CHECKM(now.user_quota == 1 && now.max_bps == 0, "removed options: the configuration again");
	CHECKM(take_in(l, REALM, "u", &h[0], &bps) != 0, "... and its user-quota 1 holds");
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
		if (take_in(l, REALM, "shared", &h, &bps) == 0)
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
	CHECKM(limits_user_count(l, REALM, "shared", 6) == 0,
	    "take/release from 4 threads balance out");
	limits_free(l);
}

int
main(void)
{
	test_quotas();
	test_realms();
	test_store_overrides();
	test_store_peers();
	test_threads();
	return unit_done();
}
