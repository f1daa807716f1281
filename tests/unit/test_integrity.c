/* Unit tests for src/stun/integrity.c: HMACs, FINGERPRINT; long-term keys are test_credkey's. */
#include <stdint.h>
#include <string.h>

#include "turnpike/buf.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"
#include "unit.h"

static const uint8_t test_tid[STUN_TID_LEN] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
static const uint8_t test_key[] = "a short-term password";
#define TEST_KEYLEN (sizeof test_key - 1)

static bool
hex_is(const uint8_t *got, size_t len, const char *hex)
{
	uint8_t want[128];

	return unit_unhex(hex, want, sizeof want) == (int)len && memcmp(got, want, len) == 0;
}

/* The integrity_* names for the credkey helpers give credkey's results. */
static void
test_credkey_names(void)
{
	uint8_t key[INTEGRITY_MAX_KEY_LEN], want[CREDKEY_MAX_LEN], hash[32], hash2[32];
	size_t keylen = 0, wantlen = 0;

	CHECK(integrity_key_long_term(STUN_PWALG_SHA256, "u", 1, "r", 1, "pass", 4, key, &keylen) ==
		0 &&
	    credkey_long_term(CREDKEY_SHA256, "u", 1, "r", 1, "pass", 4, want, &wantlen) == 0 &&
	    keylen == 32 && wantlen == 32 && memcmp(key, want, 32) == 0);
	CHECK(integrity_key_long_term(STUN_PWALG_MD5, "u", 1, "r", 1, "", 0, key, &keylen) == -1);
	integrity_userhash("u", 1, "r", 1, hash);
	credkey_userhash("u", 1, "r", 1, hash2);
	CHECK(memcmp(hash, hash2, 32) == 0);
	CHECK(integrity_equal("abc", "abc", 3) && !integrity_equal("abc", "abd", 3));
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
	test_credkey_names();
	test_primitives();
	test_both();
	test_after_mi();
	test_truncated_sha256();
	test_prepared_key();
	return unit_done();
}
