/*
 * Unit tests for src/common/credkey.c: long-term keys, USERHASH, REST API passwords,
 * constant-time compare.
 */
#include <stdint.h>
#include <string.h>

#include "turnpike/credkey.h"
#include "unit.h"
#include "vectors.h"

static bool
hex_is(const uint8_t *got, size_t len, const char *hex)
{
	uint8_t want[128];

	return unit_unhex(hex, want, sizeof want) == (int)len && memcmp(got, want, len) == 0;
}

static void
test_vector_keys(const struct vector *v)
{
	uint8_t pass[256], user[256], realm[256], key[CREDKEY_MAX_LEN], hash[32];
	uint8_t want[CREDKEY_MAX_LEN];
	int passlen = vector_hex(v, "password_before_saslprep_hex", pass, sizeof pass);
	int userlen = vector_hex(v, "username_hex", user, sizeof user);
	int realmlen = vector_hex(v, "realm_hex", realm, sizeof realm);
	int wantlen = vector_hex(v, "hmac_key_hex", want, sizeof want);
	uint16_t alg = wantlen == 16 ? CREDKEY_MD5 : CREDKEY_SHA256;
	size_t keylen = 0;

	if (passlen < 0)
		passlen = vector_hex(v, "password_before_opaquestring_hex", pass, sizeof pass);
	if (passlen < 0)
		return; /* short-term vector */
	printf("# vector %s\n", vector_name(v));
	CHECK(userlen > 0 && realmlen > 0 && (wantlen == 16 || wantlen == 32));
	CHECKM(credkey_long_term(alg, (char *)user, (size_t)userlen, (char *)realm,
		   (size_t)realmlen, (char *)pass, (size_t)passlen, key, &keylen) == 0 &&
		keylen == (size_t)wantlen && memcmp(key, want, keylen) == 0,
	    "long-term key from the password before preparation");
	passlen = vector_hex(v, "password_hex", pass, sizeof pass);
	CHECKM(credkey_long_term(alg, (char *)user, (size_t)userlen, (char *)realm,
		   (size_t)realmlen, (char *)pass, (size_t)passlen, key, &keylen) == 0 &&
		keylen == (size_t)wantlen && memcmp(key, want, keylen) == 0,
	    "long-term key from the prepared password");
	if (vector_get(v, "userhash_hex") != NULL) {
		credkey_userhash((char *)user, (size_t)userlen, (char *)realm, (size_t)realmlen,
		    hash);
		CHECK(hex_is(hash, sizeof hash, vector_get(v, "userhash_hex")));
	}
}

static void
test_vectors(void)
{
	CHECKM(vectors_each(TEST_DATADIR "/rfc5769_vectors.txt", test_vector_keys) == 5,
	    "five vectors in rfc5769_vectors.txt");
}

static void
test_long_term(void)
{
	uint8_t key[CREDKEY_MAX_LEN], key2[CREDKEY_MAX_LEN];
	static char wide[3 * 600 + 1], ascii[4 * 600 + 1];
	size_t keylen = 0, keylen2 = 0;
	int i;

	/* MD5("user:realm:pass"), computed independently. */
	CHECK(credkey_long_term(CREDKEY_MD5, "user", 4, "realm", 5, "pass", 4, key, &keylen) == 0 &&
	    keylen == 16 && hex_is(key, 16, "8493fbc53ba582fb4c044c456bdc40eb"));
	CHECK(credkey_long_term(3, "user", 4, "realm", 5, "pass", 4, key, &keylen) == -1);
	CHECK(credkey_long_term(CREDKEY_MD5, "u", 1, "r", 1, "", 0, key, &keylen) == -1);
	CHECK(credkey_long_term(CREDKEY_MD5, "u", 1, "r", 1, "a\tb", 3, key, &keylen) == -1);
	CHECK(credkey_long_term(CREDKEY_SHA256, "u", 1, "r", 1, "\xc3", 1, key, &keylen) == -1);
	/* A prepared password larger than the stack buffer: 600 x U+2177 -> "viii". */
	wide[0] = ascii[0] = '\0';
	for (i = 0; i < 600; i++) {
		strcat(wide, "\xe2\x85\xb7");
		strcat(ascii, "viii");
	}
	CHECK(credkey_long_term(CREDKEY_SHA256, "u", 1, "r", 1, wide, strlen(wide), key, &keylen) ==
	    0);
	CHECK(credkey_long_term(CREDKEY_SHA256, "u", 1, "r", 1, ascii, strlen(ascii), key2,
		  &keylen2) == 0);
	CHECK(keylen == 32 && keylen2 == 32 && memcmp(key, key2, 32) == 0);
}

static void
test_rest_password(void)
{
	char pw[CREDKEY_REST_PASSWORD_MAX];

	/* printf %s 1800000000:bob | openssl dgst -sha1 -hmac turnpike-secret -binary | base64 */
	CHECKM(credkey_rest_password(false, "turnpike-secret", 15, "1800000000:bob", 14, pw,
		   sizeof pw) == 0 &&
		strcmp(pw, "m4fCTWUqByDlBOYI9g91aFMyRR4=") == 0,
	    "the HMAC-SHA1 REST password equals the openssl recipe's");
	/* The same with openssl dgst -sha256. */
	CHECKM(credkey_rest_password(true, "turnpike-secret", 15, "1800000000:bob", 14, pw,
		   sizeof pw) == 0 &&
		strcmp(pw, "dyz7spTUe/6z8vsY1PIv/BEvHfvLgmmgP0FWVQ7hSE0=") == 0,
	    "the HMAC-SHA256 REST password equals the openssl recipe's");
	/* Text and NUL: 29 and 45 bytes fit, one less does not. */
	CHECK(credkey_rest_password(false, "s", 1, "u", 1, pw, 29) == 0 && strlen(pw) == 28);
	CHECK(credkey_rest_password(false, "s", 1, "u", 1, pw, 28) == -1);
	CHECK(credkey_rest_password(true, "s", 1, "u", 1, pw, 45) == 0 && strlen(pw) == 44);
	CHECK(credkey_rest_password(true, "s", 1, "u", 1, pw, 44) == -1);
	CHECK(CREDKEY_REST_PASSWORD_MAX == 45);
}

static void
test_equal(void)
{
	CHECK(credkey_equal("abc", "abc", 3) && !credkey_equal("abc", "abd", 3));
	CHECK(credkey_equal("", "x", 0));
}

int
main(void)
{
	test_vectors();
	test_long_term();
	test_rest_password();
	test_equal();
	return unit_done();
}
