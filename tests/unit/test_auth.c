/* Stateless nonces, the nonce cookie, bid-down checks and long-term credential checks. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/auth.h"
#include "turnpike/creds.h"
#include "turnpike/integrity.h"
#include "turnpike/oauth.h"
#include "turnpike/stun_build.h"
#include "unit.h"
#include "vectors.h"

#define REALM "example.org"

static struct turn_config cfg;
static struct turn_5tuple tup;
static struct creds_static *cs;
static struct creds creds;
static uint8_t buf[1024];
static struct stun_msg msg;

static const uint8_t offered[] = {0, 2, 0, 0, 0, 1, 0, 0};
static const uint8_t md5_only[] = {0, 1, 0, 0};

/* What a test request carries. */
struct req {
	const char *user, *realm, *nonce;
	bool mi, mi_sha256;
	uint16_t key_alg; /* which long-term key signs it */
	const char *password;
	const uint8_t *pwalgs;
	size_t pwalgslen;
	uint16_t pwalg;               /* 0: no PASSWORD-ALGORITHM */
	bool userhash;                /* USERHASH of user instead of USERNAME */
	const char *origin, *origin2; /* ORIGIN attributes, in this order */
};

static void
setup(void)
{
	const char *errstr;
	char *cause = NULL;

	memset(&cfg, 0, sizeof cfg);
	cfg.realm = REALM;
	cfg.auth = true;
	cfg.stale_nonce = 600;
	memset(cfg.nonce_key, 0x5a, sizeof cfg.nonce_key);
	memset(&tup, 0, sizeof tup);
	addr_parse("198.51.100.7:4000", 0, &tup.client, &errstr);
	addr_parse("192.0.2.1:3478", 0, &tup.server, &errstr);
	cs = creds_static_create(REALM);
	if (creds_static_add_user(cs, "alice:s3cret", &cause) == -1 ||
	    creds_static_add_user(cs, "bob:0x00112233445566778899aabbccddeeff", &cause) == -1 ||
	    creds_static_add_secret(cs, "old", &cause) == -1 ||
	    creds_static_add_secret(cs, "new", &cause) == -1)
		abort();
	creds_static_set_rest(cs, true, ':');
	creds_static_iface(cs, &creds);
}

static void
sign(struct stun_build *b, const struct req *q)
{
	const char *realm = q->realm != NULL ? q->realm : REALM;
	uint8_t key[32];
	size_t keylen;

	if (integrity_key_long_term(q->key_alg != 0 ? q->key_alg : STUN_PWALG_MD5, q->user,
		strlen(q->user), realm, strlen(realm), q->password, strlen(q->password), key,
		&keylen) == -1)
		abort();
	if (q->mi)
		stun_build_integrity(b, key, keylen);
	if (q->mi_sha256)
		stun_build_integrity_sha256(b, key, keylen);
}

/* Builds and decodes the request into msg. */
static const struct stun_msg *
request(const struct req *q)
{
	static const uint8_t tid[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
	struct stun_build b;
	const char *errstr;
	size_t len;

	stun_build_init(&b, buf, sizeof buf, STUN_ALLOCATE, STUN_REQUEST, tid);
	stun_build_u8(&b, STUN_ATTR_REQUESTED_TRANSPORT, 17);
	if (q->user != NULL && q->userhash) {
		uint8_t h[32];
		const char *realm = q->realm != NULL ? q->realm : REALM;
		integrity_userhash(q->user, strlen(q->user), realm, strlen(realm), h);
		stun_build_attr(&b, STUN_ATTR_USERHASH, h, sizeof h);
	} else if (q->user != NULL)
		stun_build_string(&b, STUN_ATTR_USERNAME, q->user);
	stun_build_string(&b, STUN_ATTR_REALM, q->realm != NULL ? q->realm : REALM);
	if (q->nonce != NULL)
		stun_build_string(&b, STUN_ATTR_NONCE, q->nonce);
	if (q->pwalgs != NULL)
		stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, q->pwalgs, q->pwalgslen);
	if (q->pwalg != 0)
		stun_build_u32(&b, STUN_ATTR_PASSWORD_ALGORITHM, (uint32_t)q->pwalg << 16);
	if (q->origin != NULL)
		stun_build_string(&b, STUN_ATTR_ORIGIN, q->origin);
	if (q->origin2 != NULL)
		stun_build_string(&b, STUN_ATTR_ORIGIN, q->origin2);
	if (q->user != NULL && q->password != NULL)
		sign(&b, q);
	else if (q->mi)
		stun_build_attr(&b, STUN_ATTR_MESSAGE_INTEGRITY, buf, 20);
	if (stun_build_finish(&b, &len) == -1 || stun_decode(&msg, buf, len, &errstr) != 0)
		abort();
	return &msg;
}

static struct auth_result
check(const struct req *q, uint64_t now)
{
	struct auth_result r;

	auth_check(&cfg, &creds, &tup, request(q), now, &r);
	return r;
}

