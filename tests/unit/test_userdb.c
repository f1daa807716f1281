/*
 * userdb against real SQLite files: users and secrets load, a change another
 * connection commits is seen through the creds interface within the poll
 * interval, an unreadable or missing database answers CREDS_UNAVAILABLE and
 * recovers, a realm with more secrets than keys still serves, and the hook
 * gets the realm options and peer ranges. Every wait is bounded.
 */
#include "config.h"

#include <sys/stat.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/creds.h"
#include "turnpike/integrity.h"
#include "turnpike/store.h"
#include "turnpike/userdb.h"
#include "unit.h"

#define REALM "example.org"
#define WAIT_MS 5000 /* far above USERDB_POLL_MS */

static char dir[] = "/tmp/test_userdb.XXXXXX";
static char path[256];

static int
lookup(struct userdb *u, const char *user, struct creds_result *r)
{
	struct creds c;

	userdb_iface(u, &c);
	return creds_lookup(&c, user, strlen(user), REALM, strlen(REALM), (uint64_t)time(NULL), r);
}

/* Polls until user's lookup answers want (true) or WAIT_MS pass (false). */
static bool
lookup_becomes(struct userdb *u, const char *user, int want)
{
	struct creds_result r;
	int i;

	for (i = 0; i < WAIT_MS / 20; i++) {
		if (lookup(u, user, &r) == want)
			return true;
		usleep(20000);
	}
	return false;
}

/* Runs fn on a fresh connection to the database, as turnpikectl would. */
static bool
with_store(int (*fn)(struct store *s, char **cause))
{
	struct store *s;
	char *cause = NULL;
	int rc;

	if (store_open(path, &s, &cause) != 0) {
		printf("# store_open: %s\n", cause != NULL ? cause : "?");
		free(cause);
		return false;
	}
	rc = fn(s, &cause);
	if (rc != 0)
		printf("# %s\n", cause != NULL ? cause : "?");
	free(cause);
	store_close(s);
	return rc == 0;
}

static int
seed(struct store *s, char **cause)
{
	return store_user_set(s, REALM, "alice", "alice-pw", cause);
}

static int
add_bob(struct store *s, char **cause)
{
	return store_user_set(s, REALM, "bob", "bob-pw", cause);
}

static int
change_alice(struct store *s, char **cause)
{
	return store_user_set(s, REALM, "alice", "another-pw", cause);
}

static int
delete_bob(struct store *s, char **cause)
{
	return store_user_delete(s, REALM, "bob", cause);
}

static void
test_load_and_reload(struct userdb *u)
{
	struct creds_result before, after;

	CHECKM(lookup(u, "alice", &before) == CREDS_FOUND && before.nkeys == 1,
	    "a user stored before start is found");
	CHECKM(lookup(u, "bob", &after) == CREDS_UNKNOWN, "an absent user is unknown");
	CHECK(with_store(add_bob));
	CHECKM(lookup_becomes(u, "bob", CREDS_FOUND), "a user added by another connection appears");
	CHECK(with_store(change_alice));
	CHECK(lookup_becomes(u, "alice", CREDS_FOUND));
	usleep(3 * USERDB_POLL_MS * 1000);
	CHECK(lookup(u, "alice", &after) == CREDS_FOUND);
	CHECKM(memcmp(before.keys[0].md5, after.keys[0].md5, 16) != 0,
	    "a changed password gives a new key");
	CHECK(with_store(delete_bob));
	CHECKM(lookup_becomes(u, "bob", CREDS_UNKNOWN), "a deleted user goes away");
}

static int
add_carol_dave(struct store *s, char **cause)
{
	if (store_user_set(s, REALM, "carol", "carol-pw", cause) != 0)
		return -1;
	return store_user_set(s, REALM, "dave", "dave-pw", cause);
}

static int
add_erin(struct store *s, char **cause)
{
	return store_user_set(s, REALM, "erin", "erin-pw", cause);
}

static int
delete_carol(struct store *s, char **cause)
{
	return store_user_delete(s, REALM, "carol", cause);
}

/* The user whose USERHASH is user's, through the creds interface. */
static int
find_hash(struct userdb *u, const char *user, char *name)
{
	struct creds c;
	uint8_t hash[32];
	size_t len = 0;

	userdb_iface(u, &c);
	integrity_userhash(user, strlen(user), REALM, strlen(REALM), hash);
	name[0] = '\0';
	return creds_find_hash(&c, hash, REALM, strlen(REALM), name, &len);
}

/* Polls until user's USERHASH answers want (true) or WAIT_MS pass (false); *first: the first answer. */
static bool
find_hash_becomes(struct userdb *u, const char *user, int want, int *first)
{
	char name[CREDS_NAME_MAX];
	int i, rc;

	for (i = 0; i < WAIT_MS / 20; i++) {
		rc = find_hash(u, user, name);
		if (i == 0 && first != NULL)
			*first = rc;
		if (rc == want && (want != CREDS_FOUND || strcmp(name, user) == 0))
			return true;
		usleep(20000);
	}
	return false;
}

