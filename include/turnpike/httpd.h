/*
 * The metrics and health endpoint (prometheus option): libevent's evhttp on
 * the main event loop, never on a worker. GET or HEAD only:
 *   /metrics  Prometheus text format 0.0.4; every worker reports its own
 *             counters on its own thread through worker_post (no lock and no
 *             shared counter on the data path), the answer goes out once all
 *             have.
 *   /healthz  200 "ok" while the main loop runs.
 *   /readyz   200 "ready"; 503 while draining, or when fewer than
 *             HTTPD_READY_FREE_PCT percent of the relay ports are free.
 * Anything else is 404 (405 for other methods). Slow or garbage clients meet
 * evhttp's timeout and header and body limits.
 */
#ifndef TURNPIKE_HTTPD_H
#define TURNPIKE_HTTPD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* /readyz fails below this share of free relay ports. */
#define HTTPD_READY_FREE_PCT 5

struct evbuffer;
struct event_base;
struct evhttp_request;
struct httpd;
struct limits;
struct portpool;
struct worker;

/* What the endpoint reads; everything pointed to outlives it. */
struct httpd_source {
	struct worker *const *worker;
	size_t nworkers;
	/* The realm label, asked at each scrape (a reload may change it); arg is realm_arg. */
	const char *(*realm)(void *arg);
	void *realm_arg;
	struct portpool *pool;
	size_t naddrs;         /* relay addresses in the pool */
	size_t ports_per_addr; /* max-port - min-port + 1 */
	const atomic_bool *draining;
	bool username_labels;
	struct limits *limits;         /* allocations per realm; NULL: none listed */
	struct realmstats *realmstats; /* traffic per realm; NULL: none listed */
};

/* Binds addr (port set) and serves on base; -1 with *cause naming the address. */
int httpd_create(struct event_base *base, const struct sockaddr *addr,
    const struct httpd_source *src, struct httpd **hp, char **cause);
/*
 * Any evhttp answer (this endpoint's and web admin's): b's content, which the
 * caller still owns and may be NULL. RFC 9110 §9.3.2: HEAD gets the headers a
 * GET would, Content-Length too, and no body (evhttp would send b's content).
 */
void httpd_send(struct evhttp_request *req, int code, const char *reason, struct evbuffer *b);
/* The same with a text/plain body: body and a newline. */
void httpd_reply(struct evhttp_request *req, int code, const char *reason, const char *body);
/* After the workers have stopped: answers pending scrapes 503 and closes everything. */
void httpd_free(struct httpd *h);

#endif
