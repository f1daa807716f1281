/*
 * TCP relay connections of one worker (RFC 6062): the I/O behind struct
 * turn_io's tcp_connect and tcp_close. A peer connection is opened from the
 * relayed address (CONNECT) or accepted on it (CONNECTION-ATTEMPT); nothing is
 * read from it until a client data connection is bound, after which bytes
 * pass both ways untouched. When one side's output is full the other side is
 * not read, so memory per connection stays bounded. Worker thread only.
 */
#ifndef TURNPIKE_TCPRELAY_H
#define TURNPIKE_TCPRELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct bufferevent;
struct event_base;
struct tcpconn;
struct turn;
struct turn_allocation;
struct turn_relay;
struct tcprelay;

/* Counters, only ever increased but active. */
struct tcprelay_stats {
	uint64_t accepted;       /* inbound peer connections accepted by the kernel */
	uint64_t refused;        /* of them, closed at once: no permission, or out of memory */
	uint64_t connects;       /* outbound connections started */
	uint64_t connect_errors; /* of them, failed: refused, unreachable, no port */
	uint64_t active;         /* peer connections open */
	uint64_t paused;         /* reads stopped because the other side's output was full */
	uint64_t to_peer_bytes, to_client_bytes;
};

struct tcprelay *tcprelay_create(struct event_base *base, int worker_id);
/* Closes every connection left (without telling the core) and frees tr. */
void tcprelay_free(struct tcprelay *tr);
void tcprelay_set_turn(struct tcprelay *tr, struct turn *t);
void tcprelay_stats(const struct tcprelay *tr, struct tcprelay_stats *st);

/* A TCP socket bound to ip:port, shareable with outbound connections; -1 with errno. */
int tcprelay_bind(const struct sockaddr_storage *ip, uint16_t port, bool listening);
/* The listening socket lfd of relay (alloc's) is readable: accept and hand to the core. */
void tcprelay_accept(struct tcprelay *tr, int lfd, struct turn_allocation *alloc,
    const struct turn_relay *relay, uint64_t bps);
/* turn_io's tcp_connect from local (the relay's bound address); bps: max-bps, 0 none. */
int tcprelay_connect(struct tcprelay *tr, const struct sockaddr_storage *local,
    const struct sockaddr *peer, struct tcpconn *c, uint64_t bps);
/* turn_io's tcp_close. */
void tcprelay_close(struct tcprelay *tr, struct tcpconn *c);
/*
 * After a CONNECTION-BIND's answer was queued on client: the client data
 * connection is taken over (callbacks, timeouts, freeing) and joined to c.
 */
void tcprelay_splice(struct tcprelay *tr, struct tcpconn *c, struct bufferevent *client);

#endif
