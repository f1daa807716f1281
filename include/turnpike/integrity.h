/*
 * Message integrity and fingerprint (RFC 8489 §14.5, §14.6, §14.7, §9.2.2):
 * HMAC-SHA1 / HMAC-SHA256, CRC-32 fingerprint; long-term keys and USERHASH through
 * credkey.h. Comparisons are constant time.
 */
#ifndef TURNPIKE_INTEGRITY_H
#define TURNPIKE_INTEGRITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/credkey.h"
#include "turnpike/stun.h"

#define INTEGRITY_MD5_KEY_LEN CREDKEY_MD5_LEN
#define INTEGRITY_SHA256_KEY_LEN CREDKEY_SHA256_LEN
#define INTEGRITY_MAX_KEY_LEN CREDKEY_MAX_LEN
#define INTEGRITY_SHA1_LEN CREDKEY_HMAC_SHA1_LEN
#define INTEGRITY_SHA256_LEN CREDKEY_HMAC_SHA256_LEN

/* credkey_long_term (RFC 8489 §9.2.2); alg is enum stun_pwalg, whose numbers credkey shares. */
int integrity_key_long_term(uint16_t alg, const char *user, size_t userlen, const char *realm,
    size_t realmlen, const char *password, size_t passlen, uint8_t *key, size_t *keylen);

/* credkey_userhash: USERHASH (RFC 8489 §14.4), SHA-256("username:realm"), 32 bytes. */
void integrity_userhash(const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint8_t out[32]);

/*
 * Verifies MESSAGE-INTEGRITY (sha256 false) or MESSAGE-INTEGRITY-SHA256 (true) of
 * a decoded message with key. Returns true only when the attribute is present and
 * the HMAC matches, as RFC 8489 §14.5/§14.6 define the covered bytes and length.
 */
bool integrity_verify(const struct stun_msg *m, bool sha256, const uint8_t *key, size_t keylen);

/* True when FINGERPRINT is present and matches. */
bool integrity_fingerprint_ok(const struct stun_msg *m);
/* CRC-32 (ISO-HDLC) of the bytes, xored with 0x5354554e. */
uint32_t integrity_fingerprint(const uint8_t *p, size_t len);

/*
 * HMAC-SHA1 (sha256 false, 20 bytes) or HMAC-SHA256 (32 bytes) of p[0..len) into
 * out, which has room for 32 bytes. -1 only when libcrypto fails.
 */
int integrity_hmac(bool sha256, const uint8_t *key, size_t keylen, const uint8_t *p, size_t len,
    uint8_t *out);
/*
 * An HMAC key set up once (MAC and digest fetched, key schedule done) for many
 * MACs: each one copies it, so threads may share it read-only.
 */
struct integrity_key;
struct integrity_key *integrity_key_create(bool sha256, const uint8_t *key, size_t keylen);
void integrity_key_free(struct integrity_key *k);
/* integrity_hmac under k; 0 or -1. */
int integrity_key_hmac(const struct integrity_key *k, const uint8_t *p, size_t len, uint8_t *out);

/* credkey_equal: constant-time equality of two byte arrays of length n. */
bool integrity_equal(const void *a, const void *b, size_t n);

#endif
