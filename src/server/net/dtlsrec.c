/* DTLS record demultiplexing and the ClientHello check (RFC 7983, RFC 6347). */
#include "config.h"

#include <string.h>

#include "turnpike/buf.h"
#include "turnpike/dtlsrec.h"

#define DTLSREC_MAJOR 0xfe /* DTLS versions are 0xfeXX (one's complement of 1.X) */
#define DTLSREC_RANDOM_LEN 32
#define DTLSREC_SESSION_ID_MAX 32

enum dtlsrec_kind
dtlsrec_classify(const uint8_t *p, size_t len)
{
	if (len == 0)
		return DTLSREC_OTHER;
	if (p[0] < 20)
		return DTLSREC_STUN;
	if (p[0] < 64)
		return DTLSREC_DTLS;
	if (p[0] < 128)
		return DTLSREC_CHANDATA;
	return DTLSREC_OTHER;
}

static int
dtlsrec_fail(const char **errstr, const char *why)
{
	*errstr = why;
	return -1;
}

static int
dtlsrec_get_u24(struct buf *b, uint32_t *v)
{
	uint8_t x[3];

	if (buf_get_bytes(b, x, sizeof x) != 0)
		return -1;
	*v = (uint32_t)x[0] << 16 | (uint32_t)x[1] << 8 | x[2];
	return 0;
}

/* The record header (RFC 6347 §4.1); *body is the record's fragment. */
static int
dtlsrec_record(struct buf *b, struct dtlsrec_hello *h, struct buf *body, const char **errstr)
{
	const uint8_t *frag;
	uint16_t epoch, len;
	uint8_t type;

	if (buf_get_u8(b, &type) != 0 || buf_get_u16(b, &h->record_version) != 0 ||
	    buf_get_u16(b, &epoch) != 0 || buf_skip(b, 6) != 0 || buf_get_u16(b, &len) != 0)
		return dtlsrec_fail(errstr, "shorter than a DTLS record header");
	if (type != DTLSREC_CONTENT_HANDSHAKE)
		return dtlsrec_fail(errstr, "not a handshake record");
	if ((h->record_version >> 8) != DTLSREC_MAJOR)
		return dtlsrec_fail(errstr, "not a DTLS record version");
	if (epoch != 0)
		return dtlsrec_fail(errstr, "not epoch 0");
	if (buf_get_ptr(b, &frag, len) != 0)
		return dtlsrec_fail(errstr, "record length beyond the datagram");
	buf_init(body, frag, len);
	return 0;
}

/* The handshake header (RFC 6347 §4.2.2): a whole ClientHello; *msg is its body. */
static int
dtlsrec_handshake(struct buf *b, struct dtlsrec_hello *h, struct buf *msg, const char **errstr)
{
	const uint8_t *body;
	uint32_t mlen, off, flen;
	uint8_t type;

	if (buf_get_u8(b, &type) != 0 || dtlsrec_get_u24(b, &mlen) != 0 ||
	    buf_get_u16(b, &h->message_seq) != 0 || dtlsrec_get_u24(b, &off) != 0 ||
	    dtlsrec_get_u24(b, &flen) != 0)
		return dtlsrec_fail(errstr, "shorter than a handshake header");
	if (type != DTLSREC_CLIENT_HELLO)
		return dtlsrec_fail(errstr, "not a ClientHello");
	if (off != 0 || flen != mlen)
		return dtlsrec_fail(errstr, "a fragmented ClientHello");
	if (buf_get_ptr(b, &body, flen) != 0)
		return dtlsrec_fail(errstr, "ClientHello longer than its record");
	buf_init(msg, body, flen);
	return 0;
}

/* One vector with a one-byte length, at most max bytes: skipped. */
static int
dtlsrec_skip_vec8(struct buf *b, size_t max, size_t *len)
{
	uint8_t n;

	if (buf_get_u8(b, &n) != 0 || n > max || buf_skip(b, n) != 0)
		return -1;
	*len = n;
	return 0;
}

int
dtlsrec_client_hello(const uint8_t *p, size_t len, struct dtlsrec_hello *h, const char **errstr)
{
	struct buf b, rec, msg;
	uint16_t suites;
	size_t n;

	memset(h, 0, sizeof *h);
	buf_init(&b, p, len);
	if (dtlsrec_record(&b, h, &rec, errstr) != 0 ||
	    dtlsrec_handshake(&rec, h, &msg, errstr) != 0)
		return -1;
	if (buf_get_u16(&msg, &h->client_version) != 0 || buf_skip(&msg, DTLSREC_RANDOM_LEN) != 0)
		return dtlsrec_fail(errstr, "ClientHello too short");
	if ((h->client_version >> 8) != DTLSREC_MAJOR)
		return dtlsrec_fail(errstr, "not a DTLS client version");
	if (dtlsrec_skip_vec8(&msg, DTLSREC_SESSION_ID_MAX, &n) != 0)
		return dtlsrec_fail(errstr, "bad session_id");
	if (dtlsrec_skip_vec8(&msg, DTLSREC_COOKIE_MAX, &h->cookie_len) != 0)
		return dtlsrec_fail(errstr, "bad cookie");
	if (buf_get_u16(&msg, &suites) != 0 || suites < 2 || suites % 2 != 0 ||
	    buf_skip(&msg, suites) != 0)
		return dtlsrec_fail(errstr, "bad cipher_suites");
	if (dtlsrec_skip_vec8(&msg, 255, &n) != 0 || n == 0)
		return dtlsrec_fail(errstr, "bad compression_methods");
	return 0;
}
