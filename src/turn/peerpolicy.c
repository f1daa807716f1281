/* Which peers a client may relay to: ranges, defaults and IPv4-in-IPv6 forms. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/peerpolicy.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* Longest range text: two IPv6 addresses and a dash, or an address and "/128". */
#define PEERPOLICY_TEXT_MAX (2 * INET6_ADDRSTRLEN + 2)

/*
 * A default: a block refused unless an operator opens it, or (reachable) a more
 * specific block inside a refused one that stays open. The most specific row
 * that holds an address decides.
 */
struct peerpolicy_default {
	const char *range;
	const char *reason;
	bool reachable; /* the registry's Globally Reachable: True */
	bool loopback;  /* opened by allow-loopback-peers */
};

#define PP_REFUSE(r, why)                                                                          \
	{                                                                                          \
		r, why, false, false                                                               \
	}
#define PP_OPEN(r, why)                                                                            \
	{                                                                                          \
		r, why, true, false                                                                \
	}

/*
 * RFC 8656 §21.4: the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (tests/data/iana-special-purpose.csv, which test_peerpolicy walks): every
 * block not globally reachable is refused. Teredo and 6to4 (N/A there) are
 * judged by the IPv4 address they carry. Then what the registries leave to
 * others: multicast, site-local, the broadcast address.
 */
static const struct peerpolicy_default peerpolicy_defaults[] = {
    PP_REFUSE("0.0.0.0/8", "\"this network\" address (0.0.0.0/8)"),
    PP_REFUSE("10.0.0.0/8", "private address (10.0.0.0/8)"),
    PP_REFUSE("100.64.0.0/10", "shared address space (100.64.0.0/10)"),
    {"127.0.0.0/8", "loopback address", false, true},
    PP_REFUSE("169.254.0.0/16", "link-local address"),
    PP_REFUSE("172.16.0.0/12", "private address (172.16.0.0/12)"),
    PP_REFUSE("192.0.0.0/24", "IETF protocol assignment (192.0.0.0/24)"),
    PP_OPEN("192.0.0.9", "port control protocol anycast"),
    PP_OPEN("192.0.0.10", "TURN anycast"),
    PP_REFUSE("192.0.2.0/24", "documentation address (192.0.2.0/24)"),
    PP_REFUSE("192.88.99.0/24", "deprecated 6to4 relay anycast (192.88.99.0/24)"),
    PP_REFUSE("192.168.0.0/16", "private address (192.168.0.0/16)"),
    PP_REFUSE("198.18.0.0/15", "benchmarking address (198.18.0.0/15)"),
    PP_REFUSE("198.51.100.0/24", "documentation address (198.51.100.0/24)"),
    PP_REFUSE("203.0.113.0/24", "documentation address (203.0.113.0/24)"),
    PP_REFUSE("240.0.0.0/4", "reserved address (240.0.0.0/4)"),
    PP_REFUSE("255.255.255.255", "broadcast address"),
    PP_REFUSE("224.0.0.0/4", "multicast address"),
    PP_REFUSE("::", "unspecified address (::)"),
    {"::1", "loopback address", false, true},
    PP_REFUSE("::ffff:0:0/96", "IPv4-mapped address"),
    PP_REFUSE("64:ff9b:1::/48", "local-use NAT64 prefix"),
    PP_REFUSE("100::/64", "discard-only address (100::/64)"),
    PP_REFUSE("100:0:0:1::/64", "dummy IPv6 prefix (100:0:0:1::/64)"),
    PP_REFUSE("2001::/23", "IETF protocol assignment (2001::/23)"),
    PP_OPEN("2001::/32", "Teredo (judged by its IPv4 addresses)"),
    PP_OPEN("2001:1::1", "port control protocol anycast"),
    PP_OPEN("2001:1::2", "TURN anycast"),
    PP_OPEN("2001:1::3", "DNS-SD service registration anycast"),
    PP_REFUSE("2001:2::/48", "benchmarking address (2001:2::/48)"),
    PP_OPEN("2001:3::/32", "AMT"),
    PP_OPEN("2001:4:112::/48", "AS112-v6"),
    PP_OPEN("2001:20::/28", "ORCHIDv2"),
    PP_OPEN("2001:30::/28", "drone remote ID entity tags"),
    PP_REFUSE("2001:10::/28", "deprecated ORCHID prefix (2001:10::/28)"),
    PP_REFUSE("2001:db8::/32", "documentation address (2001:db8::/32)"),
    PP_REFUSE("3fff::/20", "documentation address (3fff::/20)"),
    PP_REFUSE("5f00::/16", "SRv6 segment identifier (5f00::/16)"),
    PP_REFUSE("fc00::/7", "unique local address"),
    PP_REFUSE("fe80::/10", "link-local address"),
    PP_REFUSE("fec0::/10", "site-local address"),
    PP_REFUSE("ff00::/8", "multicast address"),
};

