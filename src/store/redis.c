/*
 * The Redis engine (hiredis): coturn's Redis key layout (schema.userdb.redis),
 * so a database coturn and its turnadmin -N use serves turnpike unchanged:
 *   turn/realm/R/user/U/key          the MD5 hmackey (hex)
 *   turn/realm/R/secret              set of TURN REST API secrets
 *   turn/realm/R/allowed-peer-ip     set of ranges (and denied-peer-ip)
 *   turn/realm/R/OPT                 realm option (max-bps, total-quota, user-quota)
 *   turn/origin/O                    the realm of origin O
 *   turn/oauth/kid/K                 hash: ikm_key, timestamp, lifetime, as_rs_alg, realm
 *   turn/admin_user/N                hash: password, realm
 * turnpike's additions live beside them:
 *   turnpike/realm/R/user/U          hash: sha-hmackey, sha256key, created, updated
 * A write is one MULTI/EXEC; "must exist" checks run just before it. Every
 * value travels as a separate argument (no command text is ever built).
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "turnpike/cause.h"
#include "turnpike/credkey.h"
#include "turnpike/hex.h"
#include "turnpike/redisconn.h"
#include "turnpike/store_engine.h"

#define RS_KEY_MAX 1200
#define RS_CMDS_MAX 4 /* commands one op may need */
#define RS_ARGS_MAX 12

struct rs_store {
	redisContext *c; /* NULL after a failed reconnection */
	struct redisconn conn;
	struct timeval timeout; /* of each command: the busy timeout */
};

/* One command: argv with owned key buffers. */
struct rs_cmd {
	int argc;
	const char *argv[RS_ARGS_MAX];
	char keys[2][RS_KEY_MAX];
};

static int
rs_fail(struct rs_store *s, char **cause, const char *what)
{
	return cause_fail(cause, "redis %s: %s", what,
	    s->c != NULL && s->c->err != 0 ? s->c->errstr : "unexpected reply");
}

static void
rs_close(void *ctx)
{
	struct rs_store *s = ctx;

	if (s == NULL)
		return;
	if (s->c != NULL)
		redisFree(s->c);
	explicit_bzero(&s->conn, sizeof s->conn);
	free(s);
}

/* One command; the reply (never an error reply) in *out. */
static int rs_ensure(struct rs_store *s, char **cause);
static int rs_scan(struct rs_store *s, const char *pattern, int (*fn)(void *, const char *),
    void *arg, char **cause);

static int
rs_run(struct rs_store *s, int argc, const char **argv, redisReply **out, char **cause)
{
	redisReply *r;

	*out = NULL;
	if (rs_ensure(s, cause) == -1)
		return -1;
	if ((r = redisCommandArgv(s->c, argc, argv, NULL)) == NULL)
		return rs_fail(s, cause, argv[0]);
	if (r->type == REDIS_REPLY_ERROR) {
		cause_fail(cause, "redis %s: %s", argv[0], r->str);
		freeReplyObject(r);
		return -1;
	}
	*out = r;
	return 0;
}

