/*
 * STUN message encoding into a caller's buffer. Padding is zeroed and the header
 * length is kept current after every attribute, so integrity and fingerprint are
 * computed over exactly what is sent. Any overflow sticks: finish() then fails.
 */
#ifndef TURNPIKE_STUN_BUILD_H
#define TURNPIKE_STUN_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/buf.h"
#include "turnpike/stun.h"

struct stun_build {
	struct wbuf w;
	uint8_t tid[12];
};

/* Starts a message of this method and class; tid is 12 bytes. */
int stun_build_init(struct stun_build *b, void *buf, size_t cap, uint16_t method, uint8_t cls,
    const uint8_t *tid);
/* Any attribute: value copied and padded with zeros to a multiple of 4. */
int stun_build_attr(struct stun_build *b, uint16_t type, const void *val, size_t len);
/*
 * Copies attribute a of decoded message m as it is on the wire, its padding bytes
 * included (re-encoding byte for byte, e.g. RFC 5769's space padding).
 */
int stun_build_attr_copy(struct stun_build *b, const struct stun_msg *m, const struct stun_attr *a);
int stun_build_u32(struct stun_build *b, uint16_t type, uint32_t v);
/* One byte followed by three zero bytes (REQUESTED-TRANSPORT, ...-ADDRESS-FAMILY). */
int stun_build_u8(struct stun_build *b, uint16_t type, uint8_t v);
/* Two bytes followed by two zero bytes (CHANNEL-NUMBER, RESPONSE-PORT). */
int stun_build_u16(struct stun_build *b, uint16_t type, uint16_t v);
int stun_build_string(struct stun_build *b, uint16_t type, const char *s);
/* XOR-MAPPED/PEER/RELAYED-ADDRESS with the message's cookie and transaction ID. */
int stun_build_xor_addr(struct stun_build *b, uint16_t type, const struct sockaddr *sa);
/* MAPPED-ADDRESS style, not XORed. */
int stun_build_addr(struct stun_build *b, uint16_t type, const struct sockaddr *sa);
/* ERROR-CODE; reason NULL uses stun_error_reason(code). */
int stun_build_error(struct stun_build *b, int code, const char *reason);
/* UNKNOWN-ATTRIBUTES listing types. */
int stun_build_unknown(struct stun_build *b, const uint16_t *types, size_t n);
/* MESSAGE-INTEGRITY (HMAC-SHA1) over the message so far. */
int stun_build_integrity(struct stun_build *b, const uint8_t *key, size_t keylen);
/* MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, full 32 bytes). */
int stun_build_integrity_sha256(struct stun_build *b, const uint8_t *key, size_t keylen);
int stun_build_fingerprint(struct stun_build *b);
/* The finished message length, or -1 if anything overflowed. */
int stun_build_finish(struct stun_build *b, size_t *len);

#endif
