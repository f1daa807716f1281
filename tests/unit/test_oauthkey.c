/* Unit tests for src/common/oauthkey.c: RFC 7635 AS-RS keys from coturn's oauth_key rows. */
#include <stdint.h>
#include <string.h>

#include "turnpike/oauthkey.h"
#include "unit.h"

static void
test_alg(void)
{
	enum oauth_alg alg;

	CHECK(oauthkey_alg_parse("a256_gcm", &alg) == -1);
	CHECK(oauthkey_alg_parse("a128gcm", &alg) == 0 && alg == OAUTH_A128GCM);
	CHECK(oauthkey_alg_parse("A256GCM", &alg) == 0 && alg == OAUTH_A256GCM);
	CHECK(oauthkey_alg_parse("", &alg) == 0 && alg == OAUTH_A256GCM);
	CHECK(oauthkey_alg_parse("HS256", &alg) == -1);
	CHECK(strcmp(oauthkey_alg_name(OAUTH_A128GCM), "A128GCM") == 0);
	CHECK(strcmp(oauthkey_alg_name(OAUTH_A256GCM), "A256GCM") == 0);
}

static void
test_make(void)
{
	struct oauth_key k;
	const char *e = NULL;

	/* coturn's testsqldbsetup.sql rows: 33 and 17 bytes of ikm. */
	CHECKM(oauthkey_make("north", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEK", "A256GCM", 0,
		   0, "crinna.org", &k, &e) == 0 &&
		k.keylen == 32 && memcmp(k.key, "01234567890123456789012345678901", 32) == 0 &&
		strcmp(k.realm, "crinna.org") == 0,
	    "north: the first 32 bytes of ikm are the A256GCM key");
	CHECKM(oauthkey_make("union", "MTIzNDU2Nzg5MDEyMzQ1Ngo=", "A128GCM", 0, 0, "north.gov", &k,
		   &e) == 0 &&
		k.keylen == 16 && memcmp(k.key, "1234567890123456", 16) == 0,
	    "union: the first 16 bytes of ikm are the A128GCM key");
	CHECKM(oauthkey_make("union", "MTIzNDU2Nzg5MDEyMzQ1Ngo=", "A256GCM", 0, 0, "", &k, &e) ==
		-1,
	    "17 bytes of ikm are too short for A256GCM");
	CHECK(oauthkey_make("x", "not base64!", "A128GCM", 0, 0, "", &k, &e) == -1);
	CHECK(oauthkey_make("x", "MTIz", "A128GCM", 0, 0, "", &k, &e) == -1);
	CHECK(oauthkey_make("", "MTIzNDU2Nzg5MDEyMzQ1Ngo=", "A128GCM", 0, 0, "", &k, &e) == -1);
	CHECK(oauthkey_make("x", "MTIzNDU2Nzg5MDEyMzQ1Ngo=", "RSA", 0, 0, "", &k, &e) == -1);
	CHECKM(oauthkey_make("x", "MTIzNDU2Nzg5MDEyMzQ1Ngo=", "A128GCM", 100, 50, "", &k, &e) ==
		    0 &&
		strcmp(k.kid, "x") == 0 && k.alg == OAUTH_A128GCM && k.timestamp == 100 &&
		k.lifetime == 50,
	    "the row's kid, alg, timestamp and lifetime are kept");
}

int
main(void)
{
	test_alg();
	test_make();
	return unit_done();
}
