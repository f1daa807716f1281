/* STUN message decoding, typed getters and names (RFC 8489, RFC 8656, RFC 5780). */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "turnpike/buf.h"
#include "turnpike/stun.h"

/* ICE attributes (RFC 8445 §16.1): understood so that a Binding request with them gets no 420. */
#define STUN_ATTR_PRIORITY 0x0024
#define STUN_ATTR_USE_CANDIDATE 0x0025
#define STUN_ATTR_ICE_CONTROLLED 0x8029
#define STUN_ATTR_ICE_CONTROLLING 0x802a

/* RFC 8489 §14.3, §14.8, §14.9, §14.14: fewer than 128 characters and at most 763 bytes. */
#define STUN_TEXT_MAX_BYTES 763
#define STUN_TEXT_MAX_CHARS 127

#define STUN_PAD(n) ((4 - ((n)&3)) & 3)

/* One row per understood attribute: value length bounds and an optional value check. */
struct stun_attr_def {
	uint16_t type;
	const char *name;
	uint16_t min;
	uint16_t max;
	int (*valid)(const uint8_t *v, size_t len);
};

static int stun_valid_addr(const uint8_t *, size_t);
static int stun_valid_text(const uint8_t *, size_t);
static int stun_valid_error(const uint8_t *, size_t);
static int stun_valid_unknown(const uint8_t *, size_t);
static int stun_valid_even_port(const uint8_t *, size_t);
static int stun_valid_mi_sha256(const uint8_t *, size_t);
static int stun_valid_pwalg(const uint8_t *, size_t);
static int stun_valid_pwalgs(const uint8_t *, size_t);
static int stun_valid_domain(const uint8_t *, size_t);