static void
test_nonce(void)
{
	char n[AUTH_NONCE_MAX], n2[AUTH_NONCE_MAX];
	struct turn_5tuple other = tup;
	size_t len;
	const char *errstr;

	cfg.sha256 = false;
	len = auth_nonce_make(&cfg, &tup, 1000, n);
	CHECKM(len == strlen(n) && len == 16, "16 base64 characters: 4 of expiry, 8 of MAC");
	CHECK(auth_nonce_valid(&cfg, &tup, (const uint8_t *)n, len, 1000));
	CHECK(auth_nonce_valid(&cfg, &tup, (const uint8_t *)n, len, 1599));
	CHECKM(!auth_nonce_valid(&cfg, &tup, (const uint8_t *)n, len, 1600), "expires");
	addr_set_port((struct sockaddr *)&other.client, 4001);
	CHECKM(auth_nonce_valid(&cfg, &other, (const uint8_t *)n, len, 1000),
	    "bound to the client IP, not the port");
	addr_parse("198.51.100.8:4000", 0, &other.client, &errstr);
	CHECKM(!auth_nonce_valid(&cfg, &other, (const uint8_t *)n, len, 1000), "another client IP");
	other = tup;
	other.transport = TURN_TCP;
	CHECKM(!auth_nonce_valid(&cfg, &other, (const uint8_t *)n, len, 1000), "another transport");
	memcpy(n2, n, sizeof n2);
	n2[10] = n2[10] == 'a' ? 'b' : 'a';
	CHECKM(!auth_nonce_valid(&cfg, &tup, (const uint8_t *)n2, len, 1000), "tampered nonce");
	memcpy(n2, n, sizeof n2);
	n2[3] = '*';
	CHECKM(!auth_nonce_valid(&cfg, &tup, (const uint8_t *)n2, len, 1000), "not base64");
	n2[0] = 'A';
	CHECK(!auth_nonce_valid(&cfg, &tup, (const uint8_t *)n, len - 1, 1000));
	cfg.nonce_key[0] ^= 1;
	CHECKM(!auth_nonce_valid(&cfg, &tup, (const uint8_t *)n, len, 1000), "another nonce key");
	cfg.nonce_key[0] ^= 1;

	cfg.sha256 = true;
	len = auth_nonce_make(&cfg, &tup, 1000, n);
	CHECKM(len == 29 && strncmp(n, "obMatJos2AAAB", 13) == 0,
	    "RFC 8489 §9.2: the cookie and the feature bits, then 16 characters");
	CHECK(auth_nonce_valid(&cfg, &tup, (const uint8_t *)n, len, 1000));
	CHECKM(!auth_nonce_valid(&cfg, &tup, (const uint8_t *)n + 13, len - 13, 1000),
	    "stripping the cookie invalidates the nonce (bid-down)");
	memcpy(n2, n, sizeof n2);
	n2[12] = 'D';
	CHECKM(!auth_nonce_valid(&cfg, &tup, (const uint8_t *)n2, len, 1000),
	    "changing the feature bits invalidates the nonce");
	CHECK(auth_nonce_has_pwalgs((const uint8_t *)n, len));
	CHECKM(!auth_nonce_has_pwalgs((const uint8_t *)"obMatJos2AAACxyz", 16),
	    "RFC 8489 B.1's AAAC is username anonymity only (errata 6290)");
	CHECK(auth_nonce_has_pwalgs((const uint8_t *)"obMatJos2AAAD", 13));
	CHECK(!auth_nonce_has_pwalgs((const uint8_t *)"obMatJos2AA", 11));
	CHECK(!auth_nonce_has_pwalgs((const uint8_t *)"f//499k954d6OL34oL9FSTvy64sA", 28));
	CHECK(!auth_nonce_has_pwalgs((const uint8_t *)"obMatJos2AA*B", 13));
}

