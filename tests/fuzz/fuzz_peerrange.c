/*
 * Fuzz target for peer ranges and the peer policy. Input: a flags byte, then up
 * to 8 lines (allowed-peer-ip, denied-peer-ip and own addresses in turn), then
 * the rest as an address to check. Every parsed range must have lo <= hi, and
 * every address inside an allowed range must pass the policy.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/peerpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LINES 8

static void
fuzz_sockaddr(int family, const uint8_t *ip, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip, 16);
	}
}

/* Parses one line; on success it becomes an allowed range, a denied one or an own address. */
static void
fuzz_line(struct peerpolicy *pp, const char *line, size_t i, struct peerpolicy_range *allowed,
    size_t *nallowed)
{
	struct peerpolicy_range r;
	struct sockaddr_storage ss;
	const char *errstr = NULL;
	char *cause = NULL;
	size_t len;

	if (peerpolicy_parse_range(line, &r, &errstr) == -1) {
		if (errstr == NULL)
			abort();
		if (peerpolicy_allow(pp, line, &cause) != -1)
			abort();
		free(cause);
		return;
	}
	len = r.family == AF_INET ? 4 : 16;
	if ((r.family != AF_INET && r.family != AF_INET6) || memcmp(r.lo, r.hi, len) > 0)
		abort();
	if (i % 3 == 0) {
		if (peerpolicy_allow(pp, line, &cause) == -1)
			abort();
		allowed[(*nallowed)++] = r;
	} else if (i % 3 == 1) {
		if (peerpolicy_deny(pp, line, &cause) == -1)
			abort();
	} else {
		fuzz_sockaddr(r.family, r.lo, 3478, &ss);
		peerpolicy_add_own(pp, (const struct sockaddr *)&ss);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peerpolicy_range allowed[FUZZ_LINES];
	struct sockaddr_storage ss;
	struct peerpolicy *pp;
	const char *reason;
	char line[160];
	size_t off = 1, n, i, nallowed = 0;
	uint8_t ip[16] = {0};
	uint16_t port;

	if (size == 0 || (pp = peerpolicy_create()) == NULL)
		return 0;
	peerpolicy_set_allow_loopback(pp, (data[0] & 1) != 0);
	if (data[0] & 2)
		peerpolicy_set_relay_ports(pp, 49152, 65535);
	port = (data[0] & 4) ? 50000 : 3478;
	for (i = 0; i < FUZZ_LINES && off < size; i++) {
		for (n = 0; off + n < size && data[off + n] != '\n'; n++)
			;
		memcpy(line, data + off, n < sizeof line ? n : sizeof line - 1);
		line[n < sizeof line ? n : sizeof line - 1] = '\0';
		fuzz_line(pp, line, i, allowed, &nallowed);
		off += n + 1;
	}
	for (i = 0; i < nallowed; i++) {
		fuzz_sockaddr(allowed[i].family, allowed[i].lo, port, &ss);
		if (!peerpolicy_check(pp, (const struct sockaddr *)&ss, &reason))
			abort();
		fuzz_sockaddr(allowed[i].family, allowed[i].hi, port, &ss);
		if (!peerpolicy_check(pp, (const struct sockaddr *)&ss, &reason))
			abort();
	}
	if (off < size) {
		memcpy(ip, data + off, size - off < 16 ? size - off : 16);
		fuzz_sockaddr(data[0] & 8 ? AF_INET6 : AF_INET, ip, port, &ss);
		(void)peerpolicy_check(pp, (const struct sockaddr *)&ss, &reason);
	}
	peerpolicy_free(pp);
	return 0;
}
