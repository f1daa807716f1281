/*
 * The item of a worker's cross-thread queue (worker_post): a module that only
 * posts or runs jobs includes this, not worker.h and its OpenSSL, DTLS and
 * metrics headers.
 */
#ifndef TURNPIKE_WORKER_JOB_H
#define TURNPIKE_WORKER_JOB_H

struct turn;
struct turn_now;

/* Work another thread asks of a worker: run is called on the worker's thread. */
struct worker_job {
	struct worker_job *next;
	void (*run)(struct worker_job *job, struct turn *t, const struct turn_now *now);
	/* Optional: instead of run, for a job the worker will never run (it stopped). */
	void (*cancel)(struct worker_job *job);
};

#endif
