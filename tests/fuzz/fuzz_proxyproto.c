/*
 * Fuzz target for the PROXY protocol decoder. Every prefix of an accepted
 * header must ask for more (never be accepted or refused early with a
 * different answer), and an accepted header fits in what was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "turnpike/proxyproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyproto_hdr h;
	const char *errstr;
	size_t used, used2;
	enum proxyproto_rc rc;

	rc = proxyproto_parse(data, size, &h, &used, &errstr);
	if (rc == PROXYPROTO_BAD && errstr == NULL)
		abort();
	if (rc != PROXYPROTO_OK)
		return 0;
	if (used == 0 || used > size || used > PROXYPROTO_MAX)
		abort();
	if (!h.local && (h.src.ss_family != AF_INET && h.src.ss_family != AF_INET6))
		abort();
	if (proxyproto_parse(data, used, &h, &used2, &errstr) != PROXYPROTO_OK || used2 != used)
		abort();
	if (proxyproto_parse(data, used - 1, &h, &used2, &errstr) != PROXYPROTO_MORE)
		abort();
	return 0;
}
