/* Unit tests for src/client/turnclient.c: credentials, requests, answers, without sockets. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/chandata.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"
#include "turnpike/turnclient.h"
#include "unit.h"

static const uint8_t tid[STUN_TID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t other_tid[STUN_TID_LEN] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};

static struct sockaddr_storage
sa(const char *text)
{
	struct sockaddr_storage ss;
	const char *errstr;

	memset(&ss, 0, sizeof(ss));
	if (addr_parse(text, 0, &ss, &errstr) == -1)
		abort();
	return ss;
}

static void
test_rest(void)
{
	char user[64], pass[TURNCLIENT_REST_PASS_LEN];

	/* Python: base64(hmac.new(b"s3cret", b"1700000000:alice", sha1).digest()). */
	CHECK(turnclient_rest_credentials("s3cret", "alice", 1700000000, user, sizeof(user),
		  pass) == 0);
	CHECK(strcmp(user, "1700000000:alice") == 0);
	CHECK(strcmp(pass, "TtElzSjT0GdnTQ9xdcRNxx96yQs=") == 0);
	CHECKM(turnclient_rest_credentials("s3cret", "alice", 1700000000, user, 10, pass) == -1,
	    "a username that does not fit is refused");
	/* The "user:expiry" form; Python as above with b"alice:1700000000". */
	CHECK(turnclient_rest_password("s3cret", "alice:1700000000", pass) == 0);
	CHECK(strcmp(pass, "imbqQnHOcMAPP5V9vO2u5rvKS7k=") == 0);
}

/* PASSWORD-ALGORITHMS values (RFC 8489 §14.11): entries with padded parameters. */
static void
test_algs(void)
{
	static const uint8_t both[] = {0, 2, 0, 0, 0, 1, 0, 0};
	static const uint8_t params[] = {0, 3, 0, 2, 0xaa, 0xbb, 0, 0, 0, 1, 0, 0};
	static const uint8_t overrun[] = {0, 2, 0, 4, 0, 0};
	char text[32];

	CHECK(turnclient_algs_has(both, sizeof(both), STUN_PWALG_SHA256));
	CHECK(turnclient_algs_has(both, sizeof(both), STUN_PWALG_MD5));
	CHECK(!turnclient_algs_has(both, sizeof(both), 3));
	CHECK(turnclient_algs_format(both, sizeof(both), text, sizeof(text)) == 0 &&
	    strcmp(text, "sha256,md5") == 0);
	CHECK(turnclient_algs_format(params, sizeof(params), text, sizeof(text)) == 0 &&
	    strcmp(text, "0x0003,md5") == 0);
	CHECKM(turnclient_algs_has(params, sizeof(params), STUN_PWALG_MD5),
	    "parameters are skipped with their padding");
	CHECKM(!turnclient_algs_has(overrun, sizeof(overrun), STUN_PWALG_SHA256) &&
		turnclient_algs_format(overrun, sizeof(overrun), text, sizeof(text)) == -1,
	    "parameters past the end are malformed");
	CHECKM(!turnclient_algs_has(both, 3, STUN_PWALG_SHA256), "a truncated entry is malformed");
	CHECKM(turnclient_algs_format(both, sizeof(both), text, 8) == -1,
	    "text that does not fit is refused");
}

/* A 401 challenge as a server sends it (realm, nonce), to tid. */
static size_t
make_challenge(uint8_t *out, size_t cap, int code, const char *realm, const char *nonce)
{
	struct stun_build b;
	size_t len = 0;

	stun_build_init(&b, out, cap, STUN_ALLOCATE, STUN_ERROR, tid);
	stun_build_error(&b, code, NULL);
	if (realm != NULL)
		stun_build_string(&b, STUN_ATTR_REALM, realm);
	if (nonce != NULL)
		stun_build_string(&b, STUN_ATTR_NONCE, nonce);
	stun_build_finish(&b, &len);
	return len;
}

/* An RFC 8489 401: REALM, NONCE and (algslen > 0) PASSWORD-ALGORITHMS. */
static size_t
make_challenge_algs(uint8_t *out, size_t cap, const char *nonce, const uint8_t *algs,
    size_t algslen)
{
	struct stun_build b;
	size_t len = 0;

	stun_build_init(&b, out, cap, STUN_ALLOCATE, STUN_ERROR, tid);
	stun_build_error(&b, 401, NULL);
	stun_build_string(&b, STUN_ATTR_REALM, "example.org");
	stun_build_string(&b, STUN_ATTR_NONCE, nonce);
	if (algslen > 0)
		stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, algs, algslen);
	stun_build_finish(&b, &len);
	return len;
}