static int
rs_simple(struct rs_store *s, int argc, const char **argv, char **cause)
{
	redisReply *r;

	if (rs_run(s, argc, argv, &r, cause) == -1)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* Connects (again), authenticates and selects the database. */
static int
rs_connect(struct rs_store *s, char **cause)
{
	struct timeval tv = {(time_t)s->conn.connect_timeout, 0};
	char db[16];
	const char *auth[] = {"AUTH", s->conn.password}, *sel[] = {"SELECT", db};

	if (s->c != NULL)
		redisFree(s->c);
	if ((s->c = redisConnectWithTimeout(s->conn.host, s->conn.port, tv)) == NULL ||
	    s->c->err != 0) {
		cause_fail(cause, "redis %s:%u: %s", s->conn.host, s->conn.port,
		    s->c != NULL ? s->c->errstr : "out of memory");
		if (s->c != NULL)
			redisFree(s->c);
		s->c = NULL;
		return -1;
	}
	redisSetTimeout(s->c, s->timeout);
	redisEnableKeepAlive(s->c);
	snprintf(db, sizeof db, "%u", s->conn.db);
	if ((s->conn.password[0] != '\0' && rs_simple(s, 2, auth, cause) == -1) ||
	    (s->conn.db != 0 && rs_simple(s, 2, sel, cause) == -1)) {
		redisFree(s->c);
		s->c = NULL;
		return -1;
	}
	return 0;
}

/* A broken connection (Redis restarted, a timeout) is made again before the next call. */
static int
rs_ensure(struct rs_store *s, char **cause)
{
	if (s->c != NULL && s->c->err == 0)
		return 0;
	return rs_connect(s, cause);
}

static int
rs_open(const char *text, int busy_ms, void **out, char **cause)
{
	struct rs_store *s;
	const char *errstr;

	*out = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return cause_fail(cause, "out of memory");
	if (redisconn_parse(text, &s->conn, &errstr) == -1) {
		rs_close(s);
		return cause_fail(cause, "redis: %s", errstr);
	}
	s->timeout.tv_sec = busy_ms > 0 ? busy_ms / 1000 : 5;
	s->timeout.tv_usec = busy_ms > 0 ? (busy_ms % 1000) * 1000 : 0;
	if (rs_connect(s, cause) == -1) {
		rs_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

static void
rs_set_busy_timeout(void *ctx, int ms)
{
	struct rs_store *s = ctx;

	s->timeout.tv_sec = ms / 1000;
	s->timeout.tv_usec = (ms % 1000) * 1000;
	if (s->c != NULL)
		redisSetTimeout(s->c, s->timeout);
}

/* No migrations: the layout is coturn's, turnpike's hashes are made on first write. */
static int
rs_schema_version(void *ctx, int *version, char **cause)
{
	(void)ctx, (void)cause;
	*version = STORE_SCHEMA_VERSION;
	return 0;
}

/* The number after "name:" in an INFO reply; 0 when absent. */
static int64_t
rs_info_field(const char *info, const char *name)
{
	const char *p = strstr(info, name);

	return p != NULL ? strtoll(p + strlen(name), NULL, 10) : 0;
}

/*
 * Redis counts every write since the last save (rdb_changes_since_last_save)
 * and stamps each save: together they change whenever anyone, turnadmin
 * included, writes anything on the server.
 */
static int
rs_data_version(void *ctx, int64_t *version, char **cause)
{
	struct rs_store *s = ctx;
	const char *argv[] = {"INFO", "persistence"};
	redisReply *r;

	if (rs_run(s, 2, argv, &r, cause) == -1)
		return -1;
	if (r->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		return rs_fail(s, cause, "INFO");
	}
	*version = rs_info_field(r->str, "rdb_last_save_time:") * 1000003 +
	    rs_info_field(r->str, "rdb_changes_since_last_save:");
	freeReplyObject(r);
	return 0;
}

static void
rs_user_key(char *out, const char *realm, const char *name)
{
	snprintf(out, RS_KEY_MAX, "turn/realm/%s/user/%s/key", realm, name);
}

static void
rs_extra_key(char *out, const char *realm, const char *name)
{
	snprintf(out, RS_KEY_MAX, "turnpike/realm/%s/user/%s", realm, name);
}

static void
rs_realm_key(char *out, const char *realm, const char *what)
{
	snprintf(out, RS_KEY_MAX, "turn/realm/%s/%s", realm, what);
}

/* cmd = argv..., with the first key at keys[0]. */
static void
rs_cmd(struct rs_cmd *c, int argc, const char *const *argv)
{
	int i;

	c->argc = argc;
	for (i = 0; i < argc && i < RS_ARGS_MAX; i++)
		c->argv[i] = argv[i];
}

/*
 * The commands of one write op into cmds; how many. *exists (may stay argc
 * 0) is a command whose integer reply is 0 when the op would change nothing.
 */
static int
rs_op(const struct store_op *op, struct rs_cmd *cmds, struct rs_cmd *exists, char *now)
{
	const char *const *a = op->args;
	struct rs_cmd *c = cmds;
	char *k0 = c[0].keys[0], *k1 = c[1].keys[0];

	exists->argc = 0;
	switch (op->st) {
	case ST_USER_PUT:
		rs_user_key(k0, a[0], a[1]);
		rs_cmd(c, 3, (const char *[]){"SET", k0, a[2]});
		return 1;
	case ST_USER_SHA_PUT:
		rs_extra_key(k0, a[0], a[1]);
		rs_cmd(c, 6, (const char *[]){"HSET", k0, "sha-hmackey", a[2], "sha256key", a[3]});
		return 1;
	case ST_USER_SHA_DEL:
		rs_extra_key(k0, a[0], a[1]);
		rs_cmd(c, 4, (const char *[]){"HDEL", k0, "sha-hmackey", "sha256key"});
		return 1;
	case ST_USER_META_PUT:
		rs_extra_key(k0, a[0], a[1]);
		memcpy(k1, k0, RS_KEY_MAX);
		rs_cmd(&c[0], 4, (const char *[]){"HSETNX", k0, "created", now});
		rs_cmd(&c[1], 4, (const char *[]){"HSET", k1, "updated", now});
		return 2;
	case ST_USER_DEL:
		rs_user_key(k0, a[0], a[1]);
		rs_cmd(c, 2, (const char *[]){"DEL", k0});
		memcpy(exists->keys[0], k0, RS_KEY_MAX);
		rs_cmd(exists, 2, (const char *[]){"EXISTS", exists->keys[0]});
		return 1;
	case ST_USER_META_DEL:
		rs_extra_key(k0, a[0], a[1]);
		rs_cmd(c, 2, (const char *[]){"DEL", k0});
		return 1;
	case ST_SECRET_ADD:
	case ST_ALLOW_ADD:
	case ST_DENY_ADD:
		rs_realm_key(k0, a[0],
		    op->st == ST_SECRET_ADD      ? "secret"
			: op->st == ST_ALLOW_ADD ? "allowed-peer-ip"
						 : "denied-peer-ip");
		rs_cmd(c, 3, (const char *[]){"SADD", k0, a[1]});
		return 1;
	case ST_SECRET_DEL:
	case ST_ALLOW_DEL:
	case ST_DENY_DEL:
		rs_realm_key(k0, a[0],
		    op->st == ST_SECRET_DEL      ? "secret"
			: op->st == ST_ALLOW_DEL ? "allowed-peer-ip"
						 : "denied-peer-ip");
		rs_cmd(c, 3, (const char *[]){"SREM", k0, a[1]});
		memcpy(exists->keys[0], k0, RS_KEY_MAX);
		rs_cmd(exists, 3, (const char *[]){"SISMEMBER", exists->keys[0], a[1]});
		return 1;
	case ST_SECRET_DEL_ALL: /* one realm's; every realm's are expanded by rs_apply */
		rs_realm_key(k0, a[0] != NULL ? a[0] : "", "secret");
		rs_cmd(c, 2, (const char *[]){"DEL", k0});
		return 1;
	case ST_ORIGIN_ADD:
		snprintf(k0, RS_KEY_MAX, "turn/origin/%s", a[0]);
		rs_cmd(c, 3, (const char *[]){"SET", k0, a[1]});
		return 1;
	case ST_ORIGIN_DEL:
	case ST_ADMIN_DEL:
	case ST_OAUTH_DEL:
		snprintf(k0, RS_KEY_MAX, "%s%s",
		    op->st == ST_ORIGIN_DEL      ? "turn/origin/"
			: op->st == ST_ADMIN_DEL ? "turn/admin_user/"
						 : "turn/oauth/kid/",
		    a[0]);
		rs_cmd(c, 2, (const char *[]){"DEL", k0});
		memcpy(exists->keys[0], k0, RS_KEY_MAX);
		rs_cmd(exists, 2, (const char *[]){"EXISTS", exists->keys[0]});
		return 1;
	case ST_APIKEY_PUT: /* an existing name was refused by rs_check_exists */
		snprintf(k0, RS_KEY_MAX, "turnpike/apikey/%s", a[0]);
		rs_cmd(c, 8,
		    (const char *[]){"HSET", k0, "realm", a[1], "hash", a[2], "created", now});
		memcpy(exists->keys[0], k0, RS_KEY_MAX);
		rs_cmd(exists, 2, (const char *[]){"EXISTS", exists->keys[0]});
		return 1;
	case ST_APIKEY_DEL:
		snprintf(k0, RS_KEY_MAX, "turnpike/apikey/%s", a[0]);
		rs_cmd(c, 2, (const char *[]){"DEL", k0});
		memcpy(exists->keys[0], k0, RS_KEY_MAX);
		rs_cmd(exists, 2, (const char *[]){"EXISTS", exists->keys[0]});
		return 1;
	case ST_REALM_SET:
		rs_realm_key(k0, a[0], a[1]);
		rs_cmd(c, 3, (const char *[]){"SET", k0, a[2]});
		return 1;
	case ST_REALM_DEL:
		rs_realm_key(k0, a[0], a[1]);
		rs_cmd(c, 2, (const char *[]){"DEL", k0});
		memcpy(exists->keys[0], k0, RS_KEY_MAX);
		rs_cmd(exists, 2, (const char *[]){"EXISTS", exists->keys[0]});
		return 1;
	case ST_ADMIN_PUT:
		snprintf(k0, RS_KEY_MAX, "turn/admin_user/%s", a[0]);
		memcpy(k1, k0, RS_KEY_MAX);
		rs_cmd(&c[0], 2, (const char *[]){"DEL", k0});
		rs_cmd(&c[1], 6, (const char *[]){"HSET", k1, "realm", a[1], "password", a[2]});
		return 2;
	case ST_OAUTH_PUT:
		snprintf(k0, RS_KEY_MAX, "turn/oauth/kid/%s", a[0]);
		memcpy(k1, k0, RS_KEY_MAX);
		rs_cmd(&c[0], 2, (const char *[]){"DEL", k0});
		rs_cmd(&c[1], 12,
		    (const char *[]){"HSET", k1, "ikm_key", a[1], "timestamp", a[2], "lifetime",
			a[3], "as_rs_alg", a[4], "realm", a[5] != NULL ? a[5] : ""});
		return 2;
	default:
		return -1;
	}
}

/* Whether every "must exist" op would change something; -1 with *cause otherwise. */
static int
rs_check_exists(struct rs_store *s, const struct store_op *ops, size_t n, char *now, char **cause)
{
	struct rs_cmd cmds[RS_CMDS_MAX], ex;
	redisReply *r;
	size_t i;
	int gone;

	for (i = 0; i < n; i++) {
		if (ops[i].missing == NULL && ops[i].st != ST_APIKEY_PUT)
			continue;
		if (rs_op(&ops[i], cmds, &ex, now) < 0)
			return cause_fail(cause, "redis: statement %d is not a write", ops[i].st);
		if (ex.argc == 0)
			continue;
		if (rs_run(s, ex.argc, ex.argv, &r, cause) == -1)
			return -1;
		gone = r->type == REDIS_REPLY_INTEGER && r->integer == 0;
		freeReplyObject(r);
		if (ops[i].st == ST_APIKEY_PUT && !gone)
			return cause_fail(cause, "API key %s exists", ops[i].args[0]);
		if (ops[i].st != ST_APIKEY_PUT && gone)
			return cause_fail(cause, "%s", ops[i].missing);
	}
	return 0;
}

/* SCAN's callback: one more DEL of a secret set. */
struct rs_dels {
	char **keys;
	size_t n, cap;
};

static int
rs_collect_key(void *arg, const char *key)
{
	struct rs_dels *d = arg;
	char **grown;

	if (d->n == d->cap) {
		d->cap = d->cap != 0 ? d->cap * 2 : 16;
		if ((grown = reallocarray(d->keys, d->cap, sizeof *grown)) == NULL)
			return -1;
		d->keys = grown;
	}
	if ((d->keys[d->n] = strdup(key)) == NULL)
		return -1;
	d->n++;
	return 0;
}

/* ST_SECRET_DEL_ALL of every realm: the secret sets that exist now, deleted in the transaction. */
static int
rs_del_all_secrets(struct rs_store *s, const struct store_op *ops, size_t n, struct rs_dels *d,
    char **cause)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ops[i].st == ST_SECRET_DEL_ALL && ops[i].args[0] == NULL)
			return rs_scan(s, "turn/realm/*/secret", rs_collect_key, d, cause);
	}
	return 0;
}

