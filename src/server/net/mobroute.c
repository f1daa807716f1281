/* Client 5-tuples served by another worker (RFC 8016 moves): a small chained hash table. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/mobroute.h"

#define MOBROUTE_BUCKETS 256 /* moves are rare: a fixed table is enough */

struct mobroute {
	uint32_t seed;
	size_t count;
	struct mobroute_entry *buckets[MOBROUTE_BUCKETS];
};

static size_t
mobroute_slot(const struct mobroute *r, const struct turn_5tuple *t)
{
	uint32_t h = addr_hash((const struct sockaddr *)&t->client, r->seed);

	h ^= addr_hash((const struct sockaddr *)&t->server, r->seed ^ 0x9e3779b9u) * 31u;
	return (h ^ t->transport) % MOBROUTE_BUCKETS;
}

static bool
mobroute_same(const struct turn_5tuple *a, const struct turn_5tuple *b)
{
	return a->transport == b->transport &&
	    addr_equal((const struct sockaddr *)&a->client, (const struct sockaddr *)&b->client) &&
	    addr_equal((const struct sockaddr *)&a->server, (const struct sockaddr *)&b->server);
}

struct mobroute *
mobroute_create(uint32_t seed)
{
	struct mobroute *r;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	r->seed = seed;
	return r;
}

void
mobroute_free(struct mobroute *r)
{
	struct mobroute_entry *e, *next;
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < MOBROUTE_BUCKETS; i++) {
		for (e = r->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(r);
}

size_t
mobroute_count(const struct mobroute *r)
{
	return r != NULL ? r->count : 0;
}

const struct mobroute_entry *
mobroute_get(const struct mobroute *r, const struct turn_5tuple *t)
{
	const struct mobroute_entry *e;

	if (r == NULL || r->count == 0)
		return NULL;
	for (e = r->buckets[mobroute_slot(r, t)]; e != NULL; e = e->next) {
		if (mobroute_same(&e->tuple, t))
			return e;
	}
	return NULL;
}

int
mobroute_put(struct mobroute *r, const struct turn_5tuple *t, size_t worker, uint64_t gen)
{
	struct mobroute_entry *e;
	size_t h = mobroute_slot(r, t);

	for (e = r->buckets[h]; e != NULL; e = e->next) {
		if (mobroute_same(&e->tuple, t))
			break;
	}
	if (e == NULL) {
		if ((e = calloc(1, sizeof *e)) == NULL)
			return -1;
		e->tuple = *t;
		e->next = r->buckets[h];
		r->buckets[h] = e;
		r->count++;
	}
	e->worker = worker;
	e->gen = gen;
	return 0;
}

void
mobroute_del(struct mobroute *r, const struct turn_5tuple *t, uint64_t gen)
{
	struct mobroute_entry **ep, *e;

	if (r == NULL)
		return;
	for (ep = &r->buckets[mobroute_slot(r, t)]; (e = *ep) != NULL; ep = &e->next) {
		if (!mobroute_same(&e->tuple, t))
			continue;
		if (gen == 0 || e->gen == gen) {
			*ep = e->next;
			free(e);
			r->count--;
		}
		return;
	}
}

void
mobroute_walk(struct mobroute *r, bool (*fn)(void *arg, const struct mobroute_entry *e), void *arg)
{
	struct mobroute_entry **ep, *e;
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < MOBROUTE_BUCKETS; i++) {
		for (ep = &r->buckets[i]; (e = *ep) != NULL;) {
			if (fn(arg, e)) {
				ep = &e->next;
				continue;
			}
			*ep = e->next;
			free(e);
			r->count--;
		}
	}
}
