/*
 * Fuzz target for src/common/base64.c. The input is decoded as base64 and as
 * base64url: text a strict decoder accepts encodes back to itself. It is also
 * encoded both ways and decoded back to itself, each within exact bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*base64_enc)(const uint8_t *, size_t, char *, size_t);
typedef int (*base64_dec)(const char *, size_t, uint8_t *, size_t, size_t *);

static void
fuzz_one(const uint8_t *data, size_t size, base64_enc enc, base64_dec dec, size_t textlen)
{
	uint8_t *bytes;
	char *text;
	size_t n, cap = size / 4 * 3 + 2;

	bytes = malloc(cap > textlen ? cap : textlen);
	text = malloc((size > textlen ? size : textlen) + 1);
	if (bytes == NULL || text == NULL)
		goto out;
	if (dec((const char *)data, size, bytes, cap, &n) == 0 &&
	    (n > cap || enc(bytes, n, text, size + 1) == -1 || strlen(text) != size ||
		memcmp(text, data, size) != 0))
		abort();
	if (enc(data, size, text, textlen) == 0 || enc(data, size, text, textlen + 1) == -1 ||
	    strlen(text) != textlen || dec(text, textlen, bytes, size, &n) == -1 || n != size ||
	    memcmp(bytes, data, size) != 0)
		abort();
out:
	free(bytes);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	fuzz_one(data, size, base64_encode, base64_decode, BASE64_LEN(size));
	fuzz_one(data, size, base64_url_encode, base64_url_decode, BASE64_URL_LEN(size));
	return 0;
}
