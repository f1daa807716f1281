/*
 * The MySQL/MariaDB engine (libmariadb): coturn's MySQL schema (schema.sql)
 * plus turnpike_* tables. Every statement is a prepared statement with bound
 * parameters; a write is one transaction. MySQL has no statement triggers, so
 * row triggers on every table bump turnpike_change.version, which readers
 * poll: a change made by coturn's turnadmin is seen like one of ours.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "turnpike/cause.h"
#include "turnpike/mysqlconn.h"
#include "turnpike/store_engine.h"

#define MY_NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MY_CELL_MIN 64    /* a result column's buffer, at least */
#define MY_CELL_MAX 65536 /* ... and at most (longer values fail the query) */
#define MY_LOCK_WAIT "30" /* seconds one migration waits for another's */
#define MY_TABLE " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
#define MY_NOW "UNIX_TIMESTAMP()"
/*
 * A user's SHA-256 key, when it was made for the MD5 key turnusers_lt holds
 * now; compared exactly, whatever charset coturn's schema.sql gave turnusers_lt.
 */
#define MY_SHA_JOIN                                                                                \
	"LEFT JOIN turnpike_user_sha256 s ON "                                                     \
	"s.realm = CONVERT(u.realm USING utf8mb4) COLLATE utf8mb4_bin AND "                        \
	"s.name = CONVERT(u.name USING utf8mb4) COLLATE utf8mb4_bin AND "                          \
	"s.hmackey = lower(CONVERT(u.hmackey USING utf8mb4)) COLLATE utf8mb4_bin"

/* The tables whose changes readers must see (coturn's and turnpike's). */
static const char *const my_tracked_v1[] = {"turnusers_lt", "turn_secret", "allowed_peer_ip",
    "denied_peer_ip", "turn_origin_to_realm", "turn_realm_option", "oauth_key", "admin_user",
    "turnpike_user_sha256", NULL};
static const char *const my_tracked_v3[] = {"turnpike_apikey", NULL};

/* Migration i takes turnpike_schema.version i to i + 1; each statement may run twice. */
static const struct {
	const char *const *sql; /* NULL-terminated */
	const char *const *tracked;
} my_migrations[STORE_SCHEMA_VERSION] = {
    /* v0 -> v1: coturn's tables exactly as its schema.sql, the SHA-256 keys, change tracking. */
    {(const char *const[]){"CREATE TABLE IF NOT EXISTS turnusers_lt (realm varchar(127) "
			   "default '', name varchar(512), hmackey char(128), "
			   "PRIMARY KEY (realm,name))" MY_TABLE,
	 "CREATE TABLE IF NOT EXISTS turn_secret (realm varchar(127) default '', "
	 "value varchar(256), primary key (realm,value))" MY_TABLE,
	 "CREATE TABLE IF NOT EXISTS allowed_peer_ip (realm varchar(127) default '', "
	 "ip_range varchar(256), primary key (realm,ip_range))" MY_TABLE,
	 "CREATE TABLE IF NOT EXISTS denied_peer_ip (realm varchar(127) default '', "
	 "ip_range varchar(256), primary key (realm,ip_range))" MY_TABLE,
	 "CREATE TABLE IF NOT EXISTS turn_origin_to_realm (origin varchar(127), "
	 "realm varchar(127), primary key (origin))" MY_TABLE,
	 "CREATE TABLE IF NOT EXISTS turn_realm_option (realm varchar(127) default '', "
	 "opt varchar(32), value varchar(128), primary key (realm,opt))" MY_TABLE,
	 "CREATE TABLE IF NOT EXISTS oauth_key (kid varchar(128), ikm_key varchar(256), "
	 "timestamp bigint default 0, lifetime integer default 0, "
	 "as_rs_alg varchar(64) default '', realm varchar(127), primary key (kid))" MY_TABLE,
	 "CREATE TABLE IF NOT EXISTS admin_user (name varchar(32), realm varchar(127), "
	 "password varchar(127), primary key (name))" MY_TABLE,
	 "CREATE TABLE IF NOT EXISTS turnpike_user_sha256 (realm varchar(127) default '', "
	 "name varchar(512), hmackey varchar(32), sha256key varchar(64), "
	 "PRIMARY KEY (realm,name))" MY_TABLE,
	 "CREATE TABLE IF NOT EXISTS turnpike_change (id integer PRIMARY KEY, "
	 "version bigint NOT NULL)" MY_TABLE,
	 "INSERT INTO turnpike_change VALUES (1, 0) ON DUPLICATE KEY UPDATE id = id", NULL},
	my_tracked_v1},
    /* v1 -> v2: when each user was added and last changed (unknown for older ones). */
    {(const char *const[]){"CREATE TABLE IF NOT EXISTS turnpike_user_meta (realm varchar(127) "
			   "default '', name varchar(512), created bigint, updated bigint, "
			   "PRIMARY KEY (realm,name))" MY_TABLE,
	 "INSERT IGNORE INTO turnpike_user_meta (realm, name) SELECT realm, name FROM "
	 "turnusers_lt",
	 NULL},
	NULL},
    /* v2 -> v3: the credential issuer's API keys (a SHA-256 of each key, never the key). */
    {(const char *const[]){"CREATE TABLE IF NOT EXISTS turnpike_apikey (name varchar(64), "
			   "realm varchar(127) default '', hash varchar(64), created bigint, "
			   "PRIMARY KEY (name))" MY_TABLE,
	 NULL},
	my_tracked_v3},
};

