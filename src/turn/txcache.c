/* The retransmission cache: a ring of recent responses indexed by a chained hash. */
#include "config.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/txcache.h"

#define TXCACHE_NONE UINT32_MAX
#define TXCACHE_MAX_ENTRIES (1u << 24)

struct txcache_entry {
	uint32_t next; /* hash chain, TXCACHE_NONE at the end */
	uint32_t hash;
	bool used;
	uint8_t transport;
	uint16_t method;
	uint8_t tid[STUN_TID_LEN];
	struct sockaddr_in6 client; /* large enough for either family */
	struct sockaddr_in6 server;
	uint64_t expires_ms;
	uint8_t *resp;
	size_t len;
};

struct txcache {
	struct txcache_entry *ring;
	uint32_t *buckets;
	size_t n; /* entries and buckets, a power of two */
	size_t head;
	size_t filled; /* entries ever written: the ring fills from 0, the rest is untouched */
	uint64_t ttl_ms;
	uint32_t seed;
};

struct txcache *
txcache_create(size_t entries, uint64_t ttl_ms, uint32_t seed)
{
	struct txcache *c;
	size_t n = 16, i;

	while (n < entries && n < TXCACHE_MAX_ENTRIES)
		n *= 2;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	c->ring = calloc(n, sizeof *c->ring);
	c->buckets = malloc(n * sizeof *c->buckets);
	if (c->ring == NULL || c->buckets == NULL) {
		txcache_free(c);
		return NULL;
	}
	for (i = 0; i < n; i++)
		c->buckets[i] = TXCACHE_NONE;
	c->n = n;
	c->ttl_ms = ttl_ms;
	c->seed = seed;
	return c;
}

void
txcache_free(struct txcache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; c->ring != NULL && i < c->filled; i++)
		free(c->ring[i].resp);
	free(c->ring);
	free(c->buckets);
	free(c);
}

static uint32_t
txcache_hash(const struct txcache *c, const struct turn_5tuple *t, const struct stun_msg *m)
{
	uint32_t h = addr_hash((const struct sockaddr *)&t->client, c->seed);
	size_t i;

	for (i = 0; i < STUN_TID_LEN; i++) {
		h ^= m->tid[i];
		h *= 16777619u;
	}
	return h ^ m->method;
}

static bool
txcache_match(const struct txcache_entry *e, uint32_t h, const struct turn_5tuple *t,
    const struct stun_msg *m)
{
	return e->hash == h && e->method == m->method && e->transport == t->transport &&
	    memcmp(e->tid, m->tid, STUN_TID_LEN) == 0 &&
	    addr_equal((const struct sockaddr *)&e->client, (const struct sockaddr *)&t->client) &&
	    addr_equal((const struct sockaddr *)&e->server, (const struct sockaddr *)&t->server);
}

const uint8_t *
txcache_find(const struct txcache *c, const struct turn_5tuple *t, const struct stun_msg *m,
    uint64_t now_ms, size_t *len)
{
	uint32_t h = txcache_hash(c, t, m), i;
	const struct txcache_entry *e;

	for (i = c->buckets[h & (c->n - 1)]; i != TXCACHE_NONE; i = e->next) {
		e = &c->ring[i];
		if (txcache_match(e, h, t, m) && e->expires_ms > now_ms) {
			*len = e->len;
			return e->resp;
		}
	}
	return NULL;
}

/* Takes the entry at index i out of its hash chain and frees its response. */
static void
txcache_evict(struct txcache *c, uint32_t i)
{
	struct txcache_entry *e = &c->ring[i];
	uint32_t *ip = &c->buckets[e->hash & (c->n - 1)];

	while (*ip != TXCACHE_NONE && *ip != i)
		ip = &c->ring[*ip].next;
	if (*ip == i)
		*ip = e->next;
	free(e->resp);
	memset(e, 0, sizeof *e);
}

static void
txcache_copy_addr(struct sockaddr_in6 *dst, const struct sockaddr_storage *src)
{
	socklen_t len = addr_len((const struct sockaddr *)src);

	memset(dst, 0, sizeof *dst);
	memcpy(dst, src, len <= sizeof *dst ? len : sizeof *dst);
}

int
txcache_put(struct txcache *c, const struct turn_5tuple *t, const struct stun_msg *m,
    const uint8_t *resp, size_t len, uint64_t now_ms)
{
	uint32_t i = (uint32_t)c->head;
	struct txcache_entry *e = &c->ring[i];
	uint8_t *copy;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		return -1;
	memcpy(copy, resp, len);
	if (e->used)
		txcache_evict(c, i);
	e->used = true;
	e->hash = txcache_hash(c, t, m);
	e->method = m->method;
	e->transport = t->transport;
	memcpy(e->tid, m->tid, STUN_TID_LEN);
	txcache_copy_addr(&e->client, &t->client);
	txcache_copy_addr(&e->server, &t->server);
	e->expires_ms = now_ms + c->ttl_ms;
	e->resp = copy;
	e->len = len;
	e->next = c->buckets[e->hash & (c->n - 1)];
	c->buckets[e->hash & (c->n - 1)] = i;
	c->head = (c->head + 1) & (c->n - 1);
	if (c->filled < c->n)
		c->filled++;
	return 0;
}
