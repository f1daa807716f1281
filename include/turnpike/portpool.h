/*
 * The relay port pool: which UDP ports of each relay address are in use by
 * this process, and the ports held for EVEN-PORT reservations (RFC 8656 §7.2,
 * RESERVATION-TOKEN). Process-wide because a reservation made on one worker
 * may be claimed from another; one mutex guards it, taken only when a relay
 * is opened or closed and once a second for expiry, never per packet.
 */
#ifndef TURNPIKE_PORTPOOL_H
#define TURNPIKE_PORTPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long a reserved port waits for its token (RFC 8656 §7.2: about 30 s). */
#define PORTPOOL_RESERVE_MS 30000

struct portpool;

/* Ports min..max on each of naddrs relay addresses (indexes 0..naddrs-1). */
struct portpool *portpool_create(uint16_t min, uint16_t max, size_t naddrs);
/* Closes the descriptors still held by reservations. */
void portpool_free(struct portpool *pp);

/*
 * Takes a random free port of address addr: even when even is set, and with
 * pair also port+1 (both marked used). Random picks from the CSPRNG first,
 * then a scan from a random point; -1 when no such port is free.
 */
int portpool_get(struct portpool *pp, size_t addr, bool even, bool pair, uint16_t *port);
/* Gives a port back. */
void portpool_put(struct portpool *pp, size_t addr, uint16_t port);

/*
 * Holds port (already taken) of addr for a RESERVATION-TOKEN until now_ms +
 * PORTPOOL_RESERVE_MS; fd is the socket bound to it, closed if it expires.
 * Sets *token (random, never 0); -1 when out of memory.
 */
int portpool_reserve(struct portpool *pp, size_t addr, uint16_t port, int fd, uint64_t now_ms,
    uint64_t *token);
/* Claims a live reservation: its address, port and socket now belong to the caller. */
int portpool_claim(struct portpool *pp, uint64_t token, uint64_t now_ms, size_t *addr,
    uint16_t *port, int *fd);
/* Ends the reservations past their time: closes their sockets, frees their ports. */
void portpool_expire(struct portpool *pp, uint64_t now_ms);

/* Ports in use on addr, reservations included (for tests and stats). */
size_t portpool_used(struct portpool *pp, size_t addr);

#endif
