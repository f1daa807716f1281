/*
 * The PostgreSQL engine (libpq): coturn's PostgreSQL schema (schema.sql) plus
 * turnpike_* tables. Every statement is parameterised (PQexecParams); a write
 * is one transaction. Statement-level triggers on every table bump
 * turnpike_change.version and NOTIFY turnpike_store, so a change made by
 * coturn's turnadmin is seen like one of ours.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "turnpike/cause.h"
#include "turnpike/store_engine.h"

#define PG_NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PG_LOCK_ID "7346917" /* pg_advisory_xact_lock key of the migrations */

/* The tables whose changes readers must see (coturn's and turnpike's). */
#define PG_TRIGGER(t)                                                                              \
	"DROP TRIGGER IF EXISTS turnpike_changed ON " t ";"                                        \
	"CREATE TRIGGER turnpike_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON " t       \
	" FOR EACH STATEMENT EXECUTE FUNCTION turnpike_changed();"

/* Migration i takes turnpike_schema.version i to i + 1. */
static const char *const pg_migrations[STORE_SCHEMA_VERSION] = {
    /* v0 -> v1: coturn's tables exactly as its schema.sql, the SHA-256 keys, change tracking. */
    "CREATE TABLE IF NOT EXISTS turnusers_lt (realm varchar(127) default '', "
    "name varchar(512), hmackey char(128), PRIMARY KEY (realm,name));"
    "CREATE TABLE IF NOT EXISTS turn_secret (realm varchar(127) default '', "
    "value varchar(256), primary key (realm,value));"
    "CREATE TABLE IF NOT EXISTS allowed_peer_ip (realm varchar(127) default '', "
    "ip_range varchar(256), primary key (realm,ip_range));"
    "CREATE TABLE IF NOT EXISTS denied_peer_ip (realm varchar(127) default '', "
    "ip_range varchar(256), primary key (realm,ip_range));"
    "CREATE TABLE IF NOT EXISTS turn_origin_to_realm (origin varchar(127), "
    "realm varchar(127), primary key (origin));"
    "CREATE TABLE IF NOT EXISTS turn_realm_option (realm varchar(127) default '', "
    "opt varchar(32), value varchar(128), primary key (realm,opt));"
    "CREATE TABLE IF NOT EXISTS oauth_key (kid varchar(128), ikm_key varchar(256), "
    "timestamp bigint default 0, lifetime integer default 0, "
    "as_rs_alg varchar(64) default '', realm varchar(127), primary key (kid));"
    "CREATE TABLE IF NOT EXISTS admin_user (name varchar(32), realm varchar(127), "
    "password varchar(127), primary key (name));"
    "CREATE TABLE IF NOT EXISTS turnpike_user_sha256 (realm varchar(127) default '', "
    "name varchar(512), hmackey varchar(32), sha256key varchar(64), "
    "PRIMARY KEY (realm,name));"
    "CREATE TABLE IF NOT EXISTS turnpike_change (id integer PRIMARY KEY, "
    "version bigint NOT NULL);"
    "INSERT INTO turnpike_change VALUES (1, 0) ON CONFLICT DO NOTHING;"
    "CREATE OR REPLACE FUNCTION turnpike_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN UPDATE turnpike_change SET version = version + 1 WHERE id = 1; "
    "PERFORM pg_notify('turnpike_store', TG_TABLE_NAME); RETURN NULL; END $$;" PG_TRIGGER(
	"turnusers_lt") PG_TRIGGER("turn_secret") PG_TRIGGER("allowed_peer_ip")
	PG_TRIGGER("denied_peer_ip") PG_TRIGGER("turn_origin_to_realm")
	    PG_TRIGGER("turn_realm_option") PG_TRIGGER("oauth_key") PG_TRIGGER("admin_user")
		PG_TRIGGER("turnpike_user_sha256"),
    /* v1 -> v2: when each user was added and last changed (unknown for older ones). */
    "CREATE TABLE IF NOT EXISTS turnpike_user_meta (realm varchar(127) default '', "
    "name varchar(512), created bigint, updated bigint, PRIMARY KEY (realm,name));"
    "INSERT INTO turnpike_user_meta (realm, name) SELECT realm, name FROM turnusers_lt "
    "ON CONFLICT DO NOTHING;",
    /* v2 -> v3: the credential issuer's API keys (a SHA-256 of each key, never the key). */
    "CREATE TABLE IF NOT EXISTS turnpike_apikey (name varchar(64), realm varchar(127) "
    "default '', hash varchar(64), created bigint, PRIMARY KEY (name));" PG_TRIGGER(
	"turnpike_apikey"),
};

