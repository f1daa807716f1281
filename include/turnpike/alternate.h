/*
 * ALTERNATE-SERVER redirection (RFC 8489 §10, §14.15, §14.16; coturn's
 * alternate-server and tls-alternate-server): the configured targets and the
 * one function that chooses where an Allocate goes instead. Sans-IO.
 */
#ifndef TURNPIKE_ALTERNATE_H
#define TURNPIKE_ALTERNATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/stun.h"

/* Which list serves a request: coturn keeps one for UDP and TCP, one for TLS and DTLS. */
enum alternate_class {
	ALTERNATE_PLAIN = 0,
	ALTERNATE_TLS = 1,
};

/* One place to send a client: ALTERNATE-SERVER, and ALTERNATE-DOMAIN when domain[0]. */
struct alternate_target {
	struct sockaddr_storage addr;
	char domain[STUN_DOMAIN_MAX];
};

/* The targets of both classes, in configuration order; read-only once built. */
struct alternate_set;

struct alternate_set *alternate_set_create(void);
void alternate_set_free(struct alternate_set *s);
/*
 * Adds "IP[:PORT][/DOMAIN]" ("[v6]:PORT/DOMAIN" for IPv6); the port defaults
 * to 3478 (5349 for ALTERNATE_TLS). An entry given twice is chosen twice as
 * often (coturn's weights). -1 with *cause on bad text or out of memory.
 */
int alternate_set_add(struct alternate_set *s, enum alternate_class cls, const char *spec,
    char **cause);
size_t alternate_set_count(const struct alternate_set *s, enum alternate_class cls);

/* Another live node of the fleet (fleet-redis) as its heartbeat tells. */
struct alternate_node {
	struct sockaddr_storage addr; /* with the port for UDP and TCP */
	uint16_t tls_port;            /* for TLS and DTLS; 0: none */
	uint64_t allocations;
	uint64_t capacity;
	bool draining;
};

#define ALTERNATE_FLEET_MAX 32

/* What the choice may look at. */
struct alternate_query {
	uint8_t transport; /* enum turn_transport of the request */
	int family;        /* AF_INET or AF_INET6: the server address the client reached */
	bool draining;     /* this server takes no new allocation */
	/* The fleet (turn_config.fleet_view fills these); redirect_at 0: no fleet. */
	uint32_t redirect_at; /* fleet-redirect-at, per mille of the capacity */
	uint64_t allocations; /* this node's */
	uint64_t capacity;
	size_t nfleet;
	struct alternate_node fleet[ALTERNATE_FLEET_MAX];
};

/*
 * The one place that decides whether an Allocate is redirected, and where.
 * First the fleet: a node at or above redirect_at of its capacity, or
 * draining, sends the client to the least-loaded other live node of the
 * client's address family that is neither draining nor over the bar itself.
 * Then the configured targets: whenever the request's class has a target of
 * the client's address family (RFC 8489 §14.15: the same family as the
 * request), round-robin over the entries; *cursor is the caller's round-robin
 * state (one per core, so no lock). True with *out filled to redirect; false
 * to serve here.
 */
/* Whether the fleet part of q asks for a node elsewhere (draining or over redirect_at). */
bool alternate_fleet_wanted(const struct alternate_query *q);
bool alternate_choose(const struct alternate_set *s, const struct alternate_query *q,
    uint32_t *cursor, struct alternate_target *out);

#endif
