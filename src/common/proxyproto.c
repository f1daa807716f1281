/* PROXY protocol headers, versions 1 (text) and 2 (binary): a pure decoder. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/buf.h"
#include "turnpike/proxyproto.h"

static const uint8_t proxyproto_v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55,
    0x49, 0x54, 0x0a};
static const char proxyproto_v1_sig[] = "PROXY ";

#define PROXYPROTO_V2_HDR 16
#define PROXYPROTO_V2_INET 12
#define PROXYPROTO_V2_INET6 36
#define PROXYPROTO_V2_UNIX 216

static enum proxyproto_rc
proxyproto_bad(const char **errstr, const char *why)
{
	*errstr = why;
	return PROXYPROTO_BAD;
}

/* True when the len bytes of p agree with the first len bytes of sig. */
static bool
proxyproto_prefix(const uint8_t *p, size_t len, const void *sig, size_t siglen)
{
	return memcmp(p, sig, len < siglen ? len : siglen) == 0;
}

/* A decimal port, no sign and no leading zero (the specification's form). */
static int
proxyproto_v1_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0') || strlen(s) > 5)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
proxyproto_v1_addr(int family, const char *ip, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint16_t v;

	memset(ss, 0, sizeof *ss);
	if (proxyproto_v1_port(port, &v) != 0)
		return -1;
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(v);
		return inet_pton(AF_INET, ip, &sin->sin_addr) == 1 ? 0 : -1;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(v);
	return inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1 ? 0 : -1;
}

/* Splits line at single spaces into at most max fields; -1 on an empty field. */
static int
proxyproto_v1_split(char *line, char **field, int max)
{
	int n = 0;
	char *p = line, *sp;

	for (;;) {
		if (n == max || *p == '\0' || *p == ' ')
			return -1;
		field[n++] = p;
		if ((sp = strchr(p, ' ')) == NULL)
			return n;
		*sp = '\0';
		p = sp + 1;
	}
}

/* "PROXY TCP4 SRC DST SPORT DPORT", "PROXY TCP6 ...", or "PROXY UNKNOWN[ anything]". */
static enum proxyproto_rc
proxyproto_v1_line(char *line, struct proxyproto_hdr *h, const char **errstr)
{
	char *f[6];
	int n, family;

	h->version = 1;
	h->socktype = SOCK_STREAM;
	if (strncmp(line, "UNKNOWN", 7) == 0 && (line[7] == '\0' || line[7] == ' ')) {
		h->local = true;
		return PROXYPROTO_OK;
	}
	if ((n = proxyproto_v1_split(line, f, 6)) != 5)
		return proxyproto_bad(errstr,
		    "PROXY v1: expected protocol, two addresses, two ports");
	if (strcmp(f[0], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(f[0], "TCP6") == 0)
		family = AF_INET6;
	else
		return proxyproto_bad(errstr, "PROXY v1: protocol is not TCP4, TCP6 or UNKNOWN");
	if (proxyproto_v1_addr(family, f[1], f[3], &h->src) != 0 ||
	    proxyproto_v1_addr(family, f[2], f[4], &h->dst) != 0)
		return proxyproto_bad(errstr, "PROXY v1: bad address or port");
	return PROXYPROTO_OK;
}

static enum proxyproto_rc
proxyproto_v1(const uint8_t *p, size_t len, struct proxyproto_hdr *h, size_t *used,
    const char **errstr)
{
	char line[PROXYPROTO_V1_MAX];
	/* The CR of the CRLF ends the line: at index 105 at the latest. */
	size_t i, max = len < PROXYPROTO_V1_MAX - 1 ? len : PROXYPROTO_V1_MAX - 1;

	for (i = 6; i < max; i++) {
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
			break;
	}
	if (i == max) {
		if (len >= PROXYPROTO_V1_MAX - 1)
			return proxyproto_bad(errstr, "PROXY v1: line longer than 107 bytes");
		return PROXYPROTO_MORE;
	}
	if (p[i] != '\r')
		return proxyproto_bad(errstr, "PROXY v1: line feed or NUL before CRLF");
	if (i + 1 == len)
		return PROXYPROTO_MORE;
	if (p[i + 1] != '\n')
		return proxyproto_bad(errstr, "PROXY v1: carriage return without line feed");
	memcpy(line, p + 6, i - 6);
	line[i - 6] = '\0';
	*used = i + 2;
	return proxyproto_v1_line(line, h, errstr);
}

static void
proxyproto_v2_sin(struct sockaddr_storage *ss, const uint8_t *ip, const uint8_t *port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof *ss);
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, ip, 4);
	memcpy(&sin->sin_port, port, 2);
}

static void
proxyproto_v2_sin6(struct sockaddr_storage *ss, const uint8_t *ip, const uint8_t *port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, ip, 16);
	memcpy(&sin6->sin6_port, port, 2);
}

