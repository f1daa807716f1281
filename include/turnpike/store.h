/*
 * The credential store: one interface over several engines (store_engine.h),
 * each schema-compatible with coturn's user database for that engine, so
 * coturn's turnadmin and turnserver read and write the same data. SQLite: one
 * file (turnadmin -b, turnserver --db); PostgreSQL (-e, psql-userdb); MySQL or
 * MariaDB (-M, mysql-userdb). turnpike's additions live in tables of their own
 * (turnpike_*), so coturn still reads the database; forward migrations run
 * once, in one transaction, when it is opened.
 *
 * Passwords are never stored: a user has coturn's hmackey (hex MD5 long-term key)
 * and, when added with a password, the SHA-256 key (RFC 8489 §9.2.2); an admin
 * has a salted PBKDF2-HMAC-SHA256 hash. Every write is one transaction; a failed
 * write changes nothing. Functions return 0 or -1 with *cause (free it) set.
 * A handle is used by one thread at a time.
 */
#ifndef TURNPIKE_STORE_H
#define TURNPIKE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/creds.h"

#define STORE_SCHEMA_VERSION 3
#define STORE_BUSY_TIMEOUT_MS 5000

/* Column sizes of coturn's schema (bytes). */
#define STORE_REALM_MAX 127
#define STORE_NAME_MAX 512
#define STORE_SECRET_MAX 127 /* turn_secret.value as coturn's SQLite backend creates it */
#define STORE_RANGE_MAX 256
#define STORE_ORIGIN_MAX 127
#define STORE_ADMIN_NAME_MAX 32
#define STORE_PASSWORD_MAX 256
#define STORE_COMMENT_MAX 256
#define STORE_APIKEY_NAME_MAX 64
/* An API key: "NAME." and 48 hex digits. */
#define STORE_APIKEY_MAX (STORE_APIKEY_NAME_MAX + 50)

/* Admin password hashes: "$pbkdf2-sha256$ITER$SALTHEX$HASHHEX". */
#define STORE_PBKDF2_ITER 210000
#define STORE_HASH_MAX 128

struct store;

/* One row handed to a list callback; which fields are set is said per function. */
struct store_row {
	const char *realm;
	const char *name;
	const char *value;
};

/* List callback: return 0 to go on, -1 to stop (the list call then returns -1). */
typedef int (*store_row_fn)(void *arg, const struct store_row *row);

enum store_kind {
	STORE_SQLITE,
	STORE_POSTGRES,
	STORE_MYSQL,
	STORE_REDIS
};

/* Which engine and its connection string (SQLite: the file's path). */
struct store_spec {
	enum store_kind kind;
	const char *conn;
};

/*
 * A store as text: "sqlite:PATH", "postgresql:CONNINFO" (or "psql:", libpq's
 * conninfo), "mysql:CONN" (coturn's "host=... dbname=..." syntax),
 * "redis:CONN"; anything else is an SQLite path. out->conn points into text.
 */
int store_spec_parse(const char *text, struct store_spec *out, char **cause);
/* "sqlite", "postgresql", "mysql", "redis". */
const char *store_kind_name(enum store_kind kind);
/* Whether this build has the engine. */
bool store_kind_built(enum store_kind kind);

/*
 * Opens and migrates the store named by spec (store_spec_parse). SQLite: the
 * file is created 0600 when missing (its directory must exist); WAL mode,
 * busy timeout STORE_BUSY_TIMEOUT_MS.
 */
int store_open(const char *spec, struct store **out, char **cause);
/* The same, waiting at most busy_ms for another connection's lock (the daemon's reads). */
int store_open_busy(const char *spec, int busy_ms, struct store **out, char **cause);
int store_open_spec(const struct store_spec *spec, int busy_ms, struct store **out, char **cause);
/*
 * The directory that holds an SQLite path must exist (a typo never makes
 * directories): -1 with *cause "directory DIR: REASON (it is not created)" or
 * "DIR is not a directory", for the caller to put after its own name for path.
 */
