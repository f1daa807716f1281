/*
 * The TURN protocol core (RFC 8656, RFC 6156), sans-IO. One struct turn per
 * worker thread owns that worker's allocations, permissions and channels. The
 * I/O layer hands it decoded messages, ChannelData and peer datagrams together
 * with the 5-tuple and the time; the core answers with bytes to send to the
 * client and calls back into the I/O layer (struct turn_io) to open, close and
 * send on relay sockets. No sockets, no clock, no logging, no locks here.
 */
#ifndef TURNPIKE_TURN_H
#define TURNPIKE_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/creds.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/stun.h"

/* Transport between client and server (RFC 8656 §2: the 5-tuple). */
enum turn_transport {
	TURN_UDP = 0,
	TURN_TCP = 1,
	TURN_TLS = 2,
	TURN_DTLS = 3, /* RFC 7350 */
};

/* TCP and TLS carry a byte stream (framing, padding: RFC 8656 §12.5); UDP and DTLS datagrams. */
static inline bool
turn_transport_is_stream(uint8_t transport)
{
	return transport == TURN_TCP || transport == TURN_TLS;
}

struct alternate_query;
struct alternate_set;
struct binding_rfc5780;
struct integrity_key;
struct tcpconn;

struct turn_5tuple {
	struct sockaddr_storage client; /* the client's address as the server sees it */
	struct sockaddr_storage server; /* the server address the client reached */
	uint8_t transport;              /* enum turn_transport */
};

/* Read-only settings shared by every worker's core; times in seconds. */
struct turn_config {
	const char *realm;            /* REALM for long-term credentials */
	const char *software;         /* SOFTWARE value, NULL to omit */
	bool auth;                    /* false only with no-auth: TURN without credentials */
	uint32_t default_lifetime;    /* 600 */
	uint32_t max_lifetime;        /* max-allocate-lifetime, 3600 */
	uint32_t permission_lifetime; /* 300 */
	uint32_t channel_lifetime;    /* 600 */
	uint32_t stale_nonce;         /* nonce lifetime, 600 */
	uint8_t nonce_key[32];        /* per process, or stateless-nonce-secret */
	size_t max_permissions;       /* per allocation, 0: no limit (508 beyond) */
	size_t max_channels;          /* per allocation, 0: no limit (508 beyond) */
	size_t txcache_entries;       /* retransmission cache size, 0: 8192 */
	bool sha256;                  /* offer PASSWORD-ALGORITHMS with SHA-256 (RFC 8489) */
	/* nonce_key set up once (integrity.h), or NULL: set up at each use. */
	const struct integrity_key *nonce_mac;
	/* NULL: the secure defaults of peerpolicy_create(). */
	const struct peerpolicy *policy;
	/* When set, asked instead of policy (the daemon swaps policies the store changes). */
	bool (*peer_check)(void *ctx, const struct sockaddr *peer, const char **reason);
	void *peer_ctx;
	bool tcp_relay;          /* RFC 6062 TCP allocations (false with no-tcp-relay: 442) */
	bool oauth;              /* RFC 7635 ACCESS-TOKEN accepted, offered in 401s */
	const char *server_name; /* THIRD-PARTY-AUTHORIZATION and the tokens' AAD; NULL: realm */
	uint32_t user_quota;     /* allocations per user in this core, 0: no limit (486) */
	uint32_t total_quota;    /* allocations in this core, 0: no limit (486) */
	bool challenge_reason;   /* a reason phrase in 401 and 438 (RFC 8489 §14.8: optional) */
	bool rfc5766_channels;   /* ChannelBind up to 0x7FFF as RFC 5766 allowed, not 0x4FFF */
	/*
	 * The failed-authentication throttle, or NULL. auth_allowed is asked before
	 * the credentials of a request naming user are checked (mine: the 5-tuple
	 * holds an allocation of that user); false: the request is dropped unchecked
	 * and unanswered. auth_failed is told of each 401 to a request with
	 * credentials. Both may be called from every worker thread.
	 */
	bool (*auth_allowed)(void *ctx, const struct sockaddr *client, const char *user,
	    size_t userlen, bool mine, uint64_t now_ms);
	void (*auth_failed)(void *ctx, const struct sockaddr *client, const char *user,
	    size_t userlen, uint64_t now_ms);
	void *auth_ctx;
	/* alternate-server, tls-alternate-server: Allocates answered 300 (RFC 8489 §10). */
	const struct alternate_set *alternates;
	/* Redirect Allocates without MESSAGE-INTEGRITY too, before any credential check. */
	bool alternate_preauth;
	/*
	 * fleet-redis: fills the fleet part of an authenticated Allocate's
	 * alternate_query (this node's load, the other live nodes); NULL: no
	 * fleet. Called from every worker thread; must not block.
	 */
	void (*fleet_view)(void *ctx, struct alternate_query *q);
	void *fleet_ctx;
	bool userhash; /* offer username anonymity and accept USERHASH (RFC 8489 §9.2.1) */
	const struct binding_rfc5780 *rfc5780; /* NULL: RFC 5780 off */
	/* check-origin-consistency: requests on an allocation made with ORIGIN repeat it (441). */
	bool check_origin;
	/* RFC 8016 mobility: MOBILITY-TICKET issued to UDP allocations asking; off: 405. */
	bool mobility;
};