struct peerpolicy {
	struct peerpolicy_range defaults[nitems(peerpolicy_defaults)];
	struct peerpolicy_range *allow;
	size_t nallow;
	struct peerpolicy_range *deny;
	size_t ndeny;
	struct sockaddr_storage *own;
	size_t nown;
	bool allow_loopback;
	uint16_t relay_min, relay_max;
};

/* An IP address without its port: family and network-order bytes. */
struct peerpolicy_ip {
	int family;
	uint8_t b[16];
	uint16_t port;
};

static size_t
peerpolicy_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static int
peerpolicy_parse_ip(const char *s, int *family, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

/* "a/n": the prefix's first and last addresses. */
static int
peerpolicy_parse_cidr(char *s, char *slash, struct peerpolicy_range *r, const char **errstr)
{
	const char *p;
	size_t i, bits = 0, len;

	*slash = '\0';
	if (peerpolicy_parse_ip(s, &r->family, r->lo) == -1) {
		*errstr = "not an IP address";
		return -1;
	}
	len = peerpolicy_len(r->family);
	for (p = slash + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - slash > 3) {
			*errstr = "bad prefix length";
			return -1;
		}
		bits = bits * 10 + (size_t)(*p - '0');
	}
	if (p == slash + 1) {
		*errstr = "bad prefix length";
		return -1;
	}
	if (bits > len * 8) {
		*errstr = "prefix length out of range";
		return -1;
	}
	for (i = 0; i < len; i++) {
		size_t keep = bits > i * 8 ? bits - i * 8 : 0;
		uint8_t mask = keep >= 8 ? 0xff : (uint8_t)(0xff00 >> keep);
		r->lo[i] &= mask;
		r->hi[i] = (uint8_t)(r->lo[i] | (uint8_t)~mask);
	}
	return 0;
}

/* "a-b": both ends of one family, a <= b. */
static int
peerpolicy_parse_span(char *s, char *dash, struct peerpolicy_range *r, const char **errstr)
{
	int fam2;

	*dash = '\0';
	if (peerpolicy_parse_ip(s, &r->family, r->lo) == -1 ||
	    peerpolicy_parse_ip(dash + 1, &fam2, r->hi) == -1) {
		*errstr = "not an IP address";
		return -1;
	}
	if (fam2 != r->family) {
		*errstr = "mixed address families";
		return -1;
	}
	if (memcmp(r->lo, r->hi, peerpolicy_len(r->family)) > 0) {
		*errstr = "range start after end";
		return -1;
	}
	return 0;
}

int
peerpolicy_parse_range(const char *s, struct peerpolicy_range *r, const char **errstr)
{
	char buf[PEERPOLICY_TEXT_MAX + 1], *sep;
	size_t len = strlen(s);

	memset(r, 0, sizeof *r);
	if (len == 0) {
		*errstr = "empty range";
		return -1;
	}
	if (len > PEERPOLICY_TEXT_MAX) {
		*errstr = "range text too long";
		return -1;
	}
	memcpy(buf, s, len + 1);
	if ((sep = strchr(buf, '/')) != NULL)
		return peerpolicy_parse_cidr(buf, sep, r, errstr);
	if ((sep = strchr(buf, '-')) != NULL)
		return peerpolicy_parse_span(buf, sep, r, errstr);
	if (peerpolicy_parse_ip(buf, &r->family, r->lo) == -1) {
		*errstr = "not an IP address";
		return -1;
	}
	memcpy(r->hi, r->lo, sizeof r->hi);
	return 0;
}

