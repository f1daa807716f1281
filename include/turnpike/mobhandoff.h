/*
 * RFC 8016 moves across workers: the worker whose socket receives a moved
 * client's 5-tuple hands its datagrams to the worker that serves the
 * allocation, and forgets the route once that worker serves it no more. One
 * per worker, touched by its thread only (the route tables are mobroute.h's);
 * the worker lends its queue, its sockets and its TURN core through the ops.
 */
#ifndef TURNPIKE_MOBHANDOFF_H
#define TURNPIKE_MOBHANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/turn.h"
#include "turnpike/worker_job.h"

/* What a worker does for its hand-off; arg is the one given to mobhandoff_create. */
struct mobhandoff_ops {
	/* From this worker's thread: queue job for worker n's (never this one). */
	void (*post)(void *arg, size_t n, struct worker_job *job);
	/* On the serving worker: a datagram from t that another worker's socket udp received. */
	void (*deliver)(void *arg, size_t udp, const struct turn_5tuple *t, const uint8_t *p,
	    size_t len, const struct turn_now *now);
	/* True while t holds a live allocation on this worker. */
	bool (*has_allocation)(void *arg, const struct turn_5tuple *t, uint64_t now_ms);
	/* A datagram not handed over or not delivered: count it dropped. */
	void (*drop)(void *arg);
};

struct mobhandoff;

/* Worker id's, with nudp UDP sockets (the same list on every worker); NULL: no memory. */
struct mobhandoff *mobhandoff_create(size_t id, size_t nudp, const struct mobhandoff_ops *ops,
    void *arg);
/* mobhandoff_free(NULL) is a no-op. */
void mobhandoff_free(struct mobhandoff *h);
/* Before the threads start: every worker's, by id. -1: no memory. */
int mobhandoff_set_peers(struct mobhandoff *h, struct mobhandoff *const *all, size_t n);
/*
 * A STUN message from t on socket udp; tag: the worker that sealed its
 * MOBILITY-TICKET (turn_mobility_tag), -1 without one. True when it went to
 * the worker serving t; false: this worker's core answers it.
 */
bool mobhandoff_stun(struct mobhandoff *h, size_t udp, const struct turn_5tuple *t, int tag,
    const uint8_t *p, size_t len);
/* ChannelData from t that found no allocation here: true when it went to t's worker. */
bool mobhandoff_chandata(struct mobhandoff *h, size_t udp, const struct turn_5tuple *t,
    const uint8_t *p, size_t len);
/* Once a second: routes to this worker whose allocation is gone are withdrawn. */
void mobhandoff_tick(struct mobhandoff *h, uint64_t now_ms);

#endif