/* Sorted by type: looked up by binary search. */
static const struct stun_attr_def stun_attr_defs[] = {
    {STUN_ATTR_MAPPED_ADDRESS, "MAPPED-ADDRESS", 8, 20, stun_valid_addr},
    {STUN_ATTR_CHANGE_REQUEST, "CHANGE-REQUEST", 4, 4, NULL},
    {STUN_ATTR_USERNAME, "USERNAME", 0, 513, NULL},
    {STUN_ATTR_MESSAGE_INTEGRITY, "MESSAGE-INTEGRITY", 20, 20, NULL},
    {STUN_ATTR_ERROR_CODE, "ERROR-CODE", 4, 4 + STUN_TEXT_MAX_BYTES, stun_valid_error},
    {STUN_ATTR_UNKNOWN_ATTRIBUTES, "UNKNOWN-ATTRIBUTES", 0, 0xffff, stun_valid_unknown},
    {STUN_ATTR_CHANNEL_NUMBER, "CHANNEL-NUMBER", 4, 4, NULL},
    {STUN_ATTR_LIFETIME, "LIFETIME", 4, 4, NULL},
    {STUN_ATTR_XOR_PEER_ADDRESS, "XOR-PEER-ADDRESS", 8, 20, stun_valid_addr},
    {STUN_ATTR_DATA, "DATA", 0, 0xffff, NULL},
    {STUN_ATTR_REALM, "REALM", 0, STUN_TEXT_MAX_BYTES, stun_valid_text},
    {STUN_ATTR_NONCE, "NONCE", 0, STUN_TEXT_MAX_BYTES, stun_valid_text},
    {STUN_ATTR_XOR_RELAYED_ADDRESS, "XOR-RELAYED-ADDRESS", 8, 20, stun_valid_addr},
    {STUN_ATTR_REQUESTED_ADDRESS_FAMILY, "REQUESTED-ADDRESS-FAMILY", 4, 4, NULL},
    {STUN_ATTR_EVEN_PORT, "EVEN-PORT", 1, 4, stun_valid_even_port},
    {STUN_ATTR_REQUESTED_TRANSPORT, "REQUESTED-TRANSPORT", 4, 4, NULL},
    {STUN_ATTR_DONT_FRAGMENT, "DONT-FRAGMENT", 0, 0, NULL},
    {STUN_ATTR_ACCESS_TOKEN, "ACCESS-TOKEN", 0, 0xffff, NULL},
    {STUN_ATTR_MESSAGE_INTEGRITY_SHA256, "MESSAGE-INTEGRITY-SHA256", 16, 32, stun_valid_mi_sha256},
    {STUN_ATTR_PASSWORD_ALGORITHM, "PASSWORD-ALGORITHM", 4, 0xffff, stun_valid_pwalg},
    {STUN_ATTR_USERHASH, "USERHASH", 32, 32, NULL},
    {STUN_ATTR_XOR_MAPPED_ADDRESS, "XOR-MAPPED-ADDRESS", 8, 20, stun_valid_addr},
    {STUN_ATTR_RESERVATION_TOKEN, "RESERVATION-TOKEN", 8, 8, NULL},
    {STUN_ATTR_PRIORITY, "PRIORITY", 4, 4, NULL},
    {STUN_ATTR_USE_CANDIDATE, "USE-CANDIDATE", 0, 0, NULL},
    {STUN_ATTR_PADDING, "PADDING", 0, 0xffff, NULL},
    {STUN_ATTR_RESPONSE_PORT, "RESPONSE-PORT", 4, 4, NULL},
    {STUN_ATTR_CONNECTION_ID, "CONNECTION-ID", 4, 4, NULL},
    {STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, "ADDITIONAL-ADDRESS-FAMILY", 4, 4, NULL},
    /* RFC 8656 §18.12: family, then class and number laid out as in ERROR-CODE. */
    {STUN_ATTR_ADDRESS_ERROR_CODE, "ADDRESS-ERROR-CODE", 4, 4 + STUN_TEXT_MAX_BYTES,
	stun_valid_error},
    {STUN_ATTR_PASSWORD_ALGORITHMS, "PASSWORD-ALGORITHMS", 4, 0xffff, stun_valid_pwalgs},
    {STUN_ATTR_ALTERNATE_DOMAIN, "ALTERNATE-DOMAIN", 1, 255, stun_valid_domain},
    {STUN_ATTR_ICMP, "ICMP", 8, 8, NULL},
    {STUN_ATTR_SOFTWARE, "SOFTWARE", 0, STUN_TEXT_MAX_BYTES, stun_valid_text},
    {STUN_ATTR_ALTERNATE_SERVER, "ALTERNATE-SERVER", 8, 20, stun_valid_addr},
    {STUN_ATTR_FINGERPRINT, "FINGERPRINT", 4, 4, NULL},
    {STUN_ATTR_ICE_CONTROLLED, "ICE-CONTROLLED", 8, 8, NULL},
    {STUN_ATTR_ICE_CONTROLLING, "ICE-CONTROLLING", 8, 8, NULL},
    {STUN_ATTR_RESPONSE_ORIGIN, "RESPONSE-ORIGIN", 8, 20, stun_valid_addr},
    {STUN_ATTR_OTHER_ADDRESS, "OTHER-ADDRESS", 8, 20, stun_valid_addr},
    {STUN_ATTR_THIRD_PARTY_AUTHORIZATION, "THIRD-PARTY-AUTHORIZATION", 0, STUN_TEXT_MAX_BYTES,
	stun_valid_text},
    /* A web origin (coturn picks the realm by it): text, as long as REALM may be. */
    {STUN_ATTR_ORIGIN, "ORIGIN", 0, STUN_TEXT_MAX_BYTES, stun_valid_text},
    /* RFC 8016 §3.1: empty in an Allocate; opaque (ours: 32 characters) after. */
    {STUN_ATTR_MOBILITY_TICKET, "MOBILITY-TICKET", 0, 1024, NULL},
};

static const struct {
	uint16_t method;
	const char *name;
} stun_methods[] = {
    {STUN_BINDING, "Binding"},
    {STUN_ALLOCATE, "Allocate"},
    {STUN_REFRESH, "Refresh"},
    {STUN_SEND, "Send"},
    {STUN_DATA, "Data"},
    {STUN_CREATE_PERMISSION, "CreatePermission"},
    {STUN_CHANNEL_BIND, "ChannelBind"},
    {STUN_CONNECT, "Connect"},
    {STUN_CONNECTION_BIND, "ConnectionBind"},
    {STUN_CONNECTION_ATTEMPT, "ConnectionAttempt"},
};

