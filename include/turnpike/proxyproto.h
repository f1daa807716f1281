/*
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2)
 * that a load balancer puts before a connection's bytes, or before each
 * datagram: a pure decoder over the bounds-checked reader.
 */
#ifndef TURNPIKE_PROXYPROTO_H
#define TURNPIKE_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The longest version 1 line, CRLF included (the specification's bound). */
#define PROXYPROTO_V1_MAX 107
/* The longest version 2 header accepted: 16 bytes and up to 2032 of addresses and TLVs. */
#define PROXYPROTO_V2_MAX 2048
#define PROXYPROTO_MAX PROXYPROTO_V2_MAX

enum proxyproto_rc {
	PROXYPROTO_OK = 1,   /* a whole header: *used bytes */
	PROXYPROTO_MORE = 0, /* a valid prefix of a header: wait for more bytes */
	PROXYPROTO_BAD = -1, /* not a header, or a malformed one: *errstr says why */
};

struct proxyproto_hdr {
	int version; /* 1 or 2 */
	/* v2 LOCAL, v1 UNKNOWN, or a family without IP addresses: keep the socket's. */
	bool local;
	int socktype; /* v2: SOCK_STREAM or SOCK_DGRAM; 0 unspecified; v1: SOCK_STREAM */
	struct sockaddr_storage src; /* the client, when !local */
	struct sockaddr_storage dst; /* the address the client reached, when !local */
	size_t ntlv;                 /* v2 TLVs, each checked to fit */
};

/*
 * Decodes the header at the start of p. Bytes that cannot begin a header
 * (neither "PROXY " nor the v2 signature) are PROXYPROTO_BAD at once, so a
 * client that speaks first without one is refused without waiting.
 */
enum proxyproto_rc proxyproto_parse(const uint8_t *p, size_t len, struct proxyproto_hdr *h,
    size_t *used, const char **errstr);

#endif
