/* Unit tests for src/stun/stun.c: decoding, validation, getters, names. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "turnpike/buf.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "unit.h"
#include "vectors.h"

#define ATTR_PRIORITY 0x0024
#define ATTR_USE_CANDIDATE 0x0025
#define ATTR_ICE_CONTROLLED 0x8029

static const uint8_t test_tid[STUN_TID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* Hex with optional spaces to bytes; aborts on bad hex (a bug in the test). */
static size_t
hexs(const char *hex, uint8_t *out, size_t cap)
{
	char clean[70000];
	size_t i, n = 0;
	int len;

	for (i = 0; hex[i] != '\0' && n < sizeof clean - 1; i++) {
		if (hex[i] != ' ')
			clean[n++] = hex[i];
	}
	clean[n] = '\0';
	if ((len = unit_unhex(clean, out, cap)) < 0)
		abort();
	return (size_t)len;
}

/* A message of type with the attribute bytes given in hex; returns its length. */
static size_t
mk(uint8_t *out, size_t cap, uint16_t type, const char *attrs)
{
	size_t n = hexs(attrs, out + STUN_HEADER_LEN, cap - STUN_HEADER_LEN);

	buf_store_u16(out, type);
	buf_store_u16(out + 2, (uint16_t)n);
	buf_store_u32(out + 4, STUN_MAGIC_COOKIE);
	memcpy(out + 8, test_tid, STUN_TID_LEN);
	return STUN_HEADER_LEN + n;
}

/* Decodes a request whose attributes are given in hex. */
static int
dec(struct stun_msg *m, const char *attrs)
{
	static uint8_t msg[70000]; /* decoded messages point into it: one at a time */
	const char *errstr = NULL;
	size_t n = mk(msg, sizeof msg, 0x0001, attrs);

	return stun_decode(m, msg, n, &errstr);
}

static bool
value_is(const struct stun_msg *m, uint16_t type, const uint8_t *want, int wantlen)
{
	const struct stun_attr *a = stun_find(m, type);

	return a != NULL && wantlen >= 0 && a->len == (size_t)wantlen &&
	    memcmp(stun_attr_value(m, a), want, a->len) == 0;
}

static bool
value_hex_is(const struct stun_msg *m, uint16_t type, const struct vector *v, const char *key)
{
	uint8_t want[1024];

	return value_is(m, type, want, vector_hex(v, key, want, sizeof want));
}

