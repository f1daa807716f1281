/*
 * The engine interface behind store.h: store.c checks every input, derives
 * keys and hashes, and calls an engine (sqlite.c, postgres.c, ...) to run one
 * of a fixed set of statements with text parameters. An engine knows its own
 * SQL (or key layout) per statement; it never sees unchecked input.
 */
#ifndef TURNPIKE_STORE_ENGINE_H
#define TURNPIKE_STORE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "turnpike/store.h"

/*
 * Every statement. Writes change rows (an engine reports how many); queries
 * call back once per row. Parameters are text or NULL; store_stmt_nargs[] says
 * how many each takes. Query columns are listed per statement.
 */
enum store_stmt {
	ST_USER_PUT,      /* realm, name, md5hex: turnusers_lt, replacing */
	ST_USER_SHA_PUT,  /* realm, name, md5hex, sha256hex: turnpike_user_sha256 */
	ST_USER_SHA_DEL,  /* realm, name */
	ST_USER_META_PUT, /* realm, name: created (new) and updated, unix seconds now */
	ST_USER_DEL,      /* realm, name */
	ST_USER_META_DEL, /* realm, name */
	ST_USER_LIST,     /* realm or NULL -> realm, name, hmackey; by realm, name */
	ST_USER_GET,      /* realm, name -> hmackey, sha256key (NULL unless for that hmackey) */
	ST_USER_KEYS,     /* limit -> realm, name, hmackey, sha256key (as ST_USER_GET); any order */
	/*
	 * realm, hex USERHASH (64 lower-case digits) -> name, for the users of realm
	 * whose SHA-256(name ":" realm) may be that hash: at least the one that is
	 * (store.c checks each name again in C, so an engine may return more).
	 */
	ST_USER_HASH,
	ST_SECRET_ADD,     /* realm, value; an existing one is kept */
	ST_SECRET_DEL,     /* realm, value */
	ST_SECRET_DEL_ALL, /* realm or NULL */
	ST_SECRET_LIST,    /* realm or NULL -> realm, NULL, value */
	ST_ALLOW_ADD,      /* realm, range; an existing one is kept */
	ST_ALLOW_DEL,      /* realm, range */
	ST_DENY_ADD,       /* realm, range; an existing one is kept */
	ST_DENY_DEL,       /* realm, range */
	ST_PEER_LIST,      /* realm or NULL -> realm, 'allow' or 'deny', range; ordered by all 3 */
	ST_ORIGIN_ADD,     /* origin, realm, replacing */
	ST_ORIGIN_DEL,     /* origin */
	ST_ORIGIN_LIST,    /* realm or NULL -> realm, origin, NULL */
	ST_REALM_SET,      /* realm, opt, value, replacing */
	ST_REALM_DEL,      /* realm, opt, (value unused) */
	ST_REALM_GET,      /* realm, opt -> realm, opt, value */
	ST_REALM_LIST,     /* realm or NULL -> realm, opt, value */
	ST_ADMIN_PUT,      /* name, realm, hash, replacing */
	ST_ADMIN_DEL,      /* name */
	ST_ADMIN_LIST,     /* (NULL) -> realm, name, NULL; by name */
	ST_ADMIN_GET,      /* name -> realm, name, password */
	ST_OAUTH_PUT,      /* kid, ikm_key, timestamp, lifetime, as_rs_alg, realm, replacing */
	ST_OAUTH_DEL,      /* kid */
	ST_OAUTH_LIST,     /* -> kid, ikm_key, timestamp, lifetime, as_rs_alg, realm; by kid */
	ST_APIKEY_PUT,     /* name, realm, sha256hex; created now; fails when name exists */
	ST_APIKEY_DEL,     /* name */
	ST_APIKEY_LIST,    /* (NULL) -> realm, name, created; by name */
	ST_APIKEY_GET,     /* name -> realm, name, sha256hex */
	ST_COUNT
};

#define STORE_OP_ARGS 6

extern const int store_stmt_nargs[ST_COUNT];

/* One step of a write: a statement, its parameters, and what must exist. */
struct store_op {
	enum store_stmt st;
	const char *args[STORE_OP_ARGS];
	const char *missing; /* non-NULL: fail with this when no row changed */
};

/* A query row: ncols text columns (NULL for SQL NULL). Return -1 to stop. */
typedef int (*store_cols_fn)(void *arg, const char *const *cols, int ncols);

struct store_engine {
	const char *name;
	/* conn is the engine's connection string (SQLite: a path). */
	int (*open)(const char *conn, int busy_ms, void **ctx, char **cause);
	void (*close)(void *ctx);
	void (*set_busy_timeout)(void *ctx, int ms);
	int (*schema_version)(void *ctx, int *version, char **cause);
	/* A number that changes when any connection commits a change. */
	int (*data_version)(void *ctx, int64_t *version, char **cause);
	/* Optional (NULL: no change log): store_change_mark and store_user_changes. */
	int (*change_mark)(void *ctx, struct store_mark *m, char **cause);
	int (*user_changes)(void *ctx, int64_t after, int64_t upto, store_cols_fn fn, void *arg,
	    char **cause);
	/* Runs ops as one transaction: all of them, or (on any error) none. */
	int (*apply)(void *ctx, const struct store_op *ops, size_t n, char **cause);
	/* Runs query q with args, calling fn per row; fn's -1 makes it return -1. */
	int (*each)(void *ctx, enum store_stmt q, const char *const *args, store_cols_fn fn,
	    void *arg, char **cause);
};

extern const struct store_engine store_engine_sqlite;
extern const struct store_engine store_engine_redis;
#ifdef HAVE_LIBPQ
extern const struct store_engine store_engine_postgres;
#endif
#ifdef HAVE_MARIADB
extern const struct store_engine store_engine_mysql;
#endif

#endif