/*
 * userdb-cache-users smaller than the store: a USERHASH of a user not in
 * memory is looked up by the store thread (PENDING first, then found, and by
 * name too), a hash no user has is a negative entry, until a user with it is
 * added; a deleted user's hash goes away.
 */
static void
test_userhash_on_demand(struct userdb *u)
{
	struct creds_result r;
	int first[2] = {0, 0}, rc;

	CHECK(with_store(add_carol_dave));
	userdb_set_cache_users(u, 1); /* a reload of at most 1 user in memory */
	usleep(3 * USERDB_POLL_MS * 1000);
	rc = find_hash_becomes(u, "carol", CREDS_FOUND, &first[0]) &&
	    find_hash_becomes(u, "dave", CREDS_FOUND, &first[1]);
	CHECKM(rc && (first[0] == CREDS_PENDING || first[1] == CREDS_PENDING),
	    "a USERHASH of a user beyond userdb-cache-users: PENDING, then found by the store "
	    "thread");
	CHECKM(lookup(u, "carol", &r) == CREDS_FOUND && lookup(u, "dave", &r) == CREDS_FOUND,
	    "... and then by name at once (the retry's key lookup)");
	CHECKM(find_hash_becomes(u, "erin", CREDS_UNKNOWN, &first[0]) && first[0] == CREDS_PENDING,
	    "a hash no user has: PENDING, then unknown (a negative entry)");
	CHECK(with_store(add_erin));
	CHECKM(find_hash_becomes(u, "erin", CREDS_FOUND, NULL),
	    "... found once a user with that hash is added");
	CHECK(with_store(delete_carol));
	CHECKM(find_hash_becomes(u, "carol", CREDS_UNKNOWN, NULL),
	    "a deleted user's hash goes away");
	userdb_set_cache_users(u, USERDB_CACHE_USERS_DEFAULT);
}

static void
test_corrupt_and_recover(struct userdb *u)
{
	char good[300], cmd[1024];
	struct creds_result r;
	FILE *f;
	int i;

	userdb_set_stale_limit(u, 1);
	snprintf(good, sizeof good, "%s/good.db", dir);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, good);
	CHECK(system(cmd) == 0);
	snprintf(cmd, sizeof cmd, "%s/bad.db", dir);
	f = fopen(cmd, "w");
	for (i = 0; f != NULL && i < 8192; i++)
		fputc((i * 7919) & 0xff, f);
	CHECK(f != NULL && fclose(f) == 0);
	CHECK(rename(cmd, path) == 0);
	CHECKM(lookup(u, "alice", &r) == CREDS_FOUND,
	    "a corrupt database: the last good copy is served at first (userdb-stale-limit)");
	CHECKM(lookup_becomes(u, "alice", CREDS_UNAVAILABLE),
	    "... then CREDS_UNAVAILABLE (fail closed) after the 1 s limit");
	CHECK(rename(good, path) == 0);
	CHECKM(lookup_becomes(u, "alice", CREDS_FOUND), "restored: found again");
	/* Gone (with its WAL): the reload thread makes a new empty store there. */
	snprintf(cmd, sizeof cmd, "rm -f '%s' '%s-wal' '%s-shm'", path, path, path);
	CHECK(system(cmd) == 0);
	CHECKM(lookup_becomes(u, "alice", CREDS_UNKNOWN), "a deleted database file: unknown");
	CHECK(with_store(seed));
	CHECKM(lookup_becomes(u, "alice", CREDS_FOUND), "the user added again: found");
}

static void
test_missing_dir(void)
{
	struct userdb *u = NULL;
	struct creds_result r;
	char *cause = NULL;
	struct creds_static *opts = creds_static_create(REALM);
	struct creds oc;
	char bad[300];
	FILE *f;
	int rc;

	creds_static_iface(opts, &oc);
	CHECK(creds_static_add_user(opts, "opt:opt-pw", &cause) == 0);
	/* Under a regular file, or in a directory that does not exist: a typo, refused. */
	snprintf(bad, sizeof bad, "%s/plain", dir);
	f = fopen(bad, "w");
	CHECK(f != NULL && fclose(f) == 0);
	snprintf(bad, sizeof bad, "%s/plain/users.db", dir);
	CHECKM(userdb_create(bad, &oc, false, ':', &u, &cause) == -1 && cause != NULL &&
		strstr(cause, "/plain is not a directory") != NULL,
	    "userdb under a regular file: a startup error naming the directory");
	free(cause);
	cause = NULL;
	snprintf(bad, sizeof bad, "%s/nodir/users.db", dir);
	CHECKM(userdb_create(bad, &oc, false, ':', &u, &cause) == -1 && cause != NULL &&
		strstr(cause, "/nodir: No such file or directory (it is not created)") != NULL,
	    "userdb in a missing directory: a startup error naming it");
	snprintf(bad, sizeof bad, "%s/nodir", dir);
	CHECKM(access(bad, F_OK) == -1, "... and the directory is not created");
	free(cause);
	cause = NULL;
	/* A directory where the file should be: SQLite cannot open it. */
	snprintf(bad, sizeof bad, "%s/isdir", dir);
	CHECK(mkdir(bad, 0700) == 0);
	CHECKM(userdb_create(bad, &oc, false, ':', &u, &cause) == 0,
	    "a database that cannot be opened is not a startup error");
	rc = u != NULL ? lookup(u, "alice", &r) : 0;
	if (rc != CREDS_UNAVAILABLE)
		printf("# lookup: %d\n", rc);
	CHECKM(rc == CREDS_UNAVAILABLE, "... its users are CREDS_UNAVAILABLE");
	CHECKM(u != NULL && lookup(u, "opt", &r) == CREDS_FOUND, "... option users still work");
	userdb_free(u);
	creds_static_free(opts);
	free(cause);
}