/*
 * Each statement and its placeholders in order: a digit d binds argument d as
 * text (NULL as SQL NULL), a letter binds argument ('a' = 0, ...) as an integer.
 */
static const struct {
	const char *sql;
	const char *params;
} my_sql[ST_COUNT] = {
    [ST_USER_PUT] = {"INSERT INTO turnusers_lt (realm, name, hmackey) VALUES (?, ?, ?) "
		     "ON DUPLICATE KEY UPDATE hmackey = VALUES(hmackey)",
	"012"},
    [ST_USER_SHA_PUT] = {"INSERT INTO turnpike_user_sha256 (realm, name, hmackey, sha256key) "
			 "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
			 "hmackey = VALUES(hmackey), sha256key = VALUES(sha256key)",
	"0123"},
    [ST_USER_SHA_DEL] = {"DELETE FROM turnpike_user_sha256 WHERE realm = ? AND name = ?", "01"},
    [ST_USER_META_PUT] = {"INSERT INTO turnpike_user_meta (realm, name, created, updated) "
			  "VALUES (?, ?, " MY_NOW ", " MY_NOW ") "
			  "ON DUPLICATE KEY UPDATE updated = VALUES(updated)",
	"01"},
    [ST_USER_DEL] = {"DELETE FROM turnusers_lt WHERE realm = ? AND name = ?", "01"},
    [ST_USER_META_DEL] = {"DELETE FROM turnpike_user_meta WHERE realm = ? AND name = ?", "01"},
    [ST_USER_LIST] = {"SELECT realm, name, hmackey FROM turnusers_lt "
		      "WHERE ? IS NULL OR realm = ? ORDER BY BINARY realm, BINARY name",
	"00"},
    [ST_USER_GET] = {"SELECT u.hmackey, s.sha256key FROM turnusers_lt u " MY_SHA_JOIN
		     " WHERE u.realm = ? AND u.name = ?",
	"01"},
    [ST_USER_KEYS] =
	{"SELECT u.realm, u.name, u.hmackey, s.sha256key FROM turnusers_lt u " MY_SHA_JOIN
	 " LIMIT ?",
	    "a"},
    /*
     * A scan of the realm's rows (turnusers_lt's primary key prefix), hashing
     * each: coturn's table gets no generated column (see the commit).
     */
    [ST_USER_HASH] = {"SELECT name FROM turnusers_lt WHERE realm = ? AND "
		      "SHA2(CONVERT(CONCAT(name, ':', realm) USING utf8mb4), 256) = ?",
	"01"},
    [ST_SECRET_ADD] = {"INSERT INTO turn_secret (realm, value) VALUES (?, ?) "
		       "ON DUPLICATE KEY UPDATE realm = realm",
	"01"},
    [ST_SECRET_DEL] = {"DELETE FROM turn_secret WHERE realm = ? AND value = ?", "01"},
    [ST_SECRET_DEL_ALL] = {"DELETE FROM turn_secret WHERE ? IS NULL OR realm = ?", "00"},
    [ST_SECRET_LIST] = {"SELECT realm, NULL, value FROM turn_secret WHERE ? IS NULL OR "
			"realm = ? ORDER BY BINARY realm, BINARY value",
	"00"},
    [ST_ALLOW_ADD] = {"INSERT INTO allowed_peer_ip (realm, ip_range) VALUES (?, ?) "
		      "ON DUPLICATE KEY UPDATE realm = realm",
	"01"},
    [ST_ALLOW_DEL] = {"DELETE FROM allowed_peer_ip WHERE realm = ? AND ip_range = ?", "01"},
    [ST_DENY_ADD] = {"INSERT INTO denied_peer_ip (realm, ip_range) VALUES (?, ?) "
		     "ON DUPLICATE KEY UPDATE realm = realm",
	"01"},
    [ST_DENY_DEL] = {"DELETE FROM denied_peer_ip WHERE realm = ? AND ip_range = ?", "01"},
    [ST_PEER_LIST] = {"SELECT realm, kind, ip_range FROM ("
		      "SELECT realm, 'allow' AS kind, ip_range FROM allowed_peer_ip "
		      "WHERE ? IS NULL OR realm = ? UNION ALL "
		      "SELECT realm, 'deny', ip_range FROM denied_peer_ip "
		      "WHERE ? IS NULL OR realm = ?) p "
		      "ORDER BY BINARY realm, BINARY kind, BINARY ip_range",
	"0000"},
    [ST_ORIGIN_ADD] = {"INSERT INTO turn_origin_to_realm (origin, realm) VALUES (?, ?) "
		       "ON DUPLICATE KEY UPDATE realm = VALUES(realm)",
	"01"},
    [ST_ORIGIN_DEL] = {"DELETE FROM turn_origin_to_realm WHERE origin = ?", "0"},
    [ST_ORIGIN_LIST] = {"SELECT realm, origin, NULL FROM turn_origin_to_realm "
			"WHERE ? IS NULL OR realm = ? ORDER BY BINARY realm, BINARY origin",
	"00"},
    [ST_REALM_SET] = {"INSERT INTO turn_realm_option (realm, opt, value) VALUES (?, ?, ?) "
		      "ON DUPLICATE KEY UPDATE value = VALUES(value)",
	"012"},
    [ST_REALM_DEL] = {"DELETE FROM turn_realm_option WHERE realm = ? AND opt = ?", "01"},
    [ST_REALM_GET] = {"SELECT realm, opt, value FROM turn_realm_option "
		      "WHERE realm = ? AND opt = ?",
	"01"},
    [ST_REALM_LIST] = {"SELECT realm, opt, value FROM turn_realm_option "
		       "WHERE ? IS NULL OR realm = ? ORDER BY BINARY realm, BINARY opt",
	"00"},
    [ST_ADMIN_PUT] = {"INSERT INTO admin_user (name, realm, password) VALUES (?, ?, ?) "
		      "ON DUPLICATE KEY UPDATE realm = VALUES(realm), "
		      "password = VALUES(password)",
	"012"},
    [ST_ADMIN_DEL] = {"DELETE FROM admin_user WHERE name = ?", "0"},
    [ST_ADMIN_LIST] = {"SELECT realm, name, NULL FROM admin_user ORDER BY BINARY name", ""},
    [ST_ADMIN_GET] = {"SELECT realm, name, password FROM admin_user WHERE name = ?", "0"},
    [ST_OAUTH_PUT] = {"INSERT INTO oauth_key (kid, ikm_key, timestamp, lifetime, as_rs_alg, "
		      "realm) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
		      "ikm_key = VALUES(ikm_key), timestamp = VALUES(timestamp), "
		      "lifetime = VALUES(lifetime), as_rs_alg = VALUES(as_rs_alg), "
		      "realm = VALUES(realm)",
	"01cd45"},
    [ST_OAUTH_DEL] = {"DELETE FROM oauth_key WHERE kid = ?", "0"},
    [ST_OAUTH_LIST] = {"SELECT kid, ikm_key, timestamp, lifetime, as_rs_alg, realm "
		       "FROM oauth_key ORDER BY BINARY kid",
	""},
    [ST_APIKEY_PUT] = {"INSERT INTO turnpike_apikey (name, realm, hash, created) "
		       "VALUES (?, ?, ?, " MY_NOW ")",
	"012"},
    [ST_APIKEY_DEL] = {"DELETE FROM turnpike_apikey WHERE name = ?", "0"},
    [ST_APIKEY_LIST] = {"SELECT realm, name, created FROM turnpike_apikey ORDER BY BINARY name",
	""},
    [ST_APIKEY_GET] = {"SELECT realm, name, hash FROM turnpike_apikey WHERE name = ?", "0"},
};

