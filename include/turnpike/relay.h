/*
 * Relay sockets of one worker: the struct turn_io the TURN core calls to open,
 * close and send on relay sockets and to send to clients. A relay socket is a
 * UDP socket on a relay address and a port from the process-wide pool, read
 * in batches on the worker's event base; what it receives goes to the core.
 * Everything here belongs to the worker's thread but the pool and the
 * allocation counter, which are shared and touched only when relays open or
 * close. No heap allocation per packet.
 */
#ifndef TURNPIKE_RELAY_H
#define TURNPIKE_RELAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/creds.h"
#include "turnpike/tcprelay.h"
#include "turnpike/turn.h"

struct bufferevent;
struct event_base;
struct limits;
struct portpool;
struct proxymap;
struct relayaddr;
struct relay;

/* A worker's client-facing UDP socket, to send to UDP clients from the right address. */
struct relay_client_sock {
	int fd;
	struct sockaddr_storage addr; /* bound address and port; may be a wildcard */
};

/*
 * A TCP/TLS connection or a DTLS session as the core sees it (the conn of
 * turn.h): the worker embeds it in its connection and passes its address to
 * the core.
 */
struct relay_conn {
	struct bufferevent *bev;
	/* Without bev: sends one datagram to the client (DTLS); -1 when dropped. */
	int (*send)(struct relay_conn *c, const void *data, size_t len);
	unsigned int allocs; /* relays of allocations made over this connection */
};

struct relay_setup {
	int worker_id;
	struct event_base *base;
	struct portpool *pool;
	const struct creds *creds;     /* the server's credentials */
	const struct relayaddr *addrs; /* pool address i is addrs->v[i] */
	const struct relay_client_sock *udp;
	size_t nudp;
	/* The allocations the process can hold (capacity.h): 508 at it; 0 until known. */
	const atomic_size_t *capacity;
	atomic_size_t *allocations; /* process-wide count of allocations */
	size_t total_quota;         /* 0: none; otherwise 486 beyond it (without limits) */
	struct limits *limits;      /* shared quotas and max-bps; NULL: total_quota only */
	uint64_t bps_capacity;      /* this worker's bytes per second each way, 0: unlimited */
	/* UDP clients behind a PROXY v2 balancer: answers go to its flow; NULL: none */
	const struct proxymap *proxied;
	size_t conn_output_max;    /* data to a stream client is dropped past this */
	struct fastpath *fastpath; /* the kernel fast path (fastpath.h), NULL: none */
	struct statsdb *statsdb;   /* redis-statsdb (statsdb.h), NULL: none */
	/* relay-sockets=shared: UDP relays hold no socket (relayshared.h); NULL: one each */
	struct sklookup *sklookup;
	uint16_t min_port, max_port; /* the pool's range, for the shared sockets' table */
};

/* Counters, only ever increased but active. */
struct relay_stats {
	uint64_t opened;
	uint64_t active;
	uint64_t open_failures;       /* 440, 486 and 508 answered */
	uint64_t peer_in;             /* datagrams from peers */
	uint64_t peer_dropped;        /* too large for the buffer */
	uint64_t send_errors;         /* to peers: EAGAIN, unreachable, refused... */
	uint64_t client_dropped;      /* to clients: full socket or stream buffer */
	uint64_t bps_dropped_packets; /* over max-bps or bps-capacity, both directions */
	uint64_t bps_dropped_bytes;
	uint64_t bps_dropped_to_peer;   /* of those packets, client to peer */
	uint64_t bps_dropped_to_client; /* and peer to client */
	uint64_t send_calls;       /* sendmmsg/sendmsg calls for relayed UDP, both directions */
	uint64_t gso_messages;     /* of them, GSO messages carrying several datagrams */
	struct tcprelay_stats tcp; /* RFC 6062 peer connections */
	uint64_t fast_channels;    /* channels in the kernel fast path now (active) */
	uint64_t fast_packets;     /* packets it relayed, both directions */
	uint64_t shared_active;    /* of the active relays, those without a socket of their own */
	uint64_t shared_unclaimed; /* datagrams to a shared relay port no allocation holds */
};

int relay_create(const struct relay_setup *setup, struct relay **rlp, char **cause);
/* The core that receives peer data; set before any relay opens. */
void relay_set_turn(struct relay *rl, struct turn *t);
/* The struct turn_io to give turn_create. */
void relay_io(struct relay *rl, struct turn_io *io);
/*
 * The credentials to give turn_create: the server's, through a lookup that
 * remembers the user name of the message being handled for the relay's log
 * lines (names only: passwords and keys never pass here).
 */
void relay_creds(struct relay *rl, struct creds *out);
/* Reload, on the worker's thread: later lookups ask creds; total-quota changes. */
void relay_set_creds(struct relay *rl, const struct creds *creds, size_t total_quota);
/*
 * Around each message handed to the core: conn is the stream connection it
 * came on (NULL for UDP); relays the message opens count on that connection.
 */
void relay_begin(struct relay *rl, struct relay_conn *conn);
void relay_end(struct relay *rl);
/* A stream connection is going away: nothing may point to it afterwards. */
void relay_conn_gone(struct relay *rl, struct relay_conn *conn);
void relay_stats(const struct relay *rl, struct relay_stats *st);
/* Sends the relayed UDP datagrams queued since the last flush. */
void relay_flush(struct relay *rl);
/* The end of a loop pass: relay_flush, and how busy the pass was (RELAY_EAGER_READS). */
void relay_pass_end(struct relay *rl);
/*
 * Only the datagrams to peers: each goes out on its allocation's own socket,
 * so holding them to the end of the pass merges nothing across sockets (a
 * run from one client still becomes one GSO message) and only adds latency.
 */
void relay_flush_peers(struct relay *rl);
/*
 * RFC 6062: a CONNECTION-BIND succeeded on client (its answer queued): the
 * connection is handed over to c's peer connection (tcprelay.h).
 */
void relay_splice(struct relay *rl, struct tcpconn *c, struct bufferevent *client);
/*
 * About once a second: the kernel fast path's counts since the last call go
 * into the relay, core and session counters, and its channels follow the
 * core (refreshed, or removed when the channel, permission or allocation ended).
 */
void relay_fast_sync(struct relay *rl);
/* redis-statsdb: new and refreshed allocations, traffic every 5 s; once a second. */
void relay_report(struct relay *rl, const struct turn_now *now);
/* Closes what the core left open (call after turn_free) and frees rl. */
void relay_free(struct relay *rl);

/*
 * A non-blocking UDP socket bound to ip at port (IPv6 only for an IPv6
 * address), for a relay of its own or a shared one; -1 with errno kept.
 */
int relay_bind(const struct sockaddr_storage *ip, uint16_t port);

/* The time for the core: monotonic milliseconds and the wall clock. */
void relay_now(struct turn_now *now);

#endif
