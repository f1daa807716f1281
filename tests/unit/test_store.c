/*
 * The credential store on temporary database files; with TURNPIKE_TEST_STORE
 * set (a store spec with a %d for a fresh database number, e.g.
 * "postgresql:host=127.0.0.1 port=5999 user=postgres dbname=tp%d") the
 * engine-independent tests run against that engine instead, and
 * TURNPIKE_TEST_SQL (a command with %d reading SQL on its stdin) stands in for
 * another client of the database. tests/integration/t_store_engines.sh runs both.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "turnpike/credkey.h"
#include "turnpike/store.h"
#include "unit.h"

/* coturn's SQLite schema as its turnadmin creates it (turndb/schema.sql). */
static const char coturn_schema[] =
    "CREATE TABLE turnusers_lt ( realm varchar(127) default '', name varchar(512), "
    "hmackey char(128), PRIMARY KEY (realm,name));"
    "CREATE TABLE turn_secret (realm varchar(127) default '', value varchar(127), "
    "primary key (realm,value));"
    "CREATE TABLE allowed_peer_ip (realm varchar(127) default '', ip_range varchar(256), "
    "primary key (realm,ip_range));"
    "CREATE TABLE denied_peer_ip (realm varchar(127) default '', ip_range varchar(256), "
    "primary key (realm,ip_range));"
    "CREATE TABLE turn_origin_to_realm (origin varchar(127),realm varchar(127),"
    "primary key (origin));"
    "CREATE TABLE turn_realm_option (realm varchar(127) default '',opt varchar(32),"
    "value varchar(128),primary key (realm,opt));"
    "CREATE TABLE oauth_key (kid varchar(128),ikm_key varchar(256),timestamp bigint default 0,"
    "lifetime integer default 0,as_rs_alg varchar(64) default '',"
    "realm varchar(127) default '',primary key (kid));"
    "CREATE TABLE admin_user (name varchar(32), realm varchar(127), password varchar(127), "
    "primary key (name));"
    "INSERT INTO turnusers_lt VALUES ('example.org', 'alice', "
    "'543e1aec5d3614f03141652d6ada51b2');";

/* turnpike's v1 addition, to build a version 1 file by hand. */
static const char v1_schema[] =
    "CREATE TABLE turnpike_user_sha256 (realm varchar(127) default '', name varchar(512), "
    "hmackey char(32), sha256key char(64), PRIMARY KEY (realm,name));"
    "PRAGMA user_version = 1;";

static char tmpdir[] = "/tmp/test_store.XXXXXX";
static int dbn;

static const char *engine_spec; /* TURNPIKE_TEST_STORE */
static const char *engine_sql;  /* TURNPIKE_TEST_SQL */

/* tmpl with its first "%d" replaced by n. */
static void
subst_n(const char *tmpl, int n, char *out, size_t cap)
{
	const char *at = strstr(tmpl, "%d");

	if (at == NULL)
		snprintf(out, cap, "%s", tmpl);
	else
		snprintf(out, cap, "%.*s%d%s", (int)(at - tmpl), tmpl, n, at + 2);
}

static char *
tmpdb(void)
{
	static char path[512];

	if (engine_spec != NULL) {
		subst_n(engine_spec, ++dbn, path, sizeof path);
		return path;
	}
	snprintf(path, sizeof path, "%s/db%d", tmpdir, ++dbn);
	if (mkdir(path, 0700) != 0)
		abort();
	snprintf(path, sizeof path, "%s/db%d/t.db", tmpdir, dbn);
	return path;
}

