/* Unit tests for src/stun/stun_build.c: every attribute, padding, overflow, re-encoding. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include "turnpike/buf.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"
#include "unit.h"
#include "vectors.h"

static const uint8_t test_tid[STUN_TID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa,
    0x87, 0xdf, 0xae};
static const uint8_t test_key[] = "VOkJxbRl1RmTxUk/WvJxBt";
#define TEST_KEYLEN (sizeof test_key - 1)

static struct sockaddr_storage
sa4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof ss);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return ss;
}

static struct sockaddr_storage
sa6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof ss);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &sin6->sin6_addr);
	return ss;
}

static bool
sa_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
	return memcmp(a, b, sizeof(struct sockaddr_in6)) == 0;
}

static bool
addr_round_trip(const struct stun_msg *m, uint16_t type, bool xor,
    const struct sockaddr_storage *want)
{
	const struct stun_attr *a = stun_find(m, type);
	struct sockaddr_storage got;
	int rc;

	if (a == NULL)
		return false;
	rc = xor? stun_get_xor_addr(m, a, &got) : stun_get_addr(m, a, &got);
	return rc == 0 && sa_equal(&got, want);
}

static bool
value_is(const struct stun_msg *m, uint16_t type, const void *want, size_t len)
{
	const struct stun_attr *a = stun_find(m, type);

	return a != NULL && a->len == len && memcmp(stun_attr_value(m, a), want, len) == 0;
}

static bool
u32_is(const struct stun_msg *m, uint16_t type, uint32_t want)
{
	const struct stun_attr *a = stun_find(m, type);
	uint32_t v;

	return a != NULL && stun_get_u32(m, a, &v) == 0 && v == want;
}

/* Rebuilds a decoded vector attribute by attribute; integrity is recomputed. */
static int
rebuild(const struct stun_msg *m, const uint8_t *key, size_t keylen, uint8_t *out, size_t cap,
    size_t *len)
{
	struct stun_build b;
	const struct stun_attr *a;
	size_t i;

	stun_build_init(&b, out, cap, m->method, m->cls, m->tid);
	for (i = 0; i < m->nattrs; i++) {
		a = &m->attrs[i];
		if (a->type == STUN_ATTR_MESSAGE_INTEGRITY)
			stun_build_integrity(&b, key, keylen);
		else if (a->type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
			stun_build_integrity_sha256(&b, key, keylen);
		else if (a->type == STUN_ATTR_FINGERPRINT)
			stun_build_fingerprint(&b);
		else
			stun_build_attr_copy(&b, m, a);
	}
	return stun_build_finish(&b, len);
}

static void
test_vector_reencode(const struct vector *v)
{
	uint8_t msg[1024], out[1024], key[64];
	int len = vector_hex(v, "hex", msg, sizeof msg);
	int keylen = vector_hex(v, "hmac_key_hex", key, sizeof key);
	const char *errstr;
	struct stun_msg m;
	size_t outlen;

	printf("# vector %s\n", vector_name(v));
	CHECK(len > 0 && keylen > 0 && stun_decode(&m, msg, (size_t)len, &errstr) == 0);
	CHECK(rebuild(&m, key, (size_t)keylen, out, sizeof out, &outlen) == 0);
	CHECKM(outlen == (size_t)len && memcmp(out, msg, outlen) == 0, "re-encoded byte for byte");
	CHECKM(rebuild(&m, key, (size_t)keylen, out, (size_t)len - 1, &outlen) == -1,
	    "one byte short overflows");
}

static void
test_vectors(void)
{
	CHECKM(vectors_each(TEST_DATADIR "/rfc5769_vectors.txt", test_vector_reencode) == 5,
	    "five vectors in rfc5769_vectors.txt");
}

/* RFC 5769 §2.2 rebuilt from typed values: only padding differs, all still verifies. */
static void
test_typed_rebuild(void)
{
	struct sockaddr_storage ss = sa4("192.0.2.1", 32853);
	uint8_t out[256];
	struct stun_build b;
	const char *errstr;
	struct stun_msg m;
	size_t len;

	CHECK(stun_build_init(&b, out, sizeof out, STUN_BINDING, STUN_SUCCESS, test_tid) == 0);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "test vector");
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&ss);
	stun_build_integrity(&b, test_key, TEST_KEYLEN);
	stun_build_fingerprint(&b);
	CHECK(stun_build_finish(&b, &len) == 0 && len == 80);
	CHECK(stun_decode(&m, out, len, &errstr) == 0);
	CHECK(integrity_verify(&m, false, test_key, TEST_KEYLEN) && integrity_fingerprint_ok(&m));
	CHECK(value_is(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, "\x00\x01\xa1\x47\xe1\x12\xa6\x43", 8));
	CHECK(out[20 + 4 + 11] == 0x00); /* RFC 5769 pads with a space; we pad with zero */
}

