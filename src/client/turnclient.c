/* A blocking TURN client: long-term credentials, requests, data both ways. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/buf.h"
#include "turnpike/cause.h"
#include "turnpike/chandata.h"
#include "turnpike/credkey.h"
#include "turnpike/integrity.h"
#include "turnpike/netio.h"
#include "turnpike/random.h"
#include "turnpike/stun_build.h"
#include "turnpike/turnclient.h"

/* RFC 8656 §14.7: REQUESTED-TRANSPORT UDP. RFC 8656 §14.1: address family IPv6. */
#define TURNCLIENT_PROTO_UDP 17
#define TURNCLIENT_FAMILY_V6 0x02
/* Room for the largest message we send: a Send indication or ChannelData of 64 KB. */
#define TURNCLIENT_SBUF (STUN_HEADER_LEN + 65536)
/* 401 answers retried per request: the first challenge, then one new nonce. */
#define TURNCLIENT_MAX_401 2
/* Room for a request (credentials and all) and for a kept answer to one. */
#define TURNCLIENT_MSG_MAX 4096
/* PASSWORD-ALGORITHMS entry: algorithm and parameter length (RFC 8489 §14.11). */
#define TURNCLIENT_ALG_ENTRY_LEN 4

struct turnclient {
	struct turnclient_config cfg;
	struct turnconn *conn;
	struct turnclient_auth auth;
	struct turnclient_resp challenge; /* the last 401 or 438 */
	bool challenged;
	unsigned int stale; /* 438 answers to the last request */
	uint16_t method;    /* of the last request, kept in req for turnclient_repeat */
	uint8_t tid[STUN_TID_LEN];
	size_t reqlen, anslen;
	uint8_t req[TURNCLIENT_MSG_MAX];
	uint8_t ans[TURNCLIENT_MSG_MAX]; /* its answer, anslen 0 when none fit */
	uint8_t sbuf[TURNCLIENT_SBUF];
};

static int
turnclient_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int
turnclient_auth_init(struct turnclient_auth *a, const char *user, const char *password)
{
	memset(a, 0, sizeof(*a));
	a->pwalg = STUN_PWALG_MD5;
	if (turnclient_copy(a->user, sizeof(a->user), user) == -1 ||
	    turnclient_copy(a->password, sizeof(a->password), password) == -1)
		return -1;
	return 0;
}

/* The next entry of a PASSWORD-ALGORITHMS value; -1 when malformed. */
static int
turnclient_algs_next(struct buf *b, uint16_t *alg)
{
	uint16_t plen;

	if (buf_get_u16(b, alg) == -1 || buf_get_u16(b, &plen) == -1 ||
	    buf_skip(b, ((size_t)plen + 3) & ~(size_t)3) == -1)
		return -1;
	return 0;
}

bool
turnclient_algs_has(const uint8_t *algs, size_t len, uint16_t alg)
{
	struct buf b;
	uint16_t v;
	bool found = false;

	buf_init(&b, algs, len);
	while (buf_left(&b) > 0) {
		if (turnclient_algs_next(&b, &v) == -1)
			return false;
		found |= v == alg;
	}
	return found;
}