static int
check(const struct turnclient_auth *a, const uint8_t *t, uint16_t method, const uint8_t *p,
    size_t len, struct turnclient_resp *res)
{
	char *cause = NULL;
	int rc;

	rc = turnclient_check_response(a, t, method, p, len, res, &cause);
	CHECKM((rc == TURNCLIENT_CHECK_BAD) == (cause != NULL), "a cause exactly when refused");
	free(cause);
	return rc;
}

static void
test_unauthenticated_request(void)
{
	struct turnclient_auth a;
	struct turnclient_req r = {.method = STUN_ALLOCATE, .family = AF_INET6};
	const struct stun_attr *at;
	struct stun_msg m;
	uint8_t buf[512], v;
	const char *errstr;
	size_t len;

	CHECK(turnclient_auth_init(&a, "alice", "pass") == 0);
	CHECK(turnclient_build_request(&a, &r, tid, buf, sizeof(buf), &len) == 0);
	CHECK(stun_decode(&m, buf, len, &errstr) == 0);
	CHECK(m.method == STUN_ALLOCATE && m.cls == STUN_REQUEST);
	CHECK(memcmp(m.tid, tid, STUN_TID_LEN) == 0);
	CHECK((at = stun_find(&m, STUN_ATTR_REQUESTED_TRANSPORT)) != NULL &&
	    stun_get_u8(&m, at, &v) == 0 && v == 17);
	CHECK((at = stun_find(&m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY)) != NULL &&
	    stun_get_u8(&m, at, &v) == 0 && v == 2);
	CHECKM(stun_find(&m, STUN_ATTR_USERNAME) == NULL && m.mi < 0,
	    "the first request carries no credentials");
	CHECK(integrity_fingerprint_ok(&m));
}

static void
test_challenge_and_key(void)
{
	struct turnclient_auth a;
	struct turnclient_resp res;
	uint8_t buf[512], key[16];
	char *cause = NULL;
	size_t len;

	turnclient_auth_init(&a, "alice", "pass");
	len = make_challenge(buf, sizeof(buf), 401, "example.org", "nonce-1");
	CHECK(check(&a, tid, STUN_ALLOCATE, buf, len, &res) == TURNCLIENT_CHECK_OK);
	CHECK(res.cls == STUN_ERROR && res.code == 401);
	CHECK(res.has_realm && strcmp(res.realm, "example.org") == 0);
	CHECK(res.noncelen == 7 && memcmp(res.nonce, "nonce-1", 7) == 0);
	CHECKM(turnclient_auth_update(&a, &res, &cause) == 1, "a first 401 is retried");
	CHECK(a.have_key && a.keylen == 16 && a.pwalg == STUN_PWALG_MD5 && a.algslen == 0);
	/* MD5("alice:example.org:pass"). */
	CHECK(unit_unhex("14f5d36e9e37e3ebd10d4d1e206eb349", key, sizeof(key)) == 16);
	CHECK(memcmp(a.key, key, 16) == 0);
	CHECKM(turnclient_auth_update(&a, &res, &cause) == 0,
	    "a 401 to the same realm and nonce is final (wrong password)");
	len = make_challenge(buf, sizeof(buf), 438, NULL, "nonce-2");
	CHECK(check(&a, tid, STUN_ALLOCATE, buf, len, &res) == TURNCLIENT_CHECK_OK);
	CHECKM(turnclient_auth_update(&a, &res, &cause) == 1,
	    "a 438 is retried with the new nonce");
	CHECK(a.noncelen == 7 && memcmp(a.nonce, "nonce-2", 7) == 0);
	CHECK(strcmp(a.realm, "example.org") == 0);
	len = make_challenge(buf, sizeof(buf), 401, NULL, "nonce-3");
	CHECK(check(&a, tid, STUN_ALLOCATE, buf, len, &res) == TURNCLIENT_CHECK_OK);
	CHECKM(turnclient_auth_update(&a, &res, &cause) == -1 && cause != NULL,
	    "a 401 without REALM is refused");
	free(cause);
}

