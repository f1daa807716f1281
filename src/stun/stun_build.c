/* STUN message encoding into a caller's buffer (RFC 8489 §5, §14). */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "turnpike/buf.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"

#define STUN_PAD(n) ((4 - ((n)&3)) & 3)

/* Marks the message broken: every later call and finish() fail. */
static int
stun_build_fail(struct stun_build *b)
{
	b->w.overflow = true;
	return -1;
}

/* Brings the header's length field up to date with what has been written. */
static int
stun_build_sync(struct stun_build *b)
{
	if (b->w.overflow)
		return -1;
	return wbuf_set_u16(&b->w, 2, (uint16_t)(b->w.len - STUN_HEADER_LEN));
}

int
stun_build_init(struct stun_build *b, void *buf, size_t cap, uint16_t method, uint8_t cls,
    const uint8_t *tid)
{
	/* The length field is 16 bits: a message is at most 20 + 65532 bytes, and less here. */
	wbuf_init(&b->w, buf, cap < STUN_MAX_MSG ? cap : STUN_MAX_MSG);
	memcpy(b->tid, tid, STUN_TID_LEN);
	if (method > 0x0fff || cls > STUN_ERROR)
		return stun_build_fail(b);
	wbuf_put_u16(&b->w, stun_type(method, cls));
	wbuf_put_u16(&b->w, 0);
	wbuf_put_u32(&b->w, STUN_MAGIC_COOKIE);
	wbuf_put_bytes(&b->w, tid, STUN_TID_LEN);
	return b->w.overflow ? -1 : 0;
}

/* Type, length, value and the given padding bytes (zeros when pad is NULL). */
static int
stun_build_tlv(struct stun_build *b, uint16_t type, const void *val, size_t len, const uint8_t *pad)
{
	if (b->w.overflow)
		return -1;
	if (len > 0xffff)
		return stun_build_fail(b);
	wbuf_put_u16(&b->w, type);
	wbuf_put_u16(&b->w, (uint16_t)len);
	wbuf_put_bytes(&b->w, val, len);
	if (pad != NULL)
		wbuf_put_bytes(&b->w, pad, STUN_PAD(len));
	else
		wbuf_put_zero(&b->w, STUN_PAD(len));
	return stun_build_sync(b);
}

int
stun_build_attr(struct stun_build *b, uint16_t type, const void *val, size_t len)
{
	return stun_build_tlv(b, type, val, len, NULL);
}

int
stun_build_attr_copy(struct stun_build *b, const struct stun_msg *m, const struct stun_attr *a)
{
	const uint8_t *val, *pad;
	struct buf r;

	buf_init(&r, m->raw, m->len);
	if (buf_skip(&r, a->off) == -1 || buf_get_ptr(&r, &val, a->len) == -1 ||
	    buf_get_ptr(&r, &pad, STUN_PAD(a->len)) == -1)
		return stun_build_fail(b);
	return stun_build_tlv(b, a->type, val, a->len, pad);
}

int
stun_build_u32(struct stun_build *b, uint16_t type, uint32_t v)
{
	uint8_t val[4];

	buf_store_u32(val, v);
	return stun_build_attr(b, type, val, sizeof val);
}

int
stun_build_u8(struct stun_build *b, uint16_t type, uint8_t v)
{
	return stun_build_u32(b, type, (uint32_t)v << 24);
}

int
stun_build_u16(struct stun_build *b, uint16_t type, uint16_t v)
{
	return stun_build_u32(b, type, (uint32_t)v << 16);
}

int
stun_build_string(struct stun_build *b, uint16_t type, const char *s)
{
	return stun_build_attr(b, type, s, strlen(s));
}

/* Address value (RFC 8489 §14.1, §14.2); mask is cookie || transaction ID, or NULL. */
static int
stun_build_addr_value(struct stun_build *b, uint16_t type, const struct sockaddr *sa,
    const uint8_t *mask)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	uint8_t val[20];
	size_t i, iplen;
	uint16_t port;

	memset(val, 0, sizeof val);
	if (sa->sa_family == AF_INET) {
		val[1] = 0x01;
		port = ntohs(sin->sin_port);
		iplen = 4;
		memcpy(val + 4, &sin->sin_addr, iplen);
	} else if (sa->sa_family == AF_INET6) {
		val[1] = 0x02;
		port = ntohs(sin6->sin6_port);
		iplen = 16;
		memcpy(val + 4, &sin6->sin6_addr, iplen);
	} else
		return stun_build_fail(b);
	if (mask != NULL) {
		port ^= buf_load_u16(mask);
		for (i = 0; i < iplen; i++)
			val[4 + i] ^= mask[i];
	}
	buf_store_u16(val + 2, port);
	return stun_build_attr(b, type, val, 4 + iplen);
}

