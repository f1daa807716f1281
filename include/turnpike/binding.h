/*
 * The STUN Binding service (RFC 8489 §6.3), sans-IO: received bytes and the
 * source address in, the response to send (or nothing) out.
 */
#ifndef TURNPIKE_BINDING_H
#define TURNPIKE_BINDING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Read-only settings shared by every worker. */
struct binding_config {
	const char *software; /* SOFTWARE attribute value, NULL to omit it */
};

enum binding_result {
	BINDING_NOT_STUN = -1, /* not STUN: drop silently (UDP) or disconnect (stream) */
	BINDING_IGNORE = 0,    /* STUN but nothing to answer (indication, response) */
	BINDING_REPLY = 1,     /* out[0..*outlen) is the response to send */
};

/*
 * Judges one message from src and builds the answer into out (outcap bytes;
 * 1024 is always enough). Returns enum binding_result.
 */
int binding_process(const struct binding_config *cfg, const uint8_t *in, size_t inlen,
    const struct sockaddr *src, uint8_t *out, size_t outcap, size_t *outlen);

#endif