static void
test_md5(void)
{
	char n[AUTH_NONCE_MAX];
	struct auth_result r;

	cfg.sha256 = false;
	auth_nonce_make(&cfg, &tup, 1000, n);
	r = check(&(struct req){.user = "alice", .nonce = n}, 1000);
	CHECKM(r.error == 401 && r.challenge && !r.credentials, "no MESSAGE-INTEGRITY: 401");
	r = check(&(struct req){.nonce = n, .mi = true}, 1000);
	CHECKM(r.error == 400 && !r.challenge, "MESSAGE-INTEGRITY without USERNAME: 400");
	r = check(&(struct req){.user = "alice", .mi = true, .password = "s3cret"}, 1000);
	CHECKM(r.error == 400, "MESSAGE-INTEGRITY without NONCE: 400");
	r = check(&(struct req){.user = "alice", .nonce = n, .mi = true, .password = "s3cret"},
	    1000);
	CHECK(r.error == 0 && r.keylen == 16 && !r.mac_sha256 && r.userlen == 5 &&
	    memcmp(r.user, "alice", 5) == 0);
	r = check(&(struct req){.user = "alice",
		      .nonce = n,
		      .mi_sha256 = true,
		      .password = "s3cret"},
	    1000);
	CHECKM(r.error == 0 && r.keylen == 16 && r.mac_sha256,
	    "MESSAGE-INTEGRITY-SHA256 with the MD5 key");
	r = check(&(struct req){.user = "alice", .nonce = n, .mi = true, .password = "wrong"},
	    1000);
	CHECKM(r.error == 401 && r.challenge && r.credentials, "bad password: 401");
	r = check(&(struct req){.user = "carol", .nonce = n, .mi = true, .password = "x"}, 1000);
	CHECKM(r.error == 401 && r.credentials, "unknown user: 401");
	r = check(&(struct req){.user = "alice", .nonce = n, .mi = true, .password = "s3cret"},
	    1600);
	CHECKM(r.error == 438 && r.challenge, "expired nonce: 438");
	r = check(&(struct req){.user = "alice",
		      .nonce = "f//499k954d6OL34oL9FSTvy64sA",
		      .mi = true,
		      .password = "s3cret"},
	    1000);
	CHECKM(r.error == 438, "a nonce we never issued: 438");
	r = check(&(struct req){.user = "alice",
		      .realm = "other.org",
		      .nonce = n,
		      .mi = true,
		      .password = "s3cret"},
	    1000);
	CHECKM(r.error == 401, "another realm: 401");
	r = check(&(struct req){.user = "bob", .nonce = n, .mi = true, .password = "x"}, 1000);
	CHECKM(r.error == 401, "0xKEY user with a wrong key");
	r = check(&(struct req){.user = "alice",
		      .nonce = n,
		      .mi = true,
		      .password = "s3cret",
		      .pwalg = STUN_PWALG_MD5},
	    1000);
	CHECKM(r.error == 400, "PASSWORD-ALGORITHM without the cookie in the nonce: 400");
}

static void
test_rest_rotation(void)
{
	char n[AUTH_NONCE_MAX], pw[64];
	const char *user = "4000000000:alice";
	struct auth_result r;

	cfg.sha256 = false;
	auth_nonce_make(&cfg, &tup, 1000, n);
	creds_rest_password("new", 3, user, strlen(user), pw, sizeof pw);
	r = check(&(struct req){.user = user, .nonce = n, .mi = true, .password = pw}, 1000);
	CHECKM(r.error == 0, "REST password of the second secret accepted");
	creds_rest_password("old", 3, user, strlen(user), pw, sizeof pw);
	r = check(&(struct req){.user = user, .nonce = n, .mi = true, .password = pw}, 1000);
	CHECKM(r.error == 0, "REST password of the first secret accepted");
	creds_rest_password("gone", 4, user, strlen(user), pw, sizeof pw);
	r = check(&(struct req){.user = user, .nonce = n, .mi = true, .password = pw}, 1000);
	CHECKM(r.error == 401, "REST password of an unknown secret refused");
}

static void
test_sha256(void)
{
	char n[AUTH_NONCE_MAX];
	struct auth_result r;
	const uint8_t odd[] = {0, 1, 0, 0, 0, 2, 0, 0};

	cfg.sha256 = true;
	auth_nonce_make(&cfg, &tup, 1000, n);
	r = check(&(struct req){.user = "alice",
		      .nonce = n,
		      .mi_sha256 = true,
		      .key_alg = STUN_PWALG_SHA256,
		      .password = "s3cret",
		      .pwalgs = offered,
		      .pwalgslen = sizeof offered,
		      .pwalg = STUN_PWALG_SHA256},
	    1000);
	CHECKM(r.error == 0 && r.keylen == 32 && r.mac_sha256, "SHA-256 key, MI-SHA256");
	r = check(&(struct req){.user = "alice",
		      .nonce = n,
		      .mi = true,
		      .key_alg = STUN_PWALG_SHA256,
		      .password = "s3cret",
		      .pwalgs = offered,
		      .pwalgslen = sizeof offered,
		      .pwalg = STUN_PWALG_SHA256},
	    1000);
	CHECKM(r.error == 0 && r.keylen == 32 && !r.mac_sha256, "SHA-256 key, MESSAGE-INTEGRITY");
	r = check(&(struct req){.user = "alice",
		      .nonce = n,
		      .mi = true,
		      .password = "s3cret",
		      .pwalgs = offered,
		      .pwalgslen = sizeof offered,
		      .pwalg = STUN_PWALG_MD5},
	    1000);
	CHECKM(r.error == 0 && r.keylen == 16, "MD5 chosen from the offer");
	r = check(&(struct req){.user = "alice", .nonce = n, .mi = true, .password = "s3cret"},
	    1000);
	CHECKM(r.error == 0 && r.keylen == 16, "RFC 5389 client: neither attribute, MD5");
	r = check(&(struct req){.user = "alice",
		      .nonce = n,
		      .mi_sha256 = true,
		      .password = "s3cret",
		      .pwalgs = offered,
		      .pwalgslen = sizeof offered,
		      .pwalg = STUN_PWALG_SHA256},
	    1000);
	CHECKM(r.error == 401, "SHA-256 announced, signed with the MD5 key: 401");
	r = check(&(struct req){.user = "alice",
		      .nonce = n,
		      .mi = true,
		      .password = "s3cret",
		      .pwalgs = md5_only,
		      .pwalgslen = sizeof md5_only,
		      .pwalg = STUN_PWALG_MD5},
	    1000);
	CHECKM(r.error == 400, "bid-down: PASSWORD-ALGORITHMS stripped to MD5");
	r = check(&(struct req){.user = "alice",
		      .nonce = n,
		      .mi = true,
		      .password = "s3cret",
		      .pwalgs = odd,
		      .pwalgslen = sizeof odd,
		      .pwalg = STUN_PWALG_MD5},
	    1000);
	CHECKM(r.error == 400, "bid-down: PASSWORD-ALGORITHMS reordered");
	r = check(&(struct req){.user = "alice",
		      .nonce = n,
		      .mi = true,
		      .password = "s3cret",
		      .pwalg = STUN_PWALG_MD5},
	    1000);
	CHECKM(r.error == 400, "PASSWORD-ALGORITHM without PASSWORD-ALGORITHMS");
	r = check(&(struct req){.user = "alice",
		      .nonce = n,
		      .mi = true,
		      .password = "s3cret",
		      .pwalgs = offered,
		      .pwalgslen = sizeof offered},
	    1000);
	CHECKM(r.error == 400, "PASSWORD-ALGORITHMS without PASSWORD-ALGORITHM");
	r = check(&(struct req){.user = "alice",
		      .nonce = n,
		      .mi = true,
		      .password = "s3cret",
		      .pwalgs = offered,
		      .pwalgslen = sizeof offered,
		      .pwalg = 3},
	    1000);
	CHECKM(r.error == 400, "an algorithm that was not offered");
	r = check(&(struct req){.user = "bob",
		      .nonce = n,
		      .mi_sha256 = true,
		      .key_alg = STUN_PWALG_SHA256,
		      .password = "x",
		      .pwalgs = offered,
		      .pwalgslen = sizeof offered,
		      .pwalg = STUN_PWALG_SHA256},
	    1000);
	CHECKM(r.error == 401, "an MD5-only (0xKEY) user cannot use SHA-256: 401");
}