/* The address block of an INET or INET6 header: source, destination, then ports. */
static int
proxyproto_v2_addrs(struct buf *b, int family, struct proxyproto_hdr *h)
{
	const uint8_t *src, *dst, *sport, *dport;
	size_t alen = family == AF_INET ? 4 : 16;

	if (buf_get_ptr(b, &src, alen) != 0 || buf_get_ptr(b, &dst, alen) != 0 ||
	    buf_get_ptr(b, &sport, 2) != 0 || buf_get_ptr(b, &dport, 2) != 0)
		return -1;
	if (family == AF_INET) {
		proxyproto_v2_sin(&h->src, src, sport);
		proxyproto_v2_sin(&h->dst, dst, dport);
	} else {
		proxyproto_v2_sin6(&h->src, src, sport);
		proxyproto_v2_sin6(&h->dst, dst, dport);
	}
	return 0;
}

/* After the addresses: type-length-value records that must fill the header exactly. */
static int
proxyproto_v2_tlvs(struct buf *b, struct proxyproto_hdr *h)
{
	uint8_t type;
	uint16_t len;

	while (buf_left(b) > 0) {
		if (buf_get_u8(b, &type) != 0 || buf_get_u16(b, &len) != 0 || buf_skip(b, len) != 0)
			return -1;
		h->ntlv++;
	}
	return 0;
}

/* Version and command, family and transport: the two bytes after the signature. */
static enum proxyproto_rc
proxyproto_v2_kind(uint8_t vc, uint8_t ft, struct proxyproto_hdr *h, size_t *alen,
    const char **errstr)
{
	static const size_t alens[] = {0, PROXYPROTO_V2_INET, PROXYPROTO_V2_INET6,
	    PROXYPROTO_V2_UNIX};
	static const int socktypes[] = {0, SOCK_STREAM, SOCK_DGRAM};

	if ((vc >> 4) != 2)
		return proxyproto_bad(errstr, "PROXY v2: version is not 2");
	if ((vc & 0x0f) > 1)
		return proxyproto_bad(errstr, "PROXY v2: command is not LOCAL or PROXY");
	if ((ft >> 4) > 3 || (ft & 0x0f) > 2)
		return proxyproto_bad(errstr, "PROXY v2: unknown address family or transport");
	h->version = 2;
	h->socktype = socktypes[ft & 0x0f];
	/* LOCAL (health checks), UNSPEC and UNIX: no IP address to use. */
	h->local = (vc & 0x0f) == 0 || (ft >> 4) == 0 || (ft >> 4) == 3;
	*alen = alens[ft >> 4];
	return PROXYPROTO_OK;
}

static enum proxyproto_rc
proxyproto_v2(const uint8_t *p, size_t len, struct proxyproto_hdr *h, size_t *used,
    const char **errstr)
{
	struct buf b, body;
	const uint8_t *rest;
	uint8_t vc, ft;
	uint16_t blen;
	size_t alen;

	buf_init(&b, p, len);
	if (buf_skip(&b, sizeof proxyproto_v2_sig) != 0 || buf_get_u8(&b, &vc) != 0 ||
	    buf_get_u8(&b, &ft) != 0 || buf_get_u16(&b, &blen) != 0)
		return PROXYPROTO_MORE;
	if (proxyproto_v2_kind(vc, ft, h, &alen, errstr) != PROXYPROTO_OK)
		return PROXYPROTO_BAD;
	if ((size_t)PROXYPROTO_V2_HDR + blen > PROXYPROTO_V2_MAX)
		return proxyproto_bad(errstr, "PROXY v2: header longer than 2048 bytes");
	if (buf_get_ptr(&b, &rest, blen) != 0)
		return PROXYPROTO_MORE;
	buf_init(&body, rest, blen);
	if (blen < alen)
		return proxyproto_bad(errstr, "PROXY v2: address block truncated");
	if (alen == PROXYPROTO_V2_INET || alen == PROXYPROTO_V2_INET6) {
		if (proxyproto_v2_addrs(&body, alen == PROXYPROTO_V2_INET ? AF_INET : AF_INET6,
			h) != 0)
			return proxyproto_bad(errstr, "PROXY v2: address block truncated");
	} else if (buf_skip(&body, alen) != 0)
		return proxyproto_bad(errstr, "PROXY v2: address block truncated");
	if (proxyproto_v2_tlvs(&body, h) != 0)
		return proxyproto_bad(errstr, "PROXY v2: TLV runs past the header");
	*used = PROXYPROTO_V2_HDR + blen;
	return PROXYPROTO_OK;
}

enum proxyproto_rc
proxyproto_parse(const uint8_t *p, size_t len, struct proxyproto_hdr *h, size_t *used,
    const char **errstr)
{
	memset(h, 0, sizeof *h);
	*used = 0;
	*errstr = NULL;
	if (len == 0)
		return PROXYPROTO_MORE;
	if (proxyproto_prefix(p, len, proxyproto_v2_sig, sizeof proxyproto_v2_sig))
		return proxyproto_v2(p, len, h, used, errstr);
	if (!proxyproto_prefix(p, len, proxyproto_v1_sig, sizeof proxyproto_v1_sig - 1))
		return proxyproto_bad(errstr, "no PROXY protocol header");
	if (len < sizeof proxyproto_v1_sig - 1)
		return PROXYPROTO_MORE;
	return proxyproto_v1(p, len, h, used, errstr);
}
