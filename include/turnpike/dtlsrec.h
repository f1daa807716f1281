/*
 * What a datagram on a TURN port is, from its first byte (RFC 7983 §7), and
 * the check that the first DTLS record of a datagram from an unknown source
 * is a ClientHello (RFC 6347 §4.1, §4.2.1) before any state is kept for it.
 * Pure: bytes in, a verdict out.
 */
#ifndef TURNPIKE_DTLSREC_H
#define TURNPIKE_DTLSREC_H

#include <stddef.h>
#include <stdint.h>

enum dtlsrec_kind {
	DTLSREC_STUN = 0,     /* 0-19: STUN (the decoder judges the rest) */
	DTLSREC_DTLS = 1,     /* 20-63: a DTLS record */
	DTLSREC_CHANDATA = 2, /* 64-127: TURN ChannelData (RFC 5766's 0x4000-0x7FFF) */
	DTLSREC_OTHER = 3,    /* empty, or 128-255 (RTP and the rest) */
};

#define DTLSREC_HEADER_LEN 13    /* type, version, epoch, sequence number, length */
#define DTLSREC_HS_HEADER_LEN 12 /* type, length, message_seq, offset, fragment length */
#define DTLSREC_CONTENT_HANDSHAKE 22
#define DTLSREC_CLIENT_HELLO 1
#define DTLSREC_COOKIE_MAX 255

enum dtlsrec_kind dtlsrec_classify(const uint8_t *p, size_t len);

/* The fields of a ClientHello that decide how it is answered. */
struct dtlsrec_hello {
	uint16_t record_version; /* 0xfeff DTLS 1.0, 0xfefd DTLS 1.2 */
	uint16_t client_version;
	uint16_t message_seq;
	size_t cookie_len; /* 0: the client has no cookie yet */
};

/*
 * 0 when the datagram's first record is a handshake record in epoch 0 holding
 * a whole (unfragmented) ClientHello whose fixed fields are well formed; -1
 * with *errstr saying what it is instead.
 */
int dtlsrec_client_hello(const uint8_t *p, size_t len, struct dtlsrec_hello *h,
    const char **errstr);

#endif
