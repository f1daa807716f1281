/* Unit tests for src/common/base64.c: RFC 4648 §10 vectors, both alphabets, strictness, bounds. */
#include <stdint.h>
#include <string.h>

#include "turnpike/base64.h"
#include "unit.h"

/* RFC 4648 §10: BASE64("foobar") and its prefixes; base64url is the same without '='. */
static const char *const vec_in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const vec_std[] = {"", "Zg==", "Zm8=", "Zm9v",
    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
static const char *const vec_url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};

static bool
dec_std(const char *s, const char *want)
{
	uint8_t out[64];
	size_t n = 99;

	return base64_decode(s, strlen(s), out, sizeof out, &n) == 0 && n == strlen(want) &&
	    memcmp(out, want, n) == 0;
}

static bool
dec_url(const char *s, const char *want)
{
	uint8_t out[64];
	size_t n = 99;

	return base64_url_decode(s, strlen(s), out, sizeof out, &n) == 0 && n == strlen(want) &&
	    memcmp(out, want, n) == 0;
}

static bool
std_refuses(const char *s)
{
	uint8_t out[64];
	size_t n;

	return base64_decode(s, strlen(s), out, sizeof out, &n) == -1;
}

static bool
url_refuses(const char *s)
{
	uint8_t out[64];
	size_t n;

	return base64_url_decode(s, strlen(s), out, sizeof out, &n) == -1;
}

static void
test_rfc4648_vectors(void)
{
	char out[16];
	size_t i;
	bool enc = true, dec = true, uenc = true, udec = true;

	for (i = 0; i < sizeof vec_in / sizeof vec_in[0]; i++) {
		enc = enc &&
		    base64_encode((const uint8_t *)vec_in[i], strlen(vec_in[i]), out, sizeof out) ==
			0 &&
		    strcmp(out, vec_std[i]) == 0 && strlen(out) == BASE64_LEN(strlen(vec_in[i]));
		dec = dec && dec_std(vec_std[i], vec_in[i]);
		uenc = uenc &&
		    base64_url_encode((const uint8_t *)vec_in[i], strlen(vec_in[i]), out,
			sizeof out) == 0 &&
		    strcmp(out, vec_url[i]) == 0 &&
		    strlen(out) == BASE64_URL_LEN(strlen(vec_in[i]));
		udec = udec && dec_url(vec_url[i], vec_in[i]);
	}
	CHECKM(enc, "RFC 4648 §10: base64 encodes the seven test vectors");
	CHECKM(dec, "RFC 4648 §10: base64 decodes the seven test vectors");
	CHECKM(uenc, "base64url encodes the seven test vectors without padding");
	CHECKM(udec, "base64url decodes the seven test vectors without padding");
}

/* 0xfb 0xef 0xff uses the two characters the alphabets differ in (62 and 63). */
static void
test_alphabets(void)
{
	static const uint8_t raw[] = {0xfb, 0xef, 0xff, 0x00};
	char out[16];

	CHECK(base64_encode(raw, 3, out, sizeof out) == 0 && strcmp(out, "++//") == 0);
	CHECK(base64_url_encode(raw, 3, out, sizeof out) == 0 && strcmp(out, "--__") == 0);
	CHECK(base64_encode(raw, 4, out, sizeof out) == 0 && strcmp(out, "++//AA==") == 0);
	CHECK(base64_url_encode(raw, 4, out, sizeof out) == 0 && strcmp(out, "--__AA") == 0);
	CHECK(dec_std("++//", "\xfb\xef\xff"));
	CHECK(dec_url("--__", "\xfb\xef\xff"));
	CHECKM(std_refuses("--__"), "base64 refuses base64url's - and _");
	CHECKM(url_refuses("++//"), "base64url refuses base64's + and /");
}