static int
fixed_lookup(void *ctx, const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint64_t now, struct creds_result *out)
{
	return *(const int *)ctx;
}

static void
test_backend_failure(void)
{
	static const struct creds_ops ops = {fixed_lookup, NULL, NULL, NULL};
	static int status;
	struct creds saved = creds;
	char n[AUTH_NONCE_MAX];
	struct auth_result r;

	cfg.sha256 = false;
	auth_nonce_make(&cfg, &tup, 1000, n);
	creds.ops = &ops;
	creds.ctx = &status;
	status = CREDS_UNAVAILABLE;
	r = check(&(struct req){.user = "alice", .nonce = n, .mi = true, .password = "s3cret"},
	    1000);
	CHECKM(r.error == 401, "backend failure fails closed");
	status = CREDS_PENDING;
	r = check(&(struct req){.user = "alice", .nonce = n, .mi = true, .password = "s3cret"},
	    1000);
	CHECKM(r.error == 438 && r.challenge && !r.hash_pending,
	    "a pending lookup answers 438 with a fresh nonce (the client asks again)");
	creds = saved;
}

/* Two realms behind one provider: REALM's users in cs, b.org's in tenant_b. */
static struct creds_static *tenant_b;

static int
tenant_lookup(void *ctx, const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint64_t now, struct creds_result *out)
{
	struct creds c;

	creds_static_iface(creds_static_has_realm(tenant_b, realm, realmlen) ? tenant_b : cs, &c);
	return creds_lookup(&c, user, userlen, realm, realmlen, now, out);
}

static int
tenant_origin(void *ctx, const char *origin, size_t len, char *realm, size_t *realmlen)
{
	if (len != 13 || memcmp(origin, "https://b.org", 13) != 0)
		return CREDS_UNKNOWN;
	memcpy(realm, "b.org", 6);
	*realmlen = 5;
	return CREDS_FOUND;
}

/* auth_check into *r in place (auth_result.realm may point into the struct itself). */
static void
check_in(const struct req *q, uint64_t now, struct auth_result *r)
{
	auth_check(&cfg, &creds, &tup, request(q), now, r);
}

static bool
realm_is(const struct auth_result *r, const char *realm)
{
	return r->realmlen == strlen(realm) && memcmp(r->realm, realm, r->realmlen) == 0;
}