static bool
xor_addr_is(const struct stun_msg *m, int family, const char *ip, uint16_t port)
{
	const struct stun_attr *a = stun_find(m, STUN_ATTR_XOR_MAPPED_ADDRESS);
	struct sockaddr_storage ss;
	char got[INET6_ADDRSTRLEN];
	const void *addr;
	uint16_t p;

	if (a == NULL || stun_get_xor_addr(m, a, &ss) == -1 || ss.ss_family != family)
		return false;
	if (family == AF_INET) {
		addr = &((struct sockaddr_in *)&ss)->sin_addr;
		p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else {
		addr = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return inet_ntop(family, addr, got, sizeof got) != NULL && strcmp(got, ip) == 0 &&
	    p == port;
}

/* Whether a (possibly altered) vector still passes every check the vector has. */
static bool
vector_accepts(const struct vector *v, const uint8_t *p, size_t len)
{
	const char *integrity = vector_str(v, "integrity");
	const char *fp = vector_str(v, "fingerprint");
	uint8_t key[64];
	int keylen = vector_hex(v, "hmac_key_hex", key, sizeof key);
	bool sha256 = strncmp(integrity, "MESSAGE-INTEGRITY-SHA256", 24) == 0;
	const char *errstr;
	struct stun_msg m;

	if (stun_decode(&m, p, len, &errstr) != 0 || keylen < 0)
		return false;
	if (!integrity_verify(&m, sha256, key, (size_t)keylen))
		return false;
	if (strcmp(fp, "present") == 0 && !integrity_fingerprint_ok(&m))
		return false;
	return true;
}

/* Every single-byte change (xor mask) at every position must be refused. */
static size_t
vector_flips_accepted(const struct vector *v, const uint8_t *msg, size_t len, uint8_t mask)
{
	uint8_t copy[1024];
	size_t i, accepted = 0;

	for (i = 0; i < len; i++) {
		memcpy(copy, msg, len);
		copy[i] ^= mask;
		if (vector_accepts(v, copy, len)) {
			printf("# %s: byte %zu ^ 0x%02x accepted\n", vector_name(v), i, mask);
			accepted++;
		}
	}
	return accepted;
}

static void
test_vector_fields(const struct vector *v, const struct stun_msg *m)
{
	const char *name = vector_name(v);
	const struct stun_attr *a;
	uint32_t u32;

	if (strstr(name, "2.1") != NULL) {
		CHECK(value_is(m, STUN_ATTR_SOFTWARE, (const uint8_t *)"STUN test client", 16));
		a = stun_find(m, ATTR_PRIORITY);
		CHECK(a != NULL && stun_get_u32(m, a, &u32) == 0 && u32 == 0x6e0001ff);
		CHECK(value_is(m, ATTR_ICE_CONTROLLED,
		    (const uint8_t *)"\x93\x2f\xf9\xb1\x51\x26\x3b\x36", 8));
		CHECK(strcmp(stun_attr_name(ATTR_ICE_CONTROLLED), "ICE-CONTROLLED") == 0);
	}
	if (strstr(name, "2.2") != NULL) {
		CHECK(value_is(m, STUN_ATTR_SOFTWARE, (const uint8_t *)"test vector", 11));
		CHECK(xor_addr_is(m, AF_INET, "192.0.2.1", 32853));
	}
	if (strstr(name, "2.3") != NULL)
		CHECK(xor_addr_is(m, AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", 32853));
	if (strstr(name, "B.1") != NULL) {
		CHECK(value_hex_is(m, STUN_ATTR_USERHASH, v, "userhash_hex"));
		CHECK(value_is(m, STUN_ATTR_PASSWORD_ALGORITHM, (const uint8_t *)"\x00\x02\x00\x00",
		    4));
		CHECK(stun_find(m, STUN_ATTR_USERNAME) == NULL);
	}
	if (vector_get(v, "username_hex") != NULL && strstr(name, "B.1") == NULL)
		CHECK(value_hex_is(m, STUN_ATTR_USERNAME, v, "username_hex"));
	if (vector_get(v, "realm_hex") != NULL)
		CHECK(value_hex_is(m, STUN_ATTR_REALM, v, "realm_hex"));
	if (vector_get(v, "nonce_hex") != NULL)
		CHECK(value_hex_is(m, STUN_ATTR_NONCE, v, "nonce_hex"));
}

static void
test_vector(const struct vector *v)
{
	uint8_t msg[1024], copy[1024], key[64], tid[STUN_TID_LEN];
	const char *errstr = NULL, *integrity = vector_str(v, "integrity");
	int len = vector_hex(v, "hex", msg, sizeof msg);
	int keylen = vector_hex(v, "hmac_key_hex", key, sizeof key);
	bool sha256 = strncmp(integrity, "MESSAGE-INTEGRITY-SHA256", 24) == 0;
	bool fp = strcmp(vector_str(v, "fingerprint"), "present") == 0;
	struct stun_msg m;

	printf("# vector %s\n", vector_name(v));
	CHECK(len > 0 && len == atoi(vector_str(v, "length_bytes")));
	CHECK(stun_decode(&m, msg, (size_t)len, &errstr) == STUN_DECODE_OK);
	CHECK(m.len == (size_t)len && m.nunknown == 0);
	CHECK(m.method == STUN_BINDING);
	CHECK(m.cls == (msg[0] == 0x01 ? STUN_SUCCESS : STUN_REQUEST));
	CHECK(vector_hex(v, "transaction_id_hex", tid, sizeof tid) == STUN_TID_LEN &&
	    memcmp(m.tid, tid, STUN_TID_LEN) == 0);
	memcpy(copy, msg, (size_t)len);
	CHECK(keylen > 0 && integrity_verify(&m, sha256, key, (size_t)keylen));
	CHECK(memcmp(copy, msg, (size_t)len) == 0);
	CHECK(sha256 ? m.mi_sha256 >= 0 && m.mi == -1 : m.mi >= 0 && m.mi_sha256 == -1);
	CHECK(!integrity_verify(&m, !sha256, key, (size_t)keylen));
	key[0] ^= 1;
	CHECK(!integrity_verify(&m, sha256, key, (size_t)keylen));
	CHECK(integrity_fingerprint_ok(&m) == fp);
	CHECK(fp ? m.fingerprint == (int)m.nattrs - 1 : m.fingerprint == -1);
	test_vector_fields(v, &m);
	CHECKM(vector_flips_accepted(v, msg, (size_t)len, 0x01) == 0, "every byte ^ 0x01 refused");
	CHECKM(vector_flips_accepted(v, msg, (size_t)len, 0x80) == 0, "every byte ^ 0x80 refused");
}

static void
test_vectors(void)
{
	CHECKM(vectors_each(TEST_DATADIR "/rfc5769_vectors.txt", test_vector) == 5,
	    "five vectors in rfc5769_vectors.txt");
}

static void
test_header(void)
{
	uint8_t msg[128] = {0};
	const char *errstr = NULL;
	struct stun_msg m;
	size_t n;

	CHECK(stun_decode(&m, msg, 0, &errstr) == STUN_DECODE_NOT_STUN && errstr != NULL);
	msg[0] = 0;
	CHECK(stun_decode(&m, msg, 1, &errstr) == STUN_DECODE_NOT_STUN);
	n = mk(msg, sizeof msg, 0x0001, "");
	CHECK(stun_decode(&m, msg, n, &errstr) == STUN_DECODE_OK && m.nattrs == 0);
	CHECK(stun_is_stun(msg, n) && !stun_is_stun(msg, n - 1));
	CHECK(stun_decode(&m, msg, n - 1, &errstr) == STUN_DECODE_NOT_STUN);
	msg[4] ^= 0x01;
	CHECK(stun_decode(&m, msg, n, &errstr) == STUN_DECODE_NOT_STUN && !stun_is_stun(msg, n));
	msg[4] ^= 0x01;
	msg[0] = 0x80;
	CHECK(stun_decode(&m, msg, n, &errstr) == STUN_DECODE_NOT_STUN && !stun_is_stun(msg, n));
	msg[0] = 0x40;
	CHECK(stun_decode(&m, msg, n, &errstr) == STUN_DECODE_NOT_STUN);
	n = mk(msg, sizeof msg, 0x0001, "0006 0001 61");
	CHECK(stun_decode(&m, msg, n, &errstr) == STUN_DECODE_NOT_STUN); /* length 5 */
	n = mk(msg, sizeof msg, 0x0001, "0006 0004 61626364");
	CHECK(stun_decode(&m, msg, n - 1, &errstr) == STUN_DECODE_NOT_STUN); /* beyond datagram */
	CHECKM(stun_decode(&m, msg, n + 4, &errstr) == STUN_DECODE_NOT_STUN && errstr != NULL &&
		strstr(errstr, "after") != NULL,
	    "bytes after the declared length: not STUN (a UDP datagram is dropped)");
	n = mk(msg, sizeof msg, 0x0113, "");
	CHECK(stun_decode(&m, msg, n, &errstr) == 0 && m.method == STUN_ALLOCATE &&
	    m.cls == STUN_ERROR && m.type == 0x0113);
}

static void
test_tlv(void)
{
	struct stun_msg m;

	/* Value beyond the message; the padding of a last attribute missing. */
	CHECK(dec(&m, "0006 0008 61626364") == STUN_DECODE_MALFORMED);
	CHECK(dec(&m, "0006 0005 61626364") == STUN_DECODE_MALFORMED);
	CHECK(dec(&m, "0006 0004 61626364 0006 0008 61626364") == STUN_DECODE_MALFORMED);
	CHECK(dec(&m, "0006 0003 616263") == STUN_DECODE_NOT_STUN); /* unpadded: length 7 */
	CHECK(dec(&m, "0006 0003 61626300") == STUN_DECODE_OK && m.attrs[0].len == 3);
	CHECK(dec(&m, "0006 0003 616263ff") == STUN_DECODE_OK); /* padding value is free */
	CHECK(dec(&m, "0006 0000") == STUN_DECODE_OK && m.nattrs == 1);
}

static void
test_too_many(void)
{
	char hex[49 * 9 + 1];
	struct stun_msg m;
	int i;

	hex[0] = '\0';
	for (i = 0; i < STUN_MAX_ATTRS; i++)
		strcat(hex, "001a0000 ");
	CHECK(dec(&m, hex) == STUN_DECODE_OK && m.nattrs == STUN_MAX_ATTRS);
	strcat(hex, "001a0000");
	CHECK(dec(&m, hex) == STUN_DECODE_MALFORMED);
}

/* Attribute values of known types that must be refused (400) or accepted. */
static const struct {
	const char *hex;
	int rc;
} length_cases[] = {
    {"000d 0004 00000258", STUN_DECODE_OK},
    {"000d 0003 000002 00", STUN_DECODE_MALFORMED},
    {"000d 0008 00000258 00000000", STUN_DECODE_MALFORMED},
    {"000c 0004 40000000", STUN_DECODE_OK},
    {"000c 0002 4000 0000", STUN_DECODE_MALFORMED},
    {"0019 0004 11000000", STUN_DECODE_OK},
    {"0019 0001 11 000000", STUN_DECODE_MALFORMED},
    {"0017 0004 01000000", STUN_DECODE_OK},
    {"0017 0008 01000000 00000000", STUN_DECODE_MALFORMED},
    {"0018 0001 80 000000", STUN_DECODE_OK},
    {"0018 0004 80000000", STUN_DECODE_OK},
    {"0018 0002 8000 0000", STUN_DECODE_MALFORMED},
    {"0018 0000", STUN_DECODE_MALFORMED},
    {"001a 0000", STUN_DECODE_OK},
    {"001a 0004 00000000", STUN_DECODE_MALFORMED},
    {"0022 0008 0102030405060708", STUN_DECODE_OK},
    {"0022 0004 01020304", STUN_DECODE_MALFORMED},
    {"0008 0010 00000000000000000000000000000000", STUN_DECODE_MALFORMED},
    {"001c 000c 000000000000000000000000", STUN_DECODE_MALFORMED},
    {"001c 0012 000000000000000000000000000000000000 0000", STUN_DECODE_MALFORMED},
    {"001c 0010 00000000000000000000000000000000", STUN_DECODE_OK},
    {"001c 0014 0000000000000000000000000000000000000000", STUN_DECODE_OK},
    {"001c 0024 000000000000000000000000000000000000000000000000000000000000000000000000",
	STUN_DECODE_MALFORMED},
    {"8028 0008 0000000000000000", STUN_DECODE_MALFORMED},
    {"001e 001f 00000000000000000000000000000000000000000000000000000000000000 00",
	STUN_DECODE_MALFORMED},
    {"0009 0003 000004 00", STUN_DECODE_MALFORMED},
    {"0009 0004 00000400", STUN_DECODE_OK},
    {"0009 0004 00000200", STUN_DECODE_MALFORMED},
    {"0009 0004 00000700", STUN_DECODE_MALFORMED},
    {"0009 0004 00000464", STUN_DECODE_MALFORMED},
    {"0009 0004 00000663", STUN_DECODE_OK},
    {"8001 0004 01000401", STUN_DECODE_OK},
    {"8001 0004 01000901", STUN_DECODE_MALFORMED},
    {"0020 0008 0001 0000 00000000", STUN_DECODE_OK},
    {"0020 0014 0001 0000 00000000000000000000000000000000", STUN_DECODE_MALFORMED},
    {"0020 0008 0002 0000 00000000", STUN_DECODE_MALFORMED},
    {"0020 0008 0003 0000 00000000", STUN_DECODE_MALFORMED},
    {"0020 0004 0001 0000", STUN_DECODE_MALFORMED},
    {"0012 0014 0002 0000 00000000000000000000000000000000", STUN_DECODE_OK},
    {"0001 0008 0001 0000 00000000", STUN_DECODE_OK},
    {"802c 000c 0001 0000 00000000 00000000", STUN_DECODE_MALFORMED},
    {"000a 0004 00010002", STUN_DECODE_OK},
    {"000a 0003 000100 00", STUN_DECODE_MALFORMED},
    {"8002 0008 00010000 00020000", STUN_DECODE_OK},
    {"8002 000c 00010002 abcd0000 00020000", STUN_DECODE_OK},
    {"8002 000a 00010000 0002 0000", STUN_DECODE_MALFORMED},
    {"8002 0004 00010004", STUN_DECODE_MALFORMED},
    {"8002 0000", STUN_DECODE_MALFORMED},
    {"8002 0006 00010002 abcd 0000", STUN_DECODE_OK},
    {"001d 0004 00020000", STUN_DECODE_OK},
    {"001d 0008 00020000 00010000", STUN_DECODE_MALFORMED},
    {"001d 0002 0002 0000", STUN_DECODE_MALFORMED},
    {"8004 0008 0000030100000000", STUN_DECODE_OK},
    {"8004 0004 00000301", STUN_DECODE_MALFORMED},
    {"8003 0000", STUN_DECODE_MALFORMED},
    {"002a 0004 01020304", STUN_DECODE_OK},
    {"002a 0002 0102 0000", STUN_DECODE_MALFORMED},
    {"002a 0008 0102030405060708", STUN_DECODE_MALFORMED},
    {"002a 0000", STUN_DECODE_MALFORMED},
    {"0024 0003 6e0001 00", STUN_DECODE_MALFORMED},
    {"0025 0000", STUN_DECODE_OK},
    {"8029 0004 00000000", STUN_DECODE_MALFORMED},
    {"0003 0004 00000006", STUN_DECODE_OK},
    {"0027 0004 0d960000", STUN_DECODE_OK},
    {"0026 0005 0000000000 000000", STUN_DECODE_OK},
    {"8000 0004 02000000", STUN_DECODE_OK},
};

/* An attribute: prefix (hex) then n copies of the character chr (hex), padded. */
static void
text_attr(char *hex, size_t cap, const char *type, const char *prefix, size_t n, const char *chr)
{
	size_t i, bytes = (strlen(prefix) + n * strlen(chr)) / 2;

	snprintf(hex, cap, "%s %04zx %s", type, bytes, prefix);
	for (i = 0; i < n; i++)
		strcat(hex, chr);
	for (i = bytes; i % 4 != 0; i++)
		strcat(hex, "00");
}

static void
test_lengths(void)
{
	static char hex[8192];
	struct stun_msg m;
	size_t i, bad = 0;

	for (i = 0; i < sizeof length_cases / sizeof length_cases[0]; i++) {
		if (dec(&m, length_cases[i].hex) != length_cases[i].rc) {
			printf("# length case %s\n", length_cases[i].hex);
			bad++;
		}
	}
	CHECKM(bad == 0, "known attribute lengths and values validated");
	text_attr(hex, sizeof hex, "0006", "", 513, "61");
	CHECKM(dec(&m, hex) == STUN_DECODE_OK, "USERNAME of 513 bytes");
	text_attr(hex, sizeof hex, "0006", "", 514, "61");
	CHECKM(dec(&m, hex) == STUN_DECODE_MALFORMED, "USERNAME of 514 bytes");
	text_attr(hex, sizeof hex, "0015", "", 127, "61");
	CHECKM(dec(&m, hex) == STUN_DECODE_OK, "NONCE of 127 characters");
	text_attr(hex, sizeof hex, "0015", "", 128, "61");
	CHECKM(dec(&m, hex) == STUN_DECODE_MALFORMED, "NONCE of 128 characters");
	text_attr(hex, sizeof hex, "0014", "", 127, "e38388");
	CHECKM(dec(&m, hex) == STUN_DECODE_OK, "REALM of 127 three-byte characters");
	text_attr(hex, sizeof hex, "0014", "", 128, "e38388");
	CHECKM(dec(&m, hex) == STUN_DECODE_MALFORMED, "REALM of 128 three-byte characters");
	text_attr(hex, sizeof hex, "8022", "", 127, "f09f9880");
	CHECKM(dec(&m, hex) == STUN_DECODE_OK, "SOFTWARE of 508 bytes, 127 characters");
	text_attr(hex, sizeof hex, "8022", "", 191, "f09f9880");
	CHECKM(dec(&m, hex) == STUN_DECODE_MALFORMED, "SOFTWARE of 764 bytes");
	text_attr(hex, sizeof hex, "0009", "00000400", 127, "61");
	CHECKM(dec(&m, hex) == STUN_DECODE_OK, "ERROR-CODE reason of 127 characters");
	text_attr(hex, sizeof hex, "0009", "00000400", 128, "61");
	CHECKM(dec(&m, hex) == STUN_DECODE_MALFORMED, "ERROR-CODE reason of 128 characters");
	text_attr(hex, sizeof hex, "0009", "00000400", 191, "f09f9880");
	CHECKM(dec(&m, hex) == STUN_DECODE_MALFORMED, "ERROR-CODE reason of 764 bytes");
}

static void
test_order(void)
{
	struct stun_msg m;

	CHECKM(dec(&m, "8028 0004 00000000 0006 0004 61626364") == STUN_DECODE_MALFORMED,
	    "FINGERPRINT not last");
	CHECKM(dec(&m, "8028 0004 00000000 c001 0000") == STUN_DECODE_MALFORMED,
	    "even an ignored attribute after FINGERPRINT");
	CHECKM(dec(&m, "8028 0004 00000000 8028 0004 00000000") == STUN_DECODE_MALFORMED,
	    "two FINGERPRINTs");
	CHECK(dec(&m, "0030 0000 0031 0004 00000000 0030 0000") == STUN_DECODE_OK &&
	    m.nunknown == 2 && m.unknown[0] == 0x0030 && m.unknown[1] == 0x0031 && m.nattrs == 0);
	CHECK(dec(&m, "c001 0004 00000000 8fff 0000") == STUN_DECODE_OK && m.nunknown == 0 &&
	    m.nattrs == 0);
	CHECK(dec(&m, "0010 0000 0021 0000 0002 0000") == STUN_DECODE_OK && m.nunknown == 3);
	/* After MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count. */
	CHECK(dec(&m,
		  "0008 0014 0000000000000000000000000000000000000000 "
		  "0006 0004 61626364 0030 0000 000d 0003 00000000 "
		  "001c 0020 0000000000000000000000000000000000000000000000000000000000000000 "
		  "0006 0000 0008 0014 0000000000000000000000000000000000000000 "
		  "8028 0004 00000000") == STUN_DECODE_OK);
	CHECK(m.nattrs == 3 && m.mi == 0 && m.mi_sha256 == 1 && m.fingerprint == 2 &&
	    m.nunknown == 0 && stun_find(&m, STUN_ATTR_USERNAME) == NULL);
	CHECK(dec(&m,
		  "001c 0010 00000000000000000000000000000000 "
		  "0008 0014 0000000000000000000000000000000000000000") == STUN_DECODE_OK &&
	    m.mi == -1 && m.mi_sha256 == 0 && m.nattrs == 1);
}

static void
test_unknown_overflow(void)
{
	char hex[4096] = "";
	struct stun_msg m;
	int i;

	for (i = 0; i < STUN_MAX_UNKNOWN + 4; i++)
		snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%04x0000 ", 0x0040 + i);
	CHECK(dec(&m, hex) == STUN_DECODE_OK && m.nunknown == STUN_MAX_UNKNOWN &&
	    m.unknown[STUN_MAX_UNKNOWN - 1] == 0x0040 + STUN_MAX_UNKNOWN - 1);
}

static void
test_getters(void)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const struct stun_attr *a;
	const uint8_t *reason;
	size_t rlen;
	struct stun_msg m;
	uint32_t u32;
	uint16_t u16;
	uint8_t u8;
	int code;

	CHECK(dec(&m,
		  "0009 000f 00000426 5374616c65204e6f6e6365 00 "
		  "0001 0008 0001 1234 c0000201 "
		  "000d 0004 00000e10 0019 0004 11000000 000c 0004 4001abcd "
		  "0013 0003 010203 00") == STUN_DECODE_OK);
	a = stun_find(&m, STUN_ATTR_ERROR_CODE);
	CHECK(a != NULL && stun_get_error(&m, a, &code, &reason, &rlen) == 0 && code == 438 &&
	    rlen == 11 && memcmp(reason, "Stale Nonce", 11) == 0);
	CHECK(stun_get_u32(&m, a, &u32) == -1);
	CHECK(stun_get_addr(&m, a, &ss) == -1 && stun_get_xor_addr(&m, a, &ss) == -1);
	a = stun_find(&m, STUN_ATTR_MAPPED_ADDRESS);
	CHECK(a != NULL && stun_get_addr(&m, a, &ss) == 0 && ss.ss_family == AF_INET &&
	    ntohs(sin->sin_port) == 0x1234 && ntohl(sin->sin_addr.s_addr) == 0xc0000201);
	CHECK(stun_get_error(&m, a, &code, &reason, &rlen) == -1);
	a = stun_find(&m, STUN_ATTR_LIFETIME);
	CHECK(a != NULL && stun_get_u32(&m, a, &u32) == 0 && u32 == 3600);
	a = stun_find(&m, STUN_ATTR_REQUESTED_TRANSPORT);
	CHECK(a != NULL && stun_get_u8(&m, a, &u8) == 0 && u8 == 17);
	a = stun_find(&m, STUN_ATTR_CHANNEL_NUMBER);
	CHECK(a != NULL && stun_get_u16(&m, a, &u16) == 0 && u16 == 0x4001);
	a = stun_find(&m, STUN_ATTR_DATA);
	CHECK(a != NULL && a->len == 3 && stun_get_u32(&m, a, &u32) == -1 &&
	    stun_get_xor_addr(&m, a, &ss) == -1 && stun_get_u16(&m, a, &u16) == 0);
	CHECK(stun_find(&m, STUN_ATTR_USERNAME) == NULL);
	CHECK(dec(&m, "0013 0000") == STUN_DECODE_OK);
	a = stun_find(&m, STUN_ATTR_DATA);
	CHECK(a != NULL && stun_get_u8(&m, a, &u8) == -1 && stun_get_u16(&m, a, &u16) == -1 &&
	    stun_get_error(&m, a, &code, &reason, &rlen) == -1);
}

static void
test_names(void)
{
	uint16_t method, t;
	uint8_t cls;
	bool ok = true;

	CHECK(strcmp(stun_method_name(STUN_CREATE_PERMISSION), "CreatePermission") == 0);
	CHECK(strcmp(stun_method_name(0x0fff), "unknown") == 0);
	CHECK(strcmp(stun_attr_name(STUN_ATTR_XOR_MAPPED_ADDRESS), "XOR-MAPPED-ADDRESS") == 0);
	CHECK(strcmp(stun_attr_name(STUN_ATTR_OTHER_ADDRESS), "OTHER-ADDRESS") == 0);
	CHECK(strcmp(stun_attr_name(STUN_ATTR_MAPPED_ADDRESS), "MAPPED-ADDRESS") == 0);
	CHECK(strcmp(stun_attr_name(ATTR_USE_CANDIDATE), "USE-CANDIDATE") == 0);
	CHECK(strcmp(stun_attr_name(0x7777), "unknown") == 0);
	CHECK(strcmp(stun_error_reason(401), "Unauthenticated") == 0);
	CHECK(strcmp(stun_error_reason(438), "Stale Nonce") == 0);
	CHECK(strcmp(stun_error_reason(508), "Insufficient Capacity") == 0);
	CHECK(strcmp(stun_error_reason(599), "Error") == 0);
	CHECK(stun_type(STUN_BINDING, STUN_REQUEST) == 0x0001);
	CHECK(stun_type(STUN_BINDING, STUN_SUCCESS) == 0x0101);
	CHECK(stun_type(STUN_BINDING, STUN_ERROR) == 0x0111);
	CHECK(stun_type(STUN_SEND, STUN_INDICATION) == 0x0016);
	CHECK(stun_type(STUN_ALLOCATE, STUN_ERROR) == 0x0113);
	for (method = 0; method <= 0x0fff; method++) {
		for (cls = 0; cls < 4; cls++) {
			uint16_t m2;
			uint8_t c2;

			t = stun_type(method, cls);
			stun_type_split(t, &m2, &c2);
			if (m2 != method || c2 != cls || (t & 0xc000) != 0)
				ok = false;
		}
	}
	CHECKM(ok, "stun_type and stun_type_split round-trip every method and class");
}

/* RFC 5780 CHANGE-REQUEST, RFC 8489 USERHASH and ALTERNATE-DOMAIN through the checked reader. */
static void
test_new_attrs(void)
{
	struct stun_msg m;
	const struct stun_attr *a;
	uint8_t hash[STUN_USERHASH_LEN];
	char name[STUN_DOMAIN_MAX];
	bool ip = false, port = false;

	CHECK(dec(&m, "0003 0004 00000006") == STUN_DECODE_OK && m.nunknown == 0);
	a = stun_find(&m, STUN_ATTR_CHANGE_REQUEST);
	CHECKM(a != NULL && stun_get_change_request(&m, a, &ip, &port) == 0 && ip && port,
	    "CHANGE-REQUEST 6: change IP and port");
	CHECK(dec(&m, "0003 0004 fffffff2") == STUN_DECODE_OK);
	a = stun_find(&m, STUN_ATTR_CHANGE_REQUEST);
	CHECKM(stun_get_change_request(&m, a, &ip, &port) == 0 && !ip && port,
	    "CHANGE-REQUEST: unused bits ignored");
	CHECKM(dec(&m, "0003 0002 0006 0000") == STUN_DECODE_MALFORMED, "short CHANGE-REQUEST");
	CHECK(
	    dec(&m, "001e 0020 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f") ==
	    STUN_DECODE_OK);
	a = stun_find(&m, STUN_ATTR_USERHASH);
	CHECK(a != NULL && stun_get_userhash(&m, a, hash) == 0 && hash[0] == 0 && hash[31] == 31);
	CHECKM(dec(&m, "001e 001c 000102030405060708090a0b0c0d0e0f101112131415161718191a1b") ==
		STUN_DECODE_MALFORMED,
	    "a 28-byte USERHASH is refused");
	CHECK(dec(&m, "8003 000b 6578616d706c652e6f726700") == STUN_DECODE_OK);
	a = stun_find(&m, STUN_ATTR_ALTERNATE_DOMAIN);
	CHECKM(a != NULL && stun_get_domain(&m, a, name, sizeof name) == 0 &&
		strcmp(name, "example.org") == 0,
	    "ALTERNATE-DOMAIN example.org");
	CHECKM(stun_get_domain(&m, a, name, 11) == -1, "no room for the NUL: refused");
	CHECKM(dec(&m, "8003 0003 61206200") == STUN_DECODE_MALFORMED, "a domain with a space");
	CHECKM(dec(&m, "8003 0002 2e610000") == STUN_DECODE_MALFORMED, "an empty label");
	CHECKM(dec(&m, "8003 0000") == STUN_DECODE_MALFORMED, "an empty domain");
	CHECK(dec(&m, "0027 0004 13880000") == STUN_DECODE_OK);
	uint16_t p16 = 0;
	CHECK((a = stun_find(&m, STUN_ATTR_RESPONSE_PORT)) != NULL &&
	    stun_get_u16(&m, a, &p16) == 0 && p16 == 5000);
	CHECKM(dec(&m, "0027 0002 1388 0000") == STUN_DECODE_MALFORMED, "short RESPONSE-PORT");
}

int
main(void)
{
	test_vectors();
	test_header();
	test_tlv();
	test_too_many();
	test_lengths();
	test_order();
	test_unknown_overflow();
	test_getters();
	test_names();
	test_new_attrs();
	return unit_done();
}