/* One message carrying every attribute the codec knows. */
static size_t
build_everything(uint8_t *out, size_t cap)
{
	struct sockaddr_storage v4 = sa4("192.0.2.1", 32853), v6 = sa6("2001:db8::1", 3478);
	static const uint16_t unknown[] = {0x0030, 0x0031, 0x0032};
	uint8_t hash[32], token[8] = {1, 2, 3, 4, 5, 6, 7, 8}, even = 0x80;
	struct stun_build b;
	size_t len;

	memset(hash, 0x5a, sizeof hash);
	stun_build_init(&b, out, cap, STUN_ALLOCATE, STUN_REQUEST, test_tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&v4);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&v6);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, (struct sockaddr *)&v4);
	stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, (struct sockaddr *)&v4);
	stun_build_addr(&b, STUN_ATTR_ALTERNATE_SERVER, (struct sockaddr *)&v6);
	stun_build_addr(&b, STUN_ATTR_RESPONSE_ORIGIN, (struct sockaddr *)&v4);
	stun_build_addr(&b, STUN_ATTR_OTHER_ADDRESS, (struct sockaddr *)&v6);
	stun_build_string(&b, STUN_ATTR_USERNAME, "evtj:h6vY");
	stun_build_string(&b, STUN_ATTR_REALM, "example.org");
	stun_build_string(&b, STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA");
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "turnpike");
	stun_build_string(&b, STUN_ATTR_ALTERNATE_DOMAIN, "turn.example.org");
	stun_build_attr(&b, STUN_ATTR_USERHASH, hash, sizeof hash);
	stun_build_attr(&b, STUN_ATTR_DATA, "hello", 5);
	stun_build_attr(&b, STUN_ATTR_RESERVATION_TOKEN, token, sizeof token);
	stun_build_attr(&b, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	stun_build_attr(&b, STUN_ATTR_EVEN_PORT, &even, 1);
	stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, "\x00\x02\x00\x00\x00\x01\x00\x00", 8);
	stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, "\x00\x02\x00\x00", 4);
	stun_build_attr(&b, STUN_ATTR_PADDING, "\0\0\0\0\0\0", 6);
	stun_build_attr(&b, STUN_ATTR_ICMP, "\x00\x00\x03\x01\x00\x00\x05\xdc", 8);
	stun_build_attr(&b, STUN_ATTR_ADDRESS_ERROR_CODE, "\x02\x00\x04\x28No v6", 9);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	stun_build_u32(&b, STUN_ATTR_CHANGE_REQUEST, 0x6);
	stun_build_u32(&b, STUN_ATTR_CONNECTION_ID, 0xdeadbeef);
	stun_build_u8(&b, STUN_ATTR_REQUESTED_TRANSPORT, 17);
	stun_build_u8(&b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 0x02);
	stun_build_u8(&b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 0x02);
	stun_build_u16(&b, STUN_ATTR_CHANNEL_NUMBER, 0x4001);
	stun_build_u16(&b, STUN_ATTR_RESPONSE_PORT, 3479);
	stun_build_error(&b, 401, NULL);
	stun_build_unknown(&b, unknown, 3);
	stun_build_integrity(&b, test_key, TEST_KEYLEN);
	stun_build_integrity_sha256(&b, test_key, TEST_KEYLEN);
	stun_build_fingerprint(&b);
	return stun_build_finish(&b, &len) == 0 ? len : 0;
}

