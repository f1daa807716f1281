/* Unit tests for the PROXY protocol decoder (versions 1 and 2). */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "turnpike/proxyproto.h"
#include "unit.h"

static const uint8_t sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54,
    0x0a};

static enum proxyproto_rc
parse_text(const char *s, struct proxyproto_hdr *h, size_t *used)
{
	const char *errstr;

	return proxyproto_parse((const uint8_t *)s, strlen(s), h, used, &errstr);
}

static bool
is_v4(const struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	struct in_addr a;

	return ss->ss_family == AF_INET && inet_pton(AF_INET, ip, &a) == 1 &&
	    sin->sin_addr.s_addr == a.s_addr && ntohs(sin->sin_port) == port;
}

static bool
is_v6(const struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	struct in6_addr a;

	return ss->ss_family == AF_INET6 && inet_pton(AF_INET6, ip, &a) == 1 &&
	    memcmp(&sin6->sin6_addr, &a, 16) == 0 && ntohs(sin6->sin6_port) == port;
}

static void
test_v1(void)
{
	struct proxyproto_hdr h;
	size_t used;
	const char *l4 = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 3478\r\n";
	const char *l6 = "PROXY TCP6 2001:db8::7 2001:db8::1 1 65535\r\nSTUN";
	char buf[160];
	size_t i;

	CHECK(parse_text(l4, &h, &used) == PROXYPROTO_OK && used == strlen(l4));
	CHECK(h.version == 1 && !h.local && h.socktype == SOCK_STREAM);
	CHECK(is_v4(&h.src, "192.0.2.7", 56324) && is_v4(&h.dst, "198.51.100.1", 3478));
	CHECKM(parse_text(l6, &h, &used) == PROXYPROTO_OK && used == strlen(l6) - 4,
	    "TCP6: the bytes after CRLF are not consumed");
	CHECK(is_v6(&h.src, "2001:db8::7", 1) && is_v6(&h.dst, "2001:db8::1", 65535));
	CHECK(parse_text("PROXY UNKNOWN\r\n", &h, &used) == PROXYPROTO_OK && used == 15 && h.local);
	CHECK(parse_text("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", &h, &used) == PROXYPROTO_OK &&
	    h.local);
	for (i = 0; i < strlen(l4) - 1; i++) {
		memcpy(buf, l4, i);
		if (proxyproto_parse((const uint8_t *)buf, i, &h, &used, &(const char *){0}) !=
		    PROXYPROTO_MORE)
			break;
	}
	CHECKM(i == strlen(l4) - 1, "every truncation of a v1 line asks for more");
	CHECK(parse_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", &h, &used) == PROXYPROTO_BAD);
	CHECK(parse_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", &h, &used) == PROXYPROTO_BAD);
	CHECK(parse_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", &h, &used) == PROXYPROTO_BAD);
	CHECK(parse_text("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", &h, &used) == PROXYPROTO_BAD);
	CHECK(parse_text("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", &h, &used) == PROXYPROTO_BAD);
	CHECK(parse_text("PROXY TCP4 ::1 ::2 1 2\r\n", &h, &used) == PROXYPROTO_BAD);
	CHECK(parse_text("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", &h, &used) == PROXYPROTO_BAD);
	CHECK(parse_text("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", &h, &used) == PROXYPROTO_BAD);
	CHECK(parse_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", &h, &used) == PROXYPROTO_BAD);
	CHECK(parse_text("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", &h, &used) == PROXYPROTO_BAD);
	memset(buf, 'A', sizeof buf);
	memcpy(buf, "PROXY UNKNOWN ", 14);
	CHECKM(proxyproto_parse((const uint8_t *)buf, sizeof buf, &h, &used, &(const char *){0}) ==
		PROXYPROTO_BAD,
	    "a v1 line without CRLF in 107 bytes is refused");
	memcpy(buf + 105, "\r\n", 2);
	CHECKM(proxyproto_parse((const uint8_t *)buf, sizeof buf, &h, &used, &(const char *){0}) ==
		    PROXYPROTO_OK &&
		used == 107,
	    "a v1 line of exactly 107 bytes is accepted");
}

/* A v2 header: signature, vc, ft, then body of blen bytes. */
static size_t
v2(uint8_t *out, uint8_t vc, uint8_t ft, const uint8_t *body, uint16_t blen)
{
	memcpy(out, sig, 12);
	out[12] = vc;
	out[13] = ft;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen > 0)
		memcpy(out + 16, body, blen);
	return 16 + (size_t)blen;
}

static void
test_v2(void)
{
	const uint8_t in4[12] = {127, 0, 0, 5, 127, 0, 0, 1, 0xc0, 0x01, 0x0d, 0x96};
	uint8_t in6[36] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7, [16] = 0x20, [17] = 0x01, [31] = 1,
	    [32] = 0x12, [33] = 0x34, [34] = 0x0d, [35] = 0x96};
	uint8_t tlv[12 + 3 + 4 + 3], p[PROXYPROTO_MAX + 64], big[PROXYPROTO_MAX];
	struct proxyproto_hdr h;
	const char *errstr;
	size_t n, used, i;

	n = v2(p, 0x21, 0x11, in4, sizeof in4);
	memcpy(p + n, "\x00\x01", 2);
	CHECK(proxyproto_parse(p, n + 2, &h, &used, &errstr) == PROXYPROTO_OK && used == n);
	CHECK(h.version == 2 && !h.local && h.socktype == SOCK_STREAM && h.ntlv == 0);
	CHECK(is_v4(&h.src, "127.0.0.5", 0xc001) && is_v4(&h.dst, "127.0.0.1", 3478));
	n = v2(p, 0x21, 0x22, in6, sizeof in6);
	CHECK(proxyproto_parse(p, n, &h, &used, &errstr) == PROXYPROTO_OK && used == n);
	CHECK(h.socktype == SOCK_DGRAM && is_v6(&h.src, "2001:db8::7", 0x1234));
	for (i = 0; i < n; i++) {
		if (proxyproto_parse(p, i, &h, &used, &errstr) != PROXYPROTO_MORE)
			break;
	}
	CHECKM(i == n, "every truncation of a v2 header asks for more");
	n = v2(p, 0x20, 0x00, NULL, 0);
	CHECKM(proxyproto_parse(p, n, &h, &used, &errstr) == PROXYPROTO_OK && h.local && used == 16,
	    "LOCAL (a health check): no address");
	n = v2(p, 0x20, 0x11, in4, sizeof in4);
	CHECKM(proxyproto_parse(p, n, &h, &used, &errstr) == PROXYPROTO_OK && h.local,
	    "LOCAL with addresses: they are ignored");
	memcpy(tlv, in4, 12);
	memcpy(tlv + 12,
	    "\x04\x00\x04"
	    "abcd"
	    "\x03\x00\x00",
	    10);
	n = v2(p, 0x21, 0x11, tlv, sizeof tlv);
	CHECK(proxyproto_parse(p, n, &h, &used, &errstr) == PROXYPROTO_OK && h.ntlv == 2);
	tlv[14] = 5; /* the first TLV claims one byte more than there is */
	CHECK(proxyproto_parse(p, v2(p, 0x21, 0x11, tlv, sizeof tlv), &h, &used, &errstr) ==
	    PROXYPROTO_BAD);
	CHECKM(proxyproto_parse(p, v2(p, 0x21, 0x11, tlv, 13), &h, &used, &errstr) ==
		PROXYPROTO_BAD,
	    "a TLV header cut short is refused");
	CHECKM(proxyproto_parse(p, v2(p, 0x21, 0x11, in4, 8), &h, &used, &errstr) == PROXYPROTO_BAD,
	    "an INET address block of 8 bytes is refused");
	CHECK(
	    proxyproto_parse(p, v2(p, 0x21, 0x21, in6, 20), &h, &used, &errstr) == PROXYPROTO_BAD);
	CHECK(
	    proxyproto_parse(p, v2(p, 0x11, 0x11, in4, 12), &h, &used, &errstr) == PROXYPROTO_BAD);
	CHECK(
	    proxyproto_parse(p, v2(p, 0x22, 0x11, in4, 12), &h, &used, &errstr) == PROXYPROTO_BAD);
	CHECK(
	    proxyproto_parse(p, v2(p, 0x21, 0x41, in4, 12), &h, &used, &errstr) == PROXYPROTO_BAD);
	CHECK(
	    proxyproto_parse(p, v2(p, 0x21, 0x13, in4, 12), &h, &used, &errstr) == PROXYPROTO_BAD);
	memset(big, 0, sizeof big);
	CHECKM(proxyproto_parse(p, v2(p, 0x21, 0x11, big, PROXYPROTO_MAX - 16), &h, &used,
		   &errstr) == PROXYPROTO_BAD &&
		strstr(errstr, "PROXY v2") != NULL,
	    "zero TLV padding past the address block is malformed");
	memcpy(p, sig, 12);
	memcpy(p + 12, "\x21\x11\x08\x00", 4);
	CHECKM(proxyproto_parse(p, 16, &h, &used, &errstr) == PROXYPROTO_BAD,
	    "a header longer than the bound is refused before it arrives");
	n = v2(p, 0x21, 0x31, big, 216);
	CHECKM(proxyproto_parse(p, n, &h, &used, &errstr) == PROXYPROTO_OK && h.local,
	    "UNIX addresses: keep the socket's");
}

static void
test_signature(void)
{
	struct proxyproto_hdr h;
	const uint8_t stun[4] = {0x00, 0x01, 0x00, 0x00}, tls[3] = {0x16, 0x03, 0x01};
	uint8_t p[16];
	const char *errstr;
	size_t used;

	CHECK(proxyproto_parse(stun, sizeof stun, &h, &used, &errstr) == PROXYPROTO_BAD);
	CHECK(errstr != NULL && strcmp(errstr, "no PROXY protocol header") == 0);
	CHECK(proxyproto_parse(tls, sizeof tls, &h, &used, &errstr) == PROXYPROTO_BAD);
	CHECK(parse_text("PROXX", &h, &used) == PROXYPROTO_BAD);
	CHECK(parse_text("PROX", &h, &used) == PROXYPROTO_MORE);
	CHECK(parse_text("GET / HTTP/1.1\r\n", &h, &used) == PROXYPROTO_BAD);
	CHECK(proxyproto_parse(p, 0, &h, &used, &errstr) == PROXYPROTO_MORE);
	memcpy(p, sig, 12);
	p[11] = 0x0b;
	CHECKM(proxyproto_parse(p, 12, &h, &used, &errstr) == PROXYPROTO_BAD,
	    "a v2 signature with its last byte wrong is refused");
}

int
main(void)
{
	test_v1();
	test_v2();
	test_signature();
	return unit_done();
}
