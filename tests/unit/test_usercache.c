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

static void
test_usercache_hash(void)
{
	struct usercache *c = usercache_create();
	struct creds_key k = {{7}, {0}, false}, out;
	char realm[STORE_REALM_MAX + 1], name[CREDS_NAME_MAX];
	uint8_t hash[32], eve[32], got[32];
	bool queued = false;
	size_t len = 0;
	int i;

	integrity_userhash("bob", 3, "r", 1, hash);
	integrity_userhash("eve", 3, "r", 1, eve);
	CHECKM(usercache_get_hash(c, hash, "r", 1, name, &len, &queued) == CREDS_PENDING && queued,
	    "a USERHASH miss answers PENDING at once and queues the hash");
	CHECKM(usercache_get_hash(c, hash, "r", 1, name, &len, &queued) == CREDS_PENDING && !queued,
	    "... once");
	CHECK(usercache_next_wanted_hash(c, realm, got) && strcmp(realm, "r") == 0 &&
	    memcmp(got, hash, 32) == 0);
	CHECK(!usercache_next_wanted_hash(c, realm, got));
	usercache_put_hash(c, "r", hash, CREDS_FOUND, "bob", &k);
	CHECKM(usercache_get_hash(c, hash, "r", 1, name, &len, &queued) == CREDS_FOUND &&
		strcmp(name, "bob") == 0 && len == 3,
	    "the store thread's answer names the user");
	CHECKM(usercache_get(c, "r", 1, "bob", 3, &out, &queued) == CREDS_FOUND && out.md5[0] == 7,
	    "... whose keys are cached by name for the retry");
	CHECKM(usercache_get_hash(c, hash, "s", 1, name, &len, &queued) == CREDS_PENDING,
	    "the same hash in another realm is another entry");
	usercache_put_hash(c, "r", eve, CREDS_UNKNOWN, NULL, NULL);
	CHECKM(usercache_get_hash(c, eve, "r", 1, name, &len, &queued) == CREDS_UNKNOWN && !queued,
	    "a negative entry: 401 without asking the store again");
	usercache_put(c, "r", "eve", CREDS_FOUND, &k);
	CHECKM(usercache_get_hash(c, eve, "r", 1, name, &len, &queued) == CREDS_FOUND &&
		strcmp(name, "eve") == 0,
	    "a user put by name (added, seen in the change log) replaces its hash's negative "
	    "entry");
	usercache_put(c, "r", "eve", CREDS_UNKNOWN, NULL);
	CHECKM(usercache_get_hash(c, eve, "r", 1, name, &len, &queued) == CREDS_UNKNOWN,
	    "... and a user deleted takes its hash away");
	usercache_forget_hash_misses(c);
	CHECKM(usercache_get_hash(c, eve, "r", 1, name, &len, &queued) == CREDS_PENDING &&
		usercache_get_hash(c, hash, "r", 1, name, &len, &queued) == CREDS_FOUND,
	    "after a change negative hash entries are asked again, users stay");
	while (usercache_next_wanted_hash(c, realm, got))
		;
	for (i = 0; i < USERCACHE_HASH_WANTED + 10; i++) {
		got[0] = (uint8_t)i;
		usercache_get_hash(c, got, "q", 1, name, &len, &queued);
	}
	CHECKM(!queued, "the hash queue is bounded (and apart from the names')");
	for (i = 0; usercache_next_wanted_hash(c, realm, got); i++)
		;
	CHECK(i == USERCACHE_HASH_WANTED);
	CHECKM(usercache_get(c, "r", 1, "zed", 3, &out, &queued) == CREDS_PENDING && queued,
	    "... so hashes never fill the names' queue");
	usercache_clear(c);
	CHECKM(usercache_get_hash(c, hash, "r", 1, name, &len, &queued) == CREDS_PENDING,
	    "cleared: asked again");
	usercache_free(c);
}

int
main(void)
{
	test_usertab();
	test_usercache();
	test_usercache_hash();
	return unit_done();
}