static int
rs_apply(void *ctx, const struct store_op *ops, size_t n, char **cause)
{
	struct rs_dels dels = {NULL, 0, 0};
	struct rs_store *s = ctx;
	struct rs_cmd *cmds;
	struct rs_cmd ex;
	const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
	char now[24];
	redisReply *r;
	void *rv;
	size_t i, queued = 0, ci = 0;
	int k, m, rc = 0;

	if (rs_ensure(s, cause) == -1)
		return -1;
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	if (rs_check_exists(s, ops, n, now, cause) == -1 ||
	    rs_del_all_secrets(s, ops, n, &dels, cause) == -1)
		goto out;
	if ((cmds = calloc(n * RS_CMDS_MAX + 1, sizeof *cmds)) == NULL) {
		cause_fail(cause, "out of memory");
		goto out;
	}
	redisAppendCommandArgv(s->c, 1, multi, NULL);
	for (i = 0; i < dels.n; i++)
		redisAppendCommandArgv(s->c, 2, (const char *[]){"DEL", dels.keys[i]}, NULL);
	queued = dels.n;
	for (i = 0; i < n; i++) {
		if ((m = rs_op(&ops[i], &cmds[ci], &ex, now)) < 0) {
			rc = cause_fail(cause, "redis: statement %d is not a write", ops[i].st);
			m = 0;
		}
		for (k = 0; k < m; k++)
			redisAppendCommandArgv(s->c, cmds[ci + (size_t)k].argc,
			    cmds[ci + (size_t)k].argv, NULL);
		ci += (size_t)m;
		queued += (size_t)m;
	}
	if (rc == 0)
		redisAppendCommandArgv(s->c, 1, exec, NULL);
	else
		redisAppendCommandArgv(s->c, 1, (const char *[]){"DISCARD"}, NULL);
	for (i = 0; i < queued + 2; i++) {
		if (redisGetReply(s->c, &rv) != REDIS_OK) {
			rc = rs_fail(s, cause, "write");
			break;
		}
		r = rv;
		if (rc == 0 && r->type == REDIS_REPLY_ERROR)
			rc = cause_fail(cause, "redis write: %s", r->str);
		if (rc == 0 && i == queued + 1 && r->type != REDIS_REPLY_ARRAY)
			rc = cause_fail(cause, "redis write: transaction aborted");
		freeReplyObject(r);
	}
	free(cmds);
	for (i = 0; i < dels.n; i++)
		free(dels.keys[i]);
	free(dels.keys);
	return rc;
out:
	for (i = 0; i < dels.n; i++)
		free(dels.keys[i]);
	free(dels.keys);
	return -1;
}

