/* The credential store: coturn's SQLite schema plus turnpike_* tables. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <crypt.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "turnpike/cause.h"
#include "turnpike/integrity.h"
#include "turnpike/random.h"
#include "turnpike/hex.h"
#include "turnpike/oauth.h"
#include "turnpike/store.h"
#include "turnpike/stun.h"

/* Migration i takes user_version i to i + 1; each ends by setting the version. */
static const char *const store_migrations[STORE_SCHEMA_VERSION] = {
    /* v0 -> v1: coturn's tables (absent in a new file) and the SHA-256 keys. */
    "CREATE TABLE IF NOT EXISTS turnusers_lt (realm varchar(127) default '', "
    "name varchar(512), hmackey char(128), PRIMARY KEY (realm,name));"
    "CREATE TABLE IF NOT EXISTS turn_secret (realm varchar(127) default '', "
    "value varchar(127), primary key (realm,value));"
    "CREATE TABLE IF NOT EXISTS allowed_peer_ip (realm varchar(127) default '', "
    "ip_range varchar(256), primary key (realm,ip_range));"
    "CREATE TABLE IF NOT EXISTS denied_peer_ip (realm varchar(127) default '', "
    "ip_range varchar(256), primary key (realm,ip_range));"
    "CREATE TABLE IF NOT EXISTS turn_origin_to_realm (origin varchar(127),"
    "realm varchar(127),primary key (origin));"
    "CREATE TABLE IF NOT EXISTS turn_realm_option (realm varchar(127) default '',"
    "opt varchar(32),value varchar(128),primary key (realm,opt));"
    "CREATE TABLE IF NOT EXISTS oauth_key (kid varchar(128),ikm_key varchar(256),"
    "timestamp bigint default 0,lifetime integer default 0,"
    "as_rs_alg varchar(64) default '',realm varchar(127) default '',primary key (kid));"
    "CREATE TABLE IF NOT EXISTS admin_user (name varchar(32), realm varchar(127), "
    "password varchar(127), primary key (name));"
    /* The MD5 key the SHA-256 key was derived with: a coturn update makes it stale. */
    "CREATE TABLE IF NOT EXISTS turnpike_user_sha256 (realm varchar(127) default '', "
    "name varchar(512), hmackey char(32), sha256key char(64), PRIMARY KEY (realm,name));"
    "PRAGMA user_version = 1;",
    /* v1 -> v2: when each user was added and last changed (unknown for older ones). */
    "CREATE TABLE IF NOT EXISTS turnpike_user_meta (realm varchar(127) default '', "
    "name varchar(512), created bigint, updated bigint, PRIMARY KEY (realm,name));"
    "INSERT OR IGNORE INTO turnpike_user_meta (realm, name) "
    "SELECT realm, name FROM turnusers_lt;"
    "PRAGMA user_version = 2;",
    /* v2 -> v3: the credential issuer's API keys (a SHA-256 of each key, never the key). */
    "CREATE TABLE IF NOT EXISTS turnpike_apikey (name varchar(64), realm varchar(127) "
    "default '', hash char(64), created bigint, PRIMARY KEY (name));"
    "PRAGMA user_version = 3;",
};

enum store_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_DATA_VERSION,
	ST_USER_PUT,
	ST_USER_SHA_PUT,
	ST_USER_SHA_DEL,
	ST_USER_META_PUT,
	ST_USER_DEL,
	ST_USER_META_DEL,
	ST_USER_LIST,
	ST_USER_GET,
	ST_SECRET_ADD,
	ST_SECRET_DEL,
	ST_SECRET_DEL_ALL,
	ST_SECRET_LIST,
	ST_ALLOW_ADD,
	ST_ALLOW_DEL,
	ST_DENY_ADD,
	ST_DENY_DEL,
	ST_PEER_LIST,
	ST_ORIGIN_ADD,
	ST_ORIGIN_DEL,
	ST_ORIGIN_LIST,
	ST_REALM_SET,
	ST_REALM_DEL,
	ST_REALM_GET,
	ST_REALM_LIST,
	ST_ADMIN_PUT,
	ST_ADMIN_DEL,
	ST_ADMIN_LIST,
	ST_ADMIN_GET,
	ST_OAUTH_PUT,
	ST_OAUTH_DEL,
	ST_OAUTH_LIST,
	ST_APIKEY_PUT,
	ST_APIKEY_DEL,
	ST_APIKEY_LIST,
	ST_APIKEY_GET,
	ST_COUNT
};

