/* The relay port pool: a bitmap of used ports per relay address, and reservations. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/portpool.h"
#include "turnpike/random.h"

/* Random picks before scanning: a sparse pool answers in a few tries. */
#define PORTPOOL_PROBES 16

struct portpool_resv {
	uint64_t token;
	uint64_t expires_ms;
	size_t addr;
	uint16_t port;
	int fd;
};

struct portpool {
	pthread_mutex_t lock;
	uint16_t min;
	uint16_t max;
	size_t naddrs;
	size_t nwords;  /* bitmap words per address */
	uint64_t *bits; /* naddrs * nwords; bit (port - min) set when used */
	size_t *nused;  /* per address */
	struct portpool_resv *resv;
	size_t nresv;
	size_t cap;
};

/* The candidate ports: start, start + step, ... (count of them). */
struct portpool_seq {
	uint32_t start;
	uint32_t step;
	uint32_t count;
};

struct portpool *
portpool_create(uint16_t min, uint16_t max, size_t naddrs)
{
	struct portpool *pp;

	if (min > max || (pp = calloc(1, sizeof *pp)) == NULL)
		return NULL;
	pp->min = min;
	pp->max = max;
	pp->naddrs = naddrs;
	pp->nwords = ((size_t)(max - min) + 1 + 63) / 64;
	pp->bits = calloc(naddrs * pp->nwords + 1, sizeof *pp->bits);
	pp->nused = calloc(naddrs + 1, sizeof *pp->nused);
	if (pp->bits == NULL || pp->nused == NULL) {
		free(pp->bits);
		free(pp->nused);
		free(pp);
		return NULL;
	}
	pthread_mutex_init(&pp->lock, NULL);
	return pp;
}

void
portpool_free(struct portpool *pp)
{
	size_t i;

	if (pp == NULL)
		return;
	for (i = 0; i < pp->nresv; i++)
		close(pp->resv[i].fd);
	pthread_mutex_destroy(&pp->lock);
	free(pp->resv);
	free(pp->bits);
	free(pp->nused);
	free(pp);
}

static uint64_t *
portpool_word(struct portpool *pp, size_t addr, uint32_t port, uint64_t *mask)
{
	uint32_t bit = port - pp->min;

	*mask = (uint64_t)1 << (bit % 64);
	return &pp->bits[addr * pp->nwords + bit / 64];
}

static bool
portpool_is_used(struct portpool *pp, size_t addr, uint32_t port)
{
	uint64_t mask, *w = portpool_word(pp, addr, port, &mask);

	return (*w & mask) != 0;
}

static void
portpool_mark(struct portpool *pp, size_t addr, uint32_t port, bool used)
{
	uint64_t mask, *w = portpool_word(pp, addr, port, &mask);

	if (((*w & mask) != 0) == used)
		return;
	if (used) {
		*w |= mask;
		pp->nused[addr]++;
	} else {
		*w &= ~mask;
		pp->nused[addr]--;
	}
}

/* Every port, every even port, or every even port whose successor is in range. */
static bool
portpool_seq(const struct portpool *pp, bool even, bool pair, struct portpool_seq *sq)
{
	uint32_t last = pp->max;

	if (pair && last-- == 0)
		return false;
	sq->start = pp->min;
	sq->step = 1;
	if (even || pair) {
		sq->start += sq->start % 2;
		sq->step = 2;
	}
	if (sq->start > last)
		return false;
	sq->count = (last - sq->start) / sq->step + 1;
	return true;
}

static bool
portpool_fits(struct portpool *pp, size_t addr, uint32_t port, bool pair)
{
	return !portpool_is_used(pp, addr, port) &&
	    (!pair || !portpool_is_used(pp, addr, port + 1));
}

/* Random probes, then a scan from a random index; under the lock. */
static int
portpool_find(struct portpool *pp, size_t addr, const struct portpool_seq *sq, bool pair,
    uint32_t *port)
{
	uint32_t i, idx;

	for (i = 0; i < PORTPOOL_PROBES; i++) {
		*port = sq->start + random_uniform(sq->count) * sq->step;
		if (portpool_fits(pp, addr, *port, pair))
			return 0;
	}
	idx = random_uniform(sq->count);
	for (i = 0; i < sq->count; i++) {
		*port = sq->start + ((idx + i) % sq->count) * sq->step;
		if (portpool_fits(pp, addr, *port, pair))
			return 0;
	}
	return -1;
}

