/* Unit tests for src/stun/integrity.c: HMACs, long-term keys, USERHASH, FINGERPRINT. */
#include <stdint.h>
#include <string.h>

#include "turnpike/buf.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"
#include "unit.h"
#include "vectors.h"

static const uint8_t test_tid[STUN_TID_LEN] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
static const uint8_t test_key[] = "a short-term password";
#define TEST_KEYLEN (sizeof test_key - 1)

static bool
hex_is(const uint8_t *got, size_t len, const char *hex)
{
	uint8_t want[128];

	return unit_unhex(hex, want, sizeof want) == (int)len && memcmp(got, want, len) == 0;
}

static void
test_vector_keys(const struct vector *v)
{
	uint8_t pass[256], user[256], realm[256], key[INTEGRITY_MAX_KEY_LEN], hash[32];
	uint8_t want[INTEGRITY_MAX_KEY_LEN];
	int passlen = vector_hex(v, "password_before_saslprep_hex", pass, sizeof pass);
	int userlen = vector_hex(v, "username_hex", user, sizeof user);
	int realmlen = vector_hex(v, "realm_hex", realm, sizeof realm);
	int wantlen = vector_hex(v, "hmac_key_hex", want, sizeof want);
	uint16_t alg = wantlen == 16 ? STUN_PWALG_MD5 : STUN_PWALG_SHA256;
	size_t keylen = 0;

	if (passlen < 0)
		passlen = vector_hex(v, "password_before_opaquestring_hex", pass, sizeof pass);
	if (passlen < 0)
		return; /* short-term vector */
	printf("# vector %s\n", vector_name(v));
	CHECK(userlen > 0 && realmlen > 0 && (wantlen == 16 || wantlen == 32));
	CHECKM(integrity_key_long_term(alg, (char *)user, (size_t)userlen, (char *)realm,
		   (size_t)realmlen, (char *)pass, (size_t)passlen, key, &keylen) == 0 &&
		keylen == (size_t)wantlen && memcmp(key, want, keylen) == 0,
	    "long-term key from the password before preparation");
	passlen = vector_hex(v, "password_hex", pass, sizeof pass);
	CHECKM(integrity_key_long_term(alg, (char *)user, (size_t)userlen, (char *)realm,
		   (size_t)realmlen, (char *)pass, (size_t)passlen, key, &keylen) == 0 &&
		keylen == (size_t)wantlen && memcmp(key, want, keylen) == 0,
	    "long-term key from the prepared password");
	if (vector_get(v, "userhash_hex") != NULL) {
		integrity_userhash((char *)user, (size_t)userlen, (char *)realm, (size_t)realmlen,
		    hash);
		CHECK(hex_is(hash, sizeof hash, vector_get(v, "userhash_hex")));
	}
}

static void
test_vectors(void)
{
	struct vector vs[VECTORS_MAX];
	int i, n = vectors_load(TEST_DATADIR "/rfc5769_vectors.txt", vs);

	CHECKM(n == 5, "five vectors in rfc5769_vectors.txt");
	for (i = 0; i < n; i++)
		test_vector_keys(&vs[i]);
}

static void
test_long_term(void)
{
	uint8_t key[INTEGRITY_MAX_KEY_LEN], key2[INTEGRITY_MAX_KEY_LEN];
	static char wide[3 * 600 + 1], ascii[4 * 600 + 1];
	size_t keylen = 0, keylen2 = 0;
	int i;

	/* MD5("user:realm:pass"), computed independently. */
	CHECK(integrity_key_long_term(STUN_PWALG_MD5, "user", 4, "realm", 5, "pass", 4, key,
		  &keylen) == 0 &&
	    keylen == 16 && hex_is(key, 16, "8493fbc53ba582fb4c044c456bdc40eb"));
	CHECK(integrity_key_long_term(3, "user", 4, "realm", 5, "pass", 4, key, &keylen) == -1);
	CHECK(integrity_key_long_term(STUN_PWALG_MD5, "u", 1, "r", 1, "", 0, key, &keylen) == -1);
	CHECK(
	    integrity_key_long_term(STUN_PWALG_MD5, "u", 1, "r", 1, "a\tb", 3, key, &keylen) == -1);
	CHECK(integrity_key_long_term(STUN_PWALG_SHA256, "u", 1, "r", 1, "\xc3", 1, key, &keylen) ==
	    -1);
	/* A prepared password larger than the stack buffer: 600 x U+2177 -> "viii". */
	wide[0] = ascii[0] = '\0';
	for (i = 0; i < 600; i++) {
		strcat(wide, "\xe2\x85\xb7");
		strcat(ascii, "viii");
	}
	CHECK(integrity_key_long_term(STUN_PWALG_SHA256, "u", 1, "r", 1, wide, strlen(wide), key,
		  &keylen) == 0);
	CHECK(integrity_key_long_term(STUN_PWALG_SHA256, "u", 1, "r", 1, ascii, strlen(ascii), key2,
		  &keylen2) == 0);
	CHECK(keylen == 32 && keylen2 == 32 && memcmp(key, key2, 32) == 0);
}

