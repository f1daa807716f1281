/*
 * RFC 7635 AS-RS keys as coturn's oauth_key rows hold them (kid, ikm_key in
 * base64, as_rs_alg, timestamp, lifetime, realm): the decoded key shared by the
 * credential store, which checks a row before it writes it, and the STUN codec,
 * which opens ACCESS-TOKENs with it (oauth.h). Pure functions over libcrypto.
 */
#ifndef TURNPIKE_OAUTHKEY_H
#define TURNPIKE_OAUTHKEY_H

#include <stddef.h>
#include <stdint.h>

#define OAUTH_KID_MAX 128     /* oauth_key.kid varchar(128) */
#define OAUTH_IKM_B64_MAX 256 /* oauth_key.ikm_key varchar(256) */
#define OAUTH_KEY_MAX 32      /* A256GCM */

enum oauth_alg {
	OAUTH_A256GCM = 0, /* the default, as coturn's */
	OAUTH_A128GCM = 1,
};

/* One AS-RS key, ready for use (coturn's oauth_key row decoded). */
struct oauth_key {
	char kid[OAUTH_KID_MAX + 1];
	enum oauth_alg alg;
	uint8_t key[OAUTH_KEY_MAX];
	size_t keylen;      /* 16 (A128GCM) or 32 (A256GCM) */
	uint64_t timestamp; /* the key's own validity start (unix seconds), 0: always */
	uint32_t lifetime;  /* the key's validity in seconds, 0: no end */
	char realm[128];    /* the realm sessions with this key belong to, "" for the server's */
};

/* "A256GCM", "A128GCM" (case-insensitive, '_' for '-' as coturn accepts); "" is A256GCM. */
int oauthkey_alg_parse(const char *s, enum oauth_alg *out);
const char *oauthkey_alg_name(enum oauth_alg alg);

/*
 * Builds a key from an oauth_key row: ikm_b64 is the base64 input keying
 * material, whose first 16 or 32 bytes are the AES key (coturn's convention).
 * -1 with *errstr when a field is malformed or too short for alg.
 */
int oauthkey_make(const char *kid, const char *ikm_b64, const char *alg, uint64_t timestamp,
    uint32_t lifetime, const char *realm, struct oauth_key *out, const char **errstr);

#endif
