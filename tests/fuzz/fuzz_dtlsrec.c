/* Fuzz target for the DTLS record demultiplexer and the ClientHello check. */
#include <stdint.h>
#include <stdlib.h>

#include "turnpike/dtlsrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dtlsrec_hello h;
	const char *errstr = NULL;
	enum dtlsrec_kind k = dtlsrec_classify(data, size);

	if (k != DTLSREC_STUN && k != DTLSREC_DTLS && k != DTLSREC_CHANDATA && k != DTLSREC_OTHER)
		abort();
	if (dtlsrec_client_hello(data, size, &h, &errstr) == 0) {
		/* A ClientHello needs a whole record and handshake header, and the fixed fields. */
		if (k != DTLSREC_DTLS || size < DTLSREC_HEADER_LEN + DTLSREC_HS_HEADER_LEN + 38 ||
		    h.cookie_len > DTLSREC_COOKIE_MAX || (h.client_version >> 8) != 0xfe)
			abort();
	} else if (errstr == NULL)
		abort();
	return 0;
}