/*
 * The user change log, beside the shared schema (its version stays the same
 * on every engine): a row per user inserted, updated or deleted, written by a
 * row trigger that first locks turnpike_change's row (the lock the statement
 * trigger takes anyway), so rows are numbered in commit order and a reader
 * that saw change N has seen every change before it. turnpike_change row 2
 * counts changes to every other table (and TRUNCATEs): a reader holding the
 * users reloads only what changed. The newest PG_LOG_KEEP rows are kept.
 */
#define PG_LOG_KEEP "10000"
#define PG_USER_TABLE "TG_TABLE_NAME IN ('turnusers_lt', 'turnpike_user_sha256')"
#define PG_ROW_TRIGGER(t)                                                                          \
	"DROP TRIGGER IF EXISTS turnpike_user_row ON " t ";"                                       \
	"CREATE TRIGGER turnpike_user_row AFTER INSERT OR UPDATE OR DELETE ON " t                  \
	" FOR EACH ROW EXECUTE FUNCTION turnpike_user_changed();"
static const char pg_changelog[] =
    "CREATE TABLE IF NOT EXISTS turnpike_user_change (seq bigserial PRIMARY KEY, "
    "realm varchar(127), name varchar(512));"
    "INSERT INTO turnpike_change VALUES (2, 0) ON CONFLICT DO NOTHING;"
    "CREATE OR REPLACE FUNCTION turnpike_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN PERFORM 1 FROM turnpike_change WHERE id = 1 FOR UPDATE; "
    "IF TG_OP <> 'INSERT' THEN INSERT INTO turnpike_user_change (realm, name) "
    "VALUES (OLD.realm, OLD.name); END IF; "
    "IF TG_OP <> 'DELETE' THEN INSERT INTO turnpike_user_change (realm, name) "
    "VALUES (NEW.realm, NEW.name); END IF; RETURN NULL; END $$;"
    "CREATE OR REPLACE FUNCTION turnpike_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN UPDATE turnpike_change SET version = version + 1 WHERE id = 1 OR (id = 2 AND "
    "(TG_OP = 'TRUNCATE' OR NOT " PG_USER_TABLE ")); "
    "IF " PG_USER_TABLE " THEN DELETE FROM turnpike_user_change WHERE seq <= "
    "(SELECT max(seq) FROM turnpike_user_change) - " PG_LOG_KEEP "; END IF; "
    "PERFORM pg_notify('turnpike_store', TG_TABLE_NAME); RETURN NULL; END $$;";
/* The row triggers take a lock on coturn's table: made only when one is missing. */
static const char pg_changelog_triggers[] =
    PG_ROW_TRIGGER("turnusers_lt") PG_ROW_TRIGGER("turnpike_user_sha256");

#define PG_NOW "extract(epoch from now())::bigint"
#define PG_C " COLLATE \"C\""

