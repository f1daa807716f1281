/* Credentials: the lookup interface, static users and TURN REST API secrets. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/cause.h"
#include "turnpike/creds.h"
#include "turnpike/hex.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"

#define CREDS_HEX_KEY_LEN 32

struct creds_user {
	char *name;
	size_t namelen;
	struct creds_key key;
	uint8_t hash[32]; /* USERHASH: SHA-256(name ":" realm) */
};

struct creds_secret {
	char *p;
	size_t len;
};

struct creds_static {
	char *realm;
	size_t realmlen;
	struct creds_user *users;
	size_t nusers;
	/* Open-addressing indexes by name and by USERHASH: user index + 1, 0 empty. */
	size_t *byname, *byhash;
	size_t nslots; /* a power of two, at least twice nusers */
	struct creds_secret *secrets;
	size_t nsecrets;
	bool rest;
	bool rest_sha256;
	char sep;
};

static int creds_static_lookup(void *, const char *, size_t, const char *, size_t, uint64_t,
    struct creds_result *);
static int creds_static_find_hash(void *, const uint8_t *, const char *, size_t, char *, size_t *);

static const struct creds_ops creds_static_ops = {creds_static_lookup, NULL, creds_static_find_hash,
    NULL};

/* Overwrites secrets before their memory is released. */
static void
creds_wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n-- > 0)
		*v++ = 0;
}

int
creds_lookup(const struct creds *c, const char *user, size_t userlen, const char *realm,
    size_t realmlen, uint64_t now_unix, struct creds_result *out)
{
	out->nkeys = 0;
	if (c == NULL || c->ops == NULL || c->ops->lookup == NULL)
		return CREDS_UNAVAILABLE;
	return c->ops->lookup(c->ctx, user, userlen, realm, realmlen, now_unix, out);
}

int
creds_oauth_key(const struct creds *c, const char *kid, size_t kidlen, struct oauth_key *out)
{
	if (c == NULL || c->ops == NULL || c->ops->oauth_key == NULL)
		return CREDS_UNKNOWN;
	return c->ops->oauth_key(c->ctx, kid, kidlen, out);
}

int
creds_find_hash(const struct creds *c, const uint8_t hash[32], const char *realm, size_t realmlen,
    char name[CREDS_NAME_MAX], size_t *namelen)
{
	*namelen = 0;
	if (c == NULL || c->ops == NULL || c->ops->find_hash == NULL)
		return CREDS_UNKNOWN;
	return c->ops->find_hash(c->ctx, hash, realm, realmlen, name, namelen);
}

int
creds_origin_realm(const struct creds *c, const char *origin, size_t originlen,
    char realm[CREDS_REALM_MAX], size_t *realmlen)
{
	*realmlen = 0;
	if (c == NULL || c->ops == NULL || c->ops->origin_realm == NULL)
		return CREDS_UNKNOWN;
	return c->ops->origin_realm(c->ctx, origin, originlen, realm, realmlen);
}

struct creds_static *
creds_static_create(const char *realm)
{
	struct creds_static *cs;

	if ((cs = calloc(1, sizeof *cs)) == NULL)
		return NULL;
	if ((cs->realm = strdup(realm != NULL ? realm : "")) == NULL) {
		free(cs);
		return NULL;
	}
	cs->realmlen = strlen(cs->realm);
	cs->sep = ':';
	return cs;
}

void
creds_static_free(struct creds_static *cs)
{
	size_t i;

	if (cs == NULL)
		return;
	for (i = 0; i < cs->nusers; i++) {
		free(cs->users[i].name);
		creds_wipe(&cs->users[i].key, sizeof cs->users[i].key);
	}
	for (i = 0; i < cs->nsecrets; i++) {
		creds_wipe(cs->secrets[i].p, cs->secrets[i].len);
		free(cs->secrets[i].p);
	}
	free(cs->users);
	free(cs->byname);
	free(cs->byhash);
	free(cs->secrets);
	free(cs->realm);
	free(cs);
}

