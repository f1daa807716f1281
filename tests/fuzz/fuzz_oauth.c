/* Fuzz target for RFC 7635 ACCESS-TOKEN opening, with a re-seal check of what opens. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SERVER "blackdow.carleon.gov"

static void
fuzz_one(const char *alg, const uint8_t *p, size_t len)
{
	uint8_t out[OAUTH_TOKEN_MAX];
	struct oauth_token t, t2;
	struct oauth_key k;
	const char *errstr;
	uint64_t exp;
	size_t n;

	/* The key of coturn's rfc5769check (its first 16 bytes for A128GCM). */
	if (oauthkey_make("fuzz", "SEdrajMyS0pHaXV5MDk4c2RmYXFiTmpPaWF6NzE5MjM=", alg, 0, 0, "", &k,
		&errstr) == -1)
		abort();
	if (oauth_token_open(&k, FUZZ_SERVER, p, len, &t, &errstr) == -1)
		return;
	if (t.mac_key_len != 20 && t.mac_key_len != 32)
		abort();
	(void)oauth_token_fresh(&t, 1700000000, &exp);
	n = oauth_token_seal(&k, FUZZ_SERVER, p + 2, &t, out, sizeof out);
	if (n != len || memcmp(out, p, n) != 0 ||
	    oauth_token_open(&k, FUZZ_SERVER, out, n, &t2, &errstr) == -1 ||
	    memcmp(&t, &t2, sizeof t) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one("A256GCM", data, size);
	fuzz_one("A128GCM", data, size);
	return 0;
}
