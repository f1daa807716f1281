/* Long-term credential checks with stateless nonces (RFC 8489 §9.2). */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "turnpike/auth.h"
#include "turnpike/base64.h"
#include "turnpike/buf.h"
#include "turnpike/oauth.h"

/*
 * The nonce cookie with the STUN Security Features (RFC 8489 §9.2, §18.1): 24
 * bits in 4 base64 characters. Errata 6290: the bits are numbered from the
 * least significant one, so "Password algorithms" (bit 0) is 0x000001, "AAAB";
 * RFC 8489 B.1's "AAAC" is bit 1, "Username anonymity", offered with the
 * userhash option ("AAAD": both).
 */
#define AUTH_FEATURE_PWALGS 0x000001u
#define AUTH_FEATURE_ANONYMITY 0x000002u
static const char auth_cookie[] = AUTH_COOKIE "AAAB";
static const char auth_cookie_anon[] = AUTH_COOKIE "AAAD";

/* PASSWORD-ALGORITHMS we offer (RFC 8489 §14.11): SHA-256 preferred, then MD5. */
static const uint8_t auth_offered[] = {0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
#define AUTH_ALG_ENTRY_LEN 4

/*
 * A nonce is the cookie and 16 base64 characters of 12 bytes: the expiry (unix
 * seconds, 32 bits) and 8 bytes of MAC. Short, so that a 401 stays small
 * (amplification); 64 bits of MAC are plenty for a value that lives minutes.
 */
#define AUTH_NONCE_MAC_LEN 8
#define AUTH_NONCE_RAW_LEN (4 + AUTH_NONCE_MAC_LEN)
#define AUTH_NONCE_B64_LEN (AUTH_NONCE_RAW_LEN / 3 * 4)

static void
auth_wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n-- > 0)
		*v++ = 0;
}

