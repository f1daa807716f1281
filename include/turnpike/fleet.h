/*
 * The fleet (fleet-redis): TURN nodes that share one Redis register
 * themselves with a heartbeat (keys with a TTL), publish their allocations per
 * user so that quotas count across the fleet, and listen on one pub/sub
 * channel for fleet-wide kills. The node's own threads do every Redis round
 * trip; workers only read the last snapshot (a mutex held for a lookup) and
 * poke the thread (fleet_poke). The daemon watches fleet_fd for kills.
 *
 * Redis layout (all under "turnpike/fleet/"):
 *   nodes                 sorted set: node name -> unix seconds of its last beat
 *   node/NAME             hash: addr, tls-port, allocations, capacity, draining,
 *                         updated (unix ms); expires after the heartbeat TTL
 *   node/NAME/users       hash: user -> allocations on that node; same TTL
 *   events                channel: "kill user NAME", "changed NAME"
 */
#ifndef TURNPIKE_FLEET_H
#define TURNPIKE_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/redisconn.h"

#define FLEET_NAME_MAX 128
#define FLEET_ADDR_MAX 80
#define FLEET_PREFIX "turnpike/fleet/"
#define FLEET_CHANNEL FLEET_PREFIX "events"

/* One live node as its heartbeat tells. */
struct fleet_node {
	char name[FLEET_NAME_MAX];
	char addr[FLEET_ADDR_MAX];  /* "IP:PORT" (IPv6 as "[IP]:PORT") clients should use */
	struct sockaddr_storage sa; /* addr parsed; AF_UNSPEC when it is not an address */
	uint16_t tls_port;          /* 0: none */
	uint64_t allocations;
	uint64_t capacity;
	bool draining;
	uint64_t updated_ms; /* unix ms of the beat */
	int64_t ttl_ms;      /* what is left of its heartbeat */
};

/* What a node reports of itself at each beat (filled by the daemon's callback). */
struct fleet_local {
	uint64_t allocations;
	uint64_t capacity;
	bool draining;
};

/* Called on the fleet thread: each count this node publishes (binary key) and its value. */
typedef void (*fleet_user_fn)(void *arg, const char *user, size_t len, uint64_t count);

struct fleet_setup {
	struct redisconn conn;
	const char *name; /* fleet-node-name */
	const char *addr; /* fleet-advertise, "IP:PORT" */
	uint16_t tls_port;
	unsigned ttl_s; /* fleet-heartbeat-ttl: beats every ttl_s / 3 (at least 1 s) */
	/* On the fleet thread: this node's figures, and its users through each(). */
	void (*local)(void *arg, struct fleet_local *out, fleet_user_fn each, void *each_arg);
	void *arg;
};

struct fleet;

/* Copies setup; threads start with fleet_start. -1 with *cause. */
int fleet_create(const struct fleet_setup *setup, struct fleet **out, char **cause);
int fleet_start(struct fleet *f, char **cause);
/* Stops the threads (the node's keys expire by themselves) and frees; NULL: no-op. */
void fleet_free(struct fleet *f);

/* From any thread, cheap: this node's counts changed, beat soon. */
void fleet_poke(struct fleet *f);
/*
 * The count the other live nodes published under key (the daemon's keys: a
 * user of a realm, a realm's total), 0 while Redis is unreachable.
 */
uint64_t fleet_remote_user(struct fleet *f, const char *key, size_t len);
/* fn for each other live node, under the snapshot's lock (fn must not block). */
void fleet_foreach_node(struct fleet *f, void (*fn)(void *arg, const struct fleet_node *n),
    void *arg);
/* Whether the last round trip worked; cause (causelen bytes) gets why not. */
bool fleet_is_up(struct fleet *f, char *cause, size_t causelen);

/* Readable when kills are waiting: fleet_next_kill takes them one at a time. */
int fleet_fd(const struct fleet *f);
/* The next user to kill (malloc'd, the caller frees), or NULL. */
char *fleet_next_kill(struct fleet *f);

#endif
