/*
 * Shared relay sockets of one worker (relay-sockets=shared): UDP allocations
 * hold a relay port but no socket. The sk_lookup program (sklookup.h) steers
 * datagrams to an allocated relay port into this worker's shared socket of
 * that relay address; each datagram's original destination (IP_ORIGDSTADDR)
 * names the port and so the allocation. Datagrams to peers leave through a
 * raw socket per family, with the relay address and port as their source (a
 * UDP socket sends only from its own bound port). Everything here belongs to
 * the worker's thread.
 */
#ifndef TURNPIKE_RELAYSHARED_H
#define TURNPIKE_RELAYSHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct portpool;
struct relayaddr;
struct relayshared;
struct sklookup;

struct relayshared_setup {
	int worker_id;
	struct event_base *base;
	struct sklookup *sklookup;
	const struct relayaddr *addrs; /* pool address i is addrs->v[i] */
	struct portpool *pool;         /* each shared socket holds one port of it */
	uint16_t min_port, max_port;
	/* A datagram from src to the allocation that registered handle. */
	void (*deliver)(void *arg, void *handle, const struct sockaddr *src, const uint8_t *data,
	    size_t len);
	void (*batch_end)(void *arg); /* after each batch read */
	void *arg;
};

struct relayshared_stats {
	uint64_t unclaimed; /* datagrams to a port with no allocation here (dropped) */
};

int relayshared_create(const struct relayshared_setup *setup, struct relayshared **rsp,
    char **cause);

/*
 * Takes port of pool address addr for handle: checks that no socket of this
 * host holds it (EADDRINUSE otherwise: try another port) and steers it here.
 * -1 with errno.
 */
int relayshared_claim(struct relayshared *rs, size_t addr, uint16_t port, void *handle);
/* Sets the handle datagrams to a claimed port are delivered with. */
void relayshared_claim_set(struct relayshared *rs, size_t addr, uint16_t port, void *handle);
/* Stops steering the port; its datagrams are no longer delivered. */
void relayshared_release(struct relayshared *rs, size_t addr, uint16_t port);

/*
 * Sends one datagram from relay address addr, port, to peer, with DF when df
 * is set; -1 with errno (EMSGSIZE past the route's MTU: it never fragments).
 */
int relayshared_send(struct relayshared *rs, size_t addr, uint16_t port,
    const struct sockaddr *peer, const void *data, size_t len, bool df);

void relayshared_stats(const struct relayshared *rs, struct relayshared_stats *st);

/* Whether this process may open the raw sockets shared relays send with (CAP_NET_RAW). */
int relayshared_check(int family, char **cause);

void relayshared_free(struct relayshared *rs);

#endif