struct peerpolicy *
peerpolicy_create(void)
{
	struct peerpolicy *pp;
	const char *errstr;
	size_t i;

	if ((pp = calloc(1, sizeof *pp)) == NULL)
		return NULL;
	for (i = 0; i < nitems(peerpolicy_defaults); i++) {
		if (peerpolicy_parse_range(peerpolicy_defaults[i].range, &pp->defaults[i],
			&errstr) == -1) {
			free(pp);
			return NULL;
		}
	}
	return pp;
}

void
peerpolicy_free(struct peerpolicy *pp)
{
	if (pp == NULL)
		return;
	free(pp->allow);
	free(pp->deny);
	free(pp->own);
	free(pp);
}

/* A copy of n elements of size sz; NULL only when out of memory (n == 0 gives NULL, ok). */
static int
peerpolicy_copy(void **dst, const void *src, size_t n, size_t sz)
{
	*dst = NULL;
	if (n == 0)
		return 0;
	if ((*dst = reallocarray(NULL, n, sz)) == NULL)
		return -1;
	memcpy(*dst, src, n * sz);
	return 0;
}

struct peerpolicy *
peerpolicy_dup(const struct peerpolicy *pp)
{
	struct peerpolicy *c;

	if ((c = malloc(sizeof *c)) == NULL)
		return NULL;
	*c = *pp;
	c->allow = NULL;
	c->deny = NULL;
	c->own = NULL;
	if (peerpolicy_copy((void **)&c->allow, pp->allow, pp->nallow, sizeof *pp->allow) != 0 ||
	    peerpolicy_copy((void **)&c->deny, pp->deny, pp->ndeny, sizeof *pp->deny) != 0 ||
	    peerpolicy_copy((void **)&c->own, pp->own, pp->nown, sizeof *pp->own) != 0) {
		peerpolicy_free(c);
		return NULL;
	}
	return c;
}

/* Parses range and appends it to *list; -1 with *cause naming the text. */
static int
peerpolicy_add_range(struct peerpolicy_range **list, size_t *n, const char *range, char **cause)
{
	struct peerpolicy_range r, *grown;
	const char *errstr;

	if (peerpolicy_parse_range(range, &r, &errstr) == -1) {
		if (asprintf(cause, "\"%s\": %s", range, errstr) == -1)
			*cause = NULL;
		return -1;
	}
	if ((grown = reallocarray(*list, *n + 1, sizeof **list)) == NULL) {
		if (asprintf(cause, "\"%s\": out of memory", range) == -1)
			*cause = NULL;
		return -1;
	}
	grown[(*n)++] = r;
	*list = grown;
	return 0;
}

int
peerpolicy_allow(struct peerpolicy *pp, const char *range, char **cause)
{
	return peerpolicy_add_range(&pp->allow, &pp->nallow, range, cause);
}

int
peerpolicy_deny(struct peerpolicy *pp, const char *range, char **cause)
{
	return peerpolicy_add_range(&pp->deny, &pp->ndeny, range, cause);
}

void
peerpolicy_set_allow_loopback(struct peerpolicy *pp, bool allow)
{
	pp->allow_loopback = allow;
}

void
peerpolicy_set_relay_ports(struct peerpolicy *pp, uint16_t min, uint16_t max)
{
	pp->relay_min = min;
	pp->relay_max = max;
}

/* The address of sa as a peerpolicy_ip; -1 for other families. */
static int
peerpolicy_ip_of(const struct sockaddr *sa, struct peerpolicy_ip *ip)
{
	memset(ip, 0, sizeof *ip);
	ip->family = sa->sa_family;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
		memcpy(ip->b, &sin->sin_addr, 4);
		ip->port = ntohs(sin->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(ip->b, &sin6->sin6_addr, 16);
		ip->port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -1;
}

int
peerpolicy_add_own(struct peerpolicy *pp, const struct sockaddr *sa)
{
	struct sockaddr_storage *grown;
	struct peerpolicy_ip ip;

	if (peerpolicy_ip_of(sa, &ip) == -1)
		return -1;
	if ((grown = reallocarray(pp->own, pp->nown + 1, sizeof *pp->own)) == NULL)
		return -1;
	memset(&grown[pp->nown], 0, sizeof grown[pp->nown]);
	memcpy(&grown[pp->nown], sa,
	    ip.family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	pp->nown++;
	pp->own = grown;
	return 0;
}

static bool
peerpolicy_in_range(const struct peerpolicy_range *r, const struct peerpolicy_ip *ip)
{
	size_t len = peerpolicy_len(ip->family);

	return r->family == ip->family && memcmp(r->lo, ip->b, len) <= 0 &&
	    memcmp(r->hi, ip->b, len) >= 0;
}

static bool
peerpolicy_in_list(const struct peerpolicy_range *list, size_t n, const struct peerpolicy_ip *ip)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (peerpolicy_in_range(&list[i], ip))
			return true;
	}
	return false;
}

