/*
 * The metrics and health endpoint (see httpd.h): evhttp on the main loop.
 * A scrape asks every worker through fanout.c; each fills its part of the
 * snapshot on its own thread; after the last one the main loop renders and
 * answers.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "turnpike/cause.h"
#include "turnpike/fanout.h"
#include "turnpike/httpd.h"
#include "turnpike/limits.h"
#include "turnpike/listener.h"
#include "turnpike/log.h"
#include "turnpike/metrics.h"
#include "turnpike/portpool.h"
#include "turnpike/realmstats.h"
#include "turnpike/turn.h"
#include "turnpike/worker.h"

/* A client that sends nothing, or does not read, for this long is dropped. */
#define HTTPD_TIMEOUT_S 10
#define HTTPD_HEADERS_MAX 8192
#define HTTPD_BODY_MAX 1024
#define HTTPD_BACKLOG 64
/* After accept() fails (out of descriptors), pause this long instead of spinning. */
#define HTTPD_PAUSE_S 1
/* Scrapes waiting for the workers at once; more are answered 503. */
#define HTTPD_SCRAPES_MAX 16
/* Sessions one worker reports per scrape for the per-user series. */
#define HTTPD_SESSIONS_MAX 100000

struct httpd_scrape;

/* One worker's part of a scrape. */
struct httpd_job {
	struct fanout_job fj; /* first */
	struct metrics_worker m;
	struct metrics_user *users; /* one per live allocation, with username labels */
	size_t nusers, capusers, lost;
	struct metrics_counts *realm_live; /* by realmstats slot (cap + 1); NULL: none */
};

struct httpd_scrape {
	struct fanout_call call; /* first: fanout hands it back */
	struct httpd *h;
	struct evhttp_request *req;
	struct httpd_job *jobs;
	LIST_ENTRY(httpd_scrape) entry;
};

struct httpd {
	struct evhttp *http;
	const struct httpd_source *src;
	struct fanout *fanout;
	LIST_HEAD(, httpd_scrape) scrapes;
	size_t nscrapes;
};

struct httpd_route {
	const char *path;
	void (*serve)(struct httpd *h, struct evhttp_request *req);
};

void
httpd_send(struct evhttp_request *req, int code, const char *reason, struct evbuffer *b)
{
	char len[32];

	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof len, "%zu", b != NULL ? evbuffer_get_length(b) : (size_t)0);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", len);
		b = NULL;
	}
	evhttp_send_reply(req, code, reason, b);
}