struct my_store {
	MYSQL *m;
	MYSQL_STMT *stmt[ST_COUNT]; /* prepared on first use */
	bool busy[ST_COUNT];        /* a query of it is being read (a nested one prepares anew) */
};

static pthread_once_t my_init_once = PTHREAD_ONCE_INIT;

/* mysql_init() would set the library up on first use, but not thread-safely. */
static void
my_library_init(void)
{
	mysql_library_init(0, NULL, NULL);
}

static int
my_fail(struct my_store *s, char **cause, const char *what)
{
	return cause_fail(cause, "mysql: %s: %s", what, mysql_error(s->m));
}

/* Runs sql, a constant statement without parameters, and drops any result. */
static int
my_simple(struct my_store *s, const char *sql, char **cause)
{
	MYSQL_RES *r;

	if (mysql_real_query(s->m, sql, strlen(sql)) != 0)
		return my_fail(s, cause, "query");
	if ((r = mysql_store_result(s->m)) != NULL)
		mysql_free_result(r);
	else if (mysql_field_count(s->m) != 0)
		return my_fail(s, cause, "query");
	return 0;
}

/* The first column of the first row of a constant query as an integer (0 without rows). */
static int
my_int(struct my_store *s, const char *sql, int64_t *out, char **cause)
{
	MYSQL_RES *r;
	MYSQL_ROW row;

	if (mysql_real_query(s->m, sql, strlen(sql)) != 0 || (r = mysql_store_result(s->m)) == NULL)
		return my_fail(s, cause, "query");
	row = mysql_fetch_row(r);
	*out = row != NULL && row[0] != NULL ? strtoll(row[0], NULL, 10) : 0;
	mysql_free_result(r);
	return 0;
}