/* An authenticated CreatePermission, checked as the server would: integrity with the key. */
static void
test_authenticated_request(void)
{
	struct turnclient_auth a;
	struct sockaddr_storage peer = sa("192.0.2.1:9"), got;
	struct turnclient_req r = {.method = STUN_CREATE_PERMISSION,
	    .peer = (struct sockaddr *)&peer};
	const struct stun_attr *at;
	struct stun_msg m;
	uint8_t buf[512];
	const char *errstr;
	size_t len;

	turnclient_auth_init(&a, "alice", "pass");
	strcpy(a.realm, "example.org");
	memcpy(a.nonce, "n0nce", 5);
	a.noncelen = 5;
	integrity_key_long_term(STUN_PWALG_MD5, "alice", 5, "example.org", 11, "pass", 4, a.key,
	    &a.keylen);
	a.have_key = true;
	CHECK(turnclient_build_request(&a, &r, tid, buf, sizeof(buf), &len) == 0);
	CHECK(stun_decode(&m, buf, len, &errstr) == 0);
	CHECK(integrity_verify(&m, false, a.key, a.keylen));
	CHECKM(m.mi_sha256 < 0 && stun_find(&m, STUN_ATTR_PASSWORD_ALGORITHMS) == NULL &&
		stun_find(&m, STUN_ATTR_PASSWORD_ALGORITHM) == NULL,
	    "an MD5 request has no algorithm attributes (RFC 5389 style)");
	CHECK((at = stun_find(&m, STUN_ATTR_USERNAME)) != NULL && at->len == 5);
	CHECK((at = stun_find(&m, STUN_ATTR_NONCE)) != NULL && at->len == 5);
	CHECK((at = stun_find(&m, STUN_ATTR_XOR_PEER_ADDRESS)) != NULL &&
	    stun_get_xor_addr(&m, at, &got) == 0 &&
	    addr_equal((struct sockaddr *)&got, (struct sockaddr *)&peer));
	CHECK(stun_find(&m, STUN_ATTR_REQUESTED_TRANSPORT) == NULL);
	CHECKM(turnclient_build_request(&a, &r, tid, buf, 40, &len) == -1,
	    "a buffer too small fails the build");
}

/* A signed Allocate success with relayed and mapped addresses and a lifetime. */
static size_t
make_success(uint8_t *out, size_t cap, const uint8_t *key, bool sign)
{
	struct sockaddr_storage relayed = sa("192.0.2.10:50000"), mapped = sa("[2001:db8::1]:4000");
	struct stun_build b;
	size_t len = 0;

	stun_build_init(&b, out, cap, STUN_ALLOCATE, STUN_SUCCESS, tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, (struct sockaddr *)&relayed);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&mapped);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	if (sign)
		stun_build_integrity(&b, key, 16);
	stun_build_fingerprint(&b);
	stun_build_finish(&b, &len);
	return len;
}

static void
test_success_response(void)
{
	struct turnclient_auth a;
	struct turnclient_resp res;
	char text[ADDR_STRLEN];
	uint8_t buf[512], wrong[16];
	size_t len;

	turnclient_auth_init(&a, "alice", "pass");
	memset(a.key, 0x5a, sizeof(a.key));
	a.keylen = 16;
	a.have_key = true;
	memset(wrong, 0x33, sizeof(wrong));
	len = make_success(buf, sizeof(buf), a.key, true);
	CHECK(check(&a, tid, STUN_ALLOCATE, buf, len, &res) == TURNCLIENT_CHECK_OK);
	CHECK(res.cls == STUN_SUCCESS && res.code == 0);
	CHECK(res.has_relayed &&
	    strcmp(addr_fmt((struct sockaddr *)&res.relayed, true, text, sizeof(text)),
		"192.0.2.10:50000") == 0);
	CHECK(res.has_mapped &&
	    strcmp(addr_fmt((struct sockaddr *)&res.mapped, true, text, sizeof(text)),
		"[2001:db8::1]:4000") == 0);
	CHECK(res.has_lifetime && res.lifetime == 600);
	CHECKM(check(&a, other_tid, STUN_ALLOCATE, buf, len, &res) == TURNCLIENT_CHECK_OTHER,
	    "another transaction's answer is not ours");
	CHECKM(check(&a, tid, STUN_REFRESH, buf, len, &res) == TURNCLIENT_CHECK_BAD,
	    "an answer of another method is refused");
	len = make_success(buf, sizeof(buf), wrong, true);
	CHECKM(check(&a, tid, STUN_ALLOCATE, buf, len, &res) == TURNCLIENT_CHECK_BAD,
	    "a success signed with another key is refused");
	len = make_success(buf, sizeof(buf), NULL, false);
	CHECKM(check(&a, tid, STUN_ALLOCATE, buf, len, &res) == TURNCLIENT_CHECK_BAD,
	    "an unsigned success to a signed request is refused");
	a.have_key = false;
	CHECKM(check(&a, tid, STUN_ALLOCATE, buf, len, &res) == TURNCLIENT_CHECK_OK,
	    "an unsigned success to an unsigned request is fine");
	len = make_success(buf, sizeof(buf), NULL, false);
	buf[len - 1] ^= 1;
	CHECKM(check(&a, tid, STUN_ALLOCATE, buf, len, &res) == TURNCLIENT_CHECK_BAD,
	    "a wrong FINGERPRINT is refused");
	CHECKM(check(&a, tid, STUN_ALLOCATE, buf, 10, &res) == TURNCLIENT_CHECK_OTHER,
	    "a runt is not an answer");
}