void
httpd_reply(struct evhttp_request *req, int code, const char *reason, const char *body)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; charset=utf-8");
	if (b != NULL)
		evbuffer_add_printf(b, "%s\n", body);
	httpd_send(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

static void
httpd_ports(const struct httpd *h, uint64_t *used, uint64_t *total)
{
	size_t i;

	*used = 0;
	for (i = 0; i < h->src->naddrs; i++)
		*used += portpool_used(h->src->pool, i);
	*total = (uint64_t)h->src->naddrs * h->src->ports_per_addr;
}

/* NULL when ready, else why not. */
static const char *
httpd_not_ready(const struct httpd *h)
{
	uint64_t used, total;

	if (atomic_load(h->src->draining))
		return "draining";
	httpd_ports(h, &used, &total);
	if (total == 0)
		return "no relay address";
	if ((total - (used < total ? used : total)) * 100 < total * HTTPD_READY_FREE_PCT)
		return "relay ports nearly exhausted";
	return NULL;
}

static void
httpd_healthz(struct httpd *h, struct evhttp_request *req)
{
	(void)h;
	httpd_reply(req, HTTP_OK, "OK", "ok");
}

static void
httpd_readyz(struct httpd *h, struct evhttp_request *req)
{
	const char *why = httpd_not_ready(h);

	if (why == NULL)
		httpd_reply(req, HTTP_OK, "OK", "ready");
	else
		httpd_reply(req, HTTP_SERVUNAVAIL, "Service Unavailable", why);
}

/* Whether the scrape wants per-user series (fanout_call is the scrape's first member). */
static bool
httpd_job_labels(const struct httpd_job *j)
{
	return ((const struct httpd_scrape *)j->fj.call)->h->src->username_labels;
}

/* On the worker's thread: room for one more user entry (realm NULL: the server's), NULL when full. */
static struct metrics_user *
httpd_job_user(struct httpd_job *j, const char *realm, const char *name)
{
	struct metrics_user *u, *nv;
	size_t cap;

	if (j->nusers == j->capusers) {
		cap = j->capusers == 0 ? 16 : j->capusers * 2;
		if (j->nusers >= HTTPD_SESSIONS_MAX ||
		    (nv = reallocarray(j->users, cap, sizeof *nv)) == NULL) {
			j->lost++;
			return NULL;
		}
		j->users = nv;
		j->capusers = cap;
	}
	u = &j->users[j->nusers];
	memset(u, 0, sizeof *u);
	if ((u->name = strdup(name)) == NULL ||
	    (realm != NULL && (u->realm = strdup(realm)) == NULL)) {
		free(u->name);
		j->lost++;
		return NULL;
	}
	j->nusers++;
	return u;
}

/* On the worker's thread: the per-user totals of ended allocations. */
static void
httpd_job_ended(struct httpd_job *j)
{
	const struct metrics_usertab *ended = worker_ended_users(j->fj.w);
	struct metrics_user *u;
	char *realm, *name;
	size_t i;

	j->lost += ended->dropped;
	for (i = 0; i < ended->n; i++) {
		if ((u = httpd_job_user(j, ended->v[i].realm, ended->v[i].name)) == NULL)
			continue;
		realm = u->realm;
		name = u->name;
		*u = ended->v[i];
		u->realm = realm;
		u->name = name;
		u->allocations = 0;
	}
}

/* On the worker's thread: one live allocation. */
static void
httpd_job_session(void *arg, const struct turn_session *s)
{
	struct httpd_job *j = arg;
	struct realmstats *rs = ((const struct httpd_scrape *)j->fj.call)->h->src->realmstats;
	struct metrics_counts *c;
	struct metrics_user *u;

	j->m.allocations[s->tuple.transport % METRICS_TRANSPORTS]++;
	if (rs != NULL && j->realm_live != NULL) {
		c = &j->realm_live[realmstats_slot(rs, s->realm)];
		c->to_peer_packets += s->to_peer_packets;
		c->to_peer_bytes += s->to_peer_bytes;
		c->to_client_packets += s->to_client_packets;
		c->to_client_bytes += s->to_client_bytes;
	}
	if (!httpd_job_labels(j) || (u = httpd_job_user(j, s->realm, s->user)) == NULL)
		return;
	u->allocations = 1;
	u->to_peer_packets = s->to_peer_packets;
	u->to_peer_bytes = s->to_peer_bytes;
	u->to_client_packets = s->to_client_packets;
	u->to_client_bytes = s->to_client_bytes;
}

/* On the worker's thread. */
static void
httpd_job_run(struct fanout_job *fj, struct turn *t, const struct turn_now *now)
{
	struct httpd_job *j = (struct httpd_job *)fj;
	struct worker_stats ws;

	worker_stats(fj->w, &ws);
	worker_turn_stats(fj->w, &j->m.turn, &j->m.relay);
	j->m.udp_in = ws.udp_in;
	j->m.udp_out = ws.udp_out;
	j->m.udp_dropped = ws.udp_dropped;
	j->m.conns = ws.conns;
	j->m.conns_dropped = ws.conns_dropped;
	j->m.tls_handshake_failures = ws.tls_handshake_failures;
	j->m.dtls_hello_verify = ws.dtls.hello_verify;
	j->m.dtls_bad_cookie = ws.dtls.bad_cookie;
	j->m.dtls_dropped = ws.dtls.dropped;
	j->m.dtls_handshakes = ws.dtls.handshakes;
	j->m.dtls_handshake_failures = ws.dtls.handshake_failures;
	j->m.dtls_evicted = ws.dtls.evicted;
	j->m.dtls_refused = ws.dtls.refused;
	j->m.dtls_closed_idle = ws.dtls.closed_idle;
	j->m.dtls_send_dropped = ws.dtls.send_dropped;
	j->m.dtls_sessions = ws.dtls.sessions;
	j->m.dtls_half_open = ws.dtls.half_open;
	memcpy(j->m.proxy_refused, ws.proxy_refused, sizeof j->m.proxy_refused);
	j->m.unauth_dropped = ws.unauth_dropped;
	j->m.unauth_budget_dropped = ws.unauth_budget_dropped;
	j->m.conns_refused_per_ip = ws.conns_refused_per_ip;
	j->m.conns_refused_fds = ws.conns_refused_fds;
	j->m.conns_deadline = ws.conns_deadline;
	j->m.conns_idle = ws.conns_idle;
	j->m.conns_input_budget = ws.conns_input_budget;
	j->m.allocate_latency = ws.allocate_latency;
	/* An expired allocation counts as ended, not live (else its traffic would dip). */
	if (httpd_job_labels(j) || j->realm_live != NULL)
		turn_expire(t, now);
	if (httpd_job_labels(j))
		httpd_job_ended(j);
	turn_foreach_session(t, now, httpd_job_session, j);
}

static void
httpd_scrape_free(struct httpd_scrape *sc)
{
	size_t i, k;

	for (i = 0; i < sc->h->src->nworkers; i++) {
		for (k = 0; k < sc->jobs[i].nusers; k++) {
			free(sc->jobs[i].users[k].realm);
			free(sc->jobs[i].users[k].name);
		}
		free(sc->jobs[i].users);
		free(sc->jobs[i].realm_live);
	}
	LIST_REMOVE(sc, entry);
	sc->h->nscrapes--;
	free(sc->jobs);
	free(sc);
}

/* Every worker's users in one array, summed per user; the jobs keep no names. */
static int
httpd_users(struct httpd_scrape *sc, struct metrics_snapshot *snap)
{
	size_t i, n = 0, lost = 0;
	struct httpd_job *j;

	for (i = 0; i < sc->h->src->nworkers; i++)
		n += sc->jobs[i].nusers;
	if ((snap->user = calloc(n + 1, sizeof *snap->user)) == NULL)
		return -1;
	for (i = 0; i < sc->h->src->nworkers; i++) {
		j = &sc->jobs[i];
		if (j->nusers > 0)
			memcpy(snap->user + snap->nusers, j->users, j->nusers * sizeof *j->users);
		snap->nusers += j->nusers;
		lost += j->lost;
		j->nusers = 0;
	}
	snap->nusers = metrics_users_collapse(snap->user, snap->nusers, METRICS_USERS_MAX,
	    &snap->users_dropped);
	snap->users_dropped += lost;
	return 0;
}

/* One realm of limits_realms_walk into the snapshot; a failed copy is left out. */
static void
httpd_realm_add(void *arg, const char *realm, size_t count)
{
	struct metrics_snapshot *snap = arg;
	struct metrics_realm *grown;
	char *name;

	if ((name = strdup(realm)) == NULL ||
	    (grown = reallocarray(snap->realms, snap->nrealms + 1, sizeof *grown)) == NULL) {
		free(name);
		return;
	}
	snap->realms = grown;
	grown[snap->nrealms].name = name;
	grown[snap->nrealms].allocations = count;
	snap->nrealms++;
}

/* Each realm's traffic: its ended sessions' totals and every worker's live ones. */
static int
httpd_realm_traffic(struct httpd_scrape *sc, struct metrics_snapshot *snap)
{
	struct realmstats *rs = sc->h->src->realmstats;
	size_t i, k, cap = realmstats_cap(rs);
	struct metrics_counts *live, *c;

	if (sc->h->src->nworkers == 0)
		return realmstats_snapshot(rs, NULL, &snap->realm_traffic, &snap->nrealm_traffic);
	live = sc->jobs[0].realm_live;

	/* Summed into the first job's counters. */
	for (i = 1; i < sc->h->src->nworkers; i++) {
		for (k = 0; k <= cap; k++) {
			c = &sc->jobs[i].realm_live[k];
			live[k].to_peer_packets += c->to_peer_packets;
			live[k].to_peer_bytes += c->to_peer_bytes;
			live[k].to_client_packets += c->to_client_packets;
			live[k].to_client_bytes += c->to_client_bytes;
		}
	}
	return realmstats_snapshot(rs, live, &snap->realm_traffic, &snap->nrealm_traffic);
}

static int
httpd_render(struct httpd_scrape *sc, char **text, size_t *len)
{
	const struct httpd_source *src = sc->h->src;
	struct metrics_snapshot snap;
	size_t i;
	FILE *f;
	int rc = -1;

	memset(&snap, 0, sizeof snap);
	snap.realm = src->realm(src->realm_arg);
	if (snap.realm == NULL)
		snap.realm = "";
	snap.nworkers = src->nworkers;
	if ((snap.worker = calloc(src->nworkers, sizeof *snap.worker)) == NULL)
		return -1;
	for (i = 0; i < src->nworkers; i++)
		snap.worker[i] = sc->jobs[i].m;
	httpd_ports(sc->h, &snap.ports_used, &snap.ports_total);
	snap.draining = atomic_load(src->draining);
	snap.ready = httpd_not_ready(sc->h) == NULL;
	if (src->limits != NULL)
		limits_realms_walk(src->limits, httpd_realm_add, &snap);
	if ((src->realmstats == NULL || httpd_realm_traffic(sc, &snap) == 0) &&
	    (!src->username_labels || httpd_users(sc, &snap) == 0) &&
	    (f = open_memstream(text, len)) != NULL) {
		rc = metrics_render(f, &snap);
		if (fclose(f) != 0)
			rc = -1;
	}
	for (i = 0; i < snap.nusers; i++) {
		free(snap.user[i].realm);
		free(snap.user[i].name);
	}
	free(snap.user);
	for (i = 0; i < snap.nrealms; i++)
		free(snap.realms[i].name);
	free(snap.realms);
	for (i = 0; i < snap.nrealm_traffic; i++)
		free(snap.realm_traffic[i].name);
	free(snap.realm_traffic);
	free(snap.worker);
	return rc;
}

/* Every worker has answered: the exposition goes out. */
static void
httpd_scrape_done(struct fanout_call *call)
{
	struct httpd_scrape *sc = (struct httpd_scrape *)call;
	struct evbuffer *b;
	char *text = NULL;
	size_t len = 0;

	if (httpd_render(sc, &text, &len) != 0 || (b = evbuffer_new()) == NULL) {
		httpd_reply(sc->req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
	} else {
		evbuffer_add(b, text, len);
		evhttp_add_header(evhttp_request_get_output_headers(sc->req), "Content-Type",
		    "text/plain; version=0.0.4; charset=utf-8");
		httpd_send(sc->req, HTTP_OK, "OK", b);
		evbuffer_free(b);
	}
	free(text);
	httpd_scrape_free(sc);
}

/* Jobs that never ran (jobs may be NULL). */
static void
httpd_jobs_free(struct httpd_job *jobs, size_t n)
{
	size_t i;

	for (i = 0; jobs != NULL && i < n; i++)
		free(jobs[i].realm_live);
	free(jobs);
}

/* The jobs' per-realm live counters (realmstats slots); -1 when out of memory. */
static int
httpd_realm_live(const struct httpd *h, struct httpd_scrape *sc, size_t n)
{
	size_t i;

	for (i = 0; h->src->realmstats != NULL && i < n; i++) {
		sc->jobs[i].realm_live =
		    calloc(realmstats_cap(h->src->realmstats) + 1, sizeof *sc->jobs[i].realm_live);
		if (sc->jobs[i].realm_live == NULL)
			return -1;
	}
	return 0;
}

/*
 * Asks every worker for its counters. Should the client go away meanwhile,
 * evhttp keeps the request until it is answered, and then frees it.
 */
static void
httpd_metrics(struct httpd *h, struct evhttp_request *req)
{
	struct httpd_scrape *sc;
	size_t n = fanout_workers(h->fanout);

	if (h->nscrapes >= HTTPD_SCRAPES_MAX) {
		httpd_reply(req, HTTP_SERVUNAVAIL, "Service Unavailable", "too many scrapes");
		return;
	}
	if ((sc = calloc(1, sizeof *sc)) == NULL ||
	    (sc->jobs = calloc(n, sizeof *sc->jobs)) == NULL || httpd_realm_live(h, sc, n) != 0) {
		if (sc != NULL)
			httpd_jobs_free(sc->jobs, n);
		free(sc);
		httpd_reply(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
		return;
	}
	sc->h = h;
	sc->req = req;
	LIST_INSERT_HEAD(&h->scrapes, sc, entry);
	h->nscrapes++;
	sc->call.run = httpd_job_run;
	sc->call.done = httpd_scrape_done;
	fanout_post(h->fanout, &sc->call, sc->jobs, sizeof *sc->jobs);
}

static const struct httpd_route httpd_routes[] = {
    {"/metrics", httpd_metrics},
    {"/healthz", httpd_healthz},
    {"/readyz", httpd_readyz},
};

static void
httpd_request(struct evhttp_request *req, void *arg)
{
	struct httpd *h = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	size_t i;

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		httpd_reply(req, HTTP_BADMETHOD, "Method Not Allowed", "method not allowed");
		return;
	}
	for (i = 0; path != NULL && i < sizeof httpd_routes / sizeof httpd_routes[0]; i++) {
		if (strcmp(path, httpd_routes[i].path) == 0) {
			httpd_routes[i].serve(h, req);
			return;
		}
	}
	httpd_reply(req, HTTP_NOTFOUND, "Not Found", "not found");
}

static void
httpd_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}

/*
 * accept() failed: out of descriptors it fails again at once, so pause (no
 * busy loop). arg is evhttp's, not ours: the timer is a one-shot on the base.
 */
static void
httpd_accept_error(struct evconnlistener *l, void *arg)
{
	struct timeval tv = {HTTPD_PAUSE_S, 0};

	(void)arg;
	log_warn("metrics HTTP: accept");
	evconnlistener_disable(l);
	if (event_base_once(evconnlistener_get_base(l), -1, EV_TIMEOUT, httpd_resume, l, &tv) != 0)
		evconnlistener_enable(l); /* no timer: better spin than stop serving */
}

static int
httpd_listen(struct httpd *h, const struct sockaddr *addr, char **cause)
{
	struct evhttp_bound_socket *bs;
	struct evconnlistener *l;
	int fd;

	if ((fd = listener_socket(addr, SOCK_STREAM, false, "metrics HTTP", cause)) == -1)
		return -1;
	if (listen(fd, HTTPD_BACKLOG) != 0) {
		close(fd);
		return cause_fail(cause, "cannot listen for metrics HTTP: %s", strerror(errno));
	}
	if ((bs = evhttp_accept_socket_with_handle(h->http, fd)) == NULL) {
		close(fd);
		return cause_fail(cause, "cannot serve metrics HTTP");
	}
	l = evhttp_bound_socket_get_listener(bs);
	evconnlistener_set_error_cb(l, httpd_accept_error);
	return 0;
}

static int
httpd_init(struct httpd *h, struct event_base *base, const struct sockaddr *addr, char **cause)
{
	if (fanout_create(base, h->src->worker, h->src->nworkers, "metrics", &h->fanout, cause) !=
	    0)
		return -1;
	if ((h->http = evhttp_new(base)) == NULL)
		return cause_fail(cause, "cannot create the metrics HTTP server");
	evhttp_set_timeout(h->http, HTTPD_TIMEOUT_S);
	evhttp_set_max_headers_size(h->http, HTTPD_HEADERS_MAX);
	evhttp_set_max_body_size(h->http, HTTPD_BODY_MAX);
	/* Every method evhttp knows reaches httpd_request, which answers 405 to most. */
	evhttp_set_allowed_methods(h->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
		EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
		EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->http, httpd_request, h);
	return httpd_listen(h, addr, cause);
}

int
httpd_create(struct event_base *base, const struct sockaddr *addr, const struct httpd_source *src,
    struct httpd **hp, char **cause)
{
	struct httpd *h;

	*hp = NULL;
	if ((h = calloc(1, sizeof *h)) == NULL)
		return cause_fail(cause, "out of memory");
	h->src = src;
	LIST_INIT(&h->scrapes);
	if (httpd_init(h, base, addr, cause) != 0) {
		httpd_free(h);
		return -1;
	}
	*hp = h;
	return 0;
}

void
httpd_free(struct httpd *h)
{
	struct httpd_scrape *sc;

	if (h == NULL)
		return;
	while ((sc = LIST_FIRST(&h->scrapes)) != NULL) {
		httpd_reply(sc->req, HTTP_SERVUNAVAIL, "Service Unavailable", "stopping");
		httpd_scrape_free(sc);
	}
	if (h->http != NULL)
		evhttp_free(h->http);
	fanout_free(h->fanout);
	free(h);
}