/* MD5 and SHA-256 keys of user:realm:password (RFC 8489 §9.2.2). */
static int
creds_derive(const char *user, size_t userlen, const char *realm, size_t realmlen, const char *pass,
    size_t passlen, struct creds_key *k)
{
	size_t len;

	memset(k, 0, sizeof *k);
	if (integrity_key_long_term(STUN_PWALG_MD5, user, userlen, realm, realmlen, pass, passlen,
		k->md5, &len) == -1 ||
	    integrity_key_long_term(STUN_PWALG_SHA256, user, userlen, realm, realmlen, pass,
		passlen, k->sha256, &len) == -1)
		return -1;
	k->has_sha256 = true;
	return 0;
}

/* FNV-1a: the name index's slot (the names are the operator's, not a client's choice). */
static size_t
creds_name_slot(const char *name, size_t namelen)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < namelen; i++)
		h = (h ^ (uint8_t)name[i]) * 1099511628211ULL;
	return (size_t)h;
}

/* A USERHASH is a SHA-256 already: its first bytes are the slot. */
static size_t
creds_hash_slot(const uint8_t *hash)
{
	size_t h;

	memcpy(&h, hash, sizeof h);
	return h;
}

static void
creds_index_put(size_t *slots, size_t nslots, size_t h, size_t idx)
{
	size_t i;

	for (i = h & (nslots - 1); slots[i] != 0; i = (i + 1) & (nslots - 1))
		;
	slots[i] = idx + 1;
}

/* Room for one more user: both indexes rebuilt at twice the size when half full. */
static int
creds_index_reserve(struct creds_static *cs)
{
	size_t n = cs->nslots != 0 ? cs->nslots : 16, i, *byname, *byhash;

	while (n < 2 * (cs->nusers + 1))
		n *= 2;
	if (n == cs->nslots)
		return 0;
	byname = calloc(n, sizeof *byname);
	byhash = calloc(n, sizeof *byhash);
	if (byname == NULL || byhash == NULL) {
		free(byname);
		free(byhash);
		return -1;
	}
	for (i = 0; i < cs->nusers; i++) {
		creds_index_put(byname, n, creds_name_slot(cs->users[i].name, cs->users[i].namelen),
		    i);
		creds_index_put(byhash, n, creds_hash_slot(cs->users[i].hash), i);
	}
	free(cs->byname);
	free(cs->byhash);
	cs->byname = byname;
	cs->byhash = byhash;
	cs->nslots = n;
	return 0;
}

/* Per request: one probe sequence in the name index, not a scan of every user. */
static struct creds_user *
creds_find_user(const struct creds_static *cs, const char *name, size_t namelen)
{
	struct creds_user *u;
	size_t i, mask = cs->nslots - 1;

	if (cs->nslots == 0)
		return NULL;
	for (i = creds_name_slot(name, namelen) & mask; cs->byname[i] != 0; i = (i + 1) & mask) {
		u = &cs->users[cs->byname[i] - 1];
		if (u->namelen == namelen && memcmp(u->name, name, namelen) == 0)
			return u;
	}
	return NULL;
}

/* Adds or replaces user name with key k. */
static int
creds_store_user(struct creds_static *cs, const char *name, size_t namelen,
    const struct creds_key *k)
{
	struct creds_user *u, *grown;

	if ((u = creds_find_user(cs, name, namelen)) != NULL) {
		u->key = *k;
		return 0;
	}
	if (creds_index_reserve(cs) == -1 ||
	    (grown = reallocarray(cs->users, cs->nusers + 1, sizeof *grown)) == NULL)
		return -1;
	cs->users = grown;
	u = &grown[cs->nusers];
	if ((u->name = strndup(name, namelen)) == NULL)
		return -1;
	u->namelen = namelen;
	u->key = *k;
	integrity_userhash(name, namelen, cs->realm, cs->realmlen, u->hash);
	creds_index_put(cs->byname, cs->nslots, creds_name_slot(name, namelen), cs->nusers);
	creds_index_put(cs->byhash, cs->nslots, creds_hash_slot(u->hash), cs->nusers);
	cs->nusers++;
	return 0;
}