/* Every statement, prepared once per handle; parameters are always bound. */
static const char *const store_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_DATA_VERSION] = "PRAGMA data_version",
    [ST_USER_PUT] =
	"INSERT OR REPLACE INTO turnusers_lt (realm, name, hmackey) VALUES (?1, ?2, ?3)",
    [ST_USER_SHA_PUT] = "INSERT OR REPLACE INTO turnpike_user_sha256 "
			"(realm, name, hmackey, sha256key) VALUES (?1, ?2, ?3, ?4)",
    [ST_USER_SHA_DEL] = "DELETE FROM turnpike_user_sha256 WHERE realm = ?1 AND name = ?2",
    [ST_USER_META_PUT] = "INSERT INTO turnpike_user_meta (realm, name, created, updated) "
			 "VALUES (?1, ?2, CAST(strftime('%s', 'now') AS INTEGER), "
			 "CAST(strftime('%s', 'now') AS INTEGER)) ON CONFLICT (realm, name) "
			 "DO UPDATE SET updated = CAST(strftime('%s', 'now') AS INTEGER)",
    [ST_USER_DEL] = "DELETE FROM turnusers_lt WHERE realm = ?1 AND name = ?2",
    [ST_USER_META_DEL] = "DELETE FROM turnpike_user_meta WHERE realm = ?1 AND name = ?2",
    [ST_USER_LIST] = "SELECT realm, name, hmackey FROM turnusers_lt "
		     "WHERE ?1 IS NULL OR realm = ?1 ORDER BY realm, name",
    [ST_USER_GET] = "SELECT u.hmackey, s.sha256key FROM turnusers_lt u "
		    "LEFT JOIN turnpike_user_sha256 s ON s.realm = u.realm AND s.name = u.name "
		    "AND s.hmackey = lower(u.hmackey) WHERE u.realm = ?1 AND u.name = ?2",
    [ST_SECRET_ADD] = "INSERT OR IGNORE INTO turn_secret (realm, value) VALUES (?1, ?2)",
    [ST_SECRET_DEL] = "DELETE FROM turn_secret WHERE realm = ?1 AND value = ?2",
    [ST_SECRET_DEL_ALL] = "DELETE FROM turn_secret WHERE ?1 IS NULL OR realm = ?1",
    [ST_SECRET_LIST] = "SELECT realm, NULL, value FROM turn_secret "
		       "WHERE ?1 IS NULL OR realm = ?1 ORDER BY realm, value",
    [ST_ALLOW_ADD] = "INSERT OR IGNORE INTO allowed_peer_ip (realm, ip_range) VALUES (?1, ?2)",
    [ST_ALLOW_DEL] = "DELETE FROM allowed_peer_ip WHERE realm = ?1 AND ip_range = ?2",
    [ST_DENY_ADD] = "INSERT OR IGNORE INTO denied_peer_ip (realm, ip_range) VALUES (?1, ?2)",
    [ST_DENY_DEL] = "DELETE FROM denied_peer_ip WHERE realm = ?1 AND ip_range = ?2",
    [ST_PEER_LIST] = "SELECT realm, 'allow', ip_range FROM allowed_peer_ip "
		     "WHERE ?1 IS NULL OR realm = ?1 UNION ALL "
		     "SELECT realm, 'deny', ip_range FROM denied_peer_ip "
		     "WHERE ?1 IS NULL OR realm = ?1 ORDER BY 1, 2, 3",
    [ST_ORIGIN_ADD] = "INSERT OR REPLACE INTO turn_origin_to_realm (origin, realm) VALUES (?1, ?2)",
    [ST_ORIGIN_DEL] = "DELETE FROM turn_origin_to_realm WHERE origin = ?1",
    [ST_ORIGIN_LIST] = "SELECT realm, origin, NULL FROM turn_origin_to_realm "
		       "WHERE ?1 IS NULL OR realm = ?1 ORDER BY realm, origin",
    [ST_REALM_SET] = "INSERT OR REPLACE INTO turn_realm_option (realm, opt, value) "
		     "VALUES (?1, ?2, ?3)",
    [ST_REALM_DEL] = "DELETE FROM turn_realm_option WHERE realm = ?1 AND opt = ?2",
    [ST_REALM_GET] = "SELECT realm, opt, value FROM turn_realm_option "
		     "WHERE realm = ?1 AND opt = ?2",
    [ST_REALM_LIST] = "SELECT realm, opt, value FROM turn_realm_option "
		      "WHERE ?1 IS NULL OR realm = ?1 ORDER BY realm, opt",
    [ST_ADMIN_PUT] = "INSERT OR REPLACE INTO admin_user (name, realm, password) "
		     "VALUES (?1, ?2, ?3)",
    [ST_ADMIN_DEL] = "DELETE FROM admin_user WHERE name = ?1",
    [ST_ADMIN_LIST] = "SELECT realm, name, NULL FROM admin_user ORDER BY name",
    [ST_ADMIN_GET] = "SELECT realm, name, password FROM admin_user WHERE name = ?1",
    [ST_OAUTH_PUT] = "INSERT OR REPLACE INTO oauth_key "
		     "(kid, ikm_key, timestamp, lifetime, as_rs_alg, realm) "
		     "VALUES (?1, ?2, CAST(?3 AS INTEGER), CAST(?4 AS INTEGER), ?5, ?6)",
    [ST_OAUTH_DEL] = "DELETE FROM oauth_key WHERE kid = ?1",
    [ST_OAUTH_LIST] = "SELECT kid, ikm_key, timestamp, lifetime, as_rs_alg, realm "
		      "FROM oauth_key ORDER BY kid",
    [ST_APIKEY_PUT] = "INSERT INTO turnpike_apikey (name, realm, hash, created) "
		      "VALUES (?1, ?2, ?3, CAST(strftime('%s', 'now') AS INTEGER))",
    [ST_APIKEY_DEL] = "DELETE FROM turnpike_apikey WHERE name = ?1",
    [ST_APIKEY_LIST] = "SELECT realm, name, created FROM turnpike_apikey ORDER BY name",
    [ST_APIKEY_GET] = "SELECT realm, name, hash FROM turnpike_apikey WHERE name = ?1",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
};

