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

/* The decoder of either alphabet; a 64-byte output room. */
static int
dec(bool url, const char *s, uint8_t out[64], size_t *n)
{
	return url ? base64_url_decode(s, strlen(s), out, 64, n)
		   : base64_decode(s, strlen(s), out, 64, n);
}

static bool
decodes(bool url, const char *s, const char *want)
{
	uint8_t out[64];
	size_t n = 99;

	return dec(url, s, out, &n) == 0 && n == strlen(want) && memcmp(out, want, n) == 0;
}

static bool
refuses(bool url, const char *s)
{
	uint8_t out[64];
	size_t n;

	return dec(url, s, out, &n) == -1;
}

#define dec_std(s, want) decodes(false, (s), (want))
#define dec_url(s, want) decodes(true, (s), (want))
#define std_refuses(s) refuses(false, (s))
#define url_refuses(s) refuses(true, (s))

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

/* Malformed text each decoder refuses: alphabet (url), text, and what is wrong with it. */
static const struct {
	bool url;
	const char *text, *what;
} malformed[] = {
    {false, "Zg", "base64: padding required (length not a multiple of 4)"},
    {false, "Zg=", "base64: one '=' short"},
    {false, "Zm9vY", "base64: five characters"},
    {false, "Z===", "base64: three '='"},
    {false, "====", "base64: padding only"},
    {false, "Zm=v", "base64: '=' inside the text"},
    {false, "Zg==Zg==", "base64: padding before the end"},
    {false, "Zm9v\n", "base64: a trailing newline"},
    {false, "Zm9v\n\n\n\n", "base64: trailing newlines to a multiple of 4"},
    {false, "    Zm9v", "base64: leading blanks"},
    {false, "Zm 9v", "base64: a blank inside"},
    {false, "Zm9v!A==", "base64: a character outside the alphabet"},
    {false, "Zh==", "RFC 4648 §3.5: non-zero pad bits (one byte)"},
    {false, "Zm9=", "RFC 4648 §3.5: non-zero pad bits (two bytes)"},
    {true, "Zg==", "base64url: padding refused"},
    {true, "Zm8=", "base64url: one '=' refused"},
    {true, "Z", "base64url: one character is no byte"},
    {true, "Zm9vY", "base64url: 4k+1 characters"},
    {true, "Zh", "base64url: non-zero pad bits (one byte)"},
    {true, "Zm9", "base64url: non-zero pad bits (two bytes)"},
    {true, "Zm9v\n", "base64url: a trailing newline"},
    {true, " Zm9v", "base64url: a leading blank"},
};

static void
test_strict(void)
{
	uint8_t out[8];
	size_t i, n;

	for (i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
		CHECKM(refuses(malformed[i].url, malformed[i].text), malformed[i].what);
	CHECKM(base64_decode("Zm\0v", 4, out, sizeof out, &n) == -1, "base64: an embedded NUL");
	CHECKM(base64_url_decode("Zm\0v", 4, out, sizeof out, &n) == -1,
	    "base64url: an embedded NUL");
	CHECKM(base64_decode("Zm9vYmFy", 4, out, sizeof out, &n) == 0 && n == 3 &&
		memcmp(out, "foo", 3) == 0,
	    "base64: len bounds the input, not a NUL");
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
	test_strict();
	test_bounds();
	return unit_done();
}