/* ---- queries ---- */

/* Rows collected before they are sorted and handed out. */
struct rs_rows {
	char *(*v)[STORE_OP_ARGS];
	size_t n, cap;
	int ncols;
};

static int
rs_rows_add(struct rs_rows *rows, const char *const *cols)
{
	char *(*grown)[STORE_OP_ARGS];
	size_t cap;
	int j;

	if (rows->n == rows->cap) {
		cap = rows->cap != 0 ? rows->cap * 2 : 64;
		if ((grown = reallocarray(rows->v, cap, sizeof *grown)) == NULL)
			return -1;
		rows->v = grown;
		rows->cap = cap;
	}
	for (j = 0; j < STORE_OP_ARGS; j++) {
		rows->v[rows->n][j] = NULL;
		if (j < rows->ncols && cols[j] != NULL &&
		    (rows->v[rows->n][j] = strdup(cols[j])) == NULL)
			return -1;
	}
	rows->n++;
	return 0;
}

static void
rs_rows_free(struct rs_rows *rows)
{
	size_t i;
	int j;

	for (i = 0; i < rows->n; i++) {
		for (j = 0; j < STORE_OP_ARGS; j++)
			free(rows->v[i][j]);
	}
	free(rows->v);
}

static int
rs_rows_cmp(const void *a, const void *b)
{
	char *const *x = a, *const *y = b;
	int j, c;

	for (j = 0; j < 3; j++) {
		c = strcmp(x[j] != NULL ? x[j] : "", y[j] != NULL ? y[j] : "");
		if (c != 0)
			return c;
	}
	return 0;
}