/* RFC 8489 §14.8, RFC 8656 §19, RFC 6062 §6.3, RFC 8445 §16.1, RFC 8016 §3.2. */
static const struct {
	int code;
	const char *reason;
} stun_reasons[] = {
    {300, "Try Alternate"},
    {400, "Bad Request"},
    {401, "Unauthenticated"},
    {403, "Forbidden"},
    {405, "Mobility Forbidden"},
    {420, "Unknown Attribute"},
    {437, "Allocation Mismatch"},
    {438, "Stale Nonce"},
    {440, "Address Family not Supported"},
    {441, "Wrong Credentials"},
    {442, "Unsupported Transport Protocol"},
    {443, "Peer Address Family Mismatch"},
    {446, "Connection Already Exists"},
    {447, "Connection Timeout or Failure"},
    {486, "Allocation Quota Reached"},
    {487, "Role Conflict"},
    {500, "Server Error"},
    {508, "Insufficient Capacity"},
};

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

static const struct stun_attr_def *
stun_attr_lookup(uint16_t type)
{
	size_t lo = 0, hi = nitems(stun_attr_defs), mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (stun_attr_defs[mid].type == type)
			return &stun_attr_defs[mid];
		if (stun_attr_defs[mid].type < type)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Address attributes: family 1 is 8 bytes, family 2 is 20, nothing else. */
static int
stun_valid_addr(const uint8_t *v, size_t len)
{
	if (v[1] == 0x01)
		return len == 8 ? 0 : -1;
	if (v[1] == 0x02)
		return len == 20 ? 0 : -1;
	return -1;
}

/* UTF-8 text: characters are counted as bytes that are not continuation bytes. */
static int
stun_valid_text(const uint8_t *v, size_t len)
{
	size_t i, chars = 0;

	for (i = 0; i < len; i++) {
		if ((v[i] & 0xc0) != 0x80)
			chars++;
	}
	return chars <= STUN_TEXT_MAX_CHARS ? 0 : -1;
}

/* Class 3-6, number 0-99, then a reason phrase (RFC 8489 §14.8). */
static int
stun_valid_error(const uint8_t *v, size_t len)
{
	uint8_t cls = v[2] & 0x07, num = v[3];

	if (cls < 3 || cls > 6 || num > 99)
		return -1;
	return stun_valid_text(v + 4, len - 4);
}

static int
stun_valid_unknown(const uint8_t *v, size_t len)
{
	(void)v;
	return len % 2 == 0 ? 0 : -1;
}

/* RFC 8656 §18.6 gives a 1-byte value; a 4-byte one is tolerated. */
static int
stun_valid_even_port(const uint8_t *v, size_t len)
{
	(void)v;
	return len == 1 || len == 4 ? 0 : -1;
}

/* RFC 8489 §14.6: 16 to 32 bytes, a multiple of 4. */
static int
stun_valid_mi_sha256(const uint8_t *v, size_t len)
{
	(void)v;
	return len % 4 == 0 ? 0 : -1;
}

/*
 * One algorithm entry (RFC 8489 §14.11, §14.12): algorithm, parameter length and
 * parameters padded to 4; the padding of the last one may be the attribute's.
 */
static int
stun_pwalg_next(struct buf *b)
{
	uint16_t alg, plen;
	size_t n;

	if (buf_get_u16(b, &alg) == -1 || buf_get_u16(b, &plen) == -1)
		return -1;
	if (plen > buf_left(b))
		return -1;
	n = plen + STUN_PAD(plen);
	if (n > buf_left(b))
		n = buf_left(b);
	return buf_skip(b, n);
}

static int
stun_valid_pwalg(const uint8_t *v, size_t len)
{
	struct buf b;

	buf_init(&b, v, len);
	if (stun_pwalg_next(&b) == -1)
		return -1;
	return buf_left(&b) == 0 ? 0 : -1;
}

static int
stun_valid_pwalgs(const uint8_t *v, size_t len)
{
	struct buf b;

	buf_init(&b, v, len);
	while (buf_left(&b) > 0) {
		if (stun_pwalg_next(&b) == -1)
			return -1;
	}
	return 0;
}

/*
 * ALTERNATE-DOMAIN (RFC 8489 §14.16): a DNS name for certificate checks, so
 * letters, digits, '-' and '.' only (A-labels), no empty label.
 */
static int
stun_valid_domain(const uint8_t *v, size_t len)
{
	size_t i, label = 0;

	for (i = 0; i < len; i++) {
		if (v[i] == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
			(v[i] >= '0' && v[i] <= '9') || v[i] == '-') ||
		    ++label > 63)
			return -1;
	}
	return 0;
}

