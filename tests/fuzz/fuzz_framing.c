/*
 * Fuzz target for stream framing: splits the input into frames as a TCP
 * connection would, and decodes each complete frame.
 */
#include <stdint.h>
#include <stdlib.h>

#include "turnpike/chandata.h"
#include "turnpike/framing.h"
#include "turnpike/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_frame(const uint8_t *p, size_t len, int kind)
{
	struct stun_msg m;
	const uint8_t *d;
	const char *errstr;
	size_t dlen, consumed;
	uint16_t ch;
	int rc;

	if (kind == FRAMING_STUN) {
		/* Framing checked length and cookie: only attributes can still be wrong. */
		rc = stun_decode(&m, p, len, &errstr);
		if (rc == STUN_DECODE_NOT_STUN || (rc == STUN_DECODE_OK && m.len != len))
			abort();
	} else if (kind == FRAMING_CHANDATA) {
		if (chandata_decode(p, len, true, &ch, &d, &dlen, &consumed, &errstr) == -1 ||
		    consumed != len)
			abort();
	} else
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *errstr;
	size_t off = 0, need;
	int kind = 0;

	while (off < size) {
		if (framing_next(data + off, size - off, &need, &kind, &errstr) == -1)
			break;
		if (need == 0 || need > size - off)
			break; /* a connection would wait for more bytes */
		if (need < CHANDATA_HEADER_LEN)
			abort();
		fuzz_frame(data + off, need, kind);
		off += need;
	}
	return 0;
}