/* Sorted (by the first three columns, unless sorted already) to fn. */
static int
rs_rows_emit(struct rs_rows *rows, bool sort, store_cols_fn fn, void *arg, char **cause)
{
	const char *cols[STORE_OP_ARGS];
	size_t i;
	int j;

	if (sort && rows->n > 1)
		qsort(rows->v, rows->n, sizeof *rows->v, rs_rows_cmp);
	for (i = 0; i < rows->n; i++) {
		for (j = 0; j < STORE_OP_ARGS; j++)
			cols[j] = rows->v[i][j];
		if (fn(arg, cols, rows->ncols) == -1)
			return cause_fail(cause, "listing stopped");
	}
	return 0;
}

/* s with glob's special characters escaped, for SCAN MATCH. */
static void
rs_glob_escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s != '\0' && o + 2 < cap; s++) {
		if (strchr("*?[]\\", *s) != NULL)
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
}

/* Every key matching pattern: fn(arg, key) for each. */
static int
rs_scan(struct rs_store *s, const char *pattern, int (*fn)(void *, const char *), void *arg,
    char **cause)
{
	char cursor[32] = "0";
	const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
	redisReply *r;
	size_t i;
	int rc = 0;

	do {
		if (rs_run(s, 6, argv, &r, cause) == -1)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			return rs_fail(s, cause, "SCAN");
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		for (i = 0; i < r->element[1]->elements && rc == 0; i++) {
			if (r->element[1]->element[i]->type == REDIS_REPLY_STRING)
				rc = fn(arg, r->element[1]->element[i]->str);
		}
		freeReplyObject(r);
	} while (rc == 0 && strcmp(cursor, "0") != 0);
	return rc == 0 ? 0 : cause_fail(cause, "out of memory");
}

/* A key's string value (NULL when absent) into *out (malloc'd). */
static int
rs_get(struct rs_store *s, const char *key, char **out, char **cause)
{
	const char *argv[] = {"GET", key};
	redisReply *r;

	*out = NULL;
	if (rs_run(s, 2, argv, &r, cause) == -1)
		return -1;
	if (r->type == REDIS_REPLY_STRING && (*out = strdup(r->str)) == NULL) {
		freeReplyObject(r);
		return cause_fail(cause, "out of memory");
	}
	freeReplyObject(r);
	return 0;
}

/* Fields of a hash into vals (malloc'd, NULL when absent). */
static int
rs_hmget(struct rs_store *s, const char *key, const char *const *fields, int n, char **vals,
    char **cause)
{
	const char *argv[RS_ARGS_MAX];
	redisReply *r;
	int i;

	argv[0] = "HMGET";
	argv[1] = key;
	for (i = 0; i < n; i++) {
		argv[2 + i] = fields[i];
		vals[i] = NULL;
	}
	if (rs_run(s, 2 + n, argv, &r, cause) == -1)
		return -1;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < n && (size_t)i < r->elements; i++) {
		if (r->element[i]->type == REDIS_REPLY_STRING)
			vals[i] = strdup(r->element[i]->str);
	}
	freeReplyObject(r);
	return 0;
}

/* The part of key between prefix and the next '/' (or end) into out. */
static int
rs_key_part(const char *key, const char *prefix, char *out, size_t cap, const char **rest)
{
	size_t plen = strlen(prefix), n;
	const char *p;

	if (strncmp(key, prefix, plen) != 0)
		return -1;
	p = key + plen;
	n = strcspn(p, "/");
	if (n >= cap)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	*rest = p + n;
	return 0;
}

/* What a SCAN callback collects. */
struct rs_collect {
	struct rs_store *s;
	struct rs_rows *rows;
	enum store_stmt q;
	const char *what; /* the realm key's last part, for realm-wide keys */
	uint64_t limit;
	char *cause;
};

/*
 * The inverse of rs_user_key: turn/realm/R/user/U/key gives R into realm, U into name (each
 * STORE_*_MAX + 1), with U's length; -1 for any other key.
 */
static int
rs_user_key_parse(const char *key, char *realm, char *name, size_t *namelen)
{
	const char *rest;
	size_t nlen;

	if (rs_key_part(key, "turn/realm/", realm, STORE_REALM_MAX + 1, &rest) == -1 ||
	    strncmp(rest, "/user/", 6) != 0)
		return -1;
	rest += 6;
	nlen = strlen(rest);
	if (nlen < 5 || strcmp(rest + nlen - 4, "/key") != 0 || nlen - 4 > STORE_NAME_MAX)
		return -1;
	memcpy(name, rest, nlen - 4);
	name[nlen - 4] = '\0';
	*namelen = nlen - 4;
	return 0;
}

