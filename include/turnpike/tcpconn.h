/*
 * TCP relay connections (RFC 6062 §2): one per peer TCP connection of a TCP
 * allocation, from CONNECT or from a peer connecting to the relayed address,
 * until the client binds a data connection to it. A table keyed by
 * CONNECTION-ID plus a list per allocation. Pure data, like allocation.h: the
 * TURN core decides, the I/O layer owns the sockets behind handle.
 */
#ifndef TURNPIKE_TCPCONN_H
#define TURNPIKE_TCPCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/integrity.h"
#include "turnpike/stun.h"

struct turn_allocation;

enum tcpconn_state {
	TCPCONN_CONNECTING = 0, /* CONNECT sent a SYN; the answer waits for the outcome */
	TCPCONN_PENDING = 1,    /* established, waiting for CONNECTION-BIND (30 s) */
	TCPCONN_BOUND = 2,      /* a client data connection carries its bytes */
};

/* What the deferred answer to a CONNECT needs (RFC 6062 §5.2). */
struct tcpconn_answer {
	uint8_t tid[STUN_TID_LEN];
	uint8_t key[INTEGRITY_MAX_KEY_LEN];
	size_t keylen;
	bool mac_sha256;
	bool fingerprint;
};

struct tcpconn {
	struct tcpconn *next;       /* hash chain */
	struct tcpconn *next_alloc; /* the allocation's list */
	uint32_t id;                /* CONNECTION-ID: random, low byte the owner (see turn.h) */
	uint8_t state;              /* enum tcpconn_state */
	struct turn_allocation *alloc;
	struct sockaddr_storage peer; /* IP and port */
	uint64_t deadline_ms;         /* CONNECTING and PENDING end here */
	void *handle;                 /* the I/O layer's connection */
	struct tcpconn_answer answer; /* CONNECTING only */
};

struct tcpconn_table;

struct tcpconn_table *tcpconn_table_create(void);
/* Frees the table and the connections left in it (their handles must be closed). */
void tcpconn_table_free(struct tcpconn_table *tab);
size_t tcpconn_table_count(const struct tcpconn_table *tab);

/*
 * A new connection of a to peer, linked into a's list, with an id whose low
 * byte is tag and whose other 24 bits come from the CSPRNG (unique in tab).
 * NULL when out of memory or randomness.
 */
struct tcpconn *tcpconn_add(struct tcpconn_table *tab, struct turn_allocation *a,
    struct tcpconn **list, const struct sockaddr *peer, uint8_t tag);
struct tcpconn *tcpconn_find(const struct tcpconn_table *tab, uint32_t id);
/* a's connection with exactly this peer address (IP and port), or NULL. */
struct tcpconn *tcpconn_find_peer(struct tcpconn *list, const struct sockaddr *peer);
/* Unlinks c from the table and from *list, and frees it. */
void tcpconn_remove(struct tcpconn_table *tab, struct tcpconn **list, struct tcpconn *c);

#endif
