/*
 * UDP clients behind a load balancer that prefixes each datagram with a PROXY
 * protocol v2 header: the client's address (from the header) is the one the
 * TURN core sees, and answers to it go back through the balancer's flow (the
 * datagram's real source). A bounded table per worker; idle entries expire.
 */
#ifndef TURNPIKE_PROXYMAP_H
#define TURNPIKE_PROXYMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct proxymap;

/* At most max clients; NULL without memory. */
struct proxymap *proxymap_create(size_t max);
void proxymap_free(struct proxymap *m);
/* Records that client is reached through via; -1 when the table is full. */
int proxymap_put(struct proxymap *m, const struct sockaddr *client, const struct sockaddr *via,
    uint64_t now_ms);
/* The balancer's address for client, or NULL when client came directly. */
const struct sockaddr *proxymap_get(const struct proxymap *m, const struct sockaddr *client);
/* Forgets clients not heard from for idle_ms. */
void proxymap_expire(struct proxymap *m, uint64_t now_ms, uint64_t idle_ms);
size_t proxymap_count(const struct proxymap *m);

#endif
