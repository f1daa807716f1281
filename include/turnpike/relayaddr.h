/*
 * Relay addresses: the local addresses relay sockets may bind to, what each
 * advertises in XOR-RELAYED-ADDRESS (external-ip), and which one a client gets.
 * Built once at startup from relay-ip, or else from the listening addresses
 * and, for a wildcard listener, the interface addresses; read-only afterwards.
 */
#ifndef TURNPIKE_RELAYADDR_H
#define TURNPIKE_RELAYADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct config;

struct relayaddr_entry {
	struct sockaddr_storage local;      /* port 0 */
	struct sockaddr_storage advertised; /* external-ip mapping, else local */
	bool loopback;
};

struct relayaddr {
	struct relayaddr_entry *v;
	size_t n;
	bool fixed; /* from relay-ip: offered to every client */
};

/* From the configuration (and getifaddrs for wildcard listeners); -1 with *cause. */
int relayaddr_create(const struct config *cfg, struct relayaddr **rap, char **cause);
void relayaddr_free(struct relayaddr *ra);
/* Adds one local address (kept once; IPv6 link-local ones are skipped). */
int relayaddr_add(struct relayaddr *ra, const struct sockaddr *sa);
/* Applies external-ip pairs: public for relays on private, bare public for the rest. */
void relayaddr_map(struct relayaddr *ra, const struct sockaddr *public_ip,
    const struct sockaddr *private_ip);

/*
 * The entries a client who reached the server at reached may get for a relay
 * of family, best first, into out (at most cap indexes): the reached address
 * itself, then the others in an order that starts at start (spreading load).
 * Without relay-ip, a client that did not come over loopback never gets a
 * loopback relay. Returns the count, 0 when none fits (440).
 */
size_t relayaddr_order(const struct relayaddr *ra, int family, const struct sockaddr *reached,
    size_t start, size_t *out, size_t cap);

#endif
