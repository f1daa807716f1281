/* A blocking TURN client: long-term credentials, requests, data both ways. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "turnpike/addr.h"
#include "turnpike/buf.h"
#include "turnpike/chandata.h"
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

struct turnclient {
	struct turnclient_config cfg;
	struct turnconn *conn;
	struct turnclient_auth auth;
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
	if (turnclient_copy(a->user, sizeof(a->user), user) == -1 ||
	    turnclient_copy(a->password, sizeof(a->password), password) == -1)
		return -1;
	return 0;
}

int
turnclient_rest_credentials(const char *secret, const char *user, uint64_t expiry, char *username,
    size_t usercap, char password[TURNCLIENT_REST_PASS_LEN])
{
	uint8_t mac[32];
	int n;

	n = snprintf(username, usercap, "%llu:%s", (unsigned long long)expiry, user);
	if (n < 0 || (size_t)n >= usercap)
		return -1;
	if (integrity_hmac(false, (const uint8_t *)secret, strlen(secret),
		(const uint8_t *)username, (size_t)n, mac) == -1)
		return -1;
	/* 20 bytes give 28 characters and a NUL. */
	if (EVP_EncodeBlock((unsigned char *)password, mac, INTEGRITY_SHA1_LEN) != 28)
		return -1;
	return 0;
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

int
turnclient_build_request(const struct turnclient_auth *a, const struct turnclient_req *r,
    const uint8_t tid[STUN_TID_LEN], uint8_t *out, size_t cap, size_t *len)
{
	struct stun_build b;
	int rc = 0;

	if (stun_build_init(&b, out, cap, r->method, STUN_REQUEST, tid) == -1 ||
	    turnclient_build_attrs(&b, r) == -1)
		return -1;
	if (a->have_key) {
		rc |= stun_build_string(&b, STUN_ATTR_USERNAME, a->user);
		rc |= stun_build_string(&b, STUN_ATTR_REALM, a->realm);
		rc |= stun_build_attr(&b, STUN_ATTR_NONCE, a->nonce, a->noncelen);
		rc |= stun_build_integrity(&b, a->key, sizeof(a->key));
	}
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
		return netio_fail(cause, "error response without a valid ERROR-CODE");
	if (rlen >= sizeof(res->reason))
		rlen = sizeof(res->reason) - 1;
	memcpy(res->reason, reason, rlen);
	res->reason[rlen] = '\0';
	if ((a = stun_find(m, STUN_ATTR_REALM)) != NULL) {
		if (a->len > TURNCLIENT_REALM_MAX)
			return netio_fail(cause, "REALM of %u bytes", a->len);
		memcpy(res->realm, stun_attr_value(m, a), a->len);
		res->realm[a->len] = '\0';
		res->has_realm = true;
	}
	if ((a = stun_find(m, STUN_ATTR_NONCE)) != NULL) {
		if (a->len > TURNCLIENT_NONCE_MAX || a->len == 0)
			return netio_fail(cause, "NONCE of %u bytes", a->len);
		memcpy(res->nonce, stun_attr_value(m, a), a->len);
		res->noncelen = a->len;
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
			return netio_fail(cause, "malformed XOR-RELAYED-ADDRESS");
		res->has_relayed = true;
	}
	if ((a = stun_find(m, STUN_ATTR_XOR_MAPPED_ADDRESS)) != NULL) {
		if (stun_get_xor_addr(m, a, &res->mapped) == -1)
			return netio_fail(cause, "malformed XOR-MAPPED-ADDRESS");
		res->has_mapped = true;
	}
	if ((a = stun_find(m, STUN_ATTR_LIFETIME)) != NULL) {
		if (stun_get_u32(m, a, &res->lifetime) == -1)
			return netio_fail(cause, "malformed LIFETIME");
		res->has_lifetime = true;
	}
	return 0;
}

/* Class, method, fingerprint and integrity of our answer. */
static int
turnclient_check_msg(const struct turnclient_auth *a, uint16_t method, const struct stun_msg *m,
    struct turnclient_resp *res, char **cause)
{
	bool challenge;

	if (m->fingerprint >= 0 && !integrity_fingerprint_ok(m))
		return netio_fail(cause, "response FINGERPRINT does not match");
	if (m->cls != STUN_SUCCESS && m->cls != STUN_ERROR)
		return netio_fail(cause, "answer of class %u is not a response", m->cls);
	if (m->method != method)
		return netio_fail(cause, "answer is a %s, not %s", stun_method_name(m->method),
		    stun_method_name(method));
	if (m->nunknown > 0)
		return netio_fail(cause, "answer has unknown required attribute 0x%04x",
		    m->unknown[0]);
	res->cls = m->cls;
	if (m->cls == STUN_ERROR && turnclient_check_error(m, res, cause) == -1)
		return -1;
	if (m->cls == STUN_SUCCESS && turnclient_check_success(m, res, cause) == -1)
		return -1;
	/* RFC 8489 §9.2.5: answers to requests with credentials are signed with the key. */
	challenge = m->cls == STUN_ERROR && (res->code == 401 || res->code == 438);
	if (a->have_key && !challenge && (m->cls == STUN_SUCCESS || m->mi >= 0) &&
	    !integrity_verify(m, false, a->key, sizeof(a->key)))
		return netio_fail(cause, "%s response without a valid MESSAGE-INTEGRITY",
		    m->cls == STUN_SUCCESS ? "success" : "error");
	return 0;
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
		netio_fail(cause, "malformed answer: %s", errstr);
		return TURNCLIENT_CHECK_BAD;
	}
	if (m.len != len) {
		netio_fail(cause, "%zu bytes after the answer", len - m.len);
		return TURNCLIENT_CHECK_BAD;
	}
	if (turnclient_check_msg(a, method, &m, res, cause) == -1)
		return TURNCLIENT_CHECK_BAD;
	return TURNCLIENT_CHECK_OK;
}

