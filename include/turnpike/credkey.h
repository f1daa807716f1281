/*
 * Long-term credential keys (RFC 8489 §9.2.2), USERHASH (RFC 8489 §14.4) and a
 * constant-time compare: pure functions over libcrypto digests (no SSL), shared by
 * the STUN codec and the credential store.
 */
#ifndef TURNPIKE_CREDKEY_H
#define TURNPIKE_CREDKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Key algorithms; the values are RFC 8489 §18.5 PASSWORD-ALGORITHM numbers. */
enum credkey_alg {
	CREDKEY_MD5 = 0x0001,
	CREDKEY_SHA256 = 0x0002,
};

#define CREDKEY_MD5_LEN 16
#define CREDKEY_SHA256_LEN 32
#define CREDKEY_MAX_LEN 32
#define CREDKEY_USERHASH_LEN 32

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

/* Constant-time equality of two byte arrays of length n. */
bool credkey_equal(const void *a, const void *b, size_t n);

#endif