int
creds_static_add_user(struct creds_static *cs, const char *spec, char **cause)
{
	const char *colon = strchr(spec, ':'), *pass;
	struct creds_key k;
	size_t namelen;
	int rc;

	if (colon == NULL || colon == spec || colon[1] == '\0')
		return cause_fail(cause, "user: expected name:password or name:0xKEY");
	namelen = (size_t)(colon - spec);
	pass = colon + 1;
	memset(&k, 0, sizeof k);
	if (strncmp(pass, "0x", 2) == 0) {
		if (hex_decode(pass + 2, k.md5, sizeof k.md5) == -1)
			return cause_fail(cause, "user %.*s: a 0x key must have %d hex digits",
			    (int)namelen, spec, CREDS_HEX_KEY_LEN);
	} else if (creds_derive(spec, namelen, cs->realm, cs->realmlen, pass, strlen(pass), &k) ==
	    -1)
		return cause_fail(cause, "user %.*s: password refused by OpaqueString preparation",
		    (int)namelen, spec);
	rc = creds_store_user(cs, spec, namelen, &k);
	creds_wipe(&k, sizeof k);
	if (rc == -1)
		return cause_fail(cause, "user %.*s: out of memory", (int)namelen, spec);
	return 0;
}

int
creds_static_add_key(struct creds_static *cs, const char *name, const struct creds_key *k,
    char **cause)
{
	if (creds_store_user(cs, name, strlen(name), k) == -1)
		return cause_fail(cause, "user %s: out of memory", name);
	return 0;
}

int
creds_static_add_secret(struct creds_static *cs, const char *secret, char **cause)
{
	struct creds_secret *grown;
	size_t len = strlen(secret);

	if (len == 0)
		return cause_fail(cause, "static-auth-secret: empty secret");
	if (cs->nsecrets == CREDS_MAX_KEYS)
		return cause_fail(cause, "static-auth-secret: more than %d secrets",
		    CREDS_MAX_KEYS);
	if ((grown = reallocarray(cs->secrets, cs->nsecrets + 1, sizeof *grown)) == NULL)
		return cause_fail(cause, "static-auth-secret: out of memory");
	cs->secrets = grown;
	if ((grown[cs->nsecrets].p = malloc(len)) == NULL)
		return cause_fail(cause, "static-auth-secret: out of memory");
	memcpy(grown[cs->nsecrets].p, secret, len);
	grown[cs->nsecrets].len = len;
	cs->nsecrets++;
	return 0;
}

void
creds_static_set_rest(struct creds_static *cs, bool use_auth_secret, char separator)
{
	cs->rest = use_auth_secret;
	cs->sep = separator != '\0' ? separator : ':';
}

void
creds_static_set_rest_sha256(struct creds_static *cs, bool sha256)
{
	cs->rest_sha256 = sha256;
}

size_t
creds_static_secret_count(const struct creds_static *cs)
{
	return cs->nsecrets;
}

bool
creds_static_has_realm(const struct creds_static *cs, const char *realm, size_t realmlen)
{
	return realmlen == cs->realmlen && memcmp(realm, cs->realm, realmlen) == 0;
}

void
creds_static_iface(struct creds_static *cs, struct creds *out)
{
	out->ops = &creds_static_ops;
	out->ctx = cs;
}

int
creds_rest_password(const char *secret, size_t secretlen, const char *user, size_t userlen,
    char *out, size_t outcap)
{
	return creds_rest_password_alg(false, secret, secretlen, user, userlen, out, outcap);
}

int
creds_rest_password_alg(bool sha256, const char *secret, size_t secretlen, const char *user,
    size_t userlen, char *out, size_t outcap)
{
	return credkey_rest_password(sha256, secret, secretlen, user, userlen, out, outcap);
}