/* Runs SQL on a fresh raw connection (a stand-in for coturn or another process). */
static int
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char cmd[512];
	FILE *f;
	int rc;

	if (engine_spec != NULL) {
		subst_n(engine_sql, dbn, cmd, sizeof cmd);
		if ((f = popen(cmd, "w")) == NULL)
			return -1;
		fputs(sql, f);
		return pclose(f) == 0 ? 0 : -1;
	}
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* The first column of the first row of a query on a raw connection. */
static int
raw_text(const char *path, const char *sql, char *out, size_t cap)
{
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static struct store *
open_ok(const char *path)
{
	struct store *s = NULL;
	char *cause = NULL;

	if (store_open(path, &s, &cause) == -1) {
		printf("# store_open %s: %s\n", path, cause);
		free(cause);
	}
	return s;
}

struct rows {
	int n;
	char text[2048];
};

static int
collect(void *arg, const struct store_row *row)
{
	struct rows *r = arg;
	size_t len = strlen(r->text);

	r->n++;
	snprintf(r->text + len, sizeof r->text - len, "%s|%s|%s\n", row->realm ? row->realm : "-",
	    row->name ? row->name : "-", row->value ? row->value : "-");
	return 0;
}

static int
count_users(struct store *s, const char *realm)
{
	struct rows r = {0};
	char *cause = NULL;

	if (store_user_list(s, realm, collect, &r, &cause) == -1) {
		free(cause);
		return -1;
	}
	return r.n;
}

/* True when the call failed and its cause mentions want. */
static bool
fails_with(int rc, char **cause, const char *want)
{
	bool ok = rc == -1 && *cause != NULL && strstr(*cause, want) != NULL;

	if (!ok)
		printf("# rc %d cause '%s', wanted '%s'\n", rc, *cause ? *cause : "(null)", want);
	free(*cause);
	*cause = NULL;
	return ok;
}

static void
test_create(void)
{
	char *path = tmpdb(), dir[256];
	struct store *s = open_ok(path), *s2 = NULL;
	struct stat st;
	int v = -1;
	char *cause = NULL, mode[16] = "";

	CHECKM(s != NULL, "a new database is created");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(dir, sizeof dir, "%s/nodir%d/sub/t.db", tmpdir, dbn);
	CHECKM(store_open(dir, &s2, &cause) == -1 && cause != NULL &&
		strstr(cause, "nodir") != NULL,
	    "a missing directory: an error naming it (regression: it was created)");
	free(cause);
	cause = NULL;
	snprintf(dir, sizeof dir, "%s/nodir%d", tmpdir, dbn);
	CHECKM(stat(dir, &st) == -1, "... and no directory is made");
	CHECK(store_schema_version(s, &v, &cause) == 0 && v == STORE_SCHEMA_VERSION);
	CHECKM(raw_exec(path,
		   "SELECT realm, name, hmackey FROM turnusers_lt;"
		   "SELECT realm, value FROM turn_secret;"
		   "SELECT realm, ip_range FROM allowed_peer_ip;"
		   "SELECT realm, ip_range FROM denied_peer_ip;"
		   "SELECT origin, realm FROM turn_origin_to_realm;"
		   "SELECT realm, opt, value FROM turn_realm_option;"
		   "SELECT kid, ikm_key, timestamp, lifetime, as_rs_alg, realm FROM oauth_key;"
		   "SELECT name, realm, password FROM admin_user;") == 0,
	    "every coturn table exists with its columns");
	CHECKM(raw_text(path, "PRAGMA journal_mode", mode, sizeof mode) == 0 &&
		strcmp(mode, "wal") == 0,
	    "the database is in WAL mode");
	store_close(s);
	s = open_ok(path);
	CHECKM(s != NULL, "an existing database opens again");
	store_close(s);
	store_close(NULL);
}

static void
test_users(void)
{
	struct store *s = open_ok(tmpdb());
	struct creds_result res;
	uint8_t md5[16], sha[32];
	size_t len;
	char *cause = NULL;
	struct rows r = {0};

	CHECK(store_user_set(s, "example.org", "alice", "secret", &cause) == 0);
	CHECK(store_user_lookup(s, "example.org", "alice", &res, &cause) == CREDS_FOUND);
	credkey_long_term(CREDKEY_MD5, "alice", 5, "example.org", 11, "secret", 6, md5, &len);
	credkey_long_term(CREDKEY_SHA256, "alice", 5, "example.org", 11, "secret", 6, sha, &len);
	CHECK(res.nkeys == 1 && memcmp(res.keys[0].md5, md5, 16) == 0);
	CHECK(res.keys[0].has_sha256 && memcmp(res.keys[0].sha256, sha, 32) == 0);
	CHECK(store_user_list(s, NULL, collect, &r, &cause) == 0 && r.n == 1);
	CHECKM(strcmp(r.text, "example.org|alice|543e1aec5d3614f03141652d6ada51b2\n") == 0,
	    "hmackey is coturn's lower-case hex MD5 key");
	CHECKM(store_user_set(s, "example.org", "alice", "other", &cause) == 0 &&
		count_users(s, NULL) == 1,
	    "add of an existing user updates it");
	CHECK(store_user_lookup(s, "example.org", "alice", &res, &cause) == CREDS_FOUND &&
	    memcmp(res.keys[0].md5, md5, 16) != 0);
	CHECK(store_user_set(s, "other.org", "bob", "pw", &cause) == 0);
	CHECK(store_user_set(s, "", "carol", "pw", &cause) == 0);
	CHECK(count_users(s, NULL) == 3 && count_users(s, "other.org") == 1 &&
	    count_users(s, "") == 1);
	CHECK(store_user_lookup(s, "other.org", "alice", &res, &cause) == CREDS_UNKNOWN);
	CHECK(store_user_delete(s, "example.org", "alice", &cause) == 0);
	CHECK(store_user_lookup(s, "example.org", "alice", &res, &cause) == CREDS_UNKNOWN);
	CHECK(fails_with(store_user_delete(s, "example.org", "alice", &cause), &cause, "no user"));
	CHECK(fails_with(store_user_set(s, "r", "x", "", &cause), &cause, "password: empty"));
	CHECK(fails_with(store_user_set(s, "r", "", "pw", &cause), &cause, "user name: empty"));
	store_close(s);
}

static void
test_user_keys(void)
{
	char *path = tmpdb();
	struct store *s = open_ok(path);
	struct creds_result res;
	char *cause = NULL;

	CHECK(store_user_set_key(s, "example.org", "alice", "0x543E1AEC5D3614F03141652D6ADA51B2",
		  &cause) == 0);
	CHECK(store_user_lookup(s, "example.org", "alice", &res, &cause) == CREDS_FOUND &&
	    res.keys[0].md5[0] == 0x54 && !res.keys[0].has_sha256);
	CHECK(
	    fails_with(store_user_set_key(s, "r", "u", "543e1aec5d3614f03141652d6ada51b2", &cause),
		&cause, "key: expected 0x"));
	CHECK(fails_with(store_user_set_key(s, "r", "u", "0x543e", &cause), &cause, "key"));
	CHECK(store_user_set(s, "example.org", "bob", "pw", &cause) == 0);
	/* coturn's turnadmin changes bob's password: the SHA-256 key is stale. */
	CHECK(raw_exec(path,
		  "UPDATE turnusers_lt SET hmackey = '00112233445566778899aabbccddeeff' "
		  "WHERE name = 'bob'") == 0);
	CHECKM(store_user_lookup(s, "example.org", "bob", &res, &cause) == CREDS_FOUND &&
		res.keys[0].md5[0] == 0x00 && !res.keys[0].has_sha256,
	    "a SHA-256 key made stale by coturn is not offered");
	CHECK(raw_exec(path, "UPDATE turnusers_lt SET hmackey = 'zz' WHERE name = 'bob'") == 0);
	CHECKM(store_user_lookup(s, "example.org", "bob", &res, &cause) == CREDS_UNAVAILABLE &&
		cause != NULL,
	    "a malformed stored key is an error, not a match");
	free(cause);
	store_close(s);
}

/*
 * USERHASH lookups (RFC 8489 §14.4) in the store: users turnpike wrote and a
 * row another client wrote with coturn's schema (turnadmin's INSERT), the
 * realm bound, a wrong hash and a deleted user not found.
 */
static void
test_userhash(void)
{
	char *path = tmpdb(), name[STORE_NAME_MAX + 1], *cause = NULL;
	struct store *s = open_ok(path);
	struct creds_result res;
	uint8_t h[32], md5[16], sha[32];
	size_t len;

	CHECK(store_user_set(s, "example.org", "alice", "secret", &cause) == 0);
	CHECK(store_user_set(s, "example.org", "bob", "pw", &cause) == 0);
	CHECK(store_user_set(s, "other.org", "carol", "pw", &cause) == 0);
	CHECK(raw_exec(path,
		  "INSERT INTO turnusers_lt (realm, name, hmackey) VALUES ('example.org', 'dave', "
		  "'00112233445566778899aabbccddeeff')") == 0);
	credkey_long_term(CREDKEY_MD5, "alice", 5, "example.org", 11, "secret", 6, md5, &len);
	credkey_long_term(CREDKEY_SHA256, "alice", 5, "example.org", 11, "secret", 6, sha, &len);
	credkey_userhash("alice", 5, "example.org", 11, h);
	CHECKM(store_user_lookup_hash(s, "example.org", h, name, &res, &cause) == CREDS_FOUND &&
		strcmp(name, "alice") == 0 && res.nkeys == 1 &&
		memcmp(res.keys[0].md5, md5, 16) == 0 && res.keys[0].has_sha256 &&
		memcmp(res.keys[0].sha256, sha, 32) == 0,
	    "a user found by USERHASH, with both keys");
	CHECKM(store_user_lookup_hash(s, "other.org", h, name, &res, &cause) == CREDS_UNKNOWN &&
		res.nkeys == 0,
	    "... not in another realm");
	h[31] ^= 1;
	CHECKM(store_user_lookup_hash(s, "example.org", h, name, &res, &cause) == CREDS_UNKNOWN,
	    "a wrong hash finds no one");
	credkey_userhash("dave", 4, "example.org", 11, h);
	CHECKM(store_user_lookup_hash(s, "example.org", h, name, &res, &cause) == CREDS_FOUND &&
		strcmp(name, "dave") == 0 && res.keys[0].md5[0] == 0x00 &&
		res.keys[0].md5[1] == 0x11 && !res.keys[0].has_sha256,
	    "a user another client wrote with coturn's schema is found by USERHASH");
	credkey_userhash("carol", 5, "other.org", 9, h);
	CHECK(store_user_lookup_hash(s, "other.org", h, name, &res, &cause) == CREDS_FOUND &&
	    strcmp(name, "carol") == 0);
	CHECK(store_user_delete(s, "other.org", "carol", &cause) == 0);
	CHECKM(store_user_lookup_hash(s, "other.org", h, name, &res, &cause) == CREDS_UNKNOWN,
	    "a deleted user's hash finds no one");
	free(cause);
	store_close(s);
}

static int
count_key(void *arg, const char *realm, const char *name, const struct creds_key *k)
{
	int *n = arg;

	if (strcmp(name, "alice") == 0 && k->has_sha256 && k->md5[0] == 0x54)
		n[1]++;
	n[0]++;
	return 0;
}

/* The daemon's bulk load, and the change counter another connection sees. */
static void
test_bulk_keys(void)
{
	char spec[512], *cause = NULL;
	struct store *s, *b;
	int n[2] = {0, 0};
	int64_t v1 = 0, v2 = 0;

	snprintf(spec, sizeof spec, "%s", tmpdb());
	s = open_ok(spec);
	b = open_ok(spec);
	CHECK(store_user_set(s, "example.org", "alice", "secret", &cause) == 0);
	CHECK(store_user_set(s, "example.org", "bob", "pw", &cause) == 0);
	CHECK(
	    store_user_set_key(s, "x", "carol", "0x543E1AEC5D3614F03141652D6ADA51B2", &cause) == 0);
	CHECKM(store_user_keys(s, 10, count_key, n, &cause) == 0 && n[0] == 3 && n[1] == 1,
	    "every user with its keys in one call");
	n[0] = n[1] = 0;
	CHECKM(store_user_keys(s, 2, count_key, n, &cause) == 0 && n[0] == 2,
	    "... at most limit of them");
	CHECK(store_data_version(b, &v1, &cause) == 0);
	CHECK(store_secret_add(s, "r", "s", &cause) == 0);
	CHECKM(store_data_version(b, &v2, &cause) == 0 && v1 != v2,
	    "the change counter moves when another connection commits");
	store_close(b);
	store_close(s);
}

static void
test_secrets_peers_origins(void)
{
	struct store *s = open_ok(tmpdb());
	char *cause = NULL;
	struct rows r = {0};

	CHECK(store_secret_add(s, "example.org", "s1", &cause) == 0);
	CHECK(store_secret_add(s, "example.org", "s1", &cause) == 0);
	CHECK(store_secret_add(s, "example.org", "s2", &cause) == 0);
	CHECK(store_secret_add(s, "other.org", "s3", &cause) == 0);
	CHECK(store_secret_list(s, "example.org", collect, &r, &cause) == 0 && r.n == 2 &&
	    strcmp(r.text, "example.org|-|s1\nexample.org|-|s2\n") == 0);
	CHECK(store_secret_delete(s, "example.org", "s1", &cause) == 0);
	CHECK(fails_with(store_secret_delete(s, "example.org", "s1", &cause), &cause, "no such"));
	CHECK(store_secret_delete_all(s, NULL, &cause) == 0);
	memset(&r, 0, sizeof r);
	CHECK(store_secret_list(s, NULL, collect, &r, &cause) == 0 && r.n == 0);

	CHECK(store_peer_add(s, true, "", "10.0.0.0-10.0.0.255", &cause) == 0);
	CHECK(store_peer_add(s, false, "", "192.168.0.0-192.168.255.255", &cause) == 0);
	memset(&r, 0, sizeof r);
	CHECK(store_peer_list(s, NULL, collect, &r, &cause) == 0 &&
	    strcmp(r.text, "|allow|10.0.0.0-10.0.0.255\n|deny|192.168.0.0-192.168.255.255\n") == 0);
	CHECK(store_peer_remove(s, true, "", "10.0.0.0-10.0.0.255", &cause) == 0);
	CHECK(fails_with(store_peer_remove(s, false, "", "10.0.0.0-10.0.0.255", &cause), &cause,
	    "no such denied range"));

	CHECK(store_origin_add(s, "https://a.example", "example.org", &cause) == 0);
	CHECK(store_origin_add(s, "https://a.example", "other.org", &cause) == 0);
	memset(&r, 0, sizeof r);
	CHECK(store_origin_list(s, NULL, collect, &r, &cause) == 0 &&
	    strcmp(r.text, "other.org|https://a.example|-\n") == 0);
	CHECK(store_origin_delete(s, "https://a.example", &cause) == 0);
	CHECK(fails_with(store_origin_delete(s, "https://a.example", &cause), &cause, "no such"));
	store_close(s);
}

static int
collect_oauth(void *arg, const struct store_oauth_key *k)
{
	struct rows *r = arg;
	size_t used = strlen(r->text);

	snprintf(r->text + used, sizeof r->text - used, "%s|%s|%s|%s|%llu|%lu\n", k->kid,
	    k->ikm_key, k->as_rs_alg, k->realm, (unsigned long long)k->timestamp,
	    (unsigned long)k->lifetime);
	r->n++;
	return 0;
}

/* RFC 7635 keys in coturn's oauth_key table. */
static void
test_oauth_keys(void)
{
	struct store *s = open_ok(tmpdb());
	struct store_oauth_key k = {"north", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEK", 0, 0,
	    "a256gcm", "crinna.org"};
	char *cause = NULL;
	struct rows r = {0};

	CHECKM(store_oauth_key_set(s, &k, &cause) == 0, "a key of coturn's test database");
	k.kid = "union";
	k.ikm_key = "MTIzNDU2Nzg5MDEyMzQ1Ngo=";
	CHECKM(fails_with(store_oauth_key_set(s, &k, &cause), &cause, "shorter than 32"),
	    "17 bytes are too short for A256GCM");
	k.as_rs_alg = "A128GCM";
	k.timestamp = 1000;
	k.lifetime = 60;
	CHECK(store_oauth_key_set(s, &k, &cause) == 0);
	k.ikm_key = "not base64";
	CHECK(fails_with(store_oauth_key_set(s, &k, &cause), &cause, "base64"));
	k.kid = "";
	CHECK(store_oauth_key_set(s, &k, &cause) == -1);
	free(cause);
	cause = NULL;
	CHECKM(store_oauth_key_list(s, collect_oauth, &r, &cause) == 0 && r.n == 2 &&
		strcmp(r.text,
		    "north|MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEK|A256GCM|crinna.org|0|0\n"
		    "union|MTIzNDU2Nzg5MDEyMzQ1Ngo=|A128GCM|crinna.org|1000|60\n") == 0,
	    "listed in kid order, the algorithm normalised");
	CHECK(store_oauth_key_delete(s, "north", &cause) == 0);
	CHECK(fails_with(store_oauth_key_delete(s, "north", &cause), &cause, "no such"));
	store_close(s);
}

static void
test_realm_admin(void)
{
	struct store *s = open_ok(tmpdb());
	char *cause = NULL, hash[STORE_HASH_MAX];
	uint64_t v = 1;
	struct rows r = {0};
	bool ok = false;

	CHECK(store_realm_get(s, "example.org", "max-bps", &v, &cause) == 0 && v == 0);
	CHECK(store_realm_set(s, "example.org", "max-bps", 1000000, &cause) == 0);
	CHECK(store_realm_set(s, "example.org", "user-quota", 5, &cause) == 0);
	CHECK(store_realm_get(s, "example.org", "max-bps", &v, &cause) == 0 && v == 1000000);
	CHECK(store_realm_list(s, "example.org", collect, &r, &cause) == 0 &&
	    strcmp(r.text, "example.org|max-bps|1000000\nexample.org|user-quota|5\n") == 0);
	CHECKM(store_realm_set(s, "example.org", "max-bps", 0, &cause) == 0 &&
		store_realm_get(s, "example.org", "max-bps", &v, &cause) == 0 && v == 0,
	    "a zero value removes the option, as turnadmin");
	CHECK(fails_with(store_realm_set(s, "example.org", "max-users", 1, &cause), &cause,
	    "realm option"));

	CHECK(store_hash_password("hunter2", hash, sizeof hash, &cause) == 0 &&
	    strncmp(hash, "$pbkdf2-sha256$210000$", 22) == 0 && strlen(hash) <= 127);
	CHECK(store_hash_verify("hunter2", hash) && !store_hash_verify("hunter3", hash));
	CHECK(!store_hash_verify("hunter2", "$5$3af60ff5f6fac4d0$7c0a"));
	/* coturn's turnadmin -A hashes: SHA-256-crypt (openssl passwd -5 -salt saltsalt hunter2). */
	CHECK(store_hash_verify("hunter2",
	    "$5$saltsalt$OIdfjX.u4Y3SJ4I2bX8w5BMf1VAUhHABNUirScDzZi3"));
	CHECK(!store_hash_verify("hunter3",
	    "$5$saltsalt$OIdfjX.u4Y3SJ4I2bX8w5BMf1VAUhHABNUirScDzZi3"));
	CHECK(!store_hash_verify("hunter2", "$5$saltsalt$"));
	CHECK(store_admin_set(s, "root", "", "hunter2", &cause) == 0);
	CHECK(store_admin_verify(s, "root", "hunter2", &ok, &cause) == 0 && ok);
	CHECK(store_admin_verify(s, "root", "wrong", &ok, &cause) == 0 && !ok);
	CHECK(store_admin_verify(s, "nobody", "hunter2", &ok, &cause) == 0 && !ok);
	memset(&r, 0, sizeof r);
	CHECK(store_admin_list(s, collect, &r, &cause) == 0 && strcmp(r.text, "|root|-\n") == 0);
	CHECK(
	    fails_with(store_admin_set(s, "a-name-longer-than-thirty-two-bytes", "", "pw", &cause),
		&cause, "admin name: longer than 32"));
	CHECK(store_admin_delete(s, "root", &cause) == 0);
	CHECK(fails_with(store_admin_delete(s, "root", &cause), &cause, "no such admin"));

	char key[STORE_APIKEY_MAX], key2[STORE_APIKEY_MAX], realm[STORE_REALM_MAX + 1];
	CHECK(store_apikey_add(s, "app", "example.org", key, sizeof key, &cause) == 0 &&
	    strncmp(key, "app.", 4) == 0 && strlen(key) == 4 + 48);
	CHECK(fails_with(store_apikey_add(s, "app", "", key2, sizeof key2, &cause), &cause, ""));
	CHECK(store_apikey_verify(s, key, &ok, realm, &cause) == 0 && ok &&
	    strcmp(realm, "example.org") == 0);
	key[10] = key[10] == '0' ? '1' : '0';
	CHECK(store_apikey_verify(s, key, &ok, realm, &cause) == 0 && !ok);
	CHECK(store_apikey_verify(s, "nodot", &ok, realm, &cause) == 0 && !ok);
	memset(&r, 0, sizeof r);
	CHECK(store_apikey_list(s, collect, &r, &cause) == 0 && r.n == 1 &&
	    strncmp(r.text, "example.org|app|", 16) == 0);
	CHECK(fails_with(store_apikey_add(s, "a.b", "", key2, sizeof key2, &cause), &cause, "dot"));
	CHECK(store_apikey_delete(s, "app", &cause) == 0);
	CHECK(fails_with(store_apikey_delete(s, "app", &cause), &cause, "no such API key"));
	store_close(s);
}

static void
test_hostile(void)
{
	static const char *const names[] = {"o'brien\"; DROP TABLE turnusers_lt;--", "%n%s%x",
	    "\xf0\x9f\x98\x80 grin", "caf\xc3\xa9", "back\\slash"};
	struct store *s = open_ok(tmpdb());
	struct creds_result res;
	char *cause = NULL, big[600];
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		CHECKM(store_user_set(s, names[i], names[i], names[i], &cause) == 0 &&
			store_user_lookup(s, names[i], names[i], &res, &cause) == CREDS_FOUND,
		    names[i]);
	}
	CHECK(count_users(s, NULL) == 5 && count_users(s, "%n%s%x") == 1);
	CHECK(
	    fails_with(store_user_set(s, "r", "a\nb", "pw", &cause), &cause, "control character"));
	CHECK(fails_with(store_user_set(s, "r", "a\rb", "pw", &cause), &cause, "U+000D"));
	CHECK(fails_with(store_user_set(s, "r\x7f", "a", "pw", &cause), &cause, "realm: control"));
	CHECK(fails_with(store_user_set(s, "r", "a\xc2\x85", "pw", &cause), &cause, "U+0085"));
	CHECK(fails_with(store_user_set(s, "r", "a\xff", "pw", &cause), &cause, "not valid UTF-8"));
	CHECK(fails_with(store_user_set(s, "r", "\xc0\xaf", "pw", &cause), &cause, "UTF-8"));
	CHECK(fails_with(store_user_set(s, "r", "\xed\xa0\x80", "pw", &cause), &cause, "UTF-8"));
	CHECK(fails_with(store_check_text("password", "ab\0cd", 5, 64, &cause), &cause, "U+0000"));
	memset(big, 'x', sizeof big);
	big[STORE_NAME_MAX + 1] = '\0';
	CHECK(fails_with(store_user_set(s, "r", big, "pw", &cause), &cause, "longer than 512"));
	big[STORE_NAME_MAX] = '\0';
	CHECKM(store_user_set(s, "r", big, "pw", &cause) == 0, "a 512-byte name fits");
	big[STORE_REALM_MAX + 1] = '\0';
	CHECK(fails_with(store_user_set(s, big, "a", "pw", &cause), &cause, "realm: longer"));
	CHECKM(count_users(s, NULL) == 6, "rejected input wrote nothing");
	store_close(s);
}

