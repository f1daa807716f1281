/* Base64 and base64url (RFC 4648 §4, §5): encoders and strict decoders. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "turnpike/base64.h"

#define BASE64_ALPHABET_LEN 64

static const char base64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char base64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The text of n bytes in tab's alphabet, '=' padded to 4 characters if pad, and a NUL. */
static int
base64_encode_with(const char *tab, bool pad, const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t i, o = 0, rem = n % 3;
	uint32_t v;

	if (n > SIZE_MAX / 4 - 1 || (pad ? BASE64_LEN(n) : BASE64_URL_LEN(n)) >= cap)
		return -1;
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (rem != 0) {
		v = (uint32_t)in[i] << 16 | (rem == 2 ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		if (rem == 2)
			out[o++] = tab[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return 0;
}

/* The 6-bit value of c in tab; -1 outside it (NUL and '=' included). */
static int
base64_value(const char *tab, char c)
{
	const char *p = c != '\0' ? memchr(tab, c, BASE64_ALPHABET_LEN) : NULL;

	return p != NULL ? (int)(p - tab) : -1;
}

/* Characters that carry data: len less the padding (pad), or -1 for a bad length. */
static int
base64_data_len(bool pad, const char *in, size_t len, size_t *data)
{
	*data = len;
	if (pad) {
		if (len % 4 != 0)
			return -1;
		if (len > 0 && in[len - 1] == '=')
			*data -= in[len - 2] == '=' ? 2 : 1;
	}
	return *data % 4 == 1 ? -1 : 0;
}

static int
base64_decode_with(const char *tab, bool pad, const char *in, size_t len, uint8_t *out, size_t cap,
    size_t *outlen)
{
	size_t data, i, o = 0;
	uint32_t acc = 0;
	unsigned int bits = 0;
	int v;

	if (base64_data_len(pad, in, len, &data) == -1 || data / 4 * 3 + data % 4 * 3 / 4 > cap)
		return -1;
	for (i = 0; i < data; i++) {
		if ((v = base64_value(tab, in[i])) == -1)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* RFC 4648 §3.5: the bits below the last byte must be zero. */
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	*outlen = o;
	return 0;
}

int
base64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	return base64_encode_with(base64_std, true, in, n, out, cap);
}

int
base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	return base64_decode_with(base64_std, true, in, len, out, cap, outlen);
}

int
base64_url_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	return base64_encode_with(base64_url, false, in, n, out, cap);
}

int
base64_url_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	return base64_decode_with(base64_url, false, in, len, out, cap, outlen);
}