/* turn/realm/R/user/U/key -> realm, name, hmackey (and sha256key for ST_USER_KEYS). */
static int
rs_collect_user(void *arg, const char *key)
{
	struct rs_collect *c = arg;
	char realm[STORE_REALM_MAX + 1], name[STORE_NAME_MAX + 1], extra[RS_KEY_MAX];
	const char *cols[STORE_OP_ARGS] = {realm, name, NULL, NULL};
	const char *fields[] = {"sha-hmackey", "sha256key"};
	char *md5 = NULL, *sha[2] = {NULL, NULL};
	size_t nlen;
	int rc = 0;

	if (c->rows->n >= c->limit || rs_user_key_parse(key, realm, name, &nlen) == -1)
		return 0;
	if (rs_get(c->s, key, &md5, &c->cause) == -1)
		return -1;
	if (md5 == NULL)
		return 0; /* gone since the scan saw it */
	cols[2] = md5;
	if (c->q == ST_USER_KEYS) {
		rs_extra_key(extra, realm, name);
		if (rs_hmget(c->s, extra, fields, 2, sha, &c->cause) == -1) {
			free(md5);
			return -1;
		}
		if (sha[0] != NULL && sha[1] != NULL && strcasecmp(sha[0], md5) == 0)
			cols[3] = sha[1];
	}
	rc = rs_rows_add(c->rows, cols);
	free(md5);
	free(sha[0]);
	free(sha[1]);
	return rc;
}

/* turn/realm/R/WHAT (a set) -> realm, kind, member. */
static int
rs_collect_set(void *arg, const char *key)
{
	struct rs_collect *c = arg;
	char realm[STORE_REALM_MAX + 1];
	const char *rest, *argv[] = {"SMEMBERS", key}, *cols[STORE_OP_ARGS] = {realm};
	redisReply *r;
	size_t i;
	int rc = 0;

	if (rs_key_part(key, "turn/realm/", realm, sizeof realm, &rest) == -1 || rest[0] != '/' ||
	    strcmp(rest + 1, c->what) != 0)
		return 0;
	if (rs_run(c->s, 2, argv, &r, &c->cause) == -1)
		return -1;
	cols[1] = c->q == ST_SECRET_LIST              ? NULL
	    : strcmp(c->what, "allowed-peer-ip") == 0 ? "allow"
						      : "deny";
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && rc == 0; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING)
			continue;
		cols[2] = r->element[i]->str;
		rc = rs_rows_add(c->rows, cols);
	}
	freeReplyObject(r);
	return rc;
}

/* turn/realm/R/OPT -> realm, opt, value. */
static int
rs_collect_opt(void *arg, const char *key)
{
	struct rs_collect *c = arg;
	char realm[STORE_REALM_MAX + 1], *v = NULL;
	const char *rest, *cols[STORE_OP_ARGS] = {realm, c->what};
	int rc;

	if (rs_key_part(key, "turn/realm/", realm, sizeof realm, &rest) == -1 || rest[0] != '/' ||
	    strcmp(rest + 1, c->what) != 0)
		return 0;
	if (rs_get(c->s, key, &v, &c->cause) == -1)
		return -1;
	if (v == NULL)
		return 0;
	cols[2] = v;
	rc = rs_rows_add(c->rows, cols);
	free(v);
	return rc;
}

/* turn/origin/O -> realm, origin, NULL (only realm c->what when set). */
static int
rs_collect_origin(void *arg, const char *key)
{
	struct rs_collect *c = arg;
	const char *cols[STORE_OP_ARGS] = {NULL, key + strlen("turn/origin/"), NULL};
	char *v = NULL;
	int rc = 0;

	if (rs_get(c->s, key, &v, &c->cause) == -1)
		return -1;
	if (v != NULL && (c->what == NULL || strcmp(v, c->what) == 0)) {
		cols[0] = v;
		rc = rs_rows_add(c->rows, cols);
	}
	free(v);
	return rc;
}

/* turn/admin_user/N -> realm, name, NULL; turn/oauth/kid/K -> kid, ikm, ts, lifetime, alg, realm. */
static int
rs_collect_hash(void *arg, const char *key)
{
	static const char *const admin[] = {"realm"};
	static const char *const oauth[] = {"ikm_key", "timestamp", "lifetime", "as_rs_alg",
	    "realm"};
	struct rs_collect *c = arg;
	const char *cols[STORE_OP_ARGS] = {NULL};
	char *v[5] = {NULL};
	int i, rc;

	if (c->q == ST_ADMIN_LIST) {
		if (rs_hmget(c->s, key, admin, 1, v, &c->cause) == -1)
			return -1;
		cols[0] = v[0] != NULL ? v[0] : "";
		cols[1] = key + strlen("turn/admin_user/");
	} else {
		if (rs_hmget(c->s, key, oauth, 5, v, &c->cause) == -1)
			return -1;
		cols[0] = key + strlen("turn/oauth/kid/");
		for (i = 0; i < 5; i++)
			cols[1 + i] = v[i];
		cols[2] = v[1] != NULL ? v[1] : "0";
		cols[3] = v[2] != NULL ? v[2] : "0";
		cols[4] = v[3] != NULL ? v[3] : "";
	}
	rc = rs_rows_add(c->rows, cols);
	for (i = 0; i < 5; i++)
		free(v[i]);
	return rc;
}

static void
rs_rows_swap01(struct rs_rows *rows)
{
	char *t;
	size_t i;

	for (i = 0; i < rows->n; i++) {
		t = rows->v[i][0];
		rows->v[i][0] = rows->v[i][1];
		rows->v[i][1] = t;
	}
}