/* Room for any response turn_handle_message builds. */
#define TURN_RESPONSE_MAX 2048

/* A relay socket as the I/O layer opened it. */
struct turn_relay {
	void *handle;                    /* the I/O layer's object, opaque here */
	struct sockaddr_storage local;   /* the address the socket is bound to */
	struct sockaddr_storage relayed; /* what XOR-RELAYED-ADDRESS advertises */
};

/* What the core asks of relay_open. */
struct turn_relay_req {
	int family;                       /* AF_INET or AF_INET6; AF_UNSPEC with a token */
	bool even_port;                   /* EVEN-PORT: the port must be even */
	bool reserve;                     /* EVEN-PORT R bit: also hold port+1, return a token */
	uint64_t token;                   /* RESERVATION-TOKEN to claim (0: none) */
	bool dont_fragment;               /* DONT-FRAGMENT: set DF on the socket */
	bool tcp;                         /* RFC 6062: a listening TCP socket, not UDP */
	const struct turn_5tuple *client; /* whose allocation (relay-ip choice, logs) */
	struct turn_allocation *alloc;    /* the allocation the socket will belong to */
};

/*
 * The I/O layer's side; the core never blocks on these calls.
 * relay_open binds a relay socket as req asks and fills *out (and *token_out
 * when req->reserve). It returns 0 or the STUN error code to answer: 440 when
 * no relay address of that family exists, 508 when no port or descriptor is
 * left or a reservation token is unknown or expired. out lives in the
 * allocation and stays valid until relay_close(ctx, out): keep that pointer
 * and pass it back as turn_handle_peer_data's relay. client_send's conn is the
 * conn given with the Allocate request.
 */
