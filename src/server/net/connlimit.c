/* Live stream connections per source address: a chained hash under a mutex. */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/connlimit.h"

#define CONNLIMIT_BUCKETS 1024

struct connlimit_src {
	struct connlimit_src *next;
	size_t count; /* freed at 0 */
	uint8_t keylen;
	uint8_t key[ADDR_LIMIT_KEY_MAX];
};

struct connlimit {
	pthread_mutex_t mu;
	size_t per_ip, total, live;
	uint32_t seed;
	struct connlimit_src *v[CONNLIMIT_BUCKETS];
};

struct connlimit *
connlimit_create(size_t per_ip, size_t total)
{
	struct connlimit *cl;

	if ((cl = calloc(1, sizeof *cl)) == NULL)
		return NULL;
	pthread_mutex_init(&cl->mu, NULL);
	cl->per_ip = per_ip;
	cl->total = total;
	cl->seed = (uint32_t)(uintptr_t)cl ^ 0x9e3779b9u;
	return cl;
}

void
connlimit_free(struct connlimit *cl)
{
	struct connlimit_src *e, *next;
	size_t i;

	if (cl == NULL)
		return;
	for (i = 0; i < CONNLIMIT_BUCKETS; i++) {
		for (e = cl->v[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&cl->mu);
	free(cl);
}

void
connlimit_set_total(struct connlimit *cl, size_t total)
{
	pthread_mutex_lock(&cl->mu);
	cl->total = total;
	pthread_mutex_unlock(&cl->mu);
}

/* The slot that holds key's entry, or the NULL link where it would go. Under mu. */
static struct connlimit_src **
connlimit_find(struct connlimit *cl, const uint8_t *key, size_t keylen)
{
	struct connlimit_src **pp;
	uint32_t h = cl->seed;
	size_t i;

	for (i = 0; i < keylen; i++)
		h = (h ^ key[i]) * 16777619u;
	for (pp = &cl->v[h % CONNLIMIT_BUCKETS]; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->keylen == keylen && memcmp((*pp)->key, key, keylen) == 0)
			break;
	}
	return pp;
}

enum connlimit_verdict
connlimit_take(struct connlimit *cl, const struct sockaddr *src)
{
	uint8_t key[ADDR_LIMIT_KEY_MAX];
	size_t keylen = addr_limit_key(src, key);
	struct connlimit_src **pp, *e;
	enum connlimit_verdict v = CONNLIMIT_OK;

	pthread_mutex_lock(&cl->mu);
	pp = connlimit_find(cl, key, keylen);
	if (cl->total > 0 && cl->live >= cl->total)
		v = CONNLIMIT_TOTAL;
	else if (cl->per_ip > 0 && *pp != NULL && (*pp)->count >= cl->per_ip)
		v = CONNLIMIT_PER_IP;
	else if (*pp == NULL && (e = calloc(1, sizeof *e)) != NULL) {
		e->keylen = (uint8_t)keylen;
		memcpy(e->key, key, keylen);
		*pp = e;
	}
	if (v == CONNLIMIT_OK) {
		if (*pp != NULL)
			(*pp)->count++; /* out of memory: counted in total only */
		cl->live++;
	}
	pthread_mutex_unlock(&cl->mu);
	return v;
}

void
connlimit_release(struct connlimit *cl, const struct sockaddr *src)
{
	uint8_t key[ADDR_LIMIT_KEY_MAX];
	size_t keylen = addr_limit_key(src, key);
	struct connlimit_src **pp, *e;

	pthread_mutex_lock(&cl->mu);
	pp = connlimit_find(cl, key, keylen);
	if ((e = *pp) != NULL && --e->count == 0) {
		*pp = e->next;
		free(e);
	}
	if (cl->live > 0)
		cl->live--;
	pthread_mutex_unlock(&cl->mu);
}

size_t
connlimit_count(struct connlimit *cl, const struct sockaddr *src, size_t *from_src)
{
	uint8_t key[ADDR_LIMIT_KEY_MAX];
	size_t keylen = addr_limit_key(src, key), live;
	struct connlimit_src **pp;

	pthread_mutex_lock(&cl->mu);
	pp = connlimit_find(cl, key, keylen);
	*from_src = *pp != NULL ? (*pp)->count : 0;
	live = cl->live;
	pthread_mutex_unlock(&cl->mu);
	return live;
}