/* turnpike/apikey/N -> realm, name, created. */
static int
rs_collect_apikey(void *arg, const char *key)
{
	static const char *const fields[] = {"realm", "created"};
	struct rs_collect *c = arg;
	const char *cols[STORE_OP_ARGS] = {NULL};
	char *v[2] = {NULL, NULL};
	int rc;

	if (rs_hmget(c->s, key, fields, 2, v, &c->cause) == -1)
		return -1;
	cols[0] = v[0] != NULL ? v[0] : "";
	cols[1] = key + strlen("turnpike/apikey/");
	cols[2] = v[1] != NULL ? v[1] : "0";
	rc = rs_rows_add(c->rows, cols);
	free(v[0]);
	free(v[1]);
	return rc;
}

/* A realm-wide pattern: "turn/realm/R/SUFFIX" with R escaped, or any realm. */
static void
rs_realm_pattern(char *out, const char *realm, const char *suffix)
{
	char esc[2 * STORE_REALM_MAX + 2];

	if (realm == NULL) {
		snprintf(out, RS_KEY_MAX, "turn/realm/*/%s", suffix);
		return;
	}
	rs_glob_escape(realm, esc, sizeof esc);
	snprintf(out, RS_KEY_MAX, "turn/realm/%s/%s", esc, suffix);
}

/* The list queries: SCAN, collect, sort, emit. */
static int
rs_list(struct rs_store *s, enum store_stmt q, const char *const *args, store_cols_fn fn, void *arg,
    char **cause)
{
	static const char *const opts[] = {"max-bps", "total-quota", "user-quota"};
	struct rs_rows rows = {NULL, 0, 0, 3};
	struct rs_collect c = {s, &rows, q, NULL, UINT64_MAX, NULL};
	char pat[RS_KEY_MAX];
	bool by_name;
	size_t i;
	int rc = 0;

	switch (q) {
	case ST_USER_LIST:
	case ST_USER_KEYS:
		if (q == ST_USER_KEYS) {
			rows.ncols = 4;
			c.limit = args[0] != NULL ? strtoull(args[0], NULL, 10) : UINT64_MAX;
		}
		rs_realm_pattern(pat, q == ST_USER_LIST ? args[0] : NULL, "user/*/key");
		rc = rs_scan(s, pat, rs_collect_user, &c, cause);
		break;
	case ST_SECRET_LIST:
		c.what = "secret";
		rs_realm_pattern(pat, args[0], "secret");
		rc = rs_scan(s, pat, rs_collect_set, &c, cause);
		break;
	case ST_PEER_LIST:
		c.what = "allowed-peer-ip";
		rs_realm_pattern(pat, args[0], c.what);
		rc = rs_scan(s, pat, rs_collect_set, &c, cause);
		c.what = "denied-peer-ip";
		rs_realm_pattern(pat, args[0], c.what);
		if (rc == 0)
			rc = rs_scan(s, pat, rs_collect_set, &c, cause);
		break;
	case ST_REALM_LIST:
		for (i = 0; i < sizeof opts / sizeof opts[0] && rc == 0; i++) {
			c.what = opts[i];
			rs_realm_pattern(pat, args[0], opts[i]);
			rc = rs_scan(s, pat, rs_collect_opt, &c, cause);
		}
		break;
	case ST_ORIGIN_LIST:
		c.what = args[0];
		rc = rs_scan(s, "turn/origin/*", rs_collect_origin, &c, cause);
		break;
	case ST_ADMIN_LIST:
		rc = rs_scan(s, "turn/admin_user/*", rs_collect_hash, &c, cause);
		break;
	case ST_APIKEY_LIST:
		rc = rs_scan(s, "turnpike/apikey/*", rs_collect_apikey, &c, cause);
		break;
	case ST_OAUTH_LIST:
		rows.ncols = 6;
		rc = rs_scan(s, "turn/oauth/kid/*", rs_collect_hash, &c, cause);
		break;
	default:
		rc = cause_fail(cause, "redis: statement %d is not a query", q);
	}
	if (rc == -1 && c.cause != NULL) {
		free(*cause);
		*cause = c.cause;
		c.cause = NULL;
	}
	free(c.cause);
	/* By name: sorted as (name, realm), emitted as (realm, name). */
	by_name = q == ST_ADMIN_LIST || q == ST_APIKEY_LIST;
	if (rc == 0 && by_name)
		rs_rows_swap01(&rows);
	if (rc == 0 && by_name && rows.n > 1)
		qsort(rows.v, rows.n, sizeof *rows.v, rs_rows_cmp);
	if (rc == 0 && by_name)
		rs_rows_swap01(&rows);
	if (rc == 0)
		rc = rs_rows_emit(&rows, !by_name, fn, arg, cause);
	rs_rows_free(&rows);
	return rc;
}

/* What the USERHASH scan looks for, and the names it found. */
struct rs_hash_scan {
	const char *realm;
	uint8_t hash[32];
	struct rs_rows *rows;
};