static const char *const pg_sql[ST_COUNT] = {
    [ST_USER_PUT] = "INSERT INTO turnusers_lt (realm, name, hmackey) VALUES ($1, $2, $3) "
		    "ON CONFLICT (realm, name) DO UPDATE SET hmackey = EXCLUDED.hmackey",
    [ST_USER_SHA_PUT] = "INSERT INTO turnpike_user_sha256 (realm, name, hmackey, sha256key) "
			"VALUES ($1, $2, $3, $4) ON CONFLICT (realm, name) DO UPDATE SET "
			"hmackey = EXCLUDED.hmackey, sha256key = EXCLUDED.sha256key",
    [ST_USER_SHA_DEL] = "DELETE FROM turnpike_user_sha256 WHERE realm = $1 AND name = $2",
    [ST_USER_META_PUT] = "INSERT INTO turnpike_user_meta (realm, name, created, updated) "
			 "VALUES ($1, $2, " PG_NOW ", " PG_NOW ") ON CONFLICT (realm, name) "
			 "DO UPDATE SET updated = EXCLUDED.updated",
    [ST_USER_DEL] = "DELETE FROM turnusers_lt WHERE realm = $1 AND name = $2",
    [ST_USER_META_DEL] = "DELETE FROM turnpike_user_meta WHERE realm = $1 AND name = $2",
    [ST_USER_LIST] = "SELECT realm, name, rtrim(hmackey) FROM turnusers_lt "
		     "WHERE $1::text IS NULL OR realm = $1::text "
		     "ORDER BY realm" PG_C ", name" PG_C,
    [ST_USER_GET] = "SELECT rtrim(u.hmackey), s.sha256key FROM turnusers_lt u "
		    "LEFT JOIN turnpike_user_sha256 s ON s.realm = u.realm AND s.name = u.name "
		    "AND s.hmackey = lower(rtrim(u.hmackey)) WHERE u.realm = $1 AND u.name = $2",
    [ST_USER_KEYS] = "SELECT u.realm, u.name, rtrim(u.hmackey), s.sha256key FROM turnusers_lt u "
		     "LEFT JOIN turnpike_user_sha256 s ON s.realm = u.realm AND s.name = u.name "
		     "AND s.hmackey = lower(rtrim(u.hmackey)) LIMIT $1::bigint",
    /*
     * One probe of turnpike_turnusers_lt_userhash. The realm is compared as an
     * expression so that the primary key's realm prefix is never combined in:
     * on a table not yet analysed PostgreSQL ANDed it in and read all 100,000
     * entries of the realm (10 ms instead of 0.2).
     */
    [ST_USER_HASH] = "SELECT name FROM turnusers_lt WHERE turnpike_userhash(name, realm) = "
		     "decode($2, 'hex') AND realm || '' = $1",
    [ST_SECRET_ADD] = "INSERT INTO turn_secret (realm, value) VALUES ($1, $2) "
		      "ON CONFLICT DO NOTHING",
    [ST_SECRET_DEL] = "DELETE FROM turn_secret WHERE realm = $1 AND value = $2",
    [ST_SECRET_DEL_ALL] = "DELETE FROM turn_secret WHERE $1::text IS NULL OR realm = $1::text",
    [ST_SECRET_LIST] = "SELECT realm, NULL, value FROM turn_secret "
		       "WHERE $1::text IS NULL OR realm = $1::text "
		       "ORDER BY realm" PG_C ", value" PG_C,
    [ST_ALLOW_ADD] = "INSERT INTO allowed_peer_ip (realm, ip_range) VALUES ($1, $2) "
		     "ON CONFLICT DO NOTHING",
    [ST_ALLOW_DEL] = "DELETE FROM allowed_peer_ip WHERE realm = $1 AND ip_range = $2",
    [ST_DENY_ADD] = "INSERT INTO denied_peer_ip (realm, ip_range) VALUES ($1, $2) "
		    "ON CONFLICT DO NOTHING",
    [ST_DENY_DEL] = "DELETE FROM denied_peer_ip WHERE realm = $1 AND ip_range = $2",
    [ST_PEER_LIST] = "SELECT realm, kind, ip_range FROM ("
		     "SELECT realm, 'allow' AS kind, ip_range FROM allowed_peer_ip "
		     "WHERE $1::text IS NULL OR realm = $1::text UNION ALL "
		     "SELECT realm, 'deny', ip_range FROM denied_peer_ip "
		     "WHERE $1::text IS NULL OR realm = $1::text) p "
		     "ORDER BY realm" PG_C ", kind" PG_C ", ip_range" PG_C,
    [ST_ORIGIN_ADD] = "INSERT INTO turn_origin_to_realm (origin, realm) VALUES ($1, $2) "
		      "ON CONFLICT (origin) DO UPDATE SET realm = EXCLUDED.realm",
    [ST_ORIGIN_DEL] = "DELETE FROM turn_origin_to_realm WHERE origin = $1",
    [ST_ORIGIN_LIST] = "SELECT realm, origin, NULL FROM turn_origin_to_realm "
		       "WHERE $1::text IS NULL OR realm = $1::text "
		       "ORDER BY realm" PG_C ", origin" PG_C,
    [ST_REALM_SET] = "INSERT INTO turn_realm_option (realm, opt, value) VALUES ($1, $2, $3) "
		     "ON CONFLICT (realm, opt) DO UPDATE SET value = EXCLUDED.value",
    [ST_REALM_DEL] = "DELETE FROM turn_realm_option WHERE realm = $1 AND opt = $2",
    [ST_REALM_GET] = "SELECT realm, opt, value FROM turn_realm_option "
		     "WHERE realm = $1 AND opt = $2",
    [ST_REALM_LIST] = "SELECT realm, opt, value FROM turn_realm_option "
		      "WHERE $1::text IS NULL OR realm = $1::text "
		      "ORDER BY realm" PG_C ", opt" PG_C,
    [ST_ADMIN_PUT] = "INSERT INTO admin_user (name, realm, password) VALUES ($1, $2, $3) "
		     "ON CONFLICT (name) DO UPDATE SET realm = EXCLUDED.realm, "
		     "password = EXCLUDED.password",
    [ST_ADMIN_DEL] = "DELETE FROM admin_user WHERE name = $1",
    [ST_ADMIN_LIST] = "SELECT realm, name, NULL FROM admin_user ORDER BY name" PG_C,
    [ST_ADMIN_GET] = "SELECT realm, name, password FROM admin_user WHERE name = $1",
    [ST_OAUTH_PUT] = "INSERT INTO oauth_key (kid, ikm_key, timestamp, lifetime, as_rs_alg, realm) "
		     "VALUES ($1, $2, $3::bigint, $4::integer, $5, $6) ON CONFLICT (kid) DO UPDATE "
		     "SET ikm_key = EXCLUDED.ikm_key, timestamp = EXCLUDED.timestamp, "
		     "lifetime = EXCLUDED.lifetime, as_rs_alg = EXCLUDED.as_rs_alg, "
		     "realm = EXCLUDED.realm",
    [ST_OAUTH_DEL] = "DELETE FROM oauth_key WHERE kid = $1",
    [ST_OAUTH_LIST] = "SELECT kid, ikm_key, timestamp, lifetime, as_rs_alg, realm "
		      "FROM oauth_key ORDER BY kid" PG_C,
    [ST_APIKEY_PUT] = "INSERT INTO turnpike_apikey (name, realm, hash, created) "
		      "VALUES ($1, $2, $3, " PG_NOW ")",
    [ST_APIKEY_DEL] = "DELETE FROM turnpike_apikey WHERE name = $1",
    [ST_APIKEY_LIST] = "SELECT realm, name, created::text FROM turnpike_apikey ORDER BY name" PG_C,
    [ST_APIKEY_GET] = "SELECT realm, name, hash FROM turnpike_apikey WHERE name = $1",
};