static int
my_schema_version(void *ctx, int *version, char **cause)
{
	struct my_store *s = ctx;
	int64_t exists = 0, v = 0;

	if (my_int(s,
		"SELECT count(*) FROM information_schema.tables WHERE "
		"table_schema = DATABASE() AND table_name = 'turnpike_schema'",
		&exists, cause) == -1)
		return -1;
	if (exists && my_int(s, "SELECT max(version) FROM turnpike_schema", &v, cause) == -1)
		return -1;
	*version = (int)v;
	return 0;
}

/* The change-counting triggers of one table (names are constants, not input). */
static int
my_track(struct my_store *s, const char *table, char **cause)
{
	static const struct {
		char tag;
		const char *event;
	} ev[] = {{'i', "INSERT"}, {'u', "UPDATE"}, {'d', "DELETE"}};
	char sql[256];
	size_t i;

	for (i = 0; i < MY_NELEM(ev); i++) {
		snprintf(sql, sizeof sql, "DROP TRIGGER IF EXISTS turnpike_%s_%c", table,
		    ev[i].tag);
		if (my_simple(s, sql, cause) == -1)
			return -1;
		snprintf(sql, sizeof sql,
		    "CREATE TRIGGER turnpike_%s_%c AFTER %s ON %s FOR EACH ROW "
		    "UPDATE turnpike_change SET version = version + 1 WHERE id = 1",
		    table, ev[i].tag, ev[i].event, table);
		if (my_simple(s, sql, cause) == -1)
			return -1;
	}
	return 0;
}