bool
peerpolicy_range_has(const struct peerpolicy_range *r, size_t n, const struct sockaddr *sa)
{
	struct peerpolicy_ip ip;

	return peerpolicy_ip_of(sa, &ip) == 0 && peerpolicy_in_list(r, n, &ip);
}

static bool
peerpolicy_is_own(const struct peerpolicy *pp, const struct peerpolicy_ip *ip)
{
	struct peerpolicy_ip own;
	size_t i;

	for (i = 0; i < pp->nown; i++) {
		if (peerpolicy_ip_of((const struct sockaddr *)&pp->own[i], &own) == 0 &&
		    own.family == ip->family &&
		    memcmp(own.b, ip->b, peerpolicy_len(ip->family)) == 0)
			return true;
	}
	return false;
}

/* The most specific default row holding ip, or SIZE_MAX. */
static size_t
peerpolicy_default_of(const struct peerpolicy *pp, const struct peerpolicy_ip *ip)
{
	const struct peerpolicy_range *r, *b;
	size_t i, best = SIZE_MAX, len = peerpolicy_len(ip->family);

	for (i = 0; i < nitems(peerpolicy_defaults); i++) {
		r = &pp->defaults[i];
		if (!peerpolicy_in_range(r, ip))
			continue;
		b = best == SIZE_MAX ? NULL : &pp->defaults[best];
		/* Prefixes nest or are disjoint: inside the best so far means more specific. */
		if (b == NULL || (memcmp(r->lo, b->lo, len) >= 0 && memcmp(r->hi, b->hi, len) <= 0))
			best = i;
	}
	return best;
}

/*
 * One address on its own (no allow list): denied-peer-ip, then the server's own
 * addresses (reachable on relay ports only, so clients reach each other's relays),
 * then the defaults.
 */
static bool
peerpolicy_refused(const struct peerpolicy *pp, const struct peerpolicy_ip *ip, const char **reason)
{
	size_t i;

	if (peerpolicy_in_list(pp->deny, pp->ndeny, ip)) {
		*reason = "denied by denied-peer-ip";
		return true;
	}
	if (peerpolicy_is_own(pp, ip)) {
		if (ip->port >= pp->relay_min && ip->port <= pp->relay_max && pp->relay_min != 0)
			return false;
		*reason = "the server's own address outside the relay port range";
		return true;
	}
	if ((i = peerpolicy_default_of(pp, ip)) == SIZE_MAX || peerpolicy_defaults[i].reachable ||
	    (peerpolicy_defaults[i].loopback && pp->allow_loopback))
		return false;
	*reason = peerpolicy_defaults[i].reason;
	return true;
}

static bool
peerpolicy_zero(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i] != 0)
			return false;
	}
	return true;
}

/* One way of carrying an IPv4 address inside an IPv6 one. */
struct peerpolicy_embed {
	const char *reason;
	bool (*match)(const uint8_t *a);
	size_t at;    /* offset of the IPv4 address */
	uint8_t flip; /* xor applied to it (Teredo's obfuscated client address) */
};

/* ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
static bool
peerpolicy_is_mapped(const uint8_t *a)
{
	return peerpolicy_zero(a, 10) && a[10] == 0xff && a[11] == 0xff;
}

/* ::ffff:0:0:0/96 (RFC 2765 IPv4-translated). */
static bool
peerpolicy_is_translated(const uint8_t *a)
{
	return peerpolicy_zero(a, 8) && a[8] == 0xff && a[9] == 0xff && a[10] == 0 && a[11] == 0;
}