int store_check_dir(const char *path, char **cause);
void store_close(struct store *s);
/* The engine's name: "sqlite", "postgresql", ... */
const char *store_engine_name(const struct store *s);
/* How long a statement waits for another connection's lock before failing. */
void store_set_busy_timeout(struct store *s, int ms);
/* The schema version of the open database (SQLite: PRAGMA user_version). */
int store_schema_version(struct store *s, int *version, char **cause);
/* Changes when another connection commits (SQLite: PRAGMA data_version). */
int store_data_version(struct store *s, int64_t *version, char **cause);

/*
 * Where the store's change log stands (PostgreSQL keeps one: a row per user
 * changed, in commit order): others counts changes to anything but users,
 * first and last bound the user changes still logged. Lets a reader that holds
 * the users apply only what changed since.
 */
struct store_mark {
	int64_t others;
	int64_t first;
	int64_t last;
};

/* 0 with *m; 1 when the engine keeps no change log; -1 with *cause. */
int store_change_mark(struct store *s, struct store_mark *m, char **cause);
/* fn(arg, realm, name) for each user changed after change `after` up to `upto`, in order. */
typedef int (*store_name_fn)(void *arg, const char *realm, const char *name);
int store_user_changes(struct store *s, int64_t after, int64_t upto, store_name_fn fn, void *arg,
    char **cause);

/*
 * Text checks of every stored name: at most max bytes, valid UTF-8, no control
 * characters (C0, DEL, C1) and no NUL within len. what names the field in *cause.
 */
int store_check_text(const char *what, const char *s, size_t len, size_t max, char **cause);

/* Adds or replaces (turnadmin -a) a user; realm may be "" (coturn's default). */
int store_user_set(struct store *s, const char *realm, const char *name, const char *password,
    char **cause);
/* Adds or replaces a user by MD5 key: "0x" and 32 hex digits, as turnadmin -k prints. */
int store_user_set_key(struct store *s, const char *realm, const char *name, const char *key,
    char **cause);
/* coturn's hmackey for a password: 32 lower-case hex digits (turnadmin -k prints 0x and these). */
int store_key_md5(const char *realm, const char *name, const char *password, char out[33],
    char **cause);
/* Deletes a user; -1 when there is none. */
int store_user_delete(struct store *s, const char *realm, const char *name, char **cause);
/* Users of realm (NULL: all), ordered; row: realm, name, value = hex MD5 key. */
int store_user_list(struct store *s, const char *realm, store_row_fn fn, void *arg, char **cause);
/* The keys of a user: CREDS_FOUND, CREDS_UNKNOWN, or CREDS_UNAVAILABLE with *cause. */
int store_user_lookup(struct store *s, const char *realm, const char *name,
    struct creds_result *out, char **cause);

/*
 * The user of realm whose USERHASH (RFC 8489 §14.4: SHA-256(name ":" realm))
 * is hash, into name, with its keys as store_user_lookup gives them:
 * CREDS_FOUND, CREDS_UNKNOWN, or CREDS_UNAVAILABLE with *cause. Finds rows any
 * client wrote (coturn's turnadmin too): PostgreSQL through an expression index
 * on turnusers_lt, the other engines by a scan of the realm's users.
 */
int store_user_lookup_hash(struct store *s, const char *realm, const uint8_t hash[32],
    char name[STORE_NAME_MAX + 1], struct creds_result *out, char **cause);

typedef int (
    *store_key_fn)(void *arg, const char *realm, const char *name, const struct creds_key *k);
/*
 * At most limit users with their keys (as store_user_lookup gives them), in no
 * particular order, in one query: the daemon's bulk load. Unusable rows are skipped.
 */
int store_user_keys(struct store *s, uint64_t limit, store_key_fn fn, void *arg, char **cause);

/* TURN REST API shared secrets (turn_secret). */
int store_secret_add(struct store *s, const char *realm, const char *secret, char **cause);
int store_secret_delete(struct store *s, const char *realm, const char *secret, char **cause);
/* Deletes every secret of realm (NULL: of all realms); none is not an error. */
int store_secret_delete_all(struct store *s, const char *realm, char **cause);
/* row: realm, value = secret. */
int store_secret_list(struct store *s, const char *realm, store_row_fn fn, void *arg, char **cause);

/* Peer address ranges (allowed_peer_ip when allow, else denied_peer_ip). */
int store_peer_add(struct store *s, bool allow, const char *realm, const char *range, char **cause);
int store_peer_remove(struct store *s, bool allow, const char *realm, const char *range,
    char **cause);