static int
turnclient_make_key(struct turnclient_auth *a, char **cause)
{
	size_t keylen;

	if (integrity_key_long_term(STUN_PWALG_MD5, a->user, strlen(a->user), a->realm,
		strlen(a->realm), a->password, strlen(a->password), a->key, &keylen) == -1 ||
	    keylen != sizeof(a->key))
		return netio_fail(cause, "the password is refused by OpaqueString preparation");
	a->have_key = true;
	return 0;
}

int
turnclient_auth_update(struct turnclient_auth *a, const struct turnclient_resp *res, char **cause)
{
	bool same_nonce;

	if (res->code != 401 && res->code != 438)
		return 0;
	if (res->noncelen == 0 || (res->code == 401 && !res->has_realm))
		return netio_fail(cause, "%d without %s", res->code,
		    res->code == 401 ? "REALM and NONCE" : "NONCE");
	same_nonce = res->noncelen == a->noncelen && memcmp(res->nonce, a->nonce, a->noncelen) == 0;
	/* RFC 8489 §9.2.5: a 401 to what carried this realm and nonce means bad credentials. */
	if (res->code == 401 && a->have_key && same_nonce && strcmp(res->realm, a->realm) == 0)
		return 0;
	if (res->has_realm)
		memcpy(a->realm, res->realm, strlen(res->realm) + 1);
	else if (a->realm[0] == '\0')
		return netio_fail(cause, "438 before any REALM");
	memcpy(a->nonce, res->nonce, res->noncelen);
	a->noncelen = res->noncelen;
	if (turnclient_make_key(a, cause) == -1)
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
		netio_fail(cause, "out of memory");
		return NULL;
	}
	c->cfg = *cfg;
	if (turnclient_auth_init(&c->auth, cfg->user, cfg->password) == -1) {
		netio_fail(cause, "user name or password too long");
		free(c);
		return NULL;
	}
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
			return netio_fail(cause, "no answer to %s after %u transmissions",
			    stun_method_name(method), sends);
		until = sends < max && next < end ? next : end;
		if ((rc = turnconn_recv(c->conn, until, &p, &len, cause)) == -1)
			return -1;
		if (rc == 0)
			continue;
		rc = turnclient_check_response(&c->auth, tid, method, p, len, res, cause);
		if (rc != TURNCLIENT_CHECK_OTHER)
			return rc == TURNCLIENT_CHECK_OK ? 0 : -1;
	}
}

static int
turnclient_once(struct turnclient *c, const struct turnclient_req *r, struct turnclient_resp *res,
    char **cause)
{
	uint8_t tid[STUN_TID_LEN];
	size_t len;

	if (random_bytes(tid, sizeof(tid)) == -1)
		return netio_fail(cause, "no randomness for a transaction ID");
	if (turnclient_build_request(&c->auth, r, tid, c->sbuf, sizeof(c->sbuf), &len) == -1)
		return netio_fail(cause, "cannot build the %s request",
		    stun_method_name(r->method));
	return turnclient_await(c, c->sbuf, len, tid, r->method, res, cause);
}

int
turnclient_request(struct turnclient *c, const struct turnclient_req *r,
    struct turnclient_resp *res, char **cause)
{
	unsigned int n401 = 0, n438 = 0;
	int rc;

	for (;;) {
		if (turnclient_once(c, r, res, cause) == -1)
			return -1;
		if (res->cls != STUN_ERROR || (res->code == 401 && ++n401 > TURNCLIENT_MAX_401) ||
		    (res->code == 438 && ++n438 > TURNCLIENT_MAX_STALE))
			return 0;
		if ((rc = turnclient_auth_update(&c->auth, res, cause)) == -1)
			return -1;
		if (rc == 0)
			return 0;
	}
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
			return netio_fail(cause, "cannot build ChannelData of %zu bytes", len);
		n = (size_t)w;
	} else if (random_bytes(tid, sizeof(tid)) == -1 ||
	    turnclient_build_send(tid, peer, data, len, c->sbuf, sizeof(c->sbuf), &n) == -1)
		return netio_fail(cause, "cannot build a Send indication of %zu bytes", len);
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
