/* The credential store: checks, keys and hashes, then one engine (store_engine.h) runs it. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <crypt.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "turnpike/cause.h"
#include "turnpike/credkey.h"
#include "turnpike/random.h"
#include "turnpike/hex.h"
#include "turnpike/oauthkey.h"
#include "turnpike/store.h"
#include "turnpike/store_engine.h"

#define STORE_NELEM(a) (sizeof(a) / sizeof((a)[0]))

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

struct store {
	const struct store_engine *engine;
	void *ctx;
};

const int store_stmt_nargs[ST_COUNT] = {
    [ST_USER_PUT] = 3,
    [ST_USER_SHA_PUT] = 4,
    [ST_USER_SHA_DEL] = 2,
    [ST_USER_META_PUT] = 2,
    [ST_USER_DEL] = 2,
    [ST_USER_META_DEL] = 2,
    [ST_USER_LIST] = 1,
    [ST_USER_GET] = 2,
    [ST_USER_KEYS] = 1,
    [ST_USER_HASH] = 2,
    [ST_SECRET_ADD] = 2,
    [ST_SECRET_DEL] = 2,
    [ST_SECRET_DEL_ALL] = 1,
    [ST_SECRET_LIST] = 1,
    [ST_ALLOW_ADD] = 2,
    [ST_ALLOW_DEL] = 2,
    [ST_DENY_ADD] = 2,
    [ST_DENY_DEL] = 2,
    [ST_PEER_LIST] = 1,
    [ST_ORIGIN_ADD] = 2,
    [ST_ORIGIN_DEL] = 1,
    [ST_ORIGIN_LIST] = 1,
    [ST_REALM_SET] = 3,
    [ST_REALM_DEL] = 2,
    [ST_REALM_GET] = 2,
    [ST_REALM_LIST] = 1,
    [ST_ADMIN_PUT] = 3,
    [ST_ADMIN_DEL] = 1,
    [ST_ADMIN_LIST] = 0,
    [ST_ADMIN_GET] = 1,
    [ST_OAUTH_PUT] = 6,
    [ST_OAUTH_DEL] = 1,
    [ST_OAUTH_LIST] = 0,
    [ST_APIKEY_PUT] = 3,
    [ST_APIKEY_DEL] = 1,
    [ST_APIKEY_LIST] = 0,
    [ST_APIKEY_GET] = 1,
};

/* The engines this build has, by spec prefix; NULL: known but not built in. */
static const struct {
	enum store_kind kind;
	const char *prefix[3];
	const struct store_engine *engine;
} store_engines[] = {
    {STORE_SQLITE, {"sqlite", NULL, NULL}, &store_engine_sqlite},
#ifdef HAVE_LIBPQ
    {STORE_POSTGRES, {"postgresql", "postgres", "psql"}, &store_engine_postgres},
#else
    {STORE_POSTGRES, {"postgresql", "postgres", "psql"}, NULL},
#endif
#ifdef HAVE_MARIADB
    {STORE_MYSQL, {"mysql", "mariadb", NULL}, &store_engine_mysql},
#else
    {STORE_MYSQL, {"mysql", "mariadb", NULL}, NULL},
#endif
    {STORE_REDIS, {"redis", NULL, NULL}, &store_engine_redis},
};

const char *
store_kind_name(enum store_kind kind)
{
	size_t i;

	for (i = 0; i < STORE_NELEM(store_engines); i++) {
		if (store_engines[i].kind == kind)
			return store_engines[i].prefix[0];
	}
	return "?";
}

bool
store_kind_built(enum store_kind kind)
{
	size_t i;

	for (i = 0; i < STORE_NELEM(store_engines); i++) {
		if (store_engines[i].kind == kind)
			return store_engines[i].engine != NULL;
	}
	return false;
}