int
stun_build_xor_addr(struct stun_build *b, uint16_t type, const struct sockaddr *sa)
{
	uint8_t mask[4 + STUN_TID_LEN];

	buf_store_u32(mask, STUN_MAGIC_COOKIE);
	memcpy(mask + 4, b->tid, STUN_TID_LEN);
	return stun_build_addr_value(b, type, sa, mask);
}

int
stun_build_addr(struct stun_build *b, uint16_t type, const struct sockaddr *sa)
{
	return stun_build_addr_value(b, type, sa, NULL);
}

/* RFC 8489 §14.8: class in the hundreds, number below 100, then the reason. */
int
stun_build_error(struct stun_build *b, int code, const char *reason)
{
	uint8_t hdr[4];
	size_t rlen;

	if (code < 300 || code > 699)
		return stun_build_fail(b);
	if (reason == NULL)
		reason = stun_error_reason(code);
	rlen = strlen(reason);
	if (b->w.overflow || rlen > 0xffff - sizeof hdr)
		return stun_build_fail(b);
	hdr[0] = 0;
	hdr[1] = 0;
	hdr[2] = (uint8_t)(code / 100);
	hdr[3] = (uint8_t)(code % 100);
	wbuf_put_u16(&b->w, STUN_ATTR_ERROR_CODE);
	wbuf_put_u16(&b->w, (uint16_t)(sizeof hdr + rlen));
	wbuf_put_bytes(&b->w, hdr, sizeof hdr);
	wbuf_put_bytes(&b->w, reason, rlen);
	wbuf_put_zero(&b->w, STUN_PAD(rlen));
	return stun_build_sync(b);
}

int
stun_build_unknown(struct stun_build *b, const uint16_t *types, size_t n)
{
	size_t i;

	if (b->w.overflow || n > 0xffff / 2)
		return stun_build_fail(b);
	wbuf_put_u16(&b->w, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	wbuf_put_u16(&b->w, (uint16_t)(n * 2));
	for (i = 0; i < n; i++)
		wbuf_put_u16(&b->w, types[i]);
	wbuf_put_zero(&b->w, STUN_PAD(n * 2));
	return stun_build_sync(b);
}

/*
 * An integrity attribute (RFC 8489 §14.5, §14.6): the header length is set to
 * include it first, then the HMAC covers everything written so far.
 */
static int
stun_build_mac(struct stun_build *b, bool sha256, const uint8_t *key, size_t keylen)
{
	struct wbuf *w = &b->w;
	uint8_t mac[INTEGRITY_SHA256_LEN];
	size_t maclen = sha256 ? INTEGRITY_SHA256_LEN : INTEGRITY_SHA1_LEN;

	if (w->overflow || w->cap - w->len < 4 + maclen)
		return stun_build_fail(b);
	if (wbuf_set_u16(w, 2, (uint16_t)(w->len + 4 + maclen - STUN_HEADER_LEN)) == -1 ||
	    integrity_hmac(sha256, key, keylen, w->p, w->len, mac) == -1)
		return stun_build_fail(b);
	return stun_build_attr(b,
	    sha256 ? STUN_ATTR_MESSAGE_INTEGRITY_SHA256 : STUN_ATTR_MESSAGE_INTEGRITY, mac, maclen);
}

int
stun_build_integrity(struct stun_build *b, const uint8_t *key, size_t keylen)
{
	return stun_build_mac(b, false, key, keylen);
}

int
stun_build_integrity_sha256(struct stun_build *b, const uint8_t *key, size_t keylen)
{
	return stun_build_mac(b, true, key, keylen);
}

/* RFC 8489 §14.7: CRC-32 over the message with the length including FINGERPRINT. */
int
stun_build_fingerprint(struct stun_build *b)
{
	struct wbuf *w = &b->w;

	if (w->overflow || w->cap - w->len < 8)
		return stun_build_fail(b);
	if (wbuf_set_u16(w, 2, (uint16_t)(w->len + 8 - STUN_HEADER_LEN)) == -1)
		return stun_build_fail(b);
	return stun_build_u32(b, STUN_ATTR_FINGERPRINT, integrity_fingerprint(w->p, w->len));
}

int
stun_build_finish(struct stun_build *b, size_t *len)
{
	if (b->w.overflow)
		return -1;
	*len = b->w.len;
	return 0;
}