/* turn/realm/R/user/U/key: U when SHA-256(U ":" R) is the hash (no round trip per key). */
static int
rs_hash_user(void *arg, const char *key)
{
	struct rs_hash_scan *h = arg;
	char realm[STORE_REALM_MAX + 1], name[STORE_NAME_MAX + 1];
	const char *cols[STORE_OP_ARGS] = {name};
	uint8_t got[32];
	size_t nlen;

	if (rs_user_key_parse(key, realm, name, &nlen) == -1 || strcmp(realm, h->realm) != 0)
		return 0;
	credkey_userhash(name, nlen, realm, strlen(realm), got);
	if (memcmp(got, h->hash, sizeof got) != 0)
		return 0;
	return rs_rows_add(h->rows, cols);
}

/*
 * ST_USER_HASH: coturn's layout has no index by hash, so a cursor-based SCAN
 * of the realm's user keys (COUNT 1000 a round trip), hashed here; only the
 * match is read afterwards (ST_USER_GET).
 */
static int
rs_user_hash(struct rs_store *s, const char *const *args, store_cols_fn fn, void *arg, char **cause)
{
	struct rs_rows rows = {NULL, 0, 0, 1};
	struct rs_hash_scan h = {args[0], {0}, &rows};
	char pat[RS_KEY_MAX];
	int rc;

	if (hex_decode(args[1], h.hash, sizeof h.hash) == -1)
		return cause_fail(cause, "redis: bad USERHASH");
	rs_realm_pattern(pat, args[0], "user/*/key");
	rc = rs_scan(s, pat, rs_hash_user, &h, cause);
	if (rc == 0)
		rc = rs_rows_emit(&rows, false, fn, arg, cause);
	rs_rows_free(&rows);
	return rc;
}

/* ST_USER_GET: hmackey, and sha256key when it was made for that hmackey. */
static int
rs_user_get(struct rs_store *s, const char *const *args, store_cols_fn fn, void *arg, char **cause)
{
	const char *fields[] = {"sha-hmackey", "sha256key"}, *cols[2];
	char key[RS_KEY_MAX], *md5 = NULL, *sha[2] = {NULL, NULL};
	int rc = 0;

	rs_user_key(key, args[0], args[1]);
	if (rs_get(s, key, &md5, cause) == -1)
		return -1;
	if (md5 == NULL)
		return 0;
	rs_extra_key(key, args[0], args[1]);
	if (rs_hmget(s, key, fields, 2, sha, cause) == -1) {
		free(md5);
		return -1;
	}
	cols[0] = md5;
	cols[1] = sha[0] != NULL && sha[1] != NULL && strcasecmp(sha[0], md5) == 0 ? sha[1] : NULL;
	if (fn(arg, cols, 2) == -1)
		rc = cause_fail(cause, "listing stopped");
	free(md5);
	free(sha[0]);
	free(sha[1]);
	return rc;
}

/* ST_REALM_GET, ST_ADMIN_GET and ST_APIKEY_GET: one row of three columns, or none. */
static int
rs_get_one(struct rs_store *s, enum store_stmt q, const char *const *args, store_cols_fn fn,
    void *arg, char **cause)
{
	const char *fields[] = {"realm", "password"}, *cols[3];
	char key[RS_KEY_MAX], *v[2] = {NULL, NULL};
	int rc = 0;

	if (q == ST_REALM_GET) {
		rs_realm_key(key, args[0], args[1]);
		if (rs_get(s, key, &v[0], cause) == -1)
			return -1;
		cols[0] = args[0], cols[1] = args[1], cols[2] = v[0];
	} else if (q == ST_APIKEY_GET) {
		snprintf(key, sizeof key, "turnpike/apikey/%s", args[0]);
		fields[1] = "hash";
		if (rs_hmget(s, key, fields, 2, v, cause) == -1)
			return -1;
		cols[0] = v[0] != NULL ? v[0] : "", cols[1] = args[0], cols[2] = v[1];
	} else {
		snprintf(key, sizeof key, "turn/admin_user/%s", args[0]);
		if (rs_hmget(s, key, fields, 2, v, cause) == -1)
			return -1;
		cols[0] = v[0] != NULL ? v[0] : "", cols[1] = args[0], cols[2] = v[1];
	}
	if (cols[2] != NULL && fn(arg, cols, 3) == -1)
		rc = cause_fail(cause, "listing stopped");
	free(v[0]);
	free(v[1]);
	return rc;
}

static int
rs_each(void *ctx, enum store_stmt q, const char *const *args, store_cols_fn fn, void *arg,
    char **cause)
{
	struct rs_store *s = ctx;

	if (q == ST_USER_GET)
		return rs_user_get(s, args, fn, arg, cause);
	if (q == ST_USER_HASH)
		return rs_user_hash(s, args, fn, arg, cause);
	if (q == ST_REALM_GET || q == ST_ADMIN_GET || q == ST_APIKEY_GET)
		return rs_get_one(s, q, args, fn, arg, cause);
	return rs_list(s, q, args, fn, arg, cause);
}

const struct store_engine store_engine_redis = {
    .name = "redis",
    .open = rs_open,
    .close = rs_close,
    .set_busy_timeout = rs_set_busy_timeout,
    .schema_version = rs_schema_version,
    .data_version = rs_data_version,
    .apply = rs_apply,
    .each = rs_each,
};