/* Migration v, then the version it reached (DDL commits by itself in MySQL). */
static int
my_migrate_one(struct my_store *s, int v, char **cause)
{
	const char *const *p;
	char sql[96];

	if (my_migrations[v].sql == NULL)
		return cause_fail(cause, "mysql: no migration from schema version %d", v);
	for (p = my_migrations[v].sql; *p != NULL; p++) {
		if (my_simple(s, *p, cause) == -1)
			return -1;
	}
	for (p = my_migrations[v].tracked; p != NULL && *p != NULL; p++) {
		if (my_track(s, *p, cause) == -1)
			return -1;
	}
	snprintf(sql, sizeof sql, "INSERT INTO turnpike_schema VALUES (%d)", v + 1);
	if (my_simple(s, "DELETE FROM turnpike_schema", cause) == -1 ||
	    my_simple(s, sql, cause) == -1)
		return -1;
	return 0;
}

/* Runs the migrations up to STORE_SCHEMA_VERSION, one process at a time (a named lock). */
static int
my_migrate(struct my_store *s, char **cause)
{
	int64_t locked = 0;
	int v = 0, rc = 0;

	if (my_schema_version(s, &v, cause) == -1)
		return -1;
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (v < 0 || v > STORE_SCHEMA_VERSION)
		return cause_fail(cause, "schema version %d is newer than this turnpike's (%d)", v,
		    STORE_SCHEMA_VERSION);
	if (my_int(s, "SELECT GET_LOCK(CONCAT('turnpike_migrate.', DATABASE()), " MY_LOCK_WAIT ")",
		&locked, cause) == -1)
		return -1;
	if (locked != 1)
		return cause_fail(cause, "mysql: another process is migrating the schema");
	if (my_schema_version(s, &v, cause) == -1 ||
	    my_simple(s, "CREATE TABLE IF NOT EXISTS turnpike_schema (version integer)" MY_TABLE,
		cause) == -1)
		rc = -1;
	for (; rc == 0 && v < STORE_SCHEMA_VERSION; v++)
		rc = my_migrate_one(s, v, cause);
	my_simple(s, "DO RELEASE_LOCK(CONCAT('turnpike_migrate.', DATABASE()))", NULL);
	return rc;
}

static void
my_close(void *ctx)
{
	struct my_store *s = ctx;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++) {
		if (s->stmt[i] != NULL)
			mysql_stmt_close(s->stmt[i]);
	}
	if (s->m != NULL)
		mysql_close(s->m);
	free(s);
}

/* A statement's own time limit (MariaDB); MySQL has none by that name: ignored. */
static void
my_set_busy_timeout(void *ctx, int ms)
{
	struct my_store *s = ctx;
	char sql[80];

	snprintf(sql, sizeof sql, "SET SESSION max_statement_time = %d.%03d", ms / 1000, ms % 1000);
	my_simple(s, sql, NULL);
}

/* The connection's options from coturn's connection string. */
static void
my_options(MYSQL *m, const struct mysqlconn *c, int busy_ms)
{
	unsigned timeout = c->connect_timeout;
	unsigned rw = c->read_timeout != 0 ? c->read_timeout : (unsigned)(busy_ms / 1000) + 5;

	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysqlconn_wants_tls(c))
		mysql_ssl_set(m, c->key[0] ? c->key : NULL, c->cert[0] ? c->cert : NULL,
		    c->ca[0] ? c->ca : NULL, c->capath[0] ? c->capath : NULL,
		    c->cipher[0] ? c->cipher : NULL);
}

/*
 * conn is coturn's connection string (mysqlconn.h); busy_ms bounds each
 * statement (a hung server fails the call instead of blocking its thread).
 */