static void
check_everything_addrs(const struct stun_msg *m)
{
	struct sockaddr_storage v4 = sa4("192.0.2.1", 32853), v6 = sa6("2001:db8::1", 3478);

	CHECK(addr_round_trip(m, STUN_ATTR_XOR_MAPPED_ADDRESS, true, &v4));
	CHECK(addr_round_trip(m, STUN_ATTR_XOR_PEER_ADDRESS, true, &v6));
	CHECK(addr_round_trip(m, STUN_ATTR_XOR_RELAYED_ADDRESS, true, &v4));
	CHECK(addr_round_trip(m, STUN_ATTR_MAPPED_ADDRESS, false, &v4));
	CHECK(addr_round_trip(m, STUN_ATTR_ALTERNATE_SERVER, false, &v6));
	CHECK(addr_round_trip(m, STUN_ATTR_RESPONSE_ORIGIN, false, &v4));
	CHECK(addr_round_trip(m, STUN_ATTR_OTHER_ADDRESS, false, &v6));
	CHECK(!addr_round_trip(m, STUN_ATTR_XOR_MAPPED_ADDRESS, false, &v4));
}

static void
check_everything_values(const struct stun_msg *m)
{
	const struct stun_attr *a;
	const uint8_t *reason;
	uint8_t u8;
	uint16_t u16;
	size_t rlen;
	int code;

	CHECK(value_is(m, STUN_ATTR_USERNAME, "evtj:h6vY", 9));
	CHECK(value_is(m, STUN_ATTR_REALM, "example.org", 11));
	CHECK(value_is(m, STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA", 28));
	CHECK(value_is(m, STUN_ATTR_SOFTWARE, "turnpike", 8));
	CHECK(value_is(m, STUN_ATTR_ALTERNATE_DOMAIN, "turn.example.org", 16));
	CHECK(value_is(m, STUN_ATTR_DATA, "hello", 5));
	CHECK(value_is(m, STUN_ATTR_RESERVATION_TOKEN, "\1\2\3\4\5\6\7\10", 8));
	CHECK(value_is(m, STUN_ATTR_DONT_FRAGMENT, "", 0));
	CHECK(value_is(m, STUN_ATTR_EVEN_PORT, "\x80", 1));
	CHECK(value_is(m, STUN_ATTR_PASSWORD_ALGORITHM, "\x00\x02\x00\x00", 4));
	CHECK(value_is(m, STUN_ATTR_UNKNOWN_ATTRIBUTES, "\x00\x30\x00\x31\x00\x32", 6));
	CHECK(stun_find(m, STUN_ATTR_USERHASH) != NULL &&
	    stun_find(m, STUN_ATTR_USERHASH)->len == 32);
	CHECK(u32_is(m, STUN_ATTR_LIFETIME, 600) && u32_is(m, STUN_ATTR_CHANGE_REQUEST, 6) &&
	    u32_is(m, STUN_ATTR_CONNECTION_ID, 0xdeadbeef));
	CHECK(u32_is(m, STUN_ATTR_REQUESTED_TRANSPORT, 0x11000000));
	a = stun_find(m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	CHECK(a != NULL && stun_get_u8(m, a, &u8) == 0 && u8 == 2);
	a = stun_find(m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY);
	CHECK(a != NULL && stun_get_u8(m, a, &u8) == 0 && u8 == 2);
	a = stun_find(m, STUN_ATTR_CHANNEL_NUMBER);
	CHECK(a != NULL && stun_get_u16(m, a, &u16) == 0 && u16 == 0x4001 && a->len == 4);
	a = stun_find(m, STUN_ATTR_RESPONSE_PORT);
	CHECK(a != NULL && stun_get_u16(m, a, &u16) == 0 && u16 == 3479);
	a = stun_find(m, STUN_ATTR_ERROR_CODE);
	CHECK(a != NULL && stun_get_error(m, a, &code, &reason, &rlen) == 0 && code == 401 &&
	    rlen == 15 && memcmp(reason, "Unauthenticated", 15) == 0);
	a = stun_find(m, STUN_ATTR_ADDRESS_ERROR_CODE);
	CHECK(a != NULL && stun_get_error(m, a, &code, &reason, &rlen) == 0 && code == 440);
}

static void
test_everything(void)
{
	uint8_t out[2048];
	size_t len = build_everything(out, sizeof out);
	const char *errstr = NULL;
	struct stun_msg m;

	CHECK(len > 0 && len % 4 == 0 && buf_load_u16(out + 2) == len - STUN_HEADER_LEN);
	CHECK(stun_decode(&m, out, len, &errstr) == STUN_DECODE_OK);
	CHECK(m.method == STUN_ALLOCATE && m.cls == STUN_REQUEST && m.nunknown == 0);
	CHECK(m.nattrs == 35 && m.mi == 32 && m.mi_sha256 == 33 && m.fingerprint == 34);
	CHECK(integrity_verify(&m, false, test_key, TEST_KEYLEN));
	CHECK(integrity_verify(&m, true, test_key, TEST_KEYLEN));
	CHECK(integrity_fingerprint_ok(&m));
	CHECK(m.attrs[m.mi_sha256].len == 32);
	check_everything_addrs(&m);
	check_everything_values(&m);
	CHECKM(build_everything(out, len - 1) == 0, "one byte short fails");
}

static void
test_error_reason(void)
{
	uint8_t out[128];
	struct stun_build b;
	const struct stun_attr *a;
	const uint8_t *reason;
	const char *errstr;
	struct stun_msg m;
	size_t len, rlen;
	int code;

	stun_build_init(&b, out, sizeof out, STUN_REFRESH, STUN_ERROR, test_tid);
	CHECK(stun_build_error(&b, 699, "Odd") == 0);
	CHECK(stun_build_finish(&b, &len) == 0 && stun_decode(&m, out, len, &errstr) == 0);
	a = stun_find(&m, STUN_ATTR_ERROR_CODE);
	CHECK(a != NULL && stun_get_error(&m, a, &code, &reason, &rlen) == 0 && code == 699 &&
	    rlen == 3 && memcmp(reason, "Odd", 3) == 0);
	CHECK(m.method == STUN_REFRESH && m.cls == STUN_ERROR);
	stun_build_init(&b, out, sizeof out, STUN_REFRESH, STUN_ERROR, test_tid);
	CHECK(stun_build_error(&b, 299, NULL) == -1 && stun_build_finish(&b, &len) == -1);
	stun_build_init(&b, out, sizeof out, STUN_REFRESH, STUN_ERROR, test_tid);
	CHECK(stun_build_error(&b, 700, NULL) == -1 && stun_build_finish(&b, &len) == -1);
}

static void
test_padding(void)
{
	uint8_t out[256];
	struct stun_build b;
	static const uint16_t one[] = {0x0030};
	size_t len, i;
	bool zero = true;

	memset(out, 0xaa, sizeof out);
	stun_build_init(&b, out, sizeof out, STUN_BINDING, STUN_REQUEST, test_tid);
	stun_build_string(&b, STUN_ATTR_USERNAME, "abc");
	CHECK(buf_load_u16(out + 2) == 8 && out[20 + 4 + 3] == 0);
	stun_build_error(&b, 420, "x");
	CHECK(buf_load_u16(out + 2) == 8 + 12);
	stun_build_unknown(&b, one, 1);
	CHECK(buf_load_u16(out + 2) == 8 + 12 + 8);
	stun_build_attr(&b, STUN_ATTR_DATA, "\xff", 1);
	CHECK(stun_build_finish(&b, &len) == 0 && len == 20 + 8 + 12 + 8 + 8);
	for (i = 0; i < 3; i++) {
		if (out[20 + 8 + 4 + 5 + i] != 0 || (i < 2 && out[20 + 28 + 4 + 2 + i] != 0))
			zero = false;
	}
	CHECK(zero && out[48 + 5] == 0 && out[48 + 6] == 0 && out[48 + 7] == 0);
	CHECK(out[len] == 0xaa);
}

static void
test_overflow(void)
{
	struct sockaddr_storage v6 = sa6("2001:db8::1", 3478);
	struct sockaddr_un sun;
	uint8_t out[64];
	struct stun_build b;
	size_t len;

	CHECK(stun_build_init(&b, out, 19, STUN_BINDING, STUN_REQUEST, test_tid) == -1);
	CHECK(stun_build_finish(&b, &len) == -1);
	CHECK(stun_build_init(&b, out, sizeof out, 0x1000, STUN_REQUEST, test_tid) == -1);
	CHECK(stun_build_init(&b, out, sizeof out, STUN_BINDING, 4, test_tid) == -1);
	CHECK(stun_build_init(&b, out, 44, STUN_BINDING, STUN_REQUEST, test_tid) == 0);
	CHECK(stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&v6) == 0);
	CHECK(stun_build_attr(&b, STUN_ATTR_DONT_FRAGMENT, NULL, 0) == -1);
	CHECKM(stun_build_finish(&b, &len) == -1, "overflow sticks");
	CHECK(stun_build_init(&b, out, 48, STUN_BINDING, STUN_REQUEST, test_tid) == 0);
	CHECK(stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&v6) == 0);
	CHECK(stun_build_attr(&b, STUN_ATTR_DONT_FRAGMENT, NULL, 0) == 0);
	CHECK(stun_build_finish(&b, &len) == 0 && len == 48);
	CHECK(stun_build_fingerprint(&b) == -1 && stun_build_finish(&b, &len) == -1);
	CHECK(stun_build_integrity(&b, test_key, TEST_KEYLEN) == -1);
	CHECK(stun_build_init(&b, out, 44, STUN_BINDING, STUN_REQUEST, test_tid) == 0);
	CHECK(stun_build_integrity(&b, test_key, TEST_KEYLEN) == 0);
	CHECK(stun_build_finish(&b, &len) == 0 && len == 44);
	CHECK(stun_build_init(&b, out, 43, STUN_BINDING, STUN_REQUEST, test_tid) == 0);
	CHECK(stun_build_integrity(&b, test_key, TEST_KEYLEN) == -1);
	CHECK(stun_build_u32(&b, STUN_ATTR_LIFETIME, 1) == -1);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	CHECK(stun_build_init(&b, out, sizeof out, STUN_BINDING, STUN_REQUEST, test_tid) == 0);
	CHECK(stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, (struct sockaddr *)&sun) == -1);
	CHECK(stun_build_finish(&b, &len) == -1);
}

static void
test_large(void)
{
	static uint8_t big[70000], out[70000];
	struct stun_build b;
	const char *errstr;
	struct stun_msg m;
	size_t len;

	memset(big, 'x', sizeof big);
	stun_build_init(&b, out, sizeof out, STUN_SEND, STUN_INDICATION, test_tid);
	CHECK(stun_build_attr(&b, STUN_ATTR_DATA, big, 65536) == -1);
	stun_build_init(&b, out, sizeof out, STUN_SEND, STUN_INDICATION, test_tid);
	CHECK(stun_build_attr(&b, STUN_ATTR_DATA, big, 65535 - 24) == -1);
	stun_build_init(&b, out, sizeof out, STUN_SEND, STUN_INDICATION, test_tid);
	CHECK(stun_build_attr(&b, STUN_ATTR_DATA, big, 65535 - 27) == 0);
	CHECK(stun_build_finish(&b, &len) == 0 && len == 65532);
	CHECK(stun_decode(&m, out, len, &errstr) == 0 && m.attrs[0].len == 65535 - 27);
}

int
main(void)
{
	test_vectors();
	test_typed_rebuild();
	test_everything();
	test_error_reason();
	test_padding();
	test_overflow();
	test_large();
	return unit_done();
}