struct turn_io {
	void *ctx;
	int (*relay_open)(void *ctx, const struct turn_relay_req *req, struct turn_relay *out,
	    uint64_t *token_out);
	void (*relay_close)(void *ctx, struct turn_relay *r);
	/* Sends one datagram from relay r to peer; -1 on error (counted, never fatal). */
	int (*relay_send)(void *ctx, const struct turn_relay *r, const struct sockaddr *peer,
	    const void *data, size_t len);
	/* Sends bytes to the client of an allocation (Data indication / ChannelData). */
	int (*client_send)(void *ctx, void *conn, const struct turn_5tuple *t, const void *data,
	    size_t len);
	/*
	 * RFC 6062 §5.2: starts a TCP connection from TCP relay r to peer for c
	 * (setting c->handle); the outcome comes back later, never from inside
	 * this call, as turn_handle_tcp_connected. -1: failed at once (447).
	 */
	int (*tcp_connect)(void *ctx, const struct turn_relay *r, const struct sockaddr *peer,
	    struct tcpconn *c);
	/* Closes c's peer connection and the client data connection bound to it. */
	void (*tcp_close)(void *ctx, struct tcpconn *c);
	/*
	 * Optional (NULL: none). A ChannelBind of alloc succeeded or refreshed
	 * (RFC 8656 §11.2), after the peer policy, before the answer goes out:
	 * until until_ms, channel number relays between peer and relay r (the
	 * first of the channel's, the permission's and the allocation's ends;
	 * turn_channel_until tells it again later). For the kernel fast path.
	 */
	void (*channel_bound)(void *ctx, const struct turn_relay *r, struct turn_allocation *alloc,
	    uint16_t number, const struct sockaddr *peer, uint64_t until_ms);
	/*
	 * Optional. RFC 8016: alloc moved to a new 5-tuple (alloc->tuple), its
	 * relays kept; what the I/O layer keyed by the old client address (the
	 * fast path's channels) is dropped here, and channel_bound follows for
	 * each live channel.
	 */
	void (*moved)(void *ctx, struct turn_allocation *alloc);
};

/* Counters of one worker's core, only ever increased. */
struct turn_stats {
	uint64_t allocations_created;
	uint64_t allocations_active;
	uint64_t auth_failures;       /* 401 answers to requests carrying credentials */
	uint64_t auth_failures_400;   /* credentials incomplete, or a bid-down (RFC 8489 §9.2) */
	uint64_t auth_failures_438;   /* stale or foreign nonce */
	uint64_t auth_failures_441;   /* another user's allocation (RFC 8656 §5) */
	uint64_t auth_throttled;      /* requests dropped unchecked by auth_allowed */
	uint64_t binding_requests;    /* Binding requests the core judged */
	uint64_t binding_responses;   /* success responses to them */
	uint64_t binding_errors;      /* error responses to them */
	uint64_t peer_refused;        /* 403s and drops by the peer policy */
	uint64_t no_permission_drops; /* data without a valid permission or channel */
	uint64_t data_drops;          /* other data dropped: no allocation, malformed, too big */
	uint64_t relay_send_errors;
	uint64_t redirects; /* Allocates answered 300 Try Alternate */
	uint64_t client_to_peer_packets, client_to_peer_bytes;
	uint64_t peer_to_client_packets, peer_to_client_bytes;
	/* RFC 6062 TCP relays. */
	uint64_t tcp_allocations;      /* TCP allocations created */
	uint64_t tcp_connects;         /* CONNECT requests that sent a SYN */
	uint64_t tcp_connect_failures; /* 447: refused, unreachable or timed out */
	uint64_t tcp_attempts;         /* CONNECTION-ATTEMPT indications sent */
	uint64_t tcp_peer_refused;     /* inbound peer connections without a permission */
	uint64_t tcp_binds;            /* CONNECTION-BIND successes */
	uint64_t tcp_bind_failures;    /* CONNECTION-BIND errors (400, 441) */
	uint64_t tcp_bind_timeouts;    /* connections closed unbound after 30 s */
	uint64_t tcp_conns_active;     /* peer connections, in any state */
	/* RFC 8016 mobility. */
	uint64_t mobility_tickets; /* MOBILITY-TICKETs issued */
	uint64_t mobility_moves;   /* allocations moved to a new 5-tuple */
	uint64_t mobility_refused; /* tickets refused: forged, expired, replayed, another user's */
};

/* The time, passed in: monotonic for lifetimes, wall clock for nonces and REST expiry. */
struct turn_now {
	uint64_t mono_ms;
	uint64_t unix_s;
};

struct turn;
struct turn_allocation;
struct allocation_permission;

struct turn *turn_create(const struct turn_config *cfg, const struct creds *creds,
    const struct turn_io *io);
