/*
 * Third-party authorization (RFC 7635): the self-contained ACCESS-TOKEN that
 * the keys an authorization server shares with this server (oauthkey.h)
 * protect (RFC 7635 §6.2, AES-GCM as in RFC 7635 appendix B):
 *
 *   nonce_length (2) | nonce | AEAD(K, nonce, aad = server name,
 *       key_length (2) | mac_key | timestamp (8) | lifetime (4)) | tag (16)
 *
 * The timestamp is 48 bits of seconds and 16 bits of 1/64000 s since 1970
 * (RFC 7635 §6.2); lifetime is in seconds. Pure functions: no clock, no I/O.
 */
#ifndef TURNPIKE_OAUTH_H
#define TURNPIKE_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/oauthkey.h"

#define OAUTH_MAC_KEY_MAX 32   /* HMAC-SHA-256's key; HMAC-SHA-1 uses 20 */
#define OAUTH_GCM_NONCE_LEN 12 /* RFC 7635 appendix B: 96-bit nonce */
#define OAUTH_GCM_TAG_LEN 16
#define OAUTH_TOKEN_MAX 512 /* longest ACCESS-TOKEN we encode or accept */
#define OAUTH_TIME_SKEW 5   /* seconds of clock skew allowed either side (RFC 7635 §6.2's Delta) */

/* What an ACCESS-TOKEN carries once opened. */
struct oauth_token {
	uint8_t mac_key[OAUTH_MAC_KEY_MAX];
	size_t mac_key_len;
	uint64_t timestamp; /* RFC 7635 §6.2 fixed point: seconds << 16 | 1/64000 s */
	uint32_t lifetime;  /* seconds */
};

/*
 * Opens token with k, authenticating server_name as the AEAD's associated
 * data. -1 with *errstr when the token is malformed, was sealed with another
 * key or for another server, or carries a mac_key of a length other than 20
 * or 32. Never reads outside token[0..len).
 */
int oauth_token_open(const struct oauth_key *k, const char *server_name, const uint8_t *token,
    size_t len, struct oauth_token *out, const char **errstr);

/* Seals tok with k for server_name under nonce (12 bytes); the length, or 0 on failure. */
size_t oauth_token_seal(const struct oauth_key *k, const char *server_name,
    const uint8_t nonce[OAUTH_GCM_NONCE_LEN], const struct oauth_token *tok, uint8_t *out,
    size_t cap);

/*
 * RFC 7635 §6.2 freshness at now_unix: the token's timestamp is no more than
 * OAUTH_TIME_SKEW in the future and timestamp + lifetime (+ skew) is not past.
 * A lifetime of 0 is refused. On true, *expires is the token's end (unix s).
 */
bool oauth_token_fresh(const struct oauth_token *tok, uint64_t now_unix, uint64_t *expires);
/* The key itself is in its own validity window at now_unix. */
bool oauth_key_valid(const struct oauth_key *k, uint64_t now_unix);

#endif