static const uint8_t offered[] = {0, 2, 0, 0, 0, 1, 0, 0};
#define COOKIE_NONCE "obMatJos2AAAB0123456789abcdef"

/* A 401 learned by a client in mode; 1 when it is to be retried. */
static int
learn(struct turnclient_auth *a, enum turnclient_pwmode mode, const char *nonce,
    const uint8_t *algs, size_t algslen)
{
	struct turnclient_resp res;
	uint8_t buf[512];
	char *cause = NULL;
	size_t len;
	int rc;

	turnclient_auth_init(a, "alice", "pass");
	a->mode = mode;
	len = make_challenge_algs(buf, sizeof(buf), nonce, algs, algslen);
	if (check(a, tid, STUN_ALLOCATE, buf, len, &res) != TURNCLIENT_CHECK_OK)
		return -2;
	rc = turnclient_auth_update(a, &res, &cause);
	CHECKM((rc == -1) == (cause != NULL), "a cause exactly when the challenge is refused");
	free(cause);
	return rc;
}

/* A success to tid signed with key by MESSAGE-INTEGRITY-SHA256 (sha) or MESSAGE-INTEGRITY. */
static size_t
make_signed(uint8_t *out, size_t cap, const uint8_t *key, size_t keylen, bool sha)
{
	struct stun_build b;
	size_t len = 0;

	stun_build_init(&b, out, cap, STUN_ALLOCATE, STUN_SUCCESS, tid);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	if (sha)
		stun_build_integrity_sha256(&b, key, keylen);
	else
		stun_build_integrity(&b, key, keylen);
	stun_build_fingerprint(&b);
	stun_build_finish(&b, &len);
	return len;
}

/* RFC 8489 §9.2.4: echo the offered list, choose SHA-256, sign with MESSAGE-INTEGRITY-SHA256. */
static void
test_sha256(void)
{
	struct turnclient_auth a;
	struct turnclient_req r = {.method = STUN_ALLOCATE};
	struct turnclient_resp res;
	const struct stun_attr *at;
	struct stun_msg m;
	uint8_t buf[512], key[32];
	const char *errstr;
	size_t len;

	CHECK(learn(&a, TURNCLIENT_PW_SHA256, COOKIE_NONCE, offered, sizeof(offered)) == 1);
	CHECK(a.pwalg == STUN_PWALG_SHA256 && a.keylen == 32);
	/* SHA-256("alice:example.org:pass"). */
	CHECK(unit_unhex("81af2a18357c09d8ca4a8ecd4dde564192121cec2e97b9dec1669e42f8787bc4", key,
		  sizeof(key)) == 32);
	CHECK(memcmp(a.key, key, 32) == 0);
	CHECK(turnclient_build_request(&a, &r, tid, buf, sizeof(buf), &len) == 0);
	CHECK(stun_decode(&m, buf, len, &errstr) == 0);
	CHECKM((at = stun_find(&m, STUN_ATTR_PASSWORD_ALGORITHMS)) != NULL &&
		at->len == sizeof(offered) &&
		memcmp(stun_attr_value(&m, at), offered, sizeof(offered)) == 0,
	    "the server's PASSWORD-ALGORITHMS is echoed byte for byte");
	CHECKM((at = stun_find(&m, STUN_ATTR_PASSWORD_ALGORITHM)) != NULL && at->len == 4 &&
		memcmp(stun_attr_value(&m, at), "\0\2\0\0", 4) == 0,
	    "PASSWORD-ALGORITHM is SHA-256 without parameters");
	CHECKM(m.mi < 0 && integrity_verify(&m, true, key, 32),
	    "the request carries MESSAGE-INTEGRITY-SHA256 only, with the SHA-256 key");
	len = make_signed(buf, sizeof(buf), key, 32, true);
	CHECK(check(&a, tid, STUN_ALLOCATE, buf, len, &res) == TURNCLIENT_CHECK_OK);
	CHECKM(res.mi_sha256 && !res.mi, "a success with MESSAGE-INTEGRITY-SHA256 is verified");
	len = make_signed(buf, sizeof(buf), key, 32, false);
	CHECKM(check(&a, tid, STUN_ALLOCATE, buf, len, &res) == TURNCLIENT_CHECK_BAD,
	    "a success with only MESSAGE-INTEGRITY to a SHA-256 request is refused");
}