/* Closes every allocation's relays through io and frees everything. */
void turn_free(struct turn *t);
/*
 * Reload: later requests read cfg (which must outlive its use); allocations,
 * permissions and channels already made keep their lifetimes. -1 (and the old
 * settings stay) when the default peer policy cannot be created.
 */
int turn_set_config(struct turn *t, const struct turn_config *cfg);
/*
 * Drain: Allocate is redirected to an alternate server (300) when one is
 * configured for its transport, else answered 508 (RFC 8656 §7.2, cannot
 * allocate now); the rest works.
 */
void turn_set_draining(struct turn *t, bool draining);

/* What turn_handle_message answered, so the I/O layer need not decode it again. */
struct turn_reply {
	bool unauthenticated; /* the answer is a 401 (RFC 8489 §9.2.4), a challenge or not */
	bool auth_failed;     /* a 401 to a request with credentials: stats' auth_failures */
	bool authenticated;   /* the request's credentials were good (or no-auth) */
	bool throttled;       /* dropped unanswered by auth_allowed */
	/*
	 * RFC 5780 (UDP Binding): the answer leaves from our address from and goes
	 * to to (the client's IP, perhaps another port) instead of the 5-tuple's.
	 */
	bool rerouted;
	struct sockaddr_storage from, to;
	/*
	 * RFC 6062 §5.4: a CONNECTION-BIND succeeded. Once the answer is written,
	 * the connection carries raw bytes to and from bound->handle.
	 */
	struct tcpconn *bound;
	/* RFC 8016: the request moved an allocation here from moved_from. */
	bool moved;
	struct turn_5tuple moved_from;
};

/*
 * A STUN message from the client at tuple t (conn is the I/O layer's connection
 * object, NULL for UDP). Binding requests are answered too. Writes the response
 * to out (cap TURN_RESPONSE_MAX is always enough), sets *outlen (0: nothing
 * to send) and fills *reply. Returns -1 only when the message should end a
 * stream connection (never for UDP). The message was decoded by
 * stun_decode; the core checks its integrity with the client's credentials.
 */
int turn_handle_message(struct turn *t, const struct turn_5tuple *tuple, void *conn,
    const struct stun_msg *m, const struct turn_now *now, uint8_t *out, size_t cap, size_t *outlen,
    struct turn_reply *reply);

/*
 * A ChannelData message from the client: relayed to the bound peer or dropped
 * (0). -1 when tuple has no allocation here: nothing is done or counted, and
 * the caller hands it to whoever serves tuple or drops it with
 * turn_drop_unowned().
 */
int turn_handle_chandata(struct turn *t, const struct turn_5tuple *tuple, uint16_t channel,
    const uint8_t *data, size_t len, const struct turn_now *now);

/* Counts a ChannelData message dropped for want of an allocation. */
void turn_drop_unowned(struct turn *t);

/*
 * A datagram from peer arriving on one of alloc's relay sockets (the relay
 * whose handle the I/O layer keeps). Forwarded to the client as ChannelData
 * or a Data indication through io->client_send when a permission allows it.
 */
void turn_handle_peer_data(struct turn *t, struct turn_allocation *alloc,
    const struct turn_relay *relay, const struct sockaddr *peer, const uint8_t *data, size_t len,
    const struct turn_now *now);

/*
 * RFC 6062. CONNECTION-IDs end in this core's tag (the worker's index), so
 * that a CONNECTION-BIND arriving at another worker finds its owner.
 */
void turn_set_tag(struct turn *t, uint8_t tag);
/* The tag of a CONNECTION-BIND request's CONNECTION-ID; -1 when m is not one. */
int turn_connection_tag(const struct stun_msg *m, uint8_t *tag);
/*
 * RFC 8016: the tag (worker index) in the MOBILITY-TICKET of a Refresh
 * request, when the ticket opens with this process's key; -1 when m is not
 * such a request. The I/O layer hands the request to the worker it names.
 */
