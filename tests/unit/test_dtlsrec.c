/* Unit tests for src/server/net/dtlsrec.c: RFC 7983 demultiplexing, the ClientHello check. */
#include <stdint.h>
#include <string.h>

#include "turnpike/buf.h"
#include "turnpike/dtlsrec.h"
#include "unit.h"

/* Offsets in a hello built by build_hello. */
#define OFF_RECLEN 11
#define OFF_HS 13
#define OFF_BODY (OFF_HS + DTLSREC_HS_HEADER_LEN)
#define OFF_SID (OFF_BODY + 2 + 32)

struct hello_opts {
	uint8_t type;     /* record content type, 22 */
	uint16_t version; /* record and client version */
	uint16_t epoch;
	uint8_t hs_type;   /* 1 */
	uint32_t frag_off; /* 0 */
	size_t sid_len, cookie_len, suites_len, comp_len;
};

static void
put_u24(struct wbuf *w, uint32_t v)
{
	wbuf_put_u8(w, (uint8_t)(v >> 16));
	wbuf_put_u16(w, (uint16_t)v);
}

/* A whole datagram holding one ClientHello record as o describes. */
static size_t
build_hello(uint8_t *out, size_t cap, const struct hello_opts *o)
{
	uint8_t body[1024];
	struct wbuf b, w;
	size_t i;

	wbuf_init(&b, body, sizeof body);
	wbuf_put_u16(&b, o->version);
	wbuf_put_zero(&b, 32);
	wbuf_put_u8(&b, (uint8_t)o->sid_len);
	wbuf_put_zero(&b, o->sid_len);
	wbuf_put_u8(&b, (uint8_t)o->cookie_len);
	for (i = 0; i < o->cookie_len; i++)
		wbuf_put_u8(&b, (uint8_t)i);
	wbuf_put_u16(&b, (uint16_t)o->suites_len);
	for (i = 0; i < o->suites_len; i++)
		wbuf_put_u8(&b, i % 2 == 0 ? 0xc0 : 0x2b);
	wbuf_put_u8(&b, (uint8_t)o->comp_len);
	wbuf_put_zero(&b, o->comp_len);
	wbuf_put_u16(&b, 0); /* no extensions */
	wbuf_init(&w, out, cap);
	wbuf_put_u8(&w, o->type);
	wbuf_put_u16(&w, o->version);
	wbuf_put_u16(&w, o->epoch);
	wbuf_put_zero(&w, 6);
	wbuf_put_u16(&w, (uint16_t)(DTLSREC_HS_HEADER_LEN + b.len));
	wbuf_put_u8(&w, o->hs_type);
	put_u24(&w, (uint32_t)b.len);
	wbuf_put_u16(&w, o->cookie_len > 0 ? 1 : 0);
	put_u24(&w, o->frag_off);
	put_u24(&w, (uint32_t)b.len);
	wbuf_put_bytes(&w, body, b.len);
	return w.overflow ? 0 : w.len;
}

static const struct hello_opts good = {
    .type = 22,
    .version = 0xfefd,
    .hs_type = 1,
    .suites_len = 4,
    .comp_len = 1,
};

static int
check(const struct hello_opts *o, struct dtlsrec_hello *h)
{
	uint8_t dg[1500];
	const char *errstr = NULL;
	size_t n = build_hello(dg, sizeof dg, o);

	return n > 0 ? dtlsrec_client_hello(dg, n, h, &errstr) : -2;
}

static void
test_classify(void)
{
	static const uint8_t b[] = {0, 1, 3, 19, 20, 22, 23, 63, 64, 0x4f, 0x7f, 0x80, 0xbf, 0xff};
	static const enum dtlsrec_kind want[] = {DTLSREC_STUN, DTLSREC_STUN, DTLSREC_STUN,
	    DTLSREC_STUN, DTLSREC_DTLS, DTLSREC_DTLS, DTLSREC_DTLS, DTLSREC_DTLS, DTLSREC_CHANDATA,
	    DTLSREC_CHANDATA, DTLSREC_CHANDATA, DTLSREC_OTHER, DTLSREC_OTHER, DTLSREC_OTHER};
	size_t i;
	bool ok = true;

	for (i = 0; i < sizeof b; i++)
		ok = ok && dtlsrec_classify(&b[i], 1) == want[i];
	CHECKM(ok, "RFC 7983 ranges: STUN 0-19, DTLS 20-63, ChannelData 64-127, other 128-255");
	CHECKM(dtlsrec_classify(b, 0) == DTLSREC_OTHER, "an empty datagram is nothing");
}