int
portpool_get(struct portpool *pp, size_t addr, bool even, bool pair, uint16_t *port)
{
	struct portpool_seq sq;
	uint32_t p;
	int rc = -1;

	if (addr >= pp->naddrs || !portpool_seq(pp, even, pair, &sq))
		return -1;
	pthread_mutex_lock(&pp->lock);
	if (portpool_find(pp, addr, &sq, pair, &p) == 0) {
		portpool_mark(pp, addr, p, true);
		if (pair)
			portpool_mark(pp, addr, p + 1, true);
		*port = (uint16_t)p;
		rc = 0;
	}
	pthread_mutex_unlock(&pp->lock);
	return rc;
}

void
portpool_put(struct portpool *pp, size_t addr, uint16_t port)
{
	if (addr >= pp->naddrs || port < pp->min || port > pp->max)
		return;
	pthread_mutex_lock(&pp->lock);
	portpool_mark(pp, addr, port, false);
	pthread_mutex_unlock(&pp->lock);
}

/* A RESERVATION-TOKEN: 64 bits from the CSPRNG, never 0 (0 means "none"). */
static uint64_t
portpool_token(void)
{
	uint64_t t = 0;

	while (t == 0) {
		if (random_bytes(&t, sizeof t) != 0)
			abort(); /* no CSPRNG: never fall back to guessable tokens */
	}
	return t;
}

int
portpool_reserve(struct portpool *pp, size_t addr, uint16_t port, int fd, uint64_t now_ms,
    uint64_t *token)
{
	struct portpool_resv *v;
	int rc = -1;

	pthread_mutex_lock(&pp->lock);
	if (pp->nresv == pp->cap) {
		v = reallocarray(pp->resv, pp->cap == 0 ? 16 : 2 * pp->cap, sizeof *v);
		if (v == NULL)
			goto out;
		pp->resv = v;
		pp->cap = pp->cap == 0 ? 16 : 2 * pp->cap;
	}
	v = &pp->resv[pp->nresv++];
	v->token = *token = portpool_token();
	v->expires_ms = now_ms + PORTPOOL_RESERVE_MS;
	v->addr = addr;
	v->port = port;
	v->fd = fd;
	rc = 0;
out:
	pthread_mutex_unlock(&pp->lock);
	return rc;
}

/* Removes reservation i (order does not matter). */
static void
portpool_drop(struct portpool *pp, size_t i)
{
	pp->resv[i] = pp->resv[--pp->nresv];
}

int
portpool_claim(struct portpool *pp, uint64_t token, uint64_t now_ms, size_t *addr, uint16_t *port,
    int *fd)
{
	struct portpool_resv *r;
	size_t i;
	int rc = -1;

	pthread_mutex_lock(&pp->lock);
	for (i = 0; i < pp->nresv; i++) {
		r = &pp->resv[i];
		if (r->token != token || r->expires_ms <= now_ms)
			continue;
		*addr = r->addr;
		*port = r->port;
		*fd = r->fd;
		portpool_drop(pp, i);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&pp->lock);
	return rc;
}

void
portpool_expire(struct portpool *pp, uint64_t now_ms)
{
	struct portpool_resv *r;
	size_t i = 0;

	pthread_mutex_lock(&pp->lock);
	while (i < pp->nresv) {
		r = &pp->resv[i];
		if (r->expires_ms > now_ms) {
			i++;
			continue;
		}
		close(r->fd);
		portpool_mark(pp, r->addr, r->port, false);
		portpool_drop(pp, i);
	}
	pthread_mutex_unlock(&pp->lock);
}

size_t
portpool_used(struct portpool *pp, size_t addr)
{
	size_t n;

	if (addr >= pp->naddrs)
		return 0;
	pthread_mutex_lock(&pp->lock);
	n = pp->nused[addr];
	pthread_mutex_unlock(&pp->lock);
	return n;
}
