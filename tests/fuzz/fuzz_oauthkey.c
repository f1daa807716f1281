/*
 * Fuzz target for coturn's oauth_key row as oauthkey_make reads it: the input
 * up to its first newline is as_rs_alg, the rest ikm_key (base64). A key that
 * is made has the length of its algorithm, whose name parses back to it; a
 * refused row has an error string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/oauthkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *errstr = NULL;
	struct oauth_key k;
	enum oauth_alg alg;
	char *text, *ikm;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if ((ikm = strchr(text, '\n')) != NULL)
		*ikm++ = '\0';
	if (oauthkey_make("fuzz", ikm, text, 1, 2, "", &k, &errstr) == 0) {
		if (k.keylen != (k.alg == OAUTH_A128GCM ? 16u : 32u) ||
		    oauthkey_alg_parse(oauthkey_alg_name(k.alg), &alg) == -1 || alg != k.alg ||
		    strcmp(k.kid, "fuzz") != 0 || k.timestamp != 1 || k.lifetime != 2)
			abort();
	} else if (errstr == NULL)
		abort();
	free(text);
	return 0;
}
