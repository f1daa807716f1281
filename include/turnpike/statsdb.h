/*
 * coturn's redis-statsdb: allocation status keys and traffic events in
 * coturn's Redis layout (its schema.stats.redis), for tools written against
 * coturn. Callers queue commands (statsdb_send: memory only, never waits);
 * one thread of its own sends them to Redis, reconnecting every second while
 * Redis is unreachable (what is queued meanwhile is dropped and counted).
 *
 *   turn/realm/R/user/U/allocation/ID/status     SET "new lifetime=S" or
 *                                                "refreshed lifetime=S" (expiring
 *                                                with the allocation), PUBLISH the
 *                                                same, then DEL and PUBLISH "deleted"
 *   turn/realm/R/user/U/allocation/ID/traffic    PUBLISH "rcvp=N, rcvb=N, sentp=N, sentb=N"
 *   turn/realm/R/user/U/allocation/ID/total_traffic  the same, once, when it ends
 * (without a realm: turn/user/U/allocation/ID/...).
 */
#ifndef TURNPIKE_STATSDB_H
#define TURNPIKE_STATSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/redisconn.h"

#define STATSDB_QUEUE_MAX 8192 /* commands waiting for the thread; more are dropped */
#define STATSDB_KEY_MAX 1024

struct statsdb;

/* Starts the thread; -1 with *cause. */
int statsdb_create(const struct redisconn *conn, struct statsdb **out, char **cause);
/* Stops the thread (sending what is queued when Redis answers) and frees; NULL: no-op. */
void statsdb_free(struct statsdb *sd);

/* Queues one command of argc text arguments (copied); false when dropped. Any thread. */
bool statsdb_send(struct statsdb *sd, int argc, const char *const *argv);

/* The key of an allocation's event (status, traffic, total_traffic). */
void statsdb_key(char *out, size_t cap, const char *realm, const char *user, uint64_t id,
    const char *what);

/*
 * Whether the last round trip worked (cause: why not), and how many commands
 * were dropped so far.
 */
bool statsdb_is_up(struct statsdb *sd, char *cause, size_t causelen, uint64_t *dropped);

#endif
