/* Socket address helpers for IPv4 and IPv6. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"

static int
addr_parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Fills out from a bare numeric address (no brackets, no port). */
static int
addr_from_text(const char *s, uint16_t port, struct sockaddr_storage *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return 0;
	}
	return -1;
}

int
addr_parse(const char *s, uint16_t defport, struct sockaddr_storage *out, const char **errstr)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *close, *portstr = NULL;
	uint16_t port = defport;
	size_t hlen;

	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL) {
			*errstr = "missing ']'";
			return -1;
		}
		hlen = (size_t)(close - s - 1);
		s++;
		if (close[1] == ':')
			portstr = close + 2;
		else if (close[1] != '\0') {
			*errstr = "unexpected text after ']'";
			return -1;
		}
	} else if ((colon = strchr(s, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - s); /* one colon: IPv4 with a port */
		portstr = colon + 1;
	} else
		hlen = strlen(s);
	if (hlen == 0 || hlen >= sizeof(host)) {
		*errstr = "not an IP address";
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (portstr != NULL && addr_parse_port(portstr, &port) == -1) {
		*errstr = "invalid port";
		return -1;
	}
	if (addr_from_text(host, port, out) == -1) {
		*errstr = "not an IP address";
		return -1;
	}
	return 0;
}

int
addr_parse_ip(const char *s, struct sockaddr_storage *out, const char **errstr)
{
	if (addr_from_text(s, 0, out) == -1) {
		*errstr = "not an IP address";
		return -1;
	}
	return 0;
}

const char *
addr_fmt(const struct sockaddr *sa, bool with_port, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		if (with_port)
			snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
		else
			snprintf(buf, len, "%s", ip);
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		if (with_port)
			snprintf(buf, len, "[%s]:%u", ip, ntohs(sin6->sin6_port));
		else
			snprintf(buf, len, "%s", ip);
	} else
		snprintf(buf, len, "(family %d)", sa->sa_family);
	return buf;
}

socklen_t
addr_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	return 0;
}

uint16_t
addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return 0;
}

void
addr_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
	else if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
}

bool
addr_equal_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			   &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}

bool
addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	return addr_equal_ip(a, b) && addr_port(a) == addr_port(b);
}

bool
addr_is_v6(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6;
}

const struct sockaddr *
addr_unmap_v4(const struct sockaddr *sa, struct sockaddr_in *sin)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

	if (sa->sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return sa;
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_port = sin6->sin6_port;
	memcpy(&sin->sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	return (const struct sockaddr *)sin;
}

bool
addr_is_any(const struct sockaddr *sa)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &any6, 16) == 0;
	return false;
}

/* FNV-1a over family, address and port, mixed with a per-process seed. */
static uint32_t
addr_fnv(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

uint32_t
addr_hash(const struct sockaddr *sa, uint32_t seed)
{
	uint32_t h = 2166136261u ^ seed;
	uint16_t port = addr_port(sa);

	h = addr_fnv(h, &sa->sa_family, sizeof(sa->sa_family));
	if (sa->sa_family == AF_INET)
		h = addr_fnv(h, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		h = addr_fnv(h, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	h = addr_fnv(h, &port, sizeof(port));
	return h;
}

size_t
addr_limit_key(const struct sockaddr *sa, uint8_t key[ADDR_LIMIT_KEY_MAX])
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

	if (sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	/* Read in place: a copy into a sockaddr_in read as a sockaddr breaks strict aliasing. */
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(key, &sin6->sin6_addr.s6_addr[12], 4);
		return 4;
	}
	memcpy(key, &sin6->sin6_addr, 8);
	return 8;
}
