/*
 * STUN message decoding (RFC 8489, RFC 5389 compatible; TURN attributes from
 * RFC 8656, RFC 6156, RFC 6062; RFC 5780 attributes). Sans-IO and allocation-free:
 * a decoded message points into the caller's buffer.
 */
#ifndef TURNPIKE_STUN_H
#define TURNPIKE_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HEADER_LEN 20
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_TID_LEN 12
/* Attributes kept per message; a message with more is refused (400). */
#define STUN_MAX_ATTRS 48
/* Unknown comprehension-required attribute types remembered for a 420. */
#define STUN_MAX_UNKNOWN 16
/* Largest message we build or accept on a stream. */
#define STUN_MAX_MSG 65535

/* Classes, as the two class bits of the message type (RFC 8489 §5). */
enum stun_class {
	STUN_REQUEST = 0,
	STUN_INDICATION = 1,
	STUN_SUCCESS = 2,
	STUN_ERROR = 3,
};

enum stun_method {
	STUN_BINDING = 0x001,
	STUN_ALLOCATE = 0x003,
	STUN_REFRESH = 0x004,
	STUN_SEND = 0x006,
	STUN_DATA = 0x007,
	STUN_CREATE_PERMISSION = 0x008,
	STUN_CHANNEL_BIND = 0x009,
	STUN_CONNECT = 0x00a,
	STUN_CONNECTION_BIND = 0x00b,
	STUN_CONNECTION_ATTEMPT = 0x00c,
};

enum stun_attr_type {
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_CHANGE_REQUEST = 0x0003,
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000a,
	STUN_ATTR_CHANNEL_NUMBER = 0x000c,
	STUN_ATTR_LIFETIME = 0x000d,
	STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
	STUN_ATTR_DATA = 0x0013,
	STUN_ATTR_REALM = 0x0014,
	STUN_ATTR_NONCE = 0x0015,
	STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
	STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
	STUN_ATTR_EVEN_PORT = 0x0018,
	STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
	STUN_ATTR_DONT_FRAGMENT = 0x001a,
	STUN_ATTR_ACCESS_TOKEN = 0x001b, /* RFC 7635 */
	STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001c,
	STUN_ATTR_PASSWORD_ALGORITHM = 0x001d,
	STUN_ATTR_USERHASH = 0x001e,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_RESERVATION_TOKEN = 0x0022,
	STUN_ATTR_PADDING = 0x0026,
	STUN_ATTR_RESPONSE_PORT = 0x0027,
	STUN_ATTR_CONNECTION_ID = 0x002a,
	STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8000,
	STUN_ATTR_ADDRESS_ERROR_CODE = 0x8001,
	STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
	STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
	STUN_ATTR_ICMP = 0x8004,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_ALTERNATE_SERVER = 0x8023,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_ATTR_RESPONSE_ORIGIN = 0x802b,
	STUN_ATTR_OTHER_ADDRESS = 0x802c,
	STUN_ATTR_THIRD_PARTY_AUTHORIZATION = 0x802e, /* RFC 7635 */
	STUN_ATTR_ORIGIN = 0x802f,                    /* IANA; coturn picks the realm by it */
	STUN_ATTR_MOBILITY_TICKET = 0x8030,           /* RFC 8016 */
};

/* CHANGE-REQUEST flags (RFC 5780 §7.2). */
#define STUN_CHANGE_IP 0x4u
#define STUN_CHANGE_PORT 0x2u
/* USERHASH: SHA-256(username ":" realm) (RFC 8489 §14.4). */
#define STUN_USERHASH_LEN 32
/* ALTERNATE-DOMAIN: at most 255 bytes (RFC 8489 §14.16) and a NUL. */
#define STUN_DOMAIN_MAX 256

/* PASSWORD-ALGORITHM values (RFC 8489 §18.5). */
enum stun_pwalg {
	STUN_PWALG_MD5 = 0x0001,
	STUN_PWALG_SHA256 = 0x0002,
};

/* One attribute as found in the message: the value is raw + off, len bytes. */
struct stun_attr {
	uint16_t type;
	uint16_t len;
	uint32_t off;
};