static void
test_origin_realms(void)
{
	static const struct creds_ops ops = {tenant_lookup, NULL, NULL, tenant_origin};
	struct creds saved = creds;
	char n[AUTH_NONCE_MAX], *cause = NULL;
	const struct stun_attr *a;
	static struct auth_result r; /* in place: r.realm may point into r.realmbuf */
	struct stun_build b;
	size_t len;

	tenant_b = creds_static_create("b.org");
	CHECK(creds_static_add_user(tenant_b, "bob:b-pw", &cause) == 0);
	creds.ops = &ops;
	creds.ctx = NULL;
	cfg.sha256 = false;
	auth_nonce_make(&cfg, &tup, 1000, n);
	check_in(&(struct req){.origin = "https://b.org"}, 1000, &r);
	CHECKM(r.error == 401 && r.challenge && realm_is(&r, "b.org"),
	    "no credentials: the 401's realm is the one ORIGIN maps to");
	check_in(&(struct req){.origin = "https://x.org"}, 1000, &r);
	CHECKM(r.error == 401 && realm_is(&r, REALM), "an unmapped ORIGIN: the server realm");
	check_in(&(struct req){.user = "bob",
		     .realm = "b.org",
		     .nonce = n,
		     .mi = true,
		     .password = "b-pw",
		     .origin = "https://b.org"},
	    1000, &r);
	CHECKM(r.error == 0 && realm_is(&r, "b.org"), "bob of b.org through b.org's ORIGIN");
	check_in(&(struct req){.user = "bob",
		     .realm = "b.org",
		     .nonce = n,
		     .mi = true,
		     .password = "b-pw",
		     .origin = "https://x.org",
		     .origin2 = "https://b.org"},
	    1000, &r);
	CHECKM(r.error == 0 && realm_is(&r, "b.org"), "the first ORIGIN the store maps counts");
	check_in(&(struct req){.user = "bob",
		     .realm = "b.org",
		     .nonce = n,
		     .mi = true,
		     .password = "b-pw"},
	    1000, &r);
	CHECKM(r.error == 401 && realm_is(&r, REALM),
	    "bob of b.org without ORIGIN: 401 (the server realm's challenge)");
	check_in(&(struct req){.user = "alice",
		     .nonce = n,
		     .mi = true,
		     .password = "s3cret",
		     .origin = "https://b.org"},
	    1000, &r);
	CHECKM(r.error == 401 && r.challenge && realm_is(&r, "b.org"),
	    "alice of the server realm through b.org's ORIGIN: 401");
	check_in(&(struct req){.user = "alice", .nonce = n, .mi = true, .password = "s3cret"}, 1000,
	    &r);
	CHECKM(r.error == 0 && realm_is(&r, REALM), "alice without ORIGIN: her realm");
	stun_build_init(&b, buf, sizeof buf, STUN_ALLOCATE, STUN_ERROR, msg.tid);
	stun_build_error(&b, 401, "");
	CHECK(auth_build_challenge_realm(&b, &cfg, "b.org", 5, &tup, 1000) == 0);
	CHECK(stun_build_finish(&b, &len) == 0 &&
	    stun_decode(&msg, buf, len, &(const char *){0}) == 0);
	CHECKM((a = stun_find(&msg, STUN_ATTR_REALM)) != NULL && a->len == 5 &&
		memcmp(stun_attr_value(&msg, a), "b.org", 5) == 0,
	    "the challenge carries the realm it is given");
	creds = saved;
	creds_static_free(tenant_b);
}

/* RFC 8489 B.1 (errata 6268): its USERHASH finds the user, whose SHA-256 key verifies it. */
static void
test_userhash_b1(void)
{
	struct vector vs[VECTORS_MAX];
	const struct vector *v = NULL;
	struct creds_static *b1 = creds_static_create("example.org");
	struct creds c;
	struct creds_result r;
	struct stun_msg m;
	const struct stun_attr *a;
	uint8_t msgbuf[512], hash[32], key[32], user[64];
	char name[CREDS_NAME_MAX], spec[128], *cause = NULL;
	const char *errstr;
	size_t namelen;
	int i, n = vectors_load(TEST_DATADIR "/rfc5769_vectors.txt", vs), len, ulen;

	for (i = 0; i < n; i++) {
		if (strstr(vector_name(&vs[i]), "B.1") != NULL)
			v = &vs[i];
	}
	CHECKM(v != NULL, "the RFC 8489 B.1 vector is in rfc5769_vectors.txt");
	if (v == NULL)
		return;
	len = vector_hex(v, "hex", msgbuf, sizeof msgbuf);
	ulen = vector_hex(v, "username_hex", user, sizeof user - 1);
	snprintf(spec, sizeof spec, "%.*s:TheMatrIX", ulen, (const char *)user);
	creds_static_iface(b1, &c);
	CHECK(creds_static_add_user(b1, spec, &cause) == 0);
	CHECK(len > 0 && stun_decode(&m, msgbuf, (size_t)len, &errstr) == 0);
	CHECKM((a = stun_find(&m, STUN_ATTR_USERHASH)) != NULL &&
		stun_get_userhash(&m, a, hash) == 0 && stun_find(&m, STUN_ATTR_USERNAME) == NULL,
	    "B.1 names its user by USERHASH only");
	CHECKM(creds_find_hash(&c, hash, "example.org", 11, name, &namelen) == CREDS_FOUND &&
		namelen == (size_t)ulen && memcmp(name, user, namelen) == 0,
	    "the B.1 USERHASH finds <U+30DE><U+30C8><U+30EA><U+30C3><U+30AF><U+30B9> in "
	    "example.org");
	CHECK(creds_lookup(&c, name, namelen, "example.org", 11, 0, &r) == CREDS_FOUND);
	CHECKM(vector_hex(v, "hmac_key_hex", key, sizeof key) == 32 &&
		memcmp(r.keys[0].sha256, key, 32) == 0,
	    "the found user's SHA-256 key is B.1's");
	CHECKM(integrity_verify(&m, true, r.keys[0].sha256, 32),
	    "B.1's MESSAGE-INTEGRITY-SHA256 verifies with the key found by hash");
	creds_static_free(b1);
}

