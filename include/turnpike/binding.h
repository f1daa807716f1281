/*
 * The STUN Binding service (RFC 8489 §6.3), sans-IO: received bytes and the
 * source address in, the response to send (or nothing) out.
 */
#ifndef TURNPIKE_BINDING_H
#define TURNPIKE_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * RFC 5780 NAT behaviour discovery: the UDP ports and listening addresses
 * that CHANGE-REQUEST moves between. An address's "other" is another IP of
 * its family from ips (the same IP when there is none) at the other port.
 */
struct binding_rfc5780 {
	uint16_t port;                      /* listening-port */
	uint16_t alt_port;                  /* alt-listening-port */
	const struct sockaddr_storage *ips; /* listening addresses, wildcards skipped */
	size_t nips;
};

/* Read-only settings shared by every worker. */
struct binding_config {
	const char *software; /* SOFTWARE attribute value, NULL to omit it */
	/* NULL: RFC 5780 off; CHANGE-REQUEST, RESPONSE-PORT and PADDING get 420. */
	const struct binding_rfc5780 *rfc5780;
};

/* Where a request came from and went to, and where its answer goes. */
struct binding_route {
	const struct sockaddr *client; /* the request's source */
	const struct sockaddr *local;  /* the server address it reached; NULL: unknown */
	bool udp;                      /* RFC 5780 is served over UDP only */
	/* Out: the answer leaves from here (CHANGE-REQUEST) to there (RESPONSE-PORT). */
	struct sockaddr_storage from;
	struct sockaddr_storage to;
	bool rerouted; /* from or to differ from local and client */
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

struct stun_msg;

/*
 * Answers a decoded request m (its FINGERPRINT checked already) as route
 * says it travelled, into out; fills route->from and route->to. With RFC 5780
 * on and a UDP request to one of its ports: RESPONSE-ORIGIN, OTHER-ADDRESS,
 * CHANGE-REQUEST (the answer leaves from another of our addresses, never goes
 * anywhere but the request's source IP), RESPONSE-PORT (the source IP at that
 * port) and PADDING (echoed at most as long as the request's, as room allows).
 * Returns enum binding_result.
 */
int binding_respond(const struct binding_config *cfg, const struct stun_msg *m,
    struct binding_route *route, uint8_t *out, size_t outcap, size_t *outlen);

#endif