static void
test_std_strict(void)
{
	uint8_t out[8];
	size_t n;

	CHECKM(std_refuses("Zg"), "base64: padding required (length not a multiple of 4)");
	CHECKM(std_refuses("Zg="), "base64: one '=' short");
	CHECKM(std_refuses("Zm9vY"), "base64: five characters");
	CHECKM(std_refuses("Z==="), "base64: three '='");
	CHECKM(std_refuses("===="), "base64: padding only");
	CHECKM(std_refuses("Zm=v"), "base64: '=' inside the text");
	CHECKM(std_refuses("Zg==Zg=="), "base64: padding before the end");
	CHECKM(std_refuses("Zm9v\n"), "base64: a trailing newline");
	CHECKM(std_refuses("Zm9v\n\n\n\n"), "base64: trailing newlines to a multiple of 4");
	CHECKM(std_refuses("    Zm9v"), "base64: leading blanks");
	CHECKM(std_refuses("Zm 9v"), "base64: a blank inside");
	CHECKM(std_refuses("Zm9v!A=="), "base64: a character outside the alphabet");
	CHECKM(std_refuses("Zh=="), "RFC 4648 §3.5: non-zero pad bits (one byte)");
	CHECKM(std_refuses("Zm9="), "RFC 4648 §3.5: non-zero pad bits (two bytes)");
	CHECKM(base64_decode("Zm\0v", 4, out, sizeof out, &n) == -1, "base64: an embedded NUL");
	CHECKM(base64_decode("Zm9vYmFy", 4, out, sizeof out, &n) == 0 && n == 3 &&
		memcmp(out, "foo", 3) == 0,
	    "base64: len bounds the input, not a NUL");
}

static void
test_url_strict(void)
{
	uint8_t out[8];
	size_t n;

	CHECKM(url_refuses("Zg=="), "base64url: padding refused");
	CHECKM(url_refuses("Zm8="), "base64url: one '=' refused");
	CHECKM(url_refuses("Z"), "base64url: one character is no byte");
	CHECKM(url_refuses("Zm9vY"), "base64url: 4k+1 characters");
	CHECKM(url_refuses("Zh"), "base64url: non-zero pad bits (one byte)");
	CHECKM(url_refuses("Zm9"), "base64url: non-zero pad bits (two bytes)");
	CHECKM(url_refuses("Zm9v\n"), "base64url: a trailing newline");
	CHECKM(url_refuses(" Zm9v"), "base64url: a leading blank");
	CHECKM(base64_url_decode("Zm\0v", 4, out, sizeof out, &n) == -1,
	    "base64url: an embedded NUL");
}

static void
test_bounds(void)
{
	char text[16];
	uint8_t out[16];
	size_t n = 99;

	memset(text, '#', sizeof text);
	CHECKM(base64_encode((const uint8_t *)"foob", 4, text, 8) == -1 && text[0] == '#',
	    "base64_encode: 8 characters and a NUL do not fit 8 bytes, nothing written");
	CHECK(base64_encode((const uint8_t *)"foob", 4, text, 9) == 0 && text[8] == '\0' &&
	    text[9] == '#');
	memset(text, '#', sizeof text);
	CHECKM(base64_url_encode((const uint8_t *)"foob", 4, text, 6) == -1 && text[0] == '#',
	    "base64_url_encode: 6 characters and a NUL do not fit 6 bytes");
	CHECK(base64_url_encode((const uint8_t *)"foob", 4, text, 7) == 0 && text[6] == '\0' &&
	    text[7] == '#');
	CHECK(base64_encode(NULL, 0, text, 1) == 0 && text[0] == '\0');
	CHECKM(base64_encode(NULL, 0, text, 0) == -1, "no room for the NUL");
	memset(out, 0xaa, sizeof out);
	CHECKM(base64_decode("Zm9vYmE=", 8, out, 4, &n) == -1 && out[0] == 0xaa && n == 99,
	    "base64_decode: 5 bytes do not fit 4, nothing written");
	CHECK(base64_decode("Zm9vYmE=", 8, out, 5, &n) == 0 && n == 5 && out[5] == 0xaa);
	memset(out, 0xaa, sizeof out);
	CHECKM(base64_url_decode("Zm9vYmE", 7, out, 4, &n) == -1 && out[0] == 0xaa,
	    "base64_url_decode: 5 bytes do not fit 4, nothing written");
	CHECK(base64_url_decode("Zm9vYmE", 7, out, 5, &n) == 0 && n == 5 && out[5] == 0xaa);
	CHECK(base64_decode("", 0, NULL, 0, &n) == 0 && n == 0);
	CHECK(base64_url_decode("", 0, NULL, 0, &n) == 0 && n == 0);
	CHECK(BASE64_LEN(20) == 28 && BASE64_LEN(32) == 44 && BASE64_URL_LEN(24) == 32);
}

int
main(void)
{
	test_rfc4648_vectors();
	test_alphabets();
	test_std_strict();
	test_url_strict();
	test_bounds();
	return unit_done();
}