/* ::/96 (RFC 4291 §2.5.5.1), except :: and ::1 which are IPv6's own. */
static bool
peerpolicy_is_compat(const uint8_t *a)
{
	return peerpolicy_zero(a, 12) && !(peerpolicy_zero(a + 12, 3) && a[15] <= 1);
}

/* 64:ff9b::/96 (RFC 6052 well-known prefix). */
static bool
peerpolicy_is_nat64(const uint8_t *a)
{
	static const uint8_t wkp[4] = {0x00, 0x64, 0xff, 0x9b};

	return memcmp(a, wkp, 4) == 0 && peerpolicy_zero(a + 4, 8);
}

/* 2002::/16 (RFC 3056): the IPv4 address is bits 16-47. */
static bool
peerpolicy_is_6to4(const uint8_t *a)
{
	return a[0] == 0x20 && a[1] == 0x02;
}

/* 2001::/32 (RFC 4380): server IPv4 in bits 32-63, client IPv4 inverted in 96-127. */
static bool
peerpolicy_is_teredo(const uint8_t *a)
{
	return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0;
}

static const struct peerpolicy_embed peerpolicy_embeds[] = {
    {"IPv4-mapped form of a refused IPv4 address", peerpolicy_is_mapped, 12, 0},
    {"IPv4-translated form of a refused IPv4 address", peerpolicy_is_translated, 12, 0},
    {"IPv4-compatible form of a refused IPv4 address", peerpolicy_is_compat, 12, 0},
    {"NAT64 form of a refused IPv4 address", peerpolicy_is_nat64, 12, 0},
    {"6to4 form of a refused IPv4 address", peerpolicy_is_6to4, 2, 0},
    {"Teredo server of a refused IPv4 address", peerpolicy_is_teredo, 4, 0},
    {"Teredo client of a refused IPv4 address", peerpolicy_is_teredo, 12, 0xff},
};

/* Every IPv4 address embedded in an IPv6 one must pass on its own too. */
static bool
peerpolicy_embedded_refused(const struct peerpolicy *pp, const struct peerpolicy_ip *ip,
    const char **reason)
{
	struct peerpolicy_ip v4;
	const char *why;
	size_t i, j;

	for (i = 0; i < nitems(peerpolicy_embeds); i++) {
		if (!peerpolicy_embeds[i].match(ip->b))
			continue;
		memset(&v4, 0, sizeof v4);
		v4.family = AF_INET;
		v4.port = ip->port;
		for (j = 0; j < 4; j++)
			v4.b[j] = ip->b[peerpolicy_embeds[i].at + j] ^ peerpolicy_embeds[i].flip;
		if (!peerpolicy_in_list(pp->allow, pp->nallow, &v4) &&
		    peerpolicy_refused(pp, &v4, &why)) {
			*reason = peerpolicy_embeds[i].reason;
			return true;
		}
	}
	return false;
}

/* Own addresses, and IPv6 forms that embed an IPv4 address (which may be own), hang on the port. */
bool
peerpolicy_port_matters(const struct peerpolicy *pp, const struct sockaddr *peer)
{
	struct peerpolicy_ip ip;
	size_t i;

	if (peerpolicy_ip_of(peer, &ip) == -1)
		return true;
	if (peerpolicy_is_own(pp, &ip))
		return true;
	for (i = 0; ip.family == AF_INET6 && i < nitems(peerpolicy_embeds); i++) {
		if (peerpolicy_embeds[i].match(ip.b))
			return true;
	}
	return false;
}

bool
peerpolicy_check(const struct peerpolicy *pp, const struct sockaddr *peer, const char **reason)
{
	struct peerpolicy_ip ip;

	if (peerpolicy_ip_of(peer, &ip) == -1) {
		*reason = "not an IP address";
		return false;
	}
	/* coturn's rule: an address both allowed and denied is allowed. */
	if (peerpolicy_in_list(pp->allow, pp->nallow, &ip))
		return true;
	if (peerpolicy_refused(pp, &ip, reason))
		return false;
	if (ip.family == AF_INET6 && peerpolicy_embedded_refused(pp, &ip, reason))
		return false;
	return true;
}