/* row: realm, name = "allow" or "deny", value = range. */
int store_peer_list(struct store *s, const char *realm, store_row_fn fn, void *arg, char **cause);

/* Origin-to-realm mapping (turn_origin_to_realm); add replaces. */
int store_origin_add(struct store *s, const char *origin, const char *realm, char **cause);
int store_origin_delete(struct store *s, const char *origin, char **cause);
/* row: realm, name = origin. */
int store_origin_list(struct store *s, const char *realm, store_row_fn fn, void *arg, char **cause);

/* Realm options: "max-bps", "total-quota", "user-quota"; value 0 removes (as turnadmin). */
int store_realm_set(struct store *s, const char *realm, const char *opt, uint64_t value,
    char **cause);
/* Writes the value (0 when unset). */
int store_realm_get(struct store *s, const char *realm, const char *opt, uint64_t *value,
    char **cause);
/* row: realm, name = option, value. */
int store_realm_list(struct store *s, const char *realm, store_row_fn fn, void *arg, char **cause);

/* RFC 7635 AS-RS keys (coturn's oauth_key table); ikm_key is base64. */
struct store_oauth_key {
	const char *kid;
	const char *ikm_key;
	uint64_t timestamp;    /* unix seconds the key is valid from, 0: always */
	uint32_t lifetime;     /* seconds, 0: no end */
	const char *as_rs_alg; /* "A256GCM" or "A128GCM" */
	const char *realm;     /* "" for the server's realm */
};

typedef int (*store_oauth_fn)(void *arg, const struct store_oauth_key *k);

/* Adds or replaces the key kid after checking it decodes (oauthkey_make). */
int store_oauth_key_set(struct store *s, const struct store_oauth_key *k, char **cause);
/* Deletes a key; -1 when there is none. */
int store_oauth_key_delete(struct store *s, const char *kid, char **cause);
/* Every key, ordered by kid. */
int store_oauth_key_list(struct store *s, store_oauth_fn fn, void *arg, char **cause);

/* Admin users (admin_user); the password is stored as a PBKDF2 hash. */
int store_admin_set(struct store *s, const char *name, const char *realm, const char *password,
    char **cause);
int store_admin_delete(struct store *s, const char *name, char **cause);
/* row: realm, name. */
int store_admin_list(struct store *s, store_row_fn fn, void *arg, char **cause);
/* 0 and *ok when name exists and password matches its hash (PBKDF2, or coturn's "$5$"). */
int store_admin_verify(struct store *s, const char *name, const char *password, bool *ok,
    char **cause);

/* What store_copy copied. */
struct store_copy_counts {
	size_t users, secrets, peers, origins, realm_options, admins, oauth_keys;
};

/*
 * Copies every row of from (users with both keys, secrets, peer ranges,
 * origins, realm options, admins with their hashes, OAuth keys) into to, in
 * one transaction of to: all or nothing. Rows of to with the same key are
 * replaced, other rows of to stay. Users' created/updated times restart.
 */
int store_copy(struct store *from, struct store *to, struct store_copy_counts *counts,
    char **cause);

/* Hashes password into out (STORE_HASH_MAX bytes) with a fresh random salt. */
int store_hash_password(const char *password, char *out, size_t cap, char **cause);
/* True when password matches a "$pbkdf2-sha256$..." or a coturn "$5$" (SHA-256-crypt) hash. */
bool store_hash_verify(const char *password, const char *hash);

/*
 * API keys of the credential issuer (turnpike_apikey). add makes a fresh key
 * "NAME.HEX" into key (cap >= STORE_APIKEY_MAX), stores its SHA-256 only and
 * fails when NAME exists; the key is shown once. A realm-scoped key ("" for
 * any) issues credentials for that realm.
 */
int store_apikey_add(struct store *s, const char *name, const char *realm, char *key, size_t cap,
    char **cause);
int store_apikey_delete(struct store *s, const char *name, char **cause);
/* row: realm, name, value = creation time (unix seconds). */
int store_apikey_list(struct store *s, store_row_fn fn, void *arg, char **cause);
/* 0 and *ok with the key's realm when key is a stored key. */
int store_apikey_verify(struct store *s, const char *key, bool *ok, char realm[STORE_REALM_MAX + 1],
    char **cause);

#endif