static void
test_good(void)
{
	struct hello_opts o = good;
	struct dtlsrec_hello h;

	CHECKM(check(&o, &h) == 0 && h.cookie_len == 0 && h.client_version == 0xfefd &&
		h.record_version == 0xfefd && h.message_seq == 0,
	    "a DTLS 1.2 ClientHello without a cookie");
	o.cookie_len = 32;
	o.sid_len = 32;
	CHECKM(check(&o, &h) == 0 && h.cookie_len == 32 && h.message_seq == 1,
	    "with a 32-byte cookie and a session id");
	o.cookie_len = 255;
	CHECKM(check(&o, &h) == 0 && h.cookie_len == 255, "the largest cookie");
	o = good;
	o.version = 0xfeff;
	CHECKM(check(&o, &h) == 0 && h.client_version == 0xfeff,
	    "a DTLS 1.0 ClientHello passes: OpenSSL refuses its version later, with an alert");
}

static void
test_bad(void)
{
	struct hello_opts o;
	struct dtlsrec_hello h;

	o = good, o.type = 23;
	CHECKM(check(&o, &h) == -1, "application data is not a ClientHello");
	o = good, o.type = 21;
	CHECKM(check(&o, &h) == -1, "an alert is not a ClientHello");
	o = good, o.version = 0x0303;
	CHECKM(check(&o, &h) == -1, "a TLS version is not DTLS");
	o = good, o.epoch = 1;
	CHECKM(check(&o, &h) == -1, "epoch 1: from an existing association, not a new one");
	o = good, o.hs_type = 2;
	CHECKM(check(&o, &h) == -1, "a ServerHello");
	o = good, o.frag_off = 4;
	CHECKM(check(&o, &h) == -1, "a fragment of a ClientHello");
	o = good, o.sid_len = 33;
	CHECKM(check(&o, &h) == -1, "a session id over 32 bytes");
	o = good, o.suites_len = 3;
	CHECKM(check(&o, &h) == -1, "an odd cipher_suites length");
	o = good, o.suites_len = 0;
	CHECKM(check(&o, &h) == -1, "no cipher suite");
	o = good, o.comp_len = 0;
	CHECKM(check(&o, &h) == -1, "no compression method");
}

static void
test_lengths(void)
{
	uint8_t dg[1500];
	struct dtlsrec_hello h;
	const char *errstr = NULL;
	size_t n = build_hello(dg, sizeof dg, &good), i;
	bool ok = true;

	for (i = 0; i < n; i++)
		ok = ok && dtlsrec_client_hello(dg, i, &h, &errstr) == -1;
	CHECKM(ok, "every truncation is refused, never read past");
	CHECKM(errstr != NULL, "with a reason");
	dg[n] = 0x17; /* a second record after the first: the first decides */
	CHECK(dtlsrec_client_hello(dg, n + 1, &h, &errstr) == 0);
	buf_store_u16(dg + OFF_RECLEN, (uint16_t)(n - OFF_HS + 1));
	CHECK(dtlsrec_client_hello(dg, n, &h, &errstr) == -1);
	buf_store_u16(dg + OFF_RECLEN, (uint16_t)(n - OFF_HS - 1));
	CHECKM(dtlsrec_client_hello(dg, n, &h, &errstr) == -1,
	    "a ClientHello longer than its record");
	n = build_hello(dg, sizeof dg, &good);
	dg[OFF_HS + 3] ^= 1; /* message length differs from fragment length */
	CHECK(dtlsrec_client_hello(dg, n, &h, &errstr) == -1);
	n = build_hello(dg, sizeof dg, &good);
	dg[OFF_SID + 1] = 0xff; /* a cookie running past the message */
	CHECK(dtlsrec_client_hello(dg, n, &h, &errstr) == -1);
}

int
main(void)
{
	test_classify();
	test_good();
	test_bad();
	test_lengths();
	return unit_done();
}
