/*
 * Credentials: who may allocate and with which long-term keys. An interface
 * (struct creds with a lookup function) so the static provider here (users from
 * `user=` options, TURN REST API shared secrets) and the SQLite store (a later
 * release, answering asynchronously) are interchangeable for the TURN core.
 * Keys only: passwords are turned into keys when loaded and never kept.
 */
#ifndef TURNPIKE_CREDS_H
#define TURNPIKE_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/credkey.h"

struct oauth_key;
/* Room for a user name found by its USERHASH (RFC 8489 §14.3: 513 bytes) and a NUL. */
#define CREDS_NAME_MAX 514
/* Room for a realm the store maps an ORIGIN to (coturn's varchar(127)) and a NUL. */
#define CREDS_REALM_MAX 128

struct creds_ops {
	/* Looks up user in realm at wall-clock time now_unix; fills out on CREDS_FOUND. */
	int (*lookup)(void *ctx, const char *user, size_t userlen, const char *realm,
	    size_t realmlen, uint64_t now_unix, struct creds_result *out);
	/* RFC 7635: the AS-RS key kid (NULL: the provider holds none, CREDS_UNKNOWN). */
	int (*oauth_key)(void *ctx, const char *kid, size_t kidlen, struct oauth_key *out);
	/*
	 * Optional (NULL: no user can be found so): the name of the user of realm
	 * whose USERHASH (RFC 8489 §14.4) is hash, copied to name (cap
	 * CREDS_NAME_MAX) with *namelen; CREDS_FOUND, CREDS_UNKNOWN, CREDS_PENDING
	 * (the store is looking it up) or CREDS_UNAVAILABLE. REST API users have no
	 * fixed name: never found.
	 */
	int (*find_hash)(void *ctx, const uint8_t hash[32], const char *realm, size_t realmlen,
	    char *name, size_t *namelen);
	/*
	 * Optional (NULL: no ORIGIN is mapped): the realm coturn's
	 * turn_origin_to_realm maps origin to, copied to realm (cap
	 * CREDS_REALM_MAX, NUL-terminated) with *realmlen; CREDS_FOUND or
	 * CREDS_UNKNOWN.
	 */
	int (*origin_realm)(void *ctx, const char *origin, size_t originlen, char *realm,
	    size_t *realmlen);
};

struct creds {
	const struct creds_ops *ops;
	void *ctx;
};

int creds_lookup(const struct creds *c, const char *user, size_t userlen, const char *realm,
    size_t realmlen, uint64_t now_unix, struct creds_result *out);

/* The AS-RS key kid: CREDS_FOUND (out filled), CREDS_UNKNOWN or CREDS_UNAVAILABLE. */
int creds_oauth_key(const struct creds *c, const char *kid, size_t kidlen, struct oauth_key *out);
/* The user whose USERHASH is hash, through c's find_hash (CREDS_UNKNOWN without one). */
int creds_find_hash(const struct creds *c, const uint8_t hash[32], const char *realm,
    size_t realmlen, char name[CREDS_NAME_MAX], size_t *namelen);

/* The realm origin maps to, through c's origin_realm (CREDS_UNKNOWN without one). */
int creds_origin_realm(const struct creds *c, const char *origin, size_t originlen,
    char realm[CREDS_REALM_MAX], size_t *realmlen);

/* The static provider: users and shared secrets from the configuration. */
struct creds_static;

struct creds_static *creds_static_create(const char *realm);
void creds_static_free(struct creds_static *cs);
/* "name:password" or "name:0xHEXKEY" (32 hex digits, MD5 key as coturn's turnadmin -k prints). */
int creds_static_add_user(struct creds_static *cs, const char *spec, char **cause);
/* Adds or replaces user name with ready keys (as a credential store holds them). */
int creds_static_add_key(struct creds_static *cs, const char *name, const struct creds_key *k,
    char **cause);
/* A static-auth-secret; several may be active at once for rotation. */
int creds_static_add_secret(struct creds_static *cs, const char *secret, char **cause);
/* How many secrets cs holds (at most CREDS_MAX_KEYS). */
size_t creds_static_secret_count(const struct creds_static *cs);
/*
 * use-auth-secret: usernames are "expiry<sep>user", "user<sep>expiry" or a bare
 * "expiry" (unix seconds) and the password is base64(HMAC-SHA1(secret, username)).
 */
void creds_static_set_rest(struct creds_static *cs, bool use_auth_secret, char separator);
/* rest-api-hmac=sha256: REST passwords are base64(HMAC-SHA256(secret, username)). */
void creds_static_set_rest_sha256(struct creds_static *cs, bool sha256);
/* True when cs serves realm. */
bool creds_static_has_realm(const struct creds_static *cs, const char *realm, size_t realmlen);
/* The struct creds view of cs, valid while cs lives. */
void creds_static_iface(struct creds_static *cs, struct creds *out);

/* Room for a REST API password: base64 of an HMAC-SHA256 and a NUL. */
#define CREDS_REST_PASSWORD_MAX CREDKEY_REST_PASSWORD_MAX

/* base64(HMAC-SHA1(secret, username)): the REST API password (for clients and tests). */
int creds_rest_password(const char *secret, size_t secretlen, const char *user, size_t userlen,
    char *out, size_t outcap);
/* The same with HMAC-SHA256 when sha256 (rest-api-hmac=sha256): credkey_rest_password. */
int creds_rest_password_alg(bool sha256, const char *secret, size_t secretlen, const char *user,
    size_t userlen, char *out, size_t outcap);

#endif
