/* Client address to load balancer flow, for UDP behind PROXY protocol v2. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/proxymap.h"
#include "turnpike/random.h"

struct proxymap_entry {
	struct sockaddr_storage client;
	struct sockaddr_storage via;
	uint64_t seen_ms;
	int32_t next; /* in the bucket's chain, or in the free list; -1 ends */
};

struct proxymap {
	struct proxymap_entry *e;
	int32_t *bucket;
	uint32_t nbuckets; /* a power of two */
	uint32_t seed;
	size_t max;
	size_t n;
	int32_t free;
};

struct proxymap *
proxymap_create(size_t max)
{
	struct proxymap *m;
	size_t i;

	if (max == 0 || max > INT32_MAX / 2 || (m = calloc(1, sizeof *m)) == NULL)
		return NULL;
	for (m->nbuckets = 16; m->nbuckets < max; m->nbuckets *= 2)
		continue;
	m->e = calloc(max, sizeof *m->e);
	m->bucket = malloc(m->nbuckets * sizeof *m->bucket);
	if (m->e == NULL || m->bucket == NULL) {
		proxymap_free(m);
		return NULL;
	}
	for (i = 0; i < m->nbuckets; i++)
		m->bucket[i] = -1;
	for (i = 0; i < max; i++)
		m->e[i].next = i + 1 < max ? (int32_t)(i + 1) : -1;
	m->max = max;
	(void)random_bytes(&m->seed, sizeof m->seed);
	return m;
}

void
proxymap_free(struct proxymap *m)
{
	if (m == NULL)
		return;
	free(m->e);
	free(m->bucket);
	free(m);
}

static uint32_t
proxymap_slot(const struct proxymap *m, const struct sockaddr *sa)
{
	return addr_hash(sa, m->seed) & (m->nbuckets - 1);
}

static struct proxymap_entry *
proxymap_find(const struct proxymap *m, const struct sockaddr *client)
{
	int32_t i;

	for (i = m->bucket[proxymap_slot(m, client)]; i != -1; i = m->e[i].next) {
		if (addr_equal((const struct sockaddr *)&m->e[i].client, client))
			return &m->e[i];
	}
	return NULL;
}

int
proxymap_put(struct proxymap *m, const struct sockaddr *client, const struct sockaddr *via,
    uint64_t now_ms)
{
	struct proxymap_entry *e = proxymap_find(m, client);
	uint32_t slot;
	int32_t i;

	if (e == NULL) {
		if ((i = m->free) == -1)
			return -1;
		e = &m->e[i];
		m->free = e->next;
		memset(e, 0, sizeof *e);
		memcpy(&e->client, client, addr_len(client));
		slot = proxymap_slot(m, client);
		e->next = m->bucket[slot];
		m->bucket[slot] = i;
		m->n++;
	}
	memset(&e->via, 0, sizeof e->via);
	memcpy(&e->via, via, addr_len(via));
	e->seen_ms = now_ms;
	return 0;
}

const struct sockaddr *
proxymap_get(const struct proxymap *m, const struct sockaddr *client)
{
	const struct proxymap_entry *e;

	if (m == NULL || m->n == 0 || (e = proxymap_find(m, client)) == NULL)
		return NULL;
	return (const struct sockaddr *)&e->via;
}

void
proxymap_expire(struct proxymap *m, uint64_t now_ms, uint64_t idle_ms)
{
	int32_t *link, i;
	uint32_t b;

	for (b = 0; b < m->nbuckets && m->n > 0; b++) {
		for (link = &m->bucket[b]; (i = *link) != -1;) {
			if (m->e[i].seen_ms + idle_ms >= now_ms) {
				link = &m->e[i].next;
				continue;
			}
			*link = m->e[i].next;
			m->e[i].next = m->free;
			m->free = i;
			m->n--;
		}
	}
}

size_t
proxymap_count(const struct proxymap *m)
{
	return m->n;
}