static int
my_open(const char *conn, int busy_ms, void **out, char **cause)
{
	struct mysqlconn *c;
	struct my_store *s;
	char *why = NULL;
	int rc = -1;

	*out = NULL;
	if (busy_ms <= 0)
		busy_ms = 5000;
	if ((c = calloc(1, sizeof *c)) == NULL || (s = calloc(1, sizeof *s)) == NULL) {
		free(c);
		return cause_fail(cause, "out of memory");
	}
	if (mysqlconn_parse(conn, c, &why) != 0) {
		cause_fail(cause, "mysql: connection string: %s", why != NULL ? why : "invalid");
		free(why);
	} else if (pthread_once(&my_init_once, my_library_init) != 0 ||
	    (s->m = mysql_init(NULL)) == NULL)
		cause_fail(cause, "mysql: out of memory");
	else {
		my_options(s->m, c, busy_ms);
		if (mysql_real_connect(s->m, c->host[0] ? c->host : NULL,
			c->user[0] ? c->user : NULL, c->password[0] ? c->password : NULL, c->dbname,
			c->port, NULL, 0) == NULL)
			my_fail(s, cause, "cannot connect");
		else {
			my_set_busy_timeout(s, busy_ms);
			rc = my_migrate(s, cause);
		}
	}
	explicit_bzero(c, sizeof *c);
	free(c);
	if (rc != 0) {
		my_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

static int
my_data_version(void *ctx, int64_t *version, char **cause)
{
	return my_int(ctx, "SELECT version FROM turnpike_change WHERE id = 1", version, cause);
}

static int
my_stmt_fail(MYSQL_STMT *st, char **cause, const char *what)
{
	return cause_fail(cause, "mysql: %s: %s", what, mysql_stmt_error(st));
}

/* Statement q, prepared: the cached one, or (nested in a read of it) a new one. */
static MYSQL_STMT *
my_prepare(struct my_store *s, enum store_stmt q, char **cause)
{
	MYSQL_STMT *st;

	if (s->stmt[q] != NULL && !s->busy[q])
		return s->stmt[q];
	if ((st = mysql_stmt_init(s->m)) == NULL) {
		my_fail(s, cause, "prepare");
		return NULL;
	}
	if (mysql_stmt_prepare(st, my_sql[q].sql, strlen(my_sql[q].sql)) != 0) {
		my_stmt_fail(st, cause, "prepare");
		mysql_stmt_close(st);
		return NULL;
	}
	if (s->stmt[q] == NULL)
		s->stmt[q] = st;
	return st;
}

/* Binds statement q's arguments (my_sql[q].params) and runs it. */
static int
my_execute(MYSQL_STMT *st, enum store_stmt q, const char *const *args, char **cause)
{
	MYSQL_BIND b[8];
	long long num[8];
	const char *p = my_sql[q].params, *a;
	size_t i, n = strlen(p);

	if (n > MY_NELEM(b) || mysql_stmt_param_count(st) != n)
		return cause_fail(cause, "mysql: statement %d: parameter count", (int)q);
	memset(b, 0, sizeof b);
	for (i = 0; i < n; i++) {
		if (p[i] >= 'a') {
			a = args[p[i] - 'a'];
			num[i] = a != NULL ? strtoll(a, NULL, 10) : 0;
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &num[i];
		} else if ((a = args[p[i] - '0']) == NULL)
			b[i].buffer_type = MYSQL_TYPE_NULL;
		else {
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)(uintptr_t)a;
			b[i].buffer_length = strlen(a);
		}
	}
	if ((n > 0 && mysql_stmt_bind_param(st, b) != 0) || mysql_stmt_execute(st) != 0)
		return my_stmt_fail(st, cause, "query");
	return 0;
}

static void
my_release(struct my_store *s, enum store_stmt q, MYSQL_STMT *st)
{
	if (st == s->stmt[q])
		mysql_stmt_free_result(st);
	else
		mysql_stmt_close(st);
}

static int
my_apply(void *ctx, const struct store_op *ops, size_t nops, char **cause)
{
	struct my_store *s = ctx;
	MYSQL_STMT *st;
	my_ulonglong n;
	size_t i;

	if (my_simple(s, "START TRANSACTION", cause) == -1)
		return -1;
	for (i = 0; i < nops; i++) {
		if ((st = my_prepare(s, ops[i].st, cause)) == NULL)
			goto fail;
		if (my_execute(st, ops[i].st, ops[i].args, cause) == -1) {
			my_release(s, ops[i].st, st);
			goto fail;
		}
		n = mysql_stmt_affected_rows(st);
		my_release(s, ops[i].st, st);
		if ((n == 0 || n == (my_ulonglong)-1) && ops[i].missing != NULL) {
			cause_fail(cause, "%s", ops[i].missing);
			goto fail;
		}
	}
	if (my_simple(s, "COMMIT", cause) == -1)
		goto fail;
	return 0;
fail:
	my_simple(s, "ROLLBACK", NULL);
	return -1;
}

/* The rows of an executed query, one callback each. */
struct my_rows {
	MYSQL_BIND b[STORE_OP_ARGS];
	char *cell[STORE_OP_ARGS];
	unsigned long len[STORE_OP_ARGS];
	my_bool null[STORE_OP_ARGS], err[STORE_OP_ARGS];
	int ncols;
};

static int
my_bind_rows(MYSQL_STMT *st, struct my_rows *r, char **cause)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	MYSQL_FIELD *f;
	unsigned long cap;
	int j;

	if (meta == NULL)
		return my_stmt_fail(st, cause, "result");
	r->ncols = (int)mysql_num_fields(meta);
	if (r->ncols > STORE_OP_ARGS)
		r->ncols = STORE_OP_ARGS;
	f = mysql_fetch_fields(meta);
	for (j = 0; j < r->ncols; j++) {
		cap = f[j].length < MY_CELL_MIN ? MY_CELL_MIN : f[j].length;
		cap = cap > MY_CELL_MAX ? MY_CELL_MAX : cap;
		if ((r->cell[j] = malloc(cap + 1)) == NULL) {
			mysql_free_result(meta);
			return cause_fail(cause, "out of memory");
		}
		r->b[j].buffer_type = MYSQL_TYPE_STRING;
		r->b[j].buffer = r->cell[j];
		r->b[j].buffer_length = cap;
		r->b[j].length = &r->len[j];
		r->b[j].is_null = &r->null[j];
		r->b[j].error = &r->err[j];
	}
	mysql_free_result(meta);
	if (mysql_stmt_bind_result(st, r->b) != 0)
		return my_stmt_fail(st, cause, "result");
	return 0;
}