int
turnclient_algs_format(const uint8_t *algs, size_t len, char *out, size_t cap)
{
	struct buf b;
	size_t used = 0;
	uint16_t v;
	int n;

	buf_init(&b, algs, len);
	if (cap == 0)
		return -1;
	out[0] = '\0';
	while (buf_left(&b) > 0) {
		if (turnclient_algs_next(&b, &v) == -1)
			return -1;
		if (v == STUN_PWALG_MD5 || v == STUN_PWALG_SHA256)
			n = snprintf(out + used, cap - used, "%s%s", used > 0 ? "," : "",
			    v == STUN_PWALG_MD5 ? "md5" : "sha256");
		else
			n = snprintf(out + used, cap - used, "%s0x%04x", used > 0 ? "," : "", v);
		if (n < 0 || (size_t)n >= cap - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

int
turnclient_rest_password(const char *secret, const char *username,
    char password[TURNCLIENT_REST_PASS_LEN])
{
	return credkey_rest_password(false, secret, strlen(secret), username, strlen(username),
	    password, TURNCLIENT_REST_PASS_LEN);
}

int
turnclient_rest_credentials(const char *secret, const char *user, uint64_t expiry, char *username,
    size_t usercap, char password[TURNCLIENT_REST_PASS_LEN])
{
	int n;

	n = snprintf(username, usercap, "%llu:%s", (unsigned long long)expiry, user);
	if (n < 0 || (size_t)n >= usercap)
		return -1;
	return turnclient_rest_password(secret, username, password);
}

/* The attributes particular to each request. */
static int
turnclient_build_attrs(struct stun_build *b, const struct turnclient_req *r)
{
	int rc = 0;

	if (r->method == STUN_ALLOCATE) {
		rc |= stun_build_u8(b, STUN_ATTR_REQUESTED_TRANSPORT, TURNCLIENT_PROTO_UDP);
		if (r->family == AF_INET6)
			rc |= stun_build_u8(b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
			    TURNCLIENT_FAMILY_V6);
	}
	if (r->has_lifetime)
		rc |= stun_build_u32(b, STUN_ATTR_LIFETIME, r->lifetime);
	if (r->channel != 0)
		rc |= stun_build_u16(b, STUN_ATTR_CHANNEL_NUMBER, r->channel);
	if (r->peer != NULL)
		rc |= stun_build_xor_addr(b, STUN_ATTR_XOR_PEER_ADDRESS, r->peer);
	return rc == 0 ? 0 : -1;
}

/* RFC 8489 §9.2.4: the credentials, the algorithm negotiation and the integrity. */
static int
turnclient_build_creds(struct stun_build *b, const struct turnclient_auth *a)
{
	uint8_t one[TURNCLIENT_ALG_ENTRY_LEN];
	int rc = 0;

	rc |= stun_build_string(b, STUN_ATTR_USERNAME, a->user);
	rc |= stun_build_string(b, STUN_ATTR_REALM, a->realm);
	rc |= stun_build_attr(b, STUN_ATTR_NONCE, a->nonce, a->noncelen);
	if (a->algslen > 0) {
		buf_store_u16(one, a->pwalg);
		buf_store_u16(one + 2, 0); /* no parameters */
		rc |= stun_build_attr(b, STUN_ATTR_PASSWORD_ALGORITHMS, a->algs, a->algslen);
		rc |= stun_build_attr(b, STUN_ATTR_PASSWORD_ALGORITHM, one, sizeof(one));
	}
	if (a->pwalg == STUN_PWALG_SHA256)
		rc |= stun_build_integrity_sha256(b, a->key, a->keylen);
	else
		rc |= stun_build_integrity(b, a->key, a->keylen);
	return rc == 0 ? 0 : -1;
}

int
turnclient_build_request(const struct turnclient_auth *a, const struct turnclient_req *r,
    const uint8_t tid[STUN_TID_LEN], uint8_t *out, size_t cap, size_t *len)
{
	struct stun_build b;
	int rc = 0;

	if (stun_build_init(&b, out, cap, r->method, STUN_REQUEST, tid) == -1 ||
	    turnclient_build_attrs(&b, r) == -1)
		return -1;
	if (a->have_key)
		rc |= turnclient_build_creds(&b, a);
	rc |= stun_build_fingerprint(&b);
	if (rc != 0 || stun_build_finish(&b, len) == -1)
		return -1;
	return 0;
}

int
turnclient_build_send(const uint8_t tid[STUN_TID_LEN], const struct sockaddr *peer,
    const void *data, size_t datalen, uint8_t *out, size_t cap, size_t *len)
{
	struct stun_build b;

	if (stun_build_init(&b, out, cap, STUN_SEND, STUN_INDICATION, tid) == -1 ||
	    stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer) == -1 ||
	    stun_build_attr(&b, STUN_ATTR_DATA, data, datalen) == -1 ||
	    stun_build_finish(&b, len) == -1)
		return -1;
	return 0;
}

/* ERROR-CODE, REALM and NONCE of an error response. */
static int
turnclient_check_error(const struct stun_msg *m, struct turnclient_resp *res, char **cause)
{
	const struct stun_attr *a;
	const uint8_t *reason;
	size_t rlen;

	if ((a = stun_find(m, STUN_ATTR_ERROR_CODE)) == NULL ||
	    stun_get_error(m, a, &res->code, &reason, &rlen) == -1)
		return cause_fail(cause, "error response without a valid ERROR-CODE");
	if (rlen >= sizeof(res->reason))
		rlen = sizeof(res->reason) - 1;
	memcpy(res->reason, reason, rlen);
	res->reason[rlen] = '\0';
	if ((a = stun_find(m, STUN_ATTR_REALM)) != NULL) {
		if (a->len > TURNCLIENT_REALM_MAX)
			return cause_fail(cause, "REALM of %u bytes", a->len);
		memcpy(res->realm, stun_attr_value(m, a), a->len);
		res->realm[a->len] = '\0';
		res->has_realm = true;
	}
	if ((a = stun_find(m, STUN_ATTR_NONCE)) != NULL) {
		if (a->len > TURNCLIENT_NONCE_MAX || a->len == 0)
			return cause_fail(cause, "NONCE of %u bytes", a->len);
		memcpy(res->nonce, stun_attr_value(m, a), a->len);
		res->noncelen = a->len;
	}
	if ((a = stun_find(m, STUN_ATTR_PASSWORD_ALGORITHMS)) != NULL) {
		if (a->len > TURNCLIENT_ALGS_MAX)
			return cause_fail(cause, "PASSWORD-ALGORITHMS of %u bytes", a->len);
		memcpy(res->algs, stun_attr_value(m, a), a->len);
		res->algslen = a->len;
		res->has_algs = true;
	}
	return 0;
}

/* The addresses and lifetime of a success response. */
static int
turnclient_check_success(const struct stun_msg *m, struct turnclient_resp *res, char **cause)
{
	const struct stun_attr *a;

	if ((a = stun_find(m, STUN_ATTR_XOR_RELAYED_ADDRESS)) != NULL) {
		if (stun_get_xor_addr(m, a, &res->relayed) == -1)
			return cause_fail(cause, "malformed XOR-RELAYED-ADDRESS");
		res->has_relayed = true;
	}
	if ((a = stun_find(m, STUN_ATTR_XOR_MAPPED_ADDRESS)) != NULL) {
		if (stun_get_xor_addr(m, a, &res->mapped) == -1)
			return cause_fail(cause, "malformed XOR-MAPPED-ADDRESS");
		res->has_mapped = true;
	}
	if ((a = stun_find(m, STUN_ATTR_LIFETIME)) != NULL) {
		if (stun_get_u32(m, a, &res->lifetime) == -1)
			return cause_fail(cause, "malformed LIFETIME");
		res->has_lifetime = true;
	}
	return 0;
}

/*
 * RFC 8489 §9.2.5: answers to requests with credentials are signed with the
 * key, by the integrity the request used; challenges (401, 438) are not.
 */
static int
turnclient_check_integrity(const struct turnclient_auth *a, const struct stun_msg *m,
    struct turnclient_resp *res, char **cause)
{
	bool sha = a->pwalg == STUN_PWALG_SHA256;
	bool challenge = m->cls == STUN_ERROR && (res->code == 401 || res->code == 438);

	if (!a->have_key || challenge || (m->cls == STUN_ERROR && m->mi < 0 && m->mi_sha256 < 0))
		return 0;
	if (!integrity_verify(m, sha, a->key, a->keylen))
		return cause_fail(cause, "%s response without a valid MESSAGE-INTEGRITY%s",
		    m->cls == STUN_SUCCESS ? "success" : "error", sha ? "-SHA256" : "");
	if (sha)
		res->mi_sha256 = true;
	else
		res->mi = true;
	return 0;
}

/* Class, method, fingerprint and integrity of our answer. */
static int
turnclient_check_msg(const struct turnclient_auth *a, uint16_t method, const struct stun_msg *m,
    struct turnclient_resp *res, char **cause)
{
	if (m->fingerprint >= 0 && !integrity_fingerprint_ok(m))
		return cause_fail(cause, "response FINGERPRINT does not match");
	if (m->cls != STUN_SUCCESS && m->cls != STUN_ERROR)
		return cause_fail(cause, "answer of class %u is not a response", m->cls);
	if (m->method != method)
		return cause_fail(cause, "answer is a %s, not %s", stun_method_name(m->method),
		    stun_method_name(method));
	if (m->nunknown > 0)
		return cause_fail(cause, "answer has unknown required attribute 0x%04x",
		    m->unknown[0]);
	res->cls = m->cls;
	if (m->cls == STUN_ERROR && turnclient_check_error(m, res, cause) == -1)
		return -1;
	if (m->cls == STUN_SUCCESS && turnclient_check_success(m, res, cause) == -1)
		return -1;
	return turnclient_check_integrity(a, m, res, cause);
}

int
turnclient_check_response(const struct turnclient_auth *a, const uint8_t tid[STUN_TID_LEN],
    uint16_t method, const uint8_t *p, size_t len, struct turnclient_resp *res, char **cause)
{
	struct stun_msg m;
	const char *errstr;

	memset(res, 0, sizeof(*res));
	if (len < STUN_HEADER_LEN || memcmp(p + 8, tid, STUN_TID_LEN) != 0 || !stun_is_stun(p, len))
		return TURNCLIENT_CHECK_OTHER;
	if (stun_decode(&m, p, len, &errstr) != 0) {
		cause_fail(cause, "malformed answer: %s", errstr);
		return TURNCLIENT_CHECK_BAD;
	}
	if (m.len != len) {
		cause_fail(cause, "%zu bytes after the answer", len - m.len);
		return TURNCLIENT_CHECK_BAD;
	}
	if (turnclient_check_msg(a, method, &m, res, cause) == -1)
		return TURNCLIENT_CHECK_BAD;
	return TURNCLIENT_CHECK_OK;
}

static int
turnclient_make_key(struct turnclient_auth *a, char **cause)
{
	if (integrity_key_long_term(a->pwalg, a->user, strlen(a->user), a->realm, strlen(a->realm),
		a->password, strlen(a->password), a->key, &a->keylen) == -1)
		return cause_fail(cause, "the password is refused by OpaqueString preparation");
	a->have_key = true;
	return 0;
}

/* RFC 8489 §9.2.1: the nonce cookie says the server offers password algorithms. */
static bool
turnclient_has_cookie(const uint8_t *nonce, size_t len)
{
	size_t n = strlen(TURNCLIENT_NONCE_COOKIE);

	return len >= n + 4 && memcmp(nonce, TURNCLIENT_NONCE_COOKIE, n) == 0;
}

/* RFC 8489 §9.2.4: the algorithm attributes and key algorithm after a challenge. */
static int
turnclient_pick_alg(struct turnclient_auth *a, const struct turnclient_resp *res, char **cause)
{
	static const uint8_t md5_only[TURNCLIENT_ALG_ENTRY_LEN] = {0x00, 0x01, 0x00, 0x00};

	a->pwalg = STUN_PWALG_MD5;
	a->algslen = 0;
	if (a->mode == TURNCLIENT_PW_MD5)
		return 0;
	if (a->mode == TURNCLIENT_PW_BIDDOWN) {
		memcpy(a->algs, md5_only, sizeof(md5_only));
		a->algslen = sizeof(md5_only);
		return 0;
	}
	if (!turnclient_has_cookie(res->nonce, res->noncelen) || !res->has_algs ||
	    !turnclient_algs_has(res->algs, res->algslen, STUN_PWALG_SHA256))
		return cause_fail(cause,
		    "the server does not offer SHA-256 "
		    "(RFC 8489 nonce cookie and PASSWORD-ALGORITHMS)");
	memcpy(a->algs, res->algs, res->algslen);
	a->algslen = res->algslen;
	a->pwalg = STUN_PWALG_SHA256;
	return 0;
}

int
turnclient_auth_update(struct turnclient_auth *a, const struct turnclient_resp *res, char **cause)
{
	bool same_nonce;

	if (res->code != 401 && res->code != 438)
		return 0;
	if (res->noncelen == 0 || (res->code == 401 && !res->has_realm))
		return cause_fail(cause, "%d without %s", res->code,
		    res->code == 401 ? "REALM and NONCE" : "NONCE");
	same_nonce = res->noncelen == a->noncelen && memcmp(res->nonce, a->nonce, a->noncelen) == 0;
	/* RFC 8489 §9.2.5: a 401 to what carried this realm and nonce means bad credentials. */
	if (res->code == 401 && a->have_key && same_nonce && strcmp(res->realm, a->realm) == 0)
		return 0;
	if (res->has_realm)
		memcpy(a->realm, res->realm, strlen(res->realm) + 1);
	else if (a->realm[0] == '\0')
		return cause_fail(cause, "438 before any REALM");
	memcpy(a->nonce, res->nonce, res->noncelen);
	a->noncelen = res->noncelen;
	if (turnclient_pick_alg(a, res, cause) == -1 || turnclient_make_key(a, cause) == -1)
		return -1;
	return 1;
}

int
turnclient_parse_data(const uint8_t *p, size_t len, struct sockaddr_storage *peer,
    const uint8_t **data, size_t *datalen)
{
	const struct stun_attr *a, *d;
	struct stun_msg m;
	const char *errstr;

	if (!stun_is_stun(p, len) || stun_decode(&m, p, len, &errstr) != 0 ||
	    m.method != STUN_DATA || m.cls != STUN_INDICATION)
		return -1;
	if ((a = stun_find(&m, STUN_ATTR_XOR_PEER_ADDRESS)) == NULL ||
	    (d = stun_find(&m, STUN_ATTR_DATA)) == NULL || stun_get_xor_addr(&m, a, peer) == -1)
		return -1;
	*data = stun_attr_value(&m, d);
	*datalen = d->len;
	return 0;
}

void
turnclient_config_defaults(struct turnclient_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->conn.transport = PROBE_UDP;
	cfg->timeout_ms = 5000;
	cfg->rto_ms = 500;
	cfg->max_sends = 7;
}

struct turnclient *
turnclient_create(const struct turnclient_config *cfg, char **cause)
{
	struct turnclient *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cause_fail(cause, "out of memory");
		return NULL;
	}
	c->cfg = *cfg;
	if (turnclient_auth_init(&c->auth, cfg->user, cfg->password) == -1) {
		cause_fail(cause, "user name or password too long");
		free(c);
		return NULL;
	}
	c->auth.mode = cfg->pwmode;
	c->conn = turnconn_open(&cfg->conn, netio_now_ms() + cfg->timeout_ms, cause);
	if (c->conn == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
turnclient_free(struct turnclient *c)
{
	if (c == NULL)
		return;
	turnconn_close(c->conn);
	explicit_bzero(&c->auth, sizeof(c->auth));
	free(c);
}

/* Waits for the answer to tid, retransmitting on UDP (RFC 8489 §6.2.1). */
static int
turnclient_await(struct turnclient *c, const uint8_t *req, size_t reqlen, const uint8_t *tid,
    uint16_t method, struct turnclient_resp *res, char **cause)
{
	uint64_t now = netio_now_ms(), end = now + c->cfg.timeout_ms, next = now, until;
	uint64_t rto = c->cfg.rto_ms;
	unsigned int sends = 0, max = turnconn_is_stream(c->conn) ? 1 : c->cfg.max_sends;
	const uint8_t *p;
	size_t len;
	int rc;

	for (;;) {
		now = netio_now_ms();
		if (sends < max && now >= next) {
			if (turnconn_send(c->conn, req, reqlen, end, cause) == -1)
				return -1;
			sends++;
			next = now + rto;
			rto *= 2;
		}
		if (now >= end)
			return cause_fail(cause, "no answer to %s after %u transmissions",
			    stun_method_name(method), sends);
		until = sends < max && next < end ? next : end;
		if ((rc = turnconn_recv(c->conn, until, &p, &len, cause)) == -1)
			return -1;
		if (rc == 0)
			continue;
		rc = turnclient_check_response(&c->auth, tid, method, p, len, res, cause);
		if (rc == TURNCLIENT_CHECK_OTHER)
			continue;
		c->anslen = len <= sizeof(c->ans) ? len : 0;
		memcpy(c->ans, p, c->anslen);
		return rc == TURNCLIENT_CHECK_OK ? 0 : -1;
	}
}

static int
turnclient_once(struct turnclient *c, const struct turnclient_req *r, struct turnclient_resp *res,
    char **cause)
{
	c->reqlen = c->anslen = 0;
	if (random_bytes(c->tid, sizeof(c->tid)) == -1)
		return cause_fail(cause, "no randomness for a transaction ID");
	if (turnclient_build_request(&c->auth, r, c->tid, c->req, sizeof(c->req), &c->reqlen) == -1)
		return cause_fail(cause, "cannot build the %s request",
		    stun_method_name(r->method));
	c->method = r->method;
	return turnclient_await(c, c->req, c->reqlen, c->tid, r->method, res, cause);
}

int
turnclient_request(struct turnclient *c, const struct turnclient_req *r,
    struct turnclient_resp *res, char **cause)
{
	unsigned int n401 = 0;
	int rc;

	c->stale = 0;
	for (;;) {
		if (turnclient_once(c, r, res, cause) == -1)
			return -1;
		if (res->cls != STUN_ERROR || (res->code == 401 && ++n401 > TURNCLIENT_MAX_401) ||
		    (res->code == 438 && ++c->stale > TURNCLIENT_MAX_STALE))
			return 0;
		if (res->code == 401 || res->code == 438) {
			c->challenge = *res;
			c->challenged = true;
		}
		if ((rc = turnclient_auth_update(&c->auth, res, cause)) == -1)
			return -1;
		if (rc == 0)
			return 0;
	}
}

int
turnclient_repeat(struct turnclient *c, struct turnclient_resp *res, bool *identical, char **cause)
{
	uint8_t first[TURNCLIENT_MSG_MAX];
	size_t firstlen = c->anslen;

	if (c->reqlen == 0 || firstlen == 0)
		return cause_fail(cause, "no answered request to send again");
	memcpy(first, c->ans, firstlen);
	if (turnclient_await(c, c->req, c->reqlen, c->tid, c->method, res, cause) == -1)
		return -1;
	*identical = c->anslen == firstlen && memcmp(c->ans, first, firstlen) == 0;
	return 0;
}

int
turnclient_set_credentials(struct turnclient *c, const char *user, const char *password,
    char **cause)
{
	struct turnclient_auth *a = &c->auth;

	if (turnclient_copy(a->user, sizeof(a->user), user) == -1 ||
	    turnclient_copy(a->password, sizeof(a->password), password) == -1)
		return cause_fail(cause, "user name or password too long");
	return a->have_key ? turnclient_make_key(a, cause) : 0;
}

const struct turnclient_resp *
turnclient_challenge(const struct turnclient *c)
{
	return c->challenged ? &c->challenge : NULL;
}

unsigned int
turnclient_stale_answers(const struct turnclient *c)
{
	return c->stale;
}

uint16_t
turnclient_password_algorithm(const struct turnclient *c)
{
	return c->auth.pwalg;
}

int
turnclient_send(struct turnclient *c, const struct sockaddr *peer, uint16_t channel,
    const void *data, size_t len, char **cause)
{
	uint8_t tid[STUN_TID_LEN];
	size_t n;
	int w;

	if (channel != 0) {
		w = chandata_encode(c->sbuf, sizeof(c->sbuf), channel, data, len,
		    turnconn_is_stream(c->conn));
		if (w < 0)
			return cause_fail(cause, "cannot build ChannelData of %zu bytes", len);
		n = (size_t)w;
	} else if (random_bytes(tid, sizeof(tid)) == -1 ||
	    turnclient_build_send(tid, peer, data, len, c->sbuf, sizeof(c->sbuf), &n) == -1)
		return cause_fail(cause, "cannot build a Send indication of %zu bytes", len);
	return turnconn_send(c->conn, c->sbuf, n, netio_now_ms() + c->cfg.timeout_ms, cause);
}

int
turnclient_recv(struct turnclient *c, uint64_t deadline, struct sockaddr_storage *peer,
    uint16_t *channel, const uint8_t **data, size_t *len, char **cause)
{
	const uint8_t *p;
	const char *errstr;
	size_t n, consumed;
	int rc;

	for (;;) {
		if ((rc = turnconn_recv(c->conn, deadline, &p, &n, cause)) <= 0)
			return rc;
		*channel = 0;
		if (n >= CHANDATA_HEADER_LEN && chandata_is_channel(buf_load_u16(p))) {
			if (chandata_decode(p, n, turnconn_is_stream(c->conn), channel, data, len,
				&consumed, &errstr) == 0)
				return 1;
			continue;
		}
		if (turnclient_parse_data(p, n, peer, data, len) == 0)
			return 1;
	}
}

int
turnclient_who_opt(struct turnclient_who *who, int ch, const char *arg)
{
	switch (ch) {
	case TURNCLIENT_OPT_USER:
		who->user = arg;
		return 0;
	case TURNCLIENT_OPT_PASSWORD:
		who->password = arg;
		return 0;
	case TURNCLIENT_OPT_SECRET:
		who->secret = arg;
		return 0;
	}
	return 1;
}

const char *
turnclient_who_check(const struct turnclient_who *who)
{
	if (who->user == NULL || (who->password == NULL) == (who->secret == NULL))
		return "give --user and one of --password and --secret";
	return NULL;
}
