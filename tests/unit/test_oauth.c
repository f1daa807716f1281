/* Unit tests for src/stun/oauth.c: RFC 7635 AES-GCM access tokens and key validity. */
#include <stdint.h>
#include <string.h>

#include "turnpike/oauth.h"
#include "unit.h"

/*
 * coturn's rfc5769check inputs (server name, key, mac_key, timestamp, lifetime,
 * nonce) sealed by an independent AES-GCM (Python's cryptography package).
 */
#define KAT_SERVER "blackdow.carleon.gov"
#define KAT_KEY_B64 "SEdrajMyS0pHaXV5MDk4c2RmYXFiTmpPaWF6NzE5MjM="
#define KAT_MAC "ZksjpweoixXmvn67534m"
#define KAT_TS 92470300704768ULL
#define KAT_NONCE "h4j3k2l2n4b5"
static const char kat_a256[] =
    "000c68346a336b326c326e346235617ef134a3d5e44e9a19cc7dc104b0c03d03b2a551d8fdf5cd3b6dca6f10"
    "cfb77e5b2ddec84d293a5c50499359f0c2e26f76";
static const char kat_a128[] =
    "000c68346a336b326c326e3462357fb9e99f0827be3df1e1bd651493d3031d36df57079784aee5eacb65fad4"
    "f27fab1a3f97974b69f851b24bf5af09eda357e0";

/* The key's own validity window (oauth_key_valid); test_oauthkey covers building keys. */
static void
test_key_valid(void)
{
	struct oauth_key k;
	const char *e = NULL;

	CHECK(oauthkey_make("x", "MTIzNDU2Nzg5MDEyMzQ1Ngo=", "A128GCM", 100, 50, "", &k, &e) == 0);
	CHECK(!oauth_key_valid(&k, 10));
	CHECK(oauth_key_valid(&k, 120));
	CHECK(!oauth_key_valid(&k, 200));
	k.lifetime = 0;
	CHECK(oauth_key_valid(&k, 1000000));
}

static void
test_kat(const char *alg, const char *hex)
{
	uint8_t tok[OAUTH_TOKEN_MAX], mine[OAUTH_TOKEN_MAX];
	struct oauth_token t, s;
	struct oauth_key k;
	const char *e = NULL;
	int n = unit_unhex(hex, tok, sizeof tok);
	size_t i, len;

	printf("# %s\n", alg);
	CHECK(n > 0);
	CHECK(oauthkey_make("kat", KAT_KEY_B64, alg, 0, 0, "", &k, &e) == 0);
	CHECKM(oauth_token_open(&k, KAT_SERVER, tok, (size_t)n, &t, &e) == 0 &&
		t.mac_key_len == 20 && memcmp(t.mac_key, KAT_MAC, 20) == 0 &&
		t.timestamp == KAT_TS && t.lifetime == 3600,
	    "an independently sealed token opens to its fields");
	len = oauth_token_seal(&k, KAT_SERVER, (const uint8_t *)KAT_NONCE, &t, mine, sizeof mine);
	CHECKM(len == (size_t)n && memcmp(mine, tok, len) == 0, "sealing gives the same bytes");
	CHECKM(oauth_token_open(&k, "other.example", tok, (size_t)n, &s, &e) == -1,
	    "another server name (the AAD) does not open it");
	for (i = 0; i < (size_t)n; i += 7) {
		tok[i] ^= 0x01;
		if (oauth_token_open(&k, KAT_SERVER, tok, (size_t)n, &s, &e) == 0)
			break;
		tok[i] ^= 0x01;
	}
	CHECKM(i >= (size_t)n, "any flipped bit is refused");
	CHECK(oauth_token_open(&k, KAT_SERVER, tok, (size_t)n - 1, &s, &e) == -1);
	CHECK(oauth_token_open(&k, KAT_SERVER, tok, 2, &s, &e) == -1);
	CHECK(oauth_token_open(&k, KAT_SERVER, tok, 0, &s, &e) == -1);
	k.key[0] ^= 1;
	CHECKM(oauth_token_open(&k, KAT_SERVER, tok, (size_t)n, &s, &e) == -1,
	    "another key does not open it");
}

static void
test_fields(void)
{
	uint8_t tok[OAUTH_TOKEN_MAX], nonce[OAUTH_GCM_NONCE_LEN] = {1};
	struct oauth_token t = {{0}, 32, 0, 60}, s;
	struct oauth_key k;
	const char *e = NULL;
	uint64_t exp;
	size_t len;

	CHECK(oauthkey_make("k", "MTIzNDU2Nzg5MDEyMzQ1Ngo=", "A128GCM", 0, 0, "", &k, &e) == 0);
	memset(t.mac_key, 7, 32);
	t.timestamp = (uint64_t)1000 << 16;
	len = oauth_token_seal(&k, "s", nonce, &t, tok, sizeof tok);
	CHECK(len > 0 && oauth_token_open(&k, "s", tok, len, &s, &e) == 0 && s.mac_key_len == 32);
	CHECK(oauth_token_fresh(&s, 1000, &exp) && exp == 1060);
	CHECK(oauth_token_fresh(&s, 1064, &exp));
	CHECKM(!oauth_token_fresh(&s, 1065, &exp), "expired past lifetime and skew");
	CHECKM(!oauth_token_fresh(&s, 990, &exp), "a token from the future is refused");
	s.lifetime = 0;
	CHECKM(!oauth_token_fresh(&s, 1000, &exp), "lifetime 0 is refused");
	t.mac_key_len = 16;
	len = oauth_token_seal(&k, "s", nonce, &t, tok, sizeof tok);
	CHECKM(len > 0 && oauth_token_open(&k, "s", tok, len, &s, &e) == -1,
	    "a 16-byte mac_key is neither HMAC-SHA1's nor HMAC-SHA256's");
	CHECK(oauth_token_seal(&k, "s", nonce, &t, tok, 20) == 0);
	tok[1] = 11; /* nonce_length other than 12 */
	CHECK(oauth_token_open(&k, "s", tok, len, &s, &e) == -1);
}

int
main(void)
{
	test_key_valid();
	test_kat("A256GCM", kat_a256);
	test_kat("A128GCM", kat_a128);
	test_fields();
	return unit_done();
}
