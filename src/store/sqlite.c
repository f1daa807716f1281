/* The SQLite engine: coturn's SQLite schema plus turnpike_* tables, one file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "turnpike/cause.h"
#include "turnpike/credkey.h"
#include "turnpike/hex.h"
#include "turnpike/store_engine.h"

/* Migration i takes user_version i to i + 1; each ends by setting the version. */
static const char *const sqlite_migrations[STORE_SCHEMA_VERSION] = {
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

/* Every statement, prepared once per handle; parameters are always bound. */
static const char *const sqlite_sql[ST_COUNT] = {
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
    [ST_USER_KEYS] = "SELECT u.realm, u.name, u.hmackey, s.sha256key FROM turnusers_lt u "
		     "LEFT JOIN turnpike_user_sha256 s ON s.realm = u.realm AND s.name = u.name "
		     "AND s.hmackey = lower(u.hmackey) LIMIT CAST(?1 AS INTEGER)",
    /* A scan of the realm's rows (its primary key's prefix): no index on coturn's table. */
    [ST_USER_HASH] = "SELECT name FROM turnusers_lt "
		     "WHERE realm = ?1 AND turnpike_userhash(name, realm) = ?2",
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

enum sqlite_ctl {
	SC_BEGIN,
	SC_COMMIT,
	SC_ROLLBACK,
	SC_DATA_VERSION,
	SC_COUNT
};

static const char *const sqlite_ctl_sql[SC_COUNT] = {
    [SC_BEGIN] = "BEGIN IMMEDIATE",
    [SC_COMMIT] = "COMMIT",
    [SC_ROLLBACK] = "ROLLBACK",
    [SC_DATA_VERSION] = "PRAGMA data_version",
};

struct sqlite_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	sqlite3_stmt *ctl[SC_COUNT];
};

static int
sqlite_fail(struct sqlite_store *s, char **cause, const char *what)
{
	return cause_fail(cause, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* Creates the file 0600 when missing, before SQLite would create it 0644. */
static int
sqlite_create_file(const char *path, char **cause)
{
	char *why = NULL;
	int fd;

	if (store_check_dir(path, &why) == -1) {
		cause_fail(cause, "%s: %s", path, why);
		free(why);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 && errno != EEXIST)
		return cause_fail(cause, "%s: cannot create: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	return 0;
}

static int
sqlite_schema_version(void *ctx, int *version, char **cause)
{
	struct sqlite_store *s = ctx;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return sqlite_fail(s, cause, "reading the schema version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = (int)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return sqlite_fail(s, cause, "reading the schema version");
	return 0;
}

/* Runs the migrations from the file's version to STORE_SCHEMA_VERSION, in one transaction. */
static int
sqlite_migrate(struct sqlite_store *s, char **cause)
{
	int v = 0;

	if (sqlite_schema_version(s, &v, cause) == -1)
		return -1;
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (v < 0 || v > STORE_SCHEMA_VERSION)
		return cause_fail(cause, "schema version %d is newer than this turnpike's (%d)", v,
		    STORE_SCHEMA_VERSION);
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return sqlite_fail(s, cause, "starting the migration");
	/* Another process may have migrated while this one waited for the lock. */
	if (sqlite_schema_version(s, &v, cause) == -1)
		goto fail;
	for (; v < STORE_SCHEMA_VERSION; v++) {
		if (sqlite3_exec(s->db, sqlite_migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
			cause_fail(cause, "migrating schema version %d to %d: %s", v, v + 1,
			    sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite_fail(s, cause, "committing the migration");
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * turnpike_userhash(name, realm): the hex USERHASH, SHA-256(name ":" realm),
 * on turnpike's own connection only. It is never used in the schema (an index
 * on it would make coturn's turnadmin, which lacks the function, unable to
 * write turnusers_lt), only in ST_USER_HASH's query.
 */
static void
sqlite_userhash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *name, *realm;
	uint8_t hash[32];
	char hex[65];

	if (argc != 2 || (name = sqlite3_value_text(argv[0])) == NULL ||
	    (realm = sqlite3_value_text(argv[1])) == NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	credkey_userhash((const char *)name, (size_t)sqlite3_value_bytes(argv[0]),
	    (const char *)realm, (size_t)sqlite3_value_bytes(argv[1]), hash);
	hex_encode(hex, hash, sizeof hash);
	sqlite3_result_text(ctx, hex, 64, SQLITE_TRANSIENT);
}

static int
sqlite_prepare_one(struct sqlite_store *s, const char *sql, sqlite3_stmt **out, char **cause)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK)
		return cause_fail(cause, "preparing \"%.40s\": %s", sql, sqlite3_errmsg(s->db));
	return 0;
}

static int
sqlite_prepare(struct sqlite_store *s, char **cause)
{
	size_t i;

	for (i = 0; i < ST_COUNT; i++) {
		if (sqlite_prepare_one(s, sqlite_sql[i], &s->stmt[i], cause) == -1)
			return -1;
	}
	for (i = 0; i < SC_COUNT; i++) {
		if (sqlite_prepare_one(s, sqlite_ctl_sql[i], &s->ctl[i], cause) == -1)
			return -1;
	}
	return 0;
}

static int
sqlite_setup(struct sqlite_store *s, const char *path, int busy_ms, char **cause)
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
	if (sqlite3_create_function_v2(s->db, "turnpike_userhash", 2,
		SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL, sqlite_userhash, NULL,
		NULL, NULL) != SQLITE_OK)
		return cause_fail(cause, "%s: %s", path, sqlite3_errmsg(s->db));
	if (sqlite_migrate(s, cause) == -1 || sqlite_prepare(s, cause) == -1)
		return -1;
	return 0;
}

static void
sqlite_close(void *ctx)
{
	struct sqlite_store *s = ctx;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	for (i = 0; i < SC_COUNT; i++)
		sqlite3_finalize(s->ctl[i]);
	sqlite3_close(s->db);
	free(s);
}

static int
sqlite_open(const char *path, int busy_ms, void **out, char **cause)
{
	struct sqlite_store *s;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return cause_fail(cause, "database path: empty");
	if (sqlite_create_file(path, cause) == -1)
		return -1;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return cause_fail(cause, "%s: out of memory", path);
	if (sqlite_setup(s, path, busy_ms, cause) == -1) {
		sqlite_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

static void
sqlite_set_busy_timeout(void *ctx, int ms)
{
	struct sqlite_store *s = ctx;

	sqlite3_busy_timeout(s->db, ms);
}

static void
sqlite_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binds args (NULL binds SQL NULL), steps to the end; returns the rows changed or -1. */
static int
sqlite_step(struct sqlite_store *s, sqlite3_stmt *st, const char *const *args, char **cause)
{
	int i, n = sqlite3_bind_parameter_count(st), rc;

	for (i = 0; i < n; i++) {
		if (sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC) != SQLITE_OK) {
			sqlite_done(st);
			return sqlite_fail(s, cause, "binding");
		}
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite_done(st);
	if (rc != SQLITE_DONE)
		return sqlite_fail(s, cause, "database");
	return sqlite3_changes(s->db);
}

static int
sqlite_each(void *ctx, enum store_stmt q, const char *const *args, store_cols_fn fn, void *arg,
    char **cause)
{
	struct sqlite_store *s = ctx;
	sqlite3_stmt *st = s->stmt[q];
	const char *cols[STORE_OP_ARGS];
	int i, n = sqlite3_bind_parameter_count(st), ncols = sqlite3_column_count(st), rc;

	if (ncols > STORE_OP_ARGS)
		return cause_fail(cause, "statement %d: too many columns", (int)q);
	for (i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < ncols; i++)
			cols[i] = (const char *)sqlite3_column_text(st, i);
		if (fn(arg, cols, ncols) == -1) {
			sqlite_done(st);
			return cause_fail(cause, "listing stopped");
		}
	}
	sqlite_done(st);
	if (rc != SQLITE_DONE)
		return sqlite_fail(s, cause, "database");
	return 0;
}

static int
sqlite_apply(void *ctx, const struct store_op *ops, size_t nops, char **cause)
{
	static const char *const none[1] = {NULL};
	struct sqlite_store *s = ctx;
	size_t i;
	int n;

	if (sqlite_step(s, s->ctl[SC_BEGIN], none, cause) == -1)
		return -1;
	for (i = 0; i < nops; i++) {
		if ((n = sqlite_step(s, s->stmt[ops[i].st], ops[i].args, cause)) == -1)
			goto fail;
		if (n == 0 && ops[i].missing != NULL) {
			cause_fail(cause, "%s", ops[i].missing);
			goto fail;
		}
	}
	if (sqlite_step(s, s->ctl[SC_COMMIT], none, cause) == -1)
		goto fail;
	return 0;
fail:
	sqlite_step(s, s->ctl[SC_ROLLBACK], none, NULL);
	return -1;
}

static int
sqlite_data_version(void *ctx, int64_t *version, char **cause)
{
	struct sqlite_store *s = ctx;
	sqlite3_stmt *st = s->ctl[SC_DATA_VERSION];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return sqlite_fail(s, cause, "data_version");
	return 0;
}

const struct store_engine store_engine_sqlite = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .set_busy_timeout = sqlite_set_busy_timeout,
    .schema_version = sqlite_schema_version,
    .data_version = sqlite_data_version,
    .apply = sqlite_apply,
    .each = sqlite_each,
};
