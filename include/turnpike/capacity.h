/*
 * How many allocations the process can hold: each UDP relay is a descriptor
 * and a port, so the smaller of the free descriptors (less a reserve for
 * control, metrics and stream clients) and the relay ports bounds it; with
 * shared relay sockets (relayshared.h) only the ports do. TCP and
 * TLS clients may hold half of those free descriptors, so that a crowd of
 * them always leaves the other half to relays and UDP clients.
 */
#ifndef TURNPIKE_CAPACITY_H
#define TURNPIKE_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Descriptors kept back for control and metrics connections, logs and stream clients. */
#define CAPACITY_FD_SPARE 64

struct capacity {
	uint64_t nofile;      /* RLIMIT_NOFILE soft limit */
	uint64_t fds_open;    /* descriptors open once started */
	uint64_t ports;       /* relay ports over every relay address */
	bool shared;          /* relay-sockets=shared: relays hold no descriptor */
	uint64_t by_fds;      /* nofile - fds_open - CAPACITY_FD_SPARE, at least 0 */
	uint64_t allocations; /* min(by_fds, ports) */
	uint64_t streams;     /* TCP and TLS connections: by_fds / 2, at least 1 */
};

/* Fills c->by_fds, c->allocations and c->streams from the other four fields. */
void capacity_compute(struct capacity *c);
/* Descriptors open in this process, counted below limit (the soft RLIMIT_NOFILE). */
uint64_t capacity_open_fds(uint64_t limit);

#endif