/* One step of a write: a statement, its text parameters, and what must exist. */
struct store_op {
	enum store_stmt st;
	const char *args[6];
	const char *missing; /* non-NULL: fail with this when no row changed */
};

#define STORE_NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
store_fail_db(struct store *s, char **cause, const char *what)
{
	return cause_fail(cause, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* Length of the UTF-8 sequence at p (at most n bytes), or 0 when invalid. */
static size_t
store_utf8_len(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, c = p[0] & 0x1f, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, c = p[0] & 0x0f, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, c = p[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int
store_check_text(const char *what, const char *s, size_t len, size_t max, char **cause)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	if (len > max)
		return cause_fail(cause, "%s: longer than %zu bytes", what, max);
	while (i < len) {
		if ((n = store_utf8_len(p + i, len - i, &cp)) == 0)
			return cause_fail(cause, "%s: not valid UTF-8 (byte %zu)", what, i + 1);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return cause_fail(cause,
			    "%s: control character U+%04" PRIX32 " at byte %zu", what, cp, i + 1);
		i += n;
	}
	return 0;
}

/* A required field: non-empty and valid text. */
static int
store_check_name(const char *what, const char *s, size_t max, char **cause)
{
	if (s == NULL || *s == '\0')
		return cause_fail(cause, "%s: empty", what);
	return store_check_text(what, s, strlen(s), max, cause);
}

/* A realm: "" is coturn's default realm. */
static int
store_check_realm(const char *realm, char **cause)
{
	if (realm == NULL)
		return cause_fail(cause, "realm: missing");
	return store_check_text("realm", realm, strlen(realm), STORE_REALM_MAX, cause);
}

/* The directory that holds path must exist: a typo in a path never makes directories. */
static int
store_check_parent(const char *path, char **cause)
{
	const char *slash = strrchr(path, '/');
	struct stat sb;
	char *dir;
	int rc = 0;

	if (slash == NULL || slash == path)
		return 0;
	if ((dir = strndup(path, (size_t)(slash - path))) == NULL)
		return cause_fail(cause, "%s: out of memory", path);
	if (stat(dir, &sb) == -1)
		rc = cause_fail(cause, "%s: directory %s: %s (it is not created)", path, dir,
		    strerror(errno));
	else if (!S_ISDIR(sb.st_mode))
		rc = cause_fail(cause, "%s: %s is not a directory", path, dir);
	free(dir);
	return rc;
}

/* Creates the file 0600 when missing, before SQLite would create it 0644. */
static int
store_create_file(const char *path, char **cause)
{
	int fd;

	if (store_check_parent(path, cause) == -1)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 && errno != EEXIST)
		return cause_fail(cause, "%s: cannot create: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	return 0;
}

static int
store_pragma_int(struct store *s, const char *sql, int64_t *out, char **cause)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_fail_db(s, cause, "reading the schema version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return store_fail_db(s, cause, "reading the schema version");
	return 0;
}

int
store_schema_version(struct store *s, int *version, char **cause)
{
	int64_t v = 0;

	if (store_pragma_int(s, "PRAGMA user_version", &v, cause) == -1)
		return -1;
	*version = (int)v;
	return 0;
}

/* Runs the migrations from the file's version to STORE_SCHEMA_VERSION, in one transaction. */
static int
store_migrate(struct store *s, char **cause)
{
	int v = 0;

	if (store_schema_version(s, &v, cause) == -1)
		return -1;
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (v < 0 || v > STORE_SCHEMA_VERSION)
		return cause_fail(cause, "schema version %d is newer than this turnpike's (%d)", v,
		    STORE_SCHEMA_VERSION);
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return store_fail_db(s, cause, "starting the migration");
	/* Another process may have migrated while this one waited for the lock. */
	if (store_schema_version(s, &v, cause) == -1)
		goto fail;
	for (; v < STORE_SCHEMA_VERSION; v++) {
		if (sqlite3_exec(s->db, store_migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
			cause_fail(cause, "migrating schema version %d to %d: %s", v, v + 1,
			    sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_fail_db(s, cause, "committing the migration");
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int
store_prepare(struct store *s, char **cause)
{
	size_t i;

	for (i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
			&s->stmt[i], NULL) != SQLITE_OK)
			return cause_fail(cause, "preparing statement %zu: %s", i,
			    sqlite3_errmsg(s->db));
	}
	return 0;
}

static int
store_setup(struct store *s, const char *path, int busy_ms, char **cause)
{
	int rc;

	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (s->db == NULL)
			return cause_fail(cause, "%s: cannot open: out of memory", path);
		return cause_fail(cause, "%s: cannot open: %s", path, sqlite3_errmsg(s->db));
	}
	sqlite3_busy_timeout(s->db, busy_ms);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
		return cause_fail(cause, "%s: %s", path, sqlite3_errmsg(s->db));
	if (store_migrate(s, cause) == -1 || store_prepare(s, cause) == -1)
		return -1;
	return 0;
}

int
store_open(const char *path, struct store **out, char **cause)
{
	return store_open_busy(path, STORE_BUSY_TIMEOUT_MS, out, cause);
}

int
store_open_busy(const char *path, int busy_ms, struct store **out, char **cause)
{
	struct store *s;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return cause_fail(cause, "database path: empty");
	if (store_create_file(path, cause) == -1)
		return -1;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return cause_fail(cause, "%s: out of memory", path);
	if (store_setup(s, path, busy_ms, cause) == -1) {
		store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
}

void
store_set_busy_timeout(struct store *s, int ms)
{
	sqlite3_busy_timeout(s->db, ms);
}

/* Binds args (NULL binds SQL NULL), steps to the end; returns the rows changed or -1. */
static int
store_step(struct store *s, enum store_stmt id, const char *const *args, char **cause)
{
	sqlite3_stmt *st = s->stmt[id];
	int i, n = sqlite3_bind_parameter_count(st), rc;

	for (i = 0; i < n; i++) {
		if (sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC) != SQLITE_OK) {
			sqlite3_reset(st);
			return store_fail_db(s, cause, "binding");
		}
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return store_fail_db(s, cause, "database");
	return sqlite3_changes(s->db);
}

static const char *
store_col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Runs a query whose columns are realm, name, value, calling fn per row. */
static int
store_each(struct store *s, enum store_stmt id, const char *const *args, store_row_fn fn, void *arg,
    char **cause)
{
	sqlite3_stmt *st = s->stmt[id];
	struct store_row row;
	int i, n = sqlite3_bind_parameter_count(st), rc;

	for (i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row.realm = store_col(st, 0);
		row.name = store_col(st, 1);
		row.value = store_col(st, 2);
		if (fn(arg, &row) == -1) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return cause_fail(cause, "listing stopped");
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return store_fail_db(s, cause, "database");
	return 0;
}

/* Runs ops as one transaction: all of them, or (on any error) none. */
static int
store_apply(struct store *s, const struct store_op *ops, size_t nops, char **cause)
{
	static const char *const none[1] = {NULL};
	size_t i;
	int n;

	if (store_step(s, ST_BEGIN, none, cause) == -1)
		return -1;
	for (i = 0; i < nops; i++) {
		if ((n = store_step(s, ops[i].st, ops[i].args, cause)) == -1)
			goto fail;
		if (n == 0 && ops[i].missing != NULL) {
			cause_fail(cause, "%s", ops[i].missing);
			goto fail;
		}
	}
	if (store_step(s, ST_COMMIT, none, cause) == -1)
		goto fail;
	return 0;
fail:
	store_step(s, ST_ROLLBACK, none, NULL);
	return -1;
}

int
store_data_version(struct store *s, int64_t *version, char **cause)
{
	sqlite3_stmt *st = s->stmt[ST_DATA_VERSION];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_fail_db(s, cause, "data_version");
	return 0;
}

static int
store_check_user(const char *realm, const char *name, char **cause)
{
	if (store_check_realm(realm, cause) == -1)
		return -1;
	return store_check_name("user name", name, STORE_NAME_MAX, cause);
}

int
store_user_set(struct store *s, const char *realm, const char *name, const char *password,
    char **cause)
{
	uint8_t md5[INTEGRITY_MD5_KEY_LEN], sha[INTEGRITY_SHA256_KEY_LEN];
	char md5hex[2 * sizeof md5 + 1], shahex[2 * sizeof sha + 1];
	size_t len;
	int rc;

	if (store_check_user(realm, name, cause) == -1 ||
	    store_check_name("password", password, STORE_PASSWORD_MAX, cause) == -1)
		return -1;
	if (integrity_key_long_term(STUN_PWALG_MD5, name, strlen(name), realm, strlen(realm),
		password, strlen(password), md5, &len) == -1 ||
	    integrity_key_long_term(STUN_PWALG_SHA256, name, strlen(name), realm, strlen(realm),
		password, strlen(password), sha, &len) == -1)
		return cause_fail(cause, "password: refused by OpaqueString preparation");
	hex_encode(md5hex, md5, sizeof md5);
	hex_encode(shahex, sha, sizeof sha);
	const struct store_op ops[] = {
	    {ST_USER_PUT, {realm, name, md5hex}, NULL},
	    {ST_USER_SHA_PUT, {realm, name, md5hex, shahex}, NULL},
	    {ST_USER_META_PUT, {realm, name}, NULL},
	};
	rc = store_apply(s, ops, STORE_NELEM(ops), cause);
	OPENSSL_cleanse(sha, sizeof sha);
	OPENSSL_cleanse(shahex, sizeof shahex);
	return rc;
}

int
store_key_md5(const char *realm, const char *name, const char *password, char out[33], char **cause)
{
	uint8_t md5[INTEGRITY_MD5_KEY_LEN];
	size_t len;

	if (store_check_user(realm, name, cause) == -1 ||
	    store_check_name("password", password, STORE_PASSWORD_MAX, cause) == -1)
		return -1;
	if (integrity_key_long_term(STUN_PWALG_MD5, name, strlen(name), realm, strlen(realm),
		password, strlen(password), md5, &len) == -1)
		return cause_fail(cause, "password: refused by OpaqueString preparation");
	hex_encode(out, md5, sizeof md5);
	return 0;
}

int
store_user_set_key(struct store *s, const char *realm, const char *name, const char *key,
    char **cause)
{
	uint8_t md5[INTEGRITY_MD5_KEY_LEN];
	char md5hex[2 * sizeof md5 + 1];

	if (store_check_user(realm, name, cause) == -1)
		return -1;
	if (key == NULL || (strncmp(key, "0x", 2) != 0 && strncmp(key, "0X", 2) != 0) ||
	    hex_decode(key + 2, md5, sizeof md5) == -1)
		return cause_fail(cause, "key: expected 0x and %zu hex digits", 2 * sizeof md5);
	hex_encode(md5hex, md5, sizeof md5);
	const struct store_op ops[] = {
	    {ST_USER_PUT, {realm, name, md5hex}, NULL},
	    {ST_USER_SHA_DEL, {realm, name}, NULL},
	    {ST_USER_META_PUT, {realm, name}, NULL},
	};
	return store_apply(s, ops, STORE_NELEM(ops), cause);
}

int
store_user_delete(struct store *s, const char *realm, const char *name, char **cause)
{
	char missing[64 + STORE_NAME_MAX + STORE_REALM_MAX];

	if (store_check_user(realm, name, cause) == -1)
		return -1;
	snprintf(missing, sizeof missing, "no user '%s' in realm '%s'", name, realm);
	const struct store_op ops[] = {
	    {ST_USER_DEL, {realm, name}, missing},
	    {ST_USER_SHA_DEL, {realm, name}, NULL},
	    {ST_USER_META_DEL, {realm, name}, NULL},
	};
	return store_apply(s, ops, STORE_NELEM(ops), cause);
}

int
store_user_list(struct store *s, const char *realm, store_row_fn fn, void *arg, char **cause)
{
	const char *args[] = {realm};

	return store_each(s, ST_USER_LIST, args, fn, arg, cause);
}

/* Decodes one looked-up row into a key pair. */
static int
store_user_key(sqlite3_stmt *st, struct creds_key *k, char **cause)
{
	const char *md5 = store_col(st, 0), *sha = store_col(st, 1);

	memset(k, 0, sizeof *k);
	if (md5 == NULL || hex_decode(md5, k->md5, sizeof k->md5) == -1)
		return cause_fail(cause, "stored hmackey is not a %zu-digit hex MD5 key",
		    2 * sizeof k->md5);
	k->has_sha256 = sha != NULL && hex_decode(sha, k->sha256, sizeof k->sha256) == 0;
	return 0;
}

int
store_user_lookup(struct store *s, const char *realm, const char *name, struct creds_result *out,
    char **cause)
{
	sqlite3_stmt *st = s->stmt[ST_USER_GET];
	int rc, status;

	out->nkeys = 0;
	if (store_check_user(realm, name, cause) == -1)
		return CREDS_UNKNOWN;
	sqlite3_bind_text(st, 1, realm, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		status = CREDS_FOUND;
		if (store_user_key(st, &out->keys[0], cause) == -1)
			status = CREDS_UNAVAILABLE;
		else
			out->nkeys = 1;
	} else if (rc == SQLITE_DONE)
		status = CREDS_UNKNOWN;
	else {
		store_fail_db(s, cause, "user lookup");
		status = CREDS_UNAVAILABLE;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return status;
}

int
store_secret_add(struct store *s, const char *realm, const char *secret, char **cause)
{
	if (store_check_realm(realm, cause) == -1 ||
	    store_check_name("secret", secret, STORE_SECRET_MAX, cause) == -1)
		return -1;
	const struct store_op ops[] = {{ST_SECRET_ADD, {realm, secret}, NULL}};
	return store_apply(s, ops, 1, cause);
}

int
store_secret_delete(struct store *s, const char *realm, const char *secret, char **cause)
{
	if (store_check_realm(realm, cause) == -1 ||
	    store_check_name("secret", secret, STORE_SECRET_MAX, cause) == -1)
		return -1;
	const struct store_op ops[] = {
	    {ST_SECRET_DEL, {realm, secret}, "no such secret in that realm"}};
	return store_apply(s, ops, 1, cause);
}

int
store_secret_delete_all(struct store *s, const char *realm, char **cause)
{
	if (realm != NULL && store_check_realm(realm, cause) == -1)
		return -1;
	const struct store_op ops[] = {{ST_SECRET_DEL_ALL, {realm}, NULL}};
	return store_apply(s, ops, 1, cause);
}

int
store_secret_list(struct store *s, const char *realm, store_row_fn fn, void *arg, char **cause)
{
	const char *args[] = {realm};

	return store_each(s, ST_SECRET_LIST, args, fn, arg, cause);
}

int
store_peer_add(struct store *s, bool allow, const char *realm, const char *range, char **cause)
{
	if (store_check_realm(realm, cause) == -1 ||
	    store_check_name("peer range", range, STORE_RANGE_MAX, cause) == -1)
		return -1;
	const struct store_op ops[] = {{allow ? ST_ALLOW_ADD : ST_DENY_ADD, {realm, range}, NULL}};
	return store_apply(s, ops, 1, cause);
}

int
store_peer_remove(struct store *s, bool allow, const char *realm, const char *range, char **cause)
{
	if (store_check_realm(realm, cause) == -1 ||
	    store_check_name("peer range", range, STORE_RANGE_MAX, cause) == -1)
		return -1;
	const struct store_op ops[] = {{allow ? ST_ALLOW_DEL : ST_DENY_DEL, {realm, range},
	    allow ? "no such allowed range in that realm" : "no such denied range in that realm"}};
	return store_apply(s, ops, 1, cause);
}

int
store_peer_list(struct store *s, const char *realm, store_row_fn fn, void *arg, char **cause)
{
	const char *args[] = {realm};

	return store_each(s, ST_PEER_LIST, args, fn, arg, cause);
}

int
store_origin_add(struct store *s, const char *origin, const char *realm, char **cause)
{
	if (store_check_name("origin", origin, STORE_ORIGIN_MAX, cause) == -1 ||
	    store_check_realm(realm, cause) == -1)
		return -1;
	const struct store_op ops[] = {{ST_ORIGIN_ADD, {origin, realm}, NULL}};
	return store_apply(s, ops, 1, cause);
}

int
store_origin_delete(struct store *s, const char *origin, char **cause)
{
	if (store_check_name("origin", origin, STORE_ORIGIN_MAX, cause) == -1)
		return -1;
	const struct store_op ops[] = {{ST_ORIGIN_DEL, {origin}, "no such origin"}};
	return store_apply(s, ops, 1, cause);
}

int
store_origin_list(struct store *s, const char *realm, store_row_fn fn, void *arg, char **cause)
{
	const char *args[] = {realm};

	return store_each(s, ST_ORIGIN_LIST, args, fn, arg, cause);
}

/* The realm options coturn knows (turn_realm_option.opt). */
static const char *const store_realm_opts[] = {"max-bps", "total-quota", "user-quota"};

static int
store_check_opt(const char *realm, const char *opt, char **cause)
{
	size_t i;

	if (store_check_realm(realm, cause) == -1)
		return -1;
	for (i = 0; i < STORE_NELEM(store_realm_opts); i++) {
		if (opt != NULL && strcmp(opt, store_realm_opts[i]) == 0)
			return 0;
	}
	return cause_fail(cause, "realm option: expected max-bps, total-quota or user-quota");
}

int
store_realm_set(struct store *s, const char *realm, const char *opt, uint64_t value, char **cause)
{
	char v[24];

	if (store_check_opt(realm, opt, cause) == -1)
		return -1;
	snprintf(v, sizeof v, "%" PRIu64, value);
	const struct store_op ops[] = {
	    {value == 0 ? ST_REALM_DEL : ST_REALM_SET, {realm, opt, v}, NULL}};
	return store_apply(s, ops, 1, cause);
}

static int
store_realm_get_row(void *arg, const struct store_row *row)
{
	uint64_t *value = arg;

	*value = row->value != NULL ? strtoull(row->value, NULL, 10) : 0;
	return 0;
}

int
store_realm_get(struct store *s, const char *realm, const char *opt, uint64_t *value, char **cause)
{
	const char *args[] = {realm, opt};

	*value = 0;
	if (store_check_opt(realm, opt, cause) == -1)
		return -1;
	return store_each(s, ST_REALM_GET, args, store_realm_get_row, value, cause);
}

int
store_realm_list(struct store *s, const char *realm, store_row_fn fn, void *arg, char **cause)
{
	const char *args[] = {realm};

	return store_each(s, ST_REALM_LIST, args, fn, arg, cause);
}

#define STORE_SALT_LEN 16
#define STORE_HASH_LEN 32
#define STORE_HASH_PREFIX "$pbkdf2-sha256$"
#define STORE_ITER_MAX 10000000UL

static int
store_pbkdf2(const char *password, const uint8_t *salt, unsigned long iter, uint8_t *out)
{
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, STORE_SALT_LEN, (int)iter,
		EVP_sha256(), STORE_HASH_LEN, out) != 1)
		return -1;
	return 0;
}

int
store_hash_password(const char *password, char *out, size_t cap, char **cause)
{
	uint8_t salt[STORE_SALT_LEN], hash[STORE_HASH_LEN];
	char salthex[2 * STORE_SALT_LEN + 1], hashhex[2 * STORE_HASH_LEN + 1];
	int n;

	if (store_check_name("password", password, STORE_PASSWORD_MAX, cause) == -1)
		return -1;
	if (random_bytes(salt, sizeof salt) == -1)
		return cause_fail(cause, "password hash: no randomness");
	if (store_pbkdf2(password, salt, STORE_PBKDF2_ITER, hash) == -1)
		return cause_fail(cause, "password hash: PBKDF2 failed");
	hex_encode(salthex, salt, sizeof salt);
	hex_encode(hashhex, hash, sizeof hash);
	n = snprintf(out, cap, STORE_HASH_PREFIX "%lu$%s$%s", (unsigned long)STORE_PBKDF2_ITER,
	    salthex, hashhex);
	if (n < 0 || (size_t)n >= cap)
		return cause_fail(cause, "password hash: buffer too small");
	return 0;
}

/* coturn's admin hashes: SHA-256-crypt ("$5$SALT$HASH", crypt(3)). */
static bool
store_hash_verify_crypt(const char *password, const char *hash)
{
	struct crypt_data *cd;
	const char *got;
	bool ok = false;

	if ((cd = calloc(1, sizeof *cd)) == NULL)
		return false;
	got = crypt_r(password, hash, cd);
	if (got != NULL && got[0] == '$' && strlen(got) == strlen(hash))
		ok = CRYPTO_memcmp(got, hash, strlen(hash)) == 0;
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok;
}

bool
store_hash_verify(const char *password, const char *hash)
{
	uint8_t salt[STORE_SALT_LEN], want[STORE_HASH_LEN], got[STORE_HASH_LEN];
	char salthex[2 * STORE_SALT_LEN + 1];
	const char *p;
	char *end;
	unsigned long iter;

	if (password != NULL && hash != NULL && strncmp(hash, "$5$", 3) == 0)
		return store_hash_verify_crypt(password, hash);
	if (password == NULL || hash == NULL ||
	    strncmp(hash, STORE_HASH_PREFIX, strlen(STORE_HASH_PREFIX)) != 0)
		return false;
	p = hash + strlen(STORE_HASH_PREFIX);
	iter = strtoul(p, &end, 10);
	if (end == p || *end != '$' || iter == 0 || iter > STORE_ITER_MAX)
		return false;
	p = end + 1;
	if (strlen(p) < sizeof salthex || p[sizeof salthex - 1] != '$')
		return false;
	memcpy(salthex, p, sizeof salthex - 1);
	salthex[sizeof salthex - 1] = '\0';
	if (hex_decode(salthex, salt, sizeof salt) == -1 ||
	    hex_decode(p + sizeof salthex, want, sizeof want) == -1 ||
	    store_pbkdf2(password, salt, iter, got) == -1)
		return false;
	return integrity_equal(want, got, sizeof got);
}

int
store_admin_set(struct store *s, const char *name, const char *realm, const char *password,
    char **cause)
{
	char hash[STORE_HASH_MAX];

	if (store_check_name("admin name", name, STORE_ADMIN_NAME_MAX, cause) == -1 ||
	    store_check_realm(realm, cause) == -1 ||
	    store_hash_password(password, hash, sizeof hash, cause) == -1)
		return -1;
	const struct store_op ops[] = {{ST_ADMIN_PUT, {name, realm, hash}, NULL}};
	return store_apply(s, ops, 1, cause);
}

int
store_admin_delete(struct store *s, const char *name, char **cause)
{
	if (store_check_name("admin name", name, STORE_ADMIN_NAME_MAX, cause) == -1)
		return -1;
	const struct store_op ops[] = {{ST_ADMIN_DEL, {name}, "no such admin"}};
	return store_apply(s, ops, 1, cause);
}

int
store_admin_list(struct store *s, store_row_fn fn, void *arg, char **cause)
{
	const char *args[] = {NULL};

	return store_each(s, ST_ADMIN_LIST, args, fn, arg, cause);
}

struct store_verify {
	const char *password;
	bool *ok;
};

static int
store_admin_verify_row(void *arg, const struct store_row *row)
{
	struct store_verify *v = arg;

	*v->ok = store_hash_verify(v->password, row->value);
	return 0;
}

int
store_admin_verify(struct store *s, const char *name, const char *password, bool *ok, char **cause)
{
	const char *args[] = {name};
	struct store_verify v = {password, ok};

	*ok = false;
	if (store_check_name("admin name", name, STORE_ADMIN_NAME_MAX, cause) == -1)
		return -1;
	return store_each(s, ST_ADMIN_GET, args, store_admin_verify_row, &v, cause);
}

int
store_oauth_key_set(struct store *s, const struct store_oauth_key *k, char **cause)
{
	struct oauth_key check;
	const char *errstr;
	char ts[24], lt[24];
	const char *alg;

	if (store_check_name("kid", k->kid, OAUTH_KID_MAX, cause) == -1 ||
	    store_check_realm(k->realm, cause) == -1)
		return -1;
	if (oauth_key_make(k->kid, k->ikm_key, k->as_rs_alg, k->timestamp, k->lifetime, k->realm,
		&check, &errstr) == -1)
		return cause_fail(cause, "oauth key %s: %s", k->kid, errstr);
	alg = oauth_alg_name(check.alg);
	explicit_bzero(&check, sizeof check);
	if (k->timestamp > INT64_MAX)
		return cause_fail(cause, "oauth key %s: timestamp out of range", k->kid);
	snprintf(ts, sizeof ts, "%" PRIu64, k->timestamp);
	snprintf(lt, sizeof lt, "%" PRIu32, k->lifetime);
	const struct store_op ops[] = {
	    {ST_OAUTH_PUT, {k->kid, k->ikm_key, ts, lt, alg, k->realm}, NULL}};
	return store_apply(s, ops, 1, cause);
}

int
store_oauth_key_delete(struct store *s, const char *kid, char **cause)
{
	if (store_check_name("kid", kid, OAUTH_KID_MAX, cause) == -1)
		return -1;
	const struct store_op ops[] = {{ST_OAUTH_DEL, {kid}, "no such oauth key"}};
	return store_apply(s, ops, 1, cause);
}

int
store_oauth_key_list(struct store *s, store_oauth_fn fn, void *arg, char **cause)
{
	sqlite3_stmt *st = s->stmt[ST_OAUTH_LIST];
	struct store_oauth_key k;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		k.kid = store_col(st, 0);
		k.ikm_key = store_col(st, 1);
		k.timestamp = (uint64_t)sqlite3_column_int64(st, 2);
		k.lifetime = (uint32_t)sqlite3_column_int64(st, 3);
		k.as_rs_alg = store_col(st, 4) != NULL ? store_col(st, 4) : "";
		k.realm = store_col(st, 5) != NULL ? store_col(st, 5) : "";
		if (k.kid == NULL || k.ikm_key == NULL)
			continue; /* a row coturn could not use either */
		if (fn(arg, &k) == -1) {
			sqlite3_reset(st);
			return cause_fail(cause, "listing stopped");
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail_db(s, cause, "database");
	return 0;
}

/* The stored form of an API key: SHA-256 of the whole key, in hex. */
static int
store_apikey_hash(const char *key, char out[65], char **cause)
{
	uint8_t md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return cause_fail(cause, "cannot hash the API key");
	hex_encode(out, md, sizeof md);
	return 0;
}

int
store_apikey_add(struct store *s, const char *name, const char *realm, char *key, size_t cap,
    char **cause)
{
	uint8_t rnd[24];
	char hex[2 * sizeof rnd + 1], hash[65];

	if (store_check_name("API key name", name, STORE_APIKEY_NAME_MAX, cause) == -1 ||
	    store_check_realm(realm, cause) == -1)
		return -1;
	if (strchr(name, '.') != NULL || strchr(name, ' ') != NULL)
		return cause_fail(cause, "an API key name has no dot and no space");
	if (random_bytes(rnd, sizeof rnd) == -1)
		return cause_fail(cause, "no random bytes for the API key");
	hex_encode(hex, rnd, sizeof rnd);
	if ((size_t)snprintf(key, cap, "%s.%s", name, hex) >= cap)
		return cause_fail(cause, "API key buffer too small");
	if (store_apikey_hash(key, hash, cause) == -1)
		return -1;
	const struct store_op ops[] = {{ST_APIKEY_PUT, {name, realm, hash}, NULL}};
	return store_apply(s, ops, 1, cause);
}

int
store_apikey_delete(struct store *s, const char *name, char **cause)
{
	if (store_check_name("API key name", name, STORE_APIKEY_NAME_MAX, cause) == -1)
		return -1;
	const struct store_op ops[] = {{ST_APIKEY_DEL, {name}, "no such API key"}};
	return store_apply(s, ops, 1, cause);
}

int
store_apikey_list(struct store *s, store_row_fn fn, void *arg, char **cause)
{
	const char *args[] = {NULL};

	return store_each(s, ST_APIKEY_LIST, args, fn, arg, cause);
}

struct store_apikey_check {
	const char *hash;
	bool *ok;
	char *realm;
};

static int
store_apikey_row(void *arg, const struct store_row *row)
{
	struct store_apikey_check *c = arg;

	if (row->value == NULL || strlen(row->value) != 64 ||
	    CRYPTO_memcmp(row->value, c->hash, 64) != 0)
		return 0;
	*c->ok = true;
	snprintf(c->realm, STORE_REALM_MAX + 1, "%s", row->realm != NULL ? row->realm : "");
	return 0;
}

int
store_apikey_verify(struct store *s, const char *key, bool *ok, char realm[STORE_REALM_MAX + 1],
    char **cause)
{
	char name[STORE_APIKEY_NAME_MAX + 1], hash[65];
	const char *dot = strchr(key, '.');
	struct store_apikey_check c = {hash, ok, realm};
	const char *args[1];

	*ok = false;
	realm[0] = '\0';
	if (dot == NULL || dot == key || (size_t)(dot - key) > STORE_APIKEY_NAME_MAX)
		return 0;
	memcpy(name, key, (size_t)(dot - key));
	name[dot - key] = '\0';
	if (store_check_name("API key name", name, STORE_APIKEY_NAME_MAX, cause) == -1 ||
	    store_apikey_hash(key, hash, cause) == -1)
		return -1;
	args[0] = name;
	return store_each(s, ST_APIKEY_GET, args, store_apikey_row, &c, cause);
}