struct pg_store {
	PGconn *conn;
};

/* libpq's message without its trailing newline. */
static int
pg_fail(struct pg_store *s, char **cause, const char *what)
{
	const char *msg = PQerrorMessage(s->conn);
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	return cause_fail(cause, "postgresql: %s: %.*s", what, (int)n, msg);
}

/* Runs sql with n text parameters; the result (caller clears) or NULL with *cause. */
static PGresult *
pg_exec(struct pg_store *s, const char *sql, int n, const char *const *args, char **cause)
{
	PGresult *r = PQexecParams(s->conn, sql, n, NULL, args, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	if (r != NULL && PQresultErrorMessage(r)[0] != '\0') {
		const char *msg = PQresultErrorMessage(r);
		size_t len = strlen(msg);

		while (len > 0 && msg[len - 1] == '\n')
			len--;
		cause_fail(cause, "postgresql: %.*s", (int)len, msg);
	} else
		pg_fail(s, cause, "query");
	PQclear(r);
	return NULL;
}

/* Runs sql (no parameters; several statements allowed: migrations only). */
static int
pg_simple(struct pg_store *s, const char *sql, char **cause)
{
	PGresult *r = PQexec(s->conn, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = pg_fail(s, cause, "query");
	PQclear(r);
	return rc;
}

static void
pg_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* NOTICEs (e.g. "skipping") are not errors: libraries never log */
}

/* The first column of the first row as an integer (0 without rows). */
static int
pg_int(struct pg_store *s, const char *sql, int64_t *out, char **cause)
{
	PGresult *r = pg_exec(s, sql, 0, NULL, cause);

	if (r == NULL)
		return -1;
	*out =
	    PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return 0;
}

static int
pg_schema_version(void *ctx, int *version, char **cause)
{
	struct pg_store *s = ctx;
	int64_t exists = 0, v = 0;

	if (pg_int(s,
		"SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = "
		"'turnpike_schema' AND schemaname = current_schema()",
		&exists, cause) == -1)
		return -1;
	if (exists && pg_int(s, "SELECT max(version) FROM turnpike_schema", &v, cause) == -1)
		return -1;
	*version = (int)v;
	return 0;
}

/* Runs the migrations up to STORE_SCHEMA_VERSION in one transaction, one process at a time. */
static int
pg_migrate(struct pg_store *s, char **cause)
{
	char sql[96];
	int v = 0;

	if (pg_schema_version(s, &v, cause) == -1)
		return -1;
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (v < 0 || v > STORE_SCHEMA_VERSION)
		return cause_fail(cause, "schema version %d is newer than this turnpike's (%d)", v,
		    STORE_SCHEMA_VERSION);
	if (pg_simple(s, "BEGIN", cause) == -1)
		return -1;
	if (pg_simple(s, "SET LOCAL client_min_messages = warning", cause) == -1 ||
	    pg_simple(s, "SELECT pg_advisory_xact_lock(" PG_LOCK_ID ")", cause) == -1 ||
	    pg_schema_version(s, &v, cause) == -1 ||
	    pg_simple(s, "CREATE TABLE IF NOT EXISTS turnpike_schema (version integer)", cause) ==
		-1)
		goto fail;
	for (; v < STORE_SCHEMA_VERSION; v++) {
		if (pg_simple(s, pg_migrations[v], cause) == -1)
			goto fail;
	}
	snprintf(sql, sizeof sql,
	    "DELETE FROM turnpike_schema; INSERT INTO turnpike_schema "
	    "VALUES (%d)",
	    STORE_SCHEMA_VERSION);
	if (pg_simple(s, sql, cause) == -1 || pg_simple(s, "COMMIT", cause) == -1)
		goto fail;
	return 0;
fail:
	pg_simple(s, "ROLLBACK", NULL);
	return -1;
}

/* Creates the user change log, or brings its functions up to date; one process at a time. */
static int
pg_changelog_create(struct pg_store *s, char **cause)
{
	int64_t triggers = 0;

	if (pg_simple(s, "BEGIN", cause) == -1)
		return -1;
	/*
	 * The table and the trigger functions every time (CREATE OR REPLACE locks
	 * no table, and an upgraded body takes effect); the triggers only when
	 * missing, so that opening never locks coturn's turnusers_lt.
	 */
	if (pg_simple(s, "SET LOCAL client_min_messages = warning", cause) == -1 ||
	    pg_simple(s, "SELECT pg_advisory_xact_lock(" PG_LOCK_ID ")", cause) == -1 ||
	    pg_simple(s, pg_changelog, cause) == -1 ||
	    pg_int(s,
		"SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgname = 'turnpike_user_row' "
		"AND tgrelid IN (to_regclass('turnusers_lt'), to_regclass('turnpike_user_sha256'))",
		&triggers, cause) == -1 ||
	    (triggers < 2 && pg_simple(s, pg_changelog_triggers, cause) == -1) ||
	    pg_simple(s, "COMMIT", cause) == -1) {
		pg_simple(s, "ROLLBACK", NULL);
		return -1;
	}
	return 0;
}

/*
 * USERHASH lookups (RFC 8489 §14.4) through an expression index on coturn's
 * turnusers_lt, beside coturn's schema: PostgreSQL keeps it up to date for
 * rows any client writes (turnadmin's too), and coturn never reads it.
 * convert_to is only STABLE (it looks up the conversion), but with a constant
 * target and the database's fixed encoding its result never changes, so the
 * wrapper may be IMMUTABLE, which an index expression must be.
 */
static const char pg_userhash_fn[] =
    "CREATE OR REPLACE FUNCTION turnpike_userhash(text, text) RETURNS bytea "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
    "AS $$ SELECT sha256(convert_to($1 || ':' || $2, 'UTF8')) $$";
static const char pg_userhash_idx[] = "CREATE INDEX IF NOT EXISTS turnpike_turnusers_lt_userhash "
				      "ON turnusers_lt (turnpike_userhash(name, realm))";

/* Runs sql in a transaction of its own under the migrations' lock. */
static int
pg_locked(struct pg_store *s, const char *sql, char **cause)
{
	if (pg_simple(s, "BEGIN", cause) == -1)
		return -1;
	if (pg_simple(s, "SET LOCAL client_min_messages = warning", cause) == -1 ||
	    pg_simple(s, "SELECT pg_advisory_xact_lock(" PG_LOCK_ID ")", cause) == -1 ||
	    pg_simple(s, sql, cause) == -1 || pg_simple(s, "COMMIT", cause) == -1) {
		pg_simple(s, "ROLLBACK", NULL);
		return -1;
	}
	return 0;
}

/*
 * Creates the USERHASH function and index once. Building the index on a large
 * table takes a while (see README): when it fails (e.g. the statement
 * timeout), the store still opens, lookups by hash scan the table meanwhile,
 * and the next open tries again.
 */
static int
pg_userhash_create(struct pg_store *s, char **cause)
{
	int64_t fn = 0, idx = 0;

	if (pg_int(s, "SELECT (to_regprocedure('turnpike_userhash(text,text)') IS NOT NULL)::int",
		&fn, cause) == -1 ||
	    pg_int(s, "SELECT (to_regclass('turnpike_turnusers_lt_userhash') IS NOT NULL)::int",
		&idx, cause) == -1)
		return -1;
	if (!fn && pg_locked(s, pg_userhash_fn, cause) == -1)
		return -1;
	if (!idx)
		pg_locked(s, pg_userhash_idx, NULL);
	return 0;
}

static void
pg_close(void *ctx)
{
	struct pg_store *s = ctx;

	if (s == NULL)
		return;
	PQfinish(s->conn);
	free(s);
}

/*
 * conn is libpq's conninfo (or URI): its own keys win over the defaults here,
 * a connect timeout and a statement timeout of busy_ms (a hung server fails
 * the call instead of blocking its thread for ever).
 */
static int
pg_open(const char *conninfo, int busy_ms, void **out, char **cause)
{
	char opts[64];
	const char *keys[] = {"connect_timeout", "options", "application_name", "dbname", NULL};
	const char *vals[] = {"5", opts, "turnpike", conninfo, NULL};
	struct pg_store *s;

	*out = NULL;
	snprintf(opts, sizeof opts, "-c statement_timeout=%d", busy_ms > 0 ? busy_ms : 5000);
	if ((s = calloc(1, sizeof *s)) == NULL)
		return cause_fail(cause, "out of memory");
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (s->conn == NULL) {
		free(s);
		return cause_fail(cause, "postgresql: out of memory");
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		pg_fail(s, cause, "cannot connect");
		pg_close(s);
		return -1;
	}
	PQsetNoticeProcessor(s->conn, pg_notice, NULL);
	if (pg_migrate(s, cause) == -1 || pg_changelog_create(s, cause) == -1 ||
	    pg_userhash_create(s, cause) == -1) {
		pg_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

static void
pg_set_busy_timeout(void *ctx, int ms)
{
	struct pg_store *s = ctx;
	char sql[64];

	snprintf(sql, sizeof sql, "SET statement_timeout = %d", ms);
	pg_simple(s, sql, NULL);
}

static int
pg_data_version(void *ctx, int64_t *version, char **cause)
{
	return pg_int(ctx, "SELECT version FROM turnpike_change WHERE id = 1", version, cause);
}

static int
pg_change_mark(void *ctx, struct store_mark *m, char **cause)
{
	struct pg_store *s = ctx;
	PGresult *r;

	r = pg_exec(s,
	    "SELECT (SELECT version FROM turnpike_change WHERE id = 2), "
	    "(SELECT coalesce(min(seq), 1) FROM turnpike_user_change), "
	    "(SELECT coalesce(max(seq), 0) FROM turnpike_user_change)",
	    0, NULL, cause);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1 || PQnfields(r) != 3 || PQgetisnull(r, 0, 0)) {
		PQclear(r);
		return cause_fail(cause, "postgresql: no change log");
	}
	m->others = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	m->first = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	m->last = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	return 0;
}

static int
pg_user_changes(void *ctx, int64_t after, int64_t upto, store_cols_fn fn, void *arg, char **cause)
{
	struct pg_store *s = ctx;
	char a[24], b[24];
	const char *args[] = {a, b};
	const char *cols[2];
	PGresult *r;
	int i, rc = 0;

	snprintf(a, sizeof a, "%" PRId64, after);
	snprintf(b, sizeof b, "%" PRId64, upto);
	r = pg_exec(s,
	    "SELECT realm, name FROM turnpike_user_change WHERE seq > $1::bigint "
	    "AND seq <= $2::bigint ORDER BY seq",
	    2, args, cause);
	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r) && rc == 0; i++) {
		cols[0] = PQgetisnull(r, i, 0) ? "" : PQgetvalue(r, i, 0);
		cols[1] = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
		if (fn(arg, cols, 2) == -1)
			rc = cause_fail(cause, "listing stopped");
	}
	PQclear(r);
	return rc;
}

