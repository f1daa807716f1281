/*
 * RFC 8016 moves across workers: routes a moved client's datagrams from the
 * worker that receives them to the one serving its allocation (mobhandoff.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "turnpike/addr.h"
#include "turnpike/log.h"
#include "turnpike/mobhandoff.h"
#include "turnpike/mobroute.h"
#include "turnpike/random.h"

/*
 * RFC 8016 across workers. Each worker's SO_REUSEPORT socket gets the
 * datagrams the kernel hashes to it by 5-tuple, and one worker owns each
 * allocation with its relay sockets, timers and fast-path entries. Moving an
 * allocation between threads would mean moving all of that; instead the
 * allocation stays and its new 5-tuple is routed to it. The worker that
 * receives a Refresh whose ticket another worker sealed records "this
 * 5-tuple is served there" and hands that datagram, and each later one from
 * the 5-tuple, over through the job queue. The serving worker answers from
 * its own socket bound to the same address (the client sees the same server
 * address) and sends peer data straight to the client. Once it holds no
 * allocation at that 5-tuple (refused move, deletion, expiry, a further
 * move), its tick tells the receiving worker to forget the route; a
 * generation number keeps a late "forget" from removing a newer route. Only
 * moved clients that the kernel hashes to another worker pay the hop.
 */
struct mobhandoff {
	size_t id; /* this worker's index */
	size_t nudp;
	const struct mobhandoff_ops *ops;
	void *arg;
	struct mobhandoff **peers; /* every worker's, by index */
	size_t npeers;
	/* NULL until needed */
	struct mobroute *routes; /* 5-tuples our sockets receive that another worker serves */
	struct mobroute *served; /* 5-tuples another worker receives that we serve */
	uint64_t route_gen;
};

struct mobhandoff_fwd {
	struct worker_job job;
	struct mobhandoff *to;
	size_t from;  /* the worker whose socket received it */
	uint64_t gen; /* of that worker's route */
	size_t udp;   /* the socket's index: every worker opens the same list */
	struct turn_5tuple tuple;
	size_t len;
	uint8_t data[];
};

/* "Forget the route of tuple": its serving worker holds no allocation there now. */
struct mobhandoff_unroute {
	struct worker_job job;
	struct mobhandoff *to;
	struct turn_5tuple tuple;
	uint64_t gen;
};

struct mobhandoff *
mobhandoff_create(size_t id, size_t nudp, const struct mobhandoff_ops *ops, void *arg)
{
	struct mobhandoff *h;

	if ((h = calloc(1, sizeof *h)) == NULL)
		return NULL;
	h->id = id;
	h->nudp = nudp;
	h->ops = ops;
	h->arg = arg;
	return h;
}

void
mobhandoff_free(struct mobhandoff *h)
{
	if (h == NULL)
		return;
	mobroute_free(h->routes);
	mobroute_free(h->served);
	free(h->peers);
	free(h);
}

int
mobhandoff_set_peers(struct mobhandoff *h, struct mobhandoff *const *all, size_t n)
{
	if ((h->peers = calloc(n, sizeof *h->peers)) == NULL)
		return -1;
	memcpy(h->peers, all, n * sizeof *all);
	h->npeers = n;
	return 0;
}

static struct mobroute *
mobhandoff_table(struct mobroute **r)
{
	if (*r == NULL)
		*r = mobroute_create(random_uniform(UINT32_MAX));
	return *r;
}

static void
mobhandoff_job_free(struct worker_job *job)
{
	free(job);
}

/* On the serving worker: a datagram another worker received for us. */
static void
mobhandoff_fwd_run(struct worker_job *job, struct turn *t, const struct turn_now *now)
{
	struct mobhandoff_fwd *f = (struct mobhandoff_fwd *)job;
	struct mobhandoff *h = f->to;

	(void)t;
	if (f->udp >= h->nudp || mobhandoff_table(&h->served) == NULL ||
	    mobroute_put(h->served, &f->tuple, f->from, f->gen) != 0)
		h->ops->drop(h->arg);
	else
		h->ops->deliver(h->arg, f->udp, &f->tuple, f->data, f->len, now);
	free(f);
}