struct stun_msg {
	const uint8_t *raw; /* the caller's buffer, not owned */
	size_t len;         /* 20 + the header's length field */
	uint16_t type;      /* the raw 14-bit message type */
	uint16_t method;    /* enum stun_method */
	uint8_t cls;        /* enum stun_class */
	uint8_t tid[STUN_TID_LEN];
	size_t nattrs;
	struct stun_attr attrs[STUN_MAX_ATTRS];
	/* Indexes into attrs[], -1 when absent. */
	int mi;        /* MESSAGE-INTEGRITY */
	int mi_sha256; /* MESSAGE-INTEGRITY-SHA256 */
	int fingerprint;
	size_t nunknown;
	uint16_t unknown[STUN_MAX_UNKNOWN]; /* comprehension-required types not understood */
};

/* Decode results: 0 on success, otherwise one of these. */
enum stun_decode_error {
	STUN_DECODE_OK = 0,
	STUN_DECODE_NOT_STUN = -1,  /* not a STUN message: top bits, cookie, size, trailing bytes */
	STUN_DECODE_MALFORMED = -2, /* STUN header but bad attributes: answer 400 */
};

/* True when the bytes start like a STUN message (top bits 00, magic cookie). */
bool stun_is_stun(const uint8_t *p, size_t len);

/*
 * Decodes and validates a message: header, cookie, length (a multiple of 4 that
 * covers exactly len: bytes after it make the input not STUN, RFC 8489 §6),
 * every attribute TLV and its padding within the message, value lengths of
 * known attributes, FINGERPRINT last. Attributes after
 * MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (and after
 * MESSAGE-INTEGRITY-SHA256 other than FINGERPRINT) are skipped, not stored.
 * Returns 0 or enum stun_decode_error with *errstr set.
 */
int stun_decode(struct stun_msg *m, const uint8_t *p, size_t len, const char **errstr);

/* The first attribute of that type, or NULL. */
const struct stun_attr *stun_find(const struct stun_msg *m, uint16_t type);
/* The value bytes of an attribute. */
const uint8_t *stun_attr_value(const struct stun_msg *m, const struct stun_attr *a);

/* Typed getters: -1 when the attribute's value is not of that form. */
int stun_get_u32(const struct stun_msg *m, const struct stun_attr *a, uint32_t *v);
/* XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS. */
int stun_get_xor_addr(const struct stun_msg *m, const struct stun_attr *a,
    struct sockaddr_storage *out);
/* MAPPED-ADDRESS, ALTERNATE-SERVER, RESPONSE-ORIGIN, OTHER-ADDRESS. */
int stun_get_addr(const struct stun_msg *m, const struct stun_attr *a,
    struct sockaddr_storage *out);
/* ERROR-CODE: code 300-699 and the reason phrase (not NUL-terminated). */
int stun_get_error(const struct stun_msg *m, const struct stun_attr *a, int *code,
    const uint8_t **reason, size_t *reason_len);
/* CHANGE-REQUEST: the change-IP and change-port flags; other bits are ignored. */
int stun_get_change_request(const struct stun_msg *m, const struct stun_attr *a, bool *change_ip,
    bool *change_port);
/* USERHASH: the 32 bytes. */
int stun_get_userhash(const struct stun_msg *m, const struct stun_attr *a,
    uint8_t hash[STUN_USERHASH_LEN]);
/* ALTERNATE-DOMAIN as a NUL-terminated name (cap STUN_DOMAIN_MAX is always enough). */
int stun_get_domain(const struct stun_msg *m, const struct stun_attr *a, char *out, size_t cap);
/* REQUESTED-TRANSPORT, REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY: first byte. */
int stun_get_u8(const struct stun_msg *m, const struct stun_attr *a, uint8_t *v);
/* CHANNEL-NUMBER, RESPONSE-PORT: first two bytes. */
int stun_get_u16(const struct stun_msg *m, const struct stun_attr *a, uint16_t *v);

/* The reason phrase RFC 8489/8656 give an error code ("Bad Request"), or "Error". */
const char *stun_error_reason(int code);
/* Names for logs: "Binding", "XOR-MAPPED-ADDRESS"; "unknown" otherwise. */
const char *stun_method_name(uint16_t method);
const char *stun_attr_name(uint16_t type);
/* Message type from method and class, and back (RFC 8489 §5 bit layout). */
uint16_t stun_type(uint16_t method, uint8_t cls);
void stun_type_split(uint16_t type, uint16_t *method, uint8_t *cls);

#endif