static int
many_secrets(struct store *s, char **cause)
{
	char secret[32];
	int i;

	for (i = 0; i < CREDS_MAX_KEYS + 2; i++) {
		snprintf(secret, sizeof secret, "secret-%02d", i);
		if (store_secret_add(s, REALM, secret, cause) != 0)
			return -1;
	}
	return 0;
}

static void
test_many_secrets(struct creds *oc)
{
	struct userdb *u = NULL;
	struct creds_result r;
	char *cause = NULL, user[64];

	CHECK(with_store(many_secrets));
	CHECK(userdb_create(path, oc, true, ':', &u, &cause) == 0);
	snprintf(user, sizeof user, "%llu:carol", (unsigned long long)time(NULL) + 3600);
	CHECKM(u != NULL && lookup(u, user, &r) == CREDS_FOUND && r.nkeys == CREDS_MAX_KEYS,
	    "a realm with 10 secrets serves REST users with the first 8 (regression)");
	CHECKM(u != NULL && lookup(u, "alice", &r) == CREDS_FOUND,
	    "... and its long-term users (the realm loaded)");
	userdb_free(u);
	free(cause);
}

struct seen {
	pthread_mutex_t mu;
	int calls;
	char opt[64], peer[96];
};

static void
hook(void *arg, const struct userdb_rows *rows)
{
	struct seen *s = arg;
	size_t i;

	pthread_mutex_lock(&s->mu);
	s->calls++;
	s->opt[0] = s->peer[0] = '\0';
	for (i = 0; i < rows->nopts; i++)
		snprintf(s->opt, sizeof s->opt, "%s %s %s", rows->opts[i].realm, rows->opts[i].name,
		    rows->opts[i].value);
	for (i = 0; i < rows->npeers; i++)
		snprintf(s->peer, sizeof s->peer, "[%s] %s %s", rows->peers[i].realm,
		    rows->peers[i].name, rows->peers[i].value);
	pthread_mutex_unlock(&s->mu);
}

static int
realm_and_peer(struct store *s, char **cause)
{
	if (store_realm_set(s, REALM, "user-quota", 3, cause) != 0)
		return -1;
	return store_peer_add(s, false, "", "192.0.2.0/24", cause);
}

/* Polls until the hook saw want in opt and peer, or WAIT_MS pass. */
static bool
hook_sees(struct seen *s, const char *opt, const char *peer, int *calls)
{
	bool ok = false;
	int i;

	for (i = 0; i < WAIT_MS / 20 && !ok; i++) {
		pthread_mutex_lock(&s->mu);
		ok = s->calls > 0 && strcmp(s->opt, opt) == 0 && strcmp(s->peer, peer) == 0;
		*calls = s->calls;
		pthread_mutex_unlock(&s->mu);
		if (!ok)
			usleep(20000);
	}
	return ok;
}

static void
test_hook(struct userdb *u)
{
	struct seen s = {.calls = 0};
	int calls;

	pthread_mutex_init(&s.mu, NULL);
	userdb_set_hook(u, hook, &s);
	CHECKM(hook_sees(&s, "", "", &calls) && calls >= 1, "the hook is called once when set");
	CHECK(with_store(realm_and_peer));
	CHECKM(hook_sees(&s, REALM " user-quota 3", "[] deny 192.0.2.0/24", &calls),
	    "the hook gets realm options and peer ranges after a change");
	usleep(3 * USERDB_POLL_MS * 1000);
	pthread_mutex_lock(&s.mu);
	CHECKM(s.calls == calls, "no call while nothing changes");
	pthread_mutex_unlock(&s.mu);
	userdb_set_hook(u, NULL, NULL);
	usleep(3 * USERDB_POLL_MS * 1000);
	pthread_mutex_destroy(&s.mu);
}

int
main(void)
{
	struct creds_static *opts;
	struct userdb *u = NULL;
	struct creds oc;
	char *cause = NULL, cmd[300];

	if (mkdtemp(dir) == NULL)
		return 99;
	snprintf(path, sizeof path, "%s/users.db", dir);
	opts = creds_static_create(REALM);
	creds_static_iface(opts, &oc);
	CHECK(with_store(seed));
	CHECK(userdb_create(path, &oc, false, ':', &u, &cause) == 0);
	if (u != NULL) {
		test_load_and_reload(u);
		test_hook(u);
		test_userhash_on_demand(u);
		test_corrupt_and_recover(u);
		userdb_free(u);
	}
	test_missing_dir();
	test_many_secrets(&oc);
	creds_static_free(opts);
	free(cause);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return unit_done();
}