bool
stun_is_stun(const uint8_t *p, size_t len)
{
	struct buf b;
	uint16_t type, mlen;
	uint32_t cookie;

	buf_init(&b, p, len);
	if (len < STUN_HEADER_LEN || buf_get_u16(&b, &type) == -1 || buf_get_u16(&b, &mlen) == -1 ||
	    buf_get_u32(&b, &cookie) == -1)
		return false;
	return (type & 0xc000) == 0 && cookie == STUN_MAGIC_COOKIE;
}

static int
stun_decode_header(struct stun_msg *m, const uint8_t *p, size_t len, const char **errstr)
{
	struct buf b;
	uint16_t type, mlen;
	uint32_t cookie;

	buf_init(&b, p, len);
	if (buf_get_u16(&b, &type) == -1 || buf_get_u16(&b, &mlen) == -1 ||
	    buf_get_u32(&b, &cookie) == -1 || buf_get_bytes(&b, m->tid, STUN_TID_LEN) == -1) {
		*errstr = "shorter than a STUN header";
		return -1;
	}
	if ((type & 0xc000) != 0) {
		*errstr = "top bits of message type not zero";
		return -1;
	}
	if (cookie != STUN_MAGIC_COOKIE) {
		*errstr = "bad magic cookie";
		return -1;
	}
	if (mlen % 4 != 0) {
		*errstr = "message length not a multiple of 4";
		return -1;
	}
	if (mlen > buf_left(&b)) {
		*errstr = "message length beyond end of data";
		return -1;
	}
	/* RFC 8489 §6: the length covers the whole message; more bytes make it malformed. */
	if (mlen < buf_left(&b)) {
		*errstr = "bytes after the message's declared length";
		return -1;
	}
	m->raw = p;
	m->len = STUN_HEADER_LEN + (size_t)mlen;
	m->type = type;
	stun_type_split(type, &m->method, &m->cls);
	return 0;
}

/* RFC 8489 §14.5, §14.6, §14.7: what may still be processed after integrity attributes. */
static bool
stun_is_ignored(const struct stun_msg *m, uint16_t type)
{
	if (type == STUN_ATTR_FINGERPRINT)
		return false;
	if (m->mi_sha256 != -1)
		return true;
	return m->mi != -1 && type != STUN_ATTR_MESSAGE_INTEGRITY_SHA256;
}

static void
stun_note_unknown(struct stun_msg *m, uint16_t type)
{
	size_t i;

	for (i = 0; i < m->nunknown; i++) {
		if (m->unknown[i] == type)
			return;
	}
	if (m->nunknown < STUN_MAX_UNKNOWN)
		m->unknown[m->nunknown++] = type;
}