/* auth_check with USERHASH: only with the userhash option and its nonce cookie bit. */
static void
test_userhash(void)
{
	char n[AUTH_NONCE_MAX], plain[AUTH_NONCE_MAX];
	static struct auth_result r; /* r.user may point into r.userbuf: never copied */
	struct req q = {.user = "alice",
	    .mi_sha256 = true,
	    .key_alg = STUN_PWALG_SHA256,
	    .password = "s3cret",
	    .pwalgs = offered,
	    .pwalgslen = sizeof offered,
	    .pwalg = STUN_PWALG_SHA256,
	    .userhash = true};

	cfg.sha256 = true;
	auth_nonce_make(&cfg, &tup, 1000, plain);
	cfg.userhash = true;
	auth_nonce_make(&cfg, &tup, 1000, n);
	CHECKM(strncmp(n, "obMatJos2AAAD", 13) == 0 && auth_nonce_has_anonymity((uint8_t *)n, 13) &&
		auth_nonce_has_pwalgs((uint8_t *)n, 13),
	    "userhash: the cookie offers username anonymity and password algorithms (AAAD)");
	CHECK(!auth_nonce_has_anonymity((const uint8_t *)plain, strlen(plain)));
	q.nonce = n;
	auth_check(&cfg, &creds, &tup, request(&q), 1000, &r);
	CHECKM(r.error == 0 && r.userlen == 5 && memcmp(r.user, "alice", 5) == 0 && r.mac_sha256,
	    "USERHASH of alice: authenticated as alice, answered with MESSAGE-INTEGRITY-SHA256");
	q.password = "wrong";
	auth_check(&cfg, &creds, &tup, request(&q), 1000, &r);
	CHECKM(r.error == 401 && r.challenge, "USERHASH with a wrong password: 401");
	q.password = "s3cret";
	q.user = "nobody";
	auth_check(&cfg, &creds, &tup, request(&q), 1000, &r);
	CHECKM(r.error == 401 && r.challenge, "USERHASH of an unknown user: 401");
	q.user = "alice";
	q.nonce = plain;
	auth_check(&cfg, &creds, &tup, request(&q), 1000, &r);
	CHECKM(r.error == 400, "USERHASH after a nonce that did not offer anonymity: 400");
	cfg.userhash = false;
	q.nonce = n;
	auth_check(&cfg, &creds, &tup, request(&q), 1000, &r);
	CHECKM(r.error == 400, "userhash off: USERHASH without USERNAME is a 400");
	q.userhash = false;
	q.nonce = plain;
	auth_check(&cfg, &creds, &tup, request(&q), 1000, &r);
	CHECKM(r.error == 0, "userhash off: USERNAME still works");
}

static void
test_challenge(void)
{
	struct stun_build b;
	const struct stun_attr *a;
	const char *errstr;
	uint8_t tid[12] = {0};
	size_t len;

	cfg.sha256 = true;
	stun_build_init(&b, buf, sizeof buf, STUN_ALLOCATE, STUN_ERROR, tid);
	stun_build_error(&b, 401, NULL);
	CHECK(auth_build_challenge(&b, &cfg, &tup, 1000) == 0);
	CHECK(stun_build_finish(&b, &len) == 0 && stun_decode(&msg, buf, len, &errstr) == 0);
	CHECK((a = stun_find(&msg, STUN_ATTR_REALM)) != NULL && a->len == strlen(REALM));
	CHECK((a = stun_find(&msg, STUN_ATTR_NONCE)) != NULL &&
	    auth_nonce_valid(&cfg, &tup, stun_attr_value(&msg, a), a->len, 1000));
	CHECK((a = stun_find(&msg, STUN_ATTR_PASSWORD_ALGORITHMS)) != NULL &&
	    a->len == sizeof offered && memcmp(stun_attr_value(&msg, a), offered, a->len) == 0);
	cfg.sha256 = false;
	stun_build_init(&b, buf, sizeof buf, STUN_ALLOCATE, STUN_ERROR, tid);
	auth_build_challenge(&b, &cfg, &tup, 1000);
	CHECK(stun_build_finish(&b, &len) == 0 && stun_decode(&msg, buf, len, &errstr) == 0);
	CHECK(stun_find(&msg, STUN_ATTR_PASSWORD_ALGORITHMS) == NULL);
}

/* RFC 7635: one AS-RS key, "north", as coturn's test database has it. */
static struct oauth_key okey;

