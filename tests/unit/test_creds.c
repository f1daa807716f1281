/* Credentials: static users (password and 0xKEY), TURN REST API secrets, lookups. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/creds.h"
#include "turnpike/integrity.h"
#include "unit.h"

#define REALM "example.org"

static bool
key_is(const uint8_t *key, const char *hex, size_t n)
{
	uint8_t want[32];

	return unit_unhex(hex, want, sizeof want) == (int)n && memcmp(key, want, n) == 0;
}

static int
lookup(const struct creds *c, const char *user, const char *realm, uint64_t now,
    struct creds_result *out)
{
	return creds_lookup(c, user, strlen(user), realm, strlen(realm), now, out);
}

static void
test_static_users(void)
{
	struct creds_static *cs = creds_static_create(REALM);
	struct creds_result r;
	struct creds c;
	char *cause = NULL;

	creds_static_iface(cs, &c);
	CHECK(creds_static_add_user(cs, "alice:s3cret", &cause) == 0);
	CHECK(lookup(&c, "alice", REALM, 0, &r) == CREDS_FOUND && r.nkeys == 1 &&
	    r.keys[0].has_sha256);
	CHECKM(key_is(r.keys[0].md5, "8b83b40c22906c0c67a3c5bcc491bc14", 16),
	    "MD5 key = MD5(alice:example.org:s3cret)");
	/* RFC 5769 §2.4 / RFC 8489 B.1 credentials: OpaqueString applies to the password. */
	CHECK(creds_static_add_user(cs,
		  "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9:"
		  "The\xc2\xadM\xc2\xaatr\xe2\x85\xa8",
		  &cause) == 0);
	CHECK(lookup(&c, "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9",
		  REALM, 0, &r) == CREDS_FOUND);
	CHECKM(key_is(r.keys[0].md5, "e8ca7ad59d5eb0518e312911d2dab2a9", 16), "RFC 5769 2.4 key");
	CHECKM(key_is(r.keys[0].sha256,
		   "dd295a613b9058c3c23d6dc7165bda072304d989c9d0af3a8c7e184b4f9bb4a1", 32),
	    "RFC 8489 B.1 SHA-256 key");
	CHECK(creds_static_add_user(cs, "bob:0x00112233445566778899AABBCCDDEEFF", &cause) == 0);
	CHECK(lookup(&c, "bob", REALM, 0, &r) == CREDS_FOUND && !r.keys[0].has_sha256 &&
	    key_is(r.keys[0].md5, "00112233445566778899aabbccddeeff", 16));
	CHECK(creds_static_add_user(cs, "alice:other:with:colons", &cause) == 0);
	CHECKM(lookup(&c, "alice", REALM, 0, &r) == CREDS_FOUND &&
		!key_is(r.keys[0].md5, "8b83b40c22906c0c67a3c5bcc491bc14", 16),
	    "a user added twice: the later password wins");
	CHECK(lookup(&c, "carol", REALM, 0, &r) == CREDS_UNKNOWN && r.nkeys == 0);
	CHECK(lookup(&c, "alice", "other.org", 0, &r) == CREDS_UNKNOWN);
	CHECK(lookup(&c, "alic", REALM, 0, &r) == CREDS_UNKNOWN);
	CHECK(creds_static_add_user(cs, "dave:0x1234", &cause) == -1 && cause != NULL &&
	    strstr(cause, "dave") != NULL && strstr(cause, "1234") == NULL);
	free(cause);
	cause = NULL;
	CHECK(creds_static_add_user(cs, "nopassword", &cause) == -1 && cause != NULL);
	free(cause);
	cause = NULL;
	CHECK(creds_static_add_user(cs, ":pw", &cause) == -1);
	free(cause);
	cause = NULL;
	CHECK(creds_static_add_user(cs, "erin:", &cause) == -1);
	free(cause);
	creds_static_free(cs);
	creds_static_free(NULL);
}