int turn_mobility_tag(const struct turn *t, const struct stun_msg *m, uint8_t *tag);
/* True when the 5-tuple holds a live allocation here. */
bool turn_has_allocation(struct turn *t, const struct turn_5tuple *tuple, uint64_t now_ms);
/* A CONNECT's TCP connection is up (ok) or failed: the deferred answer goes out. */
void turn_handle_tcp_connected(struct turn *t, struct tcpconn *c, bool ok,
    const struct turn_now *now);
/*
 * A peer connected to the TCP relay of alloc (RFC 6062 §5.3): with a
 * permission, a CONNECTION-ATTEMPT goes to the client and the connection is
 * returned (handle stored in it); NULL: refuse (the I/O layer closes it).
 */
struct tcpconn *turn_handle_peer_connect(struct turn *t, struct turn_allocation *alloc,
    const struct turn_relay *relay, const struct sockaddr *peer, void *handle,
    const struct turn_now *now);
/* The I/O layer closed c (either side ended): the core forgets it. */
void turn_handle_tcp_closed(struct turn *t, struct tcpconn *c);
/* Packets and bytes relayed outside the core (the kernel fast path). */
struct turn_counts {
	uint64_t to_peer_packets, to_peer_bytes;
	uint64_t to_client_packets, to_client_bytes;
};
/* Adds n to the core's and alloc's counters (turn_stats, the session end). */
void turn_count_relayed(struct turn *t, struct turn_allocation *alloc, const struct turn_counts *n);
/*
 * Until when (monotonic ms) channel number of alloc relays to peer with no
 * further check: the first of the channel's, its permission's and the
 * allocation's ends; 0 when it does not (gone, rebound, or a permission whose
 * port the policy checks per packet).
 */
uint64_t turn_channel_until(struct turn_allocation *alloc, uint16_t number,
    const struct sockaddr *peer, uint64_t now_ms);
/* Bytes relayed on c's bound connection, for the counters. */
void turn_tcp_count(struct turn *t, struct tcpconn *c, bool to_peer, size_t len);

/* A stream client went away: its allocation (if any) is deleted. */
void turn_handle_disconnect(struct turn *t, const struct turn_5tuple *tuple);

/* Expires allocations, permissions and channels; call about once a second. */
void turn_expire(struct turn *t, const struct turn_now *now);

void turn_stats(const struct turn *t, struct turn_stats *out);

/* A read-only copy of one allocation, for the control socket. */
struct turn_session {
	uint64_t id;       /* unique in this core */
	const char *user;  /* "" without auth; valid during the callback only */
	const char *realm; /* the realm its credentials verified in; idem */
	struct turn_5tuple tuple;
	struct sockaddr_storage relayed; /* the first relay's advertised address */
	uint64_t age_s;
	uint64_t remaining_s;
	uint64_t to_peer_packets, to_peer_bytes;
	uint64_t to_client_packets, to_client_bytes;
	size_t peers; /* permissions installed */
	/* Their peer addresses (port 0, see allocation.h); valid during the callback only. */
	const struct allocation_permission *perms;
};

/*
 * fn (NULL: none) is called with the final counters of every allocation as it
 * is deleted, whatever the reason (age_s, remaining_s and relayed are 0).
 */
void turn_set_session_end(struct turn *t, void (*fn)(void *arg, const struct turn_session *s),
    void *arg);
/* Calls fn with a snapshot of each live allocation. */
void turn_foreach_session(struct turn *t, const struct turn_now *now,
    void (*fn)(void *arg, const struct turn_session *s), void *arg);
/*
 * Deletes the allocation with id (when id != 0) or every allocation of user
 * (when user != NULL), closing its relays; returns how many. A Refresh from
 * its client then gets 437 (RFC 8656 §7.3).
 */
size_t turn_kill(struct turn *t, uint64_t id, const char *user);

#endif
