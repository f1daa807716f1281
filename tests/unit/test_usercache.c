/* The bounded user table and the on-demand user cache. */
#include "config.h"

#include "turnpike/integrity.h"
#include "turnpike/usercache.h"
#include "unit.h"

static void
test_usertab(void)
{
	struct usertab *t = usertab_create(4);
	struct creds_key k = {{1}, {2}, true}, out;
	uint8_t hash[32];
	char name[CREDS_NAME_MAX], big[40];
	size_t namelen = 0;
	int i;

	CHECK(t != NULL && usertab_count(t) == 0);
	CHECK(usertab_add(t, "r", "alice", &k) == 0 && usertab_count(t) == 1);
	k.md5[0] = 9;
	CHECKM(usertab_add(t, "r", "alice", &k) == 0 && usertab_count(t) == 1,
	    "adding again replaces");
	CHECK(usertab_find(t, "r", 1, "alice", 5, &out) == CREDS_FOUND && out.md5[0] == 9 &&
	    out.has_sha256);
	CHECKM(usertab_find(t, "s", 1, "alice", 5, &out) == CREDS_UNKNOWN, "realms are apart");
	CHECK(usertab_find(t, "r", 1, "alic", 4, &out) == CREDS_UNKNOWN);
	for (i = 0; i < 200; i++) {
		snprintf(big, sizeof big, "user%d", i);
		usertab_add(t, "r", big, &k);
	}
	CHECKM(usertab_count(t) == 201 &&
		usertab_find(t, "r", 1, "user199", 7, &out) == CREDS_FOUND,
	    "more users than it was sized for");
	integrity_userhash("alice", 5, "r", 1, hash);
	CHECKM(usertab_find_hash(t, hash, "r", 1, name, &namelen) == CREDS_FOUND && namelen == 5 &&
		strcmp(name, "alice") == 0,
	    "a user by its USERHASH");
	CHECK(usertab_find_hash(t, hash, "s", 1, name, &namelen) == CREDS_UNKNOWN);
	for (i = 0; i < 200; i++) {
		snprintf(big, sizeof big, "user%d", i);
		integrity_userhash(big, strlen(big), "r", 1, hash);
		if (usertab_find_hash(t, hash, "r", 1, name, &namelen) != CREDS_FOUND ||
		    strcmp(name, big) != 0 || namelen != strlen(big))
			break;
	}
	CHECKM(i == 200,
	    "each of 200 users (more than buckets sized for) is found by its USERHASH");
	hash[0] ^= 1;
	CHECKM(usertab_find_hash(t, hash, "r", 1, name, &namelen) == CREDS_UNKNOWN,
	    "an unknown USERHASH: none");
	CHECK(usertab_find(NULL, "r", 1, "alice", 5, &out) == CREDS_UNKNOWN);
	CHECK(usertab_has(t, "r", "user7") && !usertab_has(t, "s", "user7"));
	usertab_del(t, "r", "user7");
	usertab_del(t, "r", "nobody");
	CHECKM(usertab_count(t) == 200 && !usertab_has(t, "r", "user7") &&
		usertab_find(t, "r", 1, "user7", 5, &out) == CREDS_UNKNOWN &&
		usertab_find(t, "r", 1, "user8", 5, &out) == CREDS_FOUND,
	    "a user removed (a change applied from the store's log); the others stay");
	usertab_free(t);
	usertab_free(NULL);
}

static void
test_usercache(void)
{
	struct usercache *c = usercache_create();
	struct creds_key k = {{7}, {0}, false}, out;
	char realm[STORE_REALM_MAX + 1], name[STORE_NAME_MAX + 1], *names = NULL;
	bool queued = false;
	size_t n = 0;
	int i;

	CHECKM(usercache_get(c, "r", 1, "bob", 3, &out, &queued) == CREDS_PENDING && queued,
	    "a miss answers PENDING at once and queues the name");
	CHECKM(usercache_get(c, "r", 1, "bob", 3, &out, &queued) == CREDS_PENDING && !queued,
	    "... once");
	CHECK(usercache_next_wanted(c, realm, name) && strcmp(realm, "r") == 0 &&
	    strcmp(name, "bob") == 0);
	CHECK(!usercache_next_wanted(c, realm, name));
	usercache_put(c, "r", "bob", CREDS_FOUND, &k);
	CHECKM(usercache_get(c, "r", 1, "bob", 3, &out, &queued) == CREDS_FOUND && out.md5[0] == 7,
	    "the store thread's answer is served");
	usercache_put(c, "r", "eve", CREDS_UNKNOWN, NULL);
	CHECKM(usercache_get(c, "r", 1, "eve", 3, &out, &queued) == CREDS_UNKNOWN && !queued,
	    "a negative entry: 401 without asking the store again");
	CHECK(usercache_names(c, &names, &n) == 0 && n == 2);
	free(names);
	for (i = 0; i < USERCACHE_WANTED + 10; i++) {
		snprintf(name, sizeof name, "u%d", i);
		usercache_get(c, "r", 1, name, strlen(name), &out, &queued);
	}
	CHECKM(!queued, "the queue is bounded: a miss beyond it is not queued");
	for (i = 0; usercache_next_wanted(c, realm, name); i++)
		;
	CHECK(i == USERCACHE_WANTED);
	CHECKM(usercache_get(c, "r", 1, "a\0b", 3, &out, &queued) == CREDS_UNKNOWN && !queued,
	    "a name no store holds is unknown, not queued");
	usercache_clear(c);
	CHECKM(usercache_get(c, "r", 1, "bob", 3, &out, &queued) == CREDS_PENDING,
	    "cleared: asked again");
	usercache_free(c);
	usercache_free(NULL);
}

int
main(void)
{
	test_usertab();
	test_usercache();
	return unit_done();
}