static void
test_rest_password(void)
{
	char pw[64];

	CHECK(creds_rest_password("north", 5, "1700000000:alice", 16, pw, sizeof pw) == 0 &&
	    strcmp(pw, "Cd/49soE35ICqcJF/bCTn8Z4OyE=") == 0);
	CHECK(creds_rest_password("north", 5, "1700000000", 10, pw, sizeof pw) == 0 &&
	    strcmp(pw, "CWyHi3zCeWqXBir9thl4m+iZPRY=") == 0);
	CHECK(creds_rest_password("north", 5, "x", 1, pw, 28) == -1);
	/* rest-api-hmac=sha256: printf %s "$user" | openssl dgst -sha256 -hmac north -binary | base64 */
	CHECKM(creds_rest_password_alg(true, "north", 5, "1700000000:alice", 16, pw, sizeof pw) ==
		    0 &&
		strcmp(pw, "EuME0Xh0HllnbpbObfs8aBsd78Vr1EMwxArqbyCrGl8=") == 0,
	    "the HMAC-SHA256 REST password equals the openssl recipe's");
	CHECK(creds_rest_password_alg(true, "north", 5, "x", 1, pw, 44) == -1);
	CHECK(creds_rest_password_alg(false, "north", 5, "1700000000", 10, pw, sizeof pw) == 0 &&
	    strcmp(pw, "CWyHi3zCeWqXBir9thl4m+iZPRY=") == 0);
}

/* rest-api-hmac=sha256: the keys come from the SHA-256 password, the SHA-1 one no longer works. */
static void
test_rest_sha256(void)
{
	struct creds_static *cs = creds_static_create(REALM);
	struct creds_result r;
	struct creds c;
	char *cause = NULL;

	creds_static_iface(cs, &c);
	CHECK(creds_static_add_secret(cs, "north", &cause) == 0);
	creds_static_set_rest(cs, true, ':');
	creds_static_set_rest_sha256(cs, true);
	CHECKM(lookup(&c, "1700000000:alice", REALM, 1600000000, &r) == CREDS_FOUND &&
		r.nkeys == 1 && key_is(r.keys[0].md5, "46fb97dd3fc6bd84fb041ba61fbd9c58", 16),
	    "MD5(user:realm:base64(HMAC-SHA256(secret, user)))");
	CHECKM(!key_is(r.keys[0].md5, "d9a6a3d964467baeffd2fce41704a913", 16),
	    "not the key of the HMAC-SHA1 password");
	creds_static_set_rest_sha256(cs, false);
	CHECK(lookup(&c, "1700000000:alice", REALM, 1600000000, &r) == CREDS_FOUND &&
	    key_is(r.keys[0].md5, "d9a6a3d964467baeffd2fce41704a913", 16));
	creds_static_free(cs);
}

/* USERHASH: SHA-256(name ":" realm) finds static users and keyed ones, never REST names. */
static void
test_find_hash(void)
{
	struct creds_static *cs = creds_static_create(REALM);
	struct creds c, none = {NULL, NULL};
	struct creds_key k;
	uint8_t hash[32];
	char name[CREDS_NAME_MAX], *cause = NULL;
	size_t len = 99;

	creds_static_iface(cs, &c);
	memset(&k, 0, sizeof k);
	CHECK(creds_static_add_user(cs, "alice:pw", &cause) == 0);
	CHECK(creds_static_add_key(cs, "bob", &k, &cause) == 0);
	CHECK(creds_static_add_secret(cs, "north", &cause) == 0);
	creds_static_set_rest(cs, true, ':');
	CHECK(unit_unhex("4195b8e0695a819d0bce093baa24c78483bfa7a4c61a7dee65f63b5aa100bea6", hash,
		  sizeof hash) == 32);
	CHECKM(creds_find_hash(&c, hash, REALM, strlen(REALM), name, &len) == CREDS_FOUND &&
		len == 3 && strcmp(name, "bob") == 0,
	    "SHA-256(\"bob:example.org\") finds bob");
	CHECKM(creds_find_hash(&c, hash, "other.org", 9, name, &len) == CREDS_UNKNOWN && len == 0,
	    "another realm finds nobody");
	integrity_userhash("alice", 5, REALM, strlen(REALM), hash);
	CHECK(creds_find_hash(&c, hash, REALM, strlen(REALM), name, &len) == CREDS_FOUND &&
	    strcmp(name, "alice") == 0);
	integrity_userhash("1700000000:alice", 16, REALM, strlen(REALM), hash);
	CHECKM(creds_find_hash(&c, hash, REALM, strlen(REALM), name, &len) == CREDS_UNKNOWN,
	    "a REST user name has no fixed hash");
	hash[0] ^= 1;
	CHECK(creds_find_hash(&c, hash, REALM, strlen(REALM), name, &len) == CREDS_UNKNOWN);
	CHECKM(creds_find_hash(&none, hash, REALM, strlen(REALM), name, &len) == CREDS_UNKNOWN,
	    "a provider without find_hash finds nobody");
	creds_static_free(cs);
}

