/* Fuzz target for RFC 8016 MOBILITY-TICKET opening, with a re-seal check of what opens. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/mobility.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mobility_key k;
	static int ready;
	struct mobility_ticket tk, tk2;
	char out[MOBILITY_TICKET_LEN];
	const char *errstr;
	uint8_t secret[32];
	size_t i;

	if (!ready) {
		/* The unit test's known-answer key: the seed corpus holds its ticket. */
		for (i = 0; i < sizeof secret; i++)
			secret[i] = (uint8_t)i;
		if (mobility_key_init(&k, secret, sizeof secret) == -1)
			abort();
		k.instance[0] = 0xa1;
		k.instance[1] = 0xb2;
		k.instance[2] = 0xc3;
		ready = 1;
	}
	memset(&tk, 0, sizeof tk); /* padding too: the structs are compared whole */
	memset(&tk2, 0, sizeof tk2);
	if (mobility_open(&k, data, size, &tk, &errstr) == -1)
		return 0;
	/* Whatever opens was sealed by this key: it seals back to the same characters. */
	if (size != MOBILITY_TICKET_LEN || mobility_seal(&k, &tk, out) == -1 ||
	    memcmp(out, data, size) != 0 ||
	    mobility_open(&k, (const uint8_t *)out, sizeof out, &tk2, &errstr) == -1 ||
	    memcmp(&tk, &tk2, sizeof tk) != 0)
		abort();
	return 0;
}
