/* Fuzz target for ChannelData decoding, datagram and stream, with a re-encode check. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/chandata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_one(const uint8_t *p, size_t len, bool stream)
{
	const uint8_t *d, *d2;
	const char *errstr;
	size_t dlen, dlen2, consumed, consumed2;
	uint16_t ch, ch2;
	uint8_t *out;
	int n;

	if (chandata_decode(p, len, stream, &ch, &d, &dlen, &consumed, &errstr) == -1)
		return;
	if (!chandata_is_channel(ch) || consumed > len || d + dlen > p + len ||
	    consumed < CHANDATA_HEADER_LEN + dlen)
		abort();
	if ((out = malloc(consumed)) == NULL)
		return;
	n = chandata_encode(out, consumed, ch, d, dlen, stream);
	if (n < 0 || (size_t)n != consumed ||
	    chandata_decode(out, consumed, stream, &ch2, &d2, &dlen2, &consumed2, &errstr) == -1 ||
	    ch2 != ch || dlen2 != dlen || consumed2 != consumed || memcmp(d, d2, dlen) != 0)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one(data, size, false);
	fuzz_one(data, size, true);
	return 0;
}
