/*
 * The fleet's Redis round trips (hiredis, blocking, with the connection
 * string's timeout): used by the fleet's own threads and by turnpikectl, never
 * by a worker. The key layout is described in fleet.h.
 */
#ifndef TURNPIKE_FLEETDB_H
#define TURNPIKE_FLEETDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/fleet.h"
#include "turnpike/redisconn.h"

struct redisContext;

/* Connects, authenticates and selects the database; NULL with *cause. */
struct redisContext *fleetdb_connect(const struct redisconn *rc, char **cause);

/* One user's allocations on a node. */
struct fleetdb_user {
	char *name; /* not NUL-terminated */
	size_t len;
	uint64_t count;
};

/* One heartbeat: the node's hash, its users and its place in the node set. */
struct fleetdb_beat {
	const struct fleet_node *node; /* name, addr, tls_port, allocations, capacity, draining */
	const struct fleetdb_user *users;
	size_t nusers;
	unsigned ttl_s;
	uint64_t now_ms; /* unix ms */
};
int fleetdb_beat(struct redisContext *c, const struct fleetdb_beat *b, char **cause);

/* Called for each user of node i read by fleetdb_read. */
typedef void (
    *fleetdb_user_fn)(void *arg, size_t node, const char *user, size_t len, uint64_t count);

/*
 * Every live node (its hash exists) into *out (malloc'd, *n of them); with
 * each, every node's users too.
 */
int fleetdb_read(struct redisContext *c, struct fleet_node **out, size_t *n, fleetdb_user_fn each,
    void *arg, char **cause);

/* PUBLISH on the fleet channel; *receivers (may be NULL): how many subscribers got it. */
int fleetdb_publish(struct redisContext *c, const char *msg, long long *receivers, char **cause);

/* Events on the channel. */
enum fleetdb_event {
	FLEETDB_EVENT_NONE = -1,
	FLEETDB_EVENT_KILL = 1,    /* "kill user NAME" */
	FLEETDB_EVENT_CHANGED = 2, /* "changed NODE" */
};
/* Parses one message; the name (NUL-terminated) into name (cap bytes). */
enum fleetdb_event fleetdb_parse_event(const char *msg, size_t len, char *name, size_t cap);

#endif