static int
oauth_lookup(void *ctx, const char *kid, size_t kidlen, struct oauth_key *out)
{
	if (kidlen != strlen(okey.kid) || memcmp(kid, okey.kid, kidlen) != 0)
		return CREDS_UNKNOWN;
	*out = okey;
	return CREDS_FOUND;
}

static int
no_users(void *ctx, const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint64_t now, struct creds_result *out)
{
	return CREDS_UNKNOWN;
}

/* An Allocate (or, without tok, a CreatePermission) from kid signed with key. */
static const struct stun_msg *
oauth_request(const char *kid, const uint8_t *tok, size_t toklen, const char *nonce,
    const uint8_t *key, size_t keylen)
{
	static const uint8_t tid[12] = {1, 2, 3};
	struct stun_build b;
	const char *errstr;
	size_t len;

	stun_build_init(&b, buf, sizeof buf, STUN_ALLOCATE, STUN_REQUEST, tid);
	stun_build_u8(&b, STUN_ATTR_REQUESTED_TRANSPORT, 17);
	if (tok != NULL)
		stun_build_attr(&b, STUN_ATTR_ACCESS_TOKEN, tok, toklen);
	stun_build_string(&b, STUN_ATTR_USERNAME, kid);
	stun_build_string(&b, STUN_ATTR_REALM, REALM);
	stun_build_string(&b, STUN_ATTR_NONCE, nonce);
	stun_build_integrity(&b, key, keylen);
	if (stun_build_finish(&b, &len) == -1 || stun_decode(&msg, buf, len, &errstr) != 0)
		abort();
	return &msg;
}

static size_t
oauth_token(const char *server, uint64_t ts, uint32_t lifetime, const uint8_t mac[20], uint8_t *out)
{
	static const uint8_t nonce[OAUTH_GCM_NONCE_LEN] = {7, 7, 7};
	struct oauth_token t = {{0}, 20, ts << 16, lifetime};

	memcpy(t.mac_key, mac, 20);
	return oauth_token_seal(&okey, server, nonce, &t, out, OAUTH_TOKEN_MAX);
}

static void
test_oauth(void)
{
	static const struct creds_ops ops = {no_users, oauth_lookup, NULL, NULL};
	const uint8_t mac[20] = "session-key-20-bytes", other[20] = "another-key-20-bytes";
	struct creds oc = {&ops, NULL};
	uint8_t tok[OAUTH_TOKEN_MAX], stolen[OAUTH_TOKEN_MAX];
	struct auth_session sess;
	char n[AUTH_NONCE_MAX];
	struct auth_result r;
	const char *errstr;
	size_t len, slen;

	cfg.sha256 = false;
	cfg.oauth = true;
	cfg.server_name = "blackdow.carleon.gov";
	if (oauthkey_make("north", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEK", "A256GCM", 0, 0,
		"crinna.org", &okey, &errstr) == -1)
		abort();
	auth_nonce_make(&cfg, &tup, 1000, n);
	len = oauth_token(cfg.server_name, 990, 600, mac, tok);
	auth_check(&cfg, &oc, &tup, oauth_request("north", tok, len, n, mac, 20), 1000, &r);
	CHECKM(r.error == 0 && r.oauth && r.keylen == 20 && memcmp(r.key, mac, 20) == 0 &&
		r.expires_unix == 1590,
	    "a fresh token for this server: the mac_key is the session key");
	CHECKM(r.realmlen == 10 && memcmp(r.realm, "crinna.org", 10) == 0,
	    "a key with a realm (oauth_key.realm) binds the session to that realm, as coturn");
	auth_check(&cfg, &oc, &tup, oauth_request("north", tok, len, n, mac, 16), 1000, &r);
	CHECKM(r.error == 0 && r.keylen == 16, "coturn's clients key HMAC with 16 bytes of it");
	auth_check(&cfg, &oc, &tup, oauth_request("north", tok, len, n, other, 20), 1000, &r);
	CHECKM(r.error == 401 && r.challenge && !r.oauth,
	    "a replayed token with a MAC by another key: 401");
	auth_check(&cfg, &oc, &tup, oauth_request("union", tok, len, n, mac, 20), 1000, &r);
	CHECKM(r.error == 401, "an unknown kid: 401");
	auth_check(&cfg, &oc, &tup, oauth_request("north", tok, len, n, mac, 20), 1600, &r);
	CHECKM(r.error == 438, "the nonce is checked first: 438");
	auth_nonce_make(&cfg, &tup, 1595, n);
	auth_check(&cfg, &oc, &tup, oauth_request("north", tok, len, n, mac, 20), 1596, &r);
	CHECKM(r.error == 401, "an expired token: 401");
	auth_nonce_make(&cfg, &tup, 1000, n);
	slen = oauth_token("other.example", 990, 600, mac, stolen);
	auth_check(&cfg, &oc, &tup, oauth_request("north", stolen, slen, n, mac, 20), 1000, &r);
	CHECKM(r.error == 401, "a token sealed for another server: 401");
	memcpy(stolen, tok, len);
	stolen[len - 1] ^= 1;
	auth_check(&cfg, &oc, &tup, oauth_request("north", stolen, len, n, mac, 20), 1000, &r);
	CHECKM(r.error == 401, "a forged token (tag altered): 401");
	slen = oauth_token(cfg.server_name, 2000, 600, mac, stolen);
	auth_check(&cfg, &oc, &tup, oauth_request("north", stolen, slen, n, mac, 20), 1000, &r);
	CHECKM(r.error == 401, "a token from the future: 401");
	auth_check(&cfg, &oc, &tup, oauth_request("north", tok, 10, n, mac, 20), 1000, &r);
	CHECKM(r.error == 401, "a truncated token: 401");
	cfg.oauth = false;
	auth_check(&cfg, &oc, &tup, oauth_request("north", tok, len, n, mac, 20), 1000, &r);
	CHECKM(r.error == 401 && !r.oauth, "oauth off: tokens are not accepted");
	cfg.oauth = true;

	okey.realm[0] = '\0';
	auth_check(&cfg, &oc, &tup, oauth_request("north", tok, len, n, mac, 20), 1000, &r);
	CHECKM(r.error == 0 && r.realmlen == strlen(cfg.realm) &&
		memcmp(r.realm, cfg.realm, r.realmlen) == 0,
	    "a key without a realm: the session is in the realm the request was answered in");
	memcpy(okey.realm, "crinna.org", 11);

	memset(&sess, 0, sizeof sess);
	memcpy(sess.key, mac, 20);
	sess.keylen = 20;
	sess.expires_unix = 1590;
	memcpy(sess.realm, "crinna.org", 10);
	sess.realmlen = 10;
	auth_check_session(&cfg, &oc, &tup, oauth_request("union", NULL, 0, n, mac, 20), 1000,
	    &sess, &r);
	CHECKM(r.error == 0 && r.oauth && r.keylen == 20,
	    "no token on a token's allocation: its session key verifies");
	CHECKM(r.realmlen == 10 && memcmp(r.realm, "crinna.org", 10) == 0,
	    "... in the realm of the token's key");
	auth_check_session(&cfg, &oc, &tup, oauth_request("north", NULL, 0, n, other, 20), 1000,
	    &sess, &r);
	CHECKM(r.error == 401, "the session key only");
	auth_nonce_make(&cfg, &tup, 1595, n);
	auth_check_session(&cfg, &oc, &tup, oauth_request("north", NULL, 0, n, mac, 20), 1596,
	    &sess, &r);
	CHECKM(r.error == 401, "the session ends with its token");
	cfg.oauth = false;
	cfg.server_name = NULL;
}

