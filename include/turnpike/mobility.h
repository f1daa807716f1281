/*
 * RFC 8016 MOBILITY-TICKET: a sealed ticket naming one allocation, so that a
 * Refresh carrying it from a new 5-tuple can move that allocation there.
 *
 * The wire form is 32 base64url characters (24 bytes): coturn's clients keep
 * a ticket as a C string of at most 32 characters and send it back with
 * strlen(), so it must be that short and hold no NUL. The 24 bytes are an
 * AES-256-GCM seal: a 12-byte IV made of what names the allocation (the
 * core's tag, the allocation id, the ticket's sequence number, a random
 * instance number of the core: unique per ticket, so an IV never repeats
 * under a key), 4 bytes of ciphertext (the ticket's expiry) and a 64-bit tag.
 * GCM authenticates the IV, so no field can be changed without the key.
 */
#ifndef TURNPIKE_MOBILITY_H
#define TURNPIKE_MOBILITY_H

#include <stddef.h>
#include <stdint.h>

#define MOBILITY_TICKET_LEN 32          /* characters on the wire */
#define MOBILITY_SEQ_MAX 0xffffffu      /* 24 bits: no ticket is issued beyond */
#define MOBILITY_ID_MAX 0xffffffffffull /* 40 bits of allocation id */

struct mobility_key {
	uint8_t key[32];     /* AES-256-GCM */
	uint8_t instance[3]; /* random per key_init: part of every IV sealed with it */
};

/* What a ticket says. */
struct mobility_ticket {
	uint8_t tag;           /* the core (worker) that owns the allocation */
	uint64_t id;           /* the allocation's id in that core (40 bits) */
	uint32_t seq;          /* which of the allocation's tickets (24 bits, from 1) */
	uint32_t expires_unix; /* wall-clock seconds */
};

/*
 * Derives the ticket key from secret (the nonce key: per process, or
 * stateless-nonce-secret so that a fleet sharing it opens each other's
 * tickets) and draws a random instance number. -1 when the CSPRNG or HMAC fails.
 */
int mobility_key_init(struct mobility_key *k, const uint8_t *secret, size_t secretlen);

/* Seals tk into out (not NUL-terminated); -1 when a field is out of range or the cipher fails. */
int mobility_seal(const struct mobility_key *k, const struct mobility_ticket *tk,
    char out[MOBILITY_TICKET_LEN]);

/*
 * Opens the len bytes of a MOBILITY-TICKET value into *tk. -1 with *errstr
 * for a wrong length, a character outside base64url, or a seal this key did
 * not make (forged or altered). Expiry is the caller's to judge.
 */
int mobility_open(const struct mobility_key *k, const uint8_t *in, size_t len,
    struct mobility_ticket *tk, const char **errstr);

#endif
