/*
 * One question to every worker (memcached's thread.c pattern, both ways): a
 * job is posted to each worker, runs on that worker's thread, and its pointer
 * comes back through a pipe the main loop watches; after the last answer the
 * caller's done runs on the main loop. A worker that stops first hands its job
 * back unanswered, so every call ends. Used by the control commands and the
 * metrics scrapes.
 */
#ifndef TURNPIKE_FANOUT_H
#define TURNPIKE_FANOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "turnpike/worker_job.h"

struct event_base;
struct fanout;
struct fanout_call;
struct worker;

/* One worker's part of a call: the first member of the caller's job struct. */
struct fanout_job {
	struct worker_job job;    /* fanout.c's */
	struct fanout_call *call; /* fanout.c's */
	struct worker *w;         /* the worker it runs on */
	size_t worker;            /* that worker's index */
	bool unanswered;          /* the worker stopped before running it */
};

/* A question to every worker, kept in the caller's request until done. */
struct fanout_call {
	/* On j->w's thread: the caller's answer into its job. */
	void (*run)(struct fanout_job *j, struct turn *t, const struct turn_now *now);
	/* On the main loop, once every worker has answered. */
	void (*done)(struct fanout_call *call);
	struct fanout *f;  /* fanout.c's */
	size_t pending;    /* fanout.c's */
	size_t unanswered; /* workers that stopped before answering; done still runs */
};

/*
 * The reply pipe, watched on base, for the n workers (which must outlive it).
 * what names the caller in the log and in *cause ("control", "metrics").
 */
int fanout_create(struct event_base *base, struct worker *const *workers, size_t n,
    const char *what, struct fanout **out, char **cause);
/*
 * After the workers have stopped: ends the calls whose answers (or unanswered
 * jobs) are waiting in the pipe, as the main loop would have. Then none is left.
 */
void fanout_finish(struct fanout *f);
void fanout_free(struct fanout *f);
/* How many workers a call asks: the length of the jobs array fanout_post takes. */
size_t fanout_workers(const struct fanout *f);
/*
 * Posts jobs[i] to worker i: fanout_workers(f) jobs of size bytes each, each
 * starting with its struct fanout_job. jobs and call live until call->done.
 */
void fanout_post(struct fanout *f, struct fanout_call *call, void *jobs, size_t size);

#endif