static void
test_rest(void)
{
	struct creds_static *cs = creds_static_create(REALM);
	struct creds_result r;
	struct creds c;
	char *cause = NULL;

	creds_static_iface(cs, &c);
	CHECK(creds_static_add_secret(cs, "north", &cause) == 0);
	CHECK(creds_static_add_secret(cs, "south", &cause) == 0);
	CHECK(creds_static_add_user(cs, "static:pw", &cause) == 0);
	CHECKM(lookup(&c, "1700000000:alice", REALM, 1600000000, &r) == CREDS_UNKNOWN,
	    "REST usernames are refused until use-auth-secret is set");
	creds_static_set_rest(cs, true, '\0');
	CHECK(lookup(&c, "1700000000:alice", REALM, 1600000000, &r) == CREDS_FOUND && r.nkeys == 2);
	CHECKM(key_is(r.keys[0].md5, "d9a6a3d964467baeffd2fce41704a913", 16) &&
		key_is(r.keys[1].md5, "2c9f5db2d368dd352ccb5988c9a8c638", 16),
	    "one MD5 key per secret (rotation)");
	CHECKM(key_is(r.keys[0].sha256,
		   "83d3954925462c35e3434563f6add993af0c083deb1cc493ec1873fb82b0ad1d", 32) &&
		r.keys[0].has_sha256,
	    "SHA-256 key of the REST password");
	CHECKM(lookup(&c, "1700000000:alice", REALM, 1700000000, &r) == CREDS_FOUND,
	    "valid through its expiry second");
	CHECKM(lookup(&c, "1700000000:alice", REALM, 1700000001, &r) == CREDS_UNKNOWN,
	    "expired REST username");
	CHECK(lookup(&c, "1700000000", REALM, 1600000000, &r) == CREDS_FOUND && r.nkeys == 2 &&
	    key_is(r.keys[0].md5, "b0bdedaea226f1f35aa370453808839b", 16));
	CHECKM(lookup(&c, "alice:1700000000", REALM, 1600000000, &r) == CREDS_FOUND,
	    "user:expiry form");
	CHECKM(lookup(&c, "alice:1500000000", REALM, 1600000000, &r) == CREDS_UNKNOWN,
	    "expired user:expiry");
	CHECKM(lookup(&c, "static", REALM, 1600000000, &r) == CREDS_FOUND && r.nkeys == 1,
	    "static users still work next to REST");
	CHECK(lookup(&c, "nobody", REALM, 1600000000, &r) == CREDS_UNKNOWN);
	CHECK(lookup(&c, "99999999999999999999999:x", REALM, 0, &r) == CREDS_UNKNOWN);
	creds_static_set_rest(cs, true, '-');
	CHECKM(lookup(&c, "1700000000-alice", REALM, 1600000000, &r) == CREDS_FOUND,
	    "configurable separator");
	CHECK(lookup(&c, "1700000000:alice", REALM, 1600000000, &r) == CREDS_UNKNOWN);
	CHECK(creds_static_add_secret(cs, "", &cause) == -1);
	free(cause);
	cause = NULL;
	for (int i = 2; i < CREDS_MAX_KEYS; i++)
		CHECK(creds_static_add_secret(cs, "more", &cause) == 0);
	CHECK(creds_static_add_secret(cs, "too many", &cause) == -1 && cause != NULL);
	free(cause);
	creds_static_free(cs);
}