static void
test_oauth_challenge(void)
{
	const struct stun_attr *a;
	struct stun_build b;
	const char *errstr;
	uint8_t tid[12] = {0};
	size_t len;

	cfg.oauth = true;
	stun_build_init(&b, buf, sizeof buf, STUN_ALLOCATE, STUN_ERROR, tid);
	stun_build_error(&b, 401, NULL);
	auth_build_challenge(&b, &cfg, &tup, 1000);
	CHECK(stun_build_finish(&b, &len) == 0 && stun_decode(&msg, buf, len, &errstr) == 0);
	CHECKM((a = stun_find(&msg, STUN_ATTR_THIRD_PARTY_AUTHORIZATION)) != NULL &&
		a->len == strlen(REALM) && memcmp(stun_attr_value(&msg, a), REALM, a->len) == 0,
	    "THIRD-PARTY-AUTHORIZATION: the realm without server-name");
	cfg.server_name = "turn.example.net";
	stun_build_init(&b, buf, sizeof buf, STUN_ALLOCATE, STUN_ERROR, tid);
	stun_build_error(&b, 401, NULL);
	auth_build_challenge(&b, &cfg, &tup, 1000);
	CHECK(stun_build_finish(&b, &len) == 0 && stun_decode(&msg, buf, len, &errstr) == 0);
	CHECKM((a = stun_find(&msg, STUN_ATTR_THIRD_PARTY_AUTHORIZATION)) != NULL &&
		a->len == strlen(cfg.server_name),
	    "THIRD-PARTY-AUTHORIZATION: server-name");
	cfg.oauth = false;
	cfg.server_name = NULL;
	stun_build_init(&b, buf, sizeof buf, STUN_ALLOCATE, STUN_ERROR, tid);
	auth_build_challenge(&b, &cfg, &tup, 1000);
	CHECK(stun_build_finish(&b, &len) == 0 && stun_decode(&msg, buf, len, &errstr) == 0);
	CHECKM(stun_find(&msg, STUN_ATTR_THIRD_PARTY_AUTHORIZATION) == NULL, "none without oauth");
}

int
main(void)
{
	setup();
	test_nonce();
	test_md5();
	test_rest_rotation();
	test_sha256();
	test_backend_failure();
	test_origin_realms();
	test_userhash_b1();
	test_userhash();
	test_challenge();
	test_oauth();
	test_oauth_challenge();
	creds_static_free(cs);
	return unit_done();
}