static int
stun_store_attr(struct stun_msg *m, uint16_t type, uint16_t len, size_t off, const char **errstr)
{
	struct stun_attr *a;
	int idx;

	if (m->nattrs == STUN_MAX_ATTRS) {
		*errstr = "too many attributes";
		return -1;
	}
	idx = (int)m->nattrs++;
	a = &m->attrs[idx];
	a->type = type;
	a->len = len;
	a->off = (uint32_t)off;
	if (type == STUN_ATTR_MESSAGE_INTEGRITY)
		m->mi = idx;
	else if (type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
		m->mi_sha256 = idx;
	else if (type == STUN_ATTR_FINGERPRINT)
		m->fingerprint = idx;
	return 0;
}

/* Reads one TLV at the cursor, validates it and stores, records or skips it. */
static int
stun_decode_attr(struct stun_msg *m, struct buf *b, const char **errstr)
{
	const struct stun_attr_def *def;
	const uint8_t *v;
	uint16_t type, len;
	size_t off;

	if (m->fingerprint != -1) {
		*errstr = "attribute after FINGERPRINT";
		return -1;
	}
	if (buf_get_u16(b, &type) == -1 || buf_get_u16(b, &len) == -1) {
		*errstr = "truncated attribute header";
		return -1;
	}
	off = b->off;
	if (buf_get_ptr(b, &v, len) == -1) {
		*errstr = "attribute value beyond end of message";
		return -1;
	}
	if (buf_skip(b, STUN_PAD(len)) == -1) {
		*errstr = "attribute padding beyond end of message";
		return -1;
	}
	if (stun_is_ignored(m, type))
		return 0;
	if ((def = stun_attr_lookup(type)) == NULL) {
		if (type < 0x8000)
			stun_note_unknown(m, type);
		return 0;
	}
	if (len < def->min || len > def->max) {
		*errstr = "bad attribute length";
		return -1;
	}
	if (def->valid != NULL && def->valid(v, len) == -1) {
		*errstr = "malformed attribute value";
		return -1;
	}
	return stun_store_attr(m, type, len, off, errstr);
}

int
stun_decode(struct stun_msg *m, const uint8_t *p, size_t len, const char **errstr)
{
	struct buf b;

	memset(m, 0, sizeof *m);
	m->mi = m->mi_sha256 = m->fingerprint = -1;
	if (stun_decode_header(m, p, len, errstr) == -1)
		return STUN_DECODE_NOT_STUN;
	buf_init(&b, p, m->len);
	if (buf_skip(&b, STUN_HEADER_LEN) == -1) {
		*errstr = "shorter than a STUN header";
		return STUN_DECODE_NOT_STUN;
	}
	while (buf_left(&b) > 0) {
		if (stun_decode_attr(m, &b, errstr) == -1)
			return STUN_DECODE_MALFORMED;
	}
	return STUN_DECODE_OK;
}

const struct stun_attr *
stun_find(const struct stun_msg *m, uint16_t type)
{
	size_t i;

	for (i = 0; i < m->nattrs; i++) {
		if (m->attrs[i].type == type)
			return &m->attrs[i];
	}
	return NULL;
}

const uint8_t *
stun_attr_value(const struct stun_msg *m, const struct stun_attr *a)
{
	return m->raw + a->off;
}

/* A cursor over an attribute's value. */
static void
stun_attr_buf(const struct stun_msg *m, const struct stun_attr *a, struct buf *b)
{
	buf_init(b, stun_attr_value(m, a), a->len);
}

int
stun_get_u32(const struct stun_msg *m, const struct stun_attr *a, uint32_t *v)
{
	struct buf b;

	if (a->len != 4)
		return -1;
	stun_attr_buf(m, a, &b);
	return buf_get_u32(&b, v);
}

int
stun_get_u16(const struct stun_msg *m, const struct stun_attr *a, uint16_t *v)
{
	struct buf b;

	stun_attr_buf(m, a, &b);
	return buf_get_u16(&b, v);
}

int
stun_get_u8(const struct stun_msg *m, const struct stun_attr *a, uint8_t *v)
{
	struct buf b;

	stun_attr_buf(m, a, &b);
	return buf_get_u8(&b, v);
}

int
stun_get_change_request(const struct stun_msg *m, const struct stun_attr *a, bool *change_ip,
    bool *change_port)
{
	uint32_t v;

	if (stun_get_u32(m, a, &v) == -1)
		return -1;
	*change_ip = (v & STUN_CHANGE_IP) != 0;
	*change_port = (v & STUN_CHANGE_PORT) != 0;
	return 0;
}

int
stun_get_userhash(const struct stun_msg *m, const struct stun_attr *a,
    uint8_t hash[STUN_USERHASH_LEN])
{
	struct buf b;

	if (a->len != STUN_USERHASH_LEN)
		return -1;
	stun_attr_buf(m, a, &b);
	return buf_get_bytes(&b, hash, STUN_USERHASH_LEN);
}

int
stun_get_domain(const struct stun_msg *m, const struct stun_attr *a, char *out, size_t cap)
{
	struct buf b;

	if (a->len == 0 || (size_t)a->len >= cap ||
	    stun_valid_domain(stun_attr_value(m, a), a->len))
		return -1;
	stun_attr_buf(m, a, &b);
	if (buf_get_bytes(&b, out, a->len) == -1)
		return -1;
	out[a->len] = '\0';
	return 0;
}

/* Reads an address value; mask is cookie || transaction ID to XOR with, or NULL. */
static int
stun_read_addr(const struct stun_msg *m, const struct stun_attr *a, const uint8_t *mask,
    struct sockaddr_storage *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	uint8_t ip[16], reserved, family;
	uint16_t port;
	struct buf b;
	size_t i, iplen;

	stun_attr_buf(m, a, &b);
	if (buf_get_u8(&b, &reserved) == -1 || buf_get_u8(&b, &family) == -1 ||
	    buf_get_u16(&b, &port) == -1)
		return -1;
	if ((family != 0x01 && family != 0x02) || buf_left(&b) != (family == 0x01 ? 4u : 16u))
		return -1;
	iplen = buf_left(&b);
	if (buf_get_bytes(&b, ip, iplen) == -1)
		return -1;
	if (mask != NULL) {
		port ^= buf_load_u16(mask);
		for (i = 0; i < iplen; i++)
			ip[i] ^= mask[i];
	}
	memset(out, 0, sizeof *out);
	if (family == 0x01) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip, 16);
	}
	return 0;
}

