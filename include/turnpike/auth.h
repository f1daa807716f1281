/*
 * Long-term credentials for TURN requests (RFC 8489 §9.2, RFC 8656 §5):
 * stateless nonces bound to the client's address and transport, the nonce
 * cookie and PASSWORD-ALGORITHMS negotiation (§9.2.1, §9.2.4, §18.5), and the
 * check of a request's MESSAGE-INTEGRITY(-SHA256) against the user's keys.
 */
#ifndef TURNPIKE_AUTH_H
#define TURNPIKE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/auth_session.h"
#include "turnpike/creds.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"
#include "turnpike/turn.h"

/* RFC 8489 §9.2: "obMatJos2" and 4 base64 characters of the 24 security feature bits. */
#define AUTH_COOKIE "obMatJos2"
#define AUTH_COOKIE_LEN 13
/* Longest nonce we issue (cookie, 16 base64 characters of expiry and MAC) and a NUL. */
#define AUTH_NONCE_MAX 32

/* How a request's credentials came out. */
struct auth_result {
	int error;         /* 0, or 400, 401 or 438 to answer without integrity */
	bool challenge;    /* the error answer carries REALM, NONCE (and PASSWORD-ALGORITHMS) */
	bool credentials;  /* the request carried MESSAGE-INTEGRITY: a 401 is an auth failure */
	bool mac_sha256;   /* answer with MESSAGE-INTEGRITY-SHA256, else MESSAGE-INTEGRITY */
	bool hash_pending; /* the 438 is for a USERHASH the store is looking up */
	uint8_t key[INTEGRITY_MAX_KEY_LEN];
	size_t keylen;
	/* USERNAME, pointing into the request (the kid with a token), or into userbuf: use the
	 * struct in place. */
	const char *user;
	size_t userlen;
	bool oauth;            /* authenticated by an RFC 7635 access token */
	uint64_t expires_unix; /* with oauth: when the token ends (allocations end by then) */
	char userbuf[CREDS_NAME_MAX]; /* the user a USERHASH named (RFC 8489 §14.4) */
	/*
	 * The realm of the request (auth_request_realm), set by every check, failed
	 * or not: the challenge's REALM, and once authenticated the realm of the
	 * credentials. Points to the configuration or into realmbuf: use in place.
	 */
	const char *realm;
	size_t realmlen;
	char realmbuf[CREDS_REALM_MAX];
};

/* A fresh nonce for t, valid for cfg->stale_nonce seconds; returns its length. */
size_t auth_nonce_make(const struct turn_config *cfg, const struct turn_5tuple *t,
    uint64_t now_unix, char out[AUTH_NONCE_MAX]);
/* True when nonce is one of ours, for t, and not expired. */
bool auth_nonce_valid(const struct turn_config *cfg, const struct turn_5tuple *t,
    const uint8_t *nonce, size_t len, uint64_t now_unix);
/* True when nonce starts with the cookie and the "Password algorithms" feature bit. */
bool auth_nonce_has_pwalgs(const uint8_t *nonce, size_t len);
/* True when nonce starts with the cookie and the "Username anonymity" feature bit. */
bool auth_nonce_has_anonymity(const uint8_t *nonce, size_t len);

/*
 * The user a USERHASH names in realm (creds_find_hash); when none is found,
 * CREDS_UNKNOWN (or CREDS_UNAVAILABLE) with name set to "userhash:" and the
 * hash in hex, so that throttles and logs still have one name per hash.
 */
int auth_userhash_name(const struct creds *creds, const uint8_t hash[STUN_USERHASH_LEN],
    const char *realm, size_t realmlen, char name[CREDS_NAME_MAX], size_t *namelen);

/*
 * The realm a request is answered in: the one the store maps the first of its
 * ORIGIN attributes that it maps to (coturn's turn_origin_to_realm; clients
 * may send several), else the configured realm. Sets r->realm
 * (and r->realmbuf). An ORIGIN only chooses which realm's credentials must
 * verify: it never grants anything by itself.
 */
void auth_request_realm(const struct turn_config *cfg, const struct creds *creds,
    const struct stun_msg *m, struct auth_result *r);

/* Checks m's long-term credentials in RFC 8489 §9.2.4's order and fills r. */
void auth_check(const struct turn_config *cfg, const struct creds *creds,
    const struct turn_5tuple *t, const struct stun_msg *m, uint64_t now_unix,
    struct auth_result *r);
/*
 * auth_check for a 5-tuple whose allocation was made with an access token
 * (sess, NULL or keylen 0 for none): a request without ACCESS-TOKEN must then
 * verify with the session's mac_key before the token's end (RFC 7635 §7).
 */
void auth_check_session(const struct turn_config *cfg, const struct creds *creds,
    const struct turn_5tuple *t, const struct stun_msg *m, uint64_t now_unix,
    const struct auth_session *sess, struct auth_result *r);

/*
 * Adds REALM, a fresh NONCE, (with cfg->sha256) PASSWORD-ALGORITHMS and (with
 * cfg->oauth, RFC 7635 §4) THIRD-PARTY-AUTHORIZATION to a 401 or 438.
 */
int auth_build_challenge(struct stun_build *b, const struct turn_config *cfg,
    const struct turn_5tuple *t, uint64_t now_unix);
/* The same with REALM realm (a request's auth_result.realm) instead of cfg->realm. */
int auth_build_challenge_realm(struct stun_build *b, const struct turn_config *cfg,
    const char *realm, size_t realmlen, const struct turn_5tuple *t, uint64_t now_unix);

#endif
