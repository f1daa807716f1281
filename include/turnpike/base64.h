/*
 * Base64 text (RFC 4648 §4, standard alphabet, padded) and base64url (§5,
 * URL-safe alphabet, unpadded), bounds-checked both ways. Decoders are
 * strict: no whitespace, no character outside the alphabet, padding only
 * where §3.2 puts it, zero pad bits (§3.5).
 */
#ifndef TURNPIKE_BASE64_H
#define TURNPIKE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters of the encoding of n bytes, without the NUL: padded, and base64url. */
#define BASE64_LEN(n) (((n) + 2) / 3 * 4)
#define BASE64_URL_LEN(n) (((n)*4 + 2) / 3)

/* n bytes as padded base64 and a NUL into out (cap bytes); -1 if it does not fit. */
int base64_encode(const uint8_t *in, size_t n, char *out, size_t cap);
/*
 * len characters of padded base64 (a multiple of 4) into out (cap bytes), the
 * byte count in *outlen; -1 for malformed text or an out too small (out's
 * content is then unspecified).
 */
int base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen);

/* n bytes as unpadded base64url and a NUL into out (cap bytes); -1 if it does not fit. */
int base64_url_encode(const uint8_t *in, size_t n, char *out, size_t cap);
/* len characters of unpadded base64url ('=' refused) into out; as base64_decode. */
int base64_url_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen);

#endif