/* Hands a datagram from t, received by socket udp, to the worker serving it (route e). */
static void
mobhandoff_forward(struct mobhandoff *h, size_t udp, const struct turn_5tuple *t, const uint8_t *p,
    size_t len, const struct mobroute_entry *e)
{
	struct mobhandoff_fwd *f;

	if (e->worker >= h->npeers || (f = malloc(sizeof *f + len)) == NULL) {
		h->ops->drop(h->arg);
		return;
	}
	memset(f, 0, sizeof *f);
	f->job.run = mobhandoff_fwd_run;
	f->job.cancel = mobhandoff_job_free;
	f->to = h->peers[e->worker];
	f->from = h->id;
	f->gen = e->gen;
	f->udp = udp;
	f->tuple = *t;
	f->len = len;
	memcpy(f->data, p, len);
	h->ops->post(h->arg, e->worker, &f->job);
}

static void
mobhandoff_log_routed(const struct mobhandoff *h, const struct turn_5tuple *t, size_t tag)
{
	char addr[ADDR_STRLEN], session[32];

	snprintf(session, sizeof session, "w%zu", h->id);
	log_session(LOG_LEVEL_INFO, session,
	    addr_fmt((const struct sockaddr *)&t->client, true, addr, sizeof addr),
	    "mobility ticket of worker %zu: this 5-tuple goes there (RFC 8016)", tag);
}

bool
mobhandoff_stun(struct mobhandoff *h, size_t udp, const struct turn_5tuple *t, int tag,
    const uint8_t *p, size_t len)
{
	const struct mobroute_entry *e;

	if (tag >= 0) {
		if ((size_t)tag == h->id || (size_t)tag >= h->npeers) {
			mobroute_del(h->routes, t, 0);
			return false; /* ours, or not a worker: the core answers */
		}
		e = mobroute_get(h->routes, t);
		if (e == NULL || e->worker != (size_t)tag)
			mobhandoff_log_routed(h, t, (size_t)tag);
		if (mobhandoff_table(&h->routes) == NULL ||
		    mobroute_put(h->routes, t, (size_t)tag, ++h->route_gen) != 0)
			return false; /* out of memory: the core answers 400 */
	}
	if ((e = mobroute_get(h->routes, t)) == NULL)
		return false;
	mobhandoff_forward(h, udp, t, p, len, e);
	return true;
}

bool
mobhandoff_chandata(struct mobhandoff *h, size_t udp, const struct turn_5tuple *t, const uint8_t *p,
    size_t len)
{
	const struct mobroute_entry *e = mobroute_get(h->routes, t);

	if (e == NULL)
		return false;
	mobhandoff_forward(h, udp, t, p, len, e);
	return true;
}

static void
mobhandoff_unroute_run(struct worker_job *job, struct turn *t, const struct turn_now *now)
{
	struct mobhandoff_unroute *ur = (struct mobhandoff_unroute *)job;

	(void)t, (void)now;
	mobroute_del(ur->to->routes, &ur->tuple, ur->gen);
	free(ur);
}

struct mobhandoff_walk {
	struct mobhandoff *h;
	uint64_t now_ms;
};

/* For each 5-tuple served here: tell its receiving worker once no allocation is left. */
static bool
mobhandoff_served_check(void *arg, const struct mobroute_entry *e)
{
	struct mobhandoff_walk *sw = arg;
	struct mobhandoff *h = sw->h;
	struct mobhandoff_unroute *ur;

	if (h->ops->has_allocation(h->arg, &e->tuple, sw->now_ms))
		return true;
	if (e->worker < h->npeers && (ur = calloc(1, sizeof *ur)) != NULL) {
		ur->job.run = mobhandoff_unroute_run;
		ur->job.cancel = mobhandoff_job_free;
		ur->to = h->peers[e->worker];
		ur->tuple = e->tuple;
		ur->gen = e->gen;
		h->ops->post(h->arg, e->worker, &ur->job);
	}
	return false; /* out of memory: the next datagram puts it back, the next tick retries */
}

void
mobhandoff_tick(struct mobhandoff *h, uint64_t now_ms)
{
	struct mobhandoff_walk sw = {h, now_ms};

	if (mobroute_count(h->served) > 0)
		mobroute_walk(h->served, mobhandoff_served_check, &sw);
}
