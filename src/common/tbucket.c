/*
 * Token buckets and a bounded per-address table of them. Amounts are kept in
 * thousandths so a slow rate still refills between close calls; time only
 * moves forward (an earlier now_ms refills nothing).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/tbucket.h"

#define IPLIMIT_WAYS 4 /* entries per set; the least recently used one is evicted */

void
tbucket_init(struct tbucket *b, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
	b->rate = rate;
	b->burst = burst;
	b->milli = burst * 1000;
	b->last_ms = now_ms;
}

void
tbucket_set(struct tbucket *b, uint64_t rate, uint64_t burst)
{
	b->rate = rate;
	b->burst = burst;
	if (b->milli > burst * 1000)
		b->milli = burst * 1000;
}

static void
tbucket_refill(struct tbucket *b, uint64_t now_ms)
{
	uint64_t cap = b->burst * 1000, dt;

	if (now_ms <= b->last_ms)
		return;
	dt = now_ms - b->last_ms;
	b->last_ms = now_ms;
	/* rate per s times ms is thousandths of units; a long pause just fills it. */
	if (dt >= 1000000 || b->rate > (cap - b->milli) / dt)
		b->milli = cap;
	else
		b->milli += b->rate * dt;
	if (b->milli > cap)
		b->milli = cap;
}

bool
tbucket_take(struct tbucket *b, uint64_t n, uint64_t now_ms)
{
	if (b->rate == 0)
		return true;
	tbucket_refill(b, now_ms);
	if (n > b->milli / 1000)
		return false;
	b->milli -= n * 1000;
	return true;
}

/* Whether b (refilled to now_ms) holds n units. */
static bool
tbucket_holds(struct tbucket *b, uint64_t n, uint64_t now_ms)
{
	if (b->rate == 0)
		return true;
	tbucket_refill(b, now_ms);
	return n <= b->milli / 1000;
}

bool
tbucket_take_both(struct tbucket *a, struct tbucket *b, uint64_t n, uint64_t now_ms)
{
	if (!tbucket_holds(a, n, now_ms) || !tbucket_holds(b, n, now_ms))
		return false;
	if (a->rate != 0)
		a->milli -= n * 1000;
	if (b->rate != 0)
		b->milli -= n * 1000;
	return true;
}

struct iplimit_entry {
	uint8_t key[IPLIMIT_KEY_MAX];
	uint8_t keylen; /* 0: free */
	uint64_t used_ms;
	struct tbucket b;
};

struct iplimit {
	struct iplimit_entry *v;
	size_t nsets;
	size_t used;
	uint64_t rate, burst;
};

struct iplimit *
iplimit_create(size_t nslots, uint64_t rate, uint64_t burst)
{
	struct iplimit *l;

	if ((l = calloc(1, sizeof *l)) == NULL)
		return NULL;
	l->nsets = nslots / IPLIMIT_WAYS + (nslots % IPLIMIT_WAYS != 0 || nslots == 0);
	if ((l->v = calloc(l->nsets * IPLIMIT_WAYS, sizeof *l->v)) == NULL) {
		free(l);
		return NULL;
	}
	l->rate = rate;
	l->burst = burst;
	return l;
}

void
iplimit_free(struct iplimit *l)
{
	if (l == NULL)
		return;
	free(l->v);
	free(l);
}

/* FNV-1a: the key is a source address, so the set is hard to steer only in part. */
static size_t
iplimit_hash(const uint8_t *key, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= key[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 32));
}

/* The entry of key in its set, or the one to reuse (free, else least recently used). */
static struct iplimit_entry *
iplimit_find(struct iplimit *l, const uint8_t *key, size_t keylen, bool *found)
{
	struct iplimit_entry *set = &l->v[(iplimit_hash(key, keylen) % l->nsets) * IPLIMIT_WAYS];
	struct iplimit_entry *victim = &set[0];
	size_t i;

	*found = false;
	for (i = 0; i < IPLIMIT_WAYS; i++) {
		if (set[i].keylen == keylen && memcmp(set[i].key, key, keylen) == 0) {
			*found = true;
			return &set[i];
		}
		if (victim->keylen != 0 && (set[i].keylen == 0 || set[i].used_ms < victim->used_ms))
			victim = &set[i];
	}
	return victim;
}

/* The entry for a key (or the slot to reuse for it); NULL for an unusable key. */
static struct iplimit_entry *
iplimit_lookup(struct iplimit *l, const void *key, size_t keylen, bool *found)
{
	if (keylen == 0 || keylen > IPLIMIT_KEY_MAX)
		return NULL;
	return iplimit_find(l, key, keylen, found);
}

bool
iplimit_take_n(struct iplimit *l, const void *key, size_t keylen, uint64_t n, uint64_t now_ms)
{
	struct iplimit_entry *e;
	bool found;

	if (l->rate == 0)
		return true;
	if ((e = iplimit_lookup(l, key, keylen, &found)) == NULL)
		return false;
	if (!found) {
		if (e->keylen == 0)
			l->used++;
		memcpy(e->key, key, keylen);
		e->keylen = (uint8_t)keylen;
		tbucket_init(&e->b, l->rate, l->burst, now_ms);
	}
	e->used_ms = now_ms;
	return tbucket_take(&e->b, n, now_ms);
}

bool
iplimit_take(struct iplimit *l, const void *key, size_t keylen, uint64_t now_ms)
{
	return iplimit_take_n(l, key, keylen, 1, now_ms);
}

bool
iplimit_has(struct iplimit *l, const void *key, size_t keylen, uint64_t n, uint64_t now_ms)
{
	struct iplimit_entry *e;
	bool found;

	if (l->rate == 0)
		return true;
	if ((e = iplimit_lookup(l, key, keylen, &found)) == NULL)
		return false;
	if (!found)
		return n <= l->burst;
	return tbucket_take(&e->b, 0, now_ms) && n <= e->b.milli / 1000;
}

size_t
iplimit_count(const struct iplimit *l)
{
	return l->used;
}