/* Keys as a store holds them: added as they are, replacing an earlier entry. */
static void
test_add_key(void)
{
	struct creds_static *cs = creds_static_create(REALM);
	struct creds_key k = {.has_sha256 = false};
	struct creds_result r;
	struct creds c;
	char *cause = NULL;

	creds_static_iface(cs, &c);
	CHECK(creds_static_has_realm(cs, REALM, strlen(REALM)));
	CHECK(!creds_static_has_realm(cs, "other.org", 9));
	memset(k.md5, 0xab, sizeof k.md5);
	CHECK(creds_static_add_key(cs, "erin", &k, &cause) == 0);
	CHECK(lookup(&c, "erin", REALM, 0, &r) == CREDS_FOUND && r.nkeys == 1 &&
	    !r.keys[0].has_sha256 && r.keys[0].md5[15] == 0xab);
	k.md5[15] = 0xcd;
	CHECK(creds_static_add_key(cs, "erin", &k, &cause) == 0);
	CHECKM(lookup(&c, "erin", REALM, 0, &r) == CREDS_FOUND && r.keys[0].md5[15] == 0xcd,
	    "a second add replaces the key");
	CHECK(lookup(&c, "erin", "other.org", 0, &r) == CREDS_UNKNOWN);
	creds_static_free(cs);
}

static void
test_interface(void)
{
	struct creds none = {NULL, NULL};
	struct creds_result r;

	CHECK(creds_lookup(&none, "a", 1, "b", 1, 0, &r) == CREDS_UNAVAILABLE);
	CHECK(creds_lookup(NULL, "a", 1, "b", 1, 0, &r) == CREDS_UNAVAILABLE);
}

/* Many users (the indexes grow several times): each found by name and by USERHASH. */
static void
test_many_users(void)
{
	struct creds_static *cs = creds_static_create(REALM);
	struct creds c;
	struct creds_result r;
	char spec[64], user[32], name[CREDS_NAME_MAX];
	uint8_t hash[32];
	size_t len;
	int i, added = 0, found = 0, hashed = 0, zapped = 0;
	char *cause = NULL;

	creds_static_iface(cs, &c);
	for (i = 0; i < 2000; i++) {
		snprintf(spec, sizeof spec, "user%d:0x%032x", i, i);
		added += creds_static_add_user(cs, spec, &cause) == 0;
	}
	CHECKM(added == 2000, "2000 users added");
	for (i = 0; i < 2000; i++) {
		snprintf(user, sizeof user, "user%d", i);
		if (lookup(&c, user, REALM, 0, &r) == CREDS_FOUND && r.nkeys == 1 &&
		    r.keys[0].md5[15] == (uint8_t)i && r.keys[0].md5[14] == (uint8_t)(i >> 8))
			found++;
		integrity_userhash(user, strlen(user), REALM, strlen(REALM), hash);
		if (creds_find_hash(&c, hash, REALM, strlen(REALM), name, &len) == CREDS_FOUND &&
		    strcmp(name, user) == 0)
			hashed++;
	}
	CHECKM(found == 2000, "2000 users: each found with its own key");
	CHECKM(hashed == 2000, "... and each by its USERHASH");
	CHECKM(lookup(&c, "user2000", REALM, 0, &r) == CREDS_UNKNOWN &&
		lookup(&c, "user1", "other.org", 0, &r) == CREDS_UNKNOWN &&
		lookup(&c, "user", REALM, 0, &r) == CREDS_UNKNOWN,
	    "an absent name, another realm, a prefix: unknown");
	CHECK(creds_static_add_user(cs, "user7:0xffffffffffffffffffffffffffffffff", &cause) == 0);
	CHECKM(lookup(&c, "user7", REALM, 0, &r) == CREDS_FOUND && r.keys[0].md5[0] == 0xff,
	    "adding a name again replaces its key");
	for (i = 0; i < 2000; i++) {
		snprintf(user, sizeof user, "user%d", i);
		zapped += lookup(&c, user, REALM, 0, &r) == CREDS_FOUND ? 0 : 1;
	}
	CHECKM(zapped == 0, "... and no other user is lost");
	creds_static_free(cs);
}

int
main(void)
{
	test_static_users();
	test_rest_password();
	test_rest();
	test_rest_sha256();
	test_find_hash();
	test_many_users();
	test_add_key();
	test_interface();
	return unit_done();
}
