/*
 * Allocations (RFC 8656 §2.2, §6): one per client 5-tuple, with its relays,
 * permissions (per peer IP, §9) and channel bindings (§12). A hash table keyed
 * by 5-tuple, plus allocation counts per user for quotas. Pure data: opening and
 * closing relay sockets is the caller's job. Times are monotonic milliseconds; an
 * entry is valid while now < expires_ms.
 */
#ifndef TURNPIKE_ALLOCATION_H
#define TURNPIKE_ALLOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/auth_session.h"
#include "turnpike/mobility.h"
#include "turnpike/stun.h"
#include "turnpike/turn.h"

/* IPv4 and IPv6 (RFC 8656 §7.2 ADDITIONAL-ADDRESS-FAMILY). */
#define ALLOCATION_MAX_RELAYS 2

/* allocation_bind_check results. */
enum allocation_bind_result {
	ALLOCATION_BIND_OK = 0,
	ALLOCATION_BIND_FULL = -1,     /* max_channels reached: 508 */
	ALLOCATION_BIND_CONFLICT = -2, /* number or peer bound elsewhere: 400 */
};

struct allocation_permission {
	struct sockaddr_storage peer; /* port ignored */
	uint64_t expires_ms;
	bool check_port; /* a server's own IP: the policy is asked per packet for the port */
};

struct allocation_channel {
	uint16_t number;
	struct sockaddr_storage peer; /* IP and port */
	uint64_t expires_ms;
};

/* The struct turn.h names opaquely; its fields belong to the TURN core. */
struct turn_allocation {
	struct turn_allocation *next; /* hash chain */
	struct turn_5tuple tuple;
	void *conn;                /* the I/O layer's connection (streams) */
	uint8_t tid[STUN_TID_LEN]; /* of the Allocate that created it */
	char *user;                /* who authenticated it ("" without auth) */
	size_t userlen;
	char *realm; /* the realm its credentials verified in (NULL until set) */
	size_t realmlen;
	char *origin; /* the ORIGIN of its Allocate, NULL without one */
	size_t originlen;
	bool oauth; /* made with an RFC 7635 token: any valid token may refresh it */
	struct auth_session session; /* with oauth: the last token's mac_key and end */
	/* Slots never move: the I/O layer keeps pointers to them (turn_handle_peer_data). */
	struct turn_relay relays[ALLOCATION_MAX_RELAYS];
	bool live[ALLOCATION_MAX_RELAYS];
	size_t nrelays; /* live slots */
	uint64_t expires_ms;
	uint64_t id;                                 /* per core, from 1, never reused */
	uint64_t created_ms;                         /* monotonic */
	uint64_t to_peer_packets, to_peer_bytes;     /* client to peers */
	uint64_t to_client_packets, to_client_bytes; /* peers to client */
	uint64_t token;                              /* RESERVATION-TOKEN answered, 0 for none */
	int addr_error; /* ADDRESS-ERROR-CODE (IPv6) answered, 0 for none */
	bool tcp;       /* RFC 6062: its relay is TCP */
	/* RFC 8016: the sequence number of its latest MOBILITY-TICKET, 0: none issued. */
	uint32_t mobility_seq;
	char mobility_ticket[MOBILITY_TICKET_LEN]; /* that ticket, sent again on retransmission */
	struct tcpconn *tcpconns;                  /* its TCP relay connections (tcpconn.h) */
	struct allocation_permission *perms;
	size_t nperms, capperms;
	struct allocation_channel *chans;
	size_t nchans, capchans;
};

struct allocation_table;

struct allocation_table *allocation_table_create(uint32_t seed);
/* Frees the table and every allocation left in it (their relays must be closed). */
void allocation_table_free(struct allocation_table *tab);
/* Calls fn for each allocation; fn may remove the allocation it is given. */
void allocation_table_walk(struct allocation_table *tab,
    void (*fn)(void *arg, struct turn_allocation *a), void *arg);
size_t allocation_table_count(const struct allocation_table *tab);
/* Allocations of user in this table. */
size_t allocation_table_user_count(const struct allocation_table *tab, const char *user,
    size_t userlen);

struct turn_allocation *allocation_find(const struct allocation_table *tab,
    const struct turn_5tuple *t);
/* A new allocation of user at t, already in the table; NULL when out of memory. */
struct turn_allocation *allocation_add(struct allocation_table *tab, const struct turn_5tuple *t,
    const char *user, size_t userlen);
/* The allocation with that id (a walk: for the rare RFC 8016 move), or NULL. */
struct turn_allocation *allocation_find_id(const struct allocation_table *tab, uint64_t id);
/* RFC 8016: a's 5-tuple becomes t (which holds no allocation); permissions and channels stay. */
void allocation_move(struct allocation_table *tab, struct turn_allocation *a,
    const struct turn_5tuple *t);
/* Unlinks and frees a (its relays must be closed). */
void allocation_remove(struct allocation_table *tab, struct turn_allocation *a);
bool allocation_is_user(const struct turn_allocation *a, const char *user, size_t userlen);
/* Records a's realm and ORIGIN (origin NULL: none); -1 when out of memory. */
int allocation_set_realm(struct turn_allocation *a, const char *realm, size_t realmlen,
    const char *origin, size_t originlen);
/* True when a was made in realm (an unset realm is ""). */
bool allocation_is_realm(const struct turn_allocation *a, const char *realm, size_t realmlen);

/* A free relay slot to open into, or NULL; allocation_keep_relay marks it live. */
struct turn_relay *allocation_free_relay(struct turn_allocation *a);
void allocation_keep_relay(struct turn_allocation *a, struct turn_relay *r);
/* The live relay of that family, or NULL. */
struct turn_relay *allocation_relay(struct turn_allocation *a, int family);
/* True when r is one of a's live relays. */
bool allocation_has_relay(const struct turn_allocation *a, const struct turn_relay *r);
/* Forgets relay r (after the caller closed it). */
void allocation_drop_relay(struct turn_allocation *a, struct turn_relay *r);

/* Drops expired permissions and channel bindings. */
void allocation_purge(struct turn_allocation *a, uint64_t now_ms);

/* Installs or refreshes the permission for peer's IP; -1 when full (max 0: no limit) or out of memory. */
int allocation_permit(struct turn_allocation *a, const struct sockaddr *peer, uint64_t expires_ms,
    size_t max, uint64_t now_ms);
/* The live permission for peer's IP, or NULL. */
struct allocation_permission *allocation_permission(struct turn_allocation *a,
    const struct sockaddr *peer, uint64_t now_ms);
bool allocation_is_permitted(const struct turn_allocation *a, const struct sockaddr *peer,
    uint64_t now_ms);

/* Whether number may be bound (or refreshed) to peer: enum allocation_bind_result. */
int allocation_bind_check(const struct turn_allocation *a, uint16_t number,
    const struct sockaddr *peer, size_t max, uint64_t now_ms);
/* Binds or refreshes; returns enum allocation_bind_result. */
int allocation_bind(struct turn_allocation *a, uint16_t number, const struct sockaddr *peer,
    uint64_t expires_ms, size_t max, uint64_t now_ms);
/* A valid binding by channel number or by peer IP and port, or NULL. */
const struct allocation_channel *allocation_channel(const struct turn_allocation *a,
    uint16_t number, uint64_t now_ms);
const struct allocation_channel *allocation_channel_of(const struct turn_allocation *a,
    const struct sockaddr *peer, uint64_t now_ms);

#endif
