/*
 * The daemon's side of the fleet (fleet.h): builds the fleet from the
 * options, lends it this node's figures, counts the fleet's allocations in
 * the quotas (limits.h), fills the fleet part of an Allocate's
 * alternate_query, carries fleet-wide kills to the workers through the
 * control commands' kill, and logs Redis outages (once a minute).
 */
#ifndef TURNPIKE_FLEETOPS_H
#define TURNPIKE_FLEETOPS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct alternate_query;
struct config;
struct event_base;
struct fleetops;
struct limits;
struct worker;

/* What the fleet reads of the server; the pointers outlive the fleetops. */
struct fleetops_source {
	struct limits *limits;
	const atomic_size_t *allocations;
	const atomic_size_t *capacity;
	const atomic_bool *draining;
};

/* *out stays NULL without fleet-redis. -1 with *cause on a bad setting. */
int fleetops_create(const struct config *cfg, const struct fleetops_source *src,
    struct fleetops **out, char **cause);
/* Starts the fleet's threads; kills reach workers[0..n) through base's loop. */
int fleetops_start(struct fleetops *fo, struct event_base *base, struct worker *const *workers,
    size_t nworkers, const char *realm, char **cause);
/* Once a second on the main loop: logs when Redis goes away or comes back. */
void fleetops_tick(struct fleetops *fo);
/* After a reload: fleet-redirect-at. */
void fleetops_set_config(struct fleetops *fo, const struct config *cfg);
/* turn_config.fleet_view (ctx: the fleetops), from any worker. */
void fleetops_view(void *ctx, struct alternate_query *q);
/* Stops the threads first (their callbacks read the server). NULL: no-op. */
void fleetops_free(struct fleetops *fo);

#endif