static void
test_migrations(void)
{
	char *path = tmpdb(), *cause = NULL;
	struct store *s;
	struct creds_result res;
	int v = -1;

	s = open_ok(path); /* creates the directory, then start over with a coturn file */
	store_close(s);
	unlink(path);
	CHECK(raw_exec(path, coturn_schema) == 0);
	s = open_ok(path);
	CHECKM(s != NULL && store_schema_version(s, &v, &cause) == 0 && v == STORE_SCHEMA_VERSION,
	    "a coturn database (v0) migrates to the current version");
	CHECK(store_user_lookup(s, "example.org", "alice", &res, &cause) == CREDS_FOUND &&
	    res.keys[0].md5[0] == 0x54 && !res.keys[0].has_sha256);
	CHECK(store_user_set(s, "example.org", "alice", "secret", &cause) == 0);
	store_close(s);
	CHECK(raw_exec(path, "SELECT created FROM turnpike_user_meta") == 0);

	path = tmpdb();
	s = open_ok(path);
	store_close(s);
	unlink(path);
	CHECK(raw_exec(path, coturn_schema) == 0 && raw_exec(path, v1_schema) == 0);
	s = open_ok(path);
	CHECKM(s != NULL && store_schema_version(s, &v, &cause) == 0 && v == STORE_SCHEMA_VERSION,
	    "a version 1 database migrates to the current version");
	CHECK(store_user_lookup(s, "example.org", "alice", &res, &cause) == CREDS_FOUND);
	store_close(s);

	path = tmpdb();
	s = open_ok(path);
	store_close(s);
	CHECK(raw_exec(path, "PRAGMA user_version = 99") == 0);
	s = NULL;
	CHECK(fails_with(store_open(path, &s, &cause), &cause, "newer") && s == NULL);

	path = tmpdb();
	s = open_ok(path);
	store_close(s);
	CHECK(raw_exec(path, "PRAGMA journal_mode = DELETE") == 0);
	{
		FILE *f = fopen(path, "w");
		fputs("this is not a database, just text that is long enough to fill a header\n",
		    f);
		fclose(f);
	}
	CHECK(fails_with(store_open(path, &s, &cause), &cause, "not a database"));
}