static void
test_sha256_refused(void)
{
	static const uint8_t md5_only[] = {0, 1, 0, 0};
	struct turnclient_auth a;

	CHECKM(learn(&a, TURNCLIENT_PW_SHA256, COOKIE_NONCE, NULL, 0) == -1,
	    "SHA-256 without PASSWORD-ALGORITHMS in the challenge fails");
	CHECKM(learn(&a, TURNCLIENT_PW_SHA256, "0123456789abcdef", offered, sizeof(offered)) == -1,
	    "SHA-256 with a nonce without the cookie fails");
	CHECKM(learn(&a, TURNCLIENT_PW_SHA256, COOKIE_NONCE, md5_only, sizeof(md5_only)) == -1,
	    "SHA-256 when the server lists MD5 only fails");
	CHECKM(learn(&a, TURNCLIENT_PW_MD5, COOKIE_NONCE, offered, sizeof(offered)) == 1 &&
		a.pwalg == STUN_PWALG_MD5 && a.algslen == 0 && a.keylen == 16,
	    "MD5 mode ignores an offered list (RFC 5389 style)");
}

/* The bid-down attacker of the tests: MD5 only in the list, MD5 chosen, MESSAGE-INTEGRITY. */
static void
test_biddown(void)
{
	struct turnclient_auth a;
	struct turnclient_req r = {.method = STUN_ALLOCATE};
	const struct stun_attr *at;
	struct stun_msg m;
	uint8_t buf[512];
	const char *errstr;
	size_t len;

	CHECK(learn(&a, TURNCLIENT_PW_BIDDOWN, COOKIE_NONCE, offered, sizeof(offered)) == 1);
	CHECK(turnclient_build_request(&a, &r, tid, buf, sizeof(buf), &len) == 0);
	CHECK(stun_decode(&m, buf, len, &errstr) == 0);
	CHECK((at = stun_find(&m, STUN_ATTR_PASSWORD_ALGORITHMS)) != NULL && at->len == 4 &&
	    memcmp(stun_attr_value(&m, at), "\0\1\0\0", 4) == 0);
	CHECK((at = stun_find(&m, STUN_ATTR_PASSWORD_ALGORITHM)) != NULL && at->len == 4 &&
	    memcmp(stun_attr_value(&m, at), "\0\1\0\0", 4) == 0);
	CHECK(m.mi_sha256 < 0 && integrity_verify(&m, false, a.key, 16));
}

static void
test_data(void)
{
	struct sockaddr_storage peer = sa("[2001:db8::7]:3478"), got;
	const uint8_t *data;
	struct stun_build b;
	uint8_t buf[256];
	size_t len, dlen;

	/* A Send indication has the peer and the data. */
	CHECK(turnclient_build_send(tid, (struct sockaddr *)&peer, "hello", 5, buf, sizeof(buf),
		  &len) == 0);
	CHECKM(turnclient_parse_data(buf, len, &got, &data, &dlen) == -1,
	    "a Send indication is not a Data indication");
	/* The Data indication a server relays. */
	stun_build_init(&b, buf, sizeof(buf), STUN_DATA, STUN_INDICATION, tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&peer);
	stun_build_attr(&b, STUN_ATTR_DATA, "hello", 5);
	stun_build_finish(&b, &len);
	CHECK(turnclient_parse_data(buf, len, &got, &data, &dlen) == 0);
	CHECK(addr_equal((struct sockaddr *)&got, (struct sockaddr *)&peer));
	CHECK(dlen == 5 && memcmp(data, "hello", 5) == 0);
	CHECKM(turnclient_parse_data(buf, len - 4, &got, &data, &dlen) == -1,
	    "a truncated Data indication is refused");
	stun_build_init(&b, buf, sizeof(buf), STUN_DATA, STUN_INDICATION, tid);
	stun_build_attr(&b, STUN_ATTR_DATA, "hello", 5);
	stun_build_finish(&b, &len);
	CHECKM(turnclient_parse_data(buf, len, &got, &data, &dlen) == -1,
	    "a Data indication without XOR-PEER-ADDRESS is refused");
}

int
main(void)
{
	test_rest();
	test_algs();
	test_unauthenticated_request();
	test_challenge_and_key();
	test_authenticated_request();
	test_success_response();
	test_sha256();
	test_sha256_refused();
	test_biddown();
	test_data();
	return unit_done();
}
