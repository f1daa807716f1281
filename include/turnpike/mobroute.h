/*
 * RFC 8016 moves across workers: which worker serves a client 5-tuple that
 * the kernel delivers to another one. Each worker owns its own tables (no
 * lock): "routes" on the worker whose socket receives the 5-tuple, "served"
 * on the worker that holds the allocation. Entries carry a generation so that
 * a late "forget" message never removes a newer route.
 */
#ifndef TURNPIKE_MOBROUTE_H
#define TURNPIKE_MOBROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/turn.h"

struct mobroute_entry {
	struct mobroute_entry *next;
	struct turn_5tuple tuple;
	size_t worker; /* the other worker's index */
	uint64_t gen;
};

struct mobroute;

struct mobroute *mobroute_create(uint32_t seed);
/* mobroute_free(NULL) is a no-op. */
void mobroute_free(struct mobroute *r);
size_t mobroute_count(const struct mobroute *r);
/* The entry of t, or NULL (also with r NULL). */
const struct mobroute_entry *mobroute_get(const struct mobroute *r, const struct turn_5tuple *t);
/* Adds or replaces t's entry; -1 when out of memory. */
int mobroute_put(struct mobroute *r, const struct turn_5tuple *t, size_t worker, uint64_t gen);
/* Removes t's entry when its generation is gen (any with gen 0). */
void mobroute_del(struct mobroute *r, const struct turn_5tuple *t, uint64_t gen);
/* Calls fn for each entry; an entry for which fn returns false is removed after the call. */
void mobroute_walk(struct mobroute *r, bool (*fn)(void *arg, const struct mobroute_entry *e),
    void *arg);

#endif