int
stun_get_xor_addr(const struct stun_msg *m, const struct stun_attr *a, struct sockaddr_storage *out)
{
	uint8_t mask[4 + STUN_TID_LEN];

	buf_store_u32(mask, STUN_MAGIC_COOKIE);
	memcpy(mask + 4, m->tid, STUN_TID_LEN);
	return stun_read_addr(m, a, mask, out);
}

int
stun_get_addr(const struct stun_msg *m, const struct stun_attr *a, struct sockaddr_storage *out)
{
	return stun_read_addr(m, a, NULL, out);
}

int
stun_get_error(const struct stun_msg *m, const struct stun_attr *a, int *code,
    const uint8_t **reason, size_t *reason_len)
{
	uint8_t hdr[4];
	struct buf b;
	int cls;

	stun_attr_buf(m, a, &b);
	if (buf_get_bytes(&b, hdr, sizeof hdr) == -1)
		return -1;
	cls = hdr[2] & 0x07;
	if (cls < 3 || cls > 6 || hdr[3] > 99)
		return -1;
	*code = cls * 100 + hdr[3];
	*reason_len = buf_left(&b);
	return buf_get_ptr(&b, reason, *reason_len);
}

const char *
stun_error_reason(int code)
{
	size_t i;

	for (i = 0; i < nitems(stun_reasons); i++) {
		if (stun_reasons[i].code == code)
			return stun_reasons[i].reason;
	}
	return "Error";
}

const char *
stun_method_name(uint16_t method)
{
	size_t i;

	for (i = 0; i < nitems(stun_methods); i++) {
		if (stun_methods[i].method == method)
			return stun_methods[i].name;
	}
	return "unknown";
}

const char *
stun_attr_name(uint16_t type)
{
	const struct stun_attr_def *def = stun_attr_lookup(type);

	return def != NULL ? def->name : "unknown";
}

/* RFC 8489 §5: M11-M7 C1 M6-M4 C0 M3-M0. */
uint16_t
stun_type(uint16_t method, uint8_t cls)
{
	return (uint16_t)((method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) |
	    ((cls & 0x1) << 4) | ((cls & 0x2) << 7));
}

void
stun_type_split(uint16_t type, uint16_t *method, uint8_t *cls)
{
	*method = (uint16_t)((type & 0x000f) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0f80));
	*cls = (uint8_t)(((type >> 4) & 0x1) | ((type >> 7) & 0x2));
}