static void
test_turnadmin(void)
{
	char *path = tmpdb(), cmd[512], name[STORE_NAME_MAX + 1], *cause = NULL;
	struct store *s;
	struct creds_result res;
	uint8_t hash[32];

	if (access("/usr/bin/turnadmin", X_OK) != 0) {
		printf("ok %d # SKIP coturn's turnadmin is not installed\n", ++unit_n);
		return;
	}
	s = open_ok(path);
	store_close(s);
	unlink(path);
	snprintf(cmd, sizeof cmd,
	    "turnadmin -a -b %s -u alice -r example.org -p secret >/dev/null 2>&1", path);
	CHECK(system(cmd) == 0);
	s = open_ok(path);
	CHECKM(s != NULL &&
		store_user_lookup(s, "example.org", "alice", &res, &cause) == CREDS_FOUND &&
		res.keys[0].md5[0] == 0x54,
	    "a database made by coturn's turnadmin opens, migrates and answers");
	store_close(s);
	/* turnpike has opened it: turnadmin still writes to it, and its users are found by hash. */
	snprintf(cmd, sizeof cmd, "turnadmin -a -b %s -u bob -r example.org -p pw >/dev/null 2>&1",
	    path);
	CHECK(system(cmd) == 0);
	credkey_userhash("bob", 3, "example.org", 11, hash);
	s = open_ok(path);
	CHECKM(s != NULL &&
		store_user_lookup_hash(s, "example.org", hash, name, &res, &cause) == CREDS_FOUND &&
		strcmp(name, "bob") == 0,
	    "... a user turnadmin adds after turnpike opened the file is found by USERHASH");
	store_close(s);
}

