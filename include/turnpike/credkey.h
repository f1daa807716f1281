/*
 * Long-term credential keys (RFC 8489 §9.2.2), USERHASH (RFC 8489 §14.4), HMAC, TURN
 * REST API passwords and a constant-time compare: pure functions over libcrypto
 * digests (no SSL), shared by the STUN codec, the credential store, the TURN core,
 * the client and turnpikectl.
 */
#ifndef TURNPIKE_CREDKEY_H
#define TURNPIKE_CREDKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/base64.h"

/* Key algorithms; the values are RFC 8489 §18.5 PASSWORD-ALGORITHM numbers. */
enum credkey_alg {
	CREDKEY_MD5 = 0x0001,
	CREDKEY_SHA256 = 0x0002,
};

#define CREDKEY_MD5_LEN 16
#define CREDKEY_SHA256_LEN 32
#define CREDKEY_MAX_LEN 32
#define CREDKEY_USERHASH_LEN 32
#define CREDKEY_HMAC_SHA1_LEN 20
#define CREDKEY_HMAC_SHA256_LEN 32

/* A piece of the bytes a digest or MAC covers. */
struct credkey_part {
	const uint8_t *p;
	size_t len;
};

/*
 * Long-term key (RFC 8489 §9.2.2): MD5 or SHA-256 of "username:realm:password" with
 * the password prepared by OpaqueString (opaque.h). alg is enum credkey_alg. Writes
 * the key (16 or 32 bytes) and its length; -1 for another alg or when the password
 * is refused by the preparation.
 */
int credkey_long_term(uint16_t alg, const char *user, size_t userlen, const char *realm,
    size_t realmlen, const char *password, size_t passlen, uint8_t *key, size_t *keylen);

/* USERHASH (RFC 8489 §14.4): SHA-256("username:realm"), 32 bytes. */
void credkey_userhash(const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint8_t out[CREDKEY_USERHASH_LEN]);

/*
 * HMAC-SHA1 (sha256 false, 20 bytes) or HMAC-SHA256 (32 bytes) under key of the
 * concatenation of parts[0..nparts) into out, which has room for 32 bytes; -1 only
 * when libcrypto fails.
 */
int credkey_hmac(bool sha256, const uint8_t *key, size_t keylen, const struct credkey_part *parts,
    int nparts, uint8_t *out);

/* A TURN REST API password: base64 text of an HMAC-SHA1, of an HMAC-SHA256, room for either. */
#define CREDKEY_REST_SHA1_LEN BASE64_LEN(CREDKEY_HMAC_SHA1_LEN)
#define CREDKEY_REST_SHA256_LEN BASE64_LEN(CREDKEY_HMAC_SHA256_LEN)
#define CREDKEY_REST_PASSWORD_MAX (CREDKEY_REST_SHA256_LEN + 1)

/*
 * TURN REST API password (coturn's use-auth-secret): padded base64 (RFC 4648 §4) of
 * HMAC-SHA1(secret, user), or of HMAC-SHA256 when sha256 (rest-api-hmac=sha256), and
 * a NUL into out (outcap bytes); -1 if it does not fit or libcrypto fails.
 */
int credkey_rest_password(bool sha256, const char *secret, size_t secretlen, const char *user,
    size_t userlen, char *out, size_t outcap);

/* Constant-time equality of two byte arrays of length n. */
bool credkey_equal(const void *a, const void *b, size_t n);

/*
 * A user's key pairs and the lookup codes, under the names of the TURN core's
 * credential interface (creds.h) that passes them around: here so that the
 * credential store, which fills them, depends on common only.
 */
#define CREDS_MAX_KEYS 8 /* candidate keys per user (one per REST secret) */

/* One long-term key pair (RFC 8489 §9.2.2) a request may verify against. */
struct creds_key {
	uint8_t md5[16];    /* MD5(username:realm:password), coturn's hmackey */
	uint8_t sha256[32]; /* SHA-256(username:realm:password) */
	bool has_sha256;    /* false when only the MD5 key is known (0xKEY users) */
};

enum creds_status {
	CREDS_FOUND = 0,
	CREDS_UNKNOWN = -1,     /* no such user, or an expired REST username: 401 */
	CREDS_UNAVAILABLE = -2, /* the backend failed: fail closed with 401 */
	CREDS_PENDING = -3,     /* asynchronous backend: ask again when it answers */
};

struct creds_result {
	size_t nkeys;
	struct creds_key keys[CREDS_MAX_KEYS];
};

#endif