/* A decimal number of 1 to 20 digits that fits 64 bits. */
static bool
creds_number(const char *p, size_t n, uint64_t *v)
{
	size_t i;
	uint64_t d;

	if (n == 0 || n > 20)
		return false;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		d = (uint64_t)(p[i] - '0');
		if (*v > (UINT64_MAX - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	return true;
}

/* The expiry of a REST username: "expiry", "expiry<sep>user" or "user<sep>expiry". */
static bool
creds_rest_expiry(const char *u, size_t n, char sep, uint64_t *expiry)
{
	const char *first = memchr(u, sep, n), *last = NULL;
	size_t i;

	if (creds_number(u, n, expiry))
		return true;
	if (first == NULL)
		return false;
	if (creds_number(u, (size_t)(first - u), expiry))
		return true;
	for (i = n; i > 0 && last == NULL; i--) {
		if (u[i - 1] == sep)
			last = u + i - 1;
	}
	return creds_number(last + 1, n - (size_t)(last + 1 - u), expiry);
}

/* One key pair per secret: the password is base64(HMAC-SHA1 or -SHA256(secret, username)). */
static int
creds_rest_keys(const struct creds_static *cs, const char *user, size_t userlen,
    struct creds_result *out)
{
	char pass[CREDS_REST_PASSWORD_MAX];
	size_t i;
	int rc = CREDS_FOUND;

	for (i = 0; i < cs->nsecrets && i < CREDS_MAX_KEYS; i++) {
		if (creds_rest_password_alg(cs->rest_sha256, cs->secrets[i].p, cs->secrets[i].len,
			user, userlen, pass, sizeof pass) == -1 ||
		    creds_derive(user, userlen, cs->realm, cs->realmlen, pass, strlen(pass),
			&out->keys[out->nkeys]) == -1) {
			rc = CREDS_UNAVAILABLE;
			break;
		}
		out->nkeys++;
	}
	creds_wipe(pass, sizeof pass);
	return rc;
}

static int
creds_static_lookup(void *ctx, const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint64_t now_unix, struct creds_result *out)
{
	const struct creds_static *cs = ctx;
	const struct creds_user *u;
	uint64_t expiry;

	out->nkeys = 0;
	if (!creds_static_has_realm(cs, realm, realmlen))
		return CREDS_UNKNOWN;
	if (cs->rest && cs->nsecrets > 0 && creds_rest_expiry(user, userlen, cs->sep, &expiry)) {
		/* coturn's rule: valid through the expiry second itself. */
		if (expiry < now_unix)
			return CREDS_UNKNOWN;
		return creds_rest_keys(cs, user, userlen, out);
	}
	if ((u = creds_find_user(cs, user, userlen)) == NULL)
		return CREDS_UNKNOWN;
	out->keys[0] = u->key;
	out->nkeys = 1;
	return CREDS_FOUND;
}

static int
creds_static_find_hash(void *ctx, const uint8_t *hash, const char *realm, size_t realmlen,
    char *name, size_t *namelen)
{
	const struct creds_static *cs = ctx;
	const struct creds_user *u;
	size_t i, mask = cs->nslots - 1;

	*namelen = 0;
	if (!creds_static_has_realm(cs, realm, realmlen) || cs->nslots == 0)
		return CREDS_UNKNOWN;
	for (i = creds_hash_slot(hash) & mask; cs->byhash[i] != 0; i = (i + 1) & mask) {
		u = &cs->users[cs->byhash[i] - 1];
		if (memcmp(u->hash, hash, sizeof u->hash) != 0 || u->namelen >= CREDS_NAME_MAX)
			continue;
		memcpy(name, u->name, u->namelen);
		name[u->namelen] = '\0';
		*namelen = u->namelen;
		return CREDS_FOUND;
	}
	return CREDS_UNKNOWN;
}