static void
test_concurrency(void)
{
	char *path = tmpdb(), *cause = NULL;
	struct store *a = open_ok(path), *b = open_ok(path);
	int64_t v1 = 0, v2 = 0;
	sqlite3 *raw;
	time_t t0;
	int rc;

	CHECK(store_data_version(b, &v1, &cause) == 0);
	CHECK(store_user_set(a, "r", "u", "pw", &cause) == 0);
	CHECKM(store_data_version(b, &v2, &cause) == 0 && v1 != v2,
	    "data_version changes when another connection commits");
	CHECK(sqlite3_open(path, &raw) == SQLITE_OK);
	CHECK(sqlite3_exec(raw, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
	store_set_busy_timeout(a, 200);
	t0 = time(NULL);
	rc = store_user_set(a, "r", "v", "pw", &cause);
	CHECKM(fails_with(rc, &cause, "locked"), "a locked database is an error");
	CHECKM(time(NULL) - t0 < 3, "... after the busy timeout, not a hang");
	sqlite3_exec(raw, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(raw);
	CHECK(store_user_set(a, "r", "v", "pw", &cause) == 0 && count_users(b, NULL) == 2);
	store_close(a);
	store_close(b);
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(tmpdir) == NULL)
		return 99;
	engine_spec = getenv("TURNPIKE_TEST_STORE");
	engine_sql = getenv("TURNPIKE_TEST_SQL");
	if (engine_spec != NULL && engine_sql != NULL) {
		/* The engine-independent part, against a real engine. */
		printf("# store engine: %s\n", engine_spec);
		test_users();
		test_user_keys();
		test_bulk_keys();
		test_userhash();
		test_secrets_peers_origins();
		test_oauth_keys();
		test_realm_admin();
		test_hostile();
		rmdir(tmpdir);
		return unit_done();
	}
	test_create();
	test_users();
	test_user_keys();
	test_bulk_keys();
	test_userhash();
	test_secrets_peers_origins();
	test_oauth_keys();
	test_realm_admin();
	test_hostile();
	test_migrations();
	test_turnadmin();
	test_concurrency();
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		return 99;
	return unit_done();
}