int
store_spec_parse(const char *text, struct store_spec *out, char **cause)
{
	const char *colon;
	size_t i, j, n;

	if (text == NULL || *text == '\0')
		return cause_fail(cause, "store: empty");
	out->kind = STORE_SQLITE;
	out->conn = text;
	if ((colon = strchr(text, ':')) == NULL)
		return 0;
	n = (size_t)(colon - text);
	for (i = 0; i < STORE_NELEM(store_engines); i++) {
		for (j = 0; j < 3 && store_engines[i].prefix[j] != NULL; j++) {
			if (strlen(store_engines[i].prefix[j]) == n &&
			    strncmp(text, store_engines[i].prefix[j], n) == 0) {
				out->kind = store_engines[i].kind;
				out->conn = colon + 1;
				return 0;
			}
		}
	}
	return 0; /* a file name with a colon in it */
}

int
store_open_spec(const struct store_spec *spec, int busy_ms, struct store **out, char **cause)
{
	const struct store_engine *e = NULL;
	struct store *s;
	size_t i;

	*out = NULL;
	for (i = 0; i < STORE_NELEM(store_engines); i++) {
		if (store_engines[i].kind == spec->kind)
			e = store_engines[i].engine;
	}
	if (e == NULL)
		return cause_fail(cause, "store engine %s: not built into this turnpike",
		    store_kind_name(spec->kind));
	if ((s = calloc(1, sizeof *s)) == NULL)
		return cause_fail(cause, "out of memory");
	s->engine = e;
	if (e->open(spec->conn != NULL ? spec->conn : "", busy_ms, &s->ctx, cause) == -1) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int
store_check_dir(const char *path, char **cause)
{
	const char *slash = strrchr(path, '/');
	struct stat sb;
	char *dir;
	int rc = 0;

	if (slash == NULL || slash == path)
		return 0;
	if ((dir = strndup(path, (size_t)(slash - path))) == NULL)
		return cause_fail(cause, "out of memory");
	if (stat(dir, &sb) == -1)
		rc =
		    cause_fail(cause, "directory %s: %s (it is not created)", dir, strerror(errno));
	else if (!S_ISDIR(sb.st_mode))
		rc = cause_fail(cause, "%s is not a directory", dir);
	free(dir);
	return rc;
}

int
store_open(const char *spec, struct store **out, char **cause)
{
	return store_open_busy(spec, STORE_BUSY_TIMEOUT_MS, out, cause);
}

int
store_open_busy(const char *text, int busy_ms, struct store **out, char **cause)
{
	struct store_spec spec;

	*out = NULL;
	if (text == NULL || *text == '\0')
		return cause_fail(cause, "database path: empty");
	if (store_spec_parse(text, &spec, cause) == -1)
		return -1;
	return store_open_spec(&spec, busy_ms, out, cause);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->engine->close(s->ctx);
	free(s);
}

const char *
store_engine_name(const struct store *s)
{
	return s->engine->name;
}

void
store_set_busy_timeout(struct store *s, int ms)
{
	if (s->engine->set_busy_timeout != NULL)
		s->engine->set_busy_timeout(s->ctx, ms);
}

int
store_schema_version(struct store *s, int *version, char **cause)
{
	return s->engine->schema_version(s->ctx, version, cause);
}

int
store_data_version(struct store *s, int64_t *version, char **cause)
{
	return s->engine->data_version(s->ctx, version, cause);
}

static int
store_apply(struct store *s, const struct store_op *ops, size_t nops, char **cause)
{
	return s->engine->apply(s->ctx, ops, nops, cause);
}

struct store_each_rows {
	store_row_fn fn;
	void *arg;
};

static int
store_each_row(void *arg, const char *const *cols, int ncols)
{
	struct store_each_rows *r = arg;
	struct store_row row = {ncols > 0 ? cols[0] : NULL, ncols > 1 ? cols[1] : NULL,
	    ncols > 2 ? cols[2] : NULL};

	return r->fn(r->arg, &row);
}

/* Runs a query whose columns are realm, name, value, calling fn per row. */
static int
store_each(struct store *s, enum store_stmt id, const char *const *args, store_row_fn fn, void *arg,
    char **cause)
{
	struct store_each_rows r = {fn, arg};

	return s->engine->each(s->ctx, id, args, store_each_row, &r, cause);
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
	uint8_t md5[CREDKEY_MD5_LEN], sha[CREDKEY_SHA256_LEN];
	char md5hex[2 * sizeof md5 + 1], shahex[2 * sizeof sha + 1];
	size_t len;
	int rc;

	if (store_check_user(realm, name, cause) == -1 ||
	    store_check_name("password", password, STORE_PASSWORD_MAX, cause) == -1)
		return -1;
	if (credkey_long_term(CREDKEY_MD5, name, strlen(name), realm, strlen(realm), password,
		strlen(password), md5, &len) == -1 ||
	    credkey_long_term(CREDKEY_SHA256, name, strlen(name), realm, strlen(realm), password,
		strlen(password), sha, &len) == -1)
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
	uint8_t md5[CREDKEY_MD5_LEN];
	size_t len;

	if (store_check_user(realm, name, cause) == -1 ||
	    store_check_name("password", password, STORE_PASSWORD_MAX, cause) == -1)
		return -1;
	if (credkey_long_term(CREDKEY_MD5, name, strlen(name), realm, strlen(realm), password,
		strlen(password), md5, &len) == -1)
		return cause_fail(cause, "password: refused by OpaqueString preparation");
	hex_encode(out, md5, sizeof md5);
	return 0;
}

int
store_user_set_key(struct store *s, const char *realm, const char *name, const char *key,
    char **cause)
{
	uint8_t md5[CREDKEY_MD5_LEN];
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

struct store_lookup {
	struct creds_key *key;
	int status;
	char **cause;
};

/* Decodes one looked-up row (hmackey, sha256key) into a key pair. */
static int
store_user_key(void *arg, const char *const *cols, int ncols)
{
	struct store_lookup *l = arg;
	const char *md5 = ncols > 0 ? cols[0] : NULL, *sha = ncols > 1 ? cols[1] : NULL;
	struct creds_key *k = l->key;

	memset(k, 0, sizeof *k);
	l->status = CREDS_FOUND;
	if (md5 == NULL || hex_decode(md5, k->md5, sizeof k->md5) == -1) {
		l->status = CREDS_UNAVAILABLE;
		cause_fail(l->cause, "stored hmackey is not a %zu-digit hex MD5 key",
		    2 * sizeof k->md5);
		return 0;
	}
	k->has_sha256 = sha != NULL && hex_decode(sha, k->sha256, sizeof k->sha256) == 0;
	return 0;
}

int
store_user_lookup(struct store *s, const char *realm, const char *name, struct creds_result *out,
    char **cause)
{
	struct store_lookup l = {&out->keys[0], CREDS_UNKNOWN, cause};
	const char *args[] = {realm, name};

	out->nkeys = 0;
	if (store_check_user(realm, name, cause) == -1)
		return CREDS_UNKNOWN;
	if (s->engine->each(s->ctx, ST_USER_GET, args, store_user_key, &l, cause) == -1)
		return CREDS_UNAVAILABLE;
	if (l.status == CREDS_FOUND)
		out->nkeys = 1;
	return l.status;
}

/* What a USERHASH query collects: the first name whose hash really is the one asked for. */
struct store_hash_match {
	const uint8_t *hash;
	const char *realm;
	char *name;
	bool found;
};

static int
store_hash_row(void *arg, const char *const *cols, int ncols)
{
	struct store_hash_match *h = arg;
	uint8_t got[32];
	size_t len;

	if (h->found || ncols < 1 || cols[0] == NULL || (len = strlen(cols[0])) > STORE_NAME_MAX)
		return 0;
	credkey_userhash(cols[0], len, h->realm, strlen(h->realm), got);
	if (CRYPTO_memcmp(got, h->hash, sizeof got) != 0)
		return 0; /* an engine's candidate that is not it (e.g. a collation's match) */
	memcpy(h->name, cols[0], len + 1);
	h->found = true;
	return 0;
}

int
store_user_lookup_hash(struct store *s, const char *realm, const uint8_t hash[32],
    char name[STORE_NAME_MAX + 1], struct creds_result *out, char **cause)
{
	struct store_hash_match h = {hash, realm, name, false};
	char hex[65];
	const char *args[] = {realm, hex};

	out->nkeys = 0;
	name[0] = '\0';
	if (store_check_realm(realm, cause) == -1)
		return CREDS_UNKNOWN;
	hex_encode(hex, hash, 32);
	if (s->engine->each(s->ctx, ST_USER_HASH, args, store_hash_row, &h, cause) == -1)
		return CREDS_UNAVAILABLE;
	if (!h.found)
		return CREDS_UNKNOWN;
	return store_user_lookup(s, realm, name, out, cause);
}

int
store_change_mark(struct store *s, struct store_mark *m, char **cause)
{
	if (s->engine->change_mark == NULL)
		return 1;
	return s->engine->change_mark(s->ctx, m, cause);
}

struct store_names {
	store_name_fn fn;
	void *arg;
};

/* A change row: realm, name. */
static int
store_name_row(void *arg, const char *const *cols, int ncols)
{
	struct store_names *n = arg;

	if (ncols < 2 || cols[0] == NULL || cols[1] == NULL)
		return 0;
	return n->fn(n->arg, cols[0], cols[1]);
}

int
store_user_changes(struct store *s, int64_t after, int64_t upto, store_name_fn fn, void *arg,
    char **cause)
{
	struct store_names n = {fn, arg};

	if (s->engine->user_changes == NULL)
		return cause_fail(cause, "%s keeps no change log", s->engine->name);
	return s->engine->user_changes(s->ctx, after, upto, store_name_row, &n, cause);
}

struct store_keys_rows {
	store_key_fn fn;
	void *arg;
};

static int
store_keys_row(void *arg, const char *const *cols, int ncols)
{
	struct store_keys_rows *r = arg;
	struct creds_key k;
	int rc;

	memset(&k, 0, sizeof k);
	if (ncols < 4 || cols[0] == NULL || cols[1] == NULL || cols[2] == NULL ||
	    hex_decode(cols[2], k.md5, sizeof k.md5) == -1)
		return 0; /* a row no lookup would serve either */
	k.has_sha256 = cols[3] != NULL && hex_decode(cols[3], k.sha256, sizeof k.sha256) == 0;
	rc = r->fn(r->arg, cols[0], cols[1], &k);
	explicit_bzero(&k, sizeof k);
	return rc;
}

int
store_user_keys(struct store *s, uint64_t limit, store_key_fn fn, void *arg, char **cause)
{
	struct store_keys_rows r = {fn, arg};
	char lim[24];
	const char *args[] = {lim};

	snprintf(lim, sizeof lim, "%" PRIu64, limit > INT64_MAX ? (uint64_t)INT64_MAX : limit);
	return s->engine->each(s->ctx, ST_USER_KEYS, args, store_keys_row, &r, cause);
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
	return credkey_equal(want, got, sizeof got);
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
	bool found;
};

static int
store_admin_verify_row(void *arg, const struct store_row *row)
{
	struct store_verify *v = arg;

	v->found = true;
	*v->ok = store_hash_verify(v->password, row->value);
	return 0;
}

int
store_admin_verify(struct store *s, const char *name, const char *password, bool *ok, char **cause)
{
	const char *args[] = {name};
	struct store_verify v = {password, ok, false};
	uint8_t salt[STORE_SALT_LEN] = {0}, sink[STORE_HASH_LEN];

	*ok = false;
	if (store_check_name("admin name", name, STORE_ADMIN_NAME_MAX, cause) == -1)
		return -1;
	if (store_each(s, ST_ADMIN_GET, args, store_admin_verify_row, &v, cause) == -1)
		return -1;
	/* An unknown name costs the same hash as a known one: no guessing names by timing. */
	if (!v.found && password != NULL &&
	    store_pbkdf2(password, salt, STORE_PBKDF2_ITER, sink) == 0)
		explicit_bzero(sink, sizeof sink);
	return 0;
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
	if (oauthkey_make(k->kid, k->ikm_key, k->as_rs_alg, k->timestamp, k->lifetime, k->realm,
		&check, &errstr) == -1)
		return cause_fail(cause, "oauth key %s: %s", k->kid, errstr);
	alg = oauthkey_alg_name(check.alg);
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

struct store_oauth_rows {
	store_oauth_fn fn;
	void *arg;
};

static int
store_oauth_row(void *arg, const char *const *cols, int ncols)
{
	struct store_oauth_rows *r = arg;
	struct store_oauth_key k;

	if (ncols < 6 || cols[0] == NULL || cols[1] == NULL)
		return 0; /* a row coturn could not use either */
	k.kid = cols[0];
	k.ikm_key = cols[1];
	k.timestamp = cols[2] != NULL ? strtoull(cols[2], NULL, 10) : 0;
	k.lifetime = cols[3] != NULL ? (uint32_t)strtoul(cols[3], NULL, 10) : 0;
	k.as_rs_alg = cols[4] != NULL ? cols[4] : "";
	k.realm = cols[5] != NULL ? cols[5] : "";
	return r->fn(r->arg, &k);
}

int
store_oauth_key_list(struct store *s, store_oauth_fn fn, void *arg, char **cause)
{
	static const char *const none[1] = {NULL};
	struct store_oauth_rows r = {fn, arg};

	return s->engine->each(s->ctx, ST_OAUTH_LIST, none, store_oauth_row, &r, cause);
}

/* The writes of a copy: ops whose argument strings the list owns. */
struct store_copy {
	struct store_op *ops;
	size_t n, cap;
	struct store *from;
	struct store_copy_counts *counts;
	char **cause;
};

static int
store_copy_add(struct store_copy *c, enum store_stmt st, const char *const *args)
{
	struct store_op *grown, *op;
	int i;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		if ((grown = reallocarray(c->ops, c->cap, sizeof *grown)) == NULL)
			return cause_fail(c->cause, "out of memory");
		c->ops = grown;
	}
	op = &c->ops[c->n];
	memset(op, 0, sizeof *op);
	op->st = st;
	for (i = 0; i < store_stmt_nargs[st]; i++) {
		if (args[i] != NULL && (op->args[i] = strdup(args[i])) == NULL)
			return cause_fail(c->cause, "out of memory");
	}
	c->n++;
	return 0;
}

static void
store_copy_free(struct store_copy *c)
{
	size_t i;
	int j;

	for (i = 0; i < c->n; i++) {
		for (j = 0; j < STORE_OP_ARGS; j++) {
			if (c->ops[i].args[j] != NULL)
				explicit_bzero((char *)(uintptr_t)c->ops[i].args[j],
				    strlen(c->ops[i].args[j]));
			free((char *)(uintptr_t)c->ops[i].args[j]);
		}
	}
	free(c->ops);
}

static int
store_copy_user(void *arg, const char *const *cols, int ncols)
{
	struct store_copy *c = arg;
	const char *realm = cols[0], *name = cols[1], *md5 = cols[2], *sha = cols[3];
	const char *put[] = {realm, name, md5}, *shaput[] = {realm, name, md5, sha};
	const char *meta[] = {realm, name};

	if (ncols < 4 || realm == NULL || name == NULL || md5 == NULL)
		return 0;
	c->counts->users++;
	if (store_copy_add(c, ST_USER_PUT, put) == -1 ||
	    (sha != NULL && store_copy_add(c, ST_USER_SHA_PUT, shaput) == -1) ||
	    store_copy_add(c, ST_USER_META_PUT, meta) == -1)
		return -1;
	return 0;
}

static int
store_copy_secret(void *arg, const char *const *cols, int ncols)
{
	struct store_copy *c = arg;
	const char *args[] = {cols[0], cols[2]};

	c->counts->secrets++;
	return ncols < 3 ? 0 : store_copy_add(c, ST_SECRET_ADD, args);
}

static int
store_copy_peer(void *arg, const char *const *cols, int ncols)
{
	struct store_copy *c = arg;
	const char *args[] = {cols[0], cols[2]};

	if (ncols < 3 || cols[1] == NULL)
		return 0;
	c->counts->peers++;
	return store_copy_add(c, strcmp(cols[1], "allow") == 0 ? ST_ALLOW_ADD : ST_DENY_ADD, args);
}

static int
store_copy_origin(void *arg, const char *const *cols, int ncols)
{
	struct store_copy *c = arg;
	const char *args[] = {cols[1], cols[0]};

	c->counts->origins++;
	return ncols < 2 ? 0 : store_copy_add(c, ST_ORIGIN_ADD, args);
}

static int
store_copy_realm(void *arg, const char *const *cols, int ncols)
{
	struct store_copy *c = arg;

	c->counts->realm_options++;
	return ncols < 3 ? 0 : store_copy_add(c, ST_REALM_SET, cols);
}

static int
store_copy_admin_row(void *arg, const char *const *cols, int ncols)
{
	struct store_copy *c = arg;
	const char *args[] = {cols[1], cols[0], cols[2]};

	c->counts->admins++;
	return ncols < 3 ? 0 : store_copy_add(c, ST_ADMIN_PUT, args);
}

/* An admin's row with its password hash (the list leaves the hash out). */
static int
store_copy_admin(void *arg, const char *const *cols, int ncols)
{
	struct store_copy *c = arg;
	const char *args[] = {cols[1]};

	if (ncols < 2 || cols[1] == NULL)
		return 0;
	return c->from->engine->each(c->from->ctx, ST_ADMIN_GET, args, store_copy_admin_row, c,
	    c->cause);
}

static int
store_copy_oauth(void *arg, const char *const *cols, int ncols)
{
	struct store_copy *c = arg;

	c->counts->oauth_keys++;
	return ncols < 6 ? 0 : store_copy_add(c, ST_OAUTH_PUT, cols);
}

int
store_copy(struct store *from, struct store *to, struct store_copy_counts *counts, char **cause)
{
	static const struct {
		enum store_stmt q;
		store_cols_fn fn;
	} steps[] = {
	    {ST_USER_KEYS, store_copy_user},
	    {ST_SECRET_LIST, store_copy_secret},
	    {ST_PEER_LIST, store_copy_peer},
	    {ST_ORIGIN_LIST, store_copy_origin},
	    {ST_REALM_LIST, store_copy_realm},
	    {ST_ADMIN_LIST, store_copy_admin},
	    {ST_OAUTH_LIST, store_copy_oauth},
	};
	struct store_copy c = {NULL, 0, 0, from, counts, cause};
	char all[24];
	const char *args[] = {NULL};
	size_t i;
	int rc = 0;

	memset(counts, 0, sizeof *counts);
	snprintf(all, sizeof all, "%" PRId64, INT64_MAX);
	for (i = 0; i < STORE_NELEM(steps) && rc == 0; i++) {
		args[0] = steps[i].q == ST_USER_KEYS ? all : NULL;
		rc = from->engine->each(from->ctx, steps[i].q, args, steps[i].fn, &c, cause);
	}
	if (rc == 0 && c.n > 0)
		rc = to->engine->apply(to->ctx, c.ops, c.n, cause);
	store_copy_free(&c);
	return rc;
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
