/* Unit tests for src/stun/mobility.c: RFC 8016 MOBILITY-TICKET sealing and opening. */
#include <stdint.h>
#include <string.h>

#include "turnpike/mobility.h"
#include "unit.h"

/*
 * Key from secret 00 01 .. 1f, instance a1 b2 c3, tag 3, id 0x0102030405,
 * seq 0x0a0b0c, expiry 1700000000, sealed by an independent AES-GCM (Python's
 * cryptography package) with the same layout.
 */
static const char kat[] = "AwECAwQFCgsMobLDMyIkkGXXuou8g3pw";

static void
kat_key(struct mobility_key *k)
{
	uint8_t secret[32];
	size_t i;

	for (i = 0; i < sizeof secret; i++)
		secret[i] = (uint8_t)i;
	CHECK(mobility_key_init(k, secret, sizeof secret) == 0);
	k->instance[0] = 0xa1;
	k->instance[1] = 0xb2;
	k->instance[2] = 0xc3;
}

static void
test_kat(void)
{
	struct mobility_ticket tk = {3, 0x0102030405ull, 0x0a0b0c, 1700000000}, got;
	struct mobility_key k;
	char out[MOBILITY_TICKET_LEN];
	const char *e = NULL;

	kat_key(&k);
	CHECK(mobility_seal(&k, &tk, out) == 0 && memcmp(out, kat, MOBILITY_TICKET_LEN) == 0);
	CHECK(mobility_open(&k, (const uint8_t *)kat, strlen(kat), &got, &e) == 0);
	CHECK(got.tag == 3 && got.id == 0x0102030405ull && got.seq == 0x0a0b0c &&
	    got.expires_unix == 1700000000);
}

static void
test_refused(void)
{
	struct mobility_ticket tk = {1, 42, 1, 1000}, got;
	struct mobility_key k, other;
	char out[MOBILITY_TICKET_LEN], bad[MOBILITY_TICKET_LEN + 1];
	const char *e = NULL;
	uint8_t secret[32];
	size_t i;
	int refused = 0;

	kat_key(&k);
	CHECK(mobility_seal(&k, &tk, out) == 0);
	CHECKM(memchr(out, '\0', sizeof out) == NULL, "no NUL: coturn's clients strlen() it");
	for (i = 0; i < MOBILITY_TICKET_LEN; i++) {
		memcpy(bad, out, sizeof out);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		refused += mobility_open(&k, (const uint8_t *)bad, sizeof out, &got, &e) == -1;
	}
	CHECKM(refused == MOBILITY_TICKET_LEN, "every altered character is refused");
	CHECK(mobility_open(&k, (const uint8_t *)out, sizeof out - 1, &got, &e) == -1);
	memcpy(bad, out, sizeof out);
	bad[MOBILITY_TICKET_LEN] = 'A';
	CHECK(mobility_open(&k, (const uint8_t *)bad, sizeof bad, &got, &e) == -1);
	CHECK(mobility_open(&k, (const uint8_t *)"", 0, &got, &e) == -1);
	memcpy(bad, out, sizeof out);
	bad[5] = '=';
	CHECKM(mobility_open(&k, (const uint8_t *)bad, sizeof out, &got, &e) == -1 && e != NULL,
	    "a character outside base64url");
	bad[5] = out[5];
	bad[MOBILITY_TICKET_LEN - 2] = bad[MOBILITY_TICKET_LEN - 1] = '=';
	CHECKM(mobility_open(&k, (const uint8_t *)bad, sizeof out, &got, &e) == -1 &&
		strstr(e, "characters") != NULL,
	    "base64url padding is refused before the seal is checked");
	memcpy(bad, out, sizeof out);
	bad[0] = '+';
	bad[1] = '/';
	CHECKM(mobility_open(&k, (const uint8_t *)bad, sizeof out, &got, &e) == -1 &&
		strstr(e, "characters") != NULL,
	    "base64's + and / are not base64url");
	memcpy(bad, out, sizeof out);
	bad[MOBILITY_TICKET_LEN - 1] = '\n';
	CHECKM(mobility_open(&k, (const uint8_t *)bad, sizeof out, &got, &e) == -1 &&
		strstr(e, "characters") != NULL,
	    "a newline is not base64url");
	memset(secret, 9, sizeof secret);
	CHECK(mobility_key_init(&other, secret, sizeof secret) == 0);
	CHECKM(mobility_open(&other, (const uint8_t *)out, sizeof out, &got, &e) == -1,
	    "another server's key does not open it");
}

static void
test_fleet(void)
{
	struct mobility_ticket tk = {0, 7, 2, 5000}, got;
	struct mobility_key a, b;
	char out[MOBILITY_TICKET_LEN], out2[MOBILITY_TICKET_LEN];
	const char *e = NULL;
	uint8_t secret[32];

	memset(secret, 0x5a, sizeof secret);
	CHECK(mobility_key_init(&a, secret, sizeof secret) == 0);
	CHECK(mobility_key_init(&b, secret, sizeof secret) == 0);
	CHECK(mobility_seal(&a, &tk, out) == 0);
	CHECKM(mobility_open(&b, (const uint8_t *)out, sizeof out, &got, &e) == 0 && got.id == 7,
	    "a server sharing stateless-nonce-secret opens it");
	tk.seq = 3;
	CHECK(mobility_seal(&a, &tk, out2) == 0 && memcmp(out, out2, sizeof out) != 0);
	tk.seq = 0;
	CHECKM(mobility_seal(&a, &tk, out) == -1, "sequence 0 is never issued");
	tk.seq = MOBILITY_SEQ_MAX + 1;
	CHECK(mobility_seal(&a, &tk, out) == -1);
	tk.seq = 1;
	tk.id = MOBILITY_ID_MAX + 1;
	CHECKM(mobility_seal(&a, &tk, out) == -1, "ids past 40 bits are not sealed");
}

int
main(void)
{
	test_kat();
	test_refused();
	test_fleet();
	return unit_done();
}