static void
test_primitives(void)
{
	uint8_t key[20], mac[INTEGRITY_SHA256_LEN];

	/* CRC-32 check value of "123456789" is 0xcbf43926 (then xored, RFC 8489 §14.7). */
	CHECK(
	    integrity_fingerprint((const uint8_t *)"123456789", 9) == (0xcbf43926u ^ 0x5354554eu));
	CHECK(integrity_fingerprint((const uint8_t *)"", 0) == 0x5354554eu);
	/* RFC 2202 test case 1 and RFC 4231 test cases 1 and 2. */
	memset(key, 0x0b, sizeof key);
	CHECK(integrity_hmac(false, key, 20, (const uint8_t *)"Hi There", 8, mac) == 0 &&
	    hex_is(mac, 20, "b617318655057264e28bc0b6fb378c8ef146be00"));
	CHECK(integrity_hmac(true, key, 20, (const uint8_t *)"Hi There", 8, mac) == 0 &&
	    hex_is(mac, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
	CHECK(integrity_hmac(true, (const uint8_t *)"Jefe", 4,
		  (const uint8_t *)"what do ya want for nothing?", 28, mac) == 0 &&
	    hex_is(mac, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
	CHECK(integrity_hmac(false, (const uint8_t *)"", 0, (const uint8_t *)"", 0, mac) == 0 &&
	    hex_is(mac, 20, "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d"));
	CHECK(integrity_equal("abc", "abc", 3) && !integrity_equal("abc", "abd", 3));
	CHECK(integrity_equal("", "x", 0));
}

/* A Binding request with SOFTWARE and the given trailer; returns its length. */
static size_t
build(uint8_t *out, size_t cap, bool mi, bool mi256, bool fp)
{
	struct stun_build b;
	size_t len = 0;

	stun_build_init(&b, out, cap, STUN_BINDING, STUN_REQUEST, test_tid);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "integrity test");
	if (mi)
		stun_build_integrity(&b, test_key, TEST_KEYLEN);
	if (mi256)
		stun_build_integrity_sha256(&b, test_key, TEST_KEYLEN);
	if (fp)
		stun_build_fingerprint(&b);
	return stun_build_finish(&b, &len) == 0 ? len : 0;
}

static bool
verifies(const uint8_t *p, size_t len, bool sha256)
{
	const char *errstr;
	struct stun_msg m;

	return stun_decode(&m, p, len, &errstr) == 0 &&
	    integrity_verify(&m, sha256, test_key, TEST_KEYLEN);
}

static void
test_both(void)
{
	uint8_t out[256];
	size_t len = build(out, sizeof out, true, true, true);
	const char *errstr;
	struct stun_msg m;

	CHECK(len > 0 && stun_decode(&m, out, len, &errstr) == 0);
	CHECK(integrity_verify(&m, false, test_key, TEST_KEYLEN));
	CHECK(integrity_verify(&m, true, test_key, TEST_KEYLEN));
	CHECK(integrity_fingerprint_ok(&m));
	CHECK(!integrity_verify(&m, false, test_key, TEST_KEYLEN - 1));
	/* MESSAGE-INTEGRITY-SHA256 covers MESSAGE-INTEGRITY. */
	out[20 + 20 + 4] ^= 1;
	CHECK(!verifies(out, len, false) && !verifies(out, len, true));
	out[20 + 20 + 4] ^= 1;
	/* FINGERPRINT covers everything. */
	out[len - 1] ^= 1;
	CHECK(stun_decode(&m, out, len, &errstr) == 0 && !integrity_fingerprint_ok(&m));
	CHECK(integrity_verify(&m, false, test_key, TEST_KEYLEN));
	out[len - 1] ^= 1;
	len = build(out, sizeof out, false, false, false);
	CHECK(stun_decode(&m, out, len, &errstr) == 0 && !integrity_fingerprint_ok(&m) &&
	    !integrity_verify(&m, false, test_key, TEST_KEYLEN) &&
	    !integrity_verify(&m, true, test_key, TEST_KEYLEN));
}

/* A SOFTWARE attribute appended after MESSAGE-INTEGRITY is ignored and not covered. */
static void
test_after_mi(void)
{
	uint8_t out[256];
	size_t len = build(out, sizeof out, true, false, false);
	const char *errstr;
	struct stun_msg m;

	memcpy(out + len,
	    "\x80\x22\x00\x03"
	    "abc\x00",
	    8);
	buf_store_u16(out + 2, (uint16_t)(len + 8 - STUN_HEADER_LEN));
	CHECK(stun_decode(&m, out, len + 8, &errstr) == 0 && m.nattrs == 2);
	CHECK(integrity_verify(&m, false, test_key, TEST_KEYLEN));
}

/* MESSAGE-INTEGRITY-SHA256 truncated to 16 bytes (RFC 8489 §14.6). */
static void
test_truncated_sha256(void)
{
	uint8_t out[256], mac[INTEGRITY_SHA256_LEN];
	struct stun_build b;
	const char *errstr;
	struct stun_msg m;
	size_t len;

	stun_build_init(&b, out, sizeof out, STUN_BINDING, STUN_REQUEST, test_tid);
	stun_build_string(&b, STUN_ATTR_USERNAME, "someone");
	stun_build_finish(&b, &len);
	buf_store_u16(out + 2, (uint16_t)(len + 4 + 16 - STUN_HEADER_LEN));
	CHECK(integrity_hmac(true, test_key, TEST_KEYLEN, out, len, mac) == 0);
	stun_build_attr(&b, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, mac, 16);
	CHECK(stun_build_finish(&b, &len) == 0);
	CHECK(stun_decode(&m, out, len, &errstr) == 0 && m.attrs[m.mi_sha256].len == 16);
	CHECK(integrity_verify(&m, true, test_key, TEST_KEYLEN));
	out[len - 16] ^= 0x80;
	CHECK(!verifies(out, len, true));
}

/* A key set up once gives the same MACs as one set up per call, any number of times. */
static void
test_prepared_key(void)
{
	static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";
	static const uint8_t msg[] = "a nonce's covered bytes";
	uint8_t want[32], got[32];
	struct integrity_key *k;
	bool sha256;
	int i;

	for (i = 0; i < 2; i++) {
		sha256 = i == 1;
		k = integrity_key_create(sha256, key, sizeof key);
		CHECK(k != NULL);
		CHECK(integrity_hmac(sha256, key, sizeof key, msg, sizeof msg, want) == 0);
		memset(got, 0, sizeof got);
		CHECKM(integrity_key_hmac(k, msg, sizeof msg, got) == 0 &&
			memcmp(got, want, sha256 ? 32 : 20) == 0,
		    sha256 ? "prepared HMAC-SHA256 key" : "prepared HMAC-SHA1 key");
		memset(got, 0, sizeof got);
		CHECKM(integrity_key_hmac(k, msg, sizeof msg, got) == 0 &&
			memcmp(got, want, sha256 ? 32 : 20) == 0,
		    "the prepared key is unchanged by use");
		CHECK(integrity_key_hmac(k, msg, 3, got) == 0 && memcmp(got, want, 20) != 0);
		integrity_key_free(k);
	}
	integrity_key_free(NULL);
}

int
main(void)
{
	test_vectors();
	test_long_term();
	test_primitives();
	test_both();
	test_after_mi();
	test_truncated_sha256();
	test_prepared_key();
	return unit_done();
}