static int
pg_apply(void *ctx, const struct store_op *ops, size_t nops, char **cause)
{
	struct pg_store *s = ctx;
	PGresult *r;
	size_t i;
	int n;

	if (pg_simple(s, "BEGIN", cause) == -1)
		return -1;
	for (i = 0; i < nops; i++) {
		r = pg_exec(s, pg_sql[ops[i].st], store_stmt_nargs[ops[i].st], ops[i].args, cause);
		if (r == NULL)
			goto fail;
		n = atoi(PQcmdTuples(r));
		PQclear(r);
		if (n == 0 && ops[i].missing != NULL) {
			cause_fail(cause, "%s", ops[i].missing);
			goto fail;
		}
	}
	if (pg_simple(s, "COMMIT", cause) == -1)
		goto fail;
	return 0;
fail:
	pg_simple(s, "ROLLBACK", NULL);
	return -1;
}

static int
pg_each(void *ctx, enum store_stmt q, const char *const *args, store_cols_fn fn, void *arg,
    char **cause)
{
	struct pg_store *s = ctx;
	const char *cols[STORE_OP_ARGS];
	PGresult *r;
	int i, j, nrows, ncols, rc = 0;

	if ((r = pg_exec(s, pg_sql[q], store_stmt_nargs[q], args, cause)) == NULL)
		return -1;
	nrows = PQntuples(r);
	ncols = PQnfields(r);
	if (ncols > STORE_OP_ARGS)
		ncols = STORE_OP_ARGS;
	for (i = 0; i < nrows && rc == 0; i++) {
		for (j = 0; j < ncols; j++)
			cols[j] = PQgetisnull(r, i, j) ? NULL : PQgetvalue(r, i, j);
		if (fn(arg, cols, ncols) == -1)
			rc = cause_fail(cause, "listing stopped");
	}
	PQclear(r);
	return rc;
}

const struct store_engine store_engine_postgres = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .set_busy_timeout = pg_set_busy_timeout,
    .schema_version = pg_schema_version,
    .data_version = pg_data_version,
    .change_mark = pg_change_mark,
    .user_changes = pg_user_changes,
    .apply = pg_apply,
    .each = pg_each,
};