static int
my_read_rows(MYSQL_STMT *st, struct my_rows *r, store_cols_fn fn, void *arg, char **cause)
{
	const char *cols[STORE_OP_ARGS];
	int j, rc;

	while ((rc = mysql_stmt_fetch(st)) == 0) {
		for (j = 0; j < r->ncols; j++) {
			r->cell[j][r->len[j]] = '\0';
			cols[j] = r->null[j] ? NULL : r->cell[j];
		}
		if (fn(arg, cols, r->ncols) == -1)
			return cause_fail(cause, "listing stopped");
	}
	if (rc == MYSQL_NO_DATA)
		return 0;
	if (rc == MYSQL_DATA_TRUNCATED)
		return cause_fail(cause, "mysql: a value longer than %d bytes", MY_CELL_MAX);
	return my_stmt_fail(st, cause, "fetch");
}

static int
my_each(void *ctx, enum store_stmt q, const char *const *args, store_cols_fn fn, void *arg,
    char **cause)
{
	struct my_store *s = ctx;
	struct my_rows r;
	MYSQL_STMT *st;
	bool was_busy = s->busy[q];
	int j, rc = -1;

	memset(&r, 0, sizeof r);
	if ((st = my_prepare(s, q, cause)) == NULL)
		return -1;
	if (st == s->stmt[q])
		s->busy[q] = true;
	/* Stored first: a callback may run another query on this connection. */
	if (my_execute(st, q, args, cause) == 0 && my_bind_rows(st, &r, cause) == 0) {
		if (mysql_stmt_store_result(st) != 0)
			my_stmt_fail(st, cause, "query");
		else
			rc = my_read_rows(st, &r, fn, arg, cause);
	}
	if (st == s->stmt[q])
		s->busy[q] = was_busy;
	my_release(s, q, st);
	for (j = 0; j < STORE_OP_ARGS; j++)
		free(r.cell[j]);
	return rc;
}

const struct store_engine store_engine_mysql = {
    .name = "mysql",
    .open = my_open,
    .close = my_close,
    .set_busy_timeout = my_set_busy_timeout,
    .schema_version = my_schema_version,
    .data_version = my_data_version,
    .apply = my_apply,
    .each = my_each,
};