/* HMAC-SHA256(nonce_key, prefix || expiry || transport || family || client IP), truncated. */
static int
auth_nonce_mac(const struct turn_config *cfg, const struct turn_5tuple *t, const uint8_t *prefix,
    size_t prefixlen, uint32_t expiry, uint8_t out[AUTH_NONCE_MAC_LEN])
{
	uint8_t in[AUTH_COOKIE_LEN + 4 + 2 + 16], mac[INTEGRITY_SHA256_LEN];
	const struct sockaddr *sa = (const struct sockaddr *)&t->client;
	struct wbuf w;

	wbuf_init(&w, in, sizeof in);
	wbuf_put_bytes(&w, prefix, prefixlen);
	wbuf_put_u32(&w, (uint32_t)expiry);
	wbuf_put_u8(&w, t->transport);
	wbuf_put_u8(&w, (uint8_t)sa->sa_family);
	if (sa->sa_family == AF_INET)
		wbuf_put_bytes(&w, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		wbuf_put_bytes(&w, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	if (w.overflow ||
	    (cfg->nonce_mac != NULL ? integrity_key_hmac(cfg->nonce_mac, in, w.len, mac)
				    : integrity_hmac(true, cfg->nonce_key, sizeof cfg->nonce_key,
					  in, w.len, mac)) == -1)
		return -1;
	memcpy(out, mac, AUTH_NONCE_MAC_LEN);
	return 0;
}

size_t
auth_nonce_make(const struct turn_config *cfg, const struct turn_5tuple *t, uint64_t now_unix,
    char out[AUTH_NONCE_MAX])
{
	size_t prefixlen = cfg->sha256 || cfg->userhash ? AUTH_COOKIE_LEN : 0;
	const char *cookie = cfg->userhash ? auth_cookie_anon : auth_cookie;
	uint8_t raw[AUTH_NONCE_RAW_LEN];
	uint32_t expiry = (uint32_t)(now_unix + cfg->stale_nonce);

	memcpy(out, cookie, prefixlen);
	buf_store_u32(raw, expiry);
	if (auth_nonce_mac(cfg, t, (const uint8_t *)cookie, prefixlen, expiry, raw + 4) == -1)
		memset(raw + 4, 0, AUTH_NONCE_MAC_LEN); /* never verifies: the client gets 438 */
	/* 12 bytes: 16 characters without padding, and the NUL (fits AUTH_NONCE_MAX). */
	(void)base64_encode(raw, sizeof raw, out + prefixlen, AUTH_NONCE_MAX - prefixlen);
	return prefixlen + AUTH_NONCE_B64_LEN;
}

bool
auth_nonce_valid(const struct turn_config *cfg, const struct turn_5tuple *t, const uint8_t *nonce,
    size_t len, uint64_t now_unix)
{
	uint8_t raw[AUTH_NONCE_RAW_LEN], mac[AUTH_NONCE_MAC_LEN];
	size_t prefixlen, n;
	uint32_t expiry;

	if (len != AUTH_NONCE_B64_LEN && len != AUTH_NONCE_B64_LEN + AUTH_COOKIE_LEN)
		return false;
	prefixlen = len - AUTH_NONCE_B64_LEN;
	if (prefixlen != 0 && memcmp(nonce, AUTH_COOKIE, strlen(AUTH_COOKIE)) != 0)
		return false;
	/* '=' decodes to fewer than 12 bytes: refused, as is any other non-alphabet byte. */
	if (base64_decode((const char *)nonce + prefixlen, AUTH_NONCE_B64_LEN, raw, sizeof raw,
		&n) == -1 ||
	    n != sizeof raw)
		return false;
	expiry = buf_load_u32(raw);
	if (auth_nonce_mac(cfg, t, nonce, prefixlen, expiry, mac) == -1 ||
	    !integrity_equal(mac, raw + 4, sizeof mac))
		return false;
	return now_unix < expiry;
}

/* The security feature bits of a nonce cookie; 0 without a cookie. */
static uint32_t
auth_nonce_features(const uint8_t *nonce, size_t len)
{
	size_t cookie = strlen(AUTH_COOKIE), n;
	uint8_t bits[3];

	/* 4 characters, 24 bits; with '=' (fewer bytes) or outside the alphabet: none. */
	if (len < AUTH_COOKIE_LEN || memcmp(nonce, AUTH_COOKIE, cookie) != 0 ||
	    base64_decode((const char *)nonce + cookie, AUTH_COOKIE_LEN - cookie, bits, sizeof bits,
		&n) == -1 ||
	    n != sizeof bits)
		return 0;
	return (uint32_t)bits[0] << 16 | (uint32_t)bits[1] << 8 | bits[2];
}

bool
auth_nonce_has_pwalgs(const uint8_t *nonce, size_t len)
{
	return (auth_nonce_features(nonce, len) & AUTH_FEATURE_PWALGS) != 0;
}

bool
auth_nonce_has_anonymity(const uint8_t *nonce, size_t len)
{
	return (auth_nonce_features(nonce, len) & AUTH_FEATURE_ANONYMITY) != 0;
}

/*
 * RFC 8489 §9.2.4 bid-down checks. Neither PASSWORD-ALGORITHMS nor
 * PASSWORD-ALGORITHM: MD5 (RFC 5389 clients). Otherwise both must be there, the
 * list must be what we offered and the choice one of its entries. A nonce
 * without the cookie offered nothing, so either attribute is a 400 there.
 */
static int
auth_pick_alg(const struct stun_msg *m, const struct stun_attr *nonce, uint16_t *alg)
{
	const struct stun_attr *algs = stun_find(m, STUN_ATTR_PASSWORD_ALGORITHMS);
	const struct stun_attr *one = stun_find(m, STUN_ATTR_PASSWORD_ALGORITHM);
	const uint8_t *v;
	size_t i;

	*alg = STUN_PWALG_MD5;
	if (algs == NULL && one == NULL)
		return 0;
	if (!auth_nonce_has_pwalgs(stun_attr_value(m, nonce), nonce->len))
		return -1;
	if (algs == NULL || one == NULL || algs->len != sizeof auth_offered ||
	    memcmp(stun_attr_value(m, algs), auth_offered, sizeof auth_offered) != 0 ||
	    one->len != AUTH_ALG_ENTRY_LEN)
		return -1;
	v = stun_attr_value(m, one);
	for (i = 0; i < sizeof auth_offered; i += AUTH_ALG_ENTRY_LEN) {
		if (memcmp(v, auth_offered + i, AUTH_ALG_ENTRY_LEN) == 0) {
			*alg = buf_load_u16(v);
			return 0;
		}
	}
	return -1;
}

/* Tries every candidate key (REST secrets during rotation); each compare is constant time. */
static bool
auth_verify_keys(const struct stun_msg *m, uint16_t alg, const struct creds_result *cr,
    struct auth_result *r)
{
	bool sha = m->mi_sha256 >= 0;
	const uint8_t *key;
	size_t i, keylen;

	for (i = 0; i < cr->nkeys && i < CREDS_MAX_KEYS; i++) {
		if (alg == STUN_PWALG_SHA256 && !cr->keys[i].has_sha256)
			continue; /* 0xKEY users: MD5 only, answered 401 like a bad password */
		key = alg == STUN_PWALG_SHA256 ? cr->keys[i].sha256 : cr->keys[i].md5;
		keylen =
		    alg == STUN_PWALG_SHA256 ? INTEGRITY_SHA256_KEY_LEN : INTEGRITY_MD5_KEY_LEN;
		if (integrity_verify(m, sha, key, keylen)) {
			memcpy(r->key, key, keylen);
			r->keylen = keylen;
			r->mac_sha256 = sha;
			return true;
		}
	}
	return false;
}

static void
auth_fail(struct auth_result *r, int error, bool challenge)
{
	r->error = error;
	r->challenge = challenge;
}

/* True when the request's REALM is the realm it is answered in (r->realm). */
static bool
auth_realm_ours(const struct stun_msg *m, const struct stun_attr *realm,
    const struct auth_result *r)
{
	return realm->len == r->realmlen &&
	    memcmp(stun_attr_value(m, realm), r->realm, realm->len) == 0;
}

/* The user's keys in the request's realm and the MAC. */
static void
auth_check_keys(const struct creds *creds, const struct stun_msg *m, uint16_t alg,
    uint64_t now_unix, struct auth_result *r)
{
	struct creds_result cr;
	int rc;

	/*
	 * CREDS_PENDING: the store thread is fetching the user. 438 Stale Nonce with a
	 * fresh nonce makes the client send the same credentials again at once (RFC
	 * 8489 §9.2.5); a second 401 would end it (browsers give up on a 401 after
	 * their credentials). A user the store does not hold is then a 401.
	 */
	rc = creds_lookup(creds, r->user, r->userlen, r->realm, r->realmlen, now_unix, &cr);
	if (rc == CREDS_PENDING)
		auth_fail(r, 438, true);
	else if (rc != CREDS_FOUND || !auth_verify_keys(m, alg, &cr, r))
		auth_fail(r, 401, true);
	auth_wipe(&cr, sizeof cr);
}

void
auth_request_realm(const struct turn_config *cfg, const struct creds *creds,
    const struct stun_msg *m, struct auth_result *r)
{
	const struct stun_attr *a;
	size_t i;

	/* As coturn: the first of the ORIGIN attributes that the store maps. */
	for (i = 0; i < m->nattrs; i++) {
		a = &m->attrs[i];
		if (a->type == STUN_ATTR_ORIGIN &&
		    creds_origin_realm(creds, (const char *)stun_attr_value(m, a), a->len,
			r->realmbuf, &r->realmlen) == CREDS_FOUND &&
		    r->realmlen < sizeof r->realmbuf) {
			r->realmbuf[r->realmlen] = '\0';
			r->realm = r->realmbuf;
			return;
		}
	}
	r->realm = cfg->realm != NULL ? cfg->realm : "";
	r->realmlen = strlen(r->realm);
}

int
auth_userhash_name(const struct creds *creds, const uint8_t hash[STUN_USERHASH_LEN],
    const char *realm, size_t realmlen, char name[CREDS_NAME_MAX], size_t *namelen)
{
	static const char digits[] = "0123456789abcdef";
	static const char prefix[] = "userhash:";
	size_t i, n = sizeof prefix - 1;
	int rc;

	if ((rc = creds_find_hash(creds, hash, realm, realmlen, name, namelen)) == CREDS_FOUND)
		return rc;
	memcpy(name, prefix, n);
	for (i = 0; i < STUN_USERHASH_LEN; i++) {
		name[n++] = digits[hash[i] >> 4];
		name[n++] = digits[hash[i] & 15];
	}
	name[n] = '\0';
	*namelen = n;
	return rc;
}

/*
 * RFC 8489 §9.2.4 with §14.4: a request naming its user by USERHASH (no
 * USERNAME) is looked up by hash in the realm it names; only when the nonce
 * offered username anonymity (the userhash option), else 400 like a request
 * without USERNAME. 0, or -1 with r failed.
 */
static int
auth_resolve_userhash(const struct turn_config *cfg, const struct creds *creds,
    const struct stun_msg *m, const struct stun_attr *uh, const struct stun_attr *nonce,
    struct auth_result *r)
{
	uint8_t hash[STUN_USERHASH_LEN];
	int rc;

	if (!cfg->userhash || !auth_nonce_has_anonymity(stun_attr_value(m, nonce), nonce->len) ||
	    stun_get_userhash(m, uh, hash) == -1) {
		auth_fail(r, 400, false);
		return -1;
	}
	rc = auth_userhash_name(creds, hash, r->realm, r->realmlen, r->userbuf, &r->userlen);
	r->user = r->userbuf; /* else the label: the failure counts against this hash */
	if (rc == CREDS_PENDING) {
		/* The store thread is looking the hash up: the retry finds it (as for names). */
		auth_fail(r, 438, true);
		r->hash_pending = true;
		return -1;
	}
	if (rc != CREDS_FOUND) {
		auth_fail(r, 401, true);
		return -1;
	}
	return 0;
}

/* RFC 7635's server name: the option, else the realm. */
static const char *
auth_server_name(const struct turn_config *cfg)
{
	if (cfg->server_name != NULL && *cfg->server_name != '\0')
		return cfg->server_name;
	return cfg->realm != NULL ? cfg->realm : "";
}

/*
 * The mac_key is the HMAC key (RFC 7635 §6.2). coturn's clients key
 * HMAC-SHA1 with its first 16 bytes (their long-term key size), so that is
 * tried second; the answer uses whichever verified. 0: neither did.
 */
static size_t
auth_oauth_keylen(const struct stun_msg *m, bool sha, const struct oauth_token *tok)
{
	if (integrity_verify(m, sha, tok->mac_key, tok->mac_key_len))
		return tok->mac_key_len;
	if (integrity_verify(m, sha, tok->mac_key, INTEGRITY_MD5_KEY_LEN))
		return INTEGRITY_MD5_KEY_LEN;
	return 0;
}

/* The session's realm becomes realm (len < CREDS_REALM_MAX), copied into r. */
static void
auth_bind_realm(struct auth_result *r, const char *realm, size_t len)
{
	if (len == 0 || len >= sizeof r->realmbuf)
		return;
	memmove(r->realmbuf, realm, len);
	r->realmbuf[len] = '\0';
	r->realm = r->realmbuf;
	r->realmlen = len;
}

/*
 * RFC 7635 §6.2 and §8: USERNAME is the kid of the AS-RS key; the token must
 * open with that key and this server's name, be fresh, and its mac_key must
 * verify the request's integrity. Every failure is a 401 with a new challenge.
 * As coturn: a key with a realm (oauth_key.realm) binds the session to it, so
 * that realm's options (quotas, max-bps) apply.
 */
static void
auth_check_oauth(const struct turn_config *cfg, const struct creds *creds, const struct stun_msg *m,
    const struct stun_attr *token, uint64_t now_unix, struct auth_result *r)
{
	struct oauth_token tok;
	struct oauth_key k;
	const char *errstr;
	bool sha = m->mi_sha256 >= 0;
	uint64_t expires;
	size_t keylen;

	if (creds_oauth_key(creds, r->user, r->userlen, &k) != CREDS_FOUND ||
	    !oauth_key_valid(&k, now_unix) ||
	    oauth_token_open(&k, auth_server_name(cfg), stun_attr_value(m, token), token->len, &tok,
		&errstr) == -1 ||
	    !oauth_token_fresh(&tok, now_unix, &expires) ||
	    (keylen = auth_oauth_keylen(m, sha, &tok)) == 0) {
		auth_fail(r, 401, true);
	} else {
		memcpy(r->key, tok.mac_key, keylen);
		r->keylen = keylen;
		r->mac_sha256 = sha;
		r->oauth = true;
		r->expires_unix = expires;
		auth_bind_realm(r, k.realm, strnlen(k.realm, sizeof k.realm));
	}
	auth_wipe(&k, sizeof k);
	auth_wipe(&tok, sizeof tok);
}

/* RFC 7635 §7: a request without a token on a token's allocation, keyed by its mac_key. */
static void
auth_check_sess(const struct stun_msg *m, const struct auth_session *sess, uint64_t now_unix,
    struct auth_result *r)
{
	bool sha = m->mi_sha256 >= 0;

	if (now_unix >= sess->expires_unix + OAUTH_TIME_SKEW ||
	    !integrity_verify(m, sha, sess->key, sess->keylen)) {
		auth_fail(r, 401, true);
		return;
	}
	memcpy(r->key, sess->key, sess->keylen);
	r->keylen = sess->keylen;
	r->mac_sha256 = sha;
	r->oauth = true;
	r->expires_unix = sess->expires_unix;
	auth_bind_realm(r, sess->realm, sess->realmlen);
}

void
auth_check(const struct turn_config *cfg, const struct creds *creds, const struct turn_5tuple *t,
    const struct stun_msg *m, uint64_t now_unix, struct auth_result *r)
{
	auth_check_session(cfg, creds, t, m, now_unix, NULL, r);
}

void
auth_check_session(const struct turn_config *cfg, const struct creds *creds,
    const struct turn_5tuple *t, const struct stun_msg *m, uint64_t now_unix,
    const struct auth_session *sess, struct auth_result *r)
{
	const struct stun_attr *user, *realm, *nonce, *token, *uh;
	uint16_t alg;

	memset(r, 0, sizeof *r);
	auth_request_realm(cfg, creds, m, r);
	if (m->mi < 0 && m->mi_sha256 < 0) {
		auth_fail(r, 401, true);
		return;
	}
	r->credentials = true;
	user = stun_find(m, STUN_ATTR_USERNAME);
	realm = stun_find(m, STUN_ATTR_REALM);
	nonce = stun_find(m, STUN_ATTR_NONCE);
	uh = user == NULL ? stun_find(m, STUN_ATTR_USERHASH) : NULL;
	if ((user == NULL && uh == NULL) || realm == NULL || nonce == NULL) {
		auth_fail(r, 400, false);
		return;
	}
	if (auth_pick_alg(m, nonce, &alg) == -1) {
		auth_fail(r, 400, false);
		return;
	}
	if (!auth_nonce_valid(cfg, t, stun_attr_value(m, nonce), nonce->len, now_unix)) {
		auth_fail(r, 438, true);
		return;
	}
	if (user != NULL) {
		r->user = (const char *)stun_attr_value(m, user);
		r->userlen = user->len;
	} else if (auth_resolve_userhash(cfg, creds, m, uh, nonce, r) != 0)
		return;
	/* Credentials of another realm than the ORIGIN's (or the server's) never verify. */
	if (!auth_realm_ours(m, realm, r)) {
		auth_fail(r, 401, true);
		return;
	}
	token = cfg->oauth ? stun_find(m, STUN_ATTR_ACCESS_TOKEN) : NULL;
	if (token != NULL)
		auth_check_oauth(cfg, creds, m, token, now_unix, r);
	else if (sess != NULL && sess->keylen > 0)
		auth_check_sess(m, sess, now_unix, r);
	else
		auth_check_keys(creds, m, alg, now_unix, r);
}

int
auth_build_challenge(struct stun_build *b, const struct turn_config *cfg,
    const struct turn_5tuple *t, uint64_t now_unix)
{
	const char *realm = cfg->realm != NULL ? cfg->realm : "";

	return auth_build_challenge_realm(b, cfg, realm, strlen(realm), t, now_unix);
}

int
auth_build_challenge_realm(struct stun_build *b, const struct turn_config *cfg, const char *realm,
    size_t realmlen, const struct turn_5tuple *t, uint64_t now_unix)
{
	char nonce[AUTH_NONCE_MAX];
	size_t len = auth_nonce_make(cfg, t, now_unix, nonce);

	stun_build_attr(b, STUN_ATTR_REALM, realm, realmlen);
	stun_build_attr(b, STUN_ATTR_NONCE, nonce, len);
	if (cfg->sha256)
		stun_build_attr(b, STUN_ATTR_PASSWORD_ALGORITHMS, auth_offered,
		    sizeof auth_offered);
	if (cfg->oauth)
		stun_build_string(b, STUN_ATTR_THIRD_PARTY_AUTHORIZATION, auth_server_name(cfg));
	return b->w.overflow ? -1 : 0;
}
